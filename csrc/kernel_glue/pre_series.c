// SPDX-License-Identifier: GPL-2.0
/*
 * Glue for a tree from before the series that still counts children and
 * active VMAs apart (Linux 6.1 to 6.x).
 */
#include "before_series.h"

static void kernel_anon_vma_view(struct anon_vma *anon_vma,
				 struct anon_vma_view *out)
{
	kernel_anon_vma_view_common(anon_vma, out);
	out->num_children = anon_vma->num_children;
	out->num_active_vmas = anon_vma->num_active_vmas;
}

const struct anon_vma_core RMAPFUZZ_CORE_TABLE = {
	KERNEL_ANON_VMA_CORE,
	.clone			= kernel_anon_vma_clone,
	.unlink_merged		= kernel_unlink_merged_vma,
	.view			= kernel_anon_vma_view,
};
