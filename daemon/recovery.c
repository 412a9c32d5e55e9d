// SPDX-License-Identifier: GPL-2.0-only
/* smmu-khod start-up recovery: find the newest journal copy, then resume, roll back or evaluate the handover. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "khod_internal.h"
#include "log.h"
#include "pbutil.h"
#include "sd_shim.h"
#include "skho_handover.h"

static bool no_device(const struct skhod *d)
{
	return d->j->plan && d->j->plan->no_device;
}

static bool same_boot(struct skhod *d)
{
	return !strcmp(d->j->boot_id_armed, d->boot_id);
}

/*
 * No handover arrived: verify anyway, so that every journaled stream is
 * named (as lost) in the verification that `status` prints.  Best effort:
 * without STREAMS the FAILED reason alone says what happened.
 */
static void lost_without_handover(struct skhod *d)
{
	struct skhod_verify_opts vo = { .max_events = d->o.max_events };
	struct smmu_kho_stream_info *live = NULL;
	Skhopb__Verification *v = NULL;
	uint32_t nlive = 0;
	char why[200];
	int r;

	r = skhod_verify_live(d, &vo, &live, &nlive, &v, why, sizeof(why));
	free(live);
	if (r) {
		log_warn("nothing adopted, and the verification could not run: %s", why);
		return;
	}
	skhod_pb_free(d->j->verification);
	d->j->verification = v;
}

/*
 * The new kernel got a handover but adopted nothing: IN_REFUSED (the
 * handover as a whole) or ALL_REFUSED (every stream).  Name the kernel's
 * reason and every journaled stream (verification), then FAILED.
 */
static void recover_refused(struct skhod *d, const struct smmu_kho_status *st)
{
	char kwhy[sizeof(st->in_why) + 1];

	memcpy(kwhy, st->in_why, sizeof(st->in_why));
	kwhy[sizeof(st->in_why)] = 0;
	lost_without_handover(d);
	if (st->in_state == SMMU_KHO_IN_REFUSED)
		skhod_transition(d, SKHOD_FAILED,
		      "the new kernel refused the handover (%s: %s): every preserved stream was lost (abort STE)",
		      st->in_error ? skho_strerror(st->in_error) : "no error code",
		      kwhy[0] ? kwhy : "no reason given");
	else
		skhod_transition(d, SKHOD_FAILED,
		      "the new kernel refused every handed-over stream (%u of %u): %s",
		      st->nr_refused, st->nr_in_streams,
		      d->j->verification ? d->j->verification->summary : "see the kernel log");
}

/* PRESERVED found in a new boot: did the handover arrive? */
static void recover_after_jump(struct skhod *d)
{
	struct smmu_kho_status st;
	char why[300];
	int r;

	r = d->be->ops->status(d->be, &st);
	if (r) {
		log_err("cannot read the kernel's handover state (%s): staying PRESERVED; load smmu_kho.ko and restart smmu-khod",
			skhod_be_err(d, r));
		return;
	}
	if (skhod_pb_setstr(&d->j->boot_id_recovered, d->boot_id))
		return;
	if (no_device(d) && st.in_state != SMMU_KHO_IDLE) {
		skhod_transition(d, SKHOD_FAILED,
		      "a handover arrived (incoming %s, %u streams) although this update preserved no device (--no-device)",
		      skhod_kstate_name(st.in_state), st.nr_in_streams);
		return;
	}
	if (st.in_state == SMMU_KHO_IDLE && no_device(d)) {
		r = skhod_transition(d, SKHOD_RECOVERED, "no handover, as planned (--no-device)");
		if (!r && d->o.auto_verify && skhod_verify_run(d, false, why, sizeof(why)))
			log_err("automatic verification: %s", why);
		return;
	}
	if (st.in_state == SMMU_KHO_IDLE) {
		lost_without_handover(d);
		skhod_transition(d, SKHOD_FAILED,
		      "booted without the handover: the new kernel received no smmu-kho state (cold reboot, or kexec without KHO); the preserved DMA translation was lost");
		return;
	}
	if (st.in_state == SMMU_KHO_IN_REFUSED || st.in_state == SMMU_KHO_ALL_REFUSED) {
		recover_refused(d, &st);
		return;
	}
	if (st.in_state != SMMU_KHO_ADOPTED && st.in_state != SMMU_KHO_RELEASED) {
		lost_without_handover(d);
		skhod_transition(d, SKHOD_FAILED, "the kernel reports incoming state %u (%s), not the result of a handover",
		      st.in_state, skhod_kstate_name(st.in_state));
		return;
	}
	r = skhod_transition(d, SKHOD_RECOVERED, "new kernel adopted %u of %u handed-over streams (%u refused)",
		  st.nr_adopted, st.nr_in_streams, st.nr_refused);
	if (r)
		return;
	skhod_crashpoint("recover.adopted");
	if (d->o.auto_verify && skhod_verify_run(d, d->o.probe_cmd != NULL, why, sizeof(why)))
		log_err("automatic verification: %s", why);
}

/* PRESERVED in the same boot after a daemon restart: still intact? */
static void recover_preserved(struct skhod *d, int store_luo)
{
	Skhopb__SmmuDigests **pj = NULL;
	struct skhod_kview k;
	char why[400] = "";
	size_t npj = 0, i, a;
	bool ok = skhod_kernel_view(d, &k, NULL);

	if (!ok)
		snprintf(why, sizeof(why), "the kernel interface is unavailable");
	else if (no_device(d) && k.out_state != SMMU_KHO_IDLE)
		snprintf(why, sizeof(why), "the kernel holds preserved devices (outgoing %s) although the plan has none",
			 skhod_kstate_name(k.out_state));
	else if (!no_device(d) && k.out_state != SMMU_KHO_FROZEN)
		snprintf(why, sizeof(why), "the kernel no longer holds the frozen state (outgoing %s)",
			 skhod_kstate_name(k.out_state));
	else if (!k.kexec_loaded)
		snprintf(why, sizeof(why), "no kexec image is loaded any more");
	else if (!no_device(d) && skhod_snapshot_capture(d, &pj, &npj, why, sizeof(why)))
		;
	else if (npj != d->j->n_pre_jump)
		snprintf(why, sizeof(why), "snapshot now spans %zu SMMUs, journal %zu", npj,
			 d->j->n_pre_jump);
	for (i = 0; !why[0] && i < npj; i++) {
		const Skhopb__SmmuDigests *x = pj[i], *y = d->j->pre_jump[i];

		if (x->mmio_base != y->mmio_base || x->n_streams != y->n_streams)
			snprintf(why, sizeof(why), "snapshot of SMMU 0x%" PRIx64 " differs from the journal",
				 x->mmio_base);
		for (a = 0; !why[0] && a < x->n_streams; a++)
			if (x->streams[a]->sid != y->streams[a]->sid ||
			    x->streams[a]->ste_digest != y->streams[a]->ste_digest ||
			    x->streams[a]->xlat_digest != y->streams[a]->xlat_digest)
				snprintf(why, sizeof(why), "SID 0x%x differs from the journal",
					 x->streams[a]->sid);
	}
	for (i = 0; i < npj; i++)
		skhod_pb_free(pj[i]);
	free(pj);
	if (why[0]) {
		if (store_luo >= 0)
			d->luo_sfd = store_luo;
		skhod_kernel_rollback(d);
		skhod_pre_jump_free(d->j);
		skhod_transition(d, SKHOD_ARMED, "daemon restarted in PRESERVED but %s: rolled back", why);
		return;
	}
	/* Intact: keep (or re-create) the LUO preservation of the journal. */
	if (store_luo >= 0) {
		d->luo_sfd = store_luo;
	} else {
		int r = skhod_luo_hold(d);

		if (r)
			log_warn("journal not preserved through LUO: %s", skhod_be_err(d, r));
	}
	d->j->restarts++;
	skhod_commit(d);
	log_notice("resumed PRESERVED: %u streams still frozen", skhod_journal_nr_streams(d->j));
}

static void recover_armed(struct skhod *d)
{
	struct skhod_kview k;

	if (!same_boot(d)) {
		skhod_transition(d, SKHOD_ARMED, "rebooted while armed (boot %s): nothing had been preserved",
		      d->boot_id);
		return;
	}
	if (skhod_kernel_view(d, &k, NULL) && (k.out_state != SMMU_KHO_IDLE || k.kexec_loaded)) {
		skhod_kernel_rollback(d);
		skhod_transition(d, SKHOD_ARMED,
		      "daemon restarted during an update attempt (outgoing %s): partial preservation rolled back",
		      skhod_kstate_name(k.out_state));
		return;
	}
	d->j->restarts++;
	skhod_commit(d);
}

/*
 * The disk journal was unusable and no other copy exists: say so in a new
 * journal, with what the kernel holds, instead of pretending to be IDLE.
 * Errors: those of the commit (the daemon then does not start).
 */
static int needs_attention(struct skhod *d, const char *bad, const char *aside)
{
	struct smmu_kho_status st;
	char kern[200];
	bool loaded = false;
	int r;

	r = d->be->ops->status(d->be, &st);
	if (r) {
		snprintf(kern, sizeof(kern), "kernel not answering (%s)", skhod_be_err(d, r));
	} else {
		d->be->ops->kexec_loaded(d->be, &loaded);
		snprintf(kern, sizeof(kern),
			 "kernel: outgoing %s (%u streams), incoming %s (%u adopted), kexec image %s",
			 skhod_kstate_name(st.out_state), st.nr_out_streams,
			 skhod_kstate_name(st.in_state), st.nr_adopted,
			 loaded ? "loaded" : "not loaded");
	}
	r = skhod_transition(d, SKHOD_NEEDS_ATTENTION,
		  "journal %s/%s unusable (%s), moved aside to %s; no LUO or fd-store copy; %s",
		  d->o.state_dir, SKHOD_JOURNAL_FILE, bad, aside, kern);
	if (r)
		log_err("cannot record NEEDS_ATTENTION: %s; not starting", strerror(-r));
	return r;
}

/* "seq N", "none", or "unusable" (-2: an fd was there, its contents not). */
static const char *copy_seq(int64_t seq, char *buf, size_t len)
{
	if (seq >= 0)
		snprintf(buf, len, "seq %" PRId64, seq);
	else
		snprintf(buf, len, "%s", seq == -2 ? "unusable" : "none");
	return buf;
}

int skhod_start(struct skhod *d, const struct skhod_opts *o, int store_memfd,
		int store_luo)
{
	Skhopb__Journal *disk = NULL, *mem = NULL, *luo = NULL, *best;
	char why[200], id[32], bad[200] = "", aside[64] = "", cs[3][32];
	int64_t disk_seq, mem_seq, luo_seq;
	int r, luo_fd;

	memset(d, 0, sizeof(*d));
	d->o = *o;
	d->luo_sfd = -1;
	d->js.dirfd = d->js.memfd = -1;
	r = skhod_backend_open(o->backend, &d->be);
	if (r) {
		if (r == -EINVAL)
			log_err("backend \"%s\": unknown; this build knows %s", o->backend,
				skhod_backend_specs);
		else
			log_err("backend \"%s\": %s", o->backend, strerror(-r));
		return r;
	}
	r = skhod_jstore_open(&d->js, o->state_dir);
	if (r) {
		log_err("%s", d->js.err);
		return r;
	}
	r = d->be->ops->boot_id(d->be, d->boot_id, sizeof(d->boot_id));
	if (r) {
		log_err("boot id: %s", strerror(-r));
		return r;
	}
	/*
	 * Every copy of the journal we can find; the highest seq wins.  An
	 * unusable disk copy is moved aside first, never silently replaced.
	 */
	r = skhod_journal_load(&d->js, &disk, why, sizeof(why));
	if (r == -ENOMEM)
		return r;
	if (r && r != -ENOENT) {
		snprintf(bad, sizeof(bad), "%s", why);
		r = skhod_journal_set_aside(&d->js, skhod_now_ns(d) / 1000000000ull, aside,
					    sizeof(aside));
		if (r) {
			log_err("journal %s/%s is unusable (%s) and cannot be moved aside: %s; not starting rather than replacing it",
				o->state_dir, SKHOD_JOURNAL_FILE, bad, strerror(-r));
			return r;
		}
		log_warn("journal %s/%s unusable: %s; moved aside to %s", o->state_dir,
			 SKHOD_JOURNAL_FILE, bad, aside);
	}
	if (store_memfd >= 0)
		mem = skhod_memfd_journal(store_memfd, "fd-store");
	/* With --handover fd-store /dev/liveupdate is systemd's alone. */
	luo_fd = d->o.handover_fdstore ? -1 : skhod_luo_incoming(d, &luo);
	best = disk;
	snprintf(d->journal_source, sizeof(d->journal_source), "disk");
	if (mem && (!best || mem->seq > best->seq)) {
		best = mem;
		snprintf(d->journal_source, sizeof(d->journal_source), "fd-store");
	}
	if (luo && (!best || luo->seq > best->seq)) {
		best = luo;
		snprintf(d->journal_source, sizeof(d->journal_source), "luo");
	}
	disk_seq = disk ? (int64_t)disk->seq : -1;
	mem_seq = mem ? (int64_t)mem->seq : (store_memfd >= 0 ? -2 : -1);
	luo_seq = luo ? (int64_t)luo->seq : -1;
	if (disk != best)
		skhod_pb_free(disk);
	if (mem != best)
		skhod_pb_free(mem);
	if (luo != best)
		skhod_pb_free(luo);
	/* Our memfd: the stored one, else the handed-over one, else a new one. */
	if (store_memfd >= 0) {
		d->js.memfd = store_memfd;
		if (luo_fd >= 0)
			close(luo_fd);
	} else if (luo_fd >= 0) {
		d->js.memfd = luo_fd;
	} else {
		d->js.memfd = skhod_journal_memfd_create();
		if (d->js.memfd < 0)
			log_warn("no journal memfd: %s", strerror(-d->js.memfd));
	}
	if (!best) {
		skhod_update_id(d, id, sizeof(id));
		best = skhod_journal_new(id, skhod_now_ns(d), d->boot_id);
		if (!best)
			return -ENOMEM;
		snprintf(d->journal_source, sizeof(d->journal_source), "new");
	} else if (bad[0]) {
		log_warn("recovered journal seq %" PRIu64 " (%s) from the %s copy", best->seq,
			 skhod_state_name(best->state), d->journal_source);
	}
	d->j = best;
	if (bad[0] && !strcmp(d->journal_source, "new")) {
		r = needs_attention(d, bad, aside);
		if (r)
			return r;
	}
	log_info("journal %s seq %" PRIu64 " from %s: %s (copies: disk %s, fd-store %s, luo %s)",
		 d->j->update_id, d->j->seq, d->journal_source, skhod_state_name(d->j->state),
		 copy_seq(disk_seq, cs[0], sizeof(cs[0])), copy_seq(mem_seq, cs[1], sizeof(cs[1])),
		 copy_seq(luo_seq, cs[2], sizeof(cs[2])));
	if (d->js.memfd >= 0) {
		int fd = d->js.memfd;

		skhod_sd_notify_fds("FDSTORE=1\nFDNAME=journal", &fd, 1);
	}
	switch (d->j->state) {
	case SKHOD_NEEDS_ATTENTION:
		if (strcmp(d->journal_source, "new"))	/* still, after a restart */
			log_warn("%s", d->j->reason);
		break;
	case SKHOD_ARMED:
		recover_armed(d);
		break;
	case SKHOD_PRESERVED:
		if (same_boot(d)) {
			recover_preserved(d, store_luo);
			store_luo = -1;
		} else {
			recover_after_jump(d);
		}
		break;
	case SKHOD_RECOVERED:
		d->j->restarts++;
		if (!d->o.auto_verify)
			skhod_commit(d);
		else if (skhod_verify_run(d, d->o.probe_cmd != NULL, why, sizeof(why)))
			log_err("automatic verification: %s", why);
		break;
	default:
		/* Make the disk copy current if a memfd copy was newer. */
		if (d->j->seq && strcmp(d->journal_source, "disk"))
			skhod_commit(d);
	}
	if (store_luo >= 0) {
		close(store_luo);
		skhod_sd_notify("FDSTOREREMOVE=1\nFDNAME=luo-session");
	}
	return 0;
}

int skhod_prepare_stop(struct skhod *d)
{
	int r;

	if (!d->j || d->j->state != SKHOD_PRESERVED)
		return 0;
	r = skhod_commit(d);
	if (r)
		log_err("stopping in PRESERVED: journal commit failed: %s", strerror(-r));
	else
		log_notice("stopping in PRESERVED: journal seq %" PRIu64 " committed to %s%s; "
			   "a kexec now (systemctl kexec) hands it to the next boot",
			   d->j->seq, d->o.state_dir,
			   d->js.memfd < 0 ? "" : d->o.handover_fdstore ?
			   " and the memfd in systemd's fd store" : " and the LUO-preserved memfd");
	return r;
}

void skhod_stop(struct skhod *d)
{
	if (d->luo_sfd >= 0)
		close(d->luo_sfd);	/* the fd store keeps its own copy */
	d->luo_sfd = -1;
	skhod_jstore_close(&d->js);
	skhod_pb_free(d->j);
	d->j = NULL;
	if (d->be)
		d->be->ops->destroy(d->be);
	d->be = NULL;
}
