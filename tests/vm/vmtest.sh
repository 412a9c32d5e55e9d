#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# QEMU arm64 VM harness: edu DMA across real KHO kexecs, judged from guest data and QEMU's SMMU trace.
#
# Builds the kernel (kernel/scripts/build-kernel.sh, incremental), edu_dma.ko
# (tests/vm/edu_dma), smmu_kho.ko when kernel/module/Kbuild exists, the static
# guest /init (tests/vm/guest/init.c) and one gzip'ed initrd holding /init,
# /Image and the modules (the guest kexecs the same Image and, through
# retain_initrd, the same initrd).  Then boots one QEMU virt machine per
# scenario with the SMMUv3, two edu devices (00:02.0 = SID 0x10, the device
# under test; 00:03.0 = SID 0x18, never preserved), the smmuv3_* and
# pci_cfg_write trace events and a QMP socket, on which tests/vm/witness.py
# reads the SMMU registers, stream table, CD tables and page tables from
# outside the guest (after FREEZE and after the jump), and
# turns the guest's SKHOVM lines, the trace and those dumps into one KTAP
# line per check (tests/vm/analyze.py).  First, analyze.py --self-test
# shows that its witness and trace checks fail on doctored evidence.
#
# Usage: tests/vm/vmtest.sh [-s SCENARIO]... [--bench]
#   SCENARIO = MODE-sSTAGE[-noncoh][-xN][-keep][-bB][-dD][-hb]
#     MODE   stock: nothing is preserved (the negative control: what stock
#            7.3 does to DMA across kexec; smmu_kho.ko freezes 00:02.0 to
#            capture its digests, then aborts); preserve: smmu_kho.ko
#            preserves 00:02.0
#     sSTAGE s1: DMA-API buffers in the default stage-1 domain;
#            s2: edu_dma attaches a stage-2 (nest-parent) domain
#     noncoh boot a DTB whose smmuv3 node is dma-noncoherent
#     xN     N live updates in a row (default 1)
#     keep   (preserve) 00:02.0 is not released between updates: kernels
#            2..N re-preserve kernel 1's translation and buffer
#     bB     (preserve, x1) insmod smmu_kho.ko bench_streams=B: B streams
#            preserved (00:02.0's and B-1 copies of its STE at SID 0x1000..)
#     dD     (preserve, x1, D <= 8) D edu devices preserved: 00:02.0 and D-1
#            more QEMU edu devices at 00:04.0.. (their own streams)
#     hb     (preserve, s2, x1) hitless hand-back: in the next kernel each
#            preserved device's edu_dma maps the inherited buffer at its old
#            IOVA in its own new stage-2 domain, and RELEASE goes without
#            REPLACE (must be hitless; timed)
#   Without -s: one scenario from SKHO_PRESERVE=0|1, SKHO_STAGE=1|2,
#   SKHO_NONCOHERENT=0|1, SKHO_REPEAT=N.
#   --bench: run each scenario (default: stock-s1 as the baseline,
#   preserve-s1-b1, -b64, -b1024, preserve-s2-hb, -d8-hb) SKHO_BENCH_RUNS times (default 3,
#   round robin) and
#   print freeze, adopt and kexec-to-init times (guest clock), FDT and
#   preserved bytes as a table of medians, and for -hb scenarios the
#   hand-back time and each device's DMA blackout across the jump (QEMU
#   trace timestamps: QEMU runs with -msg timestamp=on); failed checks are
#   listed, no KTAP, no time is asserted.
# Environment: SKHO_KEEP_LOGS=1 keeps serial and trace logs of passing runs;
#   SKHO_KDIR=<dir> uses an already built kernel tree instead of building;
#   SKHO_VM_OUT=<dir> build/log directory (default build/vm);
#   SKHO_VM_TIMEOUT=<s> per-boot-chain timeout (default 60 + 30 per update,
#   + 2 x SKHO_WITNESS_S per update);
#   SKHO_WITNESS_S=<s> length of each witness window (default 3; the guest
#   sleeps that long while the host dumps; not used by --bench).
# Shared with e2e/e2e.sh and systemd/sysd.sh: tests/vm/lib.sh (KTAP, builds,
# QEMU, checker results).
# Exit status: 0 if every check passed, 1 otherwise (nothing is skipped: a
# missing tool, kernel or module fails its check).
set -uo pipefail
H=vm
bench=0
# shellcheck source=tests/vm/lib.sh
. "$(dirname "$0")/lib.sh"
here=$vmlib
bench_runs=${SKHO_BENCH_RUNS:-3}
scenarios=()

while [ $# -gt 0 ]; do
	case $1 in
	-s) scenarios+=("$2"); shift 2 ;;
	--bench) bench=1; shift ;;
	-h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "vmtest: unknown argument $1" >&2; exit 2 ;;
	esac
done
if [ ${#scenarios[@]} -eq 0 ]; then
	if [ $bench = 1 ]; then
		scenarios=(stock-s1 preserve-s1-b1 preserve-s1-b64 preserve-s1-b1024
			   preserve-s2-hb preserve-s2-d8-hb)
	else
		s=$([ "${SKHO_PRESERVE:-0}" = 1 ] && echo preserve || echo stock)-s${SKHO_STAGE:-1}
		[ "${SKHO_NONCOHERENT:-0}" = 1 ] && s+=-noncoh
		s+=-x${SKHO_REPEAT:-1}
		scenarios=("$s")
	fi
fi

vm_setup "${SKHO_VM_OUT:-$root/build/vm}"
wwin=${SKHO_WITNESS_S:-3}

# ---- scenarios --------------------------------------------------------------
# parse SPEC -> S_MODE S_STAGE S_NONCOH S_N S_KEEP S_BENCH S_NAME; returns 1
# if malformed.  A new scenario flag: a token here, a skho.* word in
# run_scenario's command line, an analyze.py option, and checks in its plan.
parse() {
	local tok
	S_MODE=stock S_STAGE=1 S_NONCOH=0 S_N=1 S_KEEP=0 S_BENCH=0 S_DEVS=1 S_HB=0
	for tok in ${1//-/ }; do
		case $tok in
		stock|preserve) S_MODE=$tok ;;
		s1|s2) S_STAGE=${tok#s} ;;
		noncoh) S_NONCOH=1 ;;
		coh) S_NONCOH=0 ;;
		x[1-9]|x[1-9][0-9]) S_N=${tok#x} ;;
		keep) S_KEEP=1 ;;
		b[1-9]|b[1-9][0-9]|b[1-9][0-9][0-9]|b[1-9][0-9][0-9][0-9]) S_BENCH=${tok#b} ;;
		d[1-8]) S_DEVS=${tok#d} ;;
		hb) S_HB=1 ;;
		*) return 1 ;;
		esac
	done
	# keep and bB are about what is preserved; the benchmark copies of an
	# update stay adopted in the next kernel, where the module cannot copy
	# to their SIDs again (EBUSY): bB runs one update.
	if [ $S_MODE != preserve ] && { [ $S_KEEP = 1 ] || [ $S_BENCH != 0 ]; }; then
		return 1
	fi
	[ $S_BENCH = 0 ] || [ "$S_N" = 1 ] || return 1
	[ $S_KEEP = 0 ] || [ "$S_N" -gt 1 ] || return 1
	# dD and hb: one update of preserved devices, no keep or copies; hb
	# maps the inherited buffer in a driver-managed stage-2 domain.
	if [ $S_DEVS != 1 ] || [ $S_HB = 1 ]; then
		[ $S_MODE = preserve ] && [ "$S_N" = 1 ] && [ $S_KEEP = 0 ] && [ $S_BENCH = 0 ] ||
			return 1
	fi
	[ $S_HB = 0 ] || [ $S_STAGE = 2 ] || return 1
	S_NAME=$S_MODE-s$S_STAGE
	[ $S_NONCOH = 1 ] && S_NAME+=-noncoh
	[ "$S_N" -gt 1 ] && S_NAME+=-x$S_N
	[ $S_KEEP = 1 ] && S_NAME+=-keep
	[ $S_BENCH = 0 ] || S_NAME+=-b$S_BENCH
	[ $S_DEVS = 1 ] || S_NAME+=-d$S_DEVS
	[ $S_HB = 0 ] || S_NAME+=-hb
	return 0
}
need_noncoh=0
for s in "${scenarios[@]}"; do
	if ! parse "$s"; then echo "vmtest: bad scenario '$s'" >&2; exit 2; fi
	[ $S_NONCOH = 1 ] && need_noncoh=1
done

# ---- the analyzer's own negative controls ----------------------------------
# Doctored dumps and traces (one STE byte flipped, CR0 writes dropped, a
# dump outside its window, ...) must fail the checks that judge them.
if [ $bench = 0 ]; then
	if python3 "$here/analyze.py" --self-test >"$logs/self-test.log" 2>&1; then
		result ok vm.analyze_self_test "$(tail -n 1 "$logs/self-test.log")"
	else
		result fail vm.analyze_self_test "see $logs/self-test.log"
		sed 's/^/#   | /' "$logs/self-test.log" | tail -n 20
	fi
fi

# ---- tools and builds -------------------------------------------------------
need_tools qemu-system-aarch64 "${CROSS}gcc" gzip python3 timeout rsync
[ $need_noncoh = 0 ] || need_tools dtc
build_kernel
build_kmod "$here/edu_dma" edu_dma edu_dma_module
# smmu_kho.ko: preserve scenarios need it, stock ones use it for the
# negative control of the STE checks.  Without it the run fails.
build_smmu_kho
smmu_kho_ko=$out/smmu_kho/smmu_kho.ko
built guest-init guest_init "$out/init" \
	"${GUEST_CC[@]}" -o "$out/init" "$here/guest/init.c"
# One initrd for the whole chain: the guest kexecs the same Image and,
# through retain_initrd, the same initrd.
build_initrd 6 /init="$out/init:0755" /Image="$image" /lib/edu_dma.ko="$out/edu_dma/edu_dma.ko" \
	/lib/smmu_kho.ko="$smmu_kho_ko"

# Non-coherent SMMU: the board's own DT with dma-noncoherent in the smmuv3
# node (the root carries dma-coherent, so only adding the property works).
mk_dtb() {
	local m=${QEMU[2]}
	"${QEMU[@]:0:2}" "$m,dumpdtb=$out/virt.dtb" "${QEMU[@]:3}" &&
	dtc -q -I dtb -O dts -o "$out/virt.dts" "$out/virt.dtb" &&
	grep -q 'smmuv3@9050000 {' "$out/virt.dts" &&
	# In the node: drop dma-coherent (it wins over dma-noncoherent) and add
	# dma-noncoherent (a parent may carry dma-coherent).
	sed '/smmuv3@9050000 {/,/};/{/dma-coherent;/d}; /smmuv3@9050000 {/a\		dma-noncoherent;' \
		"$out/virt.dts" > "$out/virt-noncoh.dts" &&
	dtc -q -I dts -O dtb -o "$out/virt-noncoh.dtb" "$out/virt-noncoh.dts" &&
	dtc -q -I dtb -O dts "$out/virt-noncoh.dtb" | sed -n '/smmuv3@9050000 {/,/};/p' > "$out/smmu-node.dts" &&
	grep -q 'dma-noncoherent;' "$out/smmu-node.dts" && ! grep -q 'dma-coherent;' "$out/smmu-node.dts"
}
if [ $need_noncoh = 1 ]; then
	if step noncoherent-dtb "$logs/dtb.log" mk_dtb; then
		result ok vm.build.noncoherent_dtb "$out/virt-noncoh.dtb"
	else
		result fail vm.build.noncoherent_dtb "see $logs/dtb.log"; need_noncoh=failed
	fi
fi

# ---- runs -------------------------------------------------------------------
# run_scenario SPEC [RUN]: one QEMU boot chain; RUN numbers repeated bench runs.
run_scenario() {
	local spec=$1 run=${2:-} serial trace qout tmo append failed=0
	local qmp wdir wpid wit=0 extra=() d
	parse "$spec"
	local tag=vm.$S_NAME base=$logs/$S_NAME${run:+.r$run}
	if [ $S_NONCOH = 1 ] && [ $need_noncoh != 1 ]; then
		result fail "$tag.boot_reaches_init" "no non-coherent DTB"; return 0
	fi
	serial=$base.serial.log trace=$base.trace.log qout=$base.qemu.log wdir=$base.witness
	# The outside witness, outside --bench (it adds 2 windows of $wwin s per
	# update and would distort the timings); in stock runs it must find
	# 00:02.0's frozen STE gone after the jump (its negative control).
	[ $bench = 0 ] && wit=$wwin
	tmo=${SKHO_VM_TIMEOUT:-$((60 + 30 * S_N + S_BENCH / 32 + 2 * wit * S_N + 10 * S_DEVS))}
	append="console=ttyAMA0 kho=on liveupdate=on retain_initrd printk.devkmsg=on printk.time=1"
	append+=" panic=-1"
	append+=" skho.k=1 skho.n=$S_N skho.stage=$S_STAGE skho.noncoh=$S_NONCOH"
	[ $S_MODE = preserve ] && append+=" skho.preserve=1"
	[ $S_KEEP = 1 ] && append+=" skho.keep=1"
	[ $S_BENCH = 0 ] || append+=" skho.bench=$S_BENCH"
	[ $S_DEVS = 1 ] || append+=" skho.devs=$S_DEVS"
	[ $S_HB = 0 ] || append+=" skho.handback=1"
	# dD: the extra edu devices, at 00:04.0.. (00:03.0 is the probe)
	for ((d = 1; d < S_DEVS; d++)); do
		extra+=(-device "edu,addr=$(printf '%02x' $((d + 3))).0")
	done
	# vm-bench: trace lines carry the host time (the device's blackout)
	[ $bench = 0 ] || extra+=(-msg timestamp=on)
	[ $wit = 0 ] || append+=" skho.witness=$wit"
	local dtb=()
	[ $S_NONCOH = 1 ] && dtb=(-dtb "$out/virt-noncoh.dtb")
	# A short path: a unix socket's name has at most 107 bytes.
	qmp=$(mktemp -u "${TMPDIR:-/tmp}/skho-qmp.XXXXXX")
	rm -rf "$wdir"
	: >"$serial"
	note "$S_NAME${run:+ run $run}: booting ($S_N live update(s), timeout ${tmo}s; serial: $serial, trace: $trace)"
	wpid=
	if [ $wit != 0 ]; then
		python3 "$here/witness.py" watch --qmp "$qmp" --serial "$serial" --trace "$trace" \
			--out "$wdir" >"$base.witness.log" 2>&1 &
		wpid=$!
	fi
	qemu_run "$S_NAME" "$tmo" "$qout" "${QEMU[@]}" -kernel "$image" -initrd "$out/initrd.gz" \
		"${dtb[@]}" "${extra[@]}" -append "$append" -serial "file:$serial" \
		-qmp "unix:$qmp,server=on,wait=off" \
		-trace 'smmuv3_*' -trace pci_cfg_write -D "$trace" -d guest_errors
	if [ -n "$wpid" ]; then
		# QEMU is gone, so its socket is closed: the watcher ends on its own.
		timeout 10 tail --pid="$wpid" -f /dev/null || kill "$wpid" 2>/dev/null
		wait "$wpid" 2>/dev/null
		cat "$base.witness.log" >>"$qout"
	fi
	rm -f "$qmp"
	judge "$S_NAME${run:+.r$run}" "$tag." "$qout" "$here/analyze.py" --serial "$serial" --trace "$trace" \
		--updates "$S_N" --stage "$S_STAGE" \
		--preserve "$([ $S_MODE = preserve ] && echo 1 || echo 0)" \
		--keep "$S_KEEP" --bench-streams "$S_BENCH" --smmu-kho 1 \
		--witness "$(if [ $wit != 0 ]; then echo "$wdir"; elif [ $bench = 1 ]; then echo -; fi)" \
		--scenario "$S_NAME" --qemu-rc "$qemu_rc" || failed=1
	if [ $bench = 1 ]; then
		# A run whose checks failed measured something else: left out.
		if [ $failed = 1 ]; then
			nfail=$((nfail + 1))
			echo "# bench: $S_NAME${run:+ run $run}: checks failed, its figures are left out"
		elif [ ${#bench_rows[@]} -gt 0 ]; then
			printf '%s\n' "${bench_rows[@]}" >> "$logs/bench.jsonl"
		fi
	fi
	if [ $failed = 1 ] || [ "${SKHO_KEEP_LOGS:-0}" = 1 ]; then
		note "$S_NAME: logs kept: serial $serial, trace $trace, qemu $qout${wpid:+, witness $wdir}"
	else
		rm -rf "$serial" "$trace" "$qout" "$wdir" "$base.witness.log"
	fi
}

if [ $bench = 1 ]; then
	: > "$logs/bench.jsonl"
	# Round robin: a slow spell of the shared host hits every row alike.
	for r in $(seq 1 "$bench_runs"); do
		for s in "${scenarios[@]}"; do
			run_scenario "$s" "$r"
		done
	done
	python3 "$here/analyze.py" --bench-report "$logs/bench.jsonl"
	[ "${SKHO_KEEP_LOGS:-0}" = 1 ] || [ $nfail != 0 ] || rm -f "$logs/bench.jsonl"
else
	for s in "${scenarios[@]}"; do
		run_scenario "$s"
	done
fi
finish
