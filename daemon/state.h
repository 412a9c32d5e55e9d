/* smmu-khod update state machine: states, allowed transitions, invariants. */
#ifndef SKHOD_STATE_H
#define SKHOD_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smmu_kho.pb-c.h"

/*
 * State diagram (one update; the journal records every arrow taken).
 *
 *                 arm                update: PRESERVE+FREEZE,
 *      IDLE ---------------> ARMED   digests, kexec load, LUO
 *                            |  ^  \------------------------> PRESERVED
 *           re-arm, rollback |  |                              |  |  |
 *           of a failed      +--+   <--------------------------+  |  |
 *           update attempt          rollback: frozen state lost   |  |
 *                                   or the jump failed            |  |
 *      ARMED, PRESERVED --abort--> ABORTED                        |  |
 *                                                     (jump: kexec) |
 *                  booted without the handover (cold boot) <-------+ |
 *                  -> FAILED                                         |
 *                                      new boot, handover adopted    v
 *                                                            RECOVERED
 *                                      verify: every stream intact |
 *                                 +--------------------------------+
 *                                 v                                 \ some stream
 *                             VERIFIED --re-verify fails--> FAILED <-+ lost/changed
 *                                 |                           |
 *                          finish |           finish          |
 *                                 v                           |
 *                             FINISHED <----------------------+
 *
 *      IDLE --start-up: journal unusable, no copy--> NEEDS_ATTENTION
 *                                                          | abort
 *                                                          v
 *                                                       ABORTED
 *
 * IDLE, FINISHED, FAILED and ABORTED accept a new `arm`, which archives the
 * journal into the history and starts a new one (IDLE -> ARMED).
 * NEEDS_ATTENTION accepts only `abort` (kernel ABORT, kexec unload).
 *
 * Invariants.  skhod_invariants() checks them on a journal (and, when given,
 * on what the kernel reports); in debug/test builds SKHOD_CHECK() runs it
 * after every transition and aborts the daemon on a violation.
 *
 *  I1  state is a known state; history is non-empty and its last entry is
 *      the current state.
 *  I2  history starts at IDLE, every step is an allowed transition and
 *      timestamps never decrease.
 *  I3  outside IDLE and NEEDS_ATTENTION (and an ABORTED that came from
 *      NEEDS_ATTENTION) the plan names an absolute kernel path and at
 *      least one device, without duplicates - or, with --no-device, none
 *      at all.
 *  I4  in PRESERVED, RECOVERED, VERIFIED, FINISHED (and FAILED after the
 *      jump) the journal holds the pre-jump digests (none with --no-device),
 *      SIDs unique per SMMU, and every planned device owns at least one
 *      preserved stream.
 *  I5  in RECOVERED, VERIFIED and FINISHED the recovering boot is known and
 *      differs from the boot that armed the plan: the jump happened.
 *  I6  VERIFIED: a verification is present, it covers every pre-jump stream
 *      (nr_streams == journal streams == nr_ok) and nr_failed == 0; the
 *      verdict is PASS.  FINISHED keeps the verdict it was reached with.
 *  I7  FAILED has verdict FAIL, ABORTED verdict ABORTED, both a reason;
 *      IDLE, ARMED, PRESERVED, RECOVERED and NEEDS_ATTENTION have no verdict.
 *  I8  (kernel) ARMED: the kernel's outgoing state is IDLE - nothing is
 *      preserved while the update is merely armed.
 *  I9  (kernel) PRESERVED: outgoing state FROZEN with exactly the journal's
 *      number of streams (IDLE and 0 with --no-device), and a kexec image
 *      is loaded.
 *  I10 (kernel) ABORTED: outgoing state IDLE and no kexec image loaded -
 *      an abort leaves nothing preserved.
 *  I11 (kernel) RECOVERED and VERIFIED: the incoming state is ADOPTED or
 *      RELEASED (finish crashed after its last RELEASE), or IDLE with
 *      --no-device; IN_REFUSED and ALL_REFUSED lead to FAILED, never here.
 *  I12 a committed journal has version SKHO_PB_VERSION and
 *      0 < seq <= SKHOD_SEQ_MAX.
 *  I13 NEEDS_ATTENTION: a reason, and no plan, digests or verification
 *      (by I2 it is the second entry of a fresh journal).
 */
/* The C names of the wire enum skhopb.State (the numbers are the format). */
#define SKHOD_IDLE		SKHOPB__STATE__STATE_IDLE
#define SKHOD_ARMED		SKHOPB__STATE__STATE_ARMED
#define SKHOD_PRESERVED		SKHOPB__STATE__STATE_PRESERVED
#define SKHOD_RECOVERED		SKHOPB__STATE__STATE_RECOVERED
#define SKHOD_VERIFIED		SKHOPB__STATE__STATE_VERIFIED
#define SKHOD_FINISHED		SKHOPB__STATE__STATE_FINISHED
#define SKHOD_FAILED		SKHOPB__STATE__STATE_FAILED
#define SKHOD_ABORTED		SKHOPB__STATE__STATE_ABORTED
#define SKHOD_NEEDS_ATTENTION	SKHOPB__STATE__STATE_NEEDS_ATTENTION
#define SKHOD_NR_STATES		9

/* Highest seq a journal may carry: far beyond any real count, never wraps. */
#define SKHOD_SEQ_MAX		(1ull << 62)

/* Journal/API format major; a reader refuses any other. */
#define SKHO_PB_VERSION	1

/* "VERIFIED" etc.; "UNKNOWN" for values outside the enum.  Never NULL. */
const char *skhod_state_name(int state);

/* Name of an enum smmu_kho_state value (kernel side), "?" if unknown. */
const char *skhod_kstate_name(uint32_t s);

/* What the operator does next in @state (one line).  Never NULL. */
const char *skhod_state_hint(int state);

/* True when the machine may go from @from to @to (see the diagram). */
bool skhod_transition_allowed(int from, int to);

/* States from which a new `arm` may start (archiving the journal first). */
bool skhod_state_accepts_arm(int state);

/*
 * Move @j to @to: check the transition, append a PhaseEvent (@now_ns,
 * @boot_id, @reason), set state, and for FAILED/ABORTED/VERIFIED also the
 * verdict and (for FAILED/ABORTED, or any non-NULL reason of a rollback)
 * Journal.reason.  Nothing is written to disk here.
 * Errors: -EINVAL (transition not allowed; @j unchanged), -ENOMEM.
 */
int skhod_enter(Skhopb__Journal *j, int to, uint64_t now_ns,
		const char *boot_id, const char *reason);

/* What the kernel reports, for the kernel-side invariants I8-I11. */
struct skhod_kview {
	uint32_t out_state;	/* enum smmu_kho_state */
	uint32_t in_state;
	uint32_t nr_out_streams;
	bool kexec_loaded;
};

/* Number of streams in the journal's pre-jump snapshot. */
uint32_t skhod_journal_nr_streams(const Skhopb__Journal *j);

/*
 * Check I1-I13 (I8-I11 only when @k is non-NULL; I12 only when
 * @committed).  Returns 0 when all hold, else the number of the first
 * violated invariant with a description in @why.  Never fails otherwise.
 */
int skhod_invariants(const Skhopb__Journal *j, const struct skhod_kview *k,
		     bool committed, char *why, size_t whylen);

/*
 * Debug check after a transition: in builds with SKHOD_DEBUG defined it logs
 * the violated invariant and aborts; otherwise it only logs.
 */
void skhod_check(const Skhopb__Journal *j, const struct skhod_kview *k,
		 const char *where);
#define SKHOD_CHECK(j, k) skhod_check((j), (k), __func__)

#endif /* SKHOD_STATE_H */
