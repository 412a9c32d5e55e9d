#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Judge one make vfio-vm-check run from the guest's VMMCHECK lines and QEMU's trace.

Prints one "RESULT<TAB>ok|fail<TAB>name<TAB>detail" line per check.
--mode keep: the update must keep the VMM's DMA going (every check ok).
--mode reset: the negative control (smmu_kho.ko keep_bus_master=0, so the
device is stopped as stock 7.3 does): its checks pass only if the DMA after
the jump was lost and the trace shows Bus Master cleared.
--mode reopen: the negative control of the vfio-pci patch alone
(keep_bus_master=0 in kernel 2 only): the jump DMA lands, then vfio-pci's
open must clear Bus Master and the DMA after it must be lost.
--self-test: the trace checks fail on doctored evidence.
"""
import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from vmtrace import RE_ABORT, RE_EVENT, RE_TS  # noqa: E402  (tests/vm/vmtrace.py)

SID = 0x10
IOVA, PAGE = 0x4000000, 4096
PG_JUMP, PG_ADOPTED, PG_RELEASED = 2, 3, 4
MARK_FIRED, MARK_K2, MARK_DONE = 0x7e000001, 0x7e000002, 0x7e000003

RE_GUEST = re.compile(r'VMMCHECK k=(\d+) (ok|fail|info) ?(.*)$')
RE_PA = re.compile(r'^pa (k\d) jump=(0x[0-9a-f]+) adopted=(0x[0-9a-f]+) released=(0x[0-9a-f]+)')
RE_CFG = re.compile(r'^pci_cfg_write edu 00:02\.0 @0x([0-9a-f]+) <- 0x([0-9a-f]+)')

# Guest checks every keep run must report ok, per kernel.
GUEST = {1: ['insmod_smmu_kho', 'probe_not_selectable_before_vmm',
             'khoctl_plan_dry_run_refused_before_vmm', 'vfio_cdev_open',
             'iommufd_attach_hwpt', 'dma_roundtrip', 'luo_preserve_memfd', 'vmm_ready',
             'probe_vfio_hwpt_selectable', 'khoctl_plan_dry_run_selects_vmm_device',
             'smmu_kho_frozen', 'kexec_file_load',
             'jump_dma_fired'],
         2: ['bus_master_kept_at_boot', 'smmu_kho_adopted', 'luo_retrieve_memfd',
             'memfd_data_intact', 'jump_dma_landed', 'vfio_reopen_attach',
             'bus_master_kept_after_open', 'dma_handed_over_translation', 'vmm_resumed',
             'smmu_kho_release', 'dma_after_release', 'luo_session_finish', 'vmm_done',
             'vmm_exit']}


def parse_guest(lines):
    checks, pas, infos = {}, {}, []
    for line in lines:
        m = RE_GUEST.search(line)
        if not m:
            continue
        k, verdict, rest = int(m.group(1)), m.group(2), m.group(3)
        if verdict == 'info':
            infos.append((k, rest))
            p = RE_PA.match(rest)
            if p:
                pas[p.group(1)] = [int(x, 16) for x in p.group(2, 3, 4)]
            continue
        name, _, detail = rest.partition(' ')
        checks.setdefault((k, name), (verdict, detail))
    return checks, pas, infos


def parse_trace(lines):
    """Events in order: ('mark', v), ('cmd', v), ('ts', iova, pa, stage), ('fault',)."""
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
        m = RE_ABORT.match(line) or RE_EVENT.match(line)
        if m and int(m.group(2), 16) == SID:
            ev.append(('fault',))
    return ev


def window(ev, start_mark, end_mark):
    """Events after start_mark and before end_mark (None: no bound)."""
    out, on = [], start_mark is None
    for e in ev:
        if e[0] == 'mark' and e[1] == start_mark:
            on = True
            continue
        if e[0] == 'mark' and e[1] == end_mark:
            break
        if on:
            out.append(e)
    return out


def dma_translated(ev, pg, pa, start_mark, end_mark):
    iova = IOVA + pg * PAGE
    ts = [e for e in window(ev, start_mark, end_mark) if e[0] == 'ts'
          and e[1] >> 12 == iova >> 12]
    good = [e for e in ts if e[3] == 2 and pa and e[2] >> 12 == pa >> 12]
    seen = ', '.join('%#x->%#x s%d' % (e[1], e[2], e[3]) for e in ts[:3]) or 'none'
    return bool(ts) and len(good) == len(ts), (
        'iova %#x: %d translate_success (want stage 2 -> pa %#x): %s' % (
            iova, len(ts), pa or 0, seen))


def no_bus_master_clear(ev):
    """From Bus Master first set on 00:02.0 to the VMM's last DMA (the done
    mark), no command write clears it."""
    if not any(e == ('mark', MARK_DONE) for e in ev):
        return False, 'no done mark in the trace'
    cmds = [e[1] for e in window(ev, None, MARK_DONE) if e[0] == 'cmd']
    first = next((i for i, v in enumerate(cmds) if v & 0x4), None)
    if first is None:
        return False, 'Bus Master never set in the trace (%d command writes)' % len(cmds)
    clears = [v for v in cmds[first:] if not v & 0x4]
    return not clears, '%d command writes after Bus Master was set, %d clear it%s' % (
        len(cmds) - first, len(clears), (' (first %#x)' % clears[0]) if clears else '')


def close_stops_dma(ev):
    """After RELEASE the device is an ordinary one: the VMM's exit (close)
    leaves Bus Master clear (its saved state must not set it again)."""
    cmds = [e[1] for e in window(ev, MARK_DONE, None) if e[0] == 'cmd']
    return bool(cmds) and not cmds[-1] & 0x4, '%d command writes after the done mark%s' % (
        len(cmds), (', last %#x' % cmds[-1]) if cmds else '')


def trace_checks(ev, pas):
    k1, k2 = pas.get('k1'), pas.get('k2')
    res = []
    res.append(('memfd_same_pages', bool(k1) and k1 == k2,
                'k1 %s, k2 %s' % (k1, k2)))
    jpa = k1[0] if k1 else 0
    res.append(('trace_jump_dma_stage2',) + dma_translated(ev, PG_JUMP, jpa, MARK_FIRED,
                                                            MARK_K2))
    res.append(('trace_adopted_dma_stage2',) + dma_translated(
        ev, PG_ADOPTED, k2[1] if k2 else 0, MARK_K2, None))
    res.append(('trace_released_dma_stage2',) + dma_translated(
        ev, PG_RELEASED, k2[2] if k2 else 0, MARK_K2, None))
    res.append(('trace_no_bus_master_clear',) + no_bus_master_clear(ev))
    res.append(('trace_close_after_release_stops_dma',) + close_stops_dma(ev))
    faults = sum(1 for e in ev if e[0] == 'fault')
    res.append(('trace_no_fault_sid_0x10', faults == 0, '%d fault/abort events' % faults))
    return res


def judge(serial, trace, mode):
    checks, pas, infos = parse_guest(serial)
    ev = parse_trace(trace)
    out = []
    for k, names in GUEST.items():
        for n in names:
            v = checks.get((k, n))
            out.append(('k%d.%s' % (k, n), v is not None and v[0] == 'ok',
                        v[1] if v else 'missing'))
    out += trace_checks(ev, pas)
    hwpt = [d for (k, n), (_, d) in checks.items() if n == 'iommufd_attach_hwpt']
    info = ['hwpt: %s' % (hwpt[0] if hwpt else 'none')] + [i for _, i in infos
                                                           if not i.startswith('pa ')]
    if mode == 'keep':
        return out, info
    if mode == 'reopen':
        return negative_reopen(ev, out), info
    # Negative control: with the device stopped, the DMA after the jump
    # must be lost and the trace must show the Bus Master clear; the rest
    # (handover, translation) must still have worked, or the control
    # proves nothing.
    got = {n: (ok, d) for n, ok, d in out}
    lost = not got['k2.dma_handed_over_translation'][0]
    cleared = not got['trace_no_bus_master_clear'][0]
    base = [n for n in ('k1.dma_roundtrip', 'k1.smmu_kho_frozen', 'k2.smmu_kho_adopted',
                        'k2.luo_retrieve_memfd', 'k2.vfio_reopen_attach')
            if not got[n][0]]
    return [
        ('handover_still_works', not base, 'failed: %s' % (', '.join(base) or 'none')),
        ('dma_after_jump_lost', lost, 'k2.dma_handed_over_translation: %s' %
         got['k2.dma_handed_over_translation'][1]),
        ('bus_master_cleared', cleared, got['trace_no_bus_master_clear'][1]),
        ('jump_dma', True, 'landed=%s (%s)' % (got['k2.jump_dma_landed'][0],
                                               got['k2.jump_dma_landed'][1])),
    ], info


def negative_reopen(ev, out):
    got = {n: (ok, d) for n, ok, d in out}
    base = [n for n in ('k1.dma_roundtrip', 'k1.smmu_kho_frozen', 'k2.smmu_kho_adopted',
                        'k2.bus_master_kept_at_boot', 'k2.jump_dma_landed',
                        'trace_jump_dma_stage2', 'k2.vfio_reopen_attach')
            if not got[n][0]]
    cmds = [e[1] for e in window(ev, MARK_K2, MARK_DONE) if e[0] == 'cmd']
    clears = [v for v in cmds if not v & 0x4]
    return [
        ('update_until_open_works', not base, 'failed: %s' % (', '.join(base) or 'none')),
        ('open_clears_bus_master', bool(clears) and not got['k2.bus_master_kept_after_open'][0],
         '%d command writes in kernel 2 before done, %d clear Bus Master; %s' % (
             len(cmds), len(clears), got['k2.bus_master_kept_after_open'][1])),
        ('dma_after_open_lost', not got['k2.dma_handed_over_translation'][0],
         got['k2.dma_handed_over_translation'][1]),
    ]


def self_test():
    """The trace checks must fail on doctored traces."""
    pas = {'k1': [0x41002000, 0x41003000, 0x41004000], 'k2': [0x41002000, 0x41003000,
                                                              0x41004000]}
    good = [
        'pci_cfg_write edu 00:02.0 @0x4 <- 0x106',
        'pci_cfg_write edu 00:02.0 @0xfc <- 0x7e000001',
        'smmuv3_translate_success smmuv3 sid=0x10 iova=0x4002000 translated=0x41002000 '
        'perm=0x2 stage=2',
        'pci_cfg_write edu 00:02.0 @0xfc <- 0x7e000002',
        'smmuv3_translate_success smmuv3 sid=0x10 iova=0x4003000 translated=0x41003000 '
        'perm=0x2 stage=2',
        'smmuv3_translate_success smmuv3 sid=0x10 iova=0x4004000 translated=0x41004000 '
        'perm=0x2 stage=2',
        'pci_cfg_write edu 00:02.0 @0xfc <- 0x7e000003',
        'pci_cfg_write edu 00:02.0 @0x4 <- 0x402',
    ]
    bad = {
        'stage 1': [line.replace('stage=2', 'stage=1') for line in good],
        'other pa': [line.replace('translated=0x41002000', 'translated=0x42002000')
                     for line in good],
        'jump after k2 mark': [good[0], good[1], good[3], good[2]] + good[4:],
        'bus master cleared': good[:2] + ['pci_cfg_write edu 00:02.0 @0x4 <- 0x2'] + good[2:],
        'fault': good + ['smmuv3_record_event F_TRANSLATION sid=0x10'],
        'abort': good + ['smmuv3_translate_abort smmuv3 sid=0x10 iova=0x4002000'],
        'no adopted dma': good[:4] + good[5:],
        'close leaves bus master': good + ['pci_cfg_write edu 00:02.0 @0x4 <- 0x406'],
    }
    fails = [n for n, ok, _ in trace_checks(parse_trace(good), pas) if not ok]
    if fails:
        print('self-test: the good trace fails %s' % fails)
        return 1
    for what, lines in bad.items():
        if all(ok for _, ok, _ in trace_checks(parse_trace(lines), pas)):
            print('self-test: doctored trace (%s) passes' % what)
            return 1
    print('self-test: good trace passes, %d doctored traces fail' % len(bad))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--serial')
    ap.add_argument('--trace')
    ap.add_argument('--mode', choices=('keep', 'reset', 'reopen'), default='keep')
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
    res, info = judge(serial, trace, a.mode)
    for i in info:
        print('INFO\t%s' % i)
    for n, ok, d in res:
        print('RESULT\t%s\t%s\t%s' % ('ok' if ok else 'fail', n, d))
    return 0


if __name__ == '__main__':
    sys.exit(main())
