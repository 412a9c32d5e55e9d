#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Minimize fuzz inputs into the committed seed corpus (libFuzzer -merge=1).
#
# Usage: merge-corpus.sh DIR OUT INPUT_DIR...
# DIR holds the fuzz binaries.  OUT (tests/fuzz/corpus) is rebuilt from
# scratch: first fuzz_handover_kpath keeps the smallest inputs that together
# reach every feature it saw in INPUT_DIRs (its libfdt is instrumented, so
# it sees the structure walk in detail), then fuzz_handover adds the inputs
# for features only it reaches.  Prints the file count and size; fails when
# OUT ends up larger than FUZZ_CORPUS_MAX_KB (default 400).
set -euo pipefail
dir=$1; out=$2; shift 2
max=${FUZZ_CORPUS_MAX_KB:-400}
tmp=$dir/merge.new
rm -rf "$tmp"; mkdir -p "$tmp" "$dir/logs"
for t in fuzz_handover_kpath fuzz_handover; do
	"$dir/$t" -merge=1 -use_counters=0 -timeout=10 -rss_limit_mb=2048 "$tmp" "$@" \
		> "$dir/logs/merge-$t.log" 2>&1 ||
		{ tail -n5 "$dir/logs/merge-$t.log" >&2; exit 1; }
	grep -E '^MERGE-OUTER: [0-9]+ new files' "$dir/logs/merge-$t.log" | sed "s/^/merge ($t): /"
done
bytes=$(find "$tmp" -type f -exec cat {} + | wc -c)
echo "merge: $(find "$tmp" -type f | wc -l) files, $bytes bytes"
if [ "$bytes" -gt $((max * 1024)) ]; then
	echo "merge: $bytes bytes > $max KB, $out left as it was (result in $tmp)" >&2
	exit 1
fi
rm -rf "$out"; mv "$tmp" "$out"
echo "merge: written to $out"
