/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The bug zoo: each variant is the mainline core (mm/rmap.c) compiled again
 * with one function replaced by a copy carrying one defect. A zoo file
 * defines ZOO_REPLACES_<function> and its core's name and table, includes
 * this header, declares its replacement, includes ../mm/rmap.c, and then
 * defines the replacement. See csrc/zoo/README.md.
 */
#ifndef _RMAPFUZZ_ZOO_H
#define _RMAPFUZZ_ZOO_H

#include <linux/list.h>
#include <linux/mm.h>
#include <linux/rmap.h>

#define ANON_VMA_CORE_IMPL
#include "../mm/internal.h"
#include "../mm/anon_vma.h"

#endif /* _RMAPFUZZ_ZOO_H */
