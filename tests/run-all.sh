#!/usr/bin/env bash
# Run every suite named on the command line (make targets), tally KTAP.
#
# Each suite is a make target whose output carries KTAP result lines
# ("ok N name" / "not ok N name", optionally indented).  A suite that exits
# non-zero without reporting a failure counts as one failure of its own.
# Ends with the line "N passed, N failed".
set -uo pipefail
logdir=${SKHO_LOGDIR:-build/logs}
mkdir -p "$logdir"
pass=0; fail=0; skip=0
for t in "$@"; do
	log=$logdir/$t.log
	echo "# suite $t (log: $log)"
	start=$(date +%s)
	make --no-print-directory "$t" > >(tee "$log") 2>&1
	rc=$?
	sleep 0.2	# let tee drain
	p=$(grep -Ec '^\s*ok [0-9]+ ' "$log" | head -n1)
	s=$(grep -Ec '^\s*ok [0-9]+ .*# SKIP' "$log" | head -n1)
	f=$(grep -Ec '^\s*not ok [0-9]+ ' "$log" | head -n1)
	p=$((p - s))
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - suite $t exited $rc without a failing test line"
		f=1
	fi
	if [ $((p + f + s)) -eq 0 ]; then
		echo "not ok - suite $t ran no test"
		f=1
	fi
	echo "# suite $t: $p passed, $f failed, $s skipped in $(( $(date +%s) - start ))s"
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
done
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
