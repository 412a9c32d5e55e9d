# SPDX-License-Identifier: GPL-2.0-only
# smmu-kho: top-level build.  Each area adds its rules in its own fragment:
#   kernel/core/core.mk   portable core library (host build: libskho.a)
#   tests/host/host.mk    host unit + simulation suite
#   tests/fuzz/fuzz.mk    libFuzzer targets
#   tests/bench/bench.mk  benchmarks (make bench), never timed asserts
#   tests/vm/vm.mk        QEMU arm64 VM harness (make vm-check, vm-bench)
#   daemon/daemon.mk      smmu-khod, smmu-khoctl, systemd units, man pages, make install
.DEFAULT_GOAL := all
O ?= build
CC ?= cc
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
HOST_CFLAGS := -std=gnu11 -O1 -g $(WARN) $(SAN)
BENCH_CFLAGS := -std=gnu11 -O2 -g $(WARN) -DNDEBUG
HOST_LDFLAGS := $(SAN)

CHECK_TARGETS :=
.PHONY: all deps check bench demo fuzz clean

# Host packages (idempotent; the apt URI comes from the machine's sources).
deps:
	@tests/setup/apt-deps.sh host

include kernel/core/core.mk
include kernel/kernel.mk
-include tests/host/host.mk
-include tests/host/negative.mk
-include tests/fuzz/fuzz.mk
-include tests/bench/bench.mk
-include tests/vm/vm.mk
-include tests/vm/vmm/vmm.mk
-include daemon/daemon.mk
-include tests/vm/e2e/e2e.mk
-include tests/vm/systemd/systemd.mk

# `make check`: every suite; tests/run-all.sh prints the closing
# "N passed, N failed" line over all of them.
check: deps
	@tests/run-all.sh $(CHECK_TARGETS)

clean:
	rm -rf $(O)
