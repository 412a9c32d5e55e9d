// SPDX-License-Identifier: GPL-2.0-only
/* Control-socket robustness: malformed, oversize, truncated, stalled and random frames. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl_server.h"
#include "dtest.h"
#include "frame.h"
#include "pbutil.h"

static int conn(struct dt_env *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memcpy(sa.sun_path, e->sock, strlen(e->sock) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int send_raw(int fd, const void *p, size_t len)
{
	return send(fd, p, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

static int send_frame_bytes(int fd, const void *p, uint32_t len)
{
	uint8_t h[4];

	skhod_frame_hdr(h, len);
	return send_raw(fd, h, 4) || (len && send_raw(fd, p, len)) ? -1 : 0;
}

/* Next frame as a Response (NULL on EOF/timeout/garbage). */
static Skhopb__Response *recv_resp(int fd, int timeout_ms)
{
	uint8_t *buf;
	size_t len;
	Skhopb__Response *r;

	if (skhod_frame_recv(fd, &buf, &len, timeout_ms))
		return NULL;
	r = skhopb__response__unpack(NULL, len, buf);
	free(buf);
	return r;
}

static int send_status(int fd, uint32_t version)
{
	Skhopb__Request req = SKHOPB__REQUEST__INIT;
	Skhopb__StatusRequest st = SKHOPB__STATUS_REQUEST__INIT;

	req.version = version;
	req.op_case = SKHOPB__REQUEST__OP_STATUS;
	req.status = &st;
	return skhod_frame_send(fd, &req.base);
}

/* A fresh status round trip works: the daemon is alive and serving. */
static bool alive(struct dt_env *e)
{
	Skhopb__Request req = SKHOPB__REQUEST__INIT;
	Skhopb__StatusRequest st = SKHOPB__STATUS_REQUEST__INIT;
	Skhopb__Response *r;
	bool ok;

	req.op_case = SKHOPB__REQUEST__OP_STATUS;
	req.status = &st;
	r = dt_request(e, &req);
	ok = r && r->code == SKHOPB__RESULT_CODE__RC_OK && r->status;
	skhod_pb_free(r);
	return ok && e->pid && waitpid(e->pid, NULL, WNOHANG) == 0;
}

static int start(struct ktest *t, struct dt_env *e)
{
	if (dt_setup(e, NULL) || dt_start(e, NULL, NULL)) {
		ktest_fail(t, __FILE__, __LINE__, "daemon did not start");
		return -1;
	}
	return 0;
}

static void malformed_payload_gets_protocol_error_and_stays_usable(struct ktest *t)
{
	static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };	/* bad varint */
	struct dt_env e;
	Skhopb__Response *r;
	int fd;

	if (start(t, &e))
		goto out;
	fd = conn(&e);
	KASSERT(t, fd >= 0);
	KEXPECT(t, !send_frame_bytes(fd, junk, sizeof(junk)), "send");
	r = recv_resp(fd, 10000);
	KEXPECT(t, r && r->final && r->code == SKHOPB__RESULT_CODE__RC_PROTOCOL,
		"reply %d", r ? (int)r->code : -1);
	KEXPECT(t, r && strstr(r->hint, "smmu-khoctl"), "a hint says what to use");
	skhod_pb_free(r);
	/* framing is intact: the same connection serves the next request */
	KEXPECT(t, !send_status(fd, 1), "send");
	r = recv_resp(fd, 10000);
	KEXPECT(t, r && r->code == SKHOPB__RESULT_CODE__RC_OK, "status after junk");
	skhod_pb_free(r);
	close(fd);
	KEXPECT(t, alive(&e), "daemon alive");
out:
	dt_cleanup(&e);
}

static void oversize_length_gets_too_large_then_close(struct ktest *t)
{
	struct dt_env e;
	Skhopb__Response *r;
	uint8_t h[4];
	int fd;

	if (start(t, &e))
		goto out;
	fd = conn(&e);
	KASSERT(t, fd >= 0);
	skhod_frame_hdr(h, SKHOD_FRAME_MAX + 1);	/* one byte over 64 KiB */
	KEXPECT(t, !send_raw(fd, h, 4), "send");
	r = recv_resp(fd, 10000);
	KEXPECT(t, r && r->code == SKHOPB__RESULT_CODE__RC_TOO_LARGE, "reply %d",
		r ? (int)r->code : -1);
	skhod_pb_free(r);
	r = recv_resp(fd, 10000);
	KEXPECT(t, !r, "the daemon must close: the framing is lost");
	skhod_pb_free(r);
	close(fd);
	fd = conn(&e);
	skhod_frame_hdr(h, 0xffffffffu);	/* 4 GiB */
	KEXPECT(t, fd >= 0 && !send_raw(fd, h, 4), "send");
	r = recv_resp(fd, 10000);
	KEXPECT(t, r && r->code == SKHOPB__RESULT_CODE__RC_TOO_LARGE, "4 GiB frame");
	skhod_pb_free(r);
	close(fd);
	KEXPECT(t, alive(&e), "daemon alive");
out:
	dt_cleanup(&e);
}

static void frame_of_exactly_64k_is_accepted(struct ktest *t)
{
	Skhopb__Request req = SKHOPB__REQUEST__INIT;
	Skhopb__StatusRequest st = SKHOPB__STATUS_REQUEST__INIT;
	struct dt_env e;
	Skhopb__Response *r;
	uint8_t *buf;
	size_t base, pad, i;
	int fd;

	if (start(t, &e))
		goto out;
	req.version = 1;
	req.op_case = SKHOPB__REQUEST__OP_STATUS;
	req.status = &st;
	base = skhopb__request__get_packed_size(&req);
	buf = calloc(1, SKHOD_FRAME_MAX);
	skhopb__request__pack(&req, buf);
	/* pad with an unknown bytes field 100 (tag 0xa2 0x06, length 3 bytes
	 * varint) so the frame is exactly SKHOD_FRAME_MAX: unknown fields are
	 * tolerated, as the format promises */
	pad = SKHOD_FRAME_MAX - base - 2 - 3;
	buf[base] = 0xa2;
	buf[base + 1] = 0x06;
	buf[base + 2] = (uint8_t)(0x80 | (pad & 0x7f));
	buf[base + 3] = (uint8_t)(0x80 | ((pad >> 7) & 0x7f));
	buf[base + 4] = (uint8_t)(pad >> 14);
	for (i = base + 5; i < SKHOD_FRAME_MAX; i++)
		buf[i] = 'p';
	fd = conn(&e);
	KEXPECT(t, fd >= 0 && !send_frame_bytes(fd, buf, SKHOD_FRAME_MAX), "send");
	r = recv_resp(fd, 10000);
	KEXPECT(t, r && r->code == SKHOPB__RESULT_CODE__RC_OK, "64 KiB request: %d",
		r ? (int)r->code : -1);
	skhod_pb_free(r);
	free(buf);
	close(fd);
out:
	dt_cleanup(&e);
}

static void truncated_frames_and_abrupt_closes_are_harmless(struct ktest *t)
{
	struct dt_env e;
	uint8_t h[4];
	int fd, i;

	if (start(t, &e))
		goto out;
	for (i = 0; i < 3; i++) {
		fd = conn(&e);
		KASSERT(t, fd >= 0);
		skhod_frame_hdr(h, 100);
		if (i == 0)
			send_raw(fd, h, 2);		/* half a header */
		else if (i == 1)
			send_raw(fd, h, 4);		/* header, no payload */
		else
			KEXPECT(t, !send_frame_bytes(fd, "0123456789", 10) && !send_raw(fd, h, 4) &&
				!send_raw(fd, "abc", 3), "send");	/* bad frame, then a partial one */
		close(fd);
	}
	KEXPECT(t, alive(&e), "daemon alive after truncated frames");
out:
	dt_cleanup(&e);
}

static void stalled_partial_frame_does_not_block_other_clients(struct ktest *t)
{
	struct dt_env e;
	uint8_t h[4];
	int fd;

	if (start(t, &e))
		goto out;
	fd = conn(&e);
	KASSERT(t, fd >= 0);
	skhod_frame_hdr(h, 50);
	KEXPECT(t, !send_raw(fd, h, 4) && !send_raw(fd, "xx", 2), "send");
	/* the stalled peer holds no lock on the daemon */
	KEXPECT(t, alive(&e), "status while another frame is pending");
	close(fd);
out:
	dt_cleanup(&e);
}

static void empty_frame_and_unknown_version_are_refused(struct ktest *t)
{
	struct dt_env e;
	Skhopb__Response *r;
	int fd;

	if (start(t, &e))
		goto out;
	fd = conn(&e);
	KASSERT(t, fd >= 0);
	KEXPECT(t, !send_frame_bytes(fd, NULL, 0), "send");
	r = recv_resp(fd, 10000);
	/* zero bytes decode to a Request without operation (and version 0) */
	KEXPECT(t, r && r->code == SKHOPB__RESULT_CODE__RC_PROTOCOL, "empty frame: %d",
		r ? (int)r->code : -1);
	skhod_pb_free(r);
	KEXPECT(t, !send_status(fd, 7), "send");
	r = recv_resp(fd, 10000);
	KEXPECT(t, r && r->code == SKHOPB__RESULT_CODE__RC_PROTOCOL &&
		strstr(r->error, "version 7"), "version 7");
	skhod_pb_free(r);
	close(fd);
	{
		Skhopb__Request req = SKHOPB__REQUEST__INIT;

		req.version = 1;	/* right version, no operation */
		r = dt_request(&e, &req);
		KEXPECT(t, r && r->code == SKHOPB__RESULT_CODE__RC_BAD_REQUEST, "no op");
		skhod_pb_free(r);
	}
out:
	dt_cleanup(&e);
}

static void non_root_peer_is_refused(struct ktest *t)
{
	struct dt_env e;
	pid_t pid;
	int st;

	if (geteuid() != 0) {
		ktest_diag("not root: cannot switch to another uid, nothing to check");
		return;
	}
	if (start(t, &e))
		goto out;
	/* the socket is 0600: open it up so only SO_PEERCRED stands in the way */
	KASSERT(t, !chmod(e.sock, 0666) && !chmod(e.root, 0755));
	pid = fork();
	if (pid == 0) {
		Skhopb__Response *r;
		int fd;

		if (setgid(65534) || setuid(65534))
			_exit(10);
		fd = conn(&e);
		if (fd < 0)
			_exit(11);
		r = recv_resp(fd, 10000);	/* refused on accept, before any request */
		_exit(r && r->code == SKHOPB__RESULT_CODE__RC_PERMISSION ? 0 : 12);
	}
	waitpid(pid, &st, 0);
	KEXPECT(t, WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status 0x%x", st);
	KEXPECT(t, alive(&e), "daemon alive");
out:
	dt_cleanup(&e);
}

static void connections_beyond_the_limit_get_busy_not_fatal(struct ktest *t)
{
	struct dt_env e;
	int fds[SKHOD_CTL_MAX_CONNS + 4], i, refused = 0;

	if (start(t, &e))
		goto out;
	for (i = 0; i < SKHOD_CTL_MAX_CONNS + 4; i++) {
		fds[i] = conn(&e);
		if (fds[i] >= 0)
			send_raw(fds[i], "\0", 1);	/* a pending frame each */
	}
	for (i = 0; i < SKHOD_CTL_MAX_CONNS + 4; i++) {
		Skhopb__Response *r = fds[i] >= 0 ? recv_resp(fds[i], 50) : NULL;

		refused += r && r->code == SKHOPB__RESULT_CODE__RC_BUSY &&
			   strstr(r->error, "too many");
		skhod_pb_free(r);
	}
	/* root may take all 32 slots (the reserved one too); the last 4 get RC_BUSY */
	KEXPECT_EQ(t, refused, 4);
	for (i = 0; i < SKHOD_CTL_MAX_CONNS + 4; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	KEXPECT(t, alive(&e), "daemon alive");
out:
	dt_cleanup(&e);
}

/* Open @n connections that send nothing; returns how many were opened. */
static int open_idle(struct dt_env *e, int *fds, int n)
{
	int i, got = 0;

	for (i = 0; i < n; i++) {
		fds[i] = conn(e);
		got += fds[i] >= 0;
	}
	return got;
}

static void close_all(int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void idle_connections_are_closed_before_their_first_frame(struct ktest *t)
{
	struct dt_env e;
	int fds[SKHOD_CTL_MAX_CONNS], i, closed = 0;
	uint64_t end;

	setenv("SKHOD_CTL_IDLE_TIMEOUT_MS", "400", 1);
	if (start(t, &e))
		goto out;
	/* every slot held by a peer that never sends a byte */
	KEXPECT_EQ(t, open_idle(&e, fds, SKHOD_CTL_MAX_CONNS), SKHOD_CTL_MAX_CONNS);
	/* 400 ms idle timeout; 5 s in all is ample even under ASan on a busy box */
	end = now_ms() + 5000;
	for (i = 0; i < SKHOD_CTL_MAX_CONNS; i++) {
		struct pollfd p = { .fd = fds[i], .events = POLLIN };
		uint64_t now = now_ms();
		uint8_t b;

		if (fds[i] >= 0 && poll(&p, 1, now < end ? (int)(end - now) : 0) == 1 &&
		    recv(fds[i], &b, 1, 0) == 0)
			closed++;
	}
	/* all 32: no idle peer may keep its slot */
	KEXPECT_EQ(t, closed, SKHOD_CTL_MAX_CONNS);
	close_all(fds, SKHOD_CTL_MAX_CONNS);
	KEXPECT(t, alive(&e), "status served once the idle peers are gone");
out:
	unsetenv("SKHOD_CTL_IDLE_TIMEOUT_MS");
	if (t->failed)
		dt_dump_log(&e);
	dt_cleanup(&e);
}

static void ctl_reports_busy_with_exit_8_when_every_slot_is_taken(struct ktest *t)
{
	static const char *const plain[] = { "status", NULL };
	static const char *const json[] = { "status", "--json", NULL };
	const char *const *runs[] = { plain, json };
	struct dt_env e;
	struct dt_out o;
	int fds[SKHOD_CTL_MAX_CONNS], i;

	setenv("SKHOD_CTL_IDLE_TIMEOUT_MS", "60000", 1);	/* the slots stay taken */
	if (start(t, &e))
		goto out;
	KEXPECT_EQ(t, open_idle(&e, fds, SKHOD_CTL_MAX_CONNS), SKHOD_CTL_MAX_CONNS);
	KEXPECT(t, !alive(&e), "a 33rd client must not be served");
	for (i = 0; i < 2; i++) {
		dt_ctlv(&e, &o, runs[i]);
		/* 8 = daemon busy (docs/operator-guide.md); never a bare "Broken pipe" */
		KEXPECT(t, o.code == 8, "%s: exit %d", runs[i][1] ? "--json" : "plain", o.code);
		KEXPECT(t, o.err && strstr(o.err, "busy") && strstr(o.err, "too many") &&
			!strstr(o.err, "Broken pipe"), "stderr: %s", o.err);
		dt_out_free(&o);
	}
	close_all(fds, SKHOD_CTL_MAX_CONNS);
out:
	unsetenv("SKHOD_CTL_IDLE_TIMEOUT_MS");
	dt_cleanup(&e);
}

static void request_sent_during_a_long_operation_is_served_not_timed_out(struct ktest *t)
{
	static const char *const extra[] = { "--probe-cmd", "sleep 1", "--no-auto-verify", NULL };
	Skhopb__Request req = SKHOPB__REQUEST__INIT;
	Skhopb__VerifyRequest v = SKHOPB__VERIFY_REQUEST__INIT;
	struct dt_env e;
	struct dt_out o;
	Skhopb__Response *r;
	int a = -1, b = -1;

	setenv("SKHOD_CTL_IDLE_TIMEOUT_MS", "1000", 1);
	KASSERT(t, !dt_setup(&e, NULL));
	if (dt_start(&e, extra, NULL))
		goto fail;
	dt_arm(&e, &o);
	dt_out_free(&o);
	dt_ctl(&e, &o, "update", NULL);
	dt_out_free(&o);
	if (dt_wait_exit(&e, 10000) == -1 || dt_start(&e, extra, NULL))
		goto fail;
	/* A in slot 0, B in slot 1, both accepted and idle */
	a = conn(&e);
	usleep(200 * 1000);
	b = conn(&e);
	usleep(200 * 1000);
	/* A's verify --probe keeps the daemon busy for 3 s (3 streams x sleep 1) */
	req.version = 1;
	req.op_case = SKHOPB__REQUEST__OP_VERIFY;
	v.probe = true;
	req.verify = &v;
	KEXPECT(t, a >= 0 && !skhod_frame_send(a, &req.base), "send verify");
	usleep(300 * 1000);
	/* B's request arrives while the daemon is busy, before B's 1 s idle deadline */
	KEXPECT(t, b >= 0 && !send_status(b, 1), "send status");
	r = recv_resp(b, 15000);
	KEXPECT(t, r && r->code == SKHOPB__RESULT_CODE__RC_OK && r->status,
		"B must be served, not closed as idle: %s", r ? r->error : "connection closed");
	skhod_pb_free(r);
	do {
		r = recv_resp(a, 15000);
		if (r && r->final)
			break;
		skhod_pb_free(r);
	} while (r);
	KEXPECT(t, r && r->verification, "A's verify answered");
	skhod_pb_free(r);
	goto out;
fail:
	ktest_fail(t, __FILE__, __LINE__, "could not reach RECOVERED");
out:
	if (a >= 0)
		close(a);
	if (b >= 0)
		close(b);
	unsetenv("SKHOD_CTL_IDLE_TIMEOUT_MS");
	if (t->failed)
		dt_dump_log(&e);
	dt_cleanup(&e);
}

/* A wrapper that runs smmu-khod as uid/gid 65534, so that uid 65534 is "own uid". */
static int as_nobody(struct ktest *t, struct dt_env *e, char *wrapper, size_t len)
{
	char cmd[600];
	FILE *f;

	snprintf(wrapper, len, "%s/khod-as-nobody", e->root);
	f = fopen(wrapper, "we");
	KEXPECT(t, f, "wrapper");
	if (!f)
		return -1;
	fprintf(f, "#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups %s \"$@\"\n",
		SKHOD_BIN);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "chmod 755 %s && chown -R 65534:65534 %s", wrapper, e->root);
	return system(cmd) ? -1 : 0;
}

static void root_gets_the_reserved_slot_when_own_uid_clients_fill_the_rest(struct ktest *t)
{
	struct dt_env e;
	char wrapper[300];
	int pfd[2], held = -1, busy = -1, st;
	pid_t pid;

	if (geteuid() != 0) {
		ktest_diag("not root: cannot run the daemon as another uid, nothing to check");
		return;
	}
	KASSERT(t, !dt_setup(&e, NULL));
	if (as_nobody(t, &e, wrapper, sizeof(wrapper)))
		goto out;
	e.bin = wrapper;
	if (dt_start(&e, NULL, NULL)) {
		ktest_fail(t, __FILE__, __LINE__, "daemon as uid 65534 did not start");
		goto out;
	}
	KASSERT(t, !pipe(pfd));
	pid = fork();
	if (pid == 0) {
		int fds[SKHOD_CTL_MAX_CONNS], i, h = 0, b = 0, res[2];

		close(pfd[0]);
		if (setgid(65534) || setuid(65534))
			_exit(10);
		/* own-uid peers try all 32 slots and hold what they get */
		for (i = 0; i < SKHOD_CTL_MAX_CONNS; i++)
			fds[i] = conn(&e);
		/* accepted in order: the last one is refused, if any; wait for it first */
		for (i = SKHOD_CTL_MAX_CONNS - 1; i >= 0; i--) {
			Skhopb__Response *r = fds[i] >= 0 ?
				recv_resp(fds[i], i == SKHOD_CTL_MAX_CONNS - 1 ? 5000 : 0) : NULL;

			if (r && r->code == SKHOPB__RESULT_CODE__RC_BUSY)
				b++;
			else if (fds[i] >= 0 && !r)
				h++;
			skhod_pb_free(r);
		}
		res[0] = h;
		res[1] = b;
		if (write(pfd[1], res, sizeof(res)) != sizeof(res))
			_exit(11);
		pause();	/* hold them until the parent has checked root's access */
		_exit(0);
	}
	close(pfd[1]);
	{
		int res[2];

		if (read(pfd[0], res, sizeof(res)) == sizeof(res)) {
			held = res[0];
			busy = res[1];
		}
	}
	/* 31 general slots; the 32nd is root's */
	KEXPECT_EQ(t, held, SKHOD_CTL_MAX_CONNS - 1);
	KEXPECT_EQ(t, busy, 1);
	KEXPECT(t, alive(&e), "root is served while uid 65534 holds 31 idle connections");
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	close(pfd[0]);
out:
	if (t->failed)
		dt_dump_log(&e);
	dt_cleanup(&e);
}

/* Run smmu-khod with @sock as its socket; wait status once it exits, -1 if it runs on. */
static int start_on(struct dt_env *e, const char *sock)
{
	char be[300];
	pid_t pid;
	int i, st;

	snprintf(be, sizeof(be), "fake:%s", e->fake);
	pid = fork();
	if (pid == 0) {
		int fd = open(e->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		if (fd >= 0)
			dup2(fd, 2);
		execl(SKHOD_BIN, SKHOD_BIN, "--backend", be, "--state-dir", e->state,
		      "--socket", sock, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 1000; i++) {	/* 10 s */
		if (waitpid(pid, &st, WNOHANG) == pid)
			return st;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static char *slurp(const char *p)
{
	static char buf[8192];
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	buf[0] = 0;
	if (fd < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	close(fd);
	return buf;
}

static void socket_path_holding_a_non_socket_is_refused_and_kept(struct ktest *t)
{
	struct dt_env e;
	char file[300], link[300], target[300];
	struct stat sb;
	int st;

	KASSERT(t, !dt_setup(&e, NULL));
	/* a regular file with content */
	snprintf(file, sizeof(file), "%s/not-a-socket", e.root);
	{
		FILE *f = fopen(file, "we");

		KASSERT(t, f && fputs("precious\n", f) >= 0 && !fclose(f));
	}
	st = start_on(&e, file);
	KEXPECT(t, st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1, "status 0x%x", st);
	KEXPECT(t, !lstat(file, &sb) && S_ISREG(sb.st_mode) && sb.st_size == 9,
		"the file must survive");
	KEXPECT(t, strstr(slurp(e.log), "not a socket"), "log names the cause");
	/* a symlink (to a file): neither it nor its target is touched */
	snprintf(link, sizeof(link), "%s/link.sock", e.root);
	snprintf(target, sizeof(target), "%s/vmlinuz", e.root);
	KASSERT(t, !symlink(target, link));
	st = start_on(&e, link);
	KEXPECT(t, st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1, "status 0x%x", st);
	KEXPECT(t, !lstat(link, &sb) && S_ISLNK(sb.st_mode), "the link must survive");
	KEXPECT(t, !stat(target, &sb) && S_ISREG(sb.st_mode), "its target too");
	if (t->failed)
		dt_dump_log(&e);
	dt_cleanup(&e);
}

static void stale_socket_at_the_path_is_replaced(struct ktest *t)
{
	struct dt_env e;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	KASSERT(t, !dt_setup(&e, NULL));
	/* a socket nobody listens on any more (a killed daemon's) */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memcpy(sa.sun_path, e.sock, strlen(e.sock) + 1);
	KASSERT(t, fd >= 0 && !bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
	close(fd);
	/* dt_start would unlink it itself: start the daemon by hand */
	e.pid = fork();
	if (e.pid == 0) {
		char be[300];
		int lfd = open(e.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		if (lfd >= 0)
			dup2(lfd, 2);
		snprintf(be, sizeof(be), "fake:%s", e.fake);
		execl(SKHOD_BIN, SKHOD_BIN, "--backend", be, "--state-dir", e.state,
		      "--socket", e.sock, (char *)NULL);
		_exit(127);
	}
	for (fd = 0; fd < 1500 && !alive(&e); fd++)
		usleep(10000);
	KEXPECT(t, alive(&e), "the stale socket was replaced and the daemon serves");
	dt_cleanup(&e);
}

/*
 * A dry-run arm whose kernel path (@kernel) or single device (!@kernel)
 * carries "\0junk" after a valid value: the wire bytes of "#junk" get a NUL.
 */
static Skhopb__Response *arm_with_nul(struct dt_env *e, bool kernel)
{
	Skhopb__Request req = SKHOPB__REQUEST__INIT;
	Skhopb__ArmRequest arm = SKHOPB__ARM_REQUEST__INIT;
	Skhopb__Plan plan = SKHOPB__PLAN__INIT;
	char kpath[300], dev[32], *devs[1] = { dev };
	Skhopb__Response *r = NULL;
	uint8_t buf[2048];
	size_t len, i;
	int fd;

	snprintf(kpath, sizeof(kpath), "%s%s", e->kernel, kernel ? "#junk" : "");
	snprintf(dev, sizeof(dev), "%s%s", DT_DEV_A, kernel ? "" : "#junk");
	plan.kernel = kpath;
	plan.reuse_cmdline = true;
	plan.n_devices = 1;
	plan.devices = devs;
	arm.plan = &plan;
	arm.dry_run = true;
	req.version = 1;
	req.op_case = SKHOPB__REQUEST__OP_ARM;
	req.arm = &arm;
	len = skhopb__request__pack(&req, buf);
	for (i = 0; i + 5 <= len; i++)
		if (!memcmp(buf + i, "#junk", 5))
			buf[i] = 0;
	fd = conn(e);
	if (fd >= 0 && !send_frame_bytes(fd, buf, (uint32_t)len))
		r = recv_resp(fd, 10000);
	if (fd >= 0)
		close(fd);
	return r;
}

static void strings_with_an_embedded_nul_are_refused_naming_the_field(struct ktest *t)
{
	struct dt_env e;
	Skhopb__Response *r;

	if (start(t, &e))
		goto out;
	r = arm_with_nul(&e, true);
	KEXPECT(t, r && r->code == SKHOPB__RESULT_CODE__RC_BAD_REQUEST &&
		strstr(r->error, "arm.plan.kernel") && strstr(r->error, "NUL"),
		"kernel: %d %s", r ? (int)r->code : -1, r ? r->error : "no reply");
	skhod_pb_free(r);
	r = arm_with_nul(&e, false);
	KEXPECT(t, r && r->code == SKHOPB__RESULT_CODE__RC_BAD_REQUEST &&
		strstr(r->error, "arm.plan.devices") && strstr(r->error, "NUL"),
		"device: %d %s", r ? (int)r->code : -1, r ? r->error : "no reply");
	skhod_pb_free(r);
	KEXPECT(t, alive(&e), "daemon alive");
out:
	dt_cleanup(&e);
}

static void nul_walker_names_nested_fields_and_skips_unknown_ones(struct ktest *t)
{
	/* abort{reason="a\0b"}: field 6 (abort), length 5, field 1 (reason), length 3 */
	static const uint8_t reason[] = { 0x08, 0x01, 0x32, 0x05, 0x0a, 0x03, 'a', 0, 'b' };
	/* unknown field 100 (bytes) holding a NUL, then a clean abort{reason="ab"} */
	static const uint8_t unknown[] = { 0xa2, 0x06, 0x02, 'x', 0, 0x32, 0x04, 0x0a, 0x02,
					   'a', 'b' };
	/* a length running past the end */
	static const uint8_t cut[] = { 0x32, 0x09, 0x0a, 0x03, 'a' };
	const ProtobufCMessageDescriptor *d = &skhopb__request__descriptor;
	char path[64], tiny[4];

	KEXPECT_EQ(t, skhod_pb_find_nul(d, reason, sizeof(reason), path, sizeof(path)), 1);
	KEXPECT(t, !strcmp(path, "abort.reason"), "path %s", path);
	/* unknown fields are kept as bytes, not strings: no complaint */
	KEXPECT_EQ(t, skhod_pb_find_nul(d, unknown, sizeof(unknown), path, sizeof(path)), 0);
	KEXPECT_EQ(t, skhod_pb_find_nul(d, cut, sizeof(cut), path, sizeof(path)), -EBADMSG);
	/* a path buffer too small is cut, never overrun */
	KEXPECT_EQ(t, skhod_pb_find_nul(d, reason, sizeof(reason), tiny, sizeof(tiny)), 1);
	KEXPECT(t, strlen(tiny) < sizeof(tiny), "tiny %s", tiny);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void random_frames_never_crash_the_daemon(struct ktest *t)
{
	Skhopb__Request req = SKHOPB__REQUEST__INIT;
	Skhopb__AbortRequest ab = SKHOPB__ABORT_REQUEST__INIT;
	struct dt_env e;
	uint64_t s = t->seed | 1;
	uint8_t valid[64], buf[600];
	size_t vlen;
	int i, replies = 0;

	if (start(t, &e))
		goto out;
	/* even a request mutated into a real "update" must not kexec us away */
	dt_write(&e, "faults", "fail jump\n");
	req.version = 1;
	req.op_case = SKHOPB__REQUEST__OP_ABORT;
	ab.reason = "fuzz";
	req.abort = &ab;
	vlen = skhopb__request__pack(&req, valid);
	for (i = 0; i < 400; i++) {
		uint32_t len = (uint32_t)(rnd(&s) % sizeof(buf)), k;
		int fd = conn(&e), mode = (int)(rnd(&s) % 4);
		Skhopb__Response *r;
		uint8_t h[4];

		if (fd < 0) {
			ktest_fail(t, __FILE__, __LINE__, "connect failed at iteration %d", i);
			break;
		}
		if (mode == 0) {		/* random bytes */
			for (k = 0; k < len; k++)
				buf[k] = (uint8_t)rnd(&s);
		} else if (mode == 1) {		/* a valid request with flipped bytes */
			len = (uint32_t)vlen;
			memcpy(buf, valid, vlen);
			for (k = 0; k < 3; k++)
				buf[rnd(&s) % vlen] ^= (uint8_t)(1u << (rnd(&s) % 8));
		} else if (mode == 2) {		/* header lies about the length */
			for (k = 0; k < len; k++)
				buf[k] = (uint8_t)rnd(&s);
			skhod_frame_hdr(h, len + 1 + (uint32_t)(rnd(&s) % 100));
			send_raw(fd, h, 4);
			send_raw(fd, buf, len);
			close(fd);
			continue;
		} else {			/* random header, random tail */
			uint32_t raw = (uint32_t)rnd(&s);

			memcpy(h, &raw, 4);
			send_raw(fd, h, 4);
			send_raw(fd, buf, len % 16);
			close(fd);
			continue;
		}
		send_frame_bytes(fd, buf, len);
		r = recv_resp(fd, 10000);
		replies += r != NULL;	/* every whole frame gets an answer */
		if (!r)
			ktest_fail(t, __FILE__, __LINE__, "no reply at iteration %d (mode %d)",
				   i, mode);
		skhod_pb_free(r);
		close(fd);
		if (i % 50 == 49 && !alive(&e)) {
			ktest_fail(t, __FILE__, __LINE__, "daemon died at iteration %d", i);
			break;
		}
		if (t->failed > 4)
			break;
	}
	ktest_diag("%d whole frames answered", replies);
	KEXPECT(t, alive(&e), "daemon alive after fuzzing");
	KEXPECT(t, dt_stop(&e) == 0, "clean exit (no sanitizer report)");
out:
	if (t->failed)
		dt_dump_log(&e);
	dt_cleanup(&e);
}

KTEST_MAIN("daemon_ctl_fuzz",
	   KTEST_CASE(malformed_payload_gets_protocol_error_and_stays_usable),
	   KTEST_CASE(oversize_length_gets_too_large_then_close),
	   KTEST_CASE(frame_of_exactly_64k_is_accepted),
	   KTEST_CASE(truncated_frames_and_abrupt_closes_are_harmless),
	   KTEST_CASE(stalled_partial_frame_does_not_block_other_clients),
	   KTEST_CASE(empty_frame_and_unknown_version_are_refused),
	   KTEST_CASE(non_root_peer_is_refused),
	   KTEST_CASE(connections_beyond_the_limit_get_busy_not_fatal),
	   KTEST_CASE(idle_connections_are_closed_before_their_first_frame),
	   KTEST_CASE(ctl_reports_busy_with_exit_8_when_every_slot_is_taken),
	   KTEST_CASE(request_sent_during_a_long_operation_is_served_not_timed_out),
	   KTEST_CASE(root_gets_the_reserved_slot_when_own_uid_clients_fill_the_rest),
	   KTEST_CASE(socket_path_holding_a_non_socket_is_refused_and_kept),
	   KTEST_CASE(stale_socket_at_the_path_is_replaced),
	   KTEST_CASE(strings_with_an_embedded_nul_are_refused_naming_the_field),
	   KTEST_CASE(nul_walker_names_nested_fields_and_skips_unknown_ones),
	   KTEST_CASE(random_frames_never_crash_the_daemon))
