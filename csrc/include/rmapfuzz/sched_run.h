/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Running a race (kernel/sched.c), for the harness, and what the slab
 * does for one (mm/slab.c). Only the harness, the scheduler and the slab
 * include this.
 */
#ifndef _RMAPFUZZ_SCHED_RUN_H
#define _RMAPFUZZ_SCHED_RUN_H

#include <rmapfuzz/sched.h>
#include <rmapfuzz/store_buffer.h>

#define SCHED_MAX_PREEMPTIONS	16
#define SCHED_MAX_TRACE		4096
#define SCHED_MAX_PCT_CHANGES	4
#define SCHED_MAX_STEPS		64

/*
 * Probabilistic concurrency testing: the highest-priority runnable thread
 * runs; at each change point the running thread drops below every other.
 */
struct sched_pct {
	u8 priority[SCHED_MAX_THREADS];		/* higher runs first */
	u32 nr_changes;
	u32 changes[SCHED_MAX_PCT_CHANGES];	/* switch point numbers */
};

/* At switch point @point (1-based), thread @thread runs next. */
struct sched_preemption {
	u32 point;
	u32 thread;
};

struct sched_trace_point {
	u32 thread;		/* who was running */
	u32 kind;		/* enum sched_point_kind */
	u32 runnable;		/* threads that could have run next, a mask */
	const char *what;
	const char *func;
	const void *obj;
};

struct sched_run_result {
	u32 nr_points;				/* may exceed the trace */
	struct sched_trace_point trace[SCHED_MAX_TRACE];
	u32 nr_taken;				/* preemptions that happened */
	struct sched_preemption taken[SCHED_MAX_PREEMPTIONS];
	bool abandoned;
	bool finished[SCHED_MAX_THREADS];
	/*
	 * Where each thread's steps took effect: the points met when the step
	 * last took a lock or made a change others see without one
	 * (sched_step_effect()), or when it began (sched_step()) if neither.
	 * nr_steps counts the steps begun, which may exceed SCHED_MAX_STEPS.
	 */
	u32 nr_steps[SCHED_MAX_THREADS];
	u32 steps[SCHED_MAX_THREADS][SCHED_MAX_STEPS];
	struct sb_result stores;		/* late stores, candidates */
};

/*
 * Run @fn(@args[i]) as thread i, for i < @nr, to the end, choosing as
 * @plan (sorted by point) says, and where it says nothing as @pct does
 * (may be NULL). @res->taken is the plan that replays the run. What a
 * thread sets in the world's per-thread parts (held locks, fault
 * injection, op_results) is its own.
 */
void sched_run(struct world *w, void (*fn)(void *arg), void *const *args,
	       unsigned int nr, const struct sched_preemption *plan,
	       unsigned int nr_plan, const struct sched_pct *pct,
	       const struct sb_plan *stores, struct sched_run_result *res);

/* What a pointer points into, for the scheduler's checks (mm/slab.c). */
enum slab_touch {
	SLAB_TOUCH_OK,		/* a live object, or nothing the slab made */
	SLAB_TOUCH_TYPESAFE,	/* a freed SLAB_TYPESAFE_BY_RCU object */
	SLAB_TOUCH_FREED,	/* a freed object */
};

enum slab_touch slab_touch_state(struct world *w, const void *addr);
/* Does @addr lie in an object the slab made (live or freed)? */
bool slab_race_holds(struct world *w, const void *addr);
/* Does @addr lie in a live object the running thread made in this race? */
bool slab_race_own(struct world *w, const void *addr);
/* The object @addr lies in (its start), or @addr if none the slab made. */
const void *slab_object_of(struct world *w, const void *addr);
/* "in anon_vma #3 (freed)", for reports; a static buffer. */
const char *slab_describe(struct world *w, const void *addr);
/* Track every object by its address range for the race's lifetime. */
void slab_race_begin(struct world *w);
/* Release what SLAB_TYPESAFE_BY_RCU kept: the race is over. */
void slab_race_end(struct world *w, bool abandoned);

#endif /* _RMAPFUZZ_SCHED_RUN_H */
