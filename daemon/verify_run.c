// SPDX-License-Identifier: GPL-2.0-only
/* smmu-khod verification after the jump: active probe, own digests, quarantine, verdict. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "khod_internal.h"
#include "log.h"
#include "pbutil.h"
#include "recompute.h"

extern char **environ;

static int run_probe(void *arg, const Skhopb__StreamDigest *s, char *why, size_t wl)
{
	struct skhod *d = arg;
	char sid[32], smmu[40], dev[64];
	char *argv[] = { "/bin/sh", "-c", (char *)d->o.probe_cmd, NULL };
	char **env;
	size_t n = 0, i;
	pid_t pid;
	int st, r;

	while (environ[n])
		n++;
	env = calloc(n + 4, sizeof(*env));
	if (!env) {
		snprintf(why, wl, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++)
		env[i] = environ[i];
	snprintf(sid, sizeof(sid), "SKHO_SID=0x%x", s->sid);
	snprintf(smmu, sizeof(smmu), "SKHO_SMMU=0x%" PRIx64, s->smmu_base);
	snprintf(dev, sizeof(dev), "SKHO_DEVICE=%s", s->device);
	env[n] = sid;
	env[n + 1] = smmu;
	env[n + 2] = dev;
	r = posix_spawn(&pid, argv[0], NULL, NULL, argv, env);
	free(env);
	if (r) {
		snprintf(why, wl, "cannot run the probe: %s", strerror(r));
		return -1;
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			snprintf(why, wl, "waitpid: %s", strerror(errno));
			return -1;
		}
	if (WIFEXITED(st) && !WEXITSTATUS(st))
		return 0;
	if (WIFEXITED(st))
		snprintf(why, wl, "probe command exited %d", WEXITSTATUS(st));
	else
		snprintf(why, wl, "probe command killed by signal %d", WTERMSIG(st));
	return -1;
}

/*
 * STREAMS, smmu-khod's own digests of the ADOPTED streams (live STE bytes,
 * handed-over pages through READ, OAS from the incoming FDT), then the
 * verification.  *@live[*@nlive] is left to the caller.  Errors: -errno of
 * STREAMS (@why set), those of skhod_verify(), -ENOMEM.
 */
int skhod_verify_live(struct skhod *d, const struct skhod_verify_opts *vo,
		      struct smmu_kho_stream_info **live, uint32_t *nlive,
		      Skhopb__Verification **v, char *why, size_t wl)
{
	struct skhod_raw *raw;
	void *fdt = NULL;
	size_t fl = 0;
	int r;

	*live = NULL;
	*nlive = 0;
	r = d->be->ops->streams(d->be, live, nlive);
	if (r) {
		snprintf(why, wl, "cannot list the adopted streams: %s", skhod_be_err(d, r));
		return r;
	}
	if (d->be->ops->get_fdt(d->be, SMMU_KHO_FDT_IN, &fdt, &fl)) {
		d->be->err[0] = 0;	/* no incoming snapshot: nothing recomputes */
		fdt = NULL;
	}
	raw = calloc(*nlive ? *nlive : 1, sizeof(*raw));
	r = raw ? skhod_recompute(d->be, SMMU_KHO_FDT_IN, fdt, fl, *live, *nlive,
				  SMMU_KHO_STREAM_ADOPTED, raw) : -ENOMEM;
	if (!r)
		r = skhod_verify(d->j, *live, raw, *nlive, skhod_now_ns(d), vo, v);
	free(raw);
	free(fdt);
	if (r)
		snprintf(why, wl, "verification could not run: %s", strerror(-r));
	return r;
}

/*
 * Every failing stream the kernel still reports ADOPTED: QUARANTINE its
 * device (abort STE) before the verdict, then read back how many streams
 * the kernel reports QUARANTINED.  Failures are logged and named in the
 * result's why; the verdict is FAILED either way.
 */
static void quarantine_failed(struct skhod *d, Skhopb__Verification *v,
			      const struct smmu_kho_stream_info *live, uint32_t nlive)
{
	struct smmu_kho_stream_info *after = NULL;
	uint32_t nafter = 0, i, q = 0;
	size_t a, b;
	bool any = false;

	for (a = 0; a < v->n_streams; a++) {
		Skhopb__StreamResult *res = v->streams[a];
		char dev[sizeof(live->dev) + 1] = "";
		int r;

		if (res->outcome == SKHOPB__STREAM_OUTCOME__OUTCOME_UNEXPECTED ||
		    res->quarantined)
			continue;
		for (i = 0; i < nlive; i++)
			if (live[i].smmu_base == res->smmu_base && live[i].sid == res->sid &&
			    live[i].state == SMMU_KHO_STREAM_ADOPTED)
				break;
		if (i == nlive)
			continue;
		memcpy(dev, live[i].dev, sizeof(live[i].dev));
		if (!dev[0])
			snprintf(dev, sizeof(dev), "%s", res->device);
		r = d->be->ops->quarantine(d->be, dev);
		if (r) {
			char *w = NULL;

			log_err("QUARANTINE %s (SID 0x%x) failed: %s", dev, res->sid, skhod_be_err(d, r));
			if (asprintf(&w, "%s; QUARANTINE %s failed: %s", res->why, dev,
				     strerror(-r)) >= 0) {
				if (res->why != protobuf_c_empty_string)
					free(res->why);
				res->why = w;
			}
			continue;
		}
		log_warn("quarantined %s: SID 0x%x failed verification, its STEs are abort now",
			 dev, res->sid);
		any = true;
		/* the device's other failing streams went with it */
		for (b = a; b < v->n_streams; b++)
			if (!strcmp(v->streams[b]->device, res->device))
				v->streams[b]->quarantined = true;
	}
	if (!any || d->be->ops->streams(d->be, &after, &nafter)) {
		d->be->err[0] = 0;
		return;
	}
	for (i = 0; i < nafter; i++)
		q += after[i].state == SMMU_KHO_STREAM_QUARANTINED;
	free(after);
	v->nr_quarantined = q;
	if (q) {
		char *sum = NULL;

		if (asprintf(&sum, "%s; %u stream(s) quarantined (abort STE)", v->summary, q) >= 0) {
			if (v->summary != protobuf_c_empty_string)
				free(v->summary);
			v->summary = sum;
		}
	}
}

/* Run the DMA-flow check and move RECOVERED/VERIFIED on. */
int skhod_verify_run(struct skhod *d, bool probe, char *why, size_t wl)
{
	struct skhod_verify_opts vo = { .max_events = d->o.max_events };
	struct smmu_kho_stream_info *live = NULL;
	Skhopb__Verification *v = NULL;
	uint32_t nlive = 0;
	int st = d->j->state, r;

	if (probe && d->o.probe_cmd) {
		vo.probe = run_probe;
		vo.probe_arg = d;
	}
	r = skhod_verify_live(d, &vo, &live, &nlive, &v, why, wl);
	if (!r && v->nr_failed)
		quarantine_failed(d, v, live, nlive);
	free(live);
	if (r)
		return r;
	skhod_pb_free(d->j->verification);
	d->j->verification = v;
	skhod_crashpoint("verify.done");
	if (st == SKHOD_RECOVERED && !v->nr_failed)
		r = skhod_transition(d, SKHOD_VERIFIED, "%s", v->summary);
	else if ((st == SKHOD_RECOVERED || st == SKHOD_VERIFIED) && v->nr_failed)
		r = skhod_transition(d, SKHOD_FAILED, "verification failed: %s", v->summary);
	else
		r = skhod_commit(d);
	if (r)
		snprintf(why, wl, "journal write failed: %s", strerror(-r));
	return r;
}

/*
 * Incoming streams the kernel reports RELEASED: finish ran (at least in
 * part) in this boot.  0 when STREAMS does not answer.
 */
static uint32_t nr_released(struct skhod *d)
{
	struct smmu_kho_stream_info *live = NULL;
	uint32_t n = 0, i, c = 0;

	if (d->be->ops->streams(d->be, &live, &n)) {
		d->be->err[0] = 0;
		return 0;
	}
	for (i = 0; i < n; i++)
		c += live[i].state == SMMU_KHO_STREAM_RELEASED;
	free(live);
	return c;
}

Skhopb__Response *skhod_op_verify(struct skhod *d, const Skhopb__VerifyRequest *v)
{
	char why[300];
	int st = d->j->state;
	Skhopb__Response *resp;
	uint32_t released;

	if (st != SKHOD_RECOVERED && st != SKHOD_VERIFIED && st != SKHOD_FAILED)
		return skhod_respond(d, SKHOD_RC_WRONG_STATE, NULL, "nothing to verify in state %s (verification runs after the jump)",
			       skhod_state_name(st));
	if (st == SKHOD_FAILED && !d->j->n_pre_jump)
		return skhod_respond(d, SKHOD_RC_WRONG_STATE, NULL, "this update failed before any stream was journaled");
	if (v->probe && !d->o.probe_cmd)
		return skhod_respond(d, SKHOD_RC_BAD_REQUEST, "start smmu-khod with --probe-cmd CMD to enable the active probe",
			       "no probe command configured");
	released = nr_released(d);
	if (released)
		return skhod_respond(d, SKHOD_RC_WRONG_STATE, "run `smmu-khoctl finish` to complete it",
			       "%u stream(s) already released to the driver (an interrupted finish): their digests no longer describe the handover",
			       released);
	if (skhod_verify_run(d, v->probe, why, sizeof(why)))
		return skhod_respond(d, SKHOD_RC_BACKEND, "retry `smmu-khoctl verify`; see the daemon log",
			       "%s", why);
	if (d->j->verification->nr_failed) {
		resp = skhod_respond(d, SKHOD_RC_VERIFY_FAILED, skhod_state_hint(SKHOD_FAILED),
			       "verification failed: %s", d->j->verification->summary);
	} else {
		resp = skhod_respond(d, SKHOD_RC_OK, NULL, NULL);
		if (resp && st == SKHOD_FAILED)
			skhod_pb_setstr(&resp->hint,
					"every stream checks out now, but the update stays FAILED: run `smmu-khoctl finish`");
	}
	if (resp && !(resp->verification = skhod_pb_dup(d->j->verification))) {
		skhod_pb_free(resp);
		return NULL;
	}
	return resp;
}
