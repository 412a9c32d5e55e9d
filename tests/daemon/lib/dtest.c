// SPDX-License-Identifier: GPL-2.0-only
/* Daemon test helpers: temp fake kernel, start/kill smmu-khod, run smmu-khoctl, read journals. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dtest.h"
#include "frame.h"
#include "journal.h"

/* e->sock fits: dt_setup keeps the root short. */
static void sun_set(struct sockaddr_un *sa, const char *p)
{
	size_t n = strlen(p);

	if (n >= sizeof(sa->sun_path))
		n = sizeof(sa->sun_path) - 1;
	memcpy(sa->sun_path, p, n);
	sa->sun_path[n] = 0;
}

static void path(char *dst, size_t len, const char *root, const char *name)
{
	snprintf(dst, len, "%s/%s", root, name);
}

static int put(const char *p, const char *content)
{
	FILE *f = fopen(p, "we");

	if (!f)
		return -errno;
	fputs(content, f);
	return fclose(f) ? -errno : 0;
}

int dt_setup(struct dt_env *e, const char *pci)
{
	char p[300];

	memset(e, 0, sizeof(*e));
	e->bin = SKHOD_BIN;
	snprintf(e->root, sizeof(e->root), "/tmp/skhod-test.XXXXXX");
	if (!mkdtemp(e->root))
		return -errno;
	path(e->fake, sizeof(e->fake), e->root, "fake");
	path(e->state, sizeof(e->state), e->root, "state");
	path(e->sock, sizeof(e->sock), e->root, "ctl.sock");
	path(e->log, sizeof(e->log), e->root, "daemon.log");
	path(e->kernel, sizeof(e->kernel), e->root, "vmlinuz");
	path(e->initrd, sizeof(e->initrd), e->root, "initrd");
	if (mkdir(e->fake, 0700))
		return -errno;
	put(e->kernel, "not really a kernel\n");
	put(e->initrd, "not really an initrd\n");
	path(p, sizeof(p), e->fake, "pci");
	put(p, pci ? pci : DT_PCI_DEFAULT);
	path(p, sizeof(p), e->fake, "clock");
	put(p, "1767225600000000000\n");	/* 2026-01-01T00:00:00Z */
	path(p, sizeof(p), e->fake, "cmdline");
	return put(p, "BOOT_IMAGE=/boot/vmlinuz console=ttyAMA0 kho=on liveupdate=on\n");
}

static void rm_rf(const char *p)
{
	pid_t pid = fork();

	if (pid == 0) {
		execlp("rm", "rm", "-rf", p, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

void dt_cleanup(struct dt_env *e)
{
	if (e->pid)
		dt_kill9(e);
	if (e->root[0] && !getenv("SKHO_KEEP_TMP"))
		rm_rf(e->root);
}

static int sock_ready(struct dt_env *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	sun_set(&sa, e->sock);
	ok = fd >= 0 && !connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (fd >= 0)
		close(fd);
	return ok;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

int dt_start(struct dt_env *e, const char *const *extra, int *status)
{
	char be[300];
	const char *argv[32];
	int n = 0, i, st;
	pid_t pid;

	snprintf(be, sizeof(be), "fake:%s", e->fake);
	argv[n++] = e->bin;
	argv[n++] = "--backend";
	argv[n++] = be;
	argv[n++] = "--state-dir";
	argv[n++] = e->state;
	argv[n++] = "--socket";
	argv[n++] = e->sock;
	argv[n++] = "-v";
	for (i = 0; extra && extra[i] && n < 31; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	unlink(e->sock);	/* a kill -9 leaves it behind */
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(e->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		if (fd >= 0)
			dup2(fd, 2);
		fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
		}
		unsetenv("NOTIFY_SOCKET");
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDNAMES");
		unsetenv("WATCHDOG_USEC");
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	e->pid = pid;
	e->starts++;
	for (i = 0; i < 1500; i++) {	/* 15 s: ASan startup is slow on a busy box */
		if (waitpid(pid, &st, WNOHANG) == pid) {
			e->pid = 0;
			if (status)
				*status = st;
			return -1;
		}
		if (sock_ready(e))
			return 0;
		sleep_ms(10);
	}
	dt_kill9(e);
	if (status)
		*status = -1;
	return -1;
}

void dt_kill9(struct dt_env *e)
{
	if (!e->pid)
		return;
	kill(e->pid, SIGKILL);
	waitpid(e->pid, NULL, 0);
	e->pid = 0;
}

int dt_wait_exit(struct dt_env *e, int timeout_ms)
{
	int st, i;

	if (!e->pid)
		return -1;
	for (i = 0; i < timeout_ms / 10; i++) {
		if (waitpid(e->pid, &st, WNOHANG) == e->pid) {
			e->pid = 0;
			return st;
		}
		sleep_ms(10);
	}
	return -1;
}

int dt_stop(struct dt_env *e)
{
	int st;

	if (!e->pid)
		return -1;
	kill(e->pid, SIGTERM);
	st = dt_wait_exit(e, 15000);
	if (st == -1)
		dt_kill9(e);
	return st;
}

static char *drain(int fd)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	ssize_t n;

	while (buf && (n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (len + 1 == cap) {
			char *nb = realloc(buf, cap *= 2);

			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
		}
	}
	if (buf)
		buf[len] = 0;
	return buf;
}

int dt_ctlv(struct dt_env *e, struct dt_out *o, const char *const *args)
{
	const char *argv[48];
	char of[300], ef[300];
	int n = 0, i, st, fo, fe;
	pid_t pid;

	memset(o, 0, sizeof(*o));
	argv[n++] = SKHOCTL_BIN;
	argv[n++] = "--socket";
	argv[n++] = e->sock;
	for (i = 0; args[i] && n < 47; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	path(of, sizeof(of), e->root, "ctl.out");
	path(ef, sizeof(ef), e->root, "ctl.err");
	fo = open(of, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	fe = open(ef, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fo < 0 || fe < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fo, 1);
		dup2(fe, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	lseek(fo, 0, SEEK_SET);
	lseek(fe, 0, SEEK_SET);
	o->out = drain(fo);
	o->err = drain(fe);
	close(fo);
	close(fe);
	o->code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return o->code;
}

int dt_ctl(struct dt_env *e, struct dt_out *o, ...)
{
	const char *args[40];
	va_list ap;
	int n = 0;

	va_start(ap, o);
	while (n < 39 && (args[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	args[n] = NULL;
	return dt_ctlv(e, o, args);
}

void dt_out_free(struct dt_out *o)
{
	free(o->out);
	free(o->err);
	o->out = o->err = NULL;
}

int dt_arm(struct dt_env *e, struct dt_out *o)
{
	return dt_ctl(e, o, "arm", "--kernel", e->kernel, "--initrd", e->initrd,
		      "--reuse-cmdline", "--device", DT_DEV_A, DT_DEV_B, NULL);
}

int dt_write(struct dt_env *e, const char *name, const char *content)
{
	char p[300];

	path(p, sizeof(p), e->fake, name);
	return put(p, content);
}

char *dt_read(struct dt_env *e, const char *name)
{
	char p[300];
	int fd;
	char *s;

	path(p, sizeof(p), e->fake, name);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	s = drain(fd);
	close(fd);
	return s;
}

long dt_kernel(struct dt_env *e, const char *key)
{
	char *k = dt_read(e, "kernel"), *line, *save;
	size_t kl = strlen(key);
	long v = -1;

	if (!k)
		return key && !strcmp(key, "boot") ? 1 : 0;	/* fresh fake kernel */
	for (line = strtok_r(k, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, key, kl) && line[kl] == ' ')
			v = strtol(line + kl + 1, NULL, 0);
	free(k);
	return v;
}

Skhopb__Journal *dt_journal(struct dt_env *e, char *why, size_t len)
{
	struct skhod_jstore js;
	Skhopb__Journal *j = NULL;

	if (skhod_jstore_open(&js, e->state)) {
		snprintf(why, len, "cannot open %s", e->state);
		return NULL;
	}
	if (skhod_journal_load(&js, &j, why, len))
		j = NULL;
	skhod_jstore_close(&js);
	return j;
}

Skhopb__Response *dt_request(struct dt_env *e, Skhopb__Request *req)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	Skhopb__Response *r = NULL;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sun_set(&sa, e->sock);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		goto out;
	req->version = req->version ? req->version : 1;
	if (skhod_frame_send(fd, &req->base))
		goto out;
	for (;;) {
		uint8_t *buf;
		size_t len;

		if (skhod_frame_recv(fd, &buf, &len, 10000))
			break;
		r = skhopb__response__unpack(NULL, len, buf);
		free(buf);
		if (!r || r->final)
			break;
		skhopb__response__free_unpacked(r, NULL);
		r = NULL;
	}
out:
	if (fd >= 0)
		close(fd);
	return r;
}

void dt_dump_log(struct dt_env *e)
{
	FILE *f = fopen(e->log, "re");
	char line[512], *ring[30] = { 0 };
	int n = 0, i;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		free(ring[n % 30]);
		ring[n % 30] = strdup(line);
		n++;
	}
	fclose(f);
	for (i = n > 30 ? n - 30 : 0; i < n; i++) {
		char *l = ring[i % 30];

		if (l) {
			l[strcspn(l, "\n")] = 0;
			ktest_diag("daemon: %s", l);
		}
	}
	for (i = 0; i < 30; i++)
		free(ring[i]);
}

char *dt_subst(char *s, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to);
	char *p;

	if (!s || !fl)
		return s;
	while ((p = strstr(s, from))) {
		size_t off = (size_t)(p - s), rest = strlen(p + fl);
		char *ns = malloc(off + tl + rest + 1);

		if (!ns)
			return s;
		memcpy(ns, s, off);
		memcpy(ns + off, to, tl);
		memcpy(ns + off + tl, p + fl, rest + 1);
		free(s);
		s = ns;
	}
	return s;
}

bool dt_golden(struct ktest *t, const char *name, const char *got)
{
	char p[400];
	FILE *f;
	char *want;
	int fd;
	bool same;

	snprintf(p, sizeof(p), "%s/tests/daemon/golden/%s", SKHO_SRCDIR, name);
	if (getenv("SKHO_GOLDEN_UPDATE")) {
		f = fopen(p, "we");
		if (f) {
			fputs(got, f);
			fclose(f);
		}
		ktest_diag("golden %s rewritten", name);
		return true;
	}
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ktest_fail(t, __FILE__, __LINE__, "golden file %s missing", p);
		return false;
	}
	want = drain(fd);
	close(fd);
	same = want && !strcmp(want, got);
	if (!same) {
		char *copy = strdup(got), *save = NULL, *l;

		ktest_fail(t, __FILE__, __LINE__, "output differs from golden %s", name);
		ktest_diag("--- got:");
		for (l = copy ? strtok_r(copy, "\n", &save) : NULL; l;
		     l = strtok_r(NULL, "\n", &save))
			ktest_diag("%s", l);
		free(copy);
	}
	free(want);
	return same;
}
