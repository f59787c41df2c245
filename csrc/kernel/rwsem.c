// SPDX-License-Identifier: GPL-2.0
/*
 * Non-blocking rw_semaphores with holder tracking. In a single-threaded
 * model a contended acquisition can only be a self-deadlock, so it is
 * reported to the lock checker instead of waiting forever.
 */
#include <linux/lockdep.h>
#include <linux/rwsem.h>
#include <rmapfuzz/world.h>

void __down_write(struct rw_semaphore *sem, bool nested, const char *file,
		  int line, const char *func)
{
	if (sem->writer || sem->readers) {
		lockdep_report("%s:%d: %s(): down_write() of a rw_semaphore already held for %s (taken at %s:%d) would deadlock",
			       file, line, func, sem->writer ? "write" : "read",
			       sem->owner_file ? sem->owner_file : "?",
			       sem->owner_line);
		return;
	}
	lockdep_acquire(sem, sem->class, true, nested, file, line, func);
	sem->writer = true;
	sem->owner_file = file;
	sem->owner_line = line;
	current_world->locks_held++;
}

void __up_write(struct rw_semaphore *sem, const char *file, int line,
		const char *func)
{
	if (!sem->writer) {
		lockdep_report("%s:%d: %s(): up_write() of a rw_semaphore not held for write",
			       file, line, func);
		return;
	}
	sem->writer = false;
	sem->owner_file = NULL;
	sem->owner_line = 0;
	sem->released_file = file;
	sem->released_line = line;
	sem->released_func = func;
	current_world->locks_held--;
	lockdep_release(sem, sem->class, true);
}

void __down_read(struct rw_semaphore *sem, const char *file, int line,
		 const char *func)
{
	if (sem->writer) {
		lockdep_report("%s:%d: %s(): down_read() of a rw_semaphore held for write (taken at %s:%d) would deadlock",
			       file, line, func,
			       sem->owner_file ? sem->owner_file : "?",
			       sem->owner_line);
		return;
	}
	lockdep_acquire(sem, sem->class, false, false, file, line, func);
	sem->readers++;
	current_world->locks_held++;
}

void __up_read(struct rw_semaphore *sem, const char *file, int line,
	       const char *func)
{
	if (sem->readers <= 0) {
		lockdep_report("%s:%d: %s(): up_read() of a rw_semaphore not held for read",
			       file, line, func);
		return;
	}
	sem->readers--;
	current_world->locks_held--;
	lockdep_release(sem, sem->class, false);
}
