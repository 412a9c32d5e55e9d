// SPDX-License-Identifier: GPL-2.0-only
/* smmu-khod DMA-flow checker: pre-jump journal digests vs. post-jump live streams. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbutil.h"
#include "verify.h"

/* Failing results past this many keep only their outcome name as reason. */
#define SKHOD_VERIFY_FULL_WHY	64

const char *skhod_outcome_name(int o)
{
	static const char *const n[] = {
		[SKHOPB__STREAM_OUTCOME__OUTCOME_UNKNOWN] = "unknown",
		[SKHOPB__STREAM_OUTCOME__OUTCOME_OK] = "ok",
		[SKHOPB__STREAM_OUTCOME__OUTCOME_LOST] = "lost",
		[SKHOPB__STREAM_OUTCOME__OUTCOME_REFUSED] = "refused",
		[SKHOPB__STREAM_OUTCOME__OUTCOME_STE_CHANGED] = "ste-changed",
		[SKHOPB__STREAM_OUTCOME__OUTCOME_XLAT_CHANGED] = "xlat-changed",
		[SKHOPB__STREAM_OUTCOME__OUTCOME_FAULTS] = "faults",
		[SKHOPB__STREAM_OUTCOME__OUTCOME_PROBE_FAILED] = "probe-failed",
		[SKHOPB__STREAM_OUTCOME__OUTCOME_UNEXPECTED] = "unexpected",
		[SKHOPB__STREAM_OUTCOME__OUTCOME_QUARANTINED] = "quarantined",
	};

	return o >= 0 && o < (int)(sizeof(n) / sizeof(n[0])) ? n[o] : "unknown";
}

/* Index of the incoming entry of @sid in @live, or -1. */
static int find_live(const struct smmu_kho_stream_info *live, uint32_t nr, uint64_t smmu,
		     uint32_t sid)
{
	uint32_t i;

	/* STREAMS also lists this kernel's outgoing (PRESERVED, DROPPED) streams */
	for (i = 0; i < nr; i++)
		if (live[i].smmu_base == smmu && live[i].sid == sid &&
		    live[i].state != SMMU_KHO_STREAM_PRESERVED &&
		    live[i].state != SMMU_KHO_STREAM_DROPPED)
			return (int)i;
	return -1;
}

/* Copy of a fixed kernel char array that may lack its NUL. */
static void kstr(char *dst, size_t dl, const char *src, size_t sl)
{
	size_t n = strnlen(src, sl);

	if (n >= dl)
		n = dl - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

static int add_result(Skhopb__Verification *v, uint64_t smmu, uint32_t sid,
		      const char *dev, int outcome, const char *why)
{
	Skhopb__StreamResult *r = malloc(sizeof(*r));

	if (!r)
		return -ENOMEM;
	skhopb__stream_result__init(r);
	r->smmu_base = smmu;
	r->sid = sid;
	r->outcome = outcome;
	if (skhod_pb_setstr(&r->device, dev) || skhod_pb_setstr(&r->why, why) ||
	    SKHOD_PB_PUSH(&v->streams, &v->n_streams, r)) {
		skhod_pb_free(r);
		return -ENOMEM;
	}
	return 0;
}

/* Who saw a digest change: the kernel's report, smmu-khod's own, or both. */
static const char *who(bool kernel, bool daemon)
{
	return kernel && daemon ? "both" : kernel ? "kernel" : "smmu-khod";
}

/*
 * Judge one journaled stream; fills @why, *@dis (which side disagreed, or
 * NULL) and returns its outcome.  @rw is smmu-khod's recomputation of @l.
 */
static int judge(const Skhopb__StreamDigest *s, const struct smmu_kho_stream_info *l,
		 const struct skhod_raw *rw, const struct skhod_verify_opts *o, char *why,
		 size_t wl, const char **dis)
{
	char kwhy[sizeof(l->why) + 1];
	bool adopted, ks, ds;

	*dis = NULL;
	if (!l) {
		snprintf(why, wl, "lost: the new kernel does not report this stream");
		return SKHOPB__STREAM_OUTCOME__OUTCOME_LOST;
	}
	kstr(kwhy, sizeof(kwhy), l->why, sizeof(l->why));
	if (l->state == SMMU_KHO_STREAM_REFUSED) {
		snprintf(why, wl, "refused by the new kernel (error %d): %s", l->error,
			 kwhy[0] ? kwhy : "no reason given");
		return SKHOPB__STREAM_OUTCOME__OUTCOME_REFUSED;
	}
	if (l->state == SMMU_KHO_STREAM_QUARANTINED) {
		snprintf(why, wl, "quarantined (abort STE): %s", kwhy[0] ? kwhy : "no reason given");
		return SKHOPB__STREAM_OUTCOME__OUTCOME_QUARANTINED;
	}
	if (l->state != SMMU_KHO_STREAM_ADOPTED && l->state != SMMU_KHO_STREAM_RELEASED) {
		snprintf(why, wl, "lost: stream in state %u, not adopted", l->state);
		return SKHOPB__STREAM_OUTCOME__OUTCOME_LOST;
	}
	/* a RELEASED stream runs the driver's own domain: only the kernel's word */
	adopted = l->state == SMMU_KHO_STREAM_ADOPTED;
	if (adopted && !rw->ste_ok) {
		snprintf(why, wl, "lost: %s", rw->why[0] ? rw->why : "STE unreadable");
		*dis = "smmu-khod";
		return SKHOPB__STREAM_OUTCOME__OUTCOME_LOST;
	}
	ks = l->ste_digest != s->ste_digest;
	ds = adopted && rw->ste_digest != s->ste_digest;
	if (ks || ds) {
		*dis = who(ks, ds);
		snprintf(why, wl, "STE changed: digest %016" PRIx64 " before the jump; now %016"
			 PRIx64 " as the kernel reports it, %016" PRIx64
			 " as smmu-khod recomputed it from the live STE (disagrees: %s)",
			 s->ste_digest, (uint64_t)l->ste_digest, rw->ste_digest, *dis);
		return SKHOPB__STREAM_OUTCOME__OUTCOME_STE_CHANGED;
	}
	if (adopted && !rw->xlat_ok) {
		*dis = "smmu-khod";
		snprintf(why, wl, "translation changed: smmu-khod cannot recompute it from the handed-over pages: %s",
			 rw->why[0] ? rw->why : "?");
		return SKHOPB__STREAM_OUTCOME__OUTCOME_XLAT_CHANGED;
	}
	ks = l->xlat_digest != s->xlat_digest;
	ds = adopted && rw->xlat_digest != s->xlat_digest;
	if (ks || ds) {
		*dis = who(ks, ds);
		snprintf(why, wl, "translation changed: digest %016" PRIx64
			 " before the jump; now %016" PRIx64 " as the kernel reports it, %016"
			 PRIx64 " as smmu-khod recomputed it from the page tables (disagrees: %s)",
			 s->xlat_digest, (uint64_t)l->xlat_digest, rw->xlat_digest, *dis);
		return SKHOPB__STREAM_OUTCOME__OUTCOME_XLAT_CHANGED;
	}
	if (l->events > o->max_events) {
		snprintf(why, wl, "%u SMMU event(s) recorded since boot (tolerated: %u)",
			 l->events, o->max_events);
		return SKHOPB__STREAM_OUTCOME__OUTCOME_FAULTS;
	}
	if (o->probe) {
		char pwhy[160] = "";

		if (o->probe(o->probe_arg, s, pwhy, sizeof(pwhy))) {
			snprintf(why, wl, "active probe failed: %s", pwhy[0] ? pwhy : "?");
			return SKHOPB__STREAM_OUTCOME__OUTCOME_PROBE_FAILED;
		}
	}
	return SKHOPB__STREAM_OUTCOME__OUTCOME_OK;
}

static bool in_journal(const Skhopb__Journal *j, uint64_t smmu, uint32_t sid)
{
	size_t a, b;

	for (a = 0; a < j->n_pre_jump; a++)
		for (b = 0; b < j->pre_jump[a]->n_streams; b++)
			if (j->pre_jump[a]->streams[b]->smmu_base == smmu &&
			    j->pre_jump[a]->streams[b]->sid == sid)
				return true;
	return false;
}

int skhod_verify(const Skhopb__Journal *j, const struct smmu_kho_stream_info *live,
		 const struct skhod_raw *raw, uint32_t nr, uint64_t now_ns,
		 const struct skhod_verify_opts *o, Skhopb__Verification **out)
{
	Skhopb__Verification *v;
	char *sum = NULL;
	size_t suml = 0, a, b;
	uint32_t i, named = 0;
	FILE *f;
	int r = 0;

	if ((!j->n_pre_jump && !(j->plan && j->plan->no_device)) || (nr && !raw))
		return -EINVAL;
	v = malloc(sizeof(*v));
	if (!v)
		return -ENOMEM;
	skhopb__verification__init(v);
	v->time_ns = now_ns;
	v->probed = o->probe != NULL;
	v->recomputed = true;
	f = open_memstream(&sum, &suml);
	if (!f) {
		skhod_pb_free(v);
		return -ENOMEM;
	}
	for (a = 0; a < j->n_pre_jump && !r; a++) {
		const Skhopb__SmmuDigests *sm = j->pre_jump[a];

		for (b = 0; b < sm->n_streams && !r; b++) {
			const Skhopb__StreamDigest *s = sm->streams[b];
			int li = find_live(live, nr, s->smmu_base, s->sid);
			const struct smmu_kho_stream_info *l = li < 0 ? NULL : &live[li];
			const struct skhod_raw *rw = li < 0 ? NULL : &raw[li];
			const char *dis;
			char why[400];
			int oc = judge(s, l, rw, o, why, sizeof(why), &dis);

			v->nr_streams++;
			if (oc == SKHOPB__STREAM_OUTCOME__OUTCOME_OK) {
				v->nr_ok++;
				continue;
			}
			v->nr_failed++;
			if (oc == SKHOPB__STREAM_OUTCOME__OUTCOME_LOST ||
			    oc == SKHOPB__STREAM_OUTCOME__OUTCOME_REFUSED ||
			    oc == SKHOPB__STREAM_OUTCOME__OUTCOME_QUARANTINED)
				v->nr_lost++;
			/* the journal is bounded: full reasons for the first ones */
			if (v->n_streams >= SKHOD_VERIFY_FULL_WHY)
				snprintf(why, sizeof(why), "%s (reason kept for the first %d failing streams only)",
					 skhod_outcome_name(oc), SKHOD_VERIFY_FULL_WHY);
			r = add_result(v, s->smmu_base, s->sid, s->device, oc, why);
			if (!r && named++ < 8)
				fprintf(f, "; SID 0x%x (%s) on SMMU 0x%" PRIx64 ": %s", s->sid,
					s->device[0] ? s->device : "?", s->smmu_base, why);
			if (!r) {
				Skhopb__StreamResult *res = v->streams[v->n_streams - 1];

				res->want_ste = s->ste_digest;
				res->want_xlat = s->xlat_digest;
				if (l) {
					res->got_ste = l->ste_digest;
					res->got_xlat = l->xlat_digest;
					res->events = l->events;
					res->raw_ste = rw->ste_digest;
					res->raw_xlat = rw->xlat_digest;
				}
				if (dis && skhod_pb_setstr(&res->disagree, dis))
					r = -ENOMEM;
			}
		}
	}
	for (i = 0; i < nr && !r; i++) {
		char dev[sizeof(live[i].dev) + 1];

		if (live[i].state != SMMU_KHO_STREAM_ADOPTED ||
		    in_journal(j, live[i].smmu_base, live[i].sid))
			continue;
		kstr(dev, sizeof(dev), live[i].dev, sizeof(live[i].dev));
		r = add_result(v, live[i].smmu_base, live[i].sid, dev,
			       SKHOPB__STREAM_OUTCOME__OUTCOME_UNEXPECTED,
			       "adopted by the new kernel but not in the journal");
	}
	fclose(f);
	if (!r) {
		char head[160];

		if (v->nr_failed)
			snprintf(head, sizeof(head), "%u of %u streams failed (%u lost)",
				 v->nr_failed, v->nr_streams, v->nr_lost);
		else
			snprintf(head, sizeof(head), "%u of %u streams intact, 0 lost%s",
				 v->nr_ok, v->nr_streams, v->probed ? ", probe passed" : "");
		if (named > 8)
			snprintf(head + strlen(head), sizeof(head) - strlen(head),
				 " (first 8 named)");
		v->summary = malloc(strlen(head) + (sum ? strlen(sum) : 0) + 1);
		if (!v->summary) {
			v->summary = (char *)protobuf_c_empty_string;
			r = -ENOMEM;
		} else {
			strcpy(v->summary, head);
			if (sum)
				strcat(v->summary, sum);
		}
	}
	free(sum);
	if (r) {
		skhod_pb_free(v);
		return r;
	}
	*out = v;
	return 0;
}
