// SPDX-License-Identifier: GPL-2.0
/*
 * Races (harness.h): each operation a thread of the deterministic
 * scheduler. What a thread needs is fixed before any runs, as the kernel
 * has it when the race begins: its mm, held as mm_users holds it, and for
 * a walker the folio it isolated. The plan, the trace and the outcomes go
 * back to the caller.
 */
#include <string.h>

#include <linux/mm.h>
#include <linux/rmap.h>

#include "harness_internal.h"
#include <rmapfuzz/sched_run.h>
#include "mm/internal.h"

struct race_thread {
	struct rf_world *rw;
	const struct rf_race_op *rop;
	struct mm_struct *mm;		/* held; NULL: no such process */
	struct folio *folio;		/* a walker's, pinned */
	uint32_t status;
	struct hit_vec hits;
	unsigned int nr_attempts;
	u8 attempts[RF_MAX_ALLOCS];
};

struct race_state {
	struct race_thread threads[RF_MAX_THREADS];
	struct sched_run_result res;
	struct rf_trace_point trace[RF_MAX_TRACE];
};

_Static_assert(RF_MAX_THREADS == SCHED_MAX_THREADS &&
	       RF_MAX_PREEMPTIONS == SCHED_MAX_PREEMPTIONS &&
	       RF_MAX_TRACE == SCHED_MAX_TRACE &&
	       RF_MAX_STEPS == SCHED_MAX_STEPS &&
	       RF_MAX_PCT_CHANGES == SCHED_MAX_PCT_CHANGES &&
	       RF_MAX_LATE == SB_MAX_LATE &&
	       RF_MAX_LATE_CANDIDATES == SB_MAX_CANDIDATES, "race limits agree");

bool rf_memory_model(void)
{
	return sb_available();
}

static void race_thread_fn(void *arg)
{
	struct race_thread *t = arg;
	struct world *w = current_world;
	const struct rf_op *op = &t->rop->op;

	w->fail_nth = t->rop->fail_nth;
	w->fail_and_later = t->rop->fail_and_later;
	w->nr_attempts = 0;
	/* Where this thread's rmap walk reports (kept per thread). */
	w->op_results = &t->hits;
	/* An operation's first step begins once it holds its mmap_lock. */
	if (!t->mm || rf_op_is_walker(op))
		sched_step();
	if (!t->mm)
		t->status = RF_STATUS_EINVAL;
	else if (rf_op_is_walker(op))
		t->status = t->folio ? rf_run_walker(t->rw, t->folio, op, &t->hits)
				     : t->status;
	else
		t->status = rf_apply_mm_op(t->rw, t->mm, op);
	if (t->mm)
		rf_mm_put(t->mm);
	t->nr_attempts = w->nr_attempts;
	memcpy(t->attempts, w->attempts,
	       min(w->nr_attempts, (unsigned int)RF_MAX_ALLOCS));
	w->fail_nth = 0;
}

/*
 * A race's state is large (two traces): one is kept per host thread for
 * the next world, as a fuzz campaign makes a world per input and a fresh
 * one would cost a mapping and its page faults under ASan every time.
 */
static _Thread_local struct race_state *spare_race;

void rf_race_release(struct rf_world *rw)
{
	unsigned int i;

	if (!rw->race)
		return;
	for (i = 0; i < RF_MAX_THREADS; i++)
		vec_free(&rw->race->threads[i].hits);
	if (!spare_race)
		spare_race = rw->race;
	else
		free(rw->race);
	rw->race = NULL;
}

static struct race_state *race_state_get(void)
{
	struct race_state *rs = spare_race;

	if (!rs)
		rs = calloc(1, sizeof(*rs));
	if (!rs)
		abort();
	spare_race = NULL;
	/* Only the threads' parts are read before written. */
	memset(rs->threads, 0, sizeof(rs->threads));
	return rs;
}

bool rf_world_race(struct rf_world *rw, const struct rf_race_op *ops,
		   uint32_t nr, const struct rf_preemption *plan,
		   uint32_t nr_plan, const struct rf_pct *pct,
		   const struct rf_stores *stores, struct rf_race_result *out)
{
	struct sb_plan sb_plan = { .late = NULL };
	struct sched_preemption splan[RF_MAX_PREEMPTIONS];
	struct sb_store_id slate[RF_MAX_LATE];
	const struct sb_result *held;
	struct sched_pct spct;
	void *args[RF_MAX_THREADS];
	struct race_state *rs;
	struct world *w = &rw->w;
	unsigned int i;

	memset(out, 0, sizeof(*out));
	if (rw->ops || nr == 0 || nr > RF_MAX_THREADS)
		return false;
	if (!rw->race)
		rw->race = race_state_get();
	rs = rw->race;
	nr_plan = min(nr_plan, (uint32_t)RF_MAX_PREEMPTIONS);
	for (i = 0; i < nr_plan; i++)
		splan[i] = (struct sched_preemption){ plan[i].point, plan[i].thread };
	if (stores) {
		sb_plan.nr_late = min(stores->nr_late, (uint32_t)RF_MAX_LATE);
		for (i = 0; i < sb_plan.nr_late; i++)
			slate[i] = (struct sb_store_id){ stores->late[i].thread,
							 stores->late[i].store };
		sb_plan.late = slate;
		sb_plan.hold_fresh = stores->hold_fresh;
	}

	world_enter(rw);
	/* Its stores go to the store buffers, not the watch. */
	rw->watch.written = true;
	slab_follow(&rw->w, &rw->watch, false);
	rw->trees_sound = false;
	for (i = 0; i < nr; i++) {
		struct race_thread *t = &rs->threads[i];

		vec_reset(&t->hits);
		t->rw = rw;
		t->rop = &ops[i];
		t->folio = NULL;
		t->status = RF_STATUS_OK;
		t->nr_attempts = 0;
		t->mm = rf_find_mm(rw, ops[i].op.mm);
		if (t->mm) {
			t->mm->users++;
			if (rf_op_is_walker(&ops[i].op))
				t->folio = rf_walker_folio(rw, &ops[i].op,
							   &t->status);
		}
		args[i] = t;
	}
	if (pct) {
		memcpy(spct.priority, pct->priority, sizeof(spct.priority));
		spct.nr_changes = min(pct->nr_changes, (uint32_t)RF_MAX_PCT_CHANGES);
		memcpy(spct.changes, pct->changes, sizeof(spct.changes));
	}
	sched_run(w, race_thread_fn, args, nr, splan, nr_plan,
		  pct ? &spct : NULL, &sb_plan, &rs->res);
	if (!rs->res.abandoned)
		lockdep_op_end();

	for (i = 0; i < nr; i++) {
		struct race_thread *t = &rs->threads[i];
		struct rf_outcome *o = &out->outcomes[i];

		o->status = t->status;
		o->nr_allocs = t->nr_attempts;
		memcpy(o->allocs, t->attempts,
		       min(t->nr_attempts, (unsigned int)RF_MAX_ALLOCS));
		o->nr_hits = t->hits.n;
		o->hits = t->hits.v;
		o->maple_failed = false;
	}
	out->nr_points = rs->res.nr_points;
	out->nr_trace = min(rs->res.nr_points, (u32)RF_MAX_TRACE);
	for (i = 0; i < out->nr_trace; i++) {
		const struct sched_trace_point *p = &rs->res.trace[i];

		rs->trace[i] = (struct rf_trace_point){
			.thread = p->thread, .kind = p->kind,
			.runnable = p->runnable, .what = p->what,
			.func = p->func, .obj = (uint64_t)(uintptr_t)p->obj,
		};
	}
	out->trace = rs->trace;
	memcpy(out->nr_steps, rs->res.nr_steps, sizeof(out->nr_steps));
	memcpy(out->steps, rs->res.steps, sizeof(out->steps));
	out->nr_taken = rs->res.nr_taken;
	for (i = 0; i < out->nr_taken; i++)
		out->taken[i] = (struct rf_preemption){ rs->res.taken[i].point,
							rs->res.taken[i].thread };
	held = &rs->res.stores;
	out->nr_late = held->nr_late;
	for (i = 0; i < held->nr_late; i++)
		out->late[i] = (struct rf_late){ held->late[i].thread,
						 held->late[i].store };
	out->nr_late_candidates = held->nr_candidates;
	for (i = 0; i < held->nr_candidates; i++) {
		const struct sb_candidate *c = &held->candidates[i];

		out->late_candidates[i] = (struct rf_late_candidate){
			c->id.thread, c->id.store, c->reader, c->point,
		};
	}
	out->abandoned = rs->res.abandoned;
	w->race_abandoned = rs->res.abandoned;
	world_leave();
	return true;
}
