/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Reference walker: what an SMMUv3 does with (SID, SSID, IOVA, access). */
#ifndef SKHO_WALK_H
#define SKHO_WALK_H

#include "skho.h"
#include "smmuv3_defs.h"

/* Outcome of a transaction: SMMUv3 event numbers (7.3), plus OK and ABORT. */
enum skho_fault {
	SKHO_XLATE_OK = 0,
	SKHO_C_BAD_STREAMID = 0x02,
	SKHO_F_STE_FETCH = 0x03,	/* STE/L1STD not readable */
	SKHO_C_BAD_STE = 0x04,
	SKHO_F_STREAM_DISABLED = 0x06,	/* no SSID and S1DSS == terminate */
	SKHO_C_BAD_SUBSTREAMID = 0x08,
	SKHO_F_CD_FETCH = 0x09,		/* CD/L1CD not readable */
	SKHO_C_BAD_CD = 0x0a,
	SKHO_F_WALK_EABT = 0x0b,	/* table descriptor not readable */
	SKHO_F_TRANSLATION = 0x10,
	SKHO_F_ADDR_SIZE = 0x11,
	SKHO_F_ACCESS = 0x12,
	SKHO_F_PERMISSION = 0x13,
	SKHO_XLATE_ABORT = 0x100,	/* STE.Config == abort: no event */
};

const char *skho_fault_name(enum skho_fault f);

#define SKHO_PROT_R	1u
#define SKHO_PROT_W	2u

/* One translation regime: a page table and its geometry. */
struct skho_pt_cfg {
	u64 root;		/* PA (or IPA, under nesting) of the start table */
	u8 stage;		/* enum skho_stage */
	u8 granule_lg2;		/* 12, 14, 16 */
	u8 start_level;		/* 0..3 */
	u8 ias;			/* input address bits */
	u8 oas;			/* output address bits */
	u8 nr_concat;		/* 1..16 concatenated start tables */
	bool ha;		/* hardware Access flag: AF=0 does not fault */
};

/* An SMMU instance as the walker sees it. */
struct skho_smmu {
	u64 strtab_base;	/* SMMU_STRTAB_BASE */
	u32 strtab_cfg;		/* SMMU_STRTAB_BASE_CFG */
	u8 oas;			/* SMMU_IDR5.OAS, bits */
	const struct skho_mem *mem;
};

struct skho_ste_info {
	u8 config;		/* enum smmu_ste_config */
	u8 s1fmt, s1cdmax, s1dss;
	u64 s1ctxptr;		/* PA, or IPA when nested */
	u16 vmid;
	struct skho_pt_cfg s2;	/* valid for S2 and nested */
};

struct skho_cd_info {
	bool valid;		/* CD.V */
	bool epd0;		/* TTB0 walks disabled: everything faults */
	u16 asid;
	struct skho_pt_cfg s1;
};

/*
 * Decoders check every field smmu-kho relies on.  They return 0, or
 * -SKHO_E_STE / -SKHO_E_CD / -SKHO_E_PGTABLE / -SKHO_E_UNSUPPORTED with @err
 * naming the field (a V=0 CD decodes fine with valid=false).
 */
int skho_ste_decode(const u8 ste[64], u8 smmu_oas, struct skho_ste_info *out,
		    struct skho_err *err);
int skho_cd_decode(const u8 cd[64], u8 smmu_oas, struct skho_cd_info *out,
		   struct skho_err *err);

/* PA of the STE for @sid, or the fault (C_BAD_STREAMID, C_BAD_STE, F_STE_FETCH). */
enum skho_fault skho_ste_locate(const struct skho_smmu *smmu, u32 sid, u64 *ste_pa);

/*
 * PA of the CD for @ssid of a stage-1 (not nested) STE, or the fault
 * (C_BAD_SUBSTREAMID, C_BAD_CD for an invalid L1CD, F_CD_FETCH).
 */
enum skho_fault skho_cd_locate(const struct skho_smmu *smmu,
			       const struct skho_ste_info *ste, u32 ssid, u64 *cd_pa);

/* Walk one table for one access.  *prot gets SKHO_PROT_* of the leaf. */
enum skho_fault skho_pt_translate(const struct skho_pt_cfg *pt,
				  const struct skho_mem *mem, u64 iova,
				  bool write, u64 *pa, u32 *prot);

/*
 * What @iova meets in a table, permissions unchecked: SKHO_XLATE_OK for a
 * leaf (any prot, 0 included), else F_TRANSLATION, F_ADDR_SIZE, F_ACCESS or
 * F_WALK_EABT.  @leaf->last is the last IOVA with the same outcome (the
 * leaf's end, or the faulting region's), so a range costs one call per leaf.
 */
struct skho_pt_leaf {
	u64 pa;			/* of @iova (0 on a fault) */
	u64 last;
	u64 table;		/* the descriptor read last (F_WALK_EABT: unreadable) */
	u32 prot;		/* SKHO_PROT_* of the leaf */
};

enum skho_fault skho_pt_lookup(const struct skho_pt_cfg *pt,
			       const struct skho_mem *mem, u64 iova,
			       struct skho_pt_leaf *leaf);

/*
 * Enumerate a table: table() once per table page (the concatenated start
 * tables count as one of nr_concat << granule_lg2 bytes) before reading it;
 * run() for each maximal run of IOVA-contiguous, PA-contiguous leaves with
 * equal prot, in IOVA order (prot 0: mapped without access permission).
 * Invariant: an IOVA inside a run translates OK to run.pa + offset with that
 * prot (or F_PERMISSION for prot 0); any other IOVA faults.
 * Returns 0, the first non-zero callback value, or -SKHO_E_OUTSIDE (a table
 * not readable through @mem) / -SKHO_E_PGTABLE (bad geometry).
 */
struct skho_pt_visitor {
	int (*table)(void *arg, u64 pa, u64 size, unsigned int level);
	int (*run)(void *arg, u64 iova, u64 pa, u64 size, u32 prot);
	void *arg;
};

int skho_pt_walk(const struct skho_pt_cfg *pt, const struct skho_mem *mem,
		 const struct skho_pt_visitor *v, struct skho_err *err);

/* One whole transaction, stage 1, stage 2 or nested. */
struct skho_xlate {
	u32 sid;
	u32 ssid;
	bool ssv;		/* transaction carries a SubstreamID */
	bool write;
	u64 iova;
	/* results */
	enum skho_fault fault;
	u8 fault_stage;		/* 1 or 2 for walk faults, 0 otherwise */
	u64 pa;
	u32 prot;
};

void skho_translate(const struct skho_smmu *smmu, struct skho_xlate *x);

#endif /* SKHO_WALK_H */
