/* SPDX-License-Identifier: GPL-2.0 */
/*
 * RCU read-side sections. Outside a race there is nothing to wait for.
 * During one, a thread inside a section may still look at a freed
 * SLAB_TYPESAFE_BY_RCU object; the memory stays such an object until the
 * race ends, when no reader is left (kernel/sched.c, mm/slab.c).
 */
#ifndef _LINUX_RCUPDATE_H
#define _LINUX_RCUPDATE_H

#include <linux/compiler.h>
#include <rmapfuzz/sched.h>

static inline void rcu_read_lock(void)
{
	sched_point(SP_RCU, "rcu_read_lock", NULL, NULL);
	sched_rcu_enter();
}

static inline void rcu_read_unlock(void)
{
	sched_rcu_exit();
	sched_point(SP_RCU, "rcu_read_unlock", NULL, NULL);
}

#endif /* _LINUX_RCUPDATE_H */
