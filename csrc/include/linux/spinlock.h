/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A spinlock that only remembers whether it is held: the world runs on one
 * thread, so taking a held lock (or releasing a free one) is a bug to
 * report, never a wait. Held spinlocks take part in the lock order checks
 * (linux/lockdep.h).
 */
#ifndef _LINUX_SPINLOCK_H
#define _LINUX_SPINLOCK_H

#include <linux/lockdep.h>

typedef struct {
	int locked;
	int class;		/* enum lock_class */
} spinlock_t;

static inline void __spin_lock_init(spinlock_t *lock, const char *name)
{
	lock->locked = 0;
	lock->class = lockdep_class_of(name);
}

#define spin_lock_init(lock)	__spin_lock_init((lock), #lock)

void __spin_lock(spinlock_t *lock, const char *file, int line, const char *func);
void __spin_unlock(spinlock_t *lock, const char *file, int line, const char *func);

#define spin_lock(lock)		__spin_lock(lock, __FILE__, __LINE__, __func__)
#define spin_unlock(lock)	__spin_unlock(lock, __FILE__, __LINE__, __func__)

#endif /* _LINUX_SPINLOCK_H */
