// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* KTAP tests of the reference walker (kernel/core/walk.c) on hand-built tables. */
#include <time.h>

#include "ktest.h"
#include "walk_build.h"

#define MiB(x)	((u64)(x) << 20)
#define GiB(x)	((u64)(x) << 30)
#define R	SKHO_PROT_R
#define W	SKHO_PROT_W
#define RW	(SKHO_PROT_R | SKHO_PROT_W)

/* A fixture: memory plus one stage-1 4K table of 48 bits in and out. */
#define FIXTURE(t, m, size)							\
	struct tmem m;								\
	KASSERT(t, tm_init(&m, size), "out of host memory")

static enum skho_fault xl(const struct tpt *p, u64 iova, bool write, u64 *pa,
			  u32 *prot)
{
	return skho_pt_translate(&p->c, &p->m->mem, iova, write, pa, prot);
}

/* Expect @iova to translate to @pa with @prot for reads. */
#define EXPECT_XLATE(t, p, iova, want_pa, want_prot) do {			\
	u64 _pa; u32 _prot;							\
	enum skho_fault _f = xl((p), (iova), false, &_pa, &_prot);		\
	KEXPECT((t), _f == SKHO_XLATE_OK, "iova 0x%llx: %s",			\
		(unsigned long long)(iova), skho_fault_name(_f));		\
	KEXPECT_EQ((t), _pa, (want_pa));					\
	KEXPECT_EQ((t), _prot, (want_prot));					\
} while (0)

#define EXPECT_FAULT(t, p, iova, write, want) do {				\
	u64 _pa; u32 _prot;							\
	enum skho_fault _f = xl((p), (iova), (write), &_pa, &_prot);		\
	KEXPECT((t), _f == (want), "iova 0x%llx: got %s, want %s",		\
		(unsigned long long)(iova), skho_fault_name(_f),		\
		skho_fault_name(want));						\
} while (0)

/* ---- Single-table walks ------------------------------------------------ */

static void s1_4k_l3_page_translates_to_pa(struct ktest *t)
{
	FIXTURE(t, m, MiB(4));
	struct tpt p;

	tpt_init(&p, &m, SKHO_STAGE1, 12, 48, 48);
	/* ias 48 with 9 bits per level below bit 12: levels 0..3 */
	KEXPECT_EQ(t, p.c.start_level, 0);
	tpt_map(&p, 0x123456789000ULL, 0x8765432000ULL, 3, RW);
	/* the page offset 0xabc is carried over to the PA */
	EXPECT_XLATE(t, &p, 0x123456789abcULL, 0x8765432abcULL, RW);
	/* the next page was never mapped */
	EXPECT_FAULT(t, &p, 0x12345678a000ULL, false, SKHO_F_TRANSLATION);
	tm_fini(&m);
}

static void s1_4k_l2_block_translates_with_offset(struct ktest *t)
{
	FIXTURE(t, m, MiB(4));
	struct tpt p;

	tpt_init(&p, &m, SKHO_STAGE1, 12, 48, 48);
	tpt_map(&p, 0x40200000ULL, 0x7fe00000ULL, 2, RW);
	/* a level-2 block is 2 MiB: offset 0x1abcde stays below bit 21 */
	EXPECT_XLATE(t, &p, 0x403abcdeULL, 0x7ffabcdeULL, RW);
	EXPECT_XLATE(t, &p, 0x403fffffULL, 0x7fffffffULL, RW);
	EXPECT_FAULT(t, &p, 0x40400000ULL, false, SKHO_F_TRANSLATION);
	tm_fini(&m);
}

static void s1_4k_l1_block_translates_with_offset(struct ktest *t)
{
	FIXTURE(t, m, MiB(4));
	struct tpt p;

	tpt_init(&p, &m, SKHO_STAGE1, 12, 48, 48);
	tpt_map(&p, GiB(3), GiB(7), 1, R);
	/* a level-1 block is 1 GiB; read-only: prot R */
	EXPECT_XLATE(t, &p, GiB(3) + 0x3ffff123ULL, GiB(7) + 0x3ffff123ULL, R);
	tm_fini(&m);
}

static void s1_4k_l0_block_is_f_translation(struct ktest *t)
{
	FIXTURE(t, m, MiB(4));
	struct tpt p;
	u64 slot;

	tpt_init(&p, &m, SKHO_STAGE1, 12, 48, 48);
	slot = tpt_slot(&p, 0, 0);
	/* 0b01 at level 0 of a 4K table is not a block without FEAT_LPA2 */
	tm_w64(&m, slot, tpt_attrs(&p, RW) | SMMU_PTE_TYPE_BLOCK);
	EXPECT_FAULT(t, &p, 0x1000, false, SKHO_F_TRANSLATION);
	tm_fini(&m);
}

static void s1_l3_block_encoding_is_f_translation(struct ktest *t)
{
	FIXTURE(t, m, MiB(4));
	struct tpt p;
	u64 slot;

	tpt_init(&p, &m, SKHO_STAGE1, 12, 39, 48);
	slot = tpt_map(&p, 0x5000, 0x9000, 3, RW);
	EXPECT_XLATE(t, &p, 0x5000, 0x9000, RW);
	/* 0b01 at level 3 is reserved: invalid, a translation fault */
	tm_w64(&m, slot, tm_r64(&m, slot) & ~SMMU_PTE_TABLE);
	EXPECT_FAULT(t, &p, 0x5000, false, SKHO_F_TRANSLATION);
	tm_fini(&m);
}

static void s1_invalid_descriptor_is_f_translation(struct ktest *t)
{
	FIXTURE(t, m, MiB(4));
	struct tpt p;
	u64 slot;

	tpt_init(&p, &m, SKHO_STAGE1, 12, 39, 48);
	tpt_map(&p, 0x5000, 0x9000, 3, RW);
	slot = tpt_slot(&p, 0x5000, 2);
	/* clearing the valid bit of the level-2 table descriptor */
	tm_w64(&m, slot, tm_r64(&m, slot) & ~SMMU_PTE_VALID);
	EXPECT_FAULT(t, &p, 0x5000, false, SKHO_F_TRANSLATION);
	tm_fini(&m);
}

static void s1_iova_beyond_ias_is_f_translation(struct ktest *t)
{
	FIXTURE(t, m, MiB(4));
	struct tpt p;

	tpt_init(&p, &m, SKHO_STAGE1, 12, 39, 48);
	tpt_map(&p, 0x7ffffff000ULL, 0x9000, 3, RW);
	/* the last page below 2^39 is mapped ... */
	EXPECT_XLATE(t, &p, 0x7ffffff000ULL, 0x9000, RW);
	/* ... and bit 39 is beyond ias: no index aliasing back to it */
	EXPECT_FAULT(t, &p, 0xfffffff000ULL, false, SKHO_F_TRANSLATION);
	EXPECT_FAULT(t, &p, 0xffffff8000000000ULL, false, SKHO_F_TRANSLATION);
	tm_fini(&m);
}

static void s1_ap_rdonly_write_faults_permission(struct ktest *t)
{
	FIXTURE(t, m, MiB(4));
	struct tpt p;
	u64 pa;
	u32 prot;

	tpt_init(&p, &m, SKHO_STAGE1, 12, 39, 48);
	tpt_map(&p, 0x1000, 0x2000, 3, R);
	tpt_map(&p, 0x3000, 0x4000, 3, RW);
	/* AP[2] = 1: reads pass, writes fault */
	EXPECT_XLATE(t, &p, 0x1000, 0x2000, R);
	EXPECT_FAULT(t, &p, 0x1000, true, SKHO_F_PERMISSION);
	/* the permission fault still names the leaf */
	xl(&p, 0x1008, true, &pa, &prot);
	KEXPECT_EQ(t, pa, 0x2008);
	KEXPECT_EQ(t, prot, R);
	/* AP[2] = 0: writable */
	EXPECT_FAULT(t, &p, 0x3000, true, SKHO_XLATE_OK);
	tm_fini(&m);
}

static void s1_af_clear_faults_access_unless_ha(struct ktest *t)
{
	FIXTURE(t, m, MiB(4));
	struct tpt p;
	u64 slot;

	tpt_init(&p, &m, SKHO_STAGE1, 12, 39, 48);
	slot = tpt_map(&p, 0x1000, 0x2000, 3, RW);
	tm_w64(&m, slot, tm_r64(&m, slot) & ~SMMU_PTE_AF);
	/* AF = 0 without hardware AF update: access flag fault */
	EXPECT_FAULT(t, &p, 0x1000, false, SKHO_F_ACCESS);
	/* with HA the SMMU sets AF itself: the access succeeds */
	p.c.ha = true;
	EXPECT_XLATE(t, &p, 0x1000, 0x2000, RW);
	tm_fini(&m);
}

static void s1_leaf_oa_beyond_oas_is_f_addr_size(struct ktest *t)
{
	FIXTURE(t, m, MiB(4));
	struct tpt p;

	tpt_init(&p, &m, SKHO_STAGE1, 12, 39, 40);
	tpt_map(&p, 0x1000, 0xfffffff000ULL, 3, RW);	/* last page below 2^40 */
	tpt_map(&p, 0x2000, 0x10000000000ULL, 3, RW);	/* 2^40: beyond oas 40 */
	EXPECT_XLATE(t, &p, 0x1000, 0xfffffff000ULL, RW);
	EXPECT_FAULT(t, &p, 0x2000, false, SKHO_F_ADDR_SIZE);
	/* address size outranks the access flag: AF=0 still reports it */
	tm_w64(&m, tpt_slot(&p, 0x2000, 3),
	       tm_r64(&m, tpt_slot(&p, 0x2000, 3)) & ~SMMU_PTE_AF);
	EXPECT_FAULT(t, &p, 0x2000, false, SKHO_F_ADDR_SIZE);
	tm_fini(&m);
}

static void s1_table_beyond_oas_is_f_addr_size(struct ktest *t)
{
	FIXTURE(t, m, MiB(4));
	struct tpt p;
	u64 slot;

	tpt_init(&p, &m, SKHO_STAGE1, 12, 39, 40);
	tpt_map(&p, 0x1000, 0x2000, 3, RW);
	slot = tpt_slot(&p, 0x1000, 2);
	/* the level-2 table descriptor now points at 2^40 */
	tm_w64(&m, slot, (1ULL << 40) | SMMU_PTE_TYPE_TABLE);
	EXPECT_FAULT(t, &p, 0x1000, false, SKHO_F_ADDR_SIZE);
	tm_fini(&m);
}

static void s1_unreadable_table_is_f_walk_eabt(struct ktest *t)
{
	FIXTURE(t, m, MiB(4));
	struct tpt p;
	u64 hole;

	tpt_init(&p, &m, SKHO_STAGE1, 12, 39, 48);
	hole = tm_hole(&m, 4096, 4096);
	tm_w64(&m, tpt_slot(&p, 0x1000, 2), hole | SMMU_PTE_TYPE_TABLE);
	/* the level-3 table cannot be fetched: external abort on the walk */
	EXPECT_FAULT(t, &p, 0x1000, false, SKHO_F_WALK_EABT);
	tm_fini(&m);
}

static void s1_16k_l3_page_and_l2_block_translate(struct ktest *t)
{
	FIXTURE(t, m, MiB(4));
	struct tpt p;

	tpt_init(&p, &m, SKHO_STAGE1, 14, 47, 48);
	/* 47 - 14 = 33 index bits, 11 per level: levels 1..3 */
	KEXPECT_EQ(t, p.c.start_level, 1);
	tpt_map(&p, 0x7654321c000ULL, 0x1234568000ULL, 3, RW);
	tpt_map(&p, 0x12002000000ULL, 0x46000000ULL, 2, R);
	/* 16K page: offset bits [13:0] */
	EXPECT_XLATE(t, &p, 0x7654321fabcULL, 0x123456babcULL, RW);
	/* 16K level-2 block: 32 MiB, offset bits [24:0] */
	EXPECT_XLATE(t, &p, 0x12003456789ULL, 0x47456789ULL, R);
	tm_fini(&m);
}

static void s1_16k_l1_block_is_f_translation(struct ktest *t)
{
	FIXTURE(t, m, MiB(4));
	struct tpt p;

	tpt_init(&p, &m, SKHO_STAGE1, 14, 47, 48);
	/* a 64 GiB level-1 block exists for 16K only with FEAT_LPA2 */
	tpt_map(&p, 0, 0, 1, RW);
	EXPECT_FAULT(t, &p, 0x1000, false, SKHO_F_TRANSLATION);
	tm_fini(&m);
}

static void s1_64k_l3_page_and_l2_block_translate(struct ktest *t)
{
	FIXTURE(t, m, MiB(4));
	struct tpt p;

	tpt_init(&p, &m, SKHO_STAGE1, 16, 48, 48);
	/* 48 - 16 = 32 index bits, 13 per level: levels 1..3 */
	KEXPECT_EQ(t, p.c.start_level, 1);
	tpt_map(&p, 0xabcd0000ULL, 0x12340000ULL, 3, RW);
	tpt_map(&p, 0x7fe0000000ULL, 0x60000000ULL, 2, RW);
	/* 64K page: offset bits [15:0] */
	EXPECT_XLATE(t, &p, 0xabcdfedcULL, 0x1234fedcULL, RW);
	/* 64K level-2 block: 512 MiB, offset bits [28:0] */
	EXPECT_XLATE(t, &p, 0x7fe1234567ULL, 0x61234567ULL, RW);
	tm_fini(&m);
}

static void s1_64k_52bit_oa_translates(struct ktest *t)
{
	FIXTURE(t, m, MiB(4));
	struct tpt p;
	u64 big = 0xfedcba9870000ULL;	/* bits 51:48 = 0xf */

	tpt_init(&p, &m, SKHO_STAGE1, 16, 48, 52);
	tpt_map(&p, 0x10000, big, 3, RW);
	/* OA[51:48] comes back from descriptor bits [15:12] */
	EXPECT_XLATE(t, &p, 0x10123, big + 0x123, RW);
	KEXPECT_EQ(t, tm_r64(&m, tpt_slot(&p, 0x10000, 3)) & SMMU_PTE_ADDR_HI_64K,
		   0xfULL << 12);
	/* the same table read with a 48-bit oas: the OA is out of range */
	p.c.oas = 48;
	EXPECT_FAULT(t, &p, 0x10123, false, SKHO_F_ADDR_SIZE);
	tm_fini(&m);
}

static void s1_64k_l1_block_needs_52bit_oas(struct ktest *t)
{
	FIXTURE(t, m, MiB(4));
	struct tpt p;

	tpt_init(&p, &m, SKHO_STAGE1, 16, 52, 52);
	/* 52 - 16 = 36 bits: levels 1..3, 10 bits at level 1 */
	KEXPECT_EQ(t, p.c.start_level, 1);
	tpt_map(&p, 1ULL << 42, 3ULL << 42, 1, RW);
	/* 4 TB block (Linux maps it when oas > 48) */
	EXPECT_XLATE(t, &p, (1ULL << 42) + 0x123456789ULL,
		     (3ULL << 42) + 0x123456789ULL, RW);
	/* with oas 48 the level-1 block is not a valid encoding */
	p.c.oas = 48;
	EXPECT_FAULT(t, &p, (1ULL << 42) + 0x123456789ULL, false,
		     SKHO_F_TRANSLATION);
	tm_fini(&m);
}

static void s1_short_start_table_translates(struct ktest *t)
{
	FIXTURE(t, m, MiB(4));
	struct tpt p;

	tpt_init(&p, &m, SKHO_STAGE1, 12, 40, 48);
	/* 40 bits: 4 levels, the level-0 table has only 2 entries */
	KEXPECT_EQ(t, p.c.start_level, 0);
	tpt_map(&p, (1ULL << 39) + 0x5000, 0x7000, 3, RW);
	EXPECT_XLATE(t, &p, (1ULL << 39) + 0x5010, 0x7010, RW);
	tm_fini(&m);
}

static void s2_concatenated_start_tables_translate(struct ktest *t)
{
	FIXTURE(t, m, MiB(8));
	struct tpt p;

	/* 4K, ias 40 starting at level 1: 2^10 entries = 2 concatenated tables */
	tpt_init_geom(&p, &m, SKHO_STAGE2, 12, 40, 40, 1, 2);
	tpt_map(&p, 0xffc0000000ULL, 0x80000000ULL, 1, RW);	/* last entry */
	tpt_map(&p, 0x1000, 0x3000, 3, R);			/* first table */
	EXPECT_XLATE(t, &p, 0xffc0001234ULL, 0x80001234ULL, RW);
	EXPECT_XLATE(t, &p, 0x1234, 0x3234, R);

	/* 16K, ias 40 at level 2: 2^15 entries = 16 tables (the maximum) */
	tpt_init_geom(&p, &m, SKHO_STAGE2, 14, 40, 48, 2, 16);
	tpt_map(&p, 0xfffe000000ULL, 0x42000000ULL, 2, RW);	/* 16th table */
	EXPECT_XLATE(t, &p, 0xfffe123456ULL, 0x42123456ULL, RW);
	/* 17 tables' worth is refused: a geometry error gives F_TRANSLATION */
	p.c.ias = 41;
	EXPECT_FAULT(t, &p, 0x1000, false, SKHO_F_TRANSLATION);
	tm_fini(&m);
}

static void s2_s2ap_bits_select_read_and_write(struct ktest *t)
{
	FIXTURE(t, m, MiB(4));
	struct tpt p;

	tpt_init(&p, &m, SKHO_STAGE2, 12, 40, 48);
	tpt_map(&p, 0x1000, 0x11000, 3, 0);
	tpt_map(&p, 0x2000, 0x12000, 3, R);
	tpt_map(&p, 0x3000, 0x13000, 3, W);
	tpt_map(&p, 0x4000, 0x14000, 3, RW);
	/* S2AP 00: neither read nor write */
	EXPECT_FAULT(t, &p, 0x1000, false, SKHO_F_PERMISSION);
	EXPECT_FAULT(t, &p, 0x1000, true, SKHO_F_PERMISSION);
	/* S2AP 01: read only */
	EXPECT_FAULT(t, &p, 0x2000, false, SKHO_XLATE_OK);
	EXPECT_FAULT(t, &p, 0x2000, true, SKHO_F_PERMISSION);
	/* S2AP 10: write only */
	EXPECT_FAULT(t, &p, 0x3000, false, SKHO_F_PERMISSION);
	EXPECT_FAULT(t, &p, 0x3000, true, SKHO_XLATE_OK);
	/* S2AP 11: both */
	EXPECT_XLATE(t, &p, 0x4000, 0x14000, RW);
	tm_fini(&m);
}

static void pt_translate_refuses_inconsistent_geometry(struct ktest *t)
{
	FIXTURE(t, m, MiB(4));
	struct tpt p;

	tpt_init(&p, &m, SKHO_STAGE1, 12, 39, 48);
	tpt_map(&p, 0x1000, 0x2000, 3, RW);
	EXPECT_XLATE(t, &p, 0x1000, 0x2000, RW);
	/* nr_concat must follow from ias and start level */
	p.c.nr_concat = 2;
	EXPECT_FAULT(t, &p, 0x1000, false, SKHO_F_TRANSLATION);
	p.c.nr_concat = 1;
	/* a stage-1 start level one too deep would need 512 tables */
	p.c.start_level = 2;
	EXPECT_FAULT(t, &p, 0x1000, false, SKHO_F_TRANSLATION);
	p.c.start_level = 1;
	/* a root not aligned to its table */
	p.c.root += 8;
	EXPECT_FAULT(t, &p, 0x1000, false, SKHO_F_TRANSLATION);
	p.c.root -= 8;
	/* an unknown granule */
	p.c.granule_lg2 = 13;
	EXPECT_FAULT(t, &p, 0x1000, false, SKHO_F_TRANSLATION);
	tm_fini(&m);
}

/* ---- Decoders ---------------------------------------------------------- */

static void cd_decode_derives_linux_geometry(struct ktest *t)
{
	static const struct {
		u8 g, ias, ips_oas, smmu_oas, start, oas;
	} c[] = {
		{ 12, 48, 48, 48, 0, 48 },	/* 36 index bits / 9: 4 levels */
		{ 12, 39, 44, 48, 1, 44 },	/* 27 / 9: 3 levels */
		{ 12, 32, 48, 40, 1, 40 },	/* 20 / 9 -> 3 levels; SMMU caps oas */
		{ 14, 47, 48, 48, 1, 48 },	/* 33 / 11: 3 levels */
		{ 14, 48, 48, 48, 0, 48 },	/* 34 / 11 -> 4 levels, L0 2 entries */
		{ 16, 48, 48, 48, 1, 48 },	/* 32 / 13 -> 3 levels */
		{ 16, 42, 52, 52, 2, 52 },	/* 26 / 13: 2 levels; 64K keeps 52 */
		{ 12, 48, 52, 52, 0, 48 },	/* 52-bit IPS needs 64K: 48 */
	};
	unsigned int i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct skho_pt_cfg pt = {
			.stage = SKHO_STAGE1, .granule_lg2 = c[i].g,
			.ias = c[i].ias, .oas = c[i].ips_oas, .root = 0x40010000,
		};
		struct skho_cd_info ci;
		struct skho_err e = { 0 };
		u8 cd[64];
		int rc;

		cd_build(cd, &pt, 0x1234 + i);
		rc = skho_cd_decode(cd, c[i].smmu_oas, &ci, &e);
		KEXPECT(t, rc == 0, "case %u: %s", i, e.msg);
		KEXPECT(t, ci.valid && !ci.epd0, "case %u", i);
		KEXPECT_EQ(t, ci.asid, 0x1234 + i);
		KEXPECT_EQ(t, ci.s1.stage, SKHO_STAGE1);
		KEXPECT_EQ(t, ci.s1.granule_lg2, c[i].g);
		KEXPECT_EQ(t, ci.s1.ias, c[i].ias);
		KEXPECT_EQ(t, ci.s1.start_level, c[i].start);
		KEXPECT_EQ(t, ci.s1.oas, c[i].oas);
		KEXPECT_EQ(t, ci.s1.nr_concat, 1);	/* stage 1 never concatenates */
		KEXPECT_EQ(t, ci.s1.root, 0x40010000);
		KEXPECT(t, !ci.s1.ha, "case %u: HA was not set", i);
	}
}

static void cd_decode_ha_or_affd_sets_ha(struct ktest *t)
{
	struct skho_pt_cfg pt = { .stage = 1, .granule_lg2 = 12, .ias = 48,
				  .oas = 48, .root = 0x40000000, .ha = true };
	struct skho_cd_info ci;
	u8 cd[64];

	cd_build(cd, &pt, 1);
	KASSERT(t, skho_cd_decode(cd, 48, &ci, NULL) == 0);
	KEXPECT(t, ci.s1.ha, "CD.HA set");
	pt.ha = false;
	cd_build(cd, &pt, 1);
	put64(cd, get64(cd) | SMMU_CD0_AFFD);
	KASSERT(t, skho_cd_decode(cd, 48, &ci, NULL) == 0);
	KEXPECT(t, ci.s1.ha, "CD.AFFD set: no access flag faults either");
}

static void cd_decode_v0_is_invalid_not_error(struct ktest *t)
{
	struct skho_cd_info ci;
	u8 cd[64];

	memset(cd, 0xff, sizeof(cd));
	put64(cd, ~SMMU_CD0_V);		/* every other bit set: still ignored */
	KEXPECT_EQ(t, skho_cd_decode(cd, 48, &ci, NULL), 0);
	KEXPECT(t, !ci.valid, "V=0");
}

static void cd_decode_epd0_has_no_table(struct ktest *t)
{
	struct skho_cd_info ci;
	u8 cd[64] = { 0 };

	/* arm_smmu_make_sva_cd() without an mm: EPD0, T0SZ and TG0 zero */
	put64(cd, SMMU_CD0_EPD1 | SMMU_CD0_EPD0 | SMMU_CD0_V | SMMU_CD0_AA64 |
	      SKHO_FIELD_PREP(SMMU_CD0_ASID, 7));
	KEXPECT_EQ(t, skho_cd_decode(cd, 48, &ci, NULL), 0);
	KEXPECT(t, ci.valid && ci.epd0, "EPD0 decodes");
	KEXPECT_EQ(t, ci.asid, 7);
}

struct mutation {
	const char *name;	/* the field the message must name */
	unsigned int word;
	u64 clear, set;
	int code;
};

static void check_mutations(struct ktest *t, const u8 good[64],
			    const struct mutation *mu, unsigned int n, bool ste)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct skho_err e = { 0 };
		struct skho_ste_info si;
		struct skho_cd_info ci;
		u8 b[64];
		int rc;

		memcpy(b, good, 64);
		put64(b + 8 * mu[i].word,
		      (get64(b + 8 * mu[i].word) & ~mu[i].clear) | mu[i].set);
		rc = ste ? skho_ste_decode(b, 48, &si, &e) :
			   skho_cd_decode(b, 48, &ci, &e);
		KEXPECT(t, rc == -mu[i].code, "%s: rc %d (%s), want %s", mu[i].name,
			rc, skho_strerror(rc), skho_strerror(mu[i].code));
		KEXPECT(t, rc == 0 || e.code == rc, "%s: err.code", mu[i].name);
		KEXPECT(t, strstr(e.msg, mu[i].name) != NULL,
			"message \"%s\" should name %s", e.msg, mu[i].name);
	}
}

static void cd_decode_rejects_reserved_and_unsupported_fields(struct ktest *t)
{
	struct skho_pt_cfg pt = { .stage = 1, .granule_lg2 = 12, .ias = 48,
				  .oas = 48, .root = 0x40000000 };
	static const struct mutation mu[] = {
		{ "TG0", 0, SMMU_CD0_TG0, SKHO_FIELD_PREP(SMMU_CD0_TG0, 3),
		  SKHO_E_PGTABLE },			/* TG0 0b11 is reserved */
		{ "IPS", 0, SMMU_CD0_IPS, SKHO_FIELD_PREP(SMMU_CD0_IPS, 7),
		  SKHO_E_PGTABLE },			/* IPS 0b111 is reserved */
		{ "T0SZ", 0, SMMU_CD0_T0SZ, SKHO_FIELD_PREP(SMMU_CD0_T0SZ, 40),
		  SKHO_E_PGTABLE },			/* 24-bit ias < 25 */
		{ "T0SZ", 0, SMMU_CD0_T0SZ, SKHO_FIELD_PREP(SMMU_CD0_T0SZ, 15),
		  SKHO_E_PGTABLE },			/* 49-bit ias > 48 for 4K */
		{ "AA64", 0, SMMU_CD0_AA64, 0, SKHO_E_UNSUPPORTED },
		{ "ENDI", 0, 0, SMMU_CD0_ENDI, SKHO_E_UNSUPPORTED },
		{ "EPD1", 0, SMMU_CD0_EPD1, 0, SKHO_E_UNSUPPORTED },
		{ "TBI0", 0, 0, SMMU_CD0_TBI0, SKHO_E_UNSUPPORTED },
		{ "TTB0", 1, 0, 0x800, SKHO_E_PGTABLE },	/* not table-aligned */
		{ "TTB0", 1, 0, 1ULL << 48, SKHO_E_PGTABLE },	/* beyond oas 48 */
	};
	u8 cd[64];

	cd_build(cd, &pt, 1);
	KASSERT(t, skho_cd_decode(cd, 48, &(struct skho_cd_info){ 0 }, NULL) == 0);
	check_mutations(t, cd, mu, sizeof(mu) / sizeof(mu[0]), false);
}

static void ste_decode_rejects_reserved_and_unsupported_fields(struct ktest *t)
{
	struct skho_pt_cfg s2 = { .stage = 2, .granule_lg2 = 12, .ias = 40,
				  .oas = 48, .start_level = 1, .nr_concat = 2,
				  .root = 0x40000000 };
	static const struct mutation mu[] = {
		{ "STE.V", 0, SMMU_STE0_V, 0, SKHO_E_STE },
		{ "Config", 0, SMMU_STE0_CONFIG,
		  SKHO_FIELD_PREP(SMMU_STE0_CONFIG, 1), SKHO_E_STE },
		{ "Config", 0, SMMU_STE0_CONFIG,
		  SKHO_FIELD_PREP(SMMU_STE0_CONFIG, 3), SKHO_E_STE },
		{ "RES0", 0, 0, SKHO_BIT(52), SKHO_E_STE },
		{ "RES0", 3, 0, SKHO_BIT(63), SKHO_E_STE },
		{ "S1Fmt", 0, 0, SKHO_FIELD_PREP(SMMU_STE0_S1FMT, 3), SKHO_E_STE },
		{ "S1CDMax", 0, 0, SKHO_FIELD_PREP(SMMU_STE0_S1CDMAX, 21),
		  SKHO_E_STE },				/* SSIDSIZE is at most 20 */
		{ "S2TG", 2, 0, SKHO_FIELD_PREP(SMMU_STE2_S2TG, 3), SKHO_E_PGTABLE },
		{ "S2PS", 2, 0, SKHO_FIELD_PREP(SMMU_STE2_S2PS, 7), SKHO_E_PGTABLE },
		{ "S2T0SZ", 2, SMMU_STE2_S2T0SZ,
		  SKHO_FIELD_PREP(SMMU_STE2_S2T0SZ, 40), SKHO_E_PGTABLE },
		{ "S2SL0", 2, SMMU_STE2_S2SL0, SKHO_FIELD_PREP(SMMU_STE2_S2SL0, 3),
		  SKHO_E_PGTABLE },			/* reserved for 4K */
		/* SL0 0 = level 2 for 40 bits: 2^19 entries, 1024 tables */
		{ "concatenated", 2, SMMU_STE2_S2SL0, 0, SKHO_E_PGTABLE },
		{ "S2AA64", 2, SMMU_STE2_S2AA64, 0, SKHO_E_UNSUPPORTED },
		{ "S2ENDI", 2, 0, SMMU_STE2_S2ENDI, SKHO_E_UNSUPPORTED },
		{ "S2TTB", 3, 0, 0x1000, SKHO_E_PGTABLE },	/* 8K start table */
		/* 16 CDs of 64 bytes: the table is aligned to 1 KiB */
		{ "S1ContextPtr", 0, 0, 0x40, SKHO_E_STE },
		{ "S1DSS", 1, 0, SKHO_FIELD_PREP(SMMU_STE1_S1DSS, 3), SKHO_E_STE },
	};
	u8 ste[64];

	/* nested, so that every S1 and S2 field is live */
	ste_nested(ste, 0x40001000, SMMU_CD_FMT_LINEAR, 4, SMMU_S1DSS_SSID0,
		   &s2, 9);
	KASSERT(t, skho_ste_decode(ste, 48, &(struct skho_ste_info){ 0 }, NULL) == 0);
	check_mutations(t, ste, mu, sizeof(mu) / sizeof(mu[0]), true);
}

static void ste_decode_s2_geometry_from_sl0(struct ktest *t)
{
	static const struct {
		u8 g, ias, start, concat;
	} c[] = {
		{ 12, 40, 1, 2 },	/* 4K SL0=1: 10 bits at L1, 2 tables */
		{ 12, 42, 1, 8 },	/* 12 bits at L1: 8 tables */
		{ 12, 48, 0, 1 },	/* SL0=2: level 0, 9 bits */
		{ 12, 32, 2, 4 },	/* SL0=0: level 2, 11 bits: 4 tables */
		{ 14, 48, 1, 2 },	/* 16K at L1 (Linux, R_DXBSH): 2 tables */
		{ 14, 36, 2, 1 },	/* 16K SL0=1: 11 bits at L2 */
		{ 16, 48, 1, 1 },	/* 64K SL0=2: 6 bits at L1 */
		{ 16, 46, 2, 16 },	/* 64K L2: 46 - 29 = 17 bits: 16 tables */
	};
	unsigned int i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		u64 bytes = (u64)c[i].concat << c[i].g;
		struct skho_pt_cfg pt = {
			.stage = 2, .granule_lg2 = c[i].g, .ias = c[i].ias,
			.oas = 48, .start_level = c[i].start,
			.nr_concat = c[i].concat, .root = bytes << 4,
		};
		struct skho_ste_info si;
		struct skho_err e = { 0 };
		u8 ste[64];

		ste_s2(ste, &pt, 0x55 + i);
		KEXPECT(t, skho_ste_decode(ste, 48, &si, &e) == 0, "case %u: %s",
			i, e.msg);
		KEXPECT_EQ(t, si.config, SMMU_STE_CFG_S2);
		KEXPECT_EQ(t, si.vmid, 0x55 + i);
		KEXPECT_EQ(t, si.s2.start_level, c[i].start);
		KEXPECT_EQ(t, si.s2.nr_concat, c[i].concat);
		KEXPECT_EQ(t, si.s2.ias, c[i].ias);
		KEXPECT_EQ(t, si.s2.root, bytes << 4);
	}
}

/* ---- Stream table, CD tables and whole transactions -------------------- */

static struct skho_xlate tx(const struct tst *s, u32 sid, bool ssv, u32 ssid,
			    u64 iova, bool write)
{
	struct skho_xlate x = { .sid = sid, .ssv = ssv, .ssid = ssid,
				.iova = iova, .write = write };

	skho_translate(&s->smmu, &x);
	return x;
}

#define EXPECT_TX(t, x, want, stage) do {					\
	KEXPECT((t), (x).fault == (want), "got %s, want %s",			\
		skho_fault_name((x).fault), skho_fault_name(want));		\
	KEXPECT_EQ((t), (x).fault_stage, (stage));				\
} while (0)

/*
 * A stage-1 world: linear stream table of 256 STEs, a CD table, one 4K table
 * per CD mapping IOVA 0x1000 -> PA 0x100000 * (ssid + 1) read/write.
 */
struct s1world {
	struct tmem m;
	struct tst s;
	struct tcdt cdt;
	struct tpt pt;
};

static bool s1world_init(struct s1world *w, unsigned int fmt, unsigned int cdmax,
			 unsigned int s1dss)
{
	u8 ste[64];

	if (!tm_init(&w->m, MiB(8)))
		return false;
	tst_linear(&w->s, &w->m, 8, 48);
	tcdt_init(&w->cdt, &w->m, fmt, cdmax);
	ste_s1(ste, w->cdt.base, fmt, cdmax, s1dss);
	tst_put(&w->s, 0x10, ste);
	return true;
}

/* Give @ssid a CD whose table maps 0x1000 to 0x100000 * (ssid + 1). */
static void s1world_cd(struct s1world *w, u32 ssid)
{
	u8 cd[64];

	tpt_init(&w->pt, &w->m, SKHO_STAGE1, 12, 39, 48);
	tpt_map(&w->pt, 0x1000, 0x100000ULL * (ssid + 1), 3, RW);
	tpt_map(&w->pt, 0x2000, 0x200000ULL * (ssid + 1), 3, R);
	cd_build(cd, &w->pt.c, 0x100 + ssid);
	tcdt_put(&w->cdt, ssid, cd);
}

static void linear_strtab_sid_beyond_log2size_is_c_bad_streamid(struct ktest *t)
{
	struct s1world w;
	struct skho_xlate x;

	KASSERT(t, s1world_init(&w, SMMU_CD_FMT_LINEAR, 0, 0));
	s1world_cd(&w, 0);
	x = tx(&w.s, 0x10, false, 0, 0x1234, false);
	EXPECT_TX(t, x, SKHO_XLATE_OK, 0);
	KEXPECT_EQ(t, x.pa, 0x100234);
	/* LOG2SIZE 8: SIDs 0..255 exist, 256 does not */
	x = tx(&w.s, 256, false, 0, 0x1234, false);
	EXPECT_TX(t, x, SKHO_C_BAD_STREAMID, 0);
	tm_fini(&w.m);
}

static void s1_stream_write_to_read_only_page_faults_stage1(struct ktest *t)
{
	struct s1world w;
	struct skho_xlate x;

	KASSERT(t, s1world_init(&w, SMMU_CD_FMT_LINEAR, 0, 0));
	s1world_cd(&w, 0);
	x = tx(&w.s, 0x10, false, 0, 0x2000, false);
	EXPECT_TX(t, x, SKHO_XLATE_OK, 0);
	KEXPECT_EQ(t, x.prot, R);
	x = tx(&w.s, 0x10, false, 0, 0x2000, true);
	EXPECT_TX(t, x, SKHO_F_PERMISSION, 1);
	KEXPECT_EQ(t, x.pa, 0);		/* nothing is reported on a fault */
	/* an unmapped IOVA: stage-1 translation fault */
	x = tx(&w.s, 0x10, false, 0, 0x5000, false);
	EXPECT_TX(t, x, SKHO_F_TRANSLATION, 1);
	tm_fini(&w.m);
}

static void ste_v0_is_c_bad_ste(struct ktest *t)
{
	struct s1world w;
	struct skho_xlate x;

	KASSERT(t, s1world_init(&w, SMMU_CD_FMT_LINEAR, 0, 0));
	s1world_cd(&w, 0);
	/* STE 0x11 was never written: all zero, V=0 */
	x = tx(&w.s, 0x11, false, 0, 0x1000, false);
	EXPECT_TX(t, x, SKHO_C_BAD_STE, 0);
	tm_fini(&w.m);
}

static void ste_config_reserved_behaves_as_abort(struct ktest *t)
{
	struct s1world w;
	struct skho_xlate x;
	struct skho_ste_info si;
	unsigned int cfg;
	u64 pa;

	KASSERT(t, s1world_init(&w, SMMU_CD_FMT_LINEAR, 0, 0));
	s1world_cd(&w, 0);
	pa = tst_ste_pa(&w.s, 0x10);
	for (cfg = 1; cfg <= 3; cfg++) {
		tm_w64(&w.m, pa, (tm_r64(&w.m, pa) & ~SMMU_STE0_CONFIG) |
		       SKHO_FIELD_PREP(SMMU_STE0_CONFIG, cfg));
		/* IHI 0070 5.2 Config: 0b0xx is Reserved, behaves as 0b000 */
		x = tx(&w.s, 0x10, false, 0, 0x1000, false);
		EXPECT_TX(t, x, SKHO_XLATE_ABORT, 0);
		/* ... and smmu-kho will not preserve it */
		KEXPECT_EQ(t, skho_ste_decode(tm_ptr(&w.m, pa, 64), 48, &si, NULL),
			   -SKHO_E_STE);
	}
	tm_fini(&w.m);
}

static void ste_config_abort_is_abort_without_event(struct ktest *t)
{
	struct s1world w;
	struct skho_xlate x;
	u64 pa;

	KASSERT(t, s1world_init(&w, SMMU_CD_FMT_LINEAR, 0, 0));
	pa = tst_ste_pa(&w.s, 0x10);
	tm_w64(&w.m, pa, SMMU_STE0_V |
	       SKHO_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CFG_ABORT));
	x = tx(&w.s, 0x10, false, 0, 0x1000, true);
	EXPECT_TX(t, x, SKHO_XLATE_ABORT, 0);
	tm_fini(&w.m);
}

static void ste_bypass_translates_identity_rw(struct ktest *t)
{
	struct s1world w;
	struct skho_xlate x;
	u64 pa;

	KASSERT(t, s1world_init(&w, SMMU_CD_FMT_LINEAR, 0, 0));
	pa = tst_ste_pa(&w.s, 0x10);
	tm_w64(&w.m, pa, SMMU_STE0_V |
	       SKHO_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CFG_BYPASS));
	x = tx(&w.s, 0x10, false, 0, 0xdeadbeef000ULL, true);
	EXPECT_TX(t, x, SKHO_XLATE_OK, 0);
	KEXPECT_EQ(t, x.pa, 0xdeadbeef000ULL);	/* bypass: PA = IOVA */
	KEXPECT_EQ(t, x.prot, RW);
	/* a SubstreamID needs stage 1 */
	x = tx(&w.s, 0x10, true, 1, 0x1000, false);
	EXPECT_TX(t, x, SKHO_C_BAD_SUBSTREAMID, 0);
	tm_fini(&w.m);
}

static void two_level_strtab_locates_ste_for_each_split(struct ktest *t)
{
	static const unsigned int splits[] = { 6, 8, 10 };
	unsigned int i;

	for (i = 0; i < 3; i++) {
		struct tmem m;
		struct tst s;
		struct tpt pt;
		struct skho_xlate x;
		u64 pa;
		u8 ste[64];
		u32 sid = (5u << splits[i]) | 3;	/* L1 entry 5, STE 3 */

		KASSERT(t, tm_init(&m, MiB(4)));
		tst_2lvl(&s, &m, 16, splits[i], 48);
		tpt_init(&pt, &m, SKHO_STAGE2, 12, 40, 48);
		tpt_map(&pt, 0x4000, 0x8000, 3, RW);
		ste_s2(ste, &pt.c, 1);
		tst_put(&s, sid, ste);
		KEXPECT_EQ(t, skho_ste_locate(&s.smmu, sid, &pa), SKHO_XLATE_OK);
		KEXPECT_EQ(t, pa, tst_ste_pa(&s, sid));
		x = tx(&s, sid, false, 0, 0x4567, false);
		EXPECT_TX(t, x, SKHO_XLATE_OK, 0);
		KEXPECT_EQ(t, x.pa, 0x8567);
		/* the neighbour STE in the same L2 table is zero: V=0 */
		x = tx(&s, sid + 1, false, 0, 0x4567, false);
		EXPECT_TX(t, x, SKHO_C_BAD_STE, 0);
		tm_fini(&m);
	}
}

/* IHI 0070 5.1.1: SIDs that reach no valid STE through an L1STD. */
static void l1std_span0_is_c_bad_streamid(struct ktest *t)
{
	struct tmem m;
	struct tst s;
	struct skho_xlate x;
	u64 l2, ste_pa;

	KASSERT(t, tm_init(&m, MiB(4)));
	tst_2lvl(&s, &m, 16, 10, 48);
	/* L1STD of SIDs 0xc00..0xfff is all zero: Span 0 */
	x = tx(&s, 0xc45, false, 0, 0, false);
	EXPECT_TX(t, x, SKHO_C_BAD_STREAMID, 0);
	/* Span 12..31 is Reserved and behaves as 0, even with SPLIT 10 */
	l2 = tm_alloc(&m, 64 << 10, 64 << 10);
	tm_w64(&m, tst_l1std_pa(&s, 0xc00),
	       l2 | SKHO_FIELD_PREP(SMMU_L1STD_SPAN, 11));
	KEXPECT_EQ(t, skho_ste_locate(&s.smmu, 0xc45, &ste_pa), SKHO_XLATE_OK);
	tm_w64(&m, tst_l1std_pa(&s, 0xc00),
	       l2 | SKHO_FIELD_PREP(SMMU_L1STD_SPAN, 12));
	KEXPECT_EQ(t, skho_ste_locate(&s.smmu, 0xc45, &ste_pa),
		   SKHO_C_BAD_STREAMID);
	tm_fini(&m);
}

static void l1std_span_too_small_for_index_is_c_bad_streamid(struct ktest *t)
{
	struct tmem m;
	struct tst s;
	u64 l2, ste_pa;

	KASSERT(t, tm_init(&m, MiB(4)));
	tst_2lvl(&s, &m, 16, 8, 48);
	l2 = tm_alloc(&m, 64 * 4, 256);
	/* Span 3: 2^(3-1) = 4 STEs, indexes 0..3 */
	tm_w64(&m, tst_l1std_pa(&s, 0x100),
	       l2 | SKHO_FIELD_PREP(SMMU_L1STD_SPAN, 3));
	KEXPECT_EQ(t, skho_ste_locate(&s.smmu, 0x103, &ste_pa), SKHO_XLATE_OK);
	KEXPECT_EQ(t, ste_pa, l2 + 3 * 64);
	KEXPECT_EQ(t, skho_ste_locate(&s.smmu, 0x104, &ste_pa),
		   SKHO_C_BAD_STREAMID);
	/* L2Ptr[5 + Span - 1:0] are taken as 0: the L2 array is aligned */
	tm_w64(&m, tst_l1std_pa(&s, 0x100),
	       (l2 + 0xc0) | SKHO_FIELD_PREP(SMMU_L1STD_SPAN, 3));
	KEXPECT_EQ(t, skho_ste_locate(&s.smmu, 0x103, &ste_pa), SKHO_XLATE_OK);
	KEXPECT_EQ(t, ste_pa, l2 + 3 * 64);
	tm_fini(&m);
}

static void l1std_span_above_split_plus_one_is_c_bad_streamid(struct ktest *t)
{
	struct tmem m;
	struct tst s;
	u64 l2, ste_pa;

	KASSERT(t, tm_init(&m, MiB(4)));
	tst_2lvl(&s, &m, 16, 8, 48);
	l2 = tm_alloc(&m, 64 << 9, 64 << 9);
	/* split 8 allows Span up to 9 (256 STEs); 10 is out of range */
	tm_w64(&m, tst_l1std_pa(&s, 0x100),
	       l2 | SKHO_FIELD_PREP(SMMU_L1STD_SPAN, 9));
	KEXPECT_EQ(t, skho_ste_locate(&s.smmu, 0x101, &ste_pa), SKHO_XLATE_OK);
	tm_w64(&m, tst_l1std_pa(&s, 0x100),
	       l2 | SKHO_FIELD_PREP(SMMU_L1STD_SPAN, 10));
	KEXPECT_EQ(t, skho_ste_locate(&s.smmu, 0x101, &ste_pa),
		   SKHO_C_BAD_STREAMID);
	tm_fini(&m);
}

static void strtab_fetch_faults_are_f_ste_fetch(struct ktest *t)
{
	struct tmem m;
	struct tst s;
	u64 hole, ste_pa;

	KASSERT(t, tm_init(&m, MiB(4)));
	tst_2lvl(&s, &m, 16, 8, 48);
	/* an L2 table in unreadable memory */
	hole = tm_hole(&m, 64 << 8, 64 << 8);
	tm_w64(&m, tst_l1std_pa(&s, 0x200),
	       hole | SKHO_FIELD_PREP(SMMU_L1STD_SPAN, 9));
	KEXPECT_EQ(t, skho_ste_locate(&s.smmu, 0x201, &ste_pa), SKHO_F_STE_FETCH);
	/* an L1 table in unreadable memory */
	s.smmu.strtab_base = tm_hole(&m, 2048, 2048);
	KEXPECT_EQ(t, skho_ste_locate(&s.smmu, 0x201, &ste_pa), SKHO_F_STE_FETCH);
	tm_fini(&m);
}

static void strtab_base_bits_below_table_size_are_ignored(struct ktest *t)
{
	struct s1world w;
	struct skho_xlate x;

	KASSERT(t, s1world_init(&w, SMMU_CD_FMT_LINEAR, 0, 0));
	s1world_cd(&w, 0);
	/*
	 * IHI 0070 6.3.23: the SMMU aligns the base to the table size (256
	 * STEs: 16 KiB), so ADDR bits [13:6] do not move the STE.
	 */
	w.s.smmu.strtab_base |= 0x3fc0;
	x = tx(&w.s, 0x10, false, 0, 0x1234, false);
	EXPECT_TX(t, x, SKHO_XLATE_OK, 0);
	KEXPECT_EQ(t, x.pa, 0x100234);
	tm_fini(&w.m);
}

static void strtab_reserved_split_and_fmt_behave_as_6_and_linear(struct ktest *t)
{
	struct tmem m;
	struct tst s;
	u64 want, ste_pa;
	u8 ste[64] = { 0 };

	KASSERT(t, tm_init(&m, MiB(4)));
	/* a 2-level table with SPLIT 6, holding SID 0x1c5 */
	tst_2lvl(&s, &m, 12, 6, 48);
	put64(ste, SMMU_STE0_V);
	tst_put(&s, 0x1c5, ste);
	want = tst_ste_pa(&s, 0x1c5);
	/* 6.3.24: SPLIT values other than 6, 8, 10 behave as 6 */
	s.smmu.strtab_cfg = (s.smmu.strtab_cfg & ~SMMU_STRTAB_BASE_CFG_SPLIT) |
			    SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_SPLIT, 7);
	KEXPECT_EQ(t, skho_ste_locate(&s.smmu, 0x1c5, &ste_pa), SKHO_XLATE_OK);
	KEXPECT_EQ(t, ste_pa, want);
	/* 6.3.24: FMT 0b1x behaves as 0b00, linear */
	tst_linear(&s, &m, 8, 48);
	s.smmu.strtab_cfg |= SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_FMT, 2);
	KEXPECT_EQ(t, skho_ste_locate(&s.smmu, 0x21, &ste_pa), SKHO_XLATE_OK);
	KEXPECT_EQ(t, ste_pa, s.smmu.strtab_base + 0x21 * 64);
	tm_fini(&m);
}

static void cdmax0_ssv_is_c_bad_substreamid(struct ktest *t)
{
	struct s1world w;
	struct skho_xlate x;

	KASSERT(t, s1world_init(&w, SMMU_CD_FMT_LINEAR, 0, 0));
	s1world_cd(&w, 0);
	/* S1CDMax 0: substreams are disabled, even SSID 0 */
	x = tx(&w.s, 0x10, true, 0, 0x1000, false);
	EXPECT_TX(t, x, SKHO_C_BAD_SUBSTREAMID, 0);
	tm_fini(&w.m);
}

static void linear_cd_table_selects_cd_by_ssid(struct ktest *t)
{
	struct s1world w;
	struct skho_xlate x;

	KASSERT(t, s1world_init(&w, SMMU_CD_FMT_LINEAR, 4, SMMU_S1DSS_SSID0));
	s1world_cd(&w, 0);
	s1world_cd(&w, 9);
	x = tx(&w.s, 0x10, true, 9, 0x1010, false);
	EXPECT_TX(t, x, SKHO_XLATE_OK, 0);
	KEXPECT_EQ(t, x.pa, 0x100000ULL * 10 + 0x10);	/* CD 9's table */
	/* S1CDMax 4: SSIDs 0..15 */
	x = tx(&w.s, 0x10, true, 16, 0x1010, false);
	EXPECT_TX(t, x, SKHO_C_BAD_SUBSTREAMID, 0);
	/* SSID 3 has an all-zero CD: V=0 */
	x = tx(&w.s, 0x10, true, 3, 0x1010, false);
	EXPECT_TX(t, x, SKHO_C_BAD_CD, 0);
	tm_fini(&w.m);
}

static void two_level_cd_tables_select_cd_by_ssid(struct ktest *t)
{
	static const unsigned int fmts[] = { SMMU_CD_FMT_2LVL_4K,
					     SMMU_CD_FMT_2LVL_64K };
	unsigned int i;

	for (i = 0; i < 2; i++) {
		struct s1world w;
		struct skho_xlate x;
		u64 cd_pa;
		/* leaf index 5 of L1 entry 3: split 6 (4K) or 10 (64K) */
		u32 ssid = (3u << (i ? 10 : 6)) | 5;
		struct skho_ste_info si;

		KASSERT(t, s1world_init(&w, fmts[i], 16, SMMU_S1DSS_SSID0));
		s1world_cd(&w, ssid);
		x = tx(&w.s, 0x10, true, ssid, 0x1010, false);
		EXPECT_TX(t, x, SKHO_XLATE_OK, 0);
		KEXPECT_EQ(t, x.pa, 0x100000ULL * (ssid + 1) + 0x10);
		KASSERT(t, skho_ste_decode(tm_ptr(&w.m, tst_ste_pa(&w.s, 0x10), 64),
					   48, &si, NULL) == 0);
		KEXPECT_EQ(t, skho_cd_locate(&w.s.smmu, &si, ssid, &cd_pa),
			   SKHO_XLATE_OK);
		KEXPECT_EQ(t, cd_pa, tcdt_cd_pa(&w.cdt, ssid));
		/* the L1CD of entry 4 was never written: V=0 (5.3.1) */
		x = tx(&w.s, 0x10, true, ssid + (1u << (i ? 10 : 6)), 0x1010,
		       false);
		EXPECT_TX(t, x, SKHO_C_BAD_SUBSTREAMID, 0);
		tm_fini(&w.m);
	}
}

static void cd_fetch_faults_are_f_cd_fetch(struct ktest *t)
{
	struct s1world w;
	struct skho_xlate x;
	u64 hole;

	KASSERT(t, s1world_init(&w, SMMU_CD_FMT_2LVL_64K, 16, SMMU_S1DSS_SSID0));
	s1world_cd(&w, 1);
	/* L1CD 1 points at unreadable memory */
	hole = tm_hole(&w.m, 64 << 10, 64 << 10);
	tm_w64(&w.m, tcdt_l1_pa(&w.cdt, 1024), hole | SMMU_L1CD_V);
	x = tx(&w.s, 0x10, true, 1025, 0x1000, false);
	EXPECT_TX(t, x, SKHO_F_CD_FETCH, 0);
	/* the L1 table itself unreadable: the STE points into the hole */
	tm_w64(&w.m, tst_ste_pa(&w.s, 0x10),
	       (tm_r64(&w.m, tst_ste_pa(&w.s, 0x10)) & ~SMMU_STE0_S1CTXPTR) | hole);
	x = tx(&w.s, 0x10, true, 1, 0x1000, false);
	EXPECT_TX(t, x, SKHO_F_CD_FETCH, 0);
	tm_fini(&w.m);
}

static void s1dss_selects_what_transactions_without_ssid_do(struct ktest *t)
{
	struct s1world w;
	struct skho_xlate x;
	u64 ste_pa;

	KASSERT(t, s1world_init(&w, SMMU_CD_FMT_LINEAR, 4, SMMU_S1DSS_TERMINATE));
	s1world_cd(&w, 0);
	s1world_cd(&w, 2);
	ste_pa = tst_ste_pa(&w.s, 0x10);
	/* terminate: no SSID -> F_STREAM_DISABLED; an SSID still works */
	x = tx(&w.s, 0x10, false, 0, 0x1000, false);
	EXPECT_TX(t, x, SKHO_F_STREAM_DISABLED, 0);
	x = tx(&w.s, 0x10, true, 2, 0x1000, false);
	EXPECT_TX(t, x, SKHO_XLATE_OK, 0);
	/* bypass: stage 1 is skipped for no-SSID traffic */
	tm_w64(&w.m, ste_pa + 8, SKHO_FIELD_PREP(SMMU_STE1_S1DSS, SMMU_S1DSS_BYPASS));
	x = tx(&w.s, 0x10, false, 0, 0x777000, true);
	EXPECT_TX(t, x, SKHO_XLATE_OK, 0);
	KEXPECT_EQ(t, x.pa, 0x777000);
	KEXPECT_EQ(t, x.prot, RW);
	/* SSID0: no-SSID traffic uses CD 0 ... */
	tm_w64(&w.m, ste_pa + 8, SKHO_FIELD_PREP(SMMU_STE1_S1DSS, SMMU_S1DSS_SSID0));
	x = tx(&w.s, 0x10, false, 0, 0x1000, false);
	EXPECT_TX(t, x, SKHO_XLATE_OK, 0);
	KEXPECT_EQ(t, x.pa, 0x100000);		/* CD 0 maps to 0x100000 * 1 */
	/* ... and a transaction carrying SSID 0 is terminated (5.2 S1DSS) */
	x = tx(&w.s, 0x10, true, 0, 0x1000, false);
	EXPECT_TX(t, x, SKHO_F_STREAM_DISABLED, 0);
	/* S1DSS 0b11 is Reserved and behaves as terminate */
	tm_w64(&w.m, ste_pa + 8, SKHO_FIELD_PREP(SMMU_STE1_S1DSS, 3));
	x = tx(&w.s, 0x10, false, 0, 0x1000, false);
	EXPECT_TX(t, x, SKHO_F_STREAM_DISABLED, 0);
	tm_fini(&w.m);
}

static void cd_epd0_is_f_translation_stage1(struct ktest *t)
{
	struct s1world w;
	struct skho_xlate x;
	u64 cd_pa;

	KASSERT(t, s1world_init(&w, SMMU_CD_FMT_LINEAR, 0, 0));
	s1world_cd(&w, 0);
	cd_pa = tcdt_cd_pa(&w.cdt, 0);
	tm_w64(&w.m, cd_pa, tm_r64(&w.m, cd_pa) | SMMU_CD0_EPD0);
	x = tx(&w.s, 0x10, false, 0, 0x1000, false);
	EXPECT_TX(t, x, SKHO_F_TRANSLATION, 1);
	tm_fini(&w.m);
}

static void undecodable_ste_or_cd_is_c_bad(struct ktest *t)
{
	struct s1world w;
	struct skho_xlate x;
	u64 cd_pa, ste_pa;

	KASSERT(t, s1world_init(&w, SMMU_CD_FMT_LINEAR, 0, 0));
	s1world_cd(&w, 0);
	cd_pa = tcdt_cd_pa(&w.cdt, 0);
	/* a reserved granule in the CD */
	tm_w64(&w.m, cd_pa, tm_r64(&w.m, cd_pa) | SMMU_CD0_TG0);
	x = tx(&w.s, 0x10, false, 0, 0x1000, false);
	EXPECT_TX(t, x, SKHO_C_BAD_CD, 0);
	/* S1CDMax 21: beyond any SSIDSIZE, ILLEGAL */
	ste_pa = tst_ste_pa(&w.s, 0x10);
	tm_w64(&w.m, ste_pa, tm_r64(&w.m, ste_pa) |
	       SKHO_FIELD_PREP(SMMU_STE0_S1CDMAX, 21));
	x = tx(&w.s, 0x10, false, 0, 0x1000, false);
	EXPECT_TX(t, x, SKHO_C_BAD_STE, 0);
	tm_fini(&w.m);
}


static void reserved_encodings_behave_as_specified(struct ktest *t)
{
	struct s1world w;
	struct skho_xlate x;
	struct skho_ste_info si;
	u64 ste_pa, cd_pa;

	KASSERT(t, s1world_init(&w, SMMU_CD_FMT_LINEAR, 4, SMMU_S1DSS_SSID0));
	s1world_cd(&w, 3);
	ste_pa = tst_ste_pa(&w.s, 0x10);
	/* 5.2 S1Fmt: 0b11 is Reserved and behaves as 0b00 (linear) */
	tm_w64(&w.m, ste_pa, tm_r64(&w.m, ste_pa) | SMMU_STE0_S1FMT);
	x = tx(&w.s, 0x10, true, 3, 0x1010, false);
	EXPECT_TX(t, x, SKHO_XLATE_OK, 0);
	KEXPECT_EQ(t, x.pa, 0x100000ULL * 4 + 0x10);
	KEXPECT_EQ(t, skho_ste_decode(tm_ptr(&w.m, ste_pa, 64), 48, &si, NULL),
		   -SKHO_E_STE);		/* but smmu-kho refuses it */

	/*
	 * 5.4 IPS: a value above the cap behaves as the cap, the SMMU's OAS
	 * (44 bits here); 0b111 is Reserved and is not ILLEGAL
	 */
	w.s.smmu.oas = 44;
	cd_pa = tcdt_cd_pa(&w.cdt, 3);
	tm_w64(&w.m, cd_pa, tm_r64(&w.m, cd_pa) | SMMU_CD0_IPS);	/* 0b111 */
	tpt_map(&w.pt, 0x3000, (1ULL << 44) - 0x1000, 3, RW);
	tpt_map(&w.pt, 0x4000, 1ULL << 44, 3, RW);
	x = tx(&w.s, 0x10, true, 3, 0x3000, false);
	EXPECT_TX(t, x, SKHO_XLATE_OK, 0);
	KEXPECT_EQ(t, x.pa, (1ULL << 44) - 0x1000);
	x = tx(&w.s, 0x10, true, 3, 0x4000, false);
	EXPECT_TX(t, x, SKHO_F_ADDR_SIZE, 1);
	tm_fini(&w.m);
}

static void hardware_dirty_state_makes_dbm_pages_writable(struct ktest *t)
{
	struct s1world w;
	struct skho_xlate x;
	u64 cd_pa, slot, pa;
	u32 prot;

	KASSERT(t, s1world_init(&w, SMMU_CD_FMT_LINEAR, 0, 0));
	s1world_cd(&w, 0);
	/* a writable-clean page as Linux's dirty tracking leaves it */
	slot = tpt_slot(&w.pt, 0x2000, 3);
	tm_w64(&w.m, slot, tm_r64(&w.m, slot) | SMMU_PTE_DBM);
	x = tx(&w.s, 0x10, false, 0, 0x2000, true);
	EXPECT_TX(t, x, SKHO_F_PERMISSION, 1);	/* no HD: AP[2] rules */
	cd_pa = tcdt_cd_pa(&w.cdt, 0);
	tm_w64(&w.m, cd_pa, tm_r64(&w.m, cd_pa) | SMMU_CD0_HA | SMMU_CD0_HD);
	x = tx(&w.s, 0x10, false, 0, 0x2000, true);
	EXPECT_TX(t, x, SKHO_XLATE_OK, 0);
	KEXPECT_EQ(t, x.prot, RW);
	/* HD without HA is Reserved, behaves as neither */
	tm_w64(&w.m, cd_pa, tm_r64(&w.m, cd_pa) & ~SMMU_CD0_HA);
	x = tx(&w.s, 0x10, false, 0, 0x2000, true);
	EXPECT_TX(t, x, SKHO_F_PERMISSION, 1);
	/* struct skho_pt_cfg cannot say HD: the table alone reads read-only */
	w.pt.c.ha = true;
	KEXPECT_EQ(t, xl(&w.pt, 0x2000, true, &pa, &prot), SKHO_F_PERMISSION);
	tm_fini(&w.m);
}

static void s2ha_and_s2hd_apply_to_stage2(struct ktest *t)
{
	struct tmem m;
	struct tst s;
	struct tpt pt;
	struct skho_xlate x;
	u64 slot, ste_pa;
	u8 ste[64];

	KASSERT(t, tm_init(&m, MiB(4)));
	tst_linear(&s, &m, 6, 48);
	tpt_init(&pt, &m, SKHO_STAGE2, 12, 40, 48);
	slot = tpt_map(&pt, 0x8000, 0x9000, 3, R);
	tm_w64(&m, slot, (tm_r64(&m, slot) & ~SMMU_PTE_AF) | SMMU_PTE_DBM);
	ste_s2(ste, &pt.c, 3);
	tst_put(&s, 2, ste);
	x = tx(&s, 2, false, 0, 0x8000, false);
	EXPECT_TX(t, x, SKHO_F_ACCESS, 2);	/* AF = 0, no S2HA/S2AFFD */
	ste_pa = tst_ste_pa(&s, 2);
	tm_w64(&m, ste_pa + 16, tm_r64(&m, ste_pa + 16) | SMMU_STE2_S2HA);
	x = tx(&s, 2, false, 0, 0x8000, true);
	EXPECT_TX(t, x, SKHO_F_PERMISSION, 2);	/* AF set by HW, not dirty */
	tm_w64(&m, ste_pa + 16, tm_r64(&m, ste_pa + 16) | SMMU_STE2_S2HD);
	x = tx(&s, 2, false, 0, 0x8000, true);
	EXPECT_TX(t, x, SKHO_XLATE_OK, 0);
	KEXPECT_EQ(t, x.prot, RW);
	/* 5.2 S2PS: 0b111 behaves as the cap, the SMMU's OAS */
	tm_w64(&m, ste_pa + 16, tm_r64(&m, ste_pa + 16) | SMMU_STE2_S2PS);
	x = tx(&s, 2, false, 0, 0x8000, false);
	EXPECT_TX(t, x, SKHO_XLATE_OK, 0);
	tm_fini(&m);
}

static void s2_stream_faults_report_stage2(struct ktest *t)
{
	struct tmem m;
	struct tst s;
	struct tpt pt;
	struct skho_xlate x;
	u8 ste[64];

	KASSERT(t, tm_init(&m, MiB(4)));
	tst_linear(&s, &m, 6, 44);
	tpt_init_geom(&pt, &m, SKHO_STAGE2, 12, 40, 44, 1, 2);
	tpt_map(&pt, 0x8000, 0x9000, 3, R);
	ste_s2(ste, &pt.c, 3);
	tst_put(&s, 2, ste);
	x = tx(&s, 2, false, 0, 0x8abc, false);
	EXPECT_TX(t, x, SKHO_XLATE_OK, 0);
	KEXPECT_EQ(t, x.pa, 0x9abc);
	KEXPECT_EQ(t, x.prot, R);
	x = tx(&s, 2, false, 0, 0x8abc, true);
	EXPECT_TX(t, x, SKHO_F_PERMISSION, 2);
	x = tx(&s, 2, false, 0, 0xa000, false);
	EXPECT_TX(t, x, SKHO_F_TRANSLATION, 2);
	x = tx(&s, 2, true, 1, 0x8abc, false);	/* no stage 1: no SSIDs */
	EXPECT_TX(t, x, SKHO_C_BAD_SUBSTREAMID, 0);
	tm_fini(&m);
}

/*
 * Nested world: stage 2 maps IPA = PA + NEST_DELTA for the whole window
 * (2 MiB blocks, read/write) plus IPA 0x10000000 -> PA 0x7000000 read-only
 * (4K) for stage 1's output; stage 1 lives at IPAs.
 */
#define NEST_DELTA	0x100000000ULL
struct nworld {
	struct tmem m;
	struct tst s;
	struct tpt s2, s1;
	struct tcdt cdt;
	u64 s2_win_slot;	/* level-2 descriptor of the window's first block */
};

static bool nworld_init(struct nworld *w)
{
	u8 ste[64], cd[64];
	u64 off;

	if (!tm_init(&w->m, MiB(8)))
		return false;
	tst_linear(&w->s, &w->m, 6, 48);
	tpt_init(&w->s2, &w->m, SKHO_STAGE2, 12, 40, 48);
	for (off = 0; off < w->m.size; off += MiB(2))
		tpt_map(&w->s2, TM_BASE + NEST_DELTA + off, TM_BASE + off, 2, RW);
	w->s2_win_slot = tpt_slot(&w->s2, TM_BASE + NEST_DELTA, 2);
	tpt_map(&w->s2, 0x10000000, 0x7000000, 3, R);
	tpt_map(&w->s2, 0x10001000, 0x7001000, 3, RW);

	/* stage 1 in IPA space: CD table and tables named by PA + delta */
	tcdt_init(&w->cdt, &w->m, SMMU_CD_FMT_LINEAR, 2);
	tpt_init(&w->s1, &w->m, SKHO_STAGE1, 12, 39, 44);
	w->s1.ipa_delta = NEST_DELTA;
	w->s1.c.root += NEST_DELTA;
	tpt_map(&w->s1, 0x5000, 0x10000000, 3, RW);	/* S2 gives R only */
	tpt_map(&w->s1, 0x6000, 0x10001000, 3, R);	/* S2 gives RW */
	tpt_map(&w->s1, 0x7000, 0x20000000, 3, RW);	/* IPA S2 lacks */
	cd_build(cd, &w->s1.c, 0x42);
	tcdt_put(&w->cdt, 1, cd);
	ste_nested(ste, w->cdt.base + NEST_DELTA, SMMU_CD_FMT_LINEAR, 2,
		   SMMU_S1DSS_BYPASS, &w->s2.c, 5);
	tst_put(&w->s, 3, ste);
	return true;
}

static void nested_translate_composes_stages_and_intersects_prot(struct ktest *t)
{
	struct nworld w;
	struct skho_xlate x;

	KASSERT(t, nworld_init(&w));
	/* S1 RW, S2 R: the result is read-only */
	x = tx(&w.s, 3, true, 1, 0x5123, false);
	EXPECT_TX(t, x, SKHO_XLATE_OK, 0);
	KEXPECT_EQ(t, x.pa, 0x7000123);
	KEXPECT_EQ(t, x.prot, R);
	/* ... so a write faults at stage 2 */
	x = tx(&w.s, 3, true, 1, 0x5123, true);
	EXPECT_TX(t, x, SKHO_F_PERMISSION, 2);
	/* S1 R, S2 RW: a write faults at stage 1 first */
	x = tx(&w.s, 3, true, 1, 0x6123, true);
	EXPECT_TX(t, x, SKHO_F_PERMISSION, 1);
	x = tx(&w.s, 3, true, 1, 0x6123, false);
	EXPECT_TX(t, x, SKHO_XLATE_OK, 0);
	KEXPECT_EQ(t, x.pa, 0x7001123);
	KEXPECT_EQ(t, x.prot, R);
	tm_fini(&w.m);
}

static void nested_cd_locate_returns_the_cd_pa(struct ktest *t)
{
	struct nworld w;
	struct skho_ste_info si;
	u64 cd_pa;

	KASSERT(t, nworld_init(&w));
	KASSERT(t, skho_ste_decode(tm_ptr(&w.m, tst_ste_pa(&w.s, 3), 64), 48,
				   &si, NULL) == 0);
	KEXPECT_EQ(t, si.config, SMMU_STE_CFG_NESTED);
	KEXPECT_EQ(t, si.s1ctxptr, w.cdt.base + NEST_DELTA);	/* an IPA */
	/* stage 2 maps IPA = PA + NEST_DELTA: the CD's PA is in the table */
	KEXPECT_EQ(t, skho_cd_locate(&w.s.smmu, &si, 1, &cd_pa), SKHO_XLATE_OK);
	KEXPECT_EQ(t, cd_pa, tcdt_cd_pa(&w.cdt, 1));
	/* SSID 4 is beyond S1CDMax 2 */
	KEXPECT_EQ(t, skho_cd_locate(&w.s.smmu, &si, 4, &cd_pa),
		   SKHO_C_BAD_SUBSTREAMID);
	KEXPECT_EQ(t, cd_pa, 0);
	tm_fini(&w.m);
}

static void nested_s1_output_unmapped_in_s2_is_stage2_fault(struct ktest *t)
{
	struct nworld w;
	struct skho_xlate x;

	KASSERT(t, nworld_init(&w));
	x = tx(&w.s, 3, true, 1, 0x7000, false);
	EXPECT_TX(t, x, SKHO_F_TRANSLATION, 2);
	/* and a hole in stage 1 itself is a stage-1 fault */
	x = tx(&w.s, 3, true, 1, 0x9000, false);
	EXPECT_TX(t, x, SKHO_F_TRANSLATION, 1);
	tm_fini(&w.m);
}

static void nested_cd_fetch_fault_reports_stage2(struct ktest *t)
{
	struct nworld w;
	struct skho_xlate x;
	u64 ste_pa;

	KASSERT(t, nworld_init(&w));
	ste_pa = tst_ste_pa(&w.s, 3);
	/* S1ContextPtr = IPA 0x30000000, which stage 2 does not map */
	tm_w64(&w.m, ste_pa, (tm_r64(&w.m, ste_pa) & ~SMMU_STE0_S1CTXPTR) |
	       0x30000000);
	x = tx(&w.s, 3, true, 1, 0x5000, false);
	EXPECT_TX(t, x, SKHO_F_TRANSLATION, 2);
	tm_fini(&w.m);
}

static void nested_s1_table_fetch_fault_reports_stage2(struct ktest *t)
{
	struct nworld w;
	struct skho_xlate x;

	KASSERT(t, nworld_init(&w));
	/* stage 1's level-2 table is moved to IPA 0x30000000: unmapped */
	tm_w64(&w.m, tpt_slot(&w.s1, 0x5000, 2), 0x30000000 | SMMU_PTE_TYPE_TABLE);
	x = tx(&w.s, 3, true, 1, 0x5000, false);
	EXPECT_TX(t, x, SKHO_F_TRANSLATION, 2);
	/* the stage-2 block holding every structure loses its AF: the CD
	 * fetch is the first read that needs it */
	tm_w64(&w.m, w.s2_win_slot, tm_r64(&w.m, w.s2_win_slot) & ~SMMU_PTE_AF);
	x = tx(&w.s, 3, true, 1, 0x6000, false);
	EXPECT_TX(t, x, SKHO_F_ACCESS, 2);
	tm_fini(&w.m);
}

static void nested_s1dss_bypass_goes_through_stage2(struct ktest *t)
{
	struct nworld w;
	struct skho_xlate x;

	KASSERT(t, nworld_init(&w));
	/* no SSID, S1DSS bypass: the IOVA is an IPA for stage 2 */
	x = tx(&w.s, 3, false, 0, 0x10001abc, true);
	EXPECT_TX(t, x, SKHO_XLATE_OK, 0);
	KEXPECT_EQ(t, x.pa, 0x7001abc);
	KEXPECT_EQ(t, x.prot, RW);
	tm_fini(&w.m);
}

/* ---- Enumeration ------------------------------------------------------- */

struct run {
	u64 iova, pa, size;
	u32 prot;
};

struct collect {
	struct run *r;
	size_t nr, cap;
	u64 tables, table_bytes;
	u64 first_table_pa, first_table_size;
	unsigned int first_table_level;
	int stop_after;		/* run() returns 7 on this run (1-based) */
};

static int col_table(void *arg, u64 pa, u64 size, unsigned int level)
{
	struct collect *c = arg;

	if (!c->tables++) {
		c->first_table_pa = pa;
		c->first_table_size = size;
		c->first_table_level = level;
	}
	c->table_bytes += size;
	return 0;
}

static int col_run(void *arg, u64 iova, u64 pa, u64 size, u32 prot)
{
	struct collect *c = arg;

	if (c->nr == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->r = realloc(c->r, c->cap * sizeof(*c->r));
		if (!c->r)
			abort();
	}
	c->r[c->nr++] = (struct run){ iova, pa, size, prot };
	if (c->stop_after && (int)c->nr == c->stop_after)
		return 7;
	return 0;
}

static int enumerate(const struct tpt *p, struct collect *c, struct skho_err *e)
{
	struct skho_pt_visitor v = { col_table, col_run, c };

	return skho_pt_walk(&p->c, &p->m->mem, &v, e);
}

static void pt_walk_coalesces_contiguous_pages_across_tables(struct ktest *t)
{
	FIXTURE(t, m, MiB(4));
	struct tpt p;
	struct collect c = { 0 };
	u64 i;

	tpt_init(&p, &m, SKHO_STAGE1, 12, 48, 48);
	/* 4 pages either side of the 2 MiB line: two L3 tables, one run */
	for (i = 0; i < 8; i++)
		tpt_map(&p, MiB(2) - 0x4000 + i * 0x1000, 0x5000000 + i * 0x1000,
			3, RW);
	KEXPECT_EQ(t, enumerate(&p, &c, NULL), 0);
	KASSERT(t, c.nr == 1, "%zu runs", c.nr);
	KEXPECT_EQ(t, c.r[0].iova, MiB(2) - 0x4000);
	KEXPECT_EQ(t, c.r[0].pa, 0x5000000);
	KEXPECT_EQ(t, c.r[0].size, 0x8000);
	KEXPECT_EQ(t, c.r[0].prot, RW);
	/* tables: L0 root, one L1, one L2, two L3 */
	KEXPECT_EQ(t, c.tables, 5);
	free(c.r);
	tm_fini(&m);
}

static void pt_walk_splits_runs_on_prot_and_pa_discontinuity(struct ktest *t)
{
	FIXTURE(t, m, MiB(4));
	struct tpt p;
	struct collect c = { 0 };

	tpt_init(&p, &m, SKHO_STAGE1, 12, 39, 48);
	tpt_map(&p, 0x1000, 0x11000, 3, RW);
	tpt_map(&p, 0x2000, 0x12000, 3, RW);	/* joins the first */
	tpt_map(&p, 0x3000, 0x13000, 3, R);	/* prot differs: new run */
	tpt_map(&p, 0x4000, 0x20000, 3, R);	/* PA jumps: new run */
	tpt_map(&p, 0x6000, 0x22000, 3, R);	/* IOVA gap: new run */
	KEXPECT_EQ(t, enumerate(&p, &c, NULL), 0);
	KASSERT(t, c.nr == 4, "%zu runs", c.nr);
	KEXPECT_EQ(t, c.r[0].size, 0x2000);
	KEXPECT_EQ(t, c.r[1].iova, 0x3000);
	KEXPECT_EQ(t, c.r[1].prot, R);
	KEXPECT_EQ(t, c.r[2].pa, 0x20000);
	KEXPECT_EQ(t, c.r[3].iova, 0x6000);
	free(c.r);
	tm_fini(&m);
}

static void pt_walk_coalesces_block_then_pages(struct ktest *t)
{
	FIXTURE(t, m, MiB(4));
	struct tpt p;
	struct collect c = { 0 };

	tpt_init(&p, &m, SKHO_STAGE1, 12, 39, 48);
	tpt_map(&p, GiB(1), GiB(5), 1, RW);			/* 1 GiB */
	tpt_map(&p, GiB(2), GiB(6), 2, RW);			/* 2 MiB */
	tpt_map(&p, GiB(2) + MiB(2), GiB(6) + MiB(2), 3, RW);	/* 4 KiB */
	KEXPECT_EQ(t, enumerate(&p, &c, NULL), 0);
	KASSERT(t, c.nr == 1, "%zu runs", c.nr);
	KEXPECT_EQ(t, c.r[0].iova, GiB(1));
	KEXPECT_EQ(t, c.r[0].size, GiB(1) + MiB(2) + 0x1000);
	free(c.r);
	tm_fini(&m);
}

static void pt_walk_reports_start_table_with_its_real_size(struct ktest *t)
{
	FIXTURE(t, m, MiB(4));
	struct tpt p;
	struct collect c = { 0 };

	/* S1 4K ias 40: level-0 table of 2 entries, 16 bytes */
	tpt_init(&p, &m, SKHO_STAGE1, 12, 40, 48);
	KEXPECT_EQ(t, enumerate(&p, &c, NULL), 0);
	KEXPECT_EQ(t, c.tables, 1);
	KEXPECT_EQ(t, c.first_table_pa, p.c.root);
	KEXPECT_EQ(t, c.first_table_size, 16);
	KEXPECT_EQ(t, c.first_table_level, 0);
	/* S2 16K ias 40 at level 2: 16 concatenated 16K tables, one report */
	memset(&c, 0, sizeof(c));
	tpt_init_geom(&p, &m, SKHO_STAGE2, 14, 40, 48, 2, 16);
	tpt_map(&p, 0x4000, 0x8000, 3, RW);
	KEXPECT_EQ(t, enumerate(&p, &c, NULL), 0);
	KEXPECT_EQ(t, c.tables, 2);		/* start + one level-3 table */
	KEXPECT_EQ(t, c.first_table_size, 16ULL << 14);
	KEXPECT_EQ(t, c.first_table_level, 2);
	KEXPECT_EQ(t, c.table_bytes, (16ULL << 14) + (1ULL << 14));
	free(c.r);
	tm_fini(&m);
}

static void pt_walk_skips_what_translate_faults_on(struct ktest *t)
{
	FIXTURE(t, m, MiB(4));
	struct tpt p;
	struct collect c = { 0 };
	u64 s;

	tpt_init(&p, &m, SKHO_STAGE1, 12, 39, 40);
	tpt_map(&p, 0x1000, 0x11000, 3, RW);			/* kept */
	s = tpt_map(&p, 0x2000, 0x12000, 3, RW);
	tm_w64(&m, s, tm_r64(&m, s) & ~SMMU_PTE_AF);		/* F_ACCESS */
	tpt_map(&p, 0x3000, 1ULL << 40, 3, RW);			/* F_ADDR_SIZE */
	s = tpt_map(&p, 0x4000, 0x14000, 3, RW);
	tm_w64(&m, s, tm_r64(&m, s) & ~SMMU_PTE_TABLE);		/* L3 0b01 */
	tm_w64(&m, tpt_slot(&p, GiB(1), 1), (1ULL << 40) | 3);	/* table > oas */
	tpt_map(&p, GiB(2), 0, 1, RW);				/* kept */
	KEXPECT_EQ(t, enumerate(&p, &c, NULL), 0);
	KASSERT(t, c.nr == 2, "%zu runs", c.nr);
	KEXPECT_EQ(t, c.r[0].iova, 0x1000);
	KEXPECT_EQ(t, c.r[0].size, 0x1000);
	KEXPECT_EQ(t, c.r[1].iova, GiB(2));
	/* and translate agrees on each skipped one */
	EXPECT_FAULT(t, &p, 0x2000, false, SKHO_F_ACCESS);
	EXPECT_FAULT(t, &p, 0x3000, false, SKHO_F_ADDR_SIZE);
	EXPECT_FAULT(t, &p, 0x4000, false, SKHO_F_TRANSLATION);
	EXPECT_FAULT(t, &p, GiB(1), false, SKHO_F_ADDR_SIZE);
	free(c.r);
	tm_fini(&m);
}

static void pt_walk_contiguous_leaves_stop_at_oas_and_oa_carry(struct ktest *t)
{
	FIXTURE(t, m, MiB(4));
	struct tpt p;
	struct collect c = { 0 };
	u64 s;

	tpt_init(&p, &m, SKHO_STAGE1, 12, 39, 40);
	/* three PA-contiguous pages whose last one reaches 2^40 = oas */
	tpt_map(&p, 0x1000, (1ULL << 40) - 0x2000, 3, RW);
	tpt_map(&p, 0x2000, (1ULL << 40) - 0x1000, 3, RW);
	tpt_map(&p, 0x3000, 1ULL << 40, 3, RW);
	KEXPECT_EQ(t, enumerate(&p, &c, NULL), 0);
	KASSERT(t, c.nr == 1, "%zu runs", c.nr);
	KEXPECT_EQ(t, c.r[0].size, 0x2000);	/* the third is F_ADDR_SIZE */
	EXPECT_FAULT(t, &p, 0x3000, false, SKHO_F_ADDR_SIZE);

	/* oas 48: OA 2^48 - 4K, then the same descriptor + 4K, whose OA field
	 * wrapped to 0 (the carry lands in ignored bit 48): PA 0, a new run */
	free(c.r);
	memset(&c, 0, sizeof(c));
	tpt_init(&p, &m, SKHO_STAGE1, 12, 39, 48);
	s = tpt_map(&p, 0x1000, (1ULL << 48) - 0x1000, 3, RW);
	tm_w64(&m, tpt_slot(&p, 0x2000, 3), tm_r64(&m, s) + 0x1000);
	KEXPECT_EQ(t, enumerate(&p, &c, NULL), 0);
	KASSERT(t, c.nr == 2, "%zu runs", c.nr);
	KEXPECT_EQ(t, c.r[1].iova, 0x2000);
	KEXPECT_EQ(t, c.r[1].pa, 0);
	EXPECT_XLATE(t, &p, 0x2010, 0x10, RW);

	/* the same at 64K with oas 52, where 2^48 itself is a valid OA: the
	 * carry out of descriptor bit 47 must not be read as OA 2^48 */
	free(c.r);
	memset(&c, 0, sizeof(c));
	tpt_init(&p, &m, SKHO_STAGE1, 16, 48, 52);
	tpt_map(&p, 0x10000, (1ULL << 48) - 0x20000, 3, RW);
	s = tpt_map(&p, 0x20000, (1ULL << 48) - 0x10000, 3, RW);
	tm_w64(&m, tpt_slot(&p, 0x30000, 3), tm_r64(&m, s) + 0x10000);
	/* and with the carry right after the first leaf of a run */
	s = tpt_map(&p, 0x100000, (1ULL << 48) - 0x10000, 3, RW);
	tm_w64(&m, tpt_slot(&p, 0x110000, 3), tm_r64(&m, s) + 0x10000);
	KEXPECT_EQ(t, enumerate(&p, &c, NULL), 0);
	KASSERT(t, c.nr == 4, "%zu runs", c.nr);
	KEXPECT_EQ(t, c.r[0].size, 0x20000);
	KEXPECT_EQ(t, c.r[1].pa, 0);
	KEXPECT_EQ(t, c.r[2].size, 0x10000);
	KEXPECT_EQ(t, c.r[3].pa, 0);
	EXPECT_XLATE(t, &p, 0x30010, 0x10, RW);
	EXPECT_XLATE(t, &p, 0x110010, 0x10, RW);
	free(c.r);
	tm_fini(&m);
}

static void pt_walk_s2_prot0_run_faults_permission(struct ktest *t)
{
	FIXTURE(t, m, MiB(4));
	struct tpt p;
	struct collect c = { 0 };

	tpt_init(&p, &m, SKHO_STAGE2, 12, 40, 48);
	tpt_map(&p, 0x1000, 0x11000, 3, 0);
	tpt_map(&p, 0x2000, 0x12000, 3, 0);
	KEXPECT_EQ(t, enumerate(&p, &c, NULL), 0);
	KASSERT(t, c.nr == 1, "%zu runs", c.nr);
	/* mapped, without access: a run of prot 0 */
	KEXPECT_EQ(t, c.r[0].prot, 0);
	KEXPECT_EQ(t, c.r[0].size, 0x2000);
	EXPECT_FAULT(t, &p, 0x1800, false, SKHO_F_PERMISSION);
	free(c.r);
	tm_fini(&m);
}

static void pt_walk_unreadable_table_is_outside(struct ktest *t)
{
	FIXTURE(t, m, MiB(4));
	struct tpt p;
	struct collect c = { 0 };
	struct skho_err e = { 0 };
	u64 hole;

	tpt_init(&p, &m, SKHO_STAGE1, 12, 39, 48);
	tpt_map(&p, 0x1000, 0x11000, 3, RW);
	hole = tm_hole(&m, 4096, 4096);
	tm_w64(&m, tpt_slot(&p, GiB(1), 1), hole | SMMU_PTE_TYPE_TABLE);
	KEXPECT_EQ(t, enumerate(&p, &c, &e), -SKHO_E_OUTSIDE);
	KEXPECT_EQ(t, e.code, -SKHO_E_OUTSIDE);
	KEXPECT_EQ(t, e.addr, hole);
	free(c.r);
	tm_fini(&m);
}

static void pt_walk_bad_geometry_is_pgtable(struct ktest *t)
{
	FIXTURE(t, m, MiB(4));
	struct tpt p;
	struct collect c = { 0 };
	struct skho_err e = { 0 };

	tpt_init(&p, &m, SKHO_STAGE1, 12, 39, 48);
	p.c.nr_concat = 4;
	KEXPECT_EQ(t, enumerate(&p, &c, &e), -SKHO_E_PGTABLE);
	KEXPECT(t, strstr(e.msg, "nr_concat") != NULL, "%s", e.msg);
	p.c.nr_concat = 1;
	p.c.root = 1ULL << 48;		/* beyond oas 48 */
	KEXPECT_EQ(t, enumerate(&p, &c, &e), -SKHO_E_PGTABLE);
	KEXPECT_EQ(t, c.tables, 0);	/* nothing was reported or read */
	free(c.r);
	tm_fini(&m);
}

static void pt_walk_callback_value_stops_walk(struct ktest *t)
{
	FIXTURE(t, m, MiB(4));
	struct tpt p;
	struct collect c = { .stop_after = 2 };
	u64 i;

	tpt_init(&p, &m, SKHO_STAGE1, 12, 39, 48);
	for (i = 0; i < 5; i++)		/* 5 separate runs: IOVA gaps */
		tpt_map(&p, 0x10000 * (i + 1), 0x100000, 3, RW);
	KEXPECT_EQ(t, enumerate(&p, &c, NULL), 7);	/* col_run's value */
	KEXPECT_EQ(t, c.nr, 2);				/* nothing after it */
	free(c.r);
	tm_fini(&m);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void pt_walk_1gib_of_4k_pages_is_one_run(struct ktest *t)
{
	FIXTURE(t, m, MiB(8));
	struct tpt p;
	struct collect c = { 0 };
	u64 i, n = GiB(1) >> 12;
	double t0, dt;

	tpt_init(&p, &m, SKHO_STAGE1, 12, 39, 48);
	for (i = 0; i < n; i++)
		tpt_map(&p, GiB(1) + (i << 12), GiB(9) + (i << 12), 3, RW);
	t0 = now_s();
	KEXPECT_EQ(t, enumerate(&p, &c, NULL), 0);
	dt = now_s() - t0;
	KASSERT(t, c.nr == 1, "%zu runs", c.nr);
	KEXPECT_EQ(t, c.r[0].size, GiB(1));
	/* root + one L2 + 512 L3 tables */
	KEXPECT_EQ(t, c.tables, 514);
	ktest_diag("262144 leaves enumerated in %.3f ms (this build)", dt * 1e3);
	free(c.r);
	tm_fini(&m);
}

/* ---- Random tables: the run invariant against a shadow model ---------- */

static u64 rnd(u64 *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static int run_cmp(const void *a, const void *b)
{
	const struct run *x = a, *y = b;

	return x->iova < y->iova ? -1 : x->iova > y->iova;
}

/* Merge sorted leaves into maximal runs (the expected enumeration). */
static size_t merge_runs(struct run *r, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (o && r[o - 1].iova + r[o - 1].size == r[i].iova &&
		    r[o - 1].pa + r[o - 1].size == r[i].pa &&
		    r[o - 1].prot == r[i].prot)
			r[o - 1].size += r[i].size;
		else
			r[o++] = r[i];
	}
	return o;
}

/* Check one IOVA against the runs: inside one -> OK/PERMISSION, else fault. */
static void check_iova(struct ktest *t, const struct tpt *p,
		       const struct run *r, size_t nr, u64 iova)
{
	size_t lo = 0, hi = nr;
	const struct run *in = NULL;
	unsigned int w;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (iova < r[mid].iova)
			hi = mid;
		else if (iova >= r[mid].iova + r[mid].size)
			lo = mid + 1;
		else {
			in = &r[mid];
			break;
		}
	}
	for (w = 0; w < 2; w++) {
		u64 pa;
		u32 prot;
		enum skho_fault f = xl(p, iova, w, &pa, &prot);

		if (!in) {
			KEXPECT(t, f != SKHO_XLATE_OK, "unmapped 0x%llx translated",
				(unsigned long long)iova);
			continue;
		}
		if (in->prot & (w ? W : R)) {
			KEXPECT(t, f == SKHO_XLATE_OK, "0x%llx %s: %s",
				(unsigned long long)iova, w ? "write" : "read",
				skho_fault_name(f));
		} else {
			KEXPECT(t, f == SKHO_F_PERMISSION, "0x%llx %s: %s",
				(unsigned long long)iova, w ? "write" : "read",
				skho_fault_name(f));
		}
		KEXPECT_EQ(t, pa, in->pa + (iova - in->iova));
		KEXPECT_EQ(t, prot, in->prot);
	}
}

static void random_table_case(struct ktest *t, u64 *rng, u8 stage, u8 g, u8 ias)
{
	struct tmem m;
	struct tpt p;
	struct collect c = { 0 };
	struct run *shadow;
	size_t ns = 0, i, nm, cap = 4096;
	unsigned int bpl = g - 3, block_min = g == 12 ? 1 : 2;
	u64 pa_next = 1ULL << 36, k;

	KASSERT(t, tm_init(&m, MiB(48)));
	shadow = calloc(cap, sizeof(*shadow));
	KASSERT(t, shadow);
	tpt_init(&p, &m, stage, g, ias, 48);
	while (ns < 1500) {
		/* a burst of same-level leaves, mostly IOVA- and PA-adjacent */
		unsigned int lvl = rnd(rng) % 4 ? 3 : block_min + rnd(rng) % (3 - block_min);
		unsigned int sh = g + (3 - lvl) * bpl;
		u64 sz = 1ULL << sh, iova, burst = 1 + rnd(rng) % 24;
		u32 prot = stage == SKHO_STAGE2 ? rnd(rng) % 4 : 1 + rnd(rng) % 2 * 2;

		if (lvl < p.c.start_level || sh >= ias)
			continue;
		/* level 1 blocks are huge: keep them rare */
		if (lvl == 1 && rnd(rng) % 4)
			continue;
		iova = (rnd(rng) & ((1ULL << ias) - 1)) & ~(sz - 1);
		for (k = 0; k < burst && ns < cap; k++, iova += sz) {
			bool clash = false;

			if (iova + sz > (1ULL << ias))
				break;
			for (i = 0; i < ns && !clash; i++)
				clash = iova < shadow[i].iova + shadow[i].size &&
					shadow[i].iova < iova + sz;
			if (clash)
				break;
			if (rnd(rng) % 8 == 0)
				pa_next += sz;		/* a PA hole */
			if (rnd(rng) % 8 == 0)
				prot = stage == SKHO_STAGE2 ? rnd(rng) % 4 :
							      1 + rnd(rng) % 2 * 2;
			pa_next = (pa_next + sz - 1) & ~(sz - 1);
			tpt_map(&p, iova, pa_next, lvl, prot);
			shadow[ns++] = (struct run){ iova, pa_next, sz, prot };
			pa_next += sz;
		}
	}
	qsort(shadow, ns, sizeof(*shadow), run_cmp);
	nm = merge_runs(shadow, ns);

	KEXPECT_EQ(t, enumerate(&p, &c, NULL), 0);
	ktest_diag("S%u %uK ias %u: %zu leaves, %zu runs", stage, 1u << (g - 10),
		   ias, ns, nm);
	/* the walker's runs are exactly the shadow's maximal runs */
	KEXPECT_EQ(t, c.nr, nm);
	for (i = 0; i < c.nr && i < nm; i++) {
		KEXPECT_EQ(t, c.r[i].iova, shadow[i].iova);
		KEXPECT_EQ(t, c.r[i].pa, shadow[i].pa);
		KEXPECT_EQ(t, c.r[i].size, shadow[i].size);
		KEXPECT_EQ(t, c.r[i].prot, shadow[i].prot);
		if (t->failed)
			break;
	}
	/* every page of every run (sampled beyond 4096 pages) translates */
	for (i = 0; i < c.nr && !t->failed; i++) {
		u64 pages = c.r[i].size >> g, j;

		if (pages <= 4096) {
			for (j = 0; j < pages; j++)
				check_iova(t, &p, c.r, c.nr,
					   c.r[i].iova + (j << g) + (rnd(rng) & ((1ULL << g) - 1)));
		} else {
			check_iova(t, &p, c.r, c.nr, c.r[i].iova);
			check_iova(t, &p, c.r, c.nr, c.r[i].iova + c.r[i].size - 1);
			for (j = 0; j < 256; j++)
				check_iova(t, &p, c.r, c.nr,
					   c.r[i].iova + rnd(rng) % c.r[i].size);
		}
	}
	/* a sample of other addresses: inside runs or faulting */
	for (k = 0; k < 20000 && !t->failed; k++)
		check_iova(t, &p, c.r, c.nr, rnd(rng) & ((1ULL << (ias + 1)) - 1));
	free(c.r);
	free(shadow);
	tm_fini(&m);
}

static void pt_walk_random_tables_keep_run_invariant(struct ktest *t)
{
	static const struct { u8 stage, g, ias; } c[] = {
		{ SKHO_STAGE1, 12, 39 }, { SKHO_STAGE1, 12, 48 },
		{ SKHO_STAGE2, 12, 40 }, { SKHO_STAGE1, 14, 47 },
		{ SKHO_STAGE2, 14, 36 }, { SKHO_STAGE1, 16, 48 },
		{ SKHO_STAGE2, 16, 42 },
	};
	u64 rng = t->seed * 0x9e3779b97f4a7c15ULL + 1;
	unsigned int i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]) && !t->failed; i++)
		random_table_case(t, &rng, c[i].stage, c[i].g, c[i].ias);
	if (t->failed)
		ktest_diag("seed 0x%llx", (unsigned long long)t->seed);
}

static void fault_names_are_spec_names(struct ktest *t)
{
	KEXPECT(t, !strcmp(skho_fault_name(SKHO_C_BAD_STE), "C_BAD_STE"), "");
	KEXPECT(t, !strcmp(skho_fault_name(SKHO_F_TRANSLATION), "F_TRANSLATION"), "");
	KEXPECT(t, !strcmp(skho_fault_name(SKHO_C_BAD_SUBSTREAMID),
			   "C_BAD_SUBSTREAMID"), "");
	KEXPECT(t, !strcmp(skho_fault_name(SKHO_F_WALK_EABT), "F_WALK_EABT"), "");
	KEXPECT(t, !strcmp(skho_fault_name(SKHO_XLATE_ABORT), "ABORT"), "");
	KEXPECT(t, !strcmp(skho_fault_name((enum skho_fault)0x55), "UNKNOWN"), "");
}

KTEST_MAIN("walk",
	KTEST_CASE(s1_4k_l3_page_translates_to_pa),
	KTEST_CASE(s1_4k_l2_block_translates_with_offset),
	KTEST_CASE(s1_4k_l1_block_translates_with_offset),
	KTEST_CASE(s1_4k_l0_block_is_f_translation),
	KTEST_CASE(s1_l3_block_encoding_is_f_translation),
	KTEST_CASE(s1_invalid_descriptor_is_f_translation),
	KTEST_CASE(s1_iova_beyond_ias_is_f_translation),
	KTEST_CASE(s1_ap_rdonly_write_faults_permission),
	KTEST_CASE(s1_af_clear_faults_access_unless_ha),
	KTEST_CASE(s1_leaf_oa_beyond_oas_is_f_addr_size),
	KTEST_CASE(s1_table_beyond_oas_is_f_addr_size),
	KTEST_CASE(s1_unreadable_table_is_f_walk_eabt),
	KTEST_CASE(s1_16k_l3_page_and_l2_block_translate),
	KTEST_CASE(s1_16k_l1_block_is_f_translation),
	KTEST_CASE(s1_64k_l3_page_and_l2_block_translate),
	KTEST_CASE(s1_64k_52bit_oa_translates),
	KTEST_CASE(s1_64k_l1_block_needs_52bit_oas),
	KTEST_CASE(s1_short_start_table_translates),
	KTEST_CASE(s2_concatenated_start_tables_translate),
	KTEST_CASE(s2_s2ap_bits_select_read_and_write),
	KTEST_CASE(pt_translate_refuses_inconsistent_geometry),
	KTEST_CASE(cd_decode_derives_linux_geometry),
	KTEST_CASE(cd_decode_ha_or_affd_sets_ha),
	KTEST_CASE(cd_decode_v0_is_invalid_not_error),
	KTEST_CASE(cd_decode_epd0_has_no_table),
	KTEST_CASE(cd_decode_rejects_reserved_and_unsupported_fields),
	KTEST_CASE(ste_decode_rejects_reserved_and_unsupported_fields),
	KTEST_CASE(ste_decode_s2_geometry_from_sl0),
	KTEST_CASE(linear_strtab_sid_beyond_log2size_is_c_bad_streamid),
	KTEST_CASE(s1_stream_write_to_read_only_page_faults_stage1),
	KTEST_CASE(ste_v0_is_c_bad_ste),
	KTEST_CASE(ste_config_reserved_behaves_as_abort),
	KTEST_CASE(ste_config_abort_is_abort_without_event),
	KTEST_CASE(ste_bypass_translates_identity_rw),
	KTEST_CASE(two_level_strtab_locates_ste_for_each_split),
	KTEST_CASE(l1std_span0_is_c_bad_streamid),
	KTEST_CASE(l1std_span_too_small_for_index_is_c_bad_streamid),
	KTEST_CASE(l1std_span_above_split_plus_one_is_c_bad_streamid),
	KTEST_CASE(strtab_fetch_faults_are_f_ste_fetch),
	KTEST_CASE(strtab_base_bits_below_table_size_are_ignored),
	KTEST_CASE(strtab_reserved_split_and_fmt_behave_as_6_and_linear),
	KTEST_CASE(cdmax0_ssv_is_c_bad_substreamid),
	KTEST_CASE(linear_cd_table_selects_cd_by_ssid),
	KTEST_CASE(two_level_cd_tables_select_cd_by_ssid),
	KTEST_CASE(cd_fetch_faults_are_f_cd_fetch),
	KTEST_CASE(s1dss_selects_what_transactions_without_ssid_do),
	KTEST_CASE(cd_epd0_is_f_translation_stage1),
	KTEST_CASE(undecodable_ste_or_cd_is_c_bad),
	KTEST_CASE(reserved_encodings_behave_as_specified),
	KTEST_CASE(hardware_dirty_state_makes_dbm_pages_writable),
	KTEST_CASE(s2ha_and_s2hd_apply_to_stage2),
	KTEST_CASE(s2_stream_faults_report_stage2),
	KTEST_CASE(nested_translate_composes_stages_and_intersects_prot),
	KTEST_CASE(nested_cd_locate_returns_the_cd_pa),
	KTEST_CASE(nested_s1_output_unmapped_in_s2_is_stage2_fault),
	KTEST_CASE(nested_cd_fetch_fault_reports_stage2),
	KTEST_CASE(nested_s1_table_fetch_fault_reports_stage2),
	KTEST_CASE(nested_s1dss_bypass_goes_through_stage2),
	KTEST_CASE(pt_walk_coalesces_contiguous_pages_across_tables),
	KTEST_CASE(pt_walk_splits_runs_on_prot_and_pa_discontinuity),
	KTEST_CASE(pt_walk_coalesces_block_then_pages),
	KTEST_CASE(pt_walk_reports_start_table_with_its_real_size),
	KTEST_CASE(pt_walk_skips_what_translate_faults_on),
	KTEST_CASE(pt_walk_contiguous_leaves_stop_at_oas_and_oa_carry),
	KTEST_CASE(pt_walk_s2_prot0_run_faults_permission),
	KTEST_CASE(pt_walk_unreadable_table_is_outside),
	KTEST_CASE(pt_walk_bad_geometry_is_pgtable),
	KTEST_CASE(pt_walk_callback_value_stops_walk),
	KTEST_CASE(pt_walk_1gib_of_4k_pages_is_one_run),
	KTEST_CASE(pt_walk_random_tables_keep_run_invariant),
	KTEST_CASE(fault_names_are_spec_names),
)
