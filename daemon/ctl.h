/* SPDX-License-Identifier: GPL-2.0-only */
/* smmu-khoctl internals shared by ctl.c (commands, human output) and ctl_json.c (--json). */
#ifndef SKHOD_CTL_H
#define SKHOD_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "smmu_kho.pb-c.h"

/* "2026-01-01T00:00:00Z" of @ns (UTC), "-" for 0. */
void skhoctl_fmt_time(uint64_t ns, char *buf, size_t len);
/* "PASS", "FAIL", "ABORTED" or "NONE". */
const char *skhoctl_verdict_name(int v);

/*
 * Print one JSON document and a newline on stdout (ctl_json.c).  Errors:
 * -ENOMEM when building it ran out of memory; nothing is printed then.
 */
int skhoctl_json_status(const Skhopb__Status *s, const char *hint);
int skhoctl_json_verification(const Skhopb__Verification *v);
int skhoctl_json_history(const Skhopb__Response *r);
/* plan|arm --json: the resolved plan with the selector's choices. */
int skhoctl_json_plan(const Skhopb__Plan *p);

#endif /* SKHOD_CTL_H */
