// SPDX-License-Identifier: GPL-2.0
/*
 * walk-unlocked (ours): the rmap walk takes no lock at all: it reads the
 * folio's anon_vma and walks its interval tree while munmap, exit or a
 * split in any process of the family may be changing it. Single-threaded
 * nothing changes under it; in a race the walk visits an anon_vma_chain
 * another thread has freed.
 */
#define ANON_VMA_CORE_NAME	"walk-unlocked"
#define ANON_VMA_CORE_TABLE	walk_unlocked_anon_vma_core
#define ANON_VMA_CORE_EXTRA	.walker_walk = walk_unlocked_rmap_walk,

#include "zoo.h"
#include <rmapfuzz/sched.h>

static void walk_unlocked_rmap_walk(struct folio *folio, const struct rf_walk *walk);

#include "../mm/rmap.c"

static void walk_unlocked_rmap_walk(struct folio *folio, const struct rf_walk *walk)
{
	/* The defect: no anon_vma lock, no RCU, no reference. */
	struct anon_vma *anon_vma = READ_ONCE(folio->anon_vma);
	struct anon_vma_chain *avc;
	pgoff_t pgoff = folio->index;

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
}
