# tests/vm/vm.mk: QEMU arm64 VM harness targets (make vm-check, make vm-bench).
#
# vm-check runs tests/vm/vmtest.sh over VM_SCENARIOS (see its header for the
# scenario syntax) and prints one KTAP line per check.  Preserve scenarios
# report their preservation checks as "# SKIP" until kernel/module/Kbuild
# exists.  Override, e.g.: make vm-check VM_SCENARIOS=preserve-s2-noncoh-x3
VM_SCENARIOS ?= stock-s1-x3 stock-s2 stock-s1-noncoh \
		preserve-s1-x3 preserve-s2 preserve-s1-noncoh
CHECK_TARGETS += vm-check
.PHONY: vm-deps vm-check vm-bench

vm-deps:
	@tests/setup/apt-deps.sh vm

vm-check: vm-deps
	@SKHO_VM_OUT=$(O)/vm tests/vm/vmtest.sh $(addprefix -s ,$(VM_SCENARIOS))

# Placeholder benchmark: guest-clock time from the reboot notifier to the
# next kernel's /init over 3 stock live updates.
vm-bench: vm-deps
	@SKHO_VM_OUT=$(O)/vm tests/vm/vmtest.sh --bench
