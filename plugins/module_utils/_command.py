# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one bounded command runner for code that runs on hosts (stdlib only, Python 3.9+).

    rc, out, err, error = run(argv, timeout)          # argv list, never a shell

* argv runs with stdin from /dev/null, ``LANG=C``, a fixed ``PATH`` and its own session (process
  group). ``timeout`` seconds after the start, or as soon as argv itself has exited, the whole
  group is killed with SIGKILL: nothing it spawned outlives the call (a runtime that ignores
  SIGTERM, a forked helper that keeps the pipes open). For the time of the call this process is a
  child subreaper (``PR_SET_CHILD_SUBREAPER``): whatever argv started and left behind, even in a
  session of its own (``setsid sh -c "sleep 600" &`` from a user's ``--version``), is re-parented to
  this process instead of PID 1 when its parent dies, and is killed with SIGKILL and reaped before
  ``run`` returns, generation by generation, until nothing of argv is left (5 s at most).
* stdout/stderr are bytes, at most ``limit`` each (the rest is read and dropped, so a binary
  printing garbage without end neither blocks nor fills memory).
* ``error`` is None or a short reason: ``timed out after Ns``, ``not found``, ``cannot be executed
  (...)``. ``rc`` is None when argv did not run or was killed for the time bound.

``find(name)`` returns the first executable ``name`` in ``SEARCH_PATH`` (or None).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ctypes
import errno
import glob
import os
import selectors
import signal
import subprocess
import time

OUTPUT_LIMIT = 64 * 1024
SEARCH_PATH = ('/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin')
ENV = {'LANG': 'C', 'LC_ALL': 'C', 'LC_MESSAGES': 'C', 'PATH': ':'.join(SEARCH_PATH)}
_TICK = 0.05  # while argv runs, how often to look whether it has exited (its children may hold the pipes)


def find(name, dirs=SEARCH_PATH):
    return next((os.path.join(d, name) for d in dirs if os.access(os.path.join(d, name), os.X_OK)), None)


def _spawn_error(exc):
    if exc.errno == errno.ENOENT:
        return 'not found'
    if exc.errno in (errno.EACCES, errno.ENOEXEC, errno.EPERM):
        return 'cannot be executed (%s)' % os.strerror(exc.errno)
    return 'cannot be started: %s' % (exc.strerror or exc)


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # start_new_session: the group id is argv's pid
    except OSError:
        pass  # the group is already empty
    proc.wait()


def _as_user(user):
    """Popen keywords that run argv as ``user`` (uid, gid): no supplementary groups, no root left."""
    if user is None:
        return {}
    uid, gid = int(user[0]), int(user[1] if user[1] is not None else user[0])
    if uid == 0:
        raise ValueError('run as a user: uid 0 is not a dropped privilege')
    return {'user': uid, 'group': gid, 'extra_groups': []}


PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37
_REAP_SECONDS = 5.0
_PRCTL = []


def _prctl():
    if not _PRCTL:
        try:
            _PRCTL.append(ctypes.CDLL(None, use_errno=True).prctl)
        except (OSError, AttributeError):
            _PRCTL.append(None)
    return _PRCTL[0]


def _children():
    """PIDs of this process's children (``/proc/self/task/*/children``; a scan of /proc without it)."""
    found = set()
    files = glob.glob('/proc/self/task/*/children')
    if files:
        for name in files:
            try:
                with open(name) as handle:
                    found.update(int(pid) for pid in handle.read().split())
            except (IOError, OSError, ValueError):
                pass
        return found
    me = os.getpid()
    for name in os.listdir('/proc'):
        if name.isdigit():
            try:
                with open('/proc/%s/stat' % name) as handle:
                    if int(handle.read().rsplit(')', 1)[1].split()[1]) == me:
                        found.add(int(name))
            except (IOError, OSError, ValueError, IndexError):
                pass
    return found


class _Subreaper(object):
    """While argv runs, orphans of what it started come to this process, not PID 1; on exit every
    one of them (and what they started) is killed and reaped. Children this process had before are
    never touched."""

    def __enter__(self):
        self.prctl, self.was = _prctl(), ctypes.c_int(0)
        if self.prctl is not None:
            self.prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(self.was), 0, 0, 0)
            if self.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
                self.prctl = None
        self.before = _children()
        return self

    def reap(self, group):
        """Kill and reap every adopted orphan until argv's process group is empty and none is left."""
        deadline = time.monotonic() + _REAP_SECONDS
        while True:
            adopted = _children() - self.before
            for pid in adopted:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            for pid in adopted:
                try:
                    os.waitpid(pid, os.WNOHANG)
                except OSError:
                    pass
            try:
                os.killpg(group, 0)
                busy = True  # members still dying: their children come to us when they are gone
            except OSError:
                busy = False
            if not adopted and not busy or time.monotonic() > deadline:
                return
            time.sleep(0.005)

    def __exit__(self, *exc):
        if self.prctl is not None and not self.was.value:
            self.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
        return False


def fd_path(fd):
    """The path that executes exactly the file open as ``fd`` (pass ``fd`` in ``pass_fds``)."""
    return '/proc/self/fd/%d' % fd


def run(argv, timeout, cwd=None, limit=OUTPUT_LIMIT, user=None, env=None, fd=None):
    """(rc, stdout bytes, stderr bytes, error text or None) of argv, bounded by ``timeout`` seconds.

    ``user``: (uid, gid) to run argv as that user with every root privilege dropped (setgroups([]),
    setgid, setuid before exec): how a user's own binary is run, never as root. ``env`` replaces
    ``ENV`` (it should be built from it). ``fd``: an open descriptor of the program; what runs is
    exactly that file (``/proc/self/fd/N``, the descriptor kept open in the child, so a script with a
    ``#!`` line works too), never whatever ``argv[0]`` names by then; ``argv[0]`` is only its name.
    """
    extra = dict(executable=fd_path(fd), pass_fds=(fd,)) if fd is not None else {}
    extra.update(_as_user(user))
    with _Subreaper() as reaper:
        try:
            proc = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL,  # pylint: disable=ansible-bad-function
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env or ENV, cwd=cwd,
                                    close_fds=True, start_new_session=True, **extra)
        except OSError as exc:
            return None, b'', b'', _spawn_error(exc)
        try:
            return _collect(proc, timeout, limit)
        finally:
            reaper.reap(proc.pid)


def _collect(proc, timeout, limit):
    deadline = time.monotonic() + max(1, timeout)
    output = {proc.stdout.fileno(): bytearray(), proc.stderr.fileno(): bytearray()}
    timed_out = False
    with selectors.DefaultSelector() as selector:
        for stream in (proc.stdout, proc.stderr):
            selector.register(stream, selectors.EVENT_READ)
        try:
            while selector.get_map():
                left = deadline - time.monotonic()
                if left <= 0:
                    timed_out = proc.poll() is None
                    break
                exited = proc.poll() is not None
                events = selector.select(0 if exited else min(left, _TICK))
                if exited and not events:
                    break  # argv is done and its output drained; what still holds the pipes dies below
                for key, dummy in events:
                    chunk = os.read(key.fd, 65536)
                    if not chunk:
                        selector.unregister(key.fileobj)
                        continue
                    kept = output[key.fd]
                    kept += chunk[:max(0, limit - len(kept))]
        finally:
            _kill_group(proc)
            proc.stdout.close()
            proc.stderr.close()
    out, err = (bytes(buf) for buf in output.values())
    if timed_out:
        return None, out, err, 'timed out after %ds' % max(1, timeout)
    return proc.returncode, out, err, None
