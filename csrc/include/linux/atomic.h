/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Atomics of the model. A world runs one thread at a time, so they are
 * plain integers; what makes them atomic is that threads of a race switch
 * only at switch points, and every atomic operation is one (before it
 * acts, so another thread may act first). The hook also checks that the
 * counter's object is still there.
 */
#ifndef _LINUX_ATOMIC_H
#define _LINUX_ATOMIC_H

#include <linux/compiler.h>
#include <linux/types.h>

typedef struct {
	int counter;
} atomic_t;

/*
 * A switch point, and a use-after-free check, during a race: reading a
 * freed SLAB_TYPESAFE_BY_RCU object is allowed inside an RCU read-side
 * section, writing one never.
 */
void atomic_hook(const void *v, const char *what, const char *func);
void atomic_write_hook(const void *v, const char *what, const char *func);

#define atomic_read(v)		__atomic_read(v, __func__)
#define atomic_inc(v)		__atomic_inc(v, __func__)
#define atomic_dec_and_test(v)	__atomic_dec_and_test(v, __func__)
#define atomic_inc_not_zero(v)	__atomic_inc_not_zero(v, __func__)

static inline int __atomic_read(const atomic_t *v, const char *func)
{
	atomic_hook(v, "atomic_read", func);
	return v->counter;
}

static inline void atomic_set(atomic_t *v, int i)
{
	v->counter = i;
}

static inline void __atomic_inc(atomic_t *v, const char *func)
{
	atomic_hook(v, "atomic_inc", func);
	atomic_write_hook(v, "atomic_inc", func);
	__atomic_fetch_add(&v->counter, 1, __ATOMIC_RELAXED);
}

/*
 * Read-modify-writes are compiled as such (not as a load and a store), so
 * the store hooks never see them: an atomic is never held back. A
 * value-returning one is a full barrier besides.
 */
static inline bool __atomic_dec_and_test(atomic_t *v, const char *func)
{
	sched_release();
	atomic_hook(v, "atomic_dec_and_test", func);
	atomic_write_hook(v, "atomic_dec_and_test", func);
	return __atomic_sub_fetch(&v->counter, 1, __ATOMIC_SEQ_CST) == 0;
}

/* Take a reference only if the object still has one (is not being freed). */
static inline bool __atomic_inc_not_zero(atomic_t *v, const char *func)
{
	sched_release();
	atomic_hook(v, "atomic_inc_not_zero", func);
	if (!v->counter)
		return false;
	atomic_write_hook(v, "atomic_inc_not_zero", func);
	__atomic_fetch_add(&v->counter, 1, __ATOMIC_SEQ_CST);
	return true;
}

#endif /* _LINUX_ATOMIC_H */
