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
#include <linux/rmap.h>
#include <linux/rwsem.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <rmapfuzz/anon_vma_core.h>

#define __init
#define might_sleep()		do { } while (0)
#define cond_resched()		do { } while (0)

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
