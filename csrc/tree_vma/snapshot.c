// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshots and hygiene of a world of a tree's own callers: the same
 * picture csrc/snapshot.c draws of ours (every live object, references as
 * indices), read from the tree's own structures. Compiled in the same unit
 * as world.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "world.h"
#include "../include/rmapfuzz/hits.h"
#include "../include/rmapfuzz/tree_check.h"

/* Grows @arr (of @cap elements) to hold @need. */
#define grow(arr, cap, need)						\
	do {								\
		if ((need) > (cap)) {					\
			(cap) = (need) * 2;				\
			(arr) = realloc((arr), (cap) * sizeof(*(arr)));	\
			if (!(arr))					\
				abort();				\
		}							\
	} while (0)

static void push_chain(struct tw_world *w, int32_t ref)
{
	grow(w->snap.chain, w->snap.cap_chain, w->snap.nr_chain + 1);
	w->snap.chain[w->snap.nr_chain++] = ref;
}

static void snap_vma(struct tw_world *w, struct vm_area_struct *vma,
		     struct rf_snap_vma *s)
{
	size_t limit = w->live[RF_SITE_AVC].n;
	struct list_head *pos;
	struct tw_mm *mm = tw_mm_of(vma->vm_mm);

	memset(s, 0, sizeof(*s));
	s->mm = tw_live(mm, RF_SITE_MM) ? (int64_t)mm->id : tw_ref(mm, RF_SITE_MM);
	s->start = vma->vm_start;
	s->end = vma->vm_end;
	s->pgoff = vma->vm_pgoff;
#ifdef RF_TW_ANON_PGOFF
	s->has_anon_pgoff = 1;
	s->anon_pgoff = vma_start_anon_pgoff(vma);
#endif
	s->flags = ((vma->vm_flags & VM_DONTCOPY) ? 1 : 0) |
		   ((vma->vm_flags & VM_WIPEONFORK) ? 2 : 0);
	s->attached = vma_is_attached(vma);
	s->anon_vma = tw_ref(vma->anon_vma, RF_SITE_ANON_VMA);
	s->first_chain = w->snap.nr_chain;
	for (pos = vma->anon_vma_chain.next; pos != &vma->anon_vma_chain;
	     pos = pos->next) {
		struct anon_vma_chain *avc = list_entry(pos, struct anon_vma_chain,
							same_vma);
		int32_t ref = tw_ref(avc, RF_SITE_AVC);

		push_chain(w, ref);
		if (ref < 0 || w->snap.nr_chain - s->first_chain > limit) {
			s->chain_broken = 1;
			break;
		}
	}
	s->nr_chain = w->snap.nr_chain - s->first_chain;
}

/*
 * The nodes of @anon_vma's tree in order, each checked live before it is
 * read; a freed or foreign node is recorded and not followed.
 */
static void snap_tree(struct tw_world *w, struct anon_vma *anon_vma)
{
	struct rb_node *stack[64], *node = anon_vma->rb_root.rb_root.rb_node;
	size_t depth = 0, seen = 0, limit = w->live[RF_SITE_AVC].n + 1;

	while (node || depth) {
		while (node) {
			struct anon_vma_chain *avc =
				rb_entry(node, struct anon_vma_chain, rb);
			int32_t ref = tw_ref(avc, RF_SITE_AVC);

			if (ref < 0 || ++seen > limit || depth == 64) {
				grow(w->snap.tree, w->snap.cap_tree, w->snap.nr_tree + 1);
				w->snap.tree[w->snap.nr_tree++] =
					(struct rf_snap_tree_node){ .avc = ref < 0 ?
						ref : RF_REF_FOREIGN };
				node = NULL;
				break;
			}
			stack[depth++] = node;
			node = node->rb_left;
		}
		if (!depth)
			break;
		node = stack[--depth];
		{
			struct anon_vma_chain *avc =
				rb_entry(node, struct anon_vma_chain, rb);

			grow(w->snap.tree, w->snap.cap_tree, w->snap.nr_tree + 1);
			w->snap.tree[w->snap.nr_tree++] = (struct rf_snap_tree_node){
				.avc = tw_ref(avc, RF_SITE_AVC),
				.start = avc->cached_vma_start,
				.last = avc->cached_vma_last,
			};
		}
		node = node->rb_right;
	}
}

static void snap_pages(struct tw_world *w)
{
	struct rf_mapping *maps = NULL;
	size_t nr = 0, cap = 0, i, m = 0;
	struct tw_mm *mm;

	for (mm = w->mms; mm; mm = mm->next) {
		for (i = 0; i < mm->nr_ptes; i++) {
			int32_t page = tw_ref(mm->ptes[i].folio, RF_SITE_PAGE);

			if (page < 0)
				continue;
			grow(maps, cap, nr + 1);
			maps[nr++] = (struct rf_mapping){
				.page = (uint32_t)page,
				.hit = { .mm = mm->id, .addr = mm->ptes[i].addr },
			};
		}
	}
	qsort(maps, nr, sizeof(*maps), rf_mapping_cmp);
	for (i = 0; i < w->live[RF_SITE_PAGE].n; i++) {
		struct tw_folio *folio = w->live[RF_SITE_PAGE].v[i];
		struct rf_snap_page *s = &w->snap.pages[i];

		memset(s, 0, sizeof(*s));
		s->anon_vma = tw_ref(folio->anon_vma, RF_SITE_ANON_VMA);
		s->index = folio->index;
		s->mapcount = folio->mapcount;
		s->first_mapper = w->snap.hits.n;
		while (m < nr && maps[m].page < i)
			m++;
		for (; m < nr && maps[m].page == i; m++)
			hits_push(&w->snap.hits, maps[m].hit);
		s->nr_mappers = w->snap.hits.n - s->first_mapper;
		s->first_walk = w->snap.hits.n;
		if (s->anon_vma >= 0)
			tw_collect_rmap_hits(folio, &w->snap.hits);
		s->nr_walk = w->snap.hits.n - s->first_walk;
	}
	free(maps);
}

void tw_snapshot(void *world, struct rf_snapshot *out)
{
	struct tw_world *w = world;
	size_t nr_mms = 0, i;
	struct tw_mm *mm;
	int site;

	tw_current = w;
	for (mm = w->mms; mm; mm = mm->next)
		nr_mms++;
	free(w->snap.mms);
	free(w->snap.vmas);
	free(w->snap.avcs);
	free(w->snap.anon_vmas);
	free(w->snap.pages);
	w->snap.mms = calloc(nr_mms + 1, sizeof(*w->snap.mms));
	w->snap.vmas = calloc(w->live[RF_SITE_VMA].n + 1, sizeof(*w->snap.vmas));
	w->snap.avcs = calloc(w->live[RF_SITE_AVC].n + 1, sizeof(*w->snap.avcs));
	w->snap.anon_vmas = calloc(w->live[RF_SITE_ANON_VMA].n + 1,
				   sizeof(*w->snap.anon_vmas));
	w->snap.pages = calloc(w->live[RF_SITE_PAGE].n + 1, sizeof(*w->snap.pages));
	if (!w->snap.mms || !w->snap.vmas || !w->snap.avcs ||
	    !w->snap.anon_vmas || !w->snap.pages)
		abort();
	w->snap.nr_chain = w->snap.nr_tree = w->snap.nr_order = 0;
	w->snap.hits.n = 0;

	for (i = 0, mm = w->mms; mm; mm = mm->next, i++) {
		struct rf_snap_mm *s = &w->snap.mms[i];
		struct vm_area_struct *vma;
		VMA_ITERATOR(vmi, &mm->mm, 0);
		size_t p;

		s->id = mm->id;
		s->first_vma = w->snap.nr_order;
		for_each_vma(vmi, vma) {
			int32_t ref = tw_ref(vma, RF_SITE_VMA);

			if (ref < 0) {
				s->nr_bad_entries++;
				break;
			}
			grow(w->snap.vma_order, w->snap.cap_order, w->snap.nr_order + 1);
			w->snap.vma_order[w->snap.nr_order++] = (uint32_t)ref;
		}
		for (p = 0; p < mm->nr_ptes; p++) {
			if (!tw_live(mm->ptes[p].folio, RF_SITE_PAGE))
				s->nr_bad_entries++;
		}
		s->nr_vmas = w->snap.nr_order - s->first_vma;
	}
	for (i = 0; i < w->live[RF_SITE_VMA].n; i++)
		snap_vma(w, w->live[RF_SITE_VMA].v[i], &w->snap.vmas[i]);
	for (i = 0; i < w->live[RF_SITE_AVC].n; i++) {
		struct anon_vma_chain *avc = w->live[RF_SITE_AVC].v[i];

		w->snap.avcs[i].vma = tw_ref(avc->vma, RF_SITE_VMA);
		w->snap.avcs[i].anon_vma = tw_ref(avc->anon_vma, RF_SITE_ANON_VMA);
	}
	for (i = 0; i < w->live[RF_SITE_ANON_VMA].n; i++) {
		struct anon_vma *anon_vma = w->live[RF_SITE_ANON_VMA].v[i];
		struct rf_snap_anon_vma *s = &w->snap.anon_vmas[i];

		memset(s, 0, sizeof(*s));
		s->root = tw_ref(anon_vma->root, RF_SITE_ANON_VMA);
		s->parent = tw_ref(anon_vma->parent, RF_SITE_ANON_VMA);
		s->refcount = atomic_read(&anon_vma->refcount);
		s->num_children = (int64_t)anon_vma->num_children;
		s->num_active_vmas = (int64_t)anon_vma->num_active_vmas;
		s->first_tree = w->snap.nr_tree;
		snap_tree(w, anon_vma);
		s->nr_tree = w->snap.nr_tree - s->first_tree;
	}
	snap_pages(w);

	memset(out, 0, sizeof(*out));
	out->mms = w->snap.mms;
	out->nr_mms = nr_mms;
	out->vma_order = w->snap.vma_order;
	out->nr_vma_order = w->snap.nr_order;
	out->vmas = w->snap.vmas;
	out->nr_vmas = w->live[RF_SITE_VMA].n;
	out->chain = w->snap.chain;
	out->nr_chain = w->snap.nr_chain;
	out->avcs = w->snap.avcs;
	out->nr_avcs = w->live[RF_SITE_AVC].n;
	out->anon_vmas = w->snap.anon_vmas;
	out->nr_anon_vmas = w->live[RF_SITE_ANON_VMA].n;
	out->tree = w->snap.tree;
	out->nr_tree = w->snap.nr_tree;
	out->pages = w->snap.pages;
	out->nr_pages = w->live[RF_SITE_PAGE].n;
	out->hits = w->snap.hits.v;
	out->nr_hits = w->snap.hits.n;
	for (site = 0; site < RF_NR_SITES; site++)
		out->live[site] = w->live[site].n;
	tw_current = NULL;
}

/* ---- Hygiene ------------------------------------------------------------- */

static void say(struct tw_world *w, uint32_t *nr, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(struct tw_world *w, uint32_t *nr, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	grow(w->hygiene, w->hygiene_cap, w->hygiene_len + len + 2);
	va_start(ap, fmt);
	vsnprintf(w->hygiene + w->hygiene_len, len + 1, fmt, ap);
	va_end(ap);
	w->hygiene_len += len;
	w->hygiene[w->hygiene_len++] = '\n';
	w->hygiene[w->hygiene_len] = '\0';
	(*nr)++;
}

static unsigned long avc_key_start(struct anon_vma_chain *avc)
{
	return tw_key_start(avc->vma);
}

static unsigned long avc_key_last(struct anon_vma_chain *avc)
{
	return tw_key_last(avc->vma);
}

/* Interval-tree shape and stale keys, as the harness audits its own. */
void tw_hygiene(void *world, struct rf_hygiene *out)
{
	struct tw_world *w = world;
	size_t i;

	tw_current = w;
	out->nr_problems = 0;
	w->hygiene_len = 0;
	grow(w->hygiene, w->hygiene_cap, 1);
	w->hygiene[0] = '\0';
	/* Broken lock rules first, as the harness orders its own. */
	for (i = 0; i < min(w->nr_lock_problems, (unsigned int)TW_MAX_LOCK_PROBLEMS); i++)
		say(w, &out->nr_problems, "lock: %s", w->lock_problems[i]);
	if (w->nr_lock_problems > TW_MAX_LOCK_PROBLEMS)
		say(w, &out->nr_problems, "lock: ... and %u more",
		    w->nr_lock_problems - TW_MAX_LOCK_PROBLEMS);
	w->nr_lock_problems = 0;
	for (i = 0; i < min(w->nr_warnings, (unsigned int)TW_MAX_WARNINGS); i++)
		say(w, &out->nr_problems, "warning: %s:%d: %s",
		    w->warnings[i].file, w->warnings[i].line, w->warnings[i].cond);
	if (w->nr_warnings > TW_MAX_WARNINGS)
		say(w, &out->nr_problems, "warning: ... and %u more",
		    w->nr_warnings - TW_MAX_WARNINGS);
	w->nr_warnings = 0;
	for (i = 0; i < w->live[RF_SITE_ANON_VMA].n; i++) {
		struct anon_vma *anon_vma = w->live[RF_SITE_ANON_VMA].v[i];
		struct rb_node *node;
		unsigned int faults;

		if (!tree_reaches_only_live(anon_vma)) {
			say(w, &out->nr_problems,
			    "tree: anon_vma #%zu: interval tree reaches a freed anon_vma_chain or VMA",
			    i);
			continue;
		}
		for (node = rb_first_cached(&anon_vma->rb_root); node;
		     node = rb_next(node)) {
			struct anon_vma_chain *avc =
				rb_entry(node, struct anon_vma_chain, rb);

			if (avc->cached_vma_start != avc_key_start(avc) ||
			    avc->cached_vma_last != avc_key_last(avc))
				say(w, &out->nr_problems,
				    "tree: anon_vma #%zu: the anon_vma_chain of vma %#lx-%#lx is filed under pgoff %#lx-%#lx, but the VMA now covers %#lx-%#lx",
				    i, avc->vma->vm_start, avc->vma->vm_end,
				    avc->cached_vma_start, avc->cached_vma_last,
				    avc_key_start(avc), avc_key_last(avc));
		}
		faults = avc_tree_check_keyed(&anon_vma->rb_root, true,
					      avc_key_start, avc_key_last);
		if (faults)
			say(w, &out->nr_problems,
			    "tree: anon_vma #%zu: interval tree has %u structural fault(s)",
			    i, faults);
	}
	out->text = w->hygiene;
	tw_current = NULL;
}
