/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a tree's real anon_vma core needs of the tools/testing/vma world
 * beyond what that world provides for its stubs. Included (through the
 * generated copy of include/custom.h, or at the end of a one-header
 * world's vma_internal.h) just before the tree's own struct anon_vma and
 * its header inlines.
 */
#ifndef _RMAPFUZZ_TREE_VMA_SHIMS_H
#define _RMAPFUZZ_TREE_VMA_SHIMS_H

#include <errno.h>
#include <pthread.h>
#include <linux/rwsem.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <asm/barrier.h>

#include "rf_config.h"

/* The core asserts its rwsem is held; the world's rwsem is a pthread lock. */
static inline int rwsem_is_locked(struct rw_semaphore *sem)
{
	/* (Parenthesized: a probe, not a lock the rule checker should see.) */
	if ((pthread_rwlock_trywrlock)(&sem->lock) == 0) {
		(pthread_rwlock_unlock)(&sem->lock);
		return 0;
	}
	return 1;
}

#ifndef KMEM_CACHE
#define KMEM_CACHE(name, flags)						\
	kmem_cache_create(#name, sizeof(struct name),			\
			  __alignof__(struct name), (flags), NULL)
#endif

#ifdef RF_TW_NEED_ATOMIC_DEC_AND_TEST
#define atomic_dec_and_test(v)	(uatomic_sub_return(v, 1) == 0)
#endif

/* Slab flags the core passes that an older tools slab.h lacks. */
#ifndef SLAB_TYPESAFE_BY_RCU
#define SLAB_TYPESAFE_BY_RCU	0
#endif
#ifndef SLAB_ACCOUNT
#define SLAB_ACCOUNT		0
#endif

#ifdef RF_TW_NEED_VMA_IS_ATTACHED
static inline bool vma_is_attached(struct vm_area_struct *vma)
{
#ifdef RF_TW_DETACHED_FLAG
	return !vma->detached;
#else
	return refcount_read(&vma->vm_refcnt) != 0;
#endif
}
#endif

#endif /* _RMAPFUZZ_TREE_VMA_SHIMS_H */
