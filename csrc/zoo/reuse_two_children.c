// SPDX-License-Identifier: GPL-2.0
/*
 * reuse-two-children (ours): maybe_reuse_anon_vma() accepts an ancestor
 * with two children where at most one is allowed. Reusing it gives a
 * fork child the anon_vma of two other families' common ancestor; nothing
 * is corrupted at once, but the world differs from the kernel's from then
 * on (and only after fork, fork, exit sequences leave such an ancestor).
 */
#define ANON_VMA_CORE_NAME	"reuse-two-children"
#define ANON_VMA_CORE_TABLE	reuse_two_children_anon_vma_core
#define ZOO_REPLACES_maybe_reuse_anon_vma

#include "zoo.h"

static void maybe_reuse_anon_vma(struct vm_area_struct *dst,
				 struct anon_vma *anon_vma);

#include "../mm/rmap.c"

static void maybe_reuse_anon_vma(struct vm_area_struct *dst,
				 struct anon_vma *anon_vma)
{
	if (dst->anon_vma)
		return;
	if (anon_vma->num_active_vmas > 0)
		return;
	/* The defect: off by one. */
	if (anon_vma->num_children > 2)
		return;

	dst->anon_vma = anon_vma;
	anon_vma->num_active_vmas++;
}