//! `rmapfuzz explore --race`: races of two (or three) operations from
//! every state a short sequential prefix reaches, under every schedule
//! with at most `k` preemptions (CHESS-style iterative bounding: all
//! schedules with fewer preemptions first; which thread starts is free),
//! over the small universe of `crate::tools::explore`.
//!
//! The operations: every candidate of the sequential explorer, and the
//! three walkers (reclaim, migrate, referenced) of every mapped page. Two
//! operations of one process that are not walkers are left out, unless
//! both are write faults: its mmap_lock, taken first for writing,
//! serializes them, and the sequential explorer tries both orders; faults
//! take it for reading.
//!
//! Preemptions are tried only where they can matter: at a switch point
//! that touches an object another thread also touches in that run, or an
//! RCU boundary. Points that touch only a thread's own objects commute
//! with the other threads' work.
//!
//! The first failure is on a shortest prefix, with the fewest
//! preemptions, and is returned as a scenario whose race carries the
//! schedule that produced it.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::check::known::Known;
use crate::check::report::Failure;
use crate::check::runner::{run, state_hash, RunOptions, RunResult};
use crate::check::snapshot::Snapshot;
use crate::engine::variant::Variant;
use crate::engine::{Layout, RaceRun};
use crate::language::op::{Access, Op, Step, Walker};
use crate::language::race::{Preemption, Race, Schedule, MAX_LATE};
use crate::language::scenario::{Expect, Scenario, VariantSel};
use crate::tools::explore::{candidate_ops, Universe};

/// The bounds of a race search.
#[derive(Clone, Copy, Debug)]
pub struct RaceBounds {
    /// Sequential operations before the race.
    pub prefix: usize,
    /// Operations in a race (2 or 3).
    pub width: usize,
    /// Preemptions per schedule.
    pub preemptions: usize,
}

impl Default for RaceBounds {
    fn default() -> RaceBounds {
        RaceBounds {
            prefix: 3,
            width: 2,
            preemptions: 2,
        }
    }
}

/// What a race search did and found.
#[derive(Clone, Debug, Default)]
pub struct RaceExploration {
    /// Distinct states races started from.
    pub states: usize,
    /// Races (sets of operations on a state) tried.
    pub races: usize,
    /// Schedules run.
    pub schedules: usize,
    /// Schedules run per number of preemptions (index 0: none).
    pub by_preemptions: Vec<usize>,
    pub elapsed: Duration,
    pub failure: Option<(Scenario, Failure)>,
    pub timed_out: bool,
}

/// Where the search stands, for a progress display.
#[derive(Clone, Copy, Debug, Default)]
pub struct RaceProgress {
    pub states_done: usize,
    pub states: usize,
    pub schedules: usize,
}

/// The walkers of every mapped page, found at its first mapping.
fn walker_ops(state: &Snapshot) -> Vec<Op> {
    let mut ops = Vec::new();
    for page in &state.pages {
        if let Some(&(mm, addr)) = page.mappers.first() {
            for walker in Walker::ALL {
                ops.push(Op::Walk { walker, mm, addr });
            }
        }
    }
    ops
}

fn layout_of(state: &Snapshot) -> Layout {
    Layout {
        mms: state
            .mms
            .iter()
            .map(|m| (m.id, m.vmas.iter().map(|v| (v.start, v.end)).collect()))
            .collect(),
    }
}

/// Whether two operations can interleave at all (see the module docs).
fn may_race(ops: &[Op]) -> bool {
    let walker = |op: &Op| matches!(op, Op::Walk { .. });
    let write_fault = |op: &Op| {
        matches!(
            op,
            Op::Fault {
                access: Access::Write,
                ..
            }
        )
    };
    ops.iter().enumerate().all(|(i, a)| {
        ops[i + 1..].iter().all(|b| {
            walker(a) || walker(b) || a.mm() != b.mm() || (write_fault(a) && write_fault(b))
        })
    })
}

/// The sets of `width` operations to race, in a fixed order.
fn races_of(ops: &[Op], width: usize) -> Vec<Vec<Op>> {
    let mut out = Vec::new();
    let n = ops.len();
    for i in 0..n {
        for j in i..n {
            if width == 2 {
                let set = vec![ops[i], ops[j]];
                if may_race(&set) {
                    out.push(set);
                }
                continue;
            }
            for k in j..n {
                let set = vec![ops[i], ops[j], ops[k]];
                if may_race(&set) {
                    out.push(set);
                }
            }
        }
    }
    out
}

/// Points of `r` where a preemption can matter (see the module docs), each
/// with the threads that could be switched to there.
fn preemption_points(r: &RaceRun, after: u32) -> Vec<Preemption> {
    let mut touched: HashMap<u64, HashSet<u32>> = HashMap::new();
    for p in &r.trace {
        if p.obj != 0 {
            touched.entry(p.obj).or_default().insert(p.thread);
        }
    }
    let mut out = Vec::new();
    for (i, p) in r.trace.iter().enumerate() {
        let point = i as u32 + 1;
        if point <= after {
            continue;
        }
        // Where a thread stops, another must be chosen: every choice counts.
        let shared = matches!(
            p.kind,
            "rcu" | "start" | "block" | "end" | "walk" | "release"
        ) || touched.get(&p.obj).is_some_and(|t| t.len() > 1);
        if !shared {
            continue;
        }
        // Where a thread stopped, the lowest runnable one goes on anyway.
        let default = if matches!(p.kind, "block" | "end") {
            p.runnable.trailing_zeros()
        } else {
            p.thread
        };
        for t in 0..u32::BITS {
            if t != p.thread && t != default && p.runnable & (1 << t) != 0 {
                out.push(Preemption { point, thread: t });
            }
        }
    }
    out
}

/// The schedules one choice longer than `schedule`, whose run was
/// `race`: a preemption after its last one, or a store held back that the
/// run says another thread read out of order with a newer one (the
/// caller skips a set of choices reached twice).
fn extensions(schedule: &Schedule, race: &RaceRun) -> Vec<Schedule> {
    let mut out = Vec::new();
    let after = schedule.preemptions.last().map_or(0, |p| p.point);
    for p in preemption_points(race, after) {
        let mut plan = schedule.clone();
        plan.preemptions.push(p);
        out.push(plan);
    }
    if schedule.late.len() < MAX_LATE {
        for &l in &race.late_candidates {
            if schedule.late.last().is_some_and(|last| *last >= l) {
                continue;
            }
            let mut plan = schedule.clone();
            plan.late.push(l);
            out.push(plan);
        }
    }
    out
}

fn race_scenario(prefix: &[Step], ops: &[Op], schedule: Schedule) -> Scenario {
    let mut s = Scenario::new(prefix.to_vec());
    s.race = Some(Race {
        branches: ops.iter().map(|&op| Step::new(op)).collect(),
        schedule,
        pct: None,
        hold_fresh: false,
    });
    s
}

/// Every schedule of one race with at most `k` preemptions, fewest
/// first; stops at the first failure. Returns the schedules run (per
/// number of preemptions) and the failure.
fn schedules_of(
    prefix: &[Step],
    ops: &[Op],
    v: Variant,
    k: usize,
    known: Known,
) -> (Vec<usize>, Option<(Scenario, Failure)>) {
    let opts = RunOptions {
        check_from: prefix.len(),
        known,
        ..RunOptions::default()
    };
    let mut counts = vec![0; k + 1];
    let mut level: Vec<(Schedule, RunResult)> = Vec::new();
    let mut tried: HashSet<Schedule> = HashSet::new();
    // Which thread goes first is a choice, not a preemption: every
    // thread may start (a switch at the first point, before anything ran).
    for first_thread in 0..ops.len() as u32 {
        let schedule = Schedule::new(match first_thread {
            0 => Vec::new(),
            t => vec![Preemption {
                point: 1,
                thread: t,
            }],
        });
        let s = race_scenario(prefix, ops, schedule.clone());
        let r = run(&s, v, opts);
        counts[0] += 1;
        if let Some(f) = r.failure {
            return (counts, Some((s, f)));
        }
        level.push((schedule, r));
    }
    for depth in 1..=k {
        let mut next = Vec::new();
        for (schedule, result) in &level {
            let Some(race) = &result.race else { continue };
            for plan in extensions(schedule, race) {
                if !tried.insert(plan.clone()) {
                    continue;
                }
                let s = race_scenario(prefix, ops, plan.clone());
                let r = run(&s, v, opts);
                counts[depth] += 1;
                if let Some(f) = r.failure {
                    return (counts, Some((s, f)));
                }
                if depth < k {
                    next.push((plan, r));
                }
            }
        }
        level = next;
    }
    (counts, None)
}

/// The distinct states `depth` sequential operations reach, shortest
/// paths first, with each state's canonical snapshot.
fn prefixes(v: Variant, depth: usize, u: &Universe, known: Known) -> Vec<(Vec<Step>, Snapshot)> {
    let opts = RunOptions {
        keep_state: true,
        known,
        ..RunOptions::default()
    };
    let empty = run(&Scenario::new(Vec::new()), v, opts);
    let Some(state) = empty.final_state else {
        return Vec::new();
    };
    let mut seen: HashSet<u64> = HashSet::from([state_hash(&state)]);
    let mut all = vec![(Vec::new(), state)];
    let mut frontier = vec![0usize];
    for _ in 0..depth {
        let mut next = Vec::new();
        for &at in &frontier {
            let (path, state) = all[at].clone();
            for op in candidate_ops(&layout_of(&state), u) {
                let mut steps = path.clone();
                steps.push(Step::new(op));
                let r = run(
                    &Scenario::new(steps.clone()),
                    v,
                    RunOptions {
                        check_from: path.len(),
                        ..opts
                    },
                );
                let Some(s) = r.final_state.filter(|_| r.failure.is_none()) else {
                    continue;
                };
                if seen.insert(state_hash(&s)) {
                    next.push(all.len());
                    all.push((steps, s));
                }
            }
        }
        frontier = next;
    }
    all
}

/// Explores races on `v` (see the module docs) with `threads` workers,
/// stopping at the first failure or after `limit`.
pub fn explore_races(
    v: Variant,
    bounds: RaceBounds,
    u: &Universe,
    threads: usize,
    limit: Option<Duration>,
    known: Known,
    progress: &(dyn Fn(RaceProgress) + Sync),
) -> RaceExploration {
    let start = Instant::now();
    let states = prefixes(v, bounds.prefix, u, known);
    let mut result = RaceExploration {
        states: states.len(),
        by_preemptions: vec![0; bounds.preemptions + 1],
        ..RaceExploration::default()
    };
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let schedules = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let timed_out = AtomicBool::new(false);
    // Each worker takes the next state; per state, the first failure.
    type Found = (usize, usize, Vec<usize>, Option<(Scenario, Failure)>);
    let found: Vec<Found> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut out: Vec<Found> = Vec::new();
                    loop {
                        let at = next.fetch_add(1, Ordering::Relaxed);
                        if at >= states.len() || stop.load(Ordering::Relaxed) {
                            break;
                        }
                        if limit.is_some_and(|l| start.elapsed() > l) {
                            timed_out.store(true, Ordering::Relaxed);
                            break;
                        }
                        let (prefix, state) = &states[at];
                        let mut ops = candidate_ops(&layout_of(state), u);
                        ops.extend(walker_ops(state));
                        let races = races_of(&ops, bounds.width);
                        let mut counts = vec![0; bounds.preemptions + 1];
                        let mut failure = None;
                        for set in &races {
                            let (c, f) = schedules_of(prefix, set, v, bounds.preemptions, known);
                            let n: usize = c.iter().sum();
                            schedules.fetch_add(n, Ordering::Relaxed);
                            for (d, n) in c.into_iter().enumerate() {
                                counts[d] += n;
                            }
                            if f.is_some() {
                                failure = f;
                                stop.store(true, Ordering::Relaxed);
                                break;
                            }
                        }
                        out.push((at, races.len(), counts, failure));
                        progress(RaceProgress {
                            states_done: done.fetch_add(1, Ordering::Relaxed) + 1,
                            states: states.len(),
                            schedules: schedules.load(Ordering::Relaxed),
                        });
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("race explorer worker"))
            .collect()
    });
    let mut found = found;
    // The failure on the shortest prefix: states are in breadth-first order.
    found.sort_by_key(|f| f.0);
    for (_, races, counts, failure) in found {
        result.races += races;
        for (d, n) in counts.into_iter().enumerate() {
            result.by_preemptions[d] += n;
        }
        if result.failure.is_none() {
            if let Some((mut s, f)) = failure {
                s.header.variant = VariantSel::Named(v.name.to_owned());
                s.header.expect = Expect::Fail {
                    check: Some(f.check.clone()),
                    op: None,
                };
                result.failure = Some((s, f));
            }
        }
    }
    result.schedules = result.by_preemptions.iter().sum();
    result.timed_out = timed_out.load(Ordering::Relaxed);
    result.elapsed = start.elapsed();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_process_races_only_with_walkers() {
        let a = Op::Fork { mm: 0 };
        let b = Op::Exit { mm: 0 };
        let w = Op::Walk {
            walker: Walker::Reclaim,
            mm: 0,
            addr: 0x10000,
        };
        assert!(!may_race(&[a, b]));
        assert!(may_race(&[a, w]));
        assert!(may_race(&[a, Op::Exit { mm: 1 }]));
    }

    #[test]
    fn pairs_include_an_operation_racing_itself() {
        let w = Op::Walk {
            walker: Walker::Reclaim,
            mm: 0,
            addr: 0x10000,
        };
        let races = races_of(&[w, Op::Fork { mm: 0 }], 2);
        assert_eq!(races, vec![vec![w, w], vec![w, Op::Fork { mm: 0 }]]);
    }
}
