// SPDX-License-Identifier: GPL-2.0
/* madvise() behaviours that change what fork does with a range. */
#include <linux/mm.h>
#include <linux/mman.h>

#include "internal.h"

static vm_flags_t madvise_new_flags(vm_flags_t flags, int behavior)
{
	switch (behavior) {
	case MADV_DONTFORK:
		return flags | VM_DONTCOPY;
	case MADV_DOFORK:
		return flags & ~VM_DONTCOPY;
	case MADV_WIPEONFORK:
		return flags | VM_WIPEONFORK;
	case MADV_KEEPONFORK:
		return flags & ~VM_WIPEONFORK;
	}
	return flags;
}

/*
 * Apply @behavior to every VMA piece in [start, start + len). Holes are
 * skipped (the kernel would report -ENOMEM for them once done). Returns the
 * number of VMAs changed, or -ENOMEM from a split or merge; changes made
 * before a failure stay.
 */
int do_madvise(struct mm_struct *mm, unsigned long start, unsigned long len,
	       int behavior)
{
	unsigned long end = start + len, cur = start;
	struct vm_area_struct *vma;
	int changed = 0;

	while ((vma = vma_first_in_range(mm, cur, end))) {
		unsigned long s = max(cur, vma->vm_start);
		unsigned long e = min(end, vma->vm_end);
		vm_flags_t new_flags = madvise_new_flags(vma->vm_flags, behavior);

		if (new_flags != vma->vm_flags) {
			int err = vma_modify_flags(vma, s, e, new_flags);

			if (err)
				return err;
			changed++;
		}
		cur = e;
	}
	return changed;
}
