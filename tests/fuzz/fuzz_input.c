// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Fuzz input format: split into FDT and memory regions; encode seeds. */
#include "fuzz_input.h"

struct rec {
	u64 pa, len;
	const u8 *data;
	u32 n;
	u32 order;		/* position in the input: later wins */
};

static u64 ld_le(const u8 *p, unsigned int n)
{
	u64 v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

static const void *fz_map(void *priv, u64 pa, u64 len)
{
	const struct fz_input *in = priv;
	u32 lo = 0, hi = in->nr_regions;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;
		const struct fz_region *r = &in->region[mid];

		if (pa < r->pa) {
			hi = mid;
		} else if (pa - r->pa >= r->len) {
			lo = mid + 1;
		} else {
			if (len > r->len - (pa - r->pa))
				return NULL;
			return r->buf + (pa - r->pa);
		}
	}
	return NULL;
}

static int cmp_rec(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	if (x->pa != y->pa)
		return x->pa < y->pa ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int cmp_order(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	return x->order < y->order ? -1 : x->order > y->order;
}

int fz_decode(struct fz_input *in, const u8 *data, size_t size)
{
	struct rec rec[FZ_MAX_RECORDS];
	u32 nr = 0, i, k;
	u64 n, total = 0;
	size_t off;

	memset(in, 0, sizeof(*in));
	in->mem.map = fz_map;
	in->mem.priv = in;
	if (size < 4)
		return -1;
	n = ld_le(data, 4);
	if (n > size - 4)
		n = size - 4;
	in->fdt_size = n;
	/* malloc(0) may return NULL: keep one byte, never part of the blob */
	in->fdt = malloc(n ? n : 1);
	if (!in->fdt)
		return -1;
	memcpy(in->fdt, data + 4, n);
	for (off = 4 + n; off + FZ_REC_HDR <= size && nr < FZ_MAX_RECORDS;) {
		struct rec *r = &rec[nr];

		r->pa = ld_le(data + off, 8);
		r->len = ld_le(data + off + 8, 4);
		n = ld_le(data + off + 12, 4);
		off += FZ_REC_HDR;
		if (n > size - off)
			n = size - off;
		r->data = data + off;
		off += n;
		if (n > r->len)
			n = r->len;
		r->n = (u32)n;
		r->order = nr;
		/* empty, wrapping or over budget: no memory */
		if (r->len && r->pa + r->len > r->pa && r->len <= FZ_MAX_MEM - total) {
			total += r->len;
			nr++;
		}
	}
	/* regions: runs of records that overlap or touch, in PA order */
	qsort(rec, nr, sizeof(rec[0]), cmp_rec);
	for (i = 0; i < nr; i = k) {
		struct fz_region *g = &in->region[in->nr_regions];
		u64 end = rec[i].pa + rec[i].len;

		for (k = i + 1; k < nr && rec[k].pa <= end; k++)
			if (rec[k].pa + rec[k].len > end)
				end = rec[k].pa + rec[k].len;
		g->pa = rec[i].pa;
		g->len = end - g->pa;
		g->buf = calloc(1, g->len);
		if (!g->buf) {
			fz_free(in);
			return -1;
		}
		in->nr_regions++;
	}
	/* fill in input order, so that a later record's bytes win */
	qsort(rec, nr, sizeof(rec[0]), cmp_order);
	for (i = 0; i < nr; i++) {
		u8 *p = (u8 *)fz_map(in, rec[i].pa, rec[i].len);
		u64 at, c, rn = rec[i].n;

		if (!p)
			continue;
		if (!rn) {
			memset(p, 0, rec[i].len);
			continue;
		}
		/* the pattern once, then the filled part doubled: stays periodic */
		memcpy(p, rec[i].data, rn);
		for (at = rn; at < rec[i].len; at += c) {
			c = at < rec[i].len - at ? at : rec[i].len - at;
			memcpy(p + at, p, c);
		}
	}
	return 0;
}

void fz_free(struct fz_input *in)
{
	u32 i;

	free(in->fdt);
	for (i = 0; i < in->nr_regions; i++)
		free(in->region[i].buf);
	in->fdt = NULL;
	in->nr_regions = 0;
}

static int put(u8 **out, size_t *len, size_t *cap, const void *p, size_t n)
{
	if (*len + n > *cap) {
		size_t c = *cap ? *cap : 4096;
		u8 *b;

		while (c < *len + n)
			c *= 2;
		b = realloc(*out, c);
		if (!b)
			return -1;
		*out = b;
		*cap = c;
	}
	memcpy(*out + *len, p, n);
	*len += n;
	return 0;
}

static void st_le(u8 *p, u64 v, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		p[i] = (u8)(v >> (8 * i));
}

int fz_put_fdt(u8 **out, size_t *len, size_t *cap, const void *fdt, u32 fdt_len)
{
	u8 hdr[4];

	st_le(hdr, fdt_len, 4);
	return put(out, len, cap, hdr, 4) ?: put(out, len, cap, fdt, fdt_len);
}

int fz_put_record(u8 **out, size_t *len, size_t *cap, u64 pa, u32 mem_len,
		  const void *p, u32 n)
{
	u8 hdr[FZ_REC_HDR];

	st_le(hdr, pa, 8);
	st_le(hdr + 8, mem_len, 4);
	st_le(hdr + 12, n, 4);
	return put(out, len, cap, hdr, sizeof(hdr)) ?: put(out, len, cap, p, n);
}
