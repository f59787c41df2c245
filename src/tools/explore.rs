//! `rmapfuzz explore`: every operation sequence up to a depth over a small
//! universe, breadth first, with every fail point of every operation,
//! deduplicated by the canonical state the C side reaches, up to the names
//! of its processes (one state per class: `check::snapshot::orbit_key`).
//! The first failure found is on a shortest path, and is returned as a
//! scenario.
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

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rustc_hash::FxHashSet as HashSet;

use crate::check::known::Known;
use crate::check::memo::Memo;
use crate::check::report::Failure;
use crate::check::runner::{run, Judged, RunOptions, RunResult};
use crate::check::saved_run::{NotSaved, SavedRun};
use crate::check::snapshot::{orbit_key, State};
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
    /// Visit one state of each class of states equal up to the names of
    /// their processes (see [`orbit_key`]), not each state.
    pub by_class: bool,
}

impl Default for Universe {
    fn default() -> Universe {
        Universe {
            mms: 3,
            pages: 3,
            base: DEFAULT_BASE,
            fail_points: true,
            by_class: true,
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
            by_class: true,
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
    /// Distinct states reached (the empty world included): with
    /// [`Universe::by_class`], one per class.
    pub states: usize,
    /// Classes of states equal up to the names of their processes among
    /// them.
    pub classes: usize,
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

/// The keys of a new world's state and of its class.
fn empty_state(v: Variant, u: &Universe) -> (u64, u64) {
    use crate::engine::c::CEngine;
    use crate::engine::Engine;
    let mut c = CEngine::new(v.name).expect("the variant exists");
    let state = State::new(c.snapshot());
    let mut keys = Keys::new(u.by_class);
    (
        keys.state(state.hash(), &state),
        orbit_key(state.canonical()),
    )
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

/// One tried step from a frontier path: the path's index, the step, the
/// key of the C state it reached and of that state's class, its failure.
struct Tried {
    parent: usize,
    step: Step,
    state: Option<u64>,
    class: Option<u64>,
    failure: Option<Box<Failure>>,
}

/// How the steps from one state are run: from a saved copy of both worlds
/// after the path, or (for an engine that cannot save its world, a tree's
/// own callers) by running the whole path again each time.
enum From<'a> {
    Saved(Box<SavedRun>),
    Scratch(&'a [Step]),
}

/// Slots of a worker's memo of class keys: 2^16 (1 MiB, which the caches
/// hold: a state met again is most often met soon).
const CLASS_KEY_BITS: u32 = 16;

/// How a worker keys the states it reaches: by their own hash, or by
/// their class under renaming processes. Kept across levels.
struct Keys {
    by_class: bool,
    /// The class keys of state hashes met before (as many as its slots
    /// keep; one forgotten is computed again).
    classes: Memo<u64, u64>,
}

impl Keys {
    fn new(by_class: bool) -> Keys {
        Keys {
            by_class,
            classes: Memo::new(CLASS_KEY_BITS),
        }
    }

    /// The key of the class of the state `snap`, whose hash is `h`.
    fn class(&mut self, h: u64, snap: &State) -> u64 {
        self.classes
            .get_or_insert_with(h, || orbit_key(snap.canonical()))
    }

    /// What the state `snap`, whose hash is `h`, is deduplicated by.
    fn state(&mut self, h: u64, snap: &State) -> u64 {
        match self.by_class {
            true => self.class(h, snap),
            false => h,
        }
    }
}

/// States taken from the frontier at a time by a worker: long runs of it.
/// A state's children sit together in the frontier, and siblings reach
/// many states alike (by the same operations in another order); a worker
/// meets a state twice and checks it once, where two workers would each
/// check it. Short enough that a level still splits evenly, and that a
/// worker past a failure soon stops.
fn chunk(level_size: usize, threads: usize) -> usize {
    (level_size / (threads * 64)).clamp(8, 1024)
}

/// Most states and pairs a worker keeps as judged (about 0.5 GB); past
/// it, it starts again at the next level.
const MOST_JUDGED: usize = 1 << 24;

/// What a worker keeps from level to level.
struct Worker {
    keys: Keys,
    judged: Judged,
}

/// What a worker hands back of its part of a level.
struct Expanded {
    tried: Vec<Tried>,
    runs: usize,
    new_here: HashSet<u64>,
    new_classes: HashSet<u64>,
}

/// What one worker found in its part of a level.
struct Found<'a> {
    /// The states of earlier levels.
    seen: &'a HashSet<u64>,
    /// The states this worker reached first in this level.
    new_here: HashSet<u64>,
    /// What this worker's runs checked and found sound.
    judged: &'a mut Judged,
    /// The steps that failed or reached a state first, in frontier order
    /// (on the last level, only those that failed: no path goes on).
    tried: Vec<Tried>,
    /// On the last level, the classes of the states reached first.
    new_classes: HashSet<u64>,
    last_level: bool,
    /// Runs made.
    runs: usize,
    keys: &'a mut Keys,
    /// The hash and the key of the state being expanded, when known.
    start: Option<(u64, u64)>,
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
        // (The key of the state reached, whether it is new, and then the
        // key of its class.)
        let mut reached = None;
        let (seen, new_here, keys) = (self.seen, &self.new_here, &mut *self.keys);
        let start = self.start;
        let mut key = |h: u64, snap: &State| {
            // (Most tries leave the state as it was, which is not new.)
            if let Some((_, k)) = start.filter(|&(start, _)| start == h) {
                reached = Some((k, false, None));
                return false;
            }
            let k = keys.state(h, snap);
            let new = !seen.contains(&k) && !new_here.contains(&k);
            reached = Some((k, new, new.then(|| keys.class(h, snap))));
            new
        };
        let r = match from {
            From::Saved(saved) => saved.try_step(next, self.judged, &mut key),
            From::Scratch(path) => {
                let mut steps = path.to_vec();
                steps.push(next);
                let mut r = run(&Scenario::new(steps), v, opts);
                if let Some(snap) = r.final_state.take() {
                    let state = State::named(snap);
                    key(state.hash(), &state);
                }
                r
            }
        };
        self.runs += 1;
        let (state, first, class) = match reached {
            Some((k, new, class)) => (Some(k), new && self.new_here.insert(k), class),
            None => (None, false, None),
        };
        if first && self.last_level && r.failure.is_none() {
            self.new_classes.extend(class);
        } else if r.failure.is_some() || first {
            self.tried.push(Tried {
                parent,
                step: next,
                state,
                class,
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
    // (A saved run hands each try's state to the keys instead of keeping
    // it in canonical form.)
    let saved_opts = RunOptions {
        keep_state: false,
        ..opts
    };
    let mut from = match SavedRun::new(path, v, saved_opts) {
        Ok(saved) => From::Saved(Box::new(saved)),
        // (A path whose replay fails is run from scratch, which reports
        // the failure as a run of it does.)
        Err(NotSaved::Unsupported | NotSaved::Failed(_)) => From::Scratch(path),
    };
    let layout = match &mut from {
        From::Saved(saved) => saved.layout(),
        From::Scratch(path) => layout_of(path, v),
    };
    found.start = match &from {
        From::Saved(saved) => saved.start().map(|state| {
            let h = state.hash();
            (h, found.keys.state(h, state))
        }),
        From::Scratch(_) => None,
    };
    let before = found.tried.len();
    for op in candidate_ops(&layout, u) {
        let plain = Step::new(op);
        let r = found.run(&mut from, parent, plain, v, opts);
        let allocs = r.allocs.last().copied().unwrap_or(0);
        if u.fail_points {
            for nth in 1..=allocs as u32 {
                let once = Step {
                    fail: Some(FailPlan {
                        nth,
                        and_later: false,
                    }),
                    ..plain
                };
                let r = found.run(&mut from, parent, once, v, opts);
                // Where nothing is attempted after the failed allocation,
                // failing the later ones too is the same run (both sides
                // attempt the same: a strict run compares them).
                if r.allocs.last().copied().unwrap_or(0) > nth as usize {
                    let step = Step {
                        fail: Some(FailPlan {
                            nth,
                            and_later: true,
                        }),
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
    let mut seen: HashSet<u64> = HashSet::default();
    let mut classes: HashSet<u64> = HashSet::default();
    let (state, class) = empty_state(v, u);
    seen.insert(state);
    classes.insert(class);
    let mut result = Exploration::default();
    let mut frontier: Vec<Vec<Step>> = vec![Vec::new()];
    // (How many states the last level found per state it expanded.)
    let mut growth = 1;
    let threads = threads.max(1);
    let mut workers: Vec<Worker> = (0..threads)
        .map(|_| Worker {
            keys: Keys::new(u.by_class),
            judged: Judged::default(),
        })
        .collect();
    for level in 1..=depth {
        let size = frontier.len();
        let chunk = chunk(size, threads);
        // The states a worker will reach first this level, if it grows as
        // the last did: reserved up front, as a table grown by doubling
        // copies itself and faults in fresh pages at every doubling.
        let expected = size.saturating_mul(growth) / threads;
        let done = AtomicUsize::new(0);
        let deadline_hit = AtomicBool::new(false);
        // Workers take the frontier a few states at a time, in order, and
        // stop taking once past a state whose expansion failed: every state
        // before the first failure is expanded, whoever finishes first.
        let taken = AtomicUsize::new(0);
        let failed_at = AtomicUsize::new(usize::MAX);
        let frontier_now = &frontier;
        let states_so_far = seen.len();
        let known_states = &seen;
        // Per worker: the steps that failed or reached a state not seen
        // before the level (in frontier order), and how many were tried.
        let last_level = level == depth;
        let expanded: Vec<Expanded> = std::thread::scope(|scope| {
            let handles: Vec<_> = workers
                .iter_mut()
                .map(|worker| {
                    let (done, deadline_hit) = (&done, &deadline_hit);
                    let (taken, failed_at) = (&taken, &failed_at);
                    scope.spawn(move || {
                        if worker.judged.len() > MOST_JUDGED {
                            worker.judged = Judged::default();
                        }
                        worker.judged.reserve(expected);
                        let mut found = Found {
                            seen: known_states,
                            new_here: HashSet::with_capacity_and_hasher(
                                expected,
                                Default::default(),
                            ),
                            judged: &mut worker.judged,
                            tried: Vec::new(),
                            new_classes: HashSet::with_capacity_and_hasher(
                                if last_level { expected } else { 0 },
                                Default::default(),
                            ),
                            last_level,
                            runs: 0,
                            keys: &mut worker.keys,
                            start: None,
                        };
                        'take: loop {
                            let first = taken.fetch_add(chunk, Ordering::Relaxed);
                            if first >= size {
                                break;
                            }
                            let end = (first + chunk).min(size);
                            for (parent, path) in (first..end).zip(&frontier_now[first..end]) {
                                if limit.is_some_and(|l| start.elapsed() > l) {
                                    deadline_hit.store(true, Ordering::Relaxed);
                                    break 'take;
                                }
                                // (Past a failure, its own or another
                                // worker's, nothing more is wanted.)
                                if parent > failed_at.load(Ordering::Relaxed) {
                                    break 'take;
                                }
                                let failed = expand(path, parent, v, u, known, &mut found);
                                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                                progress(Progress {
                                    depth: level,
                                    level_done: n,
                                    level_size: size,
                                    states: states_so_far,
                                });
                                if failed {
                                    failed_at.fetch_min(parent, Ordering::Relaxed);
                                    break 'take;
                                }
                            }
                        }
                        Expanded {
                            tried: found.tried,
                            runs: found.runs,
                            new_here: found.new_here,
                            new_classes: found.new_classes,
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("explorer worker"))
                .collect()
        });
        let mut runs = 0;
        let mut tried: Vec<Tried> = Vec::new();
        for found in expanded {
            runs += found.runs;
            tried.extend(found.tried);
            if last_level {
                seen.extend(found.new_here);
                classes.extend(found.new_classes);
            }
        }
        // Back in frontier order (each state was expanded by one worker,
        // its tries in order).
        tried.sort_by_key(|t| t.parent);
        result.runs += runs;
        let mut next = Vec::new();
        let path_to = |parent: usize, last: Step| {
            let mut steps = frontier[parent].clone();
            steps.push(last);
            steps
        };
        // The frontier of the last level is never expanded.
        let keep_paths = level < depth;
        {
            for t in tried {
                if let Some(f) = t.failure {
                    // The first in frontier order is the first in
                    // breadth-first order.
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
                    if !seen.insert(h) {
                        continue;
                    }
                    classes.extend(t.class);
                    if keep_paths {
                        next.push(path_to(t.parent, t.step));
                    }
                }
            }
        }
        result.states = seen.len();
        result.classes = classes.len();
        result.timed_out = deadline_hit.load(Ordering::Relaxed);
        if result.failure.is_some() || result.timed_out {
            break;
        }
        result.depth = level;
        growth = next.len().div_ceil(size).max(1);
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

    /// A search of one state per class reaches the classes a search of
    /// every state reaches, no more and no fewer, in fewer states.
    #[test]
    fn one_state_of_each_class_covers_every_class() {
        let v = crate::engine::variant::find("mainline").expect("a variant");
        let every = Universe {
            by_class: false,
            ..Universe::default()
        };
        for depth in [3, 4] {
            let all = explore(v, depth, &every, 2, None, None, &|_| {});
            let one = explore(v, depth, &Universe::default(), 2, None, None, &|_| {});
            assert!(all.failure.is_none() && one.failure.is_none());
            assert_eq!(all.classes, one.states, "depth {depth}");
            assert_eq!(one.classes, one.states, "depth {depth}");
            assert!(
                one.states < all.states,
                "depth {depth}: no two states in a class"
            );
            assert!(one.runs < all.runs);
        }
    }

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
