// SPDX-License-Identifier: GPL-2.0
/* Spinlocks of a single-threaded world: held or not, and in lock order. */
#include <linux/lockdep.h>
#include <linux/spinlock.h>

void __spin_lock(spinlock_t *lock, const char *file, int line, const char *func)
{
	if (lock->locked) {
		lockdep_report("%s:%d: %s(): spin_lock() of a spinlock already held would deadlock",
			       file, line, func);
		return;
	}
	lockdep_acquire(lock, lock->class, true, false, file, line, func);
	lock->locked = 1;
}

void __spin_unlock(spinlock_t *lock, const char *file, int line, const char *func)
{
	if (!lock->locked) {
		lockdep_report("%s:%d: %s(): spin_unlock() of a spinlock not held",
			       file, line, func);
		return;
	}
	lock->locked = 0;
	lockdep_release(lock, lock->class, true);
}
