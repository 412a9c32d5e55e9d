// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* The reference walker agrees with the generator's shadow model on random valid states. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gen.h"
#include "ktest.h"

/*
 * Every expected value below comes from the shadow model in gen.c, which
 * encodes the SMMUv3 architecture (IHI 0070: 5.1-5.4 structures, 7.3 event
 * causes) and the Linux 7.3 programming, never from the walker under test.
 * A failure prints the state's seed; SKHO_TEST_SEED=<seed> replays it.
 */

#define NR_SMALL_STATES	4

struct chk {
	struct ktest *t;
	u64 seed;
	u64 n;
	u64 rng;
};

/* Mismatches by (walker fault, shadow fault), to summarize a failing case. */
struct mismatch {
	enum skho_fault got, want;
	u64 n;
};
static struct mismatch mism[32];
static u32 nr_mism;

static void mism_add(enum skho_fault got, enum skho_fault want)
{
	u32 i;

	for (i = 0; i < nr_mism; i++)
		if (mism[i].got == got && mism[i].want == want) {
			mism[i].n++;
			return;
		}
	if (nr_mism < 32)
		mism[nr_mism++] = (struct mismatch){ got, want, 1 };
}

static void mism_report(void)
{
	u32 i;

	for (i = 0; i < nr_mism; i++)
		ktest_diag("mismatch: walker %s where the shadow says %s: %" PRIu64 " times",
			   skho_fault_name(mism[i].got), skho_fault_name(mism[i].want), mism[i].n);
	nr_mism = 0;
}

static const char *f_name(enum skho_fault f)
{
	return skho_fault_name(f);
}

/* One access: walker vs shadow. */
static void check_access(struct chk *c, const struct gen_state *g, const struct gen_ctx *ctx,
			 u64 iova, bool write)
{
	struct skho_xlate x = { .sid = ctx->sid, .ssid = ctx->ssid, .ssv = ctx->ssv,
				.write = write, .iova = iova };
	struct skho_xlate e;

	gen_ctx_expect(ctx, iova, write, &e);
	skho_translate(&g->smmu[ctx->smmu].hw, &x);
	c->n++;
	if (x.fault != e.fault || x.fault_stage != e.fault_stage ||
	    (e.fault == SKHO_XLATE_OK && (x.pa != e.pa || x.prot != e.prot)))
		mism_add(x.fault, e.fault);
	if (x.fault != e.fault || x.fault_stage != e.fault_stage ||
	    (e.fault == SKHO_XLATE_OK && (x.pa != e.pa || x.prot != e.prot)))
		ktest_fail(c->t, __FILE__, __LINE__,
			   "seed 0x%" PRIx64 " smmu %u sid 0x%x %s0x%x (%s) iova 0x%" PRIx64
			   " %s: walker %s/s%u pa 0x%" PRIx64 " prot %u, shadow %s/s%u pa 0x%"
			   PRIx64 " prot %u", c->seed, ctx->smmu, ctx->sid,
			   ctx->ssv ? "ssid " : "no-ssid ", ctx->ssid,
			   ctx->st ? gen_kind_name(ctx->st->kind) : "unprogrammed", iova,
			   write ? "write" : "read", f_name(x.fault), x.fault_stage, x.pa, x.prot,
			   f_name(e.fault), e.fault_stage, e.pa, e.prot);
}

/* The table a context's IOVAs go through first (NULL: full bypass). */
static const struct gen_pt *ctx_first_pt(const struct gen_ctx *c)
{
	return c->s1 ? c->s1 : c->s2;
}

/* Every leaf of the context's first-stage table, reads and writes. */
static void check_ctx_leaves(struct chk *c, const struct gen_state *g, const struct gen_ctx *ctx)
{
	const struct gen_pt *pt = ctx_first_pt(ctx);
	u32 i;

	if (ctx->fault != SKHO_XLATE_OK)
		return;
	if (!pt) {	/* bypass: pa == iova, any address */
		for (i = 0; i < 8; i++) {
			u64 iova = arena_rand64(&c->rng) & ((1ULL << 40) - 1);

			check_access(c, g, ctx, iova, i & 1);
		}
		return;
	}
	for (i = 0; i < pt->nr_leaf; i++) {
		const struct gen_leaf *l = &pt->leaf[i];
		u64 off = arena_rand_below(&c->rng, l->size);
		u64 gran = 1ULL << pt->cfg.granule_lg2;

		check_access(c, g, ctx, l->iova + off, false);
		check_access(c, g, ctx, l->iova + off, true);
		if (l->size > gran) {	/* a block: its first and last page too */
			check_access(c, g, ctx, l->iova, false);
			check_access(c, g, ctx, l->iova + l->size - 1, true);
		}
	}
}

static void check_ctx_unmapped(struct chk *c, const struct gen_state *g, const struct gen_ctx *ctx)
{
	const struct gen_pt *pt = ctx_first_pt(ctx);
	u32 i;

	for (i = 0; i < 6; i++) {
		u64 iova = pt ? gen_pt_unmapped(pt, &c->rng) : arena_rand64(&c->rng) >> 24;

		if (iova == ~0ULL)
			continue;
		check_access(c, g, ctx, iova, i & 1);
	}
}

static void build_small(struct ktest *t, u64 seed, struct gen_state **out)
{
	struct gen_params p;

	gen_params_small(&p);
	*out = gen_build(seed, &p);
	if (!*out)
		ktest_fail(t, __FILE__, __LINE__, "gen_build(seed 0x%" PRIx64 ") failed", seed);
}

static u64 state_seed(const struct ktest *t, unsigned int i)
{
	return t->seed * 1000003ULL + i;
}

/* Leaves: every mapped leaf of every (SID, SSID) reached through the walker. */
static void walker_translates_every_mapped_leaf_as_programmed(struct ktest *t)
{
	unsigned int i;
	u64 total = 0;

	for (i = 0; i < NR_SMALL_STATES; i++) {
		struct chk c = { .t = t, .seed = state_seed(t, i) };
		struct gen_ctx ctx[64];
		struct gen_state *g;
		u32 si, s, k, n;

		c.rng = c.seed;
		build_small(t, c.seed, &g);
		KASSERT(t, g);
		for (si = 0; si < g->nr_smmus; si++)
			for (s = 0; s < g->smmu[si].nr_st; s++) {
				n = gen_stream_ctxs(g, si, &g->smmu[si].st[s], ctx, 64);
				for (k = 0; k < n; k++)
					check_ctx_leaves(&c, g, &ctx[k]);
			}
		total += c.n;
		gen_free(g);
	}
	ktest_diag("%" PRIu64 " mapped accesses over %u states", total, NR_SMALL_STATES);
	/* a small state maps hundreds of leaves per SMMU: far more than this */
	KEXPECT(t, total > 1000, "only %" PRIu64 " accesses checked", total);
	mism_report();
}

/* Misses: IOVAs next to mappings and random ones fault as the shadow says. */
static void walker_faults_unmapped_iovas_like_the_shadow(struct ktest *t)
{
	unsigned int i;
	u64 total = 0;

	for (i = 0; i < NR_SMALL_STATES; i++) {
		struct chk c = { .t = t, .seed = state_seed(t, i) };
		struct gen_ctx ctx[64];
		struct gen_state *g;
		u32 si, s, k, n;

		c.rng = c.seed ^ 0x77;
		build_small(t, c.seed, &g);
		KASSERT(t, g);
		for (si = 0; si < g->nr_smmus; si++)
			for (s = 0; s < g->smmu[si].nr_st; s++) {
				n = gen_stream_ctxs(g, si, &g->smmu[si].st[s], ctx, 64);
				for (k = 0; k < n; k++)
					if (ctx[k].fault == SKHO_XLATE_OK)
						check_ctx_unmapped(&c, g, &ctx[k]);
			}
		total += c.n;
		gen_free(g);
	}
	KEXPECT(t, total > 100, "only %" PRIu64 " accesses checked", total);
	mism_report();
}

/*
 * Configuration faults: unprogrammed and out-of-range SIDs, SubstreamIDs
 * on every kind of STE, invalid CDs and L1CDs (IHI 0070 7.3.3-7.3.11).
 */
static void walker_reports_stream_and_substream_faults_per_spec(struct ktest *t)
{
	unsigned int i;

	for (i = 0; i < NR_SMALL_STATES; i++) {
		struct chk c = { .t = t, .seed = state_seed(t, i) };
		struct gen_ctx ctx[64];
		struct gen_state *g;
		u32 si, s, k, n;

		c.rng = c.seed ^ 0x99;
		build_small(t, c.seed, &g);
		KASSERT(t, g);
		for (si = 0; si < g->nr_smmus; si++) {
			const struct gen_smmu *sm = &g->smmu[si];

			for (s = 0; s < sm->nr_st; s++) {
				n = gen_stream_ctxs(g, si, &sm->st[s], ctx, 64);
				for (k = 0; k < n; k++)
					if (ctx[k].fault != SKHO_XLATE_OK) {
						check_access(&c, g, &ctx[k], 0x1000, false);
						check_access(&c, g, &ctx[k], 0x2345678, true);
					}
			}
			/* unprogrammed SIDs: Linux's abort STEs, or no L2 table */
			for (k = 0; k < 200; k++) {
				u32 sid = (u32)arena_rand_below(&c.rng, 1ULL << sm->sid_bits);
				struct gen_ctx one;

				gen_ctx_get(g, si, sid, k & 1, 0, &one);
				if (!one.st)
					check_access(&c, g, &one, 0x4000, false);
			}
			/* beyond SMMU_STRTAB_BASE_CFG.LOG2SIZE */
			for (k = 0; k < 4; k++) {
				u32 sid = (1u << sm->sid_bits) + (u32)arena_rand_below(&c.rng, 1000);
				struct gen_ctx one;

				gen_ctx_get(g, si, sid, false, 0, &one);
				check_access(&c, g, &one, 0x4000, false);
			}
		}
		gen_free(g);
	}
	mism_report();
}

struct walk_rec {
	struct gen_leaf *run;
	u32 nr_run, cap_run;
	struct skho_range *tbl;
	u32 nr_tbl, cap_tbl;
};

static int rec_run(void *arg, u64 iova, u64 pa, u64 size, u32 prot)
{
	struct walk_rec *w = arg;

	if (w->nr_run == w->cap_run) {
		w->cap_run = w->cap_run ? 2 * w->cap_run : 64;
		w->run = realloc(w->run, w->cap_run * sizeof(*w->run));
		if (!w->run)
			abort();
	}
	w->run[w->nr_run++] = (struct gen_leaf){ .iova = iova, .pa = pa, .size = size,
						 .prot = prot };
	return 0;
}

static int rec_table(void *arg, u64 pa, u64 size, unsigned int level)
{
	struct walk_rec *w = arg;

	(void)level;
	if (w->nr_tbl == w->cap_tbl) {
		w->cap_tbl = w->cap_tbl ? 2 * w->cap_tbl : 64;
		w->tbl = realloc(w->tbl, w->cap_tbl * sizeof(*w->tbl));
		if (!w->tbl)
			abort();
	}
	w->tbl[w->nr_tbl++] = (struct skho_range){ pa, size };
	return 0;
}

static int range_cmp(const void *a, const void *b)
{
	const struct skho_range *x = a, *y = b;

	return x->pa < y->pa ? -1 : x->pa > y->pa;
}

/* skho_pt_walk over one table equals the shadow's runs and table pages. */
static void check_pt_walk(struct ktest *t, u64 seed, const struct gen_state *g,
			  const struct gen_pt *pt)
{
	struct walk_rec w = { 0 };
	struct skho_pt_visitor v = { .table = rec_table, .run = rec_run, .arg = &w };
	struct gen_ipa_mem im;
	const struct skho_mem *mem = arena_mem(g->arena);
	struct gen_leaf *exp;
	struct skho_err err = { 0 };
	struct skho_range *pages;
	u32 n, i;
	int rc;

	if (pt->vm) {
		gen_ipa_mem_init(&im, pt->vm, g->arena);
		mem = &im.mem;
	}
	rc = skho_pt_walk(&pt->cfg, mem, &v, &err);
	KEXPECT(t, rc == 0, "seed 0x%" PRIx64 " table 0x%" PRIx64 ": %d %s", seed,
		pt->cfg.root, rc, err.msg);
	n = gen_pt_runs(pt, &exp);
	KEXPECT(t, w.nr_run == n, "seed 0x%" PRIx64 " table 0x%" PRIx64 ": %u runs, shadow %u",
		seed, pt->cfg.root, w.nr_run, n);
	for (i = 0; i < n && i < w.nr_run; i++)
		if (memcmp(&w.run[i], &exp[i], offsetof(struct gen_leaf, level))) {
			ktest_fail(t, __FILE__, __LINE__, "seed 0x%" PRIx64 " table 0x%" PRIx64
				   " run %u: walker [0x%" PRIx64 "+0x%" PRIx64 "->0x%" PRIx64
				   " p%u], shadow [0x%" PRIx64 "+0x%" PRIx64 "->0x%" PRIx64 " p%u]",
				   seed, pt->cfg.root, i, w.run[i].iova, w.run[i].size,
				   w.run[i].pa, w.run[i].prot, exp[i].iova, exp[i].size,
				   exp[i].pa, exp[i].prot);
			break;
		}
	/* each table page the builder allocated is visited once, nothing else */
	pages = malloc((pt->nr_page + 1) * sizeof(*pages));
	KASSERT(t, pages);
	memcpy(pages, pt->page, pt->nr_page * sizeof(*pages));
	for (i = 0; i < w.nr_tbl; i++)
		if (pt->vm)
			w.tbl[i].pa = w.tbl[i].pa - pt->vm->ram_ipa + pt->vm->ram_pa;
	qsort(pages, pt->nr_page, sizeof(*pages), range_cmp);
	qsort(w.tbl, w.nr_tbl, sizeof(*w.tbl), range_cmp);
	KEXPECT(t, w.nr_tbl == pt->nr_page, "seed 0x%" PRIx64 " table 0x%" PRIx64
		": %u tables visited, %u allocated", seed, pt->cfg.root, w.nr_tbl, pt->nr_page);
	for (i = 0; i < w.nr_tbl && i < pt->nr_page; i++)
		if (w.tbl[i].pa != pages[i].pa || w.tbl[i].size > pages[i].size) {
			ktest_fail(t, __FILE__, __LINE__, "seed 0x%" PRIx64 " table page %u: walker"
				   " 0x%" PRIx64 "+0x%" PRIx64 ", allocated 0x%" PRIx64 "+0x%" PRIx64,
				   seed, i, w.tbl[i].pa, w.tbl[i].size, pages[i].pa, pages[i].size);
			break;
		}
	free(pages);
	free(exp);
	free(w.run);
	free(w.tbl);
}

static void pt_walk_enumerates_exactly_the_shadow_runs_and_tables(struct ktest *t)
{
	unsigned int i;
	u32 tables = 0;

	for (i = 0; i < NR_SMALL_STATES; i++) {
		u64 seed = state_seed(t, i);
		struct gen_state *g;
		u32 si, k;

		build_small(t, seed, &g);
		KASSERT(t, g);
		for (si = 0; si < g->nr_smmus; si++)
			for (k = 0; k < g->smmu[si].nr_pt; k++, tables++)
				check_pt_walk(t, seed, g, g->smmu[si].pt[k]);
		gen_free(g);
	}
	KEXPECT(t, tables > 10, "only %u tables", tables);
}

/*
 * The generator itself: over a few states the shadow must produce every
 * outcome a valid Linux state can (else the checks above prove less).
 */
static void generator_covers_every_reachable_outcome(struct ktest *t)
{
	static const struct { enum skho_fault f; u8 stage; } want[] = {
		{ SKHO_XLATE_OK, 0 }, { SKHO_XLATE_ABORT, 0 }, { SKHO_C_BAD_STREAMID, 0 },
		{ SKHO_C_BAD_SUBSTREAMID, 0 }, { SKHO_F_STREAM_DISABLED, 0 },
		{ SKHO_C_BAD_CD, 0 }, { SKHO_F_TRANSLATION, 1 }, { SKHO_F_TRANSLATION, 2 },
		{ SKHO_F_PERMISSION, 1 }, { SKHO_F_PERMISSION, 2 },
	};
	bool seen[sizeof(want) / sizeof(want[0])] = { false };
	u32 kinds[GEN_STE__COUNT] = { 0 }, two_level = 0, linear = 0, concat = 0;
	u32 gran[17] = { 0 }, cdfmt[3] = { 0 }, shared = 0, id_dups = 0;
	unsigned int i, j;

	for (i = 0; i < 12; i++) {
		u64 seed = state_seed(t, i), rng = seed;
		struct gen_ctx ctx[64];
		struct gen_state *g;
		u32 si, s, k, n, q;

		build_small(t, seed, &g);
		KASSERT(t, g);
		for (si = 0; si < g->nr_smmus; si++) {
			const struct gen_smmu *sm = &g->smmu[si];

			two_level += sm->two_level;
			linear += !sm->two_level;
			for (k = 0; k < sm->nr_pt; k++) {
				const struct gen_pt *pk = sm->pt[k];
				u32 o, q2;

				gran[pk->cfg.granule_lg2]++;
				concat += pk->cfg.nr_concat > 1;
				/* xa_alloc/ida_alloc_range(1, ...): never 0 for the host */
				id_dups += !pk->vm && pk->id == 0;
				for (o = si; o < g->nr_smmus; o++)
					for (q2 = 0; q2 < g->smmu[o].nr_pt; q2++) {
						const struct gen_pt *po = g->smmu[o].pt[q2];

						if (po == pk || (o == si && q2 <= k) || pk->vm || po->vm ||
						    po->id != pk->id || po->cfg.stage != pk->cfg.stage)
							continue;
						/* same ASID anywhere, same VMID on one SMMU */
						id_dups += pk->cfg.stage == SKHO_STAGE1 || o == si;
					}
			}
			for (k = 0; k < sm->nr_cdt; k++)
				cdfmt[sm->cdt[k]->cdmax ? sm->cdt[k]->fmt : 0]++;
			for (s = 0; s < sm->nr_st; s++) {
				kinds[sm->st[s].kind]++;
				for (k = 0; k < s; k++)
					shared += sm->st[k].s2 && sm->st[k].s2 == sm->st[s].s2 &&
						  sm->st[k].master != sm->st[s].master;
				n = gen_stream_ctxs(g, si, &sm->st[s], ctx, 64);
				for (k = 0; k < n; k++)
					for (q = 0; q < 16; q++) {
						const struct gen_pt *pt = ctx_first_pt(&ctx[k]);
						struct skho_xlate e;
						u64 iova = arena_rand64(&rng) >> 30;

						if (pt && pt->nr_leaf && (q & 1)) {
							const struct gen_leaf *l =
								&pt->leaf[arena_rand_below(&rng, pt->nr_leaf)];

							iova = l->iova;
						}
						gen_ctx_expect(&ctx[k], iova, q & 2, &e);
						for (j = 0; j < sizeof(want) / sizeof(want[0]); j++)
							seen[j] |= want[j].f == e.fault &&
								   want[j].stage == e.fault_stage;
					}
			}
			for (k = 0; k < 64; k++) {
				struct gen_ctx one;
				struct skho_xlate e;

				gen_ctx_get(g, si, (u32)arena_rand64(&rng) >> (32 - sm->sid_bits - 1),
					    false, 0, &one);
				gen_ctx_expect(&one, 0, false, &e);
				for (j = 0; j < sizeof(want) / sizeof(want[0]); j++)
					seen[j] |= want[j].f == e.fault && !e.fault_stage;
			}
		}
		gen_free(g);
	}
	for (j = 0; j < sizeof(want) / sizeof(want[0]); j++)
		KEXPECT(t, seen[j], "no %s at stage %u in 12 states", f_name(want[j].f), want[j].stage);
	for (j = 0; j < GEN_STE__COUNT; j++)
		KEXPECT(t, kinds[j] > 0, "no %s STE", gen_kind_name(j));
	/* two-level and linear stream tables, 4K/16K/64K tables, concatenated S2 */
	KEXPECT(t, two_level && linear, "%u two-level, %u linear", two_level, linear);
	KEXPECT(t, gran[12] && gran[14] && gran[16], "granules %u/%u/%u", gran[12], gran[14],
		gran[16]);
	KEXPECT(t, concat > 0, "no concatenated stage-2 start table");
	/* CD tables: linear, 2-level 4K leaves, 2-level 64K leaves */
	KEXPECT(t, cdfmt[0] && cdfmt[1] && cdfmt[2], "CD formats %u/%u/%u", cdfmt[0], cdfmt[1],
		cdfmt[2]);
	KEXPECT(t, shared > 0, "no domain shared between masters");
	KEXPECT_EQ(t, id_dups, 0);	/* ASIDs global, VMIDs per SMMU: never reused while live */
	ktest_diag("STEs abort %u bypass %u s1 %u s2 %u nested %u; strtab 2lvl %u linear %u",
		   kinds[0], kinds[1], kinds[2], kinds[3], kinds[4], two_level, linear);
}

/*
 * The arena: map() only inside one backed allocation, fresh memory poisoned,
 * reservations unreadable, and a fork holds exactly the requested ranges and
 * tagged allocations at the same PAs.
 */
static void arena_maps_only_inside_one_allocation_and_forks_at_same_pas(struct ktest *t)
{
	struct arena *a = arena_new(t->seed, 40), *b;
	const struct skho_mem *m;
	struct skho_range r[2];
	u64 x, y, z, res;
	u8 *p;

	KASSERT(t, a);
	m = arena_mem(a);
	/* a base well above 0 (>= 4 GiB) and inside the 40-bit space */
	KEXPECT(t, a->next >= (1ULL << 32) && a->next < (1ULL << 40), "base 0x%" PRIx64, a->next);
	x = arena_alloc(a, 8192, 4096, ARENA_SMMU);
	y = arena_zalloc(a, 100, 64, ARENA_SMMU);
	z = arena_alloc(a, 4096, 1 << 16, ARENA_EXTERNAL);
	res = arena_reserve(a, 1 << 20, 1 << 20, ARENA_EXTERNAL);
	KASSERT(t, x && y && z && res);
	/* alignment as requested, and in allocation order */
	KEXPECT(t, !(x & 4095) && !(y & 63) && !(z & 0xffff) && !(res & 0xfffff), "alignment");
	KEXPECT(t, x < y && y < z && z < res, "order");
	p = (u8 *)skho_map(m, x, 8192);
	/* fresh memory carries the poison byte; zalloc'd memory is zero */
	KEXPECT(t, p && p[0] == ARENA_POISON && p[8191] == ARENA_POISON, "poison");
	KEXPECT(t, ((const u8 *)skho_map(m, y, 100))[99] == 0, "zeroed");
	/* one byte past an allocation, or straddling a gap: unmapped */
	KEXPECT(t, !skho_map(m, x, 8193), "map past the end");
	KEXPECT(t, !skho_map(m, x - 1, 2), "map before the start");
	KEXPECT(t, !skho_map(m, y + 99, 2), "map across the end");
	/* a reservation exists but is never readable */
	KEXPECT(t, arena_find(a, res + 5) && !skho_map(m, res, 8), "reservation readable");
	/* adjacent allocations are still two: no map() across them */
	KEXPECT_EQ(t, arena_add_at(a, res + (1 << 20), 4096, ARENA_SMMU, true), 0);
	KEXPECT(t, !skho_map(m, res + (1 << 20) - 4, 8), "map across two allocations");
	/* overlapping a fixed allocation is refused */
	KEXPECT_EQ(t, arena_add_at(a, x + 4096, 16, ARENA_SMMU, true), -SKHO_E_INVAL);
	p[10] = 0x5a;
	r[0] = (struct skho_range){ x + 8, 16 };	/* part of x */
	r[1] = (struct skho_range){ y, 100 };
	b = arena_fork(a, r, 2, ARENA_EXTERNAL);
	KASSERT(t, b);
	/* the ranges at the same PAs with the same bytes, nothing around them */
	KEXPECT(t, skho_map(arena_mem(b), x + 8, 16) && ((const u8 *)skho_map(arena_mem(b), x + 8, 16))[2] == 0x5a,
		"range copied");
	KEXPECT(t, !skho_map(arena_mem(b), x, 8) && !skho_map(arena_mem(b), x + 24, 1), "only the range");
	KEXPECT(t, skho_map(arena_mem(b), z, 4096) != NULL, "external allocation copied");
	KEXPECT(t, arena_find(b, res) && !skho_map(arena_mem(b), res, 1), "reservation kept unbacked");
	KEXPECT(t, !arena_find(b, res + (1 << 20)), "SMMU allocation outside the ranges dropped");
	arena_free(b);
	arena_free(a);
}

/* Same seed, same bytes at the same addresses; another seed, another state. */
static void gen_is_a_pure_function_of_the_seed(struct ktest *t)
{
	struct gen_state *a, *b, *c;
	u32 i;
	bool same_layout;

	build_small(t, t->seed, &a);
	build_small(t, t->seed, &b);
	build_small(t, t->seed + 1, &c);
	KASSERT(t, a && b && c);
	KEXPECT_EQ(t, a->arena->nr, b->arena->nr);
	for (i = 0; i < a->arena->nr && i < b->arena->nr; i++) {
		const struct arena_alloc *x = &a->arena->a[i], *y = &b->arena->a[i];

		KEXPECT(t, x->pa == y->pa && x->size == y->size && x->tag == y->tag,
			"allocation %u differs", i);
		KEXPECT(t, !x->buf == !y->buf && (!x->buf || !memcmp(x->buf, y->buf, x->size)),
			"contents of allocation %u at 0x%" PRIx64 " differ", i, x->pa);
		if (t->failed)
			break;
	}
	same_layout = a->arena->nr == c->arena->nr;
	for (i = 0; same_layout && i < a->arena->nr; i++)
		same_layout = a->arena->a[i].pa == c->arena->a[i].pa;
	KEXPECT(t, !same_layout, "seeds 0x%" PRIx64 " and +1 gave the same layout", t->seed);
	gen_free(a);
	gen_free(b);
	gen_free(c);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The benchmark state: sizes as promised, sampled agreement. */
static void large_state_has_the_promised_shape_and_agrees_sampled(struct ktest *t)
{
	struct gen_params p;
	struct gen_state *g;
	struct chk c = { .t = t, .seed = t->seed, .rng = t->seed };
	const struct gen_smmu *sm;
	const struct gen_pt *pt;
	double t0 = now_s(), t1;
	u32 k;

	gen_params_large(&p);
	g = gen_build(t->seed, &p);
	t1 = now_s();
	KASSERT(t, g, "gen_build(large) failed");
	sm = &g->smmu[0];
	ktest_diag("large state: %u streams, %" PRIu64 " leaves, %" PRIu64 " tables, %" PRIu64
		   " MiB backed, built in %.2f s", sm->nr_st, g->nr_leaves, g->nr_tables,
		   g->arena->backed_bytes >> 20, t1 - t0);
	/* gen_params_large(): 2^16 SIDs in a 2-level table, 1024 streams */
	KEXPECT_EQ(t, sm->two_level, 1);
	KEXPECT_EQ(t, sm->sid_bits, 16);
	KEXPECT_EQ(t, sm->nr_st, 1024);
	/* one S1 4K table: 1 GiB / 4 KiB = 262144 page leaves */
	KASSERT(t, sm->nr_pt == 1);
	pt = sm->pt[0];
	KEXPECT_EQ(t, pt->cfg.granule_lg2, 12);
	KEXPECT_EQ(t, pt->nr_leaf, (1u << 30) >> 12);
	for (k = 0; k < sm->nr_st; k++)
		KEXPECT(t, sm->st[k].cdt->nr_cd == 1 && sm->st[k].cdt->cd[0].pt == pt,
			"stream %u does not use the shared table", sm->st[k].sid);
	for (k = 0; k < 20000; k++) {
		const struct gen_stream *st = &sm->st[arena_rand_below(&c.rng, sm->nr_st)];
		const struct gen_leaf *l = &pt->leaf[arena_rand_below(&c.rng, pt->nr_leaf)];
		struct gen_ctx ctx;

		gen_ctx_get(g, 0, st->sid, false, 0, &ctx);
		check_access(&c, g, &ctx, k % 8 ? l->iova + (k & 0xfff) :
			     arena_rand64(&c.rng) >> 16, k & 1);
		if (t->failed > 8)
			break;
	}
	gen_free(g);
	mism_report();
}

/*
 * With CD.HA/HD set (dirty tracking), a DBM=1 page whose AP[2] Linux set to
 * read-only ("writable-clean", read_and_clear_dirty) is writable: the SMMU
 * clears AP[2] on the first write (DDI 0487 D8.4.6, IHI 0070 3.13.3).
 */
static void dirty_tracking_writable_clean_page_is_writable(struct ktest *t)
{
	struct gen_params p;
	unsigned int i, clean = 0;

	gen_params_small(&p);
	p.dirty_clean = true;
	for (i = 0; i < NR_SMALL_STATES; i++) {
		struct chk c = { .t = t, .seed = state_seed(t, i), .rng = state_seed(t, i) };
		struct gen_state *g = gen_build(c.seed, &p);
		struct gen_ctx ctx[64];
		u32 si, s, k, n, q;

		KASSERT(t, g);
		for (si = 0; si < g->nr_smmus; si++)
			for (s = 0; s < g->smmu[si].nr_st; s++) {
				n = gen_stream_ctxs(g, si, &g->smmu[si].st[s], ctx, 64);
				for (k = 0; k < n; k++) {
					if (ctx[k].fault || !ctx[k].s1 || !ctx[k].s1->hd)
						continue;
					for (q = 0; q < ctx[k].s1->nr_leaf; q++)
						if (ctx[k].s1->leaf[q].prot & SKHO_PROT_W) {
							clean++;
							check_access(&c, g, &ctx[k],
								     ctx[k].s1->leaf[q].iova, true);
						}
				}
			}
		gen_free(g);
	}
	KEXPECT(t, clean > 0, "no dirty-tracking stream generated");
	mism_report();
}

KTEST_MAIN("gen_shadow",
	   KTEST_CASE(arena_maps_only_inside_one_allocation_and_forks_at_same_pas),
	   KTEST_CASE(gen_is_a_pure_function_of_the_seed),
	   KTEST_CASE(generator_covers_every_reachable_outcome),
	   KTEST_CASE(walker_translates_every_mapped_leaf_as_programmed),
	   KTEST_CASE(walker_faults_unmapped_iovas_like_the_shadow),
	   KTEST_CASE(walker_reports_stream_and_substream_faults_per_spec),
	   KTEST_CASE(pt_walk_enumerates_exactly_the_shadow_runs_and_tables),
	   KTEST_CASE(large_state_has_the_promised_shape_and_agrees_sampled),
	   KTEST_CASE(dirty_tracking_writable_clean_page_is_writable))
