// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* libFuzzer target: skho_handover_parse + skho_handover_validate on hostile input. */
#include "fuzz_input.h"
#include "skho_handover.h"

/*
 * Beyond "no crash, no sanitizer report", every input must keep the
 * contracts of skho_handover.h; a broken one aborts (a libFuzzer crash):
 *  - parse: returns 0 or one -SKHO_E_* code, the same that err.code holds;
 *    on success at most 16 SMMUs, each with strictly ascending SIDs and
 *    normalized ranges (sorted, non-empty, with a gap between neighbours)
 *    of whole 4 KiB pages below 2^52, which encode back to the very bytes
 *    of preserved-ranges;
 *  - validate: one verdict per stream, in the order of the streams
 *    property; the return value is the number of refusals, or a negative
 *    code when every stream was refused;
 *  - adoption is safe: an adopted stream's STE lies inside the preserved
 *    ranges and equals its reference copy byte for byte.
 */
int LLVMFuzzerTestOneInput(const u8 *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#ifndef FZ_LIBFDT
#define FZ_LIBFDT	"unknown"	/* fuzz.mk says which libfdt this links */
#endif

static const void *ho_blob;	/* the blob being checked */

#define STREAM_AT(s, i)	((const u8 *)(s)->streams + (size_t)(i) * sizeof(struct skho_abi_stream))

static void __attribute__((noreturn, format(printf, 1, 2))) broken(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "fuzz_handover: contract broken: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	abort();
}

static void check_code(int ret, const struct skho_err *err, const char *what)
{
	if (ret > 0 || ret <= -SKHO_E__COUNT)
		broken("%s returned %d", what, ret);
	if (ret && err->code != ret)
		broken("%s returned %d (%s) but err.code is %d", what, ret,
		       skho_strerror(ret), err->code);
}

/* The decoded runs encode back to exactly the bytes handed over. */
static void check_reencodes(const struct skho_handover *ho, u32 i)
{
	const struct skho_ho_smmu *s = &ho->smmu[i];
	char node[40];
	const void *val;
	int off, len, n;
	u8 *buf;

	snprintf(node, sizeof(node), SKHO_NODE_PREFIX "%llx", (unsigned long long)s->mmio_base);
	off = fdt_subnode_offset(ho_blob, 0, node);
	val = off < 0 ? NULL : fdt_getprop(ho_blob, off, SKHO_PROP_RANGES, &len);
	if (!val)
		broken("SMMU %u parsed, but %s/%s is not found", i, node, SKHO_PROP_RANGES);
	n = skho_ranges_encode(&s->ranges, NULL, 0);
	if (n != len)
		broken("SMMU %u: %u runs encode to %d bytes, %d were handed over", i,
		       s->ranges.nr, n, len);
	buf = malloc(len ? len : 1);
	if (!buf)
		abort();
	if (skho_ranges_encode(&s->ranges, buf, len) != len || memcmp(buf, val, len))
		broken("SMMU %u: runs re-encode to other bytes", i);
	free(buf);
}

static void check_parsed(const struct skho_handover *ho)
{
	u32 i, k;

	if (ho->nr_smmus > SKHO_MAX_SMMUS)
		broken("%u SMMUs", ho->nr_smmus);
	for (i = 0; i < ho->nr_smmus; i++) {
		const struct skho_ho_smmu *s = &ho->smmu[i];
		const struct skho_ranges *r = &s->ranges;

		for (k = 1; k < s->nr_streams; k++)
			if (skho_fdt_ld32(STREAM_AT(s, k)) <= skho_fdt_ld32(STREAM_AT(s, k - 1)))
				broken("SMMU %u: SID %#x after %#x", i,
				       skho_fdt_ld32(STREAM_AT(s, k)),
				       skho_fdt_ld32(STREAM_AT(s, k - 1)));
		for (k = 0; k < r->nr; k++) {
			if (!r->r[k].size || r->r[k].pa + r->r[k].size - 1 < r->r[k].pa)
				broken("SMMU %u: range %u empty or wrapping", i, k);
			if (k && r->r[k].pa <= r->r[k - 1].pa + r->r[k - 1].size)
				broken("SMMU %u: range %u not after range %u", i, k, k - 1);
			if ((r->r[k].pa | r->r[k].size) & 0xfff ||
			    r->r[k].pa + r->r[k].size > 1ULL << SKHO_ABI_PA_BITS)
				broken("SMMU %u: range %u not whole pages below 2^52", i, k);
		}
		check_reencodes(ho, i);
	}
}

struct verdicts {
	const struct skho_ho_smmu *s;
	const struct skho_mem *fenced;
	struct skho_smmu smmu;
	u32 calls, refused;
};

static void on_verdict(void *arg, u32 sid, const struct skho_err *why)
{
	struct verdicts *v = arg;
	const u8 *rec, *ste;
	u64 ste_pa;

	if (v->calls >= v->s->nr_streams)
		broken("verdict %u for %u streams", v->calls + 1, v->s->nr_streams);
	rec = STREAM_AT(v->s, v->calls);
	if (sid != skho_fdt_ld32(rec))
		broken("verdict %u for SID %#x, stream %u is SID %#x", v->calls, sid,
		       v->calls, skho_fdt_ld32(rec));
	v->calls++;
	if (why) {
		if (why->code >= 0 || why->code <= -SKHO_E__COUNT)
			broken("SID %#x refused with code %d", sid, why->code);
		v->refused++;
		return;
	}
	/* adopted: the STE the SMMU will use is preserved and is the reference */
	if (skho_ste_locate(&v->smmu, sid, &ste_pa) != SKHO_XLATE_OK)
		broken("SID %#x adopted but its STE cannot be located in the ranges", sid);
	ste = skho_map(v->fenced, ste_pa, 64);
	if (!ste)
		broken("SID %#x adopted, STE at %#llx outside the ranges", sid,
		       (unsigned long long)ste_pa);
	if (memcmp(ste, rec + offsetof(struct skho_abi_stream, ste), 64))
		broken("SID %#x adopted, STE at %#llx differs from its reference", sid,
		       (unsigned long long)ste_pa);
}

static void validate_one(const struct skho_handover *ho, u32 idx, const struct skho_mem *mem)
{
	const struct skho_ho_smmu *s = &ho->smmu[idx];
	struct skho_mem_fence fence;
	struct verdicts v = { .s = s };
	struct skho_err err;
	int ret;

	skho_mem_fence_init(&fence, mem, &s->ranges);
	v.fenced = &fence.mem;
	v.smmu.strtab_base = s->strtab_base;
	v.smmu.strtab_cfg = s->strtab_cfg;
	v.smmu.oas = s->oas;
	v.smmu.mem = &fence.mem;
	ret = skho_handover_validate(ho, idx, mem, on_verdict, &v, &err);
	if (ret < 0) {
		check_code(ret, &err, "validate");
		if (ret == -SKHO_E_INVAL)
			broken("validate: -SKHO_E_INVAL for SMMU %u of %u", idx, ho->nr_smmus);
		if (v.refused != s->nr_streams)
			broken("validate: %d but %u of %u streams refused", ret, v.refused,
			       s->nr_streams);
	} else if ((u32)ret != v.refused) {
		broken("validate returned %d, %u verdicts were refusals", ret, v.refused);
	}
	if (v.calls != s->nr_streams)
		broken("%u verdicts for %u streams", v.calls, s->nr_streams);
}

/* Name the libfdt in the log: run-fuzz.sh shows it per target. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "fuzz_handover: libfdt: %s\n", FZ_LIBFDT);
	return 0;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct skho_handover ho;
	struct fz_input in;
	struct skho_err err;
	int ret;
	u32 i;

	if (fz_decode(&in, data, size))
		return 0;
	ho_blob = in.fdt;
	ret = skho_handover_parse(in.fdt, in.fdt_size, &ho, &err);
	check_code(ret, &err, "parse");
	if (!ret) {
		check_parsed(&ho);
		for (i = 0; i < ho.nr_smmus; i++)
			validate_one(&ho, i, &in.mem);
		skho_handover_release(&ho);
	}
	fz_free(&in);
	return 0;
}
