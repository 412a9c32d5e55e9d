// SPDX-License-Identifier: GPL-2.0-only
/* systemd integration of smmu-khod (libsystemd and built-in shim): notify, watchdog, fd store, socket activation. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dtest.h"
#include "journal.h"
#include "pbutil.h"
#include "state.h"

#define HAS(s, sub) ((s) && strstr((s), (sub)))
#define MAX_MSGS 256

struct msg {
	char text[600];
	int fds[4];
	int nfds;
};

struct notify {
	int fd;			/* our end of $NOTIFY_SOCKET */
	char path[300];
	struct msg msgs[MAX_MSGS];
	int n;
};

static int notify_open(struct notify *n, struct dt_env *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(n, 0, sizeof(*n));
	snprintf(n->path, sizeof(n->path), "%s/notify.sock", e->root);
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memcpy(sa.sun_path, n->path, strlen(n->path) + 1);
	if (n->fd < 0 || bind(n->fd, (struct sockaddr *)&sa, sizeof(sa)))
		return -1;
	return 0;
}

static void notify_close(struct notify *n)
{
	int i, k;

	for (i = 0; i < n->n; i++)
		for (k = 0; k < n->msgs[i].nfds; k++)
			close(n->msgs[i].fds[k]);
	if (n->fd >= 0)
		close(n->fd);
	unlink(n->path);
}

/* Receive datagrams until one contains @want (or @timeout_ms passes). */
static struct msg *notify_wait(struct notify *n, const char *want, int timeout_ms)
{
	int i;

	for (i = 0; i < n->n; i++)
		if (HAS(n->msgs[i].text, want))
			return &n->msgs[i];
	while (n->n < MAX_MSGS) {
		struct pollfd p = { .fd = n->fd, .events = POLLIN };
		union {
			struct cmsghdr h;
			char b[CMSG_SPACE(sizeof(int) * 4)];
		} ctl;
		struct msg *m = &n->msgs[n->n];
		struct iovec iov = { m->text, sizeof(m->text) - 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
				     .msg_controllen = sizeof(ctl.b) };
		struct cmsghdr *c;
		ssize_t r;

		if (poll(&p, 1, timeout_ms) <= 0)
			return NULL;
		r = recvmsg(n->fd, &mh, MSG_CMSG_CLOEXEC);
		if (r < 0)
			return NULL;
		m->text[r] = 0;
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				m->nfds = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
				memcpy(m->fds, CMSG_DATA(c), sizeof(int) * (size_t)m->nfds);
			}
		n->n++;
		if (HAS(m->text, want))
			return m;
	}
	return NULL;
}

static int notify_count(struct notify *n, const char *want)
{
	int i, c = 0;

	for (i = 0; i < n->n; i++)
		c += HAS(n->msgs[i].text, want) ? 1 : 0;
	return c;
}

/*
 * Start @bin like systemd would: $NOTIFY_SOCKET (if @n), $WATCHDOG_USEC
 * (if @wd_usec), and @nfds inherited fds from 3 on, named @names.
 */
static int spawn(struct dt_env *e, const char *bin, struct notify *n, uint64_t wd_usec,
		 const int *fds, int nfds, const char *names, const char *sock)
{
	char be[300], envbuf[64];
	pid_t pid;
	int i;

	snprintf(be, sizeof(be), "fake:%s", e->fake);
	unlink(sock ? sock : e->sock);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int logfd = open(e->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		int high[8];

		dup2(logfd, 2);
		for (i = 0; i < nfds; i++)
			high[i] = fcntl(fds[i], F_DUPFD, 100);
		for (i = 0; i < nfds; i++)
			dup2(high[i], 3 + i);		/* dup2 clears FD_CLOEXEC */
		if (n)
			setenv("NOTIFY_SOCKET", n->path, 1);
		else
			unsetenv("NOTIFY_SOCKET");
		if (wd_usec) {
			snprintf(envbuf, sizeof(envbuf), "%llu", (unsigned long long)wd_usec);
			setenv("WATCHDOG_USEC", envbuf, 1);
			snprintf(envbuf, sizeof(envbuf), "%d", (int)getpid());
			setenv("WATCHDOG_PID", envbuf, 1);
		}
		if (nfds) {
			snprintf(envbuf, sizeof(envbuf), "%d", nfds);
			setenv("LISTEN_FDS", envbuf, 1);
			snprintf(envbuf, sizeof(envbuf), "%d", (int)getpid());
			setenv("LISTEN_PID", envbuf, 1);
			setenv("LISTEN_FDNAMES", names, 1);
		}
		execl(bin, bin, "--backend", be, "--state-dir", e->state, "--socket",
		      sock ? sock : e->sock, "-v", (char *)NULL);
		_exit(127);
	}
	e->pid = pid;
	return 0;
}

/* Wait until the spawned daemon answers on its socket (exit 3 = not yet). */
static int wait_ready(struct dt_env *e)
{
	struct timespec ts = { 0, 20 * 1000000 };
	struct dt_out o;
	int i, code = 3;

	for (i = 0; i < 750 && code == 3; i++) {
		dt_ctl(e, &o, "status", NULL);
		code = o.code;
		dt_out_free(&o);
		if (code == 3)
			nanosleep(&ts, NULL);
	}
	return code == 3 ? -1 : 0;
}

static int jump_first(struct ktest *t, struct dt_env *e)
{
	struct dt_out o;

	if (dt_start(e, NULL, NULL))
		return -1;
	dt_arm(e, &o);
	dt_out_free(&o);
	dt_ctl(e, &o, "update", NULL);
	KEXPECT_EQ(t, o.code, 0);
	dt_out_free(&o);
	return dt_wait_exit(e, 10000) == -1 ? -1 : 0;
}

static void ready_only_after_recovery_and_verification(struct ktest *t, const char *bin)
{
	struct dt_env e;
	struct notify n;
	struct msg *m, *fdm;
	Skhopb__Journal *disk, *mem = NULL;
	char why[200];
	int st;

	KASSERT(t, !dt_setup(&e, NULL));
	KASSERT(t, !notify_open(&n, &e));
	if (jump_first(t, &e))
		goto out;
	KASSERT(t, !spawn(&e, bin, &n, 0, NULL, 0, NULL, NULL));
	m = notify_wait(&n, "READY=1", 20000);
	KASSERT(t, m, "no READY=1");
	/* at READY the recovery and the verification are already committed */
	disk = dt_journal(&e, why, sizeof(why));
	KEXPECT(t, disk && disk->state == SKHOD_VERIFIED, "journal at READY: %s",
		disk ? skhod_state_name(disk->state) : why);
	KEXPECT(t, HAS(m->text, "STATUS=VERIFIED: 3 of 3 streams intact, 0 lost"), "%s", m->text);
	/* no READY before that (exactly one) */
	KEXPECT_EQ(t, notify_count(&n, "READY=1"), 1);
	/* the journal memfd went to the fd store before READY and holds the
	 * same journal (it is written in place on every commit) */
	fdm = notify_wait(&n, "FDNAME=journal", 0);
	KEXPECT(t, fdm && HAS(fdm->text, "FDSTORE=1") && fdm->nfds == 1, "FDSTORE journal");
	if (fdm && fdm->nfds == 1)
		KEXPECT_EQ(t, skhod_journal_memfd_read(fdm->fds[0], &mem, why, sizeof(why)), 0);
	KEXPECT(t, mem && disk && mem->seq == disk->seq && mem->state == SKHOD_VERIFIED,
		"memfd journal seq %llu, disk %llu", mem ? (unsigned long long)mem->seq : 0ull,
		disk ? (unsigned long long)disk->seq : 0ull);
	skhod_pb_free(mem);
	skhod_pb_free(disk);
	kill(e.pid, SIGTERM);
	KEXPECT(t, notify_wait(&n, "STOPPING=1", 10000), "STOPPING=1 on SIGTERM");
	st = dt_wait_exit(&e, 10000);
	KEXPECT(t, st != -1 && WIFEXITED(st) && !WEXITSTATUS(st), "exit 0x%x", st);
out:
	if (t->failed)
		dt_dump_log(&e);
	notify_close(&n);
	dt_cleanup(&e);
}

static void status_per_phase_and_luo_session_in_fd_store(struct ktest *t, const char *bin)
{
	struct dt_env e;
	struct notify n;
	struct dt_out o;
	struct msg *m;

	KASSERT(t, !dt_setup(&e, NULL));
	KASSERT(t, !notify_open(&n, &e));
	KASSERT(t, !spawn(&e, bin, &n, 0, NULL, 0, NULL, NULL));
	KASSERT(t, notify_wait(&n, "READY=1\nSTATUS=IDLE", 20000), "READY in IDLE");
	dt_arm(&e, &o);
	dt_out_free(&o);
	KEXPECT(t, notify_wait(&n, "STATUS=ARMED", 5000), "STATUS=ARMED");
	dt_ctl(&e, &o, "update", "--no-jump", NULL);
	dt_out_free(&o);
	/* the session that preserves the journal is kept by systemd too */
	m = notify_wait(&n, "FDNAME=luo-session", 5000);
	KEXPECT(t, m && HAS(m->text, "FDSTORE=1") && m->nfds == 1, "luo-session stored");
	KEXPECT(t, notify_wait(&n, "STATUS=PRESERVED: 3 streams frozen, kernel loaded", 5000),
		"STATUS=PRESERVED");
	dt_ctl(&e, &o, "abort", NULL);
	dt_out_free(&o);
	KEXPECT(t, notify_wait(&n, "FDSTOREREMOVE=1\nFDNAME=luo-session", 5000),
		"abort drops the stored session");
	KEXPECT(t, notify_wait(&n, "STATUS=ABORTED: aborted by the operator", 5000),
		"STATUS=ABORTED");
	if (t->failed)
		dt_dump_log(&e);
	notify_close(&n);
	dt_cleanup(&e);
}

static void watchdog_pings_only_when_asked(struct ktest *t, const char *bin)
{
	struct dt_env e;
	struct notify n;
	int i;

	KASSERT(t, !dt_setup(&e, NULL));
	KASSERT(t, !notify_open(&n, &e));
	/* no WatchdogSec: no WATCHDOG=1, however long we listen */
	KASSERT(t, !spawn(&e, bin, &n, 0, NULL, 0, NULL, NULL));
	KASSERT(t, notify_wait(&n, "READY=1", 20000));
	KEXPECT(t, !notify_wait(&n, "WATCHDOG=1", 700), "pinged without a watchdog");
	dt_stop(&e);
	notify_close(&n);
	KASSERT(t, !notify_open(&n, &e));
	/* WatchdogSec=0.2s: pings every 0.1 s; three arrive well within 10 s */
	KASSERT(t, !spawn(&e, bin, &n, 200000, NULL, 0, NULL, NULL));
	for (i = 0; i < 100 && notify_count(&n, "WATCHDOG=1") < 3; i++)
		notify_wait(&n, "WATCHDOG=1\n-never-", 100);	/* just receive */
	KEXPECT(t, notify_count(&n, "WATCHDOG=1") >= 3, "%d pings",
		notify_count(&n, "WATCHDOG=1"));
	dt_stop(&e);
	notify_close(&n);
	dt_cleanup(&e);
}

static void socket_activation_serves_on_the_inherited_listener(struct ktest *t, const char *bin)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct dt_env e;
	struct dt_out o;
	char own[300];
	int lfd;

	KASSERT(t, !dt_setup(&e, NULL));
	snprintf(own, sizeof(own), "%s/not-used.sock", e.root);
	/* what smmu-khod.socket does: systemd binds and listens at e.sock */
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memcpy(sa.sun_path, e.sock, strlen(e.sock) + 1);
	KASSERT(t, lfd >= 0 && !bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) && !listen(lfd, 8));
	KASSERT(t, !spawn(&e, bin, NULL, 0, &lfd, 1, "ctl", own));
	/* the client connects before the daemon is even up: the backlog holds it */
	dt_ctl(&e, &o, "status", NULL);
	KEXPECT_EQ(t, o.code, 0);
	KEXPECT(t, HAS(o.out, "state:        IDLE"), "%s", o.out);
	dt_out_free(&o);
	KEXPECT(t, access(own, F_OK) && errno == ENOENT, "the daemon bound its own socket");
	close(lfd);
	dt_stop(&e);
	dt_cleanup(&e);
}

static void fd_store_journal_recovers_a_lost_disk_copy(struct ktest *t, const char *bin)
{
	struct dt_env e;
	struct notify n;
	struct dt_out o;
	struct msg *m;
	char p[300], *log;
	int memfd;

	KASSERT(t, !dt_setup(&e, NULL));
	KASSERT(t, !notify_open(&n, &e));
	KASSERT(t, !spawn(&e, bin, &n, 0, NULL, 0, NULL, NULL));
	m = notify_wait(&n, "FDNAME=journal", 20000);
	KASSERT(t, m && m->nfds == 1, "journal memfd stored");
	memfd = m->fds[0];
	KASSERT(t, notify_wait(&n, "READY=1", 20000));
	dt_arm(&e, &o);
	dt_out_free(&o);
	dt_kill9(&e);
	snprintf(p, sizeof(p), "%s/journal.pb", e.state);
	KASSERT(t, !unlink(p));
	/* systemd restarts the service with the stored fd */
	KASSERT(t, !spawn(&e, bin, NULL, 0, &memfd, 1, "journal", NULL));
	KASSERT(t, !wait_ready(&e), "restarted daemon never answered");
	dt_ctl(&e, &o, "status", NULL);
	KEXPECT(t, HAS(o.out, "state:        ARMED"), "%s", o.out);
	KEXPECT(t, HAS(o.out, "1 daemon restart)"), "%s", o.out);
	dt_out_free(&o);
	log = NULL;
	{
		FILE *f = fopen(e.log, "r");
		size_t cap = 0;

		if (f) {
			ssize_t r = getdelim(&log, &cap, 0, f);

			(void)r;
			fclose(f);
		}
	}
	KEXPECT(t, HAS(log, "from fd-store: ARMED"), "the journal came from the fd store");
	free(log);
	KEXPECT(t, access(p, F_OK) == 0, "disk copy rewritten");
	dt_stop(&e);
	notify_close(&n);
	dt_cleanup(&e);
}

#define BOTH(fn)								\
static void fn##_with_libsystemd(struct ktest *t) { fn(t, SKHOD_BIN); }	\
static void fn##_with_builtin_shim(struct ktest *t) { fn(t, SKHOD_NOSD_BIN); }
BOTH(ready_only_after_recovery_and_verification)
BOTH(status_per_phase_and_luo_session_in_fd_store)
BOTH(watchdog_pings_only_when_asked)
BOTH(socket_activation_serves_on_the_inherited_listener)
BOTH(fd_store_journal_recovers_a_lost_disk_copy)

KTEST_MAIN("daemon_notify",
	   KTEST_CASE(ready_only_after_recovery_and_verification_with_libsystemd),
	   KTEST_CASE(ready_only_after_recovery_and_verification_with_builtin_shim),
	   KTEST_CASE(status_per_phase_and_luo_session_in_fd_store_with_libsystemd),
	   KTEST_CASE(status_per_phase_and_luo_session_in_fd_store_with_builtin_shim),
	   KTEST_CASE(watchdog_pings_only_when_asked_with_libsystemd),
	   KTEST_CASE(watchdog_pings_only_when_asked_with_builtin_shim),
	   KTEST_CASE(socket_activation_serves_on_the_inherited_listener_with_libsystemd),
	   KTEST_CASE(socket_activation_serves_on_the_inherited_listener_with_builtin_shim),
	   KTEST_CASE(fd_store_journal_recovers_a_lost_disk_copy_with_libsystemd),
	   KTEST_CASE(fd_store_journal_recovers_a_lost_disk_copy_with_builtin_shim))
