/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Read-write semaphores that remember who holds them; they wait only
 * during a race (kernel/rwsem.c). An acquisition that would deadlock, or a
 * release of a lock that is not held, is reported to the lock checker (linux/lockdep.h), which also
 * checks the order locks are taken in; the world counts locks held so the
 * runner can check that every operation released what it took.
 */
#ifndef _LINUX_RWSEM_H
#define _LINUX_RWSEM_H

#include <linux/lockdep.h>
#include <linux/types.h>
#include <rmapfuzz/sched.h>

struct rw_semaphore {
	int readers;
	bool writer;
	int class;		/* enum lock_class */
	/* Where the current writer took the lock, for reports. */
	const char *owner_file;
	int owner_line;
	/* Where it was last released for writing, for reports. */
	const char *released_file;
	int released_line;
	const char *released_func;
	/* During a race: when (switch point) and by which thread last let go. */
	u32 released_at;
	int released_by;
};

static inline void __init_rwsem(struct rw_semaphore *sem, const char *name)
{
	sem->readers = 0;
	sem->writer = false;
	sem->class = lockdep_class_of(name);
	sem->owner_file = NULL;
	sem->owner_line = 0;
	sem->released_file = NULL;
	sem->released_line = 0;
	sem->released_func = NULL;
	sem->released_at = 0;
	sem->released_by = -1;
}

#define init_rwsem(sem)		__init_rwsem((sem), #sem)

void __down_write(struct rw_semaphore *sem, bool nested, const char *file,
		  int line, const char *func);
void __up_write(struct rw_semaphore *sem, const char *file, int line,
		const char *func);
void __down_read(struct rw_semaphore *sem, const char *file, int line,
		 const char *func);
void __up_read(struct rw_semaphore *sem, const char *file, int line,
	       const char *func);
bool __down_read_trylock(struct rw_semaphore *sem, const char *file, int line,
			 const char *func);

#define down_write(sem)		__down_write(sem, false, __FILE__, __LINE__, __func__)
#define down_write_nested(sem, subclass) \
	((void)(subclass), __down_write(sem, true, __FILE__, __LINE__, __func__))
#define up_write(sem)		__up_write(sem, __FILE__, __LINE__, __func__)
#define down_read(sem)		__down_read(sem, __FILE__, __LINE__, __func__)
#define up_read(sem)		__up_read(sem, __FILE__, __LINE__, __func__)
#define down_read_trylock(sem)	__down_read_trylock(sem, __FILE__, __LINE__, __func__)

static inline bool __rwsem_is_locked(const struct rw_semaphore *sem,
				     const char *func)
{
	sched_point(SP_ATOMIC, "rwsem_is_locked", sem, func);
	sched_note_lock_check(sem);
	return sem->writer || sem->readers > 0;
}

#define rwsem_is_locked(sem)	__rwsem_is_locked(sem, __func__)

static inline bool rwsem_is_write_locked(const struct rw_semaphore *sem)
{
	return sem->writer;
}

#define lockdep_assert_held_write(sem)					\
	lockdep_assert_held_write_what(sem, (sem)->class, #sem)
#define lockdep_assert_held(sem)					\
	lockdep_assert_held_what(sem, (sem)->class, #sem)

#endif /* _LINUX_RWSEM_H */
