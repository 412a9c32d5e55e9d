/* SPDX-License-Identifier: GPL-2.0-only */
/* Crash points: named places where a test build may stop smmu-khod; nothing in the product. */
#ifndef SKHOD_CRASHPOINT_H
#define SKHOD_CRASHPOINT_H

/*
 * skhod_crashpoint("update.frozen") marks a point a crash test may kill the
 * daemon at (docs/daemon.md, "Crash points").  The product build compiles
 * every call to nothing.  Test builds (-DSKHOD_TEST_HOOKS, daemon.mk's
 * *-test variants) link tests/daemon/fake/crash_hook.c, which hands @point
 * to the hook the test backend installed: the fake backend's crash_at file,
 * or $SKHOD_FAULT on the real backend (tests/daemon/fake/fault.c).
 */
#ifdef SKHOD_TEST_HOOKS
void skhod_crashpoint(const char *point);
#else
static inline void skhod_crashpoint(const char *point)
{
	(void)point;
}
#endif

#endif /* SKHOD_CRASHPOINT_H */
