/* smmu-khod DMA-flow checker: pre-jump journal digests vs. post-jump live streams. */
#ifndef SKHOD_VERIFY_H
#define SKHOD_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smmu_kho.h"
#include "smmu_kho.pb-c.h"

/*
 * What smmu-khod computed itself for one stream of STREAMS, without
 * trusting the module's digests (daemon/recompute.h fills it):
 *  - ste_digest = skho_digest_buf(info.ste, 64, 0) of the live STE bytes
 *    (ste_ok false when info.ste_live is 0: "STE unreadable");
 *  - xlat_digest from skho_stream_visit() over the raw STE, the live
 *    STRTAB_BASE(_CFG) and the snapshot's OAS, every table page read
 *    through SMMU_KHO_IOC_READ (xlat_ok false: @why says what failed).
 */
struct skhod_raw {
	bool ste_ok, xlat_ok;
	uint64_t ste_digest, xlat_digest;
	char why[160];
};

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
 * outgoing FDT) with what the new kernel reports (STREAMS ioctl, @live[@nr])
 * and with what smmu-khod recomputed itself from raw bytes (@raw[@nr],
 * parallel to @live): present, ADOPTED (or RELEASED), STE digest and
 * translation digest equal to the journal's both as the kernel reports them
 * and as recomputed (ADOPTED streams; a RELEASED one belongs to the driver
 * again), no more than max_events SMMU events, and the probe (if any)
 * passes.  A failing result says which side disagreed (kernel, smmu-khod,
 * both).  Adopted streams the journal does not know are listed as
 * UNEXPECTED (warning, not a failure).  *@out gets counts, the non-OK
 * results, and a summary naming each failing stream (SID, device, SMMU) and
 * why.  Errors: -EINVAL (journal has no pre-jump streams and its plan is
 * not --no-device, or @raw NULL with @nr > 0), -ENOMEM.
 */
int skhod_verify(const Skhopb__Journal *j, const struct smmu_kho_stream_info *live,
		 const struct skhod_raw *raw, uint32_t nr, uint64_t now_ns,
		 const struct skhod_verify_opts *o, Skhopb__Verification **out);

/* "ok", "lost", ... for a StreamOutcome. */
const char *skhod_outcome_name(int outcome);

#endif /* SKHOD_VERIFY_H */
