// SPDX-License-Identifier: GPL-2.0-only
/* smmu-khoctl: command-line client of smmu-khod (status, arm, update, verify, abort, history). */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "ctl.h"
#include "frame.h"
#include "log.h"
#include "pbutil.h"
#include "sdbus.h"
#include "smmu_kho.pb-c.h"
#include "state.h"
#include "verify.h"

/* Exit codes (docs/operator-guide.md, "Exit codes"). */
enum {
	EX_OK = 0,		/* done */
	EX_FAIL = 1,		/* generic failure */
	EX_USAGE = 2,		/* bad command line or invalid plan */
	EX_NOTRUNNING = 3,	/* smmu-khod not reachable */
	EX_VERIFY = 4,		/* verification failed / update FAILED */
	EX_PERM = 5,		/* not root */
	EX_STATE = 6,		/* not allowed in the current state */
	EX_KERNEL = 7,		/* kernel interface failed (ioctl, kexec, LUO) */
	EX_BUSY = 8,		/* smmu-khod busy: every connection slot taken */
	EX_ATTENTION = 9,	/* NEEDS_ATTENTION: the journal was unusable */
	EX_NOT_HITLESS = 10,	/* finish refused: the hand-back would not be hitless */
};

static const char *sock_path;
static int timeout_ms = 600 * 1000;

static void usage(FILE *f)
{
	fprintf(f,
"usage: smmu-khoctl [--socket PATH] [--timeout SEC] COMMAND [options]\n"
"\n"
"commands:\n"
"  status [--json]              state of the update and of the kernel\n"
"  plan|arm PLAN [--dry-run] [--json]\n"
"                               validate and journal a plan (IDLE -> ARMED);\n"
"                               --dry-run shows the devices chosen, and why\n"
"  update [PLAN] [--no-jump] [--jump systemd|reboot]\n"
"                               arm (if PLAN given), preserve, freeze, load,\n"
"                               and kexec into the new kernel: under systemd\n"
"                               by asking it for kexec.target (StartUnit, as\n"
"                               `systemctl kexec`: services stop, file systems\n"
"                               unmount); without systemd, or with --jump reboot,\n"
"                               smmu-khod calls reboot(LINUX_REBOOT_CMD_KEXEC)\n"
"  verify [--probe] [--json]    compare pre-jump digests with the live state\n"
"  abort [--reason TEXT]        roll back before the jump (nothing stays preserved)\n"
"  finish [--replace]           hand verified streams back to their owner's domain:\n"
"                               hitless (it must translate every IOVA to the same\n"
"                               page) or refused, naming the first differing IOVA;\n"
"                               --replace: the owner re-initialised the device,\n"
"                               its domain simply replaces the adopted translation\n"
"  history [--max N] [--json]   past updates, newest first\n"
"\n"
"PLAN: --kernel PATH [--initrd PATH] (--append CMDLINE | --reuse-cmdline)\n"
"      (--device BDF [BDF...] (repeatable, or comma-separated) | --no-device)\n"
"      --config FILE  (KERNEL=, INITRD=, APPEND=, REUSE_CMDLINE=yes, DEVICES=,\n"
"                      NO_DEVICE=yes, NO_JUMP=yes; command-line options win)\n"
"      --no-device: an update that preserves no device on purpose (kexec and\n"
"      journal only); a plan without devices is refused unless it says so\n"
"      --device vfio: every PCI device bound to vfio-pci whose IOMMU domain is\n"
"      an iommufd HWPT (a VM's passthrough devices), resolved by the daemon;\n"
"      a device with ATS, PRI or PASID enabled is refused, with the reason\n"
"\n"
"The socket defaults to $SMMU_KHO_SOCKET, else " SKHOD_DEFAULT_SOCKET ".\n"
"exit status: 0 ok, 1 failure, 2 usage, 3 daemon not running, 4 verification\n"
"failed, 5 permission denied, 6 wrong state, 7 kernel interface error,\n"
"8 daemon busy (too many connections: retry), 9 needs attention (the journal\n"
"was unusable: read `status`, then `abort`), 10 not hitless (finish refused:\n"
"the device stays on the adopted translation; fix the owner's mapping and\n"
"retry, or `finish --replace`).\n");
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "smmu-khoctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nsmmu-khoctl: run `smmu-khoctl --help` for the syntax\n");
	return EX_USAGE;
}

/* ---- formatting ---- */

void skhoctl_fmt_time(uint64_t ns, char *buf, size_t len)
{
	time_t s = (time_t)(ns / 1000000000ull);
	struct tm tm;

	if (!ns) {
		snprintf(buf, len, "-");
		return;
	}
	gmtime_r(&s, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

const char *skhoctl_verdict_name(int v)
{
	switch (v) {
	case SKHOPB__VERDICT__VERDICT_PASS:
		return "PASS";
	case SKHOPB__VERDICT__VERDICT_FAIL:
		return "FAIL";
	case SKHOPB__VERDICT__VERDICT_ABORTED:
		return "ABORTED";
	}
	return "NONE";
}

static void human_verification(FILE *f, const Skhopb__Verification *v)
{
	char t[32];
	size_t i;

	skhoctl_fmt_time(v->time_ns, t, sizeof(t));
	fprintf(f, "verification: %u of %u streams intact, %u failed, %u lost%s (at %s)\n",
		v->nr_ok, v->nr_streams, v->nr_failed, v->nr_lost,
		v->probed ? ", probed" : "", t);
	for (i = 0; i < v->n_streams; i++) {
		const Skhopb__StreamResult *r = v->streams[i];

		fprintf(f, "  %-11s SID 0x%x (%s) on SMMU 0x%" PRIx64 ": %s%s\n",
			r->outcome == SKHOPB__STREAM_OUTCOME__OUTCOME_UNEXPECTED ? "warning:" :
			"failing:", r->sid, r->device[0] ? r->device : "?", r->smmu_base, r->why,
			r->quarantined ? " [quarantined]" : "");
	}
}

/* What this boot's kernel did with the handover, in words. */
static void human_handover(FILE *f, const Skhopb__KernelStatus *k)
{
	switch (k->in_state) {
	case SMMU_KHO_IDLE:
		fputs("handover:     none received by this boot (cold boot, or no smmu-kho state handed over)\n", f);
		break;
	case SMMU_KHO_IN_REFUSED:
		fprintf(f, "handover:     REFUSED as a whole by this kernel: %s: %s\n",
			k->in_error_name[0] ? k->in_error_name : "no error code",
			k->in_why[0] ? k->in_why : "no reason given");
		break;
	case SMMU_KHO_ALL_REFUSED:
		fprintf(f, "handover:     every stream REFUSED (%u of %u)\n", k->nr_refused,
			k->nr_in_streams);
		break;
	case SMMU_KHO_ADOPTED:
		fprintf(f, "handover:     adopted %u of %u streams (%u refused, %u quarantined)\n",
			k->nr_adopted, k->nr_in_streams, k->nr_refused, k->nr_quarantined);
		break;
	case SMMU_KHO_RELEASED:
		fprintf(f, "handover:     adopted streams released to the driver (%u)\n",
			k->nr_released);
		break;
	default:
		fprintf(f, "handover:     incoming state %u\n", k->in_state);
	}
	if (k->out_why[0])
		fprintf(f, "outgoing:     last freeze problem: %s\n", k->out_why);
}

/* The hand-back: what the last finish asked, the last RELEASE, the table pages. */
static void human_handback(FILE *f, const Skhopb__Status *s)
{
	const Skhopb__KernelStatus *k = s->kernel;
	const Skhopb__HandBack *h = s->handback;
	char t[32];

	if (h) {
		skhoctl_fmt_time(h->time_ns, t, sizeof(t));
		fprintf(f, "hand-back:    last finish %s at %s", h->replace ? "--replace" : "hitless", t);
		if (h->refused_device[0])
			fprintf(f, ": REFUSED for %s, not hitless: %s (still adopted, translating as before)",
				h->refused_device, h->why);
		fputc('\n', f);
	}
	if (!k || !k->available)
		return;
	if (k->release_error == -ENOENT)
		fputs("release:      last RELEASE found nothing adopted (ENOENT)\n", f);
	else if (k->release_error)
		fprintf(f, "release:      last RELEASE failed: %s%s%s\n",
			k->release_error == -EXDEV ? "not hitless (EXDEV)" : strerror(-k->release_error),
			k->release_why[0] ? ": " : "", k->release_why);
	else if (k->nr_released)
		fprintf(f, "release:      %u stream(s) released, %u hitless; last RELEASE took %" PRIu64
			".%06" PRIu64 " s\n", k->nr_released, k->nr_released_hitless,
			k->release_ns / 1000000000, k->release_ns / 1000 % 1000000);
	if (k->out_preserved_pages || k->in_adopted_pages)
		fprintf(f, "tables:       %" PRIu64 " page(s) preserved for the next kernel; %" PRIu64
			" handed over: %" PRIu64 " kept, %" PRIu64 " freed; %u ASID(s), %u VMID(s) freed\n",
			k->out_preserved_pages, k->in_adopted_pages, k->in_kept_pages,
			k->in_freed_pages, k->nr_asids_freed, k->nr_vmids_freed);
}

/*
 * Under systemd: how many live-update kexecs it has counted and how long
 * the previous shutdown took (systemd >= 262; older ones lack them).
 */
static void human_systemd(FILE *f)
{
	const char *bus = getenv("SMMU_KHO_SYSTEMD_BUS");
	char err[200];
	uint64_t n;

	if (!bus || !*bus) {
		if (!skho_sd_booted())
			return;
		bus = SKHO_SD_PRIVATE_BUS;
	}
	uint64_t t0 = 0, t1 = 0;

	if (skho_sd_manager_u64(bus, "KExecCount", 2000, &n, err, sizeof(err))) {
		fprintf(f, "systemd:      KExecCount unavailable: %s\n", err);
		return;
	}
	fprintf(f, "systemd:      KExecCount %" PRIu64 " (kexecs since the last cold boot)", n);
	/* the previous boot's shutdown, start to systemd-shutdown's end (its monotonic clock) */
	if (!skho_sd_manager_u64(bus, "PreviousShutdownStartTimestampMonotonic", 2000, &t0, err,
				 sizeof(err)) &&
	    !skho_sd_manager_u64(bus, "PreviousShutdownLateFinishTimestampMonotonic", 2000, &t1,
				 err, sizeof(err)) && t0 && t1 >= t0)
		fprintf(f, ", previous shutdown %" PRIu64 ".%03" PRIu64 " s",
			(t1 - t0) / 1000000, (t1 - t0) / 1000 % 1000);
	fputc('\n', f);
}

static void human_status(FILE *f, const Skhopb__Status *s, const char *hint)
{
	const Skhopb__KernelStatus *k = s->kernel;
	char t[32];
	size_t i;

	skhoctl_fmt_time(s->since_ns, t, sizeof(t));
	fprintf(f, "state:        %s since %s\n", skhod_state_name(s->state), t);
	fprintf(f, "update:       %s (journal seq %" PRIu64 ", %u daemon restart%s)\n",
		s->update_id, s->seq, s->restarts, s->restarts == 1 ? "" : "s");
	fprintf(f, "verdict:      %s\n", skhoctl_verdict_name(s->verdict));
	if (s->reason[0])
		fprintf(f, "reason:       %s\n", s->reason);
	if (s->plan) {
		fprintf(f, "plan:         kernel  %s\n", s->plan->kernel);
		fprintf(f, "              initrd  %s\n", s->plan->initrd[0] ? s->plan->initrd : "(none)");
		fprintf(f, "              cmdline %s%s\n", s->plan->cmdline,
			s->plan->reuse_cmdline ? " (from /proc/cmdline)" : "");
		fprintf(f, "              devices");
		for (i = 0; i < s->plan->n_devices; i++)
			fprintf(f, " %s", s->plan->devices[i]);
		fputs(s->plan->no_device ? " none (--no-device)\n" : "\n", f);
	}
	if (s->nr_streams)
		fprintf(f, "streams:      %u journaled before the jump\n", s->nr_streams);
	if (s->verification)
		human_verification(f, s->verification);
	if (k && k->available) {
		fprintf(f, "kernel:       outgoing %s (%u streams), incoming %s (%u handed over, %u adopted, "
			"%u refused, %u released), kexec image %s\n",
			skhod_kstate_name(k->out_state), k->nr_out_streams,
			skhod_kstate_name(k->in_state), k->nr_in_streams, k->nr_adopted,
			k->nr_refused, k->nr_released, k->kexec_loaded ? "loaded" : "not loaded");
		human_handover(f, k);
	} else if (k)
		fprintf(f, "kernel:       unavailable: %s\n", k->error);
	human_handback(f, s);
	human_systemd(f);
	fprintf(f, "daemon:       smmu-khod %s, backend %s\n", s->daemon_version, s->backend);
	fprintf(f, "next:         %s\n", hint);
}

static void human_history(FILE *f, const Skhopb__Response *r)
{
	size_t i, e;
	char t[32];

	for (i = 0; i < r->n_history; i++) {
		const Skhopb__Journal *j = r->history[i];

		fprintf(f, "%s%s  %s  verdict %s%s%s\n", i ? "\n" : "", j->update_id,
			skhod_state_name(j->state), skhoctl_verdict_name(j->verdict),
			i ? "" : "  (current)", "");
		if (j->plan)
			fprintf(f, "  kernel %s, %zu device(s), %u stream(s)\n", j->plan->kernel,
				j->plan->n_devices, skhod_journal_nr_streams(j));
		if (j->handback)
			fprintf(f, "  finish %s%s%s%s%s\n",
				j->handback->replace ? "--replace" : "hitless",
				j->handback->refused_device[0] ? ": refused for " : "",
				j->handback->refused_device, j->handback->refused_device[0] ? ": " : "",
				j->handback->why);
		for (e = 0; e < j->n_history; e++) {
			const Skhopb__PhaseEvent *p = j->history[e];

			skhoctl_fmt_time(p->time_ns, t, sizeof(t));
			if (p->reason[0])
				fprintf(f, "  %s  %-10s %s\n", t, skhod_state_name(p->state),
					p->reason);
			else
				fprintf(f, "  %s  %s\n", t, skhod_state_name(p->state));
		}
	}
}

/* ---- talking to the daemon ---- */

static int connect_daemon(int *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(sock_path) >= sizeof(sa.sun_path))
		return usage_error("socket path too long: %s", sock_path);
	strcpy(sa.sun_path, sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "smmu-khoctl: socket: %s\n", strerror(errno));
		return EX_FAIL;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = errno;

		close(fd);
		if (e == EACCES || e == EPERM) {
			fprintf(stderr, "smmu-khoctl: %s: %s\nsmmu-khoctl: next: run as root (sudo smmu-khoctl ...)\n",
				sock_path, strerror(e));
			return EX_PERM;
		}
		fprintf(stderr, "smmu-khoctl: smmu-khod is not running (%s: %s)\n"
			"smmu-khoctl: next: start it with `systemctl start smmu-khod.socket` (or run smmu-khod), then retry\n",
			sock_path, strerror(e));
		return EX_NOTRUNNING;
	}
	*out = fd;
	return EX_OK;
}

static int code_to_exit(int code)
{
	switch (code) {
	case SKHOPB__RESULT_CODE__RC_OK:
		return EX_OK;
	case SKHOPB__RESULT_CODE__RC_BAD_REQUEST:
		return EX_USAGE;
	case SKHOPB__RESULT_CODE__RC_WRONG_STATE:
		return EX_STATE;
	case SKHOPB__RESULT_CODE__RC_VERIFY_FAILED:
		return EX_VERIFY;
	case SKHOPB__RESULT_CODE__RC_PERMISSION:
		return EX_PERM;
	case SKHOPB__RESULT_CODE__RC_BACKEND:
		return EX_KERNEL;
	case SKHOPB__RESULT_CODE__RC_BUSY:
		return EX_BUSY;
	case SKHOPB__RESULT_CODE__RC_NOT_HITLESS:
		return EX_NOT_HITLESS;
	}
	return EX_FAIL;
}

/*
 * Send @req, print progress frames (prefix @prog), return the final
 * response in *@out.  *@jumped is set when the connection closed right
 * after the "jumping" progress frame: the daemon kexec'd.
 */
static int transact(Skhopb__Request *req, const char *prog, Skhopb__Response **out,
		    bool *jumped)
{
	bool jumping = false, refused = false;
	int fd = -1, r;

	*out = NULL;
	if (jumped)
		*jumped = false;
	r = connect_daemon(&fd);
	if (r)
		return r;
	req->version = SKHO_PB_VERSION;
	r = skhod_frame_send(fd, &req->base);
	if (r == -EPIPE || r == -ECONNRESET) {
		/*
		 * The daemon refused the connection before reading the request
		 * (RC_BUSY, RC_PERMISSION) and closed it: its reply is still
		 * queued for us, read it rather than report a broken pipe.
		 */
		refused = true;
	} else if (r) {
		fprintf(stderr, "smmu-khoctl: sending the request: %s\n", strerror(-r));
		close(fd);
		return EX_FAIL;
	}
	for (;;) {
		Skhopb__Response *resp;
		uint8_t *buf;
		size_t len;

		r = skhod_frame_recv(fd, &buf, &len, refused ? 2000 : timeout_ms);
		if (r == -ECONNRESET && len == 0 && jumping && jumped) {
			*jumped = true;
			close(fd);
			return EX_OK;
		}
		if (r && refused) {
			fprintf(stderr, "smmu-khoctl: smmu-khod closed the connection before reading the request\n"
				"smmu-khoctl: next: retry; if it persists check `journalctl -u smmu-khod` (or the daemon's stderr)\n");
			close(fd);
			return EX_FAIL;
		}
		if (r) {
			fprintf(stderr, "smmu-khoctl: no reply from smmu-khod: %s\n"
				"smmu-khoctl: next: check `journalctl -u smmu-khod` (or the daemon's stderr), then `smmu-khoctl status`\n",
				r == -ECONNRESET ? "connection closed" : strerror(-r));
			close(fd);
			return EX_FAIL;
		}
		resp = skhopb__response__unpack(NULL, len, buf);
		free(buf);
		if (!resp) {
			fprintf(stderr, "smmu-khoctl: malformed reply from smmu-khod\n"
				"smmu-khoctl: next: make sure smmu-khoctl and smmu-khod are the same version\n");
			close(fd);
			return EX_FAIL;
		}
		if (resp->final) {
			*out = resp;
			close(fd);
			return EX_OK;
		}
		printf("%s%s\n", prog ? prog : "", resp->progress);
		fflush(stdout);
		jumping = !strncmp(resp->progress, "jumping", 7);
		skhopb__response__free_unpacked(resp, NULL);
	}
}

/* Print error + hint of a failed response; returns the exit code. */
static int report(const Skhopb__Response *r)
{
	if (r->code == SKHOPB__RESULT_CODE__RC_OK) {
		if (r->error[0])
			printf("%s\n", r->error);
		return EX_OK;
	}
	if (r->code == SKHOPB__RESULT_CODE__RC_BUSY)
		fprintf(stderr, "smmu-khoctl: smmu-khod is busy: %s\n",
			r->error[0] ? r->error : "too many connections");
	else
		fprintf(stderr, "smmu-khoctl: error: %s\n",
			r->error[0] ? r->error : "request failed");
	if (r->hint[0])
		fprintf(stderr, "smmu-khoctl: next: %s\n", r->hint);
	return code_to_exit(r->code);
}

/* ---- plan options ---- */

struct plan_args {
	Skhopb__Plan *plan;
	bool have;		/* any plan option given */
	bool dry_run, no_jump, json, probe, replace;
	const char *reason;
	const char *jump;	/* --jump systemd|reboot; NULL: systemd if booted with it */
	uint32_t max;
};

static int add_devices(Skhopb__Plan *p, const char *list)
{
	char *copy = strdup(list), *tok, *save;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		char *d = strdup(tok);

		if (!d || SKHOD_PB_PUSH(&p->devices, &p->n_devices, d)) {
			free(d);
			free(copy);
			return -ENOMEM;
		}
	}
	free(copy);
	return 0;
}

static bool config_true(const char *v)
{
	return !strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1");
}

/* KEY=VALUE lines; fills only what the command line did not set. */
static int load_config(const char *path, struct plan_args *a, bool set_devices)
{
	FILE *f = fopen(path, "re");
	char line[4096];
	int ln = 0;

	if (!f)
		return usage_error("config %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char *k = line, *v, *e;

		ln++;
		line[strcspn(line, "\n")] = 0;
		while (*k == ' ' || *k == '\t')
			k++;
		if (!*k || *k == '#')
			continue;
		v = strchr(k, '=');
		if (!v) {
			fclose(f);
			return usage_error("%s:%d: expected KEY=VALUE", path, ln);
		}
		*v++ = 0;
		for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t'); )
			*--e = 0;
		if ((*v == '"' || *v == '\'') && strlen(v) >= 2 && v[strlen(v) - 1] == *v) {
			v[strlen(v) - 1] = 0;
			v++;
		}
		if (!strcmp(k, "KERNEL") && !a->plan->kernel[0])
			skhod_pb_setstr(&a->plan->kernel, v);
		else if (!strcmp(k, "INITRD") && !a->plan->initrd[0])
			skhod_pb_setstr(&a->plan->initrd, v);
		else if (!strcmp(k, "APPEND") && !a->plan->cmdline[0] && !a->plan->reuse_cmdline)
			skhod_pb_setstr(&a->plan->cmdline, v);
		else if (!strcmp(k, "REUSE_CMDLINE") && !a->plan->cmdline[0])
			a->plan->reuse_cmdline = config_true(v);
		else if (!strcmp(k, "DEVICES") && set_devices)
			add_devices(a->plan, v);
		else if (!strcmp(k, "NO_JUMP"))
			a->no_jump = a->no_jump || config_true(v);
		else if (!strcmp(k, "NO_DEVICE") && set_devices)
			a->plan->no_device = config_true(v);
		else if (strcmp(k, "KERNEL") && strcmp(k, "INITRD") && strcmp(k, "APPEND") &&
			 strcmp(k, "REUSE_CMDLINE") && strcmp(k, "DEVICES") &&
			 strcmp(k, "NO_DEVICE")) {
			fclose(f);
			return usage_error("%s:%d: unknown key %s", path, ln, k);
		}
	}
	fclose(f);
	a->have = true;
	return 0;
}

/* Parse command options in argv[1..] (argv[0] is the command). */
static int parse_args(int argc, char **argv, struct plan_args *a, bool plan_ok,
		      const char *const *flags)
{
	const char *config = NULL;
	int i;

	a->plan = malloc(sizeof(*a->plan));
	if (!a->plan)
		return EX_FAIL;
	skhopb__plan__init(a->plan);
	for (i = 1; i < argc; i++) {
		const char *o = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		const char *const *fl;
		bool known = false;

		for (fl = flags; fl && *fl; fl++)
			known |= !strcmp(*fl, o);
		if (!known && !(plan_ok && (!strcmp(o, "--kernel") || !strcmp(o, "--initrd") ||
					    !strcmp(o, "--append") || !strcmp(o, "--reuse-cmdline") ||
					    !strcmp(o, "--device") || !strcmp(o, "--config") ||
					    !strcmp(o, "--no-device"))))
			return usage_error("%s: unexpected argument \"%s\"", argv[0], o);
		if (!strcmp(o, "--reuse-cmdline")) {
			a->plan->reuse_cmdline = true;
			a->have = true;
		} else if (!strcmp(o, "--no-device")) {
			a->plan->no_device = true;
			a->have = true;
		} else if (!strcmp(o, "--dry-run")) {
			a->dry_run = true;
		} else if (!strcmp(o, "--no-jump")) {
			a->no_jump = true;
		} else if (!strcmp(o, "--json")) {
			a->json = true;
		} else if (!strcmp(o, "--probe")) {
			a->probe = true;
		} else if (!strcmp(o, "--replace")) {
			a->replace = true;
		} else if (!val) {
			return usage_error("%s: %s needs a value", argv[0], o);
		} else if (!strcmp(o, "--device")) {
			/* --device A B C, --device A,B, --device A --device B */
			do {
				if (add_devices(a->plan, argv[++i]))
					return EX_FAIL;
			} while (i + 1 < argc && strncmp(argv[i + 1], "--", 2));
			a->have = true;
		} else {
			i++;
			if (!strcmp(o, "--kernel"))
				skhod_pb_setstr(&a->plan->kernel, val);
			else if (!strcmp(o, "--initrd"))
				skhod_pb_setstr(&a->plan->initrd, val);
			else if (!strcmp(o, "--append"))
				skhod_pb_setstr(&a->plan->cmdline, val);
			else if (!strcmp(o, "--config"))
				config = val;
			else if (!strcmp(o, "--reason"))
				a->reason = val;
			else if (!strcmp(o, "--jump"))
				a->jump = val;
			else if (!strcmp(o, "--max"))
				a->max = (uint32_t)strtoul(val, NULL, 0);
			if (strcmp(o, "--reason") && strcmp(o, "--max") && strcmp(o, "--config") &&
			    strcmp(o, "--jump"))
				a->have = true;
		}
	}
	if (a->plan->reuse_cmdline && a->plan->cmdline[0])
		return usage_error("%s: give either --append or --reuse-cmdline, not both", argv[0]);
	if (config) {
		int r = load_config(config, a, a->plan->n_devices == 0 && !a->plan->no_device);

		if (r)
			return r;
	}
	if (a->have) {
		if (!a->plan->kernel[0])
			return usage_error("%s: the plan needs --kernel PATH", argv[0]);
		if (!a->plan->n_devices && !a->plan->no_device)
			return usage_error("%s: the plan needs --device BDF (or --no-device for an update that preserves none)",
					   argv[0]);
		if (a->plan->n_devices && a->plan->no_device)
			return usage_error("%s: give either --device or --no-device, not both", argv[0]);
		if (!a->plan->reuse_cmdline && !a->plan->cmdline[0])
			return usage_error("%s: the plan needs --append CMDLINE or --reuse-cmdline",
					   argv[0]);
	}
	return EX_OK;
}

/* ---- commands ---- */

/* "state: ARMED" and the operator's next step: the daemon's hint, else the state's. */
static void print_next(const Skhopb__Response *r, const char *prefix)
{
	printf("%sstate: %s\nnext: %s\n", prefix, skhod_state_name(r->status->state),
	       r->hint[0] ? r->hint : skhod_state_hint(r->status->state));
}

/*
 * One round trip: send @req, then hand a successful reply to @show (which
 * prints it and returns the exit code); a refused one is reported.  The
 * reply is freed here.  @show may be NULL.
 */
static int run(Skhopb__Request *req, struct plan_args *a,
	       int (*show)(const Skhopb__Response *r, struct plan_args *a))
{
	Skhopb__Response *r;
	int ex;

	ex = transact(req, NULL, &r, NULL);
	if (ex)
		return ex;
	/* --json: stdout is one JSON document, without the OK message */
	ex = a->json && r->code == SKHOPB__RESULT_CODE__RC_OK ? EX_OK : report(r);
	if (!ex && show)
		ex = show(r, a);
	skhopb__response__free_unpacked(r, NULL);
	return ex;
}

static int show_status(const Skhopb__Response *r, struct plan_args *a)
{
	const char *hint;

	if (!r->status)
		return EX_OK;
	hint = r->hint[0] ? r->hint : skhod_state_hint(r->status->state);
	if (a->json) {
		if (skhoctl_json_status(r->status, hint))
			return EX_FAIL;
	} else {
		human_status(stdout, r->status, hint);
	}
	if (r->status->state == SKHOD_NEEDS_ATTENTION)
		return EX_ATTENTION;
	return r->status->state == SKHOD_FAILED ? EX_VERIFY : EX_OK;
}

static int cmd_status(struct plan_args *a)
{
	Skhopb__Request req = SKHOPB__REQUEST__INIT;
	Skhopb__StatusRequest st = SKHOPB__STATUS_REQUEST__INIT;

	req.op_case = SKHOPB__REQUEST__OP_STATUS;
	req.status = &st;
	return run(&req, a, show_status);
}

static int show_arm(const Skhopb__Response *r, struct plan_args *a)
{
	size_t i;

	if (a->json)
		return r->plan && skhoctl_json_plan(r->plan) ? EX_FAIL : EX_OK;
	if (r->plan) {
		printf("plan:    kernel %s, initrd %s, %zu device(s)\ncmdline: %s\n",
		       r->plan->kernel, r->plan->initrd[0] ? r->plan->initrd : "(none)",
		       r->plan->n_devices, r->plan->cmdline);
		for (i = 0; i < r->plan->n_devices; i++)
			printf("device:  %s\n", r->plan->devices[i]);
		for (i = 0; i < r->plan->n_choices; i++)
			printf("%s %s: %s\n", r->plan->choices[i]->selected ? "selected:" : "excluded:",
			       r->plan->choices[i]->device, r->plan->choices[i]->reason);
		if (r->plan->nr_unlisted)
			printf("excluded: %u more bound to vfio-pci, not listed\n", r->plan->nr_unlisted);
		if (r->plan->nr_not_vfio)
			printf("skipped:  %u PCI device(s) not bound to vfio-pci\n", r->plan->nr_not_vfio);
	}
	if (r->status && !a->dry_run)
		print_next(r, "");
	return EX_OK;
}

static int cmd_arm(struct plan_args *a)
{
	Skhopb__Request req = SKHOPB__REQUEST__INIT;
	Skhopb__ArmRequest arm = SKHOPB__ARM_REQUEST__INIT;

	if (!a->have)
		return usage_error("arm: the plan needs --kernel, --device and --append or --reuse-cmdline");
	arm.plan = a->plan;
	arm.dry_run = a->dry_run;
	req.op_case = SKHOPB__REQUEST__OP_ARM;
	req.arm = &arm;
	return run(&req, a, show_arm);
}

/*
 * The jump under systemd: StartUnit("kexec.target", "replace-irreversibly")
 * on PID 1, as `systemctl kexec` does.  systemd stops every service (smmu-khod
 * too: its journal memfd stays in the fd store), unmounts the file systems
 * and systemd-shutdown kexecs into the kernel smmu-khod loaded.  Returns an
 * exit code: EX_OK (the shutdown started), EX_KERNEL (systemd refused or did
 * not answer; the update stays PRESERVED).
 */
static int systemd_kexec(void)
{
	const char *bus = getenv("SMMU_KHO_SYSTEMD_BUS");
	char job[256], err[300];
	int r;

	if (!bus || !*bus)
		bus = SKHO_SD_PRIVATE_BUS;
	printf("update: asking systemd for the orderly kexec: StartUnit kexec.target replace-irreversibly\n");
	fflush(stdout);
	r = skho_sd_start_unit(bus, "kexec.target", "replace-irreversibly", 30000, job,
			       sizeof(job), err, sizeof(err));
	if (r) {
		fprintf(stderr, "smmu-khoctl: systemd did not start kexec.target: %s\n"
			"smmu-khoctl: the update is still PRESERVED with the kernel loaded: run "
			"`systemctl kexec`, or `smmu-khoctl abort`\n", err);
		return EX_KERNEL;
	}
	printf("update: systemd queued %s: services stop, file systems unmount, then the jump;\n"
	       "update: after boot run `smmu-khoctl status` (expect VERIFIED)\n", job);
	return EX_OK;
}

static int cmd_update(struct plan_args *a)
{
	Skhopb__Request req = SKHOPB__REQUEST__INIT;
	Skhopb__UpdateRequest up = SKHOPB__UPDATE_REQUEST__INIT;
	Skhopb__Response *r;
	bool jumped, via_systemd;
	int ex;

	if (a->jump && strcmp(a->jump, "systemd") && strcmp(a->jump, "reboot"))
		return usage_error("update: --jump takes systemd or reboot, not \"%s\"", a->jump);
	via_systemd = a->jump ? !strcmp(a->jump, "systemd") : skho_sd_booted();
	if (via_systemd && !a->jump) {
		/*
		 * Only a daemon on the real kernel interface hands the jump to
		 * systemd by default: a test daemon on the fake backend must
		 * never make the host's systemd kexec.
		 */
		Skhopb__Request sreq = SKHOPB__REQUEST__INIT;
		Skhopb__StatusRequest st = SKHOPB__STATUS_REQUEST__INIT;

		sreq.op_case = SKHOPB__REQUEST__OP_STATUS;
		sreq.status = &st;
		ex = transact(&sreq, NULL, &r, NULL);
		if (ex)
			return ex;
		via_systemd = r->status && !strcmp(r->status->backend, "real");
		skhopb__response__free_unpacked(r, NULL);
	}
	up.plan = a->have ? a->plan : NULL;
	/* Under systemd the daemon stops in PRESERVED and systemd jumps. */
	up.no_jump = a->no_jump || via_systemd;
	req.op_case = SKHOPB__REQUEST__OP_UPDATE;
	req.update = &up;
	ex = transact(&req, "update: ", &r, &jumped);
	if (ex)
		return ex;
	if (jumped) {
		printf("update: the jump started: the system should now be booting the new kernel;\n"
		       "update: after boot run `smmu-khoctl status` (expect VERIFIED); if this system\n"
		       "update: did not reboot, run `smmu-khoctl status` now (expect PRESERVED)\n");
		return EX_OK;
	}
	ex = report(r);
	if (!ex && via_systemd && !a->no_jump && r->status &&
	    (int)r->status->state == SKHOD_PRESERVED) {
		skhopb__response__free_unpacked(r, NULL);
		return systemd_kexec();
	}
	if (!ex && r->status)
		printf("update: state %s\nnext: %s\n", skhod_state_name(r->status->state),
		       a->no_jump && skho_sd_booted() ? "run `systemctl kexec` to jump, or `smmu-khoctl abort`" :
		       r->hint[0] ? r->hint : skhod_state_hint(r->status->state));
	skhopb__response__free_unpacked(r, NULL);
	return ex;
}

static int cmd_verify(struct plan_args *a)
{
	Skhopb__Request req = SKHOPB__REQUEST__INIT;
	Skhopb__VerifyRequest v = SKHOPB__VERIFY_REQUEST__INIT;
	Skhopb__Response *r;
	int ex;

	v.probe = a->probe;
	req.op_case = SKHOPB__REQUEST__OP_VERIFY;
	req.verify = &v;
	ex = transact(&req, NULL, &r, NULL);
	if (ex)
		return ex;
	if (r->verification) {
		if (a->json) {
			if (skhoctl_json_verification(r->verification)) {
				skhopb__response__free_unpacked(r, NULL);
				return EX_FAIL;
			}
		} else {
			human_verification(stdout, r->verification);
		}
	}
	ex = report(r);
	if (!ex && !a->json && r->status)
		print_next(r, "");
	skhopb__response__free_unpacked(r, NULL);
	return ex;
}

static int show_state(const Skhopb__Response *r, struct plan_args *a)
{
	(void)a;
	if (r->status)
		print_next(r, "");
	return EX_OK;
}

static int cmd_abort(struct plan_args *a)
{
	Skhopb__Request req = SKHOPB__REQUEST__INIT;
	Skhopb__AbortRequest ab = SKHOPB__ABORT_REQUEST__INIT;

	ab.reason = (char *)(a->reason ? a->reason : protobuf_c_empty_string);
	req.op_case = SKHOPB__REQUEST__OP_ABORT;
	req.abort = &ab;
	return run(&req, a, show_state);
}

static int cmd_finish(struct plan_args *a)
{
	Skhopb__Request req = SKHOPB__REQUEST__INIT;
	Skhopb__FinishRequest fin = SKHOPB__FINISH_REQUEST__INIT;

	fin.replace = a->replace;
	req.op_case = SKHOPB__REQUEST__OP_FINISH;
	req.finish = &fin;
	return run(&req, a, show_state);
}

static int show_history(const Skhopb__Response *r, struct plan_args *a)
{
	if (a->json)
		return skhoctl_json_history(r) ? EX_FAIL : EX_OK;
	human_history(stdout, r);
	return EX_OK;
}

static int cmd_history(struct plan_args *a)
{
	Skhopb__Request req = SKHOPB__REQUEST__INIT;
	Skhopb__HistoryRequest h = SKHOPB__HISTORY_REQUEST__INIT;

	h.max = a->max;
	req.op_case = SKHOPB__REQUEST__OP_HISTORY;
	req.history = &h;
	return run(&req, a, show_history);
}

int main(int argc, char **argv)
{
	static const char *const f_status[] = { "--json", NULL };
	static const char *const f_arm[] = { "--dry-run", "--json", NULL };
	static const char *const f_update[] = { "--no-jump", "--jump", NULL };
	static const char *const f_verify[] = { "--probe", "--json", NULL };
	static const char *const f_abort[] = { "--reason", NULL };
	static const char *const f_history[] = { "--max", "--json", NULL };
	static const char *const f_finish[] = { "--replace", NULL };
	struct plan_args a = { 0 };
	const char *cmd;
	int i = 1, ex;

	skhod_log_init("smmu-khoctl", SKHOD_LOG_INFO);
	sock_path = getenv("SMMU_KHO_SOCKET");
	if (!sock_path || !*sock_path)
		sock_path = SKHOD_DEFAULT_SOCKET;
	while (i < argc && !strncmp(argv[i], "-", 1)) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return EX_OK;
		} else if (!strcmp(argv[i], "--version")) {
			printf("smmu-khoctl 0.1\n");
			return EX_OK;
		} else if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			sock_path = argv[i + 1];
			i += 2;
		} else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			timeout_ms = (int)strtol(argv[i + 1], NULL, 0) * 1000;
			if (timeout_ms <= 0)
				return usage_error("--timeout needs a positive number of seconds");
			i += 2;
		} else {
			return usage_error("unknown option %s", argv[i]);
		}
	}
	if (i >= argc)
		return usage_error("no command given");
	cmd = argv[i];
	argc -= i;
	argv += i;
	if (!strcmp(cmd, "status"))
		ex = parse_args(argc, argv, &a, false, f_status) ?: cmd_status(&a);
	else if (!strcmp(cmd, "plan") || !strcmp(cmd, "arm"))
		ex = parse_args(argc, argv, &a, true, f_arm) ?: cmd_arm(&a);
	else if (!strcmp(cmd, "update"))
		ex = parse_args(argc, argv, &a, true, f_update) ?: cmd_update(&a);
	else if (!strcmp(cmd, "verify"))
		ex = parse_args(argc, argv, &a, false, f_verify) ?: cmd_verify(&a);
	else if (!strcmp(cmd, "abort"))
		ex = parse_args(argc, argv, &a, false, f_abort) ?:
		     cmd_abort(&a);
	else if (!strcmp(cmd, "finish"))
		ex = parse_args(argc, argv, &a, false, f_finish) ?:
		     cmd_finish(&a);
	else if (!strcmp(cmd, "history"))
		ex = parse_args(argc, argv, &a, false, f_history) ?: cmd_history(&a);
	else
		ex = usage_error("unknown command \"%s\"", cmd);
	skhod_pb_free(a.plan);
	return ex;
}
