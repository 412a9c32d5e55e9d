// SPDX-License-Identifier: GPL-2.0-only
/* skho-edu: the edu DMA probe steps of the e2e /init, as a command the systemd guest's driver script runs. */
/*
 * Static arm64 program.  Same DMA steps and the same "SKHOE2E k=K data ..."
 * lines (on /dev/kmsg) as tests/vm/e2e/guest_init.c, so that
 * tests/vm/e2e/e2e_check.py's DMA evidence (guest data + QEMU trace) judges
 * the systemd run too.  edu_dma.ko keeps its buffer and the armed transfer
 * in the module, so the steps can be separate processes.
 *   skho-edu K prepare   kernel 1: a DMA page for 00:02.0 (SID 0x10), a
 *                        round trip, then the in-jump DMA armed (fired by
 *                        edu_dma.ko's reboot notifier)
 *   skho-edu K record    kernel 2: what the previous kernel handed over
 *   skho-edu K after     kernel 2: the in-jump DMA's half page, then a DMA
 *                        at the old IOVA without a new mapping
 * Exit status: 0 done (the verdict is the host's), 1 a step failed, 2 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "edu_dma_uapi.h"
#include "../../guest/dma_pattern.h"

#define PAGE		4096u
#define HALF		(PAGE / 2)
#define NWORDS		(PAGE / 4)
#define XFER_TIMEOUT_MS	2000	/* the edu timer fires after 100 ms (virtual) */
#define DUT_BDF		0x10	/* 00:02.0: requester ID == StreamID */

enum pat_kind { PAT_OLD = 1, PAT_JUMP = 2, PAT_RAW = 3, PAT_RT = 4 };

static unsigned int K = 1;
static int kmsg = -1;
static int edu = -1;

static void say(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const char *verb, const char *fmt, ...)
{
	char line[900];
	int n;
	va_list ap;

	n = snprintf(line, sizeof(line), "<5>SKHOE2E k=%u %s ", K, verb);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (kmsg < 0 || write(kmsg, line, n) != n)
		fputs(line + 3, stdout);
}

static uint32_t tag(enum pat_kind kind)
{
	return 0x5e000000u | (K & 0xff) << 16 | (unsigned int)kind << 8 | DUT_BDF;
}

static int edu_rw(unsigned int which, int wr, unsigned int off, void *buf, unsigned int len)
{
	struct edu_dma_rw rw = {
		.which = which, .write = wr, .offset = off, .len = len,
		.user = (uintptr_t)buf,
	};

	return ioctl(edu, EDU_DMA_IOC_RW, &rw) ? -errno : 0;
}

static int edu_xfer(unsigned int dir, unsigned int dev_off, uint64_t iova, unsigned int len,
		    struct edu_dma_xfer *x)
{
	memset(x, 0, sizeof(*x));
	x->dir = dir;
	x->dev_off = dev_off;
	x->iova = iova;
	x->len = len;
	x->timeout_ms = XFER_TIMEOUT_MS;
	if (ioctl(edu, EDU_DMA_IOC_XFER, x))
		return -errno;
	return x->done ? 0 : -ETIMEDOUT;
}

static void edu_mark(unsigned int ev)
{
	uint32_t v = ev;

	if (ioctl(edu, EDU_DMA_IOC_MARK, &v))
		say("data", "mark_failed ev=%#x errno=%d", ev, errno);
}

/* Kernel 1: a DMA page for 00:02.0, a round trip through it, the in-jump DMA armed. */
static int prepare(void)
{
	struct edu_dma_alloc a = { .stage = 1, .nr_pages = 1 };
	struct edu_dma_xfer x1, x2, x3;
	struct edu_dma_arm arm;
	uint32_t w[NWORDS];
	int r1, r2, r3, ra = -1;
	unsigned int n;

	if (ioctl(edu, EDU_DMA_IOC_ALLOC, &a)) {
		say("data", "buf err=%d", -errno);
		return 1;
	}
	say("data", "buf dev=%04x iova=%#llx pa=%#llx", DUT_BDF, (unsigned long long)a.iova,
	    (unsigned long long)a.pa);
	pat_fill(w, 0, NWORDS, tag(PAT_RT));
	edu_mark(EDU_MARK_RT_BEGIN);
	r1 = edu_rw(EDU_BUF_CUR, 1, 0, w, PAGE) ?: edu_xfer(EDU_TO_DEV, 0, a.iova, PAGE, &x1);
	for (unsigned int i = 0; i < NWORDS; i++)
		w[i] = ~pat_word(tag(PAT_RT), i);
	r2 = edu_rw(EDU_BUF_CUR, 1, 0, w, PAGE) ?: edu_xfer(EDU_FROM_DEV, 0, a.iova, PAGE, &x2);
	edu_mark(EDU_MARK_RT_END);
	memset(w, 0, sizeof(w));
	n = edu_rw(EDU_BUF_CUR, 0, 0, w, PAGE) ? 0 : pat_match(w, 0, NWORDS, tag(PAT_RT));
	say("data", "roundtrip words=%u of=%u ret=%d,%d", n, NWORDS, r1, r2);

	pat_fill(w, 0, HALF / 4, tag(PAT_JUMP));
	pat_fill(w + HALF / 4, HALF / 4, HALF / 4, tag(PAT_RAW));
	r3 = edu_rw(EDU_BUF_CUR, 1, 0, w, PAGE) ?: edu_xfer(EDU_TO_DEV, 0, a.iova, PAGE, &x3);
	pat_fill(w, 0, NWORDS, tag(PAT_OLD));
	r3 = r3 ?: edu_rw(EDU_BUF_CUR, 1, 0, w, PAGE);
	memset(&arm, 0, sizeof(arm));
	arm.xfer.dir = EDU_FROM_DEV;
	arm.xfer.iova = a.iova;
	arm.xfer.len = HALF;
	arm.tag[PAT_OLD] = tag(PAT_OLD);
	arm.tag[PAT_JUMP] = tag(PAT_JUMP);
	arm.tag[PAT_RAW] = tag(PAT_RAW);
	if (!r3)
		ra = ioctl(edu, EDU_DMA_IOC_ARM, &arm) ? -errno : 0;
	say("data", "armed ret=%d stage=%d", ra, r3);
	return n == NWORDS && !ra ? 0 : 1;
}

static int get_info(struct edu_dma_info *info)
{
	if (ioctl(edu, EDU_DMA_IOC_INFO, info)) {
		say("data", "record err=%d", -errno);
		return 1;
	}
	return 0;
}

static int record(void)
{
	struct edu_dma_info info;
	const struct edu_dma_record *r = &info.in;

	if (get_info(&info))
		return 1;
	say("data", "record flags=%#x in_err=%d kernel=%u iova=%#llx pa=%#llx restored=%d",
	    info.flags, info.in_err, r->kernel, (unsigned long long)r->iova,
	    (unsigned long long)r->pa, !!(info.flags & EDU_DMA_F_IN_RESTORED));
	return !(info.flags & EDU_DMA_F_IN_RESTORED);
}

static void classify(unsigned int off, uint32_t t_new, uint32_t t_old, const char *what)
{
	uint32_t w[HALF / 4];
	int err = edu_rw(EDU_BUF_IN, 0, off, w, HALF);

	say("data", "%s words=%u new=%u old=%u err=%d", what, HALF / 4,
	    err ? 0 : pat_match(w, off / 4, HALF / 4, t_new),
	    err ? 0 : pat_match(w, off / 4, HALF / 4, t_old), err);
}

/* Kernel 2: the in-jump DMA's half page, then a DMA at the old IOVA. */
static int after(void)
{
	struct edu_dma_info info;
	const struct edu_dma_record *r = &info.in;
	struct edu_dma_xfer x;
	int ret;

	if (get_info(&info) || !(info.flags & EDU_DMA_F_IN_RESTORED))
		return 1;
	classify(0, r->tag[PAT_JUMP], r->tag[PAT_OLD], "jump");
	edu_mark(EDU_MARK_RAW_BEGIN);
	ret = edu_xfer(EDU_FROM_DEV, HALF, r->iova + HALF, HALF, &x);
	edu_mark(EDU_MARK_RAW_END);
	say("data", "raw_dma iova=%#llx ret=%d done=%u", (unsigned long long)(r->iova + HALF),
	    ret, x.done);
	classify(HALF, r->tag[PAT_RAW], r->tag[PAT_OLD], "raw");
	return ret ? 1 : 0;
}

int main(int argc, char **argv)
{
	char path[64];

	if (argc != 3 || strtoul(argv[1], NULL, 10) < 1) {
		fprintf(stderr, "usage: skho-edu K prepare|record|after\n");
		return 2;
	}
	K = (unsigned int)strtoul(argv[1], NULL, 10);
	kmsg = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), EDU_DMA_DEV_FMT, DUT_BDF);
	edu = open(path, O_RDWR | O_CLOEXEC);
	if (edu < 0) {
		say("data", "edu_open path=%s err=%d", path, -errno);
		return 1;
	}
	if (!strcmp(argv[2], "prepare"))
		return prepare();
	if (!strcmp(argv[2], "record"))
		return record();
	if (!strcmp(argv[2], "after"))
		return after();
	fprintf(stderr, "skho-edu: unknown step %s\n", argv[2]);
	return 2;
}
