// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Host tests: SKHO_DIGEST equals XXH64 and is independent of how input is split. */
#include "ktest.h"
#include "skho.h"

#define SANITY_LEN 2367
#define PRIME32 2654435761U

/*
 * xxHash's own sanity buffer (xxhsum's fillTestBuffer): byte i is the top
 * byte of PRIME32 * PRIME64^i.  The vectors below are the published
 * XXH64 sanity values for it (xxhsum "XXH64 sanity check"), cross-checked
 * once against the Linux kernel's lib/xxhash.c.
 */
static void fill_sanity(u8 *p, size_t len)
{
	u64 gen = PRIME32;
	size_t i;

	for (i = 0; i < len; i++) {
		p[i] = (u8)(gen >> 56);
		gen *= 11400714785074694797ULL;
	}
}

static u64 rnd(u64 *s)
{
	/* splitmix64: deterministic per-case randomness from t->seed */
	u64 z = (*s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static void empty_input_digests_to_xxh64_empty_vector(struct ktest *t)
{
	struct skho_digest d;

	/* XXH64("", 0, seed 0) == 0xEF46DB3751D8E999 (xxHash spec test vector) */
	KEXPECT_EQ(t, skho_digest_buf("", 0, 0), 0xEF46DB3751D8E999ULL);
	skho_digest_init(&d, 0);
	/* streaming with nothing fed must give the same value */
	KEXPECT_EQ(t, skho_digest_final(&d), 0xEF46DB3751D8E999ULL);
}

static void sanity_buffer_prefixes_match_published_xxh64_vectors(struct ktest *t)
{
	static const struct { size_t len; u64 seed; u64 want; } v[] = {
		/* each pair: xxhsum sanity check, seed 0 and seed PRIME32 */
		{ 0, PRIME32, 0xAC75FDA2929B17EFULL },	/* empty, seeded: seed reaches P5 path */
		{ 1, 0, 0xE934A84ADB052768ULL },	/* 1 byte: byte tail only */
		{ 1, PRIME32, 0x5014607643A9B4C3ULL },
		{ 4, 0, 0x9136A0DCA57457EEULL },	/* 4 bytes: the 32-bit tail step */
		{ 14, 0, 0x8282DCC4994E35C8ULL },	/* 8 + 4 + 2: every tail step */
		{ 14, PRIME32, 0xC3BD6BF63DEB6DF0ULL },
		{ 222, 0, 0xB641AE8CB691C174ULL },	/* 6 stripes + 30-byte tail: lane merge */
		{ 222, PRIME32, 0x20CB8AB7AE10C14AULL },
		{ SANITY_LEN, 0, 0xA82418DDEC0EA581ULL },	/* whole buffer (kernel xxh64) */
	};
	static u8 buf[SANITY_LEN];
	size_t i;

	fill_sanity(buf, sizeof(buf));
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		u64 got = skho_digest_buf(buf, v[i].len, v[i].seed);

		if (got != v[i].want)
			ktest_fail(t, __FILE__, __LINE__, "len %zu seed 0x%llx: 0x%llx != 0x%llx",
				   v[i].len, (unsigned long long)v[i].seed,
				   (unsigned long long)got, (unsigned long long)v[i].want);
	}
	/* ASCII vectors from the xxhash Python package's documentation */
	KEXPECT_EQ(t, skho_digest_buf("abc", 3, 0), 0x44BC2CF5AD770999ULL);
	KEXPECT_EQ(t, skho_digest_buf("Nobody inspects the spammish repetition", 39, 0),
		   0xFBCEA83C8A378BF1ULL);
}

static void streaming_over_any_two_way_split_equals_one_shot(struct ktest *t)
{
	static u8 buf[300];
	size_t len, cut;

	fill_sanity(buf, sizeof(buf));
	/* every length up to 300 and every cut point: covers buffered partial
	 * stripes, exact stripe boundaries and the bulk path */
	for (len = 0; len <= sizeof(buf); len += 7) {
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

	fill_sanity(buf, sizeof(buf));
	for (iter = 0; iter < 500; iter++) {
		size_t len = rnd(&s) % sizeof(buf), off = 0;
		u64 seed = rnd(&s), want = skho_digest_buf(buf, len, seed);
		struct skho_digest d;

		skho_digest_init(&d, seed);
		while (off < len) {
			size_t n = rnd(&s) % 70;	/* chunks of 0..69: below and above a stripe */

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
	u64 vals[9] = { 0x0102030405060708ULL, 0, ~0ULL, 0x3253, 7, 8, 9, 10, 11 };
	u8 le[1 + sizeof(vals)];
	size_t i, j, lead;

	/* lead 0: fill stays 8-aligned (fast path); lead 1: fill 25..31 forces
	 * the slow path across a stripe boundary */
	for (lead = 0; lead <= 1; lead++) {
		struct skho_digest d;

		le[0] = 0xAA;
		skho_digest_init(&d, 5);
		if (lead)
			skho_digest_update(&d, le, 1);
		for (i = 0; i < 9; i++) {
			for (j = 0; j < 8; j++)	/* byte j of the value is bits 8j..8j+7 */
				le[lead + i * 8 + j] = (u8)(vals[i] >> (8 * j));
			skho_digest_u64(&d, vals[i]);
		}
		KEXPECT_EQ(t, skho_digest_final(&d), skho_digest_buf(le, lead + sizeof(vals), 5));
	}
}

static void final_leaves_the_state_usable_for_more_input(struct ktest *t)
{
	static u8 buf[100];
	struct skho_digest d;

	fill_sanity(buf, sizeof(buf));
	skho_digest_init(&d, 0);
	skho_digest_update(&d, buf, 40);
	/* the digest of the first 40 bytes, and then the stream goes on */
	KEXPECT_EQ(t, skho_digest_final(&d), skho_digest_buf(buf, 40, 0));
	skho_digest_update(&d, buf + 40, 60);
	KEXPECT_EQ(t, skho_digest_final(&d), skho_digest_buf(buf, 100, 0));
}

KTEST_MAIN("digest",
	   KTEST_CASE(empty_input_digests_to_xxh64_empty_vector),
	   KTEST_CASE(sanity_buffer_prefixes_match_published_xxh64_vectors),
	   KTEST_CASE(streaming_over_any_two_way_split_equals_one_shot),
	   KTEST_CASE(streaming_over_random_many_way_split_equals_one_shot),
	   KTEST_CASE(digest_u64_feeds_eight_little_endian_bytes),
	   KTEST_CASE(final_leaves_the_state_usable_for_more_input))
