// SPDX-License-Identifier: GPL-2.0
/*
 * A world's host memory: an arena per world, blocks in power-of-two size
 * classes with a free list per class, bumped from a mapping reserved once
 * (the kernel of this machine gives pages only where they are touched).
 * Everything the allocator keeps sits at the start of the mapping, so a
 * copy of the mapping's used prefix is a complete copy of the memory, and
 * putting it back at the same address leaves every pointer valid.
 * Under ASan only what is handed out is addressable (mem_poison()).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <linux/compiler.h>
#include <linux/types.h>
#include <rmapfuzz/world_mem.h>

/* Address space per arena; a world larger than this is a runaway input. */
#define ARENA_RESERVE		(4UL << 30)
/* Smallest block: its header and 16 bytes. */
#define ARENA_MIN_SHIFT		5
#define ARENA_CLASSES		33
/* Bytes an arena keeps when it waits for its next world. */
#define ARENA_KEEP		(4UL << 20)
#define ARENA_POOL		64
#define BLOCK_MAGIC		0xa7e4ab10U

struct arena_block {
	u32 class;
	u32 magic;
	u64 pad;		/* keeps the payload 16-aligned, as malloc's */
};

struct world_arena {
	size_t top;		/* offset of the first byte never handed out */
	size_t peak;		/* highest top since mapped: what may hold pages */
	void *free_list[ARENA_CLASSES];
	/*
	 * A word per ARENA_GRANULE bytes, kept beside the arena (mapped with
	 * it, never saved): world_arena_owners().
	 */
	u32 *owners;
	size_t owned;		/* bytes of the arena the words may cover */
};

#define ARENA_OWNERS_BYTES	(ARENA_RESERVE / ARENA_GRANULE * sizeof(u32))

#define ARENA_START	((sizeof(struct world_arena) + 15) & ~(size_t)15)

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct world_arena *pool[ARENA_POOL];
static size_t nr_pooled;

struct world_arena *world_arena_get(void)
{
	struct world_arena *a = NULL;

	if (RMAPFUZZ_SELF_ASAN)
		return NULL;
	pthread_mutex_lock(&pool_lock);
	if (nr_pooled)
		a = pool[--nr_pooled];
	pthread_mutex_unlock(&pool_lock);
	if (!a) {
		a = mmap(NULL, ARENA_RESERVE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		/*
		 * A host that will not reserve the address space (strict
		 * overcommit) gets the host allocator: the world still runs,
		 * it only cannot be saved.
		 */
		if (a == MAP_FAILED)
			return NULL;
		a->peak = ARENA_START;
		a->owners = mmap(NULL, ARENA_OWNERS_BYTES, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				 -1, 0);
		if (a->owners == MAP_FAILED)
			a->owners = NULL;
	}
	a->top = ARENA_START;
	memset(a->free_list, 0, sizeof(a->free_list));
	return a;
}

void world_arena_put(struct world_arena *a)
{
	if (!a)
		return;
	/* The next world starts with no word set. */
	if (a->owners && a->owned) {
		memset(a->owners, 0, a->owned / ARENA_GRANULE * sizeof(u32));
		a->owned = 0;
	}
	/* A runaway world's pages go back to the host; a small one's stay. */
	if (a->peak > ARENA_KEEP) {
		madvise((char *)a + ARENA_KEEP, a->peak - ARENA_KEEP,
			MADV_DONTNEED);
		if (a->owners)
			madvise((char *)a->owners + ARENA_KEEP / ARENA_GRANULE * sizeof(u32),
				(a->peak - ARENA_KEEP) / ARENA_GRANULE * sizeof(u32),
				MADV_DONTNEED);
		a->peak = ARENA_KEEP;
	}
	pthread_mutex_lock(&pool_lock);
	if (nr_pooled < ARENA_POOL) {
		pool[nr_pooled++] = a;
		a = NULL;
	}
	pthread_mutex_unlock(&pool_lock);
	if (a) {
		/* What is mapped at these addresses next starts addressable. */
		mem_unpoison(a, a->peak);
		if (a->owners)
			munmap(a->owners, ARENA_OWNERS_BYTES);
		munmap(a, ARENA_RESERVE);
	}
}

static unsigned int size_class(size_t total)
{
	unsigned int class = ARENA_MIN_SHIFT;

	while (((size_t)1 << class) < total)
		class++;
	return class;
}

void *world_mem_alloc(struct world_arena *a, size_t size)
{
	struct arena_block *b;
	unsigned int class;
	size_t block;

	if (!a) {
		void *p = calloc(1, size);

		if (!p)
			abort();
		return p;
	}
	class = size_class(size + sizeof(*b));
	if (class >= ARENA_CLASSES) {
		fprintf(stderr, "rmapfuzz: a world asked for %zu bytes at once\n",
			size);
		abort();
	}
	block = (size_t)1 << class;
	b = a->free_list[class];
	if (b) {
		a->free_list[class] = *(void **)(b + 1);
	} else {
		if (a->top + block > ARENA_RESERVE) {
			fprintf(stderr, "rmapfuzz: a world outgrew its %lu GiB arena\n",
				ARENA_RESERVE >> 30);
			abort();
		}
		b = (struct arena_block *)((char *)a + a->top);
		a->top += block;
		if (a->top > a->peak)
			a->peak = a->top;
	}
	/* Memory past a restored top may hold a later state's bytes. */
	mem_unpoison(b, block);
	memset(b + 1, 0, block - sizeof(*b));
	b->class = class;
	b->magic = BLOCK_MAGIC;
	/* The header and the slack past @size are out of bounds. */
	mem_poison(b, block);
	mem_unpoison(b + 1, size);
	return b + 1;
}

static struct arena_block *block_of(void *p)
{
	struct arena_block *b = (struct arena_block *)p - 1;

	if (b->magic != BLOCK_MAGIC) {
		fprintf(stderr, "rmapfuzz: a world freed memory it never had\n");
		abort();
	}
	return b;
}

void world_mem_free(struct world_arena *a, void *p)
{
	struct arena_block *b;

	if (!a) {
		free(p);
		return;
	}
	if (!p)
		return;
	b = block_of(p);
	b->magic = 0;
	*(void **)p = a->free_list[b->class];
	a->free_list[b->class] = b;
	mem_poison(b, (size_t)1 << b->class);
}

void *world_mem_realloc(struct world_arena *a, void *p, size_t size)
{
	struct arena_block *b;
	size_t room;
	void *q;

	if (!a) {
		q = realloc(p, size);
		if (!q)
			abort();
		return q;
	}
	if (!p)
		return world_mem_alloc(a, size);
	b = block_of(p);
	room = ((size_t)1 << b->class) - sizeof(*b);
	if (size <= room) {
		mem_unpoison(p, size);
		return p;
	}
	q = world_mem_alloc(a, size);
	/* (All of it: the copy is checked, and it is freed next.) */
	mem_unpoison(p, room);
	memcpy(q, p, room);
	world_mem_free(a, p);
	return q;
}

size_t world_arena_reserved(const struct world_arena *a)
{
	(void)a;
	return ARENA_RESERVE;
}

u32 *world_arena_owners(struct world_arena *a, size_t upto)
{
	if (upto > a->owned)
		a->owned = upto;
	return a->owners;
}

size_t world_arena_used(const struct world_arena *a)
{
	return a->top;
}

void world_arena_save(const struct world_arena *a, void *buf)
{
	memcpy(buf, a, a->top);
}

const void *world_arena_image(const struct world_arena *a, const void *buf,
			      size_t len, const void *p, size_t size)
{
	uintptr_t base = (uintptr_t)a, at = (uintptr_t)p;

	if (at < base || at - base > len || size > len - (at - base))
		return NULL;
	return (const unsigned char *)buf + (at - base);
}

void world_arena_restore(struct world_arena *a, const void *buf, size_t len)
{
	size_t peak = a->peak, owned = a->owned;

	memcpy(a, buf, len);
	/* The pages a later state touched are still there, and its words. */
	if (peak > a->peak)
		a->peak = peak;
	if (owned > a->owned)
		a->owned = owned;
}
