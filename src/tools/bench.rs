//! Measurements behind `scripts/bench` (`rmapfuzz bench ...`): throughput of
//! the C side alone, the oracle alone and the differential run on one fixed
//! set of inputs; cost per operation as scenarios grow; `explore` on each
//! zoo variant. Every figure of one table comes from one run, so ratios
//! compare like with like on a shared, noisy machine.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::check::invariants;
use crate::check::runner::{run, Checks, RunOptions};
use crate::check::snapshot::canonicalize;
use crate::engine::c::CEngine;
use crate::engine::oracle::OracleEngine;
use crate::engine::variant::Variant;
use crate::engine::Engine;
use crate::input::encoding::decode;
use crate::language::scenario::Scenario;
use crate::tools::explore::{explore, universe_for};

/// A deterministic byte stream (xorshift64*), so every run of a benchmark
/// decodes the same inputs.
struct Bytes(u64);

impl Bytes {
    fn next(&mut self) -> u8 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
    }
}

/// `count` scenarios of exactly `ops` operations each, decoded from
/// seeded bytes as the fuzzers would decode them (a decoded input holds at
/// most `MAX_STEPS` operations: longer scenarios join several).
pub fn inputs(count: usize, ops: usize, seed: u64) -> Vec<Scenario> {
    let mut bytes = Bytes(seed.max(1));
    (0..count)
        .map(|_| {
            let mut steps = Vec::new();
            while steps.len() < ops {
                let data: Vec<u8> = (0..4096).map(|_| bytes.next()).collect();
                steps.extend(decode(&data).steps);
            }
            steps.truncate(ops);
            Scenario::new(steps)
        })
        .collect()
}

/// The shortest of three timed runs of `f`: on a shared machine the
/// shortest is the one least disturbed.
fn time(f: impl Fn()) -> Duration {
    (0..3)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .expect("three runs")
}

/// Seconds spent by each way of running `inputs` on `v`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Throughput {
    pub ops: usize,
    pub c_alone: Duration,
    pub c_checked: Duration,
    pub oracle_alone: Duration,
    pub differential: Duration,
    pub differential_final: Duration,
}

/// Runs `inputs` five ways: the C side alone (apply only), the C side with
/// what the runner does to it (canonical snapshot and invariants after
/// every op), the oracle alone (apply only), the differential run checking
/// every step (replay) and checking states after the last step only (the
/// fuzzers' runs).
pub fn throughput(inputs: &[Scenario], v: Variant) -> Throughput {
    let ops = inputs.iter().map(|s| s.steps.len()).sum();
    let c_alone = time(|| {
        for s in inputs {
            let mut c = CEngine::new(v.name).expect("variant");
            for st in &s.steps {
                c.apply(&st.op, st.fail);
            }
        }
    });
    let c_checked = time(|| {
        for s in inputs {
            let mut c = CEngine::new(v.name).expect("variant");
            for st in &s.steps {
                c.apply(&st.op, st.fail);
                let snap = canonicalize(&c.snapshot());
                std::hint::black_box(invariants::check(&snap));
                std::hint::black_box(c.hygiene());
            }
        }
    });
    let oracle_alone = time(|| {
        for s in inputs {
            let mut o = OracleEngine::new();
            for st in &s.steps {
                o.apply(&st.op, st.fail);
            }
        }
    });
    let differential = differential_only(inputs, v, Checks::EveryStep);
    let differential_final = differential_only(inputs, v, Checks::Final);
    Throughput {
        ops,
        c_alone,
        c_checked,
        oracle_alone,
        differential,
        differential_final,
    }
}

/// The differential run alone, with `checks`: what a profiler looks at.
pub fn differential_only(inputs: &[Scenario], v: Variant, checks: Checks) -> Duration {
    let opts = RunOptions {
        checks,
        ..RunOptions::default()
    };
    time(|| {
        for s in inputs {
            std::hint::black_box(run(s, v, opts));
        }
    })
}

fn per_sec(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

/// The throughput table (markdown).
pub fn throughput_table(t: &Throughput, what: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| run ({what}, {} ops) | seconds | ops/s | time / C alone |",
        t.ops
    );
    let _ = writeln!(out, "|---|---|---|---|");
    let base = t.c_alone.as_secs_f64().max(1e-9);
    for (name, d) in [
        ("C alone (apply)", t.c_alone),
        ("oracle alone (apply)", t.oracle_alone),
        ("C + snapshot + invariants + hygiene", t.c_checked),
        ("differential, every step checked (replay)", t.differential),
        (
            "differential, states checked after the last step (fuzzers)",
            t.differential_final,
        ),
    ] {
        let _ = writeln!(
            out,
            "| {name} | {:.3} | {:.0} | {:.1}x |",
            d.as_secs_f64(),
            per_sec(t.ops, d),
            d.as_secs_f64() / base
        );
    }
    out
}

/// Cost per operation of the differential run and of the C side alone as
/// scenarios grow.
pub fn scaling_table(v: Variant, lengths: &[usize], budget_ops: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| ops per scenario | scenarios | C alone, us/op | differential, us/op | ratio | differential (fuzzers), us/op | ratio |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for &len in lengths {
        let count = (budget_ops / len).max(2);
        let set = inputs(count, len, 0x5eed + len as u64);
        let t = throughput(&set, v);
        let us = |d: Duration| d.as_secs_f64() * 1e6 / t.ops as f64;
        let _ = writeln!(
            out,
            "| {len} | {count} | {:.2} | {:.2} | {:.1}x | {:.2} | {:.1}x |",
            us(t.c_alone),
            us(t.differential),
            us(t.differential) / us(t.c_alone).max(1e-9),
            us(t.differential_final),
            us(t.differential_final) / us(t.c_alone).max(1e-9)
        );
    }
    out
}

/// `explore` on one zoo variant in the universe of its corpus scenario:
/// (depth searched, states, seconds, found).
pub fn explore_zoo(v: Variant, s: &Scenario, threads: usize) -> (usize, usize, f64, bool) {
    let (depth, u) = universe_for(s);
    let x = explore(
        v,
        depth,
        &u,
        threads,
        Some(Duration::from_secs(600)),
        None,
        &|_| {},
    );
    (
        depth,
        x.states,
        x.elapsed.as_secs_f64(),
        x.failure.is_some(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_deterministic_and_of_the_asked_length() {
        let a = inputs(5, 16, 7);
        let b = inputs(5, 16, 7);
        assert_eq!(a, b);
        assert!(a.iter().all(|s| s.steps.len() == 16));
        assert_ne!(inputs(5, 16, 8), a);
    }
}
