// SPDX-License-Identifier: GPL-2.0
/*
 * Callers of the anon_vma core's read side: the rmap walkers (a debugging
 * walk, reclaim, migration, folio_referenced) and the write-fault reuse of
 * a folio. They go through the current core's read side (mm/internal.h).
 */
#include <linux/mm.h>
#include <linux/rmap.h>
#include <rmapfuzz/sched.h>

#include "internal.h"

/* A walk that reports every mapping to a callback that cannot stop it. */
struct report_walk {
	rmap_one_fn fn;
	void *arg;
};

static bool report_one(struct folio *folio, struct vm_area_struct *vma,
		       unsigned long address, void *arg)
{
	struct report_walk *r = arg;

	r->fn(folio, vma, address, r->arg);
	return true;
}

static void walk_reporting(struct folio *folio, enum rf_walk_lock lock,
			   rmap_one_fn fn, void *arg)
{
	struct report_walk r = { .fn = fn, .arg = arg };
	struct rf_walk walk = {
		.rmap_one = report_one,
		.arg = &r,
		.lock = lock,
	};

	rmap_walk_folio(folio, &walk);
}

/*
 * Visit every VMA that maps @folio, found through the interval tree of the
 * folio's own anon_vma (the caller keeps the folio mapped meanwhile), with
 * the folio locked as every walker of a tree's read side must hold it.
 */
void rmap_walk_anon(struct folio *folio, rmap_one_fn rmap_one, void *arg)
{
	folio_lock(folio);
	rmap_walk_anon_locked(folio, rmap_one, arg);
	folio_unlock(folio);
}

/* rmap_walk_anon() for a caller that holds the folio lock. */
void rmap_walk_anon_locked(struct folio *folio, rmap_one_fn rmap_one, void *arg)
{
	walk_reporting(folio, RF_WALK_LOCK_ANON_VMA, rmap_one, arg);
}

/* try_to_unmap(): clear the entry at @address if it maps @folio. */
static bool unmap_one(struct folio *folio, struct vm_area_struct *vma,
		      unsigned long address, void *arg)
{
	struct mm_struct *mm = vma->vm_mm;

	(void)arg;
	sched_touch(mm, "unmaps a page of", __func__);
	pte_clear_folio(mm, address, folio);
	return true;
}

/*
 * Reclaim of an isolated folio: unmap it everywhere it is mapped, found
 * by a walk that holds only the folio (folio_lock_anon_vma_read()).
 * Returns the mappings left (none, unless the walk missed one).
 */
int folio_try_to_unmap(struct folio *folio)
{
	struct rf_walk walk = {
		.rmap_one = unmap_one,
		.stop_when_unmapped = true,
		.lock = RF_WALK_LOCK_FOLIO,
	};

	if (!folio_mapped(folio))
		return 0;
	rmap_walk_folio(folio, &walk);
	return folio->mapcount;
}

/*
 * Migration: pin the folio's anon_vma first (folio_get_anon_vma()), walk
 * its family under the lock, and let the pin go. Returns -EAGAIN when
 * there was no anon_vma to pin (the folio was unmapped meanwhile).
 */
int folio_migrate_walk(struct folio *folio, rmap_one_fn rmap_one, void *arg)
{
	struct anon_vma *anon_vma = folio_get_anon_vma(folio);

	if (!anon_vma)
		return -EAGAIN;
	walk_reporting(folio, RF_WALK_LOCK_ANON_VMA, rmap_one, arg);
	folio_put_anon_vma(anon_vma);
	return 0;
}

/* folio_referenced(): who maps the folio, found holding only the folio. */
int folio_referenced(struct folio *folio, rmap_one_fn rmap_one, void *arg)
{
	if (!folio_mapped(folio))
		return 0;
	walk_reporting(folio, RF_WALK_LOCK_FOLIO, rmap_one, arg);
	return 0;
}

/* A write fault reuses an exclusive folio: new pages of the VMA go here. */
void folio_move_anon_rmap(struct folio *folio, struct vm_area_struct *vma)
{
	VM_BUG_ON_VMA(!vma->anon_vma, vma);
	WRITE_ONCE(folio->anon_vma, vma->anon_vma);
}
