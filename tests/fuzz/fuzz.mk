# SPDX-License-Identifier: GPL-2.0-only
# libFuzzer targets (Debian clang-14, libclang-rt-14-dev): the handover
# parser + validator on arbitrary FDT + memory, twice:
#   fuzz_handover        user-space path: Debian's libfdt 1.6.1, with
#                        fdt_check_full() after the core's own walk
#   fuzz_handover_kpath  kernel path: the core and fuzz harness built against
#                        the Linux 7.3 tree's own libfdt (scripts/dtc/libfdt,
#                        the files lib/fdt*.c build into the kernel), with the
#                        kernel's code-generation flags; no fdt_check_full()
#                        (the kernel's copy has no fdt_check.c), no -lfdt
#
#   make fuzz-check   smoke run per target from the committed seed corpus
#                     (tests/fuzz/corpus) and the regression inputs
#                     (tests/fuzz/regress), KTAP (in CHECK_TARGETS)
#   make fuzz         each target, one after the other, to FUZZ_RUNS
#                     executions (default 10 M) or FUZZ_SECONDS (default
#                     14400), whichever comes first; prints executions,
#                     exec/s, cov/ft, crashes and timeouts per target
#   make fuzz-merge   minimize seeds + what `make fuzz` found into
#                     tests/fuzz/corpus (libFuzzer -merge=1), to commit
# Any crash, sanitizer report, broken contract or timeout (FUZZ_TIMEOUT s
# per input) fails the run.  tests/fuzz/known would hold inputs of open
# defects (read by no run); none is open.  tests/fuzz/regress keeps the
# fixed ones, e.g. pt-table-aliasing-dag-timeout: a stage-2 table whose
# descriptors point 64 times at the same next-level table, so the digest
# walk visited 262,144 level-3 tables (2.1 s under ASan); the validator now
# refuses a table page reached twice (SKHO_E_PGTABLE) and runs it in 1 ms.  Both targets use the same dictionary:
# tests/fuzz/fdt.dict plus the ABI's strings (gen-dict.sh).  Generated
# seeds (serialized random states) go to $(O)/fuzz/gen-corpus, new inputs
# of a run to $(O)/fuzz/work/<target>, crashes to $(O)/fuzz/artifacts/.
FUZZ_CC ?= clang
FUZZ_RUNS ?= 10000000
FUZZ_SECONDS ?= 14400
FUZZ_TIMEOUT ?= 2
FUZZ_SMOKE_RUNS ?= 100000
FUZZ_SMOKE_SECONDS ?= 20
# Edges the committed corpus alone must cover in the smoke run (it covers
# ~650 in fuzz_handover, ~790 in the kpath target; from the regression
# input alone ~60-80): a floor that fails when the corpus was not loaded.
FUZZ_SMOKE_MIN_COV ?= 400
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=gnu11 -O1 -g $(WARN) $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_INC := $(CORE_INC) -Itests/fuzz

FUZZ_TARGETS := fuzz_handover fuzz_handover_kpath
FUZZ_BINS := $(addprefix $(O)/fuzz/,$(FUZZ_TARGETS))
FUZZ_HDRS := $(wildcard kernel/core/*.h kernel/core/env/user/*.h tests/fuzz/*.h)
FUZZ_DICT := $(O)/fuzz/fdt.dict
FUZZ_SEEDS := tests/fuzz/corpus
FUZZ_REGRESS := tests/fuzz/regress

# ---- user-space path: Debian's libfdt ---------------------------------------
FUZZ_CORE_OBJS := $(patsubst kernel/core/%.c,$(O)/fuzz/core/%.o,$(CORE_SRCS))
FUZZ_COMMON := $(O)/fuzz/fuzz_handover.o $(O)/fuzz/fuzz_input.o

# The core, instrumented for coverage: what the fuzzer explores.
$(O)/fuzz/core/%.o: kernel/core/%.c $(FUZZ_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_INC) -c -o $@ $<
$(O)/fuzz/%.o: tests/fuzz/%.c $(FUZZ_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_INC) -DFZ_LIBFDT='"Debian libfdt (-lfdt), fdt_check_full after the core walk"' -c -o $@ $<
$(O)/fuzz/fuzz_handover: $(FUZZ_COMMON) $(FUZZ_CORE_OBJS)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(CORE_LIBS)

# ---- kernel path: the 7.3 tree's libfdt ------------------------------------
# Copied from the cached tree that kernel/scripts/fetch-source.sh unpacks
# (it downloads the tree when absent and exits non-zero, loudly, when it
# cannot: this target never falls back to Debian's libfdt).  The files are
# those lib/fdt*.c build into the kernel the core links.  The kernel compiles
# them through <linux/libfdt_env.h>, which only maps fdt*_t to __be* and
# INT32_MAX/UINT32_MAX to S32_MAX/U32_MAX: the tree's own user-space
# scripts/dtc/libfdt/libfdt_env.h gives the same semantics.  No
# FDT_ASSUME_MASK (the kernel sets none: every check compiled in).
# FUZZ_KFLAGS are the kernel's flags that change what C code means
# (top-level Makefile of 7.3: KBUILD_CFLAGS).
FUZZ_KLIBFDT := $(O)/fuzz/klibfdt
FUZZ_KLIBFDT_SRCS := fdt fdt_ro fdt_sw fdt_strerror
FUZZ_KFLAGS := -funsigned-char -fno-strict-aliasing -fno-strict-overflow \
	       -fno-delete-null-pointer-checks -fno-common
FUZZ_KINC := -I$(FUZZ_KLIBFDT)/src $(FUZZ_INC)
FUZZ_KCORE_OBJS := $(patsubst kernel/core/%.c,$(O)/fuzz/k/core/%.o,$(filter-out kernel/core/parse.c,$(CORE_SRCS)))
FUZZ_KLIBFDT_OBJS := $(patsubst %,$(O)/fuzz/k/libfdt/%.o,$(FUZZ_KLIBFDT_SRCS))

$(FUZZ_KLIBFDT)/.copied: kernel/scripts/fetch-source.sh
	@rm -rf $(FUZZ_KLIBFDT) && mkdir -p $(FUZZ_KLIBFDT)/src
	@src=$$(kernel/scripts/fetch-source.sh) || { \
		echo "fuzz: kernel/scripts/fetch-source.sh failed: no Linux 7.3 tree, so no kernel libfdt for fuzz_handover_kpath" >&2; exit 1; }; \
	 lf=$$src/scripts/dtc/libfdt; \
	 for f in $(FUZZ_KLIBFDT_SRCS); do test -f "$$lf/$$f.c" || { echo "fuzz: $$lf/$$f.c missing" >&2; exit 1; }; done; \
	 cp "$$lf"/*.c "$$lf"/*.h $(FUZZ_KLIBFDT)/src/ && \
	 ver=$$(sed -n 's/^#define DTC_VERSION "\(.*\)"/\1/p' "$$src/scripts/dtc/version_gen.h" 2>/dev/null); \
	 echo "$$(basename "$$src") scripts/dtc/libfdt ($${ver:-unknown DTC version})" > $(FUZZ_KLIBFDT)/ORIGIN; \
	 echo "fuzz: kernel libfdt from $$lf: $$(cat $(FUZZ_KLIBFDT)/ORIGIN)"
	@touch $@

$(O)/fuzz/k/libfdt/%.o: $(FUZZ_KLIBFDT)/.copied
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=gnu11 -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link $(FUZZ_KFLAGS) \
		-I$(FUZZ_KLIBFDT)/src -c -o $@ $(FUZZ_KLIBFDT)/src/$*.c
$(O)/fuzz/k/core/%.o: kernel/core/%.c $(FUZZ_HDRS) $(FUZZ_KLIBFDT)/.copied
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_KFLAGS) $(FUZZ_KINC) -c -o $@ $<
# parse_kpath.c includes parse.c: rebuild when it changes.
$(O)/fuzz/k/parse_kpath.o: kernel/core/parse.c
$(O)/fuzz/k/%.o: tests/fuzz/%.c $(FUZZ_HDRS) $(FUZZ_KLIBFDT)/.copied
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_KFLAGS) $(FUZZ_KINC) \
		-DFZ_LIBFDT="\"kernel libfdt: $$(cat $(FUZZ_KLIBFDT)/ORIGIN), no fdt_check_full\"" -c -o $@ $<
# No -lfdt: a libfdt symbol the kernel's copy lacks is a link error here.
$(O)/fuzz/fuzz_handover_kpath: $(O)/fuzz/k/fuzz_handover.o $(O)/fuzz/k/fuzz_input.o \
		$(O)/fuzz/k/parse_kpath.o $(FUZZ_KCORE_OBJS) $(FUZZ_KLIBFDT_OBJS)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^
	@if ldd $@ | grep -q libfdt; then echo "fuzz: $@ links a shared libfdt" >&2; rm -f $@; exit 1; fi

# ---- dictionary and seeds ----------------------------------------------------
$(FUZZ_DICT): tests/fuzz/fdt.dict tests/fuzz/gen-dict.sh kernel/core/smmu_kho_abi.h
	@mkdir -p $(dir $@)
	tests/fuzz/gen-dict.sh tests/fuzz/fdt.dict kernel/core/smmu_kho_abi.h > $@.tmp && mv $@.tmp $@

# Generated seeds: uninstrumented generator (-O2 core and test library).
$(O)/opt/fuzz/fuzz_corpus: tests/fuzz/fuzz_corpus.c tests/fuzz/fuzz_input.c \
		tests/fuzz/fuzz_input.h $(HOST_LIB_OPT) $(O)/opt/libskho.a $(HOST_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $(HOST_INC) -Itests/fuzz -o $@ tests/fuzz/fuzz_corpus.c \
		tests/fuzz/fuzz_input.c $(HOST_LIB_OPT) $(O)/opt/libskho.a $(CORE_LIBS)
$(O)/fuzz/gen-corpus/.done: $(O)/opt/fuzz/fuzz_corpus
	@rm -rf $(dir $@) && mkdir -p $(dir $@)
	$< $(dir $@) 32
	@touch $@

.PHONY: fuzz-build fuzz-check fuzz fuzz-merge
fuzz-build: $(FUZZ_BINS) $(FUZZ_DICT) $(O)/fuzz/gen-corpus/.done
# Smoke run: committed minimized corpus + regression inputs, read only.
fuzz-check: fuzz-build
	@FUZZ_FRESH=1 FUZZ_MIN_COV=$(FUZZ_SMOKE_MIN_COV) FUZZ_DICT=$(FUZZ_DICT) \
		FUZZ_TIMEOUT=$(FUZZ_TIMEOUT) tests/fuzz/run-fuzz.sh $(O)/fuzz \
		"-runs=$(FUZZ_SMOKE_RUNS) -max_total_time=$(FUZZ_SMOKE_SECONDS)" \
		"$(FUZZ_SEEDS) $(FUZZ_REGRESS)" $(FUZZ_TARGETS)
fuzz: fuzz-build
	@FUZZ_DICT=$(FUZZ_DICT) FUZZ_TIMEOUT=$(FUZZ_TIMEOUT) FUZZ_RUNS=$(FUZZ_RUNS) \
		tests/fuzz/run-fuzz.sh $(O)/fuzz \
		"-runs=$(FUZZ_RUNS) -max_total_time=$(FUZZ_SECONDS)" \
		"$(FUZZ_SEEDS) $(FUZZ_REGRESS) $(O)/fuzz/gen-corpus" $(FUZZ_TARGETS)
# Minimize into tests/fuzz/corpus: the kernel path first (its libfdt is
# instrumented too), then what the user-space path adds.
fuzz-merge: fuzz-build
	@tests/fuzz/merge-corpus.sh $(O)/fuzz $(FUZZ_SEEDS) \
		$(FUZZ_SEEDS) $(O)/fuzz/gen-corpus $(O)/fuzz/work/fuzz_handover_kpath $(O)/fuzz/work/fuzz_handover
CHECK_TARGETS += fuzz-check
