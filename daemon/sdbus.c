// SPDX-License-Identifier: GPL-2.0-only
/* smmu-khoctl's one D-Bus call: ask systemd (PID 1) to start a unit, as `systemctl kexec` does. */
/*
 * A minimal D-Bus client for exactly one method call, StartUnit(ss) on
 * org.freedesktop.systemd1.Manager, over PID 1's private socket (what
 * systemctl itself uses as root): SASL EXTERNAL, one METHOD_CALL message,
 * read until its METHOD_RETURN or ERROR.  Built in rather than sd-bus
 * because smmu-khoctl must also be a static binary (the VM's), and Debian
 * ships no static libsystemd; the D-Bus wire format is stable.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "sdbus.h"

#define MSG_MAX		(64 * 1024)

bool skho_sd_booted(void)
{
	struct stat st;

	return !lstat("/run/systemd/system/", &st) && S_ISDIR(st.st_mode);
}

/* ---- marshalling (little endian) ---- */

struct buf {
	uint8_t b[4096];
	size_t n;
	bool overflow;
};

static void put(struct buf *m, const void *p, size_t l)
{
	if (m->n + l > sizeof(m->b)) {
		m->overflow = true;
		return;
	}
	memcpy(m->b + m->n, p, l);
	m->n += l;
}

static void align(struct buf *m, size_t a)
{
	static const uint8_t zero[8];

	put(m, zero, (a - m->n % a) % a);
}

static void put_u8(struct buf *m, uint8_t v)
{
	put(m, &v, 1);
}

static void put_u32(struct buf *m, uint32_t v)
{
	uint8_t le[4] = { v, v >> 8, v >> 16, v >> 24 };

	align(m, 4);
	put(m, le, 4);
}

static void put_str(struct buf *m, const char *s)	/* 's' or 'o' */
{
	put_u32(m, (uint32_t)strlen(s));
	put(m, s, strlen(s) + 1);
}

static void put_sig(struct buf *m, const char *s)	/* 'g' */
{
	put_u8(m, (uint8_t)strlen(s));
	put(m, s, strlen(s) + 1);
}

/* A header field: struct (byte code, variant). */
static void field(struct buf *m, uint8_t code, const char *sig, const char *val)
{
	align(m, 8);
	put_u8(m, code);
	put_sig(m, sig);
	if (!strcmp(sig, "g"))
		put_sig(m, val);
	else
		put_str(m, val);
}

static uint32_t get_u32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- I/O with a deadline ---- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_in(int fd, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int64_t left = deadline - now_ms();
	int r;

	if (left <= 0)
		return -ETIMEDOUT;
	r = poll(&p, 1, (int)left);
	return r < 0 ? -errno : r == 0 ? -ETIMEDOUT : 0;
}

static int read_full(int fd, void *b, size_t l, int64_t deadline)
{
	size_t got = 0;

	while (got < l) {
		ssize_t r;
		int w = wait_in(fd, deadline);

		if (w)
			return w;
		r = read(fd, (char *)b + got, l - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ECONNRESET;
		got += (size_t)r;
	}
	return 0;
}

/* One SASL line ending in \r\n, into @line. */
static int read_line(int fd, char *line, size_t len, int64_t deadline)
{
	size_t n = 0;

	while (n + 1 < len) {
		int r = read_full(fd, line + n, 1, deadline);

		if (r)
			return r;
		if (line[n++] == '\n')
			break;
	}
	line[n] = 0;
	return n >= 2 && line[n - 2] == '\r' && line[n - 1] == '\n' ? 0 : -EPROTO;
}

/*
 * The fixed header and header fields of a METHOD_CALL to systemd's manager
 * object, with serial @serial and a body of @body_len bytes of signature
 * @sig (NULL: no body), padded to the 8-byte body boundary.  D-Bus
 * specification, "Message Format": byte order 'l', type 1, flags 0,
 * version 1, then PATH (1), INTERFACE (2), MEMBER (3), DESTINATION (6),
 * SIGNATURE (8).
 */
static void call_header(struct buf *m, uint32_t serial, uint32_t body_len, const char *iface,
			const char *member, const char *sig)
{
	uint32_t fl;

	put_u8(m, 'l');
	put_u8(m, 1);	/* METHOD_CALL */
	put_u8(m, 0);	/* flags */
	put_u8(m, 1);	/* protocol version */
	put_u32(m, body_len);
	put_u32(m, serial);
	put_u32(m, 0);	/* fields length, patched below */
	field(m, 1, "o", "/org/freedesktop/systemd1");
	field(m, 2, "s", iface);
	field(m, 3, "s", member);
	field(m, 6, "s", "org.freedesktop.systemd1");
	if (sig)
		field(m, 8, "g", sig);
	fl = (uint32_t)(m->n - 16);
	if (!m->overflow) {
		uint8_t le[4] = { fl, fl >> 8, fl >> 16, fl >> 24 };

		memcpy(m->b + 12, le, 4);
	}
	align(m, 8);
}

/* ---- reply parsing ---- */

/* A string ('s'/'o') at *@pos of @m (length @n), bounds-checked; advances *@pos. */
static const char *get_str(const uint8_t *m, size_t n, size_t *pos)
{
	size_t p = (*pos + 3) & ~(size_t)3;
	uint32_t l;

	if (p + 4 > n)
		return NULL;
	l = get_u32(m + p);
	if (l > n || p + 4 + l + 1 > n || m[p + 4 + l])
		return NULL;
	*pos = p + 4 + l + 1;
	return (const char *)m + p + 4;
}

struct reply {
	uint8_t type;		/* 2 METHOD_RETURN, 3 ERROR, others skipped */
	uint32_t reply_serial;
	const char *error_name;
	const char *body_str;	/* first string of the body ('s' or 'o'), if any */
	const uint8_t *body;	/* the body, 8-aligned in the message */
	uint32_t body_len;
	char sig[256];		/* its signature */
};

/* Parse the message @m (@n bytes, already known complete). Returns 0 or -EPROTO. */
static int parse_reply(const uint8_t *m, size_t n, struct reply *r)
{
	size_t pos = 16, end, body;
	uint32_t flen, blen;
	char *sig = r->sig;

	memset(r, 0, sizeof(*r));
	if (n < 16 || m[0] != 'l')
		return -EPROTO;
	r->type = m[1];
	blen = get_u32(m + 4);
	flen = get_u32(m + 12);
	end = 16 + (size_t)flen;
	body = (end + 7) & ~(size_t)7;
	if (flen > MSG_MAX || body + blen != n)
		return -EPROTO;
	while (pos < end) {
		uint8_t code, sl;

		pos = (pos + 7) & ~(size_t)7;
		if (pos + 3 > end)
			return -EPROTO;
		code = m[pos++];
		sl = m[pos++];
		if (sl != 1 || pos + 2 > end || m[pos + 1])
			return -EPROTO;	/* every header field has a one-letter type */
		switch (m[pos]) {
		case 's':
		case 'o': {
			const char *s;

			pos += 2;
			s = get_str(m, end, &pos);
			if (!s)
				return -EPROTO;
			if (code == 4)
				r->error_name = s;
			break;
		}
		case 'g': {
			uint8_t l;

			pos += 2;
			if (pos + 1 > end)
				return -EPROTO;
			l = m[pos];
			if (pos + 1 + l + 1 > end || m[pos + 1 + l])
				return -EPROTO;
			if (code == 8)
				memcpy(sig, m + pos + 1, (size_t)l + 1);
			pos += 1 + (size_t)l + 1;
			break;
		}
		case 'u':
			pos = ((pos + 2) + 3) & ~(size_t)3;
			if (pos + 4 > end)
				return -EPROTO;
			if (code == 5)
				r->reply_serial = get_u32(m + pos);
			pos += 4;
			break;
		default:
			return -EPROTO;
		}
	}
	r->body = m + body;
	r->body_len = blen;
	if (sig[0] == 's' || sig[0] == 'o') {
		size_t p = 0;

		r->body_str = get_str(m + body, blen, &p);
	}
	return 0;
}

/*
 * One method call @iface.@member(s @a1, s @a2) on PID 1's manager object;
 * on success *@rep describes the METHOD_RETURN (its body stays valid until
 * the next call).  Errors as skho_sd_start_unit().
 */
static int sd_call(const char *bus_path, const char *iface, const char *member,
		   const char *a1, const char *a2, int timeout_ms, struct reply *rep_out,
		   char *err, size_t errlen)
{
	static uint8_t in[MSG_MAX + 64];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int64_t deadline = now_ms() + timeout_ms;
	char line[512], hex[32], uid[16];
	struct buf msg = { .n = 0 }, bd = { .n = 0 }, ping = { .n = 0 };
	int fd, r, i, pings = 0;

	snprintf(err, errlen, "unknown error");
	if (strlen(bus_path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "bus path %s too long", bus_path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, bus_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "socket: %s", strerror(-r));
		return r;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		r = -errno;
		snprintf(err, errlen, "cannot connect to systemd at %s: %s", bus_path, strerror(-r));
		goto out;
	}
	/* SASL: a NUL byte, AUTH EXTERNAL with our uid in hex-encoded ASCII. */
	snprintf(uid, sizeof(uid), "%u", (unsigned int)geteuid());
	for (i = 0; uid[i]; i++)
		snprintf(hex + 2 * i, 3, "%02x", (unsigned char)uid[i]);
	snprintf(line, sizeof(line), "%cAUTH EXTERNAL %s\r\n", 0, hex);
	r = skhod_out_all(fd, SKHOD_OUT_SEND, line, 1 + strlen(line + 1), 0);
	if (!r)
		r = read_line(fd, line, sizeof(line), deadline);
	if (r) {
		snprintf(err, errlen, "authentication with systemd at %s: %s", bus_path, strerror(-r));
		goto out;
	}
	if (strncmp(line, "OK ", 3)) {
		line[strcspn(line, "\r\n")] = 0;
		snprintf(err, errlen, "systemd at %s refused authentication: %.100s", bus_path, line);
		r = -EACCES;
		goto out;
	}
	/* The METHOD_CALL: header, fields, body "ss". */
	put_str(&bd, a1);
	put_str(&bd, a2);
	call_header(&msg, 1, (uint32_t)bd.n, iface, member, "ss");
	put(&msg, bd.b, bd.n);
	if (msg.overflow || bd.overflow) {
		snprintf(err, errlen, "arguments too long");
		r = -ENAMETOOLONG;
		goto out;
	}
	/*
	 * A Peer.Ping (serial 2) to send if the answer is slow: sd-bus (PID 1)
	 * may read our BEGIN and the call in one go and then wait for the next
	 * EPOLLIN before it looks at the call (seen with systemd 262: the
	 * StartUnit ran only when this client gave up and closed).  Each
	 * ping's reply is skipped below.
	 */
	call_header(&ping, 2, 0, "org.freedesktop.DBus.Peer", "Ping", NULL);
	r = skhod_out_all(fd, SKHOD_OUT_SEND, "BEGIN\r\n", 7, 0);
	if (!r)
		r = skhod_out_all(fd, SKHOD_OUT_SEND, msg.b, msg.n, 0);
	if (r) {
		snprintf(err, errlen, "sending %s to systemd: %s", member, strerror(-r));
		goto out;
	}
	/* Messages until the reply to serial 1 (signals and others skipped). */
	for (i = 0; i < 128; i++) {
		struct reply rep;
		size_t total;

		/* Poke the server with a ping every 500 ms of silence. */
		while ((r = wait_in(fd, now_ms() + 500 < deadline ? now_ms() + 500 : deadline)) ==
			       -ETIMEDOUT && now_ms() < deadline && pings < 60) {
			r = skhod_out_all(fd, SKHOD_OUT_SEND, ping.b, ping.n, 0);
			if (r)
				break;
			pings++;
		}
		if (!r)
			r = read_full(fd, in, 16, deadline);
		if (r) {
			snprintf(err, errlen, "waiting for systemd's answer to %s: %s", member,
				 strerror(-r));
			goto out;
		}
		if (in[0] != 'l') {
			snprintf(err, errlen, "systemd's answer is not a little-endian D-Bus message");
			r = -EPROTO;
			goto out;
		}
		total = ((16 + (size_t)get_u32(in + 12) + 7) & ~(size_t)7) + get_u32(in + 4);
		if (get_u32(in + 12) > MSG_MAX || get_u32(in + 4) > MSG_MAX || total > sizeof(in)) {
			snprintf(err, errlen, "systemd's answer is larger than %d bytes", MSG_MAX);
			r = -EPROTO;
			goto out;
		}
		r = read_full(fd, in + 16, total - 16, deadline);
		if (!r)
			r = parse_reply(in, total, &rep);
		if (r) {
			snprintf(err, errlen, "reading systemd's answer: %s", strerror(-r));
			goto out;
		}
		if ((rep.type != 2 && rep.type != 3) || rep.reply_serial != 1)
			continue;
		if (rep.type == 3) {
			snprintf(err, errlen, "%s: %s", rep.error_name ? rep.error_name : "(no name)",
				 rep.body_str ? rep.body_str : "(no message)");
			r = -EREMOTEIO;
			goto out;
		}
		*rep_out = rep;
		err[0] = 0;
		r = 0;
		goto out;
	}
	snprintf(err, errlen, "no answer to %s among 128 messages from systemd", member);
	r = -EPROTO;
out:
	close(fd);
	return r;
}

int skho_sd_start_unit(const char *bus_path, const char *unit, const char *mode,
		       int timeout_ms, char *job, size_t joblen, char *err, size_t errlen)
{
	struct reply rep;
	int r;

	if (job && joblen)
		job[0] = 0;
	r = sd_call(bus_path, "org.freedesktop.systemd1.Manager", "StartUnit", unit, mode,
		    timeout_ms, &rep, err, errlen);
	if (!r && job && joblen)
		snprintf(job, joblen, "%s", rep.body_str ? rep.body_str : "");
	return r;
}

int skho_sd_manager_u64(const char *bus_path, const char *prop, int timeout_ms, uint64_t *val,
			char *err, size_t errlen)
{
	struct reply rep;
	const uint8_t *b;
	size_t p;
	uint8_t sl;
	int r;

	r = sd_call(bus_path, "org.freedesktop.DBus.Properties", "Get",
		    "org.freedesktop.systemd1.Manager", prop, timeout_ms, &rep, err, errlen);
	if (r)
		return r;
	/* body "v": signature (byte length, letters, NUL), then the value */
	b = rep.body;
	if (strcmp(rep.sig, "v") || rep.body_len < 3 || (sl = b[0]) != 1 || b[2]) {
		snprintf(err, errlen, "%s: not a one-letter variant", prop);
		return -EPROTO;
	}
	p = 3;
	if (b[1] == 't') {
		p = (p + 7) & ~(size_t)7;
		if (p + 8 > rep.body_len)
			return -EPROTO;
		*val = (uint64_t)get_u32(b + p) | (uint64_t)get_u32(b + p + 4) << 32;
	} else if (b[1] == 'u') {
		p = (p + 3) & ~(size_t)3;
		if (p + 4 > rep.body_len)
			return -EPROTO;
		*val = get_u32(b + p);
	} else {
		snprintf(err, errlen, "%s has type '%c', not an integer", prop, b[1]);
		return -EPROTO;
	}
	return 0;
}
