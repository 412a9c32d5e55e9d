// SPDX-License-Identifier: GPL-2.0-only
/* Control-socket framing: 4-byte big-endian length, then one protobuf message. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "frame.h"

void skhod_frame_hdr(uint8_t hdr[4], uint32_t len)
{
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
}

static int send_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int skhod_frame_send(int fd, const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf;
	int r;

	if (len > SKHOD_FRAME_MAX)
		return -EMSGSIZE;
	buf = malloc(4 + len);
	if (!buf)
		return -ENOMEM;
	skhod_frame_hdr(buf, (uint32_t)len);
	protobuf_c_message_pack(m, buf + 4);
	r = send_all(fd, buf, 4 + len);
	free(buf);
	return r;
}

/* Read exactly @len bytes; *@got says how many arrived before an error. */
static int recv_exact(int fd, uint8_t *p, size_t len, size_t *got, int timeout_ms)
{
	*got = 0;
	while (*got < len) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int pr = poll(&pfd, 1, timeout_ms);

		if (pr < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!pr)
			return -ETIMEDOUT;
		n = recv(fd, p + *got, len - *got, 0);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (!n)
			return -ECONNRESET;
		*got += (size_t)n;
	}
	return 0;
}

int skhod_frame_recv(int fd, uint8_t **buf, size_t *len, int timeout_ms)
{
	uint8_t hdr[4], *b = NULL;
	size_t got;
	uint32_t n;
	int r;

	*buf = NULL;
	*len = 0;
	r = recv_exact(fd, hdr, 4, &got, timeout_ms);
	if (r) {
		*len = got;
		return r;
	}
	n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	if (n > SKHOD_FRAME_MAX)
		return -EMSGSIZE;
	if (n) {
		b = malloc(n);
		if (!b)
			return -ENOMEM;
		r = recv_exact(fd, b, n, &got, timeout_ms);
		if (r) {
			free(b);
			*len = 4 + got;
			return r;
		}
	}
	*buf = b;
	*len = n;
	return 0;
}
