# SPDX-License-Identifier: GPL-2.0-only
"""The one parser of QEMU's trace for every VM checker: events, edu_dma.ko's marks, windows.

Imported by tests/vm/analyze.py (vm-check, vm-bench) and
tests/vm/e2e/e2e_check.py (daemon-vm-check, vm-fault-check, the demo; and
through it tests/vm/systemd/sysd_check.py).  Only the standard library's
re: a checker that imports it pays for nothing else.  The trace is cut
into windows by the marks edu_dma.ko writes to config offset 0xfc of each
edu device (edu_dma_uapi.h: value 0x5eKKEE, kernel KK, event EE).
"""
import re

MARK_LOADED, MARK_RT_BEGIN, MARK_RT_END = 0x01, 0x02, 0x03
MARK_JUMP_FIRE, MARK_RAW_BEGIN, MARK_RAW_END = 0x10, 0x20, 0x21
MARK_WIT = {'before': 0x30, 'after': 0x32}     # +1: window over (guest/init.c)
DUT, PROBE = 0x10, 0x18          # StreamIDs of 00:02.0 and 00:03.0
HALF = 2048                      # the jump DMA covers [0,2K), the raw one [2K,4K)
PAGE_MASK = ~0xfff

RE_MARK = re.compile(r'^pci_cfg_write edu (\w\w):(\w\w)\.(\w) @0xfc <- 0x([0-9a-f]+)')
# QEMU -msg timestamp=on prefixes each trace line with "PID@SECONDS.MICROS:"
RE_STAMP = re.compile(r'^\d+@(\d+)\.(\d{6}):')


# The SMMU events other checkers (tests/vm/vmm/vmm_check.py) match
# themselves: group 1 of RE_TS and RE_CFGI_STE and group 2 of the others is
# the StreamID.
RE_TS = re.compile(r'^smmuv3_translate_success \S+ sid=0x([0-9a-f]+) iova=0x([0-9a-f]+) '
                   r'translated=0x([0-9a-f]+) perm=0x([0-9a-f]+) stage=(\d+)')
RE_EVENT = re.compile(r'^smmuv3_record_event (\S+) sid=0x([0-9a-f]+)')
RE_ABORT = re.compile(r'^smmuv3_translate_(abort|disable|bypass) \S+ sid=0x([0-9a-f]+)'
                      r'(?: iova=0x([0-9a-f]+))?')
RE_CFGI_STE = re.compile(r'^smmuv3_cmdq_cfgi_ste streamid= ?(?:0x)?([0-9a-f]+)')


def _hex(m, g):
    return int(m.group(g), 16) if m.group(g) else None


# The trace events the checks read, as data: (pattern, re.match or
# re.search, the event tuple made of the match).  The first rule that
# matches a line wins; edu_dma.ko's marks (RE_MARK) come before them.
TRACE_RULES = (
    (RE_TS.pattern, re.match,
     lambda m: ('ts', _hex(m, 1), _hex(m, 2), _hex(m, 3), int(m.group(5)))),
    (RE_EVENT.pattern, re.match,
     lambda m: ('fault', _hex(m, 2), m.group(1), None)),
    (RE_ABORT.pattern, re.match, lambda m: ('fault', _hex(m, 2), 'translate_' + m.group(1), _hex(m, 3))),
    (r'region-(\d+)-\d+ translation failed for iova=0x([0-9a-f]+) \((\S+)\)', re.search,
     lambda m: ('gerr', int(m.group(1)), _hex(m, 2), m.group(3))),
    (r'^smmuv3_write_mmio addr: 0x20 val:0x([0-9a-f]+)', re.match, lambda m: ('cr0', _hex(m, 1))),
    (r'^smmuv3_read_mmio addr: 0x0 val:', re.match, lambda m: ('idr0',)),
    (RE_CFGI_STE.pattern, re.match, lambda m: ('cfgi_ste', _hex(m, 1))),
    (r'^smmuv3_write_gerror ', re.match, lambda m: ('gerror', m.string)),
)
TRACE_RULES = tuple((getattr(re.compile(p), how.__name__), make) for p, how, make in TRACE_RULES)


class Trace:
    """The QEMU log as a list of typed events, in order."""

    def __init__(self, path):
        self.ev = []        # (kind, fields...)
        self.line = []      # line number (0-based) of each event in the file
        self.marks = {}     # (sid, kernel, event) -> index of the first such mark
        self.time = []      # host seconds of each event (QEMU -msg timestamp=on), or None
        with open(path, errors='replace') as f:
            for n, line in enumerate(f):
                before = len(self.ev)
                line = line.rstrip('\n')
                m = RE_STAMP.match(line)
                self._parse(line[m.end():] if m else line)
                self.line += [n] * (len(self.ev) - before)
                self.time += [int(m.group(1)) + int(m.group(2)) / 1e6 if m else None] * (
                    len(self.ev) - before)

    def _parse(self, line):
        m = RE_MARK.match(line)
        if m:
            sid = int(m.group(1), 16) << 8 | int(m.group(2), 16) << 3 | int(m.group(3), 16)
            val = int(m.group(4), 16)
            if val >> 16 == 0x5e00:
                key = (sid, (val >> 8) & 0xff, val & 0xff)
                self.marks.setdefault(key, len(self.ev))
                self.ev.append(('mark', sid, key[1], key[2]))
            return
        for find, make in TRACE_RULES:
            m = find(line)
            if m:
                self.ev.append(make(m))
                return

    def mark(self, sid, k, ev):
        return self.marks.get((sid, k, ev))

    def at_line(self, n):
        """Index of the first event on line n or later (len(ev) if none)."""
        return next((i for i, ln in enumerate(self.line) if ln >= n), len(self.ev))

    def window(self, a, b):
        return self.ev[a:b] if a is not None and b is not None and a <= b else None

    def mark_window(self, a, b):
        """Events between the marks keyed a and b ((sid, kernel, event));
        None if either is missing or they are out of order."""
        return self.window(self.marks.get(a), self.marks.get(b))

    def without(self, drop):
        """A copy without the events drop(event) is true for, marks
        re-indexed: the trace a negative control judges."""
        t = Trace.__new__(Trace)
        t.ev, t.line, t.marks, t.time = [], [], {}, []
        for e, n, s in zip(self.ev, self.line, self.time):
            if drop(e):
                continue
            if e[0] == 'mark':
                t.marks.setdefault(e[1:], len(t.ev))
            t.ev.append(e)
            t.line.append(n)
            t.time.append(s)
        return t

    def blackout(self, sid, k):
        """Seconds between the last DMA StreamID @sid completed before
        edu_dma.ko loaded in kernel @k (its LOADED mark) and the first one
        after: the gap the device saw across the jump into kernel k (a
        completed DMA is a translate_success; the engine writes right
        after).  None without both DMAs or without timestamps."""
        at = self.marks.get((sid, k, MARK_LOADED))
        if at is None:
            return None
        last = next((i for i in range(at - 1, -1, -1)
                     if self.ev[i][0] == 'ts' and self.ev[i][1] == sid), None)
        first = next((i for i in range(at, len(self.ev))
                      if self.ev[i][0] == 'ts' and self.ev[i][1] == sid), None)
        if last is None or first is None or None in (self.time[last], self.time[first]):
            return None
        return self.time[first] - self.time[last]

    def next_kind(self, start, kind):
        for i in range(start, len(self.ev)):
            if self.ev[i][0] == kind:
                return i
        return None


def guest_lines(lines, pattern):
    """(index, kernel, verb, rest) of each line the guest's say() printed
    (pattern: "<PREFIX> k=K verb rest", RE_GUEST or e2e_check's)."""
    for i, line in enumerate(lines):
        m = pattern.search(line)
        if m:
            yield i, int(m.group(1)), m.group(2), m.group(3)


def sid_events(window, kind, sid):
    """The events of @kind ('ts', 'fault', 'gerr', ...) for StreamID @sid
    in a list of trace events (none for a missing window)."""
    return [e for e in window or () if e[0] == kind and e[1] == sid]
