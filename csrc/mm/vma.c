// SPDX-License-Identifier: GPL-2.0
/*
 * The VMA layer around the anon_vma core, after mm/vma.c of Linux 7.2:
 * lookup, split, the two kinds of merge (an existing range whose flags
 * change, and a new range from mmap or mremap), flag changes and munmap.
 * The maple tree is a sorted list; file, policy, uffd and THP concerns are
 * gone because every VMA is private anonymous memory.
 */
#include <linux/mm.h>
#include <linux/rmap.h>

#include "internal.h"

/* ---- Lookup and linkage ------------------------------------------------ */

struct vm_area_struct *vma_next(struct vm_area_struct *vma)
{
	if (vma->vm_list.next == &vma->vm_mm->mmap)
		return NULL;
	return list_next_entry(vma, vm_list);
}

struct vm_area_struct *vma_prev(struct vm_area_struct *vma)
{
	if (vma->vm_list.prev == &vma->vm_mm->mmap)
		return NULL;
	return list_prev_entry(vma, vm_list);
}

/* The VMA containing @addr, if any. */
struct vm_area_struct *vma_lookup(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *vma;

	list_for_each_entry(vma, &mm->mmap, vm_list) {
		if (addr < vma->vm_start)
			return NULL;
		if (addr < vma->vm_end)
			return vma;
	}
	return NULL;
}

/* The lowest VMA overlapping [start, end), if any. */
struct vm_area_struct *vma_first_in_range(struct mm_struct *mm,
					  unsigned long start,
					  unsigned long end)
{
	struct vm_area_struct *vma;

	if (start >= end)
		return NULL;
	list_for_each_entry(vma, &mm->mmap, vm_list) {
		if (vma->vm_start >= end)
			return NULL;
		if (vma->vm_end > start)
			return vma;
	}
	return NULL;
}

bool range_is_free(struct mm_struct *mm, unsigned long start,
		   unsigned long end, struct vm_area_struct *ignore)
{
	struct vm_area_struct *vma;

	list_for_each_entry(vma, &mm->mmap, vm_list) {
		if (vma == ignore)
			continue;
		if (vma->vm_start < end && vma->vm_end > start)
			return false;
	}
	return true;
}

/* Make @vma part of @mm, in address order. */
void vma_link(struct mm_struct *mm, struct vm_area_struct *vma)
{
	struct vm_area_struct *pos;

	vma->vm_mm = mm;
	list_for_each_entry(pos, &mm->mmap, vm_list) {
		if (pos->vm_start > vma->vm_start)
			break;
	}
	list_add_tail(&vma->vm_list, &pos->vm_list);
	mm->map_count++;
	vma_mark_attached(vma);
}

void vma_unlink(struct vm_area_struct *vma)
{
	vma_mark_detached(vma);
	list_del(&vma->vm_list);
	vma->vm_mm->map_count--;
}

void remove_vma(struct vm_area_struct *vma)
{
	vm_area_free(vma);
}

/* ---- anon_vma compatibility ------------------------------------------- */

/* Has this VMA's anon_vma state come through a fork? */
static bool vma_is_fork_child(struct vm_area_struct *vma)
{
	return vma && vma->anon_vma && !list_is_singular(&vma->anon_vma_chain);
}

/*
 * May @tgt absorb a range whose anon_vma is @src_anon (@src: the existing
 * VMA being merged, @copied_from: the VMA mremap is moving)? A VMA that
 * went through fork shares neither its own anon_vma nor takes another's,
 * which keeps every VMA of one anon_vma on the same set of anon_vmas.
 */
static bool is_mergeable_anon_vma(struct vm_area_struct *tgt,
				  struct anon_vma *src_anon,
				  struct vm_area_struct *src,
				  struct vm_area_struct *copied_from)
{
	struct anon_vma *tgt_anon = tgt->anon_vma;

	VM_WARN_ON(src && src_anon != src->anon_vma);

	/* tgt will be given src's anon_vma by dup_anon_vma(). */
	if (!tgt_anon && src_anon)
		return !vma_is_fork_child(src) &&
		       !vma_is_fork_child(copied_from);
	/* The range will simply use tgt's anon_vma. */
	if (tgt_anon && !src_anon)
		return !vma_is_fork_child(tgt);
	return src_anon == tgt_anon;
}

/*
 * Adjacent, same flags, and linear in pgoff (7.3: in the anonymous page
 * offset too): may @a and @b share?
 */
static bool anon_vma_compatible(struct vm_area_struct *a,
				struct vm_area_struct *b)
{
	return a->vm_end == b->vm_start &&
	       a->vm_flags == b->vm_flags &&
	       b->vm_pgoff == a->vm_pgoff + vma_pages(a) &&
	       (!current_anon_vma_core()->anon_pgoff ||
		vma_start_anon_pgoff(b) ==
			vma_start_anon_pgoff(a) + vma_pages(a));
}

static struct anon_vma *reusable_anon_vma(struct vm_area_struct *old,
					  struct vm_area_struct *a,
					  struct vm_area_struct *b)
{
	if (anon_vma_compatible(a, b)) {
		struct anon_vma *anon_vma = READ_ONCE(old->anon_vma);

		/* Never share an anon_vma whose VMA carries fork history. */
		if (anon_vma && list_is_singular(&old->anon_vma_chain))
			return anon_vma;
	}
	return NULL;
}

/*
 * On first fault, prefer a neighbour's anon_vma: faults after a split by
 * mprotect would otherwise leave pieces that can never merge back.
 */
struct anon_vma *find_mergeable_anon_vma(struct vm_area_struct *vma)
{
	struct vm_area_struct *next = vma_next(vma);
	struct vm_area_struct *prev = vma_prev(vma);
	struct anon_vma *anon_vma = NULL;

	if (next) {
		anon_vma = reusable_anon_vma(next, vma, next);
		if (anon_vma)
			return anon_vma;
	}
	if (prev)
		anon_vma = reusable_anon_vma(prev, prev, vma);
	return anon_vma;
}

/*
 * A range change of @vma and, optionally, of its neighbour @adjust, done
 * with their AVCs out of the trees (vma_prepare/vma_complete).
 */
struct vma_change {
	struct vm_area_struct *vma;
	unsigned long start, end;
	pgoff_t pgoff, anon_pgoff;
	struct vm_area_struct *adjust;
	unsigned long adj_start, adj_end;
	pgoff_t adj_pgoff, adj_anon_pgoff;
};

/*
 * Both page offsets of a changed range, @delta pages from those of @ref
 * (the kernel computes each from its own kind of offset, never one from
 * the other).
 */
static void offsets_from(pgoff_t *pgoff, pgoff_t *anon_pgoff,
			 const struct vm_area_struct *ref, long delta)
{
	*pgoff = ref->vm_pgoff + delta;
	*anon_pgoff = vma_start_anon_pgoff(ref) + delta;
}

static void vma_set_range(struct vm_area_struct *vma, unsigned long start,
			  unsigned long end, pgoff_t pgoff, pgoff_t anon_pgoff)
{
	vma->vm_start = start;
	vma->vm_end = end;
	vma->vm_pgoff = pgoff;
	vma_set_anon_pgoff(vma, anon_pgoff);
}

static void commit_vma_change(const struct vma_change *c)
{
	struct anon_vma *anon_vma = c->vma->anon_vma;

	if (!anon_vma && c->adjust)
		anon_vma = c->adjust->anon_vma;
	VM_WARN_ON(anon_vma && c->adjust && c->adjust->anon_vma &&
		   anon_vma != c->adjust->anon_vma);

	if (anon_vma) {
		anon_vma_lock_write(anon_vma);
		anon_vma_interval_tree_pre_update_vma(c->vma);
		if (c->adjust)
			anon_vma_interval_tree_pre_update_vma(c->adjust);
	}
	vma_set_range(c->vma, c->start, c->end, c->pgoff, c->anon_pgoff);
	if (c->adjust)
		vma_set_range(c->adjust, c->adj_start, c->adj_end,
			      c->adj_pgoff, c->adj_anon_pgoff);
	if (anon_vma) {
		anon_vma_interval_tree_post_update_vma(c->vma);
		if (c->adjust)
			anon_vma_interval_tree_post_update_vma(c->adjust);
		anon_vma_unlock_write(anon_vma);
	}
}

/* A merge has absorbed @remove into @vma: drop its links and free it. */
static void vma_remove_merged(struct vm_area_struct *vma,
			      struct vm_area_struct *remove)
{
	vma_unlink(remove);
	if (remove->anon_vma)
		unlink_merged_vma(vma, remove);
	remove_vma(remove);
}

/*
 * The destination of a merge has no anon_vma but the source has: the
 * merged range must stay reachable from the source's anon_vma.
 */
static int dup_anon_vma(struct vm_area_struct *dst, struct vm_area_struct *src)
{
	if (src->anon_vma && !dst->anon_vma) {
		dst->anon_vma = src->anon_vma;
		return anon_vma_clone(dst, src, VMA_OP_MERGE_UNFAULTED);
	}
	return 0;
}

/* ---- Split -------------------------------------------------------------- */

/*
 * Split @vma at @addr. The new VMA is the lower part when @new_below is
 * set, the upper part otherwise; it gets a clone of @vma's links, and @vma
 * is re-keyed for its smaller range.
 */
int __split_vma(struct vm_area_struct *vma, unsigned long addr, int new_below)
{
	struct vma_change change = { .vma = vma };
	struct vm_area_struct *new;
	int err;

	WARN_ON(vma->vm_start >= addr);
	WARN_ON(vma->vm_end <= addr);

	new = vm_area_dup(vma);
	if (!new)
		return -ENOMEM;

	if (new_below) {
		new->vm_end = addr;
	} else {
		pgoff_t delta = (addr - vma->vm_start) >> PAGE_SHIFT;

		new->vm_start = addr;
		new->vm_pgoff += delta;
		vma_set_anon_pgoff(new, vma_start_anon_pgoff(new) + delta);
	}

	err = anon_vma_clone(new, vma, VMA_OP_SPLIT);
	if (err) {
		vm_area_free(new);
		return err;
	}

	if (new_below) {
		change.start = addr;
		change.end = vma->vm_end;
		offsets_from(&change.pgoff, &change.anon_pgoff, vma,
			     (addr - new->vm_start) >> PAGE_SHIFT);
	} else {
		change.start = vma->vm_start;
		change.end = addr;
		offsets_from(&change.pgoff, &change.anon_pgoff, vma, 0);
	}
	commit_vma_change(&change);
	vma_link(vma->vm_mm, new);
	return 0;
}

/* ---- Merge of an existing range --------------------------------------- */

/*
 * [start, end) of @middle is about to carry @vm_flags: merge it into the
 * VMA before and/or after when they are compatible. Returns the VMA that
 * now covers the range, or NULL with *err == 0 when nothing merged, or NULL
 * with *err < 0 when the anon_vma duplication failed (nothing changed).
 */
struct vm_area_struct *vma_merge_existing_range(struct vm_area_struct *middle,
						unsigned long start,
						unsigned long end,
						vm_flags_t vm_flags, int *err)
{
	struct vm_area_struct *prev = vma_prev(middle);
	struct vm_area_struct *next = vma_next(middle);
	struct anon_vma *src_anon = middle->anon_vma;
	pgoff_t pgoff = middle->vm_pgoff + PHYS_PFN(start - middle->vm_start);
	bool left_side = start == middle->vm_start;
	bool right_side = end == middle->vm_end;
	struct vm_area_struct *target, *dup_src;
	struct vm_area_struct *remove = NULL, *remove2 = NULL;
	struct vma_change change = { 0 };
	bool merge_left, merge_right, remove_middle;

	mmap_assert_write_locked(middle->vm_mm);
	*err = 0;
	if (!left_side && !right_side)
		return NULL;

	merge_left = left_side && prev && prev->vm_end == start &&
		     prev->vm_flags == vm_flags &&
		     is_mergeable_anon_vma(prev, src_anon, middle, NULL) &&
		     prev->vm_pgoff + vma_pages(prev) == pgoff;
	merge_right = right_side && next && next->vm_start == end &&
		      next->vm_flags == vm_flags &&
		      is_mergeable_anon_vma(next, src_anon, middle, NULL) &&
		      next->vm_pgoff == pgoff + PHYS_PFN(end - start);
	/* Both neighbours may suit the range and still not suit each other. */
	if (merge_left && merge_right && prev->anon_vma && next->anon_vma &&
	    prev->anon_vma != next->anon_vma)
		merge_right = false;
	if (!merge_left && !merge_right)
		return NULL;

	remove_middle = left_side && right_side;
	if (merge_left && merge_right) {
		/* prev absorbs middle and next. */
		target = prev;
		dup_src = next->anon_vma ? next : middle;
		change.vma = prev;
		change.start = prev->vm_start;
		change.end = next->vm_end;
		offsets_from(&change.pgoff, &change.anon_pgoff, prev, 0);
		remove = middle;
		remove2 = next;
	} else if (merge_left) {
		/* prev grows over the start of middle, or all of it. */
		target = prev;
		dup_src = middle;
		change.vma = prev;
		change.start = prev->vm_start;
		change.end = end;
		offsets_from(&change.pgoff, &change.anon_pgoff, prev, 0);
		if (remove_middle) {
			remove = middle;
		} else {
			change.adjust = middle;
			change.adj_start = end;
			change.adj_end = middle->vm_end;
			offsets_from(&change.adj_pgoff, &change.adj_anon_pgoff,
				     middle, PHYS_PFN(end - middle->vm_start));
		}
	} else {
		/* next grows down over the end of middle, or all of it. */
		target = next;
		dup_src = middle;
		if (remove_middle) {
			change.vma = next;
			change.start = middle->vm_start;
			change.end = next->vm_end;
			offsets_from(&change.pgoff, &change.anon_pgoff, next,
				     -(long)vma_pages(middle));
			remove = middle;
		} else {
			change.vma = middle;
			change.start = middle->vm_start;
			change.end = start;
			offsets_from(&change.pgoff, &change.anon_pgoff, middle, 0);
			change.adjust = next;
			change.adj_start = start;
			change.adj_end = next->vm_end;
			offsets_from(&change.adj_pgoff, &change.adj_anon_pgoff,
				     next, -(long)PHYS_PFN(next->vm_start - start));
		}
	}

	*err = dup_anon_vma(target, dup_src);
	if (*err)
		return NULL;

	commit_vma_change(&change);
	if (remove)
		vma_remove_merged(change.vma, remove);
	if (remove2)
		vma_remove_merged(change.vma, remove2);
	return target;
}

/* ---- Merge of a new range --------------------------------------------- */

/*
 * A new range [start, end) with @vm_flags and @pgoff is about to appear
 * (mmap), or to receive the contents of @copied_from (mremap): expand a
 * neighbour over it instead when possible, absorbing the next VMA too when
 * the range closes a hole. Same return convention as above.
 */
struct vm_area_struct *vma_merge_new_range(struct mm_struct *mm,
					   unsigned long start,
					   unsigned long end,
					   vm_flags_t vm_flags, pgoff_t pgoff,
					   pgoff_t anon_pgoff,
					   struct vm_area_struct *copied_from,
					   int *err)
{
	struct anon_vma *src_anon = copied_from ? copied_from->anon_vma : NULL;
	struct vm_area_struct *prev = NULL, *next = NULL, *vma, *target;
	struct vma_change change = { 0 };
	bool can_left, can_right, remove_next;

	mmap_assert_write_locked(mm);
	*err = 0;
	list_for_each_entry(vma, &mm->mmap, vm_list) {
		if (vma->vm_start >= end) {
			next = vma;
			break;
		}
		prev = vma;
	}
	can_left = prev && prev->vm_end == start &&
		   prev->vm_flags == vm_flags &&
		   is_mergeable_anon_vma(prev, src_anon, NULL, copied_from) &&
		   prev->vm_pgoff + vma_pages(prev) == pgoff;
	can_right = next && next->vm_start == end &&
		    next->vm_flags == vm_flags &&
		    is_mergeable_anon_vma(next, src_anon, NULL, copied_from) &&
		    next->vm_pgoff == pgoff + PHYS_PFN(end - start);
	if (can_left && can_right && prev->anon_vma && next->anon_vma &&
	    prev->anon_vma != next->anon_vma)
		can_right = false;
	if (!can_left && !can_right)
		return NULL;

	target = can_left ? prev : next;
	remove_next = can_left && can_right;
	change.vma = target;
	if (can_left) {
		change.start = prev->vm_start;
		change.end = remove_next ? next->vm_end : end;
		offsets_from(&change.pgoff, &change.anon_pgoff, prev, 0);
	} else {
		change.start = start;
		change.end = next->vm_end;
		change.pgoff = pgoff;
		change.anon_pgoff = anon_pgoff;
	}

	/* vma_expand(): the target takes over the anon_vma it must cover. */
	if (remove_next)
		*err = dup_anon_vma(target, next);
	if (!*err && copied_from)
		*err = dup_anon_vma(target, copied_from);
	if (*err)
		return NULL;

	commit_vma_change(&change);
	if (remove_next)
		vma_remove_merged(target, next);
	return target;
}

/* ---- Flag changes and unmapping --------------------------------------- */

/*
 * Give [start, end) of @vma the flags @new_flags: merge with a neighbour if
 * one matches, otherwise split off what lies outside the range. A failed
 * second split leaves the first one in place, as the kernel does.
 */
int vma_modify_flags(struct vm_area_struct *vma, unsigned long start,
		     unsigned long end, vm_flags_t new_flags)
{
	struct vm_area_struct *merged;
	int err;

	merged = vma_merge_existing_range(vma, start, end, new_flags, &err);
	if (merged || err)
		return err;

	if (vma->vm_start < start) {
		err = __split_vma(vma, start, 1);
		if (err)
			return err;
	}
	if (vma->vm_end > end) {
		err = __split_vma(vma, end, 0);
		if (err)
			return err;
	}
	vma->vm_flags = new_flags;
	return 0;
}

/*
 * Unmap [start, start + len): split the VMAs straddling either edge, then
 * drop the pages, the anon_vma links and the VMAs. If the split at the end
 * fails, the one at the start stays (vms_gather_munmap_vmas).
 */
int do_munmap(struct mm_struct *mm, unsigned long start, unsigned long len)
{
	unsigned long end = start + len;
	struct vm_area_struct *vma, *next;
	LIST_HEAD(detached);
	int err;

	/* Steps as a race may see them: two splits, the detach, each unlink. */
	sched_step();
	vma = vma_first_in_range(mm, start, end);
	if (!vma)
		return 0;

	if (start > vma->vm_start) {
		err = __split_vma(vma, start, 1);
		if (err)
			return err;
	}
	sched_step();
	for (; vma && vma->vm_start < end; vma = vma_next(vma)) {
		if (vma->vm_end > end) {
			err = __split_vma(vma, end, 0);
			if (err)
				return err;
		}
	}

	sched_step();
	while ((vma = vma_first_in_range(mm, start, end))) {
		vma_unlink(vma);
		list_add_tail(&vma->vm_list, &detached);
	}
	pte_clear_range(mm, start, end);
	list_for_each_entry(vma, &detached, vm_list) {
		sched_step();
		unlink_anon_vmas(vma);
	}
	list_for_each_entry_safe(vma, next, &detached, vm_list) {
		list_del(&vma->vm_list);
		remove_vma(vma);
	}
	return 0;
}
