# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``SafeDir``: a directory opened once without following anyone's links; reads, scratch files,
backups, renames, attribute changes and unlinks relative to it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import errno
import os
import stat
import time

from ansible_collections.runcguard.seccomp.plugins.module_utils._files import SCRATCH_MARK, FileProblem, describe_os_error, read_fd
from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile.control import _CLOEXEC, _NOFOLLOW, _NONBLOCK, _kind, _same
from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile.dirlock import Attributes, DirLock, _scratch_prefix
from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile.walk import _check_user, _makedirs, _open_dir, walk


class SafeDir(object):
    """A directory opened once without following anyone's links; every file operation is relative to it.

    ``controller``: (path, text) of what a non-root user controls on the way, or None. Use as a context
    manager (or call ``close``).
    """

    def __init__(self, fd, path, controller=None, user=None):
        self.fd, self.path, self.controller, self.user = fd, path, controller, user

    @classmethod
    def open(cls, path, allow_user_owned=False, create=False, mode=0o755):
        """Open directory ``path`` (absolute) for writing as root.

        Refuses (UserControlled) a directory a non-root user owns or can change, or one below such a
        directory, unless ``allow_user_owned``; a user's symlink on the way is never followed.
        ``create``: make missing directories (root-owned, ``mode``) first, each relative to its parent, and
        only once the deepest existing one passed the same check (nothing is made in a user's directory).
        """
        if create:
            _makedirs(path, mode, allow_user_owned)
        w = walk(path, 'write')
        try:
            if w.final is None:
                raise FileProblem(describe_os_error(OSError(errno.ENOENT, '')), path)
            if not stat.S_ISDIR(w.final.st_mode):
                raise FileProblem(describe_os_error(OSError(errno.ENOTDIR, '')), path)
            _check_user(w, allow_user_owned, path, 'write into')
            fd = _open_dir(w)
        finally:
            w.close()
        return cls(fd, w.path, w.controller, w.user)

    @classmethod
    def for_file(cls, path, allow_user_owned=False, must_exist=True, action='rewrite'):
        """(SafeDir of the file's directory, the file's name in it) for a file to read or replace.

        A root-owned symlink in root's own directories is followed (the file it points to is the one
        handled); a user's is not. The file and every directory above it are checked against
        ``allow_user_owned`` (UserControlled, naming the first thing a user owns or can change).
        """
        w = walk(path, 'write')
        try:
            if w.final is None and must_exist:
                raise FileProblem(describe_os_error(OSError(errno.ENOENT, '')), path)
            if w.final is not None and stat.S_ISDIR(w.final.st_mode):
                raise FileProblem(describe_os_error(OSError(errno.EISDIR, '')), path)
            _check_user(w, allow_user_owned, path, action)
            fd = _open_dir(w, parent_only=True)
        finally:
            w.close()
        return cls(fd, w.dir, w.controller, w.user), w.name

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def join(self, name):
        return os.path.join(self.path, name)

    def lstat(self, name):
        """lstat of ``name`` in this directory, None when it does not exist."""
        try:
            return os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise FileProblem(describe_os_error(exc), self.join(name))

    def names(self):
        try:
            return sorted(os.listdir(self.fd))
        except OSError as exc:
            raise FileProblem(describe_os_error(exc), self.path)

    def _open_file(self, name):
        """(descriptor, path) of ``name`` opened read-only; never follows a link, never blocks on a FIFO."""
        path = self.join(name)
        try:
            return os.open(name, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC, dir_fd=self.fd), path
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise FileProblem('is a symlink; not followed', path)
            raise FileProblem(describe_os_error(exc), path)

    def open_read(self, name):
        """``name`` opened for reading as a binary file object (close it); never follows a link, never
        blocks on a FIFO. FileProblem unless it is a regular file."""
        fd, path = self._open_file(name)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise FileProblem('is not a regular file (%s)' % _kind(st), path)
            return os.fdopen(fd, 'rb')
        except BaseException:
            os.close(fd)
            raise

    def read(self, name, max_size):
        """(bytes, stat) of regular file ``name``; never follows a link, never blocks on a FIFO."""
        fd, path = self._open_file(name)
        try:
            st = os.fstat(fd)
            return _read_fd(fd, st, max_size, path), st
        finally:
            os.close(fd)

    def read_with_attributes(self, name, max_size):
        """(bytes, stat, Attributes) of regular file ``name``, all from one descriptor."""
        fd, path = self._open_file(name)
        try:
            st = os.fstat(fd)
            return _read_fd(fd, st, max_size, path), st, Attributes.of_fd(fd)
        finally:
            os.close(fd)

    def attributes(self, name):
        """Attributes of ``name`` (a regular file, not followed), or None when it does not exist."""
        try:
            fd = os.open(name, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC, dir_fd=self.fd)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise FileProblem(describe_os_error(exc), self.join(name))
        try:
            return Attributes.of_fd(fd)
        finally:
            os.close(fd)

    def lock(self, name, timeout):
        """Acquired DirLock for ``name`` (release it, or use ``with``)."""
        return DirLock(self, name, timeout).acquire()

    def remove_stale_scratch(self, name):
        """Delete leftover temporary files of ``name`` (an interrupted run's); call with the lock held."""
        ours = _scratch_prefix(name)
        removed = []
        for entry in self.names():
            legacy = (entry.startswith('.%s.' % name) and len(entry) == len(name) + 14 and entry.endswith('.tmp')
                      and SCRATCH_MARK not in entry)
            if (entry.startswith(ours) and entry.endswith('.tmp')) or legacy:
                try:
                    os.unlink(entry, dir_fd=self.fd)
                    removed.append(entry)
                except OSError as exc:
                    if exc.errno != errno.ENOENT:
                        raise FileProblem('cannot remove the leftover %s: %s' % (entry, describe_os_error(exc)),
                                          self.join(name))
        return removed

    def _scratch(self, name, data, attrs):
        """A new scratch file beside ``name`` holding ``data`` (bytes, or an iterable of bytes chunks
        written as they come: a report of 200 MB is never one string), created no wider than
        ``attrs.mode``. An exception from the iterable removes the scratch file."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
        for _attempt in range(100):
            tmp = '%s%s.tmp' % (_scratch_prefix(name), binascii.hexlify(os.urandom(6)).decode('ascii'))
            try:
                fd = os.open(tmp, flags, attrs.mode & 0o777, dir_fd=self.fd)
                break
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    raise
        else:
            raise FileProblem('cannot find a free temporary name beside it', self.join(name))
        try:
            attrs.apply(fd)
            for chunk in (data,) if isinstance(data, (bytes, bytearray, memoryview)) else data:
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view):]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            self._unlink_quiet(tmp)
            raise
        os.close(fd)
        return tmp

    def _unlink_quiet(self, name):
        try:
            os.unlink(name, dir_fd=self.fd)
        except OSError:
            pass

    def backup(self, name, data, attrs):
        """Keep ``data`` (what ``name`` held) as ``<name>.<pid>.<time>~`` with ``attrs``; returns its path."""
        dest = '%s.%d.%s' % (name, os.getpid(), time.strftime('%Y-%m-%d@%H:%M:%S~'))
        tmp = self._scratch(name, data, attrs)
        try:
            if self.lstat(dest) is not None:
                raise FileProblem('the backup name %s is taken' % dest, self.join(name))
            os.rename(tmp, dest, src_dir_fd=self.fd, dst_dir_fd=self.fd)
        except BaseException:
            self._unlink_quiet(tmp)
            raise
        return self.join(dest)

    def write(self, name, data, expect=None, attrs=None, backup=None, exists=None):
        """Atomically make ``name`` hold ``data`` (bytes or an iterable of bytes chunks: ``_scratch``);
        durable on return. Returns the backup's path or None.

        expect: stat of the file that was read (``read``'s second value); the name must still be that
        inode right before the rename, else nothing is written (FileProblem). exists=False: ``name``
        must not exist (a new file). attrs: Attributes of the result; default: those of the file being
        replaced (owner, group, mode, xattrs kept), or root:root 0644 for a new file. backup: bytes (or
        chunks) to keep as a backup first (normally the bytes that were read).
        """
        path = self.join(name)
        current = self.lstat(name)
        if exists is False and current is not None:
            raise FileProblem('already exists', path)
        if current is not None and not stat.S_ISREG(current.st_mode):
            raise FileProblem('is not a regular file (%s); not replaced' % _kind(current), path)
        if expect is not None and not _same(current, expect):
            raise FileProblem('was replaced while it was being rewritten; nothing was written', path)
        if attrs is None:
            attrs = self.attributes(name) if current is not None else Attributes()
        backup_path = self.backup(name, backup, attrs) if backup is not None else None
        tmp = self._scratch(name, data, attrs)
        try:
            now = self.lstat(name)
            if (expect is not None or current is not None) and not _same(now, expect or current):
                raise FileProblem('was replaced while it was being rewritten; nothing was written', path)
            if exists is False and now is not None:
                raise FileProblem('already exists', path)
            if exists is False and self._link_exclusive(tmp, name, path):
                self._unlink_quiet(tmp)
            else:
                os.rename(tmp, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)
        except BaseException:
            self._unlink_quiet(tmp)
            raise
        self.fsync()
        return backup_path

    def _link_exclusive(self, tmp, name, path):
        """Give ``tmp`` the name ``name`` only if that name is free (link() is atomic and fails on a taken
        name). False where the file system has no hard links (the caller renames after its own check)."""
        try:
            os.link(tmp, name, src_dir_fd=self.fd, dst_dir_fd=self.fd, follow_symlinks=False)
            return True
        except OSError as exc:
            if exc.errno == errno.EEXIST:
                raise FileProblem('already exists', path)
            if exc.errno in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                return False
            raise

    def write_in_place(self, name, data, expect):
        """Overwrite ``name`` in place (a bind-mounted file cannot be renamed over); same inode checks."""
        path = self.join(name)
        fd = os.open(name, os.O_WRONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC, dir_fd=self.fd)
        try:
            if not _same(os.fstat(fd), expect):
                raise FileProblem('was replaced while it was being rewritten; nothing was written', path)
            os.ftruncate(fd, 0)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)

    def set_attributes(self, name, uid=None, gid=None, mode=None, expect=None):
        """Give ``name`` (not followed) this owner / group / mode; returns (before, after) dicts, equal when
        nothing changed."""
        path = self.join(name)
        try:
            fd = os.open(name, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC, dir_fd=self.fd)
        except OSError as exc:
            raise FileProblem(describe_os_error(exc), path)
        try:
            st = os.fstat(fd)
            if expect is not None and not _same(st, expect):
                raise FileProblem('was replaced while its attributes were set; nothing was changed', path)
            before = dict(owner=st.st_uid, group=st.st_gid, mode='%04o' % stat.S_IMODE(st.st_mode))
            want_uid = st.st_uid if uid is None else uid
            want_gid = st.st_gid if gid is None else gid
            if (want_uid, want_gid) != (st.st_uid, st.st_gid):
                os.fchown(fd, want_uid, want_gid)
            want_mode = stat.S_IMODE(os.fstat(fd).st_mode) if mode is None else mode
            if want_mode != stat.S_IMODE(os.fstat(fd).st_mode):
                os.fchmod(fd, want_mode)
            after = dict(owner=want_uid, group=want_gid, mode='%04o' % want_mode)
            return before, after
        finally:
            os.close(fd)

    def unlink(self, name, expect=None):
        """Remove ``name`` (never followed); with ``expect``, only when it still is that inode. True if removed."""
        now = self.lstat(name)
        if now is None:
            return False
        if expect is not None and not _same(now, expect):
            raise FileProblem('was replaced meanwhile; not removed', self.join(name))
        try:
            os.unlink(name, dir_fd=self.fd)
        except OSError as exc:
            raise FileProblem(describe_os_error(exc), self.join(name))
        self.fsync()
        return True

    def fsync(self):
        try:
            os.fsync(self.fd)
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.EBADF):
                raise


def _read_fd(fd, st, max_size, path):
    if not stat.S_ISREG(st.st_mode):
        raise FileProblem('is %s, not a regular file' % _kind(st) if not stat.S_ISDIR(st.st_mode)
                          else 'is a directory', path)
    if st.st_size > max_size:
        raise FileProblem('too large: %d bytes, limit (max_profile_size) is %d' % (st.st_size, max_size), path)
    return read_fd(fd, path, max_size)
