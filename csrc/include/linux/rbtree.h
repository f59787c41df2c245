/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tree node types with the kernel's names and layout. Our own anon_vma
 * interval tree (mm/interval_tree.c) keeps these fields but is a plain
 * augmented binary search tree whose nodes carry no colour; a kernel tree's
 * core brings its own red-black tree (lib/rbtree.c), which stores colours
 * in the parent word, so readers of any tree go through rb_parent().
 */
#ifndef _LINUX_RBTREE_H
#define _LINUX_RBTREE_H

#include <linux/kernel.h>

struct rb_node {
	unsigned long __rb_parent_color;	/* parent | colour */
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

/* The low bits of __rb_parent_color hold the colour (kernel trees only). */
static inline struct rb_node *rb_parent(const struct rb_node *node)
{
	return (struct rb_node *)(node->__rb_parent_color & ~3UL);
}

#endif /* _LINUX_RBTREE_H */
