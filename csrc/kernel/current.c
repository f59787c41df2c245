// SPDX-License-Identifier: GPL-2.0
/*
 * The world this thread works on, as the kernel's `current` is the task it
 * runs: everything under mm/ and kernel/ finds its state (objects, locks,
 * the anon_vma core) here, and whoever drives the world (the harness) sets
 * it. Nothing here knows about the harness.
 */
#include <rmapfuzz/world.h>

_Thread_local struct world *current_world __attribute__((tls_model("initial-exec")));
