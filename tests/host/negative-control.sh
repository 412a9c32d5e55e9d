#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Negative control: the range-check tests must fail against a core that skips the fence.
#
# Builds a deliberately broken variant of the core in which
# skho_mem_fence_init() does not restrict map(): a replacement definition
# (written below, NEGATIVE CONTROL ONLY) linked in front of a copy of
# libskho.a whose own definition is weakened.  Links test_mutation and
# test_handover_sim against it and asserts that the tests which exist to
# catch a missing range check FAIL there while they PASS on the real core.
# A test that cannot fail proves nothing; this proves these can.  Nothing in
# the real build tree is modified: everything lives in $O/negative/.
# Prints KTAP ("ok N negative_control.<name>").
#
# Every run below must have run at least one test (a filter that matches no
# test name fails; it never passes vacuously).  A run is "clean" only if it
# exited 0 or 1, printed its closing "# <suite>: N passed, M failed" line
# and holds no sanitizer report; ASan and UBSan get exit codes 86 and 87
# here, so a sanitizer abort cannot pose as the ordinary "a test failed"
# exit 1.
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
# Whole suites the broken build runs for the no-crash case.
WHOLE=(test_mutation test_handover_sim)

n=0
failed=0
echo "KTAP version 1"
echo "# suite: negative_control (fault: fence skipped)"
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
how="replacement skho_mem_fence_init linked over a weakened libskho.a copy"
cat >"$NEG/negative_control_fence_skipped.c" <<'EOF'
// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* NEGATIVE CONTROL ONLY: a skho_mem_fence_init() that does not fence. */
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
grep -q negative_control_unfenced_map "$NEG/symbols.txt" ||
	die_all "the replacement fence was not linked into the broken binary"

# run_case <binary> <filter|""> -> log path on stdout; runs the binary with
# the sanitizers' exit codes made distinct from a failing test's exit 1.
run_case() {
	local bin=$1 filter=$2 log
	log=$NEG/$(basename "$bin").${filter:-all}.log
	ASAN_OPTIONS="exitcode=86${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
	UBSAN_OPTIONS="exitcode=87${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}" \
		"$bin" ${filter:+"$filter"} >"$log" 2>&1
	echo "$? $log"
}

# run_health <rc> <log>: "" if the run was clean and ran >= 1 test, else why not.
run_health() {
	local rc=$1 log=$2 plan ran
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$log" | head -n1)
	ran=$(grep -Ec '^(not )?ok [0-9]+ ' "$log")
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
		echo "exit status $rc (a crash or sanitizer abort; log: $log)"
	elif grep -Eq 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|^SUMMARY: ' "$log"; then
		echo "sanitizer report (log: $log): $(grep -Em1 'ERROR: |runtime error:' "$log")"
	elif ! grep -Eq '^# [a-z_]+: [0-9]+ passed, [0-9]+ failed$' "$log"; then
		echo "no closing summary line: the program did not run to its end (log: $log)"
	elif [ -z "$plan" ] || [ "$plan" -lt 1 ] || [ "$ran" -lt 1 ]; then
		echo "ran no test (plan '1..${plan:-?}', $ran result lines; log: $log)"
	elif [ "$ran" -ne "$plan" ]; then
		echo "plan 1..$plan but $ran result lines (log: $log)"
	fi
}

# case_status <binary> <suite.case> <filter>: prints "pass", "fail", or a
# reason why neither: the run was not clean, ran nothing, or lacks the case.
case_status() {
	local bin=$1 name=$2 filter=$3 rc log why
	read -r rc log < <(run_case "$bin" "$filter")
	why=$(run_health "$rc" "$log")
	if [ -n "$why" ]; then
		echo "$why"
	elif grep -Eq "^not ok [0-9]+ $name\$" "$log"; then
		echo "fail"
	elif grep -Eq "^ok [0-9]+ $name\$" "$log"; then
		echo "pass"
	else
		echo "no result line for $name (filter '$filter' selects other tests; log: $log)"
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
			"$name: $s with the fence skipped"
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

# The broken build must not crash anywhere in the suites it runs: each
# whole suite runs to its end, sanitizer-clean, with >= 1 test.
crash=()
for bin in "${WHOLE[@]}"; do
	read -r rc log < <(run_case "$NEG/$bin.fence-skipped" "")
	why=$(run_health "$rc" "$log")
	[ -z "$why" ] || crash+=("$bin (whole suite): $why")
done
if [ ${#crash[@]} -eq 0 ]; then
	result 1 fence_skipped_core_fails_cleanly_without_crash
else
	result 0 fence_skipped_core_fails_cleanly_without_crash "${crash[@]}"
fi

echo "# negative_control: $((n - failed)) passed, $failed failed"
[ $failed -eq 0 ]
