#!/usr/bin/env bash
# systemd VM run: our 7.3 kernel boots Debian sid's systemd 262 with smmu-khod.service installed as a real unit; KTAP checks from the guest's serial log.
#
# Builds the patched kernel (kernel/scripts/build-kernel.sh, whose config
# fragment has what systemd needs: cgroups, BPF, autofs, ext4), smmu_kho.ko,
# edu_dma.ko, the static arm64 smmu-khod/smmu-khoctl, and the guest's root
# file system: the cached base of tests/vm/systemd/build-rootfs.sh (sid's
# arm64 systemd, unpacked without installing) plus this run's kernel,
# modules (modules-load.d + depmod), and smmu-kho as the operator guide's
# `make install` put it into a staging DESTDIR (units enabled with
# `systemctl --root`), packed with mkfs.ext4 -d into a virtio-blk
# root disk; smmu-khod's state directory /var/lib/smmu-kho is a second
# ext4 disk.  Then boots QEMU (virt, SMMUv3, edu at 00:02.0 = SID 0x10)
# once per mode and judges the serial log with tests/vm/systemd/sysd_check.py.
#   boot     systemd reaches multi-user.target, smmu-khod.service is active
#            with its STATUS= line, then the guest powers off cleanly
#
# Usage: tests/vm/systemd/sysd.sh [--story] [--mode boot|update|kexec|nopreserve]...
#   (default: update kexec nopreserve; --story: update only, then the story
#   of the update as the console showed it and `smmu-khoctl status` after
#   the jump, after the KTAP lines)
# Environment: SKHO_O=<dir> make's O= (default build), SKHO_SYSD_OUT=<dir>
#   (default $SKHO_O/sysd), SKHO_KEEP_LOGS=1 keeps the logs of passing runs,
#   SKHO_SYSD_TIMEOUT=<s> per QEMU run (default 300), SMMU_KHO_CACHE
#   (kernel tree, arm64 sysroot, the base root file system).
# Exit status: 0 if every check passed, 1 otherwise, 2 on bad usage.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
e2e=$root/tests/vm/e2e
obuild=${SKHO_O:-$root/build}
mkdir -p "$obuild"
obuild=$(cd "$obuild" && pwd)
out=${SKHO_SYSD_OUT:-$obuild/sysd}
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
	--mode) modes+=("$2"); shift 2 ;;
	--story) story=1; shift ;;
	-h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "sysd: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ ${#modes[@]} -gt 0 ] || { if [ "${story:-0}" = 1 ]; then modes=(update); else modes=(update kexec nopreserve); fi; }
for m in "${modes[@]}"; do
	case $m in boot|update|kexec|nopreserve) ;; *) echo "sysd: bad mode '$m'" >&2; exit 2 ;; esac
done

# ---- output helpers ---------------------------------------------------------
elapsed() { echo $(( $(date +%s) - t0 )); }
note() { printf '# [%4ds] %s\n' "$(elapsed)" "$*"; }
# result ok|fail NAME DETAIL  (demo mode: only failures are printed)
result() {
	nres=$((nres + 1))
	[ "$1" = ok ] || nfail=$((nfail + 1))
	if [ $demo = 1 ]; then
		case $2 in sysd.build.*) [ "$1" = ok ] && return 0 ;; esac
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
for tool in qemu-system-aarch64 ${CROSS}gcc systemctl python3 timeout make flock mkfs.ext4 e2fsck dumpe2fs depmod dpkg apt-get; do
	command -v "$tool" >/dev/null ||
		{ result fail sysd.build.tools "missing $tool (run tests/setup/apt-deps.sh vm)"; finish; }
done

# ---- builds -----------------------------------------------------------------
if step kernel "$logs/build-kernel.log" "$root/kernel/scripts/build-kernel.sh"; then
	kdir=$(tail -n 1 "$logs/build-kernel.log")
else
	kdir=
fi
image=$kdir/arch/arm64/boot/Image
if [ -n "$kdir" ] && [ -f "$image" ] && [ -x "$kdir/usr/gen_init_cpio" ]; then
	result ok sysd.build.kernel "$image"
else
	result fail sysd.build.kernel "no Image/gen_init_cpio under '$kdir' (see $logs/build-kernel.log)"
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
	result ok sysd.build.smmu_kho_module "$out/smmu_kho/smmu_kho.ko"
else
	result fail sysd.build.smmu_kho_module "see $logs/smmu_kho.log"; finish
fi

mkdir -p "$out/edu_dma"
if step edu_dma.ko "$logs/edu_dma.log" "${KMAKE[@]}" M="$root/tests/vm/edu_dma" MO="$out/edu_dma" modules &&
   [ -f "$out/edu_dma/edu_dma.ko" ]; then
	result ok sysd.build.edu_dma_module "$out/edu_dma/edu_dma.ko"
else
	result fail sysd.build.edu_dma_module "see $logs/edu_dma.log"; finish
fi

# shellcheck disable=SC2317  # run through step()
build_daemon() {
	local sysroot
	sysroot=$("$e2e/fetch-arm64-libs.sh") &&
	make -C "$root" --no-print-directory -j2 O="$obuild" ARM64_SYSROOT="$sysroot" daemon-arm64
}
if step daemon-arm64 "$logs/daemon.log" build_daemon; then
	result ok sysd.build.daemon_arm64_static \
		"$obuild/arm64/daemon/smmu-khod ($(stat -c %s "$obuild/arm64/daemon/smmu-khod") bytes), smmu-khoctl ($(stat -c %s "$obuild/arm64/daemon/smmu-khoctl") bytes)"
else
	result fail sysd.build.daemon_arm64_static "see $logs/daemon.log"; finish
fi

# The smmu-kho part of the guest image is what the operator guide's install
# command puts into a staging DESTDIR: docs/operator-guide.md's host block
# (tests/vm/systemd/doc_commands.py), run in the source tree with this
# run's O=, DESTDIR=<staging>, INSTALL_ARCH=arm64 and the sysroot appended
# (make's later assignments win).  Each command's exit status and output
# go to $out/doc-host.results for doc_commands.py check.
# shellcheck disable=SC2317  # run through step()
doc_install() {
	local sysroot id phase tag expect cmd rc
	sysroot=$("$e2e/fetch-arm64-libs.sh") || return 1
	rm -rf "$out/stage" "$out/doc-host.results"
	python3 "$here/doc_commands.py" list "$root/docs/operator-guide.md" >"$out/doc-commands.tsv" &&
	python3 "$here/doc_commands.py" guest "$root/docs/operator-guide.md" >"$out/doc-commands.guest" ||
		return 1
	# shellcheck disable=SC2034  # tag, expect: judged by doc_commands.py check
	while IFS=$'\t' read -r id phase tag expect cmd; do
		[ "$phase" = host ] || continue
		cmd=${cmd%%#*}
		case $cmd in
		"make install "*) ;;
		*) echo "sysd: the guide's host command is not a make install: $cmd"; return 1 ;;
		esac
		echo "sysd: $cmd  [+ O= DESTDIR=$out/stage INSTALL_ARCH=arm64 ARM64_SYSROOT=]"
		(cd "$root" && bash -c "$cmd O='$obuild' DESTDIR='$out/stage' INSTALL_ARCH=arm64 ARM64_SYSROOT='$sysroot'") \
			>"$out/doc-host.$id.log" 2>&1
		rc=$?
		cat "$out/doc-host.$id.log"
		printf 'HOST\t%s\t%s\n' "$id" "$rc" >>"$out/doc-host.results"
		sed "s/^/OUT\t$id\t/" "$out/doc-host.$id.log" >>"$out/doc-host.results"
		[ "$rc" = 0 ] || return 1
	done <"$out/doc-commands.tsv"
	[ -x "$out/stage/usr/sbin/smmu-khod" ]
}
if step install "$logs/install.log" doc_install; then
	result ok sysd.build.make_install_staging "$out/stage: $(cd "$out/stage" && find . -type f | wc -l) files (the operator guide's make install)"
else
	result fail sysd.build.make_install_staging "see $logs/install.log"; finish
fi


if step skho-edu "$logs/skho-edu.log" ${CROSS}gcc -static -O2 -std=gnu11 -Wall -Wextra -Werror \
	-Wshadow -Wstrict-prototypes -Wmissing-prototypes -I"$root/tests/vm/edu_dma" \
	-o "$out/skho-edu" "$here/guest/skho-edu.c"; then
	result ok sysd.build.skho_edu "$out/skho-edu"
else
	result fail sysd.build.skho_edu "see $logs/skho-edu.log"; finish
fi

# ---- guest root file system ---------------------------------------------------
if step rootfs-base "$logs/rootfs-base.log" "$here/build-rootfs.sh"; then
	base=$(tail -n 1 "$logs/rootfs-base.log")
	result ok sysd.build.rootfs_base "systemd $(cat "$base/.systemd-version") from sid arm64 in $base"
else
	result fail sysd.build.rootfs_base "see $logs/rootfs-base.log"; finish
fi
kver=$(cat "$kdir/include/config/kernel.release")

# shellcheck disable=SC2317  # run through step()
mk_disks() {
	local r=$out/rootfs m
	rm -rf "$r" && cp -a "$base" "$r" || return 1
	# the kernel to kexec into, and this run's modules
	install -D -m 0644 "$image" "$r/boot/Image" &&
	m=$r/usr/lib/modules/$kver/extra &&
	install -D -m 0644 "$out/smmu_kho/smmu_kho.ko" "$m/smmu_kho.ko" &&
	install -D -m 0644 "$out/edu_dma/edu_dma.ko" "$m/edu_dma.ko" &&
	depmod -b "$r" "$kver" &&
	mkdir -p "$r/etc/modules-load.d" &&
	printf 'smmu_kho\nedu_dma\n' > "$r/etc/modules-load.d/smmu-kho.conf" || return 1
	# smmu-khod, smmu-khoctl, units, tmpfiles, sample plan, man pages: the
	# staged make install, overlaid; the units enabled offline in the image
	# (systemctl --root only writes the .wants links below it)
	cp -a "$out/stage/." "$r/" &&
	systemctl --root="$r" enable smmu-khod.socket smmu-khod.service &&
	install -D -m 0644 "$out/doc-commands.guest" "$r/usr/lib/smmu-kho-test/doc-commands" || return 1
	# the test driver, its edu DMA tool, its drop-in generator
	install -D -m 0755 "$here/guest/skho-sysd-drive.sh" "$r/usr/lib/smmu-kho-test/skho-sysd-drive.sh" &&
	install -m 0755 "$here/guest/skho-statedir.sh" "$out/skho-edu" "$r/usr/lib/smmu-kho-test/" &&
	install -D -m 0755 "$here/guest/skho-test-generator" \
		"$r/etc/systemd/system-generators/skho-test-generator" &&
	install -m 0644 "$here/guest/skho-sysd-drive.service" "$r/usr/lib/systemd/system/" &&
	ln -sf /usr/lib/systemd/system/skho-sysd-drive.service "$r/etc/systemd/system/multi-user.target.wants/" || return 1
	rm -f "$out/root.img"
	mkfs.ext4 -q -F -L skho-root -d "$r" "$out/root.img" 768M
}
# mk_state: a fresh, empty state disk (mode 0700 root) for each run.
mk_state() {
	rm -rf "$out/state-empty" "$out/state.img" && mkdir -m 0700 "$out/state-empty" &&
	mkfs.ext4 -q -F -L skho-state -d "$out/state-empty" "$out/state.img" 32M
}
if step disks "$logs/disks.log" mk_disks; then
	result ok sysd.build.disks "$out/root.img (kernel $kver)"
else
	result fail sysd.build.disks "see $logs/disks.log"; finish
fi

# ---- runs -------------------------------------------------------------------
# shellcheck disable=SC2054  # commas inside -M and -drive options
QEMU=(qemu-system-aarch64 -M virt,iommu=smmuv3 -cpu max -m 1G -smp 2 -nographic -nodefaults
      -no-reboot -nic none -device edu,addr=02.0 -device edu,addr=03.0
      -drive if=none,id=root,format=raw,file="$out/root.img" -device virtio-blk-pci,drive=root,addr=04.0
      -drive if=none,id=state,format=raw,file="$out/state.img" -device virtio-blk-pci,drive=state,addr=05.0)
TRACE=(-trace smmuv3_translate_success -trace smmuv3_translate_abort
       -trace smmuv3_translate_disable -trace smmuv3_translate_bypass
       -trace smmuv3_record_event -trace smmuv3_write_mmio -trace pci_cfg_write)

# boot MODE: one QEMU run (kernel 1, and kernel 2 where the mode kexecs).
boot() {
	local mode=$1 t rc serial trace qout
	serial=$logs/$mode.serial.log trace=$logs/$mode.trace.log qout=$logs/$mode.qemu.log
	local tmo=${SKHO_SYSD_TIMEOUT:-300}
	local append="console=ttyAMA0 root=/dev/vda rootfstype=ext4 rw kho=on liveupdate=on"
	append+=" printk.devkmsg=on printk.time=1 panic=-1 skhosd.k=1 skhosd.mode=$mode edu_dma.kernel=1 edu_dma.stage=1"
	mk_state >"$logs/$mode.mkstate.log" 2>&1 || note "$mode: mkfs of the state disk failed"
	t=$(date +%s)
	note "$mode: booting QEMU (timeout ${tmo}s; serial: $serial)"
	timeout -k 5 "$tmo" "${QEMU[@]}" -kernel "$image" -append "$append" \
		-serial "file:$serial" "${TRACE[@]}" -D "$trace" </dev/null >"$qout" 2>&1
	rc=$?
	note "$mode: qemu exited $rc after $(( $(date +%s) - t ))s$([ $rc = 124 ] && echo ' (TIMEOUT)')"
	echo "$rc" > "$logs/$mode.rc"
	# the state disk after the guest powered off: clean?
	{ dumpe2fs -h "$out/state.img" 2>/dev/null | grep -E '^(Filesystem state|Filesystem features):'
	  e2fsck -fn "$out/state.img" >/dev/null 2>&1; echo "e2fsck_rc: $?"; } > "$logs/$mode.statefs"
}

judge() {
	local mode=$1 line verdict name detail failed=0 res arc
	res=$logs/$mode.results
	python3 "$here/sysd_check.py" --mode "$mode" --serial "$logs/$mode.serial.log" \
		--trace "$logs/$mode.trace.log" --qemu-rc "$(cat "$logs/$mode.rc")" \
		--statefs "$logs/$mode.statefs" >"$res" 2>>"$logs/$mode.qemu.log"
	arc=$?
	# update: every command of the operator guide's walkthrough ran, with its outcome
	if [ "$mode" = update ]; then
		python3 "$here/doc_commands.py" check "$root/docs/operator-guide.md" --mode update \
			--serial "$logs/$mode.serial.log" --host-results "$out/doc-host.results" \
			>>"$res" 2>>"$logs/$mode.qemu.log" || arc=$?
	fi
	while IFS=$'\t' read -r line verdict name detail; do
		case $line in
		RESULT) [ "$verdict" = ok ] || failed=1; result "$verdict" "$name" "$detail" ;;
		INFO) echo "# $mode: $verdict" ;;
		esac
	done <"$res"
	if [ $arc != 0 ]; then
		failed=1
		result fail "sysd.$mode.analysis_completes" "sysd_check.py exited $arc (see $logs/$mode.qemu.log)"
	fi
	if [ $failed = 1 ] || [ "${SKHO_KEEP_LOGS:-0}" = 1 ]; then
		note "$mode: logs kept: $logs/$mode.{serial,trace,qemu}.log"
	fi
}

for m in "${modes[@]}"; do
	boot "$m"
	judge "$m"
done
if [ "${story:-0}" = 1 ]; then
	s=$logs/${modes[0]}.serial.log
	echo "# == the live update under systemd, as the console showed it =="
	python3 "$here/sysd_check.py" --print-story "$s" | sed 's/^/# /' || echo "# (incomplete: see $s)"
	echo "# == smmu-khoctl status after the jump (kernel 2) =="
	python3 "$root/tests/vm/e2e/e2e_check.py" --print-output status_after_jump --serial "$s" |
		sed 's/^/# /' || echo "# (no status output: see $s)"
fi
finish
