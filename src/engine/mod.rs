//! The one interface the runner sees: an engine applies operations, takes
//! snapshots and reports what its own instrumentation noticed. The C harness
//! ([`c::CEngine`]) and the Rust oracle ([`oracle::OracleEngine`]) implement
//! it; nothing else in rmapfuzz knows either of them. Beside them: the
//! variants the C side can run and how each is judged ([`variant`]), and the
//! build of a kernel tree's core into the C side ([`kernel_build`], with
//! [`build_failure`] for what a failed one reports).

pub mod build_failure;
pub mod c;
mod kept;
pub mod kernel_build;
pub mod oracle;
mod oracle_raw;
pub mod variant;

use std::any::Any;
use std::fmt;

use crate::check::snapshot::{LiveCounts, RawAnonVma, RawAvc, RawMm, RawPage, RawSnapshot, RawVma};
use crate::language::op::{FailPlan, Op, Step};
use crate::language::race::{LateStore, Race, Schedule};

/// Result code of an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    Ok,
    NoOp,
    Enomem,
    Einval,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Ok => "ok",
            Status::NoOp => "no-op",
            Status::Enomem => "ENOMEM",
            Status::Einval => "EINVAL",
        })
    }
}

/// An allocation site, as counted by fault injection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Site {
    Mm,
    Vma,
    AnonVma,
    Avc,
    Page,
}

impl Site {
    pub fn name(self) -> &'static str {
        match self {
            Site::Mm => "mm",
            Site::Vma => "vma",
            Site::AnonVma => "anon_vma",
            Site::Avc => "avc",
            Site::Page => "page",
        }
    }
}

/// What applying one operation returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub status: Status,
    /// Every allocation attempt, in order.
    pub allocs: Vec<Site>,
    /// For `rmap`: where the walk found the page, sorted.
    pub hits: Vec<(u32, u64)>,
    /// A maple-tree preallocation failed as [`Engine::fail_maple`] asked.
    pub maple_failed: bool,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sites: Vec<&str> = self.allocs.iter().map(|s| s.name()).collect();
        write!(f, "{} allocs=[{}]", self.status, sites.join(" "))?;
        if !self.hits.is_empty() {
            let hits: Vec<String> = self
                .hits
                .iter()
                .map(|(mm, a)| format!("{mm}:{a:#x}"))
                .collect();
            write!(f, " found=[{}]", hits.join(" "))?;
        }
        Ok(())
    }
}

/// The processes of a world and the ranges their VMAs cover, in order: what
/// the fuzz input decoder resolves operands against.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    pub mms: Vec<(u32, Vec<(u64, u64)>)>,
}

impl Layout {
    pub fn from_snapshot(raw: &RawSnapshot) -> Layout {
        let mms = raw
            .mms
            .iter()
            .map(|m| {
                (
                    m.id,
                    m.vmas
                        .iter()
                        .filter_map(|&v| raw.vmas.get(v))
                        .map(|v| (v.start, v.end))
                        .collect(),
                )
            })
            .collect();
        Layout { mms }
    }

    pub fn mm_ids(&self) -> Vec<u32> {
        self.mms.iter().map(|m| m.0).collect()
    }

    /// The VMA ranges of process `mm` (empty if it does not exist).
    pub fn vmas(&self, mm: u32) -> &[(u64, u64)] {
        self.mms
            .iter()
            .find(|m| m.0 == mm)
            .map_or(&[], |m| m.1.as_slice())
    }
}

/// A switch point a race met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TracePoint {
    /// The thread that reached it.
    pub thread: u32,
    /// What kind of point: lock, trylock, unlock, rcu, atomic, slab, walk,
    /// pte, start.
    pub kind: &'static str,
    /// The threads that could run on from it, a mask.
    pub runnable: u32,
    /// What was being done ("down_read", "kmem_cache_free", ...).
    pub what: &'static str,
    /// In which function, when known.
    pub func: &'static str,
    /// The object it touches (0: none), comparable within one run only.
    pub obj: u64,
}

/// What running a race did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaceRun {
    /// One per branch, in branch order.
    pub outcomes: Vec<Outcome>,
    /// Switch points met.
    pub points: u32,
    /// The first of them, in order.
    pub trace: Vec<TracePoint>,
    /// Per branch, the switch points met when each of its steps took
    /// effect (when it last took a lock, or began if it took none): the
    /// operation, then each step of it [`Engine::explain_race`] may
    /// interleave with the others.
    pub steps: Vec<Vec<u32>>,
    /// The schedule that replays the run: the preemptions of the one given
    /// that happened, and the choices PCT made.
    pub taken: Schedule,
    /// Stores another thread read before their writer released: what a
    /// search may hold back next (`late:` in a schedule).
    pub late_candidates: Vec<LateStore>,
    /// A check stopped the race (a use after free, a deadlock); the
    /// engine's hygiene says which, and the world can only be dropped.
    pub abandoned: bool,
}

/// How one branch of a race runs in a serial execution
/// ([`Engine::explain_race`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Serial {
    /// As it would alone.
    #[default]
    Whole,
    /// A write fault that does not share a neighbour's anon_vma: racing
    /// another fault of its process, it may have looked before the other
    /// published its new one.
    Apart,
}

/// What a race's run says about the order of its branches, for
/// [`Engine::explain_race`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RaceOrder {
    /// Per branch, the branches that ended before it began: a serial
    /// execution runs them first.
    pub before: Vec<Vec<usize>>,
    /// Per branch, when each of its steps took effect in the run
    /// ([`RaceRun::steps`]). Where several branches could go next, the
    /// one whose next step took effect first is tried first, so the first
    /// execution tried is the run's own order; the others follow.
    pub steps_at: Vec<Vec<u32>>,
}

impl RaceOrder {
    /// When branch `i`'s step `n` took effect in the run; unknown steps
    /// last.
    pub fn step_at(&self, i: usize, n: usize) -> u32 {
        self.steps_at
            .get(i)
            .and_then(|b| b.get(n))
            .copied()
            .unwrap_or(u32::MAX)
    }
}

/// Judges one serial execution of a race: the branches' order as a
/// schedule (a branch's index once per step it took), their outcomes in
/// branch order, and the world after; `true` if it explains the race.
pub type RaceJudge<'a> = dyn FnMut(&[usize], &[Outcome], &mut dyn Engine) -> bool + 'a;

/// Most serial executions [`Engine::explain_race`] tries per choice of
/// [`Serial`]s.
pub const MAX_SERIAL_EXECUTIONS: usize = 20_000;

/// A world implementation under test.
pub trait Engine {
    /// Applies `op`, failing allocations as `fail` says.
    fn apply(&mut self, op: &Op, fail: Option<FailPlan>) -> Outcome;
    /// Makes the `nth` maple-tree preallocation of the next [`apply`]
    /// fail; false when the engine has no maple tree (only a tree's own
    /// mm/vma.c does), and nothing happens.
    ///
    /// [`apply`]: Engine::apply
    fn fail_maple(&mut self, nth: u32) -> bool {
        let _ = nth;
        false
    }
    /// Runs the race's branches concurrently under its schedule (and PCT,
    /// and held-back stores; `crate::language::race`); `None` when the
    /// engine cannot race (only the C harness's own callers can).
    fn race(&mut self, race: &Race) -> Option<RaceRun> {
        let _ = race;
        None
    }
    /// A copy of this world to try an order of a race's branches on;
    /// `None` when the engine cannot be copied.
    fn duplicate(&self) -> Option<Box<dyn Engine>> {
        None
    }
    /// The whole world as it is now, to go back to with
    /// [`Engine::restore`] (explore tries every next operation from one
    /// saved state); `None` when the engine cannot save its world.
    fn save(&mut self) -> Option<Saved> {
        None
    }
    /// Goes back to `saved`, which [`Engine::save`] took from this very
    /// world; false (and nothing done) otherwise.
    fn restore(&mut self, saved: &Saved) -> bool {
        let _ = saved;
        false
    }
    /// True if a snapshot now would equal the one taken when `saved` was
    /// ([`Engine::save`] of this very world), for a world every reference
    /// of which named a live object then; false when unsure. Cheaper than
    /// a snapshot: a search asks it after each try that wrote something
    /// ([`Engine::wrote_nothing`]), as many tries leave the world as they
    /// found it (a failure undone, a request refused).
    fn unchanged_since(&mut self, saved: &Saved) -> bool {
        let _ = saved;
        false
    }
    /// Starts watching what the next operations write, for
    /// [`Engine::wrote_nothing`].
    fn watch_writes(&mut self) {}
    /// True only when nothing a snapshot reads was written since
    /// [`Engine::watch_writes`]: a snapshot now would equal one taken
    /// then. Costs nothing to ask, unlike [`Engine::unchanged_since`]; an
    /// engine that cannot tell says false.
    fn wrote_nothing(&mut self) -> bool {
        false
    }
    /// Ends the world as [`Engine::finish`] does but keeps it, to be
    /// restored to a saved state or dropped; `None` when the engine cannot
    /// save its world.
    fn finish_in_place(&mut self) -> Option<Teardown> {
        None
    }
    /// The serial executions that may explain a race, each on a copy of
    /// this world, depth first, until `judge` accepts one (whose world is
    /// returned): every order of the branches, and where the engine can
    /// cut an operation at its steps (fork, exit and munmap work one VMA
    /// at a time, each step under that family's lock:
    /// [`rmap_oracle::Interruptible`]) every interleaving of those steps
    /// with the other branches, but never two operations of one process
    /// (their mmap_lock) nor a walker's isolation out of place. Each
    /// branch runs as `how` says; branch `j` starts only after every
    /// branch in `order.before[j]` has ended (they ended before it began
    /// in the race), and the run's own order is tried first. Each branch's walker page is isolated first, as a race
    /// isolates them when it begins. At most [`MAX_SERIAL_EXECUTIONS`]
    /// are tried. `None` when the engine cannot; `Some(None)` when none
    /// explains the race.
    fn explain_race(
        &self,
        branches: &[Step],
        how: &[Serial],
        order: &RaceOrder,
        judge: &mut RaceJudge<'_>,
    ) -> Option<Option<Box<dyn Engine>>> {
        let _ = (branches, how, order, judge);
        None
    }
    /// Every live object, as the engine sees it.
    fn snapshot(&mut self) -> RawSnapshot;

    /// A snapshot, unless it would be `like` (then `None`). An engine that
    /// can compare as it goes (the oracle) builds nothing for a state it
    /// reports alike.
    fn snapshot_unless(&mut self, like: &RawSnapshot) -> Option<RawSnapshot> {
        Some(self.snapshot()).filter(|s| s != like)
    }
    /// What the report just made ([`Engine::snapshot`]) changed from the
    /// one this engine made before it, where the engine patched one into
    /// the other; `None` otherwise (and once asked).
    fn changes(&mut self) -> Option<Changes> {
        None
    }
    /// [`Engine::snapshot_unless`], told that this engine's state at its
    /// last snapshot was reported exactly as `like` was before `changed`
    /// (what `like`'s engine says it changed since): an engine that
    /// follows its own changes compares only where either side changed.
    fn snapshot_unless_changed(
        &mut self,
        like: &RawSnapshot,
        changed: &Changes,
    ) -> Option<RawSnapshot> {
        let _ = changed;
        self.snapshot_unless(like)
    }
    /// Takes back a report this engine made that its taker no longer
    /// needs: an engine that patches its last report into the next does
    /// so in place, with no copy. Any other report is dropped.
    fn recycle(&mut self, raw: RawSnapshot) {
        drop(raw);
    }
    /// [`Engine::recycle`] for a report its taker still reads (the state
    /// before a failed step, for its rollback check): an engine that
    /// patches its last report into the next copies it, where it is the
    /// one this engine made last.
    fn recycle_copy(&mut self, raw: &RawSnapshot) {
        let _ = raw;
    }
    /// The processes and their VMA ranges (cheaper than a snapshot where
    /// the engine can do better).
    fn layout(&mut self) -> Layout {
        Layout::from_snapshot(&self.snapshot())
    }
    /// Problems the engine's own instrumentation noticed since the last
    /// call (warnings, locks held, broken trees), one line each.
    fn hygiene(&mut self) -> Vec<String>;
    /// Ends the world: exits every process, frees it, and says what was
    /// still allocated and what the instrumentation noticed on the way.
    fn finish(self: Box<Self>) -> Teardown;
}

/// Whether `RMAPFUZZ_VERIFY_WATCH=1` asks for every shortcut to be
/// checked (and taken wherever it can be, however small the world).
pub(crate) fn verifying() -> bool {
    static VERIFY: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *VERIFY.get_or_init(|| std::env::var_os("RMAPFUZZ_VERIFY_WATCH").is_some_and(|v| v == "1"))
}

/// Below so many live objects a world is snapshot and compared whole, on
/// either side: following its changes costs more than walking it
/// (BENCHMARKS section 28).
pub(crate) const SMALL_WORLD: u64 = 64;

/// What a report changed from the one its engine made before it, by
/// position ([`Engine::changes`]): a record at no position named here,
/// nor freed, is the one before, renumbered past what was freed. Sites in
/// report order: VMAs, AVCs, anon_vmas, pages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Per site: the positions in the report before of the objects freed
    /// since, ascending.
    pub freed: [Vec<usize>; 4],
    /// Per site: the positions in the new report of the records that may
    /// differ from the ones before (or are new), ascending.
    pub records: [Vec<usize>; 4],
    /// The processes whose record may differ (or that are new), by id,
    /// ascending; and those gone, by id, ascending.
    pub mms: Vec<u32>,
    pub mms_gone: Vec<u32>,
    /// The records replaced or dropped, as they were, where the engine
    /// kept them: what a check of the report before read that this one
    /// no longer holds.
    pub before: Option<Before>,
}

/// The records a patched report replaced or dropped, as they were: their
/// references renumbered into the new report (one to an object freed
/// since is dangling). Each record with its position in the new report,
/// or `None` for one freed; of the pages, those replaced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Before {
    pub vmas: Vec<(Option<usize>, RawVma)>,
    pub avcs: Vec<(Option<usize>, RawAvc)>,
    pub anon_vmas: Vec<(Option<usize>, RawAnonVma)>,
    pub pages: Vec<(usize, RawPage)>,
    /// The processes' records replaced or gone.
    pub mms: Vec<RawMm>,
    /// Per site (VMAs, AVCs, anon_vmas, pages): the position of the first
    /// object made since the report before (all after it are new too).
    pub made_from: [usize; 4],
}

impl Changes {
    /// Whether `raw`, the report these changes made, is the one before
    /// record for record: nothing freed or made, every record replaced
    /// as it was (a step that failed and undid all it did). `false` where
    /// the records replaced were not kept.
    pub fn undone(&self, raw: &RawSnapshot) -> bool {
        let Some(b) = &self.before else { return false };
        self.freed.iter().all(Vec::is_empty)
            && self.mms_gone.is_empty()
            && b.made_from
                == [
                    raw.vmas.len(),
                    raw.avcs.len(),
                    raw.anon_vmas.len(),
                    raw.pages.len(),
                ]
            && b.vmas
                .iter()
                .all(|(at, v)| at.is_some_and(|i| raw.vmas[i] == *v))
            && b.avcs
                .iter()
                .all(|(at, a)| at.is_some_and(|i| raw.avcs[i] == *a))
            && b.anon_vmas
                .iter()
                .all(|(at, a)| at.is_some_and(|i| raw.anon_vmas[i] == *a))
            && b.pages.iter().all(|(i, p)| raw.pages[*i] == *p)
            && b.mms.len() == self.mms.len()
            && b.mms.iter().all(|m| {
                raw.mms
                    .binary_search_by_key(&m.id, |k| k.id)
                    .is_ok_and(|i| raw.mms[i] == *m)
            })
    }
}

/// A world as an engine saved it ([`Engine::save`]); only the engine that
/// took it knows what is inside.
pub struct Saved(Box<dyn Any>);

impl Saved {
    pub fn new<T: Any>(state: T) -> Saved {
        Saved(Box::new(state))
    }

    /// What the engine saved, if it is a `T`.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }
}

/// What ending a world left behind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Teardown {
    /// Objects still allocated after every process exited.
    pub leaks: LiveCounts,
    /// Hygiene problems met while the processes exited.
    pub problems: Vec<String>,
}
