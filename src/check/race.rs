//! Judging a race (`crate::language::race`): the C side runs the branches
//! concurrently under the scenario's schedule; then, at the quiescent
//! point after it,
//!
//! 1. its instrumentation saw nothing: no use after free, no deadlock
//!    (the scheduler names the cycle), no broken lock rule, no warning;
//! 2. the state obeys every contract of docs/CONTRACTS.md;
//! 3. the race is serializable: the reference, run on copies of its state
//!    before the race, reaches the same state with the same outcomes (the
//!    walkers' hits included) in SOME order of the branches that respects
//!    real time (a branch that ended before another began comes first).
//!    Walks are thereby linearizable too: each returned what a walk at its
//!    place in that order returns.
//!
//! A reference that cannot be copied (a C core), has parted ways, or is
//! compared in shape while a branch has an injected failure leaves the
//! verdict to the first two.

use crate::check::report::{Failure, Side};
use crate::check::runner::{guarded, Checked, Run, RunOptions, RunResult};
use crate::check::snapshot::{canonicalize, first_difference, Snapshot};
use crate::engine::variant::Mode;
use crate::engine::{Engine, Outcome, RaceOrder, RaceRun, Serial, MAX_SERIAL_EXECUTIONS};
use crate::language::op::{Access, Op, Step};
use crate::language::race::Race;
use crate::language::scenario::VariantSel;

/// Each thread's first and last switch point (its span in real time).
fn spans(run: &RaceRun, threads: usize) -> Vec<(usize, usize)> {
    let mut spans = vec![(usize::MAX, 0); threads];
    for (i, p) in run.trace.iter().enumerate() {
        if let Some(s) = spans.get_mut(p.thread as usize) {
            s.0 = s.0.min(i);
            s.1 = s.1.max(i);
        }
    }
    spans
}

/// For each branch, the branches that ended before it began: a serial
/// execution runs those first.
fn ended_before(spans: &[(usize, usize)]) -> Vec<Vec<usize>> {
    (0..spans.len())
        .map(|j| {
            (0..spans.len())
                .filter(|&i| i != j && spans[i].1 < spans[j].0)
                .collect()
        })
        .collect()
}

/// Results agree: statuses and what walks found. Allocations are not
/// compared: what an operation allocates may depend on the interleaving
/// legitimately (two COW faults on a shared page both copy, where one
/// after the other the second would reuse it).
fn same_outcomes(c: &[Outcome], o: &[Outcome]) -> bool {
    c.iter()
        .zip(o)
        .all(|(c, o)| c.status == o.status && c.hits == o.hits)
}

/// A serial execution in words: the branches in turn, a branch whose
/// steps others interrupted once per stretch ("part").
fn describe_schedule(race: &Race, schedule: &[usize]) -> String {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for &i in schedule {
        match runs.last_mut() {
            Some((last, n)) if *last == i => *n += 1,
            _ => runs.push((i, 1)),
        }
    }
    let cut = |i: usize| runs.iter().filter(|(b, _)| *b == i).count() > 1;
    runs.iter()
        .map(|&(i, n)| {
            let part = if cut(i) {
                format!(" ({n} step{})", if n == 1 { "" } else { "s" })
            } else {
                String::new()
            };
            format!("T{i} `{}`{part}", race.branches[i])
        })
        .collect::<Vec<_>>()
        .join(", then ")
}

/// A race whose choices the run made (under PCT, or a schedule taken as a
/// hint) replays from the schedule it took: the failing scenario is that
/// one.
pub(crate) fn replayable(run: &Run, race: &Race, mut f: Box<Failure>) -> Box<Failure> {
    let chosen_by_run = |ran: &Race| race.pct.is_some() || ran.schedule != race.schedule;
    if let Some(ran) = f.race.as_ref().filter(|ran| chosen_by_run(ran)) {
        let mut scenario = run.scenario.clone();
        scenario.race = Some(ran.clone());
        f.scenario = Some(scenario);
    }
    f
}

pub(crate) fn check(
    run: &Run,
    c: &mut dyn Engine,
    o: Option<&mut Box<dyn Engine>>,
    in_sync: bool,
    race: &Race,
    opts: RunOptions,
    result: &mut RunResult,
) -> Checked {
    let index = run.scenario.steps.len();
    let at = Some(index);
    let failure = |check: &str, side: Side, detail: String, ran: &Race| {
        let mut f = run.failure(at, check, side, detail);
        f.race = Some(ran.clone());
        f
    };
    let Some(c_run) = c.race(race) else {
        return Err(failure(
            "setup",
            Side::C,
            format!(
                "the variant {} cannot run races (only the harness's own callers can)",
                run.variant.label
            ),
            race,
        ));
    };
    // What replays this run: the branches and the preemptions that happened.
    let ran = Race {
        branches: race.branches.clone(),
        schedule: c_run.taken.clone(),
        pct: None,
        hold_fresh: false,
    };
    result.race = Some(c_run.clone());

    let problems = run.unacknowledged(at, c.hygiene(), &mut result.acknowledged);
    if !problems.is_empty() || c_run.abandoned {
        let mut f = run.hygiene(at, Side::C, &problems);
        f.race = Some(ran);
        return Err(f);
    }
    // A schedule written for this variant's code that no longer fits it:
    // say so rather than pass quietly. Point numbers are a variant's own,
    // so on another variant (a header of `any`, a zoo scenario run on a
    // correct core) a schedule is a hint, as a fuzz input's is; so is
    // what PCT leaves open.
    let written_for_it = matches!(&run.scenario.header.variant,
        VariantSel::Named(name) if name == run.variant.name);
    let strict = written_for_it && race.pct.is_none() && !opts.loose_schedules;
    if strict && c_run.taken != race.schedule {
        let missed: Vec<String> = race
            .schedule
            .preemptions
            .iter()
            .filter(|p| !c_run.taken.preemptions.contains(p))
            .map(|p| p.to_string())
            .chain(
                race.schedule
                    .late
                    .iter()
                    .filter(|l| !c_run.taken.late.contains(l))
                    .map(|l| l.to_string()),
            )
            .collect();
        return Err(failure(
            "schedule",
            Side::C,
            format!(
                "{} of the scenario did not happen (the race met {} switch points; \
                 there the thread named could not run, or made fewer stores to kernel \
                 objects): the schedule does not fit this code",
                missed.join(" "),
                c_run.points
            ),
            &ran,
        ));
    }
    let snap_c = canonicalize(&c.snapshot());
    run.invariants(index, Side::C, &snap_c).map_err(|mut f| {
        f.race = Some(ran.clone());
        f
    })?;

    // A reference compared in shape counts allocations its own way: it
    // cannot take a branch's injected failure (the runner's rule for steps).
    let injected = race.branches.iter().any(|b| b.fail.is_some());
    let comparable = in_sync && !(injected && run.variant.mode == Mode::Relaxed);
    if let (Some(o), true) = (o, comparable) {
        if let Some(matched) = serial_match(run, o, race, &c_run, &snap_c, &ran)? {
            *o = matched;
        }
    }
    if opts.keep_state {
        result.final_state = Some(snap_c);
    }
    Ok(())
}

/// How each branch may run in a serial execution ([`Serial`]), every
/// combination, the plain one first: a write fault racing another write
/// fault of its process may have looked before the other published its
/// new anon_vma, and then made one of its own ([`Serial::Apart`]).
fn serial_choices(branches: &[Step]) -> Vec<Vec<Serial>> {
    let write_fault_mm = |s: &Step| match s.op {
        Op::Fault {
            mm,
            access: Access::Write,
            ..
        } => Some(mm),
        _ => None,
    };
    let per_branch: Vec<Vec<Serial>> = (0..branches.len())
        .map(|i| {
            let mut ways = vec![Serial::Whole];
            if let Some(mm) = write_fault_mm(&branches[i]) {
                if (0..branches.len()).any(|j| j != i && write_fault_mm(&branches[j]) == Some(mm)) {
                    ways.push(Serial::Apart);
                }
            }
            ways
        })
        .collect();
    let mut out = vec![Vec::new()];
    for ways in per_branch {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                ways.iter().map(move |&w| {
                    let mut next = prefix.clone();
                    next.push(w);
                    next
                })
            })
            .collect();
    }
    out
}

/// The reference after the first order that explains the race; `None`
/// when the reference cannot be copied (nothing to compare).
fn serial_match(
    run: &Run,
    o: &mut Box<dyn Engine>,
    race: &Race,
    c_run: &RaceRun,
    snap_c: &Snapshot,
    ran: &Race,
) -> Result<Option<Box<dyn Engine>>, Box<Failure>> {
    /// How many of the executions tried a failure lists.
    const LISTED: usize = 24;
    let at = Some(run.scenario.steps.len());
    let mode = run.variant.mode;
    let order = RaceOrder {
        before: ended_before(&spans(c_run, race.branches.len())),
        steps_at: c_run.steps.clone(),
    };
    let mut tried = Vec::new();
    let mut judged = 0usize;
    for how in serial_choices(&race.branches) {
        let notes: Vec<String> = how
            .iter()
            .enumerate()
            .filter(|(_, w)| **w == Serial::Apart)
            .map(|(i, _)| format!("T{i} not sharing a neighbour's anon_vma"))
            .collect();
        let note = if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join("; "))
        };
        let mut judge = |schedule: &[usize], outs: &[Outcome], e: &mut dyn Engine| -> bool {
            judged += 1;
            let snap_o = canonicalize(&e.snapshot());
            let outcomes_agree = same_outcomes(&c_run.outcomes, outs);
            let difference = match mode {
                Mode::Strict => first_difference(snap_c, &snap_o).map(|d| d.to_string()),
                Mode::Relaxed => {
                    (snap_c.shape() != snap_o.shape()).then(|| "the shapes differ".into())
                }
            };
            if outcomes_agree && difference.is_none() {
                return true;
            }
            if tried.len() < LISTED {
                let why = match difference {
                    Some(d) if outcomes_agree => {
                        format!("states differ first at {d} (the race vs this order)")
                    }
                    _ => {
                        let c: Vec<String> = c_run.outcomes.iter().map(|o| o.to_string()).collect();
                        let r: Vec<String> = outs.iter().map(|o| o.to_string()).collect();
                        format!("outcomes [{}] vs [{}]", c.join("; "), r.join("; "))
                    }
                };
                tried.push(format!(
                    "{}{note}: {why}",
                    describe_schedule(race, schedule)
                ));
            }
            false
        };
        let found = guarded(|| o.explain_race(&race.branches, &how, &order, &mut judge)).map_err(
            |msg| {
                let mut f = run.failure(at, "oracle.panic", Side::Oracle, msg);
                f.race = Some(ran.clone());
                f
            },
        )?;
        match found {
            None => return Ok(None),
            Some(Some(world)) => return Ok(Some(world)),
            Some(None) => {}
        }
    }
    let listed = if judged > tried.len() {
        format!(" ({} of {judged} listed)", tried.len())
    } else {
        String::new()
    };
    let cut = if judged >= MAX_SERIAL_EXECUTIONS {
        format!("; the search stopped at {MAX_SERIAL_EXECUTIONS} executions per choice")
    } else {
        String::new()
    };
    let mut f = run.failure(
        at,
        "serializability",
        Side::Both,
        format!(
            "no serial execution of the race's operations explains what it did \
             (fork, exit and munmap may be interleaved a VMA at a time){listed}{cut}\n{}",
            tried.join("\n")
        ),
    );
    f.race = Some(ran.clone());
    Err(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_time_orders_branches() {
        // Thread 0 ran points 0..=2 and ended before thread 1 began at 3.
        assert_eq!(ended_before(&[(0, 2), (3, 5)]), vec![vec![], vec![0]]);
        // Overlapping threads may come in either order.
        assert_eq!(
            ended_before(&[(0, 4), (2, 5)]),
            vec![Vec::<usize>::new(), vec![]]
        );
    }

    fn step(text: &str) -> Step {
        let s = crate::language::parse::parse_scenario(text, "test").unwrap();
        s.steps[0]
    }

    #[test]
    fn only_racing_write_faults_of_one_process_go_apart() {
        let faults = [step("fault 1 0x10000 w"), step("fault 1 0x11000 w")];
        assert_eq!(serial_choices(&faults).len(), 4);
        let other = [step("fault 1 0x10000 w"), step("fault 2 0x11000 w")];
        assert_eq!(
            serial_choices(&other),
            vec![vec![Serial::Whole, Serial::Whole]]
        );
    }

    #[test]
    fn an_interrupted_operation_is_told_in_parts() {
        let s = crate::language::parse::parse_scenario(
            "mmap 0 0x10000 0x1000\npar { fork 0 } { munmap 1 0x10000 0x1000 }\n",
            "test",
        )
        .unwrap();
        let race = s.race.expect("a race");
        assert_eq!(
            describe_schedule(&race, &[0, 1, 0, 0]),
            "T0 `fork 0` (1 step), then T1 `munmap 1 0x10000 0x1000`, then T0 `fork 0` (2 steps)"
        );
        assert_eq!(
            describe_schedule(&race, &[1, 0]),
            "T1 `munmap 1 0x10000 0x1000`, then T0 `fork 0`"
        );
    }
}
