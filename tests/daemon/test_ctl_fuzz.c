// SPDX-License-Identifier: GPL-2.0-only
/* Control-socket robustness: malformed, oversize, truncated, stalled and random frames. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
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

static void connections_beyond_the_limit_are_refused_not_fatal(struct ktest *t)
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

		refused += r && strstr(r->error, "too many");
		skhod_pb_free(r);
	}
	/* 32 are kept; the last 4 get "too many connections" */
	KEXPECT_EQ(t, refused, 4);
	for (i = 0; i < SKHOD_CTL_MAX_CONNS + 4; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	KEXPECT(t, alive(&e), "daemon alive");
out:
	dt_cleanup(&e);
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
	   KTEST_CASE(connections_beyond_the_limit_are_refused_not_fatal),
	   KTEST_CASE(random_frames_never_crash_the_daemon))
