#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Run libFuzzer targets one after the other; one KTAP line per target.
#
# Usage: run-fuzz.sh DIR "LIBFUZZER OPTIONS" TARGET...
# DIR holds the target binaries and corpus/ (the seeds, read only).  Each
# target starts from the seeds plus what earlier runs found (DIR/work/T),
# writes new inputs there, crashes to DIR/artifacts/T-*.  A target fails
# when libFuzzer exits non-zero (crash, sanitizer report, broken contract,
# leak, timeout, out of memory); its log is DIR/logs/T.log.
set -uo pipefail
dir=$1; opts=$2; shift 2
mkdir -p "$dir/work" "$dir/artifacts" "$dir/logs"
echo "KTAP version 1"
echo "1..$#"
n=0; failed=0
for t in "$@"; do
	n=$((n + 1))
	log=$dir/logs/$t.log
	mkdir -p "$dir/work/$t"
	# shellcheck disable=SC2086
	"$dir/$t" $opts -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$dir/artifacts/$t-" "$dir/work/$t" "$dir/corpus" \
		> "$log" 2>&1
	rc=$?
	stats=$(grep -E '^#[0-9]+.*(DONE|INITED)' "$log" | tail -n1)
	echo "# $t: ${stats:-no stats} (log: $log)"
	if [ $rc -eq 0 ]; then
		echo "ok $n fuzz.$t"
	else
		grep -E 'ERROR:|contract broken|runtime error|Test unit written' "$log" |
			head -n5 | sed 's/^/# /'
		echo "not ok $n fuzz.$t"
		failed=1
	fi
done
exit $failed
