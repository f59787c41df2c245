// SPDX-License-Identifier: GPL-2.0
/*
 * The anon_vma core as it was before the "clean up anon_vma implementation"
 * series (Linux 6.12):
 *  - anon_vma_clone() serves every caller and reuses an ancestor for any
 *    destination that arrives without an anon_vma (in practice: fork);
 *  - it allocates each AVC while holding the root lock, first without
 *    sleeping, then, after dropping the lock, with a blocking attempt;
 *  - it links as it goes, so a failure must unlink what was linked;
 *  - fork clones first and allocates its own anon_vma afterwards, unwinding
 *    a half-linked VMA with unlink_anon_vmas() when that fails;
 *  - merge removal goes through anon_vma_merge().
 */
#include <linux/mm.h>
#include <linux/rmap.h>

#define ANON_VMA_CORE_IMPL
#include "internal.h"
#include "anon_vma.h"

static void unlink_anon_vmas(struct vm_area_struct *vma);

/*
 * Lock the root of @anon_vma's family unless @root already is that lock.
 * Every anon_vma on one chain shares a root, so a switch means a bug.
 */
static struct anon_vma *lock_anon_vma_root(struct anon_vma *root,
					   struct anon_vma *anon_vma)
{
	struct anon_vma *new_root = anon_vma->root;

	if (new_root != root) {
		if (WARN_ON_ONCE(root))
			up_write(&root->rwsem);
		root = new_root;
		down_write(&root->rwsem);
	}
	return root;
}

static void unlock_anon_vma_root(struct anon_vma *root)
{
	if (root)
		up_write(&root->rwsem);
}

/*
 * Link @dst to every anon_vma of @src, oldest first (from the tail), each
 * new AVC added at @dst's head: @dst's chain ends up in @src's order. A
 * destination without an anon_vma (fork) may adopt the first ancestor that
 * has no active VMA and fewer than two children.
 */
static int anon_vma_clone(struct vm_area_struct *dst, struct vm_area_struct *src)
{
	struct anon_vma_chain *avc, *pavc;
	struct anon_vma *root = NULL;

	list_for_each_entry_reverse(pavc, &src->anon_vma_chain, same_vma) {
		struct anon_vma *anon_vma;

		avc = anon_vma_chain_alloc(GFP_NOWAIT | __GFP_NOWARN);
		if (unlikely(!avc)) {
			/* Drop the lock and try again, allowed to sleep. */
			unlock_anon_vma_root(root);
			root = NULL;
			avc = anon_vma_chain_alloc(GFP_KERNEL);
			if (!avc)
				goto enomem_failure;
		}
		anon_vma = pavc->anon_vma;
		root = lock_anon_vma_root(root, anon_vma);
		anon_vma_chain_assign(dst, avc, anon_vma);
		anon_vma_interval_tree_insert(avc, &anon_vma->rb_root);

		/* A root is never reused: its self link counts as a child. */
		if (!dst->anon_vma && src->anon_vma &&
		    anon_vma->num_children < 2 &&
		    anon_vma->num_active_vmas == 0)
			dst->anon_vma = anon_vma;
	}
	if (dst->anon_vma)
		dst->anon_vma->num_active_vmas++;
	unlock_anon_vma_root(root);
	return 0;

enomem_failure:
	/*
	 * dst->anon_vma never counted dst; clear it so the unlink below does
	 * not drop a count it does not own, then undo the partial links.
	 */
	dst->anon_vma = NULL;
	unlink_anon_vmas(dst);
	return -ENOMEM;
}

static int anon_vma_clone_op(struct vm_area_struct *dst,
			     struct vm_area_struct *src, enum rf_clone_op op)
{
	(void)op;	/* the old interface did not say */
	return anon_vma_clone(dst, src);
}

static int anon_vma_fork(struct vm_area_struct *vma, struct vm_area_struct *pvma)
{
	struct anon_vma_chain *avc;
	struct anon_vma *anon_vma;
	int error;

	if (!pvma->anon_vma)
		return 0;

	vma->anon_vma = NULL;

	/* Link to the parent's anon_vmas first, so shared pages stay found. */
	error = anon_vma_clone(vma, pvma);
	if (error)
		return error;

	/* An ancestor was reused: nothing more to add. */
	if (vma->anon_vma)
		return 0;

	anon_vma = anon_vma_alloc();
	if (!anon_vma)
		goto out_error;
	anon_vma->num_active_vmas++;
	avc = anon_vma_chain_alloc(GFP_KERNEL);
	if (!avc)
		goto out_error_free_anon_vma;

	anon_vma->root = pvma->anon_vma->root;
	anon_vma->parent = pvma->anon_vma;
	get_anon_vma(anon_vma->root);
	vma->anon_vma = anon_vma;
	anon_vma_chain_assign(vma, avc, anon_vma);
	anon_vma_lock_write(anon_vma);
	anon_vma_interval_tree_insert(avc, &anon_vma->rb_root);
	anon_vma->parent->num_children++;
	anon_vma_unlock_write(anon_vma);
	return 0;

out_error_free_anon_vma:
	put_anon_vma(anon_vma);
out_error:
	/* vma->anon_vma is still NULL here: the walk below copes with that. */
	unlink_anon_vmas(vma);
	return -ENOMEM;
}

/*
 * Sever @vma's links. Unlike mainline there is no early return for an
 * unfaulted VMA: the clone and fork error paths rely on this walking a chain
 * whose VMA has no anon_vma.
 */
static void unlink_anon_vmas(struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc, *next;
	struct anon_vma *root = NULL;

	list_for_each_entry_safe(avc, next, &vma->anon_vma_chain, same_vma) {
		struct anon_vma *anon_vma = avc->anon_vma;

		root = lock_anon_vma_root(root, anon_vma);
		anon_vma_interval_tree_remove(avc, &anon_vma->rb_root);

		if (RB_EMPTY_ROOT(&anon_vma->rb_root.rb_root)) {
			anon_vma->parent->num_children--;
			continue;
		}
		list_del(&avc->same_vma);
		anon_vma_chain_free(avc);
	}
	if (vma->anon_vma) {
		vma->anon_vma->num_active_vmas--;
		vma->anon_vma = NULL;
	}
	unlock_anon_vma_root(root);

	list_for_each_entry_safe(avc, next, &vma->anon_vma_chain, same_vma) {
		struct anon_vma *anon_vma = avc->anon_vma;

		VM_WARN_ON(anon_vma->num_children);
		VM_WARN_ON(anon_vma->num_active_vmas);
		put_anon_vma(anon_vma);

		list_del(&avc->same_vma);
		anon_vma_chain_free(avc);
	}
}

/* The merged-away VMA must share the survivor's anon_vma. */
static void anon_vma_merge(struct vm_area_struct *vma,
			   struct vm_area_struct *next)
{
	VM_BUG_ON_VMA(vma->anon_vma != next->anon_vma, vma);
	unlink_anon_vmas(next);
}

const struct anon_vma_core pre_series_anon_vma_core = {
	.name			= "pre-series",
	.prepare		= __anon_vma_prepare,
	.clone			= anon_vma_clone_op,
	.fork			= anon_vma_fork,
	.unlink			= unlink_anon_vmas,
	.unlink_merged		= anon_vma_merge,
	.pre_update_vma		= anon_vma_interval_tree_pre_update_vma,
	.post_update_vma	= anon_vma_interval_tree_post_update_vma,
	OUR_ANON_VMA_LAYOUT,
};
