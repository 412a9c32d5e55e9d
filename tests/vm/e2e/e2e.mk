# SPDX-License-Identifier: GPL-2.0-only
# tests/vm/e2e/e2e.mk: smmu-khod's real live update in QEMU (make daemon-vm-check), its real-kernel negative controls (make vm-fault-check) and `make demo`.
#
# daemon-vm-check: tests/vm/e2e/e2e.sh builds kernel (+AF_UNIX), smmu_kho.ko,
# edu_dma.ko, the static arm64 smmu-khod/smmu-khoctl and the guest /init,
# runs the update once for real and once as the negative control, and prints
# one KTAP line per check.
# demo: the same setup from scratch (apt packages, kernel, module, daemon),
# then the real live update on the built-in default (edu 00:02.0), progress
# of each long step, and the post-jump `smmu-khoctl status` at the end.
.PHONY: daemon-vm-check
CHECK_TARGETS += daemon-vm-check

daemon-vm-check:
	@tests/setup/apt-deps.sh vm >/dev/null
	@command -v $(PROTOC_C) >/dev/null || tests/setup/apt-deps.sh host >/dev/null
	@SKHO_O=$(O) tests/vm/e2e/e2e.sh

demo:
	@tests/setup/apt-deps.sh all
	@SKHO_O=$(O) tests/vm/e2e/e2e.sh --demo

# vm-fault-check: the real-kernel negative controls (tests/vm/README.md,
# "Real-kernel negative controls"): e2e.sh in fault-S modes with the
# test-only tests/vm/fault/skho_fault.ko and the SKHOD_DEBUG daemon, one
# QEMU run (~6-10 s) per scenario, plus dry runs (nothing injected) that
# the same checks must reject, the daemon's crash points on the real
# backend and a --no-device update.  Own output dir: its initrd differs.
VM_FAULTS := ste_changed_before_recheck ste_changed_after_recheck \
	ste_changed_after_shutdown_check pte_redirected_before_recheck \
	pte_redirected_after_recheck pte_redirected_after_shutdown_check \
	pte_redirected_after_adoption \
	table_desc_outside_ranges fdt_ref_copy_corrupted_after_recheck \
	fdt_ref_copy_corrupted_after_shutdown_check fdt_header_corrupted \
	one_of_two_ste_changed
VM_FAULTS_DRY := pte_redirected_after_recheck one_of_two_ste_changed \
	pte_redirected_after_adoption
# smmu-khod's crash points on the real backend (SKHOD_FAULT=crash:P), and an
# update that preserves no device on purpose.
VM_CRASH_POINTS := update.frozen update.committed recover.adopted finish.released
.PHONY: vm-fault-check
CHECK_TARGETS += vm-fault-check

vm-fault-check:
	@tests/setup/apt-deps.sh vm >/dev/null
	@command -v $(PROTOC_C) >/dev/null || tests/setup/apt-deps.sh host >/dev/null
	@SKHO_O=$(O) SKHO_E2E_OUT=$(O)/e2e-fault tests/vm/e2e/e2e.sh \
		$(addprefix --mode fault-,$(VM_FAULTS)) $(addprefix --mode dry-,$(VM_FAULTS_DRY)) \
		$(addprefix --mode crash-,$(VM_CRASH_POINTS)) --mode nodevice
