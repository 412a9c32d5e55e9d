// SPDX-License-Identifier: GPL-2.0-only
/* State machine: allowed transitions, what entering a state records, and invariants I1-I12. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "journal.h"
#include "ktest.h"
#include "pbutil.h"
#include "smmu_kho.h"
#include "state.h"

/* The diagram in daemon/state.h, written out independently. */
static const int allowed_pairs[][2] = {
	{ SKHOD_IDLE, SKHOD_ARMED },
	{ SKHOD_ARMED, SKHOD_ARMED },		/* re-arm, rollback */
	{ SKHOD_ARMED, SKHOD_PRESERVED },
	{ SKHOD_ARMED, SKHOD_ABORTED },
	{ SKHOD_PRESERVED, SKHOD_ARMED },	/* rollback */
	{ SKHOD_PRESERVED, SKHOD_ABORTED },
	{ SKHOD_PRESERVED, SKHOD_RECOVERED },	/* the jump */
	{ SKHOD_PRESERVED, SKHOD_FAILED },	/* booted without the handover */
	{ SKHOD_RECOVERED, SKHOD_VERIFIED },
	{ SKHOD_RECOVERED, SKHOD_FAILED },
	{ SKHOD_VERIFIED, SKHOD_FAILED },	/* re-verify found a failure */
	{ SKHOD_VERIFIED, SKHOD_FINISHED },
	{ SKHOD_FAILED, SKHOD_FINISHED },
	{ SKHOD_IDLE, SKHOD_NEEDS_ATTENTION },	/* start-up: journal unusable */
	{ SKHOD_NEEDS_ATTENTION, SKHOD_ABORTED },	/* abort cleans up */
};

static void transition_table_matches_the_diagram(struct ktest *t)
{
	int from, to;
	size_t i;

	for (from = -1; from <= SKHOD_NR_STATES; from++)
		for (to = -1; to <= SKHOD_NR_STATES; to++) {
			bool want = false;

			for (i = 0; i < sizeof(allowed_pairs) / sizeof(allowed_pairs[0]); i++)
				want |= allowed_pairs[i][0] == from && allowed_pairs[i][1] == to;
			KEXPECT(t, skhod_transition_allowed(from, to) == want, "%s -> %s: %d",
				skhod_state_name(from), skhod_state_name(to), !want);
		}
	/* terminal states only accept a new arm (new journal) */
	KEXPECT(t, skhod_state_accepts_arm(SKHOD_FINISHED), "FINISHED");
	KEXPECT(t, skhod_state_accepts_arm(SKHOD_FAILED), "FAILED");
	KEXPECT(t, skhod_state_accepts_arm(SKHOD_ABORTED), "ABORTED");
	KEXPECT(t, !skhod_state_accepts_arm(SKHOD_PRESERVED), "PRESERVED must abort first");
	KEXPECT(t, !skhod_state_accepts_arm(SKHOD_VERIFIED), "VERIFIED must finish first");
	KEXPECT(t, !skhod_state_accepts_arm(SKHOD_NEEDS_ATTENTION), "NEEDS_ATTENTION must abort first");
	KEXPECT(t, !strcmp(skhod_state_name(SKHOD_NEEDS_ATTENTION), "NEEDS_ATTENTION"), "name");
}

static Skhopb__StreamDigest *stream(uint32_t sid, const char *dev)
{
	Skhopb__StreamDigest *s = malloc(sizeof(*s));

	skhopb__stream_digest__init(s);
	s->smmu_base = 0x9050000;
	s->sid = sid;
	s->ste_digest = 0x1000 + sid;
	s->xlat_digest = 0x2000 + sid;
	skhod_pb_setstr(&s->device, dev);
	return s;
}

/* A well-formed journal that reached @state along the usual path. */
static Skhopb__Journal *journal_in(int state, struct skhod_kview *k)
{
	Skhopb__Journal *j = skhod_journal_new("u1", 1000, "boot-a");
	Skhopb__Plan *p = malloc(sizeof(*p));
	Skhopb__SmmuDigests *sd = malloc(sizeof(*sd));
	uint64_t now = 2000;
	char *d;

	skhopb__plan__init(p);
	skhod_pb_setstr(&p->kernel, "/boot/vmlinuz-next");
	d = strdup("0000:00:02.0");
	SKHOD_PB_PUSH(&p->devices, &p->n_devices, d);
	d = strdup("0000:00:03.0");
	SKHOD_PB_PUSH(&p->devices, &p->n_devices, d);
	j->plan = p;
	skhod_pb_setstr(&j->boot_id_armed, "boot-a");
	j->seq = 1;
	memset(k, 0, sizeof(*k));
	if (state == SKHOD_IDLE) {
		free(sd);
		return j;
	}
	if (state == SKHOD_NEEDS_ATTENTION) {
		/* a fresh journal: nothing planned, the old one is lost */
		skhod_pb_free(j->plan);
		j->plan = NULL;
		skhod_enter(j, SKHOD_NEEDS_ATTENTION, now++, "boot-a",
			    "journal /var/lib/smmu-kho/journal.pb unusable (CRC)");
		k->out_state = SMMU_KHO_FROZEN;	/* anything: I8-I11 do not apply */
		k->kexec_loaded = true;
		free(sd);
		return j;
	}
	skhod_enter(j, SKHOD_ARMED, now++, "boot-a", "plan armed");
	if (state == SKHOD_ABORTED) {
		skhod_enter(j, SKHOD_ABORTED, now++, "boot-a", "operator");
		free(sd);
		return j;
	}
	if (state == SKHOD_ARMED) {
		free(sd);
		return j;
	}
	skhopb__smmu_digests__init(sd);
	sd->mmio_base = 0x9050000;
	SKHOD_PB_PUSH(&sd->streams, &sd->n_streams, stream(0x10, "0000:00:02.0"));
	SKHOD_PB_PUSH(&sd->streams, &sd->n_streams, stream(0x18, "0000:00:03.0"));
	SKHOD_PB_PUSH(&sd->streams, &sd->n_streams, stream(0x19, "0000:00:03.0"));
	SKHOD_PB_PUSH(&j->pre_jump, &j->n_pre_jump, sd);
	skhod_enter(j, SKHOD_PRESERVED, now++, "boot-a", NULL);
	k->out_state = SMMU_KHO_FROZEN;
	k->nr_out_streams = 3;
	k->kexec_loaded = true;
	if (state == SKHOD_PRESERVED)
		return j;
	memset(k, 0, sizeof(*k));
	k->in_state = SMMU_KHO_ADOPTED;
	skhod_pb_setstr(&j->boot_id_recovered, "boot-b");
	skhod_enter(j, SKHOD_RECOVERED, now++, "boot-b", NULL);
	if (state == SKHOD_RECOVERED)
		return j;
	j->verification = malloc(sizeof(*j->verification));
	skhopb__verification__init(j->verification);
	j->verification->nr_streams = 3;
	if (state == SKHOD_FAILED) {
		j->verification->nr_ok = 2;
		j->verification->nr_failed = 1;
		skhod_enter(j, SKHOD_FAILED, now++, "boot-b", "SID 0x18 lost");
		return j;
	}
	j->verification->nr_ok = 3;
	skhod_enter(j, SKHOD_VERIFIED, now++, "boot-b", NULL);
	if (state == SKHOD_FINISHED) {
		skhod_enter(j, SKHOD_FINISHED, now++, "boot-b", NULL);
		k->in_state = SMMU_KHO_RELEASED;
	}
	return j;
}

static void enter_records_history_verdict_and_clears_reason(struct ktest *t)
{
	struct skhod_kview k;
	Skhopb__Journal *j = journal_in(SKHOD_VERIFIED, &k);

	KEXPECT_EQ(t, j->state, SKHOD_VERIFIED);
	/* IDLE, ARMED, PRESERVED, RECOVERED, VERIFIED */
	KEXPECT_EQ(t, j->n_history, 5);
	KEXPECT_EQ(t, j->history[4]->time_ns, 2003);	/* 4th step after t=2000 */
	KEXPECT(t, !strcmp(j->history[4]->boot_id, "boot-b"), "boot id of the event");
	KEXPECT_EQ(t, j->verdict, SKHOPB__VERDICT__VERDICT_PASS);
	KEXPECT(t, !j->reason[0], "progress clears the reason: %s", j->reason);
	skhod_pb_free(j);
}

static void disallowed_transition_is_refused_and_changes_nothing(struct ktest *t)
{
	struct skhod_kview k;
	Skhopb__Journal *j = journal_in(SKHOD_IDLE, &k);

	KEXPECT_EQ(t, skhod_enter(j, SKHOD_VERIFIED, 5, "b", "x"), -EINVAL);
	KEXPECT_EQ(t, j->state, SKHOD_IDLE);
	KEXPECT_EQ(t, j->n_history, 1);
	KEXPECT(t, !j->reason[0], "reason untouched");
	skhod_pb_free(j);
}

static void rollback_to_armed_keeps_its_reason_without_verdict(struct ktest *t)
{
	struct skhod_kview k;
	Skhopb__Journal *j = journal_in(SKHOD_PRESERVED, &k);

	KEXPECT_EQ(t, skhod_enter(j, SKHOD_ARMED, 9000, "boot-a", "frozen state lost"), 0);
	KEXPECT(t, !strcmp(j->reason, "frozen state lost"), "reason %s", j->reason);
	KEXPECT_EQ(t, j->verdict, SKHOPB__VERDICT__VERDICT_NONE);
	skhod_pb_free(j);
}

static void failed_and_aborted_carry_verdict_and_reason(struct ktest *t)
{
	struct skhod_kview k;
	Skhopb__Journal *f = journal_in(SKHOD_FAILED, &k), *a = journal_in(SKHOD_ABORTED, &k);

	KEXPECT_EQ(t, f->verdict, SKHOPB__VERDICT__VERDICT_FAIL);
	KEXPECT(t, !strcmp(f->reason, "SID 0x18 lost"), "%s", f->reason);
	KEXPECT_EQ(t, a->verdict, SKHOPB__VERDICT__VERDICT_ABORTED);
	KEXPECT(t, !strcmp(a->reason, "operator"), "%s", a->reason);
	/* FINISHED after FAILED keeps what it finished */
	KEXPECT_EQ(t, skhod_enter(f, SKHOD_FINISHED, 9000, "boot-b", "done"), 0);
	KEXPECT_EQ(t, f->verdict, SKHOPB__VERDICT__VERDICT_FAIL);
	KEXPECT(t, !strcmp(f->reason, "SID 0x18 lost"), "%s", f->reason);
	skhod_pb_free(f);
	skhod_pb_free(a);
}

static void invariants_hold_in_every_state_reached_normally(struct ktest *t)
{
	static const int states[] = { SKHOD_IDLE, SKHOD_ARMED, SKHOD_PRESERVED,
				      SKHOD_RECOVERED, SKHOD_VERIFIED, SKHOD_FINISHED,
				      SKHOD_FAILED, SKHOD_ABORTED, SKHOD_NEEDS_ATTENTION };
	size_t i;

	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		struct skhod_kview k;
		Skhopb__Journal *j = journal_in(states[i], &k);
		char why[256];
		int inv = skhod_invariants(j, &k, true, why, sizeof(why));

		KEXPECT(t, !inv, "%s: %s", skhod_state_name(states[i]), why);
		skhod_pb_free(j);
	}
}

/* Each mutation breaks exactly the named invariant. */
struct breakage {
	const char *what;
	int state;
	int inv;
	void (*mutate)(Skhopb__Journal *j, struct skhod_kview *k);
};

static void m_unknown_state(Skhopb__Journal *j, struct skhod_kview *k)
{
	(void)k;
	j->state = 42;
}

static void m_history_behind(Skhopb__Journal *j, struct skhod_kview *k)
{
	(void)k;
	j->history[j->n_history - 1]->state = SKHOD_ARMED;	/* state says PRESERVED */
}

static void m_history_starts_armed(Skhopb__Journal *j, struct skhod_kview *k)
{
	(void)k;
	j->history[0]->state = SKHOD_ARMED;
}

static void m_history_skips(Skhopb__Journal *j, struct skhod_kview *k)
{
	(void)k;
	j->history[1]->state = SKHOD_PRESERVED;	/* IDLE -> PRESERVED directly */
}

static void m_history_time_back(Skhopb__Journal *j, struct skhod_kview *k)
{
	(void)k;
	j->history[2]->time_ns = 1;
}

static void m_relative_kernel(Skhopb__Journal *j, struct skhod_kview *k)
{
	(void)k;
	skhod_pb_setstr(&j->plan->kernel, "vmlinuz");
}

static void m_duplicate_device(Skhopb__Journal *j, struct skhod_kview *k)
{
	(void)k;
	skhod_pb_setstr(&j->plan->devices[1], j->plan->devices[0]);
}

static void m_no_digests(Skhopb__Journal *j, struct skhod_kview *k)
{
	(void)k;
	skhod_pb_free(j->pre_jump[0]);
	free(j->pre_jump);
	j->pre_jump = NULL;
	j->n_pre_jump = 0;
}

static void m_duplicate_sid(Skhopb__Journal *j, struct skhod_kview *k)
{
	(void)k;
	j->pre_jump[0]->streams[2]->sid = 0x18;
}

static void m_device_without_stream(Skhopb__Journal *j, struct skhod_kview *k)
{
	(void)k;
	skhod_pb_setstr(&j->pre_jump[0]->streams[0]->device, "0000:00:03.0");
}

static void m_same_boot(Skhopb__Journal *j, struct skhod_kview *k)
{
	(void)k;
	skhod_pb_setstr(&j->boot_id_recovered, "boot-a");
}

static void m_verified_with_failure(Skhopb__Journal *j, struct skhod_kview *k)
{
	(void)k;
	j->verification->nr_failed = 1;
	j->verification->nr_ok = 2;
}

static void m_verified_without_verification(Skhopb__Journal *j, struct skhod_kview *k)
{
	(void)k;
	skhod_pb_free(j->verification);
	j->verification = NULL;
}

static void m_failed_without_reason(Skhopb__Journal *j, struct skhod_kview *k)
{
	(void)k;
	skhod_pb_setstr(&j->reason, NULL);
}

static void m_armed_with_verdict(Skhopb__Journal *j, struct skhod_kview *k)
{
	(void)k;
	j->verdict = SKHOPB__VERDICT__VERDICT_PASS;
}

static void m_armed_kernel_frozen(Skhopb__Journal *j, struct skhod_kview *k)
{
	(void)j;
	k->out_state = SMMU_KHO_FROZEN;
}

static void m_preserved_unloaded(Skhopb__Journal *j, struct skhod_kview *k)
{
	(void)j;
	k->kexec_loaded = false;
}

static void m_preserved_stream_count(Skhopb__Journal *j, struct skhod_kview *k)
{
	(void)j;
	k->nr_out_streams = 2;
}

static void m_aborted_still_selected(Skhopb__Journal *j, struct skhod_kview *k)
{
	(void)j;
	k->out_state = SMMU_KHO_SELECTED;
}

static void m_aborted_still_loaded(Skhopb__Journal *j, struct skhod_kview *k)
{
	(void)j;
	k->kexec_loaded = true;
}

static void m_verified_not_adopted(Skhopb__Journal *j, struct skhod_kview *k)
{
	(void)j;
	k->in_state = SMMU_KHO_IDLE;
}

static void m_recovered_handover_refused(Skhopb__Journal *j, struct skhod_kview *k)
{
	(void)j;
	k->in_state = SMMU_KHO_IN_REFUSED;
}

static void m_verified_all_refused(Skhopb__Journal *j, struct skhod_kview *k)
{
	(void)j;
	k->in_state = SMMU_KHO_ALL_REFUSED;
}

static void m_no_device_with_devices(Skhopb__Journal *j, struct skhod_kview *k)
{
	(void)k;
	j->plan->no_device = true;	/* the plan still lists two devices */
}

static void m_seq_zero(Skhopb__Journal *j, struct skhod_kview *k)
{
	(void)k;
	j->seq = 0;
}

static void m_version_two(Skhopb__Journal *j, struct skhod_kview *k)
{
	(void)k;
	j->version = 2;
}

static void m_seq_beyond_max(Skhopb__Journal *j, struct skhod_kview *k)
{
	(void)k;
	j->seq = SKHOD_SEQ_MAX + 1;	/* a few commits from wrapping to 0 */
}

static void m_attention_without_reason(Skhopb__Journal *j, struct skhod_kview *k)
{
	(void)k;
	skhod_pb_setstr(&j->reason, NULL);
}

static void m_attention_with_plan(Skhopb__Journal *j, struct skhod_kview *k)
{
	Skhopb__Plan *p = malloc(sizeof(*p));

	(void)k;
	skhopb__plan__init(p);
	j->plan = p;
}


static const struct breakage breakages[] = {
	{ "unknown state", SKHOD_ARMED, 1, m_unknown_state },
	{ "history lags the state", SKHOD_PRESERVED, 1, m_history_behind },
	{ "history starts in ARMED", SKHOD_ARMED, 2, m_history_starts_armed },
	{ "history skips ARMED", SKHOD_PRESERVED, 2, m_history_skips },
	{ "history goes back in time", SKHOD_PRESERVED, 2, m_history_time_back },
	{ "relative kernel path", SKHOD_ARMED, 3, m_relative_kernel },
	{ "device listed twice", SKHOD_ARMED, 3, m_duplicate_device },
	{ "PRESERVED without digests", SKHOD_PRESERVED, 4, m_no_digests },
	{ "SID twice on one SMMU", SKHOD_VERIFIED, 4, m_duplicate_sid },
	{ "planned device without stream", SKHOD_PRESERVED, 4, m_device_without_stream },
	{ "RECOVERED in the arming boot", SKHOD_RECOVERED, 5, m_same_boot },
	{ "VERIFIED with a failed stream", SKHOD_VERIFIED, 6, m_verified_with_failure },
	{ "VERIFIED without verification", SKHOD_VERIFIED, 6, m_verified_without_verification },
	{ "FAILED without reason", SKHOD_FAILED, 7, m_failed_without_reason },
	{ "ARMED with a verdict", SKHOD_ARMED, 7, m_armed_with_verdict },
	{ "ARMED while the kernel is frozen", SKHOD_ARMED, 8, m_armed_kernel_frozen },
	{ "PRESERVED without kexec image", SKHOD_PRESERVED, 9, m_preserved_unloaded },
	{ "PRESERVED with fewer kernel streams", SKHOD_PRESERVED, 9, m_preserved_stream_count },
	{ "ABORTED with devices still selected", SKHOD_ABORTED, 10, m_aborted_still_selected },
	{ "ABORTED with the image still loaded", SKHOD_ABORTED, 10, m_aborted_still_loaded },
	{ "VERIFIED but nothing adopted", SKHOD_VERIFIED, 11, m_verified_not_adopted },
	{ "RECOVERED but the handover was refused", SKHOD_RECOVERED, 11, m_recovered_handover_refused },
	{ "VERIFIED but every stream was refused", SKHOD_VERIFIED, 11, m_verified_all_refused },
	{ "--no-device plan listing devices", SKHOD_ARMED, 3, m_no_device_with_devices },
	{ "committed with seq 0", SKHOD_ARMED, 12, m_seq_zero },
	{ "committed with version 2", SKHOD_ARMED, 12, m_version_two },
	{ "seq beyond SKHOD_SEQ_MAX", SKHOD_ARMED, 12, m_seq_beyond_max },
	{ "NEEDS_ATTENTION without a reason", SKHOD_NEEDS_ATTENTION, 13, m_attention_without_reason },
	{ "NEEDS_ATTENTION with a plan", SKHOD_NEEDS_ATTENTION, 13, m_attention_with_plan },
};

static void each_broken_invariant_is_reported_by_number(struct ktest *t)
{
	size_t i;

	for (i = 0; i < sizeof(breakages) / sizeof(breakages[0]); i++) {
		const struct breakage *b = &breakages[i];
		struct skhod_kview k;
		Skhopb__Journal *j = journal_in(b->state, &k);
		char why[256];
		int inv;

		b->mutate(j, &k);
		inv = skhod_invariants(j, &k, true, why, sizeof(why));
		KEXPECT(t, inv == b->inv, "%s: got I%d (%s), want I%d", b->what, inv, why, b->inv);
		skhod_pb_free(j);
	}
}

/*
 * A crash between the last RELEASE of finish and the FINISHED commit: the
 * journal says VERIFIED, the kernel incoming RELEASED.  That is a state
 * the daemon can be in (finish is idempotent), so I11 accepts it.
 */
static void verified_with_every_stream_released_keeps_i11(struct ktest *t)
{
	struct skhod_kview k;
	Skhopb__Journal *j = journal_in(SKHOD_VERIFIED, &k);
	char why[256];

	k.in_state = SMMU_KHO_RELEASED;
	KEXPECT_EQ(t, skhod_invariants(j, &k, true, why, sizeof(why)), 0);
	skhod_pb_free(j);
}

static void abort_from_needs_attention_reaches_aborted_without_a_plan(struct ktest *t)
{
	struct skhod_kview k;
	Skhopb__Journal *j = journal_in(SKHOD_NEEDS_ATTENTION, &k);
	char why[256];

	KEXPECT_EQ(t, skhod_enter(j, SKHOD_ARMED, 9000, "boot-a", "arm"), -EINVAL);
	KEXPECT_EQ(t, skhod_enter(j, SKHOD_ABORTED, 9000, "boot-a", "operator"), 0);
	KEXPECT_EQ(t, j->verdict, SKHOPB__VERDICT__VERDICT_ABORTED);
	/* after the cleanup the kernel holds nothing (I10) */
	memset(&k, 0, sizeof(k));
	KEXPECT_EQ(t, skhod_invariants(j, &k, true, why, sizeof(why)), 0);
	/* an ABORTED that came through ARMED still needs its plan (I3) */
	skhod_pb_free(j);
	j = journal_in(SKHOD_ABORTED, &k);
	skhod_pb_free(j->plan);
	j->plan = NULL;
	KEXPECT_EQ(t, skhod_invariants(j, &k, true, why, sizeof(why)), 3);
	skhod_pb_free(j);
}

static void kernel_invariants_are_skipped_without_a_kernel_view(struct ktest *t)
{
	struct skhod_kview k;
	Skhopb__Journal *j = journal_in(SKHOD_ARMED, &k);
	char why[256];

	/* what I8 checks cannot be judged when the kernel did not answer */
	k.out_state = SMMU_KHO_FROZEN;
	KEXPECT_EQ(t, skhod_invariants(j, &k, true, why, sizeof(why)), 8);
	KEXPECT_EQ(t, skhod_invariants(j, NULL, true, why, sizeof(why)), 0);
	skhod_pb_free(j);
}

static void debug_check_aborts_the_daemon_on_a_violation(struct ktest *t)
{
	struct skhod_kview k;
	Skhopb__Journal *j = journal_in(SKHOD_ARMED, &k);
	pid_t pid;
	int st;

	j->seq = 0;		/* breaks I12 */
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 2);
		skhod_check(j, &k, "test");	/* built with -DSKHOD_DEBUG */
		_exit(0);
	}
	waitpid(pid, &st, 0);
	KEXPECT(t, WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "status 0x%x", st);
	j->seq = 1;
	pid = fork();
	if (pid == 0) {
		skhod_check(j, &k, "test");	/* a sound journal passes */
		_exit(0);
	}
	waitpid(pid, &st, 0);
	KEXPECT(t, WIFEXITED(st) && !WEXITSTATUS(st), "status 0x%x", st);
	skhod_pb_free(j);
}

/* What the kernel legitimately reports in RECOVERED/VERIFIED, and --no-device plans. */
static void reachable_kernel_states_satisfy_the_invariants(struct ktest *t)
{
	static const struct { int state; uint32_t in; } ok[] = {
		{ SKHOD_RECOVERED, SMMU_KHO_ADOPTED },	/* some streams may be refused */
		{ SKHOD_VERIFIED, SMMU_KHO_ADOPTED },
		{ SKHOD_VERIFIED, SMMU_KHO_RELEASED },	/* released by hand before finish */
		{ SKHOD_RECOVERED, SMMU_KHO_RELEASED },
	};
	struct skhod_kview k;
	Skhopb__Journal *j;
	char why[256];
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		j = journal_in(ok[i].state, &k);
		k.in_state = ok[i].in;
		KEXPECT_EQ(t, skhod_invariants(j, &k, true, why, sizeof(why)), 0);
		skhod_pb_free(j);
	}
	/* --no-device: ARMED and PRESERVED without devices, digests or frozen state */
	j = journal_in(SKHOD_ARMED, &k);
	for (i = 0; i < j->plan->n_devices; i++)
		free(j->plan->devices[i]);
	free(j->plan->devices);
	j->plan->devices = NULL;
	j->plan->n_devices = 0;
	KEXPECT_EQ(t, skhod_invariants(j, &k, true, why, sizeof(why)), 3);	/* no flag: I3 */
	j->plan->no_device = true;
	KEXPECT_EQ(t, skhod_invariants(j, &k, true, why, sizeof(why)), 0);
	skhod_enter(j, SKHOD_PRESERVED, 5000, "boot-a", NULL);
	k.kexec_loaded = true;	/* out_state IDLE, 0 streams */
	KEXPECT_EQ(t, skhod_invariants(j, &k, true, why, sizeof(why)), 0);
	k.out_state = SMMU_KHO_FROZEN;	/* something frozen after all */
	KEXPECT_EQ(t, skhod_invariants(j, &k, true, why, sizeof(why)), 9);
	k.out_state = SMMU_KHO_IDLE;
	skhod_pb_setstr(&j->boot_id_recovered, "boot-b");
	skhod_enter(j, SKHOD_RECOVERED, 5001, "boot-b", NULL);
	k.in_state = SMMU_KHO_IDLE;	/* no handover, as planned */
	KEXPECT_EQ(t, skhod_invariants(j, &k, true, why, sizeof(why)), 0);
	j->plan->no_device = false;	/* a device plan may not recover without one */
	KEXPECT(t, skhod_invariants(j, &k, true, why, sizeof(why)) != 0, "%s", why);
	skhod_pb_free(j);
}

KTEST_MAIN("daemon_state",
	   KTEST_CASE(transition_table_matches_the_diagram),
	   KTEST_CASE(enter_records_history_verdict_and_clears_reason),
	   KTEST_CASE(disallowed_transition_is_refused_and_changes_nothing),
	   KTEST_CASE(rollback_to_armed_keeps_its_reason_without_verdict),
	   KTEST_CASE(failed_and_aborted_carry_verdict_and_reason),
	   KTEST_CASE(invariants_hold_in_every_state_reached_normally),
	   KTEST_CASE(each_broken_invariant_is_reported_by_number),
	   KTEST_CASE(kernel_invariants_are_skipped_without_a_kernel_view),
	   KTEST_CASE(verified_with_every_stream_released_keeps_i11),
	   KTEST_CASE(abort_from_needs_attention_reaches_aborted_without_a_plan),
	   KTEST_CASE(debug_check_aborts_the_daemon_on_a_violation),
	   KTEST_CASE(reachable_kernel_states_satisfy_the_invariants))
