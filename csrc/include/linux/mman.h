/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_MMAN_H
#define _LINUX_MMAN_H

/* The kernel's madvise() behaviour numbers for fork-related advice. */
#define MADV_DONTFORK	10
#define MADV_DOFORK	11
#define MADV_WIPEONFORK	18
#define MADV_KEEPONFORK	19

#endif /* _LINUX_MMAN_H */
