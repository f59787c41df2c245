//! What the rules look up in a raw report, by the engine's own numbers:
//! who holds each VMA and AVC, and which trees file each AVC. Built in
//! one pass over the report; nothing is named by a walk of the world.
//!
//! The canonical names of a report's objects are needed only to word a
//! violation; [`Index`] gives them for VMAs and AVCs as the canonical
//! form does, and numbers anon_vmas by their place in the report.

use crate::check::snapshot::{
    chain_entry, vma_named, AvRef, AvcRef, ChainEntry, RawRef, RawSnapshot, VmaRef,
};

/// The anon_vmas whose trees hold one AVC.
pub(super) type Homes = smallvec::SmallVec<[usize; 1]>;

#[derive(Default)]
pub(super) struct Index {
    /// Per VMA: its canonical name (by the process that lists it and its
    /// start, or by its place among the VMAs no process lists).
    pub vma_ref: Vec<VmaRef>,
    /// The VMAs no process lists, in the report's order.
    pub detached: Vec<usize>,
    /// Per AVC: the first chain place (VMA, position) that holds it, in
    /// the canonical walk's order (processes' VMAs, then detached ones).
    pub home: Vec<Option<(usize, u32)>>,
    /// The AVCs no chain holds, in the report's order.
    pub stray: Vec<usize>,
    /// Per AVC: the anon_vmas whose trees file it.
    pub filed: Vec<Homes>,
}

impl Index {
    pub fn fill(&mut self, raw: &RawSnapshot) {
        self.vma_ref.clear();
        self.vma_ref.resize(raw.vmas.len(), VmaRef::Null);
        for m in &raw.mms {
            for &v in &m.vmas {
                if let Some(vma) = raw.vmas.get(v) {
                    self.vma_ref[v] = VmaRef::InMm {
                        mm: m.id,
                        start: vma.start,
                    };
                }
            }
        }
        self.detached.clear();
        for (v, r) in self.vma_ref.iter_mut().enumerate() {
            if *r == VmaRef::Null {
                *r = VmaRef::Detached(self.detached.len() as u32);
                self.detached.push(v);
            }
        }

        self.home.clear();
        self.home.resize(raw.avcs.len(), None);
        let listed = raw.mms.iter().flat_map(|m| m.vmas.iter().copied());
        for v in listed.chain(self.detached.iter().copied()) {
            let Some(vma) = raw.vmas.get(v) else { continue };
            for (pos, &c) in vma.chain.iter().enumerate() {
                if let RawRef::Index(a) = c {
                    if let Some(home @ None) = self.home.get_mut(a) {
                        *home = Some((v, pos as u32));
                    }
                }
            }
        }
        self.stray.clear();
        self.stray
            .extend((0..raw.avcs.len()).filter(|&a| self.home[a].is_none()));

        self.filed.clear();
        self.filed.resize(raw.avcs.len(), Homes::new());
        for (i, a) in raw.anon_vmas.iter().enumerate() {
            for n in &a.tree {
                if let RawRef::Index(avc) = n.avc {
                    if let Some(homes) = self.filed.get_mut(avc) {
                        homes.push(i);
                    }
                }
            }
        }
    }

    /// The canonical reference of a raw VMA reference.
    pub fn vma(&self, r: RawRef) -> VmaRef {
        vma_named(&self.vma_ref, r)
    }

    /// The canonical reference of a raw AVC reference.
    pub fn avc(&self, r: RawRef) -> AvcRef {
        match r {
            RawRef::Index(a) => match self.home.get(a) {
                Some(Some((v, pos))) => AvcRef::OnChain {
                    vma: self.vma_ref[*v],
                    pos: *pos,
                },
                Some(None) => AvcRef::Stray(self.stray.partition_point(|&s| s < a) as u32),
                None => AvcRef::Foreign,
            },
            RawRef::Dangling => AvcRef::Dangling,
            _ => AvcRef::Foreign,
        }
    }
}

/// An anon_vma reference, anon_vmas numbered by their place in `raw`.
pub(super) fn av(raw: &RawSnapshot, r: RawRef) -> AvRef {
    match r {
        RawRef::Null => AvRef::Null,
        RawRef::Index(i) if i < raw.anon_vmas.len() => AvRef::Id(i as u32),
        RawRef::Dangling => AvRef::Dangling,
        _ => AvRef::Foreign,
    }
}

/// The chain entry a raw chain reference stands for: its AVC's anon_vma
/// and VMA, as the canonical form has it.
pub(super) fn entry(raw: &RawSnapshot, at: &Index, c: RawRef) -> ChainEntry {
    chain_entry(raw, c, |r| av(raw, r), |r| at.vma(r))
}

/// Whether `raw` names each of its objects apart: processes in id order,
/// each listing VMAs in the report in start order, no VMA listed twice,
/// no AVC on two chain places, every reference to a VMA or AVC in the
/// report. Then its canonical form is the same report renumbered, and
/// the rules give the same verdict on either.
pub(super) fn names_apart(raw: &RawSnapshot) -> bool {
    thread_local! {
        static SEEN: std::cell::RefCell<(Vec<bool>, Vec<bool>)> = Default::default();
    }
    SEEN.with(|seen| {
        let (vmas, avcs) = &mut *seen.borrow_mut();
        vmas.clear();
        vmas.resize(raw.vmas.len(), false);
        avcs.clear();
        avcs.resize(raw.avcs.len(), false);
        let mut last_mm = None;
        for m in &raw.mms {
            if last_mm.is_some_and(|id| id >= m.id) {
                return false;
            }
            last_mm = Some(m.id);
            let mut last_start = None;
            for &v in &m.vmas {
                let Some(vma) = raw.vmas.get(v) else {
                    return false;
                };
                if vmas[v] || last_start.is_some_and(|s| s >= vma.start) {
                    return false;
                }
                vmas[v] = true;
                last_start = Some(vma.start);
            }
        }
        let in_report = |r: RawRef, n: usize| !matches!(r, RawRef::Index(i) if i >= n);
        for vma in &raw.vmas {
            for &c in &vma.chain {
                match c {
                    RawRef::Index(a) if a < avcs.len() && !avcs[a] => avcs[a] = true,
                    RawRef::Index(_) => return false,
                    _ => {}
                }
            }
        }
        raw.avcs.iter().all(|a| in_report(a.vma, raw.vmas.len()))
            && raw
                .anon_vmas
                .iter()
                .flat_map(|a| &a.tree)
                .all(|n| in_report(n.avc, raw.avcs.len()))
    })
}
