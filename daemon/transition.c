// SPDX-License-Identifier: GPL-2.0-only
/* smmu-khod state commits: enter a state, commit the journal, status line, the kernel's view. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "khod_internal.h"
#include "log.h"
#include "pbutil.h"
#include "sd_shim.h"

uint64_t skhod_now_ns(struct skhod *d)
{
	return d->be->ops->now_ns(d->be);
}


const char *skhod_be_err(struct skhod *d, int r)
{
	static char buf[200];

	if (d->be->err[0])
		snprintf(buf, sizeof(buf), "%s", d->be->err);
	else
		snprintf(buf, sizeof(buf), "%s", strerror(-r));
	d->be->err[0] = 0;
	return buf;
}

bool skhod_kernel_view(struct skhod *d, struct skhod_kview *k,
		       struct smmu_kho_status *stp)
{
	struct smmu_kho_status st;
	bool loaded = false;

	if (d->be->ops->status(d->be, &st)) {
		d->be->err[0] = 0;
		return false;
	}
	d->be->ops->kexec_loaded(d->be, &loaded);
	k->out_state = st.out_state;
	k->in_state = st.in_state;
	k->nr_out_streams = st.nr_out_streams;
	k->kexec_loaded = loaded;
	if (stp)
		*stp = st;
	return true;
}

void skhod_status_line(const struct skhod *d, char *buf, size_t len)
{
	const Skhopb__Journal *j = d->j;

	switch (j->state) {
	case SKHOD_PRESERVED:
		snprintf(buf, len, "STATUS=PRESERVED: %u streams frozen, kernel loaded",
			 skhod_journal_nr_streams(j));
		break;
	case SKHOD_VERIFIED:
	case SKHOD_FAILED:
	case SKHOD_FINISHED:
		/* state and verdict first: what `systemctl status` shows */
		snprintf(buf, len, "STATUS=%s: %s; verdict %s", skhod_state_name(j->state),
			 j->verification ? j->verification->summary : j->reason ? j->reason : "",
			 j->verdict == SKHOPB__VERDICT__VERDICT_PASS ? "PASS" :
			 j->verdict == SKHOPB__VERDICT__VERDICT_FAIL ? "FAIL" : "none");
		break;
	case SKHOD_ABORTED:
	case SKHOD_NEEDS_ATTENTION:
		snprintf(buf, len, "STATUS=%s: %s", skhod_state_name(j->state), j->reason);
		break;
	default:
		snprintf(buf, len, "STATUS=%s", skhod_state_name(j->state));
	}
	buf[strcspn(buf, "\n")] = 0;
}

static void notify_status(struct skhod *d)
{
	char buf[300];

	skhod_status_line(d, buf, sizeof(buf));
	skhod_sd_notify(buf);
}

/*
 * Structured journal entries of a state change (docs/daemon.md, "systemd"):
 * one with MESSAGE_ID SKHOD_MSGID_BASE + state, SKHO_UPDATE_ID, SKHO_STATE;
 * then, in states that hold pre-jump digests, one per journaled stream
 * (first 64) with SKHO_SID, SKHO_SMMU, SKHO_DEVICE too, so that
 * `journalctl -u smmu-khod SKHO_SID=0x10` follows one stream.
 */
#define SKHOD_MSGID_BASE "8b5e1a0c4f2d4e6a9c3b7d1e5f0a2c"	/* + 2 hex digits: the state */
static void journal_event(struct skhod *d, int to, const char *reason)
{
	char msg[700], id[64], upd[96], st[48], sid[32], smmu[48], dev[96];
	const char *f[10];
	size_t i, k, n = 0;

	snprintf(id, sizeof(id), "MESSAGE_ID=" SKHOD_MSGID_BASE "%02x", (unsigned int)to & 0xff);
	snprintf(upd, sizeof(upd), "SKHO_UPDATE_ID=%s", d->j->update_id);
	snprintf(st, sizeof(st), "SKHO_STATE=%s", skhod_state_name(to));
	snprintf(msg, sizeof(msg), "MESSAGE=state %s%s%s", skhod_state_name(to),
		 reason[0] ? ": " : "", reason);
	f[0] = msg; f[1] = id; f[2] = "PRIORITY=5"; f[3] = upd; f[4] = st; f[5] = NULL;
	if (skhod_sd_journal_send(f) <= 0)
		return;	/* not under journald, or it failed: stderr has the line */
	for (i = 0; i < d->j->n_pre_jump; i++)
		for (k = 0; k < d->j->pre_jump[i]->n_streams && n < 64; k++, n++) {
			const Skhopb__StreamDigest *sd = d->j->pre_jump[i]->streams[k];

			snprintf(sid, sizeof(sid), "SKHO_SID=0x%x", sd->sid);
			snprintf(smmu, sizeof(smmu), "SKHO_SMMU=0x%" PRIx64, sd->smmu_base);
			snprintf(dev, sizeof(dev), "SKHO_DEVICE=%s", sd->device);
			snprintf(msg, sizeof(msg), "MESSAGE=stream SID 0x%x (%s) on SMMU 0x%" PRIx64
				 ": update %s", sd->sid, sd->device, sd->smmu_base,
				 skhod_state_name(to));
			f[0] = msg; f[1] = id; f[2] = "PRIORITY=6"; f[3] = upd; f[4] = st;
			f[5] = sid; f[6] = smmu; f[7] = dev; f[8] = NULL;
			skhod_sd_journal_send(f);
		}
}

/*
 * Enter @to and commit.  On a journal write failure the in-memory journal
 * is restored, so memory never runs ahead of the disk.
 */
int skhod_transition(struct skhod *d, int to, const char *fmt, ...)
{
	Skhopb__Journal *saved = skhod_pb_dup(d->j);
	struct skhod_kview k;
	char reason[512] = "";
	va_list ap;
	int r;

	if (!saved)
		return -ENOMEM;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(reason, sizeof(reason), fmt, ap);
		va_end(ap);
	}
	r = skhod_enter(d->j, to, skhod_now_ns(d), d->boot_id, reason);
	if (!r)
		r = skhod_journal_commit(&d->js, d->j);
	if (r) {
		log_err("cannot enter %s: %s", skhod_state_name(to), strerror(-r));
		skhod_pb_free(d->j);
		d->j = saved;
		return r;
	}
	skhod_pb_free(saved);
	log_notice("state %s%s%s", skhod_state_name(to), reason[0] ? ": " : "", reason);
	journal_event(d, to, reason);
	SKHOD_CHECK(d->j, skhod_kernel_view(d, &k, NULL) ? &k : NULL);
	notify_status(d);
	return 0;
}

/* Commit without a transition (verification refreshed, restart counted). */
int skhod_commit(struct skhod *d)
{
	struct skhod_kview k;
	int r = skhod_journal_commit(&d->js, d->j);

	if (r)
		log_err("journal commit failed: %s", strerror(-r));
	else
		SKHOD_CHECK(d->j, skhod_kernel_view(d, &k, NULL) ? &k : NULL);
	return r;
}
