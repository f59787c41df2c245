/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The interface every tree before the series shares (the degree era and
 * 6.x alike): anon_vma_clone() is not told the operation, and a merge
 * removes the absorbed VMA through anon_vma_merge().
 */
#ifndef _RMAPFUZZ_KERNEL_GLUE_BEFORE_SERIES_H
#define _RMAPFUZZ_KERNEL_GLUE_BEFORE_SERIES_H

#include "pgoff_tree.h"

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

#endif /* _RMAPFUZZ_KERNEL_GLUE_BEFORE_SERIES_H */
