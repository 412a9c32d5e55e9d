/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/* skho_fault.ko user API: test-only memory corruption at a chosen moment of a kexec. */
#ifndef _SKHO_FAULT_UAPI_H
#define _SKHO_FAULT_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define SKHO_FAULT_DEV		"/dev/skho_fault"

/*
 * When an armed write happens, relative to smmu_kho.ko's checks:
 *  NOW             at the ioctl (after `update --no-jump` froze: before the
 *                  reboot notifier's re-check, which must see it)
 *  AFTER_RECHECK   from a reboot notifier (priority INT_MIN, registered
 *                  after smmu_kho.ko's: same-priority notifiers run in
 *                  registration order), i.e. after smmu_kho's last
 *                  refresh; before device_shutdown(), where the SMMU
 *                  driver's shutdown check (I7) must see it
 *  AFTER_SHUTDOWN  from syscore shutdown, after device_shutdown() and so
 *                  after I7: only the next kernel can see it
 */
enum skho_fault_when {
	SKHO_FAULT_NOW = 0,
	SKHO_FAULT_AFTER_RECHECK = 1,
	SKHO_FAULT_AFTER_SHUTDOWN = 2,
};

/* A u64 at a guest-physical address (8-byte aligned, in the linear map). */
struct skho_fault_word {
	__u64 pa;
	__u64 val;		/* PEEK: out; ARM: the value to write */
	__u32 when;		/* ARM: enum skho_fault_when */
	__u32 pad;		/* 0 */
};

/* PEEK: read the word now.  Errors: EINVAL (unaligned, not RAM), EFAULT. */
#define SKHO_FAULT_IOC_PEEK	_IOWR('F', 1, struct skho_fault_word)
/* ARM: write @val at @pa at @when.  Errors: EINVAL, ENOSPC (8 armed). */
#define SKHO_FAULT_IOC_ARM	_IOW('F', 2, struct skho_fault_word)
/*
 * PAGE: a fresh page nobody preserves, @pa out: a copy of the page at @val
 * (page-aligned RAM), else filled with 0x5a.  ENOMEM.
 */
#define SKHO_FAULT_IOC_PAGE	_IOWR('F', 3, struct skho_fault_word)

/*
 * FIND: how many page-aligned copies of @buf[0, @len) RAM holds (@nr), and
 * of those the ones KHO preserves (kho_is_preserved): @preserved counts
 * them, @pa lists the first 4.  KHO's debugfs root FDT (out/fdt) keeps the
 * size it had at boot and so never shows a subtree added later: this is
 * how the guest finds the handover blob's physical address.  Errors:
 * EINVAL (@len 0 or above a page), EFAULT, ENOMEM.
 */
struct skho_fault_find {
	__u64 buf;		/* user pointer */
	__u64 len;
	__u64 pa[4];		/* out: preserved copies */
	__u32 nr;		/* out: copies */
	__u32 preserved;	/* out: copies KHO preserves */
};

#define SKHO_FAULT_IOC_FIND	_IOWR('F', 4, struct skho_fault_find)

#endif /* _SKHO_FAULT_UAPI_H */
