/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A spinlock that only remembers whether it is held: the world runs on one
 * thread, so taking a held lock (or releasing a free one) is a bug to
 * report, never a wait.
 */
#ifndef _LINUX_SPINLOCK_H
#define _LINUX_SPINLOCK_H

#include <linux/mmdebug.h>

typedef struct {
	int locked;
} spinlock_t;

static inline void spin_lock_init(spinlock_t *lock)
{
	lock->locked = 0;
}

#define spin_lock(lock)							\
	do {								\
		VM_WARN_ON_ONCE((lock)->locked);			\
		(lock)->locked = 1;					\
	} while (0)

#define spin_unlock(lock)						\
	do {								\
		VM_WARN_ON_ONCE(!(lock)->locked);			\
		(lock)->locked = 0;					\
	} while (0)

#endif /* _LINUX_SPINLOCK_H */
