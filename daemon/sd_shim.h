/* SPDX-License-Identifier: GPL-2.0-only */
/* systemd integration shim: libsystemd when built with it, a tiny fallback otherwise. */
#ifndef SKHOD_SD_SHIM_H
#define SKHOD_SD_SHIM_H

#include <stdbool.h>
#include <stdint.h>

/*
 * With SKHOD_HAVE_LIBSYSTEMD these call sd_notify(3) and friends; without
 * it (static arm64 builds) they speak the same documented protocols
 * directly: $NOTIFY_SOCKET datagrams (with SCM_RIGHTS for the fd store),
 * $LISTEN_FDS/$LISTEN_PID/$LISTEN_FDNAMES, $WATCHDOG_USEC/$WATCHDOG_PID.
 * All of them do nothing and return 0 when not run by systemd.
 */

/* Send @state ("READY=1\nSTATUS=..."). Returns >0 sent, 0 no systemd, -errno. */
int skhod_sd_notify(const char *state);

/* Same, passing @fds (for "FDSTORE=1\nFDNAME=..."). */
int skhod_sd_notify_fds(const char *state, const int *fds, int nfds);

/*
 * Inherited fds (socket activation and the fd store): returns their number
 * n (fds SKHOD_SD_LISTEN_FDS_START .. +n-1), and in *@names (when non-NULL)
 * a malloc'd NULL-terminated array of their names ("unknown" when unnamed);
 * free with skhod_sd_free_names().  The environment variables are unset.
 * Errors: -errno (malformed variables).
 */
#define SKHOD_SD_LISTEN_FDS_START 3
int skhod_sd_listen_fds(char ***names);
void skhod_sd_free_names(char **names);

/* True when the service manager expects WATCHDOG=1; *@usec its period. */
bool skhod_sd_watchdog(uint64_t *usec);

/*
 * One structured journal entry through journald's native protocol
 * (a datagram of "KEY=value" lines to /run/systemd/journal/socket), sent
 * only when stderr is connected to journald ($JOURNAL_STREAM names our
 * stderr's device and inode, as systemd sets it for a service).  @fields: NULL-terminated "KEY=value"
 * strings, values without newlines.  Returns >0 sent, 0 not under
 * journald, -errno.
 */
int skhod_sd_journal_send(const char *const *fields);

#endif /* SKHOD_SD_SHIM_H */
