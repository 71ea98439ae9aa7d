# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Runtime binaries for the runtime_facts scan: where they are, what `--version` says, which
package owns them. Pure stdlib, Python 3.9+; every bad binary becomes an error entry."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import json
import os

from ansible_collections.runcguard.seccomp.plugins.module_utils._files import FileProblem, describe_os_error
from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile import check_read, open_executable, open_for_read
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.engines import DISTRIBUTION_ROOTS, RUNTIME_DIRS, RUNTIME_GLOBS, RUNTIME_NAMES
from ansible_collections.runcguard.seccomp.plugins.module_utils import _command
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.changelog import add_advisory_ids
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.host import add_error as _error
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.pkgdb import PackageDb, nerdctl_full_version
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.rootfs import HostFs, RootFs
from ansible_collections.runcguard.seccomp.plugins.module_utils._version import (
    normalise_version, parse_features_json, parse_runtime_version, version_from_build_info,
)


def _runtime_candidates(fs, engines, runtime_paths, discover):
    """Ordered {host path: {'reason': text, 'must_exist': bool, 'used_by': set}}."""
    cands = {}

    def add(path, reason, must_exist=False, engine=None):
        entry = cands.setdefault(path, {'reason': reason, 'must_exist': False, 'used_by': set()})
        entry['must_exist'] = entry['must_exist'] or must_exist
        if engine:
            entry['used_by'].add(engine)

    if discover:
        for d in RUNTIME_DIRS:
            for name in RUNTIME_NAMES:
                add(os.path.join(d, name), 'standard location')
        for pattern, engine in RUNTIME_GLOBS:
            for name in RUNTIME_NAMES:
                for path in fs.glob(pattern % name):
                    add(path, '%s bundled runtime' % engine, engine=engine)
        for eng in engines:
            for engine, setting, paths, named in eng.uses:
                if paths:
                    add(paths[0], '%s %s' % (engine, setting), must_exist=True, engine=engine)
                elif named:  # the config names a binary that is not there: worth an error entry
                    add(named, '%s %s, not found on PATH' % (engine, setting), must_exist=True, engine=engine)
    for pattern in runtime_paths:
        matches = fs.glob(pattern) if glob.has_magic(pattern) else [pattern]
        if not matches:
            add(pattern, 'runtime_paths (no match)', must_exist=True)
        for path in matches:
            add(path, 'runtime_paths', must_exist=True)
    return cands


def _same_file(fd, ident):
    st = os.fstat(fd)
    return ident is None or (st.st_dev, st.st_ino) == ident


def read_version(fs, run, entry, ident=None):
    """Fill version fields of one runtime entry by running `<binary> --version`.

    The binary is opened once (``open_executable``: the walk of a path as named, then the descriptor
    checked: owner, mode, every directory above, the inode the scan found as ``ident``) and exactly that
    file is run, as ``/proc/self/fd/N``; a binary root may not run is read statically through a
    descriptor opened the same way. Nothing is looked up by its path twice."""
    if not os.access(fs.real(entry['realpath']), os.X_OK):
        entry['error'] = 'not executable'
        return
    fd, why = None, None
    # the policy applies to the paths as named (a user's link chain), never to the resolved target
    for named in entry['paths']:
        fd, reason = open_executable(fs.real(named))
        if fd is not None and not _same_file(fd, ident):
            os.close(fd)
            fd, reason = None, 'changed while it was scanned (renamed or replaced); not run'
        if fd is not None:
            break
        why = why or reason
    if fd is None:  # a user's binary: never run as root, its version read statically (issue 26)
        _static_version(fs.real(entry['path']), entry, why, ident)
        return
    try:
        _run_version(run, fd, fs.real(entry['realpath']), entry)
    finally:
        os.close(fd)


def _run_version(run, fd, name, entry):
    rc, out, err, problem = run([name, '--version'], fd=fd)
    text = out.decode('utf-8', 'replace')
    if problem:
        entry['raw'] = text[:2048] or None
        entry['error'] = problem
        return
    parsed = parse_runtime_version(text)
    if rc != 0 and not parsed.get('version'):
        parsed['error'] = 'exited with rc=%d: %s' % (rc, err.decode('utf-8', 'replace').strip()[:200])
    for key in ('version', 'version_source', 'dev', 'commit', 'spec', 'go', 'libseccomp', 'raw', 'error'):
        entry[key] = parsed.get(key)
    if parsed.get('name'):  # a binary called runc that says it is crun (or the reverse) is what it says
        entry['name'] = parsed['name']
    if entry['name'] == 'runc' and not entry['version'] and not (parsed.get('error') or '').startswith('unparsable'):
        _features(run, fd, name, entry)


def _static_version(named, entry, why, ident=None):
    """Version fields from the binary's Go build information, read (never run) race-free as root
    through the path as named (a user's link is followed only into what that user can read), from the
    descriptor that was checked."""
    try:
        fd = open_for_read(named)
    except FileProblem as exc:
        entry['error'] = 'not run as root: %s; version unknown (%s)' % (why, exc.message)
        return
    try:
        if not _same_file(fd, ident):
            entry['error'] = 'not run as root: %s; changed while it was scanned, version unknown' % why
            return
        from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.buildinfo import read_build_info_fd  # lazy
        parsed = version_from_build_info(read_build_info_fd(fd))
    finally:
        os.close(fd)
    for key in ('version', 'version_source', 'dev', 'commit', 'spec', 'go', 'libseccomp', 'raw'):
        entry[key] = parsed.get(key)
    if parsed.get('version') or parsed.get('commit'):
        entry['error'] = None
    else:
        unknown = parsed.get('error') or 'not in its Go build information'
        entry['error'] = 'not run as root: %s; version unknown (%s)' % (why, unknown)


_VERSION_KEYS = ('version', 'version_source', 'dev', 'commit', 'spec', 'go', 'libseccomp', 'raw', 'error')


def _open_static(fs, entry, ident):
    """A descriptor of the binary for a static read: on ``/``, opened as root race-free through a path as
    named (``open_for_read``: a user's link is followed only into what that user could read) and checked to
    be the inode the scan found; under an audited root, the root's own no-follow walk."""
    if fs.root != '/':
        return fs.open_read(entry['realpath'])
    problem = None
    for named in entry['paths']:
        try:
            fd = open_for_read(named)
        except FileProblem as exc:
            problem = problem or exc
            continue
        if _same_file(fd, ident):
            return fd
        os.close(fd)
        problem = problem or FileProblem('changed while it was scanned (renamed or replaced); not read', named)
    raise problem or FileProblem('does not exist', entry['path'])


def _static_runtime(fs, pkgdb, entry, ident=None):
    """Fill version fields of one runtime entry from its files only: Go build information, then the
    package database that owns it, then nerdctl-full's component list. Nothing is executed."""
    why = []
    try:
        fd = _open_static(fs, entry, ident)
    except FileProblem as exc:
        entry['error'] = exc.message
        return
    try:
        from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.buildinfo import read_build_info_fd  # lazy
        record = version_from_build_info(read_build_info_fd(fd))
    finally:
        os.close(fd)
    if record.get('name') and record['name'] != entry['name'] and entry['name'] in RUNTIME_NAMES:
        entry['name'] = record['name']  # a binary called crun whose build info says runc is runc
    if not record.get('error'):
        for key in _VERSION_KEYS:
            entry[key] = record.get(key)
        return
    why.append(record['error'])
    for key in ('go', 'raw'):
        entry[key] = record.get(key)
    package = pkgdb.owner([entry['realpath']] + entry['paths'])
    if package:
        entry['package'] = package
        version, dev = normalise_version(package.get('version'))
        if version:
            entry.update(version=version, dev=dev, version_source='package', error=None)
            return
        why.append('package %s version %r not understood' % (package.get('name'), package.get('version')))
    else:
        why.append('not owned by a package (dpkg / rpm database)')
    for path in [entry['realpath']] + entry['paths']:
        found, problem = nerdctl_full_version(fs, path, entry['name'] or 'runc')
        if found:
            version, dev = normalise_version(found)
            if version:
                entry.update(version=version, dev=dev, version_source='nerdctl-full', error=None)
                return
        if problem:
            why.append(problem)
    entry['error'] = 'version not readable without running the binary: %s' % '; '.join(why)


def _features(run, fd, name, entry):
    """`runc features` (runc >= 1.1) as a second version source when --version gave none."""
    rc, out, _err, problem = run([name, 'features'], fd=fd)
    if problem or rc != 0:
        return
    try:
        found = parse_features_json(json.loads(out.decode('utf-8', 'replace')))
    except ValueError:
        return
    if found.get('version'):
        entry.update(found)
        entry['version_source'] = 'features'
        entry['error'] = None


def gather_runtimes(fs, run, engines, runtime_paths, discover, errors, pkgdb=None):
    """Runtime entries; with ``pkgdb`` (static mode) versions are read from files, nothing is run."""
    cands = _runtime_candidates(fs, engines, runtime_paths, discover)
    by_real = {}
    idents = {}  # id(entry) -> (st_dev, st_ino) the scan found: what is run or read must be that file
    order = []
    for path, info in cands.items():
        try:
            real = fs.real(path)
        except FileProblem as exc:  # a symlink out of the audited root, a loop
            order.append(_runtime_error(path, exc.message, info['used_by'], errors))
            continue
        refused = check_read(path) if fs.root == '/' and os.geteuid() == 0 and path.startswith('/') else None
        if refused:  # a user's link into what that user cannot read: nothing of the target is shown
            order.append(_runtime_error(path, refused, info['used_by'], errors))
            continue
        if not path.startswith('/') or not os.path.lexists(real):  # bare names never resolve against cwd
            if info['must_exist']:
                order.append(_runtime_error(path, 'does not exist (named by %s)' % info['reason'],
                                            info['used_by'], errors))
            continue
        try:
            st = os.stat(real)
        except OSError as exc:
            order.append(_runtime_error(path, describe_os_error(exc), info['used_by'], errors))
            continue
        if not os.path.isfile(real):
            order.append(_runtime_error(path, 'not a regular file', info['used_by'], errors))
            continue
        key = (st.st_dev, st.st_ino)  # symlinks and hard links fold into one binary
        entry = by_real.get(key)
        if entry is None:
            resolved = fs.host(os.path.realpath(real))
            try:
                again = os.stat(fs.real(resolved))
            except OSError:
                again = None
            if again is None or (again.st_dev, again.st_ino) != key:  # a link swapped between the two looks
                order.append(_runtime_error(path, 'changed while it was scanned (renamed or replaced)',
                                            info['used_by'], errors))
                continue
            base = os.path.basename(resolved)
            name = base if base in RUNTIME_NAMES else os.path.basename(path)
            entry = by_real[key] = {
                'name': name, 'path': path, 'paths': [], 'realpath': resolved,
                'version': None, 'version_source': None, 'dev': False, 'commit': None, 'spec': None,
                'go': None, 'libseccomp': None, 'raw': None, 'package': None, 'used_by': set(),
                'error': None,
            }
            idents[id(entry)] = key
            order.append(entry)
        entry['paths'].append(path)
        entry['used_by'].update(info['used_by'])
    for entry in order:
        if entry.get('realpath') and entry['error'] is None:
            if pkgdb is not None:
                _static_runtime(fs, pkgdb, entry, idents.get(id(entry)))
            else:
                read_version(fs, run, entry, idents.get(id(entry)))
            if entry['error']:
                _error(errors, entry['path'], entry['error'])
    if pkgdb is None and not _command.find('dpkg-query'):
        # imported here: only rpm hosts need it, and a module's imports are compiled on every run
        from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.packages import rpm_package_owners
        rpm_package_owners(fs, run, [e for e in order if e.get('realpath')])
    else:
        # dpkg hosts, live too: dpkg's own files answer (dpkg-query -S reads every package's file list
        # and was the costliest command of a scan; here the likely owner's list is read first)
        unowned = [e for e in order if e.get('realpath') and e.get('package') is None]
        if pkgdb is None and unowned:
            pkgdb = PackageDb(HostFs() if fs.root == '/' else RootFs(fs.root))
        if pkgdb is not None:
            for entry, package in zip(unowned, pkgdb.owners([[e['realpath']] + e['paths'] for e in unowned])):
                entry['package'] = package
            for path, message in pkgdb.problems:
                _error(errors, path, message)
    # advisory ids the owning packages' changelogs name (backported fixes; judged on the controller)
    add_advisory_ids(fs, run, [e for e in order if e.get('package')], rpm=_command.find('rpm'),
                     rpm_root=[] if fs.root == '/' else ['--root', fs.root])
    for entry in order:
        for path in [entry['realpath']] + entry['paths']:
            for prefix, engine in DISTRIBUTION_ROOTS:
                if path and path.startswith(prefix):
                    entry['used_by'].add(engine)
        entry['used_by'] = sorted(entry['used_by'])
        entry['paths'] = sorted(set(entry['paths']))
    return order


def _runtime_error(path, message, used_by, errors):
    _error(errors, path, message)
    name = os.path.basename(path)
    return {'name': name if name in RUNTIME_NAMES else None, 'path': path, 'paths': [path], 'realpath': None,
            'version': None, 'version_source': None, 'dev': False, 'commit': None, 'spec': None, 'go': None,
            'libseccomp': None, 'raw': None, 'package': None, 'used_by': set(used_by), 'error': message}
