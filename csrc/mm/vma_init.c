// SPDX-License-Identifier: GPL-2.0
/* VMA objects: allocation, duplication, release. */
#include <string.h>

#include <linux/mm.h>

#include "internal.h"

static struct kmem_cache *vm_area_cachep;

struct vm_area_struct *vm_area_alloc(struct mm_struct *mm)
{
	struct vm_area_struct *vma;

	vma = kmem_cache_zalloc(vm_area_cachep, GFP_KERNEL);
	if (!vma)
		return NULL;
	vma->vm_mm = mm;
	INIT_LIST_HEAD(&vma->anon_vma_chain);
	INIT_LIST_HEAD(&vma->vm_list);
	refcount_set(&vma->vm_refcnt, 0);
	return vma;
}

/*
 * A detached copy of @orig: same range, flags, pgoff and anon_vma pointer,
 * but no anon_vma_chain yet - every caller follows with a clone or a fork.
 */
struct vm_area_struct *vm_area_dup(struct vm_area_struct *orig)
{
	struct vm_area_struct *new = vm_area_alloc(orig->vm_mm);

	if (!new)
		return NULL;
	new->vm_start = orig->vm_start;
	new->vm_end = orig->vm_end;
	new->vm_flags = orig->vm_flags;
	new->vm_pgoff = orig->vm_pgoff;
	vma_set_anon_pgoff(new, vma_start_anon_pgoff(orig));
	new->anon_vma = orig->anon_vma;
	return new;
}

void vm_area_free(struct vm_area_struct *vma)
{
	VM_WARN_ON_ONCE(vma_is_attached(vma));
	/* AVCs left behind would point into freed memory. */
	VM_WARN_ON_ONCE(!list_empty(&vma->anon_vma_chain));
	kmem_cache_free(vm_area_cachep, vma);
}

void vm_area_cache_init(void)
{
	vm_area_cachep = kmem_cache_create("vm_area_struct",
					   sizeof(struct vm_area_struct), 0,
					   SLAB_PANIC, NULL);
}
