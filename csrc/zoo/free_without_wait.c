// SPDX-License-Identifier: GPL-2.0
/*
 * free-without-wait (ours): anon_vma_free() hands the anon_vma back to the
 * slab at once, without first taking and dropping the root's rwsem when
 * it is held. A walker in folio_lock_anon_vma_read() may hold that rwsem
 * with no reference, relying on the folio being mapped; if the last
 * mapping goes meanwhile, the anon_vma is freed under the walker's lock.
 * Single-threaded nobody holds it then, and nothing shows.
 */
#define ANON_VMA_CORE_NAME	"free-without-wait"
#define ANON_VMA_CORE_TABLE	free_without_wait_anon_vma_core
/* Every put of this core goes through the defective free. */
#define __put_anon_vma		free_without_wait_put_anon_vma

#include "zoo.h"

#include "../mm/rmap.c"

/* The defect: no wait for a reader holding the root's rwsem. */
static void anon_vma_free_at_once(struct anon_vma *anon_vma)
{
	VM_BUG_ON(atomic_read(&anon_vma->refcount));
	anon_vma_cache_free(anon_vma);
}

void free_without_wait_put_anon_vma(struct anon_vma *anon_vma)
{
	struct anon_vma *root = anon_vma->root;

	anon_vma_free_at_once(anon_vma);
	if (root != anon_vma && atomic_dec_and_test(&root->refcount))
		anon_vma_free_at_once(root);
}
