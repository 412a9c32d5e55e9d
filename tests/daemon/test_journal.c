// SPDX-License-Identifier: GPL-2.0-only
/* Journal: encoding, CRC, versioning, unknown fields, atomic commit under SIGKILL, memfd slots, history. */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake.h"
#include "journal.h"
#include "ktest.h"
#include "pbutil.h"
#include "state.h"

static Skhopb__Journal *sample(uint64_t seq)
{
	Skhopb__Journal *j = skhod_journal_new("20260101T000000Z", 1767225600000000000ull,
					       "00000000-0000-4000-8000-000000000001");
	Skhopb__Plan *p = malloc(sizeof(*p));
	char *d = strdup("0000:00:02.0");

	skhopb__plan__init(p);
	skhod_pb_setstr(&p->kernel, "/boot/vmlinuz-next");
	skhod_pb_setstr(&p->cmdline, "console=ttyAMA0");
	SKHOD_PB_PUSH(&p->devices, &p->n_devices, d);
	j->plan = p;
	skhod_pb_setstr(&j->boot_id_armed, "00000000-0000-4000-8000-000000000001");
	skhod_enter(j, SKHOD_ARMED, 1767225601000000000ull, j->boot_id_armed, "plan armed");
	j->seq = seq;
	return j;
}

static char tmpdir[64];

static int mk_store(struct skhod_jstore *s)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/skhod-journal.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -errno;
	return skhod_jstore_open(s, tmpdir);
}

static void rm_store(struct skhod_jstore *s)
{
	char cmd[128];

	skhod_jstore_close(s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd))
		ktest_diag("cleanup of %s failed", tmpdir);
}

/* Re-seal @payload under a fresh header (valid length and CRC). */
static uint8_t *reframe(const uint8_t *payload, size_t plen, uint64_t seq, size_t *len)
{
	uint8_t *b = calloc(1, SKHOD_JOURNAL_HDR + plen);
	uint32_t v;
	uint64_t s = htole64(seq);

	memcpy(b, SKHOD_JOURNAL_MAGIC, 8);
	v = htole32(1);
	memcpy(b + 8, &v, 4);
	v = htole32((uint32_t)plen);
	memcpy(b + 12, &v, 4);
	memcpy(b + 16, &s, 8);
	v = htole32(skhod_crc32(payload, plen));
	memcpy(b + 24, &v, 4);
	memcpy(b + SKHOD_JOURNAL_HDR, payload, plen);
	*len = SKHOD_JOURNAL_HDR + plen;
	return b;
}

static void roundtrip_keeps_every_byte(struct ktest *t)
{
	Skhopb__Journal *j = sample(7), *back = NULL;
	uint8_t *a, *b;
	size_t al, bl;
	char why[128];

	KASSERT(t, !skhod_journal_encode(j, &a, &al));
	KEXPECT_EQ(t, skhod_journal_decode(a, al, &back, why, sizeof(why)), 0);
	KASSERT(t, back, "%s", why);
	KEXPECT_EQ(t, back->seq, 7);
	KEXPECT(t, !strcmp(back->plan->kernel, "/boot/vmlinuz-next"), "kernel");
	KASSERT(t, !skhod_journal_encode(back, &b, &bl));
	KEXPECT(t, al == bl && !memcmp(a, b, al), "re-encoding differs");
	free(a);
	free(b);
	skhod_pb_free(back);
	skhod_pb_free(j);
}

static void unknown_fields_survive_decode_and_reencode(struct ktest *t)
{
	/* field 99, varint 42: what a newer daemon might add (tag 99<<3|0) */
	static const uint8_t extra[] = { 0x98, 0x06, 0x2a };
	Skhopb__Journal *j = sample(3), *back = NULL;
	uint8_t *enc, *framed, *again;
	size_t el, fl, al;
	char why[128];

	KASSERT(t, !skhod_journal_encode(j, &enc, &el));
	/* payload + the unknown field */
	{
		size_t pl = el - SKHOD_JOURNAL_HDR;
		uint8_t *p = malloc(pl + sizeof(extra));

		memcpy(p, enc + SKHOD_JOURNAL_HDR, pl);
		memcpy(p + pl, extra, sizeof(extra));
		framed = reframe(p, pl + sizeof(extra), 3, &fl);
		free(p);
	}
	KEXPECT_EQ(t, skhod_journal_decode(framed, fl, &back, why, sizeof(why)), 0);
	KASSERT(t, back, "%s", why);
	KEXPECT_EQ(t, back->base.n_unknown_fields, 1);	/* kept, not dropped */
	KASSERT(t, !skhod_journal_encode(back, &again, &al));
	KEXPECT(t, memmem(again + SKHOD_JOURNAL_HDR, al - SKHOD_JOURNAL_HDR, extra,
			  sizeof(extra)) != NULL, "unknown field lost on re-encode");
	free(enc);
	free(framed);
	free(again);
	skhod_pb_free(back);
	skhod_pb_free(j);
}

static void corruption_truncation_and_bad_magic_are_refused(struct ktest *t)
{
	Skhopb__Journal *j = sample(5), *back = NULL;
	uint8_t *enc;
	size_t el;
	char why[128];

	KASSERT(t, !skhod_journal_encode(j, &enc, &el));
	enc[SKHOD_JOURNAL_HDR + 5] ^= 0x40;	/* one flipped bit in the payload */
	KEXPECT_EQ(t, skhod_journal_decode(enc, el, &back, why, sizeof(why)), -EBADMSG);
	KEXPECT(t, strstr(why, "CRC"), "why: %s", why);
	enc[SKHOD_JOURNAL_HDR + 5] ^= 0x40;
	KEXPECT_EQ(t, skhod_journal_decode(enc, el - 3, &back, why, sizeof(why)), -EBADMSG);
	KEXPECT(t, strstr(why, "truncated"), "why: %s", why);
	KEXPECT_EQ(t, skhod_journal_decode(enc, 10, &back, why, sizeof(why)), -EBADMSG);
	enc[0] = 'X';
	KEXPECT_EQ(t, skhod_journal_decode(enc, el, &back, why, sizeof(why)), -EBADMSG);
	KEXPECT(t, strstr(why, "magic"), "why: %s", why);
	KEXPECT(t, back == NULL, "nothing returned on failure");
	free(enc);
	skhod_pb_free(j);
}

static void unknown_major_version_is_refused(struct ktest *t)
{
	Skhopb__Journal *j = sample(5), *back = NULL;
	uint8_t *enc;
	size_t el;
	char why[128];

	j->version = 2;		/* a future, incompatible format */
	KASSERT(t, !skhod_journal_encode(j, &enc, &el));
	KEXPECT_EQ(t, skhod_journal_decode(enc, el, &back, why, sizeof(why)), -EPROTONOSUPPORT);
	KEXPECT(t, strstr(why, "version 2"), "why: %s", why);
	free(enc);
	skhod_pb_free(j);
}

static void kill9_hook(void *arg, const char *point)
{
	if (!strcmp(point, arg))
		kill(getpid(), SIGKILL);
}

/* Commit @seq in a child that is SIGKILLed at @point; the child's status. */
static int commit_and_die(struct skhod_jstore *s, uint64_t seq, const char *point)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		Skhopb__Journal *j = sample(seq);

		skhod_test_crash_hook_set(kill9_hook, (void *)point);
		skhod_journal_commit(s, j);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	return st;
}

static void kill_before_rename_keeps_the_old_journal(struct ktest *t)
{
	struct skhod_jstore s;
	Skhopb__Journal *j = sample(0), *back = NULL;
	char why[128];
	int st;

	KASSERT(t, !mk_store(&s));
	KASSERT(t, !skhod_journal_commit(&s, j));	/* seq 0 -> 1 on disk */
	st = commit_and_die(&s, 1, "journal.tmp-written");	/* would be seq 2 */
	KEXPECT(t, WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "child 0x%x", st);
	KEXPECT_EQ(t, skhod_journal_load(&s, &back, why, sizeof(why)), 0);
	KEXPECT(t, back && back->seq == 1, "old journal must survive: %s", why);
	skhod_pb_free(back);
	/* the leftover tmp file does not stop the next commit */
	KEXPECT(t, faccessat(s.dirfd, SKHOD_JOURNAL_TMP, F_OK, 0) == 0, "tmp left behind");
	KEXPECT_EQ(t, skhod_journal_commit(&s, j), 0);
	KEXPECT_EQ(t, skhod_journal_load(&s, &back, why, sizeof(why)), 0);
	KEXPECT(t, back && back->seq == 2, "next commit");
	skhod_pb_free(back);
	skhod_pb_free(j);
	rm_store(&s);
}

static void kill_after_rename_has_the_new_journal(struct ktest *t)
{
	struct skhod_jstore s;
	Skhopb__Journal *j = sample(0), *back = NULL;
	char why[128];
	int st;

	KASSERT(t, !mk_store(&s));
	KASSERT(t, !skhod_journal_commit(&s, j));
	st = commit_and_die(&s, 1, "journal.renamed");
	KEXPECT(t, WIFSIGNALED(st), "child 0x%x", st);
	KEXPECT_EQ(t, skhod_journal_load(&s, &back, why, sizeof(why)), 0);
	KEXPECT(t, back && back->seq == 2, "renamed journal is the new one: %s", why);
	skhod_pb_free(back);
	skhod_pb_free(j);
	rm_store(&s);
}

static void failed_commit_keeps_seq_and_the_old_file(struct ktest *t)
{
	struct skhod_jstore s;
	Skhopb__Journal *j = sample(0), *back = NULL;
	char why[128];

	KASSERT(t, !mk_store(&s));
	KASSERT(t, !skhod_journal_commit(&s, j));
	/* a directory where the tmp file goes: open(O_WRONLY) fails (root or not) */
	KASSERT(t, !mkdirat(s.dirfd, SKHOD_JOURNAL_TMP, 0700));
	KEXPECT_EQ(t, skhod_journal_commit(&s, j), -EISDIR);
	KEXPECT_EQ(t, j->seq, 1);	/* restored after the failure */
	KEXPECT_EQ(t, skhod_journal_load(&s, &back, why, sizeof(why)), 0);
	KEXPECT(t, back && back->seq == 1, "old file intact");
	skhod_pb_free(back);
	skhod_pb_free(j);
	rm_store(&s);
}

static void memfd_newest_valid_slot_wins(struct ktest *t)
{
	Skhopb__Journal *j1 = sample(1), *j2 = sample(2), *back = NULL;
	int fd = skhod_journal_memfd_create();
	uint8_t *b;
	size_t l;
	char why[128], junk = 0x55;

	KASSERT(t, fd >= 0, "memfd_create: %d", fd);
	KEXPECT_EQ(t, skhod_journal_memfd_read(fd, &back, why, sizeof(why)), -ENOENT);
	skhod_journal_encode(j1, &b, &l);
	KEXPECT_EQ(t, skhod_journal_memfd_write(fd, b, l, 1), 0);	/* slot 1 */
	free(b);
	skhod_journal_encode(j2, &b, &l);
	KEXPECT_EQ(t, skhod_journal_memfd_write(fd, b, l, 2), 0);	/* slot 0 */
	free(b);
	KEXPECT_EQ(t, skhod_journal_memfd_read(fd, &back, why, sizeof(why)), 0);
	KEXPECT(t, back && back->seq == 2, "newest");
	skhod_pb_free(back);
	/* a torn write into slot 0: the older slot 1 still serves */
	KEXPECT(t, pwrite(fd, &junk, 1, SKHOD_JOURNAL_HDR + 3) == 1, "pwrite");
	KEXPECT_EQ(t, skhod_journal_memfd_read(fd, &back, why, sizeof(why)), 0);
	KEXPECT(t, back && back->seq == 1, "fallback to the other slot");
	skhod_pb_free(back);
	KEXPECT(t, pwrite(fd, &junk, 1, SKHOD_MEMFD_SLOT + SKHOD_JOURNAL_HDR + 3) == 1, "pwrite");
	KEXPECT_EQ(t, skhod_journal_memfd_read(fd, &back, why, sizeof(why)), -ENOENT);
	close(fd);
	skhod_pb_free(j1);
	skhod_pb_free(j2);
}

static void memfd_has_a_fixed_size_as_luo_needs(struct ktest *t)
{
	int fd = skhod_journal_memfd_create(), seals;
	struct stat st;

	KASSERT(t, fd >= 0);
	KEXPECT(t, !fstat(fd, &st) && st.st_size == SKHOD_MEMFD_SIZE, "size");
	seals = fcntl(fd, F_GET_SEALS);
	/* LUO preserves the pages of the current size; only these seals are
	 * in MEMFD_LUO_ALL_SEALS (include/linux/kho/abi/memfd.h) */
	KEXPECT_EQ(t, seals, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	KEXPECT(t, ftruncate(fd, 2 * SKHOD_MEMFD_SIZE) && errno == EPERM, "grow refused");
	close(fd);
}

static void history_keeps_the_newest_32_newest_first(struct ktest *t)
{
	struct skhod_jstore s;
	Skhopb__Journal **arr;
	size_t n, i;
	int k;

	KASSERT(t, !mk_store(&s));
	for (k = 0; k < 40; k++) {
		Skhopb__Journal *j = sample((uint64_t)k + 1);

		j->history[0]->time_ns = 1000 + (uint64_t)k;	/* archive order */
		KEXPECT_EQ(t, skhod_history_archive(&s, j), 0);
		skhod_pb_free(j);
	}
	KEXPECT_EQ(t, skhod_history_list(&s, 0, &arr, &n), 0);
	KEXPECT_EQ(t, n, SKHOD_HISTORY_KEEP);	/* 40 archived, the oldest 8 pruned */
	for (i = 0; i < n; i++) {
		KEXPECT_EQ(t, arr[i]->seq, 40 - i);	/* newest first */
		skhod_pb_free(arr[i]);
	}
	free(arr);
	KEXPECT_EQ(t, skhod_history_list(&s, 3, &arr, &n), 0);
	KEXPECT_EQ(t, n, 3);	/* max honoured */
	for (i = 0; i < n; i++)
		skhod_pb_free(arr[i]);
	free(arr);
	rm_store(&s);
}

static void oversized_journal_is_refused(struct ktest *t)
{
	Skhopb__Journal *j = sample(1);
	uint8_t *b = NULL;
	size_t l, i;

	/* ~64 KiB of plan devices: beyond SKHOD_JOURNAL_MAX (60 KiB) */
	for (i = 0; i < 3000; i++) {
		char *d = strdup("0000:00:02.0-padding");

		SKHOD_PB_PUSH(&j->plan->devices, &j->plan->n_devices, d);
	}
	KEXPECT_EQ(t, skhod_journal_encode(j, &b, &l), -EFBIG);
	KEXPECT(t, b == NULL, "no buffer");
	skhod_pb_free(j);
}

static void commit_does_not_follow_a_symlink_planted_as_the_tmp_file(struct ktest *t)
{
	struct skhod_jstore s;
	Skhopb__Journal *j = sample(0), *back = NULL;
	char victim[128], buf[64] = "";
	struct stat st;
	int fd;
	ssize_t n;

	KASSERT(t, !mk_store(&s));
	/* a file the attacker wants overwritten, outside the state directory */
	snprintf(victim, sizeof(victim), "%s.victim", tmpdir);
	fd = open(victim, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	KASSERT(t, fd >= 0);
	KASSERT(t, write(fd, "precious\n", 9) == 9);
	close(fd);
	KASSERT(t, !symlinkat(victim, s.dirfd, SKHOD_JOURNAL_TMP));
	KEXPECT_EQ(t, skhod_journal_commit(&s, j), 0);	/* the link is replaced, not followed */
	fd = open(victim, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	KEXPECT(t, n == 9 && !strcmp(buf, "precious\n"), "victim overwritten (%zd bytes)", n);
	KEXPECT(t, !fstatat(s.dirfd, SKHOD_JOURNAL_FILE, &st, AT_SYMLINK_NOFOLLOW) &&
		S_ISREG(st.st_mode), "journal.pb is not a regular file");
	KEXPECT_EQ(t, skhod_journal_load(&s, &back, NULL, 0), 0);
	KEXPECT(t, back && back->seq == 1, "journal committed");
	skhod_pb_free(back);
	unlink(victim);
	skhod_pb_free(j);
	rm_store(&s);
}

/* Load journal.pb in a child with a 5 s alarm: blocking is a failure. */
static int load_in_child(struct skhod_jstore *s, char *why, size_t wl)
{
	int pfd[2], st;
	pid_t pid;
	ssize_t n;

	if (pipe(pfd))
		return -999;
	pid = fork();
	if (pid == 0) {
		Skhopb__Journal *j = NULL;
		char w[200] = "";
		int r;

		alarm(5);
		r = skhod_journal_load(s, &j, w, sizeof(w));
		dprintf(pfd[1], "%d %s", r, w);
		_exit(0);
	}
	close(pfd[1]);
	waitpid(pid, &st, 0);
	n = read(pfd[0], why, wl - 1);
	close(pfd[0]);
	if (!WIFEXITED(st) || n <= 0) {
		snprintf(why, wl, "loader did not return (status 0x%x)", st);
		return -999;
	}
	why[n] = 0;
	return atoi(why);
}

static void loading_a_non_regular_journal_is_refused_without_blocking(struct ktest *t)
{
	static const struct {
		const char *what, *why;
	} cases[] = {
		{ "fifo", "FIFO" },
		{ "directory", "directory" },
		{ "dangling symlink", "symbolic link" },
		{ "symlink to a valid journal", "symbolic link" },
		{ "empty", "empty" },
	};
	struct skhod_jstore s;
	Skhopb__Journal *j = sample(0);
	char why[256], target[128];
	size_t i;
	int r;

	KASSERT(t, !mk_store(&s));
	snprintf(target, sizeof(target), "%s/elsewhere.pb", tmpdir);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unlinkat(s.dirfd, SKHOD_JOURNAL_FILE, 0);
		unlinkat(s.dirfd, SKHOD_JOURNAL_FILE, AT_REMOVEDIR);
		switch (i) {
		case 0:
			KASSERT(t, !mkfifoat(s.dirfd, SKHOD_JOURNAL_FILE, 0600));
			break;
		case 1:
			KASSERT(t, !mkdirat(s.dirfd, SKHOD_JOURNAL_FILE, 0700));
			break;
		case 2:
			KASSERT(t, !symlinkat("/nonexistent/x", s.dirfd, SKHOD_JOURNAL_FILE));
			break;
		case 3:
			/* a whole journal, but reached through a link */
			KASSERT(t, !skhod_journal_commit(&s, j));
			KASSERT(t, !renameat(s.dirfd, SKHOD_JOURNAL_FILE, AT_FDCWD, target));
			KASSERT(t, !symlinkat(target, s.dirfd, SKHOD_JOURNAL_FILE));
			break;
		case 4:
			close(openat(s.dirfd, SKHOD_JOURNAL_FILE, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
			break;
		}
		r = load_in_child(&s, why, sizeof(why));
		KEXPECT(t, r != 0 && r != -999 && r != -ENOENT && strstr(why, cases[i].why),
			"%s: load returned %d: %s", cases[i].what, r, why);
	}
	unlink(target);
	skhod_pb_free(j);
	rm_store(&s);
}

/* Encode @j as is (seq included) and decode it again. */
static int decode_as_is(Skhopb__Journal *j, char *why, size_t wl)
{
	Skhopb__Journal *back = NULL;
	uint8_t *b;
	size_t l;
	int r;

	if (skhod_journal_encode(j, &b, &l))
		return -999;
	r = skhod_journal_decode(b, l, &back, why, wl);
	free(b);
	skhod_pb_free(back);
	return r;
}

static void valid_crc_with_invalid_content_is_refused(struct ktest *t)
{
	Skhopb__Journal *j = sample(5);
	char why[256];
	int r;

	KEXPECT_EQ(t, decode_as_is(j, why, sizeof(why)), 0);	/* the sound one passes */
	j->state = 99;
	r = decode_as_is(j, why, sizeof(why));
	KEXPECT(t, r == -EUCLEAN && strstr(why, "unknown state 99"), "state 99: %d %s", r, why);
	j->state = SKHOD_ARMED;
	skhod_pb_free(j->plan);
	j->plan = NULL;		/* ARMED without a plan */
	r = decode_as_is(j, why, sizeof(why));
	KEXPECT(t, r == -EUCLEAN && strstr(why, "I3"), "no plan: %d %s", r, why);
	skhod_pb_free(j);
	j = sample(UINT64_MAX);	/* the next commit would wrap to 0 */
	r = decode_as_is(j, why, sizeof(why));
	KEXPECT(t, r == -EUCLEAN && strstr(why, "seq"), "seq 2^64-1: %d %s", r, why);
	skhod_pb_free(j);
	j = sample(0);		/* never committed */
	r = decode_as_is(j, why, sizeof(why));
	KEXPECT(t, r == -EUCLEAN && strstr(why, "seq"), "seq 0: %d %s", r, why);
	skhod_pb_free(j);
}

static void unsafe_state_directory_is_refused_with_path_and_mode(struct ktest *t)
{
	struct skhod_jstore s, ok;
	char dir[96];

	KASSERT(t, !mk_store(&ok));
	snprintf(dir, sizeof(dir), "%s/state", tmpdir);
	KASSERT(t, !mkdir(dir, 0700) && !chmod(dir, 0757));	/* world-writable */
	KEXPECT_EQ(t, skhod_jstore_open(&s, dir), -EPERM);
	KEXPECT(t, strstr(s.err, dir) && strstr(s.err, "0757"), "err: %s", s.err);
	KEXPECT_EQ(t, s.dirfd, -1);
	KASSERT(t, !chmod(dir, 0750));
	KEXPECT_EQ(t, skhod_jstore_open(&s, dir), 0);	/* 0750: only the owner writes */
	skhod_jstore_close(&s);
	if (geteuid() == 0) {
		KASSERT(t, !chown(dir, 65534, 0));
		KEXPECT_EQ(t, skhod_jstore_open(&s, dir), -EPERM);
		KEXPECT(t, strstr(s.err, dir) && strstr(s.err, "uid 65534"), "err: %s", s.err);
	} else {
		KEXPECT_EQ(t, skhod_jstore_open(&s, "/"), -EPERM);	/* root's, not ours */
		KEXPECT(t, strstr(s.err, "uid 0"), "err: %s", s.err);
	}
	rm_store(&ok);
}

static void set_aside_keeps_every_unusable_journal_under_its_own_name(struct ktest *t)
{
	struct skhod_jstore s;
	char n1[64], n2[64], buf[8] = "";
	int fd;

	KASSERT(t, !mk_store(&s));
	KEXPECT_EQ(t, skhod_journal_set_aside(&s, 1767225600, n1, sizeof(n1)), -ENOENT);
	fd = openat(s.dirfd, SKHOD_JOURNAL_FILE, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	KASSERT(t, fd >= 0 && write(fd, "bad1", 4) == 4);
	close(fd);
	KEXPECT_EQ(t, skhod_journal_set_aside(&s, 1767225600, n1, sizeof(n1)), 0);
	KEXPECT(t, !strcmp(n1, "journal.pb.corrupt-1767225600"), "%s", n1);
	/* a second one in the same second does not replace the first */
	KASSERT(t, !mkdirat(s.dirfd, SKHOD_JOURNAL_FILE, 0700));	/* even a directory */
	KEXPECT_EQ(t, skhod_journal_set_aside(&s, 1767225600, n2, sizeof(n2)), 0);
	KEXPECT(t, !strcmp(n2, "journal.pb.corrupt-1767225600.1"), "%s", n2);
	fd = openat(s.dirfd, n1, O_RDONLY | O_CLOEXEC);
	KEXPECT(t, fd >= 0 && read(fd, buf, 4) == 4 && !memcmp(buf, "bad1", 4), "first kept");
	if (fd >= 0)
		close(fd);
	KEXPECT(t, faccessat(s.dirfd, SKHOD_JOURNAL_FILE, F_OK, AT_SYMLINK_NOFOLLOW) &&
		errno == ENOENT, "journal.pb gone");
	rm_store(&s);
}

static void memfd_slot_with_invalid_content_is_skipped_and_reported(struct ktest *t)
{
	Skhopb__Journal *good = sample(1), *bad = sample(2), *back = NULL;
	int fd = skhod_journal_memfd_create();
	char why[256] = "";
	uint8_t *b;
	size_t l;

	KASSERT(t, fd >= 0);
	bad->state = 99;	/* valid CRC, newer seq, nonsense */
	KASSERT(t, !skhod_journal_encode(bad, &b, &l));
	KEXPECT_EQ(t, skhod_journal_memfd_write(fd, b, l, 2), 0);
	free(b);
	KEXPECT_EQ(t, skhod_journal_memfd_read(fd, &back, why, sizeof(why)), -EUCLEAN);
	KEXPECT(t, strstr(why, "unknown state 99"), "why: %s", why);
	KASSERT(t, !skhod_journal_encode(good, &b, &l));
	KEXPECT_EQ(t, skhod_journal_memfd_write(fd, b, l, 1), 0);
	free(b);
	/* the older sound slot serves; the newer invalid one never wins */
	KEXPECT_EQ(t, skhod_journal_memfd_read(fd, &back, why, sizeof(why)), 0);
	KEXPECT(t, back && back->seq == 1, "sound slot used");
	skhod_pb_free(back);
	close(fd);
	skhod_pb_free(good);
	skhod_pb_free(bad);
}

KTEST_MAIN("daemon_journal",
	   KTEST_CASE(roundtrip_keeps_every_byte),
	   KTEST_CASE(unknown_fields_survive_decode_and_reencode),
	   KTEST_CASE(corruption_truncation_and_bad_magic_are_refused),
	   KTEST_CASE(unknown_major_version_is_refused),
	   KTEST_CASE(kill_before_rename_keeps_the_old_journal),
	   KTEST_CASE(kill_after_rename_has_the_new_journal),
	   KTEST_CASE(failed_commit_keeps_seq_and_the_old_file),
	   KTEST_CASE(memfd_newest_valid_slot_wins),
	   KTEST_CASE(memfd_has_a_fixed_size_as_luo_needs),
	   KTEST_CASE(history_keeps_the_newest_32_newest_first),
	   KTEST_CASE(oversized_journal_is_refused),
	   KTEST_CASE(commit_does_not_follow_a_symlink_planted_as_the_tmp_file),
	   KTEST_CASE(loading_a_non_regular_journal_is_refused_without_blocking),
	   KTEST_CASE(valid_crc_with_invalid_content_is_refused),
	   KTEST_CASE(unsafe_state_directory_is_refused_with_path_and_mode),
	   KTEST_CASE(set_aside_keeps_every_unusable_journal_under_its_own_name),
	   KTEST_CASE(memfd_slot_with_invalid_content_is_skipped_and_reported))
