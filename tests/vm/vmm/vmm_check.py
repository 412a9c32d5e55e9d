#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Judge one make vfio-vm-check run from the guest's VMMCHECK lines and QEMU's trace.

Prints one "RESULT<TAB>ok|fail<TAB>name<TAB>detail" line per check.
--kernels N: the run's chain, kernels 1..N (N - 1 updates).
--mode keep: the update must keep the VMM's DMA going (every check ok),
including a refused RELEASE (--differ: the VMM mapped one IOVA to another
page) and the DMA loop around the hitless one.
--mode chain: the same over N kernels, with the page counts of every
hand-back (STATUS) and MemFree.
Negative controls (their checks pass only if the checks they target fail):
--mode reset (smmu_kho.ko keep_bus_master=0, the device stopped as stock
7.3 does: the DMA after the jump lost, the trace shows Bus Master cleared);
--mode reopen (keep_bus_master=0 in kernel 2 only: vfio-pci's open must
clear Bus Master, the DMA after it is lost); --mode break (test_break_ms:
the hand-back opens a V=0 window: the DMA loop must lose transfers and the
trace show SMMU events); --mode keepold (test_keep_old_tables=1: nothing
freed: the freed-page check must fail).
--self-test: the trace checks fail on doctored evidence.
"""
import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from vmtrace import RE_ABORT, RE_CFGI_STE, RE_EVENT, RE_TS  # noqa: E402  (tests/vm/vmtrace.py)

# vmm_util.h: the device, the guest memory layout, the marks
SID = 0x10
IOVA, PAGE, PAGES = 0x4000000, 4096, 32
PG_JUMP, PG_ADOPTED, PG_RELEASED, PG_DIFFER, PG_ALIAS, PG_LOOP_SRC, PG_RING = 2, 3, 4, 5, 6, 7, 8
FIRED, BOOT, DONE, LOOP_BEGIN, LOOP_END, REL_BEGIN, REL_END = range(1, 8)
# Free memory (kB) after each hand-back of a chain, kernels 2..N: its
# spread and its trend (least-squares slope, kB per update).  MemFree alone
# moved by 3-20 MB between kernels of one run: the pages in the per-CPU
# free lists (5-19 MB here) are not in it.  The zones' free pages plus
# those, page cache and slab dropped first (median of 5 reads of
# /proc/zoneinfo), measured over 7 runs of 10 updates (2026-12-04; the
# first 3 read MemFree and the per-CPU counts apart): spread 108, 132, 200,
# 124, 208, 132, 216 kB (981404..981656 kB), slope -1.6, 2.8, -2.8, 2.6,
# -14.2, 0.8, 6.9 kB/update.  Bounds: the spread about 2.4 times the
# largest seen; the slope below what one hand-back's tables (9 pages,
# 36 kB) would add per update if anything of them stayed held across
# updates.
MEMFREE_SPREAD_KB = 512
MEMFREE_SLOPE_KB = 24


def mark(k, ev):
    return 0x7e000000 | k << 8 | ev


RE_GUEST = re.compile(r'VMMCHECK k=(\d+) (ok|fail|info) ?(.*)$')
RE_PA = re.compile(r'^pa k(\d+) ((?:0x[0-9a-f]+|0)(?:,(?:0x[0-9a-f]+|0))*)$')
RE_CFG = re.compile(r'^pci_cfg_write edu 00:02\.0 @0x([0-9a-f]+) <- 0x([0-9a-f]+)')
RE_KV = re.compile(r'(\w+)=(-?(?:0x[0-9a-f]+|\d+))')

# Guest checks every kernel must report ok: kernel 1; every later kernel;
# those that update again; the last; kernel 2 with --differ.
GUEST_K1 = ['insmod_smmu_kho', 'probe_not_selectable_before_vmm',
            'khoctl_plan_dry_run_refused_before_vmm', 'vfio_cdev_open',
            'iommufd_attach_hwpt', 'dma_roundtrip', 'luo_preserve_memfd', 'vmm_ready',
            'probe_vfio_hwpt_selectable', 'khoctl_plan_dry_run_selects_vmm_device',
            'smmu_kho_frozen', 'kexec_file_load', 'jump_dma_fired']
GUEST_K = ['bus_master_kept_at_boot', 'smmu_kho_adopted', 'luo_retrieve_memfd',
           'memfd_data_intact', 'jump_dma_landed', 'vfio_reopen_attach',
           'bus_master_kept_after_open', 'dma_handed_over_translation', 'vmm_resumed',
           'smmu_kho_release', 'dma_loop_during_release', 'dma_after_release', 'vmm_looped',
           'luo_session_finish']
GUEST_MID = ['luo_preserve_memfd', 'vmm_ready', 'smmu_kho_frozen', 'kexec_file_load',
             'jump_dma_fired']
GUEST_LAST = ['vmm_done', 'vmm_exit']
GUEST_DIFFER = ['release_refused_exdev', 'stream_adopted_after_refusal',
                'differ_dma_lands_in_original_page', 'differ_mapping_fixed']


class Run:
    """The guest's lines of one run: checks, infos, and their key=value data."""

    def __init__(self, lines):
        self.checks, self.pas, self.infos = {}, {}, []
        self.data = {}          # (k, 'status'|'frozen'|'adopted_ste'|'hello') -> {key: int}
        self.why = {}           # k -> release_why text
        for line in lines:
            m = RE_GUEST.search(line)
            if not m:
                continue
            k, verdict, rest = int(m.group(1)), m.group(2), m.group(3)
            if verdict != 'info':
                name, _, detail = rest.partition(' ')
                self.checks.setdefault((k, name), (verdict, detail))
                continue
            self.infos.append((k, rest))
            p = RE_PA.match(rest)
            if p:
                self.pas[int(p.group(1))] = [int(x, 16) for x in p.group(2).split(',')]
                continue
            word, _, tail = rest.partition(' ')
            if word == 'release_why':
                self.why[k] = tail
            elif word in ('status', 'frozen', 'adopted_ste', 'hello', 'differ'):
                self.data[(k, word)] = {a: int(b, 0) for a, b in RE_KV.findall(tail)}

    def check(self, k, name):
        return self.checks.get((k, name))


def guest_results(run, n, differ):
    """Kernel 1's checks one by one; a check of kernels 2..N as one result
    per name over the kernels that must report it (named kA-B)."""
    want = {1: list(GUEST_K1)}
    for k in range(2, n + 1):
        want[k] = GUEST_K + (GUEST_MID if k < n else GUEST_LAST) + (
            GUEST_DIFFER if differ and k == 2 else [])
    out, names = [], []
    for k in sorted(want):
        for name in want[k]:
            if k == 1:
                v = run.check(1, name)
                out.append(('k1.' + name, v is not None and v[0] == 'ok', v[1] if v else 'missing'))
            elif name not in names:
                names.append(name)
    for name in names:
        ks = [k for k in range(2, n + 1) if name in want[k]]
        bad = [(k, run.check(k, name)) for k in ks
               if run.check(k, name) is None or run.check(k, name)[0] != 'ok']
        label = 'k%d' % ks[0] if len(ks) == 1 else 'k%d-%d' % (ks[0], ks[-1])
        if bad:
            k, v = bad[0]
            detail = '%d of %d kernels fail; k%d: %s' % (len(bad), len(ks), k,
                                                         v[1] if v else 'missing')
        else:
            detail = run.check(ks[-1], name)[1] if len(ks) == 1 else \
                '%d kernels ok; k%d: %s' % (len(ks), ks[-1], run.check(ks[-1], name)[1])
        out.append(('%s.%s' % (label, name), not bad, detail))
    return out


def parse_trace(lines):
    """Events in order: ('mark', v), ('cmd', v), ('ts', iova, pa, stage),
    ('fault', what), ('cfgi', sid)."""
    ev = []
    for line in lines:
        m = RE_CFG.match(line)
        if m:
            off, val = int(m.group(1), 16), int(m.group(2), 16)
            if off == 0xfc:
                ev.append(('mark', val))
            elif off == 0x4:
                ev.append(('cmd', val))
            continue
        m = RE_TS.match(line)
        if m and int(m.group(1), 16) == SID:
            ev.append(('ts', int(m.group(2), 16), int(m.group(3), 16), int(m.group(5))))
            continue
        m = RE_CFGI_STE.match(line)
        if m and int(m.group(1), 16) == SID:
            ev.append(('cfgi', SID))
            continue
        m = RE_ABORT.match(line) or RE_EVENT.match(line)
        if m and int(m.group(2), 16) == SID:
            ev.append(('fault', line.split()[0] + ' ' + m.group(1)))
    return ev


def mark_at(ev, value):
    return next((i for i, e in enumerate(ev) if e == ('mark', value)), None)


def window(ev, start, end):
    """(first index, events) strictly between marks @start and @end; None
    for a bound means the trace's start or end; (None, None) if a mark
    given is missing or they are out of order."""
    a = 0 if start is None else mark_at(ev, start)
    b = len(ev) if end is None else mark_at(ev, end)
    if a is None or b is None or b < a:
        return None, None
    a += start is not None
    return a, ev[a:b]


def ts_of_page(events, pg):
    iova = IOVA + pg * PAGE
    return [e for e in events if e[0] == 'ts' and e[1] >> 12 == iova >> 12]


def dma_translated(ev, pg, pa, start, end):
    _, w = window(ev, start, end)
    if w is None:
        return False, 'marks %#x..%s missing' % (start or 0, '%#x' % end if end else 'end')
    ts = ts_of_page(w, pg)
    good = [e for e in ts if e[3] == 2 and pa and e[2] >> 12 == pa >> 12]
    seen = ', '.join('%#x->%#x s%d' % (e[1], e[2], e[3]) for e in ts[:3]) or 'none'
    return bool(ts) and len(good) == len(ts), (
        'iova %#x: %d translate_success (want stage 2 -> pa %#x): %s' % (
            IOVA + pg * PAGE, len(ts), pa or 0, seen))


def over_kernels(ks, fn):
    """One result from fn(k) -> (ok, detail) for each kernel k of ks."""
    res = [(k,) + tuple(fn(k)) for k in ks]
    bad = [r for r in res if not r[1]]
    if not res:
        return False, 'no kernel to check'
    if bad:
        return False, '%d of %d kernels fail; k%d: %s' % (len(bad), len(res), bad[0][0], bad[0][2])
    return True, ('k%d: %s' % (res[-1][0], res[-1][2]) if len(res) == 1 else
                  '%d kernels ok; k%d: %s' % (len(res), res[-1][0], res[-1][2]))


def no_bus_master_clear(ev, n):
    """From Bus Master first set on 00:02.0 to the VMM's last DMA (the done
    mark), no command write clears it."""
    _, w = window(ev, None, mark(n, DONE))
    if w is None:
        return False, 'no done mark in the trace'
    cmds = [e[1] for e in w if e[0] == 'cmd']
    first = next((i for i, v in enumerate(cmds) if v & 0x4), None)
    if first is None:
        return False, 'Bus Master never set in the trace (%d command writes)' % len(cmds)
    clears = [v for v in cmds[first:] if not v & 0x4]
    return not clears, '%d command writes after Bus Master was set, %d clear it%s' % (
        len(cmds) - first, len(clears), (' (first %#x)' % clears[0]) if clears else '')


def close_stops_dma(ev, n):
    """After RELEASE the device is an ordinary one: the VMM's exit (close)
    leaves Bus Master clear (its saved state must not set it again)."""
    _, w = window(ev, mark(n, DONE), None)
    cmds = [e[1] for e in w or [] if e[0] == 'cmd']
    return bool(cmds) and not cmds[-1] & 0x4, '%d command writes after the done mark%s' % (
        len(cmds), (', last %#x' % cmds[-1]) if cmds else '')


def loop_transfers(run, k):
    v = run.check(k, 'dma_loop_during_release')
    m = re.search(r'transfers=(\d+)', v[1]) if v else None
    return int(m.group(1)) if m else 0


def loop_clean(ev, run, k):
    """The DMA loop of kernel k in the trace: every transfer's read of
    PG_LOOP_SRC and write of its ring slot translated (stage 2, the page's
    PA), no SMMU event or abort for the SID."""
    _, w = window(ev, mark(k, LOOP_BEGIN), mark(k, LOOP_END))
    if w is None:
        return False, 'loop marks missing'
    pas, n = run.pas.get(k), loop_transfers(run, k)
    if not pas or len(pas) != PAGES or not n:
        return False, 'no page addresses or transfer count from the guest'
    ring = {IOVA >> 12 | p: pas[p] >> 12 for p in range(PG_RING, PAGES)}
    writes = [e for e in w if e[0] == 'ts' and e[1] >> 12 in ring]
    reads = ts_of_page(w, PG_LOOP_SRC)
    wrong = [e for e in writes if e[3] != 2 or e[2] >> 12 != ring[e[1] >> 12]]
    wrong += [e for e in reads if e[3] != 2 or e[2] >> 12 != pas[PG_LOOP_SRC] >> 12]
    faults = [e[1] for e in w if e[0] == 'fault']
    ok = len(writes) >= n and len(reads) >= n and not wrong and not faults
    return ok, '%d transfers: %d ring writes, %d source reads translated, %d wrong, ' \
        '%d SMMU events%s' % (n, len(writes), len(reads), len(wrong), len(faults),
                              (' (first: %s)' % faults[0]) if faults else '')


def switch_inside_loop(ev, k):
    """The STE switch of RELEASE (CFGI_STE for the SID between the release
    marks) lies between the loop's first and last translation."""
    a, rel = window(ev, mark(k, REL_BEGIN), mark(k, REL_END))
    b, loop = window(ev, mark(k, LOOP_BEGIN), mark(k, LOOP_END))
    if rel is None or loop is None:
        return False, 'release or loop marks missing'
    cfgi = [a + i for i, e in enumerate(rel) if e[0] == 'cfgi']
    ts = [b + i for i, e in enumerate(loop) if e[0] == 'ts']
    if not cfgi or not ts:
        return False, '%d CFGI_STE for SID %#x during RELEASE, %d loop translations' % (
            len(cfgi), SID, len(ts))
    before = sum(1 for t in ts if t < cfgi[0])
    after = sum(1 for t in ts if t > cfgi[-1])
    return before > 0 and after > 0, '%d CFGI_STE for SID %#x during RELEASE; loop ' \
        'translations: %d before the first, %d after the last' % (len(cfgi), SID, before, after)


def trace_checks(ev, run, n, differ):
    res = []
    k1 = run.pas.get(1)
    same = [k for k in range(1, n + 1) if run.pas.get(k) == k1 and k1]
    res.append(('memfd_same_pages', len(same) == n and len(k1) == PAGES,
                'pages of kernels %s at kernel 1\'s addresses (of 1..%d)' % (same, n)))

    def pa(k, pg):
        return run.pas[k][pg] if run.pas.get(k) and len(run.pas[k]) > pg else 0

    res.append(('trace_jump_dma_stage2',) + over_kernels(range(1, n), lambda k: dma_translated(
        ev, PG_JUMP, pa(k, PG_JUMP), mark(k, FIRED), mark(k + 1, BOOT))))
    res.append(('trace_adopted_dma_stage2',) + over_kernels(range(2, n + 1), lambda k: (
        dma_translated(ev, PG_ADOPTED, pa(k, PG_ADOPTED), mark(k, BOOT), mark(k, REL_BEGIN)))))
    res.append(('trace_released_dma_stage2',) + over_kernels(range(2, n + 1), lambda k: (
        dma_translated(ev, PG_RELEASED, pa(k, PG_RELEASED), mark(k, REL_END),
                       mark(k, FIRED if k < n else DONE)))))
    res.append(('trace_loop_no_smmu_event',) + over_kernels(
        range(2, n + 1), lambda k: loop_clean(ev, run, k)))
    res.append(('trace_ste_switch_inside_loop',) + over_kernels(
        range(2, n + 1), lambda k: switch_inside_loop(ev, k)))
    if differ:
        res.append(('trace_refused_release_keeps_old_translation',) + dma_translated(
            ev, PG_DIFFER, pa(2, PG_DIFFER), mark(2, BOOT), mark(2, REL_BEGIN)))
    res.append(('trace_no_bus_master_clear',) + no_bus_master_clear(ev, n))
    res.append(('trace_close_after_release_stops_dma',) + close_stops_dma(ev, n))
    faults = [e[1] for e in ev if e[0] == 'fault']
    nts = sum(1 for e in ev if e[0] == 'ts')
    res.append(('trace_no_fault_sid_0x10', nts > 0 and not faults,
                '%d translations, %d fault/abort events%s' % (
                    nts, len(faults), (' (first: %s)' % faults[0]) if faults else '')))
    return res


def release_why_names_iova(run):
    """The refused RELEASE's STATUS.release_why names, as its first IOVA,
    the one the VMM mapped elsewhere, and the PAs of both pages (pagemap)."""
    want = IOVA + PG_DIFFER * PAGE
    told = run.data.get((2, 'differ'), {}).get('iova')
    why = run.why.get(2) or ''
    m = re.search(r'\bIOVA (0x[0-9a-f]+)\b', why)
    got = int(m.group(1), 16) if m else None
    pas = run.pas.get(2) or []
    named = [int(x, 16) for x in re.findall(r'\bPA (0x[0-9a-f]+)', why)]
    pages = pas[PG_DIFFER:PG_ALIAS + 1] if len(pas) == PAGES else []
    return got == want and told == want and bool(pages) and named == pages, (
        'VMM mapped %s to page %d; pages %d/%d at %s; release_why "%s"' % (
            '%#x' % told if told is not None else 'nothing', PG_ALIAS, PG_DIFFER, PG_ALIAS,
            '/'.join('%#x' % x for x in pages) or '?', why))


def strtab_pages(cfg):
    """Stream-table pages a stream keeps in use, from STRTAB_BASE_CFG:
    linear: the whole table; 2-level: the L1 table and one L2 table of
    2^SPLIT STEs (Linux sets every L1STD's Span to SPLIT + 1)."""
    lg2, split, fmt = cfg & 0x3f, (cfg >> 6) & 0x1f, (cfg >> 16) & 3
    if fmt == 0:
        return -(-(64 << lg2) // PAGE)
    return -(-(8 << max(lg2 - split, 0)) // PAGE) + -(-(64 << split) // PAGE)


def s2_table_pages(ste2):
    """Page-table pages of a stage-2 STE whose mappings all lie in one
    last-level table (the VMM's 32 pages at 0x4000000): the root, with its
    concatenated tables (S2T0SZ, S2SL0, 4 KiB granule S2TG 0), and one
    table per level below it; None for another granule."""
    vtcr = ste2 >> 32
    t0sz, sl0, tg = vtcr & 0x3f, (vtcr >> 6) & 3, (vtcr >> 14) & 3
    if tg != 0 or sl0 == 3:
        return None
    levels = 2 + sl0            # SL0 0: from level 2, 1: level 1, 2: level 0
    root_bits = max((64 - t0sz) - (12 + 9 * (levels - 1)), 0)
    return -(-(8 << root_bits) // PAGE) + levels - 1


def ste_ids(ste0):
    """(ASIDs, VMIDs) an adopted STE holds: STE.Config 0b1x1 has a CD (one
    ASID), 0b11x stage 2 (one VMID)."""
    cfg = (ste0 >> 1) & 7
    return (1 if cfg in (5, 7) else 0), (1 if cfg in (6, 7) else 0)


def trend(ys):
    """Least-squares slope of ys over 0, 1, ... (0 for fewer than 2)."""
    n = len(ys)
    if n < 2:
        return 0.0
    mx, my = (n - 1) / 2, sum(ys) / n
    return sum((x - mx) * (y - my) for x, y in enumerate(ys)) / sum(
        (x - mx) ** 2 for x in range(n))


def count_checks(run, n):
    """The page counts of every hand-back of the chain (STATUS after
    RELEASE, out_preserved_pages after FREEZE) and MemFree."""
    ks = list(range(2, n + 1))
    st = {k: run.data.get((k, 'status')) for k in ks}
    out = {k: run.data.get((k, 'frozen'), {}).get('out_preserved_pages') for k in range(1, n)}
    ste = {k: run.data.get((k, 'adopted_ste')) for k in ks}
    hello = [k for k in range(1, n + 1) if (k, 'hello') in run.data]
    res = [('chain_kernels_reached', hello == list(range(1, n + 1)),
            'kernels %s of 1..%d said hello' % (hello, n))]
    missing = [k for k in ks if not st[k] or st[k].get('ret') or not ste[k]]
    if missing:
        res.append(('chain_status_read', False, 'no STATUS/STREAMS line from kernels %s' % missing))
        return res

    def g(k, key):
        return st[k].get(key)

    res.append(('pages_adopted_equal_previous_preserved',) + over_kernels(ks, lambda k: (
        bool(out.get(k - 1)) and g(k, 'in_adopted_pages') == out.get(k - 1),
        'in_adopted %s, k%d out_preserved %s' % (g(k, 'in_adopted_pages'), k - 1,
                                                  out.get(k - 1)))))
    res.append(('pages_adopted_are_kept_plus_freed',) + over_kernels(ks, lambda k: (
        g(k, 'in_adopted_pages') == g(k, 'in_kept_pages') + g(k, 'in_freed_pages'),
        'adopted %d = kept %d + freed %d' % (g(k, 'in_adopted_pages'), g(k, 'in_kept_pages'),
                                             g(k, 'in_freed_pages')))))

    def freed(k):
        stp = strtab_pages(ste[k]['strtab_cfg'])
        tables = g(k, 'in_adopted_pages') - stp
        s2 = s2_table_pages(ste[k].get('ste2', 0)) if (ste[k]['ste0'] >> 1) & 7 == 6 else None
        return (g(k, 'in_freed_pages') > 0 and g(k, 'in_freed_pages') == tables == s2 and
                g(k, 'in_kept_pages') == stp,
                'freed %d, kept %d; adopted %d - %d stream-table pages (STRTAB_BASE_CFG %#x) '
                '= %d CD and page-table pages; the stage-2 STE (STE2 %#x) walks %s' % (
                    g(k, 'in_freed_pages'), g(k, 'in_kept_pages'), g(k, 'in_adopted_pages'), stp,
                    ste[k]['strtab_cfg'], tables, ste[k].get('ste2', 0),
                    'only stage-2 STEs are counted here' if s2 is None else '%d' % s2))
    res.append(('pages_freed_are_the_cd_and_table_pages',) + over_kernels(ks, freed))

    def ids(k):
        asids, vmids = ste_ids(ste[k]['ste0'])
        return (g(k, 'nr_asids_freed') == asids and g(k, 'nr_vmids_freed') == vmids,
                'STE0 %#x (Config %d): want %d ASID, %d VMID freed; got %d, %d' % (
                    ste[k]['ste0'], (ste[k]['ste0'] >> 1) & 7, asids, vmids,
                    g(k, 'nr_asids_freed'), g(k, 'nr_vmids_freed')))
    res.append(('ids_freed_match_adopted_ste',) + over_kernels(ks, ids))
    keys = ('in_adopted_pages', 'in_kept_pages', 'in_freed_pages', 'nr_asids_freed',
            'nr_vmids_freed')
    tuples = {k: tuple(g(k, x) for x in keys) + (out.get(k - 1),) for k in ks}
    first = tuples[ks[0]]
    res.append(('counts_identical_every_update', all(t == first for t in tuples.values()),
                '(adopted, kept, freed, asids, vmids, previous out_preserved) per kernel: %s' % (
                    ', '.join('k%d %s' % (k, tuples[k]) for k in ks))))
    raw = [g(k, 'memfree_kb') for k in ks]
    mem = [g(k, 'free_pcp_kb') for k in ks]
    spread, slope = max(mem) - min(mem), trend(mem)
    res.append(('memfree_flat', min(raw) > 0 and min(mem) > 0 and spread <= MEMFREE_SPREAD_KB
                and abs(slope) <= MEMFREE_SLOPE_KB,
                'MemFree + per-CPU free lists over kernels 2..%d: spread %d kB (bound %d), '
                'slope %.1f kB/update (bound %d): %s; MemFree alone spread %d kB' % (
                    n, spread, MEMFREE_SPREAD_KB, slope, MEMFREE_SLOPE_KB,
                    ' '.join(str(x) for x in mem), max(raw) - min(raw))))
    return res


def judge(serial, trace, mode, n, differ):
    run = Run(serial)
    ev = parse_trace(trace)
    out = guest_results(run, n, differ) + trace_checks(ev, run, n, differ)
    if differ:
        out.append(('release_why_names_the_differing_iova',) + release_why_names_iova(run))
    if mode in ('chain', 'keepold'):
        out += count_checks(run, n)
    hwpt = [d for (k, name), (_, d) in run.checks.items() if name == 'iommufd_attach_hwpt']
    info = ['hwpt: %s' % (hwpt[0] if hwpt else 'none')] + [
        'k%d %s' % (k, i) for k, i in run.infos if not i.startswith('pa ')]
    negative = {'reset': negative_reset, 'reopen': negative_reopen, 'break': negative_break,
                'keepold': negative_keepold}.get(mode)
    return (negative(ev, out) if negative else out), info


def failed(got, names):
    return [x for x in names if not got.get(x, (False,))[0]]


def negative_reset(ev, out):
    """With the device stopped, the DMA after the jump must be lost and the
    trace show the Bus Master clear; the handover and translation must
    still have worked, or the control proves nothing."""
    got = {name: (ok, d) for name, ok, d in out}
    base = failed(got, ('k1.dma_roundtrip', 'k1.smmu_kho_frozen', 'k2.smmu_kho_adopted',
                        'k2.luo_retrieve_memfd', 'k2.vfio_reopen_attach'))
    return [
        ('handover_still_works', not base, 'failed: %s' % (', '.join(base) or 'none')),
        ('dma_after_jump_lost', not got['k2.dma_handed_over_translation'][0],
         'k2.dma_handed_over_translation: %s' % got['k2.dma_handed_over_translation'][1]),
        ('bus_master_cleared', not got['trace_no_bus_master_clear'][0],
         got['trace_no_bus_master_clear'][1]),
        ('jump_dma', True, 'landed=%s (%s)' % (got['k2.jump_dma_landed'][0],
                                               got['k2.jump_dma_landed'][1])),
    ]


def negative_reopen(ev, out):
    got = {name: (ok, d) for name, ok, d in out}
    base = failed(got, ('k1.dma_roundtrip', 'k1.smmu_kho_frozen', 'k2.smmu_kho_adopted',
                        'k2.bus_master_kept_at_boot', 'k2.jump_dma_landed',
                        'trace_jump_dma_stage2', 'k2.vfio_reopen_attach'))
    _, w = window(ev, mark(2, BOOT), mark(2, DONE))
    cmds = [e[1] for e in w or [] if e[0] == 'cmd']
    clears = [v for v in cmds if not v & 0x4]
    return [
        ('update_until_open_works', not base, 'failed: %s' % (', '.join(base) or 'none')),
        ('open_clears_bus_master', bool(clears) and not got['k2.bus_master_kept_after_open'][0],
         '%d command writes in kernel 2 before done, %d clear Bus Master; %s' % (
             len(cmds), len(clears), got['k2.bus_master_kept_after_open'][1])),
        ('dma_after_open_lost', not got['k2.dma_handed_over_translation'][0],
         got['k2.dma_handed_over_translation'][1]),
    ]


def negative_break(ev, out):
    """test_break_ms: RELEASE makes the STE invalid for a while.  The loop
    checks must fail (transfers lost, SMMU events in the trace) while the
    switch still happened inside the loop, or the control proves nothing."""
    got = {name: (ok, d) for name, ok, d in out}
    base = failed(got, ('k1.smmu_kho_frozen', 'k2.smmu_kho_adopted', 'k2.vfio_reopen_attach',
                        'k2.dma_handed_over_translation', 'trace_ste_switch_inside_loop'))
    return [
        ('handback_inside_loop_still_happens', not base,
         'failed: %s; %s' % (', '.join(base) or 'none', got['trace_ste_switch_inside_loop'][1])),
        ('dma_loop_check_fails', not got['k2.dma_loop_during_release'][0],
         got['k2.dma_loop_during_release'][1]),
        ('trace_loop_check_fails', not got['trace_loop_no_smmu_event'][0],
         got['trace_loop_no_smmu_event'][1]),
    ]


def negative_keepold(ev, out):
    """test_keep_old_tables=1: the hand-back frees nothing; the freed-page
    check must fail while the chain itself still works."""
    got = {name: (ok, d) for name, ok, d in out}
    base = failed(got, ('chain_kernels_reached', 'k2-3.smmu_kho_release',
                        'k2-3.dma_loop_during_release', 'pages_adopted_equal_previous_preserved'))
    chk = got.get('pages_freed_are_the_cd_and_table_pages', (True, 'missing'))
    return [
        ('chain_still_works', not base, 'failed: %s' % (', '.join(base) or 'none')),
        ('freed_page_check_fails', not chk[0], chk[1]),
    ]


def self_test():
    """The trace checks must fail on doctored traces, the count checks on
    doctored STATUS lines."""
    pas = [0x41000000 + p * PAGE for p in range(PAGES)]
    serial = ['VMMCHECK k=%d info pa k%d %s' % (k, k, ','.join('%#x' % a for a in pas))
              for k in (1, 2)] + ['VMMCHECK k=2 ok dma_loop_during_release transfers=2']
    run = Run(serial)

    def ts(pg, pa=None, stage=2):
        return ('smmuv3_translate_success smmuv3 sid=0x10 iova=%#x translated=%#x perm=0x2 '
                'stage=%d' % (IOVA + pg * PAGE, pa if pa is not None else pas[pg], stage))

    def mk(k, e):
        return 'pci_cfg_write edu 00:02.0 @0xfc <- %#x' % mark(k, e)
    good = ['pci_cfg_write edu 00:02.0 @0x4 <- 0x106', mk(1, FIRED), ts(PG_JUMP), mk(2, BOOT),
            ts(PG_ADOPTED), ts(PG_DIFFER), mk(2, LOOP_BEGIN), ts(PG_LOOP_SRC), ts(PG_RING),
            mk(2, REL_BEGIN), 'smmuv3_cmdq_cfgi_ste streamid= 0x10', mk(2, REL_END),
            ts(PG_LOOP_SRC), ts(PG_RING + 1), mk(2, LOOP_END), ts(PG_RELEASED), mk(2, DONE),
            'pci_cfg_write edu 00:02.0 @0x4 <- 0x402']
    i_cfgi = good.index('smmuv3_cmdq_cfgi_ste streamid= 0x10')
    bad = {
        'stage 1': [line.replace('stage=2', 'stage=1') for line in good],
        'other pa': [line.replace('translated=%#x' % pas[PG_JUMP], 'translated=0x42002000')
                     for line in good],
        'jump after k2 mark': good[:2] + [good[3], good[2]] + good[4:],
        'bus master cleared': good[:2] + ['pci_cfg_write edu 00:02.0 @0x4 <- 0x2'] + good[2:],
        'fault': good + ['smmuv3_record_event F_TRANSLATION sid=0x10'],
        'abort': good + ['smmuv3_translate_abort smmuv3 sid=0x10 iova=0x4002000'],
        'no adopted dma': [line for line in good if line != ts(PG_ADOPTED)],
        'close leaves bus master': good + ['pci_cfg_write edu 00:02.0 @0x4 <- 0x406'],
        'bad STE inside the loop': good[:i_cfgi] + [
            'smmuv3_record_event C_BAD_STE sid=0x10'] + good[i_cfgi:],
        'loop write to another page': [line.replace(
            'translated=%#x' % pas[PG_RING + 1], 'translated=%#x' % pas[PG_ALIAS])
            for line in good],
        'no switch in the loop': [line for line in good if 'cfgi_ste' not in line],
        'switch after the loop': good[:i_cfgi] + good[i_cfgi + 1:-3] + [
            good[i_cfgi]] + good[-3:],
        'no loop transfer after the switch': [line for line in good if line not in (
            ts(PG_LOOP_SRC), ts(PG_RING + 1))] + [],
        'refused release went to the alias': [line.replace(
            'translated=%#x' % pas[PG_DIFFER], 'translated=%#x' % pas[PG_ALIAS]) for line in good],
        'no loop marks': [line for line in good if line not in (mk(2, LOOP_BEGIN),
                                                                mk(2, LOOP_END))],
    }
    fails = [name for name, ok, _ in trace_checks(parse_trace(good), run, 2, True) if not ok]
    if fails:
        print('self-test: the good trace fails %s' % fails)
        return 1
    for what, lines in bad.items():
        if all(ok for _, ok, _ in trace_checks(parse_trace(lines), run, 2, True)):
            print('self-test: doctored trace (%s) passes' % what)
            return 1
    print('self-test: good trace passes, %d doctored traces fail' % len(bad))
    return self_test_counts()


def self_test_counts():
    """The chain's count checks must fail on doctored STATUS lines."""
    def chain(status, frozen='out_preserved_pages=9', mem=lambda k: 970000, ret=0,
              ste2='0x44c359400000001'):      # seen: VMID 1, S2T0SZ 20, S2SL0 2 (level 0)
        lines = ['VMMCHECK k=%d info hello' % k for k in (1, 2, 3)]
        lines += ['VMMCHECK k=%d info frozen %s' % (k, frozen) for k in (1, 2)]
        for k in (2, 3):
            lines.append('VMMCHECK k=%d info adopted_ste ret=0 ste0=0xd ste2=%s '
                         'strtab_cfg=0x10210' % (k, ste2))
            lines.append('VMMCHECK k=%d info status ret=%d %s memfree_kb=%d free_pcp_kb=%d' % (
                k, ret, status(k), mem(k), mem(k) + 1000))
        return Run(lines)

    def good(k):
        return 'in_adopted_pages=9 in_kept_pages=5 in_freed_pages=4 nr_asids_freed=0 ' \
            'nr_vmids_freed=1'
    bad = {
        'nothing freed': lambda: chain(lambda k: good(k).replace('kept_pages=5', 'kept_pages=9')
                                       .replace('freed_pages=4', 'freed_pages=0')),
        'adopted != preserved': lambda: chain(good, frozen='out_preserved_pages=8'),
        'kept + freed != adopted': lambda: chain(lambda k: good(k).replace('freed_pages=4',
                                                                           'freed_pages=3')),
        'stream table freed': lambda: chain(lambda k: good(k).replace(
            'kept_pages=5', 'kept_pages=4').replace('freed_pages=4', 'freed_pages=5')),
        'STE walks 3 levels': lambda: chain(good, ste2='0x44c355400000001'),
        'VMID kept': lambda: chain(lambda k: good(k).replace('vmids_freed=1', 'vmids_freed=0')),
        'counts change': lambda: chain(lambda k: good(k) if k == 2 else good(k).replace(
            'adopted_pages=9 in_kept_pages=5', 'adopted_pages=10 in_kept_pages=6')),
        'MemFree drops': lambda: chain(good, mem=lambda k: 970000 - 600 * k),
        'MemFree trends down': lambda: chain(good, mem=lambda k: 970000 - 30 * k),
        'STATUS failed': lambda: chain(good, ret=-22),
    }
    fails = [name for name, ok, _ in count_checks(chain(good), 3) if not ok]
    if fails:
        print('self-test: the good chain fails %s' % fails)
        return 1
    for what, make in bad.items():
        if all(ok for _, ok, _ in count_checks(make(), 3)):
            print('self-test: doctored chain (%s) passes' % what)
            return 1
    print('self-test: good chain passes, %d doctored chains fail' % len(bad))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--serial')
    ap.add_argument('--trace')
    ap.add_argument('--mode', choices=('keep', 'reset', 'reopen', 'break', 'chain', 'keepold'),
                    default='keep')
    ap.add_argument('--kernels', type=int, default=2)
    ap.add_argument('--differ', action='store_true')
    ap.add_argument('--self-test', action='store_true')
    a = ap.parse_args()
    if a.self_test:
        return self_test()
    with open(a.serial, errors='replace') as f:
        serial = f.read().splitlines()
    try:
        with open(a.trace, errors='replace') as f:
            trace = f.read().splitlines()
    except OSError:
        trace = []
    res, info = judge(serial, trace, a.mode, a.kernels, a.differ)
    for i in info:
        print('INFO\t%s' % i)
    for name, ok, d in res:
        print('RESULT\t%s\t%s\t%s' % ('ok' if ok else 'fail', name, d))
    return 0


if __name__ == '__main__':
    sys.exit(main())
