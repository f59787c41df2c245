/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Read-write semaphores that never block but remember who holds them. A
 * second acquisition that would deadlock, or a release of a lock that is not
 * held, is recorded as a warning; the world also counts locks held so the
 * runner can check that every operation released what it took.
 */
#ifndef _LINUX_RWSEM_H
#define _LINUX_RWSEM_H

#include <linux/types.h>

struct rw_semaphore {
	int readers;
	bool writer;
	/* Where the current writer took the lock, for reports. */
	const char *owner_file;
	int owner_line;
};

static inline void init_rwsem(struct rw_semaphore *sem)
{
	sem->readers = 0;
	sem->writer = false;
	sem->owner_file = NULL;
	sem->owner_line = 0;
}

void __down_write(struct rw_semaphore *sem, const char *file, int line);
void __up_write(struct rw_semaphore *sem, const char *file, int line);
void __down_read(struct rw_semaphore *sem, const char *file, int line);
void __up_read(struct rw_semaphore *sem, const char *file, int line);

#define down_write(sem)		__down_write(sem, __FILE__, __LINE__)
#define up_write(sem)		__up_write(sem, __FILE__, __LINE__)
#define down_read(sem)		__down_read(sem, __FILE__, __LINE__)
#define up_read(sem)		__up_read(sem, __FILE__, __LINE__)

static inline bool rwsem_is_locked(const struct rw_semaphore *sem)
{
	return sem->writer || sem->readers > 0;
}

static inline bool rwsem_is_write_locked(const struct rw_semaphore *sem)
{
	return sem->writer;
}

#endif /* _LINUX_RWSEM_H */
