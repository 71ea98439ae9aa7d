# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real runc and crun builds for the host tests (not part of the collection).

`scripts/shared_builds.py` finds them (`shared/` beside the repository); a user's clone has none,
so every test that needs one skips with that reason (fails with it under RCG_REQUIRE_SHARED=1, as
in CI: `shared_builds.required()`). `unpacked()` unpacks a folder once per test
session (its own unpack.sh verifies the sha256 of every binary) into a temp dir removed at exit.

crun refuses this machine kind's hybrid cgroups (cgroup v1 controllers plus a cgroup2 mount at
/sys/fs/cgroup/unified). `crun_runner()` gives a wrapper that runs crun in a private mount
namespace with that mount detached, where crun sees plain cgroup v1; its seccomp path is
unchanged. The wrapper is made only when the machine has that layout, and only for tests: the
product drives the binary it is given, as it is.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import atexit
import os
import shlex
import shutil
import sys
import tempfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, 'scripts'))
import shared_builds  # noqa: E402  (scripts/: locating and unpacking, shared with Molecule)

UNIFIED = '/sys/fs/cgroup/unified'

SHARED = shared_builds.shared_dir()
RUNC_BUILDS = os.path.join(SHARED, 'runc-builds')
CRUN_BUILDS = os.path.join(SHARED, 'crun-builds')

# `runc --version` version and commit lines of each real build (shared/runc-builds/README.md).
RUNC = {
    'runc-v1.2.0-rc.1': ('1.2.0-rc.1', 'commit: v1.2.0-rc.1-0-g275e6d85f'),
    'runc-v1.2.0-rc.2': ('1.2.0-rc.2', 'commit: v1.2.0-rc.2-0-gf2d2ee5e4'),
    'runc-v1.2.0': ('1.2.0', 'commit: v1.2.0-0-g0b9fa21be'),
    'runc-v1.1.13': ('1.1.13', 'commit: v1.1.13-0-g58aa9203c'),
    'runc-v1.3.6': ('1.3.6', 'commit: v1.3.6-0-g491b69bab'),
}
CRUN = {'crun-1.5': '1.5', 'crun-1.6': '1.6'}

_UNPACKED = {}


def unpacked(folder):
    """{binary name: path} of a builds folder (RUNC_BUILDS, CRUN_BUILDS or its name), unpacked once
    and sha256-verified; skips when absent (fails when shared/ is required)."""
    name = os.path.basename(folder.rstrip('/'))
    if name not in _UNPACKED:
        if shared_builds.builds_dir(name) is None:
            if shared_builds.required():
                pytest.fail('RCG_REQUIRE_SHARED=1: %s' % shared_builds.absent_reason(name), pytrace=False)
            pytest.skip(shared_builds.absent_reason(name))
        dest = tempfile.mkdtemp(prefix='rcg-real-%s-' % name)
        atexit.register(shutil.rmtree, dest, True)
        _UNPACKED[name] = shared_builds.unpack(name, dest)
    return _UNPACKED[name]


def _build(folder, name):
    builds = unpacked(folder)
    if name not in builds:  # a folder without this build is as absent as no folder at all
        reason = '%s has no build %s (has: %s)' % (folder, name, ', '.join(sorted(builds)))
        if shared_builds.required():
            pytest.fail('RCG_REQUIRE_SHARED=1: %s' % reason, pytrace=False)
        pytest.skip(reason)
    return builds[name]


def runc_build(name):
    """Path of one real runc build, e.g. runc_build('runc-v1.2.0-rc.2')."""
    return _build(RUNC_BUILDS, name)


def crun_build(name):
    return _build(CRUN_BUILDS, name)


def _mounts():
    """[(mount point, fs type)] of this process."""
    found = []
    with open('/proc/self/mountinfo') as handle:
        for line in handle:
            fields = line.split()
            sep = fields.index('-')
            found.append((fields[4], fields[sep + 1]))
    return found


def hybrid_cgroups():
    """True when cgroup v1 controllers sit beside a cgroup2 mount at /sys/fs/cgroup/unified."""
    mounts = _mounts()
    return (UNIFIED, 'cgroup2') in mounts and any(fstype == 'cgroup' for _point, fstype in mounts)


WRAPPER = '''#!/bin/sh
# Test-only: crun in a private mount namespace without the cgroup2 mount of the hybrid layout.
# unshare and sh exec in place, so the PID a caller starts is crun's own.
exec unshare -m sh -c 'umount -l {unified} 2>/dev/null; exec "$0" "$@"' {crun} "$@"
'''


def crun_runner(crun, directory):
    """`crun` itself, or on hybrid cgroups a wrapper in `directory` that lets it run here."""
    if not hybrid_cgroups():
        return crun
    if shutil.which('unshare') is None:
        pytest.skip('hybrid cgroups and no unshare(1): crun cannot run containers here')
    path = os.path.join(directory, 'crun-%s' % os.path.basename(crun))
    with open(path, 'w') as handle:
        handle.write(WRAPPER.format(unified=shlex.quote(UNIFIED), crun=shlex.quote(crun)))
    os.chmod(path, 0o755)
    return path
