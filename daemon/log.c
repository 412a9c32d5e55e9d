// SPDX-License-Identifier: GPL-2.0-only
/* smmu-khod / smmu-khoctl logging: leveled messages on stderr (journald-aware). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"

static const char *log_prog = "smmu-kho";
static int log_max = SKHOD_LOG_INFO;
static int log_journald;

void skhod_log_init(const char *prog, int max_level)
{
	log_prog = prog;
	log_max = max_level;
	log_journald = getenv("JOURNAL_STREAM") != NULL;
}

void skhod_log(int level, const char *fmt, ...)
{
	static const char *const names[] = {
		[SKHOD_LOG_ERR] = "error", [SKHOD_LOG_WARN] = "warning",
		[SKHOD_LOG_NOTICE] = "notice", [SKHOD_LOG_INFO] = "info",
		[SKHOD_LOG_DEBUG] = "debug",
	};
	char line[1024];
	va_list ap;

	if (level > log_max)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_journald)
		fprintf(stderr, "<%d>%s\n", level, line);
	else
		fprintf(stderr, "%s: %s: %s\n", log_prog,
			level >= SKHOD_LOG_ERR && level <= SKHOD_LOG_DEBUG ?
			names[level] : "log", line);
}
