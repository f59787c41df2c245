// SPDX-License-Identifier: GPL-2.0
/*
 * The lock rule of the anon interval tree in a tree's own world: an
 * anon_vma's tree changes only while its family's root rwsem is held for
 * write (anon_vma_lock_write(); the rmap walk's readers rely on it).
 *
 * The world's rwsems are pthread rwlocks (tools/include/linux/rwsem.h);
 * early.h routes this unit's pthread_rwlock_wrlock()/_unlock() here. Each
 * anon_vma's tree is sealed (a hash of its shape, node by node) when its
 * root's write lock is released and at the end of every operation; a seal
 * found broken when the root is next write-locked, or at the end of the
 * operation with the root not held, is a change made without the lock
 * (hygiene.lock). Part of rmapfuzz's driver of a tree's own callers:
 * compiled inside the unit generated for the tree, after snapshot.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "world.h"

/* The live anon_vma whose rwsem wraps @lock, or NULL. */
static struct anon_vma *anon_vma_of_lock(pthread_rwlock_t *lock)
{
	struct rw_semaphore *sem = container_of(lock, struct rw_semaphore, lock);
	struct anon_vma *anon_vma = container_of(sem, struct anon_vma, rwsem);

	return tw_live(anon_vma, RF_SITE_ANON_VMA) ? anon_vma : NULL;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x100000001b3ULL;
}

/* The shape of @anon_vma's tree; 0 when it reaches freed objects. */
static uint64_t seal_of(struct anon_vma *anon_vma)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	struct rb_node *node;

	h = mix(h, (uintptr_t)anon_vma->rb_root.rb_leftmost);
	for (node = rb_first_cached(&anon_vma->rb_root); node;
	     node = rb_next(node)) {
		struct anon_vma_chain *avc = rb_entry(node, struct anon_vma_chain, rb);

		/* A node that is not a live AVC is the tree audit's to report. */
		if (!tw_live(avc, RF_SITE_AVC))
			return 0;
		h = mix(h, (uintptr_t)avc);
		h = mix(h, node->__rb_parent_color);
		h = mix(h, (uintptr_t)node->rb_left);
		h = mix(h, (uintptr_t)node->rb_right);
		h = mix(h, avc->rb_subtree_last);
	}
	return h | 1;	/* never 0: 0 is "not sealed yet" */
}

static struct tw_seal *seal_slot(struct tw_world *w, const struct anon_vma *av)
{
	size_t i;

	for (i = 0; i < w->nr_seals; i++) {
		if (w->seals[i].anon_vma == av)
			return &w->seals[i];
	}
	if (w->nr_seals == w->cap_seals) {
		w->cap_seals = w->cap_seals ? 2 * w->cap_seals : 16;
		w->seals = realloc(w->seals, w->cap_seals * sizeof(*w->seals));
		if (!w->seals)
			abort();
	}
	w->seals[w->nr_seals] = (struct tw_seal){ .anon_vma = av };
	return &w->seals[w->nr_seals++];
}

static bool root_write_held(struct tw_world *w, const struct anon_vma *root)
{
	size_t i;

	for (i = 0; i < w->nr_held; i++) {
		if (w->held[i] == root)
			return true;
	}
	return false;
}

static void lock_problem(struct tw_world *w, struct anon_vma *anon_vma,
			 const char *what)
{
	if (w->nr_lock_problems < TW_MAX_LOCK_PROBLEMS)
		snprintf(w->lock_problems[w->nr_lock_problems],
			 sizeof(w->lock_problems[0]), "anon_vma #%d: %s",
			 tw_ref(anon_vma, RF_SITE_ANON_VMA), what);
	w->nr_lock_problems++;
}

/*
 * Compares (@check) and/or records (@record) the seal of every live
 * anon_vma whose root is @root (every one when @root is NULL) and, with
 * @unheld_only, whose root is not write-held.
 */
static void seal_family(struct tw_world *w, const struct anon_vma *root,
			bool unheld_only, bool check, bool record,
			const char *when)
{
	size_t i;

	for (i = 0; i < w->live[RF_SITE_ANON_VMA].n; i++) {
		struct anon_vma *av = w->live[RF_SITE_ANON_VMA].v[i];
		struct tw_seal *seal;
		uint64_t now;

		if (root && av->root != root)
			continue;
		if (unheld_only && root_write_held(w, av->root))
			continue;
		seal = seal_slot(w, av);
		now = seal_of(av);
		if (check && seal->seal && now && seal->seal != now)
			lock_problem(w, av, when);
		if (record || (check && seal->seal != now))
			seal->seal = now;
	}
}

int rf_tw_wrlock(pthread_rwlock_t *lock)
{
	struct tw_world *w = tw_current;
	struct anon_vma *anon_vma = w ? anon_vma_of_lock(lock) : NULL;
	int ret = (pthread_rwlock_wrlock)(lock);

	if (!anon_vma)
		return ret;
	if (anon_vma->root == anon_vma)
		seal_family(w, anon_vma, false, true, false,
			    "its interval tree changed while its family's rwsem was not held for write (noticed when the root's rwsem was next taken)");
	if (w->nr_held == w->cap_held) {
		w->cap_held = w->cap_held ? 2 * w->cap_held : 8;
		w->held = realloc(w->held, w->cap_held * sizeof(*w->held));
		if (!w->held)
			abort();
	}
	w->held[w->nr_held++] = anon_vma;
	return ret;
}

int rf_tw_rwunlock(pthread_rwlock_t *lock)
{
	struct tw_world *w = tw_current;
	struct anon_vma *anon_vma = w ? anon_vma_of_lock(lock) : NULL;
	size_t i;

	for (i = 0; anon_vma && i < w->nr_held; i++) {
		if (w->held[i] != anon_vma)
			continue;
		/* A write unlock: the family's trees as they are now are sealed. */
		w->held[i] = w->held[--w->nr_held];
		if (anon_vma->root == anon_vma)
			seal_family(w, anon_vma, false, false, true, NULL);
		break;
	}
	return (pthread_rwlock_unlock)(lock);
}

/* After an operation: what changed with no root held, then seal all. */
void tw_locks_op_end(struct tw_world *w)
{
	size_t i, kept = 0;

	for (i = 0; i < w->nr_held; i++) {
		if (tw_live(w->held[i], RF_SITE_ANON_VMA))
			lock_problem(w, w->held[i],
				     "its rwsem is still held for write at the end of the operation");
	}
	seal_family(w, NULL, true, true, true,
		    "its interval tree changed while its family's rwsem was not held for write (noticed at the end of the operation)");
	/* Seals of freed anon_vmas go; so do locks of freed ones. */
	for (i = 0; i < w->nr_seals; i++) {
		if (tw_live(w->seals[i].anon_vma, RF_SITE_ANON_VMA))
			w->seals[kept++] = w->seals[i];
	}
	w->nr_seals = kept;
	for (i = 0, kept = 0; i < w->nr_held; i++) {
		if (tw_live(w->held[i], RF_SITE_ANON_VMA))
			w->held[kept++] = w->held[i];
	}
	w->nr_held = kept;
}
