# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading a rootless user's files as root without leaving what that user owns.

The checks are made on the file actually opened, so a link swapped in between cannot make root read
something else; an error never shows a link's target.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import stat

from ansible_collections.runcguard.seccomp.plugins.module_utils._files import FileProblem, describe_os_error, read_fd


class OutOfBounds(FileProblem):
    """A user's path leads to a file that user does not own (a link, or a path to another's file)."""


def owner_of(user):
    return {'name': user['name'], 'uid': user['uid']}


def not_owned_message(user):
    return ('not read: it leads to a file that user %s does not own (a link or a path out of what the user owns); '
            'its target is not shown' % user['name'])


def open_owned(fs, path, user):
    """An fd of regular file ``path`` that ``user`` owns (or a root-owned world-readable file).

    The checks are made on the file actually opened (fstat of the fd), so a link swapped in between
    cannot make root read something else. Raises FileProblem (OutOfBounds for a file of someone
    else: the message never shows the target).
    """
    real = fs.real(path)
    try:
        resolved = os.path.realpath(real)
        fd = os.open(resolved, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, 'O_NONBLOCK', 0) | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # swapped for a link after realpath
            raise OutOfBounds(not_owned_message(user), path)
        raise FileProblem(describe_os_error(exc), path)
    try:
        st = os.fstat(fd)
        if not allowed(st, user):
            raise OutOfBounds(not_owned_message(user), path)
        if not stat.S_ISREG(st.st_mode):
            raise FileProblem('not a regular file', path)
        return fd
    except BaseException:
        os.close(fd)
        raise


def allowed(st, user):
    """May root read (or a scan report on) this file on behalf of ``user``?"""
    if st.st_uid == user['uid']:
        return True
    # a system file the user's own engine could read as well; never another user's file
    return st.st_uid == 0 and bool(st.st_mode & stat.S_IROTH) and not st.st_mode & stat.S_IWOTH


def read_owned(fs, path, user, max_size):
    """Bytes of a file ``user`` controls, bounded; FileProblem/OutOfBounds as open_owned."""
    fd = open_owned(fs, path, user)
    try:
        size = os.fstat(fd).st_size
        if size > max_size:
            raise FileProblem('too large: %d bytes, limit is %d' % (size, max_size), path)
        return read_fd(fd, path, max_size, limit=None)
    except OSError as exc:
        raise FileProblem(describe_os_error(exc), path)
    finally:
        os.close(fd)


def lexists(fs, path):
    try:
        os.lstat(fs.real(path))
        return True
    except OSError:
        return False
