// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* smmu-kho core: SKHO_DIGEST, a 4-lane multiply-fold digest, one-shot and streaming. */
#include "skho.h"

/*
 * SKHO_DIGEST; docs/abi.md ("Digests") is the normative description.
 *
 * The input is cut into 64-byte stripes of eight little-endian 64-bit words
 * w0..w7.  Four independent lanes v0..v3 each take two words per stripe
 * through one 64x64->128-bit multiplication whose halves are folded:
 *
 *	a = w[2i] ^ K[i],  b = w[2i+1] ^ v[i],  v[i] = mixk(a, b)
 *	mixk(a, b) = lo(a * b) ^ hi(a * b) ^ a ^ b
 *
 * Keeping a ^ b next to the product means that a zero factor cannot erase
 * the other operand, nor the lane's history.  The last, partial stripe is
 * padded with zero bytes; the length, mixed in at the end, tells padding
 * from data.  One product per 16 bytes (XXH64 needs four per 16 bytes) is
 * what bounds the speed; the lanes are independent, so they overlap.
 *
 * The results are the same on every host whatever its byte order, with or
 * without a 128-bit integer type.
 */

/* splitmix64 outputs 1..12 from state 0: arbitrary, reproducible constants */
static const u64 K[12] = {
	0xE220A8397B1DCDAFULL, 0x6E789E6AA1B965F4ULL, 0x06C45D188009454FULL,
	0xF88BB8A8724C81ECULL, 0x1B39896A51A8749BULL, 0x53CB9F0C747EA2EAULL,
	0x2C829ABE1F4532E1ULL, 0xC584133AC916AB3CULL, 0x3EE5789041C98AC3ULL,
	0xF3B8488C368CB0A6ULL, 0x657EECDD3CB13D09ULL, 0xC2D326E0055BDEF6ULL,
};

#define STRIPE	64

/* The 128-bit product of @a and @b: returns the low half, *@hi the high. */
#if defined(__SIZEOF_INT128__) && !defined(SKHO_DIGEST_NO_INT128)
static inline u64 mul128(u64 a, u64 b, u64 *hi)
{
	unsigned __int128 p = (unsigned __int128)a * b;

	*hi = (u64)(p >> 64);
	return (u64)p;
}
#else
/* Schoolbook over 32-bit halves, for compilers without a 128-bit type. */
static inline u64 mul128(u64 a, u64 b, u64 *hi)
{
	u64 al = (u32)a, ah = a >> 32, bl = (u32)b, bh = b >> 32;
	u64 ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
	u64 mid = (ll >> 32) + (u32)lh + (u32)hl;	/* < 3 * 2^32: no carry out */

	*hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
	return (mid << 32) | (u32)ll;
}
#endif

static inline u64 mixk(u64 a, u64 b)
{
	u64 hi, lo = mul128(a, b, &hi);

	return lo ^ hi ^ a ^ b;
}

static inline void lanes_init(u64 v[4], u64 seed)
{
	v[0] = seed ^ K[4];
	v[1] = seed ^ K[5];
	v[2] = seed ^ K[6];
	v[3] = seed ^ K[7];
}

/* Consume @n whole stripes at @p; returns the pointer past them. */
static const u8 *stripes(u64 v[4], const u8 *p, size_t n)
{
	u64 v0 = v[0], v1 = v[1], v2 = v[2], v3 = v[3];

	while (n--) {
		v0 = mixk(skho_ld_le64(p) ^ K[0], skho_ld_le64(p + 8) ^ v0);
		v1 = mixk(skho_ld_le64(p + 16) ^ K[1], skho_ld_le64(p + 24) ^ v1);
		v2 = mixk(skho_ld_le64(p + 32) ^ K[2], skho_ld_le64(p + 40) ^ v2);
		v3 = mixk(skho_ld_le64(p + 48) ^ K[3], skho_ld_le64(p + 56) ^ v3);
		p += STRIPE;
	}
	v[0] = v0;
	v[1] = v1;
	v[2] = v2;
	v[3] = v3;
	return p;
}

/* The zero-padded last stripe (@len < 64 bytes at @p), merge, length, final mix. */
static u64 finish(const u64 lanes[4], u64 total, const u8 *p, size_t len)
{
	u64 v[4] = { lanes[0], lanes[1], lanes[2], lanes[3] };
	u64 a, b, lo, hi;
	u8 last[STRIPE];

	if (len) {
		memset(last, 0, sizeof(last));
		memcpy(last, p, len);
		stripes(v, last, 1);
	}
	a = mixk(v[0] ^ K[8], v[1] ^ K[9]) ^ K[0];
	b = mixk(v[2] ^ K[10], v[3] ^ K[11]) ^ K[1] ^ total;
	lo = mul128(a, b, &hi) ^ a;
	hi ^= b;
	lo = mul128(lo ^ K[2], hi ^ K[3], &hi);
	return lo ^ hi;
}

void skho_digest_init(struct skho_digest *d, u64 seed)
{
	lanes_init(d->v, seed);
	d->total = 0;
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
		take = STRIPE - d->fill;
		if (take > len)
			take = len;
		memcpy(d->buf + d->fill, p, take);
		d->fill += take;
		p += take;
		len -= take;
		if (d->fill < STRIPE)
			return;
		stripes(d->v, d->buf, 1);
		d->fill = 0;
	}
	p = stripes(d->v, p, len / STRIPE);
	len %= STRIPE;
	if (len) {
		memcpy(d->buf, p, len);
		d->fill = len;
	}
}

void skho_digest_u64(struct skho_digest *d, u64 v)
{
	u64 le = skho_cpu_to_le64(v);

	if (d->fill > STRIPE - 8) {
		skho_digest_update(d, &le, sizeof(le));
		return;
	}
	memcpy(d->buf + d->fill, &le, sizeof(le));
	d->total += 8;
	d->fill += 8;
	if (d->fill == STRIPE) {
		stripes(d->v, d->buf, 1);
		d->fill = 0;
	}
}

/* The digest of everything fed so far; @d stays usable for more updates. */
u64 skho_digest_final(const struct skho_digest *d)
{
	return finish(d->v, d->total, d->buf, d->fill);
}

u64 skho_digest_buf(const void *data, size_t len, u64 seed)
{
	const u8 *p = data;
	u64 v[4];

	lanes_init(v, seed);
	p = stripes(v, p, len / STRIPE);
	return finish(v, len, p, len % STRIPE);
}
EXPORT_SYMBOL_NS_GPL(skho_digest_buf, "SMMU_KHO");
