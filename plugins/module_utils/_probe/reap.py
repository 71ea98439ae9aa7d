# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reap what a killed notify_probe run left: its canary's processes, container, cgroups, temp dir.

A run that was SIGKILLed (OOM killer, ``timeout -s KILL``, a systemd stop) cannot clean up: a hung
``runc init`` stays blocked, the container stays ``created``, its cgroups and temp directory stay.
Every canary object carries the PID of the run that made it in its name
(``runcguard-probe-<pid>-<random>``: temp directory, container id, cgroups), and the directory holds
``owner.json`` (that PID and its start time, the runtime) and ``runtime.pid`` (the runtime's PID and
start time). A run is dead when no process with that PID is running, or the one running started
after the object was made (a reused PID). Live runs, other users' directories and anything that does
not match exactly are never touched.

For each dead run: every process of it (in its root-made cgroups, in the session of the runtime its
root-made directory recorded; never a process only because of its name or arguments, which any user
may choose) is killed with SIGKILL by PID, only if it is still the process that was seen; the runtime recorded in ``owner.json`` runs ``delete --force`` when
root may run it; the cgroups are removed, the mounts under the directory detached, the directory
removed. Each run reaped is reported, with what could not be removed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import stat
import tempfile
import time

from ansible_collections.runcguard.seccomp.plugins.module_utils._command import run
from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile import SafeDir, may_execute
from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.cleanup import (
    cgroup_pids, descendants, detach_mount, kill_exact, mounts_under, proc_stat)
from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.workdir import remove_tree

PREFIX = 'runcguard-probe-'
NAME = re.compile(r'\Aruncguard-probe-([0-9]{1,10})-[A-Za-z0-9_]{1,32}\Z')
OWNER_FILE = 'owner.json'
RUNTIME_PID_FILE = 'runtime.pid'
CGROUP_BASE = '/sys/fs/cgroup'
# A PID's start time is known to clock ticks, the boot time only to the second.
CLOCK_SLACK = 1.5


def _read_small(path, limit=4096):
    """Text of a root-owned regular file (no link followed), or None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, 'O_CLOEXEC', 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != 0 or info.st_mode & 0o022:
            return None
        return os.read(fd, limit).decode('utf-8', 'replace')
    except OSError:
        return None
    finally:
        os.close(fd)


def _workdir(directory):
    if isinstance(directory, str):  # a path: only for a directory root just made (tests)
        from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.workdir import WorkDir
        work = WorkDir.__new__(WorkDir)
        work.path, work.safe = directory, SafeDir.open(directory)
        return work
    return directory


def write_owner(directory, runtime, user=None):
    """Record this run (PID and start time), the runtime and the user a rootless canary runs as, in a
    fresh canary directory (a WorkDir, or the path of one root just made): written relative to the
    root-owned directory, never through a name a user could plant."""
    me = proc_stat(os.getpid())
    record = {'pid': os.getpid(), 'start': me[2] if me else None, 'runtime': runtime}
    if user:
        record['user'] = [int(user['uid']), int(user['gid'])]
    work = _workdir(directory)
    try:
        work.write_json(OWNER_FILE, record)
    finally:
        if work is not directory:
            work.safe.close()


def write_runtime_pid(work, pid):
    """Record the runtime process (PID and start time) in the WorkDir: its session holds everything it
    started."""
    info = proc_stat(pid)
    work.write(RUNTIME_PID_FILE, '%d %s\n' % (pid, info[2] if info else ''))


def _boot_time():
    try:
        with open('/proc/stat') as handle:
            for line in handle:
                if line.startswith('btime '):
                    return int(line.split()[1])
    except (IOError, OSError, ValueError):
        pass
    return None


def _start_epoch(start_ticks, boot):
    if boot is None or start_ticks is None:
        return None
    return boot + float(start_ticks) / os.sysconf('SC_CLK_TCK')


def _owner_alive(pid, made_at, boot):
    """Is the process with `pid` the one that made an object at `made_at` (epoch s)?"""
    info = proc_stat(pid)
    if info is None:
        return False
    started = _start_epoch(info[2], boot)
    if started is None or made_at is None:
        return True  # cannot tell: leave it alone
    return started <= made_at + CLOCK_SLACK


def may_run(path):
    """Root runs a recorded runtime only where root's one execution policy allows it
    (``_safefile.may_execute``: the file, every directory above it and every link on the way only
    root can change)."""
    if not path or not os.path.isabs(path):
        return False
    return may_execute(path)[0]


class _Run(object):
    def __init__(self, name):
        self.name = name
        self.pid = int(NAME.match(name).group(1))
        self.directory = None
        self.runtime = None
        self.session = None      # (pid, start) of the runtime process
        self.user = None         # (uid, gid) a rootless canary ran as
        self.cgroups = []
        self.processes = {}      # pid -> start time

    def report(self):
        return {'container_id': self.name, 'pid': self.pid, 'directory': self.directory, 'cgroups': list(self.cgroups),
                'processes': sorted(self.processes), 'deleted': False, 'problems': []}


def _user(value):
    """(uid, gid) of a rootless canary's user from owner.json, or None."""
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) and 0 < v < 2 ** 32 for v in value):
        return tuple(value)
    return None


def _directories(parents, boot, runs, alive):
    for parent in parents:
        try:
            names = sorted(os.listdir(parent))
        except OSError:
            continue
        for name in names:
            if not NAME.match(name) or name in runs or name in alive:
                continue
            path = os.path.join(parent, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != 0 or info.st_mode & 0o066:
                continue  # not a directory this module made (mkdtemp: root's, 0700; 0711 for a rootless canary)
            entry = _Run(name)
            owner = None
            try:
                owner = json.loads(_read_small(os.path.join(path, OWNER_FILE)) or 'null')
            except ValueError:
                pass
            if isinstance(owner, dict) and owner.get('pid') == entry.pid and isinstance(owner.get('start'), int):
                current = proc_stat(entry.pid)
                if current is not None and current[2] == owner['start']:
                    alive.add(name)
                    continue
                entry.runtime = owner.get('runtime') if isinstance(owner.get('runtime'), str) else None
                entry.user = _user(owner.get('user'))
            elif _owner_alive(entry.pid, min(info.st_mtime, info.st_ctime), boot):
                alive.add(name)
                continue
            session = (_read_small(os.path.join(path, RUNTIME_PID_FILE)) or '').split()
            if len(session) == 2 and session[0].isdigit() and session[1].isdigit():
                entry.session = (int(session[0]), int(session[1]))
            entry.directory = path
            runs[name] = entry


def _cgroups(base, boot, runs, alive):
    tops = [base]
    try:
        tops += [os.path.join(base, name) for name in sorted(os.listdir(base))]
    except OSError:
        pass
    for top in tops:
        try:
            names = sorted(os.listdir(top))
        except OSError:
            continue
        for name in names:
            if not NAME.match(name) or name in alive:
                continue
            path = os.path.join(top, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != 0 or info.st_mode & 0o022:
                continue  # not a cgroup root made (a delegated one a user may create)
            if name not in runs:
                if _owner_alive(int(NAME.match(name).group(1)), min(info.st_mtime, info.st_ctime), boot):
                    alive.add(name)
                    continue
                runs[name] = _Run(name)
            runs[name].cgroups.append(path)


def _read_proc(pid, leaf, limit=65536):
    try:
        with open('/proc/%d/%s' % (pid, leaf), 'rb') as handle:
            return handle.read(limit).decode('utf-8', 'replace')
    except (IOError, OSError):
        return ''


def _processes(runs):
    """Add every process that belongs to a dead run: the members of its root-made cgroups and of the
    session of the runtime its root-made directory recorded (while that PID is still that process or
    gone). A process is never adopted for its arguments or its name: any user may start one with a
    probe-like argument."""
    me = os.getpid()
    for entry in runs.values():
        for pid in sorted(cgroup_pids(entry.cgroups)):
            info = proc_stat(pid) if pid != me else None
            # Still in the canary's cgroup after its start time was read (not a reused PID).
            if info is not None and entry.name in _cgroup_names(pid):
                entry.processes[pid] = info[2]
        if entry.directory and entry.session:
            leader, start = entry.session
            current = proc_stat(leader)
            if current is None or current[2] == start:  # a reused PID: its session is not ours
                for pid, pid_start in descendants([], session=leader).items():
                    if pid != me:
                        entry.processes.setdefault(pid, pid_start)


def _cgroup_names(pid):
    """Canary names that are a component of one of pid's cgroup paths."""
    names = set()
    for line in _read_proc(pid, 'cgroup').splitlines():
        path = line.split(':', 2)[-1]
        names.update(part for part in path.split('/') if NAME.match(part))
    return names


def find_dead_runs(parents=None, cgroup_base=CGROUP_BASE):
    """{name: _Run} of every canary of a run that is no longer running."""
    if parents is None:
        parents = [tempfile.gettempdir(), '/tmp']
    parents = [p for i, p in enumerate(parents) if p not in parents[:i]]
    boot = _boot_time()
    runs, alive = {}, set()
    _directories(parents, boot, runs, alive)
    _cgroups(cgroup_base, boot, runs, alive)
    _processes(runs)
    return runs


def _kill_all(entry):
    """SIGKILL by PID until none of the run's processes is left (5 s at most)."""
    deadline = time.time() + 5
    while True:
        left = dict((pid, start) for pid, start in entry.processes.items()
                    if (proc_stat(pid) or (0, 0, None))[2] == start)
        if not left:
            return []
        if time.time() > deadline:
            return ['process %d survived SIGKILL' % pid for pid in sorted(left)]
        for pid, start in left.items():
            kill_exact(pid, start)
        time.sleep(0.05)


def reap(entry):
    """Kill, delete and remove one dead run's leftovers; its report."""
    report = entry.report()
    problems = report['problems']
    problems.extend(_kill_all(entry))
    state = os.path.join(entry.directory, 'state') if entry.directory else None
    try:
        state_info = os.lstat(state) if state else None
    except OSError:
        state_info = None
    try:
        container = stat.S_ISDIR(os.lstat(os.path.join(state, entry.name)).st_mode) if state else False
    except OSError:
        container = False
    if container and state_info is not None and stat.S_ISDIR(state_info.st_mode):
        # A rootless canary's state is its user's: only that user's runtime, as that user, reads it
        # (root's runtime would act on whatever state.json the user wrote).
        as_user = entry.user if entry.user and state_info.st_uid == entry.user[0] else None
        if state_info.st_uid != 0 and as_user is None:
            problems.append('state directory %s is not root\'s: no runtime run on it, removed' % state)
        elif as_user is None and not may_run(entry.runtime):
            problems.append('runtime %r not run by root (missing, or a non-root user could change it): '
                            'container state removed without it' % entry.runtime)
        elif entry.runtime and os.path.isabs(entry.runtime):
            error = run([entry.runtime, '--root', state, 'delete', '--force', entry.name], 10, user=as_user,
                        cwd='/')[3]
            report['deleted'] = not error
            if error:
                problems.append('%s delete --force %s: %s' % (entry.runtime, entry.name, error))
    for path in entry.cgroups:
        error = None
        for _try in range(20):
            try:
                os.rmdir(path)
                break
            except OSError as exc:
                if not os.path.isdir(path):
                    break
                error = exc
                time.sleep(0.05)
        else:
            problems.append('cgroup %s could not be removed: %s' % (path, error.strerror if error else 'busy'))
    if entry.directory:
        for point in mounts_under(entry.directory):
            if not detach_mount(point):
                problems.append('mount %s could not be detached' % point)
        if mounts_under(entry.directory):
            problems.append('mounts remain under %s: directory kept' % entry.directory)
        elif remove_tree(entry.directory):
            problems.append('directory %s could not be removed' % entry.directory)
    return report


def reap_dead_runs(parents=None, cgroup_base=CGROUP_BASE):
    """Find and reap every dead run's leftovers; [report] sorted by name."""
    return [reap(entry) for _name, entry in sorted(find_dead_runs(parents, cgroup_base).items())]
