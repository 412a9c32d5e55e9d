// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Benchmark baseline: XXH64, the core's digest before SKHO_DIGEST replaced it. */
#include "bench.h"

/*
 * One-shot XXH64 as the core computed it until the multiply-fold digest
 * replaced it (kernel/core/digest.c at commit f20f4f1), kept only so that
 * `make bench` can print the before/after ratio from one run.  The core
 * never calls it.
 */
#define P1 0x9E3779B185EBCA87ULL
#define P2 0xC2B2AE3D27D4EB4FULL
#define P3 0x165667B19E3779F9ULL
#define P4 0x85EBCA77C2B2AE63ULL
#define P5 0x27D4EB2F165667C5ULL

static inline u64 rotl64(u64 x, unsigned int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline u64 xxh_round(u64 acc, u64 in)
{
	acc += in * P2;
	acc = rotl64(acc, 31);
	return acc * P1;
}

static inline u64 xxh_merge(u64 acc, u64 val)
{
	acc ^= xxh_round(0, val);
	return acc * P1 + P4;
}

static inline u32 ld_le32(const u8 *p)
{
	return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

u64 bench_xxh64(const void *data, size_t len, u64 seed)
{
	const u8 *p = data, *end = p + len;
	u64 h;

	if (len >= 32) {
		u64 v0 = seed + P1 + P2, v1 = seed + P2, v2 = seed, v3 = seed - P1;

		for (; end - p >= 32; p += 32) {
			v0 = xxh_round(v0, skho_ld_le64(p));
			v1 = xxh_round(v1, skho_ld_le64(p + 8));
			v2 = xxh_round(v2, skho_ld_le64(p + 16));
			v3 = xxh_round(v3, skho_ld_le64(p + 24));
		}
		h = rotl64(v0, 1) + rotl64(v1, 7) + rotl64(v2, 12) + rotl64(v3, 18);
		h = xxh_merge(h, v0);
		h = xxh_merge(h, v1);
		h = xxh_merge(h, v2);
		h = xxh_merge(h, v3);
	} else {
		h = seed + P5;
	}
	h += len;
	for (; end - p >= 8; p += 8) {
		h ^= xxh_round(0, skho_ld_le64(p));
		h = rotl64(h, 27) * P1 + P4;
	}
	if (end - p >= 4) {
		h ^= (u64)ld_le32(p) * P1;
		h = rotl64(h, 23) * P2 + P3;
		p += 4;
	}
	while (p < end) {
		h ^= (u64)*p++ * P5;
		h = rotl64(h, 11) * P1;
	}
	h ^= h >> 33;
	h *= P2;
	h ^= h >> 29;
	h *= P3;
	h ^= h >> 32;
	return h;
}
