// SPDX-License-Identifier: GPL-2.0-only
/* smmu-khod core: the update operations, crash recovery and the request handler. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "khod.h"
#include "log.h"
#include "pbutil.h"
#include "recompute.h"
#include "sd_shim.h"
#include "skho_handover.h"
#include "state.h"
#include "verify.h"

extern char **environ;

#define OK	SKHOPB__RESULT_CODE__RC_OK
#define EFAIL	SKHOPB__RESULT_CODE__RC_FAILED
#define EBADREQ	SKHOPB__RESULT_CODE__RC_BAD_REQUEST
#define ESTATE	SKHOPB__RESULT_CODE__RC_WRONG_STATE
#define EVERIFY	SKHOPB__RESULT_CODE__RC_VERIFY_FAILED
#define EBACKEND SKHOPB__RESULT_CODE__RC_BACKEND

/* History replies stop adding journals past this many bytes. */
#define SKHOD_FRAME_BUDGET	(SKHOD_FRAME_MAX - 4096)

/* ---- small helpers ---- */

static uint64_t now_ns(struct skhod *d)
{
	return d->be->ops->now_ns(d->be);
}

static void crash(struct skhod *d, const char *point)
{
	d->be->ops->crashpoint(d->be, point);
}

static void journal_crash(void *arg, const char *point)
{
	crash(arg, point);
}

static const char *be_err(struct skhod *d, int r)
{
	static char buf[200];

	if (d->be->err[0])
		snprintf(buf, sizeof(buf), "%s", d->be->err);
	else
		snprintf(buf, sizeof(buf), "%s", strerror(-r));
	d->be->err[0] = 0;
	return buf;
}

static bool kernel_view(struct skhod *d, struct skhod_kview *k,
			struct smmu_kho_status *stp)
{
	struct smmu_kho_status st;
	bool loaded = false;

	if (d->be->ops->status(d->be, &st)) {
		d->be->err[0] = 0;
		return false;
	}
	d->be->ops->kexec_loaded(d->be, &loaded);
	k->out_state = st.out_state;
	k->in_state = st.in_state;
	k->nr_out_streams = st.nr_out_streams;
	k->kexec_loaded = loaded;
	if (stp)
		*stp = st;
	return true;
}

void skhod_status_line(const struct skhod *d, char *buf, size_t len)
{
	const Skhopb__Journal *j = d->j;

	switch (j->state) {
	case SKHOD_PRESERVED:
		snprintf(buf, len, "STATUS=PRESERVED: %u streams frozen, kernel loaded",
			 skhod_journal_nr_streams(j));
		break;
	case SKHOD_VERIFIED:
	case SKHOD_FAILED:
	case SKHOD_FINISHED:
		/* state and verdict first: what `systemctl status` shows */
		snprintf(buf, len, "STATUS=%s: %s; verdict %s", skhod_state_name(j->state),
			 j->verification ? j->verification->summary : j->reason ? j->reason : "",
			 j->verdict == SKHOPB__VERDICT__VERDICT_PASS ? "PASS" :
			 j->verdict == SKHOPB__VERDICT__VERDICT_FAIL ? "FAIL" : "none");
		break;
	case SKHOD_ABORTED:
	case SKHOD_NEEDS_ATTENTION:
		snprintf(buf, len, "STATUS=%s: %s", skhod_state_name(j->state), j->reason);
		break;
	default:
		snprintf(buf, len, "STATUS=%s", skhod_state_name(j->state));
	}
	buf[strcspn(buf, "\n")] = 0;
}

static void notify_status(struct skhod *d)
{
	char buf[300];

	skhod_status_line(d, buf, sizeof(buf));
	skhod_sd_notify(buf);
}

/*
 * Enter @to and commit.  On a journal write failure the in-memory journal
 * is restored, so memory never runs ahead of the disk.
 */
/*
 * Structured journal entries of a state change (docs/daemon.md, "systemd"):
 * one with MESSAGE_ID SKHOD_MSGID_BASE + state, SKHO_UPDATE_ID, SKHO_STATE;
 * then, in states that hold pre-jump digests, one per journaled stream
 * (first 64) with SKHO_SID, SKHO_SMMU, SKHO_DEVICE too, so that
 * `journalctl -u smmu-khod SKHO_SID=0x10` follows one stream.
 */
#define SKHOD_MSGID_BASE "8b5e1a0c4f2d4e6a9c3b7d1e5f0a2c"	/* + 2 hex digits: the state */
static void journal_event(struct skhod *d, int to, const char *reason)
{
	char msg[700], id[64], upd[96], st[48], sid[32], smmu[48], dev[96];
	const char *f[10];
	size_t i, k, n = 0;

	snprintf(id, sizeof(id), "MESSAGE_ID=" SKHOD_MSGID_BASE "%02x", (unsigned int)to & 0xff);
	snprintf(upd, sizeof(upd), "SKHO_UPDATE_ID=%s", d->j->update_id);
	snprintf(st, sizeof(st), "SKHO_STATE=%s", skhod_state_name(to));
	snprintf(msg, sizeof(msg), "MESSAGE=state %s%s%s", skhod_state_name(to),
		 reason[0] ? ": " : "", reason);
	f[0] = msg; f[1] = id; f[2] = "PRIORITY=5"; f[3] = upd; f[4] = st; f[5] = NULL;
	if (skhod_sd_journal_send(f) <= 0)
		return;	/* not under journald, or it failed: stderr has the line */
	for (i = 0; i < d->j->n_pre_jump; i++)
		for (k = 0; k < d->j->pre_jump[i]->n_streams && n < 64; k++, n++) {
			const Skhopb__StreamDigest *sd = d->j->pre_jump[i]->streams[k];

			snprintf(sid, sizeof(sid), "SKHO_SID=0x%x", sd->sid);
			snprintf(smmu, sizeof(smmu), "SKHO_SMMU=0x%" PRIx64, sd->smmu_base);
			snprintf(dev, sizeof(dev), "SKHO_DEVICE=%s", sd->device);
			snprintf(msg, sizeof(msg), "MESSAGE=stream SID 0x%x (%s) on SMMU 0x%" PRIx64
				 ": update %s", sd->sid, sd->device, sd->smmu_base,
				 skhod_state_name(to));
			f[0] = msg; f[1] = id; f[2] = "PRIORITY=6"; f[3] = upd; f[4] = st;
			f[5] = sid; f[6] = smmu; f[7] = dev; f[8] = NULL;
			skhod_sd_journal_send(f);
		}
}

static int enter(struct skhod *d, int to, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int enter(struct skhod *d, int to, const char *fmt, ...)
{
	Skhopb__Journal *saved = skhod_pb_dup(d->j);
	struct skhod_kview k;
	char reason[512] = "";
	va_list ap;
	int r;

	if (!saved)
		return -ENOMEM;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(reason, sizeof(reason), fmt, ap);
		va_end(ap);
	}
	r = skhod_enter(d->j, to, now_ns(d), d->boot_id, reason);
	if (!r)
		r = skhod_journal_commit(&d->js, d->j);
	if (r) {
		log_err("cannot enter %s: %s", skhod_state_name(to), strerror(-r));
		skhod_pb_free(d->j);
		d->j = saved;
		return r;
	}
	skhod_pb_free(saved);
	log_notice("state %s%s%s", skhod_state_name(to), reason[0] ? ": " : "", reason);
	journal_event(d, to, reason);
	SKHOD_CHECK(d->j, kernel_view(d, &k, NULL) ? &k : NULL);
	notify_status(d);
	return 0;
}

/* Commit without a transition (verification refreshed, restart counted). */
static int commit(struct skhod *d)
{
	struct skhod_kview k;
	int r = skhod_journal_commit(&d->js, d->j);

	if (r)
		log_err("journal commit failed: %s", strerror(-r));
	else
		SKHOD_CHECK(d->j, kernel_view(d, &k, NULL) ? &k : NULL);
	return r;
}

/* ---- LUO: the journal memfd crosses the jump in session "smmu-khod" ---- */

static void luo_drop(struct skhod *d)
{
	if (d->luo_sfd < 0)
		return;
	close(d->luo_sfd);
	d->luo_sfd = -1;
	skhod_sd_notify("FDSTOREREMOVE=1\nFDNAME=luo-session");
}

static int luo_hold(struct skhod *d)
{
	int sfd, r;

	if (d->luo_sfd >= 0 || d->o.handover_fdstore)
		return 0;
	if (d->js.memfd < 0)
		return -ENOENT;
	r = d->be->ops->luo_create(d->be, SKHOD_LUO_SESSION, &sfd);
	if (r)
		return r;
	r = d->be->ops->luo_preserve_fd(d->be, sfd, d->js.memfd, SKHOD_LUO_TOKEN);
	if (r) {
		close(sfd);
		return r;
	}
	d->luo_sfd = sfd;
	/* If we crash, systemd keeps the session (and the preservation) alive. */
	skhod_sd_notify_fds("FDSTORE=1\nFDNAME=luo-session", &sfd, 1);
	return 0;
}

/* ---- responses ---- */

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
	r = d->be->ops->status(d->be, &st);
	if (r) {
		if (skhod_pb_setstr(&k->error, be_err(d, r)))
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

static Skhopb__Response *respond(struct skhod *d, int code, const char *hint,
				 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static Skhopb__Response *respond(struct skhod *d, int code, const char *hint,
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
	r = skhod_ctl_error(code, hint ? hint : skhod_state_hint(d->j->state), "%s", msg);
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

/* ---- plan validation ---- */

static bool pci_name_ok(const char *s)
{
	/* DDDD:BB:DD.F, hex, function 0-7 */
	static const char pat[] = "hhhh:hh:hh.f";
	size_t i;

	if (strlen(s) != sizeof(pat) - 1)
		return false;
	for (i = 0; pat[i]; i++) {
		if (pat[i] == 'h' && !isxdigit((unsigned char)s[i]))
			return false;
		if (pat[i] == 'f' && (s[i] < '0' || s[i] > '7'))
			return false;
		if ((pat[i] == ':' || pat[i] == '.') && s[i] != pat[i])
			return false;
	}
	return true;
}

static int file_size(const char *path, uint64_t *size, char *why, size_t wl,
		     const char *what)
{
	struct stat st;

	if (path[0] != '/') {
		snprintf(why, wl, "%s path \"%s\" is not absolute", what, path);
		return -EINVAL;
	}
	if (stat(path, &st) || access(path, R_OK)) {
		snprintf(why, wl, "%s %s: %s", what, path, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, wl, "%s %s is not a regular file", what, path);
		return -EINVAL;
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

/* Drop "BOOT_IMAGE=..." (set by the boot loader, meaningless for kexec). */
static void strip_boot_image(char *c)
{
	char *p = strstr(c, "BOOT_IMAGE="), *e;

	if (!p || (p != c && p[-1] != ' '))
		return;
	e = strchr(p, ' ');
	memmove(p, e ? e + 1 : p + strlen(p), strlen(e ? e + 1 : p + strlen(p)) + 1);
	while (*c && c[strlen(c) - 1] == ' ')
		c[strlen(c) - 1] = 0;
}

/* Validate @in and return the resolved plan in *@out, or a reason. */
static int resolve_plan(struct skhod *d, const Skhopb__Plan *in, Skhopb__Plan **out,
			char *why, size_t wl)
{
	Skhopb__Plan *p;
	size_t i, k;
	int r;

	if (!in || !in->kernel[0]) {
		snprintf(why, wl, "the plan names no kernel (--kernel)");
		return -EINVAL;
	}
	if (!in->n_devices && !in->no_device) {
		snprintf(why, wl, "the plan names no device (--device BDF, or --no-device for an update that preserves none)");
		return -EINVAL;
	}
	if (in->n_devices && in->no_device) {
		snprintf(why, wl, "give either --device or --no-device, not both");
		return -EINVAL;
	}
	if (in->n_devices > SKHOD_MAX_DEVICES) {
		snprintf(why, wl, "%zu devices, at most %d", in->n_devices, SKHOD_MAX_DEVICES);
		return -EINVAL;
	}
	if (in->reuse_cmdline && in->cmdline[0]) {
		snprintf(why, wl, "give either --append or --reuse-cmdline, not both");
		return -EINVAL;
	}
	for (i = 0; i < in->n_devices; i++) {
		if (!pci_name_ok(in->devices[i])) {
			snprintf(why, wl, "device \"%.40s\" is not a PCI name like 0000:00:02.0",
				 in->devices[i]);
			return -EINVAL;
		}
		for (k = 0; k < i; k++)
			if (!strcmp(in->devices[k], in->devices[i])) {
				snprintf(why, wl, "device %s listed twice", in->devices[i]);
				return -EINVAL;
			}
	}
	p = skhod_pb_dup(in);
	if (!p)
		return -ENOMEM;
	r = file_size(p->kernel, &p->kernel_size, why, wl, "kernel");
	if (!r && p->initrd[0])
		r = file_size(p->initrd, &p->initrd_size, why, wl, "initrd");
	if (!r && p->reuse_cmdline) {
		char c[4096];

		r = d->be->ops->proc_cmdline(d->be, c, sizeof(c));
		if (r)
			snprintf(why, wl, "cannot read the running command line: %s",
				 be_err(d, r));
		strip_boot_image(c);
		if (!r && skhod_pb_setstr(&p->cmdline, c))
			r = -ENOMEM;
	}
	if (!r && strlen(p->cmdline) >= 4096) {
		snprintf(why, wl, "command line longer than 4095 bytes");
		r = -EINVAL;
	}
	if (r) {
		skhod_pb_free(p);
		return r;
	}
	*out = p;
	return 0;
}

/* ---- snapshot capture: digests from the outgoing FDT ---- */

static void free_pre_jump(Skhopb__Journal *j)
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
static int capture(struct skhod *d, Skhopb__SmmuDigests ***out, size_t *nout,
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
		snprintf(why, wl, "cannot read the outgoing snapshot: %s", be_err(d, r));
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
		snprintf(why, wl, "cannot list the preserved streams: %s", be_err(d, r));
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
		free_pre_jump(&tmp);
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

/* Undo everything an update attempt did in the kernel; idempotent. */
static void kernel_rollback(struct skhod *d)
{
	bool loaded = false;
	int r;

	r = d->be->ops->abort(d->be);
	if (r)
		log_warn("ABORT: %s", be_err(d, r));
	if (!d->be->ops->kexec_loaded(d->be, &loaded) && loaded) {
		r = d->be->ops->kexec_unload(d->be);
		if (r)
			log_warn("kexec unload: %s", be_err(d, r));
	}
	luo_drop(d);
}

/* ---- operations ---- */

static Skhopb__Response *op_status(struct skhod *d)
{
	return respond(d, OK, NULL, NULL);
}

static void update_id(struct skhod *d, char *buf, size_t len)
{
	uint64_t t = now_ns(d);
	time_t s = (time_t)(t / 1000000000ull);
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(buf, len, "%Y%m%dT%H%M%SZ", &tm);
}

/* arm: validate the plan and journal it.  Shared by arm and update. */
static Skhopb__Response *do_arm(struct skhod *d, const Skhopb__Plan *in, bool dry_run)
{
	struct skhod_kview k;
	Skhopb__Plan *plan;
	char why[400], id[32];
	int st = d->j->state, r;

	if (!skhod_state_accepts_arm(st) && st != SKHOD_ARMED)
		return respond(d, ESTATE, NULL, "cannot arm in state %s",
			       skhod_state_name(st));
	r = resolve_plan(d, in, &plan, why, sizeof(why));
	if (r == -ENOMEM)
		return NULL;
	if (r)
		return respond(d, EBADREQ, "fix the plan and run arm again", "invalid plan: %s",
			       why);
	if (dry_run) {
		Skhopb__Response *resp = respond(d, OK, "run the same command without --dry-run to arm it",
						 "plan is valid (dry run, nothing changed)");

		if (resp)
			resp->plan = plan;
		else
			skhod_pb_free(plan);
		return resp;
	}
	if (kernel_view(d, &k, NULL) && k.out_state != SMMU_KHO_IDLE) {
		skhod_pb_free(plan);
		return respond(d, ESTATE, "run `smmu-khoctl abort` to clear it, then arm again",
			       "the kernel already holds preserved devices (outgoing state %s)",
			       skhod_kstate_name(k.out_state));
	}
	if (st != SKHOD_ARMED) {
		Skhopb__Journal *nj;

		if (st != SKHOD_IDLE || d->j->n_history > 1) {
			r = skhod_history_archive(&d->js, d->j);
			if (r)
				log_warn("journal %s not archived: %s", d->j->update_id,
					 strerror(-r));
		}
		update_id(d, id, sizeof(id));
		nj = skhod_journal_new(id, now_ns(d), d->boot_id);
		if (!nj) {
			skhod_pb_free(plan);
			return NULL;
		}
		nj->seq = d->j->seq;	/* seq grows across updates: newest wins */
		skhod_pb_free(d->j);
		d->j = nj;
	}
	skhod_pb_free(d->j->plan);
	d->j->plan = plan;
	if (skhod_pb_setstr(&d->j->boot_id_armed, d->boot_id))
		return NULL;
	r = enter(d, SKHOD_ARMED, st == SKHOD_ARMED ? "plan replaced" : "plan armed");
	if (r)
		return respond(d, EFAIL, "check the state directory (space, permissions)",
			       "journal write failed: %s", strerror(-r));
	return respond(d, OK, NULL, NULL);
}

/* Why FREEZE failed: the ioctl's error and the module's STATUS.out_why. */
static const char *freeze_why(struct skhod *d, int r, char *why, size_t wl)
{
	struct smmu_kho_status st;
	char ow[sizeof(st.out_why) + 1];

	snprintf(why, wl, "%s", be_err(d, r));
	if (d->be->ops->status(d->be, &st)) {
		d->be->err[0] = 0;
		return why;
	}
	memcpy(ow, st.out_why, sizeof(st.out_why));
	ow[sizeof(st.out_why)] = 0;
	if (ow[0])
		snprintf(why + strlen(why), wl - strlen(why), ": %s", ow);
	return why;
}

static Skhopb__Response *rolled_back(struct skhod *d, const char *what, const char *why)
{
	kernel_rollback(d);
	free_pre_jump(d->j);
	enter(d, SKHOD_ARMED, "%s failed, rolled back: %s", what, why);
	return respond(d, EBACKEND,
		       "nothing is preserved and the plan is still armed: fix the cause, then `smmu-khoctl update` again, or `smmu-khoctl abort`",
		       "%s failed: %s", what, why);
}

/* ARMED -> PRESERVED: preserve, freeze, capture digests, load, LUO, commit. */
static Skhopb__Response *do_preserve(struct skhod *d)
{
	const Skhopb__Plan *p = d->j->plan;
	Skhopb__SmmuDigests **pj;
	struct skhod_kview k;
	char why[512];
	size_t i, npj;
	int r;

	if (kernel_view(d, &k, NULL) && k.out_state != SMMU_KHO_IDLE)
		kernel_rollback(d);	/* leftovers of an interrupted attempt */
	if (p->no_device) {
		/* --no-device: no PRESERVE, no FREEZE, no digests; kexec + journal */
		free_pre_jump(d->j);
		skhod_ctl_progress(d->conn, "no device to preserve (--no-device): no DMA translation crosses the jump");
		goto load;
	}
	for (i = 0; i < p->n_devices; i++) {
		skhod_ctl_progress(d->conn, "preserving %s", p->devices[i]);
		r = d->be->ops->preserve(d->be, p->devices[i]);
		if (r) {
			snprintf(why, sizeof(why), "%s: %s", p->devices[i], be_err(d, r));
			return rolled_back(d, "PRESERVE", why);
		}
		crash(d, "update.preserved");
	}
	skhod_ctl_progress(d->conn, "freezing the translation state");
	r = d->be->ops->freeze(d->be);
	if (r)
		return rolled_back(d, "FREEZE", freeze_why(d, r, why, sizeof(why)));
	crash(d, "update.frozen");
	r = capture(d, &pj, &npj, why, sizeof(why));
	if (r)
		return rolled_back(d, "snapshot check", why);
	free_pre_jump(d->j);
	d->j->pre_jump = pj;
	d->j->n_pre_jump = npj;
	skhod_ctl_progress(d->conn, "snapshot: %u streams on %zu SMMU(s), digests journaled",
			   skhod_journal_nr_streams(d->j), npj);
	crash(d, "update.captured");
load:
	skhod_ctl_progress(d->conn, "loading %s (kexec_file_load)", p->kernel);
	r = d->be->ops->kexec_load(d->be, p->kernel, p->initrd, p->cmdline);
	if (r)
		return rolled_back(d, "kexec_file_load", be_err(d, r));
	crash(d, "update.loaded");
	r = luo_hold(d);
	if (r)
		skhod_ctl_progress(d->conn,
				   "warning: journal not preserved through LUO (%s); the next boot reads it from %s",
				   be_err(d, r), "the state directory");
	else if (d->o.handover_fdstore)
		skhod_ctl_progress(d->conn, "journal memfd %s systemd's fd store (FDNAME=journal): "
				   "systemd carries it through LUO at the kexec",
				   d->js.memfd >= 0 ? "in" : "MISSING from");
	else
		skhod_ctl_progress(d->conn, "journal memfd preserved in LUO session %s",
				   SKHOD_LUO_SESSION);
	crash(d, "update.luo");
	if (p->no_device)
		r = enter(d, SKHOD_PRESERVED, "no device preserved (--no-device), kernel %s loaded",
			  p->kernel);
	else
		r = enter(d, SKHOD_PRESERVED, "%u streams frozen, kernel %s loaded",
			  skhod_journal_nr_streams(d->j), p->kernel);
	if (r) {
		snprintf(why, sizeof(why), "journal write failed: %s", strerror(-r));
		return rolled_back(d, "commit", why);
	}
	crash(d, "update.committed");
	return NULL;
}

static Skhopb__Response *op_update(struct skhod *d, const Skhopb__UpdateRequest *u)
{
	Skhopb__Response *resp;
	int r;

	if (u->plan) {
		if (d->j->state == SKHOD_PRESERVED)
			return respond(d, ESTATE, "run `smmu-khoctl update` without a plan to jump, or abort first",
				       "already PRESERVED with an armed plan");
		skhod_ctl_progress(d->conn, "arming the plan");
		resp = do_arm(d, u->plan, false);
		if (!resp || resp->code)
			return resp;
		skhod_pb_free(resp);
	}
	if (d->j->state != SKHOD_ARMED && d->j->state != SKHOD_PRESERVED)
		return respond(d, ESTATE, NULL, "nothing to update in state %s",
			       skhod_state_name(d->j->state));
	if (d->j->state == SKHOD_ARMED) {
		resp = do_preserve(d);
		if (resp)
			return resp;
	}
	if (u->no_jump)
		return respond(d, OK, "run `smmu-khoctl update` to jump, or `smmu-khoctl abort`",
			       NULL);
	skhod_ctl_progress(d->conn, "jumping into %s", d->j->plan->kernel);
	crash(d, "update.before-jump");
	r = d->be->ops->jump(d->be);
	/* Only a failed jump returns; the frozen state is still intact. */
	return respond(d, EBACKEND,
		       "the state is still PRESERVED: fix the cause and run `smmu-khoctl update` again, or `smmu-khoctl abort`",
		       "the jump failed: %s", be_err(d, r));
}

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
static int verify_live(struct skhod *d, const struct skhod_verify_opts *vo,
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
		snprintf(why, wl, "cannot list the adopted streams: %s", be_err(d, r));
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
		r = skhod_verify(d->j, *live, raw, *nlive, now_ns(d), vo, v);
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

			log_err("QUARANTINE %s (SID 0x%x) failed: %s", dev, res->sid, be_err(d, r));
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
static int do_verify(struct skhod *d, bool probe, char *why, size_t wl)
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
	r = verify_live(d, &vo, &live, &nlive, &v, why, wl);
	if (!r && v->nr_failed)
		quarantine_failed(d, v, live, nlive);
	free(live);
	if (r)
		return r;
	skhod_pb_free(d->j->verification);
	d->j->verification = v;
	crash(d, "verify.done");
	if (st == SKHOD_RECOVERED && !v->nr_failed)
		r = enter(d, SKHOD_VERIFIED, "%s", v->summary);
	else if ((st == SKHOD_RECOVERED || st == SKHOD_VERIFIED) && v->nr_failed)
		r = enter(d, SKHOD_FAILED, "verification failed: %s", v->summary);
	else
		r = commit(d);
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

/*
 * Does the kernel still list an ADOPTED incoming stream of @dev?  -1 when
 * STREAMS does not answer.
 */
static int dev_adopted(struct skhod *d, const char *dev)
{
	struct smmu_kho_stream_info *live = NULL;
	uint32_t n = 0, i;
	int hit = 0;

	if (d->be->ops->streams(d->be, &live, &n)) {
		d->be->err[0] = 0;
		return -1;
	}
	for (i = 0; i < n; i++) {
		char name[sizeof(live[i].dev) + 1];

		memcpy(name, live[i].dev, sizeof(live[i].dev));
		name[sizeof(live[i].dev)] = 0;
		hit |= live[i].state == SMMU_KHO_STREAM_ADOPTED && !strcmp(name, dev);
	}
	free(live);
	return hit;
}

static Skhopb__Response *op_verify(struct skhod *d, const Skhopb__VerifyRequest *v)
{
	char why[300];
	int st = d->j->state;
	Skhopb__Response *resp;
	uint32_t released;

	if (st != SKHOD_RECOVERED && st != SKHOD_VERIFIED && st != SKHOD_FAILED)
		return respond(d, ESTATE, NULL, "nothing to verify in state %s (verification runs after the jump)",
			       skhod_state_name(st));
	if (st == SKHOD_FAILED && !d->j->n_pre_jump)
		return respond(d, ESTATE, NULL, "this update failed before any stream was journaled");
	if (v->probe && !d->o.probe_cmd)
		return respond(d, EBADREQ, "start smmu-khod with --probe-cmd CMD to enable the active probe",
			       "no probe command configured");
	released = nr_released(d);
	if (released)
		return respond(d, ESTATE, "run `smmu-khoctl finish` to complete it",
			       "%u stream(s) already released to the driver (an interrupted finish): their digests no longer describe the handover",
			       released);
	if (do_verify(d, v->probe, why, sizeof(why)))
		return respond(d, EBACKEND, "retry `smmu-khoctl verify`; see the daemon log",
			       "%s", why);
	if (d->j->verification->nr_failed) {
		resp = respond(d, EVERIFY, skhod_state_hint(SKHOD_FAILED),
			       "verification failed: %s", d->j->verification->summary);
	} else {
		resp = respond(d, OK, NULL, NULL);
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

/*
 * NEEDS_ATTENTION: no journal says what the incoming streams were for, so
 * hand every adopted one back to its driver (what finish would do).
 */
static void release_adopted(struct skhod *d)
{
	struct smmu_kho_stream_info *live = NULL;
	uint32_t n = 0, i;
	int r;

	if (d->be->ops->streams(d->be, &live, &n)) {
		d->be->err[0] = 0;
		return;
	}
	for (i = 0; i < n; i++) {
		char name[sizeof(live[i].dev) + 1];

		if (live[i].state != SMMU_KHO_STREAM_ADOPTED)
			continue;
		memcpy(name, live[i].dev, sizeof(live[i].dev));
		name[sizeof(live[i].dev)] = 0;
		r = d->be->ops->release(d->be, name);
		/* -ENOENT: an earlier SID of the same device released it */
		if (r && r != -ENOENT)
			log_warn("RELEASE %s: %s", name, be_err(d, r));
		d->be->err[0] = 0;
	}
	free(live);
}

static Skhopb__Response *op_abort(struct skhod *d, const Skhopb__AbortRequest *a)
{
	struct skhod_kview k;
	int st = d->j->state, r;
	bool kv = kernel_view(d, &k, NULL);

	if (st == SKHOD_ARMED || st == SKHOD_PRESERVED || st == SKHOD_NEEDS_ATTENTION) {
		r = d->be->ops->abort(d->be);
		if (r && kv && k.out_state != SMMU_KHO_IDLE)
			return respond(d, EBACKEND, "retry `smmu-khoctl abort`; if it keeps failing, reboot normally (nothing survives a cold boot)",
				       "ABORT failed: %s", be_err(d, r));
		crash(d, "abort.kernel");
		kernel_rollback(d);
		if (st == SKHOD_NEEDS_ATTENTION) {
			release_adopted(d);
			r = enter(d, SKHOD_ABORTED, "%s; kernel cleaned up after the unusable journal",
				  a->reason[0] ? a->reason : "aborted by the operator");
		} else {
			r = enter(d, SKHOD_ABORTED, "%s",
				  a->reason[0] ? a->reason : "aborted by the operator");
		}
		if (r)
			return respond(d, EFAIL, "check the state directory (space, permissions)",
				       "journal write failed: %s", strerror(-r));
		return respond(d, OK, NULL, NULL);
	}
	if (st == SKHOD_RECOVERED || st == SKHOD_VERIFIED)
		return respond(d, ESTATE, "run `smmu-khoctl finish` to end this update",
			       "the jump already happened: there is nothing to roll back");
	/* Terminal or idle: clean up what an earlier run may have left behind. */
	if (kv && (k.out_state != SMMU_KHO_IDLE || k.kexec_loaded)) {
		kernel_rollback(d);
		return respond(d, OK, NULL, "cleared leftover preserved state in the kernel");
	}
	if (st == SKHOD_ABORTED)
		return respond(d, OK, NULL, "already aborted");
	return respond(d, ESTATE, NULL, "nothing to abort in state %s", skhod_state_name(st));
}

static Skhopb__Response *op_finish(struct skhod *d)
{
	int st = d->j->state, r;
	size_t i;

	if (st != SKHOD_VERIFIED && st != SKHOD_FAILED)
		return respond(d, ESTATE, NULL, "nothing to finish in state %s",
			       skhod_state_name(st));
	for (i = 0; d->j->plan && i < d->j->plan->n_devices; i++) {
		const char *dev = d->j->plan->devices[i];

		r = d->be->ops->release(d->be, dev);
		/*
		 * -ENOENT: nothing adopted left for it (refused, or released
		 * already, e.g. by a finish that crashed before its commit):
		 * done, unless the kernel still lists an adopted stream of it.
		 * -ENODEV: the device is gone.  Neither stops finish.
		 */
		if (r == -ENOENT && dev_adopted(d, dev) > 0)
			return respond(d, EBACKEND, "retry `smmu-khoctl finish`; see the daemon log",
				       "RELEASE %s said nothing is adopted, but the kernel lists an adopted stream of it",
				       dev);
		if (r && r != -ENOENT && r != -ENODEV)
			return respond(d, EBACKEND, "retry `smmu-khoctl finish`; see the daemon log",
				       "RELEASE %s failed: %s", dev, be_err(d, r));
		if (r)
			log_info("RELEASE %s: %s: nothing left to release", dev,
				 r == -ENOENT ? "nothing adopted (already released or refused)" :
				 "no such device");
		d->be->err[0] = 0;
		crash(d, "finish.released");
	}
	r = enter(d, SKHOD_FINISHED, "streams released to the driver");
	if (r)
		return respond(d, EFAIL, "check the state directory (space, permissions)",
			       "journal write failed: %s", strerror(-r));
	return respond(d, OK, NULL, NULL);
}

static Skhopb__Response *op_history(struct skhod *d, const Skhopb__HistoryRequest *h)
{
	Skhopb__Response *resp = respond(d, OK, NULL, NULL);
	Skhopb__Journal **arr = NULL, *cur;
	size_t n = 0, i, budget = SKHOD_FRAME_BUDGET;
	int r;

	if (!resp)
		return NULL;
	cur = skhod_pb_dup(d->j);
	if (!cur || SKHOD_PB_PUSH(&resp->history, &resp->n_history, cur)) {
		skhod_pb_free(cur);
		skhod_pb_free(resp);
		return NULL;
	}
	r = skhod_history_list(&d->js, h->max ? h->max - 1 : 0, &arr, &n);
	if (r)
		log_warn("history: %s", strerror(-r));
	for (i = 0; i < n; i++) {
		size_t sz = skhopb__response__get_packed_size(resp) +
			    skhopb__journal__get_packed_size(arr[i]) + 8;

		if ((h->max && resp->n_history >= h->max) || sz > budget ||
		    SKHOD_PB_PUSH(&resp->history, &resp->n_history, arr[i])) {
			skhod_pb_free(arr[i]);
			continue;
		}
	}
	free(arr);
	return resp;
}

Skhopb__Response *skhod_handle(void *arg, struct skhod_ctl_conn *c,
			       const Skhopb__Request *req)
{
	struct skhod *d = arg;
	Skhopb__Response *r = NULL;

	d->conn = c;
	switch (req->op_case) {
	case SKHOPB__REQUEST__OP_STATUS:
		r = op_status(d);
		break;
	case SKHOPB__REQUEST__OP_ARM:
		r = do_arm(d, req->arm->plan, req->arm->dry_run);
		break;
	case SKHOPB__REQUEST__OP_UPDATE:
		r = op_update(d, req->update);
		break;
	case SKHOPB__REQUEST__OP_VERIFY:
		r = op_verify(d, req->verify);
		break;
	case SKHOPB__REQUEST__OP_ABORT:
		r = op_abort(d, req->abort);
		break;
	case SKHOPB__REQUEST__OP_HISTORY:
		r = op_history(d, req->history);
		break;
	case SKHOPB__REQUEST__OP_FINISH:
		r = op_finish(d);
		break;
	default:
		r = respond(d, EBADREQ, "use smmu-khoctl of the same version",
			    "unknown operation %d", (int)req->op_case);
	}
	d->conn = NULL;
	return r;
}

/* ---- startup: find the journal, then resume or roll back ---- */

static Skhopb__Journal *read_memfd(int fd, const char *what)
{
	Skhopb__Journal *j = NULL;
	char why[160];
	int r = skhod_journal_memfd_read(fd, &j, why, sizeof(why));

	if (r && r != -ENOENT)
		log_warn("%s journal unusable: %s", what, why);
	return r ? NULL : j;
}

/* Journal from the LUO session the previous kernel handed over, if any. */
static int luo_incoming(struct skhod *d, Skhopb__Journal **out)
{
	int sfd, fd, r;

	*out = NULL;
	r = d->be->ops->luo_retrieve(d->be, SKHOD_LUO_SESSION, &sfd);
	if (r) {
		if (r != -ENOENT && r != -ENODEV)
			log_warn("LUO retrieve session: %s", be_err(d, r));
		d->be->err[0] = 0;
		return -1;
	}
	fd = -1;
	r = d->be->ops->luo_retrieve_fd(d->be, sfd, SKHOD_LUO_TOKEN, &fd);
	if (r)
		log_warn("LUO retrieve journal memfd: %s", be_err(d, r));
	else
		*out = read_memfd(fd, "LUO");
	/* We have our copy: let the kernel free the session. */
	r = d->be->ops->luo_finish(d->be, sfd);
	if (r)
		log_warn("LUO finish: %s", be_err(d, r));
	close(sfd);
	return fd;
}

static bool no_device(const struct skhod *d)
{
	return d->j->plan && d->j->plan->no_device;
}

static bool same_boot(struct skhod *d)
{
	return !strcmp(d->j->boot_id_armed, d->boot_id);
}

/*
 * No handover arrived: verify anyway, so that every journaled stream is
 * named (as lost) in the verification that `status` prints.  Best effort:
 * without STREAMS the FAILED reason alone says what happened.
 */
static void lost_without_handover(struct skhod *d)
{
	struct skhod_verify_opts vo = { .max_events = d->o.max_events };
	struct smmu_kho_stream_info *live = NULL;
	Skhopb__Verification *v = NULL;
	uint32_t nlive = 0;
	char why[200];
	int r;

	r = verify_live(d, &vo, &live, &nlive, &v, why, sizeof(why));
	free(live);
	if (r) {
		log_warn("nothing adopted, and the verification could not run: %s", why);
		return;
	}
	skhod_pb_free(d->j->verification);
	d->j->verification = v;
}

/*
 * The new kernel got a handover but adopted nothing: IN_REFUSED (the
 * handover as a whole) or ALL_REFUSED (every stream).  Name the kernel's
 * reason and every journaled stream (verification), then FAILED.
 */
static void recover_refused(struct skhod *d, const struct smmu_kho_status *st)
{
	char kwhy[sizeof(st->in_why) + 1];

	memcpy(kwhy, st->in_why, sizeof(st->in_why));
	kwhy[sizeof(st->in_why)] = 0;
	lost_without_handover(d);
	if (st->in_state == SMMU_KHO_IN_REFUSED)
		enter(d, SKHOD_FAILED,
		      "the new kernel refused the handover (%s: %s): every preserved stream was lost (abort STE)",
		      st->in_error ? skho_strerror(st->in_error) : "no error code",
		      kwhy[0] ? kwhy : "no reason given");
	else
		enter(d, SKHOD_FAILED,
		      "the new kernel refused every handed-over stream (%u of %u): %s",
		      st->nr_refused, st->nr_in_streams,
		      d->j->verification ? d->j->verification->summary : "see the kernel log");
}

/* PRESERVED found in a new boot: did the handover arrive? */
static void recover_after_jump(struct skhod *d)
{
	struct smmu_kho_status st;
	char why[300];
	int r;

	r = d->be->ops->status(d->be, &st);
	if (r) {
		log_err("cannot read the kernel's handover state (%s): staying PRESERVED; load smmu_kho.ko and restart smmu-khod",
			be_err(d, r));
		return;
	}
	if (skhod_pb_setstr(&d->j->boot_id_recovered, d->boot_id))
		return;
	if (no_device(d) && st.in_state != SMMU_KHO_IDLE) {
		enter(d, SKHOD_FAILED,
		      "a handover arrived (incoming %s, %u streams) although this update preserved no device (--no-device)",
		      skhod_kstate_name(st.in_state), st.nr_in_streams);
		return;
	}
	if (st.in_state == SMMU_KHO_IDLE && no_device(d)) {
		r = enter(d, SKHOD_RECOVERED, "no handover, as planned (--no-device)");
		if (!r && d->o.auto_verify && do_verify(d, false, why, sizeof(why)))
			log_err("automatic verification: %s", why);
		return;
	}
	if (st.in_state == SMMU_KHO_IDLE) {
		lost_without_handover(d);
		enter(d, SKHOD_FAILED,
		      "booted without the handover: the new kernel received no smmu-kho state (cold reboot, or kexec without KHO); the preserved DMA translation was lost");
		return;
	}
	if (st.in_state == SMMU_KHO_IN_REFUSED || st.in_state == SMMU_KHO_ALL_REFUSED) {
		recover_refused(d, &st);
		return;
	}
	if (st.in_state != SMMU_KHO_ADOPTED && st.in_state != SMMU_KHO_RELEASED) {
		lost_without_handover(d);
		enter(d, SKHOD_FAILED, "the kernel reports incoming state %u (%s), not the result of a handover",
		      st.in_state, skhod_kstate_name(st.in_state));
		return;
	}
	r = enter(d, SKHOD_RECOVERED, "new kernel adopted %u of %u handed-over streams (%u refused)",
		  st.nr_adopted, st.nr_in_streams, st.nr_refused);
	if (r)
		return;
	crash(d, "recover.adopted");
	if (d->o.auto_verify && do_verify(d, d->o.probe_cmd != NULL, why, sizeof(why)))
		log_err("automatic verification: %s", why);
}

/* PRESERVED in the same boot after a daemon restart: still intact? */
static void recover_preserved(struct skhod *d, int store_luo)
{
	Skhopb__SmmuDigests **pj = NULL;
	struct skhod_kview k;
	char why[400] = "";
	size_t npj = 0, i, a;
	bool ok = kernel_view(d, &k, NULL);

	if (!ok)
		snprintf(why, sizeof(why), "the kernel interface is unavailable");
	else if (no_device(d) && k.out_state != SMMU_KHO_IDLE)
		snprintf(why, sizeof(why), "the kernel holds preserved devices (outgoing %s) although the plan has none",
			 skhod_kstate_name(k.out_state));
	else if (!no_device(d) && k.out_state != SMMU_KHO_FROZEN)
		snprintf(why, sizeof(why), "the kernel no longer holds the frozen state (outgoing %s)",
			 skhod_kstate_name(k.out_state));
	else if (!k.kexec_loaded)
		snprintf(why, sizeof(why), "no kexec image is loaded any more");
	else if (!no_device(d) && capture(d, &pj, &npj, why, sizeof(why)))
		;
	else if (npj != d->j->n_pre_jump)
		snprintf(why, sizeof(why), "snapshot now spans %zu SMMUs, journal %zu", npj,
			 d->j->n_pre_jump);
	for (i = 0; !why[0] && i < npj; i++) {
		const Skhopb__SmmuDigests *x = pj[i], *y = d->j->pre_jump[i];

		if (x->mmio_base != y->mmio_base || x->n_streams != y->n_streams)
			snprintf(why, sizeof(why), "snapshot of SMMU 0x%" PRIx64 " differs from the journal",
				 x->mmio_base);
		for (a = 0; !why[0] && a < x->n_streams; a++)
			if (x->streams[a]->sid != y->streams[a]->sid ||
			    x->streams[a]->ste_digest != y->streams[a]->ste_digest ||
			    x->streams[a]->xlat_digest != y->streams[a]->xlat_digest)
				snprintf(why, sizeof(why), "SID 0x%x differs from the journal",
					 x->streams[a]->sid);
	}
	for (i = 0; i < npj; i++)
		skhod_pb_free(pj[i]);
	free(pj);
	if (why[0]) {
		if (store_luo >= 0)
			d->luo_sfd = store_luo;
		kernel_rollback(d);
		free_pre_jump(d->j);
		enter(d, SKHOD_ARMED, "daemon restarted in PRESERVED but %s: rolled back", why);
		return;
	}
	/* Intact: keep (or re-create) the LUO preservation of the journal. */
	if (store_luo >= 0) {
		d->luo_sfd = store_luo;
	} else {
		int r = luo_hold(d);

		if (r)
			log_warn("journal not preserved through LUO: %s", be_err(d, r));
	}
	d->j->restarts++;
	commit(d);
	log_notice("resumed PRESERVED: %u streams still frozen", skhod_journal_nr_streams(d->j));
}

static void recover_armed(struct skhod *d)
{
	struct skhod_kview k;

	if (!same_boot(d)) {
		enter(d, SKHOD_ARMED, "rebooted while armed (boot %s): nothing had been preserved",
		      d->boot_id);
		return;
	}
	if (kernel_view(d, &k, NULL) && (k.out_state != SMMU_KHO_IDLE || k.kexec_loaded)) {
		kernel_rollback(d);
		enter(d, SKHOD_ARMED,
		      "daemon restarted during an update attempt (outgoing %s): partial preservation rolled back",
		      skhod_kstate_name(k.out_state));
		return;
	}
	d->j->restarts++;
	commit(d);
}

/*
 * The disk journal was unusable and no other copy exists: say so in a new
 * journal, with what the kernel holds, instead of pretending to be IDLE.
 * Errors: those of the commit (the daemon then does not start).
 */
static int needs_attention(struct skhod *d, const char *bad, const char *aside)
{
	struct smmu_kho_status st;
	char kern[200];
	bool loaded = false;
	int r;

	r = d->be->ops->status(d->be, &st);
	if (r) {
		snprintf(kern, sizeof(kern), "kernel not answering (%s)", be_err(d, r));
	} else {
		d->be->ops->kexec_loaded(d->be, &loaded);
		snprintf(kern, sizeof(kern),
			 "kernel: outgoing %s (%u streams), incoming %s (%u adopted), kexec image %s",
			 skhod_kstate_name(st.out_state), st.nr_out_streams,
			 skhod_kstate_name(st.in_state), st.nr_adopted,
			 loaded ? "loaded" : "not loaded");
	}
	r = enter(d, SKHOD_NEEDS_ATTENTION,
		  "journal %s/%s unusable (%s), moved aside to %s; no LUO or fd-store copy; %s",
		  d->o.state_dir, SKHOD_JOURNAL_FILE, bad, aside, kern);
	if (r)
		log_err("cannot record NEEDS_ATTENTION: %s; not starting", strerror(-r));
	return r;
}

/* "seq N", "none", or "unusable" (-2: an fd was there, its contents not). */
static const char *copy_seq(int64_t seq, char *buf, size_t len)
{
	if (seq >= 0)
		snprintf(buf, len, "seq %" PRId64, seq);
	else
		snprintf(buf, len, "%s", seq == -2 ? "unusable" : "none");
	return buf;
}

int skhod_start(struct skhod *d, const struct skhod_opts *o, int store_memfd,
		int store_luo)
{
	Skhopb__Journal *disk = NULL, *mem = NULL, *luo = NULL, *best;
	char why[200], id[32], bad[200] = "", aside[64] = "", cs[3][32];
	int64_t disk_seq, mem_seq, luo_seq;
	int r, luo_fd;

	memset(d, 0, sizeof(*d));
	d->o = *o;
	d->luo_sfd = -1;
	d->js.dirfd = d->js.memfd = -1;
	r = skhod_backend_open(o->backend, &d->be);
	if (r) {
		log_err("backend \"%s\": %s", o->backend, strerror(-r));
		return r;
	}
	r = skhod_jstore_open(&d->js, o->state_dir);
	if (r) {
		log_err("%s", d->js.err);
		return r;
	}
	d->js.crash = journal_crash;
	d->js.crash_arg = d;
	r = d->be->ops->boot_id(d->be, d->boot_id, sizeof(d->boot_id));
	if (r) {
		log_err("boot id: %s", strerror(-r));
		return r;
	}
	/*
	 * Every copy of the journal we can find; the highest seq wins.  An
	 * unusable disk copy is moved aside first, never silently replaced.
	 */
	r = skhod_journal_load(&d->js, &disk, why, sizeof(why));
	if (r == -ENOMEM)
		return r;
	if (r && r != -ENOENT) {
		snprintf(bad, sizeof(bad), "%s", why);
		r = skhod_journal_set_aside(&d->js, now_ns(d) / 1000000000ull, aside,
					    sizeof(aside));
		if (r) {
			log_err("journal %s/%s is unusable (%s) and cannot be moved aside: %s; not starting rather than replacing it",
				o->state_dir, SKHOD_JOURNAL_FILE, bad, strerror(-r));
			return r;
		}
		log_warn("journal %s/%s unusable: %s; moved aside to %s", o->state_dir,
			 SKHOD_JOURNAL_FILE, bad, aside);
	}
	if (store_memfd >= 0)
		mem = read_memfd(store_memfd, "fd-store");
	/* With --handover fd-store /dev/liveupdate is systemd's alone. */
	luo_fd = d->o.handover_fdstore ? -1 : luo_incoming(d, &luo);
	best = disk;
	snprintf(d->journal_source, sizeof(d->journal_source), "disk");
	if (mem && (!best || mem->seq > best->seq)) {
		best = mem;
		snprintf(d->journal_source, sizeof(d->journal_source), "fd-store");
	}
	if (luo && (!best || luo->seq > best->seq)) {
		best = luo;
		snprintf(d->journal_source, sizeof(d->journal_source), "luo");
	}
	disk_seq = disk ? (int64_t)disk->seq : -1;
	mem_seq = mem ? (int64_t)mem->seq : (store_memfd >= 0 ? -2 : -1);
	luo_seq = luo ? (int64_t)luo->seq : -1;
	if (disk != best)
		skhod_pb_free(disk);
	if (mem != best)
		skhod_pb_free(mem);
	if (luo != best)
		skhod_pb_free(luo);
	/* Our memfd: the stored one, else the handed-over one, else a new one. */
	if (store_memfd >= 0) {
		d->js.memfd = store_memfd;
		if (luo_fd >= 0)
			close(luo_fd);
	} else if (luo_fd >= 0) {
		d->js.memfd = luo_fd;
	} else {
		d->js.memfd = skhod_journal_memfd_create();
		if (d->js.memfd < 0)
			log_warn("no journal memfd: %s", strerror(-d->js.memfd));
	}
	if (!best) {
		update_id(d, id, sizeof(id));
		best = skhod_journal_new(id, now_ns(d), d->boot_id);
		if (!best)
			return -ENOMEM;
		snprintf(d->journal_source, sizeof(d->journal_source), "new");
	} else if (bad[0]) {
		log_warn("recovered journal seq %" PRIu64 " (%s) from the %s copy", best->seq,
			 skhod_state_name(best->state), d->journal_source);
	}
	d->j = best;
	if (bad[0] && !strcmp(d->journal_source, "new")) {
		r = needs_attention(d, bad, aside);
		if (r)
			return r;
	}
	log_info("journal %s seq %" PRIu64 " from %s: %s (copies: disk %s, fd-store %s, luo %s)",
		 d->j->update_id, d->j->seq, d->journal_source, skhod_state_name(d->j->state),
		 copy_seq(disk_seq, cs[0], sizeof(cs[0])), copy_seq(mem_seq, cs[1], sizeof(cs[1])),
		 copy_seq(luo_seq, cs[2], sizeof(cs[2])));
	if (d->js.memfd >= 0) {
		int fd = d->js.memfd;

		skhod_sd_notify_fds("FDSTORE=1\nFDNAME=journal", &fd, 1);
	}
	switch (d->j->state) {
	case SKHOD_NEEDS_ATTENTION:
		if (strcmp(d->journal_source, "new"))	/* still, after a restart */
			log_warn("%s", d->j->reason);
		break;
	case SKHOD_ARMED:
		recover_armed(d);
		break;
	case SKHOD_PRESERVED:
		if (same_boot(d)) {
			recover_preserved(d, store_luo);
			store_luo = -1;
		} else {
			recover_after_jump(d);
		}
		break;
	case SKHOD_RECOVERED:
		d->j->restarts++;
		if (!d->o.auto_verify)
			commit(d);
		else if (do_verify(d, d->o.probe_cmd != NULL, why, sizeof(why)))
			log_err("automatic verification: %s", why);
		break;
	default:
		/* Make the disk copy current if a memfd copy was newer. */
		if (d->j->seq && strcmp(d->journal_source, "disk"))
			commit(d);
	}
	if (store_luo >= 0) {
		close(store_luo);
		skhod_sd_notify("FDSTOREREMOVE=1\nFDNAME=luo-session");
	}
	return 0;
}

int skhod_prepare_stop(struct skhod *d)
{
	int r;

	if (!d->j || d->j->state != SKHOD_PRESERVED)
		return 0;
	r = commit(d);
	if (r)
		log_err("stopping in PRESERVED: journal commit failed: %s", strerror(-r));
	else
		log_notice("stopping in PRESERVED: journal seq %" PRIu64 " committed to %s%s; "
			   "a kexec now (systemctl kexec) hands it to the next boot",
			   d->j->seq, d->o.state_dir,
			   d->js.memfd < 0 ? "" : d->o.handover_fdstore ?
			   " and the memfd in systemd's fd store" : " and the LUO-preserved memfd");
	return r;
}

void skhod_stop(struct skhod *d)
{
	if (d->luo_sfd >= 0)
		close(d->luo_sfd);	/* the fd store keeps its own copy */
	d->luo_sfd = -1;
	skhod_jstore_close(&d->js);
	skhod_pb_free(d->j);
	d->j = NULL;
	if (d->be)
		d->be->ops->destroy(d->be);
	d->be = NULL;
}
