# SPDX-License-Identifier: GPL-2.0-only
# Portable core, host build.  The kernel module builds the same .c files
# with kernel/core/env/kernel on its include path instead.
CORE_SRCS := $(wildcard kernel/core/*.c)
CORE_INC := -Ikernel/core -Ikernel/core/env/user
CORE_LIBS := -lfdt

$(O)/san/core/%.o: kernel/core/%.c $(wildcard kernel/core/*.h kernel/core/env/user/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(CORE_INC) -c -o $@ $<
$(O)/opt/core/%.o: kernel/core/%.c $(wildcard kernel/core/*.h kernel/core/env/user/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) $(CORE_INC) -c -o $@ $<

# libskho.a twice: sanitized for tests, optimized for benchmarks.
$(O)/san/libskho.a: $(patsubst kernel/core/%.c,$(O)/san/core/%.o,$(CORE_SRCS))
	@rm -f $@; ar rcs $@ $^
$(O)/opt/libskho.a: $(patsubst kernel/core/%.c,$(O)/opt/core/%.o,$(CORE_SRCS))
	@rm -f $@; ar rcs $@ $^

all: $(O)/san/libskho.a
