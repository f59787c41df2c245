// SPDX-License-Identifier: GPL-2.0
/*
 * Spinlocks: held or not, and in lock order. During a race a contended
 * one waits for its holder; otherwise it can only be a self-deadlock.
 */
#include <linux/lockdep.h>
#include <linux/spinlock.h>
#include <rmapfuzz/sched.h>

static bool spin_free(const void *lock, bool write)
{
	(void)write;
	return !((const spinlock_t *)lock)->locked;
}

void __spin_lock(spinlock_t *lock, const char *file, int line, const char *func)
{
	sched_point(SP_LOCK, "spin_lock", lock, func);
	sched_touch_lock(lock, "spin_lock", func);
	while (lock->locked) {
		if (sched_wait(lock, true, spin_free, "spin_lock", func))
			continue;
		lockdep_report("%s:%d: %s(): spin_lock() of a spinlock already held would deadlock",
			       file, line, func);
		return;
	}
	lockdep_acquire(lock, lock->class, true, false, file, line, func);
	lock->locked = 1;
}

void __spin_unlock(spinlock_t *lock, const char *file, int line, const char *func)
{
	sched_touch_lock(lock, "spin_unlock", func);
	if (!lock->locked) {
		lockdep_report("%s:%d: %s(): spin_unlock() of a spinlock not held",
			       file, line, func);
		return;
	}
	sched_release();
	lock->locked = 0;
	lockdep_release(lock, lock->class, true);
	sched_point(SP_UNLOCK, "spin_unlock", lock, func);
}
