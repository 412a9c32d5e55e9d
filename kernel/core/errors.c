// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* smmu-kho core: error code names and the struct skho_err filler. */
#include "skho.h"

static const char *const skho_err_names[SKHO_E__COUNT] = {
	[SKHO_OK]		= "SKHO_OK",
	[SKHO_E_INVAL]		= "SKHO_E_INVAL",
	[SKHO_E_NOMEM]		= "SKHO_E_NOMEM",
	[SKHO_E_NOSPACE]	= "SKHO_E_NOSPACE",
	[SKHO_E_FDT]		= "SKHO_E_FDT",
	[SKHO_E_COMPAT]		= "SKHO_E_COMPAT",
	[SKHO_E_PROP]		= "SKHO_E_PROP",
	[SKHO_E_SMMU]		= "SKHO_E_SMMU",
	[SKHO_E_SID]		= "SKHO_E_SID",
	[SKHO_E_RANGES]		= "SKHO_E_RANGES",
	[SKHO_E_OUTSIDE]	= "SKHO_E_OUTSIDE",
	[SKHO_E_STE]		= "SKHO_E_STE",
	[SKHO_E_STE_LOST]	= "SKHO_E_STE_LOST",
	[SKHO_E_CD]		= "SKHO_E_CD",
	[SKHO_E_PGTABLE]	= "SKHO_E_PGTABLE",
	[SKHO_E_DIGEST]		= "SKHO_E_DIGEST",
	[SKHO_E_LISTING]	= "SKHO_E_LISTING",
	[SKHO_E_UNSUPPORTED]	= "SKHO_E_UNSUPPORTED",
	[SKHO_E_LIMIT]		= "SKHO_E_LIMIT",
	[SKHO_E_OUTPUT]		= "SKHO_E_OUTPUT",
	[SKHO_E_DIFFERS]	= "SKHO_E_DIFFERS",
};

/* Accepts the code with either sign; unknown codes give "SKHO_E_?". */
const char *skho_strerror(int err)
{
	unsigned int e = err < 0 ? -(unsigned int)err : (unsigned int)err;

	if (e >= SKHO_E__COUNT || !skho_err_names[e])
		return "SKHO_E_?";
	return skho_err_names[e];
}
EXPORT_SYMBOL_NS_GPL(skho_strerror, "SMMU_KHO");

/*
 * Fill @e (may be NULL) and return -@code.  @code is the positive enum value
 * (a negative one is accepted too); the result is always <= 0.
 */
int skho_fail(struct skho_err *e, int code, u32 sid, u64 addr,
	      const char *fmt, ...)
{
	va_list ap;

	if (code < 0)
		code = -code;
	if (e) {
		e->code = -code;
		e->sid = sid;
		e->addr = addr;
		va_start(ap, fmt);
		skho_vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return -code;
}

void skho_err_blame(struct skho_err *e, int code, u32 sid, u64 root)
{
	char msg[sizeof(e->msg)];

	if (!e || e->sid != SKHO_NO_SID)
		return;
	memcpy(msg, e->msg, sizeof(msg));
	msg[sizeof(msg) - 1] = '\0';
	skho_fail(e, code, sid, e->addr, "SID %#x table %#llx: %s", sid,
		  (unsigned long long)root, msg);
}
