/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Random valid SMMUv3 states, programmed as Linux 7.3 would, with a shadow model. */
#ifndef GEN_H
#define GEN_H

#include "arena.h"
#include "skho_handover.h"
#include "skho_walk.h"

/*
 * gen_build() fills an arena with one or more SMMU instances exactly as the
 * Linux 7.3 arm-smmu-v3 driver and io-pgtable-arm would have programmed them
 * (arm_smmu_make_{abort,bypass,cdtable,s2_domain}_ste, the nested STE of
 * arm-smmu-v3-iommufd.c, arm_smmu_make_s1_cd, arm_lpae_prot_to_pte, ...),
 * and keeps a shadow model that says, without reading the arena, what every
 * (SID, SSID or none, IOVA, access) must produce.  Everything is a pure
 * function of the seed and the parameters.
 *
 * Memory: stream tables, CD tables and page tables the host driver owns are
 * ARENA_SMMU allocations (zeroed, rounded up to the kernel page size and
 * naturally aligned, as dma_alloc_coherent/iommu_alloc_pages give them).
 * DMA buffers are ARENA_EXTERNAL reservations (addresses only).  A VM's
 * guest RAM is one ARENA_EXTERNAL backed allocation: the guest's CD tables
 * and stage-1 tables of nested streams live there, addressed by IPA.
 */

#define GEN_MAX_SMMUS	4

enum gen_ste_kind {
	GEN_STE_ABORT,		/* blocked domain */
	GEN_STE_BYPASS,		/* identity domain */
	GEN_STE_S1,		/* CD table STE (paging domain and/or PASIDs) */
	GEN_STE_S2,		/* S2 paging domain (VFIO style) */
	GEN_STE_NESTED,		/* iommufd nested domain over an S2 parent */
	GEN_STE__COUNT
};

/* One leaf descriptor of a table: [iova, iova+size) -> pa, SKHO_PROT_*. */
struct gen_leaf {
	u64 iova;
	u64 pa;
	u64 size;
	u32 prot;
	u32 level;
};

struct gen_vm;

/* One io-pgtable instance (a domain's table), host- or guest-owned. */
struct gen_pt {
	struct skho_pt_cfg cfg;	/* root: PA, or IPA for a guest table */
	u32 smmu;
	u16 id;			/* ASID (stage 1) or VMID (stage 2) */
	bool hd;		/* dirty tracking: DBM makes AP[2]=1 writable */
	bool coherent;		/* walks are IO-coherent (TCR SH/RGN) */
	const struct gen_vm *vm; /* guest table: addresses are IPAs of vm */
	struct gen_leaf *leaf;	/* sorted by iova once built */
	u32 nr_leaf, cap_leaf;
	struct skho_range *page; /* table memory, PAs, in allocation order */
	u32 nr_page, cap_page;
	/* builder cache: the last leaf-level table touched */
	u64 c_key;
	u32 c_lvl;
	u8 *c_tbl;
};

/* A VM: an S2 parent domain and the guest RAM it maps. */
struct gen_vm {
	struct gen_pt *s2;
	u64 ram_ipa, ram_pa, ram_size, ram_used;
	u8 granule_lg2;		/* the guest's page size */
};

struct gen_cd {
	u32 ssid;
	u16 asid;
	struct gen_pt *pt;
};

/* A master's CD table (host) or a guest's (nested: addresses are IPAs). */
struct gen_cdtab {
	u8 fmt;			/* enum smmu_cd_fmt as written in the STE */
	u8 cdmax;		/* STE.S1CDMax */
	const struct gen_vm *vm; /* guest-owned */
	u64 base;		/* STE.S1ContextPtr */
	u64 *l2;		/* 2-level: L2 table address per L1 index, 0: none */
	u32 nr_l1;
	struct gen_cd *cd;	/* valid CDs, sorted by ssid */
	u32 nr_cd, cap_cd;
	struct skho_range *page; /* table memory, PAs */
	u32 nr_page, cap_page;
};

struct gen_stream {
	u32 sid;
	u32 master;
	u8 kind;		/* enum gen_ste_kind */
	u8 s1dss;		/* as written (S1 and nested) */
	bool frozen;		/* turned into an abort STE by gen_freeze() */
	u64 ste_pa;
	u64 ste[8];		/* the STE as written, CPU order */
	struct gen_cdtab *cdt;	/* S1 and nested */
	struct gen_pt *s2;	/* S2 and nested */
};

struct gen_smmu {
	struct skho_smmu hw;	/* what the walker needs */
	u64 mmio_base;
	u32 features;		/* SKHO_SMMU_F_* */
	bool e2h, attr_ovr, stalls, hd; /* Linux ARM_SMMU_FEAT_* that shape STEs */
	bool two_level;
	u8 sid_bits, split;
	u64 strtab_pa;		/* linear table or L1 table */
	u64 strtab_bytes;
	u64 *l2;		/* 2-level: L2 PA per L1 index, 0: none */
	u32 nr_l1;
	struct gen_stream *st;	/* programmed SIDs, sorted */
	u32 nr_st, cap_st;
	struct gen_pt **pt;	/* every table of this instance, host and guest */
	u32 nr_pt, cap_pt;
	struct gen_cdtab **cdt;
	u32 nr_cdt, cap_cdt;
	struct gen_vm **vm;
	u32 nr_vm, cap_vm;
	u8 vmid_used[65536 / 8];
};

struct gen_params {
	u32 nr_smmus;		/* 1..GEN_MAX_SMMUS */
	u32 masters;		/* devices per SMMU */
	u32 max_sids_per_master;
	u32 s1_domains;		/* host stage-1 paging domains per SMMU */
	u32 s2_domains;		/* host stage-2 paging domains per SMMU */
	u32 vms;		/* nested VMs per SMMU (0: no nested STEs) */
	u32 max_regions;	/* mapped regions per table */
	u32 max_leaves;		/* leaves per region */
	u8 min_sid_bits, max_sid_bits;
	u8 max_ssid_bits;	/* PASID width of masters (0..20) */
	u8 page_lg2;		/* kernel page size 12/14/16; 0: random */
	u8 strtab;		/* 0 random, 1 linear, 2 two-level */
	u8 split;		/* two-level split 6/8/10; 0: random */
	bool dirty;		/* some S1 domains use dirty tracking (HA/HD) */
	bool dirty_clean;	/* ... with writable-clean pages (DBM=1, AP[2]=1) */
	/* large: one S1 4K-granule domain mapping this many bytes, attached
	 * to every master (no other domain kinds) */
	u64 shared_s1_bytes;
};

/* Small: a few dozen streams, every kind, exhaustively checkable. */
void gen_params_small(struct gen_params *p);
/* Large: 65,536-SID 2-level table, 1,024 streams sharing an S1 4K table
 * mapping 1 GiB (benchmarks, sampled checks). */
void gen_params_large(struct gen_params *p);

struct gen_state {
	struct arena *arena;
	u64 seed;
	u64 rng;
	struct gen_params p;
	u8 page_lg2;
	u32 nr_smmus;
	struct gen_smmu smmu[GEN_MAX_SMMUS];
	u8 asid_used[65536 / 8]; /* ASIDs are global in Linux (arm_smmu_asid_xa) */
	u64 nr_leaves, nr_tables;
};

/* Build a state; NULL on host allocation failure (or bad parameters). */
struct gen_state *gen_build(u64 seed, const struct gen_params *p);
void gen_free(struct gen_state *g);

/* Stream by SID, or NULL when @sid was never programmed. */
const struct gen_stream *gen_stream_find(const struct gen_state *g, u32 si, u32 sid);

/*
 * The shadow's view of one (SMMU, SID, SSID or none): either a fixed outcome
 * (fault != SKHO_XLATE_OK) or a translation by s1 (NULL: stage 1 bypassed)
 * then s2 (NULL: stage 2 bypassed).
 */
struct gen_ctx {
	u32 smmu, sid, ssid;
	bool ssv;
	const struct gen_stream *st;	/* NULL when the SID is unprogrammed */
	enum skho_fault fault;
	const struct gen_pt *s1, *s2;
};
void gen_ctx_get(const struct gen_state *g, u32 si, u32 sid, bool ssv, u32 ssid,
		 struct gen_ctx *c);
/* Expected result of one access: x->fault, fault_stage, pa, prot. */
void gen_ctx_expect(const struct gen_ctx *c, u64 iova, bool write,
		    struct skho_xlate *x);
/*
 * The interesting contexts of a stream: no SSID, SSID 0, every valid CD, a
 * few invalid SSIDs (inside and beyond S1CDMax).  Returns how many were
 * written (at most @max).
 */
u32 gen_stream_ctxs(const struct gen_state *g, u32 si, const struct gen_stream *st,
		    struct gen_ctx *out, u32 max);

/* Leaf lookup in a table's shadow; NULL when @iova is unmapped. */
const struct gen_leaf *gen_pt_lookup(const struct gen_pt *pt, u64 iova);
/*
 * The table's translation set as skho_pt_walk() must report it: maximal
 * runs of IOVA- and PA-contiguous leaves with equal prot, in IOVA order.
 * Returns the count; *out is malloc'd (caller frees), NULL if none.
 */
u32 gen_pt_runs(const struct gen_pt *pt, struct gen_leaf **out);
/* A random IOVA that @pt does not map (below 2^ias). */
u64 gen_pt_unmapped(const struct gen_pt *pt, u64 *rng);

/*
 * Memory view of a VM's IPA space (for walking guest tables with
 * skho_pt_walk): map(ipa, len) succeeds when the range lies in one S2 leaf
 * that maps readable, backed memory.
 */
struct gen_ipa_mem {
	struct skho_mem mem;
	const struct gen_vm *vm;
	const struct arena *arena;
};
void gen_ipa_mem_init(struct gen_ipa_mem *m, const struct gen_vm *vm,
		      const struct arena *arena);

/* Does stream @st depend on SMMU-owned memory intersecting [pa, pa+size)? */
bool gen_stream_uses(const struct gen_state *g, u32 si, const struct gen_stream *st,
		     u64 pa, u64 size);
/* Does @st's translation use host stage-1 ASID @asid? */
bool gen_stream_uses_asid(const struct gen_stream *st, u16 asid);

/* Serializer input for SMMU @si preserving @sids. */
void gen_smmu_state(const struct gen_state *g, u32 si, const u32 *sids, u32 nr,
		    struct skho_smmu_state *out);

/*
 * The old kernel's freeze step: on SMMU @si, every programmed STE not in
 * @sids (sorted) that lies in a stream-table page holding a preserved STE
 * (the whole table when linear; the L2 table when 2-level) becomes an abort
 * STE (V=1, Config=0); the shadow follows.  Returns how many were aborted.
 */
u32 gen_freeze(struct gen_state *g, u32 si, const u32 *sids, u32 nr);

/*
 * The new kernel's adoption step on preserved memory @mem, for one parsed
 * SMMU @ho: the STEs of the @nr_refused SIDs in @refused become abort STEs
 * (when their STE is reachable and inside the ranges), and every valid L1STD
 * whose L2 table is not inside @ho's preserved ranges is zeroed.  Returns the
 * number of descriptors/STEs rewritten, or -SKHO_E_OUTSIDE when the stream
 * table itself is not inside the ranges (nothing is adopted then).
 */
int gen_adopt(struct arena *mem, const struct skho_ho_smmu *ho,
	      const u32 *refused, u32 nr_refused);

/* A walker view of a parsed SMMU on @mem. */
void gen_ho_smmu(const struct skho_ho_smmu *ho, const struct arena *mem,
		 struct skho_smmu *out);

/*
 * Map one more granule-sized page into a host table after the state was
 * built (the shadow follows), as the old kernel would on a late
 * iommu_map().  Returns false when something is mapped there already.
 * Sets *new_tables to how many table pages had to be allocated.
 */
bool gen_pt_map_page(struct gen_state *g, struct gen_pt *pt, u64 iova, u64 pa,
		     u32 prot, u32 *new_tables);

/* Index of the SMMU whose MMIO base is @mmio_base, or -1. */
int gen_smmu_by_mmio(const struct gen_state *g, u64 mmio_base);

/* ---- a whole kexec handover, for the handover and mutation suites ---- */

struct gen_verdict {
	u32 sid;
	int code;		/* 0 adopted, else -SKHO_E_* */
	u64 addr;
};

struct gen_verdicts {
	struct gen_verdict *v;	/* in callback order */
	u32 nr, cap;
	int ret;		/* skho_handover_validate()'s return */
};

struct gen_ho {
	struct gen_state *g;
	u32 *sids[GEN_MAX_SMMUS];	/* preserved SIDs, sorted */
	u32 nr_sids[GEN_MAX_SMMUS];
	u32 nr_frozen;
	struct skho_snapshot *snap;
	void *fdt;
	size_t fdt_size;
	struct skho_range *ranges;	/* every SMMU's preserved ranges */
	u32 nr_ranges;
	struct arena *b;		/* the next kernel's memory */
};

/*
 * The old kernel's side on @g: pick a random subset of each SMMU's
 * programmed SIDs (about @pct percent, at least one per SMMU), freeze,
 * snapshot, serialize; then the kexec: @h->b gets only the preserved ranges
 * and the ARENA_EXTERNAL allocations, at the same PAs, everything else gone.
 * Returns 0 or the -SKHO_E_* of the core call that failed (@err says).
 */
int gen_ho_prepare(struct gen_ho *h, struct gen_state *g, u64 seed, unsigned int pct,
		   struct skho_err *err);
void gen_ho_release(struct gen_ho *h);
bool gen_ho_preserved(const struct gen_ho *h, u32 si, u32 sid);
/* False for streams no snapshot takes: bypass STE, or S1DSS bypass. */
bool gen_preservable(const struct gen_stream *st);

/* skho_handover_validate() of @ho's SMMU @idx on @mem, verdicts collected. */
void gen_validate(const struct skho_handover *ho, u32 idx, const struct arena *mem,
		  struct gen_verdicts *out, struct skho_err *err);
void gen_verdicts_free(struct gen_verdicts *v);
/* Verdict for @sid, or NULL when the validator never reported it. */
const struct gen_verdict *gen_verdict_of(const struct gen_verdicts *v, u32 sid);

/* Abort STE as arm_smmu_make_abort_ste writes it (LE bytes). */
void gen_abort_ste(u8 ste[64]);

const char *gen_kind_name(unsigned int kind);

#endif /* GEN_H */
