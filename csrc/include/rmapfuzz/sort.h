/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A sort that allocates nothing. glibc's qsort() takes a buffer from
 * malloc() once an array passes a kilobyte; under ASan every such call
 * pays its allocator, and a snapshot sorts every mapping of the world.
 */
#ifndef _RMAPFUZZ_SORT_H
#define _RMAPFUZZ_SORT_H

#include <stddef.h>

/* Sorts @num elements of @size bytes at @base by @cmp; not stable. */
void rf_sort(void *base, size_t num, size_t size,
	     int (*cmp)(const void *, const void *));

#endif /* _RMAPFUZZ_SORT_H */
