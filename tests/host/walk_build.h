/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Test-only builders for the walker tests: flat memory, page/stream/CD tables. */
#ifndef WALK_BUILD_H
#define WALK_BUILD_H

#include <stdlib.h>
#include <string.h>

#include "skho_walk.h"
#include "smmu_kho_abi.h"

/*
 * Simulated physical memory: one zeroed window [base, base + size) handed
 * out by a bump allocator, with up to 8 unreadable holes.  map() fails
 * outside the window or when the range touches a hole.
 */
struct tmem {
	struct skho_mem mem;
	u8 *buf;
	u64 base, size, next;
	u64 hole_pa[8], hole_len[8];
	unsigned int nr_holes;
	u64 nr_map;
};

#define TM_BASE		0x40000000ULL	/* 1 GiB: well inside every oas */

static const void *tm_map(void *priv, u64 pa, u64 len)
{
	struct tmem *m = priv;
	unsigned int i;

	m->nr_map++;
	if (pa < m->base || pa - m->base > m->size ||
	    len > m->size - (pa - m->base))
		return NULL;
	for (i = 0; i < m->nr_holes; i++)
		if (pa < m->hole_pa[i] + m->hole_len[i] &&
		    m->hole_pa[i] < pa + len)
			return NULL;
	return m->buf + (pa - m->base);
}

static inline bool tm_init(struct tmem *m, u64 size)
{
	memset(m, 0, sizeof(*m));
	m->buf = calloc(1, size);
	m->base = TM_BASE;
	m->size = size;
	m->next = TM_BASE;
	m->mem.map = tm_map;
	m->mem.priv = m;
	return m->buf != NULL;
}

static inline void tm_fini(struct tmem *m)
{
	free(m->buf);
	m->buf = NULL;
}

/* Zeroed, @align-aligned (power of two); aborts when the window is full. */
static inline u64 tm_alloc(struct tmem *m, u64 size, u64 align)
{
	u64 pa = (m->next + align - 1) & ~(align - 1);

	if (pa + size > m->base + m->size)
		abort();	/* the test sized its window wrongly */
	m->next = pa + size;
	return pa;
}

/* A window that map() refuses: a fetch from it is an external abort. */
static inline u64 tm_hole(struct tmem *m, u64 size, u64 align)
{
	u64 pa = tm_alloc(m, size, align);

	if (m->nr_holes == 8)
		abort();
	m->hole_pa[m->nr_holes] = pa;
	m->hole_len[m->nr_holes++] = size;
	return pa;
}

/* Host pointer to [pa, pa + len) of the window, holes included. */
static inline u8 *tm_ptr(struct tmem *m, u64 pa, u64 len)
{
	if (pa < m->base || pa + len > m->base + m->size)
		abort();
	return m->buf + (pa - m->base);
}

static inline void put64(u8 *b, u64 v)
{
	v = skho_cpu_to_le64(v);
	memcpy(b, &v, 8);
}

static inline u64 get64(const u8 *b)
{
	return skho_ld_le64(b);
}

static inline void tm_w64(struct tmem *m, u64 pa, u64 v)
{
	put64(tm_ptr(m, pa, 8), v);
}

static inline u64 tm_r64(struct tmem *m, u64 pa)
{
	return get64(tm_ptr(m, pa, 8));
}

/* ---- Page tables, written the way io-pgtable-arm.c writes them -------- */

struct tpt {
	struct tmem *m;
	struct skho_pt_cfg c;
	unsigned int bpl;
	u64 ipa_delta;		/* nested stage 1: tables are named by PA + delta */
};

static inline unsigned int tpt_shift(const struct tpt *t, unsigned int lvl)
{
	return t->c.granule_lg2 + (3 - lvl) * t->bpl;
}

/* Explicit geometry; the root is sized and aligned like Linux's pgd. */
static inline void tpt_init_geom(struct tpt *t, struct tmem *m, u8 stage, u8 g,
				 u8 ias, u8 oas, u8 start, u8 nr_concat)
{
	u64 bytes;

	memset(t, 0, sizeof(*t));
	t->m = m;
	t->bpl = g - 3;
	t->c.stage = stage;
	t->c.granule_lg2 = g;
	t->c.ias = ias;
	t->c.oas = oas;
	t->c.start_level = start;
	t->c.nr_concat = nr_concat;
	bytes = 8ULL << (ias - tpt_shift(t, start));
	t->c.root = tm_alloc(m, bytes < 64 ? 64 : bytes, bytes < 64 ? 64 : bytes);
}

/* Geometry as arm_lpae_alloc_pgtable() picks it (no concatenation). */
static inline void tpt_init(struct tpt *t, struct tmem *m, u8 stage, u8 g,
			    u8 ias, u8 oas)
{
	unsigned int bpl = g - 3;
	unsigned int levels = (ias - g + bpl - 1) / bpl;

	tpt_init_geom(t, m, stage, g, ias, oas, 4 - levels, 1);
}

/* Linux's paddr_to_iopte(): OA[51:48] folds into bits [15:12] for 64K. */
static inline u64 tpt_oa(const struct tpt *t, u64 pa)
{
	if (t->c.granule_lg2 == 16)
		return (pa | (pa >> (48 - 12))) & SKHO_GENMASK(47, 12);
	return pa & SKHO_GENMASK(47, 12);
}

/* PA of the descriptor for @iova at @lvl, creating the tables above it. */
static inline u64 tpt_slot(struct tpt *t, u64 iova, unsigned int lvl)
{
	unsigned int l = t->c.start_level;
	u64 table = t->c.root - t->ipa_delta, idx = iova >> tpt_shift(t, l);
	u64 gsz = 1ULL << t->c.granule_lg2;

	for (;;) {
		u64 slot = table + idx * 8, d;

		if (l == lvl)
			return slot;
		d = tm_r64(t->m, slot);
		if (!(d & SMMU_PTE_VALID)) {
			u64 nt = tm_alloc(t->m, gsz, gsz);

			d = tpt_oa(t, nt + t->ipa_delta) | SMMU_PTE_TYPE_TABLE;
			tm_w64(t->m, slot, d);
		}
		table = (d & SKHO_GENMASK(47, t->c.granule_lg2)) - t->ipa_delta;
		l++;
		idx = (iova >> tpt_shift(t, l)) & ((1ULL << t->bpl) - 1);
	}
}

/* Leaf attributes for SKHO_PROT_* (AF set, as Linux always does). */
static inline u64 tpt_attrs(const struct tpt *t, u32 prot)
{
	if (t->c.stage == SKHO_STAGE2)
		return SMMU_PTE_AF | (prot & SKHO_PROT_R ? SMMU_PTE_S2AP_R : 0) |
		       (prot & SKHO_PROT_W ? SMMU_PTE_S2AP_W : 0);
	return SMMU_PTE_AF | SMMU_PTE_AP_UNPRIV |
	       (prot & SKHO_PROT_W ? 0 : SMMU_PTE_AP_RDONLY);
}

/* A block (@lvl < 3) or page (@lvl == 3) descriptor for @iova -> @pa. */
static inline u64 tpt_map(struct tpt *t, u64 iova, u64 pa, unsigned int lvl,
			  u32 prot)
{
	u64 slot = tpt_slot(t, iova, lvl);

	tm_w64(t->m, slot, tpt_oa(t, pa) | tpt_attrs(t, prot) |
	       (lvl == 3 ? SMMU_PTE_TYPE_PAGE : SMMU_PTE_TYPE_BLOCK));
	return slot;
}

/* ---- STEs, CDs and their tables --------------------------------------- */

static inline unsigned int ps_enc(unsigned int bits)
{
	static const u8 ps[] = SMMU_PS_BITS;
	unsigned int i;

	for (i = 0; i < sizeof(ps); i++)
		if (ps[i] == bits)
			return i;
	abort();
}

static inline unsigned int tg_enc(unsigned int g)
{
	return g == 12 ? SMMU_TG_4K : g == 14 ? SMMU_TG_16K : SMMU_TG_64K;
}

/* A CD as arm_smmu_make_s1_cd() writes it for @pt. */
static inline void cd_build(u8 cd[64], const struct skho_pt_cfg *pt, u16 asid)
{
	memset(cd, 0, 64);
	put64(cd, SKHO_FIELD_PREP(SMMU_CD0_T0SZ, 64 - pt->ias) |
	      SKHO_FIELD_PREP(SMMU_CD0_TG0, tg_enc(pt->granule_lg2)) |
	      SMMU_CD0_EPD1 | SMMU_CD0_V |
	      SKHO_FIELD_PREP(SMMU_CD0_IPS, ps_enc(pt->oas)) | SMMU_CD0_AA64 |
	      (pt->ha ? SMMU_CD0_HA : 0) | SKHO_FIELD_PREP(SMMU_CD0_ASID, asid));
	put64(cd + 8, pt->root & SMMU_CD1_TTB0);
}

/* Stage-2 words of an STE as arm_smmu_make_s2_domain_ste() writes them. */
static inline void ste_put_s2(u8 ste[64], const struct skho_pt_cfg *pt, u16 vmid)
{
	unsigned int sl0 = pt->granule_lg2 == 12 ? 2 - pt->start_level :
						   3 - pt->start_level;

	put64(ste + 16, SKHO_FIELD_PREP(SMMU_STE2_S2VMID, vmid) |
	      SKHO_FIELD_PREP(SMMU_STE2_S2T0SZ, 64 - pt->ias) |
	      SKHO_FIELD_PREP(SMMU_STE2_S2SL0, sl0) |
	      SKHO_FIELD_PREP(SMMU_STE2_S2TG, tg_enc(pt->granule_lg2)) |
	      SKHO_FIELD_PREP(SMMU_STE2_S2PS, ps_enc(pt->oas)) |
	      SMMU_STE2_S2AA64 | SMMU_STE2_S2R |
	      (pt->ha ? SMMU_STE2_S2AFFD : 0));
	put64(ste + 24, pt->root & SMMU_STE3_S2TTB);
}

static inline void ste_put_w0(u8 ste[64], unsigned int config, u64 ctx,
			      unsigned int fmt, unsigned int cdmax)
{
	put64(ste, SMMU_STE0_V | SKHO_FIELD_PREP(SMMU_STE0_CONFIG, config) |
	      SKHO_FIELD_PREP(SMMU_STE0_S1FMT, fmt) | (ctx & SMMU_STE0_S1CTXPTR) |
	      SKHO_FIELD_PREP(SMMU_STE0_S1CDMAX, cdmax));
}

static inline void ste_s1(u8 ste[64], u64 ctx, unsigned int fmt,
			  unsigned int cdmax, unsigned int s1dss)
{
	memset(ste, 0, 64);
	ste_put_w0(ste, SMMU_STE_CFG_S1, ctx, fmt, cdmax);
	put64(ste + 8, SKHO_FIELD_PREP(SMMU_STE1_S1DSS, s1dss));
}

static inline void ste_s2(u8 ste[64], const struct skho_pt_cfg *pt, u16 vmid)
{
	memset(ste, 0, 64);
	ste_put_w0(ste, SMMU_STE_CFG_S2, 0, 0, 0);
	ste_put_s2(ste, pt, vmid);
}

static inline void ste_nested(u8 ste[64], u64 ctx_ipa, unsigned int fmt,
			      unsigned int cdmax, unsigned int s1dss,
			      const struct skho_pt_cfg *s2, u16 vmid)
{
	memset(ste, 0, 64);
	ste_put_w0(ste, SMMU_STE_CFG_NESTED, ctx_ipa, fmt, cdmax);
	put64(ste + 8, SKHO_FIELD_PREP(SMMU_STE1_S1DSS, s1dss));
	ste_put_s2(ste, s2, vmid);
}

/* Stream table: linear, or two-level with L2 tables of span split+1. */
struct tst {
	struct tmem *m;
	struct skho_smmu smmu;
	unsigned int split;
	bool two_level;
};

static inline void tst_linear(struct tst *s, struct tmem *m, unsigned int log2size,
			      u8 oas)
{
	u64 bytes = 64ULL << log2size;

	memset(s, 0, sizeof(*s));
	s->m = m;
	s->smmu.mem = &m->mem;
	s->smmu.oas = oas;
	s->smmu.strtab_base = tm_alloc(m, bytes, bytes);
	s->smmu.strtab_cfg = SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_FMT,
					     SMMU_STRTAB_FMT_LINEAR) |
			     SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_LOG2SIZE, log2size);
}

static inline void tst_2lvl(struct tst *s, struct tmem *m, unsigned int log2size,
			    unsigned int split, u8 oas)
{
	u64 bytes = 8ULL << (log2size - split);

	memset(s, 0, sizeof(*s));
	s->m = m;
	s->two_level = true;
	s->split = split;
	s->smmu.mem = &m->mem;
	s->smmu.oas = oas;
	s->smmu.strtab_base = tm_alloc(m, bytes < 64 ? 64 : bytes,
				       bytes < 64 ? 64 : bytes);
	s->smmu.strtab_cfg = SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_FMT,
					     SMMU_STRTAB_FMT_2LVL) |
			     SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_SPLIT, split) |
			     SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_LOG2SIZE, log2size);
}

static inline u64 tst_l1std_pa(const struct tst *s, u32 sid)
{
	return s->smmu.strtab_base + (u64)(sid >> s->split) * 8;
}

/* PA of the STE slot for @sid (creates the L2 table, span = split + 1). */
static inline u64 tst_ste_pa(struct tst *s, u32 sid)
{
	u64 l1, d, bytes;

	if (!s->two_level)
		return s->smmu.strtab_base + (u64)sid * 64;
	l1 = tst_l1std_pa(s, sid);
	d = tm_r64(s->m, l1);
	if (!SKHO_FIELD_GET(SMMU_L1STD_SPAN, d)) {
		bytes = 64ULL << s->split;
		d = tm_alloc(s->m, bytes, bytes) |
		    SKHO_FIELD_PREP(SMMU_L1STD_SPAN, s->split + 1);
		tm_w64(s->m, l1, d);
	}
	return (d & SMMU_L1STD_L2PTR) +
	       (u64)(sid & ((1u << s->split) - 1)) * 64;
}

static inline void tst_put(struct tst *s, u32 sid, const u8 ste[64])
{
	memcpy(tm_ptr(s->m, tst_ste_pa(s, sid), 64), ste, 64);
}

/* CD table of 2^cdmax CDs: linear, or 2-level with 2^split CDs per leaf. */
struct tcdt {
	struct tmem *m;
	u64 base;		/* S1ContextPtr */
	unsigned int fmt, cdmax, split;
};

static inline void tcdt_init(struct tcdt *c, struct tmem *m, unsigned int fmt,
			     unsigned int cdmax)
{
	u64 bytes;

	memset(c, 0, sizeof(*c));
	c->m = m;
	c->fmt = fmt;
	c->cdmax = cdmax;
	c->split = fmt == SMMU_CD_FMT_2LVL_4K ? 6 : 10;
	if (fmt == SMMU_CD_FMT_LINEAR)
		bytes = 64ULL << cdmax;
	else
		bytes = 8ULL << (cdmax > c->split ? cdmax - c->split : 0);
	if (bytes < 64)
		bytes = 64;
	c->base = tm_alloc(m, bytes, bytes);
}

static inline u64 tcdt_l1_pa(const struct tcdt *c, u32 ssid)
{
	return c->base + (u64)(ssid >> c->split) * 8;
}

/* PA of the CD slot for @ssid (creates the leaf table and a valid L1CD). */
static inline u64 tcdt_cd_pa(struct tcdt *c, u32 ssid)
{
	u64 l1, d, bytes;

	if (c->fmt == SMMU_CD_FMT_LINEAR)
		return c->base + (u64)ssid * 64;
	l1 = tcdt_l1_pa(c, ssid);
	d = tm_r64(c->m, l1);
	if (!(d & SMMU_L1CD_V)) {
		bytes = 64ULL << c->split;
		d = tm_alloc(c->m, bytes, bytes) | SMMU_L1CD_V;
		tm_w64(c->m, l1, d);
	}
	return (d & SMMU_L1CD_L2PTR) + (u64)(ssid & ((1u << c->split) - 1)) * 64;
}

static inline void tcdt_put(struct tcdt *c, u32 ssid, const u8 cd[64])
{
	memcpy(tm_ptr(c->m, tcdt_cd_pa(c, ssid), 64), cd, 64);
}

#endif /* WALK_BUILD_H */
