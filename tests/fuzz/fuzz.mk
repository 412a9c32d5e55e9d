# SPDX-License-Identifier: GPL-2.0-only
# libFuzzer targets (Debian clang-14, libclang-rt-14-dev): the handover
# parser + validator on arbitrary FDT + memory, once with the user-space
# parse path (fdt_check_full) and once with the kernel's (without it).
#   make fuzz-check   short smoke run per target, KTAP (in CHECK_TARGETS)
#   make fuzz         FUZZ_SECONDS (default 300) per target
# The seed corpus is generated at build time into $(O)/fuzz/corpus; new
# inputs a run finds go to $(O)/fuzz/work/<target>, crashes to
# $(O)/fuzz/artifacts/.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_RUNS ?= 100000
FUZZ_SMOKE_SECONDS ?= 20
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=gnu11 -O1 -g $(WARN) $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_INC := $(CORE_INC) -Itests/fuzz

FUZZ_CORE_OBJS := $(patsubst kernel/core/%.c,$(O)/fuzz/core/%.o,$(CORE_SRCS))
FUZZ_COMMON := $(O)/fuzz/fuzz_handover.o $(O)/fuzz/fuzz_input.o
FUZZ_TARGETS := fuzz_handover fuzz_handover_kpath
FUZZ_BINS := $(addprefix $(O)/fuzz/,$(FUZZ_TARGETS))
FUZZ_HDRS := $(wildcard kernel/core/*.h kernel/core/env/user/*.h tests/fuzz/*.h)

# The core, instrumented for coverage: what the fuzzer explores.
$(O)/fuzz/core/%.o: kernel/core/%.c $(FUZZ_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_INC) -c -o $@ $<
$(O)/fuzz/%.o: tests/fuzz/%.c $(FUZZ_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_INC) -c -o $@ $<
# parse_kpath.c includes parse.c: rebuild when it changes.
$(O)/fuzz/parse_kpath.o: kernel/core/parse.c

$(O)/fuzz/fuzz_handover: $(FUZZ_COMMON) $(FUZZ_CORE_OBJS)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(CORE_LIBS)
$(O)/fuzz/fuzz_handover_kpath: $(FUZZ_COMMON) $(O)/fuzz/parse_kpath.o \
		$(filter-out $(O)/fuzz/core/parse.o,$(FUZZ_CORE_OBJS))
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(CORE_LIBS)

# Seed corpus: uninstrumented generator (-O2 core and test library).
$(O)/opt/fuzz/fuzz_corpus: tests/fuzz/fuzz_corpus.c tests/fuzz/fuzz_input.c \
		tests/fuzz/fuzz_input.h $(HOST_LIB_OPT) $(O)/opt/libskho.a $(HOST_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $(HOST_INC) -Itests/fuzz -o $@ tests/fuzz/fuzz_corpus.c \
		tests/fuzz/fuzz_input.c $(HOST_LIB_OPT) $(O)/opt/libskho.a $(CORE_LIBS)
$(O)/fuzz/corpus/.done: $(O)/opt/fuzz/fuzz_corpus
	@rm -rf $(dir $@) && mkdir -p $(dir $@)
	$< $(dir $@) 32
	@touch $@

.PHONY: fuzz-build fuzz-check fuzz
fuzz-build: $(FUZZ_BINS) $(O)/fuzz/corpus/.done
fuzz-check: fuzz-build
	@tests/fuzz/run-fuzz.sh $(O)/fuzz "-runs=$(FUZZ_SMOKE_RUNS) -max_total_time=$(FUZZ_SMOKE_SECONDS)" $(FUZZ_TARGETS)
fuzz: fuzz-build
	@tests/fuzz/run-fuzz.sh $(O)/fuzz "-max_total_time=$(FUZZ_SECONDS)" $(FUZZ_TARGETS)
CHECK_TARGETS += fuzz-check
