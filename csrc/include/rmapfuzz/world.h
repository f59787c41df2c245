/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The state behind one harness world: the mms, the selected anon_vma core,
 * fault injection and everything the shims record for the hygiene checks.
 * Only the shim implementations and harness.c look inside; the mm code
 * reaches it through slab, rwsem and warning shims.
 */
#ifndef _RMAPFUZZ_WORLD_H
#define _RMAPFUZZ_WORLD_H

#include <linux/list.h>
#include <linux/slab.h>
#include <linux/types.h>

struct anon_vma_core;

#define WORLD_MAX_ATTEMPTS	256
#define WORLD_MAX_WARNINGS	16
#define WORLD_QUARANTINE	4096

struct warn_hit {
	const char *file;
	int line;
	const char *cond;
};

struct slab_site_state {
	u64 live;
	struct list_head objects;	/* live objects of this site */
};

struct world {
	const struct anon_vma_core *core;
	struct list_head mms;		/* ordered by mm_id */
	unsigned int next_mm_id;

	/* Fault injection for the operation in progress (fail_nth). */
	unsigned int fail_nth;		/* 0: nothing fails */
	bool fail_and_later;
	unsigned int nr_attempts;
	u8 attempts[WORLD_MAX_ATTEMPTS];

	/* Slab accounting; freed objects wait in quarantine (non-ASan). */
	struct slab_site_state sites[NR_ALLOC_SITES];
	struct list_head quarantine;
	size_t nr_quarantined;
	u64 writes_after_free;

	/* Hygiene records, cleared when reported. */
	int locks_held;
	unsigned int nr_warnings;
	struct warn_hit warnings[WORLD_MAX_WARNINGS];
};

extern _Thread_local struct world *current_world;

void slab_world_init(struct world *w);
/* Checks quarantined objects for writes after free; counts them. */
void slab_check_quarantine(struct world *w);
/* Releases every object, live or quarantined (world teardown). */
void slab_world_release(struct world *w);
/* Scratch index of a live object, for snapshots. */
u32 *slab_obj_scratch(void *obj);
/* Visit every live object of @site, oldest first. */
void slab_for_each_live(struct world *w, enum alloc_site site,
			void (*fn)(void *obj, void *arg), void *arg);

#endif /* _RMAPFUZZ_WORLD_H */
