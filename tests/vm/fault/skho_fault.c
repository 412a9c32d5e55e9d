// SPDX-License-Identifier: GPL-2.0-only
/* skho_fault.ko: test only: writes a u64 at a PA now, after smmu_kho's re-check, or late. */
/*
 * Never part of the product: tests/vm/e2e/e2e.sh builds it for the VM
 * negative controls only.  The guest program finds the addresses itself
 * (STE through SMMU_KHO_IOC_STREAMS, page-table entries by walking the
 * tables with PEEK, the handover blob through KHO's debugfs) and arms
 * writes here; see skho_fault_uapi.h for when each one happens.  Every
 * write is logged ("skho_fault: <when>: wrote ... at ... (was ...)") so
 * the host can tell that the fault was really injected.  Load it after
 * smmu_kho.ko: its reboot notifier must run after smmu_kho's.
 */
#define pr_fmt(fmt) "skho_fault: " fmt

#include <linux/cacheflush.h>
#include <linux/delay.h>
#include <linux/io.h>
#include <linux/kexec_handover.h>
#include <linux/libnvdimm.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/reboot.h>
#include <linux/slab.h>
#include <linux/syscore_ops.h>
#include <linux/uaccess.h>

#include "skho_fault_uapi.h"

#define SKHO_FAULT_MAX	8

static const char *const when_name[] = {
	[SKHO_FAULT_NOW] = "now",
	[SKHO_FAULT_AFTER_RECHECK] = "after-recheck",
	[SKHO_FAULT_AFTER_SHUTDOWN] = "after-shutdown",
};

static unsigned int hold_ms;
module_param(hold_ms, uint, 0444);
MODULE_PARM_DESC(hold_ms, "sleep this long in the reboot notifier, after smmu_kho's");

static DEFINE_MUTEX(fault_lock);
static struct skho_fault_word armed[SKHO_FAULT_MAX];
static unsigned int nr_armed;

/* The word at @pa in the linear map, or NULL if @pa is not RAM or unaligned. */
static u64 *fault_va(u64 pa)
{
	if (pa & 7 || !pfn_valid(PHYS_PFN(pa)))
		return NULL;
	return phys_to_virt(pa);
}

/* One store, cleaned to the point of coherency for a non-coherent walker. */
static void fault_write(const struct skho_fault_word *w)
{
	u64 *va = fault_va(w->pa);
	u64 old;

	if (!va)
		return;
	old = READ_ONCE(*va);
	WRITE_ONCE(*va, w->val);
	arch_wb_cache_pmem(va, sizeof(*va));
	pr_info("%s: wrote %#llx at %#llx (was %#llx)\n", when_name[w->when],
		w->val, w->pa, old);
}

static void fault_fire(u32 when)
{
	unsigned int i;

	for (i = 0; i < nr_armed; i++)
		if (armed[i].when == when)
			fault_write(&armed[i]);
}

/*
 * After smmu_kho's notifier (JUMPING from then on): the armed writes, then
 * hold_ms of sleep so that a racing process can try smmu_kho's mutating
 * ioctls while the jump is under way (they must fail with EBUSY).
 */
static int fault_reboot(struct notifier_block *nb, unsigned long code, void *p)
{
	if (code != SYS_RESTART)
		return NOTIFY_DONE;
	fault_fire(SKHO_FAULT_AFTER_RECHECK);
	if (hold_ms) {
		pr_info("holding the reboot %u ms after smmu_kho's notifier\n", hold_ms);
		msleep(hold_ms);
	}
	return NOTIFY_DONE;
}

static struct notifier_block fault_reboot_nb = {
	.notifier_call = fault_reboot,
	.priority = INT_MIN,	/* after smmu_kho's INT_MIN: registered later */
};

static void fault_syscore_shutdown(void *data)
{
	fault_fire(SKHO_FAULT_AFTER_SHUTDOWN);
}

static const struct syscore_ops fault_syscore_ops = {
	.shutdown = fault_syscore_shutdown,
};

static struct syscore fault_syscore = {
	.ops = &fault_syscore_ops,
};

/* Scan every page of RAM for @x->buf; returns 0, -EINVAL, -EFAULT, -ENOMEM. */
static int fault_find(struct skho_fault_find *x)
{
	unsigned long pfn;
	void *want, *page;

	if (!x->len || x->len > PAGE_SIZE)
		return -EINVAL;
	want = memdup_user(u64_to_user_ptr(x->buf), x->len);
	if (IS_ERR(want))
		return PTR_ERR(want);
	page = kmalloc(x->len, GFP_KERNEL);
	if (!page) {
		kfree(want);
		return -ENOMEM;
	}
	x->nr = 0;
	x->preserved = 0;
	/* The linear map: all of RAM on arm64 (pfn_valid: mapped memory). */
	for (pfn = PHYS_PFN(memstart_addr); pfn < PHYS_PFN(__pa(high_memory - 1)) + 1; pfn++) {
		if (!(pfn & 1023))
			cond_resched();
		if (!pfn_valid(pfn))
			continue;
		/* Some valid pages are not mapped (no-map, guard): read without faulting. */
		if (copy_from_kernel_nofault(page, phys_to_virt(PFN_PHYS(pfn)), x->len) ||
		    memcmp(page, want, x->len))
			continue;
		x->nr++;
		if (!kho_is_preserved(PFN_PHYS(pfn), x->len))
			continue;
		if (x->preserved < ARRAY_SIZE(x->pa))
			x->pa[x->preserved] = PFN_PHYS(pfn);
		x->preserved++;
	}
	kfree(page);
	kfree(want);
	return 0;
}

/* Returns 0, -EFAULT, -EINVAL (bad address or @when), -ENOSPC, -ENOMEM, -ENOTTY. */
static long fault_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
	void __user *u = (void __user *)arg;
	struct skho_fault_word w;
	struct page *page;
	long ret = 0;

	if (cmd == SKHO_FAULT_IOC_FIND) {
		struct skho_fault_find x;

		if (copy_from_user(&x, u, sizeof(x)))
			return -EFAULT;
		ret = fault_find(&x);
		if (!ret && copy_to_user(u, &x, sizeof(x)))
			ret = -EFAULT;
		return ret;
	}
	if (copy_from_user(&w, u, sizeof(w)))
		return -EFAULT;
	mutex_lock(&fault_lock);
	switch (cmd) {
	case SKHO_FAULT_IOC_PEEK:
		if (!fault_va(w.pa)) {
			ret = -EINVAL;
			break;
		}
		w.val = READ_ONCE(*fault_va(w.pa));
		ret = copy_to_user(u, &w, sizeof(w)) ? -EFAULT : 0;
		break;
	case SKHO_FAULT_IOC_ARM:
		if (!fault_va(w.pa) || w.when > SKHO_FAULT_AFTER_SHUTDOWN || w.pad) {
			ret = -EINVAL;
			break;
		}
		if (w.when == SKHO_FAULT_NOW) {
			fault_write(&w);
			break;
		}
		if (nr_armed == SKHO_FAULT_MAX) {
			ret = -ENOSPC;
			break;
		}
		armed[nr_armed++] = w;
		pr_info("armed: %#llx at %#llx %s\n", w.val, w.pa, when_name[w.when]);
		break;
	case SKHO_FAULT_IOC_PAGE:
		/* Deliberately never freed nor preserved: not the handover's. */
		page = alloc_page(GFP_KERNEL);
		if (!page) {
			ret = -ENOMEM;
			break;
		}
		if (w.val && fault_va(w.val) && !(w.val & ~PAGE_MASK))
			memcpy(page_address(page), fault_va(w.val), PAGE_SIZE);
		else
			memset(page_address(page), 0x5a, PAGE_SIZE);
		w.pa = page_to_phys(page);
		pr_info("unpreserved page at %#llx (copy of %#llx)\n", w.pa, w.val);
		ret = copy_to_user(u, &w, sizeof(w)) ? -EFAULT : 0;
		break;
	default:
		ret = -ENOTTY;
	}
	mutex_unlock(&fault_lock);
	return ret;
}

static const struct file_operations fault_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = fault_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice fault_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "skho_fault",
	.fops = &fault_fops,
	.mode = 0600,
};

static int __init fault_init(void)
{
	int ret = register_reboot_notifier(&fault_reboot_nb);

	if (ret)
		return ret;
	register_syscore(&fault_syscore);
	ret = misc_register(&fault_misc);
	if (ret) {
		unregister_syscore(&fault_syscore);
		unregister_reboot_notifier(&fault_reboot_nb);
	}
	return ret;
}

static void __exit fault_exit(void)
{
	misc_deregister(&fault_misc);
	unregister_syscore(&fault_syscore);
	unregister_reboot_notifier(&fault_reboot_nb);
}

module_init(fault_init);
module_exit(fault_exit);
MODULE_DESCRIPTION("smmu-kho VM tests: test-only memory corruption around a kexec");
MODULE_LICENSE("GPL");
