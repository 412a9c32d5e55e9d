// SPDX-License-Identifier: GPL-2.0-only
/* smmu-khod update state machine: states, allowed transitions, invariants. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pbutil.h"
#include "smmu_kho.h"
#include "state.h"

_Static_assert(SKHOD_NEEDS_ATTENTION == SKHOD_NR_STATES - 1, "states are 0..8");

static const char *const state_names[SKHOD_NR_STATES] = {
	[SKHOD_IDLE] = "IDLE",
	[SKHOD_ARMED] = "ARMED",
	[SKHOD_PRESERVED] = "PRESERVED",
	[SKHOD_RECOVERED] = "RECOVERED",
	[SKHOD_VERIFIED] = "VERIFIED",
	[SKHOD_FINISHED] = "FINISHED",
	[SKHOD_FAILED] = "FAILED",
	[SKHOD_ABORTED] = "ABORTED",
	[SKHOD_NEEDS_ATTENTION] = "NEEDS_ATTENTION",
};

const char *skhod_state_name(int state)
{
	if (state < 0 || state >= SKHOD_NR_STATES)
		return "UNKNOWN";
	return state_names[state];
}

/* allowed[from] is a bit mask of the states reachable in one step. */
static const unsigned int allowed[SKHOD_NR_STATES] = {
	[SKHOD_IDLE] = 1u << SKHOD_ARMED | 1u << SKHOD_NEEDS_ATTENTION,
	[SKHOD_ARMED] = 1u << SKHOD_ARMED | 1u << SKHOD_PRESERVED |
			1u << SKHOD_ABORTED,
	[SKHOD_PRESERVED] = 1u << SKHOD_ARMED | 1u << SKHOD_ABORTED |
			    1u << SKHOD_RECOVERED | 1u << SKHOD_FAILED,
	[SKHOD_RECOVERED] = 1u << SKHOD_VERIFIED | 1u << SKHOD_FAILED,
	[SKHOD_VERIFIED] = 1u << SKHOD_FAILED | 1u << SKHOD_FINISHED,
	[SKHOD_FAILED] = 1u << SKHOD_FINISHED,
	[SKHOD_FINISHED] = 0,
	[SKHOD_ABORTED] = 0,
	[SKHOD_NEEDS_ATTENTION] = 1u << SKHOD_ABORTED,
};

const char *skhod_kstate_name(uint32_t s)
{
	static const char *const n[] = {
		[SMMU_KHO_IDLE] = "IDLE", [SMMU_KHO_SELECTED] = "SELECTED",
		[SMMU_KHO_FROZEN] = "FROZEN", [SMMU_KHO_ADOPTED] = "ADOPTED",
		[SMMU_KHO_RELEASED] = "RELEASED", [SMMU_KHO_IN_REFUSED] = "IN_REFUSED",
		[SMMU_KHO_ALL_REFUSED] = "ALL_REFUSED", [SMMU_KHO_JUMPING] = "JUMPING",
	};

	return s < sizeof(n) / sizeof(n[0]) ? n[s] : "?";
}

const char *skhod_state_hint(int state)
{
	switch (state) {
	case SKHOD_IDLE:
		return "arm a plan: smmu-khoctl arm --kernel K --initrd I --reuse-cmdline --device BDF";
	case SKHOD_ARMED:
		return "run `smmu-khoctl update` to preserve and jump, or `smmu-khoctl abort`";
	case SKHOD_PRESERVED:
		return "run `smmu-khoctl update` to jump now, or `smmu-khoctl abort` to roll back";
	case SKHOD_RECOVERED:
		return "run `smmu-khoctl verify`";
	case SKHOD_VERIFIED:
		return "run `smmu-khoctl finish` to hand the streams back to the driver";
	case SKHOD_FINISHED:
		return "nothing to do; `smmu-khoctl arm` starts the next update";
	case SKHOD_FAILED:
		return "read the reason; failed streams have abort STEs: rebind their drivers, then `smmu-khoctl finish --replace`";
	case SKHOD_ABORTED:
		return "nothing is preserved; `smmu-khoctl arm` starts again";
	case SKHOD_NEEDS_ATTENTION:
		return "the journal was unusable (see reason and kernel): `smmu-khoctl abort` rolls the kernel back, then arm again";
	}
	return "unknown state: restart smmu-khod and read its log";
}

bool skhod_transition_allowed(int from, int to)
{
	if (from < 0 || from >= SKHOD_NR_STATES || to < 0 || to >= SKHOD_NR_STATES)
		return false;
	return allowed[from] & (1u << to);
}

bool skhod_state_accepts_arm(int state)
{
	return state == SKHOD_IDLE || state == SKHOD_FINISHED ||
	       state == SKHOD_FAILED || state == SKHOD_ABORTED;
}

int skhod_enter(Skhopb__Journal *j, int to, uint64_t now_ns,
		const char *boot_id, const char *reason)
{
	Skhopb__PhaseEvent *ev;
	int verdict = j->verdict;

	if (!skhod_transition_allowed(j->state, to))
		return -EINVAL;
	ev = malloc(sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	skhopb__phase_event__init(ev);
	ev->state = to;
	ev->time_ns = now_ns;
	if (skhod_pb_setstr(&ev->boot_id, boot_id) ||
	    skhod_pb_setstr(&ev->reason, reason) ||
	    SKHOD_PB_PUSH(&j->history, &j->n_history, ev)) {
		skhod_pb_free(ev);
		return -ENOMEM;
	}
	switch (to) {
	case SKHOD_VERIFIED:
		verdict = SKHOPB__VERDICT__VERDICT_PASS;
		break;
	case SKHOD_FAILED:
		verdict = SKHOPB__VERDICT__VERDICT_FAIL;
		break;
	case SKHOD_ABORTED:
		verdict = SKHOPB__VERDICT__VERDICT_ABORTED;
		break;
	case SKHOD_FINISHED:
		break;		/* keeps PASS or FAIL */
	default:
		verdict = SKHOPB__VERDICT__VERDICT_NONE;
	}
	/*
	 * Journal.reason explains FAILED and ABORTED, and an ARMED reached by a
	 * rollback; progress clears it; FINISHED keeps the failure it ends.
	 */
	if (to == SKHOD_FAILED || to == SKHOD_ABORTED || to == SKHOD_NEEDS_ATTENTION ||
	    (to == SKHOD_ARMED && j->state != SKHOD_IDLE)) {
		if (skhod_pb_setstr(&j->reason, reason))
			return -ENOMEM;	/* the event is in; reason kept old */
	} else if (to != SKHOD_FINISHED) {
		skhod_pb_setstr(&j->reason, NULL);
	}
	j->verdict = verdict;
	j->state = to;
	return 0;
}

uint32_t skhod_journal_nr_streams(const Skhopb__Journal *j)
{
	uint32_t n = 0;
	size_t i;

	for (i = 0; i < j->n_pre_jump; i++)
		n += j->pre_jump[i]->n_streams;
	return n;
}

static int invariant_broken(char *why, size_t len, int inv, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int invariant_broken(char *why, size_t len, int inv, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (why && len) {
		n = snprintf(why, len, "I%d: ", inv);
		va_start(ap, fmt);
		if (n > 0 && (size_t)n < len)
			vsnprintf(why + n, len - n, fmt, ap);
		va_end(ap);
	}
	return inv;
}

static bool device_has_stream(const Skhopb__Journal *j, const char *dev)
{
	size_t i, k;

	for (i = 0; i < j->n_pre_jump; i++)
		for (k = 0; k < j->pre_jump[i]->n_streams; k++)
			if (!strcmp(j->pre_jump[i]->streams[k]->device, dev))
				return true;
	return false;
}

static int check_pre_jump(const Skhopb__Journal *j, char *why, size_t len)
{
	size_t i, a, b;

	if (!skhod_journal_nr_streams(j) && !(j->plan && j->plan->no_device))
		return invariant_broken(why, len, 4, "%s without pre-jump digests",
			    skhod_state_name(j->state));
	for (i = 0; i < j->n_pre_jump; i++) {
		const Skhopb__SmmuDigests *s = j->pre_jump[i];

		for (a = 0; a < s->n_streams; a++)
			for (b = a + 1; b < s->n_streams; b++)
				if (s->streams[a]->sid == s->streams[b]->sid)
					return invariant_broken(why, len, 4,
						    "SID 0x%x twice on SMMU 0x%llx",
						    s->streams[a]->sid,
						    (unsigned long long)s->mmio_base);
	}
	for (i = 0; j->plan && i < j->plan->n_devices; i++)
		if (!device_has_stream(j, j->plan->devices[i]))
			return invariant_broken(why, len, 4, "planned device %s has no preserved stream",
				    j->plan->devices[i]);
	return 0;
}

/* I3 does not apply: nothing was planned (IDLE), or the plan was lost. */
static bool planless(const Skhopb__Journal *j)
{
	return j->state == SKHOD_IDLE || j->state == SKHOD_NEEDS_ATTENTION ||
	       (j->state == SKHOD_ABORTED && j->n_history >= 2 &&
		j->history[j->n_history - 2]->state == SKHOD_NEEDS_ATTENTION);
}

int skhod_invariants(const Skhopb__Journal *j, const struct skhod_kview *k,
		     bool committed, char *why, size_t len)
{
	int st = j->state;
	size_t i, a;
	int r;

	if (why && len)
		*why = 0;
	/* I1 */
	if (st < 0 || st >= SKHOD_NR_STATES)
		return invariant_broken(why, len, 1, "unknown state %d", st);
	if (!j->n_history)
		return invariant_broken(why, len, 1, "empty history");
	if ((int)j->history[j->n_history - 1]->state != st)
		return invariant_broken(why, len, 1, "history ends in %s, state is %s",
			    skhod_state_name(j->history[j->n_history - 1]->state),
			    skhod_state_name(st));
	/* I2 */
	if (j->history[0]->state != SKHOD_IDLE)
		return invariant_broken(why, len, 2, "history starts in %s",
			    skhod_state_name(j->history[0]->state));
	for (i = 1; i < j->n_history; i++) {
		const Skhopb__PhaseEvent *p = j->history[i - 1], *q = j->history[i];

		if (!skhod_transition_allowed(p->state, q->state))
			return invariant_broken(why, len, 2, "history step %zu: %s -> %s not allowed",
				    i, skhod_state_name(p->state), skhod_state_name(q->state));
		if (q->time_ns < p->time_ns)
			return invariant_broken(why, len, 2, "history step %zu goes back in time", i);
	}
	/* I3 */
	if (!planless(j)) {
		if (!j->plan || j->plan->kernel[0] != '/')
			return invariant_broken(why, len, 3, "%s without an absolute kernel path",
				    skhod_state_name(st));
		if (!j->plan->n_devices && !j->plan->no_device)
			return invariant_broken(why, len, 3, "%s without devices", skhod_state_name(st));
		if (j->plan->n_devices && j->plan->no_device)
			return invariant_broken(why, len, 3, "%s: --no-device plan with %zu devices",
				    skhod_state_name(st), j->plan->n_devices);
		for (i = 0; i < j->plan->n_devices; i++)
			for (a = i + 1; a < j->plan->n_devices; a++)
				if (!strcmp(j->plan->devices[i], j->plan->devices[a]))
					return invariant_broken(why, len, 3, "device %s listed twice",
						    j->plan->devices[i]);
	}
	/* I4 */
	if (st == SKHOD_PRESERVED || st == SKHOD_RECOVERED || st == SKHOD_VERIFIED ||
	    st == SKHOD_FINISHED || (st == SKHOD_FAILED && j->boot_id_recovered[0])) {
		r = check_pre_jump(j, why, len);
		if (r)
			return r;
	}
	/* I5 */
	if (st == SKHOD_RECOVERED || st == SKHOD_VERIFIED || st == SKHOD_FINISHED) {
		if (!j->boot_id_recovered[0])
			return invariant_broken(why, len, 5, "%s without a recovering boot",
				    skhod_state_name(st));
		if (!strcmp(j->boot_id_recovered, j->boot_id_armed))
			return invariant_broken(why, len, 5, "%s in the boot that armed the plan (%s)",
				    skhod_state_name(st), j->boot_id_armed);
	}
	/* I6 */
	if (st == SKHOD_VERIFIED) {
		const Skhopb__Verification *v = j->verification;
		uint32_t n = skhod_journal_nr_streams(j);

		if (!v)
			return invariant_broken(why, len, 6, "VERIFIED without a verification");
		if (v->nr_failed || v->nr_streams != n || v->nr_ok != n)
			return invariant_broken(why, len, 6,
				    "VERIFIED with %u/%u ok, %u failed, %u streams journaled",
				    v->nr_ok, v->nr_streams, v->nr_failed, n);
		if (j->verdict != SKHOPB__VERDICT__VERDICT_PASS)
			return invariant_broken(why, len, 6, "VERIFIED with verdict %d", j->verdict);
	}
	if (st == SKHOD_FINISHED && j->verdict != SKHOPB__VERDICT__VERDICT_PASS &&
	    j->verdict != SKHOPB__VERDICT__VERDICT_FAIL)
		return invariant_broken(why, len, 6, "FINISHED with verdict %d", j->verdict);
	/* I7 */
	if (st == SKHOD_FAILED && (j->verdict != SKHOPB__VERDICT__VERDICT_FAIL ||
				   !j->reason[0]))
		return invariant_broken(why, len, 7, "FAILED needs verdict FAIL and a reason");
	if (st == SKHOD_ABORTED && (j->verdict != SKHOPB__VERDICT__VERDICT_ABORTED ||
				    !j->reason[0]))
		return invariant_broken(why, len, 7, "ABORTED needs verdict ABORTED and a reason");
	if ((st == SKHOD_IDLE || st == SKHOD_ARMED || st == SKHOD_PRESERVED ||
	     st == SKHOD_RECOVERED || st == SKHOD_NEEDS_ATTENTION) &&
	    j->verdict != SKHOPB__VERDICT__VERDICT_NONE)
		return invariant_broken(why, len, 7, "%s with a verdict", skhod_state_name(st));
	if (k) {
		/* I8 */
		if (st == SKHOD_ARMED && k->out_state != SMMU_KHO_IDLE)
			return invariant_broken(why, len, 8, "ARMED but kernel out_state is %u",
				    k->out_state);
		/* I9 */
		if (st == SKHOD_PRESERVED &&
		    (k->out_state != (j->plan && j->plan->no_device ? SMMU_KHO_IDLE :
							       SMMU_KHO_FROZEN) ||
		     !k->kexec_loaded || k->nr_out_streams != skhod_journal_nr_streams(j)))
			return invariant_broken(why, len, 9,
				    "PRESERVED but kernel out_state %u, %u streams (journal %u), kexec %s",
				    k->out_state, k->nr_out_streams,
				    skhod_journal_nr_streams(j),
				    k->kexec_loaded ? "loaded" : "not loaded");
		/* I10 */
		if (st == SKHOD_ABORTED &&
		    (k->out_state != SMMU_KHO_IDLE || k->kexec_loaded))
			return invariant_broken(why, len, 10, "ABORTED but kernel out_state %u, kexec %s",
				    k->out_state, k->kexec_loaded ? "loaded" : "not loaded");
		/* I11 */
		if ((st == SKHOD_RECOVERED || st == SKHOD_VERIFIED) &&
		    !(k->in_state == SMMU_KHO_ADOPTED || k->in_state == SMMU_KHO_RELEASED ||
		      (k->in_state == SMMU_KHO_IDLE && j->plan && j->plan->no_device)))
			return invariant_broken(why, len, 11, "%s but kernel in_state %s",
				    skhod_state_name(st), skhod_kstate_name(k->in_state));
	}
	/* I12 */
	if (committed && (j->version != SKHO_PB_VERSION || !j->seq || j->seq > SKHOD_SEQ_MAX))
		return invariant_broken(why, len, 12, "committed journal version %u seq %llu",
			    j->version, (unsigned long long)j->seq);
	/* I13 (I2 already makes it the second entry of a fresh journal) */
	if (st == SKHOD_NEEDS_ATTENTION) {
		if (!j->reason[0])
			return invariant_broken(why, len, 13, "NEEDS_ATTENTION without a reason");
		if (j->plan || j->n_pre_jump || j->verification)
			return invariant_broken(why, len, 13, "NEEDS_ATTENTION with a plan, digests or a verification");
	}
	return 0;
}

void skhod_check(const Skhopb__Journal *j, const struct skhod_kview *k,
		 const char *where)
{
	char why[256];
	int inv = skhod_invariants(j, k, true, why, sizeof(why));

	if (!inv)
		return;
	log_err("invariant violated after %s: %s", where, why);
#ifdef SKHOD_DEBUG
	abort();
#endif
}
