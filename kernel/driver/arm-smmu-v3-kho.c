// SPDX-License-Identifier: GPL-2.0-only
/* SMMUv3 live update over KHO: freeze preserved streams at kexec, adopt them at probe. */
/*
 * Outgoing kernel: smmu_kho.ko marks the streams to preserve
 * (arm_smmu_kho_mark), snapshots their tables and hands them over through
 * KHO.  At shutdown, instead of disabling the SMMU, arm_smmu_kho_freeze()
 * turns every other STE into an abort STE and drops L1 descriptors of L2
 * tables that hold no preserved stream; the caller then syncs the SMMU and
 * turns its queues off, leaving SMMUEN=1 across the jump.
 *
 * Incoming kernel: arm_smmu_kho_probe() finds the handover for this SMMU
 * (keyed by MMIO base), restores its pages from KHO and validates it with
 * the portable core; arm_smmu_kho_init_strtab() then installs the previous
 * stream table in place of a fresh one and arm_smmu_device_reset() re-arms
 * the queues without ever clearing SMMUEN.  Adopted streams keep their
 * translation: STE writes for them are deferred (arm_smmu_kho_defer_ste)
 * until smmu_kho.ko releases the device.
 *
 * Invariants (docs/kernel.md):
 *  I1. An STE of an adopted SID is only written by arm_smmu_kho_release().
 *  I2. Every STE in an adopted table that is not an adopted SID is abort.
 *  I3. Nothing the handover references is read before its range has been
 *      restored from KHO; the validator is fenced to those ranges.
 *  I4. ASIDs and VMIDs of adopted streams are reserved before any domain
 *      can allocate one.
 *  I5. An adopted stream maps only pages this kernel proved preserved by
 *      KHO (kho_is_restorable) and listed in output-ranges, none of them a
 *      table page; a stream that maps anything else is refused (abort).
 *  I6. A quarantined stream's STE is abort; only arm_smmu_kho_release()
 *      writes it again, with the driver's own domain.
 *  I7. At shutdown, the last moment before the jump, the outgoing handover
 *      is validated against live memory with the same validator the next
 *      kernel runs (outputs proven by kho_is_preserved): a stream whose
 *      STE or translation differs from its frozen record becomes abort.
 *  I8. An adopted stream leaves its tables only for a domain that
 *      translates every IOVA of them the same (skho_xlat_same), by single
 *      64-bit STE stores each leaving a valid STE that translates the same,
 *      unless its owner asks to replace it.  A table page, ASID or VMID of
 *      the previous kernel is given back only once no adopted stream uses
 *      it and the SMMU's caches of it are invalidated.
 */
#define pr_fmt(fmt) "arm-smmu-v3-kho: " fmt

#include <linux/dma-map-ops.h>
#include <linux/kexec.h>
#include <linux/kexec_handover.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#ifdef CONFIG_ARM_SMMU_V3_KHO_TEST
#include <linux/delay.h>
#include <linux/ktime.h>
#endif /* CONFIG_ARM_SMMU_V3_KHO_TEST */

#include "arm-smmu-v3.h"
#include "skho_handover.h"
#include "skho_xlat_same.h"

struct arm_smmu_kho_stream {
	u8 in_state;			/* enum arm_smmu_kho_in_state */
	bool out;			/* preserve at the next kexec */
	bool pending;			/* @target holds a deferred STE */
	bool write_through;		/* I6: the quarantine's own abort STE */
	bool shut_refused;		/* I7 refused it: abort, but still listed */
	bool counted;			/* I8: its tables hold references */
	s32 error;
	u32 events;
	struct arm_smmu_ste target;
	struct arm_smmu_ste adopted;	/* the STE handed over, as validated */
};

#ifdef CONFIG_ARM_SMMU_V3_KHO_TEST
static struct {
	unsigned int break_ms;		/* hand back through a V=0 window */
	bool keep_old_tables;		/* give nothing back */
} kho_test;
#endif /* CONFIG_ARM_SMMU_V3_KHO_TEST */

static LIST_HEAD(arm_smmu_kho_list);
static DEFINE_MUTEX(arm_smmu_kho_lock);

/* The handover smmu_kho.ko froze, for the check at shutdown (I7). */
static struct {
	const void *blob;
	size_t len;
} kho_out;

/* The handover this kernel was given, parsed once. */
static struct {
	bool tried;
	bool parsed;
	const void *blob;
	size_t len;
	struct skho_handover ho;
	int error;			/* why a present handover was refused */
	char why[128];
} kho_in;

static const void *kho_map_linear(void *priv, u64 pa, u64 len)
{
	if (!len || pa + len - 1 < pa)
		return NULL;
	if (!pfn_valid(PHYS_PFN(pa)) || !pfn_valid(PHYS_PFN(pa + len - 1)))
		return NULL;
	return phys_to_virt(pa);
}

/* Reads of a live table: invalidate stale lines first on a non-coherent SMMU. */
static const void *kho_map_live(void *priv, u64 pa, u64 len)
{
	const void *va = kho_map_linear(NULL, pa, len);

	if (va)
		arm_smmu_kho_sync_for_cpu(pa, len, *(const bool *)priv);
	return va;
}

static void kho_in_refuse(int error, const char *fmt, const char *detail)
{
	kho_in.error = error;
	snprintf(kho_in.why, sizeof(kho_in.why), fmt, detail);
	pr_err("handover refused: %s\n", kho_in.why);
}

static const struct skho_mem kho_linear_mem = { .map = kho_map_linear };

/* Pages of the handover blob are restored once; a bad blob is ignored. */
static bool kho_in_load(void)
{
	struct skho_err err = {};
	struct folio *folio;
	phys_addr_t phys;
	size_t len;
	int ret;

	if (kho_in.tried)
		return kho_in.parsed;
	kho_in.tried = true;
	if (kho_retrieve_subtree(SKHO_KHO_NAME, &phys, &len))
		return false;
	if (!len || len > SZ_16M) {
		kho_in_refuse(-SKHO_E_FDT, "blob of %s bytes (1..16 MiB accepted)",
			      len ? "more than 16 Mi" : "0");
		return false;
	}
	/* Ask first: kho_restore_folio() WARNs on memory KHO did not preserve. */
	if (!kho_is_restorable(phys, len)) {
		kho_in_refuse(-SKHO_E_OUTSIDE, "%s", "blob not preserved by KHO");
		return false;
	}
	folio = kho_restore_folio(phys);
	if (!folio || folio_size(folio) < len) {
		kho_in_refuse(-SKHO_E_OUTSIDE, "%s", "blob not a preserved folio of its size");
		return false;
	}
	ret = skho_handover_parse(folio_address(folio), len, &kho_in.ho, &err);
	if (ret) {
		kho_in.error = ret;
		snprintf(kho_in.why, sizeof(kho_in.why), "%s: %s",
			 skho_strerror(ret), err.msg);
		pr_err("handover refused: %s\n", kho_in.why);
		return false;
	}
	kho_in.blob = folio_address(folio);
	kho_in.len = len;
	kho_in.parsed = true;
	return true;
}

static struct arm_smmu_kho_stream *kho_stream(struct arm_smmu_device *smmu,
					      u32 sid, bool create)
{
	struct arm_smmu_kho_stream *s = xa_load(&smmu->kho.streams, sid);

	if (s || !create)
		return s;
	s = kzalloc_obj(*s);
	if (!s)
		return NULL;
	if (xa_err(xa_store(&smmu->kho.streams, sid, s, GFP_KERNEL))) {
		kfree(s);
		return NULL;
	}
	return s;
}

struct kho_verdicts {
	struct arm_smmu_device *smmu;
	unsigned int adopted, refused;
};

static void kho_verdict(void *arg, u32 sid, const struct skho_err *why)
{
	struct kho_verdicts *v = arg;
	struct arm_smmu_kho_stream *s = kho_stream(v->smmu, sid, true);

	if (why) {
		pr_err("SID %#x refused, its STE becomes abort: %s: %s\n", sid,
		       skho_strerror(why->code), why->msg);
		v->refused++;
	} else {
		v->adopted++;
	}
	if (!s)
		return;	/* not tracked: it is aborted like any unknown SID */
	s->in_state = why ? ARM_SMMU_KHO_IN_REFUSED : ARM_SMMU_KHO_IN_ADOPTED;
	s->error = why ? why->code : 0;
}

/* The instance as a whole was refused: every stream it handed over is. */
static void kho_refuse_all(struct arm_smmu_device *smmu,
			   const struct skho_ho_smmu *hs, int error)
{
	struct kho_verdicts v = { .smmu = smmu };
	struct skho_err why = { .code = error };
	u32 i;

	smmu->kho.error = error;
	snprintf(why.msg, sizeof(why.msg), "the SMMU's handover was refused");
	for (i = 0; i < hs->nr_streams; i++)
		kho_verdict(&v, skho_fdt_ld32((const u8 *)hs->streams +
					      i * sizeof(struct skho_abi_stream)), &why);
}

static bool kho_sid_adopted(struct arm_smmu_device *smmu, u32 sid)
{
	struct arm_smmu_kho_stream *s = xa_load(&smmu->kho.streams, sid);

	return s && s->in_state == ARM_SMMU_KHO_IN_ADOPTED;
}

/* The STRTAB_BASE_CFG this kernel would program; adoption needs the same. */
static u32 kho_expected_strtab_cfg(struct arm_smmu_device *smmu)
{
	u32 last, n;

	if (!(smmu->features & ARM_SMMU_FEAT_2_LVL_STRTAB))
		return FIELD_PREP(STRTAB_BASE_CFG_FMT, STRTAB_BASE_CFG_FMT_LINEAR) |
		       FIELD_PREP(STRTAB_BASE_CFG_LOG2SIZE, smmu->sid_bits);
	last = arm_smmu_strtab_l1_idx((1ULL << smmu->sid_bits) - 1);
	n = min_t(u32, last + 1, STRTAB_MAX_L1_ENTRIES);
	return FIELD_PREP(STRTAB_BASE_CFG_FMT, STRTAB_BASE_CFG_FMT_2LVL) |
	       FIELD_PREP(STRTAB_BASE_CFG_LOG2SIZE, ilog2(n) + STRTAB_SPLIT) |
	       FIELD_PREP(STRTAB_BASE_CFG_SPLIT, STRTAB_SPLIT);
}

/* Page-rounded copy of @rs: what KHO preserved for them. */
static int kho_page_ranges(const struct skho_ranges *rs, struct skho_ranges *out)
{
	u32 i;
	int ret;

	for (i = 0; i < rs->nr; i++) {
		u64 start = round_down(rs->r[i].pa, PAGE_SIZE);
		u64 end = round_up(rs->r[i].pa + rs->r[i].size, PAGE_SIZE);

		ret = skho_ranges_add(out, start, end - start);
		if (ret)
			return ret;
	}
	return skho_ranges_normalize(out);
}

/*
 * Map an adopted table for CPU writes with the attributes the DMA API gives
 * a coherent allocation: the linear map for a coherent SMMU, a Normal-NC
 * alias otherwise, so STE stores are visible to the SMMU without further CMO.
 */
static void *kho_map_table(struct arm_smmu_device *smmu, phys_addr_t pa,
			   size_t size)
{
	unsigned int i, nr = DIV_ROUND_UP(offset_in_page(pa) + size, PAGE_SIZE);
	struct page **pages;
	void *va;

	if (smmu->features & ARM_SMMU_FEAT_COHERENCY)
		return phys_to_virt(pa);
	pages = kcalloc(nr, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return NULL;
	for (i = 0; i < nr; i++)
		pages[i] = pfn_to_page(PHYS_PFN(pa) + i);
	va = vmap(pages, nr, VM_MAP, pgprot_dmacoherent(PAGE_KERNEL));
	kfree(pages);
	return va ? va + offset_in_page(pa) : NULL;
}

#define KHO_STE_0_ABORT	(STRTAB_STE_0_V | \
			 FIELD_PREP(STRTAB_STE_0_CFG, STRTAB_STE_0_CFG_ABORT))

static bool kho_ste_is_abort(const struct arm_smmu_ste *ste)
{
	return le64_to_cpu(READ_ONCE(ste->data[0])) == KHO_STE_0_ABORT;
}

/* Returns true if the STE was not abort and had to be rewritten. */
static bool kho_abort_ste(struct arm_smmu_ste *ste)
{
	/* Config=abort ignores every other field: one 64-bit store suffices. */
	if (kho_ste_is_abort(ste))
		return false;
	WRITE_ONCE(ste->data[0], cpu_to_le64(KHO_STE_0_ABORT));
	return true;
}

/* I2 at adoption: every STE that is not an adopted stream becomes abort. */
static void kho_adopt_abort(struct arm_smmu_device *smmu, struct arm_smmu_ste *ste)
{
#ifdef CONFIG_ARM_SMMU_V3_KHO_TEST
	smmu->kho.nr_abort++;
	smmu->kho.nr_abort_rewritten += !kho_ste_is_abort(ste);
#endif /* CONFIG_ARM_SMMU_V3_KHO_TEST */
	kho_abort_ste(ste);
}

/* CR1 as arm_smmu_device_reset() programs it: how the SMMU walks tables. */
static u32 kho_expected_cr1(void)
{
	return FIELD_PREP(CR1_TABLE_SH, ARM_SMMU_SH_ISH) |
	       FIELD_PREP(CR1_TABLE_OC, CR1_CACHE_WB) |
	       FIELD_PREP(CR1_TABLE_IC, CR1_CACHE_WB) |
	       FIELD_PREP(CR1_QUEUE_SH, ARM_SMMU_SH_ISH) |
	       FIELD_PREP(CR1_QUEUE_OC, CR1_CACHE_WB) |
	       FIELD_PREP(CR1_QUEUE_IC, CR1_CACHE_WB);
}

/* The hardware must be walking exactly what was handed over. */
static int kho_check_live_regs(struct arm_smmu_device *smmu,
			       const struct skho_ho_smmu *hs)
{
	u64 base = readq_relaxed(smmu->base + ARM_SMMU_STRTAB_BASE);
	u32 cfg = readl_relaxed(smmu->base + ARM_SMMU_STRTAB_BASE_CFG);
	u32 cr0 = readl_relaxed(smmu->base + ARM_SMMU_CR0);
	u32 cr1 = readl_relaxed(smmu->base + ARM_SMMU_CR1);

	if (!(cr0 & CR0_SMMUEN)) {
		pr_err("%pa: SMMUEN is 0: the tables were not in use, not adopted\n",
		       &smmu->kho.mmio_base);
		return -SKHO_E_SMMU;
	}
	if (base != hs->strtab_base || cfg != hs->strtab_cfg) {
		pr_err("%pa: live STRTAB_BASE %#llx CFG %#x, handed over %#llx %#x: not adopted\n",
		       &smmu->kho.mmio_base, base, cfg, hs->strtab_base,
		       hs->strtab_cfg);
		return -SKHO_E_SMMU;
	}
	if (cr1 != kho_expected_cr1()) {
		pr_err("%pa: live CR1 %#x, this kernel walks tables with %#x: not adopted\n",
		       &smmu->kho.mmio_base, cr1, kho_expected_cr1());
		return -SKHO_E_SMMU;
	}
	return 0;
}

/* I5: output pages KHO did not preserve for their owner are not trusted. */
static bool kho_output_restorable(void *arg, u64 pa, u64 size)
{
	unsigned long *dropped = arg;

	if (kho_is_restorable(pa, size))
		return true;
	if (size == SZ_4K)
		(*dropped)++;
	return false;
}

/*
 * I8: references the adopted streams hold.  A walk of one stream's STE adds
 * (or drops) one reference to each CD-table and page-table page it reaches,
 * and to each ASID and VMID; what drops to zero is collected so that it is
 * given back only after the SMMU's caches of it are invalidated.
 */
#define KHO_ID_ASID	BIT(16)
#define KHO_ID_VMID	BIT(17)
#define KHO_MAX_IDS	8

struct kho_refs {
	struct arm_smmu_kho *k;
	const struct skho_mem *mem;
	int delta;			/* +1 at adoption, -1 at hand-back */
	struct list_head pages;		/* pages whose count dropped to zero */
	unsigned long ids[KHO_MAX_IDS];	/* identities whose count did */
	unsigned int nr_ids;
};

/* Returns 1 when the count of @key dropped to zero, 0, or -errno. */
static int kho_ref(struct xarray *xa, unsigned long key, int delta)
{
	void *old = xa_load(xa, key);
	unsigned long n = old ? xa_to_value(old) : 0;

	if (delta > 0)
		return xa_err(xa_store(xa, key, xa_mk_value(n + 1), GFP_KERNEL));
	if (!n)
		return 0;	/* never counted (adoption ran out of memory): kept */
	if (n == 1) {
		xa_erase(xa, key);
		return 1;
	}
	return xa_err(xa_store(xa, key, xa_mk_value(n - 1), GFP_KERNEL));
}

static int kho_ref_table(void *arg, u64 pa, u64 size)
{
	struct kho_refs *r = arg;
	u64 end = ALIGN(pa + size, PAGE_SIZE);
	int ret;

	for (pa = ALIGN_DOWN(pa, PAGE_SIZE); pa < end; pa += PAGE_SIZE) {
		/* The stream table is this kernel's now: never given back. */
		if (skho_ranges_overlap(r->k->strtab_pages, pa, PAGE_SIZE))
			continue;
		ret = kho_ref(&r->k->page_refs, PHYS_PFN(pa), r->delta);
		if (ret < 0)
			return ret;
		if (ret)
			list_add_tail(&pfn_to_page(PHYS_PFN(pa))->lru, &r->pages);
	}
	return 0;
}

static int kho_ref_level(void *arg, u64 pa, u64 size, unsigned int level)
{
	return kho_ref_table(arg, pa, size);
}

static int kho_ref_pt(void *arg, const struct skho_pt_cfg *pt, u64 *digest,
		      struct skho_err *err)
{
	struct kho_refs *r = arg;

	return skho_pt_digest(pt, r->mem, kho_ref_level, r, digest, err);
}

static int kho_ref_id(struct kho_refs *r, unsigned long key)
{
	int ret = kho_ref(&r->k->id_refs, key, r->delta);

	if (ret <= 0)
		return ret;
	if (r->nr_ids < KHO_MAX_IDS)
		r->ids[r->nr_ids++] = key;	/* beyond: stays reserved */
	return 0;
}

static int kho_ref_asid(void *arg, u16 asid)
{
	return kho_ref_id(arg, KHO_ID_ASID | asid);
}

static int kho_ref_vmid(void *arg, u16 vmid)
{
	return kho_ref_id(arg, KHO_ID_VMID | vmid);
}

/* Walk the adopted STE @ste of @sid through the restored ranges only (I3). */
static int kho_ref_stream(struct arm_smmu_device *smmu, struct kho_refs *r,
			  u32 sid, const struct arm_smmu_ste *ste)
{
	const struct skho_ho_smmu *hs = smmu->kho.ho;
	struct skho_stream_visitor v = {
		.pt_digest = kho_ref_pt, .table = kho_ref_table,
		.asid = kho_ref_asid, .vmid = kho_ref_vmid, .arg = r,
	};
	struct skho_mem_fence fence;
	struct skho_smmu view = {
		.strtab_base = hs->strtab_base, .strtab_cfg = hs->strtab_cfg,
		.oas = hs->oas,
	};
	struct skho_err err = {};
	u64 digest;

	skho_mem_fence_init(&fence, &kho_linear_mem, &hs->ranges);
	view.mem = &fence.mem;
	r->k = &smmu->kho;
	r->mem = &fence.mem;
	INIT_LIST_HEAD(&r->pages);
	return skho_stream_visit_ste(&view, sid, (const u8 *)ste->data, &v,
				     &digest, &err);
}

/*
 * Count what each adopted (or quarantined) stream's tables hold, once, at
 * the first RELEASE: off the boot path, and before any of them changes
 * (only a release moves a stream off its adopted tables).
 */
static void kho_count_adopted(struct arm_smmu_device *smmu)
{
	const struct skho_ho_smmu *hs = smmu->kho.ho;
	struct kho_refs r = { .delta = 1 };
	u32 j;

	/* No handover adopted (cold boot, refused): nothing to count. */
	if (smmu->kho.refs_counted || !hs)
		return;
	smmu->kho.refs_counted = true;
	for (j = 0; j < hs->nr_streams; j++) {
		const u8 *rec = (const u8 *)hs->streams +
				j * sizeof(struct skho_abi_stream);
		u32 sid = skho_fdt_ld32(rec);
		struct arm_smmu_kho_stream *s = xa_load(&smmu->kho.streams, sid);

		if (!s || (s->in_state != ARM_SMMU_KHO_IN_ADOPTED &&
			   s->in_state != ARM_SMMU_KHO_IN_QUARANTINED))
			continue;
		memcpy(s->adopted.data, rec + offsetof(struct skho_abi_stream, ste),
		       sizeof(s->adopted.data));
		/* Not counted: its pages and identities stay reserved. */
		s->counted = !kho_ref_stream(smmu, &r, sid, &s->adopted);
	}
}

static int kho_adopt(struct arm_smmu_device *smmu, u32 idx)
{
	struct skho_ho_smmu *hs = &kho_in.ho.smmu[idx];
	unsigned long unproven = 0;
	bool coherent = smmu->features & ARM_SMMU_FEAT_COHERENCY;
	struct kho_verdicts v = { .smmu = smmu };
	struct skho_ranges pages = {};
	struct skho_err err = {};
	u32 i, want = kho_expected_strtab_cfg(smmu);
	int ret;

	if (hs->strtab_cfg != want) {
		pr_err("%pa: handed-over STRTAB_BASE_CFG %#x differs from %#x, not adopted\n",
		       &smmu->kho.mmio_base, hs->strtab_cfg, want);
		return -SKHO_E_SMMU;
	}
	if (!!(hs->features & SKHO_SMMU_F_COHERENT) != coherent) {
		pr_err("%pa: handed-over coherency differs, not adopted\n",
		       &smmu->kho.mmio_base);
		return -SKHO_E_SMMU;
	}
	ret = kho_check_live_regs(smmu, hs);
	if (ret)
		return ret;
	/* Before the tables are restored: their pages are no output (I5). */
	ret = skho_ranges_filter(&hs->outputs, SKHO_ABI_PAGE_SHIFT,
				 kho_output_restorable, &unproven);
	if (ret)
		return ret;
	if (unproven)
		pr_err("%pa: %lu output pages not preserved by KHO: streams mapping them are refused\n",
		       &smmu->kho.mmio_base, unproven);
	ret = kho_page_ranges(&hs->ranges, &pages);
	if (ret)
		goto out;
	for (i = 0; i < pages.nr; i++) {
		phys_addr_t pa = pages.r[i].pa;

		/* Ask first: kho_restore_pages() WARNs on what was not preserved. */
		if (!kho_is_restorable(pa, pages.r[i].size) ||
		    !kho_restore_pages(pa, pages.r[i].size >> PAGE_SHIFT)) {
			pr_err("%pa: range %pa+%#llx was not preserved by KHO, not adopted\n",
			       &smmu->kho.mmio_base, &pa, pages.r[i].size);
			/* restored pages stay reserved: the SMMU may read them */
			ret = -SKHO_E_OUTSIDE;
			goto out;
		}
		if (!coherent)
			arch_dma_prep_coherent(pfn_to_page(PHYS_PFN(pa)),
					       pages.r[i].size);
		smmu->kho.counts.adopted_pages += pages.r[i].size >> PAGE_SHIFT;
	}
	ret = skho_handover_validate(&kho_in.ho, idx, &kho_linear_mem,
				     kho_verdict, &v, &err);
	if (ret < 0) {
		pr_err("%pa: handover refused: %s: %s\n", &smmu->kho.mmio_base,
		       skho_strerror(ret), err.msg);
		goto out;
	}
	pr_info("%pa: %u streams adopted, %u refused\n", &smmu->kho.mmio_base,
		v.adopted, v.refused);
	smmu->kho.adopted = true;
	ret = 0;
out:
	skho_ranges_free(&pages);
	return ret;
}

void arm_smmu_kho_probe(struct arm_smmu_device *smmu, phys_addr_t ioaddr)
{
#ifdef CONFIG_ARM_SMMU_V3_KHO_TEST
	u64 t0 = ktime_get_ns();
#endif /* CONFIG_ARM_SMMU_V3_KHO_TEST */
	u32 i;
	int ret;

	smmu->kho.mmio_base = ioaddr;
	xa_init(&smmu->kho.streams);
	xa_init(&smmu->kho.page_refs);
	xa_init(&smmu->kho.id_refs);
	mutex_lock(&arm_smmu_kho_lock);
	list_add_tail(&smmu->kho.node, &arm_smmu_kho_list);
	mutex_unlock(&arm_smmu_kho_lock);

	if (!is_kho_boot() || !kho_in_load())
		return;
	for (i = 0; i < kho_in.ho.nr_smmus; i++)
		if (kho_in.ho.smmu[i].mmio_base == ioaddr)
			break;
	if (i == kho_in.ho.nr_smmus)
		return;
	ret = kho_adopt(smmu, i);
	if (ret) {
		smmu->kho.adopted = false;
		kho_refuse_all(smmu, &kho_in.ho.smmu[i], ret);
	}
#ifdef CONFIG_ARM_SMMU_V3_KHO_TEST
	smmu->kho.adopt_ns = ktime_get_ns() - t0;
#endif /* CONFIG_ARM_SMMU_V3_KHO_TEST */
}

bool arm_smmu_kho_adopting(struct arm_smmu_device *smmu)
{
	return smmu->kho.adopted;
}

/* Install @hs's validated stream table as this kernel's (I2, I4). */
static int kho_install_strtab(struct arm_smmu_device *smmu,
			      const struct skho_ho_smmu *hs)
{
	struct arm_smmu_strtab_cfg *cfg = &smmu->strtab_cfg;
	phys_addr_t base = hs->strtab_base & STRTAB_BASE_ADDR_MASK;
	struct arm_smmu_kho_stream *s;
	struct skho_ranges *kept;
	unsigned long sid;
	u32 i, j;
	int ret;

	/* Like the handover they describe, these live as long as the kernel. */
	kept = kzalloc_obj(*kept);
	smmu->kho.freed = kzalloc_obj(*kept);
	smmu->kho.strtab_pages = kept;
	smmu->kho.ho = hs;
	if (!kept || !smmu->kho.freed)
		return -ENOMEM;

	if (!(smmu->features & ARM_SMMU_FEAT_2_LVL_STRTAB)) {
		cfg->linear.num_ents = 1 << smmu->sid_bits;
		cfg->linear.ste_dma = base;
		cfg->linear.table = kho_map_table(smmu, base, cfg->linear.num_ents *
						  sizeof(struct arm_smmu_ste));
		if (!cfg->linear.table ||
		    skho_ranges_add(kept, base, cfg->linear.num_ents *
				    sizeof(struct arm_smmu_ste)))
			return -ENOMEM;
		for (j = 0; j < cfg->linear.num_ents; j++)
			if (!kho_sid_adopted(smmu, j))
				kho_adopt_abort(smmu, &cfg->linear.table[j]);
	} else {
		u32 last = arm_smmu_strtab_l1_idx((1ULL << smmu->sid_bits) - 1);

		cfg->l2.num_l1_ents = min_t(u32, last + 1, STRTAB_MAX_L1_ENTRIES);
		cfg->l2.l1_dma = base;
		cfg->l2.l1tab = kho_map_table(smmu, base, cfg->l2.num_l1_ents *
					      sizeof(struct arm_smmu_strtab_l1));
		cfg->l2.l2ptrs = devm_kcalloc(smmu->dev, cfg->l2.num_l1_ents,
					      sizeof(*cfg->l2.l2ptrs), GFP_KERNEL);
		if (!cfg->l2.l1tab || !cfg->l2.l2ptrs ||
		    skho_ranges_add(kept, base, cfg->l2.num_l1_ents *
				    sizeof(struct arm_smmu_strtab_l1)))
			return -ENOMEM;
		for (i = 0; i < cfg->l2.num_l1_ents; i++) {
			u64 desc = le64_to_cpu(READ_ONCE(cfg->l2.l1tab[i].l2ptr));
			phys_addr_t l2 = desc & STRTAB_L1_DESC_L2PTR_MASK;
			size_t sz = sizeof(struct arm_smmu_strtab_l2);

			if (!desc)
				continue;
			/* Only L2 tables inside the validated ranges survive. */
			if (FIELD_GET(STRTAB_L1_DESC_SPAN, desc) != STRTAB_SPLIT + 1 ||
			    !skho_ranges_contain(&hs->ranges, l2, sz)) {
				WRITE_ONCE(cfg->l2.l1tab[i].l2ptr, 0);
				continue;
			}
			cfg->l2.l2ptrs[i] = kho_map_table(smmu, l2, sz);
			if (!cfg->l2.l2ptrs[i] || skho_ranges_add(kept, l2, sz))
				return -ENOMEM;
			for (j = 0; j < STRTAB_NUM_L2_STES; j++)
				if (!kho_sid_adopted(smmu, i * STRTAB_NUM_L2_STES + j))
					kho_adopt_abort(smmu, &cfg->l2.l2ptrs[i]->stes[j]);
		}
	}

	/* I4: identities in use by adopted tables stay theirs. */
	for (i = 0; i < hs->nr_asids; i++) {
		u32 asid = fdt32_to_cpu(hs->asids[i]);

		ret = xa_insert(&arm_smmu_asid_xa, asid, NULL, GFP_KERNEL);
		if (ret && ret != -EBUSY)
			return ret;
	}
	for (i = 0; i < hs->nr_vmids; i++) {
		u32 vmid = fdt32_to_cpu(hs->vmids[i]);

		ret = ida_alloc_range(&smmu->vmid_map, vmid, vmid, GFP_KERNEL);
		if (ret < 0 && ret != -ENOSPC)
			return ret;
	}
	skho_ranges_normalize(kept);
	/* One line, not one per stream: printk is on the boot critical path. */
	j = 0;
	xa_for_each(&smmu->kho.streams, sid, s)
		if (s->in_state == ARM_SMMU_KHO_IN_ADOPTED && j++ < 4)
			pr_info("%pa: SID %#lx keeps its translation\n",
				&smmu->kho.mmio_base, sid);
	if (j > 4)
		pr_info("%pa: ... and %u more streams keep theirs\n",
			&smmu->kho.mmio_base, j - 4);
	return 0;
}

int arm_smmu_kho_init_strtab(struct arm_smmu_device *smmu)
{
	const struct skho_ho_smmu *hs = NULL;
	u32 i;

	for (i = 0; i < kho_in.ho.nr_smmus; i++)
		if (kho_in.ho.smmu[i].mmio_base == smmu->kho.mmio_base)
			hs = &kho_in.ho.smmu[i];
	if (WARN_ON(!hs))
		return -EINVAL;
	return kho_install_strtab(smmu, hs);
}

struct kho_out_check {
	struct arm_smmu_device *smmu;
	unsigned int refused;
};

static bool kho_output_preserved(void *arg, u64 pa, u64 size)
{
	return kho_is_preserved(pa, size);
}

static void kho_out_verdict(void *arg, u32 sid, const struct skho_err *why)
{
	struct kho_out_check *c = arg;
	struct arm_smmu_kho_stream *s;

	if (!why)
		return;
	s = xa_load(&c->smmu->kho.streams, sid);
	if (s) {
		s->out = false;	/* aborted below with every other stream */
		s->shut_refused = true;
	}
	c->refused++;
	pr_err("SID %#x changed after the freeze, its STE becomes abort: %s: %s\n",
	       sid, skho_strerror(why->code), why->msg);
}

/* I7: what is handed over is exactly what was frozen, or abort. */
static void kho_check_outgoing(struct arm_smmu_device *smmu)
{
	bool coherent = smmu->features & ARM_SMMU_FEAT_COHERENCY;
	const struct skho_mem mem = { .map = kho_map_live, .priv = &coherent };
	struct kho_out_check c = { .smmu = smmu };
	struct skho_handover *ho;
	struct skho_err err = {};
	u32 i;
	int ret;

	if (!kho_out.blob)
		return;
	ho = kzalloc_obj(*ho);
	if (!ho)
		return;
	ret = skho_handover_parse(kho_out.blob, kho_out.len, ho, &err);
	for (i = 0; !ret && i < ho->nr_smmus; i++) {
		if (ho->smmu[i].mmio_base != smmu->kho.mmio_base)
			continue;
		ret = skho_ranges_filter(&ho->smmu[i].outputs, SKHO_ABI_PAGE_SHIFT,
					 kho_output_preserved, NULL);
		ret = ret ?: skho_handover_validate(ho, i, &mem, kho_out_verdict, &c,
						    &err);
		break;
	}
	if (ret < 0) {	/* unparsable, or refused whole: nothing is trusted */
		unsigned long sid;
		struct arm_smmu_kho_stream *s;

		xa_for_each(&smmu->kho.streams, sid, s)
			s->out = false;
		pr_err("%pa: frozen handover no longer valid, every STE becomes abort: %s: %s\n",
		       &smmu->kho.mmio_base, skho_strerror(ret), err.msg);
	}
	skho_handover_release(ho);
	kfree(ho);
}

/*
 * Shutdown for kexec with streams to preserve: abort every other stream and
 * detach L2 tables without a preserved stream.  Returns true when the caller
 * must sync and leave SMMUEN set instead of disabling the SMMU.
 */
/* I2 at the jump: abort every STE not preserved, drop L2 tables without one. */
static void kho_freeze_tables(struct arm_smmu_device *smmu)
{
	struct arm_smmu_strtab_cfg *cfg = &smmu->strtab_cfg;
	struct arm_smmu_kho_stream *s;
	u32 i, j;

	if (!(smmu->features & ARM_SMMU_FEAT_2_LVL_STRTAB)) {
		for (j = 0; j < cfg->linear.num_ents; j++) {
			s = xa_load(&smmu->kho.streams, j);
			if (!s || !s->out)
				kho_abort_ste(&cfg->linear.table[j]);
		}
		return;
	}
	for (i = 0; i < cfg->l2.num_l1_ents; i++) {
		bool keep = false;

		if (!cfg->l2.l2ptrs[i])
			continue;
		for (j = 0; j < STRTAB_NUM_L2_STES; j++) {
			s = xa_load(&smmu->kho.streams, i * STRTAB_NUM_L2_STES + j);
			/*
			 * Keep the L2 table of a stream I7 refused: the handover
			 * still lists it, so the next kernel must find its abort
			 * STE and refuse it as STE_LOST, not as an unknown SID.
			 */
			if (s && (s->out || s->shut_refused))
				keep = true;
			if (!s || !s->out)
				kho_abort_ste(&cfg->l2.l2ptrs[i]->stes[j]);
		}
		if (!keep)	/* its memory is not handed over */
			WRITE_ONCE(cfg->l2.l1tab[i].l2ptr, 0);
	}
}

bool arm_smmu_kho_freeze(struct arm_smmu_device *smmu)
{
	struct arm_smmu_kho_stream *s;
	unsigned long sid;
	bool any = false;

	if (!kexec_in_progress)
		return false;
	xa_for_each(&smmu->kho.streams, sid, s)
		any |= s->out;
	if (!any)
		return false;
	/*
	 * From here on the SMMU stays enabled even if the check below leaves
	 * no stream preserved: the devices keep Bus Master, and an SMMU
	 * switched off would let their DMA bypass translation (GBPA).  All
	 * STEs abort instead.
	 */
	kho_check_outgoing(smmu);
	kho_freeze_tables(smmu);
	return true;
}

/* I1, I6: while a SID is adopted or quarantined, STE updates wait for release. */
bool arm_smmu_kho_defer_ste(struct arm_smmu_device *smmu, u32 sid,
			    const struct arm_smmu_ste *target)
{
	struct arm_smmu_kho_stream *s = xa_load(&smmu->kho.streams, sid);

	if (!s || s->write_through)
		return false;
	if (s->in_state != ARM_SMMU_KHO_IN_ADOPTED &&
	    s->in_state != ARM_SMMU_KHO_IN_QUARANTINED)
		return false;
	s->target = *target;
	s->pending = true;
	return true;
}

void arm_smmu_kho_note_event(struct arm_smmu_device *smmu, u32 sid)
{
	struct arm_smmu_kho_stream *s = xa_load(&smmu->kho.streams, sid);

	if (s)
		s->events++;
}

/* @dev's master if it sits behind one of the SMMUv3 instances we know. */
static struct arm_smmu_master *kho_master(struct device *dev)
{
	struct arm_smmu_master *master = NULL;
	struct arm_smmu_kho *k;

	if (!dev || !dev->iommu || !dev->iommu->iommu_dev)
		return NULL;
	mutex_lock(&arm_smmu_kho_lock);
	list_for_each_entry(k, &arm_smmu_kho_list, node) {
		struct arm_smmu_device *smmu =
			container_of(k, struct arm_smmu_device, kho);

		if (&smmu->iommu == dev->iommu->iommu_dev) {
			master = dev_iommu_priv_get(dev);
			break;
		}
	}
	mutex_unlock(&arm_smmu_kho_lock);
	return master;
}

/**
 * arm_smmu_kho_mark - select (or deselect) @dev's streams for preservation
 * @dev: a device behind an SMMUv3
 * @preserve: true to preserve at the next kexec, false to stop
 * @info: filled with what a snapshot of the device needs
 *
 * Return: 0, -ENODEV if @dev is not behind an SMMUv3, -E2BIG if it has more
 * than ARM_SMMU_KHO_MAX_SIDS streams, -ENOMEM.
 */
int arm_smmu_kho_mark(struct device *dev, bool preserve,
		      struct arm_smmu_kho_dev_info *info)
{
	struct arm_smmu_master *master = kho_master(dev);
	struct arm_smmu_device *smmu;
	unsigned int i;

	if (!master)
		return -ENODEV;
	smmu = master->smmu;
	if (master->num_streams > ARM_SMMU_KHO_MAX_SIDS)
		return -E2BIG;
	for (i = 0; i < master->num_streams; i++) {
		struct arm_smmu_kho_stream *s =
			kho_stream(smmu, master->streams[i].id, preserve);

		if (!s && preserve)
			return -ENOMEM;
		if (s)
			s->out = preserve;
		info->sids[i] = master->streams[i].id;
	}
	info->nr_sids = master->num_streams;
	info->mmio_base = smmu->kho.mmio_base;
	info->strtab_base = readq_relaxed(smmu->base + ARM_SMMU_STRTAB_BASE);
	info->strtab_cfg = readl_relaxed(smmu->base + ARM_SMMU_STRTAB_BASE_CFG);
	info->coherent = smmu->features & ARM_SMMU_FEAT_COHERENCY;
	info->oas = smmu->oas;
	return 0;
}
EXPORT_SYMBOL_NS_GPL(arm_smmu_kho_mark, "SMMU_KHO");

static int kho_cmd_sync(struct arm_smmu_device *smmu, struct arm_smmu_cmd *cmds,
			int n)
{
	return arm_smmu_cmdq_issue_cmdlist(smmu, &smmu->cmdq, cmds, n, true);
}

/*
 * I8: is the domain the driver wants for @sid (@s->target) translating every
 * IOVA of the adopted tables the same?  The adopted side is read through the
 * restored ranges only (I3), the new side through live memory.
 */
static int kho_check_same(struct arm_smmu_device *smmu, u32 sid,
			  const struct arm_smmu_kho_stream *s, char *why,
			  size_t len)
{
	const struct skho_ho_smmu *hs = smmu->kho.ho;
	bool coherent = smmu->features & ARM_SMMU_FEAT_COHERENCY;
	const struct skho_mem live = { .map = kho_map_live, .priv = &coherent };
	struct skho_smmu old_view = { .oas = hs->oas };
	struct skho_smmu new_view = { .oas = smmu->oas, .mem = &live };
	const struct skho_xlat_side old = { &old_view, (const u8 *)s->adopted.data };
	const struct skho_xlat_side new = { &new_view, (const u8 *)s->target.data };
	struct skho_mem_fence fence;
	struct skho_xlat_cmp cmp = {};
	struct skho_err err = {};
	int ret;

	if (!s->pending) {
		snprintf(why, len, "SID %#x: no domain attached since boot", sid);
		return -EXDEV;
	}
	skho_mem_fence_init(&fence, &kho_linear_mem, &hs->ranges);
	old_view.mem = &fence.mem;
	ret = skho_xlat_same(&old, &new, &cmp, &err);
	if (!ret) {
		pr_info("SID %#x: new domain translates all %llu adopted pages the same (digest %#llx)\n",
			sid, cmp.nr_pages, cmp.new_digest);
		return 0;
	}
	snprintf(why, len, "SID %#x: %s: %s", sid, skho_strerror(ret), err.msg);
	pr_err("hand-back refused: %s\n", why);
	return ret == -SKHO_E_NOMEM ? -ENOMEM : -EXDEV;
}

/*
 * I8: the order in which the qwords of @cur take @tgt's values so that every
 * STE the SMMU can fetch in between is valid and translates like both (they
 * translate the same: kho_check_same()).  Each store is one single-copy-
 * atomic 64-bit write, as arm_smmu_write_entry() relies on.  Returns the
 * number of stores, or -EXDEV when no such order exists.
 */
static int kho_hitless_order(const struct arm_smmu_ste *cur,
			     const struct arm_smmu_ste *tgt, u8 *order,
			     char *why, size_t len)
{
	u64 cfg_cur = FIELD_GET(STRTAB_STE_0_CFG, le64_to_cpu(cur->data[0]));
	u64 cfg_tgt = FIELD_GET(STRTAB_STE_0_CFG, le64_to_cpu(tgt->data[0]));
	unsigned long diff = 0;
	unsigned int i;

	for (i = 0; i < STRTAB_STE_DWORDS; i++)
		if (READ_ONCE(cur->data[i]) != tgt->data[i])
			diff |= BIT(i);
	if (hweight_long(diff) <= 1) {
		if (diff)
			order[0] = __ffs(diff);
		return hweight_long(diff);
	}
	/*
	 * Stage 2 to stage 2 of the same geometry: S2TTB first (walks tagged
	 * with the old VMID then read the new tables, which translate the
	 * same), then the VMID.
	 */
	if (diff == (BIT(2) | BIT(3)) &&
	    cfg_cur == STRTAB_STE_0_CFG_S2_TRANS && cfg_tgt == cfg_cur &&
	    !((cur->data[2] ^ tgt->data[2]) & ~cpu_to_le64(STRTAB_STE_2_S2VMID))) {
		order[0] = 3;
		order[1] = 2;
		return 2;
	}
	snprintf(why, len,
		 "STE qwords %#lx change (Config %llu -> %llu): no order of 64-bit stores keeps it translating",
		 diff, cfg_cur, cfg_tgt);
	return -EXDEV;
}

#ifdef CONFIG_ARM_SMMU_V3_KHO_TEST
/* The V=0 update a hitless one replaces, held open: a negative control. */
static void kho_switch_breaking(struct arm_smmu_device *smmu, u32 sid,
				struct arm_smmu_ste *ste,
				const struct arm_smmu_ste *tgt)
{
	struct arm_smmu_cmd cfgi = arm_smmu_make_cmd_cfgi_ste(sid, true);
	unsigned int i;

	WRITE_ONCE(ste->data[0], ste->data[0] & ~cpu_to_le64(STRTAB_STE_0_V));
	kho_cmd_sync(smmu, &cfgi, 1);
	msleep(kho_test.break_ms);
	for (i = 1; i < STRTAB_STE_DWORDS; i++)
		WRITE_ONCE(ste->data[i], tgt->data[i]);
	kho_cmd_sync(smmu, &cfgi, 1);
	WRITE_ONCE(ste->data[0], tgt->data[0]);
	kho_cmd_sync(smmu, &cfgi, 1);
}
#endif /* CONFIG_ARM_SMMU_V3_KHO_TEST */

/*
 * Move @sid's STE to @tgt by the stores kho_hitless_order() chose, each
 * followed by CFGI_STE and CMD_SYNC.  The adopted stream table is mapped
 * Normal-NC on a non-coherent SMMU (kho_map_table(), as the driver's own
 * dmam_alloc_coherent() tables are), so a store reaches the SMMU without a
 * CMO; the new domain's tables were cleaned by io-pgtable when mapped.
 */
static void kho_switch_ste(struct arm_smmu_device *smmu, u32 sid,
			   const struct arm_smmu_ste *tgt, const u8 *order,
			   int n)
{
	struct arm_smmu_ste *ste = arm_smmu_get_step_for_sid(smmu, sid);
	struct arm_smmu_cmd cfgi = arm_smmu_make_cmd_cfgi_ste(sid, true);
	int i;

	/* Whatever @tgt points at is visible before the STE points there. */
	dma_wmb();
#ifdef CONFIG_ARM_SMMU_V3_KHO_TEST
	if (kho_test.break_ms) {
		kho_switch_breaking(smmu, sid, ste, tgt);
		return;
	}
#endif /* CONFIG_ARM_SMMU_V3_KHO_TEST */
	for (i = 0; i < n; i++) {
		WRITE_ONCE(ste->data[order[i]], tgt->data[order[i]]);
		kho_cmd_sync(smmu, &cfgi, 1);
	}
}

/*
 * I8: @sid no longer uses its adopted tables.  Drop its references; what
 * nothing uses any more is invalidated (TLBI by ASID/VMID, CFGI_ALL for CDs,
 * CMD_SYNC) and only then given back.
 */
static void kho_give_back(struct arm_smmu_device *smmu, u32 sid,
			  struct arm_smmu_kho_stream *s)
{
	struct arm_smmu_cmd cmds[KHO_MAX_IDS + 1];
	struct kho_refs r = { .delta = -1 };
	unsigned int i, n = 0, n_pages = 0;
	struct page *page, *tmp;

	if (!s->counted)
		return;
#ifdef CONFIG_ARM_SMMU_V3_KHO_TEST
	if (kho_test.keep_old_tables)
		return;
#endif /* CONFIG_ARM_SMMU_V3_KHO_TEST */
	s->counted = false;
	if (kho_ref_stream(smmu, &r, sid, &s->adopted))
		pr_warn("SID %#x: adopted tables not fully walked, some stay reserved\n",
			sid);
	for (i = 0; i < r.nr_ids; i++) {
		u16 id = r.ids[i] & 0xffff;

		cmds[n++] = r.ids[i] & KHO_ID_ASID ?
			arm_smmu_make_cmd_tlbi(CMDQ_OP_TLBI_NH_ASID, id, 0) :
			arm_smmu_make_cmd_tlbi(CMDQ_OP_TLBI_S12_VMALL, 0, id);
	}
	cmds[n++] = arm_smmu_make_cmd_cfgi_all();
	kho_cmd_sync(smmu, cmds, n);

	for (i = 0; i < r.nr_ids; i++) {
		u16 id = r.ids[i] & 0xffff;

		if (r.ids[i] & KHO_ID_ASID) {
			if (!xa_load(&arm_smmu_asid_xa, id))	/* our reservation */
				xa_erase(&arm_smmu_asid_xa, id);
			smmu->kho.counts.asids_freed++;
		} else {
			ida_free(&smmu->vmid_map, id);
			smmu->kho.counts.vmids_freed++;
		}
	}
	list_for_each_entry_safe(page, tmp, &r.pages, lru) {
		list_del(&page->lru);
		if (skho_ranges_add(smmu->kho.freed, page_to_phys(page), PAGE_SIZE)) {
			/* READ(IN) must never show a reused page: keep it. */
			continue;
		}
		__free_page(page);
		n_pages++;
	}
	skho_ranges_normalize(smmu->kho.freed);
	smmu->kho.counts.freed_pages += n_pages;
	pr_info("SID %#x: gave back %u table pages and %u ASIDs/VMIDs of the previous kernel\n",
		sid, n_pages, r.nr_ids);
}

/* arm_smmu_kho_release() under arm_smmu_asid_lock: no attach runs meanwhile. */
static int kho_release_locked(struct arm_smmu_master *master, u32 flags,
			      char *why, size_t len)
{
	u8 order[ARM_SMMU_KHO_MAX_SIDS][STRTAB_STE_DWORDS];
	struct arm_smmu_device *smmu = master->smmu;
	int nr_stores[ARM_SMMU_KHO_MAX_SIDS];
	struct arm_smmu_kho_stream *s;
	unsigned int i, n = 0;
	bool replace;
	int ret;

	kho_count_adopted(smmu);
	for (i = 0; i < master->num_streams; i++) {
		u32 sid = master->streams[i].id;

		nr_stores[i] = -1;	/* not hitless */
		s = xa_load(&smmu->kho.streams, sid);
		if (!s || (s->in_state != ARM_SMMU_KHO_IN_ADOPTED &&
			   s->in_state != ARM_SMMU_KHO_IN_QUARANTINED))
			continue;
		n++;
		if ((flags & ARM_SMMU_KHO_RELEASE_REPLACE) ||
		    s->in_state == ARM_SMMU_KHO_IN_QUARANTINED)
			continue;
		ret = kho_check_same(smmu, sid, s, why, len);
		if (ret)
			return ret;
		ret = kho_hitless_order(arm_smmu_get_step_for_sid(smmu, sid),
					&s->target, order[i], why, len);
		if (ret < 0) {
			pr_err("hand-back refused: SID %#x: %s\n", sid, why);
			return ret;
		}
		nr_stores[i] = ret;
	}
	if (!n)
		return -ENOENT;
	replace = false;
	for (i = 0; i < master->num_streams; i++) {
		u32 sid = master->streams[i].id;

		s = xa_load(&smmu->kho.streams, sid);
		if (!s || (s->in_state != ARM_SMMU_KHO_IN_ADOPTED &&
			   s->in_state != ARM_SMMU_KHO_IN_QUARANTINED))
			continue;
		s->in_state = ARM_SMMU_KHO_IN_RELEASED;
		if (nr_stores[i] >= 0) {
			kho_switch_ste(smmu, sid, &s->target, order[i], nr_stores[i]);
			smmu->kho.counts.released_hitless++;
			s->pending = false;
		}
		replace |= s->pending;
	}
	/* One STE per master: the driver writes all of its streams at once. */
	for (i = 0; replace && i < master->num_streams; i++) {
		s = xa_load(&smmu->kho.streams, master->streams[i].id);
		if (s && s->pending) {
			arm_smmu_install_ste_for_dev(master, &s->target);
			break;
		}
	}
	for (i = 0; i < master->num_streams; i++) {
		s = xa_load(&smmu->kho.streams, master->streams[i].id);
		if (s && s->in_state == ARM_SMMU_KHO_IN_RELEASED) {
			s->pending = false;
			kho_give_back(smmu, master->streams[i].id, s);
		}
	}
	return 0;
}

/**
 * arm_smmu_kho_release - hand @dev's adopted streams to the domain it has now
 * @dev: a device whose streams were adopted at boot
 * @flags: 0, or ARM_SMMU_KHO_RELEASE_REPLACE
 * @why: filled with the reason of an -EXDEV refusal
 * @len: size of @why
 *
 * Without REPLACE the hand-back is hitless or refused (I8): every adopted
 * stream of @dev must be attached to a domain that translates every IOVA of
 * its adopted tables the same, and its STE must be able to move there by
 * 64-bit stores that each leave it translating.  Nothing changes unless all
 * streams of @dev pass.  With REPLACE, or for a quarantined stream, the STE
 * the driver wanted meanwhile goes in through its ordinary update.  Then
 * what the previous kernel's tables held is given back.
 *
 * Return: 0, -ENODEV if not behind an SMMUv3, -ENOENT if nothing adopted,
 * -EXDEV (@why says which IOVA or STE field), -ENOMEM.
 */
int arm_smmu_kho_release(struct device *dev, u32 flags, char *why, size_t len)
{
	struct arm_smmu_master *master = kho_master(dev);
	int ret;

	if (!master)
		return -ENODEV;
	if (why && len)
		why[0] = 0;
	if (master->num_streams > ARM_SMMU_KHO_MAX_SIDS)
		return -E2BIG;
	/* Every attach holds it while it writes (or defers) an STE. */
	mutex_lock(&arm_smmu_asid_lock);
	ret = kho_release_locked(master, flags, why, len);
	mutex_unlock(&arm_smmu_asid_lock);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(arm_smmu_kho_release, "SMMU_KHO");

/**
 * arm_smmu_kho_counts - what adoption restored and hand-backs gave back
 * @sum: filled with the sums over all SMMUv3 instances
 */
void arm_smmu_kho_counts(struct arm_smmu_kho_counts *sum)
{
	struct arm_smmu_kho *k;

	memset(sum, 0, sizeof(*sum));
	mutex_lock(&arm_smmu_kho_lock);
	list_for_each_entry(k, &arm_smmu_kho_list, node) {
		sum->adopted_pages += k->counts.adopted_pages;
		sum->freed_pages += k->counts.freed_pages;
		sum->asids_freed += k->counts.asids_freed;
		sum->vmids_freed += k->counts.vmids_freed;
		sum->released_hitless += k->counts.released_hitless;
	}
	mutex_unlock(&arm_smmu_kho_lock);
}
EXPORT_SYMBOL_NS_GPL(arm_smmu_kho_counts, "SMMU_KHO");

/**
 * arm_smmu_kho_in_freed - was any page of [@pa, @pa + @len) given back?
 * Such a page belongs to the allocator again: never read it as a table.
 */
bool arm_smmu_kho_in_freed(phys_addr_t pa, size_t len)
{
	struct arm_smmu_kho *k;
	bool hit = false;

	mutex_lock(&arm_smmu_kho_lock);
	list_for_each_entry(k, &arm_smmu_kho_list, node)
		if (k->freed && skho_ranges_overlap(k->freed, pa, len))
			hit = true;
	mutex_unlock(&arm_smmu_kho_lock);
	return hit;
}
EXPORT_SYMBOL_NS_GPL(arm_smmu_kho_in_freed, "SMMU_KHO");

/**
 * arm_smmu_kho_quarantine - make @dev's adopted streams abort now
 * @dev: a device whose streams were adopted at boot
 *
 * For a stream whose verification failed after adoption: the device must
 * no longer reach memory through the suspect translation.  The abort STE
 * goes through the driver's ordered STE update (CFGI_STE and CMD_SYNC, CMO
 * on a non-coherent SMMU); the driver's own STE waits for release (I6).
 *
 * Return: 0, -ENODEV if not behind an SMMUv3, -ENOENT if no stream of
 * @dev is adopted, -EBUSY if @dev also has streams in another state.
 */
int arm_smmu_kho_quarantine(struct device *dev)
{
	struct arm_smmu_master *master = kho_master(dev);
	struct arm_smmu_kho_stream *s;
	struct arm_smmu_device *smmu;
	struct arm_smmu_ste abort;
	unsigned int i, n = 0;

	if (!master)
		return -ENODEV;
	smmu = master->smmu;
	/* As RELEASE: no attach writes or defers an STE meanwhile. */
	guard(mutex)(&arm_smmu_asid_lock);
	for (i = 0; i < master->num_streams; i++) {
		s = xa_load(&smmu->kho.streams, master->streams[i].id);
		if (s && s->in_state == ARM_SMMU_KHO_IN_ADOPTED)
			n++;
		else if (!s || s->in_state != ARM_SMMU_KHO_IN_REFUSED)
			return -EBUSY;	/* the abort STE would hit a live stream */
	}
	if (!n)
		return -ENOENT;
	for (i = 0; i < master->num_streams; i++) {
		s = xa_load(&smmu->kho.streams, master->streams[i].id);
		s->in_state = ARM_SMMU_KHO_IN_QUARANTINED;
		s->write_through = true;
	}
	arm_smmu_make_abort_ste(&abort);
	arm_smmu_install_ste_for_dev(master, &abort);
	for (i = 0; i < master->num_streams; i++) {
		s = xa_load(&smmu->kho.streams, master->streams[i].id);
		s->write_through = false;
	}
	dev_warn(dev, "adopted streams quarantined: abort STE\n");
	return 0;
}
EXPORT_SYMBOL_NS_GPL(arm_smmu_kho_quarantine, "SMMU_KHO");

static struct arm_smmu_device *kho_smmu_by_base(phys_addr_t mmio_base)
{
	struct arm_smmu_kho *k;

	list_for_each_entry(k, &arm_smmu_kho_list, node)
		if (k->mmio_base == mmio_base)
			return container_of(k, struct arm_smmu_device, kho);
	return NULL;
}

/**
 * arm_smmu_kho_live_ste - the STE of @sid as the SMMU at @mmio_base reads it
 * @mmio_base: the SMMU
 * @sid: the StreamID
 * @out: filled with the live STRTAB_BASE(_CFG) and the 64 STE bytes
 *
 * Located with the portable core's walker from the registers the hardware
 * uses now, not from the driver's idea of its table.
 *
 * Return: 0, -ENODEV (unknown SMMU), -ENOENT (the STE cannot be located
 * or read: SID beyond the table, L1 descriptor invalid).
 */
int arm_smmu_kho_live_ste(phys_addr_t mmio_base, u32 sid,
			  struct arm_smmu_kho_live_ste *out)
{
	struct arm_smmu_device *smmu;
	struct skho_smmu walker = {};
	struct skho_mem mem;
	bool coherent;
	const u8 *ste;
	u64 pa;
	int ret = -ENODEV;

	mutex_lock(&arm_smmu_kho_lock);
	smmu = kho_smmu_by_base(mmio_base);
	if (!smmu)
		goto out;
	coherent = smmu->features & ARM_SMMU_FEAT_COHERENCY;
	mem = (struct skho_mem){ .map = kho_map_live, .priv = &coherent };
	out->strtab_base = readq_relaxed(smmu->base + ARM_SMMU_STRTAB_BASE);
	out->strtab_cfg = readl_relaxed(smmu->base + ARM_SMMU_STRTAB_BASE_CFG);
	walker.strtab_base = out->strtab_base;
	walker.strtab_cfg = out->strtab_cfg;
	walker.oas = smmu->oas;
	walker.mem = &mem;
	ret = -ENOENT;
	if (skho_ste_locate(&walker, sid, &pa) != SKHO_XLATE_OK)
		goto out;
	ste = skho_map(&mem, pa, sizeof(out->ste));
	if (!ste)
		goto out;
	memcpy(out->ste, ste, sizeof(out->ste));
	ret = 0;
out:
	mutex_unlock(&arm_smmu_kho_lock);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(arm_smmu_kho_live_ste, "SMMU_KHO");

/**
 * arm_smmu_kho_set_outgoing - the handover blob frozen for the next kernel
 * @blob: the FDT registered with KHO, or NULL when nothing is frozen
 * @len: its size
 *
 * The driver validates it once more at shutdown (I7).  @blob must stay
 * valid until it is replaced or cleared.
 */
void arm_smmu_kho_set_outgoing(const void *blob, size_t len)
{
	mutex_lock(&arm_smmu_kho_lock);
	kho_out.blob = blob;
	kho_out.len = blob ? len : 0;
	mutex_unlock(&arm_smmu_kho_lock);
}
EXPORT_SYMBOL_NS_GPL(arm_smmu_kho_set_outgoing, "SMMU_KHO");

/**
 * arm_smmu_kho_incoming_error - why the handover as a whole was refused
 * @why: filled with a one-line reason ("" if none)
 * @len: size of @why
 *
 * Return: 0 if there was no handover or it was parsed, else the -SKHO_E_*
 * code of the refusal (unreadable blob, not preserved, parse error).
 */
int arm_smmu_kho_incoming_error(char *why, size_t len)
{
	strscpy(why, kho_in.why, len);
	return kho_in.error;
}
EXPORT_SYMBOL_NS_GPL(arm_smmu_kho_incoming_error, "SMMU_KHO");

/**
 * arm_smmu_kho_stream_info - live-update state of one stream
 * Return: 0, -ENODEV for an unknown SMMU, -ENOENT for an untracked SID.
 */
int arm_smmu_kho_stream_info(phys_addr_t mmio_base, u32 sid,
			     struct arm_smmu_kho_stream_info *info)
{
	struct arm_smmu_kho *k;
	int ret = -ENODEV;

	mutex_lock(&arm_smmu_kho_lock);
	list_for_each_entry(k, &arm_smmu_kho_list, node) {
		struct arm_smmu_kho_stream *s;

		if (k->mmio_base != mmio_base)
			continue;
		s = xa_load(&k->streams, sid);
		ret = -ENOENT;
		if (s) {
			info->in_state = s->in_state;
			info->error = s->error;
			info->events = s->events;
			info->out = s->out;
			ret = 0;
		}
		break;
	}
	mutex_unlock(&arm_smmu_kho_lock);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(arm_smmu_kho_stream_info, "SMMU_KHO");

/**
 * arm_smmu_kho_incoming - the handover blob this kernel adopted from
 * Return: the blob (read-only, lives forever) or NULL if none was parsed.
 */
const void *arm_smmu_kho_incoming(size_t *len)
{
	if (!kho_in.parsed)
		return NULL;
	*len = kho_in.len;
	return kho_in.blob;
}
EXPORT_SYMBOL_NS_GPL(arm_smmu_kho_incoming, "SMMU_KHO");

/**
 * arm_smmu_kho_sync_for_cpu - make SMMU tables in [pa, pa+len) readable
 * through the linear map (invalidates stale lines of a non-coherent SMMU's
 * tables, which the driver writes through a Normal-NC alias).
 */
void arm_smmu_kho_sync_for_cpu(phys_addr_t pa, size_t len, bool coherent)
{
	if (!coherent && len)
		dcache_inval_poc((unsigned long)phys_to_virt(pa),
				 (unsigned long)phys_to_virt(pa) + len);
}
EXPORT_SYMBOL_NS_GPL(arm_smmu_kho_sync_for_cpu, "SMMU_KHO");

#ifdef CONFIG_ARM_SMMU_V3_KHO_TEST
/* Test and benchmark hooks (ARM_SMMU_V3_KHO_TEST): not part of the product. */

/**
 * arm_smmu_kho_clone_for_bench - preserve @n more SIDs sharing @dev's STE
 * @dev: a device selected with arm_smmu_kho_mark()
 * @first: first SID to populate; @first..@first+@n-1 must be unused, or
 *	   copies adopted from the previous kernel (preserved again as is)
 * @n: number of SIDs
 *
 * Benchmark-only: lets vm-bench measure 1,024 preserved streams with one
 * device.  Each SID gets a copy of @dev's first STE (words 1-7, then word 0,
 * so the SMMU never sees a half-written valid entry) and is marked for
 * preservation; the copies share @dev's CD table and page tables.
 *
 * Return: 0, -ENODEV, -EBUSY if a SID is in use, -ERANGE, -ENOMEM.
 */
int arm_smmu_kho_clone_for_bench(struct device *dev, u32 first, u32 n)
{
	struct arm_smmu_master *master = kho_master(dev);
	struct arm_smmu_device *smmu;
	struct arm_smmu_ste *src;
	int ret = 0;
	u32 sid, i;

	if (!master)
		return -ENODEV;
	smmu = master->smmu;
	mutex_lock(&smmu->streams_mutex);
	src = arm_smmu_get_step_for_sid(smmu, master->streams[0].id);
	for (sid = first; sid < first + n && !ret; sid++) {
		struct arm_smmu_kho_stream *s = xa_load(&smmu->kho.streams, sid);
		struct arm_smmu_ste *dst;

		/* A copy adopted from the previous kernel is preserved again. */
		if (s && s->in_state == ARM_SMMU_KHO_IN_ADOPTED) {
			s->out = true;
			continue;
		}
		if (s) {
			ret = -EBUSY;
			break;
		}
		ret = arm_smmu_init_sid_strtab(smmu, sid);
		if (ret)
			break;
		dst = arm_smmu_get_step_for_sid(smmu, sid);
		if (le64_to_cpu(READ_ONCE(dst->data[0])) & ~(STRTAB_STE_0_V |
							   STRTAB_STE_0_CFG)) {
			ret = -EBUSY;
			break;
		}
		for (i = 1; i < STRTAB_STE_DWORDS; i++)
			WRITE_ONCE(dst->data[i], READ_ONCE(src->data[i]));
		dma_wmb();
		WRITE_ONCE(dst->data[0], READ_ONCE(src->data[0]));
		s = kho_stream(smmu, sid, true);
		if (!s)
			ret = -ENOMEM;
		else
			s->out = true;
	}
	mutex_unlock(&smmu->streams_mutex);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(arm_smmu_kho_clone_for_bench, "SMMU_KHO");

/**
 * arm_smmu_kho_adopt_ns - time probe spent validating and adopting handovers
 * Return: nanoseconds, summed over all SMMUv3 instances.
 */
u64 arm_smmu_kho_adopt_ns(void)
{
	struct arm_smmu_kho *k;
	u64 ns = 0;

	mutex_lock(&arm_smmu_kho_lock);
	list_for_each_entry(k, &arm_smmu_kho_list, node)
		ns += k->adopt_ns;
	mutex_unlock(&arm_smmu_kho_lock);
	return ns;
}
EXPORT_SYMBOL_NS_GPL(arm_smmu_kho_adopt_ns, "SMMU_KHO");

/**
 * arm_smmu_kho_abort_stats - invariant I2 as observed at adoption
 * @nr_abort: non-adopted STEs in adopted tables (all abort afterwards)
 * @nr_rewritten: how many of them were not abort when handed over
 */
void arm_smmu_kho_abort_stats(u32 *nr_abort, u32 *nr_rewritten)
{
	struct arm_smmu_kho *k;

	*nr_abort = 0;
	*nr_rewritten = 0;
	mutex_lock(&arm_smmu_kho_lock);
	list_for_each_entry(k, &arm_smmu_kho_list, node) {
		*nr_abort += k->nr_abort;
		*nr_rewritten += k->nr_abort_rewritten;
	}
	mutex_unlock(&arm_smmu_kho_lock);
}
EXPORT_SYMBOL_NS_GPL(arm_smmu_kho_abort_stats, "SMMU_KHO");

/**
 * arm_smmu_kho_test_handback - break hand-backs on purpose (negative controls)
 * @break_ms: > 0: replace the hitless sequence by a V=0 update held @break_ms
 * @keep_old_tables: give nothing back after hand-back
 */
void arm_smmu_kho_test_handback(unsigned int break_ms, bool keep_old_tables)
{
	kho_test.break_ms = break_ms;
	kho_test.keep_old_tables = keep_old_tables;
}
EXPORT_SYMBOL_NS_GPL(arm_smmu_kho_test_handback, "SMMU_KHO");
#endif /* CONFIG_ARM_SMMU_V3_KHO_TEST */

#ifdef CONFIG_ARM_SMMU_V3_KHO_KUNIT_TEST
#include "arm-smmu-v3-kho-test.c"
#endif /* CONFIG_ARM_SMMU_V3_KHO_KUNIT_TEST */
