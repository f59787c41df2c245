// SPDX-License-Identifier: GPL-2.0
/*
 * locks-own-rwsem (ours): the core's lock helpers take the anon_vma's own
 * rwsem instead of its family root's. For a root the two are the same, so
 * nothing shows until a fork child's anon_vma is locked; then two members
 * of one family can be changed at once under different locks, and an rmap
 * walker holding the root's lock is not excluded. Single-threaded the
 * state comes out right: only the lock rules see it.
 */
#define ANON_VMA_CORE_NAME	"locks-own-rwsem"
#define ANON_VMA_CORE_TABLE	locks_own_rwsem_anon_vma_core

#include "zoo.h"

/* The defect: every lock helper of the core takes the wrong rwsem. */
#undef anon_vma_lock_write
#undef anon_vma_unlock_write
#define anon_vma_lock_write(anon_vma)	down_write(&(anon_vma)->rwsem)
#define anon_vma_unlock_write(anon_vma)	up_write(&(anon_vma)->rwsem)

#include "../mm/rmap.c"
