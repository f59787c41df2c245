// SPDX-License-Identifier: GPL-2.0
/*
 * v2-fork-enomem: anon_vma_fork() as in v2 of the series. It clones first
 * and allocates the child's own anon_vma and AVC afterwards; when one of
 * those allocations fails it calls unlink_anon_vmas() on the child, which
 * (since patch 3) returns at once for a VMA whose anon_vma is NULL - and
 * the child's is. Its AVCs stay in the parent family's trees, pointing at a
 * VMA that fork's teardown then frees. Found by syzbot in mm.git; v3
 * allocates before cloning.
 */
#define ANON_VMA_CORE_NAME	"v2-fork-enomem"
#define ANON_VMA_CORE_TABLE	v2_fork_enomem_anon_vma_core
#define ZOO_REPLACES_anon_vma_fork

#include "zoo.h"

static int anon_vma_fork(struct vm_area_struct *vma, struct vm_area_struct *pvma);

#include "../mm/rmap.c"

static int anon_vma_fork(struct vm_area_struct *vma, struct vm_area_struct *pvma)
{
	struct anon_vma_chain *avc;
	struct anon_vma *anon_vma;
	int error;

	if (!pvma->anon_vma)
		return 0;

	vma->anon_vma = NULL;

	/* First link to the parent's anon_vmas... */
	error = anon_vma_clone(vma, pvma, VMA_OP_FORK);
	if (error)
		return error;
	if (vma->anon_vma)
		return 0;

	/* ...then allocate our own, which may fail after the links exist. */
	anon_vma = anon_vma_alloc();
	if (!anon_vma)
		goto out_error;
	anon_vma->num_active_vmas++;
	avc = anon_vma_chain_alloc(GFP_KERNEL);
	if (!avc)
		goto out_error_free_anon_vma;

	anon_vma->root = pvma->anon_vma->root;
	anon_vma->parent = pvma->anon_vma;
	get_anon_vma(anon_vma->root);
	vma->anon_vma = anon_vma;
	anon_vma_chain_assign(vma, avc, anon_vma);
	anon_vma_lock_write(anon_vma);
	anon_vma_interval_tree_insert(avc, &anon_vma->rb_root);
	anon_vma->parent->num_children++;
	anon_vma_unlock_write(anon_vma);
	return 0;

out_error_free_anon_vma:
	anon_vma->num_active_vmas--;
	put_anon_vma(anon_vma);
out_error:
	/* The defect: vma->anon_vma is NULL, so this unlinks nothing. */
	unlink_anon_vmas(vma);
	return -ENOMEM;
}
