# SPDX-License-Identifier: GPL-2.0-only
# tests/vm/e2e/e2e.mk: smmu-khod's real live update in QEMU (make daemon-vm-check) and `make demo`.
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
