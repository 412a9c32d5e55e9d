// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* smmu-kho core: what one stream depends on, and its canonical translation digest. */
#include "skho_handover.h"

/* 'S2' in the xlat digest: tags the stage-2 table digest of S2/nested STEs. */
#define SKHO_XLAT_TAG_S2	0x3253ULL

int skho_strtab_geo(u64 strtab_base, u32 strtab_cfg, struct skho_strtab_geo *g,
		    struct skho_err *err)
{
	u32 fmt = SKHO_FIELD_GET(SMMU_STRTAB_BASE_CFG_FMT, strtab_cfg);
	u32 split = SKHO_FIELD_GET(SMMU_STRTAB_BASE_CFG_SPLIT, strtab_cfg);
	u32 lg2 = SKHO_FIELD_GET(SMMU_STRTAB_BASE_CFG_LOG2SIZE, strtab_cfg);
	u64 cfg_known = SMMU_STRTAB_BASE_CFG_FMT | SMMU_STRTAB_BASE_CFG_SPLIT |
			SMMU_STRTAB_BASE_CFG_LOG2SIZE;

	if (strtab_cfg & ~cfg_known)
		return skho_fail(err, SKHO_E_SMMU, SKHO_NO_SID, strtab_base,
				 "strtab-base-cfg %#x: reserved bits set", strtab_cfg);
	if (strtab_base & ~(SMMU_STRTAB_BASE_ADDR | SMMU_STRTAB_BASE_RA))
		return skho_fail(err, SKHO_E_SMMU, SKHO_NO_SID, strtab_base,
				 "strtab-base %#llx: reserved bits set",
				 (unsigned long long)strtab_base);
	g->base = strtab_base & SMMU_STRTAB_BASE_ADDR;
	g->log2size = lg2;
	g->split = 0;
	if (fmt == SMMU_STRTAB_FMT_LINEAR) {
		if (lg2 > SKHO_MAX_LG2_LINEAR_STRTAB)
			return skho_fail(err, SKHO_E_SMMU, SKHO_NO_SID, g->base,
					 "linear stream table LOG2SIZE %u > %u", lg2,
					 SKHO_MAX_LG2_LINEAR_STRTAB);
		g->two_level = 0;
		g->l1_size = 64ULL << lg2;
		g->base &= ~(g->l1_size - 1);	/* the SMMU ignores lower bits */
		return 0;
	}
	if (fmt != SMMU_STRTAB_FMT_2LVL)
		return skho_fail(err, SKHO_E_SMMU, SKHO_NO_SID, g->base,
				 "strtab-base-cfg FMT %u is reserved", fmt);
	if (split != 6 && split != 8 && split != 10)
		return skho_fail(err, SKHO_E_SMMU, SKHO_NO_SID, g->base,
				 "2-level stream table SPLIT %u (not 6, 8 or 10)", split);
	if (lg2 > SKHO_MAX_LG2_STRTAB)
		return skho_fail(err, SKHO_E_SMMU, SKHO_NO_SID, g->base,
				 "2-level stream table LOG2SIZE %u > %u", lg2,
				 SKHO_MAX_LG2_STRTAB);
	g->two_level = 1;
	g->split = split;
	g->l1_size = 8ULL << (lg2 > split ? lg2 - split : 0);
	g->base &= ~((g->l1_size < 64 ? 64 : g->l1_size) - 1);
	return 0;
}

/* Prefix @err's message with the stream (callee reports do not know it). */
static int in_stream(struct skho_err *err, int ret, u32 sid, const char *what)
{
	char msg[sizeof(err->msg)];

	if (!err || ret >= 0)
		return ret;
	memcpy(msg, err->msg, sizeof(msg));
	msg[sizeof(msg) - 1] = '\0';
	return skho_fail(err, -ret, sid, err->addr, "SID %#x %s: %s", sid, what, msg);
}

static int report_table(const struct skho_stream_visitor *v, u64 pa, u64 size)
{
	return v->table ? v->table(v->arg, pa, size) : 0;
}

int skho_stream_locate(const struct skho_smmu *smmu, const struct skho_strtab_geo *g,
		       u32 sid, const struct skho_stream_visitor *v, u64 *ste_pa,
		       const u8 **ste, struct skho_err *err)
{
	u64 pa, desc, l2, l2_size, idx;
	const void *p;
	u32 span;
	int ret;

	if ((u64)sid >> g->log2size)
		return skho_fail(err, SKHO_E_SID, sid, g->base,
				 "SID %#x beyond stream table of 2^%u entries",
				 sid, g->log2size);
	ret = report_table(v, g->base, g->l1_size);
	if (ret)
		return ret;
	if (!g->two_level) {
		pa = g->base + ((u64)sid << SMMU_STE_LG2SIZE);
	} else {
		pa = g->base + (u64)(sid >> g->split) * SMMU_L1STD_SIZE;
		p = skho_map(smmu->mem, pa, SMMU_L1STD_SIZE);
		if (!p)
			return skho_fail(err, SKHO_E_OUTSIDE, sid, pa,
					 "SID %#x: L1STD at %#llx not readable", sid,
					 (unsigned long long)pa);
		desc = skho_ld_le64(p);
		span = SKHO_FIELD_GET(SMMU_L1STD_SPAN, desc);
		if (span == 0 || span > (u32)g->split + 1)
			return skho_fail(err, SKHO_E_SID, sid, pa,
					 "SID %#x: L1STD at %#llx has Span %u (valid 1..%u)",
					 sid, (unsigned long long)pa, span, g->split + 1);
		idx = sid & ((1u << g->split) - 1);
		l2_size = 64ULL << (span - 1);
		/* L2Ptr[5 + Span - 1:0] are taken as 0, as the SMMU does */
		l2 = desc & SMMU_L1STD_L2PTR & ~(l2_size - 1);
		if (idx >> (span - 1))
			return skho_fail(err, SKHO_E_SID, sid, l2,
					 "SID %#x beyond the 2^%u STEs of its L2 table at %#llx",
					 sid, span - 1, (unsigned long long)l2);
		ret = report_table(v, l2, l2_size);
		if (ret)
			return ret;
		pa = l2 + (idx << SMMU_STE_LG2SIZE);
	}
	*ste = skho_map(smmu->mem, pa, 1u << SMMU_STE_LG2SIZE);
	if (!*ste)
		return skho_fail(err, SKHO_E_OUTSIDE, sid, pa,
				 "SID %#x: STE at %#llx not readable", sid,
				 (unsigned long long)pa);
	*ste_pa = pa;
	return 0;
}

struct cd_walk {
	const struct skho_smmu *smmu;
	const struct skho_stream_visitor *v;
	struct skho_digest *d;
	struct skho_err *err;
	u32 sid;
	u32 nr_valid;
};

static int visit_cd(struct cd_walk *w, u32 ssid, u64 cd_pa, const u8 *cd)
{
	struct skho_cd_info ci;
	u64 td = 0;
	int ret;

	ret = skho_cd_decode(cd, w->smmu->oas, &ci, w->err);
	if (ret) {
		if (w->err)
			w->err->addr = cd_pa;
		return in_stream(w->err, ret, w->sid, "CD");
	}
	if (!ci.valid)
		return 0;
	w->nr_valid++;
	if (w->v->asid) {
		ret = w->v->asid(w->v->arg, ci.asid);
		if (ret)
			return ret;
	}
	if (!ci.epd0 && w->v->pt_digest) {
		ret = w->v->pt_digest(w->v->arg, &ci.s1, &td, w->err);
		if (ret)
			return ret;
	}
	skho_digest_u64(w->d, ssid);
	skho_digest_update(w->d, cd, 64);
	skho_digest_u64(w->d, td);
	return 0;
}

static int map_table(struct cd_walk *w, u64 pa, u64 size, const char *what,
		     const u8 **out)
{
	int ret = report_table(w->v, pa, size);

	if (ret)
		return ret;
	*out = skho_map(w->smmu->mem, pa, size);
	if (!*out)
		return skho_fail(w->err, SKHO_E_OUTSIDE, w->sid, pa,
				 "SID %#x: %s at %#llx (%#llx bytes) not readable",
				 w->sid, what, (unsigned long long)pa,
				 (unsigned long long)size);
	return 0;
}

/* Every CD of a stage-1 STE, in SSID order. */
static int visit_cds(struct cd_walk *w, const struct skho_ste_info *si)
{
	u32 cdmax = si->s1cdmax, split, i, j, nr_l1, nr_l2;
	const u8 *tab, *l2;
	int ret;

	if (cdmax > SKHO_MAX_CDMAX)
		return skho_fail(w->err, SKHO_E_STE, w->sid, si->s1ctxptr,
				 "SID %#x: S1CDMax %u > %u", w->sid, cdmax,
				 SKHO_MAX_CDMAX);
	if (cdmax == 0 || si->s1fmt == SMMU_CD_FMT_LINEAR) {
		u32 n = 1u << cdmax;

		ret = map_table(w, si->s1ctxptr, (u64)n * 64, "CD table", &tab);
		for (i = 0; !ret && i < n; i++)
			ret = visit_cd(w, i, si->s1ctxptr + (u64)i * 64, tab + (size_t)i * 64);
		return ret;
	}
	if (si->s1fmt != SMMU_CD_FMT_2LVL_4K && si->s1fmt != SMMU_CD_FMT_2LVL_64K)
		return skho_fail(w->err, SKHO_E_STE, w->sid, si->s1ctxptr,
				 "SID %#x: S1Fmt %u is reserved", w->sid, si->s1fmt);
	split = si->s1fmt == SMMU_CD_FMT_2LVL_4K ? 6 : 10;
	nr_l1 = 1u << (cdmax > split ? cdmax - split : 0);
	nr_l2 = 1u << (cdmax < split ? cdmax : split);
	ret = map_table(w, si->s1ctxptr, (u64)nr_l1 * SMMU_L1CD_SIZE, "L1CD table", &tab);
	for (i = 0; !ret && i < nr_l1; i++) {
		u64 desc = skho_ld_le64(tab + (size_t)i * SMMU_L1CD_SIZE);
		u64 l2pa = desc & SMMU_L1CD_L2PTR;

		if (!(desc & SMMU_L1CD_V))
			continue;
		ret = map_table(w, l2pa, (u64)nr_l2 * 64, "L2 CD table", &l2);
		for (j = 0; !ret && j < nr_l2; j++)
			ret = visit_cd(w, i << split | j, l2pa + (u64)j * 64,
				       l2 + (size_t)j * 64);
	}
	return ret;
}

int skho_stream_visit_ste(const struct skho_smmu *smmu, u32 sid, const u8 ste[64],
			  const struct skho_stream_visitor *v, u64 *xlat_digest,
			  struct skho_err *err)
{
	struct skho_ste_info si;
	struct skho_digest d;
	u64 td;
	int ret;

	if (!(skho_ld_le64(ste) & SMMU_STE0_V))
		return skho_fail(err, SKHO_E_STE, sid, 0, "SID %#x: STE.V == 0", sid);
	ret = skho_ste_decode(ste, smmu->oas, &si, err);
	if (ret)
		return in_stream(err, ret, sid, "STE");
	skho_digest_init(&d, 0);
	switch (si.config) {
	case SMMU_STE_CFG_ABORT:
		break;
	case SMMU_STE_CFG_BYPASS:
		/* No translation at all: the device reaches every address. */
		return skho_fail(err, SKHO_E_OUTPUT, sid, 0,
				 "SID %#x: bypass STE: the device reaches all memory", sid);
	case SMMU_STE_CFG_S2:
	case SMMU_STE_CFG_NESTED:
		/* Nested: the S1 tables are guest memory (IPA); only S2 counts. */
		if (v->vmid) {
			ret = v->vmid(v->arg, si.vmid);
			if (ret)
				return ret;
		}
		td = 0;
		if (v->pt_digest) {
			ret = v->pt_digest(v->arg, &si.s2, &td, err);
			if (ret)
				return ret;
		}
		skho_digest_u64(&d, SKHO_XLAT_TAG_S2);
		skho_digest_u64(&d, td);
		break;
	case SMMU_STE_CFG_S1: {
		struct cd_walk w = {
			.smmu = smmu, .v = v, .d = &d, .err = err, .sid = sid,
		};

		/* Transactions without an SSID would bypass stage 1. */
		if (si.s1cdmax && si.s1dss == SMMU_S1DSS_BYPASS)
			return skho_fail(err, SKHO_E_OUTPUT, sid, 0,
					 "SID %#x: STE.S1DSS bypass: untranslated DMA reaches all memory",
					 sid);

		ret = visit_cds(&w, &si);
		if (ret)
			return ret;
		if (!w.nr_valid)
			return skho_fail(err, SKHO_E_CD, sid, si.s1ctxptr,
					 "SID %#x: stage-1 STE without a valid CD (table at %#llx)",
					 sid, (unsigned long long)si.s1ctxptr);
		break;
	}
	default:
		return skho_fail(err, SKHO_E_STE, sid, 0, "SID %#x: STE.Config %u reserved",
				 sid, si.config);
	}
	if (xlat_digest)
		*xlat_digest = skho_digest_final(&d);
	return 0;
}

int skho_stream_visit(const struct skho_smmu *smmu, u32 sid, const u8 ste[64],
		      const struct skho_stream_visitor *v, u64 *xlat_digest,
		      struct skho_err *err)
{
	struct skho_strtab_geo g;
	const u8 *found;
	u64 pa;
	int ret;

	ret = skho_strtab_geo(smmu->strtab_base, smmu->strtab_cfg, &g, err);
	ret = ret ?: skho_stream_locate(smmu, &g, sid, v, &pa, &found, err);
	return ret ?: skho_stream_visit_ste(smmu, sid, ste, v, xlat_digest, err);
}
EXPORT_SYMBOL_NS_GPL(skho_stream_visit, "SMMU_KHO");

/* Runs are digested in batches: one skho_digest_update() per PT_DIG_BATCH. */
#define PT_DIG_BATCH	16

struct pt_dig {
	struct skho_digest d;
	const struct skho_pt_visitor *obs;
	u32 nr;				/* records in rec */
	u64 rec[PT_DIG_BATCH][4];	/* little-endian words */
};

static int pt_dig_table(void *arg, u64 pa, u64 size, unsigned int level)
{
	struct pt_dig *p = arg;

	return p->obs->table ? p->obs->table(p->obs->arg, pa, size, level) : 0;
}

static void pt_dig_flush(struct pt_dig *p)
{
	skho_digest_update(&p->d, p->rec, (size_t)p->nr * sizeof(p->rec[0]));
	p->nr = 0;
}

/* One record per maximal run: {iova, pa, size, prot} as 4 LE u64 = 32 bytes. */
static int pt_dig_run(void *arg, u64 iova, u64 pa, u64 size, u32 prot)
{
	struct pt_dig *p = arg;
	u64 *r = p->rec[p->nr];

	if (p->obs->run) {
		int ret = p->obs->run(p->obs->arg, iova, pa, size, prot);

		if (ret)
			return ret;
	}
	r[0] = skho_cpu_to_le64(iova);
	r[1] = skho_cpu_to_le64(pa);
	r[2] = skho_cpu_to_le64(size);
	r[3] = skho_cpu_to_le64(prot);
	if (++p->nr == PT_DIG_BATCH)
		pt_dig_flush(p);
	return 0;
}

int skho_pt_digest(const struct skho_pt_cfg *pt, const struct skho_mem *mem,
		   int (*table)(void *arg, u64 pa, u64 size, unsigned int level),
		   void *arg, u64 *digest, struct skho_err *err)
{
	struct skho_pt_visitor obs = { .table = table, .arg = arg };

	return skho_pt_digest_obs(pt, mem, &obs, digest, err);
}
EXPORT_SYMBOL_NS_GPL(skho_pt_digest, "SMMU_KHO");

int skho_pt_digest_obs(const struct skho_pt_cfg *pt, const struct skho_mem *mem,
		       const struct skho_pt_visitor *obs, u64 *digest,
		       struct skho_err *err)
{
	static const struct skho_pt_visitor none;
	struct pt_dig p = { .obs = obs ? obs : &none };
	struct skho_pt_visitor v = {
		.table = pt_dig_table, .run = pt_dig_run, .arg = &p,
	};
	int ret;

	skho_digest_init(&p.d, 0);
	ret = skho_pt_walk(pt, mem, &v, err);
	if (ret)
		return ret;
	pt_dig_flush(&p);
	*digest = skho_digest_final(&p.d);
	return 0;
}

/* True for an output size an SMMU can report (IDR5.OAS encodings). */
bool skho_oas_valid(u32 oas)
{
	static const u8 ps[] = SMMU_PS_BITS;
	u32 i;

	for (i = 0; i < sizeof(ps); i++)
		if (ps[i] == oas)
			return true;
	return false;
}
