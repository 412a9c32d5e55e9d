# SPDX-License-Identifier: GPL-2.0-only
# Benchmarks: `make bench` runs every target in BENCH_TARGETS, one after the
# other (never in parallel: they time themselves).  Another fragment adds its
# own with `BENCH_TARGETS += name` and a phony `name:` rule, as CHECK_TARGETS
# works for `make check`.  Benchmarks print figures; they never assert on time.
BENCH_TARGETS += bench-core

BENCH_SRCS := tests/bench/bench_core.c tests/bench/bench_lib.c tests/bench/bench_xxh64.c
BENCH_CORE := $(O)/opt/bench/bench_core

# -O2, no sanitizers: the optimized core and test library (host.mk's rules).
$(BENCH_CORE): $(BENCH_SRCS) tests/bench/bench.h $(HOST_LIB_OPT) $(O)/opt/libskho.a $(HOST_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $(HOST_INC) -Itests/bench -o $@ $(BENCH_SRCS) \
		$(HOST_LIB_OPT) $(O)/opt/libskho.a $(CORE_LIBS)

.PHONY: bench-core
bench-core: $(BENCH_CORE)
	@$(BENCH_CORE)

bench:
	@for t in $(BENCH_TARGETS); do $(MAKE) --no-print-directory $$t || exit 1; done

# Built (not run) by `make all`, so that it cannot rot unnoticed.
all: $(BENCH_CORE)

# smmu-khod: status round trip, RSS, journal commit per phase (fake backend,
# so the test variant build/opt/daemon-test/smmu-khod).
BENCH_TARGETS += bench-daemon
BENCH_DAEMON := $(O)/opt/bench/bench_daemon
$(BENCH_DAEMON): tests/bench/bench_daemon.c tests/daemon/lib/dtest.c $(DTEST_HDRS) \
		 $(DAEMON_OPT_TEST_OBJS) $(O)/opt/tests/lib/ktest.o $(O)/opt/libskho.a \
		 $(O)/opt/daemon-test/smmu-khod $(O)/opt/daemon/smmu-khoctl
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $(DAEMON_SD_CFLAGS) $(DAEMON_TEST_DEFS) $(DAEMON_INC) -Itests/daemon/lib -Itests/host \
		-DSKHOD_BIN='"$(abspath $(O)/opt/daemon-test/smmu-khod)"' \
		-DSKHOCTL_BIN='"$(abspath $(O)/opt/daemon/smmu-khoctl)"' -DSKHO_SRCDIR='"$(abspath .)"' \
		-o $@ tests/bench/bench_daemon.c tests/daemon/lib/dtest.c \
		$(DAEMON_OPT_TEST_OBJS) $(O)/opt/tests/lib/ktest.o $(O)/opt/libskho.a \
		$(DAEMON_LIBS) $(DAEMON_SD_LIBS)
.PHONY: bench-daemon
bench-daemon: $(BENCH_DAEMON)
	@$(BENCH_DAEMON) $(abspath $(O)/opt/daemon-test/smmu-khod)
all: $(BENCH_DAEMON)

# smmu-khod soak: status clients during update cycles, then kill -9 mid-update
# (issue 11).  Prints figures; fails only on an inconsistent journal/restart.
BENCH_TARGETS += bench-soak
BENCH_SOAK := $(O)/opt/bench/bench_soak
$(BENCH_SOAK): tests/bench/bench_soak.c tests/daemon/lib/dtest.c $(DTEST_HDRS) \
	       $(DAEMON_OPT_TEST_OBJS) $(O)/opt/tests/lib/ktest.o $(O)/opt/libskho.a \
	       $(O)/opt/daemon-test/smmu-khod $(O)/opt/daemon/smmu-khoctl
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $(DAEMON_SD_CFLAGS) $(DAEMON_TEST_DEFS) $(DAEMON_INC) -Itests/daemon/lib -Itests/host \
		-DSKHOD_BIN='"$(abspath $(O)/opt/daemon-test/smmu-khod)"' \
		-DSKHOCTL_BIN='"$(abspath $(O)/opt/daemon/smmu-khoctl)"' -DSKHO_SRCDIR='"$(abspath .)"' \
		-o $@ tests/bench/bench_soak.c tests/daemon/lib/dtest.c \
		$(DAEMON_OPT_TEST_OBJS) $(O)/opt/tests/lib/ktest.o $(O)/opt/libskho.a \
		$(DAEMON_LIBS) $(DAEMON_SD_LIBS) -pthread
.PHONY: bench-soak
bench-soak: $(BENCH_SOAK)
	@$(BENCH_SOAK) $(abspath $(O)/opt/daemon-test/smmu-khod) $(abspath $(O)/opt/daemon/smmu-khoctl)
all: $(BENCH_SOAK)
