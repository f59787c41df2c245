//! `rmapfuzz replay`: every scenario on every variant its header names.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use rmapfuzz::check::runner::{run, RunOptions};
use rmapfuzz::engine::variant::{self, Variant};
use rmapfuzz::language::expect::expectation;
use rmapfuzz::language::scenario::Scenario;

use super::*;

/// Whether replay lists where `v` behaves differently from its reference
/// beyond what the comparison judges: for a tree compared with a base tree
/// of another generation, "what did my patch change" is the question.
pub fn lists_differences(v: Variant) -> bool {
    v.mode == variant::Mode::Relaxed
        && v.reference == variant::Reference::C(variant::KERNEL_BASE_VARIANT)
}

/// The first strict difference of `s` on `v` and its reference, printed
/// as information (it does not fail the replay); `known` warnings are not
/// differences.
pub fn show_difference(path: &Path, s: &Scenario, v: Variant, known: Known) -> bool {
    let strict = Variant {
        mode: variant::Mode::Strict,
        ..v
    };
    let opts = RunOptions {
        known,
        ..RunOptions::default()
    };
    let Some(f) = run(s, strict, opts).failure else {
        return false;
    };
    let at = match (f.step, &f.op) {
        (Some(i), Some(op)) => format!("op #{} `{op}`", i + 1),
        _ => "teardown".to_owned(),
    };
    println!(
        "differ {} [{v}]: {at}: {} ({}), beyond shape",
        path.display(),
        f.check,
        f.detail.lines().next().unwrap_or("")
    );
    if let (Some(c), Some(o)) = (&f.c_value, &f.oracle_value) {
        println!("    {:<12} {c}", variant::KERNEL_VARIANT);
        println!("    {:<12} {o}", variant::KERNEL_BASE_VARIANT);
    }
    true
}

pub fn replay(
    paths: &[PathBuf],
    variant: Option<&str>,
    known: Known,
) -> Result<ExitCode, InputError> {
    let mut tally = Tally::default();
    let mut differ = 0usize;
    let loaded = load(paths, variant)?;
    announce(loaded.iter().flat_map(|l| &l.2));
    announce_known(known);
    for (path, s, variants) in loaded {
        rmapfuzz::check::watchdog::set_context(path.display().to_string());
        for v in variants {
            let Some(expect) = expectation(&s, v) else {
                tally.skipped += 1;
                println!(
                    "skip  {} [{v}]: the header says nothing about this variant",
                    path.display()
                );
                continue;
            };
            if s.race.is_some() && !v.can_race() {
                tally.skipped += 1;
                println!(
                    "skip  {} [{v}]: a race, and this variant's world cannot run races",
                    path.display()
                );
                continue;
            }
            let result = run(
                &s,
                v,
                RunOptions {
                    known,
                    ..RunOptions::default()
                },
            );
            let mut note = result
                .desynced_at
                .map(|i| format!(" (reference out of step after op #{})", i + 1))
                .unwrap_or_default();
            note += &acknowledged_note(result.acknowledged.len());
            tally.record(&path, v, &expect, result.failure.as_ref(), &note);
            if result.failure.is_none()
                && lists_differences(v)
                && show_difference(&path, &s, v, known)
            {
                differ += 1;
            }
        }
    }
    summarize_known(known);
    if differ > 0 {
        println!(
            "{differ} scenario(s) behave differently on the two trees beyond shape (not failures: \
             the comparison leaves that out between generations)"
        );
    }
    Ok(tally.finish("replay"))
}
