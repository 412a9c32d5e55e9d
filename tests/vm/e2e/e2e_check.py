#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Judge one end-to-end VM run of smmu-khod (tests/vm/e2e/e2e.sh).

Input: the serial console log, where tests/vm/e2e/guest_init.c printed
"SKHOE2E k=K <verb> ..." lines through /dev/kmsg next to the kernel's log,
smmu-khod's stderr and the progress of `smmu-khoctl update`; and QEMU's
trace log (smmuv3_translate_*, smmuv3_record_event, smmuv3_write_mmio,
pci_cfg_write).  The guest cannot forge the trace: DMA checks need the
guest's data (what is in memory) and the trace (what the SMMU translated).
Output, one line per check:
    RESULT <tab> ok|fail <tab> <name> <tab> <detail>
    INFO <tab> <text>
A check whose evidence is missing fails; nothing passes by default.

--mode preserve: the real live update; --mode lose: the negative control
(smmu-khod's SKHOD_FAULT=abort-before-jump), which must end FAILED naming
SID 0x10 and on which the positive checks must fail.
--print-output TAG prints the captured output of one smmu-khoctl command
and --print-story the update's progress across both kernels (`make demo`).
"""
import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# tests/vm/vmtrace.py: the one parser of QEMU's trace (events, edu_dma.ko marks, windows)
from vmtrace import (DUT, HALF, PAGE_MASK, MARK_LOADED, MARK_JUMP_FIRE,  # noqa: E402
                     MARK_RAW_BEGIN, MARK_RAW_END, Trace, guest_lines, sid_events)

DUT_PCI = '0000:00:02.0'
WORDS = HALF // 4               # 32-bit pattern words per half page
PAGE_WORDS = 1024

RE_GUEST = re.compile(r'SKHOE2E k=(\d+) (\w+) ?(.*)$')   # e2e/guest_init.c's say()
RE_KV = re.compile(r'(\w+)=("[^"]*"|\S+)')
RE_TIME = re.compile(r'^\[\s*\d+\.\d+\] ')
RE_BAD = re.compile(r'Oops|BUG:|WARNING:|Kernel panic|Unable to handle kernel')


def kv(rest):
    return {k: v.strip('"') for k, v in RE_KV.findall(rest)}


class Serial:
    def __init__(self, path):
        with open(path, errors='replace') as f:
            # Without the printk timestamp, if the kernel adds one.
            self.lines = [RE_TIME.sub('', l.rstrip('\r\n').replace('\r', '')) for l in f]
        self.text = '\n'.join(self.lines)
        self.data = {}          # (k, kind) -> kv of the first such line
        self.out = {}           # (k, tag) -> [lines]
        self.rc = {}            # (k, tag) -> rc
        self.hello = {}         # k -> line index
        self.verbs = {}         # (k, verb) -> kv
        for i, k, verb, rest in guest_lines(self.lines, RE_GUEST):
            if verb == 'out':
                tag, _, text = rest.partition(' | ')
                self.out.setdefault((k, tag[4:]), []).append(text)
            elif verb == 'rc':
                d = kv(rest)
                self.rc.setdefault((k, d.get('tag')), int(d.get('rc', '-999')))
            elif verb == 'data':
                kind, _, more = rest.partition(' ')
                self.data.setdefault((k, kind), kv(more))
            else:
                if verb == 'hello':
                    self.hello.setdefault(k, i)
                self.verbs.setdefault((k, verb), kv(rest))

    def section(self, k):
        """Console lines from kernel k's /init hello to the next kernel's."""
        a = self.hello.get(k)
        if a is None:
            return []
        b = self.hello.get(k + 1, len(self.lines))
        return self.lines[a:b]

    def json(self, k, tag):
        lines = self.out.get((k, tag))
        if not lines:
            return None
        try:
            return json.loads('\n'.join(lines))
        except ValueError:
            return None


def _i(d, key, default=-1):
    try:
        return int(d.get(key, ''), 0)
    except (ValueError, AttributeError):
        return default


class Checks:
    def __init__(self, s, t, qemu_rc):
        self.s, self.t, self.qemu_rc = s, t, qemu_rc

    # -- shared evidence --
    def after_jump(self):
        """Kernel 2's `smmu-khoctl status --json` right after the jump:
        (document or None, its rc, its verification, its kernel part)."""
        j = self.s.json(2, 'json_after_jump')
        return (j, self.s.rc.get((2, 'json_after_jump')), (j or {}).get('verification') or {},
                (j or {}).get('kernel') or {})

    def snapshot_streams(self):
        """N from kernel 1's `update` progress "snapshot: N streams on ..."."""
        m = re.search(r'update: snapshot: (\d+) streams on (\d+) SMMU', '\n'.join(self.s.section(1)))
        return int(m.group(1)) if m else None

    def update_flow(self):
        """`smmu-khoctl update` drove the whole update and the jump happened."""
        sec = '\n'.join(self.s.section(1))
        start = self.s.data.get((1, 'update_start'))
        want = ['update: arming the plan', 'update: preserving ' + DUT_PCI,
                'update: freezing the translation state', 'update: snapshot: ',
                'update: loading /Image (kexec_file_load)',
                'update: journal memfd preserved in LUO session smmu-khod',
                'update: jumping into /Image', 'Starting new kernel']
        pos, missing = 0, []
        for w in want:
            p = sec.find(w, pos)
            if p < 0:
                missing.append(w)
            else:
                pos = p
        hello2 = self.s.verbs.get((2, 'hello'), {})
        kho = hello2.get('kho_in') == '1' and 'found kexec handover data' in self.s.text
        urc = self.s.rc.get((1, 'update'))
        ok = start is not None and not missing and kho and urc in (None, 0)
        return ok, ('update started=%s, progress missing/out of order: %s, kernel 2 '
                    'kho_in=%s handover found=%s, smmu-khoctl update rc=%s' % (
                        start is not None, missing or 'none', hello2.get('kho_in', '-'),
                        'found kexec handover data' in self.s.text,
                        'none (jumped first)' if urc is None else urc))

    def recovered_via_luo(self):
        sd = self.s.data.get((2, 'statedir_before_khod'), {})
        sec = '\n'.join(self.s.section(2))
        m = re.search(r'smmu-khod: info: journal (\S+) seq (\d+) from (\w+): (\w+)', sec)
        ready = self.s.data.get((2, 'khod_ready'), {})
        r = re.search(r'smmu-khod: notice: ready: .*\(journal from (\w+)\)', sec)
        # An empty tmpfs before the daemon started: only LUO can have
        # carried the journal, and the daemon says it found it there, in
        # state PRESERVED (the state committed before the jump).
        ok = (_i(sd, 'entries') == 0 and m is not None and m.group(3) == 'luo' and
              m.group(4) == 'PRESERVED' and ready.get('ready') == '1' and
              r is not None and r.group(1) == 'luo')
        return ok, ('state dir entries before start=%s; daemon: %s; ready=%s (%s)' % (
            sd.get('entries', '-'), m.group(0) if m else 'no "journal ... from" line',
            ready.get('ready', '-'), r.group(0) if r else 'no ready line'))

    def status_verified(self):
        j, rc, v, k = self.after_jump()
        if j is None:
            return False, 'no parsable `smmu-khoctl status --json` output (rc=%s)' % rc
        ok = (rc == 0 and j.get('state') == 'VERIFIED' and j.get('verdict') == 'PASS' and
              v.get('nr_failed') == 0 and v.get('nr_streams', 0) >= 1 and
              v.get('nr_ok') == v.get('nr_streams') and j.get('backend') == 'real' and
              k.get('available') is True and k.get('in_state') == 'ADOPTED')
        return ok, ('rc=%s state=%s verdict=%s verification="%s" kernel in_state=%s backend=%s' % (
            rc, j.get('state'), j.get('verdict'), v.get('summary'), k.get('in_state'),
            j.get('backend')))

    def zero_lost(self):
        n = self.snapshot_streams()
        j, _, v, k = self.after_jump()
        if j is None or n is None:
            return False, 'missing: snapshot count from `update` (%s) or status json' % n
        bad = [r for r in v.get('results', []) if r.get('outcome') != 'unexpected']
        # Every stream frozen before the jump was journaled, handed over,
        # adopted and verified intact: the same N everywhere, 0 lost/refused.
        ok = (n >= 1 and j.get('nr_streams') == n and v.get('nr_streams') == n and
              v.get('nr_ok') == n and v.get('nr_lost') == 0 and not bad and
              k.get('nr_in_streams') == n and k.get('nr_adopted') == n and
              k.get('nr_refused') == 0)
        return ok, ('frozen before the jump=%d journaled=%s verified ok=%s lost=%s; kernel: '
                    'handed over=%s adopted=%s refused=%s; failing results=%d' % (
                        n, j.get('nr_streams'), v.get('nr_ok'), v.get('nr_lost'),
                        k.get('nr_in_streams'), k.get('nr_adopted'), k.get('nr_refused'),
                        len(bad)))

    def dma_evidence(self):
        """(guest facts, trace facts) about the in-jump and post-jump DMA."""
        buf = self.s.data.get((1, 'buf'), {})
        iova, pa = _i(buf, 'iova'), _i(buf, 'pa')
        rt = self.s.data.get((1, 'roundtrip'), {})
        rec = self.s.data.get((2, 'record'), {})
        jump = self.s.data.get((2, 'jump'), {})
        raw = self.s.data.get((2, 'raw'), {})
        rawdma = self.s.data.get((2, 'raw_dma'), {})
        g = dict(iova=iova, pa=pa, rt=_i(rt, 'words'),
                 rec_ok=(_i(rec, 'kernel') == 1 and _i(rec, 'iova') == iova and
                         _i(rec, 'pa') == pa and rec.get('restored') == '1'),
                 jump_new=_i(jump, 'new'), jump_old=_i(jump, 'old'),
                 raw_new=_i(raw, 'new'), raw_old=_i(raw, 'old'),
                 raw_ret=_i(rawdma, 'ret'))
        w = self.t.mark_window((DUT, 1, MARK_JUMP_FIRE), (DUT, 2, MARK_LOADED))
        r = self.t.mark_window((DUT, 2, MARK_RAW_BEGIN), (DUT, 2, MARK_RAW_END))
        tr = dict(jump_window=w is not None, raw_window=r is not None)
        if w is not None:
            ts = sid_events(w, 'ts', DUT)
            tr['jump_ts'] = len(ts)
            tr['jump_ts_page'] = len([e for e in ts if e[2] & PAGE_MASK == iova and
                                      e[3] & PAGE_MASK == pa])
            tr['jump_faults'] = len(sid_events(w, 'fault', DUT))
            tr['cr0_off'] = len([e for e in w if e[0] == 'cr0' and not e[1] & 1])
        if r is not None:
            ts = sid_events(r, 'ts', DUT)
            tr['raw_ts'] = len(ts)
            tr['raw_ts_exact'] = len([e for e in ts if e[2] == iova + HALF and
                                      e[3] == pa + HALF])
            tr['raw_faults'] = len(sid_events(r, 'fault', DUT))
        return g, tr

    def dma_continuous(self):
        g, tr = self.dma_evidence()
        vrc = self.s.rc.get((2, 'verify_after_dma'))
        # Guest: the round trip before the update moved all 1024 words; the
        # DMA fired during the jump wrote all 512 words of page[0,2K), and a
        # DMA at the old IOVA after the jump (no new mapping) all 512 of
        # page[2K,4K).  Trace: both translated IOVA -> the same PA through
        # SID 0x10, no fault for it, SMMUEN never cleared during the jump;
        # the daemon re-verifies after the second DMA (rc 0).
        ok = (g['rt'] == PAGE_WORDS and g['rec_ok'] and g['jump_new'] == WORDS and
              g['raw_ret'] == 0 and g['raw_new'] == WORDS and
              tr.get('jump_ts_page', 0) >= 1 and tr.get('jump_ts_page') == tr.get('jump_ts') and
              tr.get('jump_faults') == 0 and tr.get('cr0_off') == 0 and
              tr.get('raw_ts_exact', 0) >= 1 and tr.get('raw_faults') == 0 and vrc == 0)
        return ok, ('guest: iova=%#x pa=%#x roundtrip=%d/%d record=%s jump=%d/%d (old %d) '
                    'post-jump=%d/%d (ret %d); trace: jump window %s: %s/%s translate_success '
                    'sid=0x10 to the page, %s faults, %s CR0 writes with SMMUEN=0; post-jump '
                    'window %s: %s exact translate_success, %s faults; verify rc=%s' % (
                        g['iova'], g['pa'], g['rt'], PAGE_WORDS, g['rec_ok'], g['jump_new'],
                        WORDS, g['jump_old'], g['raw_new'], WORDS, g['raw_ret'],
                        tr['jump_window'], tr.get('jump_ts_page', '-'), tr.get('jump_ts', '-'),
                        tr.get('jump_faults', '-'), tr.get('cr0_off', '-'), tr['raw_window'],
                        tr.get('raw_ts_exact', '-'), tr.get('raw_faults', '-'), vrc))

    def finish_released(self):
        n = self.snapshot_streams()
        j = self.s.json(2, 'json_after_finish')
        frc = self.s.rc.get((2, 'finish'))
        if j is None:
            return False, 'no status json after finish (finish rc=%s)' % frc
        k = j.get('kernel') or {}
        # finish RELEASEd every adopted stream: the kernel's incoming state
        # is RELEASED with all N released, the update FINISHED with PASS.
        ok = (frc == 0 and n is not None and n >= 1 and j.get('state') == 'FINISHED' and
              j.get('verdict') == 'PASS' and k.get('in_state') == 'RELEASED' and
              k.get('nr_released') == n)
        return ok, 'finish rc=%s; then state=%s verdict=%s kernel in_state=%s released=%s of %s' % (
            frc, j.get('state'), j.get('verdict'), k.get('in_state'), k.get('nr_released'), n)

    def checked_finish_refused(self):
        """Plain `finish` (hitless or refused) on edu_dma's fresh DMA domain:
        the kernel refuses (EXDEV) naming the first differing IOVA, the
        stream stays adopted, the update VERIFIED; smmu-khoctl exits 10."""
        frc = self.s.rc.get((2, 'finish_checked'))
        j = self.s.json(2, 'json_after_refused_finish')
        if j is None:
            return False, 'no status json after the checked finish (rc=%s)' % frc
        k, h = j.get('kernel') or {}, j.get('handback') or {}
        why = k.get('release_why', '')
        ok = (frc == 10 and j.get('state') == 'VERIFIED' and k.get('in_state') == 'ADOPTED' and
              k.get('release_error') == -18 and 'IOVA 0x' in why and h.get('refused') is True and
              h.get('refused_device') == '0000:00:02.0' and h.get('replace') is False)
        return ok, 'finish rc=%s; then state=%s in_state=%s release_error=%s why=%r handback=%s' % (
            frc, j.get('state'), k.get('in_state'), k.get('release_error'), why[:100], h)

    def clean_end(self):
        bye = self.s.verbs.get((2, 'bye'))
        ex = self.s.data.get((2, 'khod_exit'), {})
        bad = [l for l in self.s.lines if RE_BAD.search(l)]
        # smmu-khod logs an error for every failed operation and every
        # invariant it finds violated against the real kernel (I8-I11).
        errs = [l for l in self.s.lines if l.startswith('smmu-khod: error:')]
        ok = (bye is not None and self.qemu_rc == 0 and not bad and not errs and
              ex.get('rc') == '0')
        return ok, ('kernel 2 bye=%s qemu rc=%s smmu-khod exit=%s, daemon errors=%d%s, '
                    'oops/warn/panic lines=%d%s' % (
                        bye is not None, self.qemu_rc, ex.get('rc', '-'), len(errs),
                        (' (' + errs[0][:120] + ')') if errs else '', len(bad),
                        (': ' + bad[0][:120]) if bad else ''))

    # -- negative control --
    def failed_naming_sid(self):
        j, rc, v, k = self.after_jump()
        sec1 = '\n'.join(self.s.section(1))
        injected = 'fault injection (SKHOD_FAULT=abort-before-jump)' in sec1
        human = '\n'.join(self.s.out.get((2, 'status_after_jump'), []))
        if j is None:
            return False, 'no parsable status json (rc=%s); fault injected=%s' % (rc, injected)
        named = [r for r in v.get('results', []) if r.get('sid') == DUT and
                 r.get('device') == DUT_PCI and r.get('outcome') == 'lost']
        # status exits 4 whenever the update is FAILED; the reason says why,
        # the verification names 00:02.0's SID 0x10 as lost, as does the table.
        ok = (injected and rc == 4 and j.get('state') == 'FAILED' and
              j.get('verdict') == 'FAIL' and
              'booted without the handover' in j.get('reason', '') and len(named) == 1 and
              v.get('nr_lost', 0) >= 1 and v.get('nr_lost') == v.get('nr_streams') and
              k.get('in_state') == 'IDLE' and
              'failing:    SID 0x10 (%s)' % DUT_PCI in human)
        return ok, ('fault injected=%s; status rc=%s state=%s verdict=%s lost=%s of %s, SID 0x10 '
                    'named lost=%s, table names it=%s; kernel in_state=%s' % (
                        injected, rc, j.get('state'), j.get('verdict'), v.get('nr_lost'),
                        v.get('nr_streams'), len(named) == 1,
                        'failing:    SID 0x10' in human, k.get('in_state')))

    def dma_lost(self):
        g, tr = self.dma_evidence()
        # Without the handover the in-jump DMA never reaches memory: the
        # page keeps all 512 old words and the trace has no translation for
        # SID 0x10 during the jump (Bus Master off, SMMU reset).
        ok = (g['rec_ok'] and g['jump_old'] == WORDS and g['jump_new'] == 0 and
              tr['jump_window'] and tr.get('jump_ts') == 0)
        return ok, 'guest: record=%s jump new=%d old=%d; trace: %s translate_success sid=0x10 ' \
            'between fire and next load' % (g['rec_ok'], g['jump_new'], g['jump_old'],
                                            tr.get('jump_ts', '-'))


# ---- real-kernel negative controls (--mode fault-S / dry-S) -------------------
#
# What each scenario of tests/vm/e2e/guest_fault.c must end with.
#   k1: what the outgoing kernel must log: ('drop', reason) smmu_kho.ko
#       drops the device at the reboot notifier's re-check; ('i7', code) the
#       SMMU driver's shutdown check aborts the SID; ('i7_all', code) it
#       finds the whole frozen blob invalid; ('none',) nothing in kernel 1
#       can see a write made after the shutdown check.
#   k2: ('absent',) nothing handed over for the SID; ('refused', codes) the
#       next kernel refuses the SID with one of codes; ('in_refused', code)
#       it refuses the handover whole.
#   in_state: STATUS.in_state the daemon reports in kernel 2.
#   outcome: the daemon's verification outcome for the SID.
# The shutdown check (I7) aborts a changed stream but keeps its L2 stream
# table attached (the handover still lists the SID): the next kernel finds
# the abort STE and refuses the stream as SKHO_E_STE_LOST.  (Before that fix
# the L1 descriptor was cleared and the code was SKHO_E_SID; seen here.)
I7_NEXT = ('SKHO_E_STE_LOST',)
FAULTS = {
    'ste_changed_before_recheck': dict(
        sid=0x10, when='now', k1=('drop', 'translation changed since the freeze'),
        k2=('absent',), in_state='IDLE', outcome='lost'),
    'ste_changed_after_recheck': dict(
        sid=0x10, when='after-recheck', k1=('i7', 'SKHO_E_STE_LOST'),
        k2=('refused', I7_NEXT), in_state='ALL_REFUSED', outcome='refused', race=True),
    'ste_changed_after_shutdown_check': dict(
        sid=0x10, when='after-shutdown', k1=('none',),
        k2=('refused', ('SKHO_E_STE_LOST',)), in_state='ALL_REFUSED', outcome='refused'),
    'pte_redirected_before_recheck': dict(
        sid=0x10, when='now', k1=('drop', 'memory that is not preserved'),
        k2=('absent',), in_state='IDLE', outcome='lost'),
    'pte_redirected_after_recheck': dict(
        sid=0x10, when='after-recheck', k1=('i7', 'SKHO_E_OUTPUT'),
        k2=('refused', I7_NEXT), in_state='ALL_REFUSED', outcome='refused'),
    'pte_redirected_after_shutdown_check': dict(
        sid=0x10, when='after-shutdown', k1=('none',),
        k2=('refused', ('SKHO_E_OUTPUT',)), in_state='ALL_REFUSED', outcome='refused'),
    'pte_redirected_after_adoption': dict(
        sid=0x10, when='now', k=2, k1=('none',), k2=('adopted',), in_state='RELEASED',
        outcome='xlat-changed', quarantined=True),
    'table_desc_outside_ranges': dict(
        sid=0x10, when='after-shutdown', k1=('none',),
        k2=('refused', ('SKHO_E_OUTSIDE',)), in_state='ALL_REFUSED', outcome='refused'),
    'fdt_ref_copy_corrupted_after_recheck': dict(
        sid=0x10, when='after-recheck', k1=('i7', 'SKHO_E_DIGEST'),
        k2=('refused', ('SKHO_E_DIGEST',)), in_state='ALL_REFUSED',
        outcome='refused'),
    'fdt_ref_copy_corrupted_after_shutdown_check': dict(
        sid=0x10, when='after-shutdown', k1=('none',),
        k2=('refused', ('SKHO_E_DIGEST',)), in_state='ALL_REFUSED', outcome='refused'),
    'fdt_header_corrupted': dict(
        sid=0x10, when='after-recheck', k1=('i7_all', 'SKHO_E_FDT'),
        k2=('in_refused', 'SKHO_E_FDT'), in_state='IN_REFUSED', outcome='lost'),
    'one_of_two_ste_changed': dict(
        sid=0x18, when='after-recheck', k1=('i7', 'SKHO_E_STE_LOST'),
        k2=('refused', I7_NEXT), in_state='ADOPTED', outcome='refused', other=0x10),
}
PCI_OF = {0x10: '0000:00:02.0', 0x18: '0000:00:03.0'}


def skho_codes():
    """SKHO_E_* name -> number, read from the core's own enum (kernel/core/skho.h)."""
    hdr = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..',
                       'kernel', 'core', 'skho.h')
    with open(hdr) as f:
        body = f.read().split('enum skho_error {', 1)[1].split('};', 1)[0]
    names = re.findall(r'^\s*(SKHO_\w+)', body, re.M)
    return {n: i for i, n in enumerate(names)}


SKHO_CODES = skho_codes()
SFX_OF = {0x10: '', 0x18: '_18'}
RE_K1_DROP = re.compile(r'^smmu_kho: (\S+) dropped: (.*)$')
RE_K1_I7 = re.compile(r'^arm-smmu-v3-kho: SID 0x([0-9a-f]+) changed after the freeze, its STE '
                      r'becomes abort: (SKHO_E_\w+): (.*)$')
RE_K1_I7_ALL = re.compile(r'frozen handover no longer valid, every STE becomes abort: '
                          r'(SKHO_E_\w+)')
RE_K2_REFUSED = re.compile(r'^arm-smmu-v3-kho: SID 0x([0-9a-f]+) refused, its STE becomes '
                           r'abort: (SKHO_E_\w+): (.*)$')
RE_K2_IN_REFUSED = re.compile(r'^arm-smmu-v3-kho: (?:\S+: )?handover refused: (SKHO_E_\w+)?(.*)$')
RE_K2_KEEPS = re.compile(r'^arm-smmu-v3-kho: \S+ SID 0x([0-9a-f]+) keeps its translation')
RE_FAULT_WROTE = re.compile(r'^skho_fault: ([\w-]+): wrote (0x[0-9a-f]+) at (0x[0-9a-f]+) '
                            r'\(was (0x[0-9a-f]+)\)')
RE_INVARIANT = re.compile(r'invariant violated|Assertion .* failed')


class FaultChecks(Checks):
    """One fault scenario: @spec from FAULTS, @dry: nothing was injected."""

    def __init__(self, s, t, qemu_rc, name, spec):
        super().__init__(s, t, qemu_rc)
        self.name, self.f = name, spec
        self.sid = spec['sid']

    def kernel(self, k):
        """Console lines of guest kernel k, from its "Booting Linux" on (boot log included)."""
        boots = [i for i, l in enumerate(self.s.lines) if l.startswith('Booting Linux on')]
        if len(boots) < k:
            return []
        return self.s.lines[boots[k - 1]:boots[k] if len(boots) > k else len(self.s.lines)]

    def _lines(self, k, rx):
        return [m for m in (rx.search(l) for l in self.kernel(k)) if m]

    def injected(self):
        k = self.f.get('k', 1)
        f = self.s.data.get((k, 'fault'), {})
        armed = self.s.data.get((k, 'fault_armed'), {})
        wrote = self._lines(k, RE_FAULT_WROTE)
        hit = [m for m in wrote if m.group(1) == self.f['when'] and
               _i(f, 'pa') == int(m.group(3), 16) and _i(f, 'new') == int(m.group(2), 16) and
               _i(f, 'old') == int(m.group(4), 16)]
        # The guest located the target (its line names PA, old and new
        # value) and skho_fault.ko logged that exact write at the
        # scenario's moment, in the scenario's kernel (1, or 2 before
        # smmu-khod started); kernel 2 was reached.
        ok = (f.get('target') == self.name and f.get('dry') == '0' and
              _i(f, 'sid') == self.sid and armed.get('ret') == '0' and len(hit) == 1 and
              (2, 'hello') in self.s.verbs)
        return ok, ('guest: target=%s sid=%s pa=%s %s -> %s when=%s dry=%s armed ret=%s; '
                    'skho_fault wrote it %s: %d line(s) of %d; kernel 2 reached=%s' % (
                        f.get('target'), f.get('sid'), f.get('pa'), f.get('old'), f.get('new'),
                        f.get('when'), f.get('dry'), armed.get('ret'), self.f['when'], len(hit),
                        len(wrote), (2, 'hello') in self.s.verbs))

    def outgoing(self):
        kind = self.f['k1'][0]
        drops = self._lines(1, RE_K1_DROP)
        i7 = self._lines(1, RE_K1_I7)
        i7all = self._lines(1, RE_K1_I7_ALL)
        got = 'drops=%s; shutdown check=%s; whole blob=%s' % (
            [m.group(0)[10:130] for m in drops] or 'none',
            [m.group(0)[17:150] for m in i7] or 'none', [m.group(1) for m in i7all] or 'none')
        if kind == 'drop':
            # smmu_kho.ko's re-check at the reboot notifier dropped exactly
            # this device for this reason, and nothing reached I7.
            ok = (len(drops) == 1 and drops[0].group(1) == PCI_OF[self.sid] and
                  self.f['k1'][1] in drops[0].group(2) and not i7 and not i7all)
        elif kind == 'i7':
            # The re-check passed it (the write came later); the shutdown
            # check aborted exactly this SID with this code.
            ok = (not drops and len(i7) == 1 and int(i7[0].group(1), 16) == self.sid and
                  i7[0].group(2) == self.f['k1'][1] and not i7all)
        elif kind == 'i7_all':
            ok = not drops and not i7 and len(i7all) == 1 and i7all[0].group(1) == self.f['k1'][1]
        else:
            # Written after the last check kernel 1 makes: only kernel 2 can see it.
            ok = not drops and not i7 and not i7all
        return ok, got

    def incoming(self):
        kind = self.f['k2'][0]
        ref = self._lines(2, RE_K2_REFUSED)
        inref = self._lines(2, RE_K2_IN_REFUSED)
        keeps = [int(m.group(1), 16) for m in self._lines(2, RE_K2_KEEPS)]
        mine = [m for m in ref if int(m.group(1), 16) == self.sid]
        other = self.f.get('other')
        got = 'refused=%s; handover refused=%s; keep their translation=%s' % (
            ['SID %s %s: %s' % (m.group(1), m.group(2), m.group(3)[:90]) for m in ref] or 'none',
            [(m.group(1) or '') + (m.group(2) or '')[:90] for m in inref] or 'none',
            [hex(x) for x in keeps] or 'none')
        if kind == 'absent':
            ok = not ref and not inref and self.sid not in keeps
        elif kind == 'adopted':
            # Written after adoption: kernel 2 adopted the stream intact.
            ok = not ref and not inref and self.sid in keeps
        elif kind == 'refused':
            # Exactly this SID refused, with one of the codes; every other
            # handed-over stream adopted.
            ok = (len(ref) == 1 and len(mine) == 1 and mine[0].group(2) in self.f['k2'][1] and
                  not inref and self.sid not in keeps and
                  (other is None or other in keeps))
        else:
            ok = (not ref and len(inref) >= 1 and inref[0].group(1) == self.f['k2'][1] and
                  not keeps)
        return ok, got

    def status(self):
        j = self.s.json(2, 'json_after_jump')
        if j is None:
            return False, 'no parsable status json in kernel 2 (rc=%s)' % (
                self.s.rc.get((2, 'json_after_jump')))
        k = j.get('kernel') or {}
        two = self.f.get('other') is not None
        # in_state tells the truth: IDLE when nothing came, ALL_REFUSED /
        # IN_REFUSED when what came was refused, ADOPTED with one refused
        # when the other stream survived; in_error is -SKHO_E_* of the
        # handover's (or the first stream's) refusal as kernel 2 logged it,
        # 0 when something was adopted or nothing came.
        want_err = 0
        if self.f['k2'][0] in ('refused', 'in_refused') and not two:
            got = self.k2_code()
            want_err = -SKHO_CODES[got] if got in SKHO_CODES else None
        # (a quarantined stream no longer counts as adopted)
        adopted = 1 if two or (self.f['k2'][0] == 'adopted' and
                               not self.f.get('quarantined')) else 0
        ok = (k.get('in_state') == self.f['in_state'] and
              k.get('nr_refused', 0) == (1 if self.f['k2'][0] == 'refused' else 0) and
              k.get('nr_adopted', 0) == adopted and k.get('in_error') == want_err and
              k.get('nr_quarantined', 0) == (1 if self.f.get('quarantined') else 0))
        return ok, ('kernel in_state=%s (want %s) in=%s adopted=%s refused=%s quarantined=%s '
                    'in_error=%s (want %s)' % (
                        k.get('in_state'), self.f['in_state'], k.get('nr_in_streams'),
                        k.get('nr_adopted'), k.get('nr_refused'), k.get('nr_quarantined'),
                        k.get('in_error'), want_err))

    def k2_code(self):
        """The code kernel 2 logged for the SID's (or the handover's) refusal, or None."""
        if self.f['k2'][0] == 'in_refused':
            m = self._lines(2, RE_K2_IN_REFUSED)
            return m[0].group(1) if m else None
        m = [x for x in self._lines(2, RE_K2_REFUSED) if int(x.group(1), 16) == self.sid]
        return m[0].group(2) if m else None

    def daemon_failed(self):
        j, rc, v, _ = self.after_jump()
        human = '\n'.join(self.s.out.get((2, 'status_after_jump'), []))
        if j is None:
            return False, 'no parsable status json (rc=%s)' % rc
        res = v.get('results', [])
        named = [r for r in res if r.get('sid') == self.sid]
        n = named[0] if len(named) == 1 else {}
        two = self.f.get('other') is not None
        # FAILED (status exits 4), the failing result names SID, device and
        # an outcome with its reason; the other stream is not among them.
        # The reason carries kernel 2's code: in the stream's result when it
        # was refused, in the update's reason when the handover was.
        code = self.k2_code() or 'none'
        ok = (rc == 4 and j.get('state') == 'FAILED' and j.get('verdict') == 'FAIL' and
              len(named) == 1 and n.get('device') == PCI_OF[self.sid] and
              n.get('outcome') == self.f['outcome'] and len(n.get('why', '')) > 0 and
              (self.f['k2'][0] in ('absent', 'adopted') or
               code in (n.get('why', '') + ' ' + j.get('reason', ''))) and
              len(res) == 1 and v.get('nr_ok') == (1 if two else 0) and
              ('SID %#x (%s)' % (self.sid, PCI_OF[self.sid])) in human)
        return ok, ('status rc=%s state=%s verdict=%s reason="%s"; results=%s; ok=%s of %s; '
                    'table names it=%s' % (
                        rc, j.get('state'), j.get('verdict'), (j.get('reason') or '')[:100],
                        [(hex(r.get('sid', 0)), r.get('device'), r.get('outcome'),
                          (r.get('why') or '')[:80]) for r in res], v.get('nr_ok'),
                        v.get('nr_streams'),
                        ('SID %#x (%s)' % (self.sid, PCI_OF[self.sid])) in human))

    def buf_pa(self, sid):
        return _i(self.s.data.get((1, 'buf' + SFX_OF[sid]), {}), 'pa')

    def no_stray_translation(self, trace=None):
        t = trace or self.t
        pa = self.buf_pa(self.sid)
        ts = sid_events(t.ev, 'ts', self.sid)
        stray = [e for e in ts if e[3] & PAGE_MASK != pa]
        w = t.mark_window((self.sid, 2, MARK_RAW_BEGIN), (self.sid, 2, MARK_RAW_END))
        wts = sid_events(w, 'ts', self.sid)
        wf = sid_events(w, 'fault', self.sid)
        raw = self.s.data.get((2, 'raw' + SFX_OF[self.sid]), {})
        # Every translation QEMU made for the SID, in both kernels, went to
        # the preserved buffer page (kernel 1's round trip: >= 1); the DMA
        # kernel 2 fired at the old IOVA faulted in the SMMU (>= 1 fault
        # line, 0 translations: missing evidence fails) and left the page's
        # second half as it was.
        ok = (pa > 0 and len(ts) >= 1 and not stray and w is not None and len(wf) >= 1 and
              not wts and _i(raw, 'new') == 0 and _i(raw, 'old') == WORDS)
        return ok, ('buffer pa=%#x; translate_success sid=%#x: %d, to other pages: %d%s; '
                    'kernel 2 DMA at the old IOVA: window=%s faults=%d translations=%d, page '
                    'new=%s old=%s' % (pa, self.sid, len(ts), len(stray),
                                       (' (first to %#x)' % stray[0][3]) if stray else '',
                                       w is not None, len(wf), len(wts), raw.get('new', '-'),
                                       raw.get('old', '-')))

    def no_stray_without_evidence(self):
        """The trace check on this run's trace without the SID's lines must fail."""
        t = self.t.without(lambda e: e[0] in ('ts', 'fault') and e[1] == self.sid)
        ok, detail = self.no_stray_translation(t)
        return not ok, 'with the SID\'s trace lines removed the check says: %s (%s)' % (
            'ok' if ok else 'fail', detail[:160])

    def other_unaffected(self):
        o = self.f['other']
        pa = self.buf_pa(o)
        sf = SFX_OF[o]
        iova = _i(self.s.data.get((1, 'buf' + sf), {}), 'iova')
        jump = self.s.data.get((2, 'jump' + sf), {})
        raw = self.s.data.get((2, 'raw' + sf), {})
        ts = sid_events(self.t.ev, 'ts', o)
        faults = sid_events(self.t.ev, 'fault', o)
        w = self.t.mark_window((o, 1, MARK_JUMP_FIRE), (o, 2, MARK_LOADED))
        jts = sid_events(w, 'ts', o)
        r = self.t.mark_window((o, 2, MARK_RAW_BEGIN), (o, 2, MARK_RAW_END))
        rts = [e for e in (r or []) if e[0] == 'ts' and e[1] == o and e[2] == iova + HALF and
               e[3] == pa + HALF]
        # The other stream: its in-jump DMA wrote all 512 words, the DMA at
        # its old IOVA after the jump all 512, both translated to its page
        # (>= 1 each), never a fault, never another page.
        ok = (pa > 0 and _i(jump, 'new') == WORDS and _i(raw, 'new') == WORDS and
              len(jts) >= 1 and len(rts) >= 1 and not faults and
              all(e[3] & PAGE_MASK == pa for e in ts))
        return ok, ('SID %#x pa=%#x: jump new=%s raw new=%s; trace: in-jump translations=%d, '
                    'post-jump exact=%d, faults=%d, all to its page=%s' % (
                        o, pa, jump.get('new', '-'), raw.get('new', '-'), len(jts), len(rts),
                        len(faults), all(e[3] & PAGE_MASK == pa for e in ts)))

    def quarantined(self):
        q = [l for l in self.kernel(2) if l.startswith('smmu-khod: warning: quarantined %s: SID %#x'
                                                       % (PCI_OF[self.sid], self.sid))]
        j = self.s.json(2, 'json_after_jump') or {}
        k = j.get('kernel') or {}
        # smmu-khod's own recomputation failed the adopted stream and it
        # asked the kernel for an abort STE (the trace check shows the DMA
        # after it faulting).
        ok = len(q) == 1 and k.get('nr_quarantined') == 1
        return ok, 'daemon: %s; kernel nr_quarantined=%s' % (
            q[0][:150] if q else 'no quarantine line', k.get('nr_quarantined'))

    def jumping_race(self):
        d = self.s.data.get((1, 'jumping_race'), {})
        held = any('skho_fault: holding the reboot' in l for l in self.kernel(1))
        ops = ('abort', 'unpreserve', 'release', 'preserve', 'freeze', 'quarantine')
        # A process racing the kexec saw out_state JUMPING (7) while
        # skho_fault.ko held the reboot after smmu_kho's notifier, and every
        # call that could change the handover failed with EBUSY (-16).
        ok = (held and d.get('out_state') == '7' and d.get('status') == '0' and
              all(d.get(o) == '-16' for o in ops))
        return ok, 'reboot held=%s; racer: %s' % (
            held, ' '.join('%s=%s' % (k, d.get(k, '-')) for k in ('out_state',) + ops) or
            'no line')

    def clean(self):
        bad = [l for l in self.s.lines if RE_BAD.search(l)]
        inv = [l for l in self.s.lines if RE_INVARIANT.search(l)]
        ex = self.s.data.get((2, 'khod_exit'), {})
        ready = self.s.data.get((2, 'khod_ready'), {})
        bye = self.s.verbs.get((2, 'bye'))
        # Both kernels: no oops/WARN/BUG/panic; the debug daemon started,
        # found no invariant violated and exited 0 on SIGTERM; VM powered off.
        ok = (not bad and not inv and bye is not None and self.qemu_rc == 0 and
              ex.get('rc') == '0' and ready.get('ready') == '1')
        return ok, ('oops/warn lines=%d%s; invariant violations=%d%s; smmu-khod ready=%s '
                    'exit=%s; kernel 2 bye=%s qemu rc=%s' % (
                        len(bad), (': ' + bad[0][:100]) if bad else '', len(inv),
                        (': ' + inv[0][:120]) if inv else '', ready.get('ready', '-'),
                        ex.get('rc', '-'), bye is not None, self.qemu_rc))

    def plan(self):
        sid = '_sid_%#x' % self.sid
        k1, k2 = self.f['k1'], self.f['k2']
        k1name = {'drop': 'outgoing_kernel_drops' + sid,
                  'i7': 'shutdown_check_aborts%s_%s' % (sid, k1[-1][7:].lower()),
                  'i7_all': 'shutdown_check_aborts_every_ste_%s' % k1[-1][7:].lower(),
                  'none': 'outgoing_kernel_cannot_see_it'}[k1[0]]
        k2name = {'absent': 'next_kernel_gets_no_stream' + sid,
                  'adopted': 'next_kernel_adopts%s_intact' % sid,
                  'refused': 'next_kernel_refuses%s_%s' % (
                      sid, '_or_'.join(c[7:].lower() for c in k2[-1])),
                  'in_refused': 'next_kernel_refuses_handover_%s' % str(k2[-1])[7:].lower()}[k2[0]]
        p = [('fault_written_' + self.f['when'].replace('-', '_'), self.injected),
             (k1name, self.outgoing), (k2name, self.incoming),
             ('status_in_state_' + self.f['in_state'].lower(), self.status),
             ('daemon_failed_naming%s_%s_%s' % (sid, PCI_OF[self.sid].replace(':', '_').replace(
                 '.', '_'), self.f['outcome']), self.daemon_failed),
             ('no_translation%s_outside_preserved_page' % sid, self.no_stray_translation),
             ('trace_check_fails_without_trace_lines', self.no_stray_without_evidence)]
        if self.f.get('other') is not None:
            p.append(('other_stream_sid_%#x_adopted_and_dma_continues' % self.f['other'],
                      self.other_unaffected))
        if self.f.get('quarantined'):
            p.append(('daemon_quarantines' + sid, self.quarantined))
        if self.f.get('race'):
            p.append(('jumping_refuses_abort_unpreserve_release_preserve_freeze_quarantine'
                      '_with_ebusy', self.jumping_race))
        p.append(('no_oops_warn_or_daemon_invariant_in_either_kernel', self.clean))
        return p


def run_fault(s, t, qemu_rc, mode, emit):
    dry = mode.startswith('dry-')
    name = mode.split('-', 1)[1]
    spec = FAULTS.get(name)
    if spec is None:
        emit(False, 'e2e.%s.known_scenario' % name, 'no expectations for %s' % name)
        return
    c = FaultChecks(s, t, qemu_rc, name, spec)
    results = [(n, fn()) for n, fn in c.plan()]
    if not dry:
        for n, (ok, detail) in results:
            emit(ok, 'e2e.%s.%s' % (name, n), detail)
        return
    # The same run with nothing written: the injection and every check of
    # the refusal must fail on it (the positive run passes them).
    must_fail = ('fault_written_', 'outgoing_kernel_drops', 'shutdown_check_aborts',
                 'next_kernel_refuses', 'next_kernel_gets_no_stream', 'status_in_state_',
                 'daemon_failed_naming', 'daemon_quarantines', 'no_translation_')
    passed = [n for n, (ok, _) in results if ok and n.startswith(must_fail)]
    f = s.data.get((spec.get('k', 1), 'fault'), {})
    emit(not passed and f.get('dry') == '1' and (2, 'hello') in s.verbs,
         'e2e.dry.%s.checks_reject_the_run_without_fault' % name,
         'guest located %s dry=%s; checks passing without the fault: %s' % (
             f.get('target'), f.get('dry'), passed or 'none'))


# ---- the daemon's crash points and --no-device on the real kernel ------------

class CrashChecks(Checks):
    """--mode crash-P: smmu-khod SIGKILLs itself at crash point P once."""

    def __init__(self, s, t, qemu_rc, point):
        super().__init__(s, t, qemu_rc)
        self.point = point
        self.k = 1 if point.startswith('update.') else 2

    def killed(self):
        text = '\n'.join(self.s.lines)
        fired = text.count('fault injection (SKHOD_FAULT=crash:%s): SIGKILL' % self.point)
        deaths = []
        for line in self.s.lines:
            m = RE_GUEST.search(line)
            if m and m.group(2) == 'data' and m.group(3).startswith(('khod_crash', 'khod_died')):
                deaths.append((int(m.group(1)), kv(m.group(3))))
        # The daemon announced the SIGKILL at exactly this point once, the
        # guest saw it die of SIGKILL (128 + 9) in the kernel the point
        # belongs to, and nowhere else.
        ok = (fired == 1 and len(deaths) == 1 and deaths[0][0] == self.k and
              deaths[0][1].get('rc') == '137')
        return ok, 'SIGKILL announcements at %s: %d; deaths seen by the guest: %s' % (
            self.point, fired, deaths or 'none')

    def resumed(self):
        sec = '\n'.join(self.s.section(self.k))
        starts = re.findall(r'smmu-khod: info: journal \S+ seq \d+ from (\w+): (\w+)', sec)
        j = self.s.json(1, 'json_after_restart') if self.k == 1 else None
        # The restarted daemon read the journal the killed one left (from
        # the state directory in kernel 1, from the state directory or LUO in
        # kernel 2) and the repeated command went on; kernel 2 reached.
        ok = len(starts) >= 2 and (2, 'hello') in self.s.verbs
        if self.k == 1:
            ok = ok and j is not None and j.get('state') in ('ARMED', 'PRESERVED') and \
                self.s.rc.get((1, 'update_resumed')) in (None, 0)
        return ok, 'daemon starts in kernel %d: %s; state after restart=%s; resumed update rc=%s' % (
            self.k, starts, (j or {}).get('state', '-'),
            self.s.rc.get((1, 'update_resumed'), 'none (jumped)'))

    def verified(self):
        a, da = self.status_verified()
        b, db = self.zero_lost()
        return a and b, da + '; ' + db

    def finished(self):
        ok, d = self.finish_released()
        if self.point == 'finish.released':
            # The first finish died after a RELEASE; the repeated one ends it.
            frc = self.s.rc.get((2, 'finish_resumed'))
            j = self.s.json(2, 'json_after_finish') or {}
            k = j.get('kernel') or {}
            ok = (frc == 0 and j.get('state') == 'FINISHED' and j.get('verdict') == 'PASS' and
                  k.get('in_state') == 'RELEASED' and k.get('nr_released', 0) >= 1)
            d = 'repeated finish rc=%s; then state=%s verdict=%s in_state=%s released=%s' % (
                frc, j.get('state'), j.get('verdict'), k.get('in_state'), k.get('nr_released'))
        return ok, d

    def clean(self):
        bad = [l for l in self.s.lines if RE_BAD.search(l)]
        inv = [l for l in self.s.lines if RE_INVARIANT.search(l)]
        ex = self.s.data.get((2, 'khod_exit'), {})
        bye = self.s.verbs.get((2, 'bye'))
        ok = not bad and not inv and bye is not None and self.qemu_rc == 0 and \
            ex.get('rc') == '0'
        return ok, 'oops/warn lines=%d; invariant violations=%d%s; last exit=%s; bye=%s qemu rc=%s' % (
            len(bad), len(inv), (': ' + inv[0][:120]) if inv else '', ex.get('rc', '-'),
            bye is not None, self.qemu_rc)

    def plan(self):
        return [('daemon_sigkilled_at_point', self.killed),
                ('restarted_daemon_resumes', self.resumed),
                ('update_verified_zero_lost', self.verified),
                ('dma_continuous_across_jump', self.dma_continuous),
                ('finish_releases_streams', self.finished),
                ('no_oops_warn_or_daemon_invariant', self.clean)]


class NoDeviceChecks(Checks):
    """--mode nodevice: `smmu-khoctl update --no-device`."""

    def jumped(self):
        k1 = '\n'.join(self.s.section(1))
        froze = 'smmu_kho: frozen:' in self.s.text
        # Nothing was frozen (no FREEZE at all), yet the kexec happened
        # through the daemon and kernel 2 found KHO's handover (LUO's).
        ok = (not froze and 'update: jumping into /Image' in k1 and
              (2, 'hello') in self.s.verbs and self.s.rc.get((1, 'update')) in (None, 0))
        return ok, 'smmu_kho froze=%s; jumping line=%s; kernel 2 reached=%s; update rc=%s' % (
            froze, 'update: jumping into /Image' in k1, (2, 'hello') in self.s.verbs,
            self.s.rc.get((1, 'update'), 'none (jumped)'))

    def verified_none(self):
        j, rc, v, k = self.after_jump()
        if j is None:
            return False, 'no parsable status json (rc=%s)' % rc
        # VERIFIED with 0 streams on purpose, the kernel got no handover.
        ok = (rc == 0 and j.get('state') == 'VERIFIED' and j.get('verdict') == 'PASS' and
              j.get('nr_streams', 0) == 0 and v.get('nr_streams', 0) == 0 and
              k.get('in_state') == 'IDLE' and k.get('nr_in_streams', 0) == 0)
        return ok, 'rc=%s state=%s verdict=%s streams=%s kernel in_state=%s in=%s' % (
            rc, j.get('state'), j.get('verdict'), j.get('nr_streams'), k.get('in_state'),
            k.get('nr_in_streams'))

    def finished(self):
        j = self.s.json(2, 'json_after_finish') or {}
        frc = self.s.rc.get((2, 'finish'))
        ok = frc == 0 and j.get('state') == 'FINISHED' and j.get('verdict') == 'PASS'
        return ok, 'finish rc=%s; then state=%s verdict=%s' % (frc, j.get('state'),
                                                              j.get('verdict'))

    def clean(self):
        return CrashChecks.clean(self)

    def plan(self):
        return [('update_preserves_nothing_and_jumps', self.jumped),
                ('status_verified_zero_streams_no_handover', self.verified_none),
                ('dma_during_jump_is_lost', self.dma_lost),
                ('finish_ends_finished', self.finished),
                ('no_oops_warn_or_daemon_invariant', self.clean)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--serial', required=True)
    ap.add_argument('--trace')
    ap.add_argument('--mode', help='preserve, lose, fault-S or dry-S')
    ap.add_argument('--qemu-rc', type=int, default=-1)
    ap.add_argument('--print-output', metavar='TAG')
    ap.add_argument('--print-story', action='store_true')
    a = ap.parse_args()
    s = Serial(a.serial)
    if a.print_story:
        # What an operator watching the console would follow; the kernel
        # count goes up where kernel 1 logs that it starts the next one.
        keep = ('update: ', 'smmu-khod: notice: state', 'smmu-khod: info: journal',
                'kexec_core: ', 'KHO: found', 'arm-smmu-v3-kho', 'luo: Retrieved')
        k = 1
        for line in s.lines:
            if line.startswith(keep):
                print('[kernel %d] %s' % (k, line))
            if 'Starting new kernel' in line:
                k += 1
        return 0 if s.section(2) else 1
    if a.print_output:
        lines = s.out.get((2, a.print_output))
        if not lines:
            return 1
        print('\n'.join(lines))
        return 0 if s.rc.get((2, a.print_output)) == 0 else 1
    c = Checks(s, Trace(a.trace), a.qemu_rc)

    def emit(ok, name, detail):
        print('RESULT\t%s\t%s\t%s' % ('ok' if ok else 'fail', name, detail.replace('\t', ' ')))

    n = c.snapshot_streams()
    print('INFO\tsmmu-khoctl update froze %s stream(s); kernel 2 reached: %s' % (
        n, (2, 'hello') in s.verbs))
    if a.mode and a.mode.startswith(('fault-', 'dry-')):
        run_fault(s, c.t, a.qemu_rc, a.mode, emit)
    elif a.mode and a.mode.startswith('crash-'):
        point = a.mode[len('crash-'):]
        for name, fn in CrashChecks(s, c.t, a.qemu_rc, point).plan():
            ok, detail = fn()
            emit(ok, 'e2e.crash_%s.%s' % (point.replace('.', '_').replace('-', '_'), name), detail)
    elif a.mode == 'nodevice':
        for name, fn in NoDeviceChecks(s, c.t, a.qemu_rc).plan():
            ok, detail = fn()
            emit(ok, 'e2e.no_device_update.' + name, detail)
    elif a.mode == 'preserve':
        for name, fn in (('update_drives_kexec_through_smmu_khoctl', c.update_flow),
                         ('daemon_recovers_journal_through_luo', c.recovered_via_luo),
                         ('status_json_reports_verified', c.status_verified),
                         ('zero_stes_lost', c.zero_lost),
                         ('dma_continuous_across_jump', c.dma_continuous),
                         ('finish_without_replace_is_refused_naming_the_iova',
                          c.checked_finish_refused),
                         ('finish_releases_streams', c.finish_released),
                         ('daemon_logs_no_error_and_vm_powers_off', c.clean_end)):
            ok, detail = fn()
            emit(ok, 'e2e.' + name, detail)
    elif a.mode == 'lose':
        ok, detail = c.failed_naming_sid()
        emit(ok, 'e2e.preservation_off_reports_failed_naming_lost_streams', detail)
        for name, fn in (('update_drives_kexec_through_smmu_khoctl', c.update_flow),
                         ('daemon_recovers_journal_through_luo', c.recovered_via_luo),
                         ('dma_during_jump_is_lost', c.dma_lost),
                         ('daemon_logs_no_error_and_vm_powers_off', c.clean_end)):
            ok, detail = fn()
            emit(ok, 'e2e.preservation_off.' + name, detail)
        # The positive checks, run on this run, must all reject it.
        passed = [name for name, fn in (('status_json_reports_verified', c.status_verified),
                                        ('zero_stes_lost', c.zero_lost),
                                        ('dma_continuous_across_jump', c.dma_continuous),
                                        ('finish_releases_streams', c.finish_released))
                  if fn()[0]]
        emit(not passed and (2, 'hello') in s.verbs,
             'e2e.preservation_off.positive_checks_reject_it',
             'positive checks passing on the lost handover: %s' % (passed or 'none'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
