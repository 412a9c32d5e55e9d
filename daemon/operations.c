// SPDX-License-Identifier: GPL-2.0-only
/* smmu-khod operations: arm, update (preserve, freeze, load, jump), abort, finish, history, dispatch. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frame.h"
#include "khod_internal.h"
#include "log.h"
#include "pbutil.h"

/* History replies stop adding journals past this many bytes. */
#define SKHOD_FRAME_BUDGET	(SKHOD_FRAME_MAX - 4096)

/* Undo everything an update attempt did in the kernel; idempotent. */
void skhod_kernel_rollback(struct skhod *d)
{
	bool loaded = false;
	int r;

	r = d->be->ops->abort(d->be);
	if (r)
		log_warn("ABORT: %s", skhod_be_err(d, r));
	if (!d->be->ops->kexec_loaded(d->be, &loaded) && loaded) {
		r = d->be->ops->kexec_unload(d->be);
		if (r)
			log_warn("kexec unload: %s", skhod_be_err(d, r));
	}
	skhod_luo_drop(d);
}

/* ---- operations ---- */

static Skhopb__Response *op_status(struct skhod *d)
{
	return skhod_respond(d, SKHOD_RC_OK, NULL, NULL);
}

void skhod_update_id(struct skhod *d, char *buf, size_t len)
{
	uint64_t t = skhod_now_ns(d);
	time_t s = (time_t)(t / 1000000000ull);
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(buf, len, "%Y%m%dT%H%M%SZ", &tm);
}

/* arm: validate the plan and journal it.  Shared by arm and update. */
static Skhopb__Response *do_arm(struct skhod *d, const Skhopb__Plan *in, bool dry_run)
{
	struct skhod_kview k;
	Skhopb__Plan *plan;
	char why[400], id[32];
	int st = d->j->state, r;

	if (!skhod_state_accepts_arm(st) && st != SKHOD_ARMED)
		return skhod_respond(d, SKHOD_RC_WRONG_STATE, NULL, "cannot arm in state %s",
			       skhod_state_name(st));
	r = skhod_plan_resolve(d, in, &plan, why, sizeof(why));
	if (r == -ENOMEM)
		return NULL;
	if (r)
		return skhod_respond(d, SKHOD_RC_BAD_REQUEST, "fix the plan and run arm again", "invalid plan: %s",
			       why);
	if (dry_run) {
		Skhopb__Response *resp = skhod_respond(d, SKHOD_RC_OK, "run the same command without --dry-run to arm it",
						 "plan is valid (dry run, nothing changed)");

		if (resp)
			resp->plan = plan;
		else
			skhod_pb_free(plan);
		return resp;
	}
	if (skhod_kernel_view(d, &k, NULL) && k.out_state != SMMU_KHO_IDLE) {
		skhod_pb_free(plan);
		return skhod_respond(d, SKHOD_RC_WRONG_STATE, "run `smmu-khoctl abort` to clear it, then arm again",
			       "the kernel already holds preserved devices (outgoing state %s)",
			       skhod_kstate_name(k.out_state));
	}
	if (st != SKHOD_ARMED) {
		Skhopb__Journal *nj;

		if (st != SKHOD_IDLE || d->j->n_history > 1) {
			r = skhod_history_archive(&d->js, d->j);
			if (r)
				log_warn("journal %s not archived: %s", d->j->update_id,
					 strerror(-r));
		}
		skhod_update_id(d, id, sizeof(id));
		nj = skhod_journal_new(id, skhod_now_ns(d), d->boot_id);
		if (!nj) {
			skhod_pb_free(plan);
			return NULL;
		}
		nj->seq = d->j->seq;	/* seq grows across updates: newest wins */
		skhod_pb_free(d->j);
		d->j = nj;
	}
	skhod_plan_drop_choices(plan);	/* the reply's, not the journal's */
	skhod_pb_free(d->j->plan);
	d->j->plan = plan;
	if (skhod_pb_setstr(&d->j->boot_id_armed, d->boot_id))
		return NULL;
	r = skhod_transition(d, SKHOD_ARMED, st == SKHOD_ARMED ? "plan replaced" : "plan armed");
	if (r)
		return skhod_respond(d, SKHOD_RC_FAILED, "check the state directory (space, permissions)",
			       "journal write failed: %s", strerror(-r));
	return skhod_respond(d, SKHOD_RC_OK, NULL, NULL);
}

/* Why FREEZE failed: the ioctl's error and the module's STATUS.out_why. */
static const char *freeze_why(struct skhod *d, int r, char *why, size_t wl)
{
	struct smmu_kho_status st;
	char ow[sizeof(st.out_why) + 1];

	snprintf(why, wl, "%s", skhod_be_err(d, r));
	if (d->be->ops->status(d->be, &st)) {
		d->be->err[0] = 0;
		return why;
	}
	memcpy(ow, st.out_why, sizeof(st.out_why));
	ow[sizeof(st.out_why)] = 0;
	if (ow[0])
		snprintf(why + strlen(why), wl - strlen(why), ": %s", ow);
	return why;
}

static Skhopb__Response *rolled_back(struct skhod *d, const char *what, const char *why)
{
	skhod_kernel_rollback(d);
	skhod_pre_jump_free(d->j);
	skhod_transition(d, SKHOD_ARMED, "%s failed, rolled back: %s", what, why);
	return skhod_respond(d, SKHOD_RC_BACKEND,
		       "nothing is preserved and the plan is still armed: fix the cause, then `smmu-khoctl update` again, or `smmu-khoctl abort`",
		       "%s failed: %s", what, why);
}

/* ARMED -> PRESERVED: preserve, freeze, capture digests, load, LUO, commit. */
static Skhopb__Response *do_preserve(struct skhod *d)
{
	const Skhopb__Plan *p = d->j->plan;
	Skhopb__SmmuDigests **pj;
	struct skhod_kview k;
	char why[512];
	size_t i, npj;
	int r;

	if (skhod_kernel_view(d, &k, NULL) && k.out_state != SMMU_KHO_IDLE)
		skhod_kernel_rollback(d);	/* leftovers of an interrupted attempt */
	if (p->no_device) {
		/* --no-device: no PRESERVE, no FREEZE, no digests; kexec + journal */
		skhod_pre_jump_free(d->j);
		skhod_ctl_progress(d->conn, "no device to preserve (--no-device): no DMA translation crosses the jump");
		goto load;
	}
	for (i = 0; i < p->n_devices; i++) {
		skhod_ctl_progress(d->conn, "preserving %s", p->devices[i]);
		r = d->be->ops->preserve(d->be, p->devices[i]);
		if (r) {
			snprintf(why, sizeof(why), "%s: %s", p->devices[i], skhod_be_err(d, r));
			return rolled_back(d, "PRESERVE", why);
		}
		skhod_crashpoint("update.preserved");
	}
	skhod_ctl_progress(d->conn, "freezing the translation state");
	r = d->be->ops->freeze(d->be);
	if (r)
		return rolled_back(d, "FREEZE", freeze_why(d, r, why, sizeof(why)));
	skhod_crashpoint("update.frozen");
	r = skhod_snapshot_capture(d, &pj, &npj, why, sizeof(why));
	if (r)
		return rolled_back(d, "snapshot check", why);
	skhod_pre_jump_free(d->j);
	d->j->pre_jump = pj;
	d->j->n_pre_jump = npj;
	skhod_ctl_progress(d->conn, "snapshot: %u streams on %zu SMMU(s), digests journaled",
			   skhod_journal_nr_streams(d->j), npj);
	skhod_crashpoint("update.captured");
load:
	skhod_ctl_progress(d->conn, "loading %s (kexec_file_load)", p->kernel);
	r = d->be->ops->kexec_load(d->be, p->kernel, p->initrd, p->cmdline);
	if (r)
		return rolled_back(d, "kexec_file_load", skhod_be_err(d, r));
	skhod_crashpoint("update.loaded");
	r = skhod_luo_hold(d);
	if (r)
		skhod_ctl_progress(d->conn,
				   "warning: journal not preserved through LUO (%s); the next boot reads it from %s",
				   skhod_be_err(d, r), "the state directory");
	else if (d->o.handover_fdstore)
		skhod_ctl_progress(d->conn, "journal memfd %s systemd's fd store (FDNAME=journal): "
				   "systemd carries it through LUO at the kexec",
				   d->js.memfd >= 0 ? "in" : "MISSING from");
	else
		skhod_ctl_progress(d->conn, "journal memfd preserved in LUO session %s",
				   SKHOD_LUO_SESSION);
	skhod_crashpoint("update.luo");
	if (p->no_device)
		r = skhod_transition(d, SKHOD_PRESERVED, "no device preserved (--no-device), kernel %s loaded",
			  p->kernel);
	else
		r = skhod_transition(d, SKHOD_PRESERVED, "%u streams frozen, kernel %s loaded",
			  skhod_journal_nr_streams(d->j), p->kernel);
	if (r) {
		snprintf(why, sizeof(why), "journal write failed: %s", strerror(-r));
		return rolled_back(d, "commit", why);
	}
	skhod_crashpoint("update.committed");
	return NULL;
}

static Skhopb__Response *op_update(struct skhod *d, const Skhopb__UpdateRequest *u)
{
	Skhopb__Response *resp;
	int r;

	if (u->plan) {
		if (d->j->state == SKHOD_PRESERVED)
			return skhod_respond(d, SKHOD_RC_WRONG_STATE, "run `smmu-khoctl update` without a plan to jump, or abort first",
				       "already PRESERVED with an armed plan");
		skhod_ctl_progress(d->conn, "arming the plan");
		resp = do_arm(d, u->plan, false);
		if (!resp || resp->code)
			return resp;
		skhod_pb_free(resp);
	}
	if (d->j->state != SKHOD_ARMED && d->j->state != SKHOD_PRESERVED)
		return skhod_respond(d, SKHOD_RC_WRONG_STATE, NULL, "nothing to update in state %s",
			       skhod_state_name(d->j->state));
	if (d->j->state == SKHOD_ARMED) {
		resp = do_preserve(d);
		if (resp)
			return resp;
	}
	if (u->no_jump)
		return skhod_respond(d, SKHOD_RC_OK, "run `smmu-khoctl update` to jump, or `smmu-khoctl abort`",
			       NULL);
	skhod_ctl_progress(d->conn, "jumping into %s", d->j->plan->kernel);
	skhod_crashpoint("update.before-jump");
	r = d->be->ops->jump(d->be);
	/* Only a failed jump returns; the frozen state is still intact. */
	return skhod_respond(d, SKHOD_RC_BACKEND,
		       "the state is still PRESERVED: fix the cause and run `smmu-khoctl update` again, or `smmu-khoctl abort`",
		       "the jump failed: %s", skhod_be_err(d, r));
}

/*
 * NEEDS_ATTENTION: no journal says what the incoming streams were for, so
 * hand every adopted one back to its driver (what finish would do).
 */
static void release_adopted(struct skhod *d)
{
	struct smmu_kho_stream_info *live = NULL;
	uint32_t n = 0, i;
	int r;

	if (d->be->ops->streams(d->be, &live, &n)) {
		d->be->err[0] = 0;
		return;
	}
	for (i = 0; i < n; i++) {
		char name[sizeof(live[i].dev) + 1];

		if (live[i].state != SMMU_KHO_STREAM_ADOPTED)
			continue;
		memcpy(name, live[i].dev, sizeof(live[i].dev));
		name[sizeof(live[i].dev)] = 0;
		/*
		 * Hitless or refused: without a journal nothing says the owner
		 * re-initialised the device, so a refused one (-EXDEV) stays
		 * on the adopted translation.  -ENOENT: an earlier SID of the
		 * same device released it.
		 */
		r = d->be->ops->release(d->be, name, 0);
		if (r && r != -ENOENT)
			log_warn("RELEASE %s: %s%s", name, skhod_be_err(d, r),
				 r == -EXDEV ? " (the device stays on the adopted translation)" : "");
		d->be->err[0] = 0;
	}
	free(live);
}

static Skhopb__Response *op_abort(struct skhod *d, const Skhopb__AbortRequest *a)
{
	struct skhod_kview k;
	int st = d->j->state, r;
	bool kv = skhod_kernel_view(d, &k, NULL);

	if (st == SKHOD_ARMED || st == SKHOD_PRESERVED || st == SKHOD_NEEDS_ATTENTION) {
		r = d->be->ops->abort(d->be);
		if (r && kv && k.out_state != SMMU_KHO_IDLE)
			return skhod_respond(d, SKHOD_RC_BACKEND, "retry `smmu-khoctl abort`; if it keeps failing, reboot normally (nothing survives a cold boot)",
				       "ABORT failed: %s", skhod_be_err(d, r));
		skhod_crashpoint("abort.kernel");
		skhod_kernel_rollback(d);
		if (st == SKHOD_NEEDS_ATTENTION) {
			release_adopted(d);
			r = skhod_transition(d, SKHOD_ABORTED, "%s; kernel cleaned up after the unusable journal",
				  a->reason[0] ? a->reason : "aborted by the operator");
		} else {
			r = skhod_transition(d, SKHOD_ABORTED, "%s",
				  a->reason[0] ? a->reason : "aborted by the operator");
		}
		if (r)
			return skhod_respond(d, SKHOD_RC_FAILED, "check the state directory (space, permissions)",
				       "journal write failed: %s", strerror(-r));
		return skhod_respond(d, SKHOD_RC_OK, NULL, NULL);
	}
	if (st == SKHOD_RECOVERED || st == SKHOD_VERIFIED)
		return skhod_respond(d, SKHOD_RC_WRONG_STATE, "run `smmu-khoctl finish` to end this update",
			       "the jump already happened: there is nothing to roll back");
	/* Terminal or idle: clean up what an earlier run may have left behind. */
	if (kv && (k.out_state != SMMU_KHO_IDLE || k.kexec_loaded)) {
		skhod_kernel_rollback(d);
		return skhod_respond(d, SKHOD_RC_OK, NULL, "cleared leftover preserved state in the kernel");
	}
	if (st == SKHOD_ABORTED)
		return skhod_respond(d, SKHOD_RC_OK, NULL, "already aborted");
	return skhod_respond(d, SKHOD_RC_WRONG_STATE, NULL, "nothing to abort in state %s", skhod_state_name(st));
}

/*
 * Does the kernel still list an ADOPTED incoming stream of @dev?  -1 when
 * STREAMS does not answer.
 */
static int dev_adopted(struct skhod *d, const char *dev)
{
	struct smmu_kho_stream_info *live = NULL;
	uint32_t n = 0, i;
	int hit = 0;

	if (d->be->ops->streams(d->be, &live, &n)) {
		d->be->err[0] = 0;
		return -1;
	}
	for (i = 0; i < n; i++) {
		char name[sizeof(live[i].dev) + 1];

		memcpy(name, live[i].dev, sizeof(live[i].dev));
		name[sizeof(live[i].dev)] = 0;
		hit |= live[i].state == SMMU_KHO_STREAM_ADOPTED && !strcmp(name, dev);
	}
	free(live);
	return hit;
}

/*
 * Journal what finish was asked before its first RELEASE (a crash keeps
 * it), clearing an earlier refusal.  Errors: -ENOMEM, those of skhod_commit().
 */
static int handback_begin(struct skhod *d, bool replace)
{
	Skhopb__HandBack *h = d->j->handback;

	if (!h) {
		h = malloc(sizeof(*h));
		if (!h)
			return -ENOMEM;
		skhopb__hand_back__init(h);
		d->j->handback = h;
	}
	h->replace = replace;
	h->time_ns = skhod_now_ns(d);
	if (skhod_pb_setstr(&h->refused_device, "") || skhod_pb_setstr(&h->why, ""))
		return -ENOMEM;
	return skhod_commit(d);
}

/*
 * The kernel refused @dev's hitless RELEASE (-EXDEV): its streams stay
 * adopted, translating as before, and the update stays where it was, so
 * finish can be retried.  The journal keeps the device and the kernel's
 * reason (STATUS.release_why: the first differing IOVA).
 */
static Skhopb__Response *handback_refused(struct skhod *d, const char *dev)
{
	Skhopb__HandBack *h = d->j->handback;
	struct smmu_kho_status st;
	char why[sizeof(st.release_why) + 1] = "";
	int r;

	d->be->err[0] = 0;
	if (!d->be->ops->status(d->be, &st)) {
		memcpy(why, st.release_why, sizeof(st.release_why));
		why[sizeof(st.release_why)] = 0;
	}
	d->be->err[0] = 0;
	if (!why[0])
		snprintf(why, sizeof(why), "the kernel named no IOVA");
	if (skhod_pb_setstr(&h->refused_device, dev) || skhod_pb_setstr(&h->why, why))
		return NULL;
	r = skhod_commit(d);
	if (r)
		log_warn("journal write of the refused hand-back failed: %s", strerror(-r));
	return skhod_respond(d, SKHOD_RC_NOT_HITLESS,
			     "make the new owner map every IOVA to the same page and retry `smmu-khoctl finish`; "
			     "if its driver re-initialised the device, `smmu-khoctl finish --replace`",
			     "RELEASE %s refused, not hitless: %s; the device stays on the adopted translation",
			     dev, why);
}

static Skhopb__Response *op_finish(struct skhod *d, const Skhopb__FinishRequest *f)
{
	uint32_t flags = f->replace ? SMMU_KHO_RELEASE_REPLACE : 0;
	int st = d->j->state, r;
	size_t i;

	if (st != SKHOD_VERIFIED && st != SKHOD_FAILED)
		return skhod_respond(d, SKHOD_RC_WRONG_STATE, NULL, "nothing to finish in state %s",
			       skhod_state_name(st));
	r = handback_begin(d, f->replace);
	if (r)
		return skhod_respond(d, SKHOD_RC_FAILED, "check the state directory (space, permissions)",
				     "journal write failed: %s", strerror(-r));
	for (i = 0; d->j->plan && i < d->j->plan->n_devices; i++) {
		const char *dev = d->j->plan->devices[i];

		r = d->be->ops->release(d->be, dev, flags);
		if (r == -EXDEV)
			return handback_refused(d, dev);
		/*
		 * -ENOENT: nothing adopted left for it (refused, or released
		 * already, e.g. by a finish that crashed before its commit):
		 * done, unless the kernel still lists an adopted stream of it.
		 * -ENODEV: the device is gone.  Neither stops finish.
		 */
		if (r == -ENOENT && dev_adopted(d, dev) > 0)
			return skhod_respond(d, SKHOD_RC_BACKEND, "retry `smmu-khoctl finish`; see the daemon log",
				       "RELEASE %s said nothing is adopted, but the kernel lists an adopted stream of it",
				       dev);
		if (r && r != -ENOENT && r != -ENODEV)
			return skhod_respond(d, SKHOD_RC_BACKEND, "retry `smmu-khoctl finish`; see the daemon log",
				       "RELEASE %s failed: %s", dev, skhod_be_err(d, r));
		if (r)
			log_info("RELEASE %s: %s: nothing left to release", dev,
				 r == -ENOENT ? "nothing adopted (already released or refused)" :
				 "no such device");
		d->be->err[0] = 0;
		skhod_crashpoint("finish.released");
	}
	r = skhod_transition(d, SKHOD_FINISHED, "%s", f->replace ?
			     "streams released to the driver (--replace: its domain replaces the adopted translation)" :
			     "streams handed back hitless (the new domain translates the same)");
	if (r)
		return skhod_respond(d, SKHOD_RC_FAILED, "check the state directory (space, permissions)",
			       "journal write failed: %s", strerror(-r));
	return skhod_respond(d, SKHOD_RC_OK, NULL, NULL);
}

static Skhopb__Response *op_history(struct skhod *d, const Skhopb__HistoryRequest *h)
{
	Skhopb__Response *resp = skhod_respond(d, SKHOD_RC_OK, NULL, NULL);
	Skhopb__Journal **arr = NULL, *cur;
	size_t n = 0, i, budget = SKHOD_FRAME_BUDGET;
	int r;

	if (!resp)
		return NULL;
	cur = skhod_pb_dup(d->j);
	if (!cur || SKHOD_PB_PUSH(&resp->history, &resp->n_history, cur)) {
		skhod_pb_free(cur);
		skhod_pb_free(resp);
		return NULL;
	}
	r = skhod_history_list(&d->js, h->max ? h->max - 1 : 0, &arr, &n);
	if (r)
		log_warn("history: %s", strerror(-r));
	for (i = 0; i < n; i++) {
		size_t sz = skhopb__response__get_packed_size(resp) +
			    skhopb__journal__get_packed_size(arr[i]) + 8;

		if ((h->max && resp->n_history >= h->max) || sz > budget ||
		    SKHOD_PB_PUSH(&resp->history, &resp->n_history, arr[i])) {
			skhod_pb_free(arr[i]);
			continue;
		}
	}
	free(arr);
	return resp;
}

Skhopb__Response *skhod_handle(void *arg, struct skhod_ctl_conn *c,
			       const Skhopb__Request *req)
{
	struct skhod *d = arg;
	Skhopb__Response *r = NULL;

	d->conn = c;
	switch (req->op_case) {
	case SKHOPB__REQUEST__OP_STATUS:
		r = op_status(d);
		break;
	case SKHOPB__REQUEST__OP_ARM:
		r = do_arm(d, req->arm->plan, req->arm->dry_run);
		break;
	case SKHOPB__REQUEST__OP_UPDATE:
		r = op_update(d, req->update);
		break;
	case SKHOPB__REQUEST__OP_VERIFY:
		r = skhod_op_verify(d, req->verify);
		break;
	case SKHOPB__REQUEST__OP_ABORT:
		r = op_abort(d, req->abort);
		break;
	case SKHOPB__REQUEST__OP_HISTORY:
		r = op_history(d, req->history);
		break;
	case SKHOPB__REQUEST__OP_FINISH:
		r = op_finish(d, req->finish);
		break;
	default:
		r = skhod_respond(d, SKHOD_RC_BAD_REQUEST, "use smmu-khoctl of the same version",
			    "unknown operation %d", (int)req->op_case);
	}
	d->conn = NULL;
	return r;
}
