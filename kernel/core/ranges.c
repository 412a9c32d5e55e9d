// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* smmu-kho core: physical range sets, their preserved-ranges encoding, the fenced accessor. */
#include "skho_handover.h"

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
EXPORT_SYMBOL_NS_GPL(skho_ranges_add, "SMMU_KHO");

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
EXPORT_SYMBOL_NS_GPL(skho_ranges_normalize, "SMMU_KHO");

/* False for len 0 or a wrapping [pa, pa + len). */
bool skho_ranges_contain(const struct skho_ranges *rs, u64 pa, u64 len)
{
	const struct skho_range *r = rs->r;
	u32 n = rs->nr, half;

	if (!len || pa + len < pa || !n || pa < r[0].pa)
		return false;
	/*
	 * The last range starting at or below pa: a branch-free halving (the
	 * compiler makes the step a conditional move), so that lookups at
	 * unpredictable addresses cost no mispredictions.
	 */
	while (n > 1) {
		half = n / 2;
		r = r[half].pa <= pa ? r + half : r;
		n -= half;
	}
	return pa - r->pa <= r->size && len <= r->size - (pa - r->pa);
}
EXPORT_SYMBOL_NS_GPL(skho_ranges_contain, "SMMU_KHO");

bool skho_ranges_overlap(const struct skho_ranges *rs, u64 pa, u64 len)
{
	u32 lo = 0, hi = rs->nr;
	u64 end = pa + len;

	if (!len)
		return false;
	if (end < pa)
		end = ~0ULL;	/* up to the top of the address space */
	/* The first range ending after pa; it overlaps iff it starts before end. */
	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (rs->r[mid].pa + rs->r[mid].size <= pa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < rs->nr && rs->r[lo].pa < end;
}

int skho_ranges_filter(struct skho_ranges *rs, unsigned int page_shift,
		       bool (*keep)(void *arg, u64 pa, u64 size), void *arg)
{
	struct skho_ranges out = { 0 };
	u64 pg = 1ULL << page_shift;
	u32 i;

	for (i = 0; i < rs->nr; i++) {
		u64 pa = rs->r[i].pa, end = pa + rs->r[i].size;

		/* Most runs pass whole: ask once, page by page only if not. */
		if (keep(arg, pa, end - pa)) {
			if (skho_ranges_add(&out, pa, end - pa))
				goto nomem;
			continue;
		}
		for (; pa < end; pa += pg)
			if (keep(arg, pa, pg) && skho_ranges_add(&out, pa, pg))
				goto nomem;
	}
	skho_ranges_normalize(&out);
	skho_ranges_free(rs);
	*rs = out;
	return 0;
nomem:
	skho_ranges_free(&out);
	return -SKHO_E_NOMEM;
}

void skho_ranges_free(struct skho_ranges *rs)
{
	skho_free(rs->r);
	rs->r = NULL;
	rs->nr = 0;
	rs->cap = 0;
}
EXPORT_SYMBOL_NS_GPL(skho_ranges_free, "SMMU_KHO");

/* ---- preserved-ranges: runs of 4 KiB pages (smmu_kho_abi.h) -------------- */

#define PAGE_SZ		((u64)1 << SKHO_ABI_PAGE_SHIFT)
#define PFN_LIMIT	(1ULL << (SKHO_ABI_PA_BITS - SKHO_ABI_PAGE_SHIFT))

/*
 * Round every range out to whole pages, then normalize (runs that now touch
 * or overlap merge).  -SKHO_E_INVAL when a range ends in the last page of
 * the 64-bit space (its rounded end is not representable).
 */
int skho_ranges_to_pages(struct skho_ranges *rs)
{
	u32 i;

	for (i = 0; i < rs->nr; i++) {
		u64 start = rs->r[i].pa & ~(PAGE_SZ - 1);
		u64 end = rs->r[i].pa + rs->r[i].size;	/* no wrap: see add */

		if (end > ~0ULL - (PAGE_SZ - 1))
			return -SKHO_E_INVAL;
		end = (end + PAGE_SZ - 1) & ~(PAGE_SZ - 1);
		rs->r[i].pa = start;
		rs->r[i].size = end - start;
	}
	return skho_ranges_normalize(rs);
}

static unsigned int varint_len(u64 v)
{
	unsigned int n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static u8 *varint_put(u8 *p, u64 v)
{
	while (v >= 0x80) {
		*p++ = (u8)(v | 0x80);
		v >>= 7;
	}
	*p++ = (u8)v;
	return p;
}

int skho_ranges_encode(const struct skho_ranges *rs, u8 *buf, size_t len)
{
	u64 next = 0;		/* page frame after the previous run */
	size_t need = 0;
	u32 i;

	if (rs->nr > SKHO_MAX_RANGES)
		return -SKHO_E_LIMIT;
	for (i = 0; i < rs->nr; i++) {
		u64 pa = rs->r[i].pa, size = rs->r[i].size;
		u64 pfn = pa >> SKHO_ABI_PAGE_SHIFT, pages = size >> SKHO_ABI_PAGE_SHIFT;

		if ((pa | size) & (PAGE_SZ - 1) || !pages || pfn >= PFN_LIMIT ||
		    pages > PFN_LIMIT - pfn || pfn < next || (i && pfn == next))
			return -SKHO_E_INVAL;
		need += varint_len(pfn - next) + varint_len(pages - 1);
		next = pfn + pages;
	}
	if (!buf)
		return (int)need;
	if (len < need)
		return -SKHO_E_NOSPACE;
	for (i = 0, next = 0; i < rs->nr; i++) {
		u64 pfn = rs->r[i].pa >> SKHO_ABI_PAGE_SHIFT;
		u64 pages = rs->r[i].size >> SKHO_ABI_PAGE_SHIFT;

		buf = varint_put(buf, pfn - next);
		buf = varint_put(buf, pages - 1);
		next = pfn + pages;
	}
	return (int)need;
}

/*
 * One LEB128 number at *@p (before @end), shortest form, at most
 * SKHO_ABI_VARINT_MAX bytes.  Returns 0, or what is wrong with it.
 */
static const char *varint_get(const u8 **p, const u8 *end, u64 *out)
{
	const u8 *q = *p;
	unsigned int n;
	u64 v = 0;

	for (n = 0; n < SKHO_ABI_VARINT_MAX; n++) {
		u8 b;

		if (q == end)
			return "is cut short";
		b = *q++;
		v |= (u64)(b & 0x7f) << (7 * n);
		if (!(b & 0x80)) {
			if (n && !b)
				return "is not in shortest form";
			*p = q;
			*out = v;
			return NULL;
		}
	}
	return "has a number longer than 6 bytes";	/* SKHO_ABI_VARINT_MAX */
}

/* Pass 1 checks and counts the runs; pass 2 (@out set) stores them. */
static int decode_pass(const u8 *val, size_t len, struct skho_range *out, u32 *nr,
		       struct skho_err *err)
{
	const u8 *p = val, *end = val + len;
	u64 next = 0, skip, cnt;
	u32 i;

	for (i = 0; p < end; i++) {
		size_t at = (size_t)(p - val);
		const char *bad = varint_get(&p, end, &skip);

		bad = bad ?: varint_get(&p, end, &cnt);
		if (bad)
			return skho_fail(err, SKHO_E_PROP, SKHO_NO_SID, 0,
					 "preserved-ranges run %u (byte %zu of %zu) %s",
					 i, at, len, bad);
		if (i >= SKHO_MAX_RANGES)
			return skho_fail(err, SKHO_E_LIMIT, SKHO_NO_SID, 0,
					 "preserved-ranges: more than %u runs",
					 SKHO_MAX_RANGES);
		if (i && !skip)
			bad = "touches its predecessor (skip 0: not one run)";
		else if (skip >= PFN_LIMIT - next || cnt >= PFN_LIMIT - (next + skip))
			bad = "reaches beyond 2^52";
		if (bad)
			return skho_fail(err, SKHO_E_RANGES, SKHO_NO_SID,
					 (next + (skip < PFN_LIMIT ? skip : 0)) <<
					 SKHO_ABI_PAGE_SHIFT,
					 "preserved-ranges run %u (skip %llu, %llu pages) %s",
					 i, (unsigned long long)skip,
					 (unsigned long long)cnt + 1, bad);
		if (out) {
			out[i].pa = (next + skip) << SKHO_ABI_PAGE_SHIFT;
			out[i].size = (cnt + 1) << SKHO_ABI_PAGE_SHIFT;
		}
		next += skip + cnt + 1;
	}
	*nr = i;
	return 0;
}

int skho_ranges_decode(const void *val, size_t len, struct skho_ranges *out,
		       struct skho_err *err)
{
	u32 nr;
	int ret;

	if (!out || (len && !val) || out->nr)
		return skho_fail(err, SKHO_E_INVAL, SKHO_NO_SID, 0,
				 "ranges_decode: bad argument");
	ret = decode_pass(val, len, NULL, &nr, err);
	if (ret || !nr)
		return ret;
	if (out->cap < nr) {
		struct skho_range *r = skho_realloc(out->r, (size_t)nr * sizeof(*r));

		if (!r)
			return skho_fail(err, SKHO_E_NOMEM, SKHO_NO_SID, 0,
					 "preserved-ranges: %u runs", nr);
		out->r = r;
		out->cap = nr;
	}
	decode_pass(val, len, out->r, &out->nr, NULL);	/* checked above */
	return 0;
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
EXPORT_SYMBOL_NS_GPL(skho_mem_fence_init, "SMMU_KHO");
