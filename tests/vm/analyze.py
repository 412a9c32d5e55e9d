#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Turn one VM run (guest serial log + QEMU trace + witness dumps) into per-check results.

Used by tests/vm/vmtest.sh.  Input: the serial log, where the guest's /init
(tests/vm/guest/init.c) printed "SKHOVM k=K <verb> ..." lines, the QEMU
log file holding the smmuv3_* and pci_cfg_write trace events plus
guest_errors messages, and (--witness DIR, preserve runs) the dumps
tests/vm/witness.py read over QMP: the SMMU registers and the preserved
pages after FREEZE and after adoption.  The witness checks decode the
stream table, CD tables and page tables from those bytes themselves and
compare them with the FDT the outgoing kernel printed.
Output, one line per check on stdout:
    RESULT <tab> ok|fail <tab> <name> <tab> <detail>
    INFO <tab> <text>
    BENCH <tab> <json: one live update's timings and sizes, for --bench-report>
Checks that involve DMA translation need both the guest's verdict (the data
in memory) and evidence in the trace, which the guest cannot forge.  The
trace is cut into windows by the marks edu_dma.ko writes to config offset
0xfc of each edu device (see edu_dma_uapi.h: value 0x5eKKEE, kernel KK,
event EE).  A check whose result or evidence is missing fails; it never
passes by default.

The plan (Checks.plan) is built from the scenario flags: --preserve, --keep,
--bench-streams, --smmu-kho; a new kind of scenario adds a flag there and
yields its checks at the place in the chain they belong to.
--bench-report FILE turns the BENCH lines of several runs into the vm-bench
table (medians; nothing is asserted).  --self-test runs the witness and
trace checks on synthetic evidence, good and doctored (a flipped STE, CD or
page-table byte, a live non-preserved STE, CR0 writes or marks dropped, a
dump outside its window): every doctored case must fail its check.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import struct
import sys
import tempfile
from functools import partial

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import witness as W  # noqa: E402  (tests/vm/witness.py, next to this file)
# tests/vm/vmtrace.py: the trace parser every VM checker shares
from vmtrace import (DUT, HALF, MARK_JUMP_FIRE, MARK_LOADED, MARK_RAW_BEGIN,  # noqa: E402,F401
                     MARK_RAW_END, MARK_RT_BEGIN, MARK_RT_END, MARK_WIT, PAGE_MASK, PROBE,
                     Trace, guest_lines, sid_events)

RE_GUEST = re.compile(r'SKHOVM k=(\d+) (\w+) ?(.*)$')    # guest/init.c's say()
RE_KV = re.compile(r'(\w+)=(\S+)')
RE_KTIME = re.compile(r'^\[\s*(\d+\.\d+)\] (.*)$')     # printk.time=1 console lines


class Guest:
    """The SKHOVM lines of every kernel in the chain."""

    def __init__(self, path):
        self.results = {}   # name -> (verb, detail, k)
        self.data = []      # (k, kind, {key: value})
        self.verbs = []     # (k, verb, rest)
        self.serial = ''
        self.klog = {}      # kernel index -> [(printk seconds, text)]
        with open(path, errors='replace') as f:
            self.serial = f.read()
        k = 0
        for line in self.serial.splitlines():
            m = RE_KTIME.match(line)
            text = m.group(2) if m else line
            if text.startswith('Booting Linux on physical CPU'):
                k += 1
            if m and k:
                self.klog.setdefault(k, []).append((float(m.group(1)), text))
        for _, k, verb, rest in guest_lines(self.serial.splitlines(), RE_GUEST):
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

    def kspan(self, k, first, last, until=None):
        """Seconds on kernel k's printk clock from the first line matching
        @first to the first line matching @last after it, or, with @until,
        to the last line matching @last before the first matching @until;
        None if a line is missing."""
        lines = self.klog.get(k, [])
        t0 = next((i for i, (_, x) in enumerate(lines) if re.search(first, x)), None)
        if t0 is None:
            return None
        hits = []
        for t, x in lines[t0:]:
            if until and re.search(until, x):
                break
            if re.search(last, x):
                hits.append(t)
                if not until:
                    break
        return hits[-1] - lines[t0][0] if hits else None

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
        self._dumps = {}
        self._fdts = {}

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
        ts = sid_events(w, 'ts', sid)
        bad = [e for e in ts if e[2] & PAGE_MASK != iova or e[3] & PAGE_MASK != pa
               or e[4] != self.a.stage]
        faults = sid_events(w, 'fault', sid)
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
        ts = sid_events(w, 'ts', sid)
        faults = sid_events(w, 'fault', sid)
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
        """SMMUEN (CR0 bit 0) never cleared from the fire mark to the next
        kernel's load mark.  Evidence: the window holds CR0 writes, among
        them the next kernel's after its first IDR0 read (its SMMU probe);
        zero CR0 writes, or no probe in the window, fail."""
        fire, load = self.t.mark(DUT, u, MARK_JUMP_FIRE), self.t.mark(DUT, u + 1, MARK_LOADED)
        w = self.t.window(fire, load)
        if w is None:
            return False, 'missing fire mark of kernel %d or load mark of kernel %d' % (u, u + 1)
        probe = self.t.next_kind(fire, 'idr0')
        cr0 = [e[1] for e in w if e[0] == 'cr0']
        by_next = ([e[1] for e in self.t.ev[probe:load] if e[0] == 'cr0']
                   if probe is not None and probe < load else [])
        off = [v for v in cr0 if not v & 1]
        return bool(cr0) and bool(by_next) and not off, (
            'CR0 writes from the fire mark to the next load: %s (%d by the next kernel after '
            'its first IDR0 read; SMMUEN=0 in %d)' % (
                ['%#x' % v for v in cr0], len(by_next), len(off)))

    def raw_window(self, u, sid):
        return self.t.window(self.t.mark(sid, u + 1, MARK_RAW_BEGIN),
                             self.t.mark(sid, u + 1, MARK_RAW_END))

    def raw_events(self, u, sid):
        """(iova, pa, window, translations, faults) of SID's raw DMA after
        update u; None without its buffer data or marks."""
        iova, pa = self.buf(u, sid)
        w = self.raw_window(u, sid)
        if iova is None or w is None:
            return None
        return iova, pa, w, sid_events(w, 'ts', sid), sid_events(w, 'fault', sid)

    def tr_raw_faults(self, u, sid):
        ev = self.raw_events(u, sid)
        if ev is None:
            return False, 'missing buffer data or raw-DMA marks'
        iova, _, w, ts, faults = ev
        gerr = sid_events(w, 'gerr', sid)
        first = gerr[0][2] if gerr else None
        # The first faulting access is the first byte of the transfer.
        at = first is None or first == iova + HALF
        ok = bool(faults) and not ts and at
        return ok, ('%d fault events (%s) for sid %#x, first at iova %s (want %#x), '
                    '%d translate_success' % (
                        len(faults), faults[0][2] if faults else '-', sid,
                        '%#x' % first if first is not None else '-', iova + HALF, len(ts)))

    def tr_raw_lands(self, u, sid):
        ev = self.raw_events(u, sid)
        if ev is None:
            return False, 'missing buffer data or raw-DMA marks'
        iova, pa, _, ts, faults = ev
        good = [e for e in ts if e[2] == iova + HALF and e[3] == pa + HALF]
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

    # ---- smmu_kho.ko state across the jump ------------------------------

    def dut_digests(self, k, kind):
        """(ste, xlat) digests of SID 0x10 in a ste_out/ste_in line of kernel k."""
        kv = self.g.datum(k, kind)
        if not kv or int(kv.get('sid', '-1'), 16) != DUT:
            return None
        return int(kv['ste'], 16), int(kv['xlat'], 16)

    def identity(self, u):
        """Kernel u's snapshot of SID 0x10 (and of every preserved stream)
        equals what kernel u+1 finds in memory before it releases anything."""
        pre, post = self.dut_digests(u, 'ste_out'), self.dut_digests(u + 1, 'ste_in')
        so, si = self.g.datum(u, 'streams_out'), self.g.datum(u + 1, 'streams_in')
        same = pre is not None and pre == post and 0 not in pre
        # The whole preserved set too (1 stream, or 1 + the benchmark copies):
        # same count, every digest non-zero, same FNV over (sid, ste, xlat).
        sets = (bool(so) and bool(si) and so['n'] == si['n'] and so['nonzero'] == so['n']
                and int(so['n']) > 0 and so['set'] == si['set'])
        return same and sets, (
            'sid 0x10 kernel %d snapshot ste/xlat %s, kernel %d memory %s; set of %s '
            'preserved streams %s, %s adopted %s' % (
                u, _dg(pre), u + 1, _dg(post), so and so['n'], so and so['set'],
                si and si['n'], si and si['set']))

    def fdt_same(self, u):
        o, i = self.g.datum(u, 'fdt_out'), self.g.datum(u + 1, 'fdt_in')
        # The reboot notifier re-takes the snapshot and replaces it only if
        # the tables changed; unchanged, the bytes handed over are FREEZE's.
        ok = (bool(o) and bool(i) and o['err'] == '0' and i['err'] == '0' and
              int(o['len']) > 0 and o['len'] == i['len'] and o['fnv'] == i['fnv'])
        return ok, 'GET_FDT(OUT) in kernel %d: %s; GET_FDT(IN) in kernel %d: %s' % (
            u, _lf(o), u + 1, _lf(i))

    def nothing_to_compare(self, u):
        """Negative control: the digests were captured, the identity check
        has nothing in the next kernel to compare them with, so it fails."""
        pre = self.dut_digests(u, 'ste_out')
        ok_id, d = self.identity(u)
        captured = pre is not None and 0 not in pre
        return captured and not ok_id, '%s: %s' % (
            'identity check PASSES: a stream was handed over' if ok_id else
            'identity check fails, as it must', d)

    def tr_no_fault_ever(self):
        """No fault of the preserved stream anywhere in the chain's trace."""
        ev = self.t.ev
        faults = sid_events(ev, 'fault', DUT)
        gerr = sid_events(ev, 'gerr', DUT)
        ts = sum(1 for e in ev if e[0] == 'ts' and e[1] == DUT)
        probe = sum(1 for e in ev if e[0] == 'fault' and e[1] == PROBE)
        gerror = sum(1 for e in ev if e[0] == 'gerror')
        # Witnesses that the trace is the chain's and that faults are seen at
        # all: sid 0x10 translated, and the never-preserved probe (0x18)
        # faulted on its same-IOVA DMA after every update.
        ok = not faults and not gerr and ts > 0 and probe > 0
        kinds = sorted({e[2] for e in faults})
        return ok, ('sid 0x10: %d fault/event records %s, %d "translation failed" guest '
                    'errors, %d translate_success; sid 0x18 (witness): %d fault records; '
                    'GERROR writes: %d' % (len(faults), kinds, len(gerr), ts, probe, gerror))

    def keep_same(self):
        """-keep: one translation, kernel 1's, handed over N times."""
        n = self.a.updates
        b1, o1 = self.buf(1, DUT), self.dut_digests(1, 'ste_out')
        bad, parts = [], []
        if b1[0] is None or o1 is None or 0 in o1:
            return False, 'no kernel 1 buffer or snapshot digests of sid 0x10'
        for u in range(1, n + 1):
            ou, iu, bu = self.dut_digests(u, 'ste_out'), self.dut_digests(u + 1, 'ste_in'), self.buf(u, DUT)
            kv = self.g.datum(u + 1, 'in', DUT)
            rec = (int(kv['iova'], 16), int(kv['pa'], 16)) if kv else None
            w = self.jump_window(u, DUT) or []
            ts = [e for e in w if e[0] == 'ts' and e[1] == DUT and e[2] & PAGE_MASK == b1[0]]
            into = [e for e in ts if e[3] & PAGE_MASK == b1[1]]
            landed = self.g.results.get('u%d.preserved_dma_during_jump_lands' % u)
            # Same digests as kernel 1's snapshot before and after the jump,
            # the same buffer armed and recorded, and the jump DMA translated
            # to kernel 1's page (trace) and found there (guest).
            good = (ou == o1 and iu == o1 and bu == b1 and rec == b1 and
                    bool(into) and len(into) == len(ts) and bool(landed) and
                    landed[0] == 'ok')
            if not good:
                bad.append(u)
            parts.append('u%d: out %s in %s buf %s rec %s jump %d/%d -> pa page %#x, guest %s' % (
                u, _dg(ou), _dg(iu), _hx(bu), _hx(rec or (None, None)), len(into), len(ts),
                b1[1], landed[0] if landed else '-'))
        return not bad, 'kernel 1 sid 0x10 %s buffer %s; %s%s' % (
            _dg(o1), _hx(b1), '; '.join(parts), ('; differs in update(s) %s' % bad) if bad else '')

    # ---- the outside witness (tests/vm/witness.py dumps over QMP) --------

    def dump(self, u, phase):
        """(Dump, None) of update u's dump before the jump or after
        adoption, or (None, why it is missing or unusable)."""
        key = (u, phase)
        if key not in self._dumps:
            path = os.path.join(self.a.witness or '', 'u%d-%s' % (u, phase))
            if not self.a.witness or not os.path.exists(os.path.join(path, 'index.json')):
                self._dumps[key] = (None, 'no %s dump of update %d (%s)' % (phase, u, path))
            else:
                d = W.Dump(path)
                err = d.ix.get('error')
                self._dumps[key] = ((None, '%s dump of update %d failed: %s' % (phase, u, err))
                                    if err else (d, None))
        return self._dumps[key]

    def fdt(self, u):
        """(handover list, None) from the fdthex lines of kernel u, or (None, why).
        The blob must be the one kernel u reported (GET_FDT(OUT) length and FNV)."""
        if u not in self._fdts:
            blob = W.fdt_from_serial(self.g.serial, u)
            rep = self.g.datum(u, 'fdt_out')
            if blob is None:
                self._fdts[u] = (None, 'no complete fdthex lines from kernel %d' % u)
            elif not rep or int(rep['len']) != len(blob) or int(rep['fnv'], 16) != _fnv(blob):
                self._fdts[u] = (None, 'fdthex of kernel %d (%d bytes, fnv %#x) is not its '
                                 'GET_FDT(OUT) report %s' % (u, len(blob), _fnv(blob), _lf(rep)))
            else:
                try:
                    self._fdts[u] = (W.handover(blob), None)
                except (W.FdtError, KeyError, struct.error, ValueError) as e:
                    self._fdts[u] = (None, 'FDT of kernel %d: %s' % (u, e))
        return self._fdts[u]

    def _wit(self, u, phases):
        """(handover, {phase: Dump}, None) or (None, None, why)."""
        ho, why = self.fdt(u)
        if ho is None:
            return None, None, why
        dumps = {}
        for ph in phases:
            d, why = self.dump(u, ph)
            if d is None:
                return None, None, why
            dumps[ph] = d
        return ho, dumps, None

    def wit_windows(self, u):
        """Both dumps were taken with the VM stopped inside the guest's
        window: the window's begin mark is in the trace before the point
        where the witness stopped the VM, its end mark after it."""
        parts, ok = [], True
        for ph, k in (('before', u), ('after', u + 1)):
            d, why = self.dump(u, ph)
            if d is None:
                ok = False
                parts.append(why)
                continue
            b = self.t.mark(DUT, k, MARK_WIT[ph])
            e = self.t.mark(DUT, k, MARK_WIT[ph] + 1)
            n = d.ix.get('trace_lines', -1)
            bl = self.t.line[b] if b is not None else None
            el = self.t.line[e] if e is not None else None
            inside = bl is not None and el is not None and bl < n <= el
            good = (inside and d.ix.get('status') == 'paused' and
                    not d.ix.get('resumed_before_stop'))
            ok &= good
            parts.append('%s (kernel %d): VM %s, stopped at trace line %d, window marks at '
                         'lines %s..%s, guest resumed before the stop: %s, %d regions' % (
                             ph, k, d.ix.get('status'), n, bl, el,
                             d.ix.get('resumed_before_stop'), len(d.regions)))
        return ok, '; '.join(parts)

    def wit_regs(self, u):
        """Live CR0, STRTAB_BASE and STRTAB_BASE_CFG read over QMP: SMMUEN
        set, and the stream table the SMMU walks is the handover's, before
        the jump and after adoption."""
        ho, dumps, why = self._wit(u, ('before', 'after'))
        if ho is None:
            return False, why
        ok, parts = True, []
        for smmu in ho:
            want = (smmu['strtab_base'], smmu['strtab_base_cfg'])
            for ph, d in dumps.items():
                r = d.regs.get(smmu['name'], {})
                got = (r.get('strtab_base'), r.get('strtab_base_cfg'))
                cr0 = r.get('cr0')
                good = got == want and cr0 is not None and cr0 & 1
                ok &= bool(good)
                parts.append('%s %s: CR0 %s STRTAB_BASE %s CFG %s' % (
                    smmu['name'], ph, _h(cr0), _h(got[0]), _h(got[1])))
            parts.append('handover %#x/%#x' % want)
        return ok, '; '.join(parts)

    def _locate_all(self, smmu, d):
        """{sid: (ste bytes or None, why)} for the preserved SIDs, located
        from the live registers in dump d."""
        r = d.regs.get(smmu['name'], {})
        base, cfg = r.get('strtab_base'), r.get('strtab_base_cfg')
        out = {}
        for st in smmu['streams']:
            if base is None or cfg is None:
                out[st['sid']] = (None, 'no STRTAB_BASE/CFG read')
                continue
            loc, why = W.ste_location(d, base, cfg, st['sid'])
            if loc is None:
                out[st['sid']] = (None, why)
                continue
            b = d.read(loc[0], 64)
            out[st['sid']] = (b, None if b is not None else
                              'STE at %#x not in the dumped pages' % loc[0])
        return out

    def wit_stes(self, u, phase):
        """Every preserved STE, located in the dumped stream table from the
        live registers, is byte for byte the 64 bytes the FDT recorded."""
        ho, dumps, why = self._wit(u, (phase,))
        if ho is None:
            return False, why
        d = dumps[phase]
        n = same = 0
        bad, dut = [], None
        for smmu in ho:
            ref = {st['sid']: st['ste'] for st in smmu['streams']}
            for sid, (b, why) in sorted(self._locate_all(smmu, d).items()):
                n += 1
                good = b is not None and b == ref[sid]
                same += good
                if sid == DUT:
                    dut = good
                if not good and len(bad) < 4:
                    bad.append('SID %#x: %s' % (sid, why or _first_diff(b, ref[sid])))
        ok = n > 0 and same == n and dut is True
        return ok, ('SID 0x10 STE %s the FDT copy; %d/%d preserved STEs identical to the FDT '
                    '(QMP pmemsave, %s)%s' % (
                        'identical to' if dut else 'NOT identical to' if dut is False else
                        'not preserved, unlike', same, n, phase, ('; ' + '; '.join(bad)) if bad
                        else ''))

    def wit_other_abort(self, u):
        """Every STE of the adopted (L2) tables that is not a preserved SID
        is abort (V=1, Config=0) or invalid (V=0), unless kernel u+1 wrote it
        itself (CMD_CFGI_STE for that SID in the trace after its SMMU probe
        and before the dump): no STE of kernel u is left live."""
        ho, dumps, why = self._wit(u, ('after',))
        if ho is None:
            return False, why
        d = dumps['after']
        fire = self.t.mark(DUT, u, MARK_JUMP_FIRE)
        probe = self.t.next_kind(fire, 'idr0') if fire is not None else None
        if probe is None:
            return False, 'no SMMU probe of kernel %d in the trace' % (u + 1)
        stop = self.t.at_line(d.ix.get('trace_lines', 0))
        own = {e[1] for e in self.t.ev[probe:stop] if e[0] == 'cfgi_ste'}
        n_abort = n_tables = 0
        bad, written = [], []
        for smmu in ho:
            r = d.regs.get(smmu['name'], {})
            base, cfg = r.get('strtab_base'), r.get('strtab_base_cfg')
            if base is None or cfg is None:
                return False, 'no live STRTAB_BASE/CFG in the after dump'
            pres = {st['sid'] for st in smmu['streams']}
            fmt, split, _, _ = W.strtab_geometry(base, cfg)
            tables = {}
            for sid in sorted(pres):
                loc, why = W.ste_location(d, base, cfg, sid)
                if loc is None:
                    return False, 'SID %#x: %s' % (sid, why)
                first = sid & ~((1 << split) - 1) if fmt == 1 else 0
                tables[loc[1]] = (first, loc[2])
            for pa, (first, count) in sorted(tables.items()):
                n_tables += 1
                data = d.read(pa, 64 * count)
                if data is None:
                    return False, 'stream table at %#x (%d STEs) not in the dump' % (pa, count)
                for i in range(count):
                    sid = first + i
                    if sid in pres:
                        continue
                    ste = data[64 * i:64 * i + 64]
                    if W.ste_is_abort_or_invalid(ste):
                        n_abort += 1
                    elif sid in own:
                        written.append('%#x' % sid)
                    elif len(bad) < 4:
                        bad.append('SID %#x %s STE %s' % (sid, W.ste_kind(ste), ste[:16].hex()))
                    else:
                        bad.append('...')
        ok = n_abort > 0 and not bad
        return ok, ('%d STEs abort/invalid in %d adopted table(s); written by kernel %d after '
                    'its probe: %s; left live: %s (QMP pmemsave)' % (
                        n_abort, n_tables, u + 1, ', '.join(written) or 'none',
                        '; '.join(bad) or 'none'))

    def wit_stock(self, u):
        """Negative control of the witness: in a stock run (FREEZE, then
        ABORT) it reads SID 0x10's frozen STE before the jump, inside its
        windows, and the STE comparison after the jump fails."""
        win, wd = self.wit_windows(u)
        pre, pd = self.wit_stes(u, 'before')
        post, ad = self.wit_stes(u, 'after')
        return win and pre and not post, (
            'windows %s; before: %s; after: %s' % ('ok' if win else 'FAILED: ' + wd, pd,
                                                   'fails, as it must: ' + ad if not post
                                                   else 'PASSES: an STE was kept: ' + ad))

    def _tables(self, smmu, d, stes):
        """{(pa, size): bytes} of the CD tables and page-table pages the
        preserved STEs reach in dump d, or raise ValueError."""
        out = {}
        roots = {pt['root'] for pt in smmu['page_tables']}
        for sid, ste in stes.items():
            regs, ttbs = W.cd_regions(d, ste)
            for pa, size, what in regs:
                b = d.read(pa, size)
                if b is None:
                    raise ValueError('SID %#x: %s at %#x not in the dump' % (sid, what, pa))
                out[('cd', pa, size)] = b
            ttb = W.s2_ttb(ste)
            for ssid, root in ttbs + ([(None, ttb)] if ttb is not None else []):
                if root not in roots:
                    raise ValueError('SID %#x: table root %#x is not in page-tables' % (sid, root))
        for pt in smmu['page_tables']:
            for pa, size in W.pt_pages(d, pt):
                out[('pt', pa, size)] = d.read(pa, size)
        return out

    def wit_tables(self, u):
        """CD tables and page-table pages of the preserved streams, found by
        decoding the STEs and CDs and walking every listed table in the
        dumped memory, are byte for byte the same after adoption as after
        the freeze."""
        ho, dumps, why = self._wit(u, ('before', 'after'))
        if ho is None:
            return False, why
        n_cd = n_pt = n_s1 = n_diff = 0
        diff = []
        try:
            for smmu in ho:
                stes = {st['sid']: st['ste'] for st in smmu['streams']}
                n_s1 += sum(1 for b in stes.values() if W.ste_kind(b) == 's1')
                tb = self._tables(smmu, dumps['before'], stes)
                ta = self._tables(smmu, dumps['after'], stes)
                for key in sorted(set(tb) | set(ta)):
                    n_cd += key[0] == 'cd'
                    n_pt += key[0] == 'pt'
                    n_diff += tb.get(key) != ta.get(key)
                    if tb.get(key) != ta.get(key) and len(diff) < 4:
                        diff.append('%s %#x+%#x: %s' % (
                            'CD table' if key[0] == 'cd' else 'page table', key[1], key[2],
                            'only ' + ('before' if key in tb else 'after')
                            if key not in tb or key not in ta else
                            _first_diff(ta[key], tb[key])))
        except ValueError as e:
            return False, str(e)
        # Stage-1 streams need their CD tables; every stream some table.
        ok = n_pt > 0 and (n_cd > 0 or n_s1 == 0) and not diff
        return ok, ('%d CD table(s) (%d stage-1 STEs) and %d page-table page(s) compared, '
                    'after adoption against after the freeze: %d differ%s (QMP pmemsave)' % (
                        n_cd, n_s1, n_pt, n_diff, (': ' + '; '.join(diff)) if diff else ''))

    def wit_outputs(self, u):
        """Every leaf of every preserved page table, walked in the memory
        dumped after adoption, maps a page the handover lists in
        output-ranges, and none of them is a table page: the device can
        reach nothing else (docs/abi.md).  The DMA buffer must be one of
        them."""
        ho, dumps, why = self._wit(u, ('after',))
        if ho is None:
            return False, why
        n, bad = 0, []
        try:
            for smmu in ho:
                for pt in smmu['page_tables']:
                    for pa, size in W.pt_leaves(dumps['after'], pt):
                        n += 1
                        if not W.inside(smmu['outputs'], pa, size):
                            bad.append('%#x+%#x outside output-ranges' % (pa, size))
                        elif any(r < pa + size and pa < r + s for r, s in smmu['ranges']):
                            bad.append('%#x+%#x is a table page' % (pa, size))
        except ValueError as e:
            return False, str(e)
        outs = sum(s for smmu in ho for _, s in smmu['outputs'])
        return n > 0 and outs > 0 and not bad, (
            '%d leaves walked outside the guest, %d output bytes listed: %s (QMP pmemsave)' % (
                n, outs, '; '.join(bad[:4]) if bad else 'all inside output-ranges'))

    def powers_off(self):
        """The last kernel says bye and powers off: QEMU exits 0.  If QEMU
        kept running after the guest's "reboot: Power down" (a TCG hang seen
        once in ~50 runs, after the kernel's part is done), witness.py quit
        it over QMP: still a pass, said in the detail."""
        n = self.a.updates
        bye = self.g.verb(n + 1, 'bye')
        rc = self.a.qemu_rc
        down = 'reboot: Power down' in self.g.serial
        wdir = self.a.witness
        quit = bool(wdir) and wdir != '-' and os.path.exists(
            os.path.join(wdir, 'qemu-quit-after-power-down'))
        return bye is not None and down and rc == 0, (
            'kernel %d bye: %s; "reboot: Power down" logged: %s; qemu exit status %d%s%s' % (
                n + 1, bye is not None, down, rc, ' (timeout)' if rc in (124, 137) else '',
                ' (QEMU hung after the power-off: witness.py quit it)' if quit else ''))

    def no_oops(self):
        bad = [ln for ln in self.g.serial.splitlines()
               if re.search(r'Oops|BUG:|Kernel panic|WARNING: CPU|Call trace:', ln)]
        return not bad, '%d such lines%s' % (len(bad), (': ' + bad[0]) if bad else '')

    # ---- the plan --------------------------------------------------------

    def plan(self):
        """Yield (name, needs smmu_kho.ko?, decide) for every check, in order.
        Stock runs use the module too (freeze, then abort: the negative
        control of the STE checks); without it those checks fail."""
        n, pre, keep = self.a.updates, self.a.preserve, self.a.keep
        P = (DUT, ''), (PROBE, 'probe_')
        g = self.guest
        # Per update: (check, its trace check, StreamID; None: the trace
        # alone decides), in a preserve run and in a stock one.
        dma_checks = (
            (('stock_dma_during_jump_is_lost', self.tr_jump_lost, DUT),
             ('stock_smmu_disabled_across_jump', self.tr_smmu_disabled, None),
             ('stock_same_iova_after_kexec_faults', self.tr_raw_faults, DUT)),
            (('preserved_dma_during_jump_lands', self.tr_jump_lands, DUT),
             ('preserved_smmu_stays_enabled_across_jump', self.tr_smmu_stays_on, None),
             ('preserved_same_iova_after_kexec_lands', self.tr_raw_lands, DUT)))[bool(pre)]
        yield 'boot_reaches_init', False, self.boot
        for k in range(1, n + 2):
            for c, need in (('smmu_coherency_matches_dtb', False),
                            ('smmu_kho_module_loads', True),
                            ('edu_dma_binds_both_edu_devices', False)):
                name = 'k%d.%s' % (k, c)
                yield name, need, partial(g, name)
            for c in ('uapi_caller_without_cap_sys_admin_gets_eperm',
                      'uapi_nonzero_tail_is_e2big_short_size_is_einval',
                      'uapi_unknown_flag_is_einval',
                      'uapi_read_refuses_zero_length_wrap_and_unpreserved') if k == 1 else ():
                name = 'k1.' + c
                yield name, True, partial(g, name)
            when = 'before' if k <= n else 'after'
            for sid, pfx in P:
                if keep and sid == DUT and 2 <= k <= n:
                    # Still on kernel 1's translation: no DMA-API round trip.
                    name = 'k%d.edu_dma_inherits_previous_buffer' % k
                    yield name, True, partial(g, name)
                    continue
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
            else:
                guest_only += ['stock_smmu_kho_freeze_then_abort']
            for c in guest_only:
                name = 'u%d.%s' % (u, c)
                yield name, 'smmu_kho' in c, partial(g, name)
            yield 'u%d.kexec_with_kho_reaches_next_kernel' % u, False, partial(self.reaches, u)
            if pre:
                name = 'u%d.smmu_kho_adopts_edu_stream' % u
                yield name, True, partial(g, name)
            for sid, pfx in P:
                name = 'u%d.%sedu_dma_kho_record_restored' % (u, pfx)
                yield name, False, partial(self.record, u, sid, name)
            # The jump's DMA, the SMMU across the jump and the DMA at the
            # old IOVA: guest data + trace (a StreamID) or the trace alone.
            for c, tr, sid in dma_checks:
                name = 'u%d.%s' % (u, c)
                if sid is None:
                    yield name, bool(pre), partial(self.trace_only, partial(tr, u))
                else:
                    yield name, bool(pre), partial(self.both, name, partial(tr, u, sid))
            if pre:
                yield ('u%d.preserved_ste_and_translation_identical_across_jump' % u, True,
                       partial(self.identity, u))
                yield 'u%d.handed_over_fdt_is_the_frozen_one' % u, True, partial(self.fdt_same, u)
                name = 'u%d.preserved_stream_has_no_smmu_events' % u
                yield name, True, partial(g, name)
                # The outside witness: memory read over QMP, not the module's
                # word (this replaces STATUS.nr_abort_stes/_rewritten).  Only
                # vm-bench runs without it ('-'); no directory fails them.
                for c, fn in () if self.a.witness == '-' else (('witness_dumps_taken_inside_windows', self.wit_windows),
                              ('witness_smmu_registers_match_handover', self.wit_regs),
                              ('witness_preserved_stes_match_fdt_before_jump',
                               partial(self.wit_stes, phase='before')),
                              ('witness_preserved_stes_match_fdt_after_adoption',
                               partial(self.wit_stes, phase='after')),
                              ('witness_other_stes_abort_after_adoption', self.wit_other_abort),
                              ('witness_every_leaf_maps_an_output_page', self.wit_outputs),
                              ('witness_cd_and_page_tables_identical_across_jump',
                               self.wit_tables)):
                    yield 'u%d.%s' % (u, c), True, partial(fn, u)
                if not keep or u == n:
                    name = 'u%d.smmu_kho_release_edu' % u
                    yield name, True, partial(g, name)
            else:
                name = 'u%d.stock_no_stream_handed_over' % u
                yield name, True, partial(self.both, name, partial(self.nothing_to_compare, u))
                if self.a.witness != '-':
                    yield ('u%d.stock_witness_sees_frozen_ste_gone_after_jump' % u, True,
                           partial(self.wit_stock, u))
            name = 'u%d.probe_dma_during_jump_is_lost' % u
            yield name, False, partial(self.both, name, partial(self.tr_jump_lost, u, PROBE))
            name = 'u%d.probe_same_iova_after_kexec_faults' % u
            yield name, False, partial(self.both, name, partial(self.tr_raw_faults, u, PROBE))
        if pre:
            yield ('preserved_stream_no_fault_in_qemu_trace', True,
                   partial(self.trace_only, self.tr_no_fault_ever))
        if keep:
            yield 'keep.same_translation_through_all_updates', True, self.keep_same
        yield 'vm_powers_off_after_last_kernel', False, self.powers_off
        yield 'kernel_logs_no_oops_warning_or_panic', False, self.no_oops

    def run(self):
        for name, need_mod, decide in self.plan():
            if need_mod and not (self.a.preserve or self.a.smmu_kho):
                self.emit('fail', name, 'smmu_kho.ko not in this guest')
                continue
            ok, detail = decide()
            self.emit('ok' if ok else 'fail', name, detail)
        for b in self.bench_rows():
            print('INFO\tupdate %d: reboot notifier -> next /init %.1f ms, reboot() -> next '
                  '/init %s ms (guest CNTVCT); freeze %s ms, shutdown %s ms, SMMU probe %s ms, '
                  'adopt %s ms; %s streams, FDT %s bytes' % (
                      b['update'], b['kexec_to_init_us'] / 1e3, _ms(b['reboot_to_init_us'], 1e3),
                      _ms(b['freeze_ns'], 1e6), _ms(b['shutdown_us'], 1e3),
                      _ms(b['smmu_probe_us'], 1e3), _ms(b['adopt_ns'], 1e6), b['streams'],
                      '-' if b['fdt_len'] is None else b['fdt_len']))
            if b['blackout_us'] is not None and b['devices'] is not None:
                print('INFO\tupdate %d: hand-back of %s device(s) %s ms (ioctl wall), %s ms '
                      '(STATUS.release_ns summed); device blackout %.1f ms (longest)' % (
                          b['update'], b['devices'], _ms(b['release_wall_ns'], 1e6),
                          _ms(b['release_ns'], 1e6), b['blackout_us'] / 1e3))
            print('BENCH\t' + json.dumps(b, sort_keys=True))

    def bench_rows(self):
        """One dict per update that reached the next kernel's /init."""
        rows = []
        for u in range(1, self.a.updates + 1):
            kv = self.g.datum(u + 1, 'timing')
            if not kv or 'kexec_to_init_us' not in kv:
                continue
            went, hello = self.g.verb(u, 'kexec'), self.g.verb(u + 1, 'hello')
            r2i = None
            if went and hello and int(hello.get('cntfrq', '0')):
                r2i = ((int(hello['cycles']) - int(went['cycles'])) * 1e6 /
                       int(hello['cntfrq']))
            out = self.g.datum(u, 'skho_out') or {}
            inn = self.g.datum(u + 1, 'skho_in') or {}
            # Kernel u: in-jump DMA fired (reboot notifiers done) -> jump:
            # device_shutdown, where the SMMU aborts the other STEs (or is
            # disabled).  Kernel u+1: the SMMU probe's log lines, first to
            # last before /init (adoption and its per-stream messages).
            shut = self.g.kspan(u, r'in-jump DMA to .* fired', r'kexec_core: Starting new kernel')
            probe = self.g.kspan(u + 1, r'^arm-smmu-v3 ', r'^arm-smmu-v3(-kho)?[ :]',
                                 until=r'^Run /init')
            pre = bool(self.a.preserve)
            # A stock run froze only to capture digests, then aborted: it
            # hands nothing over, so its freeze is not a cost of the kexec.
            hb = self.g.datum(u + 1, 'handback_total') or {}
            # Each preserved device's blackout across the jump (QEMU trace
            # timestamps): the longest of them.
            sids = [int(kv['dev'], 16) for k, kind, kv in self.g.data
                    if k == u + 1 and kind == 'jump' and int(kv['dev'], 16) != PROBE]
            gaps = [g for g in (self.t.blackout(sid, u + 1) for sid in sids) if g is not None]
            rows.append({
                'scenario': self.a.scenario, 'update': u, 'preserve': pre,
                'devices': int(hb['devices']) if 'devices' in hb else None,
                'hitless': hb.get('hitless_asked') == '1',
                'release_ns': int(hb['release_ns']) if 'release_ns' in hb else None,
                'release_wall_ns': int(hb['wall_ns']) if 'wall_ns' in hb else None,
                'blackout_us': max(gaps) * 1e6 if gaps and len(gaps) == len(sids) else None,
                'streams': int(out.get('streams', 0)) if pre else 0,
                'freeze_ns': int(out['freeze_ns']) if pre and 'freeze_ns' in out else None,
                'fdt_len': int(out['fdt_len']) if pre and 'fdt_len' in out else None,
                'preserved_bytes': int(out['bytes']) if pre and 'bytes' in out else None,
                'adopt_ns': int(inn['adopt_ns']) if pre and 'adopt_ns' in inn else None,
                'kexec_to_init_us': int(kv['kexec_to_init_us']),
                'shutdown_us': None if shut is None else shut * 1e6,
                'smmu_probe_us': None if probe is None else probe * 1e6,
                'reboot_to_init_us': r2i,
            })
        return rows



def _hx(p):
    return '(iova %s, pa %s)' % tuple('%#x' % v if v is not None else '-' for v in p)


def _dg(d):
    return '-' if d is None else '%#x/%#x' % d


def _lf(kv):
    return '-' if not kv else 'len %s fnv %s err %s' % (kv['len'], kv['fnv'], kv['err'])


def _h(v):
    return '-' if v is None else '%#x' % v


def _fnv(b):
    """FNV-1a 64, as guest/init.c sums FDT blobs."""
    h = 0xcbf29ce484222325
    for c in b:
        h = ((h ^ c) * 0x100000001b3) & 0xffffffffffffffff
    return h


def _first_diff(a, b):
    if a is None or b is None:
        return 'missing'
    i = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
    return 'byte %d differs (%s, want %s)' % (i, a[i:i + 1].hex() or '-', b[i:i + 1].hex() or '-')


def _ms(v, div):
    return '-' if v is None else '%.2f' % (v / div)


def bench_report(path):
    """The vm-bench table from BENCH lines (medians per scenario)."""
    rows = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                b = json.loads(line)
                rows.setdefault(b['scenario'], []).append(b)
    if not rows:
        print('vm-bench: no measurements (see the logs above)')
        return 1

    def vals(rs, key, div):
        return [r[key] / div for r in rs if r.get(key) is not None]

    def med(rs, key, div=1.0):
        v = vals(rs, key, div)
        return statistics.median(v) if v else None

    def f(v, fmt='%.1f'):
        return '-' if v is None else fmt % v

    def ovh(v, b):
        return '-' if v is None or not b else '%+.1f%%' % ((v - b) * 100.0 / b)

    base = next((rs for rs in rows.values() if not rs[0]['preserve']), None)
    b_k2i = med(base, 'kexec_to_init_us', 1e3) if base else None
    b_r2i = med(base, 'reboot_to_init_us', 1e3) if base else None
    b_shut = med(base, 'shutdown_us', 1e3) if base else None
    b_probe = med(base, 'smmu_probe_us', 1e3) if base else None

    def est(rs):
        """Overhead from the parts preservation adds, less noisy than the
        end-to-end difference: the reboot notifier's re-snapshot (as long
        as a FREEZE), the longer shutdown and the longer SMMU probe."""
        parts = (med(rs, 'freeze_ns', 1e6), med(rs, 'shutdown_us', 1e3),
                 med(rs, 'smmu_probe_us', 1e3))
        if None in parts or None in (b_shut, b_probe) or not b_k2i:
            return None
        return parts[0] + max(parts[1] - b_shut, 0) + max(parts[2] - b_probe, 0)
    order = sorted(rows.items(), key=lambda kv: (kv[1][0]['preserve'],
                                                  med(kv[1], 'streams') or 0))
    fmt = '%-18s %7s %2s %7s %7s %7s %7s %7s %8s %13s %7s %7s'
    hdr = fmt % ('scenario', 'streams', 'n', 'freeze', 'shutdn', 'probe', 'adopt', 'FDT/st',
                 'preservd', 'notif>init', 'ovh', 'est')
    print('vm-bench: one live update per run, medians of n runs (interleaved); ms on the '
          'guest clock (CNTVCT), QEMU TCG')
    print(hdr)
    print('-' * len(hdr))
    at1024 = None
    for name, rs in order:
        pre = rs[0]['preserve']
        st = med(rs, 'streams') if pre else 0
        k2i, r2i = med(rs, 'kexec_to_init_us', 1e3), med(rs, 'reboot_to_init_us', 1e3)
        fdt, pb = med(rs, 'fdt_len'), med(rs, 'preserved_bytes', 1024.0)
        k = vals(rs, 'kexec_to_init_us', 1e3)
        print(fmt % (name[:18], f(st, '%d'), len(rs), f(med(rs, 'freeze_ns', 1e6), '%.2f'),
                     f(med(rs, 'shutdown_us', 1e3), '%.2f'),
                     f(med(rs, 'smmu_probe_us', 1e3), '%.2f'),
                     f(med(rs, 'adopt_ns', 1e6), '%.2f'),
                     f(fdt / st if fdt is not None and st else None, '%.1fB'),
                     f(pb, '%dKiB'), '%s %s' % (f(k2i, '%.0f'), '[%.0f-%.0f]' % (min(k), max(k))),
                     ovh(k2i, b_k2i) if pre else 'base',
                     (ovh(b_k2i + est(rs), b_k2i) if est(rs) is not None else '-') if pre
                     else 'base'))
        if pre and st == 1024:
            at1024 = (k2i, r2i, est(rs))
    print('target: < 2% of kexec-to-init at 1,024 streams; cost grows with preserved state, '
          'not stream-table size')
    if at1024 and b_k2i:
        k = vals(base, 'kexec_to_init_us', 1e3)
        print('at 1,024 streams: %s of notifier->init end to end (%s counting from reboot()), '
              '%s estimated from its parts (%s ms); base spread %.0f-%.0f ms (%.0f%% of its '
              'median): not asserted' % (
                  ovh(at1024[0], b_k2i), ovh(at1024[1], b_r2i),
                  '-' if at1024[2] is None else ovh(b_k2i + at1024[2], b_k2i),
                  f(at1024[2]), min(k), max(k), (max(k) - min(k)) * 100.0 / b_k2i))
    handback_report(rows, med, f)
    print('freeze: FREEZE ioctl (STATUS.freeze_ns; the reboot notifier re-takes the snapshot '
          'before notif>init starts: counted in est and reboot() figures); shutdn: kernel U printk time from the in-jump DMA '
          '(reboot notifiers done) to "Starting new kernel"; probe: kernel U+1 printk span of '
          'the SMMU probe\'s log lines; adopt: validate+adopt in probe (STATUS.adopt_ns); '
          'FDT/st: GET_FDT(OUT) bytes per stream; preservd: KHO-preserved table bytes; '
          'notif>init: reboot notifier -> next /init [min-max]; ovh: its median vs base; '
          'est: (freeze + shutdn and probe above base) / base notif>init; preservd, FDT/st: '
          'of the outgoing snapshot.')
    return 0


def handback_report(rows, med, f):
    """The hand-back rows: scenarios that handed their devices back hitlessly,
    after the stock baseline's blackout (its DMA during the jump is lost)."""
    hb = [(name, rs) for name, rs in sorted(rows.items(), key=lambda kv: kv[1][0].get('devices') or 0)
          if rs[0].get('hitless')]
    if not hb:
        return
    hb = [(name, rs) for name, rs in rows.items() if not rs[0]['preserve']][:1] + hb
    fmt = '%-22s %4s %2s %17s %9s %10s %12s %11s'
    hdr = fmt % ('hand-back scenario', 'devs', 'n', 'release [min-max]', 'rel.wall', 'blackout',
                 'rel/blackout', 'blk/n>init')
    print('hand-back (RELEASE without REPLACE, hitless) and the device blackout across the jump, '
          'medians of n runs')
    print(hdr)
    print('-' * len(hdr))
    for name, rs in hb:
        rel, wall = med(rs, 'release_ns', 1e6), med(rs, 'release_wall_ns', 1e6)
        blk, k2i = med(rs, 'blackout_us', 1e3), med(rs, 'kexec_to_init_us', 1e3)
        rv = [r['release_ns'] / 1e6 for r in rs if r.get('release_ns') is not None]
        print(fmt % (name[:22], f(rs[0].get('devices'), '%d'), len(rs),
                     '%.2f [%.1f-%.1f]' % (rel, min(rv), max(rv)) if rv else '-',
                     f(wall, '%.3f'), f(blk, '%.0f'),
                     f(wall / blk * 100 if wall is not None and blk else None, '%.3f%%'),
                     f(blk / k2i if blk is not None and k2i else None, '%.2fx')))
    print('release: STATUS.release_ns summed over the devices (ms); rel.wall: the RELEASE '
          'ioctls\' wall time in the guest (ms, CLOCK_MONOTONIC); blackout: per device, the '
          'gap between its last completed DMA before the jump and its first after (QEMU '
          'trace timestamps, host clock; ms), the longest device; rel/blackout: the '
          'hand-back\'s share of it; blk/n>init: blackout over notifier->init (guest clock); '
          'stock: no hand-back, its DMA during the jump is lost, so its gap starts at its '
          'last round trip before the jump.')


# ---- self-test: the checks fail on doctored evidence -------------------------

def _fdt_build(root_props, nodes):
    """A minimal FDT v17 writer: root properties and {node name: props}."""
    strings, soff, st = b'', {}, b''

    def prop(name, val):
        nonlocal strings
        if name not in soff:
            soff[name] = len(strings)
            strings += name.encode() + b'\0'
        v = val + b'\0' * (-len(val) % 4)
        return struct.pack('>III', 3, len(val), soff[name]) + v

    def node(name, props):
        n = name.encode() + b'\0'
        return (struct.pack('>I', 1) + n + b'\0' * (-len(n) % 4) +
                b''.join(prop(k, v) for k, v in props.items()))
    st = node('', root_props)
    for name, props in nodes.items():
        st += node(name, props) + struct.pack('>I', 2)
    st += struct.pack('>II', 2, 9)
    off_rsv = 40
    off_st = off_rsv + 16
    off_str = off_st + len(st)
    total = off_str + len(strings)
    hdr = struct.pack('>10I', 0xd00dfeed, total, off_st, off_str, off_rsv, 17, 16, 0,
                      len(strings), len(st))
    return hdr + b'\0' * 16 + st + strings


def _leb(n):
    out = b''
    while True:
        c, n = n & 0x7f, n >> 7
        out += bytes([c | (0x80 if n else 0)])
        if not n:
            return out


class _Synth:
    """One preserve update (kernel 1 -> 2) as a witness would record it:
    2-level stream table (SPLIT 8), SID 0x10 stage 1 with a linear CD table
    and a 4-level 4 KiB page table; every other STE abort, except SID 0x18
    which kernel 2 rewrote (CMD_CFGI_STE in the trace)."""
    L1, L2, CD, PT = 0x40100000, 0x40104000, 0x40110000, 0x40120000
    BASE, CFG = 0x40100000 | 1 << 62, 1 << 16 | 8 << 6 | 16

    def __init__(self):
        self.ste = struct.pack('<8Q', 1 | 5 << 1 | self.CD, 0x8, 0, 0, 0, 0, 0, 0)
        self.mem = {}
        self.mem[self.L1] = bytearray(4096)
        struct.pack_into('<Q', self.mem[self.L1], 0, self.L2 | 9)
        l2 = bytearray()
        for sid in range(256):
            l2 += self.ste if sid == DUT else struct.pack('<8Q', 1, 0, 0, 0, 0, 0, 0, 0)
        self.mem[self.L2] = l2
        cd = bytearray(4096)
        struct.pack_into('<QQ', cd, 0, 16 | 1 << 31 | 5 << 32 | 1 << 41 | 1 << 48, self.PT)
        self.mem[self.CD] = cd
        pt = bytearray(4 * 4096)
        for lvl in range(3):
            struct.pack_into('<Q', pt, lvl * 4096, (self.PT + (lvl + 1) * 4096) | 3)
        struct.pack_into('<Q', pt, 3 * 4096, 0x40200000 | 0x403)
        self.mem[self.PT] = pt
        runs = [(self.L1, 1), (self.L2, 4), (self.CD, 1), (self.PT, 4)]
        rng, page = b'', 0
        for pa, n in runs:
            rng += _leb(pa // 4096 - page) + _leb(n - 1)
            page = pa // 4096 + n
        self.fdt = _fdt_build(
            {'compatible': b'smmu-kho-v3\0', 'smmu-kho,abi-minor': struct.pack('>I', 0)},
            {'smmu@9050000': {
                'reg': struct.pack('>Q', 0x9050000),
                'strtab-base': struct.pack('>Q', self.BASE),
                'strtab-base-cfg': struct.pack('>I', self.CFG),
                'features': struct.pack('>I', 1), 'oas': struct.pack('>I', 44),
                'preserved-ranges': rng,
                'output-ranges': _leb(0x40200000 // 4096) + _leb(0),
                'streams': struct.pack('>IQQ', DUT, 1, 2) + self.ste,
                'page-tables': struct.pack('>QBBBBBBHQ', self.PT, 1, 12, 0, 48, 44, 1, 0, 3),
                'asids': struct.pack('>I', 1), 'vmids': b''}})
        self.trace = [
            'pci_cfg_write edu 00:02.0 @0xfc <- 0x5e000130',     # 0 witness window (k1) begins
            'pci_cfg_write edu 00:02.0 @0xfc <- 0x5e000131',     # 1 ... ends
            'pci_cfg_write edu 00:02.0 @0xfc <- 0x5e000110',     # 2 in-jump DMA fired
            'smmuv3_write_mmio addr: 0x20 val:0xd size: 0x4(0)',  # 3 kernel 1 shutdown
            'smmuv3_read_mmio addr: 0x0 val:0xd44101b size: 0x4(0)',  # 4 kernel 2 probe
            'smmuv3_write_mmio addr: 0x20 val:0xd size: 0x4(0)',  # 5 kernel 2 re-arms queues
            'smmuv3_cmdq_cfgi_ste streamid= 0x18',                # 6 kernel 2 writes SID 0x18
            'pci_cfg_write edu 00:02.0 @0xfc <- 0x5e000201',     # 7 edu_dma loaded in kernel 2
            'pci_cfg_write edu 00:02.0 @0xfc <- 0x5e000232',     # 8 witness window (k2) begins
            'pci_cfg_write edu 00:02.0 @0xfc <- 0x5e000233',     # 9 ... ends
        ]
        self.stop = {'before': 1, 'after': 9}       # trace lines at the stop
        self.resumed = {'before': False, 'after': False}
        self.regs = {ph: {'cr0': 0xd, 'strtab_base': self.BASE, 'strtab_base_cfg': self.CFG}
                     for ph in ('before', 'after')}
        self.after = {pa: bytearray(b) for pa, b in self.mem.items()}
        # Kernel 2 gave SID 0x18 a stage-1 STE of its own.
        struct.pack_into('<Q', self.after[self.L2], 64 * 0x18, 1 | 5 << 1 | 0x40300000)
        self.before = {pa: bytearray(b) for pa, b in self.mem.items()}
        self.drop_hex = False
        self.missing = set()

    def write(self, d):
        blob = self.fdt
        ser = ['SKHOVM k=1 data fdt_out len=%d fnv=%#x err=0 streams_err=0' % (
            len(blob), _fnv(blob))]
        for off in range(0, len(blob), 100):
            if self.drop_hex and off == 100:
                continue
            ser.append('SKHOVM k=1 data fdthex which=out off=%d len=%d hex=%s' % (
                off, len(blob), blob[off:off + 100].hex()))
        with open(os.path.join(d, 'serial'), 'w') as f:
            f.write('\n'.join(ser) + '\n')
        with open(os.path.join(d, 'trace'), 'w') as f:
            f.write('\n'.join(self.trace) + '\n')
        for ph, mem in (('before', self.before), ('after', self.after)):
            if ph in self.missing:
                continue
            wd = os.path.join(d, 'w', 'u1-' + ph)
            os.makedirs(wd)
            regions, data = [], b''
            for pa in sorted(mem):
                regions.append([pa, len(mem[pa]), len(data)])
                data += bytes(mem[pa])
            with open(os.path.join(wd, 'memory.bin'), 'wb') as f:
                f.write(data)
            with open(os.path.join(wd, 'index.json'), 'w') as f:
                json.dump({'k': 1 if ph == 'before' else 2, 'u': 1, 'phase': ph,
                           'status': 'paused', 'trace_lines': self.stop[ph],
                           'resumed_before_stop': self.resumed[ph], 'regions': regions,
                           'regs': {'smmu@9050000': self.regs[ph]}}, f)


def _flip(mem, pa, off):
    mem[pa][off] ^= 0x40


def self_test():
    """Every witness and CR0 check passes on the synthetic update and fails
    on each doctored copy; exit status 1 otherwise."""
    S = _Synth
    checks = {
        'dumps_inside_windows': lambda c: c.wit_windows(1),
        'registers_match': lambda c: c.wit_regs(1),
        'stes_before': lambda c: c.wit_stes(1, 'before'),
        'stes_after': lambda c: c.wit_stes(1, 'after'),
        'other_stes_abort': lambda c: c.wit_other_abort(1),
        'tables_identical': lambda c: c.wit_tables(1),
        'every_leaf_maps_output': lambda c: c.wit_outputs(1),
        'smmu_stays_on': lambda c: c.tr_smmu_stays_on(1),
    }
    ste10 = 64 * DUT
    cases = [
        # (what is doctored, check that must fail, how)
        ('one byte of SID 0x10 STE after adoption', 'stes_after',
         lambda s: _flip(s.after, S.L2, ste10 + 9)),
        ('one byte of SID 0x10 STE before the jump', 'stes_before',
         lambda s: _flip(s.before, S.L2, ste10 + 63)),
        ('L1STD of SIDs 0..255 cleared after adoption', 'stes_after',
         lambda s: struct.pack_into('<Q', s.after[S.L1], 0, 0)),
        ('SID 0x20 left live (bypass) after adoption', 'other_stes_abort',
         lambda s: struct.pack_into('<Q', s.after[S.L2], 64 * 0x20, 1 | 4 << 1)),
        ('SID 0x18 live but kernel 2 never wrote it (no CFGI_STE)', 'other_stes_abort',
         lambda s: s.trace.__setitem__(6, 'smmuv3_cmdq_consume')),
        ('one page-table byte after adoption', 'tables_identical',
         lambda s: _flip(s.after, S.PT, 3 * 4096 + 2)),
        ('one CD byte after adoption', 'tables_identical',
         lambda s: _flip(s.after, S.CD, 40)),
        ('CD.TTB0 pointing at an unlisted table after adoption', 'tables_identical',
         lambda s: _flip(s.after, S.CD, 12)),
        ('a table page missing from the dump', 'tables_identical',
         lambda s: s.after.__setitem__(S.PT, s.after[S.PT][:2 * 4096])),
        ('live STRTAB_BASE moved after adoption', 'registers_match',
         lambda s: s.regs['after'].__setitem__('strtab_base', S.BASE + 0x10000)),
        ('SMMUEN clear in the live CR0 before the jump', 'registers_match',
         lambda s: s.regs['before'].__setitem__('cr0', 0xc)),
        ('no CR0 write in the jump window', 'smmu_stays_on',
         lambda s: s.trace.__setitem__(slice(0, None), [ln for ln in s.trace
                                                          if 'addr: 0x20' not in ln])),
        ('CR0 write with SMMUEN=0 in the jump window', 'smmu_stays_on',
         lambda s: s.trace.__setitem__(3, 'smmuv3_write_mmio addr: 0x20 val:0xc size: 0x4(0)')),
        ('no CR0 write by the next kernel after its probe', 'smmu_stays_on',
         lambda s: s.trace.__setitem__(5, 'smmuv3_cmdq_consume')),
        ('in-jump fire mark missing', 'smmu_stays_on',
         lambda s: s.trace.__setitem__(2, 'smmuv3_cmdq_consume')),
        ('next kernel load mark missing', 'smmu_stays_on',
         lambda s: s.trace.__setitem__(7, 'smmuv3_cmdq_consume')),
        ('after dump taken once the window was over', 'dumps_inside_windows',
         lambda s: s.stop.__setitem__('after', 10)),
        ('before dump taken before the window began', 'dumps_inside_windows',
         lambda s: s.stop.__setitem__('before', 0)),
        ('guest had resumed when the VM stopped', 'dumps_inside_windows',
         lambda s: s.resumed.__setitem__('before', True)),
        ('window end mark missing', 'dumps_inside_windows',
         lambda s: s.trace.__setitem__(9, 'smmuv3_cmdq_consume')),
        ('after dump missing', 'stes_after', lambda s: s.missing.add('after')),
        ('after dump missing', 'other_stes_abort', lambda s: s.missing.add('after')),
        ('after dump missing', 'tables_identical', lambda s: s.missing.add('after')),
        ('after dump missing', 'dumps_inside_windows', lambda s: s.missing.add('after')),
        ('a chunk of the printed FDT missing', 'stes_before',
         lambda s: setattr(s, 'drop_hex', True)),
        ('a leaf redirected outside output-ranges after adoption', 'every_leaf_maps_output',
         lambda s: struct.pack_into('<Q', s.after[S.PT], 3 * 4096, 0x40300000 | 0x403)),
        ('a second leaf added on an unlisted page after adoption', 'every_leaf_maps_output',
         lambda s: struct.pack_into('<Q', s.after[S.PT], 3 * 4096 + 8, 0x7f000000 | 0x403)),
        ('after dump missing', 'every_leaf_maps_output', lambda s: s.missing.add('after')),
    ]
    tmp = tempfile.mkdtemp(prefix='skho-selftest.')
    bad = 0

    def run(synth):
        d = tempfile.mkdtemp(dir=tmp)
        synth.write(d)
        a = argparse.Namespace(serial=os.path.join(d, 'serial'), trace=os.path.join(d, 'trace'),
                               witness=os.path.join(d, 'w'), stage=1, updates=1)
        return Checks(a)
    try:
        c = run(_Synth())
        for name, fn in checks.items():
            ok, detail = fn(c)
            print('%s good evidence: %s passes: %s' % ('ok  ' if ok else 'FAIL', name, detail))
            bad += not ok
        for what, name, doctor in cases:
            s = _Synth()
            doctor(s)
            ok, detail = checks[name](run(s))
            print('%s doctored (%s): %s fails: %s' % ('FAIL' if ok else 'ok  ', what, name,
                                                     detail))
            bad += ok
        # vm-bench's blackout: timestamped trace lines give the gap across
        # kernel 2's LOADED mark; without -msg timestamp=on there is none.
        p = os.path.join(tmp, 'stamped')
        lines = ['7@100.000000:smmuv3_translate_success smmuv3-iommu-memory-region-16-0 '
                 'sid=0x10 iova=0xff00000 translated=0x40000000 perm=0x3 stage=2',
                 '7@101.250000:pci_cfg_write edu 00:02.0 @0xfc <- 0x5e000201 len 4',
                 '7@102.500000:smmuv3_translate_success smmuv3-iommu-memory-region-16-0 '
                 'sid=0x10 iova=0xff00800 translated=0x40000800 perm=0x3 stage=2']
        for stamped, want in ((True, 2.5), (False, None)):
            with open(p, 'w') as f:
                f.write('\n'.join(ln if stamped else ln.partition(':')[2] for ln in lines))
            got = Trace(p).blackout(DUT, 2)
            ok = got == want if want is None else got is not None and abs(got - want) < 1e-6
            print('%s blackout from %s trace: %s (want %s)' % ('ok  ' if ok else 'FAIL',
                  'a timestamped' if stamped else 'an unstamped', got, want))
            bad += not ok
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    n = len(checks) + len(cases) + 2
    print('self-test: %d/%d as expected (%d checks pass on good evidence, %d doctored cases '
          'fail, 2 blackout parses)' % (n - bad, n, len(checks), len(cases)))
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--serial')
    ap.add_argument('--trace')
    ap.add_argument('--witness', default='',
                    help='directory of the QMP dumps tests/vm/witness.py took (preserve runs); '
                    '"-": none taken on purpose (vm-bench), the witness checks are left out')
    ap.add_argument('--self-test', action='store_true',
                    help='show that the witness and trace checks fail on doctored evidence')
    ap.add_argument('--bench-report', metavar='FILE',
                    help='print the vm-bench table from BENCH json lines in FILE')
    ap.add_argument('--scenario', default='')
    ap.add_argument('--updates', type=int, default=1)
    ap.add_argument('--stage', type=int, default=1)
    ap.add_argument('--preserve', type=int, default=0)
    ap.add_argument('--keep', type=int, default=0,
                    help='1: 00:02.0 is not released between updates')
    ap.add_argument('--bench-streams', type=int, default=0,
                    help='smmu_kho.ko bench_streams= of the run (0: none)')
    ap.add_argument('--smmu-kho', type=int, default=0,
                    help='1: smmu_kho.ko is in the guest (stock runs use it too)')
    ap.add_argument('--qemu-rc', type=int, default=0)
    args = ap.parse_args()
    if args.bench_report:
        return bench_report(args.bench_report)
    if args.self_test:
        return self_test()
    if not (args.serial and args.trace):
        ap.error('--serial and --trace are required')
    else:
        Checks(args).run()
    return 0


if __name__ == '__main__':
    sys.exit(main())
