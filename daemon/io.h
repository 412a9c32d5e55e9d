/* SPDX-License-Identifier: GPL-2.0-only */
/* Whole-buffer output for files, memfds and sockets: short writes and EINTR retried. */
#ifndef SKHOD_IO_H
#define SKHOD_IO_H

#include <stddef.h>
#include <sys/types.h>

/* How each chunk goes out. */
enum skhod_out {
	SKHOD_OUT_WRITE,	/* write(2) */
	SKHOD_OUT_SEND,		/* send(2) with MSG_NOSIGNAL: a closed peer is -EPIPE, not SIGPIPE */
	SKHOD_OUT_PWRITE,	/* pwrite(2) at @off, advancing */
};

/*
 * Put all @len bytes of @buf on @fd.  @off is used by SKHOD_OUT_PWRITE only.
 * Returns 0, or the negative errno of the first failing call (-EPIPE,
 * -ECONNRESET, -ENOSPC, ...); how much went out before then is unspecified.
 */
int skhod_out_all(int fd, enum skhod_out how, const void *buf, size_t len, off_t off);

#endif
