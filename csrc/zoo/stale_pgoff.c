// SPDX-License-Identifier: GPL-2.0
/*
 * stale-pgoff: the re-keying around a range change (vma_prepare() /
 * vma_complete() in mm/vma.c) handles only the AVC of the VMA's own
 * anon_vma, as if a VMA had one link. The links to its ancestors keep the
 * key of the old range or pgoff, so an rmap walk of an ancestor searches
 * the wrong interval: after a split, merge or partial unmap of a forked
 * VMA, pages shared with the parent are missed or found twice.
 */
#define ANON_VMA_CORE_NAME	"stale-pgoff"
#define ANON_VMA_CORE_TABLE	stale_pgoff_anon_vma_core
#define ZOO_PRE_UPDATE_VMA	own_link_pre_update_vma
#define ZOO_POST_UPDATE_VMA	own_link_post_update_vma

#include "zoo.h"

static void own_link_pre_update_vma(struct vm_area_struct *vma);
static void own_link_post_update_vma(struct vm_area_struct *vma);

#include "../mm/rmap.c"

/* The defect: only the link to vma->anon_vma is taken out and re-filed. */
static void own_link_pre_update_vma(struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc;

	list_for_each_entry(avc, &vma->anon_vma_chain, same_vma)
		if (avc->anon_vma == vma->anon_vma)
			anon_vma_interval_tree_remove(avc, &avc->anon_vma->rb_root);
}

static void own_link_post_update_vma(struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc;

	list_for_each_entry(avc, &vma->anon_vma_chain, same_vma)
		if (avc->anon_vma == vma->anon_vma)
			anon_vma_interval_tree_insert(avc, &avc->anon_vma->rb_root);
}
