// SPDX-License-Identifier: GPL-2.0-only
/* smmu_kho.ko: control plane of SMMUv3 live update: select, freeze, hand over, report, release. */
/*
 * Outgoing state machine (enum smmu_kho_state):
 *
 *   IDLE --PRESERVE--> SELECTED --FREEZE--> FROZEN --kexec--> (next kernel)
 *     ^                   |  ^                 |
 *     +------ABORT--------+  +--PRESERVE/------+   (a change of selection
 *                               UNPRESERVE          thaws the snapshot)
 *
 * FROZEN means: snapshot taken with the portable core, every page it
 * depends on preserved with KHO, every page its tables map proven
 * preserved by KHO (kho_is_preserved: the buffers' owners preserved them),
 * the FDT blob registered as KHO subtree SKHO_KHO_NAME, and Bus Master
 * kept on the selected devices.
 *
 * The freeze is a contract: what was frozen (and journaled by user space)
 * is what is handed over, or less, never something else.  A refresh (the
 * FREEZE ioctl again, or the reboot notifier, the last moment before the
 * jump) re-takes the snapshot and compares it stream by stream with the
 * frozen one; a device whose streams changed, or now map memory KHO does
 * not preserve, is DROPPED: deselected, Bus Master no longer kept, and at
 * shutdown its STEs become abort like every other unpreserved stream.
 * STREAMS reports dropped streams and STATUS.out_why says why.  After the
 * reboot notifier has frozen for the last time (JUMPING) every call that
 * could change what is handed over fails with EBUSY.  ABORT leaves nothing
 * preserved.
 */
#define pr_fmt(fmt) "smmu_kho: " fmt

#include <linux/iommu.h>
#include <linux/kexec_handover.h>
#include <linux/ktime.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/reboot.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "arm-smmu-v3-kho.h"
#include "skho_handover.h"
#include "uapi/smmu_kho.h"

/*
 * Benchmark only (make vm-bench): preserve this many streams in total, the
 * first selected device's plus copies of its STE at SIDs BENCH_FIRST_SID...
 */
static unsigned int bench_streams;
module_param(bench_streams, uint, 0644);
MODULE_PARM_DESC(bench_streams, "benchmark: total preserved streams (copies of the first device's STE)");
#define BENCH_FIRST_SID	0x1000

/*
 * Test switch (make vfio-vm-check's negative control): false leaves
 * liveupdate_dma clear on every device, so PCI shutdown and vfio-pci stop
 * and reset preserved devices as stock 7.3 does; their translation is
 * still handed over.
 */
static bool keep_bus_master = true;
module_param(keep_bus_master, bool, 0444);
MODULE_PARM_DESC(keep_bus_master, "test: false lets PCI and vfio-pci stop the DMA of preserved devices");

#ifdef CONFIG_ARM_SMMU_V3_KHO_TEST
/*
 * Test switches (make vfio-vm-check's negative controls): a hand-back
 * through a V=0 window held this long, and one that gives nothing back.
 */
static unsigned int test_break_ms;
module_param(test_break_ms, uint, 0444);
MODULE_PARM_DESC(test_break_ms, "test: hand back through an invalid STE held this many ms");
static bool test_keep_old_tables;
module_param(test_keep_old_tables, bool, 0444);
MODULE_PARM_DESC(test_keep_old_tables, "test: give back no page, ASID or VMID after hand-back");
#endif /* CONFIG_ARM_SMMU_V3_KHO_TEST */

struct skho_dev {
	struct list_head node;
	struct pci_dev *pdev;
	struct arm_smmu_kho_dev_info info;
};

/* A stream that left the handover after its device was selected. */
struct skho_dropped {
	u64 smmu_base;
	u32 sid;
	s32 error;			/* -SKHO_E_* */
	char dev[32];
	char why[96];
};
#define SKHO_MAX_DROPPED	64

static struct {
	struct mutex lock;
	struct list_head devs;
	u32 out_state;
	bool jumping;			/* the reboot notifier froze for the last time */
	s32 out_error;			/* -errno of the last failed FREEZE */
	char out_why[128];		/* ... or of the last drop */
	struct skho_dropped dropped[SKHO_MAX_DROPPED];
	u32 nr_dropped;
	u32 bench_clones;		/* SIDs populated for bench_streams */
	void *blob;			/* outgoing FDT, from kho_alloc_preserve() */
	size_t blob_len;
	struct skho_ranges pages;	/* page-rounded ranges preserved with KHO */
	u32 nr_out_streams;
	u64 freeze_ns;
	const void *in_blob;		/* incoming FDT, owned by the driver */
	size_t in_len;
	struct skho_handover in;
	bool in_parsed;
	s32 release_error;		/* -errno of the last RELEASE */
	u64 release_ns;			/* time the last successful RELEASE took */
	char release_why[128];		/* ... why the last one was refused */
} st = {
	.lock = __MUTEX_INITIALIZER(st.lock),
	.devs = LIST_HEAD_INIT(st.devs),
};

static const void *skho_map_phys(void *priv, u64 pa, u64 len)
{
	const bool *coherent = priv;

	if (!len || pa + len - 1 < pa)
		return NULL;
	if (!pfn_valid(PHYS_PFN(pa)) || !pfn_valid(PHYS_PFN(pa + len - 1)))
		return NULL;
	arm_smmu_kho_sync_for_cpu(pa, len, *coherent);
	return phys_to_virt(pa);
}

static int skho_preserve_pages(const struct skho_ranges *rs)
{
	u32 i, j;
	int ret;

	for (i = 0; i < rs->nr; i++) {
		ret = kho_preserve_pages(pfn_to_page(PHYS_PFN(rs->r[i].pa)),
					 rs->r[i].size >> PAGE_SHIFT);
		if (ret) {
			for (j = 0; j < i; j++)
				kho_unpreserve_pages(pfn_to_page(PHYS_PFN(rs->r[j].pa)),
						     rs->r[j].size >> PAGE_SHIFT);
			return ret;
		}
	}
	return 0;
}

static void skho_thaw_locked(void)
{
	struct skho_dev *d;
	u32 i;

	if (st.out_state != SMMU_KHO_FROZEN)
		return;
	arm_smmu_kho_set_outgoing(NULL, 0);
	kho_remove_subtree(st.blob);
	for (i = 0; i < st.pages.nr; i++)
		kho_unpreserve_pages(pfn_to_page(PHYS_PFN(st.pages.r[i].pa)),
				     st.pages.r[i].size >> PAGE_SHIFT);
	skho_ranges_free(&st.pages);
	kho_unpreserve_free(st.blob);
	st.blob = NULL;
	st.blob_len = 0;
	st.nr_out_streams = 0;
	list_for_each_entry(d, &st.devs, node)
		d->pdev->liveupdate_dma = 0;
	st.out_state = list_empty(&st.devs) ? SMMU_KHO_IDLE : SMMU_KHO_SELECTED;
}

/* The output policy of every snapshot: only memory KHO preserves. */
static bool skho_output_preserved(void *arg, u64 pa, u64 size)
{
	return kho_is_preserved(pa, size);
}

/*
 * Snapshot the selection into a fresh FDT; the caller owns *@blob.
 * Returns 0, -EADDRNOTAVAIL (a leaf maps memory KHO does not preserve),
 * -EIO (other snapshot failure), -E2BIG, -ENOMEM; @err names SID and why.
 */
static int skho_snapshot_locked(void **blob, size_t *len,
				struct skho_ranges *pages, u32 *nr_streams,
				struct skho_err *errp)
{
	struct skho_smmu_state smmus[SKHO_MAX_SMMUS] = {};
	u32 *sids[SKHO_MAX_SMMUS] = {};
	struct skho_snapshot *snap = NULL;
	struct skho_err local = {};
	struct skho_err *err = errp ? errp : &local;
	bool coherent = true;
	struct skho_mem mem = { .map = skho_map_phys, .priv = &coherent };
	struct skho_dev *d;
	u32 n = 0, i, j;
	int ret;

	u32 total = 0;

	list_for_each_entry(d, &st.devs, node)
		total += d->info.nr_sids;
	total += st.bench_clones;
	list_for_each_entry(d, &st.devs, node) {
		for (i = 0; i < n; i++)
			if (smmus[i].mmio_base == d->info.mmio_base)
				break;
		if (i == n) {
			if (n == SKHO_MAX_SMMUS) {
				ret = -E2BIG;
				goto out;
			}
			sids[n] = kcalloc(total, sizeof(u32), GFP_KERNEL);
			if (!sids[n]) {
				ret = -ENOMEM;
				goto out;
			}
			smmus[n] = (struct skho_smmu_state) {
				.mmio_base = d->info.mmio_base,
				.strtab_base = d->info.strtab_base,
				.strtab_cfg = d->info.strtab_cfg,
				.features = d->info.coherent ? SKHO_SMMU_F_COHERENT : 0,
				.oas = d->info.oas,
				.sids = sids[n],
				.output_ok = skho_output_preserved,
			};
			n++;
		}
		coherent &= d->info.coherent;
		for (j = 0; j < d->info.nr_sids; j++)
			sids[i][smmus[i].nr_sids++] = d->info.sids[j];
		if (d == list_first_entry(&st.devs, struct skho_dev, node))
			for (j = 0; j < st.bench_clones; j++)
				sids[i][smmus[i].nr_sids++] = BENCH_FIRST_SID + j;
	}
	ret = skho_snapshot_take(&snap, smmus, n, &mem, err);
	if (ret) {
		pr_err("snapshot failed: %s: %s\n", skho_strerror(ret), err->msg);
		ret = ret == -SKHO_E_OUTPUT ? -EADDRNOTAVAIL : -EIO;
		goto out;
	}
	*len = skho_snapshot_fdt_size(snap);
	*blob = kho_alloc_preserve(*len);
	if (IS_ERR(*blob)) {
		ret = PTR_ERR(*blob);
		*blob = NULL;
		goto out;
	}
	ret = skho_snapshot_to_fdt(snap, *blob, *len, err);
	if (ret) {
		pr_err("FDT failed: %s: %s\n", skho_strerror(ret), err->msg);
		kho_unpreserve_free(*blob);
		*blob = NULL;
		ret = -EIO;
		goto out;
	}
	*nr_streams = 0;
	for (i = 0; i < n; i++) {
		const struct skho_ranges *rs = skho_snapshot_ranges(snap, i);

		*nr_streams += smmus[i].nr_sids;
		for (j = 0; j < rs->nr && !ret; j++) {
			u64 a = round_down(rs->r[j].pa, PAGE_SIZE);
			u64 b = round_up(rs->r[j].pa + rs->r[j].size, PAGE_SIZE);

			ret = skho_ranges_add(pages, a, b - a) ? -ENOMEM : 0;
		}
	}
	if (!ret)
		skho_ranges_normalize(pages);
	if (ret) {
		kho_unpreserve_free(*blob);
		*blob = NULL;
	}
out:
	skho_snapshot_free(snap);
	for (i = 0; i < n; i++)
		kfree(sids[i]);
	return ret;
}

static struct skho_dev *skho_find(struct pci_dev *pdev)
{
	struct skho_dev *d;

	list_for_each_entry(d, &st.devs, node)
		if (d->pdev == pdev)
			return d;
	return NULL;
}

static void skho_drop(struct skho_dev *d)
{
	arm_smmu_kho_mark(&d->pdev->dev, false, &d->info);
	d->pdev->liveupdate_dma = 0;
	list_del(&d->node);
	pci_dev_put(d->pdev);
	kfree(d);
}

/* The core's errors name a SID, not its SMMU: then any SMMU's will do. */
#define SKHO_ANY_SMMU	U64_MAX

/* The first selected device owning @sid of the SMMU at @mmio, or NULL. */
static struct skho_dev *skho_owner(u64 mmio, u32 sid)
{
	struct skho_dev *d;
	u32 i;

	list_for_each_entry(d, &st.devs, node)
		for (i = 0; i < d->info.nr_sids; i++)
			if ((mmio == SKHO_ANY_SMMU || d->info.mmio_base == mmio) &&
			    d->info.sids[i] == sid)
				return d;
	return NULL;
}

/* Deselect @d for good in this update: its streams leave the handover. */
static void skho_drop_changed(struct skho_dev *d, int error, const char *why)
{
	u32 i;

	for (i = 0; i < d->info.nr_sids && st.nr_dropped < SKHO_MAX_DROPPED; i++) {
		struct skho_dropped *x = &st.dropped[st.nr_dropped++];

		x->smmu_base = d->info.mmio_base;
		x->sid = d->info.sids[i];
		x->error = error;
		strscpy(x->dev, pci_name(d->pdev), sizeof(x->dev));
		strscpy(x->why, why, sizeof(x->why));
	}
	snprintf(st.out_why, sizeof(st.out_why), "%s dropped: %s",
		 pci_name(d->pdev), why);
	pr_warn("%s\n", st.out_why);
	skho_drop(d);
	if (list_empty(&st.devs))
		st.out_state = SMMU_KHO_IDLE;
}

/*
 * First stream of @now whose record (SID, digests, raw STE) differs from the
 * frozen @ref, or SKHO_NO_SID.  Streams of @ref missing from @now left the
 * selection on purpose.  Both blobs are this kernel's own.
 */
static u32 skho_first_changed(const void *ref, size_t ref_len, const void *now,
			      size_t now_len, u64 *mmio)
{
	struct skho_handover *a = kcalloc(2, sizeof(*a), GFP_KERNEL);
	struct skho_handover *b = a + 1;
	u32 sid = SKHO_NO_SID, i, j, k;

	if (!a)
		return SKHO_NO_SID - 1;	/* no memory to prove it: treat as changed */
	if (skho_handover_parse(ref, ref_len, a, NULL) ||
	    skho_handover_parse(now, now_len, b, NULL)) {
		sid = SKHO_NO_SID - 1;
		goto out;
	}
	for (i = 0; i < b->nr_smmus && sid == SKHO_NO_SID; i++) {
		const struct skho_ho_smmu *n = &b->smmu[i];
		const struct skho_ho_smmu *o = NULL;

		for (k = 0; k < a->nr_smmus; k++)
			if (a->smmu[k].mmio_base == n->mmio_base)
				o = &a->smmu[k];
		for (j = 0, k = 0; j < n->nr_streams; j++) {
			const u8 *rn = (const u8 *)n->streams + j * sizeof(struct skho_abi_stream);
			u32 s = skho_fdt_ld32(rn);
			const u8 *ro = NULL;

			while (o && k < o->nr_streams) {
				const u8 *r = (const u8 *)o->streams +
					      k * sizeof(struct skho_abi_stream);

				if (skho_fdt_ld32(r) >= s) {
					if (skho_fdt_ld32(r) == s)
						ro = r;
					break;
				}
				k++;
			}
			if (!ro || memcmp(ro, rn, sizeof(struct skho_abi_stream))) {
				sid = s;
				*mmio = n->mmio_base;
				break;
			}
		}
	}
out:
	skho_handover_release(a);
	skho_handover_release(b);
	kfree(a);
	return sid;
}

static void skho_unpreserve_pages(const struct skho_ranges *rs)
{
	u32 i;

	for (i = 0; i < rs->nr; i++)
		kho_unpreserve_pages(pfn_to_page(PHYS_PFN(rs->r[i].pa)),
				     rs->r[i].size >> PAGE_SHIFT);
}

/*
 * Freeze the selection, or refresh a frozen snapshot under the contract
 * (top of file): a refresh never hands over a stream that differs from its
 * frozen record; the device is dropped instead.  @last: the reboot
 * notifier's call, which also drops a device whose snapshot fails rather
 * than preserving nothing.  Returns 0 (something is frozen, possibly less
 * than selected), -EINVAL (nothing selected or left), -EADDRNOTAVAIL,
 * -EIO, -ENOMEM, or KHO's error.
 */
static int skho_freeze_locked(bool last)
{
	struct skho_ranges pages = {};
	u64 t0 = ktime_get_ns();
	struct skho_err err;
	void *ref = NULL, *blob;
	size_t ref_len = 0, len;
	struct skho_dev *d;
	u32 nr_streams, sid;
	u64 mmio = 0;
	int ret;

	if (st.out_state == SMMU_KHO_FROZEN) {
		ref = kmemdup(st.blob, st.blob_len, GFP_KERNEL);
		if (!ref)
			return -ENOMEM;
		ref_len = st.blob_len;
	}
	for (;;) {
		if (list_empty(&st.devs)) {
			ret = -EINVAL;
			goto out;
		}
		memset(&err, 0, sizeof(err));
		err.sid = SKHO_NO_SID;
		ret = skho_snapshot_locked(&blob, &len, &pages, &nr_streams, &err);
		if (ret) {
			skho_ranges_free(&pages);	/* a failure may leave some */
			d = skho_owner(SKHO_ANY_SMMU, err.sid);
			st.out_error = ret;
			snprintf(st.out_why, sizeof(st.out_why), "%s", err.msg);
			if (!d || !(last || ref))
				goto out;
			skho_thaw_locked();
			skho_drop_changed(d, err.code, err.msg);
			continue;
		}
		if (ref) {
			if (st.out_state == SMMU_KHO_FROZEN && len == st.blob_len &&
			    !memcmp(blob, st.blob, len)) {
				kho_unpreserve_free(blob);
				skho_ranges_free(&pages);
				st.freeze_ns = ktime_get_ns() - t0;
				goto out;	/* nothing changed: keep what is handed over */
			}
			sid = skho_first_changed(ref, ref_len, blob, len, &mmio);
			if (sid != SKHO_NO_SID) {
				kho_unpreserve_free(blob);
				skho_ranges_free(&pages);
				d = skho_owner(mmio, sid);
				skho_thaw_locked();
				if (!d) {	/* a benchmark copy, or no memory to compare */
					ret = -EIO;
					snprintf(st.out_why, sizeof(st.out_why),
						 "SID %#x changed since the freeze and has no device: nothing preserved",
						 sid);
					goto out;
				}
				skho_drop_changed(d, -SKHO_E_DIGEST,
						  "translation changed since the freeze");
				continue;
			}
			/* Same streams, same translation: the new bytes may replace. */
			skho_thaw_locked();
		}
		break;
	}
	ret = skho_preserve_pages(&pages);
	if (ret)
		goto err_free;
	ret = kho_add_subtree(SKHO_KHO_NAME, blob, len);
	if (ret) {
		skho_unpreserve_pages(&pages);
		goto err_free;
	}
	st.blob = blob;
	st.blob_len = len;
	st.pages = pages;
	st.nr_out_streams = nr_streams;
	arm_smmu_kho_set_outgoing(blob, len);
	list_for_each_entry(d, &st.devs, node)
		d->pdev->liveupdate_dma = keep_bus_master;
	st.out_state = SMMU_KHO_FROZEN;
	st.out_error = 0;
	st.freeze_ns = ktime_get_ns() - t0;
	pr_info("frozen: %u streams, %zu FDT bytes, %u ranges, %llu ns\n",
		nr_streams, len, pages.nr, st.freeze_ns);
	goto out;

err_free:
	pr_err("freeze failed: %d\n", ret);
	st.out_error = ret;
	kho_unpreserve_free(blob);
	skho_ranges_free(&pages);
out:
	kfree(ref);
	return ret;
}

static struct pci_dev *skho_pci_by_name(const struct smmu_kho_dev_arg *a)
{
	char name[sizeof(a->name)];
	struct device *dev;

	memcpy(name, a->name, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	dev = bus_find_device_by_name(&pci_bus_type, NULL, name);
	return dev ? to_pci_dev(dev) : NULL;
}

/*
 * Translation state the snapshot (STEs, CDs, page tables) does not carry:
 * with ATS the device caches translations in its ATC, which the next kernel
 * neither knows of nor invalidates; PRI leaves page requests to a fault
 * handler the handover does not carry; PASID means per-PASID address spaces
 * (SVA, a CD table of more than one CD) the handover does not describe.
 * Returns -EPROTONOSUPPORT with @why filled in, or 0.
 */
static int skho_refuse_features(struct pci_dev *pdev, char *why, size_t len)
{
	const char *what = NULL;

	if (pdev->ats_enabled)
		what = "ATS enabled, the ATC is not handed over";
	else if (pdev->pri_enabled)
		what = "PRI enabled, page requests are not handed over";
	else if (pdev->pasid_enabled)
		what = "PASID enabled, SVA/PASID spaces not handed over";
	if (!what)
		return 0;
	snprintf(why, len, "%s refused: %s", pci_name(pdev), what);
	return -EPROTONOSUPPORT;
}

/* The kind of domain @pdev is attached to now (group->domain). */
static u32 skho_domain_kind(struct pci_dev *pdev)
{
	struct iommu_domain *dom = iommu_get_domain_for_dev(&pdev->dev);

	if (!dom)
		return SMMU_KHO_DOMAIN_NONE;
	switch (dom->type) {
	case IOMMU_DOMAIN_BLOCKED:
		return SMMU_KHO_DOMAIN_BLOCKED;
	case IOMMU_DOMAIN_IDENTITY:
		return SMMU_KHO_DOMAIN_IDENTITY;
	case IOMMU_DOMAIN_DMA:
	case IOMMU_DOMAIN_DMA_FQ:
		return SMMU_KHO_DOMAIN_DMA;
	case IOMMU_DOMAIN_UNMANAGED:
		return SMMU_KHO_DOMAIN_UNMANAGED;
	case IOMMU_DOMAIN_NESTED:
		return SMMU_KHO_DOMAIN_NESTED;
	default:
		return SMMU_KHO_DOMAIN_OTHER;
	}
}

/*
 * PROBE: driver, domain and refusal of one device; nothing changes.  The
 * driver pointer is read without the device lock, as dev_driver_string()
 * does: a snapshot for the operator, PRESERVE checks again.
 */
static int skho_ioc_probe(struct smmu_kho_probe_arg *a)
{
	struct smmu_kho_dev_arg dev = { .size = sizeof(dev) };
	const struct device_driver *drv;
	struct pci_dev *pdev;

	memcpy(dev.name, a->name, sizeof(dev.name));
	pdev = skho_pci_by_name(&dev);
	if (!pdev)
		return -ENODEV;
	drv = READ_ONCE(pdev->dev.driver);
	strscpy(a->out_driver, drv ? drv->name : "", sizeof(a->out_driver));
	a->out_domain = skho_domain_kind(pdev);
	a->out_refuse = skho_refuse_features(pdev, a->out_why, sizeof(a->out_why));
	pci_dev_put(pdev);
	return 0;
}

/*
 * Devices whose streams were adopted are still doing the DMA the previous
 * kernel handed over: liveupdate_dma keeps vfio-pci (and pci_disable_device)
 * from resetting them or clearing Bus Master until they are released.
 * Called at load, before user space binds a driver to them.
 */
static void skho_keep_adopted(void)
{
	struct arm_smmu_kho_stream_info si;
	struct arm_smmu_kho_dev_info info;
	struct pci_dev *pdev = NULL;
	unsigned int i;

	if (!st.in_parsed || !keep_bus_master)
		return;
	for_each_pci_dev(pdev) {
		/* Not preserving: only reads the device's SIDs and SMMU. */
		if (arm_smmu_kho_mark(&pdev->dev, false, &info))
			continue;
		for (i = 0; i < info.nr_sids; i++) {
			if (arm_smmu_kho_stream_info(info.mmio_base, info.sids[i], &si) ||
			    si.in_state != ARM_SMMU_KHO_IN_ADOPTED)
				continue;
			pdev->liveupdate_dma = 1;
			pci_info(pdev, "adopted: DMA kept running until released\n");
			break;
		}
	}
}

/*
 * After RELEASE or QUARANTINE (@ret 0): the device is an ordinary one again,
 * unless it is selected for the next update.
 */
static void skho_unkeep_adopted(struct pci_dev *pdev, int ret)
{
	if (!ret && !skho_find(pdev))
		pdev->liveupdate_dma = 0;
}

/* RELEASE: hand @pdev's adopted streams to their new domain (uapi: EXDEV). */
static int skho_release(struct pci_dev *pdev, u32 flags)
{
	u64 t0 = ktime_get_ns();
	int ret;

	ret = arm_smmu_kho_release(&pdev->dev,
				   flags & SMMU_KHO_RELEASE_REPLACE ?
				   ARM_SMMU_KHO_RELEASE_REPLACE : 0,
				   st.release_why, sizeof(st.release_why));
	st.release_error = ret;
	if (!ret)
		st.release_ns = ktime_get_ns() - t0;
	skho_unkeep_adopted(pdev, ret);
	return ret;
}

/* What an earlier update attempt left in STATUS and STREAMS. */
static void skho_forget_update(void)
{
	st.nr_dropped = 0;
	st.out_error = 0;
	st.out_why[0] = '\0';
}

/*
 * vm-bench: the first selected device brings bench_streams - 1 copies of its
 * STE.  Needs the driver's test hooks (ARM_SMMU_V3_KHO_TEST); frees @d on
 * failure.
 */
static int skho_bench_clone(struct pci_dev *pdev, struct skho_dev *d)
{
	int ret = 0;

	if (!list_empty(&st.devs) || bench_streams <= 1 || st.bench_clones)
		return 0;
#ifdef CONFIG_ARM_SMMU_V3_KHO_TEST
	ret = arm_smmu_kho_clone_for_bench(&pdev->dev, BENCH_FIRST_SID,
					   bench_streams - 1);
#else
	ret = -EOPNOTSUPP;
#endif
	if (ret) {
		arm_smmu_kho_mark(&pdev->dev, false, &d->info);
		kfree(d);
		return ret;
	}
	st.bench_clones = bench_streams - 1;
	return 0;
}

static int skho_ioc_dev(unsigned int cmd, struct smmu_kho_dev_arg *a)
{
	struct pci_dev *pdev = skho_pci_by_name(a);
	struct skho_dev *d;
	int ret = 0;

	if (!pdev)
		return -ENODEV;
	d = skho_find(pdev);
	switch (_IOC_NR(cmd)) {
	case _IOC_NR(SMMU_KHO_IOC_PRESERVE):
		if (st.out_state == SMMU_KHO_IDLE)
			skho_forget_update();	/* a new update starts */
		if (d)
			break;
		ret = skho_refuse_features(pdev, st.out_why, sizeof(st.out_why));
		if (ret) {
			pr_warn("%s\n", st.out_why);
			break;
		}
		d = kzalloc_obj(*d);
		if (!d) {
			ret = -ENOMEM;
			break;
		}
		ret = arm_smmu_kho_mark(&pdev->dev, true, &d->info);
		if (ret) {
			kfree(d);
			break;
		}
		ret = skho_bench_clone(pdev, d);
		if (ret)
			break;
		skho_thaw_locked();
		d->pdev = pci_dev_get(pdev);
		list_add_tail(&d->node, &st.devs);
		st.out_state = SMMU_KHO_SELECTED;
		break;
	case _IOC_NR(SMMU_KHO_IOC_UNPRESERVE):
		if (!d) {
			ret = -ENOENT;
			break;
		}
		skho_thaw_locked();
		skho_drop(d);
		st.out_state = list_empty(&st.devs) ? SMMU_KHO_IDLE : SMMU_KHO_SELECTED;
		break;
	case _IOC_NR(SMMU_KHO_IOC_RELEASE):
		ret = skho_release(pdev, a->flags);
		break;
	case _IOC_NR(SMMU_KHO_IOC_QUARANTINE):
		ret = arm_smmu_kho_quarantine(&pdev->dev);
		skho_unkeep_adopted(pdev, ret);
		break;
	}
	pci_dev_put(pdev);
	return ret;
}

static void skho_abort_locked(void)
{
	struct skho_dev *d, *tmp;

	skho_thaw_locked();
	list_for_each_entry_safe(d, tmp, &st.devs, node)
		skho_drop(d);
	st.out_state = SMMU_KHO_IDLE;
}

static void skho_status_handback(struct smmu_kho_status *s)
{
	struct arm_smmu_kho_counts c;

	arm_smmu_kho_counts(&c);
	s->release_error = st.release_error;
	s->release_ns = st.release_ns;
	strscpy(s->release_why, st.release_why, sizeof(s->release_why));
	s->nr_released_hitless = c.released_hitless;
	s->in_adopted_pages = c.adopted_pages;
	s->in_freed_pages = c.freed_pages;
	s->in_kept_pages = c.adopted_pages - c.freed_pages;
	s->nr_asids_freed = c.asids_freed;
	s->nr_vmids_freed = c.vmids_freed;
}

static void skho_status(struct smmu_kho_status *s)
{
	u32 i, j, adopted = 0, refused = 0, released = 0, quarantined = 0;
	s32 first_error = 0;

	memset(s, 0, sizeof(*s));
	s->size = sizeof(*s);
	s->out_state = st.jumping && st.out_state == SMMU_KHO_FROZEN ?
		       SMMU_KHO_JUMPING : st.out_state;
	s->nr_out_streams = st.nr_out_streams;
	s->out_fdt_len = st.blob_len;
	for (i = 0; i < st.pages.nr; i++)
		s->out_preserved_bytes += st.pages.r[i].size;
	s->out_preserved_pages = s->out_preserved_bytes >> PAGE_SHIFT;
	s->freeze_ns = st.freeze_ns;
	s->out_error = st.out_error;
	skho_status_handback(s);
	s->nr_dropped = st.nr_dropped;
	strscpy(s->out_why, st.out_why, sizeof(s->out_why));
	s->in_error = arm_smmu_kho_incoming_error(s->in_why, sizeof(s->in_why));
	if (!st.in_parsed) {
		/* No subtree at all, or one the driver (or we) refused whole. */
		s->in_state = s->in_error ? SMMU_KHO_IN_REFUSED : SMMU_KHO_IDLE;
		return;
	}
	s->in_fdt_len = st.in_len;
#ifdef CONFIG_ARM_SMMU_V3_KHO_TEST
	s->adopt_ns = arm_smmu_kho_adopt_ns();
	arm_smmu_kho_abort_stats(&s->nr_abort_stes, &s->nr_abort_rewritten);
#endif
	for (i = 0; i < st.in.nr_smmus; i++) {
		const struct skho_ho_smmu *hs = &st.in.smmu[i];

		for (j = 0; j < hs->nr_streams; j++) {
			struct arm_smmu_kho_stream_info info = {};
			u32 sid = skho_fdt_ld32((const u8 *)hs->streams +
						j * sizeof(struct skho_abi_stream));

			s->nr_in_streams++;
			if (arm_smmu_kho_stream_info(hs->mmio_base, sid, &info)) {
				refused++;	/* no such SMMU here: never adopted */
				first_error = first_error ?: -SKHO_E_SMMU;
				continue;
			}
			adopted += info.in_state == ARM_SMMU_KHO_IN_ADOPTED;
			released += info.in_state == ARM_SMMU_KHO_IN_RELEASED;
			quarantined += info.in_state == ARM_SMMU_KHO_IN_QUARANTINED;
			if (info.in_state == ARM_SMMU_KHO_IN_REFUSED) {
				refused++;
				first_error = first_error ?: info.error;
			}
		}
	}
	s->nr_adopted = adopted;
	s->nr_refused = refused;
	s->nr_released = released;
	s->nr_quarantined = quarantined;
	if (s->nr_in_streams && refused == s->nr_in_streams) {
		s->in_state = SMMU_KHO_ALL_REFUSED;
		s->in_error = first_error;
		snprintf(s->in_why, sizeof(s->in_why), "all %u streams refused, first: %s",
			 refused, skho_strerror(first_error));
	} else if (!adopted && released + quarantined) {
		s->in_state = SMMU_KHO_RELEASED;
	} else {
		s->in_state = SMMU_KHO_ADOPTED;
	}
}

/* Name of the selected device owning @sid, "" for a benchmark copy. */
static void skho_dev_name(u32 sid, char *buf, size_t len)
{
	struct skho_dev *d = skho_owner(SKHO_ANY_SMMU, sid);

	strscpy(buf, d ? pci_name(d->pdev) : "", len);
}

struct skho_live {
	const struct skho_mem *mem;
};

static int skho_live_pt_digest(void *arg, const struct skho_pt_cfg *pt,
			       u64 *digest, struct skho_err *err)
{
	struct skho_live *l = arg;

	return skho_pt_digest(pt, l->mem, NULL, NULL, digest, err);
}

/* Incoming tables, except pages given back after hand-back. */
static const void *skho_map_in(void *priv, u64 pa, u64 len)
{
	if (arm_smmu_kho_in_freed(pa, len))
		return NULL;
	return skho_map_phys(priv, pa, len);
}

/* Digests of one incoming stream as its tables are now in memory. */
static void skho_live_digests(const struct skho_ho_smmu *hs, u32 sid,
			      struct smmu_kho_stream_info *out)
{
	bool coherent = hs->features & SKHO_SMMU_F_COHERENT;
	struct skho_mem base = { .map = skho_map_in, .priv = &coherent };
	struct skho_mem_fence fence;
	struct skho_live live;
	struct skho_stream_visitor v = { .pt_digest = skho_live_pt_digest,
					 .arg = &live };
	struct skho_smmu smmu = {
		.strtab_base = hs->strtab_base,
		.strtab_cfg = hs->strtab_cfg,
		.oas = 52,
	};
	struct skho_err err = {};
	const u8 *ste;
	u64 pa;

	skho_mem_fence_init(&fence, &base, &hs->ranges);
	live.mem = &fence.mem;
	smmu.mem = &fence.mem;
	if (skho_ste_locate(&smmu, sid, &pa) != SKHO_XLATE_OK)
		return;
	ste = skho_map(&fence.mem, pa, 64);
	if (!ste)
		return;
	out->ste_digest = skho_digest_buf(ste, 64, 0);
	if (skho_stream_visit(&smmu, sid, ste, &v, &out->xlat_digest, &err))
		out->xlat_digest = 0;
}

/* What the SMMU itself reads for @sid now (the live registers' table). */
static void skho_fill_live(struct smmu_kho_stream_info *info)
{
	struct arm_smmu_kho_live_ste live;

	if (arm_smmu_kho_live_ste(info->smmu_base, info->sid, &live))
		return;
	memcpy(info->ste, live.ste, sizeof(info->ste));
	info->strtab_base = live.strtab_base;
	info->strtab_cfg = live.strtab_cfg;
	info->ste_live = 1;
}

static int skho_put_info(struct smmu_kho_streams_arg *a,
			 struct smmu_kho_stream_info __user *uinfo, u32 *n,
			 struct smmu_kho_stream_info *info)
{
	int ret = 0;

	if (*n < a->nr && copy_to_user(&uinfo[*n], info, sizeof(*info)))
		ret = -EFAULT;
	(*n)++;
	return ret;
}

static int skho_ioc_streams(struct smmu_kho_streams_arg *a)
{
	struct smmu_kho_stream_info __user *uinfo = u64_to_user_ptr(a->info);
	struct skho_handover *out = kzalloc_obj(*out);
	struct smmu_kho_stream_info *info = kzalloc_obj(*info);
	u32 n = 0, i, j, pass;
	int ret = 0;

	if (!out || !info) {
		ret = -ENOMEM;
		goto free;
	}
	if (st.out_state == SMMU_KHO_FROZEN &&
	    skho_handover_parse(st.blob, st.blob_len, out, NULL)) {
		ret = -EIO;
		goto free;
	}
	for (pass = 0; pass < 2; pass++) {
		const struct skho_handover *ho = pass ? &st.in : out;

		if (pass && !st.in_parsed)
			break;
		for (i = 0; i < ho->nr_smmus; i++) {
			const struct skho_ho_smmu *hs = &ho->smmu[i];

			for (j = 0; j < hs->nr_streams; j++) {
				const u8 *r = (const u8 *)hs->streams +
					      j * sizeof(struct skho_abi_stream);
				struct arm_smmu_kho_stream_info k = {};

				memset(info, 0, sizeof(*info));
				info->smmu_base = hs->mmio_base;
				info->sid = skho_fdt_ld32(r);
				if (!pass) {
					skho_dev_name(info->sid, info->dev, sizeof(info->dev));
					info->state = SMMU_KHO_STREAM_PRESERVED;
					info->ste_digest = skho_fdt_ld64(r +
						offsetof(struct skho_abi_stream, ste_digest));
					info->xlat_digest = skho_fdt_ld64(r +
						offsetof(struct skho_abi_stream, xlat_digest));
				} else {
					arm_smmu_kho_stream_info(hs->mmio_base, info->sid, &k);
					info->state = k.in_state;
					info->error = k.error;
					info->events = k.events;
					if (k.in_state == ARM_SMMU_KHO_IN_REFUSED)
						snprintf(info->why, sizeof(info->why), "%s",
							 skho_strerror(k.error));
					else if (k.in_state == ARM_SMMU_KHO_IN_QUARANTINED)
						strscpy(info->why, "quarantined: abort STE",
							sizeof(info->why));
					skho_live_digests(hs, info->sid, info);
				}
				skho_fill_live(info);
				ret = skho_put_info(a, uinfo, &n, info);
				if (ret)
					goto free;
			}
		}
	}
	for (i = 0; i < st.nr_dropped; i++) {
		const struct skho_dropped *x = &st.dropped[i];

		memset(info, 0, sizeof(*info));
		info->smmu_base = x->smmu_base;
		info->sid = x->sid;
		info->state = SMMU_KHO_STREAM_DROPPED;
		info->error = x->error;
		strscpy(info->dev, x->dev, sizeof(info->dev));
		strscpy(info->why, x->why, sizeof(info->why));
		skho_fill_live(info);
		ret = skho_put_info(a, uinfo, &n, info);
		if (ret)
			goto free;
	}
	a->nr = n;
free:
	if (out)
		skho_handover_release(out);
	kfree(out);
	kfree(info);
	return ret;
}

/* Bytes of preserved tables: only inside what this kernel preserved or was handed. */
static int skho_ioc_read(const struct smmu_kho_read_arg *a)
{
	bool coherent = true, inside = false;
	struct skho_mem mem = { .map = skho_map_phys, .priv = &coherent };
	const void *p;
	struct skho_dev *d;
	u32 i;

	if (!a->len || a->len > SZ_1M || a->pa + a->len - 1 < a->pa ||
	    a->which > SMMU_KHO_FDT_IN)
		return -EINVAL;
	if (a->which == SMMU_KHO_FDT_OUT) {
		inside = st.out_state == SMMU_KHO_FROZEN &&
			 skho_ranges_contain(&st.pages, a->pa, a->len);
		list_for_each_entry(d, &st.devs, node)
			coherent &= d->info.coherent;
	} else if (st.in_parsed) {
		for (i = 0; i < st.in.nr_smmus && !inside; i++) {
			inside = skho_ranges_contain(&st.in.smmu[i].ranges, a->pa, a->len);
			coherent = st.in.smmu[i].features & SKHO_SMMU_F_COHERENT;
		}
		/* Pages given back after hand-back are the allocator's again. */
		inside &= !arm_smmu_kho_in_freed(a->pa, a->len);
	}
	if (!inside)
		return -ENOENT;
	p = skho_map(&mem, a->pa, a->len);
	if (!p)
		return -ENOENT;
	return copy_to_user(u64_to_user_ptr(a->buf), p, a->len) ? -EFAULT : 0;
}

/* Flags of struct smmu_kho_dev_arg this kernel knows per ioctl. */
static u32 skho_flags_known(unsigned int nr)
{
	return nr == _IOC_NR(SMMU_KHO_IOC_RELEASE) ? SMMU_KHO_RELEASE_REPLACE : 0;
}

/* Argument size this kernel knows per ioctl; 0: no argument. */
static size_t skho_arg_size(unsigned int nr)
{
	switch (nr) {
	case _IOC_NR(SMMU_KHO_IOC_PRESERVE):
	case _IOC_NR(SMMU_KHO_IOC_UNPRESERVE):
	case _IOC_NR(SMMU_KHO_IOC_RELEASE):
	case _IOC_NR(SMMU_KHO_IOC_QUARANTINE):
		return sizeof(struct smmu_kho_dev_arg);
	case _IOC_NR(SMMU_KHO_IOC_STATUS):
		return sizeof(struct smmu_kho_status);
	case _IOC_NR(SMMU_KHO_IOC_GET_FDT):
		return sizeof(struct smmu_kho_fdt_arg);
	case _IOC_NR(SMMU_KHO_IOC_STREAMS):
		return sizeof(struct smmu_kho_streams_arg);
	case _IOC_NR(SMMU_KHO_IOC_READ):
		return sizeof(struct smmu_kho_read_arg);
	case _IOC_NR(SMMU_KHO_IOC_PROBE):
		return sizeof(struct smmu_kho_probe_arg);
	default:
		return 0;
	}
}

/* Calls that change what is handed over, or hand streams back. */
static bool skho_mutates(unsigned int nr)
{
	return nr == _IOC_NR(SMMU_KHO_IOC_PRESERVE) ||
	       nr == _IOC_NR(SMMU_KHO_IOC_UNPRESERVE) ||
	       nr == _IOC_NR(SMMU_KHO_IOC_FREEZE) ||
	       nr == _IOC_NR(SMMU_KHO_IOC_ABORT) ||
	       nr == _IOC_NR(SMMU_KHO_IOC_RELEASE) ||
	       nr == _IOC_NR(SMMU_KHO_IOC_QUARANTINE);
}

static int skho_ioc_get_fdt(struct smmu_kho_fdt_arg *a,
			    struct smmu_kho_fdt_arg __user *uarg)
{
	const void *b = a->which ? st.in_blob : st.blob;
	size_t len = a->which ? st.in_len : st.blob_len;
	int ret = 0;

	if (a->which > SMMU_KHO_FDT_IN)
		return -EINVAL;
	if (!b)
		ret = -ENOENT;
	else if (a->buf_len < len)
		ret = -ENOSPC;
	else if (copy_to_user(u64_to_user_ptr(a->buf), b, len))
		ret = -EFAULT;
	if (put_user((u64)len, &uarg->fdt_len))
		ret = -EFAULT;
	return ret;
}

/*
 * Dispatch on the ioctl number only: the size bits follow the header the
 * caller was built with, and @size inside the struct says how much of it
 * the caller knows: copy_struct_from_user() zero-fills a shorter struct
 * and refuses (E2BIG) non-zero bytes past the one this kernel knows.
 * Errors: the list in uapi/smmu_kho.h.
 */
static long skho_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	union {
		struct smmu_kho_dev_arg dev;
		struct smmu_kho_status status;
		struct smmu_kho_fdt_arg fdt;
		struct smmu_kho_streams_arg streams;
		struct smmu_kho_read_arg read;
		struct smmu_kho_probe_arg probe;
	} u;
	unsigned int nr = _IOC_NR(cmd);
	size_t ksize = skho_arg_size(nr);
	long ret = 0;
	u32 size = 0;

	if (_IOC_TYPE(cmd) != SMMU_KHO_IOC_MAGIC || nr < 1 ||
	    nr > _IOC_NR(SMMU_KHO_IOC_PROBE))
		return -ENOTTY;
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	memset(&u, 0, sizeof(u));
	if (ksize) {
		if (get_user(size, (u32 __user *)uarg))
			return -EFAULT;
		if (size < 8)
			return -EINVAL;
		if (size > PAGE_SIZE)
			return -E2BIG;
		ret = copy_struct_from_user(&u, ksize, uarg, size);
		if (ret)
			return ret;
		if ((ksize == sizeof(u.dev) || nr == _IOC_NR(SMMU_KHO_IOC_PROBE)) &&
		    (u.dev.flags & ~skho_flags_known(nr)))
			return -EINVAL;	/* a flag this kernel does not know */
	}
	if (!kho_is_enabled() && nr != _IOC_NR(SMMU_KHO_IOC_STATUS))
		return -EOPNOTSUPP;

	mutex_lock(&st.lock);
	if (st.jumping && skho_mutates(nr)) {
		ret = -EBUSY;	/* frozen for the last time: the kexec is under way */
		goto out;
	}
	switch (nr) {
	case _IOC_NR(SMMU_KHO_IOC_PRESERVE):
	case _IOC_NR(SMMU_KHO_IOC_UNPRESERVE):
	case _IOC_NR(SMMU_KHO_IOC_RELEASE):
	case _IOC_NR(SMMU_KHO_IOC_QUARANTINE):
		ret = skho_ioc_dev(cmd, &u.dev);
		break;
	case _IOC_NR(SMMU_KHO_IOC_FREEZE):
		ret = skho_freeze_locked(false);
		break;
	case _IOC_NR(SMMU_KHO_IOC_ABORT):
		skho_abort_locked();
		skho_forget_update();
		break;
	case _IOC_NR(SMMU_KHO_IOC_STATUS):
		skho_status(&u.status);
		ret = copy_to_user(uarg, &u.status, min_t(size_t, size, sizeof(u.status))) ?
		      -EFAULT : 0;
		break;
	case _IOC_NR(SMMU_KHO_IOC_GET_FDT):
		ret = skho_ioc_get_fdt(&u.fdt, uarg);
		break;
	case _IOC_NR(SMMU_KHO_IOC_STREAMS):
		ret = skho_ioc_streams(&u.streams);
		if (!ret && put_user(u.streams.nr,
				     &((struct smmu_kho_streams_arg __user *)uarg)->nr))
			ret = -EFAULT;
		break;
	case _IOC_NR(SMMU_KHO_IOC_READ):
		ret = skho_ioc_read(&u.read);
		break;
	case _IOC_NR(SMMU_KHO_IOC_PROBE):
		ret = skho_ioc_probe(&u.probe);
		if (!ret && copy_to_user(uarg, &u.probe, min_t(size_t, size, sizeof(u.probe))))
			ret = -EFAULT;
		break;
	default:
		ret = -ENOTTY;
	}
out:
	mutex_unlock(&st.lock);
	return ret;
}

static const struct file_operations skho_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = skho_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice skho_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "smmu_kho",
	.fops = &skho_fops,
	.mode = 0600,
};

/* The last moment before the jump: freeze, or refresh a frozen snapshot. */
static int skho_reboot(struct notifier_block *nb, unsigned long code, void *p)
{
	int ret;

	if (code != SYS_RESTART)
		return NOTIFY_DONE;
	mutex_lock(&st.lock);
	if (st.out_state == SMMU_KHO_SELECTED || st.out_state == SMMU_KHO_FROZEN) {
		ret = skho_freeze_locked(true);
		if (ret) {
			pr_err("freeze at reboot failed (%d): nothing is preserved\n", ret);
			skho_abort_locked();
		}
	}
	st.jumping = true;	/* from here on nothing may change the handover */
	mutex_unlock(&st.lock);
	return NOTIFY_DONE;
}

static struct notifier_block skho_reboot_nb = {
	.notifier_call = skho_reboot,
	.priority = INT_MIN,	/* after everyone else's notifier */
};

static int __init skho_init(void)
{
	struct skho_err err = {};
	int ret;

	st.in_blob = arm_smmu_kho_incoming(&st.in_len);
	if (st.in_blob) {
		ret = skho_handover_parse(st.in_blob, st.in_len, &st.in, &err);
		if (ret)
			pr_err("incoming handover unreadable: %s: %s\n",
			       skho_strerror(ret), err.msg);
		st.in_parsed = !ret;
	}
	skho_keep_adopted();
#ifdef CONFIG_ARM_SMMU_V3_KHO_TEST
	arm_smmu_kho_test_handback(test_break_ms, test_keep_old_tables);
#endif /* CONFIG_ARM_SMMU_V3_KHO_TEST */
	ret = register_reboot_notifier(&skho_reboot_nb);
	if (ret)
		return ret;
	ret = misc_register(&skho_misc);
	if (ret)
		unregister_reboot_notifier(&skho_reboot_nb);
	return ret;
}

static void __exit skho_exit(void)
{
	misc_deregister(&skho_misc);
	unregister_reboot_notifier(&skho_reboot_nb);
	mutex_lock(&st.lock);
	skho_abort_locked();
	mutex_unlock(&st.lock);
	if (st.in_parsed)
		skho_handover_release(&st.in);
}

module_init(skho_init);
module_exit(skho_exit);
MODULE_DESCRIPTION("SMMUv3 live update over Kexec HandOver: control plane");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS("SMMU_KHO");
