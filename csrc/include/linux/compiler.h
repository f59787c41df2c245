/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_COMPILER_H
#define _LINUX_COMPILER_H

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

#define __must_check	__attribute__((warn_unused_result))
#define __maybe_unused	__attribute__((unused))
#ifndef __always_inline
#define __always_inline	inline __attribute__((always_inline))
#endif
#define noinline	__attribute__((noinline))

/*
 * Plain accesses: the scheduler switches threads only at its points, and
 * the store buffers (rmapfuzz/store_buffer.h) say when a store is seen.
 * A release, or a full barrier, makes the thread's earlier stores seen.
 */
void sched_release(void);
#define READ_ONCE(x)		(x)
#define WRITE_ONCE(x, val)	((x) = (val))
#define smp_store_release(p, v)	({ sched_release(); *(p) = (v); })
#define smp_mb()		sched_release()
#define smp_wmb()		sched_release()

#ifndef __has_feature
#define __has_feature(x) 0
#endif

/*
 * The process runs under AddressSanitizer: this file may not be
 * instrumented (the fuzz builds spare the machinery), but its arena's
 * poison and stack switches still go through the runtime.
 */
#ifndef RMAPFUZZ_ASAN
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#define RMAPFUZZ_ASAN 1
#else
#define RMAPFUZZ_ASAN 0
#endif
#endif

/*
 * This file itself is compiled with ASan (a standalone reproducer's
 * machinery is): the arena's poison would trip its own reads of slab
 * headers and freed objects, so worlds live on ASan's heap instead.
 */
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#define RMAPFUZZ_SELF_ASAN 1
#else
#define RMAPFUZZ_SELF_ASAN 0
#endif

#endif /* _LINUX_COMPILER_H */
