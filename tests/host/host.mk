# SPDX-License-Identifier: GPL-2.0-only
# Host suite: every tests/host/test_*.c is one KTAP program linked with
# tests/host/lib/*.c and the sanitized core.  Add a test by adding a file.
HOST_TEST_SRCS := $(wildcard tests/host/test_*.c)
HOST_LIB_SRCS := $(wildcard tests/host/lib/*.c)
HOST_INC := $(CORE_INC) -Itests/host -Itests/host/lib
HOST_HDRS := $(wildcard kernel/core/*.h kernel/core/env/user/*.h tests/host/*.h tests/host/lib/*.h)
HOST_TESTS := $(patsubst tests/host/%.c,$(O)/san/tests/%,$(HOST_TEST_SRCS))

$(O)/san/tests/lib/%.o: tests/host/lib/%.c $(HOST_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(HOST_INC) -c -o $@ $<
$(O)/opt/tests/lib/%.o: tests/host/lib/%.c $(HOST_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $(HOST_INC) -c -o $@ $<
HOST_LIB_SAN := $(patsubst tests/host/lib/%.c,$(O)/san/tests/lib/%.o,$(HOST_LIB_SRCS))
HOST_LIB_OPT := $(patsubst tests/host/lib/%.c,$(O)/opt/tests/lib/%.o,$(HOST_LIB_SRCS))
# Keep the library objects: they are inputs of every test program.
.SECONDARY: $(HOST_LIB_SAN) $(HOST_LIB_OPT)

$(O)/san/tests/test_%: tests/host/test_%.c $(HOST_LIB_SAN) $(O)/san/libskho.a $(HOST_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(HOST_INC) -o $@ $< $(HOST_LIB_SAN) $(O)/san/libskho.a $(CORE_LIBS) $(HOST_LDFLAGS)

.PHONY: host-check
host-check: $(HOST_TESTS)
	@fail=0; for t in $(HOST_TESTS); do $$t || fail=1; done; exit $$fail
CHECK_TARGETS += host-check
all: $(HOST_TESTS)
