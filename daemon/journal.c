// SPDX-License-Identifier: GPL-2.0-only
/* smmu-khod journal: protobuf encoding, atomic on-disk commit, memfd copy, history. */
#define _GNU_SOURCE
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crashpoint.h"
#include "io.h"
#include "journal.h"
#include "log.h"
#include "pbutil.h"
#include "state.h"

uint32_t skhod_crc32(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint32_t c = 0xffffffffu;
	int k;

	while (len--) {
		c ^= *b++;
		for (k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & -(c & 1));
	}
	return ~c;
}

Skhopb__Journal *skhod_journal_new(const char *update_id, uint64_t now_ns,
				   const char *boot_id)
{
	Skhopb__Journal *j = malloc(sizeof(*j));
	Skhopb__PhaseEvent *ev = malloc(sizeof(*ev));

	if (!j || !ev)
		goto fail;
	skhopb__journal__init(j);
	skhopb__phase_event__init(ev);
	j->version = SKHO_PB_VERSION;
	j->state = SKHOD_IDLE;
	ev->state = SKHOD_IDLE;
	ev->time_ns = now_ns;
	if (skhod_pb_setstr(&j->update_id, update_id) ||
	    skhod_pb_setstr(&ev->boot_id, boot_id) ||
	    SKHOD_PB_PUSH(&j->history, &j->n_history, ev))
		goto fail_ev;
	return j;
fail_ev:
	skhod_pb_free(ev);
	skhod_pb_free(j);
	return NULL;
fail:
	free(ev);
	free(j);
	return NULL;
}

int skhod_journal_encode(const Skhopb__Journal *j, uint8_t **bufp, size_t *lenp)
{
	size_t plen = skhopb__journal__get_packed_size(j);
	uint8_t *buf;
	uint32_t v32;
	uint64_t v64;

	if (plen > SKHOD_JOURNAL_MAX)
		return -EFBIG;
	buf = calloc(1, SKHOD_JOURNAL_HDR + plen);
	if (!buf)
		return -ENOMEM;
	skhopb__journal__pack(j, buf + SKHOD_JOURNAL_HDR);
	memcpy(buf, SKHOD_JOURNAL_MAGIC, 8);
	v32 = htole32(1);
	memcpy(buf + 8, &v32, 4);
	v32 = htole32((uint32_t)plen);
	memcpy(buf + 12, &v32, 4);
	v64 = htole64(j->seq);
	memcpy(buf + 16, &v64, 8);
	v32 = htole32(skhod_crc32(buf + SKHOD_JOURNAL_HDR, plen));
	memcpy(buf + 24, &v32, 4);
	*bufp = buf;
	*lenp = SKHOD_JOURNAL_HDR + plen;
	return 0;
}

static int why_set(char *why, size_t len, int err, const char *msg)
{
	if (why && len)
		snprintf(why, len, "%s", msg);
	return err;
}

int skhod_journal_decode(const uint8_t *buf, size_t len, Skhopb__Journal **out,
			 char *why, size_t whylen)
{
	Skhopb__Journal *j;
	uint32_t hv, plen, crc;
	uint64_t seq;
	char inv[200];

	if (!len)
		return why_set(why, whylen, -EBADMSG, "journal is empty (0 bytes)");
	if (len < SKHOD_JOURNAL_HDR || memcmp(buf, SKHOD_JOURNAL_MAGIC, 8))
		return why_set(why, whylen, -EBADMSG, "no journal header (bad magic)");
	memcpy(&hv, buf + 8, 4);
	memcpy(&plen, buf + 12, 4);
	memcpy(&seq, buf + 16, 8);
	memcpy(&crc, buf + 24, 4);
	if (le32toh(hv) != 1)
		return why_set(why, whylen, -EPROTONOSUPPORT, "unknown journal header version");
	plen = le32toh(plen);
	if (plen > SKHOD_JOURNAL_MAX || plen > len - SKHOD_JOURNAL_HDR)
		return why_set(why, whylen, -EBADMSG, "journal truncated (length beyond the data)");
	if (skhod_crc32(buf + SKHOD_JOURNAL_HDR, plen) != le32toh(crc))
		return why_set(why, whylen, -EBADMSG, "journal CRC mismatch (torn or corrupted)");
	j = skhopb__journal__unpack(NULL, plen, buf + SKHOD_JOURNAL_HDR);
	if (!j)
		return why_set(why, whylen, -EBADMSG, "journal payload is not a valid protobuf");
	if (j->version != SKHO_PB_VERSION) {
		if (why && whylen)
			snprintf(why, whylen, "journal format version %u, this daemon reads %u",
				 j->version, SKHO_PB_VERSION);
		skhod_pb_free(j);
		return -EPROTONOSUPPORT;
	}
	if (j->seq != le64toh(seq)) {
		skhod_pb_free(j);
		return why_set(why, whylen, -EBADMSG, "journal header seq differs from payload");
	}
	/* A valid CRC only says the bytes are what was written: check the content. */
	if (skhod_invariants(j, NULL, true, inv, sizeof(inv))) {
		if (why && whylen)
			snprintf(why, whylen, "journal content invalid: %s", inv);
		skhod_pb_free(j);
		return -EUCLEAN;
	}
	*out = j;
	return 0;
}

int skhod_jstore_open(struct skhod_jstore *s, const char *dir)
{
	struct stat st;
	int r;

	memset(s, 0, sizeof(*s));
	s->memfd = -1;
	s->dirfd = -1;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		r = -errno;
		snprintf(s->err, sizeof(s->err), "state directory %s: cannot create it: %s",
			 dir, strerror(-r));
		return r;
	}
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0 || fstat(s->dirfd, &st)) {
		r = -errno;
		snprintf(s->err, sizeof(s->err), "state directory %s: %s", dir, strerror(-r));
		goto fail;
	}
	/*
	 * Whoever can write the directory can plant links and files the
	 * daemon then renames, reads or trusts: only the daemon's own uid.
	 */
	if (st.st_uid != geteuid()) {
		snprintf(s->err, sizeof(s->err),
			 "state directory %s is owned by uid %u, not by the daemon's uid %u: refused",
			 dir, (unsigned int)st.st_uid, (unsigned int)geteuid());
		r = -EPERM;
		goto fail;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(s->err, sizeof(s->err),
			 "state directory %s has mode %04o: group- or world-writable, refused (chmod 0700 it)",
			 dir, (unsigned int)(st.st_mode & 07777));
		r = -EPERM;
		goto fail;
	}
	return 0;
fail:
	if (s->dirfd >= 0)
		close(s->dirfd);
	s->dirfd = -1;
	return r;
}

void skhod_jstore_close(struct skhod_jstore *s)
{
	if (s->dirfd >= 0)
		close(s->dirfd);
	if (s->memfd >= 0)
		close(s->memfd);
	s->dirfd = s->memfd = -1;
}

/*
 * A new @tmp in @dirfd, never following a link planted there: O_EXCL (with
 * O_NOFOLLOW) creates a fresh inode or fails; a leftover of a crash (or a
 * planted link, which unlink removes without following) is removed once.
 */
static int create_tmp(int dirfd, const char *tmp)
{
	int fd, tries;

	for (tries = 0; tries < 2; tries++) {
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0600);
		if (fd >= 0 || errno != EEXIST)
			break;
		if (unlinkat(dirfd, tmp, 0))
			return -errno;	/* e.g. -EISDIR: a directory is in the way */
	}
	return fd < 0 ? -errno : fd;
}

/* tmp + fsync + rename + fsync(dir), in @dirfd. */
static int write_atomic(int dirfd, const char *tmp, const char *name, const uint8_t *buf,
			size_t len)
{
	int fd, r;

	fd = create_tmp(dirfd, tmp);
	if (fd < 0)
		return fd;
	r = skhod_out_all(fd, SKHOD_OUT_WRITE, buf, len, 0);
	if (!r && fsync(fd))
		r = -errno;
	if (close(fd) && !r)
		r = -errno;
	if (r) {
		unlinkat(dirfd, tmp, 0);
		return r;
	}
	skhod_crashpoint("journal.tmp-written");
	if (renameat(dirfd, tmp, dirfd, name)) {
		r = -errno;
		unlinkat(dirfd, tmp, 0);
		return r;
	}
	if (fsync(dirfd))
		return -errno;
	skhod_crashpoint("journal.renamed");
	return 0;
}

int skhod_journal_commit(struct skhod_jstore *s, Skhopb__Journal *j)
{
	uint8_t *buf;
	size_t len;
	int r;

	if (j->seq >= SKHOD_SEQ_MAX)
		return -EOVERFLOW;
	j->version = SKHO_PB_VERSION;
	j->seq++;
	r = skhod_journal_encode(j, &buf, &len);
	if (!r)
		r = write_atomic(s->dirfd, SKHOD_JOURNAL_TMP, SKHOD_JOURNAL_FILE, buf, len);
	if (r) {
		j->seq--;
		free(buf);
		return r;
	}
	if (s->memfd >= 0) {
		int m = skhod_journal_memfd_write(s->memfd, buf, len, j->seq);

		if (m)
			log_warn("journal seq %" PRIu64 " not copied to the memfd: %s",
				 j->seq, strerror(-m));
	}
	free(buf);
	return 0;
}

static const char *file_type(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device node";
	return "not a regular file";
}

/*
 * Read @name, a regular file, into a malloc'd buffer.  Never follows a link
 * (-ELOOP) and never blocks on a FIFO: it is opened O_NONBLOCK and refused
 * (-EINVAL) after fstat, before any read.  @why says what it was.
 * Errors: -ENOENT, -ELOOP, -EINVAL (not a regular file), -EFBIG, -ENOMEM, -EIO, -errno.
 */
static int read_file(int dirfd, const char *name, uint8_t **bufp, size_t *lenp,
		     char *why, size_t wl)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd, r = 0;

	fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		if (r == -ELOOP)
			snprintf(why, wl, "%s is a symbolic link (not followed)", name);
		else if (r == -ENXIO)
			snprintf(why, wl, "%s is a socket, not a regular file", name);
		else
			snprintf(why, wl, "%s: %s", name, strerror(-r));
		return r;
	}
	if (fstat(fd, &st)) {
		r = -errno;
		snprintf(why, wl, "%s: fstat: %s", name, strerror(-r));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, wl, "%s is %s, not a regular file", name, file_type(st.st_mode));
		r = -EINVAL;
		goto out;
	}
	if (st.st_size > SKHOD_JOURNAL_HDR + SKHOD_JOURNAL_MAX) {
		r = -EFBIG;
		goto out;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			snprintf(why, wl, "%s: read: %s", name, strerror(-r));
			free(buf);
			goto out;
		}
		got += (size_t)n;
	}
	*bufp = buf;
	*lenp = got;
out:
	close(fd);
	return r;
}

int skhod_journal_load(struct skhod_jstore *s, Skhopb__Journal **out,
		       char *why, size_t whylen)
{
	uint8_t *buf;
	size_t len;
	int r;

	char w[200] = "";

	r = read_file(s->dirfd, SKHOD_JOURNAL_FILE, &buf, &len, w, sizeof(w));
	if (r == -EFBIG)
		return why_set(why, whylen, -EBADMSG, "journal file larger than any journal");
	if (r)
		return why_set(why, whylen, r, w);
	r = skhod_journal_decode(buf, len, out, why, whylen);
	free(buf);
	return r;
}

int skhod_journal_set_aside(struct skhod_jstore *s, uint64_t unix_s, char *name,
			    size_t namelen)
{
	int k;

	for (k = 0; k < 100; k++) {
		if (k)
			snprintf(name, namelen, SKHOD_JOURNAL_FILE ".corrupt-%" PRIu64 ".%d",
				 unix_s, k);
		else
			snprintf(name, namelen, SKHOD_JOURNAL_FILE ".corrupt-%" PRIu64, unix_s);
		if (!renameat2(s->dirfd, SKHOD_JOURNAL_FILE, s->dirfd, name, RENAME_NOREPLACE))
			return fsync(s->dirfd) ? -errno : 0;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

int skhod_journal_memfd_create(void)
{
	int fd = memfd_create("smmu-khod-journal", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, SKHOD_MEMFD_SIZE) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

int skhod_journal_memfd_write(int memfd, const uint8_t *buf, size_t len, uint64_t seq)
{
	if (len > SKHOD_MEMFD_SLOT)
		return -EFBIG;
	return skhod_out_all(memfd, SKHOD_OUT_PWRITE, buf, len, (off_t)(seq & 1) * SKHOD_MEMFD_SLOT);
}

int skhod_journal_memfd_read(int memfd, Skhopb__Journal **out, char *why,
			     size_t whylen)
{
	Skhopb__Journal *best = NULL;
	uint8_t *slot;
	int slot_nr, r = -ENOENT;
	char w[200];

	slot = malloc(SKHOD_MEMFD_SLOT);
	if (!slot)
		return -ENOMEM;
	why_set(why, whylen, -ENOENT, "no valid journal in the memfd");
	for (slot_nr = 0; slot_nr < 2; slot_nr++) {
		Skhopb__Journal *j;
		ssize_t n = pread(memfd, slot, SKHOD_MEMFD_SLOT,
				  (off_t)slot_nr * SKHOD_MEMFD_SLOT);
		int d;

		if (n <= 0)
			continue;
		d = skhod_journal_decode(slot, (size_t)n, &j, w, sizeof(w));
		/*
		 * An unwritten or torn slot is normal (the other one serves);
		 * another format or bad content behind a valid CRC is worth
		 * reporting when no slot is usable.
		 */
		if ((d == -EPROTONOSUPPORT || d == -EUCLEAN) && !best && r == -ENOENT) {
			if (why && whylen)
				snprintf(why, whylen, "memfd slot %d: %s", slot_nr, w);
			r = d;
		}
		if (d)
			continue;
		if (!best || j->seq > best->seq) {
			skhod_pb_free(best);
			best = j;
		} else {
			skhod_pb_free(j);
		}
	}
	free(slot);
	if (!best)
		return r;
	*out = best;
	return 0;
}

int skhod_history_archive(struct skhod_jstore *s, const Skhopb__Journal *j)
{
	char name[128], tmp[140];
	uint8_t *buf;
	size_t len;
	int hd, r;

	if (mkdirat(s->dirfd, SKHOD_HISTORY_DIR, 0700) && errno != EEXIST)
		return -errno;
	hd = openat(s->dirfd, SKHOD_HISTORY_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (hd < 0)
		return -errno;
	r = skhod_journal_encode(j, &buf, &len);
	if (r)
		goto out;
	/* Name sorts by time of archiving: the first event's time, then seq. */
	snprintf(name, sizeof(name), "%020" PRIu64 "-%08" PRIu64 ".pb",
		 j->n_history ? j->history[0]->time_ns : 0, j->seq);
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	r = write_atomic(hd, tmp, name, buf, len);
	free(buf);
	if (r)
		goto out;
	/* Prune: keep the newest SKHOD_HISTORY_KEEP names. */
	{
		struct dirent **ents;
		int ne = scandirat(hd, ".", &ents, NULL, alphasort), k, pb = 0;

		for (k = ne - 1; k >= 0; k--) {
			size_t l = strlen(ents[k]->d_name);

			if (l > 3 && !strcmp(ents[k]->d_name + l - 3, ".pb") &&
			    ++pb > SKHOD_HISTORY_KEEP)
				unlinkat(hd, ents[k]->d_name, 0);
			free(ents[k]);
		}
		if (ne >= 0)
			free(ents);
	}
out:
	close(hd);
	return r;
}

int skhod_history_list(struct skhod_jstore *s, uint32_t max,
		       Skhopb__Journal ***out, size_t *n)
{
	struct dirent **ents;
	Skhopb__Journal **arr = NULL;
	size_t cnt = 0;
	int hd, ne, k, r = 0;

	*out = NULL;
	*n = 0;
	hd = openat(s->dirfd, SKHOD_HISTORY_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (hd < 0)
		return errno == ENOENT ? 0 : -errno;
	ne = scandirat(hd, ".", &ents, NULL, alphasort);
	for (k = ne - 1; k >= 0; k--) {
		const char *nm = ents[k]->d_name;
		size_t l = strlen(nm);
		Skhopb__Journal *j;
		uint8_t *buf;
		size_t len;
		char why[128];

		if (r || l <= 3 || strcmp(nm + l - 3, ".pb") ||
		    (max && cnt >= max))
			goto next;
		if (read_file(hd, nm, &buf, &len, why, sizeof(why))) {
			log_warn("history %s unreadable, skipped: %s", nm, why);
			goto next;
		}
		if (skhod_journal_decode(buf, len, &j, why, sizeof(why))) {
			log_warn("history %s skipped: %s", nm, why);
		} else if (SKHOD_PB_PUSH(&arr, &cnt, j)) {
			skhod_pb_free(j);
			r = -ENOMEM;
		}
		free(buf);
next:
		free(ents[k]);
	}
	if (ne >= 0)
		free(ents);
	close(hd);
	*out = arr;
	*n = cnt;
	return r;
}
