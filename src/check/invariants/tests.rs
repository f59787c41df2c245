//! Each rule on small hand-made snapshots: it fires when broken, and
//! only then.

use super::*;
use crate::check::snapshot::{
    AnonVmaState, AvcRef, ChainEntry, LiveCounts, MmState, PageState, TreeEntry, VmaState,
};

/// One process, one faulted VMA with one page: a correct world.
fn world() -> Snapshot {
    let vma = VmaRef::InMm {
        mm: 0,
        start: 0x10000,
    };
    Snapshot {
        mms: vec![MmState {
            id: 0,
            vmas: vec![VmaState {
                start: 0x10000,
                end: 0x12000,
                pgoff: 0x10,
                anon_pgoff: None,
                flags: 0,
                attached: true,
                anon_vma: AvRef::Id(0),
                chain: vec![ChainEntry {
                    anon_vma: AvRef::Id(0),
                    vma,
                }],
                chain_broken: false,
                mm_freed: false,
            }],
            bad_entries: 0,
        }],
        anon_vmas: vec![AnonVmaState {
            root: AvRef::Id(0),
            parent: AvRef::Id(0),
            refcount: 1,
            num_children: 1,
            num_active_vmas: 1,
            degree: None,
            tree: vec![TreeEntry {
                start: 0x10,
                last: 0x11,
                avc: AvcRef::OnChain { vma, pos: 0 },
            }],
        }],
        pages: vec![PageState {
            anon_vma: AvRef::Id(0),
            index: 0x10,
            mapcount: 1,
            mappers: vec![(0, 0x10000)],
            walk: vec![(0, 0x10000)],
        }],
        live: LiveCounts {
            mm: 1,
            vma: 1,
            anon_vma: 1,
            avc: 1,
            page: 1,
        },
        ..Snapshot::default()
    }
}

fn rules(s: &Snapshot) -> Vec<&'static str> {
    check(s).into_iter().map(|v| v.rule).collect()
}

#[test]
fn a_correct_world_passes() {
    assert_eq!(check(&world()), vec![]);
}

#[test]
fn a_degree_counter_replaces_the_two_counters() {
    // One VMA and the root's self-link: degree 2, the split counters
    // are not looked at.
    let mut s = world();
    s.anon_vmas[0].degree = Some(2);
    s.anon_vmas[0].num_children = 0;
    s.anon_vmas[0].num_active_vmas = 0;
    assert_eq!(check(&s), vec![]);
    s.anon_vmas[0].degree = Some(1);
    assert_eq!(rules(&s), vec!["counter.degree"]);
}

#[test]
fn each_breakage_is_named() {
    let mut s = world();
    s.anon_vmas[0].num_active_vmas = 2;
    assert_eq!(rules(&s), vec!["counter.num_active_vmas"]);

    let mut s = world();
    s.anon_vmas[0].num_children = 0;
    assert_eq!(rules(&s), vec!["counter.num_children"]);

    let mut s = world();
    s.anon_vmas[0].refcount = 2;
    assert_eq!(rules(&s), vec!["counter.refcount"]);

    let mut s = world();
    s.anon_vmas[0].tree[0].last = 0x10;
    assert_eq!(rules(&s), vec!["tree.member"]);

    let mut s = world();
    s.pages[0].walk.clear();
    assert_eq!(rules(&s), vec!["rmap.complete"]);

    let mut s = world();
    s.pages[0].mapcount = 2;
    assert_eq!(rules(&s), vec!["page.mapcount"]);

    let mut s = world();
    s.pages[0].index = 0x11;
    assert_eq!(rules(&s), vec!["page.linked"]);

    let mut s = world();
    s.mms[0].vmas[0].chain.clear();
    assert!(rules(&s).contains(&"chain.own"));

    let mut s = world();
    s.anon_vmas[0].tree.clear();
    assert!(rules(&s).contains(&"tree.empty"));

    let mut s = world();
    s.pages[0].anon_vma = AvRef::Dangling;
    assert!(rules(&s).contains(&"ref.dangling"));

    // A VMA no process holds, pointing at its freed mm (a failed fork
    // that leaked it): named as a dangling reference, then a leak.
    let mut s = world();
    let mut leaked = s.mms[0].vmas[0].clone();
    leaked.anon_vma = AvRef::Null;
    leaked.chain.clear();
    leaked.mm_freed = true;
    s.detached.push(leaked);
    let found = check(&s);
    assert_eq!(found[0].rule, "ref.dangling", "{found:?}");
    assert!(found[0].detail.contains("vm_mm points at a freed mm"));

    // A second AVC for the same anon_vma on one chain.
    let mut s = world();
    let vma = VmaRef::InMm {
        mm: 0,
        start: 0x10000,
    };
    s.mms[0].vmas[0].chain.push(ChainEntry {
        anon_vma: AvRef::Id(0),
        vma,
    });
    s.anon_vmas[0].tree.push(TreeEntry {
        start: 0x10,
        last: 0x11,
        avc: AvcRef::OnChain { vma, pos: 1 },
    });
    assert_eq!(rules(&s), vec!["chain.avc"]);

    // A chain spanning two families.
    let mut s = world();
    let mut other = s.anon_vmas[0].clone();
    other.root = AvRef::Id(1);
    other.parent = AvRef::Id(1);
    other.num_active_vmas = 0;
    other.tree[0].avc = AvcRef::OnChain { vma, pos: 1 };
    s.anon_vmas.push(other);
    s.mms[0].vmas[0].chain.push(ChainEntry {
        anon_vma: AvRef::Id(1),
        vma,
    });
    assert_eq!(rules(&s), vec!["chain.root"]);
}

/// A consistent world from a description: anon_vma `i` has parent
/// `parents[i]` (itself for a root); each VMA is (mm, start, its
/// anon_vma, the anon_vmas on its chain). Trees, counters and
/// refcounts are filled in to match, so only sharing and chain rules
/// can break.
fn built(parents: &[usize], vmas: &[(u32, u64, usize, &[usize])]) -> Snapshot {
    let root_of = |mut i: usize| {
        while parents[i] != i {
            i = parents[i];
        }
        i
    };
    let mut anon_vmas: Vec<AnonVmaState> = (0..parents.len())
        .map(|i| AnonVmaState {
            root: AvRef::Id(root_of(i) as u32),
            parent: AvRef::Id(parents[i] as u32),
            refcount: 1,
            num_children: 0,
            num_active_vmas: 0,
            degree: None,
            tree: Vec::new(),
        })
        .collect();
    for (i, &p) in parents.iter().enumerate() {
        anon_vmas[p].num_children += 1;
        if root_of(i) != i {
            anon_vmas[root_of(i)].refcount += 1;
        }
    }
    let mut mms: Vec<MmState> = Vec::new();
    for &(mm, start, own, chain) in vmas {
        let vma = VmaRef::InMm { mm, start };
        anon_vmas[own].num_active_vmas += 1;
        for (pos, &a) in chain.iter().enumerate() {
            anon_vmas[a].tree.push(TreeEntry {
                start: start >> 12,
                last: start >> 12,
                avc: AvcRef::OnChain {
                    vma,
                    pos: pos as u32,
                },
            });
        }
        let state = VmaState {
            start,
            end: start + 0x1000,
            pgoff: start >> 12,
            anon_pgoff: None,
            flags: 0,
            attached: true,
            anon_vma: AvRef::Id(own as u32),
            chain: chain
                .iter()
                .map(|&a| ChainEntry {
                    anon_vma: AvRef::Id(a as u32),
                    vma,
                })
                .collect(),
            chain_broken: false,
            mm_freed: false,
        };
        match mms.iter_mut().find(|m| m.id == mm) {
            Some(m) => m.vmas.push(state),
            None => mms.push(MmState {
                id: mm,
                vmas: vec![state],
                bad_entries: 0,
            }),
        }
    }
    Snapshot {
        live: LiveCounts {
            mm: mms.len() as u64,
            ..LiveCounts::default()
        },
        mms,
        anon_vmas,
        ..Snapshot::default()
    }
}

#[test]
fn sharing_and_closure_are_contracts() {
    // A fork child: its VMA links its own anon_vma and the parent's.
    let fine = built(&[0, 0], &[(0, 0x10000, 0, &[0]), (1, 0x10000, 1, &[1, 0])]);
    assert_eq!(check(&fine), vec![]);

    // The child's VMA lost the link to the parent's anon_vma.
    let open = built(&[0, 0], &[(0, 0x10000, 0, &[0]), (1, 0x10000, 1, &[1])]);
    assert_eq!(rules(&open), vec!["chain.ancestors"]);

    // Two processes use one anon_vma (the degree-era double reuse).
    let two_mms = built(&[0], &[(0, 0x10000, 0, &[0]), (1, 0x10000, 0, &[0])]);
    assert_eq!(rules(&two_mms), vec!["share.one_mm"]);

    // One process, one anon_vma, two different sets of links.
    let differ = built(
        &[0, 0, 0],
        &[(0, 0x10000, 1, &[1, 0]), (0, 0x20000, 1, &[1, 2, 0])],
    );
    assert_eq!(rules(&differ), vec!["share.same_links"]);
}

#[test]
fn every_rule_is_described() {
    for rule in ["counter.refcount", "rmap.complete", "chain.root", "leak"] {
        assert!(describe(rule).is_some(), "{rule}");
    }
}
