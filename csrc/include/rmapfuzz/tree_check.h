/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The audit of an anon_vma interval tree, for any world whose struct
 * anon_vma_chain has the kernel's layout (ours, or a tree's own in its
 * tools/testing/vma world): order by @start, parent links, augmented
 * values from @last, the cached leftmost node and, with @coloured, the
 * red-black rules. Returns the number of faults found. Depends on no
 * other header, so either world can include it.
 */
#ifndef _RMAPFUZZ_TREE_CHECK_H
#define _RMAPFUZZ_TREE_CHECK_H

#include <stdbool.h>

struct rb_root_cached;
struct anon_vma_chain;

unsigned int avc_tree_check_keyed(struct rb_root_cached *root, bool coloured,
				  unsigned long (*start)(struct anon_vma_chain *),
				  unsigned long (*last)(struct anon_vma_chain *));

#endif /* _RMAPFUZZ_TREE_CHECK_H */
