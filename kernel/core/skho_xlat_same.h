/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Hand-back check: does a new STE translate every IOVA of an adopted one the same? */
#ifndef SKHO_XLAT_SAME_H
#define SKHO_XLAT_SAME_H

#include "skho_walk.h"

/*
 * One side of the comparison: the STE bytes and the SMMU (OAS and the memory
 * its CD and page tables are read through).  The adopted side reads the
 * previous kernel's tables through the restored ranges only; the new side
 * reads the new owner's tables through live memory.
 */
struct skho_xlat_side {
	const struct skho_smmu *smmu;
	const u8 *ste;		/* 64 bytes */
};

/* What skho_xlat_same() found. */
struct skho_xlat_cmp {
	u64 nr_pages;		/* 4 KiB pages of the adopted translation compared */
	u64 old_digest;		/* digest of the adopted translation set */
	u64 new_digest;		/* the new side over the same IOVAs: equal iff same */
	/* The first difference (lowest IOVA), for -SKHO_E_DIFFERS: */
	u64 iova;
	u64 old_pa;
	u32 old_prot;		/* SKHO_PROT_* */
	u64 new_pa;		/* 0 unless @new_fault is SKHO_XLATE_OK */
	u32 new_prot;
	u32 new_fault;		/* enum skho_fault of the new side at @iova */
};

/*
 * skho_xlat_same - compare two STEs for transactions without a SubstreamID
 * @old: the adopted STE; its translation set is what must be kept
 * @new: the STE the new owner's domain would install
 * @out: filled on 0 and on -SKHO_E_DIFFERS
 * @err: may be NULL; names the IOVA, both PAs and permissions on a difference
 *
 * Every IOVA that @old translates must translate through @new to the same PA
 * with the same permissions; IOVAs that @old does not translate may map
 * anything through @new (the new owner may map more).  Stage 1 (CD 0) and
 * stage 2 STEs are compared by the effective translation, so a block and the
 * pages it splits into compare the same, and a stage-1 STE may be compared
 * with a stage-2 one.  Leaves without access permission translate nothing.
 * Allocates nothing; time is linear in the leaves of both tables over the
 * adopted IOVAs.
 *
 * Return: 0 if the same; -SKHO_E_DIFFERS (first difference in @out and
 * @err); -SKHO_E_UNSUPPORTED (bypass, abort, nested, hardware dirty state,
 * or an STE that faults every transaction without a SubstreamID: nothing to
 * compare); -SKHO_E_STE / -SKHO_E_CD / -SKHO_E_PGTABLE (from the decoders
 * and the walker); -SKHO_E_OUTSIDE (a table not readable through its side's
 * memory).
 */
int skho_xlat_same(const struct skho_xlat_side *old,
		   const struct skho_xlat_side *new,
		   struct skho_xlat_cmp *out, struct skho_err *err);

#endif /* SKHO_XLAT_SAME_H */
