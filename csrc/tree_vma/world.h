/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A world of a tree's own callers: its mm_structs (the tools/testing/vma
 * world's, with the maple tree), the objects its slab caches handed out,
 * and rmapfuzz's model of pages and page tables, which the tree's mm/vma.c
 * does not have (mm/memory.c is not part of that build).
 */
#ifndef _RMAPFUZZ_TREE_VMA_WORLD_H
#define _RMAPFUZZ_TREE_VMA_WORLD_H

#include "../include/rmapfuzz/world_ops.h"

/* An order-0 anonymous folio, as the harness models it. */
struct tw_folio {
	struct anon_vma *anon_vma;
	pgoff_t index;
	long mapcount;
};

struct tw_pte {
	unsigned long addr;
	struct tw_folio *folio;
};

/* One process: the tree's mm_struct and rmapfuzz's page tables. */
struct tw_mm {
	struct mm_struct mm;
	uint32_t id;
	struct tw_pte *ptes;
	size_t nr_ptes, cap_ptes;
	struct tw_mm *next;		/* the world's mms, oldest first */
};

/*
 * The live objects of one site, in the order they were made (a snapshot
 * numbers them by it), and where each sits in that order: every pointer
 * a snapshot or a check classifies is looked up here.
 */
struct tw_objs {
	void **v;
	size_t n, cap;
	/* Open addressing, linear probing; a NULL key is a free slot. */
	struct tw_pos {
		const void *obj;
		size_t pos;
	} *slots;
	size_t nr_slots;
};

struct tw_vec_hits {
	struct rf_hit *v;
	size_t n, cap;
};

#define TW_MAX_WARNINGS	8
#define TW_MAX_LOCK_PROBLEMS	8

/* The shape an anon_vma's tree was last seen with under its lock. */
struct tw_seal {
	const struct anon_vma *anon_vma;
	uint64_t seal;		/* 0: not sealed yet */
};

struct tw_world {
	struct tw_mm *mms;
	uint32_t next_mm_id;
	struct tw_objs live[RF_NR_SITES];

	/* The fault plan of the operation under way, and its attempts. */
	uint32_t fail_nth;
	bool fail_and_later;
	uint32_t nr_attempts;
	uint8_t attempts[RF_MAX_ALLOCS];

	struct tw_vec_hits rmap_hits;

	/* The maple preallocation to fail in the operation under way. */
	uint32_t maple_nth, nr_preallocs;
	bool maple_failed;

	/* The lock rule of the anon interval trees (locks.c). */
	struct tw_seal *seals;
	size_t nr_seals, cap_seals;
	struct anon_vma **held;		/* rwsems held for write */
	size_t nr_held, cap_held;
	char lock_problems[TW_MAX_LOCK_PROBLEMS][200];
	unsigned int nr_lock_problems;

	/* WARN_ON()s hit since the last hygiene report. */
	struct {
		const char *file;
		int line;
		const char *cond;
	} warnings[TW_MAX_WARNINGS];
	unsigned int nr_warnings;

	/* Backing store of the last snapshot and hygiene report. */
	struct {
		struct rf_snap_mm *mms;
		uint32_t *vma_order;
		struct rf_snap_vma *vmas;
		int32_t *chain;
		struct rf_snap_avc *avcs;
		struct rf_snap_anon_vma *anon_vmas;
		struct rf_snap_tree_node *tree;
		struct rf_snap_page *pages;
		struct tw_vec_hits hits;
		size_t nr_chain, cap_chain, nr_tree, cap_tree, nr_order, cap_order;
	} snap;
	char *hygiene;
	size_t hygiene_len, hygiene_cap;
};

/* The world the driver works on (one operation at a time per thread). */
extern __thread struct tw_world *tw_current;

/* Index of @obj among the live objects of @site, or an RF_REF_*. */
int32_t tw_ref(const void *obj, enum rf_site site);
bool tw_live(const void *obj, enum rf_site site);

/* Where @vma's AVCs are keyed and its anonymous pages indexed. */
unsigned long tw_key_start(struct vm_area_struct *vma);
unsigned long tw_key_last(struct vm_area_struct *vma);

struct tw_folio *tw_pte_folio(struct tw_mm *mm, unsigned long addr);
void tw_pte_unmap(struct tw_mm *mm, unsigned long addr);
struct tw_mm *tw_mm_of(struct mm_struct *mm);

/* Where @folio is mapped, found by walking its anon_vma's tree; sorted. */
void tw_collect_rmap_hits(struct tw_folio *folio, struct tw_vec_hits *hits);

void tw_snapshot(void *world, struct rf_snapshot *out);
void tw_locks_op_end(struct tw_world *w);
void tw_hygiene(void *world, struct rf_hygiene *out);

/* ---- What worlds spell differently (rf_config.h says which) ----------- */

/* Taking a VMA out of its tree, as the world spells it. */
static inline void tw_vma_detach(struct vm_area_struct *vma)
{
#ifdef RF_TW_DETACHED_FLAG
	vma_mark_detached(vma, true);
#else
	vma_mark_detached(vma);
#endif
}

#ifdef RF_TW_VM_FLAGS
typedef vm_flags_t tw_flags_t;
#define tw_flags_of(vma)		((vma)->vm_flags)
#define tw_flag_set(flags, bit)		(*(flags) |= VM_##bit)
#define tw_flag_clear(flags, bit)	(*(flags) &= ~VM_##bit)
#define tw_flags_write(vma, flags)	((vma)->__vm_flags = (flags))
#define tw_modify_flags(vmi, prev, vma, s, e, flags) \
	vma_modify_flags(vmi, prev, vma, s, e, *(flags))
#else
typedef vma_flags_t tw_flags_t;
#define tw_flags_of(vma)		((vma)->flags)
#define tw_flag_set(flags, bit)		vma_flags_set(flags, VMA_##bit##_BIT)
#define tw_flag_clear(flags, bit)	vma_flags_clear(flags, VMA_##bit##_BIT)
#define tw_flags_write(vma, flags)	((vma)->flags = (flags))
#define tw_modify_flags(vmi, prev, vma, s, e, flags) \
	vma_modify_flags(vmi, prev, vma, s, e, flags)
#endif

#endif /* _RMAPFUZZ_TREE_VMA_WORLD_H */
