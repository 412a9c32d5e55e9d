# SPDX-License-Identifier: GPL-2.0-only
# tests/vm/vm.mk: QEMU arm64 VM harness targets (make vm-check, make vm-bench).
#
# vm-check runs tests/vm/vmtest.sh over VM_SCENARIOS (see its header for the
# scenario syntax) and prints one KTAP line per check; nothing is skipped (a
# missing tool, kernel or smmu_kho.ko fails).  It starts with analyze.py
# --self-test (the witness and trace checks fail on doctored evidence).
# Override, e.g.: make vm-check VM_SCENARIOS=preserve-s2-noncoh-x3
VM_SCENARIOS ?= stock-s1-x3 stock-s2 stock-s1-noncoh \
		preserve-s1-x3 preserve-s2 preserve-s1-noncoh \
		preserve-s1-x3-keep preserve-s1-b1024 preserve-s2-noncoh-hb
# vm-bench: one-update runs of each VM_BENCH_SCENARIOS entry, VM_BENCH_RUNS
# times; prints freeze / adopt / kexec-to-init medians against the stock
# baseline, FDT and preserved bytes, and for the -hb rows the hitless
# hand-back's time and the device blackout across the jump at 1 and 8 edu
# devices.  Never asserts on time.
VM_BENCH_SCENARIOS ?= stock-s1 preserve-s1-b1 preserve-s1-b64 preserve-s1-b1024 \
		      preserve-s2-hb preserve-s2-d8-hb
VM_BENCH_RUNS ?= 3
CHECK_TARGETS += vm-check
.PHONY: vm-deps vm-check vm-bench

vm-deps:
	@tests/setup/apt-deps.sh vm

vm-check: vm-deps
	@SKHO_VM_OUT=$(O)/vm tests/vm/vmtest.sh $(addprefix -s ,$(VM_SCENARIOS))

vm-bench: vm-deps
	@SKHO_VM_OUT=$(O)/vm SKHO_BENCH_RUNS=$(VM_BENCH_RUNS) \
		tests/vm/vmtest.sh --bench $(addprefix -s ,$(VM_BENCH_SCENARIOS))
