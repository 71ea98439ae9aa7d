# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runtimes rootless users' engines run, merged into the system scan's runtime entries; a user's
binary is described from its Go build information, else by ``--version`` run as its owner (root
never executes it)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.runcguard.seccomp.plugins.module_utils import _command
from ansible_collections.runcguard.seccomp.plugins.module_utils._files import FileProblem, printable
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.engines import RUNTIME_NAMES
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.user_files import OutOfBounds, open_owned
from ansible_collections.runcguard.seccomp.plugins.module_utils._version import version_from_build_info


def describe_runtime(fs, entry, user, buildinfo, run_as_owner, fd=None):
    """Fill a user runtime entry without root executing it: build info, else --version as the owner.
    ``fd``: the binary already opened by open_owned (closed here)."""
    if fd is None:
        try:
            fd = open_owned(fs, entry['path'], user)
        except FileProblem as exc:
            entry['error'] = exc.message
            return
    try:
        st = os.fstat(fd)
        found = buildinfo.read_build_info_fd(fd)
    finally:
        os.close(fd)
    if found.get('status') == 'found':
        record = version_from_build_info(found)
        if not record.get('error') and (record.get('version') or record.get('commit')):
            for key in ('name', 'version', 'version_source', 'dev', 'commit', 'spec', 'go', 'raw'):
                if record.get(key) is not None or key != 'name':
                    entry[key] = record.get(key)
            return
    if st.st_uid != user['uid']:  # a root-owned system binary a user config names: the system scan runs it
        entry['error'] = 'version not read: no usable Go build information'
        return
    run_as_owner(entry, user)


# One user's configurations can name any number of binaries, each able to stall its --version: the
# binaries read per user (beyond those the system scan has) and the seconds their --version runs take
# together are capped, so one user cannot stretch the host's audit past its timeout (past a cap: an
# error entry, the scan goes on).
MAX_RUNTIMES_PER_USER = 16
VERSION_SECONDS_PER_USER = 20
VERSION_SECONDS_ALL_USERS = 60


def run_version_as_owner(run, parse):
    """A function (entry, user) that runs ``<binary> --version`` as the user (never root) through the
    scan's bounded runner ``run``, within VERSION_SECONDS_PER_USER seconds for all of one user's runs
    and VERSION_SECONDS_ALL_USERS for every user's."""
    budget, total = VERSION_SECONDS_PER_USER, VERSION_SECONDS_ALL_USERS
    now = time.monotonic()
    deadlines = {None: now + total}

    def run_one(entry, user):
        now = time.monotonic()
        user_left = deadlines.setdefault(user['uid'], now + budget) - now
        left = min(user_left, deadlines[None] - now)
        if left <= 0:
            entry['error'] = ('not run: users\' --version runs may take %ds in all and one user\'s %ds; %s'
                              % (total, budget, 'user %s spent theirs' % user['name'] if user_left <= 0
                                 else 'that time is spent'))
            return
        env = dict(_command.ENV, HOME=user['home'] or '/', XDG_RUNTIME_DIR=user['runtime_dir'])
        rc, out, err, problem = run([entry['path'], '--version'], timeout=left,
                                    user=(user['uid'], user['gid']), env=env, cwd='/')
        text = out.decode('utf-8', 'replace')
        if problem:
            entry['error'] = problem
            entry['raw'] = text[:2048] or None
            return
        parsed = parse(text)
        for key in ('version', 'version_source', 'dev', 'commit', 'spec', 'go', 'libseccomp', 'raw', 'error'):
            entry[key] = parsed.get(key)
        if parsed.get('name'):
            entry['name'] = parsed['name']
        entry['run_as'] = user['name']
    return run_one


def _blank_runtime(path, owner):
    name = os.path.basename(path)
    return {'name': name if name in RUNTIME_NAMES else None, 'path': path, 'paths': [path], 'realpath': None,
            'version': None, 'version_source': None, 'dev': False, 'commit': None, 'spec': None, 'go': None,
            'libseccomp': None, 'raw': None, 'package': None, 'used_by': [], 'error': None, 'owner': owner,
            'users': []}


def merge_runtimes(fs, scans, runtimes, buildinfo, run_as_owner, errors):
    """Add every user's runtimes to ``runtimes`` (the system scan's entries, changed in place).

    A binary the system scan already has (same device and inode) gets the user's name in ``users``
    and the user's engines in ``used_by``; any other is a new entry with ``owner``, described by
    describe_runtime (never executed by root).
    """
    by_key = {}
    for entry in runtimes:
        entry.setdefault('owner', None)
        entry.setdefault('users', [])
        if entry.get('realpath'):
            try:
                st = os.stat(fs.real(entry['realpath']))
                by_key[(st.st_dev, st.st_ino)] = entry
            except OSError:
                pass
    own = []  # entries only users' setups brought in
    for user, scan in scans:
        if scan is None:
            continue
        owner = scan.owner
        skipped = []  # paths past MAX_RUNTIMES_PER_USER new binaries of this user
        taken = 0
        for path, reason, engines in scan.runtimes:
            shown = printable(path)
            try:  # as the user could: a file that user cannot reach is refused before anything is known of it
                fd = open_owned(fs, path, user)
            except FileProblem as exc:
                if taken >= MAX_RUNTIMES_PER_USER:
                    if shown not in skipped:
                        skipped.append(shown)
                    continue
                taken += 1  # a refused path is a new entry too: it counts towards the cap
                refused = isinstance(exc, OutOfBounds)
                entry = _blank_runtime(shown, None)
                entry['error'] = scan.error(shown, exc.message if refused else '%s (named by %s)' % (exc.message, reason))
                entry['users'] = [user['name']]
                entry['used_by'] = sorted(engines)
                runtimes.append(entry)
                continue
            st = os.fstat(fd)
            key = (st.st_dev, st.st_ino)
            entry = by_key.get(key)
            if entry is None and taken >= MAX_RUNTIMES_PER_USER:
                os.close(fd)
                if shown not in skipped:
                    skipped.append(shown)
                continue
            if entry is not None:
                os.close(fd)
                if shown not in entry['paths']:
                    entry['paths'] = sorted(set(entry['paths']) | set([shown]))
            else:
                taken += 1
                entry = _blank_runtime(shown, owner if st.st_uid == user['uid'] else None)
                try:
                    entry['realpath'] = fs.host(os.path.realpath(fs.real(path)))
                except (OSError, ValueError, FileProblem):
                    entry['realpath'] = shown
                describe_runtime(fs, entry, user, buildinfo, run_as_owner, fd)
                if entry['error']:
                    scan.error(shown, entry['error'])
                by_key[key] = entry
                runtimes.append(entry)
                own.append(entry)
            if user['name'] not in entry['users']:
                entry['users'] = sorted(entry['users'] + [user['name']])
            if any(entry is e for e in own):
                entry['used_by'] = sorted(set(entry['used_by']) | engines)  # the user's engines, not root's
        if skipped:
            scan.error(skipped[0], 'runtime cap reached: %d binaries named by the setup of user %s read; %d more, '
                       'from this path on, were not read' % (MAX_RUNTIMES_PER_USER, user['name'], len(skipped)))
    for user, scan in scans:
        if scan is not None:
            errors.extend(scan.errors)
    return runtimes
