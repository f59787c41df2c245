/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host memory behind one world's state: slab objects, the slab's index,
 * page tables, lock reports. Outside AddressSanitizer builds it comes from
 * an arena of the world's own, a mapping that stays at one address for the
 * world's life, so the world can be saved as bytes and put back in place
 * (explore tries every next operation from one saved state instead of
 * replaying its path). Under ASan the arena tells ASan which of its bytes
 * are handed out (mem_poison()): its block headers, the slack after each
 * block, free blocks and the slab's headers and quarantined objects are
 * out of bounds to the code under test; such a world cannot be saved, as
 * a copy would not carry that. (A standalone reproducer, whose machinery
 * is compiled with ASan too, keeps its worlds on ASan's heap.)
 */
#ifndef _RMAPFUZZ_WORLD_MEM_H
#define _RMAPFUZZ_WORLD_MEM_H

#include <stdbool.h>
#include <stddef.h>

#include <linux/compiler.h>
#include <linux/types.h>

struct world_arena;

/*
 * A fresh arena (one reused when one is free), or NULL when the host will
 * not map one or the machinery is compiled with ASan (RMAPFUZZ_SELF_ASAN).
 */
struct world_arena *world_arena_get(void);
/* Gives @arena back; everything in it is gone. */
void world_arena_put(struct world_arena *arena);

/* Zeroed memory from @arena (the host allocator when @arena is NULL). */
void *world_mem_alloc(struct world_arena *arena, size_t size);
void *world_mem_realloc(struct world_arena *arena, void *p, size_t size);
void world_mem_free(struct world_arena *arena, void *p);

/* Bytes of address space @arena spans from its start. */
size_t world_arena_reserved(const struct world_arena *arena);
/*
 * Every block is 16-aligned and at least 32 bytes long, so each 16 bytes
 * of an arena belong to one block at most.
 */
#define ARENA_GRANULE		16

/*
 * Under ASan: @size bytes at @p become out of bounds (poisoned) or
 * addressable again for the code under test. The machinery, compiled
 * without ASan, reads and writes them either way, but not through the
 * C library's copies, which ASan checks.
 */
#if RMAPFUZZ_ASAN
void __asan_poison_memory_region(void const volatile *addr, size_t size);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);

static inline void mem_poison(const void *p, size_t size)
{
	__asan_poison_memory_region(p, size);
}

static inline void mem_unpoison(const void *p, size_t size)
{
	__asan_unpoison_memory_region(p, size);
}
#else
static inline void mem_poison(const void *p, size_t size)
{
	(void)p;
	(void)size;
}

static inline void mem_unpoison(const void *p, size_t size)
{
	(void)p;
	(void)size;
}
#endif
/*
 * A word per ARENA_GRANULE bytes of @arena, zero for each new world, and
 * never saved or restored with the arena (mm/slab.c keeps which object
 * each granule belongs to there); NULL when the host would not map it.
 * The caller will write the words of the first @upto bytes at most.
 */
u32 *world_arena_owners(struct world_arena *arena, size_t upto);
/* Bytes of @arena in use (what a saved state copies). */
size_t world_arena_used(const struct world_arena *arena);
/* Copies the used part of @arena into @buf (world_arena_used() bytes). */
void world_arena_save(const struct world_arena *arena, void *buf);
/*
 * Where the @size bytes at @p of @arena are in @buf, a copy world_arena_save()
 * took of it (@len bytes); NULL if they lie beyond what it copied.
 */
const void *world_arena_image(const struct world_arena *arena, const void *buf,
			      size_t len, const void *p, size_t size);
/* Puts back what world_arena_save() copied from this same arena. */
void world_arena_restore(struct world_arena *arena, const void *buf,
			 size_t len);

#endif /* _RMAPFUZZ_WORLD_MEM_H */
