// SPDX-License-Identifier: GPL-2.0
/*
 * rmapfuzz's driver of a tree's own callers. Compiled only inside the unit
 * rmap-extract generates for a tree that ships tools/testing/vma
 * (extract/src/vma_world.rs), after the tree's mm/vma.c and its anon_vma
 * core, in that directory's world: the structs here are the tree's.
 *
 * The harness's operations go through the tree's code where the tree's
 * mm/vma.c has it: mmap_region, split_vma, vma_merge_existing_range,
 * copy_vma, do_vmi_munmap and vma_modify_flags. What the kernel keeps
 * elsewhere is ours, acting on the same structures: the fault path, fork's
 * copy of the VMAs, exit, the rmap walk, and page tables (a sorted array
 * per mm, as in csrc/mm/memory.c).
 *
 * This file: what the test world's main.c would define, warnings, and the
 * accounting of every allocation; memory.c: pages, page tables and the
 * rmap walk; ops.c: the operations; snapshot.c: snapshots and hygiene;
 * lifetime.c: worlds made and ended, and the table the harness calls.
 */
#include <stdlib.h>
#include <string.h>

#include "world.h"

__thread struct tw_world *tw_current;

/* What the test directory's main.c and shared.c define for its world. */
#ifdef RF_TW_SHARED_C
bool fail_prealloc;
unsigned long mmap_min_addr = CONFIG_DEFAULT_MMAP_MIN_ADDR;
unsigned long dac_mmap_min_addr = CONFIG_DEFAULT_MMAP_MIN_ADDR;
unsigned long stack_guard_gap = 256UL << PAGE_SHIFT;
int sysctl_max_map_count = DEFAULT_MAX_MAP_COUNT;
#endif
const struct vm_operations_struct vma_dummy_vm_ops;
#ifdef RF_TW_OWN_VMA_CACHE
struct kmem_cache *vm_area_cachep;	/* the driver's (see below) */
#endif

static __thread struct task_struct tw_task;

struct task_struct *get_current(void)
{
	return &tw_task;
}

#ifdef RF_TW_SHARED_C
unsigned long rlimit(unsigned int limit)
{
	(void)limit;
	return ~0UL;
}
#endif

#ifdef RF_TW_NEED_VMA_SET_RANGE
void vma_set_range(struct vm_area_struct *vma, unsigned long start,
		   unsigned long end, pgoff_t pgoff)
{
	vma->vm_start = start;
	vma->vm_end = end;
	vma->vm_pgoff = pgoff;
}
#endif

/* ---- Warnings ------------------------------------------------------------ */

/* A WARN_ON() of the tree's code or the world's, for the next hygiene. */
void rf_tw_warn(const char *file, int line, const char *cond)
{
	struct tw_world *w = tw_current;

	if (!w)
		return;
	if (w->nr_warnings < TW_MAX_WARNINGS) {
		w->warnings[w->nr_warnings].file = file;
		w->warnings[w->nr_warnings].line = line;
		w->warnings[w->nr_warnings].cond = cond;
	}
	w->nr_warnings++;
}

/* The world's printf() (see early.h): not printed. */
int rf_tw_printf(const char *fmt, ...)
{
	(void)fmt;
	return 0;
}

/* The maple tree's dumps after its warnings (see early.h): not printed. */
void rf_tw_mt_dump(const struct maple_tree *mt, enum mt_dump_format format)
{
	(void)mt;
	(void)format;
}

void rf_tw_mas_dump(const struct ma_state *mas)
{
	(void)mas;
}

/* ---- Maple preallocations -------------------------------------------------- */

int rf_tw_prealloc(struct vma_iterator *vmi, struct vm_area_struct *vma)
{
	struct tw_world *w = tw_current;

	if (w && w->maple_nth && ++w->nr_preallocs == w->maple_nth) {
		w->maple_failed = true;
		return -ENOMEM;
	}
	return mas_preallocate(&vmi->mas, vma, GFP_KERNEL);
}

/* ---- Live objects and allocation attempts --------------------------------- */

static size_t pos_hash(const struct tw_objs *o, const void *obj)
{
	uint64_t h = (uint64_t)(uintptr_t)obj * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h >> 32) & (o->nr_slots - 1);
}

/* The slot of @obj, or the free slot where it would go. */
static struct tw_pos *pos_slot(const struct tw_objs *o, const void *obj)
{
	size_t i = pos_hash(o, obj);

	while (o->slots[i].obj && o->slots[i].obj != obj)
		i = (i + 1) & (o->nr_slots - 1);
	return &o->slots[i];
}

/* Room for one more at under half full: rebuilt from the list. */
static void pos_reserve(struct tw_objs *o)
{
	size_t i;

	if (2 * (o->n + 1) <= o->nr_slots)
		return;
	free(o->slots);
	o->nr_slots = o->nr_slots ? 2 * o->nr_slots : 64;
	o->slots = calloc(o->nr_slots, sizeof(*o->slots));
	if (!o->slots)
		abort();
	for (i = 0; i < o->n; i++)
		*pos_slot(o, o->v[i]) = (struct tw_pos){ o->v[i], i };
}

/*
 * Empties @slot, then moves back each entry after it that a probe from
 * its home would no longer reach across the hole.
 */
static void pos_remove(struct tw_objs *o, struct tw_pos *slot)
{
	size_t mask = o->nr_slots - 1, hole = (size_t)(slot - o->slots);
	size_t i = hole;

	for (;;) {
		size_t home;

		o->slots[hole].obj = NULL;
		do {
			i = (i + 1) & mask;
			if (!o->slots[i].obj)
				return;
			home = pos_hash(o, o->slots[i].obj);
		} while (hole <= i ? (hole < home && home <= i) :
				     (hole < home || home <= i));
		o->slots[hole] = o->slots[i];
		hole = i;
	}
}

static void objs_add(struct tw_objs *o, void *obj)
{
	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 32;
		o->v = realloc(o->v, o->cap * sizeof(*o->v));
		if (!o->v)
			abort();
	}
	pos_reserve(o);
	*pos_slot(o, obj) = (struct tw_pos){ obj, o->n };
	o->v[o->n++] = obj;
}

static long objs_index(const struct tw_objs *o, const void *obj)
{
	const struct tw_pos *slot;

	if (!o->nr_slots)
		return -1;
	slot = pos_slot(o, obj);
	return slot->obj ? (long)slot->pos : -1;
}

static void objs_del(struct tw_objs *o, const void *obj)
{
	struct tw_pos *slot;
	size_t i;

	if (!o->nr_slots)
		return;
	slot = pos_slot(o, obj);
	if (!slot->obj)
		return;
	i = slot->pos;
	pos_remove(o, slot);
	memmove(&o->v[i], &o->v[i + 1], (o->n - i - 1) * sizeof(*o->v));
	o->n--;
	/* Those after it moved down one. */
	for (; i < o->n; i++)
		pos_slot(o, o->v[i])->pos = i;
}

int32_t tw_ref(const void *obj, enum rf_site site)
{
	long i;

	if (!obj)
		return RF_REF_NULL;
	i = objs_index(&tw_current->live[site], obj);
	return i < 0 ? RF_REF_DANGLING : (int32_t)i;
}

bool tw_live(const void *obj, enum rf_site site)
{
	return obj && objs_index(&tw_current->live[site], obj) >= 0;
}

/* Records an attempt at @site; true when the fault plan fails it. */
static bool attempt_fails(enum rf_site site)
{
	struct tw_world *w = tw_current;
	uint32_t nth = ++w->nr_attempts;

	if (nth <= RF_MAX_ALLOCS)
		w->attempts[nth - 1] = site;
	return w->fail_nth && (nth == w->fail_nth ||
			       (w->fail_and_later && nth > w->fail_nth));
}

static enum rf_site site_of_cache(struct kmem_cache *cachep)
{
	if (cachep == vm_area_cachep)
		return RF_SITE_VMA;
	if (cachep == anon_vma_cachep)
		return RF_SITE_ANON_VMA;
	if (cachep == anon_vma_chain_cachep)
		return RF_SITE_AVC;
	return RF_NR_SITES;	/* the maple tree's nodes: not modelled */
}

void *rf_tw_cache_alloc(struct kmem_cache *cachep, gfp_t gfp)
{
	enum rf_site site = site_of_cache(cachep);
	void *obj;

	if (site != RF_NR_SITES && tw_current && attempt_fails(site))
		return NULL;
	/*
	 * The tools' slab fails every allocation that may not sleep, to
	 * test the maple tree's fallbacks. A kernel's GFP_NOWAIT of these
	 * caches succeeds unless memory is short: here, unless the fault
	 * plan failed it above (6.12's anon_vma_clone tries GFP_NOWAIT
	 * first and would otherwise always take its GFP_KERNEL retry).
	 */
	if (site != RF_NR_SITES)
		gfp |= __GFP_DIRECT_RECLAIM;
	obj = kmem_cache_alloc_lru(cachep, NULL, gfp);
	if (obj && site != RF_NR_SITES && tw_current)
		objs_add(&tw_current->live[site], obj);
	return obj;
}

void rf_tw_cache_free(struct kmem_cache *cachep, void *obj)
{
	enum rf_site site = site_of_cache(cachep);

	if (obj && site != RF_NR_SITES && tw_current)
		objs_del(&tw_current->live[site], obj);
	(kmem_cache_free)(cachep, obj);
}

#ifdef RF_TW_OWN_VMA_CACHE
/*
 * kernel/fork.c's VMA allocators, for a world whose headers had them
 * calloc() (6.12): from a cache, so they are counted and can fail as the
 * kernel's can. The per-VMA lock stays the world's own allocation.
 */
struct vm_area_struct *vm_area_alloc(struct mm_struct *mm)
{
	struct vm_area_struct *vma = kmem_cache_alloc(vm_area_cachep, GFP_KERNEL);

	if (!vma)
		return NULL;
	vma_init(vma, mm);
	if (!vma_lock_alloc(vma)) {
		kmem_cache_free(vm_area_cachep, vma);
		return NULL;
	}
	return vma;
}

struct vm_area_struct *vm_area_dup(struct vm_area_struct *orig)
{
	struct vm_area_struct *new = kmem_cache_alloc(vm_area_cachep, GFP_KERNEL);

	if (!new)
		return NULL;
	memcpy(new, orig, sizeof(*new));
	if (!vma_lock_alloc(new)) {
		kmem_cache_free(vm_area_cachep, new);
		return NULL;
	}
	INIT_LIST_HEAD(&new->anon_vma_chain);
	return new;
}

void vm_area_free(struct vm_area_struct *vma)
{
	vma_lock_free(vma);
	kmem_cache_free(vm_area_cachep, vma);
}
#endif
