/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* SMMUv3 in-memory structure layouts: STE, CD, L1 descriptors, VMSAv8-64 PTEs. */
#ifndef SMMUV3_DEFS_H
#define SMMUV3_DEFS_H

/*
 * Section numbers refer to the Arm SMMUv3 specification, IHI 0070 (G.b), and
 * the Arm ARM (DDI 0487) for translation table descriptors.  Every mask below
 * is cross-checked against Linux 7.3's arm-smmu-v3.h / io-pgtable-arm.c by
 * tests/host/test_defs_vs_linux.c.
 *
 * Glossary:
 *   SID    StreamID, selects an STE.          SSID  SubstreamID, selects a CD.
 *   STE    Stream Table Entry, 64 bytes.      CD    Context Descriptor, 64 bytes.
 *   L1STD  Level-1 stream table descriptor.   L1CD  Level-1 CD table descriptor.
 *   lg2    base-2 logarithm of a size:  lg2 4 KiB == 12.
 *   IAS/OAS input / output address size in bits.
 */

#define SKHO_BIT(n)		(1ULL << (n))
#define SKHO_GENMASK(h, l)	((~0ULL >> (63 - (h))) & (~0ULL << (l)))
#define SKHO_FIELD_GET(m, v)	(((v) & (m)) >> __builtin_ctzll(m))
#define SKHO_FIELD_PREP(m, v)	(((u64)(v) << __builtin_ctzll(m)) & (m))

/* ---- Stream table registers, 6.3.23/6.3.24 -------------------------------- */
#define SMMU_STRTAB_BASE_RA		SKHO_BIT(62)
#define SMMU_STRTAB_BASE_ADDR		SKHO_GENMASK(51, 6)
#define SMMU_STRTAB_BASE_CFG_FMT	SKHO_GENMASK(17, 16)
#define SMMU_STRTAB_BASE_CFG_SPLIT	SKHO_GENMASK(10, 6)
#define SMMU_STRTAB_BASE_CFG_LOG2SIZE	SKHO_GENMASK(5, 0)

enum smmu_strtab_fmt {
	SMMU_STRTAB_FMT_LINEAR = 0,
	SMMU_STRTAB_FMT_2LVL = 1,
};

/* ---- Level-1 stream table descriptor, 5.1 --------------------------------- */
#define SMMU_L1STD_SIZE		8
#define SMMU_L1STD_SPAN		SKHO_GENMASK(4, 0)	/* 0: invalid; n: 2^(n-1) STEs */
#define SMMU_L1STD_SPAN_MAX	11			/* 12..31 behave as 0 */
#define SMMU_L1STD_L2PTR	SKHO_GENMASK(51, 6)

/* ---- Stream Table Entry, 5.2 ---------------------------------------------- */
#define SMMU_STE_LG2SIZE	6			/* 64 bytes, 8 dwords */
#define SMMU_STE_DWORDS		8

#define SMMU_STE0_V		SKHO_BIT(0)
#define SMMU_STE0_CONFIG	SKHO_GENMASK(3, 1)
#define SMMU_STE0_S1FMT		SKHO_GENMASK(5, 4)
#define SMMU_STE0_S1CTXPTR	SKHO_GENMASK(51, 6)
#define SMMU_STE0_RES0		SKHO_GENMASK(58, 52)
#define SMMU_STE0_S1CDMAX	SKHO_GENMASK(63, 59)
#define SMMU_S1CDMAX_MAX	20			/* SMMU_IDR1.SSIDSIZE max */

/* STE.Config, 5.2: bit 2 = "enabled", bit 1 = S2 translates, bit 0 = S1. */
enum smmu_ste_config {
	SMMU_STE_CFG_ABORT = 0,		/* 0b000 */
	SMMU_STE_CFG_BYPASS = 4,	/* 0b100 */
	SMMU_STE_CFG_S1 = 5,		/* 0b101 */
	SMMU_STE_CFG_S2 = 6,		/* 0b110 */
	SMMU_STE_CFG_NESTED = 7,	/* 0b111 */
	/* 1, 2, 3 are reserved: C_BAD_STE */
};

/* STE.S1Fmt, 5.2 */
enum smmu_cd_fmt {
	SMMU_CD_FMT_LINEAR = 0,
	SMMU_CD_FMT_2LVL_4K = 1,	/* L2 tables of 2^6 CDs */
	SMMU_CD_FMT_2LVL_64K = 2,	/* L2 tables of 2^10 CDs (Linux's choice) */
};

#define SMMU_STE1_S1DSS		SKHO_GENMASK(1, 0)
enum smmu_s1dss {
	SMMU_S1DSS_TERMINATE = 0,
	SMMU_S1DSS_BYPASS = 1,
	SMMU_S1DSS_SSID0 = 2,
};

#define SMMU_STE2_S2VMID	SKHO_GENMASK(15, 0)
#define SMMU_STE2_S2T0SZ	SKHO_GENMASK(37, 32)
#define SMMU_STE2_S2SL0		SKHO_GENMASK(39, 38)
#define SMMU_STE2_S2TG		SKHO_GENMASK(47, 46)
#define SMMU_STE2_S2PS		SKHO_GENMASK(50, 48)
#define SMMU_STE2_S2AA64	SKHO_BIT(51)
#define SMMU_STE2_S2ENDI	SKHO_BIT(52)
#define SMMU_STE2_S2AFFD	SKHO_BIT(53)
#define SMMU_STE2_S2PTW		SKHO_BIT(54)
#define SMMU_STE2_S2HD		SKHO_BIT(55)	/* HTTU dirty state, with S2HA */
#define SMMU_STE2_S2HA		SKHO_BIT(56)	/* HTTU access flag */
#define SMMU_STE2_S2R		SKHO_BIT(58)

#define SMMU_STE3_S2TTB		SKHO_GENMASK(51, 4)
#define SMMU_STE3_RES0		(SKHO_GENMASK(63, 52) | SKHO_GENMASK(3, 0))

/* ---- Level-1 CD table descriptor, 5.3 ------------------------------------ */
#define SMMU_L1CD_SIZE		8
#define SMMU_L1CD_V		SKHO_BIT(0)
#define SMMU_L1CD_L2PTR		SKHO_GENMASK(51, 12)

/* ---- Context Descriptor, 5.4 ---------------------------------------------- */
#define SMMU_CD_LG2SIZE		6
#define SMMU_CD_DWORDS		8

#define SMMU_CD0_T0SZ		SKHO_GENMASK(5, 0)
#define SMMU_CD0_TG0		SKHO_GENMASK(7, 6)
#define SMMU_CD0_EPD0		SKHO_BIT(14)
#define SMMU_CD0_ENDI		SKHO_BIT(15)
#define SMMU_CD0_EPD1		SKHO_BIT(30)
#define SMMU_CD0_V		SKHO_BIT(31)
#define SMMU_CD0_IPS		SKHO_GENMASK(34, 32)
#define SMMU_CD0_AFFD		SKHO_BIT(35)
#define SMMU_CD0_TBI0		SKHO_BIT(38)	/* top byte ignored: not modelled */
#define SMMU_CD0_AA64		SKHO_BIT(41)
#define SMMU_CD0_HD		SKHO_BIT(42)
#define SMMU_CD0_HA		SKHO_BIT(43)
#define SMMU_CD0_ASID		SKHO_GENMASK(63, 48)
#define SMMU_CD1_TTB0		SKHO_GENMASK(51, 4)

/* TCR.TG0 / VTCR.TG0 granule encodings (identical for CD.TG0 and STE.S2TG). */
enum smmu_tg {
	SMMU_TG_4K = 0,
	SMMU_TG_64K = 1,
	SMMU_TG_16K = 2,
};

/*
 * STE.S2SL0 (5.2, DDI 0487 VTCR_EL2.SL0): starting level of the stage-2 walk.
 * 4K: 0 -> level 2, 1 -> level 1, 2 -> level 0, 3 reserved.
 * 16K and 64K: 0 -> level 3, 1 -> level 2, 2 -> level 1, 3 reserved (16K
 * level 0 needs FEAT_LPA2; Linux concatenates at level 1 instead).
 */
#define SMMU_S2SL0_RESERVED	3

/* TCR.IPS / VTCR.PS: output address size encodings, 0..6 -> bits. */
#define SMMU_PS_BITS { 32, 36, 40, 42, 44, 48, 52 }

/* ---- VMSAv8-64 translation table descriptors (DDI 0487 D8.3) ------------- */
enum smmu_pt_geometry {
	SMMU_PT_MAX_LEVELS = 4,		/* levels 0..3 */
	SMMU_PT_DESC_LG2 = 3,		/* 8-byte descriptors */
	SMMU_PT_S2_MAX_CONCAT = 16,	/* concatenated start-level tables */
};

#define SMMU_PTE_VALID		SKHO_BIT(0)
#define SMMU_PTE_TABLE		SKHO_BIT(1)	/* table (lvl<3) or page (lvl 3) */
#define SMMU_PTE_TYPE		SKHO_GENMASK(1, 0)
#define SMMU_PTE_TYPE_BLOCK	1		/* levels 1-2, granule permitting */
#define SMMU_PTE_TYPE_TABLE	3		/* levels 0-2 */
#define SMMU_PTE_TYPE_PAGE	3		/* level 3 */
#define SMMU_PTE_AP_UNPRIV	SKHO_BIT(6)	/* S1 AP[1] */
#define SMMU_PTE_AP_RDONLY	SKHO_BIT(7)	/* S1 AP[2] */
#define SMMU_PTE_S2AP_R		SKHO_BIT(6)	/* S2AP[0] */
#define SMMU_PTE_S2AP_W		SKHO_BIT(7)	/* S2AP[1] */
#define SMMU_PTE_AF		SKHO_BIT(10)
#define SMMU_PTE_ADDR		SKHO_GENMASK(47, 12)	/* OA[47:12] */
#define SMMU_PTE_ADDR_HI_64K	SKHO_GENMASK(15, 12)	/* OA[51:48], 64K granule */
#define SMMU_PTE_DBM		SKHO_BIT(51)	/* dirty bit modifier (CD.HD) */
#define SMMU_PTE_XN		SKHO_GENMASK(54, 53)

#endif /* SMMUV3_DEFS_H */
