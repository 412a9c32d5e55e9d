/* smmu-khod's own digests: STE and translation recomputed from raw bytes with the core library. */
#ifndef SKHOD_RECOMPUTE_H
#define SKHOD_RECOMPUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "smmu_kho.h"
#include "verify.h"

/*
 * Recompute @raw[i] for every @live[i] whose state is @state (others are
 * left zeroed: ste_ok = xlat_ok = false, why ""), reading table pages of
 * snapshot @which (SMMU_KHO_FDT_OUT for PRESERVED streams, _IN for
 * ADOPTED ones) through @be.  The OAS of each SMMU comes from @fdt (that
 * snapshot); @fdt NULL or unparsable makes every translation unrecomputable
 * (named in why).  A stream that cannot be recomputed is not an error.
 * Errors: -ENOMEM.
 */
int skhod_recompute(struct skhod_backend *be, uint32_t which, const void *fdt,
		    size_t fdt_len, const struct smmu_kho_stream_info *live, uint32_t nr,
		    uint32_t state, struct skhod_raw *raw);

#endif /* SKHOD_RECOMPUTE_H */
