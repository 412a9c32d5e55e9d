// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* smmu-kho core: SKHO_DIGEST, the XXH64 construction, one-shot and streaming. */
#include "skho.h"

/*
 * XXH64 as specified by its reference implementation (xxhash.h, v0.8):
 * four accumulator lanes over 32-byte stripes of little-endian 64-bit words,
 * then a merge, the tail (8-, 4-, 1-byte steps) and the avalanche.  The
 * results equal XXH64(data, len, seed) on every host, whatever its byte order.
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

static inline void lanes_init(u64 v[4], u64 seed)
{
	v[0] = seed + P1 + P2;
	v[1] = seed + P2;
	v[2] = seed;
	v[3] = seed - P1;
}

/* Consume @n whole stripes at @p; returns the pointer past them. */
static const u8 *stripes(u64 v[4], const u8 *p, size_t n)
{
	u64 v0 = v[0], v1 = v[1], v2 = v[2], v3 = v[3];

	while (n--) {
		v0 = xxh_round(v0, skho_ld_le64(p));
		v1 = xxh_round(v1, skho_ld_le64(p + 8));
		v2 = xxh_round(v2, skho_ld_le64(p + 16));
		v3 = xxh_round(v3, skho_ld_le64(p + 24));
		p += 32;
	}
	v[0] = v0; v[1] = v1; v[2] = v2; v[3] = v3;
	return p;
}

/* Merge the lanes (or not, below one stripe), add the tail, avalanche. */
static u64 finish(const u64 v[4], u64 total, u64 seed, const u8 *p, size_t len)
{
	u64 h;

	if (total >= 32) {
		h = rotl64(v[0], 1) + rotl64(v[1], 7) + rotl64(v[2], 12) +
		    rotl64(v[3], 18);
		h = xxh_merge(h, v[0]);
		h = xxh_merge(h, v[1]);
		h = xxh_merge(h, v[2]);
		h = xxh_merge(h, v[3]);
	} else {
		h = seed + P5;
	}
	h += total;
	for (; len >= 8; len -= 8, p += 8) {
		h ^= xxh_round(0, skho_ld_le64(p));
		h = rotl64(h, 27) * P1 + P4;
	}
	if (len >= 4) {
		h ^= (u64)ld_le32(p) * P1;
		h = rotl64(h, 23) * P2 + P3;
		p += 4;
		len -= 4;
	}
	while (len--) {
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

void skho_digest_init(struct skho_digest *d, u64 seed)
{
	lanes_init(d->v, seed);
	d->total = 0;
	d->seed = seed;
	d->fill = 0;
}

void skho_digest_update(struct skho_digest *d, const void *data, size_t len)
{
	const u8 *p = data;
	size_t take;

	if (!len)
		return;
	d->total += len;
	if (d->fill) {
		take = 32 - d->fill;
		if (take > len)
			take = len;
		memcpy(d->buf + d->fill, p, take);
		d->fill += take;
		p += take;
		len -= take;
		if (d->fill < 32)
			return;
		stripes(d->v, d->buf, 1);
		d->fill = 0;
	}
	p = stripes(d->v, p, len / 32);
	len %= 32;
	if (len) {
		memcpy(d->buf, p, len);
		d->fill = len;
	}
}

void skho_digest_u64(struct skho_digest *d, u64 v)
{
	u64 le = skho_cpu_to_le64(v);

	if (d->fill > 24) {
		skho_digest_update(d, &le, sizeof(le));
		return;
	}
	memcpy(d->buf + d->fill, &le, sizeof(le));
	d->total += 8;
	d->fill += 8;
	if (d->fill == 32) {
		stripes(d->v, d->buf, 1);
		d->fill = 0;
	}
}

/* The digest of everything fed so far; @d stays usable for more updates. */
u64 skho_digest_final(const struct skho_digest *d)
{
	return finish(d->v, d->total, d->seed, d->buf, d->fill);
}

u64 skho_digest_buf(const void *data, size_t len, u64 seed)
{
	const u8 *p = data;
	u64 v[4];

	lanes_init(v, seed);
	p = stripes(v, p, len / 32);
	return finish(v, len, seed, p, len % 32);
}
