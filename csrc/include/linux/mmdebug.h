/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Debug assertions. In the kernel these print a splat; here every hit is
 * recorded in the current world so the runner can report it as a hygiene
 * failure. Nothing ever aborts: a BUG_ON in the model would hide the state
 * the runner wants to show.
 */
#ifndef _LINUX_MMDEBUG_H
#define _LINUX_MMDEBUG_H

#include <linux/compiler.h>

#define CONFIG_64BIT 1
#define CONFIG_DEBUG_VM 1
#define CONFIG_DEBUG_VM_RB 1
#define CONFIG_PER_VMA_LOCK 1

void vm_warn_record(const char *file, int line, const char *cond);

#define __VM_WARN(cond)							\
	({								\
		bool __hit = !!(cond);					\
		if (unlikely(__hit))					\
			vm_warn_record(__FILE__, __LINE__, #cond);	\
		__hit;							\
	})

#define VM_WARN_ON_ONCE(cond)		__VM_WARN(cond)
#define VM_WARN_ON(cond)		((void)__VM_WARN(cond))
#define VM_BUG_ON(cond)			((void)__VM_WARN(cond))
#define VM_BUG_ON_VMA(cond, vma)	((void)(vma), (void)__VM_WARN(cond))
#define VM_WARN_ON_ONCE_VMA(cond, vma)	((void)(vma), __VM_WARN(cond))
#define WARN_ON_ONCE(cond)		__VM_WARN(cond)
#define WARN_ON(cond)			__VM_WARN(cond)

#endif /* _LINUX_MMDEBUG_H */
