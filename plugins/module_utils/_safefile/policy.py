# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Root's policy towards users' files: never execute what a user controls, never read through a user's
link into what that user could not read."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import stat

from ansible_collections.runcguard.seccomp.plugins.module_utils._files import FileProblem, describe_os_error
from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile.control import (
    _CLOEXEC, _NOFOLLOW, _NONBLOCK, _PATH, UserControlled, _acl_writers, _kind, _readable_by, _same, _who, control_of,
)
from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile.walk import walk


def may_execute(path):
    """(True, None) when root may execute ``path``; else (False, reason). See ``open_executable``."""
    fd, why = open_executable(path)
    if fd is None:
        return False, why
    os.close(fd)
    return True, None


def open_executable(path):
    """(descriptor, None) of ``path`` opened once for root to execute or read (close it); else (None, reason).

    Refused: the file, a directory above it or a symlink on the way owned by a non-root user or
    writable by one (the user could put any code there); not a regular file; not executable. The
    file is opened (``O_NOFOLLOW``, relative to the directory the walk checked; ``O_PATH`` when it
    cannot be read) and the descriptor itself is checked again: the inode the walk saw, its owner,
    mode and ACL. Execute it as ``/proc/self/fd/N`` (``_command.run(fd=)``) and read it through the
    descriptor, so what runs or is read is exactly what was checked, whatever is renamed meanwhile.
    """
    try:
        w = walk(path, 'read')
    except FileProblem as exc:
        return None, exc.message
    try:
        if w.final is None:
            return None, 'does not exist'
        if w.controller:
            return None, ('%s is %s; root never executes a file a non-root user owns or can change, nor one in '
                          'a directory such a user can change' % w.controller)
        why = _not_executable(w.final)
        if why:
            return None, why
        try:
            fd = os.open(w.name, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC, dir_fd=w.fd)
        except OSError as exc:
            if exc.errno != errno.EACCES or not _PATH:
                return None, describe_os_error(exc)
            fd = os.open(w.name, _PATH | _NOFOLLOW | _CLOEXEC, dir_fd=w.fd)
        st = os.fstat(fd)
        if not _same(st, w.final):
            why = 'changed while it was opened (renamed or replaced); not run'
        else:
            ctl = control_of(st, _acl_writers(fd) if stat.S_ISREG(st.st_mode) else ())
            why = (('%s is %s; root never executes a file a non-root user owns or can change' % (path, ctl))
                   if ctl else _not_executable(st))
        if why:
            os.close(fd)
            return None, why
        return fd, None
    finally:
        w.close()


def _not_executable(st):
    if not stat.S_ISREG(st.st_mode):
        return 'is %s, not a regular file' % _kind(st)
    if not st.st_mode & 0o111:
        return 'not executable'
    return None


def check_read(path):
    """None when root may read ``path`` for discovery, else the reason (a text that reveals nothing of
    where a user's link leads)."""
    try:
        w = walk(path, 'read')
    except UserControlled as exc:
        return exc.message
    except FileProblem:
        return None  # ordinary trouble: the reader reports it in its own words
    try:
        if w.final is not None and w.user is not None and w.final.st_nlink > 1 and \
                not _readable_by(w.final, w.user, False):
            return ('%s: a hard link in a directory %s to a file that user cannot read; root does not read it '
                    'for them' % (path, _who(w.user)))
        return None
    finally:
        w.close()


def user_control(path):
    """(path, text) of the first thing on ``path`` a non-root user owns or can change, or None."""
    w = walk(path, 'read')
    try:
        return w.controller
    finally:
        w.close()
