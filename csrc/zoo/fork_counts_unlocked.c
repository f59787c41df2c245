// SPDX-License-Identifier: GPL-2.0
/*
 * fork-counts-unlocked (ours): anon_vma_fork() counts the new child on its
 * parent after dropping the family's lock. Single-threaded, the counters
 * come out right, so no comparison and no contract can see it; a
 * concurrent fork of a sibling (or a reuse decision in another process of
 * the family) would race on num_children. Only the lock rules catch it.
 */
#define ANON_VMA_CORE_NAME	"fork-counts-unlocked"
#define ANON_VMA_CORE_TABLE	fork_counts_unlocked_anon_vma_core
#define ZOO_REPLACES_anon_vma_fork

#include "zoo.h"

static int anon_vma_fork(struct vm_area_struct *vma, struct vm_area_struct *pvma);

#include "../mm/rmap.c"

static int anon_vma_fork(struct vm_area_struct *vma, struct vm_area_struct *pvma)
{
	struct anon_vma_chain *avc;
	struct anon_vma *anon_vma;
	int rc;

	if (!pvma->anon_vma)
		return 0;

	/* vm_area_dup() copied the parent's pointer; choose afresh. */
	vma->anon_vma = NULL;

	/* Allocate up front so that no failure follows the clone. */
	anon_vma = anon_vma_alloc();
	if (!anon_vma)
		return -ENOMEM;
	avc = anon_vma_chain_alloc(GFP_KERNEL);
	if (!avc) {
		put_anon_vma(anon_vma);
		return -ENOMEM;
	}

	rc = anon_vma_clone(vma, pvma, VMA_OP_FORK);
	if (rc || vma->anon_vma) {
		/* Failed, or reused an ancestor: the spares go back. */
		put_anon_vma(anon_vma);
		anon_vma_chain_free(avc);
		return rc;
	}

	/* Nobody can see the new anon_vma yet: no lock needed to set it up. */
	anon_vma->num_active_vmas = 1;
	anon_vma->root = pvma->anon_vma->root;
	anon_vma->parent = pvma->anon_vma;
	/* The root carries the lock, so it must outlive every member. */
	get_anon_vma(anon_vma->root);
	vma->anon_vma = anon_vma;
	anon_vma_chain_assign(vma, avc, anon_vma);

	anon_vma_lock_write(anon_vma);
	anon_vma_interval_tree_insert(avc, &anon_vma->rb_root);
	anon_vma_unlock_write(anon_vma);
	/* The defect: the parent, visible to the family, changes unlocked. */
	anon_vma->parent->num_children++;
	return 0;
}
