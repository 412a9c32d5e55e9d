// SPDX-License-Identifier: GPL-2.0-only
/* Crash injection: SIGKILL smmu-khod at every phase, restart, expect resume or clean rollback. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend.h"
#include "dtest.h"
#include "pbutil.h"
#include "smmu_kho.h"
#include "state.h"

#define HAS(s, sub) ((s) && strstr((s), (sub)))

enum setup {
	AT_IDLE,	/* daemon started, nothing armed */
	AT_ARMED,	/* default plan armed */
	AT_PRESERVED,	/* update --no-jump done */
	AT_JUMPED,	/* fake kexec done, daemon not restarted yet */
	AT_VERIFIED,	/* restarted after the jump: VERIFIED */
};

enum then {
	THEN_UPDATE,	/* update -> jump -> restart must reach VERIFIED */
	THEN_FINISH,	/* finish must reach FINISHED */
	THEN_VERIFY_FINISH,	/* verify keeps the daemon sound, then finish */
	THEN_ABORT,	/* abort must reach ABORTED with nothing preserved */
	THEN_NOTHING,
};

struct crash_case {
	enum setup setup;
	const char *crash_at;		/* fake backend crash point, "" for kill -9 */
	const char *cmd[4];		/* smmu-khoctl command that runs into it */
	int want_state;			/* after the restart */
	int want_out;			/* kernel outgoing state after the restart */
	int want_kexec;			/* kexec image loaded after the restart */
	const char *want_reason;	/* substring of Journal.reason, or NULL */
	enum then then;
};

/* What the fake kernel reports, for the kernel-side invariants. */
static void kview(struct dt_env *e, struct skhod_kview *k)
{
	k->out_state = (uint32_t)dt_kernel(e, "out_state");
	k->in_state = (uint32_t)dt_kernel(e, "in_state");
	k->kexec_loaded = dt_kernel(e, "kexec_loaded") == 1;
	/* the default plan preserves 3 streams when frozen */
	k->nr_out_streams = k->out_state == SMMU_KHO_FROZEN ? 3 : 0;
}

/* The journal on disk is whole, consistent and agrees with the kernel. */
static void expect_intact(struct ktest *t, struct dt_env *e, int state)
{
	struct skhod_kview k;
	Skhopb__Journal *j;
	char why[256];
	int inv;

	j = dt_journal(e, why, sizeof(why));
	if (!j && state == SKHOD_IDLE)
		return;		/* nothing was ever committed */
	KEXPECT(t, j, "journal unreadable: %s", why);
	if (!j)
		return;
	kview(e, &k);
	KEXPECT_EQ(t, j->state, state);
	inv = skhod_invariants(j, &k, true, why, sizeof(why));
	KEXPECT(t, !inv, "invariant %s", why);
	skhod_pb_free(j);
}

static int reach(struct ktest *t, struct dt_env *e, enum setup s)
{
	struct dt_out o;
	int st;

	if (dt_start(e, NULL, NULL))
		return -1;
	if (s == AT_IDLE)
		return 0;
	dt_arm(e, &o);
	KEXPECT_EQ(t, o.code, 0);
	dt_out_free(&o);
	if (s == AT_ARMED)
		return 0;
	dt_ctl(e, &o, "update", s == AT_PRESERVED ? "--no-jump" : NULL, NULL);
	KEXPECT_EQ(t, o.code, 0);
	dt_out_free(&o);
	if (s == AT_PRESERVED)
		return 0;
	st = dt_wait_exit(e, 10000);
	KEXPECT(t, st != -1, "no jump");
	if (s == AT_JUMPED)
		return 0;
	return dt_start(e, NULL, NULL);
}

static void run(struct ktest *t, const struct crash_case *c)
{
	struct dt_env e;
	struct dt_out o;
	char crash[96];
	int st, restart_tries = 0;

	KASSERT(t, !dt_setup(&e, NULL));
	if (reach(t, &e, c->setup)) {
		ktest_fail(t, __FILE__, __LINE__, "setup did not reach its phase");
		goto out;
	}
	snprintf(crash, sizeof(crash), "%s\n", c->crash_at);
	if (c->crash_at[0])
		dt_write(&e, "crash_at", crash);
	if (c->cmd[0]) {
		if (!strcmp(c->cmd[0], "@arm"))
			dt_arm(&e, &o);		/* the default plan */
		else
			dt_ctlv(&e, &o, c->cmd);
		/*
		 * Killed mid-request: smmu-khoctl reports the lost reply (exit 1),
		 * except after the "jumping" frame, where a closed connection is
		 * what a real kexec looks like (exit 0, "should now be booting").
		 */
		if (!strcmp(c->crash_at, "update.before-jump"))
			KEXPECT(t, o.code == 0 && HAS(o.out, "should now be booting"), "%s", o.out);
		else
			KEXPECT_EQ(t, o.code, c->crash_at[0] ? 1 : 0);
		dt_out_free(&o);
		if (c->crash_at[0]) {
			st = dt_wait_exit(&e, 10000);
			KEXPECT(t, st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
				"daemon not killed at %s (status 0x%x)", c->crash_at, st);
		}
	}
	if (!c->crash_at[0] && e.pid)
		dt_kill9(&e);		/* plain kill -9 in a steady state */
	/* Restart; a crash point hit during recovery kills it once more. */
	while (dt_start(&e, NULL, &st)) {
		KEXPECT(t, WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
			"restart exited with 0x%x", st);
		if (++restart_tries > 1 || t->failed)
			goto out;
	}
	/* the crash file is consumed: the point was really reached */
	KEXPECT(t, !c->crash_at[0] || !dt_read(&e, "crash_at"), "crash point %s never reached",
		c->crash_at);
	expect_intact(t, &e, c->want_state);
	KEXPECT_EQ(t, dt_kernel(&e, "out_state"), c->want_out);
	KEXPECT_EQ(t, dt_kernel(&e, "kexec_loaded") == 1, c->want_kexec);
	if (c->want_reason) {
		char why[200];
		Skhopb__Journal *j = dt_journal(&e, why, sizeof(why));

		KEXPECT(t, j && HAS(j->reason, c->want_reason), "reason \"%s\" lacks \"%s\"",
			j ? j->reason : why, c->want_reason);
		skhod_pb_free(j);
	}
	switch (c->then) {
	case THEN_UPDATE:
		dt_ctl(&e, &o, "update", NULL);
		KEXPECT_EQ(t, o.code, 0);	/* the resumed/rolled-back update goes through */
		dt_out_free(&o);
		st = dt_wait_exit(&e, 10000);
		KEXPECT(t, st != -1, "no jump after the restart");
		KASSERT(t, !dt_start(&e, NULL, NULL));
		expect_intact(t, &e, SKHOD_VERIFIED);
		break;
	case THEN_FINISH:
		dt_ctl(&e, &o, "finish", NULL);
		KEXPECT_EQ(t, o.code, 0);
		dt_out_free(&o);
		expect_intact(t, &e, SKHOD_FINISHED);
		KEXPECT_EQ(t, dt_kernel(&e, "in_state"), SMMU_KHO_RELEASED);
		break;
	case THEN_VERIFY_FINISH:
		/*
		 * Some streams are already back with the driver: their digests
		 * no longer say anything about the handover, so verify refuses
		 * (exit 6, EX_STATE) and names finish; the daemon stays up and
		 * the journal sound.
		 */
		dt_ctl(&e, &o, "verify", NULL);
		KEXPECT(t, o.code == 6 && HAS(o.err, "already released"), "verify: %d %s%s",
			o.code, o.out, o.err);
		dt_out_free(&o);
		expect_intact(t, &e, SKHOD_VERIFIED);
		dt_ctl(&e, &o, "finish", NULL);
		KEXPECT_EQ(t, o.code, 0);
		dt_out_free(&o);
		expect_intact(t, &e, SKHOD_FINISHED);
		KEXPECT_EQ(t, dt_kernel(&e, "in_state"), SMMU_KHO_RELEASED);
		/* finish again: nothing left to release, still done */
		dt_ctl(&e, &o, "finish", NULL);
		KEXPECT_EQ(t, o.code, 6);	/* EX_STATE: FINISHED has nothing to finish */
		dt_out_free(&o);
		break;
	case THEN_ABORT:
		dt_ctl(&e, &o, "abort", NULL);
		KEXPECT_EQ(t, o.code, 0);
		dt_out_free(&o);
		expect_intact(t, &e, SKHOD_ABORTED);
		KEXPECT_EQ(t, dt_kernel(&e, "out_state"), SMMU_KHO_IDLE);
		KEXPECT_EQ(t, dt_kernel(&e, "kexec_loaded"), 0);
		break;
	case THEN_NOTHING:
		break;
	}
out:
	if (t->failed)
		dt_dump_log(&e);
	dt_cleanup(&e);
}

#define UPDATE		{ "update", NULL }
#define NOJUMP		{ "update", "--no-jump", NULL }

/* Killed while committing the arm: the arm either happened or it did not. */
static void kill_while_committing_arm_leaves_idle(struct ktest *t)
{
	/* the first commit's tmp file is written, the rename never happens */
	const struct crash_case c = { AT_IDLE, "journal.tmp-written", { "@arm", NULL },
		SKHOD_IDLE, SMMU_KHO_IDLE, 0, NULL, THEN_NOTHING };

	run(t, &c);
}

static void kill_after_first_preserve_rolls_back_to_armed(struct ktest *t)
{
	const struct crash_case c = { AT_ARMED, "update.preserved", UPDATE, SKHOD_ARMED,
		SMMU_KHO_IDLE, 0, "restarted during an update attempt", THEN_UPDATE };

	run(t, &c);
}

static void kill_after_last_preserve_rolls_back_to_armed(struct ktest *t)
{
	/* 2nd PRESERVE of the two-device plan */
	const struct crash_case c = { AT_ARMED, "update.preserved 2", UPDATE, SKHOD_ARMED,
		SMMU_KHO_IDLE, 0, "outgoing SELECTED", THEN_UPDATE };

	run(t, &c);
}

static void kill_after_freeze_rolls_back_to_armed(struct ktest *t)
{
	const struct crash_case c = { AT_ARMED, "update.frozen", UPDATE, SKHOD_ARMED,
		SMMU_KHO_IDLE, 0, "outgoing FROZEN", THEN_UPDATE };

	run(t, &c);
}

static void kill_after_digest_capture_rolls_back_to_armed(struct ktest *t)
{
	const struct crash_case c = { AT_ARMED, "update.captured", UPDATE, SKHOD_ARMED,
		SMMU_KHO_IDLE, 0, "partial preservation rolled back", THEN_UPDATE };

	run(t, &c);
}

static void kill_after_kexec_load_unloads_and_rolls_back(struct ktest *t)
{
	const struct crash_case c = { AT_ARMED, "update.loaded", UPDATE, SKHOD_ARMED,
		SMMU_KHO_IDLE, 0, "partial preservation rolled back", THEN_UPDATE };

	run(t, &c);
}

static void kill_after_luo_preserve_rolls_back_to_armed(struct ktest *t)
{
	const struct crash_case c = { AT_ARMED, "update.luo", UPDATE, SKHOD_ARMED,
		SMMU_KHO_IDLE, 0, "partial preservation rolled back", THEN_UPDATE };

	run(t, &c);
}

static void kill_before_preserved_rename_rolls_back_to_armed(struct ktest *t)
{
	/* PRESERVED journal written to the tmp file only: disk still says ARMED */
	const struct crash_case c = { AT_ARMED, "journal.tmp-written", UPDATE, SKHOD_ARMED,
		SMMU_KHO_IDLE, 0, "partial preservation rolled back", THEN_UPDATE };

	run(t, &c);
}

static void kill_after_preserved_rename_resumes_preserved(struct ktest *t)
{
	const struct crash_case c = { AT_ARMED, "journal.renamed", UPDATE, SKHOD_PRESERVED,
		SMMU_KHO_FROZEN, 1, NULL, THEN_UPDATE };

	run(t, &c);
}

static void kill_before_jump_resumes_preserved(struct ktest *t)
{
	const struct crash_case c = { AT_ARMED, "update.before-jump", UPDATE, SKHOD_PRESERVED,
		SMMU_KHO_FROZEN, 1, NULL, THEN_UPDATE };

	run(t, &c);
}

static void kill9_in_armed_resumes_armed(struct ktest *t)
{
	const struct crash_case c = { AT_ARMED, "", { NULL }, SKHOD_ARMED, SMMU_KHO_IDLE, 0,
		NULL, THEN_UPDATE };

	run(t, &c);
}

static void kill9_in_preserved_resumes_preserved(struct ktest *t)
{
	const struct crash_case c = { AT_PRESERVED, "", { NULL }, SKHOD_PRESERVED,
		SMMU_KHO_FROZEN, 1, NULL, THEN_UPDATE };

	run(t, &c);
}

static void kill_during_abort_rolls_back_without_preserving(struct ktest *t)
{
	/* ABORT reached the kernel, the ABORTED commit did not */
	const struct crash_case c = { AT_PRESERVED, "abort.kernel", { "abort", NULL },
		SKHOD_ARMED, SMMU_KHO_IDLE, 0, "no longer holds the frozen state", THEN_ABORT };

	run(t, &c);
}

static void kill_after_adoption_commit_verifies_on_restart(struct ktest *t)
{
	/* RECOVERED is committed, then the daemon dies before verifying */
	const struct crash_case c = { AT_JUMPED, "recover.adopted", { NULL }, SKHOD_VERIFIED,
		SMMU_KHO_IDLE, 0, NULL, THEN_FINISH };

	run(t, &c);
}

static void kill_before_recovered_rename_recovers_again(struct ktest *t)
{
	const struct crash_case c = { AT_JUMPED, "journal.tmp-written", { NULL },
		SKHOD_VERIFIED, SMMU_KHO_IDLE, 0, NULL, THEN_FINISH };

	run(t, &c);
}

static void kill_before_verdict_commit_verifies_again(struct ktest *t)
{
	const struct crash_case c = { AT_JUMPED, "verify.done", { NULL }, SKHOD_VERIFIED,
		SMMU_KHO_IDLE, 0, NULL, THEN_FINISH };

	run(t, &c);
}

static void kill9_in_verified_resumes_verified(struct ktest *t)
{
	const struct crash_case c = { AT_VERIFIED, "", { NULL }, SKHOD_VERIFIED,
		SMMU_KHO_IDLE, 0, NULL, THEN_FINISH };

	run(t, &c);
}

static void kill_during_finish_resumes_verified_and_finishes(struct ktest *t)
{
	/* first device released, FINISHED not committed */
	const struct crash_case c = { AT_VERIFIED, "finish.released", { "finish", NULL },
		SKHOD_VERIFIED, SMMU_KHO_IDLE, 0, NULL, THEN_FINISH };

	run(t, &c);
}

/*
 * Crash after each RELEASE of finish in turn (the default plan has two
 * devices, so "finish.released 2" is after the last one: the kernel then
 * reports incoming RELEASED while the journal still says VERIFIED).
 */
static void kill_after_each_release_resumes_verified_and_finishes(struct ktest *t)
{
	static const char *const points[] = { "finish.released 1", "finish.released 2" };
	size_t i;

	for (i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
		const struct crash_case c = { AT_VERIFIED, points[i], { "finish", NULL },
			SKHOD_VERIFIED, SMMU_KHO_IDLE, 0, NULL, THEN_VERIFY_FINISH };

		ktest_diag("crash point %s", points[i]);
		run(t, &c);
	}
}

static void restarts_are_counted_in_the_journal(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;
	Skhopb__Journal *j;
	char why[200];

	KASSERT(t, !dt_setup(&e, NULL));
	KASSERT(t, !dt_start(&e, NULL, NULL));
	dt_arm(&e, &o);
	dt_out_free(&o);
	dt_kill9(&e);
	KASSERT(t, !dt_start(&e, NULL, NULL));
	dt_kill9(&e);
	KASSERT(t, !dt_start(&e, NULL, NULL));
	j = dt_journal(&e, why, sizeof(why));
	KASSERT(t, j, "%s", why);
	KEXPECT_EQ(t, j->restarts, 2);	/* two restarts resumed this ARMED journal */
	skhod_pb_free(j);
	dt_ctl(&e, &o, "status", NULL);
	KEXPECT(t, HAS(o.out, "2 daemon restarts"), "%s", o.out);
	dt_out_free(&o);
	dt_cleanup(&e);
}

/*
 * The fake backend answers RELEASE as smmu_kho.ko does: -ENOENT when the
 * device has nothing adopted (also once everything is released), -ENODEV
 * for a device that does not exist (kernel/module/smmu_kho_main.c,
 * arm_smmu_kho_release()).
 */
static void fake_release_returns_the_modules_errno(struct ktest *t)
{
	struct skhod_backend *be;
	struct dt_env e;
	char spec[300];

	KASSERT(t, !dt_setup(&e, NULL));
	KASSERT(t, !reach(t, &e, AT_VERIFIED));
	dt_kill9(&e);
	snprintf(spec, sizeof(spec), "fake:%s", e.fake);
	KASSERT(t, !skhod_backend_open(spec, &be));
	KEXPECT_EQ(t, be->ops->release(be, DT_DEV_A, 0), 0);	/* adopted: released */
	KEXPECT_EQ(t, be->ops->release(be, DT_DEV_A, 0), -ENOENT);	/* nothing adopted left */
	KEXPECT_EQ(t, be->ops->release(be, DT_DEV_B, 0), 0);
	KEXPECT_EQ(t, dt_kernel(&e, "in_state"), SMMU_KHO_RELEASED);	/* all released */
	KEXPECT_EQ(t, be->ops->release(be, DT_DEV_B, 0), -ENOENT);	/* the module says so too */
	KEXPECT_EQ(t, be->ops->release(be, "0000:00:1f.0", 0), -ENODEV);	/* no such device */
	be->ops->destroy(be);
	dt_cleanup(&e);
}

KTEST_MAIN("daemon_crash",
	   KTEST_CASE(kill_while_committing_arm_leaves_idle),
	   KTEST_CASE(kill_after_first_preserve_rolls_back_to_armed),
	   KTEST_CASE(kill_after_last_preserve_rolls_back_to_armed),
	   KTEST_CASE(kill_after_freeze_rolls_back_to_armed),
	   KTEST_CASE(kill_after_digest_capture_rolls_back_to_armed),
	   KTEST_CASE(kill_after_kexec_load_unloads_and_rolls_back),
	   KTEST_CASE(kill_after_luo_preserve_rolls_back_to_armed),
	   KTEST_CASE(kill_before_preserved_rename_rolls_back_to_armed),
	   KTEST_CASE(kill_after_preserved_rename_resumes_preserved),
	   KTEST_CASE(kill_before_jump_resumes_preserved),
	   KTEST_CASE(kill9_in_armed_resumes_armed),
	   KTEST_CASE(kill9_in_preserved_resumes_preserved),
	   KTEST_CASE(kill_during_abort_rolls_back_without_preserving),
	   KTEST_CASE(kill_after_adoption_commit_verifies_on_restart),
	   KTEST_CASE(kill_before_recovered_rename_recovers_again),
	   KTEST_CASE(kill_before_verdict_commit_verifies_again),
	   KTEST_CASE(kill9_in_verified_resumes_verified),
	   KTEST_CASE(kill_during_finish_resumes_verified_and_finishes),
	   KTEST_CASE(kill_after_each_release_resumes_verified_and_finishes),
	   KTEST_CASE(fake_release_returns_the_modules_errno),
	   KTEST_CASE(restarts_are_counted_in_the_journal))
