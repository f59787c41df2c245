/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the anon_vma code of a kernel tree needs around it, when it is
 * compiled as one translation unit by rmapfuzz (see extract/ and
 * ffi/build.rs): our shims of the kernel headers, the few kernel spellings
 * the shims do not carry, and the harness functions the extracted code
 * calls. Included first by the generated file; the kernel's own struct
 * anon_vma and struct anon_vma_chain follow it.
 */
#ifndef _RMAPFUZZ_KERNEL_SHIM_H
#define _RMAPFUZZ_KERNEL_SHIM_H

/*
 * Kernel code is written for the kernel's warning set, not for -Wextra:
 * keep the extracted text unchanged and quiet what it legitimately does.
 */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"

#include <linux/atomic.h>
#include <linux/compiler.h>
#include <linux/errno.h>
#include <linux/gfp.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mm_types.h>
#include <linux/mmap_lock.h>
#include <linux/mmdebug.h>
#include <linux/rbtree.h>
#include <linux/rcupdate.h>
#include <linux/rmap.h>
#include <linux/rwsem.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <rmapfuzz/anon_vma_core.h>

#define __init
#define might_sleep()		do { } while (0)
/* The rmap walk's own scheduling point: one in a race. */
#define cond_resched()		sched_point(SP_WALK, "cond_resched", NULL, __func__)

/*
 * The read side (folio_get_anon_vma(), folio_lock_anon_vma_read(),
 * rmap_walk_anon()) over our folios: an order-0 folio whose mapping is
 * its anon_vma, untagged.
 */
#define PAGE_MAPPING_ANON	0x0UL
#define PAGE_MAPPING_FLAGS	0x0UL
#define FOLIO_MAPPING_ANON	0x0UL
#define FOLIO_MAPPING_FLAGS	0x0UL
#define VM_WARN_ON_FOLIO(cond, folio)	((void)(folio), (void)__VM_WARN(cond))
#define VM_BUG_ON_FOLIO(cond, folio)	((void)(folio), (void)__VM_WARN(cond))
#define VM_BUG_ON_PAGE(cond, page)	((void)(page), (void)__VM_WARN(cond))

static inline bool folio_test_locked(const struct folio *folio)
{
	return folio->lock.writer;
}

static inline struct anon_vma *folio_anon_vma(const struct folio *folio)
{
	return READ_ONCE(folio->anon_vma);
}

static inline pgoff_t folio_pgoff(const struct folio *folio)
{
	return folio->index;
}

static inline long folio_nr_pages(const struct folio *folio)
{
	(void)folio;
	return 1;
}

#define KMEM_CACHE(name, flags)						\
	kmem_cache_create(#name, sizeof(struct name),			\
			  __alignof__(struct name), (flags), NULL)

/* Older trees spell the debug macros differently. */
#ifndef VM_WARN_ON_ONCE_VMA
#define VM_WARN_ON_ONCE_VMA(cond, vma)	((void)(vma), __VM_WARN(cond))
#endif

/* The harness's callers, which the extracted core calls back. */
struct anon_vma *find_mergeable_anon_vma(struct vm_area_struct *vma);

/* The harness's own layout of anon_vma_chain, to check the kernel's. */
void our_avc_layout(struct avc_layout *out);

#endif /* _RMAPFUZZ_KERNEL_SHIM_H */
