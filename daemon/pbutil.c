// SPDX-License-Identifier: GPL-2.0-only
/* Helpers for building protobuf-c messages by hand (malloc'd, freed by free_unpacked). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pbutil.h"

int skhod_pb_setstr(char **dst, const char *src)
{
	char *s;

	if (!src || !*src) {
		s = (char *)protobuf_c_empty_string;
	} else {
		s = strdup(src);
		if (!s)
			return -ENOMEM;
	}
	if (*dst && *dst != protobuf_c_empty_string)
		free(*dst);
	*dst = s;
	return 0;
}

int skhod_pb_push(void ***arr, size_t *n, void *item)
{
	void **na = realloc(*arr, (*n + 1) * sizeof(*na));

	if (!na)
		return -ENOMEM;
	na[(*n)++] = item;
	*arr = na;
	return 0;
}

void skhod_pb_free(void *msg)
{
	if (msg)
		protobuf_c_message_free_unpacked(msg, NULL);
}

void *skhod_pb_dup(const void *msg)
{
	const ProtobufCMessage *m = msg;
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(len ? len : 1);
	void *copy;

	if (!buf)
		return NULL;
	protobuf_c_message_pack(m, buf);
	copy = protobuf_c_message_unpack(m->descriptor, NULL, len, buf);
	free(buf);
	return copy;
}
