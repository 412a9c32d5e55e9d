// SPDX-License-Identifier: GPL-2.0-only
/* edu_dma.ko: QEMU edu PCI device as a DMA probe across KHO kexec (VM harness only). */
/*
 * Binds to 1234:11e8 and gives the guest program, per device, a misc device
 * /dev/edu_dma_<bdf> (see edu_dma_uapi.h) to:
 *  - allocate one DMA buffer: stage 1 through the DMA API in the default
 *    domain (28-bit mask, as the edu device masks addresses to 28 bits), or
 *    stage 2 through a nest-parent paging domain and iommu_map();
 *  - read and write the buffer, and program edu DMA transfers with raw
 *    register writes to any bus address (no mapping is made or checked);
 *  - arm one transfer to fire from the reboot notifier, i.e. while the
 *    kernel kexecs, after preserving the buffer with kho_preserve_pages()
 *    and publishing {bdf, IOVA, PA, guest tags} in the KHO subtree
 *    "edu-dma" (a small binary blob, see struct edu_dma_kho).
 * In the next kernel the module retrieves that subtree, kho_restore_pages()
 * the buffers and lets the guest read them (EDU_BUF_IN), so the guest can
 * tell whether the in-jump DMA landed, and fire a DMA to the same IOVA
 * without creating any mapping.  EDU_DMA_IOC_INHERIT makes the restored
 * buffer the current one (same IOVA and PA, no new mapping), so a kernel that
 * keeps the previous kernel's translation can hand the same buffer on;
 * EDU_DMA_IOC_REMAP_INHERITED (stage 2) also maps it at its old IOVA in this
 * kernel's own domain, so the hand-back of the adopted stream is hitless.
 * Marks written to config offset EDU_DMA_MARK_REG appear in QEMU's
 * pci_cfg_write trace, ordering the guest's steps against smmuv3_* events.
 */
#include <linux/delay.h>
#include <linux/iommu.h>
#include <linux/io.h>
#include <linux/kexec_handover.h>
#include <linux/ktime.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/reboot.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/dma-mapping.h>
#include <clocksource/arm_arch_timer.h>

#include "edu_dma_uapi.h"

#define EDU_DMA_BITS		28	/* edu's default dma_mask property */

#define EDU_KHO_NAME		"edu-dma"
#define EDU_KHO_MAGIC		0x31764b4f48554445ULL	/* "EDUHOKv1" */
/* vm-bench's 8 preserved devices plus the never-preserved probe 00:03.0 */
#define EDU_MAX_DEVS		10

/* The KHO subtree blob: one record per device that armed a transfer. */
struct edu_dma_kho {
	u64 magic;
	u32 nr;				/* valid entries in @rec */
	u32 rec_size;			/* sizeof(struct edu_dma_record) */
	struct edu_dma_record rec[EDU_MAX_DEVS];
};

struct edu_dev {
	struct pci_dev *pdev;
	void __iomem *bar;
	struct miscdevice misc;
	char name[16];
	struct mutex lock;
	u32 bdf;
	int slot;			/* index in edu_devs[] and in the blob */

	/* buffer allocated in this kernel */
	u32 stage;
	u32 nr_pages;
	void *cpu;
	struct page *page;
	dma_addr_t iova;
	struct iommu_domain *s2dom;
	bool preserved;
	bool inherited;			/* the restored buffer, not ours to free */
	bool remapped;			/* ...iommu_map'ed in s2dom by this kernel */

	/* in-jump transfer */
	bool armed;
	struct edu_dma_xfer jump;

	/* record and buffer from the previous kernel */
	bool have_in;
	struct edu_dma_record in;
	void *in_cpu;
};

static unsigned int kernel_idx = 1;
module_param_named(kernel, kernel_idx, uint, 0444);
MODULE_PARM_DESC(kernel, "index of this kernel in the live-update chain (for trace marks)");
static unsigned int stage_param = 1;
module_param_named(stage, stage_param, uint, 0444);
MODULE_PARM_DESC(stage, "1: DMA API buffers; 2: driver-managed stage-2 domain");

static DEFINE_MUTEX(edu_global_lock);
static struct edu_dev *edu_devs[EDU_MAX_DEVS];
static struct edu_dma_kho *edu_out;	/* outgoing blob, KHO-preserved */
static bool edu_out_added;
static struct edu_dma_kho edu_in;	/* copy of the incoming blob */
static int edu_in_err = -ENOENT;

static void edu_mark(struct edu_dev *ed, u32 ev)
{
	pci_write_config_dword(ed->pdev, EDU_DMA_MARK_REG, EDU_DMA_MARK(kernel_idx, ev));
}

/* Program one transfer; returns 0, -EINVAL (bad range), -EBUSY (engine busy). */
static int edu_fire(struct edu_dev *ed, const struct edu_dma_xfer *x)
{
	u64 dev = EDU_DMA_DEV_BASE + x->dev_off;

	if (!x->len || x->dev_off >= EDU_DMA_DEV_SIZE ||
	    x->len > EDU_DMA_DEV_SIZE - x->dev_off || x->dir > EDU_FROM_DEV ||
	    x->iova >> EDU_DMA_BITS)
		return -EINVAL;
	if (readq(ed->bar + EDU_REG_DMA_CMD) & EDU_CMD_RUN)
		return -EBUSY;
	writeq(x->dir == EDU_FROM_DEV ? dev : x->iova, ed->bar + EDU_REG_DMA_SRC);
	writeq(x->dir == EDU_FROM_DEV ? x->iova : dev, ed->bar + EDU_REG_DMA_DST);
	writeq(x->len, ed->bar + EDU_REG_DMA_CNT);
	writeq(EDU_CMD_RUN | (x->dir == EDU_FROM_DEV ? EDU_CMD_FROM_DEV : 0),
	       ed->bar + EDU_REG_DMA_CMD);
	return 0;
}

/* Fire and, if asked, poll for completion; errors as edu_fire(). */
static int edu_xfer(struct edu_dev *ed, struct edu_dma_xfer *x)
{
	ktime_t t0 = ktime_get(), end;
	int ret;

	x->done = 0;
	x->elapsed_ns = 0;
	ret = edu_fire(ed, x);
	if (ret || !x->timeout_ms)
		return ret;
	end = ktime_add_ms(t0, x->timeout_ms);
	for (;;) {
		if (!(readq(ed->bar + EDU_REG_DMA_CMD) & EDU_CMD_RUN)) {
			x->done = 1;
			break;
		}
		if (ktime_after(ktime_get(), end))
			break;
		usleep_range(2000, 4000);
	}
	x->elapsed_ns = ktime_to_ns(ktime_sub(ktime_get(), t0));
	return 0;
}

/* Stage 2: this device's nest-parent paging domain, allocated and attached
 * once.  Returns 0 or the error of iommu_paging_domain_alloc_flags or
 * iommu_attach_device. */
static int edu_s2_attach(struct edu_dev *ed)
{
	struct device *dev = &ed->pdev->dev;
	struct iommu_domain *dom;
	int ret;

	if (ed->s2dom)
		return 0;
	dom = iommu_paging_domain_alloc_flags(dev, IOMMU_HWPT_ALLOC_NEST_PARENT);
	if (IS_ERR(dom))
		return PTR_ERR(dom);
	ret = iommu_attach_device(dom, dev);
	if (ret) {
		iommu_domain_free(dom);
		return ret;
	}
	ed->s2dom = dom;
	return 0;
}

/* Returns 0, -EINVAL (bad arguments), -EBUSY (already allocated), -ENOMEM,
 * or the error of iommu_paging_domain_alloc_flags/iommu_attach_device/iommu_map. */
static int edu_alloc(struct edu_dev *ed, struct edu_dma_alloc *a)
{
	struct device *dev = &ed->pdev->dev;
	int ret;

	if (a->nr_pages != 1 || (a->stage != 1 && a->stage != 2) || a->stage != stage_param)
		return -EINVAL;
	if (ed->cpu)
		return -EBUSY;

	if (a->stage == 1) {
		dma_addr_t iova;
		void *cpu = dma_alloc_coherent(dev, PAGE_SIZE, &iova, GFP_KERNEL);

		if (!cpu)
			return -ENOMEM;
		ed->cpu = cpu;
		ed->iova = iova;
		ed->page = is_vmalloc_addr(cpu) ? vmalloc_to_page(cpu) : virt_to_page(cpu);
	} else {
		struct page *page;

		if (!a->iova || a->iova & ~PAGE_MASK || a->iova >> EDU_DMA_BITS)
			return -EINVAL;
		ret = edu_s2_attach(ed);
		if (ret)
			return ret;
		page = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!page)
			return -ENOMEM;
		ret = iommu_map(ed->s2dom, a->iova, page_to_phys(page), PAGE_SIZE,
				IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE, GFP_KERNEL);
		if (ret) {
			__free_page(page);
			return ret;
		}
		ed->page = page;
		ed->cpu = page_address(page);
		ed->iova = a->iova;
	}
	ed->stage = a->stage;
	ed->nr_pages = 1;
	a->iova = ed->iova;
	a->pa = page_to_phys(ed->page);
	dev_info(dev, "buffer stage %u iova %#llx pa %#llx\n", ed->stage,
		 (u64)ed->iova, (u64)a->pa);
	return 0;
}

/* Returns 0, -ENOENT (no restored buffer), -EBUSY (a buffer exists). */
static int edu_inherit(struct edu_dev *ed)
{
	if (ed->cpu)
		return -EBUSY;
	if (!ed->in_cpu || ed->in.nr_pages != 1)
		return -ENOENT;
	ed->cpu = ed->in_cpu;
	ed->page = virt_to_page(ed->in_cpu);
	ed->iova = ed->in.iova;
	ed->stage = ed->in.stage;
	ed->nr_pages = ed->in.nr_pages;
	ed->inherited = true;
	dev_info(&ed->pdev->dev, "buffer of kernel %u inherited: stage %u iova %#llx pa %#llx\n",
		 ed->in.kernel, ed->stage, (u64)ed->iova, (u64)page_to_phys(ed->page));
	return 0;
}

/*
 * Stage 2: inherit the restored buffer and map it at the IOVA it had in the
 * previous kernel, with the same permissions, in this kernel's own
 * nest-parent domain, attached to the device: the owner re-establishes the
 * very translation it handed over, so RELEASE can move the stream there
 * hitlessly.  Returns 0, -EINVAL (not stage 2), those of edu_inherit(),
 * edu_s2_attach() and iommu_map().
 */
static int edu_remap_inherited(struct edu_dev *ed)
{
	int ret;

	if (stage_param != 2 || ed->in.stage != 2)
		return -EINVAL;
	ret = edu_inherit(ed);
	if (ret)
		return ret;
	ret = edu_s2_attach(ed);
	if (!ret)
		ret = iommu_map(ed->s2dom, ed->iova, page_to_phys(ed->page), PAGE_SIZE,
				IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE, GFP_KERNEL);
	if (ret) {
		ed->cpu = NULL;
		ed->inherited = false;
		return ret;
	}
	ed->remapped = true;
	return 0;
}

static void edu_free(struct edu_dev *ed)
{
	if (!ed->cpu)
		return;
	if (ed->preserved)
		kho_unpreserve_pages(ed->page, ed->nr_pages);
	if (ed->inherited) {
		/* Restored pages stay allocated (see edu_remove). */
		if (ed->remapped)
			iommu_unmap(ed->s2dom, ed->iova, PAGE_SIZE);
	} else if (ed->stage == 1) {
		dma_free_coherent(&ed->pdev->dev, PAGE_SIZE, ed->cpu, ed->iova);
	} else {
		iommu_unmap(ed->s2dom, ed->iova, PAGE_SIZE);
		__free_page(ed->page);
	}
	ed->cpu = NULL;
	ed->preserved = false;
	ed->inherited = false;
	ed->remapped = false;
}

/* Returns 0, -ENOENT (no such buffer), -EINVAL (range), -EFAULT. */
static int edu_rw(struct edu_dev *ed, const struct edu_dma_rw *rw)
{
	void __user *u = u64_to_user_ptr(rw->user);
	u8 *base;
	u64 size;

	if (rw->which == EDU_BUF_CUR) {
		base = ed->cpu;
		size = (u64)ed->nr_pages * PAGE_SIZE;
	} else if (rw->which == EDU_BUF_IN) {
		base = ed->in_cpu;
		size = (u64)ed->in.nr_pages * PAGE_SIZE;
	} else {
		return -EINVAL;
	}
	if (!base)
		return -ENOENT;
	if (rw->offset > size || rw->len > size - rw->offset)
		return -EINVAL;
	if (rw->write)
		return copy_from_user(base + rw->offset, u, rw->len) ? -EFAULT : 0;
	return copy_to_user(u, base + rw->offset, rw->len) ? -EFAULT : 0;
}

/* Returns 0, -ENOENT (no buffer), -EINVAL (bad transfer), -EOPNOTSUPP (KHO
 * disabled), or the error of kho_alloc_preserve/kho_preserve_pages/kho_add_subtree. */
static int edu_arm(struct edu_dev *ed, const struct edu_dma_arm *arm)
{
	const struct edu_dma_xfer *x = &arm->xfer;
	struct edu_dma_record *r;
	int ret;

	if (!ed->cpu)
		return -ENOENT;
	if (!x->len || x->dev_off >= EDU_DMA_DEV_SIZE || x->len > EDU_DMA_DEV_SIZE - x->dev_off ||
	    x->dir > EDU_FROM_DEV || x->iova >> EDU_DMA_BITS)
		return -EINVAL;
	if (!kho_is_enabled())
		return -EOPNOTSUPP;

	mutex_lock(&edu_global_lock);
	if (!edu_out) {
		void *blob = kho_alloc_preserve(sizeof(*edu_out));

		if (IS_ERR(blob)) {
			ret = PTR_ERR(blob);
			goto out;
		}
		edu_out = blob;
		edu_out->magic = EDU_KHO_MAGIC;
		edu_out->rec_size = sizeof(struct edu_dma_record);
		edu_out->nr = EDU_MAX_DEVS;
	}
	if (!ed->preserved) {
		ret = kho_preserve_pages(ed->page, ed->nr_pages);
		if (ret)
			goto out;
		ed->preserved = true;
	}
	r = &edu_out->rec[ed->slot];
	r->bdf = ed->bdf;
	r->kernel = kernel_idx;
	r->stage = ed->stage;
	r->nr_pages = ed->nr_pages;
	r->iova = ed->iova;
	r->pa = page_to_phys(ed->page);
	r->fire_cycles = 0;
	memcpy(r->tag, arm->tag, sizeof(r->tag));
	if (!edu_out_added) {
		ret = kho_add_subtree(EDU_KHO_NAME, edu_out, sizeof(*edu_out));
		if (ret)
			goto out;
		edu_out_added = true;
	}
	ed->jump = arm->xfer;
	ed->jump.timeout_ms = 0;
	ed->armed = true;
	ret = 0;
out:
	mutex_unlock(&edu_global_lock);
	return ret;
}

static void edu_info(struct edu_dev *ed, struct edu_dma_info *info)
{
	memset(info, 0, sizeof(*info));
	info->bdf = ed->bdf;
	info->kernel = kernel_idx;
	info->flags = (ed->cpu ? EDU_DMA_F_BUF : 0) | (ed->armed ? EDU_DMA_F_ARMED : 0) |
		      (ed->have_in ? EDU_DMA_F_IN_RECORD : 0) |
		      (ed->in_cpu ? EDU_DMA_F_IN_RESTORED : 0) |
		      (is_kho_boot() ? EDU_DMA_F_KHO_BOOT : 0) |
		      (kho_is_enabled() ? EDU_DMA_F_KHO_ENABLED : 0) |
		      (ed->inherited ? EDU_DMA_F_INHERITED : 0);
	if (ed->cpu) {
		info->stage = ed->stage;
		info->iova = ed->iova;
		info->pa = page_to_phys(ed->page);
		info->size = (u64)ed->nr_pages * PAGE_SIZE;
	}
	info->in_err = ed->have_in ? 0 : (edu_in_err ? edu_in_err : -ENOENT);
	if (ed->have_in)
		info->in = ed->in;
}

static long edu_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
	struct edu_dev *ed = container_of(f->private_data, struct edu_dev, misc);
	void __user *uarg = (void __user *)arg;
	/* The argument, copied in and out as _IOC_DIR(cmd) says. */
	union {
		struct edu_dma_info info;
		struct edu_dma_alloc alloc;
		struct edu_dma_rw rw;
		struct edu_dma_xfer xfer;
		struct edu_dma_arm arm;
		u32 ev;
	} a;
	size_t size = _IOC_SIZE(cmd);
	long ret;

	if (size > sizeof(a))
		return -ENOTTY;
	if ((_IOC_DIR(cmd) & _IOC_WRITE) && copy_from_user(&a, uarg, size))
		return -EFAULT;
	mutex_lock(&ed->lock);
	switch (cmd) {
	case EDU_DMA_IOC_INFO:
		edu_info(ed, &a.info);
		ret = 0;
		break;
	case EDU_DMA_IOC_ALLOC:
		ret = edu_alloc(ed, &a.alloc);
		break;
	case EDU_DMA_IOC_RW:
		ret = edu_rw(ed, &a.rw);
		break;
	case EDU_DMA_IOC_XFER:
		ret = edu_xfer(ed, &a.xfer);
		break;
	case EDU_DMA_IOC_ARM:
		ret = edu_arm(ed, &a.arm);
		break;
	case EDU_DMA_IOC_INHERIT:
		ret = edu_inherit(ed);
		break;
	case EDU_DMA_IOC_REMAP_INHERITED:
		ret = edu_remap_inherited(ed);
		break;
	case EDU_DMA_IOC_MARK:
		edu_mark(ed, a.ev);
		ret = 0;
		break;
	default:
		ret = -ENOTTY;
	}
	mutex_unlock(&ed->lock);
	if (!ret && (_IOC_DIR(cmd) & _IOC_READ) && copy_to_user(uarg, &a, size))
		ret = -EFAULT;
	return ret;
}

static const struct file_operations edu_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = edu_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

/* Runs in kernel_restart_prepare(), before device_shutdown(): the armed
 * transfers start now and run 100 ms (QEMU virtual clock) later. */
static int edu_reboot(struct notifier_block *nb, unsigned long action, void *data)
{
	u64 now = arch_timer_read_counter();
	int i;

	if (action != SYS_RESTART)
		return NOTIFY_DONE;
	for (i = 0; i < EDU_MAX_DEVS; i++) {
		struct edu_dev *ed = edu_devs[i];
		int ret;

		if (!ed || !ed->armed)
			continue;
		if (edu_out)
			edu_out->rec[ed->slot].fire_cycles = now;
		edu_mark(ed, EDU_MARK_JUMP_FIRE);
		ret = edu_fire(ed, &ed->jump);
		pr_info("edu_dma %s: in-jump DMA to %#llx fired: %d\n", ed->name,
			(u64)ed->jump.iova, ret);
	}
	return NOTIFY_DONE;
}

static struct notifier_block edu_reboot_nb = {
	.notifier_call = edu_reboot,
	.priority = INT_MIN,	/* after everyone else: as late as we can */
};

/* Copy the previous kernel's blob, if any, and free its page. */
static void edu_kho_retrieve(void)
{
	phys_addr_t phys;
	size_t size;
	struct edu_dma_kho *blob;

	edu_in_err = kho_retrieve_subtree(EDU_KHO_NAME, &phys, &size);
	if (edu_in_err)
		return;
	if (size < sizeof(*blob)) {
		edu_in_err = -EINVAL;
		return;
	}
	blob = phys_to_virt(phys);
	if (blob->magic != EDU_KHO_MAGIC || blob->rec_size != sizeof(struct edu_dma_record) ||
	    blob->nr > EDU_MAX_DEVS) {
		pr_err("edu_dma: incoming KHO blob has a bad header\n");
		edu_in_err = -EINVAL;
		return;
	}
	edu_in = *blob;
	kho_restore_free(blob);
}

static void edu_restore_in(struct edu_dev *ed)
{
	u32 i;

	for (i = 0; i < edu_in.nr; i++) {
		struct edu_dma_record *r = &edu_in.rec[i];
		struct page *page;

		if (!r->nr_pages || r->bdf != ed->bdf)
			continue;
		ed->in = *r;
		ed->have_in = true;
		page = kho_restore_pages(r->pa, r->nr_pages);
		if (page)
			ed->in_cpu = page_address(page);
		dev_info(&ed->pdev->dev, "previous kernel %u: iova %#llx pa %#llx restored %d\n",
			 r->kernel, r->iova, r->pa, !!page);
		return;
	}
}

static int edu_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct edu_dev *ed;
	int ret, slot;

	ed = devm_kzalloc(&pdev->dev, sizeof(*ed), GFP_KERNEL);
	if (!ed)
		return -ENOMEM;
	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	ed->bar = pcim_iomap_region(pdev, 0, "edu_dma");
	if (IS_ERR(ed->bar))
		return PTR_ERR(ed->bar);
	pci_set_master(pdev);
	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(EDU_DMA_BITS));
	if (ret)
		return ret;
	ed->pdev = pdev;
	ed->bdf = pci_dev_id(pdev);
	mutex_init(&ed->lock);
	snprintf(ed->name, sizeof(ed->name), "edu_dma_%04x", ed->bdf);

	mutex_lock(&edu_global_lock);
	for (slot = 0; slot < EDU_MAX_DEVS && edu_devs[slot]; slot++)
		;
	if (slot == EDU_MAX_DEVS) {
		mutex_unlock(&edu_global_lock);
		return -ENOSPC;
	}
	ed->slot = slot;
	edu_devs[slot] = ed;
	mutex_unlock(&edu_global_lock);

	edu_restore_in(ed);

	ed->misc.minor = MISC_DYNAMIC_MINOR;
	ed->misc.name = ed->name;
	ed->misc.fops = &edu_fops;
	ed->misc.mode = 0600;
	ret = misc_register(&ed->misc);
	if (ret) {
		edu_devs[slot] = NULL;
		return ret;
	}
	pci_set_drvdata(pdev, ed);
	edu_mark(ed, EDU_MARK_LOADED);
	dev_info(&pdev->dev, "%s ready (kernel %u, stage %u)\n", ed->name, kernel_idx,
		 stage_param);
	return 0;
}

static void edu_remove(struct pci_dev *pdev)
{
	struct edu_dev *ed = pci_get_drvdata(pdev);

	misc_deregister(&ed->misc);
	mutex_lock(&edu_global_lock);
	edu_devs[ed->slot] = NULL;
	if (edu_out)
		memset(&edu_out->rec[ed->slot], 0, sizeof(edu_out->rec[0]));
	mutex_unlock(&edu_global_lock);
	ed->armed = false;
	edu_free(ed);
	if (ed->s2dom) {
		iommu_detach_device(ed->s2dom, &pdev->dev);
		iommu_domain_free(ed->s2dom);
	}
	/* Restored pages from the previous kernel are left allocated: a
	 * preserved mapping may still point at them. */
}

static const struct pci_device_id edu_ids[] = {
	{ PCI_DEVICE(0x1234, 0x11e8) },
	{ }
};
MODULE_DEVICE_TABLE(pci, edu_ids);

static struct pci_driver edu_driver = {
	.name = "edu_dma",
	.id_table = edu_ids,
	.probe = edu_probe,
	.remove = edu_remove,
};

static int __init edu_init(void)
{
	int ret;

	if (stage_param != 1 && stage_param != 2)
		return -EINVAL;
	/* Stage 2 attaches its own domain: keep the DMA API off the device. */
	edu_driver.driver_managed_dma = stage_param == 2;
	edu_kho_retrieve();
	ret = register_reboot_notifier(&edu_reboot_nb);
	if (ret)
		return ret;
	ret = pci_register_driver(&edu_driver);
	if (ret)
		unregister_reboot_notifier(&edu_reboot_nb);
	return ret;
}

static void __exit edu_exit(void)
{
	pci_unregister_driver(&edu_driver);
	unregister_reboot_notifier(&edu_reboot_nb);
	if (edu_out) {
		if (edu_out_added)
			kho_remove_subtree(edu_out);
		kho_unpreserve_free(edu_out);
	}
}

module_init(edu_init);
module_exit(edu_exit);
MODULE_DESCRIPTION("QEMU edu DMA probe for the smmu-kho VM harness");
MODULE_LICENSE("GPL");
