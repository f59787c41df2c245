//! A pointer-free picture of every live object (docs/MODEL.md section 8).

use slotmap::{Key, SecondaryMap, SlotMap};
use smallvec::SmallVec;

use crate::world::{Born, World};

/// A short list, inline: most of a dump's lists hold a few entries, and a
/// search dumps the world at every try.
pub type Few<T> = SmallVec<[T; 4]>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ref {
    Null,
    Live(usize),
    Dangling,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LiveCounts {
    pub mm: u64,
    pub vma: u64,
    pub anon_vma: u64,
    pub avc: u64,
    pub page: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DumpMm {
    pub id: u32,
    /// Indices into `Dump::vmas`, in address order.
    pub vmas: Few<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DumpVma {
    pub mm: Option<u32>,
    pub start: u64,
    pub end: u64,
    pub pgoff: u64,
    /// The anonymous page offset (Linux 7.3).
    pub anon_pgoff: u64,
    pub flags: u32,
    pub anon_vma: Ref,
    /// Indices into `Dump::avcs`, head first.
    pub chain: Few<usize>,
    pub attached: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DumpAvc {
    pub vma: Ref,
    pub anon_vma: Ref,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DumpAnonVma {
    pub root: Ref,
    pub parent: Ref,
    pub refcount: i64,
    pub num_children: i64,
    pub num_active_vmas: i64,
    /// Indices into `Dump::avcs`.
    pub tree: Few<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DumpPage {
    pub anon_vma: Ref,
    pub index: u64,
    pub mapcount: i64,
    pub mappers: Few<(u32, u64)>,
    pub walk: Few<(u32, u64)>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dump {
    pub mms: Vec<DumpMm>,
    pub vmas: Vec<DumpVma>,
    pub avcs: Vec<DumpAvc>,
    pub anon_vmas: Vec<DumpAnonVma>,
    pub pages: Vec<DumpPage>,
    pub live: LiveCounts,
}

/// An arena's keys in the order their objects were made: the order the
/// C side lists live objects in, so that two equal worlds made alike dump
/// alike, position for position.
fn made_order<K: Key, V>(arena: &SlotMap<K, V>, born: impl Fn(&V) -> Born) -> Vec<K> {
    let mut keys: Vec<(u64, K)> = arena.iter().map(|(k, v)| (born(v).0, k)).collect();
    // (Slots are handed out in order until one is reused.)
    if !keys.is_sorted_by_key(|&(b, _)| b) {
        keys.sort_unstable_by_key(|&(b, _)| b);
    }
    keys.into_iter().map(|(_, k)| k).collect()
}

/// Positions of an arena's keys, in `order`.
fn positions<K: Key, V>(arena: &SlotMap<K, V>, order: &[K]) -> SecondaryMap<K, usize> {
    // (Room for every slot up front: grown by doubling, it would copy
    // itself at every dump.)
    let mut at = SecondaryMap::with_capacity(arena.capacity());
    for (i, &k) in order.iter().enumerate() {
        at.insert(k, i);
    }
    at
}

/// A stale key is not in the index: it becomes `Dangling`.
fn reference<K: Key>(index: &SecondaryMap<K, usize>, k: Option<K>) -> Ref {
    match k {
        None => Ref::Null,
        Some(k) => index.get(k).map_or(Ref::Dangling, |&i| Ref::Live(i)),
    }
}

/// Takes a dump one object at a time, in dump order: the processes, then
/// each arena's objects (VMAs, AVCs, anon_vmas, pages).
pub trait DumpSink {
    fn mm(&mut self, m: DumpMm);
    fn vma(&mut self, v: DumpVma);
    fn avc(&mut self, a: DumpAvc);
    fn anon_vma(&mut self, a: DumpAnonVma);
    fn page(&mut self, p: DumpPage);
}

impl DumpSink for Dump {
    fn mm(&mut self, m: DumpMm) {
        self.mms.push(m);
    }
    fn vma(&mut self, v: DumpVma) {
        self.vmas.push(v);
    }
    fn avc(&mut self, a: DumpAvc) {
        self.avcs.push(a);
    }
    fn anon_vma(&mut self, a: DumpAnonVma) {
        self.anon_vmas.push(a);
    }
    fn page(&mut self, p: DumpPage) {
        self.pages.push(p);
    }
}

impl World {
    pub fn dump(&self) -> Dump {
        let mut d = Dump {
            live: self.live_counts(),
            ..Dump::default()
        };
        self.dump_to(&mut d);
        d
    }

    /// The dump, object by object, into `sink`.
    pub fn dump_to(&self, sink: &mut impl DumpSink) {
        let vma_order = made_order(&self.vmas, |v| v.born);
        let av_order = made_order(&self.avs, |a| a.born);
        let avc_order = made_order(&self.avcs, |a| a.born);
        let page_order = made_order(&self.pages, |p| p.born);
        let vma_ix = positions(&self.vmas, &vma_order);
        let av_ix = positions(&self.avs, &av_order);
        let avc_ix = positions(&self.avcs, &avc_order);
        let avc_list = |keys: &mut dyn Iterator<Item = &crate::world::AvcKey>| -> Few<usize> {
            keys.filter_map(|&k| avc_ix.get(k).copied()).collect()
        };

        for &mm in self.mm_ids.values() {
            let m = self.mm(mm);
            let vmas = m
                .vmas
                .values()
                .filter_map(|&k| vma_ix.get(k).copied())
                .collect();
            sink.mm(DumpMm { id: m.id, vmas });
        }
        for v in vma_order.iter().map(|&k| &self.vmas[k]) {
            let dumped = DumpVma {
                mm: self.mms.get(v.mm).filter(|_| v.attached).map(|m| m.id),
                start: v.start,
                end: v.end,
                pgoff: v.pgoff,
                anon_pgoff: v.anon_pgoff,
                flags: v.flags,
                anon_vma: reference(&av_ix, v.anon_vma),
                chain: avc_list(&mut v.chain.iter()),
                attached: v.attached,
            };
            sink.vma(dumped);
        }
        for a in avc_order.iter().map(|&k| &self.avcs[k]) {
            let dumped = DumpAvc {
                vma: reference(&vma_ix, Some(a.vma)),
                anon_vma: reference(&av_ix, Some(a.anon_vma)),
            };
            sink.avc(dumped);
        }
        for a in av_order.iter().map(|&k| &self.avs[k]) {
            let dumped = DumpAnonVma {
                root: reference(&av_ix, Some(a.root)),
                parent: reference(&av_ix, Some(a.parent)),
                refcount: a.refcount,
                num_children: a.num_children,
                num_active_vmas: a.num_active_vmas,
                tree: avc_list(&mut a.tree.iter()),
            };
            sink.anon_vma(dumped);
        }

        let mut mappers: SecondaryMap<crate::world::PageKey, Few<(u32, u64)>> =
            SecondaryMap::with_capacity(self.pages.capacity());
        for m in self.mm_ids.values().map(|&k| self.mm(k)) {
            for (&addr, &p) in &m.ptes {
                if let Some(list) = mappers.entry(p) {
                    list.or_default().push((m.id, addr));
                }
            }
        }
        for &k in &page_order {
            let p = &self.pages[k];
            let mut mapped = mappers.remove(k).unwrap_or_default();
            mapped.sort_unstable();
            let dumped = DumpPage {
                anon_vma: reference(&av_ix, Some(p.anon_vma)),
                index: p.index,
                mapcount: p.mapcount,
                mappers: mapped,
                walk: self.rmap_walk(k),
            };
            sink.page(dumped);
        }
    }

    /// True if every object is as in `then`, under the same key, and so
    /// are the processes' ids: all a dump reads, so the two dumps are the
    /// same. (Cheaper than a dump: a search asks it after each try, as
    /// most leave the world as they found it.)
    pub fn same_objects(&self, then: &World) -> bool {
        fn same<K: slotmap::Key, V: PartialEq>(a: &SlotMap<K, V>, b: &SlotMap<K, V>) -> bool {
            a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| x == y)
        }
        *self.mm_ids == *then.mm_ids
            && same(&self.mms, &then.mms)
            && same(&self.vmas, &then.vmas)
            && same(&self.avs, &then.avs)
            && same(&self.avcs, &then.avcs)
            && same(&self.pages, &then.pages)
    }

    pub fn live_counts(&self) -> LiveCounts {
        LiveCounts {
            mm: self.mms.len() as u64,
            vma: self.vmas.len() as u64,
            anon_vma: self.avs.len() as u64,
            avc: self.avcs.len() as u64,
            page: self.pages.len() as u64,
        }
    }
}
