// SPDX-License-Identifier: GPL-2.0-only
/* Toy VMM: edu through the vfio cdev and an iommufd stage-2 HWPT, guest memory a LUO-preserved memfd. */
/*
 * Usage (started by vmm_init with its control pipe on fds 3 (in) and 4 (out)):
 *   vmm start    kernel 1: bind 00:02.0 to vfio-pci, open it through
 *                /dev/vfio/devices/vfioN, bind it to /dev/iommu, map the
 *                memfd "guest memory" at VMM_IOVA in an IOAS, attach a
 *                nest-parent (stage-2) HWPT, round-trip the edu pattern,
 *                then preserve and hold (below).
 *   vmm resume [differ]
 *                kernel k >= 2: retrieve the memfd, check the guest memory
 *                and the jump DMA, open the device again (no config
 *                write), map the same memfd at the same IOVA, attach a new
 *                HWPT, DMA edu -> PG_ADOPTED; "adopted".  With "differ" the
 *                new HWPT maps PG_DIFFER's IOVA to PG_ALIAS: on "refused"
 *                (RELEASE said EXDEV) DMA to that IOVA, then map it right;
 *                "fixed".  Then the DMA loop (dma_loop) around /init's
 *                RELEASE; edu -> PG_RELEASED; "looped".  On "preserve":
 *                finish the session, preserve and hold; on "finish": finish
 *                the session; "done".
 * Preserve and hold: put the pages back to their initial pattern, preserve
 * the memfd in LUO session VMM_SESSION; "ready"; on "fire": start edu ->
 * PG_JUMP and answer "fired", then hold every fd until the kexec.
 * Results are VMMCHECK lines on /dev/kmsg (vmm_util.c).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/iommufd.h>
#include <linux/liveupdate.h>
#include <linux/vfio.h>

#include "edu_dma_uapi.h"
#include "vmm_util.h"

#define NWORDS			(VMM_PAGE / 4)
#define CTL_IN			3
#define CTL_OUT			4
#define CTL_TIMEOUT_MS		60000

struct vmm {
	int memfd, iommufd, devfd, session;
	uint32_t *mem;			/* the memfd, mapped */
	volatile uint8_t *bar0;
	uint32_t dev_id, ioas_id, hwpt_id;
	int nest_parent;		/* the HWPT is a stage-2 nest parent */
	int differ;			/* PG_DIFFER's IOVA maps PG_ALIAS (until fixed) */
	const char *step;		/* the iommufd step under way */
};

static uint64_t page_pa(const void *va)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	if (pread(fd, &e, sizeof(e), (uintptr_t)va / VMM_PAGE * sizeof(e)) != sizeof(e))
		e = 0;
	close(fd);
	return (e >> 63) ? (e & ((1ull << 55) - 1)) * VMM_PAGE : 0;
}

static uint32_t *page(struct vmm *v, unsigned int p)
{
	return v->mem + p * NWORDS;
}

static void reg_write(struct vmm *v, unsigned int off, uint64_t val)
{
	*(volatile uint64_t *)(v->bar0 + off) = val;
}

static uint64_t reg_read(struct vmm *v, unsigned int off)
{
	return *(volatile uint64_t *)(v->bar0 + off);
}

/* Start one 4 KiB edu DMA between its buffer and page @p's IOVA. */
static int edu_start(struct vmm *v, unsigned int p, int from_dev)
{
	uint64_t iova = VMM_IOVA + (uint64_t)p * VMM_PAGE;

	if (reg_read(v, EDU_REG_DMA_CMD) & EDU_CMD_RUN)
		return -EBUSY;
	reg_write(v, EDU_REG_DMA_SRC, from_dev ? EDU_DMA_DEV_BASE : iova);
	reg_write(v, EDU_REG_DMA_DST, from_dev ? iova : EDU_DMA_DEV_BASE);
	reg_write(v, EDU_REG_DMA_CNT, VMM_PAGE);
	reg_write(v, EDU_REG_DMA_CMD, EDU_CMD_RUN | (from_dev ? EDU_CMD_FROM_DEV : 0));
	return 0;
}

/* The edu timer runs 100 ms (virtual) after the command. */
static int edu_wait(struct vmm *v)
{
	struct timespec ms = { 0, 1000000 };
	int i;

	for (i = 0; i < 3000; i++) {
		if (!(reg_read(v, EDU_REG_DMA_CMD) & EDU_CMD_RUN))
			return 0;
		nanosleep(&ms, NULL);
	}
	return -ETIMEDOUT;
}

static int edu_xfer(struct vmm *v, unsigned int p, int from_dev)
{
	return edu_start(v, p, from_dev) ?: edu_wait(v);
}

/* Words of page @p that differ from the edu pattern. */
static unsigned int edu_pattern_diff(struct vmm *v, unsigned int p)
{
	unsigned int i, bad = 0;

	for (i = 0; i < NWORDS; i++)
		bad += page(v, p)[i] != vmm_edu_word(i);
	return bad;
}

static int open_device(struct vmm *v)
{
	char path[300] = "";
	struct dirent *e;
	DIR *d = opendir(VMM_SYSFS "/vfio-dev");

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "vfio", 4))
			snprintf(path, sizeof(path), "/dev/vfio/devices/%s", e->d_name);
	closedir(d);
	if (!path[0])
		return -ENOENT;
	v->devfd = open(path, O_RDWR | O_CLOEXEC);
	return v->devfd < 0 ? -errno : 0;
}

/* IOVA page @iova_pg.. -> memfd page @file_pg.., @n pages, one IOAS area. */
static int map_pages(struct vmm *v, unsigned int iova_pg, unsigned int file_pg, unsigned int n)
{
	struct iommu_ioas_map_file map = { .size = sizeof(map) };

	map.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
		    IOMMU_IOAS_MAP_WRITEABLE;
	map.ioas_id = v->ioas_id;
	map.fd = v->memfd;
	map.start = (uint64_t)file_pg * VMM_PAGE;
	map.length = (uint64_t)n * VMM_PAGE;
	map.iova = VMM_IOVA + (uint64_t)iova_pg * VMM_PAGE;
	return ioctl(v->iommufd, IOMMU_IOAS_MAP_FILE, &map) ? -errno : 0;
}

/*
 * The guest memory in the IOAS: every page at its IOVA, in one area; with
 * @v->differ PG_DIFFER's IOVA maps PG_ALIAS instead, in an area of its own
 * (iommufd unmaps whole areas only, see fix_differ()).
 */
static int map_guest_memory(struct vmm *v)
{
	if (!v->differ)
		return map_pages(v, 0, 0, VMM_PAGES);
	return map_pages(v, 0, 0, PG_DIFFER) ?: map_pages(v, PG_DIFFER, PG_ALIAS, 1) ?:
	       map_pages(v, PG_DIFFER + 1, PG_DIFFER + 1, VMM_PAGES - PG_DIFFER - 1);
}

/* Map PG_DIFFER's IOVA to its own page, as every other one. */
static int fix_differ(struct vmm *v)
{
	struct iommu_ioas_unmap un = { .size = sizeof(un) };

	un.ioas_id = v->ioas_id;
	un.iova = VMM_IOVA + (uint64_t)PG_DIFFER * VMM_PAGE;
	un.length = VMM_PAGE;
	if (ioctl(v->iommufd, IOMMU_IOAS_UNMAP, &un))
		return -errno;
	v->differ = 0;
	return map_pages(v, PG_DIFFER, PG_DIFFER, 1);
}

/* vfio cdev + iommufd: IOAS with the memfd at VMM_IOVA, a HWPT, attach. */
static int attach_steps(struct vmm *v)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct iommu_ioas_alloc ioas = { .size = sizeof(ioas) };
	struct iommu_hwpt_alloc hwpt = { .size = sizeof(hwpt) };
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };
	int ret;

	v->step = "open /dev/iommu";
	v->iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (v->iommufd < 0)
		return -errno;
	v->step = "VFIO_DEVICE_BIND_IOMMUFD";
	bind.iommufd = v->iommufd;
	if (ioctl(v->devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		return -errno;
	v->dev_id = bind.out_devid;
	v->step = "IOMMU_IOAS_ALLOC";
	if (ioctl(v->iommufd, IOMMU_IOAS_ALLOC, &ioas))
		return -errno;
	v->ioas_id = ioas.out_ioas_id;
	v->step = "IOMMU_IOAS_MAP_FILE";
	ret = map_guest_memory(v);
	if (ret)
		return ret;
	/* A VMM's stage 2: the nest parent; a plain paging HWPT only if the
	 * SMMU cannot nest (reported, the check names which). */
	hwpt.dev_id = v->dev_id;
	hwpt.pt_id = v->ioas_id;
	hwpt.flags = IOMMU_HWPT_ALLOC_NEST_PARENT;
	v->nest_parent = 1;
	v->step = "IOMMU_HWPT_ALLOC";
	if (ioctl(v->iommufd, IOMMU_HWPT_ALLOC, &hwpt)) {
		vmm_info("nest-parent HWPT refused (errno %d): plain paging HWPT", errno);
		hwpt.flags = 0;
		v->nest_parent = 0;
		if (ioctl(v->iommufd, IOMMU_HWPT_ALLOC, &hwpt))
			return -errno;
	}
	v->hwpt_id = hwpt.out_hwpt_id;
	v->step = "VFIO_DEVICE_ATTACH_IOMMUFD_PT";
	at.pt_id = v->hwpt_id;
	return ioctl(v->devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at) ? -errno : 0;
}

static int attach_guest_memory(struct vmm *v)
{
	int ret = attach_steps(v);

	if (ret)
		vmm_info("iommufd: %s failed: errno %d", v->step, -ret);
	return ret;
}

/* Set memory decode and Bus Master through vfio's config region, as a
 * guest's driver would. */
static int enable_device(struct vmm *v)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri),
				       .index = VFIO_PCI_CONFIG_REGION_INDEX };
	uint16_t cmd;

	if (ioctl(v->devfd, VFIO_DEVICE_GET_REGION_INFO, &ri))
		return -errno;
	if (pread(v->devfd, &cmd, 2, (off_t)ri.offset + 4) != 2)
		return -EIO;
	cmd |= 0x6;
	return pwrite(v->devfd, &cmd, 2, (off_t)ri.offset + 4) == 2 ? 0 : -EIO;
}

static int map_bar0(struct vmm *v)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = VFIO_PCI_BAR0_REGION_INDEX };
	void *p;

	if (ioctl(v->devfd, VFIO_DEVICE_GET_REGION_INFO, &ri))
		return -errno;
	if (!(ri.flags & VFIO_REGION_INFO_FLAG_MMAP) || ri.size < 0x100)
		return -ENOTSUP;
	p = mmap(NULL, ri.size, PROT_READ | PROT_WRITE, MAP_SHARED, v->devfd, ri.offset);
	if (p == MAP_FAILED)
		return -errno;
	v->bar0 = p;
	return 0;
}

static int map_memfd(struct vmm *v)
{
	void *p = mmap(NULL, (size_t)VMM_PAGES * VMM_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       v->memfd, 0);

	if (p == MAP_FAILED)
		return -errno;
	v->mem = p;
	return 0;
}

static int bme(void)
{
	uint16_t cmd = 0;

	return vmm_cfg_read16(0x4, &cmd) ? -1 : !!(cmd & 0x4);
}

/* "pa kK PA0,PA1,...": the physical address of every guest memory page. */
static void print_pas(struct vmm *v)
{
	char buf[VMM_PAGES * 12 + 1];
	unsigned int p;
	int n = 0;

	for (p = 0; p < VMM_PAGES; p++)
		n += snprintf(buf + n, sizeof(buf) - n, "%s%#llx", p ? "," : "",
			      (unsigned long long)page_pa(page(v, p)));
	vmm_info("pa k%u %s", vmm_kernel, buf);
}

/* Every page as a fresh guest's: the edu pattern in PG_SRC, PG_ROUNDTRIP
 * as the round trip left it, the initial pattern elsewhere. */
static void reset_pages(struct vmm *v)
{
	unsigned int p, i;

	for (p = 0; p < VMM_PAGES; p++)
		for (i = 0; p != PG_ROUNDTRIP && i < NWORDS; i++)
			page(v, p)[i] = p == PG_SRC ? vmm_edu_word(i) : vmm_guest_word(p, i);
}

/*
 * Session VMM_SESSION from /dev/liveupdate (single opener: open, one ioctl,
 * close): @req is CREATE_SESSION or RETRIEVE_SESSION, whose arguments share
 * one layout.  Returns the session fd or -errno.
 */
static int luo_session(unsigned long req)
{
	struct liveupdate_ioctl_create_session a = { .size = sizeof(a) };
	int luo = open("/dev/liveupdate", O_RDWR | O_CLOEXEC), ret;

	_Static_assert(sizeof(a) == sizeof(struct liveupdate_ioctl_retrieve_session),
		       "create and retrieve session arguments differ");
	if (luo < 0)
		return -errno;
	strcpy((char *)a.name, VMM_SESSION);
	ret = ioctl(luo, req, &a) ? -errno : a.fd;
	close(luo);
	return ret;
}

/*
 * Preserve the memfd in a new session VMM_SESSION, held open by this
 * process; "ready"; on "fire" start edu -> PG_JUMP, "fired", hold every fd
 * until the kexec.  Returns only on failure.
 */
static int preserve_and_hold(struct vmm *v)
{
	struct liveupdate_session_preserve_fd pf = { .size = sizeof(pf) };
	char line[64];
	int ret;

	reset_pages(v);
	v->session = luo_session(LIVEUPDATE_IOCTL_CREATE_SESSION);
	ret = v->session < 0 ? v->session : 0;
	pf.fd = v->memfd;
	pf.token = VMM_TOKEN;
	ret = ret ?: ioctl(v->session, LIVEUPDATE_SESSION_PRESERVE_FD, &pf) ? -errno : 0;
	vmm_check(!ret, "luo_preserve_memfd", "ret=%d session=%s", ret, VMM_SESSION);
	if (ret)
		return ret;
	vmm_send(CTL_OUT, "ready");
	ret = vmm_recv(CTL_IN, line, sizeof(line), CTL_TIMEOUT_MS);
	if (ret || strcmp(line, "fire"))
		return ret ?: -EPROTO;
	/* Fire and answer at once: the DMA runs 100 ms later, in the jump. */
	ret = edu_start(v, PG_JUMP, 1);
	vmm_mark(MK_FIRED);
	vmm_send(CTL_OUT, ret ? "error" : "fired");
	for (;;)
		pause();
}

static int vmm_start(struct vmm *v)
{
	int ret;

	ret = vmm_write_file(VMM_SYSFS "/driver_override", "vfio-pci");
	ret = ret ?: vmm_write_file("/sys/bus/pci/drivers_probe", VMM_PCI);
	ret = ret ?: open_device(v);
	vmm_check(!ret, "vfio_cdev_open", "ret=%d", ret);
	if (ret)
		return ret;
	v->memfd = memfd_create("guest-memory", 0);
	if (v->memfd < 0 || ftruncate(v->memfd, (off_t)VMM_PAGES * VMM_PAGE) || map_memfd(v))
		return -errno;
	reset_pages(v);
	ret = attach_guest_memory(v);
	vmm_check(!ret, "iommufd_attach_hwpt", "ret=%d hwpt=%s", ret,
		  v->nest_parent ? "nest-parent" : "paging");
	if (ret)
		return ret;
	ret = map_bar0(v) ?: enable_device(v);
	/* Round trip: memory -> edu -> memory, through the stage-2 HWPT. */
	ret = ret ?: edu_xfer(v, PG_SRC, 0) ?: edu_xfer(v, PG_ROUNDTRIP, 1);
	vmm_check(!ret && !edu_pattern_diff(v, PG_ROUNDTRIP), "dma_roundtrip",
		  "ret=%d bad_words=%u bme=%d", ret, edu_pattern_diff(v, PG_ROUNDTRIP), bme());
	if (ret)
		return ret;
	print_pas(v);
	return preserve_and_hold(v);
}

/* Words of page @p that differ from transfer @n's loop pattern. */
static unsigned int loop_pattern_diff(struct vmm *v, unsigned int p, unsigned int n)
{
	unsigned int i, bad = 0;

	for (i = 0; i < NWORDS; i++)
		bad += page(v, p)[i] != vmm_loop_word(vmm_kernel, n, i);
	return bad;
}

/*
 * DMA back to back while /init hands the stream back: transfer n writes
 * its own pattern to PG_LOOP_SRC, edu reads it, then writes it to ring
 * slot n (each through the SMMU: a lost read or write leaves the slot
 * without its pattern).  "looping" after VMM_LOOP_BEFORE transfers; the
 * loop ends VMM_LOOP_AFTER transfers after "released" arrived.  The marks
 * bound the loop in QEMU's trace.
 */
static void dma_loop(struct vmm *v)
{
	unsigned int n, i, slot, before = 0, after = 0, lost = 0, tmo = 0;
	int released = 0, told = 0, first_bad = -1;
	char line[64];

	vmm_mark(MK_LOOP_BEGIN);
	for (n = 0; n < VMM_LOOP_MAX && after < VMM_LOOP_AFTER; n++) {
		if (told && !released && !vmm_recv(CTL_IN, line, sizeof(line), 0))
			released = !strcmp(line, "released") ? 1 : -1;
		if (released < 0)
			break;
		slot = PG_RING + n % VMM_RING_SLOTS;
		for (i = 0; i < NWORDS; i++)
			page(v, PG_LOOP_SRC)[i] = vmm_loop_word(vmm_kernel, n, i);
		if (edu_xfer(v, PG_LOOP_SRC, 0) || edu_xfer(v, slot, 1))
			tmo++;
		else if (loop_pattern_diff(v, slot, n))
			lost++;
		if ((tmo || lost) && first_bad < 0)
			first_bad = (int)n;
		*(released ? &after : &before) += 1;
		if (!told && before >= VMM_LOOP_BEFORE) {
			vmm_send(CTL_OUT, "looping");
			told = 1;
		}
	}
	vmm_mark(MK_LOOP_END);
	vmm_check(released > 0 && !tmo && !lost && before >= VMM_LOOP_BEFORE &&
		  after >= VMM_LOOP_AFTER, "dma_loop_during_release",
		  "transfers=%u before=%u after=%u lost=%u timeouts=%u first_bad=%d released=%d",
		  n, before, after, lost, tmo, first_bad, released);
}

/* "differ": RELEASE was refused; the old translation must still hold, so a
 * DMA to PG_DIFFER's IOVA lands in PG_DIFFER, not PG_ALIAS.  Then map it
 * right. */
static int differ_steps(struct vmm *v)
{
	unsigned int bad, alias_bad = 0, i;
	char line[64];
	int ret;

	ret = vmm_recv(CTL_IN, line, sizeof(line), CTL_TIMEOUT_MS);
	if (ret || strcmp(line, "refused"))
		return ret ?: -EPROTO;
	ret = edu_xfer(v, PG_DIFFER, 1);
	bad = edu_pattern_diff(v, PG_DIFFER);
	for (i = 0; i < NWORDS; i++)
		alias_bad += page(v, PG_ALIAS)[i] != vmm_guest_word(PG_ALIAS, i);
	vmm_check(!ret && !bad && !alias_bad, "differ_dma_lands_in_original_page",
		  "ret=%d iova=%#llx: page %u bad_words=%u, page %u changed_words=%u", ret,
		  VMM_IOVA + PG_DIFFER * VMM_PAGE, PG_DIFFER, bad, PG_ALIAS, alias_bad);
	ret = fix_differ(v);
	vmm_check(!ret, "differ_mapping_fixed", "ret=%d", ret);
	return ret ?: vmm_send(CTL_OUT, "fixed");
}

static int vmm_resume(struct vmm *v)
{
	struct liveupdate_session_retrieve_fd rf = { .size = sizeof(rf) };
	struct liveupdate_session_finish fin = { .size = sizeof(fin) };
	unsigned int p, i, bad = 0, bad_jump;
	char line[64];
	int ret;

	v->session = luo_session(LIVEUPDATE_IOCTL_RETRIEVE_SESSION);
	ret = v->session < 0 ? v->session : 0;
	rf.token = VMM_TOKEN;
	ret = ret ?: ioctl(v->session, LIVEUPDATE_SESSION_RETRIEVE_FD, &rf) ? -errno : 0;
	v->memfd = rf.fd;
	ret = ret ?: map_memfd(v);
	vmm_check(!ret, "luo_retrieve_memfd", "ret=%d", ret);
	if (ret)
		return ret;
	/* Guest memory: every page but the jump's as the previous kernel left it. */
	for (p = 0; p < VMM_PAGES; p++)
		for (i = 0; i < NWORDS; i++)
			if (p == PG_SRC || p == PG_ROUNDTRIP)
				bad += page(v, p)[i] != vmm_edu_word(i);
			else if (p != PG_JUMP)
				bad += page(v, p)[i] != vmm_guest_word(p, i);
	vmm_check(!bad, "memfd_data_intact", "bad_words=%u", bad);
	print_pas(v);	/* now that every page is mapped */
	bad_jump = edu_pattern_diff(v, PG_JUMP);
	vmm_check(!bad_jump, "jump_dma_landed", "bad_words=%u first=%#x", bad_jump,
		  page(v, PG_JUMP)[0]);
	/* Open again: vfio-pci must neither reset it nor clear Bus Master. */
	ret = vmm_write_file(VMM_SYSFS "/driver_override", "vfio-pci");
	ret = ret ?: vmm_write_file("/sys/bus/pci/drivers_probe", VMM_PCI);
	ret = ret ?: open_device(v) ?: attach_guest_memory(v) ?: map_bar0(v);
	vmm_check(!ret, "vfio_reopen_attach", "ret=%d hwpt=%s%s", ret,
		  v->nest_parent ? "nest-parent" : "paging",
		  v->differ ? " differ: PG_DIFFER's IOVA maps PG_ALIAS" : "");
	if (ret)
		return ret;
	if (v->differ)
		vmm_info("differ iova=%#llx page=%u alias=%u", VMM_IOVA + PG_DIFFER * VMM_PAGE,
			 PG_DIFFER, PG_ALIAS);
	vmm_check(bme() == 1, "bus_master_kept_after_open", "bme=%d", bme());
	/* No config write: the device goes on as the old kernel left it. */
	ret = edu_xfer(v, PG_ADOPTED, 1);
	bad = edu_pattern_diff(v, PG_ADOPTED);
	vmm_check(!ret && !bad, "dma_handed_over_translation", "ret=%d bad_words=%u", ret, bad);
	vmm_send(CTL_OUT, "adopted");
	ret = v->differ ? differ_steps(v) : 0;
	if (ret)
		return ret;
	dma_loop(v);
	/* The loop left its last pattern in edu: load the edu pattern again. */
	ret = edu_xfer(v, PG_SRC, 0) ?: edu_xfer(v, PG_RELEASED, 1);
	bad = edu_pattern_diff(v, PG_RELEASED);
	vmm_check(!ret && !bad, "dma_after_release", "ret=%d bad_words=%u", ret, bad);
	vmm_send(CTL_OUT, "looped");
	ret = vmm_recv(CTL_IN, line, sizeof(line), CTL_TIMEOUT_MS);
	if (ret || (strcmp(line, "preserve") && strcmp(line, "finish")))
		return ret ?: -EPROTO;
	ret = ioctl(v->session, LIVEUPDATE_SESSION_FINISH, &fin) ? -errno : 0;
	vmm_check(!ret, "luo_session_finish", "ret=%d", ret);
	if (ret)
		return ret;
	if (!strcmp(line, "preserve")) {
		close(v->session);
		return preserve_and_hold(v);
	}
	vmm_send(CTL_OUT, "done");
	/* Exit (closing every fd) only once /init has marked the trace. */
	return vmm_recv(CTL_IN, line, sizeof(line), CTL_TIMEOUT_MS);
}

int main(int argc, char **argv)
{
	struct vmm v = { .memfd = -1, .iommufd = -1, .devfd = -1, .session = -1 };
	int ret;

	if (argc < 2 || (strcmp(argv[1], "start") && strcmp(argv[1], "resume")) ||
	    (argc == 3 && strcmp(argv[2], "differ")) || argc > 3) {
		fprintf(stderr, "usage: vmm start | vmm resume [differ]\n");
		return 2;
	}
	vmm_kernel = vmm_cmdline_ul("vmm.k", 1);
	v.differ = argc == 3;
	ret = vmm_kernel == 1 ? vmm_start(&v) : vmm_resume(&v);
	if (ret) {
		vmm_check(0, "vmm_runs", "%s stopped: ret=%d", argv[1], ret);
		vmm_send(CTL_OUT, "error");
	}
	return ret ? 1 : 0;
}
