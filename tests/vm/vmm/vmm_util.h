/* SPDX-License-Identifier: GPL-2.0-only */
/* Helpers shared by the toy VMM and its guest /init: check lines, pipe protocol, sysfs, edu layout. */
#ifndef VMM_UTIL_H
#define VMM_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* The device under test: edu at 00:02.0, StreamID 0x10 on QEMU virt. */
#define VMM_PCI		"0000:00:02.0"
#define VMM_SYSFS	"/sys/bus/pci/devices/" VMM_PCI

/* Guest memory: a memfd of VMM_PAGES pages mapped at VMM_IOVA (edu masks
 * DMA addresses to 28 bits).  Pages with a role; all others keep their
 * initial pattern across the update. */
#define VMM_PAGE	4096u
#define VMM_PAGES	16u
#define VMM_IOVA	0x4000000ull
enum vmm_page {
	PG_SRC = 0,		/* kernel 1: source of the edu pattern */
	PG_ROUNDTRIP = 1,	/* kernel 1: edu -> memory before the update */
	PG_JUMP = 2,		/* edu -> memory fired just before the kexec */
	PG_ADOPTED = 3,		/* kernel 2: edu -> memory, handed-over STE */
	PG_RELEASED = 4,	/* kernel 2: edu -> memory, the new HWPT's STE */
};
#define VMM_SESSION	"vmm-guest"
#define VMM_TOKEN	0x6775657374ull	/* "guest" */

/* Config-space marks at EDU_DMA_MARK_REG (QEMU's pci_cfg_write trace). */
#define VMM_MARK_FIRED	0x7e000001u	/* kernel 1: jump DMA fired */
#define VMM_MARK_K2	0x7e000002u	/* kernel 2: /init started */
#define VMM_MARK_DONE	0x7e000003u	/* kernel 2: VMM done, about to close */

/* Word i of page p before any DMA, and of the edu pattern. */
static inline uint32_t vmm_guest_word(unsigned int p, unsigned int i)
{
	return 0x6d000000u ^ (p << 12) ^ i;
}

static inline uint32_t vmm_edu_word(unsigned int i)
{
	return 0xed000000u | (i * 7u);
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

#endif /* VMM_UTIL_H */
