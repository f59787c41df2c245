/* SPDX-License-Identifier: GPL-2.0 */
/* Worlds are single-threaded, so atomics are plain integers. */
#ifndef _LINUX_ATOMIC_H
#define _LINUX_ATOMIC_H

#include <linux/types.h>

typedef struct {
	int counter;
} atomic_t;

static inline int atomic_read(const atomic_t *v)
{
	return v->counter;
}

static inline void atomic_set(atomic_t *v, int i)
{
	v->counter = i;
}

static inline void atomic_inc(atomic_t *v)
{
	v->counter++;
}

static inline bool atomic_dec_and_test(atomic_t *v)
{
	return --v->counter == 0;
}

#endif /* _LINUX_ATOMIC_H */
