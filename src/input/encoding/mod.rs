//! Fuzz input ⇄ scenario.
//!
//! [`decode`] turns any byte string into a [`Scenario`] by reading it
//! through `arbitrary::Unstructured`; [`encode`] is its inverse, so every
//! text scenario can seed the fuzzers: `decode(&encode(s)?) == s`.
//!
//! Layout: two bytes of *swarm* mask (which operation kinds this input may
//! use; 0 means all), then one record per step: a kind byte, a fail byte,
//! and the operands. Operands are resolved against the state the steps so
//! far have built, tracked with the oracle, so random bytes mostly make
//! operations that do something: a process byte picks one of the live
//! processes, an address byte picks one of that process's VMAs and the next
//! byte a page in it. Escape bytes carry literal values, so scenarios with
//! deliberately invalid operands still encode.

mod race;

use std::fmt;
use std::ops::Range;

use arbitrary::Unstructured;

use crate::engine::oracle::OracleEngine;
use crate::engine::{Engine, Layout};
use crate::language::op::{Access, Advice, FailPlan, Op, OpKind, Step};
use crate::language::scenario::Scenario;

/// Longest scenario an input decodes to.
pub const MAX_STEPS: usize = 256;
/// Bytes before the first step's record: the swarm mask.
pub const HEADER_LEN: usize = 2;
/// Where addresses chosen without a VMA fall: 255 pages from here.
pub const WINDOW_BASE: u64 = 0x10000;
/// New ranges may also start in a high window of 16 pages around 16 TiB,
/// where page offsets cross 2^32: Linux 7.3 keeps a VMA's anonymous page
/// offset in two 32-bit halves, and only there do both matter.
pub const HIGH_WINDOW_BASE: u64 = (1 << 44) - 8 * PAGE;
/// New-start bytes HIGH.. (16 of them) name a page of the high window.
const HIGH: u8 = 0xb0;
const HIGH_PAGES: u8 = 16;
const PAGE: u64 = 4096;
/// Byte values with a fixed meaning in operand positions.
const ESCAPE: u8 = 0xff;
const WINDOW: u8 = 0xfe;
/// New-range start bytes from here on name a VMA to be adjacent to.
const ADJACENT: u8 = 0xc0;
/// Fail bytes: below FAIL_ONCE no injection (three quarters of them, so
/// that the operations building a world mostly succeed); FAIL_ONCE.. is
/// `fail=N` and FAIL_LATER.. is `fail=N+`, with N drawn from every other
/// entry of FAIL_NTH, where small N (most error paths are at the first
/// allocations of an operation) take most of the byte values. Other N
/// follow an escape.
pub const FAIL_ONCE: u8 = 192;
/// Fail bytes MAPLE_ONLY..FAIL_ONCE fail a maple-tree preallocation
/// (`maple=N`, N from MAPLE_NTH) and no allocation. After an escape, the
/// flags byte holds `fail=N+` in bit 0, `maple=N` (N < 64) in bits 1-6,
/// and in bit 7 "no allocation fails" (the escaped N is then ignored).
const MAPLE_ONLY: u8 = 176;
const MAPLE_NTH: [u32; 16] = [1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 4, 4];
const ESCAPED_LATER: u8 = 1;
const ESCAPED_NO_ALLOC: u8 = 0x80;
const ESCAPED_MAPLE_MAX: u32 = 63;
const FAIL_LATER: u8 = 224;
const FAIL_NTH: [u8; 64] = {
    let mut table = [0u8; 64];
    let runs: [(u8, usize); 10] = [
        (1, 24),
        (2, 16),
        (3, 10),
        (4, 6),
        (5, 3),
        (6, 1),
        (8, 1),
        (11, 1),
        (16, 1),
        (24, 1),
    ];
    let (mut i, mut r) = (0, 0);
    while r < runs.len() {
        let mut n = 0;
        while n < runs[r].1 {
            table[i] = runs[r].0;
            i += 1;
            n += 1;
        }
        r += 1;
    }
    table
};
/// Lengths decode to 1..=LEN_PAGES pages.
const LEN_PAGES: u64 = 16;

/// A scenario that the byte format cannot express.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct EncodeError {
    pub step: usize,
    pub reason: String,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "op #{}: {}", self.step + 1, self.reason)
    }
}

fn byte(u: &mut Unstructured) -> u8 {
    u.arbitrary::<u8>().unwrap_or(0)
}

fn u32_le(u: &mut Unstructured) -> u32 {
    u.arbitrary::<u32>().unwrap_or(0)
}

fn u64_le(u: &mut Unstructured) -> u64 {
    u.arbitrary::<u64>().unwrap_or(0)
}

/// How many selector values each kind takes in an input's kind table:
/// forks build anon_vma hierarchies; faults, mmaps, unmaps and exits grow
/// and shrink them; splits and merges are where the series changed
/// anon_vma_clone. They come twice or three times as often as mremap,
/// madvise and the rmap walk.
fn weight(kind: OpKind) -> usize {
    match kind {
        OpKind::Fork => 3,
        OpKind::Mremap
        | OpKind::Madvise
        | OpKind::Rmap
        | OpKind::Reclaim
        | OpKind::Migrate
        | OpKind::Referenced => 1,
        _ => 2,
    }
}

/// The kind table of an input: the kinds of its swarm mask (all of them
/// for an empty mask), each repeated by its weight. A kind byte selects
/// an entry, modulo the table's length.
fn swarm(mask: u16) -> Vec<OpKind> {
    let chosen = |i: usize| mask == 0 || mask & (1 << i) != 0;
    let kinds: Vec<OpKind> = OpKind::ALL
        .into_iter()
        .enumerate()
        .filter(|&(i, _)| chosen(i))
        .flat_map(|(_, k)| std::iter::repeat_n(k, weight(k)))
        .collect();
    if kinds.is_empty() {
        swarm(0)
    } else {
        kinds
    }
}

/// An entry of an input's kind table: an operation, or the race that ends
/// the input (`race`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entry {
    Op(OpKind),
    Race,
}

/// Selector values the race takes in a kind table that allows it: as many
/// as a fork, the most frequent operation. A race ends its input, so it
/// comes at most once per input anyway.
const RACE_WEIGHT: usize = 3;

/// The kind table with the race, when the mask allows it (an empty mask
/// allows everything): after the operations.
fn entries(mask: u16) -> Vec<Entry> {
    let mut table: Vec<Entry> = swarm(mask & !race::RACE_BIT)
        .into_iter()
        .map(Entry::Op)
        .collect();
    if mask == 0 || mask & race::RACE_BIT != 0 {
        table.extend([Entry::Race; RACE_WEIGHT]);
    }
    table
}

/// Decodes any bytes into a scenario (never fails, never panics).
pub fn decode(data: &[u8]) -> Scenario {
    decode_records(data).0
}

/// One step's record in an input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Where it lies in the input (the last may run past the end of the
    /// data, which decodes as zeros).
    pub bytes: Range<usize>,
    /// Allocations the oracle attempted for the step, with the record's
    /// own fail plan.
    pub allocs: usize,
}

/// [`decode`], and each step's record (the records follow one another
/// from [`HEADER_LEN`] on).
pub fn decode_records(data: &[u8]) -> (Scenario, Vec<Record>) {
    let mut u = Unstructured::new(data);
    let at = |u: &Unstructured| data.len() - u.len();
    let mask = u16::from(byte(&mut u)) | (u16::from(byte(&mut u)) << 8);
    let table = entries(mask);
    let kinds = swarm(mask & !race::RACE_BIT);
    let mut tracker = OracleEngine::new();
    let mut steps = Vec::new();
    let mut records = Vec::new();
    while !u.is_empty() && steps.len() < MAX_STEPS {
        let start = at(&u);
        let layout = tracker.layout();
        let kind = match table[usize::from(byte(&mut u)) % table.len()] {
            Entry::Op(kind) => kind,
            Entry::Race => {
                // A race ends the input.
                let r = race::read(&mut u, &kinds, &layout);
                records.push(Record {
                    bytes: start..at(&u),
                    allocs: 0,
                });
                let mut s = Scenario::new(steps);
                s.race = Some(r);
                return (s, records);
            }
        };
        let (fail, maple) = Fail::read(&mut u);
        let op = read_op(&mut u, kind, &layout);
        let step = Step { op, fail, maple };
        let allocs = tracker.apply(&step.op, step.fail).allocs.len();
        steps.push(step);
        records.push(Record {
            bytes: start..at(&u),
            allocs,
        });
    }
    (Scenario::new(steps), records)
}

/// The bytes of a record's fail field (right after its kind byte) for
/// `fail`.
pub fn fail_field(fail: Option<FailPlan>) -> Vec<u8> {
    let mut out = Vec::new();
    Fail::write(&mut out, fail, None).expect("every fail plan encodes");
    out
}

/// How many bytes the fail field at the start of `bytes` takes, as the
/// decoder reads it.
pub fn fail_field_len(bytes: &[u8]) -> usize {
    let mut u = Unstructured::new(bytes);
    Fail::read(&mut u);
    bytes.len() - u.len()
}

/// Encodes a scenario so that [`decode`] gives it back. The header is not
/// part of the bytes.
pub fn encode(scenario: &Scenario) -> Result<Vec<u8>, EncodeError> {
    if scenario.steps.len() > MAX_STEPS {
        return Err(EncodeError {
            step: MAX_STEPS,
            reason: format!("more than {MAX_STEPS} operations"),
        });
    }
    let race_steps = scenario.race.iter().flat_map(|r| r.branches.iter());
    let mut mask: u16 = scenario
        .steps
        .iter()
        .chain(race_steps)
        .map(|s| {
            1u16 << OpKind::ALL
                .iter()
                .position(|&k| k == s.op.kind())
                .expect("every kind is listed")
        })
        .fold(0, |a, b| a | b);
    if scenario.race.is_some() {
        mask |= race::RACE_BIT;
    }
    let table = entries(mask);
    let kinds = swarm(mask & !race::RACE_BIT);
    let mut out = vec![mask as u8, (mask >> 8) as u8];
    let mut tracker = OracleEngine::new();
    for (i, step) in scenario.steps.iter().enumerate() {
        let layout = tracker.layout();
        let err = |reason: String| EncodeError { step: i, reason };
        let selector = table
            .iter()
            .position(|&k| k == Entry::Op(step.op.kind()))
            .expect("the mask holds every kind used");
        out.push(selector as u8);
        Fail::write(&mut out, step.fail, step.maple).map_err(err)?;
        write_op(&mut out, &step.op, &layout).map_err(err)?;
        tracker.apply(&step.op, step.fail);
    }
    if let Some(r) = &scenario.race {
        let err = |reason: String| EncodeError {
            step: scenario.steps.len(),
            reason,
        };
        let selector = table
            .iter()
            .position(|&k| k == Entry::Race)
            .expect("the mask allows the race");
        out.push(selector as u8);
        race::write(&mut out, r, &kinds, &tracker.layout()).map_err(err)?;
    }
    Ok(out)
}

/// The fail byte (see FAIL_ONCE); anything else after an escape.
struct Fail;

/// The N of the `slot`-th fail byte of a kind.
fn fail_nth(slot: u8) -> u32 {
    u32::from(FAIL_NTH[usize::from(slot) * 2 % FAIL_NTH.len()])
}

impl Fail {
    fn read(u: &mut Unstructured) -> (Option<FailPlan>, Option<u32>) {
        match byte(u) {
            b if b < MAPLE_ONLY => (None, None),
            b if b < FAIL_ONCE => (None, Some(MAPLE_NTH[usize::from(b - MAPLE_ONLY)])),
            ESCAPE => {
                let nth = u32_le(u).max(1);
                let flags = byte(u);
                let fail = (flags & ESCAPED_NO_ALLOC == 0).then_some(FailPlan {
                    nth,
                    and_later: flags & ESCAPED_LATER != 0,
                });
                let maple = u32::from((flags >> 1) & 0x3f);
                (fail, (maple != 0).then_some(maple))
            }
            b if b < FAIL_LATER => (
                Some(FailPlan {
                    nth: fail_nth(b - FAIL_ONCE),
                    and_later: false,
                }),
                None,
            ),
            b => (
                Some(FailPlan {
                    nth: fail_nth(b - FAIL_LATER),
                    and_later: true,
                }),
                None,
            ),
        }
    }

    fn write(out: &mut Vec<u8>, fail: Option<FailPlan>, maple: Option<u32>) -> Result<(), String> {
        let escaped = |out: &mut Vec<u8>, nth: u32, flags: u8| {
            out.push(ESCAPE);
            out.extend_from_slice(&nth.to_le_bytes());
            out.push(flags);
        };
        let maple_bits = match maple {
            None => 0,
            Some(m) if m <= ESCAPED_MAPLE_MAX => (m as u8) << 1,
            Some(m) => {
                return Err(format!(
                    "maple={m} does not encode (at most {ESCAPED_MAPLE_MAX})"
                ))
            }
        };
        match (fail, maple) {
            (None, None) => out.push(0),
            (None, Some(m)) => match MAPLE_NTH.iter().position(|&n| n == m) {
                Some(k) => out.push(MAPLE_ONLY + k as u8),
                None => escaped(out, 1, ESCAPED_NO_ALLOC | maple_bits),
            },
            (Some(FailPlan { nth, and_later }), Some(_)) => {
                escaped(out, nth, u8::from(and_later) | maple_bits)
            }
            (Some(FailPlan { nth, and_later }), None) => {
                let (base, slots) = if and_later {
                    (FAIL_LATER, ESCAPE - FAIL_LATER)
                } else {
                    (FAIL_ONCE, FAIL_LATER - FAIL_ONCE)
                };
                match (0..slots).find(|&k| fail_nth(k) == nth) {
                    Some(k) => out.push(base + k),
                    None => escaped(out, nth, u8::from(and_later)),
                }
            }
        }
        Ok(())
    }
}

/// Process: one of the live ones, counted from the newest for even bytes
/// and from the oldest for odd ones; a literal id after an escape. Zero,
/// the byte fuzzers write most, is the newest process, so a copied
/// `fork` record forks the child the last one made: chains of forks, where
/// anon_vma hierarchies grow deep, come as easily as fans.
fn read_mm(u: &mut Unstructured, ids: &[u32]) -> u32 {
    match byte(u) {
        ESCAPE => u32_le(u),
        b if ids.is_empty() => u32::from(b),
        b if b % 2 == 0 => ids[ids.len() - 1 - usize::from(b / 2) % ids.len()],
        b => ids[usize::from(b / 2) % ids.len()],
    }
}

fn write_mm(out: &mut Vec<u8>, ids: &[u32], mm: u32) {
    let from_newest = |i: usize| 2 * (ids.len() - 1 - i);
    let from_oldest = |i: usize| 2 * i + 1;
    match ids.iter().position(|&id| id == mm) {
        Some(i) if from_newest(i) < usize::from(ESCAPE) => out.push(from_newest(i) as u8),
        Some(i) if from_oldest(i) < usize::from(ESCAPE) => out.push(from_oldest(i) as u8),
        _ if ids.is_empty() && mm < u32::from(ESCAPE) => out.push(mm as u8),
        _ => {
            out.push(ESCAPE);
            out.extend_from_slice(&mm.to_le_bytes());
        }
    }
}

/// Start of a new range of `len` bytes (mmap, mremap's destination): right
/// after or right before one of the process's VMAs (byte ADJACENT.. and a
/// side byte), which is how merges happen; a page of the high window
/// (HIGH..); else a page of the window; or literal after an escape.
fn read_new_start(u: &mut Unstructured, vmas: &[(u64, u64)], len: u64) -> u64 {
    match byte(u) {
        ESCAPE => u64_le(u),
        b if (HIGH..HIGH + HIGH_PAGES).contains(&b) => {
            HIGH_WINDOW_BASE + u64::from(b - HIGH) * PAGE
        }
        b if b >= ADJACENT && !vmas.is_empty() => {
            let (start, end) = vmas[usize::from(b - ADJACENT) % vmas.len()];
            if byte(u) % 2 == 0 {
                end
            } else {
                start.wrapping_sub(len)
            }
        }
        b => WINDOW_BASE + u64::from(b) * PAGE,
    }
}

fn window_page(addr: u64, limit: u8) -> Option<u8> {
    let page = addr.checked_sub(WINDOW_BASE)? / PAGE;
    (addr % PAGE == 0 && page < u64::from(limit)).then_some(page as u8)
}

fn write_new_start(out: &mut Vec<u8>, vmas: &[(u64, u64)], len: u64, start: u64) {
    let slots = vmas.len().min(usize::from(ESCAPE - ADJACENT));
    if let Some(i) = vmas[..slots].iter().position(|&(_, end)| end == start) {
        out.extend_from_slice(&[ADJACENT + i as u8, 0]);
        return;
    }
    if let Some(i) = vmas[..slots]
        .iter()
        .position(|&(s, _)| s == start.wrapping_add(len))
    {
        out.extend_from_slice(&[ADJACENT + i as u8, 1]);
        return;
    }
    let limit = if vmas.is_empty() { ESCAPE } else { ADJACENT };
    let high = start
        .checked_sub(HIGH_WINDOW_BASE)
        .filter(|d| d % PAGE == 0 && d / PAGE < u64::from(HIGH_PAGES));
    if let Some(d) = high {
        out.push(HIGH + (d / PAGE) as u8);
        return;
    }
    match window_page(start, limit).filter(|p| !(HIGH..HIGH + HIGH_PAGES).contains(p)) {
        Some(p) => out.push(p),
        None => {
            out.push(ESCAPE);
            out.extend_from_slice(&start.to_le_bytes());
        }
    }
}

/// The VMAs a merge can act on: those touching a neighbour (all of them
/// when none does), so that a merge byte rarely picks a no-op.
fn touching(vmas: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let touches = |i: usize| {
        (i > 0 && vmas[i - 1].1 == vmas[i].0) || vmas.get(i + 1).is_some_and(|n| n.0 == vmas[i].1)
    };
    let near: Vec<(u64, u64)> = (0..vmas.len())
        .filter(|&i| touches(i))
        .map(|i| vmas[i])
        .collect();
    if near.is_empty() {
        vmas.to_vec()
    } else {
        near
    }
}

/// Length of the VMA containing `addr` (what mremap moves), or a page.
fn vma_len(vmas: &[(u64, u64)], addr: u64) -> u64 {
    vmas.iter()
        .find(|&&(s, e)| s <= addr && addr < e)
        .map_or(PAGE, |&(s, e)| e - s)
}

/// Address inside an existing range: a VMA of the process and a page in
/// it; a window page (`WINDOW`, or any byte when there is no VMA); or a
/// literal after an escape.
fn read_addr(u: &mut Unstructured, vmas: &[(u64, u64)]) -> u64 {
    match byte(u) {
        ESCAPE => u64_le(u),
        WINDOW => WINDOW_BASE + u64::from(byte(u)) * PAGE,
        b if vmas.is_empty() => WINDOW_BASE + u64::from(b) * PAGE,
        b => {
            let (start, end) = vmas[usize::from(b) % vmas.len()];
            let pages = ((end - start) / PAGE).max(1);
            start + (u64::from(byte(u)) % pages) * PAGE
        }
    }
}

fn write_addr(out: &mut Vec<u8>, vmas: &[(u64, u64)], addr: u64) {
    let inside = vmas.iter().position(|&(s, e)| s <= addr && addr < e);
    if let Some(i) = inside {
        let page = (addr - vmas[i].0) / PAGE;
        if addr % PAGE == 0 && i < usize::from(WINDOW) && page <= u64::from(u8::MAX) {
            out.push(i as u8);
            out.push(page as u8);
            return;
        }
    }
    match window_page(addr, ESCAPE) {
        Some(p) if vmas.is_empty() && p < WINDOW => out.push(p),
        Some(p) => out.extend_from_slice(&[WINDOW, p]),
        None => {
            out.push(ESCAPE);
            out.extend_from_slice(&addr.to_le_bytes());
        }
    }
}

/// Length: 1 to 16 pages, or literal.
fn read_len(u: &mut Unstructured) -> u64 {
    match byte(u) {
        ESCAPE => u64_le(u),
        b => (1 + u64::from(b) % LEN_PAGES) * PAGE,
    }
}

fn write_len(out: &mut Vec<u8>, len: u64) {
    if len % PAGE == 0 && (1..=LEN_PAGES).contains(&(len / PAGE)) {
        out.push((len / PAGE - 1) as u8);
    } else {
        out.push(ESCAPE);
        out.extend_from_slice(&len.to_le_bytes());
    }
}

fn read_op(u: &mut Unstructured, kind: OpKind, layout: &Layout) -> Op {
    let ids = layout.mm_ids();
    let mm = read_mm(u, &ids);
    let vmas = layout.vmas(mm);
    match kind {
        OpKind::Mmap => {
            let len = read_len(u);
            Op::Mmap {
                mm,
                start: read_new_start(u, vmas, len),
                len,
            }
        }
        OpKind::Fault => {
            let addr = read_addr(u, vmas);
            // Mostly writes: reads change nothing in the model.
            let access = if byte(u) % 4 == 3 {
                Access::Read
            } else {
                Access::Write
            };
            Op::Fault { mm, addr, access }
        }
        OpKind::Fork => Op::Fork { mm },
        OpKind::Split => Op::Split {
            mm,
            addr: read_addr(u, vmas),
        },
        OpKind::Merge => Op::Merge {
            mm,
            addr: read_addr(u, &touching(vmas)),
        },
        OpKind::Mremap => {
            let addr = read_addr(u, vmas);
            Op::Mremap {
                mm,
                addr,
                new_addr: read_new_start(u, vmas, vma_len(vmas, addr)),
            }
        }
        OpKind::Munmap => Op::Munmap {
            mm,
            start: read_addr(u, vmas),
            len: read_len(u),
        },
        OpKind::Madvise => {
            let (start, len) = (read_addr(u, vmas), read_len(u));
            Op::Madvise {
                mm,
                start,
                len,
                advice: Advice::ALL[usize::from(byte(u)) % Advice::ALL.len()],
            }
        }
        OpKind::Exit => Op::Exit { mm },
        OpKind::Rmap => Op::Rmap {
            mm,
            addr: read_addr(u, vmas),
        },
        OpKind::Reclaim | OpKind::Migrate | OpKind::Referenced => Op::Walk {
            walker: kind.walker().expect("a walker kind"),
            mm,
            addr: read_addr(u, vmas),
        },
    }
}

fn write_op(out: &mut Vec<u8>, op: &Op, layout: &Layout) -> Result<(), String> {
    let mm = op.mm();
    write_mm(out, &layout.mm_ids(), mm);
    let vmas = layout.vmas(mm);
    match *op {
        Op::Mmap { start, len, .. } => {
            write_len(out, len);
            write_new_start(out, vmas, len, start);
        }
        Op::Fault { addr, access, .. } => {
            write_addr(out, vmas, addr);
            out.push(if access == Access::Read { 3 } else { 0 });
        }
        Op::Fork { .. } | Op::Exit { .. } => {}
        Op::Split { addr, .. } | Op::Rmap { addr, .. } | Op::Walk { addr, .. } => {
            write_addr(out, vmas, addr)
        }
        Op::Merge { addr, .. } => write_addr(out, &touching(vmas), addr),
        Op::Mremap { addr, new_addr, .. } => {
            write_addr(out, vmas, addr);
            write_new_start(out, vmas, vma_len(vmas, addr), new_addr);
        }
        Op::Munmap { start, len, .. } => {
            write_addr(out, vmas, start);
            write_len(out, len);
        }
        Op::Madvise {
            start, len, advice, ..
        } => {
            write_addr(out, vmas, start);
            write_len(out, len);
            out.push(
                Advice::ALL
                    .iter()
                    .position(|&a| a == advice)
                    .expect("every advice is listed") as u8,
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
