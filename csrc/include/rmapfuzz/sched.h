/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The deterministic scheduler of concurrent operations (kernel/sched.c).
 *
 * Each operation of a race runs as a kernel thread of its own: a coroutine
 * with its own stack, on the host thread of its world. Only one runs at a
 * time, and it gives way only at a switch point: a lock taken, tried or
 * released, an RCU read-side section entered or left, an atomic operation,
 * a slab allocation or free, a step of an rmap walk. Switch points are
 * numbered in the order they are met, and so is each moment a thread
 * blocks or ends (another must be chosen then); a schedule names the
 * points at which a given thread runs next. Without one, a thread runs
 * until it blocks or ends, and then the lowest-numbered runnable thread
 * goes on, so the scenario and its schedule give back the same run every
 * time. A PCT run (random priorities, changed at a few points) is recorded
 * as the schedule that replays it.
 *
 * Outside a race (sched_active() false) every hook here does nothing and
 * the world is single-threaded, as it always was.
 */
#ifndef _RMAPFUZZ_SCHED_H
#define _RMAPFUZZ_SCHED_H

#include <linux/types.h>

#define SCHED_MAX_THREADS	3

/* What a switch point is, for traces and explanations. */
enum sched_point_kind {
	SP_START,	/* a thread's first step */
	SP_LOCK,	/* about to take a lock (may block) */
	SP_TRYLOCK,
	SP_UNLOCK,	/* just released a lock */
	SP_RCU,		/* rcu_read_lock() or rcu_read_unlock() */
	SP_ATOMIC,	/* an atomic read or read-modify-write */
	SP_SLAB,	/* about to allocate or free */
	SP_WALK,	/* an rmap walk visits the next tree entry */
	SP_PTE,		/* a page-table entry is read or cleared */
	SP_BLOCK,	/* the thread blocked: another must be chosen */
	SP_END,		/* the thread ended: another must be chosen */
	SP_RELEASE,	/* about to make held-back stores seen */
	NR_SP_KINDS,
};

struct world;

/* True while a race runs in the current world. */
bool sched_active(void);
/* The running thread's number (0 when no race runs). */
unsigned int sched_current(void);

/*
 * A switch point of the running thread at @what (a short name, such as
 * "down_read"), touching @obj (may be NULL), called from @func. It may run
 * other threads before it returns.
 */
void sched_point(enum sched_point_kind kind, const char *what,
		 const void *obj, const char *func);

/*
 * The running thread begins a step of its operation that another thread's
 * operation may fall before or after (a VMA that fork copies, that exit or
 * munmap unlinks). Not a switch point: it only records when, so that the
 * judge of a race tries the order the run took first.
 */
void sched_step(void);

/*
 * The running thread's step changes what others see without a lock (a
 * failed fork gives its child's id back only if no racing fork took the
 * next one): the step took effect here, as at a lock (see sched_run.h).
 */
void sched_step_effect(void);

/*
 * The running thread cannot go on until @ready(@lock, @write) holds: run
 * others until it does. Returns false (nothing waited for) when that can
 * never happen because the running thread itself holds @lock: a
 * self-deadlock the caller reports.
 */
bool sched_wait(const void *lock, bool write,
		bool (*ready)(const void *lock, bool write), const char *what,
		const char *func);

/*
 * Something was found that the run cannot go on from (a use after free, a
 * deadlock): the report is already recorded; every thread is abandoned and
 * the race returns. The world must then be discarded.
 */
void sched_abandon(void) __attribute__((noreturn));

/*
 * A thread holding a lock that lies in [@start, @start + @size): its
 * number, or -1 (for the slab's check that no freed object is locked).
 */
int sched_lock_holder_in(const void *start, size_t size);

/*
 * The running thread's earlier stores become visible to every thread: a
 * lock release, a release store, a value-returning atomic, a full
 * barrier (see <rmapfuzz/store_buffer.h>). Nothing outside a race.
 */
void sched_release(void);

/* The switch points met so far in the race (0 outside one). */
u32 sched_now(void);

/* The running thread looked whether @lock is held (rwsem_is_locked()). */
void sched_note_lock_check(const void *lock);

/*
 * A SLAB_TYPESAFE_BY_RCU anon_vma is being freed while the race runs:
 * report (and abandon the race) when a reader holds its family's lock
 * and the freeing thread let that lock go without looking again whether
 * it was held, which is how anon_vma_free() waits readers out.
 */
void sched_check_anon_vma_free(void *anon_vma);

/* RCU read-side nesting of the running thread. */
void sched_rcu_enter(void);
void sched_rcu_exit(void);
bool sched_in_rcu(void);

/*
 * An object at @obj is about to be used by the running thread (a lock, an
 * atomic, a tree entry): report and abandon the race if it was freed (a
 * SLAB_TYPESAFE_BY_RCU object may still be looked at inside an RCU
 * read-side section). @what says what was being done.
 */
void sched_touch(const void *obj, const char *what, const char *func);
/*
 * As sched_touch(), for a lock: it must also lie in an object of the
 * slab (every lock of the model does), or the pointer that led to it was
 * wild: a value read before the store that made it was visible, say.
 */
void sched_touch_lock(const void *lock, const char *what, const char *func);

#endif /* _RMAPFUZZ_SCHED_H */
