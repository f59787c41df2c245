/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tree node types with the kernel's names. The only tree in the model is the
 * anon_vma interval tree (mm/interval_tree.c); it keeps these fields but is
 * a plain augmented binary search tree: the trees hold a handful of nodes,
 * and balance is not what is under test.
 */
#ifndef _LINUX_RBTREE_H
#define _LINUX_RBTREE_H

#include <linux/kernel.h>

struct rb_node {
	unsigned long __rb_parent_color;	/* here: the parent pointer */
	struct rb_node *rb_right;
	struct rb_node *rb_left;
};

struct rb_root {
	struct rb_node *rb_node;
};

struct rb_root_cached {
	struct rb_root rb_root;
	struct rb_node *rb_leftmost;
};

#define RB_ROOT			(struct rb_root) { NULL, }
#define RB_ROOT_CACHED		(struct rb_root_cached) { { NULL, }, NULL }
#define RB_EMPTY_ROOT(root)	(READ_ONCE((root)->rb_node) == NULL)
#define rb_entry(ptr, type, member) container_of(ptr, type, member)

static inline struct rb_node *rb_parent(const struct rb_node *node)
{
	return (struct rb_node *)node->__rb_parent_color;
}

static inline void rb_set_parent(struct rb_node *node, struct rb_node *parent)
{
	node->__rb_parent_color = (unsigned long)parent;
}

#endif /* _LINUX_RBTREE_H */
