// SPDX-License-Identifier: GPL-2.0-only
/* smmu-khod fake backend: a directory that stands in for the kernel in host tests. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "fake.h"
#include "skho_handover.h"
#include "smmuv3_defs.h"

/*
 * The directory <dir> is the fake kernel.  The test writes:
 *
 *   pci       one line per PCI device behind the (fake) SMMUv3:
 *             "<name> <smmu base, hex> <sid>[,<sid>...] [gen=<n>]
 *              [driver=<name>] [domain=<kind>] [ats] [pri] [pasid]"
 *             gen changes the device's live STE/translation (drift);
 *             driver (default none) and domain (none, blocked, identity,
 *             dma (default), unmanaged, nested) are what PROBE reports;
 *             ats/pri/pasid make PROBE and PRESERVE refuse the device
 *             (EPROTONOSUPPORT), as the module does.
 *   faults    optional, one knob per line:
 *               fail preserve <dev> | fail freeze | fail kexec | fail jump
 *               fail luo | fail status   -- the op returns an error
 *               fdt-garbage              -- GET_FDT(OUT) returns junk
 *             applied when the fake kexec happens (the next kernel's view):
 *               lose <sid>               -- stream absent after the jump
 *               refuse <sid> <why...>    -- stream REFUSED by validation
 *               ste <sid> | xlat <sid>   -- live digest differs
 *               events <sid> <n>         -- n SMMU events on that SID
 *               no-handover              -- booted cold: nothing handed over
 *               no-luo                   -- LUO sessions not carried over
 *               in-refused <why...>      -- the handover as a whole refused
 *                                           (IN_REFUSED, SKHO_E_FDT, <why>)
 *               all-refused              -- every stream REFUSED (ALL_REFUSED)
 *             memory changed behind the module's back (after the freeze,
 *             in both kernels): the module's digests (FDT, STREAMS) do not
 *             see it, only a recomputation from raw bytes does:
 *               live-ste <sid>           -- a bit of the live STE flipped
 *               pte <sid>                -- a leaf PTE points one page off
 *               ste-unreadable <sid>     -- STREAMS.ste_live = 0
 *               fail quarantine          -- QUARANTINE returns EIO
 *               freeze-outside <why...>  -- FREEZE: EADDRNOTAVAIL, STATUS.out_why
 *             the hand-back:
 *               not-hitless <dev> <why...> -- RELEASE of <dev> without
 *                                           SMMU_KHO_RELEASE_REPLACE: EXDEV,
 *                                           STATUS.release_why = <why>
 *   crash_at  "<point>" [n]: SIGKILL the daemon the n-th (default 1st) time
 *             it reaches crash point <point>; the file is removed first, so
 *             the restarted daemon does not crash again.
 *   clock     optional decimal ns: now_ns() returns it and adds 1 s.
 *   cmdline   optional contents of /proc/cmdline.
 *
 * The backend writes (atomically, so a kill -9 never tears it):
 *
 *   kernel    the fake kernel's state: boot count, outgoing/incoming state,
 *             selected devices, the loaded kexec image.
 *   fdt.out, fdt.in   KHO FDT blobs (smmu_kho_abi.h) as the module makes them.
 *   in-streams        the incoming streams after a jump.
 *   luo/<session>/<token>   memfd contents carried over a jump.
 *   jumps     one line per fake kexec: "<kernel>\t<initrd>\t<cmdline>".
 *
 * jump() plays kexec: it hands the frozen snapshot over (fdt.out -> fdt.in,
 * streams adopted, faults applied), carries the LUO sessions whose fds are
 * still open, bumps the boot id, and exits the daemon with status 0.
 *
 * Fake physical memory (fake_mem_build()): every device of `pci` has, on
 * its SMMU's linear stream table, an S1 STE -> one CD -> a 4-level 4 KiB
 * page table mapping FAKE_IOVA (4 pages).  FREEZE snapshots it with the
 * core's serializer (skho_snapshot_take), so fdt.out is what the module
 * would write; READ returns its bytes inside the preserved ranges.
 * in-refused: why the handover was refused, after such a jump.
 *
 * Table page counts (STATUS, second revision) follow that layout: each
 * stream owns 5 pages (CD + 4 table levels), each SMMU's stream table
 * FAKE_STRTAB_PAGES; a released stream's 5 pages and its ASID are freed.
 */

#define MAX_DEVS	64
#define MAX_SIDS	8
#define MAX_LUO		4
#define FAKE_SMMU_OAS	48
#define FAKE_STRTAB_PA	0x40000000ull
#define FAKE_STRTAB_LG2	8	/* linear table, SIDs < 256 */
#define FAKE_STRTAB_PAGES	4	/* 256 STEs of 64 bytes */
#define FAKE_STREAM_PAGES	5	/* CD + 4 page-table levels */
#define FAKE_RELEASE_NS	250000	/* a RELEASE takes 250 us per stream */

struct fake_dev {
	char name[32];
	uint64_t smmu;
	uint32_t sids[MAX_SIDS];
	uint32_t nr_sids;
	uint32_t gen;
	char driver[32];
	uint32_t domain;	/* enum smmu_kho_domain */
	const char *refuse;	/* the enabled feature PRESERVE refuses, or NULL */
};

static const char *const fake_domains[] = {
	[SMMU_KHO_DOMAIN_NONE] = "none", [SMMU_KHO_DOMAIN_BLOCKED] = "blocked",
	[SMMU_KHO_DOMAIN_IDENTITY] = "identity", [SMMU_KHO_DOMAIN_DMA] = "dma",
	[SMMU_KHO_DOMAIN_UNMANAGED] = "unmanaged", [SMMU_KHO_DOMAIN_NESTED] = "nested",
};

/* One "key[=value]" word after the SIDs of a `pci` line. */
static void fake_dev_option(struct fake_dev *d, const char *w)
{
	uint32_t i;

	if (!strncmp(w, "gen=", 4))
		d->gen = (uint32_t)strtoul(w + 4, NULL, 0);
	else if (!strncmp(w, "driver=", 7))
		snprintf(d->driver, sizeof(d->driver), "%s", w + 7);
	else if (!strcmp(w, "ats"))
		d->refuse = "ATS enabled, the ATC is not handed over";
	else if (!strcmp(w, "pri"))
		d->refuse = "PRI enabled, page requests are not handed over";
	else if (!strcmp(w, "pasid"))
		d->refuse = "PASID enabled, SVA/PASID spaces not handed over";
	else if (!strncmp(w, "domain=", 7))
		for (i = 0; i < sizeof(fake_domains) / sizeof(fake_domains[0]); i++)
			if (!strcmp(w + 7, fake_domains[i]))
				d->domain = i;
}

struct fake_kernel {
	uint32_t boot;
	uint32_t out_state, in_state;
	char selected[MAX_DEVS][32];
	uint32_t nr_selected;
	bool kexec_loaded;
	char kexec_kernel[256], kexec_initrd[256], kexec_cmdline[512];
	uint64_t freeze_ns, adopt_ns;
	/* the last RELEASE (this boot) */
	int32_t release_error;
	uint32_t nr_hitless;
	uint64_t release_ns;
	char release_why[128];
};

struct fake_luo {
	char name[64];
	int sfd;		/* the fd handed to the daemon */
	ino_t ino;		/* to tell whether the daemon still holds it */
	uint64_t token;
	int fd;			/* dup of the preserved fd, -1 if none */
	bool retrieved;
};

struct fake_backend {
	struct skhod_backend be;
	int dirfd;
	struct fake_luo luo[MAX_LUO];
	unsigned int crash_hits;
};

#define FB(be) ((struct fake_backend *)(be))

/* ---- small file helpers, relative to the fake directory ---- */

static char *slurp(int dirfd, const char *name, size_t *lenp)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	size_t cap = 4096, len = 0;
	char *buf;

	if (fd < 0)
		return NULL;
	buf = malloc(cap + 1);
	while (buf) {
		ssize_t n = read(fd, buf + len, cap - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == cap) {
			char *nb = realloc(buf, cap * 2 + 1);

			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	close(fd);
	if (buf)
		buf[len] = 0;
	if (lenp)
		*lenp = len;
	return buf;
}

static int put_atomic(int dirfd, const char *name, const void *data, size_t len)
{
	char tmp[128];
	int fd, r = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len)
		r = -EIO;
	if (fsync(fd) && !r)
		r = -errno;
	close(fd);
	if (!r && renameat(dirfd, tmp, dirfd, name))
		r = -errno;
	return r;
}

static bool has_fault(struct fake_backend *fb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static bool has_fault(struct fake_backend *fb, const char *fmt, ...)
{
	char want[128], *buf, *line, *save;
	bool hit = false;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	buf = slurp(fb->dirfd, "faults", NULL);
	if (!buf)
		return false;
	for (line = strtok_r(buf, "\n", &save); line && !hit;
	     line = strtok_r(NULL, "\n", &save))
		hit = !strcmp(line, want);
	free(buf);
	return hit;
}

/* "lose 0x10" style knob for @sid: returns the rest of the line or NULL. */
static char *sid_fault(struct fake_backend *fb, const char *knob, uint32_t sid)
{
	char *buf = slurp(fb->dirfd, "faults", NULL), *line, *save, *res = NULL;
	size_t kl = strlen(knob);

	if (!buf)
		return NULL;
	for (line = strtok_r(buf, "\n", &save); line && !res;
	     line = strtok_r(NULL, "\n", &save)) {
		char *end;

		if (strncmp(line, knob, kl) || line[kl] != ' ')
			continue;
		if (strtoul(line + kl + 1, &end, 0) != sid)
			continue;
		res = strdup(*end == ' ' ? end + 1 : "");
	}
	free(buf);
	return res;
}

/* ---- fake kernel state ---- */

static int load_pci(struct fake_backend *fb, struct fake_dev *devs, uint32_t *nr)
{
	char *buf = slurp(fb->dirfd, "pci", NULL), *line, *save;

	*nr = 0;
	if (!buf)
		return 0;
	for (line = strtok_r(buf, "\n", &save); line && *nr < MAX_DEVS;
	     line = strtok_r(NULL, "\n", &save)) {
		struct fake_dev *d = &devs[*nr];
		char name[32], sids[128], *p, *e, *w, *wsave;
		int rest = 0;

		if (sscanf(line, "%31s %" SCNx64 " %127s %n", name, &d->smmu, sids,
			   &rest) < 3)
			continue;
		strcpy(d->name, name);
		d->nr_sids = 0;
		d->gen = 0;
		d->driver[0] = 0;
		d->domain = SMMU_KHO_DOMAIN_DMA;
		d->refuse = NULL;
		for (w = rest ? strtok_r(line + rest, " \t", &wsave) : NULL; w;
		     w = strtok_r(NULL, " \t", &wsave))
			fake_dev_option(d, w);
		for (p = sids; *p && d->nr_sids < MAX_SIDS; p = *e ? e + 1 : e) {
			d->sids[d->nr_sids++] = (uint32_t)strtoul(p, &e, 0);
			if (e == p)
				break;
		}
		(*nr)++;
	}
	free(buf);
	return 0;
}

static const struct fake_dev *find_dev(const struct fake_dev *devs, uint32_t nr,
				       const char *name)
{
	uint32_t i;

	for (i = 0; i < nr; i++)
		if (!strcmp(devs[i].name, name))
			return &devs[i];
	return NULL;
}

static void load_kernel(struct fake_backend *fb, struct fake_kernel *k)
{
	char *buf = slurp(fb->dirfd, "kernel", NULL), *line, *save;

	memset(k, 0, sizeof(*k));
	k->boot = 1;
	if (!buf)
		return;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *v = strchr(line, ' ');

		if (!v)
			continue;
		*v++ = 0;
		if (!strcmp(line, "boot"))
			k->boot = (uint32_t)strtoul(v, NULL, 0);
		else if (!strcmp(line, "out_state"))
			k->out_state = (uint32_t)strtoul(v, NULL, 0);
		else if (!strcmp(line, "in_state"))
			k->in_state = (uint32_t)strtoul(v, NULL, 0);
		else if (!strcmp(line, "kexec_loaded"))
			k->kexec_loaded = strtoul(v, NULL, 0);
		else if (!strcmp(line, "kexec_kernel"))
			snprintf(k->kexec_kernel, sizeof(k->kexec_kernel), "%s", v);
		else if (!strcmp(line, "kexec_initrd"))
			snprintf(k->kexec_initrd, sizeof(k->kexec_initrd), "%s", v);
		else if (!strcmp(line, "kexec_cmdline"))
			snprintf(k->kexec_cmdline, sizeof(k->kexec_cmdline), "%s", v);
		else if (!strcmp(line, "freeze_ns"))
			k->freeze_ns = strtoull(v, NULL, 0);
		else if (!strcmp(line, "adopt_ns"))
			k->adopt_ns = strtoull(v, NULL, 0);
		else if (!strcmp(line, "release_error"))
			k->release_error = (int32_t)strtol(v, NULL, 0);
		else if (!strcmp(line, "nr_hitless"))
			k->nr_hitless = (uint32_t)strtoul(v, NULL, 0);
		else if (!strcmp(line, "release_ns"))
			k->release_ns = strtoull(v, NULL, 0);
		else if (!strcmp(line, "release_why"))
			snprintf(k->release_why, sizeof(k->release_why), "%s", v);
		else if (!strcmp(line, "selected") && k->nr_selected < MAX_DEVS)
			snprintf(k->selected[k->nr_selected++], 32, "%s", v);
	}
	free(buf);
}

static int save_kernel(struct fake_backend *fb, const struct fake_kernel *k)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	uint32_t i;
	int r;

	if (!f)
		return -ENOMEM;
	fprintf(f, "boot %u\nout_state %u\nin_state %u\nkexec_loaded %d\n",
		k->boot, k->out_state, k->in_state, k->kexec_loaded);
	fprintf(f, "kexec_kernel %s\nkexec_initrd %s\nkexec_cmdline %s\n",
		k->kexec_kernel, k->kexec_initrd, k->kexec_cmdline);
	fprintf(f, "freeze_ns %" PRIu64 "\nadopt_ns %" PRIu64 "\n", k->freeze_ns,
		k->adopt_ns);
	fprintf(f, "release_error %d\nnr_hitless %u\nrelease_ns %" PRIu64 "\nrelease_why %s\n",
		k->release_error, k->nr_hitless, k->release_ns, k->release_why);
	for (i = 0; i < k->nr_selected; i++)
		fprintf(f, "selected %s\n", k->selected[i]);
	fclose(f);
	r = buf ? put_atomic(fb->dirfd, "kernel", buf, len) : -ENOMEM;
	free(buf);
	return r;
}

/* ---- fake physical memory: the tables a (fake) driver programmed ---- */

#define FAKE_MEM_BASE	0x40000000ull
#define FAKE_IOVA	0x10000000ull
#define FAKE_MAP_PAGES	4
#define FAKE_PG		0x1000ull

struct fake_mem {
	uint8_t *buf;
	uint64_t size, next;
	struct skho_mem mem;
	uint64_t smmu[MAX_DEVS];	/* distinct SMMUs, in `pci` order */
	uint64_t strtab[MAX_DEVS];	/* their stream tables */
	uint32_t nr_smmu;
};

static const void *fake_mem_map(void *priv, uint64_t pa, uint64_t len)
{
	const struct fake_mem *m = priv;

	if (pa < FAKE_MEM_BASE || pa - FAKE_MEM_BASE > m->size ||
	    len > m->size - (pa - FAKE_MEM_BASE))
		return NULL;
	return m->buf + (pa - FAKE_MEM_BASE);
}

static uint64_t fake_alloc(struct fake_mem *m, uint64_t size, uint64_t align)
{
	uint64_t pa = (m->next + align - 1) & ~(align - 1);

	m->next = pa + size;
	return pa;	/* fake_mem_build() sized the buffer for everything */
}

static void fake_w64(struct fake_mem *m, uint64_t pa, uint64_t v)
{
	uint64_t le = htole64(v);

	memcpy(m->buf + (pa - FAKE_MEM_BASE), &le, 8);
}

static uint64_t fake_r64(const struct fake_mem *m, uint64_t pa)
{
	uint64_t le;

	memcpy(&le, m->buf + (pa - FAKE_MEM_BASE), 8);
	return le64toh(le);
}

static uint64_t fake_strtab_of(const struct fake_mem *m, uint64_t smmu)
{
	uint32_t i;

	for (i = 0; i < m->nr_smmu; i++)
		if (m->smmu[i] == smmu)
			return m->strtab[i];
	return 0;
}

static uint32_t fake_strtab_cfg(void)
{
	return SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_FMT, SMMU_STRTAB_FMT_LINEAR) |
	       SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_LOG2SIZE, FAKE_STRTAB_LG2);
}

/* One stream as arm-smmu-v3 programs an S1 domain: STE -> CD -> tables. */
static void fake_stream_build(struct fake_mem *m, uint64_t strtab, const struct fake_dev *d,
			      uint32_t sid, bool faults, struct fake_backend *fb)
{
	uint64_t cd = fake_alloc(m, FAKE_PG, FAKE_PG), tbl[4], ste = strtab + (uint64_t)sid * 64;
	uint64_t leaf0 = 0x80000000ull + ((uint64_t)sid << 20) + ((uint64_t)d->gen << 16);
	unsigned int l, p;
	char *f;

	for (l = 0; l < 4; l++)
		tbl[l] = fake_alloc(m, FAKE_PG, FAKE_PG);
	/* STE: V, Config S1, S1ContextPtr = the CD, linear CD table of one */
	fake_w64(m, ste, SMMU_STE0_V | SKHO_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CFG_S1) |
		 (cd & SMMU_STE0_S1CTXPTR));
	fake_w64(m, ste + 8, 0);
	/* CD: T0SZ 16 (48-bit IAS), 4 KiB granule, IPS 48 bits, AArch64 */
	fake_w64(m, cd, SKHO_FIELD_PREP(SMMU_CD0_T0SZ, 16) |
		 SKHO_FIELD_PREP(SMMU_CD0_TG0, SMMU_TG_4K) | SMMU_CD0_EPD1 | SMMU_CD0_V |
		 SKHO_FIELD_PREP(SMMU_CD0_IPS, 5) | SMMU_CD0_AA64 |
		 SKHO_FIELD_PREP(SMMU_CD0_ASID, sid + 1));
	fake_w64(m, cd + 8, tbl[0] & SMMU_CD1_TTB0);
	/* levels 0-2: one table descriptor each; level 3: the pages */
	for (l = 0; l < 3; l++) {
		unsigned int shift = 12 + (3 - l) * 9;
		uint64_t idx = (FAKE_IOVA >> shift) & 511;

		fake_w64(m, tbl[l] + idx * 8, (tbl[l + 1] & SMMU_PTE_ADDR) | SMMU_PTE_TYPE_TABLE);
	}
	for (p = 0; p < FAKE_MAP_PAGES; p++)
		fake_w64(m, tbl[3] + (((FAKE_IOVA >> 12) & 511) + p) * 8,
			 ((leaf0 + p * FAKE_PG) & SMMU_PTE_ADDR) | SMMU_PTE_AF |
			 SMMU_PTE_AP_UNPRIV | SMMU_PTE_TYPE_PAGE);
	if (!faults)
		return;
	if ((f = sid_fault(fb, "live-ste", sid))) {
		fake_w64(m, ste + 8, fake_r64(m, ste + 8) ^ (1ull << 44));
		free(f);
	}
	if ((f = sid_fault(fb, "pte", sid))) {
		uint64_t pte = tbl[3] + ((FAKE_IOVA >> 12) & 511) * 8;

		fake_w64(m, pte, fake_r64(m, pte) ^ FAKE_PG);
		free(f);
	}
}

/*
 * Build the fake machine's memory from `pci`: every device's streams, on
 * all SMMUs.  @faults applies the memory knobs (live-ste, pte) and writes
 * abort STEs for incoming streams the kernel refused or quarantined, as
 * the module would.  Errors: -ENOMEM.
 */
static int fake_mem_build(struct fake_backend *fb, bool faults, struct fake_mem *m)
{
	struct fake_dev devs[MAX_DEVS];
	uint32_t nd, i, q, nsids = 0;
	char *buf, *line, *save;

	memset(m, 0, sizeof(*m));
	load_pci(fb, devs, &nd);
	for (i = 0; i < nd; i++) {
		nsids += devs[i].nr_sids;
		if (!fake_strtab_of(m, devs[i].smmu) && m->nr_smmu < MAX_DEVS) {
			m->smmu[m->nr_smmu] = devs[i].smmu;
			m->strtab[m->nr_smmu++] = 1;	/* placeholder until allocated */
		}
	}
	m->size = (uint64_t)m->nr_smmu * 2 * (64ull << FAKE_STRTAB_LG2) +
		  (uint64_t)nsids * 5 * FAKE_PG + FAKE_PG;
	m->buf = calloc(1, m->size);
	if (!m->buf)
		return -ENOMEM;
	m->next = FAKE_MEM_BASE;
	m->mem.map = fake_mem_map;
	m->mem.priv = m;
	for (i = 0; i < m->nr_smmu; i++)
		m->strtab[i] = fake_alloc(m, 64ull << FAKE_STRTAB_LG2, 64ull << FAKE_STRTAB_LG2);
	for (i = 0; i < nd; i++)
		for (q = 0; q < devs[i].nr_sids; q++)
			if (devs[i].sids[q] < (1u << FAKE_STRTAB_LG2))
				fake_stream_build(m, fake_strtab_of(m, devs[i].smmu), &devs[i],
						  devs[i].sids[q], faults, fb);
	buf = faults ? slurp(fb->dirfd, "in-streams", NULL) : NULL;
	for (line = buf ? strtok_r(buf, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		uint64_t smmu, st;
		unsigned int sid, state;

		if (sscanf(line, "%" SCNx64 " %x %u", &smmu, &sid, &state) != 3 ||
		    (state != SMMU_KHO_STREAM_REFUSED && state != SMMU_KHO_STREAM_QUARANTINED) ||
		    !(st = fake_strtab_of(m, smmu)) || sid >= (1u << FAKE_STRTAB_LG2))
			continue;
		/* abort STE: V=1, Config abort, nothing else */
		memset(m->buf + (st + (uint64_t)sid * 64 - FAKE_MEM_BASE), 0, 64);
		fake_w64(m, st + (uint64_t)sid * 64, SMMU_STE0_V);
	}
	free(buf);
	return 0;
}

static void fake_mem_free(struct fake_mem *m)
{
	free(m->buf);
	m->buf = NULL;
}

/* The live STE of @sid on @smmu (what the SMMU reads now); false if none. */
static bool fake_live_ste(const struct fake_mem *m, uint64_t smmu, uint32_t sid,
			  uint8_t ste[64])
{
	uint64_t st = fake_strtab_of(m, smmu);

	if (!st || sid >= (1u << FAKE_STRTAB_LG2))
		return false;
	memcpy(ste, m->buf + (st + (uint64_t)sid * 64 - FAKE_MEM_BASE), 64);
	return true;
}

/* Digests and STE copy of @sid in the snapshot blob @name; false if absent. */
static bool fdt_record(struct fake_backend *fb, const char *name, uint64_t smmu,
		       uint32_t sid, uint64_t *ste_d, uint64_t *xlat_d)
{
	struct skho_handover ho;
	size_t len;
	char *blob = slurp(fb->dirfd, name, &len);
	bool hit = false;
	uint32_t i, k;

	if (!blob)
		return false;
	if (skho_handover_parse(blob, len, &ho, NULL)) {
		free(blob);
		return false;
	}
	for (i = 0; i < ho.nr_smmus && !hit; i++) {
		if (ho.smmu[i].mmio_base != smmu)
			continue;
		for (k = 0; k < ho.smmu[i].nr_streams && !hit; k++) {
			const unsigned char *p = (const unsigned char *)ho.smmu[i].streams +
						 (size_t)k * sizeof(struct skho_abi_stream);

			if (skho_fdt_ld32(p + offsetof(struct skho_abi_stream, sid)) != sid)
				continue;
			*ste_d = skho_fdt_ld64(p + offsetof(struct skho_abi_stream, ste_digest));
			*xlat_d = skho_fdt_ld64(p + offsetof(struct skho_abi_stream, xlat_digest));
			hit = true;
		}
	}
	skho_handover_release(&ho);
	free(blob);
	return hit;
}

/* ---- ops ---- */

static int check_fail(struct fake_backend *fb, const char *what, int err)
{
	if (!has_fault(fb, "fail %s", what))
		return 0;
	snprintf(fb->be.err, sizeof(fb->be.err), "fake: injected %s failure", what);
	return err;
}

static uint32_t count_sel_streams(struct fake_backend *fb, const struct fake_kernel *k)
{
	struct fake_dev devs[MAX_DEVS];
	uint32_t nr, i, n = 0;
	const struct fake_dev *d;

	load_pci(fb, devs, &nr);
	for (i = 0; i < k->nr_selected; i++) {
		d = find_dev(devs, nr, k->selected[i]);
		n += d ? d->nr_sids : 0;
	}
	return n;
}

static uint32_t count_in_streams(struct fake_backend *fb, uint32_t state)
{
	char *buf = slurp(fb->dirfd, "in-streams", NULL), *line, *save;
	uint32_t n = 0;

	if (!buf)
		return 0;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned int st;

		if (sscanf(line, "%*x %*x %u", &st) == 1 && (!state || st == state))
			n++;
	}
	free(buf);
	return n;
}

/* STATUS fields of the first revision: why refused, quarantined streams. */
/* The hand-back fields of STATUS: the last RELEASE and the table pages (see the top). */
static void fake_status_pages(struct fake_backend *fb, const struct fake_kernel *k,
			      struct smmu_kho_status *st)
{
	uint32_t released, held;

	st->release_error = k->release_error;
	st->nr_released_hitless = k->nr_hitless;
	st->release_ns = k->release_ns;
	memcpy(st->release_why, k->release_why, sizeof(st->release_why));
	if (k->out_state == SMMU_KHO_FROZEN)
		st->out_preserved_pages = FAKE_STRTAB_PAGES +
					  (uint64_t)FAKE_STREAM_PAGES * count_sel_streams(fb, k);
	if (k->in_state != SMMU_KHO_ADOPTED && k->in_state != SMMU_KHO_RELEASED)
		return;
	released = count_in_streams(fb, SMMU_KHO_STREAM_RELEASED);
	held = count_in_streams(fb, SMMU_KHO_STREAM_ADOPTED) +
	       count_in_streams(fb, SMMU_KHO_STREAM_QUARANTINED);
	st->in_adopted_pages = FAKE_STRTAB_PAGES + (uint64_t)FAKE_STREAM_PAGES * (held + released);
	st->in_freed_pages = (uint64_t)FAKE_STREAM_PAGES * released;
	st->in_kept_pages = st->in_adopted_pages - st->in_freed_pages;
	st->nr_asids_freed = released;	/* one S1 CD, one ASID per stream */
}

static void fake_status_ext(struct fake_backend *fb, const struct fake_kernel *k,
			    struct smmu_kho_status *st)
{
	char *r;
	int pos = 0;

	r = slurp(fb->dirfd, "out-why", NULL);
	if (r && sscanf(r, "%d %n", &st->out_error, &pos) >= 1) {
		r[strcspn(r, "\n")] = 0;
		snprintf(st->out_why, sizeof(st->out_why), "%s", r + pos);
	}
	free(r);
	pos = 0;
	fake_status_pages(fb, k, st);
	if (!k->in_state)
		return;
	st->nr_quarantined = count_in_streams(fb, SMMU_KHO_STREAM_QUARANTINED);
	/* quarantined streams were validated and kept before the request */
	st->nr_adopted += st->nr_quarantined;
	if (k->in_state != SMMU_KHO_IN_REFUSED)
		return;
	r = slurp(fb->dirfd, "in-refused", NULL);
	if (r && sscanf(r, "%d %n", &st->in_error, &pos) >= 1) {
		r[strcspn(r, "\n")] = 0;
		snprintf(st->in_why, sizeof(st->in_why), "%s", r + pos);
	}
	free(r);
}

static int f_status(struct skhod_backend *be, struct smmu_kho_status *st)
{
	struct fake_backend *fb = FB(be);
	struct fake_kernel k;
	struct stat sb;
	int r = check_fail(fb, "status", -ENODEV);

	if (r)
		return r;
	load_kernel(fb, &k);
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	st->out_state = k.out_state;
	st->in_state = k.in_state;
	st->nr_out_streams = k.out_state == SMMU_KHO_FROZEN ? count_sel_streams(fb, &k) : 0;
	if (k.in_state) {
		st->nr_in_streams = count_in_streams(fb, 0);
		st->nr_adopted = count_in_streams(fb, SMMU_KHO_STREAM_ADOPTED) +
				 count_in_streams(fb, SMMU_KHO_STREAM_RELEASED);
		st->nr_refused = count_in_streams(fb, SMMU_KHO_STREAM_REFUSED);
		st->nr_released = count_in_streams(fb, SMMU_KHO_STREAM_RELEASED);
	}
	if (k.out_state == SMMU_KHO_FROZEN && !fstatat(fb->dirfd, "fdt.out", &sb, 0))
		st->out_fdt_len = (uint64_t)sb.st_size;
	if (k.in_state && !fstatat(fb->dirfd, "fdt.in", &sb, 0))
		st->in_fdt_len = (uint64_t)sb.st_size;
	st->freeze_ns = k.freeze_ns;
	st->adopt_ns = k.adopt_ns;
	fake_status_ext(fb, &k, st);
	return 0;
}

static int f_preserve(struct skhod_backend *be, const char *dev)
{
	struct fake_backend *fb = FB(be);
	struct fake_dev devs[MAX_DEVS];
	const struct fake_dev *d;
	struct fake_kernel k;
	uint32_t nr, i;
	char what[64];

	snprintf(what, sizeof(what), "preserve %s", dev);
	if (check_fail(fb, what, -EIO))
		return -EIO;
	load_pci(fb, devs, &nr);
	load_kernel(fb, &k);
	d = find_dev(devs, nr, dev);
	if (!d) {
		snprintf(be->err, sizeof(be->err), "fake: %s is not behind an SMMUv3", dev);
		return -ENODEV;
	}
	if (k.out_state != SMMU_KHO_IDLE && k.out_state != SMMU_KHO_SELECTED)
		return -EBUSY;
	if (d->refuse) {
		snprintf(be->err, sizeof(be->err), "SMMU_KHO_IOC_PRESERVE: %s refused: %s",
			 dev, d->refuse);
		return -EPROTONOSUPPORT;
	}
	for (i = 0; i < k.nr_selected; i++)
		if (!strcmp(k.selected[i], dev))
			return -EBUSY;
	if (k.nr_selected >= MAX_DEVS)
		return -ENOSPC;
	snprintf(k.selected[k.nr_selected++], 32, "%s", dev);
	k.out_state = SMMU_KHO_SELECTED;
	return save_kernel(fb, &k);
}

static int f_probe(struct skhod_backend *be, const char *dev,
		   struct smmu_kho_probe_arg *out)
{
	struct fake_dev devs[MAX_DEVS];
	const struct fake_dev *d;
	uint32_t nr;

	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	snprintf(out->name, sizeof(out->name), "%s", dev);
	load_pci(FB(be), devs, &nr);
	d = find_dev(devs, nr, dev);
	if (!d) {
		snprintf(be->err, sizeof(be->err), "SMMU_KHO_IOC_PROBE: %s", strerror(ENODEV));
		return -ENODEV;
	}
	snprintf(out->out_driver, sizeof(out->out_driver), "%s", d->driver);
	out->out_domain = d->domain;
	if (d->refuse) {
		out->out_refuse = -EPROTONOSUPPORT;
		snprintf(out->out_why, sizeof(out->out_why), "%s refused: %s", dev, d->refuse);
	}
	return 0;
}

static int f_pci_devices(struct skhod_backend *be, char (**names)[32], size_t *nr)
{
	struct fake_dev devs[MAX_DEVS];
	uint32_t n, i;

	load_pci(FB(be), devs, &n);
	*nr = 0;
	*names = calloc(n ? n : 1, sizeof(**names));
	if (!*names)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		memcpy((*names)[i], devs[i].name, sizeof(devs[i].name));
	*nr = n;
	return 0;
}

static int f_unpreserve(struct skhod_backend *be, const char *dev)
{
	struct fake_backend *fb = FB(be);
	struct fake_kernel k;
	uint32_t i;

	load_kernel(fb, &k);
	if (k.out_state != SMMU_KHO_SELECTED)
		return -EBUSY;
	for (i = 0; i < k.nr_selected; i++)
		if (!strcmp(k.selected[i], dev))
			break;
	if (i == k.nr_selected)
		return -EINVAL;
	memmove(k.selected[i], k.selected[i + 1], (k.nr_selected - i - 1) * 32);
	if (!--k.nr_selected)
		k.out_state = SMMU_KHO_IDLE;
	return save_kernel(fb, &k);
}

struct fake_stream {
	uint64_t smmu;
	uint32_t sid;
	char dev[32];
	uint64_t ste_digest, xlat_digest;
};

static int cmp_stream(const void *a, const void *b)
{
	const struct fake_stream *x = a, *y = b;

	if (x->smmu != y->smmu)
		return x->smmu < y->smmu ? -1 : 1;
	return x->sid < y->sid ? -1 : x->sid > y->sid;
}

/* Streams of the selected devices, sorted by (SMMU, SID), digests of fdt.out. */
static int selected_streams(struct fake_backend *fb, const struct fake_kernel *k,
			    struct fake_stream **out, uint32_t *nr)
{
	struct fake_dev devs[MAX_DEVS];
	struct fake_stream *s;
	uint32_t nd, i, n = 0, q;

	load_pci(fb, devs, &nd);
	s = calloc((size_t)MAX_DEVS * MAX_SIDS, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (i = 0; i < k->nr_selected; i++) {
		const struct fake_dev *d = find_dev(devs, nd, k->selected[i]);

		for (q = 0; d && q < d->nr_sids; q++, n++) {
			s[n].smmu = d->smmu;
			s[n].sid = d->sids[q];
			snprintf(s[n].dev, sizeof(s[n].dev), "%s", d->name);
			/* the frozen snapshot's digests, as the module reports them */
			fdt_record(fb, "fdt.out", s[n].smmu, s[n].sid, &s[n].ste_digest,
				   &s[n].xlat_digest);
		}
	}
	qsort(s, n, sizeof(*s), cmp_stream);
	*out = s;
	*nr = n;
	return 0;
}

/*
 * The outgoing snapshot of @s[@n] as the module makes it: the core's
 * serializer over the fake memory (pristine: taken at the freeze).
 * Errors: -ENOMEM, -EIO (the serializer refused; why in be->err).
 */
static int build_fdt(struct fake_backend *fb, const struct fake_stream *s, uint32_t n,
		     void **blob, size_t *len)
{
	struct skho_smmu_state st[MAX_DEVS];
	struct skho_snapshot *snap = NULL;
	struct skho_err e = { 0 };
	struct fake_mem m;
	uint32_t *sids = NULL, i, nst = 0;
	void *fdt = NULL;
	size_t sz;
	int r = fake_mem_build(fb, false, &m);

	if (r)
		return r;
	sids = calloc(n ? n : 1, sizeof(*sids));
	if (!sids) {
		fake_mem_free(&m);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		sids[i] = s[i].sid;
		if (!nst || st[nst - 1].mmio_base != s[i].smmu) {
			memset(&st[nst], 0, sizeof(st[nst]));
			st[nst].mmio_base = s[i].smmu;
			st[nst].strtab_base = fake_strtab_of(&m, s[i].smmu);
			st[nst].strtab_cfg = fake_strtab_cfg();
			st[nst].features = SKHO_SMMU_F_COHERENT;
			st[nst].oas = FAKE_SMMU_OAS;
			st[nst].sids = &sids[i];
			nst++;
		}
		st[nst - 1].nr_sids++;
	}
	r = skho_snapshot_take(&snap, st, nst, &m.mem, &e);
	if (!r) {
		sz = skho_snapshot_fdt_size(snap);
		fdt = malloc(sz);
		r = fdt ? skho_snapshot_to_fdt(snap, fdt, sz, &e) : -SKHO_E_NOMEM;
	}
	if (r) {
		snprintf(fb->be.err, sizeof(fb->be.err), "fake FREEZE: %s: %.100s",
			 skho_strerror(r), e.msg);
		free(fdt);
		r = r == -SKHO_E_NOMEM ? -ENOMEM : -EIO;
	} else {
		*blob = fdt;
		*len = fdt_totalsize(fdt);
	}
	skho_snapshot_free(snap);
	free(sids);
	fake_mem_free(&m);
	return r;
}

/*
 * The freeze-outside knob: FREEZE refuses a translation that maps memory
 * not preserved through KHO (EADDRNOTAVAIL), STATUS.out_error/out_why say
 * which (`out-why` holds "<-errno> <why>").  Returns 0 or -EADDRNOTAVAIL.
 */
static int fake_freeze_outside(struct fake_backend *fb)
{
	char *buf = slurp(fb->dirfd, "faults", NULL), *line, *save, out[200];
	int r = 0;

	for (line = buf ? strtok_r(buf, "\n", &save) : NULL; line && !r;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "freeze-outside", 14) || (line[14] && line[14] != ' '))
			continue;
		snprintf(out, sizeof(out), "%d %s\n", -EADDRNOTAVAIL,
			 line[14] ? line + 15 : "fake: maps memory that is not preserved");
		put_atomic(fb->dirfd, "out-why", out, strlen(out));
		snprintf(fb->be.err, sizeof(fb->be.err), "fake FREEZE: %s",
			 strerror(EADDRNOTAVAIL));
		r = -EADDRNOTAVAIL;
	}
	free(buf);
	return r;
}

static int f_freeze(struct skhod_backend *be)
{
	struct fake_backend *fb = FB(be);
	struct fake_stream *s;
	struct fake_kernel k;
	void *blob;
	size_t len;
	uint32_t n;
	int r = check_fail(fb, "freeze", -EIO);

	unlinkat(fb->dirfd, "out-why", 0);
	if (!r)
		r = fake_freeze_outside(fb);
	if (r)
		return r;
	load_kernel(fb, &k);
	if (k.out_state != SMMU_KHO_SELECTED)
		return -EBUSY;
	r = selected_streams(fb, &k, &s, &n);
	if (r)
		return r;
	r = build_fdt(fb, s, n, &blob, &len);
	free(s);
	if (r)
		return r;
	r = put_atomic(fb->dirfd, "fdt.out", blob, len);
	free(blob);
	if (r)
		return r;
	k.out_state = SMMU_KHO_FROZEN;
	k.freeze_ns = 1000000;	/* 1 ms: fixed, the fake does no work */
	return save_kernel(fb, &k);
}

static int f_abort(struct skhod_backend *be)
{
	struct fake_backend *fb = FB(be);
	struct fake_kernel k;

	load_kernel(fb, &k);
	k.out_state = SMMU_KHO_IDLE;
	k.nr_selected = 0;
	unlinkat(fb->dirfd, "fdt.out", 0);
	return save_kernel(fb, &k);
}

static int f_get_fdt(struct skhod_backend *be, uint32_t which, void **blob,
		     size_t *len)
{
	struct fake_backend *fb = FB(be);
	struct fake_kernel k;
	char *buf;

	load_kernel(fb, &k);
	if (which == SMMU_KHO_FDT_OUT && k.out_state != SMMU_KHO_FROZEN)
		return -EBUSY;
	if (which == SMMU_KHO_FDT_IN && k.in_state == SMMU_KHO_IDLE)
		return -ENOENT;
	if (which > SMMU_KHO_FDT_IN)
		return -EINVAL;
	if (which == SMMU_KHO_FDT_OUT && has_fault(fb, "fdt-garbage")) {
		buf = strdup("this is not a flattened device tree");
		if (!buf)
			return -ENOMEM;
		*blob = buf;
		*len = strlen(buf);
		return 0;
	}
	buf = slurp(fb->dirfd, which == SMMU_KHO_FDT_OUT ? "fdt.out" : "fdt.in", len);
	if (!buf)
		return -EIO;
	*blob = buf;
	return 0;
}

/*
 * STREAMS' raw view, as the module reads it through the live
 * STRTAB_BASE(_CFG): the STE bytes now (memory knobs applied), the stream
 * table registers, ste_live (0 under ste-unreadable).  Errors: -ENOMEM.
 */
static int fake_streams_live(struct fake_backend *fb, struct smmu_kho_stream_info *o,
			     uint32_t n)
{
	struct fake_mem m;
	uint32_t i;
	char *f;
	int r;

	if (!n)
		return 0;
	r = fake_mem_build(fb, true, &m);
	if (r)
		return r;
	for (i = 0; i < n; i++) {
		o[i].strtab_base = fake_strtab_of(&m, o[i].smmu_base);
		o[i].strtab_cfg = fake_strtab_cfg();
		o[i].ste_live = fake_live_ste(&m, o[i].smmu_base, o[i].sid, o[i].ste);
		if ((f = sid_fault(fb, "ste-unreadable", o[i].sid))) {
			memset(o[i].ste, 0, sizeof(o[i].ste));
			o[i].ste_live = 0;
			free(f);
		}
	}
	fake_mem_free(&m);
	return 0;
}

/*
 * Like the module: this kernel's outgoing streams (FROZEN: PRESERVED, with
 * the frozen snapshot's digests) first, then the streams it was handed (ADOPTED, REFUSED,
 * RELEASED), in one array.
 */
static int f_streams(struct skhod_backend *be, struct smmu_kho_stream_info **info,
		     uint32_t *nr)
{
	struct fake_backend *fb = FB(be);
	struct smmu_kho_stream_info *out;
	struct fake_stream *s = NULL;
	struct fake_kernel k;
	uint32_t n = 0, nout = 0, cap, i;
	char *buf = NULL, *line, *save;
	int r;

	load_kernel(fb, &k);
	if (k.out_state == SMMU_KHO_FROZEN) {
		r = selected_streams(fb, &k, &s, &nout);
		if (r)
			return r;
	}
	cap = nout + (k.in_state != SMMU_KHO_IDLE ? count_in_streams(fb, 0) : 0);
	out = calloc(cap ? cap : 1, sizeof(*out));
	if (!out) {
		free(s);
		return -ENOMEM;
	}
	for (i = 0; i < nout; i++, n++) {
		out[n].smmu_base = s[i].smmu;
		out[n].sid = s[i].sid;
		out[n].state = SMMU_KHO_STREAM_PRESERVED;
		out[n].ste_digest = s[i].ste_digest;
		out[n].xlat_digest = s[i].xlat_digest;
		snprintf(out[n].dev, sizeof(out[n].dev), "%s", s[i].dev);
	}
	free(s);
	if (k.in_state != SMMU_KHO_IDLE)
		buf = slurp(fb->dirfd, "in-streams", NULL);
	for (line = buf ? strtok_r(buf, "\n", &save) : NULL; line && n < cap;
	     line = strtok_r(NULL, "\n", &save)) {
		struct smmu_kho_stream_info *o = &out[n];
		uint64_t base, ste, xl;
		int pos = 0;

		if (sscanf(line, "%" SCNx64 " %x %u %d %u %" SCNx64 " %" SCNx64 " %31s %n",
			   &base, &o->sid, &o->state, &o->error, &o->events,
			   &ste, &xl, o->dev, &pos) < 8)
			continue;
		o->smmu_base = base;
		o->ste_digest = ste;
		o->xlat_digest = xl;
		snprintf(o->why, sizeof(o->why), "%s", line + pos);
		n++;
	}
	free(buf);
	r = fake_streams_live(fb, out, n);
	if (r) {
		free(out);
		return r;
	}
	if (!n) {
		free(out);
		out = NULL;
	}
	*info = out;
	*nr = n;
	return 0;
}

/*
 * SMMU_KHO_IOC_READ: bytes of the fake memory, only inside the preserved
 * ranges of fdt.out (OUT, while FROZEN) or fdt.in (IN, after a handover).
 */
static int f_read_phys(struct skhod_backend *be, uint32_t which, uint64_t pa,
		       uint64_t len, void *buf)
{
	struct fake_backend *fb = FB(be);
	struct skho_handover ho;
	struct fake_kernel k;
	struct fake_mem m;
	const void *src;
	bool inside = false;
	size_t bl;
	char *blob;
	uint32_t i;
	int r;

	if (!len || len > (1u << 20) || pa + len < pa || which > SMMU_KHO_FDT_IN)
		return -EINVAL;
	load_kernel(fb, &k);
	if (which == SMMU_KHO_FDT_OUT ? k.out_state != SMMU_KHO_FROZEN :
	    (k.in_state == SMMU_KHO_IDLE || k.in_state == SMMU_KHO_IN_REFUSED))
		return -ENOENT;
	blob = slurp(fb->dirfd, which == SMMU_KHO_FDT_OUT ? "fdt.out" : "fdt.in", &bl);
	if (!blob)
		return -ENOENT;
	if (skho_handover_parse(blob, bl, &ho, NULL)) {
		free(blob);
		return -ENOENT;
	}
	for (i = 0; i < ho.nr_smmus && !inside; i++)
		inside = skho_ranges_contain(&ho.smmu[i].ranges, pa, len);
	skho_handover_release(&ho);
	free(blob);
	if (!inside) {
		snprintf(be->err, sizeof(be->err), "fake READ: [0x%" PRIx64 ", +0x%" PRIx64
			 ") is not preserved", pa, len);
		return -ENOENT;
	}
	r = fake_mem_build(fb, true, &m);
	if (r)
		return r;
	src = skho_map(&m.mem, pa, len);
	if (src)
		memcpy(buf, src, len);
	fake_mem_free(&m);
	return src ? 0 : -ENOENT;
}

/* SMMU_KHO_IOC_QUARANTINE: the device's ADOPTED streams become QUARANTINED. */
static int f_quarantine(struct skhod_backend *be, const char *dev)
{
	struct fake_backend *fb = FB(be);
	char *buf, *line, *save, *nb = NULL;
	struct fake_kernel k;
	size_t nl = 0;
	FILE *f;
	int hit = 0, r = check_fail(fb, "quarantine", -EIO);

	if (r)
		return r;
	load_kernel(fb, &k);
	if (k.in_state != SMMU_KHO_ADOPTED)
		return -ENOENT;
	buf = slurp(fb->dirfd, "in-streams", NULL);
	f = open_memstream(&nb, &nl);
	if (!buf || !f) {
		free(buf);
		if (f)
			fclose(f);
		free(nb);
		return buf ? -ENOMEM : -ENOENT;
	}
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		uint64_t base, ste, xl;
		unsigned int sid, st, ev;
		int err;
		char d[32];

		if (sscanf(line, "%" SCNx64 " %x %u %d %u %" SCNx64 " %" SCNx64 " %31s",
			   &base, &sid, &st, &err, &ev, &ste, &xl, d) == 8 &&
		    !strcmp(d, dev) && st == SMMU_KHO_STREAM_ADOPTED) {
			fprintf(f, "%" PRIx64 " %x %u 0 %u %" PRIx64 " %" PRIx64
				" %s quarantined on request (SMMU_KHO_IOC_QUARANTINE)\n",
				base, sid, SMMU_KHO_STREAM_QUARANTINED, ev, ste, xl, d);
			hit++;
			continue;
		}
		fprintf(f, "%s\n", line);
	}
	fclose(f);
	free(buf);
	r = hit ? put_atomic(fb->dirfd, "in-streams", nb, nl) : -ENOENT;
	free(nb);
	return r;
}

/* The not-hitless knob for @dev: the rest of its line, or NULL. */
static char *not_hitless_fault(struct fake_backend *fb, const char *dev)
{
	char *buf = slurp(fb->dirfd, "faults", NULL), *line, *save, *res = NULL;
	size_t dl = strlen(dev);

	for (line = buf ? strtok_r(buf, "\n", &save) : NULL; line && !res;
	     line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, "not-hitless ", 12) && !strncmp(line + 12, dev, dl) &&
		    line[12 + dl] == ' ')
			res = strdup(line + 13 + dl);
	free(buf);
	return res;
}

/*
 * As smmu_kho.ko's RELEASE (arm_smmu_kho_release()): -ENODEV for a device
 * that does not exist, -ENOENT when it has no ADOPTED stream (no handover,
 * refused, or released already, also once the kernel reports RELEASED),
 * -EXDEV when the hand-back is not hitless (the not-hitless knob) and
 * @flags lacks SMMU_KHO_RELEASE_REPLACE: nothing changes but
 * STATUS.release_error/why.
 */
static int f_release(struct skhod_backend *be, const char *dev, uint32_t flags)
{
	struct fake_backend *fb = FB(be);
	struct fake_dev devs[MAX_DEVS];
	char *buf, *line, *save, *nb = NULL, *why;
	struct fake_kernel k;
	uint32_t ndev;
	size_t nl = 0;
	FILE *f;
	int hit = 0, left = 0, r;

	load_pci(fb, devs, &ndev);
	if (!find_dev(devs, ndev, dev))
		return -ENODEV;
	load_kernel(fb, &k);
	if (k.in_state == SMMU_KHO_IDLE)
		return -ENOENT;		/* nothing was handed over */
	if (!(flags & SMMU_KHO_RELEASE_REPLACE) && (why = not_hitless_fault(fb, dev))) {
		k.release_error = -EXDEV;
		snprintf(k.release_why, sizeof(k.release_why), "%s", why);
		snprintf(be->err, sizeof(be->err), "RELEASE not hitless: %s", k.release_why);
		free(why);
		r = save_kernel(fb, &k);
		return r ? r : -EXDEV;
	}
	buf = slurp(fb->dirfd, "in-streams", NULL);
	if (!buf)
		return -ENOENT;
	f = open_memstream(&nb, &nl);
	if (!f) {
		free(buf);
		return -ENOMEM;
	}
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char d[32];
		unsigned int st;
		int pre = 0;

		if (sscanf(line, "%*x %*x %n%u %*d %*u %*x %*x %31s", &pre, &st, d) == 2 &&
		    !strcmp(d, dev) && (st == SMMU_KHO_STREAM_ADOPTED ||
					st == SMMU_KHO_STREAM_QUARANTINED)) {
			fprintf(f, "%.*s%u%s\n", pre, line, SMMU_KHO_STREAM_RELEASED,
				strchr(line + pre, ' '));
			hit++;
			continue;
		}
		left += sscanf(line, "%*x %*x %u", &st) == 1 && st == SMMU_KHO_STREAM_ADOPTED;
		fprintf(f, "%s\n", line);
	}
	fclose(f);
	free(buf);
	if (!hit) {
		free(nb);
		return -ENOENT;		/* as arm_smmu_kho_release(): nothing adopted */
	}
	r = put_atomic(fb->dirfd, "in-streams", nb, nl);
	free(nb);
	if (r)
		return r;
	k.release_error = 0;
	k.release_why[0] = 0;
	k.release_ns = (uint64_t)FAKE_RELEASE_NS * (uint32_t)hit;
	if (!(flags & SMMU_KHO_RELEASE_REPLACE))
		k.nr_hitless += (uint32_t)hit;
	if (!left)
		k.in_state = SMMU_KHO_RELEASED;
	return save_kernel(fb, &k);
}

static int f_kexec_load(struct skhod_backend *be, const char *kernel,
			const char *initrd, const char *cmdline)
{
	struct fake_backend *fb = FB(be);
	struct fake_kernel k;
	int r = check_fail(fb, "kexec", -ENOEXEC);

	if (r)
		return r;
	if (access(kernel, R_OK) || (initrd && *initrd && access(initrd, R_OK))) {
		r = -errno;
		snprintf(be->err, sizeof(be->err), "fake kexec_file_load: %s",
			 strerror(-r));
		return r;
	}
	load_kernel(fb, &k);
	k.kexec_loaded = true;
	snprintf(k.kexec_kernel, sizeof(k.kexec_kernel), "%s", kernel);
	snprintf(k.kexec_initrd, sizeof(k.kexec_initrd), "%s", initrd ? initrd : "");
	snprintf(k.kexec_cmdline, sizeof(k.kexec_cmdline), "%s", cmdline);
	return save_kernel(fb, &k);
}

static int f_kexec_unload(struct skhod_backend *be)
{
	struct fake_backend *fb = FB(be);
	struct fake_kernel k;

	load_kernel(fb, &k);
	k.kexec_loaded = false;
	k.kexec_kernel[0] = k.kexec_initrd[0] = k.kexec_cmdline[0] = 0;
	return save_kernel(fb, &k);
}

static int f_kexec_loaded(struct skhod_backend *be, bool *loaded)
{
	struct fake_kernel k;

	load_kernel(FB(be), &k);
	*loaded = k.kexec_loaded;
	return 0;
}

static int copy_fd_to(int fd, int dirfd, const char *name)
{
	struct stat st;
	char *buf;
	int r;

	if (fstat(fd, &st))
		return -errno;
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf)
		return -ENOMEM;
	if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
		free(buf);
		return -EIO;
	}
	r = put_atomic(dirfd, name, buf, (size_t)st.st_size);
	free(buf);
	return r;
}

static void rm_tree(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *e;

	if (fd < 0) {
		unlinkat(dfd, name, 0);
		return;
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			rm_tree(dirfd(d), e->d_name);
	closedir(d);
	unlinkat(dfd, name, AT_REMOVEDIR);
}

/* Is @l->sfd still the fd we handed out (the daemon did not close it)? */
static bool luo_held(const struct fake_luo *l)
{
	struct stat st;

	return l->sfd >= 0 && !fstat(l->sfd, &st) && st.st_ino == l->ino;
}

/*
 * The in-refused knob: the next kernel refuses the handover as a whole
 * (IN_REFUSED; `in-refused` holds "<-SKHO_E_FDT> <why>").  Returns true when
 * the handover goes ahead.
 */
static bool fake_refuse_handover(struct fake_backend *fb, struct fake_kernel *k)
{
	char *buf = slurp(fb->dirfd, "faults", NULL), *line, *save, out[200];
	bool refused = false;

	for (line = buf ? strtok_r(buf, "\n", &save) : NULL; line && !refused;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "in-refused", 10) || (line[10] && line[10] != ' '))
			continue;
		snprintf(out, sizeof(out), "%d %s\n", -SKHO_E_FDT,
			 line[10] ? line + 11 : "fake: handover refused");
		put_atomic(fb->dirfd, "in-refused", out, strlen(out));
		k->in_state = SMMU_KHO_IN_REFUSED;
		refused = true;
	}
	free(buf);
	return !refused;
}

/* Kexec: hand the snapshot over, carry LUO sessions, exit the daemon. */
static int f_jump(struct skhod_backend *be)
{
	struct fake_backend *fb = FB(be);
	struct fake_kernel k;
	struct fake_stream *s = NULL;
	uint32_t n = 0, i;
	char *log = NULL;
	size_t logl = 0;
	FILE *f;
	int r = check_fail(fb, "jump", -EIO);

	if (r)
		return r;
	load_kernel(fb, &k);
	if (!k.kexec_loaded) {
		snprintf(be->err, sizeof(be->err), "fake reboot(KEXEC): no kernel loaded");
		return -EINVAL;
	}
	/* The next kernel's LUO state: only sessions still held get through. */
	rm_tree(fb->dirfd, "luo");
	if (!has_fault(fb, "no-luo")) {
		mkdirat(fb->dirfd, "luo", 0700);
		for (i = 0; i < MAX_LUO; i++) {
			struct fake_luo *l = &fb->luo[i];
			char path[160];

			if (!l->name[0] || l->retrieved || !luo_held(l) || l->fd < 0)
				continue;
			snprintf(path, sizeof(path), "luo/%s", l->name);
			mkdirat(fb->dirfd, path, 0700);
			snprintf(path, sizeof(path), "luo/%s/%" PRIu64, l->name, l->token);
			copy_fd_to(l->fd, fb->dirfd, path);
		}
	}
	/* The next kernel's incoming SMMU state. */
	unlinkat(fb->dirfd, "fdt.in", 0);
	unlinkat(fb->dirfd, "in-streams", 0);
	unlinkat(fb->dirfd, "in-refused", 0);
	k.in_state = SMMU_KHO_IDLE;
	k.release_error = 0;
	k.nr_hitless = 0;
	k.release_ns = 0;
	k.release_why[0] = 0;
	if (k.out_state == SMMU_KHO_FROZEN && !has_fault(fb, "no-handover") &&
	    fake_refuse_handover(fb, &k)) {
		char *fdt;
		size_t fl;

		r = selected_streams(fb, &k, &s, &n);
		if (r)
			return r;
		fdt = slurp(fb->dirfd, "fdt.out", &fl);
		if (fdt)
			put_atomic(fb->dirfd, "fdt.in", fdt, fl);
		free(fdt);
		f = open_memstream(&log, &logl);
		for (i = 0; f && i < n; i++) {
			char *why = sid_fault(fb, "refuse", s[i].sid), *ev;

			if (!why && has_fault(fb, "all-refused"))
				why = strdup("fake: every stream refused (all-refused)");
			unsigned int state = SMMU_KHO_STREAM_ADOPTED, events = 0;
			uint64_t ste = s[i].ste_digest, xl = s[i].xlat_digest;
			char *tmp;

			if ((tmp = sid_fault(fb, "lose", s[i].sid))) {
				free(tmp);
				free(why);
				continue;
			}
			if ((tmp = sid_fault(fb, "ste", s[i].sid))) {
				ste ^= 1;
				free(tmp);
			}
			if ((tmp = sid_fault(fb, "xlat", s[i].sid))) {
				xl ^= 1;
				free(tmp);
			}
			if ((ev = sid_fault(fb, "events", s[i].sid))) {
				events = (unsigned int)strtoul(ev, NULL, 0);
				free(ev);
			}
			if (why)
				state = SMMU_KHO_STREAM_REFUSED;
			fprintf(f, "%" PRIx64 " %x %u %d %u %" PRIx64 " %" PRIx64 " %s %s\n",
				s[i].smmu, s[i].sid, state, why ? -SKHO_E_DIGEST : 0, events,
				ste, xl, s[i].dev, why ? why : "");
			free(why);
		}
		if (f)
			fclose(f);
		if (log)
			put_atomic(fb->dirfd, "in-streams", log, logl);
		free(log);
		free(s);
		/* streams handed over but none adopted: ALL_REFUSED */
		k.in_state = n && !count_in_streams(fb, SMMU_KHO_STREAM_ADOPTED) ?
			     SMMU_KHO_ALL_REFUSED : SMMU_KHO_ADOPTED;
		k.adopt_ns = 2000000;
	}
	/* Record what was booted. */
	f = open_memstream(&log, &logl);
	if (f) {
		char *old = slurp(fb->dirfd, "jumps", NULL);

		fprintf(f, "%s%s\t%s\t%s\n", old ? old : "", k.kexec_kernel,
			k.kexec_initrd, k.kexec_cmdline);
		fclose(f);
		free(old);
		put_atomic(fb->dirfd, "jumps", log, logl);
		free(log);
	}
	k.boot++;
	k.out_state = SMMU_KHO_IDLE;
	k.nr_selected = 0;
	k.kexec_loaded = false;
	k.kexec_kernel[0] = k.kexec_initrd[0] = k.kexec_cmdline[0] = 0;
	unlinkat(fb->dirfd, "fdt.out", 0);
	save_kernel(fb, &k);
	/* The old kernel is gone, and the daemon with it. */
	fflush(NULL);
	_exit(0);
}

static int f_boot_id(struct skhod_backend *be, char *buf, size_t len)
{
	struct fake_kernel k;

	load_kernel(FB(be), &k);
	snprintf(buf, len, "00000000-0000-4000-8000-%012x", k.boot);
	return 0;
}

static int f_proc_cmdline(struct skhod_backend *be, char *buf, size_t len)
{
	char *c = slurp(FB(be)->dirfd, "cmdline", NULL);

	snprintf(buf, len, "%s", c ? c : "console=ttyAMA0 kho=on liveupdate=on");
	buf[strcspn(buf, "\n")] = 0;
	free(c);
	return 0;
}

static uint64_t f_now_ns(struct skhod_backend *be)
{
	struct fake_backend *fb = FB(be);
	char *c = slurp(fb->dirfd, "clock", NULL), nb[32];
	struct timespec ts;
	uint64_t v;

	if (!c) {
		clock_gettime(CLOCK_REALTIME, &ts);
		return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	}
	v = strtoull(c, NULL, 0);
	free(c);
	snprintf(nb, sizeof(nb), "%" PRIu64 "\n", (uint64_t)(v + 1000000000ull));
	put_atomic(fb->dirfd, "clock", nb, strlen(nb));
	return v;
}

static void f_crashpoint(void *arg, const char *point)
{
	struct fake_backend *fb = arg;
	char *c = slurp(fb->dirfd, "crash_at", NULL), name[96] = "";
	unsigned int nth = 1;

	if (!c)
		return;
	sscanf(c, "%95s %u", name, &nth);
	free(c);
	if (strcmp(name, point) || ++fb->crash_hits < nth)
		return;
	unlinkat(fb->dirfd, "crash_at", 0);
	fprintf(stderr, "smmu-khod: fake backend: crash point %s: SIGKILL\n", point);
	kill(getpid(), SIGKILL);
}

static struct fake_luo *luo_slot(struct fake_backend *fb)
{
	int i;

	for (i = 0; i < MAX_LUO; i++)
		if (!fb->luo[i].name[0] || !luo_held(&fb->luo[i])) {
			if (fb->luo[i].fd >= 0)
				close(fb->luo[i].fd);
			memset(&fb->luo[i], 0, sizeof(fb->luo[i]));
			fb->luo[i].fd = -1;
			fb->luo[i].sfd = -1;
			return &fb->luo[i];
		}
	return NULL;
}

static int new_session_fd(struct fake_luo *l, const char *name)
{
	struct stat st;
	char nm[80];
	int fd;

	snprintf(nm, sizeof(nm), "fake-luo-session:%s", name);
	fd = memfd_create(nm, MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	fstat(fd, &st);
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->sfd = fd;
	l->ino = st.st_ino;
	return fd;
}

static int f_luo_create(struct skhod_backend *be, const char *name, int *sfd)
{
	struct fake_backend *fb = FB(be);
	struct fake_luo *l;
	int i, r = check_fail(fb, "luo", -ENODEV);

	if (r)
		return r;
	for (i = 0; i < MAX_LUO; i++)
		if (!strcmp(fb->luo[i].name, name) && !fb->luo[i].retrieved &&
		    luo_held(&fb->luo[i]))
			return -EEXIST;
	l = luo_slot(fb);
	if (!l)
		return -ENOSPC;
	r = new_session_fd(l, name);
	if (r < 0)
		return r;
	*sfd = r;
	return 0;
}

static int f_luo_retrieve(struct skhod_backend *be, const char *name, int *sfd)
{
	struct fake_backend *fb = FB(be);
	struct fake_luo *l;
	char path[96];
	struct stat st;
	int r = check_fail(fb, "luo", -ENODEV);

	if (r)
		return r;
	snprintf(path, sizeof(path), "luo/%s", name);
	if (fstatat(fb->dirfd, path, &st, 0))
		return -ENOENT;
	l = luo_slot(fb);
	if (!l)
		return -ENOSPC;
	r = new_session_fd(l, name);
	if (r < 0)
		return r;
	l->retrieved = true;
	*sfd = r;
	return 0;
}

static struct fake_luo *luo_by_fd(struct fake_backend *fb, int sfd)
{
	int i;

	for (i = 0; i < MAX_LUO; i++)
		if (fb->luo[i].name[0] && fb->luo[i].sfd == sfd && luo_held(&fb->luo[i]))
			return &fb->luo[i];
	return NULL;
}

static int f_luo_preserve_fd(struct skhod_backend *be, int sfd, int fd,
			     uint64_t token)
{
	struct fake_luo *l = luo_by_fd(FB(be), sfd);

	if (!l || l->retrieved)
		return -EINVAL;
	if (l->fd >= 0)
		return -EBUSY;	/* the fake holds one fd per session */
	l->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	l->token = token;
	return l->fd < 0 ? -errno : 0;
}

static int f_luo_retrieve_fd(struct skhod_backend *be, int sfd, uint64_t token,
			     int *fd)
{
	struct fake_backend *fb = FB(be);
	struct fake_luo *l = luo_by_fd(fb, sfd);
	char path[160], *buf;
	size_t len;
	int m;

	if (!l || !l->retrieved)
		return -EINVAL;
	snprintf(path, sizeof(path), "luo/%s/%" PRIu64, l->name, token);
	buf = slurp(fb->dirfd, path, &len);
	if (!buf)
		return -ENOENT;
	m = memfd_create("smmu-khod-journal", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (m < 0 || ftruncate(m, (off_t)len) ||
	    pwrite(m, buf, len, 0) != (ssize_t)len) {
		int r = -errno;

		free(buf);
		if (m >= 0)
			close(m);
		return r;
	}
	free(buf);
	*fd = m;
	return 0;
}

static int f_luo_finish(struct skhod_backend *be, int sfd)
{
	struct fake_backend *fb = FB(be);
	struct fake_luo *l = luo_by_fd(fb, sfd);
	char path[96];

	if (!l || !l->retrieved)
		return -EINVAL;
	snprintf(path, sizeof(path), "luo/%s", l->name);
	rm_tree(fb->dirfd, path);
	return 0;
}

static void f_destroy(struct skhod_backend *be)
{
	struct fake_backend *fb = FB(be);
	int i;

	for (i = 0; i < MAX_LUO; i++)
		if (fb->luo[i].fd >= 0)
			close(fb->luo[i].fd);
	close(fb->dirfd);
	skhod_test_crash_hook_drop(fb);
	free(fb);
}

static const struct skhod_backend_ops fake_ops = {
	.status = f_status,
	.preserve = f_preserve,
	.unpreserve = f_unpreserve,
	.release = f_release,
	.freeze = f_freeze,
	.abort = f_abort,
	.get_fdt = f_get_fdt,
	.streams = f_streams,
	.read_phys = f_read_phys,
	.quarantine = f_quarantine,
	.probe = f_probe,
	.pci_devices = f_pci_devices,
	.kexec_load = f_kexec_load,
	.kexec_unload = f_kexec_unload,
	.kexec_loaded = f_kexec_loaded,
	.jump = f_jump,
	.boot_id = f_boot_id,
	.proc_cmdline = f_proc_cmdline,
	.now_ns = f_now_ns,
	.luo_create = f_luo_create,
	.luo_retrieve = f_luo_retrieve,
	.luo_preserve_fd = f_luo_preserve_fd,
	.luo_retrieve_fd = f_luo_retrieve_fd,
	.luo_finish = f_luo_finish,
	.destroy = f_destroy,
};

int skhod_backend_fake_open(const char *dir, struct skhod_backend **out)
{
	struct fake_backend *fb = calloc(1, sizeof(*fb));
	int i;

	if (!fb)
		return -ENOMEM;
	fb->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fb->dirfd < 0) {
		int r = -errno;

		free(fb);
		return r;
	}
	for (i = 0; i < MAX_LUO; i++)
		fb->luo[i].fd = fb->luo[i].sfd = -1;
	fb->be.ops = &fake_ops;
	fb->be.name = "fake";
	skhod_test_crash_hook_set(f_crashpoint, fb);
	*out = &fb->be;
	return 0;
}
