// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Kexec simulation: snapshot in one arena, adopt in a fresh one holding only what was preserved. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gen.h"
#include "ktest.h"

/*
 * The old kernel runs on arena A (gen.c states), freezes, snapshots and
 * serializes; the new kernel sees a fresh poisoned arena B holding only the
 * snapshot's preserved ranges and the ARENA_EXTERNAL allocations (DMA
 * buffers and guest RAM, which their owners preserve), parses, validates,
 * adopts.  The expected outcome of every access on B is what the same
 * walker computes on A before the kexec: preservation must not change it.
 * SKHO_TEST_SEED=<seed> replays a failure.
 */

#define NR_STATES	5

struct side {
	struct skho_smmu a[GEN_MAX_SMMUS];	/* old kernel, indexed like gen */
	struct skho_smmu b[GEN_MAX_SMMUS];	/* new kernel, from the FDT */
	bool have_b[GEN_MAX_SMMUS];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One access on A and B: identical outcome. */
static void same_on_both(struct ktest *t, u64 seed, const struct side *sd, u32 si,
			 const struct gen_ctx *c, u64 iova, bool write, u64 *n)
{
	struct skho_xlate a = { .sid = c->sid, .ssid = c->ssid, .ssv = c->ssv,
				.write = write, .iova = iova };
	struct skho_xlate b = a;

	skho_translate(&sd->a[si], &a);
	skho_translate(&sd->b[si], &b);
	(*n)++;
	if (a.fault != b.fault || a.fault_stage != b.fault_stage || a.pa != b.pa ||
	    a.prot != b.prot)
		ktest_fail(t, __FILE__, __LINE__, "seed 0x%" PRIx64 " smmu %u sid 0x%x %s 0x%x"
			   " iova 0x%" PRIx64 " %s: before kexec %s/s%u 0x%" PRIx64 " p%u, after %s/s%u"
			   " 0x%" PRIx64 " p%u", seed, si, c->sid, c->ssv ? "ssid" : "no-ssid",
			   c->ssid, iova, write ? "write" : "read", skho_fault_name(a.fault),
			   a.fault_stage, a.pa, a.prot, skho_fault_name(b.fault), b.fault_stage,
			   b.pa, b.prot);
}

/* Every leaf (exhaustive) or @sample random leaves of each context of @st. */
static void check_preserved_stream(struct ktest *t, u64 seed, const struct gen_state *g,
				   const struct side *sd, u32 si, const struct gen_stream *st,
				   u32 sample, u64 *rng, u64 *n)
{
	struct gen_ctx ctx[64];
	u32 k, nc, i;

	nc = gen_stream_ctxs(g, si, st, ctx, 64);
	for (k = 0; k < nc; k++) {
		const struct gen_pt *pt = ctx[k].s1 ? ctx[k].s1 : ctx[k].s2;
		u32 nr = pt ? pt->nr_leaf : 0;

		/* the configuration outcome, and some misses */
		same_on_both(t, seed, sd, si, &ctx[k], arena_rand64(rng) >> 20, false, n);
		if (pt) {
			u64 miss = gen_pt_unmapped(pt, rng);

			if (miss != ~0ULL)
				same_on_both(t, seed, sd, si, &ctx[k], miss, true, n);
		}
		if (ctx[k].fault != SKHO_XLATE_OK)
			continue;
		for (i = 0; i < (sample ? sample : nr); i++) {
			const struct gen_leaf *l;
			u64 off;

			if (!nr)
				break;
			l = &pt->leaf[sample ? arena_rand_below(rng, nr) : i];
			off = arena_rand_below(rng, l->size);
			same_on_both(t, seed, sd, si, &ctx[k], l->iova + off, false, n);
			same_on_both(t, seed, sd, si, &ctx[k], l->iova + off, true, n);
		}
		if (t->failed > 8)
			return;
	}
}

/* A non-preserved SID on B: aborted by the freeze, or no L2 table at all. */
static void check_not_preserved(struct ktest *t, u64 seed, const struct gen_state *g,
				const struct side *sd, u32 si, const struct gen_stream *st, u64 *n)
{
	struct skho_xlate x = { .sid = st->sid, .iova = 0x1000 };
	unsigned int k;

	for (k = 0; k < 4; k++) {
		x.ssv = k & 1;
		x.ssid = k & 2 ? 1 : 0;
		x.write = k & 2;
		skho_translate(&sd->b[si], &x);
		(*n)++;
		/*
		 * frozen (its stream-table page is preserved): the abort STE the
		 * freeze wrote; else its L1STD was zeroed by the adoption: an
		 * invalid StreamID (the walker may call it C_BAD_STE)
		 */
		if (st->frozen ? x.fault != SKHO_XLATE_ABORT :
		    x.fault != SKHO_C_BAD_STREAMID && x.fault != SKHO_C_BAD_STE)
			ktest_fail(t, __FILE__, __LINE__, "seed 0x%" PRIx64 " smmu %u: SID 0x%x"
				   " (%s, not preserved, %s) gives %s after kexec", seed, si,
				   st->sid, gen_kind_name(st->kind),
				   st->frozen ? "frozen" : "L2 not preserved",
				   skho_fault_name(x.fault));
	}
	(void)g;
}

/*
 * Parse, validate every SMMU (all preserved streams must be adopted), adopt.
 * Fills @sd->b.  Returns false on a failed precondition.
 */
static bool kexec(struct ktest *t, u64 seed, struct gen_ho *h, struct skho_handover *ho,
		  struct side *sd)
{
	struct gen_state *g = h->g;
	struct skho_err err = { 0 };
	u32 i, k;
	int ret;

	ret = skho_handover_parse(h->fdt, h->fdt_size, ho, &err);
	KEXPECT(t, ret == 0, "seed 0x%" PRIx64 ": parse: %s %s", seed, skho_strerror(ret), err.msg);
	if (ret)
		return false;
	/* every SMMU had preserved streams: every one has a node */
	KEXPECT_EQ(t, ho->nr_smmus, g->nr_smmus);
	for (i = 0; i < ho->nr_smmus; i++) {
		int si = gen_smmu_by_mmio(g, ho->smmu[i].mmio_base);
		struct gen_verdicts v;
		u32 *refused, nr_ref = 0;

		KEXPECT(t, si >= 0, "seed 0x%" PRIx64 ": node for unknown SMMU 0x%" PRIx64, seed,
			ho->smmu[i].mmio_base);
		if (si < 0)
			return false;
		gen_validate(ho, i, h->b, &v, &err);
		/* an honest handover: nothing refused */
		KEXPECT(t, v.ret == 0, "seed 0x%" PRIx64 " smmu %d: validate %d: %s", seed, si,
			v.ret, err.msg);
		KEXPECT_EQ(t, v.nr, h->nr_sids[si]);
		refused = calloc(v.nr + 1, sizeof(*refused));
		if (!refused)
			abort();
		for (k = 0; k < v.nr; k++) {
			/* verdicts in SID order, for exactly the preserved SIDs */
			KEXPECT(t, k >= h->nr_sids[si] || v.v[k].sid == h->sids[si][k],
				"verdict %u for SID 0x%x", k, v.v[k].sid);
			if (v.v[k].code) {
				ktest_fail(t, __FILE__, __LINE__, "seed 0x%" PRIx64 " smmu %d: SID 0x%x"
					   " refused: %s", seed, si, v.v[k].sid,
					   skho_strerror(v.v[k].code));
				refused[nr_ref++] = v.v[k].sid;
			}
		}
		ret = gen_adopt(h->b, &ho->smmu[i], refused, nr_ref);
		KEXPECT(t, ret >= 0, "seed 0x%" PRIx64 ": adopt %d", seed, ret);
		gen_ho_smmu(&ho->smmu[i], h->b, &sd->b[si]);
		sd->have_b[si] = true;
		free(refused);
		gen_verdicts_free(&v);
	}
	return true;
}

static void run_kexec(struct ktest *t, u64 seed, const struct gen_params *p, unsigned int pct,
		      u32 sample, u64 *bytes, u64 *stes)
{
	struct gen_state *g = gen_build(seed, p);
	struct skho_handover ho;
	struct skho_err err = { 0 };
	struct side sd;
	struct gen_ho h;
	u64 rng = seed, n = 0, np = 0;
	u32 si, k;
	int ret;

	KASSERT(t, g, "gen_build(0x%" PRIx64 ")", seed);
	memset(&sd, 0, sizeof(sd));
	for (si = 0; si < g->nr_smmus; si++)
		sd.a[si] = g->smmu[si].hw;
	ret = gen_ho_prepare(&h, g, seed, pct, &err);
	KEXPECT(t, ret == 0, "seed 0x%" PRIx64 ": %s: %s", seed, skho_strerror(ret), err.msg);
	if (!ret && kexec(t, seed, &h, &ho, &sd)) {
		for (si = 0; si < g->nr_smmus; si++) {
			const struct gen_smmu *s = &g->smmu[si];

			if (!sd.have_b[si])
				continue;
			for (k = 0; k < s->nr_st && t->failed <= 8; k++) {
				if (gen_ho_preserved(&h, si, s->st[k].sid)) {
					check_preserved_stream(t, seed, g, &sd, si, &s->st[k], sample,
							       &rng, &n);
					np++;
				} else {
					check_not_preserved(t, seed, g, &sd, si, &s->st[k], &n);
				}
			}
		}
		*bytes += h.fdt_size;
		*stes += np;
		skho_handover_release(&ho);
	}
	KEXPECT(t, n > 0, "seed 0x%" PRIx64 ": nothing checked", seed);
	gen_ho_release(&h);
	gen_free(g);
}

static void kexec_keeps_every_preserved_translation_small_states(struct ktest *t)
{
	struct gen_params p;
	u64 bytes = 0, stes = 0;
	unsigned int i;

	gen_params_small(&p);
	for (i = 0; i < NR_STATES && !t->failed; i++)
		run_kexec(t, t->seed * 7919 + i, &p, 20 + 15 * i, 0, &bytes, &stes);
	ktest_diag("%" PRIu64 " preserved streams, %.1f FDT bytes per preserved STE", stes,
		   stes ? (double)bytes / stes : 0.0);
}

static void kexec_keeps_sampled_translations_of_the_large_state(struct ktest *t)
{
	struct gen_params p;
	u64 bytes = 0, stes = 0;
	double t0 = now_s();

	gen_params_large(&p);
	run_kexec(t, t->seed, &p, 25, 16, &bytes, &stes);
	ktest_diag("large: %" PRIu64 " preserved streams, %" PRIu64 " FDT bytes, %.1f per STE,"
		   " %.2f s", stes, bytes, stes ? (double)bytes / stes : 0.0, now_s() - t0);
	/* 25% of 1024 streams */
	KEXPECT(t, stes > 150 && stes < 400, "%" PRIu64 " preserved", stes);
}

/* The FDT is a pure function of the snapshot, and of the preserved state. */
static void fdt_is_byte_identical_when_serialized_twice(struct ktest *t)
{
	struct gen_params p;
	struct gen_state *g;
	struct skho_snapshot *again = NULL;
	struct skho_smmu_state st[GEN_MAX_SMMUS];
	struct skho_err err = { 0 };
	struct gen_ho h;
	void *b2, *b3;
	u32 si;
	int ret;

	gen_params_small(&p);
	g = gen_build(t->seed, &p);
	KASSERT(t, g);
	ret = gen_ho_prepare(&h, g, t->seed, 50, &err);
	KASSERT(t, ret == 0, "%s", err.msg);
	b2 = malloc(h.fdt_size);
	KASSERT(t, b2);
	ret = skho_snapshot_to_fdt(h.snap, b2, h.fdt_size, &err);
	KEXPECT(t, ret == 0 && !memcmp(h.fdt, b2, h.fdt_size), "second serialization differs");
	for (si = 0; si < g->nr_smmus; si++)
		gen_smmu_state(g, si, h.sids[si], h.nr_sids[si], &st[si]);
	ret = skho_snapshot_take(&again, st, g->nr_smmus, arena_mem(g->arena), &err);
	KEXPECT(t, ret == 0, "%s", err.msg);
	KEXPECT_EQ(t, skho_snapshot_fdt_size(again), h.fdt_size);
	b3 = calloc(1, h.fdt_size);
	KASSERT(t, b3);
	if (!ret && skho_snapshot_fdt_size(again) == h.fdt_size) {
		ret = skho_snapshot_to_fdt(again, b3, h.fdt_size, &err);
		KEXPECT(t, ret == 0 && !memcmp(h.fdt, b3, h.fdt_size),
			"a second snapshot of the same state serializes differently");
	}
	/* one byte short: -SKHO_E_NOSPACE, not a truncated blob */
	KEXPECT_EQ(t, skho_snapshot_to_fdt(h.snap, b3, h.fdt_size - 1, &err), -SKHO_E_NOSPACE);
	skho_snapshot_free(again);
	free(b2);
	free(b3);
	gen_ho_release(&h);
	gen_free(g);
}

static bool stream_uses_pt(const struct gen_stream *st, const struct gen_pt *pt)
{
	u32 i;

	if (st->s2 == pt)
		return true;
	for (i = 0; st->kind == GEN_STE_S1 && i < st->cdt->nr_cd; i++)
		if (st->cdt->cd[i].pt == pt)
			return true;
	return false;
}

/* Find a preserved stream that translates through a host table, and that table. */
static struct gen_pt *pick_preserved_table(struct gen_ho *h, u32 *si_out, u64 *rng)
{
	struct gen_state *g = h->g;
	u32 tries;

	for (tries = 0; tries < 1000; tries++) {
		u32 si = (u32)arena_rand_below(rng, g->nr_smmus);
		struct gen_smmu *s = &g->smmu[si];
		const struct gen_stream *st;

		if (!h->nr_sids[si])
			continue;
		st = gen_stream_find(g, si, h->sids[si][arena_rand_below(rng, h->nr_sids[si])]);
		if (st->kind == GEN_STE_S1 && st->cdt->nr_cd) {
			*si_out = si;
			return st->cdt->cd[arena_rand_below(rng, st->cdt->nr_cd)].pt;
		}
		if (st->kind == GEN_STE_S2 || st->kind == GEN_STE_NESTED) {
			*si_out = si;
			return st->s2;
		}
		(void)s;
	}
	return NULL;
}

/*
 * The old kernel maps a page after the snapshot, into fresh table pages the
 * snapshot never saw.  All memory survives (arena B is a full copy), but the
 * new table pages are outside the preserved ranges: every preserved stream
 * using that table must be refused with -SKHO_E_OUTSIDE (the fence stops the
 * walk before the digest could), every other preserved stream adopted.
 */
static void late_map_outside_ranges_is_refused_as_outside(struct ktest *t)
{
	struct gen_params p;
	struct gen_state *g;
	struct skho_err err = { 0 };
	struct skho_handover ho;
	struct gen_ho h;
	struct gen_pt *pt;
	u64 rng = t->seed, iova;
	u32 si = 0, newt = 0, i, k, affected = 0, adopted = 0;
	int ret, tries;

	gen_params_small(&p);
	g = gen_build(t->seed, &p);
	KASSERT(t, g);
	ret = gen_ho_prepare(&h, g, t->seed, 60, &err);
	KASSERT(t, ret == 0, "%s", err.msg);
	pt = pick_preserved_table(&h, &si, &rng);
	KASSERT(t, pt, "no preserved stream with a table");
	/* an IOVA far from existing mappings needs new table pages */
	for (tries = 0; tries < 100; tries++) {
		iova = arena_rand64(&rng) & ((1ULL << pt->cfg.ias) - 1) &
		       ~((1ULL << pt->cfg.granule_lg2) - 1);
		if (gen_pt_map_page(g, pt, iova, 0x40000000ULL, SKHO_PROT_R | SKHO_PROT_W,
				    &newt) && newt)
			break;
	}
	KASSERT(t, newt > 0, "could not place a late mapping needing a new table page");
	arena_free(h.b);	/* memory survives the kexec entirely */
	h.b = arena_fork(g->arena, NULL, 0, ARENA_TAGS_ALL);
	KASSERT(t, h.b);
	ret = skho_handover_parse(h.fdt, h.fdt_size, &ho, &err);
	KASSERT(t, ret == 0, "%s", err.msg);
	for (i = 0; i < ho.nr_smmus; i++) {
		int gi = gen_smmu_by_mmio(g, ho.smmu[i].mmio_base);
		struct gen_verdicts v;

		KASSERT(t, gi >= 0);
		gen_validate(&ho, i, h.b, &v, &err);
		for (k = 0; k < v.nr; k++) {
			const struct gen_stream *st = gen_stream_find(g, (u32)gi, v.v[k].sid);
			bool uses = st && stream_uses_pt(st, pt);

			if (uses) {
				affected++;
				/* the new table page lies outside the ranges */
				KEXPECT(t, v.v[k].code == -SKHO_E_OUTSIDE, "seed 0x%" PRIx64 " SID 0x%x:"
					" %s, want SKHO_E_OUTSIDE", t->seed, v.v[k].sid,
					skho_strerror(v.v[k].code));
			} else {
				adopted += !v.v[k].code;
				/* untouched stream */
				KEXPECT(t, v.v[k].code == 0, "seed 0x%" PRIx64 " SID 0x%x: %s", t->seed,
					v.v[k].sid, skho_strerror(v.v[k].code));
			}
		}
		gen_verdicts_free(&v);
	}
	KEXPECT(t, affected > 0, "no preserved stream uses the modified table");
	ktest_diag("%u streams refused, %u adopted", affected, adopted);
	skho_handover_release(&ho);
	gen_ho_release(&h);
	gen_free(g);
}

/*
 * One preserved STE is damaged in memory across the kexec: that stream is
 * refused (-SKHO_E_STE_LOST), the adoption aborts it, and the other
 * preserved streams keep translating.
 */
static void refused_stream_is_aborted_and_others_keep_translating(struct ktest *t)
{
	struct gen_params p;
	struct gen_state *g;
	struct skho_err err = { 0 };
	struct skho_handover ho;
	struct side sd;
	struct gen_ho h;
	u64 rng = t->seed ^ 0xabc, n = 0;
	const struct gen_stream *victim;
	u32 si, i, k, vs;
	u8 *ste;
	int ret;

	gen_params_small(&p);
	g = gen_build(t->seed, &p);
	KASSERT(t, g);
	ret = gen_ho_prepare(&h, g, t->seed, 50, &err);
	KASSERT(t, ret == 0, "%s", err.msg);
	vs = (u32)arena_rand_below(&rng, g->nr_smmus);
	victim = gen_stream_find(g, vs, h.sids[vs][arena_rand_below(&rng, h.nr_sids[vs])]);
	ste = arena_ptr(h.b, victim->ste_pa, 64);
	KASSERT(t, ste);
	ste[40 + arena_rand_below(&rng, 24)] ^= 0x10;	/* dwords 5-7: no field Linux uses */
	memset(&sd, 0, sizeof(sd));
	for (si = 0; si < g->nr_smmus; si++)
		sd.a[si] = g->smmu[si].hw;
	ret = skho_handover_parse(h.fdt, h.fdt_size, &ho, &err);
	KASSERT(t, ret == 0, "%s", err.msg);
	for (i = 0; i < ho.nr_smmus; i++) {
		int gi = gen_smmu_by_mmio(g, ho.smmu[i].mmio_base);
		struct gen_verdicts v;
		u32 refused[1], nr = 0;

		KASSERT(t, gi >= 0);
		gen_validate(&ho, i, h.b, &v, &err);
		for (k = 0; k < v.nr; k++) {
			bool is_victim = (u32)gi == vs && v.v[k].sid == victim->sid;

			/* memory differs from the reference copy in the FDT */
			KEXPECT_EQ(t, v.v[k].code, is_victim ? -SKHO_E_STE_LOST : 0);
			if (v.v[k].code && nr < 1)
				refused[nr++] = v.v[k].sid;
		}
		KEXPECT_EQ(t, v.ret, (u32)gi == vs ? 1 : 0);	/* one refused stream */
		KEXPECT(t, gen_adopt(h.b, &ho.smmu[i], refused, nr) >= (int)nr, "adopt");
		gen_ho_smmu(&ho.smmu[i], h.b, &sd.b[gi]);
		sd.have_b[gi] = true;
		gen_verdicts_free(&v);
	}
	{
		struct skho_xlate x = { .sid = victim->sid, .iova = 0x1000 };

		skho_translate(&sd.b[vs], &x);
		/* the adoption wrote an abort STE over the refused one */
		KEXPECT(t, x.fault == SKHO_XLATE_ABORT, "refused SID 0x%x gives %s", victim->sid,
			skho_fault_name(x.fault));
	}
	for (si = 0; si < g->nr_smmus; si++)
		for (k = 0; k < h.nr_sids[si]; k++)
			if (!(si == vs && h.sids[si][k] == victim->sid))
				check_preserved_stream(t, t->seed, g, &sd, si,
						       gen_stream_find(g, si, h.sids[si][k]), 4,
						       &rng, &n);
	skho_handover_release(&ho);
	gen_ho_release(&h);
	gen_free(g);
}

KTEST_MAIN("handover_sim",
	   KTEST_CASE(kexec_keeps_every_preserved_translation_small_states),
	   KTEST_CASE(kexec_keeps_sampled_translations_of_the_large_state),
	   KTEST_CASE(fdt_is_byte_identical_when_serialized_twice),
	   KTEST_CASE(late_map_outside_ranges_is_refused_as_outside),
	   KTEST_CASE(refused_stream_is_aborted_and_others_keep_translating))
