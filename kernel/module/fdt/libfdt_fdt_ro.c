// SPDX-License-Identifier: GPL-2.0-only
/* The kernel's libfdt is not exported to modules: build fdt_ro.c in. */
#include <linux/libfdt_env.h>
#include "fdt_ro.c"
