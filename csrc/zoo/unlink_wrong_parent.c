// SPDX-License-Identifier: GPL-2.0
/*
 * unlink-wrong-parent (ours): when an anon_vma's tree empties,
 * unlink_anon_vmas() takes the child link off its root instead of its
 * parent. Identical while every anon_vma is a root or a root's child; only
 * a grandchild family (fork of a fork, then an exit) shows it, and then as
 * a counter that is off by one - which later lets fork reuse, or refuse,
 * the wrong ancestor.
 */
#define ANON_VMA_CORE_NAME	"unlink-wrong-parent"
#define ANON_VMA_CORE_TABLE	unlink_wrong_parent_anon_vma_core
#define ZOO_REPLACES_unlink_anon_vmas

#include "zoo.h"

static void unlink_anon_vmas(struct vm_area_struct *vma);

#include "../mm/rmap.c"

static void unlink_anon_vmas(struct vm_area_struct *vma)
{
	struct anon_vma *active_anon_vma = vma->anon_vma;
	struct anon_vma_chain *avc, *next;

	mmap_assert_locked(vma->vm_mm);

	if (!active_anon_vma) {
		VM_WARN_ON_ONCE(!list_empty(&vma->anon_vma_chain));
		return;
	}

	anon_vma_lock_write(active_anon_vma);
	list_for_each_entry_safe(avc, next, &vma->anon_vma_chain, same_vma) {
		struct anon_vma *anon_vma = avc->anon_vma;

		anon_vma_interval_tree_remove(avc, &anon_vma->rb_root);
		if (RB_EMPTY_ROOT(&anon_vma->rb_root.rb_root)) {
			/* The defect: the root, not the parent, loses a child. */
			anon_vma->root->num_children--;
			continue;
		}
		list_del(&avc->same_vma);
		anon_vma_chain_free(avc);
	}
	active_anon_vma->num_active_vmas--;
	/* An unmapped-but-kept VMA faults a fresh anon_vma later. */
	vma->anon_vma = NULL;
	anon_vma_unlock_write(active_anon_vma);

	list_for_each_entry_safe(avc, next, &vma->anon_vma_chain, same_vma) {
		struct anon_vma *anon_vma = avc->anon_vma;

		VM_WARN_ON(anon_vma->num_children);
		VM_WARN_ON(anon_vma->num_active_vmas);
		put_anon_vma(anon_vma);

		list_del(&avc->same_vma);
		anon_vma_chain_free(avc);
	}
}