/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rmapfuzz harness: the only door into the C model. A world holds processes
 * (mms) built from one anon_vma core variant; operations are applied one at
 * a time, each optionally with an allocation failure injected (fail_nth);
 * between operations the world can be snapshotted and checked.
 *
 * Everything returned by pointer is owned by the world and stays valid until
 * the next call on that world. Worlds are independent and may live in
 * different threads, one thread per world at a time.
 */
#ifndef RMAPFUZZ_HARNESS_H
#define RMAPFUZZ_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rf_world;

/* ---- Variants ---------------------------------------------------------- */

uint32_t rf_variant_count(void);
/* NULL past the end. */
const char *rf_variant_name(uint32_t index);
/*
 * Snapshot checks a variant cannot support (a comma-separated list of
 * rule names), or NULL when it supports them all.
 */
const char *rf_variant_relaxed_checks(uint32_t index);

/* ---- Operations -------------------------------------------------------- */

enum rf_op_kind {
	RF_OP_MMAP,	/* a = start, b = len */
	RF_OP_FAULT,	/* a = addr, c = enum rf_access */
	RF_OP_FORK,
	RF_OP_SPLIT,	/* a = addr */
	RF_OP_MERGE,	/* a = addr */
	RF_OP_MREMAP,	/* a = addr, b = new_addr */
	RF_OP_MUNMAP,	/* a = start, b = len */
	RF_OP_MADVISE,	/* a = start, b = len, c = enum rf_advice */
	RF_OP_EXIT,
	RF_OP_RMAP,	/* a = addr */
	/*
	 * Walkers of the folio mapped at a (isolated at the start: in a race,
	 * when the race starts), holding no mmap_lock.
	 */
	RF_OP_RECLAIM,	/* try_to_unmap(): unmap it everywhere */
	RF_OP_MIGRATE,	/* folio_get_anon_vma(), a locked walk, the put */
	RF_OP_REFERENCED, /* folio_referenced(): who maps it */
};

enum rf_access {
	RF_ACCESS_READ,
	RF_ACCESS_WRITE,
};

enum rf_advice {
	RF_ADVICE_DONTFORK,
	RF_ADVICE_DOFORK,
	RF_ADVICE_WIPEONFORK,
	RF_ADVICE_KEEPONFORK,
};

struct rf_op {
	uint32_t kind;
	uint32_t mm;		/* mm id */
	uint64_t a;
	uint64_t b;
	uint32_t c;
};

enum rf_status {
	RF_STATUS_OK,
	RF_STATUS_NOOP,
	RF_STATUS_ENOMEM,
	RF_STATUS_EINVAL,
};

/* Allocation sites, in the order fail_nth counts them. */
enum rf_site {
	RF_SITE_MM,
	RF_SITE_VMA,
	RF_SITE_ANON_VMA,
	RF_SITE_AVC,
	RF_SITE_PAGE,
	RF_NR_SITES,
};

/* One (mm, address) that maps a page. */
struct rf_hit {
	uint32_t mm;
	uint64_t addr;
};

#define RF_MAX_ALLOCS 256

struct rf_outcome {
	uint32_t status;		/* enum rf_status */
	uint32_t nr_allocs;		/* attempts made, may exceed the array */
	uint8_t allocs[RF_MAX_ALLOCS];	/* enum rf_site of each attempt */
	uint32_t nr_hits;		/* RF_OP_RMAP, _MIGRATE, _REFERENCED: where the page was found */
	const struct rf_hit *hits;
	bool maple_failed;		/* rf_world_fail_maple()'s failure hit */
};

/*
 * Apply @op. @fail_nth > 0 makes the fail_nth-th allocation attempt of
 * this operation fail, and every later one too if @fail_and_later.
 */
void rf_world_apply(struct rf_world *world, const struct rf_op *op,
		    uint32_t fail_nth, bool fail_and_later,
		    struct rf_outcome *out);

/*
 * Make the @nth maple-tree preallocation (vma_iter_prealloc) of the next
 * rf_world_apply() fail. Only a world of a tree's own mm/vma.c has a maple
 * tree: false, and nothing armed, for the others.
 */
bool rf_world_fail_maple(struct rf_world *world, uint32_t nth);

/* ---- Races --------------------------------------------------------------- */

/*
 * Operations run concurrently, each as a kernel thread of its own, under a
 * deterministic scheduler that switches threads only at switch points
 * (locks, RCU, atomics, slab, walk steps; see csrc/include/rmapfuzz/
 * sched.h). The same operations and plan give the same run.
 */
#define RF_MAX_THREADS		3
#define RF_MAX_PREEMPTIONS	16
#define RF_MAX_TRACE		4096
#define RF_MAX_STEPS		64

/* At switch point @point (numbered from 1 over the race), run @thread. */
struct rf_preemption {
	uint32_t point;
	uint32_t thread;
};

/*
 * Store @store (numbered from 1 over the thread's stores to slab objects)
 * of thread @thread is held back ("late"): seen by no other thread until
 * its thread next releases (see csrc/include/rmapfuzz/store_buffer.h).
 */
#define RF_MAX_LATE		32
#define RF_MAX_LATE_CANDIDATES	32

struct rf_late {
	uint32_t thread;
	uint32_t store;
};

/* The stores a race holds back: @late, and with @hold_fresh also every
 * store a thread makes to an object it allocated in the race (up to
 * RF_MAX_LATE in all; the result's @late lists what was held). */
struct rf_stores {
	const struct rf_late *late;
	uint32_t nr_late;
	bool hold_fresh;
};

/* A store that thread @reader read, at switch point count @point,
 * before its writer released: one worth holding back next. */
struct rf_late_candidate {
	uint32_t thread;
	uint32_t store;
	uint32_t reader;
	uint32_t point;
};

/* True when this build hooks the stores of the code under test (clang):
 * otherwise no store can be late, and every run is sequentially
 * consistent. */
bool rf_memory_model(void);

struct rf_race_op {
	struct rf_op op;
	uint32_t fail_nth;
	bool fail_and_later;
};

struct rf_trace_point {
	uint32_t thread;	/* the thread that reached it */
	uint32_t kind;		/* enum sched_point_kind */
	uint32_t runnable;	/* threads that could run on from here, a mask */
	const char *what;	/* "down_read", "kmem_cache_free", ... */
	const char *func;	/* where, when known */
	/* The object it touches (an address, 0: none): two threads that
	 * touch one object conflict there. Only compared within one run. */
	uint64_t obj;
};

struct rf_race_result {
	struct rf_outcome outcomes[RF_MAX_THREADS];
	uint32_t nr_points;		/* switch points met */
	uint32_t nr_trace;		/* the first of them, in @trace */
	const struct rf_trace_point *trace;
	/*
	 * Per thread, the switch points met when each step of its operation
	 * took effect (when it last took a lock, or began if it took none;
	 * nr_steps may exceed RF_MAX_STEPS): the operation itself (once it
	 * holds its mmap_lock), then a
	 * fork's allocation of its child after taking the child's id, each
	 * VMA it copies, munmap's two splits and its detach, each VMA exit
	 * or munmap unlinks. A serial explanation tries this order first.
	 */
	uint32_t nr_steps[RF_MAX_THREADS];
	uint32_t steps[RF_MAX_THREADS][RF_MAX_STEPS];
	uint32_t nr_taken;		/* the plan that replays the run */
	struct rf_preemption taken[RF_MAX_PREEMPTIONS];
	uint32_t nr_late;		/* the late stores that were held */
	struct rf_late late[RF_MAX_LATE];
	uint32_t nr_late_candidates;
	struct rf_late_candidate late_candidates[RF_MAX_LATE_CANDIDATES];
	/* A check stopped the race (a use after free, a deadlock): the
	 * world must be discarded; rf_world_hygiene() says why. */
	bool abandoned;
};

/*
 * Probabilistic concurrency testing (PCT) for the choices @plan leaves
 * open: the highest-priority runnable thread runs, and at each change
 * point the running thread drops below all others. The result's @taken
 * is the plan that replays the run.
 */
#define RF_MAX_PCT_CHANGES	4

struct rf_pct {
	uint8_t priority[RF_MAX_THREADS];	/* distinct; higher runs first */
	uint32_t nr_changes;
	uint32_t changes[RF_MAX_PCT_CHANGES];	/* switch point numbers */
};

/*
 * Run @nr (<= RF_MAX_THREADS) operations as a race, choosing as @plan
 * (sorted by point) says and elsewhere as @pct does (NULL: the default,
 * each thread until it blocks or ends), holding back the stores @stores
 * names (NULL: none). False, and nothing run, when the
 * world cannot race (a tree's own world).
 */
bool rf_world_race(struct rf_world *world, const struct rf_race_op *ops,
		   uint32_t nr, const struct rf_preemption *plan,
		   uint32_t nr_plan, const struct rf_pct *pct,
		   const struct rf_stores *stores, struct rf_race_result *out);

/* ---- Snapshot ----------------------------------------------------------- */

/* References inside a snapshot: an index, or one of these. */
#define RF_REF_NULL	(-1)
#define RF_REF_DANGLING	(-2)	/* points at a freed object */
#define RF_REF_FOREIGN	(-3)	/* points at something that is not one */

struct rf_snap_mm {
	uint32_t id;
	uint32_t first_vma;	/* into vma_order[] */
	uint32_t nr_vmas;
	/* VMAs on its list, or page-table entries, that point at freed memory. */
	uint32_t nr_bad_entries;
};

struct rf_snap_vma {
	int64_t mm;		/* mm id, or an RF_REF_* */
	uint64_t start, end, pgoff;
	uint64_t anon_pgoff;	/* as stored; valid if has_anon_pgoff */
	uint32_t has_anon_pgoff;	/* the core keys by it (Linux 7.3) */
	uint32_t flags;		/* 1: VM_DONTCOPY, 2: VM_WIPEONFORK */
	uint32_t attached;
	int32_t anon_vma;
	uint32_t first_chain;	/* into chain[]: AVC refs, head first */
	uint32_t nr_chain;
	uint32_t chain_broken;	/* the walk met a freed or looping entry */
};

struct rf_snap_avc {
	int32_t vma;
	int32_t anon_vma;
};

struct rf_snap_tree_node {
	int32_t avc;
	uint64_t start, last;	/* the key the AVC was inserted with */
};

struct rf_snap_anon_vma {
	int32_t root, parent;
	int64_t refcount, num_children, num_active_vmas;
	/* Degree-era cores: one counter instead of the two above. */
	uint32_t has_degree;
	int64_t degree;
	uint32_t first_tree;	/* into tree[], in tree order */
	uint32_t nr_tree;
};

struct rf_snap_page {
	int32_t anon_vma;
	uint64_t index;
	int64_t mapcount;
	uint32_t first_mapper, nr_mappers;	/* into hits[], sorted */
	uint32_t first_walk, nr_walk;		/* into hits[], sorted */
};

/* An object freed since the last snapshot, for a partial one. */
struct rf_snap_gone {
	uint32_t site;		/* an RF_SITE_* */
	uint32_t made;
};

struct rf_snapshot {
	const struct rf_snap_mm *mms;
	uint32_t nr_mms;
	const uint32_t *vma_order;
	uint32_t nr_vma_order;
	const struct rf_snap_vma *vmas;
	uint32_t nr_vmas;
	const int32_t *chain;
	uint32_t nr_chain;
	const struct rf_snap_avc *avcs;
	uint32_t nr_avcs;
	const struct rf_snap_anon_vma *anon_vmas;
	uint32_t nr_anon_vmas;
	const struct rf_snap_tree_node *tree;
	uint32_t nr_tree;
	const struct rf_snap_page *pages;
	uint32_t nr_pages;
	const struct rf_hit *hits;
	uint32_t nr_hits;
	uint64_t live[RF_NR_SITES];	/* objects allocated and not freed */
	/*
	 * Per site, when the object of each record was made (a number no
	 * other object of the world has), in record order; NULL where the
	 * world does not say (a tree's own world, or a whole snapshot no
	 * partial one is to follow: rf_world_snapshot_follow()). The mms'
	 * follow their records' order.
	 */
	const uint32_t *ids[RF_NR_SITES];
	/*
	 * A partial snapshot (rf_world_snapshot_changed()): the records of
	 * the mms, VMAs, AVCs and anon_vmas changed since the last snapshot,
	 * and of every page, with references by when their objects were
	 * made instead of by position; and the objects freed since.
	 */
	uint32_t changed;
	const struct rf_snap_gone *gone;
	uint32_t nr_gone;
};

void rf_world_snapshot(struct rf_world *world, struct rf_snapshot *out);

/*
 * Whether the snapshots from the next on are to be followed by partial
 * ones: only then does the world keep what changed since each (a cost on
 * every store, worth it where worlds are large; off at first).
 */
void rf_world_snapshot_follow(struct rf_world *world, bool follow);

/*
 * A partial snapshot, where the world followed every store since its last
 * snapshot (whole or partial) and changed at most @most objects (touched
 * or freed) since; false, and nothing filled, where it did not (a world
 * that raced, was restored, has no arena or is a tree's own; or one that
 * changed so much that a whole snapshot costs less).
 */
bool rf_world_snapshot_changed(struct rf_world *world, struct rf_snapshot *out,
			       uint64_t most);

/* ---- Hygiene ------------------------------------------------------------ */

/*
 * What the C side noticed since the last call: warnings hit, locks still
 * held, interval trees out of shape, writes to freed objects. One problem
 * per line in @text (NUL-terminated); @nr_problems == 0 means clean.
 */
struct rf_hygiene {
	uint32_t nr_problems;
	const char *text;
};

void rf_world_hygiene(struct rf_world *world, struct rf_hygiene *out);

/*
 * How often the lock checker checked each of its rules since the world
 * was made (for `rmapfuzz bench checks`): which rules a corpus exercises.
 */
enum rf_lock_stat {
	RF_LOCK_STAT_TREE_WRITE,	/* tree changes, family rwsem held for writing */
	RF_LOCK_STAT_TREE_SEARCH,	/* tree searches, family rwsem held */
	RF_LOCK_STAT_ANON_VMA_SEAL,	/* anon_vma root/parent/counters vs their seal */
	RF_LOCK_STAT_VMA_SEAL,		/* a VMA's anon_vma/chain/range vs its seal */
	RF_LOCK_STAT_MMAP_ASSERT,	/* mmap_lock held where the kernel asserts it */
	RF_LOCK_STAT_ROOT_ONLY,		/* an anon_vma rwsem taken is a root's */
	RF_LOCK_STAT_ORDER,		/* a lock taken while others are held */
	RF_NR_LOCK_STATS,
};

void rf_world_lock_stats(struct rf_world *world, uint64_t out[RF_NR_LOCK_STATS]);

/* ---- Lifetime ----------------------------------------------------------- */

/* NULL if @variant names no variant. */
struct rf_world *rf_world_new(const char *variant);

/*
 * Exit every remaining mm the way RF_OP_EXIT does, oldest first, so that
 * what goes wrong on the way shows in the next rf_world_hygiene().
 */
void rf_world_exit_all(struct rf_world *world);

/*
 * Exit every remaining mm, count what is still allocated per site (a leak),
 * and release everything. @leaks may be NULL.
 */
void rf_world_free(struct rf_world *world, uint64_t leaks[RF_NR_SITES]);

/*
 * Release everything without running any kernel code: for a world whose
 * state a check found broken, where exiting its processes could crash.
 */
void rf_world_discard(struct rf_world *world);

/* ---- Saved states ------------------------------------------------------- */

/*
 * A copy of a world's whole state, to put back into that same world later
 * (explore tries each next operation from one saved state). NULL when the
 * world cannot be saved: a tree's own callers keep their objects in the
 * tree's allocator, an ASan build's arena carries ASan's poison (which
 * a copy would not), and a race leaves memory outside the world.
 */
struct rf_checkpoint *rf_world_save(struct rf_world *world);

/* Puts @cp back; false (nothing done) if it was taken from another world. */
bool rf_world_restore(struct rf_world *world, const struct rf_checkpoint *cp);

/*
 * True if a snapshot of @world now would be the one taken when @cp was
 * saved, for a world all of whose references then named live objects;
 * false when unsure. Cheaper than a snapshot: it compares bytes.
 */
bool rf_world_unchanged(struct rf_world *world, const struct rf_checkpoint *cp);

void rf_checkpoint_free(struct rf_checkpoint *cp);

/*
 * Starts watching what @world's next operations write; false when this
 * world cannot be watched (a build without store hooks, an ASan build, a
 * tree's own callers): rf_world_written() then always says true.
 */
bool rf_world_watch(struct rf_world *world);

/*
 * Whether anything a snapshot reads may have changed since
 * rf_world_watch(): false only when nothing did, so that a snapshot now
 * would be the one of then. A race, or putting back a saved state, counts
 * as a write.
 */
bool rf_world_written(struct rf_world *world);

/*
 * Whether @world's lock checker still looks only at the objects its
 * operations touched (mm/slab.c, "Objects touched"): a world whose stores
 * are hooked does, until it races or is restored.
 */
bool rf_world_follows_touched(struct rf_world *world);

/*
 * What is still allocated per site, without releasing anything: after
 * rf_world_exit_all(), the leaks of a world that is then put back to a
 * saved state.
 */
void rf_world_live(struct rf_world *world, uint64_t live[RF_NR_SITES]);

#ifdef __cplusplus
}
#endif

#endif /* RMAPFUZZ_HARNESS_H */
