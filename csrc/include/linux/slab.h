/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Slab caches for the model. A cache is an immutable descriptor; the objects
 * it hands out are accounted in the current world, per allocation site, so
 * that
 *  - fault injection can fail the N-th attempt of an operation (fail_nth),
 *  - every live object can be enumerated (snapshots, leak reports),
 *  - a pointer can be classified as live or freed without trusting it.
 */
#ifndef _LINUX_SLAB_H
#define _LINUX_SLAB_H

#include <linux/types.h>
#include <linux/gfp.h>

enum alloc_site {
	ALLOC_SITE_MM,
	ALLOC_SITE_VMA,
	ALLOC_SITE_ANON_VMA,
	ALLOC_SITE_AVC,
	ALLOC_SITE_PAGE,
	NR_ALLOC_SITES,
};

#define SLAB_PANIC		0x1ul
#define SLAB_TYPESAFE_BY_RCU	0x2ul
#define SLAB_ACCOUNT		0x4ul

struct kmem_cache {
	const char *name;
	size_t size;
	enum alloc_site site;
	void (*ctor)(void *obj);
	/*
	 * SLAB_TYPESAFE_BY_RCU: during a race a freed object may be handed
	 * out again at once, and its memory stays an object of this cache
	 * until the race is over (no RCU reader can still hold it).
	 */
	bool typesafe;
};

struct kmem_cache *kmem_cache_create(const char *name, size_t size,
				     size_t align, unsigned long flags,
				     void (*ctor)(void *));
void *kmem_cache_alloc(struct kmem_cache *cache, gfp_t gfp);
void *kmem_cache_zalloc(struct kmem_cache *cache, gfp_t gfp);
void kmem_cache_free(struct kmem_cache *cache, void *obj);

/* Classification of a pointer previously handed out by a cache. */
enum slab_obj_state {
	SLAB_OBJ_NULL,
	SLAB_OBJ_LIVE,
	SLAB_OBJ_FREED,
	SLAB_OBJ_FOREIGN,	/* not ours, or another cache's */
};

enum slab_obj_state slab_obj_state(const void *obj, enum alloc_site site);

#endif /* _LINUX_SLAB_H */
