/* SPDX-License-Identifier: GPL-2.0-only */
/* Helpers for building protobuf-c messages by hand (malloc'd, freed by free_unpacked). */
#ifndef SKHOD_PBUTIL_H
#define SKHOD_PBUTIL_H

#include <stddef.h>

#include "smmu_kho.pb-c.h"

/*
 * Messages built with these helpers own their memory exactly as if
 * protobuf_c_message_unpack() had built them with the default allocator, so
 * protobuf_c_message_free_unpacked(msg, NULL) frees either kind.
 */

/* Replace *@dst by a copy of @src (NULL means "").  Errors: -ENOMEM. */
int skhod_pb_setstr(char **dst, const char *src);

/*
 * Append @item to the pointer array *@arr of *@n elements.
 * Errors: -ENOMEM (array unchanged; the caller still owns @item).
 */
int skhod_pb_push(void ***arr, size_t *n, void *item);
#define SKHOD_PB_PUSH(arr, n, item) skhod_pb_push((void ***)(arr), (n), (item))

/* Free a message (NULL is fine). */
void skhod_pb_free(void *msg);

/* Deep copy through pack/unpack.  NULL on allocation failure. */
void *skhod_pb_dup(const void *msg);

#endif /* SKHOD_PBUTIL_H */
