/* smmu-khod DMA-flow checker: pre-jump journal digests vs. post-jump live streams. */
#ifndef SKHOD_VERIFY_H
#define SKHOD_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "smmu_kho.h"
#include "smmu_kho.pb-c.h"

struct skhod_verify_opts {
	/* SMMU events tolerated per stream since boot (0: any event fails). */
	uint32_t max_events;
	/*
	 * Active probe, run for each stream whose digests matched (NULL: none).
	 * Returns 0 when DMA through the stream works, else non-zero with the
	 * reason in @why.
	 */
	int (*probe)(void *arg, const Skhopb__StreamDigest *s, char *why, size_t len);
	void *probe_arg;
};

/*
 * Compare every stream journaled before the jump (Journal.pre_jump, from the
 * outgoing FDT) with what the new kernel reports (STREAMS ioctl, @live[@nr]):
 * present, ADOPTED (or RELEASED), same STE digest, same translation digest,
 * no more than max_events SMMU events, and the probe (if any) passes.
 * Adopted streams the journal does not know are listed as UNEXPECTED
 * (warning, not a failure).  *@out gets counts, the non-OK results, and a
 * summary naming each failing stream (SID, device, SMMU) and why.
 * Errors: -EINVAL (journal has no pre-jump streams), -ENOMEM.
 */
int skhod_verify(const Skhopb__Journal *j, const struct smmu_kho_stream_info *live,
		 uint32_t nr, uint64_t now_ns, const struct skhod_verify_opts *o,
		 Skhopb__Verification **out);

/* "ok", "lost", ... for a StreamOutcome. */
const char *skhod_outcome_name(int outcome);

#endif /* SKHOD_VERIFY_H */
