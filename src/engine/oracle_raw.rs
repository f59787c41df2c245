//! The oracle's dump as a raw snapshot, record by record: built whole
//! ([`raw_snapshot`]), or compared with one the C side reported and built
//! only where it differs ([`snapshot_unless`]). Both engines list each site's
//! objects in the order they were made, so a state the two made alike is
//! reported alike, position for position.

use rmap_oracle as oracle;

use crate::check::snapshot::{
    sort_tree, Few, LiveCounts, RawAnonVma, RawAvc, RawMm, RawPage, RawRef, RawSnapshot,
    RawTreeNode, RawVma,
};

fn reference(r: oracle::Ref) -> RawRef {
    match r {
        oracle::Ref::Null => RawRef::Null,
        oracle::Ref::Live(i) => RawRef::Index(i),
        oracle::Ref::Dangling => RawRef::Dangling,
    }
}

pub(super) fn live_counts(l: oracle::LiveCounts) -> LiveCounts {
    LiveCounts {
        mm: l.mm,
        vma: l.vma,
        anon_vma: l.anon_vma,
        avc: l.avc,
        page: l.page,
    }
}

/// Turns dumped records into raw ones, remembering what a later record
/// needs of an earlier one: an anon_vma's tree entries are keyed by their
/// VMAs' ranges.
struct Records {
    /// Report each VMA's anonymous page offset (Linux 7.3's generation).
    anon_pgoff: bool,
    /// Per VMA, by position: the pgoff range its AVCs are keyed by.
    keys: Vec<(u64, u64)>,
    /// Per AVC, by position: its VMA's position.
    avc_vma: Vec<Option<usize>>,
}

impl Records {
    fn new(anon_pgoff: bool) -> Records {
        Records {
            anon_pgoff,
            keys: Vec::new(),
            avc_vma: Vec::new(),
        }
    }

    fn mm(&self, m: oracle::DumpMm) -> RawMm {
        RawMm {
            id: m.id,
            vmas: Few::from_slice(&m.vmas),
            bad_entries: 0,
        }
    }

    fn vma(&mut self, v: oracle::DumpVma) -> RawVma {
        let last = (v.anon_pgoff + ((v.end - v.start) >> 12)).wrapping_sub(1);
        self.keys.push((v.anon_pgoff, last));
        RawVma {
            mm: v.mm.ok_or(RawRef::Null),
            start: v.start,
            end: v.end,
            pgoff: v.pgoff,
            anon_pgoff: self.anon_pgoff.then_some(v.anon_pgoff),
            flags: v.flags,
            attached: v.attached,
            anon_vma: reference(v.anon_vma),
            chain: v.chain.iter().map(|&a| RawRef::Index(a)).collect(),
            chain_broken: false,
        }
    }

    fn avc(&mut self, a: oracle::DumpAvc) -> RawAvc {
        self.avc_vma.push(match a.vma {
            oracle::Ref::Live(v) => Some(v),
            _ => None,
        });
        RawAvc {
            vma: reference(a.vma),
            anon_vma: reference(a.anon_vma),
        }
    }

    /// The oracle keys every tree entry by its VMA's current range; the C
    /// side reports the key an entry was filed under. Both must agree.
    fn tree_key(&self, avc: usize) -> (u64, u64) {
        self.avc_vma
            .get(avc)
            .copied()
            .flatten()
            .and_then(|v| self.keys.get(v).copied())
            .unwrap_or((0, 0))
    }

    fn anon_vma(&self, a: oracle::DumpAnonVma) -> RawAnonVma {
        let mut raw = RawAnonVma {
            root: reference(a.root),
            parent: reference(a.parent),
            refcount: a.refcount,
            num_children: a.num_children,
            num_active_vmas: a.num_active_vmas,
            degree: None,
            tree: a
                .tree
                .iter()
                .map(|&avc| {
                    let (start, last) = self.tree_key(avc);
                    RawTreeNode {
                        avc: RawRef::Index(avc),
                        start,
                        last,
                    }
                })
                .collect(),
        };
        sort_tree(&mut raw.tree);
        raw
    }

    fn page(&self, p: oracle::DumpPage) -> RawPage {
        RawPage {
            anon_vma: reference(p.anon_vma),
            index: p.index,
            mapcount: p.mapcount,
            mappers: Few::from_slice(&p.mappers),
            walk: Few::from_slice(&p.walk),
        }
    }
}

/// The world's raw snapshot.
pub(super) fn raw_snapshot(world: &oracle::World, anon_pgoff: bool) -> RawSnapshot {
    // (Compared with nothing, it is built from its first record on.)
    snapshot_unless(world, anon_pgoff, &RawSnapshot::default()).unwrap_or_default()
}

/// Compares the dump with a raw snapshot as it goes; from the first record
/// that differs on, builds the dump's own (the records before it are the
/// raw snapshot's).
struct Compare<'a> {
    records: Records,
    like: &'a RawSnapshot,
    /// Records found alike so far, per site (mm, VMA, AVC, anon_vma, page).
    seen: [usize; 5],
    built: Option<RawSnapshot>,
}

impl Compare<'_> {
    /// The snapshot so far: what was found alike, as a snapshot of its own.
    fn so_far(&self) -> RawSnapshot {
        let (like, seen) = (self.like, self.seen);
        RawSnapshot {
            mms: like.mms[..seen[0]].to_vec(),
            vmas: like.vmas[..seen[1]].to_vec(),
            avcs: like.avcs[..seen[2]].to_vec(),
            anon_vmas: like.anon_vmas[..seen[3]].to_vec(),
            pages: like.pages[..seen[4]].to_vec(),
            live: like.live,
        }
    }

    /// The next record of site `at`: alike, or the first of its own.
    fn next<T: PartialEq>(
        &mut self,
        at: usize,
        record: T,
        list: impl Fn(&RawSnapshot) -> &[T],
        push: impl FnOnce(&mut RawSnapshot, T),
    ) {
        if self.built.is_none() {
            if list(self.like).get(self.seen[at]) == Some(&record) {
                self.seen[at] += 1;
                return;
            }
            self.built = Some(self.so_far());
        }
        if let Some(built) = &mut self.built {
            push(built, record);
        }
    }
}

impl oracle::DumpSink for Compare<'_> {
    fn mm(&mut self, m: oracle::DumpMm) {
        let m = self.records.mm(m);
        self.next(0, m, |s| &s.mms, |s, m| s.mms.push(m))
    }
    fn vma(&mut self, v: oracle::DumpVma) {
        let v = self.records.vma(v);
        self.next(1, v, |s| &s.vmas, |s, v| s.vmas.push(v))
    }
    fn avc(&mut self, a: oracle::DumpAvc) {
        let a = self.records.avc(a);
        self.next(2, a, |s| &s.avcs, |s, a| s.avcs.push(a))
    }
    fn anon_vma(&mut self, a: oracle::DumpAnonVma) {
        let a = self.records.anon_vma(a);
        self.next(3, a, |s| &s.anon_vmas, |s, a| s.anon_vmas.push(a))
    }
    fn page(&mut self, p: oracle::DumpPage) {
        let p = self.records.page(p);
        self.next(4, p, |s| &s.pages, |s, p| s.pages.push(p))
    }
}

/// The world's raw snapshot, unless it is `like` (then `None`): compared
/// as the dump goes, and built only from the first record that differs.
pub(super) fn snapshot_unless(
    world: &oracle::World,
    anon_pgoff: bool,
    like: &RawSnapshot,
) -> Option<RawSnapshot> {
    let mut compare = Compare {
        records: Records::new(anon_pgoff),
        like,
        seen: [0; 5],
        built: None,
    };
    world.dump_to(&mut compare);
    let live = live_counts(world.live_counts());
    let lens = [
        like.mms.len(),
        like.vmas.len(),
        like.avcs.len(),
        like.anon_vmas.len(),
        like.pages.len(),
    ];
    let mut built = match compare.built.take() {
        None if compare.seen == lens && live == like.live => return None,
        None => compare.so_far(),
        Some(built) => built,
    };
    built.live = live;
    Some(built)
}
