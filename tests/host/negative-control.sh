#!/usr/bin/env bash
# Negative control: the range-check tests must fail against a core that skips the fence.
#
# Builds a deliberately broken variant of the core in which
# skho_mem_fence_init() does not restrict map() (the SKHO_FAULT_SKIP_FENCE
# fault), links test_mutation and test_handover_sim against it, and asserts
# that the tests which exist to catch a missing range check FAIL there while
# they PASS on the real core.  A test that cannot fail proves nothing; this
# proves these can.  Prints KTAP ("ok N negative_control.<name>").
#
# How the fault is injected: if kernel/core/*.c honours
# -DSKHO_FAULT_SKIP_FENCE, the core is recompiled with it; otherwise a tiny
# replacement skho_mem_fence_init (written below, NEGATIVE CONTROL ONLY) is
# linked in front of a copy of libskho.a whose own definition is weakened.
# Nothing in the real build tree is modified: everything lives in
# $O/negative/.
#
# Environment (negative.mk passes the real build's values):
#   O        build directory (default: build)
#   CC       compiler (default: cc)
#   CFLAGS   host test flags incl. sanitizers and include paths
#   LDFLAGS  host link flags
#   LIBS     core libraries (default: -lfdt)
#   LIBOBJS  tests/host/lib objects of the sanitized build (else compiled here)
set -uo pipefail
cd "$(dirname "$0")/../.."

O=${O:-build}
CC=${CC:-cc}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
INC="-Ikernel/core -Ikernel/core/env/user -Itests/host -Itests/host/lib"
CFLAGS=${CFLAGS:-"-std=gnu11 -O1 -g -Wall -Wextra -Werror $SAN $INC"}
LDFLAGS=${LDFLAGS:-$SAN}
LIBS=${LIBS:--lfdt}
NEG=$O/negative
REAL_LIB=$O/san/libskho.a

# The tests that exist to catch a missing range check: "suite.case" and
# the substring that selects the case (ktest's argv[1] filter).
CAUGHT=(
	"test_mutation mutation.table_descriptor_outside_ranges_is_refused_outside table_descriptor_outside"
	"test_mutation mutation.range_removed_puts_a_table_outside range_removed"
	"test_handover_sim handover_sim.late_map_outside_ranges_is_refused_as_outside late_map"
)
# Control: the broken build must still adopt an honest handover (the fault
# is the missing fence, not a crash or a refusal of everything).
CONTROL="test_mutation mutation.unmutated_handover_adopts_every_preserved_stream unmutated"

n=0
failed=0
echo "KTAP version 1"
echo "# suite: negative_control (fault: SKHO_FAULT_SKIP_FENCE)"
echo "1..$(( ${#CAUGHT[@]} + 3 ))"

result() {	# result <ok?> <name> [diagnostic...]
	local good=$1 name=$2
	shift 2
	n=$((n + 1))
	for d in "$@"; do echo "    # $d"; done
	if [ "$good" = 1 ]; then
		echo "ok $n negative_control.$name"
	else
		echo "not ok $n negative_control.$name"
		failed=$((failed + 1))
	fi
}

die_all() {	# a setup step failed: every assertion fails
	local why=$1 i
	for ((i = n; i < ${#CAUGHT[@]} + 3; i++)); do
		result 0 "setup_$((i + 1))" "$why"
	done
	echo "# negative_control: 0 passed, $failed failed"
	exit 1
}

mkdir -p "$NEG" || die_all "cannot create $NEG"
[ -f "$REAL_LIB" ] || die_all "$REAL_LIB missing (make $REAL_LIB first)"

# ---- the broken core ----------------------------------------------------------
if grep -q SKHO_FAULT_SKIP_FENCE kernel/core/*.c; then
	how="core recompiled with -DSKHO_FAULT_SKIP_FENCE"
	objs=()
	for c in kernel/core/*.c; do
		o=$NEG/core/$(basename "${c%.c}").o
		mkdir -p "$NEG/core"
		$CC $CFLAGS -DSKHO_FAULT_SKIP_FENCE -c -o "$o" "$c" >"$NEG/build.log" 2>&1 ||
			die_all "compiling $c with -DSKHO_FAULT_SKIP_FENCE failed (see $NEG/build.log)"
		objs+=("$o")
	done
	rm -f "$NEG/libskho-fence-skipped.a"
	ar rcs "$NEG/libskho-fence-skipped.a" "${objs[@]}" || die_all "ar failed"
	FAULT_OBJS=()
else
	how="replacement skho_mem_fence_init linked over a weakened libskho.a copy"
	cat >"$NEG/negative_control_fence_skipped.c" <<'EOF'
// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* NEGATIVE CONTROL ONLY: a skho_mem_fence_init() that does not fence (SKHO_FAULT_SKIP_FENCE). */
#include "skho.h"

static const void *negative_control_unfenced_map(void *priv, u64 pa, u64 len)
{
	const struct skho_mem_fence *f = priv;

	return skho_map(f->base, pa, len);	/* f->allowed deliberately ignored */
}

void skho_mem_fence_init(struct skho_mem_fence *f, const struct skho_mem *base,
			 const struct skho_ranges *allowed)
{
	f->mem.map = negative_control_unfenced_map;
	f->mem.priv = f;
	f->base = base;
	f->allowed = allowed;
}
EOF
	$CC $CFLAGS -c -o "$NEG/negative_control_fence_skipped.o" \
		"$NEG/negative_control_fence_skipped.c" >"$NEG/build.log" 2>&1 ||
		die_all "compiling the replacement fence failed (see $NEG/build.log)"
	objcopy --weaken-symbol=skho_mem_fence_init "$REAL_LIB" \
		"$NEG/libskho-fence-skipped.a" >>"$NEG/build.log" 2>&1 ||
		die_all "objcopy --weaken-symbol failed (see $NEG/build.log)"
	FAULT_OBJS=("$NEG/negative_control_fence_skipped.o")
fi

read -r -a lib_objs <<<"${LIBOBJS:-}"
if [ ${#lib_objs[@]} -eq 0 ] || ! ls "${lib_objs[@]}" >/dev/null 2>&1; then
	lib_objs=(tests/host/lib/*.c)	# the sanitized objects are gone: compile
fi

# ---- build both variants of each test -------------------------------------------
for t in test_mutation test_handover_sim; do
	if [ -x "$O/san/tests/$t" ] && [ "$O/san/tests/$t" -nt "$REAL_LIB" ]; then
		cp "$O/san/tests/$t" "$NEG/$t.real"	# the suite's own binary
	else
		$CC $CFLAGS -o "$NEG/$t.real" "tests/host/$t.c" "${lib_objs[@]}" \
			"$REAL_LIB" $LIBS $LDFLAGS >>"$NEG/build.log" 2>&1 ||
			die_all "building $t against the real core failed (see $NEG/build.log)"
	fi
	$CC $CFLAGS -o "$NEG/$t.fence-skipped" "tests/host/$t.c" "${lib_objs[@]}" \
		"${FAULT_OBJS[@]}" "$NEG/libskho-fence-skipped.a" $LIBS $LDFLAGS \
		>>"$NEG/build.log" 2>&1 ||
		die_all "building $t against the fence-skipped core failed (see $NEG/build.log)"
done
echo "# broken core: $how"

# The fault must really be in the broken binary: its fence lets everything through.
nm "$NEG/test_mutation.fence-skipped" >"$NEG/symbols.txt" 2>&1
if [ -n "${FAULT_OBJS[*]:-}" ] && ! grep -q negative_control_unfenced_map "$NEG/symbols.txt"; then
	die_all "the replacement fence was not linked into the broken binary"
fi

# case_status <binary> <suite.case> <filter>: prints "pass", "fail" or "missing"
# (and a crash / sanitizer exit, any status other than 0/1, counts as "crash").
case_status() {
	local bin=$1 name=$2 filter=$3 log rc
	log=$NEG/$(basename "$bin").$filter.log
	"$bin" "$filter" >"$log" 2>&1
	rc=$?
	if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
		echo "crash"
	elif grep -Eq "^not ok [0-9]+ $name\$" "$log"; then
		echo "fail"
	elif grep -Eq "^ok [0-9]+ $name\$" "$log"; then
		echo "pass"
	else
		echo "missing"
	fi
}

real_bad=()
for c in "${CAUGHT[@]}"; do
	read -r bin name filter <<<"$c"
	s=$(case_status "$NEG/$bin.real" "$name" "$filter")
	[ "$s" = pass ] || real_bad+=("$name: $s on the real core")
done
if [ ${#real_bad[@]} -eq 0 ]; then
	result 1 real_core_passes_the_range_check_tests
else
	result 0 real_core_passes_the_range_check_tests "${real_bad[@]}"
fi

for c in "${CAUGHT[@]}"; do
	read -r bin name filter <<<"$c"
	s=$(case_status "$NEG/$bin.fence-skipped" "$name" "$filter")
	short=${name#*.}
	if [ "$s" = fail ]; then
		result 1 "fence_skipped_is_caught_by_${bin#test_}_${short}"
	else
		result 0 "fence_skipped_is_caught_by_${bin#test_}_${short}" \
			"$name: $s with the fence skipped (log: $NEG/$bin.fence-skipped.$filter.log)"
	fi
done

read -r bin name filter <<<"$CONTROL"
s=$(case_status "$NEG/$bin.fence-skipped" "$name" "$filter")
if [ "$s" = pass ]; then
	result 1 fence_skipped_core_still_adopts_an_honest_handover
else
	result 0 fence_skipped_core_still_adopts_an_honest_handover \
		"$name: $s with the fence skipped: the fault is not isolated"
fi

# The broken build must not crash anywhere in the suites it runs.
crash=()
for bin in test_mutation test_handover_sim; do
	for filter in outside late_map; do
		s=$(case_status "$NEG/$bin.fence-skipped" "-" "$filter")
		[ "$s" = crash ] && crash+=("$bin $filter: crashed (log: $NEG/$bin.fence-skipped.$filter.log)")
	done
done
if [ ${#crash[@]} -eq 0 ]; then
	result 1 fence_skipped_core_fails_cleanly_without_crash
else
	result 0 fence_skipped_core_fails_cleanly_without_crash "${crash[@]}"
fi

echo "# negative_control: $((n - failed)) passed, $failed failed"
[ $failed -eq 0 ]
