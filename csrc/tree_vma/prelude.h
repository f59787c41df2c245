/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Included after the world's headers and before the tree's code: every
 * slab allocation and free of mm/vma.c, mm/vma_init.c and the anon_vma core
 * goes through the driver (world.c), which counts it by site, fails it
 * when a fault plan says so and keeps the live objects for snapshots.
 */
#ifndef _RMAPFUZZ_TREE_VMA_PRELUDE_H
#define _RMAPFUZZ_TREE_VMA_PRELUDE_H

void *rf_tw_cache_alloc(struct kmem_cache *cachep, gfp_t gfp);
void rf_tw_cache_free(struct kmem_cache *cachep, void *obj);

#undef kmem_cache_alloc
#define kmem_cache_alloc(cachep, gfp)	rf_tw_cache_alloc(cachep, gfp)
#undef kmem_cache_free
#define kmem_cache_free(cachep, obj)	rf_tw_cache_free(cachep, obj)

/*
 * Every maple-tree preallocation of mm/vma.c, counted so that a scenario's
 * maple=N can fail one (the way the directory's own tests fail them all).
 */
struct vma_iterator;
int rf_tw_prealloc(struct vma_iterator *vmi, struct vm_area_struct *vma);

#undef vma_iter_prealloc
#define vma_iter_prealloc(vmi, vma)	rf_tw_prealloc(vmi, vma)

/*
 * A warning of the tree's code is a finding (hygiene.warning), not a line
 * on stderr: the world records it, with where it fired.
 */
void rf_tw_warn(const char *file, int line, const char *cond);

#undef WARN_ON
#define WARN_ON(cond) ({						\
	int __rf_warn = !!(cond);					\
	if (__rf_warn)							\
		rf_tw_warn(__FILE__, __LINE__, #cond);			\
	__rf_warn;							\
})
#undef WARN_ON_ONCE
#define WARN_ON_ONCE(cond)	WARN_ON(cond)
#undef WARN
#define WARN(cond, ...)		WARN_ON(cond)
#undef WARN_ONCE
#define WARN_ONCE(cond, ...)	WARN_ON(cond)

#endif /* _RMAPFUZZ_TREE_VMA_PRELUDE_H */
