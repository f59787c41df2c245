// SPDX-License-Identifier: GPL-2.0
/*
 * The mainline anon_vma core: the "clean up anon_vma implementation" series
 * as merged, with the later fix that makes a failed clone forget the
 * anon_vma it was given (released 7.x kernels).
 *
 * What changed from the pre-series core (mm/rmap_pre_series.c):
 *  - anon_vma_clone() is told which VMA operation it serves, checks the
 *    caller's state for that operation, and only fork may reuse an
 *    ancestor anon_vma;
 *  - AVCs are allocated before anything is inserted into a tree, so a
 *    failed clone has nothing to unlink, only AVCs to free;
 *  - fork allocates its anon_vma and AVC before cloning, so a failure never
 *    hands a half-linked VMA to unlink_anon_vmas();
 *  - unfaulted VMAs are skipped outright, and the root lock is taken once.
 */
#include <linux/mm.h>
#include <linux/rmap.h>

#define ANON_VMA_CORE_IMPL
#include "internal.h"
#include "anon_vma.h"

/* The caller's side of the contract, per operation; warn, never stop. */
static void check_anon_vma_clone(struct vm_area_struct *dst,
				 struct vm_area_struct *src,
				 enum vma_operation operation)
{
	mmap_assert_write_locked(src->vm_mm);
	/* Only fork copies into another mm. */
	VM_WARN_ON_ONCE(operation != VMA_OP_FORK && dst->vm_mm != src->vm_mm);

	/* An unfaulted source has nothing to give. */
	VM_WARN_ON_ONCE(!src->anon_vma && !list_empty(&src->anon_vma_chain));
	VM_WARN_ON_ONCE(!src->anon_vma && dst->anon_vma);
	/* The destination starts with an empty chain... */
	VM_WARN_ON_ONCE(!list_empty(&dst->anon_vma_chain));
	/* ...and, if it already has an anon_vma, it is the source's. */
	VM_WARN_ON_ONCE(dst->anon_vma && dst->anon_vma != src->anon_vma);
	/* Outside fork, callers set dst->anon_vma before cloning. */
	VM_WARN_ON_ONCE(operation != VMA_OP_FORK && src->anon_vma &&
			!dst->anon_vma);
	/* Merging into an unfaulted VMA needs a source without fork history. */
	VM_WARN_ON_ONCE(operation == VMA_OP_MERGE_UNFAULTED &&
			!list_is_singular(&src->anon_vma_chain));
#ifdef CONFIG_PER_VMA_LOCK
	/* Only the merge target is already visible in its mm. */
	VM_WARN_ON_ONCE(operation != VMA_OP_MERGE_UNFAULTED &&
			vma_is_attached(dst));
#endif
}

/*
 * Fork only: adopt an ancestor that no VMA uses any more and that has at
 * most one child, instead of growing the family by one more anon_vma.
 */
#ifndef ZOO_REPLACES_maybe_reuse_anon_vma
static void maybe_reuse_anon_vma(struct vm_area_struct *dst,
				 struct anon_vma *anon_vma)
{
	if (dst->anon_vma)
		return;
	if (anon_vma->num_active_vmas > 0)
		return;
	if (anon_vma->num_children > 1)
		return;

	dst->anon_vma = anon_vma;
	anon_vma->num_active_vmas++;
}
#endif

/*
 * A clone ran out of memory before touching any tree: free the AVCs it
 * allocated and drop the anon_vma the caller lent to @vma, which never
 * counted @vma as active.
 */
#ifndef ZOO_REPLACES_cleanup_partial_anon_vmas
static void cleanup_partial_anon_vmas(struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc, *next;

	list_for_each_entry_safe(avc, next, &vma->anon_vma_chain, same_vma) {
		list_del(&avc->same_vma);
		anon_vma_chain_free(avc);
	}
	vma->anon_vma = NULL;
}
#endif

/*
 * Link @dst to every anon_vma @src is linked to. Allocation happens first,
 * lock-free: @dst is not reachable through any tree yet. Walking @src from
 * the head and adding at @dst's head leaves @dst's chain in reverse order;
 * the trees are then filled walking @dst from the tail, i.e. in @src's
 * order, which is also the order fork considers ancestors for reuse.
 */
#ifndef ZOO_REPLACES_anon_vma_clone
static int anon_vma_clone(struct vm_area_struct *dst, struct vm_area_struct *src,
			  enum vma_operation operation)
{
	struct anon_vma *active_anon_vma = src->anon_vma;
	struct anon_vma_chain *avc, *pavc;

	check_anon_vma_clone(dst, src, operation);

	if (!active_anon_vma)
		return 0;

	list_for_each_entry(pavc, &src->anon_vma_chain, same_vma) {
		avc = anon_vma_chain_alloc(GFP_KERNEL);
		if (!avc) {
			cleanup_partial_anon_vmas(dst);
			return -ENOMEM;
		}
		anon_vma_chain_assign(dst, avc, pavc->anon_vma);
	}

	/* One family, one root, one lock. */
	anon_vma_lock_write(active_anon_vma);
	list_for_each_entry_reverse(avc, &dst->anon_vma_chain, same_vma) {
		anon_vma_interval_tree_insert(avc, &avc->anon_vma->rb_root);
		if (operation == VMA_OP_FORK)
			maybe_reuse_anon_vma(dst, avc->anon_vma);
	}
	if (operation != VMA_OP_FORK)
		dst->anon_vma->num_active_vmas++;
	anon_vma_unlock_write(active_anon_vma);
	return 0;
}
#endif

/*
 * Give the child copy @vma of @pvma its links: every anon_vma of the parent
 * VMA (so rmap finds the pages still shared), plus an anon_vma of its own for
 * the pages it will copy on write - unless an ancestor can be reused.
 */
#ifndef ZOO_REPLACES_anon_vma_fork
static int anon_vma_fork(struct vm_area_struct *vma, struct vm_area_struct *pvma)
{
	struct anon_vma_chain *avc;
	struct anon_vma *anon_vma;
	int rc;

	if (!pvma->anon_vma)
		return 0;

	/* vm_area_dup() copied the parent's pointer; choose afresh. */
	vma->anon_vma = NULL;

	/* Allocate up front so that no failure follows the clone. */
	anon_vma = anon_vma_alloc();
	if (!anon_vma)
		return -ENOMEM;
	avc = anon_vma_chain_alloc(GFP_KERNEL);
	if (!avc) {
		put_anon_vma(anon_vma);
		return -ENOMEM;
	}

	rc = anon_vma_clone(vma, pvma, VMA_OP_FORK);
	if (rc || vma->anon_vma) {
		/* Failed, or reused an ancestor: the spares go back. */
		put_anon_vma(anon_vma);
		anon_vma_chain_free(avc);
		return rc;
	}

	/* Nobody can see the new anon_vma yet: no lock needed to set it up. */
	anon_vma->num_active_vmas = 1;
	anon_vma->root = pvma->anon_vma->root;
	anon_vma->parent = pvma->anon_vma;
	/* The root carries the lock, so it must outlive every member. */
	get_anon_vma(anon_vma->root);
	vma->anon_vma = anon_vma;
	anon_vma_chain_assign(vma, avc, anon_vma);

	anon_vma_lock_write(anon_vma);
	anon_vma_interval_tree_insert(avc, &anon_vma->rb_root);
	anon_vma->parent->num_children++;
	anon_vma_unlock_write(anon_vma);
	return 0;
}
#endif

/*
 * Sever @vma from every anon_vma it is linked to. An anon_vma whose tree
 * becomes empty loses its link to its parent at once, under the lock, but
 * is only released after the lock is dropped, because releasing the last
 * member of a family frees the root that holds the lock.
 */
#ifndef ZOO_REPLACES_unlink_anon_vmas
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
			/* Keep the AVC as a handle for the release below. */
			anon_vma->parent->num_children--;
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
#endif

/* A merge simply unlinks the VMA it removes. */
static void unlink_merged_vma(struct vm_area_struct *vma,
			      struct vm_area_struct *remove)
{
	(void)vma;
	unlink_anon_vmas(remove);
}

static int anon_vma_clone_op(struct vm_area_struct *dst,
			     struct vm_area_struct *src, enum rf_clone_op op)
{
	return anon_vma_clone(dst, src, (enum vma_operation)op);
}

/*
 * A zoo variant (csrc/zoo/) compiles this file again with one function
 * replaced (ZOO_REPLACES_<function> for the static ones here, ZOO_<ENTRY>
 * for the shared ones of mm/rmap_common.c) under its own name and table.
 */
#ifndef ANON_VMA_CORE_NAME
#define ANON_VMA_CORE_NAME	"mainline"
#define ANON_VMA_CORE_TABLE	mainline_anon_vma_core
#endif
#ifndef ZOO_PREPARE
#define ZOO_PREPARE		__anon_vma_prepare
#endif
#ifndef ZOO_PRE_UPDATE_VMA
#define ZOO_PRE_UPDATE_VMA	anon_vma_interval_tree_pre_update_vma
#define ZOO_POST_UPDATE_VMA	anon_vma_interval_tree_post_update_vma
#endif

const struct anon_vma_core ANON_VMA_CORE_TABLE = {
	.name			= ANON_VMA_CORE_NAME,
	.prepare		= ZOO_PREPARE,
	.clone			= anon_vma_clone_op,
	.fork			= anon_vma_fork,
	.unlink			= unlink_anon_vmas,
	.unlink_merged		= unlink_merged_vma,
	.pre_update_vma		= ZOO_PRE_UPDATE_VMA,
	.post_update_vma	= ZOO_POST_UPDATE_VMA,
	OUR_ANON_VMA_LAYOUT,
#ifdef ANON_VMA_CORE_EXTRA
	ANON_VMA_CORE_EXTRA
#endif
};
