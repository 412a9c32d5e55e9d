#!/usr/bin/env python3
"""Turn one VM run (guest serial log + QEMU trace) into per-check results.

Used by tests/vm/vmtest.sh.  Input: the serial log, where the guest's /init
(tests/vm/guest/init.c) printed "SKHOVM k=K <verb> ..." lines, and the QEMU
log file holding the smmuv3_* and pci_cfg_write trace events plus
guest_errors messages.  Output, one line per check on stdout:
    RESULT <tab> ok|fail|skip <tab> <name> <tab> <detail>
    INFO <tab> <text>
Checks that involve DMA translation need both the guest's verdict (the data
in memory) and evidence in the trace, which the guest cannot forge.  The
trace is cut into windows by the marks edu_dma.ko writes to config offset
0xfc of each edu device (see edu_dma_uapi.h: value 0x5eKKEE, kernel KK,
event EE).  A check whose result or evidence is missing fails; it never
passes by default.
"""
import argparse
import re
import sys
from functools import partial

MARK_LOADED, MARK_RT_BEGIN, MARK_RT_END = 0x01, 0x02, 0x03
MARK_JUMP_FIRE, MARK_RAW_BEGIN, MARK_RAW_END = 0x10, 0x20, 0x21
DUT, PROBE = 0x10, 0x18          # StreamIDs of 00:02.0 and 00:03.0
HALF = 2048                      # the jump DMA covers [0,2K), the raw one [2K,4K)
PAGE_MASK = ~0xfff

RE_GUEST = re.compile(r'SKHOVM k=(\d+) (\w+) ?(.*)$')
RE_MARK = re.compile(r'^pci_cfg_write edu (\w\w):(\w\w)\.(\w) @0xfc <- 0x([0-9a-f]+)')
RE_TS = re.compile(r'^smmuv3_translate_success \S+ sid=0x([0-9a-f]+) iova=0x([0-9a-f]+) '
                   r'translated=0x([0-9a-f]+) perm=0x([0-9a-f]+) stage=(\d+)')
RE_ABORT = re.compile(r'^smmuv3_translate_(abort|disable|bypass) \S+ sid=0x([0-9a-f]+)'
                      r'(?: iova=0x([0-9a-f]+))?')
RE_EVENT = re.compile(r'^smmuv3_record_event (\S+) sid=0x([0-9a-f]+)')
RE_GERR = re.compile(r'region-(\d+)-\d+ translation failed for iova=0x([0-9a-f]+) \((\S+)\)')
RE_CR0 = re.compile(r'^smmuv3_write_mmio addr: 0x20 val:0x([0-9a-f]+)')
RE_IDR0 = re.compile(r'^smmuv3_read_mmio addr: 0x0 val:')
RE_KV = re.compile(r'(\w+)=(\S+)')


class Trace:
    """The QEMU log as a list of typed events, in order."""

    def __init__(self, path):
        self.ev = []        # (kind, fields...)
        self.marks = {}     # (sid, kernel, event) -> index of the first such mark
        with open(path, errors='replace') as f:
            for line in f:
                self._parse(line.rstrip('\n'))

    def _parse(self, line):
        m = RE_TS.match(line)
        if m:
            sid, iova, pa = (int(m.group(i), 16) for i in (1, 2, 3))
            self.ev.append(('ts', sid, iova, pa, int(m.group(5))))
            return
        m = RE_MARK.match(line)
        if m:
            sid = int(m.group(1), 16) << 8 | int(m.group(2), 16) << 3 | int(m.group(3), 16)
            val = int(m.group(4), 16)
            if val >> 16 == 0x5e00:
                key = (sid, (val >> 8) & 0xff, val & 0xff)
                self.marks.setdefault(key, len(self.ev))
                self.ev.append(('mark', sid, key[1], key[2]))
            return
        m = RE_EVENT.match(line)
        if m:
            self.ev.append(('fault', int(m.group(2), 16), m.group(1), None))
            return
        m = RE_ABORT.match(line)
        if m:
            iova = int(m.group(3), 16) if m.group(3) else None
            self.ev.append(('fault', int(m.group(2), 16), 'translate_' + m.group(1), iova))
            return
        m = RE_GERR.search(line)
        if m:
            self.ev.append(('gerr', int(m.group(1)), int(m.group(2), 16), m.group(3)))
            return
        m = RE_CR0.match(line)
        if m:
            self.ev.append(('cr0', int(m.group(1), 16)))
            return
        if RE_IDR0.match(line):
            self.ev.append(('idr0',))

    def mark(self, sid, k, ev):
        return self.marks.get((sid, k, ev))

    def window(self, a, b):
        return self.ev[a:b] if a is not None and b is not None and a <= b else None

    def next_kind(self, start, kind):
        for i in range(start, len(self.ev)):
            if self.ev[i][0] == kind:
                return i
        return None


class Guest:
    """The SKHOVM lines of every kernel in the chain."""

    def __init__(self, path):
        self.results = {}   # name -> (verb, detail, k)
        self.data = []      # (k, kind, {key: value})
        self.verbs = []     # (k, verb, rest)
        self.serial = ''
        with open(path, errors='replace') as f:
            self.serial = f.read()
        for line in self.serial.splitlines():
            m = RE_GUEST.search(line)
            if not m:
                continue
            k, verb, rest = int(m.group(1)), m.group(2), m.group(3)
            self.verbs.append((k, verb, rest))
            if verb in ('ok', 'fail', 'skip'):
                name, _, detail = rest.partition(' ')
                # A check reported twice keeps its first failure.
                if name not in self.results or verb == 'fail':
                    self.results[name] = (verb, detail, k)
            elif verb == 'data':
                kind, _, kv = rest.partition(' ')
                self.data.append((k, kind, dict(RE_KV.findall(kv))))

    def verb(self, k, verb):
        for kk, v, rest in self.verbs:
            if kk == k and v == verb:
                return dict(RE_KV.findall(rest))
        return None

    def datum(self, k, kind, dev=None):
        for kk, kd, kv in self.data:
            if kk == k and kd == kind and (dev is None or int(kv.get('dev', '-1'), 16) == dev):
                return kv
        return None


class Checks:
    """The plan of checks for one scenario, and how each is decided."""

    def __init__(self, args):
        self.a = args
        self.g = Guest(args.serial) if args.serial else None
        self.t = Trace(args.trace) if args.trace else None

    @staticmethod
    def emit(verdict, name, detail):
        detail = re.sub(r'\s+', ' ', detail).strip()
        print('RESULT\t%s\t%s\t%s' % (verdict, name, detail))

    # ---- how checks are decided ------------------------------------------
    # Each returns (passed, detail).

    def guest(self, name):
        """A check the guest decided on its own."""
        r = self.g.results.get(name)
        if r is None:
            return False, 'no result from the guest'
        return r[0] == 'ok', 'guest: ' + r[1]

    def both(self, name, trace_fn):
        """The guest saw the data and the trace shows the translation."""
        ok, d = self.guest(name)
        tok, td = trace_fn()
        return ok and tok, '%s; trace: %s' % (d, td)

    def trace_only(self, fn):
        ok, d = fn()
        return ok, 'trace: ' + d

    # ---- trace predicates ----------------------------------------------

    def buf(self, k, sid):
        kv = self.g.datum(k, 'buf', sid)
        if not kv:
            return None, None
        return int(kv['iova'], 16), int(kv['pa'], 16)

    def tr_roundtrip(self, k, sid):
        iova, pa = self.buf(k, sid)
        w = self.t.window(self.t.mark(sid, k, MARK_RT_BEGIN), self.t.mark(sid, k, MARK_RT_END))
        if iova is None or w is None:
            return False, 'missing buffer data or round-trip marks'
        ts = [e for e in w if e[0] == 'ts' and e[1] == sid]
        bad = [e for e in ts if e[2] & PAGE_MASK != iova or e[3] & PAGE_MASK != pa
               or e[4] != self.a.stage]
        faults = [e for e in w if e[0] == 'fault' and e[1] == sid]
        # One translation per 4 KiB transfer at least: memory->edu, edu->memory.
        ok = len(ts) >= 2 and not bad and not faults
        return ok, ('%d smmuv3_translate_success sid=%#x iova=%#x -> %#x stage=%d, '
                    '%d mismatched, %d faults' % (len(ts), sid, iova, pa, self.a.stage,
                                                   len(bad), len(faults)))

    def jump_window(self, u, sid):
        return self.t.window(self.t.mark(sid, u, MARK_JUMP_FIRE),
                             self.t.mark(sid, u + 1, MARK_LOADED))

    def tr_jump_lost(self, u, sid):
        w = self.jump_window(u, sid)
        if w is None:
            return False, 'missing in-jump fire mark of kernel %d or load mark of kernel %d' % (
                u, u + 1)
        ts = [e for e in w if e[0] == 'ts' and e[1] == sid]
        faults = [e for e in w if e[0] == 'fault' and e[1] == sid]
        # Lost: the transfer never got a translation (bus master off, or a fault).
        return not ts, ('%d translate_success, %d faults for sid %#x between the fire mark '
                        'and the next kernel\'s load' % (len(ts), len(faults), sid))

    def tr_jump_lands(self, u, sid):
        iova, pa = self.buf(u, sid)
        w = self.jump_window(u, sid)
        if iova is None or w is None:
            return False, 'missing buffer data or marks'
        ts = [e for e in w if e[0] == 'ts' and e[1] == sid and e[2] & PAGE_MASK == iova]
        good = [e for e in ts if e[3] & PAGE_MASK == pa]
        return bool(good) and len(good) == len(ts), (
            '%d/%d translate_success sid=%#x iova page %#x -> pa page %#x between fire and '
            'next load' % (len(good), len(ts), sid, iova, pa))

    def tr_smmu_disabled(self, u):
        fire = self.t.mark(DUT, u, MARK_JUMP_FIRE)
        if fire is None:
            return False, 'no in-jump fire mark in kernel %d' % u
        probe = self.t.next_kind(fire, 'idr0')
        if probe is None:
            return False, 'the next kernel never probed the SMMU (no IDR0 read after the jump)'
        w = self.t.window(fire, probe)
        cr0 = [e[1] for e in w if e[0] == 'cr0']
        after = [e[1] for e in self.t.ev[probe:] if e[0] == 'cr0'][:4]
        off = [v for v in cr0 if not v & 1]
        # SMMUEN (CR0 bit 0) cleared before the next kernel's first register read.
        return bool(off), ('CR0 writes between the fire mark and the next probe: %s; '
                           'next probe: %s' % (['%#x' % v for v in cr0],
                                               ['%#x' % v for v in after]))

    def tr_smmu_stays_on(self, u):
        w = self.jump_window(u, DUT)
        if w is None:
            return False, 'missing fire/load marks'
        cr0 = [e[1] for e in w if e[0] == 'cr0']
        off = [v for v in cr0 if not v & 1]
        return not off, 'CR0 writes from the fire mark to the next load: %s' % (
            ['%#x' % v for v in cr0])

    def raw_window(self, u, sid):
        return self.t.window(self.t.mark(sid, u + 1, MARK_RAW_BEGIN),
                             self.t.mark(sid, u + 1, MARK_RAW_END))

    def tr_raw_faults(self, u, sid):
        iova, _ = self.buf(u, sid)
        w = self.raw_window(u, sid)
        if iova is None or w is None:
            return False, 'missing buffer data or raw-DMA marks'
        ts = [e for e in w if e[0] == 'ts' and e[1] == sid]
        faults = [e for e in w if e[0] == 'fault' and e[1] == sid]
        gerr = [e for e in w if e[0] == 'gerr' and e[1] == sid]
        first = gerr[0][2] if gerr else None
        # The first faulting access is the first byte of the transfer.
        at = first is None or first == iova + HALF
        ok = bool(faults) and not ts and at
        return ok, ('%d fault events (%s) for sid %#x, first at iova %s (want %#x), '
                    '%d translate_success' % (
                        len(faults), faults[0][2] if faults else '-', sid,
                        '%#x' % first if first is not None else '-', iova + HALF, len(ts)))

    def tr_raw_lands(self, u, sid):
        iova, pa = self.buf(u, sid)
        w = self.raw_window(u, sid)
        if iova is None or w is None:
            return False, 'missing buffer data or raw-DMA marks'
        ts = [e for e in w if e[0] == 'ts' and e[1] == sid]
        good = [e for e in ts if e[2] == iova + HALF and e[3] == pa + HALF]
        faults = [e for e in w if e[0] == 'fault' and e[1] == sid]
        return bool(good) and not faults, (
            '%d translate_success sid=%#x iova=%#x -> %#x, %d total, %d faults' % (
                len(good), sid, iova + HALF, pa + HALF, len(ts), len(faults)))

    def boot(self):
        hello = self.g.verb(1, 'hello')
        return bool(hello), 'guest hello: %s' % (hello or 'none; see the serial log')

    def reaches(self, u):
        went = self.g.verb(u, 'kexec')
        hello = self.g.verb(u + 1, 'hello')
        kho = bool(hello) and hello.get('kho_in') == '1'
        # Every kernel after a KHO kexec logs this once it found the KHO FDT.
        found = self.g.serial.count('found kexec handover data') >= u
        return went is not None and kho and found, (
            'kernel %d kexec line: %s; kernel %d hello: %s; "found kexec handover data" '
            'logged: %s' % (u, went is not None, u + 1, hello, found))

    def record(self, u, sid, name):
        ok, d = self.guest(name)
        before = self.buf(u, sid)
        kv = self.g.datum(u + 1, 'in', sid)
        after = (int(kv['iova'], 16), int(kv['pa'], 16)) if kv else (None, None)
        # The record carries the very IOVA and PA kernel u reported for its buffer.
        same = before[0] is not None and before == after
        return ok and same, '%s; kernel %d buffer %s, kernel %d record %s' % (
            d, u, _hx(before), u + 1, _hx(after))

    def powers_off(self):
        n = self.a.updates
        bye = self.g.verb(n + 1, 'bye')
        rc = self.a.qemu_rc
        return bye is not None and rc == 0, 'kernel %d bye: %s; qemu exit status %d%s' % (
            n + 1, bye is not None, rc, ' (timeout)' if rc in (124, 137) else '')

    def no_oops(self):
        bad = [ln for ln in self.g.serial.splitlines()
               if re.search(r'Oops|BUG:|Kernel panic|WARNING: CPU|Call trace:', ln)]
        return not bad, '%d such lines%s' % (len(bad), (': ' + bad[0]) if bad else '')

    # ---- the plan --------------------------------------------------------

    def plan(self):
        """Yield (name, preservation-only?, decide) for every check, in order."""
        n, pre = self.a.updates, self.a.preserve
        P = (DUT, ''), (PROBE, 'probe_')
        g = self.guest
        yield 'boot_reaches_init', False, self.boot
        for k in range(1, n + 2):
            for c, pre_only in (('smmu_coherency_matches_dtb', False),
                                ('smmu_kho_module_loads', True),
                                ('edu_dma_binds_both_edu_devices', False)):
                if pre or not pre_only:
                    name = 'k%d.%s' % (k, c)
                    yield name, pre_only, partial(g, name)
            when = 'before' if k <= n else 'after'
            for sid, pfx in P:
                name = 'k%d.%sedu_dma_roundtrip_%s_kexec' % (k, pfx, when)
                yield name, False, partial(self.both, name, partial(self.tr_roundtrip, k, sid))
            if k > n:
                break
            u = k
            guest_only = ['kexec_file_load_with_kho', 'edu_dma_kho_record_added',
                          'probe_edu_dma_kho_record_added']
            if pre:
                guest_only = ['smmu_kho_preserve_edu'] + guest_only + [
                    'smmu_kho_freeze', 'smmu_kho_status_frozen']
            for c in guest_only:
                name = 'u%d.%s' % (u, c)
                yield name, c.startswith('smmu_kho'), partial(g, name)
            yield 'u%d.kexec_with_kho_reaches_next_kernel' % u, False, partial(self.reaches, u)
            if pre:
                name = 'u%d.smmu_kho_adopts_edu_stream' % u
                yield name, True, partial(g, name)
            for sid, pfx in P:
                name = 'u%d.%sedu_dma_kho_record_restored' % (u, pfx)
                yield name, False, partial(self.record, u, sid, name)
            if pre:
                name = 'u%d.preserved_dma_during_jump_lands' % u
                yield name, True, partial(self.both, name, partial(self.tr_jump_lands, u, DUT))
                yield ('u%d.preserved_smmu_stays_enabled_across_jump' % u, True,
                       partial(self.trace_only, partial(self.tr_smmu_stays_on, u)))
                name = 'u%d.preserved_same_iova_after_kexec_lands' % u
                yield name, True, partial(self.both, name, partial(self.tr_raw_lands, u, DUT))
                name = 'u%d.smmu_kho_release_edu' % u
                yield name, True, partial(g, name)
            else:
                name = 'u%d.stock_dma_during_jump_is_lost' % u
                yield name, False, partial(self.both, name, partial(self.tr_jump_lost, u, DUT))
                yield ('u%d.stock_smmu_disabled_across_jump' % u, False,
                       partial(self.trace_only, partial(self.tr_smmu_disabled, u)))
                name = 'u%d.stock_same_iova_after_kexec_faults' % u
                yield name, False, partial(self.both, name, partial(self.tr_raw_faults, u, DUT))
            name = 'u%d.probe_dma_during_jump_is_lost' % u
            yield name, False, partial(self.both, name, partial(self.tr_jump_lost, u, PROBE))
            name = 'u%d.probe_same_iova_after_kexec_faults' % u
            yield name, False, partial(self.both, name, partial(self.tr_raw_faults, u, PROBE))
        yield 'vm_powers_off_after_last_kernel', False, self.powers_off
        yield 'kernel_logs_no_oops_warning_or_panic', False, self.no_oops

    def run(self):
        for name, _, decide in self.plan():
            ok, detail = decide()
            self.emit('ok' if ok else 'fail', name, detail)
        ms = []
        for u in range(1, self.a.updates + 1):
            kv = self.g.datum(u + 1, 'timing')
            if kv and 'kexec_to_init_us' in kv:
                ms.append(int(kv['kexec_to_init_us']) / 1000.0)
                print('INFO\tupdate %d: reboot notifier -> next /init: %.1f ms (guest CNTVCT)' %
                      (u, ms[-1]))
        if ms:
            print('INFO\tkexec_to_init_ms: n=%d min=%.1f mean=%.1f max=%.1f' % (
                len(ms), min(ms), sum(ms) / len(ms), max(ms)))

    def list_preserve_only(self):
        for name, pre_only, _ in self.plan():
            if pre_only:
                self.emit('skip', name, '')


def _hx(p):
    return '(iova %s, pa %s)' % tuple('%#x' % v if v is not None else '-' for v in p)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--serial')
    ap.add_argument('--trace')
    ap.add_argument('--list-preserve-only', action='store_true',
                    help='print, as skipped, the checks only a preserve scenario has')
    ap.add_argument('--updates', type=int, default=1)
    ap.add_argument('--stage', type=int, default=1)
    ap.add_argument('--preserve', type=int, default=0)
    ap.add_argument('--qemu-rc', type=int, default=0)
    args = ap.parse_args()
    if args.list_preserve_only:
        args.preserve = 1
        Checks(args).list_preserve_only()
    elif not (args.serial and args.trace):
        ap.error('--serial and --trace are required')
    else:
        Checks(args).run()
    return 0


if __name__ == '__main__':
    sys.exit(main())
