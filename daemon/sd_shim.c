// SPDX-License-Identifier: GPL-2.0-only
/* systemd integration shim: libsystemd when built with it, a tiny fallback otherwise. */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sd_shim.h"

#ifdef SKHOD_HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>

int skhod_sd_notify(const char *state)
{
	return sd_notify(0, state);
}

int skhod_sd_notify_fds(const char *state, const int *fds, int nfds)
{
	return sd_pid_notify_with_fds(0, 0, state, fds, (unsigned int)nfds);
}

int skhod_sd_listen_fds(char ***names)
{
	char **n = NULL;
	int r = sd_listen_fds_with_names(1, names ? &n : NULL);

	if (names)
		*names = r > 0 ? n : NULL;
	if (r <= 0 && n)
		skhod_sd_free_names(n);
	return r;
}

bool skhod_sd_watchdog(uint64_t *usec)
{
	return sd_watchdog_enabled(0, usec) > 0;
}

#else /* !SKHOD_HAVE_LIBSYSTEMD */

int skhod_sd_notify_fds(const char *state, const int *fds, int nfds)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct iovec iov = { .iov_base = (void *)state, .iov_len = strlen(state) };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 16)];
	} ctl;
	struct msghdr mh = { .msg_name = &sa, .msg_iov = &iov, .msg_iovlen = 1 };
	size_t pl;
	int fd, r;

	if (!path || !*path)
		return 0;
	pl = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || pl >= sizeof(sa.sun_path) ||
	    nfds > 16)
		return -EINVAL;
	memcpy(sa.sun_path, path, pl);
	if (path[0] == '@')
		sa.sun_path[0] = 0;	/* abstract namespace */
	mh.msg_namelen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + pl);
	if (nfds > 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = sendmsg(fd, &mh, MSG_NOSIGNAL) < 0 ? -errno : 1;
	close(fd);
	return r;
}

int skhod_sd_notify(const char *state)
{
	return skhod_sd_notify_fds(state, NULL, 0);
}

static bool env_is_our_pid(const char *var)
{
	const char *p = getenv(var);

	return p && strtol(p, NULL, 10) == (long)getpid();
}

int skhod_sd_listen_fds(char ***names)
{
	const char *nfds = getenv("LISTEN_FDS"), *fdnames = getenv("LISTEN_FDNAMES");
	char **arr = NULL;
	long n = 0;
	int i;

	if (names)
		*names = NULL;
	if (!nfds || !env_is_our_pid("LISTEN_PID"))
		goto out;
	n = strtol(nfds, NULL, 10);
	if (n < 0 || n > 64) {
		n = -EINVAL;
		goto out;
	}
	for (i = 0; i < n; i++)
		fcntl(SKHOD_SD_LISTEN_FDS_START + i, F_SETFD, FD_CLOEXEC);
	if (names && n > 0) {
		char *copy = strdup(fdnames ? fdnames : ""), *save = NULL, *tok;

		arr = calloc((size_t)n + 1, sizeof(*arr));
		if (!arr || !copy) {
			free(arr);
			free(copy);
			n = -ENOMEM;
			goto out;
		}
		tok = strtok_r(copy, ":", &save);
		for (i = 0; i < n; i++) {
			arr[i] = strdup(tok ? tok : "unknown");
			tok = tok ? strtok_r(NULL, ":", &save) : NULL;
		}
		free(copy);
		*names = arr;
	}
out:
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
	return (int)n;
}

bool skhod_sd_watchdog(uint64_t *usec)
{
	const char *u = getenv("WATCHDOG_USEC");

	if (!u || (getenv("WATCHDOG_PID") && !env_is_our_pid("WATCHDOG_PID")))
		return false;
	*usec = strtoull(u, NULL, 10);
	return *usec > 0;
}

#endif /* SKHOD_HAVE_LIBSYSTEMD */

int skhod_sd_journal_send(const char *const *fields)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX,
				  .sun_path = "/run/systemd/journal/socket" };
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char buf[4096];
	size_t n = 0;
	int fd, r;

	/* "<dev>:<ino>" of our stderr only: an inherited variable (a test
	 * daemon whose stderr is a file) must not reach the host's journald. */
	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) ||
	    (unsigned long long)st.st_dev != dev || (unsigned long long)st.st_ino != ino)
		return 0;
	for (; *fields; fields++) {
		size_t l = strcspn(*fields, "\n");

		if (n + l + 1 > sizeof(buf))
			return -E2BIG;
		memcpy(buf + n, *fields, l);
		n += l;
		buf[n++] = '\n';
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = sendto(fd, buf, n, MSG_NOSIGNAL, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 1;
	close(fd);
	return r;
}

void skhod_sd_free_names(char **names)
{
	char **p;

	for (p = names; p && *p; p++)
		free(*p);
	free(names);
}
