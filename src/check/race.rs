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
use crate::engine::{Engine, Outcome, RaceRun, Serial};
use crate::language::op::{Access, Op, Step};
use crate::language::race::Race;
use crate::language::scenario::VariantSel;

/// Every order of `n` branches (n <= 3), in lexicographic order.
fn orders(n: usize) -> Vec<Vec<usize>> {
    fn extend(prefix: &mut Vec<usize>, n: usize, out: &mut Vec<Vec<usize>>) {
        if prefix.len() == n {
            out.push(prefix.clone());
            return;
        }
        for i in 0..n {
            if !prefix.contains(&i) {
                prefix.push(i);
                extend(prefix, n, out);
                prefix.pop();
            }
        }
    }
    let mut out = Vec::new();
    extend(&mut Vec::new(), n, &mut out);
    out
}

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

/// Whether `order` puts a branch that ended before another began after it.
fn breaks_real_time(order: &[usize], spans: &[(usize, usize)]) -> bool {
    order.iter().enumerate().any(|(at, &later)| {
        order[at + 1..]
            .iter()
            .any(|&earlier| spans[earlier].1 < spans[later].0)
    })
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

fn describe_order(race: &Race, order: &[usize]) -> String {
    order
        .iter()
        .map(|&i| format!("T{i} `{}`", race.branches[i]))
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

/// How each branch may run in a serial order ([`Serial`]), every
/// combination, the plain one first:
/// - a write fault racing another write fault of its process may have
///   looked before the other published its new anon_vma, and then made
///   one of its own ([`Serial::Apart`]);
/// - a fork, an exit or a munmap may be interrupted between two of its
///   steps (VMAs copied, split or unlinked) by the branches after it
///   ([`Serial::Interrupted`]): `vmas` is the number of VMAs of each
///   process when the race began, and bounds the steps (a munmap may
///   split two more).
fn serial_choices(branches: &[Step], vmas: &dyn Fn(u32) -> usize) -> Vec<Vec<Serial>> {
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
            let steps = match branches[i].op {
                Op::Fork { mm } | Op::Exit { mm } => vmas(mm),
                Op::Munmap { mm, .. } => vmas(mm) + 2,
                _ => 0,
            };
            if branches.len() > 1 {
                ways.extend((1..steps).map(Serial::Interrupted));
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

/// Whether an operation may be interrupted as `how` says in `order`: by
/// branches it overlapped in real time, none of them an operation on its
/// process (fork, exit and munmap hold that one's mmap_lock for writing
/// throughout; a walker needs no mmap_lock).
fn may_interrupt(
    branches: &[Step],
    order: &[usize],
    how: &[Serial],
    spans: &[(usize, usize)],
) -> bool {
    order.iter().enumerate().all(|(at, &i)| match how[i] {
        Serial::Interrupted(_) => order[at + 1..].iter().all(|&j| {
            let overlap = spans[j].0 < spans[i].1 && spans[i].0 < spans[j].1;
            let other = matches!(branches[j].op, Op::Walk { .. })
                || branches[j].op.mm() != branches[i].op.mm();
            overlap && other
        }),
        _ => true,
    })
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
    let at = Some(run.scenario.steps.len());
    let mode = run.variant.mode;
    let spans = spans(c_run, race.branches.len());
    let mut tried = Vec::new();
    let layout = o.layout();
    let vmas = |mm: u32| {
        layout
            .mms
            .iter()
            .find(|(id, _)| *id == mm)
            .map_or(0, |(_, v)| v.len())
    };
    let choices = serial_choices(&race.branches, &vmas);
    for (order, how) in orders(race.branches.len())
        .into_iter()
        .flat_map(|o| choices.iter().map(move |a| (o.clone(), a)))
    {
        if breaks_real_time(&order, &spans) || !may_interrupt(&race.branches, &order, how, &spans) {
            continue;
        }
        let Some(mut copy) = o.duplicate() else {
            return Ok(None);
        };
        let attempt = guarded(|| {
            let outs = copy.serially(&race.branches, &order, how);
            (outs, canonicalize(&copy.snapshot()))
        });
        let (outs, snap_o) = attempt.map_err(|msg| {
            let mut f = run.failure(at, "oracle.panic", crate::check::report::Side::Oracle, msg);
            f.race = Some(ran.clone());
            f
        })?;
        let Some(outs) = outs else {
            return Ok(None);
        };
        let outcomes_agree = same_outcomes(&c_run.outcomes, &outs);
        let difference = match mode {
            Mode::Strict => first_difference(snap_c, &snap_o).map(|d| d.object.to_string()),
            Mode::Relaxed => (snap_c.shape() != snap_o.shape()).then(|| "the shapes differ".into()),
        };
        if outcomes_agree && difference.is_none() {
            return Ok(Some(copy));
        }
        let why = match (outcomes_agree, difference) {
            (false, _) => {
                let c: Vec<String> = c_run.outcomes.iter().map(|o| o.to_string()).collect();
                let r: Vec<String> = outs.iter().map(|o| o.to_string()).collect();
                format!("outcomes [{}] vs [{}]", c.join("; "), r.join("; "))
            }
            (true, Some(d)) => format!("states differ first at {d}"),
            (true, None) => unreachable!("agreeing orders return early"),
        };
        let notes: Vec<String> = how
            .iter()
            .enumerate()
            .filter_map(|(i, w)| match w {
                Serial::Whole => None,
                Serial::Apart => Some(format!("T{i} not sharing a neighbour's anon_vma")),
                Serial::Interrupted(k) => Some(format!("T{i} interrupted after {k} step(s)")),
            })
            .collect();
        let note = if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join("; "))
        };
        tried.push(format!("{}{note}: {why}", describe_order(race, &order)));
    }
    let mut f = run.failure(
        at,
        "serializability",
        crate::check::report::Side::Both,
        format!(
            "no order of the race's operations explains what it did\n{}",
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
    fn orders_are_every_permutation() {
        assert_eq!(orders(2), vec![vec![0, 1], vec![1, 0]]);
        assert_eq!(orders(3).len(), 6);
    }

    #[test]
    fn real_time_rules_out_orders() {
        // Thread 0 ran points 0..=2 and ended before thread 1 began at 3.
        let spans = vec![(0, 2), (3, 5)];
        assert!(!breaks_real_time(&[0, 1], &spans));
        assert!(breaks_real_time(&[1, 0], &spans));
        // Overlapping threads may come in either order.
        let spans = vec![(0, 4), (2, 5)];
        assert!(!breaks_real_time(&[1, 0], &spans));
    }

    fn step(text: &str) -> Step {
        let s = crate::language::parse::parse_scenario(text, "test").unwrap();
        s.steps[0]
    }

    #[test]
    fn a_fork_may_stop_between_its_vmas() {
        let branches = [step("fork 3"), step("munmap 1 0x10000 0x1000")];
        let choices = serial_choices(&branches, &|mm| if mm == 3 { 3 } else { 1 });
        // The fork whole, or after 1 or 2 of its 3 VMAs; the munmap of
        // process 1 (1 VMA, up to 2 splits) whole or after 1 or 2 steps.
        assert_eq!(choices.len(), 3 * 3);
        assert!(choices.contains(&vec![Serial::Interrupted(2), Serial::Whole]));
        // Alone, a fork has nothing to be interrupted by.
        assert_eq!(serial_choices(&branches[..1], &|_| 3).len(), 1);
    }

    #[test]
    fn only_overlapping_other_processes_interrupt_a_fork() {
        let how = [Serial::Interrupted(1), Serial::Whole];
        let overlapping = vec![(0, 4), (2, 5)];
        let other = [step("fork 3"), step("munmap 1 0x10000 0x1000")];
        assert!(may_interrupt(&other, &[0, 1], &how, &overlapping));
        // The fork ended before the munmap began.
        assert!(!may_interrupt(&other, &[0, 1], &how, &[(0, 2), (3, 5)]));
        // The forked process is locked for the whole fork.
        let same = [step("fork 3"), step("munmap 3 0x10000 0x1000")];
        assert!(!may_interrupt(&same, &[0, 1], &how, &overlapping));
    }
}
