// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* smmu-khod soak: concurrent status clients during fake update cycles, then kill -9 mid-update. */
/*
 * Usage: bench_soak SMMU-KHOD SMMU-KHOCTL  (-O2 builds, fake backend)
 *   $SKHO_SOAK_SECONDS   length of the soak phase (default 30)
 *   $SKHO_SOAK_CLIENTS   concurrent status clients (default 4)
 *   $SKHO_SOAK_KILLS     kill -9 that must land during an update (default 60)
 *   $SKHO_SOAK_FAULTS    written to the fake kernel's `faults` file: a negative
 *                        control (e.g. "lose 0x10") must make every cycle and
 *                        every restart count as inconsistent
 *
 * Phase 1: the status clients loop (connect, one framed request, the final
 * response) while the main thread runs full update cycles: arm, update (the
 * fake kexec ends the daemon), start the "next kernel's" daemon (recovery +
 * verification), finish; after each cycle the journal on disk must be
 * FINISHED/PASS and satisfy every invariant against the fake kernel.
 *
 * Phase 2: from ARMED, `smmu-khoctl update` is started and the daemon is
 * SIGKILLed after a random delay within the measured length of an update;
 * the daemon is restarted.  A restart is consistent when the daemon comes
 * up, its journal satisfies the invariants against the fake kernel, its
 * state is ARMED (rolled back), PRESERVED (resumed) or VERIFIED (the jump
 * had happened), and the update then completes to FINISHED.
 *
 * Prints figures; never asserts on time.  Exits 1 when a cycle or a restart
 * was inconsistent (a correctness failure, not a timing one).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dtest.h"
#include "frame.h"
#include "pbutil.h"
#include "smmu_kho.h"
#include "smmu_kho.pb-c.h"
#include "state.h"

#define MAX_CLIENTS	16
#define NR_STREAMS	3	/* the default dtest plan preserves 3 streams */

static const char *ctl_bin;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

static int env_int(const char *name, int def)
{
	const char *v = getenv(name);

	return v && atoi(v) > 0 ? atoi(v) : def;
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* ---- phase 1: status clients ---- */

struct client {
	pthread_t th;
	const char *sock;
	double *lat;		/* us of each served request */
	size_t n, cap;
	unsigned long not_connected;	/* connect() failed: daemon between boots */
	unsigned long failed;		/* connected, no good final reply, no jump under way */
	unsigned long lost_at_jump;	/* connected, closed by the fake kexec */
};

static atomic_int stop_clients;
static atomic_int restarting;	/* an update (and its jump + restart) is under way */

/* One status round trip: 0 served, 1 connect failed, 2 failed once connected. */
static int status_once(const char *sock)
{
	Skhopb__Request req = SKHOPB__REQUEST__INIT;
	Skhopb__StatusRequest st = SKHOPB__STATUS_REQUEST__INIT;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, ret = 2;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return 1;
	}
	req.version = 1;
	req.op_case = SKHOPB__REQUEST__OP_STATUS;
	req.status = &st;
	if (!skhod_frame_send(fd, &req.base)) {
		for (;;) {
			Skhopb__Response *r;
			uint8_t *buf;
			size_t len;

			if (skhod_frame_recv(fd, &buf, &len, 10000))
				break;
			r = skhopb__response__unpack(NULL, len, buf);
			free(buf);
			if (!r)
				break;
			if (r->final) {
				ret = r->code == SKHOPB__RESULT_CODE__RC_OK && r->status ? 0 : 2;
				skhopb__response__free_unpacked(r, NULL);
				break;
			}
			skhopb__response__free_unpacked(r, NULL);
		}
	}
	close(fd);
	return ret;
}

static void *client_main(void *arg)
{
	struct client *c = arg;

	while (!atomic_load(&stop_clients)) {
		int during = atomic_load(&restarting), r;
		double t0 = now_ms();

		r = status_once(c->sock);
		during |= atomic_load(&restarting);
		if (r == 0) {
			if (c->n == c->cap) {
				double *nl = realloc(c->lat, (c->cap ? c->cap * 2 : 65536) * sizeof(*nl));

				if (!nl)
					break;
				c->lat = nl;
				c->cap = c->cap ? c->cap * 2 : 65536;
			}
			c->lat[c->n++] = (now_ms() - t0) * 1e3;
		} else if (r == 1) {
			c->not_connected++;
			sleep_us(1000);
		} else if (during) {
			c->lost_at_jump++;
		} else {
			c->failed++;
		}
	}
	return NULL;
}

/* ---- journal + fake kernel consistency ---- */

static void kview(struct dt_env *e, struct skhod_kview *k)
{
	k->out_state = (uint32_t)dt_kernel(e, "out_state");
	k->in_state = (uint32_t)dt_kernel(e, "in_state");
	k->kexec_loaded = dt_kernel(e, "kexec_loaded") == 1;
	k->nr_out_streams = k->out_state == SMMU_KHO_FROZEN ? NR_STREAMS : 0;
}

/* Did the journal record an update attempt (rolled back or resumed)? */
static bool attempt_seen;

/* State of the committed journal if it satisfies every invariant, else -1 (@why). */
static int journal_state(struct dt_env *e, char *why, size_t len)
{
	struct skhod_kview k;
	Skhopb__Journal *j = dt_journal(e, why, len);
	int st;

	if (!j)
		return -1;
	attempt_seen = j->reason && (strstr(j->reason, "update attempt") ||
				     strstr(j->reason, "rolled back"));
	kview(e, &k);
	st = skhod_invariants(j, &k, true, why, len) ? -1 : (int)j->state;
	if (st == SKHOD_FINISHED && j->verdict != SKHOPB__VERDICT__VERDICT_PASS) {
		snprintf(why, len, "FINISHED with verdict %d, not PASS", j->verdict);
		st = -1;
	}
	skhod_pb_free(j);
	return st;
}

static int ctl(struct dt_env *e, const char *a, const char *b)
{
	struct dt_out o;
	int r = dt_ctl(e, &o, a, b, NULL);

	dt_out_free(&o);
	return r;
}

/* update (jump), start the next kernel's daemon; 0 when it came up VERIFIED. */
static int jump_and_restart(struct dt_env *e, char *why, size_t len)
{
	int r;

	atomic_store(&restarting, 1);
	r = ctl(e, "update", NULL);
	if (r) {
		snprintf(why, len, "update exited %d", r);
		goto out;
	}
	if (dt_wait_exit(e, 10000) == -1) {
		snprintf(why, len, "no jump after update");
		r = -1;
		goto out;
	}
	if (dt_start(e, NULL, NULL)) {
		snprintf(why, len, "the next kernel's daemon did not start");
		r = -1;
		goto out;
	}
	r = journal_state(e, why, len) == SKHOD_VERIFIED ? 0 : -1;
	if (r && !why[0])
		snprintf(why, len, "not VERIFIED after the jump");
out:
	atomic_store(&restarting, 0);
	return r;
}

/* finish, and the journal must say FINISHED/PASS, consistent with the kernel. */
static int finish_ok(struct dt_env *e, char *why, size_t len)
{
	int r = ctl(e, "finish", NULL);

	if (r) {
		snprintf(why, len, "finish exited %d", r);
		return -1;
	}
	return journal_state(e, why, len) == SKHOD_FINISHED ? 0 : -1;
}

static int one_cycle(struct dt_env *e, char *why, size_t len)
{
	struct dt_out o;
	int r = dt_arm(e, &o);

	dt_out_free(&o);
	why[0] = 0;
	if (r) {
		snprintf(why, len, "arm exited %d", r);
		return -1;
	}
	return jump_and_restart(e, why, len) ?: finish_ok(e, why, len);
}

static void phase_soak(struct dt_env *e, int seconds, int nclients, int *bad)
{
	static struct client cl[MAX_CLIENTS];
	unsigned long served = 0, failed = 0, lost = 0, refused = 0;
	int i, cycles = 0, cycles_bad = 0;
	double t0, t1, *all;
	size_t n = 0;
	char why[256];

	for (i = 0; i < nclients; i++) {
		cl[i].sock = e->sock;
		pthread_create(&cl[i].th, NULL, client_main, &cl[i]);
	}
	t0 = now_ms();
	while (now_ms() - t0 < seconds * 1e3) {
		if (one_cycle(e, why, sizeof(why))) {
			if (!cycles_bad)
				fprintf(stderr, "bench_soak: cycle %d inconsistent: %s\n", cycles, why);
			cycles_bad++;
			/* get back to a daemon that accepts an arm */
			if (!e->pid)
				dt_start(e, NULL, NULL);
			ctl(e, "abort", NULL);
			ctl(e, "finish", NULL);
		}
		cycles++;
	}
	atomic_store(&stop_clients, 1);
	t1 = now_ms();
	for (i = 0; i < nclients; i++) {
		pthread_join(cl[i].th, NULL);
		served += cl[i].n;
		failed += cl[i].failed;
		lost += cl[i].lost_at_jump;
		refused += cl[i].not_connected;
	}
	all = malloc((served ? served : 1) * sizeof(*all));
	for (i = 0; all && i < nclients; i++) {
		memcpy(all + n, cl[i].lat, cl[i].n * sizeof(*all));
		n += cl[i].n;
		free(cl[i].lat);
	}
	if (all && n)
		qsort(all, n, sizeof(*all), dbl_cmp);
	printf("| soak | %.1f s, %d concurrent status clients, update cycles back to back | - |\n",
	       (t1 - t0) / 1e3, nclients);
	printf("| status requests served | %lu (%.0f/s) | - |\n", served, served / ((t1 - t0) / 1e3));
	if (all && n)
		printf("| status latency under update load | p50 %.0f us, p99 %.0f us, max %.0f us | - |\n",
		       all[(size_t)(0.50 * (double)(n - 1))], all[(size_t)(0.99 * (double)(n - 1))],
		       all[n - 1]);
	printf("| status failures once connected | %lu (outside a jump); %lu more closed by "
	       "the %d fake kexecs; %lu connects refused between boots | 0 |\n",
	       failed, lost, cycles, refused);
	printf("| update cycles with a consistent journal (FINISHED, PASS, invariants) | %d of %d | all |\n",
	       cycles - cycles_bad, cycles);
	free(all);
	*bad += cycles_bad + (int)failed;
}

/* ---- phase 2: kill -9 during updates ---- */

/* Start `smmu-khoctl update` in the background. */
static pid_t spawn_update(struct dt_env *e)
{
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execl(ctl_bin, ctl_bin, "--socket", e->sock, "update", (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* ms from the start of `update` until the fake kexec ends the daemon (-1: none). */
static double timed_update(struct dt_env *e)
{
	double t0 = now_ms(), t = -1;
	pid_t c = spawn_update(e);
	int st;

	while (now_ms() - t0 < 10000) {
		if (waitpid(e->pid, &st, WNOHANG) == e->pid) {
			t = now_ms() - t0;
			e->pid = 0;
			break;
		}
		sleep_us(200);
	}
	waitpid(c, NULL, 0);
	return t;
}

static int phase_kill(struct dt_env *e, int want)
{
	int kills = 0, missed = 0, attempts = 0, bad = 0, early = 0, i;
	int resumed[SKHOD_FINISHED + 1] = { 0 };
	double win = 0;
	unsigned int seed = 0x5eed;
	char why[256];

	/* the window: the longest of three timed updates (arm .. jump) */
	for (i = 0; i < 3; i++) {
		struct dt_out o;
		double t;

		dt_arm(e, &o);
		dt_out_free(&o);
		t = timed_update(e);
		if (t > win)
			win = t;
		if (dt_start(e, NULL, NULL) || finish_ok(e, why, sizeof(why))) {
			fprintf(stderr, "bench_soak: calibration cycle inconsistent: %s\n", why);
			if (!e->pid)
				dt_start(e, NULL, NULL);
			ctl(e, "finish", NULL);
		}
	}
	while (kills < want && attempts < 5 * want) {
		struct dt_out o;
		long delay_us = (long)(rand_r(&seed) % (unsigned int)(win * 1000 + 1));
		pid_t c;
		int st, state;

		attempts++;
		dt_arm(e, &o);
		dt_out_free(&o);
		c = spawn_update(e);
		sleep_us(delay_us);
		kill(e->pid, SIGKILL);
		waitpid(e->pid, &st, 0);
		e->pid = 0;
		if (WIFSIGNALED(st))
			kills++;
		else
			missed++;	/* the fake kexec ended it first: not counted */
		waitpid(c, NULL, 0);
		why[0] = 0;
		if (dt_start(e, NULL, NULL)) {
			snprintf(why, sizeof(why), "the daemon did not restart");
			state = -1;
		} else {
			state = journal_state(e, why, sizeof(why));
		}
		if (state == SKHOD_ARMED && !attempt_seen) {
			early++;
			if (jump_and_restart(e, why, sizeof(why)))
				state = -1;
		} else if (state == SKHOD_ARMED || state == SKHOD_PRESERVED) {
			resumed[state]++;
			if (jump_and_restart(e, why, sizeof(why)))
				state = -1;
		} else if (state == SKHOD_VERIFIED) {
			resumed[state]++;
		} else if (state >= 0) {
			snprintf(why, sizeof(why), "restarted in %s", skhod_state_name(state));
			state = -1;
		}
		if (state >= 0 && finish_ok(e, why, sizeof(why)))
			state = -1;
		if (state < 0) {
			bad++;
			fprintf(stderr, "bench_soak: inconsistent restart after a kill %.1f ms into "
				"the update: %s (log %s)\n", delay_us / 1e3, why, e->log);
			if (!e->pid)
				dt_start(e, NULL, NULL);
			ctl(e, "abort", NULL);
			ctl(e, "finish", NULL);
		}
	}
	printf("| kill -9 during an update (random point in the first %.0f ms) | %d landed, "
	       "%d more after the jump (not counted) | %d |\n", win, kills, missed, want);
	printf("| restarts found | ARMED, attempt rolled back %d; ARMED, killed before the "
	       "request arrived %d; PRESERVED, resumed %d; VERIFIED, the fake kexec had happened %d | - |\n",
	       resumed[SKHOD_ARMED], early, resumed[SKHOD_PRESERVED], resumed[SKHOD_VERIFIED]);
	printf("| inconsistent restarts | %d | 0 |\n", bad);
	return bad || kills < want;
}

int main(int argc, char **argv)
{
	int seconds = env_int("SKHO_SOAK_SECONDS", 30);
	int nclients = env_int("SKHO_SOAK_CLIENTS", 4);
	int kills = env_int("SKHO_SOAK_KILLS", 60);
	struct dt_env e;
	int bad = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: %s SMMU-KHOD SMMU-KHOCTL\n", argv[0]);
		return 2;
	}
	ctl_bin = argv[2];
	if (nclients > MAX_CLIENTS)
		nclients = MAX_CLIENTS;
	signal(SIGPIPE, SIG_IGN);
	if (dt_setup(&e, NULL)) {
		fprintf(stderr, "bench_soak: cannot set up a fake kernel\n");
		return 1;
	}
	e.bin = argv[1];
	if (getenv("SKHO_SOAK_FAULTS"))
		dt_write(&e, "faults", getenv("SKHO_SOAK_FAULTS"));
	if (dt_start(&e, NULL, NULL)) {
		fprintf(stderr, "bench_soak: smmu-khod did not start (log: %s)\n", e.log);
		return 1;
	}
	printf("\n## smmu-khod soak (fake backend, %s; loadavg: ", e.bin);
	fflush(stdout);
	if (system("cut -d' ' -f1-3 /proc/loadavg | tr -d '\\n'") != 0)
		printf("?");
	printf(")\n\n| figure | measured | expected |\n| --- | --- | --- |\n");
	fflush(stdout);
	phase_soak(&e, seconds, nclients, &bad);
	fflush(stdout);
	bad += phase_kill(&e, kills);
	dt_stop(&e);
	if (bad)
		fprintf(stderr, "bench_soak: inconsistencies found; environment kept in %s\n", e.root);
	else
		dt_cleanup(&e);
	return bad ? 1 : 0;
}
