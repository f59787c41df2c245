// SPDX-License-Identifier: GPL-2.0
/* mm_struct objects and the copy of one at fork. */
#include <linux/mm.h>

#include "../mm/internal.h"

static struct kmem_cache *mm_cachep;

struct mm_struct *mm_alloc(void)
{
	struct mm_struct *mm = kmem_cache_zalloc(mm_cachep, GFP_KERNEL);

	if (!mm)
		return NULL;
	INIT_LIST_HEAD(&mm->mmap);
	INIT_LIST_HEAD(&mm->mm_list);
	init_rwsem(&mm->mmap_lock);
	spin_lock_init(&mm->page_table_lock);
	return mm;
}

void mm_free(struct mm_struct *mm)
{
	VM_WARN_ON_ONCE(!list_empty(&mm->mmap));
	VM_WARN_ON_ONCE(mm->ptes.nr != 0);
	pte_table_free(mm);
	kmem_cache_free(mm_cachep, mm);
}

/*
 * A copy of @oldmm (locked for write by the caller) for a child process,
 * or NULL when memory ran out; nothing of a failed copy survives.
 */
struct mm_struct *dup_mm(struct mm_struct *oldmm, unsigned int id)
{
	struct mm_struct *mm = mm_alloc();
	int err;

	if (!mm)
		return NULL;
	/* Its id from the start: a racing rmap walk may meet it half built. */
	mm->mm_id = id;
	mmap_write_lock_nested(mm, SINGLE_DEPTH_NESTING);
	err = dup_mmap(mm, oldmm);
	mmap_write_unlock(mm);
	if (err) {
		mm_free(mm);
		return NULL;
	}
	return mm;
}

void mm_cache_init(void)
{
	mm_cachep = kmem_cache_create("mm_struct", sizeof(struct mm_struct), 0,
				      SLAB_PANIC, NULL);
}
