// SPDX-License-Identifier: GPL-2.0-only
/* smmu-khod control socket: AF_UNIX, peer check, framed protobuf requests, never crashes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl_server.h"
#include "frame.h"
#include "log.h"
#include "pbutil.h"
#include "state.h"

struct skhod_ctl_conn {
	int fd;
	uid_t uid;
	pid_t pid;
	uint8_t hdr[4];
	uint32_t hdr_got;
	uint32_t need;		/* payload length, valid once hdr_got == 4 */
	uint8_t *buf;
	uint32_t got;
	uint64_t deadline_ms;	/* idle timeout between frames, frame timeout inside one */
	bool dead;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int skhod_ctl_bind(const char *path, int *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)], *slash;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -errno;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		struct stat st;
		int probe;

		if (errno != EADDRINUSE)
			goto fail;
		/* Only ever replace a socket: never a file, directory or link. */
		if (lstat(path, &st))
			goto fail;
		if (!S_ISSOCK(st.st_mode)) {
			close(fd);
			return -ENOTSOCK;
		}
		/* Stale socket of a dead daemon, or a live one? */
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && !connect(probe, (struct sockaddr *)&sa, sizeof(sa))) {
			close(probe);
			close(fd);
			return -EADDRINUSE;
		}
		if (probe >= 0)
			close(probe);
		if (unlink(path) && errno != ENOENT)
			goto fail;
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
			goto fail;
	}
	if (chmod(path, 0600) || listen(fd, 16))
		goto fail;
	*out = fd;
	return 0;
fail:
	r = -errno;
	close(fd);
	return r;
}

void skhod_ctl_init(struct skhod_ctl_server *s, int listen_fd, const char *path,
		    bool owns_path, skhod_ctl_handler h, void *arg, uid_t allowed_uid)
{
	memset(s, 0, sizeof(*s));
	s->listen_fd = listen_fd;
	s->owns_path = owns_path;
	snprintf(s->path, sizeof(s->path), "%s", path ? path : "");
	s->handler = h;
	s->arg = arg;
	s->allowed_uid = allowed_uid;
	s->timeout_ms = SKHOD_CTL_FRAME_TIMEOUT_MS;
	s->idle_ms = SKHOD_CTL_IDLE_TIMEOUT_MS;
	/* Socket activation may hand us a blocking socket. */
	fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
}

static void conn_free(struct skhod_ctl_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c);
}

/* Non-blocking send of a whole response; a peer that does not read is dropped. */
static void conn_send(struct skhod_ctl_conn *c, Skhopb__Response *resp)
{
	size_t len;
	uint8_t *buf;
	ssize_t n;

	if (c->dead)
		return;
	resp->version = SKHO_PB_VERSION;
	len = skhopb__response__get_packed_size(resp);
	if (len > SKHOD_FRAME_MAX) {
		Skhopb__Response *e = skhod_ctl_error(SKHOPB__RESULT_CODE__RC_TOO_LARGE,
			"ask for less (e.g. history --max 4)",
			"response of %zu bytes exceeds the %u-byte frame limit",
			len, SKHOD_FRAME_MAX);

		if (e) {
			e->final = resp->final;
			conn_send(c, e);
			skhod_pb_free(e);
		} else {
			c->dead = true;
		}
		return;
	}
	buf = malloc(4 + len);
	if (!buf) {
		c->dead = true;
		return;
	}
	skhod_frame_hdr(buf, (uint32_t)len);
	skhopb__response__pack(resp, buf + 4);
	n = send(c->fd, buf, 4 + len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n != (ssize_t)(4 + len)) {
		log_warn("control peer pid %d does not read its replies: dropped", (int)c->pid);
		c->dead = true;
	}
	free(buf);
}

Skhopb__Response *skhod_ctl_error(int code, const char *hint, const char *fmt, ...)
{
	Skhopb__Response *r = malloc(sizeof(*r));
	char msg[512];
	va_list ap;

	if (!r)
		return NULL;
	skhopb__response__init(r);
	r->code = code;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (skhod_pb_setstr(&r->error, msg) || skhod_pb_setstr(&r->hint, hint)) {
		skhod_pb_free(r);
		return NULL;
	}
	return r;
}

void skhod_ctl_progress(struct skhod_ctl_conn *c, const char *fmt, ...)
{
	Skhopb__Response r = SKHOPB__RESPONSE__INIT;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_info("%s", msg);
	if (!c)
		return;
	r.code = SKHOPB__RESULT_CODE__RC_OK;
	r.final = false;
	r.progress = msg;
	conn_send(c, &r);
}

static void reply_error(struct skhod_ctl_server *s, struct skhod_ctl_conn *c, int code,
			const char *hint, const char *msg)
{
	Skhopb__Response *r = skhod_ctl_error(code, hint, "%s", msg);

	s->nr_errors++;
	log_debug("control peer pid %d: %s", (int)c->pid, msg);
	if (!r) {
		c->dead = true;
		return;
	}
	r->final = true;
	conn_send(c, r);
	skhod_pb_free(r);
}

static void accept_one(struct skhod_ctl_server *s)
{
	struct skhod_ctl_conn *c;
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	int fd, i, used = 0;
	char msg[200];

	fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl)) {
		conn_free(c);
		return;
	}
	c->uid = cred.uid;
	c->pid = cred.pid;
	if (cred.uid != 0 && cred.uid != s->allowed_uid) {
		log_warn("control peer pid %d uid %u refused: root only", (int)cred.pid,
			 (unsigned int)cred.uid);
		reply_error(s, c, SKHOPB__RESULT_CODE__RC_PERMISSION,
			    "run smmu-khoctl as root (sudo smmu-khoctl ...)",
			    "permission denied: the control socket accepts root only");
		conn_free(c);
		return;
	}
	/* The last free slot is root's: idle own-uid peers cannot lock it out. */
	for (i = 0; i < SKHOD_CTL_MAX_CONNS; i++)
		used += !!s->conns[i];
	if (used < SKHOD_CTL_MAX_CONNS - (cred.uid ? 1 : 0)) {
		for (i = 0; i < SKHOD_CTL_MAX_CONNS; i++)
			if (!s->conns[i]) {
				c->deadline_ms = mono_ms() + s->idle_ms;
				s->conns[i] = c;
				return;
			}
	}
	log_warn("control peer pid %d uid %u refused: all %d connections in use%s",
		 (int)cred.pid, (unsigned int)cred.uid, used,
		 cred.uid ? " (the last one is kept for root)" : "");
	snprintf(msg, sizeof(msg), "too many control connections (%d in use, the last "
		 "of %d kept for root); idle ones are closed after %u ms",
		 used, SKHOD_CTL_MAX_CONNS, s->idle_ms);
	reply_error(s, c, SKHOPB__RESULT_CODE__RC_BUSY, "retry in a few seconds", msg);
	conn_free(c);
}

/* One complete frame in c->buf[0..need). */
static void dispatch(struct skhod_ctl_server *s, struct skhod_ctl_conn *c)
{
	Skhopb__Request *req;
	Skhopb__Response *resp;
	char field[128];

	s->nr_requests++;
	req = skhopb__request__unpack(NULL, c->need, c->buf);
	if (!req) {
		reply_error(s, c, SKHOPB__RESULT_CODE__RC_PROTOCOL,
			    "use smmu-khoctl, or send a smmu_kho.proto Request",
			    "malformed request: not a valid Request message");
		return;
	}
	if (req->version != SKHO_PB_VERSION) {
		char msg[128];

		snprintf(msg, sizeof(msg), "request version %u, this daemon speaks %u",
			 req->version, SKHO_PB_VERSION);
		reply_error(s, c, SKHOPB__RESULT_CODE__RC_PROTOCOL,
			    "use the smmu-khoctl that ships with this smmu-khod", msg);
	} else if (skhod_pb_find_nul(&skhopb__request__descriptor, c->buf, c->need,
				     field, sizeof(field)) == 1) {
		char msg[200];

		snprintf(msg, sizeof(msg), "request field %s contains a NUL byte", field);
		reply_error(s, c, SKHOPB__RESULT_CODE__RC_BAD_REQUEST,
			    "strings (paths, device names, the command line) must not contain NUL",
			    msg);
	} else if (req->op_case == SKHOPB__REQUEST__OP__NOT_SET) {
		reply_error(s, c, SKHOPB__RESULT_CODE__RC_BAD_REQUEST,
			    "set one operation (status, arm, update, verify, abort, history, finish)",
			    "request names no operation");
	} else {
		resp = s->handler(s->arg, c, req);
		if (!resp) {
			reply_error(s, c, SKHOPB__RESULT_CODE__RC_FAILED, "retry; see the daemon log",
				    "out of memory while handling the request");
		} else {
			resp->final = true;
			if (resp->code)
				s->nr_errors++;
			conn_send(c, resp);
			skhod_pb_free(resp);
		}
	}
	skhopb__request__free_unpacked(req, NULL);
}

static void conn_readable(struct skhod_ctl_server *s, struct skhod_ctl_conn *c)
{
	for (;;) {
		ssize_t n;

		if (c->hdr_got < 4) {
			n = recv(c->fd, c->hdr + c->hdr_got, 4 - c->hdr_got, 0);
		} else {
			n = recv(c->fd, c->buf + c->got, c->need - c->got, 0);
		}
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				c->dead = true;
			return;
		}
		if (n == 0) {	/* peer closed; a partial frame is just dropped */
			c->dead = true;
			return;
		}
		if (!c->hdr_got)	/* a frame starts: it must complete in time */
			c->deadline_ms = mono_ms() + s->timeout_ms;
		if (c->hdr_got < 4) {
			c->hdr_got += (uint32_t)n;
			if (c->hdr_got < 4)
				continue;
			c->need = (uint32_t)c->hdr[0] << 24 | (uint32_t)c->hdr[1] << 16 |
				  (uint32_t)c->hdr[2] << 8 | c->hdr[3];
			if (c->need > SKHOD_FRAME_MAX) {
				char msg[96];

				snprintf(msg, sizeof(msg),
					 "frame of %u bytes exceeds the %u-byte limit",
					 c->need, SKHOD_FRAME_MAX);
				reply_error(s, c, SKHOPB__RESULT_CODE__RC_TOO_LARGE,
					    "send smaller requests", msg);
				c->dead = true;	/* framing lost */
				return;
			}
			c->buf = malloc(c->need ? c->need : 1);
			if (!c->buf) {
				c->dead = true;
				return;
			}
			c->got = 0;
		} else {
			c->got += (uint32_t)n;
		}
		if (c->hdr_got == 4 && c->got == c->need) {
			dispatch(s, c);
			free(c->buf);
			c->buf = NULL;
			c->hdr_got = c->got = c->need = 0;
			c->deadline_ms = mono_ms() + s->idle_ms;
			if (c->dead)
				return;
		}
	}
}

/* Bytes (or EOF) waiting on @fd right now? */
static bool has_input(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

int skhod_ctl_poll(struct skhod_ctl_server *s, struct pollfd *extra, int nextra,
		   int timeout_ms)
{
	struct pollfd pfd[1 + 8 + SKHOD_CTL_MAX_CONNS];
	int map[SKHOD_CTL_MAX_CONNS], n = 0, i, r, nc = 0;
	uint64_t now = mono_ms();

	if (nextra > 8)
		return -EINVAL;
	for (i = 0; i < nextra; i++)
		pfd[n++] = extra[i];
	pfd[n].fd = s->listen_fd;
	pfd[n].events = POLLIN;
	pfd[n++].revents = 0;
	for (i = 0; i < SKHOD_CTL_MAX_CONNS; i++) {
		struct skhod_ctl_conn *c = s->conns[i];

		if (!c)
			continue;
		{
			int left = c->deadline_ms > now ? (int)(c->deadline_ms - now) : 0;

			if (timeout_ms < 0 || left < timeout_ms)
				timeout_ms = left;
		}
		map[nc++] = i;
		pfd[n].fd = c->fd;
		pfd[n].events = POLLIN;
		pfd[n++].revents = 0;
	}
	r = poll(pfd, (nfds_t)n, timeout_ms);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < nextra; i++)
		extra[i].revents = pfd[i].revents;
	for (i = 0; i < nc; i++) {
		struct skhod_ctl_conn *c = s->conns[map[i]];

		if (pfd[nextra + 1 + i].revents)
			conn_readable(s, c);
		/*
		 * Past its deadline, maybe only because a long request of another
		 * peer kept the daemon busy: read what arrived meanwhile first.
		 */
		if (!c->dead && mono_ms() >= c->deadline_ms && has_input(c->fd))
			conn_readable(s, c);
		if (!c->dead && mono_ms() >= c->deadline_ms) {
			log_debug("control peer pid %d: %s timed out", (int)c->pid,
				  c->hdr_got ? "incomplete frame" : "idle connection");
			c->dead = true;
		}
		if (c->dead) {
			conn_free(c);
			s->conns[map[i]] = NULL;
		}
	}
	if (pfd[nextra].revents & POLLIN)
		accept_one(s);
	return r;
}

void skhod_ctl_shutdown(struct skhod_ctl_server *s)
{
	int i;

	for (i = 0; i < SKHOD_CTL_MAX_CONNS; i++)
		if (s->conns[i]) {
			conn_free(s->conns[i]);
			s->conns[i] = NULL;
		}
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	s->listen_fd = -1;
	if (s->owns_path && s->path[0])
		unlink(s->path);
}
