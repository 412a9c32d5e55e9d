// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* make bench: parse+validate rate, FDT bytes per STE, walker rate, digest vs memcpy. */
#include <stdarg.h>
#include <stdlib.h>

#include "bench.h"
#include "gen.h"
#include "skho_handover.h"

/*
 * Every figure comes from this one run, on the same state and buffers, and
 * is printed next to its target; nothing here asserts on time.  The program
 * exits non-zero only when the measured work itself went wrong (a stream
 * refused, a walk that faults, a baseline that does not compute XXH64).
 *
 * The state: gen_params_large() (one SMMU, 65,536-SID 2-level stream table
 * with split 8, 1,024 stage-1 masters each with its own CD table, all
 * attached to one 4K-granule domain mapping 1 GiB), built as Linux 7.3
 * would have programmed it.  Two preservations of it:
 *   "1,024 STEs": the 1,024 programmed streams;
 *   "65,536 SIDs": every SID, after the 64,512 others got a copy of a
 *   random programmed stream's STE (as a master with several StreamIDs
 *   has), in L2 tables allocated where missing.
 *
 * Memory is read through two accessors: the test arena's own (a binary
 * search over its allocations) and a page hash built once over the same
 * allocations, which stands in for the kernel's O(1) linear map.
 */

#define SEED		0x5eedbe9cULL
#define NR_WALKS	(1u << 16)	/* per timed call */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "bench_core: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

/* ---- page-hash accessor ------------------------------------------------- */

struct pagemap {
	struct skho_mem mem;
	u64 *key;			/* PA >> 12, 0: empty */
	const struct arena_alloc **val;
	u64 mask;
};

static u64 pm_slot(const struct pagemap *m, u64 key)
{
	return (key * 0x9E3779B97F4A7C15ULL >> 20) & m->mask;
}

static const void *pm_map(void *priv, u64 pa, u64 len)
{
	const struct pagemap *m = priv;
	u64 key = pa >> 12, i;

	for (i = pm_slot(m, key); m->key[i]; i = (i + 1) & m->mask) {
		if (m->key[i] == key) {
			const struct arena_alloc *al = m->val[i];

			if (len > al->size - (pa - al->pa))
				return NULL;
			return al->buf + (pa - al->pa);
		}
	}
	return NULL;
}

static void pagemap_init(struct pagemap *m, const struct arena *a)
{
	u64 pages = 0, cap = 1, i, pg;
	u32 k;

	for (k = 0; k < a->nr; k++)
		if (a->a[k].buf)
			pages += (a->a[k].size + 4095) / 4096;
	while (cap < 2 * pages)
		cap <<= 1;
	m->key = calloc(cap, sizeof(*m->key));
	m->val = calloc(cap, sizeof(*m->val));
	if (!m->key || !m->val)
		die("out of memory");
	m->mask = cap - 1;
	for (k = 0; k < a->nr; k++) {
		const struct arena_alloc *al = &a->a[k];

		if (!al->buf)
			continue;	/* reservations are not readable */
		for (pg = al->pa >> 12; pg <= (al->pa + al->size - 1) >> 12; pg++) {
			for (i = pm_slot(m, pg); m->key[i]; i = (i + 1) & m->mask)
				;
			m->key[i] = pg;
			m->val[i] = al;
		}
	}
	m->mem.map = pm_map;
	m->mem.priv = m;
}

/* ---- the state ---------------------------------------------------------- */

struct preserved {
	u32 *sids;
	u32 nr;
	void *fdt;
	size_t fdt_size;
	u32 nr_ranges, ranges_bytes, nr_pgtables;
};

static void preserve(struct gen_state *g, struct preserved *pr)
{
	struct skho_smmu_state st;
	struct skho_snapshot *snap;
	struct skho_handover ho;
	struct skho_err err;
	int ret;

	gen_smmu_state(g, 0, pr->sids, pr->nr, &st);
	ret = skho_snapshot_take(&snap, &st, 1, arena_mem(g->arena), &err);
	if (ret)
		die("snapshot of %u streams: %s: %s", pr->nr, skho_strerror(ret), err.msg);
	pr->fdt_size = skho_snapshot_fdt_size(snap);
	pr->fdt = malloc(pr->fdt_size);
	if (!pr->fdt)
		die("out of memory");
	ret = skho_snapshot_to_fdt(snap, pr->fdt, pr->fdt_size, &err);
	if (ret)
		die("to_fdt: %s: %s", skho_strerror(ret), err.msg);
	skho_snapshot_free(snap);
	ret = skho_handover_parse(pr->fdt, pr->fdt_size, &ho, &err);
	if (ret)
		die("parse: %s: %s", skho_strerror(ret), err.msg);
	pr->nr_ranges = ho.smmu[0].ranges.nr;
	pr->ranges_bytes = (u32)skho_ranges_encode(&ho.smmu[0].ranges, NULL, 0);
	pr->nr_pgtables = ho.smmu[0].nr_pgtables;
	skho_handover_release(&ho);
}

/* Every SID of SMMU 0 gets an STE: copies of random programmed ones. */
static void fill_every_sid(struct gen_state *g, u64 *rng)
{
	struct gen_smmu *s = &g->smmu[0];
	u32 nr_sids = 1u << s->sid_bits, l2_bytes = 64u << s->split, idx, sid, i;
	u8 *programmed = calloc(nr_sids, 1);

	if (!programmed)
		die("out of memory");
	for (i = 0; i < s->nr_st; i++)
		programmed[s->st[i].sid] = 1;
	for (idx = 0; idx < s->nr_l1; idx++) {
		u64 l2;

		if (s->l2[idx])
			continue;
		/* arm_smmu_init_l2_strtab(): a zeroed, naturally aligned L2 table */
		l2 = arena_zalloc(g->arena, l2_bytes, l2_bytes, ARENA_SMMU);
		if (!l2 || !arena_wr64(g->arena, s->strtab_pa + idx * 8ULL,
				       SKHO_FIELD_PREP(SMMU_L1STD_SPAN, s->split + 1) |
				       (l2 & SMMU_L1STD_L2PTR)))
			die("L2 stream table %u", idx);
		s->l2[idx] = l2;
	}
	for (sid = 0; sid < nr_sids; sid++) {
		const struct gen_stream *src;
		u64 pa;
		u8 *dst;

		if (programmed[sid])
			continue;
		src = &s->st[arena_rand_below(rng, s->nr_st)];
		pa = s->l2[sid >> s->split] + (sid & ((1u << s->split) - 1)) * 64ULL;
		dst = arena_ptr(g->arena, pa, 64);
		if (!dst)
			die("STE of SID %#x", sid);
		memcpy(dst, arena_ptr(g->arena, src->ste_pa, 64), 64);
	}
	free(programmed);
}

/* ---- measured operations ------------------------------------------------ */

struct pv_ctx {
	const struct preserved *pr;
	const struct skho_mem *mem;
	bool parse_only;
};

static void count_verdict(void *arg, u32 sid, const struct skho_err *why)
{
	u32 *refused = arg;

	if (why) {
		if (!*refused)
			fprintf(stderr, "bench_core: SID %#x refused: %s\n", sid, why->msg);
		(*refused)++;
	}
}

static u64 do_parse_validate(void *arg)
{
	const struct pv_ctx *c = arg;
	struct skho_handover ho;
	struct skho_err err;
	u32 refused = 0, n;
	int ret;

	ret = skho_handover_parse(c->pr->fdt, c->pr->fdt_size, &ho, &err);
	if (ret)
		die("parse: %s: %s", skho_strerror(ret), err.msg);
	if (!c->parse_only) {
		ret = skho_handover_validate(&ho, 0, c->mem, count_verdict, &refused, &err);
		if (ret || refused)
			die("validate of %u streams: %d, %u refused", c->pr->nr, ret, refused);
	}
	n = ho.smmu[0].nr_streams;
	skho_handover_release(&ho);
	return n;
}

struct walk_ctx {
	const struct skho_pt_cfg *pt;
	struct skho_smmu smmu;
	const struct skho_mem *mem;
	const u64 *iova;
	const u32 *sid;
};

static u64 do_pt_walks(void *arg)
{
	const struct walk_ctx *c = arg;
	u64 sum = 0, pa;
	u32 i, prot, bad = 0;

	for (i = 0; i < NR_WALKS; i++) {
		bad += skho_pt_translate(c->pt, c->mem, c->iova[i], false, &pa, &prot) !=
		       SKHO_XLATE_OK;
		sum += pa;
	}
	if (bad)
		die("%u of %u walks faulted", bad, NR_WALKS);
	return sum;
}

static u64 do_translates(void *arg)
{
	const struct walk_ctx *c = arg;
	u64 sum = 0;
	u32 i, bad = 0;

	for (i = 0; i < NR_WALKS; i++) {
		struct skho_xlate x = { .sid = c->sid[i], .iova = c->iova[i] };

		skho_translate(&c->smmu, &x);
		bad += x.fault != SKHO_XLATE_OK;
		sum += x.pa;
	}
	if (bad)
		die("%u of %u translations faulted", bad, NR_WALKS);
	return sum;
}

struct pt_digest_ctx {
	const struct skho_pt_cfg *pt;
	const struct skho_mem *mem;
};

static u64 do_pt_digest(void *arg)
{
	const struct pt_digest_ctx *c = arg;
	struct skho_err err;
	u64 d;
	int ret = skho_pt_digest(c->pt, c->mem, NULL, NULL, &d, &err);

	if (ret)
		die("pt_digest: %s: %s", skho_strerror(ret), err.msg);
	return d;
}

struct buf_ctx {
	u8 *src, *dst;
	size_t len;
};

static u64 do_memcpy(void *arg)
{
	const struct buf_ctx *c = arg;

	memcpy(c->dst, c->src, c->len);
	__asm__ volatile("" : : "r"(c->dst) : "memory");
	return c->dst[c->len / 2];
}

static u64 do_digest(void *arg)
{
	const struct buf_ctx *c = arg;

	return skho_digest_buf(c->src, c->len, 0);
}

static u64 do_xxh64(void *arg)
{
	const struct buf_ctx *c = arg;

	return bench_xxh64(c->src, c->len, 0);
}

/* ---- figures ------------------------------------------------------------ */

static void pv_rows(const char *what, const struct preserved *pr,
		    const struct skho_mem *mem, const char *mem_name, bool headline)
{
	struct pv_ctx c = { .pr = pr, .mem = mem };
	struct bench_result r = bench_run(do_parse_validate, &c, pr->nr);
	char fig[96];

	snprintf(fig, sizeof(fig), "parse+validate, %s [%s]", what, mem_name);
	bench_row(fig, r.median, "STEs/s", &r, headline ? ">= 1,000,000" : NULL,
		  r.median >= 1e6);
}

static void fdt_row(const char *what, const struct preserved *pr)
{
	char fig[96];
	double per = (double)pr->fdt_size / pr->nr;

	snprintf(fig, sizeof(fig), "FDT bytes per STE, %s", what);
	bench_row(fig, per, "B/STE", NULL, "<= 96", per <= 96);
	printf("      = %zu bytes: %u streams x %zu, %u page runs in %u bytes, %u tables x %zu, header+names\n",
	       pr->fdt_size, pr->nr, sizeof(struct skho_abi_stream), pr->nr_ranges,
	       pr->ranges_bytes, pr->nr_pgtables, sizeof(struct skho_abi_pgtable));
}

static void digest_rows(size_t len, const char *name, u8 *src, u8 *dst)
{
	struct buf_ctx c = { .src = src, .dst = dst, .len = len };
	struct bench_item it[3] = {
		{ .fn = do_memcpy, .arg = &c, .ops = (double)len / 1e9 },
		{ .fn = do_digest, .arg = &c, .ops = (double)len / 1e9 },
		{ .fn = do_xxh64, .arg = &c, .ops = (double)len / 1e9 },
	};
	struct bench_result q;
	char fig[96];

	bench_run_many(it, 3);
	snprintf(fig, sizeof(fig), "memcpy, %s", name);
	bench_row(fig, it[0].r.median, "GB/s", &it[0].r, NULL, 0);
	snprintf(fig, sizeof(fig), "skho_digest_buf, %s", name);
	bench_row(fig, it[1].r.median, "GB/s", &it[1].r, NULL, 0);
	snprintf(fig, sizeof(fig), "XXH64 (former digest), %s", name);
	bench_row(fig, it[2].r.median, "GB/s", &it[2].r, NULL, 0);
	/* ratios rep by rep (interleaved runs), then their median */
	q = bench_ratio(&it[1], &it[0]);
	snprintf(fig, sizeof(fig), "digest / memcpy bandwidth, %s (after)", name);
	bench_row(fig, 100 * q.median, "%", &q, ">= 50%", q.median >= 0.5);
	q = bench_ratio(&it[2], &it[0]);
	snprintf(fig, sizeof(fig), "XXH64 / memcpy bandwidth, %s (before)", name);
	bench_row(fig, 100 * q.median, "%", &q, NULL, 0);
	q = bench_ratio(&it[1], &it[2]);
	snprintf(fig, sizeof(fig), "digest / XXH64 speed, %s", name);
	bench_row(fig, q.median, "x", &q, NULL, 0);
}

/* The load average, so that a reader can judge how busy the machine was. */
static void print_load(const char *when)
{
	char buf[128] = "?";
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			snprintf(buf, sizeof(buf), "?\n");
		fclose(f);
	}
	printf("load average %s: %s", when, buf);
}

int main(void)
{
	struct preserved few = { 0 }, all = { 0 };
	struct gen_params p;
	struct gen_state *g;
	struct pagemap pm;
	struct walk_ctx w;
	struct pt_digest_ctx pd;
	struct bench_result r;
	const struct gen_pt *pt;
	u64 rng = SEED, *iova, t0;
	u32 *sid, i, nr_sids;
	u8 *src, *dst;
	size_t big = 64u << 20;

	/* the baseline must be XXH64: published vectors of the empty input and "abc" */
	if (bench_xxh64("", 0, 0) != 0xEF46DB3751D8E999ULL ||
	    bench_xxh64("abc", 3, 0) != 0x44BC2CF5AD770999ULL)
		die("bench_xxh64 does not compute XXH64");

	t0 = (u64)(bench_now() * 1e3);
	gen_params_large(&p);
	g = gen_build(SEED, &p);
	if (!g || g->nr_smmus != 1 || !g->smmu[0].two_level || g->smmu[0].nr_pt != 1)
		die("gen_build(large) did not give one 2-level SMMU with one shared table");
	pt = g->smmu[0].pt[0];
	few.nr = g->smmu[0].nr_st;
	few.sids = malloc(few.nr * sizeof(u32));
	nr_sids = 1u << g->smmu[0].sid_bits;
	all.nr = nr_sids;
	all.sids = malloc(nr_sids * sizeof(u32));
	iova = malloc(NR_WALKS * sizeof(*iova));
	sid = malloc(NR_WALKS * sizeof(*sid));
	src = malloc(big);
	dst = malloc(big);
	if (!few.sids || !all.sids || !iova || !sid || !src || !dst)
		die("out of memory");
	for (i = 0; i < few.nr; i++)
		few.sids[i] = g->smmu[0].st[i].sid;
	preserve(g, &few);		/* before the fill: only these STEs exist */
	fill_every_sid(g, &rng);
	for (i = 0; i < nr_sids; i++)
		all.sids[i] = i;
	preserve(g, &all);
	pagemap_init(&pm, g->arena);

	printf("smmu-kho core benchmarks: -O2 core (build/opt/libskho.a), median of %d runs of >= %.0f ms after a warm-up\n",
	       BENCH_REPS, BENCH_MIN_SECONDS * 1e3);
	printf("state: gen_params_large seed %#llx, %u-SID 2-level stream table (split %u), %u S1 masters with own CD tables,\n"
	       "       one S1 table (4K granule, start level %u, ias %u) mapping %llu MiB in %u leaves, %u arena allocations; set up in %llu ms\n",
	       (unsigned long long)SEED, nr_sids, g->smmu[0].split, few.nr,
	       pt->cfg.start_level, pt->cfg.ias,
	       (unsigned long long)(p.shared_s1_bytes >> 20), pt->nr_leaf, g->arena->nr,
	       (unsigned long long)((u64)(bench_now() * 1e3) - t0));
	printf("memory: [hash] page hash over the arena (O(1), like the kernel's linear map), [arena] the tests' binary search\n");
	printf("spread: (max - min) / median of the runs; targets are printed, never asserted\n");
	print_load("at start");

	bench_header("(a) parse + validate of a handover (every stream adopted)");
	pv_rows("65,536 SIDs", &all, &pm.mem, "hash", true);
	pv_rows("65,536 SIDs", &all, arena_mem(g->arena), "arena", false);
	pv_rows("1,024 STEs + 1 GiB table", &few, &pm.mem, "hash", true);
	pv_rows("1,024 STEs + 1 GiB table", &few, arena_mem(g->arena), "arena", false);
	{
		struct pv_ctx c = { .pr = &all, .parse_only = true };

		r = bench_run(do_parse_validate, &c, all.nr);
		bench_row("  of which parse alone, 65,536 SIDs", r.median, "STEs/s", &r, NULL, 0);
	}
	pd.pt = &pt->cfg;
	pd.mem = &pm.mem;
	r = bench_run(do_pt_digest, &pd, 1);
	bench_row("  of which 1 GiB table walk+digest [hash]", 1e3 / r.median, "ms", &r, NULL, 0);

	bench_header("(b) FDT size");
	fdt_row("65,536 SIDs", &all);
	fdt_row("1,024 STEs + 1 GiB table", &few);

	bench_header("(c) walker: random IOVAs over the 1 GiB mapping, reads");
	for (i = 0; i < NR_WALKS; i++) {
		u64 page = arena_rand_below(&rng, p.shared_s1_bytes >> 12);

		/* gen maps the 1 GiB at IOVA 4 GiB (build_large_smmu) */
		iova[i] = (1ULL << 32) + (page << 12) + arena_rand_below(&rng, 4096);
		sid[i] = (u32)arena_rand_below(&rng, nr_sids);
	}
	w.pt = &pt->cfg;
	w.iova = iova;
	w.sid = sid;
	w.smmu = g->smmu[0].hw;
	w.mem = &pm.mem;
	w.smmu.mem = &pm.mem;
	r = bench_run(do_pt_walks, &w, NR_WALKS);
	bench_row("skho_pt_translate, 4-level 4K walks [hash]", r.median, "walks/s", &r,
		  ">= 10,000,000", r.median >= 1e7);
	r = bench_run(do_translates, &w, NR_WALKS);
	/* No target: STE + CD lookups on top of the walk the target is for. */
	bench_row("skho_translate end to end, random SIDs [hash]", r.median, "walks/s", &r,
		  NULL, 0);
	w.mem = arena_mem(g->arena);
	w.smmu.mem = arena_mem(g->arena);
	r = bench_run(do_pt_walks, &w, NR_WALKS);
	bench_row("skho_pt_translate, 4-level 4K walks [arena]", r.median, "walks/s", &r,
		  NULL, 0);
	r = bench_run(do_translates, &w, NR_WALKS);
	bench_row("skho_translate end to end, random SIDs [arena]", r.median, "walks/s", &r,
		  NULL, 0);

	bench_header("(d) digest next to memcpy, same buffer (random bytes)");
	printf("  (GB/s of buffer: memcpy reads and writes each byte, the digests only read it)\n");
	for (i = 0; i < big / 8; i++) {
		u64 v = arena_rand64(&rng);

		memcpy(src + i * 8ULL, &v, 8);
	}
	memset(dst, 0, big);
	digest_rows(1u << 20, "1 MiB", src, dst);
	digest_rows(big, "64 MiB", src, dst);
	print_load("at end");

	free(src);
	free(dst);
	free(iova);
	free(sid);
	free(few.sids);
	free(all.sids);
	free(few.fdt);
	free(all.fdt);
	free(pm.key);
	free(pm.val);
	gen_free(g);
	return 0;
}
