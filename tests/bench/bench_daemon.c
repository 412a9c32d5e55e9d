// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* smmu-khod figures: status round trip p50/p99, daemon RSS, journal commit+fsync per phase. */
/*
 * Usage: bench_daemon SMMU-KHOD  (an -O2 build, run on the fake backend)
 * Prints a table; never asserts on time.  The round trip is what
 * smmu-khoctl does: connect, one framed request, the final response.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dtest.h"
#include "journal.h"
#include "smmu_kho.pb-c.h"

#define NR_STATUS	10000
#define NR_WARMUP	200
#define NR_COMMITS	21	/* per phase; median reported */

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double pct(double *v, int n, double p)
{
	int i = (int)(p * (n - 1) + 0.5);

	return v[i < n ? i : n - 1];
}

/* kB of a /proc/PID/status field, -1 if absent. */
static long proc_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field)))
			kb = strtol(line + strlen(field) + 1, NULL, 10);
	fclose(f);
	return kb;
}

static int bench_status(struct dt_env *e)
{
	static double lat[NR_STATUS];
	Skhopb__StatusRequest st = SKHOPB__STATUS_REQUEST__INIT;
	Skhopb__Request req = SKHOPB__REQUEST__INIT;
	int i;

	req.op_case = SKHOPB__REQUEST__OP_STATUS;
	req.status = &st;
	for (i = -NR_WARMUP; i < NR_STATUS; i++) {
		double t0 = now_us();
		Skhopb__Response *r = dt_request(e, &req);
		double t1 = now_us();

		if (!r) {
			fprintf(stderr, "bench_daemon: status request %d failed\n", i);
			return -1;
		}
		skhopb__response__free_unpacked(r, NULL);
		if (i >= 0)
			lat[i] = t1 - t0;
	}
	qsort(lat, NR_STATUS, sizeof(lat[0]), dbl_cmp);
	printf("| status round trip, %d requests | p50 %.1f us, p99 %.1f us, max %.1f us | p99 < 1 ms |\n",
	       NR_STATUS, pct(lat, NR_STATUS, 0.50), pct(lat, NR_STATUS, 0.99),
	       lat[NR_STATUS - 1]);
	printf("| smmu-khod RSS after them | %ld KiB (peak %ld KiB) | < 4 MiB |\n",
	       proc_kb(e->pid, "VmRSS:"), proc_kb(e->pid, "VmHWM:"));
	return 0;
}

/* A journal as the daemon writes it for an update of @nr_streams streams. */
static void fill_journal(Skhopb__Journal *j, Skhopb__Plan *plan,
			 Skhopb__SmmuDigests *smmu, Skhopb__SmmuDigests **smmus,
			 Skhopb__StreamDigest *sd, Skhopb__StreamDigest **sdp,
			 unsigned int nr_streams)
{
	static char *devs[] = { "0000:00:02.0" };
	unsigned int i;

	plan->kernel = "/boot/vmlinuz-7.3.4-next";
	plan->initrd = "/boot/initrd.img-7.3.4-next";
	plan->cmdline = "console=ttyAMA0 kho=on liveupdate=on";
	plan->n_devices = 1;
	plan->devices = devs;
	for (i = 0; i < nr_streams; i++) {
		skhopb__stream_digest__init(&sd[i]);
		sd[i].smmu_base = 0x9050000;
		sd[i].sid = 0x10 + i;
		sd[i].device = "0000:00:02.0";
		sd[i].ste_digest = 0x9e3779b97f4a7c15ull * (i + 1);
		sd[i].xlat_digest = 0xc2b2ae3d27d4eb4full * (i + 1);
		sdp[i] = &sd[i];
	}
	smmu->mmio_base = 0x9050000;
	smmu->n_streams = nr_streams;
	smmu->streams = sdp;
	smmus[0] = smmu;
	j->version = 1;
	j->update_id = "bench";
	j->plan = plan;
	j->n_pre_jump = 1;
	j->pre_jump = smmus;
}

static int bench_journal(const char *dir, unsigned int nr_streams)
{
	static const Skhopb__State phases[] = {
		SKHOPB__STATE__STATE_ARMED, SKHOPB__STATE__STATE_PRESERVED,
		SKHOPB__STATE__STATE_RECOVERED, SKHOPB__STATE__STATE_VERIFIED,
		SKHOPB__STATE__STATE_FINISHED,
	};
	static const char *const names[] = { "ARMED", "PRESERVED", "RECOVERED",
					     "VERIFIED", "FINISHED" };
	Skhopb__StreamDigest *sd = calloc(nr_streams, sizeof(*sd));
	Skhopb__StreamDigest **sdp = calloc(nr_streams, sizeof(*sdp));
	Skhopb__Journal j = SKHOPB__JOURNAL__INIT;
	Skhopb__Plan plan = SKHOPB__PLAN__INIT;
	Skhopb__SmmuDigests smmu = SKHOPB__SMMU_DIGESTS__INIT, *smmus[1];
	struct skhod_jstore js;
	double t[NR_COMMITS];
	unsigned int p;
	int i, ret = 0;

	if (!sd || !sdp || skhod_jstore_open(&js, dir)) {
		fprintf(stderr, "bench_daemon: cannot open journal in %s\n", dir);
		free(sd);
		free(sdp);
		return -1;
	}
	fill_journal(&j, &plan, &smmu, smmus, sd, sdp, nr_streams);
	for (p = 0; p < sizeof(phases) / sizeof(phases[0]) && !ret; p++) {
		j.state = phases[p];
		for (i = 0; i < NR_COMMITS && !ret; i++) {
			double t0 = now_us();

			ret = skhod_journal_commit(&js, &j);
			t[i] = now_us() - t0;
		}
		qsort(t, NR_COMMITS, sizeof(t[0]), dbl_cmp);
		printf("| journal commit+fsync -> %-9s %4u streams | median %.0f us, max %.0f us | - |\n",
		       names[p], nr_streams, t[NR_COMMITS / 2], t[NR_COMMITS - 1]);
	}
	skhod_jstore_close(&js);
	free(sd);
	free(sdp);
	return ret;
}

int main(int argc, char **argv)
{
	struct dt_env e = { .bin = argc > 1 ? argv[1] : NULL };
	char jdir[300];
	int status, ret;

	if (!e.bin) {
		fprintf(stderr, "usage: %s SMMU-KHOD\n", argv[0]);
		return 2;
	}
	if (dt_setup(&e, NULL) || dt_start(&e, NULL, &status)) {
		fprintf(stderr, "bench_daemon: smmu-khod did not start (log: %s)\n", e.log);
		return 1;
	}
	printf("\n## smmu-khod (fake backend, %s; loadavg: ", e.bin);
	fflush(stdout);
	if (system("cut -d' ' -f1-3 /proc/loadavg | tr -d '\\n'") != 0)
		printf("?");
	printf(")\n\n| figure | measured | target |\n| --- | --- | --- |\n");
	ret = bench_status(&e);
	snprintf(jdir, sizeof(jdir), "%s/bench-journal", e.root);
	if (!ret)
		ret = bench_journal(jdir, 3);
	if (!ret)
		ret = bench_journal(jdir, 1024);
	dt_stop(&e);
	dt_cleanup(&e);
	return ret ? 1 : 0;
}
