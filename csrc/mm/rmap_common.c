// SPDX-License-Identifier: GPL-2.0
/*
 * The parts of the anon_vma code that the pre-series and mainline cores
 * share unchanged: object lifetime, __anon_vma_prepare(), and the accessors
 * of our struct anon_vma layout.
 */
#include <linux/mm.h>
#include <linux/rmap.h>

#define ANON_VMA_CORE_IMPL
#include "internal.h"
#include "anon_vma.h"

static struct kmem_cache *anon_vma_cachep;
static struct kmem_cache *anon_vma_chain_cachep;

struct anon_vma *anon_vma_alloc(void)
{
	struct anon_vma *anon_vma;

	anon_vma = kmem_cache_alloc(anon_vma_cachep, GFP_KERNEL);
	if (anon_vma) {
		atomic_set(&anon_vma->refcount, 1);
		anon_vma->num_children = 0;
		anon_vma->num_active_vmas = 0;
		anon_vma->parent = anon_vma;
		/* A fork re-points root and parent at the parent's family. */
		anon_vma->root = anon_vma;
	}
	return anon_vma;
}

void anon_vma_free(struct anon_vma *anon_vma)
{
	VM_BUG_ON(atomic_read(&anon_vma->refcount));
	/*
	 * A walker in folio_lock_anon_vma_read() may hold the root's rwsem
	 * with no reference, relying on the folio being mapped. Seeing the
	 * lock taken, wait until it is let go: only then may the memory be
	 * handed to the next user. (Had we held it ourselves, the lock
	 * checker reports the self-deadlock.)
	 */
	if (rwsem_is_locked(&anon_vma->root->rwsem)) {
		anon_vma_lock_write(anon_vma);
		anon_vma_unlock_write(anon_vma);
	}
	anon_vma_cache_free(anon_vma);
}

void anon_vma_cache_free(struct anon_vma *anon_vma)
{
	kmem_cache_free(anon_vma_cachep, anon_vma);
}

struct anon_vma_chain *anon_vma_chain_alloc(gfp_t gfp)
{
	return kmem_cache_alloc(anon_vma_chain_cachep, gfp);
}

void anon_vma_chain_free(struct anon_vma_chain *avc)
{
	kmem_cache_free(anon_vma_chain_cachep, avc);
}

/* Put @avc on @vma's chain, pointing at @anon_vma; the tree comes later. */
void anon_vma_chain_assign(struct vm_area_struct *vma,
			   struct anon_vma_chain *avc,
			   struct anon_vma *anon_vma)
{
	avc->vma = vma;
	avc->anon_vma = anon_vma;
	list_add(&avc->same_vma, &vma->anon_vma_chain);
}

void __put_anon_vma(struct anon_vma *anon_vma)
{
	struct anon_vma *root = anon_vma->root;

	anon_vma_free(anon_vma);
	/* Every non-root member of a family pins the root it locks with. */
	if (root != anon_vma && atomic_dec_and_test(&root->refcount))
		anon_vma_free(root);
}

/*
 * First fault in a VMA without an anon_vma: share a compatible neighbour's
 * anon_vma if there is one, otherwise start a new family.
 */
/*
 * Make @anon_vma @vma's for every thread: with a release store, so a
 * fault of the same process that finds it through find_mergeable_anon_vma()
 * (mmap_lock is only read-held) also sees it initialised.
 */
static void anon_vma_publish(struct vm_area_struct *vma,
			     struct anon_vma *anon_vma)
{
	smp_store_release(&vma->anon_vma, anon_vma);
}

int __anon_vma_prepare(struct vm_area_struct *vma)
{
	return anon_vma_prepare_publishing(vma, anon_vma_publish);
}

int anon_vma_prepare_publishing(struct vm_area_struct *vma,
				void (*publish)(struct vm_area_struct *vma,
						struct anon_vma *anon_vma))
{
	struct mm_struct *mm = vma->vm_mm;
	struct anon_vma *anon_vma, *allocated = NULL;
	struct anon_vma_chain *avc;

	mmap_assert_locked(vma->vm_mm);

	avc = anon_vma_chain_alloc(GFP_KERNEL);
	if (!avc)
		return -ENOMEM;

	anon_vma = find_mergeable_anon_vma(vma);
	if (!anon_vma) {
		anon_vma = anon_vma_alloc();
		if (unlikely(!anon_vma)) {
			anon_vma_chain_free(avc);
			return -ENOMEM;
		}
		/* A new root is its own parent, and counts that link. */
		anon_vma->num_children++;
		allocated = anon_vma;
	}

	anon_vma_lock_write(anon_vma);
	/* Faults of one process race here: page_table_lock picks the winner. */
	spin_lock(&mm->page_table_lock);
	if (likely(!vma->anon_vma)) {
		publish(vma, anon_vma);
		anon_vma_chain_assign(vma, avc, anon_vma);
		anon_vma_interval_tree_insert(avc, &anon_vma->rb_root);
		anon_vma->num_active_vmas++;
		allocated = NULL;
		avc = NULL;
	}
	spin_unlock(&mm->page_table_lock);
	anon_vma_unlock_write(anon_vma);

	if (unlikely(allocated))
		put_anon_vma(allocated);
	if (unlikely(avc))
		anon_vma_chain_free(avc);
	return 0;
}

/* Re-keying around a range change (the kernel's mm/vma.c helpers). */
void anon_vma_interval_tree_pre_update_vma(struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc;

	list_for_each_entry(avc, &vma->anon_vma_chain, same_vma)
		anon_vma_interval_tree_remove(avc, &avc->anon_vma->rb_root);
}

void anon_vma_interval_tree_post_update_vma(struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc;

	list_for_each_entry(avc, &vma->anon_vma_chain, same_vma)
		anon_vma_interval_tree_insert(avc, &avc->anon_vma->rb_root);
}

/* Accessors of our layout, for the core tables (see anon_vma_core.h). */
struct rb_root_cached *our_anon_vma_tree(struct anon_vma *anon_vma)
{
	return &anon_vma->rb_root;
}

struct rw_semaphore *our_anon_vma_family_lock(struct anon_vma *anon_vma)
{
	return &anon_vma->root->rwsem;
}

struct rw_semaphore *our_anon_vma_own_rwsem(struct anon_vma *anon_vma)
{
	return &anon_vma->rwsem;
}

void our_anon_vma_view(struct anon_vma *anon_vma, struct anon_vma_view *out)
{
	out->root = anon_vma->root;
	out->parent = anon_vma->parent;
	out->refcount = atomic_read(&anon_vma->refcount);
	out->has_degree = false;
	out->num_children = anon_vma->num_children;
	out->num_active_vmas = anon_vma->num_active_vmas;
	out->degree = 0;
}

void our_avc_layout(struct avc_layout *out)
{
	AVC_LAYOUT_FILL(out);
}

void *our_anon_vma_refcount(struct anon_vma *anon_vma)
{
	return &anon_vma->refcount;
}

void our_put_anon_vma(struct anon_vma *anon_vma)
{
	put_anon_vma(anon_vma);
}

static void anon_vma_ctor(void *data)
{
	struct anon_vma *anon_vma = data;

	init_rwsem(&anon_vma->rwsem);
	atomic_set(&anon_vma->refcount, 0);
	anon_vma->rb_root = RB_ROOT_CACHED;
}

void anon_vma_init(void)
{
	anon_vma_cachep = kmem_cache_create("anon_vma", sizeof(struct anon_vma),
					    0, SLAB_TYPESAFE_BY_RCU | SLAB_PANIC,
					    anon_vma_ctor);
	anon_vma_chain_cachep = kmem_cache_create("anon_vma_chain",
						  sizeof(struct anon_vma_chain),
						  0, SLAB_PANIC, NULL);
}
