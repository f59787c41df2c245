// SPDX-License-Identifier: GPL-2.0
/*
 * rf_sort(): insertion sort for short arrays, heapsort beyond, both in
 * place, so no call reaches the allocator (<rmapfuzz/sort.h>).
 */
#include <stdint.h>
#include <string.h>

#include <rmapfuzz/sort.h>

/* Up to this many elements, insertion sort's few moves win. */
#define RF_SORT_SHORT 12

static void swap_bytes(char *a, char *b, size_t size)
{
	while (size >= sizeof(uint64_t)) {
		uint64_t t;

		memcpy(&t, a, sizeof(t));
		memcpy(a, b, sizeof(t));
		memcpy(b, &t, sizeof(t));
		a += sizeof(t);
		b += sizeof(t);
		size -= sizeof(t);
	}
	while (size--) {
		char t = *a;

		*a++ = *b;
		*b++ = t;
	}
}

/* Moves element @i of the heap of @n down until both children are smaller. */
static void sift_down(char *base, size_t i, size_t n, size_t size,
		      int (*cmp)(const void *, const void *))
{
	for (;;) {
		size_t child = 2 * i + 1;

		if (child >= n)
			return;
		if (child + 1 < n &&
		    cmp(base + child * size, base + (child + 1) * size) < 0)
			child++;
		if (cmp(base + i * size, base + child * size) >= 0)
			return;
		swap_bytes(base + i * size, base + child * size, size);
		i = child;
	}
}

void rf_sort(void *base, size_t num, size_t size,
	     int (*cmp)(const void *, const void *))
{
	char *b = base;
	size_t i, j;

	if (num <= RF_SORT_SHORT) {
		for (i = 1; i < num; i++) {
			for (j = i; j > 0 &&
			     cmp(b + (j - 1) * size, b + j * size) > 0; j--)
				swap_bytes(b + (j - 1) * size, b + j * size, size);
		}
		return;
	}
	/* Build a max-heap, then move its top behind the shrinking heap. */
	for (i = num / 2; i-- > 0;)
		sift_down(b, i, num, size, cmp);
	for (i = num - 1; i > 0; i--) {
		swap_bytes(b, b + i * size, size);
		sift_down(b, 0, i, size, cmp);
	}
}
