/* SPDX-License-Identifier: GPL-2.0-only */
/* smmu-khod internals shared by the files that make up the daemon core (not an API). */
#ifndef SKHOD_KHOD_INTERNAL_H
#define SKHOD_KHOD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crashpoint.h"
#include "khod.h"
#include "state.h"
#include "verify.h"

/* Result codes of a control request (proto/smmu_kho.proto, ResultCode). */
#define SKHOD_RC_OK		SKHOPB__RESULT_CODE__RC_OK
#define SKHOD_RC_FAILED		SKHOPB__RESULT_CODE__RC_FAILED
#define SKHOD_RC_BAD_REQUEST	SKHOPB__RESULT_CODE__RC_BAD_REQUEST
#define SKHOD_RC_WRONG_STATE	SKHOPB__RESULT_CODE__RC_WRONG_STATE
#define SKHOD_RC_VERIFY_FAILED	SKHOPB__RESULT_CODE__RC_VERIFY_FAILED
#define SKHOD_RC_BACKEND	SKHOPB__RESULT_CODE__RC_BACKEND
#define SKHOD_RC_NOT_HITLESS	SKHOPB__RESULT_CODE__RC_NOT_HITLESS

/* transition.c: the backend's clock, error text and view; state commits. */
uint64_t skhod_now_ns(struct skhod *d);
/* The backend's explanation of @r (or strerror), consumed; static buffer. */
const char *skhod_be_err(struct skhod *d, int r);
/* STATUS + kexec_loaded into @k (and @stp); false when STATUS fails. */
bool skhod_kernel_view(struct skhod *d, struct skhod_kview *k, struct smmu_kho_status *stp);
/* Enter @to and commit; memory is restored on failure.  -ENOMEM, -EINVAL, -errno. */
int skhod_transition(struct skhod *d, int to, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Commit without a transition.  Errors: those of skhod_journal_commit(). */
int skhod_commit(struct skhod *d);

/* luo.c: the journal memfd crossing the jump in LUO session "smmu-khod". */
/* Create the session and preserve the memfd.  -ENOENT: no memfd; backend -errno. */
int skhod_luo_hold(struct skhod *d);
void skhod_luo_drop(struct skhod *d);
/* Journal of a memfd copy, NULL when absent or unusable (logged as @what). */
Skhopb__Journal *skhod_memfd_journal(int fd, const char *what);
/* The handed-over session's journal into *@out; its memfd, or -1. */
int skhod_luo_incoming(struct skhod *d, Skhopb__Journal **out);

/* response.c: a reply carrying the status; NULL on allocation failure. */
Skhopb__Response *skhod_respond(struct skhod *d, int code, const char *hint,
				const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* plan.c: validate a requested plan.  -EINVAL/-errno with @why, -ENOMEM. */
int skhod_plan_resolve(struct skhod *d, const Skhopb__Plan *in, Skhopb__Plan **out,
		       char *why, size_t wl);
/*
 * select.c: expand the selector SKHOD_SELECT_VFIO in @p->devices (each
 * device seen goes to @p->choices with the reason) and refuse any device
 * PRESERVE would refuse (-EPROTONOSUPPORT); -ENOENT: the selector matched
 * nothing.  Errors with @why; -ENOMEM.
 */
int skhod_plan_select(struct skhod *d, Skhopb__Plan *p, char *why, size_t wl);
/* Free @p's selector report (choices and counts): replies carry it, journals do not. */
void skhod_plan_drop_choices(Skhopb__Plan *p);

/* snapshot_check.c: pre-jump digests from the outgoing FDT, checked. */
void skhod_pre_jump_free(Skhopb__Journal *j);
/* -EIO/-errno with @why, -ENOMEM. */
int skhod_snapshot_capture(struct skhod *d, Skhopb__SmmuDigests ***out, size_t *nout,
			   char *why, size_t wl);

/* operations.c: the update operations. */
/* ABORT, kexec unload, LUO session closed; idempotent, errors logged. */
void skhod_kernel_rollback(struct skhod *d);
/* "YYYYmmddTHHMMSSZ" of the backend clock. */
void skhod_update_id(struct skhod *d, char *buf, size_t len);

/* verify_run.c: verification against the live kernel after the jump. */
/* STREAMS + own digests + skhod_verify().  -errno with @why, -ENOMEM. */
int skhod_verify_live(struct skhod *d, const struct skhod_verify_opts *vo,
		      struct smmu_kho_stream_info **live, uint32_t *nlive,
		      Skhopb__Verification **v, char *why, size_t wl);
/* Verify, quarantine failures, move RECOVERED/VERIFIED on.  -errno with @why. */
int skhod_verify_run(struct skhod *d, bool probe, char *why, size_t wl);
Skhopb__Response *skhod_op_verify(struct skhod *d, const Skhopb__VerifyRequest *v);

#endif /* SKHOD_KHOD_INTERNAL_H */
