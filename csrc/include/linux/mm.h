/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_MM_H
#define _LINUX_MM_H

#include <linux/compiler.h>
#include <linux/errno.h>
#include <linux/gfp.h>
#include <linux/mm_types.h>
#include <linux/mmap_lock.h>
#include <linux/mmdebug.h>
#include <linux/rbtree.h>
#include <linux/slab.h>
#include <rmapfuzz/sched.h>

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1UL << PAGE_SHIFT)
#define PAGE_MASK	(~(PAGE_SIZE - 1))
#define PAGE_ALIGNED(x)	(((x) & (PAGE_SIZE - 1)) == 0)
#define PHYS_PFN(x)	((unsigned long)((x) >> PAGE_SHIFT))
#define TASK_SIZE	(1UL << 47)

/* The kernel's values for the two flags fork looks at. */
#define VM_NONE		0x00000000UL
#define VM_DONTCOPY	0x00020000UL
#define VM_WIPEONFORK	0x02000000UL

/*
 * Whether anything maps @folio: what an rmap walker re-checks to know that
 * the anon_vma it found is still the folio's. A switch point in a race.
 */
static inline bool __folio_mapped(const struct folio *folio, const char *func)
{
	sched_point(SP_ATOMIC, "folio_mapped", folio, func);
	sched_touch(folio, "reads the mapcount of", func);
	return READ_ONCE(folio->mapcount) > 0;
}

#define folio_mapped(folio)	__folio_mapped(folio, __func__)

static inline unsigned long vma_pages(const struct vm_area_struct *vma)
{
	return (vma->vm_end - vma->vm_start) >> PAGE_SHIFT;
}

static inline pgoff_t linear_page_index(const struct vm_area_struct *vma,
					unsigned long address)
{
	return vma->vm_pgoff + ((address - vma->vm_start) >> PAGE_SHIFT);
}

static inline unsigned long vma_last_pgoff(const struct vm_area_struct *vma)
{
	return vma->vm_pgoff + vma_pages(vma) - 1;
}

/* Every VMA of the model is a private anonymous mapping. */
static inline bool vma_is_anonymous(const struct vm_area_struct *vma)
{
	return !vma->vm_file;
}

static inline bool vma_is_cow_mapping(const struct vm_area_struct *vma)
{
	(void)vma;
	return true;
}

/*
 * The anonymous page offset as stored, read the harness's way: what the
 * snapshot and the checks compare a core's own helpers against.
 */
static inline pgoff_t vma_stored_anon_pgoff(const struct vm_area_struct *vma)
{
	return ((pgoff_t)vma->__vm_anon_pgoff_hi << 32) | vma->__vm_anon_pgoff_lo;
}

struct anon_vma_chain;

#define anon_vma_interval_tree_foreach(avc, root, start, last)		 \
	for (avc = anon_vma_interval_tree_iter_first(root, start, last); \
	     avc; avc = anon_vma_interval_tree_iter_next(avc, start, last))

/* VMA objects (mm/vma_init.c). */
struct vm_area_struct *vm_area_alloc(struct mm_struct *mm);
struct vm_area_struct *vm_area_dup(struct vm_area_struct *orig);
void vm_area_free(struct vm_area_struct *vma);

#endif /* _LINUX_MM_H */
