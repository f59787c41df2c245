/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mm-internal interfaces of the model, as in the kernel's mm/internal.h,
 * plus the switch that lets one build carry several anon_vma cores.
 */
#ifndef __MM_INTERNAL_H
#define __MM_INTERNAL_H

#include <linux/mm.h>
#include <linux/rmap.h>
#include <rmapfuzz/anon_vma_core.h>
#include <rmapfuzz/world.h>

#include "interval_tree.h"

/* Operations which modify VMAs, as passed to anon_vma_clone(). */
enum vma_operation {
	VMA_OP_SPLIT = RF_CLONE_SPLIT,
	VMA_OP_MERGE_UNFAULTED = RF_CLONE_MERGE_UNFAULTED,
	VMA_OP_REMAP = RF_CLONE_REMAP,
	VMA_OP_FORK = RF_CLONE_FORK,
};

extern const struct anon_vma_core mainline_anon_vma_core;
extern const struct anon_vma_core pre_series_anon_vma_core;
extern const struct anon_vma_core anon_pgoff_anon_vma_core;
/* The bug zoo (csrc/zoo/). */
extern const struct anon_vma_core v2_fork_enomem_anon_vma_core;
extern const struct anon_vma_core v3_as_posted_anon_vma_core;
extern const struct anon_vma_core degree_double_reuse_anon_vma_core;
extern const struct anon_vma_core reuse_on_split_anon_vma_core;
extern const struct anon_vma_core unlocked_insert_anon_vma_core;
extern const struct anon_vma_core stale_pgoff_anon_vma_core;
extern const struct anon_vma_core unlink_wrong_parent_anon_vma_core;
extern const struct anon_vma_core fork_pins_parent_anon_vma_core;
extern const struct anon_vma_core prepare_counts_new_only_anon_vma_core;
extern const struct anon_vma_core reuse_two_children_anon_vma_core;
extern const struct anon_vma_core fork_counts_unlocked_anon_vma_core;
extern const struct anon_vma_core prepare_shares_fork_child_anon_vma_core;
extern const struct anon_vma_core locks_own_rwsem_anon_vma_core;
extern const struct anon_vma_core anon_pgoff_low_half_anon_vma_core;
extern const struct anon_vma_core unlink_frees_before_del_anon_vma_core;
/* The race zoo: defects of the read side, seen only when threads race. */
extern const struct anon_vma_core walk_unlocked_anon_vma_core;
extern const struct anon_vma_core free_without_wait_anon_vma_core;
extern const struct anon_vma_core get_anon_vma_plain_inc_anon_vma_core;
extern const struct anon_vma_core lock_read_no_recheck_anon_vma_core;
extern const struct anon_vma_core walk_own_rwsem_anon_vma_core;
extern const struct anon_vma_core publish_without_release_anon_vma_core;

/*
 * The core of the world the current thread is working on: the table every
 * caller goes through (chosen by whoever set up the world).
 */
static inline const struct anon_vma_core *current_anon_vma_core(void)
{
	return current_world->core;
}

/* Our layout of struct anon_vma_chain, which every core must share. */
void our_avc_layout(struct avc_layout *out);

#ifndef ANON_VMA_CORE_IMPL
/*
 * What the callers see: the current world's core, through its table. A
 * core's own files (ANON_VMA_CORE_IMPL) call their functions directly.
 * Each call is a checkpoint of the lock checker (linux/lockdep.h), and
 * asserts the mmap_lock the kernel's callers hold: a VMA's chain changes
 * only under its mm's lock.
 */
static inline int anon_vma_prepare(struct vm_area_struct *vma)
{
	const char *outer;
	int ret;

	if (likely(vma->anon_vma))
		return 0;
	mmap_assert_locked(vma->vm_mm);
	outer = lockdep_core_enter("__anon_vma_prepare");
	ret = current_anon_vma_core()->prepare(vma);
	lockdep_core_exit(outer);
	return ret;
}

static inline int anon_vma_clone(struct vm_area_struct *dst,
				 struct vm_area_struct *src,
				 enum vma_operation operation)
{
	const char *outer;
	int ret;

	mmap_assert_write_locked(src->vm_mm);
	mmap_assert_write_locked(dst->vm_mm);
	outer = lockdep_core_enter("anon_vma_clone");
	ret = current_anon_vma_core()->clone(dst, src,
					     (enum rf_clone_op)operation);
	lockdep_core_exit(outer);
	return ret;
}

static inline int anon_vma_fork(struct vm_area_struct *vma,
				struct vm_area_struct *pvma)
{
	const char *outer;
	int ret;

	mmap_assert_write_locked(pvma->vm_mm);
	mmap_assert_write_locked(vma->vm_mm);
	outer = lockdep_core_enter("anon_vma_fork");
	ret = current_anon_vma_core()->fork(vma, pvma);
	lockdep_core_exit(outer);
	return ret;
}

static inline void unlink_anon_vmas(struct vm_area_struct *vma)
{
	const char *outer;

	mmap_assert_locked(vma->vm_mm);
	outer = lockdep_core_enter("unlink_anon_vmas");
	current_anon_vma_core()->unlink(vma);
	lockdep_core_exit(outer);
}

static inline void unlink_merged_vma(struct vm_area_struct *vma,
				     struct vm_area_struct *remove)
{
	const char *outer;

	mmap_assert_write_locked(vma->vm_mm);
	outer = lockdep_core_enter("unlink_anon_vmas");
	current_anon_vma_core()->unlink_merged(vma, remove);
	lockdep_core_exit(outer);
}

static inline void anon_vma_interval_tree_pre_update_vma(struct vm_area_struct *vma)
{
	current_anon_vma_core()->pre_update_vma(vma);
}

static inline void anon_vma_interval_tree_post_update_vma(struct vm_area_struct *vma)
{
	current_anon_vma_core()->post_update_vma(vma);
}

static inline struct rb_root_cached *anon_vma_tree(struct anon_vma *anon_vma)
{
	return current_anon_vma_core()->tree(anon_vma);
}

/*
 * The anonymous page offset (Linux 7.3) as the callers see it: through the
 * current core's own helpers when it brings them (a 7.3 tree's), else the
 * harness's. Every caller keeps it, whatever the core's generation.
 */
static inline pgoff_t vma_start_anon_pgoff(const struct vm_area_struct *vma)
{
	const struct anon_vma_core *core = current_anon_vma_core();

	if (core->start_anon_pgoff)
		return core->start_anon_pgoff(vma);
	return vma_stored_anon_pgoff(vma);
}

static inline void vma_set_anon_pgoff(struct vm_area_struct *vma, pgoff_t pgoff)
{
	const struct anon_vma_core *core = current_anon_vma_core();

	if (core->set_anon_pgoff) {
		core->set_anon_pgoff(vma, pgoff);
		return;
	}
	vma->__vm_anon_pgoff_hi = pgoff >> 32;
	vma->__vm_anon_pgoff_lo = (unsigned int)pgoff;
}

/* The index a new anonymous page at @address of @vma gets. */
static inline pgoff_t anon_page_index(const struct vm_area_struct *vma,
				      unsigned long address)
{
	const struct anon_vma_core *core = current_anon_vma_core();

	if (!core->anon_pgoff)
		return linear_page_index(vma, address);
	if (core->anon_page_index)
		return core->anon_page_index(vma, address);
	return vma_start_anon_pgoff(vma) +
	       ((address - vma->vm_start) >> PAGE_SHIFT);
}

/* Where @vma maps the anonymous page of index @pgoff, or -EFAULT. */
static inline unsigned long anon_page_address(const struct vm_area_struct *vma,
					      pgoff_t pgoff)
{
	const struct anon_vma_core *core = current_anon_vma_core();
	pgoff_t first;
	unsigned long address;

	if (core->anon_pgoff && core->anon_address)
		return core->anon_address(vma, pgoff);
	first = core->anon_pgoff ? vma_start_anon_pgoff(vma) : vma->vm_pgoff;
	if (pgoff < first)
		return (unsigned long)-EFAULT;
	address = vma->vm_start + ((pgoff - first) << PAGE_SHIFT);
	if (address < vma->vm_start || address >= vma->vm_end)
		return (unsigned long)-EFAULT;
	return address;
}

/*
 * The first pgoff @vma's AVCs must be filed under, read from the VMA the
 * harness's way (not through the core's helpers): what trees are keyed by
 * in our interval tree, and what the checks expect of any core's.
 */
static inline pgoff_t avc_key_start(const struct vm_area_struct *vma)
{
	if (current_anon_vma_core()->anon_pgoff)
		return vma_stored_anon_pgoff(vma);
	return vma->vm_pgoff;
}

static inline pgoff_t avc_key_last(const struct vm_area_struct *vma)
{
	return avc_key_start(vma) + vma_pages(vma) - 1;
}

/* A stabbing query of @anon_vma's tree: the core's own when it has one. */
static inline struct anon_vma_chain *
anon_vma_tree_first(struct anon_vma *anon_vma, pgoff_t start, pgoff_t last)
{
	const struct anon_vma_core *core = current_anon_vma_core();

	if (core->tree_first)
		return core->tree_first(anon_vma, start, last);
	return anon_vma_interval_tree_iter_first(core->tree(anon_vma), start, last);
}

static inline struct anon_vma_chain *
anon_vma_tree_next(struct anon_vma_chain *avc, pgoff_t start, pgoff_t last)
{
	const struct anon_vma_core *core = current_anon_vma_core();

	if (core->tree_next)
		return core->tree_next(avc, start, last);
	return anon_vma_interval_tree_iter_next(avc, start, last);
}

#define anon_vma_tree_foreach(avc, anon_vma, start, last)		\
	for (avc = anon_vma_tree_first(anon_vma, start, last); avc;	\
	     avc = anon_vma_tree_next(avc, start, last))

/* Macros, so that lock tracking records the caller's file and line. */
#define anon_vma_lock_write(av)	 down_write(current_anon_vma_core()->family_lock(av))
#define anon_vma_unlock_write(av) up_write(current_anon_vma_core()->family_lock(av))
#define anon_vma_lock_read(av)	 down_read(current_anon_vma_core()->family_lock(av))
#define anon_vma_unlock_read(av)  up_read(current_anon_vma_core()->family_lock(av))
#endif /* ANON_VMA_CORE_IMPL */

/* mm/vma.c */
struct anon_vma *find_mergeable_anon_vma(struct vm_area_struct *vma);
struct vm_area_struct *vma_lookup(struct mm_struct *mm, unsigned long addr);
struct vm_area_struct *vma_first_in_range(struct mm_struct *mm,
					  unsigned long start,
					  unsigned long end);
struct vm_area_struct *vma_next(struct vm_area_struct *vma);
struct vm_area_struct *vma_prev(struct vm_area_struct *vma);
bool range_is_free(struct mm_struct *mm, unsigned long start,
		   unsigned long end, struct vm_area_struct *ignore);
void vma_link(struct mm_struct *mm, struct vm_area_struct *vma);
void vma_unlink(struct vm_area_struct *vma);
int __split_vma(struct vm_area_struct *vma, unsigned long addr, int new_below);
struct vm_area_struct *vma_merge_existing_range(struct vm_area_struct *middle,
						unsigned long start,
						unsigned long end,
						vm_flags_t vm_flags, int *err);
struct vm_area_struct *vma_merge_new_range(struct mm_struct *mm,
					   unsigned long start,
					   unsigned long end,
					   vm_flags_t vm_flags, pgoff_t pgoff,
					   pgoff_t anon_pgoff,
					   struct vm_area_struct *copied_from,
					   int *err);
int vma_modify_flags(struct vm_area_struct *vma, unsigned long start,
		     unsigned long end, vm_flags_t new_flags);
void remove_vma(struct vm_area_struct *vma);
int do_munmap(struct mm_struct *mm, unsigned long start, unsigned long len);

/* mm/memory.c */
struct folio *folio_alloc(void);
void folio_put(struct folio *folio);
void folio_pin(struct folio *folio);
void folio_unpin(struct folio *folio);
#define folio_lock(folio)	down_write(&(folio)->lock)
#define folio_unlock(folio)	up_write(&(folio)->lock)
struct folio *pte_folio(struct mm_struct *mm, unsigned long addr);
struct folio *pte_next(struct mm_struct *mm, unsigned long *addr,
		       unsigned long end);
void pte_install(struct mm_struct *mm, unsigned long addr, struct folio *folio);
void pte_clear_range(struct mm_struct *mm, unsigned long start,
		     unsigned long end);
bool pte_clear_folio(struct mm_struct *mm, unsigned long addr,
		     struct folio *folio);
void pte_move_range(struct mm_struct *mm, unsigned long start,
		    unsigned long end, unsigned long new_start);
void pte_table_free(struct mm_struct *mm);
int handle_mm_fault(struct vm_area_struct *vma, unsigned long address,
		    bool write);

/* mm/mmap.c and kernel/fork.c */
struct mm_struct *mm_alloc(void);
void mm_free(struct mm_struct *mm);
struct mm_struct *dup_mm(struct mm_struct *oldmm, unsigned int id);
int do_mmap(struct mm_struct *mm, unsigned long addr, unsigned long len);
int dup_mmap(struct mm_struct *mm, struct mm_struct *oldmm);
void exit_mmap(struct mm_struct *mm);

/* mm/mremap.c, mm/madvise.c */
int move_vma(struct vm_area_struct *vma, unsigned long new_addr);
int do_madvise(struct mm_struct *mm, unsigned long start, unsigned long len,
	       int behavior);

/* Slab caches of each file, created once per process. */
void anon_vma_init(void);	/* our cores' (mm/rmap_common.c) */
void vm_area_cache_init(void);
void mm_cache_init(void);
void folio_cache_init(void);

/* mm/rmap_walk.c: a debugging walk, reporting each (vma, address) mapping. */
typedef void (*rmap_one_fn)(struct folio *folio, struct vm_area_struct *vma,
			    unsigned long address, void *arg);
void rmap_walk_anon(struct folio *folio, rmap_one_fn rmap_one, void *arg);
void rmap_walk_anon_locked(struct folio *folio, rmap_one_fn rmap_one, void *arg);
void folio_move_anon_rmap(struct folio *folio, struct vm_area_struct *vma);
/* The walkers of a race: reclaim, migration and folio_referenced(). */
int folio_try_to_unmap(struct folio *folio);
int folio_migrate_walk(struct folio *folio, rmap_one_fn rmap_one, void *arg);
int folio_referenced(struct folio *folio, rmap_one_fn rmap_one, void *arg);

/* mm/rmap_read.c: our read side, for cores without their own. */
struct anon_vma *rf_folio_get_anon_vma(struct folio *folio);
struct anon_vma *rf_folio_lock_anon_vma_read(struct folio *folio);
void rf_put_anon_vma(struct anon_vma *anon_vma);
void rf_rmap_walk_anon(struct folio *folio, const struct rf_walk *walk);

#ifndef ANON_VMA_CORE_IMPL
/* The read side the callers see: the core's own where it has one. */
static inline struct anon_vma *folio_get_anon_vma(struct folio *folio)
{
	const struct anon_vma_core *core = current_anon_vma_core();

	return core->walker_get ? core->walker_get(folio) :
				    rf_folio_get_anon_vma(folio);
}

static inline struct anon_vma *folio_lock_anon_vma_read(struct folio *folio)
{
	const struct anon_vma_core *core = current_anon_vma_core();

	return core->walker_lock ? core->walker_lock(folio) :
					  rf_folio_lock_anon_vma_read(folio);
}

static inline void folio_put_anon_vma(struct anon_vma *anon_vma)
{
	current_anon_vma_core()->release(anon_vma);
}

static inline void rmap_walk_folio(struct folio *folio,
				   const struct rf_walk *walk)
{
	const struct anon_vma_core *core = current_anon_vma_core();

	if (core->walker_walk)
		core->walker_walk(folio, walk);
	else
		rf_rmap_walk_anon(folio, walk);
}
#endif

#endif /* __MM_INTERNAL_H */
