//! The harness functions behind every fuzz target. libFuzzer (`fuzz/`),
//! AFL++ (`fuzz/afl/`) and `cargo test` all call these, so a crash found by
//! one replays in the others. Each panics with the full report when a check
//! fails; the `check_*` forms return it instead.
//!
//! The variant under test comes from `RMAPFUZZ_VARIANT` (default
//! `mainline`, or `kernel` in a build that carries a kernel tree), and what
//! it is compared with from `RMAPFUZZ_REFERENCE` (default: the variant's
//! own reference; `none` judges it by contracts, locks and hygiene alone).

use std::sync::OnceLock;

use crate::check::report::Failure;
use crate::check::runner::{run, Checks, RunOptions, RunResult};
use crate::check::sweep::sweep_step;
use crate::engine::variant::{self, Variant};
use crate::input::encoding::decode;
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

/// A failure with the scenario that caused it, as a crash report.
fn report(f: &Failure, s: &Scenario) -> String {
    format!("{f}\n--- scenario (rmapfuzz text format) ---\n{s}")
}

/// Fuzz runs check states once, after the last operation; a failure is
/// run again with every check, so the report is `replay`'s. The final
/// state is kept for its features.
const FUZZ_RUN: RunOptions = RunOptions {
    checks: Checks::Final,
    check_from: 0,
    keep_state: true,
};

/// A run that passed: mark the features of the world it built for
/// libFuzzer (see [`crate::input::state_features`]).
fn mark_features(result: &RunResult) {
    if let Some(snap) = &result.final_state {
        features(snap, rmap_ffi::extra_counters::mark);
    }
}

/// `diff`: decode, then run the variant against the oracle.
pub fn check_diff(data: &[u8], v: Variant) -> Result<(), String> {
    let s = decode(data);
    let result = run(&s, v, FUZZ_RUN);
    match &result.failure {
        None => {
            mark_features(&result);
            Ok(())
        }
        Some(f) => Err(report(f, &s)),
    }
}

/// `sweep`: decode, run, then inject every allocation failure into the
/// last step.
pub fn check_sweep(data: &[u8], v: Variant) -> Result<(), String> {
    let s = decode(data);
    let result = run(&s, v, FUZZ_RUN);
    if let Some(f) = &result.failure {
        return Err(report(f, &s));
    }
    mark_features(&result);
    let Some(last) = s.steps.len().checked_sub(1) else {
        return Ok(());
    };
    sweep_step(&s, v, last).map(|_| ()).map_err(|f| {
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
    crash_on(check_diff(data, variant()));
}

pub fn sweep(data: &[u8]) {
    crash_on(check_sweep(data, variant()));
}

pub fn parse(data: &[u8]) {
    crash_on(check_parse(data));
}
