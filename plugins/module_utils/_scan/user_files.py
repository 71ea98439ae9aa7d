# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading a rootless user's files as root without leaving what that user owns.

Root reads a file for a user only when that user could read it themselves (every directory on the
way searchable, the file readable, by the user's uid and groups) and only when it is a regular file;
the checks are made on the descriptors actually opened, so a link swapped in between cannot make root
read something else; an error never shows a link's target.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

from ansible_collections.runcguard.seccomp.plugins.module_utils._files import FileProblem, describe_os_error, read_fd
from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile import UserControlled, as_user
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.rootfs import HostFs, RootFs


class OutOfBounds(FileProblem):
    """A user's path leads to a file that user does not own (a link, or a path to another's file)."""


def owner_of(user):
    return {'name': user['name'], 'uid': user['uid']}


def not_owned_message(user):
    return ('not read: it leads to a file that user %s does not own (a link or a path out of what the user owns); '
            'its target is not shown' % user['name'])


def open_owned(fs, path, user):
    """An fd of regular file ``path`` for ``user``: one the user owns, or a root-owned one nobody else
    can change, and in both cases one the user could read themselves.

    Root decides with the user's permissions (``_safefile``'s LinkPolicy, ``as_user``): every
    directory from ``/`` to the file, through the user's links, must be searchable by the user and
    the file readable by them (owner/group/other bits against their uid and groups), checked on the
    directory descriptors of one walk; the file is opened ``O_PATH`` and reopened for reading only
    when it is a regular file, so a FIFO, socket or device is never opened. Raises FileProblem
    (OutOfBounds when refused: the message never shows the target, its size or its content).
    """
    try:
        fd = _open_as(fs, path, user)
    except UserControlled:
        raise OutOfBounds(not_owned_message(user), path)
    try:
        if not allowed(os.fstat(fd), user):
            raise OutOfBounds(not_owned_message(user), path)
        return fd
    except BaseException:
        os.close(fd)
        raise


def _open_as(fs, path, user):
    """``fs.open_read(path, as_user=)`` (HostFs, RootFs: _safefile's one policy); a plain ``Fs`` (the live
    host, or a test tree standing for one) is read the same way through a HostFs / RootFs."""
    reader = fs if hasattr(fs, 'open_read') else getattr(fs, '_as_user_reader', None)
    if reader is None:
        reader = fs._as_user_reader = HostFs() if fs.root == '/' else RootFs(fs.root)
    return reader.open_read(path, as_user=as_user(user, host=not reader.confined))


def allowed(st, user):
    """May root read (or a scan report on) this file on behalf of ``user``? Its owner is the user, or
    root with no write for everyone (a system file the user's own engine could read as well); never
    another user's file. That the user could reach and read it is open_owned's walk."""
    if st.st_uid == user['uid']:
        return True
    return st.st_uid == 0 and not st.st_mode & stat.S_IWOTH


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


def lexists(fs, path, user=None):
    """Is there something at ``path`` (a link not followed)? With ``user``: a path the user could not
    look up themselves counts as there, whether or not it is (the read then refuses it in the same
    words), so a scan never tells the user what exists where they cannot look."""
    try:
        os.lstat(fs.real(path))
        return True
    except FileProblem:
        return True  # the read says why it is not followed
    except OSError:
        if user is None:
            return False
    try:
        os.close(_open_as(fs, path, user))
    except UserControlled:
        return True
    except FileProblem:
        return False
    return True
