// SPDX-License-Identifier: GPL-2.0
/*
 * lock-read-no-recheck (ours): folio_lock_anon_vma_read() trusts the lock
 * it got with down_read_trylock() without checking again that the folio
 * is still mapped. Only a mapped folio's anon_vma is pinned by the lock:
 * if the folio was unmapped between the first look and the trylock, the
 * anon_vma may have been freed (and its memory reused), and the walker
 * goes on, out of its RCU section, holding a lock in freed memory.
 */
#define ANON_VMA_CORE_NAME	"lock-read-no-recheck"
#define ANON_VMA_CORE_TABLE	lock_read_no_recheck_anon_vma_core
#define ANON_VMA_CORE_EXTRA	.walker_lock = no_recheck_lock_anon_vma_read,

#include "zoo.h"
#include <linux/rcupdate.h>

static struct anon_vma *no_recheck_lock_anon_vma_read(struct folio *folio);

#include "../mm/rmap.c"

static struct anon_vma *no_recheck_lock_anon_vma_read(struct folio *folio)
{
	struct anon_vma *anon_vma;

	rcu_read_lock();
	anon_vma = READ_ONCE(folio->anon_vma);
	if (!anon_vma || !folio_mapped(folio)) {
		anon_vma = NULL;
		goto out;
	}
	/* The defect: the trylock's success is taken as proof enough. */
	if (down_read_trylock(&anon_vma->root->rwsem))
		goto out;
	if (!atomic_inc_not_zero(&anon_vma->refcount)) {
		anon_vma = NULL;
		goto out;
	}
	if (!folio_mapped(folio)) {
		rcu_read_unlock();
		put_anon_vma(anon_vma);
		return NULL;
	}
	rcu_read_unlock();
	anon_vma_lock_read(anon_vma);
	if (atomic_dec_and_test(&anon_vma->refcount)) {
		anon_vma_unlock_read(anon_vma);
		__put_anon_vma(anon_vma);
		return NULL;
	}
	return anon_vma;
out:
	rcu_read_unlock();
	return anon_vma;
}
