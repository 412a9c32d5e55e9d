#!/usr/bin/env python3
"""Judge one systemd VM run (tests/vm/systemd/sysd.sh) from the guest's serial log, QEMU's SMMU trace, its exit and the state disk.

Input: the serial log holds both kernels' logs, systemd's console output,
smmu-khod's stderr (StandardError=journal+console in the test drop-in) and
the "SKHOE2E k=K ..." lines of tests/vm/systemd/guest/skho-sysd-drive.sh
and skho-edu, in the format of the e2e run: tests/vm/e2e/e2e_check.py
parses them, and its DMA, verification and finish checks are reused.
Output on stdout, one per line:
  RESULT<TAB>ok|fail<TAB>name<TAB>detail
  INFO<TAB>text
Exit status: 0 when the analysis ran (whatever the verdicts), 2 on bad usage
or an unreadable input.  Every check fails when its evidence is missing.

Modes: boot (multi-user, smmu-khod active, clean power-off); update
(`smmu-khoctl update` asks systemd for kexec.target); kexec (`update
--no-jump`, then a plain `systemctl kexec`; the state directory is a tmpfs,
so only the fd store can carry the journal); nopreserve (negative control:
FileDescriptorStorePreserve=no; the fd store is lost, the journal comes
from the state disk, and the fd-store check must reject the run).
"""
import argparse
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'e2e'))
import e2e_check  # noqa: E402  (Serial, Trace, Checks)

RE_TSTAMP = re.compile(r'^\[\s*(\d+\.\d+)\] ')
# smmu-khod's stderr reaches the console through journald (as
# "smmu-khod[PID]: ..."; without the "smmu-khod: info: " prefix it writes to
# a terminal or file).
RE_JOURNAL = re.compile(r'journal (\S+) seq (\d+) from ([\w-]+): (\w+) '
                        r'\(copies: disk ([\w ]+), fd-store ([\w ]+), luo ([\w ]+)\)')
RE_ANSI = re.compile(r'\x1b\[[0-9;:]*[A-Za-z]')


def result(ok, name, detail):
    print('RESULT\t%s\t%s\t%s' % ('ok' if ok else 'fail', name, detail.replace('\t', ' ')))


def info(text):
    print('INFO\t%s' % text.replace('\t', ' '))


def props(s, k, tag):
    d = {}
    for l in s.out.get((k, tag), []):
        if '=' in l:
            key, val = l.split('=', 1)
            d[key] = val
    return d


def raw_sections(path):
    """Raw serial lines (with printk times) split at 'Starting new kernel'."""
    with open(path, errors='replace') as f:
        lines = [RE_ANSI.sub('', l.rstrip('\r\n').replace('\r', '')) for l in f]
    cut = next((i for i, l in enumerate(lines) if 'kexec_core: Starting new kernel' in l), None)
    return (lines, []) if cut is None else (lines[:cut + 1], lines[cut + 1:])


def stamp(lines, needle):
    for l in lines:
        if needle in l:
            m = RE_TSTAMP.match(l)
            if m:
                return float(m.group(1))
    return None


def check_boot(s, k, pre, want_status=None):
    """systemd reached multi-user with smmu-khod.service active in kernel K."""
    if (k, 'hello') not in s.verbs:
        result(False, pre + 'driver_started',
               "no 'SKHOE2E k=%d hello' line: the driver never ran in kernel %d" % (k, k))
        return
    ver = s.out.get((k, 'systemd_version'), [])
    m = re.match(r'systemd (\d+)', ver[0]) if ver else None
    result(bool(m) and int(m.group(1)) >= 262, pre + 'systemd_is_262',
           'systemctl --version: %s' % (ver[0] if ver else 'no output'))
    state = s.out.get((k, 'is_system_running'), [])
    failed = s.out.get((k, 'failed_units'), [])
    st = state[-1] if state else 'no output'
    result(st == 'running' and s.rc.get((k, 'is_system_running')) == 0, pre + 'system_running',
           'systemctl is-system-running --wait: %s (rc %s)%s' % (
               st, s.rc.get((k, 'is_system_running')),
               '; failed units: ' + '; '.join(failed) if failed else ''))
    p = props(s, k, 'khod_show')
    result(p.get('ActiveState') == 'active' and p.get('SubState') == 'running' and
           p.get('Type') == 'notify', pre + 'khod_active',
           'smmu-khod.service ActiveState=%s SubState=%s Type=%s NFileDescriptorStore=%s' % (
               p.get('ActiveState'), p.get('SubState'), p.get('Type'),
               p.get('NFileDescriptorStore')))
    status = p.get('StatusText', '')
    ok = bool(re.match(r'[A-Z_]+(:|$)', status))
    if want_status:
        ok = ok and status.startswith(want_status)
    result(ok, pre + 'khod_status_line',
           'STATUS=%s%s' % (status or '(none)', ' (want %s)' % want_status if want_status else ''))
    mnt = s.out.get((k, 'state_mount'), [])
    result(bool(mnt) and mnt[0].split()[:2] == ['/dev/vdb', 'ext4'], pre + 'state_disk_mounted',
           '/var/lib/smmu-kho: %s' % (mnt[0] if mnt else 'not mounted'))
    up = s.data.get((k, 'boot'), {}).get('uptime_s')
    if up:
        info('kernel %d: multi-user reached %s s after the kernel started (guest clock, TCG)'
             % (k, up))


def statefs_clean(statefs):
    fs = {}
    for l in statefs.splitlines():
        if ':' in l:
            key, val = l.split(':', 1)
            fs[key.strip()] = val.strip()
    clean = (fs.get('Filesystem state') == 'clean' and
             'needs_recovery' not in fs.get('Filesystem features', 'needs_recovery') and
             fs.get('e2fsck_rc') == '0')
    return clean, 'state.img after power-off: state %s, needs_recovery %s, e2fsck -fn rc %s' % (
        fs.get('Filesystem state'), 'needs_recovery' in fs.get('Filesystem features', ''),
        fs.get('e2fsck_rc'))


def check_poweroff(s, k, qemu_rc, statefs, pre):
    down = 'reboot: Power down' in s.text
    bye = (k, 'bye') in s.verbs
    result(down and bye and qemu_rc == 0, pre + 'clean_poweroff',
           'kernel %d bye=%s, qemu rc %d, %s' % (k, bye, qemu_rc,
                                                "'reboot: Power down' seen" if down else
                                                'no power-down line'))
    ok, detail = statefs_clean(statefs)
    result(ok, pre + 'state_disk_clean', detail)


def journal_line(s):
    # kernel 2's daemon starts before the driver's hello: search after the jump
    txt = s.text
    cut = txt.find('kexec_core: Starting new kernel')
    return RE_JOURNAL.search(txt[cut:]) if cut >= 0 else None


def from_fd_store(s):
    """The journal came back from the fd store, the state directory empty."""
    m = journal_line(s)
    sd = s.data.get((2, 'statedir_before_khod'), {})
    ok = (m is not None and m.group(3) == 'fd-store' and m.group(4) == 'PRESERVED' and
          m.group(6) == 'seq ' + m.group(2) and e2e_check._i(sd, 'entries') == 0)
    return ok, ('state dir %s entries before smmu-khod started=%s; daemon: %s' % (
        sd.get('dir', '-'), sd.get('entries', '-'), m.group(0) if m else 'no "journal ... (copies: ...)" line'))


def fd_store_copy_current(s):
    """update mode: the fd store handed back the journal at the same seq as the disk."""
    m = journal_line(s)
    ok = (m is not None and m.group(4) == 'PRESERVED' and m.group(6) == 'seq ' + m.group(2) and
          m.group(7) == 'none')
    return ok, 'daemon: %s' % (m.group(0) if m else 'no "journal ... (copies: ...)" line')


def from_disk_fd_store_lost(s):
    """nopreserve: the fd store came back empty, the journal from the disk."""
    m = journal_line(s)
    ok = (m is not None and m.group(3) == 'disk' and m.group(4) == 'PRESERVED' and
          m.group(6) == 'none')
    return ok, 'daemon: %s' % (m.group(0) if m else 'no "journal ... (copies: ...)" line')


def update_flow(s, mode, k1raw):
    """The update ended in systemd's orderly kexec."""
    out = '\n'.join(s.out.get((1, 'update'), []))
    urc = s.rc.get((1, 'update'))
    sec1 = '\n'.join(k1raw)
    want = ['update: preserving 0000:00:02.0', 'update: freezing the translation state',
            'update: snapshot: ', 'update: loading /boot/Image (kexec_file_load)',
            "update: journal memfd in systemd's fd store (FDNAME=journal)"]
    if mode == 'update':
        want += ['update: asking systemd for the orderly kexec: StartUnit kexec.target '
                 'replace-irreversibly', 'update: systemd queued /org/freedesktop/systemd1/job/']
    missing = [w for w in want if w not in out]
    krc = s.rc.get((1, 'systemctl_kexec'))
    kstarted = s.data.get((1, 'systemctl_kexec'), {}).get('started') == '1'
    stop = re.search(r'smmu-khod\S*: stopping in PRESERVED: journal seq (\d+) committed', sec1)
    kexec = 'kexec_core: Starting new kernel' in sec1
    ok = urc == 0 and not missing and stop is not None and kexec
    if mode != 'update':
        # systemctl kexec waits for the shutdown and is stopped with the
        # driver's unit: it must not have failed (rc 0 or no rc at all).
        ok = ok and kstarted and krc in (None, 0)
    return ok, ('smmu-khoctl update rc=%s, progress missing: %s%s; smmu-khod on SIGTERM: %s; '
                'kexec: %s' % (urc, missing or 'none',
                               '' if mode == 'update' else
                               '; systemctl kexec started=%s rc=%s' % (kstarted, krc),
                               stop.group(0) if stop else 'no "stopping in PRESERVED" line',
                               kexec))


def orderly_shutdown(k1raw):
    """systemd stopped the services and unmounted the state disk before the jump."""
    sec = '\n'.join(k1raw)
    marks = [('kexec.target reached', re.search(r'Reached target .*[Kk]exec|kexec\.target', sec)),
             ('smmu-khod stopped', re.search(r'Stopped smmu-khod\.service|Stopped .*smmu-kho live-update daemon', sec)),
             ('state disk unmounted', re.search(r'EXT4-fs \(vdb\): unmounting filesystem', sec)),
             ('systemd-shutdown kexec', re.search(r'systemd-shutdown\[1\]: Rebooting with kexec', sec))]
    missing = [n for n, m in marks if not m]
    return not missing, 'missing from kernel 1\'s console before the jump: %s' % (missing or 'none')


def luo_preserved_journal(k1raw):
    """systemd-shutdown put the fd stores into its LUO session, smmu-khod's memfd among them."""
    sec = '\n'.join(k1raw)
    done = re.search(r"systemd-shutdown\[1\]: Preserved fd stores in LUO session 'systemd' for kexec",
                     sec)
    lost = re.search(r"systemd-shutdown\[1\]: Failed to preserve LUO fd \d+ \(name 'journal'\)[^\n]*",
                     sec)
    return done is not None and lost is None, ('systemd-shutdown: %s; journal memfd refused: %s' % (
        done.group(0) if done else 'no "Preserved fd stores in LUO session" line',
        lost.group(0) if lost else 'no'))


def marker_and_fs(s, k2raw):
    m1 = s.data.get((1, 'marker'), {})
    m2 = s.data.get((2, 'marker_after'), {})
    want = 'marker %s' % m1.get('boot_id', '?')
    sec2 = '\n'.join(k2raw)
    mounted = re.search(r'EXT4-fs \(vdb\): mounted filesystem', sec2)
    recovery = re.search(r'EXT4-fs \(vdb\): (recovery complete|orphan cleanup|'
                         r'warning: mounting unchecked|INFO: recovery required)', sec2)
    ok = (m1.get('written') == '0' and m2.get('content') == want and mounted is not None and
          recovery is None)
    return ok, ('marker written=%s, read after the jump: "%s" (want "%s"); kernel 2 mounted vdb=%s, '
                'journal recovery=%s' % (m1.get('written'), m2.get('content'), want,
                                         mounted is not None,
                                         recovery.group(0) if recovery else 'none'))


def print_story(path):
    """What an operator watching the console follows (make demo-systemd)."""
    keep = re.compile(r'smmu-khod\[\d+\]: |SKHOE2E k=\d out tag=(update|status_after_jump|'
                      r'khod_status|journal_sid) \||Reached target .*multi-user|'
                      r'Stopped smmu-khod\.service|EXT4-fs \(vdb\): (unmounting|mounted)|'
                      r'systemd-shutdown\[1\]: (Preserved fd stores|Rebooting with kexec)|'
                      r'kexec_core: Starting new kernel|KHO: found kexec handover|'
                      r'luo: Retrieved')
    k = 1
    with open(path, errors='replace') as f:
        for raw in f:
            line = RE_ANSI.sub('', raw.rstrip('\r\n').replace('\r', ''))
            line = RE_TSTAMP.sub('', line)
            if keep.search(line):
                line = re.sub(r'^SKHOE2E k=\d out tag=(\S+) \| ', r'[\1] ', line)
                print('[kernel %d] %s' % (k, line))
            if 'kexec_core: Starting new kernel' in line:
                k += 1
    return 0 if k == 2 else 1


def main():
    if len(sys.argv) == 3 and sys.argv[1] == '--print-story':
        return print_story(sys.argv[2])
    ap = argparse.ArgumentParser()
    ap.add_argument('--mode', required=True, choices=('boot', 'update', 'kexec', 'nopreserve'))
    ap.add_argument('--serial', required=True)
    ap.add_argument('--trace', required=True)
    ap.add_argument('--qemu-rc', type=int, required=True)
    ap.add_argument('--statefs', required=True)
    a = ap.parse_args()
    try:
        s = e2e_check.Serial(a.serial)
        t = e2e_check.Trace(a.trace)
        with open(a.statefs) as f:
            statefs = f.read()
        k1raw, k2raw = raw_sections(a.serial)
    except OSError as e:
        print('sysd_check: %s' % e, file=sys.stderr)
        return 2
    pre = 'sysd.%s.' % a.mode
    if a.mode == 'boot':
        check_boot(s, 1, pre)
        check_poweroff(s, 1, a.qemu_rc, statefs, pre)
        return 0
    c = e2e_check.Checks(s, t, a.qemu_rc)
    check_boot(s, 1, pre + 'k1.')
    for name, fn in (('update_ends_in_systemd_kexec', lambda: update_flow(s, a.mode, k1raw)),
                     ('services_stop_and_disk_unmounts_before_jump', lambda: orderly_shutdown(k1raw))):
        ok, detail = fn()
        result(ok, pre + name, detail)
    if a.mode != 'nopreserve':
        ok, detail = luo_preserved_journal(k1raw)
        result(ok, pre + 'systemd_shutdown_preserves_fd_store_in_luo', detail)
    check_boot(s, 2, pre + 'k2.', want_status='VERIFIED')
    if a.mode == 'kexec':
        ok, detail = from_fd_store(s)
        result(ok, pre + 'journal_from_fd_store_with_state_dir_empty', detail)
    elif a.mode == 'update':
        ok, detail = fd_store_copy_current(s)
        result(ok, pre + 'fd_store_hands_back_current_journal', detail)
    else:
        ok, detail = from_disk_fd_store_lost(s)
        result(ok, pre + 'fd_store_lost_journal_from_disk', detail)
        ok, detail = from_fd_store(s)
        result(not ok, pre + 'fd_store_check_rejects_it', 'journal_from_fd_store says %s: %s' % (
            ok, detail))
    for name, fn in (('status_json_reports_verified', c.status_verified),
                     ('zero_stes_lost', c.zero_lost),
                     ('dma_continuous_across_jump', c.dma_continuous),
                     ('marker_on_state_disk_and_clean_mount', lambda: marker_and_fs(s, k2raw)),
                     ('finish_releases_streams', c.finish_released)):
        ok, detail = fn()
        result(ok, pre + name, detail)
    js = s.out.get((2, 'journal_sid'), [])
    jv = s.out.get((2, 'journal_verified'), [])
    want = 'stream SID 0x10 (0000:00:02.0) on SMMU 0x9050000: update VERIFIED'
    result(want in js and any(l.startswith('state VERIFIED: ') for l in jv),
           pre + 'journal_has_structured_fields',
           'journalctl -u smmu-khod SKHO_SID=0x10: %s; MESSAGE_ID=...04 (VERIFIED): %s' % (
               js or 'nothing', jv or 'nothing'))
    kc = s.out.get((2, 'kexec_count'), [])
    st = [l for l in s.out.get((2, 'status_after_jump'), []) if l.startswith('systemd:')]
    result(bool(kc) and kc[0] == '1' and bool(st) and
           st[0].startswith('systemd:      KExecCount 1 ') and
           re.search(r', previous shutdown \d+\.\d{3} s$', st[0]) is not None,
           pre + 'status_shows_systemd_kexec_count_and_shutdown_time',
           'systemctl show -P KExecCount: %s; smmu-khoctl status: %s' % (
               kc[0] if kc else 'no output', st[0] if st else 'no systemd: line'))
    check_poweroff(s, 2, a.qemu_rc, statefs, pre + 'k2.')
    for l in s.out.get((2, 'shutdown_props'), []) + s.out.get((2, 'analyze_time'), []):
        info('kernel 2: %s' % l)
    t0 = stamp(k1raw, 'SKHOE2E k=1 data update_start')
    t1 = stamp(k1raw, 'kexec_core: Starting new kernel')
    up2 = s.data.get((2, 'boot'), {}).get('uptime_s')
    if t0 is not None and t1 is not None:
        info('update: %.1f s from `smmu-khoctl update` to the kexec (orderly shutdown), then %s s '
             'to multi-user in kernel 2 (guest clocks, TCG)' % (t1 - t0, up2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
