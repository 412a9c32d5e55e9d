/* SPDX-License-Identifier: GPL-2.0-only */
/* smmu-khod core: the update operations, crash recovery and the request handler. */
#ifndef SKHOD_KHOD_H
#define SKHOD_KHOD_H

#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "ctl_server.h"
#include "journal.h"

#define SKHOD_VERSION		"0.1"
#define SKHOD_LUO_SESSION	"smmu-khod"	/* LUO session name */
#define SKHOD_LUO_TOKEN		1		/* token of the journal memfd */
#define SKHOD_MAX_DEVICES	64
/* --device vfio: every PCI device bound to vfio-pci on an iommufd HWPT */
#define SKHOD_SELECT_VFIO	"vfio"
#define SKHOD_MAX_CHOICES	(2 * SKHOD_MAX_DEVICES)	/* Plan.choices listed */

struct skhod_opts {
	const char *backend;	/* "real" or "fake:<dir>" */
	const char *state_dir;	/* journal + history */
	const char *probe_cmd;	/* active probe, run per stream; NULL: none */
	uint32_t max_events;	/* SMMU events tolerated per stream */
	bool auto_verify;	/* verify right after recovering the handover */
	/*
	 * How the journal memfd crosses the jump: false (default), in our own
	 * LUO session "smmu-khod"; true (--handover fd-store, the unit's
	 * choice under systemd >= 261), only in systemd's fd store
	 * (FDNAME=journal, FileDescriptorStorePreserve=yes), which systemd
	 * carries through its LUO session: the daemon then never opens
	 * /dev/liveupdate, which systemd-shutdown needs at the jump.
	 */
	bool handover_fdstore;
};

struct skhod {
	struct skhod_opts o;
	struct skhod_backend *be;
	struct skhod_jstore js;
	Skhopb__Journal *j;	/* never NULL once started */
	char boot_id[64];
	int luo_sfd;		/* outgoing LUO session, held until the jump */
	struct skhod_ctl_conn *conn;	/* requester of the running operation */
	char journal_source[32];	/* where recovery found the journal */
};

/*
 * Open the backend and the state directory, find the newest journal (disk,
 * fd store @store_memfd, or the LUO session handed over by the previous
 * kernel), and resume or roll back from it (docs/daemon.md, "Recovery").
 * @store_memfd / @store_luo are fds from the systemd fd store, or -1; they
 * are consumed.  An unusable journal.pb is moved aside
 * (journal.pb.corrupt-<time>) and recovery continues from another copy, or
 * in NEEDS_ATTENTION when there is none.  Errors: -errno / -EINVAL from
 * backend and journal setup (-EPERM: unsafe state directory), -errno when
 * an unusable journal cannot be moved aside or NEEDS_ATTENTION not
 * committed (the daemon then does not start rather than lose it).
 */
int skhod_start(struct skhod *d, const struct skhod_opts *o, int store_memfd,
		int store_luo);
void skhod_stop(struct skhod *d);

/*
 * The service is being stopped (SIGTERM: `systemctl stop`, or the shutdown
 * of `systemctl kexec`).  In PRESERVED the journal is committed once more
 * (disk and memfd agree, the memfd in the fd store is current) and the log
 * says where the next boot will find it.  Errors: -errno of the commit.
 */
int skhod_prepare_stop(struct skhod *d);

/* The control-socket handler (skhod_ctl_handler). */
Skhopb__Response *skhod_handle(void *arg, struct skhod_ctl_conn *c,
			       const Skhopb__Request *req);

/* "STATUS=..." text for sd_notify, into @buf. */
void skhod_status_line(const struct skhod *d, char *buf, size_t len);

#endif /* SKHOD_KHOD_H */
