// SPDX-License-Identifier: GPL-2.0-only
/* /init of make vfio-vm-check: the host side around the toy VMM: smmu_kho.ko, LUO kexec, release. */
/*
 * Kernel command line: vmm.k=K (this kernel's index in the chain, 1 = first
 * boot), vmm.n=N (the last kernel: N - 1 updates, default 2), vmm.keep=0
 * (negative control: smmu_kho.ko keep_bus_master=0, so PCI shutdown and
 * vfio-pci stop the device as stock 7.3 does), vmm.keep2=0 (the same in
 * kernels >= 2 only: vfio-pci's open stops it), vmm.differ=1 (the VMM of
 * kernel 2 maps one IOVA to another page: RELEASE must be refused),
 * vmm.break_ms=MS and vmm.keep_old=1 (smmu_kho.ko's test_break_ms and
 * test_keep_old_tables: the negative controls of the DMA loop and of the
 * freed page count).
 *   kernel 1: insmod smmu_kho.ko; PROBE 00:02.0 (not selectable yet: no
 *             vfio-pci, no HWPT); run "vmm start" (control pipe on fds
 *             3/4); on "ready": PROBE again (vfio-pci on an unmanaged
 *             iommufd domain, not refused: what --device vfio selects);
 *             smmu-khod runs from before the VMM to here: `smmu-khoctl
 *             plan --dry-run --device vfio` is refused before the VMM
 *             (nothing bound to vfio-pci) and selects 00:02.0 here;
 *             then the update (below).
 *   kernel k >= 2: mark the trace, check Bus Master and the adopted stream
 *             before any driver binds, insmod smmu_kho.ko, run "vmm
 *             resume"; on "adopted": (differ: RELEASE must fail EXDEV
 *             naming the IOVA, the stream stay adopted; "refused", wait
 *             for "fixed"); on "looping" (the VMM's DMA loop runs):
 *             RELEASE between two marks, "released"; on "looped": STATUS
 *             and MemFree as "status" info lines; k < N: "preserve", on
 *             "ready" the update; k = N: "finish", "done", power off.
 *   update:   PRESERVE 00:02.0, FREEZE, kexec_file_load (same Image,
 *             retained initrd, vmm.k=K+1); "fire"; on "fired":
 *             reboot(KEXEC) while the VMM still holds its fds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/reboot.h>

#include "edu_dma_uapi.h"
#include "guest.h"
#include "smmu_kho.h"
#include "vmm_util.h"

#define CTL_TIMEOUT_MS	60000
#define KHOD		"/sbin/smmu-khod"
#define KHOCTL		"/sbin/smmu-khoctl"
#define KHOD_SOCK	"/run/smmu-khod.sock"
#define KHOD_STATE	"/run/smmu-khod"

static unsigned int last_k = 2;	/* vmm.n */
static int keep_dma = 1;
static unsigned int break_ms, keep_old;
static int differ;

static int insmod_skho(void)
{
	char params[128];

	snprintf(params, sizeof(params), "keep_bus_master=%d", keep_dma);
	/* test-only parameters (CONFIG_ARM_SMMU_V3_KHO_TEST): only when asked */
	if (break_ms)
		snprintf(params + strlen(params), sizeof(params) - strlen(params),
			 " test_break_ms=%u", break_ms);
	if (keep_old)
		snprintf(params + strlen(params), sizeof(params) - strlen(params),
			 " test_keep_old_tables=1");
	return insmod("/lib/smmu_kho.ko", params);
}

/* fork+exec /vmm MODE [ARG] with its control pipe; *to / *from are init's ends. */
static pid_t spawn_vmm(const char *mode, const char *arg, int *to, int *from)
{
	int down[2], up[2];
	pid_t pid;

	if (pipe(down) || pipe(up))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(down[0], 3);
		dup2(up[1], 4);
		execl("/vmm", "vmm", mode, arg, (char *)NULL);
		_exit(127);
	}
	close(down[0]);
	close(up[1]);
	*to = down[1];
	*from = up[0];
	return pid;
}

static int expect(int fd, const char *want)
{
	char line[64];
	int ret = vmm_recv(fd, line, sizeof(line), CTL_TIMEOUT_MS);

	if (ret)
		return ret;
	return strcmp(line, want) ? -EPROTO : 0;
}

static int skho_dev(int fd, unsigned long req)
{
	struct smmu_kho_dev_arg a = { .size = sizeof(a) };

	strcpy(a.name, VMM_PCI);
	return ioctl(fd, req, &a) ? -errno : 0;
}

/*
 * PROBE of the VMM's device, reported as check @name: @vfio says whether it
 * must now be what `smmu-khoctl plan --device vfio` selects (bound to
 * vfio-pci, on an iommufd HWPT: unmanaged or nested, not refused) or not.
 */
static void probe_check(const char *name, bool vfio)
{
	struct smmu_kho_probe_arg a = { .size = sizeof(a) };
	int fd = open(SMMU_KHO_DEV, O_RDWR | O_CLOEXEC), ret;
	bool selectable;

	strcpy(a.name, VMM_PCI);
	ret = fd < 0 ? -errno : ioctl(fd, SMMU_KHO_IOC_PROBE, &a) ? -errno : 0;
	if (fd >= 0)
		close(fd);
	selectable = !strcmp(a.out_driver, "vfio-pci") && !a.out_refuse &&
		     (a.out_domain == SMMU_KHO_DOMAIN_UNMANAGED ||
		      a.out_domain == SMMU_KHO_DOMAIN_NESTED);
	vmm_check(!ret && selectable == vfio, name, "ret=%d driver=%s domain=%u refuse=%d why=%s",
		  ret, a.out_driver[0] ? a.out_driver : "none", a.out_domain, a.out_refuse,
		  a.out_why);
}

/* Run @argv with stdout (and stderr) into @out; its wait status, or -1. */
static int run_capture(char *const argv[], char *out, size_t len)
{
	size_t n = 0;
	int p[2], st = -1;
	ssize_t r;
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	while (pid > 0 && n + 1 < len && (r = read(p[0], out + n, len - n - 1)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(p[0]);
	if (pid > 0)
		waitpid(pid, &st, 0);
	return st;
}

/* smmu-khod on the real backend, as an operator runs it; its pid. */
static pid_t khod_start(void)
{
	pid_t pid;
	int i;

	mkdir("/run", 0755);
	pid = fork();
	if (pid == 0) {
		execl(KHOD, KHOD, "--state-dir", KHOD_STATE, "--socket", KHOD_SOCK, (char *)NULL);
		_exit(127);
	}
	for (i = 0; pid > 0 && i < 100 && access(KHOD_SOCK, F_OK); i++)
		usleep(100 * 1000);
	return pid;
}

static void khod_stop(pid_t pid)
{
	int st;

	if (pid > 0 && !kill(pid, SIGTERM))
		waitpid(pid, &st, 0);
}

/*
 * `smmu-khoctl plan --dry-run --device vfio`, reported as check @name.
 * @vfio: the VMM's device is attached, the plan must select it; else no
 * device is bound to vfio-pci yet and the plan must be refused (exit 2)
 * saying so.  The output goes to the serial log as info lines.
 */
static void khoctl_dry_run(const char *name, bool vfio)
{
	static char out[4096];
	char *ctl[] = { KHOCTL, "--socket", KHOD_SOCK, "plan", "--kernel", "/Image",
			"--reuse-cmdline", "--device", "vfio", "--dry-run", NULL };
	const char *want = vfio ? "selected: " VMM_PCI ": bound to vfio-pci, attached to an iommufd HWPT"
				: "--device vfio: no PCI device is bound to vfio-pci";
	char *line, *save;
	bool seen = false;
	int st;

	st = run_capture(ctl, out, sizeof(out));
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		vmm_info("smmu-khoctl: %s", line);
		seen |= !!strstr(line, want);
	}
	vmm_check(st == (vfio ? 0 : 2 << 8) && seen, name, "wait status %#x, %s: %s", st,
		  seen ? "said" : "did not say", want);
}

static int load_next_kernel(void)
{
	char next[2100];
	int ret;

	next_cmdline(vmm_cmdline(), "vmm.k", vmm_kernel + 1, next, sizeof(next));
	/* The initrd of this boot, kept by retain_initrd, is the next one's. */
	ret = copy_initrd("/initrd.img");
	return ret ? ret : kexec_load_next("/Image", "/initrd.img", next);
}

/* The update: PRESERVE, FREEZE, load the next kernel, fire the jump DMA,
 * kexec.  The VMM has said "ready" and holds its fds.  Returns on failure. */
static void update(int fd, int to, int from)
{
	struct smmu_kho_status st = { .size = sizeof(st) };
	int ret;

	ret = fd < 0 ? -EBADF : skho_dev(fd, SMMU_KHO_IOC_PRESERVE);
	ret = ret ?: ioctl(fd, SMMU_KHO_IOC_FREEZE) ? -errno : 0;
	ret = ret ?: ioctl(fd, SMMU_KHO_IOC_STATUS, &st) ? -errno : 0;
	vmm_check(!ret && st.out_state == SMMU_KHO_FROZEN && st.nr_out_streams == 1,
		  "smmu_kho_frozen", "ret=%d state=%u streams=%u bytes=%llu", ret, st.out_state,
		  st.nr_out_streams, (unsigned long long)st.out_preserved_bytes);
	vmm_info("frozen out_preserved_pages=%llu out_preserved_bytes=%llu",
		 (unsigned long long)st.out_preserved_pages,
		 (unsigned long long)st.out_preserved_bytes);
	if (ret)
		return;
	ret = load_next_kernel();
	vmm_check(!ret, "kexec_file_load", "ret=%d", ret);
	if (ret)
		return;
	vmm_send(to, "fire");
	ret = expect(from, "fired");
	vmm_check(!ret, "jump_dma_fired", "ret=%d", ret);
	if (ret)
		return;
	vmm_info("kexec");
	sync();
	reboot(LINUX_REBOOT_CMD_KEXEC);
	vmm_check(0, "kexec", "reboot(KEXEC) returned errno %d", errno);
}

static void kernel1(void)
{
	int to, from, fd, ret;
	pid_t pid, khod;

	ret = insmod_skho();
	vmm_check(!ret, "insmod_smmu_kho", "ret=%d keep_bus_master=%d", ret, keep_dma);
	probe_check("probe_not_selectable_before_vmm", false);
	khod = khod_start();
	khoctl_dry_run("khoctl_plan_dry_run_refused_before_vmm", false);
	pid = spawn_vmm("start", NULL, &to, &from);
	ret = pid < 0 ? -errno : expect(from, "ready");
	vmm_check(!ret, "vmm_ready", "ret=%d", ret);
	if (!ret) {
		probe_check("probe_vfio_hwpt_selectable", true);
		khoctl_dry_run("khoctl_plan_dry_run_selects_vmm_device", true);
	}
	khod_stop(khod);
	if (ret)
		return;
	fd = open(SMMU_KHO_DEV, O_RDWR | O_CLOEXEC);
	update(fd, to, from);
}

/* SID 0x10's record from STREAMS; 0 or -errno. */
static int stream_info(int fd, struct smmu_kho_stream_info *out)
{
	struct smmu_kho_stream_info info[8];
	struct smmu_kho_streams_arg a = { .size = sizeof(a), .nr = 8 };
	unsigned int i;

	a.info = (uintptr_t)info;
	if (ioctl(fd, SMMU_KHO_IOC_STREAMS, &a))
		return -errno;
	for (i = 0; i < a.nr && i < 8; i++)
		if (info[i].sid == VMM_SID) {
			*out = info[i];
			return 0;
		}
	return -ENOENT;
}

/* The adopted stream as the SMMU reads it (STE words 0 and 2, stream table
 * format): the checker's expected VMID/ASID, page-table and stream-table
 * page counts. */
static void print_adopted_ste(int fd)
{
	struct smmu_kho_stream_info si = { 0 };
	int ret = stream_info(fd, &si);
	uint64_t ste0, ste2;

	memcpy(&ste0, si.ste, sizeof(ste0));
	memcpy(&ste2, si.ste + 16, sizeof(ste2));
	vmm_info("adopted_ste ret=%d state=%u live=%u ste0=%#llx ste2=%#llx strtab_base=%#llx "
		 "strtab_cfg=%#x", ret, si.state, si.ste_live, (unsigned long long)ste0,
		 (unsigned long long)ste2, (unsigned long long)si.strtab_base, si.strtab_cfg);
}

/* "differ": the VMM's HWPT maps one IOVA elsewhere; RELEASE must be refused. */
static void release_refused(int fd)
{
	struct smmu_kho_status st = { .size = sizeof(st) };
	struct smmu_kho_stream_info si;
	int ret = skho_dev(fd, SMMU_KHO_IOC_RELEASE), sret;

	sret = ioctl(fd, SMMU_KHO_IOC_STATUS, &st) ? -errno : stream_info(fd, &si);
	vmm_check(ret == -EXDEV && !sret && st.release_error == -EXDEV, "release_refused_exdev",
		  "ret=%d release_error=%d", ret, st.release_error);
	vmm_info("release_why %s", st.release_why);
	vmm_check(!sret && st.in_state == SMMU_KHO_ADOPTED && st.nr_adopted == 1 &&
		  si.state == SMMU_KHO_STREAM_ADOPTED, "stream_adopted_after_refusal",
		  "ret=%d in_state=%u adopted=%u released=%u sid_state=%u", sret, st.in_state,
		  st.nr_adopted, st.nr_released, sret ? 0 : si.state);
}

/* "@key:" of /proc/meminfo in kB, or -1. */
static long meminfo_kb(const char *key)
{
	char buf[4096], *p;

	if (read_file("/proc/meminfo", buf, sizeof(buf)) < 0)
		return -1;
	p = strstr(buf, key);
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

/* Sum of the numbers after each @key in @buf. */
static long sum_after(const char *buf, const char *key)
{
	const char *p = buf;
	long n = 0;

	while ((p = strstr(p, key)))
		n += strtol(p += strlen(key), NULL, 10);
	return n;
}

static int cmp_long(const void *a, const void *b)
{
	return (*(const long *)a > *(const long *)b) - (*(const long *)a < *(const long *)b);
}

/*
 * Free memory in kB with the page cache and slab caches dropped first:
 * *@memfree MemFree; returned, the zones' free pages plus those held in
 * the per-CPU lists (not in MemFree), both from one read of
 * /proc/zoneinfo (a page moving between the two while they were read
 * apart would count twice or not at all), the median of 5 reads 20 ms
 * apart.
 */
static long free_kb(long *memfree)
{
	static char buf[65536];
	struct timespec gap = { 0, 20 * 1000000 };
	long v[5];
	int i;

	sync();
	vmm_write_file("/proc/sys/vm/drop_caches", "3");
	*memfree = meminfo_kb("MemFree:");
	for (i = 0; i < 5; i++) {
		if (i)
			nanosleep(&gap, NULL);
		if (read_file("/proc/zoneinfo", buf, sizeof(buf)) < 0)
			return -1;
		v[i] = (sum_after(buf, "pages free") + sum_after(buf, "count:")) * 4;
	}
	qsort(v, 5, sizeof(v[0]), cmp_long);
	return v[2];
}

/* The hand-back while the VMM's DMA loop runs: RELEASE between two marks. */
static void release_during_loop(int fd, int to, int from)
{
	struct smmu_kho_status st = { .size = sizeof(st) };
	int ret = expect(from, "looping");

	vmm_mark(MK_REL_BEGIN);
	ret = ret ?: skho_dev(fd, SMMU_KHO_IOC_RELEASE);
	vmm_mark(MK_REL_END);
	vmm_send(to, "released");
	ioctl(fd, SMMU_KHO_IOC_STATUS, &st);
	vmm_check(!ret && !st.release_error && st.nr_released_hitless == 1, "smmu_kho_release",
		  "ret=%d release_error=%d hitless=%u release_ns=%llu", ret, st.release_error,
		  st.nr_released_hitless, (unsigned long long)st.release_ns);
}

static void kernel_k(void)
{
	struct smmu_kho_status st = { .size = sizeof(st) };
	int to, from, fd, ret, status = -1;
	uint16_t cmd = 0;
	long memfree, free;
	pid_t pid;

	vmm_mark(MK_BOOT);
	ret = vmm_cfg_read16(0x4, &cmd);
	vmm_check(!ret && (cmd & 0x4), "bus_master_kept_at_boot", "ret=%d command=%#x", ret, cmd);
	ret = insmod_skho();
	fd = open(SMMU_KHO_DEV, O_RDWR | O_CLOEXEC);
	ret = ret ?: fd < 0 ? -errno : ioctl(fd, SMMU_KHO_IOC_STATUS, &st) ? -errno : 0;
	vmm_check(!ret && st.nr_adopted == 1 && st.nr_refused == 0, "smmu_kho_adopted",
		  "ret=%d in_streams=%u adopted=%u refused=%u in_error=%d", ret,
		  st.nr_in_streams, st.nr_adopted, st.nr_refused, st.in_error);
	if (fd >= 0)
		print_adopted_ste(fd);
	pid = spawn_vmm("resume", differ && vmm_kernel == 2 ? "differ" : NULL, &to, &from);
	ret = pid < 0 ? -errno : expect(from, "adopted");
	vmm_check(!ret, "vmm_resumed", "ret=%d", ret);
	if (!ret && fd < 0)
		ret = -EBADF;
	if (!ret && differ && vmm_kernel == 2) {
		release_refused(fd);
		vmm_send(to, "refused");
		ret = expect(from, "fixed");
	}
	if (!ret) {
		release_during_loop(fd, to, from);
		ret = expect(from, "looped");
		vmm_check(!ret, "vmm_looped", "ret=%d", ret);
	}
	if (!ret) {
		/* STATUS and MemFree at the same point of every kernel. */
		ret = ioctl(fd, SMMU_KHO_IOC_STATUS, &st) ? -errno : 0;
		free = free_kb(&memfree);
		vmm_info("status ret=%d in_adopted_pages=%llu in_kept_pages=%llu "
			 "in_freed_pages=%llu nr_asids_freed=%u nr_vmids_freed=%u "
			 "nr_released_hitless=%u release_ns=%llu memfree_kb=%ld "
			 "memtotal_kb=%ld free_pcp_kb=%ld", ret, (unsigned long long)st.in_adopted_pages,
			 (unsigned long long)st.in_kept_pages, (unsigned long long)st.in_freed_pages,
			 st.nr_asids_freed, st.nr_vmids_freed, st.nr_released_hitless,
			 (unsigned long long)st.release_ns, memfree, meminfo_kb("MemTotal:"), free);
		if (vmm_kernel < last_k) {
			vmm_send(to, "preserve");
			ret = expect(from, "ready");
			vmm_check(!ret, "vmm_ready", "ret=%d", ret);
			if (!ret)
				update(fd, to, from);
			return;	/* the update failed: power off */
		}
		vmm_send(to, "finish");
		ret = expect(from, "done");
		vmm_check(!ret, "vmm_done", "ret=%d", ret);
		/* The VMM closes its device next: an ordinary close again. */
		vmm_mark(MK_DONE);
		vmm_send(to, "close");
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	vmm_check(status == 0, "vmm_exit", "status=%#x", status);
}

int main(void)
{
	mount_basics();
	vmm_kernel = vmm_cmdline_ul("vmm.k", 1);
	last_k = vmm_cmdline_ul("vmm.n", 2);
	keep_dma = vmm_cmdline_ul("vmm.keep", 1);
	if (vmm_kernel >= 2)
		keep_dma = vmm_cmdline_ul("vmm.keep2", keep_dma);
	differ = vmm_cmdline_ul("vmm.differ", 0);
	break_ms = vmm_cmdline_ul("vmm.break_ms", 0);
	keep_old = vmm_cmdline_ul("vmm.keep_old", 0);
	vmm_info("hello keep=%d n=%u differ=%d break_ms=%u keep_old=%u", keep_dma, last_k, differ,
		 break_ms, keep_old);
	if (vmm_kernel == 1)
		kernel1();
	else
		kernel_k();
	vmm_info("bye");
	sync();
	reboot(LINUX_REBOOT_CMD_POWER_OFF);
	return 0;
}
