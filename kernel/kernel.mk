# SPDX-License-Identifier: GPL-2.0-only
# Kernel side: patched 7.3 build, smmu_kho.ko, checkpatch (KTAP).
.PHONY: kernel module kernel-check
kernel:
	@tests/setup/apt-deps.sh vm >/dev/null && kernel/scripts/build-kernel.sh
module:
	@tests/setup/apt-deps.sh vm >/dev/null && kernel/scripts/build-module.sh
kernel-check:
	@tests/setup/apt-deps.sh vm >/dev/null && kernel/scripts/kernel-check.sh
CHECK_TARGETS += kernel-check
