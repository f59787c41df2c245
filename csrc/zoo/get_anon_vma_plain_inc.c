// SPDX-License-Identifier: GPL-2.0
/*
 * get-anon-vma-plain-inc (ours): folio_get_anon_vma() takes its reference
 * with a plain increment instead of atomic_inc_not_zero(). Under RCU the
 * pointer read from the folio still points at an anon_vma, but one whose
 * count may already be zero because it is being freed: the increment
 * brings it back from the dead, and the put that follows frees it again.
 * Single-threaded the count is never zero there, and nothing shows.
 */
#define ANON_VMA_CORE_NAME	"get-anon-vma-plain-inc"
#define ANON_VMA_CORE_TABLE	get_anon_vma_plain_inc_anon_vma_core
#define ANON_VMA_CORE_EXTRA	.walker_get = plain_inc_get_anon_vma,

#include "zoo.h"
#include <linux/rcupdate.h>

static struct anon_vma *plain_inc_get_anon_vma(struct folio *folio);

#include "../mm/rmap.c"

static struct anon_vma *plain_inc_get_anon_vma(struct folio *folio)
{
	struct anon_vma *anon_vma;

	rcu_read_lock();
	anon_vma = READ_ONCE(folio->anon_vma);
	if (!anon_vma)
		goto out;
	/* The defect: a reference even when the count is already zero. */
	atomic_inc(&anon_vma->refcount);
	if (!folio_mapped(folio)) {
		rcu_read_unlock();
		put_anon_vma(anon_vma);
		return NULL;
	}
out:
	rcu_read_unlock();
	return anon_vma;
}
