#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Run libFuzzer targets one after the other; per target a summary and one KTAP line.
#
# Usage: run-fuzz.sh DIR "LIBFUZZER OPTIONS" "SEED DIRS" TARGET...
# DIR holds the target binaries.  Each target starts from SEED DIRS (read
# only) plus its work directory, where it writes new inputs: DIR/work/T,
# or, with FUZZ_FRESH=1 (the smoke run of make check), a new empty
# DIR/smoke/T, so the smoke run depends on the committed seeds only.
# Crashes and timeouts go to DIR/artifacts/T-*, the log to DIR/logs/T.log
# (DIR/smoke/logs/T.log for the smoke run, so it can run beside a long one).
#
# Environment: FUZZ_DICT (required: the dictionary both targets use),
# FUZZ_TIMEOUT (seconds per input, default 2), FUZZ_RUNS (the executions
# asked for, only to say when a time bound stopped a run short of it),
# FUZZ_MIN_COV (coverage edges the seeds alone must reach when loaded,
# libFuzzer's INITED line: catches a seed corpus that was not read).
#
# Per target it prints executions, exec/s, cov/ft, crashes and timeouts.
# A target fails (not ok) when libFuzzer exits non-zero (crash, sanitizer
# report, broken contract, leak, timeout, out of memory), when it wrote a
# crash or timeout artifact, when the dictionary was not loaded, or when
# its statistics are missing (no evidence is no pass).
# Exit status: 0 when every target passed, 1 otherwise.
set -uo pipefail
dir=$1; opts=$2; seeds=$3; shift 3
: "${FUZZ_DICT:?FUZZ_DICT must name the dictionary}"
timeout=${FUZZ_TIMEOUT:-2}
logs=$dir/logs
[ "${FUZZ_FRESH:-0}" = 1 ] && logs=$dir/smoke/logs
mkdir -p "$dir/work" "$dir/artifacts" "$logs"
echo "KTAP version 1"
echo "1..$#"
n=0; failed=0
for t in "$@"; do
	n=$((n + 1))
	log=$logs/$t.log
	if [ "${FUZZ_FRESH:-0}" = 1 ]; then
		work=$dir/smoke/work/$t; rm -rf "$work"
	else
		work=$dir/work/$t
	fi
	mkdir -p "$work"
	stamp=$logs/$t.start; : > "$stamp"
	why=()
	for s in $seeds; do
		[ -d "$s" ] || why+=("seed directory $s missing")
	done
	# shellcheck disable=SC2086
	"$dir/$t" $opts -dict="$FUZZ_DICT" -timeout="$timeout" -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$dir/artifacts/$t-" \
		"$work" $seeds > "$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
	# under a second the final average reads 0: take the last status line's
	[ "${eps:-0}" != 0 ] || eps=$(grep -oE 'exec/s: [0-9]+' "$log" | tail -n1 | cut -d' ' -f2)
	cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n1)
	init=$(grep -E '^#[0-9]+[[:space:]]+INITED' "$log" | grep -oE 'cov: [0-9]+' | head -n1 | cut -d' ' -f2)
	dict=$(sed -n 's/^Dictionary: \([0-9]*\) entries.*/\1/p' "$log" | head -n1)
	lib=$(sed -n 's/^fuzz_handover: libfdt: //p' "$log" | head -n1)
	crashes=$(find "$dir/artifacts" -maxdepth 1 -newer "$stamp" \
		  \( -name "$t-crash-*" -o -name "$t-leak-*" -o -name "$t-oom-*" \) | wc -l)
	timeouts=$(find "$dir/artifacts" -maxdepth 1 -newer "$stamp" -name "$t-timeout-*" | wc -l)
	grep -q 'ERROR: libFuzzer: timeout' "$log" && [ "$timeouts" -eq 0 ] && timeouts=1
	echo "# $t: ${lib:-libfdt not reported}"
	echo "# $t: executions ${execs:-?}, exec/s ${eps:-?}, ${cov:-cov ? ft ?}" \
	     "(seeds alone: cov ${init:-?}), dictionary ${dict:-not loaded} entries," \
	     "crashes $crashes, timeouts $timeouts (log: $log)"
	if [ -n "${FUZZ_RUNS:-}" ] && [ -n "$execs" ] && [ "$execs" -lt "$FUZZ_RUNS" ]; then
		if [ $rc -eq 0 ]; then
			echo "# $t: stopped by the time bound at $execs of $FUZZ_RUNS executions"
		else
			echo "# $t: stopped by a failure at $execs of $FUZZ_RUNS executions"
		fi
	fi
	[ $rc -eq 0 ] || why+=("libFuzzer exit status $rc")
	[ "$crashes" -eq 0 ] || why+=("$crashes crash artifact(s)")
	[ "$timeouts" -eq 0 ] || why+=("$timeouts timeout(s) of more than ${timeout}s")
	[ -n "$dict" ] && [ "$dict" -gt 0 ] || why+=("dictionary $FUZZ_DICT not loaded")
	[ -n "$execs" ] && [ "$execs" -gt 0 ] || why+=("no execution statistics in the log")
	[ -n "$cov" ] || why+=("no coverage line in the log")
	if [ -n "${FUZZ_MIN_COV:-}" ] && [ "${init:-0}" -lt "$FUZZ_MIN_COV" ]; then
		why+=("the seeds reach cov ${init:-?} < $FUZZ_MIN_COV: seed corpus not loaded?")
	fi
	if [ ${#why[@]} -eq 0 ]; then
		echo "ok $n fuzz.$t"
	else
		for w in "${why[@]}"; do echo "# $w"; done
		grep -E 'ERROR:|ALARM:|contract broken|runtime error|Test unit written' "$log" |
			head -n5 | sed 's/^/# /'
		echo "not ok $n fuzz.$t"
		failed=1
	fi
done
exit $failed
