//! The race record of a fuzz input: the record that ends an input whose
//! kind byte selects "race" (swarm bit [`RACE_BIT`]).
//!
//! Layout: a width byte (even: two branches, odd: three); per branch a kind
//! byte (over the input's operation kinds), a fail byte and operands, each
//! resolved against the world the steps before the race built; then a mode
//! byte. An even mode is PCT: a priority byte (which order of the threads,
//! highest first), a count byte (0 to [`MAX_PCT_CHANGES`] change points,
//! modulo), and each change point as a little-endian u16 (from 1). An odd
//! mode is an explicit schedule: a count byte (modulo
//! [`MAX_PREEMPTIONS`] + 1) and per preemption a u16 point and a thread
//! byte (modulo the width); points that do not increase are dropped.
//! Either mode ends with the late stores: a count byte (its bit 7: hold
//! back every thread's initialising stores too, see [`Race::hold_fresh`];
//! the rest modulo [`FUZZ_LATE`] + 1) and per store a thread byte
//! (modulo the width) and a u16 store number (from 1). The fuzzers mutate schedules as they
//! mutate operands; `encode` writes the schedule a scenario names.

use arbitrary::Unstructured;

use crate::engine::Layout;
use crate::language::op::{OpKind, Step};
use crate::language::race::{
    LateStore, Pct, Preemption, Race, Schedule, MAX_LATE, MAX_PCT_CHANGES, MAX_PREEMPTIONS,
    MAX_THREADS,
};

use super::{byte, read_op, write_op, Fail};

/// PCT change points fall in the first this many switch points, where a
/// race of two or three operations has most of its (a few dozen).
const PCT_POINTS: u8 = 128;

/// Late stores a fuzz input may name: one or two stores held back is
/// what the publication races need.
const FUZZ_LATE: usize = 2;
const _: () = assert!(FUZZ_LATE <= MAX_LATE);

/// The swarm mask bit that lets an input end with a race.
pub const RACE_BIT: u16 = 1 << 13;

fn u16_le(u: &mut Unstructured) -> u16 {
    u.arbitrary::<u16>().unwrap_or(0)
}

/// The orders of three threads, highest priority first.
const ORDERS: [[u8; 3]; 6] = [
    [0, 1, 2],
    [0, 2, 1],
    [1, 0, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
];

/// The thread order (highest priority first) that order byte `b` names
/// for `width` threads.
fn order_of(b: u8, width: usize) -> [u8; 3] {
    if width == 3 {
        ORDERS[usize::from(b) % 6]
    } else if b % 2 == 0 {
        [0, 1, 2]
    } else {
        [1, 0, 2]
    }
}

/// Priorities giving the threads of `order` (highest first) descending
/// priority, for `width` threads.
fn priorities(order: [u8; 3], width: usize) -> [u8; MAX_THREADS] {
    let mut p = [0u8; MAX_THREADS];
    let mut rank = 3u8;
    for &t in order.iter().filter(|&&t| usize::from(t) < width) {
        p[usize::from(t)] = rank;
        rank -= 1;
    }
    p
}

pub(super) fn read(u: &mut Unstructured, kinds: &[OpKind], layout: &Layout) -> Race {
    let width = 2 + usize::from(byte(u) & 1);
    let mut branches = Vec::with_capacity(width);
    for _ in 0..width {
        let kind = kinds[usize::from(byte(u)) % kinds.len()];
        let (fail, _maple) = Fail::read(u);
        let op = read_op(u, kind, layout);
        branches.push(Step {
            op,
            fail,
            maple: None,
        });
    }
    if byte(u) & 1 == 0 {
        let order = order_of(byte(u), width);
        let nr_changes = usize::from(byte(u)) % (MAX_PCT_CHANGES + 1);
        let mut changes = [0u32; MAX_PCT_CHANGES];
        for c in changes.iter_mut().take(nr_changes) {
            *c = u32::from(byte(u) % PCT_POINTS) + 1;
        }
        let (late, hold_fresh) = read_late(u, width);
        return Race {
            branches,
            schedule: Schedule {
                preemptions: Vec::new(),
                late,
            },
            hold_fresh,
            pct: Some(Pct {
                priority: priorities(order, width),
                changes,
                nr_changes,
            }),
        };
    }
    let count = usize::from(byte(u)) % (MAX_PREEMPTIONS + 1);
    let mut plan: Vec<Preemption> = Vec::with_capacity(count);
    for _ in 0..count {
        let point = u32::from(u16_le(u)).max(1);
        let thread = u32::from(byte(u)) % width as u32;
        if plan.last().is_none_or(|p| p.point < point) {
            plan.push(Preemption { point, thread });
        }
    }
    let (late, hold_fresh) = read_late(u, width);
    Race {
        branches,
        schedule: Schedule {
            preemptions: plan,
            late,
        },
        pct: None,
        hold_fresh,
    }
}

/// Bit 7 of the late count byte: hold back initialising stores too.
const HOLD_FRESH: u8 = 0x80;

fn read_late(u: &mut Unstructured, width: usize) -> (Vec<LateStore>, bool) {
    let b = byte(u);
    let count = usize::from(b & !HOLD_FRESH) % (FUZZ_LATE + 1);
    let mut late: Vec<LateStore> = (0..count)
        .map(|_| LateStore {
            thread: u32::from(byte(u)) % width as u32,
            store: u32::from(u16_le(u)).max(1),
        })
        .collect();
    late.sort();
    late.dedup();
    (late, b & HOLD_FRESH != 0)
}

pub(super) fn write(
    out: &mut Vec<u8>,
    race: &Race,
    kinds: &[OpKind],
    layout: &Layout,
) -> Result<(), String> {
    if !(2..=3).contains(&race.branches.len()) {
        return Err(format!("a race of {} operations", race.branches.len()));
    }
    out.push(u8::from(race.branches.len() == 3));
    for b in &race.branches {
        let selector = kinds
            .iter()
            .position(|&k| k == b.op.kind())
            .ok_or("the mask holds every kind used")?;
        out.push(selector as u8);
        Fail::write(out, b.fail, None)?;
        write_op(out, &b.op, layout)?;
    }
    match &race.pct {
        Some(pct) => {
            out.push(0);
            let width = race.branches.len();
            let order = (0..6u8)
                .find(|&k| priorities(order_of(k, width), width) == pct.priority)
                .ok_or("PCT priorities that no thread order gives")?;
            out.push(order);
            out.push(pct.nr_changes as u8);
            for &c in &pct.changes[..pct.nr_changes] {
                let c = u8::try_from(c.saturating_sub(1))
                    .ok()
                    .filter(|&c| c < PCT_POINTS)
                    .ok_or("a PCT change point past the first 128 switch points")?;
                out.push(c);
            }
        }
        None => {
            out.push(1);
            out.push(race.schedule.preemptions.len() as u8);
            for p in &race.schedule.preemptions {
                let point = u16::try_from(p.point).map_err(|_| "a switch point past 65535")?;
                out.extend_from_slice(&point.to_le_bytes());
                out.push(p.thread as u8);
            }
        }
    }
    let late = &race.schedule.late;
    if late.len() > FUZZ_LATE {
        return Err(format!(
            "{} late stores (an input carries at most {FUZZ_LATE})",
            late.len()
        ));
    }
    out.push(late.len() as u8 | if race.hold_fresh { HOLD_FRESH } else { 0 });
    for l in late {
        let store = u16::try_from(l.store).map_err(|_| "a late store number past 65535")?;
        out.push(l.thread as u8);
        out.extend_from_slice(&store.to_le_bytes());
    }
    Ok(())
}
