// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Random valid SMMUv3 states, programmed as Linux 7.3 would, with a shadow model. */
#include <stdlib.h>
#include <string.h>

#include "gen.h"

/*
 * Field encodings the driver writes that smmuv3_defs.h does not name
 * (drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h, io-pgtable-arm.c, 7.3).
 */
#define L_STE1_S1CIR		SKHO_GENMASK(3, 2)
#define L_STE1_S1COR		SKHO_GENMASK(5, 4)
#define L_STE1_S1CSH		SKHO_GENMASK(7, 6)
#define L_STE1_MEV		SKHO_BIT(19)
#define L_STE1_S1STALLD		SKHO_BIT(27)
#define L_STE1_EATS		SKHO_GENMASK(29, 28)
#define L_STE1_STRW		SKHO_GENMASK(31, 30)
#define L_STE1_SHCFG		SKHO_GENMASK(45, 44)
#define L_S1C_CACHE_WBRA	1
#define L_SH_ISH		3
#define L_SH_OSH		2
#define L_STRW_EL2		2
#define L_SHCFG_INCOMING	1
#define L_STE2_S2IR0		SKHO_GENMASK(41, 40)
#define L_STE2_S2OR0		SKHO_GENMASK(43, 42)
#define L_STE2_S2SH0		SKHO_GENMASK(45, 44)
#define L_STE2_S2PTW		SKHO_BIT(54)
#define L_CD0_IRGN0		SKHO_GENMASK(9, 8)
#define L_CD0_ORGN0		SKHO_GENMASK(11, 10)
#define L_CD0_SH0		SKHO_GENMASK(13, 12)
#define L_CD0_S			SKHO_BIT(44)
#define L_CD0_R			SKHO_BIT(45)
#define L_CD0_A			SKHO_BIT(46)
#define L_CD0_ASET		SKHO_BIT(47)
#define L_RGN_NC		0
#define L_RGN_WBWA		1
#define L_MAIR			(0x44ULL | 0xffULL << 8 | 0x04ULL << 16 | 0xf4ULL << 24)
#define L_PTE_NG		SKHO_BIT(11)
#define L_PTE_SH		SKHO_GENMASK(9, 8)
#define L_PTE_ATTRINDX		SKHO_GENMASK(4, 2)
#define L_PTE_MEMATTR		SKHO_GENMASK(5, 2)
#define L_PTE_DBM		SKHO_BIT(51)
#define L_MEMATTR_OIWB		0xf
#define L_MEMATTR_NC		0x5
#define L_MEMATTR_DEV		0x1
#define L_ATTR_IDX_CACHE	1
#define L_ATTR_IDX_DEV		2

#define GEN_MAX_CTX_INVALID	3

static const u8 ps_bits[] = SMMU_PS_BITS;

static unsigned int ps_enc(unsigned int bits)
{
	unsigned int i;

	for (i = 0; i < sizeof(ps_bits); i++)
		if (ps_bits[i] == bits)
			return i;
	abort();	/* gen only picks encodable sizes */
}

static unsigned int tg_enc(unsigned int granule_lg2)
{
	return granule_lg2 == 12 ? SMMU_TG_4K : granule_lg2 == 14 ? SMMU_TG_16K : SMMU_TG_64K;
}

static u64 rnd(struct gen_state *g, u64 n)
{
	return arena_rand_below(&g->rng, n);
}

static bool chance(struct gen_state *g, unsigned int pct)
{
	return rnd(g, 100) < pct;
}

static u64 pow2_roundup(u64 x)
{
	u64 r = 1;

	while (r < x)
		r <<= 1;
	return r;
}

#define GROW(arr, nr, cap) do {							\
	if ((nr) == (cap)) {							\
		u32 _c = (cap) ? (cap) * 2 : 16;				\
		void *_n = realloc((arr), (size_t)_c * sizeof(*(arr)));	\
		if (!_n)							\
			abort();	/* test library: host OOM is fatal */	\
		(arr) = _n;							\
		(cap) = _c;							\
	}									\
} while (0)

void gen_params_small(struct gen_params *p)
{
	*p = (struct gen_params){
		.nr_smmus = 3, .masters = 14, .max_sids_per_master = 3,
		.s1_domains = 4, .s2_domains = 2, .vms = 1,
		.max_regions = 6, .max_leaves = 24,
		.min_sid_bits = 7, .max_sid_bits = 16, .max_ssid_bits = 12,
		.dirty = true,
	};
}

void gen_params_large(struct gen_params *p)
{
	*p = (struct gen_params){
		.nr_smmus = 1, .masters = 1024, .max_sids_per_master = 1,
		.min_sid_bits = 16, .max_sid_bits = 16, .page_lg2 = 12,
		.strtab = 2, .split = 8, .shared_s1_bytes = 1ULL << 30,
	};
}

const char *gen_kind_name(unsigned int kind)
{
	static const char *const n[] = { "abort", "bypass", "s1", "s2", "nested" };

	return kind < GEN_STE__COUNT ? n[kind] : "?";
}

/* ---- memory helpers ------------------------------------------------------ */

/* dma_alloc_coherent / iommu_alloc_pages: zeroed, whole pages, natural alignment. */
static u64 host_alloc(struct gen_state *g, u64 size)
{
	u64 page = 1ULL << g->page_lg2;
	u64 sz = (size + page - 1) & ~(page - 1);
	u64 pa = arena_zalloc(g->arena, sz, pow2_roundup(sz), ARENA_SMMU);

	if (!pa)
		abort();
	return pa;
}

static void add_page(struct skho_range **arr, u32 *nr, u32 *cap, u64 pa, u64 size)
{
	GROW(*arr, *nr, *cap);
	(*arr)[(*nr)++] = (struct skho_range){ pa, size };
}

static u64 vm_ipa_to_pa(const struct gen_vm *vm, u64 ipa)
{
	return ipa - vm->ram_ipa + vm->ram_pa;
}

/* Bump allocation in guest RAM; returns the IPA or 0 when RAM is full. */
static u64 vm_alloc(struct gen_state *g, struct gen_vm *vm, u64 size, u64 align)
{
	u64 off = (vm->ram_used + align - 1) & ~(align - 1);

	if (off + size > vm->ram_size)
		return 0;
	vm->ram_used = off + size;
	memset(arena_ptr(g->arena, vm->ram_pa + off, size), 0, size);
	return vm->ram_ipa + off;
}

static void wr64(struct gen_state *g, u64 pa, u64 v)
{
	if (!arena_wr64(g->arena, pa, v))
		abort();
}

/* ---- page tables (io-pgtable-arm) ---------------------------------------- */

static unsigned int pt_bpl(const struct gen_pt *pt)
{
	return pt->cfg.granule_lg2 - 3;
}

static unsigned int pt_shift(const struct gen_pt *pt, unsigned int lvl)
{
	return pt->cfg.granule_lg2 + (3 - lvl) * pt_bpl(pt);
}

/* Bytes of the start-level table (all concatenated tables) per Linux. */
static u64 pt_pgd_bytes(const struct gen_pt *pt)
{
	unsigned int bits = pt->cfg.ias - pt_shift(pt, pt->cfg.start_level);

	return 8ULL << bits;
}

static u64 pt_index(const struct gen_pt *pt, u64 iova, unsigned int lvl)
{
	u64 idx = iova >> pt_shift(pt, lvl);

	if (lvl == pt->cfg.start_level)
		return idx;	/* iova < 2^ias bounds it */
	return idx & ((1ULL << pt_bpl(pt)) - 1);
}

/* Host pointer to a table of @pt at address @addr (PA, or IPA of a guest). */
static u8 *pt_tbl(struct gen_state *g, const struct gen_pt *pt, u64 addr, u64 len)
{
	u64 pa = pt->vm ? vm_ipa_to_pa(pt->vm, addr) : addr;
	u8 *p = arena_ptr(g->arena, pa, len);

	if (!p)
		abort();
	return p;
}

/* Allocate one zeroed table; returns its address in @pt's space, 0 if full. */
static u64 pt_alloc_table(struct gen_state *g, struct gen_pt *pt, u64 bytes)
{
	struct gen_vm *vm = (struct gen_vm *)pt->vm;
	u64 addr, pa;

	if (vm) {
		u64 gran = 1ULL << vm->granule_lg2;
		u64 sz = bytes < gran ? gran : bytes;

		addr = vm_alloc(g, vm, sz, pow2_roundup(sz));
		if (!addr)
			return 0;
		pa = vm_ipa_to_pa(vm, addr);
		bytes = sz;
	} else {
		addr = pa = host_alloc(g, bytes);
		bytes = (bytes + (1ULL << g->page_lg2) - 1) & ~((1ULL << g->page_lg2) - 1);
	}
	add_page(&pt->page, &pt->nr_page, &pt->cap_page, pa, bytes);
	g->nr_tables++;
	return addr;
}

static bool pt_init(struct gen_state *g, struct gen_pt *pt, u32 si, unsigned int stage,
		    unsigned int granule_lg2, unsigned int ias, unsigned int oas,
		    struct gen_vm *vm)
{
	unsigned int bpl = granule_lg2 - 3, va_bits = ias - granule_lg2;
	unsigned int levels = (va_bits + bpl - 1) / bpl;
	unsigned int start = 4 - levels, pgd_bits = va_bits - bpl * (levels - 1);
	unsigned int concat = 1;

	/* arm_lpae_concat_mandatory() + arm_64_lpae_alloc_pgtable_s2() */
	if (stage == SKHO_STAGE2) {
		bool must = false;

		if (granule_lg2 == 14 && start == 0)
			must = oas == 48 || ias == 48;
		else if (granule_lg2 == 12 && start == 0)
			must = oas == 40 || oas == 42;
		else
			must = granule_lg2 == 14 && start == 1 && oas == 40;
		if (must) {
			concat = 1u << pgd_bits;
			start++;
		}
	}
	memset(pt, 0, sizeof(*pt));
	pt->smmu = si;
	pt->vm = vm;
	pt->cfg.stage = stage;
	pt->cfg.granule_lg2 = granule_lg2;
	pt->cfg.start_level = start;
	pt->cfg.ias = ias;
	pt->cfg.oas = oas;
	pt->cfg.nr_concat = concat;
	pt->c_lvl = ~0u;
	pt->cfg.root = pt_alloc_table(g, pt, pt_pgd_bytes(pt));
	return pt->cfg.root != 0;	/* 0: guest RAM full */
}

/* Leaf levels io-pgtable-arm uses per granule (arm_lpae_restrict_pgsizes). */
static bool pt_leaf_ok(const struct gen_pt *pt, unsigned int lvl)
{
	if (lvl < pt->cfg.start_level || lvl > 3)
		return false;
	if (pt->cfg.granule_lg2 == 12)
		return lvl >= 1;
	return lvl >= 2;	/* 16K: 16K/32M; 64K: 64K/512M */
}

static u64 pt_leaf_pte(const struct gen_pt *pt, unsigned int lvl, u64 pa, u32 prot,
		       unsigned int attr, bool clean)
{
	u64 pte = (lvl == 3 ? (SMMU_PTE_VALID | SMMU_PTE_TABLE) : SMMU_PTE_VALID) |
		  SMMU_PTE_AF | (pa & SMMU_PTE_ADDR);
	bool cache = attr != 2, mmio = attr == 1;

	if (pt->cfg.granule_lg2 == 16)
		pte |= (pa >> 36) & SMMU_PTE_ADDR_HI_64K;	/* paddr_to_iopte */
	if (pt->cfg.stage == SKHO_STAGE1) {
		pte |= L_PTE_NG | SMMU_PTE_AP_UNPRIV;
		if (prot == SKHO_PROT_R)
			pte |= SMMU_PTE_AP_RDONLY;
		else if (pt->hd)
			pte |= L_PTE_DBM | (clean ? SMMU_PTE_AP_RDONLY : 0);
		if (mmio)
			pte |= SKHO_FIELD_PREP(L_PTE_ATTRINDX, L_ATTR_IDX_DEV);
		else if (cache)
			pte |= SKHO_FIELD_PREP(L_PTE_ATTRINDX, L_ATTR_IDX_CACHE);
	} else {
		if (prot & SKHO_PROT_R)
			pte |= SMMU_PTE_S2AP_R;
		if (prot & SKHO_PROT_W)
			pte |= SMMU_PTE_S2AP_W;
		pte |= SKHO_FIELD_PREP(L_PTE_MEMATTR, mmio ? L_MEMATTR_DEV :
				       cache ? L_MEMATTR_OIWB : L_MEMATTR_NC);
	}
	pte |= SKHO_FIELD_PREP(L_PTE_SH, cache && !mmio ? L_SH_ISH : L_SH_OSH);
	if (attr == 3)
		pte |= SMMU_PTE_XN;	/* IOMMU_NOEXEC */
	return pte;
}

/*
 * Map one leaf as __arm_lpae_map() would: install missing tables, refuse
 * (return false) when something is already mapped there.
 */
static bool pt_map(struct gen_state *g, struct gen_pt *pt, u64 iova, u64 pa,
		   unsigned int lvl, u32 prot, unsigned int attr, bool clean)
{
	u64 addr = pt->cfg.root, key = iova >> pt_shift(pt, lvl) >> pt_bpl(pt);
	unsigned int l = pt->cfg.start_level;
	u64 gran = 1ULL << pt->cfg.granule_lg2;
	u8 *tbl;
	u64 e;

	if (iova >> pt->cfg.ias || !pt_leaf_ok(pt, lvl))
		return false;
	if (pt->c_tbl && pt->c_lvl == lvl && pt->c_key == key && lvl > l) {
		tbl = pt->c_tbl;
		l = lvl;
	} else {
		for (;; l++) {
			u64 *slot;

			tbl = pt_tbl(g, pt, addr, l == pt->cfg.start_level ?
				     pt_pgd_bytes(pt) : gran);
			if (l == lvl)
				break;
			slot = (u64 *)tbl + pt_index(pt, iova, l);
			e = skho_le64_to_cpu(*slot);
			if (!(e & SMMU_PTE_VALID)) {
				u64 next = pt_alloc_table(g, pt, gran);

				if (!next)
					return false;
				*slot = skho_cpu_to_le64(next | SMMU_PTE_VALID | SMMU_PTE_TABLE);
				addr = next;
			} else if (e & SMMU_PTE_TABLE) {
				addr = e & SMMU_PTE_ADDR;
			} else {
				return false;	/* a block is in the way */
			}
		}
		if (lvl > pt->cfg.start_level) {
			pt->c_tbl = tbl;
			pt->c_lvl = lvl;
			pt->c_key = key;
		}
	}
	{
		u64 *slot = (u64 *)tbl + pt_index(pt, iova, lvl);

		if (skho_le64_to_cpu(*slot) & SMMU_PTE_VALID)
			return false;
		*slot = skho_cpu_to_le64(pt_leaf_pte(pt, lvl, pa, prot, attr, clean));
	}
	GROW(pt->leaf, pt->nr_leaf, pt->cap_leaf);
	pt->leaf[pt->nr_leaf++] = (struct gen_leaf){
		.iova = iova, .pa = pa, .size = 1ULL << pt_shift(pt, lvl),
		.prot = prot, .level = lvl,
	};
	g->nr_leaves++;
	return true;
}

static int leaf_cmp(const void *a, const void *b)
{
	const struct gen_leaf *x = a, *y = b;

	return x->iova < y->iova ? -1 : x->iova > y->iova;
}

static void pt_finish(struct gen_pt *pt)
{
	qsort(pt->leaf, pt->nr_leaf, sizeof(*pt->leaf), leaf_cmp);
	pt->c_tbl = NULL;
}

const struct gen_leaf *gen_pt_lookup(const struct gen_pt *pt, u64 iova)
{
	long lo = 0, hi = (long)pt->nr_leaf - 1;

	while (lo <= hi) {
		long mid = lo + (hi - lo) / 2;
		const struct gen_leaf *l = &pt->leaf[mid];

		if (iova < l->iova)
			hi = mid - 1;
		else if (iova - l->iova >= l->size)
			lo = mid + 1;
		else
			return l;
	}
	return NULL;
}

u32 gen_pt_runs(const struct gen_pt *pt, struct gen_leaf **out)
{
	struct gen_leaf *r = NULL;
	u32 i, n = 0;

	if (pt->nr_leaf)
		r = malloc(pt->nr_leaf * sizeof(*r));
	if (pt->nr_leaf && !r)
		abort();
	for (i = 0; i < pt->nr_leaf; i++) {
		const struct gen_leaf *l = &pt->leaf[i];

		if (n && r[n - 1].iova + r[n - 1].size == l->iova &&
		    r[n - 1].pa + r[n - 1].size == l->pa && r[n - 1].prot == l->prot) {
			r[n - 1].size += l->size;
			continue;
		}
		r[n++] = *l;
	}
	*out = r;
	return n;
}

u64 gen_pt_unmapped(const struct gen_pt *pt, u64 *rng)
{
	int tries;

	for (tries = 0; tries < 64; tries++) {
		u64 iova;

		if (pt->nr_leaf && arena_rand_below(rng, 2)) {
			/* right next to a mapping: the most telling misses */
			const struct gen_leaf *l = &pt->leaf[arena_rand_below(rng, pt->nr_leaf)];

			iova = arena_rand_below(rng, 2) ? l->iova - 1 : l->iova + l->size;
		} else {
			iova = arena_rand64(rng);
		}
		iova &= (1ULL << pt->cfg.ias) - 1;
		if (!gen_pt_lookup(pt, iova))
			return iova;
	}
	return ~0ULL;	/* a fully mapped space: not generated */
}

/* Pick a leaf level for a region: mostly pages, some blocks. */
static unsigned int pick_level(struct gen_state *g, const struct gen_pt *pt)
{
	unsigned int r = (unsigned int)rnd(g, 100);

	if (r < 12 && pt_leaf_ok(pt, 2))
		return 2;
	if (r < 14 && pt_leaf_ok(pt, 1) && pt->cfg.ias > 34)
		return 1;
	return 3;
}

static u32 pick_prot(struct gen_state *g, const struct gen_pt *pt)
{
	unsigned int r = (unsigned int)rnd(g, 100);

	if (pt->cfg.stage == SKHO_STAGE1)	/* Linux S1: RW or read-only */
		return r < 75 ? (SKHO_PROT_R | SKHO_PROT_W) : SKHO_PROT_R;
	if (r < 60)
		return SKHO_PROT_R | SKHO_PROT_W;
	if (r < 80)
		return SKHO_PROT_R;
	if (r < 90)
		return SKHO_PROT_W;
	return 0;				/* S2AP == 0: no access */
}

/*
 * Output addresses of one region: @n leaves of @size from @base, either in
 * order (one PA-contiguous run) or permuted by an odd multiplier.
 */
static u64 region_pa(u64 base, u64 size, u32 i, u32 n, u32 mult)
{
	if (mult == 1)
		return base + (u64)i * size;
	return base + ((u64)(i * mult) & (n - 1)) * size;
}

/*
 * Map @n leaves of level @lvl at @iova to output space from @out_base
 * (pow2 @n when permuted).  Prot changes in chunks.
 */
static void map_region(struct gen_state *g, struct gen_pt *pt, u64 iova, u32 n,
		       unsigned int lvl, u64 out_base, bool permute, u32 fixed_prot)
{
	u64 size = 1ULL << pt_shift(pt, lvl);
	u32 mult = permute ? (u32)(rnd(g, n) | 1) : 1, i, chunk = 0;
	u32 prot = 0;
	unsigned int attr = 0;

	for (i = 0; i < n; i++) {
		if (!chunk) {
			chunk = 1 + (u32)rnd(g, 16);
			prot = fixed_prot != ~0u ? fixed_prot : pick_prot(g, pt);
			attr = (unsigned int)rnd(g, 8);	/* 0/4+: cached, 1 mmio, 2 nc, 3 noexec */
			if (attr > 3)
				attr = 0;
		}
		chunk--;
		pt_map(g, pt, iova + i * size, region_pa(out_base, size, i, n, mult),
		       lvl, prot, attr, pt->hd && g->p.dirty_clean && (prot & SKHO_PROT_W) &&
		       chance(g, 30));
	}
}

static u64 pick_iova(struct gen_state *g, const struct gen_pt *pt, u64 bytes, u64 align)
{
	u64 space = 1ULL << pt->cfg.ias;

	if (bytes >= space)
		return 0;
	return rnd(g, (space - bytes) / align + 1) * align;
}

/* Random regions of a host table whose outputs are DMA buffers. */
static void fill_host_pt(struct gen_state *g, struct gen_pt *pt)
{
	u32 r, nreg = 1 + (u32)rnd(g, g->p.max_regions);

	for (r = 0; r < nreg; r++) {
		unsigned int lvl = pick_level(g, pt);
		u64 size = 1ULL << pt_shift(pt, lvl);
		u32 n = lvl == 3 ? 1 + (u32)rnd(g, g->p.max_leaves) : 1 + (u32)rnd(g, 2);
		bool permute = chance(g, 40);
		u64 out;

		if (permute)
			n = (u32)pow2_roundup(n);
		out = arena_reserve(g->arena, n * size, size, ARENA_EXTERNAL);
		if (!out)
			continue;	/* address space exhausted: fewer mappings */
		map_region(g, pt, pick_iova(g, pt, n * size, size), n, lvl, out, permute, ~0u);
	}
	pt_finish(pt);
}

static struct gen_pt *new_pt(struct gen_state *g, u32 si)
{
	struct gen_smmu *s = &g->smmu[si];
	struct gen_pt *pt = calloc(1, sizeof(*pt));

	if (!pt)
		abort();
	GROW(s->pt, s->nr_pt, s->cap_pt);
	s->pt[s->nr_pt++] = pt;
	return pt;
}

static u16 alloc_asid(struct gen_state *g)
{
	u32 a;

	/* xa_alloc(1 .. 2^16-1): lowest free; a few ids were freed earlier */
	for (a = 1; a < 65536; a++)
		if (!(g->asid_used[a / 8] & (1u << (a % 8)))) {
			g->asid_used[a / 8] |= 1u << (a % 8);
			return (u16)a;
		}
	abort();
}

static u16 alloc_vmid(struct gen_smmu *s)
{
	u32 v;

	/* ida_alloc_range(1, 2^16-1): VMID 0 is reserved for S1 STEs */
	for (v = 1; v < 65536; v++)
		if (!(s->vmid_used[v / 8] & (1u << (v % 8)))) {
			s->vmid_used[v / 8] |= 1u << (v % 8);
			return (u16)v;
		}
	abort();
}

/* Host S1 domain: io-pgtable ARM_64_LPAE_S1 with ias = min(48, VA_BITS). */
static struct gen_pt *new_s1_domain(struct gen_state *g, u32 si, bool fill)
{
	static const u8 va4k[] = { 39, 48 }, va16k[] = { 36, 47, 48 }, va64k[] = { 42, 48 };
	struct gen_pt *pt = new_pt(g, si);
	struct gen_smmu *s = &g->smmu[si];
	unsigned int ias;

	if (g->page_lg2 == 12)
		ias = va4k[rnd(g, sizeof(va4k))];
	else if (g->page_lg2 == 14)
		ias = va16k[rnd(g, sizeof(va16k))];
	else
		ias = va64k[rnd(g, sizeof(va64k))];
	if (g->p.shared_s1_bytes)
		ias = 48;
	if (!pt_init(g, pt, si, SKHO_STAGE1, g->page_lg2, ias, s->hw.oas, NULL))
		abort();
	pt->id = alloc_asid(g);
	pt->coherent = s->features & SKHO_SMMU_F_COHERENT;
	pt->hd = s->hd && g->p.dirty && chance(g, 30);
	pt->cfg.ha = pt->hd;
	if (fill)
		fill_host_pt(g, pt);
	return pt;
}

static struct gen_pt *new_s2_domain(struct gen_state *g, u32 si, struct gen_vm *vm_unused)
{
	struct gen_pt *pt = new_pt(g, si);
	struct gen_smmu *s = &g->smmu[si];

	(void)vm_unused;
	if (!pt_init(g, pt, si, SKHO_STAGE2, g->page_lg2, s->hw.oas, s->hw.oas, NULL))
		abort();
	pt->id = alloc_vmid(s);
	pt->coherent = s->features & SKHO_SMMU_F_COHERENT;
	return pt;
}

/* ---- CDs ----------------------------------------------------------------- */

static void cd_write(struct gen_state *g, const struct gen_cdtab *cdt, u64 cd_addr,
		     const struct gen_pt *pt, u16 asid, bool stall)
{
	u64 pa = cdt->vm ? vm_ipa_to_pa(cdt->vm, cd_addr) : cd_addr;
	unsigned int rgn = pt->coherent ? L_RGN_WBWA : L_RGN_NC;
	u64 d0;

	d0 = SKHO_FIELD_PREP(SMMU_CD0_T0SZ, 64 - pt->cfg.ias) |
	     SKHO_FIELD_PREP(SMMU_CD0_TG0, tg_enc(pt->cfg.granule_lg2)) |
	     SKHO_FIELD_PREP(L_CD0_IRGN0, rgn) | SKHO_FIELD_PREP(L_CD0_ORGN0, rgn) |
	     SKHO_FIELD_PREP(L_CD0_SH0, pt->coherent ? L_SH_ISH : L_SH_OSH) |
	     SMMU_CD0_EPD1 | SMMU_CD0_V |
	     SKHO_FIELD_PREP(SMMU_CD0_IPS, ps_enc(pt->cfg.oas)) | SMMU_CD0_AA64 |
	     (stall ? L_CD0_S : 0) | L_CD0_R | L_CD0_A | L_CD0_ASET |
	     SKHO_FIELD_PREP(SMMU_CD0_ASID, asid);
	if (pt->hd)
		d0 |= SMMU_CD0_HA | SMMU_CD0_HD;
	wr64(g, pa, d0);
	wr64(g, pa + 8, pt->cfg.root & SMMU_CD1_TTB0);
	wr64(g, pa + 24, L_MAIR);
}

static u64 cdt_alloc(struct gen_state *g, struct gen_cdtab *cdt, u64 bytes, u64 align)
{
	u64 addr, pa;

	if (cdt->vm) {
		addr = vm_alloc(g, (struct gen_vm *)cdt->vm, bytes, align);
		if (!addr)
			return 0;
		pa = vm_ipa_to_pa(cdt->vm, addr);
	} else {
		addr = pa = host_alloc(g, bytes > align ? bytes : align);
		bytes = (bytes + (1ULL << g->page_lg2) - 1) & ~((1ULL << g->page_lg2) - 1);
	}
	add_page(&cdt->page, &cdt->nr_page, &cdt->cap_page, pa, bytes);
	return addr;
}

static unsigned int cdt_l2_lg2(const struct gen_cdtab *cdt)
{
	return cdt->fmt == SMMU_CD_FMT_2LVL_4K ? 6 : 10;
}

static bool cdt_linear(const struct gen_cdtab *cdt)
{
	return cdt->cdmax == 0 || cdt->fmt == SMMU_CD_FMT_LINEAR;
}

/* arm_smmu_alloc_cd_tables() (host) or a guest's equivalent. */
static struct gen_cdtab *new_cdtab(struct gen_state *g, u32 si, unsigned int cdmax,
				   unsigned int fmt, struct gen_vm *vm)
{
	struct gen_smmu *s = &g->smmu[si];
	struct gen_cdtab *cdt = calloc(1, sizeof(*cdt));

	if (!cdt)
		abort();
	cdt->cdmax = (u8)cdmax;
	cdt->fmt = (u8)fmt;
	cdt->vm = vm;
	if (cdt_linear(cdt)) {
		u64 bytes = 64ULL << cdmax;

		cdt->base = cdt_alloc(g, cdt, bytes, bytes < 64 ? 64 : bytes);
	} else {
		unsigned int l2 = cdt_l2_lg2(cdt);

		cdt->nr_l1 = cdmax > l2 ? 1u << (cdmax - l2) : 1;
		cdt->l2 = calloc(cdt->nr_l1, sizeof(*cdt->l2));
		if (!cdt->l2)
			abort();
		cdt->base = cdt_alloc(g, cdt, cdt->nr_l1 * 8ULL,
				      pow2_roundup(cdt->nr_l1 * 8ULL < 64 ? 64 : cdt->nr_l1 * 8ULL));
	}
	if (!cdt->base) {
		free(cdt->l2);
		free(cdt);
		return NULL;
	}
	GROW(s->cdt, s->nr_cdt, s->cap_cdt);
	s->cdt[s->nr_cdt++] = cdt;
	return cdt;
}

/* Address of the CD for @ssid, allocating a leaf table (arm_smmu_alloc_cd_ptr). */
static u64 cdt_cd_addr(struct gen_state *g, struct gen_cdtab *cdt, u32 ssid)
{
	unsigned int l2;
	u32 idx;

	if (cdt_linear(cdt))
		return cdt->base + ssid * 64ULL;
	l2 = cdt_l2_lg2(cdt);
	idx = ssid >> l2;
	if (!cdt->l2[idx]) {
		u64 bytes = 64ULL << l2;
		u64 l1 = cdt->base + idx * 8ULL;

		cdt->l2[idx] = cdt_alloc(g, cdt, bytes, bytes);
		if (!cdt->l2[idx])
			return 0;
		wr64(g, cdt->vm ? vm_ipa_to_pa(cdt->vm, l1) : l1,
		     (cdt->l2[idx] & SMMU_L1CD_L2PTR) | SMMU_L1CD_V);
	}
	return cdt->l2[idx] + (ssid & ((1u << l2) - 1)) * 64ULL;
}

static bool cdt_has(const struct gen_cdtab *cdt, u32 ssid)
{
	u32 i;

	for (i = 0; i < cdt->nr_cd; i++)
		if (cdt->cd[i].ssid == ssid)
			return true;
	return false;
}

static bool cdt_set(struct gen_state *g, struct gen_cdtab *cdt, u32 ssid,
		    struct gen_pt *pt, bool stall)
{
	u64 addr;

	if (cdt_has(cdt, ssid))
		return false;
	addr = cdt_cd_addr(g, cdt, ssid);
	if (!addr)
		return false;
	cd_write(g, cdt, addr, pt, pt->id, stall);
	GROW(cdt->cd, cdt->nr_cd, cdt->cap_cd);
	cdt->cd[cdt->nr_cd++] = (struct gen_cd){ .ssid = ssid, .asid = pt->id, .pt = pt };
	return true;
}

static int cd_cmp(const void *a, const void *b)
{
	const struct gen_cd *x = a, *y = b;

	return x->ssid < y->ssid ? -1 : x->ssid > y->ssid;
}

static const struct gen_cd *cdt_lookup(const struct gen_cdtab *cdt, u32 ssid)
{
	long lo = 0, hi = (long)cdt->nr_cd - 1;

	while (lo <= hi) {
		long mid = lo + (hi - lo) / 2;

		if (cdt->cd[mid].ssid == ssid)
			return &cdt->cd[mid];
		if (cdt->cd[mid].ssid < ssid)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

/* ---- VMs (nested) -------------------------------------------------------- */

static struct gen_vm *new_vm(struct gen_state *g, u32 si)
{
	struct gen_smmu *s = &g->smmu[si];
	struct gen_vm *vm = calloc(1, sizeof(*vm));
	static const u8 gran[] = { 12, 14, 16 };
	u64 ram, gpage = 1ULL << g->page_lg2, ipa_space;
	u32 r, nreg;

	if (!vm)
		abort();
	vm->granule_lg2 = gran[rnd(g, 3)];
	vm->s2 = new_s2_domain(g, si, vm);
	ipa_space = 1ULL << vm->s2->cfg.ias;
	/* guest RAM: 2-8 MiB (by guest page size) at a 1 GiB-aligned IPA */
	vm->ram_size = 2ULL << 20 << (vm->granule_lg2 - 12) / 2;
	vm->ram_ipa = (1 + rnd(g, ipa_space / 2 / (1ULL << 30) - 1)) << 30;
	ram = arena_alloc(g->arena, vm->ram_size, 2ULL << 20, ARENA_EXTERNAL);
	if (!ram)
		abort();
	vm->ram_pa = ram;
	/* The guest's RAM is mapped RW, by pages or 2M blocks when possible. */
	if (pt_leaf_ok(vm->s2, 2) && g->page_lg2 == 12 && chance(g, 50))
		map_region(g, vm->s2, vm->ram_ipa, (u32)(vm->ram_size >> 21), 2, ram, false,
			   SKHO_PROT_R | SKHO_PROT_W);
	else
		map_region(g, vm->s2, vm->ram_ipa, (u32)(vm->ram_size / gpage), 3, ram, false,
			   SKHO_PROT_R | SKHO_PROT_W);
	/* Guest DMA windows (device assignment), any S2 permission. */
	nreg = 1 + (u32)rnd(g, g->p.max_regions);
	for (r = 0; r < nreg; r++) {
		u32 n = 1 + (u32)rnd(g, g->p.max_leaves);
		u64 out = arena_reserve(g->arena, n * gpage, gpage, ARENA_EXTERNAL);

		if (out)
			map_region(g, vm->s2, pick_iova(g, vm->s2, n * gpage, gpage), n, 3,
				   out, false, ~0u);
	}
	pt_finish(vm->s2);
	GROW(s->vm, s->nr_vm, s->cap_vm);
	s->vm[s->nr_vm++] = vm;
	return vm;
}

/* A guest-owned S1 table mapping guest IPAs (some not mapped by stage 2). */
static struct gen_pt *new_guest_s1(struct gen_state *g, u32 si, struct gen_vm *vm)
{
	static const u8 va[] = { 36, 39, 42, 47, 48 };
	struct gen_pt *pt = new_pt(g, si);
	const struct gen_pt *s2 = vm->s2;
	unsigned int ias, lvl;
	u32 r, nreg;
	u64 size;

	do
		ias = va[rnd(g, sizeof(va))];
	while (ias < 2u * vm->granule_lg2 - 3);	/* at least two levels */
	if (!pt_init(g, pt, si, SKHO_STAGE1, vm->granule_lg2, ias, s2->cfg.ias, vm))
		return NULL;	/* guest RAM full: the table stays empty, unused */
	pt->id = (u16)(1 + rnd(g, 65535));	/* the guest's own ASID space */
	pt->coherent = true;
	nreg = 1 + (u32)rnd(g, g->p.max_regions);
	for (r = 0; r < nreg; r++) {
		u64 out, iova;
		u32 n;

		lvl = chance(g, 85) ? 3 : 2;
		if (!pt_leaf_ok(pt, lvl))
			lvl = 3;
		size = 1ULL << pt_shift(pt, lvl);
		n = 1 + (u32)rnd(g, lvl == 3 ? g->p.max_leaves : 2);
		if (chance(g, 80) && s2->nr_leaf) {
			/* inside a stage-2 mapping: DMA that reaches memory */
			const struct gen_leaf *l = &s2->leaf[rnd(g, s2->nr_leaf)];

			out = (l->iova + rnd(g, l->size)) & ~(size - 1);
		} else {
			out = rnd(g, 1ULL << s2->cfg.ias) & ~(size - 1);
		}
		if (out + n * size > 1ULL << s2->cfg.ias)
			continue;
		iova = pick_iova(g, pt, n * size, size);
		map_region(g, pt, iova, n, lvl, out, false, ~0u);
	}
	pt_finish(pt);
	return pt;
}

/* ---- stream tables and STEs ---------------------------------------------- */

static u64 ste_addr(struct gen_state *g, struct gen_smmu *s, u32 sid)
{
	u32 idx;

	if (!s->two_level)
		return s->strtab_pa + sid * 64ULL;
	idx = sid >> s->split;
	if (!s->l2[idx]) {
		/* arm_smmu_init_l2_strtab(): abort STEs, then the L1STD */
		u64 n = 1ULL << s->split, i;

		s->l2[idx] = host_alloc(g, n * 64);
		for (i = 0; i < n; i++)
			wr64(g, s->l2[idx] + i * 64,
			     SMMU_STE0_V | SKHO_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CFG_ABORT));
		wr64(g, s->strtab_pa + idx * 8ULL,
		     SKHO_FIELD_PREP(SMMU_L1STD_SPAN, s->split + 1) |
		     (s->l2[idx] & SMMU_L1STD_L2PTR));
	}
	return s->l2[idx] + (sid & ((1u << s->split) - 1)) * 64ULL;
}

static void init_strtab(struct gen_state *g, u32 si)
{
	struct gen_smmu *s = &g->smmu[si];
	static const u8 splits[] = { 6, 8, 10 };
	u32 cfg;

	s->sid_bits = (u8)(g->p.min_sid_bits +
			   rnd(g, g->p.max_sid_bits - g->p.min_sid_bits + 1u));
	s->two_level = g->p.strtab ? g->p.strtab == 2 : chance(g, 50);
	if (s->two_level) {
		s->split = g->p.split ? g->p.split : splits[rnd(g, 3)];
		if (s->sid_bits <= s->split)	/* Linux: sid_bits <= split -> linear */
			s->sid_bits = s->split + 1 + (u8)rnd(g, 3);
		s->nr_l1 = 1u << (s->sid_bits - s->split);
		s->l2 = calloc(s->nr_l1, sizeof(*s->l2));
		if (!s->l2)
			abort();
		s->strtab_bytes = s->nr_l1 * 8ULL;
		s->strtab_pa = host_alloc(g, s->strtab_bytes);
		cfg = (u32)(SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_FMT, SMMU_STRTAB_FMT_2LVL) |
			    SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_LOG2SIZE, s->sid_bits) |
			    SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_SPLIT, s->split));
	} else {
		u64 i;

		if (s->sid_bits > 12)		/* keep linear tables small */
			s->sid_bits = (u8)(6 + rnd(g, 7));
		s->strtab_bytes = 64ULL << s->sid_bits;
		s->strtab_pa = host_alloc(g, s->strtab_bytes);
		for (i = 0; i < (1ULL << s->sid_bits); i++)	/* arm_smmu_init_initial_stes */
			wr64(g, s->strtab_pa + i * 64,
			     SMMU_STE0_V | SKHO_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CFG_ABORT));
		cfg = (u32)(SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_FMT, SMMU_STRTAB_FMT_LINEAR) |
			    SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_LOG2SIZE, s->sid_bits));
	}
	s->hw.strtab_base = SMMU_STRTAB_BASE_RA | (s->strtab_pa & SMMU_STRTAB_BASE_ADDR);
	s->hw.strtab_cfg = cfg;
}

static void ste_write(struct gen_state *g, struct gen_stream *st)
{
	u32 i;

	for (i = 0; i < 8; i++)
		wr64(g, st->ste_pa + i * 8, st->ste[i]);
}

/* arm_smmu_make_cdtable_ste() */
static void make_cdtable_ste(const struct gen_smmu *s, struct gen_stream *st, bool ats)
{
	const struct gen_cdtab *cdt = st->cdt;

	memset(st->ste, 0, sizeof(st->ste));
	st->ste[0] = SMMU_STE0_V | SKHO_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CFG_S1) |
		     SKHO_FIELD_PREP(SMMU_STE0_S1FMT, cdt->fmt) |
		     (cdt->base & SMMU_STE0_S1CTXPTR) |
		     SKHO_FIELD_PREP(SMMU_STE0_S1CDMAX, cdt->cdmax);
	st->ste[1] = SKHO_FIELD_PREP(SMMU_STE1_S1DSS, st->s1dss) |
		     SKHO_FIELD_PREP(L_STE1_S1CIR, L_S1C_CACHE_WBRA) |
		     SKHO_FIELD_PREP(L_STE1_S1COR, L_S1C_CACHE_WBRA) |
		     SKHO_FIELD_PREP(L_STE1_S1CSH, L_SH_ISH) |
		     (s->stalls ? L_STE1_S1STALLD : 0) |
		     SKHO_FIELD_PREP(L_STE1_EATS, ats ? 1 : 0);
	if (s->attr_ovr && st->s1dss == SMMU_S1DSS_BYPASS)
		st->ste[1] |= SKHO_FIELD_PREP(L_STE1_SHCFG, L_SHCFG_INCOMING);
	if (s->e2h)
		st->ste[1] |= SKHO_FIELD_PREP(L_STE1_STRW, L_STRW_EL2);
}

/* arm_smmu_make_s2_domain_ste() */
static void make_s2_ste(const struct gen_smmu *s, struct gen_stream *st, bool ats)
{
	const struct gen_pt *pt = st->s2;
	unsigned int sl = pt->cfg.start_level + (pt->cfg.granule_lg2 == 12);
	unsigned int rgn = pt->coherent ? L_RGN_WBWA : L_RGN_NC;

	memset(st->ste, 0, sizeof(st->ste));
	st->ste[0] = SMMU_STE0_V | SKHO_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CFG_S2);
	st->ste[1] = SKHO_FIELD_PREP(L_STE1_EATS, ats ? 1 : 0);
	if (s->attr_ovr)
		st->ste[1] |= SKHO_FIELD_PREP(L_STE1_SHCFG, L_SHCFG_INCOMING);
	st->ste[2] = SKHO_FIELD_PREP(SMMU_STE2_S2VMID, pt->id) |
		     SKHO_FIELD_PREP(SMMU_STE2_S2T0SZ, 64 - pt->cfg.ias) |
		     SKHO_FIELD_PREP(SMMU_STE2_S2SL0, ~sl & 3) |
		     SKHO_FIELD_PREP(L_STE2_S2IR0, rgn) | SKHO_FIELD_PREP(L_STE2_S2OR0, rgn) |
		     SKHO_FIELD_PREP(L_STE2_S2SH0, pt->coherent ? L_SH_ISH : L_SH_OSH) |
		     SKHO_FIELD_PREP(SMMU_STE2_S2TG, tg_enc(pt->cfg.granule_lg2)) |
		     SKHO_FIELD_PREP(SMMU_STE2_S2PS, ps_enc(pt->cfg.oas)) |
		     SMMU_STE2_S2AA64 | L_STE2_S2PTW | SMMU_STE2_S2R;
	st->ste[3] = pt->cfg.root & SMMU_STE3_S2TTB;
}

/* arm_smmu_make_nested_cd_table_ste(): S2 STE + the guest's vSTE words. */
static void make_nested_ste(struct gen_state *g, const struct gen_smmu *s,
			    struct gen_stream *st, bool ats)
{
	const struct gen_cdtab *cdt = st->cdt;
	u64 v0, v1;

	make_s2_ste(s, st, ats);
	v0 = SMMU_STE0_V | SKHO_FIELD_PREP(SMMU_STE0_S1FMT, cdt->fmt) |
	     (cdt->base & SMMU_STE0_S1CTXPTR) |
	     SKHO_FIELD_PREP(SMMU_STE0_S1CDMAX, cdt->cdmax);
	v1 = SKHO_FIELD_PREP(SMMU_STE1_S1DSS, st->s1dss) |
	     SKHO_FIELD_PREP(L_STE1_S1CIR, L_S1C_CACHE_WBRA) |
	     SKHO_FIELD_PREP(L_STE1_S1COR, L_S1C_CACHE_WBRA) |
	     SKHO_FIELD_PREP(L_STE1_S1CSH, L_SH_ISH) |
	     (chance(g, 30) ? L_STE1_S1STALLD : 0);
	st->ste[0] = SMMU_STE0_V | SKHO_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CFG_NESTED) | v0;
	st->ste[1] |= v1 | L_STE1_MEV;
}

static struct gen_stream *add_stream(struct gen_state *g, u32 si, u32 sid, u32 master)
{
	struct gen_smmu *s = &g->smmu[si];
	struct gen_stream *st;

	GROW(s->st, s->nr_st, s->cap_st);
	st = &s->st[s->nr_st++];
	memset(st, 0, sizeof(*st));
	st->sid = sid;
	st->master = master;
	st->ste_pa = ste_addr(g, s, sid);
	return st;
}

static bool sid_taken(const struct gen_smmu *s, u32 sid)
{
	u32 i;

	for (i = 0; i < s->nr_st; i++)
		if (s->st[i].sid == sid)
			return true;
	return false;
}

static int stream_cmp(const void *a, const void *b)
{
	const struct gen_stream *x = a, *y = b;

	return x->sid < y->sid ? -1 : x->sid > y->sid;
}

/* PASIDs attached to a CD table (SSIDs 1.., random). */
static void attach_pasids(struct gen_state *g, u32 si, struct gen_cdtab *cdt,
			  struct gen_pt **doms, u32 nr_doms, bool stall)
{
	u32 k, n = 1 + (u32)rnd(g, 4);

	for (k = 0; k < n && nr_doms; k++) {
		u32 ssid = 1 + (u32)rnd(g, (1u << cdt->cdmax) - 1);

		cdt_set(g, cdt, ssid, doms[rnd(g, nr_doms)], stall);
	}
	(void)si;
}

static void build_master(struct gen_state *g, u32 si, u32 m, struct gen_pt **s1d, u32 n1,
			 struct gen_pt **s2d, u32 n2)
{
	struct gen_smmu *s = &g->smmu[si];
	u32 nsid = 1 + (u32)rnd(g, g->p.max_sids_per_master), k;
	u64 nested_ste[8];
	bool nested_made = false;
	u32 sid_space = 1u << s->sid_bits, base_sid;
	unsigned int kind, r = (unsigned int)rnd(g, 100);
	struct gen_stream proto = { 0 };
	bool ats = chance(g, 30), stall = s->stalls && chance(g, 20);

	if (g->p.shared_s1_bytes)
		kind = GEN_STE_S1;
	else if (r < 10)
		kind = GEN_STE_ABORT;
	else if (r < 20)
		kind = GEN_STE_BYPASS;
	else if (r < 62 && n1)
		kind = GEN_STE_S1;
	else if (r < 80 && n2)
		kind = GEN_STE_S2;
	else if (s->nr_vm)
		kind = GEN_STE_NESTED;
	else
		kind = n1 ? GEN_STE_S1 : GEN_STE_BYPASS;

	proto.kind = (u8)kind;
	if (kind == GEN_STE_S1) {
		/* master->ssid_bits: 0 for most, PASID-capable for some */
		unsigned int ssid_bits = chance(g, 35) && g->p.max_ssid_bits ?
			1 + (unsigned int)rnd(g, g->p.max_ssid_bits) : 0;
		unsigned int fmt = (1u << ssid_bits) <= 1024 ? SMMU_CD_FMT_LINEAR :
							     SMMU_CD_FMT_2LVL_64K;
		struct gen_cdtab *cdt = new_cdtab(g, si, ssid_bits, fmt, NULL);

		proto.cdt = cdt;
		if (!ssid_bits) {
			cdt_set(g, cdt, 0, s1d[rnd(g, n1)], stall);
			proto.s1dss = SMMU_S1DSS_SSID0;
		} else {
			unsigned int rid = (unsigned int)rnd(g, 3);

			/* RID: S1 domain (SSID0), identity (bypass) or blocked (terminate) */
			if (rid == 0) {
				cdt_set(g, cdt, 0, s1d[rnd(g, n1)], stall);
				proto.s1dss = SMMU_S1DSS_SSID0;
			} else {
				proto.s1dss = rid == 1 ? SMMU_S1DSS_BYPASS : SMMU_S1DSS_TERMINATE;
			}
			attach_pasids(g, si, cdt, s1d, n1, stall);
			if (!cdt->nr_cd)	/* a CD table only exists with a CD in use */
				cdt_set(g, cdt, 1, s1d[rnd(g, n1)], stall);
		}
		qsort(cdt->cd, cdt->nr_cd, sizeof(*cdt->cd), cd_cmp);
	} else if (kind == GEN_STE_S2) {
		proto.s2 = s2d[rnd(g, n2)];
	} else if (kind == GEN_STE_NESTED) {
		struct gen_vm *vm = s->vm[rnd(g, s->nr_vm)];
		unsigned int cdmax = chance(g, 40) ? 0 : 1 + (unsigned int)rnd(g, 8);
		unsigned int fmt = (unsigned int)rnd(g, 3);	/* the guest's choice */
		struct gen_cdtab *cdt = new_cdtab(g, si, cdmax, fmt, vm);
		struct gen_pt *gs1[3];
		u32 ngs1 = 0, q, want = 1 + (u32)rnd(g, 2);

		proto.s2 = vm->s2;
		for (q = 0; cdt && q < want; q++) {
			gs1[ngs1] = new_guest_s1(g, si, vm);
			if (gs1[ngs1])
				ngs1++;
		}
		if (!cdt || !ngs1) {
			proto.kind = (u8)(kind = GEN_STE_S2);	/* guest RAM full */
		} else {
			proto.cdt = cdt;
			proto.s1dss = cdmax ? (u8)rnd(g, 3) : SMMU_S1DSS_SSID0;
			if (!cdmax || proto.s1dss == SMMU_S1DSS_SSID0 || chance(g, 50))
				cdt_set(g, cdt, 0, gs1[0], false);
			if (cdmax)
				attach_pasids(g, si, cdt, gs1, ngs1, false);
			qsort(cdt->cd, cdt->nr_cd, sizeof(*cdt->cd), cd_cmp);
		}
	}

	/* SIDs: consecutive (bridges, multi-function) or scattered */
	base_sid = (u32)rnd(g, sid_space);
	for (k = 0; k < nsid; k++) {
		u32 sid = chance(g, 60) ? base_sid + k : (u32)rnd(g, sid_space);
		struct gen_stream *st;

		if (sid >= sid_space || sid_taken(s, sid))
			continue;
		st = add_stream(g, si, sid, m);
		st->kind = proto.kind;
		st->s1dss = proto.s1dss;
		st->cdt = proto.cdt;
		st->s2 = proto.s2;
		switch (kind) {
		case GEN_STE_ABORT:
			st->ste[0] = SMMU_STE0_V |
				     SKHO_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CFG_ABORT);
			break;
		case GEN_STE_BYPASS:
			st->ste[0] = SMMU_STE0_V |
				     SKHO_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CFG_BYPASS);
			if (s->attr_ovr)
				st->ste[1] = SKHO_FIELD_PREP(L_STE1_SHCFG, L_SHCFG_INCOMING);
			break;
		case GEN_STE_S1:
			make_cdtable_ste(s, st, ats);
			if (stall)
				st->ste[1] &= ~L_STE1_S1STALLD;
			break;
		case GEN_STE_S2:
			make_s2_ste(s, st, ats);
			break;
		case GEN_STE_NESTED:
			/* one vSTE per master: every SID gets the same STE */
			if (!nested_made)
				make_nested_ste(g, s, st, ats);
			else
				memcpy(st->ste, nested_ste, sizeof(st->ste));
			memcpy(nested_ste, st->ste, sizeof(nested_ste));
			nested_made = true;
			break;
		}
		ste_write(g, st);
	}
}

/* Linux arm_smmu_device_hw_probe() outcomes that shape the tables. */
static void init_smmu(struct gen_state *g, u32 si)
{
	static const u8 oas[] = { 40, 42, 44, 48 };
	struct gen_smmu *s = &g->smmu[si];

	s->mmio_base = 0x09050000ULL + si * 0x20000ULL + (rnd(g, 16) << 32);
	s->hw.oas = g->p.shared_s1_bytes ? 48 : oas[rnd(g, sizeof(oas))];
	s->hw.mem = arena_mem(g->arena);
	s->features = chance(g, 80) ? SKHO_SMMU_F_COHERENT : 0;
	s->e2h = chance(g, 30);
	s->attr_ovr = chance(g, 50);
	s->stalls = chance(g, 20);
	s->hd = chance(g, 50);
}

static void build_large_smmu(struct gen_state *g, u32 si)
{
	struct gen_smmu *s = &g->smmu[si];
	struct gen_pt *pt = new_s1_domain(g, si, false);
	u64 bytes = g->p.shared_s1_bytes, chunk = 64 << 10, off;
	u64 iova = 1ULL << 32;		/* a DMA-API-like IOVA window */
	u64 out = arena_reserve(g->arena, bytes, 2ULL << 20, ARENA_EXTERNAL);
	u32 nchunks = (u32)(bytes / chunk), mult = (u32)(rnd(g, nchunks) | 1), m;

	if (!out)
		abort();
	/* 64 KiB PA-contiguous chunks, scattered: 16-page runs, 4K leaves */
	for (off = 0; off < bytes; off += 4096) {
		u64 c = off / chunk;
		u64 pa = out + ((c * mult) & (nchunks - 1)) * chunk + off % chunk;

		pt_map(g, pt, iova + off, pa, 3, (c % 5) ? SKHO_PROT_R | SKHO_PROT_W :
		       SKHO_PROT_R, 0, false);
	}
	pt_finish(pt);
	for (m = 0; m < g->p.masters; m++) {
		u32 sid;
		struct gen_stream *st;
		struct gen_cdtab *cdt;

		do
			sid = (u32)rnd(g, 1u << s->sid_bits);
		while (sid_taken(s, sid));
		cdt = new_cdtab(g, si, 0, SMMU_CD_FMT_LINEAR, NULL);
		cdt_set(g, cdt, 0, pt, false);
		st = add_stream(g, si, sid, m);
		st->kind = GEN_STE_S1;
		st->s1dss = SMMU_S1DSS_SSID0;
		st->cdt = cdt;
		make_cdtable_ste(s, st, false);
		ste_write(g, st);
	}
}

struct gen_state *gen_build(u64 seed, const struct gen_params *p)
{
	struct gen_state *g;
	static const u8 pages[] = { 12, 14, 16 };
	u32 si;

	if (!p->nr_smmus || p->nr_smmus > GEN_MAX_SMMUS || p->min_sid_bits > p->max_sid_bits ||
	    p->max_sid_bits > 24 || p->max_ssid_bits > 20)
		return NULL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->seed = seed;
	g->rng = seed * 0x2545f4914f6cdd1dULL + 0x1234567;
	g->p = *p;
	g->page_lg2 = p->page_lg2 ? p->page_lg2 : pages[rnd(g, 3)];
	g->nr_smmus = p->nr_smmus;
	/* Arena below 2^40: every OAS gen picks (>= 40) reaches it. */
	g->arena = arena_new(arena_rand64(&g->rng), 40);
	if (!g->arena) {
		free(g);
		return NULL;
	}
	/* A few ASIDs were allocated and freed before: holes in the space. */
	for (si = 0; si < 6; si++)
		if (chance(g, 50))
			g->asid_used[si / 8] |= (u8)(1u << (si % 8));
	g->asid_used[0] &= ~1u;
	for (si = 0; si < g->nr_smmus; si++) {
		struct gen_smmu *s = &g->smmu[si];
		struct gen_pt *s1d[16], *s2d[16];
		u32 i, n1, n2, m;

		init_smmu(g, si);
		init_strtab(g, si);
		if (p->shared_s1_bytes) {
			build_large_smmu(g, si);
		} else {
			n1 = p->s1_domains < 16 ? p->s1_domains : 16;
			n2 = p->s2_domains < 16 ? p->s2_domains : 16;
			for (i = 0; i < n1; i++)
				s1d[i] = new_s1_domain(g, si, true);
			for (i = 0; i < n2; i++)
				s2d[i] = new_s2_domain(g, si, NULL);
			for (i = 0; i < n2; i++) {
				fill_host_pt(g, s2d[i]);
			}
			for (i = 0; i < p->vms; i++)
				new_vm(g, si);
			for (m = 0; m < p->masters; m++)
				build_master(g, si, m, s1d, n1, s2d, n2);
		}
		qsort(s->st, s->nr_st, sizeof(*s->st), stream_cmp);
	}
	/* ASIDs from the freed-holes prelude are not in use: clear them. */
	for (si = 1; si < 6; si++) {
		bool used = false;
		u32 j, k;

		for (j = 0; j < g->nr_smmus && !used; j++)
			for (k = 0; k < g->smmu[j].nr_pt; k++)
				if (g->smmu[j].pt[k]->cfg.stage == SKHO_STAGE1 &&
				    !g->smmu[j].pt[k]->vm && g->smmu[j].pt[k]->id == si)
					used = true;
		if (!used)
			g->asid_used[0] &= (u8)~(1u << si);
	}
	return g;
}

static void free_pt(struct gen_pt *pt)
{
	free(pt->leaf);
	free(pt->page);
	free(pt);
}

void gen_free(struct gen_state *g)
{
	u32 si, i;

	if (!g)
		return;
	for (si = 0; si < g->nr_smmus; si++) {
		struct gen_smmu *s = &g->smmu[si];

		for (i = 0; i < s->nr_pt; i++)
			free_pt(s->pt[i]);
		for (i = 0; i < s->nr_cdt; i++) {
			free(s->cdt[i]->l2);
			free(s->cdt[i]->cd);
			free(s->cdt[i]->page);
			free(s->cdt[i]);
		}
		for (i = 0; i < s->nr_vm; i++)
			free(s->vm[i]);
		free(s->pt);
		free(s->cdt);
		free(s->vm);
		free(s->st);
		free(s->l2);
	}
	arena_free(g->arena);
	free(g);
}

/* ---- shadow queries ------------------------------------------------------ */

const struct gen_stream *gen_stream_find(const struct gen_state *g, u32 si, u32 sid)
{
	const struct gen_smmu *s = &g->smmu[si];
	long lo = 0, hi = (long)s->nr_st - 1;

	while (lo <= hi) {
		long mid = lo + (hi - lo) / 2;

		if (s->st[mid].sid == sid)
			return &s->st[mid];
		if (s->st[mid].sid < sid)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

void gen_ctx_get(const struct gen_state *g, u32 si, u32 sid, bool ssv, u32 ssid,
		 struct gen_ctx *c)
{
	const struct gen_smmu *s = &g->smmu[si];
	const struct gen_stream *st = gen_stream_find(g, si, sid);
	const struct gen_cdtab *cdt;
	const struct gen_cd *cd = NULL;

	memset(c, 0, sizeof(*c));
	c->smmu = si;
	c->sid = sid;
	c->ssv = ssv;
	c->ssid = ssid;
	c->st = st;
	if (sid >> s->sid_bits) {
		c->fault = SKHO_C_BAD_STREAMID;
		return;
	}
	/* 5.1.1, 7.3.3: an L1STD with Span 0 makes its StreamIDs invalid */
	if (s->two_level && !s->l2[sid >> s->split]) {
		c->fault = SKHO_C_BAD_STREAMID;
		return;
	}
	if (!st || st->frozen || st->kind == GEN_STE_ABORT) {
		c->fault = SKHO_XLATE_ABORT;	/* Linux's initial / blocked STE */
		return;
	}
	if (st->kind == GEN_STE_BYPASS || st->kind == GEN_STE_S2) {
		/* stage 1 disabled: a SubstreamID is C_BAD_SUBSTREAMID (5.2 S1Fmt) */
		if (ssv)
			c->fault = SKHO_C_BAD_SUBSTREAMID;
		c->s2 = st->kind == GEN_STE_S2 ? st->s2 : NULL;
		return;
	}
	cdt = st->cdt;
	c->s2 = st->kind == GEN_STE_NESTED ? st->s2 : NULL;
	if (!ssv) {
		if (cdt->cdmax && st->s1dss == SMMU_S1DSS_TERMINATE) {
			c->fault = SKHO_F_STREAM_DISABLED;
			return;
		}
		if (cdt->cdmax && st->s1dss == SMMU_S1DSS_BYPASS)
			return;		/* stage 1 bypassed, stage 2 (if any) applies */
		ssid = 0;
		cd = cdt_lookup(cdt, 0);
	} else {
		if (!cdt->cdmax || ssid >> cdt->cdmax) {
			c->fault = SKHO_C_BAD_SUBSTREAMID;
			return;
		}
		if (ssid == 0 && st->s1dss == SMMU_S1DSS_SSID0) {
			c->fault = SKHO_F_STREAM_DISABLED;	/* 7.3.7, 5.2 S1DSS 0b10 */
			return;
		}
		cd = cdt_lookup(cdt, ssid);
	}
	if (!cd && cdt->cdmax && !cdt_linear(cdt) && !cdt->l2[ssid >> cdt_l2_lg2(cdt)]) {
		c->fault = SKHO_C_BAD_SUBSTREAMID;	/* 7.3.9: L1CD.V == 0 */
		return;
	}
	if (!cd) {
		c->fault = SKHO_C_BAD_CD;		/* 7.3.11: CD.V == 0 */
		return;
	}
	c->s1 = cd->pt;
}

static bool stage_xlate(const struct gen_pt *pt, unsigned int stage, bool write,
			u64 *addr, u32 *prot, struct skho_xlate *x)
{
	const struct gen_leaf *l = NULL;

	if (!(*addr >> pt->cfg.ias))
		l = gen_pt_lookup(pt, *addr);
	if (!l) {
		x->fault = SKHO_F_TRANSLATION;
		x->fault_stage = (u8)stage;
		return false;
	}
	if (!(l->prot & (write ? SKHO_PROT_W : SKHO_PROT_R))) {
		x->fault = SKHO_F_PERMISSION;
		x->fault_stage = (u8)stage;
		return false;
	}
	*addr = l->pa + (*addr - l->iova);
	*prot &= l->prot;
	return true;
}

void gen_ctx_expect(const struct gen_ctx *c, u64 iova, bool write, struct skho_xlate *x)
{
	u64 addr = iova;
	u32 prot = SKHO_PROT_R | SKHO_PROT_W;

	x->fault = c->fault;
	x->fault_stage = 0;
	x->pa = 0;
	x->prot = 0;
	if (c->fault != SKHO_XLATE_OK)
		return;
	if (c->s1 && !stage_xlate(c->s1, 1, write, &addr, &prot, x))
		return;
	if (c->s2 && !stage_xlate(c->s2, 2, write, &addr, &prot, x))
		return;
	x->pa = addr;
	x->prot = prot;
}

u32 gen_stream_ctxs(const struct gen_state *g, u32 si, const struct gen_stream *st,
		    struct gen_ctx *out, u32 max)
{
	u32 n = 0, i;
	u64 rng = st->sid * 0x9e3779b97f4a7c15ULL ^ g->seed;

#define PUSH(ssv_, ssid_) do {							\
		if (n < max)							\
			gen_ctx_get(g, si, st->sid, (ssv_), (ssid_), &out[n++]);\
	} while (0)
	PUSH(false, 0);
	PUSH(true, 0);
	if (st->cdt) {
		const struct gen_cdtab *cdt = st->cdt;

		for (i = 0; i < cdt->nr_cd; i++)
			if (cdt->cd[i].ssid)
				PUSH(true, cdt->cd[i].ssid);
		if (cdt->cdmax) {
			PUSH(true, 1u << cdt->cdmax);		/* beyond S1CDMax */
			for (i = 0; i < GEN_MAX_CTX_INVALID; i++) {
				u32 ssid = (u32)arena_rand_below(&rng, 1u << cdt->cdmax);

				if (!cdt_lookup(cdt, ssid))
					PUSH(true, ssid);	/* CD.V == 0 / L1CD.V == 0 */
			}
		}
	} else {
		PUSH(true, 1);
	}
#undef PUSH
	return n;
}

/* ---- IPA view ------------------------------------------------------------ */

/* [ipa, ipa+len) must be readable at stage 2 and PA-contiguous. */
static const void *ipa_map(void *priv, u64 ipa, u64 len)
{
	const struct gen_ipa_mem *m = priv;
	const struct gen_leaf *l = gen_pt_lookup(m->vm->s2, ipa);
	u64 pa, next, end = ipa + len;

	if (!l || !len || end < ipa)
		return NULL;
	pa = l->pa + (ipa - l->iova);
	for (next = ipa; next < end; next = l->iova + l->size) {
		l = gen_pt_lookup(m->vm->s2, next);
		if (!l || !(l->prot & SKHO_PROT_R) || l->pa + (next - l->iova) != pa + (next - ipa))
			return NULL;
	}
	return arena_ptr(m->arena, pa, len);
}

void gen_ipa_mem_init(struct gen_ipa_mem *m, const struct gen_vm *vm,
		      const struct arena *arena)
{
	m->mem.map = ipa_map;
	m->mem.priv = m;
	m->vm = vm;
	m->arena = arena;
}

/* ---- handover helpers ---------------------------------------------------- */

static bool ranges_hit(const struct skho_range *r, u32 n, u64 pa, u64 size)
{
	u32 i;

	for (i = 0; i < n; i++)
		if (r[i].pa < pa + size && pa < r[i].pa + r[i].size)
			return true;
	return false;
}

bool gen_stream_uses(const struct gen_state *g, u32 si, const struct gen_stream *st,
		     u64 pa, u64 size)
{
	const struct gen_smmu *s = &g->smmu[si];
	u32 i;

	if (st->ste_pa < pa + size && pa < st->ste_pa + 64)
		return true;
	if (s->two_level && s->strtab_pa < pa + size && pa < s->strtab_pa + s->strtab_bytes)
		return true;
	if (s->two_level) {
		u64 l2 = s->l2[st->sid >> s->split], l2b = 64ULL << s->split;

		if (l2 < pa + size && pa < l2 + l2b)
			return true;
	}
	if (st->kind == GEN_STE_S1 && !st->frozen) {
		const struct gen_cdtab *cdt = st->cdt;

		if (ranges_hit(cdt->page, cdt->nr_page, pa, size))
			return true;
		for (i = 0; i < cdt->nr_cd; i++)
			if (ranges_hit(cdt->cd[i].pt->page, cdt->cd[i].pt->nr_page, pa, size))
				return true;
	}
	if ((st->kind == GEN_STE_S2 || st->kind == GEN_STE_NESTED) && !st->frozen)
		return ranges_hit(st->s2->page, st->s2->nr_page, pa, size);
	return false;
}

bool gen_stream_uses_asid(const struct gen_stream *st, u16 asid)
{
	u32 i;

	if (st->kind != GEN_STE_S1 || st->frozen)
		return false;
	for (i = 0; i < st->cdt->nr_cd; i++)
		if (st->cdt->cd[i].asid == asid)
			return true;
	return false;
}

void gen_smmu_state(const struct gen_state *g, u32 si, const u32 *sids, u32 nr,
		    struct skho_smmu_state *out)
{
	const struct gen_smmu *s = &g->smmu[si];

	memset(out, 0, sizeof(*out));
	out->mmio_base = s->mmio_base;
	out->strtab_base = s->hw.strtab_base;
	out->strtab_cfg = s->hw.strtab_cfg;
	out->features = s->features;
	out->oas = s->hw.oas;
	out->sids = sids;
	out->nr_sids = nr;
}

static bool sid_in(const u32 *sids, u32 nr, u32 sid)
{
	long lo = 0, hi = (long)nr - 1;

	while (lo <= hi) {
		long mid = lo + (hi - lo) / 2;

		if (sids[mid] == sid)
			return true;
		if (sids[mid] < sid)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return false;
}

void gen_abort_ste(u8 ste[64])
{
	u64 w = skho_cpu_to_le64(SMMU_STE0_V |
				 SKHO_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CFG_ABORT));

	memset(ste, 0, 64);
	memcpy(ste, &w, 8);
}

u32 gen_freeze(struct gen_state *g, u32 si, const u32 *sids, u32 nr)
{
	struct gen_smmu *s = &g->smmu[si];
	u32 i, n = 0;

	for (i = 0; i < s->nr_st; i++) {
		struct gen_stream *st = &s->st[i];
		bool page_preserved;
		u8 ab[64];

		if (sid_in(sids, nr, st->sid))
			continue;
		if (!s->two_level) {
			page_preserved = nr > 0;
		} else {
			u32 j, idx = st->sid >> s->split;

			page_preserved = false;
			for (j = 0; j < nr && !page_preserved; j++)
				page_preserved = sids[j] >> s->split == idx;
		}
		if (!page_preserved)
			continue;
		gen_abort_ste(ab);
		memcpy(arena_ptr(g->arena, st->ste_pa, 64), ab, 64);
		st->frozen = true;
		n++;
	}
	return n;
}

void gen_ho_smmu(const struct skho_ho_smmu *ho, const struct arena *mem,
		 struct skho_smmu *out)
{
	memset(out, 0, sizeof(*out));
	out->strtab_base = ho->strtab_base;
	out->strtab_cfg = ho->strtab_cfg;
	out->oas = ho->oas;
	out->mem = arena_mem(mem);
}

int gen_adopt(struct arena *mem, const struct skho_ho_smmu *ho,
	      const u32 *refused, u32 nr_refused)
{
	u64 base = ho->strtab_base & SMMU_STRTAB_BASE_ADDR;
	u32 fmt = (u32)SKHO_FIELD_GET(SMMU_STRTAB_BASE_CFG_FMT, ho->strtab_cfg);
	u32 log2 = (u32)SKHO_FIELD_GET(SMMU_STRTAB_BASE_CFG_LOG2SIZE, ho->strtab_cfg);
	u32 split = (u32)SKHO_FIELD_GET(SMMU_STRTAB_BASE_CFG_SPLIT, ho->strtab_cfg);
	int n = 0;
	u32 i;

	if (fmt == SMMU_STRTAB_FMT_LINEAR) {
		if (!skho_ranges_contain(&ho->ranges, base, 64ULL << log2))
			return -SKHO_E_OUTSIDE;
	} else {
		u64 nl1 = log2 > split ? 1ULL << (log2 - split) : 1;

		if (!skho_ranges_contain(&ho->ranges, base, nl1 * 8))
			return -SKHO_E_OUTSIDE;
		for (i = 0; i < nl1; i++) {
			u64 d = arena_rd64(mem, base + i * 8ULL);
			u32 span = (u32)SKHO_FIELD_GET(SMMU_L1STD_SPAN, d);
			u64 l2 = d & SMMU_L1STD_L2PTR;

			if (!span)
				continue;
			if (span > 12 || !skho_ranges_contain(&ho->ranges, l2, 32ULL << span)) {
				arena_wr64(mem, base + i * 8ULL, 0);
				n++;
			}
		}
	}
	for (i = 0; i < nr_refused; i++) {
		u32 sid = refused[i];
		u64 pa;
		u8 ab[64];
		void *p;

		if (log2 < 32 && sid >> log2)
			continue;
		if (fmt == SMMU_STRTAB_FMT_LINEAR) {
			pa = base + sid * 64ULL;
		} else {
			u64 d = arena_rd64(mem, base + (u64)(sid >> split) * 8);
			u32 span = (u32)SKHO_FIELD_GET(SMMU_L1STD_SPAN, d);

			if (!span || (sid & ((1u << split) - 1)) >> (span - 1))
				continue;	/* already invalid */
			pa = (d & SMMU_L1STD_L2PTR) + (sid & ((1u << split) - 1)) * 64ULL;
		}
		if (!skho_ranges_contain(&ho->ranges, pa, 64) || !(p = arena_ptr(mem, pa, 64)))
			continue;
		gen_abort_ste(ab);
		memcpy(p, ab, 64);
		n++;
	}
	return n;
}

/* ---- late mappings and the whole handover ------------------------------- */

bool gen_pt_map_page(struct gen_state *g, struct gen_pt *pt, u64 iova, u64 pa,
		     u32 prot, u32 *new_tables)
{
	u32 before = pt->nr_page;
	bool ok;

	pt->c_tbl = NULL;
	ok = pt_map(g, pt, iova, pa, 3, prot, 0, false);
	pt->c_tbl = NULL;
	if (new_tables)
		*new_tables = pt->nr_page - before;
	if (ok)
		qsort(pt->leaf, pt->nr_leaf, sizeof(*pt->leaf), leaf_cmp);
	return ok;
}

int gen_smmu_by_mmio(const struct gen_state *g, u64 mmio_base)
{
	u32 si;

	for (si = 0; si < g->nr_smmus; si++)
		if (g->smmu[si].mmio_base == mmio_base)
			return (int)si;
	return -1;
}

bool gen_ho_preserved(const struct gen_ho *h, u32 si, u32 sid)
{
	return sid_in(h->sids[si], h->nr_sids[si], sid);
}

bool gen_preservable(const struct gen_stream *st)
{
	/* Untranslated DMA reaches every address: never handed over. */
	if (st->kind == GEN_STE_BYPASS)
		return false;
	return !(st->kind == GEN_STE_S1 && st->cdt && st->cdt->cdmax &&
		 st->s1dss == SMMU_S1DSS_BYPASS);
}

int gen_ho_prepare(struct gen_ho *h, struct gen_state *g, u64 seed, unsigned int pct,
		   struct skho_err *err)
{
	struct skho_smmu_state st[GEN_MAX_SMMUS];
	u64 rng = seed ^ 0x6b686f6b686f6bULL;
	u32 si, i, n;
	int ret;

	memset(h, 0, sizeof(*h));
	h->g = g;
	for (si = 0; si < g->nr_smmus; si++) {
		struct gen_smmu *s = &g->smmu[si];

		h->sids[si] = calloc(s->nr_st + 1, sizeof(u32));
		if (!h->sids[si])
			return -SKHO_E_NOMEM;
		for (i = 0, n = 0; i < s->nr_st; i++)
			if (arena_rand_below(&rng, 100) < pct && gen_preservable(&s->st[i]))
				h->sids[si][n++] = s->st[i].sid;
		for (i = 0; !n && i < s->nr_st; i++)
			if (gen_preservable(&s->st[i]))
				h->sids[si][n++] = s->st[i].sid;
		h->nr_sids[si] = n;	/* s->st is sorted: so is the subset */
		h->nr_frozen += gen_freeze(g, si, h->sids[si], n);
		gen_smmu_state(g, si, h->sids[si], n, &st[si]);
	}
	ret = skho_snapshot_take(&h->snap, st, g->nr_smmus, arena_mem(g->arena), err);
	if (ret)
		return ret;
	h->fdt_size = skho_snapshot_fdt_size(h->snap);
	h->fdt = malloc(h->fdt_size);
	if (!h->fdt)
		return -SKHO_E_NOMEM;
	ret = skho_snapshot_to_fdt(h->snap, h->fdt, h->fdt_size, err);
	if (ret)
		return ret;
	for (si = 0; si < g->nr_smmus; si++) {
		const struct skho_ranges *r = skho_snapshot_ranges(h->snap, si);
		struct skho_range *nr;

		if (!r || !r->nr)
			continue;
		nr = realloc(h->ranges, (h->nr_ranges + r->nr) * sizeof(*nr));
		if (!nr)
			return -SKHO_E_NOMEM;
		h->ranges = nr;
		memcpy(h->ranges + h->nr_ranges, r->r, r->nr * sizeof(*nr));
		h->nr_ranges += r->nr;
	}
	h->b = arena_fork(g->arena, h->ranges, h->nr_ranges, ARENA_EXTERNAL);
	return h->b ? 0 : -SKHO_E_NOMEM;
}

void gen_ho_release(struct gen_ho *h)
{
	u32 si;

	for (si = 0; si < GEN_MAX_SMMUS; si++)
		free(h->sids[si]);
	skho_snapshot_free(h->snap);
	free(h->fdt);
	free(h->ranges);
	arena_free(h->b);
	memset(h, 0, sizeof(*h));
}

static void collect_verdict(void *arg, u32 sid, const struct skho_err *why)
{
	struct gen_verdicts *v = arg;

	GROW(v->v, v->nr, v->cap);
	v->v[v->nr++] = (struct gen_verdict){
		.sid = sid, .code = why ? why->code : 0, .addr = why ? why->addr : 0,
	};
}

void gen_validate(const struct skho_handover *ho, u32 idx, const struct arena *mem,
		  struct gen_verdicts *out, struct skho_err *err)
{
	memset(out, 0, sizeof(*out));
	out->ret = skho_handover_validate(ho, idx, arena_mem(mem), collect_verdict, out, err);
}

void gen_verdicts_free(struct gen_verdicts *v)
{
	free(v->v);
	memset(v, 0, sizeof(*v));
}

const struct gen_verdict *gen_verdict_of(const struct gen_verdicts *v, u32 sid)
{
	u32 i;

	for (i = 0; i < v->nr; i++)
		if (v->v[i].sid == sid)
			return &v->v[i];
	return NULL;
}
