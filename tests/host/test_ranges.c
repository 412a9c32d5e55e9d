// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Host tests: range sets, their preserved-ranges page-run encoding, the fenced accessor. */
#include "ktest.h"
#include "skho_handover.h"

static void add_refuses_empty_or_wrapping_range(struct ktest *t)
{
	struct skho_ranges rs = { 0 };

	/* size 0 is empty */
	KEXPECT_EQ(t, skho_ranges_add(&rs, 0x1000, 0), -SKHO_E_INVAL);
	/* end would be 2^64 + 0xfff: wraps */
	KEXPECT_EQ(t, skho_ranges_add(&rs, ~0ULL - 0xfff, 0x2000), -SKHO_E_INVAL);
	/* end exactly 2^64 is not representable as a u64 end either */
	KEXPECT_EQ(t, skho_ranges_add(&rs, ~0ULL - 0xfff, 0x1000), -SKHO_E_INVAL);
	KEXPECT_EQ(t, rs.nr, 0);	/* nothing was added by the refused calls */
	/* the last representable range ends at 2^64 - 1 */
	KEXPECT_EQ(t, skho_ranges_add(&rs, ~0ULL - 0x1000, 0x1000), 0);
	KEXPECT_EQ(t, rs.nr, 1);
	skho_ranges_free(&rs);
	KEXPECT(t, rs.r == NULL && rs.nr == 0 && rs.cap == 0, "free resets the set");
}

static void normalize_merges_overlapping_and_adjacent_keeps_gaps(struct ktest *t)
{
	struct skho_ranges rs = { 0 };

	/* added out of order on purpose */
	skho_ranges_add(&rs, 0x5000, 0x1000);	/* [5000,6000) adjacent to next */
	skho_ranges_add(&rs, 0x1000, 0x2000);	/* [1000,3000) */
	skho_ranges_add(&rs, 0x6000, 0x1000);	/* [6000,7000) */
	skho_ranges_add(&rs, 0x2000, 0x1800);	/* [2000,3800) overlaps [1000,3000) */
	skho_ranges_add(&rs, 0x1800, 0x100);	/* fully inside [1000,3000) */
	skho_ranges_add(&rs, 0x9000, 0x10);	/* isolated, after a gap */
	KEXPECT_EQ(t, skho_ranges_normalize(&rs), 0);
	/* expected: [1000,3800) [5000,7000) [9000,9010) */
	KASSERT(t, rs.nr == 3, "got %u ranges", rs.nr);
	KEXPECT_EQ(t, rs.r[0].pa, 0x1000);
	KEXPECT_EQ(t, rs.r[0].size, 0x2800);	/* 0x3800 - 0x1000 */
	KEXPECT_EQ(t, rs.r[1].pa, 0x5000);
	KEXPECT_EQ(t, rs.r[1].size, 0x2000);	/* two adjacent pages merged */
	KEXPECT_EQ(t, rs.r[2].pa, 0x9000);
	KEXPECT_EQ(t, rs.r[2].size, 0x10);
	skho_ranges_free(&rs);
}

static void normalize_keeps_outer_range_over_contained_one(struct ktest *t)
{
	struct skho_ranges rs = { 0 };

	/* same start, shorter one sorts first: the longer must survive */
	skho_ranges_add(&rs, 0x4000, 0x4000);
	skho_ranges_add(&rs, 0x4000, 0x1000);
	skho_ranges_add(&rs, 0x5000, 0x100);
	skho_ranges_normalize(&rs);
	KASSERT(t, rs.nr == 1, "got %u ranges", rs.nr);
	KEXPECT_EQ(t, rs.r[0].pa, 0x4000);
	KEXPECT_EQ(t, rs.r[0].size, 0x4000);	/* the outer range, unchanged */
	skho_ranges_free(&rs);
}

static void contain_requires_whole_request_inside_one_range(struct ktest *t)
{
	struct skho_ranges rs = { 0 };

	skho_ranges_add(&rs, 0x1000, 0x1000);	/* [1000,2000) */
	skho_ranges_add(&rs, 0x3000, 0x1000);	/* [3000,4000) */
	skho_ranges_add(&rs, 0x4000, 0x1000);	/* adjacent: merges into [3000,5000) */
	skho_ranges_normalize(&rs);
	KEXPECT(t, skho_ranges_contain(&rs, 0x1000, 0x1000), "exactly the range");
	KEXPECT(t, skho_ranges_contain(&rs, 0x1fff, 1), "last byte");
	KEXPECT(t, !skho_ranges_contain(&rs, 0xfff, 2), "starts one byte before");
	KEXPECT(t, !skho_ranges_contain(&rs, 0x1fff, 2), "ends one byte after");
	KEXPECT(t, !skho_ranges_contain(&rs, 0x2000, 1), "in the gap");
	KEXPECT(t, !skho_ranges_contain(&rs, 0x1800, 0x2000), "spans the gap");
	KEXPECT(t, skho_ranges_contain(&rs, 0x3800, 0x1000), "crosses the merged seam");
	KEXPECT(t, !skho_ranges_contain(&rs, 0x0, 0x10), "below every range");
	KEXPECT(t, !skho_ranges_contain(&rs, 0x5000, 1), "first byte past the end");
	KEXPECT(t, !skho_ranges_contain(&rs, 0x1000, 0), "len 0 is never contained");
	skho_ranges_free(&rs);
}

static void contain_refuses_wrapping_request_and_empty_set(struct ktest *t)
{
	struct skho_ranges rs = { 0 };

	KEXPECT(t, !skho_ranges_contain(&rs, 0x1000, 1), "empty set contains nothing");
	skho_ranges_add(&rs, ~0ULL - 0xffff, 0xffff);	/* up to 2^64 - 2 */
	skho_ranges_normalize(&rs);
	KEXPECT(t, skho_ranges_contain(&rs, ~0ULL - 0xffff, 0xffff), "top range itself");
	/* pa + len wraps to a small number that would compare as "inside" */
	KEXPECT(t, !skho_ranges_contain(&rs, ~0ULL - 0xfff, 0x2000), "wrapping request");
	skho_ranges_free(&rs);
}

static u64 rnd(u64 *s)
{
	u64 z = (*s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static void contain_after_normalize_agrees_with_byte_map(struct ktest *t)
{
	u64 s = t->seed;
	int iter;

	/* random small sets over a 512-byte space, checked against a bitmap of
	 * covered bytes: contained <=> every byte covered (merges make any
	 * covered run one range) */
	for (iter = 0; iter < 200; iter++) {
		struct skho_ranges rs = { 0 };
		u8 cov[512] = { 0 };
		int i, n = 1 + rnd(&s) % 12;

		for (i = 0; i < n; i++) {
			u64 pa = rnd(&s) % 480, size = 1 + rnd(&s) % 32, b;

			skho_ranges_add(&rs, pa, size);
			for (b = pa; b < pa + size; b++)
				cov[b] = 1;
		}
		skho_ranges_normalize(&rs);
		for (i = 1; i < (int)rs.nr; i++)
			KEXPECT(t, rs.r[i].pa > rs.r[i - 1].pa + rs.r[i - 1].size,
				"normalized ranges are sorted with gaps (iter %d)", iter);
		for (i = 0; i < 100; i++) {
			u64 pa = rnd(&s) % 512, len = 1 + rnd(&s) % 64, b;
			bool want = pa + len <= 512;

			for (b = pa; want && b < pa + len; b++)
				want = cov[b];
			if (skho_ranges_contain(&rs, pa, len) != want) {
				ktest_fail(t, __FILE__, __LINE__, "iter %d [%#llx,+%#llx) want %d",
					   iter, (unsigned long long)pa,
					   (unsigned long long)len, want);
				break;
			}
		}
		skho_ranges_free(&rs);
	}
}

static void contain_agrees_with_a_linear_scan_over_many_ranges(struct ktest *t)
{
	struct skho_ranges rs = { 0 };
	u64 s = t->seed, end = 0;
	int i, n;

	/* 1,500 disjoint ranges with random gaps (about the 1,024-stream
	 * handover's count): the halving search must find the same range a
	 * scan finds, at every kind of boundary */
	for (n = 0; n < 1500; n++) {
		u64 pa = end + 1 + rnd(&s) % 0x3000, size = 1 + rnd(&s) % 0x3000;

		skho_ranges_add(&rs, pa, size);
		end = pa + size;
	}
	skho_ranges_normalize(&rs);
	KASSERT(t, rs.nr == 1500, "gaps keep every range: %u", rs.nr);
	for (i = 0; i < 20000; i++) {
		const struct skho_range *r = &rs.r[rnd(&s) % rs.nr];
		/* around a range's edges: before, at, inside, at the end, past it */
		u64 pa = r->pa - 2 + rnd(&s) % (r->size + 4), len = 1 + rnd(&s) % 0x40;
		bool want = false;
		u32 k;

		for (k = 0; k < rs.nr && !want; k++)
			want = pa >= rs.r[k].pa && pa + len <= rs.r[k].pa + rs.r[k].size;
		if (skho_ranges_contain(&rs, pa, len) != want) {
			ktest_fail(t, __FILE__, __LINE__, "[%#llx,+%#llx) want %d",
				   (unsigned long long)pa, (unsigned long long)len, want);
			break;
		}
	}
	skho_ranges_free(&rs);
}

static void to_pages_rounds_out_to_4k_and_merges_what_then_touches(struct ktest *t)
{
	struct skho_ranges rs = { 0 };

	skho_ranges_add(&rs, 0x1040, 0x40);	/* inside page 0x1000 */
	skho_ranges_add(&rs, 0x2ff0, 0x20);	/* straddles pages 0x2000, 0x3000 */
	skho_ranges_add(&rs, 0x6000, 0x1000);	/* already whole */
	skho_ranges_add(&rs, 0x7800, 0x10);	/* page 0x7000: touches 0x6000 */
	KEXPECT_EQ(t, skho_ranges_to_pages(&rs), 0);
	/* expected: [1000,4000) (pages 1 and 2..3 touch), [6000,8000) */
	KASSERT(t, rs.nr == 2, "%u runs", rs.nr);
	KEXPECT_EQ(t, rs.r[0].pa, 0x1000);
	KEXPECT_EQ(t, rs.r[0].size, 0x3000);
	KEXPECT_EQ(t, rs.r[1].pa, 0x6000);
	KEXPECT_EQ(t, rs.r[1].size, 0x2000);
	skho_ranges_free(&rs);
	/* the last page of the 64-bit space cannot be rounded up to 2^64 */
	skho_ranges_add(&rs, ~0ULL - 0x100, 0x10);
	KEXPECT_EQ(t, skho_ranges_to_pages(&rs), -SKHO_E_INVAL);
	skho_ranges_free(&rs);
}

static void encoding_of_the_documented_example_is_byte_exact(struct ktest *t)
{
	/* docs/abi.md: pages [0x40000000, +0x2000) and [0x40003000, +0x3000):
	 * skip 0x40000 = 80 80 10, count-1 1 = 01; skip 1 = 01, count-1 2 = 02 */
	static const u8 want[] = { 0x80, 0x80, 0x10, 0x01, 0x01, 0x02 };
	struct skho_ranges rs = { 0 }, back = { 0 };
	u8 buf[16];

	skho_ranges_add(&rs, 0x40000000, 0x2000);
	skho_ranges_add(&rs, 0x40003000, 0x3000);
	KEXPECT_EQ(t, skho_ranges_encode(&rs, NULL, 0), (int)sizeof(want));
	KEXPECT_EQ(t, skho_ranges_encode(&rs, buf, sizeof(want) - 1), -SKHO_E_NOSPACE);
	KASSERT(t, skho_ranges_encode(&rs, buf, sizeof(buf)) == (int)sizeof(want), "encode");
	KEXPECT(t, !memcmp(buf, want, sizeof(want)), "bytes %02x %02x %02x %02x %02x %02x",
		buf[0], buf[1], buf[2], buf[3], buf[4], buf[5]);
	KASSERT(t, skho_ranges_decode(want, sizeof(want), &back, NULL) == 0, "decode");
	KASSERT(t, back.nr == 2, "%u runs", back.nr);
	KEXPECT(t, !memcmp(back.r, rs.r, 2 * sizeof(*rs.r)), "decoded = encoded set");
	/* decode wants an empty set to fill */
	KEXPECT_EQ(t, skho_ranges_decode(want, sizeof(want), &back, NULL), -SKHO_E_INVAL);
	skho_ranges_free(&rs);
	skho_ranges_free(&back);
}

static void encode_refuses_sets_the_decoder_would_refuse(struct ktest *t)
{
	static const struct { u64 r[2][2]; u32 nr; const char *why; } c[] = {
		{ { { 0x1000, 0x800 } }, 1, "size not whole pages" },
		{ { { 0x1800, 0x1000 } }, 1, "start not page-aligned" },
		{ { { 0x1000, 0x1000 }, { 0x2000, 0x1000 } }, 2, "adjacent runs: one run" },
		{ { { 0x3000, 0x1000 }, { 0x1000, 0x1000 } }, 2, "descending" },
		{ { { 0x1000, 0x3000 }, { 0x2000, 0x1000 } }, 2, "overlapping" },
		{ { { 1ULL << 52, 0x1000 } }, 1, "first page at 2^52" },
		{ { { (1ULL << 52) - 0x1000, 0x2000 } }, 1, "ends beyond 2^52" },
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct skho_range r[2] = {
			{ c[i].r[0][0], c[i].r[0][1] }, { c[i].r[1][0], c[i].r[1][1] },
		};
		struct skho_ranges rs = { .r = r, .nr = c[i].nr, .cap = 2 };

		KEXPECT(t, skho_ranges_encode(&rs, NULL, 0) == -SKHO_E_INVAL, "%s", c[i].why);
	}
	{
		/* the boundary itself: the last page below 2^52 is fine */
		struct skho_range r = { (1ULL << 52) - 0x1000, 0x1000 };
		struct skho_ranges rs = { .r = &r, .nr = 1, .cap = 1 };

		KEXPECT_EQ(t, skho_ranges_encode(&rs, NULL, 0), 7);	/* 6 + 1 bytes */
	}
}

static void random_page_sets_survive_encode_then_decode(struct ktest *t)
{
	u64 s = t->seed;
	int iter;

	for (iter = 0; iter < 300; iter++) {
		struct skho_ranges rs = { 0 }, back = { 0 };
		int i, n = 1 + rnd(&s) % 40, len, again;
		u8 *buf;

		for (i = 0; i < n; i++) {
			/* random bytes anywhere below 2^52, clustered or far apart */
			u64 span = rnd(&s) % 2 ? 1ULL << 24 : 1ULL << 51;

			skho_ranges_add(&rs, rnd(&s) % span, 1 + rnd(&s) % 0x5000);
		}
		skho_ranges_normalize(&rs);
		KASSERT(t, skho_ranges_to_pages(&rs) == 0, "to_pages");
		len = skho_ranges_encode(&rs, NULL, 0);
		KASSERT(t, len >= 2 * (int)rs.nr, "%d bytes for %u runs", len, rs.nr);
		buf = malloc(len);
		again = skho_ranges_encode(&rs, buf, len);
		KEXPECT_EQ(t, again, len);
		KEXPECT_EQ(t, skho_ranges_decode(buf, len, &back, NULL), 0);
		KEXPECT_EQ(t, back.nr, rs.nr);
		KEXPECT(t, back.nr == rs.nr && !memcmp(back.r, rs.r, rs.nr * sizeof(*rs.r)),
			"iter %d: decoded set differs", iter);
		free(buf);
		skho_ranges_free(&rs);
		skho_ranges_free(&back);
		if (t->failed)
			break;
	}
}

static void more_than_2_20_runs_is_limit_error(struct ktest *t)
{
	size_t n = SKHO_MAX_RANGES + 1, i;
	u8 *buf = malloc(2 * n);
	struct skho_ranges rs = { 0 };
	struct skho_err err;

	KASSERT(t, buf, "oom");
	for (i = 0; i < n; i++) {
		buf[2 * i] = 1;		/* skip one page */
		buf[2 * i + 1] = 0;	/* one page */
	}
	/* exactly SKHO_MAX_RANGES runs: accepted */
	KEXPECT_EQ(t, skho_ranges_decode(buf, 2 * (n - 1), &rs, NULL), 0);
	KEXPECT_EQ(t, rs.nr, SKHO_MAX_RANGES);
	skho_ranges_free(&rs);
	/* one more: refused, and nothing is left allocated */
	KEXPECT_EQ(t, skho_ranges_decode(buf, 2 * n, &rs, &err), -SKHO_E_LIMIT);
	KEXPECT_EQ(t, err.code, -SKHO_E_LIMIT);
	KEXPECT(t, rs.nr == 0 && rs.r == NULL, "no runs kept");
	free(buf);
}

/* A base accessor over a 64 KiB buffer at PA 0x10000. */
static u8 arena[0x10000];

static const void *arena_map(void *priv, u64 pa, u64 len)
{
	(void)priv;
	if (pa < 0x10000 || pa - 0x10000 > sizeof(arena) || len > sizeof(arena) - (pa - 0x10000))
		return NULL;
	return arena + (pa - 0x10000);
}

static void fence_maps_only_inside_allowed_ranges(struct ktest *t)
{
	struct skho_mem base = { arena_map, NULL };
	struct skho_ranges allowed = { 0 };
	struct skho_mem_fence f;

	skho_ranges_add(&allowed, 0x12000, 0x1000);
	skho_ranges_add(&allowed, 0x13000, 0x1000);	/* merges: [12000,14000) */
	skho_ranges_add(&allowed, 0x30000, 0x1000);	/* allowed but not backed */
	skho_ranges_normalize(&allowed);
	skho_mem_fence_init(&f, &base, &allowed);
	/* inside: the base pointer comes through unchanged */
	KEXPECT(t, skho_map(&f.mem, 0x12000, 0x2000) == arena + 0x2000, "whole allowed range");
	KEXPECT(t, skho_map(&f.mem, 0x13ff8, 8) == arena + 0x3ff8, "last 8 bytes");
	/* the base could map these, the fence must not */
	KEXPECT(t, skho_map(&base, 0x11000, 8) != NULL, "precondition: base maps 0x11000");
	KEXPECT(t, skho_map(&f.mem, 0x11000, 8) == NULL, "outside every range");
	KEXPECT(t, skho_map(&f.mem, 0x13ff8, 16) == NULL, "straddles the end");
	KEXPECT(t, skho_map(&f.mem, 0x11ff8, 16) == NULL, "straddles the start");
	/* allowed by the fence, refused by the base: still NULL */
	KEXPECT(t, skho_map(&f.mem, 0x30000, 8) == NULL, "allowed but not backed");
	KEXPECT(t, skho_map(&f.mem, ~0ULL - 7, 16) == NULL, "wrapping request");
	skho_ranges_free(&allowed);
}

KTEST_MAIN("ranges",
	   KTEST_CASE(add_refuses_empty_or_wrapping_range),
	   KTEST_CASE(normalize_merges_overlapping_and_adjacent_keeps_gaps),
	   KTEST_CASE(normalize_keeps_outer_range_over_contained_one),
	   KTEST_CASE(contain_requires_whole_request_inside_one_range),
	   KTEST_CASE(contain_refuses_wrapping_request_and_empty_set),
	   KTEST_CASE(contain_after_normalize_agrees_with_byte_map),
	   KTEST_CASE(contain_agrees_with_a_linear_scan_over_many_ranges),
	   KTEST_CASE(to_pages_rounds_out_to_4k_and_merges_what_then_touches),
	   KTEST_CASE(encoding_of_the_documented_example_is_byte_exact),
	   KTEST_CASE(encode_refuses_sets_the_decoder_would_refuse),
	   KTEST_CASE(random_page_sets_survive_encode_then_decode),
	   KTEST_CASE(more_than_2_20_runs_is_limit_error),
	   KTEST_CASE(fence_maps_only_inside_allowed_ranges))
