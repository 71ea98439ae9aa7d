# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A user's own runc (a rootless setup's ``~/.local/bin/runc``) replaced in place, and put back.

The binary method for a user: the verified release goes into the same path, so every engine of
that user that names the path runs it with no configuration change. The file stays the user's:
same owner, group, mode and extended attributes; nothing in a home becomes root's. Root writes
through ``_safefile`` only (``allow_user_owned``: the directory is opened once without following
a link, the file must still be the inode that was checked right before the rename), and never
takes a lock file inside the home (the pin record's lock, in root's own directory, serialises
runs). The scratch file is given the user's owner before a byte is written into it.

Refused, each with a message naming the path and the user: a relative path, a missing file (there
is nothing to upgrade in place), a symlink (root never writes through a user's link: replace the
file it leads to as the user), anything but a regular file, a file of another owner, or a directory
on the way that a third user owns. Pure stdlib, Python 3.9+.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import pwd
import stat

from ansible_collections.runcguard.seccomp.plugins.module_utils import _safefile
from ansible_collections.runcguard.seccomp.plugins.module_utils._files import FileProblem

FILE_LIMIT = 64 << 20  # a runc binary is ~10 MiB


class UserBinaryError(Exception):
    """A user's binary that cannot be replaced in place; the message says why and what to do."""


def resolve_user(owner):
    """(name, uid, gid) of ``owner`` (a user name, a uid, or ``{name, uid}``); UserBinaryError when there is
    none, it is root, or the name and uid of a ``{name, uid}`` disagree."""
    if isinstance(owner, dict):
        name, uid = resolve_user(owner.get('name') if owner.get('name') is not None else owner.get('uid'))[:2]
        if owner.get('uid') is not None and str(owner['uid']) != str(uid):
            raise UserBinaryError('user %s has uid %d, not %s' % (name, uid, owner['uid']))
        return resolve_user(name)
    text = str(owner).strip()
    try:
        entry = pwd.getpwuid(int(text)) if text.isdigit() else pwd.getpwnam(text)
    except (KeyError, ValueError):
        raise UserBinaryError('no such user %r' % text)
    if entry.pw_uid == 0:
        raise UserBinaryError('%s is root: user_binaries are for a non-root user\'s own runc (use binary)' % text)
    return entry.pw_name, entry.pw_uid, entry.pw_gid


def _check_parents(path, name, uid):
    """Every directory above ``path`` is root's or the user's own (not a third user's)."""
    parent = os.path.dirname(path)
    while True:
        st = os.lstat(parent)
        if st.st_uid not in (0, uid):
            raise UserBinaryError('%s: the directory %s belongs to %s, not to %s; not replaced'
                                  % (path, parent, _safefile.user_name(st.st_uid) or st.st_uid, name))
        if parent == '/':
            return
        parent = os.path.dirname(parent)


def check(path, owner, sha256):
    """Whether the user's binary at ``path`` needs replacing (its sha256 is not ``sha256``).

    Returns ``{path, owner: {name, uid}, sha256 (now), change: bool}``; UserBinaryError when it cannot
    be replaced in place (see the module docstring)."""
    name, uid, dummy = resolve_user(owner)
    if not os.path.isabs(path):
        raise UserBinaryError('%s: not an absolute path' % path)
    try:
        st = os.lstat(path)
    except OSError:
        raise UserBinaryError('%s does not exist: the binary method replaces %s\'s runc in the same path, so there '
                              'must be one' % (path, name))
    if stat.S_ISLNK(st.st_mode):
        raise UserBinaryError('%s is a symlink: root never writes through a user\'s link; replace the file it leads '
                              'to as %s, or give that path' % (path, name))
    if not stat.S_ISREG(st.st_mode):
        raise UserBinaryError('%s is not a regular file; not replaced' % path)
    if st.st_uid != uid:
        raise UserBinaryError('%s belongs to %s, not to %s; not replaced'
                              % (path, _safefile.user_name(st.st_uid) or st.st_uid, name))
    _check_parents(path, name, uid)
    try:
        data = _read(path, uid)
    except FileProblem as exc:
        raise UserBinaryError('%s: %s' % (path, exc.message))
    now = hashlib.sha256(data).hexdigest()
    return {'path': path, 'owner': {'name': name, 'uid': uid}, 'sha256': now, 'change': now != sha256.lower()}


def _read(path, uid):
    sdir, fname = _safefile.SafeDir.for_file(path, allow_user_owned=True, action='read')
    with sdir:
        data, st = sdir.read(fname, FILE_LIMIT)
    if st.st_uid != uid:
        raise FileProblem('is no longer the user\'s file', path)
    return data


def replace(path, data, uid, attrs=None):
    """Atomically give the user's file at ``path`` the bytes ``data``, keeping its owner, group, mode and
    xattrs (or ``attrs``: a recorded original's, when it is put back). The file must be a regular file of
    ``uid``; when it is gone (the user removed it) it is created with ``attrs``. Returns the old bytes."""
    sdir, fname = _safefile.SafeDir.for_file(path, allow_user_owned=True, must_exist=False, action='replace')
    with sdir:
        sdir.remove_stale_scratch(fname)  # a killed run's scratch file: ours, beside the file
        if sdir.lstat(fname) is None:
            if attrs is None or attrs.uid != uid:
                raise FileProblem('does not exist; not created', path)
            sdir.write(fname, data, attrs=attrs, exists=False)
            return None
        old, st, current = sdir.read_with_attributes(fname, FILE_LIMIT)
        if st.st_uid != uid:
            raise FileProblem('belongs to %s now, not to uid %d; not replaced'
                              % (_safefile.user_name(st.st_uid) or st.st_uid, uid), path)
        keep = attrs if attrs is not None else current
        if old == data and (keep.uid, keep.gid, keep.mode) == (current.uid, current.gid, current.mode):
            return old
        sdir.write(fname, data, expect=st, attrs=keep)
    return old


def clean_beside(path):
    """Remove a killed run's scratch files beside a user's file (no lock file in the home: the caller
    holds the pin record's lock). Returns their paths."""
    if not os.path.isdir(os.path.dirname(path)):
        return []
    sdir, fname = _safefile.SafeDir.for_file(path, allow_user_owned=True, must_exist=False, action='clean up beside')
    with sdir:
        return [sdir.join(n) for n in sdir.remove_stale_scratch(fname)]
