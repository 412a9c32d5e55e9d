/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Minimal KTAP harness for the host tests: one "ok N name" line per case. */
#ifndef KTEST_H
#define KTEST_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>

struct ktest {
	const char *name;
	int failed;
	uint64_t seed;		/* per-case seed: SKHO_TEST_SEED or a fixed default */
};

struct ktest_case {
	const char *name;
	void (*fn)(struct ktest *t);
};

void ktest_fail(struct ktest *t, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void ktest_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int ktest_run(const char *suite, const struct ktest_case *cases, int n,
	      int argc, char **argv);

#define KEXPECT(t, cond, ...) do {						\
	if (!(cond))								\
		ktest_fail((t), __FILE__, __LINE__, "expected " #cond ": " __VA_ARGS__); \
} while (0)

#define KEXPECT_EQ(t, a, b) do {						\
	uint64_t _a = (uint64_t)(a), _b = (uint64_t)(b);			\
	if (_a != _b)								\
		ktest_fail((t), __FILE__, __LINE__, "%s == %s: 0x%" PRIx64	\
			   " != 0x%" PRIx64, #a, #b, _a, _b);			\
} while (0)

/* Stop the current case on a failed precondition. */
#define KASSERT(t, cond, ...) do {						\
	if (!(cond)) {								\
		ktest_fail((t), __FILE__, __LINE__, "assert " #cond ": " __VA_ARGS__); \
		return;								\
	}									\
} while (0)

#define KTEST_CASE(fn) { #fn, fn }
#define KTEST_MAIN(suite, ...)							\
int main(int argc, char **argv)							\
{										\
	static const struct ktest_case cases[] = { __VA_ARGS__ };		\
	return ktest_run(suite, cases, (int)(sizeof(cases) / sizeof(cases[0])), argc, argv); \
}

#endif /* KTEST_H */
