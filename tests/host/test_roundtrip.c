// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Host tests: snapshot -> FDT -> parse -> validate on small hand-built SMMU states. */
#include "gen.h"
#include "ktest.h"
#include "skho_handover.h"

/*
 * A flat simulated physical memory: MEM_SIZE bytes at MEM_BASE.  Anything
 * else is not mapped (output pages of the translations live there: the
 * walker never reads them).
 */
#define MEM_BASE	0x40000000ULL
#define MEM_SIZE	(4u << 20)

struct flat {
	struct skho_mem mem;
	u8 *buf;
};

static const void *flat_map(void *priv, u64 pa, u64 len)
{
	struct flat *f = priv;

	if (pa < MEM_BASE || pa - MEM_BASE > MEM_SIZE || len > MEM_SIZE - (pa - MEM_BASE))
		return NULL;
	return f->buf + (pa - MEM_BASE);
}

static bool flat_init(struct flat *f)
{
	f->buf = calloc(1, MEM_SIZE);
	f->mem.map = flat_map;
	f->mem.priv = f;
	return f->buf != NULL;
}

static void wr64(struct flat *f, u64 pa, u64 v)
{
	u64 le = skho_cpu_to_le64(v);

	memcpy(f->buf + (pa - MEM_BASE), &le, 8);
}

static u64 rd64(struct flat *f, u64 pa)
{
	return skho_ld_le64(f->buf + (pa - MEM_BASE));
}

/* Layout of the small state (every table inside the flat memory). */
#define STRTAB		(MEM_BASE + 0x0000)	/* linear, 64 STEs = 4 KiB */
#define CD_TAB		(MEM_BASE + 0x1000)	/* S1CDMax 0: one 64-byte CD */
#define S1_L1		(MEM_BASE + 0x2000)	/* 4K granule, ias 39: start level 1 */
#define S1_L2		(MEM_BASE + 0x3000)
#define S1_L3		(MEM_BASE + 0x4000)
#define S2_ROOT		(MEM_BASE + 0x6000)	/* ias 40 at level 1: 2 concatenated */
#define S2_L2		(MEM_BASE + 0x8000)
#define SPARE		(MEM_BASE + 0x10000)	/* backed, never preserved */

#define SID_S1		1
#define SID_S2		2
#define SID_ABORT	3	/* a preserved abort STE: preservable, maps nothing */
#define ASID_S1		5
#define VMID_S2		7
#define SMMU_MMIO	0x9050000ULL
#define SMMU_OAS	44

#define PTE_PAGE(pa)	((pa) | SMMU_PTE_AF | 3)	/* valid page, AF, RW at S1 */
#define PTE_TABLE(pa)	((pa) | 3)

static void put_ste(struct flat *f, u64 strtab, u32 sid, const u64 w[4])
{
	int i;

	for (i = 0; i < 4; i++)
		wr64(f, strtab + (u64)sid * 64 + i * 8, w[i]);
}

static u64 ste0(u32 config)
{
	return SMMU_STE0_V | SKHO_FIELD_PREP(SMMU_STE0_CONFIG, config);
}

/* S1 STE with one CD at @cd, its table at @ttb0 (4K granule, ias 39, 40-bit IPS). */
static void build_s1(struct flat *f, u64 strtab, u32 sid, u64 cd, u64 ttb0, u16 asid)
{
	u64 ste[4] = { ste0(SMMU_STE_CFG_S1) | cd, 0, 0, 0 };

	put_ste(f, strtab, sid, ste);
	wr64(f, cd, SKHO_FIELD_PREP(SMMU_CD0_T0SZ, 64 - 39) | SMMU_CD0_EPD1 | SMMU_CD0_V |
		    SKHO_FIELD_PREP(SMMU_CD0_IPS, 2) | SMMU_CD0_AA64 |
		    SKHO_FIELD_PREP(SMMU_CD0_ASID, asid));
	wr64(f, cd + 8, ttb0);
}

/* The S1 table: IOVA 0..16K -> PA 0x80000000.. in four 4K pages. */
static void build_s1_table(struct flat *f)
{
	int i;

	wr64(f, S1_L1, PTE_TABLE(S1_L2));
	wr64(f, S1_L2, PTE_TABLE(S1_L3));
	for (i = 0; i < 4; i++)
		wr64(f, S1_L3 + i * 8, PTE_PAGE(0x80000000ULL + i * 0x1000));
}

/* S2 STE: 4K granule, ias 40 from level 1 (2 concatenated tables), 40-bit PS. */
static void build_s2(struct flat *f)
{
	u64 ste[4] = {
		ste0(SMMU_STE_CFG_S2),
		0,
		SKHO_FIELD_PREP(SMMU_STE2_S2VMID, VMID_S2) |
		SKHO_FIELD_PREP(SMMU_STE2_S2T0SZ, 64 - 40) |
		SKHO_FIELD_PREP(SMMU_STE2_S2SL0, 1) |	/* 4K: level 1 */
		SKHO_FIELD_PREP(SMMU_STE2_S2TG, SMMU_TG_4K) |
		SKHO_FIELD_PREP(SMMU_STE2_S2PS, 2) | SMMU_STE2_S2AA64,
		S2_ROOT,
	};

	put_ste(f, STRTAB, SID_S2, ste);
	/* IPA 0..1G: one 1 GiB block, read/write; IPA 1G..: a level-2 table */
	wr64(f, S2_ROOT, 0xc0000000ULL | SMMU_PTE_AF | SMMU_PTE_S2AP_R |
			 SMMU_PTE_S2AP_W | 1);
	wr64(f, S2_ROOT + 8, PTE_TABLE(S2_L2));
	wr64(f, S2_L2, 0x100000000ULL | SMMU_PTE_AF | SMMU_PTE_S2AP_R | 1);
}

static void build_state(struct flat *f, struct skho_smmu_state *st, u32 *sids)
{
	u64 byp[4] = { ste0(SMMU_STE_CFG_ABORT), 0, 0, 0 };

	build_s1(f, STRTAB, SID_S1, CD_TAB, S1_L1, ASID_S1);
	build_s1_table(f);
	build_s2(f);
	put_ste(f, STRTAB, SID_ABORT, byp);
	/* unsorted on purpose: the serializer sorts */
	sids[0] = SID_ABORT;
	sids[1] = SID_S1;
	sids[2] = SID_S2;
	memset(st, 0, sizeof(*st));
	st->mmio_base = SMMU_MMIO;
	st->strtab_base = STRTAB;
	st->strtab_cfg = SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_LOG2SIZE, 6);	/* linear */
	st->features = SKHO_SMMU_F_COHERENT;
	st->oas = SMMU_OAS;
	st->sids = sids;
	st->nr_sids = 3;
}

/* Verdicts, by SID (all SIDs here are < 64). */
struct verdicts {
	int code[1024];
	int calls;
	u32 last_sid;
	bool ordered;
};

static void record(void *arg, u32 sid, const struct skho_err *why)
{
	struct verdicts *v = arg;

	if (v->calls && sid <= v->last_sid)
		v->ordered = false;
	v->last_sid = sid;
	v->calls++;
	if (sid < 1024)
		v->code[sid] = why ? why->code : 0;
	if (why && getenv("SKHO_TEST_VERBOSE"))
		ktest_diag("SID %#x refused: %s: %s", sid, skho_strerror(why->code), why->msg);
}

/* snapshot -> exact-size FDT; returns the blob (caller frees) or NULL. */
static void *to_blob(struct ktest *t, struct flat *f, const struct skho_smmu_state *st,
		     u32 nr, size_t *size, struct skho_snapshot **snap_out)
{
	struct skho_snapshot *snap;
	struct skho_err err = { 0 };
	void *blob;
	int ret;

	ret = skho_snapshot_take(&snap, st, nr, &f->mem, &err);
	if (ret) {
		ktest_fail(t, __FILE__, __LINE__, "snapshot: %s: %s", skho_strerror(ret), err.msg);
		return NULL;
	}
	*size = skho_snapshot_fdt_size(snap);
	blob = malloc(*size);
	ret = skho_snapshot_to_fdt(snap, blob, *size, &err);
	if (ret) {
		ktest_fail(t, __FILE__, __LINE__, "to_fdt: %s: %s", skho_strerror(ret), err.msg);
		free(blob);
		blob = NULL;
	}
	if (snap_out)
		*snap_out = snap;
	else
		skho_snapshot_free(snap);
	return blob;
}

static int parse_validate(struct ktest *t, struct flat *f, const void *blob, size_t size,
			  struct verdicts *v)
{
	struct skho_handover ho;
	struct skho_err err = { 0 };
	int ret;

	memset(v, 0, sizeof(*v));
	v->ordered = true;
	ret = skho_handover_parse(blob, size, &ho, &err);
	if (ret) {
		ktest_fail(t, __FILE__, __LINE__, "parse: %s: %s", skho_strerror(ret), err.msg);
		return ret;
	}
	ret = skho_handover_validate(&ho, 0, &f->mem, record, v, &err);
	skho_handover_release(&ho);
	return ret;
}

static void snapshot_fdt_parse_validate_adopts_s1_s2_and_abort(struct ktest *t)
{
	struct skho_smmu_state st;
	struct skho_snapshot *snap = NULL;
	struct skho_handover ho;
	struct skho_err err = { 0 };
	struct verdicts v;
	struct flat f;
	u32 sids[3];
	size_t size;
	void *blob;
	const u8 *rec;

	KASSERT(t, flat_init(&f), "oom");
	build_state(&f, &st, sids);
	blob = to_blob(t, &f, &st, 1, &size, &snap);
	KASSERT(t, blob, "no blob");
	/* all three adopted: the state was not touched since the snapshot */
	KEXPECT_EQ(t, parse_validate(t, &f, blob, size, &v), 0);
	KEXPECT_EQ(t, v.calls, 3);		/* one verdict per stream */
	KEXPECT(t, v.ordered, "verdicts in SID order");
	KEXPECT_EQ(t, v.code[SID_S1], 0);
	KEXPECT_EQ(t, v.code[SID_S2], 0);
	KEXPECT_EQ(t, v.code[SID_ABORT], 0);

	KASSERT(t, skho_handover_parse(blob, size, &ho, &err) == 0, "%s", err.msg);
	KEXPECT_EQ(t, ho.abi_minor, SKHO_ABI_MINOR);
	KASSERT(t, ho.nr_smmus == 1, "%u", ho.nr_smmus);
	KEXPECT_EQ(t, ho.smmu[0].mmio_base, SMMU_MMIO);
	KEXPECT_EQ(t, ho.smmu[0].oas, SMMU_OAS);
	KEXPECT_EQ(t, ho.smmu[0].features, SKHO_SMMU_F_COHERENT);
	KASSERT(t, ho.smmu[0].nr_streams == 3, "%u", ho.smmu[0].nr_streams);
	rec = (const u8 *)ho.smmu[0].streams;
	/* sorted by SID although given as 3, 1, 2 */
	KEXPECT_EQ(t, skho_fdt_ld32(rec), SID_S1);
	KEXPECT_EQ(t, skho_fdt_ld32(rec + sizeof(struct skho_abi_stream)), SID_S2);
	KEXPECT_EQ(t, skho_fdt_ld32(rec + 2 * sizeof(struct skho_abi_stream)), SID_ABORT);
	/* the abort stream's translation is the empty sequence (docs/abi.md) */
	KEXPECT_EQ(t, skho_fdt_ld64(rec + 2 * sizeof(struct skho_abi_stream) +
				    offsetof(struct skho_abi_stream, xlat_digest)),
		   skho_digest_buf("", 0, 0));
	/* the STE bytes travel raw: STE.V|Config=abort in byte 0 */
	KEXPECT_EQ(t, rec[2 * sizeof(struct skho_abi_stream) +
			  offsetof(struct skho_abi_stream, ste)], 0x1);
	/* one ASID (the S1 CD's), one VMID (the S2 STE's), two tables */
	KEXPECT_EQ(t, ho.smmu[0].nr_asids, 1);
	KEXPECT_EQ(t, fdt32_to_cpu(ho.smmu[0].asids[0]), ASID_S1);
	KEXPECT_EQ(t, ho.smmu[0].nr_vmids, 1);
	KEXPECT_EQ(t, fdt32_to_cpu(ho.smmu[0].vmids[0]), VMID_S2);
	KASSERT(t, ho.smmu[0].nr_pgtables == 2, "%u", ho.smmu[0].nr_pgtables);
	rec = (const u8 *)ho.smmu[0].pgtables;
	KEXPECT_EQ(t, skho_fdt_ld64(rec), S1_L1);	/* sorted by root: S1 first */
	KEXPECT_EQ(t, rec[offsetof(struct skho_abi_pgtable, start_level)], 1);	/* ias 39, 4K */
	rec += sizeof(struct skho_abi_pgtable);
	KEXPECT_EQ(t, skho_fdt_ld64(rec), S2_ROOT);
	KEXPECT_EQ(t, rec[offsetof(struct skho_abi_pgtable, nr_concat)], 2);	/* ias 40 at L1 */
	/*
	 * Ranges are whole 4 KiB pages: the stream table page [0,0x1000), the
	 * CD's page [0x1000,0x2000) and S1 L1..L3 [0x2000,0x5000) touch and
	 * make one run; S2 root (8K) + L2 [0x6000,0x9000) after a gap.
	 */
	KASSERT(t, ho.smmu[0].ranges.nr == 2, "%u ranges", ho.smmu[0].ranges.nr);
	KEXPECT_EQ(t, ho.smmu[0].ranges.r[0].pa, STRTAB);
	KEXPECT_EQ(t, ho.smmu[0].ranges.r[0].size, 0x5000);
	KEXPECT_EQ(t, ho.smmu[0].ranges.r[1].pa, S2_ROOT);
	KEXPECT_EQ(t, ho.smmu[0].ranges.r[1].size, 0x3000);
	/* the snapshot reports exactly the runs it wrote */
	KASSERT(t, skho_snapshot_ranges(snap, 0)->nr == 2, "snapshot runs");
	KEXPECT(t, !memcmp(skho_snapshot_ranges(snap, 0)->r, ho.smmu[0].ranges.r,
			   2 * sizeof(struct skho_range)), "snapshot runs = parsed runs");
	KEXPECT(t, skho_snapshot_ranges(snap, 1) == NULL, "only one SMMU");
	skho_handover_release(&ho);
	skho_snapshot_free(snap);
	free(blob);
	free(f.buf);
}

static void fdt_size_is_exact_one_byte_less_is_nospace(struct ktest *t)
{
	struct skho_smmu_state st;
	struct skho_snapshot *snap;
	struct skho_err err = { 0 };
	struct flat f;
	u32 sids[3];
	size_t size;
	u8 *buf;

	KASSERT(t, flat_init(&f), "oom");
	build_state(&f, &st, sids);
	KASSERT(t, skho_snapshot_take(&snap, &st, 1, &f.mem, &err) == 0, "%s", err.msg);
	size = skho_snapshot_fdt_size(snap);
	buf = malloc(size + 64);
	/* exactly fdt_size bytes suffice, and totalsize says so */
	KEXPECT_EQ(t, skho_snapshot_to_fdt(snap, buf, size, &err), 0);
	KEXPECT_EQ(t, fdt_totalsize(buf), size);
	/* one byte less cannot hold it */
	KEXPECT_EQ(t, skho_snapshot_to_fdt(snap, buf, size - 1, &err), -SKHO_E_NOSPACE);
	KEXPECT_EQ(t, err.code, -SKHO_E_NOSPACE);
	/* a larger buffer gives the same blob size */
	KEXPECT_EQ(t, skho_snapshot_to_fdt(snap, buf, size + 64, &err), 0);
	KEXPECT_EQ(t, fdt_totalsize(buf), size);
	free(buf);
	skho_snapshot_free(snap);
	free(f.buf);
}

static void snapshot_of_no_smmu_writes_a_root_only_blob(struct ktest *t)
{
	struct skho_snapshot *snap;
	struct skho_handover ho;
	struct skho_err err = { 0 };
	struct flat f;
	size_t size;
	u8 *buf;

	KASSERT(t, flat_init(&f), "oom");
	KASSERT(t, skho_snapshot_take(&snap, NULL, 0, &f.mem, &err) == 0, "%s", err.msg);
	size = skho_snapshot_fdt_size(snap);
	buf = malloc(size);
	/* only the root's two property names in the string block: still exact */
	KEXPECT_EQ(t, skho_snapshot_to_fdt(snap, buf, size, &err), 0);
	KEXPECT_EQ(t, skho_snapshot_to_fdt(snap, buf, size - 1, &err), -SKHO_E_NOSPACE);
	KEXPECT_EQ(t, skho_snapshot_to_fdt(snap, buf, size, &err), 0);
	KEXPECT_EQ(t, skho_handover_parse(buf, size, &ho, &err), 0);
	KEXPECT_EQ(t, ho.nr_smmus, 0);	/* a valid handover of nothing */
	skho_handover_release(&ho);
	free(buf);
	skho_snapshot_free(snap);
	free(f.buf);
}

static void pte_pointing_table_outside_ranges_refuses_only_that_stream(struct ktest *t)
{
	struct skho_smmu_state st;
	struct verdicts v;
	struct flat f;
	u32 sids[3];
	size_t size;
	void *blob;

	KASSERT(t, flat_init(&f), "oom");
	build_state(&f, &st, sids);
	blob = to_blob(t, &f, &st, 1, &size, NULL);
	KASSERT(t, blob, "no blob");
	/* after the handover: the S1 L2 entry now leads to SPARE, which is
	 * backed memory but was never preserved; copy L3 there so that only the
	 * fence (not a digest) can tell */
	memcpy(f.buf + (SPARE - MEM_BASE), f.buf + (S1_L3 - MEM_BASE), 0x1000);
	wr64(&f, S1_L2, PTE_TABLE(SPARE));
	/* one stream refused: the return value counts refusals */
	KEXPECT_EQ(t, parse_validate(t, &f, blob, size, &v), 1);
	KEXPECT_EQ(t, v.calls, 3);
	KEXPECT_EQ(t, v.code[SID_S1], -SKHO_E_OUTSIDE);	/* walk fenced at SPARE */
	KEXPECT_EQ(t, v.code[SID_S2], 0);		/* own table, untouched */
	KEXPECT_EQ(t, v.code[SID_ABORT], 0);
	free(blob);
	free(f.buf);
}

static void changed_pte_inside_ranges_refuses_with_digest(struct ktest *t)
{
	struct skho_smmu_state st;
	int i;
	struct verdicts v;
	struct flat f;
	u32 sids[3];
	size_t size;
	void *blob;

	KASSERT(t, flat_init(&f), "oom");
	build_state(&f, &st, sids);
	blob = to_blob(t, &f, &st, 1, &size, NULL);
	KASSERT(t, blob, "no blob");
	/* all four S1 pages become read-only (AP[2]): same tables, same single
	 * run (iova, pa, size), only its prot differs */
	for (i = 0; i < 4; i++)
		wr64(&f, S1_L3 + i * 8, rd64(&f, S1_L3 + i * 8) | SMMU_PTE_AP_RDONLY);
	KEXPECT_EQ(t, parse_validate(t, &f, blob, size, &v), 1);
	KEXPECT_EQ(t, v.code[SID_S1], -SKHO_E_DIGEST);	/* page-tables digest differs */
	KEXPECT_EQ(t, v.code[SID_S2], 0);
	KEXPECT_EQ(t, v.code[SID_ABORT], 0);
	free(blob);
	free(f.buf);
}

static void ste_changed_in_memory_refuses_with_ste_lost(struct ktest *t)
{
	struct skho_smmu_state st;
	struct verdicts v;
	struct flat f;
	u32 sids[3];
	size_t size;
	void *blob;

	KASSERT(t, flat_init(&f), "oom");
	build_state(&f, &st, sids);
	blob = to_blob(t, &f, &st, 1, &size, NULL);
	KASSERT(t, blob, "no blob");
	/* the abort STE was rewritten to bypass after the freeze */
	wr64(&f, STRTAB + SID_ABORT * 64, ste0(SMMU_STE_CFG_BYPASS));
	KEXPECT_EQ(t, parse_validate(t, &f, blob, size, &v), 1);
	KEXPECT_EQ(t, v.code[SID_ABORT], -SKHO_E_STE_LOST);	/* memory != reference */
	KEXPECT_EQ(t, v.code[SID_S1], 0);
	KEXPECT_EQ(t, v.code[SID_S2], 0);
	free(blob);
	free(f.buf);
}

static void cd_changed_in_memory_refuses_with_xlat_digest(struct ktest *t)
{
	struct skho_smmu_state st;
	struct verdicts v;
	struct flat f;
	u32 sids[3];
	size_t size;
	void *blob;

	KASSERT(t, flat_init(&f), "oom");
	build_state(&f, &st, sids);
	blob = to_blob(t, &f, &st, 1, &size, NULL);
	KASSERT(t, blob, "no blob");
	/* CD.AFFD set: the table, ASID and geometry stay listed, but the raw
	 * CD bytes are part of the xlat digest */
	wr64(&f, CD_TAB, rd64(&f, CD_TAB) | SMMU_CD0_AFFD);
	KEXPECT_EQ(t, parse_validate(t, &f, blob, size, &v), 1);
	KEXPECT_EQ(t, v.code[SID_S1], -SKHO_E_DIGEST);
	KEXPECT_EQ(t, v.code[SID_S2], 0);
	free(blob);
	free(f.buf);
}

/* Find @name in the blob's SMMU node and return a writable pointer. */
static u8 *smmu_prop(void *blob, const char *name, int *len)
{
	int node = fdt_first_subnode(blob, 0);

	return node < 0 ? NULL : fdt_getprop_w(blob, node, name, len);
}

static void asid_missing_from_listing_refuses_with_listing(struct ktest *t)
{
	struct skho_smmu_state st;
	struct verdicts v;
	struct flat f;
	u32 sids[3];
	size_t size;
	fdt32_t six = cpu_to_fdt32(ASID_S1 + 1);
	void *blob;
	u8 *p;
	int len;

	KASSERT(t, flat_init(&f), "oom");
	build_state(&f, &st, sids);
	blob = to_blob(t, &f, &st, 1, &size, NULL);
	KASSERT(t, blob, "no blob");
	p = smmu_prop(blob, SKHO_PROP_ASIDS, &len);
	KASSERT(t, p && len == 4, "asids");
	memcpy(p, &six, 4);	/* the listing says ASID 6; the CD uses 5 */
	KEXPECT_EQ(t, parse_validate(t, &f, blob, size, &v), 1);
	KEXPECT_EQ(t, v.code[SID_S1], -SKHO_E_LISTING);
	KEXPECT_EQ(t, v.code[SID_S2], 0);	/* VMIDs are a separate list */
	free(blob);
	free(f.buf);
}

static void stream_table_outside_ranges_refuses_whole_instance(struct ktest *t)
{
	struct skho_smmu_state st;
	struct skho_handover ho;
	struct skho_err err = { 0 };
	struct verdicts v = { .ordered = true };
	struct flat f;
	u32 sids[3];
	size_t size;
	void *blob;

	KASSERT(t, flat_init(&f), "oom");
	build_state(&f, &st, sids);
	blob = to_blob(t, &f, &st, 1, &size, NULL);
	KASSERT(t, blob, "no blob");
	KASSERT(t, skho_handover_parse(blob, size, &ho, &err) == 0, "%s", err.msg);
	/* the stream table's page was not preserved after all: cut the first
	 * run to the CD and S1 table pages */
	ho.smmu[0].ranges.r[0].pa = CD_TAB;
	ho.smmu[0].ranges.r[0].size = 0x4000;
	KEXPECT_EQ(t, skho_handover_validate(&ho, 0, &f.mem, record, &v, &err),
		   -SKHO_E_OUTSIDE);
	KEXPECT_EQ(t, err.addr, STRTAB);	/* names the table */
	KEXPECT_EQ(t, v.calls, 3);		/* every stream still gets a verdict */
	KEXPECT_EQ(t, v.code[SID_S1], -SKHO_E_OUTSIDE);
	KEXPECT_EQ(t, v.code[SID_S2], -SKHO_E_OUTSIDE);
	KEXPECT_EQ(t, v.code[SID_ABORT], -SKHO_E_OUTSIDE);
	skho_handover_release(&ho);
	free(blob);
	free(f.buf);
}

static void duplicate_sid_in_snapshot_input_is_refused(struct ktest *t)
{
	struct skho_smmu_state st;
	struct skho_snapshot *snap = NULL;
	struct skho_err err = { 0 };
	struct flat f;
	u32 sids[3];

	KASSERT(t, flat_init(&f), "oom");
	build_state(&f, &st, sids);
	sids[2] = SID_S1;	/* 3, 1, 1 */
	KEXPECT_EQ(t, skho_snapshot_take(&snap, &st, 1, &f.mem, &err), -SKHO_E_SID);
	KEXPECT_EQ(t, err.sid, SID_S1);
	KEXPECT(t, snap == NULL, "no snapshot on failure");
	free(f.buf);
}

static void invalid_ste_in_snapshot_input_is_refused(struct ktest *t)
{
	struct skho_smmu_state st;
	struct skho_snapshot *snap = NULL;
	struct skho_err err = { 0 };
	struct flat f;
	u32 sids[3];

	KASSERT(t, flat_init(&f), "oom");
	build_state(&f, &st, sids);
	sids[2] = 9;	/* SID 9's STE is all zero: V=0 */
	KEXPECT_EQ(t, skho_snapshot_take(&snap, &st, 1, &f.mem, &err), -SKHO_E_STE);
	KEXPECT_EQ(t, err.sid, 9);
	free(f.buf);
}

/*
 * 2-level stream table: SPLIT 8, LOG2SIZE 16; L1 at 0x20000 (256 x 8 bytes),
 * one L2 of 256 STEs for SIDs 0x100..0x1ff at 0x24000.  An S1 stream at
 * SID 0x105 whose CD table is 2-level (64K leaves, S1CDMax 11): SSID 0 and
 * SSID 1025 valid, each with its own table.
 */
#define L1_2LVL		(MEM_BASE + 0x20000)
#define L2_2LVL		(MEM_BASE + 0x24000)
#define L1CD		(MEM_BASE + 0x40000)	/* 2 L1CDs */
#define L2CD_0		(MEM_BASE + 0x50000)	/* 1024 CDs = 64 KiB */
#define L2CD_1		(MEM_BASE + 0x60000)
#define PT_B		(MEM_BASE + 0x70000)

static void build_two_level(struct flat *f, struct skho_smmu_state *st, u32 *sid)
{
	u64 ste[4] = {
		ste0(SMMU_STE_CFG_S1) | L1CD |
		SKHO_FIELD_PREP(SMMU_STE0_S1FMT, SMMU_CD_FMT_2LVL_64K) |
		SKHO_FIELD_PREP(SMMU_STE0_S1CDMAX, 11),
		SKHO_FIELD_PREP(SMMU_STE1_S1DSS, SMMU_S1DSS_SSID0), 0, 0,
	};

	wr64(f, L1_2LVL + 1 * 8, L2_2LVL | 9);	/* Span 9: 2^8 STEs */
	put_ste(f, L2_2LVL, 0x05, ste);
	wr64(f, L1CD, L2CD_0 | SMMU_L1CD_V);
	wr64(f, L1CD + 8, L2CD_1 | SMMU_L1CD_V);
	build_s1(f, L2_2LVL, 0x06, L2CD_0, S1_L1, 9);	/* reuse the CD writer */
	wr64(f, L2_2LVL + 0x06 * 64, 0);		/* ...but not that STE */
	build_s1(f, L2_2LVL, 0x07, L2CD_1 + 64, PT_B, 10);	/* SSID 1025 */
	wr64(f, L2_2LVL + 0x07 * 64, 0);
	build_s1_table(f);
	wr64(f, PT_B, PTE_TABLE(PT_B + 0x1000));
	wr64(f, PT_B + 0x1000, PTE_TABLE(PT_B + 0x2000));
	wr64(f, PT_B + 0x2000, PTE_PAGE(0x90000000ULL));
	*sid = 0x105;
	memset(st, 0, sizeof(*st));
	st->mmio_base = 0x2b400000ULL;
	st->strtab_base = L1_2LVL;
	st->strtab_cfg = SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_FMT, SMMU_STRTAB_FMT_2LVL) |
			 SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_SPLIT, 8) |
			 SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_LOG2SIZE, 16);
	st->oas = 48;
	st->sids = sid;
	st->nr_sids = 1;
}

static void two_level_stream_and_cd_tables_roundtrip_and_list_every_table(struct ktest *t)
{
	struct skho_smmu_state st;
	struct skho_snapshot *snap;
	const struct skho_ranges *r;
	struct verdicts v;
	struct flat f;
	size_t size;
	void *blob;
	u32 sid;

	KASSERT(t, flat_init(&f), "oom");
	build_two_level(&f, &st, &sid);
	blob = to_blob(t, &f, &st, 1, &size, &snap);
	KASSERT(t, blob, "no blob");
	KEXPECT_EQ(t, parse_validate(t, &f, blob, size, &v), 0);
	KEXPECT_EQ(t, v.calls, 1);
	r = skho_snapshot_ranges(snap, 0);
	/* the pages of: L1 (256 x 8 = 2 KiB), this SID's L2 (256 x 64 = 16 KiB),
	 * L1CD (2 x 8), both 64 KiB CD leaves, and both tables' pages */
	KEXPECT(t, skho_ranges_contain(r, L1_2LVL, 0x1000), "L1 stream table's page");
	KEXPECT(t, !skho_ranges_contain(r, L1_2LVL, 0x1001), "only the L1 table's page");
	KEXPECT(t, skho_ranges_contain(r, L2_2LVL, 0x4000), "L2 stream table");
	KEXPECT(t, skho_ranges_contain(r, L1CD, 16), "L1CD table");
	KEXPECT(t, skho_ranges_contain(r, L2CD_0, 0x10000), "CD leaf 0");
	KEXPECT(t, skho_ranges_contain(r, L2CD_1, 0x10000), "CD leaf 1");
	KEXPECT(t, skho_ranges_contain(r, S1_L1, 0x3000), "SSID 0 table");
	KEXPECT(t, skho_ranges_contain(r, PT_B, 0x3000), "SSID 1025 table");
	/*
	 * A change to SSID 1025's page, which SSID 0 does not use, is caught:
	 * it now maps a page outside output-ranges, which is refused before
	 * the digest is even compared.
	 */
	wr64(&f, PT_B + 0x2000, PTE_PAGE(0x90001000ULL));
	KEXPECT_EQ(t, parse_validate(t, &f, blob, size, &v), 1);
	KEXPECT_EQ(t, v.code[0x105 & 1023], -SKHO_E_OUTPUT);
	skho_snapshot_free(snap);
	free(blob);
	free(f.buf);
}

static void l2_stream_table_partly_outside_ranges_refuses_its_stream(struct ktest *t)
{
	struct skho_smmu_state st;
	struct skho_handover ho;
	struct skho_err err = { 0 };
	struct verdicts v = { .ordered = true };
	struct flat f;
	size_t size;
	void *blob;
	u32 i, sid;

	KASSERT(t, flat_init(&f), "oom");
	build_two_level(&f, &st, &sid);
	blob = to_blob(t, &f, &st, 1, &size, NULL);
	KASSERT(t, blob, "no blob");
	KASSERT(t, skho_handover_parse(blob, size, &ho, &err) == 0, "%s", err.msg);
	/* drop the last page (STEs 0x1c0..0x1ff) of the L2 stream table from
	 * the preserved run that holds it: SID 0x105's own STE stays readable */
	for (i = 0; i < ho.smmu[0].ranges.nr; i++) {
		struct skho_range *r = &ho.smmu[0].ranges.r[i];

		if (r->pa <= L2_2LVL && r->pa + r->size >= L2_2LVL + 0x4000) {
			KASSERT(t, r->pa + r->size == L2_2LVL + 0x4000, "layout changed");
			r->size -= 0x1000;
		}
	}
	KEXPECT_EQ(t, skho_handover_validate(&ho, 0, &f.mem, record, &v, &err), 1);
	KEXPECT_EQ(t, v.code[0x105], -SKHO_E_OUTSIDE);	/* its L2 table is not whole */
	skho_handover_release(&ho);
	free(blob);
	free(f.buf);
}

static void l2_table_is_preserved_where_the_smmu_reads_it_not_at_l2ptr(struct ktest *t)
{
	struct skho_smmu_state st;
	struct skho_snapshot *snap;
	const struct skho_ranges *r;
	struct verdicts v;
	struct flat f;
	size_t size;
	void *blob;
	u32 sid;

	KASSERT(t, flat_init(&f), "oom");
	build_two_level(&f, &st, &sid);
	/* L2Ptr with bits [13:6] set: with Span 9 (16 KiB) the SMMU ignores
	 * L2Ptr[13:0] and reads the table at L2_2LVL */
	wr64(&f, L1_2LVL + 1 * 8, (L2_2LVL + 0x40) | 9);
	blob = to_blob(t, &f, &st, 1, &size, &snap);
	KASSERT(t, blob, "no blob");
	r = skho_snapshot_ranges(snap, 0);
	KEXPECT(t, skho_ranges_contain(r, L2_2LVL, 0x4000), "the table the SMMU reads");
	/* at L2Ptr it would end 0x40 bytes into the next page: not preserved */
	KEXPECT(t, !skho_ranges_contain(r, L2_2LVL + 0x4000, 1), "one page too many");
	KEXPECT_EQ(t, parse_validate(t, &f, blob, size, &v), 0);
	skho_snapshot_free(snap);
	free(blob);
	free(f.buf);
}

/*
 * One L2 stream table reached from two L1STDs with different Spans: the
 * whole table of each Span must be preserved (a check remembered for the
 * short one must not pass the long one).
 */
static void l2_table_under_two_spans_is_checked_whole_for_each(struct ktest *t)
{
	u64 byp[4] = { ste0(SMMU_STE_CFG_ABORT), 0, 0, 0 };
	struct skho_smmu_state st = { 0 };
	struct skho_handover ho;
	struct skho_err err = { 0 };
	struct verdicts v = { .ordered = true };
	struct flat f;
	u32 sids[2] = { 0x100, 0x201 }, i;
	size_t size;
	void *blob;

	KASSERT(t, flat_init(&f), "oom");
	wr64(&f, L1_2LVL + 1 * 8, L2_2LVL | 1);	/* SIDs 0x100..: Span 1, 1 STE */
	wr64(&f, L1_2LVL + 2 * 8, L2_2LVL | 9);	/* SIDs 0x200..: Span 9, 256 STEs */
	put_ste(&f, L2_2LVL, 0, byp);		/* SID 0x100 and 0x200 */
	put_ste(&f, L2_2LVL, 1, byp);		/* SID 0x201 */
	st.mmio_base = SMMU_MMIO;
	st.strtab_base = L1_2LVL;
	st.strtab_cfg = SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_FMT, SMMU_STRTAB_FMT_2LVL) |
			SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_SPLIT, 8) |
			SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_LOG2SIZE, 16);
	st.oas = SMMU_OAS;
	st.sids = sids;
	st.nr_sids = 2;
	blob = to_blob(t, &f, &st, 1, &size, NULL);
	KASSERT(t, blob, "no blob");
	KASSERT(t, skho_handover_parse(blob, size, &ho, &err) == 0, "%s", err.msg);
	/* keep only the L2 table's first page: both STEs stay readable */
	for (i = 0; i < ho.smmu[0].ranges.nr; i++) {
		struct skho_range *r = &ho.smmu[0].ranges.r[i];

		if (r->pa == L2_2LVL) {
			KASSERT(t, r->size == 0x4000, "layout changed: %#llx",
				(unsigned long long)r->size);
			r->size = 0x1000;
		}
	}
	KEXPECT_EQ(t, skho_handover_validate(&ho, 0, &f.mem, record, &v, &err), 1);
	KEXPECT_EQ(t, v.code[0x100], 0);		/* its 64-byte table is inside */
	KEXPECT_EQ(t, v.code[0x201], -SKHO_E_OUTSIDE);	/* its 16 KiB table is not */
	skho_handover_release(&ho);
	free(blob);
	free(f.buf);
}

static void s2_table_changed_and_relisted_refuses_with_xlat_digest(struct ktest *t)
{
	struct skho_smmu_state st;
	struct skho_handover ho;
	struct skho_err err = { 0 };
	struct skho_pt_cfg s2 = {
		.root = S2_ROOT, .stage = SKHO_STAGE2, .granule_lg2 = 12,
		.start_level = 1, .ias = 40, .oas = 40, .nr_concat = 2,
	};
	struct verdicts v;
	struct flat f;
	fdt64_t d;
	u32 sids[3];
	size_t size;
	void *blob;
	u64 nd;
	u8 *p;
	int len;

	KASSERT(t, flat_init(&f), "oom");
	build_state(&f, &st, sids);
	blob = to_blob(t, &f, &st, 1, &size, NULL);
	KASSERT(t, blob, "no blob");
	/* rewrite the S2 block, and list the new table digest as if the old
	 * kernel had: only the stream's xlat_digest still binds the old one */
	wr64(&f, S2_ROOT, rd64(&f, S2_ROOT) & ~SMMU_PTE_S2AP_W);
	KASSERT(t, skho_pt_digest(&s2, &f.mem, NULL, NULL, &nd, &err) == 0, "%s", err.msg);
	p = smmu_prop(blob, SKHO_PROP_PGTABLES, &len);
	KASSERT(t, p && len == 2 * (int)sizeof(struct skho_abi_pgtable), "page-tables");
	p += sizeof(struct skho_abi_pgtable);			/* the S2 table */
	KASSERT(t, skho_fdt_ld64(p) == S2_ROOT, "S2 record");
	d = cpu_to_fdt64(nd);
	memcpy(p + offsetof(struct skho_abi_pgtable, digest), &d, 8);
	KASSERT(t, skho_handover_parse(blob, size, &ho, &err) == 0, "%s", err.msg);
	skho_handover_release(&ho);
	KEXPECT_EQ(t, parse_validate(t, &f, blob, size, &v), 1);
	KEXPECT_EQ(t, v.code[SID_S2], -SKHO_E_DIGEST);
	KEXPECT_EQ(t, v.code[SID_S1], 0);
	free(blob);
	free(f.buf);
}

/*
 * docs/abi.md defines a table's digest as SKHO_DIGEST over one 32-byte
 * record {u64 iova, pa, size, prot} per maximal run, in IOVA order.  40
 * runs (more than two of skho_pt_digest's batches of 16, and a partial
 * one): the same value as digesting the records written out here.
 */
static void table_digest_is_the_documented_digest_of_its_runs(struct ktest *t)
{
	struct skho_pt_cfg s1 = {
		.root = S1_L1, .stage = SKHO_STAGE1, .granule_lg2 = 12,
		.start_level = 1, .ias = 39, .oas = 40, .nr_concat = 1,
	};
	struct skho_err err = { 0 };
	u64 rec[41][4], got;
	struct flat f;
	u32 i, n = 0;

	KASSERT(t, flat_init(&f), "oom");
	build_s1_table(&f);	/* IOVA 0..16K -> 0x80000000, one run */
	rec[n][0] = 0;
	rec[n][1] = 0x80000000ULL;
	rec[n][2] = 0x4000;
	rec[n++][3] = SKHO_PROT_R | SKHO_PROT_W;
	/* IOVA 64K + 4K * i -> PA 0x90000000 + 8K * i: a gap after each page,
	 * so each is its own run; every third one read-only */
	for (i = 0; i < 40; i++, n++) {
		u64 pte = PTE_PAGE(0x90000000ULL + 0x2000ULL * i);

		if (i % 3 == 2)
			pte |= SMMU_PTE_AP_RDONLY;
		wr64(&f, S1_L3 + (16 + i) * 8, pte);
		rec[n][0] = 0x10000 + 0x1000ULL * i;
		rec[n][1] = 0x90000000ULL + 0x2000ULL * i;
		rec[n][2] = 0x1000;
		rec[n][3] = i % 3 == 2 ? SKHO_PROT_R : SKHO_PROT_R | SKHO_PROT_W;
	}
	for (i = 0; i < n; i++) {
		u32 k;

		for (k = 0; k < 4; k++)
			rec[i][k] = skho_cpu_to_le64(rec[i][k]);	/* "u64": 8 LE bytes */
	}
	KASSERT(t, skho_pt_digest(&s1, &f.mem, NULL, NULL, &got, &err) == 0, "%s", err.msg);
	KEXPECT_EQ(t, got, skho_digest_buf(rec, (size_t)n * 32, 0));
	/* and with one run fewer, another value: the records are all there */
	KEXPECT(t, got != skho_digest_buf(rec, (size_t)(n - 1) * 32, 0), "last run counted");
	free(f.buf);
}

static void s1_ste_without_valid_cd_is_refused(struct ktest *t)
{
	struct skho_smmu_state st;
	struct skho_snapshot *snap = NULL;
	struct skho_err err = { 0 };
	struct flat f;
	u32 sids[3];

	KASSERT(t, flat_init(&f), "oom");
	build_state(&f, &st, sids);
	wr64(&f, CD_TAB, rd64(&f, CD_TAB) & ~SMMU_CD0_V);	/* the only CD: V=0 */
	KEXPECT_EQ(t, skho_snapshot_take(&snap, &st, 1, &f.mem, &err), -SKHO_E_CD);
	KEXPECT_EQ(t, err.sid, SID_S1);
	free(f.buf);
}

/*
 * 1,024 S1 streams sharing one 4K-granule table (one domain: one ASID),
 * each with its own CD in one contiguous CD region, as a many-function
 * device would have.  The FDT must stay within 96 bytes per STE: the
 * 84-byte record plus amortized headers, ranges and listings.
 */
#define MANY		1024
#define MANY_STRTAB	(MEM_BASE + 0x100000)	/* 1024 x 64 = 64 KiB */
#define MANY_CDS	(MEM_BASE + 0x110000)	/* 1024 x 64 = 64 KiB */

static void fdt_costs_at_most_96_bytes_per_ste_at_1024_shared_streams(struct ktest *t)
{
	struct skho_smmu_state st = { 0 };
	static u32 sids[MANY];
	struct verdicts *v = calloc(1, sizeof(*v));
	struct flat f;
	size_t size;
	void *blob;
	u32 i;

	KASSERT(t, flat_init(&f) && v, "oom");
	build_s1_table(&f);
	for (i = 0; i < MANY; i++) {
		build_s1(&f, MANY_STRTAB, i, MANY_CDS + i * 64, S1_L1, ASID_S1);
		sids[i] = MANY - 1 - i;
	}
	st.mmio_base = SMMU_MMIO;
	st.strtab_base = MANY_STRTAB;
	st.strtab_cfg = SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_LOG2SIZE, 10);
	st.oas = SMMU_OAS;
	st.sids = sids;
	st.nr_sids = MANY;
	blob = to_blob(t, &f, &st, 1, &size, NULL);
	KASSERT(t, blob, "no blob");
	ktest_diag("%zu FDT bytes for %u streams: %.1f per STE", size, MANY,
		   (double)size / MANY);
	KEXPECT(t, size <= 96 * MANY, "%zu bytes", size);
	/* and the whole set is adopted */
	KEXPECT_EQ(t, parse_validate(t, &f, blob, size, v), 0);
	KEXPECT_EQ(t, v->calls, MANY);
	free(v);
	free(blob);
	free(f.buf);
}

/*
 * The benchmark's state (gen_params_large): 1,024 S1 masters on a 65,536-SID
 * 2-level table, each with its own CD table page as Linux allocates it
 * (pages scattered, with gaps), one shared 4K table mapping 1 GiB.  The
 * issue's target: at most 96 FDT bytes per preserved STE.
 */
static void fdt_costs_at_most_96_bytes_per_ste_with_1024_own_cd_pages(struct ktest *t)
{
	struct skho_smmu_state st;
	struct skho_snapshot *snap;
	struct skho_err err = { 0 };
	struct gen_params p;
	struct gen_state *g;
	u32 *sids, i, n;
	size_t size;

	gen_params_large(&p);
	g = gen_build(t->seed, &p);
	KASSERT(t, g && g->nr_smmus == 1, "gen_build(large)");
	n = g->smmu[0].nr_st;
	sids = malloc(n * sizeof(*sids));
	KASSERT(t, sids && n == 1024, "%u streams", n);
	for (i = 0; i < n; i++)
		sids[i] = g->smmu[0].st[i].sid;
	gen_smmu_state(g, 0, sids, n, &st);
	KASSERT(t, skho_snapshot_take(&snap, &st, 1, arena_mem(g->arena), &err) == 0,
		"%s", err.msg);
	size = skho_snapshot_fdt_size(snap);
	ktest_diag("%zu FDT bytes for %u streams with own CD pages: %.1f per STE, %u page runs",
		   size, n, (double)size / n, skho_snapshot_ranges(snap, 0)->nr);
	KEXPECT(t, size <= 96 * n, "%zu bytes, %.1f per STE", size, (double)size / n);
	skho_snapshot_free(snap);
	free(sids);
	gen_free(g);
}

/* Two backed windows: the flat memory, and 128 KiB around 2^52. */
#define HIGH_WIN	((1ULL << 52) - 0x10000)
#define HIGH_WIN_SIZE	0x20000ULL

struct two_win {
	struct skho_mem mem;
	struct flat *f;
	u8 *high;
};

static const void *two_win_map(void *priv, u64 pa, u64 len)
{
	struct two_win *w = priv;

	if (pa >= HIGH_WIN && pa - HIGH_WIN <= HIGH_WIN_SIZE &&
	    len <= HIGH_WIN_SIZE - (pa - HIGH_WIN))
		return w->high + (pa - HIGH_WIN);
	return flat_map(w->f, pa, len);
}

/* output_ok() of the serializer: refuse one page of the S1 buffer. */
static bool refuse_page_0x80002000(void *arg, u64 pa, u64 size)
{
	(*(int *)arg)++;
	return pa + size <= 0x80002000ULL || pa >= 0x80003000ULL;
}

static void leaf_on_unpreserved_page_is_refused_by_snapshot_naming_sid_and_iova(struct ktest *t)
{
	struct skho_smmu_state st;
	struct skho_snapshot *snap = NULL;
	struct skho_err err = { 0 };
	struct flat f;
	u32 sids[3];
	int calls = 0;

	KASSERT(t, flat_init(&f), "oom");
	build_state(&f, &st, sids);
	st.output_ok = refuse_page_0x80002000;
	st.output_arg = &calls;
	/* the S1 table maps IOVA 0..16K -> 0x80000000.. as one run: refused */
	KEXPECT_EQ(t, skho_snapshot_take(&snap, &st, 1, &f.mem, &err), -SKHO_E_OUTPUT);
	KEXPECT(t, snap == NULL, "no snapshot");
	KEXPECT_EQ(t, err.sid, SID_S1);
	KEXPECT(t, strstr(err.msg, "IOVA 0 maps 0x80000000+0x4000") != NULL, "%s", err.msg);
	KEXPECT(t, calls >= 1, "output_ok() asked (%d calls)", calls);	/* the check ran */
	free(f.buf);
}

static void snapshot_lists_every_mapped_page_as_output_ranges(struct ktest *t)
{
	struct skho_smmu_state st;
	struct skho_handover ho;
	struct skho_err err = { 0 };
	struct flat f;
	u32 sids[3];
	size_t size;
	void *blob;

	KASSERT(t, flat_init(&f), "oom");
	build_state(&f, &st, sids);
	blob = to_blob(t, &f, &st, 1, &size, NULL);
	KASSERT(t, blob, "no blob");
	KASSERT(t, skho_handover_parse(blob, size, &ho, &err) == 0, "%s", err.msg);
	/* S1: 16 KiB at 0x80000000; S2: 1 GiB at 0xc0000000 and 2 MiB at 4 GiB, which touch */
	KASSERT(t, ho.smmu[0].outputs.nr == 2, "%u output runs", ho.smmu[0].outputs.nr);
	KEXPECT_EQ(t, ho.smmu[0].outputs.r[0].pa, 0x80000000ULL);
	KEXPECT_EQ(t, ho.smmu[0].outputs.r[0].size, 0x4000);
	KEXPECT_EQ(t, ho.smmu[0].outputs.r[1].pa, 0xc0000000ULL);
	KEXPECT_EQ(t, ho.smmu[0].outputs.r[1].size, 0x40000000ULL + 0x200000ULL);
	skho_handover_release(&ho);
	free(blob);
	free(f.buf);
}

static bool drop_page_0x80001000(void *arg, u64 pa, u64 size)
{
	(void)arg;
	return pa + size <= 0x80001000ULL || pa >= 0x80002000ULL;
}

static void leaf_on_page_the_next_kernel_cannot_prove_is_refused_output(struct ktest *t)
{
	struct skho_smmu_state st;
	struct skho_handover ho;
	struct skho_err err = { 0 };
	struct verdicts v = { .ordered = true };
	struct flat f;
	u32 sids[3];
	size_t size;
	void *blob;

	KASSERT(t, flat_init(&f), "oom");
	build_state(&f, &st, sids);
	blob = to_blob(t, &f, &st, 1, &size, NULL);
	KASSERT(t, blob, "no blob");
	KASSERT(t, skho_handover_parse(blob, size, &ho, &err) == 0, "%s", err.msg);
	/* what a kernel does when KHO did not preserve one page of the buffer */
	KASSERT(t, skho_ranges_filter(&ho.smmu[0].outputs, 12, drop_page_0x80001000, NULL) == 0,
		"filter");
	KEXPECT_EQ(t, ho.smmu[0].outputs.nr, 3);	/* 0x80000000, 0x80002000.., S2 */
	KEXPECT_EQ(t, skho_handover_validate(&ho, 0, &f.mem, record, &v, &err), 1);
	KEXPECT_EQ(t, v.code[SID_S1], -SKHO_E_OUTPUT);	/* its buffer lost a page */
	KEXPECT_EQ(t, v.code[SID_S2], 0);		/* S2 maps elsewhere */
	KEXPECT_EQ(t, v.code[SID_ABORT], 0);		/* maps nothing */
	skho_handover_release(&ho);
	free(blob);
	free(f.buf);
}

static void leaf_mapping_a_table_page_is_refused_output(struct ktest *t)
{
	struct skho_smmu_state st;
	struct skho_err err = { 0 };
	struct skho_snapshot *snap = NULL;
	struct verdicts v;
	struct flat f;
	u32 sids[3];
	size_t size;
	void *blob;

	KASSERT(t, flat_init(&f), "oom");
	build_state(&f, &st, sids);
	blob = to_blob(t, &f, &st, 1, &size, NULL);
	KASSERT(t, blob, "no blob");
	/* after the freeze, IOVA 0x3000 is pointed at the S1 L3 table page itself */
	wr64(&f, S1_L3 + 3 * 8, PTE_PAGE(S1_L3));
	KEXPECT_EQ(t, parse_validate(t, &f, blob, size, &v), 1);
	KEXPECT_EQ(t, v.code[SID_S1], -SKHO_E_OUTPUT);
	KEXPECT_EQ(t, v.code[SID_S2], 0);
	/* and the outgoing kernel refuses to take such a snapshot at all */
	KEXPECT_EQ(t, skho_snapshot_take(&snap, &st, 1, &f.mem, &err), -SKHO_E_OUTPUT);
	KEXPECT(t, strstr(err.msg, "its own tables") != NULL, "%s", err.msg);
	free(blob);
	free(f.buf);
}

/*
 * A hostile handover can point many descriptors at one lower table: a walk
 * would visit it once per pointer (512^levels).  The validator walks each
 * table page of an instance once and refuses the second visit.
 */
static void aliased_lower_table_is_refused_pgtable(struct ktest *t)
{
	struct skho_smmu_state st;
	struct verdicts v;
	struct flat f;
	u32 sids[3], i;
	size_t size;
	void *blob;

	KASSERT(t, flat_init(&f), "oom");
	build_state(&f, &st, sids);
	blob = to_blob(t, &f, &st, 1, &size, NULL);
	KASSERT(t, blob, "no blob");
	/* every L2 entry of the S1 table now leads to the same L3 table */
	for (i = 0; i < 512; i++)
		wr64(&f, S1_L2 + i * 8, PTE_TABLE(S1_L3));
	KEXPECT_EQ(t, parse_validate(t, &f, blob, size, &v), 1);
	KEXPECT_EQ(t, v.code[SID_S1], -SKHO_E_PGTABLE);	/* reached twice: refused */
	KEXPECT_EQ(t, v.code[SID_S2], 0);		/* its own tables: untouched */
	free(blob);
	free(f.buf);
}

static void bypass_ste_is_refused_output(struct ktest *t)
{
	u64 byp[4] = { ste0(SMMU_STE_CFG_BYPASS), 0, 0, 0 };
	struct skho_smmu_state st;
	struct skho_snapshot *snap = NULL;
	struct skho_err err = { 0 };
	struct flat f;
	u32 sids[3];

	KASSERT(t, flat_init(&f), "oom");
	build_state(&f, &st, sids);
	put_ste(&f, STRTAB, SID_ABORT, byp);
	KEXPECT_EQ(t, skho_snapshot_take(&snap, &st, 1, &f.mem, &err), -SKHO_E_OUTPUT);
	KEXPECT_EQ(t, err.sid, SID_ABORT);
	KEXPECT(t, strstr(err.msg, "bypass") != NULL, "%s", err.msg);
	free(f.buf);
}

static void cd_leaf_reaching_beyond_2_52_is_refused_by_snapshot(struct ktest *t)
{
	struct skho_smmu_state st;
	struct skho_snapshot *snap = NULL;
	struct skho_err err = { 0 };
	struct two_win w = { .mem = { two_win_map, &w } };
	const struct skho_ranges *r;
	struct flat f;
	u32 sid;

	KASSERT(t, flat_init(&f), "oom");
	w.f = &f;
	w.high = calloc(1, HIGH_WIN_SIZE);
	KASSERT(t, w.high, "oom");
	build_two_level(&f, &st, &sid);
	/* L1CD 0 points at a 64 KiB leaf (1024 CDs) whose last page is the last
	 * one below 2^52; its SSID 0 CD is the valid one: preserved */
	memcpy(w.high, f.buf + (L2CD_0 - MEM_BASE), 64);
	wr64(&f, L1CD, HIGH_WIN | SMMU_L1CD_V);
	KASSERT(t, skho_snapshot_take(&snap, &st, 1, &w.mem, &err) == 0, "%s", err.msg);
	r = skho_snapshot_ranges(snap, 0);
	KEXPECT_EQ(t, r->r[r->nr - 1].pa + r->r[r->nr - 1].size, 1ULL << 52);
	skho_snapshot_free(snap);
	snap = NULL;
	/* one page higher (L2Ptr is [51:12]: a valid pointer), the leaf's last
	 * page lies at 2^52, which no SMMU can address: refused */
	memcpy(w.high + 0x1000, w.high, 64);
	wr64(&f, L1CD, (HIGH_WIN + 0x1000) | SMMU_L1CD_V);
	KEXPECT_EQ(t, skho_snapshot_take(&snap, &st, 1, &w.mem, &err), -SKHO_E_UNSUPPORTED);
	KEXPECT(t, snap == NULL, "no snapshot");
	free(w.high);
	free(f.buf);
}

KTEST_MAIN("roundtrip",
	   KTEST_CASE(snapshot_fdt_parse_validate_adopts_s1_s2_and_abort),
	   KTEST_CASE(fdt_size_is_exact_one_byte_less_is_nospace),
	   KTEST_CASE(snapshot_of_no_smmu_writes_a_root_only_blob),
	   KTEST_CASE(pte_pointing_table_outside_ranges_refuses_only_that_stream),
	   KTEST_CASE(changed_pte_inside_ranges_refuses_with_digest),
	   KTEST_CASE(ste_changed_in_memory_refuses_with_ste_lost),
	   KTEST_CASE(cd_changed_in_memory_refuses_with_xlat_digest),
	   KTEST_CASE(asid_missing_from_listing_refuses_with_listing),
	   KTEST_CASE(stream_table_outside_ranges_refuses_whole_instance),
	   KTEST_CASE(duplicate_sid_in_snapshot_input_is_refused),
	   KTEST_CASE(invalid_ste_in_snapshot_input_is_refused),
	   KTEST_CASE(two_level_stream_and_cd_tables_roundtrip_and_list_every_table),
	   KTEST_CASE(l2_stream_table_partly_outside_ranges_refuses_its_stream),
	   KTEST_CASE(l2_table_is_preserved_where_the_smmu_reads_it_not_at_l2ptr),
	   KTEST_CASE(l2_table_under_two_spans_is_checked_whole_for_each),
	   KTEST_CASE(s2_table_changed_and_relisted_refuses_with_xlat_digest),
	   KTEST_CASE(table_digest_is_the_documented_digest_of_its_runs),
	   KTEST_CASE(s1_ste_without_valid_cd_is_refused),
	   KTEST_CASE(fdt_costs_at_most_96_bytes_per_ste_at_1024_shared_streams),
	   KTEST_CASE(fdt_costs_at_most_96_bytes_per_ste_with_1024_own_cd_pages),
	   KTEST_CASE(cd_leaf_reaching_beyond_2_52_is_refused_by_snapshot),
	   KTEST_CASE(snapshot_lists_every_mapped_page_as_output_ranges),
	   KTEST_CASE(leaf_on_unpreserved_page_is_refused_by_snapshot_naming_sid_and_iova),
	   KTEST_CASE(leaf_on_page_the_next_kernel_cannot_prove_is_refused_output),
	   KTEST_CASE(leaf_mapping_a_table_page_is_refused_output),
	   KTEST_CASE(bypass_ste_is_refused_output),
	   KTEST_CASE(aliased_lower_table_is_refused_pgtable))
