//! Shrinking a failing scenario while it keeps failing the same way: delta
//! debugging on the operations, then forks with the process ids after them
//! renumbered, then the fail points, then the operands, repeated until
//! nothing more can be taken away.
//!
//! "The same way" is the failure's [`Signature`]: the same check, at the
//! same kind of operation, on the same variant.

use std::collections::BTreeSet;

use crate::check::known::Known;
use crate::check::report::{Failure, Signature};
use crate::check::runner::{run, RunOptions};
use crate::check::sweep::sweep_step;
use crate::engine::variant::Variant;
use crate::language::op::{FailPlan, Op, Step};
use crate::language::race::Schedule;
use crate::language::scenario::{Expect, Scenario, VariantSel};

/// The failure a scenario produces on a variant: from a plain run, or, for
/// an input of the `sweep` fuzz target, from the injections into its last
/// operation (the failure then carries the exact scenario). `known`
/// warnings are acknowledged, not failures.
pub fn reproduce(s: &Scenario, v: Variant, known: Known) -> Option<(Scenario, Failure)> {
    let opts = RunOptions {
        known,
        ..RunOptions::default()
    };
    if let Some(f) = run(s, v, opts).failure {
        // A race run under PCT carries the schedule that replays it.
        let replayable = f.scenario.clone().unwrap_or_else(|| s.clone());
        return Some((replayable, f));
    }
    // A fuzz input's race: its schedule was a suggestion; the failure
    // carries the one the run took.
    if s.race.is_some() {
        let loose = RunOptions {
            loose_schedules: true,
            ..opts
        };
        if let Some(f) = run(s, v, loose).failure {
            let replayable = f.scenario.clone().unwrap_or_else(|| s.clone());
            return Some((replayable, f));
        }
    }
    let last = s.steps.len().checked_sub(1)?;
    let f = sweep_step(s, v, last, known).err()?;
    let injected = f.scenario.clone().unwrap_or_else(|| s.clone());
    Some((injected, *f))
}

/// How far the minimizer has got, for a progress display.
#[derive(Clone, Copy, Debug, Default)]
pub struct Progress {
    /// Which pass is running.
    pub pass: &'static str,
    /// Operations in the smallest failing scenario so far.
    pub steps: usize,
    /// Candidate scenarios tried.
    pub runs: usize,
}

/// The result of [`minimize`].
#[derive(Clone, Debug)]
pub struct Minimized {
    /// The smallest scenario found, with a header naming the variant and
    /// the expected failure.
    pub scenario: Scenario,
    pub failure: Failure,
    pub runs: usize,
}

struct Shrinker<'a, F: FnMut(Progress)> {
    variant: Variant,
    /// Every candidate run's options (the known warnings it acknowledges).
    opts: RunOptions,
    want: Signature,
    best: Scenario,
    failure: Failure,
    runs: usize,
    pass: &'static str,
    progress: &'a mut F,
}

impl<F: FnMut(Progress)> Shrinker<'_, F> {
    /// Keeps `candidate` if it fails the same way.
    fn try_keep(&mut self, candidate: Scenario) -> bool {
        self.runs += 1;
        let result = run(&candidate, self.variant, self.opts);
        (self.progress)(Progress {
            pass: self.pass,
            steps: self.best.steps.len(),
            runs: self.runs,
        });
        match result.failure {
            Some(f) if f.signature() == self.want => {
                self.best = candidate;
                self.failure = f;
                true
            }
            _ => false,
        }
    }

    /// Fork operations in the best scenario so far: no process id above
    /// this one can exist.
    fn forks(&self) -> u32 {
        self.best
            .steps
            .iter()
            .filter(|s| matches!(s.op, Op::Fork { .. }))
            .count() as u32
    }

    fn with_steps(&self, steps: Vec<Step>) -> Scenario {
        Scenario {
            race: self.best.race.clone(),
            header: self.best.header.clone(),
            steps,
        }
    }

    /// A race's schedule: drop a branch of three, a branch's fail plan,
    /// then each preemption in turn, while the failure stays (fewer
    /// threads and preemptions, an interleaving easier to read).
    /// Drops the schedule's choices one at a time (those `len` counts,
    /// `remove` takes away), keeping each drop the failure survives.
    fn drop_each(
        &mut self,
        len: impl Fn(&Schedule) -> usize,
        remove: impl Fn(&mut Schedule, usize),
    ) -> bool {
        let mut changed = false;
        let mut i = 0;
        while i < self.best.race.as_ref().map_or(0, |r| len(&r.schedule)) {
            let mut candidate = self.best.clone();
            if let Some(r) = candidate.race.as_mut() {
                remove(&mut r.schedule, i);
            }
            if self.try_keep(candidate) {
                changed = true;
            } else {
                i += 1;
            }
        }
        changed
    }

    fn shrink_schedule(&mut self) -> bool {
        self.pass = "schedule";
        let mut changed = false;
        let mut b = 0;
        while b < self.best.race.as_ref().map_or(0, |r| r.branches.len()) {
            let mut candidate = self.best.clone();
            let race = candidate.race.as_mut().expect("a race");
            let dropped_thread = if race.branches.len() > 2 {
                race.branches.remove(b);
                // Threads after it are renumbered; its choices go.
                race.schedule.drop_thread(b as u32);
                true
            } else if race.branches[b].fail.is_some() {
                race.branches[b].fail = None;
                false
            } else {
                b += 1;
                continue;
            };
            if self.try_keep(candidate) {
                changed = true;
                if !dropped_thread {
                    b += 1;
                }
            } else {
                b += 1;
            }
        }
        changed |= self.drop_each(
            |s| s.preemptions.len(),
            |s, i| {
                s.preemptions.remove(i);
            },
        );
        changed |= self.drop_each(
            |s| s.late.len(),
            |s, i| {
                s.late.remove(i);
            },
        );
        changed
    }

    /// Delta debugging over the operation list: drop chunks of decreasing
    /// size; the steps after the failing one are always dropped first.
    fn shrink_steps(&mut self) -> bool {
        self.pass = "operations";
        let mut changed = false;
        if let Some(at) = self.failure.step {
            if at + 1 < self.best.steps.len() {
                let steps = self.best.steps[..=at].to_vec();
                changed |= self.try_keep(self.with_steps(steps));
            }
        }
        let mut chunk = self.best.steps.len().div_ceil(2).max(1);
        loop {
            let mut start = 0;
            while start < self.best.steps.len() {
                let end = (start + chunk).min(self.best.steps.len());
                let mut steps = self.best.steps.clone();
                steps.drain(start..end);
                if !steps.is_empty() && self.try_keep(self.with_steps(steps)) {
                    changed = true;
                } else {
                    start = end;
                }
            }
            if chunk == 1 {
                break;
            }
            chunk = chunk.div_ceil(2);
        }
        changed
    }

    /// A fork whose removal breaks the failure only because every later
    /// process id shifts down by one: removed together with that shift
    /// (for each id `c` it may have given its child: ids above `c` drop by
    /// one, operations on `c` itself go).
    fn shrink_forks(&mut self) -> bool {
        self.pass = "forks";
        let mut changed = false;
        let mut i = 0;
        while i < self.best.steps.len() {
            if !matches!(self.best.steps[i].op, Op::Fork { .. }) {
                i += 1;
                continue;
            }
            let forks = self.forks();
            let highest = self.best.steps[i + 1..]
                .iter()
                .map(|s| s.op.mm())
                .filter(|&mm| mm <= forks)
                .max()
                .unwrap_or(0);
            let mut kept = false;
            for child in 1..=highest {
                let steps: Vec<Step> = self.best.steps[..i]
                    .iter()
                    .copied()
                    .chain(
                        self.best.steps[i + 1..]
                            .iter()
                            .filter(|s| s.op.mm() != child)
                            .map(|s| {
                                let mm = s.op.mm();
                                let op = if mm > child {
                                    s.op.with_mm(mm - 1)
                                } else {
                                    s.op
                                };
                                s.with_op(op)
                            }),
                    )
                    .collect();
                if !steps.is_empty() && self.try_keep(self.with_steps(steps)) {
                    kept = true;
                    break;
                }
            }
            changed |= kept;
            if !kept {
                i += 1;
            }
        }
        changed
    }

    /// Fail points: dropped, made one-shot, or moved to an earlier
    /// allocation (one the operation reaches: fuzz inputs carry fail
    /// points in the billions).
    fn shrink_fail_points(&mut self) -> bool {
        self.pass = "fail points";
        let mut changed = false;
        for i in 0..self.best.steps.len() {
            let Some(plan) = self.best.steps[i].fail else {
                continue;
            };
            let reached = run(&self.best, self.variant, self.opts)
                .allocs
                .get(i)
                .copied()
                .unwrap_or(0);
            let earlier = (1..plan.nth.min(reached as u32 + 1)).map(|nth| {
                Some(FailPlan {
                    nth,
                    and_later: plan.and_later,
                })
            });
            let one_shot = plan.and_later.then_some(Some(FailPlan {
                nth: plan.nth,
                and_later: false,
            }));
            let candidates = std::iter::once(None).chain(one_shot).chain(earlier);
            for fail in candidates {
                let mut steps = self.best.steps.clone();
                steps[i].fail = fail;
                if self.try_keep(self.with_steps(steps)) {
                    changed = true;
                    break;
                }
            }
        }
        changed
    }

    /// Operands: each address-like value is replaced, everywhere it occurs,
    /// by a smaller one (keeping the layout's shape), lengths are shortened
    /// one operation at a time, and process numbers lowered.
    fn shrink_operands(&mut self) -> bool {
        self.pass = "operands";
        let mut changed = false;
        // Global renumbering of addresses, smallest first.
        let values: BTreeSet<u64> = self
            .best
            .steps
            .iter()
            .flat_map(|s| addresses(&s.op))
            .collect();
        let mut floor = BASE;
        for v in values {
            let mut target = floor;
            while target < v {
                let steps = self
                    .best
                    .steps
                    .iter()
                    .map(|s| replace_address(s, v, target))
                    .collect();
                if self.try_keep(self.with_steps(steps)) {
                    changed = true;
                    break;
                }
                target += PAGE;
                if target + 64 * PAGE < v {
                    // Far below: jump close instead of walking every page.
                    target = v.saturating_sub(16 * PAGE).max(target);
                }
            }
            floor = floor.max(target) + PAGE;
        }
        // Lengths, per operation.
        for i in 0..self.best.steps.len() {
            while let Some(shorter) = shorter_len(&self.best.steps[i].op) {
                let mut steps = self.best.steps.clone();
                steps[i].op = shorter;
                if !self.try_keep(self.with_steps(steps)) {
                    break;
                }
                changed = true;
            }
        }
        // Process numbers, per operation: only to ids a process can have
        // (each fork makes one), not every number below an escaped one.
        let forks = self.forks();
        for i in 0..self.best.steps.len() {
            let mm = self.best.steps[i].op.mm();
            for lower in 0..mm.min(forks + 1) {
                let mut steps = self.best.steps.clone();
                steps[i].op = steps[i].op.with_mm(lower);
                if self.try_keep(self.with_steps(steps)) {
                    changed = true;
                    break;
                }
            }
        }
        changed
    }
}

const PAGE: u64 = 0x1000;
/// Where shrunk layouts start (the lowest address scenarios use).
const BASE: u64 = 0x10000;

/// The address operands of an operation (not lengths).
fn addresses(op: &Op) -> Vec<u64> {
    match *op {
        Op::Mmap { start, .. } | Op::Munmap { start, .. } | Op::Madvise { start, .. } => {
            vec![start]
        }
        Op::Fault { addr, .. }
        | Op::Split { addr, .. }
        | Op::Merge { addr, .. }
        | Op::Rmap { addr, .. }
        | Op::Walk { addr, .. } => {
            vec![addr]
        }
        Op::Mremap { addr, new_addr, .. } => vec![addr, new_addr],
        Op::Fork { .. } | Op::Exit { .. } => vec![],
    }
}

/// `step` with every address operand equal to `from` set to `to`; ranges
/// that end at `from` (start + len) are adjusted too, so a layout keeps its
/// adjacency.
fn replace_address(step: &Step, from: u64, to: u64) -> Step {
    let a = |x: u64| if x == from { to } else { x };
    let op = match step.op {
        Op::Mmap { mm, start, len } => {
            let (s, l) = shift_range(start, len, from, to);
            Op::Mmap {
                mm,
                start: s,
                len: l,
            }
        }
        Op::Munmap { mm, start, len } => {
            let (s, l) = shift_range(start, len, from, to);
            Op::Munmap {
                mm,
                start: s,
                len: l,
            }
        }
        Op::Madvise {
            mm,
            start,
            len,
            advice,
        } => {
            let (s, l) = shift_range(start, len, from, to);
            Op::Madvise {
                mm,
                start: s,
                len: l,
                advice,
            }
        }
        Op::Fault { mm, addr, access } => Op::Fault {
            mm,
            addr: a(addr),
            access,
        },
        Op::Split { mm, addr } => Op::Split { mm, addr: a(addr) },
        Op::Merge { mm, addr } => Op::Merge { mm, addr: a(addr) },
        Op::Rmap { mm, addr } => Op::Rmap { mm, addr: a(addr) },
        Op::Walk { walker, mm, addr } => Op::Walk {
            walker,
            mm,
            addr: a(addr),
        },
        Op::Mremap { mm, addr, new_addr } => Op::Mremap {
            mm,
            addr: a(addr),
            new_addr: a(new_addr),
        },
        other => other,
    };
    step.with_op(op)
}

/// A range whose start moves from `from` to `to` keeps its length; one that
/// ends at `from` is stretched or shrunk to end at `to`.
fn shift_range(start: u64, len: u64, from: u64, to: u64) -> (u64, u64) {
    if start == from {
        (to, len)
    } else if start + len == from && to > start {
        (start, to - start)
    } else {
        (start, len)
    }
}

/// The operation with its length halved (page-aligned, at least a page).
fn shorter_len(op: &Op) -> Option<Op> {
    let half = |len: u64| ((len / 2) & !(PAGE - 1)).max(PAGE);
    match *op {
        Op::Mmap { mm, start, len } if len > PAGE => Some(Op::Mmap {
            mm,
            start,
            len: half(len),
        }),
        Op::Munmap { mm, start, len } if len > PAGE => Some(Op::Munmap {
            mm,
            start,
            len: half(len),
        }),
        Op::Madvise {
            mm,
            start,
            len,
            advice,
        } if len > PAGE => Some(Op::Madvise {
            mm,
            start,
            len: half(len),
            advice,
        }),
        _ => None,
    }
}

/// Why a scenario cannot be minimized.
#[derive(Debug, thiserror::Error)]
#[error("the scenario does not fail on {variant}: nothing to minimize")]
pub struct DoesNotFail {
    pub variant: String,
}

/// Shrinks `s` on `v` to a fixed point, `known` warnings acknowledged (a
/// candidate that only warns as known does not fail); `progress` is called
/// after every candidate run.
pub fn minimize(
    s: &Scenario,
    v: Variant,
    known: Known,
    mut progress: impl FnMut(Progress),
) -> Result<Minimized, DoesNotFail> {
    let Some((start, failure)) = reproduce(s, v, known) else {
        return Err(DoesNotFail {
            variant: v.label.to_owned(),
        });
    };
    let want = failure.signature();
    let mut shrinker = Shrinker {
        variant: v,
        opts: RunOptions {
            known,
            ..RunOptions::default()
        },
        want,
        best: start,
        failure,
        runs: 1,
        pass: "start",
        progress: &mut progress,
    };
    loop {
        let mut changed = shrinker.shrink_steps();
        changed |= shrinker.shrink_forks();
        changed |= shrinker.shrink_fail_points();
        changed |= shrinker.shrink_operands();
        changed |= shrinker.shrink_schedule();
        if !changed {
            break;
        }
    }
    let mut scenario = shrinker.best;
    scenario.header.variant = VariantSel::Named(v.name.to_owned());
    scenario.header.expect = Expect::Fail {
        check: Some(shrinker.failure.check.clone()),
        op: shrinker.failure.op.map(|s| s.op.kind()),
    };
    Ok(Minimized {
        scenario,
        failure: shrinker.failure,
        runs: shrinker.runs,
    })
}
