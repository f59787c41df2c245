/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The memory descriptors of the model: just the fields the anon_vma code and
 * its callers look at, with the kernel's names. The maple tree becomes a
 * sorted list, page tables become a sorted array of (address, folio).
 */
#ifndef _LINUX_MM_TYPES_H
#define _LINUX_MM_TYPES_H

#include <linux/types.h>
#include <linux/list.h>
#include <linux/refcount.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>

struct address_space;
struct anon_vma;
struct file;
struct folio;

/* One present page-table entry. */
struct pte_entry {
	unsigned long addr;
	struct folio *folio;
};

/* The page tables of one mm, sorted by address. */
struct mm_ptes {
	struct pte_entry *entries;
	size_t nr;
	size_t cap;
};

struct mm_struct {
	unsigned int mm_id;		/* stable id used by scenarios */
	struct list_head mmap;		/* VMAs in address order */
	int map_count;
	struct rw_semaphore mmap_lock;
	spinlock_t page_table_lock;	/* taken by __anon_vma_prepare() */
	struct mm_ptes ptes;
	struct list_head mm_list;	/* the world's mms, by id */
	/* Operations of a race working on this mm (the kernel's mm_users). */
	int users;
	bool exited;
};

struct vm_area_struct {
	unsigned long vm_start;
	unsigned long vm_end;
	struct mm_struct *vm_mm;
	vm_flags_t vm_flags;
	pgoff_t vm_pgoff;
	/*
	 * The anonymous page offset (Linux 7.3): the page offset anonymous
	 * pages of this VMA are indexed and its AVCs keyed by, kept in two
	 * halves as the kernel keeps it. Every caller maintains it; only a
	 * core of that generation reads it (see anon_vma_core.h).
	 */
	unsigned int __vm_anon_pgoff_lo;
	unsigned int __vm_anon_pgoff_hi;
	struct file *vm_file;		/* always NULL: every VMA is anonymous */

	/*
	 * anon_vma: where new anonymous pages of this VMA go (NULL while
	 * unfaulted). anon_vma_chain: one AVC per anon_vma this VMA may map
	 * pages of; its order is part of the observable state.
	 */
	struct anon_vma *anon_vma;
	struct list_head anon_vma_chain;

	struct list_head vm_list;	/* position in vm_mm->mmap */
	refcount_t vm_refcnt;		/* non-zero while attached */
};

/* An order-0 anonymous folio. */
struct folio {
	/*
	 * The kernel's folio->mapping, with PAGE_MAPPING_ANON set; here
	 * untagged (the shims make the tag 0, so a tree's code that masks
	 * and subtracts it reads the same pointer).
	 */
	union {
		struct anon_vma *anon_vma;
		struct address_space *mapping;
	};
	pgoff_t index;
	int mapcount;
	/*
	 * References beyond the mappings: an rmap walker holds one, as
	 * reclaim and migration hold the page they isolated, so the folio
	 * outlives its last unmapping while they work on it.
	 */
	int pins;
	/* The folio lock: walkers hold it, and a write fault that reuses it. */
	struct rw_semaphore lock;
};

#endif /* _LINUX_MM_TYPES_H */
