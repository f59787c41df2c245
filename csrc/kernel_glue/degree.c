// SPDX-License-Identifier: GPL-2.0
/*
 * Glue for a degree-era tree (2015-2022): as before the series, but one
 * counter, degree, stands for the children and the active VMAs together.
 * The snapshot carries it instead of the two counters, and the report says
 * that their checks were relaxed.
 */
#include "before_series.h"

static void kernel_anon_vma_view(struct anon_vma *anon_vma,
				 struct anon_vma_view *out)
{
	kernel_anon_vma_view_common(anon_vma, out);
	out->has_degree = true;
	out->degree = anon_vma->degree;
}

const struct anon_vma_core RMAPFUZZ_CORE_TABLE = {
	KERNEL_ANON_VMA_CORE,
	.clone			= kernel_anon_vma_clone,
	.unlink_merged		= kernel_unlink_merged_vma,
	.view			= kernel_anon_vma_view,
	.relaxed_checks		= "anon_vma.num_children,anon_vma.num_active_vmas",
};
