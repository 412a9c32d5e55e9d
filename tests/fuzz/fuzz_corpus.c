// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Seed corpus for the handover fuzzers: serialized random states plus their preserved memory. */
#include <errno.h>
#include <stdlib.h>

#include "fuzz_input.h"
#include "gen.h"

/*
 * Usage: fuzz_corpus DIR [COUNT]
 *
 * Seed i is a whole kexec handover of a small random state (gen_build with
 * seed i, tests/host/lib/gen.h): the FDT the old kernel's serializer wrote
 * and, as memory records, the preserved ranges as the next kernel sees them
 * (gen_ho_prepare's forked arena): per range a repeated background entry
 * plus the entries that differ (fuzz_input.h), to keep seeds small.  Each
 * seed is checked before it is written: decoded by the fuzzers' own
 * fz_decode(), parsed and validated, every stream adopted; so the fuzzers
 * start from inputs that reach the deepest table walks.
 */

static void die(const char *what, u64 seed)
{
	fprintf(stderr, "fuzz_corpus: seed %llu: %s\n", (unsigned long long)seed, what);
	exit(1);
}

#define BLK	64	/* STE and CD size; 8 page-table descriptors */

static u64 count_blocks(const u8 *p, u64 size, const u8 *pat)
{
	u64 i, n = 0;

	for (i = 0; i + BLK <= size; i += BLK)
		n += !memcmp(p + i, pat, BLK);
	return n;
}

/*
 * Append [pa, pa + size) with contents @p as records: one background
 * record (the commonest of: zeros, the first block, the last block,
 * repeated), then one record per island of 64-byte blocks that differ
 * from it, islands closer than @gap blocks merged.
 */
static int put_range(u8 **out, size_t *len, size_t *cap, u64 pa, const u8 *p, u64 size,
		     u64 gap, u32 *nr)
{
	static const u8 zero[BLK];
	const u8 *bg = zero;
	u64 best, n, at = 0;

	if (size > 0xffffffffu)
		return -1;
	if (size % BLK) {	/* not whole entries: verbatim */
		(*nr)++;
		return fz_put_record(out, len, cap, pa, (u32)size, p, (u32)size);
	}
	best = count_blocks(p, size, zero);
	n = count_blocks(p, size, p);
	if (n > best) {
		bg = p;
		best = n;
	}
	if (count_blocks(p, size, p + size - BLK) > best)
		bg = p + size - BLK;
	if (fz_put_record(out, len, cap, pa, (u32)size, bg, bg == zero ? 0 : BLK))
		return -1;
	(*nr)++;
	while (at < size) {
		u64 start, end, same = 0;

		while (at < size && !memcmp(p + at, bg, BLK))
			at += BLK;
		if (at >= size)
			break;
		/* an island: differing blocks, with fewer than @gap equal ones between */
		start = at;
		end = at + BLK;
		for (at += BLK; at < size && same < gap; at += BLK) {
			if (memcmp(p + at, bg, BLK)) {
				end = at + BLK;
				same = 0;
			} else {
				same++;
			}
		}
		if (fz_put_record(out, len, cap, pa + start, (u32)(end - start), p + start,
				  (u32)(end - start)))
			return -1;
		(*nr)++;
		at = end;
	}
	return 0;
}

/* Append @h's preserved memory, as at most FZ_MAX_RECORDS records. */
static int put_memory(u8 **out, size_t *len, size_t *cap, const struct gen_ho *h)
{
	u64 gap;

	/* the smallest island gap (1, 2, 4, ... blocks) within the record limit */
	for (gap = 1;; gap *= 2) {
		size_t mark = *len;
		u32 i, nr = 0;

		for (i = 0; i < h->nr_ranges; i++) {
			const u8 *p = arena_ptr(h->b, h->ranges[i].pa, h->ranges[i].size);

			if (!p || put_range(out, len, cap, h->ranges[i].pa, p,
					    h->ranges[i].size, gap, &nr))
				return -1;
		}
		if (nr <= FZ_MAX_RECORDS)
			return 0;
		*len = mark;		/* too many: retry with wider islands */
	}
}

static void count_refused(void *arg, u32 sid, const struct skho_err *why)
{
	u32 *refused = arg;

	(void)sid;
	if (why) {
		fprintf(stderr, "fuzz_corpus: SID %#x refused: %s\n", sid, why->msg);
		(*refused)++;
	}
}

static u64 range_bytes(const struct gen_ho *h)
{
	u64 n = 0;
	u32 i;

	for (i = 0; i < h->nr_ranges; i++)
		n += h->ranges[i].size;
	return n;
}

/* Decode @data as the fuzzers do; every stream must be adopted. */
static void check_seed(const u8 *data, size_t size, u64 seed, u32 *streams)
{
	struct skho_handover ho;
	struct fz_input in;
	struct skho_err err;
	u32 i, refused = 0;

	if (fz_decode(&in, data, size))
		die("does not decode", seed);
	if (skho_handover_parse(in.fdt, in.fdt_size, &ho, &err))
		die(err.msg, seed);
	*streams = 0;
	for (i = 0; i < ho.nr_smmus; i++) {
		if (skho_handover_validate(&ho, i, &in.mem, count_refused, &refused, &err))
			die("validate refused streams", seed);
		*streams += ho.smmu[i].nr_streams;
	}
	skho_handover_release(&ho);
	fz_free(&in);
}

int main(int argc, char **argv)
{
	unsigned long count = argc > 2 ? strtoul(argv[2], NULL, 0) : 32;
	size_t total = 0;
	u64 seed;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR [COUNT]\n", argv[0]);
		return 2;
	}
	for (seed = 1; seed <= count; seed++) {
		struct gen_params p;
		struct gen_state *g;
		struct gen_ho h;
		struct skho_err err;
		u8 *out = NULL;
		size_t len = 0, cap = 0;
		char path[4096];
		u32 streams;
		FILE *f;

		/* small states, every STE kind: 4K pages, one seed in eight with
		 * 16K and one with 64K pages; two SMMUs in one seed of four */
		gen_params_small(&p);
		p.nr_smmus = seed % 4 == 1 ? 2 : 1;
		p.masters = 3 + seed % 5;
		p.min_sid_bits = 5;
		p.max_sid_bits = 8;
		p.max_ssid_bits = 4;
		p.max_regions = 2;
		p.max_leaves = 6;
		p.page_lg2 = seed % 8 == 3 ? 14 : seed % 8 == 7 ? 16 : 12;
		g = gen_build(seed, &p);
		if (!g)
			die("gen_build failed", seed);
		if (gen_ho_prepare(&h, g, seed, 60, &err))
			die(err.msg, seed);
		if (h.fdt_size > 0xffffffffu ||
		    fz_put_fdt(&out, &len, &cap, h.fdt, (u32)h.fdt_size) ||
		    put_memory(&out, &len, &cap, &h))
			die("out of memory", seed);
		check_seed(out, len, seed, &streams);
		if (getenv("FUZZ_CORPUS_VERBOSE"))
			printf("seed %llu: %u SMMUs, %u streams, %u ranges (%llu bytes), %zu FDT bytes, %zu input bytes\n",
			       (unsigned long long)seed, g->nr_smmus, streams, h.nr_ranges,
			       (unsigned long long)range_bytes(&h), h.fdt_size, len);
		snprintf(path, sizeof(path), "%s/seed-%03llu", argv[1], (unsigned long long)seed);
		f = fopen(path, "wb");
		if (!f || fwrite(out, 1, len, f) != len || fclose(f))
			die(strerror(errno), seed);
		total += len;
		free(out);
		gen_ho_release(&h);
		gen_free(g);
	}
	printf("fuzz_corpus: %lu seeds, %zu bytes, in %s\n", count, total, argv[1]);
	return 0;
}
