// SPDX-License-Identifier: GPL-2.0
/*
 * The rmap walk and the write-fault reuse of a folio: callers of the
 * anon_vma core, shared by every core, reaching anon_vmas through the
 * core's accessors.
 */
#include <linux/mm.h>
#include <linux/rmap.h>

#include "internal.h"

/*
 * Visit every VMA that maps @folio, found through the interval tree of the
 * folio's own anon_vma, as reclaim and migration do.
 */
void rmap_walk_anon(struct folio *folio, rmap_one_fn rmap_one, void *arg)
{
	struct anon_vma *anon_vma = folio->anon_vma;
	struct anon_vma_chain *avc;
	pgoff_t pgoff = folio->index;

	if (!anon_vma)
		return;
	anon_vma_lock_read(anon_vma);
	anon_vma_tree_foreach(avc, anon_vma, pgoff, pgoff) {
		struct vm_area_struct *vma = avc->vma;
		unsigned long address = anon_page_address(vma, pgoff);

		/* The tree promised this VMA covers pgoff. */
		if (WARN_ON_ONCE(address == (unsigned long)-EFAULT))
			continue;
		rmap_one(folio, vma, address, arg);
	}
	anon_vma_unlock_read(anon_vma);
}

/* A write fault reuses an exclusive folio: new pages of the VMA go here. */
void folio_move_anon_rmap(struct folio *folio, struct vm_area_struct *vma)
{
	VM_BUG_ON_VMA(!vma->anon_vma, vma);
	WRITE_ONCE(folio->anon_vma, vma->anon_vma);
}
