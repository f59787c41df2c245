/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where a page is mapped (struct rf_hit), in the one order every world
 * reports it: by mm id, then address. Only harness.h's neutral types, so
 * a tree's own world (csrc/tree_vma/) shares it with ours.
 */
#ifndef _RMAPFUZZ_HITS_H
#define _RMAPFUZZ_HITS_H

#include "../../harness.h"

static inline int rf_hit_cmp(const void *a, const void *b)
{
	const struct rf_hit *x = a, *y = b;

	if (x->mm != y->mm)
		return x->mm < y->mm ? -1 : 1;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return 0;
}

/* One mapping of a page (by its index in the snapshot), from page tables. */
struct rf_mapping {
	uint32_t page;
	struct rf_hit hit;
};

static inline int rf_mapping_cmp(const void *a, const void *b)
{
	const struct rf_mapping *x = a, *y = b;

	if (x->page != y->page)
		return x->page < y->page ? -1 : 1;
	return rf_hit_cmp(&x->hit, &y->hit);
}

#endif /* _RMAPFUZZ_HITS_H */
