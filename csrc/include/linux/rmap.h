/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_RMAP_H
#define _LINUX_RMAP_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/rbtree.h>
#include <linux/rwsem.h>

/*
 * struct anon_vma is opaque here: each anon_vma core defines its own
 * (mm/anon_vma.h for ours, the kernel's for an extracted core), and code
 * outside the cores reaches it through <rmapfuzz/anon_vma_core.h>.
 */
struct anon_vma;

#ifndef RMAPFUZZ_EXTRACTED_TYPES
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
#endif /* RMAPFUZZ_EXTRACTED_TYPES */

#endif /* _LINUX_RMAP_H */
