/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The interface between an anon_vma core and everything else.
 *
 * A core is one implementation of the anon_vma code: ours (mm/rmap.c,
 * mm/rmap_pre_series.c) or one extracted from a kernel tree. Each core
 * lays out struct anon_vma its own way (a degree-era kernel has a single
 * counter), so nothing outside a core looks inside one: the callers, the
 * snapshot and the hygiene audit go through the accessors below. Only
 * struct anon_vma_chain, whose layout every kernel generation shares, is
 * used directly (and checked when a kernel core is loaded).
 *
 * This header deliberately depends on no other: the translation unit of an
 * extracted kernel core includes it next to the kernel's own definitions.
 */
#ifndef _RMAPFUZZ_ANON_VMA_CORE_H
#define _RMAPFUZZ_ANON_VMA_CORE_H

#include <stdbool.h>
#include <stddef.h>

struct anon_vma;
struct anon_vma_chain;
struct vm_area_struct;
struct rb_root_cached;
struct rw_semaphore;
struct folio;

/* How an rmap walk locks the family it walks (the kernel's rwc->anon_lock). */
enum rf_walk_lock {
	/* anon_vma_lock_read() of folio->anon_vma: the walker pinned it. */
	RF_WALK_LOCK_ANON_VMA,
	/* folio_lock_anon_vma_read(): the walker holds only the folio. */
	RF_WALK_LOCK_FOLIO,
	/* The caller holds the lock already (rmap_walk_locked()). */
	RF_WALK_LOCKED,
};

/* One rmap walk (the kernel's struct rmap_walk_control). */
struct rf_walk {
	/* One mapping of the folio's index; false stops the walk. */
	bool (*rmap_one)(struct folio *folio, struct vm_area_struct *vma,
			 unsigned long address, void *arg);
	void *arg;
	/* Stop once nothing maps the folio (the kernel's rwc->done of reclaim). */
	bool stop_when_unmapped;
	enum rf_walk_lock lock;
};

/* The operation a clone serves, in the harness's numbering. */
enum rf_clone_op {
	RF_CLONE_SPLIT,
	RF_CLONE_MERGE_UNFAULTED,
	RF_CLONE_REMAP,
	RF_CLONE_FORK,
};

/* What a snapshot reads of an anon_vma, whatever its layout. */
struct anon_vma_view {
	struct anon_vma *root;
	struct anon_vma *parent;
	long refcount;
	/* Degree era: one counter of children and active VMAs together. */
	bool has_degree;
	unsigned long num_children;
	unsigned long num_active_vmas;
	unsigned long degree;
};

/* Offsets of struct anon_vma_chain, to check a core agrees with ours. */
struct avc_layout {
	size_t size, vma, anon_vma, same_vma, rb, rb_subtree_last;
	size_t cached_vma_start, cached_vma_last;
};

/* Fills *@out from the struct anon_vma_chain definition in scope. */
#define AVC_LAYOUT_FILL(out)							\
	do {									\
		(out)->size = sizeof(struct anon_vma_chain);			\
		(out)->vma = offsetof(struct anon_vma_chain, vma);		\
		(out)->anon_vma = offsetof(struct anon_vma_chain, anon_vma);	\
		(out)->same_vma = offsetof(struct anon_vma_chain, same_vma);	\
		(out)->rb = offsetof(struct anon_vma_chain, rb);		\
		(out)->rb_subtree_last =					\
			offsetof(struct anon_vma_chain, rb_subtree_last);	\
		(out)->cached_vma_start =					\
			offsetof(struct anon_vma_chain, cached_vma_start);	\
		(out)->cached_vma_last =					\
			offsetof(struct anon_vma_chain, cached_vma_last);	\
	} while (0)

struct anon_vma_core {
	const char *name;
	/* Creates the core's own slab caches, once per process (may be NULL). */
	void (*init)(void);
	int (*prepare)(struct vm_area_struct *vma);
	int (*clone)(struct vm_area_struct *dst, struct vm_area_struct *src,
		     enum rf_clone_op op);
	int (*fork)(struct vm_area_struct *vma, struct vm_area_struct *pvma);
	void (*unlink)(struct vm_area_struct *vma);
	/* A merge removes @remove, whose range @vma absorbed. */
	void (*unlink_merged)(struct vm_area_struct *vma,
			      struct vm_area_struct *remove);

	/*
	 * Around a change of @vma's range or pgoff: take its AVCs out of their
	 * trees, and put them back under the new key (in the kernel: static
	 * helpers of mm/vma.c; here the core's, since they are its trees).
	 */
	void (*pre_update_vma)(struct vm_area_struct *vma);
	void (*post_update_vma)(struct vm_area_struct *vma);

	/* Layout accessors. */
	struct rb_root_cached *(*tree)(struct anon_vma *anon_vma);
	/* The lock of @anon_vma's family (its root's rwsem). */
	struct rw_semaphore *(*family_lock)(struct anon_vma *anon_vma);
	/* @anon_vma's own rwsem (only a root's is ever taken). */
	struct rw_semaphore *(*own_rwsem)(struct anon_vma *anon_vma);
	void (*view)(struct anon_vma *anon_vma, struct anon_vma_view *out);
	/* The anon_vma's reference count (an atomic_t) and its put. */
	void *(*refcount)(struct anon_vma *anon_vma);
	void (*release)(struct anon_vma *anon_vma);
	void (*avc_layout)(struct avc_layout *out);
	/*
	 * The interval tree is a kernel tree's own, balanced by its
	 * lib/rbtree.c (colours in the parent word): the audit checks the
	 * red-black rules too. Our cores' tree is an unbalanced one.
	 */
	bool rb_colours;
	/* Checks of the snapshot a generation cannot support, for reports. */
	const char *relaxed_checks;

	/*
	 * Linux 7.3 keys a VMA's AVCs and indexes its anonymous pages by a
	 * page offset of their own (vma->__vm_anon_pgoff_{lo,hi}), not by
	 * vm_pgoff. A core of that generation sets @anon_pgoff; the helpers
	 * below are the tree's own where it has them (NULL: the harness's),
	 * so the callers exercise them as the kernel's callers do.
	 */
	bool anon_pgoff;
	unsigned long (*start_anon_pgoff)(const struct vm_area_struct *vma);
	void (*set_anon_pgoff)(struct vm_area_struct *vma, unsigned long pgoff);
	unsigned long (*anon_page_index)(const struct vm_area_struct *vma,
					 unsigned long address);
	/* Where @vma maps anonymous page offset @pgoff, or -EFAULT. */
	unsigned long (*anon_address)(const struct vm_area_struct *vma,
				      unsigned long pgoff);
	/* A stabbing query of @anon_vma's tree (NULL: the harness's tree). */
	struct anon_vma_chain *(*tree_first)(struct anon_vma *anon_vma,
					     unsigned long start,
					     unsigned long last);
	struct anon_vma_chain *(*tree_next)(struct anon_vma_chain *avc,
					    unsigned long start,
					    unsigned long last);

	/*
	 * The read side, as rmap walkers use it (folio_get_anon_vma(),
	 * folio_lock_anon_vma_read(), rmap_walk_anon()). NULL: ours
	 * (mm/rmap_read.c), over the accessors above.
	 */
	struct anon_vma *(*walker_get)(struct folio *folio);
	struct anon_vma *(*walker_lock)(struct folio *folio);
	void (*walker_walk)(struct folio *folio, const struct rf_walk *walk);
};

#endif /* _RMAPFUZZ_ANON_VMA_CORE_H */
