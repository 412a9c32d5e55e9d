/* SPDX-License-Identifier: GPL-2.0-only */
/* SMMUv3 live update over KHO: driver hooks and the API smmu_kho.ko uses. */
#ifndef _ARM_SMMU_V3_KHO_H
#define _ARM_SMMU_V3_KHO_H

#include <linux/types.h>
#include <linux/xarray.h>

struct arm_smmu_device;
struct arm_smmu_ste;
struct device;
struct skho_ho_smmu;
struct skho_ranges;

/* What hand-backs gave back (I8), for STATUS. */
struct arm_smmu_kho_counts {
	u64 adopted_pages;	/* table pages restored at adoption */
	u64 freed_pages;	/* ... given back after hand-back */
	u32 asids_freed;
	u32 vmids_freed;
	u32 released_hitless;	/* streams moved by the hitless sequence */
};

/* Per-SMMU live-update state, embedded in struct arm_smmu_device. */
struct arm_smmu_kho {
	phys_addr_t mmio_base;
	struct xarray streams;	/* SID -> struct arm_smmu_kho_stream */
	bool adopted;		/* probe adopted the previous stream table */
	void *strtab_va;	/* adopted linear table or L1 table */
	void **l2_va;		/* adopted L2 tables (2-level), by L1 index */
#ifdef CONFIG_ARM_SMMU_V3_KHO_TEST
	u64 adopt_ns;		/* time probe spent validating and adopting */
	u32 nr_abort;		/* non-adopted STEs in adopted tables */
	u32 nr_abort_rewritten;	/* ... that were not abort when handed over */
#endif /* CONFIG_ARM_SMMU_V3_KHO_TEST */
	int error;		/* -SKHO_E_* / -errno: this instance's handover refused */
	struct list_head node;	/* arm_smmu_kho_list */
	/* I8: what the adopted tables hold, given back after hand-back. */
	const struct skho_ho_smmu *ho;	/* its part of the adopted handover */
	bool refs_counted;	/* page_refs/id_refs filled (first RELEASE) */
	struct xarray page_refs;	/* PFN -> adopted streams using the page */
	struct xarray id_refs;	/* ASID/VMID key -> adopted streams using it */
	struct skho_ranges *strtab_pages;	/* adopted stream table: kept */
	struct skho_ranges *freed;	/* table pages given back (normalized) */
	struct arm_smmu_kho_counts counts;
};

/* What smmu_kho.ko needs to snapshot one device's streams. */
#define ARM_SMMU_KHO_MAX_SIDS	8
struct arm_smmu_kho_dev_info {
	phys_addr_t mmio_base;
	u64 strtab_base;	/* SMMU_STRTAB_BASE as programmed */
	u32 strtab_cfg;		/* SMMU_STRTAB_BASE_CFG as programmed */
	bool coherent;
	u8 oas;
	unsigned int nr_sids;
	u32 sids[ARM_SMMU_KHO_MAX_SIDS];
};

enum arm_smmu_kho_in_state {
	ARM_SMMU_KHO_IN_NONE = 0,
	ARM_SMMU_KHO_IN_ADOPTED = 2,	/* same values as enum smmu_kho_stream_state */
	ARM_SMMU_KHO_IN_REFUSED = 3,
	ARM_SMMU_KHO_IN_RELEASED = 4,
	ARM_SMMU_KHO_IN_QUARANTINED = 5,
};

struct arm_smmu_kho_stream_info {
	u32 in_state;		/* enum arm_smmu_kho_in_state */
	s32 error;		/* validation error of a REFUSED stream */
	u32 events;		/* SMMU events for this SID since boot */
	bool out;		/* preserve at the next kexec */
};

/* The STE of a SID as the SMMU reads it now, through its live registers. */
struct arm_smmu_kho_live_ste {
	u64 strtab_base;	/* SMMU_STRTAB_BASE */
	u32 strtab_cfg;		/* SMMU_STRTAB_BASE_CFG */
	u8 ste[64];
};

#ifdef CONFIG_ARM_SMMU_V3_KHO
/* Hooks called by arm-smmu-v3.c. */
void arm_smmu_kho_probe(struct arm_smmu_device *smmu, phys_addr_t ioaddr);
int arm_smmu_kho_init_strtab(struct arm_smmu_device *smmu);
bool arm_smmu_kho_adopting(struct arm_smmu_device *smmu);
bool arm_smmu_kho_freeze(struct arm_smmu_device *smmu);
bool arm_smmu_kho_defer_ste(struct arm_smmu_device *smmu, u32 sid,
			    const struct arm_smmu_ste *target);
void arm_smmu_kho_note_event(struct arm_smmu_device *smmu, u32 sid);

/* API for smmu_kho.ko. */
int arm_smmu_kho_mark(struct device *dev, bool preserve,
		      struct arm_smmu_kho_dev_info *info);
#define ARM_SMMU_KHO_RELEASE_REPLACE	BIT(0)	/* no check, ordinary STE update */
int arm_smmu_kho_release(struct device *dev, u32 flags, char *why, size_t len);
void arm_smmu_kho_counts(struct arm_smmu_kho_counts *sum);
bool arm_smmu_kho_in_freed(phys_addr_t pa, size_t len);
int arm_smmu_kho_quarantine(struct device *dev);
int arm_smmu_kho_live_ste(phys_addr_t mmio_base, u32 sid,
			  struct arm_smmu_kho_live_ste *out);
int arm_smmu_kho_incoming_error(char *why, size_t len);
void arm_smmu_kho_set_outgoing(const void *blob, size_t len);
int arm_smmu_kho_stream_info(phys_addr_t mmio_base, u32 sid,
			     struct arm_smmu_kho_stream_info *info);
const void *arm_smmu_kho_incoming(size_t *len);
void arm_smmu_kho_sync_for_cpu(phys_addr_t pa, size_t len, bool coherent);
#ifdef CONFIG_ARM_SMMU_V3_KHO_TEST
/* Test and benchmark hooks, not part of the product (tests/vm, vm-bench). */
int arm_smmu_kho_clone_for_bench(struct device *dev, u32 first, u32 n);
u64 arm_smmu_kho_adopt_ns(void);
void arm_smmu_kho_abort_stats(u32 *nr_abort, u32 *nr_rewritten);
void arm_smmu_kho_test_handback(unsigned int break_ms, bool keep_old_tables);
#endif /* CONFIG_ARM_SMMU_V3_KHO_TEST */
#else
static inline void arm_smmu_kho_probe(struct arm_smmu_device *smmu,
				      phys_addr_t ioaddr) { }
static inline int arm_smmu_kho_init_strtab(struct arm_smmu_device *smmu)
{
	return -ENODEV;
}

static inline bool arm_smmu_kho_adopting(struct arm_smmu_device *smmu)
{
	return false;
}

static inline bool arm_smmu_kho_freeze(struct arm_smmu_device *smmu)
{
	return false;
}

static inline bool arm_smmu_kho_defer_ste(struct arm_smmu_device *smmu, u32 sid,
					  const struct arm_smmu_ste *target)
{
	return false;
}

static inline void arm_smmu_kho_note_event(struct arm_smmu_device *smmu,
					   u32 sid) { }
#endif

#endif /* _ARM_SMMU_V3_KHO_H */
