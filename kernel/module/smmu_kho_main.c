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
 * depends on preserved with KHO, the FDT blob registered as KHO subtree
 * SKHO_KHO_NAME, and Bus Master kept on the selected devices.  The reboot
 * notifier freezes a SELECTED selection, or re-takes a FROZEN snapshot and
 * replaces it if the tables changed meanwhile: the state handed over is
 * the state at the last moment before the jump.  ABORT leaves nothing
 * preserved.
 */
#define pr_fmt(fmt) "smmu_kho: " fmt

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

struct skho_dev {
	struct list_head node;
	struct pci_dev *pdev;
	struct arm_smmu_kho_dev_info info;
};

static struct {
	struct mutex lock;
	struct list_head devs;
	u32 out_state;
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
} st = {
	.lock = __MUTEX_INITIALIZER(st.lock),
	.devs = LIST_HEAD_INIT(st.devs),
};

static const void *skho_map_phys(void *priv, u64 pa, u64 len)
{
	const bool *coherent = priv;

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

/* Snapshot the selection into a fresh FDT; the caller owns *@blob. */
static int skho_snapshot_locked(void **blob, size_t *len,
				struct skho_ranges *pages, u32 *nr_streams)
{
	struct skho_smmu_state smmus[SKHO_MAX_SMMUS] = {};
	u32 *sids[SKHO_MAX_SMMUS] = {};
	struct skho_snapshot *snap = NULL;
	struct skho_err err = {};
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
	ret = skho_snapshot_take(&snap, smmus, n, &mem, &err);
	if (ret) {
		pr_err("snapshot failed: %s: %s\n", skho_strerror(ret), err.msg);
		ret = -EIO;
		goto out;
	}
	*len = skho_snapshot_fdt_size(snap);
	*blob = kho_alloc_preserve(*len);
	if (IS_ERR(*blob)) {
		ret = PTR_ERR(*blob);
		*blob = NULL;
		goto out;
	}
	ret = skho_snapshot_to_fdt(snap, *blob, *len, &err);
	if (ret) {
		pr_err("FDT failed: %s: %s\n", skho_strerror(ret), err.msg);
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

static int skho_freeze_locked(void)
{
	struct skho_ranges pages = {};
	u64 t0 = ktime_get_ns();
	struct skho_dev *d;
	u32 nr_streams;
	size_t len;
	void *blob;
	int ret;

	if (list_empty(&st.devs))
		return -EINVAL;
	if (st.out_state == SMMU_KHO_FROZEN) {
		/* Refresh: keep the handed-over blob if nothing changed. */
		ret = skho_snapshot_locked(&blob, &len, &pages, &nr_streams);
		if (ret)
			return ret;
		if (len == st.blob_len && !memcmp(blob, st.blob, len)) {
			kho_unpreserve_free(blob);
			skho_ranges_free(&pages);
			st.freeze_ns = ktime_get_ns() - t0;
			return 0;
		}
		pr_info("tables changed since the freeze: snapshot replaced\n");
		skho_thaw_locked();
	} else {
		ret = skho_snapshot_locked(&blob, &len, &pages, &nr_streams);
		if (ret)
			return ret;
	}
	ret = skho_preserve_pages(&pages);
	if (ret)
		goto err_free;
	ret = kho_add_subtree(SKHO_KHO_NAME, blob, len);
	if (ret) {
		u32 i;

		for (i = 0; i < pages.nr; i++)
			kho_unpreserve_pages(pfn_to_page(PHYS_PFN(pages.r[i].pa)),
					     pages.r[i].size >> PAGE_SHIFT);
		goto err_free;
	}
	st.blob = blob;
	st.blob_len = len;
	st.pages = pages;
	st.nr_out_streams = nr_streams;
	list_for_each_entry(d, &st.devs, node)
		d->pdev->liveupdate_dma = 1;
	st.out_state = SMMU_KHO_FROZEN;
	st.freeze_ns = ktime_get_ns() - t0;
	pr_info("frozen: %u streams, %zu FDT bytes, %u ranges, %llu ns\n",
		nr_streams, len, pages.nr, st.freeze_ns);
	return 0;

err_free:
	pr_err("freeze failed: %d\n", ret);
	kho_unpreserve_free(blob);
	skho_ranges_free(&pages);
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

static struct pci_dev *skho_pci_by_name(const struct smmu_kho_dev_arg *a)
{
	char name[sizeof(a->name)];
	struct device *dev;

	memcpy(name, a->name, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	dev = bus_find_device_by_name(&pci_bus_type, NULL, name);
	return dev ? to_pci_dev(dev) : NULL;
}

static int skho_ioc_dev(unsigned int cmd, struct smmu_kho_dev_arg *a)
{
	struct pci_dev *pdev = skho_pci_by_name(a);
	struct skho_dev *d;
	int ret = 0;

	if (!pdev)
		return -ENODEV;
	d = skho_find(pdev);
	switch (cmd) {
	case SMMU_KHO_IOC_PRESERVE:
		if (d)
			break;
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
		if (list_empty(&st.devs) && bench_streams > 1 && !st.bench_clones) {
			ret = arm_smmu_kho_clone_for_bench(&pdev->dev, BENCH_FIRST_SID,
							   bench_streams - 1);
			if (ret) {
				arm_smmu_kho_mark(&pdev->dev, false, &d->info);
				kfree(d);
				break;
			}
			st.bench_clones = bench_streams - 1;
		}
		skho_thaw_locked();
		d->pdev = pci_dev_get(pdev);
		list_add_tail(&d->node, &st.devs);
		st.out_state = SMMU_KHO_SELECTED;
		break;
	case SMMU_KHO_IOC_UNPRESERVE:
		if (!d) {
			ret = -ENOENT;
			break;
		}
		skho_thaw_locked();
		skho_drop(d);
		st.out_state = list_empty(&st.devs) ? SMMU_KHO_IDLE : SMMU_KHO_SELECTED;
		break;
	case SMMU_KHO_IOC_RELEASE:
		ret = arm_smmu_kho_release(&pdev->dev);
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

static void skho_status(struct smmu_kho_status *s)
{
	u32 i, j;

	memset(s, 0, sizeof(*s));
	s->size = sizeof(*s);
	s->out_state = st.out_state;
	s->nr_out_streams = st.nr_out_streams;
	s->out_fdt_len = st.blob_len;
	for (i = 0; i < st.pages.nr; i++)
		s->out_preserved_bytes += st.pages.r[i].size;
	s->freeze_ns = st.freeze_ns;
	if (!st.in_parsed)
		return;
	s->in_fdt_len = st.in_len;
	s->adopt_ns = arm_smmu_kho_adopt_ns();
	arm_smmu_kho_abort_stats(&s->nr_abort_stes, &s->nr_abort_rewritten);
	s->in_state = SMMU_KHO_ADOPTED;
	for (i = 0; i < st.in.nr_smmus; i++) {
		const struct skho_ho_smmu *hs = &st.in.smmu[i];

		for (j = 0; j < hs->nr_streams; j++) {
			struct arm_smmu_kho_stream_info info = {};
			u32 sid = fdt32_to_cpu(hs->streams[j].sid);

			s->nr_in_streams++;
			if (arm_smmu_kho_stream_info(hs->mmio_base, sid, &info))
				continue;
			s->nr_adopted += info.in_state == ARM_SMMU_KHO_IN_ADOPTED;
			s->nr_refused += info.in_state == ARM_SMMU_KHO_IN_REFUSED;
			s->nr_released += info.in_state == ARM_SMMU_KHO_IN_RELEASED;
		}
	}
	if (s->nr_in_streams && s->nr_released == s->nr_in_streams - s->nr_refused)
		s->in_state = SMMU_KHO_RELEASED;
}

/* Name of the selected device owning @sid, "" for a benchmark copy. */
static void skho_dev_name(u32 sid, char *buf, size_t len)
{
	struct skho_dev *d;
	u32 i;

	buf[0] = '\0';
	list_for_each_entry(d, &st.devs, node)
		for (i = 0; i < d->info.nr_sids; i++)
			if (d->info.sids[i] == sid)
				strscpy(buf, pci_name(d->pdev), len);
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

/* Digests of one incoming stream as its tables are now in memory. */
static void skho_live_digests(const struct skho_ho_smmu *hs, u32 sid,
			      struct smmu_kho_stream_info *out)
{
	bool coherent = hs->features & SKHO_SMMU_F_COHERENT;
	struct skho_mem base = { .map = skho_map_phys, .priv = &coherent };
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

static int skho_ioc_streams(struct smmu_kho_streams_arg *a)
{
	struct smmu_kho_stream_info __user *uinfo = u64_to_user_ptr(a->info);
	struct skho_handover *out = kzalloc_obj(*out);
	struct skho_err err = {};
	u32 n = 0, i, j, pass;
	int ret = 0;

	if (!out)
		return -ENOMEM;
	if (st.out_state == SMMU_KHO_FROZEN &&
	    skho_handover_parse(st.blob, st.blob_len, out, &err)) {
		kfree(out);
		return -EIO;
	}
	for (pass = 0; pass < 2; pass++) {
		const struct skho_handover *ho = pass ? &st.in : out;

		if (pass && !st.in_parsed)
			break;
		for (i = 0; i < ho->nr_smmus; i++) {
			const struct skho_ho_smmu *hs = &ho->smmu[i];

			for (j = 0; j < hs->nr_streams; j++, n++) {
				const struct skho_abi_stream *r = &hs->streams[j];
				struct smmu_kho_stream_info info = {};
				struct arm_smmu_kho_stream_info k = {};

				if (n >= a->nr)
					continue;
				info.smmu_base = hs->mmio_base;
				info.sid = fdt32_to_cpu(r->sid);
				if (!pass) {
					skho_dev_name(info.sid, info.dev, sizeof(info.dev));
					info.state = SMMU_KHO_STREAM_PRESERVED;
					info.ste_digest = fdt64_to_cpu(r->ste_digest);
					info.xlat_digest = fdt64_to_cpu(r->xlat_digest);
				} else {
					arm_smmu_kho_stream_info(hs->mmio_base, info.sid, &k);
					info.state = k.in_state;
					info.error = k.error;
					info.events = k.events;
					if (k.in_state == ARM_SMMU_KHO_IN_REFUSED)
						snprintf(info.why, sizeof(info.why), "%s",
							 skho_strerror(k.error));
					skho_live_digests(hs, info.sid, &info);
				}
				if (copy_to_user(&uinfo[n], &info, sizeof(info))) {
					ret = -EFAULT;
					goto out;
				}
			}
		}
	}
	a->nr = n;
out:
	skho_handover_release(out);
	kfree(out);
	return ret;
}

/*
 * Dispatch on the ioctl number only: the size bits follow the header the
 * caller was built with, and @size inside the struct says how much of it
 * the caller knows (extensible structs: the tail is zero-filled on input
 * and not copied back on output).
 */
static long skho_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	union {
		struct smmu_kho_dev_arg dev;
		struct smmu_kho_status status;
		struct smmu_kho_fdt_arg fdt;
		struct smmu_kho_streams_arg streams;
	} u;
	unsigned int nr = _IOC_NR(cmd);
	size_t usize = 0;
	long ret = 0;
	u32 size;

	if (_IOC_TYPE(cmd) != SMMU_KHO_IOC_MAGIC)
		return -ENOTTY;
	memset(&u, 0, sizeof(u));
	if (_IOC_SIZE(cmd)) {
		if (get_user(size, (u32 __user *)uarg))
			return -EFAULT;
		if (size < 8)
			return -EINVAL;
		usize = min_t(size_t, size, sizeof(u));
		if (copy_from_user(&u, uarg, usize))
			return -EFAULT;
	}
	if (!kho_is_enabled() && nr != _IOC_NR(SMMU_KHO_IOC_STATUS))
		return -EOPNOTSUPP;

	mutex_lock(&st.lock);
	switch (nr) {
	case _IOC_NR(SMMU_KHO_IOC_PRESERVE):
		ret = skho_ioc_dev(SMMU_KHO_IOC_PRESERVE, &u.dev);
		break;
	case _IOC_NR(SMMU_KHO_IOC_UNPRESERVE):
		ret = skho_ioc_dev(SMMU_KHO_IOC_UNPRESERVE, &u.dev);
		break;
	case _IOC_NR(SMMU_KHO_IOC_RELEASE):
		ret = skho_ioc_dev(SMMU_KHO_IOC_RELEASE, &u.dev);
		break;
	case _IOC_NR(SMMU_KHO_IOC_FREEZE):
		ret = skho_freeze_locked();
		break;
	case _IOC_NR(SMMU_KHO_IOC_ABORT):
		skho_abort_locked();
		break;
	case _IOC_NR(SMMU_KHO_IOC_STATUS):
		skho_status(&u.status);
		ret = copy_to_user(uarg, &u.status, min(usize, sizeof(u.status))) ?
		      -EFAULT : 0;
		break;
	case _IOC_NR(SMMU_KHO_IOC_GET_FDT): {
		const void *b = u.fdt.which ? st.in_blob : st.blob;
		size_t len = u.fdt.which ? st.in_len : st.blob_len;

		if (u.fdt.which > SMMU_KHO_FDT_IN) {
			ret = -EINVAL;
			break;
		}
		u.fdt.fdt_len = len;
		if (!b)
			ret = -ENOENT;
		else if (u.fdt.buf_len < len)
			ret = -ENOSPC;
		else if (copy_to_user(u64_to_user_ptr(u.fdt.buf), b, len))
			ret = -EFAULT;
		if (put_user(u.fdt.fdt_len, &((struct smmu_kho_fdt_arg __user *)uarg)->fdt_len))
			ret = -EFAULT;
		break;
	}
	case _IOC_NR(SMMU_KHO_IOC_STREAMS):
		ret = skho_ioc_streams(&u.streams);
		if (!ret && put_user(u.streams.nr,
				     &((struct smmu_kho_streams_arg __user *)uarg)->nr))
			ret = -EFAULT;
		break;
	default:
		ret = -ENOTTY;
	}
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
		ret = skho_freeze_locked();
		if (ret) {
			pr_err("freeze at reboot failed (%d): nothing is preserved\n", ret);
			skho_abort_locked();
		}
	}
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
