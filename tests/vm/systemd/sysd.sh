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
H=sysd
# shellcheck source=tests/vm/lib.sh
. "$(dirname "$0")/../lib.sh"
here=$vmlib/systemd
obuild=${SKHO_O:-$root/build}
mkdir -p "$obuild" && obuild=$(cd "$obuild" && pwd)
modes=()

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

vm_setup "${SKHO_SYSD_OUT:-$obuild/sysd}"

# ---- tools and builds -------------------------------------------------------
need_tools qemu-system-aarch64 "${CROSS}gcc" "${CROSS}strip" python3 timeout make flock mkfs.ext4 \
	e2fsck dumpe2fs depmod dpkg apt-get rsync
build_kernel
build_smmu_kho shared
build_kmod "$vmlib/edu_dma" edu_dma edu_dma_module
build_daemon 0 0
built skho-edu skho_edu "$out/skho-edu" "${GUEST_CC[@]}" -o "$out/skho-edu" "$here/guest/skho-edu.c"

# The smmu-kho part of the guest image is what the operator guide's install
# command puts into a staging DESTDIR: docs/operator-guide.md's host block
# (tests/vm/systemd/doc_commands.py), run in the source tree with this
# run's O=, DESTDIR=<staging>, INSTALL_ARCH=arm64 and the sysroot appended
# (make's later assignments win).  Each command's exit status and output
# go to $out/doc-host.results for doc_commands.py check.
# shellcheck disable=SC2317  # run through step()
doc_install() {
	local id phase tag expect cmd rc
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
built install make_install_staging "$out/stage (the operator guide's make install)" doc_install

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
# shellcheck disable=SC2054  # commas inside -drive options
QEMU+=(-drive if=none,id=root,format=raw,file="$out/root.img" -device virtio-blk-pci,drive=root,addr=04.0
       -drive if=none,id=state,format=raw,file="$out/state.img" -device virtio-blk-pci,drive=state,addr=05.0)

# run MODE: one QEMU run (kernel 1, and kernel 2 where the mode kexecs),
# judged by sysd_check.py.
run() {
	local mode=$1 serial=$logs/$1.serial.log trace=$logs/$1.trace.log qout=$logs/$1.qemu.log
	local tmo=${SKHO_SYSD_TIMEOUT:-300}
	local append="console=ttyAMA0 root=/dev/vda rootfstype=ext4 rw kho=on liveupdate=on"
	append+=" printk.devkmsg=on printk.time=1 panic=-1 skhosd.k=1 skhosd.mode=$mode edu_dma.kernel=1 edu_dma.stage=1"
	mk_state >"$logs/$mode.mkstate.log" 2>&1 || note "$mode: mkfs of the state disk failed"
	note "$mode: booting QEMU (timeout ${tmo}s; serial: $serial)"
	qemu_run "$mode" "$tmo" "$qout" "${QEMU[@]}" -kernel "$image" -append "$append" \
		-serial "file:$serial" "${TRACE_DMA[@]}" -D "$trace"
	# the state disk after the guest powered off: clean?
	{ dumpe2fs -h "$out/state.img" 2>/dev/null | grep -E '^(Filesystem state|Filesystem features):'
	  e2fsck -fn "$out/state.img" >/dev/null 2>&1; echo "e2fsck_rc: $?"; } > "$logs/$mode.statefs"
	# update: every command of the operator guide's walkthrough ran, with its outcome
	local docs_ok=1
	if [ "$mode" = update ]; then
		judge "$mode.doc" "" "$qout" "$here/doc_commands.py" check "$root/docs/operator-guide.md" \
			--mode update --serial "$serial" --host-results "$out/doc-host.results" || docs_ok=0
	fi
	if ! judge "$mode" "" "$qout" "$here/sysd_check.py" --mode "$mode" --serial "$serial" \
		--trace "$trace" --qemu-rc "$qemu_rc" --statefs "$logs/$mode.statefs" ||
	   [ $docs_ok = 0 ] || [ "${SKHO_KEEP_LOGS:-0}" = 1 ]; then
		note "$mode: logs kept: $logs/$mode.{serial,trace,qemu}.log"
	fi
}

for m in "${modes[@]}"; do
	run "$m"
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
