// SPDX-License-Identifier: GPL-2.0
/*
 * The read side of the anon_vma code: how an rmap walker that holds only a
 * reference on a folio (reclaim, migration, folio_referenced) reaches the
 * VMAs that map it, with no mmap_lock, while the family changes around it.
 * This is our cores' version, written over the core accessors so that any
 * core can use it; a core that brings its own (a kernel tree's, a zoo
 * variant's) overrides it entry by entry (mm/internal.h).
 *
 * Three things keep a walker safe:
 *  - anon_vmas come from a SLAB_TYPESAFE_BY_RCU cache: inside an RCU
 *    read-side section a pointer read from folio->anon_vma still points at
 *    an anon_vma, though perhaps a freed or reused one;
 *  - so a reference is taken only if the count is not zero, and the folio
 *    is checked to be still mapped afterwards: while it is, its anon_vma
 *    cannot be freed;
 *  - anon_vma_free() waits for a reader that holds the root's rwsem
 *    without a reference (mm/rmap_common.c).
 */
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/rmap.h>
#include <rmapfuzz/sched.h>

#include "internal.h"

static atomic_t *refcount_of(struct anon_vma *anon_vma)
{
	return current_anon_vma_core()->refcount(anon_vma);
}

static void drop_anon_vma(struct anon_vma *anon_vma)
{
	current_anon_vma_core()->release(anon_vma);
}

struct anon_vma *rf_folio_get_anon_vma(struct folio *folio)
{
	struct anon_vma *anon_vma;

	rcu_read_lock();
	anon_vma = READ_ONCE(folio->anon_vma);
	if (!anon_vma)
		goto out;
	/* Zero: it is being freed; the memory may already serve another. */
	if (!atomic_inc_not_zero(refcount_of(anon_vma))) {
		anon_vma = NULL;
		goto out;
	}
	/*
	 * The reference holds this anon_vma, but it is the folio's only while
	 * the folio is mapped: unmapped, it may have been freed and reused
	 * before our increment.
	 */
	if (!folio_mapped(folio)) {
		rcu_read_unlock();
		drop_anon_vma(anon_vma);
		return NULL;
	}
out:
	rcu_read_unlock();
	return anon_vma;
}

struct anon_vma *rf_folio_lock_anon_vma_read(struct folio *folio)
{
	struct rw_semaphore *family;
	struct anon_vma *anon_vma;

	rcu_read_lock();
	anon_vma = READ_ONCE(folio->anon_vma);
	if (!anon_vma || !folio_mapped(folio)) {
		anon_vma = NULL;
		goto out;
	}
	family = current_anon_vma_core()->family_lock(anon_vma);
	if (down_read_trylock(family)) {
		/*
		 * Only a mapped folio's anon_vma is pinned by the lock: if it
		 * was unmapped meanwhile, this may be some other family's.
		 */
		if (!folio_mapped(folio)) {
			up_read(family);
			anon_vma = NULL;
		}
		goto out;
	}
	/* Contended: sleeping on the lock needs a reference. */
	if (!atomic_inc_not_zero(refcount_of(anon_vma))) {
		anon_vma = NULL;
		goto out;
	}
	if (!folio_mapped(folio)) {
		rcu_read_unlock();
		drop_anon_vma(anon_vma);
		return NULL;
	}
	rcu_read_unlock();
	family = current_anon_vma_core()->family_lock(anon_vma);
	down_read(family);
	/*
	 * The lock now pins it. Were ours the last reference, the anon_vma
	 * goes: unlocked, and through put_anon_vma(), which frees at zero.
	 */
	if (atomic_dec_and_test(refcount_of(anon_vma))) {
		up_read(family);
		atomic_set(refcount_of(anon_vma), 1);
		drop_anon_vma(anon_vma);
		return NULL;
	}
	return anon_vma;
out:
	rcu_read_unlock();
	return anon_vma;
}

void rf_put_anon_vma(struct anon_vma *anon_vma)
{
	drop_anon_vma(anon_vma);
}

/* Lock the family of the folio's anon_vma as @walk says; NULL: nothing to walk. */
static struct anon_vma *walk_lock(struct folio *folio, const struct rf_walk *walk)
{
	struct anon_vma *anon_vma;

	switch (walk->lock) {
	case RF_WALK_LOCKED:
		return READ_ONCE(folio->anon_vma);
	case RF_WALK_LOCK_FOLIO:
		return folio_lock_anon_vma_read(folio);
	case RF_WALK_LOCK_ANON_VMA:
		break;
	}
	/* The caller pinned the anon_vma (folio_get_anon_vma) or the page. */
	anon_vma = READ_ONCE(folio->anon_vma);
	if (anon_vma)
		anon_vma_lock_read(anon_vma);
	return anon_vma;
}

void rf_rmap_walk_anon(struct folio *folio, const struct rf_walk *walk)
{
	struct anon_vma *anon_vma = walk_lock(folio, walk);
	struct anon_vma_chain *avc;
	pgoff_t pgoff = folio->index;

	if (!anon_vma)
		return;
	anon_vma_tree_foreach(avc, anon_vma, pgoff, pgoff) {
		struct vm_area_struct *vma;
		unsigned long address;

		sched_point(SP_WALK, "visit", avc, __func__);
		sched_touch(avc, "visits anon_vma_chain", __func__);
		vma = avc->vma;
		sched_touch(vma, "follows the chain to vm_area_struct", __func__);
		address = anon_page_address(vma, pgoff);
		/* The tree promised this VMA covers pgoff. */
		if (WARN_ON_ONCE(address == (unsigned long)-EFAULT))
			continue;
		if (!walk->rmap_one(folio, vma, address, walk->arg))
			break;
		if (walk->stop_when_unmapped && !folio_mapped(folio))
			break;
	}
	if (walk->lock != RF_WALK_LOCKED)
		anon_vma_unlock_read(anon_vma);
}
