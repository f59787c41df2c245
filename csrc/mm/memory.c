// SPDX-License-Identifier: GPL-2.0
/*
 * Pages and page tables of the model, and the anonymous fault paths after
 * do_anonymous_page() and do_wp_page(). A page-table entry maps one
 * order-0 folio; entries are not write-protected explicitly: an entry whose
 * folio has more than one mapping is a COW entry, one with a single mapping
 * is reused on a write fault.
 */
#include <stdlib.h>
#include <string.h>

#include <linux/mm.h>
#include <linux/rmap.h>

#include "internal.h"

static struct kmem_cache *folio_cachep;

struct folio *folio_alloc(void)
{
	return kmem_cache_zalloc(folio_cachep, GFP_KERNEL);
}

void folio_put(struct folio *folio)
{
	VM_WARN_ON_ONCE(folio->mapcount != 0);
	kmem_cache_free(folio_cachep, folio);
}

/* Index of the first entry at or above @addr. */
static size_t pte_index(const struct mm_ptes *ptes, unsigned long addr)
{
	size_t lo = 0, hi = ptes->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ptes->entries[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct folio *pte_folio(struct mm_struct *mm, unsigned long addr)
{
	size_t i = pte_index(&mm->ptes, addr);

	if (i < mm->ptes.nr && mm->ptes.entries[i].addr == addr)
		return mm->ptes.entries[i].folio;
	return NULL;
}

/*
 * Map @folio at @addr, replacing what was there. Page tables are outside the
 * fault-injection sites, so growth uses the host allocator.
 */
void pte_install(struct mm_struct *mm, unsigned long addr, struct folio *folio)
{
	struct mm_ptes *ptes = &mm->ptes;
	size_t i = pte_index(ptes, addr);

	if (i < ptes->nr && ptes->entries[i].addr == addr) {
		ptes->entries[i].folio = folio;
		return;
	}
	if (ptes->nr == ptes->cap) {
		size_t cap = ptes->cap ? ptes->cap * 2 : 16;
		struct pte_entry *entries;

		entries = realloc(ptes->entries, cap * sizeof(*entries));
		if (!entries)
			abort();
		ptes->entries = entries;
		ptes->cap = cap;
	}
	memmove(&ptes->entries[i + 1], &ptes->entries[i],
		(ptes->nr - i) * sizeof(*ptes->entries));
	ptes->entries[i].addr = addr;
	ptes->entries[i].folio = folio;
	ptes->nr++;
}

/* Drop the mappings in [start, end); a folio nobody maps is freed. */
void pte_clear_range(struct mm_struct *mm, unsigned long start,
		     unsigned long end)
{
	struct mm_ptes *ptes = &mm->ptes;
	size_t first = pte_index(ptes, start);
	size_t last = pte_index(ptes, end);
	size_t i;

	if (first == last)
		return;
	for (i = first; i < last; i++) {
		struct folio *folio = ptes->entries[i].folio;

		if (--folio->mapcount == 0)
			folio_put(folio);
	}
	memmove(&ptes->entries[first], &ptes->entries[last],
		(ptes->nr - last) * sizeof(*ptes->entries));
	ptes->nr -= last - first;
}

/* mremap: the entries of [start, end) now live at new_start onwards. */
void pte_move_range(struct mm_struct *mm, unsigned long start,
		    unsigned long end, unsigned long new_start)
{
	struct mm_ptes *ptes = &mm->ptes;
	size_t first = pte_index(ptes, start);
	size_t last = pte_index(ptes, end);
	size_t n = last - first, i;
	struct pte_entry *moved;

	if (!n)
		return;
	moved = malloc(n * sizeof(*moved));
	if (!moved)
		abort();
	memcpy(moved, &ptes->entries[first], n * sizeof(*moved));
	memmove(&ptes->entries[first], &ptes->entries[last],
		(ptes->nr - last) * sizeof(*ptes->entries));
	ptes->nr -= n;
	for (i = 0; i < n; i++)
		pte_install(mm, moved[i].addr - start + new_start, moved[i].folio);
	free(moved);
}

void pte_table_free(struct mm_struct *mm)
{
	free(mm->ptes.entries);
	mm->ptes.entries = NULL;
	mm->ptes.nr = mm->ptes.cap = 0;
}

/*
 * Map a new folio of the VMA's own anon_vma at @address, replacing what
 * was there. The anon_vma stays even if the allocation fails.
 */
static int map_new_folio(struct vm_area_struct *vma, unsigned long address)
{
	struct folio *folio;

	if (unlikely(anon_vma_prepare(vma)))
		return -ENOMEM;
	folio = folio_alloc();
	if (!folio)
		return -ENOMEM;
	folio->anon_vma = vma->anon_vma;
	folio->index = anon_page_index(vma, address);
	folio->mapcount = 1;
	pte_install(vma->vm_mm, address, folio);
	return 0;
}

/*
 * A write to a present entry. Only this entry maps the folio: reuse it, and
 * make it belong to this VMA's anon_vma so rmap need not search ancestors
 * (folio_move_anon_rmap). Otherwise copy on write.
 */
static int do_wp_page(struct vm_area_struct *vma, unsigned long address,
		      struct folio *old)
{
	int err;

	if (old->mapcount == 1) {
		folio_move_anon_rmap(old, vma);
		return 0;
	}
	err = map_new_folio(vma, address);
	if (!err)
		old->mapcount--;
	return err;
}

/* Returns 0 or -ENOMEM; a read never changes the model's state. */
int handle_mm_fault(struct vm_area_struct *vma, unsigned long address,
		    bool write)
{
	struct folio *folio;

	address &= PAGE_MASK;
	if (!write)
		return 0;
	folio = pte_folio(vma->vm_mm, address);
	/* A write to an empty entry is do_anonymous_page(). */
	if (!folio)
		return map_new_folio(vma, address);
	return do_wp_page(vma, address, folio);
}

void folio_cache_init(void)
{
	folio_cachep = kmem_cache_create("folio", sizeof(struct folio), 0,
					 SLAB_PANIC, NULL);
}
