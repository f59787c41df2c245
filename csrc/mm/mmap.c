// SPDX-License-Identifier: GPL-2.0
/*
 * Address-space wide operations: mmap of a new anonymous range, the copy of
 * an address space at fork (dup_mmap) and its teardown at exit.
 */
#include <linux/mm.h>
#include <linux/rmap.h>

#include "internal.h"

/*
 * A new private anonymous mapping: merge it into a neighbour when possible.
 * If that merge runs out of memory the kernel does not give up but maps a
 * new VMA instead (__mmap_region), so a merge failure is not an error here.
 */
int do_mmap(struct mm_struct *mm, unsigned long addr, unsigned long len)
{
	pgoff_t pgoff = addr >> PAGE_SHIFT;
	struct vm_area_struct *vma;
	int err;

	vma = vma_merge_new_range(mm, addr, addr + len, VM_NONE, pgoff, pgoff,
				  NULL, &err);
	if (vma)
		return 0;

	vma = vm_area_alloc(mm);
	if (!vma)
		return -ENOMEM;
	vma->vm_start = addr;
	vma->vm_end = addr + len;
	vma->vm_flags = VM_NONE;
	vma->vm_pgoff = pgoff;
	vma_set_anon_pgoff(vma, pgoff);
	vma_link(mm, vma);
	return 0;
}

/* Share the parent's pages with the child; both sides now copy on write. */
static void copy_page_range(struct vm_area_struct *dst_vma,
			    struct vm_area_struct *src_vma)
{
	struct mm_struct *src = src_vma->vm_mm;
	unsigned long addr = src_vma->vm_start;
	struct folio *folio;

	while ((folio = pte_next(src, &addr, src_vma->vm_end))) {
		/*
		 * Each entry is copied in one step, as under the source's
		 * page-table lock: a walker unmapping the parent's entry comes
		 * before (nothing to copy) or after (the child's is there too).
		 */
		sched_point(SP_PTE, "copy_pte", folio, __func__);
		folio = pte_folio(src, addr);
		if (folio) {
			folio->mapcount++;
			pte_install(dst_vma->vm_mm, addr, folio);
		}
		addr += PAGE_SIZE;
	}
}

/* Undo a partly built child: everything linked so far goes away. */
static void tear_down_vmas(struct mm_struct *mm)
{
	struct vm_area_struct *vma, *next;

	pte_clear_range(mm, 0, TASK_SIZE);
	list_for_each_entry(vma, &mm->mmap, vm_list) {
		sched_step();
		unlink_anon_vmas(vma);
	}
	list_for_each_entry_safe(vma, next, &mm->mmap, vm_list) {
		vma_unlink(vma);
		remove_vma(vma);
	}
}

/*
 * Copy @oldmm's VMAs into the new @mm in address order. VM_DONTCOPY VMAs are
 * left out; VM_WIPEONFORK ones start unfaulted and empty in the child.
 */
int dup_mmap(struct mm_struct *mm, struct mm_struct *oldmm)
{
	struct vm_area_struct *mpnt, *tmp;

	mmap_assert_write_locked(oldmm);
	mmap_assert_write_locked(mm);

	list_for_each_entry(mpnt, &oldmm->mmap, vm_list) {
		if (mpnt->vm_flags & VM_DONTCOPY)
			continue;

		sched_step();
		tmp = vm_area_dup(mpnt);
		if (!tmp)
			goto fail_nomem;
		tmp->vm_mm = mm;
		if (tmp->vm_flags & VM_WIPEONFORK) {
			/* A clean slate: the first fault prepares an anon_vma. */
			tmp->anon_vma = NULL;
		} else if (anon_vma_fork(tmp, mpnt)) {
			goto fail_nomem_anon_vma_fork;
		}
		vma_link(mm, tmp);
		if (!(tmp->vm_flags & VM_WIPEONFORK))
			copy_page_range(tmp, mpnt);
	}
	return 0;

fail_nomem_anon_vma_fork:
	vm_area_free(tmp);
fail_nomem:
	tear_down_vmas(mm);
	return -ENOMEM;
}

/* The mm is going away: drop every page, link and VMA. */
void exit_mmap(struct mm_struct *mm)
{
	mmap_assert_write_locked(mm);
	tear_down_vmas(mm);
}
