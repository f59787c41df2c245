/* SPDX-License-Identifier: GPL-2.0 */
/*
 * INTERVAL_TREE_DEFINE for the one kind of tree extracted code instantiates:
 * anon_vma_chains in an anon_vma's rb_root (Linux 7.3's mm/interval_tree.c
 * defines __anon_rmap_tree this way). The functions it defines run the
 * harness's interval tree (mm/interval_tree.c) under the tree's own key
 * functions, so a wrong key there files AVCs wrongly here too.
 */
#ifndef _LINUX_INTERVAL_TREE_GENERIC_H
#define _LINUX_INTERVAL_TREE_GENERIC_H

#include <linux/mm.h>

#define INTERVAL_TREE_DEFINE(ITSTRUCT, ITRB, ITTYPE, ITSUBTREE,		\
			     ITSTART, ITLAST, ITSTATIC, ITPREFIX)	\
_Static_assert(__builtin_types_compatible_p(ITSTRUCT,			\
					    struct anon_vma_chain),	\
	       "rmapfuzz models interval trees of anon_vma_chains only"); \
									\
static unsigned long ITPREFIX ## _key_start(struct anon_vma_chain *node) \
{									\
	return ITSTART(node);						\
}									\
									\
static unsigned long ITPREFIX ## _key_last(struct anon_vma_chain *node) \
{									\
	return ITLAST(node);						\
}									\
									\
static const struct avc_tree_keys ITPREFIX ## _keys = {			\
	.start	= ITPREFIX ## _key_start,				\
	.last	= ITPREFIX ## _key_last,				\
};									\
									\
ITSTATIC void ITPREFIX ## _insert(ITSTRUCT *node,			\
				  struct rb_root_cached *root)		\
{									\
	avc_tree_insert(node, root, &ITPREFIX ## _keys);		\
}									\
									\
ITSTATIC void ITPREFIX ## _remove(ITSTRUCT *node,			\
				  struct rb_root_cached *root)		\
{									\
	avc_tree_remove(node, root, &ITPREFIX ## _keys);		\
}									\
									\
ITSTATIC ITSTRUCT *ITPREFIX ## _iter_first(struct rb_root_cached *root, \
					   ITTYPE start, ITTYPE last)	\
{									\
	return avc_tree_iter_first(root, start, last, &ITPREFIX ## _keys); \
}									\
									\
ITSTATIC ITSTRUCT *ITPREFIX ## _iter_next(ITSTRUCT *node,		\
					  ITTYPE start, ITTYPE last)	\
{									\
	return avc_tree_iter_next(node, start, last, &ITPREFIX ## _keys); \
}

#endif /* _LINUX_INTERVAL_TREE_GENERIC_H */
