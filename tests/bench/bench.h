/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Benchmark helpers: warm-up, repeated timed runs, median and spread, table rows. */
#ifndef BENCH_H
#define BENCH_H

#include "skho.h"

/* Repetitions per figure; each lasts at least BENCH_MIN_SECONDS. */
#define BENCH_REPS		9
#define BENCH_MIN_SECONDS	0.08

struct bench_result {
	double median;		/* operations per second */
	double min, max;	/* over the repetitions */
};

/*
 * Time @fn: one warm-up call, then BENCH_REPS repetitions of as many calls
 * as fill BENCH_MIN_SECONDS (calibrated on the warm-up).  @fn does @ops
 * operations per call and returns a value (summed into a sink, so that the
 * work cannot be optimized away).  Returns operations per second.
 */
struct bench_result bench_run(u64 (*fn)(void *arg), void *arg, double ops);

/*
 * Several measurements interleaved: repetition i times every item once, one
 * after the other, so that items compared by a ratio share the machine's
 * conditions (other load, frequency) rep by rep.
 */
struct bench_item {
	u64 (*fn)(void *arg);
	void *arg;
	double ops;
	/* results */
	u64 calls;			/* per repetition */
	double rate[BENCH_REPS];	/* per repetition, in run order */
	struct bench_result r;
};
void bench_run_many(struct bench_item *items, int n);
/* Median (and range) over the repetitions of a.rate[i] / b.rate[i]. */
struct bench_result bench_ratio(const struct bench_item *a, const struct bench_item *b);

/* Seconds on the monotonic clock. */
double bench_now(void);

/* One table row: figure, value, unit, spread, target, verdict. */
void bench_row(const char *figure, double value, const char *unit,
	       const struct bench_result *r, const char *target, int met);
void bench_header(const char *title);

/* XXH64, the former core digest (bench_xxh64.c), for the before/after ratio. */
u64 bench_xxh64(const void *data, size_t len, u64 seed);

#endif /* BENCH_H */
