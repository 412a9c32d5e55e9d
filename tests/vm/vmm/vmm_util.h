/* SPDX-License-Identifier: GPL-2.0-only */
/* Helpers shared by the toy VMM and its guest /init: check lines, pipe protocol, sysfs, edu layout. */
#ifndef VMM_UTIL_H
#define VMM_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* The device under test: edu at 00:02.0, StreamID 0x10 on QEMU virt. */
#define VMM_PCI		"0000:00:02.0"
#define VMM_SYSFS	"/sys/bus/pci/devices/" VMM_PCI
#define VMM_SID		0x10

/* Guest memory: a memfd of VMM_PAGES pages mapped at VMM_IOVA (edu masks
 * DMA addresses to 28 bits).  Pages with a role; the VMM puts every page
 * but PG_SRC and PG_ROUNDTRIP back to its initial pattern before each
 * kexec, so each kernel finds the same memory. */
#define VMM_PAGE	4096u
#define VMM_PAGES	32u
#define VMM_IOVA	0x4000000ull
enum vmm_page {
	PG_SRC = 0,		/* kernel 1: source of the edu pattern */
	PG_ROUNDTRIP = 1,	/* kernel 1: edu -> memory before the update */
	PG_JUMP = 2,		/* edu -> memory fired just before each kexec */
	PG_ADOPTED = 3,		/* kernel k >= 2: edu -> memory, handed-over STE */
	PG_RELEASED = 4,	/* kernel k >= 2: edu -> memory, the new HWPT's STE */
	PG_DIFFER = 5,		/* "differ": its IOVA maps PG_ALIAS in the new HWPT */
	PG_ALIAS = 6,		/* until the VMM fixes that mapping */
	PG_LOOP_SRC = 7,	/* the DMA loop: each transfer's pattern, memory -> edu */
	PG_RING = 8,		/* PG_RING.. : the loop's slots, edu -> memory */
};
#define VMM_RING_SLOTS	(VMM_PAGES - PG_RING)
#define VMM_LOOP_BEFORE	3u	/* loop transfers before /init is told to RELEASE */
#define VMM_LOOP_AFTER	3u	/* and started after it returned */
#define VMM_LOOP_MAX	200u	/* the loop gives up without "released" */
#define VMM_SESSION	"vmm-guest"
#define VMM_TOKEN	0x6775657374ull	/* "guest" */

/* Config-space marks at EDU_DMA_MARK_REG (QEMU's pci_cfg_write trace):
 * 0x7e00KKEE, kernel KK of the chain, event EE. */
#define VMM_MARK(k, ev)	(0x7e000000u | ((k) & 0xffu) << 8 | (ev))
enum vmm_mark {
	MK_FIRED = 1,		/* jump DMA fired, kexec next */
	MK_BOOT = 2,		/* kernel k >= 2: /init started */
	MK_DONE = 3,		/* last kernel: VMM done, about to close */
	MK_LOOP_BEGIN = 4,	/* the VMM's DMA loop: before its first transfer */
	MK_LOOP_END = 5,	/* after its last */
	MK_REL_BEGIN = 6,	/* /init: just before the hitless RELEASE */
	MK_REL_END = 7,		/* just after it returned */
};

/* Word i of page p before any DMA, and of the edu pattern. */
static inline uint32_t vmm_guest_word(unsigned int p, unsigned int i)
{
	return 0x6d000000u ^ (p << 12) ^ i;
}

static inline uint32_t vmm_edu_word(unsigned int i)
{
	return 0xed000000u | (i * 7u);
}

/* Word i of the loop's transfer n (< 256) in kernel k: distinct per transfer. */
static inline uint32_t vmm_loop_word(unsigned int k, unsigned int n, unsigned int i)
{
	return 0xa0000000u ^ (k & 0xffu) << 20 ^ (n & 0xffu) << 12 ^ i;
}

/* "<5>VMMCHECK k=K ok|fail NAME DETAIL" on /dev/kmsg (and stderr). */
void vmm_check(int ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void vmm_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern unsigned int vmm_kernel;

/* One text line over a pipe; vmm_recv waits at most timeout_ms.  0 or -errno. */
int vmm_send(int fd, const char *line);
int vmm_recv(int fd, char *buf, size_t len, int timeout_ms);

int vmm_write_file(const char *path, const char *s);
/* PCI config space of VMM_PCI through sysfs (real hardware accesses). */
int vmm_cfg_read16(unsigned int off, uint16_t *v);
int vmm_cfg_write32(unsigned int off, uint32_t v);
/* This boot's kernel command line, and the number in its "@key=" word
 * (vmm.k=K: this kernel's index in the chain), else @def. */
const char *vmm_cmdline(void);
unsigned long vmm_cmdline_ul(const char *key, unsigned long def);
/* Mark @ev of this kernel in QEMU's trace. */
void vmm_mark(enum vmm_mark ev);

#endif /* VMM_UTIL_H */
