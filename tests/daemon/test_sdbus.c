// SPDX-License-Identifier: GPL-2.0-only
/* smmu-khoctl's StartUnit call (daemon/sdbus.c) against a fake PID 1 bus, and `update --jump systemd` end to end on the fake backend. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dtest.h"
#include "sdbus.h"

/* What the fake bus answers after reading the METHOD_CALL. */
enum fake_mode { F_RETURN, F_ERROR, F_SIGNAL_FIRST, F_REJECT_AUTH, F_SILENT, F_GARBAGE,
		 F_VARIANT_T, F_VARIANT_S };

struct fake_bus {
	char dir[64], path[128], got[160];	/* got: the METHOD_CALL as received */
	pid_t pid;
};

struct mb {
	uint8_t b[1024];
	size_t n;
};

static void mb_put(struct mb *m, const void *p, size_t l)
{
	memcpy(m->b + m->n, p, l);
	m->n += l;
}

static void mb_align(struct mb *m, size_t a)
{
	while (m->n % a)
		m->b[m->n++] = 0;
}

static void mb_u32(struct mb *m, uint32_t v)
{
	mb_align(m, 4);
	mb_put(m, &v, 4);	/* the host is little endian, as the message says ('l') */
}

static void mb_field_str(struct mb *m, uint8_t code, char type, const char *s)
{
	mb_align(m, 8);
	m->b[m->n++] = code;
	m->b[m->n++] = 1;
	m->b[m->n++] = (uint8_t)type;
	m->b[m->n++] = 0;
	mb_u32(m, (uint32_t)strlen(s));
	mb_put(m, s, strlen(s) + 1);
}

static void mb_field_u32(struct mb *m, uint8_t code, uint32_t v)
{
	mb_align(m, 8);
	m->b[m->n++] = code;
	m->b[m->n++] = 1;
	m->b[m->n++] = 'u';
	m->b[m->n++] = 0;
	mb_u32(m, v);
}

static void mb_field_sig(struct mb *m, const char *sig)
{
	mb_align(m, 8);
	m->b[m->n++] = 8;
	m->b[m->n++] = 1;
	m->b[m->n++] = 'g';
	m->b[m->n++] = 0;
	m->b[m->n++] = (uint8_t)strlen(sig);
	mb_put(m, sig, strlen(sig) + 1);
}

/* A message of @type (2 return, 3 error, 4 signal) with a one-string body. */
static void build(struct mb *m, uint8_t type, const char *err_name, char body_type, const char *body)
{
	struct mb bd = { .n = 0 };
	uint32_t fl;

	mb_u32(&bd, (uint32_t)strlen(body));
	mb_put(&bd, body, strlen(body) + 1);
	m->n = 0;
	m->b[m->n++] = 'l';
	m->b[m->n++] = type;
	m->b[m->n++] = 1;	/* NO_REPLY_EXPECTED */
	m->b[m->n++] = 1;
	mb_u32(m, (uint32_t)bd.n);
	mb_u32(m, 7);		/* serial */
	mb_u32(m, 0);		/* fields length, below */
	if (type == 4) {
		mb_field_str(m, 1, 'o', "/org/freedesktop/systemd1");
		mb_field_str(m, 2, 's', "org.freedesktop.systemd1.Manager");
		mb_field_str(m, 3, 's', "JobNew");
	} else {
		mb_field_u32(m, 5, 1);	/* REPLY_SERIAL: our call was serial 1 */
	}
	if (err_name)
		mb_field_str(m, 4, 's', err_name);
	mb_field_sig(m, body_type == 'o' ? "o" : "s");
	fl = (uint32_t)(m->n - 16);
	memcpy(m->b + 12, &fl, 4);
	mb_align(m, 8);
	mb_put(m, bd.b, bd.n);
}

/* A METHOD_RETURN whose body is one variant: 't' 3, or 's' "x". */
static void build_variant(struct mb *m, char type)
{
	struct mb bd = { .n = 0 };
	uint32_t fl;

	bd.b[bd.n++] = 1;
	bd.b[bd.n++] = (uint8_t)type;
	bd.b[bd.n++] = 0;
	if (type == 't') {
		uint64_t v = 3;

		mb_align(&bd, 8);
		mb_put(&bd, &v, 8);
	} else {
		mb_u32(&bd, 1);
		mb_put(&bd, "x", 2);
	}
	m->n = 0;
	m->b[m->n++] = 'l';
	m->b[m->n++] = 2;
	m->b[m->n++] = 1;
	m->b[m->n++] = 1;
	mb_u32(m, (uint32_t)bd.n);
	mb_u32(m, 8);
	mb_u32(m, 0);
	mb_field_u32(m, 5, 1);
	mb_field_sig(m, "v");
	fl = (uint32_t)(m->n - 16);
	memcpy(m->b + 12, &fl, 4);
	mb_align(m, 8);
	mb_put(m, bd.b, bd.n);
}

static void serve(struct fake_bus *f, int lfd, enum fake_mode mode)
{
	uint8_t buf[4096];
	size_t n = 0;
	ssize_t r;
	struct mb m;
	int c = accept(lfd, NULL, NULL), out;

	if (c < 0)
		_exit(1);
	/* NUL, AUTH line */
	while (n < sizeof(buf) && (r = read(c, buf + n, 1)) == 1 && buf[n++] != '\n')
		;
	if (mode == F_REJECT_AUTH) {
		(void)!write(c, "REJECTED EXTERNAL\r\n", 19);
		_exit(0);
	}
	(void)!write(c, "OK 0123456789abcdef0123456789abcdef\r\n", 37);
	/* BEGIN\r\n then the message: keep all of it */
	n = 0;
	while (n < sizeof(buf) && (r = read(c, buf + n, sizeof(buf) - n)) > 0) {
		uint32_t blen, flen;

		n += (size_t)r;
		if (n < 7 + 16)
			continue;
		memcpy(&blen, buf + 7 + 4, 4);
		memcpy(&flen, buf + 7 + 12, 4);
		if (n >= 7 + ((16 + (size_t)flen + 7) & ~7ul) + blen)
			break;
	}
	out = open(f->got, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	(void)!write(out, buf, n);
	close(out);
	switch (mode) {
	case F_RETURN:
		build(&m, 2, NULL, 'o', "/org/freedesktop/systemd1/job/42");
		break;
	case F_ERROR:
		build(&m, 3, "org.freedesktop.systemd1.TransactionIsDestructive", 's',
		      "Transaction for kexec.target/start is destructive");
		break;
	case F_SIGNAL_FIRST: {
		struct mb sig;

		build(&sig, 4, NULL, 's', "ignored");
		(void)!write(c, sig.b, sig.n);
		build(&m, 2, NULL, 'o', "/org/freedesktop/systemd1/job/43");
		break;
	}
	case F_VARIANT_T:
	case F_VARIANT_S:
		build_variant(&m, mode == F_VARIANT_T ? 't' : 's');
		break;
	case F_GARBAGE:
		memset(m.b, 'B', 64);
		m.n = 64;
		break;
	default:	/* F_SILENT */
		sleep(5);
		_exit(0);
	}
	(void)!write(c, m.b, m.n);
	sleep(1);
	_exit(0);
}

static int fake_start(struct fake_bus *f, enum fake_mode mode)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd;

	snprintf(f->dir, sizeof(f->dir), "/tmp/skhod-sdbus.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/private", f->dir);
	snprintf(f->got, sizeof(f->got), "%s/got", f->dir);
	strcpy(sa.sun_path, f->path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4))
		return -1;
	f->pid = fork();
	if (f->pid == 0)
		serve(f, lfd, mode);
	close(lfd);
	return f->pid > 0 ? 0 : -1;
}

static void fake_stop(struct fake_bus *f)
{
	char cmd[128];

	if (f->pid > 0) {
		kill(f->pid, SIGKILL);
		waitpid(f->pid, NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	(void)!system(cmd);
}

/* The METHOD_CALL the fake received, as bytes (NULs kept), and its length. */
static size_t got(struct fake_bus *f, char *buf, size_t len)
{
	int fd = open(f->got, O_RDONLY);
	ssize_t n = fd < 0 ? 0 : read(fd, buf, len);

	if (fd >= 0)
		close(fd);
	return n > 0 ? (size_t)n : 0;
}

static bool has(const char *b, size_t n, const char *s)
{
	return memmem(b, n, s, strlen(s) + 1) != NULL;	/* with its NUL: a whole string */
}

static void start_unit_sends_kexec_target_replace_irreversibly(struct ktest *t)
{
	struct fake_bus f;
	char job[128], err[256], b[4096];
	size_t n;
	int r;

	KASSERT(t, !fake_start(&f, F_RETURN), "fake bus");
	r = skho_sd_start_unit(f.path, "kexec.target", "replace-irreversibly", 3000, job,
			       sizeof(job), err, sizeof(err));
	KEXPECT(t, r == 0, "r=%d err=%s", r, err);
	KEXPECT(t, !strcmp(job, "/org/freedesktop/systemd1/job/42"), "job=%s", job);
	n = got(&f, b, sizeof(b));
	/* "BEGIN\r\n", then a little-endian METHOD_CALL StartUnit(ss) to the manager */
	KEXPECT(t, n > 7 + 16 && !memcmp(b, "BEGIN\r\n", 7) && b[7] == 'l' && b[8] == 1, "n=%zu", n);
	KEXPECT(t, has(b, n, "/org/freedesktop/systemd1") &&
		   has(b, n, "org.freedesktop.systemd1.Manager") && has(b, n, "StartUnit") &&
		   has(b, n, "ss") && has(b, n, "kexec.target") && has(b, n, "replace-irreversibly"),
		"the call names the manager, StartUnit(ss), kexec.target, replace-irreversibly");
	fake_stop(&f);
}

static void start_unit_reports_systemds_error(struct ktest *t)
{
	struct fake_bus f;
	char err[256];
	int r;

	KASSERT(t, !fake_start(&f, F_ERROR), "fake bus");
	r = skho_sd_start_unit(f.path, "kexec.target", "replace-irreversibly", 3000, NULL, 0,
			       err, sizeof(err));
	KEXPECT_EQ(t, r, -EREMOTEIO);
	KEXPECT(t, strstr(err, "org.freedesktop.systemd1.TransactionIsDestructive: Transaction for "
			  "kexec.target/start is destructive") != NULL, "err=%s", err);
	fake_stop(&f);
}

static void start_unit_skips_a_signal_before_the_reply(struct ktest *t)
{
	struct fake_bus f;
	char job[128], err[256];
	int r;

	KASSERT(t, !fake_start(&f, F_SIGNAL_FIRST), "fake bus");
	r = skho_sd_start_unit(f.path, "kexec.target", "replace-irreversibly", 3000, job,
			       sizeof(job), err, sizeof(err));
	KEXPECT(t, r == 0 && !strcmp(job, "/org/freedesktop/systemd1/job/43"), "r=%d job=%s err=%s",
		r, job, err);
	fake_stop(&f);
}

static void start_unit_fails_on_refusal_silence_garbage_and_no_bus(struct ktest *t)
{
	static const struct { enum fake_mode m; int want; const char *says; } c[] = {
		{ F_REJECT_AUTH, -EACCES, "refused authentication" },	/* SASL REJECTED */
		{ F_SILENT, -ETIMEDOUT, "Connection timed out" },	/* no answer in 300 ms */
		{ F_GARBAGE, -EPROTO, "not a little-endian D-Bus message" },
	};
	char err[256];
	int r;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct fake_bus f;

		KASSERT(t, !fake_start(&f, c[i].m), "fake bus");
		r = skho_sd_start_unit(f.path, "kexec.target", "replace-irreversibly", 300, NULL, 0,
				       err, sizeof(err));
		KEXPECT(t, r == c[i].want && strstr(err, c[i].says), "case %zu: r=%d err=%s", i, r, err);
		fake_stop(&f);
	}
	/* No systemd listening: connect fails, the message names the path. */
	r = skho_sd_start_unit("/nonexistent/private", "kexec.target", "replace-irreversibly", 300,
			       NULL, 0, err, sizeof(err));
	KEXPECT(t, r == -ENOENT && strstr(err, "/nonexistent/private"), "r=%d err=%s", r, err);
}

static void manager_property_kexec_count_is_read_as_an_integer(struct ktest *t)
{
	struct fake_bus f;
	char err[256], b[4096];
	uint64_t v = 0;
	size_t n;
	int r;

	KASSERT(t, !fake_start(&f, F_VARIANT_T), "fake bus");
	r = skho_sd_manager_u64(f.path, "KExecCount", 3000, &v, err, sizeof(err));
	KEXPECT(t, r == 0 && v == 3, "r=%d v=%llu err=%s", r, (unsigned long long)v, err);
	n = got(&f, b, sizeof(b));
	KEXPECT(t, has(b, n, "org.freedesktop.DBus.Properties") && has(b, n, "Get") &&
		   has(b, n, "org.freedesktop.systemd1.Manager") && has(b, n, "KExecCount"),
		"Properties.Get(Manager, KExecCount)");
	fake_stop(&f);
	/* a string where an integer was expected is refused, named */
	KASSERT(t, !fake_start(&f, F_VARIANT_S), "fake bus");
	r = skho_sd_manager_u64(f.path, "KExecCount", 3000, &v, err, sizeof(err));
	KEXPECT(t, r == -EPROTO && strstr(err, "KExecCount has type 's'"), "r=%d err=%s", r, err);
	fake_stop(&f);
}

/* update --jump systemd: the daemon stops in PRESERVED, the CLI asks for kexec.target. */
static void update_jump_systemd_asks_for_kexec_target_and_daemon_stays(struct ktest *t, enum fake_mode m)
{
	struct dt_env e;
	struct dt_out o, st;
	struct fake_bus f;
	char b[4096];
	size_t n;

	KASSERT(t, !dt_setup(&e, NULL), "setup");
	KASSERT(t, !dt_start(&e, NULL, NULL), "daemon start");
	KASSERT(t, !fake_start(&f, m), "fake bus");
	setenv("SMMU_KHO_SYSTEMD_BUS", f.path, 1);
	dt_ctl(&e, &o, "update", "--jump", "systemd", "--kernel", e.kernel, "--initrd", e.initrd,
	       "--reuse-cmdline", "--device", DT_DEV_A, NULL);
	unsetenv("SMMU_KHO_SYSTEMD_BUS");
	n = got(&f, b, sizeof(b));
	KEXPECT(t, has(b, n, "kexec.target"), "the fake bus got StartUnit kexec.target");
	if (m == F_RETURN) {
		KEXPECT(t, o.code == 0, "exit %d, stderr: %s", o.code, o.err);
		KEXPECT(t, strstr(o.out, "update: asking systemd for the orderly kexec: StartUnit "
				  "kexec.target replace-irreversibly") &&
			   strstr(o.out, "systemd queued /org/freedesktop/systemd1/job/42"), "%s", o.out);
	} else {
		/* systemd refused: exit 7, the update stays PRESERVED and says what to do */
		KEXPECT(t, o.code == 7, "exit %d", o.code);
		KEXPECT(t, strstr(o.err, "systemd did not start kexec.target: org.freedesktop.systemd1."
				  "TransactionIsDestructive") &&
			   strstr(o.err, "still PRESERVED"), "%s", o.err);
	}
	/* The daemon did not jump itself: it answers, PRESERVED. */
	dt_ctl(&e, &st, "status", NULL);
	KEXPECT(t, st.code == 0 && strstr(st.out, "PRESERVED"), "status exit %d: %s", st.code, st.out);
	KEXPECT(t, e.pid > 0 && kill(e.pid, 0) == 0, "smmu-khod still runs");
	dt_out_free(&o);
	dt_out_free(&st);
	fake_stop(&f);
	dt_cleanup(&e);
}

static void update_jump_systemd_ok(struct ktest *t)
{
	update_jump_systemd_asks_for_kexec_target_and_daemon_stays(t, F_RETURN);
}

static void update_jump_systemd_refused_stays_preserved(struct ktest *t)
{
	update_jump_systemd_asks_for_kexec_target_and_daemon_stays(t, F_ERROR);
}

KTEST_MAIN("daemon_sdbus",
	   KTEST_CASE(start_unit_sends_kexec_target_replace_irreversibly),
	   KTEST_CASE(start_unit_reports_systemds_error),
	   KTEST_CASE(start_unit_skips_a_signal_before_the_reply),
	   KTEST_CASE(start_unit_fails_on_refusal_silence_garbage_and_no_bus),
	   KTEST_CASE(manager_property_kexec_count_is_read_as_an_integer),
	   KTEST_CASE(update_jump_systemd_ok),
	   KTEST_CASE(update_jump_systemd_refused_stays_preserved))
