/* SPDX-License-Identifier: GPL-2.0-only */
/* Daemon test helpers: temp fake kernel, start/kill smmu-khod, run smmu-khoctl, read journals. */
#ifndef DTEST_H
#define DTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ktest.h"
#include "smmu_kho.pb-c.h"

/*
 * One test environment: <root>/fake is the fake kernel directory (see
 * daemon/backend_fake.c), <root>/state the daemon's state directory,
 * <root>/ctl.sock its socket, <root>/vmlinuz and <root>/initrd the images a
 * plan names, <root>/daemon.log the daemon's stderr over all its runs.
 * The fake clock starts at 2026-01-01T00:00:00Z and advances 1 s per read,
 * so outputs are deterministic.
 */
struct dt_env {
	char root[200];
	char fake[256], state[256], sock[256], log[256];
	char kernel[256], initrd[256];
	const char *bin;	/* smmu-khod binary (SKHOD_BIN by default) */
	pid_t pid;		/* running daemon, 0 if none */
	int starts;
};

/* Default topology: two devices, three streams on SMMU 0x9050000. */
#define DT_PCI_DEFAULT	"0000:00:02.0 9050000 0x10\n0000:00:03.0 9050000 0x18,0x19\n"
#define DT_DEV_A	"0000:00:02.0"
#define DT_DEV_B	"0000:00:03.0"

/* Create the environment; @pci is the fake topology (NULL: default). */
int dt_setup(struct dt_env *e, const char *pci);
/* Kill any daemon, remove the directory tree. */
void dt_cleanup(struct dt_env *e);

/*
 * Start smmu-khod (fake backend) with optional extra args (NULL-terminated,
 * may be NULL) and wait until its socket answers.  Returns 0 when ready,
 * -1 when it exited first (*@status, if non-NULL, gets the wait status).
 */
int dt_start(struct dt_env *e, const char *const *extra, int *status);
/* SIGKILL the daemon and reap it. */
void dt_kill9(struct dt_env *e);
/* SIGTERM and reap; returns the wait status (-1 if none was running). */
int dt_stop(struct dt_env *e);
/* Wait for the daemon to exit by itself (a fake jump); wait status or -1. */
int dt_wait_exit(struct dt_env *e, int timeout_ms);

/* Output of one smmu-khoctl run. */
struct dt_out {
	int code;		/* exit status, or -1 if it did not exit normally */
	char *out, *err;	/* captured stdout / stderr (malloc'd, NUL-ended) */
};
/* Run smmu-khoctl --socket <sock> ARGS... (NULL-terminated). */
int dt_ctl(struct dt_env *e, struct dt_out *o, ...) __attribute__((sentinel));
/* Same with an argv array. */
int dt_ctlv(struct dt_env *e, struct dt_out *o, const char *const *args);
void dt_out_free(struct dt_out *o);

/* arm + update --no-jump style helpers with the environment's images. */
int dt_arm(struct dt_env *e, struct dt_out *o);

/* Files of the fake kernel directory. */
int dt_write(struct dt_env *e, const char *name, const char *content);
char *dt_read(struct dt_env *e, const char *name);	/* malloc'd or NULL */
/* "out_state" etc. from <fake>/kernel (-1 when missing). */
long dt_kernel(struct dt_env *e, const char *key);

/* The committed journal (state/journal.pb), or NULL (why in @why). */
Skhopb__Journal *dt_journal(struct dt_env *e, char *why, size_t len);

/* One raw request on a fresh connection; final response or NULL. */
Skhopb__Response *dt_request(struct dt_env *e, Skhopb__Request *req);

/* Print the tail of the daemon log as KTAP diagnostics. */
void dt_dump_log(struct dt_env *e);

/* Replace every occurrence of @from in @s (in place, @s malloc'd). */
char *dt_subst(char *s, const char *from, const char *to);

/* Compare @got with the golden file tests/daemon/golden/@name. */
bool dt_golden(struct ktest *t, const char *name, const char *got);

#endif /* DTEST_H */
