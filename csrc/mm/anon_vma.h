/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Our anon_vma cores' private view: the layout of struct anon_vma and the
 * helpers that look inside it. Only mm/rmap.c, mm/rmap_pre_series.c and
 * mm/rmap_common.c include this; everything else goes through the core's
 * accessors (<rmapfuzz/anon_vma_core.h>).
 */
#ifndef __MM_ANON_VMA_H
#define __MM_ANON_VMA_H

#include <linux/atomic.h>
#include <linux/mm.h>
#include <linux/rbtree.h>
#include <linux/rmap.h>
#include <linux/rwsem.h>
#include <rmapfuzz/anon_vma_core.h>

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

/* Pieces both of our cores share (mm/rmap_common.c). */
struct anon_vma *anon_vma_alloc(void);
void anon_vma_free(struct anon_vma *anon_vma);
/* Back to the slab, nothing else (anon_vma_free() waits for readers first). */
void anon_vma_cache_free(struct anon_vma *anon_vma);
struct anon_vma_chain *anon_vma_chain_alloc(gfp_t gfp);
void anon_vma_chain_free(struct anon_vma_chain *avc);
void anon_vma_chain_assign(struct vm_area_struct *vma,
			   struct anon_vma_chain *avc,
			   struct anon_vma *anon_vma);
void __put_anon_vma(struct anon_vma *anon_vma);
int __anon_vma_prepare(struct vm_area_struct *vma);
/* __anon_vma_prepare(), making the anon_vma the VMA's with @publish. */
int anon_vma_prepare_publishing(struct vm_area_struct *vma,
				void (*publish)(struct vm_area_struct *vma,
						struct anon_vma *anon_vma));
void anon_vma_init(void);

void anon_vma_interval_tree_pre_update_vma(struct vm_area_struct *vma);
void anon_vma_interval_tree_post_update_vma(struct vm_area_struct *vma);

/* The accessors of our layout, for the core tables. */
struct rb_root_cached *our_anon_vma_tree(struct anon_vma *anon_vma);
struct rw_semaphore *our_anon_vma_family_lock(struct anon_vma *anon_vma);
struct rw_semaphore *our_anon_vma_own_rwsem(struct anon_vma *anon_vma);
void our_anon_vma_view(struct anon_vma *anon_vma, struct anon_vma_view *out);
void our_avc_layout(struct avc_layout *out);
void *our_anon_vma_refcount(struct anon_vma *anon_vma);
void our_put_anon_vma(struct anon_vma *anon_vma);

#define OUR_ANON_VMA_LAYOUT				\
	.tree		= our_anon_vma_tree,		\
	.family_lock	= our_anon_vma_family_lock,	\
	.own_rwsem	= our_anon_vma_own_rwsem,	\
	.view		= our_anon_vma_view,		\
	.refcount	= our_anon_vma_refcount,	\
	.release	= our_put_anon_vma,		\
	.avc_layout	= our_avc_layout

static inline void get_anon_vma(struct anon_vma *anon_vma)
{
	atomic_inc(&anon_vma->refcount);
}

static inline void put_anon_vma(struct anon_vma *anon_vma)
{
	if (atomic_dec_and_test(&anon_vma->refcount))
		__put_anon_vma(anon_vma);
}

/*
 * Macros rather than inline functions (as in the kernel) so that the lock
 * tracking in kernel/rwsem.c records the caller's file and line.
 */
#define anon_vma_lock_write(anon_vma)	down_write(&(anon_vma)->root->rwsem)
#define anon_vma_unlock_write(anon_vma)	up_write(&(anon_vma)->root->rwsem)
#define anon_vma_lock_read(anon_vma)	down_read(&(anon_vma)->root->rwsem)
#define anon_vma_unlock_read(anon_vma)	up_read(&(anon_vma)->root->rwsem)

#endif /* __MM_ANON_VMA_H */
