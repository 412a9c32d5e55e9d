// SPDX-License-Identifier: GPL-2.0-only
/* Test builds' backend selection: "real" (with $SKHOD_FAULT) or "fake:<dir>". */
#include <errno.h>
#include <string.h>

#include "backend.h"
#include "fake.h"

const char skhod_backend_specs[] = "real|fake:DIR";

int skhod_backend_open(const char *spec, struct skhod_backend **out)
{
	int r;

	if (!strcmp(spec, "real")) {
		r = skhod_backend_real_open(out);
		if (!r)
			skhod_fault_arm(*out);
		return r;
	}
	if (!strncmp(spec, "fake:", 5) && spec[5])
		return skhod_backend_fake_open(spec + 5, out);
	return -EINVAL;
}
