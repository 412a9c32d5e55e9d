/* SPDX-License-Identifier: GPL-2.0-only */
/* smmu-khod control socket: AF_UNIX, peer check, framed protobuf requests, never crashes. */
#ifndef SKHOD_CTL_SERVER_H
#define SKHOD_CTL_SERVER_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "smmu_kho.pb-c.h"

#define SKHOD_CTL_MAX_CONNS	32	/* the last one is kept for uid 0 */
#define SKHOD_CTL_FRAME_TIMEOUT_MS 5000	/* a started frame must complete */
#define SKHOD_CTL_IDLE_TIMEOUT_MS 5000	/* a connection between frames is closed */

struct skhod_ctl_conn;

/*
 * Handles one well-formed request from an authorized peer and returns the
 * final response (the server sets version and final, sends and frees it).
 * May send progress frames first with skhod_ctl_progress().
 */
typedef Skhopb__Response *(*skhod_ctl_handler)(void *arg, struct skhod_ctl_conn *c,
					       const Skhopb__Request *req);

struct skhod_ctl_server {
	int listen_fd;
	bool owns_path;			/* we bound it (not socket-activated) */
	char path[108];
	skhod_ctl_handler handler;
	void *arg;
	uid_t allowed_uid;		/* besides root */
	unsigned int timeout_ms;		/* SKHOD_CTL_FRAME_TIMEOUT_MS */
	unsigned int idle_ms;			/* SKHOD_CTL_IDLE_TIMEOUT_MS */
	struct skhod_ctl_conn *conns[SKHOD_CTL_MAX_CONNS];
	uint64_t nr_requests, nr_errors;
};

/*
 * Bind and listen on @path (mode 0600, parent created 0755, a stale socket
 * replaced; anything else at @path is left alone).  Errors: -ENAMETOOLONG,
 * -EADDRINUSE (a live daemon answers there), -ENOTSOCK (@path exists and is
 * not a socket: a file, directory, symlink, FIFO...), -errno of
 * mkdir/socket/bind/listen/lstat.
 */
int skhod_ctl_bind(const char *path, int *fd);

/*
 * Serve on @listen_fd (bound by skhod_ctl_bind(), or inherited from socket
 * activation).  Peers must be root or run as @allowed_uid (SO_PEERCRED).
 * At most SKHOD_CTL_MAX_CONNS at once, the last slot for uid 0 only; an
 * extra peer gets RC_BUSY and is closed.  A connection idle for idle_ms
 * (no frame started) is closed; set s->idle_ms after this call to change it.
 */
void skhod_ctl_init(struct skhod_ctl_server *s, int listen_fd, const char *path,
		    bool owns_path, skhod_ctl_handler h, void *arg, uid_t allowed_uid);

/*
 * Wait up to @timeout_ms for activity on the socket, its connections and the
 * caller's @extra fds (revents filled in for the caller), and serve what
 * arrived: accept, read, dispatch, reply.  Malformed input gets an error
 * reply (RC_PROTOCOL, RC_TOO_LARGE) and, when the framing is lost, the
 * connection is closed.  Returns the poll() result or -errno.
 */
int skhod_ctl_poll(struct skhod_ctl_server *s, struct pollfd *extra, int nextra,
		   int timeout_ms);

/* Send a progress frame (final = false) to the requesting peer. */
void skhod_ctl_progress(struct skhod_ctl_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* An error response: code, error text, hint (what to do next). */
Skhopb__Response *skhod_ctl_error(int code, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Close every connection and the socket; unlink the path if we bound it. */
void skhod_ctl_shutdown(struct skhod_ctl_server *s);

#endif /* SKHOD_CTL_SERVER_H */
