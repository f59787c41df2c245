//! Canonical names: a raw snapshot renamed by a walk of the world, so two
//! engines that allocate in different orders agree when their states do.

use super::*;

/// Renames a raw snapshot canonically.
pub fn canonicalize(raw: &RawSnapshot) -> Snapshot {
    let mut names = Naming::new(raw.anon_vmas.len());

    // VMA references: in a process by (mm, start), otherwise detached.
    let mut vma_refs: Vec<VmaRef> = vec![VmaRef::Null; raw.vmas.len()];
    let mut in_mm = vec![false; raw.vmas.len()];
    for mm in &raw.mms {
        for &v in &mm.vmas {
            if v < raw.vmas.len() {
                vma_refs[v] = VmaRef::InMm {
                    mm: mm.id,
                    start: raw.vmas[v].start,
                };
                in_mm[v] = true;
            }
        }
    }
    let detached_order: Vec<usize> = (0..raw.vmas.len()).filter(|&v| !in_mm[v]).collect();
    for (i, &v) in detached_order.iter().enumerate() {
        vma_refs[v] = VmaRef::Detached(i as u32);
    }
    let vma_ref = |r: RawRef| match r {
        RawRef::Null => VmaRef::Null,
        RawRef::Index(i) => vma_refs.get(i).copied().unwrap_or(VmaRef::Foreign),
        RawRef::Dangling => VmaRef::Dangling,
        RawRef::Foreign => VmaRef::Foreign,
    };

    // Name anon_vmas in walk order: each VMA's own, then its chain.
    let ordered_vmas: Vec<usize> = raw
        .mms
        .iter()
        .flat_map(|m| m.vmas.iter().copied())
        .chain(detached_order.iter().copied())
        .collect();
    for &v in &ordered_vmas {
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
    let mut avc_refs: Vec<Option<AvcRef>> = vec![None; raw.avcs.len()];
    for &v in &ordered_vmas {
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
    let mut stray = Vec::new();
    for (a, r) in avc_refs.iter_mut().enumerate() {
        if r.is_none() {
            *r = Some(AvcRef::Stray(stray.len() as u32));
            stray.push(a);
        }
    }

    // Pages sorted by where they are mapped, then by index.
    let mut page_order: Vec<usize> = (0..raw.pages.len()).collect();
    page_order.sort_by(|&a, &b| {
        let (pa, pb) = (&raw.pages[a], &raw.pages[b]);
        (&pa.mappers, pa.index).cmp(&(&pb.mappers, pb.index))
    });
    for &p in &page_order {
        names.visit(raw.pages[p].anon_vma);
    }
    for &a in &stray {
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

    let av = |r: RawRef| names.reference(r);
    let avc_ref = |r: RawRef| match r {
        RawRef::Index(i) => avc_refs
            .get(i)
            .copied()
            .flatten()
            .unwrap_or(AvcRef::Foreign),
        RawRef::Dangling => AvcRef::Dangling,
        _ => AvcRef::Foreign,
    };
    let vma_state = |v: &RawVma| VmaState {
        start: v.start,
        end: v.end,
        pgoff: v.pgoff,
        anon_pgoff: v.anon_pgoff,
        flags: v.flags,
        attached: v.attached,
        anon_vma: av(v.anon_vma),
        chain: v
            .chain
            .iter()
            .map(|&c| match c {
                RawRef::Index(i) if i < raw.avcs.len() => ChainEntry {
                    anon_vma: av(raw.avcs[i].anon_vma),
                    vma: vma_ref(raw.avcs[i].vma),
                },
                RawRef::Dangling => ChainEntry {
                    anon_vma: AvRef::Dangling,
                    vma: VmaRef::Dangling,
                },
                _ => ChainEntry {
                    anon_vma: AvRef::Foreign,
                    vma: VmaRef::Foreign,
                },
            })
            .collect(),
        chain_broken: v.chain_broken,
        mm_freed: v.mm == Err(RawRef::Dangling),
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
    let detached = detached_order
        .iter()
        .map(|&v| vma_state(&raw.vmas[v]))
        .collect();
    let anon_vmas = names
        .order
        .iter()
        .map(|&a| {
            let raw_av = &raw.anon_vmas[a];
            let mut tree: Vec<TreeEntry> = raw_av
                .tree
                .iter()
                .map(|n| TreeEntry {
                    start: n.start,
                    last: n.last,
                    avc: avc_ref(n.avc),
                })
                .collect();
            tree.sort();
            AnonVmaState {
                root: av(raw_av.root),
                parent: av(raw_av.parent),
                refcount: raw_av.refcount,
                num_children: raw_av.num_children,
                num_active_vmas: raw_av.num_active_vmas,
                degree: raw_av.degree,
                tree,
            }
        })
        .collect();
    let stray_avcs = stray
        .iter()
        .map(|&a| StrayAvc {
            vma: vma_ref(raw.avcs[a].vma),
            anon_vma: av(raw.avcs[a].anon_vma),
        })
        .collect();
    let pages = page_order
        .iter()
        .map(|&p| {
            let page = &raw.pages[p];
            PageState {
                anon_vma: av(page.anon_vma),
                index: page.index,
                mapcount: page.mapcount,
                mappers: page.mappers.clone(),
                walk: page.walk.clone(),
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
struct Naming {
    ids: Vec<Option<u32>>,
    order: Vec<usize>,
}

impl Naming {
    fn new(n: usize) -> Naming {
        Naming {
            ids: vec![None; n],
            order: Vec::new(),
        }
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
