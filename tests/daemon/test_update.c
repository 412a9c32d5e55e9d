// SPDX-License-Identifier: GPL-2.0-only
/* Full updates on the fake kernel: plan -> update -> jump -> restart -> verdict, and their failures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dt_json.h"
#include "dtest.h"
#include "pbutil.h"
#include "smmu_kho.h"
#include "state.h"

#define HAS(s, sub) ((s) && strstr((s), (sub)))

/* Start, arm the default plan, update, let the fake kexec end the daemon. */
static int jump(struct ktest *t, struct dt_env *e)
{
	struct dt_out o;
	int st;

	if (!e->pid && dt_start(e, NULL, NULL)) {
		ktest_fail(t, __FILE__, __LINE__, "daemon did not start");
		dt_dump_log(e);
		return -1;
	}
	dt_arm(e, &o);
	KEXPECT_EQ(t, o.code, 0);	/* arm of a valid plan succeeds */
	dt_out_free(&o);
	dt_ctl(e, &o, "update", NULL);
	/* exit 0 and the "now be booting" note: the connection closed
	 * right after the jump progress frame */
	KEXPECT_EQ(t, o.code, 0);
	KEXPECT(t, HAS(o.out, "jumping into"), "update output: %s", o.out);
	KEXPECT(t, HAS(o.out, "should now be booting the new kernel"), "update output: %s", o.out);
	dt_out_free(&o);
	st = dt_wait_exit(e, 10000);
	/* the fake jump exits the daemon with status 0 */
	KEXPECT(t, st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "daemon after jump: %d", st);
	if (st == -1)
		return -1;
	KEXPECT(t, dt_kernel(e, "boot") >= 2, "no fake kexec happened");
	return 0;
}

/* jump() then start the "new boot" daemon. */
static int jump_and_restart(struct ktest *t, struct dt_env *e)
{
	if (jump(t, e))
		return -1;
	if (dt_start(e, NULL, NULL)) {
		ktest_fail(t, __FILE__, __LINE__, "daemon did not restart after the jump");
		dt_dump_log(e);
		return -1;
	}
	return 0;
}

static void full_update_reaches_verified_with_no_ste_lost(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;
	Skhopb__Journal *j;
	char why[200], *jumps;

	KASSERT(t, !dt_setup(&e, NULL));
	if (jump_and_restart(t, &e))
		goto out;
	dt_ctl(&e, &o, "status", "--json", NULL);
	KEXPECT_EQ(t, o.code, 0);	/* VERIFIED is a healthy state */
	KEXPECT(t, dt_json_is(o.out, "state", "\"VERIFIED\""), "%s", o.out);
	/* DT_PCI_DEFAULT has 3 streams (0x10; 0x18, 0x19): all intact, none lost */
	KEXPECT(t, dt_json_is(o.out, "verification.nr_streams", "3") &&
		dt_json_is(o.out, "verification.nr_ok", "3") &&
		dt_json_is(o.out, "verification.nr_failed", "0") &&
		dt_json_is(o.out, "verification.nr_lost", "0"),
		"%s", o.out);
	KEXPECT(t, dt_json_is(o.out, "kernel.in_state", "\"ADOPTED\""), "%s", o.out);
	dt_out_free(&o);
	j = dt_journal(&e, why, sizeof(why));
	KASSERT(t, j, "journal: %s", why);
	KEXPECT_EQ(t, j->state, SKHOD_VERIFIED);
	KEXPECT_EQ(t, skhod_journal_nr_streams(j), 3);	/* 3 streams journaled */
	KEXPECT(t, j->verification && j->verification->nr_ok == 3, "verification");
	/* history: IDLE, ARMED, PRESERVED, RECOVERED, VERIFIED */
	KEXPECT_EQ(t, j->n_history, 5);
	KEXPECT(t, strcmp(j->boot_id_armed, j->boot_id_recovered), "boot ids equal");
	KEXPECT(t, !skhod_invariants(j, NULL, true, why, sizeof(why)), "%s", why);
	skhod_pb_free(j);
	/* the fake kexec booted our kernel, initrd, and the running command
	 * line without the boot loader's BOOT_IMAGE= */
	jumps = dt_read(&e, "jumps");
	KEXPECT(t, HAS(jumps, e.kernel) && HAS(jumps, e.initrd), "jumps: %s", jumps);
	KEXPECT(t, HAS(jumps, "\tconsole=ttyAMA0 kho=on liveupdate=on\n"), "jumps: %s", jumps);
	KEXPECT(t, !HAS(jumps, "BOOT_IMAGE"), "jumps: %s", jumps);
	free(jumps);
out:
	if (t->failed)
		dt_dump_log(&e);
	dt_cleanup(&e);
}

/* One post-jump fault and what the verdict must say about it. */
struct fault_case {
	const char *faults;
	const char *outcome;	/* as printed in the failing line */
	const char *sid_dev;	/* the stream it must name */
	unsigned int lost;	/* expected nr_lost */
};

static void fault_case(struct ktest *t, const struct fault_case *c)
{
	struct dt_env e;
	struct dt_out o;
	Skhopb__Journal *j;
	char why[200];

	KASSERT(t, !dt_setup(&e, NULL));
	dt_write(&e, "faults", c->faults);
	if (jump_and_restart(t, &e))
		goto out;
	dt_ctl(&e, &o, "status", NULL);
	/* status exits 4 when the update is FAILED */
	KEXPECT_EQ(t, o.code, 4);
	KEXPECT(t, HAS(o.out, "state:        FAILED"), "%s", o.out);
	KEXPECT(t, HAS(o.out, c->sid_dev), "status must name %s: %s", c->sid_dev, o.out);
	KEXPECT(t, HAS(o.out, c->outcome), "status must say %s: %s", c->outcome, o.out);
	dt_out_free(&o);
	j = dt_journal(&e, why, sizeof(why));
	KASSERT(t, j, "journal: %s", why);
	KEXPECT_EQ(t, j->state, SKHOD_FAILED);
	KEXPECT_EQ(t, j->verdict, SKHOPB__VERDICT__VERDICT_FAIL);
	KEXPECT(t, HAS(j->reason, c->sid_dev), "reason: %s", j->reason);
	KEXPECT(t, j->verification && j->verification->nr_failed == 1 &&
		j->verification->nr_ok == 2, "one of three streams fails");
	KEXPECT(t, j->verification && j->verification->nr_lost == c->lost, "nr_lost");
	skhod_pb_free(j);
	/* `verify` repeats the finding with exit 4 */
	dt_ctl(&e, &o, "verify", NULL);
	KEXPECT_EQ(t, o.code, 4);
	KEXPECT(t, HAS(o.out, c->sid_dev), "%s", o.out);
	dt_out_free(&o);
out:
	if (t->failed)
		dt_dump_log(&e);
	dt_cleanup(&e);
}

static void lost_stream_after_jump_fails_naming_its_sid(struct ktest *t)
{
	const struct fault_case c = { "lose 0x18\n", "lost", "SID 0x18 (0000:00:03.0)", 1 };

	fault_case(t, &c);
}

static void refused_stream_fails_with_the_kernels_reason(struct ktest *t)
{
	const struct fault_case c = { "refuse 0x10 STE digest mismatch\n",
				      "refused by the new kernel", "SID 0x10 (0000:00:02.0)", 1 };

	fault_case(t, &c);
}

static void changed_ste_fails_the_stream(struct ktest *t)
{
	const struct fault_case c = { "ste 0x19\n", "STE changed", "SID 0x19 (0000:00:03.0)", 0 };

	fault_case(t, &c);
}

static void changed_translation_fails_the_stream(struct ktest *t)
{
	const struct fault_case c = { "xlat 0x10\n", "translation changed",
				      "SID 0x10 (0000:00:02.0)", 0 };

	fault_case(t, &c);
}

static void smmu_events_fail_the_stream(struct ktest *t)
{
	const struct fault_case c = { "events 0x18 3\n", "3 SMMU event(s)",
				      "SID 0x18 (0000:00:03.0)", 0 };

	fault_case(t, &c);
}

static void cold_boot_without_handover_fails(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;

	KASSERT(t, !dt_setup(&e, NULL));
	dt_write(&e, "faults", "no-handover\n");
	if (jump_and_restart(t, &e))
		goto out;
	dt_ctl(&e, &o, "status", NULL);
	KEXPECT_EQ(t, o.code, 4);	/* FAILED */
	KEXPECT(t, HAS(o.out, "booted without the handover"), "%s", o.out);
	/* Every journaled stream of DT_PCI_DEFAULT is named as lost. */
	KEXPECT(t, HAS(o.out, "verification: 0 of 3 streams intact, 3 failed, 3 lost"), "%s", o.out);
	KEXPECT(t, HAS(o.out, "failing:    SID 0x10 (0000:00:02.0) on SMMU 0x9050000: lost"),
		"%s", o.out);
	KEXPECT(t, HAS(o.out, "failing:    SID 0x19 (0000:00:03.0)"), "%s", o.out);
	dt_out_free(&o);
out:
	dt_cleanup(&e);
}

static void finish_releases_streams_and_next_arm_archives(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;
	Skhopb__Journal *j;
	char why[200];
	uint64_t seq;

	KASSERT(t, !dt_setup(&e, NULL));
	if (jump_and_restart(t, &e))
		goto out;
	dt_ctl(&e, &o, "finish", NULL);
	KEXPECT_EQ(t, o.code, 0);
	KEXPECT(t, HAS(o.out, "state: FINISHED"), "%s", o.out);
	dt_out_free(&o);
	/* every adopted stream released: the fake kernel's incoming state */
	KEXPECT_EQ(t, dt_kernel(&e, "in_state"), SMMU_KHO_RELEASED);
	j = dt_journal(&e, why, sizeof(why));
	KASSERT(t, j, "%s", why);
	KEXPECT_EQ(t, j->state, SKHOD_FINISHED);
	KEXPECT_EQ(t, j->verdict, SKHOPB__VERDICT__VERDICT_PASS);	/* kept from VERIFIED */
	seq = j->seq;
	skhod_pb_free(j);
	/* a new arm starts a new journal; the finished one goes to history */
	dt_arm(&e, &o);
	KEXPECT_EQ(t, o.code, 0);
	dt_out_free(&o);
	j = dt_journal(&e, why, sizeof(why));
	KASSERT(t, j, "%s", why);
	KEXPECT(t, j->seq > seq, "seq %llu after %llu: must keep growing",
		(unsigned long long)j->seq, (unsigned long long)seq);
	KEXPECT_EQ(t, j->n_history, 2);	/* IDLE, ARMED */
	skhod_pb_free(j);
	dt_ctl(&e, &o, "history", NULL);
	KEXPECT_EQ(t, o.code, 0);
	/* newest first: the current ARMED one, then the FINISHED one */
	KEXPECT(t, HAS(o.out, "ARMED  verdict NONE  (current)"), "%s", o.out);
	KEXPECT(t, HAS(o.out, "FINISHED  verdict PASS"), "%s", o.out);
	dt_out_free(&o);
out:
	if (t->failed)
		dt_dump_log(&e);
	dt_cleanup(&e);
}

/* The refusal the fake kernel gives DT_DEV_B's hitless RELEASE (the not-hitless knob). */
#define NOT_HITLESS_WHY "SID 0x18 IOVA 0x10001000: new domain maps PA 0x41235000, adopted 0x40005000"

/* `finish [opt]` must exit @want; the journal after it (NULL: unreadable, reported). */
static Skhopb__Journal *finish_journal(struct ktest *t, struct dt_env *e, const char *opt, int want)
{
	Skhopb__Journal *j;
	struct dt_out o;
	char why[200];

	dt_ctl(e, &o, "finish", opt, NULL);
	KEXPECT(t, o.code == want, "finish %s: exit %d, want %d: %s", opt ? opt : "", o.code, want,
		o.err);
	dt_out_free(&o);
	j = dt_journal(e, why, sizeof(why));
	if (!j)
		ktest_fail(t, __FILE__, __LINE__, "journal: %s", why);
	return j;
}

static void hitless_finish_releases_and_counts_the_pages_given_back(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;
	Skhopb__Journal *j;

	KASSERT(t, !dt_setup(&e, NULL));
	if (jump_and_restart(t, &e) || !(j = finish_journal(t, &e, NULL, 0)))
		goto out;
	KEXPECT_EQ(t, j->state, SKHOD_FINISHED);
	/* the journal says which hand-back was asked: the checked one */
	KEXPECT(t, j->handback && !j->handback->replace && !j->handback->refused_device[0],
		"handback %p", (void *)j->handback);
	skhod_pb_free(j);
	dt_ctl(&e, &o, "status", "--json", NULL);
	/* 3 streams moved by the hitless sequence; DT_PCI_DEFAULT's 3 x 5
	 * table pages freed of 4 + 15 adopted, one ASID each */
	KEXPECT(t, dt_json_is(o.out, "kernel.nr_released_hitless", "3") &&
		dt_json_is(o.out, "kernel.in_adopted_pages", "19") &&
		dt_json_is(o.out, "kernel.in_freed_pages", "15") &&
		dt_json_is(o.out, "kernel.in_kept_pages", "4") &&
		dt_json_is(o.out, "kernel.nr_asids_freed", "3") &&
		dt_json_is(o.out, "handback.replace", "false"), "%s", o.out);
	dt_out_free(&o);
	dt_ctl(&e, &o, "status", NULL);
	KEXPECT(t, HAS(o.out, "release:      3 stream(s) released, 3 hitless") &&
		HAS(o.out, "19 handed over: 4 kept, 15 freed; 3 ASID(s), 0 VMID(s) freed"), "%s", o.out);
	dt_out_free(&o);
out:
	if (t->failed)
		dt_dump_log(&e);
	dt_cleanup(&e);
}

static void not_hitless_finish_is_refused_naming_the_iova_and_can_be_retried(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;
	Skhopb__Journal *j;
	char why[200];

	KASSERT(t, !dt_setup(&e, NULL));
	if (jump_and_restart(t, &e))
		goto out;
	dt_write(&e, "faults", "not-hitless " DT_DEV_B " " NOT_HITLESS_WHY "\n");
	dt_ctl(&e, &o, "finish", NULL);
	KEXPECT_EQ(t, o.code, 10);	/* EX_NOT_HITLESS */
	KEXPECT(t, HAS(o.err, "RELEASE " DT_DEV_B " refused, not hitless: " NOT_HITLESS_WHY) &&
		HAS(o.err, "stays on the adopted translation") && HAS(o.err, "finish --replace"),
		"%s", o.err);
	dt_out_free(&o);
	/* still VERIFIED, the refusal journaled; DT_DEV_A went back, DT_DEV_B did not */
	j = dt_journal(&e, why, sizeof(why));
	KASSERT(t, j, "%s", why);
	KEXPECT_EQ(t, j->state, SKHOD_VERIFIED);
	KEXPECT(t, j->handback && !strcmp(j->handback->refused_device, DT_DEV_B) &&
		!strcmp(j->handback->why, NOT_HITLESS_WHY), "handback");
	skhod_pb_free(j);
	KEXPECT_EQ(t, dt_kernel(&e, "in_state"), SMMU_KHO_ADOPTED);
	dt_ctl(&e, &o, "status", NULL);
	KEXPECT_EQ(t, o.code, 0);	/* VERIFIED is healthy: nothing was lost */
	KEXPECT(t, HAS(o.out, "REFUSED for " DT_DEV_B ", not hitless: " NOT_HITLESS_WHY) &&
		HAS(o.out, "last RELEASE failed: not hitless (EXDEV): " NOT_HITLESS_WHY) &&
		HAS(o.out, "retry `smmu-khoctl finish`, or `smmu-khoctl finish --replace`"),
		"%s", o.out);
	dt_out_free(&o);
	dt_ctl(&e, &o, "status", "--json", NULL);
	KEXPECT(t, dt_json_is(o.out, "handback.refused", "true") &&
		dt_json_is(o.out, "handback.refused_device", "\"" DT_DEV_B "\"") &&
		dt_json_is(o.out, "kernel.release_error", "-18") &&
		dt_json_is(o.out, "kernel.release_why", "\"" NOT_HITLESS_WHY "\""), "%s", o.out);
	dt_out_free(&o);
	/* the owner fixed its mapping: the retry is hitless and ends the update */
	dt_write(&e, "faults", "");
	j = finish_journal(t, &e, NULL, 0);
	if (!j)
		goto out;
	KEXPECT_EQ(t, j->state, SKHOD_FINISHED);
	KEXPECT(t, j->handback && !j->handback->refused_device[0] && !j->handback->why[0],
		"the refusal must be cleared by the successful retry");
	skhod_pb_free(j);
	KEXPECT_EQ(t, dt_kernel(&e, "in_state"), SMMU_KHO_RELEASED);
out:
	if (t->failed)
		dt_dump_log(&e);
	dt_cleanup(&e);
}

static void finish_replace_hands_back_without_the_check(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;
	Skhopb__Journal *j;

	KASSERT(t, !dt_setup(&e, NULL));
	if (jump_and_restart(t, &e))
		goto out;
	dt_write(&e, "faults", "not-hitless " DT_DEV_B " " NOT_HITLESS_WHY "\n");
	j = finish_journal(t, &e, "--replace", 0);
	if (!j)
		goto out;
	KEXPECT_EQ(t, dt_kernel(&e, "in_state"), SMMU_KHO_RELEASED);
	KEXPECT_EQ(t, j->state, SKHOD_FINISHED);
	KEXPECT(t, j->handback && j->handback->replace, "the journal must say --replace");
	skhod_pb_free(j);
	dt_ctl(&e, &o, "status", "--json", NULL);
	/* the ordinary STE update: no stream counted hitless, the pages still freed */
	KEXPECT(t, dt_json_is(o.out, "kernel.nr_released_hitless", "0") &&
		dt_json_is(o.out, "kernel.in_freed_pages", "15") &&
		dt_json_is(o.out, "handback.replace", "true"), "%s", o.out);
	dt_out_free(&o);
	dt_ctl(&e, &o, "history", NULL);
	KEXPECT(t, HAS(o.out, "  finish --replace\n") &&
		HAS(o.out, "FINISHED   streams released to the driver (--replace"), "%s", o.out);
	dt_out_free(&o);
out:
	if (t->failed)
		dt_dump_log(&e);
	dt_cleanup(&e);
}

static void abort_before_jump_leaves_nothing_preserved(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;
	Skhopb__Journal *j;
	char why[200];

	KASSERT(t, !dt_setup(&e, NULL));
	KASSERT(t, !dt_start(&e, NULL, NULL));
	dt_arm(&e, &o);
	dt_out_free(&o);
	dt_ctl(&e, &o, "update", "--no-jump", NULL);
	KEXPECT_EQ(t, o.code, 0);
	dt_out_free(&o);
	/* PRESERVED: the fake kernel holds the frozen snapshot and the image */
	KEXPECT_EQ(t, dt_kernel(&e, "out_state"), SMMU_KHO_FROZEN);
	KEXPECT_EQ(t, dt_kernel(&e, "kexec_loaded"), 1);
	dt_ctl(&e, &o, "abort", "--reason", "maintenance window closed", NULL);
	KEXPECT_EQ(t, o.code, 0);
	KEXPECT(t, HAS(o.out, "state: ABORTED"), "%s", o.out);
	dt_out_free(&o);
	/* nothing preserved, nothing loaded */
	KEXPECT_EQ(t, dt_kernel(&e, "out_state"), SMMU_KHO_IDLE);
	KEXPECT_EQ(t, dt_kernel(&e, "kexec_loaded"), 0);
	j = dt_journal(&e, why, sizeof(why));
	KASSERT(t, j, "%s", why);
	KEXPECT_EQ(t, j->state, SKHOD_ABORTED);
	KEXPECT(t, !strcmp(j->reason, "maintenance window closed"), "reason %s", j->reason);
	skhod_pb_free(j);
	/* a later "reboot" carries no handover: the LUO session was closed */
	dt_write(&e, "kernel", "boot 1\nout_state 0\nin_state 0\nkexec_loaded 1\nkexec_kernel /x\n");
	dt_ctl(&e, &o, "abort", NULL);
	/* abort in ABORTED with a leftover kexec image cleans it up: exit 0 */
	KEXPECT_EQ(t, o.code, 0);
	KEXPECT_EQ(t, dt_kernel(&e, "kexec_loaded"), 0);
	dt_out_free(&o);
	dt_cleanup(&e);
}

static void abort_after_jump_is_refused_with_wrong_state(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;

	KASSERT(t, !dt_setup(&e, NULL));
	if (jump_and_restart(t, &e))
		goto out;
	dt_ctl(&e, &o, "abort", NULL);
	KEXPECT_EQ(t, o.code, 6);	/* wrong state: the jump happened */
	KEXPECT(t, HAS(o.err, "nothing to roll back") && HAS(o.err, "next: "), "%s", o.err);
	dt_out_free(&o);
out:
	dt_cleanup(&e);
}

/* A failing kernel step rolls the attempt back and keeps the plan armed. */
static void rollback_case(struct ktest *t, const char *fault, const char *msg)
{
	struct dt_env e;
	struct dt_out o;
	Skhopb__Journal *j;
	char why[200];

	KASSERT(t, !dt_setup(&e, NULL));
	KASSERT(t, !dt_start(&e, NULL, NULL));
	dt_arm(&e, &o);
	dt_out_free(&o);
	dt_write(&e, "faults", fault);
	dt_ctl(&e, &o, "update", NULL);
	KEXPECT_EQ(t, o.code, 7);	/* kernel interface error */
	KEXPECT(t, HAS(o.err, msg), "stderr: %s", o.err);
	KEXPECT(t, HAS(o.err, "next: nothing is preserved"), "stderr: %s", o.err);
	dt_out_free(&o);
	KEXPECT_EQ(t, dt_kernel(&e, "out_state"), SMMU_KHO_IDLE);	/* rolled back */
	KEXPECT_EQ(t, dt_kernel(&e, "kexec_loaded"), 0);
	j = dt_journal(&e, why, sizeof(why));
	KASSERT(t, j, "%s", why);
	KEXPECT_EQ(t, j->state, SKHOD_ARMED);
	KEXPECT(t, HAS(j->reason, "rolled back"), "reason %s", j->reason);
	KEXPECT_EQ(t, j->n_pre_jump, 0);	/* no digests of a failed attempt */
	skhod_pb_free(j);
	/* cause removed: the same plan goes through */
	dt_write(&e, "faults", "");
	dt_ctl(&e, &o, "update", "--no-jump", NULL);
	KEXPECT_EQ(t, o.code, 0);
	dt_out_free(&o);
	KEXPECT_EQ(t, dt_kernel(&e, "out_state"), SMMU_KHO_FROZEN);
	if (t->failed)
		dt_dump_log(&e);
	dt_cleanup(&e);
}

static void failed_preserve_rolls_back_to_armed(struct ktest *t)
{
	rollback_case(t, "fail preserve 0000:00:03.0\n", "PRESERVE failed: 0000:00:03.0");
}

static void failed_freeze_rolls_back_to_armed(struct ktest *t)
{
	rollback_case(t, "fail freeze\n", "FREEZE failed");
}

static void failed_kexec_load_rolls_back_to_armed(struct ktest *t)
{
	rollback_case(t, "fail kexec\n", "kexec_file_load failed");
}

static void unparsable_snapshot_rolls_back_to_armed(struct ktest *t)
{
	rollback_case(t, "fdt-garbage\n", "does not parse: SKHO_E_FDT");
}

static void device_without_smmu_rolls_back_to_armed(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;

	KASSERT(t, !dt_setup(&e, NULL));
	KASSERT(t, !dt_start(&e, NULL, NULL));
	dt_ctl(&e, &o, "update", "--kernel", e.kernel, "--append", "console=ttyAMA0",
	       "--device", "0000:00:1f.0", NULL);
	KEXPECT_EQ(t, o.code, 7);	/* ENODEV from PRESERVE */
	KEXPECT(t, HAS(o.err, "0000:00:1f.0 is not behind an SMMUv3"), "%s", o.err);
	dt_out_free(&o);
	KEXPECT_EQ(t, dt_kernel(&e, "out_state"), SMMU_KHO_IDLE);
	dt_cleanup(&e);
}

static void failed_jump_stays_preserved_and_retries(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;
	int st;

	KASSERT(t, !dt_setup(&e, NULL));
	KASSERT(t, !dt_start(&e, NULL, NULL));
	dt_arm(&e, &o);
	dt_out_free(&o);
	dt_write(&e, "faults", "fail jump\n");
	dt_ctl(&e, &o, "update", NULL);
	KEXPECT_EQ(t, o.code, 7);
	KEXPECT(t, HAS(o.err, "the jump failed"), "%s", o.err);
	dt_out_free(&o);
	dt_ctl(&e, &o, "status", NULL);
	KEXPECT(t, HAS(o.out, "state:        PRESERVED"), "%s", o.out);
	dt_out_free(&o);
	KEXPECT_EQ(t, dt_kernel(&e, "out_state"), SMMU_KHO_FROZEN);
	dt_write(&e, "faults", "");
	dt_ctl(&e, &o, "update", NULL);
	KEXPECT_EQ(t, o.code, 0);	/* the retry jumps */
	dt_out_free(&o);
	st = dt_wait_exit(&e, 10000);
	KEXPECT(t, st != -1 && WIFEXITED(st), "daemon did not jump");
	dt_cleanup(&e);
}

static void journal_comes_from_luo_memfd_when_disk_copy_is_lost(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;
	char p[300];

	KASSERT(t, !dt_setup(&e, NULL));
	if (jump(t, &e))
		goto out;
	/* e.g. a state directory on tmpfs: gone with the old kernel */
	snprintf(p, sizeof(p), "%s/journal.pb", e.state);
	KEXPECT(t, !unlink(p), "unlink journal");
	KASSERT(t, !dt_start(&e, NULL, NULL));
	dt_ctl(&e, &o, "status", NULL);
	KEXPECT_EQ(t, o.code, 0);
	KEXPECT(t, HAS(o.out, "state:        VERIFIED"), "%s", o.out);
	dt_out_free(&o);
	KEXPECT(t, access(p, F_OK) == 0, "journal rewritten to disk");
out:
	dt_cleanup(&e);
}

static void journal_comes_from_disk_when_luo_carried_nothing(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;

	KASSERT(t, !dt_setup(&e, NULL));
	dt_write(&e, "faults", "no-luo\n");
	if (jump_and_restart(t, &e))
		goto out;
	dt_ctl(&e, &o, "status", NULL);
	KEXPECT(t, HAS(o.out, "state:        VERIFIED"), "%s", o.out);
	dt_out_free(&o);
out:
	dt_cleanup(&e);
}

static void second_update_from_the_new_kernel_verifies(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;
	Skhopb__Journal *j;
	char why[200];

	KASSERT(t, !dt_setup(&e, NULL));
	if (jump_and_restart(t, &e))
		goto out;
	dt_ctl(&e, &o, "finish", NULL);
	dt_out_free(&o);
	/* the new kernel still lists the 3 streams it was handed (RELEASED)
	 * next to the 3 it now preserves: the snapshot check counts only the
	 * outgoing ones */
	if (jump(t, &e))
		goto out;
	KEXPECT_EQ(t, dt_kernel(&e, "boot"), 3);	/* two fake kexecs */
	KASSERT(t, !dt_start(&e, NULL, NULL));
	j = dt_journal(&e, why, sizeof(why));
	KASSERT(t, j, "%s", why);
	KEXPECT_EQ(t, j->state, SKHOD_VERIFIED);
	KEXPECT(t, j->verification && j->verification->nr_ok == 3, "second verification");
	skhod_pb_free(j);
	dt_ctl(&e, &o, "history", NULL);
	KEXPECT(t, HAS(o.out, "VERIFIED  verdict PASS  (current)") &&
		HAS(o.out, "FINISHED  verdict PASS\n"), "%s", o.out);
	dt_out_free(&o);
out:
	if (t->failed)
		dt_dump_log(&e);
	dt_cleanup(&e);
}

static void active_probe_failure_fails_the_probed_stream(struct ktest *t)
{
	/* the probe command sees SKHO_SID/SKHO_DEVICE/SKHO_SMMU; it fails for 0x18 */
	static const char *const args[] = {
		"--probe-cmd", "test \"$SKHO_SID\" != 0x18 && test -n \"$SKHO_DEVICE\" && "
		"test \"$SKHO_SMMU\" = 0x9050000", NULL };
	struct dt_env e;
	struct dt_out o;

	KASSERT(t, !dt_setup(&e, NULL));
	KASSERT(t, !dt_start(&e, args, NULL));
	if (jump(t, &e))
		goto out;
	KASSERT(t, !dt_start(&e, args, NULL));
	dt_ctl(&e, &o, "status", NULL);
	KEXPECT_EQ(t, o.code, 4);	/* FAILED by the probe alone */
	KEXPECT(t, HAS(o.out, "SID 0x18 (0000:00:03.0) on SMMU 0x9050000: active probe failed: probe command exited 1"),
		"%s", o.out);
	KEXPECT(t, HAS(o.out, "2 of 3 streams intact, 1 failed, 0 lost, probed"), "%s", o.out);
	dt_out_free(&o);
out:
	if (t->failed)
		dt_dump_log(&e);
	dt_cleanup(&e);
}

static void real_backend_without_the_module_explains_and_rolls_back(struct ktest *t)
{
	static const char *const args[] = { "--backend", "real", NULL };
	struct dt_env e;
	struct dt_out o;
	FILE *f = fopen("/sys/kernel/kexec_loaded", "r");
	int loaded = 0;

	if (f) {
		loaded = fgetc(f) == '1';
		fclose(f);
	}
	if (access("/dev/smmu_kho", F_OK) == 0 || loaded) {
		/* a real smmu_kho or a loaded kexec image: not ours to touch */
		ktest_diag("host has /dev/smmu_kho or a kexec image loaded: nothing to check");
		return;
	}
	KASSERT(t, !dt_setup(&e, NULL));
	KASSERT(t, !dt_start(&e, args, NULL));
	dt_ctl(&e, &o, "status", NULL);
	KEXPECT_EQ(t, o.code, 0);
	KEXPECT(t, HAS(o.out, "kernel:       unavailable: /dev/smmu_kho: No such file or directory (is smmu_kho.ko loaded?)"),
		"%s", o.out);
	KEXPECT(t, HAS(o.out, "backend real"), "%s", o.out);
	dt_out_free(&o);
	dt_ctl(&e, &o, "update", "--kernel", e.kernel, "--append", "console=ttyAMA0",
	       "--device", DT_DEV_A, NULL);
	/* PRESERVE cannot reach the module: exit 7, rolled back to ARMED */
	KEXPECT_EQ(t, o.code, 7);
	KEXPECT(t, HAS(o.err, "PRESERVE failed: 0000:00:02.0: /dev/smmu_kho"), "%s", o.err);
	dt_out_free(&o);
	dt_ctl(&e, &o, "status", NULL);
	KEXPECT(t, HAS(o.out, "state:        ARMED"), "%s", o.out);
	dt_out_free(&o);
	dt_cleanup(&e);
}

static void daemon_exits_zero_on_sigterm(struct ktest *t)
{
	struct dt_env e;
	int st;

	KASSERT(t, !dt_setup(&e, NULL));
	KASSERT(t, !dt_start(&e, NULL, NULL));
	st = dt_stop(&e);
	/* clean shutdown, no leak reported by LeakSanitizer (it would exit 23) */
	KEXPECT(t, st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
	dt_cleanup(&e);
}

KTEST_MAIN("daemon_update",
	   KTEST_CASE(full_update_reaches_verified_with_no_ste_lost),
	   KTEST_CASE(lost_stream_after_jump_fails_naming_its_sid),
	   KTEST_CASE(refused_stream_fails_with_the_kernels_reason),
	   KTEST_CASE(changed_ste_fails_the_stream),
	   KTEST_CASE(changed_translation_fails_the_stream),
	   KTEST_CASE(smmu_events_fail_the_stream),
	   KTEST_CASE(cold_boot_without_handover_fails),
	   KTEST_CASE(finish_releases_streams_and_next_arm_archives),
	   KTEST_CASE(hitless_finish_releases_and_counts_the_pages_given_back),
	   KTEST_CASE(not_hitless_finish_is_refused_naming_the_iova_and_can_be_retried),
	   KTEST_CASE(finish_replace_hands_back_without_the_check),
	   KTEST_CASE(abort_before_jump_leaves_nothing_preserved),
	   KTEST_CASE(abort_after_jump_is_refused_with_wrong_state),
	   KTEST_CASE(failed_preserve_rolls_back_to_armed),
	   KTEST_CASE(failed_freeze_rolls_back_to_armed),
	   KTEST_CASE(failed_kexec_load_rolls_back_to_armed),
	   KTEST_CASE(unparsable_snapshot_rolls_back_to_armed),
	   KTEST_CASE(device_without_smmu_rolls_back_to_armed),
	   KTEST_CASE(failed_jump_stays_preserved_and_retries),
	   KTEST_CASE(journal_comes_from_luo_memfd_when_disk_copy_is_lost),
	   KTEST_CASE(journal_comes_from_disk_when_luo_carried_nothing),
	   KTEST_CASE(second_update_from_the_new_kernel_verifies),
	   KTEST_CASE(active_probe_failure_fails_the_probed_stream),
	   KTEST_CASE(real_backend_without_the_module_explains_and_rolls_back),
	   KTEST_CASE(daemon_exits_zero_on_sigterm))
