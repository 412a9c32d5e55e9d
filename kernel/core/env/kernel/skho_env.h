/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* smmu-kho core environment: Linux kernel. */
#ifndef SKHO_ENV_H
#define SKHO_ENV_H

#include <linux/export.h>
#include <linux/kernel.h>
#include <linux/libfdt.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/types.h>
#include <linux/overflow.h>

#define skho_le64_to_cpu(x)	le64_to_cpu((__force __le64)(x))
#define skho_cpu_to_le64(x)	((__force u64)cpu_to_le64(x))
#define skho_malloc(n)		kvmalloc((n), GFP_KERNEL)
#define skho_calloc(n, s)	kvcalloc((n), (s), GFP_KERNEL)
#define skho_realloc(p, n)	kvrealloc((p), (n), GFP_KERNEL)
#define skho_free(p)		kvfree(p)
#define skho_vsnprintf		vsnprintf
#define skho_sort(base, n, size, cmp)	sort((base), (n), (size), (cmp), NULL)

#endif /* SKHO_ENV_H */
