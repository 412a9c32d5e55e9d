#!/usr/bin/env python3
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
import re
import sys

DUT = 0x10                      # StreamID of 00:02.0 (requester ID 00:02.0)
DUT_PCI = '0000:00:02.0'
HALF = 2048                     # in-jump DMA: page[0,2K); post-jump DMA: page[2K,4K)
WORDS = HALF // 4               # 32-bit pattern words per half page
PAGE_WORDS = 1024
PAGE_MASK = ~0xfff
MARK_LOADED, MARK_JUMP_FIRE, MARK_RAW_BEGIN, MARK_RAW_END = 0x01, 0x10, 0x20, 0x21

RE_GUEST = re.compile(r'SKHOE2E k=(\d+) (\w+) ?(.*)$')
RE_KV = re.compile(r'(\w+)=("[^"]*"|\S+)')
RE_TS = re.compile(r'^smmuv3_translate_success \S+ sid=0x([0-9a-f]+) iova=0x([0-9a-f]+) '
                   r'translated=0x([0-9a-f]+)')
RE_FAULT = re.compile(r'^smmuv3_(translate_abort|translate_disable|translate_bypass|'
                       r'record_event)\b.*?sid=0x([0-9a-f]+)')
RE_MARK = re.compile(r'^pci_cfg_write edu (\w\w):(\w\w)\.(\w) @0xfc <- 0x([0-9a-f]+)')
RE_CR0 = re.compile(r'^smmuv3_write_mmio addr: 0x20 val:0x([0-9a-f]+)')
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
        for i, line in enumerate(self.lines):
            m = RE_GUEST.search(line)
            if not m:
                continue
            k, verb, rest = int(m.group(1)), m.group(2), m.group(3)
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


class Trace:
    def __init__(self, path):
        self.ev = []
        self.marks = {}
        with open(path, errors='replace') as f:
            for line in f:
                self._parse(line.rstrip('\n'))

    def _parse(self, line):
        m = RE_TS.match(line)
        if m:
            self.ev.append(('ts', int(m.group(1), 16), int(m.group(2), 16), int(m.group(3), 16)))
            return
        m = RE_FAULT.match(line)
        if m:
            self.ev.append(('fault', int(m.group(2), 16), m.group(1)))
            return
        m = RE_MARK.match(line)
        if m:
            sid = int(m.group(1), 16) << 8 | int(m.group(2), 16) << 3 | int(m.group(3), 16)
            val = int(m.group(4), 16)
            if val >> 16 == 0x5e00:
                key = (sid, (val >> 8) & 0xff, val & 0xff)
                self.marks.setdefault(key, len(self.ev))
                self.ev.append(('mark',) + key)
            return
        m = RE_CR0.match(line)
        if m:
            self.ev.append(('cr0', int(m.group(1), 16)))

    def window(self, a, b):
        a, b = self.marks.get(a), self.marks.get(b)
        return self.ev[a:b] if a is not None and b is not None and a <= b else None


def _i(d, key, default=-1):
    try:
        return int(d.get(key, ''), 0)
    except (ValueError, AttributeError):
        return default


class Checks:
    def __init__(self, s, t, qemu_rc):
        self.s, self.t, self.qemu_rc = s, t, qemu_rc

    # -- shared evidence --
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
        j = self.s.json(2, 'json_after_jump')
        rc = self.s.rc.get((2, 'json_after_jump'))
        if j is None:
            return False, 'no parsable `smmu-khoctl status --json` output (rc=%s)' % rc
        v, k = j.get('verification') or {}, j.get('kernel') or {}
        ok = (rc == 0 and j.get('state') == 'VERIFIED' and j.get('verdict') == 'PASS' and
              v.get('nr_failed') == 0 and v.get('nr_streams', 0) >= 1 and
              v.get('nr_ok') == v.get('nr_streams') and j.get('backend') == 'real' and
              k.get('available') is True and k.get('in_state') == 'ADOPTED')
        return ok, ('rc=%s state=%s verdict=%s verification="%s" kernel in_state=%s backend=%s' % (
            rc, j.get('state'), j.get('verdict'), v.get('summary'), k.get('in_state'),
            j.get('backend')))

    def zero_lost(self):
        n = self.snapshot_streams()
        j = self.s.json(2, 'json_after_jump')
        if j is None or n is None:
            return False, 'missing: snapshot count from `update` (%s) or status json' % n
        v, k = j.get('verification') or {}, j.get('kernel') or {}
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
        w = self.t.window((DUT, 1, MARK_JUMP_FIRE), (DUT, 2, MARK_LOADED))
        r = self.t.window((DUT, 2, MARK_RAW_BEGIN), (DUT, 2, MARK_RAW_END))
        tr = dict(jump_window=w is not None, raw_window=r is not None)
        if w is not None:
            ts = [e for e in w if e[0] == 'ts' and e[1] == DUT]
            tr['jump_ts'] = len(ts)
            tr['jump_ts_page'] = len([e for e in ts if e[2] & PAGE_MASK == iova and
                                      e[3] & PAGE_MASK == pa])
            tr['jump_faults'] = len([e for e in w if e[0] == 'fault' and e[1] == DUT])
            tr['cr0_off'] = len([e for e in w if e[0] == 'cr0' and not e[1] & 1])
        if r is not None:
            ts = [e for e in r if e[0] == 'ts' and e[1] == DUT]
            tr['raw_ts'] = len(ts)
            tr['raw_ts_exact'] = len([e for e in ts if e[2] == iova + HALF and
                                      e[3] == pa + HALF])
            tr['raw_faults'] = len([e for e in r if e[0] == 'fault' and e[1] == DUT])
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
        j = self.s.json(2, 'json_after_jump')
        rc = self.s.rc.get((2, 'json_after_jump'))
        sec1 = '\n'.join(self.s.section(1))
        injected = 'fault injection (SKHOD_FAULT=abort-before-jump)' in sec1
        human = '\n'.join(self.s.out.get((2, 'status_after_jump'), []))
        if j is None:
            return False, 'no parsable status json (rc=%s); fault injected=%s' % (rc, injected)
        v, k = j.get('verification') or {}, j.get('kernel') or {}
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--serial', required=True)
    ap.add_argument('--trace')
    ap.add_argument('--mode')
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
    if a.mode == 'preserve':
        for name, fn in (('update_drives_kexec_through_smmu_khoctl', c.update_flow),
                         ('daemon_recovers_journal_through_luo', c.recovered_via_luo),
                         ('status_json_reports_verified', c.status_verified),
                         ('zero_stes_lost', c.zero_lost),
                         ('dma_continuous_across_jump', c.dma_continuous),
                         ('finish_releases_streams', c.finish_released),
                         ('daemon_logs_no_error_and_vm_powers_off', c.clean_end)):
            ok, detail = fn()
            emit(ok, 'e2e.' + name, detail)
    else:
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
