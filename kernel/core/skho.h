/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* smmu-kho core: error codes, memory accessor, range sets and digests. */
#ifndef SKHO_H
#define SKHO_H

#include "skho_env.h"

/*
 * Every function returning int returns 0 (or a count) on success and a
 * negative -SKHO_E_* code on failure; struct skho_err, when the caller passes
 * one, then names what was wrong.
 */
enum skho_error {
	SKHO_OK = 0,
	SKHO_E_INVAL,		/* bad argument from the caller */
	SKHO_E_NOMEM,		/* allocation failed */
	SKHO_E_NOSPACE,		/* output buffer too small */
	SKHO_E_FDT,		/* blob is not a well-formed FDT of the given size */
	SKHO_E_COMPAT,		/* missing or unknown compatible (ABI major) */
	SKHO_E_PROP,		/* property missing, of wrong length or value */
	SKHO_E_SMMU,		/* bad SMMU node: name, reg, duplicate, strtab cfg */
	SKHO_E_SID,		/* streams unsorted, duplicate or beyond the table */
	SKHO_E_RANGES,		/* ranges unsorted, overlapping, empty or wrapping */
	SKHO_E_OUTSIDE,		/* a pointer leads outside the preserved ranges */
	SKHO_E_STE,		/* invalid STE: V=0, reserved Config, RES0 set */
	SKHO_E_STE_LOST,	/* STE in memory differs from its reference copy */
	SKHO_E_CD,		/* S1 STE without a valid CD table, or bad CD */
	SKHO_E_PGTABLE,		/* bad translation geometry or descriptor */
	SKHO_E_DIGEST,		/* recomputed digest differs from the handed one */
	SKHO_E_LISTING,		/* page-tables/asids/vmids miss what a stream uses */
	SKHO_E_UNSUPPORTED,	/* valid per spec, but not preservable by smmu-kho */
	SKHO_E_LIMIT,		/* more than the SKHO_MAX_* bounds */
	SKHO_E_OUTPUT,		/* a translation reaches memory not proven preserved */
	SKHO_E_DIFFERS,		/* a new translation differs from the adopted one */
	SKHO_E__COUNT
};

#define SKHO_NO_SID		0xffffffffu

/* What went wrong, precise enough for an operator to act on. */
struct skho_err {
	int code;		/* -SKHO_E_* */
	u32 sid;		/* stream concerned, or SKHO_NO_SID */
	u64 addr;		/* physical address concerned, or 0 */
	char msg[192];
};

/* Name of an error code ("SKHO_E_OUTSIDE"), for logs. Never NULL. */
const char *skho_strerror(int err);

/*
 * A table-level error (sid == SKHO_NO_SID) seen while handling stream @sid:
 * rewrite @e to name the stream and the table @root, keeping the message.
 */
void skho_err_blame(struct skho_err *e, int code, u32 sid, u64 root);

/* Fill @e (may be NULL) and return -@code. */
__printf(5, 6)
int skho_fail(struct skho_err *e, int code, u32 sid, u64 addr,
	      const char *fmt, ...);

/*
 * Physical memory accessor.  map() returns a pointer through which @len bytes
 * at @pa can be read, or NULL when any of them is not accessible.  The kernel
 * backs it with the linear map; tests with a simulated sparse arena.
 */
struct skho_mem {
	const void *(*map)(void *priv, u64 pa, u64 len);
	void *priv;
};

static inline const void *skho_map(const struct skho_mem *m, u64 pa, u64 len)
{
	if (len == 0 || pa + len < pa)
		return NULL;
	return m->map(m->priv, pa, len);
}

static inline u64 skho_ld_le64(const void *p)
{
	u64 v;

	memcpy(&v, p, sizeof(v));
	return skho_le64_to_cpu(v);
}

/* A set of physical ranges; normalized means sorted and disjoint. */
struct skho_range {
	u64 pa;
	u64 size;
};

struct skho_ranges {
	struct skho_range *r;
	u32 nr;
	u32 cap;
};

/*
 * Append [pa, pa+size).  -SKHO_E_INVAL if empty or wrapping (the end must be
 * <= 2^64 - 1), -SKHO_E_LIMIT beyond 2^31 entries, -SKHO_E_NOMEM.
 */
int skho_ranges_add(struct skho_ranges *rs, u64 pa, u64 size);
/* Sort and merge overlapping or adjacent ranges.  Returns 0. */
int skho_ranges_normalize(struct skho_ranges *rs);
/* True when [pa, pa+len) lies inside one range of a normalized set. */
bool skho_ranges_contain(const struct skho_ranges *rs, u64 pa, u64 len);
/* True when any byte of [pa, pa+len) lies in a normalized set. */
bool skho_ranges_overlap(const struct skho_ranges *rs, u64 pa, u64 len);
void skho_ranges_free(struct skho_ranges *rs);

/*
 * A fenced accessor: map() succeeds only inside @allowed (normalized), so a
 * walk over handed-over tables can never read memory that was not preserved.
 */
struct skho_mem_fence {
	struct skho_mem mem;
	const struct skho_mem *base;
	const struct skho_ranges *allowed;
};

void skho_mem_fence_init(struct skho_mem_fence *f, const struct skho_mem *base,
			 const struct skho_ranges *allowed);

/*
 * SKHO_DIGEST: 64-bit non-cryptographic digest (4-lane 64x64->128-bit
 * multiply-fold over 64-byte stripes; docs/abi.md defines it).  It detects
 * lost or corrupted state; it is not a defence against a malicious previous
 * kernel, which could forge anything it hands over.  Streaming (init,
 * update/u64 in any pieces, final) equals skho_digest_buf() of the
 * concatenation.  None of these functions can fail.
 */
struct skho_digest {
	u64 v[4];		/* lanes */
	u64 total;		/* bytes fed */
	u8 buf[64];		/* partial stripe */
	u32 fill;		/* bytes in buf */
};

void skho_digest_init(struct skho_digest *d, u64 seed);
void skho_digest_update(struct skho_digest *d, const void *p, size_t len);
void skho_digest_u64(struct skho_digest *d, u64 v);	/* as 8 LE bytes */
u64 skho_digest_final(const struct skho_digest *d);
u64 skho_digest_buf(const void *p, size_t len, u64 seed);

#endif /* SKHO_H */
