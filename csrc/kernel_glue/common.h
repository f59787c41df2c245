/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Glue shared by every generation: it is compiled at the end of the
 * translation unit extracted from a kernel tree, after the kernel's own
 * struct anon_vma, so it may look inside it. The names of the kernel's
 * functions (anon_vma_clone, ...) here refer to the extracted ones: the
 * generated file renames them all to rmapfuzz_kernel_*.
 */
#ifndef _RMAPFUZZ_KERNEL_GLUE_COMMON_H
#define _RMAPFUZZ_KERNEL_GLUE_COMMON_H

#include <stddef.h>

static struct rb_root_cached *kernel_anon_vma_tree(struct anon_vma *anon_vma)
{
	return &anon_vma->rb_root;
}

static struct rw_semaphore *kernel_anon_vma_family_lock(struct anon_vma *anon_vma)
{
	return &anon_vma->root->rwsem;
}

static struct rw_semaphore *kernel_anon_vma_own_rwsem(struct anon_vma *anon_vma)
{
	return &anon_vma->rwsem;
}

static void kernel_avc_layout(struct avc_layout *out)
{
	AVC_LAYOUT_FILL(out);
}

static void kernel_anon_vma_view_common(struct anon_vma *anon_vma,
					struct anon_vma_view *out)
{
	out->root = anon_vma->root;
	out->parent = anon_vma->parent;
	out->refcount = atomic_read(&anon_vma->refcount);
	out->has_degree = false;
	out->num_children = 0;
	out->num_active_vmas = 0;
	out->degree = 0;
}

static void *kernel_anon_vma_refcount(struct anon_vma *anon_vma)
{
	return &anon_vma->refcount;
}

static void kernel_put_anon_vma(struct anon_vma *anon_vma)
{
	if (atomic_dec_and_test(&anon_vma->refcount))
		__put_anon_vma(anon_vma);
}

static void kernel_anon_vma_init(void)
{
	anon_vma_init();
}

static int kernel_anon_vma_prepare(struct vm_area_struct *vma)
{
	return __anon_vma_prepare(vma);
}

static int kernel_anon_vma_fork(struct vm_area_struct *vma,
				struct vm_area_struct *pvma)
{
	return anon_vma_fork(vma, pvma);
}

static void kernel_unlink_anon_vmas(struct vm_area_struct *vma)
{
	unlink_anon_vmas(vma);
}

#ifdef RMAPFUZZ_KERNEL_READ_SIDE
/*
 * The tree's read side, for the harness's walkers: its own
 * folio_get_anon_vma(), folio_lock_anon_vma_read() and rmap_walk_anon(),
 * driven through a struct rmap_walk_control of the tree's.
 */
static struct anon_vma *kernel_walker_get(struct folio *folio)
{
	return folio_get_anon_vma(folio);
}

static struct anon_vma *kernel_walker_lock(struct folio *folio)
{
	return folio_lock_anon_vma_read(folio, NULL);
}

static bool kernel_rmap_one(struct folio *folio, struct vm_area_struct *vma,
			    unsigned long address, void *arg)
{
	const struct rf_walk *walk = arg;

	/* What the tree's walk found must still be there. */
	sched_touch(vma, "follows an anon_vma_chain to vm_area_struct", __func__);
	return walk->rmap_one(folio, vma, address, walk->arg);
}

static int kernel_folio_unmapped(struct folio *folio)
{
	return !folio_mapped(folio);
}

static void kernel_walker_walk(struct folio *folio, const struct rf_walk *walk)
{
	struct rmap_walk_control rwc = {
		.rmap_one = kernel_rmap_one,
		.arg = (void *)walk,
		.done = walk->stop_when_unmapped ? kernel_folio_unmapped : NULL,
		.anon_lock = walk->lock == RF_WALK_LOCK_FOLIO ?
			     folio_lock_anon_vma_read : NULL,
	};

	rmap_walk_anon(folio, &rwc, walk->lock == RF_WALK_LOCKED);
}

#define KERNEL_READ_SIDE					\
	.walker_get		= kernel_walker_get,		\
	.walker_lock		= kernel_walker_lock,		\
	.walker_walk		= kernel_walker_walk,
#else
#define KERNEL_READ_SIDE
#endif

/* Every generation's entries but the re-keying. */
#define KERNEL_ANON_VMA_CORE_COMMON				\
	.name			= RMAPFUZZ_CORE_NAME,		\
	.init			= kernel_anon_vma_init,		\
	.prepare		= kernel_anon_vma_prepare,	\
	.fork			= kernel_anon_vma_fork,		\
	.unlink			= kernel_unlink_anon_vmas,	\
	.tree			= kernel_anon_vma_tree,		\
	.family_lock		= kernel_anon_vma_family_lock,	\
	.own_rwsem		= kernel_anon_vma_own_rwsem,	\
	.refcount		= kernel_anon_vma_refcount,	\
	.release		= kernel_put_anon_vma,		\
	.avc_layout		= kernel_avc_layout,		\
	KERNEL_READ_SIDE					\
	.rb_colours		= true

#endif /* _RMAPFUZZ_KERNEL_GLUE_COMMON_H */
