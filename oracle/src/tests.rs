//! Unit tests: concrete states the model page prescribes, and a randomised
//! run that checks the basic invariants after every operation.

use crate::{
    Access, Behaviour, Changes, Dump, DumpAnonVma, DumpAvc, DumpMm, DumpPage, DumpSink, DumpVma,
    FailPlan, Listing, Ref, Site, Status, World,
};

fn live(r: Ref) -> usize {
    match r {
        Ref::Live(i) => i,
        other => panic!("expected a live reference, got {other:?}"),
    }
}

/// The anon_vma of the VMA of process `mm` starting at `start`.
fn vma(d: &Dump, mm: u32, start: u64) -> &crate::DumpVma {
    d.vmas
        .iter()
        .find(|v| v.mm == Some(mm) && v.start == start)
        .expect("no such VMA")
}

fn chain_anon_vmas(d: &Dump, mm: u32, start: u64) -> Vec<usize> {
    vma(d, mm, start)
        .chain
        .iter()
        .map(|&a| live(d.avcs[a].anon_vma))
        .collect()
}

fn faulted_world() -> World {
    let mut w = World::new();
    assert_eq!(w.mmap(0, 0x10000, 0x4000).status, Status::Ok);
    let out = w.fault(0, 0x10000, Access::Write);
    assert_eq!(out.allocs, vec![Site::Avc, Site::AnonVma, Site::Page]);
    w
}

#[test]
fn first_write_fault_starts_a_family() {
    let w = faulted_world();
    let d = w.dump();
    assert_eq!(d.anon_vmas.len(), 1);
    let a = &d.anon_vmas[0];
    assert_eq!((a.refcount, a.num_children, a.num_active_vmas), (1, 1, 1));
    assert_eq!(a.root, Ref::Live(0));
    assert_eq!(d.pages[0].index, 0x10);
    assert_eq!(d.pages[0].walk[..], [(0, 0x10000)]);
}

#[test]
fn fork_links_the_child_and_counts_it() {
    let mut w = faulted_world();
    let out = w.fork(0);
    assert_eq!(out.status, Status::Ok);
    assert_eq!(
        out.allocs,
        vec![Site::Mm, Site::Vma, Site::AnonVma, Site::Avc, Site::Avc]
    );
    let d = w.dump();
    let parent_av = live(vma(&d, 0, 0x10000).anon_vma);
    let child_av = live(vma(&d, 1, 0x10000).anon_vma);
    assert_eq!(chain_anon_vmas(&d, 1, 0x10000), vec![child_av, parent_av]);
    let p = &d.anon_vmas[parent_av];
    assert_eq!((p.num_children, p.refcount), (2, 2));
    assert_eq!(d.anon_vmas[child_av].parent, Ref::Live(parent_av));
    assert_eq!(d.pages[0].mapcount, 2);
}

#[test]
fn every_clone_reverses_the_chain() {
    let mut w = faulted_world();
    w.fork(0);
    w.fork(1);
    let d = w.dump();
    let c1 = chain_anon_vmas(&d, 1, 0x10000);
    let c2 = chain_anon_vmas(&d, 2, 0x10000);
    // The grandchild's own anon_vma first, then the child's chain reversed.
    assert_eq!(c2[1..], [c1[1], c1[0]]);
}

#[test]
fn fork_reuses_an_unused_ancestor() {
    let mut w = faulted_world();
    w.fork(0);
    w.fork(1);
    w.exit(1);
    let before = w.dump().anon_vmas.len();
    let out = w.fork(2);
    // The spare anon_vma and AVC are allocated, then dropped on reuse.
    assert_eq!(
        out.allocs,
        vec![
            Site::Mm,
            Site::Vma,
            Site::AnonVma,
            Site::Avc,
            Site::Avc,
            Site::Avc,
            Site::Avc
        ]
    );
    let d = w.dump();
    assert_eq!(d.anon_vmas.len(), before);
    let reused = live(vma(&d, 3, 0x10000).anon_vma);
    assert_eq!(d.anon_vmas[reused].num_active_vmas, 1);
    assert_eq!(d.anon_vmas[reused].num_children, 1);
}

#[test]
fn fault_injection_at_each_site() {
    for (nth, allocs) in [(1, 1), (2, 2), (3, 3)] {
        let mut w = World::new();
        w.mmap(0, 0x10000, 0x1000);
        w.inject(Some(FailPlan {
            nth,
            and_later: false,
        }));
        let out = w.fault(0, 0x10000, Access::Write);
        assert_eq!(
            (out.status, out.allocs.len()),
            (Status::Enomem, allocs),
            "fail={nth}"
        );
        let d = w.dump();
        assert!(d.pages.is_empty());
        // Only a failed page allocation keeps the prepared anon_vma.
        assert_eq!(d.anon_vmas.len(), usize::from(nth == 3));
        assert_eq!(w.teardown(), Default::default());
    }
}

#[test]
fn fail_once_versus_fail_for_good() {
    let mut w = faulted_world();
    w.fork(0);
    // A split of the child allocates a VMA then two AVCs.
    w.inject(Some(FailPlan {
        nth: 2,
        and_later: false,
    }));
    assert_eq!(w.split(1, 0x12000).allocs.len(), 2);
    w.inject(Some(FailPlan {
        nth: 1,
        and_later: true,
    }));
    assert_eq!(w.split(1, 0x12000).allocs.len(), 1);
    w.inject(None);
    assert_eq!(
        w.split(1, 0x12000).allocs,
        vec![Site::Vma, Site::Avc, Site::Avc]
    );
}

#[test]
fn split_shares_the_anon_vma_and_reverses_the_new_chain() {
    let mut w = faulted_world();
    w.fork(0);
    assert_eq!(w.split(1, 0x12000).status, Status::Ok);
    let d = w.dump();
    let (lo, hi) = (vma(&d, 1, 0x10000), vma(&d, 1, 0x12000));
    assert_eq!(lo.anon_vma, hi.anon_vma);
    assert_eq!(hi.pgoff, 0x12);
    let mut reversed = chain_anon_vmas(&d, 1, 0x10000);
    reversed.reverse();
    assert_eq!(chain_anon_vmas(&d, 1, 0x12000), reversed);
}

#[test]
fn merging_an_unfaulted_vma_into_a_faulted_one_clones_one_avc() {
    let mut w = World::new();
    w.mmap(0, 0x10000, 0x4000);
    w.split(0, 0x12000);
    w.fault(0, 0x12000, Access::Write);
    // Merging the faulted upper VMA: the unfaulted lower one (prev) is
    // the target and receives a clone of its single AVC.
    let out = w.merge(0, 0x12000);
    assert_eq!((out.status, out.allocs), (Status::Ok, vec![Site::Avc]));
    let d = w.dump();
    assert_eq!(d.mms[0].vmas.len(), 1);
    assert_eq!(d.anon_vmas[0].num_active_vmas, 1);
    assert_eq!(d.pages[0].walk[..], [(0, 0x12000)]);
}

#[test]
fn merging_into_a_faulted_next_needs_no_clone() {
    let mut w = World::new();
    w.mmap(0, 0x10000, 0x4000);
    w.split(0, 0x12000);
    w.fault(0, 0x12000, Access::Write);
    // The unfaulted lower VMA merges into the faulted next, which survives.
    let out = w.merge(0, 0x10000);
    assert_eq!((out.status, out.allocs), (Status::Ok, vec![]));
    assert_eq!(vma(&w.dump(), 0, 0x10000).pgoff, 0x10);
}

#[test]
fn mremap_keeps_pgoff_and_moves_pages() {
    let mut w = faulted_world();
    assert_eq!(w.mremap(0, 0x10000, 0x80000).status, Status::Ok);
    let d = w.dump();
    assert_eq!(vma(&d, 0, 0x80000).pgoff, 0x10);
    assert_eq!(d.pages[0].mappers[..], [(0, 0x80000)]);
    assert_eq!(d.pages[0].walk[..], [(0, 0x80000)]);
}

#[test]
fn mremap_next_to_itself_merges_and_splits_off_the_old_range() {
    // Unfaulted: the new range's pgoff follows on, so the VMA itself
    // takes it, and the old range is split off (one VMA allocation).
    let mut w = World::new();
    w.mmap(0, 0x10000, 0x1000);
    let out = w.mremap(0, 0x10000, 0x11000);
    assert_eq!((out.status, out.allocs), (Status::Ok, vec![Site::Vma]));
    let d = w.dump();
    assert_eq!(d.mms[0].vmas.len(), 1);
    let v = vma(&d, 0, 0x11000);
    assert_eq!((v.start, v.pgoff), (0x11000, 0x11));

    // That split failing leaves the move standing, the old range mapped.
    let mut w = World::new();
    w.mmap(0, 0x10000, 0x1000);
    w.inject(Some(FailPlan {
        nth: 1,
        and_later: false,
    }));
    let out = w.mremap(0, 0x10000, 0x11000);
    assert_eq!(out.status, Status::Ok);
    let d = w.dump();
    let v = vma(&d, 0, 0x10000);
    assert_eq!((v.start, v.end), (0x10000, 0x12000));
}

#[test]
fn munmap_failing_its_second_split_keeps_the_first() {
    let mut w = faulted_world();
    w.inject(Some(FailPlan {
        nth: 3,
        and_later: false,
    }));
    let out = w.munmap(0, 0x11000, 0x2000);
    assert_eq!(out.status, Status::Enomem);
    let d = w.dump();
    assert_eq!(d.mms[0].vmas.len(), 2);
    assert_eq!(d.pages.len(), 1);
}

#[test]
fn invalid_operations_change_nothing() {
    let mut w = faulted_world();
    let before = w.dump();
    for out in [
        w.mmap(0, 0x11000, 0x1000),
        w.mmap(0, 0x20001, 0x1000),
        w.fault(9, 0x10000, Access::Write),
        w.split(0, 0x10000),
        w.mremap(0, 0x10000, 0x12000),
        w.madvise(0, 0x10001, 0x1000, Behaviour::DontFork),
        w.rmap(0, 0x50000),
    ] {
        assert_eq!(out.status, Status::Einval);
    }
    assert_eq!(w.dump(), before);
}

#[test]
#[should_panic(expected = "stale anon_vma reference")]
fn a_stale_key_panics() {
    let mut w = faulted_world();
    let av = w.avs.keys().next().unwrap();
    w.exit(0);
    let _ = w.av(av);
}

/// Counters against recomputed truth, chains against trees, walks against
/// mappers: the core rules, checked on a dump.
fn check_basic_invariants(d: &Dump) {
    for (i, a) in d.anon_vmas.iter().enumerate() {
        let active = d.vmas.iter().filter(|v| v.anon_vma == Ref::Live(i)).count() as i64;
        let children = d
            .anon_vmas
            .iter()
            .filter(|c| c.parent == Ref::Live(i))
            .count() as i64;
        assert_eq!(a.num_active_vmas, active, "num_active_vmas of {i}");
        assert_eq!(a.num_children, children, "num_children of {i}");
        assert!(!a.tree.is_empty(), "anon_vma {i} alive with an empty tree");
    }
    let mut on_chain = vec![0; d.avcs.len()];
    let mut in_tree = vec![0; d.avcs.len()];
    for v in &d.vmas {
        for &a in &v.chain {
            on_chain[a] += 1;
        }
    }
    for a in &d.anon_vmas {
        for &c in &a.tree {
            in_tree[c] += 1;
        }
    }
    assert!(
        on_chain.iter().all(|&n| n == 1),
        "an AVC on no chain or two"
    );
    assert!(in_tree.iter().all(|&n| n == 1), "an AVC in no tree or two");
    for p in &d.pages {
        assert_eq!(p.mapcount, p.mappers.len() as i64);
        assert_eq!(p.walk, p.mappers, "rmap walk of page {:#x}", p.index);
    }
}

/// A generator of small numbers for the randomised runs below.
fn numbers() -> impl FnMut(u64) -> u64 {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    }
}

/// One random operation (perhaps with an allocation failure) on `w`.
fn random_op(w: &mut World, next: &mut impl FnMut(u64) -> u64) {
    let mm = next(4) as u32;
    let addr = 0x10000 + next(16) * 0x1000;
    let len = (1 + next(4)) * 0x1000;
    if next(4) == 0 {
        w.inject(Some(FailPlan {
            nth: 1 + next(4) as u32,
            and_later: next(2) == 0,
        }));
    }
    let _ = match next(10) {
        0 => w.mmap(mm, addr, len),
        1 | 2 => w.fault(
            mm,
            addr,
            if next(3) == 0 {
                Access::Read
            } else {
                Access::Write
            },
        ),
        3 => w.fork(mm),
        4 => w.split(mm, addr),
        5 => w.merge(mm, addr),
        6 => w.mremap(mm, addr, 0x10000 + next(32) * 0x1000),
        7 => w.munmap(mm, addr, len),
        8 => w.madvise(
            mm,
            addr,
            len,
            [
                Behaviour::DontFork,
                Behaviour::DoFork,
                Behaviour::WipeOnFork,
            ][next(3) as usize],
        ),
        _ => w.exit(mm),
    };
}

#[test]
fn random_sequences_keep_the_invariants() {
    let mut next = numbers();
    for _ in 0..300 {
        let mut w = World::new();
        for _ in 0..40 {
            random_op(&mut w, &mut next);
            check_basic_invariants(&w.dump());
        }
        assert_eq!(w.teardown(), Default::default());
    }
}

/// Each position of a listing of `n` after `freed` (ascending) went.
fn renumbering(n: usize, freed: &[usize]) -> Vec<Option<usize>> {
    let mut next = 0;
    (0..n)
        .map(|i| {
            (freed.binary_search(&i).is_err()).then(|| {
                next += 1;
                next - 1
            })
        })
        .collect()
}

/// The last dump's records, renumbered past what `ch` says was freed.
fn renumbered(d: &Dump, ch: &Changes) -> Dump {
    let to = [
        renumbering(d.vmas.len(), &ch.freed[0]),
        renumbering(d.avcs.len(), &ch.freed[1]),
        renumbering(d.anon_vmas.len(), &ch.freed[2]),
        renumbering(d.pages.len(), &ch.freed[3]),
    ];
    // (A record naming a freed object is changed: it must be named too.)
    let at = |list: usize, i: usize| to[list][i].unwrap_or(usize::MAX);
    let r = |list: usize, r: Ref| match r {
        Ref::Live(i) => to[list][i].map_or(Ref::Dangling, Ref::Live),
        other => other,
    };
    let keep = |list: usize, i: usize| to[list][i].is_some();
    Dump {
        mms: d
            .mms
            .iter()
            .filter(|m| ch.mms_gone.binary_search(&m.id).is_err())
            .map(|m| DumpMm {
                id: m.id,
                vmas: m.vmas.iter().map(|&v| at(0, v)).collect(),
            })
            .collect(),
        vmas: (d.vmas.iter().enumerate())
            .filter(|&(i, _)| keep(0, i))
            .map(|(_, v)| DumpVma {
                anon_vma: r(2, v.anon_vma),
                chain: v.chain.iter().map(|&a| at(1, a)).collect(),
                ..v.clone()
            })
            .collect(),
        avcs: (d.avcs.iter().enumerate())
            .filter(|&(i, _)| keep(1, i))
            .map(|(_, a)| DumpAvc {
                vma: r(0, a.vma),
                anon_vma: r(2, a.anon_vma),
            })
            .collect(),
        anon_vmas: (d.anon_vmas.iter().enumerate())
            .filter(|&(i, _)| keep(2, i))
            .map(|(_, a)| DumpAnonVma {
                root: r(2, a.root),
                parent: r(2, a.parent),
                tree: a.tree.iter().map(|&c| at(1, c)).collect(),
                ..a.clone()
            })
            .collect(),
        pages: (d.pages.iter().enumerate())
            .filter(|&(i, _)| keep(3, i))
            .map(|(_, p)| DumpPage {
                anon_vma: r(2, p.anon_vma),
                ..p.clone()
            })
            .collect(),
        live: d.live,
    }
}

/// Collects the one record [`World::record_at`] or [`World::mm_record`]
/// gives.
#[derive(Default)]
struct One(Dump);

impl DumpSink for One {
    fn mm(&mut self, m: DumpMm) {
        self.0.mms.push(m);
    }
    fn vma(&mut self, v: DumpVma) {
        self.0.vmas.push(v);
    }
    fn avc(&mut self, a: DumpAvc) {
        self.0.avcs.push(a);
    }
    fn anon_vma(&mut self, a: DumpAnonVma) {
        self.0.anon_vmas.push(a);
    }
    fn page(&mut self, p: DumpPage) {
        self.0.pages.push(p);
    }
}

/// Asserts that every record of `now` at a place `named` does not name
/// is the one `then` has there; returns how many were named, and not.
fn unnamed_alike<T: PartialEq + std::fmt::Debug>(
    then: &[T],
    now: &[T],
    named: &[usize],
) -> (usize, usize) {
    let mut counts = (0, 0);
    for (i, record) in now.iter().enumerate() {
        if named.binary_search(&i).is_ok() {
            counts.0 += 1;
        } else {
            counts.1 += 1;
            assert_eq!(then.get(i), Some(record), "record {i}: changed, not named");
        }
    }
    counts
}

/// Where `ch` names no record, the dump after an operation is the one
/// before it, renumbered past what was freed; where it does, the record
/// it gives alone is the whole dump's. (What the partial comparison with
/// the C side's report rests on: `src/engine/oracle_raw.rs`.)
#[test]
fn changes_name_every_record_that_differs() {
    let mut next = numbers();
    let (mut named, mut unnamed) = (0, 0);
    for _ in 0..300 {
        let mut w = World::new();
        let mut before = Dump::default();
        w.dump_following(&mut before, true);
        for _ in 0..40 {
            // Now and then the world stops following for a while, or is
            // put back from a copy: what it keeps for the one following
            // (a page's entries) is made afresh when it starts again.
            match next(12) {
                0 => {
                    w.dump_following(&mut Dump::default(), false);
                    random_op(&mut w, &mut next);
                    random_op(&mut w, &mut next);
                }
                1 => {
                    let copy = w.clone();
                    random_op(&mut w, &mut next);
                    w.clone_from(&copy);
                    random_op(&mut w, &mut next);
                    assert_eq!(w.changes(), None, "put back from a copy");
                    before = Dump::default();
                    w.dump_following(&mut before, true);
                }
                _ => {}
            }
            if !w.pages.follows() {
                before = Dump::default();
                w.dump_following(&mut before, true);
            }
            random_op(&mut w, &mut next);
            let Some(ch) = w.changes() else {
                // (Put back: followed again from a whole dump.)
                before = Dump::default();
                w.dump_following(&mut before, true);
                continue;
            };
            let now = w.dump();
            let then = renumbered(&before, &ch);
            for (n, u) in [
                unnamed_alike(&then.vmas, &now.vmas, &ch.records[0]),
                unnamed_alike(&then.avcs, &now.avcs, &ch.records[1]),
                unnamed_alike(&then.anon_vmas, &now.anon_vmas, &ch.records[2]),
                unnamed_alike(&then.pages, &now.pages, &ch.records[3]),
            ] {
                named += n;
                unnamed += u;
            }
            let listings = [Listing::Vma, Listing::Avc, Listing::AnonVma, Listing::Page];
            for (list, listing) in listings.into_iter().enumerate() {
                for &i in &ch.records[list] {
                    let mut one = One::default();
                    w.record_at(listing, i, &mut one);
                    let whole = match listing {
                        Listing::Vma => one.0.vmas == now.vmas[i..=i],
                        Listing::Avc => one.0.avcs == now.avcs[i..=i],
                        Listing::AnonVma => one.0.anon_vmas == now.anon_vmas[i..=i],
                        Listing::Page => one.0.pages == now.pages[i..=i],
                    };
                    assert!(
                        whole,
                        "listing {list}, record {i}: alone, not as in the whole dump"
                    );
                }
            }
            for m in &now.mms {
                let before = then.mms.iter().find(|b| b.id == m.id);
                if ch.mms.binary_search(&m.id).is_err() {
                    assert_eq!(before, Some(m), "mm {}: changed, not named", m.id);
                }
                let mut one = One::default();
                w.mm_record(m.id, &mut one);
                assert_eq!(one.0.mms, std::slice::from_ref(m));
            }
            before = now;
        }
    }
    assert!(
        named > 300 && unnamed > 5 * named,
        "{named} named, {unnamed} not"
    );
}

#[test]
fn a_world_put_back_says_nothing_of_its_changes() {
    let mut w = faulted_world();
    w.dump_following(&mut Dump::default(), true);
    let saved = w.clone();
    w.fork(0);
    w.clone_from(&saved);
    assert_eq!(w.changes(), None, "put back");
    assert!(w.changes().is_some(), "followed again from there");
    w.dump_following(&mut Dump::default(), false);
    assert_eq!(w.changes(), None, "no longer followed");
}

/// A VMA that grows over an unfaulted neighbour changes what its
/// anon_vma's tree is keyed by, though nothing writes the anon_vma: its
/// record is named all the same.
#[test]
fn a_vma_that_grows_names_its_anon_vmas() {
    let mut w = faulted_world();
    w.dump_following(&mut Dump::default(), true);
    let before = w.dump();
    // (A new mapping next to a compatible one grows it.)
    assert_eq!(w.mmap(0, 0x14000, 0x2000).status, Status::Ok);
    let ch = w.changes().expect("followed");
    let now = w.dump();
    assert_ne!(before.anon_vmas[0].keys, now.anon_vmas[0].keys);
    assert_eq!(ch.records[2], [0], "{ch:?}");
}
