// SPDX-License-Identifier: GPL-2.0
/*
 * prepare-counts-new-only (ours): __anon_vma_prepare() counts the faulting
 * VMA as active only when it allocated a new anon_vma, not when it shares
 * a neighbour's (find_mergeable_anon_vma()). Needs two neighbouring VMAs
 * that cannot merge but may share, the first faulted before the second;
 * then num_active_vmas is one short, and a later unmap takes it below the
 * number of VMAs still using the anon_vma.
 */
#define ANON_VMA_CORE_NAME	"prepare-counts-new-only"
#define ANON_VMA_CORE_TABLE	prepare_counts_new_only_anon_vma_core
#define ZOO_PREPARE		prepare_counts_new_only

#include "zoo.h"

static int prepare_counts_new_only(struct vm_area_struct *vma);

#include "../mm/rmap.c"

static int prepare_counts_new_only(struct vm_area_struct *vma)
{
	struct anon_vma *anon_vma, *allocated = NULL;
	struct anon_vma_chain *avc;

	mmap_assert_locked(vma->vm_mm);

	avc = anon_vma_chain_alloc(GFP_KERNEL);
	if (!avc)
		return -ENOMEM;

	anon_vma = find_mergeable_anon_vma(vma);
	if (!anon_vma) {
		anon_vma = anon_vma_alloc();
		if (unlikely(!anon_vma)) {
			anon_vma_chain_free(avc);
			return -ENOMEM;
		}
		anon_vma->num_children++;
		allocated = anon_vma;
	}

	anon_vma_lock_write(anon_vma);
	spin_lock(&vma->vm_mm->page_table_lock);
	if (likely(!vma->anon_vma)) {
		smp_store_release(&vma->anon_vma, anon_vma);
		anon_vma_chain_assign(vma, avc, anon_vma);
		anon_vma_interval_tree_insert(avc, &anon_vma->rb_root);
		/* The defect: only a new anon_vma counts its first VMA. */
		if (allocated)
			anon_vma->num_active_vmas++;
		allocated = NULL;
		avc = NULL;
	}
	spin_unlock(&vma->vm_mm->page_table_lock);
	anon_vma_unlock_write(anon_vma);

	if (unlikely(allocated))
		put_anon_vma(allocated);
	if (unlikely(avc))
		anon_vma_chain_free(avc);
	return 0;
}
