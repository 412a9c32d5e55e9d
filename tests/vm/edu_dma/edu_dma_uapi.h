/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/* edu_dma.ko user API: /dev/edu_dma_<bdf> ioctls the VM guest program drives. */
#ifndef _UAPI_EDU_DMA_H
#define _UAPI_EDU_DMA_H

#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * One misc device per bound edu function, named after its PCI requester ID
 * (bus << 8 | devfn, which is also its SMMU StreamID on QEMU virt):
 * /dev/edu_dma_0010 for 00:02.0.  Errors come back as -1/errno.
 */
#define EDU_DMA_DEV_FMT		"/dev/edu_dma_%04x"
#define EDU_DMA_IOC_MAGIC	0xed

/* Geometry of QEMU's edu device (hw/misc/edu.c). */
#define EDU_DMA_DEV_BASE	0x40000	/* device address of its DMA buffer */
#define EDU_DMA_DEV_SIZE	4096	/* size of that buffer */
/* Its BAR0 DMA registers (64-bit) and command bits. */
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_CNT		0x90
#define EDU_REG_DMA_CMD		0x98
#define EDU_CMD_RUN		0x1
#define EDU_CMD_FROM_DEV	0x2	/* edu buffer -> PCI address */

/* Trace markers: written to config offset EDU_DMA_MARK_REG so that QEMU's
 * pci_cfg_write trace shows them in order with the smmuv3_* events.
 * value = EDU_DMA_MARK(kernel index, event). */
#define EDU_DMA_MARK_REG	0xfc
#define EDU_DMA_MARK(k, ev)	(0x5e000000u | (((k) & 0xff) << 8) | ((ev) & 0xff))
enum edu_dma_mark_ev {
	EDU_MARK_LOADED = 0x01,	 /* probe done in kernel k (written by the module) */
	EDU_MARK_RT_BEGIN = 0x02, /* round trip starts */
	EDU_MARK_RT_END = 0x03,	 /* round trip over */
	EDU_MARK_JUMP_FIRE = 0x10, /* in-jump DMA fired from the reboot notifier */
	EDU_MARK_RAW_BEGIN = 0x20, /* same-IOVA DMA without a mapping fired */
	EDU_MARK_RAW_END = 0x21,   /* same-IOVA DMA finished or timed out */
};

/* The record a kernel hands to the next one (KHO subtree "edu-dma"). */
struct edu_dma_record {
	__u32 bdf;		/* requester ID of the device */
	__u32 kernel;		/* index of the kernel that wrote it (1-based) */
	__u32 stage;		/* translation stage of the buffer's IOVA: 1 or 2 */
	__u32 nr_pages;		/* pages of the buffer, preserved with KHO */
	__u64 iova;		/* device address of the buffer */
	__u64 pa;		/* physical address of the buffer */
	__u64 fire_cycles;	/* CNTVCT when the reboot notifier ran; 0 if not */
	__u32 tag[8];		/* opaque to the module: the guest's patterns */
};

/* edu_dma_info.flags */
#define EDU_DMA_F_BUF		(1u << 0)	/* a buffer is allocated */
#define EDU_DMA_F_ARMED		(1u << 1)	/* in-jump DMA armed */
#define EDU_DMA_F_IN_RECORD	(1u << 2)	/* previous kernel left a record */
#define EDU_DMA_F_IN_RESTORED	(1u << 3)	/* its buffer was kho_restore_pages'd */
#define EDU_DMA_F_KHO_BOOT	(1u << 4)	/* is_kho_boot() */
#define EDU_DMA_F_KHO_ENABLED	(1u << 5)	/* kho_is_enabled() */
#define EDU_DMA_F_INHERITED	(1u << 6)	/* the buffer is the restored one */

struct edu_dma_info {
	__u32 bdf;
	__u32 flags;		/* EDU_DMA_F_* */
	__u32 stage;		/* stage of the current buffer, 0 if none */
	__u32 kernel;		/* module parameter kernel= */
	__u64 iova;		/* current buffer */
	__u64 pa;
	__u64 size;
	__s32 in_err;		/* 0, or why no incoming record: -ENOENT, -EINVAL... */
	__u32 pad;
	struct edu_dma_record in;	/* valid if EDU_DMA_F_IN_RECORD */
};

/* EDU_DMA_IOC_ALLOC: one page-multiple buffer.  Stage 1: dma_alloc_coherent
 * in the device's default DMA domain (@iova is returned).  Stage 2: a
 * stage-2 (nest parent) domain is attached and the pages are iommu_map'ed
 * at the given @iova. */
struct edu_dma_alloc {
	__u32 stage;		/* in: 1 or 2 */
	__u32 nr_pages;		/* in */
	__u64 iova;		/* in (stage 2) / out */
	__u64 pa;		/* out */
};

/* EDU_DMA_IOC_RW: copy between user memory and a buffer. */
enum edu_dma_which {
	EDU_BUF_CUR = 0,	/* the buffer this kernel allocated */
	EDU_BUF_IN = 1,		/* the buffer restored from the previous kernel */
};
struct edu_dma_rw {
	__u32 which;		/* enum edu_dma_which */
	__u32 write;		/* 1: user -> buffer, 0: buffer -> user */
	__u64 offset;
	__u64 len;
	__u64 user;		/* user pointer */
};

/* EDU_DMA_IOC_XFER: program the edu DMA engine with raw register writes;
 * no mapping is created or checked. */
enum edu_dma_dir {
	EDU_TO_DEV = 0,		/* memory (@iova) -> edu buffer */
	EDU_FROM_DEV = 1,	/* edu buffer -> memory (@iova) */
};
struct edu_dma_xfer {
	__u32 dir;		/* enum edu_dma_dir */
	__u32 dev_off;		/* offset in the edu buffer */
	__u64 iova;		/* bus address the device uses */
	__u32 len;		/* bytes, dev_off + len <= EDU_DMA_DEV_SIZE */
	__u32 timeout_ms;	/* 0: fire and return; else poll for completion */
	__u32 done;		/* out: 1 if the engine reported completion */
	__u32 pad;
	__u64 elapsed_ns;	/* out: time until completion was seen */
};

/* EDU_DMA_IOC_ARM: preserve the current buffer with KHO, publish its record
 * (with @tag) in the "edu-dma" KHO subtree, and fire @xfer (not waited for)
 * from the reboot notifier, i.e. while the kernel jumps. */
struct edu_dma_arm {
	struct edu_dma_xfer xfer;
	__u32 tag[8];
};

#define EDU_DMA_IOC_INFO	_IOR(EDU_DMA_IOC_MAGIC, 1, struct edu_dma_info)
#define EDU_DMA_IOC_ALLOC	_IOWR(EDU_DMA_IOC_MAGIC, 2, struct edu_dma_alloc)
#define EDU_DMA_IOC_RW		_IOW(EDU_DMA_IOC_MAGIC, 3, struct edu_dma_rw)
#define EDU_DMA_IOC_XFER	_IOWR(EDU_DMA_IOC_MAGIC, 4, struct edu_dma_xfer)
#define EDU_DMA_IOC_ARM		_IOW(EDU_DMA_IOC_MAGIC, 5, struct edu_dma_arm)
#define EDU_DMA_IOC_MARK	_IOW(EDU_DMA_IOC_MAGIC, 6, __u32)
/* Make the buffer restored from the previous kernel (EDU_BUF_IN) this
 * kernel's buffer, at the IOVA and PA it had there, without any new mapping:
 * for a device whose preserved translation is still the previous kernel's
 * (not yet released), so the next ARM hands the same IOVA->PA over again.
 * Errors: ENOENT (nothing restored), EBUSY (a buffer already exists). */
#define EDU_DMA_IOC_INHERIT	_IO(EDU_DMA_IOC_MAGIC, 7)
/* Stage 2: INHERIT, then iommu_map the buffer at its old IOVA (same PA,
 * read/write) in this kernel's nest-parent domain, attached to the device:
 * the same translation as the adopted one, so SMMU_KHO_IOC_RELEASE without
 * REPLACE hands the stream back hitlessly.  Errors: EINVAL (not stage 2),
 * those of INHERIT, and of the domain's allocation, attach or map. */
#define EDU_DMA_IOC_REMAP_INHERITED	_IO(EDU_DMA_IOC_MAGIC, 8)

#endif /* _UAPI_EDU_DMA_H */
