/* SPDX-License-Identifier: GPL-2.0-only */
/* smmu-khoctl's one D-Bus call: ask systemd (PID 1) to start a unit, as `systemctl kexec` does. */
#ifndef SKHOD_SDBUS_H
#define SKHOD_SDBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* systemd's private bus of PID 1 (root only), what systemctl uses as root. */
#define SKHO_SD_PRIVATE_BUS	"/run/systemd/private"

/* True when the system was booted with systemd (sd_booted(3): /run/systemd/system/ exists). */
bool skho_sd_booted(void);

/*
 * org.freedesktop.systemd1.Manager.StartUnit(@unit, @mode) over the
 * AF_UNIX socket @bus_path (SKHO_SD_PRIVATE_BUS; tests pass their own),
 * with EXTERNAL authentication, waiting at most @timeout_ms for the reply.
 * On success the job's object path is copied to @job (may be NULL).
 * Returns 0, or -errno: -ENOENT/-ECONNREFUSED no systemd listening,
 * -EACCES authentication refused, -ETIMEDOUT no reply, -EPROTO a reply that
 * is not D-Bus, -EREMOTEIO systemd answered with an error (its name and
 * message in @err).  @err always holds a human-readable reason on failure.
 */
int skho_sd_start_unit(const char *bus_path, const char *unit, const char *mode,
		       int timeout_ms, char *job, size_t joblen, char *err, size_t errlen);

/*
 * An integer property of org.freedesktop.systemd1.Manager (Get on
 * org.freedesktop.DBus.Properties; type 't' or 'u'), e.g. "KExecCount",
 * into *@val.  Errors as skho_sd_start_unit(); -EPROTO also when the
 * property is not an integer (named in @err).
 */
int skho_sd_manager_u64(const char *bus_path, const char *prop, int timeout_ms, uint64_t *val,
			char *err, size_t errlen);

#endif /* SKHOD_SDBUS_H */
