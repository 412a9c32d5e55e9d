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
# Exit status: 0 if every check passed, 1 otherwise, 2 on bad usage.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
obuild=${SKHO_O:-$root/build}	# make's O=: the daemon lands in $obuild/arm64/daemon
mkdir -p "$obuild"
obuild=$(cd "$obuild" && pwd)
out=${SKHO_E2E_OUT:-$obuild/e2e}
mkdir -p "$out"
out=$(cd "$out" && pwd)
logs=$out/logs/$(date +%Y%m%d-%H%M%S)-$$
mkdir -p "$logs"
: "${SMMU_KHO_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/smmu-kho}"
export SMMU_KHO_CACHE
CROSS=aarch64-linux-gnu-
t0=$(date +%s)
nres=0 nfail=0 demo=0
modes=() demo_results=()

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

# ---- output helpers ---------------------------------------------------------
elapsed() { echo $(( $(date +%s) - t0 )); }
note() { printf '# [%4ds] %s\n' "$(elapsed)" "$*"; }
# result ok|fail NAME DETAIL  (demo mode: only failures are printed)
result() {
	nres=$((nres + 1))
	[ "$1" = ok ] || nfail=$((nfail + 1))
	if [ $demo = 1 ]; then
		case $2 in e2e.build.*) [ "$1" = ok ] && return 0 ;; esac
		demo_results+=("$(printf '%-4s %s' "$1" "$2")")
		demo_results+=("     ${3:-}")
		return 0
	fi
	if [ "$1" = ok ]; then echo "ok $nres $2"; else echo "not ok $nres $2"; fi
	[ -z "${3:-}" ] || echo "#   $3"
}
# step NAME LOG CMD...: a long step with a progress line before and after,
# and one every 30 s while it runs (a first kernel build takes minutes).
step() {
	local name=$1 log=$2 s rc how pid n=0; shift 2
	s=$(date +%s)
	note "$name: started (log: $log)"
	"$@" >"$log" 2>&1 &
	pid=$!
	while ! wait_for "$pid" 1; do
		n=$((n + 1))
		[ $((n % 30)) = 0 ] &&
			note "$name: running for $(( $(date +%s) - s ))s (log: $log): $(tail -n 1 "$log" | cut -c1-80)"
	done
	wait "$pid"
	rc=$?
	how="FAILED rc=$rc"
	[ $rc = 0 ] && how="done"
	note "$name: $how in $(( $(date +%s) - s ))s (log: $log)"
	[ $rc = 0 ] || tail -n 20 "$log" | sed 's/^/#   | /'
	return $rc
}
# wait_for PID SECONDS: 0 once PID has exited, 1 if it still runs after SECONDS.
wait_for() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -0 "$1" 2>/dev/null && return 1
	return 0
}
finish() {
	[ $demo = 1 ] || echo "1..$nres"
	if [ $nfail = 0 ] && [ "${SKHO_KEEP_LOGS:-0}" != 1 ]; then
		rm -rf "$logs"
		note "done: $nres checks, 0 failed in $(elapsed)s (logs removed; SKHO_KEEP_LOGS=1 keeps them)"
	else
		note "done: $nres checks, $nfail failed in $(elapsed)s (logs: $logs)"
	fi
	exit $(( nfail > 0 ))
}
[ $demo = 1 ] || echo "KTAP version 1"

# ---- tools ------------------------------------------------------------------
for tool in qemu-system-aarch64 ${CROSS}gcc ${CROSS}strip gzip python3 timeout make flock; do
	command -v "$tool" >/dev/null ||
		{ result fail e2e.build.tools "missing $tool (run tests/setup/apt-deps.sh vm)"; finish; }
done

# ---- builds -----------------------------------------------------------------
if step kernel "$logs/build-kernel.log" "$root/kernel/scripts/build-kernel.sh"; then
	kdir=$(tail -n 1 "$logs/build-kernel.log")
else
	kdir=
fi
image=$kdir/arch/arm64/boot/Image
if [ -n "$kdir" ] && [ -f "$image" ] && [ -x "$kdir/usr/gen_init_cpio" ]; then
	result ok e2e.build.kernel "$image"
else
	result fail e2e.build.kernel "no Image/gen_init_cpio under '$kdir' (see $logs/build-kernel.log)"
	finish
fi
KMAKE=(make -C "$kdir" ARCH=arm64 "CROSS_COMPILE=$CROSS" -j2)

# smmu_kho.ko: kernel/scripts/build-module.sh checks that the module builds
# against the shared kernel; the copy for the VM is built from a private
# copy of kernel/module against the kernel this run boots ($kdir may be the
# e2e build, and the module's own tree may hold an in-tree build).
# shellcheck disable=SC2317  # run through step()
build_smmu_kho() {
	"$root/kernel/scripts/build-module.sh" &&
	rsync -a -L --delete --exclude='*.o' --exclude='*.ko' --exclude='*.cmd' \
		--exclude='*.mod' --exclude='*.mod.c' --exclude=Module.symvers \
		--exclude=modules.order "$root/kernel/module/" "$out/smmu_kho/" &&
	"${KMAKE[@]}" M="$out/smmu_kho" modules
}
if step smmu_kho.ko "$logs/smmu_kho.log" build_smmu_kho && [ -f "$out/smmu_kho/smmu_kho.ko" ]; then
	result ok e2e.build.smmu_kho_module "$out/smmu_kho/smmu_kho.ko"
else
	result fail e2e.build.smmu_kho_module "see $logs/smmu_kho.log"; finish
fi

mkdir -p "$out/edu_dma"
if step edu_dma.ko "$logs/edu_dma.log" "${KMAKE[@]}" M="$root/tests/vm/edu_dma" MO="$out/edu_dma" modules &&
   [ -f "$out/edu_dma/edu_dma.ko" ]; then
	result ok e2e.build.edu_dma_module "$out/edu_dma/edu_dma.ko"
else
	result fail e2e.build.edu_dma_module "see $logs/edu_dma.log"; finish
fi

# Fault runs: the test-only skho_fault.ko, never part of the product.
if [ $faults = 1 ]; then
	mkdir -p "$out/skho_fault"
	if step skho_fault.ko "$logs/skho_fault.log" "${KMAKE[@]}" M="$root/tests/vm/fault" \
		MO="$out/skho_fault" modules && [ -f "$out/skho_fault/skho_fault.ko" ]; then
		result ok e2e.build.skho_fault_module "$out/skho_fault/skho_fault.ko"
	else
		result fail e2e.build.skho_fault_module "see $logs/skho_fault.log"; finish
	fi
fi

sysroot=
# shellcheck disable=SC2317  # run through step()
build_daemon() {
	local dir=$obuild/arm64
	[ "$faults" = 0 ] || dir=$obuild/arm64-debug
	sysroot=$("$here/fetch-arm64-libs.sh") &&
	make -C "$root" --no-print-directory -j2 O="$obuild" ARM64_SYSROOT="$sysroot" \
		ARM64_DEBUG="$faults" daemon-arm64 $([ $need_test = 0 ] || echo daemon-arm64-test) &&
	mkdir -p "$out/bin" &&
	"${CROSS}strip" -o "$out/bin/smmu-khod" "$dir/daemon/smmu-khod" &&
	"${CROSS}strip" -o "$out/bin/smmu-khoctl" "$dir/daemon/smmu-khoctl" &&
	{ [ $need_test = 0 ] ||
	  "${CROSS}strip" -o "$out/bin/smmu-khod-test" "$obuild/arm64-test/daemon/smmu-khod"; } &&
	echo "sysroot=$sysroot"
}
if step daemon-arm64 "$logs/daemon.log" build_daemon; then
	sysroot=$(sed -n 's/^sysroot=//p' "$logs/daemon.log" | tail -n 1)
	result ok "e2e.build.daemon_arm64_static$([ $faults = 1 ] && echo _skhod_debug)" \
		"$out/bin/smmu-khod ($(stat -c %s "$out/bin/smmu-khod") bytes), smmu-khoctl ($(stat -c %s "$out/bin/smmu-khoctl") bytes)"
else
	result fail e2e.build.daemon_arm64_static "see $logs/daemon.log"; finish
fi
# The smmu-khod the demo installs is the product: nm shows no test code.
if "$root/tests/daemon/test_product.sh" "$obuild/arm64/daemon/smmu-khod" >"$logs/product.log" 2>&1; then
	result ok e2e.daemon_arm64.no_test_code "$(grep -m1 '^# ' "$logs/product.log" | cut -c3-)"
else
	result fail e2e.daemon_arm64.no_test_code "$(grep -m1 '^# ' "$logs/product.log" | cut -c3-)"
fi

if step guest-init "$logs/init.log" ${CROSS}gcc -static -O2 -std=gnu11 -Wall -Wextra -Werror \
	-Wshadow -Wstrict-prototypes -Wmissing-prototypes -I"$root/tests/vm/edu_dma" \
	-I"$root/tests/vm/fault" -I"$root/kernel/module/uapi" -I"$sysroot/usr/include" \
	-o "$out/init" "$here/guest_init.c" "$here/guest_fault.c" \
	-L"$sysroot/usr/lib/aarch64-linux-gnu" -lfdt; then
	result ok e2e.build.guest_init "$out/init"
else
	result fail e2e.build.guest_init "see $logs/init.log"; finish
fi

# shellcheck disable=SC2317  # run through step()
mk_initrd() {
	{
		local d
		for d in /dev /proc /sys /run /boot /var /var/lib /lib /sbin; do
			printf 'dir %s 0755 0 0\n' "$d"
		done
		printf 'nod /dev/console 0600 0 0 c 5 1\n'
		printf 'file /init %s 0755 0 0\n' "$out/init"
		printf 'file /Image %s 0644 0 0\n' "$image"
		printf 'file /lib/smmu_kho.ko %s 0644 0 0\n' "$out/smmu_kho/smmu_kho.ko"
		printf 'file /lib/edu_dma.ko %s 0644 0 0\n' "$out/edu_dma/edu_dma.ko"
		[ "$faults" = 0 ] ||
			printf 'file /lib/skho_fault.ko %s 0644 0 0\n' "$out/skho_fault/skho_fault.ko"
		printf 'file /sbin/smmu-khod %s 0755 0 0\n' "$out/bin/smmu-khod"
		[ $need_test = 0 ] ||
			printf 'file /sbin/smmu-khod-test %s 0755 0 0\n' "$out/bin/smmu-khod-test"
		printf 'file /sbin/smmu-khoctl %s 0755 0 0\n' "$out/bin/smmu-khoctl"
	} > "$out/initrd.list" &&
	"$kdir/usr/gen_init_cpio" "$out/initrd.list" | gzip -4 > "$out/initrd.gz.tmp" &&
	mv "$out/initrd.gz.tmp" "$out/initrd.gz"
}
if step initrd "$logs/initrd.log" mk_initrd; then
	result ok e2e.build.initrd "$out/initrd.gz ($(stat -c %s "$out/initrd.gz") bytes)"
else
	result fail e2e.build.initrd "see $logs/initrd.log"; finish
fi

# ---- runs -------------------------------------------------------------------
# shellcheck disable=SC2054  # commas inside -M options
QEMU=(qemu-system-aarch64 -M virt,iommu=smmuv3 -cpu max -m 1G -smp 2 -nographic -nodefaults
      -no-reboot -nic none -device edu,addr=02.0 -device edu,addr=03.0)
# The events the checks read: translations and faults of every stream, CR0
# writes (SMMUEN) and the edu_dma.ko marks in config space.
TRACE=(-trace smmuv3_translate_success -trace smmuv3_translate_abort
       -trace smmuv3_translate_disable -trace smmuv3_translate_bypass
       -trace smmuv3_record_event -trace smmuv3_write_mmio -trace pci_cfg_write)

# boot MODE: one QEMU run (kernel 1 -> smmu-khod's kexec -> kernel 2).
boot() {
	local mode=$1 t rc serial trace qout
	serial=$logs/$mode.serial.log trace=$logs/$mode.trace.log qout=$logs/$mode.qemu.log
	local tmo=${SKHO_E2E_TIMEOUT:-150}
	local append="console=ttyAMA0 kho=on liveupdate=on retain_initrd printk.devkmsg=on panic=-1"
	case $mode in
	fault-*) append+=" skhoe2e.mode=fault skhoe2e.fault=${mode#fault-}" ;;
	dry-*) append+=" skhoe2e.mode=fault skhoe2e.fault=${mode#dry-} skhoe2e.dry=1" ;;
	crash-*) append+=" skhoe2e.mode=crash skhoe2e.crash=${mode#crash-}" ;;
	*) append+=" skhoe2e.mode=$mode" ;;
	esac
	append+=" skhoe2e.k=1"
	t=$(date +%s)
	note "$mode: booting QEMU (timeout ${tmo}s; serial: $serial, trace: $trace)"
	timeout -k 5 "$tmo" "${QEMU[@]}" -kernel "$image" -initrd "$out/initrd.gz" \
		-append "$append" -serial "file:$serial" "${TRACE[@]}" -D "$trace" \
		</dev/null >"$qout" 2>&1
	rc=$?
	note "$mode: qemu exited $rc after $(( $(date +%s) - t ))s$([ $rc = 124 ] && echo ' (TIMEOUT)')"
	echo "$rc" > "$logs/$mode.rc"
}

check_run() {
	local mode=$1 line verdict name detail failed=0 res arc
	res=$logs/$mode.results
	python3 "$here/e2e_check.py" --mode "$mode" --serial "$logs/$mode.serial.log" \
		--trace "$logs/$mode.trace.log" --qemu-rc "$(cat "$logs/$mode.rc")" \
		>"$res" 2>>"$logs/$mode.qemu.log"
	arc=$?
	while IFS=$'\t' read -r line verdict name detail; do
		case $line in
		RESULT) [ "$verdict" = ok ] || failed=1; result "$verdict" "$name" "$detail" ;;
		INFO) [ $demo = 1 ] || echo "# $mode: $verdict" ;;
		esac
	done <"$res"
	if [ $arc != 0 ]; then
		failed=1
		result fail "e2e.$mode.analysis_completes" "e2e_check.py exited $arc (see $logs/$mode.qemu.log)"
	fi
	if [ $failed = 1 ] || [ "${SKHO_KEEP_LOGS:-0}" = 1 ]; then
		note "$mode: logs kept: $logs/$mode.{serial,trace,qemu}.log"
	fi
}

for m in "${modes[@]}"; do
	boot "$m"
	check_run "$m"
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
