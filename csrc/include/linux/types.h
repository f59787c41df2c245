/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Basic kernel types for the userspace build of the anon_vma core.
 */
#ifndef _LINUX_TYPES_H
#define _LINUX_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t s32;
typedef int64_t s64;

typedef unsigned long pgoff_t;
typedef unsigned int gfp_t;
typedef unsigned long vm_flags_t;

#endif /* _LINUX_TYPES_H */
