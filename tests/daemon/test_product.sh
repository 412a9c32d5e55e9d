#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# KTAP check that each product smmu-khod holds no test code: nm shows no fake-backend, fault-injection or crash-hook symbol.
#
# Usage: tests/daemon/test_product.sh BINARY...   (daemon.mk passes the -O2
# product and, when it was built, the static arm64 one).  Per binary: nm
# must list the daemon's own symbols (skhod_start: a stripped binary proves
# nothing and fails), none matching the test-only parts (tests/daemon/fake:
# skhod_backend_fake_open, skhod_fault_arm, skhod_crashpoint,
# skhod_test_crash_hook_*, fake_*, f_crashpoint, fault_crashpoint), and no
# string naming $SKHOD_FAULT or the fake backend.  A binary this host can
# run must also refuse `--backend fake:DIR` at start (exit 1, "unknown").
set -uo pipefail
NM=${NM:-nm}
test_syms='skhod_backend_fake_open|skhod_fault_arm|skhod_crashpoint|skhod_test_crash_hook|(^|[^a-z_])fake_|f_crashpoint|fault_crashpoint'
tmp=$(mktemp -d /tmp/skhod-product.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
runnable=()
for b in "$@"; do "$b" --version >/dev/null 2>&1 && runnable+=("$b"); done
echo "KTAP version 1"
echo "1..$(($# + ${#runnable[@]}))"
n=0 failed=0
for b in "$@"; do
	n=$((n + 1))
	name=daemon.product.no_test_code:$(basename "$(dirname "$(dirname "$b")")")/$(basename "$(dirname "$b")")
	if ! syms=$("$NM" "$b" 2>&1); then
		echo "not ok $n $name"; echo "# nm $b: $syms"; failed=$((failed + 1)); continue
	fi
	names=$(printf '%s\n' "$syms" | awk '{print $NF}')
	if ! grep -qx skhod_start <<<"$names"; then
		echo "not ok $n $name"; echo "# $b: nm lists no skhod_start (stripped?): nothing to check"
		failed=$((failed + 1)); continue
	fi
	bad=$(grep -E "$test_syms" <<<"$names" | sort -u | tr '\n' ' ')
	str=$(strings -a "$b" | grep -E 'SKHOD_FAULT|fake backend|fake:DIR' | sort -u | tr '\n' ' ')
	if [ -n "$bad" ] || [ -n "$str" ]; then
		echo "not ok $n $name"
		echo "# $b contains test code: symbols: ${bad:-none}; strings: ${str:-none}"
		failed=$((failed + 1))
	else
		echo "ok $n $name"
		echo "# $b: $(printf '%s\n' "$syms" | wc -l) symbols, none of tests/daemon/fake"
	fi
done
for b in "${runnable[@]}"; do
	n=$((n + 1))
	name=daemon.product.refuses_fake_backend:$(basename "$(dirname "$(dirname "$b")")")/$(basename "$(dirname "$b")")
	mkdir -p "$tmp/fake"
	"$b" --backend "fake:$tmp/fake" --state-dir "$tmp/state" --socket "$tmp/sock" \
		>"$tmp/out" 2>&1 </dev/null & pid=$!
	for _ in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
	if kill -0 $pid 2>/dev/null; then kill -9 $pid; rc=running; else wait $pid; rc=$?; fi
	if [ "$rc" = 1 ] && grep -q 'backend "fake:.*": unknown; this build knows real$' "$tmp/out"; then
		echo "ok $n $name"
	else
		echo "not ok $n $name"
		echo "# $b --backend fake:DIR: exit $rc (want 1): $(tr '\n' ' ' <"$tmp/out")"
		failed=$((failed + 1))
	fi
done
[ $failed = 0 ]
