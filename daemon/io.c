// SPDX-License-Identifier: GPL-2.0-only
/* Whole-buffer output for files, memfds and sockets: short writes and EINTR retried. */
#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io.h"

int skhod_out_all(int fd, enum skhod_out how, const void *buf, size_t len, off_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n;

		if (how == SKHOD_OUT_SEND)
			n = send(fd, p, len, MSG_NOSIGNAL);
		else if (how == SKHOD_OUT_PWRITE)
			n = pwrite(fd, p, len, off);
		else
			n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}
