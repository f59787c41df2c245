// SPDX-License-Identifier: GPL-2.0
/*
 * The deterministic scheduler (see <rmapfuzz/sched.h>): coroutines on the
 * world's host thread, switched at the points the shims mark. Every
 * switch goes through the scheduler's own context, which restores the
 * per-thread parts of the world (held locks, fault injection, results)
 * before the chosen thread runs.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <ucontext.h>

#include <linux/kernel.h>
#include <linux/lockdep.h>
#include <linux/rwsem.h>
#include <rmapfuzz/anon_vma_core.h>
#include <rmapfuzz/sched.h>
#include <rmapfuzz/sched_run.h>
#include <rmapfuzz/store_buffer.h>
#include <rmapfuzz/world.h>
#include <rmapfuzz/world_mem.h>

/* The code under test runs on our stacks: ASan must hear of each switch. */
#if RMAPFUZZ_ASAN
#define SCHED_ASAN 1
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom,
				    size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save,
				     const void **bottom_old, size_t *size_old);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#else
#define SCHED_ASAN 0
#endif

#define SCHED_STACK_SIZE	(512 * 1024)

enum kthread_state { KT_RUNNABLE, KT_BLOCKED, KT_DONE };

/* The parts of the world that belong to the thread running in it. */
struct thread_state {
	unsigned int lock_depth;
	struct held_lock held[WORLD_MAX_HELD_LOCKS];
	const char *core_fn;
	unsigned int fail_nth;
	bool fail_and_later;
	unsigned int nr_attempts;
	u8 attempts[WORLD_MAX_ATTEMPTS];
	void *op_results;
};

struct kthread {
	ucontext_t ctx;
	void *stack;
	void *fake_stack;
	enum kthread_state state;
	/* What a blocked thread waits for. */
	const void *wait_lock;
	bool wait_write;
	bool (*ready)(const void *lock, bool write);
	const char *wait_what, *wait_func;
	int rcu_depth;
	/* The lock this thread last looked at with rwsem_is_locked(), when. */
	const void *checked_lock;
	u32 checked_at;
	struct thread_state ts;
	void (*fn)(void *arg);
	void *arg;
};

struct sched {
	struct world *w;
	struct kthread threads[SCHED_MAX_THREADS];
	unsigned int nr;
	int cur;		/* running thread, -1 in the scheduler */
	int cur_stopped;	/* the thread that just blocked or ended, or -1 */
	int next;		/* chosen by a preemption, -1: lowest runnable */
	ucontext_t main_ctx;
	const void *main_bottom;
	size_t main_size;
	void *main_fake_stack;
	const struct sched_preemption *plan;
	unsigned int nr_plan, plan_pos;
	/* PCT: each thread's priority, and the changes still to come. */
	bool pct;
	int priority[SCHED_MAX_THREADS];
	int lowest;
	const struct sched_pct *pct_plan;
	struct sched_run_result *res;
	bool abandoned;
};

static struct sched *current_sched(void)
{
	return current_world ? current_world->sched : NULL;
}

bool sched_active(void)
{
	struct sched *s = current_sched();

	return s && s->cur >= 0;
}

unsigned int sched_current(void)
{
	struct sched *s = current_sched();

	return s && s->cur >= 0 ? (unsigned int)s->cur : 0;
}

void race_report(const char *fmt, ...)
{
	struct world *w = current_world;
	va_list ap;

	if (!w)
		return;
	if (!w->race_reports)
		w->race_reports = world_mem_alloc(w->arena,
						  WORLD_MAX_RACE_REPORTS *
						  sizeof(*w->race_reports));
	if (w->nr_race_reports < WORLD_MAX_RACE_REPORTS) {
		va_start(ap, fmt);
		vsnprintf(w->race_reports[w->nr_race_reports],
			  WORLD_RACE_REPORT_LEN, fmt, ap);
		va_end(ap);
	}
	w->nr_race_reports++;
}

/* ---- Per-thread state ----------------------------------------------------- */

static void state_save(struct world *w, struct thread_state *ts)
{
	ts->lock_depth = w->lockdep.depth;
	memcpy(ts->held, w->lockdep.held, sizeof(ts->held));
	ts->core_fn = w->lockdep.core_fn;
	ts->fail_nth = w->fail_nth;
	ts->fail_and_later = w->fail_and_later;
	ts->nr_attempts = w->nr_attempts;
	memcpy(ts->attempts, w->attempts, sizeof(ts->attempts));
	ts->op_results = w->op_results;
}

static void state_load(struct world *w, const struct thread_state *ts)
{
	w->lockdep.depth = ts->lock_depth;
	memcpy(w->lockdep.held, ts->held, sizeof(ts->held));
	w->lockdep.core_fn = ts->core_fn;
	w->fail_nth = ts->fail_nth;
	w->fail_and_later = ts->fail_and_later;
	w->nr_attempts = ts->nr_attempts;
	memcpy(w->attempts, ts->attempts, sizeof(ts->attempts));
	w->op_results = ts->op_results;
}

/* Does thread @t hold a lock in [@lo, @hi]? The running one's are live. */
static bool holds_in(const struct sched *s, unsigned int t, uintptr_t lo,
		     uintptr_t hi)
{
	const struct held_lock *held = s->threads[t].ts.held;
	unsigned int i, depth = s->threads[t].ts.lock_depth;

	if ((int)t == s->cur) {
		held = s->w->lockdep.held;
		depth = s->w->lockdep.depth;
	}
	depth = min(depth, (unsigned int)WORLD_MAX_HELD_LOCKS);
	for (i = 0; i < depth; i++)
		if ((uintptr_t)held[i].lock >= lo && (uintptr_t)held[i].lock <= hi)
			return true;
	return false;
}

static bool holds(const struct sched *s, unsigned int t, const void *lock)
{
	return holds_in(s, t, (uintptr_t)lock, (uintptr_t)lock);
}

int sched_lock_holder_in(const void *start, size_t size)
{
	struct sched *s = current_sched();
	unsigned int i;

	if (!s || !size)
		return -1;
	for (i = 0; i < s->nr; i++)
		if (holds_in(s, i, (uintptr_t)start,
			     (uintptr_t)start + size - 1))
			return (int)i;
	return -1;
}

static bool runnable(const struct kthread *t)
{
	if (t->state == KT_RUNNABLE)
		return true;
	return t->state == KT_BLOCKED && t->ready(t->wait_lock, t->wait_write);
}

static u32 runnable_mask(const struct sched *s)
{
	u32 mask = 0;
	unsigned int i;

	for (i = 0; i < s->nr; i++)
		if (runnable(&s->threads[i]))
			mask |= 1u << i;
	return mask;
}

/* ---- Switching ------------------------------------------------------------ */

/* From the running thread back to the scheduler; @final: never resumed. */
static void yield_to_scheduler(struct sched *s, bool final)
{
	struct kthread *t = &s->threads[s->cur];

#if SCHED_ASAN
	__sanitizer_start_switch_fiber(final ? NULL : &t->fake_stack,
				       s->main_bottom, s->main_size);
#else
	(void)final;
#endif
	swapcontext(&t->ctx, &s->main_ctx);
#if SCHED_ASAN
	__sanitizer_finish_switch_fiber(t->fake_stack, NULL, NULL);
#endif
}

static void thread_entry(void)
{
	struct sched *s = current_world->sched;
	struct kthread *t = &s->threads[s->cur];

#if SCHED_ASAN
	__sanitizer_finish_switch_fiber(NULL, &s->main_bottom, &s->main_size);
#endif
	sched_point(SP_START, "start", NULL, NULL);
	t->fn(t->arg);
	/* Back to user space: everything it stored is seen. */
	sched_release();
	t->state = KT_DONE;
	yield_to_scheduler(s, true);
	abort();	/* a finished thread is never resumed */
}

static void switch_to(struct sched *s, unsigned int i)
{
	struct kthread *t = &s->threads[i];

	s->cur = (int)i;
	state_load(s->w, &t->ts);
	sb_switch_in(i);
#if SCHED_ASAN
	__sanitizer_start_switch_fiber(&s->main_fake_stack, t->stack,
				       SCHED_STACK_SIZE);
#endif
	swapcontext(&s->main_ctx, &t->ctx);
#if SCHED_ASAN
	__sanitizer_finish_switch_fiber(s->main_fake_stack, NULL, NULL);
#endif
	sb_switch_out(i);
	state_save(s->w, &t->ts);
	s->cur = -1;
}

static void trace_point(struct sched *s, enum sched_point_kind kind,
			const char *what, const void *obj, const char *func)
{
	struct sched_run_result *res = s->res;
	struct sched_trace_point *p;

	res->nr_points++;
	if (res->nr_points > SCHED_MAX_TRACE)
		return;
	p = &res->trace[res->nr_points - 1];
	p->thread = (u32)s->cur;
	p->kind = kind;
	p->runnable = runnable_mask(s);
	p->what = what;
	p->func = func;
	/* Conflicts are between objects: a lock and its anon_vma are one. */
	p->obj = obj ? slab_object_of(s->w, obj) : NULL;
}

static int lowest_runnable(const struct sched *s);

/* The highest-priority runnable thread (PCT), or -1. */
static int highest_runnable(const struct sched *s)
{
	int best = -1;
	unsigned int i;

	for (i = 0; i < s->nr; i++)
		if (runnable(&s->threads[i]) &&
		    (best < 0 || s->priority[i] > s->priority[best]))
			best = (int)i;
	return best;
}

/*
 * Choice @n, made while thread @cur runs (it may go on) or after it
 * stopped (@stopped: it blocked or ended, another must run). Returns the
 * thread to run next, or -1 for @cur to go on; records a choice the
 * default would not make in the plan that replays the run.
 */
static int choose(struct sched *s, u32 n, int cur, bool stopped)
{
	int chosen = -1, fallback = stopped ? lowest_runnable(s) : cur;
	bool planned = false;
	unsigned int i;

	while (s->plan_pos < s->nr_plan && s->plan[s->plan_pos].point < n)
		s->plan_pos++;
	if (s->plan_pos < s->nr_plan && s->plan[s->plan_pos].point == n) {
		unsigned int to = s->plan[s->plan_pos++].thread;

		if (to < s->nr && runnable(&s->threads[to]) && (int)to != cur) {
			chosen = (int)to;
			planned = true;
		}
	} else if (s->pct) {
		for (i = 0; i < s->pct_plan->nr_changes; i++)
			if (s->pct_plan->changes[i] == n && cur >= 0)
				s->priority[cur] = --s->lowest;
		chosen = highest_runnable(s);
	}
	if (chosen < 0)
		chosen = fallback;
	/* What the plan asked is kept as asked; other choices if not default. */
	if (chosen >= 0 && (planned || chosen != fallback) &&
	    s->res->nr_taken < SCHED_MAX_PREEMPTIONS)
		s->res->taken[s->res->nr_taken++] =
			(struct sched_preemption){ n, (u32)chosen };
	return chosen == cur && !stopped ? -1 : chosen;
}

void sched_step(void)
{
	struct sched *s = current_sched();
	u32 n;

	if (!s || s->cur < 0)
		return;
	n = s->res->nr_steps[s->cur]++;
	if (n < SCHED_MAX_STEPS)
		s->res->steps[s->cur][n] = s->res->nr_points;
}

/*
 * A step's changes to what others see are made under the locks it takes,
 * the last one deciding (anon_vma_fork() may reuse an anon_vma only once
 * it holds the family's lock, after its allocations), or where it changes
 * them without a lock (sched_step_effect()): the step is placed at the
 * last of these rather than where it began.
 */
static void step_took_effect(struct sched *s)
{
	u32 n = s->res->nr_steps[s->cur];

	if (n && n <= SCHED_MAX_STEPS)
		s->res->steps[s->cur][n - 1] = s->res->nr_points;
}

void sched_step_effect(void)
{
	struct sched *s = current_sched();

	if (s && s->cur >= 0)
		step_took_effect(s);
}

void sched_point(enum sched_point_kind kind, const char *what,
		 const void *obj, const char *func)
{
	struct sched *s = current_sched();
	int next;

	if (!s || s->cur < 0 || s->w->sched_quiet)
		return;
	trace_point(s, kind, what, obj, func);
	if (kind == SP_LOCK)
		step_took_effect(s);
	next = choose(s, s->res->nr_points, s->cur, false);
	if (next >= 0) {
		s->next = next;
		yield_to_scheduler(s, false);
	}
}

bool sched_wait(const void *lock, bool write,
		bool (*ready)(const void *lock, bool write), const char *what,
		const char *func)
{
	struct sched *s = current_sched();
	struct kthread *t;

	if (!s || s->cur < 0 || holds(s, (unsigned int)s->cur, lock))
		return false;
	t = &s->threads[s->cur];
	t->state = KT_BLOCKED;
	t->wait_lock = lock;
	t->wait_write = write;
	t->ready = ready;
	t->wait_what = what;
	t->wait_func = func;
	s->next = -1;
	yield_to_scheduler(s, false);
	return true;
}

void sched_abandon(void)
{
	struct sched *s = current_sched();

	if (!s || s->cur < 0)
		abort();
	s->abandoned = true;
	yield_to_scheduler(s, true);
	abort();
}

u32 sched_now(void)
{
	struct sched *s = current_sched();

	return s ? s->res->nr_points : 0;
}

void sched_note_lock_check(const void *lock)
{
	struct sched *s = current_sched();

	if (!s || s->cur < 0 || s->w->sched_quiet)
		return;
	s->threads[s->cur].checked_lock = lock;
	s->threads[s->cur].checked_at = s->res->nr_points;
}

void sched_check_anon_vma_free(void *anon_vma)
{
	struct sched *s = current_sched();
	const struct rw_semaphore *family;
	const struct kthread *me;
	unsigned int i;

	if (!s || s->cur < 0)
		return;
	s->w->sched_quiet++;
	family = s->w->core->family_lock(anon_vma);
	s->w->sched_quiet--;
	me = &s->threads[s->cur];
	for (i = 0; i < s->nr; i++) {
		if ((int)i == s->cur || !holds(s, i, family))
			continue;
		/* Looked after letting go: the holder came later and re-checks. */
		if (me->checked_lock == family &&
		    (family->released_by != s->cur ||
		     me->checked_at > family->released_at))
			continue;
		race_report("T%d: freed an anon_vma while T%u holds its family's rwsem, without looking whether a reader held it (anon_vma_free()'s wait): T%u goes on with freed memory",
			    s->cur, i, i);
		sched_abandon();
	}
}

/* ---- RCU ------------------------------------------------------------------ */

void sched_rcu_enter(void)
{
	struct sched *s = current_sched();

	if (s && s->cur >= 0)
		s->threads[s->cur].rcu_depth++;
}

void sched_rcu_exit(void)
{
	struct sched *s = current_sched();

	if (s && s->cur >= 0 && s->threads[s->cur].rcu_depth > 0)
		s->threads[s->cur].rcu_depth--;
}

bool sched_in_rcu(void)
{
	struct sched *s = current_sched();

	return s && s->cur >= 0 && s->threads[s->cur].rcu_depth > 0;
}

static void touch(const void *obj, const char *what, const char *func,
		  bool write)
{
	struct sched *s = current_sched();
	enum slab_touch state;

	if (!s || s->cur < 0 || !obj || s->w->sched_quiet)
		return;
	state = slab_touch_state(s->w, obj);
	if (state == SLAB_TOUCH_OK)
		return;
	if (state == SLAB_TOUCH_TYPESAFE && !write && sched_in_rcu())
		return;
	race_report("T%d: %s() %s %s: use after free%s", s->cur,
		    func ? func : "?", what, slab_describe(s->w, obj),
		    state != SLAB_TOUCH_TYPESAFE ? "" : write ?
		    " (a freed SLAB_TYPESAFE_BY_RCU object may be read under RCU, never written)" :
		    " (a SLAB_TYPESAFE_BY_RCU object may be looked at only inside an RCU read-side section)");
	sched_abandon();
}

void sched_touch(const void *obj, const char *what, const char *func)
{
	touch(obj, what, func, false);
}

void sched_touch_lock(const void *lock, const char *what, const char *func)
{
	struct sched *s = current_sched();

	if (!s || s->cur < 0 || s->w->sched_quiet)
		return;
	if (!slab_race_holds(s->w, lock)) {
		race_report("T%d: %s() %s() of a lock at %p, in no object: the pointer that led there is wild (read, say, before the store that made it was seen)",
			    s->cur, func ? func : "?", what, lock);
		sched_abandon();
	}
	touch(lock, what, func, false);
}

/* ---- Running a race --------------------------------------------------------- */

/*
 * Thread stacks, made once per host thread and kept: a search runs
 * hundreds of thousands of races.
 */
static void *sched_stack(unsigned int i)
{
	static _Thread_local void *stacks[SCHED_MAX_THREADS];

	if (!stacks[i]) {
		stacks[i] = malloc(SCHED_STACK_SIZE);
		if (!stacks[i])
			abort();
	}
	return stacks[i];
}

static int lowest_runnable(const struct sched *s)
{
	unsigned int i;

	for (i = 0; i < s->nr; i++)
		if (runnable(&s->threads[i]))
			return (int)i;
	return -1;
}

/* Nobody can run and somebody has not finished: say who waits for whom. */
static void report_deadlock(struct sched *s)
{
	char text[WORLD_RACE_REPORT_LEN];
	size_t len = 0;
	unsigned int i, j;

	len += snprintf(text + len, sizeof(text) - len, "deadlock:");
	for (i = 0; i < s->nr && len < sizeof(text); i++) {
		const struct kthread *t = &s->threads[i];
		int holder = -1;

		if (t->state != KT_BLOCKED)
			continue;
		for (j = 0; j < s->nr; j++)
			if (holds(s, j, t->wait_lock))
				holder = (int)j;
		len += snprintf(text + len, sizeof(text) - len,
				" T%u waits in %s() for %s %s", i,
				t->wait_func ? t->wait_func : "?",
				t->wait_what, slab_describe(s->w, t->wait_lock));
		if (holder >= 0 && len < sizeof(text))
			len += snprintf(text + len, sizeof(text) - len,
					" held by T%d;", holder);
		else if (len < sizeof(text))
			len += snprintf(text + len, sizeof(text) - len,
					" held by no thread (never released);");
	}
	race_report("%s", text);
}

void sched_run(struct world *w, void (*fn)(void *arg), void *const *args,
	       unsigned int nr, const struct sched_preemption *plan,
	       unsigned int nr_plan, const struct sched_pct *pct,
	       const struct sb_plan *stores, struct sched_run_result *res)
{
	void *stacks[SCHED_MAX_THREADS];
	struct sched *s = calloc(1, sizeof(*s));
	unsigned int i;

	if (!s || nr > SCHED_MAX_THREADS)
		abort();
	/* The trace is written before it is read: only the rest is reset. */
	res->nr_points = 0;
	res->nr_taken = 0;
	res->abandoned = false;
	memset(res->finished, 0, sizeof(res->finished));
	memset(res->nr_steps, 0, sizeof(res->nr_steps));
	s->w = w;
	s->nr = nr;
	s->cur = -1;
	s->next = -1;
	s->plan = plan;
	s->nr_plan = nr_plan;
	s->res = res;
	s->cur_stopped = -1;
	if (pct) {
		s->pct = true;
		s->pct_plan = pct;
		for (i = 0; i < nr; i++)
			s->priority[i] = pct->priority[i];
		s->lowest = 0;
	}
	for (i = 0; i < nr; i++) {
		struct kthread *t = &s->threads[i];

		t->stack = sched_stack(i);
		stacks[i] = t->stack;
		t->fn = fn;
		t->arg = args[i];
		t->state = KT_RUNNABLE;
		state_save(w, &t->ts);
		getcontext(&t->ctx);
		t->ctx.uc_stack.ss_sp = t->stack;
		t->ctx.uc_stack.ss_size = SCHED_STACK_SIZE;
		t->ctx.uc_link = NULL;
		makecontext(&t->ctx, thread_entry, 0);
#if SCHED_ASAN
		/*
		 * A reused stack may still hold the redzones of the frames of
		 * an earlier race: clear them once here. ASan's swapcontext
		 * would clear the whole stack's shadow at every switch into
		 * the thread (even mid-run, which also wipes the redzones of
		 * its live frames); without a size it leaves it alone.
		 */
		__asan_unpoison_memory_region(t->stack, SCHED_STACK_SIZE);
		t->ctx.uc_stack.ss_size = 0;
#endif
	}
	w->sched = s;
	slab_race_begin(w);
	sb_race_begin(w, nr, stacks, SCHED_STACK_SIZE, stores, &res->stores);

	for (;;) {
		int next = s->next;

		s->next = -1;
		if (next < 0 && s->cur_stopped >= 0) {
			/* The thread blocked or ended: a choice of its own. */
			s->cur = s->cur_stopped;
			trace_point(s, s->threads[s->cur].state == KT_DONE ?
				    SP_END : SP_BLOCK,
				    s->threads[s->cur].state == KT_DONE ?
				    "end" : "block", NULL, NULL);
			next = choose(s, s->res->nr_points, s->cur, true);
			s->cur = -1;
		} else if (next < 0) {
			next = lowest_runnable(s);
		}
		if (next < 0) {
			for (i = 0; i < nr; i++)
				if (s->threads[i].state != KT_DONE)
					break;
			if (i < nr) {
				report_deadlock(s);
				s->abandoned = true;
			}
			break;
		}
		if (s->threads[next].state == KT_BLOCKED)
			s->threads[next].state = KT_RUNNABLE;
		switch_to(s, (unsigned int)next);
		if (s->abandoned)
			break;
		s->cur_stopped = s->next < 0 ? next : -1;
	}

	res->abandoned = s->abandoned;
	for (i = 0; i < nr; i++)
		res->finished[i] = s->threads[i].state == KT_DONE;
	sb_race_end();
	slab_race_end(w, s->abandoned);
	w->sched = NULL;
	/* An abandoned thread's locks stay taken: the world is discarded. */
	w->lockdep.depth = 0;
	w->lockdep.core_fn = NULL;
	w->fail_nth = 0;
	w->op_results = NULL;
	free(s);
}

/* ---- Atomics ---------------------------------------------------------------- */

void atomic_hook(const void *v, const char *what, const char *func)
{
	if (!sched_active())
		return;
	sched_point(SP_ATOMIC, what, v, func);
	touch(v, what, func, false);
}

void atomic_write_hook(const void *v, const char *what, const char *func)
{
	if (sched_active())
		touch(v, what, func, true);
}
