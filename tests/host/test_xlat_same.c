// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* KTAP tests of skho_xlat_same(): hand-back allowed iff the new STE translates the same. */
#include <inttypes.h>
#include <stdio.h>

#include "arena.h"
#include "ktest.h"
#include "walk_build.h"
#include "skho_handover.h"
#include "skho_xlat_same.h"

#define MiB(x)	((u64)(x) << 20)
#define R	SKHO_PROT_R
#define W	SKHO_PROT_W
#define RW	(SKHO_PROT_R | SKHO_PROT_W)
#define PG	0x1000ULL

/* Both sides' tables live in one memory window; leaf PAs need not. */
struct fix {
	struct tmem m;
	struct skho_smmu smmu;
	struct tpt old_pt, new_pt;
	u8 old_ste[64], new_ste[64];
	struct skho_xlat_cmp out;
	struct skho_err err;
};

static bool fix_init(struct fix *f, u64 mem)
{
	memset(f, 0, sizeof(*f));
	if (!tm_init(&f->m, mem))
		return false;
	f->smmu.mem = &f->m.mem;
	f->smmu.oas = 48;
	return true;
}

/* A stage-2 4K table of 39 bits in (start level 1), as Linux makes one. */
static void s2_table(struct fix *f, struct tpt *p, u8 ste[64])
{
	tpt_init(p, &f->m, SKHO_STAGE2, 12, 39, 48);
	ste_s2(ste, &p->c, 1);
}

/* A stage-1 4K table reached through CD 0 of a linear table of 2^cdmax CDs. */
static void s1_table(struct fix *f, struct tpt *p, u8 ste[64],
		     unsigned int cdmax, unsigned int s1dss)
{
	struct tcdt c;
	u8 cd[64];

	tpt_init(p, &f->m, SKHO_STAGE1, 12, 48, 48);
	tcdt_init(&c, &f->m, SMMU_CD_FMT_LINEAR, cdmax);
	cd_build(cd, &p->c, 7);
	tcdt_put(&c, 0, cd);
	ste_s1(ste, c.base, SMMU_CD_FMT_LINEAR, cdmax, s1dss);
}

static int run(struct fix *f)
{
	struct skho_xlat_side o = { .smmu = &f->smmu, .ste = f->old_ste };
	struct skho_xlat_side n = { .smmu = &f->smmu, .ste = f->new_ste };

	memset(&f->err, 0, sizeof(f->err));
	return skho_xlat_same(&o, &n, &f->out, &f->err);
}

static void swap_stes(struct fix *f)
{
	u8 tmp[64];

	memcpy(tmp, f->old_ste, 64);
	memcpy(f->old_ste, f->new_ste, 64);
	memcpy(f->new_ste, tmp, 64);
}

/* 4K pages [iova, iova + n pages) -> pa onwards. */
static void map_pages(struct tpt *p, u64 iova, u64 pa, u64 n, u32 prot)
{
	u64 i;

	for (i = 0; i < n; i++)
		tpt_map(p, iova + i * PG, pa + i * PG, 3, prot);
}

/* A typical adopted set: a 2 MiB block, a few runs of pages, a lone page. */
static void map_sample(struct tpt *p)
{
	tpt_map(p, MiB(2), 0x80000000ULL, 2, RW);
	map_pages(p, MiB(6), 0x4a3c0000ULL, 8, RW);
	map_pages(p, MiB(6) + 8 * PG, 0x51000000ULL, 3, R);
	tpt_map(p, 0x7ff000000ULL, 0x123456000ULL, 3, RW);
}

#define SAMPLE_PAGES	(512 + 8 + 3 + 1)

/* The sample on both sides, each an S2 table or CD 0 of an S1 STE. */
static void sample_pair(struct fix *f, bool old_s1, bool new_s1)
{
	if (old_s1)
		s1_table(f, &f->old_pt, f->old_ste, 0, 0);
	else
		s2_table(f, &f->old_pt, f->old_ste);
	map_sample(&f->old_pt);
	if (new_s1)
		s1_table(f, &f->new_pt, f->new_ste, 0, 0);
	else
		s2_table(f, &f->new_pt, f->new_ste);
	map_sample(&f->new_pt);
}

#define EXPECT_SAME(t, f, pages) do {						\
	int _rc = run(f);							\
	KEXPECT((t), _rc == 0, "%s: %s", skho_strerror(_rc), (f)->err.msg);	\
	KEXPECT_EQ((t), (f)->out.old_digest, (f)->out.new_digest);		\
	KEXPECT_EQ((t), (f)->out.nr_pages, (pages));				\
} while (0)

#define EXPECT_RC(t, f, want) do {						\
	int _rc = run(f);							\
	KEXPECT((t), _rc == -(want), "got %s (%s), want %s",			\
		skho_strerror(_rc), (f)->err.msg, skho_strerror(want));		\
} while (0)

/* ---- Same translations ------------------------------------------------- */

static void s2_copy_at_other_pas_is_same(struct ktest *t)
{
	struct fix f;
	u64 dig;

	KASSERT(t, fix_init(&f, MiB(4)), "out of host memory");
	sample_pair(&f, false, false);
	KEXPECT(t, f.old_pt.c.root != f.new_pt.c.root, "tables not copied");
	EXPECT_SAME(t, &f, SAMPLE_PAGES);
	/* the old digest is the table digest the handover records */
	KASSERT(t, skho_pt_digest(&f.old_pt.c, &f.m.mem, NULL, NULL, &dig, NULL) == 0);
	KEXPECT_EQ(t, f.out.old_digest, dig);
	tm_fini(&f.m);
}

static void s1_cd0_vs_s2_same_leaves_is_same(struct ktest *t)
{
	struct fix f;

	KASSERT(t, fix_init(&f, MiB(4)), "out of host memory");
	sample_pair(&f, true, false);
	EXPECT_SAME(t, &f, SAMPLE_PAGES);
	swap_stes(&f);		/* and an S2 STE handed back to an S1 domain */
	EXPECT_SAME(t, &f, SAMPLE_PAGES);
	tm_fini(&f.m);
}

static void s1dss_ssid0_uses_cd0_and_is_same(struct ktest *t)
{
	struct fix f;

	KASSERT(t, fix_init(&f, MiB(4)), "out of host memory");
	s1_table(&f, &f.old_pt, f.old_ste, 3, SMMU_S1DSS_SSID0);
	map_sample(&f.old_pt);
	s1_table(&f, &f.new_pt, f.new_ste, 0, 0);
	map_sample(&f.new_pt);
	EXPECT_SAME(t, &f, SAMPLE_PAGES);
	tm_fini(&f.m);
}

static void block_2m_vs_512_pages_is_same_both_ways(struct ktest *t)
{
	struct fix f;

	KASSERT(t, fix_init(&f, MiB(4)), "out of host memory");
	s2_table(&f, &f.old_pt, f.old_ste);
	tpt_map(&f.old_pt, MiB(4), 0x80200000ULL, 2, RW);
	s2_table(&f, &f.new_pt, f.new_ste);
	map_pages(&f.new_pt, MiB(4), 0x80200000ULL, 512, RW);
	EXPECT_SAME(t, &f, 512);
	swap_stes(&f);
	EXPECT_SAME(t, &f, 512);
	tm_fini(&f.m);
}

static void new_maps_extra_iovas_is_same(struct ktest *t)
{
	struct fix f;

	KASSERT(t, fix_init(&f, MiB(4)), "out of host memory");
	sample_pair(&f, false, false);
	/* right after a run, with the PA continuing it, and far away */
	tpt_map(&f.new_pt, MiB(6) + 11 * PG, 0x51000000ULL + 3 * PG, 3, R);
	tpt_map(&f.new_pt, MiB(6) - PG, 0x4a3c0000ULL - PG, 3, RW);
	tpt_map(&f.new_pt, MiB(64), 0x90000000ULL, 2, RW);
	EXPECT_SAME(t, &f, SAMPLE_PAGES);
	tm_fini(&f.m);
}

static void empty_adopted_table_is_same(struct ktest *t)
{
	struct fix f;

	KASSERT(t, fix_init(&f, MiB(4)), "out of host memory");
	s2_table(&f, &f.old_pt, f.old_ste);
	s2_table(&f, &f.new_pt, f.new_ste);
	map_sample(&f.new_pt);
	EXPECT_SAME(t, &f, 0);
	tm_fini(&f.m);
}

/* ---- Differences ------------------------------------------------------- */

/* Adopted sample vs a new sample with one change made by @perturb. */
static void differs_setup(struct fix *f, void (*perturb)(struct tpt *p))
{
	sample_pair(f, false, false);
	perturb(&f->new_pt);
}

static void remap_page_2(struct tpt *p)
{
	tpt_map(p, MiB(6) + 2 * PG, 0x4b000000ULL, 3, RW);
}

/* The first difference expected, and the message naming it. */
struct difference {
	u64 iova, old_pa, new_pa;
	u32 old_prot, new_prot;
	enum skho_fault new_fault;
	const char *msg;
};

/* The sample against itself changed by @perturb differs as @want says. */
static void expect_difference(struct ktest *t, void (*perturb)(struct tpt *p),
			      const struct difference *want)
{
	struct fix f;

	KASSERT(t, fix_init(&f, MiB(4)), "out of host memory");
	differs_setup(&f, perturb);
	EXPECT_RC(t, &f, SKHO_E_DIFFERS);
	KEXPECT_EQ(t, f.out.iova, want->iova);
	KEXPECT_EQ(t, f.out.old_pa, want->old_pa);
	KEXPECT_EQ(t, f.out.old_prot, want->old_prot);
	KEXPECT_EQ(t, f.out.new_fault, want->new_fault);
	KEXPECT_EQ(t, f.out.new_pa, want->new_pa);
	KEXPECT_EQ(t, f.out.new_prot, want->new_prot);
	KEXPECT_EQ(t, f.out.nr_pages, SAMPLE_PAGES);
	KEXPECT(t, f.out.old_digest != f.out.new_digest, "digests equal");
	KEXPECT(t, !strcmp(f.err.msg, want->msg), "message: %s", f.err.msg);
	tm_fini(&f.m);
}

static void one_page_remapped_differs_naming_iova_and_pas(struct ktest *t)
{
	static const struct difference want = {
		MiB(6) + 2 * PG, 0x4a3c2000ULL, 0x4b000000ULL, RW, RW, SKHO_XLATE_OK,
		"IOVA 0x602000: adopted PA 0x4a3c2000 rw, new PA 0x4b000000 rw",
	};

	expect_difference(t, remap_page_2, &want);
}

static void rw_to_r(struct tpt *p)
{
	tpt_map(p, MiB(6) + 5 * PG, 0x4a3c5000ULL, 3, R);
}

static void one_page_rw_to_r_differs_naming_it(struct ktest *t)
{
	static const struct difference want = {
		MiB(6) + 5 * PG, 0x4a3c5000ULL, 0x4a3c5000ULL, RW, R, SKHO_XLATE_OK,
		"IOVA 0x605000: adopted PA 0x4a3c5000 rw, new PA 0x4a3c5000 r",
	};

	expect_difference(t, rw_to_r, &want);
}

static void unmap_last_page(struct tpt *p)
{
	tm_w64(p->m, tpt_slot(p, 0x7ff000000ULL, 3), 0);
}

static void one_page_unmapped_differs_with_f_translation(struct ktest *t)
{
	static const struct difference want = {
		0x7ff000000ULL, 0x123456000ULL, 0, RW, 0, SKHO_F_TRANSLATION,
		"IOVA 0x7ff000000: adopted PA 0x123456000 rw, new: F_TRANSLATION",
	};

	expect_difference(t, unmap_last_page, &want);
}

static void clear_af_of_page_9(struct tpt *p)
{
	u64 slot = tpt_slot(p, MiB(6) + 9 * PG, 3);

	tm_w64(p->m, slot, tm_r64(p->m, slot) & ~SMMU_PTE_AF);
}

static void new_leaf_without_af_differs_with_f_access(struct ktest *t)
{
	static const struct difference want = {
		MiB(6) + 9 * PG, 0x51001000ULL, 0, R, 0, SKHO_F_ACCESS,
		"IOVA 0x609000: adopted PA 0x51001000 r, new: F_ACCESS",
	};

	expect_difference(t, clear_af_of_page_9, &want);
}

static void page_in_block_remapped_differs_at_that_page(struct ktest *t)
{
	struct fix f;

	KASSERT(t, fix_init(&f, MiB(4)), "out of host memory");
	s2_table(&f, &f.old_pt, f.old_ste);
	tpt_map(&f.old_pt, MiB(2), 0x80000000ULL, 2, RW);
	s2_table(&f, &f.new_pt, f.new_ste);
	map_pages(&f.new_pt, MiB(2), 0x80000000ULL, 512, RW);
	tpt_map(&f.new_pt, MiB(2) + 511 * PG, 0x80000000ULL, 3, RW);
	EXPECT_RC(t, &f, SKHO_E_DIFFERS);
	KEXPECT_EQ(t, f.out.iova, MiB(2) + 511 * PG);
	KEXPECT_EQ(t, f.out.old_pa, 0x80000000ULL + 511 * PG);
	KEXPECT_EQ(t, f.out.new_pa, 0x80000000ULL);
	tm_fini(&f.m);
}

static void whole_block_missing_differs_at_its_first_page(struct ktest *t)
{
	struct fix f;

	KASSERT(t, fix_init(&f, MiB(4)), "out of host memory");
	s2_table(&f, &f.old_pt, f.old_ste);
	map_sample(&f.old_pt);
	s2_table(&f, &f.new_pt, f.new_ste);
	map_pages(&f.new_pt, MiB(6), 0x4a3c0000ULL, 8, RW);	/* no block */
	EXPECT_RC(t, &f, SKHO_E_DIFFERS);
	KEXPECT_EQ(t, f.out.iova, MiB(2));
	KEXPECT_EQ(t, f.out.old_pa, 0x80000000ULL);
	KEXPECT_EQ(t, f.out.new_fault, SKHO_F_TRANSLATION);
	tm_fini(&f.m);
}

static void no_access_leaves_are_not_kept_but_not_given(struct ktest *t)
{
	struct fix f;

	KASSERT(t, fix_init(&f, MiB(4)), "out of host memory");
	s2_table(&f, &f.old_pt, f.old_ste);
	map_sample(&f.old_pt);
	tpt_map(&f.old_pt, MiB(12), 0x70000000ULL, 3, 0);	/* S2AP 00 */
	s2_table(&f, &f.new_pt, f.new_ste);
	map_sample(&f.new_pt);
	EXPECT_SAME(t, &f, SAMPLE_PAGES);
	/* a new leaf without access where the adopted one had some */
	tpt_map(&f.new_pt, MiB(6) + 9 * PG, 0x51001000ULL, 3, 0);
	EXPECT_RC(t, &f, SKHO_E_DIFFERS);
	KEXPECT_EQ(t, f.out.iova, MiB(6) + 9 * PG);
	KEXPECT_EQ(t, f.out.new_fault, SKHO_F_PERMISSION);
	tm_fini(&f.m);
}

/* ---- Unsupported STEs and hostile tables ------------------------------- */

static void expect_unsupported_both_ways(struct ktest *t, struct fix *f,
					 const u8 bad[64])
{
	memcpy(f->new_ste, bad, 64);
	EXPECT_RC(t, f, SKHO_E_UNSUPPORTED);
	KEXPECT(t, !strncmp(f->err.msg, "new STE", 7), "message: %s", f->err.msg);
	memcpy(f->new_ste, f->old_ste, 64);
	memcpy(f->old_ste, bad, 64);
	EXPECT_RC(t, f, SKHO_E_UNSUPPORTED);
	KEXPECT(t, !strncmp(f->err.msg, "adopted STE", 11), "message: %s", f->err.msg);
	memcpy(f->old_ste, f->new_ste, 64);
}

static void bypass_abort_nested_and_terminate_are_unsupported(struct ktest *t)
{
	struct fix f;
	struct tpt s1;
	u8 bad[64];

	KASSERT(t, fix_init(&f, MiB(4)), "out of host memory");
	s2_table(&f, &f.old_pt, f.old_ste);
	map_sample(&f.old_pt);
	memset(bad, 0, 64);
	ste_put_w0(bad, SMMU_STE_CFG_BYPASS, 0, 0, 0);
	expect_unsupported_both_ways(t, &f, bad);
	ste_put_w0(bad, SMMU_STE_CFG_ABORT, 0, 0, 0);
	expect_unsupported_both_ways(t, &f, bad);
	ste_nested(bad, 0, SMMU_CD_FMT_LINEAR, 0, 0, &f.old_pt.c, 1);
	expect_unsupported_both_ways(t, &f, bad);
	s1_table(&f, &s1, bad, 2, SMMU_S1DSS_TERMINATE);
	map_sample(&s1);
	expect_unsupported_both_ways(t, &f, bad);
	s1_table(&f, &s1, bad, 2, SMMU_S1DSS_BYPASS);
	expect_unsupported_both_ways(t, &f, bad);
	/* S2HD: dirty tracking makes DBM pages writable, which is not modelled */
	memcpy(bad, f.old_ste, 64);
	put64(bad + 16, get64(bad + 16) | SMMU_STE2_S2HA | SMMU_STE2_S2HD);
	expect_unsupported_both_ways(t, &f, bad);
	tm_fini(&f.m);
}

static void invalid_or_epd0_cd0_is_unsupported(struct ktest *t)
{
	struct fix f;
	struct tpt s1;
	u8 bad[64];
	u64 cd_pa;

	KASSERT(t, fix_init(&f, MiB(4)), "out of host memory");
	s2_table(&f, &f.old_pt, f.old_ste);
	map_sample(&f.old_pt);
	s1_table(&f, &s1, bad, 0, 0);
	cd_pa = get64(bad) & SMMU_STE0_S1CTXPTR;
	tm_w64(&f.m, cd_pa, tm_r64(&f.m, cd_pa) | SMMU_CD0_EPD0);
	expect_unsupported_both_ways(t, &f, bad);
	tm_w64(&f.m, cd_pa, tm_r64(&f.m, cd_pa) & ~SMMU_CD0_V);
	expect_unsupported_both_ways(t, &f, bad);
	tm_fini(&f.m);
}

#define FAR_AWAY	0x7f0000000000ULL

/* Point the level-2 descriptor over MiB(6) far outside; returns the old one. */
static u64 l2_outside(struct tpt *p)
{
	u64 slot = tpt_slot(p, MiB(6), 2), d = tm_r64(p->m, slot);

	tm_w64(p->m, slot, FAR_AWAY | SMMU_PTE_TYPE_TABLE);
	return d;
}

static void table_pointers_outside_memory_are_outside_either_side(struct ktest *t)
{
	struct fix f;
	u64 d;

	KASSERT(t, fix_init(&f, MiB(4)), "out of host memory");
	differs_setup(&f, remap_page_2);
	d = l2_outside(&f.new_pt);
	EXPECT_RC(t, &f, SKHO_E_OUTSIDE);
	KEXPECT(t, !strncmp(f.err.msg, "new STE", 7), "message: %s", f.err.msg);
	KEXPECT_EQ(t, f.err.addr, FAR_AWAY + (MiB(6) >> 12 & 511) * 8);
	tm_w64(&f.m, tpt_slot(&f.new_pt, MiB(6), 2), d);
	l2_outside(&f.old_pt);
	EXPECT_RC(t, &f, SKHO_E_OUTSIDE);
	KEXPECT(t, !strncmp(f.err.msg, "adopted", 7), "message: %s", f.err.msg);
	/* a new root outside memory */
	differs_setup(&f, remap_page_2);
	put64(f.new_ste + 24, FAR_AWAY);
	EXPECT_RC(t, &f, SKHO_E_OUTSIDE);
	tm_fini(&f.m);
}

static void new_table_linked_to_itself_terminates(struct ktest *t)
{
	struct fix f;
	u64 slot;

	KASSERT(t, fix_init(&f, MiB(4)), "out of host memory");
	differs_setup(&f, remap_page_2);
	/* level 1 entry 0 points back at the level-1 table: bounded walks */
	slot = tpt_slot(&f.new_pt, 0, 1);
	tm_w64(&f.m, slot, f.new_pt.c.root | SMMU_PTE_TYPE_TABLE);
	EXPECT_RC(t, &f, SKHO_E_DIFFERS);
	KEXPECT_EQ(t, f.out.iova, MiB(2));
	tm_fini(&f.m);
}

/* ---- skho_pt_lookup() extents ------------------------------------------ */

static void lookup_reports_leaf_and_fault_extents(struct ktest *t)
{
	struct skho_pt_leaf l;
	struct fix f;

	KASSERT(t, fix_init(&f, MiB(4)), "out of host memory");
	s2_table(&f, &f.old_pt, f.old_ste);
	map_sample(&f.old_pt);
	KEXPECT_EQ(t, skho_pt_lookup(&f.old_pt.c, &f.m.mem, MiB(3), &l), SKHO_XLATE_OK);
	KEXPECT_EQ(t, l.pa, 0x80100000ULL);
	KEXPECT_EQ(t, l.last, MiB(4) - 1);
	KEXPECT_EQ(t, l.prot, RW);
	/* an empty level-3 slot: one page; an empty level-2 slot: 2 MiB */
	KEXPECT_EQ(t, skho_pt_lookup(&f.old_pt.c, &f.m.mem, MiB(6) + 20 * PG, &l),
		   SKHO_F_TRANSLATION);
	KEXPECT_EQ(t, l.last, MiB(6) + 21 * PG - 1);
	KEXPECT_EQ(t, skho_pt_lookup(&f.old_pt.c, &f.m.mem, MiB(9), &l),
		   SKHO_F_TRANSLATION);
	KEXPECT_EQ(t, l.last, MiB(10) - 1);
	/* beyond ias: everything above faults */
	KEXPECT_EQ(t, skho_pt_lookup(&f.old_pt.c, &f.m.mem, 1ULL << 39, &l),
		   SKHO_F_TRANSLATION);
	KEXPECT_EQ(t, l.last, ~0ULL);
	tm_fini(&f.m);
}

/* ---- Corrupted new tables against the per-access walker --------------- */

/* What one read and one write of @iova through @pt give, as one outcome. */
static enum skho_fault access_outcome(const struct tpt *p, u64 iova, u64 *pa,
				      u32 *prot)
{
	u32 rp, wp;
	u64 wpa;
	enum skho_fault r = skho_pt_translate(&p->c, &p->m->mem, iova, false, pa, &rp);
	enum skho_fault w = skho_pt_translate(&p->c, &p->m->mem, iova, true, &wpa, &wp);

	*prot = (r == SKHO_XLATE_OK ? R : 0) | (w == SKHO_XLATE_OK ? W : 0);
	if (*prot && r != SKHO_XLATE_OK)
		*pa = wpa;
	if (*prot || r == SKHO_F_PERMISSION)
		return *prot ? SKHO_XLATE_OK : SKHO_F_PERMISSION;
	return r;
}

/* Overwrite a random word of the new tables: bit flip, re-link or far pointer. */
static void corrupt_new_tables(struct fix *f, u64 lo, u64 hi, u64 *rng)
{
	u64 n = (hi - lo) / 8, i = arena_rand_below(rng, n), j, pa, d;
	bool in_use = arena_rand_below(rng, 4);

	/* mostly a descriptor in use: most words of the tables are empty */
	for (j = 0; in_use && j < n && !tm_r64(&f->m, lo + i * 8); j++)
		i = (i + 1) % n;
	pa = lo + i * 8;
	d = tm_r64(&f->m, pa);
	switch (arena_rand_below(rng, 3)) {
	case 0:
		d ^= 1ULL << arena_rand_below(rng, 64);
		break;
	case 1:
		d = (lo + arena_rand_below(rng, (hi - lo) / PG) * PG) | SMMU_PTE_TYPE_TABLE;
		break;
	default:
		d = FAR_AWAY | SMMU_PTE_TYPE_TABLE;
		break;
	}
	tm_w64(&f->m, pa, d);
}

static void corrupted_new_tables_match_per_access_walker(struct ktest *t)
{
	static const u64 runs[][2] = {	/* the sample's IOVAs: start, pages */
		{ MiB(2), 512 }, { MiB(6), 11 }, { 0x7ff000000ULL, 1 },
	};
	unsigned int iter, nr_same = 0, nr_differ = 0, nr_outside = 0;

	for (iter = 0; iter < 400; iter++) {
		u64 seed = t->seed * 1000003ULL + iter, rng = seed, lo, i, k;
		enum skho_fault want = SKHO_XLATE_OK, f_new;
		bool outside = false;
		u64 want_iova = 0, pa, old_pa;
		u32 prot, old_prot;
		struct fix f;
		int rc;

		KASSERT(t, fix_init(&f, MiB(4)), "out of host memory");
		s2_table(&f, &f.old_pt, f.old_ste);
		map_sample(&f.old_pt);
		lo = f.m.next;
		s2_table(&f, &f.new_pt, f.new_ste);
		map_sample(&f.new_pt);
		for (i = arena_rand_below(&rng, 4); i > 0; i--)
			corrupt_new_tables(&f, lo, f.m.next, &rng);
		for (i = 0; i < ARRAY_SIZE(runs) && !outside; i++)
			for (k = 0; k < runs[i][1]; k++) {
				u64 iova = runs[i][0] + k * PG;

				access_outcome(&f.old_pt, iova, &old_pa, &old_prot);
				f_new = access_outcome(&f.new_pt, iova, &pa, &prot);
				if (f_new == SKHO_F_WALK_EABT) {
					outside = true;
					break;
				}
				if (!want_iova && (f_new != SKHO_XLATE_OK ||
						   pa != old_pa || prot != old_prot)) {
					want_iova = iova;
					want = f_new;
				}
			}
		rc = run(&f);
		if (outside) {
			nr_outside++;
			KEXPECT(t, rc == -SKHO_E_OUTSIDE, "seed 0x%" PRIx64 ": %s %s",
				seed, skho_strerror(rc), f.err.msg);
		} else if (want_iova) {
			nr_differ++;
			KEXPECT(t, rc == -SKHO_E_DIFFERS, "seed 0x%" PRIx64 ": %s %s",
				seed, skho_strerror(rc), f.err.msg);
			KEXPECT_EQ(t, f.out.iova, want_iova);
			KEXPECT_EQ(t, f.out.new_fault, want);
		} else {
			nr_same++;
			KEXPECT(t, rc == 0, "seed 0x%" PRIx64 ": %s %s", seed,
				skho_strerror(rc), f.err.msg);
		}
		tm_fini(&f.m);
		if (t->failed) {
			ktest_diag("first failing seed 0x%" PRIx64, seed);
			return;
		}
	}
	ktest_diag("%u same, %u differing, %u outside", nr_same, nr_differ, nr_outside);
	KEXPECT(t, nr_same > 20 && nr_differ > 20 && nr_outside > 20,
		"every outcome exercised");
}

/* ---- Random maps against a shadow model -------------------------------- */

/*
 * The shadow: NR_CHUNKS 2 MiB chunks of 4K pages, each page unmapped (prot
 * 0) or mapped to pa with prot.  The expected answer is computed from the
 * two shadows alone; the tables are built from them with random layouts.
 */
#define NR_CHUNKS	24
#define NR_PAGES	(NR_CHUNKS * 512)
#define SHADOW_BASE	MiB(64)

struct shadow {
	u64 pa[NR_PAGES];
	u32 prot[NR_PAGES];
};

static u32 rand_prot(u64 *rng, bool s1)
{
	static const u32 any[] = { R, RW, W };

	return any[arena_rand_below(rng, s1 ? 2 : 3)];
}

static void shadow_random(struct shadow *s, u64 *rng, bool s1)
{
	u64 c, i, pa = 0;
	u32 prot = R;

	memset(s, 0, sizeof(*s));
	for (c = 0; c < NR_CHUNKS; c++) {
		u64 kind = arena_rand_below(rng, 4), p = c * 512;

		if (kind == 0)
			continue;
		if (kind == 1) {	/* a block's worth, 2 MiB aligned */
			pa = (arena_rand_below(rng, 1 << 14) + 1) << 21;
			prot = rand_prot(rng, s1);
			for (i = 0; i < 512; i++) {
				s->pa[p + i] = pa + i * PG;
				s->prot[p + i] = prot;
			}
			continue;
		}
		for (i = 0; i < 512; i++) {
			if (arena_rand_below(rng, 4) == 0)
				continue;
			if (arena_rand_below(rng, 8) == 0) {
				pa = (arena_rand_below(rng, 1 << 24) + 1) << 12;
				prot = rand_prot(rng, s1);
			} else {
				pa += PG;	/* runs, crossing gaps too */
			}
			s->pa[p + i] = pa;
			s->prot[p + i] = prot;
		}
	}
}

/* A chunk a 2 MiB block can map: all pages, one prot, one aligned PA run. */
static bool chunk_is_block(const struct shadow *s, u64 c)
{
	u64 i, p = c * 512;

	if (!s->prot[p] || (s->pa[p] & (MiB(2) - 1)))
		return false;
	for (i = 1; i < 512; i++)
		if (s->prot[p + i] != s->prot[p] || s->pa[p + i] != s->pa[p] + i * PG)
			return false;
	return true;
}

/* Tables for @s, chunks in random order, blocks where possible unless split. */
static void shadow_build(struct fix *f, struct tpt *p, u8 ste[64], bool s1,
			 const struct shadow *s, u64 *rng)
{
	u64 order[NR_CHUNKS], i, j, k, tmp;

	if (s1)
		s1_table(f, p, ste, 0, 0);
	else
		s2_table(f, p, ste);
	for (i = 0; i < NR_CHUNKS; i++)
		order[i] = i;
	for (i = NR_CHUNKS - 1; i > 0; i--) {
		j = arena_rand_below(rng, i + 1);
		tmp = order[i];
		order[i] = order[j];
		order[j] = tmp;
	}
	for (i = 0; i < NR_CHUNKS; i++) {
		u64 c = order[i], iova = SHADOW_BASE + c * MiB(2);

		tm_alloc(&f->m, arena_rand_below(rng, 3) * PG, PG);
		if (chunk_is_block(s, c) && arena_rand_below(rng, 3)) {
			tpt_map(p, iova, s->pa[c * 512], 2, s->prot[c * 512]);
			continue;
		}
		for (k = 0; k < 512; k++)
			if (s->prot[c * 512 + k])
				tpt_map(p, iova + k * PG, s->pa[c * 512 + k], 3,
					s->prot[c * 512 + k]);
	}
}

/* Digest of maximal runs of @s restricted to the pages @keep maps. */
static u64 shadow_digest(const struct shadow *s, const struct shadow *keep)
{
	struct skho_digest d;
	u64 i, start = 0, n = 0;

	skho_digest_init(&d, 0);
	for (i = 0; i <= NR_PAGES; i++) {
		bool in = i < NR_PAGES && s->prot[i] && keep->prot[i];

		if (n && in && s->prot[i] == s->prot[start] &&
		    s->pa[i] == s->pa[start] + n * PG) {
			n++;
			continue;
		}
		if (n) {
			skho_digest_u64(&d, SHADOW_BASE + start * PG);
			skho_digest_u64(&d, s->pa[start]);
			skho_digest_u64(&d, n * PG);
			skho_digest_u64(&d, s->prot[start]);
		}
		start = i;
		n = in ? 1 : 0;
	}
	return skho_digest_final(&d);
}

/* One perturbation of a random page the adopted map has, or none. */
static void shadow_perturb(struct shadow *n, const struct shadow *o, u64 *rng,
			   bool s1)
{
	u64 i, tries;

	for (tries = 0; tries < 64; tries++) {
		i = arena_rand_below(rng, NR_PAGES);
		if (o->prot[i])
			break;
	}
	if (!o->prot[i])
		return;
	switch (arena_rand_below(rng, 3)) {
	case 0:
		n->pa[i] += (arena_rand_below(rng, 1000) + 1) * PG;
		break;
	case 1:
		while (n->prot[i] == o->prot[i])
			n->prot[i] = rand_prot(rng, s1);
		break;
	default:
		n->prot[i] = 0;
		n->pa[i] = 0;
		break;
	}
}

static void random_maps_match_shadow_model(struct ktest *t)
{
	static struct shadow o, n;
	unsigned int iter, nr_same = 0, nr_differ = 0;

	for (iter = 0; iter < 300; iter++) {
		u64 seed = t->seed * 1000003ULL + iter, rng = seed;
		bool old_s1 = arena_rand_below(&rng, 2), new_s1 = arena_rand_below(&rng, 2);
		bool s1 = old_s1 || new_s1;
		u64 i, first = NR_PAGES, pages = 0;
		struct fix f;
		int rc;

		KASSERT(t, fix_init(&f, MiB(8)), "out of host memory");
		shadow_random(&o, &rng, s1);
		n = o;
		for (i = 0; i < NR_PAGES; i++)	/* extras where old has nothing */
			if (!o.prot[i] && arena_rand_below(&rng, 16) == 0) {
				n.pa[i] = (arena_rand_below(&rng, 1 << 24) + 1) << 12;
				n.prot[i] = rand_prot(&rng, s1);
			}
		if (arena_rand_below(&rng, 2))
			shadow_perturb(&n, &o, &rng, s1);
		shadow_build(&f, &f.old_pt, f.old_ste, old_s1, &o, &rng);
		shadow_build(&f, &f.new_pt, f.new_ste, new_s1, &n, &rng);
		for (i = 0; i < NR_PAGES; i++) {
			pages += !!o.prot[i];
			if (first == NR_PAGES && o.prot[i] &&
			    (n.prot[i] != o.prot[i] || n.pa[i] != o.pa[i]))
				first = i;
		}
		rc = run(&f);
		KEXPECT_EQ(t, f.out.nr_pages, pages);
		KEXPECT_EQ(t, f.out.old_digest, shadow_digest(&o, &o));
		KEXPECT_EQ(t, f.out.new_digest, shadow_digest(&n, &o));
		if (first == NR_PAGES) {
			nr_same++;
			KEXPECT(t, rc == 0, "seed 0x%" PRIx64 ": %s %s", seed,
				skho_strerror(rc), f.err.msg);
		} else {
			nr_differ++;
			KEXPECT(t, rc == -SKHO_E_DIFFERS, "seed 0x%" PRIx64 ": %s %s",
				seed, skho_strerror(rc), f.err.msg);
			KEXPECT_EQ(t, f.out.iova, SHADOW_BASE + first * PG);
			KEXPECT_EQ(t, f.out.old_pa, o.pa[first]);
			KEXPECT_EQ(t, f.out.old_prot, o.prot[first]);
			KEXPECT_EQ(t, f.out.new_fault, n.prot[first] ? SKHO_XLATE_OK :
				   SKHO_F_TRANSLATION);
			KEXPECT_EQ(t, f.out.new_pa, n.pa[first]);
			KEXPECT_EQ(t, f.out.new_prot, n.prot[first]);
		}
		tm_fini(&f.m);
		if (t->failed) {
			ktest_diag("first failing seed 0x%" PRIx64, seed);
			return;
		}
	}
	ktest_diag("%u same, %u differing", nr_same, nr_differ);
	KEXPECT(t, nr_same > 50 && nr_differ > 50, "both outcomes exercised");
}

KTEST_MAIN("xlat_same",
	   KTEST_CASE(s2_copy_at_other_pas_is_same),
	   KTEST_CASE(s1_cd0_vs_s2_same_leaves_is_same),
	   KTEST_CASE(s1dss_ssid0_uses_cd0_and_is_same),
	   KTEST_CASE(block_2m_vs_512_pages_is_same_both_ways),
	   KTEST_CASE(new_maps_extra_iovas_is_same),
	   KTEST_CASE(empty_adopted_table_is_same),
	   KTEST_CASE(one_page_remapped_differs_naming_iova_and_pas),
	   KTEST_CASE(page_in_block_remapped_differs_at_that_page),
	   KTEST_CASE(one_page_rw_to_r_differs_naming_it),
	   KTEST_CASE(one_page_unmapped_differs_with_f_translation),
	   KTEST_CASE(new_leaf_without_af_differs_with_f_access),
	   KTEST_CASE(whole_block_missing_differs_at_its_first_page),
	   KTEST_CASE(no_access_leaves_are_not_kept_but_not_given),
	   KTEST_CASE(bypass_abort_nested_and_terminate_are_unsupported),
	   KTEST_CASE(invalid_or_epd0_cd0_is_unsupported),
	   KTEST_CASE(table_pointers_outside_memory_are_outside_either_side),
	   KTEST_CASE(new_table_linked_to_itself_terminates),
	   KTEST_CASE(lookup_reports_leaf_and_fault_extents),
	   KTEST_CASE(random_maps_match_shadow_model),
	   KTEST_CASE(corrupted_new_tables_match_per_access_walker));
