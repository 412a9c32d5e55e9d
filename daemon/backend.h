/* SPDX-License-Identifier: GPL-2.0-only */
/* smmu-khod kernel backend interface: /dev/smmu_kho, kexec, reboot, LUO, clock. */
#ifndef SKHOD_BACKEND_H
#define SKHOD_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smmu_kho.h"

/*
 * Everything the daemon asks of the kernel goes through one of these.
 *
 *  real  (backend_real.c)  ioctls on /dev/smmu_kho, kexec_file_load(2),
 *        reboot(LINUX_REBOOT_CMD_KEXEC), /dev/liveupdate, boot_id, clocks.
 *
 * Test builds only (tests/daemon/fake/, never linked into the product):
 *  fake  (backend_fake.c)  a directory that stands in for the kernel, for
 *        host tests.  Its state survives the daemon (kill -9 included), and
 *        its jump() simulates kexec: it advances the in-kernel state to "next
 *        boot" and exits the daemon; the test then starts a new daemon.
 *        Layout and fault knobs: see the comment at the top of
 *        tests/daemon/fake/backend_fake.c and docs/daemon.md.
 *
 * Every op returns 0 or a negative errno (the ioctl's errno for the real
 * backend, documented in kernel/module/uapi/smmu_kho.h); ops that allocate
 * return -ENOMEM on allocation failure.  @err, when the op fills it, is a
 * one-line human explanation.
 */
struct skhod_backend;

struct skhod_backend_ops {
	/* SMMU_KHO_IOC_STATUS.  -ENODEV: module not loaded / no device. */
	int (*status)(struct skhod_backend *be, struct smmu_kho_status *st);
	/* SMMU_KHO_IOC_PRESERVE/UNPRESERVE of one PCI device. */
	int (*preserve)(struct skhod_backend *be, const char *dev);
	int (*unpreserve)(struct skhod_backend *be, const char *dev);
	/*
	 * SMMU_KHO_IOC_RELEASE of one PCI device, @flags 0 (hitless or
	 * refused) or SMMU_KHO_RELEASE_REPLACE.  -EXDEV: not hitless, the
	 * streams stay adopted (@err carries STATUS.release_why); -ENOENT:
	 * nothing adopted; -ENODEV: no such device.
	 */
	int (*release)(struct skhod_backend *be, const char *dev, uint32_t flags);
	/* SMMU_KHO_IOC_FREEZE / SMMU_KHO_IOC_ABORT. */
	int (*freeze)(struct skhod_backend *be);
	int (*abort)(struct skhod_backend *be);
	/* SMMU_KHO_IOC_GET_FDT: malloc'd copy of the blob in *@blob. */
	int (*get_fdt)(struct skhod_backend *be, uint32_t which, void **blob,
		       size_t *len);
	/* SMMU_KHO_IOC_STREAMS: malloc'd array in *@info (NULL when 0). */
	int (*streams)(struct skhod_backend *be, struct smmu_kho_stream_info **info,
		       uint32_t *nr);
	/*
	 * SMMU_KHO_IOC_READ: @len bytes of preserved table memory at @pa into
	 * @buf; @which is SMMU_KHO_FDT_OUT (this kernel's preserved pages) or
	 * SMMU_KHO_FDT_IN (the pages handed over).  -ENOENT: not inside them;
	 * -EINVAL: @len 0 or above 1 MiB, wrap, bad @which.
	 */
	int (*read_phys)(struct skhod_backend *be, uint32_t which, uint64_t pa,
			 uint64_t len, void *buf);
	/*
	 * SMMU_KHO_IOC_QUARANTINE: the adopted streams of @dev get an abort
	 * STE now.  -ENOENT: no adopted stream; -EBUSY: kexec under way.
	 */
	int (*quarantine)(struct skhod_backend *be, const char *dev);
	/*
	 * SMMU_KHO_IOC_PROBE: driver, IOMMU domain and PRESERVE refusal of one
	 * PCI device (@out->name filled in here).  -ENODEV: no such device;
	 * -ENOTTY: a module without PROBE.
	 */
	int (*probe)(struct skhod_backend *be, const char *dev,
		     struct smmu_kho_probe_arg *out);
	/* The PCI devices present (/sys/bus/pci/devices): malloc'd names. */
	int (*pci_devices)(struct skhod_backend *be, char (**names)[32], size_t *nr);
	/* kexec_file_load(2); @initrd may be "" (KEXEC_FILE_NO_INITRAMFS). */
	int (*kexec_load)(struct skhod_backend *be, const char *kernel,
			  const char *initrd, const char *cmdline);
	int (*kexec_unload)(struct skhod_backend *be);
	int (*kexec_loaded)(struct skhod_backend *be, bool *loaded);
	/* sync + reboot(KEXEC).  Returns only on failure. */
	int (*jump)(struct skhod_backend *be);
	/* Identity of the running boot (36-char UUID for the real backend). */
	int (*boot_id)(struct skhod_backend *be, char *buf, size_t len);
	/* Command line of the running kernel (/proc/cmdline, newline cut). */
	int (*proc_cmdline)(struct skhod_backend *be, char *buf, size_t len);
	/* CLOCK_REALTIME in ns (the fake may run a deterministic clock). */
	uint64_t (*now_ns)(struct skhod_backend *be);
	/*
	 * LUO (/dev/liveupdate, include/uapi/linux/liveupdate.h).  The device
	 * admits one opener: implementations open it only for the call.
	 * create/retrieve return a session fd; -ENOENT from retrieve means no
	 * session of that name was handed over; -ENODEV: no LUO.
	 */
	int (*luo_create)(struct skhod_backend *be, const char *name, int *sfd);
	int (*luo_retrieve)(struct skhod_backend *be, const char *name, int *sfd);
	int (*luo_preserve_fd)(struct skhod_backend *be, int sfd, int fd,
			       uint64_t token);
	int (*luo_retrieve_fd)(struct skhod_backend *be, int sfd, uint64_t token,
			       int *fd);
	int (*luo_finish)(struct skhod_backend *be, int sfd);
	void (*destroy)(struct skhod_backend *be);
};

struct skhod_backend {
	const struct skhod_backend_ops *ops;
	const char *name;	/* "real" or "fake" */
	char err[160];		/* last error explanation, "" if none */
};

/*
 * Open the backend @spec names.  The product (daemon/backend_open.c) knows
 * "real"; test builds (tests/daemon/fake/backend_open.c) also "fake:<dir>"
 * and $SKHOD_FAULT on "real".  skhod_backend_specs is the --backend syntax
 * the build accepts, for the usage text.  Errors: -EINVAL (unknown spec),
 * -ENOMEM, and for the fake -errno when <dir> cannot be opened.
 */
int skhod_backend_open(const char *spec, struct skhod_backend **out);
extern const char skhod_backend_specs[];

/* The real backend.  Errors: -ENOMEM. */
int skhod_backend_real_open(struct skhod_backend **out);

/* skhod_kstate_name() (state.h) names enum smmu_kho_state values. */

#endif /* SKHOD_BACKEND_H */
