// SPDX-License-Identifier: GPL-2.0
/*
 * Where VM_WARN_ON_ONCE() and friends land: the first hits are kept with
 * their location for the report, later ones are only counted.
 */
#include <stdio.h>
#include <stdlib.h>

#include <linux/mmdebug.h>
#include <rmapfuzz/world.h>

void vm_warn_record(const char *file, int line, const char *cond)
{
	struct world *w = current_world;

	if (!w) {
		fprintf(stderr, "rmapfuzz: %s:%d: warning outside a world: %s\n",
			file, line, cond);
		abort();
	}
	if (w->nr_warnings < WORLD_MAX_WARNINGS) {
		struct warn_hit *hit = &w->warnings[w->nr_warnings];

		hit->file = file;
		hit->line = line;
		hit->cond = cond;
	}
	w->nr_warnings++;
}
