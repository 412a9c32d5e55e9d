# SPDX-License-Identifier: GPL-2.0-only
# Negative control: the range-check tests must fail against a core whose fence is skipped.
# tests/host/negative-control.sh builds the broken variant under $(O)/negative/.
NEG_TESTS := $(O)/san/tests/test_mutation $(O)/san/tests/test_handover_sim

.PHONY: negative-check
negative-check: $(NEG_TESTS) $(O)/san/libskho.a $(HOST_LIB_SAN)
	@O='$(O)' CC='$(CC)' CFLAGS='$(HOST_CFLAGS) $(HOST_INC)' LDFLAGS='$(HOST_LDFLAGS)' \
	 LIBS='$(CORE_LIBS)' LIBOBJS='$(HOST_LIB_SAN)' tests/host/negative-control.sh
CHECK_TARGETS += negative-check
