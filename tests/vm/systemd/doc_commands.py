#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Extract the operator guide's systemd walkthrough commands, and judge that the systemd VM run ran each one with the outcome the guide names.

docs/operator-guide.md marks each shell block of the walkthrough with a
comment line `<!-- doc-test phase=PHASE [tag=TAG] -->` right above it.
PHASE says where and when the block runs:
  host        the image build (tests/vm/systemd/sysd.sh runs `make install`
              with DESTDIR=<staging> INSTALL_ARCH=arm64 appended)
  k1-install, k1-arm, k1-update   kernel 1, in this order (the guest driver,
              tests/vm/systemd/guest/skho-sysd-drive.sh, update mode)
  k2, k2-finish, k2-after         kernel 2, after the jump
TAG (blocks of one command only) is the driver's name for the output,
where the run's other checks read it too (`update`, `finish`); otherwise a
command's tag is doc_N.  A trailing `# expect: TEXT` comment names text the
output must hold; every command must exit 0.

Usage:
  doc_commands.py list DOC         one line per command: id, phase, tag,
                                   expect (- if none), command (tab-separated)
  doc_commands.py guest DOC        the guest's file: phase, tag, command
  doc_commands.py check DOC --serial LOG --host-results FILE [--mode M]
      RESULT lines (as sysd_check.py): one per command of DOC, ok if the run
      shows it ran (an "rc tag=..." line, or a host result) with exit 0 and
      its expected text; then a control: the same check on DOC plus a
      command the guest never ran must fail that command.
Exit status: 0 (list/guest: the doc is well formed; check: the analysis
ran), 2 on a malformed doc (a shell block of the walkthrough without a
marker, a marker without a block, an unknown phase, a tag on a block of
several commands, a command in a block not marked sh) or unreadable input.
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'e2e'))
import e2e_check  # noqa: E402  (Serial)

PHASES = ('host', 'k1-install', 'k1-arm', 'k1-update', 'k2', 'k2-finish', 'k2-after')
RE_MARK = re.compile(r'^<!-- doc-test phase=(\S+)(?: tag=(\S+))? -->$')
RE_EXPECT = re.compile(r'\s+#\s*expect:\s*(.*)$')
SECTION = '## Running an update with systemd'
# what a command line of the walkthrough starts with (to catch one hidden in a non-sh block)
RE_COMMAND = re.compile(r'^(sudo\s+)?(smmu-khoctl|smmu-khod|systemctl|journalctl|systemd-\w+|make|cp)\s')


class DocError(Exception):
    pass


def extract(path):
    """[(id, phase, tag, expect, command)] of the walkthrough, in order."""
    with open(path) as f:
        lines = f.read().split('\n')
    try:
        a = lines.index(SECTION)
    except ValueError:
        raise DocError('%s: no "%s" section' % (path, SECTION))
    b = next((i for i in range(a + 1, len(lines)) if lines[i].startswith('## ')), len(lines))
    cmds, mark, i = [], None, a
    while i < b:
        line = lines[i]
        m = RE_MARK.match(line)
        if m:
            if m.group(1) not in PHASES:
                raise DocError('%s:%d: unknown phase %s' % (path, i + 1, m.group(1)))
            mark = (i + 1, m.group(1), m.group(2))
            i += 1
            continue
        if line.startswith('```'):
            info = line[3:].strip()
            end = next((j for j in range(i + 1, b) if lines[j].startswith('```')), None)
            if end is None:
                raise DocError('%s:%d: unterminated code block' % (path, i + 1))
            body = [l for l in lines[i + 1:end] if l.strip()]
            if info == 'sh':
                if mark is None or mark[0] != i:
                    raise DocError('%s:%d: shell block without a doc-test marker right above it'
                                   % (path, i + 1))
                if mark[2] and len(body) != 1:
                    raise DocError('%s:%d: tag=%s on a block of %d commands'
                                   % (path, i + 1, mark[2], len(body)))
                for l in body:
                    e = RE_EXPECT.search(l)
                    n = len(cmds) + 1
                    cmds.append(('doc_%d' % n, mark[1], mark[2] or 'doc_%d' % n,
                                 e.group(1).strip() if e else '', l.strip()))
            elif mark is not None and mark[0] == i:
                raise DocError('%s:%d: doc-test marker above a non-sh block' % (path, i + 1))
            elif any(RE_COMMAND.match(l) for l in body):
                raise DocError('%s:%d: commands in a block not marked ```sh (so not run)'
                               % (path, i + 1))
            mark = None
            i = end + 1
            continue
        if mark is not None and mark[0] != i + 1 and line.strip():
            raise DocError('%s:%d: doc-test marker not followed by a shell block'
                           % (path, mark[0]))
        i += 1
    order = [PHASES.index(c[1]) for c in cmds]
    if order != sorted(order):
        raise DocError('%s: walkthrough phases out of order: %s' % (path, [c[1] for c in cmds]))
    if not cmds:
        raise DocError('%s: no doc-test commands in "%s"' % (path, SECTION))
    return cmds


def slug(cmd):
    words = re.sub(r'\s+#.*$', '', cmd).split()[:4]
    return re.sub(r'[^A-Za-z0-9]+', '_', '_'.join(words)).strip('_')[:48]


def host_results(path):
    """id -> (rc, output) of the host-phase commands sysd.sh ran."""
    res = {}
    with open(path, errors='replace') as f:
        for line in f:
            p = line.rstrip('\n').split('\t', 2)
            if len(p) == 3 and p[0] == 'HOST':
                res[p[1]] = (int(p[2]), '')
            elif len(p) == 3 and p[0] == 'OUT':
                rc, out = res.get(p[1], (None, ''))
                res[p[1]] = (rc, out + p[2] + '\n')
    return res


def judge(cmds, s, host):
    """[(ok, name, detail)] per command."""
    out = []
    for cid, phase, tag, expect, cmd in cmds:
        if phase == 'host':
            rc, text = host.get(cid, (None, ''))
        else:
            k = 1 if phase.startswith('k1') else 2
            rc = s.rc.get((k, tag))
            text = '\n'.join(s.out.get((k, tag), []))
        ok = rc == 0 and expect in text
        where = 'image build' if phase == 'host' else 'kernel %s, tag %s' % (phase[1], tag)
        out.append((ok, '%s_%s' % (cid, slug(cmd)),
                    '`%s` (%s): %s, expect %s' % (
                        cmd, where, 'not run' if rc is None else 'exit %d' % rc,
                        '"%s" %s' % (expect, 'seen' if expect in text else 'MISSING')
                        if expect else 'exit 0 only')))
    return out


def main():
    if len(sys.argv) >= 3 and sys.argv[1] in ('list', 'guest', 'check'):
        try:
            cmds = extract(sys.argv[2])
        except (DocError, OSError) as e:
            print('doc_commands: %s' % e, file=sys.stderr)
            return 2
    else:
        print(__doc__.split('\n\n')[2], file=sys.stderr)
        return 2
    if sys.argv[1] == 'list':
        for c in cmds:     # '-' for no expect: shells' read folds empty tab fields
            print('\t'.join(c[:3] + (c[3] or '-', c[4])))
        return 0
    if sys.argv[1] == 'guest':
        for c in cmds:
            if c[1] != 'host':
                print('%s\t%s\t%s' % (c[1], c[2], c[4]))
        return 0
    args = dict(zip(sys.argv[3::2], sys.argv[4::2]))
    try:
        s = e2e_check.Serial(args['--serial'])
        host = host_results(args['--host-results'])
    except (KeyError, OSError) as e:
        print('doc_commands: %s' % e, file=sys.stderr)
        return 2
    pre = 'sysd.%s.doc.' % args.get('--mode', 'update')
    for ok, name, detail in judge(cmds, s, host):
        print('RESULT\t%s\t%s\t%s' % ('ok' if ok else 'fail', pre + name, detail.replace('\t', ' ')))
    # control: a documented command the guest never ran fails
    extra = ('doc_%d' % (len(cmds) + 1), 'k2-after', 'doc_%d' % (len(cmds) + 1), '',
             'smmu-khoctl never-run-by-the-guest')
    ctl = judge(cmds + [extra], s, host)[-1]
    print('RESULT\t%s\t%s\t%s' % ('fail' if ctl[0] else 'ok', pre + 'control_unrun_command_fails',
                                  'a command the guest did not run: %s' % ctl[2]))
    print('INFO\t%d commands of the operator guide checked (%d in the guest)' % (
        len(cmds), len([c for c in cmds if c[1] != 'host'])))
    return 0


if __name__ == '__main__':
    sys.exit(main())
