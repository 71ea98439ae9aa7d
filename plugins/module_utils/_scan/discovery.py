# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Host scan behind runcguard.seccomp.runtime_facts: runtimes, seccomp profiles, engines.

Pure stdlib, Python 3.9+. `gather(...)` never raises for host trouble: every bad file, binary or
config becomes an `error` entry naming the path, and the rest is returned. Commands run through
`_command.run` (argv lists, LANG=C, the whole process group killed after `command_timeout`)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import time

from ansible_collections.runcguard.seccomp.plugins.module_utils._files import Fs, utf8_safe
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.engines import read_all
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.host import add_error as _error, bounded_runner, host_libseccomp
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.pkgdb import PackageDb
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.profiles import (
    KUBELET_SECCOMP, STANDARD_PROFILES, Profiles, bundles, docker_hostconfigs, user_profiles, walk,
)
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.rootfs import HostFs, RootFs
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import agents as agents_scan
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import find_users
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.runtimes import gather_runtimes
from ansible_collections.runcguard.seccomp.plugins.module_utils._version import parse_runtime_version

SCHEMA = 1
# Defaults of gather()'s options (runtime_facts uses them for its argument spec).
COMMAND_TIMEOUT = 10
MAX_PROFILE_SIZE = 1024 * 1024
# Profiles read per host and per user at most (5,000 profiles took 49 s on a small VM): past a cap, an error
# entry says so and the rest of the scan goes on. 0: no cap.
MAX_PROFILES = 2000
MAX_PROFILES_PER_USER = 200
USERS = 'auto'


class _BuildInfo(object):
    """The ``buildinfo`` module, imported on first use (see _scan/__init__.py): it reads the Go build
    information of a user's or an agent's binary, or any binary with execute=false."""

    def __getattr__(self, name):
        from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import buildinfo
        return getattr(buildinfo, name)


go_buildinfo = _BuildInfo()


def check_users(value):
    """The ``users`` option: 'auto', 'none' or a list of names/uids. Raises ValueError naming the problem."""
    if value is None:
        return 'none'
    if isinstance(value, str):
        if value in ('auto', 'none'):
            return value
        raise ValueError("users must be 'auto', 'none' or a list of user names, got %r" % value[:100])
    if isinstance(value, (list, tuple)):
        out = []
        for index, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, (str, int)) or not str(item).strip():
                raise ValueError('users[%d] must be a user name or uid' % index)
            out.append(str(item).strip())
        if len(out) > find_users.MAX_USERS:
            raise ValueError('users names %d users; at most %d per host' % (len(out), find_users.MAX_USERS))
        return out
    raise ValueError("users must be 'auto', 'none' or a list of user names, got %s" % type(value).__name__)


def _users(fs, users, engine_facts, errors):
    """Rootless setups: [(user, UserScan or None)] for the ``users`` option."""
    found = find_users.find_users(fs, users, errors)
    if not found:
        return []
    from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import users as users_scan  # lazy
    system = {'mounts': find_users.mount_table(fs),
              'podman': {'default_runtime': (engine_facts.get('podman') or {}).get('default_runtime')}}
    return users_scan.scan_users(fs, found, system, go_buildinfo, errors)


def _static_only(entry, user):
    """execute=false: a user's binary without usable build info keeps no version (nothing is run)."""
    entry['error'] = 'version not read: no usable Go build information, and execute is false'


def _user_error(user):
    return {'name': user['name'], 'uid': user['uid'], 'home': user['home'], 'runtime_dir': user['runtime_dir'],
            'signals': list(user['signals']), 'processes': list(user.get('processes') or ()), 'engines': {},
            'agents': [], 'nerdctl': [], 'units': [], 'error': user.get('error')}


def gather(*, profile_paths=(), runtime_paths=(), discover=True, command_timeout=COMMAND_TIMEOUT,
           max_profile_size=MAX_PROFILE_SIZE, scan_timeout=0, root=None, execute=None, users=USERS,
           max_profiles=MAX_PROFILES, max_profiles_per_user=MAX_PROFILES_PER_USER, _root='/'):
    """Scan the host: the facts dict of runtime_facts (its options, same names and defaults).

    ``root``: audit the node whose root file system is mounted there (paths reported as the node sees
    them, symlinks resolved inside it, nothing under it executed). ``execute``: run the runtimes'
    ``--version`` and the package manager (default: yes without ``root``); false reads versions from
    the files only (Go build information, dpkg status / rpm database, nerdctl-full's list). Raises
    FileProblem when ``root`` is not a directory, ValueError for ``root`` with ``execute=True``.
    `_root` (private, tests only) reads a tree instead of '/'; commands still run for real.
    """
    started = time.time()
    if root and execute:
        raise ValueError('root=%s reads the node\'s files and runs none of them: execute must be false' % root)
    static = bool(root) or execute is False
    if root:
        fs = RootFs(root)
    elif static:  # the host itself, or a test tree, read and never run
        fs = HostFs() if _root in ('/', None) else RootFs(_root)
    else:
        fs = Fs(_root)
    pkgdb = PackageDb(fs) if static else None
    errors = []
    uname = os.uname()
    arch, kernel = uname.machine, uname.release
    run = bounded_runner(command_timeout, scan_timeout)

    engines = []
    if discover:
        try:
            engines = read_all(fs)
        except Exception as exc:  # never lose the host's facts to one reader's bug
            _error(errors, '/', 'engine configuration could not be read: %s: %s' % (type(exc).__name__, exc))
    engine_facts = {}
    for eng in engines:
        if eng.present or eng.config or eng.errors:
            engine_facts[eng.name] = eng.facts()
        for message in eng.errors:
            path = message.split(': ', 1)[0]
            _error(errors, path, message.split(': ', 1)[-1])
    names = set(engine_facts)

    runtimes = gather_runtimes(fs, run, engines, runtime_paths or (), discover, errors, pkgdb)
    # users' rootless setups: on the live host only (a mounted node root has no running users); with
    # execute=false nobody's binary is run, not even as its owner
    scans = _users(fs, users, engine_facts, errors) if discover and not root else []
    for entry in runtimes:  # the system's binaries; merge_runtimes adds the users who use one
        entry.update(owner=None, users=[])
    if scans:
        from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import user_runtimes  # lazy
        user_runtimes.merge_runtimes(fs, scans, runtimes, go_buildinfo,
                                     user_runtimes.run_version_as_owner(run, parse_runtime_version)
                                     if not static else _static_only, errors)

    # bypass4netns agents installed system-wide (a user's own are in that user's entry)
    agents = agents_scan.system_agents(fs, go_buildinfo, errors, processes=not root) if discover else []

    profiles = Profiles(fs, max(1, int(max_profile_size)), arch, kernel, errors, 'cri-o' in names,
                        max_profiles=max(0, int(max_profiles)), max_per_user=max(0, int(max_profiles_per_user)))
    if discover:
        for eng in engines:
            for path, setting in eng.profiles:
                profiles.add_file(path, eng.name, setting, must_exist=True)
        for path in STANDARD_PROFILES:
            profiles.add_file(path, 'containers-common', 'default profile file')
        walk(fs, profiles, KUBELET_SECCOMP, 'kubelet', 'localhost profile root %s' % KUBELET_SECCOMP, errors,
             {KUBELET_SECCOMP + '/operator/': 'security-profiles-operator (%s/operator)' % KUBELET_SECCOMP})
        bundles(fs, profiles, names)
        docker = engine_facts.get('docker')
        if docker:
            docker_hostconfigs(fs, profiles, docker.get('data_root') or '/var/lib/docker', errors)
    for user, scan in scans:
        if scan is None:
            continue
        for path, engine, setting, bundle, must_exist in scan.profiles:
            profiles.add_file(path, engine, setting, must_exist=must_exist, bundle=bundle, user=user)
        for key, path, data, engine, setting in scan.generated:
            profiles.add_inline(path, key, data, engine, setting, None, owner=scan.owner, realpath=None)
    user_profiles(fs, profiles, profile_paths, errors)
    profile_list = profiles.finish()

    facts = {
        'schema': SCHEMA,
        'arch': arch,
        'kernel': kernel,
        'libseccomp': host_libseccomp(fs),
        'runtimes': runtimes,
        'profiles': profile_list,
        'engines': engine_facts,
        'agents': agents,
        'users': [scan.facts() if scan is not None else _user_error(user) for user, scan in scans],
        'scan': {
            'duration_ms': int((time.time() - started) * 1000),
            'files_seen': profiles.files_seen,
            'errors': errors,
            'root': fs.root if root else '/',
            'executed': not static,
        },
    }
    try:  # the usual case, in one C pass: nothing to escape
        json.dumps(facts, ensure_ascii=False).encode('utf-8')
        return facts
    except UnicodeEncodeError:  # a non-UTF-8 name or a lone surrogate somewhere: escape, never fail
        return utf8_safe(facts)
