// SPDX-License-Identifier: GPL-2.0-only
/* /init of the smmu-kho VM harness: edu DMA checks around a chain of KHO kexecs. */
/*
 * Static arm64 program, the same binary in every kernel of the chain.  The
 * kernel command line tells it where it is:
 *   skho.k=K        index of this kernel, 1 = first boot (default 1)
 *   skho.n=N        live updates in the chain (default 1): kernels 1..N kexec
 *   skho.preserve=1 ask smmu_kho.ko (/lib/smmu_kho.ko) to preserve 00:02.0
 *   skho.stage=S    1: DMA-API buffers; 2: stage-2 domain (edu_dma stage=2)
 *   skho.noncoh=1   the DTB marks the SMMU dma-noncoherent
 *   skho.keep=1     with skho.preserve: 00:02.0 is not released between
 *                   updates; kernels 2..N re-preserve the still-adopted
 *                   translation and hand the first kernel's buffer on
 *   skho.bench=B    with skho.preserve: insmod smmu_kho.ko bench_streams=B
 *                   (B streams preserved in all: 00:02.0's plus B-1 copies)
 *   skho.devs=D     with skho.preserve: D edu devices preserved, 00:02.0 and
 *                   D-1 more at 00:04.0.. (vm-bench; their checks are named
 *                   extra_* and only the guest decides them)
 *   skho.handback=1 with skho.preserve and skho.stage=2: the hand-back is
 *                   hitless: each preserved device's edu_dma maps the
 *                   inherited buffer at its old IOVA in its own new domain
 *                   (EDU_DMA_IOC_REMAP_INHERITED), RELEASE goes without
 *                   REPLACE and is timed (ioctl wall time, STATUS.release_ns),
 *                   and the round trip after it runs on that buffer
 *   skho.witness=W  with smmu_kho.ko: print the outgoing FDT (fdthex lines)
 *                   and open two W-second witness windows per update, one
 *                   after FREEZE and one after adoption before RELEASE: the
 *                   guest marks the window in the trace (edu mark 0x30/0x31
 *                   before, 0x32/0x33 after), prints "witness_wait" and
 *                   sleeps; tests/vm/witness.py stops the VM over QMP and
 *                   reads the tables from outside meanwhile (stock runs:
 *                   the before window is between FREEZE and ABORT)
 * Without skho.preserve but with /lib/smmu_kho.ko (the negative control),
 * the module preserves and freezes 00:02.0 to capture its digests, then
 * ABORTs before the kexec: nothing may be handed over.
 * Every result goes to /dev/kmsg as one line "SKHOVM k=K <verb> ..." (verbs:
 * hello, ok, fail, skip, data, kexec, bye); tests/vm/analyze.py pairs them
 * with QEMU's trace and prints the KTAP results.  Checks of update u are
 * named "u<u>.<check>", checks of one kernel "k<K>.<check>".
 *
 * Per device (00:02.0 = SID 0x10, preserved when asked; 00:03.0 = SID 0x18,
 * never preserved) one page "keep" at IOVA X:
 *   kernel K >= 2: read the restored keep page of kernel K-1: [0,2K) shows
 *     whether the in-jump DMA landed; then DMA edu[2K,4K) -> X+2K with no
 *     mapping made, and see whether [2K,4K) changed;
 *   every kernel: allocate a new keep page, round trip 4 KiB through edu;
 *   kernels K <= N: stage [jump | raw] patterns into the edu buffer, fill
 *     keep with the "old" pattern, preserve it with KHO and arm an
 *     edu -> X DMA of [0,2K) from the reboot notifier, then kexec.
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
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/reboot.h>

#include "guest.h"
#include "smmu_kho.h"

#define MAX_DEVS	9	/* 00:02.0, the probe 00:03.0, 7 extras at 00:04.0.. */

struct gdev {
	unsigned int bdf;	/* requester ID == StreamID on QEMU virt */
	const char *pci;	/* sysfs name */
	int preserved;		/* handed to smmu_kho.ko */
	int fd;
	struct edu_dma_info info;
	uint64_t iova, pa;	/* keep page of this kernel */
};

static struct gdev devs[MAX_DEVS] = {
	{ .bdf = 0x10, .pci = "0000:00:02.0" },
	{ .bdf = 0x18, .pci = "0000:00:03.0" },
	{ .bdf = 0x20, .pci = "0000:00:04.0" }, { .bdf = 0x28, .pci = "0000:00:05.0" },
	{ .bdf = 0x30, .pci = "0000:00:06.0" }, { .bdf = 0x38, .pci = "0000:00:07.0" },
	{ .bdf = 0x40, .pci = "0000:00:08.0" }, { .bdf = 0x48, .pci = "0000:00:09.0" },
	{ .bdf = 0x50, .pci = "0000:00:0a.0" },
};
static unsigned int ndevs = 2;	/* devices in use: 00:02.0, 00:03.0, the extras */

#define K		say_k	/* this kernel's index in the chain */
static unsigned int N = 1, stage = 1, bench, witness, npreserved = 1;
static int preserve, noncoh, keep, have_skho, handback;
static uint64_t t_init_cycles;

#define OK(name, ...)	say("ok", name " " __VA_ARGS__)
#define FAIL(name, ...)	say("fail", name " " __VA_ARGS__)
#define CHECK(cond, name, ...) \
	((cond) ? say("ok", name " " __VA_ARGS__) : say("fail", name " " __VA_ARGS__))

static uint64_t cntvct(void)
{
	uint64_t v;

	__asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v));
	return v;
}

static uint64_t cntfrq(void)
{
	uint64_t v;

	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(v));
	return v;
}

static uint32_t tag(enum pat_kind kind, unsigned int k, unsigned int bdf)
{
	return pat_tag(0x5a000000u, kind, k, bdf);
}

/* Check names: 00:02.0 is the device under test, 00:03.0 the "probe_" one,
 * the bench's extra preserved devices "extra_" (one name for them all). */
static const char *jump_name(const struct gdev *d)
{
	if (d->bdf == 0x18)
		return "probe_dma_during_jump_is_lost";
	if (d->bdf != 0x10)
		return "extra_preserved_dma_during_jump_lands";
	return preserve ? "preserved_dma_during_jump_lands" : "stock_dma_during_jump_is_lost";
}

static const char *raw_name(const struct gdev *d)
{
	if (d->bdf == 0x18)
		return "probe_same_iova_after_kexec_faults";
	if (d->bdf != 0x10)
		return "extra_preserved_same_iova_after_kexec_lands";
	return preserve ? "preserved_same_iova_after_kexec_lands" :
	       "stock_same_iova_after_kexec_faults";
}

static const char *prefixed(const struct gdev *d, const char *base, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", d->bdf == 0x10 ? "" : d->bdf == 0x18 ? "probe_" : "extra_",
		 base);
	return buf;
}

/* FNV-1a 64: checksum of FDT blobs and of stream sets (not a security hash). */
#define FNV0	0xcbf29ce484222325ull

static uint64_t fnv64(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--) {
		h ^= *b++;
		h *= 0x100000001b3ull;
	}
	return h;
}

/* ---- smmu_kho.ko queries ------------------------------------------------- */

/* Streams smmu_kho.ko preserves in its outgoing snapshot (at least 00:02.0's). */
static unsigned int want_streams(void)
{
	return bench > 1 ? bench : npreserved;
}

static int by_sid(const void *a, const void *b)
{
	const struct smmu_kho_stream_info *x = a, *y = b;

	return x->sid < y->sid ? -1 : x->sid > y->sid;
}

/* Every stream SMMU_KHO_IOC_STREAMS reports (outgoing and incoming), sorted
 * by SID; NULL with *err = -errno on failure.  The caller frees it. */
static struct smmu_kho_stream_info *skho_streams(int fd, unsigned int *nr, int *err)
{
	unsigned int cap = 64;

	for (;;) {
		struct smmu_kho_stream_info *si = calloc(cap, sizeof(*si));
		struct smmu_kho_streams_arg sa = { .size = sizeof(sa), .nr = cap,
						   .info = (uintptr_t)si };

		if (!si) {
			*err = -ENOMEM;
			return NULL;
		}
		if (ioctl(fd, SMMU_KHO_IOC_STREAMS, &sa)) {
			*err = -errno;
			free(si);
			return NULL;
		}
		if (sa.nr <= cap) {
			*nr = sa.nr;
			*err = 0;
			qsort(si, sa.nr, sizeof(*si), by_sid);
			return si;
		}
		free(si);
		cap = sa.nr;	/* the module says how many there are */
	}
}

/* What the streams in one state add up to. */
struct sset {
	unsigned int n;		/* streams in that state */
	unsigned int nonzero;	/* of them, with non-zero STE and xlat digests */
	unsigned int l2s;	/* distinct 256-STE L2 tables holding them */
	uint32_t events;	/* SMMU events summed over them */
	uint64_t set;		/* FNV over (sid, ste_digest, xlat_digest), SID order */
	const struct smmu_kho_stream_info *dut;	/* SID 0x10, if present */
};

#define ST(x)	(1u << SMMU_KHO_STREAM_##x)

/* Sum up the streams whose state is in @states (a mask of ST()). */
static void summarize_streams(const struct smmu_kho_stream_info *si, unsigned int nr,
			      uint32_t states, struct sset *s)
{
	uint64_t last_l2 = ~0ull;

	memset(s, 0, sizeof(*s));
	s->set = FNV0;
	for (unsigned int i = 0; i < nr; i++) {
		const struct smmu_kho_stream_info *x = &si[i];
		/* Linux 7.3 STRTAB_SPLIT = 8: an L2 table holds 256 STEs. */
		uint64_t l2 = x->smmu_base << 8 ^ (x->sid >> 8);

		if (x->state >= 32 || !(states & 1u << x->state))
			continue;
		s->n++;
		s->nonzero += x->ste_digest && x->xlat_digest;
		s->events += x->events;
		s->l2s += l2 != last_l2;	/* sorted by SID: one SMMU here */
		last_l2 = l2;
		s->set = fnv64(s->set, &x->sid, sizeof(x->sid));
		s->set = fnv64(s->set, &x->ste_digest, sizeof(x->ste_digest));
		s->set = fnv64(s->set, &x->xlat_digest, sizeof(x->xlat_digest));
		if (x->sid == 0x10)
			s->dut = x;
	}
}

/* Print "data ste_<tag> ..." for SID 0x10 and "data streams_<tag> ..." for
 * the whole set; analyze.py compares them across the jump. */
static void sset_say(const char *tag, const struct sset *s)
{
	if (s->dut)
		say("data", "ste_%s sid=%#x state=%u ste=%#llx xlat=%#llx events=%u pci=%s", tag,
		    s->dut->sid, s->dut->state, (unsigned long long)s->dut->ste_digest,
		    (unsigned long long)s->dut->xlat_digest, s->dut->events,
		    s->dut->dev[0] ? s->dut->dev : "-");
	say("data", "streams_%s n=%u nonzero=%u l2s=%u events=%u set=%#llx", tag, s->n,
	    s->nonzero, s->l2s, s->events, (unsigned long long)s->set);
}

/* GET_FDT(@which): 0 with length and FNV of the blob, or -errno. */
static int skho_fdt(int fd, uint32_t which, uint64_t *len, uint64_t *sum)
{
	struct smmu_kho_fdt_arg a = { .size = sizeof(a), .which = which };
	void *buf;
	int ret;

	*len = 0;
	*sum = 0;
	/* Zero-length buffer: ENOSPC tells the size, ENOENT that there is none. */
	if (ioctl(fd, SMMU_KHO_IOC_GET_FDT, &a) && errno != ENOSPC)
		return -errno;
	buf = malloc(a.fdt_len ? a.fdt_len : 1);
	if (!buf)
		return -ENOMEM;
	a.buf = (uintptr_t)buf;
	a.buf_len = a.fdt_len;
	ret = ioctl(fd, SMMU_KHO_IOC_GET_FDT, &a) ? -errno : 0;
	if (!ret) {
		*len = a.fdt_len;
		*sum = fnv64(FNV0, buf, a.fdt_len);
	}
	free(buf);
	return ret;
}

/* After FREEZE: the outgoing snapshot as user space sees it. */
static void skho_report_out(int fd, const struct smmu_kho_status *st)
{
	struct smmu_kho_stream_info *si;
	uint64_t len, sum;
	unsigned int nr = 0;
	struct sset s;
	int err, fret;

	si = skho_streams(fd, &nr, &err);
	summarize_streams(si, si ? nr : 0, ST(PRESERVED), &s);
	sset_say("out", &s);
	free(si);
	fret = skho_fdt(fd, SMMU_KHO_FDT_OUT, &len, &sum);
	say("data", "fdt_out len=%llu fnv=%#llx err=%d streams_err=%d",
	    (unsigned long long)len, (unsigned long long)sum, fret, err);
	say("data", "skho_out state=%u streams=%u fdt_len=%llu bytes=%llu freeze_ns=%llu",
	    st->out_state, st->nr_out_streams, (unsigned long long)st->out_fdt_len,
	    (unsigned long long)st->out_preserved_bytes, (unsigned long long)st->freeze_ns);
}

/* The whole GET_FDT(OUT) blob as "data fdthex" lines of FDTHEX_CHUNK bytes:
 * the witness (tests/vm/witness.py) takes the table addresses, the
 * preserved pages and the reference STEs from it.  Through /dev/kmsg like
 * every other line (a tty write would interleave with printk's deferred
 * console output), paced: 86 KB at once (-b1024) overflow the printk ring
 * buffer before the console drains it ("printk messages dropped").  A lost
 * chunk fails the witness checks; it cannot make them pass. */
#define FDTHEX_CHUNK	384	/* 768 hex digits: the line stays under say()'s 900 */
#define FDTHEX_PACE_NS	10000000	/* the console prints a line in ~2 ms (TCG) */

static void skho_print_fdt(int fd)
{
	struct smmu_kho_fdt_arg a = { .size = sizeof(a), .which = SMMU_KHO_FDT_OUT };
	static const char hx[] = "0123456789abcdef";
	char hex[2 * FDTHEX_CHUNK + 1];
	unsigned char *buf;

	if (ioctl(fd, SMMU_KHO_IOC_GET_FDT, &a) && errno != ENOSPC) {
		say("data", "fdthex_failed errno=%d", errno);
		return;
	}
	buf = malloc(a.fdt_len ? a.fdt_len : 1);
	if (!buf)
		return;
	a.buf = (uintptr_t)buf;
	a.buf_len = a.fdt_len;
	if (ioctl(fd, SMMU_KHO_IOC_GET_FDT, &a)) {
		say("data", "fdthex_failed errno=%d", errno);
		free(buf);
		return;
	}
	for (uint64_t off = 0; off < a.fdt_len; off += FDTHEX_CHUNK) {
		unsigned int n = a.fdt_len - off < FDTHEX_CHUNK ? a.fdt_len - off : FDTHEX_CHUNK;
		struct timespec pace = { .tv_nsec = FDTHEX_PACE_NS };

		for (unsigned int i = 0; i < n; i++) {
			hex[2 * i] = hx[buf[off + i] >> 4];
			hex[2 * i + 1] = hx[buf[off + i] & 15];
		}
		hex[2 * n] = 0;
		say("data", "fdthex which=out off=%llu len=%llu hex=%s", (unsigned long long)off,
		    (unsigned long long)a.fdt_len, hex);
		nanosleep(&pace, NULL);
	}
	free(buf);
}

/* Trace marks of the witness windows on 00:02.0 (edu_dma.ko writes any
 * event the ioctl is given; EDU_MARK_* stop below 0x30). */
#define MARK_WITNESS_BEFORE	0x30	/* +1: the window is over */
#define MARK_WITNESS_AFTER	0x32

/*
 * A witness window: mark its start in QEMU's trace, tell the host, sleep
 * @witness seconds, mark its end.  The host stops the VM over QMP inside
 * the window and records how far the trace had got; analyze.py fails the
 * witness checks when the dump is not between the two marks.
 */
static void witness_window(struct gdev *d, unsigned int u, const char *phase, unsigned int ev)
{
	struct timespec ts = { .tv_sec = witness };

	edu_mark(d->fd, ev);
	say("witness_wait", "u=%u phase=%s window_s=%u", u, phase, witness);
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	edu_mark(d->fd, ev + 1);
	say("witness_resume", "u=%u phase=%s", u, phase);
}

/* ---------------------------------------------------------------------- */

static void check_coherency(void)
{
	static char log[1 << 20];
	int n = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	int seen;

	if (n <= 0 || n > (int)sizeof(log) - 1)
		n = sizeof(log) - 1;
	n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log, n);
	if (n < 0) {
		FAIL("k%u.smmu_coherency_matches_dtb", "klogctl errno=%d", K, errno);
		return;
	}
	log[n] = 0;
	if (!strstr(log, "arm-smmu-v3")) {
		FAIL("k%u.smmu_coherency_matches_dtb", "no arm-smmu-v3 line in the kernel log", K);
		return;
	}
	/* The driver logs this when the DT overrides IDR0.COHACC to false. */
	seen = !!strstr(log, "IDR0.COHACC overridden by FW configuration (false)");
	CHECK(seen == noncoh, "k%u.smmu_coherency_matches_dtb",
	      "dtb_noncoherent=%d cohacc_override_logged=%d", K, noncoh, seen);
}

static void uapi_checks(void);

static int load_modules(void)
{
	char params[64];
	int ret, i;

	if (have_skho) {
		params[0] = 0;
		if (bench)
			snprintf(params, sizeof(params), "bench_streams=%u", bench);
		ret = insmod("/lib/smmu_kho.ko", params);
		CHECK(!ret, "k%u.smmu_kho_module_loads", "ret=%d params='%s'", K, ret, params);
		if (K == 1)
			uapi_checks();
	}
	snprintf(params, sizeof(params), "kernel=%u stage=%u", K, stage);
	ret = insmod("/lib/edu_dma.ko", params);
	if (ret) {
		FAIL("k%u.edu_dma_binds_both_edu_devices", "insmod edu_dma.ko: %d", K, ret);
		return -1;
	}
	for (i = 0; i < (int)ndevs; i++) {
		char path[64];

		snprintf(path, sizeof(path), EDU_DMA_DEV_FMT, devs[i].bdf);
		devs[i].fd = open(path, O_RDWR | O_CLOEXEC);
		if (devs[i].fd < 0 || ioctl(devs[i].fd, EDU_DMA_IOC_INFO, &devs[i].info)) {
			FAIL("k%u.edu_dma_binds_both_edu_devices", "%s: errno %d", K, path, errno);
			return -1;
		}
	}
	OK("k%u.edu_dma_binds_both_edu_devices", "flags=%#x,%#x", K, devs[0].info.flags,
	   devs[1].info.flags);
	return 0;
}

/* ---- the UAPI refuses what it does not understand (issue 11) ------------ */

/* errno of one ioctl on a fresh fd of /dev/smmu_kho, or 0. */
static int skho_errno(unsigned long req, void *arg)
{
	int fd = open(SMMU_KHO_DEV, O_RDWR | O_CLOEXEC), e;

	if (fd < 0)
		return -1000 - errno;
	e = ioctl(fd, req, arg) ? errno : 0;
	close(fd);
	return e;
}

/* STATUS from a child that opened the node as root, then dropped to uid 65534. */
static int skho_errno_without_cap(void)
{
	int fd = open(SMMU_KHO_DEV, O_RDWR | O_CLOEXEC), st = 0;
	pid_t pid;

	if (fd < 0)
		return -1000 - errno;
	pid = fork();
	if (pid == 0) {
		struct smmu_kho_status s = { .size = sizeof(s) };

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(200);
		_exit(ioctl(fd, SMMU_KHO_IOC_STATUS, &s) ? errno : 0);
	}
	close(fd);
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/*
 * Each check calls the real module with one bad argument and expects the
 * documented errno (kernel/module/uapi/smmu_kho.h); the module before the
 * hardening accepted every one of them.
 */
static void uapi_checks(void)
{
	struct {
		struct smmu_kho_status s;
		uint8_t tail[8];
	} big;
	struct smmu_kho_status small = { .size = 4 };
	struct smmu_kho_dev_arg dev = { .size = sizeof(dev), .flags = 1 };
	struct smmu_kho_read_arg rd = { .size = sizeof(rd), .which = SMMU_KHO_FDT_IN };
	int e, e0, e1, e2;

	e = skho_errno_without_cap();
	CHECK(e == EPERM, "k1.uapi_caller_without_cap_sys_admin_gets_eperm", "errno %d", e);

	memset(&big, 0, sizeof(big));
	big.s.size = sizeof(big);
	e0 = skho_errno(SMMU_KHO_IOC_STATUS, &big);	/* zero tail: accepted */
	big.s.size = sizeof(big);	/* STATUS wrote back its own size */
	big.tail[3] = 1;
	e1 = skho_errno(SMMU_KHO_IOC_STATUS, &big);
	e2 = skho_errno(SMMU_KHO_IOC_STATUS, &small);
	CHECK(e0 == 0 && e1 == E2BIG && e2 == EINVAL,
	      "k1.uapi_nonzero_tail_is_e2big_short_size_is_einval",
	      "zero tail errno %d, non-zero tail %d, size 4 %d", e0, e1, e2);

	snprintf(dev.name, sizeof(dev.name), "0000:00:02.0");
	e = skho_errno(SMMU_KHO_IOC_PRESERVE, &dev);
	CHECK(e == EINVAL, "k1.uapi_unknown_flag_is_einval", "PRESERVE with flags=1: errno %d", e);

	rd.len = 0;
	rd.pa = 0x40000000;
	e0 = skho_errno(SMMU_KHO_IOC_READ, &rd);
	rd.len = 4096;
	rd.pa = ~0ULL - 100;
	e1 = skho_errno(SMMU_KHO_IOC_READ, &rd);
	rd.pa = 0x40000000;	/* nothing handed over in kernel 1 */
	e2 = skho_errno(SMMU_KHO_IOC_READ, &rd);
	CHECK(e0 == EINVAL && e1 == EINVAL && e2 == ENOENT,
	      "k1.uapi_read_refuses_zero_length_wrap_and_unpreserved",
	      "len 0 errno %d, wrapping %d, not preserved %d", e0, e1, e2);
}

/* ---- kernel K >= 2: what the previous kernel left ---------------------- */

static void check_record(struct gdev *d)
{
	const struct edu_dma_info *in = &d->info;
	char name[64];
	int good;

	prefixed(d, "edu_dma_kho_record_restored", name, sizeof(name));
	say("data", "in dev=%04x flags=%#x err=%d kernel=%u stage=%u iova=%#llx pa=%#llx",
	    d->bdf, in->flags, in->in_err, in->in.kernel, in->in.stage,
	    (unsigned long long)in->in.iova, (unsigned long long)in->in.pa);
	good = (in->flags & EDU_DMA_F_KHO_BOOT) && (in->flags & EDU_DMA_F_IN_RECORD) &&
	       (in->flags & EDU_DMA_F_IN_RESTORED) && in->in.kernel == K - 1 &&
	       in->in.bdf == d->bdf && in->in.tag[PAT_OLD] == tag(PAT_OLD, K - 1, d->bdf);
	CHECK(good, "u%u.%s", "flags=%#x err=%d from_kernel=%u iova=%#llx pa=%#llx", K - 1, name,
	      in->flags, in->in_err, in->in.kernel, (unsigned long long)in->in.iova,
	      (unsigned long long)in->in.pa);
}

static void check_jump(struct gdev *d)
{
	const struct edu_dma_record *r = &d->info.in;
	unsigned int n_new, n_old, want_landed = d->preserved;
	int err;

	if (!(d->info.flags & EDU_DMA_F_IN_RESTORED)) {
		say("fail", "u%u.%s no restored buffer", K - 1, jump_name(d));
		return;
	}
	err = edu_classify(d->fd, 0, r->tag[PAT_JUMP], r->tag[PAT_OLD], &n_new, &n_old);
	say("data", "jump dev=%04x words=%u new=%u old=%u err=%d", d->bdf, HALF / 4, n_new,
	    n_old, err);
	if (want_landed)
		/* Translation survived: all 512 words carry the jump pattern. */
		CHECK(!err && n_new == HALF / 4, "u%u.%s", "jump_words=%u old_words=%u", K - 1,
		      jump_name(d), n_new, n_old);
	else
		/* Lost: the page still holds every word of the old pattern. */
		CHECK(!err && n_old == HALF / 4, "u%u.%s", "jump_words=%u old_words=%u", K - 1,
		      jump_name(d), n_new, n_old);
}

static void check_raw(struct gdev *d)
{
	const struct edu_dma_record *r = &d->info.in;
	unsigned int n_new, n_old, want_landed = d->preserved;
	const char *name = raw_name(d);
	struct edu_dma_xfer x;
	int ret, err;

	if (!(d->info.flags & EDU_DMA_F_IN_RECORD)) {
		say("fail", "u%u.%s no record of the previous IOVA", K - 1, name);
		return;
	}
	edu_mark(d->fd, EDU_MARK_RAW_BEGIN);
	ret = edu_xfer(d->fd, EDU_FROM_DEV, HALF, r->iova + HALF, HALF, &x);
	edu_mark(d->fd, EDU_MARK_RAW_END);
	say("data", "raw dev=%04x iova=%#llx ret=%d done=%u ns=%llu", d->bdf,
	    (unsigned long long)(r->iova + HALF), ret, x.done,
	    (unsigned long long)x.elapsed_ns);
	if (!(d->info.flags & EDU_DMA_F_IN_RESTORED)) {
		say("fail", "u%u.%s no restored buffer to look at", K - 1, name);
		return;
	}
	err = edu_classify(d->fd, HALF, r->tag[PAT_RAW], r->tag[PAT_OLD], &n_new, &n_old);
	say("data", "rawdata dev=%04x new=%u old=%u err=%d", d->bdf, n_new, n_old, err);
	if (want_landed)
		CHECK(!ret && x.done && !err && n_new == HALF / 4, "u%u.%s",
		      "done=%u raw_words=%u old_words=%u", K - 1, name, x.done, n_new, n_old);
	else
		/* The engine completes (edu ignores DMA errors) but nothing lands. */
		CHECK(!ret && x.done && !err && n_old == HALF / 4, "u%u.%s",
		      "done=%u raw_words=%u old_words=%u", K - 1, name, x.done, n_new, n_old);
}

static void smmu_kho_incoming(void)
{
	struct smmu_kho_status st = { .size = sizeof(st) };
	struct smmu_kho_stream_info *si;
	unsigned int nr = 0, i, want = want_streams();
	int fd = open(SMMU_KHO_DEV, O_RDWR | O_CLOEXEC), found = 0, err = 0;

	if (fd < 0) {
		FAIL("u%u.smmu_kho_adopts_edu_stream", "open %s: errno %d", K - 1, SMMU_KHO_DEV,
		     errno);
		return;
	}
	si = skho_streams(fd, &nr, &err);
	if (!si || ioctl(fd, SMMU_KHO_IOC_STATUS, &st)) {
		FAIL("u%u.smmu_kho_adopts_edu_stream", "ioctl errno %d", K - 1, si ? errno : -err);
		free(si);
		close(fd);
		return;
	}
	for (i = 0; i < nr; i++) {
		if (i < 8 || si[i].state == SMMU_KHO_STREAM_REFUSED)
			say("data", "stream sid=%#x state=%u error=%d dev=%s why=%s", si[i].sid,
			    si[i].state, si[i].error, si[i].dev, si[i].why);
		/* The UAPI allows "" for a device it cannot name. */
		found += si[i].sid == 0x10 && si[i].state == SMMU_KHO_STREAM_ADOPTED &&
			 (!si[i].dev[0] || !strcmp(si[i].dev, "0000:00:02.0"));
	}
	/* Exactly the streams kernel K-1 preserved (00:02.0's, plus the
	 * benchmark copies with skho.bench), all adopted, none refused. */
	CHECK(st.in_state == SMMU_KHO_ADOPTED && st.nr_in_streams == want &&
	      st.nr_adopted == want && st.nr_refused == 0 && found == 1,
	      "u%u.smmu_kho_adopts_edu_stream",
	      "in_state=%u in=%u adopted=%u refused=%u want=%u sid10_adopted=%d adopt_ns=%llu",
	      K - 1, st.in_state, st.nr_in_streams, st.nr_adopted, st.nr_refused, want, found,
	      (unsigned long long)st.adopt_ns);
	free(si);
	close(fd);
}

/* Kernel K >= 2: what smmu_kho.ko was handed over, as it is now. */
struct incoming {
	struct smmu_kho_status st;	/* STATUS */
	struct smmu_kho_stream_info *si;	/* STREAMS, sorted by SID */
	unsigned int nr;
	int err, sret, fret;		/* STREAMS, STATUS, GET_FDT(IN): 0 or -errno */
	uint64_t len, sum;		/* GET_FDT(IN): length and FNV */
	struct sset set;		/* the adopted (or released) streams */
};

/* Read it all and print the set ("data ste_in", "data streams_in"); the
 * caller frees in->si. */
static void incoming_read(struct incoming *in)
{
	int fd = open(SMMU_KHO_DEV, O_RDWR | O_CLOEXEC);

	memset(in, 0, sizeof(*in));
	in->st.size = sizeof(in->st);
	in->err = in->fret = -EBADF;
	in->si = fd < 0 ? NULL : skho_streams(fd, &in->nr, &in->err);
	in->sret = fd < 0 ? -errno : ioctl(fd, SMMU_KHO_IOC_STATUS, &in->st) ? -errno : 0;
	/* Handed over and accepted: adopted, or (if something released it
	 * too early) released; the state is printed with the digests. */
	summarize_streams(in->si, in->si ? in->nr : 0, ST(ADOPTED) | ST(RELEASED), &in->set);
	sset_say("in", &in->set);
	if (fd >= 0) {
		in->fret = skho_fdt(fd, SMMU_KHO_FDT_IN, &in->len, &in->sum);
		close(fd);
	}
}

/*
 * Kernel K >= 2, preserve, before RELEASE (and before anything in this
 * kernel may touch 00:02.0's STE): the adopted streams as they are in memory
 * now, the module's abort counters (data only) and the FDT this kernel was
 * handed.
 */
static void smmu_kho_adopted_report(void)
{
	struct incoming in;
	const struct smmu_kho_status *st = &in.st;
	const struct sset *a = &in.set;

	incoming_read(&in);
	say("data", "fdt_in len=%llu fnv=%#llx err=%d status_len=%llu", (unsigned long long)in.len,
	    (unsigned long long)in.sum, in.fret, (unsigned long long)st->in_fdt_len);
	say("data", "skho_in state=%u streams=%u adopted=%u refused=%u abort_stes=%u "
	    "abort_rewritten=%u adopt_ns=%llu fdt_len=%llu err=%d,%d", st->in_state,
	    st->nr_in_streams, st->nr_adopted, st->nr_refused, st->nr_abort_stes,
	    st->nr_abort_rewritten, (unsigned long long)st->adopt_ns,
	    (unsigned long long)st->in_fdt_len, in.sret, in.err);

	/* No SMMU event for the preserved stream (nor any adopted copy) since
	 * this kernel booted: the jump and the raw DMA translated cleanly. */
	CHECK(!in.err && !in.sret && a->dut && a->dut->events == 0 && a->events == 0,
	      "u%u.preserved_stream_has_no_smmu_events", "sid10_adopted=%d sid10_events=%u "
	      "adopted=%u events_all_adopted=%u err=%d,%d", K - 1, !!a->dut,
	      a->dut ? a->dut->events : 0, a->n, a->events, in.err, in.sret);

	/*
	 * Whether every other STE of the adopted tables is abort is decided by
	 * the outside witness (analyze.py, from memory read over QMP), not by
	 * the module's counters: those are printed above as data only.
	 */
	free(in.si);
}

/* Negative control, kernel K >= 2: the previous kernel aborted, so nothing
 * may have been handed over and there is nothing to compare digests with.
 * Whatever was handed over is printed as a preserve run prints it, so that
 * analyze.py's identity check sees it if the abort failed. */
static void stock_incoming(void)
{
	struct incoming in;
	const struct smmu_kho_status *st = &in.st;

	incoming_read(&in);
	say("data", "skho_in state=%u streams=%u adopted=%u refused=%u abort_stes=%u "
	    "abort_rewritten=%u adopt_ns=%llu fdt_len=%llu listed=%u fdt_err=%d err=%d,%d",
	    st->in_state, st->nr_in_streams, st->nr_adopted, st->nr_refused, st->nr_abort_stes,
	    st->nr_abort_rewritten, (unsigned long long)st->adopt_ns,
	    (unsigned long long)st->in_fdt_len, in.nr, in.fret, in.sret, in.err);
	/* IDLE, no incoming stream, none listed, and GET_FDT(IN) has no blob. */
	CHECK(!in.sret && !in.err && st->in_state == SMMU_KHO_IDLE && st->nr_in_streams == 0 &&
	      st->nr_adopted == 0 && in.nr == 0 && in.fret == -ENOENT,
	      "u%u.stock_no_stream_handed_over", "in_state=%u in=%u adopted=%u listed=%u "
	      "fdt_in_err=%d", K - 1, st->in_state, st->nr_in_streams, st->nr_adopted, in.nr,
	      in.fret);
	free(in.si);
}

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* RELEASE of one preserved device, timed; STATUS after it in *@st. */
static int release_one(int fd, struct gdev *d, struct smmu_kho_status *st, uint64_t *wall)
{
	/*
	 * Default: edu_dma re-initialised the device in this kernel (a fresh
	 * DMA domain, new IOVAs), so the hand-back is REPLACE: the checked
	 * default would refuse it (EXDEV), rightly.  skho.handback: edu_dma
	 * mapped the inherited buffer at its old IOVA in its own domain, the
	 * same translation: RELEASE without REPLACE, which must be hitless.
	 */
	struct smmu_kho_dev_arg a = { .size = sizeof(a),
				      .flags = handback ? 0 : SMMU_KHO_RELEASE_REPLACE };
	uint64_t t0;
	int ret;

	if (handback && ioctl(d->fd, EDU_DMA_IOC_REMAP_INHERITED))
		return -errno;
	snprintf(a.name, sizeof(a.name), "%s", d->pci);
	t0 = mono_ns();
	ret = ioctl(fd, SMMU_KHO_IOC_RELEASE, &a) ? -errno : 0;
	*wall = mono_ns() - t0;
	st->size = sizeof(*st);
	if (ioctl(fd, SMMU_KHO_IOC_STATUS, st) && !ret)
		ret = -errno;
	say("data", "handback dev=%04x flags=%#x ret=%d wall_ns=%llu release_ns=%llu "
	    "release_error=%d why=%.60s", d->bdf, a.flags, ret, (unsigned long long)*wall,
	    (unsigned long long)st->release_ns, st->release_error,
	    st->release_why[0] ? st->release_why : "-");
	return ret;
}

/* Give every preserved device's adopted stream back (release_one()). */
static void smmu_kho_release(void)
{
	struct smmu_kho_status st = { .size = sizeof(st) };
	int fd = open(SMMU_KHO_DEV, O_RDWR | O_CLOEXEC), ret = fd < 0 ? -errno : 0;
	/* Benchmark copies belong to no device and stay adopted, which keeps
	 * the incoming state ADOPTED. */
	uint32_t want_state = bench > 1 ? SMMU_KHO_ADOPTED : SMMU_KHO_RELEASED;
	uint64_t wall = 0, one = 0, release_ns = 0;
	unsigned int i;

	for (i = 0; !ret && i < ndevs; i++) {
		if (!devs[i].preserved)
			continue;
		ret = release_one(fd, &devs[i], &st, &one);
		wall += one;
		release_ns += st.release_ns;
	}
	say("data", "handback_total devices=%u hitless_asked=%d wall_ns=%llu release_ns=%llu "
	    "hitless=%u in_adopted_pages=%llu in_kept_pages=%llu in_freed_pages=%llu asids=%u "
	    "vmids=%u", npreserved, handback, (unsigned long long)wall,
	    (unsigned long long)release_ns, st.nr_released_hitless,
	    (unsigned long long)st.in_adopted_pages, (unsigned long long)st.in_kept_pages,
	    (unsigned long long)st.in_freed_pages, st.nr_asids_freed, st.nr_vmids_freed);
	/* With skho.handback every stream moved by the hitless sequence. */
	CHECK(!ret && st.in_state == want_state && st.nr_released == npreserved &&
	      (!handback || st.nr_released_hitless == npreserved),
	      "u%u.smmu_kho_release_edu", "ret=%d in_state=%u (want %u) released=%u hitless=%u "
	      "(want %u, hitless asked %d)", K - 1, ret, st.in_state, want_state,
	      st.nr_released, st.nr_released_hitless, npreserved, handback);
	if (fd >= 0)
		close(fd);
}

/* -keep, kernels 2..N: 00:02.0 still translates through kernel 1's tables,
 * so it goes on with kernel 1's buffer (same IOVA and PA, no new mapping). */
static int inherit(struct gdev *d)
{
	struct edu_dma_info in = d->info, now;
	int ret = ioctl(d->fd, EDU_DMA_IOC_INHERIT) ? -errno : 0;

	if (!ret && ioctl(d->fd, EDU_DMA_IOC_INFO, &now))
		ret = -errno;
	if (ret) {
		FAIL("k%u.edu_dma_inherits_previous_buffer", "ret=%d", K, ret);
		return -1;
	}
	d->iova = now.iova;
	d->pa = now.pa;
	say("data", "buf dev=%04x stage=%u iova=%#llx pa=%#llx inherited=1", d->bdf, now.stage,
	    (unsigned long long)now.iova, (unsigned long long)now.pa);
	/* The buffer is the previous kernel's, at the IOVA and PA it had. */
	CHECK((now.flags & EDU_DMA_F_INHERITED) && now.iova == in.in.iova && now.pa == in.in.pa,
	      "k%u.edu_dma_inherits_previous_buffer", "flags=%#x iova=%#llx pa=%#llx from_kernel=%u",
	      K, now.flags, (unsigned long long)now.iova, (unsigned long long)now.pa,
	      in.in.kernel);
	return 0;
}

/* ---- every kernel: new keep page and a round trip ----------------------- */

static int roundtrip(struct gdev *d)
{
	struct edu_dma_alloc a = { .stage = stage, .nr_pages = 1 };
	struct edu_roundtrip rt;
	char base[48], name[64];

	prefixed(d, K <= N ? "edu_dma_roundtrip_before_kexec" : "edu_dma_roundtrip_after_kexec",
		 base, sizeof(base));
	snprintf(name, sizeof(name), "k%u.%s", K, base);
	/* Stage 2: a fixed IPA per kernel (distinct from the previous kernel's). */
	a.iova = 0x0ff00000ull - (uint64_t)K * 0x10000 + (d->bdf == 0x10 ? 0 : 0x1000);
	if (handback && d->preserved && K >= 2) {
		/* The hitless hand-back's buffer: inherited, at its old IOVA. */
		struct edu_dma_info now;

		if (ioctl(d->fd, EDU_DMA_IOC_INFO, &now) || !(now.flags & EDU_DMA_F_INHERITED)) {
			say("fail", "%s no inherited buffer (errno %d)", name, errno);
			return -1;
		}
		a.iova = now.iova;
		a.pa = now.pa;
	} else if (ioctl(d->fd, EDU_DMA_IOC_ALLOC, &a)) {
		say("fail", "%s alloc stage %u errno %d", name, stage, errno);
		return -1;
	}
	d->iova = a.iova;
	d->pa = a.pa;
	say("data", "buf dev=%04x stage=%u iova=%#llx pa=%#llx", d->bdf, stage,
	    (unsigned long long)a.iova, (unsigned long long)a.pa);

	edu_roundtrip(d->fd, d->iova, tag(PAT_RT, K, d->bdf), &rt);
	/* Every one of the 1024 words came back from the device. */
	CHECK(!rt.r1 && !rt.r2 && rt.x1.done && rt.x2.done && rt.words == NWORDS, "%s",
	      "iova=%#llx pa=%#llx done=%u,%u words=%u/%u ret=%d,%d,%d", name,
	      (unsigned long long)d->iova, (unsigned long long)d->pa, rt.x1.done, rt.x2.done,
	      rt.words, NWORDS, rt.r1, rt.r2, rt.err);
	return 0;
}

/* ---- kernels K <= N: arm the jump and kexec ----------------------------- */

static int stage_and_arm(struct gdev *d)
{
	int staged, ret;

	/* edu buffer := [jump pattern | raw pattern], through the keep page;
	 * keep := old pattern; the jump DMA overwrites [0,2K) if it lands. */
	ret = edu_arm_jump(d->fd, d->iova, tag(PAT_OLD, K, d->bdf), tag(PAT_JUMP, K, d->bdf),
			   tag(PAT_RAW, K, d->bdf), &staged);
	return staged ?: ret;
}

/* kexec_file_load() this kernel's Image and initrd for kernel K+1.
 * Returns 0 or -errno. */
static int load_next_kernel(void)
{
	char cmdline[2048], next[2100];
	int ret;

	ret = read_file("/proc/cmdline", cmdline, sizeof(cmdline));
	if (ret < 0)
		return ret;
	next_cmdline(cmdline, "skho.k", K + 1, next, sizeof(next));
	/* The initrd of this boot, kept by retain_initrd, is the next one's. */
	ret = copy_initrd("/initrd.img");
	if (ret)
		return ret;
	return kexec_load_next("/Image", "/initrd.img", next);
}

static void smmu_kho_out(int fd, unsigned long req, const char *pci, const char *what)
{
	struct smmu_kho_dev_arg a = { .size = sizeof(a) };
	int ret;

	snprintf(a.name, sizeof(a.name), "%s", pci);
	ret = ioctl(fd, req, req == SMMU_KHO_IOC_FREEZE ? NULL : &a) ? -errno : 0;
	CHECK(!ret, "u%u.smmu_kho_%s", "ret=%d", K, what, ret);
}

/*
 * Negative control (no skho.preserve): PRESERVE and FREEZE 00:02.0 so that
 * its digests are captured exactly as in a preserve run, then ABORT: the
 * kexec that follows hands nothing over.
 */
static void stock_freeze_then_abort(void)
{
	struct smmu_kho_status fz = { .size = sizeof(fz) }, ab = { .size = sizeof(ab) };
	struct smmu_kho_dev_arg a = { .size = sizeof(a) };
	int fd = open(SMMU_KHO_DEV, O_RDWR | O_CLOEXEC), r[5] = { -EBADF, -EBADF, -EBADF,
								  -EBADF, -EBADF };
	uint64_t len = 0, sum = 0;

	strcpy(a.name, "0000:00:02.0");
	if (fd >= 0) {
		r[0] = ioctl(fd, SMMU_KHO_IOC_PRESERVE, &a) ? -errno : 0;
		r[1] = ioctl(fd, SMMU_KHO_IOC_FREEZE) ? -errno : 0;
		r[2] = ioctl(fd, SMMU_KHO_IOC_STATUS, &fz) ? -errno : 0;
		skho_report_out(fd, &fz);
		/* The witness's negative control: it reads 00:02.0's frozen
		 * STE now and, after the jump, finds it gone. */
		if (witness) {
			skho_print_fdt(fd);
			witness_window(&devs[0], K, "before", MARK_WITNESS_BEFORE);
		}
		r[3] = ioctl(fd, SMMU_KHO_IOC_ABORT) ? -errno : 0;
		r[4] = ioctl(fd, SMMU_KHO_IOC_STATUS, &ab) ? -errno : 0;
		r[4] = r[4] ?: skho_fdt(fd, SMMU_KHO_FDT_OUT, &len, &sum) == -ENOENT ? 0 : -EEXIST;
		close(fd);
	}
	/* Frozen with 00:02.0's one stream, then after ABORT: IDLE, no stream,
	 * no outgoing FDT (GET_FDT(OUT) -> ENOENT). */
	CHECK(!r[0] && !r[1] && !r[2] && !r[3] && !r[4] && fz.out_state == SMMU_KHO_FROZEN &&
	      fz.nr_out_streams == 1 && ab.out_state == SMMU_KHO_IDLE && ab.nr_out_streams == 0,
	      "u%u.stock_smmu_kho_freeze_then_abort", "ret=%d,%d,%d,%d,%d frozen=%u/%u "
	      "aborted=%u/%u fdt_len=%llu", K, r[0], r[1], r[2], r[3], r[4], fz.out_state,
	      fz.nr_out_streams, ab.out_state, ab.nr_out_streams, (unsigned long long)len);
}

static void before_kexec(void)
{
	int fd = -1, ret, i;

	if (preserve) {
		fd = open(SMMU_KHO_DEV, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			FAIL("u%u.smmu_kho_preserve_edu", "open %s: errno %d", K, SMMU_KHO_DEV,
			     errno);
		else
			for (i = 0; i < (int)ndevs; i++)
				if (devs[i].preserved)
					smmu_kho_out(fd, SMMU_KHO_IOC_PRESERVE, devs[i].pci,
						     devs[i].bdf == 0x10 ? "preserve_edu" :
						     "preserve_extra_edu");
	}
	ret = load_next_kernel();
	/* KHO must be on for the handover: its debugfs "out" directory exists. */
	CHECK(!ret && !access("/sys/kernel/debug/kho/out", F_OK), "u%u.kexec_file_load_with_kho",
	      "ret=%d kho_out=%d", K, ret, !access("/sys/kernel/debug/kho/out", F_OK));
	if (ret)
		return;
	for (i = 0; i < (int)ndevs; i++) {
		char name[48];

		ret = stage_and_arm(&devs[i]);
		CHECK(!ret, "u%u.%s", "ret=%d subtree=%d", K,
		      prefixed(&devs[i], "edu_dma_kho_record_added", name, sizeof(name)), ret,
		      !access("/sys/kernel/debug/kho/out/sub_fdts/edu-dma", F_OK));
	}
	if (fd >= 0) {
		struct smmu_kho_status st = { .size = sizeof(st) };

		smmu_kho_out(fd, SMMU_KHO_IOC_FREEZE, "", "freeze");
		ret = ioctl(fd, SMMU_KHO_IOC_STATUS, &st) ? -errno : 0;
		/* One device preserved: one stream frozen (B with skho.bench=B). */
		CHECK(!ret && st.out_state == SMMU_KHO_FROZEN && st.nr_out_streams == want_streams(),
		      "u%u.smmu_kho_status_frozen", "ret=%d out_state=%u streams=%u want=%u "
		      "bytes=%llu freeze_ns=%llu", K, ret, st.out_state, st.nr_out_streams,
		      want_streams(), (unsigned long long)st.out_preserved_bytes,
		      (unsigned long long)st.freeze_ns);
		skho_report_out(fd, &st);
		if (witness) {
			skho_print_fdt(fd);
			witness_window(&devs[0], K, "before", MARK_WITNESS_BEFORE);
		}
		close(fd);
	} else if (have_skho) {
		stock_freeze_then_abort();
	}
	say("kexec", "cycles=%llu", (unsigned long long)cntvct());
	sync();
	reboot(LINUX_REBOOT_CMD_KEXEC);
	FAIL("u%u.kexec_with_kho_reaches_next_kernel", "reboot(KEXEC) returned errno %d", K,
	     errno);
}

static void power_off(void)
{
	say("bye", "uptime_cycles=%llu", (unsigned long long)(cntvct() - t_init_cycles));
	sync();
	reboot(LINUX_REBOOT_CMD_POWER_OFF);
	for (;;)
		pause();
}

int main(void)
{
	char cmdline[2048], up[64];
	int i;

	t_init_cycles = cntvct();
	mount_basics();
	kmsg = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (read_file("/proc/cmdline", cmdline, sizeof(cmdline)) < 0)
		cmdline[0] = 0;
	K = cmdline_ul(cmdline, "skho.k", 1);
	N = cmdline_ul(cmdline, "skho.n", 1);
	stage = cmdline_ul(cmdline, "skho.stage", 1);
	preserve = cmdline_ul(cmdline, "skho.preserve", 0);
	noncoh = cmdline_ul(cmdline, "skho.noncoh", 0);
	keep = preserve && cmdline_ul(cmdline, "skho.keep", 0);
	bench = preserve ? cmdline_ul(cmdline, "skho.bench", 0) : 0;
	have_skho = preserve || !access("/lib/smmu_kho.ko", R_OK);
	witness = have_skho ? cmdline_ul(cmdline, "skho.witness", 0) : 0;
	if (preserve) {
		npreserved = cmdline_ul(cmdline, "skho.devs", 1);
		if (npreserved < 1 || npreserved > MAX_DEVS - 1)
			npreserved = 1;
		ndevs = npreserved + 1;	/* the probe 00:03.0 is never preserved */
	}
	handback = preserve && stage == 2 && cmdline_ul(cmdline, "skho.handback", 0);
	for (i = 0; i < (int)ndevs; i++)
		devs[i].preserved = preserve && devs[i].bdf != 0x18;
	if (read_file("/proc/uptime", up, sizeof(up)) < 0)
		up[0] = 0;
	up[strcspn(up, " ")] = 0;
	say("hello", "n=%u stage=%u preserve=%d noncoh=%d keep=%d bench=%u devs=%u handback=%d "
	    "skho=%d kho_in=%d witness=%u uptime=%s cntfrq=%llu cycles=%llu", N, stage, preserve,
	    noncoh, keep, bench, npreserved, handback, have_skho, !access("/sys/kernel/debug/kho/in", F_OK), witness, up,
	    (unsigned long long)cntfrq(), (unsigned long long)t_init_cycles);

	check_coherency();
	if (load_modules())
		power_off();

	if (K >= 2) {
		const struct edu_dma_record *r = &devs[0].info.in;

		if (r->fire_cycles && r->fire_cycles < t_init_cycles)
			say("data", "timing kexec_to_init_us=%llu",
			    (unsigned long long)((t_init_cycles - r->fire_cycles) * 1000000ull /
						 cntfrq()));
		if (preserve)
			smmu_kho_incoming();
		else if (have_skho)
			stock_incoming();
		if (!preserve && witness)
			witness_window(&devs[0], K - 1, "after", MARK_WITNESS_AFTER);
		for (i = 0; i < (int)ndevs; i++) {
			check_record(&devs[i]);
			check_jump(&devs[i]);
		}
		/* Before any new mapping exists in this kernel. */
		for (i = 0; i < (int)ndevs; i++)
			check_raw(&devs[i]);
		if (preserve) {
			smmu_kho_adopted_report();
			if (witness)
				witness_window(&devs[0], K - 1, "after", MARK_WITNESS_AFTER);
			/* -keep: only the last kernel gives the stream back. */
			if (!keep || K == N + 1)
				smmu_kho_release();
		}
	}
	for (i = 0; i < (int)ndevs; i++) {
		/* -keep, kernels 2..N: no DMA-API mapping may be made for 00:02.0
		 * while it translates through the adopted tables. */
		if (keep && i == 0 && K >= 2 && K <= N) {
			if (inherit(&devs[0]))
				break;
			continue;
		}
		if (roundtrip(&devs[i]))
			break;
	}
	/* Without a buffer on each device there is nothing to carry over. */
	if (K <= N && i == (int)ndevs)
		before_kexec();
	power_off();
	return 0;
}
