# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whole-file operations by path as root: each is one walk, then everything relative to the directory."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import stat

from ansible_collections.runcguard.seccomp.plugins.module_utils._files import FileProblem, describe_os_error
from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile.control import (
    _CLOEXEC, _NOFOLLOW, _NONBLOCK, _PATH, UserControlled, _openat2_nosymlinks, _openat2_state, _readable_by, _same, _who,
)
from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile.dirlock import DirLock
from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile.safedir import SafeDir, _read_fd
from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile.walk import (
    _check_user, open_regular_at, reopen_regular, walk,
)


def open_for_read(path, allow_user_owned=True, as_user=None):
    """A read-only descriptor of regular file ``path`` (close it), opened as root race-free: the walk
    never follows a user's link into what that user could not read, the file is opened ``O_PATH``
    relative to its directory, must be the inode the walk checked and a regular file, and only then is
    reopened for reading (``open_regular_at``: a FIFO, socket or device is never opened).
    ``as_user=(uid, gids)`` (``control.as_user``): only what that user could read themselves, every
    directory from ``/`` on searchable by them (UserControlled otherwise, naming only ``path``)."""
    if allow_user_owned and as_user is None:
        fd = _open_without_links(path)
        if fd is not None:
            return fd
    w = walk(path, 'read', as_user=as_user)
    try:
        if w.final is None:
            raise FileProblem(describe_os_error(OSError(errno.ENOENT, '')), path)
        if not allow_user_owned:
            _check_user(w, False, path, 'read')
        if w.user is not None and w.final.st_nlink > 1 and not _readable_by(w.final, w.user, False):
            raise UserControlled('%s: a hard link in a directory %s to a file that user cannot read; root does '
                                 'not read it for them' % (path, _who(w.user)), path)
        return open_regular_at(w.fd, w.name, w.final, path)
    finally:
        w.close()


def _open_without_links(path):
    """The fast path of open_for_read: with not one symlink on the whole path (openat2 refuses any), no
    user can have steered the lookup; a hard link that may not be the user's own takes the full walk.
    Opened ``O_PATH`` and reopened for reading only when it is a regular file (``reopen_regular``)."""
    try:
        pfd = _openat2_nosymlinks(path, (_PATH or os.O_RDONLY | _NONBLOCK) | _NOFOLLOW | _CLOEXEC)
    except OSError:
        return None  # a symlink on the way, or trouble the walk names in its own words
    if pfd is None:
        return None
    _openat2_state['worked'] = True
    try:
        st = os.fstat(pfd)
        if not stat.S_ISREG(st.st_mode) or (st.st_nlink > 1 and not st.st_mode & stat.S_IROTH):
            return None  # the walk says why (not a regular file) or decides on the hard link
        return reopen_regular(pfd, st, path) if _PATH else os.dup(pfd)
    finally:
        os.close(pfd)


def read_file(path, max_size, allow_user_owned=True):
    """Bytes of regular file ``path`` read as root (see open_for_read); FileProblem / UserControlled."""
    fd = open_for_read(path, allow_user_owned)
    try:
        return _read_fd(fd, os.fstat(fd), max_size, path)
    finally:
        os.close(fd)


def write_file(path, data, attrs=None, backup=False, allow_user_owned=False, lock_timeout=None, max_size=1 << 26):
    """Create or atomically replace ``path`` with ``data`` as root (see SafeDir.write).

    The current content (when there is a file) is read under the lock for the backup; the owner,
    group, mode and xattrs of a replaced file are kept unless ``attrs`` says otherwise. Returns
    ``{'changed': bool, 'backup_file': path or None}``; an identical file is left alone.
    """
    sdir, name = SafeDir.for_file(path, allow_user_owned, must_exist=False, action='write')
    with sdir:
        lock = sdir.lock(name, 30 if lock_timeout is None else lock_timeout)
        try:
            sdir.remove_stale_scratch(name)
            current = sdir.lstat(name)
            old, st = (None, None)
            if current is not None:
                old, st = sdir.read(name, max_size)
                if old == data and (attrs is None or attrs.__dict__ == sdir.attributes(name).__dict__):
                    return {'changed': False, 'backup_file': None}
            bpath = sdir.write(name, data, expect=st, attrs=attrs, backup=old if backup and st else None,
                               exists=None if st else False)
            return {'changed': True, 'backup_file': bpath}
        finally:
            lock.release()


def copy_file(src, dest, allow_user_owned=False, max_size=1 << 28):
    """Restore ``src`` (a backup of ours) over ``dest``: content, owner, group, mode and xattrs of ``src``."""
    ssdir, sname = SafeDir.for_file(src, allow_user_owned, action='restore from')
    with ssdir:
        data, _st = ssdir.read(sname, max_size)
        attrs = ssdir.attributes(sname)
    return write_file(dest, data, attrs=attrs, allow_user_owned=allow_user_owned, max_size=max_size)


def restore_backup(path, backup, allow_user_owned=False, remove_backup=True, check=False, max_size=1 << 28):
    """Put ``backup`` (a backup of ours, in the directory of the file ``path`` names) back as that file:
    its bytes, owner, group, mode and xattrs, atomically; then remove the backup. False when the backup is
    gone (an earlier run restored it).

    One walk of ``path`` (a root-owned link in root's own directories is followed, a user's never: that
    is UserControlled), then everything relative to the directory reached: the backup must be in that
    same directory, a regular file with one link, read ``O_NOFOLLOW``; nothing is ever written through
    a symlink and nothing is created where a user's link points."""
    if not os.path.lexists(backup):
        return False
    sdir, name = SafeDir.for_file(path, allow_user_owned, must_exist=False, action='restore')
    with sdir:
        bname = os.path.basename(backup)
        try:
            bst = os.stat(os.path.dirname(backup) or '/')
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return False
            raise FileProblem(describe_os_error(exc), backup)
        if not _same(bst, os.fstat(sdir.fd)) or bname in ('', '.', '..') or bname == name:
            raise FileProblem('the backup %s is not beside the file (in %s); not restored' % (backup, sdir.path), path)
        now = sdir.lstat(bname)
        if now is None:
            return False
        if not stat.S_ISREG(now.st_mode) or now.st_nlink != 1:
            raise FileProblem('the backup %s is not a regular file with one link; not restored' % backup, path)
        if check:
            return True
        lock = sdir.lock(name, 30)
        try:
            sdir.remove_stale_scratch(name)
            data, st, attrs = sdir.read_with_attributes(bname, max_size)
            if not _same(st, now):
                raise FileProblem('the backup %s changed while it was read; not restored' % backup, path)
            current = sdir.lstat(name)
            sdir.write(name, data, expect=current, attrs=attrs, exists=None if current is not None else False)
            if remove_backup:
                sdir.unlink(bname, expect=st)
        finally:
            lock.release()
    return True


def remove_file(path, allow_user_owned=False):
    """Remove ``path`` (never following a link in it) as root; False when it was not there."""
    try:
        sdir, name = SafeDir.for_file(path, allow_user_owned, must_exist=False, action='remove')
    except FileProblem as exc:
        if 'does not exist' in exc.message:
            return False
        raise
    with sdir:
        return sdir.unlink(name)


def lock_file(path, timeout, allow_user_owned=False):
    """The acquired DirLock of ``path`` (the one seccomp_profile takes); releasing it closes its directory."""
    sdir, name = SafeDir.for_file(path, allow_user_owned, must_exist=False, action='lock')
    try:
        return DirLock(sdir, name, timeout, owns_dir=True).acquire()
    except BaseException:
        sdir.close()
        raise
