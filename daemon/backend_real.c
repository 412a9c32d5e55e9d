// SPDX-License-Identifier: GPL-2.0-only
/* smmu-khod real backend: /dev/smmu_kho ioctls, kexec_file_load, reboot(KEXEC), LUO. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/reboot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "log.h"

#if __has_include(<linux/liveupdate.h>)
#include <linux/liveupdate.h>
#else
/* Linux 7.3 include/uapi/linux/liveupdate.h, for older build hosts. */
#include <linux/ioctl.h>
#include <linux/types.h>
#define LIVEUPDATE_IOCTL_TYPE		0xBA
#define LIVEUPDATE_SESSION_NAME_LENGTH	64
struct liveupdate_ioctl_create_session {
	__u32 size;
	__s32 fd;
	__u8 name[LIVEUPDATE_SESSION_NAME_LENGTH];
};
struct liveupdate_ioctl_retrieve_session {
	__u32 size;
	__s32 fd;
	__u8 name[LIVEUPDATE_SESSION_NAME_LENGTH];
};
struct liveupdate_session_preserve_fd {
	__u32 size;
	__s32 fd;
	__aligned_u64 token;
};
struct liveupdate_session_retrieve_fd {
	__u32 size;
	__s32 fd;
	__aligned_u64 token;
};
struct liveupdate_session_finish {
	__u32 size;
	__u32 reserved;
};
#define LIVEUPDATE_IOCTL_CREATE_SESSION		_IO(LIVEUPDATE_IOCTL_TYPE, 0x00)
#define LIVEUPDATE_IOCTL_RETRIEVE_SESSION	_IO(LIVEUPDATE_IOCTL_TYPE, 0x01)
#define LIVEUPDATE_SESSION_PRESERVE_FD		_IO(LIVEUPDATE_IOCTL_TYPE, 0x40)
#define LIVEUPDATE_SESSION_RETRIEVE_FD		_IO(LIVEUPDATE_IOCTL_TYPE, 0x41)
#define LIVEUPDATE_SESSION_FINISH		_IO(LIVEUPDATE_IOCTL_TYPE, 0x42)
#endif

#ifndef KEXEC_FILE_UNLOAD
#define KEXEC_FILE_UNLOAD	0x00000001
#define KEXEC_FILE_NO_INITRAMFS	0x00000004
#endif

#define LUO_DEV "/dev/liveupdate"

struct real_backend {
	struct skhod_backend be;
	int fd;			/* /dev/smmu_kho, opened on first use */
};

static int dev_fd(struct real_backend *rb)
{
	if (rb->fd >= 0)
		return rb->fd;
	rb->fd = open(SMMU_KHO_DEV, O_RDWR | O_CLOEXEC);
	if (rb->fd < 0) {
		int e = errno;

		snprintf(rb->be.err, sizeof(rb->be.err), "%s: %s%s", SMMU_KHO_DEV,
			 strerror(e), e == ENOENT ? " (is smmu_kho.ko loaded?)" : "");
		return e == ENOENT ? -ENODEV : -e;
	}
	return rb->fd;
}

static int do_ioctl(struct skhod_backend *be, unsigned long req, void *arg,
		    const char *what)
{
	struct real_backend *rb = (struct real_backend *)be;
	int fd = dev_fd(rb);

	if (fd < 0)
		return fd;
	if (ioctl(fd, req, arg)) {
		int e = errno;

		snprintf(be->err, sizeof(be->err), "%s: %s", what, strerror(e));
		return -e;
	}
	return 0;
}

static int r_status(struct skhod_backend *be, struct smmu_kho_status *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	return do_ioctl(be, SMMU_KHO_IOC_STATUS, st, "SMMU_KHO_IOC_STATUS");
}

static int dev_op(struct skhod_backend *be, unsigned long req, const char *dev,
		  uint32_t flags, const char *what)
{
	struct smmu_kho_dev_arg a = { .size = sizeof(a), .flags = flags };

	if (strlen(dev) >= sizeof(a.name))
		return -EINVAL;
	strcpy(a.name, dev);
	return do_ioctl(be, req, &a, what);
}

/* A refused device: STATUS.out_why names it and the feature. */
static int r_preserve(struct skhod_backend *be, const char *dev)
{
	int r = dev_op(be, SMMU_KHO_IOC_PRESERVE, dev, 0, "SMMU_KHO_IOC_PRESERVE");
	struct smmu_kho_status st;

	if (r == -EPROTONOSUPPORT && !r_status(be, &st) && st.out_why[0])
		snprintf(be->err, sizeof(be->err), "SMMU_KHO_IOC_PRESERVE: %.*s",
			 (int)sizeof(st.out_why), st.out_why);
	return r;
}

static int r_unpreserve(struct skhod_backend *be, const char *dev)
{
	return dev_op(be, SMMU_KHO_IOC_UNPRESERVE, dev, 0, "SMMU_KHO_IOC_UNPRESERVE");
}

/* Not hitless (EXDEV): STATUS.release_why names the first differing IOVA. */
static int r_release(struct skhod_backend *be, const char *dev, uint32_t flags)
{
	int r = dev_op(be, SMMU_KHO_IOC_RELEASE, dev, flags, "SMMU_KHO_IOC_RELEASE");
	struct smmu_kho_status st;

	if (r == -EXDEV && !r_status(be, &st) && st.release_why[0])
		snprintf(be->err, sizeof(be->err), "RELEASE not hitless: %.*s",
			 (int)sizeof(st.release_why), st.release_why);
	return r;
}

static int r_freeze(struct skhod_backend *be)
{
	return do_ioctl(be, SMMU_KHO_IOC_FREEZE, NULL, "SMMU_KHO_IOC_FREEZE");
}

static int r_abort(struct skhod_backend *be)
{
	return do_ioctl(be, SMMU_KHO_IOC_ABORT, NULL, "SMMU_KHO_IOC_ABORT");
}

static int r_get_fdt(struct skhod_backend *be, uint32_t which, void **blob,
		     size_t *len)
{
	struct smmu_kho_fdt_arg a = { .size = sizeof(a), .which = which };
	void *buf = NULL;
	size_t cap = 4096;
	int r, tries;

	for (tries = 0; tries < 4; tries++) {
		void *nb = realloc(buf, cap);

		if (!nb) {
			free(buf);
			return -ENOMEM;
		}
		buf = nb;
		a.buf = (uintptr_t)buf;
		a.buf_len = cap;
		r = do_ioctl(be, SMMU_KHO_IOC_GET_FDT, &a, "SMMU_KHO_IOC_GET_FDT");
		if (r != -ENOSPC)
			break;
		/* The kernel wrote the needed length back; it may still grow. */
		cap = a.fdt_len > cap ? a.fdt_len : cap * 2;
	}
	if (r) {
		free(buf);
		return r;
	}
	*blob = buf;
	*len = a.fdt_len;
	return 0;
}

static int r_streams(struct skhod_backend *be, struct smmu_kho_stream_info **info,
		     uint32_t *nr)
{
	struct smmu_kho_streams_arg a = { .size = sizeof(a) };
	struct smmu_kho_stream_info *buf = NULL;
	uint32_t cap = 64;
	int r, tries;

	for (tries = 0; tries < 4; tries++) {
		void *nb = realloc(buf, (size_t)cap * sizeof(*buf));

		if (!nb) {
			free(buf);
			return -ENOMEM;
		}
		buf = nb;
		a.nr = cap;
		a.info = (uintptr_t)buf;
		r = do_ioctl(be, SMMU_KHO_IOC_STREAMS, &a, "SMMU_KHO_IOC_STREAMS");
		if (r == -ENOSPC || (!r && a.nr > cap)) {
			cap = a.nr > cap ? a.nr : cap * 2;
			continue;
		}
		break;
	}
	if (r || a.nr > cap) {
		free(buf);
		return r ? r : -EAGAIN;
	}
	if (!a.nr) {
		free(buf);
		buf = NULL;
	}
	*info = buf;
	*nr = a.nr;
	return 0;
}

static int r_read_phys(struct skhod_backend *be, uint32_t which, uint64_t pa,
		       uint64_t len, void *buf)
{
	struct smmu_kho_read_arg a = {
		.size = sizeof(a), .which = which, .pa = pa, .len = len,
		.buf = (uintptr_t)buf,
	};

	return do_ioctl(be, SMMU_KHO_IOC_READ, &a, "SMMU_KHO_IOC_READ");
}

static int r_quarantine(struct skhod_backend *be, const char *dev)
{
	return dev_op(be, SMMU_KHO_IOC_QUARANTINE, dev, 0, "SMMU_KHO_IOC_QUARANTINE");
}

static int r_probe(struct skhod_backend *be, const char *dev,
		   struct smmu_kho_probe_arg *out)
{
	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	if (strlen(dev) >= sizeof(out->name))
		return -EINVAL;
	strcpy(out->name, dev);
	return do_ioctl(be, SMMU_KHO_IOC_PROBE, out, "SMMU_KHO_IOC_PROBE");
}

#define PCI_DEVICES "/sys/bus/pci/devices"

static int r_pci_devices(struct skhod_backend *be, char (**names)[32], size_t *nr)
{
	DIR *dir = opendir(PCI_DEVICES);
	char (*v)[32] = NULL, (*nv)[32];
	struct dirent *de;
	size_t n = 0;

	*names = NULL;
	*nr = 0;
	if (!dir) {
		int e = errno;

		snprintf(be->err, sizeof(be->err), "%s: %s", PCI_DEVICES, strerror(e));
		return -e;
	}
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(*v))
			continue;
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			free(v);
			closedir(dir);
			return -ENOMEM;
		}
		v = nv;
		strcpy(v[n++], de->d_name);
	}
	closedir(dir);
	*names = v;
	*nr = n;
	return 0;
}

static int r_kexec_load(struct skhod_backend *be, const char *kernel,
			const char *initrd, const char *cmdline)
{
	unsigned long flags = 0;
	int kfd, ifd = -1, r = 0;

	kfd = open(kernel, O_RDONLY | O_CLOEXEC);
	if (kfd < 0) {
		r = -errno;
		snprintf(be->err, sizeof(be->err), "%s: %s", kernel, strerror(-r));
		return r;
	}
	if (initrd && *initrd) {
		ifd = open(initrd, O_RDONLY | O_CLOEXEC);
		if (ifd < 0) {
			r = -errno;
			snprintf(be->err, sizeof(be->err), "%s: %s", initrd, strerror(-r));
			close(kfd);
			return r;
		}
	} else {
		flags |= KEXEC_FILE_NO_INITRAMFS;
	}
	if (syscall(SYS_kexec_file_load, kfd, ifd, strlen(cmdline) + 1, cmdline,
		    flags)) {
		r = -errno;
		snprintf(be->err, sizeof(be->err), "kexec_file_load: %s", strerror(-r));
	}
	close(kfd);
	if (ifd >= 0)
		close(ifd);
	return r;
}

static int r_kexec_unload(struct skhod_backend *be)
{
	if (syscall(SYS_kexec_file_load, -1, -1, 0, NULL, KEXEC_FILE_UNLOAD)) {
		int r = -errno;

		snprintf(be->err, sizeof(be->err), "kexec unload: %s", strerror(-r));
		return r;
	}
	return 0;
}

static int read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static int r_kexec_loaded(struct skhod_backend *be, bool *loaded)
{
	char b[8];
	int r = read_small("/sys/kernel/kexec_loaded", b, sizeof(b));

	(void)be;
	if (r)
		return r;
	*loaded = b[0] == '1';
	return 0;
}

static int r_jump(struct skhod_backend *be)
{
	sync();
	reboot(LINUX_REBOOT_CMD_KEXEC);
	snprintf(be->err, sizeof(be->err), "reboot(LINUX_REBOOT_CMD_KEXEC): %s",
		 strerror(errno));
	return -errno;
}

static int r_boot_id(struct skhod_backend *be, char *buf, size_t len)
{
	(void)be;
	return read_small("/proc/sys/kernel/random/boot_id", buf, len);
}

static int r_proc_cmdline(struct skhod_backend *be, char *buf, size_t len)
{
	(void)be;
	return read_small("/proc/cmdline", buf, len);
}

static uint64_t r_now_ns(struct skhod_backend *be)
{
	struct timespec ts;

	(void)be;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* /dev/liveupdate is exclusive: open it for one ioctl, then close it. */
static int luo_dev_ioctl(struct skhod_backend *be, unsigned long req, void *arg)
{
	int fd = open(LUO_DEV, O_RDWR | O_CLOEXEC), r = 0;

	if (fd < 0) {
		r = errno == ENOENT ? -ENODEV : -errno;
		snprintf(be->err, sizeof(be->err), "%s: %s", LUO_DEV, strerror(errno));
		return r;
	}
	if (ioctl(fd, req, arg)) {
		r = -errno;
		snprintf(be->err, sizeof(be->err), "%s ioctl: %s", LUO_DEV, strerror(-r));
	}
	close(fd);
	return r;
}

static int r_luo_create(struct skhod_backend *be, const char *name, int *sfd)
{
	struct liveupdate_ioctl_create_session a = { .size = sizeof(a) };
	int r;

	if (strlen(name) >= sizeof(a.name))
		return -EINVAL;
	memcpy(a.name, name, strlen(name) + 1);
	r = luo_dev_ioctl(be, LIVEUPDATE_IOCTL_CREATE_SESSION, &a);
	if (!r)
		*sfd = a.fd;
	return r;
}

static int r_luo_retrieve(struct skhod_backend *be, const char *name, int *sfd)
{
	struct liveupdate_ioctl_retrieve_session a = { .size = sizeof(a) };
	int r;

	if (strlen(name) >= sizeof(a.name))
		return -EINVAL;
	memcpy(a.name, name, strlen(name) + 1);
	r = luo_dev_ioctl(be, LIVEUPDATE_IOCTL_RETRIEVE_SESSION, &a);
	if (!r)
		*sfd = a.fd;
	return r;
}

static int r_luo_preserve_fd(struct skhod_backend *be, int sfd, int fd,
			     uint64_t token)
{
	struct liveupdate_session_preserve_fd a = {
		.size = sizeof(a), .fd = fd, .token = token,
	};

	if (ioctl(sfd, LIVEUPDATE_SESSION_PRESERVE_FD, &a)) {
		snprintf(be->err, sizeof(be->err), "LUO preserve fd: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int r_luo_retrieve_fd(struct skhod_backend *be, int sfd, uint64_t token,
			     int *fd)
{
	struct liveupdate_session_retrieve_fd a = { .size = sizeof(a), .token = token };

	if (ioctl(sfd, LIVEUPDATE_SESSION_RETRIEVE_FD, &a)) {
		snprintf(be->err, sizeof(be->err), "LUO retrieve fd: %s", strerror(errno));
		return -errno;
	}
	*fd = a.fd;
	return 0;
}

static int r_luo_finish(struct skhod_backend *be, int sfd)
{
	struct liveupdate_session_finish a = { .size = sizeof(a) };

	if (ioctl(sfd, LIVEUPDATE_SESSION_FINISH, &a)) {
		snprintf(be->err, sizeof(be->err), "LUO finish: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static void r_destroy(struct skhod_backend *be)
{
	struct real_backend *rb = (struct real_backend *)be;

	if (rb->fd >= 0)
		close(rb->fd);
	free(rb);
}

static const struct skhod_backend_ops real_ops = {
	.status = r_status,
	.preserve = r_preserve,
	.unpreserve = r_unpreserve,
	.release = r_release,
	.freeze = r_freeze,
	.abort = r_abort,
	.get_fdt = r_get_fdt,
	.streams = r_streams,
	.read_phys = r_read_phys,
	.quarantine = r_quarantine,
	.probe = r_probe,
	.pci_devices = r_pci_devices,
	.kexec_load = r_kexec_load,
	.kexec_unload = r_kexec_unload,
	.kexec_loaded = r_kexec_loaded,
	.jump = r_jump,
	.boot_id = r_boot_id,
	.proc_cmdline = r_proc_cmdline,
	.now_ns = r_now_ns,
	.luo_create = r_luo_create,
	.luo_retrieve = r_luo_retrieve,
	.luo_preserve_fd = r_luo_preserve_fd,
	.luo_retrieve_fd = r_luo_retrieve_fd,
	.luo_finish = r_luo_finish,
	.destroy = r_destroy,
};

int skhod_backend_real_open(struct skhod_backend **out)
{
	struct real_backend *rb = calloc(1, sizeof(*rb));

	if (!rb)
		return -ENOMEM;
	rb->be.ops = &real_ops;
	rb->be.name = "real";
	rb->fd = -1;
	*out = &rb->be;
	return 0;
}
