//! Canonical snapshots: names, text, differences and shapes.

use super::*;

fn raw_two_orders(swap: bool) -> RawSnapshot {
    // One VMA linked to two anon_vmas; the raw lists are in either order.
    let (a, b) = if swap { (1, 0) } else { (0, 1) };
    let mut anon_vmas = vec![
        RawAnonVma {
            root: RawRef::Index(0),
            parent: RawRef::Index(0),
            refcount: 2,
            num_children: 2,
            num_active_vmas: 0,
            degree: None,
            tree: smallvec::smallvec![RawTreeNode {
                avc: RawRef::Index(1),
                start: 16,
                last: 16,
            }],
        },
        RawAnonVma {
            root: RawRef::Index(0),
            parent: RawRef::Index(0),
            refcount: 1,
            num_children: 0,
            num_active_vmas: 1,
            degree: None,
            tree: smallvec::smallvec![RawTreeNode {
                avc: RawRef::Index(0),
                start: 16,
                last: 16,
            }],
        },
    ];
    if swap {
        anon_vmas.swap(0, 1);
        for av in &mut anon_vmas {
            av.root = RawRef::Index(a);
            av.parent = RawRef::Index(a);
        }
    }
    RawSnapshot {
        mms: vec![RawMm {
            id: 0,
            vmas: smallvec::smallvec![0],
            bad_entries: 0,
        }],
        vmas: vec![RawVma {
            mm: Ok(0),
            start: 0x10000,
            end: 0x11000,
            pgoff: 16,
            anon_pgoff: None,
            flags: 0,
            attached: true,
            anon_vma: RawRef::Index(b),
            chain: smallvec::smallvec![RawRef::Index(0), RawRef::Index(1)],
            chain_broken: false,
        }],
        avcs: vec![
            RawAvc {
                vma: RawRef::Index(0),
                anon_vma: RawRef::Index(b),
            },
            RawAvc {
                vma: RawRef::Index(0),
                anon_vma: RawRef::Index(a),
            },
        ],
        anon_vmas,
        pages: vec![],
        live: LiveCounts {
            mm: 1,
            vma: 1,
            anon_vma: 2,
            avc: 2,
            page: 0,
        },
    }
}

#[test]
fn canonical_names_do_not_depend_on_allocation_order() {
    let x = canonicalize(&raw_two_orders(false));
    let y = canonicalize(&raw_two_orders(true));
    assert_eq!(x, y);
    assert_eq!(x.mms[0].vmas[0].anon_vma, AvRef::Id(0));
    assert_eq!(x.anon_vmas[0].num_active_vmas, 1);
}

#[test]
fn first_difference_names_object_and_field() {
    let x = canonicalize(&raw_two_orders(false));
    let mut raw = raw_two_orders(false);
    raw.anon_vmas[1].num_active_vmas = 2;
    let y = canonicalize(&raw);
    let d = first_difference(&x, &y).unwrap();
    assert_eq!(d.object, "anon_vma av0");
    assert_eq!(d.field.as_deref(), Some("num_active_vmas"));
    assert_eq!(
        (d.left.as_deref(), d.right.as_deref()),
        (Some("1"), Some("2"))
    );
    assert!(first_difference(&x, &x).is_none());
}

/// A state is the one before only when an engine reported it exactly so:
/// renamed alike is not enough, and a state given named is never.
#[test]
fn same_report_means_reported_alike() {
    let a = State::new(raw_two_orders(false));
    assert!(a.same_report(&State::new(raw_two_orders(false))));
    // Another order of the same objects: the same canonical state, but
    // not the same report.
    let b = State::new(raw_two_orders(true));
    assert_eq!(a.canonical(), b.canonical());
    assert!(!a.same_report(&b));
    let named = State::named(canonicalize(&raw_two_orders(false)));
    assert!(!named.same_report(&a) && !a.same_report(&named));
    // Empty reports are alike; a named empty state is still not.
    let empty = State::new(RawSnapshot::default());
    assert!(empty.same_report(&State::new(RawSnapshot::default())));
    assert!(!empty.same_report(&State::named(canonicalize(&RawSnapshot::default()))));
}
