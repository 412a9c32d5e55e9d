/* SPDX-License-Identifier: GPL-2.0-only */
/* The guest-side library of every VM harness: console lines, command line, modules, mounts and the edu DMA steps. */
#ifndef SKHO_GUEST_H
#define SKHO_GUEST_H

#include <stddef.h>
#include <stdint.h>

#include "edu_dma_uapi.h"
#include "dma_pattern.h"

#define PAGE		4096u
#define HALF		(PAGE / 2)	/* in-jump DMA: page[0,2K); raw DMA: page[2K,4K) */
#define NWORDS		(PAGE / 4)
#define XFER_TIMEOUT_MS	2000	/* the edu timer fires after 100 ms (virtual) */

/* The patterns of one page's life (the index in edu_dma's tag[]). */
enum pat_kind { PAT_OLD = 1, PAT_JUMP = 2, PAT_RAW = 3, PAT_RT = 4 };

/* Pattern tag @kind of kernel @k on device @bdf; @base tells the harnesses apart. */
static inline uint32_t pat_tag(uint32_t base, enum pat_kind kind, unsigned int k, unsigned int bdf)
{
	return base | (k & 0xff) << 16 | (unsigned int)kind << 8 | (bdf & 0xff);
}

/* ---- console lines: "<say_prefix> k=<say_k> <verb> <rest>" on /dev/kmsg ---- */
extern const char *say_prefix;	/* the host parser's key: SKHOVM, SKHOE2E */
extern unsigned int say_k;	/* this kernel's index in the chain, 1 = first boot */
extern int kmsg;		/* /dev/kmsg (stdout while it is not open) */

void say(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- small system helpers ---- */
int read_file(const char *path, char *buf, size_t len);	/* bytes read or -errno */
/* The value of "@key=..." in @cmdline (copied into @out), else @def. */
const char *cmdline_str(const char *cmdline, const char *key, char *out, size_t len,
			const char *def);
unsigned long cmdline_ul(const char *cmdline, const char *key, unsigned long def);
int insmod(const char *path, const char *params);	/* 0 or -errno */
void mount_basics(void);	/* /proc, /sys, /dev, debugfs */
/* The initrd of this boot (retain_initrd) copied to @path for the next kernel. */
int copy_initrd(const char *path);
/* @cmdline with "@key=<anything>" replaced by "@key=@k", into @next. */
void next_cmdline(const char *cmdline, const char *key, unsigned int k, char *next,
		  size_t len);
/* kexec_file_load of @image and @initrd with @cmdline; 0 or -errno. */
int kexec_load_next(const char *image, const char *initrd, const char *cmdline);

/* ---- edu_dma.ko (edu_dma_uapi.h) ---- */
int edu_open(unsigned int bdf);	/* fd of /dev/edu_dma_<bdf> or -errno */
int edu_rw(int fd, unsigned int which, int wr, unsigned int off, void *buf, unsigned int len);
/* One transfer, waited for; -ETIMEDOUT if the engine did not finish. */
int edu_xfer(int fd, unsigned int dir, unsigned int dev_off, uint64_t iova, unsigned int len,
	     struct edu_dma_xfer *x);
void edu_mark(int fd, unsigned int ev);	/* a mark in QEMU's trace */
/* Words of [@off, @off + HALF) of the restored page holding @t_new / @t_old; 0 or -errno. */
int edu_classify(int fd, unsigned int off, uint32_t t_new, uint32_t t_old,
		 unsigned int *n_new, unsigned int *n_old);

/* A round trip through the page at @iova: page := @t, page -> edu,
 * page := ~@t, edu -> page; @words of @t came back (NWORDS: all). */
struct edu_roundtrip {
	int r1, r2, err;	/* to the device, from it, the read back */
	unsigned int words;
	struct edu_dma_xfer x1, x2;
};
void edu_roundtrip(int fd, uint64_t iova, uint32_t t, struct edu_roundtrip *rt);

/* edu buffer := [jump | raw] patterns through the page at @iova, page :=
 * old, then the in-jump DMA edu[0,2K) -> page[0,2K) armed (edu_dma.ko
 * preserves the page with KHO and fires it from its reboot notifier).
 * *@staged: 0 or -errno of the staging; returns the ARM result (-1 if
 * staging failed). */
int edu_arm_jump(int fd, uint64_t iova, uint32_t t_old, uint32_t t_jump, uint32_t t_raw,
		 int *staged);

/* ---- the e2e DMA probe (e2e/guest_init.c, systemd/guest/skho-edu.c):
 * "data" lines e2e_check.py reads; @sfx follows each kind ("", "_18") ---- */
#define E2E_TAG_BASE	0x5e000000u
/* Kernel 1: a page, a round trip, the in-jump DMA armed; 0 or -1. */
int e2e_dma_prepare(int fd, unsigned int bdf, const char *sfx, uint64_t *iova, uint64_t *pa);
/* Kernel 2: what the previous kernel handed over ("data record"); 0 or -errno. */
int e2e_dma_record(int fd, const char *sfx, struct edu_dma_info *info);
/* Kernel 2: the in-jump DMA's half page ("data jump"). */
void e2e_dma_jump(int fd, const struct edu_dma_record *r, const char *sfx);
/* Kernel 2: a DMA at the old IOVA without a new mapping ("data raw_dma",
 * "data raw"); its result. */
int e2e_dma_raw(int fd, const struct edu_dma_record *r, const char *sfx);

#endif /* SKHO_GUEST_H */
