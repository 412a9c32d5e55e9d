// SPDX-License-Identifier: GPL-2.0-only
/* smmu-khod LUO handling: the journal memfd crosses the jump in session "smmu-khod". */
#define _GNU_SOURCE
#include <errno.h>
#include <unistd.h>

#include "khod_internal.h"
#include "log.h"
#include "sd_shim.h"

void skhod_luo_drop(struct skhod *d)
{
	if (d->luo_sfd < 0)
		return;
	close(d->luo_sfd);
	d->luo_sfd = -1;
	skhod_sd_notify("FDSTOREREMOVE=1\nFDNAME=luo-session");
}

int skhod_luo_hold(struct skhod *d)
{
	int sfd, r;

	if (d->luo_sfd >= 0 || d->o.handover_fdstore)
		return 0;
	if (d->js.memfd < 0)
		return -ENOENT;
	r = d->be->ops->luo_create(d->be, SKHOD_LUO_SESSION, &sfd);
	if (r)
		return r;
	r = d->be->ops->luo_preserve_fd(d->be, sfd, d->js.memfd, SKHOD_LUO_TOKEN);
	if (r) {
		close(sfd);
		return r;
	}
	d->luo_sfd = sfd;
	/* If we crash, systemd keeps the session (and the preservation) alive. */
	skhod_sd_notify_fds("FDSTORE=1\nFDNAME=luo-session", &sfd, 1);
	return 0;
}

Skhopb__Journal *skhod_memfd_journal(int fd, const char *what)
{
	Skhopb__Journal *j = NULL;
	char why[160];
	int r = skhod_journal_memfd_read(fd, &j, why, sizeof(why));

	if (r && r != -ENOENT)
		log_warn("%s journal unusable: %s", what, why);
	return r ? NULL : j;
}

/* Journal from the LUO session the previous kernel handed over, if any. */
int skhod_luo_incoming(struct skhod *d, Skhopb__Journal **out)
{
	int sfd, fd, r;

	*out = NULL;
	r = d->be->ops->luo_retrieve(d->be, SKHOD_LUO_SESSION, &sfd);
	if (r) {
		if (r != -ENOENT && r != -ENODEV)
			log_warn("LUO retrieve session: %s", skhod_be_err(d, r));
		d->be->err[0] = 0;
		return -1;
	}
	fd = -1;
	r = d->be->ops->luo_retrieve_fd(d->be, sfd, SKHOD_LUO_TOKEN, &fd);
	if (r)
		log_warn("LUO retrieve journal memfd: %s", skhod_be_err(d, r));
	else
		*out = skhod_memfd_journal(fd, "LUO");
	/* We have our copy: let the kernel free the session. */
	r = d->be->ops->luo_finish(d->be, sfd);
	if (r)
		log_warn("LUO finish: %s", skhod_be_err(d, r));
	close(sfd);
	return fd;
}
