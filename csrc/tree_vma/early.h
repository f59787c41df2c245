/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Included before anything of the tools/testing/vma world. That world
 * builds the maple tree with CONFIG_DEBUG_MAPLE_TREE, whose warnings end in
 * dump_stack(), there an assert(0): here, as in the kernel, a warning is
 * reported (hygiene.warning) and the code goes on.
 */
#ifndef _RMAPFUZZ_TREE_VMA_EARLY_H
#define _RMAPFUZZ_TREE_VMA_EARLY_H

void rf_tw_warn(const char *file, int line, const char *cond);

#define dump_stack()	rf_tw_warn(__FILE__, __LINE__, \
				   "a maple tree warning (MAS_WARN_ON/MT_WARN_ON)")

/* Nor does it dump the maple tree onto rmapfuzz's output. */
#define mt_dump		rf_tw_mt_dump
#define mas_dump	rf_tw_mas_dump

/*
 * The world's pr_info() is printf(), and a maple warning prints two lines
 * of its own ("WARN at ...", "Pass: ... Run: ...") into whatever rmapfuzz
 * is writing on stdout: the warning is reported as a finding instead.
 */
#include <stdio.h>
int rf_tw_printf(const char *fmt, ...);
#define printf(...)	rf_tw_printf(__VA_ARGS__)

/*
 * The world's rwsems are pthread rwlocks: their write locks and unlocks in
 * this unit go through locks.c, which checks the anon interval trees'
 * lock rule.
 */
#include <pthread.h>
int rf_tw_wrlock(pthread_rwlock_t *lock);
int rf_tw_rwunlock(pthread_rwlock_t *lock);
#define pthread_rwlock_wrlock(l)	rf_tw_wrlock(l)
#define pthread_rwlock_unlock(l)	rf_tw_rwunlock(l)

#endif /* _RMAPFUZZ_TREE_VMA_EARLY_H */
