// SPDX-License-Identifier: GPL-2.0-only
/* Fault scenarios of the e2e /init: find an STE, PTE or handover byte and arm skho_fault.ko on it. */
/*
 * Runs in kernel 1 after `smmu-khoctl update --no-jump` froze.  Addresses
 * come from the kernel's own interfaces, each cross-checked:
 *  - the handover blob: SMMU_KHO_IOC_GET_FDT OUT (bytes) and KHO's root
 *    FDT in /sys/kernel/debug/kho/out/fdt, node "smmu-kho", property
 *    "preserved-data" (its physical address); PEEK there must read the
 *    same bytes;
 *  - the STE: strtab-base/-cfg and the stream record of the blob, the L1
 *    descriptor read with PEEK (2-level table); the live STE must equal
 *    the record's reference copy;
 *  - the PTE: the STE's CD (S1ContextPtr), its TTB0/T0SZ/TG0, then a 4 KiB
 *    granule walk with PEEK; the leaf must map the buffer's PA.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <libfdt.h>

#include "guest.h"
#include "guest_fault.h"
#include "smmu_kho.h"
#include "skho_fault_uapi.h"

#define REC_SIZE	84	/* struct skho_abi_stream (docs/abi.md) */
#define REC_STE		20	/* offset of the reference STE in a record */
#define ADDR_MASK	0x0000fffffffff000ull	/* output/next-table address, 4 KiB granule */
#define S1CSH_BIT	0x40ull	/* STE dword 1 bit 6: S1CSH ISH (3) <-> OSH (2) */
#define KHO_ROOT_FDT	"/sys/kernel/debug/kho/out/fdt"

static const struct fault_scn scns[] = {
	/* name, target, when, sid, two devices, racer, writing kernel */
	{ "ste_changed_before_recheck", FT_STE, SKHO_FAULT_NOW, 0x10, 0, 0, 1 },
	{ "ste_changed_after_recheck", FT_STE, SKHO_FAULT_AFTER_RECHECK, 0x10, 0, 1, 1 },
	{ "ste_changed_after_shutdown_check", FT_STE, SKHO_FAULT_AFTER_SHUTDOWN, 0x10, 0, 0, 1 },
	{ "pte_redirected_before_recheck", FT_PTE, SKHO_FAULT_NOW, 0x10, 0, 0, 1 },
	{ "pte_redirected_after_recheck", FT_PTE, SKHO_FAULT_AFTER_RECHECK, 0x10, 0, 0, 1 },
	{ "pte_redirected_after_shutdown_check", FT_PTE, SKHO_FAULT_AFTER_SHUTDOWN, 0x10, 0, 0, 1 },
	{ "pte_redirected_after_adoption", FT_PTE, SKHO_FAULT_NOW, 0x10, 0, 0, 2 },
	{ "table_desc_outside_ranges", FT_TDESC, SKHO_FAULT_AFTER_SHUTDOWN, 0x10, 0, 0, 1 },
	{ "fdt_ref_copy_corrupted_after_recheck", FT_FDT_STE, SKHO_FAULT_AFTER_RECHECK, 0x10, 0, 0,
	  1 },
	{ "fdt_ref_copy_corrupted_after_shutdown_check", FT_FDT_STE, SKHO_FAULT_AFTER_SHUTDOWN,
	  0x10, 0, 0, 1 },
	{ "fdt_header_corrupted", FT_FDT_MAGIC, SKHO_FAULT_AFTER_RECHECK, 0x10, 0, 0, 1 },
	{ "one_of_two_ste_changed", FT_STE, SKHO_FAULT_AFTER_RECHECK, 0x18, 1, 0, 1 },
};
static const char *const when_name[] = { "now", "after-recheck", "after-shutdown" };

static int ffd = -1;

const struct fault_scn *fault_scn_find(const char *name)
{
	for (size_t i = 0; i < sizeof(scns) / sizeof(scns[0]); i++)
		if (!strcmp(scns[i].name, name))
			return &scns[i];
	return NULL;
}

/* The u64 at @pa; 0 or -errno. */
static int peek(uint64_t pa, uint64_t *v)
{
	struct skho_fault_word w = { .pa = pa };

	if (ioctl(ffd, SKHO_FAULT_IOC_PEEK, &w))
		return -errno;
	*v = w.val;
	return 0;
}

/* A fresh page nobody preserves, a copy of @src (0: 0x5a bytes); 0 or -errno. */
static int new_page(uint64_t src, uint64_t *pa)
{
	struct skho_fault_word w = { .val = src };

	if (ioctl(ffd, SKHO_FAULT_IOC_PAGE, &w))
		return -errno;
	*pa = w.pa;
	return 0;
}

static uint64_t be64(const void *p)
{
	const uint8_t *b = p;
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

static uint64_t le64(const void *p)
{
	const uint8_t *b = p;
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

/* The outgoing (@which OUT) or incoming blob's bytes (malloc'ed) and length; 0 or -errno. */
static int get_fdt(uint32_t which, uint8_t **blob, uint64_t *len)
{
	struct smmu_kho_fdt_arg a = { .size = sizeof(a), .which = which };
	int fd = open(SMMU_KHO_DEV, O_RDWR | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (!ioctl(fd, SMMU_KHO_IOC_GET_FDT, &a) || errno != ENOSPC) {
		r = -EPROTO;
		goto out;
	}
	*blob = malloc(a.fdt_len);
	a.buf = (uintptr_t)*blob;
	a.buf_len = a.fdt_len;
	if (!*blob || ioctl(fd, SMMU_KHO_IOC_GET_FDT, &a))
		r = *blob ? -errno : -ENOMEM;
	*len = a.fdt_len;
out:
	close(fd);
	return r;
}

/*
 * Physical address of the handover blob @blob: KHO's root FDT names it
 * (node "smmu-kho", property "preserved-data"), but its debugfs file keeps
 * the size the root had at boot, so a subtree added later may be cut off;
 * then (and always, as a cross-check) FIND scans RAM for the blob's bytes:
 * exactly one page-aligned copy that KHO preserves (user space may hold
 * other copies).  0 or -errno.
 */
static int blob_phys(const uint8_t *blob, uint64_t len, uint64_t *pa)
{
	static uint8_t root[1 << 16];
	struct skho_fault_find x = { .buf = (uintptr_t)blob, .len = len };
	int fd = open(KHO_ROOT_FDT, O_RDONLY | O_CLOEXEC), off = -1, plen = 0, slen = 0;
	const void *p = NULL, *s = NULL;
	uint64_t root_pa = 0;
	ssize_t n = -1;

	if (fd >= 0) {
		n = read(fd, root, sizeof(root));
		close(fd);
	}
	if (n > 0 && !fdt_check_header(root) && fdt_totalsize(root) <= (uint64_t)n) {
		off = fdt_subnode_offset(root, 0, "smmu-kho");
		p = off < 0 ? NULL : fdt_getprop(root, off, "preserved-data", &plen);
		s = off < 0 ? NULL : fdt_getprop(root, off, "blob-size", &slen);
	}
	if (p && plen == 8 && s && slen == 8)
		root_pa = le64(p);	/* KHO stores them in CPU byte order */
	if (ioctl(ffd, SKHO_FAULT_IOC_FIND, &x))
		return -errno;
	say("data", "fault_blob kho_root_fdt_read=%zd root_totalsize=%u root_names_it=%d root_pa=%#llx "
	    "found=%u pa=%#llx preserved=%u len=%llu", n, n > 0 ? fdt_totalsize(root) : 0,
	    root_pa != 0, (unsigned long long)root_pa, x.nr, (unsigned long long)x.pa[0],
	    x.preserved, (unsigned long long)len);
	if (x.preserved != 1 || (root_pa && root_pa != x.pa[0]) ||
	    (root_pa && le64(s) != len))
		return -EPROTO;
	*pa = x.pa[0];
	return 0;
}

/* @pa's byte equals @want (read through PEEK); 0 or -errno. */
static int check_byte(uint64_t pa, uint8_t want)
{
	uint64_t w = 0;
	int r = peek(pa & ~7ull, &w);

	if (r)
		return r;
	return (uint8_t)(w >> (pa & 7) * 8) == want ? 0 : -EPROTO;
}

/*
 * 4 KiB-granule stage-1 walk of @iova from the STE at @ste_pa: the leaf
 * descriptor's address, and the table descriptor that leads to its table.
 */
static int walk(uint64_t ste0, uint64_t iova, uint64_t *leaf_pa, uint64_t *tdesc_pa)
{
	uint64_t cdp = ste0 & 0x000fffffffffffc0ull, cd0 = 0, cd1 = 0, table, d = 0, dpa = 0;
	unsigned int cfg = ste0 >> 1 & 7, fmt = ste0 >> 4 & 3, t0sz, tg0, ias, lvl, start;
	int r;

	if (cfg != 5)	/* stage-1 translate, stage 2 bypass: what edu_dma stage=1 uses */
		return -EPROTO;
	if (fmt) {	/* 2-level CD table: L1CD[0] -> leaf table holding CD 0 */
		r = peek(cdp, &d);
		if (r)
			return r;
		cdp = d & 0x000ffffffffff000ull;
	}
	r = peek(cdp, &cd0) ?: peek(cdp + 8, &cd1);
	if (r)
		return r;
	t0sz = cd0 & 0x3f;
	tg0 = cd0 >> 6 & 3;
	ias = 64 - t0sz;
	if (tg0 != 0 || ias < 25 || ias > 48 || cd0 >> 14 & 1)
		return -EPROTO;
	start = 3 - (ias - 13) / 9;
	table = cd1 & 0x0000fffffffffff0ull;
	say("data", "fault_walk cd=%#llx cd0=%#llx ttb0=%#llx ias=%u start_level=%u",
	    (unsigned long long)cdp, (unsigned long long)cd0, (unsigned long long)table, ias, start);
	*tdesc_pa = 0;
	for (lvl = start; lvl <= 3; lvl++) {
		unsigned int shift = 12 + 9 * (3 - lvl);
		uint64_t mask = lvl == start ? (1ull << (ias - shift)) - 1 : 511;

		dpa = table + ((iova >> shift) & mask) * 8;
		r = peek(dpa, &d);
		if (r)
			return r;
		say("data", "fault_walk level=%u desc_pa=%#llx desc=%#llx", lvl,
		    (unsigned long long)dpa, (unsigned long long)d);
		if (lvl == 3 || (d & 3) != 3)
			break;
		*tdesc_pa = dpa;
		table = d & ADDR_MASK;
	}
	if (lvl != 3 || (d & 3) != 3 || !*tdesc_pa)
		return -EPROTO;	/* expected a 4 KiB page under a table */
	*leaf_pa = dpa;
	return 0;
}

int fault_arm(const struct fault_scn *f, uint64_t iova, uint64_t pa, int dry)
{
	const void *base_p, *cfg_p, *recs;
	uint64_t blen = 0, bpa = 0, base, ste_pa, ste0 = 0, t_pa = 0, old = 0, nw = 0;
	uint64_t leaf = 0, tdesc = 0, pg = 0;
	uint8_t *blob = NULL;
	const uint8_t *rec = NULL;
	int r, node, l1, l2, l3;
	unsigned int cfg, split, nrec;

	ffd = open(SKHO_FAULT_DEV, O_RDWR | O_CLOEXEC);
	if (ffd < 0)
		return -errno;
	r = get_fdt(f->k == 2 ? SMMU_KHO_FDT_IN : SMMU_KHO_FDT_OUT, &blob, &blen);
	/* Only the blob targets need its address (KHO preserves it: kernel 1). */
	if (!r && (f->target == FT_FDT_STE || f->target == FT_FDT_MAGIC))
		r = blob_phys(blob, blen, &bpa) ?: check_byte(bpa, blob[0]) ?:
		    check_byte(bpa + blen - 1, blob[blen - 1]);
	if (r)
		goto out;
	node = fdt_first_subnode(blob, 0);
	base_p = node < 0 ? NULL : fdt_getprop(blob, node, "strtab-base", &l1);
	cfg_p = node < 0 ? NULL : fdt_getprop(blob, node, "strtab-base-cfg", &l2);
	recs = node < 0 ? NULL : fdt_getprop(blob, node, "streams", &l3);
	if (!base_p || l1 != 8 || !cfg_p || l2 != 4 || !recs || l3 % REC_SIZE) {
		r = -ENOENT;
		goto out;
	}
	nrec = l3 / REC_SIZE;
	for (unsigned int i = 0; i < nrec; i++)
		if (fdt32_to_cpu(*(const fdt32_t *)((const uint8_t *)recs + i * REC_SIZE)) == f->sid)
			rec = (const uint8_t *)recs + i * REC_SIZE;
	if (!rec) {
		r = -ENOENT;
		goto out;
	}
	/* The STE: linear table, or L1 descriptor -> L2 table (docs/abi.md). */
	base = be64(base_p) & 0x000fffffffffffc0ull;
	cfg = fdt32_to_cpu(*(const fdt32_t *)cfg_p);
	split = cfg >> 6 & 0x1f;
	if ((cfg >> 16 & 3) == 0) {
		ste_pa = base + (uint64_t)f->sid * 64;
	} else {
		uint64_t l1d = 0;

		r = peek(base + (uint64_t)(f->sid >> split) * 8, &l1d);
		if (r)
			goto out;
		ste_pa = (l1d & 0x000fffffffffffc0ull) + (uint64_t)(f->sid & ((1u << split) - 1)) * 64;
	}
	r = peek(ste_pa, &ste0);
	if (r)
		goto out;
	say("data", "fault_ste sid=%#x strtab=%#llx cfg=%#x ste_pa=%#llx ste0=%#llx ref0=%#llx",
	    f->sid, (unsigned long long)base, cfg, (unsigned long long)ste_pa,
	    (unsigned long long)ste0, (unsigned long long)le64(rec + REC_STE));
	if (ste0 != le64(rec + REC_STE)) {
		r = -EPROTO;	/* not the STE the handover describes */
		goto out;
	}
	switch (f->target) {
	case FT_STE:
		t_pa = ste_pa + 8;
		r = peek(t_pa, &old);
		nw = old ^ S1CSH_BIT;
		break;
	case FT_PTE:
	case FT_TDESC:
		r = walk(ste0, iova, &leaf, &tdesc);
		if (r)
			break;
		r = peek(leaf, &old);
		if (!r && (old & ADDR_MASK) != pa) {
			r = -EPROTO;	/* the leaf does not map the buffer */
			break;
		}
		if (f->target == FT_PTE) {
			t_pa = leaf;
			r = r ?: new_page(0, &pg);
		} else {
			t_pa = tdesc;
			r = r ?: peek(tdesc, &old) ?: new_page(leaf & ~0xfffull, &pg);
		}
		nw = (old & ~ADDR_MASK) | pg;
		break;
	case FT_FDT_STE:
	case FT_FDT_MAGIC: {
		uint64_t off = f->target == FT_FDT_MAGIC ? 0 :
			       (uint64_t)(rec - blob) + REC_STE + 8;
		uint8_t mask = f->target == FT_FDT_MAGIC ? 0xff : (uint8_t)S1CSH_BIT;

		t_pa = (bpa + off) & ~7ull;
		r = check_byte(bpa + off, blob[off]) ?: peek(t_pa, &old);
		nw = old ^ (uint64_t)mask << ((bpa + off) & 7) * 8;
		break;
	}
	}
	if (r)
		goto out;
	say("data", "fault target=%s sid=%#x pa=%#llx old=%#llx new=%#llx when=%s dry=%d",
	    f->name, f->sid, (unsigned long long)t_pa, (unsigned long long)old,
	    (unsigned long long)nw, when_name[f->when], dry);
	if (!dry) {
		struct skho_fault_word w = { .pa = t_pa, .val = nw, .when = f->when };

		if (ioctl(ffd, SKHO_FAULT_IOC_ARM, &w))
			r = -errno;
	}
out:
	free(blob);
	close(ffd);
	ffd = -1;
	return r;
}

/* -errno of one smmu_kho ioctl on device @bdf (NULL: no argument), or 0. */
static int kho_call(int fd, unsigned long cmd, const char *bdf, uint32_t flags)
{
	struct smmu_kho_dev_arg a = { .size = sizeof(a), .flags = flags };

	if (bdf)
		snprintf(a.name, sizeof(a.name), "%s", bdf);
	return ioctl(fd, cmd, bdf ? &a : NULL) ? -errno : 0;
}

void fault_race_jumping(const char *bdf)
{
	struct smmu_kho_status st = { .size = sizeof(st) };
	int fd = open(SMMU_KHO_DEV, O_RDWR | O_CLOEXEC), polls = 0, r = -1;

	/* 20 s at most: the jump starts within a second of `update`. */
	while (fd >= 0 && polls++ < 20000) {
		st.size = sizeof(st);
		r = ioctl(fd, SMMU_KHO_IOC_STATUS, &st) ? -errno : 0;
		if (r || st.out_state == SMMU_KHO_JUMPING)
			break;
		usleep(1000);
	}
	if (fd < 0 || r || st.out_state != SMMU_KHO_JUMPING) {
		say("data", "jumping_race out_state=%u status=%d polls=%d fd=%d", st.out_state, r,
		    polls, fd);
		_exit(1);
	}
	/* RELEASE as a driver that re-initialised the device would ask it (REPLACE) */
	say("data", "jumping_race out_state=%u status=%d polls=%d abort=%d unpreserve=%d "
	    "release=%d preserve=%d freeze=%d quarantine=%d", st.out_state, r, polls,
	    kho_call(fd, SMMU_KHO_IOC_ABORT, NULL, 0), kho_call(fd, SMMU_KHO_IOC_UNPRESERVE, bdf, 0),
	    kho_call(fd, SMMU_KHO_IOC_RELEASE, bdf, SMMU_KHO_RELEASE_REPLACE),
	    kho_call(fd, SMMU_KHO_IOC_PRESERVE, bdf, 0), kho_call(fd, SMMU_KHO_IOC_FREEZE, NULL, 0),
	    kho_call(fd, SMMU_KHO_IOC_QUARANTINE, bdf, 0));
	_exit(0);
}
