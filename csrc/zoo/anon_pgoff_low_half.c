// SPDX-License-Identifier: GPL-2.0
/*
 * anon-pgoff-low-half: our core in Linux 7.3's shape (see
 * mm/rmap_anon_pgoff.c), whose setter of the anonymous page offset writes
 * only the low 32-bit half. Nothing shows below 16 TiB, where the high half
 * is zero; a VMA at or above it is keyed, and its pages indexed, 2^32 pages
 * too low (invariant vma.anon_pgoff; the trees and the rmap walk follow).
 */
#define ANON_VMA_CORE_NAME	"anon-pgoff-low-half"
#define ANON_VMA_CORE_TABLE	anon_pgoff_low_half_anon_vma_core
#define ANON_VMA_CORE_EXTRA					\
	.anon_pgoff		= true,				\
	.set_anon_pgoff		= low_half_set_anon_pgoff,

#include "zoo.h"

static void low_half_set_anon_pgoff(struct vm_area_struct *vma,
				    unsigned long pgoff);

#include "../mm/rmap.c"

/* The defect: the high half is never written. */
static void low_half_set_anon_pgoff(struct vm_area_struct *vma,
				    unsigned long pgoff)
{
	vma->__vm_anon_pgoff_lo = (unsigned int)pgoff;
}
