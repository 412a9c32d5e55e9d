// SPDX-License-Identifier: GPL-2.0-only
/* DMA-flow checker: every way a journaled stream can fail after the jump, and what it says. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "ktest.h"
#include "pbutil.h"
#include "smmu_kho.h"
#include "state.h"
#include "verify.h"

#define SMMU	0x9050000ull

static const struct { uint32_t sid; const char *dev; } streams[] = {
	{ 0x10, "0000:00:02.0" }, { 0x18, "0000:00:03.0" }, { 0x19, "0000:00:03.0" },
};
#define NR	3

/* Journal with the three streams' pre-jump digests: ste 0x1000+sid, xlat 0x2000+sid. */
static Skhopb__Journal *journal(void)
{
	Skhopb__Journal *j = skhod_journal_new("u", 1, "a");
	Skhopb__SmmuDigests *sd = malloc(sizeof(*sd));
	int i;

	skhopb__smmu_digests__init(sd);
	sd->mmio_base = SMMU;
	for (i = 0; i < NR; i++) {
		Skhopb__StreamDigest *s = malloc(sizeof(*s));

		skhopb__stream_digest__init(s);
		s->smmu_base = SMMU;
		s->sid = streams[i].sid;
		s->ste_digest = 0x1000 + streams[i].sid;
		s->xlat_digest = 0x2000 + streams[i].sid;
		skhod_pb_setstr(&s->device, streams[i].dev);
		SKHOD_PB_PUSH(&sd->streams, &sd->n_streams, s);
	}
	SKHOD_PB_PUSH(&j->pre_jump, &j->n_pre_jump, sd);
	return j;
}

/* What an intact new kernel reports for them. */
static void live_ok(struct smmu_kho_stream_info l[NR])
{
	int i;

	memset(l, 0, sizeof(*l) * NR);
	for (i = 0; i < NR; i++) {
		l[i].smmu_base = SMMU;
		l[i].sid = streams[i].sid;
		l[i].state = SMMU_KHO_STREAM_ADOPTED;
		l[i].ste_digest = 0x1000 + streams[i].sid;
		l[i].xlat_digest = 0x2000 + streams[i].sid;
		snprintf(l[i].dev, sizeof(l[i].dev), "%s", streams[i].dev);
	}
}

/* smmu-khod's own recomputation of an intact stream: the journal's digests. */
static void raw_ok(const struct smmu_kho_stream_info *l, struct skhod_raw *rw, uint32_t nr)
{
	uint32_t i;

	memset(rw, 0, sizeof(*rw) * nr);
	for (i = 0; i < nr; i++) {
		rw[i].ste_ok = rw[i].xlat_ok = true;
		rw[i].ste_digest = 0x1000 + l[i].sid;
		rw[i].xlat_digest = 0x2000 + l[i].sid;
	}
}

static Skhopb__Verification *run_raw(struct ktest *t, const struct smmu_kho_stream_info *l,
				     const struct skhod_raw *rw, uint32_t nr,
				     const struct skhod_verify_opts *o)
{
	static const struct skhod_verify_opts none = { 0 };
	Skhopb__Journal *j = journal();
	Skhopb__Verification *v = NULL;
	int r = skhod_verify(j, l, rw, nr, 42, o ? o : &none, &v);

	KEXPECT_EQ(t, r, 0);
	skhod_pb_free(j);
	return v;
}

/* Kernel report @l, and smmu-khod's recomputation agreeing with the journal. */
static Skhopb__Verification *run(struct ktest *t, const struct smmu_kho_stream_info *l,
				 uint32_t nr, const struct skhod_verify_opts *o)
{
	struct skhod_raw rw[NR + 1];
	Skhopb__Verification *v;

	raw_ok(l, rw, nr);
	v = run_raw(t, l, rw, nr, o);
	KEXPECT(t, !v || v->recomputed, "recomputed flag");
	return v;
}

static void intact_streams_verify_with_zero_lost(struct ktest *t)
{
	struct smmu_kho_stream_info l[NR];
	Skhopb__Verification *v;

	live_ok(l);
	v = run(t, l, NR, NULL);
	KASSERT(t, v);
	KEXPECT_EQ(t, v->nr_streams, 3);
	KEXPECT_EQ(t, v->nr_ok, 3);
	KEXPECT_EQ(t, v->nr_failed, 0);
	KEXPECT_EQ(t, v->nr_lost, 0);
	KEXPECT_EQ(t, v->n_streams, 0);		/* only non-OK results are kept */
	KEXPECT_EQ(t, v->time_ns, 42);
	KEXPECT(t, !strcmp(v->summary, "3 of 3 streams intact, 0 lost"), "%s", v->summary);
	skhod_pb_free(v);
}

/* Run with @l and expect exactly stream @idx to fail with @outcome / @text. */
static void expect_one(struct ktest *t, const struct smmu_kho_stream_info *l, uint32_t nr,
		       const struct skhod_verify_opts *o, int idx, int outcome,
		       const char *text, uint32_t lost)
{
	Skhopb__Verification *v = run(t, l, nr, o);
	char name[64];

	KASSERT(t, v);
	KEXPECT_EQ(t, v->nr_failed, 1);
	KEXPECT_EQ(t, v->nr_ok, 2);
	KEXPECT_EQ(t, v->nr_lost, lost);
	KASSERT(t, v->n_streams == 1, "%zu results", v->n_streams);
	KEXPECT_EQ(t, v->streams[0]->outcome, outcome);
	KEXPECT_EQ(t, v->streams[0]->sid, streams[idx].sid);
	KEXPECT(t, strstr(v->streams[0]->why, text), "why: %s", v->streams[0]->why);
	/* the summary names the SID, its device and its SMMU */
	snprintf(name, sizeof(name), "SID 0x%x (%s) on SMMU 0x9050000: ", streams[idx].sid,
		 streams[idx].dev);
	KEXPECT(t, strstr(v->summary, name) && strstr(v->summary, text), "summary: %s",
		v->summary);
	KEXPECT(t, !strncmp(v->summary, "1 of 3 streams failed", 21), "%s", v->summary);
	skhod_pb_free(v);
}

static void missing_stream_is_lost(struct ktest *t)
{
	struct smmu_kho_stream_info l[NR];

	live_ok(l);
	l[1] = l[2];		/* 0x18 gone */
	expect_one(t, l, NR - 1, NULL, 1, SKHOPB__STREAM_OUTCOME__OUTCOME_LOST, "lost", 1);
}

static void same_sid_on_another_smmu_does_not_count(struct ktest *t)
{
	struct smmu_kho_stream_info l[NR];

	Skhopb__Verification *v;

	live_ok(l);
	l[0].smmu_base = 0x2b400000;	/* SID 0x10, but of another SMMU */
	v = run(t, l, NR, NULL);
	KASSERT(t, v);
	KEXPECT_EQ(t, v->nr_failed, 1);
	KEXPECT_EQ(t, v->nr_lost, 1);
	/* lost on 0x9050000, and an unexpected adoption on 0x2b400000 */
	KEXPECT(t, v->n_streams == 2 &&
		v->streams[0]->outcome == SKHOPB__STREAM_OUTCOME__OUTCOME_LOST &&
		v->streams[0]->smmu_base == SMMU &&
		v->streams[1]->outcome == SKHOPB__STREAM_OUTCOME__OUTCOME_UNEXPECTED &&
		v->streams[1]->smmu_base == 0x2b400000, "results");
	skhod_pb_free(v);
}

static void refused_stream_carries_the_kernels_reason(struct ktest *t)
{
	struct smmu_kho_stream_info l[NR];

	live_ok(l);
	l[2].state = SMMU_KHO_STREAM_REFUSED;
	l[2].error = -14;
	/* a full 96-byte why without NUL must not be read past */
	memset(l[2].why, 'x', sizeof(l[2].why));
	memcpy(l[2].why, "table outside ranges", 20);
	expect_one(t, l, NR, NULL, 2, SKHOPB__STREAM_OUTCOME__OUTCOME_REFUSED,
		   "refused by the new kernel (error -14): table outside ranges", 1);
}

static void changed_ste_digest_fails(struct ktest *t)
{
	struct smmu_kho_stream_info l[NR];
	Skhopb__Verification *v;

	live_ok(l);
	l[0].ste_digest ^= 0x80;
	expect_one(t, l, NR, NULL, 0, SKHOPB__STREAM_OUTCOME__OUTCOME_STE_CHANGED,
		   "STE changed: digest 0000000000001010 before the jump; now 0000000000001090 as the kernel reports it, 0000000000001010 as smmu-khod recomputed it from the live STE (disagrees: kernel)", 0);
	v = run(t, l, NR, NULL);
	/* both digests are kept for the operator */
	KEXPECT(t, v && v->streams[0]->want_ste == 0x1010 && v->streams[0]->got_ste == 0x1090 &&
		v->streams[0]->raw_ste == 0x1010 && !strcmp(v->streams[0]->disagree, "kernel"),
		"want/got/raw/disagree");
	skhod_pb_free(v);
}

static void changed_translation_digest_fails(struct ktest *t)
{
	struct smmu_kho_stream_info l[NR];

	live_ok(l);
	l[1].xlat_digest = 0;
	expect_one(t, l, NR, NULL, 1, SKHOPB__STREAM_OUTCOME__OUTCOME_XLAT_CHANGED,
		   "translation changed", 0);
}

static void events_up_to_the_tolerance_pass_beyond_fail(struct ktest *t)
{
	struct skhod_verify_opts o = { .max_events = 2 };
	struct smmu_kho_stream_info l[NR];
	Skhopb__Verification *v;

	live_ok(l);
	l[2].events = 2;	/* == tolerance: fine */
	v = run(t, l, NR, &o);
	KEXPECT(t, v && v->nr_failed == 0, "2 events tolerated");
	skhod_pb_free(v);
	l[2].events = 3;
	expect_one(t, l, NR, &o, 2, SKHOPB__STREAM_OUTCOME__OUTCOME_FAULTS,
		   "3 SMMU event(s) recorded since boot (tolerated: 2)", 0);
}

static int probe_fails_on_0x19(void *arg, const Skhopb__StreamDigest *s, char *why, size_t len)
{
	int *calls = arg;

	(*calls)++;
	if (s->sid != 0x19)
		return 0;
	snprintf(why, len, "DMA readback mismatch");
	return 1;
}

static void failed_probe_fails_the_stream(struct ktest *t)
{
	int calls = 0;
	struct skhod_verify_opts o = { .probe = probe_fails_on_0x19, .probe_arg = &calls };
	struct smmu_kho_stream_info l[NR];

	live_ok(l);
	expect_one(t, l, NR, &o, 2, SKHOPB__STREAM_OUTCOME__OUTCOME_PROBE_FAILED,
		   "active probe failed: DMA readback mismatch", 0);
	KEXPECT_EQ(t, calls, 3);	/* every digest-clean stream is probed */
}

static void outgoing_entries_of_the_same_sid_are_not_the_adopted_stream(struct ktest *t)
{
	struct smmu_kho_stream_info l[NR];

	/* this kernel froze SID 0x18 again for the next jump (PRESERVED), but
	 * the stream it was handed is gone: still lost */
	live_ok(l);
	l[1].state = SMMU_KHO_STREAM_PRESERVED;
	expect_one(t, l, NR, NULL, 1, SKHOPB__STREAM_OUTCOME__OUTCOME_LOST, "lost", 1);
}

static void released_stream_still_counts_as_intact(struct ktest *t)
{
	struct smmu_kho_stream_info l[NR];
	Skhopb__Verification *v;

	live_ok(l);
	l[0].state = SMMU_KHO_STREAM_RELEASED;	/* handed back to the driver */
	v = run(t, l, NR, NULL);
	KEXPECT(t, v && v->nr_ok == 3, "released is not lost");
	skhod_pb_free(v);
}

static void unexpected_adopted_stream_is_only_a_warning(struct ktest *t)
{
	struct smmu_kho_stream_info l[NR + 1];
	Skhopb__Verification *v;

	live_ok(l);
	l[NR] = l[0];
	l[NR].sid = 0x42;
	v = run(t, l, NR + 1, NULL);
	KASSERT(t, v);
	KEXPECT_EQ(t, v->nr_failed, 0);
	KEXPECT_EQ(t, v->n_streams, 1);
	KEXPECT(t, v->n_streams == 1 &&
		v->streams[0]->outcome == SKHOPB__STREAM_OUTCOME__OUTCOME_UNEXPECTED &&
		v->streams[0]->sid == 0x42, "unexpected SID 0x42 listed");
	skhod_pb_free(v);
}

static void every_failing_stream_is_named(struct ktest *t)
{
	struct smmu_kho_stream_info l[NR];
	Skhopb__Verification *v;

	live_ok(l);
	l[0].ste_digest = 1;
	l[2].state = SMMU_KHO_STREAM_REFUSED;
	v = run(t, l, NR, NULL);
	KASSERT(t, v);
	KEXPECT_EQ(t, v->nr_failed, 2);
	KEXPECT(t, strstr(v->summary, "SID 0x10") && strstr(v->summary, "SID 0x19") &&
		!strstr(v->summary, "SID 0x18"), "%s", v->summary);
	skhod_pb_free(v);
}

static void journal_without_streams_is_refused(struct ktest *t)
{
	static const struct skhod_verify_opts none = { 0 };
	Skhopb__Journal *j = skhod_journal_new("u", 1, "a");
	Skhopb__Verification *v = NULL;

	KEXPECT_EQ(t, skhod_verify(j, NULL, NULL, 0, 1, &none, &v), -EINVAL);
	KEXPECT(t, v == NULL, "no result");
	skhod_pb_free(j);
}

/* Run with smmu-khod's recomputation @rw and expect stream @idx to fail. */
static Skhopb__Verification *expect_raw(struct ktest *t, const struct smmu_kho_stream_info *l,
					const struct skhod_raw *rw, int idx, int outcome,
					const char *text, uint32_t lost)
{
	Skhopb__Verification *v = run_raw(t, l, rw, NR, NULL);

	if (!v || v->n_streams != 1) {
		ktest_fail(t, __FILE__, __LINE__, "expected exactly one result, got %zu",
			   v ? v->n_streams : 0);
		abort();	/* the callers read streams[0] */
	}
	KEXPECT_EQ(t, v->nr_failed, 1);		/* only the stream under test */
	KEXPECT_EQ(t, v->nr_lost, lost);
	KEXPECT_EQ(t, v->streams[0]->outcome, outcome);
	KEXPECT_EQ(t, v->streams[0]->sid, streams[idx].sid);
	KEXPECT(t, strstr(v->streams[0]->why, text), "why: %s", v->streams[0]->why);
	return v;
}

static void recomputed_ste_differs_while_the_kernel_agrees(struct ktest *t)
{
	struct smmu_kho_stream_info l[NR];
	struct skhod_raw rw[NR];
	Skhopb__Verification *v;

	live_ok(l);
	raw_ok(l, rw, NR);
	rw[0].ste_digest ^= 4;	/* the live STE bytes digest differently */
	v = expect_raw(t, l, rw, 0, SKHOPB__STREAM_OUTCOME__OUTCOME_STE_CHANGED,
		       "now 0000000000001010 as the kernel reports it, 0000000000001014 as smmu-khod recomputed it from the live STE (disagrees: smmu-khod)", 0);
	KEXPECT(t, !strcmp(v->streams[0]->disagree, "smmu-khod") && v->streams[0]->raw_ste == 0x1014,
		"disagree %s", v->streams[0]->disagree);
	skhod_pb_free(v);
}

static void recomputed_translation_differs_while_the_kernel_agrees(struct ktest *t)
{
	struct smmu_kho_stream_info l[NR];
	struct skhod_raw rw[NR];
	Skhopb__Verification *v;

	live_ok(l);
	raw_ok(l, rw, NR);
	rw[1].xlat_digest = 7;
	v = expect_raw(t, l, rw, 1, SKHOPB__STREAM_OUTCOME__OUTCOME_XLAT_CHANGED,
		       "as smmu-khod recomputed it from the page tables (disagrees: smmu-khod)", 0);
	KEXPECT(t, v->streams[0]->raw_xlat == 7, "raw_xlat");
	skhod_pb_free(v);
}

static void both_sides_changed_says_both(struct ktest *t)
{
	struct smmu_kho_stream_info l[NR];
	struct skhod_raw rw[NR];
	Skhopb__Verification *v;

	live_ok(l);
	raw_ok(l, rw, NR);
	rw[2].xlat_digest = 7;
	l[2].xlat_digest = 8;
	v = expect_raw(t, l, rw, 2, SKHOPB__STREAM_OUTCOME__OUTCOME_XLAT_CHANGED,
		       "(disagrees: both)", 0);
	skhod_pb_free(v);
}

static void unreadable_ste_is_lost(struct ktest *t)
{
	struct smmu_kho_stream_info l[NR];
	struct skhod_raw rw[NR];
	Skhopb__Verification *v;

	live_ok(l);
	raw_ok(l, rw, NR);
	rw[2].ste_ok = rw[2].xlat_ok = false;	/* STREAMS.ste_live == 0 */
	snprintf(rw[2].why, sizeof(rw[2].why), "STE unreadable: test");
	v = expect_raw(t, l, rw, 2, SKHOPB__STREAM_OUTCOME__OUTCOME_LOST,
		       "lost: STE unreadable: test", 1);
	skhod_pb_free(v);
}

static void translation_that_cannot_be_recomputed_fails(struct ktest *t)
{
	struct smmu_kho_stream_info l[NR];
	struct skhod_raw rw[NR];
	Skhopb__Verification *v;

	live_ok(l);
	raw_ok(l, rw, NR);
	rw[0].xlat_ok = false;
	snprintf(rw[0].why, sizeof(rw[0].why), "SKHO_E_OUTSIDE: table at 0x1000 not readable");
	v = expect_raw(t, l, rw, 0, SKHOPB__STREAM_OUTCOME__OUTCOME_XLAT_CHANGED,
		       "cannot recompute it from the handed-over pages: SKHO_E_OUTSIDE", 0);
	skhod_pb_free(v);
}

static void quarantined_stream_fails_as_quarantined(struct ktest *t)
{
	struct smmu_kho_stream_info l[NR];
	struct skhod_raw rw[NR];
	Skhopb__Verification *v;

	live_ok(l);
	raw_ok(l, rw, NR);
	l[1].state = SMMU_KHO_STREAM_QUARANTINED;
	snprintf(l[1].why, sizeof(l[1].why), "quarantined on request");
	/* a quarantined stream no longer translates: it counts as lost */
	v = expect_raw(t, l, rw, 1, SKHOPB__STREAM_OUTCOME__OUTCOME_QUARANTINED,
		       "quarantined (abort STE): quarantined on request", 1);
	skhod_pb_free(v);
}

static void released_stream_is_judged_on_the_kernels_word_only(struct ktest *t)
{
	struct smmu_kho_stream_info l[NR];
	struct skhod_raw rw[NR];
	Skhopb__Verification *v;

	live_ok(l);
	memset(rw, 0, sizeof(rw));	/* nothing recomputed: not ADOPTED */
	l[0].state = l[1].state = l[2].state = SMMU_KHO_STREAM_RELEASED;
	v = run_raw(t, l, rw, NR, NULL);
	KEXPECT(t, v && v->nr_ok == 3, "released streams run the driver's domain");
	skhod_pb_free(v);
}

static void adopted_streams_need_a_recomputation(struct ktest *t)
{
	static const struct skhod_verify_opts none = { 0 };
	struct smmu_kho_stream_info l[NR];
	Skhopb__Journal *j = journal();
	Skhopb__Verification *v = NULL;

	live_ok(l);
	KEXPECT_EQ(t, skhod_verify(j, l, NULL, NR, 1, &none, &v), -EINVAL);
	skhod_pb_free(j);
}

static void no_device_journal_verifies_with_zero_streams(struct ktest *t)
{
	static const struct skhod_verify_opts none = { 0 };
	Skhopb__Journal *j = skhod_journal_new("u", 1, "a");
	Skhopb__Verification *v = NULL;

	j->plan = malloc(sizeof(*j->plan));
	skhopb__plan__init(j->plan);
	j->plan->no_device = true;
	KEXPECT_EQ(t, skhod_verify(j, NULL, NULL, 0, 1, &none, &v), 0);
	KEXPECT(t, v && v->nr_streams == 0 && v->nr_failed == 0, "0 streams, 0 failed");
	skhod_pb_free(v);
	skhod_pb_free(j);
}

static void reasons_past_the_first_64_failures_are_shortened(struct ktest *t)
{
	static const struct skhod_verify_opts none = { 0 };
	Skhopb__Journal *j = skhod_journal_new("u", 1, "a");
	Skhopb__SmmuDigests *sd = malloc(sizeof(*sd));
	Skhopb__Verification *v = NULL;
	uint32_t i;

	/* 70 journaled streams, none in the new kernel: 70 lost */
	skhopb__smmu_digests__init(sd);
	sd->mmio_base = SMMU;
	for (i = 0; i < 70; i++) {
		Skhopb__StreamDigest *s = malloc(sizeof(*s));

		skhopb__stream_digest__init(s);
		s->smmu_base = SMMU;
		s->sid = i;
		SKHOD_PB_PUSH(&sd->streams, &sd->n_streams, s);
	}
	SKHOD_PB_PUSH(&j->pre_jump, &j->n_pre_jump, sd);
	KEXPECT_EQ(t, skhod_verify(j, NULL, NULL, 0, 1, &none, &v), 0);
	KASSERT(t, v && v->n_streams == 70, "every failing stream has a result");
	/* results 0-63 keep the full reason, 64-69 the outcome only: bounded journal */
	KEXPECT(t, !strcmp(v->streams[63]->why, "lost: the new kernel does not report this stream"),
		"%s", v->streams[63]->why);
	KEXPECT(t, !strcmp(v->streams[64]->why,
			   "lost (reason kept for the first 64 failing streams only)"),
		"%s", v->streams[64]->why);
	skhod_pb_free(v);
	skhod_pb_free(j);
}

KTEST_MAIN("daemon_verify",
	   KTEST_CASE(intact_streams_verify_with_zero_lost),
	   KTEST_CASE(missing_stream_is_lost),
	   KTEST_CASE(same_sid_on_another_smmu_does_not_count),
	   KTEST_CASE(refused_stream_carries_the_kernels_reason),
	   KTEST_CASE(changed_ste_digest_fails),
	   KTEST_CASE(changed_translation_digest_fails),
	   KTEST_CASE(events_up_to_the_tolerance_pass_beyond_fail),
	   KTEST_CASE(failed_probe_fails_the_stream),
	   KTEST_CASE(outgoing_entries_of_the_same_sid_are_not_the_adopted_stream),
	   KTEST_CASE(released_stream_still_counts_as_intact),
	   KTEST_CASE(unexpected_adopted_stream_is_only_a_warning),
	   KTEST_CASE(every_failing_stream_is_named),
	   KTEST_CASE(journal_without_streams_is_refused),
	   KTEST_CASE(recomputed_ste_differs_while_the_kernel_agrees),
	   KTEST_CASE(recomputed_translation_differs_while_the_kernel_agrees),
	   KTEST_CASE(both_sides_changed_says_both),
	   KTEST_CASE(unreadable_ste_is_lost),
	   KTEST_CASE(translation_that_cannot_be_recomputed_fails),
	   KTEST_CASE(quarantined_stream_fails_as_quarantined),
	   KTEST_CASE(released_stream_is_judged_on_the_kernels_word_only),
	   KTEST_CASE(adopted_streams_need_a_recomputation),
	   KTEST_CASE(no_device_journal_verifies_with_zero_streams),
	   KTEST_CASE(reasons_past_the_first_64_failures_are_shortened))
