// SPDX-License-Identifier: GPL-2.0-only
/* Helpers shared by the toy VMM and its guest /init (see vmm_util.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "edu_dma_uapi.h"
#include "guest.h"
#include "vmm_util.h"

unsigned int vmm_kernel = 1;

static void vmm_line(const char *head, const char *fmt, va_list ap)
{
	char line[512];
	int n, fd;

	n = snprintf(line, sizeof(line), "<5>VMMCHECK k=%u %s", vmm_kernel, head);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, line, strlen(line)) < 0)
		fprintf(stderr, "%s\n", line + 3);
	if (fd >= 0)
		close(fd);
}

void vmm_check(int ok, const char *name, const char *fmt, ...)
{
	char head[128];
	va_list ap;

	snprintf(head, sizeof(head), "%s %s ", ok ? "ok" : "fail", name);
	va_start(ap, fmt);
	vmm_line(head, fmt, ap);
	va_end(ap);
}

void vmm_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmm_line("info ", fmt, ap);
	va_end(ap);
}

int vmm_send(int fd, const char *line)
{
	char buf[128];
	int n = snprintf(buf, sizeof(buf), "%s\n", line);

	return write(fd, buf, n) == n ? 0 : -EIO;
}

int vmm_recv(int fd, char *buf, size_t len, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t n = 0;
	ssize_t r;

	while (n + 1 < len) {
		if (poll(&p, 1, timeout_ms) != 1)
			return -ETIMEDOUT;
		r = read(fd, buf + n, 1);
		if (r <= 0)
			return -EPIPE;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return 0;
}

int vmm_write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		ret = -errno ?: -EIO;
	close(fd);
	return ret;
}

int vmm_cfg_read16(unsigned int off, uint16_t *v)
{
	int fd = open(VMM_SYSFS "/config", O_RDONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (pread(fd, v, sizeof(*v), off) != sizeof(*v))
		ret = -EIO;
	close(fd);
	return ret;
}

int vmm_cfg_write32(unsigned int off, uint32_t v)
{
	int fd = open(VMM_SYSFS "/config", O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (pwrite(fd, &v, sizeof(v), off) != sizeof(v))
		ret = -EIO;
	close(fd);
	return ret;
}

void vmm_mark(enum vmm_mark ev)
{
	vmm_cfg_write32(EDU_DMA_MARK_REG, VMM_MARK(vmm_kernel, ev));
}

const char *vmm_cmdline(void)
{
	static char buf[2048];

	if (!buf[0] && read_file("/proc/cmdline", buf, sizeof(buf)) < 0)
		buf[0] = '\0';
	return buf;
}

unsigned long vmm_cmdline_ul(const char *key, unsigned long def)
{
	return cmdline_ul(vmm_cmdline(), key, def);
}
