// SPDX-License-Identifier: GPL-2.0
/*
 * Pages, page tables and the rmap walk: rmapfuzz's model of what
 * mm/memory.c and mm/rmap.c's walkers do, over the tree's structures.
 * Part of rmapfuzz's driver of a tree's own callers: compiled inside the
 * unit generated for the tree, after world.c (see world.c).
 */
#include <stdlib.h>
#include <string.h>

#include "world.h"
#include "../include/rmapfuzz/hits.h"

/* ---- Pages and page tables ------------------------------------------------ */

static struct tw_folio *folio_alloc(void)
{
	struct tw_folio *folio;

	if (attempt_fails(RF_SITE_PAGE))
		return NULL;
	folio = calloc(1, sizeof(*folio));
	if (!folio)
		abort();
	objs_add(&tw_current->live[RF_SITE_PAGE], folio);
	return folio;
}

static void folio_put(struct tw_folio *folio)
{
	objs_del(&tw_current->live[RF_SITE_PAGE], folio);
	free(folio);
}

struct tw_mm *tw_mm_of(struct mm_struct *mm)
{
	return container_of(mm, struct tw_mm, mm);
}

static size_t pte_index(const struct tw_mm *mm, unsigned long addr)
{
	size_t lo = 0, hi = mm->nr_ptes;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mm->ptes[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct tw_folio *tw_pte_folio(struct tw_mm *mm, unsigned long addr)
{
	size_t i = pte_index(mm, addr);

	if (i < mm->nr_ptes && mm->ptes[i].addr == addr)
		return mm->ptes[i].folio;
	return NULL;
}

static void pte_install(struct tw_mm *mm, unsigned long addr,
			struct tw_folio *folio)
{
	size_t i = pte_index(mm, addr);

	if (i < mm->nr_ptes && mm->ptes[i].addr == addr) {
		mm->ptes[i].folio = folio;
		return;
	}
	if (mm->nr_ptes == mm->cap_ptes) {
		mm->cap_ptes = mm->cap_ptes ? mm->cap_ptes * 2 : 16;
		mm->ptes = realloc(mm->ptes, mm->cap_ptes * sizeof(*mm->ptes));
		if (!mm->ptes)
			abort();
	}
	memmove(&mm->ptes[i + 1], &mm->ptes[i],
		(mm->nr_ptes - i) * sizeof(*mm->ptes));
	mm->ptes[i].addr = addr;
	mm->ptes[i].folio = folio;
	mm->nr_ptes++;
}

static void pte_clear_range(struct tw_mm *mm, unsigned long start,
			    unsigned long end);

/* Unmaps the page at @addr (reclaim); freed if mapped nowhere else. */
void tw_pte_unmap(struct tw_mm *mm, unsigned long addr)
{
	pte_clear_range(mm, addr, addr + PAGE_SIZE);
}

/* Unmaps [start, end): a page no longer mapped anywhere is freed. */
static void pte_clear_range(struct tw_mm *mm, unsigned long start,
			    unsigned long end)
{
	size_t first = pte_index(mm, start), last = pte_index(mm, end), i;

	for (i = first; i < last; i++) {
		struct tw_folio *folio = mm->ptes[i].folio;

		if (--folio->mapcount == 0)
			folio_put(folio);
	}
	memmove(&mm->ptes[first], &mm->ptes[last],
		(mm->nr_ptes - last) * sizeof(*mm->ptes));
	mm->nr_ptes -= last - first;
}

/* mremap's move of the page tables of [start, end) to @new_start. */
static void pte_move_range(struct tw_mm *mm, unsigned long start,
			   unsigned long end, unsigned long new_start)
{
	size_t first = pte_index(mm, start), last = pte_index(mm, end);
	size_t n = last - first, i;
	struct tw_pte *moved;

	if (!n)
		return;
	moved = malloc(n * sizeof(*moved));
	if (!moved)
		abort();
	memcpy(moved, &mm->ptes[first], n * sizeof(*moved));
	memmove(&mm->ptes[first], &mm->ptes[last],
		(mm->nr_ptes - last) * sizeof(*mm->ptes));
	mm->nr_ptes -= n;
	for (i = 0; i < n; i++)
		pte_install(mm, moved[i].addr - start + new_start, moved[i].folio);
	free(moved);
}

/*
 * mm/memory.c's, which the test world stubs out: after unmap_vmas() (here:
 * the page tables of each dying VMA), each VMA leaves its anon_vmas.
 */
#ifdef RF_TW_FREE_PGTABLES_MAS
void free_pgtables(struct mmu_gather *tlb, struct ma_state *mas,
		   struct vm_area_struct *vma, unsigned long floor,
		   unsigned long ceiling, bool mm_wr_locked)
{
	(void)tlb;
	(void)floor;
	while (vma) {
		/*
		 * The next before this one is gone; ceiling 0 is no limit. No
		 * failed fork's XA_ZERO_ENTRY marker is ever stored here.
		 */
		struct vm_area_struct *next = mas_find(mas, ceiling - 1);

		if (mm_wr_locked)
			vma_start_write(vma);
		pte_clear_range(tw_mm_of(vma->vm_mm), vma->vm_start, vma->vm_end);
		unlink_anon_vmas(vma);
		vma = next;
	}
}
#else
void free_pgtables(struct mmu_gather *tlb, struct unmap_desc *unmap)
{
	struct vm_area_struct *vma = unmap->first;

	(void)tlb;
	while (vma) {
		if (unmap->mm_wr_locked)
			vma_start_write(vma);
		pte_clear_range(tw_mm_of(vma->vm_mm), vma->vm_start, vma->vm_end);
		unlink_anon_vmas(vma);
		vma = mas_find(unmap->mas, unmap->tree_end - 1);
	}
}
#endif

/* ---- Keys --------------------------------------------------------------- */

unsigned long tw_key_start(struct vm_area_struct *vma)
{
#ifdef RF_TW_ANON_PGOFF
	return vma_start_anon_pgoff(vma);
#else
	return vma->vm_pgoff;
#endif
}

unsigned long tw_key_last(struct vm_area_struct *vma)
{
	return tw_key_start(vma) + vma_pages(vma) - 1;
}

#ifdef RF_TW_ANON_PGOFF
#define tw_tree_first(av, s, l)		anon_rmap_tree_iter_first(av, s, l)
#define tw_tree_next(avc, s, l)		anon_rmap_tree_iter_next(avc, s, l)
#else
#define tw_tree_first(av, s, l)		\
	anon_vma_interval_tree_iter_first(&(av)->rb_root, s, l)
#define tw_tree_next(avc, s, l)		anon_vma_interval_tree_iter_next(avc, s, l)
#endif

static void hits_push(struct tw_vec_hits *hits, struct rf_hit hit)
{
	if (hits->n == hits->cap) {
		hits->cap = hits->cap ? hits->cap * 2 : 16;
		hits->v = realloc(hits->v, hits->cap * sizeof(*hits->v));
		if (!hits->v)
			abort();
	}
	hits->v[hits->n++] = hit;
}

/* Every node of @anon_vma's tree is a live AVC of a live VMA. */
static bool tree_reaches_only_live(struct anon_vma *anon_vma)
{
	struct rb_node *node;

	for (node = rb_first_cached(&anon_vma->rb_root); node;
	     node = rb_next(node)) {
		struct anon_vma_chain *avc = rb_entry(node, struct anon_vma_chain, rb);

		if (!tw_live(avc, RF_SITE_AVC) || !tw_live(avc->vma, RF_SITE_VMA))
			return false;
	}
	return true;
}

/* The kernel's rmap_walk_anon(): the tree's own stabbing query. */
void tw_collect_rmap_hits(struct tw_folio *folio, struct tw_vec_hits *hits)
{
	struct anon_vma *anon_vma = folio->anon_vma;
	struct anon_vma_chain *avc;
	pgoff_t pgoff = folio->index;
	size_t first = hits->n;

	if (!tree_reaches_only_live(anon_vma)) {
		struct rf_hit freed = { .mm = UINT32_MAX };

		hits_push(hits, freed);
		return;
	}
	anon_vma_lock_read(anon_vma);
	for (avc = tw_tree_first(anon_vma, pgoff, pgoff); avc;
	     avc = tw_tree_next(avc, pgoff, pgoff)) {
		struct vm_area_struct *vma = avc->vma;
		unsigned long address = vma->vm_start +
			((pgoff - tw_key_start(vma)) << PAGE_SHIFT);
		struct tw_mm *mm = tw_mm_of(vma->vm_mm);

		if (address < vma->vm_start || address >= vma->vm_end ||
		    tw_pte_folio(mm, address) != folio)
			continue;
		hits_push(hits, (struct rf_hit){ .mm = mm->id, .addr = address });
	}
	anon_vma_unlock_read(anon_vma);
	qsort(hits->v + first, hits->n - first, sizeof(*hits->v), rf_hit_cmp);
}
