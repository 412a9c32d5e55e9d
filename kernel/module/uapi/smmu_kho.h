/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/* smmu_kho.ko user API: /dev/smmu_kho ioctls (select, freeze, status, snapshots, hand-back). */
#ifndef _UAPI_SMMU_KHO_H
#define _UAPI_SMMU_KHO_H

#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * Every argument struct starts with @size, set by the caller to
 * sizeof(struct) it was compiled with; the kernel accepts any size from the
 * first published one (8 bytes) and zero-fills a short struct; bytes past
 * the struct it knows must be zero (copy_struct_from_user(): E2BIG
 * otherwise).  Every call needs CAP_SYS_ADMIN (EPERM).  Errors come back as
 * -1/errno:
 *   EPERM       caller lacks CAP_SYS_ADMIN
 *   EINVAL      bad argument: @size < 8, unknown @flags bit, bad @which
 *   E2BIG       non-zero bytes past the struct this kernel knows
 *   ENODEV      no such PCI device, or not behind an SMMUv3
 *   ENOENT      nothing to act on (device not selected, nothing adopted)
 *   EBUSY       a kexec is under way (the reboot notifier has frozen for
 *               the last time): ABORT, UNPRESERVE, PRESERVE, FREEZE,
 *               RELEASE and QUARANTINE are refused
 *   ENOSPC      buffer too small; the needed length is written back
 *   EOPNOTSUPP  KHO disabled (every call but STATUS)
 *   EADDRNOTAVAIL  FREEZE: a selected stream's translation maps memory
 *               that is not preserved through KHO (STATUS.out_why names
 *               SID, IOVA and PA)
 *   EIO         snapshot failed (STATUS.out_why and dmesg say why)
 *   EXDEV       RELEASE (without SMMU_KHO_RELEASE_REPLACE): the device's
 *               new domain does not translate every IOVA of the adopted
 *               translation to the same PA with the same permissions, or
 *               the STE change cannot be made hitless; STATUS.release_why
 *               names the first differing IOVA (or the STE field).  The
 *               stream stays adopted, translating as before.
 *   EPROTONOSUPPORT  PRESERVE: the device uses a feature whose translation
 *               state is not handed over (ATS, PRI or PASID enabled: the
 *               device caches translations, or has per-PASID address
 *               spaces); STATUS.out_why names the device and the feature
 */
#define SMMU_KHO_DEV		"/dev/smmu_kho"
#define SMMU_KHO_IOC_MAGIC	0xb7

/* Outgoing (this kernel -> next) and incoming (previous -> this) states. */
enum smmu_kho_state {
	SMMU_KHO_IDLE = 0,	/* nothing selected */
	SMMU_KHO_SELECTED = 1,	/* devices selected, no snapshot yet */
	SMMU_KHO_FROZEN = 2,	/* snapshot taken, pages preserved, subtree added */
	SMMU_KHO_ADOPTED = 3,	/* incoming: >= 1 stream adopted (see nr_refused) */
	SMMU_KHO_RELEASED = 4,	/* incoming: every adopted stream released */
	SMMU_KHO_IN_REFUSED = 5,	/* incoming: the handover as a whole refused */
	SMMU_KHO_ALL_REFUSED = 6,	/* incoming: streams handed over, none adopted */
	SMMU_KHO_JUMPING = 7,	/* outgoing: frozen for the last time, kexec under way */
};
/* In @in_state, SMMU_KHO_IDLE means: no handover (cold boot, or no subtree). */

/* One PCI device, by name as in /sys/bus/pci/devices ("0000:00:02.0"). */
struct smmu_kho_dev_arg {
	__u32 size;
	__u32 flags;		/* 0, or SMMU_KHO_RELEASE_* for RELEASE */
	char name[32];
};

/*
 * RELEASE hands a device's adopted streams to the domain its owner attached
 * meanwhile (a VMM's iommufd HWPT, or the driver's DMA domain).  By default
 * the hand-back is hitless or refused (EXDEV): the new domain must translate
 * every IOVA of the adopted translation to the same PA with the same
 * permissions, and the STE moves there by single 64-bit stores each of
 * which leaves a valid STE translating the same.  REPLACE skips both: the
 * owner says the device no longer uses the adopted translation (its driver
 * re-initialised it), and the driver's ordinary STE update is used.  Either
 * way the previous kernel's CD and page-table pages, ASIDs and VMIDs no
 * longer used are returned to the system.
 */
#define SMMU_KHO_RELEASE_REPLACE	(1u << 0)

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
	/* Since the first revision: */
	__s32 in_error;		/* -SKHO_E_* why the handover was refused, or 0 */
	__s32 out_error;	/* -errno of the last failed FREEZE, or 0 */
	__u32 nr_quarantined;	/* adopted streams quarantined (abort STE) */
	__u32 nr_dropped;	/* outgoing streams dropped at the last freeze */
	char in_why[128];	/* IN_REFUSED: what was wrong, "" otherwise */
	char out_why[128];	/* last FREEZE failure or drop: SID, IOVA, PA */
	/* Since the second revision: hand-back and the pages it gives back. */
	__s32 release_error;	/* -errno of the last RELEASE, or 0 */
	__u32 nr_released_hitless; /* streams moved by the hitless sequence */
	__u64 release_ns;	/* time the last successful RELEASE took */
	__u64 out_preserved_pages; /* table pages preserved for the next kernel */
	/*
	 * Table pages (stream table, CD tables, page tables) the previous
	 * kernel handed over: restored at adoption, then either kept (the
	 * stream table now in use, tables of streams not yet released) or
	 * freed after hand-back.  in_adopted = in_kept + in_freed.
	 */
	__u64 in_adopted_pages;
	__u64 in_kept_pages;
	__u64 in_freed_pages;
	__u32 nr_asids_freed;	/* adopted ASIDs given back after hand-back */
	__u32 nr_vmids_freed;	/* adopted VMIDs given back after hand-back */
	char release_why[128];	/* last RELEASE refusal: first differing IOVA */
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
	SMMU_KHO_STREAM_QUARANTINED = 5, /* incoming, abort STE on request */
	SMMU_KHO_STREAM_DROPPED = 6,	/* outgoing, left the handover: abort at kexec */
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
	char why[96];		/* reason when REFUSED, QUARANTINED, DROPPED */
	/* Since the first revision: */
	/* the STE as the SMMU reads it now, via STRTAB_BASE(_CFG) */
	__u8 ste[64];
	__u64 strtab_base;	/* SMMU_STRTAB_BASE read from the SMMU now */
	__u32 strtab_cfg;	/* SMMU_STRTAB_BASE_CFG read now */
	__u32 ste_live;		/* 1 if @ste could be read (else all zero) */
};

struct smmu_kho_streams_arg {
	__u32 size;
	__u32 nr;		/* in: capacity of @info; out: streams present */
	__u64 info;		/* user pointer to struct smmu_kho_stream_info[nr] */
};

/*
 * Bytes of preserved SMMU tables, for a user-space recomputation of the
 * digests with the portable core: [pa, pa + len) must lie inside this
 * kernel's outgoing preserved pages (which=OUT) or inside the table pages
 * the previous kernel handed over (which=IN).  len <= 1 MiB.  Errors:
 * EINVAL (len 0 or too large, wrap, bad which), ENOENT (not inside).
 */
struct smmu_kho_read_arg {
	__u32 size;
	__u32 which;		/* enum smmu_kho_fdt_which */
	__u64 pa;
	__u64 len;
	__u64 buf;		/* user pointer, @len bytes */
};

/* The IOMMU domain a device is attached to now (iommu_get_domain_for_dev()). */
enum smmu_kho_domain {
	SMMU_KHO_DOMAIN_NONE = 0,	/* no IOMMU group / no domain */
	SMMU_KHO_DOMAIN_BLOCKED = 1,	/* DMA blocked (e.g. vfio opened, not attached) */
	SMMU_KHO_DOMAIN_IDENTITY = 2,	/* bypass */
	SMMU_KHO_DOMAIN_DMA = 3,	/* the kernel's DMA API domain */
	SMMU_KHO_DOMAIN_UNMANAGED = 4,	/* paging domain owned by a user: iommufd HWPT, VFIO */
	SMMU_KHO_DOMAIN_NESTED = 5,	/* nested (stage-1 over a nest-parent) */
	SMMU_KHO_DOMAIN_OTHER = 6,
};

/*
 * PROBE: what PRESERVE would make of a device, changing nothing.  @out_refuse
 * is the -errno PRESERVE returns for the device's features (-EPROTONOSUPPORT)
 * or 0, @out_why why.  ENODEV: no such PCI device.
 */
struct smmu_kho_probe_arg {
	__u32 size;
	__u32 flags;		/* 0 */
	char name[32];		/* in: PCI device name */
	char out_driver[32];	/* bound driver ("vfio-pci"), "" if none */
	__u32 out_domain;	/* enum smmu_kho_domain */
	__s32 out_refuse;
	char out_why[96];
};

#define SMMU_KHO_IOC_PRESERVE	_IOW(SMMU_KHO_IOC_MAGIC, 1, struct smmu_kho_dev_arg)
#define SMMU_KHO_IOC_UNPRESERVE	_IOW(SMMU_KHO_IOC_MAGIC, 2, struct smmu_kho_dev_arg)
#define SMMU_KHO_IOC_FREEZE	_IO(SMMU_KHO_IOC_MAGIC, 3)
#define SMMU_KHO_IOC_ABORT	_IO(SMMU_KHO_IOC_MAGIC, 4)
#define SMMU_KHO_IOC_STATUS	_IOWR(SMMU_KHO_IOC_MAGIC, 5, struct smmu_kho_status)
#define SMMU_KHO_IOC_GET_FDT	_IOWR(SMMU_KHO_IOC_MAGIC, 6, struct smmu_kho_fdt_arg)
#define SMMU_KHO_IOC_STREAMS	_IOWR(SMMU_KHO_IOC_MAGIC, 7, struct smmu_kho_streams_arg)
#define SMMU_KHO_IOC_RELEASE	_IOW(SMMU_KHO_IOC_MAGIC, 8, struct smmu_kho_dev_arg)
/*
 * Quarantine the adopted streams of a device: their STEs become abort now,
 * through the driver's ordered STE update (CFGI_STE + CMD_SYNC, CMO on a
 * non-coherent SMMU), and stay abort until RELEASE installs the driver's
 * own domain.  ENOENT: no adopted stream.
 */
#define SMMU_KHO_IOC_QUARANTINE	_IOW(SMMU_KHO_IOC_MAGIC, 9, struct smmu_kho_dev_arg)
#define SMMU_KHO_IOC_READ	_IOW(SMMU_KHO_IOC_MAGIC, 10, struct smmu_kho_read_arg)
#define SMMU_KHO_IOC_PROBE	_IOWR(SMMU_KHO_IOC_MAGIC, 11, struct smmu_kho_probe_arg)

#endif /* _UAPI_SMMU_KHO_H */
