// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshots: a pointer-free picture of every live object of a world.
 *
 * Objects are enumerated from the slab's live lists, not by following
 * pointers, so a leaked object shows up too. Every pointer is classified
 * (live / freed / foreign) before it is followed; a list or tree walk that
 * meets a freed entry stops there and says so. The runner renames
 * everything canonically, so the order used here does not matter.
 *
 * Where the world follows its stores (mm/slab.c, "Objects touched"), a
 * snapshot may be partial: the records of the objects changed since the
 * last one, by when each was made, for the runner to patch its copy with
 * (rf_world_snapshot_changed()).
 */
#include <pthread.h>
#include <string.h>

#include <linux/mm.h>
#include <linux/rmap.h>

#include "harness_internal.h"
#include <rmapfuzz/hits.h>
#include <rmapfuzz/sort.h>
#include <rmapfuzz/world_ops.h>
#include <rmapfuzz/write_watch.h>
#include "mm/internal.h"
#include "mm/interval_tree.h"

struct collect {
	struct rf_world *rw;
	enum alloc_site site;
};

/*
 * Whether this snapshot says when each object was made: a partial one,
 * and a whole one the next may be patched into (no one else reads it).
 */
static bool snap_says_made(const struct rf_world *rw)
{
	return rw->snap_by_made || rw->snap_follow;
}

/* Number the live objects of one site in list order. */
static void collect_obj(void *obj, void *arg)
{
	struct collect *c = arg;

	*slab_obj_scratch(obj) = c->rw->snap.objs[c->site].n;
	vec_push(&c->rw->snap.objs[c->site], obj);
	if (snap_says_made(c->rw))
		vec_push(&c->rw->snap.ids[c->site], slab_obj_made(obj));
}

/* How a record names a live object: its position, or when it was made. */
static int32_t snap_num(struct rf_world *rw, void *obj)
{
	return (int32_t)(rw->snap_by_made ? slab_obj_made(obj) :
					    *slab_obj_scratch(obj));
}

static int32_t ref_of(struct rf_world *rw, const void *obj,
		      enum alloc_site site)
{
	switch (slab_obj_state(obj, site)) {
	case SLAB_OBJ_NULL:
		return RF_REF_NULL;
	case SLAB_OBJ_LIVE:
		return snap_num(rw, (void *)obj);
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
						     ref_of(rw, vma->vm_mm, ALLOC_SITE_MM);
	s.start = vma->vm_start;
	s.end = vma->vm_end;
	s.pgoff = vma->vm_pgoff;
	if (rw->w.core->anon_pgoff) {
		s.has_anon_pgoff = 1;
		s.anon_pgoff = vma_stored_anon_pgoff(vma);
	}
	s.flags = snap_flags(vma->vm_flags);
	s.attached = vma_is_attached(vma);
	s.anon_vma = ref_of(rw, vma->anon_vma, ALLOC_SITE_ANON_VMA);
	s.first_chain = rw->snap.chain.n;

	for (pos = vma->anon_vma_chain.next; pos != &vma->anon_vma_chain;
	     pos = pos->next) {
		struct anon_vma_chain *avc = list_entry(pos, struct anon_vma_chain,
							same_vma);
		int32_t ref = ref_of(rw, avc, ALLOC_SITE_AVC);

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
			int32_t ref = ref_of(rw, avc, ALLOC_SITE_AVC);

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
			ref_of(rw, rb_entry(node, struct anon_vma_chain, rb),
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
	s.root = ref_of(rw, view.root, ALLOC_SITE_ANON_VMA);
	s.parent = ref_of(rw, view.parent, ALLOC_SITE_ANON_VMA);
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

/* Whether @folio is one of the pages this snapshot takes. */
static bool snap_takes_page(struct rf_world *rw, struct folio *folio)
{
	const typeof(rw->snap.objs[0]) *taken = &rw->snap.objs[ALLOC_SITE_PAGE];
	uint32_t at = *slab_obj_scratch(folio);

	return at < taken->n && taken->v[at] == folio;
}

/* Sorts a page's few mappers by process and address, in place. */
static void sort_mappers(struct rf_hit *v, size_t n)
{
	size_t i, j;

	for (i = 1; i < n; i++) {
		struct rf_hit h = v[i];

		for (j = i; j > 0 && rf_hit_cmp(&v[j - 1], &h) > 0; j--)
			v[j] = v[j - 1];
		v[j] = h;
	}
}

static void snap_pages(struct rf_world *rw)
{
	typeof(rw->snap.maps) *maps = &rw->snap.maps;
	typeof(rw->snap.ends) *ends = &rw->snap.ends;
	struct hit_vec *mapped = &rw->snap.mapped;
	size_t nr = rw->snap.objs[ALLOC_SITE_PAGE].n;
	struct mm_struct *mm;
	size_t i;

	/*
	 * Each page taken knows its place among them: a whole snapshot
	 * numbered every live object so already, a partial one does here.
	 */
	if (rw->snap_by_made)
		for (i = 0; i < nr; i++)
			*slab_obj_scratch(rw->snap.objs[ALLOC_SITE_PAGE].v[i]) = i;
	vec_resize(ends, nr);
	memset(ends->v, 0, nr * sizeof(*ends->v));
	list_for_each_entry(mm, &rw->w.mms, mm_list) {
		for (i = 0; i < mm->ptes.nr; i++) {
			struct pte_entry *pte = &mm->ptes.entries[i];
			int32_t page = ref_of(rw, pte->folio, ALLOC_SITE_PAGE);
			struct rf_mapping map = {
				.hit = { .mm = mm->mm_id, .addr = pte->addr },
			};

			if (page < 0 || (rw->snap_by_made &&
					 !snap_takes_page(rw, pte->folio)))
				continue;
			map.page = *slab_obj_scratch(pte->folio);
			ends->v[map.page]++;
			vec_push(maps, map);
		}
	}
	/*
	 * Grouped by page with a counting sort (the pages are numbered
	 * 0..nr-1): each group ends where the groups before it and its own
	 * count say, and is filled back to front.
	 */
	for (i = 1; i < nr; i++)
		ends->v[i] += ends->v[i - 1];
	vec_resize(mapped, maps->n);
	for (i = maps->n; i-- > 0;)
		mapped->v[--ends->v[maps->v[i].page]] = maps->v[i].hit;

	for (i = 0; i < nr; i++) {
		struct folio *folio = rw->snap.objs[ALLOC_SITE_PAGE].v[i];
		struct rf_snap_page s = { 0 };
		size_t from = ends->v[i];
		size_t to = i + 1 < nr ? ends->v[i + 1] : mapped->n;
		size_t m;

		s.anon_vma = ref_of(rw, folio->anon_vma, ALLOC_SITE_ANON_VMA);
		s.index = folio->index;
		s.mapcount = folio->mapcount;
		s.first_mapper = rw->snap.hits.n;
		sort_mappers(&mapped->v[from], to - from);
		for (m = from; m < to; m++)
			vec_push(&rw->snap.hits, mapped->v[m]);
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
		for (__site = 0; __site < NR_ALLOC_SITES; __site++) {	\
			op(&(bufs)->objs[__site]);			\
			op(&(bufs)->ids[__site]);			\
		}							\
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
		op(&(bufs)->mapped);					\
		op(&(bufs)->ends);					\
		op(&(bufs)->gone);					\
		op(&(bufs)->walks);					\
	} while (0)

static void snap_mm(struct rf_world *rw, struct mm_struct *mm)
{
	struct rf_snap_mm s = { .id = mm->mm_id,
				.first_vma = rw->snap.vma_order.n };
	struct list_head *pos;
	size_t i;

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
		vec_push(&rw->snap.vma_order, (uint32_t)snap_num(rw, vma));
	}
	for (i = 0; i < mm->ptes.nr; i++) {
		if (!is_live(mm->ptes.entries[i].folio, ALLOC_SITE_PAGE))
			s.nr_bad_entries++;
	}
	s.nr_vmas = rw->snap.vma_order.n - s.first_vma;
	vec_push(&rw->snap.mms, s);
	if (snap_says_made(rw))
		vec_push(&rw->snap.ids[ALLOC_SITE_MM], slab_obj_made(mm));
}

/* The records of the objects in snap.objs[] (mms apart), and every page's. */
static void snap_records(struct rf_world *rw)
{
	size_t i;

	for (i = 0; i < rw->snap.objs[ALLOC_SITE_VMA].n; i++)
		snap_vma(rw, rw->snap.objs[ALLOC_SITE_VMA].v[i]);
	for (i = 0; i < rw->snap.objs[ALLOC_SITE_AVC].n; i++) {
		struct anon_vma_chain *avc = rw->snap.objs[ALLOC_SITE_AVC].v[i];
		struct rf_snap_avc s = {
			.vma = ref_of(rw, avc->vma, ALLOC_SITE_VMA),
			.anon_vma = ref_of(rw, avc->anon_vma, ALLOC_SITE_ANON_VMA),
		};

		vec_push(&rw->snap.avcs, s);
	}
	for (i = 0; i < rw->snap.objs[ALLOC_SITE_ANON_VMA].n; i++)
		snap_anon_vma(rw, rw->snap.objs[ALLOC_SITE_ANON_VMA].v[i]);
	snap_pages(rw);
}

static void snap_out(struct rf_world *rw, struct rf_snapshot *out)
{
	int site;

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
	for (site = 0; site < NR_ALLOC_SITES; site++) {
		out->live[site] = rw->w.sites[site].live;
		out->ids[site] = snap_says_made(rw) ? rw->snap.ids[site].v : NULL;
	}
	out->changed = rw->snap_by_made;
	out->gone = rw->snap.gone.v;
	out->nr_gone = rw->snap.gone.n;
}

/* Forget what changed before now: the next partial snapshot starts here. */
static bool snap_forget(void *obj, void *arg)
{
	(void)obj;
	(void)arg;
	return true;
}

static void snap_sync(struct rf_world *rw)
{
	struct world *w = &rw->w;
	int site;

	bool followed = w->follows_snap;

	rw->snap_synced = w->follows_touched && rw->snap_follow;
	w->follows_snap = rw->snap_synced;
	/* (Nothing was noted where nothing followed.) */
	if (!w->follows_touched || !followed)
		return;
	for (site = 0; site < NR_ALLOC_SITES; site++)
		slab_for_each_touched(w, site, TOUCH_SNAP, snap_forget, NULL);
	w->gone.nr = 0;
}

void rf_world_snapshot(struct rf_world *rw, struct rf_snapshot *out)
{
	struct world *w = &rw->w;
	struct mm_struct *mm;
	int site;

	if (rw->ops) {
		memset(out, 0, sizeof(*out));
		rw->ops->snapshot(rw->impl, out);
		return;
	}
	world_enter(rw);
	lockdep_observe(true);
	/* (Emptied, keeping what each buffer has room for.) */
	snap_bufs_each(&rw->snap, vec_reset);
	rw->snap_by_made = false;
	for (site = 0; site < NR_ALLOC_SITES; site++) {
		struct collect c = { .rw = rw, .site = site };

		slab_for_each_live(w, site, collect_obj, &c);
	}
	/* (The mms' made numbers follow their records, in list order.) */
	vec_reset(&rw->snap.ids[ALLOC_SITE_MM]);
	list_for_each_entry(mm, &w->mms, mm_list)
		snap_mm(rw, mm);
	snap_records(rw);
	snap_out(rw, out);
	snap_sync(rw);
	lockdep_observe(false);
	world_leave();
}

/* ---- Partial snapshots --------------------------------------------------- */

struct take {
	struct rf_world *rw;
	enum alloc_site site;
};

/* A changed object: its record is taken again. */
static bool snap_take(void *obj, void *arg)
{
	struct take *t = arg;

	vec_push(&t->rw->snap.objs[t->site], obj);
	if (t->site != ALLOC_SITE_MM)
		vec_push(&t->rw->snap.ids[t->site], slab_obj_made(obj));
	return true;
}

/*
 * An AVC's links and key are read as part of its VMA's chain and its
 * anon_vma's tree (or the tree whose seal last read it): those change too.
 */
static bool snap_take_avc(void *obj, void *arg)
{
	struct anon_vma_chain *avc = obj;
	void *reader = slab_obj_reader(avc);

	if (is_live(avc->vma, ALLOC_SITE_VMA))
		slab_snap_touch(avc->vma);
	if (is_live(avc->anon_vma, ALLOC_SITE_ANON_VMA))
		slab_snap_touch(avc->anon_vma);
	if (reader && is_live(reader, ALLOC_SITE_ANON_VMA))
		slab_snap_touch(reader);
	return snap_take(obj, arg);
}

/* A VMA's list links are read as part of its mm's list. */
static bool snap_take_vma(void *obj, void *arg)
{
	struct vm_area_struct *vma = obj;

	if (is_live(vma->vm_mm, ALLOC_SITE_MM))
		slab_snap_touch(vma->vm_mm);
	return snap_take(obj, arg);
}

/* A node, its VMA and that VMA's mm, each live and untouched since. */
static bool node_as_walked(struct anon_vma_chain *avc, int32_t ref, void *arg)
{
	(void)ref;
	(void)arg;
	return avc && !slab_obj_touched(avc, TOUCH_SNAP) &&
	       is_live(avc->vma, ALLOC_SITE_VMA) &&
	       !slab_obj_touched(avc->vma, TOUCH_SNAP) &&
	       is_live(avc->vma->vm_mm, ALLOC_SITE_MM) &&
	       !slab_obj_touched(avc->vma->vm_mm, TOUCH_SNAP);
}

/*
 * Whether @folio's rmap walk may find something else than at the last
 * snapshot. The walk reads the folio's anon_vma and that anon_vma's tree:
 * its nodes, their VMAs and those VMAs' mms (an entry mapping the folio,
 * made or gone, touches the folio itself). Any change to the tree's shape
 * stores to the anon_vma or to a node still in the tree, so the tree as
 * it is now covers every node the last walk met.
 */
static bool walk_stale(struct rf_world *rw, struct folio *folio)
{
	struct anon_vma *anon_vma = folio->anon_vma;
	typeof(rw->snap.walks) *seen = &rw->snap.walks;
	struct snap_walks walks = { .anon_vma = anon_vma };
	uint32_t *at;

	if (!anon_vma)
		return false;
	if (!is_live(anon_vma, ALLOC_SITE_ANON_VMA))
		return true;
	/* Many pages share an anon_vma: its tree is walked once. */
	at = slab_obj_scratch(anon_vma);
	if (*at < seen->n && seen->v[*at].anon_vma == anon_vma)
		return seen->v[*at].stale;
	walks.stale = slab_obj_touched(anon_vma, TOUCH_SNAP) ||
		      !rf_tree_walk(rw, rw->w.core->tree(anon_vma),
				    node_as_walked, NULL);
	*at = seen->n;
	vec_push(seen, walks);
	return walks.stale;
}

static void snap_take_page(void *obj, void *arg)
{
	struct take *t = arg;
	struct folio *folio = obj;

	if (slab_obj_touched(folio, TOUCH_SNAP) || walk_stale(t->rw, folio)) {
		vec_push(&t->rw->snap.objs[ALLOC_SITE_PAGE], obj);
		vec_push(&t->rw->snap.ids[ALLOC_SITE_PAGE], slab_obj_made(obj));
	}
}

/* (The pages were taken above.) */
static bool snap_skip(void *obj, void *arg)
{
	(void)obj;
	(void)arg;
	return true;
}

/* Objects touched or freed since the last snapshot. */
static uint64_t snap_changes(const struct world *w)
{
	uint64_t n = w->gone.nr;
	int site;

	for (site = 0; site < NR_ALLOC_SITES; site++)
		n += w->sites[site].touched[TOUCH_SNAP].nr;
	return n;
}

void rf_world_snapshot_follow(struct rf_world *rw, bool follow)
{
	rw->snap_follow = follow;
}

bool rf_world_snapshot_changed(struct rf_world *rw, struct rf_snapshot *out,
			       uint64_t most)
{
	struct world *w = &rw->w;
	struct take take = { .rw = rw };
	bool page_gone = false;
	struct mm_struct *mm;
	size_t i;

	if (rw->ops || !rw->snap_synced || !w->follows_touched ||
	    snap_changes(w) > most)
		return false;
	world_enter(rw);
	lockdep_observe(true);
	snap_bufs_each(&rw->snap, vec_reset);
	rw->snap_by_made = true;

	for (i = 0; i < w->gone.nr; i++) {
		vec_push(&rw->snap.gone, ((struct rf_snap_gone){
			.site = w->gone.v[i].site, .made = w->gone.v[i].made }));
		page_gone |= w->gone.v[i].site == ALLOC_SITE_PAGE;
	}
	w->gone.nr = 0;
	/* A page freed under a page table is a bad entry of its mm's. */
	if (page_gone)
		list_for_each_entry(mm, &w->mms, mm_list)
			slab_snap_touch(mm);

	/*
	 * A page is taken again when it was touched (its fields, or a page
	 * table entry mapping it), or when an object its last rmap walk
	 * read was: decided before the touched lists are emptied below.
	 */
	slab_for_each_live(w, ALLOC_SITE_PAGE, snap_take_page, &take);

	/* AVCs first, then VMAs: each touches what reads it. */
	take.site = ALLOC_SITE_AVC;
	slab_for_each_touched(w, ALLOC_SITE_AVC, TOUCH_SNAP, snap_take_avc, &take);
	take.site = ALLOC_SITE_VMA;
	slab_for_each_touched(w, ALLOC_SITE_VMA, TOUCH_SNAP, snap_take_vma, &take);
	take.site = ALLOC_SITE_ANON_VMA;
	slab_for_each_touched(w, ALLOC_SITE_ANON_VMA, TOUCH_SNAP, snap_take, &take);
	take.site = ALLOC_SITE_MM;
	slab_for_each_touched(w, ALLOC_SITE_MM, TOUCH_SNAP, snap_take, &take);
	slab_for_each_touched(w, ALLOC_SITE_PAGE, TOUCH_SNAP, snap_skip, NULL);

	for (i = 0; i < rw->snap.objs[ALLOC_SITE_MM].n; i++)
		snap_mm(rw, rw->snap.objs[ALLOC_SITE_MM].v[i]);
	snap_records(rw);
	snap_out(rw, out);
	lockdep_observe(false);
	world_leave();
	return true;
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
