// SPDX-License-Identifier: GPL-2.0
/*
 * anon-pgoff: our mainline core in Linux 7.3's shape. The core itself is
 * unchanged; what changes is the key: a VMA's AVCs are filed, and its new
 * anonymous pages indexed, by its anonymous page offset
 * (vma->__vm_anon_pgoff_{lo,hi}) rather than vm_pgoff. The callers keep
 * both offsets for every core; this one makes the trees, the fault path and
 * the rmap walk read the anonymous one.
 */
#define ANON_VMA_CORE_NAME	"anon-pgoff"
#define ANON_VMA_CORE_TABLE	anon_pgoff_anon_vma_core
#define ANON_VMA_CORE_EXTRA	.anon_pgoff = true,

#include "rmap.c"
