/* SPDX-License-Identifier: GPL-2.0-only */
/* Test-only parts of smmu-khod: fake kernel backend, $SKHOD_FAULT, crash-point hook. */
#ifndef SKHOD_TEST_FAKE_H
#define SKHOD_TEST_FAKE_H

#include "backend.h"

/*
 * Linked into test binaries only (daemon.mk's *-test variants and the host
 * tests), never into the product smmu-khod: `make daemon-check` fails when
 * nm finds any of these symbols there.
 */

/* The fake kernel in directory @dir.  Errors: -ENOMEM, -errno of open(2). */
int skhod_backend_fake_open(const char *dir, struct skhod_backend **out);

/*
 * $SKHOD_FAULT on the real backend @be (read from the environment, warned
 * about at start): "abort-before-jump" issues SMMU_KHO_IOC_ABORT at crash
 * point "update.before-jump"; "crash:<point>" SIGKILLs the daemon at crash
 * point <point>, once per $SKHOD_FAULT_MARK file.  No error: an unknown
 * value is logged and ignored.
 */
void skhod_fault_arm(struct skhod_backend *be);

/*
 * The crash-point hook skhod_crashpoint() (daemon/crashpoint.h) calls in a
 * test build; NULL: none.  One per process; a backend installs its own at
 * open and removes it (skhod_test_crash_hook_drop) when destroyed.
 */
typedef void skhod_crash_hook_fn(void *arg, const char *point);
void skhod_test_crash_hook_set(skhod_crash_hook_fn *fn, void *arg);
/* Remove the hook if @arg installed it. */
void skhod_test_crash_hook_drop(void *arg);

#endif /* SKHOD_TEST_FAKE_H */
