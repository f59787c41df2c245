//! Projections for relaxed comparisons: what two correct cores agree on
//! even when they reuse different ancestors and order chains differently.

use super::*;

/// A VMA without its anon_vma identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VmaShape {
    pub start: u64,
    pub end: u64,
    pub pgoff: u64,
    pub flags: u32,
    pub faulted: bool,
}

/// A page without its anon_vma identity.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PageShape {
    pub mappers: Vec<(u32, u64)>,
    pub index: u64,
    pub mapcount: i64,
}

/// What two correct cores agree on even when they reuse different
/// ancestors and keep chains in different orders: the VMAs (without their
/// anon_vma identity) and the pages (without theirs).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    pub mms: Vec<(u32, Vec<VmaShape>)>,
    pub pages: Vec<PageShape>,
}

impl Snapshot {
    fn page_shapes(&self) -> Vec<PageShape> {
        self.pages
            .iter()
            .map(|p| PageShape {
                mappers: p.mappers.clone(),
                index: p.index,
                mapcount: p.mapcount,
            })
            .collect()
    }

    pub fn shape(&self) -> Shape {
        let vma = |v: &VmaState| VmaShape {
            start: v.start,
            end: v.end,
            pgoff: v.pgoff,
            flags: v.flags,
            faulted: v.anon_vma != AvRef::Null,
        };
        Shape {
            mms: self
                .mms
                .iter()
                .map(|m| (m.id, m.vmas.iter().map(vma).collect()))
                .collect(),
            pages: self.page_shapes(),
        }
    }
}

impl RawSnapshot {
    /// The shape of this report's canonical form, without naming it: the
    /// processes' VMAs as listed, the pages in the canonical order (by
    /// where they are mapped, then index; ties as reported).
    pub fn shape(&self) -> Shape {
        let vma = |v: &RawVma| VmaShape {
            start: v.start,
            end: v.end,
            pgoff: v.pgoff,
            flags: v.flags,
            faulted: v.anon_vma != RawRef::Null,
        };
        let mut pages: Vec<PageShape> = self
            .pages
            .iter()
            .map(|p| PageShape {
                mappers: p.mappers.to_vec(),
                index: p.index,
                mapcount: p.mapcount,
            })
            .collect();
        pages.sort_by(|a, b| (&a.mappers, a.index).cmp(&(&b.mappers, b.index)));
        Shape {
            mms: self
                .mms
                .iter()
                .map(|m| {
                    let listed = m.vmas.iter().filter_map(|&v| self.vmas.get(v));
                    (m.id, listed.map(vma).collect())
                })
                .collect(),
            pages,
        }
    }
}

impl Snapshot {
    /// What a failed operation must leave untouched even where the kernel
    /// keeps part of its work (a split, an anon_vma, changed flags): which
    /// addresses are mapped, and every page with its mappings.
    pub fn rollback_view(&self) -> Shape {
        let covered = |vmas: &[VmaState]| {
            let mut out: Vec<VmaShape> = Vec::new();
            for v in vmas {
                match out.last_mut() {
                    Some(last) if last.end == v.start => last.end = v.end,
                    _ => out.push(VmaShape {
                        start: v.start,
                        end: v.end,
                        pgoff: 0,
                        flags: 0,
                        faulted: false,
                    }),
                }
            }
            out
        };
        Shape {
            mms: self.mms.iter().map(|m| (m.id, covered(&m.vmas))).collect(),
            pages: self.page_shapes(),
        }
    }
}

/// Renders a shape difference for reports.
pub fn shape_difference(left: &Shape, right: &Shape) -> Option<(String, String)> {
    if left == right {
        return None;
    }
    for (a, b) in left.mms.iter().zip(&right.mms) {
        if a != b {
            return Some((
                format!("mm {} {:x?}", a.0, a.1),
                format!("mm {} {:x?}", b.0, b.1),
            ));
        }
    }
    if left.mms.len() != right.mms.len() {
        let ids = |s: &Shape| s.mms.iter().map(|m| m.0).collect::<Vec<_>>();
        return Some((
            format!("mms {:?}", ids(left)),
            format!("mms {:?}", ids(right)),
        ));
    }
    for (a, b) in left.pages.iter().zip(&right.pages) {
        if a != b {
            return Some((format!("page {a:x?}"), format!("page {b:x?}")));
        }
    }
    Some((
        format!("{} pages", left.pages.len()),
        format!("{} pages", right.pages.len()),
    ))
}
