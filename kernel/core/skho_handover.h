/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Handover: serialize live SMMU state to the KHO FDT; parse and validate it. */
#ifndef SKHO_HANDOVER_H
#define SKHO_HANDOVER_H

#include "skho.h"
#include "skho_walk.h"
#include "smmu_kho_abi.h"

enum skho_limits {
	SKHO_MAX_SMMUS = 16,
	SKHO_MAX_STREAMS = 1 << 20,		/* per SMMU */
	SKHO_MAX_RANGES = 1 << 20,		/* page runs per SMMU */
	SKHO_MAX_PGTABLES = 1 << 20,		/* per SMMU */
	SKHO_MAX_LG2_STRTAB = 32,		/* SIDSIZE */
	SKHO_MAX_LG2_LINEAR_STRTAB = 24,	/* 1 GiB linear table */
	SKHO_MAX_CDMAX = 20,			/* SSIDSIZE */
};

/* Serializer input: one SMMU instance and the streams to preserve. */
struct skho_smmu_state {
	u64 mmio_base;
	u64 strtab_base;	/* SMMU_STRTAB_BASE */
	u32 strtab_cfg;		/* SMMU_STRTAB_BASE_CFG */
	u32 features;		/* SKHO_SMMU_F_* */
	u8 oas;			/* SMMU_IDR5.OAS, bits */
	const u32 *sids;	/* any order, no duplicates */
	u32 nr_sids;
	/*
	 * Output policy, may be NULL (accept every leaf): called once per
	 * maximal run [pa, pa + size) that a table of a preserved stream
	 * maps; returns false when the devices must not reach it (in the
	 * kernel: memory KHO does not preserve).  The snapshot then fails
	 * with -SKHO_E_OUTPUT naming the SID, IOVA and PA.
	 */
	bool (*output_ok)(void *arg, u64 pa, u64 size);
	void *output_arg;
};

struct skho_snapshot;

/*
 * Read the state of the given streams through @mem: STEs, CD tables, page
 * tables; collect the ranges to preserve and the pages the tables map, and
 * compute digests.  Nothing is written.  Errors: -SKHO_E_INVAL,
 * -SKHO_E_SID (duplicate, out of table), -SKHO_E_STE, -SKHO_E_CD,
 * -SKHO_E_PGTABLE, -SKHO_E_OUTSIDE (unreadable table), -SKHO_E_OUTPUT (a
 * bypass STE or S1DSS, a leaf output_ok() refused, or a leaf on a table
 * page), -SKHO_E_UNSUPPORTED, -SKHO_E_LIMIT, -SKHO_E_NOMEM.
 */
int skho_snapshot_take(struct skho_snapshot **out,
		       const struct skho_smmu_state *smmus, u32 nr_smmus,
		       const struct skho_mem *mem, struct skho_err *err);
/* Exact size of the FDT skho_snapshot_to_fdt() writes. */
size_t skho_snapshot_fdt_size(const struct skho_snapshot *s);
/*
 * Write the FDT.  -SKHO_E_NOSPACE if @bufsz is too small, -SKHO_E_FDT,
 * -SKHO_E_INVAL (NULL argument).
 */
int skho_snapshot_to_fdt(const struct skho_snapshot *s, void *buf, size_t bufsz,
			 struct skho_err *err);
/*
 * Normalized ranges of SMMU @idx that must be preserved: whole 4 KiB pages,
 * exactly the runs the FDT's preserved-ranges lists.
 */
const struct skho_ranges *skho_snapshot_ranges(const struct skho_snapshot *s,
					       u32 idx);
/* Normalized whole pages that SMMU @idx's preserved tables map: output-ranges. */
const struct skho_ranges *skho_snapshot_outputs(const struct skho_snapshot *s,
						u32 idx);
void skho_snapshot_free(struct skho_snapshot *s);

/*
 * The preserved-ranges encoding (smmu_kho_abi.h, docs/abi.md).
 *
 * skho_ranges_to_pages() rounds every range of @rs out to whole 4 KiB pages
 * and normalizes the set.  Returns 0, or -SKHO_E_INVAL when a range ends in
 * the last page of the 64-bit space.
 *
 * skho_ranges_encode() writes the runs of @rs, which must be whole pages
 * below 2^52, ascending, with a gap between neighbours (what
 * skho_ranges_to_pages() gives), into @buf, or only counts the bytes when
 * @buf is NULL.  Returns the number of bytes, -SKHO_E_INVAL (@rs not so),
 * -SKHO_E_NOSPACE (@len too small), -SKHO_E_LIMIT (more than
 * SKHO_MAX_RANGES runs).
 *
 * skho_ranges_decode() decodes @len bytes of hostile input at @val into the
 * empty set @out (normalized, page-aligned; freed by skho_ranges_free()),
 * never reading outside them.  Errors: -SKHO_E_PROP (a number cut short, not
 * in shortest form, or longer than SKHO_ABI_VARINT_MAX bytes), -SKHO_E_RANGES
 * (a run touching its predecessor, or reaching beyond 2^52),
 * -SKHO_E_LIMIT (more than SKHO_MAX_RANGES runs), -SKHO_E_NOMEM,
 * -SKHO_E_INVAL (@out NULL or not empty).
 */
int skho_ranges_to_pages(struct skho_ranges *rs);
int skho_ranges_encode(const struct skho_ranges *rs, u8 *buf, size_t len);
int skho_ranges_decode(const void *val, size_t len, struct skho_ranges *out,
		       struct skho_err *err);

/* Records inside an FDT are only 4-byte aligned: load cells through these. */
static inline u32 skho_fdt_ld32(const void *p)
{
	fdt32_t v;

	memcpy(&v, p, sizeof(v));
	return fdt32_to_cpu(v);
}

static inline u64 skho_fdt_ld64(const void *p)
{
	fdt64_t v;

	memcpy(&v, p, sizeof(v));
	return fdt64_to_cpu(v);
}

/*
 * Stream table geometry from SMMU_STRTAB_BASE(_CFG).  @l1_size is the bytes
 * of the linear table (64 << log2size) or of the L1 table
 * (8 << max(0, log2size - split)).  -SKHO_E_SMMU when FMT is not 0/1, SPLIT
 * (2-level) not 6/8/10, LOG2SIZE above SKHO_MAX_LG2_(LINEAR_)STRTAB, reserved
 * bits set in CFG or in STRTAB_BASE (outside ADDR[51:6] and RA).  @base is
 * ADDR aligned down to the table size (64 bytes at least), as the SMMU does.
 */
struct skho_strtab_geo {
	u64 base;		/* table PA */
	u64 l1_size;
	u8 two_level, log2size, split;
};

int skho_strtab_geo(u64 strtab_base, u32 strtab_cfg, struct skho_strtab_geo *g,
		    struct skho_err *err);

/* A parsed handover: views into the blob, all lengths checked. */
struct skho_ho_smmu {
	u64 mmio_base;
	u64 strtab_base;
	u32 strtab_cfg;
	u32 features;
	u8 oas;				/* SMMU_IDR5.OAS, bits (property "oas") */
	const struct skho_abi_stream *streams;	/* only 4-byte aligned: */
	/* read records with skho_fdt_ld32/64 at offsetof(), never p->field */
	u32 nr_streams;
	const struct skho_abi_pgtable *pgtables;
	u32 nr_pgtables;
	const fdt32_t *asids;
	u32 nr_asids;
	const fdt32_t *vmids;
	u32 nr_vmids;
	struct skho_ranges ranges;	/* decoded, normalized (owned) */
	/*
	 * output-ranges, decoded (owned).  The validator accepts a leaf only
	 * inside these and outside @ranges; a kernel removes from them what
	 * it cannot prove preserved (skho_ranges_remove) before validating.
	 */
	struct skho_ranges outputs;
};

struct skho_handover {
	u32 abi_minor;
	u32 nr_smmus;
	struct skho_ho_smmu smmu[SKHO_MAX_SMMUS];
};

/*
 * Parse a blob handed over by the previous kernel; hostile input.  Checks the
 * FDT structure, compatible, every property length, the stream table
 * configuration, that SIDs are sorted, unique and inside the table, and that
 * ranges are sorted, disjoint and bounded.  Never reads outside @blob.
 * Errors: -SKHO_E_FDT, -SKHO_E_COMPAT, -SKHO_E_PROP, -SKHO_E_SMMU,
 * -SKHO_E_SID, -SKHO_E_RANGES, -SKHO_E_LIMIT, -SKHO_E_NOMEM, -SKHO_E_INVAL
 * (@ho NULL).  docs/abi.md lists what each code refuses.
 * On success the caller frees with skho_handover_release().
 */
int skho_handover_parse(const void *blob, size_t size, struct skho_handover *ho,
			struct skho_err *err);
void skho_handover_release(struct skho_handover *ho);

/*
 * Validate SMMU @idx's streams against preserved memory read through @mem,
 * fenced to the handed-over ranges; every leaf of every table must lie in
 * the SMMU's outputs and outside its ranges (else -SKHO_E_OUTPUT).
 * @verdict is called once per stream, in SID order, with NULL (adopt) or
 * the reason to abort it.  Returns the number
 * of streams refused, or a negative -SKHO_E_* when the instance as a whole
 * cannot be trusted (then every stream was reported refused): -SKHO_E_OUTSIDE
 * (stream table not inside the ranges), -SKHO_E_SMMU (strtab cfg),
 * -SKHO_E_NOMEM; -SKHO_E_INVAL (bad @idx or NULL argument: no verdicts).
 */
typedef void (*skho_verdict_fn)(void *arg, u32 sid, const struct skho_err *why);
int skho_handover_validate(const struct skho_handover *ho, u32 idx,
			   const struct skho_mem *mem, skho_verdict_fn verdict,
			   void *arg, struct skho_err *err);

/*
 * Shared by serializer and validator: the translation digest of one stream
 * (see smmu_kho_abi.h).  @pt_digest returns the digest of one table (the
 * caller memoizes); it is called for every table the stream uses.  table()
 * gets the stream-table pages and CD-table pages the stream depends on
 * (docs/abi.md); asid()/vmid() what it uses.  Any callback may be NULL;
 * a callback returns 0 or -SKHO_E_* and fills its own error report.
 */
typedef int (*skho_pt_digest_fn)(void *arg, const struct skho_pt_cfg *pt,
				 u64 *digest, struct skho_err *err);
struct skho_stream_visitor {
	skho_pt_digest_fn pt_digest;
	int (*table)(void *arg, u64 pa, u64 size);	/* STE/CD table pages */
	int (*asid)(void *arg, u16 asid);
	int (*vmid)(void *arg, u16 vmid);
	void *arg;
};

/*
 * skho_stream_locate(): the STE of @sid in the stream table of geometry @g
 * (skho_strtab_geo() of @smmu's registers), read through smmu->mem: its
 * address and a pointer to its 64 bytes.  table() sees the stream-table
 * pages it depends on: the linear table or the L1 table, and the L2 table
 * holding it (64 << (Span - 1) bytes at L1STD.L2Ptr aligned down to that
 * size, as the SMMU reads it).  Errors: -SKHO_E_SID (SID beyond the table,
 * L1STD Span 0 or above SPLIT + 1, SID beyond the Span), -SKHO_E_OUTSIDE
 * (L1STD or STE not readable), or what table() returned.
 *
 * skho_stream_visit_ste(): the rest, for the STE bytes @ste of @sid: decode,
 * CD tables, tables, digest.  Errors: -SKHO_E_STE (V=0, bad STE),
 * -SKHO_E_CD (no valid CD), -SKHO_E_OUTSIDE (a CD table not readable
 * through smmu->mem), -SKHO_E_UNSUPPORTED / -SKHO_E_PGTABLE (from the
 * STE/CD decoders), or what a callback returned.
 *
 * skho_stream_visit(): both, @ste being the caller's copy of the STE (the
 * one in memory is only located).  Errors: theirs, and -SKHO_E_SMMU
 * (strtab cfg).
 */
int skho_stream_locate(const struct skho_smmu *smmu, const struct skho_strtab_geo *g,
		       u32 sid, const struct skho_stream_visitor *v, u64 *ste_pa,
		       const u8 **ste, struct skho_err *err);
int skho_stream_visit_ste(const struct skho_smmu *smmu, u32 sid, const u8 ste[64],
			  const struct skho_stream_visitor *v, u64 *xlat_digest,
			  struct skho_err *err);
int skho_stream_visit(const struct skho_smmu *smmu, u32 sid, const u8 ste[64],
		      const struct skho_stream_visitor *v, u64 *xlat_digest,
		      struct skho_err *err);

/*
 * Digest of one table's translation set (walks it through @mem); table()
 * (may be NULL) sees every table page.  Errors: those of skho_pt_walk().
 */
int skho_pt_digest(const struct skho_pt_cfg *pt, const struct skho_mem *mem,
		   int (*table)(void *arg, u64 pa, u64 size, unsigned int level),
		   void *arg, u64 *digest, struct skho_err *err);
/*
 * The same, with both callbacks of @obs (either may be NULL) observing the
 * walk: table() every table page, run() every run digested.  A non-zero
 * return from either stops the walk and is returned.
 */
int skho_pt_digest_obs(const struct skho_pt_cfg *pt, const struct skho_mem *mem,
		       const struct skho_pt_visitor *obs, u64 *digest,
		       struct skho_err *err);
/*
 * Remove from the normalized set @rs every page for which keep() is false
 * (whole pages of 2^@page_shift bytes; @rs must be page-aligned).  For a
 * kernel that proves outputs preserved.  Returns 0 or -SKHO_E_NOMEM.
 */
int skho_ranges_filter(struct skho_ranges *rs, unsigned int page_shift,
		       bool (*keep)(void *arg, u64 pa, u64 size), void *arg);

/* True for an output address size an SMMU can report (SMMU_IDR5.OAS). */
bool skho_oas_valid(u32 oas);

#endif /* SKHO_HANDOVER_H */
