/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* KHO ABI: the FDT subtree that hands SMMUv3 translation state to the next kernel. */
#ifndef SMMU_KHO_ABI_H
#define SMMU_KHO_ABI_H

/**
 * DOC: smmu-kho KHO ABI
 *
 * The previous kernel registers one KHO subtree named SKHO_KHO_NAME.  It is a
 * flattened device tree; every multi-byte cell is big-endian, as in any FDT,
 * except the raw STE bytes, which are copied from memory as the SMMU reads
 * them (little-endian 64-bit words).
 *
 *   / {
 *       compatible = "smmu-kho-v3";          ABI major version, see below
 *       smmu-kho,abi-minor = <u32>;          additive changes only
 *       smmu@<mmio base, hex> {              one node per SMMU instance
 *           reg = <u64>;                     MMIO base: the node's identity
 *           strtab-base = <u64>;             SMMU_STRTAB_BASE as programmed
 *           strtab-base-cfg = <u32>;         SMMU_STRTAB_BASE_CFG as programmed
 *           features = <u32>;                SKHO_SMMU_F_*
 *           oas = <u32>;                     SMMU_IDR5.OAS in bits (32..52)
 *           preserved-ranges = [bytes];      runs of 4 KiB pages, see below
 *           output-ranges = [bytes];         same encoding: pages the tables map
 *           streams = [struct skho_abi_stream]...;      sorted by SID, unique
 *           page-tables = [struct skho_abi_pgtable]...; sorted by root, unique
 *           asids = <u32>...;                sorted, unique (S1 ASIDs in use)
 *           vmids = <u32>...;                sorted, unique (S2 VMIDs in use)
 *       };
 *   };
 *
 * preserved-ranges lists every 4 KiB page of SMMU-owned memory the preserved
 * streams depend on: the pages holding the stream table (the whole linear
 * table, or the L1 table and the L2 tables that hold preserved STEs), their
 * CD tables (L1 and leaf), and every page-table page of their stage-1 and
 * stage-2 tables.  KHO preserves whole pages, so the page is the unit.  The
 * next kernel must refuse any table pointer or table descriptor that leads
 * outside these pages.
 *
 * output-ranges lists, in the same encoding, every 4 KiB page that a leaf
 * of those tables maps (DMA buffers, guest memory): what the devices can
 * reach.  Their owners preserve them; the previous kernel refused to freeze
 * a stream mapping a page KHO does not preserve, and the next kernel
 * refuses any stream with a leaf outside output-ranges, or on a page it
 * cannot prove preserved, or on a page of preserved-ranges.
 *
 * Encoding: ascending, disjoint, non-adjacent runs of pages, each two
 * unsigned LEB128 numbers (7 bits a byte, least significant group first,
 * bit 7 set on every byte but the last; shortest form only):
 *   skip    pages between the end of the previous run (page 0 for the
 *           first run) and the first page of this one; >= 1 after the first
 *   count   pages in the run, minus 1
 * Every page lies below 2^SKHO_ABI_PA_BITS, so each number fits in
 * SKHO_ABI_VARINT_MAX bytes.
 *
 * Digests are SKHO_DIGEST (64-bit, see digest.c) over canonical encodings
 * defined in docs/abi.md:
 *   ste_digest   digest of the 64 raw STE bytes.
 *   pgtable digest   digest of the table's translation set: the maximal runs
 *                (iova, pa, size, prot) it maps, in IOVA order.
 *   xlat_digest  digest of the stream's translation: its S2 table digest (if
 *                any) and, for each valid CD in SSID order, the SSID, the 64
 *                raw CD bytes and the CD's table digest.
 *
 * Versioning: any change to a layout or meaning below bumps the major number
 * in SKHO_ABI_COMPATIBLE; a new kernel refuses a major it does not know.
 * Adding an optional property bumps the minor only.  v2 (page runs in
 * preserved-ranges, 84-byte streams records without flags) replaced v1
 * (16-byte {pa, size} ranges, 88-byte records); v3 added the mandatory
 * output-ranges; docs/abi.md says why.
 */

#define SKHO_KHO_NAME		"smmu-kho"
#define SKHO_ABI_COMPATIBLE	"smmu-kho-v3"
#define SKHO_ABI_MINOR		0

/* Property names. */
#define SKHO_PROP_COMPATIBLE	"compatible"
#define SKHO_PROP_ABI_MINOR	"smmu-kho,abi-minor"
#define SKHO_PROP_REG		"reg"
#define SKHO_PROP_STRTAB_BASE	"strtab-base"
#define SKHO_PROP_STRTAB_CFG	"strtab-base-cfg"
#define SKHO_PROP_FEATURES	"features"
#define SKHO_PROP_OAS		"oas"
#define SKHO_PROP_RANGES	"preserved-ranges"
#define SKHO_PROP_OUTPUTS	"output-ranges"
#define SKHO_PROP_STREAMS	"streams"
#define SKHO_PROP_PGTABLES	"page-tables"
#define SKHO_PROP_ASIDS		"asids"
#define SKHO_PROP_VMIDS		"vmids"
#define SKHO_NODE_PREFIX	"smmu@"

/* features: what the adopting kernel must know about the instance. */
#define SKHO_SMMU_F_COHERENT	0x1U		/* table walks are IO-coherent */
#define SKHO_SMMU_F_ALL		(SKHO_SMMU_F_COHERENT)

/* preserved-ranges: pages of 4 KiB, all below 2^52 (SMMUv3's largest OAS). */
#define SKHO_ABI_PAGE_SHIFT	12
#define SKHO_ABI_PA_BITS	52
/* Bytes of one LEB128 number below 2^(52 - 12): 40 bits, 7 a byte. */
#define SKHO_ABI_VARINT_MAX	6

/**
 * struct skho_abi_stream - one entry of streams (84 bytes, no padding: the
 * FDT aligns property values to 4 bytes only, so the record is packed).
 * @sid:         StreamID.
 * @ste_digest:  digest of @ste.
 * @xlat_digest: digest of the stream's translation (see above).
 * @ste:         the STE exactly as in memory at freeze time: the reference
 *               copy that proves no STE content was lost.
 */
struct skho_abi_stream {
	fdt32_t sid;
	fdt64_t ste_digest;
	fdt64_t xlat_digest;
	unsigned char ste[64];
} __packed;

/* skho_abi_pgtable.stage */
enum skho_stage {
	SKHO_STAGE1 = 1,
	SKHO_STAGE2 = 2,
};

/**
 * struct skho_abi_pgtable - one entry of page-tables (24 bytes): a distinct
 * translation table reached from a preserved STE or CD.
 * @root:        physical address of the start-level table.
 * @stage:       enum skho_stage.
 * @granule_lg2: 12, 14 or 16.
 * @start_level: 0..3.
 * @ias:         input address size in bits (64 - TxSZ).
 * @oas:         output address size in bits (from IPS / S2PS).
 * @nr_concat:   number of concatenated start-level tables (1..16; S2 only >1).
 * @reserved:    0.
 * @digest:      digest of the table's translation set.
 */
struct skho_abi_pgtable {
	fdt64_t root;
	unsigned char stage;
	unsigned char granule_lg2;
	unsigned char start_level;
	unsigned char ias;
	unsigned char oas;
	unsigned char nr_concat;
	unsigned char reserved[2];
	fdt64_t digest;
};

#endif /* SMMU_KHO_ABI_H */
