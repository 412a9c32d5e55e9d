// SPDX-License-Identifier: GPL-2.0-only
/* Control-socket framing: 4-byte big-endian length, then one protobuf message. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "frame.h"
#include "io.h"

void skhod_frame_hdr(uint8_t hdr[4], uint32_t len)
{
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
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
	r = skhod_out_all(fd, SKHOD_OUT_SEND, buf, 4 + len, 0);
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

/* One varint at *@p (< @end); advances *@p.  -EBADMSG when cut or too long. */
static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	int shift;

	*v = 0;
	for (shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
	}
	return -EBADMSG;
}

static int find_nul(const ProtobufCMessageDescriptor *desc, const uint8_t *p,
		    const uint8_t *end, char *path, size_t plen, size_t at, int depth)
{
	if (depth > 16)
		return -EBADMSG;
	while (p < end) {
		const ProtobufCFieldDescriptor *f;
		uint64_t key, n;
		int r;

		if (get_varint(&p, end, &key) || key >> 32)
			return -EBADMSG;
		f = protobuf_c_message_descriptor_get_field(desc, (unsigned int)(key >> 3));
		switch (key & 7) {
		case 0:		/* varint */
			if (get_varint(&p, end, &n))
				return -EBADMSG;
			continue;
		case 1:		/* 64-bit */
			n = 8;
			break;
		case 5:		/* 32-bit */
			n = 4;
			break;
		case 2:		/* length-delimited */
			if (get_varint(&p, end, &n))
				return -EBADMSG;
			break;
		default:	/* groups: protobuf-c refuses them too */
			return -EBADMSG;
		}
		if (n > (uint64_t)(end - p))
			return -EBADMSG;
		if (f && (key & 7) == 2) {
			size_t l = at < plen ? at : plen - 1;

			snprintf(path + l, plen - l, "%s%s", l ? "." : "", f->name);
			if (f->type == PROTOBUF_C_TYPE_STRING && memchr(p, 0, n))
				return 1;
			if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
				r = find_nul(f->descriptor, p, p + n, path, plen, strlen(path),
					     depth + 1);
				if (r)
					return r;
			}
			path[l] = 0;
		}
		p += n;
	}
	return 0;
}

int skhod_pb_find_nul(const ProtobufCMessageDescriptor *desc, const uint8_t *buf,
		      size_t len, char *path, size_t plen)
{
	if (!plen)
		return -EINVAL;
	path[0] = 0;
	return find_nul(desc, buf, buf + len, path, plen, 0, 0);
}
