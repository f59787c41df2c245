/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Whether a step wrote anything a snapshot reads (harness.c's
 * rf_world_watch() and rf_world_written()).
 *
 * Two kinds of code write a world. The code under test is compiled with
 * clang's store hooks (<rmapfuzz/store_buffer.h>): outside a race every
 * store it makes into the world's arena notes the watch. The machinery
 * is compiled without them, so each of its writes to what a snapshot
 * reads notes the watch itself: a slab object made or freed, a page
 * table entry set or removed. What it writes and no snapshot reads (lock
 * states, the lock checker's seals and records, walkers' pins) does not.
 *
 * A step that noted nothing left every byte a snapshot reads as it was,
 * freed memory included: its state is the state before it.
 *
 * The same hooks tell the lock checker which objects the stores touched
 * (mm/slab.c, "Objects touched"), whether a watch is armed or not.
 */
#ifndef _RMAPFUZZ_WRITE_WATCH_H
#define _RMAPFUZZ_WRITE_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/compiler.h>
#include <linux/types.h>

struct write_watch {
	uintptr_t lo;		/* the world's arena */
	uintptr_t span;		/* 0: this world cannot be watched */
	bool armed;		/* since rf_world_watch() */
	bool written;
	/*
	 * Which slab object each granule of the arena belongs to, when the
	 * world tells the lock checker what its stores touched (mm/slab.c,
	 * slab_store()); NULL otherwise.
	 */
	u32 *owners;
};

/*
 * The watch of the world this thread is in, when it is armed or follows
 * its objects.
 */
extern _Thread_local struct write_watch *write_watch
	__attribute__((tls_model("initial-exec")));

/* The machinery changed something a snapshot reads. */
static inline void world_written(void)
{
	if (write_watch)
		write_watch->written = true;
}

/* The object (if any) the code under test stored into at @addr. */
void slab_store(struct write_watch *ww, uintptr_t addr);

/* A store of the code under test to @addr. */
static inline void world_store(const void *addr)
{
	struct write_watch *ww = write_watch;

	if (likely(!ww))
		return;
	if ((uintptr_t)addr - ww->lo < ww->span) {
		ww->written = true;
		if (ww->owners)
			slab_store(ww, (uintptr_t)addr);
	}
}

#endif /* _RMAPFUZZ_WRITE_WATCH_H */
