//! Unit tests: concrete states the model page prescribes, and a randomised
//! run that checks the basic invariants after every operation.

use crate::{Access, Behaviour, Dump, FailPlan, Ref, Site, Status, World};

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

#[test]
fn random_sequences_keep_the_invariants() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for _ in 0..300 {
        let mut w = World::new();
        for _ in 0..40 {
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
            check_basic_invariants(&w.dump());
        }
        assert_eq!(w.teardown(), Default::default());
    }
}
