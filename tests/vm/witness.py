#!/usr/bin/env python3
"""Outside witness of SMMU state: dump guest memory over QMP and decode it.

Two roles, one file:
  * `witness.py watch --qmp SOCK --serial LOG --trace LOG --out DIR` runs
    next to QEMU (tests/vm/vmtest.sh starts it).  When the guest's /init
    prints "SKHOVM k=K witness_wait u=U phase=before|after" it stops the VM
    (QMP `stop`), records how far the trace and serial logs had got, reads
    the SMMU's CR0, STRTAB_BASE and STRTAB_BASE_CFG and every page the
    handover of update U lists in `preserved-ranges` with QMP `pmemsave`,
    then resumes the VM (`cont`).  The pages to read come from the FDT that
    kernel U printed (`SKHOVM k=U data fdthex ...` lines, GET_FDT(OUT) after
    FREEZE).  One directory per dump: index.json + memory.bin.
  * A library for tests/vm/analyze.py: a small FDT reader, the smmu-kho v2
    handover decoder (docs/abi.md) and a decoder of the SMMUv3 stream
    table, CD tables and VMSAv8-64 page tables (Arm IHI 0070, 3.3 and 5)
    that reads only the dumped bytes.  Nothing here trusts the guest's
    digests: locations come from the registers and tables themselves.

Exit status of watch: 0 when QEMU closed the QMP socket (the run is over),
2 on bad arguments, 1 if the QMP socket never appeared.  A dump that could
not be taken is recorded in its index.json with "error"; analyze.py turns a
missing or failed dump into a failing check.
"""
import argparse
import json
import os
import re
import socket
import struct
import sys
import time

SMMU_REGS = {'cr0': (0x20, 4), 'strtab_base': (0x80, 8), 'strtab_base_cfg': (0x88, 4)}
PAGE = 4096
RE_WIT = re.compile(r'SKHOVM k=(\d+) witness_wait u=(\d+) phase=(\w+)')
# The guest's last words; QEMU should exit at once (PSCI SYSTEM_OFF).
POWER_DOWN = 'reboot: Power down'
# Rarely (1 run in ~50 seen) TCG QEMU keeps running after it: quit then.
POWER_DOWN_GRACE_S = 20
QUIT_MARK = 'qemu-quit-after-power-down'
RE_HEX = re.compile(r'SKHOVM k=(\d+) data fdthex which=(\w+) off=(\d+) len=(\d+) hex=([0-9a-f]+)')


# ---- FDT (devicetree spec v0.4, 5) -------------------------------------------

class FdtError(Exception):
    """A blob that is not a well-formed FDT; the message says where."""


def fdt_parse(blob):
    """{node path: {property name: bytes}} of a flattened device tree.
    Raises FdtError on a bad header, a block out of bounds or a bad token."""
    if len(blob) < 40:
        raise FdtError('%d bytes: shorter than an FDT header' % len(blob))
    magic, total, off_st, off_str, _, ver, _, _, sz_str, sz_st = struct.unpack_from('>10I', blob)
    if magic != 0xd00dfeed:
        raise FdtError('bad magic %#x' % magic)
    if total > len(blob) or off_st + sz_st > total or off_str + sz_str > total or ver < 17:
        raise FdtError('header out of bounds: totalsize %d of %d bytes, version %d' % (
            total, len(blob), ver))
    nodes, path, p, end = {}, [], off_st, off_st + sz_st
    while p + 4 <= end:
        tok = struct.unpack_from('>I', blob, p)[0]
        p += 4
        if tok == 1:            # FDT_BEGIN_NODE
            z = blob.index(b'\0', p, end)
            path.append(blob[p:z].decode())
            nodes['/'.join(path) or '/'] = {}
            p = (z + 4) & ~3
        elif tok == 2:          # FDT_END_NODE
            if not path:
                raise FdtError('END_NODE without BEGIN_NODE at %#x' % (p - 4))
            path.pop()
        elif tok == 3:          # FDT_PROP
            ln, nameoff = struct.unpack_from('>II', blob, p)
            if p + 8 + ln > end or nameoff >= sz_str:
                raise FdtError('property at %#x out of bounds' % (p - 4))
            z = blob.index(b'\0', off_str + nameoff, off_str + sz_str)
            name = blob[off_str + nameoff:z].decode()
            if not path:
                raise FdtError('property %s outside the root' % name)
            nodes['/'.join(path) or '/'][name] = bytes(blob[p + 8:p + 8 + ln])
            p = (p + 8 + ln + 3) & ~3
        elif tok == 4:          # FDT_NOP
            continue
        elif tok == 9:          # FDT_END
            return nodes
        else:
            raise FdtError('bad token %#x at %#x' % (tok, p - 4))
    raise FdtError('no FDT_END')


def leb128_runs(b):
    """docs/abi.md `preserved-ranges`: [(pa, size)] of 4 KiB page runs."""
    nums, v, sh = [], 0, 0
    for c in b:
        v |= (c & 0x7f) << sh
        sh += 7
        if not c & 0x80:
            nums.append(v)
            v, sh = 0, 0
    if sh or len(nums) % 2:
        raise FdtError('preserved-ranges cut short')
    runs, page = [], 0
    for skip, cnt in zip(nums[0::2], nums[1::2]):
        page += skip
        runs.append((page * PAGE, (cnt + 1) * PAGE))
        page += cnt + 1
    return runs


def handover(blob):
    """The smmu-kho v3 handover (docs/abi.md) as a list of per-SMMU dicts."""
    nodes = fdt_parse(blob)
    root = nodes.get('/', {})
    if root.get('compatible') != b'smmu-kho-v3\0':
        raise FdtError('compatible %r, not smmu-kho-v3' % root.get('compatible'))
    out = []
    for path, p in sorted(nodes.items()):
        if not path.startswith('/smmu@') and not path.startswith('smmu@'):
            continue
        st = p['streams']
        streams = []
        for i in range(0, len(st) - len(st) % 84, 84):
            sid, sd, xd = struct.unpack_from('>IQQ', st, i)
            streams.append({'sid': sid, 'ste_digest': sd, 'xlat_digest': xd,
                            'ste': st[i + 20:i + 84]})
        pts = []
        pt = p['page-tables']
        for i in range(0, len(pt) - len(pt) % 24, 24):
            root_pa, stage, glg2, sl, ias, oas, nc, _, dg = struct.unpack_from('>QBBBBBBHQ', pt, i)
            pts.append({'root': root_pa, 'stage': stage, 'granule_lg2': glg2,
                        'start_level': sl, 'ias': ias, 'oas': oas, 'nr_concat': nc,
                        'digest': dg})
        out.append({
            'name': path.lstrip('/'),
            'reg': struct.unpack('>Q', p['reg'])[0],
            'strtab_base': struct.unpack('>Q', p['strtab-base'])[0],
            'strtab_base_cfg': struct.unpack('>I', p['strtab-base-cfg'])[0],
            'oas': struct.unpack('>I', p['oas'])[0],
            'ranges': leb128_runs(p['preserved-ranges']),
            'outputs': leb128_runs(p['output-ranges']),
            'streams': streams, 'page_tables': pts,
        })
    if not out:
        raise FdtError('no smmu@ node')
    return out


def fdt_from_serial(text, k, which='out'):
    """The FDT kernel k printed as fdthex lines (GET_FDT(OUT) after FREEZE),
    or None if a chunk is missing."""
    chunks, total = {}, None
    for m in RE_HEX.finditer(text):
        if int(m.group(1)) == k and m.group(2) == which:
            chunks.setdefault(int(m.group(3)), bytes.fromhex(m.group(5)))
            total = int(m.group(4))
    if total is None:
        return None
    blob, off = b'', 0
    while off < total:
        c = chunks.get(off)
        if not c:
            return None
        blob += c
        off += len(c)
    return blob if off == total else None


# ---- dumped memory ----------------------------------------------------------

class Dump:
    """One witness dump: registers and memory regions read over QMP."""

    def __init__(self, path):
        with open(os.path.join(path, 'index.json')) as f:
            self.ix = json.load(f)
        self.path = path
        self.regions = []       # (pa, bytes)
        if os.path.exists(os.path.join(path, 'memory.bin')):
            with open(os.path.join(path, 'memory.bin'), 'rb') as f:
                data = f.read()
            for pa, size, off in self.ix.get('regions', []):
                self.regions.append((pa, data[off:off + size]))
        self.regs = self.ix.get('regs', {})

    def read(self, pa, n):
        """n bytes at guest-physical pa, or None unless one dumped region holds them all."""
        for base, data in self.regions:
            if base <= pa and pa + n <= base + len(data):
                return data[pa - base:pa - base + n]
        return None


# ---- SMMUv3 decoding (IHI 0070: 3.3 stream table, 5.2 STE, 5.4 CD) ----------

def bits(v, hi, lo):
    return (v >> lo) & ((1 << (hi - lo + 1)) - 1)


def strtab_geometry(base, cfg):
    """(fmt, split, log2size, table address) from STRTAB_BASE and _CFG."""
    fmt, split, lg2 = bits(cfg, 17, 16), bits(cfg, 10, 6), bits(cfg, 5, 0)
    addr = base & (((1 << 52) - 1) & ~0x3f)
    size = 64 << lg2 if fmt == 0 else 8 << max(0, lg2 - split)
    return fmt, split, lg2, addr & ~(max(size, 64) - 1)


def ste_location(mem, base, cfg, sid):
    """(pa of the STE, pa of its (L2) table, STEs in that table) or (None, why)."""
    fmt, split, lg2, addr = strtab_geometry(base, cfg)
    if sid >> lg2:
        return None, 'SID %#x beyond LOG2SIZE %d' % (sid, lg2)
    if fmt == 0:
        return (addr + 64 * sid, addr, 1 << lg2), None
    if fmt != 1:
        return None, 'STRTAB_BASE_CFG.FMT %d' % fmt
    l1pa = addr + 8 * (sid >> split)
    raw = mem.read(l1pa, 8)
    if raw is None:
        return None, 'L1STD of SID %#x at %#x not in the dump' % (sid, l1pa)
    d = struct.unpack('<Q', raw)[0]
    span = bits(d, 4, 0)
    if span == 0 or span > split + 1:
        return None, 'L1STD %#x at %#x for SID %#x: span %d' % (d, l1pa, sid, span)
    n = 1 << (span - 1)
    l2 = (d & (((1 << 52) - 1) & ~0x3f)) & ~(64 * n - 1)
    idx = sid & ((1 << split) - 1)
    if idx >= n:
        return None, 'L1STD span %d too small for SID %#x' % (span, sid)
    return (l2 + 64 * idx, l2, n), None


def ste_words(b):
    return struct.unpack('<8Q', b)


def ste_is_abort_or_invalid(b):
    """STE.V = 0 (invalid: C_BAD_STE) or V = 1 with Config = 0b000 (abort)."""
    w0 = ste_words(b)[0]
    return not w0 & 1 or bits(w0, 3, 1) == 0


def ste_kind(b):
    w0 = ste_words(b)[0]
    if not w0 & 1:
        return 'invalid'
    return {0: 'abort', 4: 'bypass', 5: 's1', 6: 's2', 7: 'nested'}.get(bits(w0, 3, 1),
                                                                          'reserved')


def cd_regions(mem, ste):
    """[(pa, size, what)] of the CD table bytes of a stage-1 or nested STE
    (linear, or L1CD + each valid leaf) and the TTB0 of each valid CD,
    or raise ValueError naming what could not be read."""
    w = ste_words(ste)
    cfg = bits(w[0], 3, 1)
    if cfg not in (5,):
        return [], []
    fmt, cdmax = bits(w[0], 5, 4), bits(w[0], 63, 59)
    ptr = w[0] & (((1 << 52) - 1) & ~0x3f)
    regs, ttbs = [], []
    leaves = []
    if fmt == 0:
        leaves.append((ptr, 1 << cdmax, 0))
        regs.append((ptr, 64 << cdmax, 'CD table'))
    else:
        split = 6 if fmt == 1 else 10
        nl1 = 1 << max(0, cdmax - split)
        regs.append((ptr, 8 * nl1, 'L1CD table'))
        l1 = mem.read(ptr, 8 * nl1)
        if l1 is None:
            raise ValueError('L1CD table at %#x not in the dump' % ptr)
        for i in range(nl1):
            d = struct.unpack_from('<Q', l1, 8 * i)[0]
            if d & 1:
                leaf = d & (((1 << 52) - 1) & ~0xfff)
                n = 1 << min(cdmax, split)
                leaves.append((leaf, n, i << split))
                regs.append((leaf, 64 * n, 'L2CD table'))
    for pa, n, ssid0 in leaves:
        t = mem.read(pa, 64 * n)
        if t is None:
            raise ValueError('CD table at %#x (%d CDs) not in the dump' % (pa, n))
        for i in range(n):
            c0, c1 = struct.unpack_from('<QQ', t, 64 * i)
            if c0 >> 31 & 1 and not c0 >> 14 & 1:
                ttbs.append((ssid0 + i, c1 & (((1 << 52) - 1) & ~0xf)))
    return regs, ttbs


def s2_ttb(ste):
    w = ste_words(ste)
    if bits(w[0], 3, 1) not in (6, 7):
        return None
    return w[3] & (((1 << 52) - 1) & ~0xf)


def _pt_walk(mem, pt):
    """Walk a listed page table (docs/abi.md: the start tables and each
    next-level table a valid table descriptor reaches) in the dumped
    memory: yields (pa, size, level, [descriptor]) per table and raises
    ValueError naming the first table not in the dump."""
    g = pt['granule_lg2']
    sl = pt['start_level']
    start_sz = (8 << max(0, pt['ias'] - pt_shift(pt, sl))) * max(1, pt['nr_concat'])
    todo = [(pt['root'], start_sz, sl)]
    oamask = pt_oamask(pt)
    while todo:
        pa, size, level = todo.pop()
        data = mem.read(pa, size)
        if data is None:
            raise ValueError('level-%d table at %#x (%d bytes) not in the dump' % (level, pa, size))
        descs = [d for (d,) in struct.iter_unpack('<Q', data)]
        yield pa, size, level, descs
        if level < 3:
            todo += [(d & oamask, 1 << g, level + 1) for d in descs if d & 3 == 3]


def pt_shift(pt, level):
    """Address bits below one entry of a level-@level table."""
    g = pt['granule_lg2']
    return g + (3 - level) * (g - 3)


def pt_oamask(pt):
    """Output-address bits of a descriptor (48-bit PA, the table's granule)."""
    return ((1 << 48) - 1) & ~((1 << pt['granule_lg2']) - 1)


def pt_pages(mem, pt):
    """[(pa, size)] of every table of a listed page table, or raise
    ValueError (_pt_walk)."""
    out = []
    for pa, size, _, _ in _pt_walk(mem, pt):
        out.append((pa, size))
        if len(out) > 4096:
            raise ValueError('more than 4096 tables under root %#x' % pt['root'])
    return sorted(out)


def pt_leaves(mem, pt):
    """[(pa, size)] of every valid leaf (page or block) of a listed page
    table in the dumped memory: what a device can reach through it (the
    access bits are not decoded: a leaf without access counts too, which
    only makes the check stricter).  Raises ValueError like pt_pages()."""
    leaves = []
    oamask = pt_oamask(pt)
    for _, _, level, descs in _pt_walk(mem, pt):
        for d in descs:
            if level == 3 and d & 3 == 3 or level < 3 and d & 3 == 1:
                sz = 1 << pt_shift(pt, level)
                leaves.append((d & oamask & ~(sz - 1), sz))
        if len(leaves) > 1 << 20:
            raise ValueError('more than 2^20 leaves under root %#x' % pt['root'])
    return sorted(leaves)


def inside(runs, pa, size):
    """True when [pa, pa + size) lies inside one of the (pa, size) runs."""
    return any(r <= pa and pa + size <= r + n for r, n in runs)


# ---- QMP (qemu docs/interop/qmp-spec) ---------------------------------------

class Qmp:
    """A QMP client on a unix socket."""

    def __init__(self, path, timeout):
        deadline = time.time() + timeout
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        self.f = self.s.makefile('rwb', buffering=0)
        self._read()                                    # greeting
        self.cmd('qmp_capabilities')

    def _read(self):
        while True:
            line = self.f.readline()
            if not line:
                raise EOFError('QMP socket closed')
            msg = json.loads(line)
            if 'event' not in msg:
                return msg

    def cmd(self, name, **args):
        """Run one command; its 'return' value, or raise RuntimeError with QEMU's error."""
        self.f.write(json.dumps({'execute': name, 'arguments': args}).encode() + b'\n')
        r = self._read()
        if 'error' in r:
            raise RuntimeError('%s: %s' % (name, r['error'].get('desc', r['error'])))
        return r.get('return')

    def close(self):
        self.s.close()


def merge(regions):
    out = []
    for pa, size in sorted(regions):
        if out and pa <= out[-1][0] + out[-1][1]:
            out[-1][1] = max(out[-1][1], pa + size - out[-1][0])
        else:
            out.append([pa, size])
    return [tuple(r) for r in out]


def count_lines(path):
    try:
        with open(path, 'rb') as f:
            return f.read().count(b'\n')
    except OSError:
        return -1


def take_dump(q, args, serial_text, k, u, phase, ddir):
    """Stop, read registers and the preserved pages of update u, continue."""
    ix = {'k': k, 'u': u, 'phase': phase, 'regions': [], 'regs': {}}
    os.makedirs(ddir, exist_ok=True)
    t0 = time.time()
    q.cmd('stop')
    try:
        ix['status'] = q.cmd('query-status').get('status')
        # How far the logs had got when the VM stopped: analyze.py checks
        # that the window's begin mark is before and its end mark after.
        ix['trace_lines'] = count_lines(args.trace)
        with open(args.serial, errors='replace') as f:
            now = f.read()
        ix['resumed_before_stop'] = bool(re.search(
            r'SKHOVM k=%d witness_resume u=%d phase=%s' % (k, u, phase), now))
        blob = fdt_from_serial(serial_text, u)
        if blob is None:
            raise ValueError('no complete fdthex of kernel %d in the serial log' % u)
        ho = handover(blob)
        regions = []
        for smmu in ho:
            for name, (off, size) in SMMU_REGS.items():
                fn = os.path.join(ddir, 'reg.tmp')
                q.cmd('pmemsave', val=smmu['reg'] + off, size=size, filename=fn)
                with open(fn, 'rb') as f:
                    raw = f.read()
                os.unlink(fn)
                ix['regs'].setdefault(smmu['name'], {})[name] = int.from_bytes(raw, 'little')
            regions += smmu['ranges']
        with open(os.path.join(ddir, 'memory.bin'), 'wb') as out:
            off = 0
            for pa, size in merge(regions):
                fn = os.path.join(ddir, 'region.tmp')
                q.cmd('pmemsave', val=pa, size=size, filename=fn)
                with open(fn, 'rb') as f:
                    data = f.read()
                os.unlink(fn)
                if len(data) != size:
                    raise ValueError('pmemsave %#x+%#x returned %d bytes' % (pa, size, len(data)))
                out.write(data)
                ix['regions'].append([pa, size, off])
                off += size
    except (ValueError, RuntimeError, FdtError, OSError) as e:
        ix['error'] = str(e)
    finally:
        ix['stopped_ms'] = int((time.time() - t0) * 1000)
        q.cmd('cont')
        with open(os.path.join(ddir, 'index.json'), 'w') as f:
            json.dump(ix, f, indent=1)


def watch(args):
    try:
        q = Qmp(args.qmp, args.connect_timeout)
    except OSError as e:
        print('witness: no QMP socket %s: %s' % (args.qmp, e), file=sys.stderr)
        return 1
    done, pos, text, seen = set(), 0, '', {}
    try:
        while True:
            try:
                with open(args.serial, 'rb') as f:
                    f.seek(pos)
                    new = f.read()
            except OSError:
                new = b''
            # Only whole lines: a sentinel cut in half is seen next time.
            cut = new.rfind(b'\n') + 1
            text += new[:cut].decode('utf-8', 'replace')
            pos += cut
            for m in RE_WIT.finditer(text):
                key = (int(m.group(1)), int(m.group(2)), m.group(3))
                if key in done:
                    continue
                k, u, phase = key
                # The sentinel follows the FDT lines in the printk stream;
                # should a line still be missing, wait up to 1 s of the window.
                seen.setdefault(key, time.time())
                if fdt_from_serial(text, u) is None and time.time() - seen[key] < 1:
                    continue
                done.add(key)
                take_dump(q, args, text, k, u, phase,
                          os.path.join(args.out, 'u%d-%s' % (u, phase)))
            try:
                q.cmd('query-status')       # also notices QEMU's exit
            except (EOFError, OSError):
                return 0
            if POWER_DOWN in text:
                off = seen.setdefault('power_down', time.time())
                if time.time() - off > POWER_DOWN_GRACE_S:
                    print('witness: QEMU still running %d s after the guest\'s "%s": quit over QMP'
                          % (POWER_DOWN_GRACE_S, POWER_DOWN), file=sys.stderr)
                    os.makedirs(args.out, exist_ok=True)
                    open(os.path.join(args.out, QUIT_MARK), 'w').close()
                    q.cmd('quit')
                    return 0
            time.sleep(0.05)
    except (EOFError, OSError):
        return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    w = sub.add_parser('watch', help='dump guest memory at the guest\'s witness windows')
    w.add_argument('--qmp', required=True)
    w.add_argument('--serial', required=True)
    w.add_argument('--trace', required=True)
    w.add_argument('--out', required=True)
    w.add_argument('--connect-timeout', type=float, default=20)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    return watch(args)


if __name__ == '__main__':
    sys.exit(main())
