// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Hand-back check: does a new STE translate every IOVA of an adopted one the same? */
#include "skho_xlat_same.h"

int skho_xlat_same(const struct skho_xlat_side *old,
		   const struct skho_xlat_side *new,
		   struct skho_xlat_cmp *out, struct skho_err *err)
{
	(void)old;
	(void)new;
	(void)out;
	return skho_fail(err, SKHO_E_UNSUPPORTED, SKHO_NO_SID, 0,
			 "not implemented yet");
}
