#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# End-to-end VM run: smmu-khod/smmu-khoctl perform a real KHO live update in QEMU; KTAP checks from guest data and SMMU trace.
#
# Builds the patched kernel (kernel/scripts/build-kernel.sh, incremental;
# its config fragment has the AF_UNIX and RTC smmu-khod needs), smmu_kho.ko
# (kernel/scripts/build-module.sh, and a copy built against that kernel),
# edu_dma.ko (tests/vm/edu_dma, built into $out/edu_dma), the static arm64 smmu-khod and smmu-khoctl
# (daemon.mk's daemon-arm64 against Debian's arm64 libfdt.a/libprotobuf-c.a/libjson-c.a,
# tests/vm/e2e/fetch-arm64-libs.sh), the test variant smmu-khod-test that
# honours $SKHOD_FAULT (daemon-arm64-test) and the guest /init
# (tests/vm/e2e/guest_init.c); packs them with /Image into one initrd.  Then
# boots QEMU (virt, SMMUv3, edu devices at 00:02.0 = SID 0x10 and 00:03.0)
# once per mode and judges the run with tests/vm/e2e/e2e_check.py:
#   preserve  the real flow: `smmu-khoctl update` kexecs, the next kernel's
#             smmu-khod recovers the journal through LUO and verifies
#   lose      negative control: the same flow with smmu-khod-test started with
#             SKHOD_FAULT=abort-before-jump (the module ABORTs right before
#             the jump); the daemon must end FAILED naming SID 0x10
#   fault-S   real-kernel negative control S (tests/vm/e2e/guest_fault.c:
#             ste_changed_before_recheck, pte_redirected_after_recheck, ...):
#             after `update --no-jump` the guest arms the test-only
#             tests/vm/fault/skho_fault.ko on an STE, PTE, table descriptor
#             or handover byte, then jumps; exactly that stream must end
#             dropped or refused with its error, the daemon FAILED naming it,
#             and QEMU's trace must show it never translating elsewhere
#   dry-S     the same run with nothing injected: S's checks must reject it
#             (their automated negative)
#   crash-P   the preserve flow with smmu-khod started with SKHOD_FAULT=crash:P
#             (P a crash point of docs/daemon.md: update.* in kernel 1,
#             recover.adopted or finish.released in kernel 2): the daemon
#             SIGKILLs itself there, the guest restarts it and repeats the
#             command; the update must still end VERIFIED, DMA continuous
#   nodevice  `smmu-khoctl update --no-device`: nothing preserved on purpose,
#             VERIFIED with 0 streams, no handover, the in-jump DMA lost
# A run with a fault-/dry-/crash-/nodevice mode builds skho_fault.ko and puts
# the SKHOD_DEBUG build of smmu-khod/smmu-khoctl (make daemon-arm64
# ARM64_DEBUG=1) in the VM.
#
# Usage: tests/vm/e2e/e2e.sh [--demo] [--mode preserve|lose|fault-S|dry-S|crash-P|nodevice]...
#   --demo   no KTAP: progress of each step, then the post-jump
#            `smmu-khoctl status` of the preserve run (exit 0 iff VERIFIED)
# Environment: SKHO_O=<dir> make's O= (default build), SKHO_E2E_OUT=<dir>
#   (default $SKHO_O/e2e), SKHO_KEEP_LOGS=1 keeps
#   the logs of passing runs, SKHO_E2E_TIMEOUT=<s> per QEMU run (default 150),
#   SMMU_KHO_CACHE (kernel tree, arm64 sysroot; default ~/.cache/smmu-kho).
# Shared with vmtest.sh and systemd/sysd.sh: tests/vm/lib.sh (KTAP, builds,
# QEMU, checker results) and the guest library tests/vm/guest/guest.c.
# Exit status: 0 if every check passed, 1 otherwise, 2 on bad usage.
set -uo pipefail
H=e2e
demo=0
# shellcheck source=tests/vm/lib.sh
. "$(dirname "$0")/../lib.sh"
here=$vmlib/e2e
obuild=${SKHO_O:-$root/build}	# make's O=: the daemon lands in $obuild/arm64/daemon
mkdir -p "$obuild" && obuild=$(cd "$obuild" && pwd)
modes=()

while [ $# -gt 0 ]; do
	case $1 in
	--demo) demo=1; shift ;;
	--mode) modes+=("$2"); shift 2 ;;
	-h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "e2e: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ ${#modes[@]} -gt 0 ] || { if [ $demo = 1 ]; then modes=(preserve); else modes=(preserve lose); fi; }
# Modes that set $SKHOD_FAULT=abort-before-jump run the test variant
# smmu-khod-test (make daemon-arm64-test); the fault, crash and --no-device
# modes run the SKHOD_DEBUG test variant (make daemon-arm64 ARM64_DEBUG=1)
# as /sbin/smmu-khod; the others, and the demo, only the product.
need_test=0 faults=0
for m in "${modes[@]}"; do
	case $m in
	preserve) ;;
	lose) need_test=1 ;;
	fault-?*|dry-?*|crash-?*|nodevice) faults=1 ;;
	*) echo "e2e: bad mode '$m'" >&2; exit 2 ;;
	esac
done
vm_setup "${SKHO_E2E_OUT:-$obuild/e2e}"

# ---- tools and builds -------------------------------------------------------
need_tools qemu-system-aarch64 "${CROSS}gcc" "${CROSS}strip" gzip python3 timeout make flock rsync
build_kernel
build_smmu_kho shared
build_kmod "$vmlib/edu_dma" edu_dma edu_dma_module
# Fault runs: the test-only skho_fault.ko, never part of the product.
[ $faults = 0 ] || build_kmod "$vmlib/fault" skho_fault skho_fault_module
build_daemon "$faults" "$need_test"
# The smmu-khod the demo installs is the product: nm shows no test code.
if "$root/tests/daemon/test_product.sh" "$obuild/arm64/daemon/smmu-khod" >"$logs/product.log" 2>&1; then
	result ok e2e.daemon_arm64.no_test_code "$(grep -m1 '^# ' "$logs/product.log" | cut -c3-)"
else
	result fail e2e.daemon_arm64.no_test_code "$(grep -m1 '^# ' "$logs/product.log" | cut -c3-)"
fi
built guest-init guest_init "$out/init" \
	"${GUEST_CC[@]}" -I"$vmlib/fault" -I"$sysroot/usr/include" \
	-o "$out/init" "$here/guest_init.c" "$here/guest_fault.c" \
	-L"$sysroot/usr/lib/aarch64-linux-gnu" -lfdt
initrd=(/init="$out/init:0755" /Image="$image" /lib/smmu_kho.ko="$out/smmu_kho/smmu_kho.ko"
	/lib/edu_dma.ko="$out/edu_dma/edu_dma.ko" /sbin/smmu-khod="$out/bin/smmu-khod:0755"
	/sbin/smmu-khoctl="$out/bin/smmu-khoctl:0755")
[ $faults = 0 ] || initrd+=(/lib/skho_fault.ko="$out/skho_fault/skho_fault.ko")
[ $need_test = 0 ] || initrd+=(/sbin/smmu-khod-test="$out/bin/smmu-khod-test:0755")
build_initrd 4 "${initrd[@]}"

# ---- runs -------------------------------------------------------------------
# run MODE: one QEMU run (kernel 1 -> smmu-khod's kexec -> kernel 2), judged
# by e2e_check.py.
run() {
	local mode=$1 serial=$logs/$1.serial.log trace=$logs/$1.trace.log qout=$logs/$1.qemu.log
	local tmo=${SKHO_E2E_TIMEOUT:-150}
	local append="console=ttyAMA0 kho=on liveupdate=on retain_initrd printk.devkmsg=on panic=-1"
	case $mode in
	fault-*) append+=" skhoe2e.mode=fault skhoe2e.fault=${mode#fault-}" ;;
	dry-*) append+=" skhoe2e.mode=fault skhoe2e.fault=${mode#dry-} skhoe2e.dry=1" ;;
	crash-*) append+=" skhoe2e.mode=crash skhoe2e.crash=${mode#crash-}" ;;
	*) append+=" skhoe2e.mode=$mode" ;;
	esac
	append+=" skhoe2e.k=1"
	note "$mode: booting QEMU (timeout ${tmo}s; serial: $serial, trace: $trace)"
	qemu_run "$mode" "$tmo" "$qout" "${QEMU[@]}" -kernel "$image" -initrd "$out/initrd.gz" \
		-append "$append" -serial "file:$serial" "${TRACE_DMA[@]}" -D "$trace"
	if ! judge "$mode" "" "$qout" "$here/e2e_check.py" --mode "$mode" --serial "$serial" \
		--trace "$trace" --qemu-rc "$qemu_rc" || [ "${SKHO_KEEP_LOGS:-0}" = 1 ]; then
		note "$mode: logs kept: $logs/$mode.{serial,trace,qemu}.log"
	fi
}

for m in "${modes[@]}"; do
	run "$m"
done

if [ $demo = 1 ]; then
	s=$logs/preserve.serial.log
	echo
	echo "== the live update, as both guest kernels logged it =="
	python3 "$here/e2e_check.py" --print-story --serial "$s" || echo "(incomplete: see $s)"
	echo
	echo "== smmu-khoctl status after the jump (guest kernel 2) =="
	python3 "$here/e2e_check.py" --print-output status_after_jump --serial "$s" ||
		echo "(no status output: see $s)"
	echo
	echo "== checks (guest data + QEMU SMMU trace) =="
	printf '%s\n' "${demo_results[@]}"
	echo
	[ $nfail = 0 ] || SKHO_KEEP_LOGS=1
fi
finish
