// SPDX-License-Identifier: GPL-2.0-only
/* /init of the end-to-end VM run: smmu-khod does the live update, driven only by `smmu-khoctl update`. */
/*
 * Static arm64 program, the same binary in both kernels.  The kernel command
 * line says where it is:
 *   skhoe2e.k=K          1 = first boot, 2 = the kernel smmu-khod kexec'd into
 *   skhoe2e.mode=M       preserve: the real flow;
 *                        lose: the negative control, smmu-khod-test started with
 *                        SKHOD_FAULT=abort-before-jump (the module ABORTs
 *                        right before reboot(KEXEC): nothing is handed over)
 * Kernel 1: load smmu_kho.ko and edu_dma.ko, give 00:02.0 (SID 0x10) a DMA
 * page, check a round trip, arm an edu -> page DMA that edu_dma.ko fires
 * from its reboot notifier (i.e. during the jump), start smmu-khod on a
 * tmpfs state directory, and run
 *   smmu-khoctl update --kernel /Image --initrd /boot/initrd.img
 *                      --append "<this command line, skhoe2e.k=2>" --device 0000:00:02.0
 * which arms, preserves, freezes, journals, loads and kexecs.  This program
 * never calls kexec itself.
 * Kernel 2: load the modules, note that the (new, empty) state directory
 * holds no journal, start smmu-khod (it must recover the journal through
 * LUO and verify), print `smmu-khoctl status --json` and `status`, look at
 * the page the in-jump DMA wrote, fire a second DMA at the old IOVA with no
 * new mapping, `verify` again, `finish`, print the status, power off.
 *
 * Everything goes to /dev/kmsg (so it is ordered with the kernel log on the
 * console) as "SKHOE2E k=K <verb> <rest>": hello, data (key=value), notify
 * (the daemon's sd_notify messages), out (a captured output line:
 * "tag=T | line"), rc (tag=T rc=N), bye.  smmu-khod's stderr and the output
 * of `update` go to /dev/kmsg directly: they must not wait in a pipe when
 * the kernel jumps.  tests/vm/e2e/e2e_check.py judges it all on the host,
 * together with QEMU's SMMU trace.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/reboot.h>

#include "edu_dma_uapi.h"
#include "guest_fault.h"
#include "../guest/dma_pattern.h"

#define PAGE		4096u
#define HALF		(PAGE / 2)
#define NWORDS		(PAGE / 4)
#define XFER_TIMEOUT_MS	2000	/* the edu timer fires after 100 ms (virtual) */
#define READY_TIMEOUT_MS 60000	/* smmu-khod start incl. recovery and verification */
#define JUMP_TIMEOUT_S	60	/* after `update` returned, wait this long for kexec */

#define DUT_BDF		0x10	/* 00:02.0: requester ID == StreamID */
#define DUT_PCI		"0000:00:02.0"
#define DUT2_BDF	0x18	/* 00:03.0, preserved too by the two-device fault scenario */
#define DUT2_PCI	"0000:00:03.0"
#define STATE_DIR	"/var/lib/smmu-kho"
#define NOTIFY_PATH	"/run/e2e-notify.sock"
#define KHOD		"/sbin/smmu-khod"
#define KHOD_TEST	"/sbin/smmu-khod-test"	/* test variant: honours $SKHOD_FAULT */
#define KHOCTL		"/sbin/smmu-khoctl"
#define INITRD_COPY	"/boot/initrd.img"

enum pat_kind { PAT_OLD = 1, PAT_JUMP = 2, PAT_RAW = 3, PAT_RT = 4 };

static unsigned int K = 1;
static int lose;		/* skhoe2e.mode=lose */
static const struct fault_scn *fscn;	/* skhoe2e.mode=fault skhoe2e.fault=NAME */
static int fdry;		/* skhoe2e.dry=1: locate the target, inject nothing */
static char crash_at[64];	/* skhoe2e.mode=crash skhoe2e.crash=POINT: SKHOD_FAULT=crash:POINT */
static unsigned int crash_k;	/* the kernel whose daemon reaches POINT: 1 (update.*) or 2 */
static int nodev;		/* skhoe2e.mode=nodevice: `update --no-device` */
static int kmsg = -1;
static int edu = -1;		/* the device being driven: edu_fd[cur] */
static int edu_fd[2] = { -1, -1 };
static unsigned int cur_bdf = DUT_BDF;
static const char *sfx = "";	/* "" for 00:02.0, "_18" for 00:03.0 in data kinds */
static uint64_t buf_iova[2], buf_pa[2];
static pid_t khod_pid = -1;

void say(const char *verb, const char *fmt, ...)
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
	if (kmsg < 0 || write(kmsg, line, n) != n) {
		fputs(line + 3, stdout);
		fflush(stdout);
	}
}

/* ---- small helpers ---- */

static int read_file(const char *path, char *buf, size_t len)
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

static const char *cmdline_str(const char *cmdline, const char *key, char *out, size_t len,
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

static int insmod(const char *path, const char *params)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params, 0) ? -errno : 0;
	close(fd);
	return ret;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void mount_all(void)
{
	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mkdir("/dev", 0755);
	mkdir("/run", 0755);
	mkdir("/boot", 0755);
	mkdir("/var", 0755);
	mkdir("/var/lib", 0755);
	mkdir(STATE_DIR, 0700);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	mount("tmpfs", "/run", "tmpfs", 0, "mode=0755");
	/* The journal directory is on tmpfs: nothing in it survives kexec. */
	mount("tmpfs", STATE_DIR, "tmpfs", 0, "mode=0700");
}

/* Entries of @dir other than . and .., or -errno. */
static int dir_entries(const char *dir, char *names, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	names[0] = 0;
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		n++;
		if (strlen(names) + strlen(e->d_name) + 2 < len)
			strcat(strcat(names, names[0] ? "," : ""), e->d_name);
	}
	closedir(d);
	return n;
}

/* ---- DMA patterns (word i of pattern @t; distinct tags differ in every word) ---- */

static uint32_t tag(enum pat_kind kind)
{
	return 0x5e000000u | (K & 0xff) << 16 | (unsigned int)kind << 8 | cur_bdf;
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

/* Drive device @i (0: 00:02.0, 1: 00:03.0) from now on. */
static void use_dev(int i)
{
	edu = edu_fd[i];
	cur_bdf = i ? DUT2_BDF : DUT_BDF;
	sfx = i ? "_18" : "";
}

/* ---- child processes ---- */

/* fork + execve; the child's stdout/stderr are @out/@err (-1: keep ours). */
static pid_t spawn(char *const argv[], char *const envp[], int out, int err)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	if (out >= 0)
		dup2(out, 1);
	if (err >= 0)
		dup2(err, 2);
	execve(argv[0], argv, envp);
	_exit(127);
}

static int wait_rc(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static char *base_env[] = { "PATH=/sbin:/bin", "HOME=/", NULL };

/*
 * Run smmu-khoctl with @args, its stdout captured and printed line by line
 * as "out tag=@tag | ...", its stderr straight to /dev/kmsg; then
 * "rc tag=@tag rc=N".  Returns the exit code.
 */
static int ctl_capture(const char *tag_, const char *const args[])
{
	char *argv[16] = { KHOCTL };
	static char buf[1 << 16];
	size_t used = 0;
	int p[2], rc, n = 1;
	ssize_t r;
	pid_t pid;

	for (int i = 0; args[i] && n < 15; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	if (pipe2(p, O_CLOEXEC)) {
		say("rc", "tag=%s rc=-1 pipe errno=%d", tag_, errno);
		return -1;
	}
	pid = spawn(argv, base_env, p[1], kmsg);
	close(p[1]);
	while (used < sizeof(buf) - 1 && (r = read(p[0], buf + used, sizeof(buf) - 1 - used)) > 0)
		used += (size_t)r;
	close(p[0]);
	buf[used] = 0;
	rc = pid < 0 ? -1 : wait_rc(pid);
	for (char *line = buf, *nl; *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = 0;
		else
			nl = line + strlen(line);
		say("out", "tag=%s | %s", tag_, line);
	}
	say("rc", "tag=%s rc=%d", tag_, rc);
	return rc;
}

/*
 * Start smmu-khod as a plain process (stderr -> /dev/kmsg) and wait for its
 * READY=1, which it sends only after recovery and verification.  Its
 * sd_notify messages come to our NOTIFY_SOCKET; the socket is closed after
 * READY so that later messages cannot fill its queue and block the daemon.
 */
static int start_khod(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *env[8] = { "PATH=/sbin:/bin", "HOME=/", "NOTIFY_SOCKET=" NOTIFY_PATH, NULL };
	char *argv[] = { KHOD, "--state-dir", STATE_DIR, NULL };
	uint64_t t0 = mono_ms();
	int s, ready = 0;

	static char fault_env[96];

	if (lose && K == 1) {
		argv[0] = KHOD_TEST;	/* the product has no fault injection */
		env[3] = "SKHOD_FAULT=abort-before-jump";
	}
	if (crash_at[0] && K == crash_k) {
		/* /sbin/smmu-khod is the SKHOD_DEBUG test variant in these modes */
		snprintf(fault_env, sizeof(fault_env), "SKHOD_FAULT=crash:%s", crash_at);
		env[3] = fault_env;
	}
	strcpy(sa.sun_path, NOTIFY_PATH);
	unlink(NOTIFY_PATH);
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa))) {
		say("data", "khod_ready ready=0 why=notify_socket errno=%d", errno);
		return -1;
	}
	khod_pid = spawn(argv, env, kmsg, kmsg);
	while (!ready) {
		char msg[1024], ctl[CMSG_SPACE(sizeof(int) * 16)];
		struct iovec iov = { msg, sizeof(msg) - 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
				     .msg_controllen = sizeof(ctl) };
		struct pollfd pfd = { .fd = s, .events = POLLIN };
		int64_t left = (int64_t)READY_TIMEOUT_MS - (int64_t)(mono_ms() - t0);
		struct cmsghdr *c;
		ssize_t n;

		int st, pr;

		if (left <= 0)
			break;
		pr = poll(&pfd, 1, left < 500 ? (int)left : 500);
		/* A daemon that died before READY (a debug build's abort): no wait. */
		if (pr <= 0 && waitpid(khod_pid, &st, WNOHANG) == khod_pid) {
			say("data", "khod_died rc=%d before_ready=1",
			    WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
			khod_pid = -1;
			break;
		}
		if (pr <= 0)
			continue;
		n = recvmsg(s, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0)
			continue;
		msg[n] = 0;
		/* We are no fd store: drop the fds it hands over (FDSTORE=1). */
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
				for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++)
					close(((int *)CMSG_DATA(c))[i]);
		for (char *p = msg; *p; p++)
			if (*p == '\n')
				*p = ' ';
		say("notify", "%s", msg);
		ready = !!strstr(msg, "READY=1");
	}
	close(s);
	unlink(NOTIFY_PATH);
	say("data", "khod_ready ready=%d ms=%llu pid=%d", ready,
	    (unsigned long long)(mono_ms() - t0), (int)khod_pid);
	return ready ? 0 : -1;
}

/* Exit status of @pid within @ms milliseconds, -ETIMEDOUT, or -errno. */
static int wait_exit(pid_t pid, unsigned int ms)
{
	int st;

	for (unsigned int i = 0; i < ms / 10; i++) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (r < 0)
			return -errno;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

/*
 * A command that failed because smmu-khod killed itself at its crash
 * point: log how it died, start it again (the marker keeps it alive now).
 */
static int restart_after_crash(const char *tag_)
{
	int rc = khod_pid > 0 ? wait_exit(khod_pid, 5000) : -ESRCH;

	say("data", "khod_crash tag=%s rc=%d", tag_, rc);
	if (rc == -ETIMEDOUT)
		kill(khod_pid, SIGKILL);
	khod_pid = -1;
	return start_khod();
}

static void stop_khod(void)
{
	int rc;

	if (khod_pid <= 0)
		return;
	kill(khod_pid, SIGTERM);
	rc = wait_rc(khod_pid);
	say("data", "khod_exit rc=%d", rc);
	khod_pid = -1;
}

static const char *mode_name(void)
{
	return fscn ? "fault" : lose ? "lose" : crash_at[0] ? "crash" : nodev ? "nodevice" :
	       "preserve";
}

static void power_off(void)
{
	stop_khod();
	say("bye", "mode=%s", mode_name());
	sync();
	reboot(LINUX_REBOOT_CMD_POWER_OFF);
	for (;;)
		pause();
}

static int load_modules(void)
{
	char params[64], path[64];
	int r1, r2, r3 = 0, e0, e1 = 0;

	r1 = insmod("/lib/smmu_kho.ko", "");
	snprintf(params, sizeof(params), "kernel=%u stage=1", K);
	/* After smmu_kho.ko: its reboot notifier runs after smmu_kho's. */
	if (fscn && K == fscn->k)
		r3 = insmod("/lib/skho_fault.ko", fscn->race ? "hold_ms=500" : "");
	r2 = insmod("/lib/edu_dma.ko", params);
	snprintf(path, sizeof(path), EDU_DMA_DEV_FMT, DUT_BDF);
	edu_fd[0] = open(path, O_RDWR | O_CLOEXEC);
	e0 = edu_fd[0] < 0 ? -errno : 0;
	if (fscn && fscn->two) {
		snprintf(path, sizeof(path), EDU_DMA_DEV_FMT, DUT2_BDF);
		edu_fd[1] = open(path, O_RDWR | O_CLOEXEC);
		e1 = edu_fd[1] < 0 ? -errno : 0;
	}
	use_dev(0);
	say("data", "modules smmu_kho=%d edu_dma=%d edu_open=%d smmu_kho_dev=%d skho_fault=%d edu2_open=%d",
	    r1, r2, e0, access("/dev/smmu_kho", F_OK) ? -errno : 0, r3, e1);
	return r1 || r2 || r3 || e0 || e1 ? -1 : 0;
}

/* ---- kernel 1 ---- */

/* A DMA page for 00:02.0, a round trip through it, then the in-jump DMA armed. */
static int dma_before_update(void)
{
	struct edu_dma_alloc a = { .stage = 1, .nr_pages = 1 };
	struct edu_dma_xfer x1, x2, x3;
	struct edu_dma_arm arm;
	uint32_t w[NWORDS];
	int r1, r2, r3, ra = -1;
	unsigned int n;

	if (ioctl(edu, EDU_DMA_IOC_ALLOC, &a)) {
		say("data", "buf err=%d", -errno);
		return -1;
	}
	say("data", "buf%s dev=%04x iova=%#llx pa=%#llx", sfx, cur_bdf, (unsigned long long)a.iova,
	    (unsigned long long)a.pa);
	buf_iova[cur_bdf != DUT_BDF] = a.iova;
	buf_pa[cur_bdf != DUT_BDF] = a.pa;
	/* Round trip: page -> edu, page := ~pattern, edu -> page. */
	pat_fill(w, 0, NWORDS, tag(PAT_RT));
	edu_mark(EDU_MARK_RT_BEGIN);
	r1 = edu_rw(EDU_BUF_CUR, 1, 0, w, PAGE) ?: edu_xfer(EDU_TO_DEV, 0, a.iova, PAGE, &x1);
	for (unsigned int i = 0; i < NWORDS; i++)
		w[i] = ~pat_word(tag(PAT_RT), i);
	r2 = edu_rw(EDU_BUF_CUR, 1, 0, w, PAGE) ?: edu_xfer(EDU_FROM_DEV, 0, a.iova, PAGE, &x2);
	edu_mark(EDU_MARK_RT_END);
	memset(w, 0, sizeof(w));
	n = edu_rw(EDU_BUF_CUR, 0, 0, w, PAGE) ? 0 : pat_match(w, 0, NWORDS, tag(PAT_RT));
	say("data", "roundtrip%s words=%u of=%u ret=%d,%d", sfx, n, NWORDS, r1, r2);

	/* edu buffer := [jump | raw] patterns (through the page), page := old. */
	pat_fill(w, 0, HALF / 4, tag(PAT_JUMP));
	pat_fill(w + HALF / 4, HALF / 4, HALF / 4, tag(PAT_RAW));
	r3 = edu_rw(EDU_BUF_CUR, 1, 0, w, PAGE) ?: edu_xfer(EDU_TO_DEV, 0, a.iova, PAGE, &x3);
	pat_fill(w, 0, NWORDS, tag(PAT_OLD));
	r3 = r3 ?: edu_rw(EDU_BUF_CUR, 1, 0, w, PAGE);
	/* edu_dma.ko preserves the page with KHO, publishes {IOVA, PA, tags}
	 * and fires edu[0,2K) -> page[0,2K) from its reboot notifier. */
	memset(&arm, 0, sizeof(arm));
	arm.xfer.dir = EDU_FROM_DEV;
	arm.xfer.iova = a.iova;
	arm.xfer.len = HALF;
	arm.tag[PAT_OLD] = tag(PAT_OLD);
	arm.tag[PAT_JUMP] = tag(PAT_JUMP);
	arm.tag[PAT_RAW] = tag(PAT_RAW);
	if (!r3)
		ra = ioctl(edu, EDU_DMA_IOC_ARM, &arm) ? -errno : 0;
	say("data", "armed%s ret=%d stage=%d", sfx, ra, r3);
	return n == NWORDS && !ra ? 0 : -1;
}

/* The initrd of this boot (kept by retain_initrd) is the next kernel's. */
static int copy_initrd(void)
{
	static char buf[1 << 16];
	int in = open("/sys/firmware/initrd", O_RDONLY | O_CLOEXEC), out, r = 0;
	ssize_t n;

	if (in < 0)
		return -errno;
	out = open(INITRD_COPY, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
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

/* This command line with skhoe2e.k=2. */
static void next_cmdline(const char *cmdline, char *next, size_t len)
{
	char copy[2048], *p, *save;
	size_t n = 0;

	snprintf(copy, sizeof(copy), "%s", cmdline);
	copy[strcspn(copy, "\n")] = 0;
	next[0] = 0;
	for (p = strtok_r(copy, " ", &save); p; p = strtok_r(NULL, " ", &save))
		if (strncmp(p, "skhoe2e.k=", 10))
			n += snprintf(next + n, n < len ? len - n : 0, "%s ", p);
	snprintf(next + n, n < len ? len - n : 0, "skhoe2e.k=2");
}

static void kernel1(const char *cmdline)
{
	char next[2200];
	char *argv[] = { KHOCTL, "update", "--kernel", "/Image", "--initrd", INITRD_COPY,
			 "--append", next, "--device", DUT_PCI, NULL };
	char *resume[] = { KHOCTL, "update", NULL };
	pid_t pid;
	int r, rc;

	if (nodev) {	/* an update that preserves no device, on purpose */
		argv[8] = "--no-device";
		argv[9] = NULL;
	}
	if (dma_before_update())
		return;
	r = copy_initrd();
	say("data", "initrd path=%s ret=%d", INITRD_COPY, r);
	if (r || start_khod())
		return;
	ctl_capture("status_before", (const char *const[]){ "status", NULL });
	next_cmdline(cmdline, next, sizeof(next));
	say("data", "update_start cmd=\"smmu-khoctl update --kernel /Image --initrd %s "
	    "--append '%s' %s\"", INITRD_COPY, next, nodev ? "--no-device" : "--device " DUT_PCI);
	/* Progress on the console as it happens: no pipe between it and kmsg. */
	pid = spawn(argv, base_env, kmsg, kmsg);
	rc = wait_rc(pid);
	say("rc", "tag=update rc=%d", rc);
	if (rc && crash_at[0] && crash_k == 1) {
		/* The daemon died at its crash point: restart it, `update` again. */
		if (restart_after_crash("update"))
			return;
		ctl_capture("json_after_restart", (const char *const[]){ "status", "--json", NULL });
		rc = wait_rc(spawn(resume, base_env, kmsg, kmsg));
		say("rc", "tag=update_resumed rc=%d", rc);
	}
	if (rc) {
		ctl_capture("status_update_failed", (const char *const[]){ "status", NULL });
		return;
	}
	/* The jump is under way in smmu-khod's reboot(KEXEC): wait for it. */
	say("data", "waiting_for_kexec timeout_s=%d", JUMP_TIMEOUT_S);
	sleep(JUMP_TIMEOUT_S);
	say("data", "kexec_never_happened");
	ctl_capture("status_no_jump", (const char *const[]){ "status", NULL });
}

/* ---- kernel 2 ---- */

static void classify(unsigned int off, uint32_t t_new, uint32_t t_old, const char *what)
{
	uint32_t w[HALF / 4];
	int err = edu_rw(EDU_BUF_IN, 0, off, w, HALF);

	say("data", "%s%s words=%u new=%u old=%u err=%d", what, sfx, HALF / 4,
	    err ? 0 : pat_match(w, off / 4, HALF / 4, t_new),
	    err ? 0 : pat_match(w, off / 4, HALF / 4, t_old), err);
}

static void kernel2(void)
{
	const struct edu_dma_record *r;
	struct edu_dma_info info;
	struct edu_dma_xfer x;
	char names[256];
	int n, ret;

	/* Before smmu-khod runs: its state directory is a fresh tmpfs. */
	n = dir_entries(STATE_DIR, names, sizeof(names));
	say("data", "statedir_before_khod entries=%d names=%s", n, names[0] ? names : "-");
	if (ioctl(edu, EDU_DMA_IOC_INFO, &info)) {
		say("data", "record err=%d", -errno);
		return;
	}
	r = &info.in;
	say("data", "record flags=%#x in_err=%d kernel=%u iova=%#llx pa=%#llx restored=%d",
	    info.flags, info.in_err, r->kernel, (unsigned long long)r->iova,
	    (unsigned long long)r->pa, !!(info.flags & EDU_DMA_F_IN_RESTORED));
	if (start_khod() && crash_at[0] && crash_k == 2 && khod_pid < 0)
		start_khod();	/* died at its crash point during recovery */
	ctl_capture("json_after_jump", (const char *const[]){ "status", "--json", NULL });
	ctl_capture("status_after_jump", (const char *const[]){ "status", NULL });
	if (!(info.flags & EDU_DMA_F_IN_RESTORED))
		goto finish;
	/* The in-jump DMA: [0,2K) of the previous kernel's page. */
	classify(0, r->tag[PAT_JUMP], r->tag[PAT_OLD], "jump");
	if (nodev)	/* nothing preserved: no translation to try */
		goto finish;
	/* A new DMA at the old IOVA, no mapping made in this kernel: lands only
	 * if the adopted translation is still live. */
	edu_mark(EDU_MARK_RAW_BEGIN);
	ret = edu_xfer(EDU_FROM_DEV, HALF, r->iova + HALF, HALF, &x);
	edu_mark(EDU_MARK_RAW_END);
	say("data", "raw_dma iova=%#llx ret=%d done=%u", (unsigned long long)(r->iova + HALF),
	    ret, x.done);
	classify(HALF, r->tag[PAT_RAW], r->tag[PAT_OLD], "raw");
	ctl_capture("verify_after_dma", (const char *const[]){ "verify", NULL });
finish:
	if (ctl_capture("finish", (const char *const[]){ "finish", NULL }) && crash_at[0] &&
	    crash_k == 2 && !restart_after_crash("finish"))
		ctl_capture("finish_resumed", (const char *const[]){ "finish", NULL });
	ctl_capture("json_after_finish", (const char *const[]){ "status", "--json", NULL });
	ctl_capture("status_after_finish", (const char *const[]){ "status", NULL });
}

/* ---- fault scenarios (skhoe2e.mode=fault, tests/vm/e2e/guest_fault.c) ---- */

/*
 * Kernel 1: the buffers and in-jump DMAs as in kernel1(), `update --no-jump`
 * (freeze, journal, load), then skho_fault.ko armed on the scenario's
 * target, then `update` (the jump).
 */
static void fault_kernel1(const char *cmdline)
{
	char next[2200], devs[64];
	char *nojump[] = { KHOCTL, "update", "--kernel", "/Image", "--initrd", INITRD_COPY,
			   "--append", next, "--device", devs, "--no-jump", NULL };
	char *jump[] = { KHOCTL, "update", NULL };
	int i, r, rc, nd = fscn->two ? 2 : 1, si = fscn->sid != DUT_BDF;

	for (i = 0; i < nd; i++) {
		use_dev(i);
		if (dma_before_update())
			return;
	}
	use_dev(0);
	r = copy_initrd();
	say("data", "initrd path=%s ret=%d", INITRD_COPY, r);
	if (r || start_khod())
		return;
	next_cmdline(cmdline, next, sizeof(next));
	snprintf(devs, sizeof(devs), "%s%s", DUT_PCI, fscn->two ? "," DUT2_PCI : "");
	say("data", "update_start cmd=\"smmu-khoctl update --kernel /Image --initrd %s "
	    "--append '%s' --device %s --no-jump\" fault=%s dry=%d", INITRD_COPY, next, devs,
	    fscn->name, fdry);
	rc = wait_rc(spawn(nojump, base_env, kmsg, kmsg));
	say("rc", "tag=update_nojump rc=%d", rc);
	if (rc) {
		ctl_capture("status_update_failed", (const char *const[]){ "status", NULL });
		return;
	}
	if (fscn->k == 1) {
		r = fault_arm(fscn, buf_iova[si], buf_pa[si], fdry);
		say("data", "fault_armed ret=%d", r);
		if (r)
			return;
	}
	/* The racer: smmu_kho's mutating calls while the jump is under way. */
	if (fscn->race && fork() == 0)
		fault_race_jumping(DUT_PCI);
	rc = wait_rc(spawn(jump, base_env, kmsg, kmsg));
	say("rc", "tag=update rc=%d", rc);
	say("data", "waiting_for_kexec timeout_s=%d", JUMP_TIMEOUT_S);
	sleep(JUMP_TIMEOUT_S);
	say("data", "kexec_never_happened");
}

/*
 * Kernel 2: the daemon's verdict, then per device what the in-jump DMA left
 * in the restored page and a DMA at the old IOVA with no new mapping (the
 * trace must show the corrupted stream's fault, the other's translation),
 * then `verify` again.
 */
static void fault_kernel2(void)
{
	struct edu_dma_info info[2];
	struct edu_dma_xfer x;
	char names[256];
	int i, n, ret, nd = fscn->two ? 2 : 1, got[2] = { 0, 0 };

	n = dir_entries(STATE_DIR, names, sizeof(names));
	say("data", "statedir_before_khod entries=%d names=%s", n, names[0] ? names : "-");
	for (i = 0; i < nd; i++) {
		const struct edu_dma_record *r = &info[i].in;

		use_dev(i);
		if (ioctl(edu, EDU_DMA_IOC_INFO, &info[i])) {
			say("data", "record%s err=%d", sfx, -errno);
			continue;
		}
		got[i] = 1;
		say("data", "record%s flags=%#x in_err=%d kernel=%u iova=%#llx pa=%#llx restored=%d",
		    sfx, info[i].flags, info[i].in_err, r->kernel, (unsigned long long)r->iova,
		    (unsigned long long)r->pa, !!(info[i].flags & EDU_DMA_F_IN_RESTORED));
	}
	use_dev(0);
	/* Written into the adopted tables before smmu-khod verifies them. */
	if (fscn->k == 2) {
		int si = fscn->sid != DUT_BDF, r = -ENOENT;

		if (got[si])
			r = fault_arm(fscn, info[si].in.iova, info[si].in.pa, fdry);
		say("data", "fault_armed ret=%d", r);
	}
	start_khod();
	ctl_capture("json_after_jump", (const char *const[]){ "status", "--json", NULL });
	ctl_capture("status_after_jump", (const char *const[]){ "status", NULL });
	for (i = 0; i < nd; i++) {
		const struct edu_dma_record *r = &info[i].in;

		use_dev(i);
		if (!got[i] || !(info[i].flags & EDU_DMA_F_IN_RESTORED))
			continue;
		classify(0, r->tag[PAT_JUMP], r->tag[PAT_OLD], "jump");
		edu_mark(EDU_MARK_RAW_BEGIN);
		ret = edu_xfer(EDU_FROM_DEV, HALF, r->iova + HALF, HALF, &x);
		edu_mark(EDU_MARK_RAW_END);
		say("data", "raw_dma%s iova=%#llx ret=%d done=%u", sfx,
		    (unsigned long long)(r->iova + HALF), ret, x.done);
		classify(HALF, r->tag[PAT_RAW], r->tag[PAT_OLD], "raw");
	}
	use_dev(0);
	ctl_capture("verify_after_dma", (const char *const[]){ "verify", NULL });
	ctl_capture("json_after_verify", (const char *const[]){ "status", "--json", NULL });
}

int main(void)
{
	char cmdline[2048], v[32], up[64];

	mount_all();
	kmsg = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (read_file("/proc/cmdline", cmdline, sizeof(cmdline)) < 0)
		cmdline[0] = 0;
	K = (unsigned int)strtoul(cmdline_str(cmdline, "skhoe2e.k", v, sizeof(v), "1"), NULL, 0);
	cmdline_str(cmdline, "skhoe2e.mode", v, sizeof(v), "preserve");
	lose = !strcmp(v, "lose");
	nodev = !strcmp(v, "nodevice");
	if (!strcmp(v, "crash")) {
		cmdline_str(cmdline, "skhoe2e.crash", crash_at, sizeof(crash_at), "none");
		crash_k = strncmp(crash_at, "update.", 7) ? 2 : 1;
	}
	if (!strcmp(v, "fault")) {
		char fname[64];

		fscn = fault_scn_find(cmdline_str(cmdline, "skhoe2e.fault", fname, sizeof(fname), ""));
		fdry = !strcmp(cmdline_str(cmdline, "skhoe2e.dry", v, sizeof(v), "0"), "1");
		if (!fscn) {
			say("data", "fault_unknown name=%s", fname);
			power_off();
		}
	}
	if (read_file("/proc/uptime", up, sizeof(up)) < 0)
		up[0] = 0;
	up[strcspn(up, " ")] = 0;
	say("hello", "mode=%s kho_in=%d uptime=%s", mode_name(),
	    !access("/sys/kernel/debug/kho/in", F_OK), up);
	if (!load_modules()) {
		if (fscn)
			K == 1 ? fault_kernel1(cmdline) : fault_kernel2();
		else if (K == 1)
			kernel1(cmdline);
		else
			kernel2();
	}
	power_off();
	return 0;
}
