/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Store buffers (kernel/store_buffer.c): the memory model of a race.
 *
 * The code under test (the anon_vma cores, their callers in mm/, a
 * kernel tree's units) is compiled with clang's store and load hooks
 * (-fsanitize-coverage=trace-stores,trace-loads). During a race every
 * store it makes to a slab object is numbered per thread (from 1); a
 * plan may hold any of them back ("late"): it stays in its thread's store
 * buffer, seen by that thread and by no other, until the thread releases
 * (a lock release, a release store, a value-returning atomic, a full
 * barrier, a slab allocation or free, its end). Every other store is
 * seen at once, so a run with no late store is sequentially consistent.
 *
 * The buffer is kept in memory itself: while a thread runs, memory holds
 * its own late values; when it is switched out they are swapped for what
 * the others see, and back when it runs again.
 *
 * A run also says which stores were worth holding back: those another
 * thread read before their writer released (the candidates a search
 * tries next).
 */
#ifndef _RMAPFUZZ_STORE_BUFFER_H
#define _RMAPFUZZ_STORE_BUFFER_H

#include <linux/types.h>
#include <rmapfuzz/sched.h>

#define SB_MAX_LATE		32	/* late stores a plan may name */
#define SB_MAX_CANDIDATES	32

/* Store @store (from 1) of thread @thread. */
struct sb_store_id {
	u32 thread;
	u32 store;
};

/* A store some other thread read before its writer released. */
struct sb_candidate {
	struct sb_store_id id;
	u32 reader;		/* the thread that read it */
	u32 point;		/* the switch point count when it did */
};

struct sb_result {
	u32 nr_late;			/* the planned stores that were held */
	struct sb_store_id late[SB_MAX_LATE];
	u32 nr_candidates;
	struct sb_candidate candidates[SB_MAX_CANDIDATES];
};

struct world;

/* True when this build hooks the stores of the code under test. */
bool sb_available(void);

/* Which stores a race holds back. */
struct sb_plan {
	const struct sb_store_id *late;	/* these (may be NULL) */
	unsigned int nr_late;
	/*
	 * And every store a thread makes to an object it allocated in the
	 * race (its initialisation), up to SB_MAX_LATE in all: the fuzzers'
	 * way to a publication without its release. The result lists them.
	 */
	bool hold_fresh;
};

/*
 * A race begins in @w with @nr threads whose stacks are @stacks (each
 * @stack_size bytes: stores there are private), holding back what @plan
 * says.
 */
void sb_race_begin(struct world *w, unsigned int nr, void *const *stacks,
		   size_t stack_size, const struct sb_plan *plan,
		   struct sb_result *res);
/* Thread @i runs from now on / stops running (memory shows what others see). */
void sb_switch_in(unsigned int i);
void sb_switch_out(unsigned int i);
/* The object [@start, @start + @size) is freed: what others hold late in it lands first. */
void sb_object_freed(const void *start, size_t size);
void sb_race_end(void);

#endif /* _RMAPFUZZ_STORE_BUFFER_H */
