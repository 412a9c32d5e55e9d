// SPDX-License-Identifier: GPL-2.0-only
/* Start-up with an unusable journal (moved aside, recovered or NEEDS_ATTENTION) or an unsafe state directory. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dtest.h"
#include "journal.h"
#include "pbutil.h"
#include "smmu_kho.h"
#include "state.h"

#define HAS(s, sub) ((s) && strstr((s), (sub)))

/* The daemon's whole log (all runs), malloc'd or NULL. */
static char *read_log(struct dt_env *e)
{
	FILE *f = fopen(e->log, "re");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	if (getdelim(&buf, &len, 0, f) < 0) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* Name of the first "journal.pb.corrupt-*" entry of the state dir, or "". */
static void find_aside(struct dt_env *e, char *name, size_t len)
{
	DIR *d = opendir(e->state);
	struct dirent *de;

	name[0] = 0;
	if (!d)
		return;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "journal.pb.corrupt-", 19)) {
			snprintf(name, len, "%s", de->d_name);
			break;
		}
	closedir(d);
}

static void jpath(struct dt_env *e, char *p, size_t len, const char *name)
{
	snprintf(p, len, "%s/%s", e->state, name);
}

/* Rewrite journal.pb with a valid header and CRC around a changed journal. */
static void rewrite(struct dt_env *e, void (*mutate)(Skhopb__Journal *j))
{
	char p[300], why[200];
	Skhopb__Journal *j = dt_journal(e, why, sizeof(why));
	uint8_t *buf;
	size_t len;
	FILE *f;

	if (!j)
		return;
	mutate(j);
	if (!skhod_journal_encode(j, &buf, &len)) {
		jpath(e, p, sizeof(p), SKHOD_JOURNAL_FILE);
		f = fopen(p, "we");
		if (f) {
			fwrite(buf, 1, len, f);
			fclose(f);
		}
		free(buf);
	}
	skhod_pb_free(j);
}

static void mut_state_99(Skhopb__Journal *j)
{
	j->state = 99;
}

static void mut_no_plan(Skhopb__Journal *j)
{
	skhod_pb_free(j->plan);
	j->plan = NULL;
}

static void mut_seq_max(Skhopb__Journal *j)
{
	j->seq = UINT64_MAX;
}

/* ---- the bad inputs ---- */

static void bad_truncated(struct dt_env *e, const char *p)
{
	struct stat st;

	(void)e;
	if (!stat(p, &st))
		(void)truncate(p, st.st_size - 7);	/* cut inside the payload */
}

static void bad_flipped(struct dt_env *e, const char *p)
{
	int fd = open(p, O_RDWR | O_CLOEXEC);
	unsigned char c;

	(void)e;
	if (fd < 0)
		return;
	if (pread(fd, &c, 1, SKHOD_JOURNAL_HDR + 9) == 1) {
		c ^= 0x10;	/* one bit of the payload */
		(void)pwrite(fd, &c, 1, SKHOD_JOURNAL_HDR + 9);
	}
	close(fd);
}

static void bad_empty(struct dt_env *e, const char *p)
{
	(void)e;
	(void)truncate(p, 0);
}

static void bad_directory(struct dt_env *e, const char *p)
{
	(void)e;
	unlink(p);
	mkdir(p, 0700);
}

static void bad_dangling_link(struct dt_env *e, const char *p)
{
	(void)e;
	unlink(p);
	(void)symlink("/nonexistent/smmu-kho-journal", p);
}

static void bad_fifo(struct dt_env *e, const char *p)
{
	(void)e;
	unlink(p);
	mkfifo(p, 0600);
}

static void bad_state_99(struct dt_env *e, const char *p)
{
	(void)p;
	rewrite(e, mut_state_99);
}

static void bad_no_plan(struct dt_env *e, const char *p)
{
	(void)p;
	rewrite(e, mut_no_plan);
}

static void bad_seq_max(struct dt_env *e, const char *p)
{
	(void)p;
	rewrite(e, mut_seq_max);
}

struct bad_journal {
	const char *what;
	void (*make)(struct dt_env *e, const char *path);
	const char *why;	/* names the defect, in the log and the reason */
};

static const struct bad_journal bad[] = {
	{ "truncated", bad_truncated, "truncated" },
	{ "one bit flipped", bad_flipped, "CRC" },
	{ "zero length", bad_empty, "empty" },
	{ "a directory", bad_directory, "directory" },
	{ "a dangling symlink", bad_dangling_link, "symbolic link" },
	{ "a FIFO", bad_fifo, "FIFO" },
	{ "valid CRC, state 99", bad_state_99, "unknown state 99" },
	{ "valid CRC, PRESERVED without a plan", bad_no_plan, "without an absolute kernel path" },
	{ "valid CRC, seq 2^64-1", bad_seq_max, "seq 18446744073709551615" },
};

/* Reach PRESERVED (kernel FROZEN, image loaded), kill -9, damage the journal. */
static int preserved_then_damaged(struct ktest *t, struct dt_env *e, const struct bad_journal *b)
{
	struct dt_out o;
	char p[300];

	if (dt_start(e, NULL, NULL))
		return -1;
	dt_arm(e, &o);
	KEXPECT_EQ(t, o.code, 0);
	dt_out_free(&o);
	dt_ctl(e, &o, "update", "--no-jump", NULL);
	KEXPECT_EQ(t, o.code, 0);
	dt_out_free(&o);
	dt_kill9(e);	/* no fd store, and the fake's LUO dies with the process */
	jpath(e, p, sizeof(p), SKHOD_JOURNAL_FILE);
	b->make(e, p);
	return 0;
}

static void one_bad_journal(struct ktest *t, const struct bad_journal *b)
{
	struct dt_env e;
	struct dt_out o;
	Skhopb__Journal *j;
	char aside[256], why[200], *log;
	int st = 0;

	KASSERT(t, !dt_setup(&e, NULL));
	if (preserved_then_damaged(t, &e, b)) {
		ktest_fail(t, __FILE__, __LINE__, "%s: setup failed", b->what);
		goto out;
	}
	/* start-up neither blocks (FIFO) nor aborts (bad content) */
	if (dt_start(&e, NULL, &st)) {
		ktest_fail(t, __FILE__, __LINE__, "%s: daemon did not come up (status 0x%x)",
			   b->what, st);
		goto out;
	}
	/* moved aside, not replaced: journal.pb.corrupt-<unix time> */
	find_aside(&e, aside, sizeof(aside));
	KEXPECT(t, aside[0], "%s: no journal.pb.corrupt-* in the state directory", b->what);
	log = read_log(&e);
	KEXPECT(t, HAS(log, "journal.pb") && HAS(log, b->why) && (!aside[0] || HAS(log, aside)),
		"%s: log does not name the file, \"%s\" and %s", b->what, b->why, aside);
	free(log);
	/* status tells the truth: the journal is gone, the kernel is FROZEN */
	dt_ctl(&e, &o, "status", NULL);
	KEXPECT(t, HAS(o.out, "NEEDS_ATTENTION"), "%s: status: %s", b->what, o.out);
	KEXPECT_EQ(t, o.code, 9);	/* EX_ATTENTION: a script must not read "ok" */
	KEXPECT(t, HAS(o.out, "journal.pb") && HAS(o.out, b->why), "%s: status reason: %s",
		b->what, o.out);
	KEXPECT(t, HAS(o.out, "outgoing FROZEN") && HAS(o.out, "kexec image loaded"),
		"%s: status: %s", b->what, o.out);
	dt_out_free(&o);
	/* the new journal on disk is sound and says so too */
	j = dt_journal(&e, why, sizeof(why));
	KEXPECT(t, j && j->state == SKHOD_NEEDS_ATTENTION, "%s: journal %s", b->what,
		j ? skhod_state_name(j->state) : why);
	skhod_pb_free(j);
	/* arm is refused: the operator must look first */
	dt_arm(&e, &o);
	KEXPECT_EQ(t, o.code, 6);	/* EX_STATE: not allowed in NEEDS_ATTENTION */
	dt_out_free(&o);
	/* abort cleans the kernel up */
	dt_ctl(&e, &o, "abort", NULL);
	KEXPECT_EQ(t, o.code, 0);
	dt_out_free(&o);
	KEXPECT_EQ(t, dt_kernel(&e, "out_state"), SMMU_KHO_IDLE);
	KEXPECT_EQ(t, dt_kernel(&e, "kexec_loaded"), 0);
	j = dt_journal(&e, why, sizeof(why));
	KEXPECT(t, j && j->state == SKHOD_ABORTED, "%s: after abort %s", b->what,
		j ? skhod_state_name(j->state) : why);
	skhod_pb_free(j);
	/* and a new update can start; the NEEDS_ATTENTION journal is history */
	dt_arm(&e, &o);
	KEXPECT_EQ(t, o.code, 0);
	dt_out_free(&o);
	dt_ctl(&e, &o, "history", NULL);
	KEXPECT(t, o.code == 0 && HAS(o.out, "NEEDS_ATTENTION"), "%s: history: %s", b->what, o.out);
	dt_out_free(&o);
out:
	if (t->failed)
		dt_dump_log(&e);
	dt_cleanup(&e);
}

static void journal_truncated_while_frozen_is_moved_aside_and_needs_attention(struct ktest *t)
{
	one_bad_journal(t, &bad[0]);
}

static void journal_bit_flipped_while_frozen_is_moved_aside_and_needs_attention(struct ktest *t)
{
	one_bad_journal(t, &bad[1]);
}

static void journal_zero_length_while_frozen_is_moved_aside_and_needs_attention(struct ktest *t)
{
	one_bad_journal(t, &bad[2]);
}

static void journal_directory_while_frozen_is_moved_aside_and_needs_attention(struct ktest *t)
{
	one_bad_journal(t, &bad[3]);
}

static void journal_dangling_symlink_while_frozen_is_moved_aside_and_needs_attention(struct ktest *t)
{
	one_bad_journal(t, &bad[4]);
}

static void journal_fifo_while_frozen_is_moved_aside_and_needs_attention(struct ktest *t)
{
	one_bad_journal(t, &bad[5]);
}

static void journal_state_99_while_frozen_is_moved_aside_and_needs_attention(struct ktest *t)
{
	one_bad_journal(t, &bad[6]);
}

static void journal_preserved_without_plan_while_frozen_is_moved_aside_and_needs_attention(struct ktest *t)
{
	one_bad_journal(t, &bad[7]);
}

static void journal_seq_2_64_minus_1_while_frozen_is_moved_aside_and_needs_attention(struct ktest *t)
{
	one_bad_journal(t, &bad[8]);
}

static void corrupt_disk_journal_after_the_jump_recovers_from_the_luo_copy(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;
	char p[300], aside[256], *log;
	int st;

	KASSERT(t, !dt_setup(&e, NULL));
	KASSERT(t, !dt_start(&e, NULL, NULL));
	dt_arm(&e, &o);
	dt_out_free(&o);
	dt_ctl(&e, &o, "update", NULL);
	dt_out_free(&o);
	st = dt_wait_exit(&e, 10000);
	KEXPECT(t, st != -1, "no jump");
	jpath(&e, p, sizeof(p), SKHOD_JOURNAL_FILE);
	bad_flipped(&e, p);
	KASSERT(t, !dt_start(&e, NULL, NULL));
	find_aside(&e, aside, sizeof(aside));
	KEXPECT(t, aside[0], "the corrupt disk journal was replaced, not moved aside");
	log = read_log(&e);
	KEXPECT(t, HAS(log, "CRC") && HAS(log, "from luo"), "log lacks the recovery");
	free(log);
	dt_ctl(&e, &o, "status", NULL);
	KEXPECT(t, HAS(o.out, "VERIFIED"), "status: %s", o.out);	/* the LUO copy carried it */
	dt_out_free(&o);
	if (t->failed)
		dt_dump_log(&e);
	dt_cleanup(&e);
}

/*
 * After the jump, without the LUO copy (fault no-luo) and with the disk
 * journal corrupt: the new kernel has adopted streams nobody can verify.
 * NEEDS_ATTENTION says so; abort hands them back to their drivers.
 */
static void corrupt_journal_after_the_jump_without_luo_needs_attention_and_abort_releases(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;
	char p[300], aside[256];
	int st;

	KASSERT(t, !dt_setup(&e, NULL));
	dt_write(&e, "faults", "no-luo\n");
	KASSERT(t, !dt_start(&e, NULL, NULL));
	dt_arm(&e, &o);
	dt_out_free(&o);
	dt_ctl(&e, &o, "update", NULL);
	dt_out_free(&o);
	st = dt_wait_exit(&e, 10000);
	KEXPECT(t, st != -1, "no jump");
	jpath(&e, p, sizeof(p), SKHOD_JOURNAL_FILE);
	bad_truncated(&e, p);
	KASSERT(t, !dt_start(&e, NULL, NULL));
	find_aside(&e, aside, sizeof(aside));
	KEXPECT(t, aside[0], "not moved aside");
	dt_ctl(&e, &o, "status", NULL);
	KEXPECT(t, HAS(o.out, "NEEDS_ATTENTION") && HAS(o.out, "incoming ADOPTED (3 adopted)"),
		"status: %s", o.out);	/* 3 streams of the default plan */
	dt_out_free(&o);
	KEXPECT_EQ(t, dt_kernel(&e, "in_state"), SMMU_KHO_ADOPTED);
	dt_ctl(&e, &o, "abort", NULL);
	KEXPECT_EQ(t, o.code, 0);
	dt_out_free(&o);
	KEXPECT_EQ(t, dt_kernel(&e, "in_state"), SMMU_KHO_RELEASED);	/* every stream released */
	if (t->failed)
		dt_dump_log(&e);
	dt_cleanup(&e);
}

/* Start smmu-khod with @memfd in the fd store (LISTEN_FDNAMES=journal). */
static int start_with_fd_store(struct dt_env *e, int memfd)
{
	char be[300], pidbuf[32];
	struct dt_out o;
	pid_t pid;
	int i, code = 3;

	snprintf(be, sizeof(be), "fake:%s", e->fake);
	unlink(e->sock);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int logfd = open(e->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		int high = fcntl(memfd, F_DUPFD, 100);	/* memfd may be fd 3 itself */

		dup2(logfd, 2);
		dup2(high, 3);		/* clears FD_CLOEXEC */
		snprintf(pidbuf, sizeof(pidbuf), "%d", (int)getpid());
		setenv("LISTEN_FDS", "1", 1);
		setenv("LISTEN_PID", pidbuf, 1);
		setenv("LISTEN_FDNAMES", "journal", 1);
		unsetenv("NOTIFY_SOCKET");
		execl(e->bin, e->bin, "--backend", be, "--state-dir", e->state, "--socket",
		      e->sock, "-v", (char *)NULL);
		_exit(127);
	}
	e->pid = pid;
	for (i = 0; i < 750 && code == 3; i++) {	/* exit 3: not listening yet */
		dt_ctl(e, &o, "status", NULL);
		code = o.code;
		dt_out_free(&o);
		if (code == 3)
			usleep(20000);
	}
	return code == 3 ? -1 : 0;
}

static void corrupt_disk_journal_recovers_from_the_fd_store_copy(struct ktest *t)
{
	struct dt_env e;
	struct dt_out o;
	Skhopb__Journal *j;
	char p[300], aside[256], why[200], *log;
	uint8_t *buf;
	size_t len;
	int memfd;

	KASSERT(t, !dt_setup(&e, NULL));
	KASSERT(t, !dt_start(&e, NULL, NULL));
	dt_arm(&e, &o);
	dt_out_free(&o);
	dt_ctl(&e, &o, "update", "--no-jump", NULL);
	KEXPECT_EQ(t, o.code, 0);
	dt_out_free(&o);
	dt_kill9(&e);
	/* what systemd's fd store keeps: the memfd with the last commit */
	j = dt_journal(&e, why, sizeof(why));
	KASSERT(t, j, "%s", why);
	memfd = skhod_journal_memfd_create();
	KASSERT(t, memfd >= 0);
	KASSERT(t, !skhod_journal_encode(j, &buf, &len));
	KEXPECT_EQ(t, skhod_journal_memfd_write(memfd, buf, len, j->seq), 0);
	free(buf);
	skhod_pb_free(j);
	jpath(&e, p, sizeof(p), SKHOD_JOURNAL_FILE);
	bad_flipped(&e, p);
	KASSERT(t, !start_with_fd_store(&e, memfd));
	close(memfd);
	find_aside(&e, aside, sizeof(aside));
	KEXPECT(t, aside[0], "the corrupt disk journal was replaced, not moved aside");
	log = read_log(&e);
	KEXPECT(t, HAS(log, "CRC") && HAS(log, "from the fd-store copy"), "log lacks the recovery");
	free(log);
	/* the frozen update is resumed from the copy, and on disk again */
	j = dt_journal(&e, why, sizeof(why));
	KEXPECT(t, j && j->state == SKHOD_PRESERVED, "journal %s", j ? skhod_state_name(j->state) : why);
	skhod_pb_free(j);
	KEXPECT_EQ(t, dt_kernel(&e, "out_state"), SMMU_KHO_FROZEN);
	if (t->failed)
		dt_dump_log(&e);
	dt_cleanup(&e);
}

/* A state directory others can write to, or someone else owns, is refused. */
static void start_refuses(struct ktest *t, struct dt_env *e, const char *want)
{
	char *log;
	int st = 0;

	KEXPECT(t, dt_start(e, NULL, &st), "daemon started on an unsafe state directory");
	KEXPECT(t, st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1,
		"exit status 0x%x, want exit 1", st);
	log = read_log(e);
	KEXPECT(t, HAS(log, e->state) && HAS(log, want), "log lacks \"%s\" and the path", want);
	free(log);
	if (t->failed)
		dt_dump_log(e);
}

static void world_writable_state_dir_is_refused(struct ktest *t)
{
	struct dt_env e;

	KASSERT(t, !dt_setup(&e, NULL));
	KASSERT(t, !mkdir(e.state, 0700) && !chmod(e.state, 0777));
	start_refuses(t, &e, "0777");
	dt_cleanup(&e);
}

static void group_writable_state_dir_is_refused(struct ktest *t)
{
	struct dt_env e;

	KASSERT(t, !dt_setup(&e, NULL));
	KASSERT(t, !mkdir(e.state, 0700) && !chmod(e.state, 0770));
	start_refuses(t, &e, "0770");
	dt_cleanup(&e);
}

static void state_dir_of_another_user_is_refused(struct ktest *t)
{
	struct dt_env e;

	KASSERT(t, !dt_setup(&e, NULL));
	KASSERT(t, !mkdir(e.state, 0700));
	if (geteuid() == 0) {
		KASSERT(t, !chown(e.state, 65534, 65534));	/* nobody */
		start_refuses(t, &e, "uid 65534");
	} else {
		/* not root: a directory owned by root stands in for "another user" */
		snprintf(e.state, sizeof(e.state), "/");
		start_refuses(t, &e, "uid 0");
	}
	dt_cleanup(&e);
}

KTEST_MAIN("daemon_recovery",
	   KTEST_CASE(journal_truncated_while_frozen_is_moved_aside_and_needs_attention),
	   KTEST_CASE(journal_bit_flipped_while_frozen_is_moved_aside_and_needs_attention),
	   KTEST_CASE(journal_zero_length_while_frozen_is_moved_aside_and_needs_attention),
	   KTEST_CASE(journal_directory_while_frozen_is_moved_aside_and_needs_attention),
	   KTEST_CASE(journal_dangling_symlink_while_frozen_is_moved_aside_and_needs_attention),
	   KTEST_CASE(journal_fifo_while_frozen_is_moved_aside_and_needs_attention),
	   KTEST_CASE(journal_state_99_while_frozen_is_moved_aside_and_needs_attention),
	   KTEST_CASE(journal_preserved_without_plan_while_frozen_is_moved_aside_and_needs_attention),
	   KTEST_CASE(journal_seq_2_64_minus_1_while_frozen_is_moved_aside_and_needs_attention),
	   KTEST_CASE(corrupt_disk_journal_after_the_jump_recovers_from_the_luo_copy),
	   KTEST_CASE(corrupt_disk_journal_recovers_from_the_fd_store_copy),
	   KTEST_CASE(corrupt_journal_after_the_jump_without_luo_needs_attention_and_abort_releases),
	   KTEST_CASE(world_writable_state_dir_is_refused),
	   KTEST_CASE(group_writable_state_dir_is_refused),
	   KTEST_CASE(state_dir_of_another_user_is_refused))
