// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* KTAP: smmuv3_defs.h masks against the #defines of the pinned Linux 7.3 source. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ktest.h"
#include "skho_walk.h"

/*
 * The Linux headers are read as text at run time from the tree that
 * kernel/scripts/fetch-source.sh unpacks, found the way those scripts find
 * it: $SMMU_KHO_CACHE (else $XDG_CACHE_HOME/smmu-kho, else
 * ~/.cache/smmu-kho) + /linux-$SMMU_KHO_KERNEL_PIN (default LINUX_PIN);
 * SKHO_LINUX_SRC names another tree.  A missing tree FAILS every case: the
 * suite never passes or skips without reading Linux.  Object-like #defines
 * are evaluated by a small C expression evaluator: numbers, other #defines,
 * GENMASK(_ULL), BIT(_ULL), casts such as (arm_lpae_iopte), and the operators
 * ~ - * + - << >> & |.  Nothing from Linux is compiled in.
 */
#define LINUX_PIN	"7.3.4-1~bpo13+1"	/* = fetch-source.sh's PIN default */
static const char *const linux_files[] = {
	"drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h",
	"drivers/iommu/io-pgtable-arm.c",
	"drivers/iommu/io-pgtable-arm.h",
};

struct ldef {
	char *name;
	char *body;
};

static struct ldef *ldefs;
static size_t nr_ldefs;
static char linux_src[4096];

static const struct ldef *ldef_find(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < nr_ldefs; i++)
		if (strlen(ldefs[i].name) == len && !strncmp(ldefs[i].name, name, len))
			return &ldefs[i];
	return NULL;
}

/* Remove comments, join continuation lines, keep object-like #defines. */
static int load_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = NULL, *p, *line;
	size_t len = 0, cap = 0, n;
	char buf[4096];

	if (!f)
		return -errno;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (len + n + 1 > cap) {
			cap = 2 * (len + n + 1);
			text = realloc(text, cap);
			if (!text)
				abort();
		}
		memcpy(text + len, buf, n);
		len += n;
	}
	fclose(f);
	if (!text)
		return -EINVAL;
	text[len] = 0;
	/* comments -> spaces; backslash-newline -> spaces */
	for (p = text; *p; p++) {
		if (p[0] == '/' && p[1] == '*') {
			char *e = strstr(p + 2, "*/");

			e = e ? e + 2 : p + strlen(p);
			memset(p, ' ', e - p);
			p = e - 1;
		} else if (p[0] == '/' && p[1] == '/') {
			while (*p && *p != '\n')
				*p++ = ' ';
			p--;
		} else if (p[0] == '\\' && p[1] == '\n') {
			p[0] = p[1] = ' ';
		}
	}
	for (line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		char *s = line, *name;
		size_t nl;

		while (isspace((unsigned char)*s))
			s++;
		if (strncmp(s, "#define", 7) || !isspace((unsigned char)s[7]))
			continue;
		s += 7;
		while (isspace((unsigned char)*s))
			s++;
		name = s;
		while (isalnum((unsigned char)*s) || *s == '_')
			s++;
		nl = s - name;
		if (!nl || *s == '(')		/* function-like: not a value */
			continue;
		ldefs = realloc(ldefs, (nr_ldefs + 1) * sizeof(*ldefs));
		if (!ldefs)
			abort();
		ldefs[nr_ldefs].name = strndup(name, nl);
		ldefs[nr_ldefs].body = strdup(s);
		nr_ldefs++;
	}
	free(text);
	return 0;
}

/* ---- Expression evaluator --------------------------------------------- */

struct ev {
	const char *s;
	int depth;
	char err[160];
};

static u64 ev_or(struct ev *e);

static void ev_skip(struct ev *e)
{
	while (isspace((unsigned char)*e->s))
		e->s++;
}

static void ev_fail(struct ev *e, const char *what)
{
	if (!e->err[0])
		snprintf(e->err, sizeof(e->err), "%s at \"%.30s\"", what, e->s);
}

static bool ev_eat(struct ev *e, const char *tok)
{
	ev_skip(e);
	if (strncmp(e->s, tok, strlen(tok)))
		return false;
	e->s += strlen(tok);
	return true;
}

static size_t ident_len(const char *s)
{
	size_t n = 0;

	if (!isalpha((unsigned char)*s) && *s != '_')
		return 0;
	while (isalnum((unsigned char)s[n]) || s[n] == '_')
		n++;
	return n;
}

static u64 ev_define(struct ev *e, const char *name, size_t len);

static u64 ev_unary(struct ev *e)
{
	const char *save;
	size_t n;
	u64 v;

	ev_skip(e);
	if (ev_eat(e, "~"))
		return ~ev_unary(e);
	if (ev_eat(e, "-"))
		return -ev_unary(e);
	if (ev_eat(e, "(")) {
		/* a cast: identifiers none of which is a #define, then ')' */
		save = e->s;
		for (;;) {
			ev_skip(e);
			n = ident_len(e->s);
			if (!n || ldef_find(e->s, n))
				break;
			e->s += n;
		}
		if (e->s != save && ev_eat(e, ")"))
			return ev_unary(e);
		e->s = save;
		v = ev_or(e);
		if (!ev_eat(e, ")"))
			ev_fail(e, "missing )");
		return v;
	}
	if (isdigit((unsigned char)*e->s)) {
		char *end;

		v = strtoull(e->s, &end, 0);
		e->s = end;
		while (*e->s == 'u' || *e->s == 'U' || *e->s == 'l' || *e->s == 'L')
			e->s++;
		return v;
	}
	n = ident_len(e->s);
	if (!n) {
		ev_fail(e, "unexpected token");
		return 0;
	}
	save = e->s;
	e->s += n;
	if ((n == 7 && !strncmp(save, "GENMASK", 7)) ||
	    (n == 11 && !strncmp(save, "GENMASK_ULL", 11))) {
		u64 h, l;

		if (!ev_eat(e, "("))
			ev_fail(e, "GENMASK without (");
		h = ev_or(e);
		if (!ev_eat(e, ","))
			ev_fail(e, "GENMASK without ,");
		l = ev_or(e);
		if (!ev_eat(e, ")"))
			ev_fail(e, "GENMASK without )");
		if (h > 63 || l > h) {
			ev_fail(e, "GENMASK bounds");
			return 0;
		}
		return SKHO_GENMASK(h, l);
	}
	if ((n == 3 && !strncmp(save, "BIT", 3)) ||
	    (n == 7 && !strncmp(save, "BIT_ULL", 7))) {
		if (!ev_eat(e, "("))
			ev_fail(e, "BIT without (");
		v = ev_or(e);
		if (!ev_eat(e, ")"))
			ev_fail(e, "BIT without )");
		return v > 63 ? 0 : 1ULL << v;
	}
	return ev_define(e, save, n);
}

static u64 ev_mul(struct ev *e)
{
	u64 v = ev_unary(e);

	while (ev_eat(e, "*"))
		v *= ev_unary(e);
	return v;
}

static u64 ev_add(struct ev *e)
{
	u64 v = ev_mul(e);

	for (;;) {
		if (ev_eat(e, "+"))
			v += ev_mul(e);
		else if (ev_eat(e, "-"))
			v -= ev_mul(e);
		else
			return v;
	}
}

static u64 ev_shift(struct ev *e)
{
	u64 v = ev_add(e), n;

	for (;;) {
		if (ev_eat(e, "<<")) {
			n = ev_add(e);
			v = n > 63 ? 0 : v << n;
		} else if (ev_eat(e, ">>")) {
			n = ev_add(e);
			v = n > 63 ? 0 : v >> n;
		} else {
			return v;
		}
	}
}

static u64 ev_and(struct ev *e)
{
	u64 v = ev_shift(e);

	while (ev_skip(e), e->s[0] == '&' && e->s[1] != '&') {
		e->s++;
		v &= ev_shift(e);
	}
	return v;
}

static u64 ev_or(struct ev *e)
{
	u64 v = ev_and(e);

	while (ev_skip(e), e->s[0] == '|' && e->s[1] != '|') {
		e->s++;
		v |= ev_and(e);
	}
	return v;
}

static u64 ev_define(struct ev *e, const char *name, size_t len)
{
	const struct ldef *d = ldef_find(name, len);
	struct ev sub = { .depth = e->depth + 1 };
	u64 v;

	if (!d) {
		ev_fail(e, "unknown name");
		return 0;
	}
	if (sub.depth > 16) {
		ev_fail(e, "recursion");
		return 0;
	}
	sub.s = d->body;
	v = ev_or(&sub);
	ev_skip(&sub);
	if (!sub.err[0] && *sub.s)
		ev_fail(&sub, "trailing text");
	if (sub.err[0] && !e->err[0])
		snprintf(e->err, sizeof(e->err), "%.*s: %.100s", (int)(len > 48 ? 48 : len),
			 name, sub.err);
	return v;
}

/* Value of Linux's #define @name; a missing or unparsable one fails @t. */
static u64 lx(struct ktest *t, const char *name)
{
	struct ev e = { .s = name };
	u64 v = ev_define(&e, name, strlen(name));

	if (e.err[0])
		ktest_fail(t, __FILE__, __LINE__, "Linux #define %s: %s", name, e.err);
	return v;
}

#define ctz(m)	((unsigned int)__builtin_ctzll(m))

/* ---- Cases: one per field group --------------------------------------- */

static void strtab_base_registers_match(struct ktest *t)
{
	KEXPECT_EQ(t, SMMU_STRTAB_BASE_RA, lx(t, "STRTAB_BASE_RA"));
	KEXPECT_EQ(t, SMMU_STRTAB_BASE_ADDR, lx(t, "STRTAB_BASE_ADDR_MASK"));
	KEXPECT_EQ(t, SMMU_STRTAB_BASE_CFG_FMT, lx(t, "STRTAB_BASE_CFG_FMT"));
	KEXPECT_EQ(t, SMMU_STRTAB_BASE_CFG_SPLIT, lx(t, "STRTAB_BASE_CFG_SPLIT"));
	KEXPECT_EQ(t, SMMU_STRTAB_BASE_CFG_LOG2SIZE,
		   lx(t, "STRTAB_BASE_CFG_LOG2SIZE"));
	KEXPECT_EQ(t, SMMU_STRTAB_FMT_LINEAR, lx(t, "STRTAB_BASE_CFG_FMT_LINEAR"));
	KEXPECT_EQ(t, SMMU_STRTAB_FMT_2LVL, lx(t, "STRTAB_BASE_CFG_FMT_2LVL"));
}

static void l1_stream_descriptor_matches(struct ktest *t)
{
	u64 split = lx(t, "STRTAB_SPLIT");

	KEXPECT_EQ(t, SMMU_L1STD_SPAN, lx(t, "STRTAB_L1_DESC_SPAN"));
	KEXPECT_EQ(t, SMMU_L1STD_L2PTR, lx(t, "STRTAB_L1_DESC_L2PTR_MASK"));
	/* Linux's split must be one the walker accepts (6, 8, 10) */
	KEXPECT(t, split == 6 || split == 8 || split == 10, "split %llu",
		(unsigned long long)split);
	KEXPECT_EQ(t, SMMU_STE_DWORDS, lx(t, "STRTAB_STE_DWORDS"));
	/* 8 dwords of 8 bytes: 64-byte STEs */
	KEXPECT_EQ(t, 1u << SMMU_STE_LG2SIZE, SMMU_STE_DWORDS * 8);
}

static void ste_word0_matches(struct ktest *t)
{
	u64 linux_fields;

	KEXPECT_EQ(t, SMMU_STE0_V, lx(t, "STRTAB_STE_0_V"));
	KEXPECT_EQ(t, SMMU_STE0_CONFIG, lx(t, "STRTAB_STE_0_CFG"));
	KEXPECT_EQ(t, SMMU_STE_CFG_ABORT, lx(t, "STRTAB_STE_0_CFG_ABORT"));
	KEXPECT_EQ(t, SMMU_STE_CFG_BYPASS, lx(t, "STRTAB_STE_0_CFG_BYPASS"));
	KEXPECT_EQ(t, SMMU_STE_CFG_S1, lx(t, "STRTAB_STE_0_CFG_S1_TRANS"));
	KEXPECT_EQ(t, SMMU_STE_CFG_S2, lx(t, "STRTAB_STE_0_CFG_S2_TRANS"));
	KEXPECT_EQ(t, SMMU_STE_CFG_NESTED, lx(t, "STRTAB_STE_0_CFG_NESTED"));
	KEXPECT_EQ(t, SMMU_STE0_S1FMT, lx(t, "STRTAB_STE_0_S1FMT"));
	KEXPECT_EQ(t, SMMU_CD_FMT_LINEAR, lx(t, "STRTAB_STE_0_S1FMT_LINEAR"));
	KEXPECT_EQ(t, SMMU_CD_FMT_2LVL_64K, lx(t, "STRTAB_STE_0_S1FMT_64K_L2"));
	KEXPECT_EQ(t, SMMU_STE0_S1CTXPTR, lx(t, "STRTAB_STE_0_S1CTXPTR_MASK"));
	KEXPECT_EQ(t, SMMU_STE0_S1CDMAX, lx(t, "STRTAB_STE_0_S1CDMAX"));
	/* what we call RES0 must not be a field Linux writes */
	linux_fields = lx(t, "STRTAB_STE_0_V") | lx(t, "STRTAB_STE_0_CFG") |
		       lx(t, "STRTAB_STE_0_S1FMT") |
		       lx(t, "STRTAB_STE_0_S1CTXPTR_MASK") |
		       lx(t, "STRTAB_STE_0_S1CDMAX");
	KEXPECT_EQ(t, SMMU_STE0_RES0 & linux_fields, 0);
}

static void ste_word1_matches(struct ktest *t)
{
	KEXPECT_EQ(t, SMMU_STE1_S1DSS, lx(t, "STRTAB_STE_1_S1DSS"));
	KEXPECT_EQ(t, SMMU_S1DSS_TERMINATE, lx(t, "STRTAB_STE_1_S1DSS_TERMINATE"));
	KEXPECT_EQ(t, SMMU_S1DSS_BYPASS, lx(t, "STRTAB_STE_1_S1DSS_BYPASS"));
	KEXPECT_EQ(t, SMMU_S1DSS_SSID0, lx(t, "STRTAB_STE_1_S1DSS_SSID0"));
}

static void ste_word2_vtcr_matches(struct ktest *t)
{
	/* Linux nests the VTCR fields inside STRTAB_STE_2_VTCR: shift them */
	unsigned int vtcr = ctz(lx(t, "STRTAB_STE_2_VTCR"));

	KEXPECT_EQ(t, vtcr, 32);
	KEXPECT_EQ(t, SMMU_STE2_S2VMID, lx(t, "STRTAB_STE_2_S2VMID"));
	KEXPECT_EQ(t, SMMU_STE2_S2T0SZ, lx(t, "STRTAB_STE_2_VTCR_S2T0SZ") << vtcr);
	KEXPECT_EQ(t, SMMU_STE2_S2SL0, lx(t, "STRTAB_STE_2_VTCR_S2SL0") << vtcr);
	KEXPECT_EQ(t, SMMU_STE2_S2TG, lx(t, "STRTAB_STE_2_VTCR_S2TG") << vtcr);
	KEXPECT_EQ(t, SMMU_STE2_S2PS, lx(t, "STRTAB_STE_2_VTCR_S2PS") << vtcr);
	/* io-pgtable-arm.c's own view of VTCR.PS and VTCR.SL0 */
	KEXPECT_EQ(t, SMMU_STE2_S2PS, lx(t, "ARM_LPAE_VTCR_PS_MASK") <<
		   (lx(t, "ARM_LPAE_VTCR_PS_SHIFT") + vtcr));
	KEXPECT_EQ(t, SKHO_FIELD_GET(SMMU_STE2_S2SL0, ~0ULL),
		   lx(t, "ARM_LPAE_VTCR_SL0_MASK"));
	KEXPECT_EQ(t, SMMU_STE2_S2AA64, lx(t, "STRTAB_STE_2_S2AA64"));
	KEXPECT_EQ(t, SMMU_STE2_S2ENDI, lx(t, "STRTAB_STE_2_S2ENDI"));
	KEXPECT_EQ(t, SMMU_STE2_S2PTW, lx(t, "STRTAB_STE_2_S2PTW"));
	KEXPECT_EQ(t, SMMU_STE2_S2R, lx(t, "STRTAB_STE_2_S2R"));
}

static void ste_word3_matches(struct ktest *t)
{
	KEXPECT_EQ(t, SMMU_STE3_S2TTB, lx(t, "STRTAB_STE_3_S2TTB_MASK"));
	KEXPECT_EQ(t, SMMU_STE3_RES0 & lx(t, "STRTAB_STE_3_S2TTB_MASK"), 0);
}

static void cd_tables_match(struct ktest *t)
{
	KEXPECT_EQ(t, SMMU_L1CD_V, lx(t, "CTXDESC_L1_DESC_V"));
	KEXPECT_EQ(t, SMMU_L1CD_L2PTR, lx(t, "CTXDESC_L1_DESC_L2PTR_MASK"));
	KEXPECT_EQ(t, SMMU_CD_DWORDS, lx(t, "CTXDESC_CD_DWORDS"));
	/* Linux's leaf CD tables hold 1024 CDs: our 64K-leaf format, split 10 */
	KEXPECT_EQ(t, lx(t, "CTXDESC_L2_ENTRIES"), 1u << 10);
}

static void cd_words_match(struct ktest *t)
{
	KEXPECT_EQ(t, SMMU_CD0_T0SZ, lx(t, "CTXDESC_CD_0_TCR_T0SZ"));
	KEXPECT_EQ(t, SMMU_CD0_TG0, lx(t, "CTXDESC_CD_0_TCR_TG0"));
	KEXPECT_EQ(t, SMMU_CD0_EPD0, lx(t, "CTXDESC_CD_0_TCR_EPD0"));
	KEXPECT_EQ(t, SMMU_CD0_ENDI, lx(t, "CTXDESC_CD_0_ENDI"));
	KEXPECT_EQ(t, SMMU_CD0_EPD1, lx(t, "CTXDESC_CD_0_TCR_EPD1"));
	KEXPECT_EQ(t, SMMU_CD0_V, lx(t, "CTXDESC_CD_0_V"));
	KEXPECT_EQ(t, SMMU_CD0_IPS, lx(t, "CTXDESC_CD_0_TCR_IPS"));
	KEXPECT_EQ(t, SMMU_CD0_TBI0, lx(t, "CTXDESC_CD_0_TCR_TBI0"));
	KEXPECT_EQ(t, SMMU_CD0_AA64, lx(t, "CTXDESC_CD_0_AA64"));
	KEXPECT_EQ(t, SMMU_CD0_HD, lx(t, "CTXDESC_CD_0_TCR_HD"));
	KEXPECT_EQ(t, SMMU_CD0_HA, lx(t, "CTXDESC_CD_0_TCR_HA"));
	KEXPECT_EQ(t, SMMU_CD0_ASID, lx(t, "CTXDESC_CD_0_ASID"));
	KEXPECT_EQ(t, SMMU_CD1_TTB0, lx(t, "CTXDESC_CD_1_TTB0_MASK"));
}

static void granule_and_size_encodings_match(struct ktest *t)
{
	static const u8 ps_bits[] = SMMU_PS_BITS;
	static const char *const ps_names[] = {
		"ARM_LPAE_TCR_PS_32_BIT", "ARM_LPAE_TCR_PS_36_BIT",
		"ARM_LPAE_TCR_PS_40_BIT", "ARM_LPAE_TCR_PS_42_BIT",
		"ARM_LPAE_TCR_PS_44_BIT", "ARM_LPAE_TCR_PS_48_BIT",
		"ARM_LPAE_TCR_PS_52_BIT",
	};
	unsigned int i;

	KEXPECT_EQ(t, SMMU_TG_4K, lx(t, "ARM_LPAE_TCR_TG0_4K"));
	KEXPECT_EQ(t, SMMU_TG_16K, lx(t, "ARM_LPAE_TCR_TG0_16K"));
	KEXPECT_EQ(t, SMMU_TG_64K, lx(t, "ARM_LPAE_TCR_TG0_64K"));
	/* SMMU_PS_BITS[enc] is the size Linux's ARM_LPAE_TCR_PS_<size>_BIT names */
	KEXPECT_EQ(t, sizeof(ps_bits), 7);
	for (i = 0; i < 7; i++) {
		char want[32];

		snprintf(want, sizeof(want), "ARM_LPAE_TCR_PS_%u_BIT", ps_bits[i]);
		KEXPECT(t, !strcmp(want, ps_names[i]), "%s", want);
		KEXPECT_EQ(t, lx(t, ps_names[i]), i);
	}
}

static void pte_bits_match(struct ktest *t)
{
	KEXPECT_EQ(t, SMMU_PTE_VALID, lx(t, "ARM_LPAE_PTE_VALID"));
	KEXPECT_EQ(t, SMMU_PTE_TYPE,
		   lx(t, "ARM_LPAE_PTE_TYPE_MASK") << lx(t, "ARM_LPAE_PTE_TYPE_SHIFT"));
	KEXPECT_EQ(t, SMMU_PTE_TYPE_BLOCK, lx(t, "ARM_LPAE_PTE_TYPE_BLOCK"));
	KEXPECT_EQ(t, SMMU_PTE_TYPE_TABLE, lx(t, "ARM_LPAE_PTE_TYPE_TABLE"));
	KEXPECT_EQ(t, SMMU_PTE_TYPE_PAGE, lx(t, "ARM_LPAE_PTE_TYPE_PAGE"));
	/* the table bit is what separates table/page from block */
	KEXPECT_EQ(t, SMMU_PTE_TABLE, lx(t, "ARM_LPAE_PTE_TYPE_TABLE") ^
		   lx(t, "ARM_LPAE_PTE_TYPE_BLOCK"));
	KEXPECT_EQ(t, SMMU_PTE_ADDR, lx(t, "ARM_LPAE_PTE_ADDR_MASK"));
	/* iopte_to_paddr() rotates bits [15:12] to OA[51:48] for 64K */
	KEXPECT_EQ(t, SMMU_PTE_ADDR_HI_64K << 36,
		   (lx(t, "ARM_LPAE_PTE_ADDR_MASK") << 4) & SKHO_GENMASK(51, 48));
	KEXPECT_EQ(t, SMMU_PTE_AF, lx(t, "ARM_LPAE_PTE_AF"));
	KEXPECT_EQ(t, SMMU_PTE_XN, lx(t, "ARM_LPAE_PTE_XN"));
	KEXPECT_EQ(t, SMMU_PTE_DBM, lx(t, "ARM_LPAE_PTE_DBM"));
	KEXPECT_EQ(t, SMMU_PTE_AP_UNPRIV, lx(t, "ARM_LPAE_PTE_AP_UNPRIV"));
	KEXPECT_EQ(t, SMMU_PTE_AP_RDONLY, lx(t, "ARM_LPAE_PTE_AP_RDONLY"));
	KEXPECT_EQ(t, SMMU_PTE_S2AP_R, lx(t, "ARM_LPAE_PTE_HAP_READ"));
	KEXPECT_EQ(t, SMMU_PTE_S2AP_W, lx(t, "ARM_LPAE_PTE_HAP_WRITE"));
	KEXPECT_EQ(t, SMMU_PT_MAX_LEVELS, lx(t, "ARM_LPAE_MAX_LEVELS"));
	KEXPECT_EQ(t, SMMU_PT_S2_MAX_CONCAT, lx(t, "ARM_LPAE_S2_MAX_CONCAT_PAGES"));
}

static void event_numbers_match(struct ktest *t)
{
	KEXPECT_EQ(t, SKHO_C_BAD_STREAMID, lx(t, "EVT_ID_BAD_STREAMID_CONFIG"));
	KEXPECT_EQ(t, SKHO_F_STE_FETCH, lx(t, "EVT_ID_STE_FETCH_FAULT"));
	KEXPECT_EQ(t, SKHO_C_BAD_STE, lx(t, "EVT_ID_BAD_STE_CONFIG"));
	KEXPECT_EQ(t, SKHO_F_STREAM_DISABLED, lx(t, "EVT_ID_STREAM_DISABLED_FAULT"));
	KEXPECT_EQ(t, SKHO_C_BAD_SUBSTREAMID, lx(t, "EVT_ID_BAD_SUBSTREAMID_CONFIG"));
	KEXPECT_EQ(t, SKHO_F_CD_FETCH, lx(t, "EVT_ID_CD_FETCH_FAULT"));
	KEXPECT_EQ(t, SKHO_C_BAD_CD, lx(t, "EVT_ID_BAD_CD_CONFIG"));
	KEXPECT_EQ(t, SKHO_F_TRANSLATION, lx(t, "EVT_ID_TRANSLATION_FAULT"));
	KEXPECT_EQ(t, SKHO_F_ADDR_SIZE, lx(t, "EVT_ID_ADDR_SIZE_FAULT"));
	KEXPECT_EQ(t, SKHO_F_ACCESS, lx(t, "EVT_ID_ACCESS_FAULT"));
	KEXPECT_EQ(t, SKHO_F_PERMISSION, lx(t, "EVT_ID_PERMISSION_FAULT"));
}

/* The evaluator itself, on strings shaped like the ones it meets. */
static void evaluator_reads_linux_define_shapes(struct ktest *t)
{
	static const struct { const char *body; u64 want; } c[] = {
		{ "GENMASK_ULL(51, 6)", SKHO_GENMASK(51, 6) },
		{ "(1UL << 62)", 1ULL << 62 },
		{ "(((arm_lpae_iopte)3) << 53)", 3ULL << 53 },
		{ "0x5ULL", 5 },
		{ "(1 << EV_TEST_A)", 1ULL << 7 },	/* EV_TEST_A: 7 */
		{ "((1 << EV_TEST_A) >> 3) | BIT(0) & ~0", 0x11 },
	};
	struct ldef extra = { "EV_TEST_A", " 7 " };
	unsigned int i;

	ldefs = realloc(ldefs, (nr_ldefs + 1) * sizeof(*ldefs));
	KASSERT(t, ldefs);
	ldefs[nr_ldefs++] = extra;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct ev e = { .s = c[i].body };
		u64 v = ev_or(&e);

		KEXPECT(t, !e.err[0], "%s: %s", c[i].body, e.err);
		KEXPECT_EQ(t, v, c[i].want);
	}
	nr_ldefs--;
}

/*
 * find_linux_src() copies fetch-source.sh's rules: if the script's own
 * lines change, this case fails until main() follows (run from the
 * repository root, as make host-check does).
 */
static void source_path_rules_match_fetch_source_sh(struct ktest *t)
{
	static const char *const want[] = {
		": \"${SMMU_KHO_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/smmu-kho}\"\n",
		"PIN=${SMMU_KHO_KERNEL_PIN:-" LINUX_PIN "}\n",
		"src=$SMMU_KHO_CACHE/linux-$PIN\n",
	};
	const char *script = "kernel/scripts/fetch-source.sh";
	bool seen[3] = { false, false, false };
	char line[512];
	unsigned int i;
	FILE *f = fopen(script, "r");

	KASSERT(t, f, "%s: %s (run from the repository root)", script, strerror(errno));
	while (fgets(line, sizeof(line), f))
		for (i = 0; i < 3; i++)
			seen[i] |= !strcmp(line, want[i]);
	fclose(f);
	for (i = 0; i < 3; i++)
		KEXPECT(t, seen[i], "%s has no line %s", script, want[i]);
}

static const struct ktest_case cases[] = {
	KTEST_CASE(source_path_rules_match_fetch_source_sh),
	KTEST_CASE(evaluator_reads_linux_define_shapes),
	KTEST_CASE(strtab_base_registers_match),
	KTEST_CASE(l1_stream_descriptor_matches),
	KTEST_CASE(ste_word0_matches),
	KTEST_CASE(ste_word1_matches),
	KTEST_CASE(ste_word2_vtcr_matches),
	KTEST_CASE(ste_word3_matches),
	KTEST_CASE(cd_tables_match),
	KTEST_CASE(cd_words_match),
	KTEST_CASE(granule_and_size_encodings_match),
	KTEST_CASE(pte_bits_match),
	KTEST_CASE(event_numbers_match),
};

/*
 * The tree kernel/scripts/fetch-source.sh unpacks, by its rules:
 *   src=${SMMU_KHO_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/smmu-kho}/linux-$PIN
 *   PIN=${SMMU_KHO_KERNEL_PIN:-LINUX_PIN}
 * (an empty variable counts as unset, as with := and :- in the script).
 */
static void find_linux_src(void)
{
	const char *src = getenv("SKHO_LINUX_SRC");
	const char *cache = getenv("SMMU_KHO_CACHE");
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	const char *pin = getenv("SMMU_KHO_KERNEL_PIN");

	if (!pin || !*pin)
		pin = LINUX_PIN;
	if (src && *src)
		snprintf(linux_src, sizeof(linux_src), "%s", src);
	else if (cache && *cache)
		snprintf(linux_src, sizeof(linux_src), "%s/linux-%s", cache, pin);
	else if (xdg && *xdg)
		snprintf(linux_src, sizeof(linux_src), "%s/smmu-kho/linux-%s", xdg, pin);
	else
		snprintf(linux_src, sizeof(linux_src), "%s/.cache/smmu-kho/linux-%s",
			 home ? home : "", pin);
}

int main(int argc, char **argv)
{
	int n = (int)(sizeof(cases) / sizeof(cases[0])), i, err;
	char path[4200];
	unsigned int f;

	find_linux_src();
	for (f = 0; f < sizeof(linux_files) / sizeof(linux_files[0]); f++) {
		snprintf(path, sizeof(path), "%s/%s", linux_src, linux_files[f]);
		err = load_file(path);
		if (err) {
			/* no Linux to compare with: every case fails, none passes */
			printf("KTAP version 1\n# suite: defs_vs_linux\n1..%d\n", n);
			for (i = 0; i < n; i++)
				printf("    # %s: %s (fetch the pinned tree with "
				       "kernel/scripts/fetch-source.sh, same SMMU_KHO_CACHE)\n"
				       "not ok %d defs_vs_linux.%s\n", path, strerror(-err),
				       i + 1, cases[i].name);
			printf("# defs_vs_linux: 0 passed, %d failed\n", n);
			return 1;
		}
	}
	fprintf(stderr, "# linux source: %s (%zu #defines)\n", linux_src, nr_ldefs);
	return ktest_run("defs_vs_linux", cases, n, argc, argv);
}
