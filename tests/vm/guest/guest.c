// SPDX-License-Identifier: GPL-2.0-only
/* The guest-side library of every VM harness: console lines, command line, modules, mounts and the edu DMA steps. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guest.h"

const char *say_prefix = "SKHOVM";
unsigned int say_k = 1;
int kmsg = -1;

void say(const char *verb, const char *fmt, ...)
{
	char line[900];
	int n;
	va_list ap;

	n = snprintf(line, sizeof(line), "<5>%s k=%u %s ", say_prefix, say_k, verb);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (kmsg < 0 || write(kmsg, line, n) != n) {
		fputs(line + 3, stdout);
		fflush(stdout);
	}
}

/* ---- small system helpers ---- */

int read_file(const char *path, char *buf, size_t len)
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
	return (int)n;
}

const char *cmdline_str(const char *cmdline, const char *key, char *out, size_t len,
			const char *def)
{
	size_t kl = strlen(key);

	for (const char *p = cmdline; (p = strstr(p, key)); p += kl)
		if ((p == cmdline || p[-1] == ' ') && p[kl] == '=') {
			size_t n = strcspn(p + kl + 1, " \n");

			if (n >= len)
				n = len - 1;
			memcpy(out, p + kl + 1, n);
			out[n] = 0;
			return out;
		}
	snprintf(out, len, "%s", def);
	return out;
}

unsigned long cmdline_ul(const char *cmdline, const char *key, unsigned long def)
{
	char v[32];

	if (!*cmdline_str(cmdline, key, v, sizeof(v), ""))
		return def;
	return strtoul(v, NULL, 0);
}

int insmod(const char *path, const char *params)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params, 0) ? -errno : 0;
	close(fd);
	return ret;
}

void mount_basics(void)
{
	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mkdir("/dev", 0755);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
}

int copy_initrd(const char *path)
{
	static char buf[1 << 16];
	int in = open("/sys/firmware/initrd", O_RDONLY | O_CLOEXEC), out, r = 0;
	ssize_t n;

	if (in < 0)
		return -errno;
	out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		close(in);
		return -errno;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n) {
			r = -EIO;
			break;
		}
	if (n < 0)
		r = -errno;
	close(in);
	/* Closed before kexec_file_load opens it (ETXTBSY otherwise). */
	if (close(out) && !r)
		r = -errno;
	return r;
}

void next_cmdline(const char *cmdline, const char *key, unsigned int k, char *next, size_t len)
{
	char copy[2048], *p, *save;
	size_t n = 0, kl = strlen(key);

	snprintf(copy, sizeof(copy), "%s", cmdline);
	copy[strcspn(copy, "\n")] = 0;
	next[0] = 0;
	for (p = strtok_r(copy, " ", &save); p; p = strtok_r(NULL, " ", &save))
		if (strncmp(p, key, kl) || p[kl] != '=')
			n += snprintf(next + n, n < len ? len - n : 0, "%s ", p);
	snprintf(next + n, n < len ? len - n : 0, "%s=%u", key, k);
}

int kexec_load_next(const char *image, const char *initrd, const char *cmdline)
{
	/* Read-only: kexec_file_load refuses files open for writing (ETXTBSY). */
	int kfd = open(image, O_RDONLY | O_CLOEXEC), ifd = open(initrd, O_RDONLY | O_CLOEXEC);
	int ret = -errno;

	if (kfd >= 0 && ifd >= 0)
		ret = syscall(SYS_kexec_file_load, kfd, ifd, strlen(cmdline) + 1, cmdline, 0UL) ?
		      -errno : 0;
	if (kfd >= 0)
		close(kfd);
	if (ifd >= 0)
		close(ifd);
	return ret;
}

/* ---- edu_dma.ko ---- */

int edu_open(unsigned int bdf)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), EDU_DMA_DEV_FMT, bdf);
	fd = open(path, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int edu_rw(int fd, unsigned int which, int wr, unsigned int off, void *buf, unsigned int len)
{
	struct edu_dma_rw rw = {
		.which = which, .write = wr, .offset = off, .len = len,
		.user = (uintptr_t)buf,
	};

	return ioctl(fd, EDU_DMA_IOC_RW, &rw) ? -errno : 0;
}

int edu_xfer(int fd, unsigned int dir, unsigned int dev_off, uint64_t iova, unsigned int len,
	     struct edu_dma_xfer *x)
{
	memset(x, 0, sizeof(*x));
	x->dir = dir;
	x->dev_off = dev_off;
	x->iova = iova;
	x->len = len;
	x->timeout_ms = XFER_TIMEOUT_MS;
	if (ioctl(fd, EDU_DMA_IOC_XFER, x))
		return -errno;
	return x->done ? 0 : -ETIMEDOUT;
}

void edu_mark(int fd, unsigned int ev)
{
	uint32_t v = ev;

	if (ioctl(fd, EDU_DMA_IOC_MARK, &v))
		say("data", "mark_failed ev=%#x errno=%d", ev, errno);
}

int edu_classify(int fd, unsigned int off, uint32_t t_new, uint32_t t_old,
		 unsigned int *n_new, unsigned int *n_old)
{
	uint32_t w[HALF / 4];
	int err = edu_rw(fd, EDU_BUF_IN, 0, off, w, HALF);

	*n_new = err ? 0 : pat_match(w, off / 4, HALF / 4, t_new);
	*n_old = err ? 0 : pat_match(w, off / 4, HALF / 4, t_old);
	return err;
}

void edu_roundtrip(int fd, uint64_t iova, uint32_t t, struct edu_roundtrip *rt)
{
	uint32_t w[NWORDS];

	memset(rt, 0, sizeof(*rt));
	pat_fill(w, 0, NWORDS, t);
	edu_mark(fd, EDU_MARK_RT_BEGIN);
	rt->r1 = edu_rw(fd, EDU_BUF_CUR, 1, 0, w, PAGE) ?:
		 edu_xfer(fd, EDU_TO_DEV, 0, iova, PAGE, &rt->x1);
	for (unsigned int i = 0; i < NWORDS; i++)
		w[i] = ~pat_word(t, i);
	rt->r2 = edu_rw(fd, EDU_BUF_CUR, 1, 0, w, PAGE) ?:
		 edu_xfer(fd, EDU_FROM_DEV, 0, iova, PAGE, &rt->x2);
	edu_mark(fd, EDU_MARK_RT_END);
	memset(w, 0, sizeof(w));
	rt->err = edu_rw(fd, EDU_BUF_CUR, 0, 0, w, PAGE);
	rt->words = rt->err ? 0 : pat_match(w, 0, NWORDS, t);
}

int edu_arm_jump(int fd, uint64_t iova, uint32_t t_old, uint32_t t_jump, uint32_t t_raw,
		 int *staged)
{
	uint32_t w[NWORDS];
	struct edu_dma_xfer x;
	struct edu_dma_arm arm;
	int ret;

	pat_fill(w, 0, HALF / 4, t_jump);
	pat_fill(w + HALF / 4, HALF / 4, HALF / 4, t_raw);
	ret = edu_rw(fd, EDU_BUF_CUR, 1, 0, w, PAGE) ?:
	      edu_xfer(fd, EDU_TO_DEV, 0, iova, PAGE, &x);
	pat_fill(w, 0, NWORDS, t_old);
	*staged = ret ?: edu_rw(fd, EDU_BUF_CUR, 1, 0, w, PAGE);
	if (*staged)
		return -1;
	memset(&arm, 0, sizeof(arm));
	arm.xfer.dir = EDU_FROM_DEV;
	arm.xfer.dev_off = 0;
	arm.xfer.iova = iova;
	arm.xfer.len = HALF;
	arm.tag[PAT_OLD] = t_old;
	arm.tag[PAT_JUMP] = t_jump;
	arm.tag[PAT_RAW] = t_raw;
	return ioctl(fd, EDU_DMA_IOC_ARM, &arm) ? -errno : 0;
}

/* ---- the e2e DMA probe ---- */

int e2e_dma_prepare(int fd, unsigned int bdf, const char *sfx, uint64_t *iova, uint64_t *pa)
{
	struct edu_dma_alloc a = { .stage = 1, .nr_pages = 1 };
	struct edu_roundtrip rt;
	int staged, ra;

	if (ioctl(fd, EDU_DMA_IOC_ALLOC, &a)) {
		say("data", "buf%s err=%d", sfx, -errno);
		return -1;
	}
	say("data", "buf%s dev=%04x iova=%#llx pa=%#llx", sfx, bdf, (unsigned long long)a.iova,
	    (unsigned long long)a.pa);
	*iova = a.iova;
	*pa = a.pa;
	edu_roundtrip(fd, a.iova, pat_tag(E2E_TAG_BASE, PAT_RT, say_k, bdf), &rt);
	say("data", "roundtrip%s words=%u of=%u ret=%d,%d", sfx, rt.words, NWORDS, rt.r1, rt.r2);
	ra = edu_arm_jump(fd, a.iova, pat_tag(E2E_TAG_BASE, PAT_OLD, say_k, bdf),
			  pat_tag(E2E_TAG_BASE, PAT_JUMP, say_k, bdf),
			  pat_tag(E2E_TAG_BASE, PAT_RAW, say_k, bdf), &staged);
	say("data", "armed%s ret=%d stage=%d", sfx, ra, staged);
	return rt.words == NWORDS && !ra ? 0 : -1;
}

int e2e_dma_record(int fd, const char *sfx, struct edu_dma_info *info)
{
	const struct edu_dma_record *r = &info->in;

	if (ioctl(fd, EDU_DMA_IOC_INFO, info)) {
		say("data", "record%s err=%d", sfx, -errno);
		return -errno;
	}
	say("data", "record%s flags=%#x in_err=%d kernel=%u iova=%#llx pa=%#llx restored=%d",
	    sfx, info->flags, info->in_err, r->kernel, (unsigned long long)r->iova,
	    (unsigned long long)r->pa, !!(info->flags & EDU_DMA_F_IN_RESTORED));
	return 0;
}

/* "data WHAT": how [off, off+2K) of the restored page reads now. */
static void e2e_classify(int fd, unsigned int off, uint32_t t_new, uint32_t t_old,
			 const char *what, const char *sfx)
{
	unsigned int n_new, n_old;
	int err = edu_classify(fd, off, t_new, t_old, &n_new, &n_old);

	say("data", "%s%s words=%u new=%u old=%u err=%d", what, sfx, HALF / 4, n_new, n_old, err);
}

void e2e_dma_jump(int fd, const struct edu_dma_record *r, const char *sfx)
{
	e2e_classify(fd, 0, r->tag[PAT_JUMP], r->tag[PAT_OLD], "jump", sfx);
}

int e2e_dma_raw(int fd, const struct edu_dma_record *r, const char *sfx)
{
	struct edu_dma_xfer x;
	int ret;

	edu_mark(fd, EDU_MARK_RAW_BEGIN);
	ret = edu_xfer(fd, EDU_FROM_DEV, HALF, r->iova + HALF, HALF, &x);
	edu_mark(fd, EDU_MARK_RAW_END);
	say("data", "raw_dma%s iova=%#llx ret=%d done=%u", sfx, (unsigned long long)(r->iova + HALF),
	    ret, x.done);
	e2e_classify(fd, HALF, r->tag[PAT_RAW], r->tag[PAT_OLD], "raw", sfx);
	return ret;
}
