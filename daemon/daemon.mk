# SPDX-License-Identifier: GPL-2.0-only
# smmu-khod / smmu-khoctl build, protobuf generation, host tests (make daemon-check), make install.
#
#   build/gen/proto/smmu_kho.pb-c.{c,h}   generated from proto/ (never committed)
#   build/opt/daemon/{smmu-khod,smmu-khoctl}       the product, -O2
#   build/arm64/daemon/{smmu-khod,smmu-khoctl}     the product, static arm64 (make daemon-arm64)
#   build/san/daemon-test/smmu-khod                test variant: ASan+UBSan, SKHOD_DEBUG
#                                                  invariants, crash points, fake backend
#   build/san/daemon-test-nosd/smmu-khod           same, without libsystemd (shim fallback)
#   build/san/daemon/smmu-khoctl                   ASan+UBSan client for the tests
#   build/opt/daemon-test/smmu-khod                test variant, -O2 (benches)
#   build/arm64-test/daemon/smmu-khod              test variant, static arm64 (make daemon-arm64-test)
#   build/san/tests/daemon/test_*                  KTAP host tests (tests/daemon/)
#
# Dependencies: libc, libprotobuf-c, libfdt, libjson-c (smmu-khoctl), and
# libsystemd only behind daemon/sd_shim.c (SKHOD_SYSTEMD=0 builds without
# it, e.g. static arm64).
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

# The daemon core, shared by the product and the test variants; khod_main.c
# and ctl.c hold the mains.  The product selects its backend with
# backend_open.c ("real" only).  Test variants (-DSKHOD_TEST_HOOKS: crash
# points compiled in) link tests/daemon/fake/ instead: the fake kernel,
# $SKHOD_FAULT on the real backend, the crash-point hook and a backend_open.c
# that knows both.  The product never contains them (daemon-product-check).
DAEMON_LIB_SRCS := log.c io.c pbutil.c state.c journal.c verify.c recompute.c frame.c ctl_server.c \
		   backend_real.c transition.c luo.c response.c plan.c select.c snapshot_check.c \
		   operations.c verify_run.c recovery.c sdbus.c
DAEMON_PRODUCT_SRCS := backend_open.c
DAEMON_TEST_SRCS := $(notdir $(wildcard tests/daemon/fake/*.c))
DAEMON_TEST_HDRS := $(wildcard tests/daemon/fake/*.h)
CTL_LIB_SRCS := log.c io.c pbutil.c state.c frame.c verify.c ctl_json.c sdbus.c
DAEMON_TEST_DEFS := -DSKHOD_TEST_HOOKS -Itests/daemon/fake
CTL_JSON_LIBS := -ljson-c

$(DAEMON_PB_C) $(DAEMON_PB_H): proto/smmu_kho.proto
	@mkdir -p $(DAEMON_GEN)
	$(PROTOC_C) --proto_path=proto --c_out=$(DAEMON_GEN) $<

# Variant builds: $(1) = output dir, $(2) = CFLAGS, $(3) = sd cflags
define daemon_variant
$(1)/%.o: daemon/%.c $(DAEMON_HDRS)
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) $(3) $$(DAEMON_INC) -c -o $$@ $$<
$(1)/fake/%.o: tests/daemon/fake/%.c $(DAEMON_HDRS) $(DAEMON_TEST_HDRS)
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) $(3) $$(DAEMON_INC) -c -o $$@ $$<
$(1)/smmu_kho.pb-c.o: $(DAEMON_PB_C) $(DAEMON_PB_H)
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) $$(DAEMON_INC) -c -o $$@ $$<
endef
# Test variants (host tests, benches): ASan+UBSan with invariant checks; -O2.
$(eval $(call daemon_variant,$(O)/san/daemon-test/obj,$(HOST_CFLAGS) -DSKHOD_DEBUG $(DAEMON_TEST_DEFS),$(DAEMON_SD_CFLAGS)))
$(eval $(call daemon_variant,$(O)/san/daemon-test-nosd/obj,$(HOST_CFLAGS) -DSKHOD_DEBUG $(DAEMON_TEST_DEFS),))
$(eval $(call daemon_variant,$(O)/opt/daemon-test/obj,$(BENCH_CFLAGS) $(DAEMON_TEST_DEFS),$(DAEMON_SD_CFLAGS)))
# The product.
$(eval $(call daemon_variant,$(O)/opt/daemon/obj,$(BENCH_CFLAGS),$(DAEMON_SD_CFLAGS)))

# $(call daemon_objs,objdir,srcs): the core, the test parts, the generated protobuf.
daemon_objs = $(patsubst %.c,$(1)/%.o,$(2)) $(patsubst %.c,$(1)/fake/%.o,$(3)) $(1)/smmu_kho.pb-c.o

DAEMON_SAN_OBJS := $(call daemon_objs,$(O)/san/daemon-test/obj,$(DAEMON_LIB_SRCS),$(DAEMON_TEST_SRCS))
DAEMON_SAN_SD := $(O)/san/daemon-test/obj/sd_shim.o
CTL_SAN_OBJS := $(call daemon_objs,$(O)/san/daemon-test/obj,$(CTL_LIB_SRCS),)
DAEMON_NOSD_OBJS := $(call daemon_objs,$(O)/san/daemon-test-nosd/obj,$(DAEMON_LIB_SRCS) sd_shim.c \
		     khod_main.c,$(DAEMON_TEST_SRCS))
DAEMON_OPT_TEST_OBJS := $(call daemon_objs,$(O)/opt/daemon-test/obj,$(DAEMON_LIB_SRCS) sd_shim.c,\
			$(DAEMON_TEST_SRCS))
DAEMON_OPT_OBJS := $(call daemon_objs,$(O)/opt/daemon/obj,$(DAEMON_LIB_SRCS) sd_shim.c \
		   $(DAEMON_PRODUCT_SRCS),)
CTL_OPT_OBJS := $(call daemon_objs,$(O)/opt/daemon/obj,$(CTL_LIB_SRCS),)

# Test variants of smmu-khod: the tests run these (--backend fake:DIR).
$(O)/san/daemon-test/smmu-khod: $(O)/san/daemon-test/obj/khod_main.o $(DAEMON_SAN_OBJS) $(DAEMON_SAN_SD) \
				$(O)/san/libskho.a
	$(CC) -o $@ $^ $(DAEMON_LIBS) $(DAEMON_SD_LIBS) $(HOST_LDFLAGS)
$(O)/san/daemon-test-nosd/smmu-khod: $(DAEMON_NOSD_OBJS) $(O)/san/libskho.a
	$(CC) -o $@ $^ $(DAEMON_LIBS) $(HOST_LDFLAGS)
$(O)/opt/daemon-test/smmu-khod: $(O)/opt/daemon-test/obj/khod_main.o $(DAEMON_OPT_TEST_OBJS) $(O)/opt/libskho.a
	$(CC) -o $@ $^ $(DAEMON_LIBS) $(DAEMON_SD_LIBS)
$(O)/san/daemon/smmu-khoctl: $(O)/san/daemon-test/obj/ctl.o $(CTL_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(CTL_JSON_LIBS) -lprotobuf-c $(HOST_LDFLAGS)
# The product.
$(O)/opt/daemon/smmu-khod: $(O)/opt/daemon/obj/khod_main.o $(DAEMON_OPT_OBJS) $(O)/opt/libskho.a
	$(CC) -o $@ $^ $(DAEMON_LIBS) $(DAEMON_SD_LIBS)
$(O)/opt/daemon/smmu-khoctl: $(O)/opt/daemon/obj/ctl.o $(CTL_OPT_OBJS)
	$(CC) -o $@ $^ $(CTL_JSON_LIBS) -lprotobuf-c

SKHOD_TEST_BIN := $(O)/san/daemon-test/smmu-khod
SKHOD_TEST_NOSD_BIN := $(O)/san/daemon-test-nosd/smmu-khod
SKHOCTL_SAN_BIN := $(O)/san/daemon/smmu-khoctl
DAEMON_BINS := $(SKHOD_TEST_BIN) $(SKHOD_TEST_NOSD_BIN) $(SKHOCTL_SAN_BIN)
DAEMON_OPT_BINS := $(O)/opt/daemon/smmu-khod $(O)/opt/daemon/smmu-khoctl

# ---- tests/daemon: every test_*.c is one KTAP program ----
DTEST_SRCS := $(wildcard tests/daemon/test_*.c)
DTEST_LIB_SRCS := $(wildcard tests/daemon/lib/*.c)
DTEST_HDRS := $(wildcard tests/daemon/lib/*.h) tests/host/ktest.h $(DAEMON_TEST_HDRS)
DTESTS := $(patsubst tests/daemon/%.c,$(O)/san/tests/daemon/%,$(DTEST_SRCS))
DTEST_DEFS := -DSKHOD_BIN='"$(abspath $(SKHOD_TEST_BIN))"' \
	      -DSKHOD_NOSD_BIN='"$(abspath $(SKHOD_TEST_NOSD_BIN))"' \
	      -DSKHOCTL_BIN='"$(abspath $(SKHOCTL_SAN_BIN))"' \
	      -DSKHO_SRCDIR='"$(abspath .)"'
DTEST_INC := $(DAEMON_INC) -Itests/daemon/lib -Itests/daemon/fake -Itests/host

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
	$(CC) $(HOST_CFLAGS) $(DTEST_DEFS) $(DAEMON_SD_CFLAGS) $(DAEMON_TEST_DEFS) $(DTEST_INC) -o $@ $< \
		$(DTEST_LIB_OBJS) $(DAEMON_SAN_OBJS) $(DAEMON_SAN_SD) $(O)/san/libskho.a \
		$(DAEMON_LIBS) $(DAEMON_SD_LIBS) $(CTL_JSON_LIBS) $(HOST_LDFLAGS)

# ---- the product holds no test code ----
# tests/daemon/test_product.sh: nm of each product smmu-khod (the -O2 one,
# and the static arm64 one when it was built) lists no test-only symbol.
SKHOD_PRODUCT_BINS = $(O)/opt/daemon/smmu-khod $(wildcard $(O)/arm64/daemon/smmu-khod)
.PHONY: daemon-product-check
daemon-product-check: $(O)/opt/daemon/smmu-khod
	@tests/daemon/test_product.sh $(SKHOD_PRODUCT_BINS)

.PHONY: daemon daemon-check
daemon: $(DAEMON_BINS) $(DAEMON_OPT_BINS)

# Each program prints KTAP; the units and `make install` checks are shell
# scripts printing KTAP.
daemon-check: $(DAEMON_BINS) $(DTESTS) $(DAEMON_OPT_BINS)
	@fail=0; for t in $(DTESTS); do $$t || fail=1; done; \
	O=$(O) MAKE="$(MAKE)" tests/daemon/test_install.sh || fail=1; \
	SKHOD_BIN=$(SKHOD_TEST_BIN) SKHOCTL_BIN=$(SKHOCTL_SAN_BIN) \
		tests/daemon/test_units.sh || fail=1; \
	tests/daemon/test_product.sh $(SKHOD_PRODUCT_BINS) || fail=1; exit $$fail
CHECK_TARGETS += daemon-check
all: $(DAEMON_BINS) $(DAEMON_OPT_BINS)

# ---- static arm64 build for the VM ----
# Needs a sysroot holding the arm64 libfdt.a, libprotobuf-c.a and libjson-c.a
# with their headers (tests/vm/e2e/fetch-arm64-libs.sh fetches and unpacks
# them into $SMMU_KHO_CACHE/sysroot-arm64; see /work/shared/FACTS.md):
#   make daemon-arm64 ARM64_SYSROOT=<dir>
#       the product  ->  build/arm64/daemon/{smmu-khod,smmu-khoctl}
#   make daemon-arm64-test ARM64_SYSROOT=<dir>
#       the test variant for the VM's fault runs: crash points compiled in
#       (-DSKHOD_TEST_HOOKS), tests/daemon/fake linked in, so $SKHOD_FAULT
#       (abort-before-jump, crash:<point>) works as before
#                    ->  build/arm64-test/daemon/smmu-khod
#   make daemon-arm64 ARM64_DEBUG=1 ARM64_SYSROOT=<dir>
#       the test variant with SKHOD_DEBUG invariant checks and asserts on (a
#       violated invariant aborts), for the VM fault runs
#                    ->  build/arm64-debug/daemon/{smmu-khod,smmu-khoctl}
# libsystemd is not needed: the shim speaks the notify protocol itself.
ARM64_CC ?= aarch64-linux-gnu-gcc
ARM64_SYSROOT ?=
ARM64_DEBUG ?= 0
ARM64_CFLAGS := -std=gnu11 -O2 -g $(WARN) -I$(ARM64_SYSROOT)/usr/include
ARM64_LIBDIR := $(ARM64_SYSROOT)/usr/lib/aarch64-linux-gnu

# $(1) = output dir, $(2) = extra CFLAGS, $(3) = tests/daemon/fake sources
define daemon_arm64
$(1)/obj/%.o: daemon/%.c $$(DAEMON_HDRS)
	@mkdir -p $$(dir $$@)
	$$(ARM64_CC) $$(ARM64_CFLAGS) $(2) $$(DAEMON_INC) -c -o $$@ $$<
$(1)/obj/fake/%.o: tests/daemon/fake/%.c $$(DAEMON_HDRS) $$(DAEMON_TEST_HDRS)
	@mkdir -p $$(dir $$@)
	$$(ARM64_CC) $$(ARM64_CFLAGS) $(2) $$(DAEMON_INC) -c -o $$@ $$<
$(1)/obj/smmu_kho.pb-c.o: $$(DAEMON_PB_C) $$(DAEMON_PB_H)
	@mkdir -p $$(dir $$@)
	$$(ARM64_CC) $$(ARM64_CFLAGS) $(2) $$(DAEMON_INC) -c -o $$@ $$<
$(1)/obj/core/%.o: kernel/core/%.c $$(wildcard kernel/core/*.h kernel/core/env/user/*.h)
	@mkdir -p $$(dir $$@)
	$$(ARM64_CC) $$(ARM64_CFLAGS) $(2) $$(CORE_INC) -c -o $$@ $$<
$(1)/smmu-khod: $$(call daemon_objs,$(1)/obj,$$(DAEMON_LIB_SRCS) sd_shim.c khod_main.c \
		 $(if $(3),,$$(DAEMON_PRODUCT_SRCS)),$(3)) \
		 $$(patsubst kernel/core/%.c,$(1)/obj/core/%.o,$$(CORE_SRCS))
	$$(ARM64_CC) -static -o $$@ $$^ -L$$(ARM64_LIBDIR) -lprotobuf-c -lfdt
$(1)/smmu-khoctl: $$(call daemon_objs,$(1)/obj,$$(CTL_LIB_SRCS) ctl.c,)
	$$(ARM64_CC) -static -o $$@ $$^ -L$$(ARM64_LIBDIR) $$(CTL_JSON_LIBS) -lprotobuf-c
endef
$(eval $(call daemon_arm64,$(O)/arm64/daemon,-DNDEBUG,))
$(eval $(call daemon_arm64,$(O)/arm64-test/daemon,-DNDEBUG $(DAEMON_TEST_DEFS),$(DAEMON_TEST_SRCS)))
$(eval $(call daemon_arm64,$(O)/arm64-debug/daemon,-DSKHOD_DEBUG $(DAEMON_TEST_DEFS),$(DAEMON_TEST_SRCS)))

.PHONY: daemon-arm64 daemon-arm64-test
ifeq ($(ARM64_SYSROOT),)
daemon-arm64 daemon-arm64-test:
	@echo "$@: set ARM64_SYSROOT to a directory with the arm64 libfdt-dev, libprotobuf-c-dev and libjson-c-dev unpacked (tests/vm/e2e/fetch-arm64-libs.sh)"; exit 1
else
ifeq ($(ARM64_DEBUG),1)
daemon-arm64: $(O)/arm64-debug/daemon/smmu-khod $(O)/arm64-debug/daemon/smmu-khoctl
else
daemon-arm64: $(O)/arm64/daemon/smmu-khod $(O)/arm64/daemon/smmu-khoctl
endif
daemon-arm64-test: $(O)/arm64-test/daemon/smmu-khod
endif

# ---- make install ----
# make install [DESTDIR=<staging root>] [PREFIX=/usr/local] [SBINDIR= BINDIR=
#   UNITDIR= TMPFILESDIR= MANDIR= SYSCONFDIR= DOCDIR=]
#       the product (build/opt/daemon: no test code), its units with
#       ExecStart= pointing at $(SBINDIR), the tmpfiles.d entry, a sample
#       plan ($(SYSCONFDIR)/smmu-kho/update.conf.example; update.conf itself
#       is never written), the man pages and the operator docs.  Writes only
#       below $(DESTDIR); needs root only when that is /.  Enabling the units
#       (systemctl enable) is left to the operator or the package.
# make install INSTALL_ARCH=arm64 ARM64_SYSROOT=<dir> DESTDIR=<dir> PREFIX=/usr
#       the same with the static arm64 product (build/arm64/daemon, see
#       daemon-arm64): how the systemd VM test builds its guest image from
#       the install command of docs/operator-guide.md (tests/vm/systemd/sysd.sh).
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
BINDIR ?= $(PREFIX)/bin
UNITDIR ?= $(PREFIX)/lib/systemd/system
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/smmu-kho
# /etc for the system prefix, $(PREFIX)/etc otherwise (GNU convention).
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
INSTALL ?= install
DAEMON_MAN8 := daemon/man/smmu-khod.8 daemon/man/smmu-khoctl.8
DAEMON_MAN5 := daemon/man/smmu-kho-update.conf.5
DAEMON_UNITS := daemon/systemd/smmu-khod.service daemon/systemd/smmu-khod.socket

# $(1) = directory holding the smmu-khod and smmu-khoctl to install.
define daemon_install
	$(INSTALL) -d -m 0755 $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(SYSCONFDIR)/smmu-kho $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 0755 $(1)/smmu-khod $(DESTDIR)$(SBINDIR)/smmu-khod
	$(INSTALL) -m 0755 $(1)/smmu-khoctl $(DESTDIR)$(BINDIR)/smmu-khoctl
	for u in $(DAEMON_UNITS); do \
		sed -e 's|/usr/sbin/smmu-khod|$(SBINDIR)/smmu-khod|g' \
		    -e 's|/usr/share/doc/smmu-kho/|$(DOCDIR)/|g' $$u > $(DESTDIR)$(UNITDIR)/$${u##*/}.tmp && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$${u##*/}.tmp && \
		mv $(DESTDIR)$(UNITDIR)/$${u##*/}.tmp $(DESTDIR)$(UNITDIR)/$${u##*/} || exit 1; \
	done
	$(INSTALL) -m 0644 daemon/systemd/smmu-kho.tmpfiles $(DESTDIR)$(TMPFILESDIR)/smmu-kho.conf
	$(INSTALL) -m 0644 daemon/systemd/update.conf.example \
		$(DESTDIR)$(SYSCONFDIR)/smmu-kho/update.conf.example
	$(INSTALL) -m 0644 $(DAEMON_MAN8) $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -m 0644 $(DAEMON_MAN5) $(DESTDIR)$(MANDIR)/man5/
	$(INSTALL) -m 0644 docs/operator-guide.md docs/daemon.md $(DESTDIR)$(DOCDIR)/
endef

.PHONY: install
INSTALL_ARCH ?= host
ifeq ($(INSTALL_ARCH),host)
install: $(DAEMON_OPT_BINS)
	$(call daemon_install,$(O)/opt/daemon)
else ifeq ($(INSTALL_ARCH)-$(if $(ARM64_SYSROOT),set,),arm64-set)
install: $(O)/arm64/daemon/smmu-khod $(O)/arm64/daemon/smmu-khoctl
	$(call daemon_install,$(O)/arm64/daemon)
else
install:
	@echo "install: INSTALL_ARCH is host (default) or arm64 (with ARM64_SYSROOT, see daemon-arm64)"; exit 1
endif
