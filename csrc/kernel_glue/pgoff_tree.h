/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Glue for every tree that keys AVCs by vm_pgoff (all but 7.3): the tree's
 * own interval tree, anon_vma_interval_tree_* of its mm/interval_tree.c over
 * its lib/rbtree.c, extracted with the core.
 */
#ifndef _RMAPFUZZ_KERNEL_GLUE_PGOFF_TREE_H
#define _RMAPFUZZ_KERNEL_GLUE_PGOFF_TREE_H

#include "common.h"

/*
 * The harness's re-keying around a range change (the kernel's static
 * helpers of mm/vma.c) and its stabbing queries (the fault path's reuse
 * test, the rmap walk) go through it.
 */
static void kernel_pre_update_vma(struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc;

	list_for_each_entry(avc, &vma->anon_vma_chain, same_vma)
		anon_vma_interval_tree_remove(avc, &avc->anon_vma->rb_root);
}

static void kernel_post_update_vma(struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc;

	list_for_each_entry(avc, &vma->anon_vma_chain, same_vma)
		anon_vma_interval_tree_insert(avc, &avc->anon_vma->rb_root);
}

static struct anon_vma_chain *
kernel_tree_iter_first(struct anon_vma *anon_vma, unsigned long start,
		       unsigned long last)
{
	return anon_vma_interval_tree_iter_first(&anon_vma->rb_root, start, last);
}

static struct anon_vma_chain *
kernel_tree_iter_next(struct anon_vma_chain *avc, unsigned long start,
		      unsigned long last)
{
	return anon_vma_interval_tree_iter_next(avc, start, last);
}

/* Trees that key AVCs by vm_pgoff, in anon_vma_interval_tree_*. */
#define KERNEL_ANON_VMA_CORE					\
	KERNEL_ANON_VMA_CORE_COMMON,				\
	.pre_update_vma		= kernel_pre_update_vma,	\
	.post_update_vma	= kernel_post_update_vma,	\
	.tree_first		= kernel_tree_iter_first,	\
	.tree_next		= kernel_tree_iter_next

#endif /* _RMAPFUZZ_KERNEL_GLUE_PGOFF_TREE_H */
