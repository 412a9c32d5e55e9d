// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* Host tests: the handover parser on hand-built and corrupted FDT blobs. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktest.h"
#include "skho_handover.h"

/*
 * The kernel build of parse.c has no fdt_check_full() and relies on its own
 * bounded structure walk.  Compile the same source a second time here,
 * without SKHO_HAVE_FDT_CHECK_FULL and under other names, so that every case
 * below checks both paths.
 */
#undef SKHO_HAVE_FDT_CHECK_FULL
#define skho_handover_parse	kpath_parse
#define skho_handover_release	kpath_release
int kpath_parse(const void *blob, size_t size, struct skho_handover *ho,
		struct skho_err *err);
void kpath_release(struct skho_handover *ho);
#include "parse.c"
#undef skho_handover_parse
#undef skho_handover_release

/* ---- blob builder: a valid tree, with knobs to break one thing -------- */

#define MAX_REC	8

struct spec {
	const char *compat;	/* NULL: the real one */
	int compat_len;		/* 0: strlen + 1 */
	u32 nr_nodes;		/* SMMU nodes, reg = 0x9050000 + 0x100000 * i */
	const char *name;	/* overrides node 0's name */
	u64 reg0;		/* overrides node 0's reg when non-zero */
	u32 cfg;
	u32 oas;
	u32 sids[MAX_REC];
	u32 nr_sids;
	u64 ranges[MAX_REC][2];	/* runs: {skip, count - 1}, in pages, raw */
	u32 nr_ranges;
	const u8 *ranges_raw;	/* non-NULL: preserved-ranges is these bytes */
	int ranges_raw_len;
	struct skho_abi_pgtable pt[MAX_REC];	/* host order, encoded on write */
	u32 nr_pt;
	u32 asids[MAX_REC], nr_asids;
	const char *drop;	/* property to leave out (node 0 / root) */
	const char *cut;	/* property to shorten by cut_by bytes */
	int cut_by;
	int depth;		/* extra nested subnodes under node 0 */
};

static void spec_default(struct spec *s)
{
	memset(s, 0, sizeof(*s));
	s->nr_nodes = 1;
	/* linear stream table of 2^6 STEs */
	s->cfg = SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_LOG2SIZE, 6);
	s->oas = 44;
	s->sids[0] = 1;
	s->sids[1] = 2;
	s->nr_sids = 2;
	/* pages [0x40000000, +0x2000) and [0x40003000, +0x3000), one page apart */
	s->ranges[0][0] = 0x40000;	/* first page frame */
	s->ranges[0][1] = 1;		/* 2 pages */
	s->ranges[1][0] = 1;		/* 0x40003 - 0x40002 */
	s->ranges[1][1] = 2;		/* 3 pages */
	s->nr_ranges = 2;
	s->pt[0] = (struct skho_abi_pgtable){
		.root = 0x40002000, .stage = SKHO_STAGE1, .granule_lg2 = 12,
		.start_level = 1, .ias = 39, .oas = 40, .nr_concat = 1,
	};
	s->nr_pt = 1;
	s->asids[0] = 5;
	s->nr_asids = 1;
}

/* One unsigned LEB128 number, whatever its value (the test's own encoder). */
static u8 *leb128(u8 *p, u64 v)
{
	while (v >= 0x80) {
		*p++ = (u8)(v | 0x80);
		v >>= 7;
	}
	*p++ = (u8)v;
	return p;
}

static int prop(void *fdt, const struct spec *s, bool node0, const char *name,
		const void *val, int len)
{
	u8 tmp[MAX_REC * sizeof(struct skho_abi_stream) + 16] = { 0 };

	if (node0 && s->drop && !strcmp(s->drop, name))
		return 0;
	if (!node0 || !s->cut || strcmp(s->cut, name))
		return fdt_property(fdt, name, val, len);
	/* shorter, or longer with zero bytes appended (cut_by < 0) */
	memcpy(tmp, val, len);
	return fdt_property(fdt, name, tmp, len - s->cut_by);
}

static int put_node(void *fdt, const struct spec *s, u32 idx)
{
	bool n0 = idx == 0;
	u64 reg = 0x9050000ULL + 0x100000ULL * idx;
	fdt64_t b64;
	fdt32_t b32, ids[MAX_REC];
	u8 buf[MAX_REC * sizeof(struct skho_abi_stream)];
	char name[40];
	u32 i;
	int r, d;

	if (n0 && s->reg0)
		reg = s->reg0;
	snprintf(name, sizeof(name), "smmu@%llx", (unsigned long long)reg);
	r = fdt_begin_node(fdt, n0 && s->name ? s->name : name);
	b64 = cpu_to_fdt64(reg);
	r = r ?: prop(fdt, s, n0, SKHO_PROP_REG, &b64, 8);
	b64 = cpu_to_fdt64(0x40000000);
	r = r ?: prop(fdt, s, n0, SKHO_PROP_STRTAB_BASE, &b64, 8);
	b32 = cpu_to_fdt32(s->cfg);
	r = r ?: prop(fdt, s, n0, SKHO_PROP_STRTAB_CFG, &b32, 4);
	b32 = cpu_to_fdt32(SKHO_SMMU_F_COHERENT);
	r = r ?: prop(fdt, s, n0, SKHO_PROP_FEATURES, &b32, 4);
	b32 = cpu_to_fdt32(s->oas);
	r = r ?: prop(fdt, s, n0, SKHO_PROP_OAS, &b32, 4);
	if (n0 && s->ranges_raw) {
		r = r ?: prop(fdt, s, n0, SKHO_PROP_RANGES, s->ranges_raw, s->ranges_raw_len);
	} else {
		u8 *e = buf;

		for (i = 0; i < s->nr_ranges; i++)
			e = leb128(leb128(e, s->ranges[i][0]), s->ranges[i][1]);
		r = r ?: prop(fdt, s, n0, SKHO_PROP_RANGES, buf, (int)(e - buf));
	}
	{
		/* output-ranges: one page at 0x80000000 (skip 0x80000, count 1 - 1) */
		static const u8 out[] = { 0x80, 0x80, 0x20, 0x00 };

		r = r ?: prop(fdt, s, n0, SKHO_PROP_OUTPUTS, out, sizeof(out));
	}
	memset(buf, 0, sizeof(buf));
	for (i = 0; i < s->nr_sids; i++) {
		struct skho_abi_stream rec = { .sid = cpu_to_fdt32(s->sids[i]) };

		rec.ste[0] = 0x9;	/* V, bypass: content is the validator's business */
		memcpy(buf + i * sizeof(rec), &rec, sizeof(rec));
	}
	r = r ?: prop(fdt, s, n0, SKHO_PROP_STREAMS, buf,
		      (int)(s->nr_sids * sizeof(struct skho_abi_stream)));
	for (i = 0; i < s->nr_pt; i++) {
		struct skho_abi_pgtable p = s->pt[i];

		p.root = cpu_to_fdt64(p.root);
		p.digest = cpu_to_fdt64(p.digest);
		memcpy(buf + i * sizeof(p), &p, sizeof(p));
	}
	r = r ?: prop(fdt, s, n0, SKHO_PROP_PGTABLES, buf,
		      (int)(s->nr_pt * sizeof(struct skho_abi_pgtable)));
	for (i = 0; i < s->nr_asids; i++)
		ids[i] = cpu_to_fdt32(s->asids[i]);
	r = r ?: prop(fdt, s, n0, SKHO_PROP_ASIDS, ids, (int)(s->nr_asids * 4));
	r = r ?: prop(fdt, s, n0, SKHO_PROP_VMIDS, ids, 0);
	for (d = 0; n0 && d < s->depth; d++)
		r = r ?: fdt_begin_node(fdt, "x");
	for (d = 0; n0 && d < s->depth; d++)
		r = r ?: fdt_end_node(fdt);
	return r ?: fdt_end_node(fdt);
}

/* Build into a fresh buffer; returns its size (totalsize) or 0. */
static size_t build(const struct spec *s, u8 **out)
{
	size_t cap = 16384;
	u8 *fdt = calloc(1, cap);
	fdt32_t minor = cpu_to_fdt32(SKHO_ABI_MINOR);
	const char *compat = s->compat ? s->compat : SKHO_ABI_COMPATIBLE;
	int clen = s->compat_len ? s->compat_len : (int)strlen(compat) + 1;
	u32 i;
	int r;

	r = fdt_create(fdt, (int)cap);
	r = r ?: fdt_finish_reservemap(fdt);
	r = r ?: fdt_begin_node(fdt, "");
	if (!s->drop || strcmp(s->drop, SKHO_PROP_COMPATIBLE))
		r = r ?: fdt_property(fdt, SKHO_PROP_COMPATIBLE, compat, clen);
	if (!s->drop || strcmp(s->drop, SKHO_PROP_ABI_MINOR))
		r = r ?: fdt_property(fdt, SKHO_PROP_ABI_MINOR, &minor, 4);
	for (i = 0; !r && i < s->nr_nodes; i++)
		r = put_node(fdt, s, i);
	r = r ?: fdt_end_node(fdt);
	r = r ?: fdt_finish(fdt);
	if (r) {
		free(fdt);
		*out = NULL;
		return 0;
	}
	*out = fdt;
	return fdt_totalsize(fdt);
}

/* Parse through both paths; both must return @want. */
static void expect_parse(struct ktest *t, int line, const void *blob, size_t size,
			 int want, struct skho_err *err_out)
{
	struct skho_handover ho;
	struct skho_err e1 = { 0 }, e2 = { 0 };
	int r1 = skho_handover_parse(blob, size, &ho, &e1);

	skho_handover_release(&ho);
	if (r1 != want)
		ktest_fail(t, __FILE__, line, "libfdt path: %s (%s), want %s",
			   skho_strerror(r1), e1.msg, skho_strerror(want));
	if (r1 && e1.code != r1)
		ktest_fail(t, __FILE__, line, "err.code %d != return %d", e1.code, r1);
	{
		int r2 = kpath_parse(blob, size, &ho, &e2);

		kpath_release(&ho);
		if (r2 != want)
			ktest_fail(t, __FILE__, line, "kernel path: %s (%s), want %s",
				   skho_strerror(r2), e2.msg, skho_strerror(want));
	}
	if (err_out)
		*err_out = e1;
	if (getenv("SKHO_TEST_VERBOSE") && r1)
		ktest_diag("%s: %s", skho_strerror(r1), e1.msg);
}

/* Build @s and expect @want from both paths. */
static void expect_spec(struct ktest *t, int line, const struct spec *s, int want,
			struct skho_err *err)
{
	u8 *blob;
	size_t size = build(s, &blob);

	if (!size) {
		ktest_fail(t, __FILE__, line, "could not build the blob");
		return;
	}
	expect_parse(t, line, blob, size, want, err);
	free(blob);
}

#define EXPECT_SPEC(t, s, want, err) expect_spec((t), __LINE__, (s), (want), (err))

/* ---- cases ------------------------------------------------------------ */

static void well_formed_blob_parses_into_checked_views(struct ktest *t)
{
	struct spec s;
	struct skho_handover ho;
	struct skho_err err = { 0 };
	u8 *blob;
	size_t size;
	const u8 *rec;

	spec_default(&s);
	size = build(&s, &blob);
	KASSERT(t, size, "build");
	KASSERT(t, skho_handover_parse(blob, size, &ho, &err) == 0, "%s", err.msg);
	KEXPECT_EQ(t, ho.nr_smmus, 1);
	KEXPECT_EQ(t, ho.smmu[0].mmio_base, 0x9050000);
	KEXPECT_EQ(t, ho.smmu[0].strtab_base, 0x40000000);
	KEXPECT_EQ(t, ho.smmu[0].oas, 44);
	KEXPECT_EQ(t, ho.smmu[0].nr_streams, 2);
	rec = (const u8 *)ho.smmu[0].streams;
	KEXPECT_EQ(t, skho_fdt_ld32(rec + sizeof(struct skho_abi_stream)), 2);	/* second SID */
	KEXPECT_EQ(t, ho.smmu[0].nr_pgtables, 1);
	KEXPECT_EQ(t, ho.smmu[0].nr_asids, 1);
	KEXPECT_EQ(t, ho.smmu[0].nr_vmids, 0);	/* empty property: no VMIDs */
	KEXPECT_EQ(t, ho.smmu[0].ranges.nr, 2);	/* a gap between the two */
	/* views point into the blob, never outside it */
	KEXPECT(t, rec > blob && rec + 2 * sizeof(struct skho_abi_stream) <= blob + size,
		"streams inside the blob");
	skho_handover_release(&ho);
	KEXPECT_EQ(t, ho.nr_smmus, 0);	/* release leaves an empty handover */
	/* and the kernel path agrees */
	expect_parse(t, __LINE__, blob, size, 0, NULL);
	free(blob);
}

static void every_truncation_of_a_valid_blob_is_fdt_error(struct ktest *t)
{
	struct spec s;
	u8 *blob, *copy;
	size_t size, n;

	spec_default(&s);
	size = build(&s, &blob);
	KASSERT(t, size, "build");
	/* handed fewer bytes than totalsize: refused before reading past them
	 * (ASan would catch a read, each copy is exactly n bytes) */
	for (n = 0; n < size; n++) {
		copy = malloc(n ? n : 1);
		memcpy(copy, blob, n);
		expect_parse(t, __LINE__, copy, n, -SKHO_E_FDT, NULL);
		free(copy);
		if (t->failed)
			break;
	}
	free(blob);
}

static void bad_magic_is_fdt_error(struct ktest *t)
{
	struct spec s;
	u8 *blob;
	size_t size;

	spec_default(&s);
	size = build(&s, &blob);
	KASSERT(t, size, "build");
	blob[0] ^= 0xff;	/* FDT_MAGIC 0xd00dfeed, big-endian at offset 0 */
	expect_parse(t, __LINE__, blob, size, -SKHO_E_FDT, NULL);
	free(blob);
}

static void nesting_beyond_sixteen_levels_is_fdt_error(struct ktest *t)
{
	struct spec s;

	spec_default(&s);
	s.depth = 14;	/* root + smmu + 14 = 16 levels: allowed */
	EXPECT_SPEC(t, &s, 0, NULL);
	s.depth = 15;	/* 17 levels */
	EXPECT_SPEC(t, &s, -SKHO_E_FDT, NULL);
}

static void tag_after_fdt_end_is_fdt_error(struct ktest *t)
{
	struct spec s;
	u8 *blob, *big;
	size_t size;
	u32 st_off, st_size, str_off;
	fdt32_t nop = cpu_to_fdt32(FDT_NOP);

	spec_default(&s);
	size = build(&s, &blob);
	KASSERT(t, size, "build");
	/* grow the structure block by one FDT_NOP placed after FDT_END */
	st_off = fdt_off_dt_struct(blob);
	st_size = fdt_size_dt_struct(blob);
	str_off = fdt_off_dt_strings(blob);
	KASSERT(t, str_off == st_off + st_size, "strings follow the struct block");
	big = calloc(1, size + 4);
	memcpy(big, blob, str_off);
	memcpy(big + str_off, &nop, 4);
	memcpy(big + str_off + 4, blob + str_off, size - str_off);
	fdt_set_size_dt_struct(big, st_size + 4);
	fdt_set_off_dt_strings(big, str_off + 4);
	fdt_set_totalsize(big, size + 4);
	/* fdt_check_full() stops at FDT_END; the walk over the whole block does not */
	expect_parse(t, __LINE__, big, size + 4, -SKHO_E_FDT, NULL);
	free(big);
	free(blob);
}

static void unknown_compatible_is_compat_error_naming_it(struct ktest *t)
{
	struct skho_err err;
	struct spec s;

	spec_default(&s);
	s.compat = "smmu-kho-v4";	/* a future major */
	EXPECT_SPEC(t, &s, -SKHO_E_COMPAT, &err);
	KEXPECT(t, strstr(err.msg, "smmu-kho-v4") != NULL, "message: %s", err.msg);
	/* earlier majors: v1 16-byte ranges and 88-byte records; v2 no output-ranges */
	s.compat = "smmu-kho-v1";
	EXPECT_SPEC(t, &s, -SKHO_E_COMPAT, NULL);
	s.compat = "smmu-kho-v2";
	EXPECT_SPEC(t, &s, -SKHO_E_COMPAT, NULL);
	/* a list naming v3 second is not v3 */
	s.compat = "x\0smmu-kho-v3";
	s.compat_len = 14;
	EXPECT_SPEC(t, &s, -SKHO_E_COMPAT, NULL);
	/* v2 without its terminating NUL */
	s.compat = SKHO_ABI_COMPATIBLE;
	s.compat_len = (int)strlen(SKHO_ABI_COMPATIBLE);
	EXPECT_SPEC(t, &s, -SKHO_E_COMPAT, NULL);
	spec_default(&s);
	s.drop = SKHO_PROP_COMPATIBLE;
	EXPECT_SPEC(t, &s, -SKHO_E_COMPAT, NULL);
}

static void property_of_partial_record_length_is_prop_error(struct ktest *t)
{
	static const struct { const char *name; int cut; } c[] = {
		{ SKHO_PROP_STREAMS, 1 },	/* 167 bytes: 1 byte short of 2 x 84 */
		{ SKHO_PROP_PGTABLES, 4 },	/* 20 of 24 bytes */
		{ SKHO_PROP_RANGES, 1 },	/* run 1 without its page count */
		{ SKHO_PROP_ASIDS, 2 },		/* 2 bytes of a u32 */
		{ SKHO_PROP_REG, 4 },		/* u32 where a u64 is due */
		{ SKHO_PROP_STRTAB_CFG, -4 },	/* 8 bytes where a u32 is due */
		{ SKHO_PROP_OAS, 4 },		/* empty */
	};
	struct skho_err err;
	struct spec s;
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		spec_default(&s);
		s.cut = c[i].name;
		s.cut_by = c[i].cut;
		EXPECT_SPEC(t, &s, -SKHO_E_PROP, &err);
		/* the message names the property */
		KEXPECT(t, strstr(err.msg, c[i].name) != NULL, "%s: %s", c[i].name, err.msg);
	}
}

static void missing_property_is_prop_error(struct ktest *t)
{
	static const char *const names[] = {
		SKHO_PROP_REG, SKHO_PROP_STRTAB_BASE, SKHO_PROP_STRTAB_CFG,
		SKHO_PROP_FEATURES, SKHO_PROP_OAS, SKHO_PROP_RANGES, SKHO_PROP_OUTPUTS,
		SKHO_PROP_STREAMS, SKHO_PROP_PGTABLES, SKHO_PROP_ASIDS,
		SKHO_PROP_VMIDS, SKHO_PROP_ABI_MINOR,
	};
	struct spec s;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		spec_default(&s);
		s.drop = names[i];	/* every property is mandatory in v3 */
		EXPECT_SPEC(t, &s, -SKHO_E_PROP, NULL);
	}
}

static void unsorted_or_duplicate_sid_is_sid_error(struct ktest *t)
{
	struct spec s;

	spec_default(&s);
	s.sids[0] = 2;
	s.sids[1] = 1;		/* descending */
	EXPECT_SPEC(t, &s, -SKHO_E_SID, NULL);
	s.sids[0] = 2;
	s.sids[1] = 2;		/* duplicate */
	EXPECT_SPEC(t, &s, -SKHO_E_SID, NULL);
	s.sids[0] = 1;
	s.sids[1] = 64;		/* table holds SIDs 0..63 (LOG2SIZE 6) */
	EXPECT_SPEC(t, &s, -SKHO_E_SID, NULL);
	s.sids[1] = 63;		/* the last one is fine */
	EXPECT_SPEC(t, &s, 0, NULL);
}

static void run_touching_its_predecessor_or_beyond_2_52_is_ranges_error(struct ktest *t)
{
	struct skho_err err;
	struct spec s;

	spec_default(&s);
	s.ranges[1][0] = 0;		/* skip 0: run 1 starts where run 0 ends */
	EXPECT_SPEC(t, &s, -SKHO_E_RANGES, &err);
	KEXPECT(t, strstr(err.msg, "smmu@9050000") && strstr(err.msg, "run 1"),
		"message names node and run: %s", err.msg);
	KEXPECT_EQ(t, err.addr, 0x40002000);	/* where run 1 would start */
	spec_default(&s);
	s.ranges[0][0] = 0;		/* page 0 is a page like any other */
	EXPECT_SPEC(t, &s, 0, NULL);
	/* the last page below 2^52 (frame 2^40 - 1) may be preserved... */
	spec_default(&s);
	s.ranges[1][0] = (1ULL << 40) - 1 - 0x40002;
	s.ranges[1][1] = 0;
	EXPECT_SPEC(t, &s, 0, NULL);
	/* ...one more page may not: by its start, or by its length */
	s.ranges[1][0]++;
	EXPECT_SPEC(t, &s, -SKHO_E_RANGES, NULL);
	s.ranges[1][0]--;
	s.ranges[1][1] = 1;
	EXPECT_SPEC(t, &s, -SKHO_E_RANGES, NULL);
	/* a skip of 2^41 pages: a 6-byte number, far beyond 2^52 */
	spec_default(&s);
	s.ranges[1][0] = 1ULL << 41;
	EXPECT_SPEC(t, &s, -SKHO_E_RANGES, NULL);
}

static void malformed_run_number_is_prop_error(struct ktest *t)
{
	static const struct { u8 b[8]; int len; const char *why; } c[] = {
		{ { 0x80, 0x00, 0x00 }, 3, "skip 0 as two bytes: not the shortest form" },
		{ { 0x01, 0x81, 0x00 }, 3, "count 1 with a zero last byte: not the shortest form" },
		{ { 0x81 }, 1, "skip's last byte missing" },
		{ { 0x01 }, 1, "no page count after the skip" },
		{ { 0x01, 0x00, 0x02 }, 3, "second run without its page count" },
		{ { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00 }, 8,
		  "a 7-byte number: longer than SKHO_ABI_VARINT_MAX" },
	};
	struct skho_err err;
	struct spec s;
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		spec_default(&s);
		s.ranges_raw = c[i].b;
		s.ranges_raw_len = c[i].len;
		EXPECT_SPEC(t, &s, -SKHO_E_PROP, &err);
		KEXPECT(t, strstr(err.msg, SKHO_PROP_RANGES) != NULL, "%s: %s", c[i].why,
			err.msg);
	}
	/* the 6-byte maximum itself is read: 2^40 - 1, as one skip */
	{
		static const u8 six[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0x00 };

		spec_default(&s);
		s.ranges_raw = six;
		s.ranges_raw_len = sizeof(six);
		EXPECT_SPEC(t, &s, 0, NULL);
	}
	/* an empty property: no pages preserved, still a valid blob */
	spec_default(&s);
	s.ranges_raw = (const u8 *)"";
	s.ranges_raw_len = 0;
	EXPECT_SPEC(t, &s, 0, NULL);
}

static void runs_decode_into_page_aligned_byte_ranges(struct ktest *t)
{
	struct skho_handover ho;
	struct skho_err err;
	struct spec s;
	u8 *blob;
	size_t size;

	spec_default(&s);
	size = build(&s, &blob);
	KASSERT(t, size, "build");
	KASSERT(t, skho_handover_parse(blob, size, &ho, &err) == 0, "%s", err.msg);
	KASSERT(t, ho.smmu[0].ranges.nr == 2, "%u runs", ho.smmu[0].ranges.nr);
	KEXPECT_EQ(t, ho.smmu[0].ranges.r[0].pa, 0x40000000);	/* frame 0x40000 */
	KEXPECT_EQ(t, ho.smmu[0].ranges.r[0].size, 0x2000);	/* count 1 + 1 pages */
	KEXPECT_EQ(t, ho.smmu[0].ranges.r[1].pa, 0x40003000);	/* one page skipped */
	KEXPECT_EQ(t, ho.smmu[0].ranges.r[1].size, 0x3000);
	skho_handover_release(&ho);
	free(blob);
}

static void node_name_not_matching_reg_is_smmu_error(struct ktest *t)
{
	struct spec s;

	spec_default(&s);
	s.name = "smmu@9050001";	/* reg is 0x9050000 */
	EXPECT_SPEC(t, &s, -SKHO_E_SMMU, NULL);
	s.name = "smmu@09050000";	/* leading zero: not the canonical name */
	EXPECT_SPEC(t, &s, -SKHO_E_SMMU, NULL);
	s.name = "smmu@905000";	/* a prefix of the right name */
	EXPECT_SPEC(t, &s, -SKHO_E_SMMU, NULL);
	s.name = "iommu@9050000";	/* not an SMMU node at all */
	EXPECT_SPEC(t, &s, -SKHO_E_SMMU, NULL);
}

static void duplicate_reg_is_smmu_error(struct ktest *t)
{
	struct spec s;

	spec_default(&s);
	s.nr_nodes = 2;
	EXPECT_SPEC(t, &s, 0, NULL);	/* two distinct SMMUs are fine */
	s.reg0 = 0x9150000;		/* node 1's reg */
	EXPECT_SPEC(t, &s, -SKHO_E_SMMU, NULL);
}

static void more_than_sixteen_smmus_is_limit_error(struct ktest *t)
{
	struct spec s;

	spec_default(&s);
	s.nr_nodes = SKHO_MAX_SMMUS;
	EXPECT_SPEC(t, &s, 0, NULL);
	s.nr_nodes = SKHO_MAX_SMMUS + 1;
	EXPECT_SPEC(t, &s, -SKHO_E_LIMIT, NULL);
}

static void bad_stream_table_config_is_smmu_error(struct ktest *t)
{
	static const u32 bad[] = {
		/* FMT 2 is reserved */
		SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_FMT, 2) |
		SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_LOG2SIZE, 6),
		/* 2-level SPLIT 7 is not 6, 8 or 10 */
		SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_FMT, 1) |
		SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_SPLIT, 7) |
		SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_LOG2SIZE, 16),
		/* linear LOG2SIZE 25 > SKHO_MAX_LG2_LINEAR_STRTAB (1 GiB table) */
		SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_LOG2SIZE, 25),
		/* 2-level LOG2SIZE 33 > SIDSIZE maximum 32 */
		SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_FMT, 1) |
		SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_SPLIT, 8) |
		SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_LOG2SIZE, 33),
		/* a reserved bit (bit 20) */
		SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_LOG2SIZE, 6) | (1u << 20),
	};
	struct spec s;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		spec_default(&s);
		s.cfg = bad[i];
		EXPECT_SPEC(t, &s, -SKHO_E_SMMU, NULL);
	}
	spec_default(&s);	/* 2-level, SPLIT 8, 2^16 SIDs: accepted */
	s.cfg = SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_FMT, 1) |
		SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_SPLIT, 8) |
		SKHO_FIELD_PREP(SMMU_STRTAB_BASE_CFG_LOG2SIZE, 16);
	EXPECT_SPEC(t, &s, 0, NULL);
}

static void unsorted_or_malformed_page_tables_are_prop_error(struct ktest *t)
{
	struct spec s;

	spec_default(&s);
	s.pt[1] = s.pt[0];
	s.nr_pt = 2;			/* same root twice */
	EXPECT_SPEC(t, &s, -SKHO_E_PROP, NULL);
	s.pt[1].root = 0x40001000;	/* below the first: unsorted */
	EXPECT_SPEC(t, &s, -SKHO_E_PROP, NULL);
	s.pt[1].root = 0x40008000;	/* ascending: fine */
	EXPECT_SPEC(t, &s, 0, NULL);
	s.pt[1].granule_lg2 = 13;	/* no 8K granule */
	EXPECT_SPEC(t, &s, -SKHO_E_PROP, NULL);
	s.pt[1].granule_lg2 = 12;
	s.pt[1].nr_concat = 2;		/* concatenation is stage 2 only */
	EXPECT_SPEC(t, &s, -SKHO_E_PROP, NULL);
	s.pt[1].nr_concat = 1;
	s.pt[1].oas = 41;		/* not a PS encoding */
	EXPECT_SPEC(t, &s, -SKHO_E_PROP, NULL);
}

static void unsorted_asids_are_prop_error(struct ktest *t)
{
	struct spec s;

	spec_default(&s);
	s.asids[0] = 9;
	s.asids[1] = 3;
	s.nr_asids = 2;
	EXPECT_SPEC(t, &s, -SKHO_E_PROP, NULL);
	s.asids[0] = 3;
	s.asids[1] = 3;			/* duplicate */
	EXPECT_SPEC(t, &s, -SKHO_E_PROP, NULL);
	s.asids[1] = 0x10000;		/* ASIDs are 16 bits */
	EXPECT_SPEC(t, &s, -SKHO_E_PROP, NULL);
}

/*
 * Run parse (@kpath: the kernel path) on @blob in a child process under
 * alarm(@secs): a parser that loops is killed by SIGALRM and reported as a
 * failure instead of hanging the suite.  Returns the parse result, or
 * HANG when the child did not exit normally (*@sig says why).
 */
#define HANG	(-1000000)
static int parse_in_child(const void *blob, size_t size, bool kpath, unsigned int secs,
			  int *sig, char *msg, size_t msz)
{
	int fds[2], status, r = HANG;
	pid_t pid;

	*sig = 0;
	msg[0] = '\0';
	if (pipe(fds))
		return HANG;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return HANG;
	if (pid == 0) {
		struct skho_handover ho;
		struct skho_err err = { 0 };
		int ret;

		close(fds[0]);
		alarm(secs);
		ret = kpath ? kpath_parse(blob, size, &ho, &err) :
			      skho_handover_parse(blob, size, &ho, &err);
		if (kpath)
			kpath_release(&ho);
		else
			skho_handover_release(&ho);
		if (write(fds[1], &ret, sizeof(ret)) != sizeof(ret) ||
		    write(fds[1], err.msg, sizeof(err.msg)) != sizeof(err.msg))
			_exit(2);
		_exit(0);
	}
	close(fds[1]);
	if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status) &&
	    read(fds[0], &r, sizeof(r)) == sizeof(r)) {
		char m[sizeof(((struct skho_err *)0)->msg)];

		if (read(fds[0], m, sizeof(m)) == sizeof(m))
			snprintf(msg, msz, "%.*s", (int)sizeof(m), m);
	} else {
		r = HANG;
		if (WIFSIGNALED(status))
			*sig = WTERMSIG(status);
	}
	close(fds[0]);
	return r;
}

/*
 * The fuzzers' hang (issue 11): a property whose length is 0xFFFFFFF4.
 * libfdt 1.6.1's fdt_next_tag() computes next = offset + 12 + len, which
 * wraps to exactly offset, and returns it as a valid tag; a walk that
 * trusts "next > offset" loops for ever, and so does 1.6.1's
 * fdt_check_full().  Each path runs in a child under a 5 s alarm (a correct
 * parse takes microseconds): a hang is a failure, not a stuck suite.
 * Lengths 0xFFFFFFF0 (next would go backwards) and 0xFFFFFFF8 (next lands
 * inside the property header) must be refused as well.
 */
static void property_length_wrapping_to_its_own_offset_is_fdt_error_not_a_hang(struct ktest *t)
{
	static const u32 lens[] = { 0xfffffff4, 0xfffffff0, 0xfffffff8, 0xffffffff,
				    0x7ffffff4 };
	struct spec s;
	u8 *blob;
	size_t size, i;
	int k, off, len;

	spec_default(&s);
	size = build(&s, &blob);
	KASSERT(t, size, "build");
	/* the root's first property: compatible */
	off = fdt_first_property_offset(blob, 0);
	KASSERT(t, off > 0, "first property: %d", off);
	KASSERT(t, fdt_getprop_by_offset(blob, off, NULL, &len) && len > 0, "compatible");
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		fdt32_t *lenp = (fdt32_t *)(blob + fdt_off_dt_struct(blob) + off + 4);

		*lenp = cpu_to_fdt32(lens[i]);
		for (k = 0; k < 2; k++) {
			char msg[sizeof(((struct skho_err *)0)->msg) + 1];
			int sig, r = parse_in_child(blob, size, k, 5, &sig, msg, sizeof(msg));

			if (r == HANG) {
				KEXPECT(t, 0, "len %#x, %s path: %s (signal %d)", lens[i],
					k ? "kernel" : "libfdt",
					sig == SIGALRM ? "HANG, killed by the 5 s alarm" :
					"child died", sig);
				continue;
			}
			KEXPECT(t, r == -SKHO_E_FDT, "len %#x, %s path: %s (%s)", lens[i],
				k ? "kernel" : "libfdt", skho_strerror(r), msg);
			KEXPECT(t, strstr(msg, "FDT") != NULL, "len %#x: message %s", lens[i],
				msg);
			/* 1.6.1's non-advancing tag is named as such by our walk */
			if (lens[i] == 0xfffffff4)
				KEXPECT(t, strstr(msg, "does not advance") != NULL,
					"%s path: %s", k ? "kernel" : "libfdt", msg);
			if (getenv("SKHO_TEST_VERBOSE"))
				ktest_diag("len %#x, %s path: %s", lens[i],
					   k ? "kernel" : "libfdt", msg);
		}
	}
	free(blob);
}

static u64 rnd(u64 *s)
{
	u64 z = (*s += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static void random_byte_corruption_never_crashes_either_path(struct ktest *t)
{
	struct skho_handover ho;
	struct skho_err err;
	struct spec s;
	u8 *blob, *copy;
	size_t size;
	u64 seed = t->seed;
	int iter, ok1 = 0, ok2 = 0;

	spec_default(&s);
	s.nr_nodes = 2;
	size = build(&s, &blob);
	KASSERT(t, size, "build");
	copy = malloc(size);
	/* ASan/UBSan turn any out-of-bounds or misaligned read into a crash;
	 * every outcome must be 0 or one of the documented codes */
	for (iter = 0; iter < 20000; iter++) {
		int n = 1 + (int)(rnd(&seed) % 4), k, r, r2;

		memcpy(copy, blob, size);
		for (k = 0; k < n; k++)
			copy[rnd(&seed) % size] ^= (u8)(1u << (rnd(&seed) % 8));
		r = skho_handover_parse(copy, size, &ho, &err);
		skho_handover_release(&ho);
		ok1 += r == 0;
		KEXPECT(t, r <= 0 && r > -SKHO_E__COUNT, "iter %d: %d", iter, r);
		r2 = kpath_parse(copy, size, &ho, &err);
		kpath_release(&ho);
		ok2 += r2 == 0;
		KEXPECT(t, r2 <= 0 && r2 > -SKHO_E__COUNT, "iter %d: %d", iter, r2);
		/* the kernel's own structure walk accepts what fdt_check_full does */
		KEXPECT(t, (r == 0) == (r2 == 0), "iter %d: %s vs %s: %s", iter,
			skho_strerror(r), skho_strerror(r2), err.msg);
	}
	ktest_diag("accepted after corruption: %d (libfdt path), %d (kernel path) of 20000",
		   ok1, ok2);
	free(copy);
	free(blob);
}

KTEST_MAIN("parse",
	   KTEST_CASE(well_formed_blob_parses_into_checked_views),
	   KTEST_CASE(every_truncation_of_a_valid_blob_is_fdt_error),
	   KTEST_CASE(bad_magic_is_fdt_error),
	   KTEST_CASE(nesting_beyond_sixteen_levels_is_fdt_error),
	   KTEST_CASE(tag_after_fdt_end_is_fdt_error),
	   KTEST_CASE(property_length_wrapping_to_its_own_offset_is_fdt_error_not_a_hang),
	   KTEST_CASE(unknown_compatible_is_compat_error_naming_it),
	   KTEST_CASE(property_of_partial_record_length_is_prop_error),
	   KTEST_CASE(missing_property_is_prop_error),
	   KTEST_CASE(unsorted_or_duplicate_sid_is_sid_error),
	   KTEST_CASE(run_touching_its_predecessor_or_beyond_2_52_is_ranges_error),
	   KTEST_CASE(malformed_run_number_is_prop_error),
	   KTEST_CASE(runs_decode_into_page_aligned_byte_ranges),
	   KTEST_CASE(node_name_not_matching_reg_is_smmu_error),
	   KTEST_CASE(duplicate_reg_is_smmu_error),
	   KTEST_CASE(more_than_sixteen_smmus_is_limit_error),
	   KTEST_CASE(bad_stream_table_config_is_smmu_error),
	   KTEST_CASE(unsorted_or_malformed_page_tables_are_prop_error),
	   KTEST_CASE(unsorted_asids_are_prop_error),
	   KTEST_CASE(random_byte_corruption_never_crashes_either_path))
