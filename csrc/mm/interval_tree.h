/* SPDX-License-Identifier: GPL-2.0 */
/* Harness-side helpers of the anon_vma interval tree (mm/interval_tree.c). */
#ifndef __MM_INTERVAL_TREE_H
#define __MM_INTERVAL_TREE_H

#include <linux/rbtree.h>

struct anon_vma_chain;

/* Structural faults (order, parent links, augmented values, leftmost). */
unsigned int anon_vma_interval_tree_check(struct rb_root_cached *root);
/* In-order traversal, for snapshots. */
struct anon_vma_chain *anon_vma_interval_tree_first(struct rb_root_cached *root);
struct anon_vma_chain *anon_vma_interval_tree_next(struct anon_vma_chain *avc);

#endif /* __MM_INTERVAL_TREE_H */
