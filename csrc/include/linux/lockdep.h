/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Lock rules, checked the way lockdep checks them in the kernel, but for
 * the locks of the anon_vma code only, and with the rules this code
 * states in its own comments (mm/rmap.c's lock ordering):
 *
 *  - order: an mm's mmap_lock, then an anon_vma family's rwsem, then an
 *    mm's page_table_lock; never two families' rwsems at once; a second
 *    mmap_lock only nested (fork takes the child's under the parent's);
 *  - only a family's root rwsem is ever taken;
 *  - the interval trees change only under their family's rwsem held for
 *    writing and are searched only with it held;
 *  - an anon_vma's root, parent and counters change only under its
 *    family's rwsem held for writing, and a VMA's anon_vma, chain and range
 *    only under its mm's mmap_lock.
 *
 * The last rule is checked by sealing: when a lock is released, the state
 * it protects is hashed; when the lock is next taken, when an anon_vma
 * core function returns and when the operation ends, state whose lock is
 * not held must still match its seal. Objects not yet sealed are still
 * private to the code creating them (a new anon_vma before fork publishes
 * it) and may be written freely.
 *
 * A broken rule is recorded for the hygiene report ("lock: ..."), never
 * enforced: the run goes on so the report can show the world.
 */
#ifndef _LINUX_LOCKDEP_H
#define _LINUX_LOCKDEP_H

#include <linux/types.h>

/* Lock classes, in the order they may be taken. */
enum lock_class {
	LOCK_CLASS_OTHER,
	LOCK_CLASS_MMAP,	/* mm->mmap_lock */
	LOCK_CLASS_ANON_VMA,	/* anon_vma->rwsem (a root's) */
	LOCK_CLASS_PTL,		/* mm->page_table_lock */
};

/* The rules, as the checker counts its checks of each (for benchmarks). */
enum lock_stat {
	LOCK_STAT_TREE_WRITE,
	LOCK_STAT_TREE_SEARCH,
	LOCK_STAT_ANON_VMA_SEAL,
	LOCK_STAT_VMA_SEAL,
	LOCK_STAT_MMAP_ASSERT,
	LOCK_STAT_ROOT_ONLY,
	LOCK_STAT_ORDER,
	NR_LOCK_STATS,
};

/* The class of a lock from the expression its init names, as lockdep keys
 * classes by init site: "&mm->mmap_lock", "&anon_vma->rwsem", ... */
int lockdep_class_of(const char *init_name);

/* Record a broken lock rule for the hygiene report. */
void lockdep_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void lockdep_acquire(const void *lock, int class, bool write, bool nested,
		     const char *file, int line, const char *func);
void lockdep_release(const void *lock, int class, bool write);

/* Assertions at the places that rely on a lock. */
void __lockdep_assert_held(const void *lock, int class, bool write,
			   const char *what, const char *file, int line,
			   const char *func);
#define lockdep_assert_held_write_what(lock, class, what)		\
	__lockdep_assert_held(lock, class, true, what, __FILE__, __LINE__, __func__)
#define lockdep_assert_held_what(lock, class, what)			\
	__lockdep_assert_held(lock, class, false, what, __FILE__, __LINE__, __func__)

/* Around each call into an anon_vma core (mm/internal.h). */
const char *lockdep_core_enter(const char *fn);
void lockdep_core_exit(const char *outer);

/* At the end of an operation: every seal intact; then seal what is new.
 * (Locks still held are reported by the harness's hygiene pass.) */
void lockdep_op_end(void);

/* The harness reads the world without taking part in its locking. */
void lockdep_observe(bool on);

#endif /* _LINUX_LOCKDEP_H */
