// SPDX-License-Identifier: GPL-2.0-only
/* smmu-khod backend selection of the product: only the real kernel interface. */
#include <errno.h>
#include <string.h>

#include "backend.h"

const char skhod_backend_specs[] = "real";

int skhod_backend_open(const char *spec, struct skhod_backend **out)
{
	if (!strcmp(spec, "real"))
		return skhod_backend_real_open(out);
	return -EINVAL;
}
