// SPDX-License-Identifier: GPL-2.0
/*
 * Glue for a tree from before the series that still counts children and
 * active VMAs apart (Linux 6.1 to 6.x): anon_vma_clone() takes two
 * arguments and a merge goes through anon_vma_merge().
 */
#include "common.h"

static int kernel_anon_vma_clone(struct vm_area_struct *dst,
				 struct vm_area_struct *src,
				 enum rf_clone_op op)
{
	(void)op;	/* this interface does not say */
	return anon_vma_clone(dst, src);
}

static void kernel_unlink_merged_vma(struct vm_area_struct *vma,
				     struct vm_area_struct *remove)
{
	anon_vma_merge(vma, remove);
}

static void kernel_anon_vma_view(struct anon_vma *anon_vma,
				 struct anon_vma_view *out)
{
	kernel_anon_vma_view_common(anon_vma, out);
	out->num_children = anon_vma->num_children;
	out->num_active_vmas = anon_vma->num_active_vmas;
}

const struct anon_vma_core kernel_anon_vma_core = {
	KERNEL_ANON_VMA_CORE,
	.clone			= kernel_anon_vma_clone,
	.unlink_merged		= kernel_unlink_merged_vma,
	.view			= kernel_anon_vma_view,
};
