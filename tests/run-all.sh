#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# make check's driver: runs each suite (a make target) and tallies its KTAP results.
#
# Usage: tests/run-all.sh TARGET...     (make check passes $(CHECK_TARGETS))
#        tests/run-all.sh --self-test   (only the tally's own negative checks)
#
# What counts, per suite log (a suite may print several KTAP documents):
# - A document starts at a column-0 "KTAP version 1" line and needs exactly
#   one plan line "1..N" (before or after its results) with exactly N
#   results.  Only column-0 result lines of a document count; indented lines
#   are diagnostics or subtests whose parent result counts.
# - A result line is exactly "ok|not ok <n> <name>[ # SKIP[ reason]]", n
#   counting 1, 2, 3, ... within its document, <name> one word of
#   [A-Za-z0-9_.:/+-].  Anything else that starts with "ok" or "not ok" at
#   column 0, a result outside a document, "Bail out!", a missing plan or a
#   short count is a failure: a check whose evidence is missing fails.
# - A result whose name has a "build" or "lint" component (vm.build.kernel,
#   kernel.lint.checkpatch.x) is a build/lint step, tallied apart from the
#   tests on the line "# build/lint steps: N ok, N failed".  A failed step
#   fails the run like a failed test.
# - "# SKIP" fails unless the test's exact name is listed in README.md under
#   "## Allowed skips" (lines "- `name`: why").
# - A suite whose make exits non-zero without a failing result counts one
#   failed build step; a suite that reports nothing counts one failed test.
# Ends with "N passed, N failed, N skipped" over the tests; exits non-zero
# if any test or build/lint step failed.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
logdir=${SKHO_LOGDIR:-build/logs}

# tally SUITE LOG ALLOWED: prints "not ok - ..." lines for what is wrong,
# then "COUNTS passed failed skipped steps_ok steps_failed".
tally() {
	awk -v suite="$1" -v allowed=" $3 " '
	function bad(msg) { print "not ok - " suite ": " msg; f++ }
	function close_doc() {
		if (!indoc) return
		if (plan < 0)
			bad("KTAP document at line " docline " has no plan line")
		else if (nres != plan)
			bad("plan 1.." plan " but " nres " results (KTAP document at line " docline ")")
		indoc = 0
	}
	BEGIN { indoc = 0; p = f = s = bp = bf = 0 }
	/^KTAP version 1$/ { close_doc(); indoc = 1; plan = -1; nres = 0; docline = NR; next }
	/^KTAP version/ { bad("line " NR ": unsupported header: " $0); next }
	/^Bail out!/ { bad("line " NR ": " $0); next }
	/^1\.\.[0-9]+$/ {
		if (!indoc) bad("line " NR ": plan outside a KTAP document")
		else if (plan >= 0) bad("line " NR ": second plan line in one document")
		else plan = substr($0, 4) + 0
		next
	}
	/^(not )?ok([^A-Za-z0-9_]|$)/ {
		line = $0
		if (line !~ /^(ok|not ok) [1-9][0-9]* [A-Za-z0-9_.:\/+-]+( # SKIP( .*)?)?$/) {
			bad("line " NR ": malformed result line: " line); next
		}
		if (!indoc) { bad("line " NR ": result outside a KTAP document: " line); next }
		ok = line !~ /^not ok/
		sub(/^(not )?ok /, "", line)
		num = line; sub(/ .*/, "", num)
		name = line; sub(/^[0-9]+ /, "", name); sub(/ .*/, "", name)
		skip = line ~ / # SKIP( |$)/
		nres++
		if (num + 0 != nres) {
			bad("line " NR ": result number " num " where " nres " was due (" name ")")
			next
		}
		step = ("." name ".") ~ /\.(build|lint)\./
		if (ok && skip && index(allowed, " " name " ") == 0) {
			bad("line " NR ": " name " skipped, and README.md does not list it under Allowed skips")
			next
		}
		if (ok && skip) s++
		else if (step) { if (ok) bp++; else bf++ }
		else { if (ok) p++; else f++ }
		next
	}
	END { close_doc(); print "COUNTS", p, f, s, bp, bf }
	' "$2"
}

# The names README.md lists under "## Allowed skips", space-separated.
allowed_skips() {
	awk '/^## /{ on = ($0 ~ /^## Allowed skips/) ; next }
	     on && /^- `[^`]+`/ { n = $0; sub(/^- `/, "", n); sub(/`.*/, "", n); printf "%s ", n }' \
		"$here/README.md"
}

# The tally's own negative checks: each fixture must give its COUNTS line.
self_test() {
	local name want got log bad=0 nr=0
	log=$(mktemp)
	check() {	# check NAME "p f s bp bf" FIXTURE (a printf format)
		name=$1 want=$2
		# shellcheck disable=SC2059
		printf "$3" >"$log"
		got=$(tally self-test "$log" "allowed.case" | sed -n 's/^COUNTS //p')
		nr=$((nr + 1))
		if [ "$got" != "$want" ]; then
			echo "not ok - run-all self-test $name: counts '$got', want '$want'"
			bad=1
		fi
	}
	check plain "1 1 0 0 0" 'KTAP version 1\n1..2\nok 1 a.one\nnot ok 2 a.two\n'
	check plan_at_end "2 0 0 0 0" 'KTAP version 1\nok 1 a.one\nok 2 a.two\n1..2\n'
	check short_count "2 1 0 0 0" 'KTAP version 1\n1..3\nok 1 a.one\nok 2 a.two\n'
	check no_plan "1 1 0 0 0" 'KTAP version 1\nok 1 a.one\n'
	check outside_document "0 1 0 0 0" 'ok 1 a.one\n'
	check indented_ignored "1 0 0 0 0" 'KTAP version 1\n1..1\n    ok 1 nested.sub\nok 1 a.one\n'
	check misnumbered "1 1 0 0 0" 'KTAP version 1\n1..2\nok 1 a.one\nok 1 a.again\n'
	check malformed_name "0 2 0 0 0" 'KTAP version 1\n1..1\nok 1 two words\n'
	check todo_directive "0 2 0 0 0" 'KTAP version 1\n1..1\nok 1 a.one # TODO later\n'
	check double_space "0 2 0 0 0" 'KTAP version 1\n1..1\nok  1 a.one\n'
	check skips "0 1 1 0 0" 'KTAP version 1\n1..2\nok 1 a.x # SKIP why\nok 2 allowed.case # SKIP why\n'
	check build_lint_apart "1 0 0 1 1" 'KTAP version 1\n1..3\nok 1 k.build.kernel\nnot ok 2 k.lint.checkpatch.x\nok 3 k.t\n'
	check bail_out "1 1 0 0 0" 'KTAP version 1\n1..1\nok 1 a.one\nBail out! oops\n'
	check two_documents "1 1 0 0 0" 'KTAP version 1\n1..1\nok 1 a.one\nKTAP version 1\n1..1\nnot ok 1 b.one\n'
	rm -f "$log"
	[ $bad = 0 ] && echo "# run-all: tally self-test: $nr fixtures counted as expected"
	return $bad
}

self_test || { echo "run-all: the KTAP tally is broken; no verdict" >&2; exit 2; }
[ "${1:-}" = --self-test ] && exit 0

allowed=$(allowed_skips)
mkdir -p "$logdir"
pass=0; fail=0; skip=0; spass=0; sfail=0
for t in "$@"; do
	log=$logdir/$t.log
	echo "# suite $t (log: $log)"
	start=$(date +%s)
	make --no-print-directory "$t" 2>&1 | tee "$log"	# the pipeline ends when tee has written all
	rc=${PIPESTATUS[0]}
	out=$(tally "$t" "$log" "$allowed")
	grep -v '^COUNTS ' <<<"$out"
	p=; f=; s=; bp=; bf=
	read -r _ p f s bp bf < <(grep '^COUNTS ' <<<"$out")
	if [ -z "$bf" ]; then
		echo "not ok - $t: the tally of $log failed"
		p=0 f=1 s=0 bp=0 bf=0
	fi
	if [ "$rc" -ne 0 ] && [ $((f + bf)) -eq 0 ]; then
		echo "not ok - $t: make exited $rc without a failing result line"
		bf=$((bf + 1))
	fi
	if [ $((p + f + s + bp + bf)) -eq 0 ]; then
		echo "not ok - $t: no result at all"
		f=1
	fi
	echo "# suite $t: $p passed, $f failed, $s skipped; build/lint steps: $bp ok, $bf failed;" \
		"$(( $(date +%s) - start ))s"
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	spass=$((spass + bp)); sfail=$((sfail + bf))
done
echo "# build/lint steps: $spass ok, $sfail failed"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ] && [ $sfail -eq 0 ]
