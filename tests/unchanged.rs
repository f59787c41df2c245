//! `Engine::unchanged_since`, the cheap check a search makes after each
//! try instead of a snapshot, on both engines of every correct variant
//! that can save its world: from every state the hand-written corpus
//! reaches whose references all name live objects, every operation the
//! search would try there (plain, and its first allocations failed) is
//! applied, and wherever the engine says the world is unchanged its
//! snapshot must be the saved state's. The check must also fire for at
//! least three in four of the tries that leave the state as it was, or a
//! search gains little. And where the world is unchanged, the hygiene
//! audit of its interval trees still reports what the saved world had.

mod common;

use rmapfuzz::check::snapshot::canonicalize;
use rmapfuzz::engine::c::CEngine;
use rmapfuzz::engine::oracle::OracleEngine;
use rmapfuzz::engine::variant::{self, Variant};
use rmapfuzz::engine::{Engine, Saved};
use rmapfuzz::language::op::{FailPlan, Step};
use rmapfuzz::language::parse::parse_scenario;
use rmapfuzz::tools::explore::{candidate_ops, Universe};

/// How often one engine said "unchanged", and how often it could have.
#[derive(Default)]
struct Tally {
    said: usize,
    could: usize,
}

impl Tally {
    /// One try, after which the engine said (`said`) its state is still
    /// `before`; it is `now`.
    fn count<T: PartialEq + std::fmt::Debug>(
        &mut self,
        said: bool,
        now: &T,
        before: &T,
        where_: &str,
    ) {
        if said {
            assert_eq!(
                now, before,
                "{where_}: said unchanged, but the state changed"
            );
            self.said += 1;
        }
        if now == before {
            self.could += 1;
        }
    }

    /// Both sides' tallies: enough unchanged tries, and the engines said
    /// so for at least `share` of them.
    fn check(both: [&Tally; 2], what: &str, share: f64) {
        for (side, t) in ["C", "oracle"].into_iter().zip(both) {
            eprintln!(
                "{side}: {what} after {} of {} tries that left the state as it was",
                t.said, t.could
            );
            assert!(t.could > 10_000, "{side}: only {} unchanged tries", t.could);
            assert!(
                t.said as f64 >= t.could as f64 * share,
                "{side}: {what} after only {} of {} tries",
                t.said,
                t.could
            );
        }
    }
}

/// From every state the hand-written corpus reaches on `variants` that
/// `from` takes (returning what it keeps of it), every operation a search
/// would try there, plain and with each of its first three allocations
/// failed: each is applied to both engines, watched, handed to `after`
/// with the two worlds as saved before it and where it is, and undone. A state neither engine can save ends
/// its scenario.
fn each_try<S>(
    variants: impl IntoIterator<Item = Variant>,
    mut from: impl FnMut(&mut CEngine, &mut OracleEngine) -> Option<S>,
    mut after: impl FnMut(&mut CEngine, &mut OracleEngine, &(Saved, Saved), &S, &str),
) {
    common::each_corpus_state(variants, |at, c, o| {
        let saved = match (c.save(), o.save()) {
            (Some(saved_c), Some(saved_o)) => (saved_c, saved_o),
            _ => return false,
        };
        let Some(kept) = from(c, o) else {
            return true;
        };
        for op in candidate_ops(&c.layout(), &Universe::default()) {
            let plain = Step::new(op);
            let fails = (1..=3).map(|nth| Step {
                fail: Some(FailPlan {
                    nth,
                    and_later: false,
                }),
                ..plain
            });
            for t in std::iter::once(plain).chain(fails) {
                c.watch_writes();
                o.watch_writes();
                c.apply(&t.op, t.fail);
                o.apply(&t.op, t.fail);
                after(c, o, &saved, &kept, &format!("{at}, then {t}"));
                assert!(c.restore(&saved.0) && o.restore(&saved.1));
            }
        }
        true
    });
}

#[test]
fn an_unchanged_world_has_the_saved_state() {
    let (mut c_tally, mut o_tally) = (Tally::default(), Tally::default());
    let mut skipped = 0;
    each_try(
        variant::correct(),
        |c, o| {
            let before = (canonicalize(&c.snapshot()), canonicalize(&o.snapshot()));
            let live = before.0.refers_only_to_live() && before.1.refers_only_to_live();
            skipped += usize::from(!live);
            live.then_some(before)
        },
        |c, o, (saved_c, saved_o), (before_c, before_o), at| {
            let said = c.unchanged_since(saved_c);
            c_tally.count(
                said,
                &canonicalize(&c.snapshot()),
                before_c,
                &format!("{at} (C)"),
            );
            let said = o.unchanged_since(saved_o);
            o_tally.count(
                said,
                &canonicalize(&o.snapshot()),
                before_o,
                &format!("{at} (oracle)"),
            );
        },
    );
    Tally::check([&c_tally, &o_tally], "said unchanged", 0.75);
    // Worlds with freed or foreign references are left to snapshots.
    eprintln!("{skipped} states skipped (a reference to no live object)");
}

/// `Engine::wrote_nothing`, which a run checked at every step asks after
/// each step before it takes any snapshot: from every state the
/// hand-written corpus reaches on every correct and zoo variant, every
/// operation a search would try there (plain, and its first allocations
/// failed) is applied, and wherever an engine says it wrote nothing its
/// snapshot must be, object for object, the one before. This is what
/// proves that the machinery notes each of its writes (the code under
/// test's stores are hooked): a write it forgot fails here. The check
/// must also fire for most tries that leave the state as it was.
#[test]
fn a_world_that_wrote_nothing_has_the_state_before() {
    let (mut c_tally, mut o_tally) = (Tally::default(), Tally::default());
    each_try(
        variant::all().iter().copied(),
        |c, o| Some((c.snapshot(), o.snapshot())),
        |c, o, _, (before_c, before_o), at| {
            let said = c.wrote_nothing();
            c_tally.count(said, &c.snapshot(), before_c, &format!("{at} (C)"));
            let said = o.wrote_nothing();
            o_tally.count(said, &o.snapshot(), before_o, &format!("{at} (oracle)"));
        },
    );
    Tally::check([&c_tally, &o_tally], "wrote nothing", 0.5);
}

/// The C side skips its interval-tree audit after a try that left the world
/// as saved, only when the saved world's trees passed it. `stale-pgoff`
/// leaves an AVC filed under its VMA's old range: the audit must report it
/// after every unchanged try, as before the save.
#[test]
fn a_tree_broken_before_the_save_is_reported_after_unchanged_tries() {
    let text = std::fs::read_to_string("corpus/zoo/stale-pgoff.txt").expect("the zoo's scenario");
    let s = parse_scenario(&text, "corpus/zoo/stale-pgoff.txt").expect("it parses");
    let mut c = CEngine::new("stale-pgoff").expect("a zoo variant");
    for step in &s.steps {
        c.apply(&step.op, step.fail);
    }
    let stale = |problems: &[String]| problems.iter().any(|p| p.contains("is filed under pgoff"));
    assert!(stale(&c.hygiene()), "the audit sees the stale key");
    let saved = c.save().expect("a C world saves");
    let mut unchanged = 0;
    for op in candidate_ops(&c.layout(), &Universe::default()) {
        for fail in [
            None,
            Some(FailPlan {
                nth: 1,
                and_later: true,
            }),
        ] {
            c.apply(&op, fail);
            if c.unchanged_since(&saved) {
                unchanged += 1;
                let problems = c.hygiene();
                assert!(
                    stale(&problems),
                    "after {op} ({fail:?}), unchanged: {problems:?}"
                );
            }
            assert!(c.restore(&saved));
        }
    }
    assert!(
        unchanged > 10,
        "only {unchanged} tries left the world unchanged"
    );
    assert!(stale(&c.hygiene()), "after the last restore");
}
