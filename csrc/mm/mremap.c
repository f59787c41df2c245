// SPDX-License-Identifier: GPL-2.0
/* Moving a whole VMA to a free range of the same mm (mremap MAYMOVE|FIXED). */
#include <linux/mm.h>
#include <linux/rmap.h>

#include "internal.h"

/*
 * The VMA that will hold @vma's pages at @addr: a neighbour expanded over
 * the range, or a new VMA linked to every anon_vma of @vma. A faulted VMA
 * keeps its pgoff so its pages' indices stay valid; an unfaulted one takes
 * the new address's, which helps it merge there.
 */
static struct vm_area_struct *copy_vma(struct vm_area_struct *vma,
				       unsigned long addr, unsigned long len,
				       pgoff_t pgoff, pgoff_t anon_pgoff)
{
	struct mm_struct *mm = vma->vm_mm;
	struct vm_area_struct *new_vma;
	int err;

	new_vma = vma_merge_new_range(mm, addr, addr + len, vma->vm_flags,
				      pgoff, anon_pgoff, vma, &err);
	if (new_vma)
		return new_vma;

	/* A failed merge falls back to a copy, as in the kernel. */
	new_vma = vm_area_dup(vma);
	if (!new_vma)
		return NULL;
	new_vma->vm_start = addr;
	new_vma->vm_end = addr + len;
	new_vma->vm_pgoff = pgoff;
	vma_set_anon_pgoff(new_vma, anon_pgoff);
	if (anon_vma_clone(new_vma, vma, VMA_OP_REMAP)) {
		vm_area_free(new_vma);
		return NULL;
	}
	vma_link(mm, new_vma);
	return new_vma;
}

int move_vma(struct vm_area_struct *vma, unsigned long new_addr)
{
	struct mm_struct *mm = vma->vm_mm;	/* @vma may be absorbed below */
	unsigned long old_start = vma->vm_start, old_end = vma->vm_end;
	unsigned long len = old_end - old_start;
	pgoff_t pgoff = vma->vm_pgoff;
	pgoff_t anon_pgoff = vma_start_anon_pgoff(vma);
	struct vm_area_struct *new_vma;
	struct anon_vma *anon_vma;

	/* 7.3 moves the anonymous page offset alike, for the same reason. */
	if (!vma->anon_vma)
		pgoff = anon_pgoff = new_addr >> PAGE_SHIFT;

	new_vma = copy_vma(vma, new_addr, len, pgoff, anon_pgoff);
	if (!new_vma)
		return -ENOMEM;

	/*
	 * An rmap walk must find each page at its old address or its new one,
	 * never at neither: hold the walkers off while the entries move (the
	 * kernel's take_rmap_locks(), which it takes where the walk order
	 * alone would not do; here always).
	 */
	anon_vma = new_vma->anon_vma;	/* @vma may be gone into new_vma */
	if (anon_vma)
		anon_vma_lock_write(anon_vma);
	pte_move_range(mm, old_start, old_end, new_addr);
	if (anon_vma)
		anon_vma_unlock_write(anon_vma);

	/*
	 * An unfaulted VMA moved right next to itself merged into itself (or
	 * was absorbed by a neighbour that took the new range, as copy_vma
	 * notices): the old range is a part of the result, which unmapping
	 * splits off. As in mm/mremap.c, a split that cannot allocate leaves
	 * the move standing with the old range still mapped.
	 */
	if (new_vma->vm_start <= old_start && old_start < new_vma->vm_end) {
		do_munmap(mm, old_start, len);
		return 0;
	}

	/* The old range is now empty: unmap it. */
	vma_unlink(vma);
	unlink_anon_vmas(vma);
	remove_vma(vma);
	return 0;
}
