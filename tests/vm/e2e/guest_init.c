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
 * new mapping, `verify` again, `finish --replace`, print the status, power off.
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

#include "guest.h"
#include "guest_fault.h"

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

#define K		say_k	/* this kernel: 1 or 2 */

static int lose;		/* skhoe2e.mode=lose */
static const struct fault_scn *fscn;	/* skhoe2e.mode=fault skhoe2e.fault=NAME */
static int fdry;		/* skhoe2e.dry=1: locate the target, inject nothing */
static char crash_at[64];	/* skhoe2e.mode=crash skhoe2e.crash=POINT: SKHOD_FAULT=crash:POINT */
static unsigned int crash_k;	/* the kernel whose daemon reaches POINT: 1 (update.*) or 2 */
static int nodev;		/* skhoe2e.mode=nodevice: `update --no-device` */
static int edu = -1;		/* the device being driven: edu_fd[cur] */
static int edu_fd[2] = { -1, -1 };
static int cur;			/* 0: 00:02.0, 1: 00:03.0 */
static const char *sfx = "";	/* "" for 00:02.0, "_18" for 00:03.0 in data kinds */
static uint64_t buf_iova[2], buf_pa[2];
static pid_t khod_pid = -1;

/* ---- small helpers ---- */

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void mount_all(void)
{
	mount_basics();
	mkdir("/run", 0755);
	mkdir("/boot", 0755);
	mkdir("/var", 0755);
	mkdir("/var/lib", 0755);
	mkdir(STATE_DIR, 0700);
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

/* Drive device @i (0: 00:02.0, 1: 00:03.0) from now on. */
static void use_dev(int i)
{
	cur = i;
	edu = edu_fd[i];
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
	char params[64];
	int r1, r2, r3 = 0, e0, e1 = 0;

	r1 = insmod("/lib/smmu_kho.ko", "");
	snprintf(params, sizeof(params), "kernel=%u stage=1", K);
	/* After smmu_kho.ko: its reboot notifier runs after smmu_kho's. */
	if (fscn && K == fscn->k)
		r3 = insmod("/lib/skho_fault.ko", fscn->race ? "hold_ms=500" : "");
	r2 = insmod("/lib/edu_dma.ko", params);
	edu_fd[0] = edu_open(DUT_BDF);
	e0 = edu_fd[0] < 0 ? edu_fd[0] : 0;
	if (fscn && fscn->two) {
		edu_fd[1] = edu_open(DUT2_BDF);
		e1 = edu_fd[1] < 0 ? edu_fd[1] : 0;
	}
	use_dev(0);
	say("data", "modules smmu_kho=%d edu_dma=%d edu_open=%d smmu_kho_dev=%d skho_fault=%d edu2_open=%d",
	    r1, r2, e0, access("/dev/smmu_kho", F_OK) ? -errno : 0, r3, e1);
	return r1 || r2 || r3 || e0 || e1 ? -1 : 0;
}

/* ---- kernel 1 ---- */

/* A DMA page for the current device, a round trip, then the in-jump DMA armed. */
static int dma_before_update(void)
{
	return e2e_dma_prepare(edu, cur ? DUT2_BDF : DUT_BDF, sfx, &buf_iova[cur], &buf_pa[cur]);
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
	r = copy_initrd(INITRD_COPY);
	say("data", "initrd path=%s ret=%d", INITRD_COPY, r);
	if (r || start_khod())
		return;
	ctl_capture("status_before", (const char *const[]){ "status", NULL });
	next_cmdline(cmdline, "skhoe2e.k", 2, next, sizeof(next));
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

/* Before smmu-khod runs: its state directory is a fresh tmpfs. */
static void say_statedir(void)
{
	char names[256];
	int n = dir_entries(STATE_DIR, names, sizeof(names));

	say("data", "statedir_before_khod entries=%d names=%s", n, names[0] ? names : "-");
}

static void kernel2(void)
{
	const struct edu_dma_record *r;
	struct edu_dma_info info;

	say_statedir();
	if (e2e_dma_record(edu, "", &info))
		return;
	r = &info.in;
	if (start_khod() && crash_at[0] && crash_k == 2 && khod_pid < 0)
		start_khod();	/* died at its crash point during recovery */
	ctl_capture("json_after_jump", (const char *const[]){ "status", "--json", NULL });
	ctl_capture("status_after_jump", (const char *const[]){ "status", NULL });
	if (!(info.flags & EDU_DMA_F_IN_RESTORED))
		goto finish;
	/* The in-jump DMA: [0,2K) of the previous kernel's page. */
	e2e_dma_jump(edu, r, "");
	if (nodev)	/* nothing preserved: no translation to try */
		goto finish;
	/* A new DMA at the old IOVA, no mapping made in this kernel: lands only
	 * if the adopted translation is still live. */
	e2e_dma_raw(edu, r, "");
	ctl_capture("verify_after_dma", (const char *const[]){ "verify", NULL });
	if (!lose && !crash_at[0]) {
		/* The checked hand-back must be refused: the driver's domain does
		 * not map the adopted IOVA.  The update stays VERIFIED. */
		ctl_capture("finish_checked", (const char *const[]){ "finish", NULL });
		ctl_capture("json_after_refused_finish",
			    (const char *const[]){ "status", "--json", NULL });
	}
finish:
	/* edu_dma re-initialised the device here (new IOVAs): --replace, not hitless */
	if (ctl_capture("finish", (const char *const[]){ "finish", "--replace", NULL }) &&
	    crash_at[0] && crash_k == 2 && !restart_after_crash("finish"))
		ctl_capture("finish_resumed", (const char *const[]){ "finish", "--replace", NULL });
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
	r = copy_initrd(INITRD_COPY);
	say("data", "initrd path=%s ret=%d", INITRD_COPY, r);
	if (r || start_khod())
		return;
	next_cmdline(cmdline, "skhoe2e.k", 2, next, sizeof(next));
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
	int i, nd = fscn->two ? 2 : 1, got[2] = { 0, 0 };

	say_statedir();
	for (i = 0; i < nd; i++) {
		use_dev(i);
		got[i] = !e2e_dma_record(edu, sfx, &info[i]);
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
		use_dev(i);
		if (!got[i] || !(info[i].flags & EDU_DMA_F_IN_RESTORED))
			continue;
		e2e_dma_jump(edu, &info[i].in, sfx);
		e2e_dma_raw(edu, &info[i].in, sfx);
	}
	use_dev(0);
	ctl_capture("verify_after_dma", (const char *const[]){ "verify", NULL });
	ctl_capture("json_after_verify", (const char *const[]){ "status", "--json", NULL });
}

int main(void)
{
	char cmdline[2048], v[32], up[64];

	say_prefix = "SKHOE2E";
	mount_all();
	kmsg = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (read_file("/proc/cmdline", cmdline, sizeof(cmdline)) < 0)
		cmdline[0] = 0;
	K = cmdline_ul(cmdline, "skhoe2e.k", 1);
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
