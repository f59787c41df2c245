//! `rmapfuzz explain`: a scenario replayed one operation at a time on the C
//! side, with what each operation changed in the world, up to the first
//! failed check, which is shown with both sides' values and the rule it
//! enforces in words.

use std::fmt::Write as _;

use crate::check::invariants;
use crate::check::known::Known;
use crate::check::report::Failure;
use crate::check::runner::{reference_engine, run, RunOptions};
use crate::check::snapshot::{canonicalize, changes, Change, Snapshot};
use crate::engine::c::CEngine;
use crate::engine::variant::{Mode, Variant};
use crate::engine::{Engine, RaceRun};
use crate::language::race::Race;
use crate::language::scenario::Scenario;

/// What the explanation found.
#[derive(Clone, Debug)]
pub struct Explanation {
    pub text: String,
    pub failure: Option<Failure>,
}

fn world_lines(snap: &Snapshot, out: &mut String) {
    for line in snap.lines() {
        let _ = writeln!(out, "      {line}");
    }
}

/// The objects on which the two sides disagree, each side's line under the
/// other.
fn side_by_side(c: &Snapshot, theirs: &Snapshot, reference: &str, out: &mut String) {
    let differing: Vec<Change> = changes(theirs, c);
    if differing.is_empty() {
        let _ = writeln!(out, "\n    the {reference} holds the same state");
        return;
    }
    let _ = writeln!(out, "\n    where the C side and the {reference} differ:");
    let theirs_lines = theirs.lines();
    let c_lines = c.lines();
    let find = |lines: &[String], obj: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(obj) && l[obj.len()..].starts_with(' ') || l.as_str() == obj)
            .cloned()
            .unwrap_or_else(|| "(absent)".to_owned())
    };
    let width = reference.len().max(1) + 1;
    for ch in differing {
        let obj = match &ch {
            Change::Added(line) | Change::Removed(line) => {
                line.split(' ').take(2).collect::<Vec<_>>().join(" ")
            }
            Change::Changed(obj, _) => obj.clone(),
        };
        let _ = writeln!(out, "      {:<width$} {}", "C:", find(&c_lines, &obj));
        let _ = writeln!(
            out,
            "      {:<width$} {}",
            format!("{reference}:"),
            find(&theirs_lines, &obj)
        );
    }
}

/// A race step by step: which thread reached which switch point, and
/// where the scheduler switched threads and why.
fn interleaving(race: &Race, r: &RaceRun, out: &mut String) {
    for (i, b) in race.branches.iter().enumerate() {
        let _ = writeln!(out, "    T{i}: {b}  ->  {}", r.outcomes[i]);
    }
    let _ = writeln!(out, "    switch points ({} in all):", r.points);
    let mut last: Option<u32> = None;
    for (i, p) in r.trace.iter().enumerate() {
        let n = i as u32 + 1;
        if last.is_some_and(|t| t != p.thread) {
            let why = if r
                .taken
                .preemptions
                .iter()
                .any(|q| q.point + 1 == n || q.point == n - 1)
            {
                "preempted"
            } else {
                "the previous thread blocked or ended"
            };
            let _ = writeln!(out, "      --- T{} runs ({why})", p.thread);
        }
        last = Some(p.thread);
        let func = if p.func.is_empty() {
            String::new()
        } else {
            format!(" in {}", p.func)
        };
        let _ = writeln!(
            out,
            "      {n:>4} T{} {:<7} {}{func}",
            p.thread, p.kind, p.what
        );
    }
    if r.trace.len() < r.points as usize {
        let _ = writeln!(out, "      ... {} more", r.points as usize - r.trace.len());
    }
    if !r.taken.late.is_empty() {
        let held: Vec<String> = r.taken.late.iter().map(|l| l.to_string()).collect();
        let _ = writeln!(
            out,
            "    stores held back until their thread released: {}",
            held.join(" ")
        );
    }
    if !r.late_candidates.is_empty() {
        let worth: Vec<String> = r.late_candidates.iter().map(|l| l.to_string()).collect();
        let _ = writeln!(
            out,
            "    stores another thread read after a newer store of their thread (worth holding back): {}",
            worth.join(" ")
        );
    }
    if r.abandoned {
        let _ = writeln!(
            out,
            "    the race was stopped here: a check cannot let it go on"
        );
    }
}

/// The rule behind a failed check, in words.
pub fn rule_in_words(check: &str) -> String {
    if let Some(rule) = check.strip_prefix("invariant.") {
        return invariants::describe(rule)
            .unwrap_or("(unknown rule)")
            .to_owned();
    }
    match check {
        "outcome" => "both sides return the same result for the same operation".into(),
        "allocs" => "both sides make the same allocations in the same order (so fail=N means the same point)".into(),
        "state" => "after every operation both sides hold the same canonical state".into(),
        "shape" => "both sides map the same ranges and pages".into(),
        "rollback" => "an operation that fails with ENOMEM leaves the world as it found it".into(),
        "hygiene" => "no warning fires, no lock stays held, every interval tree is well formed".into(),
        "hygiene.lock" => "every access to state the kernel protects holds the lock the kernel requires (the family's root rwsem for trees and counters, the mmap lock for a VMA's links), locks are taken in the kernel's order, and none stays held".into(),
        "hygiene.warning" => "no VM_WARN_ON / WARN_ON / VM_BUG_ON of the code under test fires".into(),
        "hygiene.tree" => "every interval tree is well formed and filed under its VMAs' current keys".into(),
        "hygiene.write-after-free" => "nothing writes to a freed object".into(),
        "leak" => "once every process has exited, nothing is left allocated".into(),
        "hygiene.race" => "in a race, no thread uses an object another freed (a SLAB_TYPESAFE_BY_RCU anon_vma only inside an RCU read-side section), frees an object whose lock another holds, or waits in a cycle (deadlock)".into(),
        "schedule" => "every preemption a race's schedule names happens: the switch point exists and the thread it names can run there (a schedule written for other code is reported, not silently ignored)".into(),
        "serializability" => "a race ends as SOME order of its operations, run one at a time, would end: same state, same results (each walk returns what a walk at its place in that order returns)".into(),
        "oracle.panic" => "the oracle never panics (a panic is a bug in it, or a stale reference it caught)".into(),
        other => format!("check {other}"),
    }
}

/// Replays `s` on `v` and explains it (see the module docs); `known`
/// warnings are acknowledged, and shown at their operation.
pub fn explain(s: &Scenario, v: Variant, known: Known) -> Explanation {
    let result = run(
        s,
        v,
        RunOptions {
            known,
            ..RunOptions::default()
        },
    );
    let failure = result.failure;
    let acknowledged = result.acknowledged;
    let mut out = String::new();
    let _ = writeln!(out, "variant {v}: {}", v.verdict_basis());
    let Some(mut c) = CEngine::new(v.name) else {
        let _ = writeln!(out, "the C harness has no variant {}", v.name);
        return Explanation { text: out, failure };
    };
    // The reference follows step by step where it takes the same
    // injections (strict mode), so the two can be shown side by side.
    let mut reference = match v.mode {
        Mode::Strict => reference_engine(v).ok().flatten(),
        Mode::Relaxed => None,
    };
    let mut before = canonicalize(&c.snapshot());
    let _ = writeln!(out, "start: one empty process, mm 0");
    let stop = failure.as_ref().and_then(|f| f.step);
    for (i, step) in s.steps.iter().enumerate() {
        let maple_armed = step.maple.is_some_and(|n| c.fail_maple(n));
        let outcome = c.apply(&step.op, step.fail);
        let after = canonicalize(&c.snapshot());
        if maple_armed && outcome.maple_failed && reference.take().is_some() {
            let _ = writeln!(
                out,
                "\n(maple=N fired at #{}: nothing models a maple tree, so the reference stops here)",
                i + 1
            );
        }
        let theirs = reference.as_mut().and_then(|r| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                r.apply(&step.op, step.fail);
                canonicalize(&r.snapshot())
            }))
            .ok()
        });
        if theirs.is_none() {
            reference = None;
        }
        let _ = writeln!(out, "\n#{} {step}  ->  {outcome}", i + 1);
        let diff = changes(&before, &after);
        if diff.is_empty() {
            let _ = writeln!(out, "    (no change)");
        }
        for ch in diff {
            let _ = writeln!(out, "    {ch}");
        }
        for a in acknowledged.iter().filter(|a| a.step == Some(i)) {
            let _ = writeln!(out, "    known, acknowledged: {}", a.warning);
        }
        if stop == Some(i) {
            let _ = writeln!(out, "\n    world after #{}:", i + 1);
            world_lines(&after, &mut out);
            if let Some(theirs) = &theirs {
                side_by_side(&after, theirs, &v.reference.to_string(), &mut out);
            }
            break;
        }
        before = after;
    }
    if let (Some(race), true) = (&s.race, stop.is_none_or(|i| i >= s.steps.len())) {
        let _ = writeln!(out, "\n{race}");
        match c.race(race) {
            Some(r) => interleaving(race, &r, &mut out),
            None => {
                let _ = writeln!(out, "    (this variant cannot run races)");
            }
        }
    }
    match &failure {
        None => {
            let _ = writeln!(out, "\nevery check passed");
            if !acknowledged.is_empty() {
                let _ = writeln!(
                    out,
                    "({} known warning(s) acknowledged, not failures)",
                    acknowledged.len()
                );
            }
        }
        Some(f) => {
            let at = f
                .step
                .map_or("at teardown".to_owned(), |i| format!("at op #{}", i + 1));
            let _ = writeln!(out, "\nFIRST FAILURE {at}: check {}", f.check);
            let _ = writeln!(out, "rule: {}", rule_in_words(&f.check));
            for line in f.to_string().lines() {
                let _ = writeln!(out, "  {line}");
            }
        }
    }
    Explanation { text: out, failure }
}
