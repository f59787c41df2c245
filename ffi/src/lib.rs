//! Safe access to the rmapfuzz C harness (`csrc/harness.h`).
//!
//! A [`World`] owns one C world: processes built on one anon_vma core
//! variant. Operations are applied one at a time, optionally with an
//! allocation failure injected; snapshots and hygiene reports are copied out
//! into owned Rust values, so nothing borrowed from C outlives a call.
//!
//! This crate is the only place in rmapfuzz with `unsafe` code.

use std::ffi::{CStr, CString};
use std::ptr::NonNull;

pub mod extra_counters;

#[allow(
    non_upper_case_globals,
    non_camel_case_types,
    non_snake_case,
    dead_code,
    clippy::all
)]
mod bindings {
    include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
}

pub use bindings::{
    rf_hit as Hit, rf_snap_anon_vma as SnapAnonVma, rf_snap_avc as SnapAvc,
    rf_snap_gone as SnapGone, rf_snap_mm as SnapMm, rf_snap_page as SnapPage,
    rf_snap_tree_node as SnapTreeNode, rf_snap_vma as SnapVma,
};

/// Snapshot references that are not indices.
pub const REF_NULL: i32 = bindings::RF_REF_NULL;
pub const REF_DANGLING: i32 = bindings::RF_REF_DANGLING;
pub const REF_FOREIGN: i32 = bindings::RF_REF_FOREIGN;
/// Number of allocation sites (mm, vma, anon_vma, avc, page).
pub const NR_SITES: usize = bindings::rf_site_RF_NR_SITES as usize;

/// Number of lock rules the harness counts checks of.
pub const NR_LOCK_STATS: usize = bindings::rf_lock_stat_RF_NR_LOCK_STATS as usize;

/// The lock rules, in the order [`World::lock_stats`] counts them, with
/// the text their reports contain (csrc/kernel/lockdep.c).
pub const LOCK_RULES: [(&str, &str, &str); NR_LOCK_STATS] = [
    (
        "lock.tree-write",
        "an interval tree changes only under its family's rwsem held for writing",
        "to change its trees",
    ),
    (
        "lock.tree-search",
        "an interval tree is searched only with its family's rwsem held",
        "to search its trees",
    ),
    (
        "lock.anon_vma-fields",
        "an anon_vma's root, parent and counters change only under its family's rwsem held for writing",
        "changed while its family's rwsem was not held",
    ),
    (
        "lock.vma-fields",
        "a VMA's anon_vma, chain and range change only under its mm's mmap_lock",
        "mmap_lock was not held",
    ),
    (
        "lock.mmap-asserts",
        "the mmap_lock is held where the kernel asserts it (mmap_assert_locked / _write_locked)",
        "mmap_lock held",
    ),
    (
        "lock.root-only",
        "only a family's root rwsem is ever taken",
        "which is not its family's root",
    ),
    (
        "lock.order",
        "mmap_lock, then a family's rwsem, then page_table_lock; one family at a time",
        "while holding",
    ),
];

/// What an operation does; operands are described on [`Op`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    Mmap,
    Fault,
    Fork,
    Split,
    Merge,
    Mremap,
    Munmap,
    Madvise,
    Exit,
    Rmap,
    Reclaim,
    Migrate,
    Referenced,
}

impl OpKind {
    fn raw(self) -> u32 {
        match self {
            OpKind::Mmap => bindings::rf_op_kind_RF_OP_MMAP,
            OpKind::Fault => bindings::rf_op_kind_RF_OP_FAULT,
            OpKind::Fork => bindings::rf_op_kind_RF_OP_FORK,
            OpKind::Split => bindings::rf_op_kind_RF_OP_SPLIT,
            OpKind::Merge => bindings::rf_op_kind_RF_OP_MERGE,
            OpKind::Mremap => bindings::rf_op_kind_RF_OP_MREMAP,
            OpKind::Munmap => bindings::rf_op_kind_RF_OP_MUNMAP,
            OpKind::Madvise => bindings::rf_op_kind_RF_OP_MADVISE,
            OpKind::Exit => bindings::rf_op_kind_RF_OP_EXIT,
            OpKind::Rmap => bindings::rf_op_kind_RF_OP_RMAP,
            OpKind::Reclaim => bindings::rf_op_kind_RF_OP_RECLAIM,
            OpKind::Migrate => bindings::rf_op_kind_RF_OP_MIGRATE,
            OpKind::Referenced => bindings::rf_op_kind_RF_OP_REFERENCED,
        }
    }
}

/// `c` operand of a fault.
pub const ACCESS_READ: u32 = bindings::rf_access_RF_ACCESS_READ;
pub const ACCESS_WRITE: u32 = bindings::rf_access_RF_ACCESS_WRITE;
/// `c` operand of madvise.
pub const ADVICE_DONTFORK: u32 = bindings::rf_advice_RF_ADVICE_DONTFORK;
pub const ADVICE_DOFORK: u32 = bindings::rf_advice_RF_ADVICE_DOFORK;
pub const ADVICE_WIPEONFORK: u32 = bindings::rf_advice_RF_ADVICE_WIPEONFORK;
pub const ADVICE_KEEPONFORK: u32 = bindings::rf_advice_RF_ADVICE_KEEPONFORK;

/// One operation: mmap/munmap/madvise use `a` = start and `b` = length;
/// fault, split, merge, rmap and mremap use `a` = address, mremap `b` = the
/// new address; fault and madvise take `c` (see the constants above).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Op {
    pub kind: OpKind,
    pub mm: u32,
    pub a: u64,
    pub b: u64,
    pub c: u32,
}

/// Result code of an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    NoOp,
    Enomem,
    Einval,
}

/// The result of [`World::apply`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub status: Status,
    /// Allocation sites attempted, in order (0 mm, 1 vma, 2 anon_vma, 3 avc, 4 page).
    pub allocs: Vec<u8>,
    /// Attempts beyond what the harness records (its buffer is bounded).
    pub allocs_dropped: u32,
    /// For rmap: where the page was found, sorted.
    pub hits: Vec<(u32, u64)>,
    /// A maple-tree preallocation failed as [`World::fail_maple`] asked.
    pub maple_failed: bool,
}

/// A C snapshot as the harness holds it (see `csrc/harness.h` for the
/// fields): borrowed from the world, whose next call refills it. (A search
/// reads millions; each is converted once, so nothing copies it first.)
#[derive(Clone, Copy, Debug)]
pub struct Snapshot<'w> {
    pub mms: &'w [SnapMm],
    pub vma_order: &'w [u32],
    pub vmas: &'w [SnapVma],
    pub chain: &'w [i32],
    pub avcs: &'w [SnapAvc],
    pub anon_vmas: &'w [SnapAnonVma],
    pub tree: &'w [SnapTreeNode],
    pub pages: &'w [SnapPage],
    pub hits: &'w [Hit],
    pub live: [u64; NR_SITES],
    /// Per site, when the object of each record was made (empty where
    /// the world does not say).
    pub ids: [&'w [u32]; NR_SITES],
    /// A partial snapshot ([`World::snapshot_changed`]).
    pub changed: bool,
    /// Objects freed since the snapshot before a partial one.
    pub gone: &'w [SnapGone],
}

/// Borrows the arrays of a snapshot the harness just filled.
///
/// # Safety
/// Every array of `s` must have been filled by the harness with the length
/// it reports next to it (the made numbers one per record), and stay valid
/// and unchanged for `'w`: until the next call on its world.
unsafe fn borrow_snapshot<'w>(s: &bindings::rf_snapshot) -> Snapshot<'w> {
    // Safety: as the caller guarantees.
    unsafe {
        let ids = |site: usize, n: u32| c_array(s.ids[site], n);
        Snapshot {
            mms: c_array(s.mms, s.nr_mms),
            vma_order: c_array(s.vma_order, s.nr_vma_order),
            vmas: c_array(s.vmas, s.nr_vmas),
            chain: c_array(s.chain, s.nr_chain),
            avcs: c_array(s.avcs, s.nr_avcs),
            anon_vmas: c_array(s.anon_vmas, s.nr_anon_vmas),
            tree: c_array(s.tree, s.nr_tree),
            pages: c_array(s.pages, s.nr_pages),
            hits: c_array(s.hits, s.nr_hits),
            live: s.live,
            ids: [
                ids(0, s.nr_mms),
                ids(1, s.nr_vmas),
                ids(2, s.nr_anon_vmas),
                ids(3, s.nr_avcs),
                ids(4, s.nr_pages),
            ],
            changed: s.changed != 0,
            gone: c_array(s.gone, s.nr_gone),
        }
    }
}

/// A C array that may be NULL when empty, as a slice.
///
/// # Safety
/// `ptr` must point to `len` initialised elements when `len > 0`, which
/// stay valid and unchanged for `'a`.
unsafe fn c_array<'a, T>(ptr: *const T, len: u32) -> &'a [T] {
    if len == 0 || ptr.is_null() {
        return &[];
    }
    // Safety: guaranteed by the caller.
    unsafe { std::slice::from_raw_parts(ptr, len as usize) }
}

/// Copies `len` elements from a C array that may be NULL when empty.
///
/// # Safety
/// `ptr` must point to `len` initialised elements when `len > 0`.
unsafe fn copy_array<T: Copy>(ptr: *const T, len: u32) -> Vec<T> {
    // Safety: guaranteed by the caller; the copy is made at once.
    unsafe { c_array(ptr, len) }.to_vec()
}

/// How build.rs instrumented the C side for this build (`None`,
/// `LibFuzzer { asan: .. }`, `Afl` or `Coverage`).
pub const C_INSTRUMENTATION: &str = env!("RMAPFUZZ_C_INSTRUMENTATION");

/// A kernel tree whose anon_vma core is compiled in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelBuild {
    /// The variant it is registered as: `kernel`, `kernel-vma` or
    /// `kernel-base`.
    pub variant: &'static str,
    /// From the tree's Makefile, e.g. `7.2.13`.
    pub version: &'static str,
    /// `degree`, `pre-series` or `post-series`.
    pub generation: &'static str,
    /// The tree, as an absolute path.
    pub tree: &'static str,
    /// A hash of the files the core was taken from (16 hex digits).
    pub hash: &'static str,
    /// The translation unit extracted from it.
    pub unit: &'static str,
}

/// What build.rs recorded of a tree built in, from the variables named
/// with `$env` (`RMAPFUZZ_KERNEL_VERSION`, ...).
macro_rules! kernel_build {
    ($variant:literal, $version:literal, $generation:literal, $tree:literal, $hash:literal, $unit:literal) => {
        match (
            option_env!($version),
            option_env!($generation),
            option_env!($tree),
            option_env!($hash),
            option_env!($unit),
        ) {
            (Some(version), Some(generation), Some(tree), Some(hash), Some(unit)) => {
                Some(KernelBuild {
                    variant: $variant,
                    version,
                    generation,
                    tree,
                    hash,
                    unit,
                })
            }
            _ => None,
        }
    };
}

/// The tree under test, built in as `kernel` (`RMAPFUZZ_KERNEL_SRC` when
/// this crate was built).
pub const KERNEL: Option<KernelBuild> = kernel_build!(
    "kernel",
    "RMAPFUZZ_KERNEL_VERSION",
    "RMAPFUZZ_KERNEL_GENERATION",
    "RMAPFUZZ_KERNEL_TREE",
    "RMAPFUZZ_KERNEL_HASH",
    "RMAPFUZZ_KERNEL_UNIT"
);

/// The tree under test again, with its own callers: its mm/vma.c built the
/// way its tools/testing/vma builds it, around its anon_vma core and
/// interval tree (`kernel-vma`; only for a tree that ships that directory).
pub const KERNEL_VMA: Option<KernelBuild> = kernel_build!(
    "kernel-vma",
    "RMAPFUZZ_KERNEL_VMA_VERSION",
    "RMAPFUZZ_KERNEL_VMA_GENERATION",
    "RMAPFUZZ_KERNEL_VMA_TREE",
    "RMAPFUZZ_KERNEL_VMA_HASH",
    "RMAPFUZZ_KERNEL_VMA_UNIT"
);

/// Why the tree under test has no `kernel-vma` (it runs under rmapfuzz's
/// callers only), when it has none.
pub const KERNEL_VMA_ABSENT: Option<&str> = option_env!("RMAPFUZZ_KERNEL_VMA_ABSENT");
/// Why the tree under test's own read side (folio_get_anon_vma(),
/// folio_lock_anon_vma_read(), rmap_walk_anon()) was not taken, the
/// harness's serving its walkers instead; `None` when it was.
pub const KERNEL_READ_SIDE_ABSENT: Option<&str> = option_env!("RMAPFUZZ_KERNEL_READ_SIDE_ABSENT");
/// The same for the base tree (`--reference-src`).
pub const KERNEL_BASE_READ_SIDE_ABSENT: Option<&str> =
    option_env!("RMAPFUZZ_KERNEL_BASE_READ_SIDE_ABSENT");

/// Why the tree's own callers (`kernel-vma`) cannot be compared with
/// rmapfuzz's model, when they cannot (an older mm/vma.c).
pub const KERNEL_VMA_UNMODELLED: Option<&str> = option_env!("RMAPFUZZ_KERNEL_VMA_UNMODELLED");

/// The base tree it is compared with, built in as `kernel-base`
/// (`RMAPFUZZ_REFERENCE_SRC`).
pub const KERNEL_BASE: Option<KernelBuild> = kernel_build!(
    "kernel-base",
    "RMAPFUZZ_KERNEL_BASE_VERSION",
    "RMAPFUZZ_KERNEL_BASE_GENERATION",
    "RMAPFUZZ_KERNEL_BASE_TREE",
    "RMAPFUZZ_KERNEL_BASE_HASH",
    "RMAPFUZZ_KERNEL_BASE_UNIT"
);

/// The snapshot fields a variant's core does not have (comma-separated in
/// the harness), which its comparisons leave out.
pub fn relaxed_checks(variant: &str) -> Vec<&'static str> {
    // Safety: pure function of a static table.
    let count = unsafe { bindings::rf_variant_count() };
    for i in 0..count {
        // Safety: `i` is in range; the results are NULL or static strings.
        let (name, relaxed) = unsafe {
            (
                bindings::rf_variant_name(i),
                bindings::rf_variant_relaxed_checks(i),
            )
        };
        if name.is_null() || relaxed.is_null() {
            continue;
        }
        // Safety: static NUL-terminated strings from the harness.
        let (name, relaxed) = unsafe { (CStr::from_ptr(name), CStr::from_ptr(relaxed)) };
        if name.to_str() == Ok(variant) {
            return relaxed
                .to_str()
                .unwrap_or("")
                .split(',')
                .filter(|f| !f.is_empty())
                .collect();
        }
    }
    Vec::new()
}

/// Whether the C checks of a standalone reproducer (`csrc/repro_checks.c`)
/// can run `check` themselves.
pub fn repro_supports(check: &str) -> bool {
    let Ok(check) = CString::new(check) else {
        return false;
    };
    // Safety: a valid NUL-terminated string for the duration of the call.
    unsafe { bindings::rf_repro_supports(check.as_ptr()) }
}

/// Names of the anon_vma core variants compiled into the harness.
pub fn variants() -> Vec<&'static str> {
    // Safety: pure function of a static table.
    let count = unsafe { bindings::rf_variant_count() };
    (0..count)
        .filter_map(|i| {
            // Safety: `i` is in range; the result is NULL or a static string.
            let name = unsafe { bindings::rf_variant_name(i) };
            if name.is_null() {
                return None;
            }
            // Safety: static NUL-terminated string from the harness.
            unsafe { CStr::from_ptr(name) }.to_str().ok()
        })
        .collect()
}

/// Threads a race may have.
pub const MAX_THREADS: usize = bindings::RF_MAX_THREADS as usize;
/// Preemptions a plan may name.
pub const MAX_PREEMPTIONS: usize = bindings::RF_MAX_PREEMPTIONS as usize;

/// One operation of a race, with its fault injection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RaceOp {
    pub op: Op,
    pub fail: Option<(u32, bool)>,
}

/// At switch point `point` (numbered from 1 over the race), thread
/// `thread` runs next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Preemption {
    pub point: u32,
    pub thread: u32,
}

/// Late stores a plan may name.
pub const MAX_LATE: usize = bindings::RF_MAX_LATE as usize;

/// Store `store` (numbered from 1 over thread `thread`'s stores to slab
/// objects in the code under test) is held back: no other thread sees it
/// until its thread next releases (csrc/include/rmapfuzz/store_buffer.h).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LateStore {
    pub thread: u32,
    pub store: u32,
}

/// A store that thread `reader` read (at switch point count `point`)
/// before its writer released: one worth holding back next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LateCandidate {
    pub store: LateStore,
    pub reader: u32,
    pub point: u32,
}

/// True when this build hooks the stores of the code under test (built
/// with clang): otherwise no store can be late.
pub fn memory_model() -> bool {
    // Safety: a pure query of how the harness was built.
    unsafe { bindings::rf_memory_model() }
}

/// A switch point a race met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TracePoint {
    /// The thread that reached it.
    pub thread: u32,
    /// Its kind, an index into [`POINT_KINDS`].
    pub kind: u32,
    /// The threads that could run on from it, a mask.
    pub runnable: u32,
    pub what: &'static str,
    pub func: &'static str,
    /// The object it touches (an address; 0: none), to compare within a run.
    pub obj: u64,
}

/// Names of the switch point kinds (csrc/include/rmapfuzz/sched.h).
pub const POINT_KINDS: [&str; 12] = [
    "start", "lock", "trylock", "unlock", "rcu", "atomic", "slab", "walk", "pte", "block", "end",
    "release",
];

/// Probabilistic concurrency testing for the choices a plan leaves open
/// (see `csrc/harness.h`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pct {
    /// Distinct; the higher runs first.
    pub priority: [u8; MAX_THREADS],
    /// Switch points where the running thread drops below every other.
    pub changes: [u32; MAX_PCT_CHANGES],
    pub nr_changes: u32,
}

/// Priority changes a [`Pct`] may name.
pub const MAX_PCT_CHANGES: usize = bindings::RF_MAX_PCT_CHANGES as usize;

/// What [`World::race`] returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaceResult {
    /// One per operation, in the order given.
    pub outcomes: Vec<Outcome>,
    /// Switch points met (the trace holds the first of them).
    pub nr_points: u32,
    pub trace: Vec<TracePoint>,
    /// Per operation, the switch points met when each of its steps took
    /// effect: when it last took a lock, or began if it took none (the
    /// operation, a fork's allocation of its child, each VMA a fork
    /// copies, munmap's splits and detach, each VMA an exit or munmap
    /// unlinks).
    pub steps: Vec<Vec<u32>>,
    /// The preemptions of the plan that happened.
    pub taken: Vec<Preemption>,
    /// The late stores of the plan that were held back.
    pub late: Vec<LateStore>,
    /// Stores another thread read before their writer released.
    pub late_candidates: Vec<LateCandidate>,
    /// A check stopped the race: the world must be dropped, not freed;
    /// [`World::hygiene`] says why.
    pub abandoned: bool,
}

impl Op {
    fn raw(&self) -> bindings::rf_op {
        bindings::rf_op {
            kind: self.kind.raw(),
            mm: self.mm,
            a: self.a,
            b: self.b,
            c: self.c,
        }
    }
}

/// An outcome the harness filled.
///
/// # Safety
/// `out.hits` must hold `out.nr_hits` entries.
unsafe fn outcome_of(out: &bindings::rf_outcome) -> Outcome {
    let status = match out.status {
        bindings::rf_status_RF_STATUS_OK => Status::Ok,
        bindings::rf_status_RF_STATUS_NOOP => Status::NoOp,
        bindings::rf_status_RF_STATUS_ENOMEM => Status::Enomem,
        _ => Status::Einval,
    };
    let recorded = out.nr_allocs.min(bindings::RF_MAX_ALLOCS);
    // Safety: as the caller promises.
    let hits = unsafe { copy_array(out.hits, out.nr_hits) };
    Outcome {
        status,
        allocs: out.allocs[..recorded as usize].to_vec(),
        allocs_dropped: out.nr_allocs - recorded,
        hits: hits.iter().map(|h| (h.mm, h.addr)).collect(),
        maple_failed: out.maple_failed,
    }
}

/// A C string literal of the harness, or "" for NULL.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string that lives forever.
unsafe fn static_str(p: *const std::os::raw::c_char) -> &'static str {
    if p.is_null() {
        return "";
    }
    // Safety: as the caller promises.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap_or("?")
}

/// One C world. Dropping it frees everything it allocated.
pub struct World {
    raw: NonNull<bindings::rf_world>,
}

// Safety: a world is only ever used by one thread at a time (the harness
// selects the current world per call, in thread-local storage), and `World`
// is not `Sync`, so moving it between threads is sound.
unsafe impl Send for World {}

impl World {
    /// A world with one empty process (mm 0), or `None` for an unknown variant.
    pub fn new(variant: &str) -> Option<World> {
        let name = CString::new(variant).ok()?;
        // Safety: `name` is a valid NUL-terminated string for the call.
        let raw = unsafe { bindings::rf_world_new(name.as_ptr()) };
        NonNull::new(raw).map(|raw| World { raw })
    }

    /// Applies `op`; `fail` = (n, and_later) fails the n-th allocation
    /// attempt of this operation (and all later ones if `and_later`).
    pub fn apply(&mut self, op: &Op, fail: Option<(u32, bool)>) -> Outcome {
        let raw_op = op.raw();
        let (nth, later) = fail.unwrap_or((0, false));
        let mut out = bindings::rf_outcome::default();
        // Safety: `self.raw` is a live world owned by us; `raw_op` and `out`
        // are valid for the duration of the call.
        unsafe { bindings::rf_world_apply(self.raw.as_ptr(), &raw_op, nth, later, &mut out) };
        // Safety: `out` was just filled by the harness.
        unsafe { outcome_of(&out) }
    }

    /// Runs `ops` (at most [`MAX_THREADS`]) as a race, each a thread of the
    /// harness's deterministic scheduler, preempting as `plan` says
    /// (sorted by point) and holding back the stores `late` names (and,
    /// with `hold_fresh`, every store a thread makes to an object it
    /// allocated in the race). `None` when the world cannot race.
    pub fn race(
        &mut self,
        ops: &[RaceOp],
        plan: &[Preemption],
        pct: Option<&Pct>,
        late: &[LateStore],
        hold_fresh: bool,
    ) -> Option<RaceResult> {
        let raw_ops: Vec<bindings::rf_race_op> = ops
            .iter()
            .map(|r| {
                let (nth, later) = r.fail.unwrap_or((0, false));
                bindings::rf_race_op {
                    op: r.op.raw(),
                    fail_nth: nth,
                    fail_and_later: later,
                }
            })
            .collect();
        let raw_plan: Vec<bindings::rf_preemption> = plan
            .iter()
            .map(|p| bindings::rf_preemption {
                point: p.point,
                thread: p.thread,
            })
            .collect();
        let raw_pct = pct.map(|p| bindings::rf_pct {
            priority: p.priority,
            nr_changes: p.nr_changes.min(MAX_PCT_CHANGES as u32),
            changes: p.changes,
        });
        let pct_ptr = raw_pct
            .as_ref()
            .map_or(std::ptr::null(), |p| p as *const bindings::rf_pct);
        let raw_late: Vec<bindings::rf_late> = late
            .iter()
            .take(MAX_LATE)
            .map(|l| bindings::rf_late {
                thread: l.thread,
                store: l.store,
            })
            .collect();
        let stores = bindings::rf_stores {
            late: raw_late.as_ptr(),
            nr_late: raw_late.len() as u32,
            hold_fresh,
        };
        let mut out = bindings::rf_race_result::default();
        // Safety: `self.raw` is live; the arrays hold the lengths passed
        // (`stores` points into `raw_late`), `pct_ptr` is NULL or points at
        // `raw_pct`, all alive for the call, and `out` is valid for it.
        let ran = unsafe {
            bindings::rf_world_race(
                self.raw.as_ptr(),
                raw_ops.as_ptr(),
                raw_ops.len() as u32,
                raw_plan.as_ptr(),
                raw_plan.len() as u32,
                pct_ptr,
                &stores,
                &mut out,
            )
        };
        if !ran {
            return None;
        }
        let n = ops.len().min(MAX_THREADS);
        // Safety: the harness filled one outcome per operation, and the
        // trace with `nr_trace` entries, valid until the next call on
        // this world; everything is copied now. Trace strings are static.
        let outcomes = out.outcomes[..n]
            .iter()
            .map(|o| unsafe { outcome_of(o) })
            .collect();
        let trace = unsafe { copy_array(out.trace, out.nr_trace) }
            .iter()
            .map(|p| TracePoint {
                thread: p.thread,
                kind: p.kind,
                runnable: p.runnable,
                // Safety: the harness's names are NUL-terminated literals.
                what: unsafe { static_str(p.what) },
                func: unsafe { static_str(p.func) },
                obj: p.obj,
            })
            .collect();
        let steps = out.nr_steps[..n]
            .iter()
            .zip(&out.steps)
            .map(|(&k, began)| began[..(k as usize).min(began.len())].to_vec())
            .collect();
        let taken = out.taken[..out.nr_taken as usize]
            .iter()
            .map(|p| Preemption {
                point: p.point,
                thread: p.thread,
            })
            .collect();
        let late = out.late[..out.nr_late as usize]
            .iter()
            .map(|l| LateStore {
                thread: l.thread,
                store: l.store,
            })
            .collect();
        let late_candidates = out.late_candidates[..out.nr_late_candidates as usize]
            .iter()
            .map(|c| LateCandidate {
                store: LateStore {
                    thread: c.thread,
                    store: c.store,
                },
                reader: c.reader,
                point: c.point,
            })
            .collect();
        Some(RaceResult {
            outcomes,
            nr_points: out.nr_points,
            trace,
            steps,
            taken,
            late,
            late_candidates,
            abandoned: out.abandoned,
        })
    }

    /// Makes the `nth` maple-tree preallocation of the next [`World::apply`]
    /// fail; false (nothing armed) for a world without a maple tree.
    pub fn fail_maple(&mut self, nth: u32) -> bool {
        // Safety: `self.raw` is a live world owned by us.
        unsafe { bindings::rf_world_fail_maple(self.raw.as_ptr(), nth) }
    }

    /// The world's current state, until the next call on the world.
    pub fn snapshot(&mut self) -> Snapshot<'_> {
        let mut s = bindings::rf_snapshot::default();
        // Safety: `self.raw` is live; `s` is valid for the call.
        unsafe { bindings::rf_world_snapshot(self.raw.as_ptr(), &mut s) };
        // Safety: just filled by the harness, and the borrow of `self`
        // keeps the world from refilling it.
        unsafe { borrow_snapshot(&s) }
    }

    /// Whether the snapshots from the next on are followed by partial ones
    /// ([`World::snapshot_changed`]): only then does the world keep what
    /// changed, at a cost on every store.
    pub fn follow_snapshots(&mut self, follow: bool) {
        // Safety: `self.raw` is a live world owned by us.
        unsafe { bindings::rf_world_snapshot_follow(self.raw.as_ptr(), follow) };
    }

    /// The records of what changed since the last snapshot (whole or
    /// partial), with references by when their objects were made; `None`
    /// where the world did not follow every store since, or changed more
    /// than `most` objects (a whole one is due then).
    pub fn snapshot_changed(&mut self, most: u64) -> Option<Snapshot<'_>> {
        let mut s = bindings::rf_snapshot::default();
        // Safety: `self.raw` is live; `s` is valid for the call.
        let partial =
            unsafe { bindings::rf_world_snapshot_changed(self.raw.as_ptr(), &mut s, most) };
        // Safety: as in `snapshot`.
        partial.then(|| unsafe { borrow_snapshot(&s) })
    }

    /// Problems the C side noticed since the last call (warnings, locks
    /// held, broken trees, writes after free), one line each.
    pub fn hygiene(&mut self) -> Vec<String> {
        let mut h = bindings::rf_hygiene::default();
        // Safety: `self.raw` is live; `h` is valid for the call.
        unsafe { bindings::rf_world_hygiene(self.raw.as_ptr(), &mut h) };
        if h.nr_problems == 0 || h.text.is_null() {
            return Vec::new();
        }
        // Safety: the harness returns a NUL-terminated buffer it owns until
        // the next call on this world; we copy it now.
        let text = unsafe { CStr::from_ptr(h.text) }
            .to_string_lossy()
            .into_owned();
        text.lines().map(str::to_owned).collect()
    }

    /// How often the lock checker checked each of its rules (in the order
    /// of [`LOCK_RULES`]) since the world was made.
    pub fn lock_stats(&mut self) -> [u64; NR_LOCK_STATS] {
        let mut out = [0u64; NR_LOCK_STATS];
        // Safety: `self.raw` is live; `out` has room for every stat.
        unsafe { bindings::rf_world_lock_stats(self.raw.as_ptr(), out.as_mut_ptr()) };
        out
    }

    /// Exits every process, as the exit operation does; what goes wrong
    /// on the way shows in the next [`World::hygiene`].
    pub fn exit_all(&mut self) {
        // Safety: `self.raw` is a live world owned by us.
        unsafe { bindings::rf_world_exit_all(self.raw.as_ptr()) };
    }

    /// A copy of the whole world to put back later with
    /// [`World::restore`]; `None` when this world cannot be saved (a
    /// tree's own callers, an ASan build, a world that raced).
    pub fn save(&mut self) -> Option<Checkpoint> {
        // Safety: `self.raw` is live; the copy is ours until freed.
        let raw = unsafe { bindings::rf_world_save(self.raw.as_ptr()) };
        NonNull::new(raw).map(|raw| Checkpoint { raw })
    }

    /// Puts `saved` back; false (and nothing done) when it was taken from
    /// another world.
    pub fn restore(&mut self, saved: &Checkpoint) -> bool {
        // Safety: both are live; the harness checks that the copy was
        // taken from this world before it writes anything.
        unsafe { bindings::rf_world_restore(self.raw.as_ptr(), saved.raw.as_ptr()) }
    }

    /// True if a snapshot now would be the one taken when `saved` was,
    /// for a world whose references all named live objects then; false
    /// when unsure.
    pub fn unchanged(&mut self, saved: &Checkpoint) -> bool {
        // Safety: both are live; the harness checks that the copy was
        // taken from this world and only reads either.
        unsafe { bindings::rf_world_unchanged(self.raw.as_ptr(), saved.raw.as_ptr()) }
    }

    /// Starts watching what the next operations write; false when this
    /// world cannot be watched (no store hooks in this build, an ASan
    /// build, a tree's own callers).
    pub fn watch(&mut self) -> bool {
        // Safety: `self.raw` is a live world owned by us.
        unsafe { bindings::rf_world_watch(self.raw.as_ptr()) }
    }

    /// False only when nothing a snapshot reads was written since
    /// [`World::watch`] (a race or a restore counts as a write): a
    /// snapshot now would be the one of then.
    pub fn written(&mut self) -> bool {
        // Safety: `self.raw` is a live world owned by us.
        unsafe { bindings::rf_world_written(self.raw.as_ptr()) }
    }

    /// Whether the lock checker still looks only at the objects the
    /// world's operations touched: a world whose stores are hooked does,
    /// until it races or is restored (then it looks at every live one).
    pub fn follows_touched(&mut self) -> bool {
        // Safety: `self.raw` is a live world owned by us.
        unsafe { bindings::rf_world_follows_touched(self.raw.as_ptr()) }
    }

    /// Objects allocated now, per site: after [`World::exit_all`], the
    /// leaks of a world that is then restored rather than freed.
    pub fn live(&mut self) -> [u64; NR_SITES] {
        let mut live = [0u64; NR_SITES];
        // Safety: `self.raw` is live; `live` has room for every site.
        unsafe { bindings::rf_world_live(self.raw.as_ptr(), live.as_mut_ptr()) };
        live
    }

    /// Exits every process, frees the world and returns how many objects
    /// per allocation site were still allocated (all zero unless leaked).
    pub fn free(self) -> [u64; NR_SITES] {
        let mut leaks = [0u64; NR_SITES];
        let raw = self.raw;
        std::mem::forget(self);
        // Safety: we own `raw` and never use it again (`self` is forgotten).
        unsafe { bindings::rf_world_free(raw.as_ptr(), leaks.as_mut_ptr()) };
        leaks
    }
}

/// A saved world ([`World::save`]).
pub struct Checkpoint {
    raw: NonNull<bindings::rf_checkpoint>,
}

impl Drop for Checkpoint {
    fn drop(&mut self) {
        // Safety: we own the copy; it is freed exactly once, here.
        unsafe { bindings::rf_checkpoint_free(self.raw.as_ptr()) };
    }
}

impl Drop for World {
    /// Releases the world's memory without running its exit paths: a world
    /// dropped early may be in a state a check found broken. [`World::free`]
    /// is the orderly end.
    fn drop(&mut self) {
        // Safety: we own the world; it is released exactly once, here
        // (`free` forgets `self` before releasing it itself).
        unsafe { bindings::rf_world_discard(self.raw.as_ptr()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(kind: OpKind, mm: u32, a: u64, b: u64, c: u32) -> Op {
        Op { kind, mm, a, b, c }
    }

    #[test]
    fn variants_are_listed() {
        let v = variants();
        assert!(v.contains(&"mainline"));
        assert!(v.contains(&"pre-series"));
        assert!(World::new("no-such-variant").is_none());
    }

    #[test]
    fn fault_then_fork_shares_the_page() {
        let mut w = World::new("mainline").unwrap();
        assert_eq!(
            w.apply(&op(OpKind::Mmap, 0, 0x10000, 0x2000, 0), None)
                .status,
            Status::Ok
        );
        let out = w.apply(&op(OpKind::Fault, 0, 0x10000, 0, ACCESS_WRITE), None);
        assert_eq!(out.status, Status::Ok);
        assert_eq!(out.allocs, vec![3, 2, 4]);
        assert_eq!(
            w.apply(&op(OpKind::Fork, 0, 0, 0, 0), None).status,
            Status::Ok
        );
        let out = w.apply(&op(OpKind::Rmap, 1, 0x10000, 0, 0), None);
        assert_eq!(out.hits, vec![(0, 0x10000), (1, 0x10000)]);
        let snap = w.snapshot();
        assert_eq!(snap.pages.len(), 1);
        assert_eq!(snap.pages[0].mapcount, 2);
        assert_eq!(snap.anon_vmas.len(), 2);
        assert!(w.hygiene().is_empty());
        assert_eq!(w.free(), [0; NR_SITES]);
    }

    #[test]
    fn injected_failure_reports_enomem_and_leaks_nothing() {
        let mut w = World::new("pre-series").unwrap();
        w.apply(&op(OpKind::Mmap, 0, 0x10000, 0x2000, 0), None);
        let out = w.apply(
            &op(OpKind::Fault, 0, 0x10000, 0, ACCESS_WRITE),
            Some((2, false)),
        );
        assert_eq!(out.status, Status::Enomem);
        assert_eq!(out.allocs, vec![3, 2]);
        assert!(w.hygiene().is_empty());
        assert_eq!(w.free(), [0; NR_SITES]);
    }
}

/// In a fuzz build with AddressSanitizer on the C side alone
/// (`RMAPFUZZ_C_ASAN=1`, ffi/build.rs), `malloc` is ASan's: slow on
/// purpose (poisoning, quarantine, a stack trace per call) so that the C
/// side's use-after-free and overflows are caught. The Rust side is safe
/// code and gains nothing from it, so it keeps a heap of its own.
#[cfg(rmapfuzz_c_asan)]
#[global_allocator]
static RUST_HEAP: mimalloc::MiMalloc = mimalloc::MiMalloc;
