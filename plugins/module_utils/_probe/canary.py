# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One canary container start under a NOTIFY profile, judged and always cleaned up.

The canary never touches the engines' containers: it has its own ``--root`` state directory, a
unique id, a unique cgroup, new namespaces (no host network) and a rootfs made of read-only bind
mounts of the host's ``/usr`` and lib directories (the bind mounts exist only in the container's
mount namespace). Every process is killed by PID, the container deleted, the cgroup, socket and
temp files removed, whatever happens.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import signal
import subprocess
import time

from ansible_collections.runcguard.seccomp.plugins.module_utils._command import ENV, run
from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.abi import libc
from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.agent import Agent
from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.bundle import canary_config, rootfs_layout
from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.cleanup import (
    SECCOMP_WAIT, cgroup_dirs, cgroup_pids, deferred_interrupts, descendants, detach_mount, kill_exact,
    mounts_under, proc_stat, seccomp_waits)
from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.outcome import (
    SIGNAL_RETURNS, START_ATTEMPTS, classify, transient_start_failure,
)
from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.reap import PREFIX, write_owner, write_runtime_pid
from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.syscalls import syscall_table
from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.workdir import (
    WorkDir, read_stderr, remove_tree, stderr_file)

POLL_SECONDS = 0.02
# How long a deadlock must hold before it counts: a task waits for the agent, the notify fd is
# neither at the agent nor on its way, and no thread of the runtime can run. Far longer than an
# fd in transit.
STUCK_SECONDS = 0.5
SCAN_SECONDS = 0.25  # between process scans once the agent is serving


PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """A preexec function: the child gets SIGKILL when this process dies (even by SIGKILL).

    libc is loaded before the fork; the child only makes one prctl call. If this process died
    between fork and prctl, the child kills itself."""
    prctl = libc().prctl
    parent = os.getpid()

    def preexec():
        prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), int(signal.SIGKILL))
    return preexec


class Canary(object):
    """One container start; use as a context manager so cleanup always runs."""

    def __init__(self, runtime, kind, syscalls, no_new_privileges, timeout, tmp_parent=None, answer=True,
                 user=None):
        self.runtime = runtime
        # user: {name, uid, gid, home, runtime_dir} - the canary runs rootless as that user (user
        # namespace, the user's XDG_RUNTIME_DIR); root only serves the agent and cleans up.
        self.user = user
        self.answer = answer
        self.kind = kind
        self.syscalls = sorted(set(syscalls))
        self.nnp = bool(no_new_privileges)
        self.timeout = float(timeout)
        # Temp dir, container id and cgroups carry this run's PID: a later run reaps them if this
        # one is killed (_probe/reap.py).
        # The directory stays root's (_probe/workdir.py): a rootless canary's user gets only bundle/,
        # state/ and run/, and root never opens a name in them again but run/container.pid (no-follow).
        self.work = WorkDir('%s%d-' % (PREFIX, os.getpid()), tmp_parent)
        self.tmp = self.work.path
        write_owner(self.work, runtime, user)
        self.id = os.path.basename(self.tmp)
        self.bundle = os.path.join(self.tmp, 'bundle')
        self.state_root = os.path.join(self.tmp, 'state')
        self.socket = os.path.join(self.tmp, 'agent.sock')
        self.pid_file = os.path.join(self.tmp, 'run', 'container.pid')
        self.agent = None
        self.proc = None
        self.stderr = None
        self.seen = {}            # pid -> starttime of everything the runtime spawned
        self.leftovers = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False

    def _prepare(self):
        rootfs = os.path.join(self.work.mkdir('bundle', 0o755), 'rootfs')
        os.mkdir(rootfs)  # in root's 0700 directory: no name below it is anyone else's yet
        self.work.mkdir('state')
        self.work.mkdir('run')
        links, binds = rootfs_layout('/')
        for name, target in links.items():
            os.symlink(target, os.path.join(rootfs, name))
        for name in binds + ['proc', 'dev']:
            os.mkdir(os.path.join(rootfs, name))
        config = canary_config(self.id, self.syscalls, self.socket, self.nnp, binds)
        if self.user:
            rootless_config(config, self.user)
        self.work.create('bundle/config.json', json.dumps(config, indent=2))

    def _env(self):
        if not self.user:
            return ENV
        return dict(ENV, HOME=self.user.get('home') or '/', XDG_RUNTIME_DIR=self.user['runtime_dir'])

    def _as(self):
        return (self.user['uid'], self.user['gid']) if self.user else None

    def _popen_user(self):
        if not self.user:
            return {}
        return {'user': self.user['uid'], 'group': self.user['gid'], 'extra_groups': []}

    def _runtime(self, *args):
        return [self.runtime, '--root', self.state_root] + list(args)

    def _snapshot(self):
        # Walk from the runtime's PID only while it is unreaped: afterwards the PID may be reused.
        live = self.proc is not None and self.proc.returncode is None
        found = descendants([self.proc.pid] if live else [], session=self.proc.pid if live else None)
        for pid in cgroup_pids(cgroup_dirs(self.id)):
            stat = proc_stat(pid)
            if stat:
                found.setdefault(pid, stat[2])
        pid = self._container_pid()
        if pid:
            stat = proc_stat(pid)
            if stat:
                found.setdefault(pid, stat[2])
        self.seen.update(found)
        return found

    def _container_pid(self):
        """The container's PID from --pid-file: for a rootless canary a regular file of its user (read
        without following links) naming a process of that user, else 0."""
        uid = self.user['uid'] if self.user else 0
        pid = self.work.read_pid('run/container.pid', uid)
        try:
            return pid if pid and os.stat('/proc/%d' % pid).st_uid == uid else 0
        except OSError:
            return 0

    def run(self):
        """Start the canary and judge it. Returns a result dict (without runtime/version)."""
        started = time.time()
        self._prepare()
        self.agent = Agent(self.socket, answer=self.answer).start()
        if self.user:  # the user's runtime connects to the agent; then it may enter (not list) the directory
            os.chown(self.socket, self.user['uid'], self.user['gid'], follow_symlinks=False)
            self.work.hand_over(self.user)
        err = stderr_file()  # unnamed, root's: the runtime can neither swap it nor make it a FIFO
        argv = self._runtime('run', '--bundle', self.bundle, '--pid-file', self.pid_file)
        if self.kind == 'runc':
            argv.append('--keep')  # keep state so that "stopped" can be checked, then delete
        argv.append(self.id)
        try:
            # Popen, not run_command: a hung runtime must be found and killed by PID. It dies with
            # this process (PR_SET_PDEATHSIG); what it started is reaped by the next run.
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,  # pylint: disable=ansible-bad-function
                                         stdout=subprocess.DEVNULL, stderr=err, env=self._env(), cwd=self.tmp,
                                         close_fds=True, start_new_session=True, preexec_fn=_die_with_parent(),
                                         **self._popen_user())
        except BaseException:
            err.close()
            raise
        self.stderr = err
        write_runtime_pid(self.work, self.proc.pid)
        timed_out, rc, stuck, blocked, waits_at_timeout = False, None, None, None, None
        deadline = started + self.timeout
        stuck_since, stuck_key, samples, busy, last_scan = None, None, 0, 0, 0.0
        while True:
            try:
                rc = self.proc.wait(POLL_SECONDS)
                break
            except subprocess.TimeoutExpired:
                pass
            now = time.time()
            if now >= deadline:
                timed_out = True
                waits_at_timeout = self._wait_names(self._snapshot())
                break
            if self.agent.connected:
                # The agent is serving notifications: scan /proc rarely, since the scan holds
                # the GIL the agent thread needs for every answer.
                if now - last_scan >= SCAN_SECONDS:
                    self._snapshot()
                    last_scan = now
                continue
            deadlock = self._deadlock(self._snapshot())
            key = deadlock[2] if deadlock else None
            if key != stuck_key:  # a new wait, or progress: the window starts again
                stuck_since, stuck_key, samples, busy = (now if deadlock else None), key, 0, 0
            elif deadlock:
                samples, busy = samples + 1, busy + deadlock[3]
                if now - stuck_since >= STUCK_SECONDS:
                    # A thread that could still pass the fd on is runnable in most samples, even
                    # when starved of CPU; a deadlocked Go runtime only blips (its sysmon wakes).
                    if busy * 2 < samples:
                        stuck, blocked = deadlock[:2]
                        break
                    stuck_since, samples, busy = now, 0, 0
        status = None
        if rc is not None:
            self.agent.settle()
        if not timed_out and not stuck and rc == 0 and self.kind == 'runc':
            status = self._status(max(1.0, deadline - time.time()))
        stderr = read_stderr(self.stderr)
        outcome, message = classify(timed_out, rc, stderr, self.agent.connected, status, stuck)
        if self.agent.errors and outcome == 'ok':
            outcome, message = 'error', '; '.join(self.agent.errors)
        outcome, message = self._signal_return_only(outcome, message, waits_at_timeout)
        detected_by = None
        if outcome == 'hang':
            detected_by = 'wchan' if stuck else 'timeout' if timed_out else 'state'
        return {
            'syscalls': self.syscalls,
            'syscall': ','.join(self.syscalls),
            'no_new_privileges': self.nnp,
            'outcome': outcome,
            'message': message,
            'exit_code': rc,
            'agent_connected': self.agent.connected,
            'notifications': self.agent.notifications,
            'container_id': self.id,
            'detected_by': detected_by,
            'blocked_syscall': blocked,
            'seconds': round(time.time() - started, 3),
        }

    def _signal_return_only(self, outcome, message, waits_at_timeout):
        """(outcome, message): a failure seen only with signal returns under NOTIFY is ``inconclusive``.

        Under NOTIFY a signal return (Go's preemption signal arriving before the notify fd is passed
        on) can stall any runtime, healthy or not, now and then on a loaded machine. A start whose
        NOTIFY set is only signal returns, or that timed out with its tasks waiting only in signal
        returns, therefore says nothing about the runtime: never a hang, never a reason to act.
        """
        if outcome not in ('hang', 'error'):
            return outcome, message
        what = 'did not finish' if outcome == 'hang' else 'failed'
        if self.syscalls and set(self.syscalls) <= set(SIGNAL_RETURNS):
            return 'inconclusive', ('only signal returns (%s) were under SCMP_ACT_NOTIFY and the start %s; a signal '
                                    'return can stall any Go runtime under NOTIFY, so this says nothing about the '
                                    'runtime (%s)' % (', '.join(self.syscalls), what, message))
        if outcome == 'hang' and waits_at_timeout and waits_at_timeout <= set(SIGNAL_RETURNS):
            return 'inconclusive', ('the start did not finish within %ss and its tasks waited only in signal returns '
                                    '(%s) under SCMP_ACT_NOTIFY, which can stall any Go runtime: not counted as a '
                                    'hang' % (self.timeout, ', '.join(sorted(waits_at_timeout))))
        return outcome, message

    def _wait_names(self, pids):
        """Names of the syscalls the runtime's tasks wait in under SCMP_ACT_NOTIFY now (a set)."""
        table = syscall_table() or {}
        return set(table.get(number) or 'syscall %s' % number
                   for group in seccomp_waits(sorted(pids)) for _tid, number in group['waiting'])

    def _deadlock(self, pids):
        """(message, syscall name, waits, runnable) when the canary looks stuck now, else None.

        A task of the runtime waits in a seccomp notification, the notify fd has not reached the
        agent and is not on its way (nothing can ever answer), no other runtime process holds the
        fd (nobody can pass it on). A wait in a signal return alone proves nothing: a later signal
        can unwind it (seen with Go's preemption). `waits` identifies the blocked threads and
        syscalls, `runnable` whether a runtime thread can run: the caller counts a deadlock only
        when the very same waits hold for STUCK_SECONDS with runtime threads mostly asleep.
        """
        if self.agent.fd_on_its_way():
            return None
        groups = seccomp_waits(sorted(pids))
        if any(group['holds_fd'] and not group['waiting'] for group in groups):
            return None
        table = syscall_table() or {}
        stuck = [(group['pid'], tid, table.get(number) or 'syscall %s' % number)
                 for group in groups for tid, number in group['waiting'] if table.get(number) not in SIGNAL_RETURNS]
        if not stuck:
            return None
        pid, tid, name = stuck[0]
        return ('%s: task %d (process %d) is blocked in %s under SCMP_ACT_NOTIFY (wchan %s) and the '
                'runtime never passed the notify fd to the agent, so nothing can answer it'
                % (self.kind, tid, pid, name, SECCOMP_WAIT), name if name in table.values() else None,
                frozenset((waiter[1], waiter[2]) for waiter in stuck), any(group['runnable'] for group in groups))

    def _status(self, limit):
        """Container status after `run` returned; polls until stopped or `limit` seconds pass."""
        deadline = time.time() + limit
        status = 'unknown'
        while True:
            rc, out, _err, _error = run(self._runtime('state', self.id), max(1, int(deadline - time.time()) + 1),
                                        user=self._as(), env=self._env())
            if rc == 0:
                try:
                    status = json.loads(out.decode('utf-8')).get('status') or 'unknown'
                except ValueError:
                    status = 'unknown'
            if status == 'stopped' or time.time() >= deadline:
                return status
            time.sleep(0.1)

    def cleanup(self):
        """Kill by PID, delete the container, remove cgroups, socket, mounts and temp files.

        A signal that arrives meanwhile is held back until the cleanup is complete.
        """
        with deferred_interrupts():
            return self._cleanup()

    def _cleanup(self):
        problems = []
        if self.proc is not None:
            if self.proc.poll() is None:
                self._snapshot()
                kill_exact(self.proc.pid, None)  # a hung runc ignores SIGTERM
            for pid, start in list(self.seen.items()):
                kill_exact(pid, start)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                problems.append('runtime process %d survived SIGKILL' % self.proc.pid)
            # Stragglers that were reparented or setsid()ed: the cgroup and session still name them.
            for _round in range(5):
                found = self._snapshot()
                if not found:
                    break
                for pid, start in found.items():
                    kill_exact(pid, start)
                time.sleep(0.1)
            if os.path.isdir(self.state_root):
                error = run(self._runtime('delete', '--force', self.id), 10, user=self._as(), env=self._env())[3]
                if error:
                    problems.append('%s delete: %s' % (self.runtime, error))
        if self.agent is not None:
            self.agent.stop()
        # Killed processes are reaped by their new parent: give them a moment to vanish.
        deadline = time.time() + 5
        while time.time() < deadline:
            alive = [pid for pid, start in self.seen.items() if (proc_stat(pid) or (0, 0, None))[2] == start]
            if not alive:
                break
            for pid in alive:
                kill_exact(pid, self.seen[pid])
            time.sleep(0.1)
        else:
            problems.append('processes still alive: %s' % ' '.join(str(p) for p in sorted(alive)))
        for path in cgroup_dirs(self.id):
            for _try in range(20):
                try:
                    os.rmdir(path)
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                problems.append('cgroup %s could not be removed' % path)
        for point in mounts_under(self.tmp):
            if not detach_mount(point):
                problems.append('mount %s could not be detached' % point)
        if self.stderr is not None:
            self.stderr.close()
            self.stderr = None
        self.work.close()
        if mounts_under(self.tmp):
            problems.append('mounts remain under %s: temp dir kept' % self.tmp)
        else:
            problems.extend(remove_tree(self.tmp))  # takes the user's subdirectories back first
        self.leftovers = problems
        return problems


def rootless_config(config, user):
    """Make the canary's config rootless for ``user``: a user namespace mapping container root to the
    user, no cgroup of its own (an unprivileged runc has none to create), no device cgroup rules."""
    linux = config['linux']
    linux['uidMappings'] = [{'containerID': 0, 'hostID': int(user['uid']), 'size': 1}]
    linux['gidMappings'] = [{'containerID': 0, 'hostID': int(user['gid']), 'size': 1}]
    linux['namespaces'] = [ns for ns in linux['namespaces'] if ns.get('type') != 'user'] + [{'type': 'user'}]
    linux.pop('cgroupsPath', None)
    linux.pop('resources', None)
    for mount in config.get('mounts') or ():
        if mount.get('type') == 'bind':
            mount['options'] = ['rbind' if o == 'bind' else o for o in mount.get('options') or []]
    return config


def probe(runtime, kind, syscalls, no_new_privileges, timeout, tmp_parent=None, answer=True, user=None, deadline=None):
    """Run one canary; always cleans up. Returns the result dict with `leftovers`.

    A start that failed with runc's transient init race is run again, up to START_ATTEMPTS starts, and
    only while another start could end before ``deadline`` (epoch s or None): a runtime that prints the
    race after most of its timeout (a user's own binary) must not stretch one probe past total_timeout.
    """
    leftovers = []
    for attempt in range(1, START_ATTEMPTS + 1):
        canary = Canary(runtime, kind, syscalls, no_new_privileges, timeout, tmp_parent, answer,
                        **({'user': user} if user else {}))
        result = None
        try:
            result = canary.run()
        finally:
            leftovers.extend(canary.cleanup())
        result['leftovers'] = list(leftovers)
        if attempt == START_ATTEMPTS or not transient_start_failure(result):
            return result
        if deadline is not None and time.time() + timeout > deadline:
            return result
    return result
