/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* Sparse simulated physical memory for host tests: a struct skho_mem backend. */
#ifndef ARENA_H
#define ARENA_H

#include "skho.h"

/*
 * An arena is a set of disjoint allocations at simulated physical addresses.
 * Each allocation is one contiguous host buffer (or, for a reservation, no
 * buffer at all: an address window that exists but cannot be read, like a
 * device's DMA buffer the walker never dereferences).  map(pa, len) succeeds
 * only when [pa, pa+len) lies within one backed allocation.
 *
 * Addresses grow upwards from a random base (derived from the arena seed)
 * with random gaps, so the allocation array is always sorted by PA and
 * lookups are a binary search.
 */
enum arena_tag {
	ARENA_SMMU = 1,		/* stream/CD/page tables: smmu-kho preserves it */
	ARENA_EXTERNAL = 2,	/* DMA buffers, guest RAM: its owner preserves it */
	ARENA_CLONED = 4,	/* made by arena_fork() from preserved ranges */
};
#define ARENA_TAGS_ALL	(ARENA_SMMU | ARENA_EXTERNAL | ARENA_CLONED)

/* Poison byte of fresh memory: as a descriptor it reads V=1 block/table. */
#define ARENA_POISON	0xa5

struct arena_alloc {
	u64 pa;
	u64 size;
	u8 *buf;		/* NULL: reservation, never readable */
	u32 tag;		/* enum arena_tag */
};

struct arena {
	struct skho_mem mem;	/* map() over this arena */
	struct arena_alloc *a;	/* sorted by pa, disjoint */
	u32 nr, cap;
	u64 next;		/* lowest PA the next allocation may take */
	u64 limit;		/* no allocation ends above this */
	u64 rng;
	u64 nr_map;		/* map() calls */
	u64 nr_map_fail;	/* map() calls that returned NULL */
	u64 backed_bytes;	/* host memory held */
};

/*
 * Create an empty arena.  @seed picks the base address (at least 4 GiB,
 * 2 MiB aligned, below @pa_bits/2 of the space) and the gaps; @pa_bits
 * (36..52) bounds every address.  Returns NULL on allocation failure.
 */
struct arena *arena_new(u64 seed, unsigned int pa_bits);
void arena_free(struct arena *a);

/*
 * Allocate @size bytes aligned to @align (a power of two) at the next free
 * address after a random gap (none a quarter of the time, so that neighbours
 * touch; else up to 16 pages).  The memory is poisoned.  Returns the PA, or 0 when @size is 0, @align is not a
 * power of two, the arena's address space is exhausted or the host is out
 * of memory.
 */
u64 arena_alloc(struct arena *a, u64 size, u64 align, u32 tag);
/* Same, zero-filled (what dma_alloc_coherent / iommu_alloc_pages return). */
u64 arena_zalloc(struct arena *a, u64 size, u64 align, u32 tag);
/* An address window with no backing: map() fails on it.  0 on failure. */
u64 arena_reserve(struct arena *a, u64 size, u64 align, u32 tag);
/* Add an allocation at a fixed PA (must not overlap).  0 or -SKHO_E_INVAL / -SKHO_E_NOMEM. */
int arena_add_at(struct arena *a, u64 pa, u64 size, u32 tag, bool backed);

/* Writable host pointer to [pa, pa+len) inside one backed allocation, or NULL. */
void *arena_ptr(const struct arena *a, u64 pa, u64 len);
/* The allocation containing @pa, or NULL. */
const struct arena_alloc *arena_find(const struct arena *a, u64 pa);

static inline const struct skho_mem *arena_mem(const struct arena *a)
{
	return &a->mem;
}

/* Little-endian 64-bit load/store at a PA; the store returns false when unmapped. */
u64 arena_rd64(const struct arena *a, u64 pa);
bool arena_wr64(struct arena *a, u64 pa, u64 val);

/*
 * A fresh, poisoned arena holding, at the same PAs: every allocation of @src
 * whose tag is in @tags (copied whole; reservations stay reservations), and
 * the bytes of @src inside each of the @nr ranges @r (copied; tagged
 * ARENA_CLONED; bytes of a range that @src does not back stay poisoned).
 * Ranges may overlap each other and the copied allocations; they are merged.
 * Returns NULL on allocation failure.
 */
struct arena *arena_fork(const struct arena *src, const struct skho_range *r,
			 u32 nr, u32 tags);

/* Deterministic PRNG (splitmix64) shared by the test library. */
static inline u64 arena_rand64(u64 *s)
{
	u64 z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n); n == 0 returns 0. */
static inline u64 arena_rand_below(u64 *s, u64 n)
{
	return n ? arena_rand64(s) % n : 0;
}

#endif /* ARENA_H */
