# tests/vm/systemd/systemd.mk: smmu-khod under real systemd 262 in QEMU (make systemd-vm-check).
#
# tests/vm/systemd/sysd.sh builds the kernel (+ what systemd needs), the
# modules, the static arm64 daemon and a Debian sid arm64 root file system
# with systemd 262 (tests/vm/systemd/build-rootfs.sh, cached in
# $SMMU_KHO_CACHE), then boots it once per mode (update, kexec, nopreserve)
# and prints one KTAP line per check.  SKHO_SYSD_MODES="boot" (or any
# subset) runs fewer.
# demo-systemd: the `update` mode only, then the story of the update under
# systemd and the post-jump `smmu-khoctl status` (about a minute warm).
.PHONY: systemd-vm-check demo-systemd
CHECK_TARGETS += systemd-vm-check
systemd-vm-check:
	@tests/setup/apt-deps.sh vm >/dev/null
	@command -v $(PROTOC_C) >/dev/null || tests/setup/apt-deps.sh host >/dev/null
	@SKHO_O=$(O) tests/vm/systemd/sysd.sh $(foreach m,$(SKHO_SYSD_MODES),--mode $(m))

demo-systemd:
	@tests/setup/apt-deps.sh all
	@SKHO_O=$(O) tests/vm/systemd/sysd.sh --story
