# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one bounded command runner for code that runs on hosts (stdlib only, Python 3.9+).

    rc, out, err, error = run(argv, timeout)          # argv list, never a shell

* argv runs with stdin from /dev/null, ``LANG=C``, a fixed ``PATH`` and its own session (process
  group). ``timeout`` seconds after the start, or as soon as argv itself has exited, the whole
  group is killed with SIGKILL: nothing it spawned outlives the call (a runtime that ignores
  SIGTERM, a forked helper that keeps the pipes open). A process that started its own session is
  outside the group; callers that start such processes (the probe's containers) clean them up.
* stdout/stderr are bytes, at most ``limit`` each (the rest is read and dropped, so a binary
  printing garbage without end neither blocks nor fills memory).
* ``error`` is None or a short reason: ``timed out after Ns``, ``not found``, ``cannot be executed
  (...)``. ``rc`` is None when argv did not run or was killed for the time bound.

``find(name)`` returns the first executable ``name`` in ``SEARCH_PATH`` (or None).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
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
    try:
        proc = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL,  # pylint: disable=ansible-bad-function
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env or ENV, cwd=cwd,
                                close_fds=True, start_new_session=True, **extra)
    except OSError as exc:
        return None, b'', b'', _spawn_error(exc)
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
