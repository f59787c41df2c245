/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_MMAP_LOCK_H
#define _LINUX_MMAP_LOCK_H

#include <linux/mm_types.h>
#include <linux/mmdebug.h>

#define mmap_write_lock(mm)	down_write(&(mm)->mmap_lock)
/* fork takes the child's lock under the parent's. */
#define mmap_write_lock_nested(mm, subclass) \
	down_write_nested(&(mm)->mmap_lock, subclass)
#define mmap_write_unlock(mm)	up_write(&(mm)->mmap_lock)
#define mmap_read_lock(mm)	down_read(&(mm)->mmap_lock)
#define mmap_read_unlock(mm)	up_read(&(mm)->mmap_lock)
#define SINGLE_DEPTH_NESTING	1

/* Lock assertions of the kernel, checked by the lock checker. */
#define mmap_assert_locked(mm)						\
	lockdep_assert_held_what(&(mm)->mmap_lock, LOCK_CLASS_MMAP, "")
#define mmap_assert_write_locked(mm)					\
	lockdep_assert_held_write_what(&(mm)->mmap_lock, LOCK_CLASS_MMAP, "")

/* A VMA is attached while it is reachable from its mm. */
static inline bool vma_is_attached(const struct vm_area_struct *vma)
{
	return refcount_read(&vma->vm_refcnt) != 0;
}

static inline void vma_mark_attached(struct vm_area_struct *vma)
{
	VM_WARN_ON_ONCE(vma_is_attached(vma));
	refcount_set(&vma->vm_refcnt, 1);
}

static inline void vma_mark_detached(struct vm_area_struct *vma)
{
	VM_WARN_ON_ONCE(!vma_is_attached(vma));
	refcount_set(&vma->vm_refcnt, 0);
}

#endif /* _LINUX_MMAP_LOCK_H */
