// SPDX-License-Identifier: GPL-2.0
/*
 * The checks of a standalone reproducer: recomputed from a snapshot in C,
 * so that a kernel developer can watch a failure without Rust.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repro_checks.h"

static const char *const supported[] = {
	"invariant.counter.num_active_vmas",
	"invariant.counter.num_children",
	"invariant.counter.degree",
	"invariant.counter.refcount",
	"invariant.rmap.complete",
	"invariant.share.one_mm",
	"invariant.share.same_links",
	"invariant.chain.ancestors",
	"invariant.vma.anon_pgoff",
};

/* hygiene, hygiene.lock, hygiene.warning, ...: the harness's own report. */
static bool is_hygiene(const char *check)
{
	return strncmp(check, "hygiene", 7) == 0 &&
	       (check[7] == '\0' || check[7] == '.');
}

bool rf_repro_supports(const char *check)
{
	size_t i;

	if (strcmp(check, "any") == 0 || is_hygiene(check))
		return true;
	for (i = 0; i < sizeof(supported) / sizeof(supported[0]); i++)
		if (strcmp(check, supported[i]) == 0)
			return true;
	return false;
}

static bool wanted(const char *check, const char *rule)
{
	return strcmp(check, "any") == 0 || strcmp(check, rule) == 0;
}

/* Counters of each anon_vma, recomputed from who points at it. */
static bool check_counters(const struct rf_snapshot *s, const char *check,
			   char *buf, size_t size)
{
	uint32_t n = s->nr_anon_vmas, i;
	int64_t *active = calloc(n + 1, sizeof(*active));
	int64_t *children = calloc(n + 1, sizeof(*children));
	int64_t *family = calloc(n + 1, sizeof(*family));
	bool found = false;

	if (!active || !children || !family) {
		snprintf(buf, size, "out of memory");
		found = true;
		goto out;
	}
	/* Active VMAs: those a process holds, as in the Rust rules. */
	for (i = 0; i < s->nr_vmas; i++) {
		int32_t av = s->vmas[i].anon_vma;

		if (s->vmas[i].mm >= 0 && av >= 0 && (uint32_t)av < n)
			active[av]++;
	}
	for (i = 0; i < n; i++) {
		int32_t parent = s->anon_vmas[i].parent;
		int32_t root = s->anon_vmas[i].root;

		if (parent >= 0 && (uint32_t)parent < n)
			children[parent]++;
		if (root >= 0 && (uint32_t)root < n && (uint32_t)root != i)
			family[root]++;
	}
	for (i = 0; i < n && !found; i++) {
		const struct rf_snap_anon_vma *a = &s->anon_vmas[i];
		int64_t refs = 1 + (a->root == (int32_t)i ? family[i] : 0);

		if (a->has_degree) {
			if (wanted(check, "invariant.counter.degree") &&
			    a->degree != active[i] + children[i]) {
				snprintf(buf, size,
					 "anon_vma #%u: degree=%lld but %lld VMA(s) use it and %lld anon_vma(s) name it parent",
					 i, (long long)a->degree, (long long)active[i],
					 (long long)children[i]);
				found = true;
			}
		} else if (wanted(check, "invariant.counter.num_active_vmas") &&
			   a->num_active_vmas != active[i]) {
			snprintf(buf, size,
				 "anon_vma #%u: num_active_vmas=%lld but %lld VMA(s) use it",
				 i, (long long)a->num_active_vmas, (long long)active[i]);
			found = true;
		} else if (wanted(check, "invariant.counter.num_children") &&
			   a->num_children != children[i]) {
			snprintf(buf, size,
				 "anon_vma #%u: num_children=%lld but %lld anon_vma(s) name it parent",
				 i, (long long)a->num_children, (long long)children[i]);
			found = true;
		}
		if (!found && wanted(check, "invariant.counter.refcount") &&
		    a->refcount != refs) {
			snprintf(buf, size, "anon_vma #%u: refcount=%lld but %lld expected",
				 i, (long long)a->refcount, (long long)refs);
			found = true;
		}
	}
out:
	free(active);
	free(children);
	free(family);
	return found;
}

/* Whether @vma's chain links @av. */
static bool links(const struct rf_snapshot *s, const struct rf_snap_vma *vma,
		  int32_t av)
{
	uint32_t j;

	for (j = 0; j < vma->nr_chain; j++) {
		int32_t avc = s->chain[vma->first_chain + j];

		if (avc >= 0 && (uint32_t)avc < s->nr_avcs &&
		    s->avcs[avc].anon_vma == av)
			return true;
	}
	return false;
}

/* Every anon_vma @a links, @b links too. */
static bool links_all_of(const struct rf_snapshot *s,
			 const struct rf_snap_vma *a, const struct rf_snap_vma *b)
{
	uint32_t j;

	for (j = 0; j < a->nr_chain; j++) {
		int32_t avc = s->chain[a->first_chain + j];

		if (avc >= 0 && (uint32_t)avc < s->nr_avcs &&
		    !links(s, b, s->avcs[avc].anon_vma))
			return false;
	}
	return true;
}

/*
 * VMAs sharing an anon_vma belong to one process and link the same
 * anon_vmas; a chain links the parent of everything it links
 * (docs/CONTRACTS.md).
 */
static bool check_sharing(const struct rf_snapshot *s, const char *check,
			  char *buf, size_t size)
{
	uint32_t i, j;

	for (i = 0; i < s->nr_vmas; i++) {
		const struct rf_snap_vma *a = &s->vmas[i];

		if (a->mm < 0)
			continue;
		if (wanted(check, "invariant.chain.ancestors")) {
			for (j = 0; j < a->nr_chain; j++) {
				int32_t avc = s->chain[a->first_chain + j], av, parent;

				if (avc < 0 || (uint32_t)avc >= s->nr_avcs)
					continue;
				av = s->avcs[avc].anon_vma;
				if (av < 0 || (uint32_t)av >= s->nr_anon_vmas)
					continue;
				parent = s->anon_vmas[av].parent;
				if (parent >= 0 && parent != av && !links(s, a, parent)) {
					snprintf(buf, size,
						 "vma %#llx-%#llx of mm %lld: linked to anon_vma #%d but not to its parent #%d",
						 (unsigned long long)a->start,
						 (unsigned long long)a->end,
						 (long long)a->mm, av, parent);
					return true;
				}
			}
		}
		if (a->anon_vma < 0)
			continue;
		for (j = i + 1; j < s->nr_vmas; j++) {
			const struct rf_snap_vma *b = &s->vmas[j];

			if (b->mm < 0 || b->anon_vma != a->anon_vma)
				continue;
			if (b->mm != a->mm && wanted(check, "invariant.share.one_mm")) {
				snprintf(buf, size,
					 "anon_vma #%d is the anon_vma of a VMA of mm %lld and of one of mm %lld",
					 a->anon_vma, (long long)a->mm, (long long)b->mm);
				return true;
			}
			if (b->mm == a->mm && wanted(check, "invariant.share.same_links") &&
			    (!links_all_of(s, a, b) || !links_all_of(s, b, a))) {
				snprintf(buf, size,
					 "anon_vma #%d is the anon_vma of two VMAs of mm %lld linked to different anon_vmas",
					 a->anon_vma, (long long)a->mm);
				return true;
			}
		}
	}
	return false;
}

/* Every entry mapping a page is found by an rmap walk from it, and no other. */
static bool check_rmap(const struct rf_snapshot *s, char *buf, size_t size)
{
	uint32_t i, j;

	for (i = 0; i < s->nr_pages; i++) {
		const struct rf_snap_page *p = &s->pages[i];
		bool same = p->nr_mappers == p->nr_walk;

		for (j = 0; same && j < p->nr_mappers; j++) {
			const struct rf_hit *m = &s->hits[p->first_mapper + j];
			const struct rf_hit *w = &s->hits[p->first_walk + j];

			same = m->mm == w->mm && m->addr == w->addr;
		}
		if (!same) {
			snprintf(buf, size,
				 "page index %#llx: mapped by %u entries, an rmap walk finds %u (or others)",
				 (unsigned long long)p->index, p->nr_mappers, p->nr_walk);
			return true;
		}
	}
	return false;
}

/* 7.3: an anonymous VMA's anonymous page offset is its pgoff. */
static bool check_anon_pgoff(const struct rf_snapshot *s, char *buf,
			     size_t size)
{
	uint32_t i;

	for (i = 0; i < s->nr_vmas; i++) {
		const struct rf_snap_vma *v = &s->vmas[i];

		if (v->has_anon_pgoff && v->anon_pgoff != v->pgoff) {
			snprintf(buf, size,
				 "vma %#llx-%#llx: anonymous page offset %#llx, pgoff %#llx",
				 (unsigned long long)v->start,
				 (unsigned long long)v->end,
				 (unsigned long long)v->anon_pgoff,
				 (unsigned long long)v->pgoff);
			return true;
		}
	}
	return false;
}

bool rf_repro_check(struct rf_world *world, const char *check,
		    char *buf, size_t size)
{
	struct rf_snapshot snap;
	struct rf_hygiene hygiene;

	if (strcmp(check, "any") == 0 || is_hygiene(check)) {
		rf_world_hygiene(world, &hygiene);
		if (hygiene.nr_problems) {
			snprintf(buf, size, "%s", hygiene.text);
			return true;
		}
	}
	rf_world_snapshot(world, &snap);
	if (strncmp(check, "invariant.counter.", 18) == 0 ||
	    strcmp(check, "any") == 0) {
		if (check_counters(&snap, check, buf, size))
			return true;
	}
	if (wanted(check, "invariant.rmap.complete") && check_rmap(&snap, buf, size))
		return true;
	if (check_sharing(&snap, check, buf, size))
		return true;
	if (wanted(check, "invariant.vma.anon_pgoff") &&
	    check_anon_pgoff(&snap, buf, size))
		return true;
	return false;
}
