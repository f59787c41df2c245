// SPDX-License-Identifier: GPL-2.0
/*
 * Glue for a tree with an anonymous page offset (Linux 7.3): the post-series
 * core, whose AVCs the tree's own mm/interval_tree.c files (anon_rmap_tree_*)
 * under keys from its own helpers. Those helpers were extracted with the
 * core, so the harness's callers use them as the kernel's do: to read and
 * set a VMA's anonymous page offset, to index a new page and to find where
 * a VMA maps one.
 */
#include "post_series.h"

static unsigned long kernel_start_anon_pgoff(const struct vm_area_struct *vma)
{
	return vma_start_anon_pgoff(vma);
}

static void kernel_set_anon_pgoff(struct vm_area_struct *vma,
				  unsigned long pgoff)
{
	__vma_set_anon_pgoff(vma, pgoff);
}

static unsigned long kernel_anon_page_index(const struct vm_area_struct *vma,
					    unsigned long address)
{
	return linear_anon_page_index(vma, address);
}

static unsigned long kernel_anon_address(const struct vm_area_struct *vma,
					 unsigned long pgoff)
{
	return vma_anon_address(vma, pgoff, 1);
}

static struct anon_vma_chain *kernel_tree_first(struct anon_vma *anon_vma,
						unsigned long start,
						unsigned long last)
{
	return anon_rmap_tree_iter_first(anon_vma, start, last);
}

static struct anon_vma_chain *kernel_tree_next(struct anon_vma_chain *avc,
					       unsigned long start,
					       unsigned long last)
{
	return anon_rmap_tree_iter_next(avc, start, last);
}

/* As mm/vma.c does around a range change, with the tree's own functions. */
static void kernel_anon_pre_update_vma(struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc;

	list_for_each_entry(avc, &vma->anon_vma_chain, same_vma)
		anon_rmap_tree_remove(avc, avc->anon_vma);
}

static void kernel_anon_post_update_vma(struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc;

	list_for_each_entry(avc, &vma->anon_vma_chain, same_vma)
		anon_rmap_tree_insert(avc, avc->anon_vma);
}

const struct anon_vma_core RMAPFUZZ_CORE_TABLE = {
	KERNEL_ANON_VMA_CORE_COMMON,
	KERNEL_POST_SERIES_CORE,
	.pre_update_vma		= kernel_anon_pre_update_vma,
	.post_update_vma	= kernel_anon_post_update_vma,
	.anon_pgoff		= true,
	.start_anon_pgoff	= kernel_start_anon_pgoff,
	.set_anon_pgoff		= kernel_set_anon_pgoff,
	.anon_page_index	= kernel_anon_page_index,
	.anon_address		= kernel_anon_address,
	.tree_first		= kernel_tree_first,
	.tree_next		= kernel_tree_next,
};
