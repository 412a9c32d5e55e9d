// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Reference walker: STE/CD decoding and SMMUv3 translation of one transaction. */
#include "skho_walk.h"
#include "smmu_kho_abi.h"

/*
 * What this models (Arm IHI 0070 SMMUv3, DDI 0487 VMSAv8-64), and what it
 * deliberately does not:
 *  - Two views of an STE or CD.  skho_ste_decode()/skho_cd_decode() are
 *    strict: they refuse what smmu-kho will not preserve, reserved encodings
 *    and RES0 bits included.  skho_translate() decodes the way the SMMU does:
 *    "Reserved, behaves as X" encodings behave as X (STE.Config 0b0xx aborts,
 *    S1Fmt 0b11 is linear, S1DSS 0b11 terminates, S2PS/IPS above the cap are
 *    the cap, SPLIT other than 6/8/10 is 6, FMT 0b1x is linear, Span 12..31 is
 *    0), RES0 bits are ignored, and only ILLEGAL configurations fault
 *    (C_BAD_STE / C_BAD_CD).  What smmu-kho does not model at all (AArch32 or
 *    big-endian tables, TTB1, top-byte-ignore) is C_BAD_STE / C_BAD_CD too.
 *  - Granules 4K/16K/64K without FEAT_LPA2.  OA is descriptor bits [47:g]; the
 *    64K granule adds OA[51:48] from bits [15:12] (FEAT_LPA, as Linux writes
 *    it).  Bits [51:48] of 4K/16K descriptors are ignored (bit 51 is DBM).
 *  - Blocks: 4K at levels 1-2, 16K at level 2, 64K at level 2 and, when the
 *    table's oas is 52, at level 1 (the 4 TB block Linux uses then).
 *  - Permissions, for privileged data accesses: stage 1 read always, write
 *    iff AP[2] == 0; stage 2 read iff S2AP[0], write iff S2AP[1].  With
 *    hardware dirty state (CD.HA+HD, STE.S2HA+S2HD) a DBM page is writable.
 *    struct skho_pt_cfg has no HD flag, so only skho_translate() applies it;
 *    skho_pt_translate() and skho_pt_walk() see such a page as read-only.
 *    Unprivileged access (AP[1]), PAN, execute-never and hierarchical APTable
 *    bits are not modelled.
 *  - Access flag: AF == 0 faults unless pt->ha (CD.HA or CD.AFFD; STE.S2HA or
 *    STE.S2AFFD).
 *  - Fault priority on one descriptor: translation, address size, access
 *    flag, permission.
 */

/* Geometry of one table, derived once from struct skho_pt_cfg. */
struct pt_geom {
	u64 oa_mask;		/* descriptor bits holding OA[47:g] */
	u8 g;			/* granule lg2 */
	u8 bpl;			/* index bits per level below the start */
	u8 start;		/* start level */
	u8 top_bits;		/* index bits at the start level, concatenation incl. */
	u8 ias, oas;
	u8 block_min;		/* shallowest level that may hold a block */
	bool hi64k;		/* OA[51:48] in descriptor bits [15:12] */
	bool s2;
	bool ha;
	bool hd;		/* hardware dirty state: DBM makes a page writable */
};

/* PS encodings; 0b111 behaves as 0b110 (SMMUv3.1-3.3), then capped. */
static const u8 skho_ps_bits[8] = { 32, 36, 40, 42, 44, 48, 52, 52 };

static inline unsigned int lvl_shift(const struct pt_geom *g, unsigned int lvl)
{
	return g->g + (3 - lvl) * g->bpl;
}

/* Highest ias a granule can translate without FEAT_LPA2. */
static inline unsigned int max_ias(unsigned int granule_lg2)
{
	return granule_lg2 == 16 ? 52 : 48;
}

/* Smallest ias accepted: T0SZ <= 39, as in SMMUv3 without small tables. */
#define SKHO_MIN_IAS	25

/* Bytes of the start table (all concatenated tables), and its alignment. */
static inline u64 start_table_bytes(const struct pt_geom *g)
{
	return (u64)8 << g->top_bits;
}

static inline u64 start_table_align(const struct pt_geom *g)
{
	u64 sz = start_table_bytes(g);

	return sz < 64 ? 64 : sz;
}

/*
 * Check a table configuration and derive its geometry.  Returns NULL when it
 * is consistent, else what is wrong.
 */
static const char *pt_geom_init(const struct skho_pt_cfg *pt, struct pt_geom *g)
{
	unsigned int shift, max_top;

	if (pt->stage != SKHO_STAGE1 && pt->stage != SKHO_STAGE2)
		return "stage is neither 1 nor 2";
	if (pt->granule_lg2 != 12 && pt->granule_lg2 != 14 &&
	    pt->granule_lg2 != 16)
		return "granule is not 4K, 16K or 64K";
	if (pt->start_level > 3)
		return "start level above 3";
	if (pt->oas < 32 || pt->oas > max_ias(pt->granule_lg2))
		return "oas out of range for the granule";
	if (pt->ias < SKHO_MIN_IAS || pt->ias > max_ias(pt->granule_lg2))
		return "ias out of range for the granule";

	g->g = pt->granule_lg2;
	g->bpl = pt->granule_lg2 - SMMU_PT_DESC_LG2;
	g->start = pt->start_level;
	g->ias = pt->ias;
	g->oas = pt->oas;
	g->s2 = pt->stage == SKHO_STAGE2;
	g->ha = pt->ha;
	g->hd = false;
	g->hi64k = g->g == 16;
	g->oa_mask = SKHO_GENMASK(47, g->g);
	if (g->g == 12)
		g->block_min = 1;
	else if (g->g == 16 && g->oas > 48)
		g->block_min = 1;
	else
		g->block_min = 2;

	shift = lvl_shift(g, g->start);
	if (g->ias <= shift)
		return "start level too deep for ias";
	g->top_bits = g->ias - shift;
	/* Only stage 2 concatenates, up to 16 tables (4 more index bits). */
	max_top = g->bpl + (g->s2 ? 4 : 0);
	if (g->top_bits > max_top)
		return g->s2 ? "more than 16 concatenated start tables" :
			       "start level too shallow for ias";
	if (pt->nr_concat != (g->top_bits > g->bpl ?
			      1u << (g->top_bits - g->bpl) : 1u))
		return "nr_concat does not match ias and start level";
	if (pt->root & (start_table_align(g) - 1))
		return "root not aligned to the start table size";
	return NULL;
}

/* Output address of a table, block or page descriptor. */
static inline u64 desc_oa(const struct pt_geom *g, u64 d)
{
	u64 oa = d & g->oa_mask;

	if (g->hi64k)
		oa |= (d & SMMU_PTE_ADDR_HI_64K) << (48 - 12);
	return oa;
}

/*
 * SKHO_PROT_* of a leaf: S2AP[1:0] is bits [7:6]; S1 AP[2] is bit 7.  With
 * hardware dirty state a DBM page is writable: the SMMU clears AP[2] (sets
 * S2AP[1]) on the first write.
 */
static inline u32 leaf_prot(const struct pt_geom *g, u64 d)
{
	u32 prot;

	if (g->s2)
		prot = (u32)(d >> 6) & (SKHO_PROT_R | SKHO_PROT_W);
	else
		prot = SKHO_PROT_R | ((u32)(~d >> 6) & SKHO_PROT_W);
	if (g->hd && (d & SMMU_PTE_DBM))
		prot |= SKHO_PROT_W;
	return prot;
}

/* True when @d at @lvl is a block or page descriptor (valid bit checked). */
static inline bool desc_is_leaf(const struct pt_geom *g, u64 d, unsigned int lvl)
{
	if (lvl == 3)
		return (d & SMMU_PTE_TYPE) == SMMU_PTE_TYPE_PAGE;
	return (d & SMMU_PTE_TYPE) == SMMU_PTE_TYPE_BLOCK && lvl >= g->block_min;
}

/*
 * The walk of one table for @iova, without an access check: SKHO_XLATE_OK
 * when a leaf maps it, whatever its permissions, else the fault.  @l gets the
 * leaf (pa of @iova, prot; 0 on a fault) and the last IOVA with the same
 * outcome: the end of the leaf, or of the region the faulting descriptor (or
 * the start table, or all of the input range) covers.  Nested stage 1 runs
 * it over a stage-2 accessor (struct s2_mem), whose refusals it reports as
 * F_WALK_EABT for the caller to refine.
 */
static enum skho_fault lookup(const struct pt_geom *g, u64 root,
			      const struct skho_mem *mem, u64 iova,
			      struct skho_pt_leaf *l)
{
	unsigned int lvl = g->start;
	unsigned int shift = lvl_shift(g, lvl);
	u64 table = root, idx, d, oa;
	const void *p;

	memset(l, 0, sizeof(*l));
	l->last = ~0ULL;
	if (iova >> g->ias)
		return SKHO_F_TRANSLATION;
	l->last = (1ULL << g->ias) - 1;
	if (root >> g->oas)
		return SKHO_F_ADDR_SIZE;
	idx = iova >> shift;
	for (;;) {
		l->last = iova | ((1ULL << shift) - 1);
		l->table = table + (idx << SMMU_PT_DESC_LG2);
		p = skho_map(mem, l->table, 8);
		if (!p)
			return SKHO_F_WALK_EABT;
		d = skho_ld_le64(p);
		if (!(d & SMMU_PTE_VALID))
			return SKHO_F_TRANSLATION;
		oa = desc_oa(g, d);
		if (lvl < 3 && (d & SMMU_PTE_TABLE)) {
			if (oa >> g->oas)
				return SKHO_F_ADDR_SIZE;
			table = oa;
			lvl++;
			shift -= g->bpl;
			idx = (iova >> shift) & ((1ULL << g->bpl) - 1);
			continue;
		}
		if (!desc_is_leaf(g, d, lvl))
			return SKHO_F_TRANSLATION;
		oa &= ~((1ULL << shift) - 1);	/* RES0 bits of a block */
		if (oa >> g->oas)
			return SKHO_F_ADDR_SIZE;
		if (!(d & SMMU_PTE_AF) && !g->ha)
			return SKHO_F_ACCESS;
		l->pa = oa | (iova & ((1ULL << shift) - 1));
		l->prot = leaf_prot(g, d);
		return SKHO_XLATE_OK;
	}
}

/*
 * The walk of one table for one access.  On F_PERMISSION *pa and *prot still
 * describe the leaf; on any other fault they are 0.
 */
static enum skho_fault walk(const struct pt_geom *g, u64 root,
			    const struct skho_mem *mem, u64 iova, bool write,
			    u64 *pa, u32 *prot)
{
	struct skho_pt_leaf l;
	enum skho_fault f = lookup(g, root, mem, iova, &l);

	*pa = l.pa;
	*prot = l.prot;
	if (f == SKHO_XLATE_OK &&
	    !(l.prot & (write ? SKHO_PROT_W : SKHO_PROT_R)))
		return SKHO_F_PERMISSION;
	return f;
}

/*
 * Look @iova up in a table without an access check (see skho_walk.h).  A
 * configuration pt_geom_init() refuses yields F_TRANSLATION for every IOVA.
 */
enum skho_fault skho_pt_lookup(const struct skho_pt_cfg *pt,
			       const struct skho_mem *mem, u64 iova,
			       struct skho_pt_leaf *leaf)
{
	struct pt_geom g;

	if (pt_geom_init(pt, &g)) {
		memset(leaf, 0, sizeof(*leaf));
		leaf->last = ~0ULL;
		return SKHO_F_TRANSLATION;
	}
	return lookup(&g, pt->root, mem, iova, leaf);
}

/*
 * Walk one table for one access.  A configuration pt_geom_init() refuses
 * yields F_TRANSLATION.  On F_PERMISSION, *pa and *prot describe the leaf;
 * on other faults they are 0.
 */
enum skho_fault skho_pt_translate(const struct skho_pt_cfg *pt,
				  const struct skho_mem *mem, u64 iova,
				  bool write, u64 *pa, u32 *prot)
{
	struct pt_geom g;

	if (pt_geom_init(pt, &g)) {
		*pa = 0;
		*prot = 0;
		return SKHO_F_TRANSLATION;
	}
	return walk(&g, pt->root, mem, iova, write, pa, prot);
}

/*
 * Nested translation: stage 1 reads its structures (CD tables, page tables)
 * at IPAs.  This accessor translates each read through stage 2 (a read
 * access) before mapping it, and keeps the first stage-2 fault so that the
 * caller reports it, with fault_stage 2, instead of a fetch abort.  Every
 * read is at most 64 bytes and naturally aligned, so it never straddles a
 * stage-2 page.
 */
struct s2_mem {
	struct skho_mem mem;
	const struct skho_mem *base;
	struct pt_geom geo;
	u64 root;
	enum skho_fault fault;
};

static const void *s2_map(void *priv, u64 ipa, u64 len)
{
	struct s2_mem *m = priv;
	enum skho_fault f;
	u32 prot;
	u64 pa;

	f = walk(&m->geo, m->root, m->base, ipa, false, &pa, &prot);
	if (f != SKHO_XLATE_OK) {
		if (m->fault == SKHO_XLATE_OK)
			m->fault = f;
		return NULL;
	}
	return skho_map(m->base, pa, len);
}

static void s2_mem_init(struct s2_mem *m, const struct pt_geom *geo, u64 root,
			const struct skho_mem *base)
{
	m->mem.map = s2_map;
	m->mem.priv = m;
	m->base = base;
	m->geo = *geo;
	m->root = root;
	m->fault = SKHO_XLATE_OK;
}

/* A refused read through @mem: the stage-2 fault if there was one. */
static enum skho_fault refine(const struct s2_mem *s2, enum skho_fault f,
			      u8 *stage)
{
	if (s2 && s2->fault != SKHO_XLATE_OK) {
		*stage = 2;
		return s2->fault;
	}
	return f;
}

/* ---- Enumeration ------------------------------------------------------- */

struct pt_walker {
	struct pt_geom g;
	const struct skho_mem *mem;
	const struct skho_pt_visitor *v;
	struct skho_err *err;
	u64 run_iova, run_pa, run_size;
	u32 run_prot;
	bool have_run;
};

static inline int emit_leaf(struct pt_walker *w, u64 iova, u64 pa, u64 size,
			    u32 prot)
{
	int rc;

	if (w->have_run && w->run_iova + w->run_size == iova &&
	    w->run_pa + w->run_size == pa && w->run_prot == prot) {
		w->run_size += size;
		return 0;
	}
	if (w->have_run && w->v->run) {
		rc = w->v->run(w->v->arg, w->run_iova, w->run_pa, w->run_size,
			       w->run_prot);
		if (rc)
			return rc;
	}
	w->have_run = true;
	w->run_iova = iova;
	w->run_pa = pa;
	w->run_size = size;
	w->run_prot = prot;
	return 0;
}

/*
 * One table: its entries at @lvl map IOVAs from @base.  Skips exactly what
 * walk() faults on, so the runs and the per-access walk agree.
 */
static int walk_table(struct pt_walker *w, u64 table, unsigned int lvl,
		      u64 base, u64 nr)
{
	const struct pt_geom *g = &w->g;
	unsigned int shift = lvl_shift(g, lvl);
	u64 size = 1ULL << shift, bytes = nr << SMMU_PT_DESC_LG2;
	u64 off_mask = size - 1, expect = 0, chain = 0;
	const u8 *p;
	u64 i;
	int rc;

	if (w->v->table) {
		rc = w->v->table(w->v->arg, table, bytes, lvl);
		if (rc)
			return rc;
	}
	p = skho_map(w->mem, table, bytes);
	if (!p)
		return skho_fail(w->err, SKHO_E_OUTSIDE, SKHO_NO_SID, table,
				 "level %u table at 0x%llx (%llu bytes) not readable",
				 lvl, (unsigned long long)table,
				 (unsigned long long)bytes);
	for (i = 0; i < nr; i++) {
		u64 d = skho_ld_le64(p + (i << SMMU_PT_DESC_LG2));
		u64 iova = base + (i << shift), oa, j, end;

		/*
		 * Fast path: the previous entry was a leaf that ended the
		 * current run, and this one is the same descriptor with the OA
		 * one leaf further: it extends the run, and so may the next
		 * ones, up to @chain entries (see below), without any other
		 * check: same type, AF and permissions as the leaf before.
		 */
		if (chain && d == expect) {
			end = i + chain;
			for (j = i + 1, expect += size;
			     j < end && skho_ld_le64(p + (j << SMMU_PT_DESC_LG2)) == expect;
			     j++)
				expect += size;
			w->run_size += (j - i) << shift;
			chain -= j - i;
			i = j - 1;
			continue;
		}
		chain = 0;
		if (!(d & SMMU_PTE_VALID))
			continue;
		oa = desc_oa(g, d);
		if (lvl < 3 && (d & SMMU_PTE_TABLE)) {
			if (oa >> g->oas)
				continue;	/* F_ADDR_SIZE below it */
			rc = walk_table(w, oa, lvl + 1, iova, 1ULL << g->bpl);
			if (rc)
				return rc;
			continue;
		}
		if (!desc_is_leaf(g, d, lvl))
			continue;		/* F_TRANSLATION */
		oa &= ~off_mask;
		if (oa >> g->oas)
			continue;		/* F_ADDR_SIZE */
		if (!(d & SMMU_PTE_AF) && !g->ha)
			continue;		/* F_ACCESS */
		rc = emit_leaf(w, iova, oa, size, leaf_prot(g, d));
		if (rc)
			return rc;
		/*
		 * How many of the next entries may extend this run as the same
		 * descriptor plus k leaves: the rest of this table, no carry
		 * out of descriptor bits [47:shift] into the attribute bits
		 * above (bits [15:12] holding OA[51:48] with 64K granules are
		 * below shift and never change), and each OA below oas.
		 */
		expect = d + size;
		chain = nr - i - 1;
		j = (SKHO_GENMASK(47, 0) >> shift) - ((d & SKHO_GENMASK(47, 0)) >> shift);
		if (j < chain)
			chain = j;
		j = (((1ULL << g->oas) - 1) - oa) >> shift;
		if (j < chain)
			chain = j;
	}
	return 0;
}

/*
 * Enumerate a table (see skho_walk.h).  table() is called for every table
 * reference, so a table linked twice is reported twice: a visitor that must
 * refuse aliasing does so by returning non-zero.  The start table is reported
 * with its real size: 8 << (ias - shift(start level)) bytes, which is smaller
 * than a granule for a short start level and nr_concat granules when
 * concatenated.
 * Errors: -SKHO_E_PGTABLE (geometry pt_geom_init() refuses, or a root beyond
 * oas), -SKHO_E_OUTSIDE (a table not readable through @mem), or the first
 * non-zero callback value.
 */
int skho_pt_walk(const struct skho_pt_cfg *pt, const struct skho_mem *mem,
		 const struct skho_pt_visitor *v, struct skho_err *err)
{
	struct pt_walker w = { .mem = mem, .v = v, .err = err };
	const char *why;
	int rc;

	why = pt_geom_init(pt, &w.g);
	if (why)
		return skho_fail(err, SKHO_E_PGTABLE, SKHO_NO_SID, pt->root,
				 "page table at 0x%llx: %s",
				 (unsigned long long)pt->root, why);
	if (pt->root >> w.g.oas)
		return skho_fail(err, SKHO_E_PGTABLE, SKHO_NO_SID, pt->root,
				 "page table root 0x%llx beyond oas %u",
				 (unsigned long long)pt->root, w.g.oas);
	rc = walk_table(&w, pt->root, w.g.start, 0, 1ULL << w.g.top_bits);
	if (rc)
		return rc;
	if (w.have_run && v->run)
		return v->run(v->arg, w.run_iova, w.run_pa, w.run_size,
			      w.run_prot);
	return 0;
}

/* ---- Decoders ---------------------------------------------------------- */

/* Output size of a table: PS encoding, capped by the SMMU and the granule. */
static u8 eff_oas(unsigned int ps, u8 smmu_oas, unsigned int granule_lg2)
{
	u8 bits = skho_ps_bits[ps & 7];

	if (bits > smmu_oas)
		bits = smmu_oas;
	if (bits > max_ias(granule_lg2))	/* 52-bit OA needs 64K here */
		bits = max_ias(granule_lg2);
	return bits;
}

/* TG0 / S2TG encoding -> granule lg2, 0 if reserved. */
static unsigned int tg_lg2(unsigned int tg)
{
	switch (tg) {
	case SMMU_TG_4K:
		return 12;
	case SMMU_TG_16K:
		return 14;
	case SMMU_TG_64K:
		return 16;
	}
	return 0;
}

/*
 * The table of a decoded STE/CD: geometry and root; @root names the field.
 * Strict: the root must be aligned to its start table and inside oas.
 * Otherwise the SMMU's view: low root bits are ignored, and a root beyond oas
 * is left for the walk to fault on (F_ADDR_SIZE).
 */
static int check_table(struct skho_pt_cfg *pt, const char *root, bool strict,
		       struct pt_geom *geo, struct skho_err *err)
{
	struct skho_pt_cfg at0 = *pt;
	struct pt_geom g;
	const char *why;

	at0.root = 0;
	why = pt_geom_init(&at0, &g);
	*geo = g;	/* the geometry does not depend on the root */
	if (why)
		return skho_fail(err, SKHO_E_PGTABLE, SKHO_NO_SID, pt->root,
				 "%s 0x%llx: %s", root,
				 (unsigned long long)pt->root, why);
	if (!strict) {
		pt->root &= ~(start_table_align(&g) - 1);
		return 0;
	}
	if (pt->root & (start_table_align(&g) - 1))
		return skho_fail(err, SKHO_E_PGTABLE, SKHO_NO_SID, pt->root,
				 "%s 0x%llx: root not aligned to the %llu-byte start table",
				 root, (unsigned long long)pt->root,
				 (unsigned long long)start_table_align(&g));
	if (pt->root >> g.oas)
		return skho_fail(err, SKHO_E_PGTABLE, SKHO_NO_SID, pt->root,
				 "%s 0x%llx beyond the %u-bit output size", root,
				 (unsigned long long)pt->root, g.oas);
	return 0;
}

static int decode_s2(u64 w2, u64 w3, u8 smmu_oas, bool strict,
		     struct skho_pt_cfg *pt, struct pt_geom *geo,
		     struct skho_err *err)
{
	unsigned int t0sz = SKHO_FIELD_GET(SMMU_STE2_S2T0SZ, w2);
	unsigned int sl0 = SKHO_FIELD_GET(SMMU_STE2_S2SL0, w2);
	unsigned int tg = SKHO_FIELD_GET(SMMU_STE2_S2TG, w2);
	unsigned int ps = SKHO_FIELD_GET(SMMU_STE2_S2PS, w2);
	unsigned int g, bpl, shift, top;
	int rc;

	if (!(w2 & SMMU_STE2_S2AA64))
		return skho_fail(err, SKHO_E_UNSUPPORTED, SKHO_NO_SID, 0,
				 "STE.S2AA64 is 0: AArch32 stage 2 not supported");
	if (w2 & SMMU_STE2_S2ENDI)
		return skho_fail(err, SKHO_E_UNSUPPORTED, SKHO_NO_SID, 0,
				 "STE.S2ENDI is 1: big-endian tables not supported");
	g = tg_lg2(tg);
	if (!g)
		return skho_fail(err, SKHO_E_PGTABLE, SKHO_NO_SID, 0,
				 "STE.S2TG %u is reserved", tg);
	if (strict && ps > 6)
		return skho_fail(err, SKHO_E_PGTABLE, SKHO_NO_SID, 0,
				 "STE.S2PS %u is reserved", ps);
	if (64 - t0sz < SKHO_MIN_IAS || 64 - t0sz > max_ias(g))
		return skho_fail(err, SKHO_E_PGTABLE, SKHO_NO_SID, 0,
				 "STE.S2T0SZ %u out of range for a %uK granule",
				 t0sz, 1u << (g - 10));
	if (sl0 == SMMU_S2SL0_RESERVED)
		return skho_fail(err, SKHO_E_PGTABLE, SKHO_NO_SID, 0,
				 "STE.S2SL0 %u is reserved for a %uK granule",
				 sl0, 1u << (g - 10));
	pt->stage = SKHO_STAGE2;
	pt->granule_lg2 = g;
	pt->ias = 64 - t0sz;
	pt->start_level = g == 12 ? 2 - sl0 : 3 - sl0;
	pt->oas = eff_oas(ps, smmu_oas, g);
	pt->ha = !!(w2 & (SMMU_STE2_S2AFFD | SMMU_STE2_S2HA));
	pt->root = w3 & SMMU_STE3_S2TTB;
	bpl = g - SMMU_PT_DESC_LG2;
	shift = g + (3 - pt->start_level) * bpl;
	if (pt->ias <= shift)
		return skho_fail(err, SKHO_E_PGTABLE, SKHO_NO_SID, 0,
				 "STE.S2SL0 %u (level %u) too deep for S2T0SZ %u",
				 sl0, pt->start_level, t0sz);
	top = pt->ias - shift;
	if (top > bpl + 4)
		return skho_fail(err, SKHO_E_PGTABLE, SKHO_NO_SID, 0,
				 "STE.S2SL0 %u with S2T0SZ %u needs %llu > %u concatenated tables",
				 sl0, t0sz, 1ULL << (top - bpl),
				 (unsigned int)SMMU_PT_S2_MAX_CONCAT);
	pt->nr_concat = top > bpl ? 1u << (top - bpl) : 1;
	rc = check_table(pt, "STE.S2TTB", strict, geo, err);
	if (rc)
		return rc;
	geo->hd = (w2 & SMMU_STE2_S2HA) && (w2 & SMMU_STE2_S2HD);
	return 0;
}

/* Bytes of the CD table S1ContextPtr points at (its first level if 2-level). */
static u64 cd_table_bytes(const struct skho_ste_info *ste)
{
	unsigned int split = ste->s1fmt == SMMU_CD_FMT_2LVL_4K ? 6 : 10;

	if (!ste->s1cdmax)
		return 1u << SMMU_CD_LG2SIZE;
	if (ste->s1fmt == SMMU_CD_FMT_LINEAR)
		return (u64)1 << (ste->s1cdmax + SMMU_CD_LG2SIZE);
	return (u64)SMMU_L1CD_SIZE << (ste->s1cdmax > split ?
				       ste->s1cdmax - split : 0);
}

/* @s2geo gets the stage-2 geometry (with hd) when stage 2 translates. */
static int ste_decode(const u8 ste[64], u8 smmu_oas, bool strict,
		      struct skho_ste_info *out, struct pt_geom *s2geo,
		      struct skho_err *err)
{
	u64 w0 = skho_ld_le64(ste), w1 = skho_ld_le64(ste + 8);
	u64 w2 = skho_ld_le64(ste + 16), w3 = skho_ld_le64(ste + 24);
	unsigned int cfg;
	u64 align;

	memset(out, 0, sizeof(*out));
	if (!(w0 & SMMU_STE0_V))
		return skho_fail(err, SKHO_E_STE, SKHO_NO_SID, 0, "STE.V is 0");
	cfg = SKHO_FIELD_GET(SMMU_STE0_CONFIG, w0);
	out->config = cfg;
	if (cfg != SMMU_STE_CFG_ABORT && cfg < SMMU_STE_CFG_BYPASS) {
		if (strict)
			return skho_fail(err, SKHO_E_STE, SKHO_NO_SID, 0,
					 "STE.Config %u is reserved", cfg);
		out->config = SMMU_STE_CFG_ABORT;	/* 0b0xx behaves as 0b000 */
		return 0;
	}
	if (strict && (w0 & SMMU_STE0_RES0))
		return skho_fail(err, SKHO_E_STE, SKHO_NO_SID, 0,
				 "STE RES0 bits [58:52] set: 0x%llx",
				 (unsigned long long)(w0 & SMMU_STE0_RES0));
	if (strict && (w3 & SMMU_STE3_RES0))
		return skho_fail(err, SKHO_E_STE, SKHO_NO_SID, 0,
				 "STE RES0 bits of word 3 set: 0x%llx",
				 (unsigned long long)(w3 & SMMU_STE3_RES0));
	if (cfg == SMMU_STE_CFG_ABORT || cfg == SMMU_STE_CFG_BYPASS)
		return 0;

	if (cfg & 1) {	/* stage 1 translates: S1 or nested */
		out->s1fmt = SKHO_FIELD_GET(SMMU_STE0_S1FMT, w0);
		out->s1cdmax = SKHO_FIELD_GET(SMMU_STE0_S1CDMAX, w0);
		out->s1dss = SKHO_FIELD_GET(SMMU_STE1_S1DSS, w1);
		out->s1ctxptr = w0 & SMMU_STE0_S1CTXPTR;
		if (out->s1cdmax > SMMU_S1CDMAX_MAX)
			return skho_fail(err, SKHO_E_STE, SKHO_NO_SID, 0,
					 "STE.S1CDMax %u above %u", out->s1cdmax,
					 SMMU_S1CDMAX_MAX);
		if (out->s1fmt > SMMU_CD_FMT_2LVL_64K) {
			if (strict)
				return skho_fail(err, SKHO_E_STE, SKHO_NO_SID, 0,
						 "STE.S1Fmt %u is reserved",
						 out->s1fmt);
			out->s1fmt = SMMU_CD_FMT_LINEAR;	/* behaves as 0b00 */
		}
		if (out->s1cdmax && out->s1dss > SMMU_S1DSS_SSID0) {
			if (strict)
				return skho_fail(err, SKHO_E_STE, SKHO_NO_SID, 0,
						 "STE.S1DSS %u is reserved",
						 out->s1dss);
			out->s1dss = SMMU_S1DSS_TERMINATE;	/* behaves as 0b00 */
		}
		align = cd_table_bytes(out);
		if (align < 64)
			align = 64;
		if (strict && (out->s1ctxptr & (align - 1)))
			return skho_fail(err, SKHO_E_STE, SKHO_NO_SID,
					 out->s1ctxptr,
					 "STE.S1ContextPtr 0x%llx not aligned to its %llu-byte table",
					 (unsigned long long)out->s1ctxptr,
					 (unsigned long long)align);
	}
	if (cfg & 2) {	/* stage 2 translates: S2 or nested */
		out->vmid = SKHO_FIELD_GET(SMMU_STE2_S2VMID, w2);
		return decode_s2(w2, w3, smmu_oas, strict, &out->s2, s2geo, err);
	}
	return 0;
}

/*
 * Decode an STE, strictly: what smmu-kho accepts to preserve.  Errors:
 * -SKHO_E_STE (V=0, reserved Config, RES0 bits, S1Fmt 3, S1CDMax > 20,
 * S1DSS 3, S1ContextPtr not aligned to its table), -SKHO_E_PGTABLE (stage-2
 * geometry: S2TG or S2PS reserved, S2T0SZ out of range, S2SL0 invalid or
 * inconsistent, more than 16 concatenated tables, S2TTB misaligned or beyond
 * oas), -SKHO_E_UNSUPPORTED (S2AA64=0, S2ENDI=1).  Abort and bypass STEs
 * decode only V, Config and the RES0 bits.
 */
int skho_ste_decode(const u8 ste[64], u8 smmu_oas, struct skho_ste_info *out,
		    struct skho_err *err)
{
	struct pt_geom geo;

	return ste_decode(ste, smmu_oas, true, out, &geo, err);
}

/* @geo gets the stage-1 geometry (with hd) when there is a table. */
static int cd_decode(const u8 cd[64], u8 smmu_oas, bool strict,
		     struct skho_cd_info *out, struct pt_geom *geo,
		     struct skho_err *err)
{
	u64 w0 = skho_ld_le64(cd), w1 = skho_ld_le64(cd + 8);
	unsigned int t0sz = SKHO_FIELD_GET(SMMU_CD0_T0SZ, w0);
	unsigned int tg = SKHO_FIELD_GET(SMMU_CD0_TG0, w0);
	unsigned int ips = SKHO_FIELD_GET(SMMU_CD0_IPS, w0);
	struct skho_pt_cfg *pt = &out->s1;
	unsigned int g, bpl, levels;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!(w0 & SMMU_CD0_V))
		return 0;
	if (!(w0 & SMMU_CD0_AA64))
		return skho_fail(err, SKHO_E_UNSUPPORTED, SKHO_NO_SID, 0,
				 "CD.AA64 is 0: AArch32 stage 1 not supported");
	if (w0 & SMMU_CD0_ENDI)
		return skho_fail(err, SKHO_E_UNSUPPORTED, SKHO_NO_SID, 0,
				 "CD.ENDI is 1: big-endian tables not supported");
	if (!(w0 & SMMU_CD0_EPD1))
		return skho_fail(err, SKHO_E_UNSUPPORTED, SKHO_NO_SID, 0,
				 "CD.EPD1 is 0: TTB1 walks not supported");
	if (w0 & SMMU_CD0_TBI0)
		return skho_fail(err, SKHO_E_UNSUPPORTED, SKHO_NO_SID, 0,
				 "CD.TBI0 is 1: top byte ignore not supported");
	out->valid = true;
	out->asid = SKHO_FIELD_GET(SMMU_CD0_ASID, w0);
	pt->stage = SKHO_STAGE1;
	if (w0 & SMMU_CD0_EPD0) {
		out->epd0 = true;	/* TTB0 and TCR fields are ignored */
		return 0;
	}
	g = tg_lg2(tg);
	if (!g)
		return skho_fail(err, SKHO_E_PGTABLE, SKHO_NO_SID, 0,
				 "CD.TG0 %u is reserved", tg);
	if (strict && ips > 6)
		return skho_fail(err, SKHO_E_PGTABLE, SKHO_NO_SID, 0,
				 "CD.IPS %u is reserved", ips);
	if (64 - t0sz < SKHO_MIN_IAS || 64 - t0sz > max_ias(g))
		return skho_fail(err, SKHO_E_PGTABLE, SKHO_NO_SID, 0,
				 "CD.T0SZ %u out of range for a %uK granule",
				 t0sz, 1u << (g - 10));
	bpl = g - SMMU_PT_DESC_LG2;
	pt->granule_lg2 = g;
	pt->ias = 64 - t0sz;
	levels = (pt->ias - g + bpl - 1) / bpl;
	pt->start_level = SMMU_PT_MAX_LEVELS - levels;
	pt->nr_concat = 1;
	pt->oas = eff_oas(ips, smmu_oas, g);
	pt->ha = !!(w0 & (SMMU_CD0_HA | SMMU_CD0_AFFD));
	pt->root = w1 & SMMU_CD1_TTB0;
	rc = check_table(pt, "CD.TTB0", strict, geo, err);
	if (rc)
		return rc;
	geo->hd = (w0 & SMMU_CD0_HA) && (w0 & SMMU_CD0_HD);
	return 0;
}

/*
 * Decode a CD, strictly.  A V=0 CD decodes to valid=false and nothing else
 * is checked; an EPD0=1 CD decodes to epd0=true without a table.  Errors:
 * -SKHO_E_UNSUPPORTED (AA64=0, ENDI=1, EPD1=0, TBI0=1), -SKHO_E_PGTABLE
 * (TG0 or IPS reserved, T0SZ out of range, TTB0 misaligned or beyond oas).
 * CD.HD is not represented in struct skho_pt_cfg (see the top of this file).
 */
int skho_cd_decode(const u8 cd[64], u8 smmu_oas, struct skho_cd_info *out,
		   struct skho_err *err)
{
	struct pt_geom geo;

	return cd_decode(cd, smmu_oas, true, out, &geo, err);
}

/* ---- Stream table and CD tables --------------------------------------- */

/* The STE for @sid: its PA and a pointer to its 64 bytes (see below). */
static enum skho_fault ste_find(const struct skho_smmu *smmu, u32 sid,
				u64 *ste_pa, const void **ste)
{
	u32 cfg = smmu->strtab_cfg;
	unsigned int fmt = SKHO_FIELD_GET(SMMU_STRTAB_BASE_CFG_FMT, cfg);
	unsigned int log2size = SKHO_FIELD_GET(SMMU_STRTAB_BASE_CFG_LOG2SIZE, cfg);
	unsigned int split = SKHO_FIELD_GET(SMMU_STRTAB_BASE_CFG_SPLIT, cfg);
	u64 base = smmu->strtab_base & SMMU_STRTAB_BASE_ADDR;
	unsigned int align_lg2;
	u64 pa;

	*ste_pa = 0;
	/* SMMU_IDR1.SIDSIZE is at most 32: the effective LOG2SIZE too */
	if (log2size < 32 && (sid >> log2size))
		return SKHO_C_BAD_STREAMID;
	if (fmt != SMMU_STRTAB_FMT_2LVL) {
		/* ADDR[LOG2SIZE + 5:0] = 0, from the literal LOG2SIZE */
		align_lg2 = log2size + SMMU_STE_LG2SIZE;
		if (align_lg2 < 64)
			base &= ~((1ULL << align_lg2) - 1);
		else
			base = 0;
		pa = base + ((u64)sid << SMMU_STE_LG2SIZE);
	} else {
		unsigned int span;
		const void *p;
		u64 l1std, idx;

		if (split != 6 && split != 8 && split != 10)
			split = 6;
		/* ADDR[MAX(5, LOG2SIZE - SPLIT - 1 + 3):0] = 0 */
		align_lg2 = log2size > split ? log2size - split + 3 : 0;
		if (align_lg2 < 6)
			align_lg2 = 6;
		if (align_lg2 < 64)
			base &= ~((1ULL << align_lg2) - 1);
		else
			base = 0;
		pa = base + (u64)(sid >> split) * SMMU_L1STD_SIZE;
		p = skho_map(smmu->mem, pa, SMMU_L1STD_SIZE);
		if (!p)
			return SKHO_F_STE_FETCH;
		l1std = skho_ld_le64(p);
		span = SKHO_FIELD_GET(SMMU_L1STD_SPAN, l1std);
		idx = sid & ((1u << split) - 1);
		if (!span || span > SMMU_L1STD_SPAN_MAX || span > split + 1 ||
		    (idx >> (span - 1)))
			return SKHO_C_BAD_STREAMID;
		/* L2Ptr[5 + Span - 1:0] are taken as 0 */
		pa = (l1std & SMMU_L1STD_L2PTR &
		      ~((1ULL << (SMMU_STE_LG2SIZE + span - 1)) - 1)) +
		     (idx << SMMU_STE_LG2SIZE);
	}
	*ste = skho_map(smmu->mem, pa, 1u << SMMU_STE_LG2SIZE);
	if (!*ste)
		return SKHO_F_STE_FETCH;
	*ste_pa = pa;
	return SKHO_XLATE_OK;
}

/*
 * PA of the STE for @sid (IHI 0070 6.3.24, 5.1).  Reserved configurations
 * behave as the SMMU makes them: FMT 0b1x as linear, SPLIT other than
 * 6/8/10 as 6.  The table base is aligned down to the (first-level) table
 * size and an L2 pointer to its Span, as the SMMU ignores those bits.  An
 * L1STD with Span 0 or 12..31, a Span beyond SPLIT + 1 or a SID beyond the
 * Span is C_BAD_STREAMID (5.1.1).  F_STE_FETCH when the L1STD or the STE is
 * not readable.
 */
enum skho_fault skho_ste_locate(const struct skho_smmu *smmu, u32 sid,
				u64 *ste_pa)
{
	const void *ste;

	return ste_find(smmu, sid, ste_pa, &ste);
}
EXPORT_SYMBOL_NS_GPL(skho_ste_locate, "SMMU_KHO");

/*
 * The CD for @ssid, read through @mem (&s2->mem when nested): a pointer to
 * its 64 bytes and its address (an IPA when nested), or the fault.
 */
static enum skho_fault cd_fetch(const struct skho_mem *mem,
				const struct s2_mem *s2,
				const struct skho_ste_info *ste, u32 ssid,
				const void **cd, u64 *cd_addr, u8 *stage)
{
	u64 addr = ste->s1ctxptr;
	const void *p;

	if (!ste->s1cdmax) {
		if (ssid)
			return SKHO_C_BAD_SUBSTREAMID;
	} else if (ssid >> ste->s1cdmax) {
		return SKHO_C_BAD_SUBSTREAMID;
	} else if (ste->s1fmt == SMMU_CD_FMT_LINEAR) {
		addr += (u64)ssid << SMMU_CD_LG2SIZE;
	} else if (ste->s1fmt == SMMU_CD_FMT_2LVL_4K ||
		   ste->s1fmt == SMMU_CD_FMT_2LVL_64K) {
		unsigned int split = ste->s1fmt == SMMU_CD_FMT_2LVL_4K ? 6 : 10;
		u64 l1cd;

		p = skho_map(mem, addr + (u64)(ssid >> split) * SMMU_L1CD_SIZE,
			     SMMU_L1CD_SIZE);
		if (!p)
			return refine(s2, SKHO_F_CD_FETCH, stage);
		l1cd = skho_ld_le64(p);
		if (!(l1cd & SMMU_L1CD_V))	/* 5.3.1 */
			return SKHO_C_BAD_SUBSTREAMID;
		addr = (l1cd & SMMU_L1CD_L2PTR) +
		       ((u64)(ssid & ((1u << split) - 1)) << SMMU_CD_LG2SIZE);
	} else {
		return SKHO_C_BAD_STE;	/* S1Fmt 3: the decoder refuses it */
	}
	*cd_addr = addr;
	*cd = skho_map(mem, addr, 1u << SMMU_CD_LG2SIZE);
	if (!*cd)
		return refine(s2, SKHO_F_CD_FETCH, stage);
	return SKHO_XLATE_OK;
}

/*
 * PA of the CD for @ssid: C_BAD_SUBSTREAMID for an SSID beyond S1CDMax (any
 * but 0 when S1CDMax is 0) or an invalid L1CD (IHI 0070 5.3.1), F_CD_FETCH
 * when an L1CD or the CD is not readable.  For a nested STE the CD table
 * addresses are IPAs, translated through ste->s2, and a stage-2 fault is
 * returned as it is.  An STE without stage 1 (or an unusable stage 2) gives
 * C_BAD_STE.
 */
enum skho_fault skho_cd_locate(const struct skho_smmu *smmu,
			       const struct skho_ste_info *ste, u32 ssid,
			       u64 *cd_pa)
{
	struct s2_mem s2;
	struct pt_geom geo;
	enum skho_fault f;
	const void *cd;
	u32 prot;
	u8 stage = 0;

	*cd_pa = 0;
	if (ste->config == SMMU_STE_CFG_S1) {
		f = cd_fetch(smmu->mem, NULL, ste, ssid, &cd, cd_pa, &stage);
		if (f != SKHO_XLATE_OK)
			*cd_pa = 0;
		return f;
	}
	if (ste->config != SMMU_STE_CFG_NESTED || pt_geom_init(&ste->s2, &geo))
		return SKHO_C_BAD_STE;
	s2_mem_init(&s2, &geo, ste->s2.root, smmu->mem);
	f = cd_fetch(&s2.mem, &s2, ste, ssid, &cd, cd_pa, &stage);
	if (f != SKHO_XLATE_OK) {
		*cd_pa = 0;
		return f;
	}
	/* the fetch translated it already: this cannot fault */
	return walk(&s2.geo, s2.root, smmu->mem, *cd_pa, false, cd_pa, &prot);
}

/* ---- Whole transactions ------------------------------------------------ */

/* Stage 2 of @ipa for the transaction; *stage = 2 on a fault. */
static enum skho_fault xlate_s2(struct skho_xlate *x, const struct s2_mem *s2,
				u64 ipa, u32 s1_prot, u8 *stage)
{
	enum skho_fault f;
	u32 prot;
	u64 pa;

	f = walk(&s2->geo, s2->root, s2->base, ipa, x->write, &pa, &prot);
	if (f != SKHO_XLATE_OK) {
		*stage = 2;
		return f;
	}
	x->pa = pa;
	x->prot = prot & s1_prot;
	return SKHO_XLATE_OK;
}

static enum skho_fault xlate_bypass(struct skho_xlate *x)
{
	x->pa = x->iova;
	x->prot = SKHO_PROT_R | SKHO_PROT_W;
	return SKHO_XLATE_OK;
}

/* The transaction @x; on success fills x->pa and x->prot. */
static enum skho_fault xlate(const struct skho_smmu *smmu, struct skho_xlate *x,
			     u8 *stage)
{
	const struct skho_mem *mem = smmu->mem;
	struct skho_ste_info si;
	struct skho_cd_info ci;
	struct s2_mem s2m, *s2 = NULL;
	struct pt_geom g1, g2;
	enum skho_fault f;
	const void *p;
	u64 ste_pa, cd_addr, ipa;
	u32 ssid = 0, prot;

	f = ste_find(smmu, x->sid, &ste_pa, &p);
	if (f != SKHO_XLATE_OK)
		return f;
	if (ste_decode(p, smmu->oas, false, &si, &g2, NULL))
		return SKHO_C_BAD_STE;
	if (si.config == SMMU_STE_CFG_ABORT)
		return SKHO_XLATE_ABORT;
	if (!(si.config & 1) && x->ssv)		/* no stage 1: no substreams */
		return SKHO_C_BAD_SUBSTREAMID;
	if (si.config == SMMU_STE_CFG_BYPASS)
		return xlate_bypass(x);
	if (si.config & 2) {
		s2_mem_init(&s2m, &g2, si.s2.root, mem);
		s2 = &s2m;
		if (si.config == SMMU_STE_CFG_S2)
			return xlate_s2(x, s2, x->iova,
					SKHO_PROT_R | SKHO_PROT_W, stage);
		mem = &s2->mem;		/* stage 1 reads IPAs from here on */
	}

	/* Stage 1: pick the CD, or bypass / terminate per S1DSS. */
	if (x->ssv) {
		if (!si.s1cdmax)
			return SKHO_C_BAD_SUBSTREAMID;
		if (x->ssid == 0 && si.s1dss == SMMU_S1DSS_SSID0)
			return SKHO_F_STREAM_DISABLED;	/* SSID 0 is reserved */
		ssid = x->ssid;
	} else if (si.s1cdmax && si.s1dss == SMMU_S1DSS_TERMINATE) {
		return SKHO_F_STREAM_DISABLED;
	} else if (si.s1cdmax && si.s1dss == SMMU_S1DSS_BYPASS) {
		if (!s2)
			return xlate_bypass(x);
		return xlate_s2(x, s2, x->iova, SKHO_PROT_R | SKHO_PROT_W,
				stage);
	}
	f = cd_fetch(mem, s2, &si, ssid, &p, &cd_addr, stage);
	if (f != SKHO_XLATE_OK)
		return f;
	if (cd_decode(p, smmu->oas, false, &ci, &g1, NULL) || !ci.valid)
		return SKHO_C_BAD_CD;
	*stage = 1;
	if (ci.epd0)
		return SKHO_F_TRANSLATION;
	f = walk(&g1, ci.s1.root, mem, x->iova, x->write, &ipa, &prot);
	if (f == SKHO_F_WALK_EABT)
		f = refine(s2, f, stage);
	if (f != SKHO_XLATE_OK)
		return f;
	if (!s2) {
		x->pa = ipa;
		x->prot = prot;
		return SKHO_XLATE_OK;
	}
	return xlate_s2(x, s2, ipa, prot, stage);
}

/*
 * One transaction (IHI 0070 5.2, 5.4).  A transaction with a SubstreamID to
 * an STE without stage 1 (bypass, stage 2 only) or with S1CDMax 0 is
 * C_BAD_SUBSTREAMID; one with SSID 0 when S1DSS == SSID0 is
 * F_STREAM_DISABLED.  An ILLEGAL (or unmodelled) STE or CD is C_BAD_STE /
 * C_BAD_CD; reserved encodings behave as the specification says.
 * fault_stage is 1 or 2 for walk faults (a stage-2 fault while fetching a
 * nested stage-1 structure is stage 2), else 0.
 */
void skho_translate(const struct skho_smmu *smmu, struct skho_xlate *x)
{
	u8 stage = 0;

	x->pa = 0;
	x->prot = 0;
	x->fault = xlate(smmu, x, &stage);
	/* xlate() sets @stage only on the walk paths, and fills pa/prot on OK */
	x->fault_stage = x->fault == SKHO_XLATE_OK ? 0 : stage;
}

/* Spec name of a fault ("C_BAD_STE"); "OK", "ABORT"; never NULL. */
const char *skho_fault_name(enum skho_fault f)
{
	switch (f) {
	case SKHO_XLATE_OK:		return "OK";
	case SKHO_C_BAD_STREAMID:	return "C_BAD_STREAMID";
	case SKHO_F_STE_FETCH:		return "F_STE_FETCH";
	case SKHO_C_BAD_STE:		return "C_BAD_STE";
	case SKHO_F_STREAM_DISABLED:	return "F_STREAM_DISABLED";
	case SKHO_C_BAD_SUBSTREAMID:	return "C_BAD_SUBSTREAMID";
	case SKHO_F_CD_FETCH:		return "F_CD_FETCH";
	case SKHO_C_BAD_CD:		return "C_BAD_CD";
	case SKHO_F_WALK_EABT:		return "F_WALK_EABT";
	case SKHO_F_TRANSLATION:	return "F_TRANSLATION";
	case SKHO_F_ADDR_SIZE:		return "F_ADDR_SIZE";
	case SKHO_F_ACCESS:		return "F_ACCESS";
	case SKHO_F_PERMISSION:		return "F_PERMISSION";
	case SKHO_XLATE_ABORT:		return "ABORT";
	}
	return "UNKNOWN";
}
