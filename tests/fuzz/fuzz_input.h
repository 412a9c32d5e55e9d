/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Fuzz input format: an FDT blob and the preserved memory it describes. */
#ifndef FUZZ_INPUT_H
#define FUZZ_INPUT_H

#include "skho.h"

/*
 * One fuzz input is the whole of what a next kernel receives:
 *
 *   u32 fdt_len (LE)      the split point: bytes of FDT that follow
 *   fdt_len bytes         the handed-over blob (fewer if the input ends)
 *   records, to the end:  u64 pa, u32 len, u32 n (LE), n bytes
 *
 * A record makes [pa, pa + len) memory: its n bytes, repeated as often
 * as len needs (zeros when n is 0).  Tables are arrays of equal entries
 * with a few that differ, so a seed is one record of background (say an
 * abort STE, repeated) and small records for the entries that differ:
 * seeds stay small and mutations land on descriptors.  Records that
 * overlap or touch form one contiguous region; where they overlap, the
 * later record's bytes win.  Records are taken in input order while their
 * lengths add up to at most FZ_MAX_MEM; the rest are ignored.  The regions
 * are the memory image, read through a struct skho_mem whose map()
 * succeeds only inside one region.  A seed carries exactly the preserved
 * ranges of a generated state, so the validator's stream-table, CD-table
 * and page-table walks all run.  The blob and every region are copied into
 * exactly sized heap buffers: under ASan, a read one byte past one of them
 * is a crash.
 */
#define FZ_MAX_RECORDS	256
#define FZ_MAX_MEM	(2u << 20)	/* seeds need < 700 KiB; more is ignored */
#define FZ_REC_HDR	16

struct fz_region {
	u64 pa;
	u64 len;
	u8 *buf;
};

struct fz_input {
	u8 *fdt;
	size_t fdt_size;
	struct fz_region region[FZ_MAX_RECORDS];	/* sorted, disjoint */
	u32 nr_regions;
	struct skho_mem mem;	/* map() over the regions */
};

/* Split @data; 0, or -1 when it is too short or allocation failed. */
int fz_decode(struct fz_input *in, const u8 *data, size_t size);
void fz_free(struct fz_input *in);

/*
 * Append to @out (a growing buffer, *@len bytes used, *@cap allocated):
 * fz_put_fdt() first, then fz_put_record()s.  Returns 0, or -1 on
 * allocation failure.
 */
int fz_put_fdt(u8 **out, size_t *len, size_t *cap, const void *fdt, u32 fdt_len);
int fz_put_record(u8 **out, size_t *len, size_t *cap, u64 pa, u32 mem_len,
		  const void *p, u32 n);

#endif /* FUZZ_INPUT_H */
