// SPDX-License-Identifier: GPL-2.0
/*
 * Slab caches of the model.
 *
 * Each object carries a small header so the harness can enumerate live
 * objects per allocation site. Whether a pointer is live, freed or not ours
 * at all is decided by the world's index of addresses (below), never by
 * reading what the pointer points at: a snapshot of a world that holds a
 * dangling pointer must report it, not trip AddressSanitizer. Outside ASan
 * builds, objects come from the world's arena (rmapfuzz/world_mem.h) and
 * freed ones are not returned to it at once: they wait in a bounded
 * quarantine with a checksum of their contents, so a later write to them is
 * detected. Under ASan, objects come from malloc and are freed immediately,
 * and ASan does that job.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/compiler.h>
#include <linux/mmdebug.h>
#include <linux/slab.h>
#include <rmapfuzz/sched_run.h>
#include <rmapfuzz/sort.h>
#include <rmapfuzz/world.h>
#include <rmapfuzz/world_mem.h>
#include <rmapfuzz/write_watch.h>

#define SLAB_MAGIC_LIVE		0x51ab0b1eU
#define SLAB_MAGIC_FREED	0xdeadf7eeU

struct slab_obj {
	u32 magic;
	u16 site;
	/* The race thread that made it (+1; 0: made outside a race). */
	u16 owner;
	u32 scratch;
	u32 checksum;
	size_t size;
	struct list_head node;
	u64 seal;		/* lockdep's seal of the protected fields */
	/* Objects touched (below). */
	u32 made;		/* when it was made: its place in the live list */
	u32 touched;		/* 1 << reader: on that reader's touched list */
	void *reader;		/* an AVC: the anon_vma whose seal read it last */
};

_Static_assert(sizeof(struct slab_obj) % 16 == 0, "slab header alignment");

/* Which allocation site a cache's objects count as, by cache name. */
static const struct {
	const char *name;
	enum alloc_site site;
} cache_sites[] = {
	{ "mm_struct",		ALLOC_SITE_MM },
	{ "vm_area_struct",	ALLOC_SITE_VMA },
	{ "anon_vma",		ALLOC_SITE_ANON_VMA },
	{ "anon_vma_chain",	ALLOC_SITE_AVC },
	{ "folio",		ALLOC_SITE_PAGE },
};

/*
 * Cache descriptors, handed out once per kmem_cache_create() call: two
 * anon_vma cores may each create an "anon_vma" cache of a different size.
 * Creation runs under the harness's init lock.
 */
#define MAX_CACHES 16
static struct kmem_cache slab_caches[MAX_CACHES];
static size_t nr_slab_caches;

/* ---- The index of addresses --------------------------------------------- */

/*
 * Open addressing with linear probing, keyed by object address: live
 * objects, and the most recently freed ones (up to SLAB_FREED_KEPT; older
 * freed addresses are forgotten and then read as foreign).
 */
#define SLAB_FREED_KEPT		(1u << 15)

enum { SLOT_EMPTY, SLOT_LIVE, SLOT_FREED };

static size_t slot_hash(const void *obj, size_t mask)
{
	u64 x = (u64)(uintptr_t)obj;

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 32;
	return (size_t)x & mask;
}

static struct slab_slot *index_find(struct slab_index *ix, const void *obj)
{
	size_t mask = ix->cap - 1, i;

	if (!ix->cap)
		return NULL;
	for (i = slot_hash(obj, mask);; i = (i + 1) & mask) {
		struct slab_slot *slot = &ix->slots[i];

		if (slot->state == SLOT_EMPTY)
			return NULL;
		if (slot->obj == obj)
			return slot;
	}
}

static void index_grow(struct world_arena *arena, struct slab_index *ix);

/* The slot of @obj, created empty if it has none. */
static struct slab_slot *index_get(struct world_arena *arena,
				   struct slab_index *ix, const void *obj)
{
	size_t mask, i;

	if (2 * (ix->used + 1) > ix->cap)
		index_grow(arena, ix);
	mask = ix->cap - 1;
	for (i = slot_hash(obj, mask);; i = (i + 1) & mask) {
		struct slab_slot *slot = &ix->slots[i];

		if (slot->state == SLOT_EMPTY) {
			slot->obj = obj;
			ix->used++;
			return slot;
		}
		if (slot->obj == obj)
			return slot;
	}
}

static void index_grow(struct world_arena *arena, struct slab_index *ix)
{
	struct slab_slot *old = ix->slots;
	size_t old_cap = ix->cap, i;

	ix->cap = old_cap ? old_cap * 2 : 64;
	ix->slots = world_mem_alloc(arena, ix->cap * sizeof(*ix->slots));
	ix->used = 0;
	for (i = 0; i < old_cap; i++) {
		if (old[i].state != SLOT_EMPTY)
			*index_get(arena, ix, old[i].obj) = old[i];
	}
	world_mem_free(arena, old);
}

/* Remove @slot, shifting later members of its probe run back. */
static void index_remove(struct slab_index *ix, struct slab_slot *slot)
{
	size_t mask = ix->cap - 1;
	size_t hole = (size_t)(slot - ix->slots), i = hole;

	for (;;) {
		size_t home;

		i = (i + 1) & mask;
		if (ix->slots[i].state == SLOT_EMPTY)
			break;
		home = slot_hash(ix->slots[i].obj, mask);
		/* Move it back unless its home lies in (hole, i]. */
		if (hole <= i ? (home <= hole || home > i) :
				(home <= hole && home > i)) {
			ix->slots[hole] = ix->slots[i];
			hole = i;
		}
	}
	memset(&ix->slots[hole], 0, sizeof(ix->slots[hole]));
	ix->used--;
}

/*
 * @obj was freed: keep it as freed, and forget the oldest freed address
 * once SLAB_FREED_KEPT are kept (the ring grows to that size first).
 */
static void index_mark_freed(struct world_arena *arena, struct slab_index *ix,
			     const void *obj, u8 site)
{
	struct slab_freed *old;
	struct slab_slot *slot;

	if (ix->freed_seq == ix->freed_cap && ix->freed_cap < SLAB_FREED_KEPT) {
		u32 cap = ix->freed_cap ? ix->freed_cap * 2 : 64;
		struct slab_freed *ring;

		ring = world_mem_realloc(arena, ix->freed, cap * sizeof(*ring));
		memset(ring + ix->freed_cap, 0,
		       (cap - ix->freed_cap) * sizeof(*ring));
		ix->freed = ring;
		ix->freed_cap = cap;
	}
	old = &ix->freed[ix->freed_seq % ix->freed_cap];
	if (old->obj) {
		struct slab_slot *o = index_find(ix, old->obj);

		if (o && o->state == SLOT_FREED && o->seq == old->seq)
			index_remove(ix, o);
	}
	ix->freed_seq++;
	slot = index_get(arena, ix, obj);
	slot->state = SLOT_FREED;
	slot->site = site;
	slot->seq = ix->freed_seq;
	old->obj = obj;
	old->seq = ix->freed_seq;
}

static void index_mark_live(struct world_arena *arena, struct slab_index *ix,
			    const void *obj, u8 site)
{
	struct slab_slot *slot = index_get(arena, ix, obj);

	slot->state = SLOT_LIVE;
	slot->site = site;
	slot->seq = 0;
}

static void index_release(struct world_arena *arena, struct slab_index *ix)
{
	world_mem_free(arena, ix->slots);
	world_mem_free(arena, ix->freed);
	memset(ix, 0, sizeof(*ix));
}

static inline struct slab_obj *obj_to_slab(const void *obj)
{
	return (struct slab_obj *)obj - 1;
}

static inline void *slab_to_obj(struct slab_obj *s)
{
	return s + 1;
}

static u32 slab_checksum(const struct slab_obj *s)
{
	const unsigned char *p = (const unsigned char *)(s + 1);
	u64 h = 0xcbf29ce484222325ULL, word;
	size_t i;

	/* A word at a time: every hygiene check sums the whole quarantine. */
	for (i = 0; i + sizeof(word) <= s->size; i += sizeof(word)) {
		memcpy(&word, p + i, sizeof(word));
		h = (h ^ word) * 0x100000001b3ULL;
	}
	for (; i < s->size; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return (u32)(h ^ (h >> 32));
}

/* ---- Objects touched ---------------------------------------------------- */

/*
 * The lock checker seals every VMA and anon_vma (kernel/lockdep.c). A seal
 * reads the object's own bytes and, for an anon_vma, the tree nodes inside
 * its AVCs; so it can change only when one of those is stored to, made or
 * freed. Where the world follows it, each such event puts the object on
 * its site's touched lists, one per reader (an AVC: the anon_vma whose
 * tree last held it when read), and the checker recomputes the seals of
 * touched objects alone: one not touched since its seal was last recorded
 * or compared still matches it. The hygiene audit of an anon_vma's tree
 * reads the same bytes for the tree's shape, and audits touched trees
 * alone the same way; and the quarantine's sums are checked again only
 * after a store reached a quarantined object.
 *
 * The code under test's stores reach slab_store() through its store
 * hooks, by address; the arena's owner words say which object an address
 * is in. Each word is set when its object is made and cleared when the
 * memory goes back to the arena, so a word that is set names a slab
 * header, live or quarantined. A world that is restored (its memory then
 * changes under the words), races (its stores go to store buffers) or
 * meets a tree node two anon_vmas read stops following: its checker looks
 * at every live object again, as one that never followed does, and as a
 * world without an arena always does.
 */

/* Sets (or clears) the owner words of @s's granules. */
static void slab_own(struct slab_obj *s, bool own)
{
	struct world *w = current_world;
	uintptr_t lo = (uintptr_t)w->arena, at = (uintptr_t)s;
	uintptr_t end = at + sizeof(*s) + s->size;
	u32 word = (u32)((at - lo) / ARENA_GRANULE + 1), *owners;

	if (!w->follows_touched || !w->arena)
		return;
	owners = world_arena_owners(w->arena, end - lo);
	for (; at < end; at += ARENA_GRANULE)
		owners[(at - lo) / ARENA_GRANULE] = own ? word : 0;
}

static void touched_add(struct world *w, struct slab_obj *s,
			enum touch_reader reader)
{
	struct touched_list *l = &w->sites[s->site].touched[reader];

	if (s->touched & (1u << reader))
		return;
	s->touched |= 1u << reader;
	if (l->nr == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->obj = world_mem_realloc(w->arena, l->obj,
					   l->cap * sizeof(void *));
	}
	l->obj[l->nr++] = slab_to_obj(s);
}

/* An anon_vma's seal and its tree's audit read the same bytes. */
static void anon_vma_touched(struct world *w, struct slab_obj *s)
{
	touched_add(w, s, TOUCH_SEAL);
	touched_add(w, s, TOUCH_AUDIT);
}

static void slab_touch(struct world *w, struct slab_obj *s)
{
	if (!w->follows_touched)
		return;
	if (w->follows_snap)
		touched_add(w, s, TOUCH_SNAP);
	switch (s->site) {
	case ALLOC_SITE_VMA:
		touched_add(w, s, TOUCH_SEAL);
		break;
	case ALLOC_SITE_ANON_VMA:
		anon_vma_touched(w, s);
		break;
	case ALLOC_SITE_AVC:
		if (s->reader && slab_obj_state(s->reader, ALLOC_SITE_ANON_VMA) ==
				 SLAB_OBJ_LIVE)
			anon_vma_touched(w, obj_to_slab(s->reader));
		break;
	default:
		break;
	}
}

void __slab_snap_touch(struct world *w, void *obj)
{
	const struct slab_slot *slot;

	if (!w->follows_touched)
		return;
	slot = index_find(&w->index, obj);
	if (slot && slot->state == SLOT_LIVE)
		touched_add(w, obj_to_slab(obj), TOUCH_SNAP);
}

/* A partial snapshot drops what was freed since the last one. */
static void slab_gone_add(struct world *w, struct slab_obj *s)
{
	if (!w->follows_touched || !w->follows_snap)
		return;
	if (w->gone.nr == w->gone.cap) {
		w->gone.cap = w->gone.cap ? w->gone.cap * 2 : 64;
		w->gone.v = world_mem_realloc(w->arena, w->gone.v,
					      w->gone.cap * sizeof(*w->gone.v));
	}
	w->gone.v[w->gone.nr++] = (struct slab_gone){ .site = s->site,
						      .made = s->made };
}

void slab_store(struct write_watch *ww, uintptr_t addr)
{
	u32 word = ww->owners[(addr - ww->lo) / ARENA_GRANULE];
	struct slab_obj *s;

	if (!word || !current_world)
		return;
	s = (struct slab_obj *)(ww->lo + (uintptr_t)(word - 1) * ARENA_GRANULE);
	if (addr < (uintptr_t)slab_to_obj(s))
		return;
	if (s->magic == SLAB_MAGIC_LIVE)
		slab_touch(current_world, s);
	else if (s->magic == SLAB_MAGIC_FREED && current_world->follows_touched)
		current_world->quarantine_touched = true;
}

void slab_follow(struct world *w, struct write_watch *ww, bool on)
{
	u32 *owners = w->arena ? world_arena_owners(w->arena, 0) : NULL;

	w->follows_touched = on && owners;
	ww->owners = w->follows_touched ? owners : NULL;
}

bool slab_read_by(void *avc, void *anon_vma)
{
	struct slab_obj *s = obj_to_slab(avc);

	if (s->reader && s->reader != anon_vma &&
	    slab_obj_state(s->reader, ALLOC_SITE_ANON_VMA) == SLAB_OBJ_LIVE)
		return false;
	s->reader = anon_vma;
	return true;
}

bool slab_verify_touched(void)
{
	static int verify = -1;

	if (verify < 0) {
		const char *v = getenv("RMAPFUZZ_VERIFY_WATCH");

		verify = v && strcmp(v, "1") == 0;
	}
	return verify;
}

bool slab_obj_touched(void *obj, enum touch_reader reader)
{
	return obj_to_slab(obj)->touched & (1u << reader);
}

static int by_made(const void *a, const void *b)
{
	u32 x = obj_to_slab(*(void *const *)a)->made;
	u32 y = obj_to_slab(*(void *const *)b)->made;

	return x < y ? -1 : x > y;
}

void slab_for_each_touched(struct world *w, enum alloc_site site,
			   enum touch_reader reader,
			   bool (*fn)(void *obj, void *arg), void *arg)
{
	struct touched_list *l = &w->sites[site].touched[reader];
	const u32 bit = 1u << reader, seen = 1u << 31;
	u32 i, kept = 0;

	/* Live ones, once each, in the live list's order, as a full pass. */
	for (i = 0; i < l->nr; i++) {
		void *obj = l->obj[i];
		struct slab_obj *s = obj_to_slab(obj);

		if (slab_obj_state(obj, site) == SLAB_OBJ_LIVE &&
		    (s->touched & (bit | seen)) == bit) {
			s->touched |= seen;
			l->obj[kept++] = obj;
		}
	}
	rf_sort(l->obj, kept, sizeof(void *), by_made);
	for (i = 0; i < kept; i++)
		obj_to_slab(l->obj[i])->touched &= ~seen;
	l->nr = kept;
	/* (@fn reads the world; it stores nothing the hooks see.) */
	for (i = 0, kept = 0; i < l->nr; i++) {
		void *obj = l->obj[i];

		if (fn(obj, arg))
			obj_to_slab(obj)->touched &= ~bit;
		else
			l->obj[kept++] = obj;
	}
	l->nr = kept;
}

/* Races (the end of this file). */
static void slab_dispose(struct world *w, struct slab_obj *s);
static void *slab_race_reuse(struct world *w, struct kmem_cache *cache);
static void slab_race_track(struct world *w, struct slab_obj *s);
static bool slab_race_keep(struct world *w, struct kmem_cache *cache,
			   struct slab_obj *s);

struct kmem_cache *kmem_cache_create(const char *name, size_t size,
				     size_t align, unsigned long flags,
				     void (*ctor)(void *))
{
	struct kmem_cache *cache;
	size_t i;

	(void)align;
	(void)flags;
	for (i = 0; i < ARRAY_SIZE(cache_sites); i++) {
		if (strcmp(cache_sites[i].name, name) == 0)
			break;
	}
	if (i == ARRAY_SIZE(cache_sites) || nr_slab_caches == MAX_CACHES) {
		fprintf(stderr, "rmapfuzz: cannot create a cache %s\n", name);
		abort();
	}
	cache = &slab_caches[nr_slab_caches++];
	cache->name = name;
	cache->size = size;
	cache->site = cache_sites[i].site;
	cache->ctor = ctor;
	cache->typesafe = flags & SLAB_TYPESAFE_BY_RCU;
	return cache;
}

/* fail_nth: does the attempt being made now fail? */
static bool slab_should_fail(struct world *w, enum alloc_site site)
{
	unsigned int nth = ++w->nr_attempts;

	if (nth <= WORLD_MAX_ATTEMPTS)
		w->attempts[nth - 1] = (u8)site;
	if (!w->fail_nth)
		return false;
	return nth == w->fail_nth || (w->fail_and_later && nth > w->fail_nth);
}

void *kmem_cache_alloc(struct kmem_cache *cache, gfp_t gfp)
{
	struct world *w = current_world;
	struct slab_obj *s;
	void *obj;

	(void)gfp;
	sched_point(SP_SLAB, "kmem_cache_alloc", NULL, cache->name);
	/* The allocator's own locking orders what the caller stored before. */
	sched_release();
	if (slab_should_fail(w, cache->site))
		return NULL;
	world_written();
	obj = slab_race_reuse(w, cache);
	if (obj)
		return obj;

	s = world_mem_alloc(w->arena, sizeof(*s) + cache->size);
	s->magic = SLAB_MAGIC_LIVE;
	s->site = cache->site;
	s->size = cache->size;
	s->made = w->nr_made++;
	list_add_tail(&s->node, &w->sites[cache->site].objects);
	w->sites[cache->site].live++;
	index_mark_live(w->arena, &w->index, slab_to_obj(s), (u8)cache->site);
	slab_own(s, true);
	slab_touch(w, s);
	/* Under ASan its header is out of bounds, as a redzone. */
	if (w->arena)
		mem_poison(s, sizeof(*s));

	obj = slab_to_obj(s);
	slab_race_track(w, s);
	if (cache->ctor)
		cache->ctor(obj);
	return obj;
}

void *kmem_cache_zalloc(struct kmem_cache *cache, gfp_t gfp)
{
	void *obj = kmem_cache_alloc(cache, gfp);

	if (obj)
		memset(obj, 0, cache->size);
	return obj;
}

static void slab_release_oldest(struct world *w)
{
	struct slab_obj *s = list_first_entry(&w->quarantine, struct slab_obj,
					      node);

	if (s->checksum != slab_checksum(s))
		w->writes_after_free++;
	list_del(&s->node);
	w->nr_quarantined--;
	slab_own(s, false);
	world_mem_free(w->arena, s);
}

void kmem_cache_free(struct kmem_cache *cache, void *obj)
{
	struct world *w = current_world;
	struct slab_obj *s;

	if (!obj)
		return;
	sched_point(SP_SLAB, "kmem_cache_free", obj, cache->name);
	/* A double free or a stray pointer is reported, never followed. */
	if (WARN_ON_ONCE(slab_obj_state(obj, cache->site) != SLAB_OBJ_LIVE))
		return;
	world_written();
	s = obj_to_slab(obj);
	slab_touch(w, s);
	slab_gone_add(w, s);
	sb_object_freed(obj, s->size);
	list_del(&s->node);
	w->sites[s->site].live--;
	index_mark_freed(w->arena, &w->index, obj, (u8)s->site);
	if (slab_race_keep(w, cache, s))
		return;
	slab_dispose(w, s);
}

/* Back to the arena through the quarantine (or to ASan's allocator). */
static void slab_dispose(struct world *w, struct slab_obj *s)
{
	/* Without an arena ASan's allocator keeps a quarantine of its own. */
	if (RMAPFUZZ_ASAN && !w->arena) {
		world_mem_free(w->arena, s);
		return;
	}
	s->magic = SLAB_MAGIC_FREED;
	s->checksum = slab_checksum(s);
	/* Under ASan the code under test may touch it no more. */
	mem_poison(slab_to_obj(s), s->size);
	list_add_tail(&s->node, &w->quarantine);
	if (++w->nr_quarantined > WORLD_QUARANTINE)
		slab_release_oldest(w);
}

enum slab_obj_state slab_obj_state(const void *obj, enum alloc_site site)
{
	const struct slab_slot *slot;

	if (!obj)
		return SLAB_OBJ_NULL;
	slot = index_find(&current_world->index, obj);
	if (!slot || slot->site != (u8)site)
		return SLAB_OBJ_FOREIGN;
	return slot->state == SLOT_LIVE ? SLAB_OBJ_LIVE : SLAB_OBJ_FREED;
}

u32 *slab_obj_scratch(void *obj)
{
	return &obj_to_slab(obj)->scratch;
}

u32 slab_obj_made(void *obj)
{
	return obj_to_slab(obj)->made;
}

void *slab_obj_reader(void *obj)
{
	return obj_to_slab(obj)->reader;
}

u64 *slab_obj_seal(void *obj)
{
	return &obj_to_slab(obj)->seal;
}

void slab_for_each_live(struct world *w, enum alloc_site site,
			void (*fn)(void *obj, void *arg), void *arg)
{
	struct slab_obj *s, *n;

	list_for_each_entry_safe(s, n, &w->sites[site].objects, node)
		fn(slab_to_obj(s), arg);
}

bool slab_same_live(const struct world *w, const struct world *then,
		    const void *buf, size_t len)
{
	int i;

	for (i = 0; i < NR_ALLOC_SITES; i++) {
		const struct list_head *head = &w->sites[i].objects;
		const struct list_head *now = head->next;
		const struct list_head *old = then->sites[i].objects.next;

		if (w->sites[i].live != then->sites[i].live)
			return false;
		/* Both lists end at the live world's head: the copy is of it. */
		while (now != head) {
			const struct slab_obj *s, *was;

			if (old != now)
				return false;
			s = list_entry(now, struct slab_obj, node);
			was = world_arena_image(w->arena, buf, len, s,
						sizeof(*s) + s->size);
			if (!was || was->size != s->size ||
			    memcmp(slab_to_obj((struct slab_obj *)s),
				   slab_to_obj((struct slab_obj *)was), s->size))
				return false;
			now = now->next;
			old = was->node.next;
		}
		if (old != head)
			return false;
	}
	return true;
}

void slab_world_init(struct world *w)
{
	int i;

	for (i = 0; i < NR_ALLOC_SITES; i++) {
		w->sites[i].live = 0;
		INIT_LIST_HEAD(&w->sites[i].objects);
		memset(w->sites[i].touched, 0, sizeof(w->sites[i].touched));
	}
	memset(&w->gone, 0, sizeof(w->gone));
	INIT_LIST_HEAD(&w->quarantine);
	w->nr_quarantined = 0;
	w->writes_after_free = 0;
	memset(&w->index, 0, sizeof(w->index));
}

void slab_check_quarantine(struct world *w)
{
	/*
	 * Where the world follows its stores, only a store into a
	 * quarantined object can have changed a sum (the machinery writes
	 * none), and it says so.
	 */
	bool untouched = w->follows_touched && !w->quarantine_touched;
	struct slab_obj *s;

	if (untouched && !slab_verify_touched())
		return;
	list_for_each_entry(s, &w->quarantine, node) {
		u32 sum = slab_checksum(s);

		if (sum == s->checksum)
			continue;
		if (untouched) {
			fprintf(stderr, "rmapfuzz bug: a freed object at %p changed, but no store reached it\n",
				slab_to_obj(s));
			abort();
		}
		w->writes_after_free++;
		s->checksum = sum;	/* report each write once */
	}
	w->quarantine_touched = false;
}

void slab_world_release(struct world *w)
{
	struct slab_obj *s, *n;
	size_t r;
	int i;

	if (w->arena) {
		/* The arena goes as a whole, with the world. */
		slab_world_init(w);
		return;
	}
	for (i = 0; i < NR_ALLOC_SITES; i++) {
		list_for_each_entry_safe(s, n, &w->sites[i].objects, node) {
			list_del(&s->node);
			world_mem_free(w->arena, s);
		}
		w->sites[i].live = 0;
		for (r = 0; r < ARRAY_SIZE(w->sites[i].touched); r++)
			world_mem_free(w->arena, w->sites[i].touched[r].obj);
		memset(w->sites[i].touched, 0, sizeof(w->sites[i].touched));
	}
	world_mem_free(w->arena, w->gone.v);
	memset(&w->gone, 0, sizeof(w->gone));
	while (!list_empty(&w->quarantine))
		slab_release_oldest(w);
	index_release(w->arena, &w->index);
}

/* ---- Memory during a race -------------------------------------------------- */

/*
 * While threads race, a pointer may be used after its object was freed by
 * another thread, and the object is identified by any address inside it
 * (a lock or a counter embedded in it), not only by its start: the race
 * keeps every object's range, sorted, with what became of it.
 */
enum { RANGE_LIVE, RANGE_TYPESAFE, RANGE_FREED };

struct race_range {
	uintptr_t start, end;
	u8 state;
	u8 site;
};

struct slab_race {
	struct race_range *v;
	size_t n, cap;
	/* Freed SLAB_TYPESAFE_BY_RCU objects: reused first, newest first. */
	struct list_head kept;
};

static const char *const site_names[NR_ALLOC_SITES] = {
	[ALLOC_SITE_MM]		= "mm_struct",
	[ALLOC_SITE_VMA]	= "vm_area_struct",
	[ALLOC_SITE_ANON_VMA]	= "anon_vma",
	[ALLOC_SITE_AVC]	= "anon_vma_chain",
	[ALLOC_SITE_PAGE]	= "folio",
};

/* Index of the last range starting at or below @addr, or -1. */
static long range_find(const struct slab_race *r, uintptr_t addr)
{
	size_t lo = 0, hi = r->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (long)lo - 1;
}

/* Record @s as live, replacing any older range its memory overlaps. */
static void range_set_live(struct slab_race *r, struct slab_obj *s)
{
	uintptr_t start = (uintptr_t)slab_to_obj(s), end = start + s->size;
	long i = range_find(r, start);
	size_t first, last;

	first = (i >= 0 && r->v[i].end > start) ? (size_t)i : (size_t)(i + 1);
	last = first;
	while (last < r->n && r->v[last].start < end)
		last++;
	if (first == last) {
		if (r->n == r->cap) {
			r->cap = r->cap ? r->cap * 2 : 64;
			r->v = realloc(r->v, r->cap * sizeof(*r->v));
			if (!r->v)
				abort();
		}
		memmove(&r->v[first + 1], &r->v[first],
			(r->n - first) * sizeof(*r->v));
		r->n++;
	} else if (last - first > 1) {
		memmove(&r->v[first + 1], &r->v[last],
			(r->n - last) * sizeof(*r->v));
		r->n -= last - first - 1;
	}
	r->v[first] = (struct race_range){ start, end, RANGE_LIVE, (u8)s->site };
}

static void range_set_state(struct slab_race *r, const void *obj, u8 state)
{
	long i = range_find(r, (uintptr_t)obj);

	if (i >= 0 && r->v[i].start == (uintptr_t)obj)
		r->v[i].state = state;
}

void slab_race_begin(struct world *w)
{
	struct slab_race *r = calloc(1, sizeof(*r));
	struct slab_obj *s;
	int site;

	if (!r)
		abort();
	INIT_LIST_HEAD(&r->kept);
	for (site = 0; site < NR_ALLOC_SITES; site++)
		list_for_each_entry(s, &w->sites[site].objects, node)
			range_set_live(r, s);
	w->slab_race = r;
}

void slab_race_end(struct world *w, bool abandoned)
{
	struct slab_race *r = w->slab_race;
	struct slab_obj *s, *n;
	int site;

	(void)abandoned;
	if (!r)
		return;
	/* Everything made in the race is everybody's now. */
	for (site = 0; site < NR_ALLOC_SITES; site++)
		list_for_each_entry(s, &w->sites[site].objects, node)
			s->owner = 0;
	/* No reader is left: what SLAB_TYPESAFE_BY_RCU kept goes now. */
	list_for_each_entry_safe(s, n, &r->kept, node) {
		list_del(&s->node);
		slab_dispose(w, s);
	}
	free(r->v);
	free(r);
	w->slab_race = NULL;
}

static void slab_race_track(struct world *w, struct slab_obj *s)
{
	if (!w->slab_race)
		return;
	range_set_live(w->slab_race, s);
	s->owner = sched_current() + 1;
}

bool slab_obj_private(void *obj)
{
	struct slab_obj *s = obj_to_slab(obj);

	return s->owner && s->owner != sched_current() + 1 && !s->seal;
}

static void *slab_race_reuse(struct world *w, struct kmem_cache *cache)
{
	struct slab_race *r = w->slab_race;
	struct slab_obj *s;

	if (!r || !cache->typesafe)
		return NULL;
	list_for_each_entry(s, &r->kept, node) {
		if (s->site != cache->site || s->size != cache->size)
			continue;
		/* Handed out again as it is: the constructor ran once. */
		list_del(&s->node);
		list_add_tail(&s->node, &w->sites[s->site].objects);
		w->sites[s->site].live++;
		s->owner = sched_current() + 1;
		s->seal = 0;
		index_mark_live(w->arena, &w->index, slab_to_obj(s), (u8)s->site);
		range_set_state(r, slab_to_obj(s), RANGE_LIVE);
		return slab_to_obj(s);
	}
	return NULL;
}

static bool slab_race_keep(struct world *w, struct kmem_cache *cache,
			   struct slab_obj *s)
{
	struct slab_race *r = w->slab_race;
	void *obj = slab_to_obj(s);
	int holder;

	if (!r)
		return false;
	range_set_state(r, obj, cache->typesafe ? RANGE_TYPESAFE : RANGE_FREED);
	/* Kept until the race ends either way, so an abandoned run frees it. */
	list_add(&s->node, &r->kept);
	/*
	 * A reader may hold a freed anon_vma's lock inside its RCU section
	 * (it re-checks and lets go); anon_vma_free()'s wait is what keeps
	 * one that went past its re-check from seeing the memory go.
	 */
	if (cache->typesafe && s->site == ALLOC_SITE_ANON_VMA) {
		sched_check_anon_vma_free(obj);
		return true;
	}
	holder = sched_lock_holder_in(obj, s->size);
	if (holder >= 0) {
		race_report("T%u: kmem_cache_free() of a %s whose lock T%d still holds: its holder will use freed memory",
			    sched_current(), site_names[s->site], holder);
		sched_abandon();
	}
	if (cache->typesafe)
		return true;
	list_del(&s->node);
	return false;
}

enum slab_touch slab_touch_state(struct world *w, const void *addr)
{
	struct slab_race *r = w->slab_race;
	long i;

	if (!r)
		return SLAB_TOUCH_OK;
	i = range_find(r, (uintptr_t)addr);
	if (i < 0 || (uintptr_t)addr >= r->v[i].end)
		return SLAB_TOUCH_OK;
	switch (r->v[i].state) {
	case RANGE_TYPESAFE:
		return SLAB_TOUCH_TYPESAFE;
	case RANGE_FREED:
		return SLAB_TOUCH_FREED;
	}
	return SLAB_TOUCH_OK;
}

bool slab_race_holds(struct world *w, const void *addr)
{
	struct slab_race *r = w->slab_race;
	long i = r ? range_find(r, (uintptr_t)addr) : -1;

	return i >= 0 && (uintptr_t)addr < r->v[i].end;
}

bool slab_race_own(struct world *w, const void *addr)
{
	struct slab_race *r = w->slab_race;
	long i = r ? range_find(r, (uintptr_t)addr) : -1;

	if (i < 0 || (uintptr_t)addr >= r->v[i].end ||
	    r->v[i].state != RANGE_LIVE)
		return false;
	return obj_to_slab((void *)r->v[i].start)->owner == sched_current() + 1;
}

const void *slab_object_of(struct world *w, const void *addr)
{
	struct slab_race *r = w->slab_race;
	long i = r ? range_find(r, (uintptr_t)addr) : -1;

	if (i < 0 || (uintptr_t)addr >= r->v[i].end)
		return addr;
	return (const void *)r->v[i].start;
}

const char *slab_describe(struct world *w, const void *addr)
{
	static const char *const states[] = { "a live", "a freed (SLAB_TYPESAFE_BY_RCU)", "a freed" };
	static _Thread_local char buf[96];
	struct slab_race *r = w->slab_race;
	long i = r ? range_find(r, (uintptr_t)addr) : -1;

	if (i < 0 || (uintptr_t)addr >= r->v[i].end)
		return "(not a slab object)";
	snprintf(buf, sizeof(buf), "(in %s %s, at offset %lu)",
		 states[r->v[i].state], site_names[r->v[i].site],
		 (unsigned long)((uintptr_t)addr - r->v[i].start));
	return buf;
}

#if RMAPFUZZ_ASAN
/* ---- ASan's reports ----------------------------------------------------- */

void *__asan_get_report_address(void);
void __asan_on_error(void);

/* Says where @addr lies against @s, if it is in or right around it. */
__attribute__((no_sanitize_address))
static bool slab_locate(const struct slab_obj *s, uintptr_t addr,
			const char *state)
{
	uintptr_t obj = (uintptr_t)slab_to_obj((struct slab_obj *)s);
	const char *what = site_names[s->site];

	if (addr < (uintptr_t)s || addr >= obj + s->size + sizeof(*s))
		return false;
	if (addr < obj)
		fprintf(stderr, "rmapfuzz: the access ASan reports below is %lu byte(s) before %s %s (object #%u), in its slab header\n",
			(unsigned long)(obj - addr), state, what, s->made);
	else if (addr < obj + s->size)
		fprintf(stderr, "rmapfuzz: the access ASan reports below is at offset %lu of %s %s (object #%u)\n",
			(unsigned long)(addr - obj), state, what, s->made);
	else
		fprintf(stderr, "rmapfuzz: the access ASan reports below is %lu byte(s) past the end of %s %s (object #%u, %zu bytes)\n",
			(unsigned long)(addr - obj - s->size), state, what,
			s->made, s->size);
	return true;
}

/*
 * Called by ASan before it reports a bad access: its allocation and free
 * stacks are not there for an arena's objects, so say which object the
 * address is in (the quarantine is looked at first: a freed object's
 * memory is what a stale pointer reaches).
 */
__attribute__((no_sanitize_address))
void __asan_on_error(void)
{
	struct world *w = current_world;
	uintptr_t addr = (uintptr_t)__asan_get_report_address();
	struct slab_obj *s;
	int i;

	if (!w || !w->arena)
		return;
	list_for_each_entry(s, &w->quarantine, node)
		if (slab_locate(s, addr, "a freed"))
			return;
	for (i = 0; i < NR_ALLOC_SITES; i++)
		list_for_each_entry(s, &w->sites[i].objects, node)
			if (slab_locate(s, addr, "a live"))
				return;
}
#endif
