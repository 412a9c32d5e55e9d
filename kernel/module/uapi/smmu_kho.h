/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/* smmu_kho.ko user API: /dev/smmu_kho ioctls (select, freeze, status, snapshots, release). */
#ifndef _UAPI_SMMU_KHO_H
#define _UAPI_SMMU_KHO_H

#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * Every argument struct starts with @size, set by the caller to
 * sizeof(struct) it was compiled with; the kernel accepts any size from the
 * first published one and zero-fills or ignores the tail (extensible
 * structs).  Errors come back as -1/errno: EINVAL (bad argument), ENODEV
 * (no such PCI device or not behind an SMMUv3), EBUSY (wrong state for the
 * call), ENOSPC (buffer too small; the needed length is written back),
 * EOPNOTSUPP (KHO disabled), EIO (snapshot failed; see dmesg).
 */
#define SMMU_KHO_DEV		"/dev/smmu_kho"
#define SMMU_KHO_IOC_MAGIC	0xb7

/* Outgoing (this kernel -> next) and incoming (previous -> this) states. */
enum smmu_kho_state {
	SMMU_KHO_IDLE = 0,	/* nothing selected */
	SMMU_KHO_SELECTED = 1,	/* devices selected, no snapshot yet */
	SMMU_KHO_FROZEN = 2,	/* snapshot taken, pages preserved, subtree added */
	SMMU_KHO_ADOPTED = 3,	/* incoming state validated and adopted */
	SMMU_KHO_RELEASED = 4,	/* every adopted stream released */
};

/* One PCI device, by name as in /sys/bus/pci/devices ("0000:00:02.0"). */
struct smmu_kho_dev_arg {
	__u32 size;
	__u32 flags;		/* 0 */
	char name[32];
};

struct smmu_kho_status {
	__u32 size;
	__u32 out_state;	/* enum smmu_kho_state */
	__u32 in_state;		/* enum smmu_kho_state; IDLE if no handover */
	__u32 nr_out_streams;	/* streams in the outgoing snapshot */
	__u32 nr_in_streams;	/* streams handed over to this kernel */
	__u32 nr_adopted;	/* incoming streams validated and kept */
	__u32 nr_refused;	/* incoming streams aborted by validation */
	__u32 nr_released;	/* adopted streams handed back to the driver */
	__u64 out_fdt_len;
	__u64 in_fdt_len;
	__u64 out_preserved_bytes;
	__u64 freeze_ns;	/* time the last freeze took */
	__u64 adopt_ns;		/* time validate+adopt took at boot */
	/*
	 * @nr_abort_stes: STEs of adopted tables that are not adopted
	 * streams; every one of them is abort after adoption.
	 * @nr_abort_rewritten: how many of those were not abort when handed
	 * over (0 unless the previous kernel left them live).
	 */
	__u32 nr_abort_stes;
	__u32 nr_abort_rewritten;
};

enum smmu_kho_fdt_which {
	SMMU_KHO_FDT_OUT = 0,	/* the snapshot this kernel hands over */
	SMMU_KHO_FDT_IN = 1,	/* the snapshot this kernel was handed */
};

struct smmu_kho_fdt_arg {
	__u32 size;
	__u32 which;		/* enum smmu_kho_fdt_which */
	__u64 buf;		/* user pointer */
	__u64 buf_len;
	__u64 fdt_len;		/* out: bytes of the blob */
};

enum smmu_kho_stream_state {
	SMMU_KHO_STREAM_PRESERVED = 1,	/* outgoing */
	SMMU_KHO_STREAM_ADOPTED = 2,	/* incoming, validated, live */
	SMMU_KHO_STREAM_REFUSED = 3,	/* incoming, failed validation: abort STE */
	SMMU_KHO_STREAM_RELEASED = 4,	/* incoming, given back to the driver */
};

struct smmu_kho_stream_info {
	__u64 smmu_base;	/* MMIO base of its SMMU */
	__u32 sid;
	__u32 state;		/* enum smmu_kho_stream_state */
	__s32 error;		/* -SKHO_E_* for REFUSED, else 0 */
	__u32 events;		/* SMMU events seen for this SID since boot */
	__u64 ste_digest;	/* digest of the STE as it is in memory now */
	__u64 xlat_digest;	/* translation digest recomputed now */
	char dev[32];		/* PCI device name, "" if unknown */
	char why[96];		/* reason when REFUSED */
};

struct smmu_kho_streams_arg {
	__u32 size;
	__u32 nr;		/* in: capacity of @info; out: streams present */
	__u64 info;		/* user pointer to struct smmu_kho_stream_info[nr] */
};

#define SMMU_KHO_IOC_PRESERVE	_IOW(SMMU_KHO_IOC_MAGIC, 1, struct smmu_kho_dev_arg)
#define SMMU_KHO_IOC_UNPRESERVE	_IOW(SMMU_KHO_IOC_MAGIC, 2, struct smmu_kho_dev_arg)
#define SMMU_KHO_IOC_FREEZE	_IO(SMMU_KHO_IOC_MAGIC, 3)
#define SMMU_KHO_IOC_ABORT	_IO(SMMU_KHO_IOC_MAGIC, 4)
#define SMMU_KHO_IOC_STATUS	_IOWR(SMMU_KHO_IOC_MAGIC, 5, struct smmu_kho_status)
#define SMMU_KHO_IOC_GET_FDT	_IOWR(SMMU_KHO_IOC_MAGIC, 6, struct smmu_kho_fdt_arg)
#define SMMU_KHO_IOC_STREAMS	_IOWR(SMMU_KHO_IOC_MAGIC, 7, struct smmu_kho_streams_arg)
#define SMMU_KHO_IOC_RELEASE	_IOW(SMMU_KHO_IOC_MAGIC, 8, struct smmu_kho_dev_arg)

#endif /* _UAPI_SMMU_KHO_H */
