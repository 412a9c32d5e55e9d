/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* smmu-kho core environment: user space (glibc + Debian libfdt). */
#ifndef SKHO_ENV_H
#define SKHO_ENV_H

#include <assert.h>
#include <endian.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libfdt.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

/* Spelled as in the kernel, so the core reads the same in both worlds. */
#ifndef __printf
#define __printf(a, b)		__attribute__((format(printf, a, b)))
#endif
#ifndef __packed
#define __packed		__attribute__((__packed__))
#endif
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif

#define skho_le64_to_cpu(x)	le64toh(x)
#define skho_cpu_to_le64(x)	htole64(x)
#define skho_malloc(n)		malloc(n)
#define skho_calloc(n, s)	calloc((n), (s))
#define skho_realloc(p, n)	realloc((p), (n))
#define skho_free(p)		free(p)
#define skho_vsnprintf		vsnprintf
/* qsort() must not see a NULL base, even for n == 0. */
static inline void skho_sort(void *base, size_t n, size_t size,
			     int (*cmp)(const void *, const void *))
{
	if (n)
		qsort(base, n, size, cmp);
}

/*
 * In the kernel the core exports what its live-update module calls (one
 * copy of the core, in the SMMUv3 driver); nothing to do in user space.
 */
#define EXPORT_SYMBOL_NS_GPL(sym, ns)	_Static_assert(1, #sym)

/* Debian's libfdt 1.6.1 has fdt_check_full(); the kernel's lib/ does not. */
#define SKHO_HAVE_FDT_CHECK_FULL	1

#endif /* SKHO_ENV_H */
