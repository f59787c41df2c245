//! `rmapfuzz explore`: every operation sequence up to a depth over a small
//! universe, breadth first, with every fail point of every operation,
//! deduplicated by the canonical state the C side reaches. The first
//! failure found is on a shortest path, and is returned as a scenario.
//!
//! The universe: at most `mms` processes; mappings inside a window of
//! `pages` pages from `base` (0x10000 unless asked; just below 16 TiB, say,
//! puts 7.3's anonymous page offsets across 2^32), plus one remap target
//! 16 pages beyond it;
//! every operation kind but `rmap` (an rmap walk changes nothing, and every
//! snapshot already walks every page), on every page of the window and
//! every page of a VMA moved out of it: faults, splits, unmaps and flag
//! changes of a moved VMA, merges, forks and exits, and a move back to
//! every free place in the window.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::check::known::Known;
use crate::check::report::Failure;
use crate::check::runner::{run, state_hash, Judged, RunOptions, RunResult};
use crate::check::saved_run::{NotSaved, SavedRun};
use crate::check::snapshot::canonicalize;
use crate::engine::variant::Variant;
use crate::engine::Layout;
use crate::language::op::{Access, Advice, FailPlan, Op, Step};
use crate::language::scenario::{Expect, Scenario, VariantSel};

const PAGE: u64 = 0x1000;
/// Where the window starts unless asked otherwise.
pub const DEFAULT_BASE: u64 = 0x10000;

/// The bounds of the search.
#[derive(Clone, Copy, Debug)]
pub struct Universe {
    /// Processes alive at once (fork refused beyond).
    pub mms: usize,
    /// Pages in the mapping window.
    pub pages: u64,
    /// The window's first address (page-aligned).
    pub base: u64,
    /// Also try every allocation failure of every operation.
    pub fail_points: bool,
}

impl Default for Universe {
    fn default() -> Universe {
        Universe {
            mms: 3,
            pages: 3,
            base: DEFAULT_BASE,
            fail_points: true,
        }
    }
}

/// The smallest universe and depth in which a scenario's path lies: as
/// many processes as it forks (at least 3), a window from its lowest
/// mapping (no lower than the default) holding every mapping it makes, fail
/// points if it injects any, depth its length.
pub fn universe_for(s: &Scenario) -> (usize, Universe) {
    let forks = s
        .steps
        .iter()
        .filter(|st| matches!(st.op, Op::Fork { .. }))
        .count();
    let mmaps = || {
        s.steps.iter().filter_map(|st| match st.op {
            Op::Mmap { start, len, .. } if start >= DEFAULT_BASE => Some((start, len)),
            _ => None,
        })
    };
    let base = mmaps()
        .map(|(start, _)| start & !(PAGE - 1))
        .min()
        .filter(|&b| b >= DEFAULT_BASE + 0x10_0000)
        .unwrap_or(DEFAULT_BASE);
    let pages = mmaps()
        .map(|(start, len)| (start + len - base).div_ceil(PAGE))
        .max()
        .unwrap_or(1);
    (
        s.steps.len(),
        Universe {
            mms: (1 + forks).max(3),
            pages,
            base,
            fail_points: s.steps.iter().any(|st| st.fail.is_some()),
        },
    )
}

/// Where the search stands, for a progress display.
#[derive(Clone, Copy, Debug, Default)]
pub struct Progress {
    pub depth: usize,
    pub level_done: usize,
    pub level_size: usize,
    pub states: usize,
}

/// What a search did and found.
#[derive(Clone, Debug, Default)]
pub struct Exploration {
    /// Distinct states reached (the empty world included).
    pub states: usize,
    /// Scenarios run (each one new operation on a known state).
    pub runs: usize,
    /// Deepest level completed.
    pub depth: usize,
    pub elapsed: Duration,
    /// The first failure, on a shortest path, as a scenario with a header
    /// that expects it.
    pub failure: Option<(Scenario, Failure)>,
    /// The search stopped at its time limit.
    pub timed_out: bool,
}

/// The operations worth trying on a world with this layout.
pub fn candidate_ops(layout: &Layout, u: &Universe) -> Vec<Op> {
    let mut ops = Vec::new();
    let window: Vec<u64> = (0..u.pages).map(|i| u.base + i * PAGE).collect();
    let remap_target = u.base + 0x10000;
    let mms = layout.mm_ids();
    let window_end = u.base + u.pages * PAGE;
    for &mm in &mms {
        let vmas = layout.vmas(mm);
        let mapped = |a: u64| vmas.iter().any(|&(s, e)| s <= a && a < e);
        let free = |s: u64, e: u64| !vmas.iter().any(|&(vs, ve)| vs < e && s < ve);
        // The window's pages, then the pages of VMAs moved out of it.
        let mut pages = window.clone();
        for &(s, e) in vmas.iter().filter(|&&(s, _)| s >= window_end) {
            pages.extend((s..e).step_by(PAGE as usize));
        }
        for &start in &window {
            for len in [PAGE, 2 * PAGE] {
                if start + len <= window_end && free(start, start + len) {
                    ops.push(Op::Mmap { mm, start, len });
                }
            }
        }
        for &addr in pages.iter().filter(|&&a| mapped(a)) {
            ops.push(Op::Fault {
                mm,
                addr,
                access: Access::Read,
            });
            ops.push(Op::Fault {
                mm,
                addr,
                access: Access::Write,
            });
            ops.push(Op::Munmap {
                mm,
                start: addr,
                len: PAGE,
            });
            for advice in [Advice::DontFork, Advice::DoFork, Advice::WipeOnFork] {
                ops.push(Op::Madvise {
                    mm,
                    start: addr,
                    len: PAGE,
                    advice,
                });
            }
            if vmas.iter().any(|&(s, e)| s < addr && addr < e) {
                ops.push(Op::Split { mm, addr });
            }
        }
        for &(start, end) in vmas {
            ops.push(Op::Merge { mm, addr: start });
            if free(remap_target, remap_target + 4 * PAGE) && start < remap_target {
                ops.push(Op::Mremap {
                    mm,
                    addr: start,
                    new_addr: remap_target,
                });
            }
            if start >= window_end {
                // Back into the window, wherever it fits.
                for &to in &window {
                    if to + (end - start) <= window_end && free(to, to + (end - start)) {
                        ops.push(Op::Mremap {
                            mm,
                            addr: start,
                            new_addr: to,
                        });
                    }
                }
            }
        }
        if mms.len() < u.mms {
            ops.push(Op::Fork { mm });
        }
        ops.push(Op::Exit { mm });
    }
    ops
}

/// The hash of a new world's state, as the runner computes states.
fn empty_state(v: Variant) -> u64 {
    use crate::engine::c::CEngine;
    use crate::engine::Engine;
    let mut c = CEngine::new(v.name).expect("the variant exists");
    state_hash(&canonicalize(&c.snapshot()))
}

fn layout_of(steps: &[Step], v: Variant) -> Layout {
    use crate::engine::c::CEngine;
    use crate::engine::Engine;
    let mut c = CEngine::new(v.name).expect("the variant exists");
    for s in steps {
        if let Some(n) = s.maple {
            c.fail_maple(n);
        }
        c.apply(&s.op, s.fail);
    }
    c.layout()
}

/// Most maple preallocations tried per operation.
const MAX_MAPLE_NTH: u32 = 64;

/// One tried step from a frontier path: the path's index, the step, the C
/// state it reached, its failure.
struct Tried {
    parent: usize,
    step: Step,
    state: Option<u64>,
    failure: Option<Box<Failure>>,
}

/// How the steps from one state are run: from a saved copy of both worlds
/// after the path, or (for an engine that cannot save its world, a tree's
/// own callers) by running the whole path again each time.
enum From<'a> {
    Saved(Box<SavedRun>),
    Scratch(&'a [Step]),
}

/// What one worker found in its part of a level.
struct Found<'a> {
    /// The states of earlier levels.
    seen: &'a HashSet<u64>,
    /// The states this worker reached first in this level.
    new_here: HashSet<u64>,
    /// What this worker's runs checked and found sound.
    judged: Judged,
    /// The steps that failed or reached a state first, in frontier order.
    tried: Vec<Tried>,
    /// Runs made.
    runs: usize,
}

impl Found<'_> {
    /// Runs the path and `next` (checked from `next`), and keeps it if it
    /// failed or reached a state first. A state's teardown checks run the
    /// first time it is reached: they depend on nothing but the state.
    fn run(
        &mut self,
        from: &mut From,
        parent: usize,
        next: Step,
        v: Variant,
        opts: RunOptions,
    ) -> RunResult {
        let mut state = None;
        let r = match from {
            From::Saved(saved) => {
                let (seen, new_here) = (self.seen, &self.new_here);
                saved.try_step(next, &mut self.judged, |h| {
                    state = Some(h);
                    !seen.contains(&h) && !new_here.contains(&h)
                })
            }
            From::Scratch(path) => {
                let mut steps = path.to_vec();
                steps.push(next);
                run(&Scenario::new(steps), v, opts)
            }
        };
        let state = state.or_else(|| r.final_state.as_ref().map(state_hash));
        self.runs += 1;
        let first = state.is_some_and(|h| !self.seen.contains(&h) && self.new_here.insert(h));
        if r.failure.is_some() || first {
            self.tried.push(Tried {
                parent,
                step: next,
                state,
                failure: r.failure.clone().map(Box::new),
            });
        }
        r
    }
}

/// The steps to try from a state: each operation plain, then (when asked)
/// with each of its allocations failed once and for good, and where the
/// variant has a maple tree each of its maple preallocations failed
/// (`maple=N`); `known` warnings acknowledged. True if one failed.
fn expand(
    path: &[Step],
    parent: usize,
    v: Variant,
    u: &Universe,
    known: Known,
    found: &mut Found,
) -> bool {
    let opts = RunOptions {
        check_from: path.len(),
        keep_state: true,
        known,
        ..RunOptions::default()
    };
    let mut from = match SavedRun::new(path, v, opts) {
        Ok(saved) => From::Saved(Box::new(saved)),
        // (A path whose replay fails is run from scratch, which reports
        // the failure as a run of it does.)
        Err(NotSaved::Unsupported | NotSaved::Failed(_)) => From::Scratch(path),
    };
    let layout = match &mut from {
        From::Saved(saved) => saved.layout(),
        From::Scratch(path) => layout_of(path, v),
    };
    let before = found.tried.len();
    for op in candidate_ops(&layout, u) {
        let plain = Step::new(op);
        let r = found.run(&mut from, parent, plain, v, opts);
        let allocs = r.allocs.last().copied().unwrap_or(0);
        if u.fail_points {
            for nth in 1..=allocs as u32 {
                for and_later in [false, true] {
                    if and_later && nth as usize == allocs {
                        continue; // the same as fail=nth
                    }
                    let step = Step {
                        fail: Some(FailPlan { nth, and_later }),
                        ..plain
                    };
                    found.run(&mut from, parent, step, v, opts);
                }
            }
        }
        if !v.has_maple_tree() {
            continue;
        }
        // (Bounded like sweep's: a tree whose every preallocation fires
        // would otherwise never stop.)
        for nth in 1..=MAX_MAPLE_NTH {
            let step = Step {
                maple: Some(nth),
                ..plain
            };
            let r = found.run(&mut from, parent, step, v, opts);
            if !r.maple_fired.contains(&path.len()) {
                // (Not a maple failure: the plain run again, not kept.)
                if found.tried.last().is_some_and(|t| t.step == step) {
                    let t = found.tried.pop().expect("just checked");
                    if let Some(h) = t.state {
                        found.new_here.remove(&h);
                    }
                }
                found.runs -= 1;
                break;
            }
        }
    }
    found.tried[before..].iter().any(|t| t.failure.is_some())
}

/// Explores up to `depth` operations on `v`, with `threads` workers,
/// stopping at the first failure or after `limit`; warnings acknowledged
/// as `known` are not failures (a path that warns so is explored further).
pub fn explore(
    v: Variant,
    depth: usize,
    u: &Universe,
    threads: usize,
    limit: Option<Duration>,
    known: Known,
    progress: &(dyn Fn(Progress) + Sync),
) -> Exploration {
    let start = Instant::now();
    let mut seen: HashSet<u64> = HashSet::new();
    seen.insert(empty_state(v));
    let mut result = Exploration::default();
    let mut frontier: Vec<Vec<Step>> = vec![Vec::new()];
    let threads = threads.max(1);
    for level in 1..=depth {
        let size = frontier.len();
        let done = AtomicUsize::new(0);
        let deadline_hit = AtomicBool::new(false);
        let chunk_len = size.div_ceil(threads).max(1);
        let chunks: Vec<(usize, &[Vec<Step>])> = frontier
            .chunks(chunk_len)
            .enumerate()
            .map(|(n, c)| (n * chunk_len, c))
            .collect();
        let states_so_far = seen.len();
        let known_states = &seen;
        // Per worker, in frontier order: the steps that failed or reached
        // a state not seen before the level, and how many were tried.
        let expanded: Vec<(Vec<Tried>, usize)> = std::thread::scope(|scope| {
            let handles: Vec<_> = chunks
                .iter()
                .map(|&(first, chunk)| {
                    let (done, deadline_hit) = (&done, &deadline_hit);
                    scope.spawn(move || {
                        let mut found = Found {
                            seen: known_states,
                            new_here: HashSet::new(),
                            judged: Judged::default(),
                            tried: Vec::new(),
                            runs: 0,
                        };
                        for (i, path) in chunk.iter().enumerate() {
                            if limit.is_some_and(|l| start.elapsed() > l) {
                                deadline_hit.store(true, Ordering::Relaxed);
                                break;
                            }
                            let failed = expand(path, first + i, v, u, known, &mut found);
                            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                            progress(Progress {
                                depth: level,
                                level_done: n,
                                level_size: size,
                                states: states_so_far,
                            });
                            if failed {
                                break;
                            }
                        }
                        (found.tried, found.runs)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("explorer worker"))
                .collect()
        });
        let mut next = Vec::new();
        let path_to = |parent: usize, last: Step| {
            let mut steps = frontier[parent].clone();
            steps.push(last);
            steps
        };
        // The frontier of the last level is never expanded.
        let keep_paths = level < depth;
        for (found, tried) in expanded {
            result.runs += tried;
            for t in found {
                if let Some(f) = t.failure {
                    // Chunks are in frontier order, so the first one is the
                    // first in breadth-first order.
                    if result.failure.is_none() {
                        let mut s = Scenario::new(path_to(t.parent, t.step));
                        s.header.variant = VariantSel::Named(v.name.to_owned());
                        s.header.expect = Expect::Fail {
                            check: Some(f.check.clone()),
                            op: f.op.map(|st| st.op.kind()),
                        };
                        result.failure = Some((s, *f));
                    }
                    continue;
                }
                if let Some(h) = t.state {
                    if seen.insert(h) && keep_paths {
                        next.push(path_to(t.parent, t.step));
                    }
                }
            }
        }
        result.states = seen.len();
        result.timed_out = deadline_hit.load(Ordering::Relaxed);
        if result.failure.is_some() || result.timed_out {
            break;
        }
        result.depth = level;
        frontier = next;
        if frontier.is_empty() {
            break;
        }
    }
    result.elapsed = start.elapsed();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VMA moved out of the window is still faulted, split, unmapped,
    /// advised, merged and moved back: "nothing at depth D" covers it.
    #[test]
    fn a_moved_vma_stays_in_the_universe() {
        let moved = (DEFAULT_BASE + 0x10000, DEFAULT_BASE + 0x10000 + 2 * PAGE);
        let layout = Layout {
            mms: vec![(0, vec![moved])],
        };
        let ops = candidate_ops(&layout, &Universe::default());
        let inside = DEFAULT_BASE + 0x10000 + PAGE;
        assert!(ops.contains(&Op::Fault {
            mm: 0,
            addr: moved.0,
            access: Access::Write
        }));
        assert!(ops.contains(&Op::Split {
            mm: 0,
            addr: inside
        }));
        assert!(ops.contains(&Op::Munmap {
            mm: 0,
            start: inside,
            len: PAGE
        }));
        assert!(ops.contains(&Op::Merge {
            mm: 0,
            addr: moved.0
        }));
        assert!(ops.contains(&Op::Mremap {
            mm: 0,
            addr: moved.0,
            new_addr: DEFAULT_BASE
        }));
        assert!(ops.contains(&Op::Fork { mm: 0 }));
        // Nothing is placed past the window but by a move.
        assert!(!ops.iter().any(|op| matches!(op,
            Op::Mmap { start, .. } if *start >= DEFAULT_BASE + 3 * PAGE)));
    }
}
