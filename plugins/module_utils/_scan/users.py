# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rootless setups: which users have one, and what their engines would run (runtime_facts ``users``).

Pure stdlib, Python 3.9+. Bounded by design:

- users come from signals (``/etc/subuid``, linger files, ``/run/user/UID``, processes of non-root
  users and their environment, user units), at most ``MAX_USERS`` of them per host;
- per user only a fixed list of candidate paths is looked at (``~/.local/bin/runc``,
  ``~/.config/containers/containers.conf``, ...), never a walk of a home;
- a home on a network file system or autofs is not touched (an error entry says so), and each
  user's scan runs against a time bound (``USER_TIMEOUT``): a stalled file system costs that user's
  entry, not the host's facts;
- every file a user controls is opened without following a link out of what that user owns: the
  file opened must be owned by that user, or be a root-owned file anyone may read (what the user's
  own engine could read). Anything else is an error entry that names the user's path only, never
  the target;
- a user's binary is never executed by root: its version comes from its Go build info, or from
  ``--version`` run as its owner (dropped privileges, time bound).

This module finds nothing itself: ``find_users`` lists the users, ``user_engines`` and
``user_agents`` fill one ``UserScan`` per user (reading through ``user_files``), ``user_runtimes``
merges their runtimes into the system scan's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import queue
import threading
import time

from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.find_users import NETWORK_FS, fs_type
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.user_agents import scan_agents
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.user_engines import scan_engines, scan_state
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.user_files import owner_of

USER_TIMEOUT = 5.0
# One user's configurations can name thousands of missing or unreadable paths: the error entries kept
# per user are capped (the last one says how many more there were), so the facts stay small.
MAX_ERRORS_PER_USER = 50


class UserScan(object):
    """What one user's rootless setup would run; filled by scan_user, read by discovery.gather."""

    def __init__(self, user):
        self.user = user
        self.owner = owner_of(user)
        self.errors = []
        self.errors_dropped = 0
        # [(host path, reason, engines set)] binaries a user's engine may run (runc, crun)
        self.runtimes = []
        # [(host path, engine, setting, bundle or None, must_exist)] profiles and bundles
        self.profiles = []
        # [(key, path, data bytes, engine, setting)] profiles generated at run time (nerdctl)
        self.generated = []
        self.engines = {}
        self.agents = []
        self.nerdctl = []
        self.units = {}
        self.fd_reads = 0

    def error(self, path, message):
        if len(self.errors) < MAX_ERRORS_PER_USER:
            self.errors.append({'path': path, 'error': message, 'owner': self.owner})
            return message
        self.errors_dropped += 1
        if self.errors_dropped == 1:  # one entry past the cap stands for all the rest
            self.errors.append({'path': path, 'error': None, 'owner': self.owner})
        self.errors[-1]['error'] = ('error cap reached: %d more problems in the setup of user %s, from this path '
                                    'on, are not listed' % (self.errors_dropped, self.user['name']))
        return message

    def facts(self):
        u = self.user
        return {'name': u['name'], 'uid': u['uid'], 'home': u['home'], 'runtime_dir': u['runtime_dir'],
                'signals': list(u['signals']), 'processes': list(u.get('processes') or ()),
                'engines': self.engines, 'agents': self.agents, 'nerdctl': self.nerdctl,
                'units': sorted(self.units), 'error': u.get('error')}


def scan_user(fs, user, system, buildinfo):
    """UserScan of one user (bounded: fixed paths; caller bounds the time)."""
    scan = UserScan(user)
    if not user['home'] or not user['home'].startswith('/'):
        user['error'] = scan.error('user %s' % user['name'], 'has no home directory')
        return scan
    kind = fs_type(system['mounts'], user['home'])
    if kind in NETWORK_FS:
        user['error'] = scan.error(user['home'], 'home of user %s is on %s: not read (network file systems and '
                                                 'autofs are skipped: root squash, stalls)' % (user['name'], kind))
        user['home'] = None
    # One read of each top directory tells which candidates can exist at all: most users have none.
    home_names = _names(fs, user['home']) if user['home'] else set()
    run_names = _names(fs, user['runtime_dir'])
    if user['home'] and (home_names & HOME_TOPS or run_names & RUN_TOPS or user.get('processes')
                         or system.get('rootless_storage_path')):
        scan_engines(fs, scan, system.get('podman'))
        scan_agents(fs, scan, buildinfo)
        hard_way = os.path.join(user['home'], 'seccomp.json')
        if 'seccomp.json' in home_names:
            scan.profiles.append((hard_way, 'user', 'bypass4netns "hard way" profile (~/seccomp.json)', None, False))
    if 'runc' in run_names:
        scan_state(fs, scan)
    return scan


# Top-level names of a home / of /run/user/UID under which some candidate path lies.
HOME_TOPS = frozenset(('.config', '.local', 'bin', 'seccomp.json'))
RUN_TOPS = frozenset(('containerd', 'docker', 'containers', 'runc', 'bypass4netns', 'bypass4netnsd.sock'))
MAX_NAMES = 4096


def _names(fs, path):
    """Names in one directory (at most MAX_NAMES; an unreadable directory has none)."""
    names = set()
    try:
        with os.scandir(fs.real(path)) as entries:
            for entry in entries:
                names.add(entry.name)
                if len(names) >= MAX_NAMES:
                    break
    except OSError:
        pass
    return names


def _worker(fs, batch, system, buildinfo, events, cancelled):
    """Scan ``batch`` in order, reporting ('start', uid) and ('done', uid, scan or error text) on ``events``."""
    for user in batch:
        if cancelled.is_set():
            return
        events.put(('start', user['uid'], None))
        try:
            result = scan_user(fs, user, system, buildinfo)
        except Exception as exc:  # one user's odd files never cost the host its facts
            result = 'scan failed: %s: %s' % (type(exc).__name__, exc)
        events.put(('done', user['uid'], result))


def scan_users(fs, users, system, buildinfo, errors, timeout=USER_TIMEOUT):
    """[(user, UserScan or None)] for every user, each user's scan bounded by ``timeout`` seconds.

    One worker thread scans the users in turn; when one user's scan passes its bound (a stalled
    network mount), that user gets an error entry, the worker is abandoned (a daemon thread, it
    starts nothing more) and a new worker goes on with the next user.
    """
    results = {}
    pending = list(users)
    while pending:
        events, cancelled = queue.Queue(), threading.Event()
        worker = threading.Thread(target=_worker, args=(fs, list(pending), system, buildinfo, events, cancelled),
                                  name='rcg-users')
        worker.daemon = True
        worker.start()
        since = time.monotonic()
        while pending:
            try:
                kind, uid, result = events.get(timeout=max(0.01, since + timeout - time.monotonic()))
            except queue.Empty:
                cancelled.set()
                stalled = pending.pop(0)
                stalled['error'] = 'scan of user %s did not finish within %ss (a stalled file system?); skipped' % (
                    stalled['name'], timeout)
                errors.append({'path': stalled['home'] or 'user %s' % stalled['name'], 'error': stalled['error'],
                               'owner': owner_of(stalled)})
                results[stalled['uid']] = None
                break
            if kind == 'start':
                since = time.monotonic()
                continue
            user = pending.pop(0)
            if isinstance(result, str):
                user['error'] = result
                errors.append({'path': 'user %s' % user['name'], 'error': result, 'owner': owner_of(user)})
                result = None
            else:
                user['duration_ms'] = int((time.monotonic() - since) * 1000)
            results[uid] = result
    return [(user, results.get(user['uid'])) for user in users]
