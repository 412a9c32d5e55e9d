# SPDX-License-Identifier: GPL-2.0-only
# tests/vm/lib.sh: the shell library of every VM harness (vmtest.sh, e2e/e2e.sh, systemd/sysd.sh, vmm/vmm_vmtest.sh): KTAP, long steps, builds, initrd, QEMU, checker results.
# shellcheck shell=bash disable=SC2034,SC2154  # its variables are the harness's
#
# Sourced, never run.  The harness sets, before vm_setup:
#   H      its check-name prefix (vm, e2e, sysd): builds report "$H.build.*"
#   demo   1: no KTAP; results are kept in demo_results for a closing table
#   bench  1: no KTAP; only failing results are printed (vm-bench)
# vm_setup OUT sets root, out, logs, CROSS, KMAKE's inputs and the counters.
# Every check goes through result(): there is no skip, anything but "ok"
# fails.  A build that fails reports its check and calls finish (exit 1).

vmlib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$vmlib/../.." && pwd)
CROSS=aarch64-linux-gnu-
: "${demo:=0}" "${bench:=0}"
: "${SMMU_KHO_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/smmu-kho}"
export SMMU_KHO_CACHE
t0=$(date +%s)
nres=0 nfail=0
demo_results=()
# The QEMU machine of every harness: virt with the SMMUv3 and two edu
# devices, 00:02.0 (SID 0x10, the device under test) and 00:03.0 (SID 0x18).
# shellcheck disable=SC2054  # commas inside -M options
QEMU=(qemu-system-aarch64 -M virt,iommu=smmuv3 -cpu max -m 1G -smp 2 -nographic -nodefaults
      -no-reboot -nic none -device edu,addr=02.0 -device edu,addr=03.0)
# The trace events the DMA checks read: translations and faults of every
# stream, CR0 writes (SMMUEN) and the edu_dma.ko marks in config space.
TRACE_DMA=(-trace smmuv3_translate_success -trace smmuv3_translate_abort
	   -trace smmuv3_translate_disable -trace smmuv3_translate_bypass
	   -trace smmuv3_record_event -trace smmuv3_write_mmio -trace pci_cfg_write)
# Guest programs: static, with the project's warnings, linked with the
# shared guest library (guest/guest.c).
GUEST_CC=("${CROSS}gcc" -static -O2 -std=gnu11 -Wall -Wextra -Werror -Wshadow
	  -Wstrict-prototypes -Wmissing-prototypes -I"$vmlib/guest" -I"$vmlib/edu_dma"
	  -I"$root/kernel/module/uapi" "$vmlib/guest/guest.c")

# vm_setup OUT: the build/log directory (made absolute) and this run's logs.
vm_setup() {
	mkdir -p "$1" && out=$(cd "$1" && pwd) || exit 2
	logs=$out/logs/$(date +%Y%m%d-%H%M%S)-$$
	mkdir -p "$logs"
	ktap && echo "KTAP version 1"
}

ktap() { [ "$demo" = 0 ] && [ "$bench" = 0 ]; }
elapsed() { echo $(( $(date +%s) - t0 )); }
note() { printf '# [%4ds] %s\n' "$(elapsed)" "$*"; }

# result ok|fail NAME DETAIL: one KTAP line (demo: kept for the closing
# table; demo and bench leave out the builds that passed).
result() {
	case $1:$2 in ok:*.build.*) ktap || return 0 ;; esac
	nres=$((nres + 1))
	[ "$1" = ok ] || nfail=$((nfail + 1))
	if [ "$demo" = 1 ]; then
		demo_results+=("$(printf '%-4s %s' "$1" "$2")" "     ${3:-}")
		return 0
	fi
	if [ "$1" = ok ]; then echo "ok $nres $2"; else echo "not ok $nres $2"; fi
	[ -z "${3:-}" ] || echo "#   $3"
}

# finish: the KTAP plan and the closing note; logs of a passing run go.
finish() {
	! ktap || echo "1..$nres"
	if [ $nfail = 0 ] && [ "${SKHO_KEEP_LOGS:-0}" != 1 ]; then
		rm -rf "$logs"
		note "done: $nres checks, 0 failed in $(elapsed)s (logs removed; SKHO_KEEP_LOGS=1 keeps them)"
	else
		note "done: $nres checks, $nfail failed in $(elapsed)s (logs: $logs)"
	fi
	exit $(( nfail > 0 ))
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

# built NAME CHECK DETAIL CMD...: step NAME; the check "$H.build.CHECK"
# passes when CMD succeeds, else it fails and the run ends.
built() {
	local name=$1 check=$2 detail=$3; shift 3
	if step "$name" "$logs/$name.log" "$@"; then
		result ok "$H.build.$check" "$detail"
	else
		result fail "$H.build.$check" "see $logs/$name.log"; finish
	fi
}

# need_tools TOOL...: every tool on PATH, or the build.tools check fails.
need_tools() {
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null ||
			{ result fail "$H.build.tools" "missing $tool (run tests/setup/apt-deps.sh vm)"; finish; }
	done
}

# build_kernel: kernel/scripts/build-kernel.sh (incremental; SKHO_KDIR=<dir>
# uses a built tree instead); sets kdir, image, KMAKE.
build_kernel() {
	if [ -n "${SKHO_KDIR:-}" ]; then
		kdir=$SKHO_KDIR
		note "kernel: using SKHO_KDIR=$kdir"
	elif step build-kernel "$logs/build-kernel.log" "$root/kernel/scripts/build-kernel.sh"; then
		kdir=$(tail -n 1 "$logs/build-kernel.log")
	else
		kdir=
	fi
	image=$kdir/arch/arm64/boot/Image
	if [ -n "$kdir" ] && [ -f "$image" ] && [ -x "$kdir/usr/gen_init_cpio" ]; then
		result ok "$H.build.kernel" "$image"
	else
		result fail "$H.build.kernel" "no Image/gen_init_cpio under '$kdir' (see $logs/build-kernel.log)"
		finish
	fi
	KMAKE=(make -C "$kdir" ARCH=arm64 "CROSS_COMPILE=$CROSS" -j2)
}

# kmod_build DIR NAME: the out-of-tree module in DIR into $out/NAME; a
# warning fails it.
kmod_build() {
	mkdir -p "$out/$2" && "${KMAKE[@]}" M="$1" MO="$out/$2" modules &&
	[ -f "$out/$2/$2.ko" ]
}
# build_kmod DIR NAME CHECK: kmod_build as the check "$H.build.CHECK".
build_kmod() {
	if step "$2.ko" "$logs/$2.log" kmod_build "$1" "$2" && ! grep -q 'warning:' "$logs/$2.log"; then
		result ok "$H.build.$3" "$out/$2/$2.ko"
	else
		result fail "$H.build.$3" "build failed or warned, see $logs/$2.log"; finish
	fi
}

# smmu_kho.ko for the VM, built from a private copy of kernel/module (symlinks
# followed, build products left out: its own tree may hold an in-tree build,
# which MO= refuses) against the kernel this run boots.  With "shared",
# kernel/scripts/build-module.sh first checks that it builds against the
# shared kernel too.
smmu_kho_build() {
	{ [ "${1:-}" != shared ] || "$root/kernel/scripts/build-module.sh"; } &&
	rsync -a -L --delete --exclude='*.o' --exclude='*.ko' --exclude='*.cmd' \
		--exclude='*.mod' --exclude='*.mod.c' --exclude=Module.symvers \
		--exclude=modules.order "$root/kernel/module/" "$out/smmu_kho/" &&
	"${KMAKE[@]}" M="$out/smmu_kho" modules && [ -f "$out/smmu_kho/smmu_kho.ko" ]
}
build_smmu_kho() {
	if step smmu_kho.ko "$logs/smmu_kho.log" smmu_kho_build "$@"; then
		result ok "$H.build.smmu_kho_module" "$out/smmu_kho/smmu_kho.ko"
	else
		result fail "$H.build.smmu_kho_module" "smmu_kho.ko failed to build (see $logs/smmu_kho.log)"
		finish
	fi
}

# daemon_build DEBUG TEST: the static arm64 smmu-khod and smmu-khoctl
# against Debian's arm64 static libraries (e2e/fetch-arm64-libs.sh), the
# SKHOD_DEBUG build with DEBUG=1, plus the test variant smmu-khod-test
# (honours $SKHOD_FAULT) with TEST=1; stripped into $out/bin.  Prints
# "sysroot=DIR" last.
daemon_build() {
	local dir=$obuild/arm64 sysroot targets=(daemon-arm64)
	[ "$1" = 0 ] || dir=$obuild/arm64-debug
	[ "$2" = 0 ] || targets+=(daemon-arm64-test)
	sysroot=$("$vmlib/e2e/fetch-arm64-libs.sh") &&
	make -C "$root" --no-print-directory -j2 O="$obuild" ARM64_SYSROOT="$sysroot" \
		ARM64_DEBUG="$1" "${targets[@]}" &&
	mkdir -p "$out/bin" &&
	"${CROSS}strip" -o "$out/bin/smmu-khod" "$dir/daemon/smmu-khod" &&
	"${CROSS}strip" -o "$out/bin/smmu-khoctl" "$dir/daemon/smmu-khoctl" &&
	{ [ "$2" = 0 ] ||
	  "${CROSS}strip" -o "$out/bin/smmu-khod-test" "$obuild/arm64-test/daemon/smmu-khod"; } &&
	echo "sysroot=$sysroot"
}
# build_daemon DEBUG TEST: daemon_build as a check; sets sysroot.
build_daemon() {
	if step daemon-arm64 "$logs/daemon.log" daemon_build "$1" "$2"; then
		sysroot=$(sed -n 's/^sysroot=//p' "$logs/daemon.log" | tail -n 1)
		result ok "$H.build.daemon_arm64_static$([ "$1" = 1 ] && echo _skhod_debug)" \
			"$out/bin/smmu-khod ($(stat -c %s "$out/bin/smmu-khod") bytes), smmu-khoctl ($(stat -c %s "$out/bin/smmu-khoctl") bytes)"
	else
		result fail "$H.build.daemon_arm64_static" "see $logs/daemon.log"; finish
	fi
}

# initrd_pack GZIP_LEVEL FILE...: /init's initrd, $out/initrd.gz, from the
# cpio list on stdin plus the directories and /dev/console every guest
# needs; FILE is "DEST=SRC[:MODE]".
initrd_pack() {
	local level=$1 f d mode; shift
	{
		for d in /dev /proc /sys /run /boot /var /var/lib /lib /sbin; do
			printf 'dir %s 0755 0 0\n' "$d"
		done
		printf 'nod /dev/console 0600 0 0 c 5 1\n'
		for f in "$@"; do
			mode=0644
			case $f in *:0[0-7][0-7][0-7]) mode=${f##*:}; f=${f%:*} ;; esac
			printf 'file %s %s %s 0 0\n' "${f%%=*}" "${f#*=}" "$mode"
		done
	} > "$out/initrd.list" &&
	"$kdir/usr/gen_init_cpio" "$out/initrd.list" | gzip "-$level" > "$out/initrd.gz.tmp" &&
	mv "$out/initrd.gz.tmp" "$out/initrd.gz"
}
build_initrd() {
	if step initrd "$logs/initrd.log" initrd_pack "$@"; then
		result ok "$H.build.initrd" "$out/initrd.gz ($(stat -c %s "$out/initrd.gz") bytes)"
	else
		result fail "$H.build.initrd" "see $logs/initrd.log"; finish
	fi
}

# qemu_run LABEL TIMEOUT QOUT QEMU-ARGS...: one QEMU run (stdout and
# stderr to QOUT) under a timeout; its exit status in $qemu_rc.
qemu_run() {
	local label=$1 tmo=$2 qout=$3 t; shift 3
	t=$(date +%s)
	timeout -k 5 "$tmo" "$@" </dev/null >"$qout" 2>&1
	qemu_rc=$?
	note "$label: qemu exited $qemu_rc after $(( $(date +%s) - t ))s$([ $qemu_rc = 124 ] && echo ' (TIMEOUT)')"
}

# judge LABEL PREFIX QOUT CHECKER ARGS...: run a checker (analyze.py,
# e2e_check.py, sysd_check.py: "RESULT\tok|fail\tNAME\tDETAIL", "INFO\tTEXT",
# "BENCH\tJSON" lines) and report each RESULT as the check PREFIX+NAME;
# INFO becomes a comment, BENCH rows go to bench_rows.  A checker that
# exits non-zero fails PREFIX+analysis_completes (PREFIX "": e2e.LABEL.).
# Returns 1 if any check failed.
judge() {
	local label=$1 prefix=$2 qout=$3 res line verdict name detail arc failed=0; shift 3
	res=$logs/$label.results
	bench_rows=()
	python3 "$@" >"$res" 2>>"$qout"
	arc=$?
	while IFS=$'\t' read -r line verdict name detail; do
		case $line in
		RESULT)
			[ "$verdict" = ok ] || failed=1
			if [ "$bench" = 1 ]; then
				[ "$verdict" = ok ] || echo "# bench: $label.$name $verdict: $detail"
			else
				result "$verdict" "$prefix$name" "$detail"
			fi ;;
		INFO)
			if [ "$bench" = 1 ]; then echo "bench: $label: $verdict"
			elif [ "$demo" = 0 ]; then echo "# $label: $verdict"; fi ;;
		BENCH) bench_rows+=("$verdict") ;;
		esac
	done <"$res"
	rm -f "$res"
	if [ $arc != 0 ]; then
		failed=1
		result fail "${prefix:-$H.$label.}analysis_completes" "$(basename "$1") exited $arc (see $qout)"
	fi
	return $failed
}
