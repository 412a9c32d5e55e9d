// SPDX-License-Identifier: GPL-2.0-only
/* smmu-khoctl: golden status/history output (human and --json) and every documented exit code. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dtest.h"

#define HAS(s, sub) ((s) && strstr((s), (sub)))

/* Output with the temp root replaced, so golden files hold no random paths. */
static char *norm(struct dt_env *e, char *s)
{
	return dt_subst(s, e->root, "@ROOT@");
}

static void golden_ctl(struct ktest *t, struct dt_env *e, const char *golden, int want_code,
		       const char *a1, const char *a2)
{
	struct dt_out o;

	dt_ctl(e, &o, a1, a2, NULL);
	KEXPECT_EQ(t, o.code, want_code);
	o.out = norm(e, o.out);
	dt_golden(t, golden, o.out ? o.out : "");
	dt_out_free(&o);
}

static int update_jump_restart(struct ktest *t, struct dt_env *e)
{
	struct dt_out o;

	dt_ctl(e, &o, "update", NULL);
	KEXPECT_EQ(t, o.code, 0);
	dt_out_free(&o);
	if (dt_wait_exit(e, 10000) == -1 || dt_start(e, NULL, NULL)) {
		ktest_fail(t, __FILE__, __LINE__, "jump/restart failed");
		return -1;
	}
	return 0;
}

static void status_output_matches_golden_through_a_good_update(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;

	KASSERT(t, !dt_setup(&e, NULL));
	KASSERT(t, !dt_start(&e, NULL, NULL));
	golden_ctl(t, &e, "status-idle.txt", 0, "status", NULL);
	dt_arm(&e, &o);
	dt_out_free(&o);
	golden_ctl(t, &e, "status-armed.txt", 0, "status", NULL);
	dt_ctl(&e, &o, "update", "--no-jump", NULL);
	o.out = norm(&e, o.out);
	dt_golden(t, "update-no-jump.txt", o.out ? o.out : "");
	dt_out_free(&o);
	golden_ctl(t, &e, "status-preserved.txt", 0, "status", NULL);
	golden_ctl(t, &e, "status-preserved.json", 0, "status", "--json");
	if (update_jump_restart(t, &e))
		goto out;
	golden_ctl(t, &e, "status-verified.txt", 0, "status", NULL);
	golden_ctl(t, &e, "status-verified.json", 0, "status", "--json");
	dt_ctl(&e, &o, "finish", NULL);
	dt_out_free(&o);
	golden_ctl(t, &e, "history-finished.txt", 0, "history", NULL);
out:
	dt_cleanup(&e);
}

static void status_output_matches_golden_for_a_lost_stream(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;

	KASSERT(t, !dt_setup(&e, NULL));
	dt_write(&e, "faults", "lose 0x18\n");
	KASSERT(t, !dt_start(&e, NULL, NULL));
	dt_arm(&e, &o);
	dt_out_free(&o);
	if (update_jump_restart(t, &e))
		goto out;
	/* exit 4: the update FAILED */
	golden_ctl(t, &e, "status-failed.txt", 4, "status", NULL);
	golden_ctl(t, &e, "status-failed.json", 4, "status", "--json");
out:
	dt_cleanup(&e);
}

static void status_output_matches_golden_for_a_refused_hand_back(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;

	KASSERT(t, !dt_setup(&e, NULL));
	KASSERT(t, !dt_start(&e, NULL, NULL));
	dt_arm(&e, &o);
	dt_out_free(&o);
	if (update_jump_restart(t, &e))
		goto out;
	dt_write(&e, "faults", "not-hitless 0000:00:03.0 SID 0x18 IOVA 0x10001000: "
		 "new domain maps PA 0x41235000, adopted 0x40005000\n");
	/* exit 10: not hitless, the reason on stderr; status stays 0 (VERIFIED, nothing lost) */
	dt_ctl(&e, &o, "finish", NULL);
	KEXPECT_EQ(t, o.code, 10);
	dt_golden(t, "finish-not-hitless.txt", o.err ? o.err : "");
	dt_out_free(&o);
	golden_ctl(t, &e, "status-not-hitless.txt", 0, "status", NULL);
	golden_ctl(t, &e, "status-not-hitless.json", 0, "status", "--json");
	golden_ctl(t, &e, "finish-replace.txt", 0, "finish", "--replace");
	golden_ctl(t, &e, "status-finished-replace.txt", 0, "status", NULL);
out:
	dt_cleanup(&e);
}

static void status_output_matches_golden_after_abort(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;

	KASSERT(t, !dt_setup(&e, NULL));
	KASSERT(t, !dt_start(&e, NULL, NULL));
	dt_arm(&e, &o);
	dt_out_free(&o);
	dt_ctl(&e, &o, "abort", "--reason", "change freeze", NULL);
	dt_out_free(&o);
	golden_ctl(t, &e, "status-aborted.txt", 0, "status", NULL);
	dt_cleanup(&e);
}

/* One command line and the exit code the operator guide promises. */
struct exit_case {
	const char *why;
	int code;
	const char *args[12];
	const char *stderr_has;
};

static void usage_errors_exit_2_without_a_daemon(struct ktest *t)
{
	static const struct exit_case cases[] = {
		{ "no command", 2, { NULL }, "no command given" },
		{ "unknown command", 2, { "reboot", NULL }, "unknown command" },
		{ "unknown option", 2, { "status", "--bogus", NULL }, "unexpected argument" },
		{ "arm without a plan", 2, { "arm", NULL }, "the plan needs" },
		{ "plan without a command line", 2,
		  { "arm", "--kernel", "/k", "--device", "0000:00:02.0", NULL }, "--append" },
		{ "plan with both command lines", 2,
		  { "arm", "--kernel", "/k", "--append", "x", "--reuse-cmdline", "--device",
		    "0000:00:02.0", NULL }, "not both" },
		{ "plan without a device", 2,
		  { "arm", "--kernel", "/k", "--append", "x", NULL }, "--device" },
		{ "option without value", 2, { "abort", "--reason", NULL }, "needs a value" },
		{ "missing config", 2, { "update", "--config", "/nonexistent.conf", NULL },
		  "/nonexistent.conf" },
	};
	struct dt_env e;
	size_t i;

	KASSERT(t, !dt_setup(&e, NULL));	/* no daemon: usage is checked first */
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dt_out o;

		dt_ctlv(&e, &o, cases[i].args);
		KEXPECT(t, o.code == cases[i].code, "%s: exit %d, want %d", cases[i].why, o.code,
			cases[i].code);
		KEXPECT(t, HAS(o.err, cases[i].stderr_has), "%s: stderr %s", cases[i].why, o.err);
		KEXPECT(t, HAS(o.err, "smmu-khoctl --help"), "%s: says what to do next",
			cases[i].why);
		dt_out_free(&o);
	}
	dt_cleanup(&e);
}

static void unreachable_daemon_exits_3_and_says_how_to_start_it(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;

	KASSERT(t, !dt_setup(&e, NULL));
	dt_ctl(&e, &o, "status", NULL);
	KEXPECT_EQ(t, o.code, 3);
	KEXPECT(t, HAS(o.err, "smmu-khod is not running") &&
		HAS(o.err, "next: start it with `systemctl start smmu-khod.socket`"), "%s", o.err);
	dt_out_free(&o);
	dt_cleanup(&e);
}

static void daemon_side_errors_map_to_documented_codes(struct ktest *t)
{
	struct dt_env e;
	char bad_kernel[300];
	struct exit_case cases[] = {
		{ "invalid plan: missing kernel", 2,
		  { "arm", "--kernel", bad_kernel, "--reuse-cmdline", "--device", "0000:00:02.0",
		    NULL }, "invalid plan: kernel" },
		{ "invalid plan: not a PCI name", 2,
		  { "arm", "--kernel", e.kernel, "--reuse-cmdline", "--device", "eth0", NULL },
		  "not a PCI name" },
		{ "verify before any jump", 6, { "verify", NULL }, "nothing to verify" },
		{ "finish while idle", 6, { "finish", NULL }, "nothing to finish" },
		{ "abort while idle", 6, { "abort", NULL }, "nothing to abort" },
		{ "update while idle", 6, { "update", NULL }, "nothing to update" },
		{ "verify --probe while idle", 6, { "verify", "--probe", NULL }, "nothing to verify" },
	};
	size_t i;

	KASSERT(t, !dt_setup(&e, NULL));
	snprintf(bad_kernel, sizeof(bad_kernel), "%s/no-such-kernel", e.root);
	cases[1].args[2] = e.kernel;
	KASSERT(t, !dt_start(&e, NULL, NULL));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dt_out o;

		dt_ctlv(&e, &o, cases[i].args);
		KEXPECT(t, o.code == cases[i].code, "%s: exit %d, want %d", cases[i].why, o.code,
			cases[i].code);
		KEXPECT(t, HAS(o.err, cases[i].stderr_has), "%s: %s", cases[i].why, o.err);
		/* every daemon error says what to do next */
		KEXPECT(t, HAS(o.err, "smmu-khoctl: next: "), "%s: no hint: %s", cases[i].why,
			o.err);
		dt_out_free(&o);
	}
	dt_cleanup(&e);
}

/*
 * uid 65534 runs a copy of smmu-khoctl from a fresh 0755 directory under
 * /tmp: the build tree may sit where it cannot traverse (a clone in /root,
 * 0700).  Not root: the case fails, since it cannot switch uid.
 */
static void non_root_caller_exits_5(struct ktest *t)
{
	char dir[] = "/tmp/skhoctl-nobody.XXXXXX", bin[64], cmd[256];
	struct dt_env e;
	pid_t pid;
	int st;

	KASSERT(t, geteuid() == 0, "needs root: runs the daemon as root, the caller as uid 65534");
	KASSERT(t, mkdtemp(dir) && !chmod(dir, 0755), "%s", dir);
	snprintf(bin, sizeof(bin), "%s/smmu-khoctl", dir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod 0755 '%s'", SKHOCTL_BIN, bin, bin);
	KEXPECT(t, system(cmd) == 0, "%s", cmd);
	KASSERT(t, !dt_setup(&e, NULL));
	KASSERT(t, !chmod(e.root, 0755));
	KASSERT(t, !dt_start(&e, NULL, NULL));
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		if (setgid(65534) || setuid(65534))
			_exit(99);
		execl(bin, bin, "--socket", e.sock, "status", (char *)NULL);
		_exit(98);
	}
	waitpid(pid, &st, 0);
	/* 98: uid 65534 could not execute the copy; 99: could not switch uid */
	KEXPECT(t, !(WIFEXITED(st) && WEXITSTATUS(st) >= 98), "status 0x%x: %s", st,
		WEXITSTATUS(st) == 98 ? "exec as uid 65534 failed" : "setuid failed");
	/* the socket is 0600 root: connect() gets EACCES */
	KEXPECT(t, WIFEXITED(st) && WEXITSTATUS(st) == 5, "status 0x%x", st);
	dt_cleanup(&e);
	unlink(bin);
	rmdir(dir);
}

static void help_lists_commands_and_exit_codes(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;

	KASSERT(t, !dt_setup(&e, NULL));
	dt_ctl(&e, &o, "--help", NULL);
	KEXPECT_EQ(t, o.code, 0);
	KEXPECT(t, HAS(o.out, "exit status: 0 ok, 1 failure, 2 usage, 3 daemon not running, 4 verification"),
		"%s", o.out);
	KEXPECT(t, HAS(o.out, "8 daemon busy"), "%s", o.out);
	KEXPECT(t, HAS(o.out, "9 needs attention"), "%s", o.out);
	KEXPECT(t, HAS(o.out, "plan|arm") && HAS(o.out, "history"), "%s", o.out);
	dt_out_free(&o);
	dt_cleanup(&e);
}

static void dry_run_plan_resolves_without_arming(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;

	KASSERT(t, !dt_setup(&e, NULL));
	KASSERT(t, !dt_start(&e, NULL, NULL));
	dt_ctl(&e, &o, "plan", "--kernel", e.kernel, "--reuse-cmdline", "--device",
	       DT_DEV_A, "--dry-run", NULL);
	KEXPECT_EQ(t, o.code, 0);
	/* the resolved command line: /proc/cmdline minus BOOT_IMAGE= */
	KEXPECT(t, HAS(o.out, "cmdline: console=ttyAMA0 kho=on liveupdate=on\n"), "%s", o.out);
	KEXPECT(t, HAS(o.out, "plan is valid (dry run, nothing changed)"), "%s", o.out);
	dt_out_free(&o);
	dt_ctl(&e, &o, "status", NULL);
	KEXPECT(t, HAS(o.out, "state:        IDLE"), "%s", o.out);
	dt_out_free(&o);
	dt_cleanup(&e);
}

static void config_file_drives_update_and_rejects_unknown_keys(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;
	char conf[300], body[900];
	FILE *f;

	KASSERT(t, !dt_setup(&e, NULL));
	KASSERT(t, !dt_start(&e, NULL, NULL));
	snprintf(conf, sizeof(conf), "%s/update.conf", e.root);
	snprintf(body, sizeof(body),
		 "# the plan\nKERNEL=%s\nINITRD=\"%s\"\nAPPEND='console=ttyAMA0 quiet'\n"
		 "DEVICES=\"%s %s\"\nNO_JUMP=yes\n", e.kernel, e.initrd, DT_DEV_A, DT_DEV_B);
	f = fopen(conf, "w");
	KASSERT(t, f);
	fputs(body, f);
	fclose(f);
	dt_ctl(&e, &o, "update", "--config", conf, NULL);
	KEXPECT_EQ(t, o.code, 0);	/* NO_JUMP=yes: stops in PRESERVED */
	KEXPECT(t, HAS(o.out, "update: state PRESERVED"), "%s", o.out);
	dt_out_free(&o);
	dt_ctl(&e, &o, "status", NULL);
	KEXPECT(t, HAS(o.out, "cmdline console=ttyAMA0 quiet\n") &&
		HAS(o.out, "devices 0000:00:02.0 0000:00:03.0"), "%s", o.out);
	dt_out_free(&o);
	f = fopen(conf, "a");
	fputs("REBOOT=now\n", f);
	fclose(f);
	dt_ctl(&e, &o, "update", "--config", conf, NULL);
	KEXPECT_EQ(t, o.code, 2);
	KEXPECT(t, HAS(o.err, "update.conf:7: unknown key REBOOT"), "%s", o.err);
	dt_out_free(&o);
	dt_cleanup(&e);
}

KTEST_MAIN("daemon_cli",
	   KTEST_CASE(status_output_matches_golden_through_a_good_update),
	   KTEST_CASE(status_output_matches_golden_for_a_lost_stream),
	   KTEST_CASE(status_output_matches_golden_for_a_refused_hand_back),
	   KTEST_CASE(status_output_matches_golden_after_abort),
	   KTEST_CASE(usage_errors_exit_2_without_a_daemon),
	   KTEST_CASE(unreachable_daemon_exits_3_and_says_how_to_start_it),
	   KTEST_CASE(daemon_side_errors_map_to_documented_codes),
	   KTEST_CASE(non_root_caller_exits_5),
	   KTEST_CASE(help_lists_commands_and_exit_codes),
	   KTEST_CASE(dry_run_plan_resolves_without_arming),
	   KTEST_CASE(config_file_drives_update_and_rejects_unknown_keys))
