// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* The core's parse.c as the kernel builds it: without fdt_check_full(). */
#include "skho_handover.h"

/*
 * The kernel's libfdt has no fdt_check_full() (its copy of dtc leaves out
 * fdt_check.c); parse.c then relies on its own bounded structure walk
 * alone.  The user env header defines SKHO_HAVE_FDT_CHECK_FULL; undo it
 * before parse.c is compiled (its own include of the env header is a no-op
 * by then), as tests/host/test_parse.c does.  fuzz.mk compiles this, the
 * rest of the core and the harness against the 7.3 tree's libfdt and links
 * that libfdt instead of Debian's: the fuzz_handover_kpath target.
 */
#undef SKHO_HAVE_FDT_CHECK_FULL
#include "parse.c"
