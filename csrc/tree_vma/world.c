// SPDX-License-Identifier: GPL-2.0
/*
 * rmapfuzz's driver of a tree's own callers. Compiled only inside the unit
 * rmap-extract generates for a tree that ships tools/testing/vma
 * (extract/src/vma_world.rs), after the tree's mm/vma.c and its anon_vma
 * core, in that directory's world: the structs here are the tree's.
 *
 * The harness's operations go through the tree's code where the tree's
 * mm/vma.c has it: mmap_region, split_vma, vma_merge_existing_range,
 * copy_vma, do_vmi_munmap and vma_modify_flags. What the kernel keeps
 * elsewhere is ours, acting on the same structures: the fault path, fork's
 * copy of the VMAs, exit, the rmap walk, and page tables (a sorted array
 * per mm, as in csrc/mm/memory.c).
 */
#include <stdlib.h>
#include <string.h>

#include "world.h"

__thread struct tw_world *tw_current;

/* What the test directory's main.c and shared.c define for its world. */
bool fail_prealloc;
unsigned long mmap_min_addr = CONFIG_DEFAULT_MMAP_MIN_ADDR;
unsigned long dac_mmap_min_addr = CONFIG_DEFAULT_MMAP_MIN_ADDR;
unsigned long stack_guard_gap = 256UL << PAGE_SHIFT;
const struct vm_operations_struct vma_dummy_vm_ops;
int sysctl_max_map_count = DEFAULT_MAX_MAP_COUNT;

static __thread struct task_struct tw_task;

struct task_struct *get_current(void)
{
	return &tw_task;
}

unsigned long rlimit(unsigned int limit)
{
	(void)limit;
	return ~0UL;
}

#ifdef RF_TW_NEED_VMA_SET_RANGE
void vma_set_range(struct vm_area_struct *vma, unsigned long start,
		   unsigned long end, pgoff_t pgoff)
{
	vma->vm_start = start;
	vma->vm_end = end;
	vma->vm_pgoff = pgoff;
}
#endif

/* ---- Warnings ------------------------------------------------------------ */

/* A WARN_ON() of the tree's code or the world's, for the next hygiene. */
void rf_tw_warn(const char *file, int line, const char *cond)
{
	struct tw_world *w = tw_current;

	if (!w)
		return;
	if (w->nr_warnings < TW_MAX_WARNINGS) {
		w->warnings[w->nr_warnings].file = file;
		w->warnings[w->nr_warnings].line = line;
		w->warnings[w->nr_warnings].cond = cond;
	}
	w->nr_warnings++;
}

/* The maple tree's dumps after its warnings (see early.h): not printed. */
void rf_tw_mt_dump(const struct maple_tree *mt, enum mt_dump_format format)
{
	(void)mt;
	(void)format;
}

void rf_tw_mas_dump(const struct ma_state *mas)
{
	(void)mas;
}

/* ---- Live objects and allocation attempts --------------------------------- */

static void objs_add(struct tw_objs *o, void *obj)
{
	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 32;
		o->v = realloc(o->v, o->cap * sizeof(*o->v));
		if (!o->v)
			abort();
	}
	o->v[o->n++] = obj;
}

static long objs_index(const struct tw_objs *o, const void *obj)
{
	size_t i;

	for (i = 0; i < o->n; i++) {
		if (o->v[i] == obj)
			return (long)i;
	}
	return -1;
}

static void objs_del(struct tw_objs *o, const void *obj)
{
	long i = objs_index(o, obj);

	if (i < 0)
		return;
	memmove(&o->v[i], &o->v[i + 1], (o->n - i - 1) * sizeof(*o->v));
	o->n--;
}

int32_t tw_ref(const void *obj, enum rf_site site)
{
	long i;

	if (!obj)
		return RF_REF_NULL;
	i = objs_index(&tw_current->live[site], obj);
	return i < 0 ? RF_REF_DANGLING : (int32_t)i;
}

bool tw_live(const void *obj, enum rf_site site)
{
	return obj && objs_index(&tw_current->live[site], obj) >= 0;
}

/* Records an attempt at @site; true when the fault plan fails it. */
static bool attempt_fails(enum rf_site site)
{
	struct tw_world *w = tw_current;
	uint32_t nth = ++w->nr_attempts;

	if (nth <= RF_MAX_ALLOCS)
		w->attempts[nth - 1] = site;
	return w->fail_nth && (nth == w->fail_nth ||
			       (w->fail_and_later && nth > w->fail_nth));
}

static enum rf_site site_of_cache(struct kmem_cache *cachep)
{
	if (cachep == vm_area_cachep)
		return RF_SITE_VMA;
	if (cachep == anon_vma_cachep)
		return RF_SITE_ANON_VMA;
	if (cachep == anon_vma_chain_cachep)
		return RF_SITE_AVC;
	return RF_NR_SITES;	/* the maple tree's nodes: not modelled */
}

void *rf_tw_cache_alloc(struct kmem_cache *cachep, gfp_t gfp)
{
	enum rf_site site = site_of_cache(cachep);
	void *obj;

	if (site != RF_NR_SITES && tw_current && attempt_fails(site))
		return NULL;
	obj = kmem_cache_alloc_lru(cachep, NULL, gfp);
	if (obj && site != RF_NR_SITES && tw_current)
		objs_add(&tw_current->live[site], obj);
	return obj;
}

void rf_tw_cache_free(struct kmem_cache *cachep, void *obj)
{
	enum rf_site site = site_of_cache(cachep);

	if (obj && site != RF_NR_SITES && tw_current)
		objs_del(&tw_current->live[site], obj);
	(kmem_cache_free)(cachep, obj);
}

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

static int hit_cmp(const void *a, const void *b)
{
	const struct rf_hit *x = a, *y = b;

	if (x->mm != y->mm)
		return x->mm < y->mm ? -1 : 1;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return 0;
}

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
	qsort(hits->v + first, hits->n - first, sizeof(*hits->v), hit_cmp);
}

/* ---- Processes ------------------------------------------------------------ */

static struct tw_mm *mm_alloc(void)
{
	struct tw_mm *mm;

	if (attempt_fails(RF_SITE_MM))
		return NULL;
	mm = calloc(1, sizeof(*mm));
	if (!mm)
		abort();
	spin_lock_init(&mm->mm.page_table_lock);
	objs_add(&tw_current->live[RF_SITE_MM], mm);
	return mm;
}

/* An mm whose VMAs are gone (tear_down()). */
static void mm_free(struct tw_mm *mm)
{
	free(mm->ptes);
	objs_del(&tw_current->live[RF_SITE_MM], mm);
	free(mm);
}

/* Every page, link and VMA of @mm goes (exit_mmap; a failed fork's undo). */
static void tear_down(struct tw_mm *mm)
{
	struct vm_area_struct *vma;
	VMA_ITERATOR(vmi, &mm->mm, 0);

	pte_clear_range(mm, 0, ULONG_MAX);
	for_each_vma(vmi, vma)
		unlink_anon_vmas(vma);
	vma_iter_set(&vmi, 0);
	for_each_vma(vmi, vma) {
		vma_mark_detached(vma);
		vm_area_free(vma);
	}
	__mt_destroy(&mm->mm.mm_mt);
	mm->mm.map_count = 0;
}

static struct tw_mm *find_mm(struct tw_world *w, uint32_t id)
{
	struct tw_mm *mm;

	for (mm = w->mms; mm; mm = mm->next) {
		if (mm->id == id)
			return mm;
	}
	return NULL;
}

static void mm_list_add(struct tw_world *w, struct tw_mm *mm)
{
	struct tw_mm **pos = &w->mms;

	while (*pos)
		pos = &(*pos)->next;
	*pos = mm;
}

static void mm_list_del(struct tw_world *w, struct tw_mm *mm)
{
	struct tw_mm **pos = &w->mms;

	while (*pos != mm)
		pos = &(*pos)->next;
	*pos = mm->next;
}

/* ---- Operations ------------------------------------------------------------ */

#define TW_TASK_SIZE	(1UL << 47)
#ifndef PAGE_ALIGNED
#define PAGE_ALIGNED(addr)	(((addr) & (PAGE_SIZE - 1)) == 0)
#endif

static bool valid_range(uint64_t start, uint64_t len)
{
	return len && PAGE_ALIGNED(start) && PAGE_ALIGNED(len) &&
	       len <= TW_TASK_SIZE && start <= TW_TASK_SIZE - len;
}

/* No VMA of @mm meets [start, end). */
static bool range_is_free(struct tw_mm *mm, unsigned long start,
			  unsigned long end)
{
	VMA_ITERATOR(vmi, &mm->mm, start);

	return !vma_find(&vmi, end);
}

static uint32_t status_of(long err)
{
	return err ? RF_STATUS_ENOMEM : RF_STATUS_OK;
}

static uint32_t op_mmap(struct tw_mm *mm, const struct rf_op *op)
{
	unsigned long ret;

	if (!valid_range(op->a, op->b) ||
	    !range_is_free(mm, op->a, op->a + op->b))
		return RF_STATUS_EINVAL;
#ifdef RF_TW_MMAP_VMA_FLAGS
	ret = mmap_region(NULL, op->a, op->b,
			  mk_vma_flags(VMA_READ_BIT, VMA_WRITE_BIT,
				       VMA_MAYREAD_BIT, VMA_MAYWRITE_BIT),
			  op->a >> PAGE_SHIFT, NULL);
#else
	ret = mmap_region(NULL, op->a, op->b,
			  VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE,
			  op->a >> PAGE_SHIFT, NULL);
#endif
	return IS_ERR_VALUE(ret) ? RF_STATUS_ENOMEM : RF_STATUS_OK;
}

static unsigned long anon_index(struct vm_area_struct *vma, unsigned long addr)
{
	return tw_key_start(vma) + ((addr - vma->vm_start) >> PAGE_SHIFT);
}

/* do_anonymous_page() and the copy of a write fault. */
static int map_new_folio(struct tw_mm *mm, struct vm_area_struct *vma,
			 unsigned long addr)
{
	struct tw_folio *folio;

	if (anon_vma_prepare(vma))
		return -ENOMEM;
	folio = folio_alloc();
	if (!folio)
		return -ENOMEM;
	folio->anon_vma = vma->anon_vma;
	folio->index = anon_index(vma, addr);
	folio->mapcount = 1;
	pte_install(mm, addr, folio);
	return 0;
}

static uint32_t op_fault(struct tw_mm *mm, const struct rf_op *op)
{
	struct vm_area_struct *vma = vma_lookup(&mm->mm, op->a);
	unsigned long addr = op->a & PAGE_MASK;
	struct tw_folio *folio;
	int err;

	if (!vma || op->c > RF_ACCESS_WRITE)
		return RF_STATUS_EINVAL;
	if (op->c != RF_ACCESS_WRITE)
		return RF_STATUS_NOOP;
	folio = tw_pte_folio(mm, addr);
	if (!folio)
		return status_of(map_new_folio(mm, vma, addr));
	if (folio->mapcount == 1) {
		/* folio_move_anon_rmap(): the only mapping takes it over. */
		folio->anon_vma = vma->anon_vma;
		return RF_STATUS_OK;
	}
	err = map_new_folio(mm, vma, addr);
	if (!err)
		folio->mapcount--;
	return status_of(err);
}

/* kernel/fork.c's dup_mmap(), over the tree's VMAs and anon_vma_fork(). */
static int dup_mmap(struct tw_mm *child, struct tw_mm *parent)
{
	struct vm_area_struct *mpnt, *tmp;
	VMA_ITERATOR(vmi, &parent->mm, 0);

	/* The counters mm/vma.c keeps and checks on munmap come along. */
	child->mm.total_vm = parent->mm.total_vm;
	child->mm.data_vm = parent->mm.data_vm;
	child->mm.exec_vm = parent->mm.exec_vm;
	child->mm.stack_vm = parent->mm.stack_vm;
	for_each_vma(vmi, mpnt) {
		size_t i;

		if (mpnt->vm_flags & VM_DONTCOPY) {
			vm_stat_account(&child->mm, mpnt->vm_flags, -vma_pages(mpnt));
			continue;
		}
		tmp = vm_area_dup(mpnt);
		if (!tmp)
			return -ENOMEM;
		tmp->vm_mm = &child->mm;
		if (tmp->vm_flags & VM_WIPEONFORK) {
			tmp->anon_vma = NULL;
		} else if (anon_vma_fork(tmp, mpnt)) {
			vm_area_free(tmp);
			return -ENOMEM;
		}
		if (vma_link(&child->mm, tmp)) {
			unlink_anon_vmas(tmp);
			vm_area_free(tmp);
			return -ENOMEM;
		}
		if (tmp->vm_flags & VM_WIPEONFORK)
			continue;
		for (i = pte_index(parent, mpnt->vm_start);
		     i < parent->nr_ptes && parent->ptes[i].addr < mpnt->vm_end; i++) {
			parent->ptes[i].folio->mapcount++;
			pte_install(child, parent->ptes[i].addr, parent->ptes[i].folio);
		}
	}
	return 0;
}

static uint32_t op_fork(struct tw_world *w, struct tw_mm *parent)
{
	struct tw_mm *child = mm_alloc();

	if (!child)
		return RF_STATUS_ENOMEM;
	if (dup_mmap(child, parent)) {
		tear_down(child);
		mm_free(child);
		return RF_STATUS_ENOMEM;
	}
	child->id = w->next_mm_id++;
	mm_list_add(w, child);
	return RF_STATUS_OK;
}

static uint32_t op_split(struct tw_mm *mm, const struct rf_op *op)
{
	struct vm_area_struct *vma = vma_lookup(&mm->mm, op->a);
	VMA_ITERATOR(vmi, &mm->mm, op->a);

	if (!PAGE_ALIGNED(op->a) || !vma || vma->vm_start == op->a)
		return RF_STATUS_EINVAL;
	return status_of(split_vma(&vmi, vma, op->a, 0));
}

/* The VMA holding [start, end), with @vmi on it, and its predecessor. */
static struct vm_area_struct *find_with_prev(struct vma_iterator *vmi,
					     unsigned long start,
					     unsigned long end,
					     struct vm_area_struct **prev)
{
	struct vm_area_struct *vma = vma_find(vmi, end);

	if (!vma)
		return NULL;
	*prev = vma_prev(vmi);
	if (start > vma->vm_start)
		*prev = vma;
	return vma_find(vmi, end);
}

static uint32_t op_merge(struct tw_mm *mm, const struct rf_op *op)
{
	struct vm_area_struct *vma = vma_lookup(&mm->mm, op->a), *prev, *merged;
	unsigned long start, end;

	if (!vma)
		return RF_STATUS_EINVAL;
	start = vma->vm_start;
	end = vma->vm_end;
	{
		VMA_ITERATOR(vmi, &mm->mm, start);

		vma = find_with_prev(&vmi, start, end, &prev);
		{
			VMG_VMA_STATE(vmg, &vmi, prev, vma, start, end);

			merged = vma_merge_existing_range(&vmg);
			if (vmg_nomem(&vmg))
				return RF_STATUS_ENOMEM;
		}
	}
	return merged ? RF_STATUS_OK : RF_STATUS_NOOP;
}

static uint32_t op_mremap(struct tw_mm *mm, const struct rf_op *op)
{
	struct vm_area_struct *vma = vma_lookup(&mm->mm, op->a), *new_vma;
	unsigned long old_start, old_end, len;
	bool need_rmap_locks;
	VMA_ITERATOR(vmi, &mm->mm, 0);

	if (!vma)
		return RF_STATUS_EINVAL;
	old_start = vma->vm_start;
	old_end = vma->vm_end;
	len = old_end - old_start;
	if (!valid_range(op->b, len) || !range_is_free(mm, op->b, op->b + len))
		return RF_STATUS_EINVAL;
#ifdef RF_TW_ANON_PGOFF
	new_vma = copy_vma(&vma, op->b, len, vma->vm_pgoff,
			   vma_start_anon_pgoff(vma), &need_rmap_locks, false);
#else
	new_vma = copy_vma(&vma, op->b, len, vma->vm_pgoff, &need_rmap_locks,
			   false);
#endif
	if (!new_vma)
		return RF_STATUS_ENOMEM;
	/* As mremap does: the new range counts before the old one goes. */
	vm_stat_account(&mm->mm, vma->vm_flags, len >> PAGE_SHIFT);
	pte_move_range(mm, old_start, old_end, op->b);
	/* The old range is empty now: mremap unmaps it. */
	vma_iter_init(&vmi, &mm->mm, old_start);
	return status_of(do_vmi_munmap(&vmi, &mm->mm, old_start, len, NULL,
				       false));
}

static uint32_t op_munmap(struct tw_mm *mm, const struct rf_op *op)
{
	VMA_ITERATOR(vmi, &mm->mm, op->a);

	if (!valid_range(op->a, op->b))
		return RF_STATUS_EINVAL;
	if (range_is_free(mm, op->a, op->a + op->b))
		return RF_STATUS_NOOP;
	return status_of(do_vmi_munmap(&vmi, &mm->mm, op->a, op->b, NULL, false));
}

/* MADV_{DONT,DO}FORK and MADV_{WIPE,KEEP}ONFORK on one VMA's piece. */
static bool advise(vma_flags_t *flags, uint32_t advice)
{
	vma_flags_t old = *flags;

	switch (advice) {
	case RF_ADVICE_DONTFORK:
		vma_flags_set(flags, VMA_DONTCOPY_BIT);
		break;
	case RF_ADVICE_DOFORK:
		vma_flags_clear(flags, VMA_DONTCOPY_BIT);
		break;
	case RF_ADVICE_WIPEONFORK:
		vma_flags_set(flags, VMA_WIPEONFORK_BIT);
		break;
	case RF_ADVICE_KEEPONFORK:
		vma_flags_clear(flags, VMA_WIPEONFORK_BIT);
		break;
	}
	return memcmp(&old, flags, sizeof(old)) != 0;
}

static uint32_t op_madvise(struct tw_mm *mm, const struct rf_op *op)
{
	unsigned long cur = op->a, end = op->a + op->b;
	int changed = 0;

	if (!valid_range(op->a, op->b) || op->c > RF_ADVICE_KEEPONFORK)
		return RF_STATUS_EINVAL;
	for (;;) {
		struct vm_area_struct *vma, *prev;
		unsigned long s, e;
		vma_flags_t flags;
		VMA_ITERATOR(vmi, &mm->mm, cur);

		vma = vma_find(&vmi, end);
		if (!vma)
			break;
		s = max(cur, vma->vm_start);
		e = min(end, vma->vm_end);
		flags = vma->flags;
		if (advise(&flags, op->c)) {
			vma_iter_set(&vmi, s);
			vma = find_with_prev(&vmi, s, e, &prev);
			vma = vma_modify_flags(&vmi, prev, vma, s, e, &flags);
			if (IS_ERR(vma))
				return RF_STATUS_ENOMEM;
			vma_start_write(vma);
			vma->flags = flags;
			changed++;
		}
		cur = e;
	}
	return changed ? RF_STATUS_OK : RF_STATUS_NOOP;
}

static uint32_t op_rmap(struct tw_world *w, struct tw_mm *mm,
			const struct rf_op *op)
{
	struct tw_folio *folio;

	if (!vma_lookup(&mm->mm, op->a))
		return RF_STATUS_EINVAL;
	folio = tw_pte_folio(mm, op->a & PAGE_MASK);
	if (!folio)
		return RF_STATUS_NOOP;
	if (!tw_live(folio->anon_vma, RF_SITE_ANON_VMA)) {
		hits_push(&w->rmap_hits, (struct rf_hit){ .mm = UINT32_MAX });
		return RF_STATUS_OK;
	}
	tw_collect_rmap_hits(folio, &w->rmap_hits);
	return RF_STATUS_OK;
}

static uint32_t apply_op(struct tw_world *w, const struct rf_op *op)
{
	struct tw_mm *mm = find_mm(w, op->mm);

	if (!mm)
		return RF_STATUS_EINVAL;
	current->mm = &mm->mm;
	switch (op->kind) {
	case RF_OP_MMAP:
		return op_mmap(mm, op);
	case RF_OP_FAULT:
		return op_fault(mm, op);
	case RF_OP_FORK:
		return op_fork(w, mm);
	case RF_OP_SPLIT:
		return op_split(mm, op);
	case RF_OP_MERGE:
		return op_merge(mm, op);
	case RF_OP_MREMAP:
		return op_mremap(mm, op);
	case RF_OP_MUNMAP:
		return op_munmap(mm, op);
	case RF_OP_MADVISE:
		return op_madvise(mm, op);
	case RF_OP_EXIT:
		tear_down(mm);
		mm_list_del(w, mm);
		mm_free(mm);
		return RF_STATUS_OK;
	case RF_OP_RMAP:
		return op_rmap(w, mm, op);
	}
	return RF_STATUS_EINVAL;
}

static void tw_apply(void *world, const struct rf_op *op, uint32_t fail_nth,
		     bool fail_and_later, struct rf_outcome *out)
{
	struct tw_world *w = world;

	tw_current = w;
	w->fail_nth = fail_nth;
	w->fail_and_later = fail_and_later;
	w->nr_attempts = 0;
	w->rmap_hits.n = 0;

	out->status = apply_op(w, op);

	w->fail_nth = 0;
	out->nr_allocs = w->nr_attempts;
	memcpy(out->allocs, w->attempts, min(w->nr_attempts, (uint32_t)RF_MAX_ALLOCS));
	out->nr_hits = w->rmap_hits.n;
	out->hits = w->rmap_hits.v;
	tw_current = NULL;
}

/* ---- Lifetime ---------------------------------------------------------------- */

static pthread_once_t tw_once = PTHREAD_ONCE_INIT;

static void tw_init_caches(void)
{
	maple_tree_init();
	vma_state_init();
	anon_vma_init();
}

static void *tw_create(void)
{
	struct tw_world *w = calloc(1, sizeof(*w));
	struct tw_mm *mm;

	if (!w)
		abort();
	pthread_once(&tw_once, tw_init_caches);
	tw_current = w;
	mm = mm_alloc();
	mm->id = 0;
	mm_list_add(w, mm);
	w->next_mm_id = 1;
	w->nr_attempts = 0;
	tw_current = NULL;
	return w;
}

static void tw_exit_all(void *world)
{
	struct tw_world *w = world;

	tw_current = w;
	while (w->mms) {
		struct tw_mm *mm = w->mms;

		current->mm = &mm->mm;
		tear_down(mm);
		w->mms = mm->next;
		mm_free(mm);
	}
	tw_current = NULL;
}

static void tw_release(struct tw_world *w)
{
	int site;

	for (site = 0; site < RF_NR_SITES; site++)
		free(w->live[site].v);
	free(w->rmap_hits.v);
	free(w->snap.mms);
	free(w->snap.vma_order);
	free(w->snap.vmas);
	free(w->snap.chain);
	free(w->snap.avcs);
	free(w->snap.anon_vmas);
	free(w->snap.tree);
	free(w->snap.pages);
	free(w->snap.hits.v);
	free(w->hygiene);
	free(w);
}

static void tw_free(void *world, uint64_t leaks[RF_NR_SITES])
{
	struct tw_world *w = world;
	int site;

	tw_exit_all(w);
	for (site = 0; site < RF_NR_SITES; site++) {
		if (leaks)
			leaks[site] = w->live[site].n;
	}
	tw_release(w);
}

/* A broken world: its objects are dropped, none of its code runs. */
static void tw_discard(void *world)
{
	struct tw_world *w = world;
	size_t i;

	for (i = 0; i < w->live[RF_SITE_PAGE].n; i++)
		free(w->live[RF_SITE_PAGE].v[i]);
	for (i = 0; i < w->live[RF_SITE_MM].n; i++) {
		struct tw_mm *mm = w->live[RF_SITE_MM].v[i];

		free(mm->ptes);
		free(mm);
	}
	tw_release(w);
}

const struct rf_world_ops kernel_vma_world_ops = {
	.name		= "kernel-vma",
	.create		= tw_create,
	.apply		= tw_apply,
	.snapshot	= tw_snapshot,
	.hygiene	= tw_hygiene,
	.exit_all	= tw_exit_all,
	.free		= tw_free,
	.discard	= tw_discard,
};
