// SPDX-License-Identifier: GPL-2.0-only
/* smmu-khod's own digests: STE and translation recomputed from raw bytes with the core library. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recompute.h"
#include "skho_handover.h"

#define PG		4096ull
#define READ_MAX	(1ull << 20)	/* SMMU_KHO_IOC_READ's limit */

/* One page (or a larger page-aligned run) fetched through READ; data NULL: unreadable. */
struct chunk {
	uint64_t pa, len;
	uint8_t *data;
};

/*
 * User-space cache of preserved memory: single pages in an open-addressing
 * hash by page address, multi-page runs (rare) in a list.
 */
struct pcache {
	struct skho_mem mem;
	struct skhod_backend *be;
	uint32_t which;
	struct chunk *pages;	/* hash, len == 0: empty slot */
	size_t cap, used;
	struct chunk *runs;
	size_t nr_runs;
	bool oom;
};

static size_t slot_of(const struct pcache *c, uint64_t pa)
{
	return (size_t)((pa >> 12) * 0x9e3779b97f4a7c15ull >> 20) & (c->cap - 1);
}

static int grow(struct pcache *c)
{
	struct chunk *old = c->pages;
	size_t oc = c->cap, i;

	c->cap = oc ? oc * 2 : 256;
	c->pages = calloc(c->cap, sizeof(*c->pages));
	if (!c->pages) {
		c->pages = old;
		c->cap = oc;
		return -ENOMEM;
	}
	for (i = 0; i < oc; i++) {
		size_t s;

		if (!old[i].len)
			continue;
		for (s = slot_of(c, old[i].pa); c->pages[s].len; s = (s + 1) & (c->cap - 1))
			;
		c->pages[s] = old[i];
	}
	free(old);
	return 0;
}

/* Fetch [pa, pa + len) (page-aligned) through READ; NULL data when refused. */
static struct chunk fetch(struct pcache *c, uint64_t pa, uint64_t len)
{
	struct chunk k = { .pa = pa, .len = len, .data = malloc(len) };

	if (!k.data) {
		c->oom = true;
		return k;
	}
	if (c->be->ops->read_phys(c->be, c->which, pa, len, k.data)) {
		c->be->err[0] = 0;
		free(k.data);
		k.data = NULL;
	}
	return k;
}

static const void *pc_map(void *priv, uint64_t pa, uint64_t len)
{
	struct pcache *c = priv;
	uint64_t first = pa & ~(PG - 1), end, i;
	struct chunk k;
	size_t s;

	if (pa + len < pa || pa + len > UINT64_MAX - PG)
		return NULL;
	end = (pa + len + PG - 1) & ~(PG - 1);
	if (end - first == PG) {
		if ((c->used + 1) * 2 > c->cap && grow(c)) {
			c->oom = true;
			return NULL;
		}
		for (s = slot_of(c, first); c->pages[s].len; s = (s + 1) & (c->cap - 1))
			if (c->pages[s].pa == first)
				return c->pages[s].data ? c->pages[s].data + (pa - first) : NULL;
		k = fetch(c, first, PG);
		if (c->oom)
			return NULL;
		c->pages[s] = k;
		c->used++;
		return k.data ? k.data + (pa - first) : NULL;
	}
	for (i = 0; i < c->nr_runs; i++)
		if (c->runs[i].pa <= first && end - c->runs[i].pa <= c->runs[i].len)
			return c->runs[i].data ? c->runs[i].data + (pa - c->runs[i].pa) : NULL;
	if (end - first > READ_MAX)
		return NULL;
	{
		struct chunk *nr = realloc(c->runs, (c->nr_runs + 1) * sizeof(*nr));

		if (!nr) {
			c->oom = true;
			return NULL;
		}
		c->runs = nr;
	}
	k = fetch(c, first, end - first);
	if (c->oom)
		return NULL;
	c->runs[c->nr_runs++] = k;
	return k.data ? k.data + (pa - first) : NULL;
}

static void pc_free(struct pcache *c)
{
	size_t i;

	for (i = 0; i < c->cap; i++)
		free(c->pages[i].data);
	for (i = 0; i < c->nr_runs; i++)
		free(c->runs[i].data);
	free(c->pages);
	free(c->runs);
}

/* Digest of one table, as the serializer computes it (no memo: correctness first). */
static int pt_digest(void *arg, const struct skho_pt_cfg *pt, u64 *digest,
		     struct skho_err *err)
{
	const struct skho_mem *mem = arg;

	return skho_pt_digest(pt, mem, NULL, NULL, digest, err);
}

int skhod_recompute(struct skhod_backend *be, uint32_t which, const void *fdt,
		    size_t fdt_len, const struct smmu_kho_stream_info *live, uint32_t nr,
		    uint32_t state, struct skhod_raw *raw)
{
	struct pcache c = { .be = be, .which = which };
	struct skho_handover ho;
	struct skho_err pe = { 0 };
	bool parsed = false;
	uint32_t i, k;
	int pr = -SKHO_E_INVAL;

	memset(raw, 0, (size_t)nr * sizeof(*raw));
	c.mem.map = pc_map;
	c.mem.priv = &c;
	if (fdt) {
		pr = skho_handover_parse(fdt, fdt_len, &ho, &pe);
		parsed = !pr;
	}
	for (i = 0; i < nr; i++) {
		const struct smmu_kho_stream_info *l = &live[i];
		struct skhod_raw *o = &raw[i];
		struct skho_stream_visitor v = { .pt_digest = pt_digest, .arg = &c.mem };
		struct skho_smmu sm = {
			.strtab_base = l->strtab_base, .strtab_cfg = l->strtab_cfg,
			.mem = &c.mem,
		};
		struct skho_err e = { 0 };
		u64 xd = 0;
		int r;

		if (l->state != state)
			continue;
		if (!l->ste_live) {
			snprintf(o->why, sizeof(o->why),
				 "STE unreadable: the module could not read it through the live STRTAB_BASE");
			continue;
		}
		o->ste_ok = true;
		o->ste_digest = skho_digest_buf(l->ste, 64, 0);
		if (!parsed) {
			snprintf(o->why, sizeof(o->why), "no snapshot to take the OAS from (%s)",
				 fdt ? skho_strerror(pr) : "not readable");
			continue;
		}
		for (k = 0; k < ho.nr_smmus && ho.smmu[k].mmio_base != l->smmu_base; k++)
			;
		if (k == ho.nr_smmus) {
			snprintf(o->why, sizeof(o->why), "SMMU 0x%" PRIx64 " is not in the snapshot",
				 (uint64_t)l->smmu_base);
			continue;
		}
		sm.oas = ho.smmu[k].oas;
		r = skho_stream_visit(&sm, l->sid, l->ste, &v, &xd, &e);
		if (c.oom)
			break;
		if (r) {
			snprintf(o->why, sizeof(o->why), "%s: %.120s", skho_strerror(r),
				 e.msg[0] ? e.msg : "walk failed");
			continue;
		}
		o->xlat_ok = true;
		o->xlat_digest = xd;
	}
	if (parsed)
		skho_handover_release(&ho);
	pc_free(&c);
	return c.oom ? -ENOMEM : 0;
}
