// SPDX-License-Identifier: GPL-2.0
/*
 * v3-as-posted: the series exactly as the seed posts it. When a clone on
 * the merge path runs out of memory, cleanup_partial_anon_vmas() frees the
 * AVCs but leaves dst->anon_vma set, so the unfaulted VMA points at an
 * anon_vma that never counted it; its later unlink drops num_active_vmas
 * once too often. Fixed before release (Linux 7.x resets the pointer).
 */
#define ANON_VMA_CORE_NAME	"v3-as-posted"
#define ANON_VMA_CORE_TABLE	v3_as_posted_anon_vma_core
#define ZOO_REPLACES_cleanup_partial_anon_vmas

#include "zoo.h"

static void cleanup_partial_anon_vmas(struct vm_area_struct *vma);

#include "../mm/rmap.c"

static void cleanup_partial_anon_vmas(struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc, *next;

	list_for_each_entry_safe(avc, next, &vma->anon_vma_chain, same_vma) {
		list_del(&avc->same_vma);
		anon_vma_chain_free(avc);
	}
	/* The defect: vma->anon_vma is left pointing at the lent anon_vma. */
}
