#!/usr/bin/env bash
# KTAP checks of the kernel side: series applies, kernel and module build
# (the portable core with kernel flags, in both), checkpatch is clean.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
K=${SMMU_KHO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/smmu-kho}
n=0; failed=0
result() {	# result <ok:0|1> <name> [diagnostic...]
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n kernel.$2"; else
		echo "not ok $n kernel.$2"; failed=$((failed + 1)); shift 2
		for d in "$@"; do echo "    # $d"; done
	fi
}
echo "KTAP version 1"
echo "# suite: kernel"

t0=$(date +%s)
kdir=$("$here/scripts/build-kernel.sh" 2>/tmp/skho-kbuild.$$); rc=$?
result $rc series_applies_and_kernel_builds "$(tail -n 5 /tmp/skho-kbuild.$$)"
echo "# kernel build: $(( $(date +%s) - t0 ))s, log: ${kdir:-$K/build-arm64}/build.log"
rm -f /tmp/skho-kbuild.$$
if [ $rc -ne 0 ]; then echo "# $n checks, $failed failed"; exit 1; fi

objs=$(ls "$kdir"/drivers/iommu/arm/arm-smmu-v3/skho/*.o 2>/dev/null | wc -l)
srcs=$(ls "$here"/core/*.c | wc -l)
warn=$(grep -c "skho/.*warning:" "$kdir/build.log" || true)
[ "$objs" -eq "$srcs" ] && [ "$warn" -eq 0 ]
result $? core_builds_into_arm_smmu_v3_with_kernel_flags \
	"$objs objects for $srcs core sources, $warn warnings"
grep -q '^CONFIG_ARM_SMMU_V3_KHO=y' "$kdir/.config"
result $? config_enables_arm_smmu_v3_kho

mlog=$(mktemp)
"$here/scripts/build-module.sh" >"$mlog" 2>&1; rc=$?
if [ $rc -eq 0 ] && grep -qi "warning" "$mlog"; then rc=1; fi
result $rc module_builds_without_warnings "$(grep -i -m3 -E 'warning|error' "$mlog")"
rm -f "$mlog"

cp=$kdir/../linux-*/scripts/checkpatch.pl
cp=$(ls $cp 2>/dev/null | head -n1)
for p in "$here"/patches/*.patch; do
	out=$(perl "$cp" --no-tree -q - < "$p" 2>&1)
	echo "$out" | grep -q "total: 0 errors, 0 warnings" || [ -z "$out" ]
	result $? "checkpatch_clean.$(basename "$p" .patch | cut -c1-40)" "$(echo "$out" | grep -m3 -E 'ERROR|WARNING')"
done
for f in "$here"/driver/*.[ch] "$here"/module/*_main.c "$here"/module/uapi/*.h "$here"/core/*.[ch]; do
	out=$(perl "$cp" --no-tree -q -f "$f" 2>&1 | grep -E '^(ERROR|WARNING)' | grep -v -E 'SPDX|FSF|typedef|ENOSYS|strscpy|kzalloc_obj|CamelCase|volatile')
	[ -z "$out" ]
	result $? "checkpatch_clean.${f#"$here"/}" "$(echo "$out" | head -n3)"
done
echo "# kernel: $((n - failed)) passed, $failed failed"
[ $failed -eq 0 ]
