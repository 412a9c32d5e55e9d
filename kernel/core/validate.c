// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* smmu-kho core: decide, stream by stream, whether handed-over state can be adopted. */
#include "skho_handover.h"

#define STREAM_AT(s, i)	((const u8 *)(s)->streams + (size_t)(i) * sizeof(struct skho_abi_stream))
#define PGTABLE_AT(s, i) ((const u8 *)(s)->pgtables + (size_t)(i) * sizeof(struct skho_abi_pgtable))

enum memo_state { MEMO_TODO = 0, MEMO_OK, MEMO_FAILED };

/* One per page-tables entry: the table is walked at most once. */
struct pt_memo {
	u8 state;
	u8 ha;		/* the HA the digest was computed with */
	int code;	/* -SKHO_E_* when MEMO_FAILED */
	u64 addr;	/* where it failed */
};

/*
 * Table pages already walked in this instance.  A page table as Linux
 * builds it reaches each of its table pages from exactly one descriptor,
 * and no two tables share one; a handover whose descriptors alias a table
 * (the same lower table under many entries, or under two roots) could make
 * a walk visit it exponentially often.  Refusing a second visit bounds all
 * walks of an instance by its preserved pages.
 */
struct page_set {
	u64 *slot;		/* page number + 1, 0 = empty; open addressing */
	u32 mask, nr;
};

struct val_ctx {
	const struct skho_ho_smmu *s;
	const struct skho_mem *fenced;
	struct pt_memo *memo;
	struct page_set seen;
	struct skho_strtab_geo g;	/* its L1 (or linear) table is inside */
	u64 l2_pa, l2_size;		/* the last L2 table found inside */
	u32 sid;
};

static u32 find_pgtable(const struct skho_ho_smmu *s, u64 root)
{
	u32 lo = 0, hi = s->nr_pgtables;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;
		u64 r = skho_fdt_ld64(PGTABLE_AT(s, mid) +
				      offsetof(struct skho_abi_pgtable, root));

		if (r == root)
			return mid;
		if (r < root)
			lo = mid + 1;
		else
			hi = mid;
	}
	return ~0u;
}

static bool find_id(const fdt32_t *ids, u32 nr, u32 id)
{
	u32 lo = 0, hi = nr;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2, v = fdt32_to_cpu(ids[mid]);

		if (v == id)
			return true;
		if (v < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* 1 if @pg was new (now recorded), 0 if already there, -SKHO_E_NOMEM. */
static int page_set_add(struct page_set *ps, u64 pg)
{
	u64 h, key = pg + 1;
	u32 i;

	if ((ps->nr + 1) * 2 > ps->mask + 1) {
		u32 n = ps->mask ? (ps->mask + 1) * 2 : 256, j;
		u64 *t = skho_calloc(n, sizeof(*t));

		if (!t)
			return -SKHO_E_NOMEM;
		for (j = 0; ps->mask && j <= ps->mask; j++) {
			if (!ps->slot[j])
				continue;
			h = ps->slot[j] * 0x9e3779b97f4a7c15ULL;
			for (i = (u32)(h >> 32) & (n - 1); t[i]; i = (i + 1) & (n - 1))
				;
			t[i] = ps->slot[j];
		}
		skho_free(ps->slot);
		ps->slot = t;
		ps->mask = n - 1;
	}
	h = key * 0x9e3779b97f4a7c15ULL;
	for (i = (u32)(h >> 32) & ps->mask; ps->slot[i]; i = (i + 1) & ps->mask)
		if (ps->slot[i] == key)
			return 0;
	ps->slot[i] = key;
	ps->nr++;
	return 1;
}

/* The leaf check of a table walk: where could the device write? */
struct val_run {
	struct val_ctx *c;
	const struct skho_pt_cfg *pt;
	struct skho_err *err;
};

/* Every table page of the instance is walked at most once (struct page_set). */
static int val_table(void *arg, u64 pa, u64 size, unsigned int level)
{
	const struct val_run *r = arg;
	struct page_set *ps = &r->c->seen;
	u64 pg;
	int ret;

	for (pg = pa >> 12; pg <= (pa + size - 1) >> 12; pg++) {
		ret = page_set_add(ps, pg);
		if (ret < 0)
			return skho_fail(r->err, SKHO_E_NOMEM, r->c->sid, pa, "table page set");
		if (!ret)
			return skho_fail(r->err, SKHO_E_PGTABLE, r->c->sid, pa,
					 "SID %#x: level-%u table at %#llx reached twice (aliased tables, root %#llx)",
					 r->c->sid, level, (unsigned long long)pa,
					 (unsigned long long)r->pt->root);
	}
	return 0;
}

static int val_run(void *arg, u64 iova, u64 pa, u64 size, u32 prot)
{
	const struct val_run *r = arg;
	const struct skho_ho_smmu *s = r->c->s;

	if (!prot)	/* mapped without access: the device cannot reach it */
		return 0;
	if (!skho_ranges_contain(&s->outputs, pa, size))
		return skho_fail(r->err, SKHO_E_OUTPUT, r->c->sid, pa,
				 "SID %#x: table at %#llx maps IOVA %#llx to %#llx+%#llx, outside the preserved output pages",
				 r->c->sid, (unsigned long long)r->pt->root,
				 (unsigned long long)iova, (unsigned long long)pa,
				 (unsigned long long)size);
	if (skho_ranges_overlap(&s->ranges, pa, size))
		return skho_fail(r->err, SKHO_E_OUTPUT, r->c->sid, pa,
				 "SID %#x: table at %#llx maps IOVA %#llx onto table pages %#llx+%#llx",
				 r->c->sid, (unsigned long long)r->pt->root,
				 (unsigned long long)iova, (unsigned long long)pa,
				 (unsigned long long)size);
	return 0;
}

static int val_pt_digest(void *arg, const struct skho_pt_cfg *pt, u64 *digest,
			 struct skho_err *err)
{
	struct val_ctx *c = arg;
	const struct skho_ho_smmu *s = c->s;
	u32 i = find_pgtable(s, pt->root);
	struct pt_memo *m;
	const u8 *rec;
	u64 listed, got;
	int ret;

	if (i == ~0u)
		return skho_fail(err, SKHO_E_LISTING, c->sid, pt->root,
				 "SID %#x: stage-%u table at %#llx not in page-tables",
				 c->sid, pt->stage, (unsigned long long)pt->root);
	rec = PGTABLE_AT(s, i);
	if (rec[offsetof(struct skho_abi_pgtable, stage)] != pt->stage ||
	    rec[offsetof(struct skho_abi_pgtable, granule_lg2)] != pt->granule_lg2 ||
	    rec[offsetof(struct skho_abi_pgtable, start_level)] != pt->start_level ||
	    rec[offsetof(struct skho_abi_pgtable, ias)] != pt->ias ||
	    rec[offsetof(struct skho_abi_pgtable, oas)] != pt->oas ||
	    rec[offsetof(struct skho_abi_pgtable, nr_concat)] != pt->nr_concat)
		return skho_fail(err, SKHO_E_LISTING, c->sid, pt->root,
				 "SID %#x: table at %#llx listed as stage %u granule 2^%u level %u ias %u oas %u concat %u, used as %u/2^%u/%u/%u/%u/%u",
				 c->sid, (unsigned long long)pt->root,
				 rec[offsetof(struct skho_abi_pgtable, stage)],
				 rec[offsetof(struct skho_abi_pgtable, granule_lg2)],
				 rec[offsetof(struct skho_abi_pgtable, start_level)],
				 rec[offsetof(struct skho_abi_pgtable, ias)],
				 rec[offsetof(struct skho_abi_pgtable, oas)],
				 rec[offsetof(struct skho_abi_pgtable, nr_concat)],
				 pt->stage, pt->granule_lg2, pt->start_level, pt->ias,
				 pt->oas, pt->nr_concat);
	listed = skho_fdt_ld64(rec + offsetof(struct skho_abi_pgtable, digest));
	m = &c->memo[i];
	if (m->state != MEMO_TODO && m->ha != pt->ha)
		return skho_fail(err, SKHO_E_LISTING, c->sid, pt->root,
				 "SID %#x: table at %#llx used with and without HA",
				 c->sid, (unsigned long long)pt->root);
	if (m->state == MEMO_FAILED)
		return skho_fail(err, -m->code, c->sid, m->addr,
				 "SID %#x: table at %#llx was refused (%s at %#llx)",
				 c->sid, (unsigned long long)pt->root,
				 skho_strerror(m->code), (unsigned long long)m->addr);
	if (m->state == MEMO_OK) {
		*digest = listed;
		return 0;
	}
	m->ha = pt->ha;
	{
		struct val_run vr = { .c = c, .pt = pt, .err = err };
		struct skho_pt_visitor obs = {
			.table = val_table, .run = val_run, .arg = &vr,
		};

		ret = skho_pt_digest_obs(pt, c->fenced, &obs, &got, err);
	}
	if (!ret && got != listed)
		ret = skho_fail(err, SKHO_E_DIGEST, c->sid, pt->root,
				"SID %#x: table at %#llx digest %#llx, page-tables says %#llx",
				c->sid, (unsigned long long)pt->root,
				(unsigned long long)got, (unsigned long long)listed);
	if (ret) {
		m->state = MEMO_FAILED;
		m->code = ret;
		m->addr = err ? err->addr : pt->root;
		if (ret != -SKHO_E_OUTPUT)	/* that report names SID and IOVA */
			skho_err_blame(err, -ret, c->sid, pt->root);
		return ret;
	}
	m->state = MEMO_OK;
	*digest = listed;
	return 0;
}

/* The visitor's argument: the context plus where to report. */
struct val_cb {
	struct val_ctx *c;
	struct skho_err *err;
};

/*
 * Stream-table pages: the whole table must be preserved.  The L1 (or linear)
 * table was checked for the instance, and consecutive SIDs share L2 tables:
 * neither is looked up again.  (CD tables need no such callback: the fenced
 * accessor maps each one whole.)
 */
static int cb_strtab(void *arg, u64 pa, u64 size)
{
	struct val_cb *b = arg;
	struct val_ctx *c = b->c;

	if ((pa == c->g.base && size == c->g.l1_size) ||
	    (pa == c->l2_pa && size == c->l2_size))
		return 0;
	if (skho_ranges_contain(&c->s->ranges, pa, size)) {
		c->l2_pa = pa;
		c->l2_size = size;
		return 0;
	}
	return skho_fail(b->err, SKHO_E_OUTSIDE, c->sid, pa,
			 "SID %#x: table at %#llx (%#llx bytes) outside the preserved pages",
			 c->sid, (unsigned long long)pa, (unsigned long long)size);
}

static int cb_asid(void *arg, u16 asid)
{
	struct val_cb *b = arg;
	const struct skho_ho_smmu *s = b->c->s;

	if (find_id(s->asids, s->nr_asids, asid))
		return 0;
	return skho_fail(b->err, SKHO_E_LISTING, b->c->sid, 0,
			 "SID %#x: ASID %#x not in asids", b->c->sid, asid);
}

static int cb_vmid(void *arg, u16 vmid)
{
	struct val_cb *b = arg;
	const struct skho_ho_smmu *s = b->c->s;

	if (find_id(s->vmids, s->nr_vmids, vmid))
		return 0;
	return skho_fail(b->err, SKHO_E_LISTING, b->c->sid, 0,
			 "SID %#x: VMID %#x not in vmids", b->c->sid, vmid);
}

static int cb_pt_digest(void *arg, const struct skho_pt_cfg *pt, u64 *digest,
			struct skho_err *err)
{
	struct val_cb *b = arg;

	return val_pt_digest(b->c, pt, digest, err);
}

static int check_stream(struct val_cb *b, const struct skho_smmu *smmu,
			const u8 *rec, struct skho_err *why)
{
	struct skho_stream_visitor vs = { .table = cb_strtab, .arg = b };
	struct skho_stream_visitor v = {
		.pt_digest = cb_pt_digest, .asid = cb_asid, .vmid = cb_vmid, .arg = b,
	};
	u32 sid = b->c->sid;
	const u8 *ref = rec + offsetof(struct skho_abi_stream, ste);
	u64 ste_digest = skho_fdt_ld64(rec + offsetof(struct skho_abi_stream, ste_digest));
	u64 xlat = skho_fdt_ld64(rec + offsetof(struct skho_abi_stream, xlat_digest));
	const u8 *ste;
	u64 ste_pa, got;
	u32 w;
	int ret;

	/* The STE, its L1STD and its whole L2 table inside the preserved pages */
	b->err = why;
	ret = skho_stream_locate(smmu, &b->c->g, sid, &vs, &ste_pa, &ste, why);
	if (ret)
		return ret;
	/* The reference copy itself first: is the handover intact? */
	got = skho_digest_buf(ref, 64, 0);
	if (got != ste_digest)
		return skho_fail(why, SKHO_E_DIGEST, sid, ste_pa,
				 "SID %#x: ste_digest %#llx, STE at %#llx digests to %#llx",
				 sid, (unsigned long long)ste_digest,
				 (unsigned long long)ste_pa, (unsigned long long)got);
	/* Then the live STE against it: was any byte lost? */
	if (memcmp(ste, ref, 64)) {
		for (w = 0; w < 7 && !memcmp(ste + w * 8, ref + w * 8, 8); w++)
			;
		return skho_fail(why, SKHO_E_STE_LOST, sid, ste_pa + w * 8,
				 "SID %#x: STE at %#llx dword %u is %#llx, reference copy %#llx",
				 sid, (unsigned long long)ste_pa, w,
				 (unsigned long long)skho_ld_le64(ste + w * 8),
				 (unsigned long long)skho_ld_le64(ref + w * 8));
	}
	ret = skho_stream_visit_ste(smmu, sid, ref, &v, &got, why);
	if (ret)
		return ret;
	if (got != xlat)
		return skho_fail(why, SKHO_E_DIGEST, sid, ste_pa,
				 "SID %#x: xlat_digest %#llx handed over, %#llx recomputed (STE at %#llx)",
				 sid, (unsigned long long)xlat, (unsigned long long)got,
				 (unsigned long long)ste_pa);
	return 0;
}

int skho_handover_validate(const struct skho_handover *ho, u32 idx,
			   const struct skho_mem *mem, skho_verdict_fn verdict,
			   void *arg, struct skho_err *err)
{
	const struct skho_ho_smmu *s;
	struct skho_mem_fence fence;
	struct skho_smmu smmu;
	struct skho_err why;
	struct val_ctx c;
	struct val_cb b;
	u32 i, refused = 0;
	int ret;

	if (!ho || !mem || idx >= ho->nr_smmus || ho->nr_smmus > SKHO_MAX_SMMUS)
		return skho_fail(err, SKHO_E_INVAL, SKHO_NO_SID, 0,
				 "bad argument (SMMU index %u of %u)", idx, ho ? ho->nr_smmus : 0);
	s = &ho->smmu[idx];
	if (!s->nr_streams)
		return 0;
	skho_mem_fence_init(&fence, mem, &s->ranges);
	smmu.strtab_base = s->strtab_base;
	smmu.strtab_cfg = s->strtab_cfg;
	smmu.oas = s->oas;
	smmu.mem = &fence.mem;
	c.memo = NULL;
	c.seen.slot = NULL;
	c.seen.mask = 0;
	c.seen.nr = 0;
	c.l2_pa = 0;
	c.l2_size = 0;	/* matches no table */
	ret = skho_strtab_geo(s->strtab_base, s->strtab_cfg, &c.g, &why);
	if (!ret && !skho_ranges_contain(&s->ranges, c.g.base, c.g.l1_size))
		ret = skho_fail(&why, SKHO_E_OUTSIDE, SKHO_NO_SID, c.g.base,
				"smmu %#llx: %s stream table at %#llx (%#llx bytes) outside the preserved pages",
				(unsigned long long)s->mmio_base,
				c.g.two_level ? "L1" : "linear",
				(unsigned long long)c.g.base, (unsigned long long)c.g.l1_size);
	if (!ret) {
		c.memo = skho_calloc(s->nr_pgtables ? s->nr_pgtables : 1, sizeof(*c.memo));
		if (!c.memo)
			ret = skho_fail(&why, SKHO_E_NOMEM, SKHO_NO_SID, 0,
					"memo of %u page tables", s->nr_pgtables);
	}
	if (ret) {
		/* The instance as a whole cannot be trusted: refuse every stream. */
		if (err)
			*err = why;
		for (i = 0; verdict && i < s->nr_streams; i++) {
			why.sid = skho_fdt_ld32(STREAM_AT(s, i));
			verdict(arg, why.sid, &why);
		}
		return ret;
	}
	c.s = s;
	c.fenced = &fence.mem;
	b.c = &c;
	for (i = 0; i < s->nr_streams; i++) {
		const u8 *rec = STREAM_AT(s, i);

		c.sid = skho_fdt_ld32(rec + offsetof(struct skho_abi_stream, sid));
		why.code = 0;
		ret = check_stream(&b, &smmu, rec, &why);
		if (ret) {
			if (why.code != ret)	/* a callee returned without a report */
				skho_fail(&why, -ret, c.sid, 0, "SID %#x: %s", c.sid,
					  skho_strerror(ret));
			refused++;
		}
		if (verdict)
			verdict(arg, c.sid, ret ? &why : NULL);
	}
	skho_free(c.memo);
	skho_free(c.seen.slot);
	return (int)refused;
}
