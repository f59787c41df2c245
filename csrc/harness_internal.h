/* SPDX-License-Identifier: GPL-2.0 */
/* What harness.c and snapshot.c share about a harness world. */
#ifndef RMAPFUZZ_HARNESS_INTERNAL_H
#define RMAPFUZZ_HARNESS_INTERNAL_H

#include <stdlib.h>

#include <rmapfuzz/world.h>
#include <rmapfuzz/write_watch.h>

#include "harness.h"
#include <rmapfuzz/hits.h>

/* A growable array; the host allocator, never an injection site. */
#define VEC(type) struct { type *v; size_t n, cap; }

#define vec_reset(vec) ((vec)->n = 0)

/* Makes room in @vec for @nr items (its length unchanged). */
#define vec_grow(vec, nr)						\
	do {								\
		size_t __nr = (nr);					\
		if (__nr > (vec)->cap) {				\
			void *__p = realloc((vec)->v,			\
					    __nr * sizeof(*(vec)->v));	\
			if (!__p)					\
				abort();				\
			(vec)->v = __p;					\
			(vec)->cap = __nr;				\
		}							\
	} while (0)

#define vec_push(vec, item)						\
	do {								\
		if ((vec)->n == (vec)->cap)				\
			vec_grow(vec, (vec)->cap ? (vec)->cap * 2 : 32); \
		(vec)->v[(vec)->n++] = (item);				\
	} while (0)

#define vec_free(vec) (free((vec)->v), (vec)->v = NULL, (vec)->n = (vec)->cap = 0)

/* Makes @vec hold @nr items, those past its old length unset. */
#define vec_resize(vec, nr)						\
	do {								\
		size_t __len = (nr);					\
		vec_grow(vec, __len);					\
		(vec)->n = __len;					\
	} while (0)

struct hit_vec {
	struct rf_hit *v;
	size_t n, cap;
};

/*
 * What a snapshot is built in. A world takes these from the last world
 * its thread freed (rf_snap_bufs_take()), so the fuzzers, which make a
 * world per input, do not grow them from nothing every time.
 */
/* Whether the rmap walks from an anon_vma's tree may find anything new. */
struct snap_walks {
	void *anon_vma;
	bool stale;
};

struct snap_bufs {
	VEC(struct rf_snap_mm) mms;
	VEC(uint32_t) vma_order;
	VEC(struct rf_snap_vma) vmas;
	VEC(int32_t) chain;
	VEC(struct rf_snap_avc) avcs;
	VEC(struct rf_snap_anon_vma) anon_vmas;
	VEC(struct rf_snap_tree_node) tree;
	VEC(struct rf_snap_page) pages;
	struct hit_vec hits;
	/* Every mapping of every mm, for the pages' mappers. */
	VEC(struct rf_mapping) maps;
	/* The same grouped by page, and where each page's group ends. */
	struct hit_vec mapped;
	VEC(uint32_t) ends;
	/* The live objects of each site, numbered by position. */
	VEC(void *) objs[NR_ALLOC_SITES];
	/* When each record's object was made, per site. */
	VEC(uint32_t) ids[NR_ALLOC_SITES];
	/* What was freed since the snapshot before (a partial one's). */
	VEC(struct rf_snap_gone) gone;
	/* The anon_vmas whose walks a partial one looked at, and its verdict. */
	VEC(struct snap_walks) walks;
};

struct rf_world_ops;

struct rf_world {
	struct world w;
	/* Which world this is, for the saved states taken from it. */
	uint64_t serial;

	/* A world of a tree's own callers, which does everything itself. */
	const struct rf_world_ops *ops;
	void *impl;

	/* Results of the last rf_world_apply(RF_OP_RMAP). */
	struct hit_vec rmap_hits;

	/* The last race's threads and trace (csrc/race.c). */
	struct race_state *race;

	/* Backing store of the last snapshot. */
	struct snap_bufs snap;
	/* The one being taken names objects by when they were made. */
	bool snap_by_made;
	/*
	 * The world has followed every store since its last snapshot (the
	 * touched lists' TOUCH_SNAP): the next may be partial.
	 */
	bool snap_synced;
	/* The caller will ask for partial snapshots (rf_world_snapshot_follow()). */
	bool snap_follow;

	/* Text of the last hygiene report. */
	VEC(char) hygiene_text;

	/*
	 * The live objects are byte for byte those of a checkpoint whose
	 * interval trees passed the audit, so hygiene need not walk them
	 * again. Entering the world or restoring it forgets it.
	 */
	bool trees_as_saved;

	/* What the step since rf_world_watch() wrote (<rmapfuzz/write_watch.h>). */
	struct write_watch watch;
	/*
	 * The interval trees passed the audit and nothing was written since;
	 * and whether they had when the watch began.
	 */
	bool trees_sound;
	bool trees_sound_at_watch;
	/* The next hygiene audits every tree, touched or not. */
	bool audit_all;
};

/* @rw becomes the current world of this thread until world_leave(). */
static inline void world_enter(struct rf_world *rw)
{
	rw->trees_as_saved = false;
	current_world = &rw->w;
	write_watch = rw->watch.armed || rw->watch.owners ? &rw->watch : NULL;
}

static inline void world_leave(void)
{
	current_world = NULL;
	write_watch = NULL;
}

struct folio;
struct anon_vma_chain;
struct rb_root_cached;

/*
 * Walk @folio's anon_vma tree; append where it is really mapped, sorted.
 * A tree that reaches freed memory is not walked (the kernel's walk would
 * use it after free): one hit with mm UINT32_MAX says so.
 */
void rf_collect_rmap_hits(struct rf_world *rw, struct folio *folio,
			  struct hit_vec *hits, bool folio_locked);

/* In-order walk of an interval tree that checks each node before reading it. */
bool rf_tree_walk(struct rf_world *rw, struct rb_root_cached *tree,
		  bool (*fn)(struct anon_vma_chain *avc, int32_t ref, void *arg),
		  void *arg);
/* Every node of @tree, its VMA and that VMA's mm are live. */
bool rf_tree_reaches_only_live(struct rf_world *rw, struct rb_root_cached *tree);

/* The snapshot buffers of a new world, and back from one being freed. */
void rf_snap_bufs_take(struct snap_bufs *bufs);
void rf_snap_bufs_give(struct snap_bufs *bufs);

/* Operations, for harness.c and race.c. */
struct mm_struct;
struct vm_area_struct;
struct rf_op;
struct mm_struct *rf_find_mm(struct rf_world *rw, uint32_t id);
/* An operation of an mm's own, under its mmap_lock. */
uint32_t rf_apply_mm_op(struct rf_world *rw, struct mm_struct *mm,
			const struct rf_op *op);
bool rf_op_is_walker(const struct rf_op *op);
/* The folio a walker works on, pinned; NULL and *@status if none. */
struct folio *rf_walker_folio(struct rf_world *rw, const struct rf_op *op,
			      uint32_t *status);
uint32_t rf_run_walker(struct rf_world *rw, struct folio *folio,
		       const struct rf_op *op, struct hit_vec *hits);
void rf_mm_put(struct mm_struct *mm);
void record_hit(struct folio *folio, struct vm_area_struct *vma,
		unsigned long address, void *arg);
void rf_race_release(struct rf_world *rw);

#endif /* RMAPFUZZ_HARNESS_INTERNAL_H */
