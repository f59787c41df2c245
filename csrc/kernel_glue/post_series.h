/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every tree after the series shares: anon_vma_clone() is told which
 * operation it serves, and a merge removes the absorbed VMA with
 * unlink_anon_vmas() itself.
 */
#ifndef _RMAPFUZZ_KERNEL_GLUE_POST_SERIES_H
#define _RMAPFUZZ_KERNEL_GLUE_POST_SERIES_H

#include "common.h"

static int kernel_anon_vma_clone(struct vm_area_struct *dst,
				 struct vm_area_struct *src,
				 enum rf_clone_op op)
{
	static const enum vma_operation kernel_op[] = {
		[RF_CLONE_SPLIT]		= VMA_OP_SPLIT,
		[RF_CLONE_MERGE_UNFAULTED]	= VMA_OP_MERGE_UNFAULTED,
		[RF_CLONE_REMAP]		= VMA_OP_REMAP,
		[RF_CLONE_FORK]			= VMA_OP_FORK,
	};

	return anon_vma_clone(dst, src, kernel_op[op]);
}

static void kernel_unlink_merged_vma(struct vm_area_struct *vma,
				     struct vm_area_struct *remove)
{
	(void)vma;
	unlink_anon_vmas(remove);
}

static void kernel_anon_vma_view(struct anon_vma *anon_vma,
				 struct anon_vma_view *out)
{
	kernel_anon_vma_view_common(anon_vma, out);
	out->num_children = anon_vma->num_children;
	out->num_active_vmas = anon_vma->num_active_vmas;
}

#define KERNEL_POST_SERIES_CORE					\
	.clone			= kernel_anon_vma_clone,	\
	.unlink_merged		= kernel_unlink_merged_vma,	\
	.view			= kernel_anon_vma_view

#endif /* _RMAPFUZZ_KERNEL_GLUE_POST_SERIES_H */
