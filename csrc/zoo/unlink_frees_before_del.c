// SPDX-License-Identifier: GPL-2.0
/*
 * unlink-frees-before-del (ours): unlink_anon_vmas() frees an AVC it
 * kept for the release, then takes it off the VMA's chain. list_del()
 * reads the freed AVC's links and poisons them: a write to freed memory.
 * The chain's neighbours are relinked from what the freed AVC still
 * holds, so the state comes out right and no contract or comparison sees
 * it; only the slab's quarantine does (and ASan, in the fuzzers).
 */
#define ANON_VMA_CORE_NAME	"unlink-frees-before-del"
#define ANON_VMA_CORE_TABLE	unlink_frees_before_del_anon_vma_core
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
			anon_vma->parent->num_children--;
			continue;
		}
		list_del(&avc->same_vma);
		anon_vma_chain_free(avc);
	}
	active_anon_vma->num_active_vmas--;
	vma->anon_vma = NULL;
	anon_vma_unlock_write(active_anon_vma);

	list_for_each_entry_safe(avc, next, &vma->anon_vma_chain, same_vma) {
		struct anon_vma *anon_vma = avc->anon_vma;

		VM_WARN_ON(anon_vma->num_children);
		VM_WARN_ON(anon_vma->num_active_vmas);
		put_anon_vma(anon_vma);

		/* The defect: freed first, unlinked after. */
		anon_vma_chain_free(avc);
		list_del(&avc->same_vma);
	}
}
