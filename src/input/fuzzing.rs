//! The harness functions behind every fuzz target. libFuzzer (`fuzz/`),
//! AFL++ (`fuzz/afl/`) and `cargo test` all call these, so a crash found by
//! one replays in the others. Each panics with the full report when a check
//! fails; the `check_*` forms return it instead.
//!
//! The variant under test comes from `RMAPFUZZ_VARIANT` (default
//! `mainline`, or `kernel` in a build that carries a kernel tree), and what
//! it is compared with from `RMAPFUZZ_REFERENCE` (default: the variant's
//! own reference; `none` judges it by contracts, locks and hygiene alone).
//! `RMAPFUZZ_KNOWN_WARNINGS=FILE` (an absolute path; `scripts/fuzz
//! --known-warnings FILE` sets it) acknowledges the tree's known warnings
//! (`crate::check::known`): they no longer crash the target, and the
//! running count is printed on stderr at the 1st, 10th, 100th, ... one.
//! `RMAPFUZZ_STATS=FILE` records the executions over time
//! ([`crate::input::executions`]).

use std::path::Path;
use std::sync::OnceLock;

use crate::check::known::{Known, KnownWarnings};

use crate::check::report::Failure;
use crate::check::runner::{run, Checks, RunOptions, RunResult};
use crate::check::sweep::sweep_step;
use crate::engine::variant::{self, Variant};
use crate::input::encoding::decode;
use crate::input::executions;
use crate::input::state_features::features;
use crate::language::parse::parse_scenario;
use crate::language::scenario::Scenario;

/// The variant named by `RMAPFUZZ_VARIANT`, read once.
pub fn variant() -> Variant {
    static VARIANT: OnceLock<Variant> = OnceLock::new();
    *VARIANT.get_or_init(|| {
        let name = std::env::var("RMAPFUZZ_VARIANT")
            .unwrap_or_else(|_| variant::default_variant().to_owned());
        variant::find(&name).unwrap_or_else(|e| panic!("RMAPFUZZ_VARIANT: {e}"))
    })
}

/// The known warnings of the file `RMAPFUZZ_KNOWN_WARNINGS` names, read
/// once; `None` when it is unset or empty. A file that does not parse
/// stops the target with the file, line and reason.
pub fn known_warnings() -> Known {
    static KNOWN: OnceLock<Option<KnownWarnings>> = OnceLock::new();
    KNOWN
        .get_or_init(|| {
            let path = std::env::var_os("RMAPFUZZ_KNOWN_WARNINGS").filter(|p| !p.is_empty())?;
            let k = KnownWarnings::load(Path::new(&path))
                .unwrap_or_else(|e| panic!("RMAPFUZZ_KNOWN_WARNINGS: {e}"));
            eprintln!(
                "rmapfuzz: acknowledging known warnings: {} ({} pattern(s)); every other problem still fails",
                k.origin(),
                k.patterns().len()
            );
            Some(k)
        })
        .as_ref()
}

/// Runs `f`, then says on stderr how many known warnings have been
/// acknowledged so far when that count reaches 1, 10, 100, ...: a campaign
/// that goes past them says so.
fn noting_acknowledged<T>(known: Known, f: impl FnOnce() -> T) -> T {
    let Some(k) = known else {
        return f();
    };
    let before = k.total();
    let out = f();
    let after = k.total();
    let mut mark = 1usize;
    while mark <= after {
        if mark > before {
            eprintln!("rmapfuzz: {}", k.summary());
            break;
        }
        mark = mark.saturating_mul(10);
    }
    out
}

/// A failure with the scenario that caused it, as a crash report.
fn report(f: &Failure, s: &Scenario) -> String {
    format!("{f}\n--- scenario (rmapfuzz text format) ---\n{s}")
}

/// Fuzz runs check states once, after the last operation; a failure is
/// run again with every check, so the report is `replay`'s. The final
/// state is kept for its features; `known` warnings are acknowledged.
fn fuzz_run(known: Known) -> RunOptions {
    RunOptions {
        checks: Checks::Final,
        check_from: 0,
        keep_state: true,
        known,
        loose_schedules: true,
    }
}

/// A run that passed: mark the features of the world it built for
/// libFuzzer (see [`crate::input::state_features`]).
fn mark_features(result: &RunResult) {
    if let Some(snap) = &result.final_state {
        features(snap, rmap_ffi::extra_counters::mark);
    }
}

/// `diff`: decode, then run the variant against the oracle.
pub fn check_diff(data: &[u8], v: Variant, known: Known) -> Result<(), String> {
    let s = decode(data);
    let result = run(&s, v, fuzz_run(known));
    match &result.failure {
        None => {
            mark_features(&result);
            Ok(())
        }
        Some(f) => Err(report(f, f.scenario.as_ref().unwrap_or(&s))),
    }
}

/// `sweep`: decode, run, then inject every allocation failure into the
/// last step.
pub fn check_sweep(data: &[u8], v: Variant, known: Known) -> Result<(), String> {
    let s = decode(data);
    let result = run(&s, v, fuzz_run(known));
    if let Some(f) = &result.failure {
        return Err(report(f, f.scenario.as_ref().unwrap_or(&s)));
    }
    mark_features(&result);
    let Some(last) = s.steps.len().checked_sub(1) else {
        return Ok(());
    };
    sweep_step(&s, v, last, known).map(|_| ()).map_err(|f| {
        let failing = f.scenario.clone().unwrap_or_else(|| s.clone());
        report(&f, &failing)
    })
}

/// `parse`: the text parser returns errors, never panics, and what it
/// accepts prints back to the same scenario.
pub fn check_parse(data: &[u8]) -> Result<(), String> {
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(());
    };
    let Ok(s) = parse_scenario(text, "<fuzz>") else {
        return Ok(());
    };
    match parse_scenario(&s.to_string(), "<printed>") {
        Ok(again) if again == s => Ok(()),
        Ok(again) => Err(format!(
            "print/parse changed the scenario:\n{s}\n---\n{again}"
        )),
        Err(e) => Err(format!("a printed scenario does not parse: {e}\n{s}")),
    }
}

fn crash_on(result: Result<(), String>) {
    if let Err(report) = result {
        eprintln!("{report}");
        panic!("rmapfuzz: a check failed (report above)");
    }
}

pub fn diff(data: &[u8]) {
    executions::count();
    let known = known_warnings();
    crash_on(noting_acknowledged(known, || {
        check_diff(data, variant(), known)
    }));
}

pub fn sweep(data: &[u8]) {
    executions::count();
    let known = known_warnings();
    crash_on(noting_acknowledged(known, || {
        check_sweep(data, variant(), known)
    }));
}

pub fn parse(data: &[u8]) {
    crash_on(check_parse(data));
}
