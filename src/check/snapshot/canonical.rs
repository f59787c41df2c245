//! Canonical names: a raw snapshot renamed by a walk of the world, so two
//! engines that allocate in different orders agree when their states do.

use super::*;

/// Renames a raw snapshot canonically.
pub fn canonicalize(raw: &RawSnapshot) -> Snapshot {
    with_names(raw, |names| build(raw, names))
}

thread_local! {
    /// The lists a naming fills, kept for the next (a search names
    /// millions of small states).
    static SPARE: std::cell::RefCell<Names> = std::cell::RefCell::default();
}

/// Runs `f` with the names of `raw`.
pub(super) fn with_names<T>(raw: &RawSnapshot, f: impl FnOnce(&Names) -> T) -> T {
    let mut names = SPARE.with(|spare| spare.take());
    names.fill(raw);
    let out = f(&names);
    SPARE.with(|spare| spare.replace(names));
    out
}

/// The canonical name of every object of a raw snapshot.
#[derive(Default)]
pub(super) struct Names {
    /// Per raw VMA: `Null` until named.
    vma_refs: Vec<VmaRef>,
    pub(super) detached_order: Vec<usize>,
    pub(super) anon_vmas: Naming,
    avc_refs: Vec<Option<AvcRef>>,
    pub(super) stray: Vec<usize>,
    pub(super) page_order: Vec<usize>,
    /// (Room for one anon_vma's sorted tree.)
    pub(super) tree: std::cell::RefCell<Vec<TreeEntry>>,
}

impl Names {
    fn fill(&mut self, raw: &RawSnapshot) {
        // VMA references: in a process by (mm, start), otherwise detached.
        let vma_refs = &mut self.vma_refs;
        vma_refs.clear();
        vma_refs.resize(raw.vmas.len(), VmaRef::Null);
        for mm in &raw.mms {
            for &v in &mm.vmas {
                if v < raw.vmas.len() {
                    vma_refs[v] = VmaRef::InMm {
                        mm: mm.id,
                        start: raw.vmas[v].start,
                    };
                }
            }
        }
        self.detached_order.clear();
        for (v, r) in vma_refs.iter_mut().enumerate() {
            if *r == VmaRef::Null {
                *r = VmaRef::Detached(self.detached_order.len() as u32);
                self.detached_order.push(v);
            }
        }
        // The VMAs in walk order: the processes', then the detached ones.
        let detached = &self.detached_order;
        let ordered_vmas = || {
            raw.mms
                .iter()
                .flat_map(|m| m.vmas.iter().copied())
                .chain(detached.iter().copied())
        };

        // Name anon_vmas in walk order: each VMA's own, then its chain.
        let names = &mut self.anon_vmas;
        names.reset(raw.anon_vmas.len());
        for v in ordered_vmas() {
            let vma = &raw.vmas[v];
            names.visit(vma.anon_vma);
            for &avc in &vma.chain {
                if let RawRef::Index(a) = avc {
                    if let Some(avc) = raw.avcs.get(a) {
                        names.visit(avc.anon_vma);
                    }
                }
            }
        }

        // AVC references: position on the chain that holds them.
        let avc_refs = &mut self.avc_refs;
        avc_refs.clear();
        avc_refs.resize(raw.avcs.len(), None);
        for v in ordered_vmas() {
            for (pos, &avc) in raw.vmas[v].chain.iter().enumerate() {
                if let RawRef::Index(a) = avc {
                    if a < avc_refs.len() && avc_refs[a].is_none() {
                        avc_refs[a] = Some(AvcRef::OnChain {
                            vma: vma_refs[v],
                            pos: pos as u32,
                        });
                    }
                }
            }
        }
        let stray = &mut self.stray;
        stray.clear();
        for (a, r) in avc_refs.iter_mut().enumerate() {
            if r.is_none() {
                *r = Some(AvcRef::Stray(stray.len() as u32));
                stray.push(a);
            }
        }

        // Pages sorted by where they are mapped, then by index.
        let page_order = &mut self.page_order;
        page_order.clear();
        page_order.extend(0..raw.pages.len());
        page_order.sort_by(|&a, &b| {
            let (pa, pb) = (&raw.pages[a], &raw.pages[b]);
            (&pa.mappers, pa.index).cmp(&(&pb.mappers, pb.index))
        });
        for &p in page_order.iter() {
            names.visit(raw.pages[p].anon_vma);
        }
        for &a in stray.iter() {
            names.visit(raw.avcs[a].anon_vma);
        }
        // Then parents and roots of everything named so far, until none is new.
        let mut i = 0;
        while i < names.order.len() {
            let av = &raw.anon_vmas[names.order[i]];
            names.visit(av.parent);
            names.visit(av.root);
            i += 1;
        }
        // Whatever is left is unreachable (leaked): keep the raw order.
        for a in 0..raw.anon_vmas.len() {
            names.visit(RawRef::Index(a));
        }
    }

    pub(super) fn av(&self, r: RawRef) -> AvRef {
        self.anon_vmas.reference(r)
    }

    pub(super) fn vma(&self, r: RawRef) -> VmaRef {
        vma_named(&self.vma_refs, r)
    }

    fn avc(&self, r: RawRef) -> AvcRef {
        match r {
            RawRef::Index(i) => self
                .avc_refs
                .get(i)
                .copied()
                .flatten()
                .unwrap_or(AvcRef::Foreign),
            RawRef::Dangling => AvcRef::Dangling,
            _ => AvcRef::Foreign,
        }
    }

    /// A VMA's canonical form but its chain (left empty, which allocates
    /// nothing).
    pub(super) fn vma_head(&self, v: &RawVma) -> VmaState {
        VmaState {
            start: v.start,
            end: v.end,
            pgoff: v.pgoff,
            anon_pgoff: v.anon_pgoff,
            flags: v.flags,
            attached: v.attached,
            anon_vma: self.av(v.anon_vma),
            chain: Vec::new(),
            chain_broken: v.chain_broken,
            mm_freed: v.mm == Err(RawRef::Dangling),
        }
    }

    /// An anon_vma's canonical form but its tree (left empty).
    pub(super) fn anon_vma_head(&self, a: &RawAnonVma) -> AnonVmaState {
        AnonVmaState {
            root: self.av(a.root),
            parent: self.av(a.parent),
            refcount: a.refcount,
            num_children: a.num_children,
            num_active_vmas: a.num_active_vmas,
            degree: a.degree,
            tree: Vec::new(),
        }
    }

    /// A chain entry: the AVC's anon_vma and VMA.
    pub(super) fn chain_entry(&self, raw: &RawSnapshot, c: RawRef) -> ChainEntry {
        chain_entry(raw, c, |r| self.av(r), |r| self.vma(r))
    }

    /// An anon_vma's tree, sorted by key, then AVC.
    pub(super) fn tree(&self, raw_av: &RawAnonVma, into: &mut Vec<TreeEntry>) {
        into.clear();
        into.extend(raw_av.tree.iter().map(|n| TreeEntry {
            start: n.start,
            last: n.last,
            avc: self.avc(n.avc),
        }));
        into.sort();
    }
}

/// The name of a raw VMA reference, given each VMA's name by position.
pub fn vma_named(names: &[VmaRef], r: RawRef) -> VmaRef {
    match r {
        RawRef::Null => VmaRef::Null,
        RawRef::Index(i) => names.get(i).copied().unwrap_or(VmaRef::Foreign),
        RawRef::Dangling => VmaRef::Dangling,
        RawRef::Foreign => VmaRef::Foreign,
    }
}

/// The chain entry that chain reference `c` of `raw` stands for: its
/// AVC's anon_vma and VMA, as `av` and `vma` name them.
pub fn chain_entry(
    raw: &RawSnapshot,
    c: RawRef,
    av: impl Fn(RawRef) -> AvRef,
    vma: impl Fn(RawRef) -> VmaRef,
) -> ChainEntry {
    match c {
        RawRef::Index(i) if i < raw.avcs.len() => ChainEntry {
            anon_vma: av(raw.avcs[i].anon_vma),
            vma: vma(raw.avcs[i].vma),
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

/// The canonical snapshot `names` gives `raw`.
fn build(raw: &RawSnapshot, names: &Names) -> Snapshot {
    let vma_state = |v: &RawVma| VmaState {
        chain: v.chain.iter().map(|&c| names.chain_entry(raw, c)).collect(),
        ..names.vma_head(v)
    };
    let mms = raw
        .mms
        .iter()
        .map(|m| MmState {
            id: m.id,
            vmas: m
                .vmas
                .iter()
                .filter_map(|&v| raw.vmas.get(v))
                .map(vma_state)
                .collect(),
            bad_entries: m.bad_entries,
        })
        .collect();
    let detached = names
        .detached_order
        .iter()
        .map(|&v| vma_state(&raw.vmas[v]))
        .collect();
    let anon_vmas = names
        .anon_vmas
        .order
        .iter()
        .map(|&a| {
            let raw_av = &raw.anon_vmas[a];
            let mut tree = Vec::with_capacity(raw_av.tree.len());
            names.tree(raw_av, &mut tree);
            AnonVmaState {
                tree,
                ..names.anon_vma_head(raw_av)
            }
        })
        .collect();
    let stray_avcs = names
        .stray
        .iter()
        .map(|&a| StrayAvc {
            vma: names.vma(raw.avcs[a].vma),
            anon_vma: names.av(raw.avcs[a].anon_vma),
        })
        .collect();
    let pages = names
        .page_order
        .iter()
        .map(|&p| {
            let page = &raw.pages[p];
            PageState {
                anon_vma: names.av(page.anon_vma),
                index: page.index,
                mapcount: page.mapcount,
                mappers: page.mappers.to_vec(),
                walk: page.walk.to_vec(),
            }
        })
        .collect();

    Snapshot {
        mms,
        detached,
        anon_vmas,
        stray_avcs,
        pages,
        live: raw.live,
    }
}

/// Canonical anon_vma ids, handed out in order of first visit.
#[derive(Default)]
pub(super) struct Naming {
    ids: Vec<Option<u32>>,
    pub(super) order: Vec<usize>,
}

impl Naming {
    fn reset(&mut self, n: usize) {
        self.ids.clear();
        self.ids.resize(n, None);
        self.order.clear();
    }

    fn visit(&mut self, r: RawRef) {
        if let RawRef::Index(i) = r {
            if i < self.ids.len() && self.ids[i].is_none() {
                self.ids[i] = Some(self.order.len() as u32);
                self.order.push(i);
            }
        }
    }

    fn reference(&self, r: RawRef) -> AvRef {
        match r {
            RawRef::Null => AvRef::Null,
            RawRef::Index(i) => self
                .ids
                .get(i)
                .copied()
                .flatten()
                .map_or(AvRef::Foreign, AvRef::Id),
            RawRef::Dangling => AvRef::Dangling,
            RawRef::Foreign => AvRef::Foreign,
        }
    }
}
