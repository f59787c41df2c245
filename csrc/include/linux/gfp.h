/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LINUX_GFP_H
#define _LINUX_GFP_H

#include <linux/types.h>

/*
 * Only the distinction matters for the model: every attempt, no-wait or
 * blocking, counts as one allocation for fault injection.
 */
#define __GFP_NOWARN	0x1u
#define GFP_NOWAIT	0x2u
#define GFP_KERNEL	0x4u

#endif /* _LINUX_GFP_H */
