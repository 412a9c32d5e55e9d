/* SPDX-License-Identifier: GPL-2.0-only */
/* smmu-khod journal: protobuf encoding, atomic on-disk commit, memfd copy, history. */
#ifndef SKHOD_JOURNAL_H
#define SKHOD_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smmu_kho.pb-c.h"

/*
 * Encoded journal = 32-byte header + Journal protobuf:
 *   0  magic "SKHOJNL\0"
 *   8  le32 header version (1)
 *  12  le32 payload length
 *  16  le64 seq (same as Journal.seq; lets a reader pick the newest copy)
 *  24  le32 CRC-32 (IEEE) of the payload
 *  28  le32 reserved, 0
 * The CRC catches torn or corrupted copies, which protobuf alone would
 * often parse "successfully" when cut at a field boundary.
 */
#define SKHOD_JOURNAL_MAGIC	"SKHOJNL"
#define SKHOD_JOURNAL_HDR	32
#define SKHOD_JOURNAL_MAX	(60 * 1024)	/* fits a 64 KiB API frame */
#define SKHOD_JOURNAL_FILE	"journal.pb"
#define SKHOD_JOURNAL_TMP	"journal.pb.tmp"
#define SKHOD_HISTORY_DIR	"history"
#define SKHOD_HISTORY_KEEP	32

/* memfd copy: two slots written alternately (seq & 1), newest valid wins. */
#define SKHOD_MEMFD_SLOT	(64 * 1024)
#define SKHOD_MEMFD_SIZE	(2 * SKHOD_MEMFD_SLOT)

/* A new IDLE journal: version, update id, one IDLE history entry. */
Skhopb__Journal *skhod_journal_new(const char *update_id, uint64_t now_ns,
				   const char *boot_id);

/*
 * Header + payload into a malloc'd buffer.
 * Errors: -ENOMEM, -EFBIG (payload above SKHOD_JOURNAL_MAX).
 */
int skhod_journal_encode(const Skhopb__Journal *j, uint8_t **buf, size_t *len);

/*
 * Check header, length, CRC and version, unpack (unknown fields kept), then
 * check the content against the invariants I1-I7, I12, I13 (state.h).
 * Errors: -EBADMSG (empty, bad magic, length, CRC or protobuf; @why says
 * which), -EPROTONOSUPPORT (journal version other than SKHO_PB_VERSION),
 * -EUCLEAN (valid CRC, invalid content: @why names the invariant), -ENOMEM.
 */
int skhod_journal_decode(const uint8_t *buf, size_t len, Skhopb__Journal **out,
			 char *why, size_t whylen);

/* Where the journal lives. */
struct skhod_jstore {
	int dirfd;		/* state directory */
	int memfd;		/* -1 when there is no memfd copy */
	char err[320];		/* why skhod_jstore_open() failed, naming the path */
};

/*
 * Open (creating it 0700 if needed) the state directory.  It must belong to
 * the daemon's uid and not be group- or world-writable.
 * Errors: -EPERM (owner or mode; s->err names the path, owner and mode),
 * -errno from mkdir/open/fstat (s->err too).
 */
int skhod_jstore_open(struct skhod_jstore *s, const char *dir);
void skhod_jstore_close(struct skhod_jstore *s);

/*
 * Commit: seq++, then write a fresh <dir>/journal.pb.tmp (O_EXCL|O_NOFOLLOW:
 * a planted link is removed, never followed), fsync it, rename it over
 * journal.pb, fsync the directory; then the memfd slot (if any).  A crash at
 * any point leaves journal.pb either the old or the new complete copy.
 * Crash points: "journal.tmp-written", "journal.renamed".
 * Errors: -ENOMEM, -EFBIG, -errno of the file operations (the disk copy is
 * then unchanged and j->seq is restored).  A memfd write failure is only
 * logged: the disk copy is authoritative.  -EOVERFLOW: seq at SKHOD_SEQ_MAX.
 */
int skhod_journal_commit(struct skhod_jstore *s, Skhopb__Journal *j);

/*
 * Read <dir>/journal.pb: opened O_NONBLOCK|O_NOFOLLOW and checked to be a
 * regular file before any read.  Errors: -ENOENT (no journal), -ELOOP (a
 * symlink), -EINVAL (directory, FIFO, ...), -EIO, -errno, and those of
 * skhod_journal_decode(); @why says which.  Anything but -ENOENT and
 * -ENOMEM means journal.pb is unusable.
 */
int skhod_journal_load(struct skhod_jstore *s, Skhopb__Journal **out,
		       char *why, size_t whylen);

/*
 * Move an unusable journal.pb aside as journal.pb.corrupt-<@unix_s> (".N"
 * appended if taken), never replacing anything; the new name in @name.
 * Errors: -errno of renameat2/fsync, -EEXIST (100 names taken).
 */
int skhod_journal_set_aside(struct skhod_jstore *s, uint64_t unix_s, char *name,
			    size_t namelen);

/* Create a sealed-against-resize memfd of SKHOD_MEMFD_SIZE.  -errno. */
int skhod_journal_memfd_create(void);

/* Write @j (already encoded as @buf) into the slot for its seq.  -errno. */
int skhod_journal_memfd_write(int memfd, const uint8_t *buf, size_t len, uint64_t seq);

/*
 * Newest valid journal (header, CRC and content) of the two memfd slots.
 * Errors: -ENOENT (no valid slot), -ENOMEM, -EPROTONOSUPPORT or -EUCLEAN
 * (no valid slot, and one had another format / invalid content: @why).
 */
int skhod_journal_memfd_read(int memfd, Skhopb__Journal **out, char *why,
			     size_t whylen);

/*
 * Archive @j as history/<seq>-<update_id>.pb (atomic like a commit) and
 * drop the oldest beyond SKHOD_HISTORY_KEEP.  Errors: -errno, -ENOMEM.
 */
int skhod_history_archive(struct skhod_jstore *s, const Skhopb__Journal *j);

/*
 * Archived journals, newest first, at most @max (0: all).  Unreadable
 * entries are skipped with a warning.  Errors: -ENOMEM.
 */
int skhod_history_list(struct skhod_jstore *s, uint32_t max,
		       Skhopb__Journal ***out, size_t *n);


/* CRC-32 (IEEE 802.3, reflected, as zlib). */
uint32_t skhod_crc32(const void *p, size_t len);

#endif /* SKHOD_JOURNAL_H */
