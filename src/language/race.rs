//! Races: operations that run concurrently, each a thread of the C
//! harness's deterministic scheduler, and the schedules that say how they
//! interleave.
//!
//! ```text
//! par { reclaim 0 0x10000 } { munmap 0 0x10000 0x1000 }
//! schedule 7:1 15:0
//! ```
//!
//! A `par` line runs its branches (two or three operations, each with an
//! optional `fail=`) from the state the lines before it left; it ends the
//! scenario. Branch `i` is thread `i`. The optional `schedule` line after
//! it lists preemptions `POINT:THREAD`: at the POINT-th switch point of
//! the race (counted from 1 over every thread), THREAD runs next. Without
//! preemptions a thread runs until it blocks or ends and the lowest
//! numbered runnable thread goes on, so a race and its schedule give back
//! the same run every time.
//!
//! A schedule may also hold stores back: `late:T.S` keeps thread T's S-th
//! store (counted from 1 over its stores to kernel objects in the code
//! under test) in T's store buffer, seen by T alone, until T next
//! releases (a lock release, a release store, a value-returning atomic, a
//! barrier). Every other store is seen at once.

use std::fmt;

use crate::language::op::Step;

/// Threads a race may have (the harness's limit).
pub const MAX_THREADS: usize = 3;
/// Preemptions a schedule may name (the harness's limit).
pub const MAX_PREEMPTIONS: usize = 16;

/// At switch point `point` (from 1), thread `thread` runs next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Preemption {
    pub point: u32,
    pub thread: u32,
}

impl fmt::Display for Preemption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.point, self.thread)
    }
}

/// Late stores a schedule may name: the harness's limit (`RF_MAX_LATE`), so
/// that a schedule as run, which lists every store a fuzz input held back
/// (its initialisation ones included), replays.
pub const MAX_LATE: usize = 32;

/// Thread `thread`'s store number `store` (from 1) is held back until the
/// thread next releases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LateStore {
    pub thread: u32,
    pub store: u32,
}

impl fmt::Display for LateStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "late:{}.{}", self.thread, self.store)
    }
}

/// A schedule: preemptions sorted by point, at most one per point, and
/// the stores held back, sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Schedule {
    pub preemptions: Vec<Preemption>,
    pub late: Vec<LateStore>,
}

impl Schedule {
    pub fn new(preemptions: Vec<Preemption>) -> Schedule {
        Schedule {
            preemptions,
            late: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.preemptions.is_empty() && self.late.is_empty()
    }

    /// Every choice of `other` is one of this schedule's.
    pub fn contains(&self, other: &Schedule) -> bool {
        other
            .preemptions
            .iter()
            .all(|p| self.preemptions.contains(p))
            && other.late.iter().all(|l| self.late.contains(l))
    }

    /// Forgets thread `thread` (a branch dropped): later threads move down.
    pub fn drop_thread(&mut self, thread: u32) {
        self.preemptions.retain(|p| p.thread != thread);
        self.late.retain(|l| l.thread != thread);
        for p in &mut self.preemptions {
            if p.thread > thread {
                p.thread -= 1;
            }
        }
        for l in &mut self.late {
            if l.thread > thread {
                l.thread -= 1;
            }
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("schedule")?;
        for p in &self.preemptions {
            write!(f, " {p}")?;
        }
        for l in &self.late {
            write!(f, " {l}")?;
        }
        Ok(())
    }
}

/// Probabilistic concurrency testing (PCT) for the choices a schedule
/// leaves open: the highest-priority runnable thread runs; at each change
/// point (a switch point number) the running thread drops below all
/// others. What the fuzzers' inputs carry; not part of the text format: a
/// report prints the schedule the run took, which replays it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Pct {
    /// Distinct priorities; the higher runs first.
    pub priority: [u8; MAX_THREADS],
    /// The first `nr_changes` are the change points.
    pub changes: [u32; MAX_PCT_CHANGES],
    pub nr_changes: usize,
}

/// PCT change points an input may carry.
pub const MAX_PCT_CHANGES: usize = 4;

/// Operations run concurrently, under a schedule.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Race {
    pub branches: Vec<Step>,
    pub schedule: Schedule,
    /// How the choices the schedule leaves open are made (fuzz inputs).
    pub pct: Option<Pct>,
    /// Hold back, besides the schedule's late stores, every store a thread
    /// makes to an object it allocated in the race (its initialisation):
    /// how a fuzz input reaches a publication without its release. Not
    /// part of the text format: the schedule the run took lists them.
    pub hold_fresh: bool,
}

impl fmt::Display for Race {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("par")?;
        for b in &self.branches {
            write!(f, " {{ {b} }}")?;
        }
        if !self.schedule.is_empty() {
            write!(f, "\n{}", self.schedule)?;
        }
        Ok(())
    }
}

/// Parses the branches of a `par` line (the words after `par`).
pub fn parse_par(
    rest: &str,
    parse_step: impl Fn(&[&str]) -> Result<Step, String>,
) -> Result<Vec<Step>, String> {
    let mut branches = Vec::new();
    let mut text = rest.trim();
    while !text.is_empty() {
        let inner = text
            .strip_prefix('{')
            .ok_or_else(|| format!("a par branch is `{{ OPERATION }}`, not `{text}`"))?;
        let close = inner
            .find('}')
            .ok_or("a par branch is missing its closing `}`")?;
        let tokens: Vec<&str> = inner[..close].split_whitespace().collect();
        if tokens.is_empty() {
            return Err("an empty par branch".into());
        }
        let step = parse_step(&tokens)?;
        if step.maple.is_some() {
            return Err("maple= is not supported inside a race".into());
        }
        branches.push(step);
        text = inner[close + 1..].trim_start();
    }
    if branches.len() < 2 || branches.len() > MAX_THREADS {
        return Err(format!(
            "a race has 2 to {MAX_THREADS} branches, not {}",
            branches.len()
        ));
    }
    Ok(branches)
}

/// Parses the preemptions and late stores of a `schedule` line (the
/// words after it).
pub fn parse_schedule(words: &[&str], threads: usize) -> Result<Schedule, String> {
    let mut out = Schedule::default();
    let check_thread = |thread: &str| -> Result<u32, String> {
        let n: u32 = thread
            .parse()
            .map_err(|_| format!("thread `{thread}` is not a number"))?;
        if n as usize >= threads {
            return Err(format!(
                "thread {n} does not exist: this race has threads 0 to {}",
                threads - 1
            ));
        }
        Ok(n)
    };
    for w in words {
        if let Some(late) = w.strip_prefix("late:") {
            let (thread, store) = late
                .split_once('.')
                .ok_or_else(|| format!("a late store is late:THREAD.STORE, not `{w}`"))?;
            let thread = check_thread(thread)?;
            let store: u32 = store
                .parse()
                .map_err(|_| format!("store `{store}` is not a number"))?;
            if store == 0 {
                return Err("stores count from 1".into());
            }
            let l = LateStore { thread, store };
            if out.late.last().is_some_and(|last| *last >= l) {
                return Err(format!(
                    "late stores must be sorted, each named once (`{w}` after `{}`)",
                    out.late[out.late.len() - 1]
                ));
            }
            out.late.push(l);
            continue;
        }
        let (point, thread) = w.split_once(':').ok_or_else(|| {
            format!("a preemption is POINT:THREAD and a late store late:THREAD.STORE, not `{w}`")
        })?;
        let point: u32 = point
            .parse()
            .map_err(|_| format!("switch point `{point}` is not a number"))?;
        let thread = check_thread(thread)?;
        if point == 0 {
            return Err("switch points count from 1".into());
        }
        if let Some(last) = out.preemptions.last() {
            if last.point >= point {
                return Err(format!(
                    "preemptions must name increasing points ({} then {point})",
                    last.point
                ));
            }
        }
        out.preemptions.push(Preemption { point, thread });
    }
    if out.preemptions.len() > MAX_PREEMPTIONS {
        return Err(format!(
            "a schedule names at most {MAX_PREEMPTIONS} preemptions, not {}",
            out.preemptions.len()
        ));
    }
    if out.late.len() > MAX_LATE {
        return Err(format!(
            "a schedule names at most {MAX_LATE} late stores, not {}",
            out.late.len()
        ));
    }
    Ok(out)
}
