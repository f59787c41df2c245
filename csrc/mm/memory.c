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
#include <rmapfuzz/world.h>
#include <rmapfuzz/world_mem.h>
#include <rmapfuzz/write_watch.h>

#include "internal.h"

static struct kmem_cache *folio_cachep;

struct folio *folio_alloc(void)
{
	struct folio *folio = kmem_cache_zalloc(folio_cachep, GFP_KERNEL);

	if (folio)
		init_rwsem(&folio->lock);
	return folio;
}

/* Nothing maps @folio any more: it goes, unless a walker holds it. */
void folio_put(struct folio *folio)
{
	VM_WARN_ON_ONCE(folio->mapcount != 0);
	if (folio->pins)
		return;
	kmem_cache_free(folio_cachep, folio);
}

/* A walker isolates @folio: it stays until folio_unpin(). */
void folio_pin(struct folio *folio)
{
	folio->pins++;
}

void folio_unpin(struct folio *folio)
{
	VM_WARN_ON_ONCE(folio->pins <= 0);
	if (--folio->pins == 0 && folio->mapcount == 0)
		folio_put(folio);
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

/* The first entry in [*@addr, @end): its folio, its address in *@addr. */
struct folio *pte_next(struct mm_struct *mm, unsigned long *addr,
		       unsigned long end)
{
	size_t i = pte_index(&mm->ptes, *addr);

	if (i >= mm->ptes.nr || mm->ptes.entries[i].addr >= end)
		return NULL;
	*addr = mm->ptes.entries[i].addr;
	return mm->ptes.entries[i].folio;
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
 * fault-injection sites, so growth uses the host allocator. No switch
 * point: what the kernel does under the page-table lock around it, the
 * caller does in one step after its own switch point.
 */
void pte_install(struct mm_struct *mm, unsigned long addr, struct folio *folio)
{
	struct mm_ptes *ptes = &mm->ptes;
	size_t i;

	world_written();
	slab_snap_touch(mm);
	i = pte_index(ptes, addr);
	/* Its mappers change, and those of the folio it replaces. */
	slab_snap_touch(folio);
	if (i < ptes->nr && ptes->entries[i].addr == addr) {
		slab_snap_touch(ptes->entries[i].folio);
		ptes->entries[i].folio = folio;
		return;
	}
	if (ptes->nr == ptes->cap) {
		size_t cap = ptes->cap ? ptes->cap * 2 : 16;
		struct pte_entry *entries;

		entries = world_mem_realloc(current_world->arena, ptes->entries,
					    cap * sizeof(*entries));
		ptes->entries = entries;
		ptes->cap = cap;
	}
	memmove(&ptes->entries[i + 1], &ptes->entries[i],
		(ptes->nr - i) * sizeof(*ptes->entries));
	ptes->entries[i].addr = addr;
	ptes->entries[i].folio = folio;
	ptes->nr++;
}

/* Remove entry @i, dropping its folio's mapping. */
static void pte_remove(struct mm_ptes *ptes, size_t i)
{
	struct folio *folio = ptes->entries[i].folio;

	world_written();
	slab_snap_touch(container_of(ptes, struct mm_struct, ptes));
	slab_snap_touch(folio);
	memmove(&ptes->entries[i], &ptes->entries[i + 1],
		(ptes->nr - i - 1) * sizeof(*ptes->entries));
	ptes->nr--;
	if (--folio->mapcount == 0)
		folio_put(folio);
}

/*
 * Drop the mappings in [start, end); a folio nobody maps is freed. Each
 * entry is a switch point of its own (the PTL is taken per table in the
 * kernel, and rmap walkers unmap concurrently): found again by address
 * after it.
 */
void pte_clear_range(struct mm_struct *mm, unsigned long start,
		     unsigned long end)
{
	struct mm_ptes *ptes = &mm->ptes;
	unsigned long cursor = start;

	for (;;) {
		size_t i = pte_index(ptes, cursor);
		unsigned long addr;

		if (i >= ptes->nr || ptes->entries[i].addr >= end)
			return;
		addr = ptes->entries[i].addr;
		sched_point(SP_PTE, "zap_pte", ptes->entries[i].folio, __func__);
		i = pte_index(ptes, addr);
		if (i < ptes->nr && ptes->entries[i].addr == addr)
			pte_remove(ptes, i);
		cursor = addr + PAGE_SIZE;
	}
}

/* Unmap @folio at @addr if that entry still maps it (try_to_unmap_one()). */
bool pte_clear_folio(struct mm_struct *mm, unsigned long addr,
		     struct folio *folio)
{
	struct mm_ptes *ptes = &mm->ptes;
	size_t i;

	sched_point(SP_PTE, "zap_pte", folio, __func__);
	i = pte_index(ptes, addr);
	if (i >= ptes->nr || ptes->entries[i].addr != addr ||
	    ptes->entries[i].folio != folio)
		return false;
	pte_remove(ptes, i);
	return true;
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
	sched_point(SP_PTE, "move_ptes", mm, __func__);
	slab_snap_touch(mm);
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
	size_t i;

	world_written();
	slab_snap_touch(mm);
	for (i = 0; i < mm->ptes.nr; i++)
		slab_snap_touch(mm->ptes.entries[i].folio);
	world_mem_free(current_world->arena, mm->ptes.entries);
	mm->ptes.entries = NULL;
	mm->ptes.nr = mm->ptes.cap = 0;
}

/*
 * Map a new folio of the VMA's own anon_vma at @address in place of
 * @expected (NULL: an empty entry). The anon_vma stays even if the
 * allocation fails. -EAGAIN: the entry changed meanwhile (a racing unmap
 * or reclaim), and the fault starts over, as the kernel's pte_same()
 * re-check makes it.
 */
static int map_new_folio(struct vm_area_struct *vma, unsigned long address,
			 struct folio *expected)
{
	struct mm_struct *mm = vma->vm_mm;
	struct folio *folio;

	if (unlikely(anon_vma_prepare(vma)))
		return -ENOMEM;
	folio = folio_alloc();
	if (!folio)
		return -ENOMEM;
	/* Under the page-table lock from here to the new entry. */
	sched_point(SP_PTE, "set_pte", expected, __func__);
	if (pte_folio(mm, address) != expected) {
		folio_put(folio);
		return -EAGAIN;
	}
	world_written();
	folio->anon_vma = vma->anon_vma;
	folio->index = anon_page_index(vma, address);
	folio->mapcount = 1;
	if (expected) {
		expected->mapcount--;
		slab_snap_touch(expected);
	}
	pte_install(mm, address, folio);
	return 0;
}

/*
 * A write to a present entry. Only this entry maps the folio: reuse it, and
 * make it belong to this VMA's anon_vma so rmap need not search ancestors
 * (folio_move_anon_rmap). Otherwise copy on write. The old folio is held
 * meanwhile, so a racing reclaim cannot free it under us; -EAGAIN when the
 * entry changed while we waited.
 */
static int do_wp_page(struct vm_area_struct *vma, unsigned long address,
		      struct folio *old)
{
	int ret = 0;

	folio_pin(old);
	if (old->mapcount == 1) {
		/* Under the folio lock, so no walker sees the move halfway. */
		folio_lock(old);
		if (pte_folio(vma->vm_mm, address) != old || old->mapcount != 1)
			ret = -EAGAIN;
		else
			folio_move_anon_rmap(old, vma);
		folio_unlock(old);
	} else {
		ret = map_new_folio(vma, address, old);
	}
	folio_unpin(old);
	return ret;
}

/* Returns 0 or -ENOMEM; a read never changes the model's state. */
int handle_mm_fault(struct vm_area_struct *vma, unsigned long address,
		    bool write)
{
	struct folio *folio;
	int ret;

	address &= PAGE_MASK;
	if (!write)
		return 0;
	do {
		folio = pte_folio(vma->vm_mm, address);
		/* A write to an empty entry is do_anonymous_page(). */
		ret = folio ? do_wp_page(vma, address, folio) :
			      map_new_folio(vma, address, NULL);
	} while (ret == -EAGAIN);
	return ret;
}

void folio_cache_init(void)
{
	folio_cachep = kmem_cache_create("folio", sizeof(struct folio), 0,
					 SLAB_PANIC, NULL);
}
