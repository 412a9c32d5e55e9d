// SPDX-License-Identifier: GPL-2.0-only
/* smmu-khod control replies: result code, message, hint and the full status. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "khod_internal.h"
#include "log.h"
#include "pbutil.h"
#include "skho_handover.h"

/* STATUS fields of the second revision: the last RELEASE, the table pages it gave back. */
static int kernel_status_handback(Skhopb__KernelStatus *k, const struct smmu_kho_status *st)
{
	char why[sizeof(st->release_why) + 1];

	memcpy(why, st->release_why, sizeof(st->release_why));
	why[sizeof(st->release_why)] = 0;
	k->release_error = st->release_error;
	k->nr_released_hitless = st->nr_released_hitless;
	k->release_ns = st->release_ns;
	k->out_preserved_pages = st->out_preserved_pages;
	k->in_adopted_pages = st->in_adopted_pages;
	k->in_kept_pages = st->in_kept_pages;
	k->in_freed_pages = st->in_freed_pages;
	k->nr_asids_freed = st->nr_asids_freed;
	k->nr_vmids_freed = st->nr_vmids_freed;
	return skhod_pb_setstr(&k->release_why, why);
}

/* STATUS fields of the first revision: why refused, quarantined, dropped. */
static int kernel_status_ext(Skhopb__KernelStatus *k, const struct smmu_kho_status *st)
{
	char in_why[sizeof(st->in_why) + 1], out_why[sizeof(st->out_why) + 1];

	memcpy(in_why, st->in_why, sizeof(st->in_why));
	in_why[sizeof(st->in_why)] = 0;
	memcpy(out_why, st->out_why, sizeof(st->out_why));
	out_why[sizeof(st->out_why)] = 0;
	k->in_error = st->in_error;
	k->out_error = st->out_error;
	k->nr_quarantined = st->nr_quarantined;
	k->nr_dropped = st->nr_dropped;
	if (kernel_status_handback(k, st))
		return -ENOMEM;
	if (skhod_pb_setstr(&k->in_why, in_why) || skhod_pb_setstr(&k->out_why, out_why) ||
	    skhod_pb_setstr(&k->in_error_name, st->in_error ? skho_strerror(st->in_error) : ""))
		return -ENOMEM;
	return 0;
}

static Skhopb__Status *build_status(struct skhod *d)
{
	Skhopb__Status *s = malloc(sizeof(*s));
	Skhopb__KernelStatus *k = malloc(sizeof(*k));
	struct smmu_kho_status st;
	Skhopb__Journal *j = d->j;
	int r;

	if (!s || !k) {
		free(s);
		free(k);
		return NULL;
	}
	skhopb__status__init(s);
	skhopb__kernel_status__init(k);
	s->kernel = k;
	s->state = j->state;
	s->since_ns = j->n_history ? j->history[j->n_history - 1]->time_ns : 0;
	s->nr_streams = skhod_journal_nr_streams(j);
	s->seq = j->seq;
	s->verdict = j->verdict;
	s->restarts = j->restarts;
	if (skhod_pb_setstr(&s->update_id, j->update_id) ||
	    skhod_pb_setstr(&s->reason, j->reason) ||
	    skhod_pb_setstr(&s->daemon_version, SKHOD_VERSION) ||
	    skhod_pb_setstr(&s->backend, d->be->name))
		goto fail;
	if (j->plan && !(s->plan = skhod_pb_dup(j->plan)))
		goto fail;
	if (j->verification && !(s->verification = skhod_pb_dup(j->verification)))
		goto fail;
	if (j->handback && !(s->handback = skhod_pb_dup(j->handback)))
		goto fail;
	r = d->be->ops->status(d->be, &st);
	if (r) {
		if (skhod_pb_setstr(&k->error, skhod_be_err(d, r)))
			goto fail;
	} else {
		bool loaded = false;

		d->be->ops->kexec_loaded(d->be, &loaded);
		k->available = true;
		k->out_state = st.out_state;
		k->in_state = st.in_state;
		k->nr_out_streams = st.nr_out_streams;
		k->nr_in_streams = st.nr_in_streams;
		k->nr_adopted = st.nr_adopted;
		k->nr_refused = st.nr_refused;
		k->nr_released = st.nr_released;
		k->kexec_loaded = loaded;
		k->freeze_ns = st.freeze_ns;
		k->adopt_ns = st.adopt_ns;
		if (kernel_status_ext(k, &st))
			goto fail;
	}
	return s;
fail:
	skhod_pb_free(s);
	return NULL;
}

/* The state's next step, or, after a refused hitless finish, how to end the update. */
static const char *state_hint(const Skhopb__Journal *j)
{
	if ((j->state == SKHOD_VERIFIED || j->state == SKHOD_FAILED) && j->handback &&
	    j->handback->refused_device[0])
		return "finish was refused, not hitless (see hand-back): make the owner map the same IOVAs and "
		       "retry `smmu-khoctl finish`, or `smmu-khoctl finish --replace` if its driver re-initialised the device";
	return skhod_state_hint(j->state);
}

Skhopb__Response *skhod_respond(struct skhod *d, int code, const char *hint,
				const char *fmt, ...)
{
	Skhopb__Response *r;
	char msg[768] = "";
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	r = skhod_ctl_error(code, hint ? hint : state_hint(d->j), "%s", msg);
	if (!r)
		return NULL;
	r->status = build_status(d);
	if (!r->status) {
		skhod_pb_free(r);
		return NULL;
	}
	if (code)
		log_warn("request failed: %s", msg);
	return r;
}
