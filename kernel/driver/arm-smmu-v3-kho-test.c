// SPDX-License-Identifier: GPL-2.0-only
/* KUnit tests of SMMUv3 live update: adoption, refusals, abort, freeze, ASID/VMID, hand-back. */
/*
 * Included at the end of arm-smmu-v3-kho.c (CONFIG_ARM_SMMU_V3_KHO_KUNIT_TEST),
 * so that the static steps of adoption and freeze can be tested one by one.
 *
 * Every test builds the same two streams in real kernel pages, snapshots
 * them with the core exactly as smmu_kho.ko does, and hands the FDT to the
 * step under test:
 *   SID 1  stage 2, VMID 0x5a5, IOVA 0x1000 -> its own data page, RW
 *   SID 3  stage 1 (linear CD table, one CD), ASID 0xfedc, IOVA 0x1000 ->
 *          its own data page, RW
 * in a linear stream table of 16 STEs (SID bits 4) of a fake coherent SMMU.
 * Tables: 4 KiB granule, 32-bit input, start level 1, as io-pgtable-arm
 * builds them; OAS 44 (QEMU's SMMUv3).  The test touches no live SMMU: the
 * fake one is not on the driver's list, and the globals a step uses
 * (kho_out) are saved and restored around it.
 */
#include <kunit/test.h>

#define KHO_TEST_SIDS		16
#define KHO_TEST_SID_S2		1
#define KHO_TEST_SID_S1		3
#define KHO_TEST_VMID		0x5a5
#define KHO_TEST_ASID		0xfedc
#define KHO_TEST_IOVA		0x1000
#define KHO_TEST_OAS		44
#define KHO_TEST_PS		4	/* SMMU_PS_BITS[4] == 44 */
#define KHO_TEST_MMIO		0x9050000

struct kho_test_env {
	struct arm_smmu_device *smmu;
	unsigned long pages[16];	/* every page the test allocated */
	unsigned int nr_pages;
	struct arm_smmu_ste *strtab;
	u64 s1_leaf_pa, s2_leaf_pa;	/* the page descriptors */
	u64 data_pa[2];			/* S2's and S1's data page */
	void *blob;
	size_t blob_len;
	struct skho_handover ho;
	bool asid_free;			/* KHO_TEST_ASID was free at init */
};

static u64 kho_test_page(struct kunit *test, struct kho_test_env *e)
{
	unsigned long va = get_zeroed_page(GFP_KERNEL);

	KUNIT_ASSERT_NE(test, va, 0UL);
	KUNIT_ASSERT_LT(test, e->nr_pages, ARRAY_SIZE(e->pages));
	e->pages[e->nr_pages++] = va;
	return virt_to_phys((void *)va);
}

static void kho_test_w64(u64 pa, u64 v)
{
	WRITE_ONCE(*(__le64 *)phys_to_virt(pa), cpu_to_le64(v));
}

static u64 kho_test_r64(u64 pa)
{
	return le64_to_cpu(READ_ONCE(*(__le64 *)phys_to_virt(pa)));
}

/* A 3-level table (levels 1-3) mapping KHO_TEST_IOVA; returns the root. */
static u64 kho_test_pgtable(struct kunit *test, struct kho_test_env *e,
			    bool stage2, u64 data_pa, u64 *leaf_pa)
{
	u64 root = kho_test_page(test, e), l2 = kho_test_page(test, e);
	u64 l3 = kho_test_page(test, e);
	u64 attrs = stage2 ? SMMU_PTE_AF | SMMU_PTE_S2AP_R | SMMU_PTE_S2AP_W :
			     SMMU_PTE_AF | SMMU_PTE_AP_UNPRIV;

	kho_test_w64(root + ((KHO_TEST_IOVA >> 30) & 511) * 8,
		     l2 | SMMU_PTE_TYPE_TABLE);
	kho_test_w64(l2 + ((KHO_TEST_IOVA >> 21) & 511) * 8,
		     l3 | SMMU_PTE_TYPE_TABLE);
	*leaf_pa = l3 + ((KHO_TEST_IOVA >> 12) & 511) * 8;
	kho_test_w64(*leaf_pa, data_pa | attrs | SMMU_PTE_TYPE_PAGE);
	return root;
}

static void kho_test_put_streams(struct kunit *test, struct kho_test_env *e)
{
	u64 strtab = virt_to_phys(e->strtab);
	u64 s2 = strtab + KHO_TEST_SID_S2 * sizeof(struct arm_smmu_ste);
	u64 s1 = strtab + KHO_TEST_SID_S1 * sizeof(struct arm_smmu_ste);
	u64 cdtab = kho_test_page(test, e), root;

	e->data_pa[0] = kho_test_page(test, e);
	e->data_pa[1] = kho_test_page(test, e);
	/* SID 1: stage 2, as arm_smmu_make_s2_domain_ste() writes it. */
	root = kho_test_pgtable(test, e, true, e->data_pa[0], &e->s2_leaf_pa);
	kho_test_w64(s2 + 16, SKHO_FIELD_PREP(SMMU_STE2_S2VMID, KHO_TEST_VMID) |
		     SKHO_FIELD_PREP(SMMU_STE2_S2T0SZ, 64 - 32) |
		     SKHO_FIELD_PREP(SMMU_STE2_S2SL0, 1) |
		     SKHO_FIELD_PREP(SMMU_STE2_S2TG, SMMU_TG_4K) |
		     SKHO_FIELD_PREP(SMMU_STE2_S2PS, KHO_TEST_PS) |
		     SMMU_STE2_S2AA64 | SMMU_STE2_S2R);
	kho_test_w64(s2 + 24, root & SMMU_STE3_S2TTB);
	kho_test_w64(s2, SMMU_STE0_V |
		     SKHO_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CFG_S2));
	/* SID 3: stage 1, one CD, as arm_smmu_make_s1_cd() writes it. */
	root = kho_test_pgtable(test, e, false, e->data_pa[1], &e->s1_leaf_pa);
	kho_test_w64(cdtab, SKHO_FIELD_PREP(SMMU_CD0_T0SZ, 64 - 32) |
		     SKHO_FIELD_PREP(SMMU_CD0_TG0, SMMU_TG_4K) | SMMU_CD0_EPD1 |
		     SMMU_CD0_V | SKHO_FIELD_PREP(SMMU_CD0_IPS, KHO_TEST_PS) |
		     SMMU_CD0_AA64 |
		     SKHO_FIELD_PREP(SMMU_CD0_ASID, KHO_TEST_ASID));
	kho_test_w64(cdtab + 8, root & SMMU_CD1_TTB0);
	kho_test_w64(s1, SMMU_STE0_V |
		     SKHO_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CFG_S1) |
		     SKHO_FIELD_PREP(SMMU_STE0_S1FMT, SMMU_CD_FMT_LINEAR) |
		     (cdtab & SMMU_STE0_S1CTXPTR));
}

/* What smmu_kho.ko does at FREEZE: snapshot, FDT; then parse it back. */
static int kho_test_snapshot(struct kunit *test, struct kho_test_env *e,
			     bool (*output_ok)(void *arg, u64 pa, u64 size),
			     struct skho_err *err)
{
	static const u32 sids[] = { KHO_TEST_SID_S2, KHO_TEST_SID_S1 };
	struct skho_smmu_state st = {
		.mmio_base = KHO_TEST_MMIO,
		.strtab_base = virt_to_phys(e->strtab),
		.strtab_cfg = FIELD_PREP(STRTAB_BASE_CFG_FMT, STRTAB_BASE_CFG_FMT_LINEAR) |
			      FIELD_PREP(STRTAB_BASE_CFG_LOG2SIZE, 4),
		.features = SKHO_SMMU_F_COHERENT,
		.oas = KHO_TEST_OAS,
		.sids = sids,
		.nr_sids = ARRAY_SIZE(sids),
		.output_ok = output_ok,
	};
	struct skho_snapshot *snap = NULL;
	int ret;

	ret = skho_snapshot_take(&snap, &st, 1, &kho_linear_mem, err);
	if (ret)
		return ret;
	e->blob_len = skho_snapshot_fdt_size(snap);
	e->blob = kunit_kzalloc(test, e->blob_len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, e->blob);
	ret = skho_snapshot_to_fdt(snap, e->blob, e->blob_len, err);
	skho_snapshot_free(snap);
	KUNIT_ASSERT_EQ(test, ret, 0);
	return skho_handover_parse(e->blob, e->blob_len, &e->ho, err);
}

static int kho_test_init(struct kunit *test)
{
	struct kho_test_env *e = kunit_kzalloc(test, sizeof(*e), GFP_KERNEL);
	struct skho_err err = {};
	int ret;

	KUNIT_ASSERT_NOT_NULL(test, e);
	test->priv = e;
	e->smmu = kunit_kzalloc(test, sizeof(*e->smmu), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, e->smmu);
	e->smmu->features = ARM_SMMU_FEAT_COHERENCY;
	e->smmu->sid_bits = 4;
	e->smmu->oas = KHO_TEST_OAS;
	e->smmu->kho.mmio_base = KHO_TEST_MMIO;
	xa_init(&e->smmu->kho.streams);
	xa_init(&e->smmu->kho.page_refs);
	xa_init(&e->smmu->kho.id_refs);
	ida_init(&e->smmu->vmid_map);
	e->strtab = phys_to_virt(kho_test_page(test, e));	/* 16 STEs: 1 KiB */
	e->smmu->strtab_cfg.linear.table = e->strtab;
	e->smmu->strtab_cfg.linear.num_ents = KHO_TEST_SIDS;
	/*
	 * Adoption reserves the handed-over ASID in the driver's global
	 * allocator: it must be free before, and exit gives it back.
	 */
	ret = xa_insert(&arm_smmu_asid_xa, KHO_TEST_ASID, NULL, GFP_KERNEL);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "ASID %#x in use", KHO_TEST_ASID);
	xa_erase(&arm_smmu_asid_xa, KHO_TEST_ASID);
	e->asid_free = true;
	kho_test_put_streams(test, e);
	ret = kho_test_snapshot(test, e, NULL, &err);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "%s: %s", skho_strerror(ret), err.msg);
	return 0;
}

static void kho_test_exit(struct kunit *test)
{
	struct kho_test_env *e = test->priv;
	struct arm_smmu_kho_stream *s;
	unsigned long sid;
	unsigned int i;

	if (!e)
		return;
	if (e->asid_free)
		xa_erase(&arm_smmu_asid_xa, KHO_TEST_ASID);
	skho_handover_release(&e->ho);
	if (e->smmu) {
		xa_for_each(&e->smmu->kho.streams, sid, s)
			kfree(s);
		xa_destroy(&e->smmu->kho.streams);
		xa_destroy(&e->smmu->kho.page_refs);
		xa_destroy(&e->smmu->kho.id_refs);
		if (e->smmu->kho.strtab_pages)
			skho_ranges_free(e->smmu->kho.strtab_pages);
		if (e->smmu->kho.freed)
			skho_ranges_free(e->smmu->kho.freed);
		kfree(e->smmu->kho.strtab_pages);
		kfree(e->smmu->kho.freed);
		ida_destroy(&e->smmu->vmid_map);
	}
	for (i = 0; i < e->nr_pages; i++)
		free_page(e->pages[i]);
}

/* Adoption: the validator's verdicts, recorded as kho_adopt() does. */
static struct kho_verdicts kho_test_validate(struct kunit *test,
					     struct kho_test_env *e)
{
	struct kho_verdicts v = { .smmu = e->smmu };
	struct skho_err err = {};
	int ret;

	ret = skho_handover_validate(&e->ho, 0, &kho_linear_mem, kho_verdict,
				     &v, &err);
	/* It returns how many streams it refused: one verdict each. */
	KUNIT_EXPECT_GE_MSG(test, ret, 0, "%s: %s", skho_strerror(ret), err.msg);
	KUNIT_EXPECT_EQ(test, ret, (int)v.refused);
	return v;
}

static u32 kho_test_in_state(struct kho_test_env *e, u32 sid, s32 *error)
{
	struct arm_smmu_kho_stream *s = xa_load(&e->smmu->kho.streams, sid);

	if (error)
		*error = s ? s->error : 0;
	return s ? s->in_state : ARM_SMMU_KHO_IN_NONE;
}

static bool kho_test_reject(void *arg, u64 pa, u64 size)
{
	return false;
}

static void arm_smmu_kho_test_validate_intact_handover_adopts_every_stream(struct kunit *test)
{
	struct kho_test_env *e = test->priv;
	struct kho_verdicts v = kho_test_validate(test, e);

	/* Both handed-over streams are intact: 2 adopted, none refused. */
	KUNIT_EXPECT_EQ(test, v.adopted, 2);
	KUNIT_EXPECT_EQ(test, v.refused, 0);
	KUNIT_EXPECT_EQ(test, kho_test_in_state(e, KHO_TEST_SID_S2, NULL),
			ARM_SMMU_KHO_IN_ADOPTED);
	KUNIT_EXPECT_EQ(test, kho_test_in_state(e, KHO_TEST_SID_S1, NULL),
			ARM_SMMU_KHO_IN_ADOPTED);
}

static void arm_smmu_kho_test_validate_ste_changed_after_freeze_refuses_ste_lost(struct kunit *test)
{
	struct kho_test_env *e = test->priv;
	u64 w2 = virt_to_phys(&e->strtab[KHO_TEST_SID_S2].data[2]);
	struct kho_verdicts v;
	s32 error;

	kho_test_w64(w2, kho_test_r64(w2) ^ 1);		/* another VMID */
	v = kho_test_validate(test, e);
	/* Only SID 1's STE differs from its record: 1 refused, SID 3 adopted. */
	KUNIT_EXPECT_EQ(test, v.refused, 1);
	KUNIT_EXPECT_EQ(test, v.adopted, 1);
	KUNIT_EXPECT_EQ(test, kho_test_in_state(e, KHO_TEST_SID_S2, &error),
			ARM_SMMU_KHO_IN_REFUSED);
	KUNIT_EXPECT_EQ(test, error, -SKHO_E_STE_LOST);
	KUNIT_EXPECT_EQ(test, kho_test_in_state(e, KHO_TEST_SID_S1, NULL),
			ARM_SMMU_KHO_IN_ADOPTED);
}

static void arm_smmu_kho_test_validate_leaf_changed_after_freeze_refuses_digest(struct kunit *test)
{
	struct kho_test_env *e = test->priv;
	struct kho_verdicts v;
	s32 error;

	/* Same page, now read-only: the STE is intact, the translation is not. */
	kho_test_w64(e->s1_leaf_pa, kho_test_r64(e->s1_leaf_pa) | SMMU_PTE_AP_RDONLY);
	v = kho_test_validate(test, e);
	/* Only SID 3 maps the changed leaf: 1 refused, SID 1 adopted. */
	KUNIT_EXPECT_EQ(test, v.refused, 1);
	KUNIT_EXPECT_EQ(test, v.adopted, 1);
	KUNIT_EXPECT_EQ(test, kho_test_in_state(e, KHO_TEST_SID_S1, &error),
			ARM_SMMU_KHO_IN_REFUSED);
	KUNIT_EXPECT_EQ(test, error, -SKHO_E_DIGEST);
}

static void arm_smmu_kho_test_validate_unproven_output_refuses_output(struct kunit *test)
{
	struct kho_test_env *e = test->priv;
	struct kho_verdicts v;
	s32 error;

	/* I5: what kho_adopt() does when kho_is_restorable() proves nothing. */
	KUNIT_ASSERT_EQ(test, skho_ranges_filter(&e->ho.smmu[0].outputs,
						 SKHO_ABI_PAGE_SHIFT,
						 kho_test_reject, NULL), 0);
	v = kho_test_validate(test, e);
	/* Each stream maps one page that is no longer an output: 2 refused. */
	KUNIT_EXPECT_EQ(test, v.refused, 2);
	KUNIT_EXPECT_EQ(test, v.adopted, 0);
	kho_test_in_state(e, KHO_TEST_SID_S2, &error);
	KUNIT_EXPECT_EQ(test, error, -SKHO_E_OUTPUT);
	kho_test_in_state(e, KHO_TEST_SID_S1, &error);
	KUNIT_EXPECT_EQ(test, error, -SKHO_E_OUTPUT);
}

static void arm_smmu_kho_test_snapshot_of_unpreserved_output_fails_output(struct kunit *test)
{
	struct kho_test_env *e = test->priv;
	struct skho_err err = {};

	skho_handover_release(&e->ho);
	/* FREEZE when kho_is_preserved() refuses the data pages. */
	KUNIT_EXPECT_EQ(test, kho_test_snapshot(test, e, kho_test_reject, &err),
			-SKHO_E_OUTPUT);
	/* The first stream in SID order names the page: SID 1's data page. */
	KUNIT_EXPECT_EQ(test, err.sid, KHO_TEST_SID_S2);
	KUNIT_EXPECT_EQ(test, err.addr, e->data_pa[0]);
}

static void arm_smmu_kho_test_refused_instance_refuses_every_stream(struct kunit *test)
{
	struct kho_test_env *e = test->priv;
	s32 error;

	kho_refuse_all(e->smmu, &e->ho.smmu[0], -SKHO_E_SMMU);
	/* Both streams of the instance carry the instance's error. */
	KUNIT_EXPECT_EQ(test, kho_test_in_state(e, KHO_TEST_SID_S2, &error),
			ARM_SMMU_KHO_IN_REFUSED);
	KUNIT_EXPECT_EQ(test, error, -SKHO_E_SMMU);
	KUNIT_EXPECT_EQ(test, kho_test_in_state(e, KHO_TEST_SID_S1, &error),
			ARM_SMMU_KHO_IN_REFUSED);
	KUNIT_EXPECT_EQ(test, error, -SKHO_E_SMMU);
	KUNIT_EXPECT_EQ(test, e->smmu->kho.error, -SKHO_E_SMMU);
}

static unsigned int kho_test_nr_abort(struct kho_test_env *e)
{
	unsigned int i, n = 0;

	for (i = 0; i < KHO_TEST_SIDS; i++)
		n += kho_ste_is_abort(&e->strtab[i]);
	return n;
}

static void arm_smmu_kho_test_install_strtab_aborts_every_ste_not_adopted(struct kunit *test)
{
	struct kho_test_env *e = test->priv;
	struct arm_smmu_ste s2 = e->strtab[KHO_TEST_SID_S2];
	struct arm_smmu_ste s1 = e->strtab[KHO_TEST_SID_S1];

	kho_test_validate(test, e);
	KUNIT_ASSERT_EQ(test, kho_install_strtab(e->smmu, &e->ho.smmu[0]), 0);
	/* I2: 16 STEs, 2 adopted: the other 14 are abort. */
	KUNIT_EXPECT_EQ(test, kho_test_nr_abort(e), KHO_TEST_SIDS - 2);
	/* I1: the adopted STEs are not written. */
	KUNIT_EXPECT_MEMEQ(test, &e->strtab[KHO_TEST_SID_S2], &s2, sizeof(s2));
	KUNIT_EXPECT_MEMEQ(test, &e->strtab[KHO_TEST_SID_S1], &s1, sizeof(s1));
	/* The table is adopted in place, at the handed-over address. */
	KUNIT_EXPECT_EQ(test, e->smmu->strtab_cfg.linear.ste_dma,
			virt_to_phys(e->strtab));
#ifdef CONFIG_ARM_SMMU_V3_KHO_TEST
	/* All 14 were V=0 (never abort) when handed over: all rewritten. */
	KUNIT_EXPECT_EQ(test, e->smmu->kho.nr_abort, KHO_TEST_SIDS - 2);
	KUNIT_EXPECT_EQ(test, e->smmu->kho.nr_abort_rewritten, KHO_TEST_SIDS - 2);
#endif
}

static void arm_smmu_kho_test_install_strtab_of_refused_stream_aborts_it(struct kunit *test)
{
	struct kho_test_env *e = test->priv;

	kho_test_w64(e->s1_leaf_pa, kho_test_r64(e->s1_leaf_pa) | SMMU_PTE_AP_RDONLY);
	kho_test_validate(test, e);
	KUNIT_ASSERT_EQ(test, kho_install_strtab(e->smmu, &e->ho.smmu[0]), 0);
	/* SID 3 was refused: only SID 1 keeps its STE, 15 abort. */
	KUNIT_EXPECT_EQ(test, kho_test_nr_abort(e), KHO_TEST_SIDS - 1);
	KUNIT_EXPECT_TRUE(test, kho_ste_is_abort(&e->strtab[KHO_TEST_SID_S1]));
	KUNIT_EXPECT_FALSE(test, kho_ste_is_abort(&e->strtab[KHO_TEST_SID_S2]));
}

static void arm_smmu_kho_test_install_strtab_reserves_adopted_asid_and_vmid(struct kunit *test)
{
	struct kho_test_env *e = test->priv;
	int ret;

	/* The ASID was free (kho_test_init); adoption takes it and the VMID. */
	kho_test_validate(test, e);
	KUNIT_ASSERT_EQ(test, kho_install_strtab(e->smmu, &e->ho.smmu[0]), 0);
	/* I4: the handover lists 1 ASID (SID 3) and 1 VMID (SID 1), both taken. */
	KUNIT_EXPECT_EQ(test, e->ho.smmu[0].nr_asids, 1);
	KUNIT_EXPECT_EQ(test, e->ho.smmu[0].nr_vmids, 1);
	ret = xa_insert(&arm_smmu_asid_xa, KHO_TEST_ASID, NULL, GFP_KERNEL);
	KUNIT_EXPECT_EQ(test, ret, -EBUSY);
	ret = ida_alloc_range(&e->smmu->vmid_map, KHO_TEST_VMID, KHO_TEST_VMID,
			      GFP_KERNEL);
	KUNIT_EXPECT_EQ(test, ret, -ENOSPC);
}

static void arm_smmu_kho_test_defer_ste_of_adopted_stream_until_release(struct kunit *test)
{
	struct kho_test_env *e = test->priv;
	struct arm_smmu_ste target = {};
	struct arm_smmu_kho_stream *s;

	kho_test_validate(test, e);
	arm_smmu_make_abort_ste(&target);
	/* I1: the driver's write for an adopted SID is recorded, not done. */
	KUNIT_EXPECT_TRUE(test, arm_smmu_kho_defer_ste(e->smmu, KHO_TEST_SID_S2,
						       &target));
	s = xa_load(&e->smmu->kho.streams, KHO_TEST_SID_S2);
	KUNIT_ASSERT_NOT_NULL(test, s);
	KUNIT_EXPECT_TRUE(test, s->pending);
	KUNIT_EXPECT_MEMEQ(test, &s->target, &target, sizeof(target));
	/* A SID nobody handed over is written as usual. */
	KUNIT_EXPECT_FALSE(test, arm_smmu_kho_defer_ste(e->smmu, 2, &target));
}

static void arm_smmu_kho_test_freeze_tables_aborts_streams_not_preserved(struct kunit *test)
{
	struct kho_test_env *e = test->priv;
	struct arm_smmu_ste s2 = e->strtab[KHO_TEST_SID_S2];
	struct arm_smmu_kho_stream *s = kho_stream(e->smmu, KHO_TEST_SID_S2, true);

	KUNIT_ASSERT_NOT_NULL(test, s);
	s->out = true;		/* only SID 1 is preserved */
	kho_freeze_tables(e->smmu);
	/* 16 STEs, 1 preserved: 15 abort, SID 3 included; SID 1 untouched. */
	KUNIT_EXPECT_EQ(test, kho_test_nr_abort(e), KHO_TEST_SIDS - 1);
	KUNIT_EXPECT_MEMEQ(test, &e->strtab[KHO_TEST_SID_S2], &s2, sizeof(s2));
}

static void arm_smmu_kho_test_freeze_tables_detaches_l2_without_preserved_stream(struct kunit *test)
{
	struct kho_test_env *e = test->priv;
	struct arm_smmu_strtab_cfg *cfg = &e->smmu->strtab_cfg;
	struct arm_smmu_kho_stream *s;
	unsigned int i, j, n = 0;

	/* Two L2 tables of 256 STEs; SID 5 (in the first) is preserved. */
	e->smmu->features |= ARM_SMMU_FEAT_2_LVL_STRTAB;
	cfg->l2.num_l1_ents = 2;
	cfg->l2.l1tab = kunit_kcalloc(test, 2, sizeof(*cfg->l2.l1tab), GFP_KERNEL);
	cfg->l2.l2ptrs = kunit_kcalloc(test, 2, sizeof(*cfg->l2.l2ptrs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, cfg->l2.l1tab);
	KUNIT_ASSERT_NOT_NULL(test, cfg->l2.l2ptrs);
	for (i = 0; i < 2; i++) {
		cfg->l2.l2ptrs[i] = kunit_kzalloc(test, sizeof(*cfg->l2.l2ptrs[i]),
						  GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, cfg->l2.l2ptrs[i]);
		cfg->l2.l1tab[i].l2ptr = cpu_to_le64(virt_to_phys(cfg->l2.l2ptrs[i]) |
						     (STRTAB_SPLIT + 1));
	}
	s = kho_stream(e->smmu, 5, true);
	KUNIT_ASSERT_NOT_NULL(test, s);
	s->out = true;
	kho_freeze_tables(e->smmu);
	for (i = 0; i < 2; i++)
		for (j = 0; j < STRTAB_NUM_L2_STES; j++)
			n += kho_ste_is_abort(&cfg->l2.l2ptrs[i]->stes[j]);
	/* 512 STEs, 1 preserved: 511 abort. */
	KUNIT_EXPECT_EQ(test, n, 2 * STRTAB_NUM_L2_STES - 1);
	/* The second L2 holds no preserved stream: its memory is not handed over. */
	KUNIT_EXPECT_EQ(test, le64_to_cpu(cfg->l2.l1tab[1].l2ptr), 0);
	KUNIT_EXPECT_NE(test, le64_to_cpu(cfg->l2.l1tab[0].l2ptr), 0);
}

/*
 * I7, the freeze contract at shutdown: the frozen handover is checked
 * against live memory, with the data pages preserved through KHO as their
 * owner would (needs kho=on).
 */
static void kho_test_shutdown_check(struct kunit *test, bool change)
{
	struct kho_test_env *e = test->priv;
	typeof(kho_out) saved = kho_out;
	struct arm_smmu_kho_stream *s;
	unsigned int i, kept = 0;
	int ret;

	for (i = 0; i < 2; i++) {
		ret = kho_preserve_pages(phys_to_page(e->data_pa[i]), 1);
		KUNIT_ASSERT_EQ_MSG(test, ret, 0, "kho_preserve_pages: boot with kho=on");
	}
	for (i = 0; i < 2; i++) {
		s = kho_stream(e->smmu, i ? KHO_TEST_SID_S1 : KHO_TEST_SID_S2, true);
		KUNIT_ASSERT_NOT_NULL(test, s);
		s->out = true;
	}
	if (change)	/* SID 3 maps the page read-only after the freeze */
		kho_test_w64(e->s1_leaf_pa,
			     kho_test_r64(e->s1_leaf_pa) | SMMU_PTE_AP_RDONLY);
	kho_out.blob = e->blob;
	kho_out.len = e->blob_len;
	kho_check_outgoing(e->smmu);
	kho_out = saved;
	for (i = 0; i < 2; i++)
		kho_unpreserve_pages(phys_to_page(e->data_pa[i]), 1);
	kept += ((struct arm_smmu_kho_stream *)xa_load(&e->smmu->kho.streams,
							KHO_TEST_SID_S2))->out;
	s = xa_load(&e->smmu->kho.streams, KHO_TEST_SID_S1);
	kept += s->out;
	/* Unchanged: both kept.  Changed: SID 3 dropped (aborts at freeze). */
	KUNIT_EXPECT_EQ(test, kept, change ? 1 : 2);
	KUNIT_EXPECT_EQ(test, s->out, !change);
}

static void arm_smmu_kho_test_shutdown_check_keeps_unchanged_streams(struct kunit *test)
{
	kho_test_shutdown_check(test, false);
}

static void arm_smmu_kho_test_shutdown_check_drops_stream_changed_after_freeze(struct kunit *test)
{
	kho_test_shutdown_check(test, true);
}

static unsigned int kho_test_nr_refs(struct xarray *xa, unsigned long want)
{
	unsigned long key;
	unsigned int n = 0;
	void *v;

	xa_for_each(xa, key, v)
		n += xa_to_value(v) == want;
	return n;
}

static void arm_smmu_kho_test_count_adopted_counts_table_pages_per_stream(struct kunit *test)
{
	struct kho_test_env *e = test->priv;
	u64 strtab = virt_to_phys(e->strtab);

	kho_test_validate(test, e);
	KUNIT_ASSERT_EQ(test, kho_install_strtab(e->smmu, &e->ho.smmu[0]), 0);
	/* Nothing is walked at boot: counting waits for the first RELEASE. */
	KUNIT_EXPECT_EQ(test, kho_test_nr_refs(&e->smmu->kho.page_refs, 1), 0);
	kho_count_adopted(e->smmu);	/* what the first RELEASE does */
	/*
	 * I8: SID 1 has 3 page-table pages, SID 3 its CD table and 3: 7
	 * pages, one reference each.  The stream table is kept, not counted.
	 */
	KUNIT_EXPECT_EQ(test, kho_test_nr_refs(&e->smmu->kho.page_refs, 1), 7);
	KUNIT_EXPECT_NULL(test, xa_load(&e->smmu->kho.page_refs, PHYS_PFN(strtab)));
	/* One ASID (SID 3) and one VMID (SID 1), one reference each. */
	KUNIT_EXPECT_EQ(test, kho_test_nr_refs(&e->smmu->kho.id_refs, 1), 2);
	KUNIT_EXPECT_NOT_NULL(test, xa_load(&e->smmu->kho.id_refs,
					    KHO_ID_ASID | KHO_TEST_ASID));
	KUNIT_EXPECT_NOT_NULL(test, xa_load(&e->smmu->kho.id_refs,
					    KHO_ID_VMID | KHO_TEST_VMID));
}

/* Drop SID 1's references once; returns how many pages reached zero. */
static unsigned int kho_test_drop_s2(struct kunit *test, struct kho_test_env *e,
				     struct kho_refs *r)
{
	struct arm_smmu_kho_stream *s = xa_load(&e->smmu->kho.streams,
						KHO_TEST_SID_S2);
	struct page *page, *tmp;
	unsigned int n = 0;

	KUNIT_ASSERT_NOT_NULL(test, s);
	*r = (struct kho_refs){ .delta = -1 };
	KUNIT_ASSERT_EQ(test, kho_ref_stream(e->smmu, r, KHO_TEST_SID_S2,
					     &s->adopted), 0);
	/* The test's pages are freed by kho_test_exit(), not given back. */
	list_for_each_entry_safe(page, tmp, &r->pages, lru) {
		list_del_init(&page->lru);
		n++;
	}
	return n;
}

static void arm_smmu_kho_test_release_of_last_user_gives_back_its_pages_and_vmid(struct kunit *test)
{
	struct kho_test_env *e = test->priv;
	struct kho_refs r;

	kho_test_validate(test, e);
	KUNIT_ASSERT_EQ(test, kho_install_strtab(e->smmu, &e->ho.smmu[0]), 0);
	kho_count_adopted(e->smmu);	/* what the first RELEASE does */
	/* SID 1's 3 page-table pages and its VMID have no other user. */
	KUNIT_EXPECT_EQ(test, kho_test_drop_s2(test, e, &r), 3);
	KUNIT_EXPECT_EQ(test, r.nr_ids, 1);
	KUNIT_EXPECT_EQ(test, r.ids[0], KHO_ID_VMID | KHO_TEST_VMID);
	/* SID 3's CD table and 3 pages keep their one reference. */
	KUNIT_EXPECT_EQ(test, kho_test_nr_refs(&e->smmu->kho.page_refs, 1), 4);
}

static void arm_smmu_kho_test_release_of_shared_tables_waits_for_the_last_user(struct kunit *test)
{
	struct kho_test_env *e = test->priv;
	struct arm_smmu_kho_stream *s;
	struct kho_refs r = { .delta = 1 };

	kho_test_validate(test, e);
	KUNIT_ASSERT_EQ(test, kho_install_strtab(e->smmu, &e->ho.smmu[0]), 0);
	kho_count_adopted(e->smmu);	/* what the first RELEASE does */
	/* A second user of SID 1's tables, as a vm-bench copy of its STE. */
	s = xa_load(&e->smmu->kho.streams, KHO_TEST_SID_S2);
	KUNIT_ASSERT_NOT_NULL(test, s);
	KUNIT_ASSERT_EQ(test, kho_ref_stream(e->smmu, &r, KHO_TEST_SID_S2,
					     &s->adopted), 0);
	/* First release: the other user remains, nothing reaches zero. */
	KUNIT_EXPECT_EQ(test, kho_test_drop_s2(test, e, &r), 0);
	KUNIT_EXPECT_EQ(test, r.nr_ids, 0);
	/* Second: the 3 pages and the VMID do. */
	KUNIT_EXPECT_EQ(test, kho_test_drop_s2(test, e, &r), 3);
	KUNIT_EXPECT_EQ(test, r.nr_ids, 1);
}

/* SID 1's STE with the VMID and S2TTB of another stage-2 domain. */
static struct arm_smmu_ste kho_test_other_s2(struct kho_test_env *e)
{
	struct arm_smmu_ste t = e->strtab[KHO_TEST_SID_S2];

	t.data[2] ^= cpu_to_le64(FIELD_PREP(STRTAB_STE_2_S2VMID, 0x11));
	t.data[3] ^= cpu_to_le64(0x10000);
	return t;
}

static void arm_smmu_kho_test_hitless_order_s2_to_s2_stores_s2ttb_then_vmid(struct kunit *test)
{
	struct kho_test_env *e = test->priv;
	struct arm_smmu_ste tgt = kho_test_other_s2(e);
	u8 order[STRTAB_STE_DWORDS];
	char why[128];

	/* Two used qwords change: S2TTB first (old VMID, same tables), VMID last. */
	KUNIT_ASSERT_EQ(test, kho_hitless_order(&e->strtab[KHO_TEST_SID_S2], &tgt,
						order, why, sizeof(why)), 2);
	KUNIT_EXPECT_EQ(test, order[0], 3);
	KUNIT_EXPECT_EQ(test, order[1], 2);
}

static void arm_smmu_kho_test_hitless_order_one_qword_change_is_one_store(struct kunit *test)
{
	struct kho_test_env *e = test->priv;
	struct arm_smmu_ste tgt = e->strtab[KHO_TEST_SID_S1];
	u8 order[STRTAB_STE_DWORDS];
	char why[128];

	/* Another CD table: S1ContextPtr is in qword 0 only. */
	tgt.data[0] ^= cpu_to_le64(0x1000);
	KUNIT_ASSERT_EQ(test, kho_hitless_order(&e->strtab[KHO_TEST_SID_S1], &tgt,
						order, why, sizeof(why)), 1);
	KUNIT_EXPECT_EQ(test, order[0], 0);
}

static void arm_smmu_kho_test_hitless_order_s2_geometry_change_is_refused(struct kunit *test)
{
	struct kho_test_env *e = test->priv;
	struct arm_smmu_ste tgt = kho_test_other_s2(e);
	u8 order[STRTAB_STE_DWORDS];
	char why[128];

	/* Another S2T0SZ: the new S2TTB under the old geometry walks wrong. */
	tgt.data[2] ^= cpu_to_le64(FIELD_PREP(STRTAB_STE_2_VTCR, 1));
	KUNIT_EXPECT_EQ(test, kho_hitless_order(&e->strtab[KHO_TEST_SID_S2], &tgt,
						order, why, sizeof(why)), -EXDEV);
}

static void arm_smmu_kho_test_hitless_order_s1_to_s2_is_refused(struct kunit *test)
{
	struct kho_test_env *e = test->priv;
	u8 order[STRTAB_STE_DWORDS];
	char why[128];

	/* Config, context pointer, VMID and S2TTB all change: no order works. */
	KUNIT_EXPECT_EQ(test, kho_hitless_order(&e->strtab[KHO_TEST_SID_S1],
						&e->strtab[KHO_TEST_SID_S2],
						order, why, sizeof(why)), -EXDEV);
	KUNIT_EXPECT_NE(test, why[0], 0);
}

static struct kunit_case arm_smmu_kho_test_cases[] = {
	KUNIT_CASE(arm_smmu_kho_test_validate_intact_handover_adopts_every_stream),
	KUNIT_CASE(arm_smmu_kho_test_validate_ste_changed_after_freeze_refuses_ste_lost),
	KUNIT_CASE(arm_smmu_kho_test_validate_leaf_changed_after_freeze_refuses_digest),
	KUNIT_CASE(arm_smmu_kho_test_validate_unproven_output_refuses_output),
	KUNIT_CASE(arm_smmu_kho_test_snapshot_of_unpreserved_output_fails_output),
	KUNIT_CASE(arm_smmu_kho_test_refused_instance_refuses_every_stream),
	KUNIT_CASE(arm_smmu_kho_test_install_strtab_aborts_every_ste_not_adopted),
	KUNIT_CASE(arm_smmu_kho_test_install_strtab_of_refused_stream_aborts_it),
	KUNIT_CASE(arm_smmu_kho_test_install_strtab_reserves_adopted_asid_and_vmid),
	KUNIT_CASE(arm_smmu_kho_test_defer_ste_of_adopted_stream_until_release),
	KUNIT_CASE(arm_smmu_kho_test_freeze_tables_aborts_streams_not_preserved),
	KUNIT_CASE(arm_smmu_kho_test_freeze_tables_detaches_l2_without_preserved_stream),
	KUNIT_CASE(arm_smmu_kho_test_shutdown_check_keeps_unchanged_streams),
	KUNIT_CASE(arm_smmu_kho_test_shutdown_check_drops_stream_changed_after_freeze),
	KUNIT_CASE(arm_smmu_kho_test_count_adopted_counts_table_pages_per_stream),
	KUNIT_CASE(arm_smmu_kho_test_release_of_last_user_gives_back_its_pages_and_vmid),
	KUNIT_CASE(arm_smmu_kho_test_release_of_shared_tables_waits_for_the_last_user),
	KUNIT_CASE(arm_smmu_kho_test_hitless_order_s2_to_s2_stores_s2ttb_then_vmid),
	KUNIT_CASE(arm_smmu_kho_test_hitless_order_one_qword_change_is_one_store),
	KUNIT_CASE(arm_smmu_kho_test_hitless_order_s2_geometry_change_is_refused),
	KUNIT_CASE(arm_smmu_kho_test_hitless_order_s1_to_s2_is_refused),
	{},
};

static struct kunit_suite arm_smmu_kho_test_suite = {
	.name = "arm-smmu-v3-kho",
	.init = kho_test_init,
	.exit = kho_test_exit,
	.test_cases = arm_smmu_kho_test_cases,
};

kunit_test_suites(&arm_smmu_kho_test_suite);
