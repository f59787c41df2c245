//! A saved run (what `explore` tries every next step from) gives what the
//! runner gives when it runs the whole path again: the same failure, the
//! same final state, the same allocations, step after step from one saved
//! state. Paths: every prefix of each zoo variant's scenario (most of them
//! end in a failure) and of a few corpus scenarios; next steps: every
//! operation `explore` would try there, plain and with its allocations
//! failed; variants: the correct ones, the zoo, and a relaxed comparison.
//! The tries share what they judged (the contracts of a state seen before,
//! a pair of states compared before), as `explore`'s do.

use std::path::Path;

use rmapfuzz::check::runner::{run, Judged, RunOptions, RunResult};
use rmapfuzz::check::saved_run::SavedRun;
use rmapfuzz::engine::c::CEngine;
use rmapfuzz::engine::variant::{self, Mode, Reference, Variant};
use rmapfuzz::engine::Engine;
use rmapfuzz::language::op::{FailPlan, Step};
use rmapfuzz::language::parse::parse_scenario;
use rmapfuzz::language::scenario::Scenario;
use rmapfuzz::tools::explore::{candidate_ops, universe_for};

fn scenario(rel: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let text = std::fs::read_to_string(&path).expect("a corpus file");
    parse_scenario(&text, rel).expect("parses")
}

/// What must agree between the two ways of running.
fn summary(r: &RunResult) -> String {
    let failure = r.failure.as_ref().map(|f| {
        format!(
            "{} at {:?} on {:?}: {} [{:?} vs {:?}] acked {:?}",
            f.check, f.step, f.side, f.detail, f.c_value, f.oracle_value, f.acknowledged
        )
    });
    format!(
        "failure={failure:?}\nstate={:?}\nallocs={:?} desynced={:?} maple={:?}",
        r.final_state, r.allocs, r.desynced_at, r.maple_fired
    )
}

/// Tries every next step from every prefix of `s`'s steps on `v`; returns
/// (steps tried, how many failed).
fn agree_along(v: Variant, s: &Scenario) -> (usize, usize) {
    let (_, u) = universe_for(s);
    let mut tried = 0;
    let mut failed = 0;
    // Shared by every try, as explore shares it: what it leaves out
    // because it passed before must not change a result.
    let mut judged = Judged::default();
    for len in 0..s.steps.len() {
        let path = &s.steps[..len];
        let opts = RunOptions {
            check_from: len,
            keep_state: true,
            ..RunOptions::default()
        };
        let mut saved = match SavedRun::new(path, v, opts) {
            Ok(saved) => saved,
            Err(e) => panic!("{}: the path of {len} steps cannot be saved: {e:?}", v.name),
        };
        let mut c = CEngine::new(v.name).expect("variant");
        for st in path {
            c.apply(&st.op, st.fail);
        }
        let layout = c.layout();
        // The scenario's own next step first, then what explore tries.
        let mut nexts = vec![s.steps[len]];
        nexts.extend(
            candidate_ops(&layout, &u)
                .into_iter()
                .take(24)
                .map(Step::new),
        );
        for plain in nexts {
            let mut variants = vec![plain];
            for nth in 1..=3 {
                for and_later in [false, true] {
                    variants.push(Step {
                        fail: Some(FailPlan { nth, and_later }),
                        ..plain
                    });
                }
            }
            for next in variants {
                let got = saved.try_step(next, &mut judged, |_, _| true);
                let mut steps = path.to_vec();
                steps.push(next);
                let want = run(&Scenario::new(steps.clone()), v, opts);
                assert_eq!(
                    summary(&got),
                    summary(&want),
                    "{}: after {path:?}, the step {next:?}",
                    v.name
                );
                tried += 1;
                failed += usize::from(want.failure.is_some());
            }
        }
    }
    (tried, failed)
}

#[test]
fn saved_runs_agree_with_whole_runs_on_the_zoo() {
    let mut failed = 0;
    for &v in variant::all().iter().filter(|v| !v.correct) {
        let rel = format!("corpus/zoo/{}.txt", v.name);
        if !Path::new(env!("CARGO_MANIFEST_DIR")).join(&rel).exists() {
            continue; // a kernel tree's variant
        }
        let s = scenario(&rel);
        if s.race.is_some() {
            continue; // explore tries no race from a saved state
        }
        failed += agree_along(v, &s).1;
    }
    // Most zoo paths end in a failure: the comparison saw failures.
    assert!(failed > 50, "only {failed} failing steps compared");
}

#[test]
fn saved_runs_agree_with_whole_runs_on_correct_variants() {
    let corpus = [
        "corpus/fork-deep-chain-exits.txt",
        "corpus/cow-enomem.txt",
        "corpus/anon-pgoff-high-offsets.txt",
    ];
    let mainline = variant::find("mainline").expect("mainline");
    // Our post-series core against our pre-series one, in shape: an
    // injected step may part them (the reference then stops following).
    let relaxed = Variant {
        mode: Mode::Relaxed,
        reference: Reference::C("pre-series"),
        ..mainline
    };
    let mut tried = 0;
    for v in [
        mainline,
        variant::find("pre-series").expect("pre-series"),
        variant::find("anon-pgoff").expect("anon-pgoff"),
        relaxed,
    ] {
        for rel in corpus {
            let (n, failed) = agree_along(v, &scenario(rel));
            assert_eq!(failed, 0, "{} fails on {rel}", v.name);
            tried += n;
        }
    }
    assert!(tried > 1000, "{tried} steps");
}

/// A saved state belongs to its world: another world does not take it.
#[test]
fn a_saved_state_goes_back_only_to_its_own_world() {
    let mut a = CEngine::new("mainline").expect("mainline");
    let mut b = CEngine::new("mainline").expect("mainline");
    let saved = a.save().expect("a core's world can be saved");
    assert!(!b.restore(&saved));
    assert!(a.restore(&saved));
}
