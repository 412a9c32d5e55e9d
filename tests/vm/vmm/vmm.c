// SPDX-License-Identifier: GPL-2.0-only
/* Toy VMM: edu through the vfio cdev and an iommufd stage-2 HWPT, guest memory a LUO-preserved memfd. */
/*
 * Usage (started by vmm_init with its control pipe on fds 3 (in) and 4 (out)):
 *   vmm start    kernel 1: bind 00:02.0 to vfio-pci, open it through
 *                /dev/vfio/devices/vfioN, bind it to /dev/iommu, map the
 *                memfd "guest memory" at VMM_IOVA in an IOAS, attach a
 *                nest-parent (stage-2) HWPT, round-trip the edu pattern,
 *                preserve the memfd in LUO session VMM_SESSION; "ready".
 *                On "fire": start edu -> PG_JUMP and answer "fired", then
 *                hold every fd until the kexec.
 *   vmm resume   kernel 2: retrieve the memfd, check the guest memory and
 *                the jump DMA, open the device again (no config write),
 *                map the same memfd at the same IOVA, attach a new HWPT,
 *                DMA edu -> PG_ADOPTED; "adopted"; on "released",
 *                edu -> PG_RELEASED; finish the session; "done".
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

/* vfio cdev + iommufd: IOAS with the memfd at VMM_IOVA, a HWPT, attach. */
static int attach_steps(struct vmm *v)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct iommu_ioas_alloc ioas = { .size = sizeof(ioas) };
	struct iommu_ioas_map_file map = { .size = sizeof(map) };
	struct iommu_hwpt_alloc hwpt = { .size = sizeof(hwpt) };
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };

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
	map.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
		    IOMMU_IOAS_MAP_WRITEABLE;
	map.ioas_id = v->ioas_id;
	map.fd = v->memfd;
	map.length = (uint64_t)VMM_PAGES * VMM_PAGE;
	map.iova = VMM_IOVA;
	v->step = "IOMMU_IOAS_MAP_FILE";
	if (ioctl(v->iommufd, IOMMU_IOAS_MAP_FILE, &map))
		return -errno;
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

static void print_pas(struct vmm *v, const char *when)
{
	vmm_info("pa %s jump=%#llx adopted=%#llx released=%#llx", when,
		 (unsigned long long)page_pa(page(v, PG_JUMP)),
		 (unsigned long long)page_pa(page(v, PG_ADOPTED)),
		 (unsigned long long)page_pa(page(v, PG_RELEASED)));
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

static int vmm_start(struct vmm *v)
{
	struct liveupdate_session_preserve_fd pf = { .size = sizeof(pf) };
	char line[64];
	unsigned int p, i;
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
	for (p = 0; p < VMM_PAGES; p++)
		for (i = 0; i < NWORDS; i++)
			page(v, p)[i] = p == PG_SRC ? vmm_edu_word(i) : vmm_guest_word(p, i);
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
	print_pas(v, "k1");
	/* The session stays open in this process until the kexec. */
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
	vmm_cfg_write32(EDU_DMA_MARK_REG, VMM_MARK_FIRED);
	vmm_send(CTL_OUT, ret ? "error" : "fired");
	for (;;)
		pause();
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
	/* Guest memory: every page but the DMA targets as the guest left it. */
	for (p = 0; p < VMM_PAGES; p++)
		for (i = 0; i < NWORDS; i++)
			if (p == PG_SRC || p == PG_ROUNDTRIP)
				bad += page(v, p)[i] != vmm_edu_word(i);
			else if (p != PG_JUMP)
				bad += page(v, p)[i] != vmm_guest_word(p, i);
	vmm_check(!bad, "memfd_data_intact", "bad_words=%u", bad);
	print_pas(v, "k2");	/* now that every page is mapped */
	bad_jump = edu_pattern_diff(v, PG_JUMP);
	vmm_check(!bad_jump, "jump_dma_landed", "bad_words=%u first=%#x", bad_jump,
		  page(v, PG_JUMP)[0]);
	/* Open again: vfio-pci must neither reset it nor clear Bus Master. */
	ret = vmm_write_file(VMM_SYSFS "/driver_override", "vfio-pci");
	ret = ret ?: vmm_write_file("/sys/bus/pci/drivers_probe", VMM_PCI);
	ret = ret ?: open_device(v) ?: attach_guest_memory(v) ?: map_bar0(v);
	vmm_check(!ret, "vfio_reopen_attach", "ret=%d hwpt=%s", ret,
		  v->nest_parent ? "nest-parent" : "paging");
	if (ret)
		return ret;
	vmm_check(bme() == 1, "bus_master_kept_after_open", "bme=%d", bme());
	/* No config write: the device goes on as the old kernel left it. */
	ret = edu_xfer(v, PG_ADOPTED, 1);
	bad = edu_pattern_diff(v, PG_ADOPTED);
	vmm_check(!ret && !bad, "dma_handed_over_translation", "ret=%d bad_words=%u", ret, bad);
	vmm_send(CTL_OUT, "adopted");
	ret = vmm_recv(CTL_IN, line, sizeof(line), CTL_TIMEOUT_MS);
	if (ret || strcmp(line, "released"))
		return ret ?: -EPROTO;
	ret = edu_xfer(v, PG_RELEASED, 1);
	bad = edu_pattern_diff(v, PG_RELEASED);
	vmm_check(!ret && !bad, "dma_after_release", "ret=%d bad_words=%u", ret, bad);
	ret = ioctl(v->session, LIVEUPDATE_SESSION_FINISH, &fin) ? -errno : 0;
	vmm_check(!ret, "luo_session_finish", "ret=%d", ret);
	vmm_send(CTL_OUT, "done");
	/* Exit (closing every fd) only once /init has marked the trace. */
	return vmm_recv(CTL_IN, line, sizeof(line), CTL_TIMEOUT_MS);
}

int main(int argc, char **argv)
{
	struct vmm v = { .memfd = -1, .iommufd = -1, .devfd = -1, .session = -1 };
	int ret;

	if (argc != 2 || (strcmp(argv[1], "start") && strcmp(argv[1], "resume"))) {
		fprintf(stderr, "usage: vmm start|resume\n");
		return 2;
	}
	vmm_kernel = strcmp(argv[1], "start") ? 2 : 1;
	ret = vmm_kernel == 1 ? vmm_start(&v) : vmm_resume(&v);
	if (ret) {
		vmm_check(0, "vmm_runs", "%s stopped: ret=%d", argv[1], ret);
		vmm_send(CTL_OUT, "error");
	}
	return ret ? 1 : 0;
}
