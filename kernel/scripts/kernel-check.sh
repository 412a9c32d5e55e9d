#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# KTAP steps of the kernel side: series generated and self-contained, kernel and module build, KUnit, checkpatch.
#
# Build and lint steps are named kernel.build.* / kernel.lint.*, so
# tests/run-all.sh tallies them apart from the tests; the KUnit cases
# (kernel.kunit.*) are tests.
#  - kernel/patches must be what kernel/scripts/gen-series.sh generates from
#    kernel/series, kernel/core and kernel/driver (--check);
#  - build-kernel.sh resets the cached tree to its pristine tag and applies
#    the series with git am, nothing else, then builds;
#  - smmu_kho.ko must hold no copy of the core or libfdt: it links them
#    from the kernel (SMMU_KHO namespace);
#  - the KUnit suite runs in QEMU (kunit-vm.sh), one KTAP line per case;
#  - checkpatch.pl (the pinned tree's own), no waiver: --strict on every
#    patch of the series, default checks on every kernel source file the
#    repo builds (kernel/driver, kernel/module, kernel/core and its kernel
#    env header).  Any ERROR, WARNING or CHECK fails.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
K=${SMMU_KHO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/smmu-kho}
n=0; failed=0
result() {	# result <ok:0|1> <name> [diagnostic...]
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n kernel.$2"; else
		echo "not ok $n kernel.$2"; failed=$((failed + 1)); shift 2
		for d in "$@"; do	# every diagnostic line indented, never a result
			while IFS= read -r l; do echo "    # $l"; done <<<"$d"
		done
	fi
}
echo "KTAP version 1"
echo "# suite: kernel"

gen=$("$here/scripts/gen-series.sh" --check 2>&1)
result $? lint.series_generated_from_sources "$(tail -n 25 <<<"$gen")"

t0=$(date +%s)
kdir=$("$here/scripts/build-kernel.sh" 2>/tmp/skho-kbuild.$$); rc=$?
result $rc build.series_applies_and_kernel_builds "$(tail -n 5 /tmp/skho-kbuild.$$)"
echo "# kernel build: $(( $(date +%s) - t0 ))s, log: ${kdir:-$K/build-arm64}/build.log"
rm -f /tmp/skho-kbuild.$$
if [ $rc -ne 0 ]; then echo "1..$n"; echo "# kernel: $n steps, $failed failed"; exit 1; fi

# What was built is the pristine tree plus the series, nothing else: one
# commit per patch on top of tag base, no file changed or added beside them
# (--ignored: Debian's .gitignore ignores every top-level path).
src=$("$here/scripts/fetch-source.sh" 2>/dev/null)
npatches=$(ls "$here"/patches/*.patch | grep -vc /0000-cover-letter.patch)
ncommits=$(git -C "$src" rev-list --count base..HEAD 2>&1)
stray=$(git -C "$src" status --porcelain --ignored --untracked-files=all 2>&1 | grep -v ' \.smmu-kho-unpacked$' | head -n 5)
[ "$ncommits" = "$npatches" ] && [ -z "$stray" ]
result $? build.tree_is_pristine_base_plus_the_series_only \
	"$ncommits commits on base for $npatches patches; files beside them: ${stray:-none}"

objs=$(ls "$kdir"/drivers/iommu/arm/arm-smmu-v3/skho/*.o 2>/dev/null | wc -l)
srcs=$(ls "$here"/core/*.c | wc -l)
warn=$(grep -c "skho/.*warning:" "$kdir/build.log" || true)
[ "$objs" -eq "$srcs" ] && [ "$warn" -eq 0 ]
result $? build.core_builds_into_arm_smmu_v3_with_kernel_flags \
	"$objs objects for $srcs core sources, $warn warnings"
grep -q '^CONFIG_ARM_SMMU_V3_KHO=y' "$kdir/.config"
result $? build.config_enables_arm_smmu_v3_kho

mlog=$(mktemp)
"$here/scripts/build-module.sh" >"$mlog" 2>&1; rc=$?
if [ $rc -eq 0 ] && grep -qi "warning" "$mlog"; then rc=1; fi
result $rc build.module_builds_without_warnings "$(grep -i -m3 -E 'warning|error' "$mlog")"
rm -f "$mlog"
# One copy of the core: the module defines no core or libfdt function and
# takes them from the kernel.
ko=$here/module/smmu_kho.ko
own=$(aarch64-linux-gnu-nm --defined-only "$ko" 2>&1 | awk '$2 == "T" && $3 ~ /^(skho_|fdt_)/ {print $3}')
uses=$(aarch64-linux-gnu-nm --undefined-only "$ko" 2>/dev/null | grep -c -E ' U (skho_snapshot_take|skho_handover_parse)$')
[ -f "$ko" ] && [ -z "$own" ] && [ "$uses" -eq 2 ]
result $? build.module_has_no_copy_of_core_or_libfdt "global core/libfdt functions in the module: ${own:-none}; core imports seen: $uses of 2"

t0=$(date +%s)
"$here/scripts/kunit-vm.sh" "$kdir" $((n + 1)) > /tmp/skho-kunit.$$
rc=$?
while IFS= read -r l; do
	case $l in ok\ *|not\ ok\ *) n=$((n + 1)); case $l in not*) failed=$((failed + 1)) ;; esac ;; esac
	echo "$l"
done < /tmp/skho-kunit.$$
rm -f /tmp/skho-kunit.$$
echo "# kunit in QEMU: $(( $(date +%s) - t0 ))s, exit $rc"
# Negative control of the KUnit step: the same console log with one case
# turned "not ok", and a log without KTAP, must each fail it.
klog=$kdir/kunit-vm.log bad=$(mktemp)
sed '0,/^\(\[ *[0-9.]*\] \)\?    ok 1 /s//    not ok 1 /' "$klog" > "$bad"
neg1=1 neg2=1
! "$here/scripts/kunit-vm.sh" --parse "$bad" >/dev/null 2>&1 || neg1=0
grep -q '^    not ok 1 ' "$bad" || neg1=0
grep -v -E '^(\[ *[0-9.]*\] )?    ' "$klog" > "$bad"
! "$here/scripts/kunit-vm.sh" --parse "$bad" >/dev/null 2>&1 || neg2=0
rm -f "$bad"
[ $neg1 = 1 ] && [ $neg2 = 1 ]
result $? kunit_step_fails_on_a_failed_case_and_on_missing_ktap \
	"failed case detected: $neg1, missing KTAP detected: $neg2"

# checkpatch_step NAME CHECKPATCH-ARGS... < input: one lint step, no waiver.
cp=$src/scripts/checkpatch.pl
checkpatch_step() {
	local name=$1 out rc
	shift
	if [ ! -f "$cp" ]; then
		result 1 "lint.checkpatch.$name" "no checkpatch.pl at '$cp'"
		return
	fi
	out=$(cd / && perl "$cp" --no-tree -q "$@" 2>&1)	# cwd /: no camelcase cache file in the repo
	rc=$?
	[ $rc -eq 0 ] && ! grep -qE '^(ERROR|WARNING|CHECK)' <<<"$out"
	result $? "lint.checkpatch.$name" "checkpatch exited $rc" \
		"$(grep -m3 -E -A1 '^(ERROR|WARNING|CHECK)' <<<"$out")"
}
for p in "$here"/patches/*.patch; do
	case $p in */0000-cover-letter.patch) continue ;; esac	# no code in it
	checkpatch_step "$(basename "$p" .patch | cut -c1-40)" --strict - <"$p"
done
for f in "$here"/driver/*.[ch] "$here"/module/*.c "$here"/module/uapi/*.h \
	 "$here"/core/*.[ch] "$here"/core/env/kernel/*.h; do
	case $f in *.mod.c) continue ;; esac	# generated by the module build
	checkpatch_step "${f#"$here"/}" -f "$f" </dev/null
done
echo "1..$n"
echo "# kernel: $n results (build/lint steps, KUnit cases, the KUnit negative control), $failed failed"
[ $failed -eq 0 ]
