// SPDX-License-Identifier: GPL-2.0
/*
 * The lock checker: the rules of linux/lockdep.h, checked on every lock
 * taken and released by the anon_vma code and its callers (ours, or a
 * kernel tree's), around each call into an anon_vma core, and at the end
 * of each operation.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/kernel.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/rmap.h>
#include <rmapfuzz/anon_vma_core.h>
#include <rmapfuzz/world.h>
#include <rmapfuzz/world_mem.h>

static void counted(enum lock_stat rule)
{
	current_world->lockdep.checked[rule]++;
}

void lockdep_report(const char *fmt, ...)
{
	struct world *w = current_world;
	va_list ap;

	if (!w || w->lockdep.observing)
		return;
	if (!w->lockdep.reports) {
		/* Most worlds never break a rule: their memory is made on demand. */
		w->lockdep.reports = world_mem_alloc(w->arena,
						     WORLD_MAX_LOCK_REPORTS *
						     sizeof(*w->lockdep.reports));
	}
	if (w->lockdep.nr_reports < WORLD_MAX_LOCK_REPORTS) {
		va_start(ap, fmt);
		vsnprintf(w->lockdep.reports[w->lockdep.nr_reports],
			  WORLD_LOCK_REPORT_LEN, fmt, ap);
		va_end(ap);
	}
	w->lockdep.nr_reports++;
}

int lockdep_class_of(const char *init_name)
{
	static const struct {
		const char *member;
		int class;
	} classes[] = {
		{ "mmap_lock",		LOCK_CLASS_MMAP },
		{ "rwsem",		LOCK_CLASS_ANON_VMA },
		{ "page_table_lock",	LOCK_CLASS_PTL },
	};
	const char *member = init_name;
	size_t i, len;

	/* The member named last: "&anon_vma->rwsem" -> "rwsem". */
	for (i = 0; init_name[i]; i++) {
		if (init_name[i] == '>' || init_name[i] == '.')
			member = init_name + i + 1;
	}
	len = strcspn(member, ") ");
	for (i = 0; i < ARRAY_SIZE(classes); i++) {
		if (strlen(classes[i].member) == len &&
		    strncmp(classes[i].member, member, len) == 0)
			return classes[i].class;
	}
	return LOCK_CLASS_OTHER;
}

/* Function names as the user wrote them (extracted code is renamed). */
static const char *fn_name(const char *func)
{
	static const char *const prefixes[] = {
		"rmapfuzz_kernel_base_", "rmapfuzz_kernel_",
	};
	size_t i;

	if (!func)
		return "?";
	for (i = 0; i < ARRAY_SIZE(prefixes); i++) {
		size_t n = strlen(prefixes[i]);

		if (strncmp(func, prefixes[i], n) == 0)
			return func + n;
	}
	return func;
}

static bool live(const void *obj, enum alloc_site site)
{
	return slab_obj_state(obj, site) == SLAB_OBJ_LIVE;
}

/* ---- Naming locks and anon_vmas in reports ------------------------------- */

struct owner_search {
	const struct anon_vma_core *core;
	const void *lock;
	struct anon_vma *found;
	unsigned int index, i;
};

static void match_owner(void *obj, void *arg)
{
	struct owner_search *s = arg;

	if (!s->found && s->core->own_rwsem(obj) == s->lock) {
		s->found = obj;
		s->index = s->i;
	}
	s->i++;
}

/* The live anon_vma whose own rwsem is @lock, and its number. */
static struct anon_vma *rwsem_owner(const void *lock, unsigned int *index)
{
	struct world *w = current_world;
	struct owner_search s = { .core = w->core, .lock = lock };

	slab_for_each_live(w, ALLOC_SITE_ANON_VMA, match_owner, &s);
	if (index)
		*index = s.index;
	return s.found;
}

static unsigned int anon_vma_number(struct anon_vma *anon_vma)
{
	unsigned int index = 0;

	rwsem_owner(current_world->core->own_rwsem(anon_vma), &index);
	return index;
}

static void describe_mm(const struct mm_struct *mm, const char *what,
			char *buf, size_t len)
{
	if (list_empty(&mm->mm_list))
		snprintf(buf, len, "the new mm's %s", what);
	else
		snprintf(buf, len, "mm %u's %s", mm->mm_id, what);
}

static void describe_lock(const void *lock, int class, char *buf, size_t len)
{
	struct anon_vma *owner;
	unsigned int index;

	switch (class) {
	case LOCK_CLASS_MMAP:
		describe_mm(container_of(lock, struct mm_struct, mmap_lock),
			    "mmap_lock", buf, len);
		return;
	case LOCK_CLASS_PTL:
		describe_mm(container_of(lock, struct mm_struct, page_table_lock),
			    "page_table_lock", buf, len);
		return;
	case LOCK_CLASS_ANON_VMA:
		owner = rwsem_owner(lock, &index);
		if (owner)
			snprintf(buf, len, "the rwsem of anon_vma #%u", index);
		else
			snprintf(buf, len, "an anon_vma rwsem");
		return;
	default:
		snprintf(buf, len, "a lock");
	}
}

static const char *class_name(int class)
{
	switch (class) {
	case LOCK_CLASS_MMAP:
		return "an mmap_lock";
	case LOCK_CLASS_ANON_VMA:
		return "an anon_vma family's rwsem";
	case LOCK_CLASS_PTL:
		return "a page_table_lock";
	default:
		return "a lock";
	}
}

/* " (during anon_vma_fork())" when a core function is running. */
static void in_core(char *buf, size_t len)
{
	const char *fn = current_world->lockdep.core_fn;

	if (fn)
		snprintf(buf, len, " (during %s())", fn);
	else
		buf[0] = '\0';
}

/* ---- Seals ---------------------------------------------------------------- */

static u64 mix(u64 h, u64 v)
{
	h ^= v;
	h *= 0x100000001b3ULL;
	return h ^ (h >> 29);
}

/*
 * A few objects of one kind a pass found live: a pass frees nothing, and
 * its objects share a few roots and mms (the index is not asked again).
 */
struct seal_live {
	const void *obj[4];
	unsigned int next;
};

static bool seal_live_known(const struct seal_live *l, const void *obj)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(l->obj); i++) {
		if (obj && l->obj[i] == obj)
			return true;
	}
	return false;
}

static void seal_live_add(struct seal_live *l, const void *obj)
{
	l->obj[l->next++ % ARRAY_SIZE(l->obj)] = obj;
}

/*
 * The anon_vma's family root, when it is live (else the seal is moot).
 * @known: a root found live earlier in the same pass (a pass frees
 * nothing), updated.
 */
static struct anon_vma *live_root(struct anon_vma *anon_vma,
				  struct anon_vma_view *view,
				  struct seal_live *known)
{
	current_world->core->view(anon_vma, view);
	if (!seal_live_known(known, view->root)) {
		if (!live(view->root, ALLOC_SITE_ANON_VMA))
			return NULL;
		seal_live_add(known, view->root);
	}
	return view->root;
}

/*
 * The shape of an anon_vma's interval tree: its root, leftmost and every
 * node's links and augmented value, in order. Inserting or removing an AVC
 * changes at least one of them, whoever's tree code (ours or a kernel
 * tree's lib/rbtree.c) does it. Only live AVCs are read; a walk that meets
 * anything else stops there (the audit reports such a tree).
 */
static u64 tree_seal_of(u64 h, struct anon_vma *anon_vma, bool follow)
{
	struct rb_root_cached *tree = current_world->core->tree(anon_vma);
	struct rb_node *stack[64], *node = tree->rb_root.rb_node;
	unsigned int depth = 0, budget = 4096;

	h = mix(h, (u64)(uintptr_t)tree->rb_root.rb_node);
	h = mix(h, (u64)(uintptr_t)tree->rb_leftmost);
	while ((node || depth) && budget--) {
		while (node) {
			struct anon_vma_chain *avc =
				rb_entry(node, struct anon_vma_chain, rb);

			if (!live(avc, ALLOC_SITE_AVC) || depth == ARRAY_SIZE(stack)) {
				/* What it would read once that memory is reused
				 * cannot be followed. */
				if (follow)
					current_world->follows_touched = false;
				return mix(h, 0xdead);
			}
			/* A node two seals read cannot be followed. */
			if (follow && !slab_read_by(avc, anon_vma))
				current_world->follows_touched = false;
			stack[depth++] = node;
			node = node->rb_left;
		}
		if (!depth)
			break;
		node = stack[--depth];
		h = mix(h, (u64)(uintptr_t)node);
		h = mix(h, node->__rb_parent_color);
		h = mix(h, (u64)(uintptr_t)node->rb_left);
		h = mix(h, (u64)(uintptr_t)node->rb_right);
		h = mix(h, rb_entry(node, struct anon_vma_chain, rb)->rb_subtree_last);
		node = node->rb_right;
	}
	return h;
}

static u64 anon_vma_seal_of(struct anon_vma *anon_vma,
			    const struct anon_vma_view *v, bool follow)
{
	u64 h = 0xcbf29ce484222325ULL;

	h = mix(h, (u64)(uintptr_t)v->root);
	h = mix(h, (u64)(uintptr_t)v->parent);
	h = mix(h, v->num_children);
	h = mix(h, v->num_active_vmas);
	h = mix(h, v->has_degree);
	h = mix(h, v->degree);
	h = tree_seal_of(h, anon_vma, follow);
	return h | 1;
}

/*
 * A VMA's chain is sealed by its head's two links: adding an AVC (at the
 * head) or emptying the chain changes them, and nothing of the AVCs
 * themselves is read (they may be freed when the state is broken).
 */
static u64 vma_seal_of(struct vm_area_struct *vma)
{
	u64 h = 0x84222325cbf29ce4ULL;

	h = mix(h, (u64)(uintptr_t)vma->anon_vma);
	h = mix(h, vma->vm_start);
	h = mix(h, vma->vm_end);
	h = mix(h, vma->vm_pgoff);
	h = mix(h, vma_stored_anon_pgoff(vma));
	h = mix(h, vma->vm_flags);
	h = mix(h, (u64)(uintptr_t)vma->anon_vma_chain.next);
	h = mix(h, (u64)(uintptr_t)vma->anon_vma_chain.prev);
	return h | 1;
}

/* Which seals a pass looks at. */
struct seal_pass {
	const void *family;	/* only this family's anon_vmas, if set */
	const struct mm_struct *mm;	/* only this mm's VMAs, if set */
	bool reseal;		/* record instead of compare */
	bool all;		/* also objects whose lock is held */
	bool then_reseal;	/* compare, then record */
	/* When the pass runs, for reports (formatted only then). */
	const char *when;	/* "took the lock", "returned", ... */
	const char *func;
	const char *file;
	int line;
	/* Roots and mms this pass found live. */
	struct seal_live live_roots;
	struct seal_live live_mms;
};

/*
 * Whether a pass has anything to do with an object sealed at @seal whose
 * lock is (@locked) or is not held; *@check: whether it compares.
 */
static bool seal_wanted(const struct seal_pass *p, u64 seal, bool locked,
			bool *check)
{
	*check = !p->reseal && seal && (p->all || !locked);
	return *check || p->reseal || p->then_reseal;
}

/* Compare and/or record @now; true when a compared seal is broken. */
static bool seal_apply(const struct seal_pass *p, u64 *seal, bool check,
		       u64 now, enum lock_stat stat)
{
	bool broken = false;

	/*
	 * A compare checks the rule; so does recording a change under the
	 * lock, whose taking compared the seal (a pass that follows touched
	 * objects compares few: the others cannot have changed).
	 */
	if (check) {
		counted(stat);
		broken = *seal != now;
	} else if (*seal && *seal != now) {
		counted(stat);
	}
	/* A broken seal is reported once, then follows the object. */
	if (p->reseal || p->then_reseal || broken)
		*seal = now;
	return broken;
}

/* "noticed when anon_vma_fork() took the lock at mm/rmap.c:420" */
static void when_noticed(const struct seal_pass *p, char *buf, size_t len)
{
	if (p->file)
		snprintf(buf, len, "noticed when %s() %s at %s:%d",
			 fn_name(p->func), p->when, p->file, p->line);
	else if (p->func)
		snprintf(buf, len, "noticed when %s() %s", p->func, p->when);
	else
		snprintf(buf, len, "noticed %s", p->when);
}

/*
 * Each seal_*() below looks at one object for a pass; true when it did:
 * the object's seal was computed, and now matches it.
 */
static bool seal_anon_vma(void *obj, void *arg)
{
	const struct anon_vma_core *core = current_world->core;
	struct seal_pass *p = arg;
	struct anon_vma_view view;
	struct rw_semaphore *lock;
	u64 *seal = slab_obj_seal(obj);
	char where[96], released[192], when[192];
	bool check;

	if (slab_obj_private(obj) || !live_root(obj, &view, &p->live_roots))
		return false;
	lock = core->family_lock(obj);
	if (p->family && (const void *)lock != p->family)
		return false;
	if (!seal_wanted(p, *seal, rwsem_is_write_locked(lock), &check))
		return false;
	if (!seal_apply(p, seal, check,
			anon_vma_seal_of(obj, &view, current_world->follows_touched),
			LOCK_STAT_ANON_VMA_SEAL))
		return true;	/* (matches, or just recorded) */
	in_core(where, sizeof(where));
	if (lock->released_file)
		snprintf(released, sizeof(released),
			 " (the family's rwsem was last released at %s:%d in %s())",
			 lock->released_file, lock->released_line,
			 fn_name(lock->released_func));
	else
		released[0] = '\0';
	when_noticed(p, when, sizeof(when));
	lockdep_report("anon_vma #%u: its root, parent, counters or interval tree changed while its family's rwsem was not held for writing%s; %s%s",
		       anon_vma_number(obj), where, when, released);
	return true;
}

/* Whether a pass may look at @vma at all (its mm is live, it is attached). */
static bool vma_sealable(struct vm_area_struct *vma, struct seal_pass *p)
{
	if (!seal_live_known(&p->live_mms, vma->vm_mm)) {
		if (!live(vma->vm_mm, ALLOC_SITE_MM))
			return false;
		seal_live_add(&p->live_mms, vma->vm_mm);
	}
	return vma_is_attached(vma);
}

static bool seal_vma(void *obj, void *arg)
{
	struct vm_area_struct *vma = obj;
	struct seal_pass *p = arg;
	u64 *seal = slab_obj_seal(obj);
	char where[96], when[192];
	bool check;

	if ((p->mm && vma->vm_mm != p->mm) || slab_obj_private(obj) ||
	    !vma_sealable(vma, p))
		return false;
	if (!seal_wanted(p, *seal, rwsem_is_locked(&vma->vm_mm->mmap_lock), &check))
		return false;
	if (!seal_apply(p, seal, check, vma_seal_of(vma), LOCK_STAT_VMA_SEAL))
		return true;	/* (matches, or just recorded) */
	in_core(where, sizeof(where));
	when_noticed(p, when, sizeof(when));
	lockdep_report("vma %#lx-%#lx of mm %u: its anon_vma, chain or range changed while the mm's mmap_lock was not held%s; %s",
		       vma->vm_start, vma->vm_end, vma->vm_mm->mm_id, where,
		       when);
	return true;
}

static void seal_anon_vma_live(void *obj, void *arg)
{
	seal_anon_vma(obj, arg);
}

static void seal_vma_live(void *obj, void *arg)
{
	seal_vma(obj, arg);
}

/*
 * RMAPFUZZ_VERIFY_WATCH=1 (slab_verify_touched()): after each pass over the
 * touched objects, every other one a full pass would look at must still
 * match its seal, or a store escaped the slab's following (a bug of
 * rmapfuzz, not of the code under test).
 */
static void untouched_bug(const char *what, void *obj)
{
	fprintf(stderr, "rmapfuzz bug: %s at %p changed, but nothing touched it\n",
		what, obj);
	abort();
}

static void verify_anon_vma(void *obj, void *arg)
{
	struct seal_pass *p = arg;
	struct anon_vma_view view;

	if (slab_obj_touched(obj, TOUCH_SEAL) || slab_obj_private(obj) ||
	    !live_root(obj, &view, &p->live_roots))
		return;
	if (*slab_obj_seal(obj) != anon_vma_seal_of(obj, &view, false))
		untouched_bug("the seal of an anon_vma", obj);
}

static void verify_vma(void *obj, void *arg)
{
	struct seal_pass *p = arg;

	if (slab_obj_touched(obj, TOUCH_SEAL) || slab_obj_private(obj) ||
	    !vma_sealable(obj, p))
		return;
	if (*slab_obj_seal(obj) != vma_seal_of(obj))
		untouched_bug("the seal of a VMA", obj);
}

/*
 * Where the world follows which objects are touched (mm/slab.c), a pass
 * looks at those alone: any other still matches its seal, so comparing
 * or recording it would change nothing. Otherwise, or when the pass met
 * what cannot be followed, it looks at every live object.
 */
static void seal_pass(struct seal_pass *p, bool anon_vmas, bool vmas)
{
	struct world *w = current_world;

	if (w->follows_touched) {
		if (anon_vmas)
			slab_for_each_touched(w, ALLOC_SITE_ANON_VMA, TOUCH_SEAL,
					      seal_anon_vma, p);
		if (vmas)
			slab_for_each_touched(w, ALLOC_SITE_VMA, TOUCH_SEAL,
					      seal_vma, p);
		if (w->follows_touched) {
			if (slab_verify_touched()) {
				struct seal_pass q = { 0 };

				slab_for_each_live(w, ALLOC_SITE_ANON_VMA,
						   verify_anon_vma, &q);
				slab_for_each_live(w, ALLOC_SITE_VMA, verify_vma, &q);
			}
			return;
		}
	}
	/* (What this pass already looked at matches: looked at again, it
	 * reports nothing twice.) */
	if (anon_vmas)
		slab_for_each_live(w, ALLOC_SITE_ANON_VMA, seal_anon_vma_live, p);
	if (vmas)
		slab_for_each_live(w, ALLOC_SITE_VMA, seal_vma_live, p);
}

/* ---- Locks taken and released -------------------------------------------- */

static struct held_lock *find_held(const void *lock)
{
	struct lockdep_state *ld = &current_world->lockdep;
	unsigned int i;

	for (i = ld->depth; i-- > 0;) {
		if (ld->held[i].lock == lock)
			return &ld->held[i];
	}
	return NULL;
}

static void check_order(const void *lock, int class, bool nested,
			const char *file, int line, const char *func)
{
	struct lockdep_state *ld = &current_world->lockdep;
	char mine[96], theirs[96], where[96];
	unsigned int i;

	if (class == LOCK_CLASS_OTHER)
		return;
	if (ld->depth)
		counted(LOCK_STAT_ORDER);
	for (i = 0; i < ld->depth; i++) {
		struct held_lock *h = &ld->held[i];

		if (h->class == LOCK_CLASS_OTHER || h->lock == lock)
			continue;
		if (h->class < class)
			continue;
		if (h->class == class && class == LOCK_CLASS_MMAP && nested)
			continue;
		describe_lock(lock, class, mine, sizeof(mine));
		describe_lock(h->lock, h->class, theirs, sizeof(theirs));
		in_core(where, sizeof(where));
		if (h->class == class)
			lockdep_report("%s:%d: %s()%s: took %s while holding %s (taken at %s:%d in %s()): two locks of one class (%s) at once, without a nesting annotation",
				       file, line, fn_name(func), where, mine,
				       theirs, h->file, h->line,
				       fn_name(h->func), class_name(class));
		else
			lockdep_report("%s:%d: %s()%s: took %s while holding %s (taken at %s:%d in %s()): the order is mmap_lock, then an anon_vma family's rwsem, then page_table_lock",
				       file, line, fn_name(func), where, mine,
				       theirs, h->file, h->line,
				       fn_name(h->func));
		return;
	}
}

/* Only a family's root rwsem is ever taken. */
static void check_root(const void *lock, const char *file, int line,
		       const char *func)
{
	struct anon_vma_view view;
	struct anon_vma *owner;
	unsigned int index;
	char where[96];

	owner = rwsem_owner(lock, &index);
	if (!owner)
		return;
	counted(LOCK_STAT_ROOT_ONLY);
	current_world->core->view(owner, &view);
	if (view.root == owner)
		return;
	in_core(where, sizeof(where));
	lockdep_report("%s:%d: %s()%s: took the rwsem of anon_vma #%u, which is not its family's root: a family is locked by its root's rwsem only",
		       file, line, fn_name(func), where, index);
}

static void checked_lockdep_acquire(const void *lock, int class, bool write, bool nested,
		     const char *file, int line, const char *func)
{
	struct world *w = current_world;
	struct lockdep_state *ld = &w->lockdep;

	if (!ld->observing) {
		check_order(lock, class, nested, file, line, func);
		if (class == LOCK_CLASS_ANON_VMA) {
			/* What changed since the family was last unlocked. */
			struct seal_pass p = {
				.family = lock, .when = "took the lock",
				.func = func, .file = file, .line = line,
			};

			check_root(lock, file, line, func);
			seal_pass(&p, true, false);
		} else if (class == LOCK_CLASS_MMAP) {
			struct seal_pass p = {
				.mm = container_of(lock, struct mm_struct, mmap_lock),
				.when = "took the mmap_lock",
				.func = func, .file = file, .line = line,
			};

			seal_pass(&p, false, true);
		}
	}
	if (ld->depth < WORLD_MAX_HELD_LOCKS) {
		struct held_lock *h = &ld->held[ld->depth];

		h->lock = lock;
		h->class = class;
		h->write = write;
		h->file = file;
		h->line = line;
		h->func = func;
	}
	ld->depth++;
}

static void checked_lockdep_release(const void *lock, int class, bool write)
{
	struct lockdep_state *ld = &current_world->lockdep;
	struct held_lock *h = find_held(lock);

	if (h) {
		struct held_lock *end = &ld->held[min(ld->depth,
					(unsigned int)WORLD_MAX_HELD_LOCKS)];

		memmove(h, h + 1, (size_t)((char *)end - (char *)(h + 1)));
	}
	if (ld->depth)
		ld->depth--;
	if (!write || ld->observing)
		return;
	/* What the lock protected is published as it is now. */
	if (class == LOCK_CLASS_ANON_VMA) {
		struct seal_pass p = { .family = lock, .reseal = true };

		seal_pass(&p, true, false);
	} else if (class == LOCK_CLASS_MMAP) {
		struct seal_pass p = {
			.mm = container_of(lock, struct mm_struct, mmap_lock),
			.reseal = true,
		};

		seal_pass(&p, false, true);
	} else if (class == LOCK_CLASS_PTL) {
		/*
		 * A fault sets vma->anon_vma and links its first AVC with the
		 * mmap_lock only read-held: page_table_lock is what serializes
		 * racing faults there (__anon_vma_prepare()).
		 */
		struct seal_pass p = {
			.mm = container_of(lock, struct mm_struct, page_table_lock),
			.reseal = true,
		};

		seal_pass(&p, false, true);
	}
}

static void checked_lockdep_assert_held(const void *lock, int class, bool write,
			   const char *what, const char *file, int line,
			   const char *func)
{
	struct held_lock *h;
	char name[96], where[96];

	if (current_world->lockdep.observing)
		return;
	if (class == LOCK_CLASS_MMAP)
		counted(LOCK_STAT_MMAP_ASSERT);
	else if (class == LOCK_CLASS_ANON_VMA)
		counted(write ? LOCK_STAT_TREE_WRITE : LOCK_STAT_TREE_SEARCH);
	h = find_held(lock);
	if (h && (h->write || !write))
		return;
	describe_lock(lock, class, name, sizeof(name));
	in_core(where, sizeof(where));
	lockdep_report("%s:%d: %s()%s: needs %s%s%s%s held%s, but it is %s",
		       file, line, fn_name(func), where, name,
		       what[0] ? " (" : "", what, what[0] ? ")" : "",
		       write ? " for writing" : "",
		       h ? "held for reading only" : "not held");
}

/* ---- Checkpoints ----------------------------------------------------------- */

/*
 * Entering a core function checks nothing: what the caller changed without
 * a lock is seen when the lock is next taken or the operation ends.
 */
const char *lockdep_core_enter(const char *fn)
{
	struct lockdep_state *ld = &current_world->lockdep;
	const char *outer = ld->core_fn;

	ld->core_fn = fn;
	return outer;
}

static void checked_lockdep_core_exit(const char *outer)
{
	struct lockdep_state *ld = &current_world->lockdep;
	struct seal_pass p = { .when = "returned", .func = ld->core_fn };

	if (!ld->observing)
		seal_pass(&p, true, true);
	ld->core_fn = outer;
}

static void checked_lockdep_op_end(void)
{
	struct lockdep_state *ld = &current_world->lockdep;
	/* Between operations nothing runs: then everything is published. */
	struct seal_pass p = {
		.when = "at the end of the operation",
		.then_reseal = true,
	};

	seal_pass(&p, true, true);
	ld->core_fn = NULL;
}

void lockdep_observe(bool on)
{
	current_world->lockdep.observing = on;
}

/* ---- Entry points: the checker's own reads are no switch points ---------- */

void lockdep_acquire(const void *lock, int class, bool write, bool nested,
		     const char *file, int line, const char *func)
{
	current_world->sched_quiet++;
	checked_lockdep_acquire(lock, class, write, nested, file, line, func);
	current_world->sched_quiet--;
}

void lockdep_release(const void *lock, int class, bool write)
{
	current_world->sched_quiet++;
	checked_lockdep_release(lock, class, write);
	current_world->sched_quiet--;
}

void __lockdep_assert_held(const void *lock, int class, bool write,
			   const char *what, const char *file, int line,
			   const char *func)
{
	current_world->sched_quiet++;
	checked_lockdep_assert_held(lock, class, write, what, file, line, func);
	current_world->sched_quiet--;
}

void lockdep_core_exit(const char *outer)
{
	current_world->sched_quiet++;
	checked_lockdep_core_exit(outer);
	current_world->sched_quiet--;
}

void lockdep_op_end(void)
{
	current_world->sched_quiet++;
	checked_lockdep_op_end();
	current_world->sched_quiet--;
}
