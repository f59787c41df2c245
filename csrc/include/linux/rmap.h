/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_RMAP_H
#define _LINUX_RMAP_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/rbtree.h>
#include <linux/rwsem.h>

/*
 * An anon_vma collects the VMAs that may map a set of anonymous pages. A
 * fork family shares one root, whose rwsem serialises the whole family.
 */
struct anon_vma {
	struct anon_vma *root;
	struct rw_semaphore rwsem;
	atomic_t refcount;

	/* anon_vmas whose parent is this one; a root counts itself. */
	unsigned long num_children;
	/* VMAs whose ->anon_vma is this one. */
	unsigned long num_active_vmas;

	struct anon_vma *parent;

	/* Interval tree of anon_vma_chains, keyed by their VMA's pgoff range. */
	struct rb_root_cached rb_root;
};

/*
 * One link between a VMA and an anon_vma: on the VMA's anon_vma_chain list
 * (same_vma) and in the anon_vma's interval tree (rb).
 */
struct anon_vma_chain {
	struct vm_area_struct *vma;
	struct anon_vma *anon_vma;
	struct list_head same_vma;
	struct rb_node rb;
	unsigned long rb_subtree_last;
#ifdef CONFIG_DEBUG_VM_RB
	unsigned long cached_vma_start, cached_vma_last;
#endif
};

void anon_vma_init(void);

#endif /* _LINUX_RMAP_H */
