// SPDX-License-Identifier: GPL-2.0-only
/* $SKHOD_FAULT on the real backend, for the VM runs: abort before the jump, or SIGKILL at a crash point. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake.h"
#include "log.h"

/*
 * Fault injection for the VM runs (tests/vm/e2e), linked only into the test
 * variant of smmu-khod (daemon.mk: ARM64_TEST=1, build/arm64-test):
 *  - $SKHOD_FAULT=abort-before-jump issues SMMU_KHO_IOC_ABORT at the crash
 *    point "update.before-jump", i.e. after PRESERVED is journaled and right
 *    before reboot(LINUX_REBOOT_CMD_KEXEC), so the next kernel gets no
 *    handover while the journal says every stream was preserved.
 *  - $SKHOD_FAULT=crash:<point> SIGKILLs the daemon the first time it
 *    reaches crash point <point> (docs/daemon.md lists them), as the fake
 *    backend's crash_at does; systemd (or the test) restarts it.  "First"
 *    is remembered in the marker file $SKHOD_FAULT_MARK (default
 *    /run/smmu-khod.fault-fired, created before the kill), so a restarted
 *    daemon with the same environment does not crash again in this boot.
 */
#define SKHOD_FAULT_ENV		"SKHOD_FAULT"
#define SKHOD_FAULT_ABORT_JUMP	"abort-before-jump"
#define SKHOD_FAULT_CRASH	"crash:"
#define SKHOD_FAULT_MARK_ENV	"SKHOD_FAULT_MARK"
#define SKHOD_FAULT_MARK	"/run/smmu-khod.fault-fired"

struct fault {
	struct skhod_backend *be;
	bool abort_before_jump;	/* $SKHOD_FAULT=abort-before-jump */
	char crash_at[64];	/* $SKHOD_FAULT=crash:<point>, "" if none */
};

static struct fault fault;

static void fault_crashpoint(void *arg, const char *point)
{
	struct fault *f = arg;
	struct skhod_backend *be = f->be;
	int r;

	if (f->crash_at[0] && !strcmp(point, f->crash_at)) {
		const char *mark = getenv(SKHOD_FAULT_MARK_ENV);
		int fd;

		if (!mark || !*mark)
			mark = SKHOD_FAULT_MARK;
		fd = open(mark, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			close(fd);
			log_warn("fault injection (%s=%s%s): SIGKILL", SKHOD_FAULT_ENV,
				 SKHOD_FAULT_CRASH, point);
			kill(getpid(), SIGKILL);
		}
		if (errno != EEXIST)
			log_warn("fault injection: marker %s: %s; not crashing", mark,
				 strerror(errno));
	}
	if (!f->abort_before_jump || strcmp(point, "update.before-jump"))
		return;
	r = be->ops->abort(be);
	log_warn("fault injection (%s=%s): SMMU_KHO_IOC_ABORT before the jump: %s",
		 SKHOD_FAULT_ENV, SKHOD_FAULT_ABORT_JUMP, r ? be->err : "nothing is preserved now");
	be->err[0] = 0;
}

void skhod_fault_arm(struct skhod_backend *be)
{
	const char *env = getenv(SKHOD_FAULT_ENV);
	const char *what = "unknown fault, ignored";
	size_t cl = strlen(SKHOD_FAULT_CRASH);

	if (!env || !*env)
		return;
	memset(&fault, 0, sizeof(fault));
	fault.be = be;
	if (!strcmp(env, SKHOD_FAULT_ABORT_JUMP)) {
		fault.abort_before_jump = true;
		what = "test-only fault injection armed: the next update will lose its handover";
	} else if (!strncmp(env, SKHOD_FAULT_CRASH, cl) && env[cl] &&
		   strlen(env + cl) < sizeof(fault.crash_at)) {
		snprintf(fault.crash_at, sizeof(fault.crash_at), "%s", env + cl);
		what = "test-only fault injection armed: the daemon kills itself (SIGKILL) at that crash point";
	}
	log_warn("%s=%s: %s", SKHOD_FAULT_ENV, env, what);
	if (fault.abort_before_jump || fault.crash_at[0])
		skhod_test_crash_hook_set(fault_crashpoint, &fault);
}
