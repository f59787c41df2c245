// SPDX-License-Identifier: GPL-2.0
/*
 * reuse-on-split: the reuse heuristic applied outside fork. A split drops
 * the inherited anon_vma and, like a fork child, adopts the first ancestor
 * no VMA uses any more; the new half's fresh pages then go to an anon_vma
 * its other half does not use. The series made reuse fork-only (patch 9)
 * precisely so that this cannot happen.
 */
#define ANON_VMA_CORE_NAME	"reuse-on-split"
#define ANON_VMA_CORE_TABLE	reuse_on_split_anon_vma_core
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
	bool reuse = operation == VMA_OP_FORK || operation == VMA_OP_SPLIT;

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

	/* The defect: a split may pick another anon_vma, as a fork does. */
	if (operation == VMA_OP_SPLIT)
		dst->anon_vma = NULL;

	anon_vma_lock_write(active_anon_vma);
	list_for_each_entry_reverse(avc, &dst->anon_vma_chain, same_vma) {
		anon_vma_interval_tree_insert(avc, &avc->anon_vma->rb_root);
		if (reuse)
			maybe_reuse_anon_vma(dst, avc->anon_vma);
	}
	if (operation != VMA_OP_FORK && !dst->anon_vma) {
		dst->anon_vma = active_anon_vma;
		dst->anon_vma->num_active_vmas++;
	} else if (!reuse) {
		dst->anon_vma->num_active_vmas++;
	}
	anon_vma_unlock_write(active_anon_vma);
	return 0;
}
