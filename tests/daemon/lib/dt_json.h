/* SPDX-License-Identifier: GPL-2.0-only */
/* Daemon test helpers: read `smmu-khoctl --json` output as JSON (json-c), not as text. */
#ifndef SKHOD_DT_JSON_H
#define SKHOD_DT_JSON_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The value at @path in the JSON document @doc, serialised compactly
 * ("true", "-99", "\"IN_REFUSED\"", "{...}") into @buf.  @path is a dotted
 * list of object keys and array indexes: "kernel.in_state",
 * "verification.results.0.why".  Returns false (and @buf "") when @doc does
 * not parse or @path names nothing (or a JSON null).
 */
bool dt_json_get(const char *doc, const char *path, char *buf, size_t len);

/* dt_json_get() of @path equals @want (compact JSON, e.g. "\"ADOPTED\""). */
bool dt_json_is(const char *doc, const char *path, const char *want);

/*
 * How many elements of the array at @path have every field of @match, a
 * comma-separated list of key=<compact JSON>: "quarantined=true,
 * disagree=\"smmu-khod\"".  -1 when @doc does not parse or @path is not an
 * array.
 */
int dt_json_count(const char *doc, const char *path, const char *match);

#endif /* SKHOD_DT_JSON_H */
