// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Hand-back check: does a new STE translate every IOVA of an adopted one the same? */
#include "skho_xlat_same.h"

/*
 * How it works: the adopted table is enumerated with skho_pt_walk(), in IOVA
 * order, as maximal runs; each run is looked up in the new table with
 * skho_pt_lookup(), one call per new leaf (or faulting region) it overlaps.
 * Nothing is allocated and the time is linear in the leaves of both tables
 * over the adopted IOVAs; every new-table read is one bounded walk, so a
 * hostile new table (loops, pointers anywhere) costs no more than a sane one.
 * The compare runs to the end after a difference, so that new_digest covers
 * the whole adopted set.
 *
 * Leaves mapped without access permission (prot 0) translate nothing: on
 * the adopted side they are not part of the set to keep, on the new side
 * they are F_PERMISSION.  Hardware dirty state (CD.HD, STE.S2HD) makes DBM
 * pages writable in a way the walker does not model: refused as unsupported.
 */

/* A digest of (iova, pa, size, prot) records of maximal runs, as pt_dig. */
struct run_digest {
	struct skho_digest d;
	u64 iova, pa, size;
	u32 prot;
};

static void run_digest_flush(struct run_digest *r)
{
	if (!r->size)
		return;
	skho_digest_u64(&r->d, r->iova);
	skho_digest_u64(&r->d, r->pa);
	skho_digest_u64(&r->d, r->size);
	skho_digest_u64(&r->d, r->prot);
	r->size = 0;
}

/* Add a piece; pieces arrive in IOVA order and merge into maximal runs. */
static void run_digest_add(struct run_digest *r, u64 iova, u64 pa, u64 size,
			   u32 prot)
{
	if (r->size && r->iova + r->size == iova && r->pa + r->size == pa &&
	    r->prot == prot) {
		r->size += size;
		return;
	}
	run_digest_flush(r);
	r->iova = iova;
	r->pa = pa;
	r->size = size;
	r->prot = prot;
}

static u64 run_digest_final(struct run_digest *r)
{
	run_digest_flush(r);
	return skho_digest_final(&r->d);
}

static const char *prot_name(u32 prot)
{
	static const char *const names[] = { "-", "r", "w", "rw" };

	return names[prot & (SKHO_PROT_R | SKHO_PROT_W)];
}

/* Rewrite @err's message as "@who: message"; returns @ret. */
static int side_err(struct skho_err *err, int ret, const char *who)
{
	char msg[sizeof(err->msg)];

	if (!err || ret >= 0)
		return ret;
	memcpy(msg, err->msg, sizeof(msg));
	msg[sizeof(msg) - 1] = '\0';
	return skho_fail(err, ret, err->sid, err->addr, "%s: %s", who, msg);
}

/*
 * The stage-1 table of CD 0 of @si for transactions without a SubstreamID.
 * Errors: -SKHO_E_UNSUPPORTED (S1DSS terminate or bypass, CD 0 unreachable,
 * invalid, EPD0 or with hardware dirty state), -SKHO_E_OUTSIDE (L1CD or CD
 * not readable), -SKHO_E_CD / -SKHO_E_PGTABLE (from skho_cd_decode()).
 */
static int cd0_table(const struct skho_xlat_side *s, const char *who,
		     const struct skho_ste_info *si, struct skho_pt_cfg *pt,
		     struct skho_err *err)
{
	struct skho_cd_info ci;
	enum skho_fault f;
	const u8 *cd;
	u64 cd_pa;
	int ret;

	if (si->s1cdmax && si->s1dss != SMMU_S1DSS_SSID0)
		return skho_fail(err, SKHO_E_UNSUPPORTED, SKHO_NO_SID, 0,
				 "%s STE: S1DSS %s: transactions without a SubstreamID %s",
				 who, si->s1dss == SMMU_S1DSS_BYPASS ? "bypass" : "terminate",
				 si->s1dss == SMMU_S1DSS_BYPASS ? "bypass stage 1" : "fault");
	f = skho_cd_locate(s->smmu, si, 0, &cd_pa);
	cd = f == SKHO_XLATE_OK ? skho_map(s->smmu->mem, cd_pa, 64) : NULL;
	if (f == SKHO_F_CD_FETCH || (f == SKHO_XLATE_OK && !cd))
		return skho_fail(err, SKHO_E_OUTSIDE, SKHO_NO_SID, si->s1ctxptr,
				 "%s STE: CD 0 (table at 0x%llx) not readable", who,
				 (unsigned long long)si->s1ctxptr);
	if (f != SKHO_XLATE_OK)
		return skho_fail(err, SKHO_E_UNSUPPORTED, SKHO_NO_SID, si->s1ctxptr,
				 "%s STE: CD 0 (table at 0x%llx): %s", who,
				 (unsigned long long)si->s1ctxptr, skho_fault_name(f));
	ret = skho_cd_decode(cd, s->smmu->oas, &ci, err);
	if (ret)
		return side_err(err, ret, who);
	if (!ci.valid || ci.epd0)
		return skho_fail(err, SKHO_E_UNSUPPORTED, SKHO_NO_SID, cd_pa,
				 "%s STE: CD 0 at 0x%llx %s: every transaction faults",
				 who, (unsigned long long)cd_pa,
				 ci.valid ? "has EPD0" : "is invalid");
	if ((skho_ld_le64(cd) & SMMU_CD0_HA) && (skho_ld_le64(cd) & SMMU_CD0_HD))
		return skho_fail(err, SKHO_E_UNSUPPORTED, SKHO_NO_SID, cd_pa,
				 "%s STE: CD 0 at 0x%llx has HD (dirty tracking): not compared",
				 who, (unsigned long long)cd_pa);
	*pt = ci.s1;
	return 0;
}

/*
 * The table that translates @s's transactions without a SubstreamID.
 * Errors: -SKHO_E_UNSUPPORTED (abort, bypass, nested, S2HD, or see
 * cd0_table()), -SKHO_E_STE / -SKHO_E_PGTABLE (from skho_ste_decode()),
 * and those of cd0_table().
 */
static int side_table(const struct skho_xlat_side *s, const char *who,
		      struct skho_pt_cfg *pt, struct skho_err *err)
{
	u64 w2 = skho_ld_le64(s->ste + 16);
	struct skho_ste_info si;
	int ret;

	ret = skho_ste_decode(s->ste, s->smmu->oas, &si, err);
	if (ret)
		return side_err(err, ret, who);
	switch (si.config) {
	case SMMU_STE_CFG_S1:
		return cd0_table(s, who, &si, pt, err);
	case SMMU_STE_CFG_S2:
		if ((w2 & SMMU_STE2_S2HA) && (w2 & SMMU_STE2_S2HD))
			return skho_fail(err, SKHO_E_UNSUPPORTED, SKHO_NO_SID, 0,
					 "%s STE has S2HD (dirty tracking): not compared",
					 who);
		*pt = si.s2;
		return 0;
	case SMMU_STE_CFG_ABORT:
		return skho_fail(err, SKHO_E_UNSUPPORTED, SKHO_NO_SID, 0,
				 "%s STE aborts every transaction: nothing to compare",
				 who);
	case SMMU_STE_CFG_BYPASS:
		return skho_fail(err, SKHO_E_UNSUPPORTED, SKHO_NO_SID, 0,
				 "%s STE bypasses translation: nothing to compare",
				 who);
	default:
		return skho_fail(err, SKHO_E_UNSUPPORTED, SKHO_NO_SID, 0,
				 "%s STE is nested (Config %u): not compared", who,
				 si.config);
	}
}

/* The compare, driven by the runs of the adopted table. */
struct xlat_cmp {
	struct skho_pt_cfg new_pt;
	const struct skho_mem *new_mem;
	struct skho_xlat_cmp *out;
	struct skho_err *err;
	struct run_digest old_d, new_d;
	bool differs;
	bool new_unreadable;	/* the walk stopped on the new table */
};

/* Keep the first (lowest) difference: @iova of an old run at @old_pa. */
static void note_difference(struct xlat_cmp *c, u64 iova, u64 old_pa,
			    u32 old_prot, enum skho_fault f,
			    const struct skho_pt_leaf *l)
{
	struct skho_xlat_cmp *o = c->out;

	if (c->differs)
		return;
	c->differs = true;
	o->iova = iova;
	o->old_pa = old_pa;
	o->old_prot = old_prot;
	if (f == SKHO_XLATE_OK && !l->prot)
		f = SKHO_F_PERMISSION;
	o->new_fault = f;
	o->new_pa = f == SKHO_XLATE_OK ? l->pa : 0;
	o->new_prot = f == SKHO_XLATE_OK ? l->prot : 0;
}

/*
 * One run of the adopted table: look up each new leaf it overlaps.
 * Errors: -SKHO_E_OUTSIDE (a new-table descriptor not readable).
 */
static int cmp_run(void *arg, u64 iova, u64 pa, u64 size, u32 prot)
{
	struct xlat_cmp *c = arg;
	u64 cur = iova, end = iova + size - 1, last;
	struct skho_pt_leaf l;
	enum skho_fault f;

	if (!prot)
		return 0;	/* translates nothing: not part of the set */
	c->out->nr_pages += size >> 12;
	run_digest_add(&c->old_d, iova, pa, size, prot);
	for (;;) {
		f = skho_pt_lookup(&c->new_pt, c->new_mem, cur, &l);
		c->new_unreadable = f == SKHO_F_WALK_EABT;
		if (c->new_unreadable)
			return skho_fail(c->err, SKHO_E_OUTSIDE, SKHO_NO_SID, l.table,
					 "new STE: descriptor at 0x%llx for IOVA 0x%llx not readable",
					 (unsigned long long)l.table,
					 (unsigned long long)cur);
		last = l.last < end ? l.last : end;
		if (f == SKHO_XLATE_OK && l.prot)
			run_digest_add(&c->new_d, cur, l.pa, last - cur + 1, l.prot);
		if (f != SKHO_XLATE_OK || l.prot != prot || l.pa != pa + (cur - iova))
			note_difference(c, cur, pa + (cur - iova), prot, f, &l);
		if (last == end)
			return 0;
		cur = last + 1;
	}
}

/*
 * Compare (see skho_xlat_same.h).  The adopted table's own errors come from
 * skho_pt_walk() (-SKHO_E_OUTSIDE, -SKHO_E_PGTABLE) prefixed "adopted";
 * the new table's unreadable descriptors are -SKHO_E_OUTSIDE.  Never
 * allocates: -SKHO_E_NOMEM is not returned.
 */
int skho_xlat_same(const struct skho_xlat_side *old,
		   const struct skho_xlat_side *new,
		   struct skho_xlat_cmp *out, struct skho_err *err)
{
	struct xlat_cmp c = { .new_mem = new->smmu->mem, .out = out, .err = err };
	struct skho_pt_visitor v = { .run = cmp_run, .arg = &c };
	struct skho_pt_cfg old_pt;
	struct skho_xlat_cmp *o = out;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = side_table(old, "adopted", &old_pt, err);
	ret = ret ?: side_table(new, "new", &c.new_pt, err);
	if (ret)
		return ret;
	skho_digest_init(&c.old_d.d, 0);
	skho_digest_init(&c.new_d.d, 0);
	ret = skho_pt_walk(&old_pt, old->smmu->mem, &v, err);
	if (ret)
		return c.new_unreadable ? ret : side_err(err, ret, "adopted");
	o->old_digest = run_digest_final(&c.old_d);
	o->new_digest = run_digest_final(&c.new_d);
	if (!c.differs)
		return 0;
	if (o->new_fault == SKHO_XLATE_OK)
		return skho_fail(err, SKHO_E_DIFFERS, SKHO_NO_SID, o->old_pa,
				 "IOVA 0x%llx: adopted PA 0x%llx %s, new PA 0x%llx %s",
				 (unsigned long long)o->iova,
				 (unsigned long long)o->old_pa, prot_name(o->old_prot),
				 (unsigned long long)o->new_pa, prot_name(o->new_prot));
	return skho_fail(err, SKHO_E_DIFFERS, SKHO_NO_SID, o->old_pa,
			 "IOVA 0x%llx: adopted PA 0x%llx %s, new: %s",
			 (unsigned long long)o->iova, (unsigned long long)o->old_pa,
			 prot_name(o->old_prot), skho_fault_name(o->new_fault));
}
