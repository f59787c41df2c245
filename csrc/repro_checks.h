/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Checks a standalone reproducer (rmapfuzz c-repro) runs on a C world
 * without the Rust side: the rules of src/check/invariants/ that are about
 * counters and reverse mapping, the harness's own hygiene, and leaks.
 */
#ifndef _RMAPFUZZ_REPRO_CHECKS_H
#define _RMAPFUZZ_REPRO_CHECKS_H

#include <stdbool.h>
#include <stddef.h>

#include "harness.h"

/*
 * Runs @check ("invariant.counter.num_active_vmas", "hygiene", ..., or
 * "any" for every check below) on @world. Returns true and describes the
 * first violation in @buf if one is found.
 */
bool rf_repro_check(struct rf_world *world, const char *check,
		    char *buf, size_t size);

/* Whether rf_repro_check() knows @check. */
bool rf_repro_supports(const char *check);

#endif /* _RMAPFUZZ_REPRO_CHECKS_H */
