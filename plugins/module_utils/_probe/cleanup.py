# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Process, cgroup and mount plumbing of the NOTIFY canary, and how it survives interrupts.

Everything the canary starts is found by PID (process tree, session, cgroup) and killed only if
it is still the process that was seen (same start time). Signals are turned into an exception so
that ``finally`` blocks clean up, and are held back while a cleanup runs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import signal
import threading

from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.abi import libc


def proc_stat(pid):
    """(ppid, session id, start time) of a live, non-zombie process, or None."""
    try:
        with open('/proc/%d/stat' % pid, 'rb') as handle:
            data = handle.read().decode('ascii', 'replace')
    except (IOError, OSError):
        return None
    fields = data[data.rfind(')') + 2:].split()
    if not fields or fields[0] in ('Z', 'X'):
        return None
    return int(fields[1]), int(fields[3]), int(fields[19])


def all_pids():
    return [int(name) for name in os.listdir('/proc') if name.isdigit()]


def descendants(root_pids, session=None):
    """{pid: starttime} of every live descendant of root_pids, and of every member of `session`."""
    table = {}
    for pid in all_pids():
        stat = proc_stat(pid)
        if stat:
            table[pid] = stat
    found, todo = {}, list(root_pids)
    while todo:
        parent = todo.pop()
        for pid, (ppid, _sid, start) in table.items():
            if ppid == parent and pid not in found:
                found[pid] = start
                todo.append(pid)
    if session:
        for pid, (_ppid, sid, start) in table.items():
            if sid == session and pid != os.getpid():
                found.setdefault(pid, start)
    return found


def kill_exact(pid, start):
    """SIGKILL pid only if it is still the process we saw (same start time)."""
    stat = proc_stat(pid)
    if stat is None or (start is not None and stat[2] != start):
        return False
    try:
        os.kill(pid, signal.SIGKILL)
        return True
    except OSError:
        return False


def cgroup_dirs(container_id, base='/sys/fs/cgroup'):
    """Existing cgroup directories named after the canary (v1 controllers, hybrid, v2)."""
    found = []
    candidates = [os.path.join(base, container_id)]
    try:
        for name in sorted(os.listdir(base)):
            candidates.append(os.path.join(base, name, container_id))
    except OSError:
        pass
    for path in candidates:
        if os.path.isdir(path):
            found.append(path)
    return found


def cgroup_pids(dirs):
    pids = set()
    for path in dirs:
        for leaf in ('cgroup.procs', 'tasks'):
            try:
                with open(os.path.join(path, leaf)) as handle:
                    pids.update(int(x) for x in handle.read().split())
            except (IOError, OSError, ValueError):
                continue
    return pids


def _unescape_mount(path):
    return re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), path)


def mounts_under(directory, mountinfo='/proc/self/mountinfo'):
    """Mount points at or below `directory`, deepest first."""
    prefix = directory.rstrip('/') + '/'
    found = []
    try:
        with open(mountinfo) as handle:
            for line in handle:
                point = _unescape_mount(line.split()[4])
                if point == directory.rstrip('/') or point.startswith(prefix):
                    found.append(point)
    except (IOError, OSError):
        pass
    return sorted(found, key=len, reverse=True)


def detach_mount(path):
    return libc().umount2(path.encode(), 2) == 0  # MNT_DETACH


# What /proc/PID/wchan says for a task waiting for the seccomp agent's answer.
SECCOMP_WAIT = 'seccomp_do_user_notification'


def _proc_text(path):
    try:
        with open(path, 'rb') as handle:
            return handle.read(4096).decode('ascii', 'replace').strip()
    except (IOError, OSError):
        return ''


def _holds_notify_fd(pid):
    try:
        names = os.listdir('/proc/%d/fd' % pid)
    except OSError:
        return False
    for name in names:
        try:
            if os.readlink('/proc/%d/fd/%s' % (pid, name)) == 'anon_inode:seccomp notify':
                return True
        except OSError:
            continue
    return False


def seccomp_waits(pids):
    """Per thread group of `pids`: {pid, waiting: [(tid, syscall nr or None)], runnable, holds_fd}.

    `waiting`: threads blocked in a seccomp notification (every thread counts: Go runtimes make
    the blocked syscall on any of them); `runnable`: a thread is running, runnable or in I/O;
    `holds_fd`: the group has a seccomp notify fd open.
    """
    groups, done = [], set()
    for pid in pids:
        if pid in done:
            continue  # a thread id (cgroup `tasks` lists threads): its group was read already
        try:
            tids = sorted(int(tid) for tid in os.listdir('/proc/%d/task' % pid))
        except (OSError, ValueError):
            continue
        done.update(tids)
        group = {'pid': pid, 'waiting': [], 'runnable': False, 'holds_fd': _holds_notify_fd(pid)}
        for tid in tids:
            base = '/proc/%d/task/%d/' % (pid, tid)
            stat = _proc_text(base + 'stat')
            if stat[stat.rfind(')') + 2:][:1] in ('R', 'D'):
                group['runnable'] = True
            # The symbol may carry a compiler suffix (seccomp_do_user_notification.isra.0).
            if _proc_text(base + 'wchan').split('.')[0] == SECCOMP_WAIT:
                number = _proc_text(base + 'syscall').split(' ')[0]
                group['waiting'].append((tid, int(number) if number.isdigit() else None))
        groups.append(group)
    return groups


# --- interrupts -----------------------------------------------------------------------------

class ProbeInterrupted(Exception):
    """Raised from a signal handler so that cleanup still runs."""


_DEFER = {'depth': 0, 'pending': None}  # pending: a signal number


def _raise_interrupted(signum, _frame):
    if _DEFER['depth']:
        _DEFER['pending'] = signum  # cleanup in progress: raise when it is done
        return
    raise ProbeInterrupted('interrupted by signal %d' % signum)


class deferred_interrupts(object):
    """Hold back ProbeInterrupted while cleanup runs; raise it afterwards."""

    def __enter__(self):
        _DEFER['depth'] += 1
        return self

    def __exit__(self, exc_type, *exc):
        _DEFER['depth'] -= 1
        if _DEFER['depth'] == 0 and _DEFER['pending'] is not None:
            signum = _DEFER['pending']
            _DEFER['pending'] = None
            if exc_type is None:
                raise ProbeInterrupted('interrupted by signal %s' % signum)
        return False


class interrupt_guard(object):
    """Turn SIGTERM/SIGHUP/SIGINT into an exception for the duration, so `finally` cleans up."""

    SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)

    def __enter__(self):
        self._old = {}
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._old[sig] = signal.signal(sig, _raise_interrupted)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._old.items():
            signal.signal(sig, handler)
        return False
