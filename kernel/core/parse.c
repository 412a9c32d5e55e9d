// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* smmu-kho core: parse the handed-over FDT, treating every byte as hostile. */
#include "skho_handover.h"

#define MAX_DEPTH	16	/* our tree has 2 levels; deeper nesting is refused */

/* Printable, bounded copy of untrusted bytes for a message. */
static void shown(char *dst, size_t dsz, const void *src, int len)
{
	const u8 *p = src;
	size_t i, n = len > 0 ? (size_t)len : 0;

	if (n > dsz - 1)
		n = dsz - 1;
	for (i = 0; i < n && p[i]; i++)
		dst[i] = p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '?';
	dst[i] = '\0';
}

/*
 * Bounded walk over the whole structure block (the kernel's libfdt has no
 * fdt_check_full): tags in order, nesting depth, one root, property name
 * offsets and value lengths inside their blocks.  Iterative: no recursion.
 *
 * Trusts no libfdt version's fdt_next_tag() to advance: libfdt 1.6.1
 * returns next == offset for a property length of 0xfffffff4 (its
 * offset + 12 + len wraps), and newer copies may differ again.  Every step
 * must move strictly forward and stay inside the block, and the walk takes
 * at most one step per 4-byte tag slot, so it ends whatever the bytes are.
 * Having accepted, it has visited every tag boundary reachable from offset
 * 0 and seen each advance; libfdt's own walks (fdt_getprop, fdt_next_node,
 * fdt_check_full) step along that same chain with the same fdt_next_tag(),
 * so after this they terminate too.
 *
 * Returns 0, or -SKHO_E_FDT naming the offset of the first bad tag.
 */
static int check_structure(const void *fdt, struct skho_err *err)
{
	u32 size = fdt_size_dt_struct(fdt);
	u32 steps = size / 4 + 1;	/* each tag takes >= FDT_TAGSIZE bytes */
	int offset = 0, next, depth = 0, roots = 0;

	while (steps--) {
		u32 tag = fdt_next_tag(fdt, offset, &next);

		if (next < 0 && tag != FDT_END)
			goto bad;
		if (next >= 0 && (next <= offset || (u32)next > size))
			return skho_fail(err, SKHO_E_FDT, SKHO_NO_SID, offset,
					 "FDT: tag %#x at struct offset %#x does not advance (next %#x)",
					 tag, offset, next);
		switch (tag) {
		case FDT_BEGIN_NODE: {
			const char *name = fdt_offset_ptr(fdt, offset + 4, 1);

			if (depth == 0 && roots++)
				return skho_fail(err, SKHO_E_FDT, SKHO_NO_SID, offset,
						 "FDT: second root node at %#x", offset);
			/* fdt_next_tag checked that the name is terminated */
			if (depth == 0 && (!name || *name))
				return skho_fail(err, SKHO_E_FDT, SKHO_NO_SID, offset,
						 "FDT: root node has a name");
			if (++depth > MAX_DEPTH)
				return skho_fail(err, SKHO_E_FDT, SKHO_NO_SID, offset,
						 "FDT: nesting deeper than %d at %#x",
						 MAX_DEPTH, offset);
			break;
		}
		case FDT_END_NODE:
			if (depth-- == 0)
				goto bad;
			break;
		case FDT_PROP: {
			const struct fdt_property *p;
			int nlen;

			if (depth == 0)
				goto bad;
			p = fdt_offset_ptr(fdt, offset, sizeof(*p));
			/* byte loads: the block's alignment is checked, not trusted */
			if (!p || !fdt_get_string(fdt, skho_fdt_ld32((const u8 *)p +
					offsetof(struct fdt_property, nameoff)), &nlen) ||
			    nlen == 0)
				return skho_fail(err, SKHO_E_FDT, SKHO_NO_SID, offset,
						 "FDT: property at %#x has a bad name offset",
						 offset);
			break;
		}
		case FDT_NOP:
			break;
		case FDT_END:
			if (next < 0 || depth != 0 || roots != 1)
				goto bad;
			if ((u32)next != size)
				return skho_fail(err, SKHO_E_FDT, SKHO_NO_SID, next,
						 "FDT: data after FDT_END at %#x", next);
			return 0;
		default:
			goto bad;
		}
		offset = next;	/* checked above: offset < next <= size */
	}
	/* unreachable while every step advances by >= 4 bytes; kept as the bound */
	return skho_fail(err, SKHO_E_FDT, SKHO_NO_SID, offset,
			 "FDT: more than %u tags in a %u-byte structure block",
			 size / 4 + 1, size);
bad:
	return skho_fail(err, SKHO_E_FDT, SKHO_NO_SID, offset,
			 "FDT: bad structure at struct offset %#x (depth %d)", offset, depth);
}

/*
 * The header, then check_structure(): nothing that can loop on hostile
 * bytes runs before our own bounded walk has accepted them.
 * fdt_check_header() has no loop.  fdt_check_full() (user space only) walks
 * the tags without any progress check in libfdt 1.6.1 and loops for ever on
 * a property length of 0xfffffff4, so it runs only after check_structure()
 * has accepted: every tag it visits is then known to advance.  Its
 * memory-reservation scan (fdt_num_mem_rsv) is bounded by totalsize in
 * every libfdt.  It stays as a second opinion from libfdt's own rules.
 *
 * Returns 0, or -SKHO_E_FDT naming what was wrong.
 */
static int check_blob(const void *blob, size_t size, struct skho_err *err)
{
	int r;

	if (!blob || size < sizeof(struct fdt_header))
		return skho_fail(err, SKHO_E_FDT, SKHO_NO_SID, 0,
				 "FDT: %zu bytes, less than a header", blob ? size : 0);
	r = fdt_check_header(blob);
	if (r)
		return skho_fail(err, SKHO_E_FDT, SKHO_NO_SID, 0, "FDT header: %s",
				 fdt_strerror(r));
	if (fdt_totalsize(blob) > size)
		return skho_fail(err, SKHO_E_FDT, SKHO_NO_SID, 0,
				 "FDT: totalsize %u > %zu bytes handed over",
				 fdt_totalsize(blob), size);
	/* offsets are ints in libfdt: refuse what they cannot address */
	if (fdt_totalsize(blob) > INT_MAX)
		return skho_fail(err, SKHO_E_FDT, SKHO_NO_SID, 0,
				 "FDT: totalsize %u > INT_MAX", fdt_totalsize(blob));
	/* the kernel's libfdt refuses this in fdt_check_header(), 1.6.1 does not */
	if (fdt_off_dt_struct(blob) % 4)
		return skho_fail(err, SKHO_E_FDT, SKHO_NO_SID, 0,
				 "FDT: structure block at %#x is not 4-byte aligned",
				 fdt_off_dt_struct(blob));
	if (fdt_version(blob) < 17)
		return skho_fail(err, SKHO_E_FDT, SKHO_NO_SID, 0,
				 "FDT: version %u < 17", fdt_version(blob));
	r = check_structure(blob, err);
	if (r)
		return r;
#ifdef SKHO_HAVE_FDT_CHECK_FULL
	r = fdt_check_full(blob, size);
	if (r)
		return skho_fail(err, SKHO_E_FDT, SKHO_NO_SID, 0, "FDT: %s",
				 fdt_strerror(r));
#endif
	return 0;
}

/* A property made of whole @rec-byte records, at most @max of them. */
static int get_prop(const void *blob, int node, const char *nname,
		    const char *pname, size_t rec, u32 max, const void **val,
		    u32 *nr, struct skho_err *err)
{
	int len;

	*val = fdt_getprop(blob, node, pname, &len);
	if (!*val)
		return skho_fail(err, SKHO_E_PROP, SKHO_NO_SID, 0, "%s: property %s missing",
				 nname, pname);
	if (len < 0 || (size_t)len % rec)
		return skho_fail(err, SKHO_E_PROP, SKHO_NO_SID, 0,
				 "%s: property %s is %d bytes, not a multiple of %zu",
				 nname, pname, len, rec);
	if (max == 1 && (size_t)len != rec)
		return skho_fail(err, SKHO_E_PROP, SKHO_NO_SID, 0,
				 "%s: property %s is %d bytes, expected %zu",
				 nname, pname, len, rec);
	if ((size_t)len / rec > max)
		return skho_fail(err, SKHO_E_LIMIT, SKHO_NO_SID, 0,
				 "%s: property %s has %zu entries, more than %u",
				 nname, pname, (size_t)len / rec, max);
	*nr = (u32)((size_t)len / rec);
	return 0;
}

/* Exactly one cell of @rec bytes. */
static int get_cell(const void *blob, int node, const char *nname,
		    const char *pname, size_t rec, u64 *out, struct skho_err *err)
{
	const void *v;
	u32 nr;
	int ret = get_prop(blob, node, nname, pname, rec, 1, &v, &nr, err);

	if (!ret)
		*out = rec == 8 ? skho_fdt_ld64(v) : skho_fdt_ld32(v);
	return ret;
}

/* Prefix @err's message with the node name (the decoder does not know it). */
static int in_node(struct skho_err *err, int ret, const char *nname)
{
	char msg[sizeof(err->msg)];

	if (!err)
		return ret;
	memcpy(msg, err->msg, sizeof(msg));
	msg[sizeof(msg) - 1] = '\0';
	return skho_fail(err, -ret, SKHO_NO_SID, err->addr, "%s: %s", nname, msg);
}

/* Sorted, strictly ascending 16-bit ids (ASIDs, VMIDs). */
static int check_ids(const fdt32_t *ids, u32 nr, const char *nname, const char *pname,
		     struct skho_err *err)
{
	u32 i, prev = 0;

	for (i = 0; i < nr; i++) {
		u32 id = fdt32_to_cpu(ids[i]);

		if (id > 0xffff || (i && id <= prev))
			return skho_fail(err, SKHO_E_PROP, SKHO_NO_SID, 0,
					 "%s: %s[%u] = %#x is %s", nname, pname, i, id,
					 id > 0xffff ? "above 16 bits" : "not ascending");
		prev = id;
	}
	return 0;
}

static int check_pgtables(const struct skho_ho_smmu *s, const char *nname,
			  struct skho_err *err)
{
	const u8 *p = (const u8 *)s->pgtables;
	u64 prev = 0;
	u32 i;

	for (i = 0; i < s->nr_pgtables; i++, p += sizeof(struct skho_abi_pgtable)) {
		u64 root = skho_fdt_ld64(p + offsetof(struct skho_abi_pgtable, root));
		u8 stage = p[offsetof(struct skho_abi_pgtable, stage)];
		u8 gr = p[offsetof(struct skho_abi_pgtable, granule_lg2)];
		u8 sl = p[offsetof(struct skho_abi_pgtable, start_level)];
		u8 ias = p[offsetof(struct skho_abi_pgtable, ias)];
		u8 oas = p[offsetof(struct skho_abi_pgtable, oas)];
		u8 nc = p[offsetof(struct skho_abi_pgtable, nr_concat)];
		const u8 *rsv = p + offsetof(struct skho_abi_pgtable, reserved);
		const char *bad = NULL;

		if (i && root <= prev)
			bad = "root not ascending";
		else if (stage != SKHO_STAGE1 && stage != SKHO_STAGE2)
			bad = "stage";
		else if (gr != 12 && gr != 14 && gr != 16)
			bad = "granule_lg2";
		else if (sl > 3)
			bad = "start_level";
		else if (ias < 25 || ias > 52)	/* T0SZ 39..12 */
			bad = "ias";
		else if (!skho_oas_valid(oas))
			bad = "oas";
		else if (nc < 1 || nc > SMMU_PT_S2_MAX_CONCAT || (nc > 1 && stage != SKHO_STAGE2))
			bad = "nr_concat";
		else if (rsv[0] || rsv[1])
			bad = "reserved";
		if (bad)
			return skho_fail(err, SKHO_E_PROP, SKHO_NO_SID, root,
					 "%s: page-tables[%u] (root %#llx): bad %s", nname, i,
					 (unsigned long long)root, bad);
		prev = root;
	}
	return 0;
}

/* "smmu@<lowercase hex, no leading zeros>", at most 5 + 16 + 1 bytes. */
static void node_name(char *out, u64 reg)
{
	static const char hex[] = "0123456789abcdef";
	char tmp[16];
	int n = 0, k = sizeof(SKHO_NODE_PREFIX) - 1;

	memcpy(out, SKHO_NODE_PREFIX, k);
	do {
		tmp[n++] = hex[reg & 15];
		reg >>= 4;
	} while (reg);
	while (n)
		out[k++] = tmp[--n];
	out[k] = '\0';
}

static int parse_smmu(const void *blob, int node, struct skho_handover *ho,
		      struct skho_err *err)
{
	struct skho_ho_smmu *s = &ho->smmu[ho->nr_smmus];
	struct skho_strtab_geo g;
	const char *name;
	char want[40], nname[48];
	const void *v;
	const u8 *p;
	u64 val;
	u32 i, nr, prev_sid = 0;
	int nlen, ret;

	name = fdt_get_name(blob, node, &nlen);
	shown(nname, sizeof(nname), name, name ? nlen : 0);
	if (!name || (size_t)nlen < sizeof(SKHO_NODE_PREFIX) - 1 ||
	    memcmp(name, SKHO_NODE_PREFIX, sizeof(SKHO_NODE_PREFIX) - 1))
		return skho_fail(err, SKHO_E_SMMU, SKHO_NO_SID, 0,
				 "unexpected node \"%s\" (want " SKHO_NODE_PREFIX "<reg>)", nname);
	if (ho->nr_smmus >= SKHO_MAX_SMMUS)
		return skho_fail(err, SKHO_E_LIMIT, SKHO_NO_SID, 0,
				 "more than %u SMMU nodes", SKHO_MAX_SMMUS);
	ret = get_cell(blob, node, nname, SKHO_PROP_REG, 8, &s->mmio_base, err);
	if (ret)
		return ret;
	node_name(want, s->mmio_base);
	if ((size_t)nlen != strlen(want) || memcmp(name, want, nlen))
		return skho_fail(err, SKHO_E_SMMU, SKHO_NO_SID, s->mmio_base,
				 "node \"%s\" does not match reg %#llx (want \"%s\")",
				 nname, (unsigned long long)s->mmio_base, want);
	for (i = 0; i < ho->nr_smmus; i++)
		if (ho->smmu[i].mmio_base == s->mmio_base)
			return skho_fail(err, SKHO_E_SMMU, SKHO_NO_SID, s->mmio_base,
					 "two SMMU nodes with reg %#llx",
					 (unsigned long long)s->mmio_base);
	ret = get_cell(blob, node, nname, SKHO_PROP_STRTAB_BASE, 8, &s->strtab_base, err);
	ret = ret ?: get_cell(blob, node, nname, SKHO_PROP_STRTAB_CFG, 4, &val, err);
	if (ret)
		return ret;
	s->strtab_cfg = (u32)val;
	ret = get_cell(blob, node, nname, SKHO_PROP_FEATURES, 4, &val, err);
	if (ret)
		return ret;
	s->features = (u32)val;
	if (s->features & ~SKHO_SMMU_F_ALL)
		return skho_fail(err, SKHO_E_PROP, SKHO_NO_SID, s->mmio_base,
				 "%s: unknown features %#x", nname, s->features);
	ret = get_cell(blob, node, nname, SKHO_PROP_OAS, 4, &val, err);
	if (ret)
		return ret;
	if (!skho_oas_valid(val))
		return skho_fail(err, SKHO_E_PROP, SKHO_NO_SID, s->mmio_base,
				 "%s: oas %llu is not an OAS encoding", nname,
				 (unsigned long long)val);
	s->oas = (u8)val;
	ret = skho_strtab_geo(s->strtab_base, s->strtab_cfg, &g, err);
	if (ret)
		return ret;

	ret = get_prop(blob, node, nname, SKHO_PROP_STREAMS, sizeof(struct skho_abi_stream),
		       SKHO_MAX_STREAMS, &v, &nr, err);
	if (ret)
		return ret;
	s->streams = v;
	s->nr_streams = nr;
	for (i = 0, p = v; i < nr; i++, p += sizeof(struct skho_abi_stream)) {
		u32 sid = skho_fdt_ld32(p + offsetof(struct skho_abi_stream, sid));

		if (i && sid <= prev_sid)
			return skho_fail(err, SKHO_E_SID, sid, 0,
					 "%s: streams[%u] SID %#x %s SID %#x", nname, i, sid,
					 sid == prev_sid ? "duplicates" : "sorts before", prev_sid);
		if ((u64)sid >> g.log2size)
			return skho_fail(err, SKHO_E_SID, sid, 0,
					 "%s: SID %#x beyond stream table of 2^%u", nname, sid,
					 g.log2size);
		prev_sid = sid;
	}

	ret = get_prop(blob, node, nname, SKHO_PROP_PGTABLES, sizeof(struct skho_abi_pgtable),
		       SKHO_MAX_PGTABLES, &v, &nr, err);
	if (ret)
		return ret;
	s->pgtables = v;
	s->nr_pgtables = nr;
	ret = check_pgtables(s, nname, err);
	ret = ret ?: get_prop(blob, node, nname, SKHO_PROP_ASIDS, 4, 0x10000, &v, &nr, err);
	if (ret)
		return ret;
	s->asids = v;
	s->nr_asids = nr;
	ret = check_ids(s->asids, nr, nname, SKHO_PROP_ASIDS, err);
	ret = ret ?: get_prop(blob, node, nname, SKHO_PROP_VMIDS, 4, 0x10000, &v, &nr, err);
	if (ret)
		return ret;
	s->vmids = v;
	s->nr_vmids = nr;
	ret = check_ids(s->vmids, nr, nname, SKHO_PROP_VMIDS, err);
	ret = ret ?: get_prop(blob, node, nname, SKHO_PROP_RANGES, 1, ~0u, &v, &nr, err);
	if (ret)
		return ret;
	ho->nr_smmus++;	/* from here on, release() frees s->ranges and s->outputs */
	ret = skho_ranges_decode(v, nr, &s->ranges, err);
	ret = ret ?: get_prop(blob, node, nname, SKHO_PROP_OUTPUTS, 1, ~0u, &v, &nr, err);
	ret = ret ?: skho_ranges_decode(v, nr, &s->outputs, err);
	return ret ? in_node(err, ret, nname) : 0;
}

void skho_handover_release(struct skho_handover *ho)
{
	u32 i;

	if (!ho)
		return;
	for (i = 0; i < ho->nr_smmus && i < SKHO_MAX_SMMUS; i++) {
		skho_ranges_free(&ho->smmu[i].ranges);
		skho_ranges_free(&ho->smmu[i].outputs);
	}
	memset(ho, 0, sizeof(*ho));
}
EXPORT_SYMBOL_NS_GPL(skho_handover_release, "SMMU_KHO");

int skho_handover_parse(const void *blob, size_t size, struct skho_handover *ho,
			struct skho_err *err)
{
	const char *compat;
	char found[40];
	int len, node, prev, ret;
	u64 minor;

	if (!ho)
		return skho_fail(err, SKHO_E_INVAL, SKHO_NO_SID, 0, "ho == NULL");
	memset(ho, 0, sizeof(*ho));
	ret = check_blob(blob, size, err);
	if (ret)
		return ret;
	compat = fdt_getprop(blob, 0, SKHO_PROP_COMPATIBLE, &len);
	if (!compat)
		return skho_fail(err, SKHO_E_COMPAT, SKHO_NO_SID, 0,
				 "no compatible at the root (want \"%s\")", SKHO_ABI_COMPATIBLE);
	if (len != sizeof(SKHO_ABI_COMPATIBLE) ||
	    memcmp(compat, SKHO_ABI_COMPATIBLE, sizeof(SKHO_ABI_COMPATIBLE))) {
		shown(found, sizeof(found), compat, len);
		return skho_fail(err, SKHO_E_COMPAT, SKHO_NO_SID, 0,
				 "compatible \"%s\" (%d bytes), want \"%s\"", found, len,
				 SKHO_ABI_COMPATIBLE);
	}
	ret = get_cell(blob, 0, "/", SKHO_PROP_ABI_MINOR, 4, &minor, err);
	if (ret)
		return ret;
	ho->abi_minor = (u32)minor;
	/*
	 * check_structure() has accepted the chain of tags, so libfdt's
	 * subnode walk terminates; still, each node must lie strictly after
	 * the previous one, which bounds the loop by itself.
	 */
	prev = 0;
	fdt_for_each_subnode(node, blob, 0) {
		if (node <= prev) {
			skho_handover_release(ho);
			return skho_fail(err, SKHO_E_FDT, SKHO_NO_SID, node,
					 "FDT: subnode at %#x does not follow %#x", node, prev);
		}
		prev = node;
		ret = parse_smmu(blob, node, ho, err);
		if (ret) {
			/* the failed node's ranges were not counted yet */
			if (ho->nr_smmus < SKHO_MAX_SMMUS)
				skho_ranges_free(&ho->smmu[ho->nr_smmus].ranges);
			skho_handover_release(ho);
			return ret;
		}
	}
	if (node != -FDT_ERR_NOTFOUND) {
		skho_handover_release(ho);
		return skho_fail(err, SKHO_E_FDT, SKHO_NO_SID, 0, "FDT: %s",
				 fdt_strerror(node));
	}
	return 0;
}
EXPORT_SYMBOL_NS_GPL(skho_handover_parse, "SMMU_KHO");
