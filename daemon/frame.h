/* SPDX-License-Identifier: GPL-2.0-only */
/* Control-socket framing: 4-byte big-endian length, then one protobuf message. */
#ifndef SKHOD_FRAME_H
#define SKHOD_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#define SKHOD_FRAME_MAX		(64 * 1024)	/* payload bytes, inclusive */
#define SKHOD_DEFAULT_SOCKET	"/run/smmu-kho/ctl.sock"

/*
 * Pack @m and send it as one frame on a blocking socket (MSG_NOSIGNAL).
 * Errors: -EMSGSIZE (message above SKHOD_FRAME_MAX), -ENOMEM, -errno of send.
 */
int skhod_frame_send(int fd, const ProtobufCMessage *m);

/*
 * Receive one frame, waiting at most @timeout_ms per chunk (-1: forever).
 * *@buf is malloc'd (may be NULL when *@len == 0).
 * Errors: -ECONNRESET (peer closed before a whole frame; *@len set to the
 * bytes of it received, 0 for a clean close between frames), -ETIMEDOUT,
 * -EMSGSIZE (announced length above SKHOD_FRAME_MAX), -ENOMEM, -errno.
 */
int skhod_frame_recv(int fd, uint8_t **buf, size_t *len, int timeout_ms);

/*
 * Look for a string field of @desc in the wire bytes @buf[0..@len) that
 * holds a NUL byte (protobuf-c would cut the C string there silently).
 * Returns 1 with the field's dotted path (e.g. "arm.plan.kernel") in @path,
 * 0 when there is none, -EBADMSG when the bytes do not parse as protobuf
 * or nest deeper than 16 messages.
 */
int skhod_pb_find_nul(const ProtobufCMessageDescriptor *desc, const uint8_t *buf,
		      size_t len, char *path, size_t plen);

/* Encode the 4-byte header of a @len-byte payload. */
void skhod_frame_hdr(uint8_t hdr[4], uint32_t len);

#endif /* SKHOD_FRAME_H */
