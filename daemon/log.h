/* SPDX-License-Identifier: GPL-2.0-only */
/* smmu-khod / smmu-khoctl logging: leveled messages on stderr (journald-aware). */
#ifndef SKHOD_LOG_H
#define SKHOD_LOG_H

enum skhod_log_level {
	SKHOD_LOG_ERR = 3,
	SKHOD_LOG_WARN = 4,
	SKHOD_LOG_NOTICE = 5,
	SKHOD_LOG_INFO = 6,
	SKHOD_LOG_DEBUG = 7,
};

/*
 * Set the program name and the most verbose level printed.  When stderr is
 * connected to journald ($JOURNAL_STREAM), lines carry the "<N>" priority
 * prefix that journald understands instead of a level word.
 */
void skhod_log_init(const char *prog, int max_level);
void skhod_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)	skhod_log(SKHOD_LOG_ERR, __VA_ARGS__)
#define log_warn(...)	skhod_log(SKHOD_LOG_WARN, __VA_ARGS__)
#define log_notice(...)	skhod_log(SKHOD_LOG_NOTICE, __VA_ARGS__)
#define log_info(...)	skhod_log(SKHOD_LOG_INFO, __VA_ARGS__)
#define log_debug(...)	skhod_log(SKHOD_LOG_DEBUG, __VA_ARGS__)

#endif /* SKHOD_LOG_H */
