//! A structure-aware mutator and crossover for the fuzz input format
//! ([`crate::input::encoding`]). Byte mutations rarely grow an input by a whole
//! operation without garbling the operations after it; the bugs worth
//! finding here sit at the end of chains like fork, fork, unmap, fork. So
//! most mutations edit whole records: delete one, duplicate one, move one,
//! insert or replace one with a fresh record, switch fault injection on or
//! off for one, or change the swarm mask. The rest are left to the
//! fuzzer's own byte mutations. Operands are resolved against the world
//! the steps before them build, so a duplicated `fork` forks whichever
//! process its byte now selects: edits stay meaningful.
//!
//! libFuzzer calls these through `fuzz_mutator!`/`fuzz_crossover!` in
//! `fuzz/fuzz_targets/`.

use std::ops::Range;

use crate::input::encoding::{
    decode_records, fail_field, fail_field_len, Record, FAIL_ONCE, HEADER_LEN,
};
use crate::language::op::FailPlan;

/// A small deterministic generator (xorshift32): libFuzzer hands us a seed
/// per call and replays depend on it.
struct Rng(u32);

impl Rng {
    fn new(seed: u32) -> Rng {
        Rng(seed ^ 0x9e37_79b9 | 1)
    }

    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        self.next() as usize % n
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// The records of `data`, clipped to the data.
fn records(data: &[u8]) -> Vec<Record> {
    let (_, records) = decode_records(data);
    records
        .into_iter()
        .map(|r| Record {
            bytes: r.bytes.start.min(data.len())..r.bytes.end.min(data.len()),
            allocs: r.allocs,
        })
        .collect()
}

/// The offsets between records, where a record can go: before each record
/// and at the end.
fn boundaries(data: &[u8], records: &[Record]) -> Vec<usize> {
    let mut at: Vec<usize> = records.iter().map(|r| r.bytes.start).collect();
    at.push(data.len().max(HEADER_LEN));
    at
}

fn spliced(data: &[u8], remove: Range<usize>, insert: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + insert.len());
    out.extend_from_slice(&data[..remove.start]);
    out.extend_from_slice(insert);
    out.extend_from_slice(&data[remove.end..]);
    out
}

/// The input padded to a full header (an empty input has none).
fn with_header(data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    if out.len() < HEADER_LEN {
        out.resize(HEADER_LEN, 0);
    }
    out
}

/// A fresh record to insert at `at`: random bytes, as many as the decoder
/// reads for one operation there, so that it does not eat into the record
/// after it. `None` if that operation would need more than 12 bytes.
fn fresh_record(data: &[u8], at: usize, rng: &mut Rng) -> Option<Vec<u8>> {
    let mut bytes: Vec<u8> = (0..12).map(|_| rng.byte()).collect();
    // Most operations should succeed, as in the decoder's fail byte; a
    // quarter fail, mostly at their first allocation.
    bytes[1] = if rng.below(4) == 0 {
        FAIL_ONCE + [0, rng.byte() % 64][rng.below(2)]
    } else {
        0
    };
    let candidate = spliced(&data[..at], at..at, &bytes);
    let (_, recs) = decode_records(&candidate);
    let fresh = &recs.iter().find(|r| r.bytes.start == at)?.bytes;
    (fresh.end < candidate.len()).then(|| bytes[..fresh.end - at].to_vec())
}

/// One structural edit of `data`, or `None` if this one does not apply.
fn edit(data: &[u8], rng: &mut Rng) -> Option<Vec<u8>> {
    let data = with_header(data);
    let recs = records(&data);
    let pick = |rng: &mut Rng| -> Option<Range<usize>> {
        (!recs.is_empty()).then(|| recs[rng.below(recs.len())].bytes.clone())
    };
    match rng.below(9) {
        // Delete a record.
        0 => {
            let r = pick(rng)?;
            Some(spliced(&data, r, &[]))
        }
        // Duplicate a record, right after itself or anywhere.
        1 | 2 => {
            let r = pick(rng)?;
            let copy = data[r.clone()].to_vec();
            let at = if rng.below(2) == 0 {
                r.end
            } else {
                let at = boundaries(&data, &recs);
                at[rng.below(at.len())]
            };
            Some(spliced(&data, at..at, &copy))
        }
        // Move a record elsewhere.
        3 => {
            let r = pick(rng)?;
            let moved = data[r.clone()].to_vec();
            let rest = spliced(&data, r, &[]);
            let at = boundaries(&rest, &records(&rest));
            let to = at[rng.below(at.len())];
            Some(spliced(&rest, to..to, &moved))
        }
        // Insert a fresh record.
        4 | 5 => {
            let at = boundaries(&data, &recs);
            let to = at[rng.below(at.len())];
            let fresh = fresh_record(&data, to, rng)?;
            Some(spliced(&data, to..to, &fresh))
        }
        // Fail one of the allocations an operation makes (the oracle
        // counted them while decoding), mostly the first; or stop
        // failing one.
        6 | 7 => {
            let allocating: Vec<&Record> = recs.iter().filter(|r| r.allocs > 0).collect();
            let r = allocating.get(rng.below(allocating.len().max(1)))?;
            let at = r.bytes.start + 1;
            let old = data.get(at).copied().filter(|_| at < r.bytes.end)?;
            let old_len = fail_field_len(&data[at..r.bytes.end]);
            let plan = if old >= FAIL_ONCE && rng.below(2) == 0 {
                None
            } else {
                Some(FailPlan {
                    nth: [1, 1 + rng.below(r.allocs) as u32][rng.below(2)],
                    and_later: rng.below(4) == 0,
                })
            };
            Some(spliced(&data, at..at + old_len, &fail_field(plan)))
        }
        // A new swarm mask: every kind, or a random subset.
        _ => {
            let mut out = data.clone();
            let (lo, hi) = if rng.below(2) == 0 {
                (0, 0)
            } else {
                (rng.byte(), rng.byte())
            };
            out[0] = lo;
            out[1] = hi;
            Some(out)
        }
    }
}

/// libFuzzer's custom mutator: mutates `data[..size]` in place (up to
/// `max_size` bytes) and returns the new size. A third of the calls, and
/// every edit that does not apply or fit, go to `bytes` (libFuzzer's own
/// mutator).
pub fn mutate(
    data: &mut [u8],
    size: usize,
    max_size: usize,
    seed: u32,
    bytes: impl FnOnce(&mut [u8], usize, usize) -> usize,
) -> usize {
    let mut rng = Rng::new(seed);
    if rng.below(3) != 0 {
        if let Some(out) = edit(&data[..size], &mut rng) {
            if out.len() <= max_size && out.len() <= data.len() && out != data[..size] {
                data[..out.len()].copy_from_slice(&out);
                return out.len();
            }
        }
    }
    bytes(data, size, max_size)
}

/// libFuzzer's custom crossover: the first records of `a` (with its swarm
/// mask), then the last records of `b`; returns the size written to `out`.
pub fn crossover(a: &[u8], b: &[u8], out: &mut [u8], seed: u32) -> usize {
    let mut rng = Rng::new(seed);
    let a = with_header(a);
    let a_at = boundaries(&a, &records(&a));
    let b_recs = records(b);
    let cut_a = a_at[rng.below(a_at.len())];
    let from_b = if b_recs.is_empty() {
        b.len()
    } else {
        b_recs[rng.below(b_recs.len())].bytes.start
    };
    let mut child = a[..cut_a].to_vec();
    child.extend_from_slice(&b[from_b.min(b.len())..]);
    // Cut at a record boundary if it does not fit.
    if child.len() > out.len() {
        let fits = records(&child)
            .iter()
            .map(|r| r.bytes.end)
            .take_while(|&end| end <= out.len())
            .last()
            .unwrap_or(HEADER_LEN.min(out.len()));
        child.truncate(fits);
    }
    out[..child.len()].copy_from_slice(&child);
    child.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::encoding::{decode, encode};
    use crate::language::parse::parse_scenario;

    fn chain() -> Vec<u8> {
        let s = parse_scenario(
            "mmap 0 0x10000 0x1000\nfault 0 0x10000 w\nfork 0\nfork 1\n",
            "t",
        )
        .unwrap();
        encode(&s).unwrap()
    }

    #[test]
    fn records_tile_the_input_after_the_header() {
        let data = chain();
        let recs = records(&data);
        assert_eq!(recs.len(), 4);
        assert_eq!(recs[0].bytes.start, HEADER_LEN);
        for w in recs.windows(2) {
            assert_eq!(w[0].bytes.end, w[1].bytes.start);
        }
        assert_eq!(recs.last().unwrap().bytes.end, data.len());
        // mmap allocates a VMA; the first write fault an anon_vma, an AVC
        // and a page; fork an mm, VMAs, anon_vmas and AVCs.
        let allocs: Vec<usize> = recs.iter().map(|r| r.allocs).collect();
        assert_eq!(allocs[0], 1);
        assert!(
            allocs[1] >= 3 && allocs[2] > 1 && allocs[3] > 1,
            "{allocs:?}"
        );
    }

    #[test]
    fn structural_edits_keep_the_other_operations() {
        let data = chain();
        let before = decode(&data).steps;
        let mut changed = 0;
        for seed in 0..400 {
            let mut rng = Rng::new(seed);
            let Some(out) = edit(&data, &mut rng) else {
                continue;
            };
            let after = decode(&out).steps;
            changed += usize::from(after != before);
            // At most one record goes away (a new swarm mask may reread
            // every record, and is left out).
            if out[..2] == data[..2] {
                assert!(after.len() + 1 >= before.len(), "seed {seed}: {after:?}");
            }
        }
        assert!(
            changed > 200,
            "only {changed} of 400 edits changed the scenario"
        );
    }

    #[test]
    fn duplicating_the_last_fork_lengthens_the_chain() {
        // Some seed duplicates `fork 1` at the end: five operations, the
        // first four unchanged.
        let data = chain();
        let before = decode(&data).steps;
        let grown = (0..2000u32).any(|seed| {
            let mut buf = data.clone();
            buf.resize(256, 0);
            let n = mutate(&mut buf, data.len(), 256, seed, |_, s, _| s);
            let after = decode(&buf[..n]).steps;
            after.len() == 5
                && after[..4] == before[..]
                && after[4].op.kind() == before[3].op.kind()
        });
        assert!(grown);
    }

    #[test]
    fn injected_failures_reach_an_allocation() {
        let data = chain();
        let (before, recs) = decode_records(&data);
        let mut injected = 0;
        for seed in 0..2000 {
            let mut rng = Rng::new(seed);
            let Some(out) = edit(&data, &mut rng) else {
                continue;
            };
            let after = decode(&out);
            if after.steps.len() != before.steps.len() || out[..2] != data[..2] {
                continue;
            }
            for (i, (a, b)) in after.steps.iter().zip(&before.steps).enumerate() {
                if let (Some(plan), None, true) = (a.fail, b.fail, a.op == b.op) {
                    assert!(plan.nth as usize <= recs[i].allocs, "seed {seed}: {a:?}");
                    injected += 1;
                }
            }
        }
        assert!(injected > 50, "only {injected} injections in 2000 edits");
    }

    #[test]
    fn fresh_records_do_not_shift_the_ones_after() {
        let data = chain();
        let before = decode(&data).steps;
        let mut inserted = 0;
        for seed in 0..200 {
            let mut rng = Rng::new(seed);
            let at = records(&data)[1].bytes.start;
            if let Some(fresh) = fresh_record(&data, at, &mut rng) {
                let after = decode(&spliced(&data, at..at, &fresh)).steps;
                assert_eq!(after.len(), before.len() + 1);
                assert_eq!(after[0], before[0]);
                inserted += 1;
            }
        }
        assert!(inserted > 100, "only {inserted} of 200 fresh records fit");
    }

    #[test]
    fn mutate_respects_max_size_and_falls_back() {
        let data = chain();
        for seed in 0..300 {
            let mut buf = data.clone();
            let n = mutate(&mut buf, data.len(), data.len(), seed, |_, s, _| s);
            assert!(n <= data.len());
        }
        // With room to grow, two calls in three are structural.
        let fell_back = std::cell::Cell::new(0);
        for seed in 0..300u32 {
            let mut buf = data.clone();
            buf.resize(64, 0);
            mutate(&mut buf, data.len(), 64, seed, |_, s, _| {
                fell_back.set(fell_back.get() + 1);
                s
            });
        }
        let structural = 300 - fell_back.get();
        assert!((150..=250).contains(&structural), "{structural} of 300");
    }

    #[test]
    fn crossover_joins_records_of_both() {
        use crate::language::op::Op;
        // Same kinds, so the same swarm mask: b's records read as in b.
        let a = chain();
        let b = encode(
            &parse_scenario("mmap 0 0x40000 0x2000\nfault 0 0x41000 w\nfork 0\n", "t").unwrap(),
        )
        .unwrap();
        let mut out = vec![0u8; 256];
        let mut saw_both = false;
        for seed in 0..200 {
            let n = crossover(&a, &b, &mut out, seed);
            let steps = decode(&out[..n]).steps;
            let from_a = steps.first().map(|s| s.op) == Some(decode(&a).steps[0].op);
            let from_b = steps
                .iter()
                .any(|s| matches!(s.op, Op::Mmap { start: 0x40000, .. }));
            saw_both |= from_a && from_b;
        }
        assert!(saw_both);
        let mut small = vec![0u8; 5];
        let n = crossover(&a, &b, &mut small, 3);
        assert!(n <= 5);
    }
}
