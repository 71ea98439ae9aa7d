# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A node's root file system mounted elsewhere, read as the node sees it and never left.

Private to the collection. Pure stdlib, Python 3.9+, Linux (``O_PATH``, ``dir_fd``).

``RootFs(root)`` maps the node's paths (``/etc/docker/daemon.json``) to files under ``root``
(``/host/etc/docker/daemon.json``). Symlinks are resolved inside the root, component by component:
an absolute target starts again at the root (``/usr/bin/runc -> /usr/sbin/runc`` is the node's
``/usr/sbin/runc``), a relative target that climbs above the root is refused (``RootEscape``), never
followed out of it. Reads walk the path with directory file descriptors (``openat`` with
``O_NOFOLLOW`` on every component), so a tree that changes under the scan cannot steer a read
outside the root either. ``HostFs()`` is the same interface on ``/`` (``audit_execute: false`` on
an ordinary host). Nothing here executes anything.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fnmatch
import hashlib
import os
import stat

from ansible_collections.runcguard.seccomp.plugins.module_utils._files import (
    FileProblem, Fs, describe_os_error, read_bounded, read_fd,
)
from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile import link_policy, open_for_read, open_regular_at

MAX_LINKS = 40  # as the kernel: more symlinks on one path is a loop
_CLOEXEC = getattr(os, 'O_CLOEXEC', 0)
# Directories are only walked through: O_PATH needs search (x) permission, not read.
_DIR_FLAGS = getattr(os, 'O_PATH', os.O_RDONLY) | os.O_DIRECTORY | _CLOEXEC
_KINDS = ((stat.S_ISDIR, 'is a directory'), (stat.S_ISFIFO, 'is a FIFO, not a regular file'),
          (stat.S_ISSOCK, 'is a socket, not a regular file'), (stat.S_ISCHR, 'is a character device, not a regular '
                                                                             'file'),
          (stat.S_ISBLK, 'is a block device, not a regular file'))


class RootEscape(FileProblem):
    """A symlink under the root points outside it; it is reported, never followed."""


def _read_fd(fd, max_size, path, limit_name='max_profile_size'):
    st = os.fstat(fd)
    for test, text in _KINDS:
        if test(st.st_mode):
            raise FileProblem(text, path)
    if st.st_size > max_size:
        raise FileProblem('too large: %d bytes, limit (%s) is %d' % (st.st_size, limit_name, max_size), path)
    return read_fd(fd, path, max_size, limit_name)


def _sha256_fd(fd, max_size, path):
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise FileProblem('not a regular file', path)
    if st.st_size > max_size:
        raise FileProblem('too large to hash: %d bytes (limit %d)' % (st.st_size, max_size), path)
    digest, done = hashlib.sha256(), 0
    while done <= max_size:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return digest.hexdigest()
        digest.update(chunk)
        done += len(chunk)
    raise FileProblem('too large to hash: grew past %d bytes' % max_size, path)


class HostFs(Fs):
    """``Fs`` on ``/`` with the readers RootFs offers (read, listdir, sha256, open_read)."""

    confined = False

    def __init__(self, root='/'):
        super(HostFs, self).__init__(root)

    def resolve(self, path):
        return os.path.realpath(path)

    def open_read(self, path, as_user=None):
        """A read-only fd of regular file ``path`` (``_safefile.open_for_read``: never through a user's
        link into what that user could not read, nothing but a regular file opened; ``as_user=(uid,
        gids)``: only what that user could read themselves)."""
        if not os.path.isabs(path):
            return open_regular_at(None, path, None, path)
        return open_for_read(path, as_user=as_user)

    def read(self, path, max_size, limit_name='max_profile_size'):
        return read_bounded(path, max_size) if limit_name == 'max_profile_size' else self._read(path, max_size,
                                                                                                limit_name)

    def _read(self, path, max_size, limit_name):
        fd = self.open_read(path)
        try:
            return _read_fd(fd, max_size, path, limit_name)
        except OSError as exc:
            raise FileProblem(describe_os_error(exc), path)
        finally:
            os.close(fd)

    def read_root_owned(self, path, max_size, limit_name):
        """``read``, of a file root owns and no group or other may write, checked on the descriptor read:
        a package database (anyone else who could write it could name the owner of root's binaries)."""
        fd = self.open_read(path)
        try:
            st = os.fstat(fd)
            if st.st_uid != 0 or st.st_mode & 0o022:
                raise FileProblem('is not owned by root or is group/world writable, so it is not trusted', path)
            return _read_fd(fd, max_size, path, limit_name)
        except OSError as exc:
            raise FileProblem(describe_os_error(exc), path)
        finally:
            os.close(fd)

    def read_text(self, path, max_size, limit_name='max_profile_size'):
        data = self.read(path, max_size, limit_name)
        try:
            return data.decode('utf-8')
        except UnicodeDecodeError as exc:
            raise FileProblem('not valid UTF-8 text (byte offset %d)' % exc.start, path)

    def listdir(self, path):
        """Sorted names in directory ``path``; [] when it does not exist."""
        try:
            return sorted(os.listdir(self.real(path)))
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                return []
            raise FileProblem(describe_os_error(exc), path)

    def sha256(self, path, max_size):
        fd = self.open_read(path)
        try:
            return _sha256_fd(fd, max_size, path)
        except OSError as exc:
            raise FileProblem(describe_os_error(exc), path)
        finally:
            os.close(fd)


class RootFs(HostFs):
    """The node's paths under ``root``; see the module docstring. Raises FileProblem when ``root``
    is not a directory (the caller turns that into the scan's one error)."""

    confined = True

    def __init__(self, root):
        super(RootFs, self).__init__(root)
        self.root = os.path.realpath(os.path.abspath(root))
        try:
            st = os.stat(self.root)
        except OSError as exc:
            raise FileProblem('root %s: %s' % (root, describe_os_error(exc)), root)
        if not stat.S_ISDIR(st.st_mode):
            raise FileProblem('root %s is not a directory' % root, root)

    # -- resolution ------------------------------------------------------------------------------
    def _steps(self, path):
        return [(part, False) for part in reversed(path.split('/')) if part not in ('', '.')]

    def resolve(self, path):
        """The node path ``path`` with every symlink resolved inside the root (no symlink left in it).

        Components after the first missing one are kept as named ('..' applied). RootEscape for a
        relative symlink that climbs above the root; FileProblem for a loop.
        """
        todo, done, links = self._steps(path), [], 0
        policy = link_policy(path)  # _safefile's rule on users' links, inside the root
        while todo:
            part, from_link = todo.pop()
            if part == '..':
                if done:
                    done.pop()
                elif from_link:
                    raise RootEscape('symlink points outside the audited root (%s); not followed' % path, path)
                continue
            real = self.root + '/' + '/'.join(done + [part])
            try:
                st = os.lstat(real)
            except OSError as exc:
                if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                    raise FileProblem(describe_os_error(exc), path)
                done.append(part)
                for rest, _link in reversed(todo):
                    if rest == '..':
                        if done:
                            done.pop()
                    else:
                        done.append(rest)
                break
            if stat.S_ISLNK(st.st_mode):
                links += 1
                if links > MAX_LINKS:
                    raise FileProblem(describe_os_error(OSError(errno.ELOOP, 'loop')), path)
                policy.link(st, '/' + '/'.join(done + [part]))
                try:
                    target = os.readlink(real)
                except OSError as exc:
                    raise FileProblem(describe_os_error(exc), path)
                if target.startswith('/'):
                    done = []
                todo.extend((p, True) for p in reversed(target.split('/')) if p not in ('', '.'))
                continue
            policy.node(st, '/' + '/'.join(done + [part]))
            done.append(part)
        return '/' + '/'.join(done)

    def real(self, path):
        """Where the node path is under the root, symlinks resolved inside it (RootEscape, FileProblem)."""
        resolved = self.resolve(path)
        return self.root if resolved == '/' else self.root + resolved

    def host(self, real_path):
        if real_path == self.root:
            return '/'
        if real_path.startswith(self.root + '/'):
            return real_path[len(self.root):]
        raise RootEscape('%s is outside the audited root' % real_path, real_path)

    def exists(self, path):
        try:
            return os.path.lexists(self.real(path))
        except RootEscape:
            return True  # there is something; reading it says why it is not followed
        except FileProblem:
            return True

    def glob(self, pattern):
        """Node paths (as named, links not resolved) matching ``pattern``; never outside the root."""
        parts = [p for p in pattern.split('/') if p not in ('', '.')]
        current = ['']
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            following = []
            for prefix in current:
                if not any(c in part for c in '*?['):
                    following.append(prefix + '/' + part)
                    continue
                try:
                    names = os.listdir(self.real(prefix or '/'))
                except (OSError, FileProblem):
                    continue
                for name in sorted(fnmatch.filter(names, part)):
                    if name.startswith('.') and not part.startswith('.'):
                        continue
                    following.append(prefix + '/' + name)
            current = following
            if not last:
                current = [p for p in current if self._isdir(p)]
        return sorted(p for p in current if self.exists(p))

    def _isdir(self, path):
        try:
            return os.path.isdir(self.real(path))
        except FileProblem:
            return False

    def which(self, name, dirs=None):
        from ansible_collections.runcguard.seccomp.plugins.module_utils._command import SEARCH_PATH
        for d in dirs or SEARCH_PATH:
            cand = os.path.join(d, name)
            try:
                real = self.real(cand)
            except FileProblem:
                continue
            if os.path.isfile(real) and os.access(real, os.X_OK):
                return cand
        return None

    # -- reading ---------------------------------------------------------------------------------
    def open_read(self, path, as_user=None):
        """A read-only fd of the node path's regular file, walked with O_NOFOLLOW dir fds inside the root
        under _safefile's LinkPolicy (``as_user=(uid, gids)``: only what that user could read), opened
        by ``open_regular_at`` (a FIFO, socket or device is never opened)."""
        policy = link_policy(path, as_user=as_user)  # _safefile's rule on users' links, inside the root
        root_fd = os.open(self.root, _DIR_FLAGS)
        chain = [root_fd]
        try:
            todo, links = self._steps(path), 0
            if not todo:
                raise FileProblem('is a directory', path)
            while todo:
                part, from_link = todo.pop()
                if part == '..':
                    if len(chain) > 1:
                        os.close(chain.pop())
                    elif from_link:
                        raise RootEscape('symlink points outside the audited root (%s); not followed' % path, path)
                    continue
                try:
                    st = os.stat(part, dir_fd=chain[-1], follow_symlinks=False)
                except OSError as exc:
                    raise FileProblem(describe_os_error(exc), path)
                if stat.S_ISLNK(st.st_mode):
                    links += 1
                    if links > MAX_LINKS:
                        raise FileProblem(describe_os_error(OSError(errno.ELOOP, 'loop')), path)
                    policy.link(st)
                    try:
                        target = os.readlink(part, dir_fd=chain[-1])
                    except OSError as exc:  # replaced since the lstat
                        raise FileProblem(describe_os_error(exc), path)
                    if target.startswith('/'):
                        while len(chain) > 1:
                            os.close(chain.pop())
                    todo.extend((p, True) for p in reversed(target.split('/')) if p not in ('', '.'))
                    continue
                policy.node(st)
                if not todo:
                    return open_regular_at(chain[-1], part, st, path)
                if not stat.S_ISDIR(st.st_mode):
                    raise FileProblem(describe_os_error(OSError(errno.ENOTDIR, 'not a directory')), path)
                try:
                    chain.append(os.open(part, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=chain[-1]))
                except OSError as exc:
                    raise FileProblem(describe_os_error(exc), path)
                got = os.fstat(chain[-1])
                if (got.st_dev, got.st_ino) != (st.st_dev, st.st_ino):  # the directory policy.node checked
                    raise FileProblem('changed while it was opened; read it again', path)
            raise FileProblem('is a directory', path)  # the path ended in '..'
        except OSError as exc:
            raise FileProblem(describe_os_error(exc), path)
        finally:
            for fd in chain:
                os.close(fd)

    def read(self, path, max_size, limit_name='max_profile_size'):
        return self._read(path, max_size, limit_name)

    def read_root_owned(self, path, max_size, limit_name):
        """``read``: under a node's root the owners are the image's uids, not this host's users."""
        return self._read(path, max_size, limit_name)

    def listdir(self, path):
        try:
            real = self.real(path)
        except RootEscape:
            raise
        try:
            return sorted(os.listdir(real))
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                return []
            raise FileProblem(describe_os_error(exc), path)


def make_fs(root=None):
    """HostFs for ``/`` or None, RootFs otherwise (FileProblem when ``root`` is not a directory)."""
    if not root or os.path.realpath(root) == '/':
        return HostFs()
    return RootFs(root)
