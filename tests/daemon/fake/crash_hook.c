// SPDX-License-Identifier: GPL-2.0-only
/* Test builds: skhod_crashpoint() forwards each crash point to the installed hook. */
#include <stddef.h>

#include "crashpoint.h"
#include "fake.h"

static skhod_crash_hook_fn *hook;
static void *hook_arg;

void skhod_test_crash_hook_set(skhod_crash_hook_fn *fn, void *arg)
{
	hook = fn;
	hook_arg = arg;
}

void skhod_test_crash_hook_drop(void *arg)
{
	if (hook_arg == arg)
		skhod_test_crash_hook_set(NULL, NULL);
}

void skhod_crashpoint(const char *point)
{
	if (hook)
		hook(hook_arg, point);
}
