// SPDX-License-Identifier: GPL-2.0
/*
 * Store buffers of a race (see <rmapfuzz/store_buffer.h>). This file is
 * the runtime of clang's store and load hooks; it is compiled without
 * them, like the rest of the machinery.
 */
#include <string.h>

#include <linux/kernel.h>
#include <rmapfuzz/sched_run.h>
#include <rmapfuzz/store_buffer.h>
#include <rmapfuzz/world.h>
#include <rmapfuzz/write_watch.h>

#define SB_MAX_PENDING	64	/* words a thread may hold back at once */
#define SB_LOG_SLOTS	1024	/* words a thread stored to in the race */
#define SB_LOG_MAX	768

/* One 8-byte word with late bytes in it. */
struct sb_pending {
	uintptr_t word;
	u8 mask;		/* the late bytes */
	u8 mine[8];		/* their values, while the thread is out */
	u8 seen[8];		/* what the others see, while it runs */
};

/* A thread's last store to a word, and how many releases came before it. */
struct sb_logged {
	uintptr_t word;		/* 0: free slot */
	u32 store;
	u32 epoch;
};

/* The newest store of a thread that another has read. */
struct sb_newest {
	u32 store;
	u32 epoch;
};

struct sb_thread {
	u32 stores;
	u32 releases;
	uintptr_t stack_lo, stack_hi;
	unsigned int nr_pending;
	struct sb_pending pending[SB_MAX_PENDING];
	/* Read by this thread, per writer. */
	struct sb_newest newest_read[SCHED_MAX_THREADS];
	unsigned int nr_logged;
	u16 used[SB_LOG_MAX];
	struct sb_logged log[SB_LOG_SLOTS];
};

struct sb_race {
	struct world *w;
	unsigned int nr;
	int running;		/* whose late values memory holds, -1: none */
	struct sb_thread t[SCHED_MAX_THREADS];
	const struct sb_store_id *late;
	unsigned int nr_late;
	bool hold_fresh;
	struct sb_result *res;
};

/* Kept from race to race (the logs are large); sb is set during one. */
static _Thread_local struct sb_race sb_state;
/* (Initial-exec: the hooks read it on every access, and the harness is
 * linked into executables only.) */
static _Thread_local struct sb_race *sb __attribute__((tls_model("initial-exec")));

/* ---- What each thread stored, and what the others read of it ------------- */

static struct sb_logged *log_slot(struct sb_thread *t, uintptr_t word)
{
	size_t i = ((word >> 3) * 0x9e3779b97f4a7c15ull) >> 54;

	while (t->log[i].word && t->log[i].word != word)
		i = (i + 1) % SB_LOG_SLOTS;
	return &t->log[i];
}

static void log_store(struct sb_thread *t, uintptr_t word, u32 store)
{
	struct sb_logged *slot = log_slot(t, word);

	if (!slot->word) {
		if (t->nr_logged == SB_LOG_MAX)
			return;
		t->used[t->nr_logged++] = (u16)(slot - t->log);
		slot->word = word;
	}
	slot->store = store;
	slot->epoch = t->releases;
}

static void log_clear(struct sb_thread *t)
{
	unsigned int i;

	for (i = 0; i < t->nr_logged; i++)
		t->log[t->used[i]].word = 0;
	t->nr_logged = 0;
}

static void add_candidate(struct sb_race *r, u32 thread, u32 store, u32 reader)
{
	struct sb_result *res = r->res;
	unsigned int i;

	for (i = 0; i < res->nr_candidates; i++)
		if (res->candidates[i].id.thread == thread &&
		    res->candidates[i].id.store == store)
			return;
	if (res->nr_candidates == SB_MAX_CANDIDATES)
		return;
	res->candidates[res->nr_candidates++] = (struct sb_candidate){
		.id = { thread, store }, .reader = reader, .point = sched_now(),
	};
}

/* ---- Late bytes ------------------------------------------------------------ */

static struct sb_pending *pending_find(struct sb_thread *t, uintptr_t word)
{
	unsigned int i;

	for (i = 0; i < t->nr_pending; i++)
		if (t->pending[i].word == word)
			return &t->pending[i];
	return NULL;
}

/* Bytes [@addr, @addr + @size) of the running thread become late. */
static bool hold(struct sb_thread *t, uintptr_t addr, u32 size)
{
	uintptr_t a;

	for (a = addr; a < addr + size; a++) {
		uintptr_t word = a & ~(uintptr_t)7;
		unsigned int b = a & 7;
		struct sb_pending *p = pending_find(t, word);

		if (!p) {
			if (t->nr_pending == SB_MAX_PENDING)
				return false;
			p = &t->pending[t->nr_pending++];
			p->word = word;
			p->mask = 0;
		}
		if (!(p->mask & (1u << b))) {
			/* Before the store: what memory holds is what others see. */
			p->seen[b] = *(const u8 *)a;
			p->mask |= 1u << b;
		}
	}
	return true;
}

static bool overlaps_pending(struct sb_thread *t, uintptr_t addr, u32 size)
{
	uintptr_t word;

	if (!t->nr_pending)
		return false;
	for (word = addr & ~(uintptr_t)7; word < addr + size; word += 8)
		if (pending_find(t, word))
			return true;
	return false;
}

static bool planned_late(const struct sb_race *r, u32 thread, u32 store,
			 const void *ptr)
{
	unsigned int i;

	if (r->hold_fresh && r->res->nr_late < SB_MAX_LATE &&
	    slab_race_own(r->w, ptr))
		return true;
	for (i = 0; i < r->nr_late; i++)
		if (r->late[i].thread == thread && r->late[i].store == store)
			return true;
	return false;
}

static void note_late(struct sb_race *r, u32 thread, u32 store)
{
	struct sb_result *res = r->res;

	if (res->nr_late < SB_MAX_LATE)
		res->late[res->nr_late++] = (struct sb_store_id){ thread, store };
}

/*
 * The running thread's store of @size bytes at @addr, about to happen. Out
 * of line, as sb_load(): every load and store of the code under test calls
 * a hook, which then costs no more than its test of @sb outside a race.
 */
static __maybe_unused noinline void sb_store(const void *ptr, u32 size)
{
	struct sb_race *r = sb;
	uintptr_t addr = (uintptr_t)ptr;
	struct sb_thread *t;
	u32 store;

	if (!r || r->running < 0 || r->w->sched_quiet)
		return;
	t = &r->t[r->running];
	if (addr >= t->stack_lo && addr < t->stack_hi)
		return;
	/*
	 * Only stores to kernel objects are numbered (and may be held): the
	 * numbers then do not depend on what the compiler keeps in memory.
	 */
	if (!slab_race_holds(r->w, ptr))
		return;
	store = ++t->stores;
	/* Behind a late store to the same place, a store waits too. */
	if (overlaps_pending(t, addr, size) && hold(t, addr, size))
		return;
	if (planned_late(r, (u32)r->running, store, ptr) &&
	    hold(t, addr, size)) {
		note_late(r, (u32)r->running, store);
		return;
	}
	log_store(t, addr & ~(uintptr_t)7, store);
	if ((addr & 7) + size > 8)
		log_store(t, (addr & ~(uintptr_t)7) + 8, store);
}

/*
 * The running thread reads @word. Where another thread stored it, and
 * the reader already saw a newer store of that thread from before the
 * same release, holding this older one back would show the reader the
 * newer store without the older: the reordering a store buffer allows
 * (message passing), and a candidate for the next run.
 */
static void check_word(struct sb_race *r, uintptr_t word)
{
	struct sb_thread *reader = &r->t[r->running];
	unsigned int i;

	for (i = 0; i < r->nr; i++) {
		struct sb_newest *newest = &reader->newest_read[i];
		struct sb_logged *slot;

		if ((int)i == r->running || !r->t[i].nr_logged)
			continue;
		slot = log_slot(&r->t[i], word);
		if (!slot->word)
			continue;
		if (slot->store < newest->store && slot->epoch == newest->epoch)
			add_candidate(r, i, slot->store, (u32)r->running);
		if (slot->store > newest->store)
			*newest = (struct sb_newest){ slot->store, slot->epoch };
	}
}

static __maybe_unused noinline void sb_load(const void *ptr, u32 size)
{
	struct sb_race *r = sb;
	uintptr_t addr = (uintptr_t)ptr;

	if (!r || r->running < 0 || r->w->sched_quiet)
		return;
	check_word(r, addr & ~(uintptr_t)7);
	if ((addr & 7) + size > 8)
		check_word(r, (addr & ~(uintptr_t)7) + 8);
}

/* ---- Swapping views ---------------------------------------------------------- */

/*
 * Swap @t's late bytes with memory: @in puts its own values there and
 * keeps what the others see; out does the reverse.
 */
static void swap_view(struct sb_thread *t, bool in)
{
	unsigned int i, b;

	for (i = 0; i < t->nr_pending; i++) {
		struct sb_pending *p = &t->pending[i];
		u8 *mem = (u8 *)p->word;
		u8 *keep = in ? p->seen : p->mine;
		const u8 *show = in ? p->mine : p->seen;

		for (b = 0; b < 8; b++) {
			if (!(p->mask & (1u << b)))
				continue;
			keep[b] = mem[b];
			mem[b] = show[b];
		}
	}
}

void sb_switch_in(unsigned int i)
{
	struct sb_race *r = sb;

	if (!r)
		return;
	swap_view(&r->t[i], true);
	r->running = (int)i;
}

void sb_switch_out(unsigned int i)
{
	struct sb_race *r = sb;

	if (!r)
		return;
	swap_view(&r->t[i], false);
	r->running = -1;
}

void sched_release(void)
{
	struct sb_race *r = sb;
	struct sb_thread *t;

	if (!r || r->running < 0 || r->w->sched_quiet)
		return;
	t = &r->t[r->running];
	/*
	 * With stores held back, the moment before they are seen is one
	 * another thread may run in: a switch point of its own (only then,
	 * so a run with no late store keeps its points).
	 */
	if (t->nr_pending) {
		sched_point(SP_RELEASE, "release", NULL, NULL);
		/* The point may have run others: this thread is back in memory. */
	}
	/* Memory already holds the running thread's values: they are seen. */
	t->nr_pending = 0;
	t->releases++;
}

void sb_object_freed(const void *start, size_t size)
{
	struct sb_race *r = sb;
	uintptr_t lo = (uintptr_t)start, hi = lo + size;
	unsigned int i, j, b;

	if (!r)
		return;
	sched_release();
	for (i = 0; i < r->nr; i++) {
		struct sb_thread *t = &r->t[i];

		if ((int)i == r->running)
			continue;
		for (j = 0; j < t->nr_pending;) {
			struct sb_pending *p = &t->pending[j];

			if (p->word + 8 <= lo || p->word >= hi) {
				j++;
				continue;
			}
			for (b = 0; b < 8; b++)
				if (p->mask & (1u << b))
					((u8 *)p->word)[b] = p->mine[b];
			*p = t->pending[--t->nr_pending];
		}
	}
}

/* ---- A race -------------------------------------------------------------------- */

void sb_race_begin(struct world *w, unsigned int nr, void *const *stacks,
		   size_t stack_size, const struct sb_plan *plan,
		   struct sb_result *res)
{
	struct sb_race *r = &sb_state;
	unsigned int i;

	memset(res, 0, sizeof(*res));
	r->w = w;
	r->nr = nr;
	r->running = -1;
	r->late = plan->late;
	r->nr_late = min(plan->nr_late, (unsigned int)SB_MAX_LATE);
	r->hold_fresh = plan->hold_fresh;
	r->res = res;
	for (i = 0; i < SCHED_MAX_THREADS; i++) {
		struct sb_thread *t = &r->t[i];

		log_clear(t);
		t->stores = 0;
		t->releases = 0;
		t->nr_pending = 0;
		memset(t->newest_read, 0, sizeof(t->newest_read));
		t->stack_lo = i < nr ? (uintptr_t)stacks[i] : 0;
		t->stack_hi = i < nr ? (uintptr_t)stacks[i] + stack_size : 0;
	}
	sb = r;
}

void sb_race_end(void)
{
	sb = NULL;
}

_Thread_local struct write_watch *write_watch __attribute__((tls_model("initial-exec")));

/* ---- clang's hooks ---------------------------------------------------------------- */

#ifdef RMAPFUZZ_STORE_HOOKS
bool sb_available(void)
{
	return true;
}

#define SB_HOOKS(n)						\
void __sanitizer_cov_store##n(void *addr);			\
void __sanitizer_cov_load##n(void *addr);			\
void __sanitizer_cov_store##n(void *addr)			\
{								\
	if (unlikely(sb))					\
		sb_store(addr, n);				\
	else							\
		world_store(addr);				\
}								\
void __sanitizer_cov_load##n(void *addr)			\
{								\
	if (unlikely(sb))					\
		sb_load(addr, n);				\
}

SB_HOOKS(1)
SB_HOOKS(2)
SB_HOOKS(4)
SB_HOOKS(8)
SB_HOOKS(16)
#else
/* Built without the hooks (no clang): every run is sequentially consistent. */
bool sb_available(void)
{
	return false;
}
#endif
