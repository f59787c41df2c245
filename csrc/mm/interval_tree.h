/* SPDX-License-Identifier: GPL-2.0 */
/* Harness-side helpers of the anon_vma interval tree (mm/interval_tree.c). */
#ifndef __MM_INTERVAL_TREE_H
#define __MM_INTERVAL_TREE_H

#include <linux/rbtree.h>
#include <linux/types.h>

struct anon_vma_chain;

/*
 * The harness's anon_vma interval tree, which our cores use. An extracted
 * kernel core brings the tree's own (its mm/interval_tree.c over its
 * lib/rbtree.c); the shims therefore leave these names undeclared.
 */
void anon_vma_interval_tree_insert(struct anon_vma_chain *node,
				   struct rb_root_cached *root);
void anon_vma_interval_tree_remove(struct anon_vma_chain *node,
				   struct rb_root_cached *root);
struct anon_vma_chain *
anon_vma_interval_tree_iter_first(struct rb_root_cached *root,
				  unsigned long start, unsigned long last);
struct anon_vma_chain *
anon_vma_interval_tree_iter_next(struct anon_vma_chain *node,
				 unsigned long start, unsigned long last);
void anon_vma_interval_tree_verify(struct anon_vma_chain *node);

/*
 * Structural faults (order, parent links, augmented values, leftmost), and
 * with @coloured the red-black rules of a kernel tree's lib/rbtree.c.
 */
unsigned int anon_vma_interval_tree_check(struct rb_root_cached *root,
					  bool coloured);
/* In-order traversal, for snapshots. */
struct anon_vma_chain *anon_vma_interval_tree_first(struct rb_root_cached *root);
struct anon_vma_chain *anon_vma_interval_tree_next(struct anon_vma_chain *avc);

#endif /* __MM_INTERVAL_TREE_H */
