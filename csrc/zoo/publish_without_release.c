// SPDX-License-Identifier: GPL-2.0
/*
 * publish-without-release (ours; the 2026 fix "missing barrier between
 * anon_vma init and vma->anon_vma publish" undone): __anon_vma_prepare()
 * makes the new anon_vma the VMA's with a plain store. A fault of the same
 * process in the next VMA runs under the same read-held mmap_lock, finds
 * the anon_vma through find_mergeable_anon_vma() and may see the pointer
 * before the anon_vma's own fields (its root), and lock through garbage.
 * Only a store held back (the store buffer of a weakly ordered CPU)
 * shows it.
 */
#define ANON_VMA_CORE_NAME	"publish-without-release"
#define ANON_VMA_CORE_TABLE	publish_without_release_anon_vma_core
#define ZOO_PREPARE		publish_without_release_prepare

#include "zoo.h"

static int publish_without_release_prepare(struct vm_area_struct *vma);

#include "../mm/rmap.c"

/* The defect: a plain store, not smp_store_release(). */
static void publish_plain(struct vm_area_struct *vma, struct anon_vma *anon_vma)
{
	vma->anon_vma = anon_vma;
}

static int publish_without_release_prepare(struct vm_area_struct *vma)
{
	return anon_vma_prepare_publishing(vma, publish_plain);
}
