// SPDX-License-Identifier: GPL-2.0
/*
 * unlocked-insert: anon_vma_clone() files the new AVCs into the interval
 * trees before taking the family lock, as if only the counter update
 * needed it. A concurrent rmap walk (or another clone) would see a tree
 * being rebalanced under its feet; here the tree shim's assertion that the
 * root's rwsem is held for writing catches it.
 */
#define ANON_VMA_CORE_NAME	"unlocked-insert"
#define ANON_VMA_CORE_TABLE	unlocked_insert_anon_vma_core
#define ZOO_REPLACES_anon_vma_clone

#include "zoo.h"

static int anon_vma_clone(struct vm_area_struct *dst, struct vm_area_struct *src,
			  enum vma_operation operation);

#include "../mm/rmap.c"

static int anon_vma_clone(struct vm_area_struct *dst, struct vm_area_struct *src,
			  enum vma_operation operation)
{
	struct anon_vma *active_anon_vma = src->anon_vma;
	struct anon_vma_chain *avc, *pavc;

	check_anon_vma_clone(dst, src, operation);

	if (!active_anon_vma)
		return 0;

	list_for_each_entry(pavc, &src->anon_vma_chain, same_vma) {
		avc = anon_vma_chain_alloc(GFP_KERNEL);
		if (!avc) {
			cleanup_partial_anon_vmas(dst);
			return -ENOMEM;
		}
		anon_vma_chain_assign(dst, avc, pavc->anon_vma);
	}

	/* The defect: the trees change before the lock is taken. */
	list_for_each_entry_reverse(avc, &dst->anon_vma_chain, same_vma) {
		anon_vma_interval_tree_insert(avc, &avc->anon_vma->rb_root);
		if (operation == VMA_OP_FORK)
			maybe_reuse_anon_vma(dst, avc->anon_vma);
	}
	anon_vma_lock_write(active_anon_vma);
	if (operation != VMA_OP_FORK)
		dst->anon_vma->num_active_vmas++;
	anon_vma_unlock_write(active_anon_vma);
	return 0;
}
