// SPDX-License-Identifier: GPL-2.0
/*
 * prepare-shares-fork-child (2010): on a first fault, __anon_vma_prepare()
 * shares a compatible neighbour's anon_vma even when the neighbour is a
 * fork child (its chain links ancestors too). The faulting VMA then uses
 * that anon_vma but is linked to it alone: two VMAs with one anon_vma and
 * different links, which a merge of the two would silently collapse, and a
 * chain without the parent of what it links. Linus Torvalds made sharing
 * require a singular chain in d0e9fe1758f2 (2.6.34-rc, the "overly
 * anonymous anon_vma" hunt); reusable_anon_vma() still tests it.
 */
#define ANON_VMA_CORE_NAME	"prepare-shares-fork-child"
#define ANON_VMA_CORE_TABLE	prepare_shares_fork_child_anon_vma_core
#define ZOO_PREPARE		prepare_shares_fork_child

#include "zoo.h"

static int prepare_shares_fork_child(struct vm_area_struct *vma);

#include "../mm/rmap.c"

/* A neighbour's anon_vma @vma may share, as before the singular-chain rule. */
static struct anon_vma *any_neighbour_anon_vma(struct vm_area_struct *vma)
{
	struct vm_area_struct *next = vma_next(vma);
	struct vm_area_struct *prev = vma_prev(vma);

	if (next && vma->vm_end == next->vm_start &&
	    vma->vm_flags == next->vm_flags &&
	    next->vm_pgoff == vma->vm_pgoff + vma_pages(vma) && next->anon_vma)
		return next->anon_vma;
	if (prev && prev->vm_end == vma->vm_start &&
	    prev->vm_flags == vma->vm_flags &&
	    vma->vm_pgoff == prev->vm_pgoff + vma_pages(prev) && prev->anon_vma)
		return prev->anon_vma;
	return NULL;
}

static int prepare_shares_fork_child(struct vm_area_struct *vma)
{
	struct anon_vma *anon_vma, *allocated = NULL;
	struct anon_vma_chain *avc;

	mmap_assert_locked(vma->vm_mm);

	avc = anon_vma_chain_alloc(GFP_KERNEL);
	if (!avc)
		return -ENOMEM;

	/* The defect: no list_is_singular() test on the neighbour's chain. */
	anon_vma = any_neighbour_anon_vma(vma);
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
