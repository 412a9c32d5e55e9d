// SPDX-License-Identifier: GPL-2.0-only
/* smmu-khod main: options, systemd hand-off (sockets, fd store, notify, watchdog), event loop. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "backend.h"
#include "ctl_server.h"
#include "frame.h"
#include "khod.h"
#include "log.h"
#include "sd_shim.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: smmu-khod [options]\n"
		"  --backend %-15s kernel interface (default real: /dev/smmu_kho)\n"
		"  --state-dir DIR           journal and history (default /var/lib/smmu-kho)\n"
		"  --socket PATH             control socket when not socket-activated\n"
		"                            (default " SKHOD_DEFAULT_SOCKET ")\n"
		"  --probe-cmd CMD           active DMA probe, run per stream by `verify --probe`\n"
		"                            (env SKHO_SID, SKHO_SMMU, SKHO_DEVICE; exit 0 = DMA works)\n"
		"  --max-events N            SMMU events tolerated per stream (default 0)\n"
		"  --no-auto-verify          do not verify right after recovering a handover\n"
		"  --handover luo|fd-store   how the journal memfd crosses the jump: our own\n"
		"                            LUO session (default), or only systemd's fd store\n"
		"                            (FileDescriptorStorePreserve=yes, systemd >= 261)\n"
		"  -v, --verbose             debug logging\n"
		"  --version\n"
		"Environment: SKHOD_CTL_IDLE_TIMEOUT_MS  close control connections idle this long\n"
		"                                        (default %d; for tests)\n"
		"Exit status: 0 clean shutdown, 1 startup failure, 2 usage error.\n",
		skhod_backend_specs, SKHOD_CTL_IDLE_TIMEOUT_MS);
}

static bool is_listening_unix(int fd)
{
	int type = 0, acc = 0;
	socklen_t l = sizeof(type), la = sizeof(acc);
	struct sockaddr sa;
	socklen_t sl = sizeof(sa);

	return !getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) && type == SOCK_STREAM &&
	       !getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &la) && acc &&
	       !getsockname(fd, &sa, &sl) && sa.sa_family == AF_UNIX;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "backend", required_argument, NULL, 'b' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "socket", required_argument, NULL, 'S' },
		{ "probe-cmd", required_argument, NULL, 'p' },
		{ "max-events", required_argument, NULL, 'e' },
		{ "no-auto-verify", no_argument, NULL, 'n' },
		{ "handover", required_argument, NULL, 'H' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct skhod_opts o = {
		.backend = "real",
		.state_dir = "/var/lib/smmu-kho",
		.auto_verify = true,
	};
	const char *sock_path = SKHOD_DEFAULT_SOCKET;
	int level = SKHOD_LOG_INFO, c, i, n, store_memfd = -1, store_luo = -1;
	int listen_fd = -1, sfd, tfd = -1, r, rc = 0;
	struct skhod_ctl_server srv;
	struct skhod d;
	char **names = NULL, status[300];
	const char *idle;
	uint64_t wd_usec = 0;
	sigset_t mask;

	while ((c = getopt_long(argc, argv, "vh", lopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			o.backend = optarg;
			break;
		case 's':
			o.state_dir = optarg;
			break;
		case 'S':
			sock_path = optarg;
			break;
		case 'p':
			o.probe_cmd = optarg;
			break;
		case 'e':
			o.max_events = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'n':
			o.auto_verify = false;
			break;
		case 'H':
			if (!strcmp(optarg, "fd-store")) {
				o.handover_fdstore = true;
			} else if (strcmp(optarg, "luo")) {
				fprintf(stderr, "smmu-khod: --handover takes luo or fd-store, not \"%s\"\n",
					optarg);
				return 2;
			}
			break;
		case 'v':
			level = SKHOD_LOG_DEBUG;
			break;
		case 'V':
			printf("smmu-khod %s\n", SKHOD_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	skhod_log_init("smmu-khod", level);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		log_err("signalfd: %s", strerror(errno));
		return 1;
	}

	/* Inherited fds: the control socket, the journal memfd, the LUO session. */
	n = skhod_sd_listen_fds(&names);
	for (i = 0; i < n; i++) {
		int fd = SKHOD_SD_LISTEN_FDS_START + i;
		const char *nm = names && names[i] ? names[i] : "unknown";

		if (!strcmp(nm, "journal") && store_memfd < 0)
			store_memfd = fd;
		else if (!strcmp(nm, "luo-session") && store_luo < 0)
			store_luo = fd;
		else if (listen_fd < 0 && is_listening_unix(fd))
			listen_fd = fd;
		else {
			log_warn("ignoring inherited fd %d (%s)", fd, nm);
			close(fd);
		}
	}
	skhod_sd_free_names(names);

	r = skhod_start(&d, &o, store_memfd, store_luo);
	if (r) {
		skhod_sd_notify("STATUS=startup failed");
		skhod_stop(&d);
		return 1;
	}
	if (listen_fd >= 0) {
		skhod_ctl_init(&srv, listen_fd, NULL, false, skhod_handle, &d, geteuid());
		log_info("control socket inherited (socket activation)");
	} else {
		r = skhod_ctl_bind(sock_path, &listen_fd);
		if (r == -ENOTSOCK) {
			log_err("control socket %s: the path exists and is not a socket: "
				"refusing to replace it (remove it or choose another --socket)",
				sock_path);
			skhod_stop(&d);
			return 1;
		}
		if (r) {
			log_err("control socket %s: %s%s", sock_path, strerror(-r),
				r == -EADDRINUSE ? " (another smmu-khod is running)" : "");
			skhod_stop(&d);
			return 1;
		}
		skhod_ctl_init(&srv, listen_fd, sock_path, true, skhod_handle, &d, geteuid());
	}
	idle = getenv("SKHOD_CTL_IDLE_TIMEOUT_MS");
	if (idle && *idle) {
		char *end;
		unsigned long ms = strtoul(idle, &end, 10);

		if (*end || !ms || ms > 3600 * 1000)
			log_warn("SKHOD_CTL_IDLE_TIMEOUT_MS=%s ignored: want 1..3600000", idle);
		else
			srv.idle_ms = (unsigned int)ms;
	}
	if (skhod_sd_watchdog(&wd_usec)) {
		struct itimerspec its = { 0 };
		uint64_t half = wd_usec / 2;

		tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		its.it_interval.tv_sec = (time_t)(half / 1000000);
		its.it_interval.tv_nsec = (long)(half % 1000000) * 1000;
		its.it_value = its.it_interval;
		if (tfd < 0 || timerfd_settime(tfd, 0, &its, NULL))
			log_warn("watchdog timer: %s", strerror(errno));
	}
	/* Recovery (and verification after a jump) is complete: ready. */
	skhod_status_line(&d, status, sizeof(status));
	{
		char msg[400];

		snprintf(msg, sizeof(msg), "READY=1\n%s", status);
		skhod_sd_notify(msg);
	}
	log_notice("ready: %s (journal from %s)", status + 7, d.journal_source);

	for (;;) {
		struct pollfd extra[2] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = tfd, .events = POLLIN },
		};

		r = skhod_ctl_poll(&srv, extra, tfd >= 0 ? 2 : 1, -1);
		if (r < 0) {
			log_err("poll: %s", strerror(-r));
			rc = 1;
			break;
		}
		if (extra[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				log_notice("signal %u: shutting down", si.ssi_signo);
				break;
			}
		}
		if (tfd >= 0 && (extra[1].revents & POLLIN)) {
			uint64_t ticks;

			if (read(tfd, &ticks, sizeof(ticks)) == sizeof(ticks))
				skhod_sd_notify("WATCHDOG=1");
		}
	}
	skhod_sd_notify("STOPPING=1");
	skhod_prepare_stop(&d);
	skhod_ctl_shutdown(&srv);
	skhod_stop(&d);
	if (tfd >= 0)
		close(tfd);
	close(sfd);
	return rc;
}
