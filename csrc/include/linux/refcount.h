/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_REFCOUNT_H
#define _LINUX_REFCOUNT_H

#include <linux/atomic.h>
#include <linux/mmdebug.h>

typedef struct {
	atomic_t refs;
} refcount_t;

#define refcount_read(r)	((unsigned int)__atomic_read(&(r)->refs, __func__))

static inline void refcount_set(refcount_t *r, int n)
{
	atomic_set(&r->refs, n);
}

static inline void refcount_inc(refcount_t *r)
{
	/* Incrementing from zero means resurrecting a dead object. */
	WARN_ON_ONCE(atomic_read(&r->refs) == 0);
	atomic_inc(&r->refs);
}

static inline bool refcount_dec_and_test(refcount_t *r)
{
	if (WARN_ON_ONCE(atomic_read(&r->refs) <= 0))
		return false;
	return atomic_dec_and_test(&r->refs);
}

#endif /* _LINUX_REFCOUNT_H */
