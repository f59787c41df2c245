/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A world the harness does not build itself: a kernel tree's own callers
 * (its mm/vma.c, built the way its tools/testing/vma builds it) around its
 * own anon_vma core. Such a world lives in translation units compiled
 * against the tree's userspace headers, whose struct vm_area_struct and
 * struct mm_struct are not ours, so nothing of it is shared with the
 * harness but this table and the neutral types of harness.h: rf_world_*
 * hand each call to it unchanged.
 */
#ifndef _RMAPFUZZ_WORLD_OPS_H
#define _RMAPFUZZ_WORLD_OPS_H

#include "../../harness.h"

struct rf_world_ops {
	/* The variant the world is registered as. */
	const char *name;
	/* Checks of the snapshot the world cannot support, for reports. */
	const char *relaxed_checks;
	/* A world with process 0 and nothing mapped, or NULL. */
	void *(*create)(void);
	void (*apply)(void *world, const struct rf_op *op, uint32_t fail_nth,
		      bool fail_and_later, struct rf_outcome *out);
	/* Arms a maple preallocation failure for the next apply. */
	void (*fail_maple)(void *world, uint32_t nth);
	void (*snapshot)(void *world, struct rf_snapshot *out);
	void (*hygiene)(void *world, struct rf_hygiene *out);
	void (*exit_all)(void *world);
	/* Exits what is left, counts leaks (@leaks may be NULL), frees all. */
	void (*free)(void *world, uint64_t leaks[RF_NR_SITES]);
	/* Frees what can be freed without running kernel code. */
	void (*discard)(void *world);
};

#endif /* _RMAPFUZZ_WORLD_OPS_H */
