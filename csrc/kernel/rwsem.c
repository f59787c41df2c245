// SPDX-License-Identifier: GPL-2.0
/*
 * rw_semaphores with holder tracking. During a race a contended
 * acquisition waits: the scheduler runs other threads until the lock is
 * free (or reports the deadlock when nobody can run). Outside a race, and
 * for a thread that already holds the lock itself, it can only be a
 * self-deadlock, which is reported to the lock checker instead.
 */
#include <linux/lockdep.h>
#include <linux/rwsem.h>
#include <rmapfuzz/sched.h>
#include <rmapfuzz/world.h>

static bool rwsem_free_for(const void *lock, bool write)
{
	const struct rw_semaphore *sem = lock;

	return !sem->writer && (!write || !sem->readers);
}

/* Wait until @sem can be taken for @write; false: it never can be. */
static bool rwsem_wait(struct rw_semaphore *sem, bool write, const char *func)
{
	while (!rwsem_free_for(sem, write)) {
		if (!sched_wait(sem, write, rwsem_free_for,
				write ? "down_write" : "down_read", func))
			return false;
	}
	return true;
}

static void rwsem_point(struct rw_semaphore *sem, enum sched_point_kind kind,
			const char *what, const char *func)
{
	sched_point(kind, what, sem, func);
	sched_touch_lock(sem, what, func);
}

static void take_write(struct rw_semaphore *sem, bool nested, const char *file,
		       int line, const char *func)
{
	lockdep_acquire(sem, sem->class, true, nested, file, line, func);
	sem->writer = true;
	sem->owner_file = file;
	sem->owner_line = line;
	current_world->locks_held++;
}

static void take_read(struct rw_semaphore *sem, const char *file, int line,
		      const char *func)
{
	lockdep_acquire(sem, sem->class, false, false, file, line, func);
	sem->readers++;
	current_world->locks_held++;
}

void __down_write(struct rw_semaphore *sem, bool nested, const char *file,
		  int line, const char *func)
{
	rwsem_point(sem, SP_LOCK, "down_write", func);
	if (!rwsem_wait(sem, true, func)) {
		lockdep_report("%s:%d: %s(): down_write() of a rw_semaphore already held for %s (taken at %s:%d) would deadlock",
			       file, line, func, sem->writer ? "write" : "read",
			       sem->owner_file ? sem->owner_file : "?",
			       sem->owner_line);
		return;
	}
	take_write(sem, nested, file, line, func);
}

void __up_write(struct rw_semaphore *sem, const char *file, int line,
		const char *func)
{
	sched_touch_lock(sem, "up_write", func);
	if (!sem->writer) {
		lockdep_report("%s:%d: %s(): up_write() of a rw_semaphore not held for write",
			       file, line, func);
		return;
	}
	sched_release();
	sem->writer = false;
	sem->owner_file = NULL;
	sem->owner_line = 0;
	sem->released_file = file;
	sem->released_line = line;
	sem->released_func = func;
	sem->released_at = sched_now();
	sem->released_by = (int)sched_current();
	current_world->locks_held--;
	lockdep_release(sem, sem->class, true);
	/* Let go: others may run now, and we touch the lock no more. */
	sched_point(SP_UNLOCK, "up_write", sem, func);
}

void __down_read(struct rw_semaphore *sem, const char *file, int line,
		 const char *func)
{
	rwsem_point(sem, SP_LOCK, "down_read", func);
	if (!rwsem_wait(sem, false, func)) {
		lockdep_report("%s:%d: %s(): down_read() of a rw_semaphore held for write (taken at %s:%d) would deadlock",
			       file, line, func,
			       sem->owner_file ? sem->owner_file : "?",
			       sem->owner_line);
		return;
	}
	take_read(sem, file, line, func);
}

bool __down_read_trylock(struct rw_semaphore *sem, const char *file, int line,
			 const char *func)
{
	rwsem_point(sem, SP_TRYLOCK, "down_read_trylock", func);
	if (sem->writer)
		return false;
	take_read(sem, file, line, func);
	return true;
}

void __up_read(struct rw_semaphore *sem, const char *file, int line,
	       const char *func)
{
	sched_touch_lock(sem, "up_read", func);
	if (sem->readers <= 0) {
		lockdep_report("%s:%d: %s(): up_read() of a rw_semaphore not held for read",
			       file, line, func);
		return;
	}
	sched_release();
	sem->readers--;
	sem->released_at = sched_now();
	sem->released_by = (int)sched_current();
	current_world->locks_held--;
	lockdep_release(sem, sem->class, false);
	sched_point(SP_UNLOCK, "up_read", sem, func);
}
