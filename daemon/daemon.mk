# smmu-khod / smmu-khoctl build, protobuf generation, host tests (make daemon-check).
#
#   build/gen/proto/smmu_kho.pb-c.{c,h}   generated from proto/ (never committed)
#   build/san/daemon/{smmu-khod,smmu-khoctl}       ASan+UBSan, SKHOD_DEBUG invariants
#   build/san/daemon-nosd/smmu-khod                same, without libsystemd (shim fallback)
#   build/opt/daemon/{smmu-khod,smmu-khoctl}       -O2, for the VM
#   build/san/tests/daemon/test_*                  KTAP host tests (tests/daemon/)
#
# Dependencies: libc, libprotobuf-c, libfdt, and libsystemd only behind
# daemon/sd_shim.c (SKHOD_SYSTEMD=0 builds without it, e.g. static arm64).
PROTOC_C ?= protoc-c
SKHOD_SYSTEMD ?= $(shell pkg-config --exists libsystemd 2>/dev/null && echo 1 || echo 0)

DAEMON_GEN := $(O)/gen/proto
DAEMON_PB_C := $(DAEMON_GEN)/smmu_kho.pb-c.c
DAEMON_PB_H := $(DAEMON_GEN)/smmu_kho.pb-c.h
DAEMON_INC := -Idaemon -I$(DAEMON_GEN) -Ikernel/module/uapi $(CORE_INC)
DAEMON_HDRS := $(wildcard daemon/*.h) $(DAEMON_PB_H) kernel/module/uapi/smmu_kho.h \
	       $(wildcard kernel/core/*.h kernel/core/env/user/*.h)
DAEMON_LIBS := -lprotobuf-c $(CORE_LIBS)
ifeq ($(SKHOD_SYSTEMD),1)
DAEMON_SD_CFLAGS := -DSKHOD_HAVE_LIBSYSTEMD
DAEMON_SD_LIBS := -lsystemd
endif

# Objects shared by daemon and tests; khod_main.c and ctl.c hold the mains.
DAEMON_LIB_SRCS := log.c pbutil.c state.c journal.c verify.c recompute.c frame.c ctl_server.c \
		   backend_real.c backend_fake.c khod.c sdbus.c
CTL_LIB_SRCS := log.c pbutil.c state.c frame.c verify.c sdbus.c

$(DAEMON_PB_C) $(DAEMON_PB_H): proto/smmu_kho.proto
	@mkdir -p $(DAEMON_GEN)
	$(PROTOC_C) --proto_path=proto --c_out=$(DAEMON_GEN) $<

# Variant builds: $(1) = output dir, $(2) = CFLAGS, $(3) = sd cflags
define daemon_variant
$(1)/%.o: daemon/%.c $(DAEMON_HDRS)
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) $(3) $$(DAEMON_INC) -c -o $$@ $$<
$(1)/smmu_kho.pb-c.o: $(DAEMON_PB_C) $(DAEMON_PB_H)
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) $$(DAEMON_INC) -c -o $$@ $$<
endef
$(eval $(call daemon_variant,$(O)/san/daemon/obj,$(HOST_CFLAGS) -DSKHOD_DEBUG,$(DAEMON_SD_CFLAGS)))
$(eval $(call daemon_variant,$(O)/san/daemon-nosd/obj,$(HOST_CFLAGS) -DSKHOD_DEBUG,))
$(eval $(call daemon_variant,$(O)/opt/daemon/obj,$(BENCH_CFLAGS),$(DAEMON_SD_CFLAGS)))

DAEMON_SAN_OBJS := $(patsubst %.c,$(O)/san/daemon/obj/%.o,$(DAEMON_LIB_SRCS)) \
		   $(O)/san/daemon/obj/smmu_kho.pb-c.o
DAEMON_SAN_SD := $(O)/san/daemon/obj/sd_shim.o
CTL_SAN_OBJS := $(patsubst %.c,$(O)/san/daemon/obj/%.o,$(CTL_LIB_SRCS)) \
		$(O)/san/daemon/obj/smmu_kho.pb-c.o
DAEMON_OPT_OBJS := $(patsubst %.c,$(O)/opt/daemon/obj/%.o,$(DAEMON_LIB_SRCS) sd_shim.c) \
		   $(O)/opt/daemon/obj/smmu_kho.pb-c.o
CTL_OPT_OBJS := $(patsubst %.c,$(O)/opt/daemon/obj/%.o,$(CTL_LIB_SRCS)) \
		$(O)/opt/daemon/obj/smmu_kho.pb-c.o
DAEMON_NOSD_OBJS := $(patsubst %.c,$(O)/san/daemon-nosd/obj/%.o,$(DAEMON_LIB_SRCS) sd_shim.c \
		     khod_main.c) $(O)/san/daemon-nosd/obj/smmu_kho.pb-c.o

$(O)/san/daemon/smmu-khod: $(O)/san/daemon/obj/khod_main.o $(DAEMON_SAN_OBJS) $(DAEMON_SAN_SD) $(O)/san/libskho.a
	$(CC) -o $@ $^ $(DAEMON_LIBS) $(DAEMON_SD_LIBS) $(HOST_LDFLAGS)
$(O)/san/daemon/smmu-khoctl: $(O)/san/daemon/obj/ctl.o $(CTL_SAN_OBJS)
	$(CC) -o $@ $^ -lprotobuf-c $(HOST_LDFLAGS)
$(O)/san/daemon-nosd/smmu-khod: $(DAEMON_NOSD_OBJS) $(O)/san/libskho.a
	$(CC) -o $@ $^ $(DAEMON_LIBS) $(HOST_LDFLAGS)
$(O)/opt/daemon/smmu-khod: $(O)/opt/daemon/obj/khod_main.o $(DAEMON_OPT_OBJS) $(O)/opt/libskho.a
	$(CC) -o $@ $^ $(DAEMON_LIBS) $(DAEMON_SD_LIBS)
$(O)/opt/daemon/smmu-khoctl: $(O)/opt/daemon/obj/ctl.o $(CTL_OPT_OBJS)
	$(CC) -o $@ $^ -lprotobuf-c

DAEMON_BINS := $(O)/san/daemon/smmu-khod $(O)/san/daemon/smmu-khoctl \
	       $(O)/san/daemon-nosd/smmu-khod
DAEMON_OPT_BINS := $(O)/opt/daemon/smmu-khod $(O)/opt/daemon/smmu-khoctl

# ---- tests/daemon: every test_*.c is one KTAP program ----
DTEST_SRCS := $(wildcard tests/daemon/test_*.c)
DTEST_LIB_SRCS := $(wildcard tests/daemon/lib/*.c)
DTEST_HDRS := $(wildcard tests/daemon/lib/*.h) tests/host/ktest.h
DTESTS := $(patsubst tests/daemon/%.c,$(O)/san/tests/daemon/%,$(DTEST_SRCS))
DTEST_DEFS := -DSKHOD_BIN='"$(abspath $(O)/san/daemon/smmu-khod)"' \
	      -DSKHOD_NOSD_BIN='"$(abspath $(O)/san/daemon-nosd/smmu-khod)"' \
	      -DSKHOCTL_BIN='"$(abspath $(O)/san/daemon/smmu-khoctl)"' \
	      -DSKHO_SRCDIR='"$(abspath .)"'
DTEST_INC := $(DAEMON_INC) -Itests/daemon/lib -Itests/host

$(O)/san/tests/daemon/lib/%.o: tests/daemon/lib/%.c $(DTEST_HDRS) $(DAEMON_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(DTEST_DEFS) $(DTEST_INC) -c -o $@ $<
$(O)/san/tests/daemon/ktest.o: tests/host/lib/ktest.c tests/host/ktest.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -Itests/host -c -o $@ $<
DTEST_LIB_OBJS := $(patsubst tests/daemon/lib/%.c,$(O)/san/tests/daemon/lib/%.o,$(DTEST_LIB_SRCS)) \
		  $(O)/san/tests/daemon/ktest.o

$(O)/san/tests/daemon/test_%: tests/daemon/test_%.c $(DTEST_LIB_OBJS) $(DAEMON_SAN_OBJS) \
			      $(DAEMON_SAN_SD) $(O)/san/libskho.a $(DTEST_HDRS) $(DAEMON_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(DTEST_DEFS) $(DAEMON_SD_CFLAGS) $(DTEST_INC) -o $@ $< \
		$(DTEST_LIB_OBJS) $(DAEMON_SAN_OBJS) $(DAEMON_SAN_SD) $(O)/san/libskho.a \
		$(DAEMON_LIBS) $(DAEMON_SD_LIBS) $(HOST_LDFLAGS)

.PHONY: daemon daemon-check
daemon: $(DAEMON_BINS) $(DAEMON_OPT_BINS)

# Each program prints KTAP; the units check is a shell script printing KTAP.
daemon-check: $(DAEMON_BINS) $(DTESTS)
	@fail=0; for t in $(DTESTS); do $$t || fail=1; done; \
	SKHOD_BIN=$(O)/san/daemon/smmu-khod SKHOCTL_BIN=$(O)/san/daemon/smmu-khoctl \
		tests/daemon/test_units.sh || fail=1; exit $$fail
CHECK_TARGETS += daemon-check
all: $(DAEMON_BINS) $(DAEMON_OPT_BINS)

# ---- static arm64 build for the VM ----
# Needs a sysroot holding the arm64 libfdt.a and libprotobuf-c.a with their
# headers (apt-get download libfdt-dev:arm64 libprotobuf-c-dev:arm64 and
# dpkg -x them into one directory; see /work/shared/FACTS.md):
#   make daemon-arm64 ARM64_SYSROOT=<dir>   ->  build/arm64/daemon/{smmu-khod,smmu-khoctl}
# libsystemd is not needed: the shim speaks the notify protocol itself.
ARM64_CC ?= aarch64-linux-gnu-gcc
ARM64_SYSROOT ?=
ARM64_CFLAGS := -std=gnu11 -O2 -g $(WARN) -DNDEBUG -I$(ARM64_SYSROOT)/usr/include
ARM64_LIBDIR := $(ARM64_SYSROOT)/usr/lib/aarch64-linux-gnu
ARM64_OBJ := $(O)/arm64/daemon/obj
ARM64_DAEMON_OBJS := $(patsubst %.c,$(ARM64_OBJ)/%.o,$(DAEMON_LIB_SRCS) sd_shim.c khod_main.c) \
		     $(ARM64_OBJ)/smmu_kho.pb-c.o \
		     $(patsubst kernel/core/%.c,$(ARM64_OBJ)/core/%.o,$(CORE_SRCS))
ARM64_CTL_OBJS := $(patsubst %.c,$(ARM64_OBJ)/%.o,$(CTL_LIB_SRCS) ctl.c) $(ARM64_OBJ)/smmu_kho.pb-c.o

$(ARM64_OBJ)/%.o: daemon/%.c $(DAEMON_HDRS)
	@mkdir -p $(dir $@)
	$(ARM64_CC) $(ARM64_CFLAGS) $(DAEMON_INC) -c -o $@ $<
$(ARM64_OBJ)/smmu_kho.pb-c.o: $(DAEMON_PB_C) $(DAEMON_PB_H)
	@mkdir -p $(dir $@)
	$(ARM64_CC) $(ARM64_CFLAGS) $(DAEMON_INC) -c -o $@ $<
$(ARM64_OBJ)/core/%.o: kernel/core/%.c $(wildcard kernel/core/*.h kernel/core/env/user/*.h)
	@mkdir -p $(dir $@)
	$(ARM64_CC) $(ARM64_CFLAGS) $(CORE_INC) -c -o $@ $<
$(O)/arm64/daemon/smmu-khod: $(ARM64_DAEMON_OBJS)
	$(ARM64_CC) -static -o $@ $^ -L$(ARM64_LIBDIR) -lprotobuf-c -lfdt
$(O)/arm64/daemon/smmu-khoctl: $(ARM64_CTL_OBJS)
	$(ARM64_CC) -static -o $@ $^ -L$(ARM64_LIBDIR) -lprotobuf-c

.PHONY: daemon-arm64
ifeq ($(ARM64_SYSROOT),)
daemon-arm64:
	@echo "daemon-arm64: set ARM64_SYSROOT to a directory with the arm64 libfdt-dev and libprotobuf-c-dev unpacked (see daemon/daemon.mk)"; exit 1
else
daemon-arm64: $(O)/arm64/daemon/smmu-khod $(O)/arm64/daemon/smmu-khoctl
endif
