// SPDX-License-Identifier: GPL-2.0
/*
 * degree-double-reuse: fork's reuse test as it was with the single degree
 * counter (2015-2022), degree being children plus active VMAs: an ancestor
 * other than the source's own anon_vma is reused when degree < 2. Degree 1
 * cannot tell "one child, no VMA" from "no child, one VMA", so an anon_vma
 * that another VMA still uses can be reused; two VMAs then share an
 * anon_vma with different chains (CVE-2022-42703, fixed by 2555283eb40d,
 * which split degree into num_children and num_active_vmas).
 */
#define ANON_VMA_CORE_NAME	"degree-double-reuse"
#define ANON_VMA_CORE_TABLE	degree_double_reuse_anon_vma_core
#define ZOO_REPLACES_anon_vma_clone
/* Its reuse test is inline in the clone below. */
#define ZOO_REPLACES_maybe_reuse_anon_vma

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

	anon_vma_lock_write(active_anon_vma);
	list_for_each_entry_reverse(avc, &dst->anon_vma_chain, same_vma) {
		struct anon_vma *anon_vma = avc->anon_vma;

		anon_vma_interval_tree_insert(avc, &anon_vma->rb_root);
		/* The defect: one number for two different things. */
		if (operation == VMA_OP_FORK && !dst->anon_vma &&
		    anon_vma != active_anon_vma &&
		    anon_vma->num_children + anon_vma->num_active_vmas < 2) {
			dst->anon_vma = anon_vma;
			anon_vma->num_active_vmas++;
		}
	}
	if (operation != VMA_OP_FORK)
		dst->anon_vma->num_active_vmas++;
	anon_vma_unlock_write(active_anon_vma);
	return 0;
}
