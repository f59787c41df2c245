// SPDX-License-Identifier: GPL-2.0
/*
 * rmapfuzz harness: worlds, operations and hygiene checks (see harness.h).
 * Operands are validated here, before any allocation, so an invalid
 * operation leaves the world untouched and reports RF_STATUS_EINVAL.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/rmap.h>

#include "harness_internal.h"
#include <rmapfuzz/hits.h>
#include <rmapfuzz/sort.h>
#include <rmapfuzz/store_buffer.h>
#include <rmapfuzz/world_mem.h>
#include <rmapfuzz/world_ops.h>
#include "mm/internal.h"
#include "mm/interval_tree.h"

/* A kernel tree's core, when build.rs extracted one (RMAPFUZZ_KERNEL_SRC). */
#ifdef RMAPFUZZ_HAVE_KERNEL
extern const struct anon_vma_core kernel_anon_vma_core;
#endif
/* A base tree to compare it with (RMAPFUZZ_REFERENCE_SRC). */
#ifdef RMAPFUZZ_HAVE_KERNEL_BASE
extern const struct anon_vma_core kernel_base_anon_vma_core;
#endif

static const struct anon_vma_core *const variants[] = {
	&mainline_anon_vma_core,
	&pre_series_anon_vma_core,
	&anon_pgoff_anon_vma_core,
	/* The bug zoo (csrc/zoo/). */
	&v2_fork_enomem_anon_vma_core,
	&v3_as_posted_anon_vma_core,
	&degree_double_reuse_anon_vma_core,
	&reuse_on_split_anon_vma_core,
	&unlocked_insert_anon_vma_core,
	&stale_pgoff_anon_vma_core,
	&unlink_wrong_parent_anon_vma_core,
	&fork_pins_parent_anon_vma_core,
	&prepare_counts_new_only_anon_vma_core,
	&reuse_two_children_anon_vma_core,
	&fork_counts_unlocked_anon_vma_core,
	&prepare_shares_fork_child_anon_vma_core,
	&locks_own_rwsem_anon_vma_core,
	&anon_pgoff_low_half_anon_vma_core,
	&unlink_frees_before_del_anon_vma_core,
	/* The race zoo. */
	&walk_unlocked_anon_vma_core,
	&free_without_wait_anon_vma_core,
	&get_anon_vma_plain_inc_anon_vma_core,
	&lock_read_no_recheck_anon_vma_core,
	&walk_own_rwsem_anon_vma_core,
	&publish_without_release_anon_vma_core,
#ifdef RMAPFUZZ_HAVE_KERNEL
	&kernel_anon_vma_core,
#endif
#ifdef RMAPFUZZ_HAVE_KERNEL_BASE
	&kernel_base_anon_vma_core,
#endif
};

/* Worlds of a tree's own callers (RMAPFUZZ_KERNEL_SRC with tools/testing/vma). */
#ifdef RMAPFUZZ_HAVE_KERNEL_VMA
extern const struct rf_world_ops kernel_vma_world_ops;
#endif

static const struct rf_world_ops *const other_worlds[] = {
#ifdef RMAPFUZZ_HAVE_KERNEL_VMA
	&kernel_vma_world_ops,
#endif
	NULL,
};

/* The @index-th of them, or NULL. */
static const struct rf_world_ops *other_world_at(uint32_t index)
{
	const struct rf_world_ops *const *ops = other_worlds;

	while (*ops && index--)
		ops++;
	return *ops;
}

uint32_t rf_variant_count(void)
{
	return ARRAY_SIZE(variants) + ARRAY_SIZE(other_worlds) - 1;
}

const char *rf_variant_name(uint32_t index)
{
	const struct rf_world_ops *ops;

	if (index < ARRAY_SIZE(variants))
		return variants[index]->name;
	ops = other_world_at(index - ARRAY_SIZE(variants));
	return ops ? ops->name : NULL;
}

const char *rf_variant_relaxed_checks(uint32_t index)
{
	const struct rf_world_ops *ops;

	if (index < ARRAY_SIZE(variants))
		return variants[index]->relaxed_checks;
	ops = other_world_at(index - ARRAY_SIZE(variants));
	return ops ? ops->relaxed_checks : NULL;
}

/* A world of a tree's own callers named @variant, if one was built in. */
static struct rf_world *other_world_new(const char *variant)
{
	const struct rf_world_ops *const *ops = other_worlds;
	struct rf_world *rw;

	while (*ops && strcmp((*ops)->name, variant) != 0)
		ops++;
	if (!*ops)
		return NULL;
	rw = calloc(1, sizeof(*rw));
	if (!rw)
		abort();
	rw->ops = *ops;
	rw->impl = rw->ops->create();
	if (!rw->impl) {
		free(rw);
		return NULL;
	}
	return rw;
}

/* The caches every core shares, then each core's own, once per process. */
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static bool shared_caches_ready;
static bool core_ready[ARRAY_SIZE(variants)];

/* A core that lays out anon_vma_chain differently cannot share our callers. */
static void check_avc_layout(const struct anon_vma_core *core)
{
	struct avc_layout ours, theirs;

	our_avc_layout(&ours);
	core->avc_layout(&theirs);
	if (memcmp(&ours, &theirs, sizeof(ours)) != 0) {
		fprintf(stderr,
			"rmapfuzz: the %s core lays out struct anon_vma_chain "
			"differently from the harness (size %zu vs %zu)\n",
			core->name, theirs.size, ours.size);
		abort();
	}
}

static void init_core(size_t index)
{
	pthread_mutex_lock(&init_lock);
	if (!shared_caches_ready) {
		anon_vma_init();
		vm_area_cache_init();
		mm_cache_init();
		folio_cache_init();
		shared_caches_ready = true;
	}
	if (!core_ready[index]) {
		check_avc_layout(variants[index]);
		if (variants[index]->init)
			variants[index]->init();
		core_ready[index] = true;
	}
	pthread_mutex_unlock(&init_lock);
}

static struct mm_struct *find_mm(struct world *w, uint32_t id)
{
	struct mm_struct *mm;

	list_for_each_entry(mm, &w->mms, mm_list) {
		if (mm->mm_id == id)
			return mm;
	}
	return NULL;
}

struct mm_struct *rf_find_mm(struct rf_world *rw, uint32_t id)
{
	return find_mm(&rw->w, id);
}

static uint64_t world_serial;

struct rf_world *rf_world_new(const char *variant)
{
	const struct anon_vma_core *core = NULL;
	struct rf_world *rw;
	struct mm_struct *mm;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(variants); i++) {
		if (strcmp(variants[i]->name, variant) == 0)
			break;
	}
	if (i == ARRAY_SIZE(variants))
		return other_world_new(variant);
	core = variants[i];
	init_core(i);
	rw = calloc(1, sizeof(*rw));
	if (!rw)
		abort();
	rw->w.core = core;
	rw->w.arena = world_arena_get();
	rf_snap_bufs_take(&rw->snap);
	/* Only the code under test's hooked stores can be told apart. */
	if (rw->w.arena && sb_available()) {
		rw->watch.lo = (uintptr_t)rw->w.arena;
		rw->watch.span = world_arena_reserved(rw->w.arena);
	}
	rw->serial = __atomic_add_fetch(&world_serial, 1, __ATOMIC_RELAXED);
	INIT_LIST_HEAD(&rw->w.mms);
	slab_world_init(&rw->w);
	/* Where stores are hooked, the checks follow what they touch. */
	slab_follow(&rw->w, &rw->watch, sb_available());

	/* The first process, mm 0; no injection can be armed yet. */
	world_enter(rw);
	mm = mm_alloc();
	mm->mm_id = 0;
	list_add_tail(&mm->mm_list, &rw->w.mms);
	rw->w.next_mm_id = 1;
	world_leave();
	return rw;
}

/* ---- Operations ---------------------------------------------------------- */

/* A range [start, start + len) that mmap, munmap or madvise accepts. */
static bool valid_range(uint64_t start, uint64_t len)
{
	return len && PAGE_ALIGNED(start) && PAGE_ALIGNED(len) &&
	       len <= TASK_SIZE && start <= TASK_SIZE - len;
}

static uint32_t status_of(int err)
{
	return err ? RF_STATUS_ENOMEM : RF_STATUS_OK;
}

void record_hit(struct folio *folio, struct vm_area_struct *vma,
		       unsigned long address, void *arg)
{
	struct hit_vec *hits = arg;
	struct rf_hit hit = { .mm = UINT32_MAX, .addr = address };

	/* A tree entry whose VMA is gone is reported, not followed. */
	if (slab_obj_state(vma, ALLOC_SITE_VMA) != SLAB_OBJ_LIVE ||
	    slab_obj_state(vma->vm_mm, ALLOC_SITE_MM) != SLAB_OBJ_LIVE) {
		vec_push(hits, hit);
		return;
	}
	if (address < vma->vm_start || address >= vma->vm_end ||
	    pte_folio(vma->vm_mm, address) != folio)
		return;
	hit.mm = vma->vm_mm->mm_id;
	vec_push(hits, hit);
}

void rf_collect_rmap_hits(struct rf_world *rw, struct folio *folio,
			  struct hit_vec *hits, bool folio_locked)
{
	const struct anon_vma_core *core = rw->w.core;
	size_t first = hits->n;
	bool live;

	/*
	 * An operation's walk may race with a writer of the tree: the tree is
	 * looked over under the family's read lock, as the walk reads it (a
	 * snapshot's world stands still).
	 */
	if (folio_locked)
		anon_vma_lock_read(folio->anon_vma);
	live = rf_tree_reaches_only_live(rw, core->tree(folio->anon_vma));
	if (folio_locked)
		anon_vma_unlock_read(folio->anon_vma);
	if (!live) {
		struct rf_hit freed = { .mm = UINT32_MAX };

		vec_push(hits, freed);
		return;
	}
	if (folio_locked)
		rmap_walk_anon_locked(folio, record_hit, hits);
	else
		rmap_walk_anon(folio, record_hit, hits);
	rf_sort(hits->v + first, hits->n - first, sizeof(*hits->v), rf_hit_cmp);
}

static int advice_to_behavior(uint32_t advice)
{
	switch (advice) {
	case RF_ADVICE_DONTFORK:
		return MADV_DONTFORK;
	case RF_ADVICE_DOFORK:
		return MADV_DOFORK;
	case RF_ADVICE_WIPEONFORK:
		return MADV_WIPEONFORK;
	case RF_ADVICE_KEEPONFORK:
		return MADV_KEEPONFORK;
	}
	return -1;
}

static uint32_t op_mmap(struct mm_struct *mm, const struct rf_op *op)
{
	int err;

	if (!valid_range(op->a, op->b) ||
	    !range_is_free(mm, op->a, op->a + op->b, NULL))
		return RF_STATUS_EINVAL;
	err = do_mmap(mm, op->a, op->b);
	return status_of(err);
}

static uint32_t op_fault(struct mm_struct *mm, const struct rf_op *op)
{
	struct vm_area_struct *vma = vma_lookup(mm, op->a);
	int err;

	if (!vma || op->c > RF_ACCESS_WRITE)
		return RF_STATUS_EINVAL;
	err = handle_mm_fault(vma, op->a, op->c == RF_ACCESS_WRITE);
	if (err)
		return RF_STATUS_ENOMEM;
	return op->c == RF_ACCESS_WRITE ? RF_STATUS_OK : RF_STATUS_NOOP;
}

static uint32_t op_fork(struct rf_world *rw, struct mm_struct *mm)
{
	/*
	 * The child's id is taken when the fork starts (a racing walk may meet
	 * the child half built) and given back if it fails, unless a racing
	 * fork took the next one meanwhile (ids count successful forks).
	 */
	unsigned int id = rw->w.next_mm_id++;
	struct mm_struct *child, *pos;

	/* Another fork may take the next id before this one allocates. */
	sched_step();
	child = dup_mm(mm, id);
	if (!child) {
		sched_step_effect();
		if (rw->w.next_mm_id == id + 1)
			rw->w.next_mm_id = id;
		return RF_STATUS_ENOMEM;
	}
	/* In id order: racing forks may end in another order than they began. */
	list_for_each_entry(pos, &rw->w.mms, mm_list) {
		if (pos->mm_id > id)
			break;
	}
	list_add_tail(&child->mm_list, &pos->mm_list);
	return RF_STATUS_OK;
}

static uint32_t op_split(struct mm_struct *mm, const struct rf_op *op)
{
	struct vm_area_struct *vma = vma_lookup(mm, op->a);

	if (!PAGE_ALIGNED(op->a) || !vma || vma->vm_start == op->a)
		return RF_STATUS_EINVAL;
	return status_of(__split_vma(vma, op->a, 0));
}

static uint32_t op_merge(struct mm_struct *mm, const struct rf_op *op)
{
	struct vm_area_struct *vma = vma_lookup(mm, op->a);
	struct vm_area_struct *merged;
	int err;

	if (!vma)
		return RF_STATUS_EINVAL;
	merged = vma_merge_existing_range(vma, vma->vm_start, vma->vm_end,
					  vma->vm_flags, &err);
	if (err)
		return RF_STATUS_ENOMEM;
	return merged ? RF_STATUS_OK : RF_STATUS_NOOP;
}

static uint32_t op_mremap(struct mm_struct *mm, const struct rf_op *op)
{
	struct vm_area_struct *vma = vma_lookup(mm, op->a);
	uint64_t len;

	if (!vma)
		return RF_STATUS_EINVAL;
	len = vma->vm_end - vma->vm_start;
	if (!valid_range(op->b, len) ||
	    !range_is_free(mm, op->b, op->b + len, NULL))
		return RF_STATUS_EINVAL;
	return status_of(move_vma(vma, op->b));
}

static uint32_t op_munmap(struct mm_struct *mm, const struct rf_op *op)
{
	if (!valid_range(op->a, op->b))
		return RF_STATUS_EINVAL;
	if (!vma_first_in_range(mm, op->a, op->a + op->b))
		return RF_STATUS_NOOP;
	return status_of(do_munmap(mm, op->a, op->b));
}

static uint32_t op_madvise(struct mm_struct *mm, const struct rf_op *op)
{
	int behavior = advice_to_behavior(op->c);
	int changed;

	if (!valid_range(op->a, op->b) || behavior < 0)
		return RF_STATUS_EINVAL;
	changed = do_madvise(mm, op->a, op->b, behavior);
	if (changed < 0)
		return RF_STATUS_ENOMEM;
	return changed ? RF_STATUS_OK : RF_STATUS_NOOP;
}

/*
 * A walk racing with a split meets the page twice: through the new VMA's
 * cloned AVC and the old one's, before the old VMA shrinks (the kernel's
 * walk too). What it found from @first on is a set: sorted, each once.
 */
static void hits_as_set(struct hit_vec *hits, size_t first)
{
	size_t i, n = first + 1;

	if (hits->n <= first)
		return;
	rf_sort(hits->v + first, hits->n - first, sizeof(*hits->v), rf_hit_cmp);
	for (i = first + 1; i < hits->n; i++)
		if (rf_hit_cmp(&hits->v[i], &hits->v[n - 1]))
			hits->v[n++] = hits->v[i];
	hits->n = n;
}

static uint32_t op_rmap(struct rf_world *rw, struct mm_struct *mm,
			const struct rf_op *op)
{
	struct hit_vec *hits = rw->w.op_results;
	unsigned long addr = op->a & PAGE_MASK;
	uint32_t status = RF_STATUS_OK;
	struct folio *folio;

	if (!vma_lookup(mm, op->a))
		return RF_STATUS_EINVAL;
	folio = pte_folio(mm, addr);
	if (!folio)
		return RF_STATUS_NOOP;
	if (slab_obj_state(folio->anon_vma, ALLOC_SITE_ANON_VMA) != SLAB_OBJ_LIVE) {
		/* The kernel's walk would follow a dangling mapping. */
		struct rf_hit freed = { .mm = UINT32_MAX };

		vec_push(hits, freed);
		return RF_STATUS_OK;
	}
	/*
	 * Held, and looked at again under its lock: a racing reclaim may have
	 * unmapped it meanwhile, and then the walk comes after the unmap.
	 */
	folio_pin(folio);
	folio_lock(folio);
	if (pte_folio(mm, addr) != folio) {
		status = RF_STATUS_NOOP;
	} else {
		size_t first = hits->n;

		rf_collect_rmap_hits(rw, folio, hits, true);
		hits_as_set(hits, first);
	}
	folio_unlock(folio);
	folio_unpin(folio);
	return status;
}

bool rf_op_is_walker(const struct rf_op *op)
{
	return op->kind == RF_OP_RECLAIM || op->kind == RF_OP_MIGRATE ||
	       op->kind == RF_OP_REFERENCED;
}

struct folio *rf_walker_folio(struct rf_world *rw, const struct rf_op *op,
			      uint32_t *status)
{
	struct mm_struct *mm = find_mm(&rw->w, op->mm);
	struct folio *folio;

	if (!mm || !vma_lookup(mm, op->a)) {
		*status = RF_STATUS_EINVAL;
		return NULL;
	}
	folio = pte_folio(mm, op->a & PAGE_MASK);
	if (!folio) {
		*status = RF_STATUS_NOOP;
		return NULL;
	}
	folio_pin(folio);
	return folio;
}

/*
 * A walker's work on the folio it isolated (and pinned): under the folio
 * lock, as reclaim and migration hold it. Lets the pin go at the end.
 */
uint32_t rf_run_walker(struct rf_world *rw, struct folio *folio,
		       const struct rf_op *op, struct hit_vec *hits)
{
	(void)rw;
	folio_lock(folio);
	switch (op->kind) {
	case RF_OP_RECLAIM:
		folio_try_to_unmap(folio);
		break;
	case RF_OP_MIGRATE:
		folio_migrate_walk(folio, record_hit, hits);
		break;
	case RF_OP_REFERENCED:
		folio_referenced(folio, record_hit, hits);
		break;
	}
	folio_unlock(folio);
	folio_unpin(folio);
	hits_as_set(hits, 0);
	/*
	 * Ok once the folio was isolated: whether it was still mapped when
	 * the walk looked is told by what the walk found.
	 */
	return RF_STATUS_OK;
}

/* An mm the last operation of a race working on it has let go. */
void rf_mm_put(struct mm_struct *mm)
{
	if (--mm->users == 0 && mm->exited)
		mm_free(mm);
}

uint32_t rf_apply_mm_op(struct rf_world *rw, struct mm_struct *mm,
			const struct rf_op *op)
{
	/* A fault holds mmap_lock for reading, as the kernel's fault path does:
	 * faults of one process run together. */
	bool fault = op->kind == RF_OP_FAULT;
	uint32_t status;

	if (fault)
		mmap_read_lock(mm);
	else
		mmap_write_lock(mm);
	sched_step();
	if (mm->exited) {
		/* Exited while this operation waited for its lock. */
		if (fault)
			mmap_read_unlock(mm);
		else
			mmap_write_unlock(mm);
		return RF_STATUS_EINVAL;
	}
	switch (op->kind) {
	case RF_OP_MMAP:
		status = op_mmap(mm, op);
		break;
	case RF_OP_FAULT:
		status = op_fault(mm, op);
		break;
	case RF_OP_FORK:
		status = op_fork(rw, mm);
		break;
	case RF_OP_SPLIT:
		status = op_split(mm, op);
		break;
	case RF_OP_MERGE:
		status = op_merge(mm, op);
		break;
	case RF_OP_MREMAP:
		status = op_mremap(mm, op);
		break;
	case RF_OP_MUNMAP:
		status = op_munmap(mm, op);
		break;
	case RF_OP_MADVISE:
		status = op_madvise(mm, op);
		break;
	case RF_OP_EXIT:
		exit_mmap(mm);
		mm->exited = true;
		mmap_write_unlock(mm);
		list_del(&mm->mm_list);
		/* Operations of a race still holding it free it last. */
		if (!mm->users)
			mm_free(mm);
		return RF_STATUS_OK;
	case RF_OP_RMAP:
		status = op_rmap(rw, mm, op);
		break;
	default:
		status = RF_STATUS_EINVAL;
		break;
	}
	if (fault)
		mmap_read_unlock(mm);
	else
		mmap_write_unlock(mm);
	return status;
}

static uint32_t apply_op(struct rf_world *rw, const struct rf_op *op)
{
	struct mm_struct *mm = find_mm(&rw->w, op->mm);
	struct folio *folio;
	uint32_t status;

	if (!mm)
		return RF_STATUS_EINVAL;
	if (!rf_op_is_walker(op))
		return rf_apply_mm_op(rw, mm, op);
	folio = rf_walker_folio(rw, op, &status);
	if (!folio)
		return status;
	return rf_run_walker(rw, folio, op, rw->w.op_results);
}

bool rf_world_fail_maple(struct rf_world *rw, uint32_t nth)
{
	if (!rw->ops || !rw->ops->fail_maple)
		return false;
	rw->ops->fail_maple(rw->impl, nth);
	return true;
}

void rf_world_apply(struct rf_world *rw, const struct rf_op *op,
		    uint32_t fail_nth, bool fail_and_later,
		    struct rf_outcome *out)
{
	struct world *w = &rw->w;
	uint32_t n;

	if (rw->ops) {
		rw->ops->apply(rw->impl, op, fail_nth, fail_and_later, out);
		return;
	}
	world_enter(rw);
	rw->trees_sound = false;
	w->fail_nth = fail_nth;
	w->fail_and_later = fail_and_later;
	w->nr_attempts = 0;
	vec_reset(&rw->rmap_hits);
	w->op_results = &rw->rmap_hits;

	out->maple_failed = false;	/* our callers keep no maple tree */
	out->status = apply_op(rw, op);
	lockdep_op_end();

	w->fail_nth = 0;
	out->nr_allocs = w->nr_attempts;
	n = min(w->nr_attempts, (unsigned int)RF_MAX_ALLOCS);
	memcpy(out->allocs, w->attempts, n);
	out->nr_hits = rw->rmap_hits.n;
	out->hits = rw->rmap_hits.v;
	w->op_results = NULL;
	world_leave();
}

/* ---- Hygiene ---------------------------------------------------------------- */

static void hygiene_say(struct rf_world *rw, uint32_t *nr, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void hygiene_say(struct rf_world *rw, uint32_t *nr, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int len, i;

	va_start(ap, fmt);
	len = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	if (len >= (int)sizeof(line))
		len = sizeof(line) - 1;
	for (i = 0; i < len; i++)
		vec_push(&rw->hygiene_text, line[i]);
	vec_push(&rw->hygiene_text, '\n');
	(*nr)++;
}

struct tree_audit {
	struct rf_world *rw;
	uint32_t *nr;
	/* The audited anon_vma, and its place among the live ones (-1: not
	 * counted yet, only a report needs it). */
	struct anon_vma *anon_vma;
	int64_t index;
	/* Problems it found; reported unless quiet. */
	unsigned int found;
	bool quiet;
	/* Only the shape: leave the VMAs to the contracts. */
	bool shape_only;
	bool broken;
};

struct live_rank {
	const void *obj;
	int64_t rank;
	bool found;
};

static void count_until(void *obj, void *arg)
{
	struct live_rank *r = arg;

	if (obj == r->obj)
		r->found = true;
	else if (!r->found)
		r->rank++;
}

static uint32_t audit_index(struct tree_audit *audit)
{
	/* (The live list's order is the one a full audit counts in.) */
	if (audit->index < 0) {
		struct live_rank r = { .obj = audit->anon_vma };

		slab_for_each_live(&audit->rw->w, ALLOC_SITE_ANON_VMA,
				   count_until, &r);
		audit->index = r.rank;
	}
	return (uint32_t)audit->index;
}

#define audit_say(audit, fmt, ...)					\
	do {								\
		(audit)->found++;					\
		if (!(audit)->quiet)					\
			hygiene_say((audit)->rw, (audit)->nr,		\
				    "tree: anon_vma #%u: " fmt,		\
				    audit_index(audit), ##__VA_ARGS__);	\
	} while (0)

/* One node of an audited tree: live, of a live VMA, under its current key. */
static bool audit_tree_node(struct anon_vma_chain *avc, int32_t ref, void *arg)
{
	struct tree_audit *audit = arg;
	struct world *w = &audit->rw->w;

	(void)ref;
	if (!avc) {
		audit_say(audit, "interval tree reaches a freed anon_vma_chain");
		audit->broken = true;
		return true;
	}
	/* Where the world follows touched objects, a touch of this node
	 * calls for another audit of this tree. */
	if (w->follows_touched && !slab_read_by(avc, audit->anon_vma))
		w->follows_touched = false;
	if (audit->shape_only)
		return true;
	if (slab_obj_state(avc->vma, ALLOC_SITE_VMA) != SLAB_OBJ_LIVE) {
		audit_say(audit, "interval tree holds an anon_vma_chain of a freed VMA");
		audit->broken = true;
		return true;
	}
	if (avc->cached_vma_start != avc_key_start(avc->vma) ||
	    avc->cached_vma_last != avc_key_last(avc->vma))
		audit_say(audit, "the anon_vma_chain of vma %#lx-%#lx is filed under pgoff %#lx-%#lx, but the VMA now covers %#lx-%#lx",
			  avc->vma->vm_start, avc->vma->vm_end,
			  avc->cached_vma_start, avc->cached_vma_last,
			  avc_key_start(avc->vma), avc_key_last(avc->vma));
	return true;
}

/* Interval-tree shape and stale keys of one anon_vma; true if sound. */
static bool audit_one(struct tree_audit *audit, void *obj)
{
	const struct anon_vma_core *core = audit->rw->w.core;
	struct rb_root_cached *tree = core->tree(obj);
	unsigned int faults, found = audit->found;

	audit->anon_vma = obj;
	audit->broken = false;
	rf_tree_walk(audit->rw, tree, audit_tree_node, audit);
	if (!audit->broken) {
		faults = anon_vma_interval_tree_check(tree, core->rb_colours);
		if (faults)
			audit_say(audit, "interval tree has %u structural fault(s)",
				  faults);
	}
	return audit->found == found;
}

static void audit_anon_vma(void *obj, void *arg)
{
	struct tree_audit *audit = arg;

	audit_one(audit, obj);
	audit->index++;
}

/* One touched anon_vma; looked at (and no longer touched) if sound. */
static bool audit_touched(void *obj, void *arg)
{
	struct tree_audit *audit = arg;

	audit->index = -1;
	return audit_one(audit, obj);
}

/*
 * RMAPFUZZ_VERIFY_WATCH=1: a tree no store touched since its last audit
 * still has a sound shape (its keys depend on the VMAs, which the
 * contracts check at every step before the audit: invariant.tree.member).
 */
static void verify_untouched_tree(void *obj, void *arg)
{
	struct tree_audit *audit = arg;

	if (slab_obj_touched(obj, TOUCH_AUDIT))
		return;
	audit->index = -1;
	if (!audit_one(audit, obj)) {
		fprintf(stderr, "rmapfuzz bug: the interval tree of anon_vma #%u broke, but nothing touched it\n",
			audit_index(audit));
		abort();
	}
}

/*
 * The audit of every live anon_vma's tree, or where the world follows
 * touched objects, of those touched since their last sound audit: an
 * untouched tree has the shape it had, and its keys are the contracts'
 * (invariant.tree.member, checked on the same state before hygiene).
 * True if it found nothing.
 */
static bool audit_trees(struct rf_world *rw, uint32_t *nr)
{
	struct world *w = &rw->w;
	struct tree_audit audit = { .rw = rw, .nr = nr };
	uint32_t before = *nr;
	size_t text = rw->hygiene_text.n;

	if (w->follows_touched && !rw->audit_all) {
		slab_for_each_touched(w, ALLOC_SITE_ANON_VMA, TOUCH_AUDIT,
				      audit_touched, &audit);
		if (w->follows_touched) {
			if (slab_verify_touched()) {
				struct tree_audit quiet = {
					.rw = rw, .quiet = true, .shape_only = true,
				};

				slab_for_each_live(w, ALLOC_SITE_ANON_VMA,
						   verify_untouched_tree, &quiet);
			}
			return *nr == before;
		}
		/* It met what cannot be followed: audit everything instead. */
		rw->hygiene_text.n = text;
		*nr = before;
	}
	rw->audit_all = false;
	audit.index = 0;
	slab_for_each_live(w, ALLOC_SITE_ANON_VMA, audit_anon_vma, &audit);
	return *nr == before;
}

/*
 * Whether every anon_vma's interval tree passes the audit (its report is
 * dropped: a checkpoint only records the verdict).
 */
static bool trees_sound(struct rf_world *rw)
{
	uint32_t nr = 0;
	struct tree_audit audit = { .rw = rw, .nr = &nr };

	world_enter(rw);
	slab_for_each_live(&rw->w, ALLOC_SITE_ANON_VMA, audit_anon_vma, &audit);
	vec_reset(&rw->hygiene_text);
	world_leave();
	return !nr;
}

struct held_audit {
	struct rf_world *rw;
	uint32_t *nr;
	uint32_t index;
};

/* An anon_vma whose rwsem stayed held after the operation. */
static void audit_anon_vma_lock(void *obj, void *arg)
{
	struct held_audit *audit = arg;
	struct rw_semaphore *rwsem = audit->rw->w.core->own_rwsem(obj);

	if (rwsem_is_locked(rwsem))
		hygiene_say(audit->rw, audit->nr,
			    "lock: anon_vma #%u: rwsem still held after the operation (taken at %s:%d)",
			    audit->index, rwsem->owner_file ?
			    rwsem->owner_file : "?", rwsem->owner_line);
	audit->index++;
}

/*
 * Problems, most telling first: broken lock rules, then warnings of the
 * code under test, then damaged trees, then writes to freed memory. Each
 * line starts with its kind, which names the check (hygiene.lock, ...).
 */
void rf_world_hygiene(struct rf_world *rw, struct rf_hygiene *out)
{
	struct world *w = &rw->w;
	struct held_audit held = { .rw = rw, .nr = &out->nr_problems };
	struct lockdep_state *ld = &w->lockdep;
	bool audited = rw->trees_as_saved;
	struct mm_struct *mm;
	unsigned int i;

	if (rw->ops) {
		rw->ops->hygiene(rw->impl, out);
		return;
	}
	world_enter(rw);
	out->nr_problems = 0;
	vec_reset(&rw->hygiene_text);

	for (i = 0; i < min(w->nr_race_reports, (unsigned int)WORLD_MAX_RACE_REPORTS); i++)
		hygiene_say(rw, &out->nr_problems, "race: %s", w->race_reports[i]);
	if (w->nr_race_reports > WORLD_MAX_RACE_REPORTS)
		hygiene_say(rw, &out->nr_problems, "race: ... and %u more",
			    w->nr_race_reports - WORLD_MAX_RACE_REPORTS);
	w->nr_race_reports = 0;
	if (w->race_abandoned) {
		/* What the stopped threads held says nothing more. */
		ld->nr_reports = 0;
		w->nr_warnings = 0;
		goto done;
	}

	for (i = 0; i < min(ld->nr_reports, (unsigned int)WORLD_MAX_LOCK_REPORTS); i++)
		hygiene_say(rw, &out->nr_problems, "lock: %s", ld->reports[i]);
	if (ld->nr_reports > WORLD_MAX_LOCK_REPORTS)
		hygiene_say(rw, &out->nr_problems, "lock: ... and %u more",
			    ld->nr_reports - WORLD_MAX_LOCK_REPORTS);
	ld->nr_reports = 0;
	slab_for_each_live(w, ALLOC_SITE_ANON_VMA, audit_anon_vma_lock, &held);
	if (w->locks_held)
		hygiene_say(rw, &out->nr_problems,
			    "lock: %d lock(s) still held after the operation",
			    w->locks_held);
	list_for_each_entry(mm, &w->mms, mm_list) {
		if (rwsem_is_locked(&mm->mmap_lock))
			hygiene_say(rw, &out->nr_problems,
				    "lock: mm %u: mmap_lock still held", mm->mm_id);
	}

	for (i = 0; i < min(w->nr_warnings, (unsigned int)WORLD_MAX_WARNINGS); i++)
		hygiene_say(rw, &out->nr_problems, "warning: %s:%d: %s",
			    w->warnings[i].file, w->warnings[i].line,
			    w->warnings[i].cond);
	if (w->nr_warnings > WORLD_MAX_WARNINGS)
		hygiene_say(rw, &out->nr_problems, "warning: ... and %u more",
			    w->nr_warnings - WORLD_MAX_WARNINGS);
	w->nr_warnings = 0;

	if (!audited)
		rw->trees_sound = audit_trees(rw, &out->nr_problems);

	slab_check_quarantine(w);
	if (w->writes_after_free)
		hygiene_say(rw, &out->nr_problems,
			    "write-after-free: %llu write(s) to freed objects",
			    (unsigned long long)w->writes_after_free);
	w->writes_after_free = 0;

done:
	vec_push(&rw->hygiene_text, '\0');
	out->text = rw->hygiene_text.v;
	world_leave();
}

/* The harness's numbering of the checker's rules is the checker's own. */
_Static_assert((int)RF_LOCK_STAT_TREE_WRITE == (int)LOCK_STAT_TREE_WRITE &&
	       (int)RF_LOCK_STAT_TREE_SEARCH == (int)LOCK_STAT_TREE_SEARCH &&
	       (int)RF_LOCK_STAT_ANON_VMA_SEAL == (int)LOCK_STAT_ANON_VMA_SEAL &&
	       (int)RF_LOCK_STAT_VMA_SEAL == (int)LOCK_STAT_VMA_SEAL &&
	       (int)RF_LOCK_STAT_MMAP_ASSERT == (int)LOCK_STAT_MMAP_ASSERT &&
	       (int)RF_LOCK_STAT_ROOT_ONLY == (int)LOCK_STAT_ROOT_ONLY &&
	       (int)RF_LOCK_STAT_ORDER == (int)LOCK_STAT_ORDER &&
	       (int)RF_NR_LOCK_STATS == (int)NR_LOCK_STATS,
	       "lock stats numbered alike");

void rf_world_lock_stats(struct rf_world *rw, uint64_t out[RF_NR_LOCK_STATS])
{
	/* Our lock checker does not run in a tree's own world. */
	if (rw->ops)
		memset(out, 0, RF_NR_LOCK_STATS * sizeof(uint64_t));
	else
		memcpy(out, rw->w.lockdep.checked, RF_NR_LOCK_STATS * sizeof(uint64_t));
}

/* ---- Teardown ------------------------------------------------------------ */

static void rf_world_release(struct rf_world *rw)
{
	rf_race_release(rw);
	world_mem_free(rw->w.arena, rw->w.lockdep.reports);
	world_mem_free(rw->w.arena, rw->w.race_reports);
	world_arena_put(rw->w.arena);
	vec_free(&rw->rmap_hits);
	vec_free(&rw->hygiene_text);
	rf_snap_bufs_give(&rw->snap);
	free(rw);
}

static void free_page_tables(void *obj, void *arg)
{
	(void)arg;
	pte_table_free(obj);
}

static void exit_all_mms(struct world *w)
{
	struct mm_struct *mm, *next;

	list_for_each_entry_safe(mm, next, &w->mms, mm_list) {
		mmap_write_lock(mm);
		exit_mmap(mm);
		mmap_write_unlock(mm);
		list_del(&mm->mm_list);
		mm_free(mm);
	}
}

void rf_world_exit_all(struct rf_world *rw)
{
	if (rw->ops) {
		rw->ops->exit_all(rw->impl);
		return;
	}
	world_enter(rw);
	exit_all_mms(&rw->w);
	/* What exits leave is audited whole (no contract ran on it). */
	rw->audit_all = true;
	world_leave();
}

void rf_world_free(struct rf_world *rw, uint64_t leaks[RF_NR_SITES])
{
	struct world *w = &rw->w;
	int i;

	if (rw->ops) {
		rw->ops->free(rw->impl, leaks);
		free(rw);
		return;
	}
	world_enter(rw);
	exit_all_mms(w);
	for (i = 0; i < RF_NR_SITES; i++) {
		if (leaks)
			leaks[i] = w->sites[i].live;
	}
	/* Leaked mms still hold their page tables. */
	slab_for_each_live(w, ALLOC_SITE_MM, free_page_tables, NULL);
	slab_world_release(w);
	world_leave();

	rf_world_release(rw);
}

void rf_world_discard(struct rf_world *rw)
{
	if (rw->ops) {
		rw->ops->discard(rw->impl);
		free(rw);
		return;
	}
	world_enter(rw);
	/* Page tables live outside the slab; the mm_structs hold them. */
	slab_for_each_live(&rw->w, ALLOC_SITE_MM, free_page_tables, NULL);
	slab_world_release(&rw->w);
	world_leave();
	rf_world_release(rw);
}

/* ---- Saved states ------------------------------------------------------- */

struct rf_checkpoint {
	uint64_t serial;
	/* Its interval trees passed the audit when it was taken. */
	bool trees_sound;
	struct world w;
	size_t len;
	unsigned char arena[];
};

struct rf_checkpoint *rf_world_save(struct rf_world *rw)
{
	struct world *w = &rw->w;
	struct rf_checkpoint *cp;
	size_t len;

	/* (Under ASan a copy would not carry which bytes are poisoned.) */
	if (RMAPFUZZ_ASAN || rw->ops || !w->arena || rw->race || w->sched ||
	    w->slab_race || w->race_abandoned)
		return NULL;
	len = world_arena_used(w->arena);
	cp = malloc(sizeof(*cp) + len);
	if (!cp)
		abort();
	cp->serial = rw->serial;
	cp->trees_sound = trees_sound(rw);
	cp->w = *w;
	cp->len = len;
	world_arena_save(w->arena, cp->arena);
	return cp;
}

bool rf_world_restore(struct rf_world *rw, const struct rf_checkpoint *cp)
{
	rw->trees_as_saved = false;
	if (cp->serial != rw->serial)
		return false;
	rw->w = cp->w;
	world_arena_restore(rw->w.arena, cp->arena, cp->len);
	rw->watch.written = true;
	/* The arena's owner words now name what a later state made. */
	slab_follow(&rw->w, &rw->watch, false);
	rw->trees_sound = cp->trees_sound;
	return true;
}

/*
 * Everything a snapshot reads is as @cp holds it: the same live objects in
 * the same order with the same bytes, the same list of mms, and the same
 * page tables. (A pointer that named a live object still does; one that
 * named none may now name a freed one, so the caller asks only of states
 * whose every reference is to a live object.)
 */
bool rf_world_unchanged(struct rf_world *rw, const struct rf_checkpoint *cp)
{
	const struct world *w = &rw->w;
	struct mm_struct *mm;

	if (rw->ops || !w->arena || cp->serial != rw->serial ||
	    w->mms.next != cp->w.mms.next || w->mms.prev != cp->w.mms.prev ||
	    !slab_same_live(w, &cp->w, cp->arena, cp->len))
		return false;
	/* Same mm_structs, so the same page-table arrays: compare what they hold. */
	list_for_each_entry(mm, &w->mms, mm_list) {
		size_t bytes = mm->ptes.nr * sizeof(*mm->ptes.entries);
		const void *was;

		if (!bytes)
			continue;
		was = world_arena_image(w->arena, cp->arena, cp->len,
					mm->ptes.entries, bytes);
		if (!was || memcmp(mm->ptes.entries, was, bytes))
			return false;
	}
	/* The same live objects hold the same trees, audited at the save. */
	rw->trees_as_saved = cp->trees_sound;
	rw->trees_sound = cp->trees_sound;
	return true;
}

void rf_checkpoint_free(struct rf_checkpoint *cp)
{
	free(cp);
}

bool rf_world_watch(struct rf_world *rw)
{
	rw->watch.armed = rw->watch.span && !rw->ops;
	rw->watch.written = false;
	rw->trees_sound_at_watch = rw->trees_sound;
	return rw->watch.armed;
}

bool rf_world_written(struct rf_world *rw)
{
	if (!rw->watch.armed || rw->watch.written)
		return true;
	/* The trees are the ones audited before the watch began, if they were. */
	rw->trees_sound = rw->trees_sound_at_watch;
	rw->trees_as_saved = rw->trees_sound;
	return false;
}

bool rf_world_follows_touched(struct rf_world *rw)
{
	return rw->w.follows_touched;
}

void rf_world_live(struct rf_world *rw, uint64_t live[RF_NR_SITES])
{
	int i;

	for (i = 0; i < RF_NR_SITES; i++)
		live[i] = rw->ops ? 0 : rw->w.sites[i].live;
}
