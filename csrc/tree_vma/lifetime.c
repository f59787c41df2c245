// SPDX-License-Identifier: GPL-2.0
/*
 * Making, ending and discarding a world; the table the harness calls.
 * Part of rmapfuzz's driver of a tree's own callers: compiled inside the
 * unit generated for the tree, after world.c (see world.c).
 */
#include <stdlib.h>
#include <string.h>

#include "world.h"
#include "../include/rmapfuzz/hits.h"

/* ---- Lifetime ---------------------------------------------------------------- */

static pthread_once_t tw_once = PTHREAD_ONCE_INIT;

static void tw_init_caches(void)
{
	maple_tree_init();
#ifdef RF_TW_OWN_VMA_CACHE
	vm_area_cachep = kmem_cache_create("vm_area_struct",
					   sizeof(struct vm_area_struct),
					   __alignof__(struct vm_area_struct),
					   0, NULL);
#else
	vma_state_init();
#endif
	anon_vma_init();
}

static void *tw_create(void)
{
	struct tw_world *w = calloc(1, sizeof(*w));
	struct tw_mm *mm;

	if (!w)
		abort();
	pthread_once(&tw_once, tw_init_caches);
	tw_current = w;
	mm = mm_alloc();
	mm->id = 0;
	mm_list_add(w, mm);
	w->next_mm_id = 1;
	w->nr_attempts = 0;
	tw_current = NULL;
	return w;
}

static void tw_exit_all(void *world)
{
	struct tw_world *w = world;

	tw_current = w;
	while (w->mms) {
		struct tw_mm *mm = w->mms;

		current->mm = &mm->mm;
		tear_down(mm);
		w->mms = mm->next;
		mm_free(mm);
	}
	tw_current = NULL;
}

static void tw_release(struct tw_world *w)
{
	int site;

	for (site = 0; site < RF_NR_SITES; site++) {
		free(w->live[site].v);
		free(w->live[site].slots);
	}
	free(w->rmap_hits.v);
	free(w->snap.mms);
	free(w->snap.vma_order);
	free(w->snap.vmas);
	free(w->snap.chain);
	free(w->snap.avcs);
	free(w->snap.anon_vmas);
	free(w->snap.tree);
	free(w->snap.pages);
	free(w->snap.hits.v);
	free(w->hygiene);
	free(w->seals);
	free(w->held);
	free(w);
}

static void tw_free(void *world, uint64_t leaks[RF_NR_SITES])
{
	struct tw_world *w = world;
	int site;

	tw_exit_all(w);
	for (site = 0; site < RF_NR_SITES; site++) {
		if (leaks)
			leaks[site] = w->live[site].n;
	}
	tw_release(w);
}

/* A broken world: its objects are dropped, none of its code runs. */
static void tw_discard(void *world)
{
	struct tw_world *w = world;
	size_t i;

	for (i = 0; i < w->live[RF_SITE_PAGE].n; i++)
		free(w->live[RF_SITE_PAGE].v[i]);
	for (i = 0; i < w->live[RF_SITE_MM].n; i++) {
		struct tw_mm *mm = w->live[RF_SITE_MM].v[i];

		free(mm->ptes);
		free(mm);
	}
	tw_release(w);
}

const struct rf_world_ops kernel_vma_world_ops = {
	.name		= "kernel-vma",
	.create		= tw_create,
	.apply		= tw_apply,
	.fail_maple	= tw_fail_maple,
	.snapshot	= tw_snapshot,
	.hygiene	= tw_hygiene,
	.exit_all	= tw_exit_all,
	.free		= tw_free,
	.discard	= tw_discard,
};
