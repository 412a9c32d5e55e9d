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
#          goes on at the same IOVA before and after RELEASE; kernel 2's
#          VMM first maps one IOVA to another page: RELEASE must be refused
#          (EXDEV, that IOVA named, the old translation kept), then it maps
#          it right and the hitless RELEASE runs inside a DMA loop that
#          must lose nothing and raise no SMMU event
#   reset  negative control: smmu_kho.ko keep_bus_master=0 (the PCI and
#          vfio-pci patches inert at run time): the DMA after the jump must
#          be lost, the trace must show Bus Master cleared
#   reopen negative control of 0012 alone: keep_bus_master=0 in kernel 2
#          only: the jump DMA lands, then vfio-pci's open must clear Bus
#          Master and the DMA after it must be lost
#   break  negative control of the loop checks: smmu_kho.ko
#          test_break_ms=500 (the STE invalid for 500 ms during RELEASE):
#          the loop must lose transfers and the trace show SMMU events
#   chain  SKHO_VMM_UPDATES (default 10) updates in one run: every kernel
#          adopts, releases inside the DMA loop and preserves again; the
#          page counts of every hand-back and MemFree stay flat
#   keepold negative control of the freed-page check: a chain of 2 updates
#          with smmu_kho.ko test_keep_old_tables=1
# QEMU virt's GICv2 has no MSI isolation, so iommufd refuses to bind a
# device (EPERM) unless iommufd.allow_unsafe_interrupts=1 (the edu uses no
# MSI here; the flag is on the guest's command line).
# Usage: tests/vm/vmm/vmm_vmtest.sh [--mode keep|reset|reopen|break|chain|keepold]...
# Environment: SKHO_VMM_OUT=<dir> (default build/vmm), SKHO_O=<make's O>
#   (default build: the daemon lands in $SKHO_O/arm64/daemon), SKHO_KEEP_LOGS=1,
#   SKHO_VMM_TIMEOUT=<s> per QEMU run and kernel (default 60),
#   SKHO_VMM_UPDATES=<n> updates of the chain mode (default 10), SMMU_KHO_CACHE.
# Exit status: 0 if every check passed, 1 otherwise, 2 on bad usage.
# The KTAP output, steps, builds, initrd and QEMU runs are tests/vm/lib.sh's.
set -uo pipefail
H=vfio
# shellcheck source=tests/vm/lib.sh
. "$(dirname "$0")/../lib.sh"
here=$vmlib/vmm
obuild=${SKHO_O:-$root/build}
mkdir -p "$obuild" && obuild=$(cd "$obuild" && pwd)
modes=()
while [ $# -gt 0 ]; do
	case $1 in
	--mode) case ${2:-} in keep|reset|reopen|break|chain|keepold) modes+=("$2") ;;
		*) echo "vmm_vmtest: bad mode '${2:-}'" >&2; exit 2 ;; esac
		shift 2 ;;
	*) echo "vmm_vmtest: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ ${#modes[@]} -gt 0 ] || modes=(keep reset reopen break chain keepold)

vm_setup "${SKHO_VMM_OUT:-$root/build/vmm}"
if python3 "$here/vmm_check.py" --self-test >"$logs/self-test.log" 2>&1; then
	result ok vfio.check_self_test "$(paste -sd ';' "$logs/self-test.log")"
else
	result fail vfio.check_self_test "$(paste -sd ';' "$logs/self-test.log")"
fi

# ---- tools and builds -------------------------------------------------------
need_tools qemu-system-aarch64 "${CROSS}gcc" "${CROSS}strip" gzip python3 timeout make rsync
build_kernel
# uapi headers of this kernel (vfio cdev, iommufd, liveupdate) for the VMM.
built headers uapi_headers "$out/uapi" "${KMAKE[@]}" -s headers_install INSTALL_HDR_PATH="$out/uapi"
build_smmu_kho ""	# this run's copy only (vm-check checks the shared build)
VMM_CC=("${GUEST_CC[@]}" -isystem "$out/uapi/include" -I"$here")
built vmm vmm "$out/vmm" "${VMM_CC[@]}" -o "$out/vmm" "$here/vmm.c" "$here/vmm_util.c"
built vmm_init vmm_init "$out/init" "${VMM_CC[@]}" -o "$out/init" "$here/vmm_init.c" "$here/vmm_util.c"
build_daemon 0 0
build_initrd 4 "/init=$out/init:0755" "/vmm=$out/vmm:0755" "/sbin/smmu-khod=$out/bin/smmu-khod:0755" \
	"/sbin/smmu-khoctl=$out/bin/smmu-khoctl:0755" "/Image=$image" "/lib/smmu_kho.ko=$out/smmu_kho/smmu_kho.ko"

# ---- runs -------------------------------------------------------------------
# One edu (00:02.0, SID 0x10): the VMM's device; the trace of its translations
# and faults, and the config writes (Bus Master, the marks).
# One edu (00:02.0, SID 0x10): the VMM's device; the trace of its translations,
# faults and STE invalidations, and the config writes (Bus Master, the marks).
run_mode() {
	local mode=$1 serial=$logs/$1.serial.log trace=$logs/$1.trace.log qout=$logs/$1.qemu.log
	local n=2 args="vmm.keep=1" check=()
	case $mode in
	keep) args+=" vmm.differ=1"; check=(--differ) ;;
	reset) args="vmm.keep=0" ;;
	reopen) args+=" vmm.keep2=0" ;;
	break) args+=" vmm.break_ms=500" ;;
	chain) n=$(( ${SKHO_VMM_UPDATES:-10} + 1 )) ;;
	keepold) n=3 args+=" vmm.keep_old=1" ;;
	esac
	note "$mode: booting $n kernels (serial $serial)"
	qemu_run "$mode" $(( ${SKHO_VMM_TIMEOUT:-60} * n )) "$qout" qemu-system-aarch64 -M virt,iommu=smmuv3 \
		-cpu max -m 1G -smp 2 -nographic -nodefaults -no-reboot -device edu,addr=02.0 \
		-kernel "$image" -initrd "$out/initrd.gz" \
		-append "console=ttyAMA0 kho=on liveupdate=on retain_initrd printk.devkmsg=on panic=-1 iommufd.allow_unsafe_interrupts=1 vmm.k=1 vmm.n=$n $args" \
		-serial "file:$serial" -trace 'smmuv3_translate_*' -trace smmuv3_record_event \
		-trace smmuv3_cmdq_cfgi_ste -trace pci_cfg_write -D "$trace"
	[ "$qemu_rc" = 0 ] || result fail "vfio.$mode.qemu_exits" "rc=$qemu_rc (124: timeout), see $qout"
	judge "$mode" "vfio.$mode." "$qout" "$here/vmm_check.py" --mode "$mode" --kernels "$n" \
		"${check[@]}" --serial "$serial" --trace "$trace" && [ "${SKHO_KEEP_LOGS:-0}" != 1 ] && rm -f "$trace"
}
for m in "${modes[@]}"; do
	run_mode "$m"
done
finish
