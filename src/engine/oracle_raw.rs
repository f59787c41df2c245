//! The oracle's dump as a raw snapshot, record by record: built whole
//! ([`raw_snapshot`]), or compared with one the C side reported and built
//! only where it differs ([`snapshot_unless`]). Both engines list each site's
//! objects in the order they were made, so a state the two made alike is
//! reported alike, position for position.

use rmap_oracle as oracle;

use super::Changes;
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

/// Turns dumped records into raw ones, each on its own.
struct Records {
    /// Report each VMA's anonymous page offset (Linux 7.3's generation).
    anon_pgoff: bool,
}

impl Records {
    fn new(anon_pgoff: bool) -> Records {
        Records { anon_pgoff }
    }

    fn mm(&self, m: oracle::DumpMm) -> RawMm {
        RawMm {
            id: m.id,
            vmas: Few::from_slice(&m.vmas),
            bad_entries: 0,
        }
    }

    fn vma(&self, v: oracle::DumpVma) -> RawVma {
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

    fn avc(&self, a: oracle::DumpAvc) -> RawAvc {
        RawAvc {
            vma: reference(a.vma),
            anon_vma: reference(a.anon_vma),
        }
    }

    /// The oracle keys every tree entry by its VMA's current range; the C
    /// side reports the key an entry was filed under. Both must agree.
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
                .zip(&a.keys)
                .map(|(&avc, &(start, last))| RawTreeNode {
                    avc: RawRef::Index(avc),
                    start,
                    last,
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

/// The world's raw snapshot; if `follow`, from here on the world says
/// what changed since ([`alike_where_changed`]).
pub(super) fn raw_snapshot(
    world: &mut oracle::World,
    anon_pgoff: bool,
    follow: bool,
) -> RawSnapshot {
    // (Compared with nothing, it is built from its first record on.)
    snapshot_unless(world, anon_pgoff, &RawSnapshot::default(), follow).unwrap_or_default()
}

/// The raw snapshot of a world nobody follows (a race's serial tries).
pub(super) fn raw_snapshot_of(world: &oracle::World, anon_pgoff: bool) -> RawSnapshot {
    compared(
        anon_pgoff,
        &RawSnapshot::default(),
        |c| world.dump_to(c),
        world.live_counts(),
    )
    .unwrap_or_default()
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
/// If `follow`, from here on the world says what changed since
/// ([`alike_where_changed`]).
pub(super) fn snapshot_unless(
    world: &mut oracle::World,
    anon_pgoff: bool,
    like: &RawSnapshot,
    follow: bool,
) -> Option<RawSnapshot> {
    let live = world.live_counts();
    compared(anon_pgoff, like, |c| world.dump_following(c, follow), live)
}

/// The dump `dump` makes, compared with `like` as it goes.
fn compared(
    anon_pgoff: bool,
    like: &RawSnapshot,
    dump: impl FnOnce(&mut Compare),
    live: oracle::LiveCounts,
) -> Option<RawSnapshot> {
    let mut compare = Compare {
        records: Records::new(anon_pgoff),
        like,
        seen: [0; 5],
        built: None,
    };
    dump(&mut compare);
    let live = live_counts(live);
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

/// A record at a time, converted and compared with the one at its place
/// in a raw snapshot.
struct Picked<'a> {
    records: Records,
    like: &'a RawSnapshot,
    at: usize,
    alike: bool,
}

impl oracle::DumpSink for Picked<'_> {
    fn mm(&mut self, m: oracle::DumpMm) {
        let m = self.records.mm(m);
        let like = &self.like.mms;
        self.alike = like
            .binary_search_by_key(&m.id, |k| k.id)
            .is_ok_and(|i| like[i] == m);
    }
    fn vma(&mut self, v: oracle::DumpVma) {
        self.alike = self.like.vmas.get(self.at) == Some(&self.records.vma(v));
    }
    fn avc(&mut self, a: oracle::DumpAvc) {
        self.alike = self.like.avcs.get(self.at) == Some(&self.records.avc(a));
    }
    fn anon_vma(&mut self, a: oracle::DumpAnonVma) {
        self.alike = self.like.anon_vmas.get(self.at) == Some(&self.records.anon_vma(a));
    }
    fn page(&mut self, p: oracle::DumpPage) {
        self.alike = self.like.pages.get(self.at) == Some(&self.records.page(p));
    }
}

/// The positions of two ascending lists, once each, ascending.
fn union<T: Copy + Ord>(a: &[T], b: &[T]) -> Vec<T> {
    let mut all: Vec<T> = a.iter().chain(b).copied().collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// Whether the world is reported as `like`, where it was reported exactly
/// as `like` was before `c` (what `like`'s engine changed since): both
/// sides freed the same objects, and every record either side changed is
/// alike. `None` where the world cannot say what it changed since its
/// last dump (a whole comparison is due).
pub(super) fn alike_where_changed(
    world: &mut oracle::World,
    anon_pgoff: bool,
    like: &RawSnapshot,
    c: &Changes,
) -> Option<bool> {
    let o = world.changes()?;
    let live = live_counts(world.live_counts());
    let lens = [
        like.vmas.len(),
        like.avcs.len(),
        like.anon_vmas.len(),
        like.pages.len(),
    ];
    let fits = [live.vma, live.avc, live.anon_vma, live.page]
        .iter()
        .zip(lens)
        .all(|(&n, len)| n == len as u64);
    if live != like.live || !fits || o.freed != c.freed || o.mms_gone != c.mms_gone {
        return Some(false);
    }
    let mut picked = Picked {
        records: Records::new(anon_pgoff),
        like,
        at: 0,
        alike: false,
    };
    let listings = [
        oracle::Listing::Vma,
        oracle::Listing::Avc,
        oracle::Listing::AnonVma,
        oracle::Listing::Page,
    ];
    for (n, listing) in listings.into_iter().enumerate() {
        for at in union(&o.records[n], &c.records[n]) {
            picked.at = at;
            picked.alike = false;
            world.record_at(listing, at, &mut picked);
            if !picked.alike {
                return Some(false);
            }
        }
    }
    for id in union(&o.mms, &c.mms) {
        picked.alike = false;
        world.mm_record(id, &mut picked);
        if !picked.alike {
            return Some(false);
        }
    }
    Some(true)
}
