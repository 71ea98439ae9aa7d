# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real runc and crun builds for the host tests (not part of the collection).

The builds live in `shared/runc-builds/` and `shared/crun-builds/` beside the repository (CI puts
`shared/` next to the clone; a git worktree looks beside its main checkout); a user's clone has none, so every test that needs one skips with
that reason. `unpacked()` unpacks a folder once per test session (its own unpack.sh verifies the
sha256 of every binary) into a temp dir removed at exit.

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
import subprocess
import tempfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def shared_dir(root=REPO):
    """<repo>/../shared, or beside the main checkout when <repo> is a git worktree."""
    candidates = [os.path.join(os.path.dirname(root), 'shared')]
    dot_git = os.path.join(root, '.git')
    if os.path.isfile(dot_git):  # worktree: "gitdir: <main>/.git/worktrees/<name>"
        with open(dot_git) as handle:
            gitdir = handle.read().partition('gitdir:')[2].strip()
        main = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(gitdir))))
        candidates.append(os.path.join(os.path.dirname(main), 'shared'))
    for candidate in candidates:
        if os.path.isdir(candidate):
            return candidate
    return candidates[0]


SHARED = shared_dir()
RUNC_BUILDS = os.path.join(SHARED, 'runc-builds')
CRUN_BUILDS = os.path.join(SHARED, 'crun-builds')
UNIFIED = '/sys/fs/cgroup/unified'

# `runc --version` first and commit lines of each real build (shared/runc-builds/README.md).
RUNC = {
    'runc-v1.2.0-rc.1': ('1.2.0-rc.1', 'commit: v1.2.0-rc.1-0-g275e6d85f'),
    'runc-v1.2.0-rc.2': ('1.2.0-rc.2', 'commit: v1.2.0-rc.2-0-gf2d2ee5e4'),
    'runc-v1.2.0': ('1.2.0', 'commit: v1.2.0-0-g0b9fa21be'),
    'runc-v1.1.13': ('1.1.13', 'commit: v1.1.13-0-g58aa9203c'),
}
CRUN = {'crun-1.5': '1.5', 'crun-1.6': '1.6'}

_UNPACKED = {}


def _cleanup(path):
    shutil.rmtree(path, ignore_errors=True)


def unpacked(folder):
    """{binary name: path} of a builds folder, unpacked and sha256-verified; skips when absent."""
    if folder in _UNPACKED:
        return _UNPACKED[folder]
    script = os.path.join(folder, 'unpack.sh')
    if not os.path.isfile(script):
        pytest.skip('real runtime builds not found at %s (shared/ beside the repository: CI has it, '
                    'a clone of the collection does not)' % folder)
    dest = tempfile.mkdtemp(prefix='rcg-real-%s-' % os.path.basename(folder))
    atexit.register(_cleanup, dest)
    proc = subprocess.run(['sh', script, dest], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=300, check=False)
    assert proc.returncode == 0, 'unpack/sha256 check of %s failed: %s' % (folder, proc.stdout.decode()[-2000:])
    found = dict((name, os.path.join(dest, name)) for name in os.listdir(dest)
                 if os.access(os.path.join(dest, name), os.X_OK))
    _UNPACKED[folder] = found
    return found


def runc_build(name):
    """Path of one real runc build, e.g. runc_build('runc-v1.2.0-rc.2')."""
    return unpacked(RUNC_BUILDS)[name]


def crun_build(name):
    return unpacked(CRUN_BUILDS)[name]


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
