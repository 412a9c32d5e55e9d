// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* smmu-kho core: snapshot live SMMU state and write the KHO FDT (smmu_kho_abi.h). */
#include "skho_handover.h"

/* The record layouts docs/abi.md gives offsets for. */
static_assert(sizeof(struct skho_abi_stream) == 84, "skho_abi_stream is 84 bytes");
static_assert(sizeof(struct skho_abi_pgtable) == 24, "skho_abi_pgtable is 24 bytes");

/* A distinct table, while collecting: geometry as walked, digest. */
struct snap_pt {
	struct skho_pt_cfg cfg;
	u64 digest;
};

struct snap_smmu {
	u64 mmio_base;
	u64 strtab_base;
	u32 strtab_cfg;
	u32 features;
	u8 oas;
	struct skho_abi_stream *streams;	/* encoded, sorted by SID */
	u32 nr_streams;
	struct snap_pt *pts;			/* sorted by root once taken */
	u32 nr_pts, cap_pts;
	u32 *asids, nr_asids, cap_asids;
	u32 *vmids, nr_vmids, cap_vmids;
	struct skho_ranges ranges;		/* pages, normalized once taken */
	u32 ranges_bytes;			/* their preserved-ranges encoding */
	struct skho_ranges outputs;		/* pages the tables map, likewise */
	u32 outputs_bytes;			/* their output-ranges encoding */
};

struct skho_snapshot {
	u32 nr_smmus;
	struct snap_smmu smmu[SKHO_MAX_SMMUS];
};

/* Collection context for one SMMU: memo of tables by root (open hashing). */
struct snap_ctx {
	struct snap_smmu *s;
	const struct skho_smmu_state *st;
	const struct skho_mem *mem;
	struct skho_err *err;
	u32 sid;
	u32 *hash;		/* index + 1 into s->pts, 0 = empty */
	u32 hash_mask;
};

static int u32_cmp(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

static int pt_cmp(const void *a, const void *b)
{
	const struct snap_pt *x = a, *y = b;

	return x->cfg.root < y->cfg.root ? -1 : x->cfg.root > y->cfg.root;
}

static int grow(void **p, u32 *cap, u32 nr, size_t elem)
{
	void *q;
	u32 c;

	if (nr < *cap)
		return 0;
	if (*cap >= 0x40000000u)
		return -SKHO_E_LIMIT;
	c = *cap ? *cap * 2 : 64;
	q = skho_realloc(*p, (size_t)c * elem);
	if (!q)
		return -SKHO_E_NOMEM;
	*p = q;
	*cap = c;
	return 0;
}

static u32 hash_root(u64 root)
{
	root ^= root >> 29;
	root *= 0xbf58476d1ce4e5b9ULL;
	return (u32)(root >> 32);
}

static int hash_grow(struct snap_ctx *c)
{
	u32 n = (c->hash_mask + 1) * 2, i;
	u32 *h;

	h = skho_calloc(n, sizeof(*h));
	if (!h)
		return -SKHO_E_NOMEM;
	for (i = 0; i < c->s->nr_pts; i++) {
		u32 k = hash_root(c->s->pts[i].cfg.root) & (n - 1);

		while (h[k])
			k = (k + 1) & (n - 1);
		h[k] = i + 1;
	}
	skho_free(c->hash);
	c->hash = h;
	c->hash_mask = n - 1;
	return 0;
}

static int add_range(struct snap_ctx *c, u64 pa, u64 size)
{
	int ret = skho_ranges_add(&c->s->ranges, pa, size);

	if (ret)
		return skho_fail(c->err, -ret, c->sid, pa,
				 "SID %#x: cannot record range %#llx+%#llx",
				 c->sid, (unsigned long long)pa, (unsigned long long)size);
	return 0;
}

static int snap_pt_table(void *arg, u64 pa, u64 size, unsigned int level)
{
	(void)level;
	return add_range(arg, pa, size);
}

/* Every leaf a device can use must be reachable memory the policy allows. */
static int snap_pt_run(void *arg, u64 iova, u64 pa, u64 size, u32 prot)
{
	struct snap_ctx *c = arg;
	int ret;

	if (!prot)	/* mapped without access: the device cannot reach it */
		return 0;
	if (c->st->output_ok && !c->st->output_ok(c->st->output_arg, pa, size))
		return skho_fail(c->err, SKHO_E_OUTPUT, c->sid, pa,
				 "SID %#x: IOVA %#llx maps %#llx+%#llx, memory that is not preserved",
				 c->sid, (unsigned long long)iova, (unsigned long long)pa,
				 (unsigned long long)size);
	ret = skho_ranges_add(&c->s->outputs, pa, size);
	if (ret)
		return skho_fail(c->err, -ret, c->sid, pa,
				 "SID %#x: cannot record output %#llx+%#llx", c->sid,
				 (unsigned long long)pa, (unsigned long long)size);
	return 0;
}

static bool same_geometry(const struct skho_pt_cfg *a, const struct skho_pt_cfg *b)
{
	return a->stage == b->stage && a->granule_lg2 == b->granule_lg2 &&
	       a->start_level == b->start_level && a->ias == b->ias &&
	       a->oas == b->oas && a->nr_concat == b->nr_concat && a->ha == b->ha;
}

/* Digest of a table, walked once per distinct root; its pages become ranges. */
static int snap_pt_digest(void *arg, const struct skho_pt_cfg *pt, u64 *digest,
			  struct skho_err *err)
{
	struct snap_ctx *c = arg;
	struct snap_smmu *s = c->s;
	struct snap_pt *e;
	u32 k = hash_root(pt->root) & c->hash_mask;
	int ret;

	for (; c->hash[k]; k = (k + 1) & c->hash_mask) {
		e = &s->pts[c->hash[k] - 1];
		if (e->cfg.root != pt->root)
			continue;
		if (!same_geometry(&e->cfg, pt))
			return skho_fail(err, SKHO_E_UNSUPPORTED, c->sid, pt->root,
					 "SID %#x: table at %#llx used with two geometries (stage %u/%u, granule %u/%u, level %u/%u, ias %u/%u, oas %u/%u, concat %u/%u, ha %u/%u)",
					 c->sid, (unsigned long long)pt->root,
					 e->cfg.stage, pt->stage, e->cfg.granule_lg2,
					 pt->granule_lg2, e->cfg.start_level, pt->start_level,
					 e->cfg.ias, pt->ias, e->cfg.oas, pt->oas,
					 e->cfg.nr_concat, pt->nr_concat, e->cfg.ha, pt->ha);
		*digest = e->digest;
		return 0;
	}
	if (s->nr_pts >= SKHO_MAX_PGTABLES)
		return skho_fail(err, SKHO_E_LIMIT, c->sid, pt->root,
				 "more than %u page tables", SKHO_MAX_PGTABLES);
	ret = grow((void **)&s->pts, &s->cap_pts, s->nr_pts, sizeof(*s->pts));
	if (ret)
		return skho_fail(err, -ret, c->sid, pt->root, "page-table list");
	{
		struct skho_pt_visitor obs = {
			.table = snap_pt_table, .run = snap_pt_run, .arg = c,
		};

		ret = skho_pt_digest_obs(pt, c->mem, &obs, digest, err);
	}
	if (ret) {
		if (ret != -SKHO_E_OUTPUT)	/* that report already names SID and IOVA */
			skho_err_blame(err, -ret, c->sid, pt->root);
		return ret;
	}
	e = &s->pts[s->nr_pts++];
	e->cfg = *pt;
	e->digest = *digest;
	c->hash[k] = s->nr_pts;
	if (s->nr_pts * 2 > c->hash_mask)
		return hash_grow(c) ? skho_fail(err, SKHO_E_NOMEM, c->sid, 0, "table memo") : 0;
	return 0;
}

static int snap_table(void *arg, u64 pa, u64 size)
{
	return add_range(arg, pa, size);
}

static int push_id(struct snap_ctx *c, u32 **arr, u32 *nr, u32 *cap, u32 id)
{
	int ret;

	if (*nr && (*arr)[*nr - 1] == id)
		return 0;	/* consecutive streams often share it */
	ret = grow((void **)arr, cap, *nr, sizeof(u32));
	if (ret)
		return skho_fail(c->err, -ret, c->sid, 0, "ASID/VMID list");
	(*arr)[(*nr)++] = id;
	return 0;
}

static int snap_asid(void *arg, u16 asid)
{
	struct snap_ctx *c = arg;

	return push_id(c, &c->s->asids, &c->s->nr_asids, &c->s->cap_asids, asid);
}

static int snap_vmid(void *arg, u16 vmid)
{
	struct snap_ctx *c = arg;

	return push_id(c, &c->s->vmids, &c->s->nr_vmids, &c->s->cap_vmids, vmid);
}

static u32 sort_unique(u32 *a, u32 n)
{
	u32 i, out = 0;

	if (!n)
		return 0;
	skho_sort(a, n, sizeof(*a), u32_cmp);
	for (i = 1; i < n; i++)
		if (a[i] != a[out])
			a[++out] = a[i];
	return out + 1;
}

/* output-ranges: whole pages, none of them a table page, encodable. */
static int snap_outputs(struct snap_smmu *s, struct skho_err *err)
{
	const struct skho_ranges *o = &s->outputs;
	u32 i;
	int ret;

	if (skho_ranges_to_pages(&s->outputs) ||
	    (o->nr && o->r[o->nr - 1].pa + o->r[o->nr - 1].size > 1ULL << SKHO_ABI_PA_BITS))
		return skho_fail(err, SKHO_E_UNSUPPORTED, SKHO_NO_SID, 0,
				 "smmu %#llx: a translation maps memory beyond 2^%u",
				 (unsigned long long)s->mmio_base, SKHO_ABI_PA_BITS);
	for (i = 0; i < o->nr; i++)
		if (skho_ranges_overlap(&s->ranges, o->r[i].pa, o->r[i].size))
			return skho_fail(err, SKHO_E_OUTPUT, SKHO_NO_SID, o->r[i].pa,
					 "smmu %#llx: a translation maps pages of its own tables (%#llx+%#llx)",
					 (unsigned long long)s->mmio_base,
					 (unsigned long long)o->r[i].pa,
					 (unsigned long long)o->r[i].size);
	ret = skho_ranges_encode(&s->outputs, NULL, 0);
	if (ret < 0)
		return skho_fail(err, -ret, SKHO_NO_SID, 0,
				 "smmu %#llx: %u output page runs (limit %u)",
				 (unsigned long long)s->mmio_base, o->nr, SKHO_MAX_RANGES);
	s->outputs_bytes = (u32)ret;
	return 0;
}

static int snap_one(struct snap_smmu *s, const struct skho_smmu_state *st,
		    const struct skho_mem *mem, struct skho_err *err)
{
	struct skho_smmu smmu = {
		.strtab_base = st->strtab_base, .strtab_cfg = st->strtab_cfg,
		.oas = st->oas, .mem = mem,
	};
	struct snap_ctx c = { .s = s, .st = st, .mem = mem, .err = err };
	struct skho_stream_visitor v = {
		.pt_digest = snap_pt_digest, .table = snap_table,
		.asid = snap_asid, .vmid = snap_vmid, .arg = &c,
	};
	struct skho_strtab_geo g;
	u32 *sids = NULL, i;
	int ret;

	s->mmio_base = st->mmio_base;
	s->strtab_base = st->strtab_base;
	s->strtab_cfg = st->strtab_cfg;
	s->features = st->features;
	s->oas = st->oas;
	if (st->features & ~SKHO_SMMU_F_ALL)
		return skho_fail(err, SKHO_E_INVAL, SKHO_NO_SID, st->mmio_base,
				 "smmu %#llx: unknown features %#x",
				 (unsigned long long)st->mmio_base, st->features);
	if (!skho_oas_valid(st->oas))
		return skho_fail(err, SKHO_E_INVAL, SKHO_NO_SID, st->mmio_base,
				 "smmu %#llx: OAS %u bits", (unsigned long long)st->mmio_base,
				 st->oas);
	ret = skho_strtab_geo(st->strtab_base, st->strtab_cfg, &g, NULL);
	if (ret)
		return skho_fail(err, SKHO_E_INVAL, SKHO_NO_SID, st->mmio_base,
				 "smmu %#llx: stream table base %#llx cfg %#x not accepted (docs/abi.md)",
				 (unsigned long long)st->mmio_base,
				 (unsigned long long)st->strtab_base, st->strtab_cfg);
	if (st->nr_sids > SKHO_MAX_STREAMS)
		return skho_fail(err, SKHO_E_LIMIT, SKHO_NO_SID, st->mmio_base,
				 "%u streams > %u", st->nr_sids, SKHO_MAX_STREAMS);
	if (!st->nr_sids)
		return 0;
	if (!st->sids)
		return skho_fail(err, SKHO_E_INVAL, SKHO_NO_SID, 0, "sids == NULL");
	sids = skho_malloc((size_t)st->nr_sids * sizeof(*sids));
	s->streams = skho_calloc(st->nr_sids, sizeof(*s->streams));
	c.hash_mask = 63;
	c.hash = skho_calloc(c.hash_mask + 1, sizeof(*c.hash));
	if (!sids || !s->streams || !c.hash) {
		ret = skho_fail(err, SKHO_E_NOMEM, SKHO_NO_SID, 0, "snapshot");
		goto out;
	}
	memcpy(sids, st->sids, (size_t)st->nr_sids * sizeof(*sids));
	skho_sort(sids, st->nr_sids, sizeof(*sids), u32_cmp);
	for (i = 0; i < st->nr_sids; i++) {
		struct skho_abi_stream *rec = &s->streams[i];
		u32 sid = sids[i];
		const u8 *ste;
		u64 ste_pa, xd;

		c.sid = sid;
		if (i && sid == sids[i - 1]) {
			ret = skho_fail(err, SKHO_E_SID, sid, 0, "SID %#x listed twice", sid);
			goto out;
		}
		ret = skho_stream_locate(&smmu, &g, sid, &v, &ste_pa, &ste, err);
		if (ret)
			goto out;
		memcpy(rec->ste, ste, 64);	/* digest the copy: one consistent view */
		ret = skho_stream_visit_ste(&smmu, sid, rec->ste, &v, &xd, err);
		if (ret)
			goto out;
		rec->sid = cpu_to_fdt32(sid);
		rec->ste_digest = cpu_to_fdt64(skho_digest_buf(rec->ste, 64, 0));
		rec->xlat_digest = cpu_to_fdt64(xd);
	}
	s->nr_streams = st->nr_sids;
	skho_sort(s->pts, s->nr_pts, sizeof(*s->pts), pt_cmp);
	s->nr_asids = sort_unique(s->asids, s->nr_asids);
	s->nr_vmids = sort_unique(s->vmids, s->nr_vmids);
	/* KHO preserves pages: so does the ABI (whole 4 KiB pages, runs) */
	if (skho_ranges_to_pages(&s->ranges) ||
	    (s->ranges.nr && s->ranges.r[s->ranges.nr - 1].pa +
	     s->ranges.r[s->ranges.nr - 1].size > 1ULL << SKHO_ABI_PA_BITS)) {
		ret = skho_fail(err, SKHO_E_UNSUPPORTED, SKHO_NO_SID, 0,
				"smmu %#llx: a table reaches beyond 2^%u",
				(unsigned long long)s->mmio_base, SKHO_ABI_PA_BITS);
		goto out;
	}
	ret = skho_ranges_encode(&s->ranges, NULL, 0);
	if (ret < 0) {
		ret = skho_fail(err, -ret, SKHO_NO_SID, 0, "smmu %#llx: %u page runs (limit %u)",
				(unsigned long long)s->mmio_base, s->ranges.nr,
				SKHO_MAX_RANGES);
		goto out;
	}
	s->ranges_bytes = (u32)ret;
	ret = snap_outputs(s, err);
out:
	skho_free(sids);
	skho_free(c.hash);
	return ret;
}

static void snap_smmu_free(struct snap_smmu *s)
{
	skho_free(s->streams);
	skho_free(s->pts);
	skho_free(s->asids);
	skho_free(s->vmids);
	skho_ranges_free(&s->ranges);
	skho_ranges_free(&s->outputs);
}

void skho_snapshot_free(struct skho_snapshot *s)
{
	u32 i;

	if (!s)
		return;
	for (i = 0; i < s->nr_smmus; i++)
		snap_smmu_free(&s->smmu[i]);
	skho_free(s);
}
EXPORT_SYMBOL_NS_GPL(skho_snapshot_free, "SMMU_KHO");

int skho_snapshot_take(struct skho_snapshot **out,
		       const struct skho_smmu_state *smmus, u32 nr_smmus,
		       const struct skho_mem *mem, struct skho_err *err)
{
	struct skho_snapshot *s;
	u32 i, j;
	int ret;

	if (!out || !mem || (nr_smmus && !smmus))
		return skho_fail(err, SKHO_E_INVAL, SKHO_NO_SID, 0, "NULL argument");
	*out = NULL;
	if (nr_smmus > SKHO_MAX_SMMUS)
		return skho_fail(err, SKHO_E_LIMIT, SKHO_NO_SID, 0, "%u SMMUs > %u",
				 nr_smmus, SKHO_MAX_SMMUS);
	for (i = 0; i < nr_smmus; i++)
		for (j = 0; j < i; j++)
			if (smmus[i].mmio_base == smmus[j].mmio_base)
				return skho_fail(err, SKHO_E_INVAL, SKHO_NO_SID,
						 smmus[i].mmio_base, "SMMU %#llx given twice",
						 (unsigned long long)smmus[i].mmio_base);
	s = skho_calloc(1, sizeof(*s));
	if (!s)
		return skho_fail(err, SKHO_E_NOMEM, SKHO_NO_SID, 0, "snapshot");
	for (i = 0; i < nr_smmus; i++) {
		s->nr_smmus = i + 1;
		ret = snap_one(&s->smmu[i], &smmus[i], mem, err);
		if (ret) {
			skho_snapshot_free(s);
			return ret;
		}
	}
	*out = s;
	return 0;
}
EXPORT_SYMBOL_NS_GPL(skho_snapshot_take, "SMMU_KHO");

const struct skho_ranges *skho_snapshot_ranges(const struct skho_snapshot *s,
					       u32 idx)
{
	return s && idx < s->nr_smmus ? &s->smmu[idx].ranges : NULL;
}
EXPORT_SYMBOL_NS_GPL(skho_snapshot_ranges, "SMMU_KHO");

const struct skho_ranges *skho_snapshot_outputs(const struct skho_snapshot *s,
						u32 idx)
{
	return s && idx < s->nr_smmus ? &s->smmu[idx].outputs : NULL;
}

/* ---- FDT ---------------------------------------------------------------- */

#define TAGALIGN(x)	(((x) + 3) & ~(size_t)3)
#define HDR_SIZE	((sizeof(struct fdt_header) + sizeof(struct fdt_reserve_entry) - 1) & \
			 ~(sizeof(struct fdt_reserve_entry) - 1))

/* Property names in the order put_smmu() writes them; root ones first. */
static const char *const prop_names[] = {
	SKHO_PROP_COMPATIBLE, SKHO_PROP_ABI_MINOR,
	SKHO_PROP_REG, SKHO_PROP_STRTAB_BASE, SKHO_PROP_STRTAB_CFG,
	SKHO_PROP_FEATURES, SKHO_PROP_OAS, SKHO_PROP_RANGES, SKHO_PROP_OUTPUTS,
	SKHO_PROP_STREAMS,
	SKHO_PROP_PGTABLES, SKHO_PROP_ASIDS, SKHO_PROP_VMIDS, NULL,
};

#define NR_ROOT_PROPS	2

static int node_name(char *buf, size_t len, u64 mmio)
{
	static const char hex[] = "0123456789abcdef";
	char tmp[16];
	int n = 0, i;
	size_t p = sizeof(SKHO_NODE_PREFIX) - 1;

	if (len < p + 17)
		return -1;
	memcpy(buf, SKHO_NODE_PREFIX, p);
	do {
		tmp[n++] = hex[mmio & 15];
		mmio >>= 4;
	} while (mmio);
	for (i = n - 1; i >= 0; i--)
		buf[p++] = tmp[i];
	buf[p] = '\0';
	return (int)p;
}

/*
 * Bytes of the string block: libfdt's sequential-write API stores each name
 * once, reusing any earlier string that ends with it (fdt_find_string_).
 */
static size_t strings_size(u32 nr_smmus)
{
	char tab[256];
	size_t len = 0, i;

	for (i = 0; prop_names[i] && (nr_smmus || i < NR_ROOT_PROPS); i++) {
		const char *name = prop_names[i];
		size_t l = strlen(name) + 1, p;
		bool found = false;

		for (p = 0; !found && p + l <= len; p++)
			found = !memcmp(tab + p, name, l);
		if (!found) {
			memcpy(tab + len, name, l);
			len += l;
		}
	}
	return len;
}

static size_t prop_size(size_t len)
{
	return 3 * sizeof(fdt32_t) + TAGALIGN(len);
}

size_t skho_snapshot_fdt_size(const struct skho_snapshot *s)
{
	size_t sz = HDR_SIZE + sizeof(struct fdt_reserve_entry);
	char name[40];
	u32 i;

	sz += sizeof(fdt32_t) + TAGALIGN(1);			/* root begin */
	sz += prop_size(sizeof(SKHO_ABI_COMPATIBLE));
	sz += prop_size(sizeof(fdt32_t));
	for (i = 0; i < s->nr_smmus; i++) {
		const struct snap_smmu *m = &s->smmu[i];

		sz += sizeof(fdt32_t) + TAGALIGN(node_name(name, sizeof(name), m->mmio_base) + 1);
		/* reg, strtab-base; cfg, features, oas */
		sz += prop_size(8) * 2 + prop_size(4) * 3;
		sz += prop_size(m->ranges_bytes);
		sz += prop_size(m->outputs_bytes);
		sz += prop_size((size_t)m->nr_streams * sizeof(struct skho_abi_stream));
		sz += prop_size((size_t)m->nr_pts * sizeof(struct skho_abi_pgtable));
		sz += prop_size((size_t)m->nr_asids * 4);
		sz += prop_size((size_t)m->nr_vmids * 4);
		sz += sizeof(fdt32_t);				/* end node */
	}
	sz += 2 * sizeof(fdt32_t);				/* root end, FDT_END */
	return sz + strings_size(s->nr_smmus);
}
EXPORT_SYMBOL_NS_GPL(skho_snapshot_fdt_size, "SMMU_KHO");

static int put_u32_array(void *fdt, const char *name, const u32 *v, u32 n)
{
	fdt32_t *p;
	u32 i;
	int r = fdt_property_placeholder(fdt, name, (int)(n * sizeof(*p)), (void **)&p);

	if (r)
		return r;
	for (i = 0; i < n; i++)
		p[i] = cpu_to_fdt32(v[i]);
	return 0;
}

static int put_smmu(void *fdt, const struct snap_smmu *m)
{
	char name[40];
	u8 *p;
	u32 i;
	int r;

	node_name(name, sizeof(name), m->mmio_base);
	r = fdt_begin_node(fdt, name);
	r = r ?: fdt_property_u64(fdt, SKHO_PROP_REG, m->mmio_base);
	r = r ?: fdt_property_u64(fdt, SKHO_PROP_STRTAB_BASE, m->strtab_base);
	r = r ?: fdt_property_u32(fdt, SKHO_PROP_STRTAB_CFG, m->strtab_cfg);
	r = r ?: fdt_property_u32(fdt, SKHO_PROP_FEATURES, m->features);
	r = r ?: fdt_property_u32(fdt, SKHO_PROP_OAS, m->oas);
	r = r ?: fdt_property_placeholder(fdt, SKHO_PROP_RANGES, (int)m->ranges_bytes,
					  (void **)&p);
	if (r)
		return r;
	if (skho_ranges_encode(&m->ranges, p, m->ranges_bytes) != (int)m->ranges_bytes)
		return -FDT_ERR_INTERNAL;	/* checked when the snapshot was taken */
	r = fdt_property_placeholder(fdt, SKHO_PROP_OUTPUTS, (int)m->outputs_bytes,
				     (void **)&p);
	if (r)
		return r;
	if (skho_ranges_encode(&m->outputs, p, m->outputs_bytes) != (int)m->outputs_bytes)
		return -FDT_ERR_INTERNAL;
	r = fdt_property(fdt, SKHO_PROP_STREAMS, m->streams,
			 (int)(m->nr_streams * sizeof(struct skho_abi_stream)));
	r = r ?: fdt_property_placeholder(fdt, SKHO_PROP_PGTABLES,
					  (int)(m->nr_pts * sizeof(struct skho_abi_pgtable)),
					  (void **)&p);
	if (r)
		return r;
	for (i = 0; i < m->nr_pts; i++) {
		const struct skho_pt_cfg *c = &m->pts[i].cfg;
		struct skho_abi_pgtable rec = {
			.root = cpu_to_fdt64(c->root), .stage = c->stage,
			.granule_lg2 = c->granule_lg2, .start_level = c->start_level,
			.ias = c->ias, .oas = c->oas, .nr_concat = c->nr_concat,
			.digest = cpu_to_fdt64(m->pts[i].digest),
		};

		memcpy(p + (size_t)i * sizeof(rec), &rec, sizeof(rec));
	}
	r = put_u32_array(fdt, SKHO_PROP_ASIDS, m->asids, m->nr_asids);
	r = r ?: put_u32_array(fdt, SKHO_PROP_VMIDS, m->vmids, m->nr_vmids);
	return r ?: fdt_end_node(fdt);
}

int skho_snapshot_to_fdt(const struct skho_snapshot *s, void *buf, size_t bufsz,
			 struct skho_err *err)
{
	u32 i;
	int r;

	if (!s || !buf)
		return skho_fail(err, SKHO_E_INVAL, SKHO_NO_SID, 0, "NULL argument");
	if (bufsz > 0x7fffffff)
		bufsz = 0x7fffffff;	/* libfdt sizes are int */
	r = fdt_create(buf, (int)bufsz);
	r = r ?: fdt_finish_reservemap(buf);
	r = r ?: fdt_begin_node(buf, "");
	r = r ?: fdt_property_string(buf, SKHO_PROP_COMPATIBLE, SKHO_ABI_COMPATIBLE);
	r = r ?: fdt_property_u32(buf, SKHO_PROP_ABI_MINOR, SKHO_ABI_MINOR);
	for (i = 0; !r && i < s->nr_smmus; i++)
		r = put_smmu(buf, &s->smmu[i]);
	r = r ?: fdt_end_node(buf);
	r = r ?: fdt_finish(buf);
	if (r == -FDT_ERR_NOSPACE)
		return skho_fail(err, SKHO_E_NOSPACE, SKHO_NO_SID, 0,
				 "FDT needs %zu bytes, buffer has %zu",
				 skho_snapshot_fdt_size(s), bufsz);
	if (r)
		return skho_fail(err, SKHO_E_FDT, SKHO_NO_SID, 0, "libfdt: %s",
				 fdt_strerror(r));
	return 0;
}
EXPORT_SYMBOL_NS_GPL(skho_snapshot_to_fdt, "SMMU_KHO");
