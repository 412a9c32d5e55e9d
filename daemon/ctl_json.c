// SPDX-License-Identifier: GPL-2.0-only
/* smmu-khoctl --json output: status, verification and history built with json-c. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>

#include <json-c/json.h>

#include "ctl.h"
#include "state.h"
#include "verify.h"

/*
 * --json output, built with json-c.  A constructor that fails (ENOMEM)
 * sets json_oom; json_print() then prints nothing and fails.  The helpers
 * accept a NULL container (an earlier allocation failed) and drop @v.
 */
static bool json_oom;

static json_object *json_new(json_object *o)
{
	if (!o)
		json_oom = true;
	return o;
}

/* @o[@key] = @v; @null_ok: a NULL @v is JSON null (no plan, ...), not ENOMEM. */
static void json_put(json_object *o, const char *key, json_object *v, bool null_ok)
{
	if (!o || (!v && !null_ok) || json_object_object_add(o, key, v)) {
		json_object_put(v);
		json_oom = true;
	}
}

static void json_set(json_object *o, const char *key, json_object *v)
{
	json_put(o, key, v, false);
}

static void json_push(json_object *a, json_object *v)
{
	if (!a || !v || json_object_array_add(a, v)) {
		json_object_put(v);
		json_oom = true;
	}
}

static json_object *json_string(const char *s)
{
	return json_object_new_string(s ? s : "");
}

static json_object *json_time(uint64_t ns)
{
	char t[32];

	skhoctl_fmt_time(ns, t, sizeof(t));
	return json_string(t);
}

static json_object *json_plan(const Skhopb__Plan *p)
{
	json_object *o, *devs;
	size_t i;

	if (!p)
		return NULL;
	o = json_new(json_object_new_object());
	json_set(o, "kernel", json_string(p->kernel));
	json_set(o, "initrd", json_string(p->initrd));
	json_set(o, "cmdline", json_string(p->cmdline));
	json_set(o, "reuse_cmdline", json_object_new_boolean(p->reuse_cmdline));
	json_set(o, "no_device", json_object_new_boolean(p->no_device));
	devs = json_new(json_object_new_array());
	for (i = 0; i < p->n_devices; i++)
		json_push(devs, json_string(p->devices[i]));
	json_set(o, "devices", devs);
	if (!p->n_choices && !p->nr_not_vfio)
		return o;
	devs = json_new(json_object_new_array());
	for (i = 0; i < p->n_choices; i++) {
		json_object *c = json_new(json_object_new_object());

		json_set(c, "device", json_string(p->choices[i]->device));
		json_set(c, "selected", json_object_new_boolean(p->choices[i]->selected));
		json_set(c, "reason", json_string(p->choices[i]->reason));
		json_push(devs, c);
	}
	json_set(o, "choices", devs);
	json_set(o, "nr_not_vfio", json_object_new_int64(p->nr_not_vfio));
	json_set(o, "nr_unlisted", json_object_new_int64(p->nr_unlisted));
	return o;
}

static json_object *json_result(const Skhopb__StreamResult *r)
{
	json_object *o = json_new(json_object_new_object());
	char base[24];

	snprintf(base, sizeof(base), "0x%" PRIx64, r->smmu_base);
	json_set(o, "smmu_base", json_string(base));
	json_set(o, "sid", json_object_new_int64(r->sid));
	json_set(o, "device", json_string(r->device));
	json_set(o, "outcome", json_string(skhod_outcome_name(r->outcome)));
	json_set(o, "events", json_object_new_int64(r->events));
	json_set(o, "quarantined", json_object_new_boolean(r->quarantined));
	json_set(o, "disagree", json_string(r->disagree));
	json_set(o, "why", json_string(r->why));
	return o;
}

static json_object *json_verification(const Skhopb__Verification *v)
{
	json_object *o, *res;
	size_t i;

	if (!v)
		return NULL;
	o = json_new(json_object_new_object());
	json_set(o, "time", json_time(v->time_ns));
	json_set(o, "nr_streams", json_object_new_int64(v->nr_streams));
	json_set(o, "nr_ok", json_object_new_int64(v->nr_ok));
	json_set(o, "nr_failed", json_object_new_int64(v->nr_failed));
	json_set(o, "nr_lost", json_object_new_int64(v->nr_lost));
	json_set(o, "nr_quarantined", json_object_new_int64(v->nr_quarantined));
	json_set(o, "probed", json_object_new_boolean(v->probed));
	json_set(o, "recomputed", json_object_new_boolean(v->recomputed));
	json_set(o, "summary", json_string(v->summary));
	res = json_new(json_object_new_array());
	for (i = 0; i < v->n_streams; i++)
		json_push(res, json_result(v->streams[i]));
	json_set(o, "results", res);
	return o;
}

static json_object *json_kernel(const Skhopb__KernelStatus *k)
{
	json_object *o;

	if (!k)
		return NULL;
	o = json_new(json_object_new_object());
	json_set(o, "available", json_object_new_boolean(k->available));
	json_set(o, "error", json_string(k->error));
	json_set(o, "out_state", json_string(skhod_kstate_name(k->out_state)));
	json_set(o, "in_state", json_string(skhod_kstate_name(k->in_state)));
	json_set(o, "nr_out_streams", json_object_new_int64(k->nr_out_streams));
	json_set(o, "nr_in_streams", json_object_new_int64(k->nr_in_streams));
	json_set(o, "nr_adopted", json_object_new_int64(k->nr_adopted));
	json_set(o, "nr_refused", json_object_new_int64(k->nr_refused));
	json_set(o, "nr_released", json_object_new_int64(k->nr_released));
	json_set(o, "nr_quarantined", json_object_new_int64(k->nr_quarantined));
	json_set(o, "nr_dropped", json_object_new_int64(k->nr_dropped));
	json_set(o, "in_error", json_object_new_int(k->in_error));
	json_set(o, "in_error_name", json_string(k->in_error_name));
	json_set(o, "in_why", json_string(k->in_why));
	json_set(o, "out_error", json_object_new_int(k->out_error));
	json_set(o, "out_why", json_string(k->out_why));
	json_set(o, "kexec_loaded", json_object_new_boolean(k->kexec_loaded));
	json_set(o, "release_error", json_object_new_int(k->release_error));
	json_set(o, "release_why", json_string(k->release_why));
	json_set(o, "nr_released_hitless", json_object_new_int64(k->nr_released_hitless));
	json_set(o, "release_ns", json_object_new_uint64(k->release_ns));
	json_set(o, "out_preserved_pages", json_object_new_uint64(k->out_preserved_pages));
	json_set(o, "in_adopted_pages", json_object_new_uint64(k->in_adopted_pages));
	json_set(o, "in_kept_pages", json_object_new_uint64(k->in_kept_pages));
	json_set(o, "in_freed_pages", json_object_new_uint64(k->in_freed_pages));
	json_set(o, "nr_asids_freed", json_object_new_int64(k->nr_asids_freed));
	json_set(o, "nr_vmids_freed", json_object_new_int64(k->nr_vmids_freed));
	return o;
}

static json_object *json_handback(const Skhopb__HandBack *h)
{
	json_object *o;

	if (!h)
		return NULL;
	o = json_new(json_object_new_object());
	json_set(o, "replace", json_object_new_boolean(h->replace));
	json_set(o, "time", json_time(h->time_ns));
	json_set(o, "refused", json_object_new_boolean(h->refused_device[0] != 0));
	json_set(o, "refused_device", json_string(h->refused_device));
	json_set(o, "why", json_string(h->why));
	return o;
}

static json_object *json_status(const Skhopb__Status *s, const char *hint)
{
	json_object *o = json_new(json_object_new_object());

	json_set(o, "state", json_string(skhod_state_name(s->state)));
	json_set(o, "since", json_time(s->since_ns));
	json_set(o, "since_ns", json_object_new_uint64(s->since_ns));
	json_set(o, "update_id", json_string(s->update_id));
	json_set(o, "seq", json_object_new_uint64(s->seq));
	json_set(o, "restarts", json_object_new_int64(s->restarts));
	json_set(o, "verdict", json_string(skhoctl_verdict_name(s->verdict)));
	json_set(o, "reason", json_string(s->reason));
	json_put(o, "plan", json_plan(s->plan), !s->plan);
	json_set(o, "nr_streams", json_object_new_int64(s->nr_streams));
	json_put(o, "verification", json_verification(s->verification), !s->verification);
	json_put(o, "kernel", json_kernel(s->kernel), !s->kernel);
	json_put(o, "handback", json_handback(s->handback), !s->handback);
	json_set(o, "daemon_version", json_string(s->daemon_version));
	json_set(o, "backend", json_string(s->backend));
	json_set(o, "next", json_string(hint));
	return o;
}

static json_object *json_phase(const Skhopb__PhaseEvent *ev)
{
	json_object *o = json_new(json_object_new_object());

	json_set(o, "state", json_string(skhod_state_name(ev->state)));
	json_set(o, "time", json_time(ev->time_ns));
	json_set(o, "boot_id", json_string(ev->boot_id));
	json_set(o, "reason", json_string(ev->reason));
	return o;
}

static json_object *json_journal(const Skhopb__Journal *j)
{
	json_object *o = json_new(json_object_new_object()), *phases;
	size_t e;

	json_set(o, "update_id", json_string(j->update_id));
	json_set(o, "state", json_string(skhod_state_name(j->state)));
	json_set(o, "verdict", json_string(skhoctl_verdict_name(j->verdict)));
	json_set(o, "reason", json_string(j->reason));
	json_set(o, "seq", json_object_new_uint64(j->seq));
	json_set(o, "nr_streams", json_object_new_int64(skhod_journal_nr_streams(j)));
	json_put(o, "plan", json_plan(j->plan), !j->plan);
	json_put(o, "verification", json_verification(j->verification), !j->verification);
	json_put(o, "handback", json_handback(j->handback), !j->handback);
	phases = json_new(json_object_new_array());
	for (e = 0; e < j->n_history; e++)
		json_push(phases, json_phase(j->history[e]));
	json_set(o, "phases", phases);
	return o;
}

static json_object *json_history(const Skhopb__Response *r)
{
	json_object *a = json_new(json_object_new_array());
	size_t i;

	for (i = 0; i < r->n_history; i++)
		json_push(a, json_journal(r->history[i]));
	return a;
}

/* Print @o (consumed) as indented JSON and a newline; -ENOMEM: nothing printed. */
static int json_print(json_object *o)
{
	int r = 0;

	if (!o || json_oom) {
		fprintf(stderr, "smmu-khoctl: out of memory formatting JSON\n");
		r = -ENOMEM;
	} else {
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						    JSON_C_TO_STRING_SPACED |
						    JSON_C_TO_STRING_NOSLASHESCAPE));
	}
	json_object_put(o);
	json_oom = false;
	return r;
}

int skhoctl_json_status(const Skhopb__Status *s, const char *hint)
{
	return json_print(json_status(s, hint));
}

int skhoctl_json_verification(const Skhopb__Verification *v)
{
	return json_print(json_verification(v));
}

int skhoctl_json_history(const Skhopb__Response *r)
{
	return json_print(json_history(r));
}

int skhoctl_json_plan(const Skhopb__Plan *p)
{
	return json_print(json_plan(p));
}
