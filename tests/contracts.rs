//! The contracts read a raw report as it is (`invariants::holds`, the
//! verdict of every checked step) and give the verdict of its canonical
//! form (`invariants::check`, which words a report): on every state the
//! hand-written corpus reaches on every variant, correct and zoo, on both
//! engines, and on each of those reports broken in one place.

mod common;

use std::collections::BTreeMap;

use rmapfuzz::check::invariants::{check, check_as_reported, holds, Violation};
use rmapfuzz::check::snapshot::canonicalize;
use rmapfuzz::engine::variant;
use rmapfuzz::engine::Engine;

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
