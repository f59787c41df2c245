/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The state behind one harness world: the mms, the selected anon_vma core,
 * fault injection and everything the shims record for the hygiene checks.
 * Only the shim implementations and harness.c look inside; the mm code
 * reaches it through slab, rwsem and warning shims.
 */
#ifndef _RMAPFUZZ_WORLD_H
#define _RMAPFUZZ_WORLD_H

#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/slab.h>
#include <linux/types.h>

struct anon_vma_core;
struct sched;
struct world_arena;

#define WORLD_MAX_ATTEMPTS	256
#define WORLD_MAX_WARNINGS	16
#define WORLD_QUARANTINE	4096
#define WORLD_MAX_HELD_LOCKS	8
#define WORLD_MAX_LOCK_REPORTS	8
#define WORLD_LOCK_REPORT_LEN	384
#define WORLD_MAX_RACE_REPORTS	4
#define WORLD_RACE_REPORT_LEN	640

/* A lock held by the world's (single) thread of control. */
struct held_lock {
	const void *lock;
	int class;		/* enum lock_class */
	bool write;
	const char *file;
	int line;
	const char *func;
};

/* What kernel/lockdep.c keeps per world. */
struct lockdep_state {
	unsigned int depth;
	struct held_lock held[WORLD_MAX_HELD_LOCKS];
	/* The anon_vma core entry point being run, for reports. */
	const char *core_fn;
	/* The harness is reading the world (snapshot, audit): no checks. */
	bool observing;
	/* Checks made per rule (enum lock_stat), for benchmarks. */
	u64 checked[NR_LOCK_STATS];
	unsigned int nr_reports;
	char (*reports)[WORLD_LOCK_REPORT_LEN];	/* WORLD_MAX_LOCK_REPORTS, on demand */
};

struct warn_hit {
	const char *file;
	int line;
	const char *cond;
};

/* An address the slab handed out: live, or freed not long ago. */
struct slab_slot {
	const void *obj;
	u32 seq;		/* freed: when (matches the ring entry) */
	u8 state;		/* SLOT_* of mm/slab.c */
	u8 site;		/* enum alloc_site */
};

struct slab_freed {
	const void *obj;
	u32 seq;
};

/* Liveness by address, without reading the object (mm/slab.c). */
struct slab_index {
	struct slab_slot *slots;
	size_t cap, used;
	struct slab_freed *freed;	/* ring of recently freed addresses */
	u32 freed_cap, freed_seq;
};

struct slab_site_state {
	u64 live;
	struct list_head objects;	/* live objects of this site */
	/*
	 * Per reader of touched objects (enum touch_reader): the objects it
	 * has not looked at since they were touched (mm/slab.c, "Objects
	 * touched"); a list may also hold freed ones and an object twice.
	 */
	struct touched_list {
		void **obj;
		u32 nr, cap;
	} touched[3];
};

/*
 * Who looks at touched objects: the lock checker's seals (VMAs and
 * anon_vmas), the hygiene audit of interval trees (anon_vmas), and the
 * partial snapshots (every site: rf_world_snapshot_changed()).
 */
enum touch_reader {
	TOUCH_SEAL,
	TOUCH_AUDIT,
	TOUCH_SNAP,
};

/* An object freed since the last snapshot: its site and when it was made. */
struct slab_gone {
	u32 site;
	u32 made;
};

struct world {
	const struct anon_vma_core *core;
	/* Where the world's host memory comes from (rmapfuzz/world_mem.h). */
	struct world_arena *arena;
	struct list_head mms;		/* ordered by mm_id */
	unsigned int next_mm_id;

	/* Fault injection for the operation in progress (fail_nth). */
	unsigned int fail_nth;		/* 0: nothing fails */
	bool fail_and_later;
	unsigned int nr_attempts;
	u8 attempts[WORLD_MAX_ATTEMPTS];

	/* Slab accounting; freed objects wait in quarantine (in an arena). */
	struct slab_site_state sites[NR_ALLOC_SITES];
	struct slab_index index;
	struct list_head quarantine;
	size_t nr_quarantined;
	u64 writes_after_free;

	/* Lock rules (kernel/lockdep.c). */
	struct lockdep_state lockdep;
	/*
	 * The slab follows which objects the world's stores touch, and the
	 * lock checker looks at those alone (mm/slab.c, "Objects touched");
	 * false: it looks at every live object.
	 */
	bool follows_touched;
	/*
	 * ... and keeps the touched list of partial snapshots (TOUCH_SNAP)
	 * and what was freed, since the first snapshot it followed.
	 */
	bool follows_snap;
	/* Objects made so far: the order of the live lists. */
	u32 nr_made;
	/* Objects freed since the last snapshot, while following. */
	struct {
		struct slab_gone *v;
		u32 nr, cap;
	} gone;
	/* A store reached a quarantined object since the sums were checked. */
	bool quarantine_touched;

	/* The race in progress (kernel/sched.c), or NULL. */
	struct sched *sched;
	/* Non-zero while a checker reads the world mid-race: no switch points. */
	unsigned int sched_quiet;
	/* The slab's view of that race's memory (mm/slab.c). */
	struct slab_race *slab_race;
	/* What that race found: freed objects used, deadlocks ("race: ..."). */
	unsigned int nr_race_reports;
	/* That race was stopped halfway: its threads' locks stay taken. */
	bool race_abandoned;
	/* WORLD_MAX_RACE_REPORTS, made on demand: a saved world is copied
	 * whole at every restore, and most never race. */
	char (*race_reports)[WORLD_RACE_REPORT_LEN];
	/* Where the harness collects the results of the running operation. */
	void *op_results;

	/* Hygiene records, cleared when reported. */
	int locks_held;
	unsigned int nr_warnings;
	struct warn_hit warnings[WORLD_MAX_WARNINGS];
};

/* (Initial-exec: read everywhere; the harness is linked into executables.) */
extern _Thread_local struct world *current_world __attribute__((tls_model("initial-exec")));

/* Record what a race found, for the hygiene report. */
void race_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void slab_world_init(struct world *w);
/* Checks quarantined objects for writes after free; counts them. */
void slab_check_quarantine(struct world *w);
/*
 * Every site holds the same live objects, in the same order and with the
 * same bytes, in @w as in @then, a copy of it whose arena was saved to @buf
 * (@len bytes).
 */
bool slab_same_live(const struct world *w, const struct world *then,
		    const void *buf, size_t len);
/* Releases every object, live or quarantined (world teardown). */
void slab_world_release(struct world *w);
/* Scratch index of a live object, for snapshots. */
u32 *slab_obj_scratch(void *obj);
/* When @obj was made: a number no other object of its world has. */
u32 slab_obj_made(void *obj);
/* The anon_vma whose seal last read the AVC @obj (or NULL). */
void *slab_obj_reader(void *obj);
void __slab_snap_touch(struct world *w, void *obj);
/* Lockdep's seal of a live object's protected fields (0: not sealed). */
u64 *slab_obj_seal(void *obj);
/*
 * Made during the race in progress by another thread, and not yet sealed
 * by it: still private to its maker, as a new anon_vma is until fork
 * links it, so no other thread's seal pass looks at it.
 */
bool slab_obj_private(void *obj);
/* Visit every live object of @site, oldest first. */
void slab_for_each_live(struct world *w, enum alloc_site site,
			void (*fn)(void *obj, void *arg), void *arg);

struct write_watch;
/*
 * Whether @w follows which objects are touched (mm/slab.c, "Objects
 * touched"), through the owner words @ww hands its store hooks; once off
 * for a world, it stays off.
 */
void slab_follow(struct world *w, struct write_watch *ww, bool on);
/*
 * A look at @anon_vma's tree read @avc's node: a later touch of @avc
 * touches @anon_vma. False when a look at another live anon_vma read it
 * last (a node in two trees): the world can no longer follow.
 */
bool slab_read_by(void *avc, void *anon_vma);
/*
 * RMAPFUZZ_VERIFY_WATCH=1: what is skipped because nothing touched it is
 * looked at anyway, and a change found there stops the process.
 */
bool slab_verify_touched(void);
/* A live object was touched since @reader last looked at it. */
bool slab_obj_touched(void *obj, enum touch_reader reader);
/*
 * Visit the live objects of @site touched since @reader last looked at
 * them, oldest first; each one @fn says it looked at is no longer
 * touched for @reader.
 */
void slab_for_each_touched(struct world *w, enum alloc_site site,
			   enum touch_reader reader,
			   bool (*fn)(void *obj, void *arg), void *arg);

/*
 * The machinery changed @obj in a way a snapshot reads (a page table):
 * noted only while partial snapshots follow the world, which costs a
 * thread-local read otherwise.
 */
static inline void slab_snap_touch(void *obj)
{
	struct world *w = current_world;

	if (w && w->follows_snap)
		__slab_snap_touch(w, obj);
}

#endif /* _RMAPFUZZ_WORLD_H */
