// SPDX-License-Identifier: GPL-2.0
/*
 * The anon_vma interval tree: anon_vma_chains ordered by the start pgoff of
 * their VMA, each node augmented with the largest last pgoff in its subtree
 * so a stabbing query can skip subtrees that end too early.
 *
 * As in the kernel, keys are read from avc->vma every time, so a VMA whose
 * range changes while its AVCs sit in a tree corrupts the tree. With
 * CONFIG_DEBUG_VM_RB each AVC also remembers the key it was inserted with,
 * which is how such a missed re-keying is caught.
 *
 * Unlike the kernel the tree is not balanced (see linux/rbtree.h).
 */
#include <linux/mm.h>
#include <linux/rmap.h>

#include "interval_tree.h"
#include <rmapfuzz/tree_check.h>
#include "internal.h"

/*
 * Every change to an anon_vma's tree happens under its family's rwsem (the
 * root's) taken for writing; every search with it held at least for
 * reading. Reported by the lock checker with the caller's function.
 */
#define assert_tree_locked(node)					\
	lockdep_assert_held_write_what(					\
		current_anon_vma_core()->family_lock((node)->anon_vma),	\
		LOCK_CLASS_ANON_VMA, "the family's rwsem, to change its trees")
#define assert_tree_searchable(node)					\
	lockdep_assert_held_what(					\
		current_anon_vma_core()->family_lock((node)->anon_vma),	\
		LOCK_CLASS_ANON_VMA, "the family's rwsem, to search its trees")

/* How the tree is keyed: the start and last pgoff of a chain's VMA. */
struct avc_tree_keys {
	unsigned long (*start)(struct anon_vma_chain *avc);
	unsigned long (*last)(struct anon_vma_chain *avc);
};

/* Our nodes carry no colour: the parent word is the parent. */
static void rb_set_parent_node(struct rb_node *node, struct rb_node *parent)
{
	node->__rb_parent_color = (unsigned long)parent;
}

static inline struct anon_vma_chain *rb_to_avc(struct rb_node *node)
{
	return node ? rb_entry(node, struct anon_vma_chain, rb) : NULL;
}

/*
 * The harness's keys: the VMA's pgoff range, or with a core of 7.3's
 * generation its anonymous page offset range (read as stored).
 */
static unsigned long avc_start_pgoff(struct anon_vma_chain *avc)
{
	return avc_key_start(avc->vma);
}

static unsigned long avc_last_pgoff(struct anon_vma_chain *avc)
{
	return avc_key_last(avc->vma);
}

static const struct avc_tree_keys harness_keys = {
	.start	= avc_start_pgoff,
	.last	= avc_last_pgoff,
};

static unsigned long subtree_last_of(struct rb_node *node)
{
	return node ? rb_to_avc(node)->rb_subtree_last : 0;
}

/* The augmented value a node should carry, from its children's values. */
static unsigned long compute_subtree_last(struct anon_vma_chain *avc,
					  const struct avc_tree_keys *keys)
{
	unsigned long last = keys->last(avc);

	last = max(last, subtree_last_of(avc->rb.rb_left));
	last = max(last, subtree_last_of(avc->rb.rb_right));
	return last;
}

/* Recompute the augmented values from @node up to the root. */
static void propagate_subtree_last(struct rb_node *node,
				   const struct avc_tree_keys *keys)
{
	for (; node; node = rb_parent(node))
		rb_to_avc(node)->rb_subtree_last =
			compute_subtree_last(rb_to_avc(node), keys);
}

static struct rb_node *rb_first_of(struct rb_node *node)
{
	if (!node)
		return NULL;
	while (node->rb_left)
		node = node->rb_left;
	return node;
}

static struct rb_node *rb_next_of(struct rb_node *node)
{
	struct rb_node *parent;

	if (node->rb_right)
		return rb_first_of(node->rb_right);
	while ((parent = rb_parent(node)) && node == parent->rb_right)
		node = parent;
	return parent;
}

/* Make @new take @old's place under @old's parent. */
static void replace_child(struct rb_root *root, struct rb_node *old,
			  struct rb_node *new)
{
	struct rb_node *parent = rb_parent(old);

	if (!parent)
		root->rb_node = new;
	else if (parent->rb_left == old)
		parent->rb_left = new;
	else
		parent->rb_right = new;
	if (new)
		rb_set_parent_node(new, parent);
}

static void avc_tree_insert(struct anon_vma_chain *node, struct rb_root_cached *root,
		     const struct avc_tree_keys *keys)
{
	struct rb_node **link = &root->rb_root.rb_node;
	struct rb_node *parent = NULL;
	unsigned long start = keys->start(node);
	unsigned long last = keys->last(node);
	bool leftmost = true;

	assert_tree_locked(node);
#ifdef CONFIG_DEBUG_VM_RB
	node->cached_vma_start = start;
	node->cached_vma_last = last;
#endif
	while (*link) {
		struct anon_vma_chain *cur = rb_to_avc(*link);

		parent = *link;
		if (cur->rb_subtree_last < last)
			cur->rb_subtree_last = last;
		/* Equal keys go right, so insertion order is kept. */
		if (start < keys->start(cur)) {
			link = &parent->rb_left;
		} else {
			link = &parent->rb_right;
			leftmost = false;
		}
	}

	node->rb.rb_left = NULL;
	node->rb.rb_right = NULL;
	rb_set_parent_node(&node->rb, parent);
	node->rb_subtree_last = last;
	*link = &node->rb;
	if (leftmost)
		root->rb_leftmost = &node->rb;
}

static void avc_tree_remove(struct anon_vma_chain *node, struct rb_root_cached *root,
		     const struct avc_tree_keys *keys)
{
	struct rb_node *victim = &node->rb;
	struct rb_node *fixup;

	assert_tree_locked(node);
	if (root->rb_leftmost == victim)
		root->rb_leftmost = rb_next_of(victim);

	if (!victim->rb_left || !victim->rb_right) {
		struct rb_node *child = victim->rb_left ? victim->rb_left :
							  victim->rb_right;

		fixup = rb_parent(victim);
		replace_child(&root->rb_root, victim, child);
	} else {
		/* Two children: the in-order successor takes its place. */
		struct rb_node *succ = rb_first_of(victim->rb_right);

		if (rb_parent(succ) != victim) {
			fixup = rb_parent(succ);
			replace_child(&root->rb_root, succ, succ->rb_right);
			succ->rb_right = victim->rb_right;
			rb_set_parent_node(succ->rb_right, succ);
		} else {
			fixup = succ;
		}
		replace_child(&root->rb_root, victim, succ);
		succ->rb_left = victim->rb_left;
		rb_set_parent_node(succ->rb_left, succ);
	}
	propagate_subtree_last(fixup, keys);

	victim->rb_left = victim->rb_right = NULL;
	rb_set_parent_node(victim, NULL);
}

/*
 * The leftmost node of the subtree at @node whose interval meets
 * [start, last], or NULL. Nodes are ordered by start, so the first match in
 * order is found by preferring the left subtree whenever it can hold one.
 */
static struct anon_vma_chain *
subtree_first_match(struct rb_node *node, unsigned long start,
		    unsigned long last, const struct avc_tree_keys *keys)
{
	while (node) {
		struct anon_vma_chain *avc = rb_to_avc(node);

		if (node->rb_left && subtree_last_of(node->rb_left) >= start) {
			node = node->rb_left;
			continue;
		}
		/* Nothing on the left: this node, then the right subtree. */
		if (keys->start(avc) > last)
			return NULL;
		if (keys->last(avc) >= start)
			return avc;
		node = node->rb_right;
		if (!node || subtree_last_of(node) < start)
			return NULL;
	}
	return NULL;
}

static struct anon_vma_chain *
avc_tree_iter_first(struct rb_root_cached *root, unsigned long start,
		    unsigned long last, const struct avc_tree_keys *keys)
{
	struct rb_node *top = root->rb_root.rb_node;

	if (top)
		assert_tree_searchable(rb_to_avc(top));
	if (!top || subtree_last_of(top) < start)
		return NULL;
	return subtree_first_match(top, start, last, keys);
}

static struct anon_vma_chain *
avc_tree_iter_next(struct anon_vma_chain *node, unsigned long start,
		   unsigned long last, const struct avc_tree_keys *keys)
{
	struct rb_node *cur = &node->rb;

	assert_tree_searchable(node);
	for (;;) {
		struct rb_node *right = cur->rb_right;
		struct rb_node *parent;

		/* Matches after @cur in its right subtree come first. */
		if (right && subtree_last_of(right) >= start)
			return subtree_first_match(right, start, last, keys);

		/* Otherwise climb to the first ancestor we are left of. */
		for (;;) {
			parent = rb_parent(cur);
			if (!parent)
				return NULL;
			if (parent->rb_left == cur)
				break;
			cur = parent;
		}
		cur = parent;
		if (keys->start(rb_to_avc(cur)) > last)
			return NULL;
		if (keys->last(rb_to_avc(cur)) >= start)
			return rb_to_avc(cur);
	}
}

/* Our cores' (and older trees') tree, keyed the harness's way. */
void anon_vma_interval_tree_insert(struct anon_vma_chain *node,
				   struct rb_root_cached *root)
{
	avc_tree_insert(node, root, &harness_keys);
}

void anon_vma_interval_tree_remove(struct anon_vma_chain *node,
				   struct rb_root_cached *root)
{
	avc_tree_remove(node, root, &harness_keys);
}

struct anon_vma_chain *
anon_vma_interval_tree_iter_first(struct rb_root_cached *root,
				  unsigned long start, unsigned long last)
{
	return avc_tree_iter_first(root, start, last, &harness_keys);
}

struct anon_vma_chain *
anon_vma_interval_tree_iter_next(struct anon_vma_chain *node,
				 unsigned long start, unsigned long last)
{
	return avc_tree_iter_next(node, start, last, &harness_keys);
}

void anon_vma_interval_tree_verify(struct anon_vma_chain *node)
{
	WARN_ON_ONCE(node->cached_vma_start != avc_start_pgoff(node));
	WARN_ON_ONCE(node->cached_vma_last != avc_last_pgoff(node));
}

/* Checks the shape of one subtree; returns the number of faults found. */
static unsigned int check_subtree(struct rb_node *node, struct rb_node *parent,
				  unsigned long *prev_start, bool *seen,
				  const struct avc_tree_keys *keys)
{
	struct anon_vma_chain *avc;
	unsigned int faults = 0;

	if (!node)
		return 0;
	avc = rb_to_avc(node);
	if (rb_parent(node) != parent)
		faults++;
	faults += check_subtree(node->rb_left, node, prev_start, seen, keys);
	if (*seen && keys->start(avc) < *prev_start)
		faults++;
	*prev_start = keys->start(avc);
	*seen = true;
	if (avc->rb_subtree_last != compute_subtree_last(avc, keys))
		faults++;
	faults += check_subtree(node->rb_right, node, prev_start, seen, keys);
	return faults;
}

/* A kernel red-black node's colour bit: set for black. */
static bool rb_node_is_black(const struct rb_node *node)
{
	return !node || (node->__rb_parent_color & 1);
}

/*
 * Red-black rules of one subtree (no red node with a red child, one black
 * height on every path); returns its black height, counting faults.
 */
static unsigned int check_colours(const struct rb_node *node,
				  unsigned int *faults)
{
	unsigned int left, right;

	if (!node)
		return 1;
	if (!rb_node_is_black(node) &&
	    (!rb_node_is_black(node->rb_left) || !rb_node_is_black(node->rb_right)))
		(*faults)++;
	left = check_colours(node->rb_left, faults);
	right = check_colours(node->rb_right, faults);
	if (left != right)
		(*faults)++;
	return max(left, right) + rb_node_is_black(node);
}

unsigned int anon_vma_interval_tree_check(struct rb_root_cached *root,
					  bool coloured)
{
	return avc_tree_check_keyed(root, coloured, avc_start_pgoff,
				    avc_last_pgoff);
}

unsigned int avc_tree_check_keyed(struct rb_root_cached *root, bool coloured,
				  unsigned long (*start)(struct anon_vma_chain *),
				  unsigned long (*last)(struct anon_vma_chain *))
{
	const struct avc_tree_keys keys = { .start = start, .last = last };
	unsigned long prev_start = 0;
	bool seen = false;
	unsigned int faults;

	faults = check_subtree(root->rb_root.rb_node, NULL, &prev_start, &seen,
			       &keys);
	if (root->rb_leftmost != rb_first_of(root->rb_root.rb_node))
		faults++;
	if (coloured) {
		if (!rb_node_is_black(root->rb_root.rb_node))
			faults++;
		check_colours(root->rb_root.rb_node, &faults);
	}
	return faults;
}

struct anon_vma_chain *anon_vma_interval_tree_first(struct rb_root_cached *root)
{
	return rb_to_avc(rb_first_of(root->rb_root.rb_node));
}

struct anon_vma_chain *anon_vma_interval_tree_next(struct anon_vma_chain *avc)
{
	return rb_to_avc(rb_next_of(&avc->rb));
}
