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
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.runtimes import gather_runtimes

SCHEMA = 1
# Defaults of gather()'s options (runtime_facts uses them for its argument spec).
COMMAND_TIMEOUT = 10
MAX_PROFILE_SIZE = 1024 * 1024


def gather(*, profile_paths=(), runtime_paths=(), discover=True, command_timeout=COMMAND_TIMEOUT,
           max_profile_size=MAX_PROFILE_SIZE, scan_timeout=0, root=None, execute=None, _root='/'):
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

    profiles = Profiles(fs, max(1, int(max_profile_size)), arch, kernel, errors, 'cri-o' in names)
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
