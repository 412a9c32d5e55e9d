// SPDX-License-Identifier: GPL-2.0-only
/* smmu-khod snapshot check: pre-jump digests from the outgoing FDT, checked against the live state and own digests. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "khod_internal.h"
#include "pbutil.h"
#include "recompute.h"
#include "skho_handover.h"

void skhod_pre_jump_free(Skhopb__Journal *j)
{
	size_t i;

	for (i = 0; i < j->n_pre_jump; i++)
		skhod_pb_free(j->pre_jump[i]);
	free(j->pre_jump);
	j->pre_jump = NULL;
	j->n_pre_jump = 0;
}

/* The outgoing (PRESERVED) entry of @sid: STREAMS lists incoming ones too. */
static const struct smmu_kho_stream_info *live_find(const struct smmu_kho_stream_info *l,
						    uint32_t n, uint64_t smmu, uint32_t sid)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (l[i].smmu_base == smmu && l[i].sid == sid &&
		    l[i].state == SMMU_KHO_STREAM_PRESERVED)
			return &l[i];
	return NULL;
}

static uint32_t nr_preserved(const struct smmu_kho_stream_info *l, uint32_t n)
{
	uint32_t i, c = 0;

	for (i = 0; i < n; i++)
		c += l[i].state == SMMU_KHO_STREAM_PRESERVED;
	return c;
}

/*
 * One snapshot record @s (@rec: its skho_abi_stream bytes) against what is
 * live now (@l, PRESERVED entry of STREAMS) and what smmu-khod recomputed
 * from raw bytes (@rw): the module's digests, the live STE bytes against the
 * record's reference copy, our STE digest, our translation digest.  Each
 * side can disagree on its own.  Errors: -EIO with @why naming the SID.
 */
static int check_frozen(const Skhopb__StreamDigest *s, const unsigned char *rec,
			const struct smmu_kho_stream_info *l, const struct skhod_raw *rw,
			char *why, size_t wl)
{
	const char *what = NULL;
	char dev[sizeof(l->dev) + 1], detail[200] = "";

	memcpy(dev, l->dev, sizeof(l->dev));
	dev[sizeof(l->dev)] = 0;
	if (l->ste_digest != s->ste_digest || l->xlat_digest != s->xlat_digest) {
		what = "the module's STREAMS digests differ from its snapshot";
	} else if (!rw->ste_ok) {
		what = "STE unreadable";
		snprintf(detail, sizeof(detail), ": %s", rw->why);
	} else if (memcmp(l->ste, rec + offsetof(struct skho_abi_stream, ste), 64)) {
		what = "the STE the SMMU uses now differs from the snapshot's reference copy";
	} else if (rw->ste_digest != s->ste_digest) {
		what = "the live STE digests differently from the snapshot";
		snprintf(detail, sizeof(detail), " (smmu-khod %016" PRIx64 ", snapshot %016" PRIx64 ")",
			 rw->ste_digest, s->ste_digest);
	} else if (!rw->xlat_ok) {
		what = "smmu-khod cannot recompute the translation from the preserved pages";
		snprintf(detail, sizeof(detail), ": %s", rw->why);
	} else if (rw->xlat_digest != s->xlat_digest) {
		what = "the translation smmu-khod recomputed from the preserved pages differs from the snapshot";
		snprintf(detail, sizeof(detail), " (smmu-khod %016" PRIx64 ", snapshot %016" PRIx64 ")",
			 rw->xlat_digest, s->xlat_digest);
	}
	if (!what)
		return 0;
	snprintf(why, wl, "SID 0x%x (%s) on SMMU 0x%" PRIx64 " changed after the freeze: %s%s",
		 s->sid, dev[0] ? dev : "?", s->smmu_base, what, detail);
	return -EIO;
}

/*
 * Parse the outgoing FDT with the core parser and build the pre-jump digest
 * set; cross-check it against STREAMS and against smmu-khod's own digests
 * recomputed from the live STE bytes and the preserved pages (check_frozen:
 * the live state must still equal the frozen snapshot) and the plan (every
 * device owns a stream).  On success *@out holds the SmmuDigests array.
 * Errors: -EIO/-errno with @why, -ENOMEM.
 */
int skhod_snapshot_capture(struct skhod *d, Skhopb__SmmuDigests ***out, size_t *nout,
			   char *why, size_t wl)
{
	struct smmu_kho_stream_info *live = NULL;
	Skhopb__Journal tmp = SKHOPB__JOURNAL__INIT;
	struct skhod_raw *raw = NULL;
	struct skho_handover ho;
	struct skho_err e = { 0 };
	uint32_t nlive = 0, i, k, matched = 0;
	void *blob = NULL;
	size_t len, pd;
	int r;

	r = d->be->ops->get_fdt(d->be, SMMU_KHO_FDT_OUT, &blob, &len);
	if (r) {
		snprintf(why, wl, "cannot read the outgoing snapshot: %s", skhod_be_err(d, r));
		return r;
	}
	r = skho_handover_parse(blob, len, &ho, &e);
	if (r) {
		snprintf(why, wl, "the outgoing snapshot does not parse: %s: %s",
			 skho_strerror(r), e.msg);
		free(blob);
		return -EIO;
	}
	r = d->be->ops->streams(d->be, &live, &nlive);
	if (r) {
		snprintf(why, wl, "cannot list the preserved streams: %s", skhod_be_err(d, r));
		goto out;
	}
	/* our own digests, from the live STE bytes and the preserved pages */
	raw = calloc(nlive ? nlive : 1, sizeof(*raw));
	r = raw ? skhod_recompute(d->be, SMMU_KHO_FDT_OUT, blob, len, live, nlive,
				  SMMU_KHO_STREAM_PRESERVED, raw) : -ENOMEM;
	for (i = 0; i < ho.nr_smmus && !r; i++) {
		const struct skho_ho_smmu *hs = &ho.smmu[i];
		Skhopb__SmmuDigests *sd = malloc(sizeof(*sd));

		if (!sd || SKHOD_PB_PUSH(&tmp.pre_jump, &tmp.n_pre_jump, sd)) {
			free(sd);
			r = -ENOMEM;
			break;
		}
		skhopb__smmu_digests__init(sd);
		sd->mmio_base = hs->mmio_base;
		sd->strtab_base = hs->strtab_base;
		sd->strtab_cfg = hs->strtab_cfg;
		sd->features = hs->features;
		sd->nr_pgtables = hs->nr_pgtables;
		for (k = 0; k < hs->ranges.nr; k++)
			sd->preserved_bytes += hs->ranges.r[k].size;
		for (k = 0; k < hs->nr_streams && !r; k++) {
			const unsigned char *p = (const unsigned char *)hs->streams +
						 (size_t)k * sizeof(struct skho_abi_stream);
			Skhopb__StreamDigest *s = malloc(sizeof(*s));
			const struct smmu_kho_stream_info *l;
			char dev[sizeof(live->dev) + 1];

			if (!s || SKHOD_PB_PUSH(&sd->streams, &sd->n_streams, s)) {
				free(s);
				r = -ENOMEM;
				break;
			}
			skhopb__stream_digest__init(s);
			s->smmu_base = hs->mmio_base;
			s->sid = skho_fdt_ld32(p + offsetof(struct skho_abi_stream, sid));
			s->ste_digest = skho_fdt_ld64(p + offsetof(struct skho_abi_stream,
								   ste_digest));
			s->xlat_digest = skho_fdt_ld64(p + offsetof(struct skho_abi_stream,
								    xlat_digest));
			l = live_find(live, nlive, s->smmu_base, s->sid);
			if (!l) {
				snprintf(why, wl, "SID 0x%x on SMMU 0x%" PRIx64
					 " is in the snapshot but not preserved (STREAMS)",
					 s->sid, s->smmu_base);
				r = -EIO;
				break;
			}
			r = check_frozen(s, p, l, &raw[l - live], why, wl);
			if (r)
				break;
			matched++;
			memcpy(dev, l->dev, sizeof(l->dev));
			dev[sizeof(l->dev)] = 0;
			if (skhod_pb_setstr(&s->device, dev))
				r = -ENOMEM;
		}
	}
	if (!r && matched != nr_preserved(live, nlive)) {
		snprintf(why, wl, "the kernel preserves %u streams, the snapshot holds %u",
			 nr_preserved(live, nlive), matched);
		r = -EIO;
	}
	tmp.plan = d->j->plan;
	for (pd = 0; !r && tmp.plan && pd < tmp.plan->n_devices; pd++) {
		bool found = false;

		for (i = 0; i < tmp.n_pre_jump && !found; i++)
			for (k = 0; k < tmp.pre_jump[i]->n_streams && !found; k++)
				found = !strcmp(tmp.pre_jump[i]->streams[k]->device,
						tmp.plan->devices[pd]);
		if (!found) {
			snprintf(why, wl, "device %s has no stream in the snapshot",
				 tmp.plan->devices[pd]);
			r = -EIO;
		}
	}
	if (r == -ENOMEM)
		snprintf(why, wl, "out of memory");
out:
	tmp.plan = NULL;
	if (r) {
		skhod_pre_jump_free(&tmp);
	} else {
		*out = tmp.pre_jump;
		*nout = tmp.n_pre_jump;
	}
	free(raw);
	free(live);
	skho_handover_release(&ho);
	free(blob);
	return r;
}
