//! Systematic fault injection: every allocation of every operation of a
//! scenario, failed once (`fail=N`) and failed for good (`fail=N+`); and
//! where the variant has a maple tree (`kernel-vma`), every maple-tree
//! preallocation of every operation (`maple=N`). A race's branches are
//! swept too, each under the default schedule (a schedule is written for
//! one run; an injected failure makes another), and the steps before the
//! race without it.

use crate::check::known::Known;
use crate::check::report::Failure;
use crate::check::runner::{run, RunOptions, RunResult};
use crate::engine::variant::Variant;
use crate::language::op::{FailPlan, Step};
use crate::language::race::Schedule;
use crate::language::scenario::Scenario;

/// How much a sweep did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepStats {
    /// Scenario runs, the plain one included.
    pub runs: usize,
    /// (step, fail plan) pairs that reached their allocation.
    pub injections: usize,
}

/// Guards against an operation that never stops allocating.
const MAX_NTH: u32 = 4096;

/// Replays `scenario` on `variant` with the plain run first, then, for each
/// step in turn, `fail=1, 2, ...` and `fail=1+, 2+, ...` until the step no
/// longer reaches the N-th allocation. Stops at the first failure, which
/// carries the exact scenario that produced it. Every run acknowledges
/// `known` warnings.
pub fn sweep(
    scenario: &Scenario,
    variant: Variant,
    known: Known,
) -> Result<SweepStats, Box<Failure>> {
    let mut stats = SweepStats::default();
    // A world that cannot race sweeps what comes before the race.
    let mut runnable = scenario.clone();
    if !variant.can_race() {
        runnable.race = None;
    }
    let plain = run(
        &runnable,
        variant,
        RunOptions {
            known,
            ..RunOptions::default()
        },
    );
    stats.runs += 1;
    if let Some(f) = plain.failure {
        return Err(Box::new(f));
    }
    let steps_only = Scenario {
        race: None,
        ..runnable.clone()
    };
    for i in 0..scenario.steps.len() {
        let step = sweep_step(&steps_only, variant, i, known)?;
        stats.runs += step.runs;
        stats.injections += step.injections;
    }
    if let Some(race) = &runnable.race {
        for b in 0..race.branches.len() {
            let branch = sweep_branch(&runnable, variant, b, known)?;
            stats.runs += branch.runs;
            stats.injections += branch.injections;
        }
    }
    Ok(stats)
}

/// `fail=N` and `fail=N+` on branch `b` of the scenario's race, under the
/// default schedule, for every N the branch reaches.
fn sweep_branch(
    scenario: &Scenario,
    variant: Variant,
    b: usize,
    known: Known,
) -> Result<SweepStats, Box<Failure>> {
    let mut stats = SweepStats::default();
    for and_later in [false, true] {
        for nth in 1..=MAX_NTH {
            let result = inject_at(
                scenario,
                variant,
                scenario.steps.len(),
                known,
                &mut stats,
                |s| {
                    let race = s.race.as_mut().expect("a race to sweep");
                    race.schedule = Schedule::default();
                    race.branches[b].fail = Some(FailPlan { nth, and_later });
                },
            )?;
            let reached = result
                .race
                .as_ref()
                .and_then(|r| r.outcomes.get(b))
                .map_or(0, |o| o.allocs.len());
            if reached < nth as usize {
                break;
            }
            stats.injections += 1;
        }
    }
    Ok(stats)
}

/// The injections of one step: `fail=N` and `fail=N+` for every N the step
/// reaches (the step's own fail plan is replaced), then `maple=N` for every
/// preallocation it reaches where there is a maple tree. Steps before it
/// are replayed but not checked again.
pub fn sweep_step(
    scenario: &Scenario,
    variant: Variant,
    i: usize,
    known: Known,
) -> Result<SweepStats, Box<Failure>> {
    let mut stats = SweepStats::default();
    for and_later in [false, true] {
        for nth in 1..=MAX_NTH {
            let reached = inject(scenario, variant, i, known, &mut stats, |step| {
                step.fail = Some(FailPlan { nth, and_later });
            })?;
            if reached.allocs.get(i).copied().unwrap_or(0) < nth as usize {
                break;
            }
            stats.injections += 1;
        }
    }
    if variant.has_maple_tree() {
        for nth in 1..=MAX_NTH {
            let reached = inject(scenario, variant, i, known, &mut stats, |step| {
                step.fail = None;
                step.maple = Some(nth);
            })?;
            if !reached.maple_fired.contains(&i) {
                break;
            }
            stats.injections += 1;
        }
    }
    Ok(stats)
}

/// Runs `scenario` with step `i` changed by `edit`, checked from that
/// step; a failure carries the injected scenario. Counts the run.
fn inject(
    scenario: &Scenario,
    variant: Variant,
    i: usize,
    known: Known,
    stats: &mut SweepStats,
    edit: impl FnOnce(&mut Step),
) -> Result<RunResult, Box<Failure>> {
    inject_at(scenario, variant, i, known, stats, |s| {
        edit(&mut s.steps[i])
    })
}

/// Runs `scenario` changed by `edit`, checked from step `i` on; a failure
/// carries the changed scenario. Counts the run.
fn inject_at(
    scenario: &Scenario,
    variant: Variant,
    i: usize,
    known: Known,
    stats: &mut SweepStats,
    edit: impl FnOnce(&mut Scenario),
) -> Result<RunResult, Box<Failure>> {
    let mut injected = scenario.clone();
    edit(&mut injected);
    let mut result = run(
        &injected,
        variant,
        RunOptions {
            check_from: i,
            known,
            ..RunOptions::default()
        },
    );
    stats.runs += 1;
    if let Some(mut f) = result.failure.take() {
        f.scenario = Some(injected);
        return Err(Box::new(f));
    }
    Ok(result)
}
