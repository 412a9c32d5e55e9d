#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Boot the built kernel in QEMU arm64 to run the live-update KUnit suite; print one KTAP line per case.
#
# Usage: kernel/scripts/kunit-vm.sh KBUILD-DIR [FIRST-NUMBER]
#        kernel/scripts/kunit-vm.sh --parse CONSOLE-LOG [FIRST-NUMBER]
#        (no QEMU: judge a saved console log; kernel-check's negative control)
# The suite (CONFIG_ARM_SMMU_V3_KHO_KUNIT_TEST=y, patch 12) is built in, and
# KUnit is off unless the command line turns it on (KUNIT_DEFAULT_ENABLED=n),
# so the VM tests' boots never run it.  Here the kernel boots with
# kunit.enable=1 and kunit_shutdown=poweroff: the suite runs after the
# initcalls, before any root file system, and the machine powers off.  No
# initrd.  Each case becomes "ok N kernel.kunit.<suite>.<case>" (numbered
# from FIRST-NUMBER, default 1); the result is 1 if a case failed, if the
# suite's plan and its cases disagree, or if no KTAP came out at all.
set -uo pipefail
suite=arm-smmu-v3-kho
if [ "${1:-}" = --parse ]; then
	log=${2:?usage: kunit-vm.sh --parse CONSOLE-LOG [FIRST-NUMBER]}
	n=$(( ${3:-1} - 1 )) rc=parse-only
else
	kdir=${1:?usage: kunit-vm.sh KBUILD-DIR [FIRST-NUMBER]}
	n=$(( ${2:-1} - 1 ))
	log=$kdir/kunit-vm.log
	# kho=on: the freeze cases check the frozen handover the way the
	# shutdown path does, which asks KHO whether memory is preserved.
	timeout -k 5 120 qemu-system-aarch64 -M virt,iommu=smmuv3 -cpu max -m 1G -smp 2 \
		-nographic -nodefaults -no-reboot -serial stdio \
		-kernel "$kdir/arch/arm64/boot/Image" \
		-append "console=ttyAMA0 kho=on kunit.enable=1 kunit.filter_glob=$suite kunit_shutdown=poweroff" \
		</dev/null >"$log" 2>&1
	rc=$?
fi
# KUnit's KTAP, without the console's timestamps: the suite's subtest lines
# are indented by 4 ("    ok 3 name"), its plan is "    1..14".
ktap=$(sed -e 's/\r$//' -e 's/^\[ *[0-9.]*\] //' "$log")
plan=$(sed -n 's/^    1\.\.\([0-9]*\)$/\1/p' <<<"$ktap" | head -n1)
failed=0 cases=0
while read -r verdict _ name rest; do
	cases=$((cases + 1)) n=$((n + 1))
	if [ "$verdict" = ok ] && [[ $rest != *SKIP* ]]; then
		echo "ok $n kernel.kunit.$suite.$name"
	else	# a skipped case is a failure too: make check has no skips
		echo "not ok $n kernel.kunit.$suite.$name"
		failed=$((failed + 1))
		# the case's own diagnostics: what KUnit printed since the case before
		awk -v name="$name" '/^    (not )?ok [0-9]+ / { if ($NF == name) { printf "%s", buf; exit } buf = ""; next }
			/^    / { l = substr($0, 5); sub(/^# /, "", l); buf = buf "    # " l "\n" }' <<<"$ktap" | tail -n 10
	fi
done < <(sed -n -E 's/^    (ok|not ok) ([0-9]+) ([a-z0-9_]+)( # .*)?$/\1 \2 \3\4/p' <<<"$ktap" |
	 sed -E 's/^not ok/not_ok/')
if [ "$cases" -eq 0 ] || [ "${plan:-x}" != "$cases" ]; then
	n=$((n + 1))
	echo "not ok $n kernel.kunit.$suite.plan"
	echo "    # KTAP plan '${plan:-none}', $cases case lines; qemu exit $rc; log: $log"
	tail -n 5 "$log" | sed 's/^/    # /'
	failed=$((failed + 1))
fi
echo "# kunit: $cases cases, $failed failed (log: $log)" >&2
[ $failed -eq 0 ]
