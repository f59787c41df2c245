// SPDX-License-Identifier: GPL-2.0
/* Glue for a post-series tree up to Linux 7.2: AVCs keyed by vm_pgoff. */
#include "post_series.h"
#include "pgoff_tree.h"

const struct anon_vma_core RMAPFUZZ_CORE_TABLE = {
	KERNEL_ANON_VMA_CORE,
	KERNEL_POST_SERIES_CORE,
};
