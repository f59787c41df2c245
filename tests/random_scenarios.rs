//! Random operation sequences, with random fault injection, must pass on
//! both correct variants: a divergence here is a bug in rmapfuzz itself.
//! Operands are drawn from the state the sequence has built (live
//! processes, addresses inside VMAs, free ranges), tracked with the oracle,
//! so most operations do real work. The fuzz targets explore this space far
//! more; this keeps a fixed, seeded sample in the test suite.

use rmapfuzz::check::runner::{run, RunOptions};
use rmapfuzz::check::snapshot::{canonicalize, Snapshot};
use rmapfuzz::engine::oracle::OracleEngine;
use rmapfuzz::engine::variant;
use rmapfuzz::engine::Engine;
use rmapfuzz::language::op::{Access, Advice, FailPlan, Op, Step};
use rmapfuzz::language::scenario::Scenario;

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        (!items.is_empty()).then(|| items[self.below(items.len() as u64) as usize])
    }
}

const BASE: u64 = 0x10000;
const SPAN_PAGES: u64 = 48;

/// VMAs of process `mm` as (start, end).
fn vmas(w: &Snapshot, mm: u32) -> Vec<(u64, u64)> {
    w.mms
        .iter()
        .filter(|m| m.id == mm)
        .flat_map(|m| m.vmas.iter().map(|v| (v.start, v.end)))
        .collect()
}

fn free_start(r: &mut Rng, taken: &[(u64, u64)], len: u64) -> u64 {
    for _ in 0..8 {
        let start = BASE + r.below(SPAN_PAGES) * 0x1000;
        if taken.iter().all(|&(s, e)| start + len <= s || start >= e) {
            return start;
        }
    }
    BASE + r.below(SPAN_PAGES) * 0x1000
}

fn next_step(r: &mut Rng, w: &Snapshot) -> Step {
    let ids: Vec<u32> = w.mms.iter().map(|m| m.id).collect();
    let mm = r.pick(&ids).unwrap_or(0);
    let taken = vmas(w, mm);
    let inside = |r: &mut Rng| match r.pick(&taken) {
        Some((s, e)) => s + r.below((e - s) / 0x1000) * 0x1000,
        None => BASE,
    };
    let len = (1 + r.below(5)) * 0x1000;
    let op = match r.below(20) {
        0..=3 => Op::Mmap {
            mm,
            start: free_start(r, &taken, len),
            len,
        },
        4..=8 => Op::Fault {
            mm,
            addr: inside(r),
            access: if r.below(5) == 0 {
                Access::Read
            } else {
                Access::Write
            },
        },
        9 | 10 if ids.len() < 6 => Op::Fork { mm },
        11 => Op::Split {
            mm,
            addr: inside(r),
        },
        12 => Op::Merge {
            mm,
            addr: inside(r),
        },
        13 => {
            let addr = inside(r);
            let vlen = taken
                .iter()
                .find(|&&(s, e)| s <= addr && addr < e)
                .map_or(0x1000, |&(s, e)| e - s);
            Op::Mremap {
                mm,
                addr,
                new_addr: free_start(r, &taken, vlen),
            }
        }
        14 => Op::Munmap {
            mm,
            start: inside(r),
            len,
        },
        15 | 16 => Op::Madvise {
            mm,
            start: inside(r),
            len,
            advice: Advice::ALL[r.below(4) as usize],
        },
        17 if ids.len() > 1 => Op::Exit { mm },
        _ => Op::Rmap {
            mm,
            addr: inside(r),
        },
    };
    let fail = (r.below(4) == 0).then(|| FailPlan {
        nth: 1 + r.below(8) as u32,
        and_later: r.below(2) == 0,
    });
    Step {
        op,
        fail,
        maple: None,
    }
}

#[test]
fn random_scenarios_pass_on_correct_variants() {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    for n in 0..300 {
        // The oracle tracks the state the operands are drawn from.
        let mut tracker = OracleEngine::new();
        let mut steps = Vec::new();
        for _ in 0..20 + r.below(60) {
            let step = next_step(&mut r, &canonicalize(&tracker.snapshot()));
            tracker.apply(&step.op, step.fail);
            steps.push(step);
        }
        let s = Scenario::new(steps);
        for v in variant::correct() {
            let result = run(&s, v, RunOptions::default());
            if let Some(f) = result.failure {
                panic!("scenario {n} fails on {}:\n{f}\n{s}", v.name);
            }
        }
    }
}
