#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# make vfio-vm-check: a toy VMM's vfio/iommufd edu device keeps DMA-ing into LUO-preserved memfd memory across a KHO kexec.
#
# Builds the patched kernel (kernel/scripts/build-kernel.sh, incremental)
# and its uapi headers, smmu_kho.ko, the static arm64 /init (vmm_init.c)
# and VMM (vmm.c), the static arm64 smmu-khod/smmu-khoctl (make
# daemon-arm64, as tests/vm/e2e); packs them with /Image into one initrd; boots QEMU virt
# (SMMUv3 with nesting, edu at 00:02.0 = SID 0x10) once per mode, tracing
# the SMMU's translations and PCI config writes, and judges each run with
# vmm_check.py (one KTAP line per check):
#   keep   the VMM's device DMAs through the update: no Bus Master clear
#          or reset on the way down or at vfio-pci bind/open, the stage-2
#          translation stays live, the jump DMA lands in the memfd, DMA
#          goes on at the same IOVA before and after RELEASE
#   reset  negative control: smmu_kho.ko keep_bus_master=0 (the PCI and
#          vfio-pci patches inert at run time): the DMA after the jump must
#          be lost, the trace must show Bus Master cleared
#   reopen negative control of 0012 alone: keep_bus_master=0 in kernel 2
#          only: the jump DMA lands, then vfio-pci's open must clear Bus
#          Master and the DMA after it must be lost
# QEMU virt's GICv2 has no MSI isolation, so iommufd refuses to bind a
# device (EPERM) unless iommufd.allow_unsafe_interrupts=1 (the edu uses no
# MSI here; the flag is on the guest's command line).
# Usage: tests/vm/vmm/vmm_vmtest.sh [--mode keep|reset|reopen]...
# Environment: SKHO_VMM_OUT=<dir> (default build/vmm), SKHO_O=<make's O>
#   (default build: the daemon lands in $SKHO_O/arm64/daemon), SKHO_KEEP_LOGS=1,
#   SKHO_VMM_TIMEOUT=<s> per QEMU run (default 150), SMMU_KHO_CACHE.
# Exit status: 0 if every check passed, 1 otherwise, 2 on bad usage.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=${SKHO_VMM_OUT:-$root/build/vmm}
mkdir -p "$out"
out=$(cd "$out" && pwd)
logs=$out/logs/$(date +%Y%m%d-%H%M%S)-$$
mkdir -p "$logs"
CROSS=aarch64-linux-gnu-
t0=$(date +%s)
nres=0 nfail=0 modes=()
while [ $# -gt 0 ]; do
	case $1 in
	--mode) case ${2:-} in keep|reset|reopen) modes+=("$2") ;; *) echo "vmm_vmtest: bad mode '${2:-}'" >&2; exit 2 ;; esac
		shift 2 ;;
	*) echo "vmm_vmtest: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ ${#modes[@]} -gt 0 ] || modes=(keep reset reopen)

note() { printf '# [%4ds] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }
result() {
	nres=$((nres + 1))
	if [ "$1" = ok ]; then echo "ok $nres $2"; else echo "not ok $nres $2"; nfail=$((nfail + 1)); fi
	[ -z "${3:-}" ] || echo "#   $3"
}
finish() {
	echo "1..$nres"
	if [ $nfail = 0 ] && [ "${SKHO_KEEP_LOGS:-0}" != 1 ]; then rm -rf "$logs"; fi
	note "done: $nres checks, $nfail failed$([ $nfail = 0 ] || echo " (logs: $logs)")"
	exit $(( nfail > 0 ))
}
# step NAME CMD...: a build step, its output in $logs/NAME.log.
step() {
	local name=$1; shift
	if "$@" >"$logs/$name.log" 2>&1; then return 0; fi
	tail -n 20 "$logs/$name.log" | sed 's/^/#   | /'
	return 1
}
echo "KTAP version 1"

if python3 "$here/vmm_check.py" --self-test >"$logs/self-test.log" 2>&1; then
	result ok vfio.check_self_test "$(tail -n 1 "$logs/self-test.log")"
else
	result fail vfio.check_self_test "$(tail -n 1 "$logs/self-test.log")"
fi
for tool in qemu-system-aarch64 ${CROSS}gcc gzip python3 timeout flock rsync; do
	command -v "$tool" >/dev/null || { result fail vfio.build.tools "missing $tool"; finish; }
done

# ---- builds -----------------------------------------------------------------
cache=${SMMU_KHO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/smmu-kho}
mkdir -p "$cache"
kdir=
if step build-kernel flock "$cache/.vmtest-build.lock" "$root/kernel/scripts/build-kernel.sh"; then
	kdir=$(tail -n 1 "$logs/build-kernel.log")
fi
image=$kdir/arch/arm64/boot/Image
KMAKE=(make -s -C "$kdir" ARCH=arm64 "CROSS_COMPILE=$CROSS" -j2)
# uapi headers of this kernel (vfio cdev, iommufd, liveupdate) for the VMM.
if [ -n "$kdir" ] && [ -f "$image" ] &&
   step headers flock "$cache/.vmtest-build.lock" "${KMAKE[@]}" headers_install \
	INSTALL_HDR_PATH="$out/uapi"; then
	result ok vfio.build.kernel "$image"
else
	result fail vfio.build.kernel "no Image or headers under '$kdir' (see $logs)"; finish
fi
# shellcheck disable=SC2317  # run through step()
build_smmu_kho() {
	rsync -a -L --delete --exclude='*.o' --exclude='*.ko' --exclude='*.cmd' \
		--exclude='*.mod' --exclude='*.mod.c' --exclude=Module.symvers \
		--exclude=modules.order "$root/kernel/module/" "$out/smmu_kho/" &&
	"${KMAKE[@]}" M="$out/smmu_kho" modules
}
if step smmu_kho build_smmu_kho && [ -f "$out/smmu_kho/smmu_kho.ko" ]; then
	result ok vfio.build.smmu_kho_module "$out/smmu_kho/smmu_kho.ko"
else
	result fail vfio.build.smmu_kho_module "see $logs/smmu_kho.log"; finish
fi
CFLAGS=(-static -O2 -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
	-Wmissing-prototypes -isystem "$out/uapi/include" -I"$here" -I"$root/tests/vm/edu_dma" -I"$root/tests/vm/guest" -I"$root/kernel/module/uapi")
if step vmm ${CROSS}gcc "${CFLAGS[@]}" -o "$out/vmm" "$here/vmm.c" "$here/vmm_util.c" &&
   step vmm_init ${CROSS}gcc "${CFLAGS[@]}" -o "$out/init" "$here/vmm_init.c" "$here/vmm_util.c" \
	"$root/tests/vm/guest/guest.c"; then
	result ok vfio.build.vmm "$out/vmm, $out/init"
else
	result fail vfio.build.vmm "see $logs/vmm*.log"; finish
fi
# shellcheck disable=SC2317  # run through step()
build_daemon() {
	local obuild=${SKHO_O:-$root/build} sysroot
	sysroot=$("$root/tests/vm/e2e/fetch-arm64-libs.sh") &&
	make -C "$root" --no-print-directory -j2 O="$obuild" ARM64_SYSROOT="$sysroot" daemon-arm64 &&
	mkdir -p "$out/bin" &&
	"${CROSS}strip" -o "$out/bin/smmu-khod" "$obuild/arm64/daemon/smmu-khod" &&
	"${CROSS}strip" -o "$out/bin/smmu-khoctl" "$obuild/arm64/daemon/smmu-khoctl"
}
if step daemon-arm64 build_daemon; then
	result ok vfio.build.daemon_arm64 "$out/bin/smmu-khod, $out/bin/smmu-khoctl"
else
	result fail vfio.build.daemon_arm64 "see $logs/daemon-arm64.log"; finish
fi
# shellcheck disable=SC2317  # run through step()
mk_initrd() {
	printf '%s\n' 'dir /dev 0755 0 0' 'dir /proc 0755 0 0' 'dir /sys 0755 0 0' \
		'dir /lib 0755 0 0' 'dir /sbin 0755 0 0' 'nod /dev/console 0600 0 0 c 5 1' \
		"file /init $out/init 0755 0 0" "file /vmm $out/vmm 0755 0 0" \
		"file /sbin/smmu-khod $out/bin/smmu-khod 0755 0 0" \
		"file /sbin/smmu-khoctl $out/bin/smmu-khoctl 0755 0 0" \
		"file /Image $image 0644 0 0" \
		"file /lib/smmu_kho.ko $out/smmu_kho/smmu_kho.ko 0644 0 0" >"$out/initrd.list" &&
	"$kdir/usr/gen_init_cpio" "$out/initrd.list" | gzip -4 >"$out/initrd.gz"
}
if step initrd mk_initrd; then
	result ok vfio.build.initrd "$out/initrd.gz"
else
	result fail vfio.build.initrd "see $logs/initrd.log"; finish
fi

# ---- runs -------------------------------------------------------------------
run_mode() {
	local mode=$1 keep=1 keep2=1 serial=$logs/$1.serial.log trace=$logs/$1.trace.log rc line v n d
	[ "$mode" = reset ] && keep=0 keep2=0
	[ "$mode" = reopen ] && keep2=0
	note "$mode: booting (serial $serial)"
	timeout -k 5 "${SKHO_VMM_TIMEOUT:-150}" qemu-system-aarch64 -M virt,iommu=smmuv3 \
		-cpu max -m 1G -smp 2 -nographic -nodefaults -no-reboot -device edu,addr=02.0 \
		-kernel "$image" -initrd "$out/initrd.gz" \
		-append "console=ttyAMA0 kho=on liveupdate=on retain_initrd printk.devkmsg=on panic=-1 iommufd.allow_unsafe_interrupts=1 vmm.k=1 vmm.keep=$keep vmm.keep2=$keep2" \
		-serial "file:$serial" -trace 'smmuv3_translate_*' -trace smmuv3_record_event \
		-trace pci_cfg_write -D "$trace" </dev/null >"$logs/$mode.qemu.log" 2>&1
	rc=$?
	note "$mode: qemu exited $rc"
	[ $rc = 0 ] || result fail "vfio.$mode.qemu_exits" "rc=$rc (124: timeout), see $logs/$mode.qemu.log"
	python3 "$here/vmm_check.py" --mode "$mode" --serial "$serial" --trace "$trace" \
		>"$logs/$mode.results" 2>>"$logs/$mode.qemu.log" ||
		result fail "vfio.$mode.analysis" "vmm_check.py failed, see $logs/$mode.qemu.log"
	while IFS=$'\t' read -r line v n d; do
		case $line in
		RESULT) result "$v" "vfio.$mode.$n" "$d" ;;
		INFO) echo "# $mode: $v" ;;
		esac
	done <"$logs/$mode.results"
	[ "${SKHO_KEEP_LOGS:-0}" = 1 ] || [ $nfail != 0 ] || rm -f "$trace"
}
for m in "${modes[@]}"; do
	run_mode "$m"
done
finish
