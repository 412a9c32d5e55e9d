// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Benchmark helpers: warm-up, calibrated repetitions, median, table printing. */
#include <time.h>

#include "bench.h"

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Defeats dead-code elimination of the measured calls' results. */
static volatile u64 bench_sink;

static struct bench_result summarize(const double *v)
{
	double sorted[BENCH_REPS];
	struct bench_result r;

	memcpy(sorted, v, sizeof(sorted));
	qsort(sorted, BENCH_REPS, sizeof(sorted[0]), cmp_double);
	r.median = sorted[BENCH_REPS / 2];
	r.min = sorted[0];
	r.max = sorted[BENCH_REPS - 1];
	return r;
}

void bench_run_many(struct bench_item *items, int n)
{
	double t0, t;
	u64 c, acc = 0;
	int i, k;

	for (k = 0; k < n; k++) {
		struct bench_item *it = &items[k];

		t0 = bench_now();
		acc += it->fn(it->arg);	/* warm-up: caches, page faults, predictors */
		t = bench_now() - t0;
		it->calls = t >= BENCH_MIN_SECONDS ? 1 :
			    (u64)(BENCH_MIN_SECONDS / (t > 1e-9 ? t : 1e-9)) + 1;
	}
	for (i = 0; i < BENCH_REPS; i++) {
		for (k = 0; k < n; k++) {
			struct bench_item *it = &items[k];

			t0 = bench_now();
			for (c = 0; c < it->calls; c++)
				acc += it->fn(it->arg);
			t = bench_now() - t0;
			it->rate[i] = it->ops * (double)it->calls / t;
		}
	}
	bench_sink += acc;
	for (k = 0; k < n; k++)
		items[k].r = summarize(items[k].rate);
}

struct bench_result bench_run(u64 (*fn)(void *arg), void *arg, double ops)
{
	struct bench_item it = { .fn = fn, .arg = arg, .ops = ops };

	bench_run_many(&it, 1);
	return it.r;
}

struct bench_result bench_ratio(const struct bench_item *a, const struct bench_item *b)
{
	double q[BENCH_REPS];
	int i;

	for (i = 0; i < BENCH_REPS; i++)
		q[i] = a->rate[i] / b->rate[i];
	return summarize(q);
}

void bench_header(const char *title)
{
	printf("\n%s\n", title);
	printf("  %-52s %14s %-9s %7s  %-16s %s\n", "figure", "median", "unit", "spread",
	       "target", "");
}

/* 1234567.8 -> "1,234,568"; below 1000 one decimal. */
static void fmt_value(char *buf, size_t sz, double v)
{
	char digits[32];
	size_t n, i, o = 0;

	if (v < 1000) {
		snprintf(buf, sz, "%.1f", v);
		return;
	}
	snprintf(digits, sizeof(digits), "%.0f", v);
	n = strlen(digits);
	for (i = 0; i < n && o + 2 < sz; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
}

void bench_row(const char *figure, double value, const char *unit,
	       const struct bench_result *r, const char *target, int met)
{
	char spread[16] = "", val[32];

	/* spread: (max - min) / median over the repetitions */
	if (r && r->median > 0)
		snprintf(spread, sizeof(spread), "%.0f%%", 100.0 * (r->max - r->min) / r->median);
	fmt_value(val, sizeof(val), value);
	printf("  %-52s %14s %-9s %7s  %-16s %s\n", figure, val, unit, spread,
	       target ? target : "", !target ? "" : met ? "met" : "MISSED");
}
