// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Sparse simulated physical memory for host tests: a struct skho_mem backend. */
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define ARENA_MAX_GAP_PAGES	16

static bool is_pow2(u64 x)
{
	return x && !(x & (x - 1));
}

/* Index of the last allocation with pa <= @pa, or -1. */
static long arena_bsearch(const struct arena *a, u64 pa)
{
	long lo = 0, hi = (long)a->nr - 1, best = -1;

	while (lo <= hi) {
		long mid = lo + (hi - lo) / 2;

		if (a->a[mid].pa <= pa) {
			best = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return best;
}

const struct arena_alloc *arena_find(const struct arena *a, u64 pa)
{
	long i = arena_bsearch(a, pa);

	if (i < 0 || pa - a->a[i].pa >= a->a[i].size)
		return NULL;
	return &a->a[i];
}

void *arena_ptr(const struct arena *a, u64 pa, u64 len)
{
	const struct arena_alloc *al;

	if (len == 0 || pa + len < pa)
		return NULL;
	al = arena_find(a, pa);
	if (!al || !al->buf || len > al->size - (pa - al->pa))
		return NULL;
	return al->buf + (pa - al->pa);
}

static const void *arena_map(void *priv, u64 pa, u64 len)
{
	struct arena *a = priv;
	const void *p = arena_ptr(a, pa, len);

	a->nr_map++;
	if (!p)
		a->nr_map_fail++;
	return p;
}

struct arena *arena_new(u64 seed, unsigned int pa_bits)
{
	struct arena *a = calloc(1, sizeof(*a));
	u64 lo = 1ULL << 32, span;

	if (!a)
		return NULL;
	if (pa_bits < 36)
		pa_bits = 36;
	if (pa_bits > 52)
		pa_bits = 52;
	a->rng = seed ^ 0xa4e9a4e9a4e9a4e9ULL;
	a->limit = 1ULL << pa_bits;
	/* Base in [4 GiB, 2^(pa_bits-1)): the upper half stays for growth. */
	span = (1ULL << (pa_bits - 1)) - lo;
	a->next = (lo + arena_rand_below(&a->rng, span)) & ~((2ULL << 20) - 1);
	if (a->next < lo)
		a->next = lo;
	a->mem.map = arena_map;
	a->mem.priv = a;
	return a;
}

void arena_free(struct arena *a)
{
	u32 i;

	if (!a)
		return;
	for (i = 0; i < a->nr; i++)
		free(a->a[i].buf);
	free(a->a);
	free(a);
}

static int arena_grow(struct arena *a, u32 want)
{
	struct arena_alloc *n;
	u32 cap;

	if (want <= a->cap)
		return 0;
	cap = a->cap ? a->cap : 64;
	while (cap < want)
		cap *= 2;
	n = realloc(a->a, (size_t)cap * sizeof(*n));
	if (!n)
		return -SKHO_E_NOMEM;
	a->a = n;
	a->cap = cap;
	return 0;
}

/* Insert keeping the array sorted; the caller checked for overlap. */
static int arena_insert(struct arena *a, u64 pa, u64 size, u32 tag, bool backed)
{
	long i = arena_bsearch(a, pa) + 1;
	u8 *buf = NULL;

	if (arena_grow(a, a->nr + 1))
		return -SKHO_E_NOMEM;
	if (backed) {
		buf = malloc(size);
		if (!buf)
			return -SKHO_E_NOMEM;
		memset(buf, ARENA_POISON, size);
		a->backed_bytes += size;
	}
	memmove(&a->a[i + 1], &a->a[i], (a->nr - (u32)i) * sizeof(a->a[0]));
	a->a[i] = (struct arena_alloc){ .pa = pa, .size = size, .buf = buf, .tag = tag };
	a->nr++;
	return 0;
}

static bool arena_overlaps(const struct arena *a, u64 pa, u64 size)
{
	long i = arena_bsearch(a, pa + size - 1);

	return i >= 0 && a->a[i].pa + a->a[i].size > pa;
}

int arena_add_at(struct arena *a, u64 pa, u64 size, u32 tag, bool backed)
{
	int ret;

	if (!size || pa + size < pa || pa + size > a->limit || arena_overlaps(a, pa, size))
		return -SKHO_E_INVAL;
	ret = arena_insert(a, pa, size, tag, backed);
	if (!ret && pa + size > a->next)
		a->next = pa + size;
	return ret;
}

static u64 arena_place(struct arena *a, u64 size, u64 align, u32 tag, bool backed)
{
	u64 gap = 0, pa;

	if (!size || !is_pow2(align))
		return 0;
	if (arena_rand_below(&a->rng, 4))
		gap = arena_rand_below(&a->rng, ARENA_MAX_GAP_PAGES + 1) << 12;
	pa = (a->next + gap + align - 1) & ~(align - 1);
	if (pa < a->next || pa + size < pa || pa + size > a->limit)
		return 0;
	if (arena_add_at(a, pa, size, tag, backed))
		return 0;
	return pa;
}

u64 arena_alloc(struct arena *a, u64 size, u64 align, u32 tag)
{
	return arena_place(a, size, align, tag, true);
}

u64 arena_zalloc(struct arena *a, u64 size, u64 align, u32 tag)
{
	u64 pa = arena_place(a, size, align, tag, true);

	if (pa)
		memset(arena_ptr(a, pa, size), 0, size);
	return pa;
}

u64 arena_reserve(struct arena *a, u64 size, u64 align, u32 tag)
{
	return arena_place(a, size, align, tag, false);
}

u64 arena_rd64(const struct arena *a, u64 pa)
{
	const void *p = arena_ptr(a, pa, 8);

	return p ? skho_ld_le64(p) : 0;
}

bool arena_wr64(struct arena *a, u64 pa, u64 val)
{
	void *p = arena_ptr(a, pa, 8);

	if (!p)
		return false;
	val = skho_cpu_to_le64(val);
	memcpy(p, &val, 8);
	return true;
}

struct fork_piece {
	u64 pa, end;
	u32 tag;
	bool backed;
};

static int piece_cmp(const void *x, const void *y)
{
	const struct fork_piece *a = x, *b = y;

	return a->pa < b->pa ? -1 : a->pa > b->pa;
}

/* Copy the bytes @src backs inside [pa, end) into @dst (same PAs). */
static void fork_copy(struct arena *dst, const struct arena *src, u64 pa, u64 end)
{
	long i = arena_bsearch(src, pa);

	if (i < 0)
		i = 0;
	for (; (u32)i < src->nr && src->a[i].pa < end; i++) {
		const struct arena_alloc *s = &src->a[i];
		u64 lo = s->pa > pa ? s->pa : pa;
		u64 hi = s->pa + s->size < end ? s->pa + s->size : end;

		if (!s->buf || lo >= hi)
			continue;
		memcpy(arena_ptr(dst, lo, hi - lo), s->buf + (lo - s->pa), hi - lo);
	}
}

struct arena *arena_fork(const struct arena *src, const struct skho_range *r,
			 u32 nr, u32 tags)
{
	struct fork_piece *p;
	struct arena *dst;
	u32 n = 0, m = 0, i;

	p = calloc((size_t)src->nr + nr + 1, sizeof(*p));
	dst = calloc(1, sizeof(*dst));
	if (!p || !dst)
		goto fail;
	dst->rng = src->rng ^ 0x5bd1e995ULL;
	dst->limit = src->limit;
	dst->mem.map = arena_map;
	dst->mem.priv = dst;
	for (i = 0; i < src->nr; i++)
		if (src->a[i].tag & tags)
			p[n++] = (struct fork_piece){ src->a[i].pa,
				src->a[i].pa + src->a[i].size, src->a[i].tag,
				src->a[i].buf != NULL };
	for (i = 0; i < nr; i++)
		if (r[i].size && r[i].pa + r[i].size > r[i].pa)
			p[n++] = (struct fork_piece){ r[i].pa, r[i].pa + r[i].size,
				ARENA_CLONED, true };
	qsort(p, n, sizeof(*p), piece_cmp);
	/* Merge overlapping pieces; a merged piece is backed if any part is. */
	for (i = 0; i < n; i++) {
		if (m && p[i].pa < p[m - 1].end) {
			if (p[i].end > p[m - 1].end)
				p[m - 1].end = p[i].end;
			p[m - 1].backed |= p[i].backed;
			p[m - 1].tag |= p[i].tag;
			continue;
		}
		p[m++] = p[i];
	}
	if (arena_grow(dst, m ? m : 1))
		goto fail;
	for (i = 0; i < m; i++) {
		if (arena_insert(dst, p[i].pa, p[i].end - p[i].pa, p[i].tag, p[i].backed))
			goto fail;
		if (p[i].backed)
			fork_copy(dst, src, p[i].pa, p[i].end);
	}
	dst->next = m ? p[m - 1].end : src->next;
	free(p);
	return dst;
fail:
	free(p);
	arena_free(dst);
	return NULL;
}
