// SPDX-License-Identifier: GPL-2.0-only
/* Daemon test helpers: read `smmu-khoctl --json` output as JSON (json-c), not as text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "dt_json.h"

static json_object *walk(json_object *o, const char *path)
{
	char *copy = strdup(path), *save = NULL, *k;

	for (k = copy ? strtok_r(copy, ".", &save) : NULL; o && k; k = strtok_r(NULL, ".", &save)) {
		if (json_object_is_type(o, json_type_array)) {
			char *end;
			unsigned long i = strtoul(k, &end, 10);

			o = *end ? NULL : json_object_array_get_idx(o, i);
		} else if (!json_object_object_get_ex(o, k, &o)) {
			o = NULL;
		}
	}
	free(copy);
	return copy ? o : NULL;
}

static const char *compact(json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
}

bool dt_json_get(const char *doc, const char *path, char *buf, size_t len)
{
	json_object *root = doc ? json_tokener_parse(doc) : NULL, *v;
	bool found = false;

	buf[0] = 0;
	v = root ? walk(root, path) : NULL;
	if (v) {
		snprintf(buf, len, "%s", compact(v));
		found = true;
	}
	json_object_put(root);
	return found;
}

bool dt_json_is(const char *doc, const char *path, const char *want)
{
	char got[4096];

	return dt_json_get(doc, path, got, sizeof(got)) && !strcmp(got, want);
}

/* Every "key=value" of @match holds for object @o. */
static bool matches(json_object *o, const char *match)
{
	char *copy = strdup(match), *save = NULL, *kv;
	bool ok = copy != NULL;

	for (kv = copy ? strtok_r(copy, ",", &save) : NULL; ok && kv;
	     kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		json_object *v;

		while (*kv == ' ')
			kv++;
		if (!eq) {
			ok = false;
			break;
		}
		*eq = 0;
		ok = json_object_object_get_ex(o, kv, &v) && !strcmp(compact(v), eq + 1);
	}
	free(copy);
	return ok;
}

int dt_json_count(const char *doc, const char *path, const char *match)
{
	json_object *root = doc ? json_tokener_parse(doc) : NULL, *a;
	int n = -1;
	size_t i;

	a = root ? walk(root, path) : NULL;
	if (a && json_object_is_type(a, json_type_array)) {
		n = 0;
		for (i = 0; i < json_object_array_length(a); i++)
			n += matches(json_object_array_get_idx(a, i), match);
	}
	json_object_put(root);
	return n;
}
