/* SPDX-License-Identifier: GPL-2.0-only */
/* Fault scenarios of the e2e /init: find an STE, PTE or handover byte and arm skho_fault.ko on it. */
#ifndef GUEST_FAULT_H
#define GUEST_FAULT_H

#include <stdint.h>

enum fault_target {
	FT_STE,		/* dword 1 of the live STE (S1CSH bit flipped) */
	FT_PTE,		/* the buffer's leaf PTE, output -> an unpreserved page */
	FT_TDESC,	/* the table descriptor above it -> an unpreserved copy */
	FT_FDT_STE,	/* the same STE bit in the blob's reference copy */
	FT_FDT_MAGIC,	/* the blob's FDT magic */
};

struct fault_scn {
	const char *name;		/* skhoe2e.fault=NAME */
	enum fault_target target;
	unsigned int when;		/* enum skho_fault_when */
	unsigned int sid;		/* stream whose state is corrupted */
	int two;			/* preserve 00:02.0 and 00:03.0 */
	int race;			/* fault_race_jumping() during the jump */
	unsigned int k;			/* kernel that writes: 1, or 2 (the adopted
					 * tables, before smmu-khod verifies) */
};

/* The scenario called @name, or NULL. */
const struct fault_scn *fault_scn_find(const char *name);

/*
 * Locate @f's target in memory (GET_FDT of /dev/smmu_kho: OUT in kernel 1,
 * IN in kernel 2; KHO's debugfs; table walk through PEEK) for the buffer at
 * @iova/@pa, and arm the write; with @dry, only locate and log.  Logs "data fault ..." lines.
 * Returns 0 or -errno (-ENOENT: not found, -EPROTO: a cross-check failed).
 */
int fault_arm(const struct fault_scn *f, uint64_t iova, uint64_t pa, int dry);

/*
 * Child process of the jump: poll STATUS until out_state is JUMPING, then
 * try ABORT, UNPRESERVE, RELEASE, PRESERVE, FREEZE and QUARANTINE of @bdf
 * (skho_fault.ko hold_ms keeps the kernel in its reboot notifiers
 * meanwhile) and log each result as "data jumping_race ...".  Never returns.
 */
void fault_race_jumping(const char *bdf) __attribute__((noreturn));

#endif /* GUEST_FAULT_H */
