// SPDX-License-Identifier: GPL-2.0-only
/* The verdict trusts only what smmu-khod recomputed itself: memory changed behind the module, quarantine, refusals, --no-device, SKHOD_FAULT crashes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dtest.h"
#include "pbutil.h"
#include "smmu_kho.h"
#include "state.h"

#define HAS(s, sub) ((s) && strstr((s), (sub)))

/* Start, arm the default plan, update --no-jump: PRESERVED. */
static int preserved(struct ktest *t, struct dt_env *e)
{
	struct dt_out o;
	int code;

	if (!e->pid && dt_start(e, NULL, NULL)) {
		ktest_fail(t, __FILE__, __LINE__, "daemon did not start");
		return -1;
	}
	dt_arm(e, &o);
	dt_out_free(&o);
	dt_ctl(e, &o, "update", "--no-jump", NULL);
	code = o.code;
	KEXPECT(t, code == 0, "update --no-jump: %d %s", code, o.err);
	dt_out_free(&o);
	return code ? -1 : 0;
}

/* From PRESERVED: jump (the fake kexec ends the daemon) and start the next one. */
static int jump_restart(struct ktest *t, struct dt_env *e)
{
	struct dt_out o;
	int st;

	dt_ctl(e, &o, "update", NULL);
	dt_out_free(&o);
	st = dt_wait_exit(e, 10000);
	if (st == -1 || !WIFEXITED(st)) {
		ktest_fail(t, __FILE__, __LINE__, "no fake kexec (status %d)", st);
		return -1;
	}
	if (dt_start(e, NULL, NULL)) {
		ktest_fail(t, __FILE__, __LINE__, "daemon did not start after the jump");
		return -1;
	}
	return 0;
}

/* A memory knob set before `update`: the snapshot check must refuse it. */
static void frozen_check_case(struct ktest *t, const char *fault, const char *text)
{
	struct dt_env e;
	struct dt_out o;
	Skhopb__Journal *j;
	char why[200];

	KASSERT(t, !dt_setup(&e, NULL));
	KASSERT(t, !dt_start(&e, NULL, NULL));
	dt_arm(&e, &o);
	dt_out_free(&o);
	/* the module's own digests (FDT and STREAMS) do not see this change */
	dt_write(&e, "faults", fault);
	dt_ctl(&e, &o, "update", "--no-jump", NULL);
	KEXPECT_EQ(t, o.code, 7);	/* kernel interface error: snapshot check */
	KEXPECT(t, HAS(o.err, "snapshot check failed"), "%s", o.err);
	KEXPECT(t, HAS(o.err, text), "stderr must say %s: %s", text, o.err);
	dt_out_free(&o);
	/* rolled back: nothing stays preserved, the plan stays armed */
	KEXPECT_EQ(t, dt_kernel(&e, "out_state"), SMMU_KHO_IDLE);
	j = dt_journal(&e, why, sizeof(why));
	KASSERT(t, j, "%s", why);
	KEXPECT_EQ(t, j->state, SKHOD_ARMED);
	KEXPECT_EQ(t, j->n_pre_jump, 0);	/* no digests of the refused snapshot */
	skhod_pb_free(j);
	if (t->failed)
		dt_dump_log(&e);
	dt_cleanup(&e);
}

static void live_ste_changed_after_freeze_fails_the_snapshot_check(struct ktest *t)
{
	frozen_check_case(t, "live-ste 0x18\n",
			  "SID 0x18 (0000:00:03.0) on SMMU 0x9050000 changed after the freeze: the STE the SMMU uses now differs from the snapshot's reference copy");
}

static void pte_changed_after_freeze_fails_the_snapshot_check(struct ktest *t)
{
	frozen_check_case(t, "pte 0x10\n",
			  "SID 0x10 (0000:00:02.0) on SMMU 0x9050000 changed after the freeze: the translation smmu-khod recomputed from the preserved pages differs from the snapshot");
}

static void unreadable_ste_fails_the_snapshot_check(struct ktest *t)
{
	frozen_check_case(t, "ste-unreadable 0x19\n", "SID 0x19 (0000:00:03.0) on SMMU 0x9050000 changed after the freeze: STE unreadable");
}

static void freeze_refusing_unpreserved_memory_names_the_kernels_reason(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;

	KASSERT(t, !dt_setup(&e, NULL));
	KASSERT(t, !dt_start(&e, NULL, NULL));
	dt_arm(&e, &o);
	dt_out_free(&o);
	dt_write(&e, "faults", "freeze-outside SID 0x10 IOVA 0x10000000 -> PA 0x80100000 not preserved\n");
	dt_ctl(&e, &o, "update", NULL);
	KEXPECT_EQ(t, o.code, 7);	/* rolled back */
	/* the errno and STATUS.out_why, which names SID, IOVA and PA */
	KEXPECT(t, HAS(o.err, "FREEZE failed: fake FREEZE: Cannot assign requested address: SID 0x10 IOVA 0x10000000 -> PA 0x80100000 not preserved"),
		"%s", o.err);
	dt_out_free(&o);
	KEXPECT_EQ(t, dt_kernel(&e, "out_state"), SMMU_KHO_IDLE);
	dt_ctl(&e, &o, "status", "--json", NULL);
	KEXPECT(t, HAS(o.out, "\"out_error\": -99") &&
		HAS(o.out, "\"out_why\": \"SID 0x10 IOVA 0x10000000 -> PA 0x80100000 not preserved\""),
		"%s", o.out);
	dt_out_free(&o);
	if (t->failed)
		dt_dump_log(&e);
	dt_cleanup(&e);
}

static void restart_in_preserved_rechecks_raw_bytes_and_rolls_back(struct ktest *t)
{
	struct dt_env e;
	Skhopb__Journal *j;
	char why[200];

	KASSERT(t, !dt_setup(&e, NULL));
	if (preserved(t, &e))
		goto out;
	/* a PTE changes while PRESERVED; the module's digests do not see it */
	dt_write(&e, "faults", "pte 0x18\n");
	dt_kill9(&e);
	KASSERT(t, !dt_start(&e, NULL, NULL));
	j = dt_journal(&e, why, sizeof(why));
	KASSERT(t, j, "%s", why);
	KEXPECT_EQ(t, j->state, SKHOD_ARMED);	/* rolled back, not jumped with it */
	KEXPECT(t, HAS(j->reason, "SID 0x18 (0000:00:03.0) on SMMU 0x9050000 changed after the freeze: the translation smmu-khod recomputed"),
		"reason: %s", j->reason);
	skhod_pb_free(j);
	KEXPECT_EQ(t, dt_kernel(&e, "out_state"), SMMU_KHO_IDLE);
	KEXPECT_EQ(t, dt_kernel(&e, "kexec_loaded"), 0);
out:
	if (t->failed)
		dt_dump_log(&e);
	dt_cleanup(&e);
}

static void crash_after_quarantine_still_ends_failed(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;
	Skhopb__Journal *j;
	char why[200];
	int st;

	KASSERT(t, !dt_setup(&e, NULL));
	if (preserved(t, &e))
		goto out;
	dt_write(&e, "faults", "pte 0x10\n");
	/* the verdict's commit never happens: killed right after the quarantine */
	dt_write(&e, "crash_at", "verify.done\n");
	dt_ctl(&e, &o, "update", NULL);
	dt_out_free(&o);
	st = dt_wait_exit(&e, 10000);
	KASSERT(t, st != -1 && WIFEXITED(st), "no fake kexec");
	/* verification runs before the socket opens: the start itself dies */
	KEXPECT(t, dt_start(&e, NULL, &st) == -1 && st != -1 && WIFSIGNALED(st) &&
		WTERMSIG(st) == 9, "daemon not killed at verify.done: 0x%x", st);
	KEXPECT_EQ(t, dt_kernel(&e, "in_state"), SMMU_KHO_ADOPTED);
	KASSERT(t, !dt_start(&e, NULL, NULL));
	j = dt_journal(&e, why, sizeof(why));
	KASSERT(t, j, "%s", why);
	/* verified again after the restart: the stream is QUARANTINED now */
	KEXPECT_EQ(t, j->state, SKHOD_FAILED);
	KEXPECT(t, j->verification && j->verification->n_streams == 1 &&
		j->verification->streams[0]->outcome == SKHOPB__STREAM_OUTCOME__OUTCOME_QUARANTINED,
		"outcome");
	skhod_pb_free(j);
out:
	if (t->failed)
		dt_dump_log(&e);
	dt_cleanup(&e);
}

/* After the jump: a knob the module's digests miss, caught and quarantined. */
struct after_case {
	const char *fault;
	const char *text;	/* in the failing line */
	const char *dev;	/* device that must be quarantined */
	unsigned int quarantined;	/* streams the fake reports QUARANTINED */
};

static void after_jump_case(struct ktest *t, const struct after_case *c)
{
	struct dt_env e;
	struct dt_out o;
	Skhopb__Journal *j;
	char why[200], *in;

	KASSERT(t, !dt_setup(&e, NULL));
	if (preserved(t, &e))
		goto out;
	dt_write(&e, "faults", c->fault);	/* after the snapshot check passed */
	if (jump_restart(t, &e))
		goto out;
	dt_ctl(&e, &o, "status", NULL);
	KEXPECT_EQ(t, o.code, 4);	/* FAILED */
	KEXPECT(t, HAS(o.out, "state:        FAILED"), "%s", o.out);
	KEXPECT(t, HAS(o.out, c->text), "status must say %s: %s", c->text, o.out);
	KEXPECT(t, HAS(o.out, "[quarantined]"), "%s", o.out);
	dt_out_free(&o);
	j = dt_journal(&e, why, sizeof(why));
	KASSERT(t, j, "%s", why);
	KEXPECT_EQ(t, j->state, SKHOD_FAILED);
	KEXPECT(t, j->verification && j->verification->nr_failed == 1, "one stream fails");
	KEXPECT(t, j->verification && j->verification->nr_quarantined == c->quarantined,
		"nr_quarantined %u", j->verification ? j->verification->nr_quarantined : 0);
	KEXPECT(t, j->verification && j->verification->n_streams == 1 &&
		j->verification->streams[0]->quarantined &&
		!strcmp(j->verification->streams[0]->disagree, "smmu-khod"),
		"result: quarantined, smmu-khod disagreed");
	KEXPECT(t, HAS(j->reason, "quarantined"), "reason: %s", j->reason);
	skhod_pb_free(j);
	/* the fake kernel: every stream of that device QUARANTINED, no other */
	in = dt_read(&e, "in-streams");
	KEXPECT(t, in && HAS(in, c->dev), "%s", in);
	{
		unsigned int q = 0;
		char *p;

		for (p = in; p && (p = strstr(p, " 5 0 ")); p++)
			q++;	/* "<smmu> <sid> 5 0 ..." = QUARANTINED */
		KEXPECT_EQ(t, q, c->quarantined);
	}
	free(in);
	dt_ctl(&e, &o, "status", "--json", NULL);
	KEXPECT(t, HAS(o.out, "\"quarantined\": true, \"disagree\": \"smmu-khod\""), "%s", o.out);
	KEXPECT(t, HAS(o.out, "\"recomputed\": true"), "%s", o.out);
	dt_out_free(&o);
out:
	if (t->failed)
		dt_dump_log(&e);
	dt_cleanup(&e);
}

static void pte_changed_behind_the_module_is_caught_after_the_jump_and_quarantined(struct ktest *t)
{
	/* 0x19 belongs to 0000:00:03.0 with 0x18: both quarantined */
	const struct after_case c = { "pte 0x19\n",
				      "SID 0x19 (0000:00:03.0) on SMMU 0x9050000: translation changed",
				      "0000:00:03.0", 2 };

	after_jump_case(t, &c);
}

static void live_ste_changed_behind_the_module_is_caught_after_the_jump_and_quarantined(struct ktest *t)
{
	const struct after_case c = { "live-ste 0x10\n",
				      "SID 0x10 (0000:00:02.0) on SMMU 0x9050000: STE changed",
				      "0000:00:02.0", 1 };

	after_jump_case(t, &c);
}

static void kernel_reported_change_quarantines_too(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;
	Skhopb__Journal *j;
	char why[200];

	KASSERT(t, !dt_setup(&e, NULL));
	dt_write(&e, "faults", "xlat 0x10\n");	/* the kernel's digest differs */
	if (preserved(t, &e) || jump_restart(t, &e))
		goto out;
	j = dt_journal(&e, why, sizeof(why));
	KASSERT(t, j, "%s", why);
	KEXPECT_EQ(t, j->state, SKHOD_FAILED);
	/* 0000:00:02.0 has one stream */
	KEXPECT(t, j->verification && j->verification->nr_quarantined == 1, "quarantined");
	KEXPECT(t, j->verification && j->verification->n_streams == 1 &&
		!strcmp(j->verification->streams[0]->disagree, "kernel"), "kernel disagreed");
	skhod_pb_free(j);
	/* verify again: the stream is QUARANTINED now, and says so */
	dt_ctl(&e, &o, "verify", NULL);
	KEXPECT_EQ(t, o.code, 4);
	KEXPECT(t, HAS(o.out, "SID 0x10 (0000:00:02.0) on SMMU 0x9050000: quarantined (abort STE)"),
		"%s", o.out);
	dt_out_free(&o);
out:
	if (t->failed)
		dt_dump_log(&e);
	dt_cleanup(&e);
}

static void failed_quarantine_is_named_and_the_verdict_stays_failed(struct ktest *t)
{
	struct dt_env e;
	Skhopb__Journal *j;
	char why[200];

	KASSERT(t, !dt_setup(&e, NULL));
	if (preserved(t, &e))
		goto out;
	dt_write(&e, "faults", "pte 0x10\nfail quarantine\n");
	if (jump_restart(t, &e))
		goto out;
	j = dt_journal(&e, why, sizeof(why));
	KASSERT(t, j, "%s", why);
	KEXPECT_EQ(t, j->state, SKHOD_FAILED);
	KEXPECT(t, j->verification && j->verification->nr_quarantined == 0, "none quarantined");
	KEXPECT(t, j->verification && j->verification->n_streams == 1 &&
		HAS(j->verification->streams[0]->why, "QUARANTINE 0000:00:02.0 failed"),
		"why: %s", j->verification && j->verification->n_streams ?
		j->verification->streams[0]->why : "");
	skhod_pb_free(j);
out:
	if (t->failed)
		dt_dump_log(&e);
	dt_cleanup(&e);
}

static void refused_handover_is_not_called_a_cold_boot(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;
	Skhopb__Journal *j;
	char why[200];

	KASSERT(t, !dt_setup(&e, NULL));
	dt_write(&e, "faults", "in-refused bad FDT magic 0xdeadbeef\n");
	if (preserved(t, &e) || jump_restart(t, &e))
		goto out;
	dt_ctl(&e, &o, "status", NULL);
	KEXPECT_EQ(t, o.code, 4);	/* FAILED */
	KEXPECT(t, HAS(o.out, "the new kernel refused the handover (SKHO_E_FDT: bad FDT magic 0xdeadbeef)"),
		"%s", o.out);
	KEXPECT(t, !HAS(o.out, "booted without the handover"), "%s", o.out);
	KEXPECT(t, HAS(o.out, "handover:     REFUSED as a whole by this kernel: SKHO_E_FDT: bad FDT magic 0xdeadbeef"),
		"%s", o.out);
	/* every journaled stream named as lost */
	KEXPECT(t, HAS(o.out, "verification: 0 of 3 streams intact, 3 failed, 3 lost"), "%s", o.out);
	dt_out_free(&o);
	dt_ctl(&e, &o, "status", "--json", NULL);
	KEXPECT(t, HAS(o.out, "\"in_state\": \"IN_REFUSED\"") &&
		HAS(o.out, "\"in_error_name\": \"SKHO_E_FDT\"") &&
		HAS(o.out, "\"in_why\": \"bad FDT magic 0xdeadbeef\""), "%s", o.out);
	dt_out_free(&o);
	j = dt_journal(&e, why, sizeof(why));
	KASSERT(t, j, "%s", why);
	/* PRESERVED -> FAILED directly: never RECOVERED */
	KEXPECT_EQ(t, j->state, SKHOD_FAILED);
	KEXPECT_EQ(t, j->history[j->n_history - 2]->state, SKHOD_PRESERVED);
	skhod_pb_free(j);
out:
	if (t->failed)
		dt_dump_log(&e);
	dt_cleanup(&e);
}

static void all_streams_refused_fails_without_recovered(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;
	Skhopb__Journal *j;
	char why[200];
	int st;

	KASSERT(t, !dt_setup(&e, NULL));
	dt_write(&e, "faults", "all-refused\n");
	if (preserved(t, &e) || jump_restart(t, &e))
		goto out;
	dt_ctl(&e, &o, "status", NULL);
	KEXPECT_EQ(t, o.code, 4);
	KEXPECT(t, HAS(o.out, "the new kernel refused every handed-over stream (3 of 3)"), "%s", o.out);
	KEXPECT(t, HAS(o.out, "handover:     every stream REFUSED (3 of 3)"), "%s", o.out);
	KEXPECT(t, HAS(o.out, "incoming ALL_REFUSED"), "%s", o.out);
	dt_out_free(&o);
	j = dt_journal(&e, why, sizeof(why));
	KASSERT(t, j, "%s", why);
	KEXPECT_EQ(t, j->state, SKHOD_FAILED);
	KEXPECT_EQ(t, j->history[j->n_history - 2]->state, SKHOD_PRESERVED);	/* no RECOVERED */
	KEXPECT(t, j->verification && j->verification->nr_lost == 3, "3 refused = lost");
	skhod_pb_free(j);
	/* the debug daemon (SKHOD_CHECK aborts on a violated invariant) is alive */
	st = dt_stop(&e);
	KEXPECT(t, st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
out:
	if (t->failed)
		dt_dump_log(&e);
	dt_cleanup(&e);
}

static void no_device_update_jumps_and_verifies_with_zero_streams(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;
	Skhopb__Journal *j;
	char why[200];

	KASSERT(t, !dt_setup(&e, NULL));
	KASSERT(t, !dt_start(&e, NULL, NULL));
	/* no device and no flag: still refused */
	dt_ctl(&e, &o, "update", "--kernel", e.kernel, "--append", "console=ttyAMA0", NULL);
	KEXPECT_EQ(t, o.code, 2);	/* usage */
	KEXPECT(t, HAS(o.err, "--no-device"), "%s", o.err);
	dt_out_free(&o);
	dt_ctl(&e, &o, "update", "--kernel", e.kernel, "--append", "console=ttyAMA0",
	       "--device", DT_DEV_A, "--no-device", NULL);
	KEXPECT_EQ(t, o.code, 2);	/* both: usage */
	dt_out_free(&o);
	dt_ctl(&e, &o, "update", "--kernel", e.kernel, "--append", "console=ttyAMA0",
	       "--no-device", "--no-jump", NULL);
	KEXPECT_EQ(t, o.code, 0);
	KEXPECT(t, HAS(o.out, "no device to preserve (--no-device)"), "%s", o.out);
	dt_out_free(&o);
	/* no PRESERVE, no FREEZE: the kernel holds nothing, the image is loaded */
	KEXPECT_EQ(t, dt_kernel(&e, "out_state"), SMMU_KHO_IDLE);
	KEXPECT_EQ(t, dt_kernel(&e, "kexec_loaded"), 1);
	/* a restart in PRESERVED keeps it (nothing frozen is expected) */
	dt_kill9(&e);
	KASSERT(t, !dt_start(&e, NULL, NULL));
	j = dt_journal(&e, why, sizeof(why));
	KASSERT(t, j, "%s", why);
	KEXPECT_EQ(t, j->state, SKHOD_PRESERVED);
	KEXPECT(t, j->plan && j->plan->no_device && !j->plan->n_devices, "plan");
	skhod_pb_free(j);
	if (jump_restart(t, &e))
		goto out;
	dt_ctl(&e, &o, "status", NULL);
	KEXPECT_EQ(t, o.code, 0);
	KEXPECT(t, HAS(o.out, "state:        VERIFIED"), "%s", o.out);
	KEXPECT(t, HAS(o.out, "verification: 0 of 0 streams intact, 0 failed, 0 lost"), "%s", o.out);
	KEXPECT(t, HAS(o.out, "devices none (--no-device)"), "%s", o.out);
	dt_out_free(&o);
	j = dt_journal(&e, why, sizeof(why));
	KASSERT(t, j, "%s", why);
	KEXPECT_EQ(t, j->verdict, SKHOPB__VERDICT__VERDICT_PASS);
	KEXPECT(t, !skhod_invariants(j, NULL, true, why, sizeof(why)), "%s", why);
	skhod_pb_free(j);
	dt_ctl(&e, &o, "finish", NULL);
	KEXPECT_EQ(t, o.code, 0);
	dt_out_free(&o);
out:
	if (t->failed)
		dt_dump_log(&e);
	dt_cleanup(&e);
}

static void zero_stream_handover_without_no_device_fails(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;

	/* a device plan whose handover never came: FAILED, not a 0-stream PASS */
	KASSERT(t, !dt_setup(&e, NULL));
	dt_write(&e, "faults", "no-handover\n");
	if (preserved(t, &e) || jump_restart(t, &e))
		goto out;
	dt_ctl(&e, &o, "status", NULL);
	KEXPECT_EQ(t, o.code, 4);
	KEXPECT(t, HAS(o.out, "booted without the handover"), "%s", o.out);
	KEXPECT(t, HAS(o.out, "handover:     none received by this boot"), "%s", o.out);
	dt_out_free(&o);
out:
	dt_cleanup(&e);
}

static void skhod_fault_crash_kills_the_real_backend_daemon_once(struct ktest *t)
{
	static const char *const args[] = { "--backend", "real", NULL };
	struct dt_env e;
	struct dt_out o;
	Skhopb__Journal *j;
	char mark[300], why[200], *log;
	int st = 0;

	KASSERT(t, !dt_setup(&e, NULL));
	snprintf(mark, sizeof(mark), "%s/fault-fired", e.root);
	setenv("SKHOD_FAULT", "crash:journal.tmp-written", 1);
	setenv("SKHOD_FAULT_MARK", mark, 1);
	KASSERT(t, !dt_start(&e, args, NULL));
	/* arm commits the journal: the crash point fires inside the commit */
	dt_ctl(&e, &o, "arm", "--kernel", e.kernel, "--append", "console=ttyAMA0",
	       "--device", DT_DEV_A, NULL);
	dt_out_free(&o);
	st = dt_wait_exit(&e, 10000);
	KEXPECT(t, st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == 9, "daemon status 0x%x", st);
	KEXPECT(t, access(mark, F_OK) == 0, "marker %s written", mark);
	log = NULL;
	{
		FILE *f = fopen(e.log, "r");
		char buf[8192] = "";

		if (f) {
			buf[fread(buf, 1, sizeof(buf) - 1, f)] = 0;
			fclose(f);
		}
		log = strdup(buf);
	}
	/* warned at start, and at the kill */
	KEXPECT(t, HAS(log, "SKHOD_FAULT=crash:journal.tmp-written: test-only fault injection armed"),
		"%s", log);
	KEXPECT(t, HAS(log, "fault injection (SKHOD_FAULT=crash:journal.tmp-written): SIGKILL"),
		"%s", log);
	free(log);
	/* the old journal survived; the restarted daemon does not crash again */
	KASSERT(t, !dt_start(&e, args, NULL));
	j = dt_journal(&e, why, sizeof(why));
	KEXPECT(t, !j || j->state == SKHOD_IDLE, "journal state %d", j ? (int)j->state : -1);
	skhod_pb_free(j);
	dt_ctl(&e, &o, "arm", "--kernel", e.kernel, "--append", "console=ttyAMA0",
	       "--device", DT_DEV_A, NULL);
	KEXPECT_EQ(t, o.code, 0);
	dt_out_free(&o);
	j = dt_journal(&e, why, sizeof(why));
	KEXPECT(t, j && j->state == SKHOD_ARMED, "armed after the restart");
	skhod_pb_free(j);
	unsetenv("SKHOD_FAULT");
	unsetenv("SKHOD_FAULT_MARK");
	if (t->failed)
		dt_dump_log(&e);
	dt_cleanup(&e);
}

KTEST_MAIN("daemon_trust",
	   KTEST_CASE(live_ste_changed_after_freeze_fails_the_snapshot_check),
	   KTEST_CASE(pte_changed_after_freeze_fails_the_snapshot_check),
	   KTEST_CASE(unreadable_ste_fails_the_snapshot_check),
	   KTEST_CASE(freeze_refusing_unpreserved_memory_names_the_kernels_reason),
	   KTEST_CASE(pte_changed_behind_the_module_is_caught_after_the_jump_and_quarantined),
	   KTEST_CASE(live_ste_changed_behind_the_module_is_caught_after_the_jump_and_quarantined),
	   KTEST_CASE(kernel_reported_change_quarantines_too),
	   KTEST_CASE(failed_quarantine_is_named_and_the_verdict_stays_failed),
	   KTEST_CASE(restart_in_preserved_rechecks_raw_bytes_and_rolls_back),
	   KTEST_CASE(crash_after_quarantine_still_ends_failed),
	   KTEST_CASE(refused_handover_is_not_called_a_cold_boot),
	   KTEST_CASE(all_streams_refused_fails_without_recovered),
	   KTEST_CASE(no_device_update_jumps_and_verifies_with_zero_streams),
	   KTEST_CASE(zero_stream_handover_without_no_device_fails),
	   KTEST_CASE(skhod_fault_crash_kills_the_real_backend_daemon_once))
