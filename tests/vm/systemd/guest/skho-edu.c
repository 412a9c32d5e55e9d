// SPDX-License-Identifier: GPL-2.0-only
/* skho-edu: the edu DMA probe steps of the e2e /init, as a command the systemd guest's driver script runs. */
/*
 * Static arm64 program.  The DMA steps and "SKHOE2E k=K data ..." lines
 * (on /dev/kmsg) of tests/vm/e2e/guest_init.c, from the shared guest
 * library (tests/vm/guest/guest.c), so that tests/vm/e2e/e2e_check.py's
 * DMA evidence (guest data + QEMU trace) judges the systemd run too.  edu_dma.ko keeps its buffer and the armed transfer
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
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "guest.h"

#define DUT_BDF		0x10	/* 00:02.0: requester ID == StreamID */

int main(int argc, char **argv)
{
	struct edu_dma_info info;
	int edu, ret;

	if (argc != 3 || strtoul(argv[1], NULL, 10) < 1) {
		fprintf(stderr, "usage: skho-edu K prepare|record|after\n");
		return 2;
	}
	say_prefix = "SKHOE2E";
	say_k = (unsigned int)strtoul(argv[1], NULL, 10);
	kmsg = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	edu = edu_open(DUT_BDF);
	if (edu < 0) {
		say("data", "edu_open path=" EDU_DMA_DEV_FMT " err=%d", DUT_BDF, edu);
		return 1;
	}
	if (!strcmp(argv[2], "prepare")) {
		uint64_t iova, pa;

		return e2e_dma_prepare(edu, DUT_BDF, "", &iova, &pa) ? 1 : 0;
	}
	if (!strcmp(argv[2], "record"))
		return e2e_dma_record(edu, "", &info) || !(info.flags & EDU_DMA_F_IN_RESTORED);
	if (!strcmp(argv[2], "after")) {
		/* the in-jump DMA's half page, then a DMA at the old IOVA */
		if (ioctl(edu, EDU_DMA_IOC_INFO, &info) || !(info.flags & EDU_DMA_F_IN_RESTORED))
			return 1;
		e2e_dma_jump(edu, &info.in, "");
		ret = e2e_dma_raw(edu, &info.in, "");
		return ret ? 1 : 0;
	}
	fprintf(stderr, "skho-edu: unknown step %s\n", argv[2]);
	return 2;
}
