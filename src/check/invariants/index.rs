//! What the rules look up in a raw report, by the engine's own numbers:
//! who holds each VMA and AVC, and which trees file each AVC. Built in
//! one pass over the report; nothing is named by a walk of the world.
//!
//! The canonical names of a report's objects are needed only to word a
//! violation; [`Index`] gives them for VMAs and AVCs as the canonical
//! form does, and numbers anon_vmas by their place in the report.

use crate::check::snapshot::{
    AvRef, AvcRef, ChainEntry, RawRef, RawSnapshot, RawVma, Snapshot, VmaRef,
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
        match r {
            RawRef::Null => VmaRef::Null,
            RawRef::Index(i) => self.vma_ref.get(i).copied().unwrap_or(VmaRef::Foreign),
            RawRef::Dangling => VmaRef::Dangling,
            RawRef::Foreign => VmaRef::Foreign,
        }
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
    match c {
        RawRef::Index(i) if i < raw.avcs.len() => ChainEntry {
            anon_vma: av(raw, raw.avcs[i].anon_vma),
            vma: at.vma(raw.avcs[i].vma),
        },
        RawRef::Dangling => ChainEntry {
            anon_vma: AvRef::Dangling,
            vma: VmaRef::Dangling,
        },
        _ => ChainEntry {
            anon_vma: AvRef::Foreign,
            vma: VmaRef::Foreign,
        },
    }
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

/// A canonical snapshot as a raw report: the objects in canonical order
/// (a process's VMAs, then the detached ones; each chain place's AVC,
/// then the stray ones), anon_vmas numbered by their canonical ids. The
/// rules read this; an [`Index`] of it names everything canonically.
pub(super) fn reported(s: &Snapshot) -> RawSnapshot {
    use crate::check::snapshot::{RawAnonVma, RawAvc, RawMm, RawPage, RawTreeNode, VmaState};

    let av = |r: AvRef| match r {
        AvRef::Null => RawRef::Null,
        AvRef::Id(i) => RawRef::Index(i as usize),
        AvRef::Dangling => RawRef::Dangling,
        AvRef::Foreign => RawRef::Foreign,
    };
    // Where each process's VMAs start among the report's VMAs.
    let mut first = Vec::with_capacity(s.mms.len());
    let mut held = 0;
    for m in &s.mms {
        first.push(held);
        held += m.vmas.len();
    }
    let vma_at = |r: VmaRef| -> Option<usize> {
        match r {
            VmaRef::InMm { mm, start } => {
                let m = s.mms.binary_search_by_key(&mm, |m| m.id).ok()?;
                let v = s.mms[m]
                    .vmas
                    .binary_search_by_key(&start, |v| v.start)
                    .ok()?;
                Some(first[m] + v)
            }
            VmaRef::Detached(k) => ((k as usize) < s.detached.len()).then_some(held + k as usize),
            _ => None,
        }
    };
    let vma_ref = |r: VmaRef| match r {
        VmaRef::Null => RawRef::Null,
        VmaRef::Dangling => RawRef::Dangling,
        VmaRef::Foreign => RawRef::Foreign,
        _ => vma_at(r).map_or(RawRef::Foreign, RawRef::Index),
    };

    let all: Vec<&VmaState> = s
        .mms
        .iter()
        .flat_map(|m| &m.vmas)
        .chain(&s.detached)
        .collect();
    // Each chain place's AVC, numbered in order; where each VMA's start.
    let mut avcs = Vec::new();
    let mut chain_first = Vec::with_capacity(all.len());
    let mut vmas = Vec::with_capacity(all.len());
    for (v, state) in all.iter().enumerate() {
        chain_first.push(avcs.len());
        let mut chain = crate::check::snapshot::Few::new();
        for e in &state.chain {
            chain.push(RawRef::Index(avcs.len()));
            avcs.push(RawAvc {
                vma: vma_ref(e.vma),
                anon_vma: av(e.anon_vma),
            });
        }
        let mm = if v < held {
            // (The last process to start at or before it: empty ones
            // start where the next one does.)
            Ok(s.mms[first.partition_point(|&f| f <= v) - 1].id)
        } else if state.mm_freed {
            Err(RawRef::Dangling)
        } else {
            Err(RawRef::Null)
        };
        vmas.push(RawVma {
            mm,
            start: state.start,
            end: state.end,
            pgoff: state.pgoff,
            anon_pgoff: state.anon_pgoff,
            flags: state.flags,
            attached: state.attached,
            anon_vma: av(state.anon_vma),
            chain,
            chain_broken: state.chain_broken,
        });
    }
    let on_chains = avcs.len();
    avcs.extend(s.stray_avcs.iter().map(|a| RawAvc {
        vma: vma_ref(a.vma),
        anon_vma: av(a.anon_vma),
    }));
    let avc_ref = |r: AvcRef| match r {
        AvcRef::OnChain { vma, pos } => vma_at(vma)
            .filter(|&v| (pos as usize) < all[v].chain.len())
            .map_or(RawRef::Foreign, |v| {
                RawRef::Index(chain_first[v] + pos as usize)
            }),
        AvcRef::Stray(k) if (k as usize) < s.stray_avcs.len() => {
            RawRef::Index(on_chains + k as usize)
        }
        AvcRef::Dangling => RawRef::Dangling,
        _ => RawRef::Foreign,
    };
    RawSnapshot {
        mms: s
            .mms
            .iter()
            .zip(&first)
            .map(|(m, &f)| RawMm {
                id: m.id,
                vmas: (f..f + m.vmas.len()).collect(),
                bad_entries: m.bad_entries,
            })
            .collect(),
        vmas,
        avcs,
        anon_vmas: s
            .anon_vmas
            .iter()
            .map(|a| RawAnonVma {
                root: av(a.root),
                parent: av(a.parent),
                refcount: a.refcount,
                num_children: a.num_children,
                num_active_vmas: a.num_active_vmas,
                degree: a.degree,
                tree: a
                    .tree
                    .iter()
                    .map(|t| RawTreeNode {
                        avc: avc_ref(t.avc),
                        start: t.start,
                        last: t.last,
                    })
                    .collect(),
            })
            .collect(),
        pages: s
            .pages
            .iter()
            .map(|p| RawPage {
                anon_vma: av(p.anon_vma),
                index: p.index,
                mapcount: p.mapcount,
                mappers: p.mappers.iter().copied().collect(),
                walk: p.walk.iter().copied().collect(),
            })
            .collect(),
        live: s.live,
    }
}
