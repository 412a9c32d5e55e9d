# SPDX-License-Identifier: GPL-2.0-only
# tests/vm/vmm/vmm.mk: make vfio-vm-check, a toy VMM's vfio/iommufd device DMA across a KHO kexec.
#
# Runs tests/vm/vmm/vmm_vmtest.sh over VFIO_VM_MODES (keep: the DMA goes on,
# a refused RELEASE, then a hitless one inside a DMA loop; reset: the
# negative control, smmu_kho.ko keep_bus_master=0, must lose it; reopen:
# the same in kernel 2 only, vfio-pci's open must lose it; break:
# test_break_ms must fail the loop checks; chain: ten updates in one run,
# the pages each hand-back frees, MemFree; keepold: test_keep_old_tables
# must fail the freed-page check) and prints one KTAP line per check.
VFIO_VM_MODES ?= keep reset reopen break chain keepold
CHECK_TARGETS += vfio-vm-check
.PHONY: vfio-vm-check

vfio-vm-check: vm-deps
	@SKHO_VMM_OUT=$(O)/vmm SKHO_O=$(O) tests/vm/vmm/vmm_vmtest.sh $(addprefix --mode ,$(VFIO_VM_MODES))
