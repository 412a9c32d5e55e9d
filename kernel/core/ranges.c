// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* smmu-kho core: physical range sets and the fenced memory accessor. */
#include "skho.h"

/*
 * Append [pa, pa + size).  The set is no longer normalized afterwards.
 * Errors: -SKHO_E_INVAL (size 0, or pa + size beyond 2^64 - 1: the end must
 * be representable), -SKHO_E_LIMIT (beyond 2^31 entries), -SKHO_E_NOMEM.
 */
int skho_ranges_add(struct skho_ranges *rs, u64 pa, u64 size)
{
	if (!size || pa + size < pa)
		return -SKHO_E_INVAL;
	if (rs->nr && rs->r[rs->nr - 1].pa == pa && rs->r[rs->nr - 1].size == size)
		return 0;	/* cheap dedup of repeated adds of one table */
	if (rs->nr == rs->cap) {
		u32 cap = rs->cap ? rs->cap * 2 : 16;
		struct skho_range *r;

		if (rs->cap >= 0x80000000u)
			return -SKHO_E_LIMIT;
		r = skho_realloc(rs->r, (size_t)cap * sizeof(*r));
		if (!r)
			return -SKHO_E_NOMEM;
		rs->r = r;
		rs->cap = cap;
	}
	rs->r[rs->nr].pa = pa;
	rs->r[rs->nr].size = size;
	rs->nr++;
	return 0;
}

static int range_cmp(const void *a, const void *b)
{
	const struct skho_range *x = a, *y = b;

	if (x->pa != y->pa)
		return x->pa < y->pa ? -1 : 1;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return 0;
}

/* Sort, then merge every range that overlaps or touches its predecessor. */
int skho_ranges_normalize(struct skho_ranges *rs)
{
	u32 i, out = 0;

	if (rs->nr < 2)
		return 0;
	skho_sort(rs->r, rs->nr, sizeof(rs->r[0]), range_cmp);
	for (i = 1; i < rs->nr; i++) {
		struct skho_range *last = &rs->r[out];
		u64 end = last->pa + last->size;	/* no wrap: see add */

		if (rs->r[i].pa <= end) {
			u64 e = rs->r[i].pa + rs->r[i].size;

			if (e > end)
				last->size = e - last->pa;
		} else {
			rs->r[++out] = rs->r[i];
		}
	}
	rs->nr = out + 1;
	return 0;
}

/* False for len 0 or a wrapping [pa, pa + len). */
bool skho_ranges_contain(const struct skho_ranges *rs, u64 pa, u64 len)
{
	u32 lo = 0, hi = rs->nr;
	const struct skho_range *r;

	if (!len || pa + len < pa)
		return false;
	/* Find the last range starting at or below pa. */
	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (rs->r[mid].pa <= pa)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return false;
	r = &rs->r[lo - 1];
	return pa - r->pa <= r->size && len <= r->size - (pa - r->pa);
}

void skho_ranges_free(struct skho_ranges *rs)
{
	skho_free(rs->r);
	rs->r = NULL;
	rs->nr = 0;
	rs->cap = 0;
}

static const void *fence_map(void *priv, u64 pa, u64 len)
{
	const struct skho_mem_fence *f = priv;

	if (!skho_ranges_contain(f->allowed, pa, len))
		return NULL;
	return skho_map(f->base, pa, len);
}

void skho_mem_fence_init(struct skho_mem_fence *f, const struct skho_mem *base,
			 const struct skho_ranges *allowed)
{
	f->mem.map = fence_map;
	f->mem.priv = f;
	f->base = base;
	f->allowed = allowed;
}
