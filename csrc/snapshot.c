// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshots: a pointer-free picture of every live object of a world.
 *
 * Objects are enumerated from the slab's live lists, not by following
 * pointers, so a leaked object shows up too. Every pointer is classified
 * (live / freed / foreign) before it is followed; a list or tree walk that
 * meets a freed entry stops there and says so. The runner renames
 * everything canonically, so the order used here does not matter.
 */
#include <pthread.h>
#include <string.h>

#include <linux/mm.h>
#include <linux/rmap.h>

#include "harness_internal.h"
#include <rmapfuzz/hits.h>
#include <rmapfuzz/sort.h>
#include <rmapfuzz/world_ops.h>
#include "mm/internal.h"
#include "mm/interval_tree.h"

struct collect {
	struct rf_world *rw;
	enum alloc_site site;
};

/* Number the live objects of one site in list order. */
static void collect_obj(void *obj, void *arg)
{
	struct collect *c = arg;

	*slab_obj_scratch(obj) = c->rw->snap.objs[c->site].n;
	vec_push(&c->rw->snap.objs[c->site], obj);
}

static int32_t ref_of(const void *obj, enum alloc_site site)
{
	switch (slab_obj_state(obj, site)) {
	case SLAB_OBJ_NULL:
		return RF_REF_NULL;
	case SLAB_OBJ_LIVE:
		return (int32_t)*slab_obj_scratch((void *)obj);
	case SLAB_OBJ_FREED:
		return RF_REF_DANGLING;
	default:
		return RF_REF_FOREIGN;
	}
}

static bool is_live(const void *obj, enum alloc_site site)
{
	return slab_obj_state(obj, site) == SLAB_OBJ_LIVE;
}

static uint32_t snap_flags(vm_flags_t flags)
{
	return ((flags & VM_DONTCOPY) ? 1 : 0) |
	       ((flags & VM_WIPEONFORK) ? 2 : 0);
}

static void snap_vma(struct rf_world *rw, struct vm_area_struct *vma)
{
	size_t limit = rw->w.sites[ALLOC_SITE_AVC].live;
	struct rf_snap_vma s = { 0 };
	struct list_head *pos;

	s.mm = is_live(vma->vm_mm, ALLOC_SITE_MM) ? (int64_t)vma->vm_mm->mm_id :
						     ref_of(vma->vm_mm, ALLOC_SITE_MM);
	s.start = vma->vm_start;
	s.end = vma->vm_end;
	s.pgoff = vma->vm_pgoff;
	if (rw->w.core->anon_pgoff) {
		s.has_anon_pgoff = 1;
		s.anon_pgoff = vma_stored_anon_pgoff(vma);
	}
	s.flags = snap_flags(vma->vm_flags);
	s.attached = vma_is_attached(vma);
	s.anon_vma = ref_of(vma->anon_vma, ALLOC_SITE_ANON_VMA);
	s.first_chain = rw->snap.chain.n;

	for (pos = vma->anon_vma_chain.next; pos != &vma->anon_vma_chain;
	     pos = pos->next) {
		struct anon_vma_chain *avc = list_entry(pos, struct anon_vma_chain,
							same_vma);
		int32_t ref = ref_of(avc, ALLOC_SITE_AVC);

		vec_push(&rw->snap.chain, ref);
		if (ref < 0 || rw->snap.chain.n - s.first_chain > limit) {
			s.chain_broken = 1;
			break;
		}
	}
	s.nr_chain = rw->snap.chain.n - s.first_chain;
	vec_push(&rw->snap.vmas, s);
}

/*
 * Visit the nodes of an interval tree in order, checking each node is a
 * live anon_vma_chain before reading anything of it: a tree that reaches a
 * freed or foreign node reports it to @fn (avc NULL, its reference in
 * @ref) and is not followed past it. Returns false if @fn asked to stop or
 * the tree is not sound.
 */
bool rf_tree_walk(struct rf_world *rw, struct rb_root_cached *tree,
		  bool (*fn)(struct anon_vma_chain *avc, int32_t ref, void *arg),
		  void *arg)
{
	size_t limit = rw->w.sites[ALLOC_SITE_AVC].live + 1, depth = 0, seen = 0;
	struct rb_node *stack[64];
	struct rb_node *node = tree->rb_root.rb_node;
	bool sound = true;

	while (node || depth) {
		while (node) {
			struct anon_vma_chain *avc = rb_entry(node,
					struct anon_vma_chain, rb);
			int32_t ref = ref_of(avc, ALLOC_SITE_AVC);

			if (ref < 0 || ++seen > limit || depth == ARRAY_SIZE(stack)) {
				/* Freed, foreign, looping or absurdly deep. */
				if (!fn(NULL, ref < 0 ? ref : RF_REF_FOREIGN, arg))
					return false;
				sound = false;
				node = NULL;
				break;
			}
			stack[depth++] = node;
			node = node->rb_left;
		}
		if (!depth)
			break;
		node = stack[--depth];
		if (!fn(rb_entry(node, struct anon_vma_chain, rb),
			ref_of(rb_entry(node, struct anon_vma_chain, rb),
			       ALLOC_SITE_AVC), arg))
			return false;
		node = node->rb_right;
	}
	return sound;
}

struct tree_snap {
	struct rf_world *rw;
};

static bool snap_tree_node(struct anon_vma_chain *avc, int32_t ref, void *arg)
{
	struct tree_snap *t = arg;
	struct rf_snap_tree_node node = { .avc = ref };

	if (avc) {
		node.start = avc->cached_vma_start;
		node.last = avc->cached_vma_last;
	}
	vec_push(&t->rw->snap.tree, node);
	return true;
}

/* Every node of @tree is live, and so are its VMA and that VMA's mm. */
static bool avc_reaches_live(struct anon_vma_chain *avc, int32_t ref, void *arg)
{
	(void)ref;
	(void)arg;
	return avc && is_live(avc->vma, ALLOC_SITE_VMA) &&
	       is_live(avc->vma->vm_mm, ALLOC_SITE_MM);
}

bool rf_tree_reaches_only_live(struct rf_world *rw, struct rb_root_cached *tree)
{
	return rf_tree_walk(rw, tree, avc_reaches_live, NULL);
}

static void snap_anon_vma(struct rf_world *rw, struct anon_vma *anon_vma)
{
	const struct anon_vma_core *core = rw->w.core;
	struct rf_snap_anon_vma s = { 0 };
	struct tree_snap walk = { .rw = rw };
	struct anon_vma_view view;

	core->view(anon_vma, &view);
	s.root = ref_of(view.root, ALLOC_SITE_ANON_VMA);
	s.parent = ref_of(view.parent, ALLOC_SITE_ANON_VMA);
	s.refcount = view.refcount;
	s.has_degree = view.has_degree;
	s.num_children = (int64_t)view.num_children;
	s.num_active_vmas = (int64_t)view.num_active_vmas;
	s.degree = (int64_t)view.degree;
	s.first_tree = rw->snap.tree.n;
	rf_tree_walk(rw, core->tree(anon_vma), snap_tree_node, &walk);
	s.nr_tree = rw->snap.tree.n - s.first_tree;
	vec_push(&rw->snap.anon_vmas, s);
}

static void snap_pages(struct rf_world *rw)
{
	typeof(rw->snap.maps) *maps = &rw->snap.maps;
	struct mm_struct *mm;
	size_t i, m = 0;

	list_for_each_entry(mm, &rw->w.mms, mm_list) {
		for (i = 0; i < mm->ptes.nr; i++) {
			struct pte_entry *pte = &mm->ptes.entries[i];
			int32_t page = ref_of(pte->folio, ALLOC_SITE_PAGE);
			struct rf_mapping map = {
				.page = (uint32_t)page,
				.hit = { .mm = mm->mm_id, .addr = pte->addr },
			};

			if (page >= 0)
				vec_push(maps, map);
		}
	}
	rf_sort(maps->v, maps->n, sizeof(*maps->v), rf_mapping_cmp);

	for (i = 0; i < rw->snap.objs[ALLOC_SITE_PAGE].n; i++) {
		struct folio *folio = rw->snap.objs[ALLOC_SITE_PAGE].v[i];
		struct rf_snap_page s = { 0 };

		s.anon_vma = ref_of(folio->anon_vma, ALLOC_SITE_ANON_VMA);
		s.index = folio->index;
		s.mapcount = folio->mapcount;
		s.first_mapper = rw->snap.hits.n;
		while (m < maps->n && maps->v[m].page < i)
			m++;
		for (; m < maps->n && maps->v[m].page == i; m++)
			vec_push(&rw->snap.hits, maps->v[m].hit);
		s.nr_mappers = rw->snap.hits.n - s.first_mapper;

		s.first_walk = rw->snap.hits.n;
		if (s.anon_vma >= 0)
			rf_collect_rmap_hits(rw, folio, &rw->snap.hits, false);
		s.nr_walk = rw->snap.hits.n - s.first_walk;
		vec_push(&rw->snap.pages, s);
	}
}

/* Applies @op (vec_reset or vec_free) to every buffer of @bufs. */
#define snap_bufs_each(bufs, op)					\
	do {								\
		int __site;						\
									\
		for (__site = 0; __site < NR_ALLOC_SITES; __site++)	\
			op(&(bufs)->objs[__site]);			\
		op(&(bufs)->mms);					\
		op(&(bufs)->vma_order);					\
		op(&(bufs)->vmas);					\
		op(&(bufs)->chain);					\
		op(&(bufs)->avcs);					\
		op(&(bufs)->anon_vmas);					\
		op(&(bufs)->tree);					\
		op(&(bufs)->pages);					\
		op(&(bufs)->hits);					\
		op(&(bufs)->maps);					\
	} while (0)

void rf_world_snapshot(struct rf_world *rw, struct rf_snapshot *out)
{
	struct world *w = &rw->w;
	struct mm_struct *mm;
	size_t i;
	int site;

	if (rw->ops) {
		rw->ops->snapshot(rw->impl, out);
		return;
	}
	world_enter(rw);
	lockdep_observe(true);
	/* (Emptied, keeping what each buffer has room for.) */
	snap_bufs_each(&rw->snap, vec_reset);
	for (site = 0; site < NR_ALLOC_SITES; site++) {
		struct collect c = { .rw = rw, .site = site };

		slab_for_each_live(w, site, collect_obj, &c);
	}

	list_for_each_entry(mm, &w->mms, mm_list) {
		struct rf_snap_mm s = { .id = mm->mm_id,
					.first_vma = rw->snap.vma_order.n };
		struct list_head *pos;

		/* A freed VMA on the list ends the walk: its links are gone. */
		for (pos = mm->mmap.next; pos != &mm->mmap; pos = pos->next) {
			struct vm_area_struct *vma = list_entry(pos,
					struct vm_area_struct, vm_list);

			if (!is_live(vma, ALLOC_SITE_VMA) ||
			    rw->snap.vma_order.n - s.first_vma >
			    rw->w.sites[ALLOC_SITE_VMA].live) {
				s.nr_bad_entries++;
				break;
			}
			vec_push(&rw->snap.vma_order, *slab_obj_scratch(vma));
		}
		for (i = 0; i < mm->ptes.nr; i++) {
			if (!is_live(mm->ptes.entries[i].folio, ALLOC_SITE_PAGE))
				s.nr_bad_entries++;
		}
		s.nr_vmas = rw->snap.vma_order.n - s.first_vma;
		vec_push(&rw->snap.mms, s);
	}
	for (i = 0; i < rw->snap.objs[ALLOC_SITE_VMA].n; i++)
		snap_vma(rw, rw->snap.objs[ALLOC_SITE_VMA].v[i]);
	for (i = 0; i < rw->snap.objs[ALLOC_SITE_AVC].n; i++) {
		struct anon_vma_chain *avc = rw->snap.objs[ALLOC_SITE_AVC].v[i];
		struct rf_snap_avc s = {
			.vma = ref_of(avc->vma, ALLOC_SITE_VMA),
			.anon_vma = ref_of(avc->anon_vma, ALLOC_SITE_ANON_VMA),
		};

		vec_push(&rw->snap.avcs, s);
	}
	for (i = 0; i < rw->snap.objs[ALLOC_SITE_ANON_VMA].n; i++)
		snap_anon_vma(rw, rw->snap.objs[ALLOC_SITE_ANON_VMA].v[i]);
	snap_pages(rw);

	memset(out, 0, sizeof(*out));
	out->mms = rw->snap.mms.v;
	out->nr_mms = rw->snap.mms.n;
	out->vma_order = rw->snap.vma_order.v;
	out->nr_vma_order = rw->snap.vma_order.n;
	out->vmas = rw->snap.vmas.v;
	out->nr_vmas = rw->snap.vmas.n;
	out->chain = rw->snap.chain.v;
	out->nr_chain = rw->snap.chain.n;
	out->avcs = rw->snap.avcs.v;
	out->nr_avcs = rw->snap.avcs.n;
	out->anon_vmas = rw->snap.anon_vmas.v;
	out->nr_anon_vmas = rw->snap.anon_vmas.n;
	out->tree = rw->snap.tree.v;
	out->nr_tree = rw->snap.tree.n;
	out->pages = rw->snap.pages.v;
	out->nr_pages = rw->snap.pages.n;
	out->hits = rw->snap.hits.v;
	out->nr_hits = rw->snap.hits.n;
	for (site = 0; site < NR_ALLOC_SITES; site++)
		out->live[site] = w->sites[site].live;
	lockdep_observe(false);
	world_leave();
}


/*
 * One set of buffers a thread keeps between worlds. A key's destructor
 * frees it when the thread ends (explore's workers come and go).
 */
struct snap_spare {
	bool full;
	struct snap_bufs bufs;
};

static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;

static void spare_free(void *arg)
{
	struct snap_spare *spare = arg;

	if (spare->full)
		snap_bufs_each(&spare->bufs, vec_free);
	free(spare);
}

static void spare_key_create(void)
{
	if (pthread_key_create(&spare_key, spare_free))
		abort();
}

static struct snap_spare *thread_spare(void)
{
	struct snap_spare *spare;

	pthread_once(&spare_once, spare_key_create);
	spare = pthread_getspecific(spare_key);
	if (!spare) {
		spare = calloc(1, sizeof(*spare));
		if (!spare || pthread_setspecific(spare_key, spare))
			abort();
	}
	return spare;
}

void rf_snap_bufs_take(struct snap_bufs *bufs)
{
	struct snap_spare *spare = thread_spare();

	if (!spare->full)
		return;
	*bufs = spare->bufs;
	spare->full = false;
}

void rf_snap_bufs_give(struct snap_bufs *bufs)
{
	struct snap_spare *spare;

	/* (A world without a process has nothing worth keeping.) */
	if (!bufs->mms.v) {
		snap_bufs_each(bufs, vec_free);
		return;
	}
	spare = thread_spare();
	if (spare->full) {
		snap_bufs_each(bufs, vec_free);
	} else {
		spare->bufs = *bufs;
		spare->full = true;
	}
	memset(bufs, 0, sizeof(*bufs));
}
