# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check-then-use races on runtime binaries (issue 26), with a real attacker.

A real non-root user (``rcg-security-*``, from test_attacker.py) swaps a link in their own directory as
fast as they can (a rename loop) while root scans runtimes. Root's scan (the runtime_facts code, called
in this process so that it runs hundreds of times within seconds) must never run the user's program
(it would record uid 0 in a root-only file) and never read a root-only binary through the user's link
(its version would show in the facts). On a collection that checks one path and then uses another, or
checks a path and then opens it again, both happen within a few hundred scans.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import time

import pytest

import realruntimes
from test_attacker import SYSTEM_PYTHON, as_user, attacker, base, user_dirs, user_file  # noqa: F401 pylint: disable=unused-import

from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import host, pkgdb, rootfs, runtimes

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='needs root: creates users and scans as root')

SCANS = 400
TIME_LIMIT = 20.0  # seconds of scanning at most, whichever comes first (main failed within 8 and 131 scans)

# the attacker: replace <dir>/runc, alternately, by each of the given targets (a symlink to a path, or
# a hard link of a file of theirs: "=name"), as fast as rename(2) goes; counts its swaps in <dir>/count
FLIPPER = r'''
import os, sys
d, targets = sys.argv[1], sys.argv[2:]
print('ready', flush=True)
i = 0
while True:
    tmp = os.path.join(d, '.next')
    try:
        os.unlink(tmp)
    except OSError:
        pass
    target = targets[i % len(targets)]
    if target.startswith('='):
        os.link(os.path.join(d, target[1:]), tmp)
    else:
        os.symlink(target, tmp)
    os.rename(tmp, os.path.join(d, 'runc'))
    i += 1
    if i % 1000 == 0:
        with open(os.path.join(d, 'count.tmp'), 'w') as handle:
            handle.write(str(i))
        os.rename(os.path.join(d, 'count.tmp'), os.path.join(d, 'count'))
'''


def _flipping(user, home, targets):
    proc = as_user(user, [SYSTEM_PYTHON, '-c', FLIPPER, home] + targets, stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE)
    assert proc.stdout.readline() == b'ready\n', proc.stderr.read()
    return proc


def _swaps(home):
    try:
        with open(os.path.join(home, 'count')) as handle:
            return int(handle.read() or 0)
    except (IOError, OSError, ValueError):
        return 0


def _scan(paths, pkg=None):
    fs = rootfs.make_fs('/')
    errors = []
    found = runtimes.gather_runtimes(fs, host.bounded_runner(10, 0), [], paths, False, errors,
                                     pkgdb=pkgdb.PackageDb(fs) if pkg else None)
    return found, errors


def test_root_never_runs_the_program_a_user_swaps_in(attacker, base):
    """The user's link flips between root's runtime (which root may run) and the user's own program. The
    scan names the user's link first and root's runtime second: a scan that resolves or checks one path
    and runs another runs the user's program as root. Root runs only the file it checked."""
    rootbin = os.path.join(base, 'rootbin')
    os.mkdir(rootbin, 0o755)
    good = os.path.join(rootbin, 'runc')
    with open(good, 'w') as handle:
        handle.write('#!/bin/sh\necho "runc version 1.1.13"\necho "commit: v1.1.13-0-g58aa9203c"\n')
    os.chmod(good, 0o755)
    ran = os.path.join(base, 'ran-as')  # root's directory: only root can write here
    home = os.path.join(base, 'home')
    user_dirs(attacker, home)
    user_file(attacker, os.path.join(home, 'evil'), '#!/bin/sh\nid -u >> %s\necho "runc version 6.6.6"\n' % ran,
              mode=0o755)
    link = os.path.join(home, 'runc')
    os.symlink(good, link)
    os.lchown(link, attacker.pw_uid, attacker.pw_gid)
    flipper = _flipping(attacker, home, [os.path.join(home, 'evil'), good])
    versions, start, scans = set(), time.monotonic(), 0
    try:
        while scans < SCANS and time.monotonic() - start < TIME_LIMIT:
            found, _errors = _scan([link, good])
            versions.update(r['version'] for r in found)
            scans += 1
            assert not os.path.exists(ran), 'root ran the user\'s program after %d scans' % scans
    finally:
        flipper.kill()
        flipper.communicate()
    assert _swaps(home) > 1000, 'the race did not run'
    assert '6.6.6' not in versions and '1.1.13' in versions, versions
    assert not os.path.exists(ran)


def test_root_never_reads_a_root_only_binary_through_a_users_swap(attacker, base):
    """audit_execute: false (static reads): the user's runc flips between their own real runc 1.2.0-rc.2
    and a link to a root-only real runc 1.1.13. The scan checks the user's path; a scan that then opens
    the path again reads root's binary for the user and reports 1.1.13. Root reads only the file it
    checked: 1.2.0-rc.2, or an error entry."""
    secret = os.path.join(base, 'secret')
    os.mkdir(secret, 0o700)
    hidden = os.path.join(secret, 'runc')
    with open(realruntimes.runc_build('runc-v1.1.13'), 'rb') as src, open(hidden, 'wb') as dst:
        dst.write(src.read())
    os.chmod(hidden, 0o700)
    home = os.path.join(base, 'home')
    user_dirs(attacker, home)
    with open(realruntimes.runc_build('runc-v1.2.0-rc.2'), 'rb') as src:
        user_file(attacker, os.path.join(home, 'mine'), src.read(), mode=0o755)
    link = os.path.join(home, 'runc')
    os.link(os.path.join(home, 'mine'), link)
    flipper = _flipping(attacker, home, [hidden, '=mine'])
    versions, errors, start, scans = set(), [], time.monotonic(), 0
    try:
        while scans < SCANS and time.monotonic() - start < TIME_LIMIT:
            found, errs = _scan([link], pkg=True)
            versions.update(r['version'] for r in found)
            errors.extend(e['error'] for e in errs)
            scans += 1
            assert '1.1.13' not in versions, 'root read the root-only binary after %d scans' % scans
    finally:
        flipper.kill()
        flipper.communicate()
    assert _swaps(home) > 1000, 'the race did not run'
    assert '1.2.0-rc.2' in versions, (versions, errors[:5])
    assert not [e for e in errors if 'secret' in e], errors[:5]  # no error names where the link led
