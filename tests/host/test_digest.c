// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Host tests: SKHO_DIGEST values, split independence, avalanche, distinctness, fallback. */
#include <stdlib.h>

#include "ktest.h"
#include "skho.h"

/*
 * digest.c a second time, under other names, with the 64x64->128 product
 * done on 32-bit halves (the path of a compiler without unsigned __int128).
 * Its constants and stripe function are visible here too.
 */
#define SKHO_DIGEST_NO_INT128
#define skho_digest_init	fb_digest_init
#define skho_digest_update	fb_digest_update
#define skho_digest_u64		fb_digest_u64
#define skho_digest_final	fb_digest_final
#define skho_digest_buf		fb_digest_buf
void fb_digest_init(struct skho_digest *d, u64 seed);
void fb_digest_update(struct skho_digest *d, const void *p, size_t len);
void fb_digest_u64(struct skho_digest *d, u64 v);
u64 fb_digest_final(const struct skho_digest *d);
u64 fb_digest_buf(const void *p, size_t len, u64 seed);
#include "digest.c"
#undef skho_digest_init
#undef skho_digest_update
#undef skho_digest_u64
#undef skho_digest_final
#undef skho_digest_buf

static u64 rnd(u64 *s)
{
	/* splitmix64: deterministic per-case randomness from t->seed */
	u64 z = (*s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* Byte i is (7i + 1) mod 256: no zero stretches, not periodic in 64. */
static void fill_pattern(u8 *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (u8)(i * 7 + 1);
}

static void fill_random(u8 *p, size_t len, u64 *s)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (u8)rnd(s);
}

static void golden_values_stay_what_docs_abi_md_defines(struct ktest *t)
{
	/*
	 * Regression guards, not independent vectors: computed once with this
	 * digest.c and, identically, with a separate Python implementation
	 * written from the definition in docs/abi.md.  The next kernel
	 * recomputes every digest the previous one handed over, so any change
	 * here is an ABI change (every stream would be refused with
	 * SKHO_E_DIGEST across a kexec between the two versions).
	 */
	static const struct { size_t len; u64 seed; u64 want; } v[] = {
		{ 0, 0, 0xF9476252AEDC499EULL },	/* no stripe: lanes, merge, length 0 */
		{ 0, 0x123456789ABCDEF0ULL, 0x74574E3404062217ULL },	/* seed reaches the lanes */
		{ 1, 0, 0x3C3403F6F9EA3889ULL },	/* one zero-padded stripe */
		{ 63, 0, 0x2E6AB9FECE5A3091ULL },	/* padded by a single byte */
		{ 64, 0, 0xE152DB8D59DE0762ULL },	/* one whole stripe, no padding (an STE) */
		{ 65, 0, 0xF2945ABA874ECFAEULL },	/* whole stripe + 1-byte padded stripe */
		{ 128, 0, 0xFA91D258D6397826ULL },	/* two whole stripes: lane chaining */
		{ 1000, 0, 0x3160A5105925482CULL },	/* 15 stripes + 40-byte tail */
		{ 1000, ~0ULL, 0x0F52EE56B0FFA07AULL },	/* all-ones seed */
	};
	static u8 buf[1000];
	size_t i;

	fill_pattern(buf, sizeof(buf));
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		u64 got = skho_digest_buf(buf, v[i].len, v[i].seed);

		if (got != v[i].want)
			ktest_fail(t, __FILE__, __LINE__, "len %zu seed 0x%llx: 0x%llx != 0x%llx",
				   v[i].len, (unsigned long long)v[i].seed,
				   (unsigned long long)got, (unsigned long long)v[i].want);
	}
	/* same procedure, ASCII input: 3 bytes in lane 0's first word */
	KEXPECT_EQ(t, skho_digest_buf("abc", 3, 0), 0xF4E1815667973D90ULL);
}

static void empty_stream_equals_empty_one_shot(struct ktest *t)
{
	struct skho_digest d;

	skho_digest_init(&d, 0);
	/* nothing fed: the streaming value is the digest of zero bytes */
	KEXPECT_EQ(t, skho_digest_final(&d), skho_digest_buf("", 0, 0));
	skho_digest_update(&d, "x", 0);
	/* a zero-length update feeds nothing */
	KEXPECT_EQ(t, skho_digest_final(&d), skho_digest_buf("", 0, 0));
}

static void streaming_over_any_two_way_split_equals_one_shot(struct ktest *t)
{
	static u8 buf[400];
	size_t len, cut;

	fill_pattern(buf, sizeof(buf));
	/* lengths 0..400 step 3 (all residues mod 64 occur) and every cut:
	 * buffered partial stripes, exact stripe boundaries, the bulk path */
	for (len = 0; len <= sizeof(buf); len += 3) {
		u64 want = skho_digest_buf(buf, len, 42);

		for (cut = 0; cut <= len; cut++) {
			struct skho_digest d;

			skho_digest_init(&d, 42);
			skho_digest_update(&d, buf, cut);
			skho_digest_update(&d, buf + cut, len - cut);
			if (skho_digest_final(&d) != want) {
				ktest_fail(t, __FILE__, __LINE__, "len %zu cut %zu", len, cut);
				return;
			}
		}
	}
}

static void streaming_over_random_many_way_split_equals_one_shot(struct ktest *t)
{
	static u8 buf[4096];
	u64 s = t->seed;
	int iter;

	fill_random(buf, sizeof(buf), &s);
	for (iter = 0; iter < 500; iter++) {
		size_t len = rnd(&s) % sizeof(buf), off = 0;
		u64 seed = rnd(&s), want = skho_digest_buf(buf, len, seed);
		struct skho_digest d;

		skho_digest_init(&d, seed);
		while (off < len) {
			/* chunks of 0..139: below, at and above a 64-byte stripe */
			size_t n = rnd(&s) % 140;

			if (n > len - off)
				n = len - off;
			skho_digest_update(&d, buf + off, n);
			off += n;
		}
		if (skho_digest_final(&d) != want) {
			ktest_fail(t, __FILE__, __LINE__, "iter %d len %zu (seed 0x%llx)",
				   iter, len, (unsigned long long)t->seed);
			return;
		}
	}
}

static void digest_u64_feeds_eight_little_endian_bytes(struct ktest *t)
{
	u64 vals[17] = { 0x0102030405060708ULL, 0, ~0ULL, 0x3253, 7, 8, 9, 10, 11,
			 12, 13, 14, 15, 16, 17, 18, 19 };
	u8 le[1 + sizeof(vals)];
	size_t i, j, lead;

	/* lead 0: fill stays 8-aligned (fast path, stripes at 8 values);
	 * lead 1: fill reaches 57..63 and forces the update path across a
	 * stripe boundary */
	for (lead = 0; lead <= 1; lead++) {
		struct skho_digest d;

		le[0] = 0xAA;
		skho_digest_init(&d, 5);
		if (lead)
			skho_digest_update(&d, le, 1);
		for (i = 0; i < 17; i++) {
			for (j = 0; j < 8; j++)	/* byte j of the value is bits 8j..8j+7 */
				le[lead + i * 8 + j] = (u8)(vals[i] >> (8 * j));
			skho_digest_u64(&d, vals[i]);
		}
		KEXPECT_EQ(t, skho_digest_final(&d), skho_digest_buf(le, lead + sizeof(vals), 5));
	}
}

static void final_leaves_the_state_usable_for_more_input(struct ktest *t)
{
	static u8 buf[200];
	struct skho_digest d;

	fill_pattern(buf, sizeof(buf));
	skho_digest_init(&d, 0);
	skho_digest_update(&d, buf, 80);
	/* the digest of the first 80 bytes (one stripe + 16 buffered) ... */
	KEXPECT_EQ(t, skho_digest_final(&d), skho_digest_buf(buf, 80, 0));
	skho_digest_update(&d, buf + 80, 120);
	/* ... and final() did not consume the buffered tail */
	KEXPECT_EQ(t, skho_digest_final(&d), skho_digest_buf(buf, 200, 0));
}

/*
 * One flip of a single input (or seed) bit must change each output bit with
 * probability 1/2.  Over @trials random inputs of @len bytes and @flips
 * random bit positions each: the mean number of changed output bits, per
 * output bit the fraction of flips that changed it.
 */
struct aval {
	u64 n;
	u64 changed;		/* sum of popcounts */
	u64 per_bit[64];
};

static void aval_add(struct aval *a, u64 diff)
{
	unsigned int o;

	a->n++;
	a->changed += (u64)__builtin_popcountll(diff);
	for (o = 0; o < 64; o++)
		a->per_bit[o] += diff >> o & 1;
}

static void aval_check(struct ktest *t, const struct aval *a, const char *what, size_t len)
{
	double mean = (double)a->changed / (double)a->n;
	unsigned int o;

	/*
	 * Random 64-bit differences: mean 32, standard deviation 4 per flip,
	 * so 4 / sqrt(n) for the mean (n >= 16000 here: 0.03).  +-0.5 is
	 * more than 15 standard deviations; a per-bit fraction has standard
	 * deviation 0.5 / sqrt(n) <= 0.004, and 0.45..0.55 is 12 of them.  A
	 * digest whose final mix leaves some output bit, or some input bit,
	 * weakly mixed lands far outside.
	 */
	if (mean < 31.5 || mean > 32.5)
		ktest_fail(t, __FILE__, __LINE__, "%s len %zu: mean %.3f bits changed", what,
			   len, mean);
	for (o = 0; o < 64; o++) {
		double f = (double)a->per_bit[o] / (double)a->n;

		if (f < 0.45 || f > 0.55) {
			ktest_fail(t, __FILE__, __LINE__,
				   "%s len %zu: output bit %u changed in %.3f of flips", what,
				   len, o, f);
			return;
		}
	}
}

static void single_bit_flips_change_half_the_output_bits(struct ktest *t)
{
	/* every tail-padding case and whole stripes, up to four stripes */
	static const size_t lens[] = { 1, 8, 17, 63, 64, 65, 130, 256 };
	static u8 buf[256];
	u64 s = t->seed;
	size_t li;
	int i, k;

	for (li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
		size_t len = lens[li];
		struct aval in = { 0 }, sd = { 0 };

		for (i = 0; i < 500; i++) {
			u64 seed = rnd(&s), h;

			fill_random(buf, len, &s);
			h = skho_digest_buf(buf, len, seed);
			for (k = 0; k < 32; k++) {
				size_t bit = rnd(&s) % (len * 8);
				u64 sbit = 1ULL << (rnd(&s) % 64);

				buf[bit / 8] ^= (u8)(1u << (bit % 8));
				aval_add(&in, h ^ skho_digest_buf(buf, len, seed));
				buf[bit / 8] ^= (u8)(1u << (bit % 8));
				aval_add(&sd, h ^ skho_digest_buf(buf, len, seed ^ sbit));
			}
		}
		aval_check(t, &in, "input bit", len);
		aval_check(t, &sd, "seed bit", len);
	}
}

/*
 * Every input bit position matters, not just on average: for each bit of a
 * 192-byte input (three stripes: first, middle, last), over 200 random
 * inputs, flipping it changes 32 output bits on average (standard deviation
 * 4 / sqrt(200) = 0.28; 29..35 is over 10 of them).  A lane or word that
 * the digest ignored or mixed weakly shows up as a position near 0.
 */
static void every_input_bit_position_reaches_the_output(struct ktest *t)
{
	enum { LEN = 192, TRIALS = 200 };
	static u32 changed[LEN * 8];
	static u8 buf[LEN];
	u64 s = t->seed;
	size_t bit;
	int i;

	memset(changed, 0, sizeof(changed));
	for (i = 0; i < TRIALS; i++) {
		u64 h;

		fill_random(buf, LEN, &s);
		h = skho_digest_buf(buf, LEN, 0);
		for (bit = 0; bit < LEN * 8; bit++) {
			buf[bit / 8] ^= (u8)(1u << (bit % 8));
			changed[bit] += (u32)__builtin_popcountll(h ^ skho_digest_buf(buf, LEN, 0));
			buf[bit / 8] ^= (u8)(1u << (bit % 8));
		}
	}
	for (bit = 0; bit < LEN * 8; bit++) {
		double mean = (double)changed[bit] / TRIALS;

		if (mean < 29 || mean > 35) {
			ktest_fail(t, __FILE__, __LINE__, "input bit %zu: mean %.2f output bits",
				   bit, mean);
			return;
		}
	}
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/*
 * Inputs that differ in structured ways all get distinct digests.  Among
 * n random 64-bit values a repeat has probability n^2 / 2^65 (< 10^-8 for
 * the ~70,000 here), so any repeat is a structural weakness.
 */
static void structured_inputs_all_digest_differently(struct ktest *t)
{
	enum { NR = 65536 + 1024 + 512 + 256 + 4 * 256 + 64 };
	u64 *h = calloc(NR, sizeof(*h));
	static u8 buf[1024];
	u64 s = t->seed;
	size_t n = 0, i, j;

	KASSERT(t, h, "calloc");
	/* every 2-byte input */
	for (i = 0; i < 65536; i++) {
		u8 two[2] = { (u8)i, (u8)(i >> 8) };

		h[n++] = skho_digest_buf(two, 2, 0);
	}
	/* zero buffers of every length 0..1024 but 2 (two zero bytes came
	 * above): only the length differs */
	memset(buf, 0, sizeof(buf));
	for (i = 0; i <= 1024; i++)
		if (i != 2)
			h[n++] = skho_digest_buf(buf, i, 0);
	/* one bit set in a 64-byte zero stripe, at every position */
	for (i = 0; i < 512; i++) {
		buf[i / 8] = (u8)(1u << (i % 8));
		h[n++] = skho_digest_buf(buf, 64, 0);
		buf[i / 8] = 0;
	}
	/* one 128-byte input under seeds 1..256 (seed 0 hashed it above) */
	for (i = 1; i <= 256; i++)
		h[n++] = skho_digest_buf(buf, 128, i);
	/*
	 * The same random words, rearranged one step after another: word 0
	 * swapped with the other word of its lane pair, with the same word of
	 * the next lane and of the next stripe, then lane 0's pair of words
	 * swapped with lane 1's.  Lanes and word slots are not interchangeable.
	 */
	for (i = 0; i < 256; i++) {
		static const struct { size_t at, len; } sw[4] = {
			{ 8, 8 }, { 16, 8 }, { 64, 8 }, { 16, 16 },
		};

		fill_random(buf, 128, &s);
		for (j = 0; j < 4; j++) {
			u8 tmp[16];

			memcpy(tmp, buf, sw[j].len);
			memcpy(buf, buf + sw[j].at, sw[j].len);
			memcpy(buf + sw[j].at, tmp, sw[j].len);
			h[n++] = skho_digest_buf(buf, 128, 0);
		}
	}
	/* stripes in the other order: stripe k of 2 moved to the front */
	for (i = 0; i < 64; i++) {
		u8 tmp[64];

		fill_random(buf, 128, &s);
		memcpy(tmp, buf, 64);
		memcpy(buf, buf + 64, 64);
		memcpy(buf + 64, tmp, 64);
		h[n++] = skho_digest_buf(buf, 128, 0);
	}
	KASSERT(t, n == NR, "%zu", n);
	qsort(h, n, sizeof(*h), cmp_u64);
	for (i = 1; i < n; i++)
		if (h[i] == h[i - 1]) {
			ktest_fail(t, __FILE__, __LINE__, "digest 0x%llx repeats",
				   (unsigned long long)h[i]);
			break;
		}
	free(h);
}

static void zero_factor_keeps_the_lane_history(struct ktest *t)
{
	static u8 a[128], b[128];
	u64 s = t->seed;
	u64 k0 = skho_cpu_to_le64(K[0]);

	/*
	 * Two inputs that differ only in their first stripe; the second stripe
	 * has w0 = K[0], so lane 0's multiplication has a zero factor.  The
	 * lane keeps its history through the "^ b" of mixk: the digests still
	 * differ.  (With a bare lo ^ hi fold lane 0 would forget stripe 1.)
	 */
	fill_random(a, 128, &s);
	memcpy(b, a, 128);
	b[8] ^= 1;		/* word 1: lane 0's history only */
	memcpy(a + 64, &k0, 8);
	memcpy(b + 64, &k0, 8);
	KEXPECT(t, skho_digest_buf(a, 128, 0) != skho_digest_buf(b, 128, 0));
}

static void portable_product_equals_the_128_bit_type(struct ktest *t)
{
	static const u64 edge[] = { 0, 1, 0xFFFFFFFFULL, 0x100000000ULL, ~0ULL,
				    0x8000000000000000ULL, 0xFFFFFFFF00000000ULL };
	static u8 buf[512];
	u64 s = t->seed;
	size_t i, j;

	/* mul128 of extreme operands: carries out of every partial product */
	for (i = 0; i < sizeof(edge) / sizeof(edge[0]); i++)
		for (j = 0; j < sizeof(edge) / sizeof(edge[0]); j++) {
			unsigned __int128 p = (unsigned __int128)edge[i] * edge[j];
			u64 hi, lo = mul128(edge[i], edge[j], &hi);

			KEXPECT_EQ(t, lo, (u64)p);
			KEXPECT_EQ(t, hi, (u64)(p >> 64));
		}
	for (i = 0; i < 20000; i++) {
		u64 x = rnd(&s), y = rnd(&s), hi, lo = mul128(x, y, &hi);
		unsigned __int128 p = (unsigned __int128)x * y;

		if (lo != (u64)p || hi != (u64)(p >> 64)) {
			ktest_fail(t, __FILE__, __LINE__, "0x%llx * 0x%llx",
				   (unsigned long long)x, (unsigned long long)y);
			return;
		}
	}
	/* and the whole digest, both builds, on random inputs and all-ones */
	for (i = 0; i < 2000; i++) {
		size_t len = rnd(&s) % sizeof(buf);
		u64 seed = rnd(&s);

		if (i == 0) {
			len = sizeof(buf);
			memset(buf, 0xFF, len);
		} else {
			fill_random(buf, len, &s);
		}
		if (skho_digest_buf(buf, len, seed) != fb_digest_buf(buf, len, seed)) {
			ktest_fail(t, __FILE__, __LINE__, "len %zu", len);
			return;
		}
	}
}

KTEST_MAIN("digest",
	   KTEST_CASE(golden_values_stay_what_docs_abi_md_defines),
	   KTEST_CASE(empty_stream_equals_empty_one_shot),
	   KTEST_CASE(streaming_over_any_two_way_split_equals_one_shot),
	   KTEST_CASE(streaming_over_random_many_way_split_equals_one_shot),
	   KTEST_CASE(digest_u64_feeds_eight_little_endian_bytes),
	   KTEST_CASE(final_leaves_the_state_usable_for_more_input),
	   KTEST_CASE(single_bit_flips_change_half_the_output_bits),
	   KTEST_CASE(every_input_bit_position_reaches_the_output),
	   KTEST_CASE(structured_inputs_all_digest_differently),
	   KTEST_CASE(zero_factor_keeps_the_lane_history),
	   KTEST_CASE(portable_product_equals_the_128_bit_type))
