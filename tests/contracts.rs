//! The contracts read a raw report as it is (`invariants::holds`, the
//! verdict of every checked step) and give the verdict of its canonical
//! form (`invariants::check`, which words a report): on every state the
//! hand-written corpus reaches on every variant, correct and zoo, on both
//! engines, and on each of those reports broken in one place.

mod common;

use std::collections::BTreeMap;

use rmapfuzz::check::invariants::{
    check, check_as_reported, holds, holds_named, holds_where_changed, Violation,
};
use rmapfuzz::check::snapshot::{canonicalize, sort_tree, RawSnapshot};
use rmapfuzz::engine::c::CEngine;
use rmapfuzz::engine::variant;
use rmapfuzz::engine::{Before, Changes, Engine};

/// How many times each rule is broken.
fn rules(violations: &[Violation]) -> BTreeMap<&'static str, usize> {
    let mut out = BTreeMap::new();
    for v in violations {
        *out.entry(v.rule).or_default() += 1;
    }
    out
}

#[test]
fn the_contracts_judge_a_report_as_its_canonical_form() {
    let (mut states, mut apart, mut failing) = (0, 0, 0);
    let mut fired: BTreeMap<&'static str, usize> = BTreeMap::new();
    let variants = variant::all().iter().copied();
    common::each_corpus_state(variants, |at, c, o| {
        let (rc, ro) = (c.snapshot(), o.snapshot());
        for (side, raw) in [("C", &rc), ("oracle", &ro)] {
            let mut cases = vec![("as reported", raw.clone())];
            cases.extend(common::broken(raw));
            for (how, r) in cases {
                let named = check(&canonicalize(&r));
                assert_eq!(
                    holds(&r),
                    named.is_empty(),
                    "{at} ({side}, {how}): the verdict as reported is not the canonical one: {named:?}"
                );
                if let Some(reported) = check_as_reported(&r) {
                    assert_eq!(
                        rules(&reported),
                        rules(&named),
                        "{at} ({side}, {how}): other rules broken as reported"
                    );
                    apart += 1;
                }
                states += 1;
                failing += usize::from(!named.is_empty());
                for (rule, _) in rules(&named) {
                    *fired.entry(rule).or_default() += 1;
                }
            }
        }
        true
    });
    // Not vacuous: most reports are judged as they are, many break rules,
    // and every rule is broken somewhere.
    assert!(states > 50_000, "only {states} reports");
    assert!(
        apart * 10 > states * 8,
        "only {apart} of {states} named apart"
    );
    assert!(
        failing * 2 > states,
        "only {failing} of {states} break a rule"
    );
    let unbroken: Vec<&str> = rmapfuzz::check::invariants::RULES
        .iter()
        .map(|(r, _)| *r)
        .filter(|r| !fired.contains_key(r))
        .collect();
    assert!(unbroken.is_empty(), "never broken: {unbroken:?}");
}

/// The changes that make `new` of `old`, where both hold the same objects
/// (a report broken in place): each record that differs, with the one it
/// replaced.
fn changes_between(old: &RawSnapshot, new: &RawSnapshot) -> Option<Changes> {
    let same_objects = old.vmas.len() == new.vmas.len()
        && old.avcs.len() == new.avcs.len()
        && old.anon_vmas.len() == new.anon_vmas.len()
        && old.pages.len() == new.pages.len()
        && old
            .mms
            .iter()
            .map(|m| m.id)
            .eq(new.mms.iter().map(|m| m.id));
    if !same_objects {
        return None;
    }
    fn differ<T: PartialEq + Clone>(
        old: &[T],
        new: &[T],
        was: &mut Vec<(Option<usize>, T)>,
    ) -> Vec<usize> {
        let at: Vec<usize> = (0..new.len()).filter(|&i| old[i] != new[i]).collect();
        was.extend(at.iter().map(|&i| (Some(i), old[i].clone())));
        at
    }
    let mut before = Before {
        made_from: [
            old.vmas.len(),
            old.avcs.len(),
            old.anon_vmas.len(),
            old.pages.len(),
        ],
        ..Before::default()
    };
    let records = [
        differ(&old.vmas, &new.vmas, &mut before.vmas),
        differ(&old.avcs, &new.avcs, &mut before.avcs),
        differ(&old.anon_vmas, &new.anon_vmas, &mut before.anon_vmas),
        differ(&old.pages, &new.pages, &mut Vec::new()),
    ];
    let mms: Vec<u32> = old
        .mms
        .iter()
        .zip(&new.mms)
        .filter(|(o, n)| o != n)
        .map(|(o, _)| o.id)
        .collect();
    before.mms = old
        .mms
        .iter()
        .filter(|m| mms.contains(&m.id))
        .cloned()
        .collect();
    Some(Changes {
        records,
        mms,
        before: Some(before),
        ..Changes::default()
    })
}

/// Read where it changed, a report broken in place gives the verdict read
/// whole, wherever the change is one that reading follows; and it follows
/// most, catching each way of breaking a report somewhere.
#[test]
fn a_report_broken_in_place_is_judged_where_it_changed_as_whole() {
    let (mut judged, mut caught) = (0, 0);
    let mut ways: BTreeMap<&'static str, (usize, usize)> = BTreeMap::new();
    let variants = variant::all().iter().copied();
    common::each_corpus_state(variants, |at, c, o| {
        for raw in [c.snapshot(), o.snapshot()] {
            if holds_named(&raw) != (true, true) {
                return false;
            }
            let unchanged = changes_between(&raw, &raw).expect("the same objects");
            assert_eq!(
                holds_where_changed(&raw, &unchanged),
                Some(true),
                "{at}: nothing changed"
            );
            for (how, mut r) in common::broken(&raw) {
                // (As every engine reports a tree: in key order.)
                r.anon_vmas.iter_mut().for_each(|a| sort_tree(&mut a.tree));
                let Some(ch) = changes_between(&raw, &r) else {
                    continue;
                };
                let way = ways.entry(how).or_default();
                way.0 += 1;
                if let Some(verdict) = holds_where_changed(&r, &ch) {
                    assert_eq!(
                        verdict,
                        holds(&r),
                        "{at} ({how}): where changed against whole"
                    );
                    judged += 1;
                    caught += usize::from(!verdict);
                    way.1 += usize::from(!verdict);
                }
            }
        }
        true
    });
    eprintln!("{caught} of {judged} judged where changed broke a rule");
    assert!(
        judged > 20_000 && caught * 2 > judged,
        "{caught} of {judged} judged where changed broke a rule"
    );
    // Each way of breaking a report in place is caught so somewhere, but
    // those the reading does not follow by design (a link kept for life,
    // a VMA on another process's list, the kind of counter): those are
    // judged whole.
    let not_followed = [
        "a VMA listed twice",
        "a degree off",
        "a detached VMA's mm freed",
        "a parent another",
        "a root freed",
        "an AVC's VMA another",
        "an AVC's anon_vma freed",
        "counters as a degree",
    ];
    let missed: Vec<_> = ways
        .iter()
        .filter(|(_, (n, c))| *n > 0 && *c == 0)
        .map(|(how, _)| *how)
        .collect();
    assert_eq!(missed, not_followed, "never caught where changed");
}

/// On every variant, correct and zoo, each report a C world patched from
/// the one before (`Changes` with the records it replaced) gets, read
/// where it changed, the verdict it gets read whole; and most are read so.
#[test]
fn the_c_sides_reports_are_judged_where_they_changed_as_whole() {
    let (mut judged, mut broke, mut whole) = (0, 0, 0);
    for v in variant::all().iter().copied() {
        for (file, s) in common::hand_written_corpus() {
            let Some(mut c) = CEngine::new(v.name) else {
                continue;
            };
            c.patch_always();
            let mut apart_before = false;
            for (i, step) in s.steps.iter().enumerate() {
                c.apply(&step.op, step.fail);
                let raw = c.snapshot();
                let (held, apart) = holds_named(&raw);
                match c
                    .changes()
                    .filter(|_| apart_before)
                    .and_then(|ch| holds_where_changed(&raw, &ch))
                {
                    Some(verdict) => {
                        assert_eq!(
                            verdict,
                            held,
                            "{file} on {v}, step {}: where changed against whole",
                            i + 1
                        );
                        judged += 1;
                        broke += usize::from(!verdict);
                    }
                    None => whole += 1,
                }
                if !held {
                    break;
                }
                apart_before = apart;
                c.recycle(raw);
            }
        }
    }
    eprintln!("{judged} judged where changed ({broke} broke a rule), {whole} whole");
    assert!(
        judged > 5_000 && judged > whole && broke > 15,
        "{judged} judged where changed ({broke} broke a rule), {whole} whole"
    );
}
