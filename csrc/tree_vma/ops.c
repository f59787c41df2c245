// SPDX-License-Identifier: GPL-2.0
/*
 * The harness's operations, through the tree's mm/vma.c where it has
 * them (mmap_region, split_vma, vma_merge_existing_range, copy_vma,
 * do_vmi_munmap, vma_modify_flags); fork, exit and faults are ours.
 * Part of rmapfuzz's driver of a tree's own callers: compiled inside the
 * unit generated for the tree, after world.c (see world.c).
 */
#include <stdlib.h>
#include <string.h>

#include "world.h"
#include "../include/rmapfuzz/hits.h"

/* ---- Processes ------------------------------------------------------------ */

static struct tw_mm *mm_alloc(void)
{
	struct tw_mm *mm;

	if (attempt_fails(RF_SITE_MM))
		return NULL;
	mm = calloc(1, sizeof(*mm));
	if (!mm)
		abort();
	spin_lock_init(&mm->mm.page_table_lock);
	objs_add(&tw_current->live[RF_SITE_MM], mm);
	return mm;
}

/* An mm whose VMAs are gone (tear_down()). */
static void mm_free(struct tw_mm *mm)
{
	free(mm->ptes);
	objs_del(&tw_current->live[RF_SITE_MM], mm);
	free(mm);
}

/* Every page, link and VMA of @mm goes (exit_mmap; a failed fork's undo). */
static void tear_down(struct tw_mm *mm)
{
	struct vm_area_struct *vma;
	VMA_ITERATOR(vmi, &mm->mm, 0);

	pte_clear_range(mm, 0, ULONG_MAX);
	for_each_vma(vmi, vma)
		unlink_anon_vmas(vma);
	vma_iter_set(&vmi, 0);
	for_each_vma(vmi, vma) {
		tw_vma_detach(vma);
		vm_area_free(vma);
	}
	__mt_destroy(&mm->mm.mm_mt);
	mm->mm.map_count = 0;
}

static struct tw_mm *find_mm(struct tw_world *w, uint32_t id)
{
	struct tw_mm *mm;

	for (mm = w->mms; mm; mm = mm->next) {
		if (mm->id == id)
			return mm;
	}
	return NULL;
}

static void mm_list_add(struct tw_world *w, struct tw_mm *mm)
{
	struct tw_mm **pos = &w->mms;

	while (*pos)
		pos = &(*pos)->next;
	*pos = mm;
}

static void mm_list_del(struct tw_world *w, struct tw_mm *mm)
{
	struct tw_mm **pos = &w->mms;

	while (*pos != mm)
		pos = &(*pos)->next;
	*pos = mm->next;
}

/* ---- Operations ------------------------------------------------------------ */

#define TW_TASK_SIZE	(1UL << 47)
#ifndef PAGE_ALIGNED
#define PAGE_ALIGNED(addr)	(((addr) & (PAGE_SIZE - 1)) == 0)
#endif

static bool valid_range(uint64_t start, uint64_t len)
{
	return len && PAGE_ALIGNED(start) && PAGE_ALIGNED(len) &&
	       len <= TW_TASK_SIZE && start <= TW_TASK_SIZE - len;
}

/* No VMA of @mm meets [start, end). */
static bool range_is_free(struct tw_mm *mm, unsigned long start,
			  unsigned long end)
{
	VMA_ITERATOR(vmi, &mm->mm, start);

	return !vma_find(&vmi, end);
}

static uint32_t status_of(long err)
{
	return err ? RF_STATUS_ENOMEM : RF_STATUS_OK;
}

#ifdef RF_TW_OWN_MMAP
/*
 * mm/mmap.c's __mmap_region() for a private anonymous mapping of a free
 * range, over the tree's vma_merge_new_range(): that file is not part of
 * the world (Linux 6.12; later trees have mmap_region() in mm/vma.c).
 */
static unsigned long mmap_region(struct file *file, unsigned long addr,
				 unsigned long len, vm_flags_t vm_flags,
				 unsigned long pgoff, struct list_head *uf)
{
	struct mm_struct *mm = current->mm;
	unsigned long end = addr + len;
	struct vm_area_struct *vma;
	VMA_ITERATOR(vmi, mm, addr);
	VMG_STATE(vmg, mm, &vmi, addr, end, vm_flags | VM_ACCOUNT, pgoff);

	(void)file;
	(void)uf;
	vm_flags |= VM_ACCOUNT;		/* private writable: accountable */
	vmg.next = vma_iter_next_rewind(&vmi, &vmg.prev);
	vma = vma_merge_new_range(&vmg);
	if (vma)
		goto expanded;
	vma = vm_area_alloc(mm);
	if (!vma)
		return -ENOMEM;
	vma_iter_config(&vmi, addr, end);
	vma_set_range(vma, addr, end, pgoff);
	vma->__vm_flags = vm_flags;
	vma->vm_page_prot = vm_get_page_prot(vm_flags);
	if (vma_iter_prealloc(&vmi, vma)) {
		vm_area_free(vma);
		return -ENOMEM;
	}
	vma->vm_ops = NULL;		/* vma_set_anonymous() */
	vma_start_write(vma);
	vma_iter_store(&vmi, vma);
	mm->map_count++;
expanded:
	vm_stat_account(mm, vm_flags, len >> PAGE_SHIFT);
	return addr;
}
#endif

static uint32_t op_mmap(struct tw_mm *mm, const struct rf_op *op)
{
	unsigned long ret;

	if (!valid_range(op->a, op->b) ||
	    !range_is_free(mm, op->a, op->a + op->b))
		return RF_STATUS_EINVAL;
#ifdef RF_TW_MMAP_VMA_FLAGS
	ret = mmap_region(NULL, op->a, op->b,
			  mk_vma_flags(VMA_READ_BIT, VMA_WRITE_BIT,
				       VMA_MAYREAD_BIT, VMA_MAYWRITE_BIT),
			  op->a >> PAGE_SHIFT, NULL);
#else
	ret = mmap_region(NULL, op->a, op->b,
			  VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE,
			  op->a >> PAGE_SHIFT, NULL);
#endif
	return IS_ERR_VALUE(ret) ? RF_STATUS_ENOMEM : RF_STATUS_OK;
}

static unsigned long anon_index(struct vm_area_struct *vma, unsigned long addr)
{
	return tw_key_start(vma) + ((addr - vma->vm_start) >> PAGE_SHIFT);
}

/* do_anonymous_page() and the copy of a write fault. */
static int map_new_folio(struct tw_mm *mm, struct vm_area_struct *vma,
			 unsigned long addr)
{
	struct tw_folio *folio;

	if (anon_vma_prepare(vma))
		return -ENOMEM;
	folio = folio_alloc();
	if (!folio)
		return -ENOMEM;
	folio->anon_vma = vma->anon_vma;
	folio->index = anon_index(vma, addr);
	folio->mapcount = 1;
	pte_install(mm, addr, folio);
	return 0;
}

static uint32_t op_fault(struct tw_mm *mm, const struct rf_op *op)
{
	struct vm_area_struct *vma = vma_lookup(&mm->mm, op->a);
	unsigned long addr = op->a & PAGE_MASK;
	struct tw_folio *folio;
	int err;

	if (!vma || op->c > RF_ACCESS_WRITE)
		return RF_STATUS_EINVAL;
	if (op->c != RF_ACCESS_WRITE)
		return RF_STATUS_NOOP;
	folio = tw_pte_folio(mm, addr);
	if (!folio)
		return status_of(map_new_folio(mm, vma, addr));
	if (folio->mapcount == 1) {
		/* folio_move_anon_rmap(): the only mapping takes it over. */
		folio->anon_vma = vma->anon_vma;
		return RF_STATUS_OK;
	}
	err = map_new_folio(mm, vma, addr);
	if (!err)
		folio->mapcount--;
	return status_of(err);
}

/* kernel/fork.c's dup_mmap(), over the tree's VMAs and anon_vma_fork(). */
static int dup_mmap(struct tw_mm *child, struct tw_mm *parent)
{
	struct vm_area_struct *mpnt, *tmp;
	VMA_ITERATOR(vmi, &parent->mm, 0);

	/* The counters mm/vma.c keeps and checks on munmap come along. */
	child->mm.total_vm = parent->mm.total_vm;
	child->mm.data_vm = parent->mm.data_vm;
	child->mm.exec_vm = parent->mm.exec_vm;
	child->mm.stack_vm = parent->mm.stack_vm;
	for_each_vma(vmi, mpnt) {
		size_t i;

		if (mpnt->vm_flags & VM_DONTCOPY) {
			vm_stat_account(&child->mm, mpnt->vm_flags, -vma_pages(mpnt));
			continue;
		}
		tmp = vm_area_dup(mpnt);
		if (!tmp)
			return -ENOMEM;
		tmp->vm_mm = &child->mm;
		if (tmp->vm_flags & VM_WIPEONFORK) {
			tmp->anon_vma = NULL;
		} else if (anon_vma_fork(tmp, mpnt)) {
			vm_area_free(tmp);
			return -ENOMEM;
		}
		if (vma_link(&child->mm, tmp)) {
			unlink_anon_vmas(tmp);
			vm_area_free(tmp);
			return -ENOMEM;
		}
		if (tmp->vm_flags & VM_WIPEONFORK)
			continue;
		for (i = pte_index(parent, mpnt->vm_start);
		     i < parent->nr_ptes && parent->ptes[i].addr < mpnt->vm_end; i++) {
			parent->ptes[i].folio->mapcount++;
			pte_install(child, parent->ptes[i].addr, parent->ptes[i].folio);
		}
	}
	return 0;
}

static uint32_t op_fork(struct tw_world *w, struct tw_mm *parent)
{
	struct tw_mm *child = mm_alloc();

	if (!child)
		return RF_STATUS_ENOMEM;
	if (dup_mmap(child, parent)) {
		tear_down(child);
		mm_free(child);
		return RF_STATUS_ENOMEM;
	}
	child->id = w->next_mm_id++;
	mm_list_add(w, child);
	return RF_STATUS_OK;
}

static uint32_t op_split(struct tw_mm *mm, const struct rf_op *op)
{
	struct vm_area_struct *vma = vma_lookup(&mm->mm, op->a);
	VMA_ITERATOR(vmi, &mm->mm, op->a);

	if (!PAGE_ALIGNED(op->a) || !vma || vma->vm_start == op->a)
		return RF_STATUS_EINVAL;
	return status_of(split_vma(&vmi, vma, op->a, 0));
}

/* The VMA holding [start, end), with @vmi on it, and its predecessor. */
static struct vm_area_struct *find_with_prev(struct vma_iterator *vmi,
					     unsigned long start,
					     unsigned long end,
					     struct vm_area_struct **prev)
{
	struct vm_area_struct *vma = vma_find(vmi, end);

	if (!vma)
		return NULL;
	*prev = vma_prev(vmi);
	if (start > vma->vm_start)
		*prev = vma;
	return vma_find(vmi, end);
}

static uint32_t op_merge(struct tw_mm *mm, const struct rf_op *op)
{
	struct vm_area_struct *vma = vma_lookup(&mm->mm, op->a), *prev, *merged;
	unsigned long start, end;

	if (!vma)
		return RF_STATUS_EINVAL;
	start = vma->vm_start;
	end = vma->vm_end;
	{
		VMA_ITERATOR(vmi, &mm->mm, start);

		vma = find_with_prev(&vmi, start, end, &prev);
		{
			VMG_VMA_STATE(vmg, &vmi, prev, vma, start, end);

			merged = vma_merge_existing_range(&vmg);
			if (vmg_nomem(&vmg))
				return RF_STATUS_ENOMEM;
		}
	}
	return merged ? RF_STATUS_OK : RF_STATUS_NOOP;
}

static uint32_t op_mremap(struct tw_mm *mm, const struct rf_op *op)
{
	struct vm_area_struct *vma = vma_lookup(&mm->mm, op->a), *new_vma;
	unsigned long old_start, old_end, len;
	bool need_rmap_locks;
	VMA_ITERATOR(vmi, &mm->mm, 0);

	if (!vma)
		return RF_STATUS_EINVAL;
	old_start = vma->vm_start;
	old_end = vma->vm_end;
	len = old_end - old_start;
	if (!valid_range(op->b, len) || !range_is_free(mm, op->b, op->b + len))
		return RF_STATUS_EINVAL;
#ifdef RF_TW_ANON_PGOFF
	new_vma = copy_vma(&vma, op->b, len, vma->vm_pgoff,
			   vma_start_anon_pgoff(vma), &need_rmap_locks, false);
#else
	new_vma = copy_vma(&vma, op->b, len, vma->vm_pgoff, &need_rmap_locks,
			   false);
#endif
	if (!new_vma)
		return RF_STATUS_ENOMEM;
	/* As mremap does: the new range counts before the old one goes. */
	vm_stat_account(&mm->mm, vma->vm_flags, len >> PAGE_SHIFT);
	pte_move_range(mm, old_start, old_end, op->b);
	/*
	 * The old range is empty now: mremap unmaps it. As mm/mremap.c does,
	 * a failure there (no memory to split a VMA the copy merged into) is
	 * not mremap's: the move stands, the old range stays mapped.
	 */
	vma_iter_init(&vmi, &mm->mm, old_start);
	do_vmi_munmap(&vmi, &mm->mm, old_start, len, NULL, false);
	return RF_STATUS_OK;
}

static uint32_t op_munmap(struct tw_mm *mm, const struct rf_op *op)
{
	VMA_ITERATOR(vmi, &mm->mm, op->a);

	if (!valid_range(op->a, op->b))
		return RF_STATUS_EINVAL;
	if (range_is_free(mm, op->a, op->a + op->b))
		return RF_STATUS_NOOP;
	return status_of(do_vmi_munmap(&vmi, &mm->mm, op->a, op->b, NULL, false));
}

/* MADV_{DONT,DO}FORK and MADV_{WIPE,KEEP}ONFORK on one VMA's piece. */
static bool advise(tw_flags_t *flags, uint32_t advice)
{
	tw_flags_t old = *flags;

	switch (advice) {
	case RF_ADVICE_DONTFORK:
		tw_flag_set(flags, DONTCOPY);
		break;
	case RF_ADVICE_DOFORK:
		tw_flag_clear(flags, DONTCOPY);
		break;
	case RF_ADVICE_WIPEONFORK:
		tw_flag_set(flags, WIPEONFORK);
		break;
	case RF_ADVICE_KEEPONFORK:
		tw_flag_clear(flags, WIPEONFORK);
		break;
	}
	return memcmp(&old, flags, sizeof(old)) != 0;
}

static uint32_t op_madvise(struct tw_mm *mm, const struct rf_op *op)
{
	unsigned long cur = op->a, end = op->a + op->b;
	int changed = 0;

	if (!valid_range(op->a, op->b) || op->c > RF_ADVICE_KEEPONFORK)
		return RF_STATUS_EINVAL;
	for (;;) {
		struct vm_area_struct *vma, *prev;
		unsigned long s, e;
		tw_flags_t flags;
		VMA_ITERATOR(vmi, &mm->mm, cur);

		vma = vma_find(&vmi, end);
		if (!vma)
			break;
		s = max(cur, vma->vm_start);
		e = min(end, vma->vm_end);
		flags = tw_flags_of(vma);
		if (advise(&flags, op->c)) {
			vma_iter_set(&vmi, s);
			vma = find_with_prev(&vmi, s, e, &prev);
			vma = tw_modify_flags(&vmi, prev, vma, s, e, &flags);
			if (IS_ERR(vma))
				return RF_STATUS_ENOMEM;
			vma_start_write(vma);
			tw_flags_write(vma, flags);
			changed++;
		}
		cur = e;
	}
	return changed ? RF_STATUS_OK : RF_STATUS_NOOP;
}

static uint32_t op_rmap(struct tw_world *w, struct tw_mm *mm,
			const struct rf_op *op)
{
	struct tw_folio *folio;

	if (!vma_lookup(&mm->mm, op->a))
		return RF_STATUS_EINVAL;
	folio = tw_pte_folio(mm, op->a & PAGE_MASK);
	if (!folio)
		return RF_STATUS_NOOP;
	if (!tw_live(folio->anon_vma, RF_SITE_ANON_VMA)) {
		hits_push(&w->rmap_hits, (struct rf_hit){ .mm = UINT32_MAX });
		return RF_STATUS_OK;
	}
	tw_collect_rmap_hits(folio, &w->rmap_hits);
	return RF_STATUS_OK;
}

/*
 * A walker of one page, run whole (this world does not race): migration
 * and folio_referenced report where the page is mapped, as the rmap walk
 * does; reclaim unmaps it at every mapping the walk found and reports
 * none.
 */
static uint32_t op_walker(struct tw_world *w, struct tw_mm *mm,
			  const struct rf_op *op)
{
	uint32_t status = op_rmap(w, mm, op);
	size_t i;

	if (op->kind != RF_OP_RECLAIM || status != RF_STATUS_OK)
		return status;
	for (i = 0; i < w->rmap_hits.n; i++) {
		struct rf_hit hit = w->rmap_hits.v[i];
		struct tw_mm *where = hit.mm == UINT32_MAX ? NULL : find_mm(w, hit.mm);

		if (where)
			tw_pte_unmap(where, hit.addr);
	}
	w->rmap_hits.n = 0;
	return status;
}

static uint32_t apply_op(struct tw_world *w, const struct rf_op *op)
{
	struct tw_mm *mm = find_mm(w, op->mm);

	if (!mm)
		return RF_STATUS_EINVAL;
	current->mm = &mm->mm;
	switch (op->kind) {
	case RF_OP_MMAP:
		return op_mmap(mm, op);
	case RF_OP_FAULT:
		return op_fault(mm, op);
	case RF_OP_FORK:
		return op_fork(w, mm);
	case RF_OP_SPLIT:
		return op_split(mm, op);
	case RF_OP_MERGE:
		return op_merge(mm, op);
	case RF_OP_MREMAP:
		return op_mremap(mm, op);
	case RF_OP_MUNMAP:
		return op_munmap(mm, op);
	case RF_OP_MADVISE:
		return op_madvise(mm, op);
	case RF_OP_EXIT:
		tear_down(mm);
		mm_list_del(w, mm);
		mm_free(mm);
		return RF_STATUS_OK;
	case RF_OP_RMAP:
		return op_rmap(w, mm, op);
	case RF_OP_RECLAIM:
	case RF_OP_MIGRATE:
	case RF_OP_REFERENCED:
		return op_walker(w, mm, op);
	}
	return RF_STATUS_EINVAL;
}

static void tw_apply(void *world, const struct rf_op *op, uint32_t fail_nth,
		     bool fail_and_later, struct rf_outcome *out)
{
	struct tw_world *w = world;

	tw_current = w;
	w->fail_nth = fail_nth;
	w->fail_and_later = fail_and_later;
	w->nr_attempts = 0;
	w->rmap_hits.n = 0;

	w->nr_preallocs = 0;
	w->maple_failed = false;
	out->status = apply_op(w, op);
	out->maple_failed = w->maple_failed;
	tw_locks_op_end(w);

	w->fail_nth = 0;
	w->maple_nth = 0;
	out->nr_allocs = w->nr_attempts;
	memcpy(out->allocs, w->attempts, min(w->nr_attempts, (uint32_t)RF_MAX_ALLOCS));
	out->nr_hits = w->rmap_hits.n;
	out->hits = w->rmap_hits.v;
	tw_current = NULL;
}

static void tw_fail_maple(void *world, uint32_t nth)
{
	struct tw_world *w = world;

	w->maple_nth = nth;
}
