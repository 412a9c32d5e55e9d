// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* One corruption of a valid handover, one exact rejection; random corruptions never adopt wrong state. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gen.h"
#include "ktest.h"

/*
 * Each targeted case starts from a valid handover (gen.c: random state,
 * freeze, snapshot, FDT, next kernel's arena B), applies exactly one
 * corruption to the FDT or to B, and requires the exact rejection: the
 * -SKHO_E_* code, and for per-stream checks the SID(s), while every other
 * preserved stream is still adopted.
 *
 * The random cases assert one property (any single corrupted FDT byte, any
 * single corrupted byte of preserved memory):
 *   no crash and no sanitizer report; and every stream the validator adopts
 *   grants on B, through the stream table the FDT describes, exactly the
 *   accesses it granted on A before the kexec: an access that succeeded
 *   succeeds with the same PA and permissions, one that faulted still faults
 *   (probes: each SSID context's configuration outcome and sampled mapped
 *   IOVAs, reads and writes); and for a memory corruption, every table such
 *   a stream uses enumerates on B exactly the run set the old kernel
 *   programmed.
 * Refusing more than necessary is allowed; adopting anything else is not.
 * The fault *kind* may change: the digests cover translation sets, so a
 * corrupted invalid descriptor that now faults differently (F_ACCESS for an
 * AF=0 leaf, F_ADDR_SIZE) is, by design, not a refusal reason.
 * SKHO_TEST_SEED=<seed> replays a failure.
 */

struct base {
	u64 seed;
	struct gen_state *g;
	struct gen_ho h;
};

static bool base_new(struct ktest *t, struct base *b, u64 seed, bool tiny)
{
	struct gen_params p;
	struct skho_err err = { 0 };
	int ret;

	gen_params_small(&p);
	if (tiny) {
		p.nr_smmus = 2;
		p.masters = 8;
	}
	memset(b, 0, sizeof(*b));
	b->seed = seed;
	b->g = gen_build(seed, &p);
	if (!b->g) {
		ktest_fail(t, __FILE__, __LINE__, "gen_build(0x%" PRIx64 ")", seed);
		return false;
	}
	ret = gen_ho_prepare(&b->h, b->g, seed, 60, &err);
	if (ret) {
		ktest_fail(t, __FILE__, __LINE__, "seed 0x%" PRIx64 ": %s %s", seed,
			   skho_strerror(ret), err.msg);
		return false;
	}
	return true;
}

static void base_free(struct base *b)
{
	gen_ho_release(&b->h);
	gen_free(b->g);
}

/* ---- running the next kernel ------------------------------------------------- */

struct outcome {
	void *blob;		/* parse keeps views into it */
	int parse;
	struct skho_err err;
	struct skho_handover ho;
	int gi[SKHO_MAX_SMMUS];
	struct gen_verdicts v[SKHO_MAX_SMMUS];
};

static void run(const struct base *b, const void *fdt, size_t size, const struct arena *mem,
		struct outcome *o)
{
	u32 i;

	memset(o, 0, sizeof(*o));
	o->blob = malloc(size ? size : 1);	/* exact size: ASan sees any over-read */
	if (!o->blob)
		abort();
	memcpy(o->blob, fdt, size);
	o->parse = skho_handover_parse(o->blob, size, &o->ho, &o->err);
	if (o->parse)
		return;
	for (i = 0; i < o->ho.nr_smmus; i++) {
		o->gi[i] = gen_smmu_by_mmio(b->g, o->ho.smmu[i].mmio_base);
		gen_validate(&o->ho, i, mem, &o->v[i], &o->err);
	}
}

static void outcome_free(struct outcome *o)
{
	u32 i;

	for (i = 0; i < o->ho.nr_smmus; i++)
		gen_verdicts_free(&o->v[i]);
	skho_handover_release(&o->ho);
	free(o->blob);
}

struct refusal {
	u32 si, sid;
};

static bool is_refused(const struct refusal *r, u32 n, u32 si, u32 sid)
{
	u32 i;

	for (i = 0; i < n; i++)
		if (r[i].si == si && r[i].sid == sid)
			return true;
	return false;
}

/*
 * Parsing succeeded; exactly the @n listed streams are refused, each with
 * @code; every other preserved stream of every SMMU is adopted.
 */
static void expect_refused(struct ktest *t, const struct base *b, const struct outcome *o,
			   const struct refusal *r, u32 n, int code, const char *what)
{
	u32 i, k, seen = 0;

	KEXPECT(t, n > 0, "%s: nothing to refuse (test setup)", what);
	KEXPECT(t, o->parse == 0, "seed 0x%" PRIx64 " %s: parse %s: %s", b->seed, what,
		skho_strerror(o->parse), o->err.msg);
	if (o->parse)
		return;
	for (i = 0; i < o->ho.nr_smmus; i++) {
		int gi = o->gi[i];
		u32 nref = 0;

		KASSERT(t, gi >= 0);
		/* one verdict per preserved SID, no more */
		KEXPECT_EQ(t, o->v[i].nr, b->h.nr_sids[gi]);
		for (k = 0; k < o->v[i].nr; k++) {
			const struct gen_verdict *v = &o->v[i].v[k];
			bool want = is_refused(r, n, (u32)gi, v->sid);

			seen += want;
			nref += !!v->code;
			if (v->code != (want ? code : 0))
				ktest_fail(t, __FILE__, __LINE__, "seed 0x%" PRIx64 " %s: smmu %d SID"
					   " 0x%x: %s, want %s", b->seed, what, gi, v->sid,
					   v->code ? skho_strerror(v->code) : "adopted",
					   want ? skho_strerror(code) : "adopted");
		}
		/* validate() returns the number refused */
		KEXPECT_EQ(t, o->v[i].ret, nref);
	}
	KEXPECT_EQ(t, seen, n);
}

/* ---- FDT editing ------------------------------------------------------------- */

struct blob {
	u8 *p;
	size_t size;
};

static void blob_dup(const struct base *b, struct blob *x)
{
	x->size = b->h.fdt_size;
	x->p = malloc(x->size);
	if (!x->p)
		abort();
	memcpy(x->p, b->h.fdt, x->size);
}

static u8 *prop_w(struct blob *x, u64 mmio, const char *name, int *len)
{
	char node[40];
	int off;

	snprintf(node, sizeof(node), SKHO_NODE_PREFIX "%llx", (unsigned long long)mmio);
	off = fdt_subnode_offset(x->p, 0, node);
	if (off < 0)
		return NULL;
	return fdt_getprop_w(x->p, off, name, len);
}

/* Drop record @idx of @rec bytes from a property; the blob shrinks. */
static bool prop_drop(struct blob *x, u64 mmio, const char *name, size_t rec, u32 idx)
{
	char node[40];
	int off, len;
	const u8 *v;
	u8 *nv;
	bool ok;

	snprintf(node, sizeof(node), SKHO_NODE_PREFIX "%llx", (unsigned long long)mmio);
	off = fdt_subnode_offset(x->p, 0, node);
	v = off < 0 ? NULL : fdt_getprop(x->p, off, name, &len);
	if (!v || (size_t)len < (idx + 1) * rec)
		return false;
	nv = malloc(len);
	if (!nv)
		abort();
	memcpy(nv, v, idx * rec);
	memcpy(nv + idx * rec, v + (idx + 1) * rec, len - (idx + 1) * rec);
	ok = !fdt_setprop(x->p, off, name, nv, (int)(len - rec)) && !fdt_pack(x->p);
	x->size = fdt_totalsize(x->p);
	free(nv);
	return ok;
}

/*
 * Rewrite SMMU @mmio's preserved-ranges from the runs of @rs, with run
 * @touch's skip forced to 0 (so it touches its predecessor) unless @touch is
 * ~0u: the test's own LEB128 writer, which can write what the serializer
 * never would.  The blob is reallocated to fit.
 */
static bool ranges_set(struct blob *x, u64 mmio, const struct skho_ranges *rs, u32 touch)
{
	char node[40];
	u8 *val = malloc((size_t)rs->nr * 2 * SKHO_ABI_VARINT_MAX + 1), *e = val, *big;
	size_t cap = x->size + (size_t)rs->nr * 2 * SKHO_ABI_VARINT_MAX + 64;
	u64 next = 0;
	int off;
	bool ok;
	u32 i;

	if (!val)
		abort();
	for (i = 0; i < rs->nr; i++) {
		u64 v[2] = { (rs->r[i].pa >> 12) - next, (rs->r[i].size >> 12) - 1 };
		int k;

		if (i == touch)
			v[0] = 0;
		for (k = 0; k < 2; k++) {
			while (v[k] >= 0x80) {
				*e++ = (u8)(v[k] | 0x80);
				v[k] >>= 7;
			}
			*e++ = (u8)v[k];
		}
		next = (rs->r[i].pa + rs->r[i].size) >> 12;
	}
	big = malloc(cap);
	if (!big)
		abort();
	snprintf(node, sizeof(node), SKHO_NODE_PREFIX "%llx", (unsigned long long)mmio);
	ok = !fdt_open_into(x->p, big, (int)cap);
	off = ok ? fdt_subnode_offset(big, 0, node) : -1;
	ok = off >= 0 && !fdt_setprop(big, off, SKHO_PROP_RANGES, val, (int)(e - val)) &&
	     !fdt_pack(big);
	free(val);
	free(x->p);
	x->p = big;
	x->size = fdt_totalsize(big);
	return ok;
}

/* The streams record of @sid on SMMU @si. */
static u8 *stream_rec(struct blob *x, const struct base *b, u32 si, u32 sid)
{
	int len, i;
	u8 *p = prop_w(x, b->g->smmu[si].mmio_base, SKHO_PROP_STREAMS, &len);

	for (i = 0; p && i + (int)sizeof(struct skho_abi_stream) <= len;
	     i += sizeof(struct skho_abi_stream))
		if (skho_fdt_ld32(p + i) == sid)
			return p + i;
	return NULL;
}

/* Replace the reference STE of a record and recompute ste_digest (seed 0). */
static void set_reference(u8 *rec, const u8 ste[64])
{
	fdt64_t d = cpu_to_fdt64(skho_digest_buf(ste, 64, 0));

	memcpy(rec + offsetof(struct skho_abi_stream, ste), ste, 64);
	memcpy(rec + offsetof(struct skho_abi_stream, ste_digest), &d, 8);
}

/* ---- picking victims --------------------------------------------------------- */

static bool uses_pt(const struct gen_stream *st, const struct gen_pt *pt)
{
	u32 i;

	if (st->s2 == pt)
		return true;
	for (i = 0; st->kind == GEN_STE_S1 && i < st->cdt->nr_cd; i++)
		if (st->cdt->cd[i].pt == pt)
			return true;
	return false;
}

/* Preserved streams of every SMMU matching @pred into @r; returns the count. */
static u32 preserved_where(const struct base *b, struct refusal *r, u32 max,
			   bool (*pred)(const struct base *, u32, const struct gen_stream *, const void *),
			   const void *arg)
{
	u32 si, k, n = 0;

	for (si = 0; si < b->g->nr_smmus; si++)
		for (k = 0; k < b->h.nr_sids[si]; k++) {
			const struct gen_stream *st = gen_stream_find(b->g, si, b->h.sids[si][k]);

			if (n < max && pred(b, si, st, arg))
				r[n++] = (struct refusal){ si, st->sid };
		}
	return n;
}

struct pt_of {
	u32 si;
	const struct gen_pt *pt;
};

static bool pred_uses_pt(const struct base *b, u32 si, const struct gen_stream *st,
			 const void *arg)
{
	const struct pt_of *p = arg;

	(void)b;
	return si == p->si && uses_pt(st, p->pt);
}

/* A random host table used by a preserved stream, with a leaf below the start level. */
static bool pick_table(const struct base *b, u64 *rng, struct pt_of *out,
		       const struct gen_leaf **leaf)
{
	u32 tries;

	for (tries = 0; tries < 2000; tries++) {
		u32 si = (u32)arena_rand_below(rng, b->g->nr_smmus);
		const struct gen_stream *st;
		const struct gen_pt *pt = NULL;
		const struct gen_leaf *l;

		if (!b->h.nr_sids[si])
			continue;
		st = gen_stream_find(b->g, si, b->h.sids[si][arena_rand_below(rng, b->h.nr_sids[si])]);
		if (st->kind == GEN_STE_S1 && st->cdt->nr_cd)
			pt = st->cdt->cd[arena_rand_below(rng, st->cdt->nr_cd)].pt;
		else if (st->kind == GEN_STE_S2 || st->kind == GEN_STE_NESTED)
			pt = st->s2;
		if (!pt || pt->vm || !pt->nr_leaf)
			continue;
		l = &pt->leaf[arena_rand_below(rng, pt->nr_leaf)];
		if (l->level <= pt->cfg.start_level)
			continue;
		out->si = si;
		out->pt = pt;
		*leaf = l;
		return true;
	}
	return false;
}

/* PA of @pt's descriptor for @iova at @lvl, read through @m; 0 if unreachable. */
static u64 desc_pa(const struct arena *m, const struct gen_pt *pt, u64 iova, unsigned int lvl)
{
	unsigned int g = pt->cfg.granule_lg2, bpl = g - 3, l;
	u64 table = pt->cfg.root;

	for (l = pt->cfg.start_level;; l++) {
		unsigned int shift = g + (3 - l) * bpl;
		u64 idx = iova >> shift, d, pa;

		if (l != pt->cfg.start_level)
			idx &= (1ULL << bpl) - 1;
		pa = table + idx * 8;
		if (l == lvl)
			return pa;
		d = arena_rd64(m, pa);
		if ((d & 3) != 3)
			return 0;
		table = d & SMMU_PTE_ADDR;
	}
}

/* ---- targeted corruptions ---------------------------------------------------- */

#define NR_SEEDS	3

static u64 case_seed(const struct ktest *t, unsigned int i)
{
	return t->seed * 31337 + i;
}

static void truncated_blob_is_refused_at_every_length(struct ktest *t)
{
	struct base b;
	size_t len;
	u32 bad = 0;

	if (!base_new(t, &b, t->seed, false))
		return;
	for (len = 0; len < b.h.fdt_size; len++) {
		struct outcome o;

		run(&b, b.h.fdt, len, b.h.b, &o);
		/* FDT header totalsize > bytes handed over (or no header) */
		if (o.parse != -SKHO_E_FDT && bad++ < 4)
			ktest_fail(t, __FILE__, __LINE__, "seed 0x%" PRIx64 ": %zu of %zu bytes: %s",
				   b.seed, len, b.h.fdt_size, skho_strerror(o.parse));
		outcome_free(&o);
	}
	ktest_diag("%zu truncations", b.h.fdt_size);
	base_free(&b);
}

/*
 * The STE now points at a byte-identical copy of its CD table placed outside
 * the ranges (FDT reference STE and ste_digest updated to match, so only the
 * location is wrong): -SKHO_E_OUTSIDE for that SID.
 */
static bool pred_s1(const struct base *b, u32 si, const struct gen_stream *st, const void *arg)
{
	(void)b, (void)si, (void)arg;
	return st->kind == GEN_STE_S1;
}

static void ste_cd_pointer_outside_ranges_is_refused_outside(struct ktest *t)
{
	unsigned int i;

	for (i = 0; i < NR_SEEDS; i++) {
		struct refusal cand[512];
		struct base b;
		struct outcome o;
		struct blob x;
		u64 rng = case_seed(t, i), bytes, copy, w0;
		const struct gen_stream *st;
		u8 ste[64], *rec;
		u32 n;

		if (!base_new(t, &b, case_seed(t, i), false))
			return;
		n = preserved_where(&b, cand, 512, pred_s1, NULL);
		KASSERT(t, n, "seed 0x%" PRIx64 ": no preserved S1 stream", b.seed);
		cand[0] = cand[arena_rand_below(&rng, n)];
		st = gen_stream_find(b.g, cand[0].si, cand[0].sid);
		bytes = st->cdt->l2 ? st->cdt->nr_l1 * 8ULL : 64ULL << st->cdt->cdmax;
		copy = arena_alloc(b.h.b, bytes, bytes < 4096 ? 4096 : bytes, ARENA_EXTERNAL);
		KASSERT(t, copy);
		memcpy(arena_ptr(b.h.b, copy, bytes), arena_ptr(b.h.b, st->cdt->base, bytes), bytes);
		memcpy(ste, arena_ptr(b.h.b, st->ste_pa, 64), 64);
		w0 = (skho_ld_le64(ste) & ~SMMU_STE0_S1CTXPTR) | copy;
		w0 = skho_cpu_to_le64(w0);
		memcpy(ste, &w0, 8);
		memcpy(arena_ptr(b.h.b, st->ste_pa, 64), ste, 64);
		blob_dup(&b, &x);
		rec = stream_rec(&x, &b, cand[0].si, cand[0].sid);
		KASSERT(t, rec);
		set_reference(rec, ste);
		run(&b, x.p, x.size, b.h.b, &o);
		expect_refused(t, &b, &o, cand, 1, -SKHO_E_OUTSIDE, "S1ContextPtr outside");
		outcome_free(&o);
		free(x.p);
		base_free(&b);
	}
}

/*
 * A start-level table descriptor now points at a byte-identical copy of its
 * next-level table, outside the ranges; the translation set (and digest) is
 * unchanged.  Only the fence can see it: -SKHO_E_OUTSIDE for every
 * preserved stream using the table.
 */
static void table_descriptor_outside_ranges_is_refused_outside(struct ktest *t)
{
	unsigned int i;

	for (i = 0; i < NR_SEEDS; i++) {
		struct refusal r[512];
		struct base b;
		struct outcome o;
		struct pt_of p;
		const struct gen_leaf *l;
		u64 rng = case_seed(t, i) ^ 0x7ab, dpa, d, sub, copy, gran;
		u32 n;

		if (!base_new(t, &b, case_seed(t, i), false))
			return;
		KASSERT(t, pick_table(&b, &rng, &p, &l), "seed 0x%" PRIx64 ": no table", b.seed);
		gran = 1ULL << p.pt->cfg.granule_lg2;
		dpa = desc_pa(b.h.b, p.pt, l->iova, p.pt->cfg.start_level);
		d = arena_rd64(b.h.b, dpa);
		KASSERT(t, (d & 3) == 3, "not a table descriptor: 0x%" PRIx64, d);
		sub = d & SMMU_PTE_ADDR;
		copy = arena_alloc(b.h.b, gran, gran, ARENA_EXTERNAL);
		KASSERT(t, copy && arena_ptr(b.h.b, sub, gran));
		memcpy(arena_ptr(b.h.b, copy, gran), arena_ptr(b.h.b, sub, gran), gran);
		arena_wr64(b.h.b, dpa, (d & ~SMMU_PTE_ADDR) | copy);
		n = preserved_where(&b, r, 512, pred_uses_pt, &p);
		run(&b, b.h.fdt, b.h.fdt_size, b.h.b, &o);
		expect_refused(t, &b, &o, r, n, -SKHO_E_OUTSIDE, "table descriptor outside");
		outcome_free(&o);
		base_free(&b);
	}
}

/* A leaf's output address moves by one leaf size: -SKHO_E_DIGEST for its users. */
static void pte_output_address_change_is_refused_digest(struct ktest *t)
{
	unsigned int i;

	for (i = 0; i < NR_SEEDS; i++) {
		struct refusal r[512];
		struct base b;
		struct outcome o;
		struct pt_of p;
		const struct gen_leaf *l;
		u64 rng = case_seed(t, i) ^ 0x9e, dpa, d;
		u32 n;

		if (!base_new(t, &b, case_seed(t, i), false))
			return;
		KASSERT(t, pick_table(&b, &rng, &p, &l), "seed 0x%" PRIx64 ": no table", b.seed);
		dpa = desc_pa(b.h.b, p.pt, l->iova, l->level);
		d = arena_rd64(b.h.b, dpa);
		KASSERT(t, (d & SMMU_PTE_ADDR) == (l->pa & SMMU_PTE_ADDR), "leaf not found");
		arena_wr64(b.h.b, dpa, d ^ l->size);	/* lowest OA bit of this leaf */
		n = preserved_where(&b, r, 512, pred_uses_pt, &p);
		run(&b, b.h.fdt, b.h.fdt_size, b.h.b, &o);
		expect_refused(t, &b, &o, r, n, -SKHO_E_DIGEST, "PTE output address");
		outcome_free(&o);
		base_free(&b);
	}
}

static bool pred_any(const struct base *b, u32 si, const struct gen_stream *st, const void *arg)
{
	(void)b, (void)si, (void)st, (void)arg;
	return true;
}

/* Pick one preserved stream; returns it in r[0]. */
static const struct gen_stream *pick_stream(struct base *b, u64 *rng, struct refusal *r,
					    bool (*pred)(const struct base *, u32,
							 const struct gen_stream *, const void *))
{
	struct refusal cand[1024];
	u32 n = preserved_where(b, cand, 1024, pred, NULL);

	if (!n)
		return NULL;
	r[0] = cand[arena_rand_below(rng, n)];
	return gen_stream_find(b->g, r[0].si, r[0].sid);
}

/* Any byte of an STE in memory differs from the reference copy: -SKHO_E_STE_LOST. */
static void ste_byte_changed_in_memory_is_refused_ste_lost(struct ktest *t)
{
	unsigned int i;

	for (i = 0; i < 2 * NR_SEEDS; i++) {
		struct refusal r[1];
		struct base b;
		struct outcome o;
		const struct gen_stream *st;
		u64 rng = case_seed(t, i) ^ 0x51;
		u8 *p;

		if (!base_new(t, &b, case_seed(t, i), false))
			return;
		st = pick_stream(&b, &rng, r, pred_any);
		KASSERT(t, st);
		p = arena_ptr(b.h.b, st->ste_pa, 64);
		p[arena_rand_below(&rng, 64)] ^= (u8)(1 + arena_rand_below(&rng, 255));
		run(&b, b.h.fdt, b.h.fdt_size, b.h.b, &o);
		expect_refused(t, &b, &o, r, 1, -SKHO_E_STE_LOST, "STE byte in memory");
		outcome_free(&o);
		base_free(&b);
	}
}

/*
 * The reference copy in the FDT no longer matches its own ste_digest: the
 * handed-over record is corrupt, whatever memory says: -SKHO_E_DIGEST.
 */
static void reference_ste_changed_in_fdt_is_refused_digest(struct ktest *t)
{
	unsigned int i;

	for (i = 0; i < NR_SEEDS; i++) {
		struct refusal r[1];
		struct base b;
		struct outcome o;
		struct blob x;
		u64 rng = case_seed(t, i) ^ 0x52;
		u8 *rec;

		if (!base_new(t, &b, case_seed(t, i), false))
			return;
		KASSERT(t, pick_stream(&b, &rng, r, pred_any));
		blob_dup(&b, &x);
		rec = stream_rec(&x, &b, r[0].si, r[0].sid);
		KASSERT(t, rec);
		rec[offsetof(struct skho_abi_stream, ste) + arena_rand_below(&rng, 64)] ^= 0x20;
		run(&b, x.p, x.size, b.h.b, &o);
		expect_refused(t, &b, &o, r, 1, -SKHO_E_DIGEST, "reference STE in the FDT");
		outcome_free(&o);
		free(x.p);
		base_free(&b);
	}
}

/*
 * STE.Config set to a reserved value (1..3).  In memory only: it differs
 * from the reference, -SKHO_E_STE_LOST.  In memory and in the FDT alike,
 * digest recomputed: the decoder refuses it, -SKHO_E_STE.
 */
static void reserved_config_is_refused_ste_lost_or_ste(struct ktest *t)
{
	unsigned int i;

	for (i = 0; i < 2 * NR_SEEDS; i++) {
		struct refusal r[1];
		struct base b;
		struct outcome o;
		struct blob x;
		u64 rng = case_seed(t, i) ^ 0x53, w0;
		const struct gen_stream *st;
		bool consistent = i & 1;
		u8 ste[64];

		if (!base_new(t, &b, case_seed(t, i), false))
			return;
		st = pick_stream(&b, &rng, r, pred_any);
		KASSERT(t, st);
		memcpy(ste, arena_ptr(b.h.b, st->ste_pa, 64), 64);
		w0 = skho_ld_le64(ste) & ~SMMU_STE0_CONFIG;
		w0 |= SKHO_FIELD_PREP(SMMU_STE0_CONFIG, 1 + arena_rand_below(&rng, 3));
		w0 = skho_cpu_to_le64(w0);
		memcpy(ste, &w0, 8);
		memcpy(arena_ptr(b.h.b, st->ste_pa, 64), ste, 64);
		blob_dup(&b, &x);
		if (consistent)
			set_reference(stream_rec(&x, &b, r[0].si, r[0].sid), ste);
		run(&b, x.p, x.size, b.h.b, &o);
		expect_refused(t, &b, &o, r, 1, consistent ? -SKHO_E_STE : -SKHO_E_STE_LOST,
			       consistent ? "reserved Config, FDT and memory" :
					    "reserved Config in memory");
		outcome_free(&o);
		free(x.p);
		base_free(&b);
	}
}

/* An SMMU with at least @min preserved streams, or -1. */
static int smmu_with(const struct base *b, u32 min)
{
	u32 si;

	for (si = 0; si < b->g->nr_smmus; si++)
		if (b->h.nr_sids[si] >= min)
			return (int)si;
	return -1;
}

/* Two records with one SID: the parser refuses the blob, -SKHO_E_SID. */
static void duplicated_sid_is_refused_by_parse(struct ktest *t)
{
	struct base b;
	struct outcome o;
	struct blob x;
	int si, len;
	u8 *p;

	if (!base_new(t, &b, t->seed, false))
		return;
	si = smmu_with(&b, 2);
	KASSERT(t, si >= 0, "no SMMU with two preserved streams");
	blob_dup(&b, &x);
	p = prop_w(&x, b.g->smmu[si].mmio_base, SKHO_PROP_STREAMS, &len);
	KASSERT(t, p && len >= 2 * (int)sizeof(struct skho_abi_stream));
	memcpy(p + sizeof(struct skho_abi_stream), p, 4);	/* streams[1].sid = streams[0].sid */
	run(&b, x.p, x.size, b.h.b, &o);
	KEXPECT_EQ(t, o.parse, -SKHO_E_SID);
	outcome_free(&o);
	free(x.p);
	base_free(&b);
}

/* Run 1 made to touch run 0 (skip 0): -SKHO_E_RANGES from the parser. */
static void touching_runs_are_refused_by_parse(struct ktest *t)
{
	const struct skho_ranges *rs = NULL;
	struct base b;
	struct outcome o;
	struct blob x;
	u32 si;

	if (!base_new(t, &b, t->seed, false))
		return;
	blob_dup(&b, &x);
	for (si = 0; si < b.g->nr_smmus; si++) {
		rs = skho_snapshot_ranges(b.h.snap, si);
		if (rs && rs->nr >= 2)
			break;
	}
	KASSERT(t, rs && rs->nr >= 2, "no SMMU with two runs");
	KASSERT(t, ranges_set(&x, b.g->smmu[si].mmio_base, rs, 1), "rewrite");
	run(&b, x.p, x.size, b.h.b, &o);
	KEXPECT_EQ(t, o.parse, -SKHO_E_RANGES);
	outcome_free(&o);
	/* the same rewrite without the touch is the valid blob again */
	KASSERT(t, ranges_set(&x, b.g->smmu[si].mmio_base, rs, ~0u), "rewrite");
	run(&b, x.p, x.size, b.h.b, &o);
	KEXPECT_EQ(t, o.parse, 0);
	outcome_free(&o);
	free(x.p);
	base_free(&b);
}

static void unknown_compatible_is_refused_by_parse(struct ktest *t)
{
	struct base b;
	struct outcome o;
	struct blob x;
	char *c;
	int len;

	if (!base_new(t, &b, t->seed, false))
		return;
	blob_dup(&b, &x);
	c = fdt_getprop_w(x.p, 0, SKHO_PROP_COMPATIBLE, &len);
	KASSERT(t, c && len == sizeof(SKHO_ABI_COMPATIBLE));
	c[len - 2] = '9';	/* "smmu-kho-v9": a major this kernel does not know */
	run(&b, x.p, x.size, b.h.b, &o);
	KEXPECT_EQ(t, o.parse, -SKHO_E_COMPAT);
	outcome_free(&o);
	free(x.p);
	base_free(&b);
}

struct range_pick {
	u32 si;
	struct skho_range r;
};

static bool overlaps(u64 a, u64 as, u64 b, u64 bs)
{
	return a < b + bs && b < a + as;
}

static bool pred_uses_range(const struct base *b, u32 si, const struct gen_stream *st,
			    const void *arg)
{
	const struct range_pick *p = arg;

	return si == p->si && gen_stream_uses(b->g, si, st, p->r.pa, p->r.size);
}

/*
 * A preserved range that holds page-table pages only (no stream table, no
 * CD table of a preserved stream), so that nothing but the fence can notice.
 */
static bool pick_pt_only_range(const struct base *b, u64 *rng, struct range_pick *out,
			       u32 *idx)
{
	u32 tries;

	for (tries = 0; tries < 200; tries++) {
		u32 si = (u32)arena_rand_below(rng, b->g->nr_smmus);
		const struct gen_smmu *s = &b->g->smmu[si];
		const struct skho_ranges *rs = skho_snapshot_ranges(b->h.snap, si);
		const struct skho_range *r;
		bool bad = false, pt_page = false;
		u32 i, k, j;

		if (!rs || rs->nr < 2)
			continue;
		*idx = (u32)arena_rand_below(rng, rs->nr);
		r = &rs->r[*idx];
		bad = overlaps(r->pa, r->size, s->strtab_pa, s->strtab_bytes);
		for (i = 0; s->two_level && i < s->nr_l1 && !bad; i++)
			bad = s->l2[i] && overlaps(r->pa, r->size, s->l2[i], 64ULL << s->split);
		for (k = 0; k < b->h.nr_sids[si] && !bad; k++) {
			const struct gen_stream *st = gen_stream_find(b->g, si, b->h.sids[si][k]);

			if (st->kind != GEN_STE_S1)
				continue;
			for (j = 0; j < st->cdt->nr_page && !bad; j++)
				bad = overlaps(r->pa, r->size, st->cdt->page[j].pa,
					       st->cdt->page[j].size);
		}
		for (k = 0; k < s->nr_pt && !bad && !pt_page; k++)
			for (j = 0; j < s->pt[k]->nr_page && !s->pt[k]->vm; j++)
				pt_page |= overlaps(r->pa, r->size, s->pt[k]->page[j].pa,
						    s->pt[k]->page[j].size);
		if (bad || !pt_page)
			continue;
		out->si = si;
		out->r = *r;
		return true;
	}
	return false;
}

/*
 * One preserved range is missing from the FDT while its bytes are still in
 * memory: the tables in it are outside the ranges, -SKHO_E_OUTSIDE for each
 * preserved stream that uses them, the others adopted.
 */
static void range_removed_puts_a_table_outside(struct ktest *t)
{
	unsigned int i, done = 0;

	for (i = 0; i < 4 * NR_SEEDS && done < NR_SEEDS; i++) {
		struct refusal r[512];
		struct range_pick rp;
		struct base b;
		struct outcome o;
		struct blob x;
		u64 rng = case_seed(t, i) ^ 0x1234;
		u32 idx, n;

		if (!base_new(t, &b, case_seed(t, i), false))
			return;
		if (!pick_pt_only_range(&b, &rng, &rp, &idx)) {
			base_free(&b);
			continue;	/* every range mixes in a stream or CD table */
		}
		done++;
		n = preserved_where(&b, r, 512, pred_uses_range, &rp);
		blob_dup(&b, &x);
		{
			const struct skho_ranges *rs = skho_snapshot_ranges(b.h.snap, rp.si);
			struct skho_ranges less = { 0 };
			u32 k;

			for (k = 0; k < rs->nr; k++)
				if (k != idx)
					skho_ranges_add(&less, rs->r[k].pa, rs->r[k].size);
			KASSERT(t, less.nr + 1 == rs->nr &&
				   ranges_set(&x, b.g->smmu[rp.si].mmio_base, &less, ~0u));
			skho_ranges_free(&less);
		}
		run(&b, x.p, x.size, b.h.b, &o);
		expect_refused(t, &b, &o, r, n, -SKHO_E_OUTSIDE, "range removed");
		outcome_free(&o);
		free(x.p);
		base_free(&b);
	}
	KEXPECT(t, done > 0, "no range holding only page tables in %u states", i);
}

static bool pred_uses_asid(const struct base *b, u32 si, const struct gen_stream *st,
			   const void *arg)
{
	const u32 *want = arg;	/* [si, asid] */

	(void)b;
	return si == want[0] && gen_stream_uses_asid(st, (u16)want[1]);
}

/* An ASID a preserved stream uses is missing from asids: -SKHO_E_LISTING. */
static void asid_missing_from_asids_is_refused_listing(struct ktest *t)
{
	unsigned int i;

	for (i = 0; i < NR_SEEDS; i++) {
		struct refusal r[512];
		struct base b;
		struct outcome o;
		struct blob x;
		u64 rng = case_seed(t, i) ^ 0x4a;
		const struct gen_stream *st;
		u32 want[2], n, k;
		int len;
		const u8 *p;

		if (!base_new(t, &b, case_seed(t, i), false))
			return;
		st = pick_stream(&b, &rng, r, pred_s1);
		KASSERT(t, st && st->cdt->nr_cd);
		want[0] = r[0].si;
		want[1] = st->cdt->cd[arena_rand_below(&rng, st->cdt->nr_cd)].asid;
		n = preserved_where(&b, r, 512, pred_uses_asid, want);
		blob_dup(&b, &x);
		p = prop_w(&x, b.g->smmu[want[0]].mmio_base, SKHO_PROP_ASIDS, &len);
		KASSERT(t, p);
		for (k = 0; k * 4 < (u32)len && skho_fdt_ld32(p + 4 * k) != want[1]; k++)
			;
		KASSERT(t, k * 4 < (u32)len, "ASID 0x%x not listed", want[1]);
		KASSERT(t, prop_drop(&x, b.g->smmu[want[0]].mmio_base, SKHO_PROP_ASIDS, 4, k));
		run(&b, x.p, x.size, b.h.b, &o);
		expect_refused(t, &b, &o, r, n, -SKHO_E_LISTING, "ASID missing");
		outcome_free(&o);
		free(x.p);
		base_free(&b);
	}
}

/* ---- random corruptions ------------------------------------------------------ */

/* Probes of one preserved stream: access and its result on A (before kexec). */
struct probe {
	u32 sid, ssid;
	bool ssv, write;
	u64 iova;
	struct skho_xlate a;
};

struct probes {
	struct probe *p;
	u32 nr, cap;
	u32 *first[GEN_MAX_SMMUS];	/* per preserved SID index: first probe */
};

static void probe_add(struct probes *ps, const struct gen_state *g, u32 si,
		      const struct gen_ctx *c, u64 iova, bool write)
{
	struct probe *p;

	if (ps->nr == ps->cap) {
		ps->cap = ps->cap ? 2 * ps->cap : 1024;
		ps->p = realloc(ps->p, ps->cap * sizeof(*ps->p));
		if (!ps->p)
			abort();
	}
	p = &ps->p[ps->nr++];
	*p = (struct probe){ .sid = c->sid, .ssid = c->ssid, .ssv = c->ssv, .write = write,
			     .iova = iova };
	p->a = (struct skho_xlate){ .sid = c->sid, .ssid = c->ssid, .ssv = c->ssv,
				    .write = write, .iova = iova };
	skho_translate(&g->smmu[si].hw, &p->a);
}

static void probes_build(struct probes *ps, const struct base *b, u64 *rng)
{
	const struct gen_state *g = b->g;
	u32 si, k, c, n;

	memset(ps, 0, sizeof(*ps));
	for (si = 0; si < g->nr_smmus; si++) {
		ps->first[si] = calloc(b->h.nr_sids[si] + 1, sizeof(u32));
		if (!ps->first[si])
			abort();
		for (k = 0; k < b->h.nr_sids[si]; k++) {
			struct gen_ctx ctx[64];

			ps->first[si][k] = ps->nr;
			n = gen_stream_ctxs(g, si, gen_stream_find(g, si, b->h.sids[si][k]), ctx, 64);
			for (c = 0; c < n; c++) {
				const struct gen_pt *pt = ctx[c].s1 ? ctx[c].s1 : ctx[c].s2;

				probe_add(ps, g, si, &ctx[c], 0x3000, false);
				if (pt && pt->nr_leaf && !ctx[c].fault) {
					const struct gen_leaf *l =
						&pt->leaf[arena_rand_below(rng, pt->nr_leaf)];

					probe_add(ps, g, si, &ctx[c],
						  l->iova + arena_rand_below(rng, l->size), c & 1);
				}
			}
		}
		ps->first[si][b->h.nr_sids[si]] = ps->nr;
	}
}

static void probes_free(struct probes *ps)
{
	u32 si;

	for (si = 0; si < GEN_MAX_SMMUS; si++)
		free(ps->first[si]);
	free(ps->p);
}

/* Index of @sid among SMMU @si's preserved SIDs, or -1. */
static int preserved_idx(const struct base *b, u32 si, u32 sid)
{
	u32 k;

	for (k = 0; k < b->h.nr_sids[si]; k++)
		if (b->h.sids[si][k] == sid)
			return (int)k;
	return -1;
}

struct table_runs {
	struct gen_leaf *r;
	u32 n, cap;
	bool bad;
};

static int tr_run(void *arg, u64 iova, u64 pa, u64 size, u32 prot)
{
	struct table_runs *w = arg;

	if (w->n >= w->cap || w->r[w->n].iova != iova || w->r[w->n].pa != pa ||
	    w->r[w->n].size != size || w->r[w->n].prot != prot)
		w->bad = true;
	w->n++;
	return 0;
}

/* Every host table @st uses enumerates on @mem exactly its shadow runs. */
static bool tables_intact(const struct gen_stream *st, const struct arena *mem)
{
	const struct gen_pt *pts[64];
	u32 n = 0, i;
	bool ok = true;

	if (st->s2)
		pts[n++] = st->s2;
	for (i = 0; st->kind == GEN_STE_S1 && i < st->cdt->nr_cd && n < 64; i++)
		pts[n++] = st->cdt->cd[i].pt;
	for (i = 0; i < n && ok; i++) {
		struct table_runs w = { 0 };
		struct skho_pt_visitor v = { .run = tr_run, .arg = &w };

		w.cap = gen_pt_runs(pts[i], &w.r);
		ok = !skho_pt_walk(&pts[i]->cfg, arena_mem(mem), &v, NULL) && !w.bad &&
		     w.n == w.cap;
		free(w.r);
	}
	return ok;
}

/*
 * The property of the header comment for one outcome.  Returns the number
 * of adopted streams checked.
 */
static u32 check_adopted(struct ktest *t, const struct base *b, const struct probes *ps,
			 const struct outcome *o, const struct arena *mem, u64 flipped,
			 const char *what)
{
	u32 i, k, q, checked = 0;

	if (o->parse)
		return 0;
	for (i = 0; i < o->ho.nr_smmus; i++) {
		struct skho_smmu hb;
		int gi = o->gi[i];

		if (gi < 0)
			continue;	/* no such SMMU here: nothing can be adopted */
		gen_ho_smmu(&o->ho.smmu[i], mem, &hb);
		for (k = 0; k < o->v[i].nr; k++) {
			const struct gen_verdict *v = &o->v[i].v[k];
			int pk = preserved_idx(b, (u32)gi, v->sid);
			u32 from, to;

			if (v->code)
				continue;
			checked++;
			if (pk < 0) {
				/* adopting a SID the old kernel did not preserve */
				struct gen_ctx c;
				struct skho_xlate a = { .sid = v->sid, .iova = 0x3000 }, x = a;

				gen_ctx_get(b->g, (u32)gi, v->sid, false, 0, &c);
				skho_translate(&b->g->smmu[gi].hw, &a);
				skho_translate(&hb, &x);
				KEXPECT(t, a.fault == SKHO_XLATE_OK ? x.fault == SKHO_XLATE_OK &&
					a.pa == x.pa : x.fault != SKHO_XLATE_OK,
					"seed 0x%" PRIx64 " %s: adopted unpreserved SID 0x%x: %s, was %s",
					b->seed, what, v->sid, skho_fault_name(x.fault),
					skho_fault_name(a.fault));
				continue;
			}
			from = ps->first[gi][pk];
			to = ps->first[gi][pk + 1];
			for (q = from; q < to; q++) {
				const struct probe *p = &ps->p[q];
				struct skho_xlate x = { .sid = p->sid, .ssid = p->ssid, .ssv = p->ssv,
							.write = p->write, .iova = p->iova };

				skho_translate(&hb, &x);
				if (p->a.fault == SKHO_XLATE_OK ?
				    x.fault != SKHO_XLATE_OK || x.pa != p->a.pa || x.prot != p->a.prot :
				    x.fault == SKHO_XLATE_OK) {
					ktest_fail(t, __FILE__, __LINE__, "seed 0x%" PRIx64 " %s: adopted"
						   " SID 0x%x ssid %s0x%x iova 0x%" PRIx64 ": %s 0x%" PRIx64
						   ", before kexec %s 0x%" PRIx64, b->seed, what, p->sid,
						   p->ssv ? "" : "none/", p->ssid, p->iova,
						   skho_fault_name(x.fault), x.pa,
						   skho_fault_name(p->a.fault), p->a.pa);
					break;
				}
			}
			if (flipped != ~0ULL) {
				const struct gen_stream *st = gen_stream_find(b->g, (u32)gi, v->sid);

				/* only a stream depending on the corrupted byte can see it */
				if (gen_stream_uses(b->g, (u32)gi, st, flipped, 1))
					KEXPECT(t, tables_intact(st, mem),
						"seed 0x%" PRIx64 " %s: adopted SID 0x%x uses a"
						" table whose translation changed", b->seed, what,
						v->sid);
			}
		}
	}
	return checked;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#define NR_FDT_FLIPS	2500
#define NR_MEM_FLIPS	2000
#define MAX_LIVE	(1u << 16)	/* non-zero words a flip may target */

static void random_fdt_byte_never_adopts_a_changed_translation(struct ktest *t)
{
	struct base b;
	struct probes ps;
	u64 rng = t->seed ^ 0xf00d, adopted = 0;
	u32 i, parsed = 0, refused_all = 0;
	double t0 = now_s();

	if (!base_new(t, &b, t->seed, true))
		return;
	probes_build(&ps, &b, &rng);
	for (i = 0; i < NR_FDT_FLIPS && t->failed < 8; i++) {
		struct outcome o;
		struct blob x;
		size_t off;
		u32 k, j, nref = 0;

		blob_dup(&b, &x);
		off = arena_rand_below(&rng, x.size);
		x.p[off] ^= (u8)(1 + arena_rand_below(&rng, 255));
		run(&b, x.p, x.size, b.h.b, &o);
		parsed += !o.parse;
		adopted += check_adopted(t, &b, &ps, &o, b.h.b, ~0ULL, "FDT byte flip");
		for (k = 0; !o.parse && k < o.ho.nr_smmus; k++)
			for (j = 0; j < o.v[k].nr; j++)
				nref += !!o.v[k].v[j].code;
		refused_all += o.parse || nref;
		outcome_free(&o);
		free(x.p);
	}
	ktest_diag("%u FDT flips: %u parsed, %u caught (parse or refusal), %" PRIu64
		   " adoptions checked, %.2f s", i, parsed, refused_all, adopted, now_s() - t0);
	probes_free(&ps);
	base_free(&b);
}

static void random_memory_byte_never_adopts_a_changed_translation(struct ktest *t)
{
	struct base b;
	static u64 live[MAX_LIVE];
	struct probes ps;
	u64 rng = t->seed ^ 0xbeef, adopted = 0;
	u32 i, k0, nr_live = 0, refusing = 0;
	double t0 = now_s();

	if (!base_new(t, &b, t->seed, true))
		return;
	probes_build(&ps, &b, &rng);
	/*
	 * Most preserved bytes are unused table entries; aim three flips in
	 * four at a byte of a non-zero word (a live STE, L1 descriptor, CD or
	 * table descriptor) so the property is exercised where it matters.
	 */
	for (k0 = 0; k0 < b.h.nr_ranges; k0++) {
		const struct skho_range *r = &b.h.ranges[k0];
		u64 w;

		for (w = r->pa & ~7ull; w + 8 <= r->pa + r->size && nr_live < MAX_LIVE; w += 8) {
			const u8 *q = arena_ptr(b.h.b, w, 8);

			if (q && w >= r->pa && memcmp(q, "\0\0\0\0\0\0\0\0", 8))
				live[nr_live++] = w;
		}
	}
	for (i = 0; i < NR_MEM_FLIPS && t->failed < 8; i++) {
		const struct skho_range *r = &b.h.ranges[arena_rand_below(&rng, b.h.nr_ranges)];
		u64 pa = nr_live && arena_rand_below(&rng, 4) ?
			 live[arena_rand_below(&rng, nr_live)] + arena_rand_below(&rng, 8) :
			 r->pa + arena_rand_below(&rng, r->size);
		u8 *p = arena_ptr(b.h.b, pa, 1), old;
		struct outcome o;
		u32 k, j, nref = 0;

		KASSERT(t, p, "preserved byte 0x%" PRIx64 " not in B", pa);
		old = *p;
		*p ^= (u8)(1 + arena_rand_below(&rng, 255));
		run(&b, b.h.fdt, b.h.fdt_size, b.h.b, &o);
		adopted += check_adopted(t, &b, &ps, &o, b.h.b, pa, "memory byte flip");
		for (k = 0; !o.parse && k < o.ho.nr_smmus; k++)
			for (j = 0; j < o.v[k].nr; j++)
				nref += !!o.v[k].v[j].code;
		refusing += nref > 0;
		outcome_free(&o);
		*p = old;
	}
	ktest_diag("%u memory flips: %u led to refusals, %" PRIu64 " adoptions checked, %.2f s",
		   i, refusing, adopted, now_s() - t0);
	probes_free(&ps);
	base_free(&b);
}

/* The unmutated base: everything adopted (else the cases above prove nothing). */
static void unmutated_handover_adopts_every_preserved_stream(struct ktest *t)
{
	struct base b;
	struct outcome o;
	u32 i, k;

	if (!base_new(t, &b, t->seed, false))
		return;
	run(&b, b.h.fdt, b.h.fdt_size, b.h.b, &o);
	KEXPECT(t, o.parse == 0, "%s", o.err.msg);
	for (i = 0; !o.parse && i < o.ho.nr_smmus; i++) {
		KEXPECT_EQ(t, o.v[i].ret, 0);
		for (k = 0; k < o.v[i].nr; k++)
			KEXPECT(t, o.v[i].v[k].code == 0, "SID 0x%x: %s", o.v[i].v[k].sid,
				skho_strerror(o.v[i].v[k].code));
	}
	outcome_free(&o);
	base_free(&b);
}

KTEST_MAIN("mutation",
	   KTEST_CASE(unmutated_handover_adopts_every_preserved_stream),
	   KTEST_CASE(truncated_blob_is_refused_at_every_length),
	   KTEST_CASE(ste_cd_pointer_outside_ranges_is_refused_outside),
	   KTEST_CASE(table_descriptor_outside_ranges_is_refused_outside),
	   KTEST_CASE(pte_output_address_change_is_refused_digest),
	   KTEST_CASE(ste_byte_changed_in_memory_is_refused_ste_lost),
	   KTEST_CASE(reference_ste_changed_in_fdt_is_refused_digest),
	   KTEST_CASE(reserved_config_is_refused_ste_lost_or_ste),
	   KTEST_CASE(duplicated_sid_is_refused_by_parse),
	   KTEST_CASE(touching_runs_are_refused_by_parse),
	   KTEST_CASE(range_removed_puts_a_table_outside),
	   KTEST_CASE(unknown_compatible_is_refused_by_parse),
	   KTEST_CASE(asid_missing_from_asids_is_refused_listing),
	   KTEST_CASE(random_fdt_byte_never_adopts_a_changed_translation),
	   KTEST_CASE(random_memory_byte_never_adopts_a_changed_translation))
