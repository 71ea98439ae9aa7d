# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: runtime_facts with ``users: auto`` on a host with 200 users vs ``users: none``.

A host tree (the scan's ``_root``) holds a system runc (a real build: its ``--version`` really runs)
and 200 users in /etc/passwd, /etc/subuid and /run/user/UID; 20 of them have a rootless setup:
their own runc (copies of the real builds, so the build-info reads are real), a containers.conf
naming it, a podman container spec with the bypass4netns NOTIFY list, a containerd user unit with
``Environment=PATH=...`` and a rootless containerd bundle; every file is owned by its user's uid.
Both variants run side by side, alternating, ``--repeat`` times each; the medians and their ratio
are printed (the goal: auto costs at most 1.5x none). Run from the repository with scripts/env.sh
sourced, as root (files are chowned to the users' uids):

    python benchmarks/rootless_users_bench.py --users 200 --with-setup 20 --repeat 7
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
B4N = ['bind', 'close', 'connect', 'setsockopt', 'fcntl', '_exit', 'exit_group', 'getpeername']


def _import():
    sys.path.insert(0, os.path.join(REPO, 'scripts'))
    try:
        from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import discovery as _discovery
    except ImportError:
        sys.path.insert(0, os.path.join(REPO, '.cache', 'collections'))
        from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import discovery as _discovery
    import shared_builds
    return _discovery, shared_builds


def _write(path, data, uid, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as handle:
        handle.write(data if isinstance(data, bytes) else data.encode('utf-8'))
    os.chmod(path, mode)
    os.chown(path, uid, uid)


def _chown_tree(top, uid):
    for root, dirs, files in os.walk(top):
        os.chown(root, uid, uid)
        for name in dirs + files:
            os.lchown(os.path.join(root, name), uid, uid)


def build_system(tree, builds, crun=None):
    """What the system scan finds on a typical container host: runc and crun (real builds, their
    --version runs), docker, containerd and podman configuration, the containers-common profile and
    this machine's dpkg database (the scan's package queries run against it)."""
    os.makedirs(os.path.join(tree, 'usr/bin'))
    shutil.copyfile(builds['runc-v1.3.6'], os.path.join(tree, 'usr/bin/runc'))
    os.chmod(os.path.join(tree, 'usr/bin/runc'), 0o755)
    if crun:
        shutil.copyfile(crun, os.path.join(tree, 'usr/bin/crun'))
        os.chmod(os.path.join(tree, 'usr/bin/crun'), 0o755)
    _write(os.path.join(tree, 'etc/docker/daemon.json'), '{"default-runtime": "runc"}\n', 0)
    _write(os.path.join(tree, 'etc/containerd/config.toml'), 'version = 2\n', 0)
    _write(os.path.join(tree, 'etc/containers/containers.conf'), '[engine]\nruntime = "runc"\n', 0)
    if os.path.exists('/usr/share/containers/seccomp.json'):
        os.makedirs(os.path.join(tree, 'usr/share/containers'))
        shutil.copyfile('/usr/share/containers/seccomp.json', os.path.join(tree, 'usr/share/containers/seccomp.json'))
    if os.path.isdir('/var/lib/dpkg'):
        shutil.copytree('/var/lib/dpkg', os.path.join(tree, 'var/lib/dpkg'), symlinks=True,
                        ignore=shutil.ignore_patterns('lock*', 'triggers'))


def build_host(tree, users, with_setup, builds):
    """The host tree: ``users`` accounts, ``with_setup`` of them rootless setups."""
    passwd, subuid = ['root:x:0:0:root:/root:/bin/sh'], []
    for index in range(users):
        uid = 20000 + index
        name = 'rcgbench%03d' % index
        home = '/home/%s' % name
        passwd.append('%s:x:%d:%d::%s:/bin/sh' % (name, uid, uid, home))
        subuid.append('%s:%d:65536' % (name, 100000 + index * 65536))
        _write(os.path.join(tree, home.lstrip('/'), '.profile'), '# nothing rootless here\n', uid)
        os.makedirs(os.path.join(tree, 'run/user/%d' % uid))
        os.chown(os.path.join(tree, 'run/user/%d' % uid), uid, uid)
        if index >= with_setup:
            _chown_tree(os.path.join(tree, home.lstrip('/')), uid)
            continue
        h = os.path.join(tree, home.lstrip('/'))
        source = builds['runc-v1.2.0-rc.2' if index % 2 else 'runc-v1.3.6']
        os.makedirs(os.path.join(h, '.local/bin'))
        shutil.copyfile(source, os.path.join(h, '.local/bin/runc'))
        os.chmod(os.path.join(h, '.local/bin/runc'), 0o755)
        _write(os.path.join(h, '.config/containers/containers.conf'),
               '[engine]\nruntime = "runc"\n\n[engine.runtimes]\nrunc = ["%s/.local/bin/runc"]\n' % home, uid)
        spec = {'ociVersion': '1.0.2', 'linux': {'seccomp': {
            'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/run/user/%d/bypass4netns/x.sock' % uid,
            'syscalls': [{'names': B4N, 'action': 'SCMP_ACT_NOTIFY'}]}}}
        _write(os.path.join(h, '.local/share/containers/storage/overlay-containers/c%03d/userdata/config.json'
                            % index), json.dumps(spec), uid)
        _write(os.path.join(h, '.config/systemd/user/containerd.service'),
               '[Service]\nEnvironment=PATH=%h/.local/bin:/usr/bin:/bin\n', uid)
        _write(os.path.join(tree, 'run/user/%d/containerd/io.containerd.runtime.v2.task/default/k%03d/config.json'
                            % (uid, index)), json.dumps(spec), uid)
        _chown_tree(h, uid)
        _chown_tree(os.path.join(tree, 'run/user/%d' % uid), uid)
    _write(os.path.join(tree, 'etc/passwd'), '\n'.join(passwd) + '\n', 0)
    _write(os.path.join(tree, 'etc/subuid'), '\n'.join(subuid) + '\n', 0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--users', type=int, default=200)
    parser.add_argument('--with-setup', type=int, default=20)
    parser.add_argument('--repeat', type=int, default=7)
    parser.add_argument('--bare', action='store_true',
                        help='a host with one runc and nothing else for the system scan to do (the worst case ratio)')
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit('run as root: the users\' files are chowned to their uids')
    discovery, shared_builds = _import()
    if shared_builds.builds_dir('runc-builds') is None:
        sys.exit(shared_builds.absent_reason('runc-builds'))
    work = tempfile.mkdtemp(prefix='rcg-rootless-bench-')
    try:
        builds = shared_builds.unpack('runc-builds', os.path.join(work, 'builds'))
        tree = os.path.join(work, 'host')
        crun = None
        if not args.bare and shared_builds.builds_dir('crun-builds') is not None:
            crun = shared_builds.unpack('crun-builds', os.path.join(work, 'crun')).get('crun-1.6')
        if args.bare:
            os.makedirs(os.path.join(tree, 'usr/bin'))
            shutil.copyfile(builds['runc-v1.3.6'], os.path.join(tree, 'usr/bin/runc'))
            os.chmod(os.path.join(tree, 'usr/bin/runc'), 0o755)
        else:
            build_system(tree, builds, crun)
        build_host(tree, args.users, args.with_setup, builds)
        times = {'none': [], 'auto': []}
        counts = {}
        discovery.gather(users='none', _root=tree)  # warm the page cache for both
        discovery.gather(users='auto', _root=tree)
        for _round in range(args.repeat):
            for mode in ('none', 'auto'):
                started = time.perf_counter()
                facts = discovery.gather(users=mode, _root=tree)
                times[mode].append(time.perf_counter() - started)
                counts[mode] = (len(facts['users']), len(facts['runtimes']), len(facts['profiles']),
                                len(facts['scan']['errors']))
        none, auto = statistics.median(times['none']), statistics.median(times['auto'])
        print('host: %s system, %d users (%d with rootless setups), %d rounds, median seconds per runtime_facts '
              'scan' % ('bare' if args.bare else 'typical', args.users, args.with_setup, args.repeat))
        for mode, value in (('none', none), ('auto', auto)):
            users, runtimes, profiles, errors = counts[mode]
            print('  users=%-4s  %.3f s   users %d, runtimes %d, profiles %d, errors %d'
                  % (mode, value, users, runtimes, profiles, errors))
        print('ratio auto/none: %.2f (goal <= 1.5)' % (auto / none))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
