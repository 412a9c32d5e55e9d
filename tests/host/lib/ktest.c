// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* KTAP harness: runs cases, prints "ok N name" / "not ok N name" lines. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ktest.h"

void ktest_fail(struct ktest *t, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (t->failed++ >= 8)	/* the first few say enough */
		return;
	printf("    # %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

void ktest_diag(const char *fmt, ...)
{
	va_list ap;

	printf("    # ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* argv[1], if given, selects the cases whose name contains it. */
int ktest_run(const char *suite, const struct ktest_case *cases, int n,
	      int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : NULL;
	const char *seed_env = getenv("SKHO_TEST_SEED");
	uint64_t seed = seed_env ? strtoull(seed_env, NULL, 0) : 0x5eed5eedULL;
	int i, nr = 0, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < n; i++)
		nr += !filter || strstr(cases[i].name, filter);
	printf("KTAP version 1\n# suite: %s (seed 0x%llx)\n1..%d\n", suite,
	       (unsigned long long)seed, nr);
	nr = 0;
	for (i = 0; i < n; i++) {
		struct ktest t = { .name = cases[i].name, .seed = seed + i };

		if (filter && !strstr(cases[i].name, filter))
			continue;
		cases[i].fn(&t);
		printf("%sok %d %s.%s\n", t.failed ? "not " : "", ++nr, suite,
		       cases[i].name);
		failed += !!t.failed;
	}
	printf("# %s: %d passed, %d failed\n", suite, nr - failed, failed);
	return failed ? 1 : 0;
}
