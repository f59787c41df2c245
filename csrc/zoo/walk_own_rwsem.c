// SPDX-License-Identifier: GPL-2.0
/*
 * walk-own-rwsem (ours): the rmap walk locks the anon_vma's own rwsem
 * instead of its family root's. For a root the two are one; for the
 * anon_vma of a fork child's page they are not, and writers of the
 * family, which take the root's, are not kept out while the walk reads
 * the tree.
 */
#define ANON_VMA_CORE_NAME	"walk-own-rwsem"
#define ANON_VMA_CORE_TABLE	walk_own_rwsem_anon_vma_core
#define ANON_VMA_CORE_EXTRA					\
	.walker_lock	= own_rwsem_lock_anon_vma_read,	\
	.walker_walk	= own_rwsem_rmap_walk,

#include "zoo.h"
#include <linux/rcupdate.h>
#include <rmapfuzz/sched.h>

static struct anon_vma *own_rwsem_lock_anon_vma_read(struct folio *folio);
static void own_rwsem_rmap_walk(struct folio *folio, const struct rf_walk *walk);

#include "../mm/rmap.c"

/* folio_lock_anon_vma_read(), with the defect: the anon_vma's own rwsem. */
static struct anon_vma *own_rwsem_lock_anon_vma_read(struct folio *folio)
{
	struct anon_vma *anon_vma;

	rcu_read_lock();
	anon_vma = READ_ONCE(folio->anon_vma);
	if (!anon_vma || !folio_mapped(folio)) {
		anon_vma = NULL;
		goto out;
	}
	if (down_read_trylock(&anon_vma->rwsem)) {
		if (!folio_mapped(folio)) {
			up_read(&anon_vma->rwsem);
			anon_vma = NULL;
		}
		goto out;
	}
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
	down_read(&anon_vma->rwsem);
	if (atomic_dec_and_test(&anon_vma->refcount)) {
		up_read(&anon_vma->rwsem);
		__put_anon_vma(anon_vma);
		return NULL;
	}
	return anon_vma;
out:
	rcu_read_unlock();
	return anon_vma;
}

static void own_rwsem_rmap_walk(struct folio *folio, const struct rf_walk *walk)
{
	struct anon_vma *anon_vma;
	struct anon_vma_chain *avc;
	pgoff_t pgoff = folio->index;

	if (walk->lock == RF_WALK_LOCK_FOLIO) {
		anon_vma = own_rwsem_lock_anon_vma_read(folio);
	} else {
		anon_vma = READ_ONCE(folio->anon_vma);
		/* The defect again, for a walker that pinned the anon_vma. */
		if (anon_vma && walk->lock != RF_WALK_LOCKED)
			down_read(&anon_vma->rwsem);
	}
	if (!anon_vma)
		return;
	for (avc = anon_vma_interval_tree_iter_first(&anon_vma->rb_root, pgoff, pgoff);
	     avc; avc = anon_vma_interval_tree_iter_next(avc, pgoff, pgoff)) {
		struct vm_area_struct *vma;
		unsigned long address;

		sched_point(SP_WALK, "visit", avc, __func__);
		sched_touch(avc, "visits anon_vma_chain", __func__);
		vma = avc->vma;
		sched_touch(vma, "follows the chain to vm_area_struct", __func__);
		address = vma->vm_start + ((pgoff - vma->vm_pgoff) << PAGE_SHIFT);
		if (address < vma->vm_start || address >= vma->vm_end)
			continue;
		if (!walk->rmap_one(folio, vma, address, walk->arg))
			break;
		if (walk->stop_when_unmapped && !folio_mapped(folio))
			break;
	}
	if (walk->lock != RF_WALK_LOCKED)
		up_read(&anon_vma->rwsem);
}
