# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one way the collection touches files as root, and root's policy towards users' files.

Root must not be steerable by a user. A path string used twice is a race a user wins: between two
uses, whoever may write a directory on the path swaps it for a symlink, and root's next write lands
wherever the user pointed it. So every file operation here works relative to a directory descriptor
opened once, without following anyone's links:

- ``SafeDir.open(path)`` resolves ``path`` one component at a time (``openat`` with ``O_NOFOLLOW``,
  checking each step), following a symlink only where no user could have put it (a root-owned link
  in a directory only root can change), then opens the directory with ``openat2(RESOLVE_NO_SYMLINKS)``
  where the kernel has it and checks it is the directory the walk reached.
- ``read`` opens with ``O_NOFOLLOW`` (a regular file, bounded), ``lock`` creates its lock file with
  ``O_EXCL`` and takes an existing one only when it is ours (our uid, one link, a regular file),
  ``write`` creates the scratch file, the backup and the rename relative to the descriptor, never wider
  than the file it replaces, with its owner, group, mode and xattrs (ACLs, SELinux label), and checks
  that the name still is the inode that was read before renaming over it.

Policy, decided from the same walk (``Walk.controller``): a path is *user controlled* when the file,
any directory above it or a symlink on the way is owned by a non-root user, or writable by one (group
or other write bits without a sticky bit, a POSIX ACL entry granting write). Root does not rewrite
such a path unless the caller allows it (``allow_user_owned``; the owner is then kept), never follows
a user's symlink for a write, never reads through a user's link into a file that user could not read
(``check_read``), and never executes a file a user controls (``may_execute``).

Pure stdlib, Python 3.9+, Linux semantics (``O_PATH``, ``openat2``); elsewhere the per-component walk.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import binascii
import errno
import os
import stat
import struct
import time

from ansible_collections.runcguard.seccomp.plugins.module_utils._files import (
    SCRATCH_MARK, FileProblem, describe_os_error, read_fd,
)

_CLOEXEC = getattr(os, 'O_CLOEXEC', 0)
_NOFOLLOW = getattr(os, 'O_NOFOLLOW', 0)
_DIRECTORY = getattr(os, 'O_DIRECTORY', 0)
_PATH = getattr(os, 'O_PATH', 0)           # Linux: a handle for lookups, needs no read permission
_NONBLOCK = getattr(os, 'O_NONBLOCK', 0)
_MAX_LINKS = 40                             # the kernel's own limit on symlinks in one lookup
_ACL_XATTR = 'system.posix_acl_access'
_ACL_USER, _ACL_GROUP, _ACL_MASK = 0x02, 0x08, 0x10

_openat2_state = {}


class UserControlled(FileProblem):
    """Root refuses: a non-root user owns or can change the file or a directory on its path."""


def _openat2_nosymlinks(path, flags):
    """fd of ``path`` opened with openat2(RESOLVE_NO_SYMLINKS), or None where the kernel lacks openat2."""
    if _openat2_state.get('missing'):
        return None
    call = _openat2_state.get('call')
    if call is None:
        try:
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
        except (ImportError, OSError):
            _openat2_state['missing'] = True
            return None

        class OpenHow(ctypes.Structure):
            _fields_ = [('flags', ctypes.c_uint64), ('mode', ctypes.c_uint64), ('resolve', ctypes.c_uint64)]

        def call(raw_path, open_flags):
            how = OpenHow(open_flags, 0, 0x04 | 0x02)  # RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS
            # 437 is openat2 on every Linux architecture (syscall numbers are shared since 5.1)
            fd = libc.syscall(437, -100, raw_path, ctypes.byref(how), ctypes.c_size_t(ctypes.sizeof(how)))
            return fd, (ctypes.get_errno() if fd < 0 else 0)
        _openat2_state['call'] = call
    fd, err = call(os.fsencode(path), flags)
    if fd >= 0:
        return fd
    if err in (errno.ENOSYS, errno.EPERM) and not _openat2_state.get('worked'):
        _openat2_state['missing'] = True  # no openat2 (or a seccomp filter refusing it): walk instead
        return None
    raise OSError(err, os.strerror(err), path)


def user_name(uid):
    try:
        import pwd
        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return None


def _who(uid):
    name = user_name(uid)
    return 'uid %d (%s)' % (uid, name) if name else 'uid %d' % uid


def _acl_writers(fd_or_path, follow=True):
    """Non-root uids / gids a POSIX access ACL lets write, as ('user'|'group', id) pairs."""
    try:
        raw = os.getxattr(fd_or_path, _ACL_XATTR, follow_symlinks=follow)
    except (OSError, AttributeError):
        return []
    if len(raw) < 4 or (len(raw) - 4) % 8:
        return []
    entries = [struct.unpack_from('<HHI', raw, off) for off in range(4, len(raw), 8)]
    mask = [perm for tag, perm, _id in entries if tag == _ACL_MASK]
    if mask and not mask[0] & 2:
        return []
    return [('user' if tag == _ACL_USER else 'group', ident) for tag, perm, ident in entries
            if tag in (_ACL_USER, _ACL_GROUP) and perm & 2 and not (tag == _ACL_USER and _trusted(ident))
            and ident != 0]


def _root_group_has_users():
    """Does group 0 list members? Then its write bit lets users change a file like any other group's."""
    if 'root_group' not in _openat2_state:
        try:
            import grp
            _openat2_state['root_group'] = bool([u for u in grp.getgrgid(0).gr_mem if u != 'root'])
        except (ImportError, KeyError):
            _openat2_state['root_group'] = False
    return _openat2_state['root_group']


def _trusted(uid):
    """root, and the user this code runs as (a controller run by a person writes that person's files)."""
    return uid == 0 or uid == os.geteuid()


def control_of(st, acl=()):
    """Who other than root may change the object with lstat ``st``: a short text, or None.

    Owner not root (nor the user running this); group write with a group other than root's; write for everyone (a directory
    with the sticky bit, like /tmp, only lets users change their own entries, which are caught by
    their owner); a POSIX ACL entry granting write to a non-root user or group.
    """
    if not _trusted(st.st_uid):
        return 'owned by %s' % _who(st.st_uid)
    if stat.S_ISLNK(st.st_mode):
        return None  # a link's own mode means nothing; its owner and its directory do
    sticky = stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX
    if st.st_mode & stat.S_IWOTH and not sticky:
        return 'writable by every user (mode %04o)' % stat.S_IMODE(st.st_mode)
    if st.st_mode & stat.S_IWGRP and not sticky and (st.st_gid != 0 or _root_group_has_users()):
        return 'writable by group %d (mode %04o)' % (st.st_gid, stat.S_IMODE(st.st_mode))
    for kind, ident in acl:
        return 'writable by %s through a POSIX ACL' % (_who(ident) if kind == 'user' else 'group %d' % ident)
    return None


def _readable_by(st, uid, is_dir):
    """Could user ``uid`` read this (a file) / pass through this (a directory) without root?"""
    if st.st_uid == uid:
        return True
    return bool(st.st_mode & (stat.S_IXOTH if is_dir else stat.S_IROTH))


class Walk(object):
    """Result of resolving a path without following anyone's links."""

    def __init__(self):
        self.fd = None            # O_PATH (or O_RDONLY) descriptor of the last directory reached
        self.dir = '/'            # its canonical path
        self.name = None          # the final component (None for '/')
        self.final = None         # lstat of the final component, None when it does not exist
        self.controller = None    # (path, text) of the first thing on the way a non-root user controls
        self.user = None          # that user's uid (None for a group/everyone-writable object)

    @property
    def path(self):
        return os.path.join(self.dir, self.name) if self.name else self.dir

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class LinkPolicy(object):
    """Root's policy on users' links, step by step along one lookup (``walk``; RootFs inside a mounted root).

    ``node(st, here)`` for each object passed (directory or final file), ``link(st, here)`` for each
    symlink followed. Tracks the first thing a non-root user controls (``controller``, ``user``) and,
    once a user's link was followed, refuses (UserControlled, naming only ``path``) anything that user
    could not read, a link of a second user, a link in a directory only a group or everyone can change,
    and, for ``purpose='write'``, any user's link.
    """

    def __init__(self, path, purpose='read'):
        self.path, self.purpose = path, purpose
        self.controller = None    # (path, text)
        self.user = None          # uid of that user (None for a group/everyone-writable object)
        self.tainted_by = None    # uid of a user whose link was followed

    def link(self, st, here=None):
        here = here or self.path
        link_ctl = control_of(st) or (self.controller[1] if self.controller else None)
        if not link_ctl:
            return
        owner = st.st_uid if not _trusted(st.st_uid) else self.user
        if self.purpose == 'write':
            text = ('owned by %s' % _who(st.st_uid) if not _trusted(st.st_uid)
                    else 'in %s, which is %s' % self.controller)
            raise UserControlled('%s is a symlink %s; root does not follow a link a non-root user controls to '
                                 'rewrite a file' % (here, text), self.path)
        if owner is None:
            raise UserControlled('%s is a symlink in a directory %s; root does not follow it'
                                 % (here, self.controller[1]), self.path)
        if self.tainted_by is not None and self.tainted_by != owner:
            raise UserControlled('%s: links of two different users on the way; not followed' % here, self.path)
        self.tainted_by = owner
        if not self.controller:
            self.controller, self.user = (here, 'a symlink owned by %s' % _who(owner)), owner

    def node(self, st, here=None, acl=()):
        ctl = control_of(st, acl)
        if ctl and not self.controller:
            self.controller, self.user = (here or self.path, ctl), None if _trusted(st.st_uid) else st.st_uid
        if self.tainted_by is not None and not _readable_by(st, self.tainted_by, stat.S_ISDIR(st.st_mode)):
            raise UserControlled('%s is reached through a symlink owned by %s and leads to what that user '
                                 'cannot read; root does not read it for them' % (self.path, _who(self.tainted_by)),
                                 self.path)


def link_policy(path, purpose='read'):
    """A fresh ``LinkPolicy`` for one lookup of ``path``."""
    return LinkPolicy(path, purpose)


def _split(path):
    return [p for p in path.split('/') if p not in ('', '.')]


def walk(path, purpose='write', follow_final=True):
    """Resolve absolute ``path`` one component at a time; returns a ``Walk`` (close it).

    ``purpose``: ``'write'`` (a user's symlink is never followed), ``'read'`` (a user's symlink is
    followed only into what that user could read), ``'execute'`` (like read). Raises FileProblem
    (``UserControlled`` for a refused link) naming the path the caller gave, never a link's target.
    """
    if not os.path.isabs(path):
        raise FileProblem('not an absolute path', path)
    w = Walk()
    stack = [(os.open('/', _PATH or os.O_RDONLY | _DIRECTORY | _CLOEXEC), '/', os.stat('/'))]
    policy = LinkPolicy(path, purpose)
    policy.node(stack[0][2], '/', _acl_writers('/'))
    parts = _split(path)
    links = 0
    try:
        while parts:
            name = parts.pop(0)
            fd, dpath, _dst = stack[-1]
            if name == '..':
                if len(stack) > 1:
                    os.close(stack.pop()[0])
                continue
            here = os.path.join(dpath, name)
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except OSError as exc:
                if exc.errno == errno.ENOENT and not parts:
                    w.name, w.final = name, None
                    break
                raise FileProblem(describe_os_error(exc), path)
            last = not parts
            if stat.S_ISLNK(st.st_mode) and (follow_final or not last):
                links += 1
                if links > _MAX_LINKS:
                    raise FileProblem(describe_os_error(OSError(errno.ELOOP, '')), path)
                policy.link(st, here)
                target = os.readlink(name, dir_fd=fd)
                if target.startswith('/'):
                    while len(stack) > 1:
                        os.close(stack.pop()[0])
                parts = _split(target) + parts
                continue
            policy.node(st, here, () if stat.S_ISLNK(st.st_mode) else _acl_writers(here, follow=False))
            if last:
                w.name, w.final = name, st
                break
            if not stat.S_ISDIR(st.st_mode):
                raise FileProblem(describe_os_error(OSError(errno.ENOTDIR, '')), path)
            try:
                nfd = os.open(name, (_PATH or os.O_RDONLY) | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=fd)
            except OSError as exc:
                raise FileProblem(describe_os_error(exc), path)
            got = os.fstat(nfd)
            if (got.st_dev, got.st_ino) != (st.st_dev, st.st_ino):
                os.close(nfd)
                raise FileProblem('%s changed while it was opened (renamed or replaced); nothing was done'
                                  % here, path)
            stack.append((nfd, here, got))
        w.controller, w.user = policy.controller, policy.user
        if w.name is None and len(stack) > 1:  # the path named a directory; its parent holds it
            fd, dpath, st = stack.pop()
            os.close(fd)
            w.name, w.final = os.path.basename(dpath), st
        w.fd, w.dir = stack[-1][0], stack[-1][1]
        stack.pop()
        return w
    finally:
        for fd, _p, _s in stack:
            os.close(fd)


def _check_user(w, allow_user_owned, path, action):
    if w.controller and not allow_user_owned:
        where, text = w.controller
        raise UserControlled('%s is %s: root does not %s a file a non-root user owns or can change, nor one in '
                             'such a directory (allow_user_owned: true does it race-free, keeping the owner)'
                             % (where, text, action), path)


class Attributes(object):
    """Owner, group, mode and extended attributes (POSIX ACLs, SELinux label) of a file."""

    def __init__(self, uid=0, gid=0, mode=0o644, xattrs=None):
        self.uid, self.gid, self.mode = uid, gid, mode
        self.xattrs = dict(xattrs or {})

    @classmethod
    def of_fd(cls, fd):
        st = os.fstat(fd)
        xattrs = {}
        if hasattr(os, 'listxattr'):
            try:
                for key in os.listxattr(fd):
                    try:
                        xattrs[key] = os.getxattr(fd, key)
                    except OSError:
                        pass
            except OSError:
                pass
        return cls(st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), xattrs)

    def apply(self, fd):
        """Owner, then mode again (chown clears set-id bits), then xattrs."""
        try:
            os.fchown(fd, self.uid, self.gid)
        except OSError as exc:
            if exc.errno != errno.EPERM:  # not root: the copy stays ours, never someone else's
                raise
        os.fchmod(fd, self.mode)
        for key, value in sorted(self.xattrs.items()):
            if key == 'security.selinux' and not value:
                continue
            try:
                os.setxattr(fd, key, value)
            except OSError:
                pass  # security.* without SELinux, trusted.* without CAP_SYS_ADMIN


def _scratch_prefix(name):
    return '.%s%s' % (name, SCRATCH_MARK)


class DirLock(object):
    """Exclusive lock ``.<name>.runcguard-lock`` in a SafeDir, held from read to rename.

    Created with O_EXCL; an existing lock file is used only when it is a regular file of ours (our
    uid, one link: never a user's file or a hard link to someone else's). The holder writes its pid and
    deletes the file before letting go; a lock file found lockable with a pid in it was left by a killed
    run (``stale_pid``).
    """

    def __init__(self, sdir, name, timeout, owns_dir=False):
        self.sdir, self.name, self.timeout = sdir, _scratch_prefix(name) + 'lock', timeout
        self.owns_dir = owns_dir
        self.path = os.path.join(sdir.path, self.name)
        self.fd = None
        self.stale_pid = None

    def _open(self):
        dfd = self.sdir.fd
        try:
            return os.open(self.name, os.O_RDWR | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600,
                           dir_fd=dfd), False
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise FileProblem('cannot create the lock file %s: %s' % (self.path, describe_os_error(exc)),
                                  self.path)
        try:
            fd = os.open(self.name, os.O_RDWR | _NOFOLLOW | _NONBLOCK | _CLOEXEC, dir_fd=dfd)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return None, False  # its holder just removed it: try again
            raise FileProblem('cannot open the lock file %s: %s' % (self.path, describe_os_error(exc)), self.path)
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_nlink != 1:
            os.close(fd)
            why = (self.path, _who(st.st_uid), st.st_nlink, st.st_mode)
            raise FileProblem('the lock file %s is not ours (owner %s, %d links, mode %o); nothing was changed, '
                              'remove it if no run of ours is active' % why, self.path)
        return fd, True

    def acquire(self):
        import fcntl  # POSIX only
        deadline = time.time() + self.timeout
        while True:
            fd, existed = self._open()
            if fd is None:
                continue
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        os.close(fd)
                        raise FileProblem('cannot lock %s: %s' % (self.path, describe_os_error(exc)), self.path)
                if time.time() >= deadline:
                    holder = os.read(fd, 32).decode('ascii', 'replace').strip()
                    os.close(fd)
                    raise FileProblem('another run (pid %s) has held the lock %s for more than %ds; nothing was '
                                      'changed, run again when it has finished' % (holder or '?', self.path,
                                                                                   self.timeout), self.path)
                time.sleep(0.05)
            try:  # the previous holder may have deleted the file between our open and our lock
                now = os.stat(self.name, dir_fd=self.sdir.fd, follow_symlinks=False)
                same = os.path.samestat(os.fstat(fd), now)
            except OSError:
                same = False
            if not same:
                os.close(fd)
                continue
            left = os.read(fd, 32).decode('ascii', 'replace').strip()
            self.stale_pid = (left or '?') if existed else None
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, ('%d\n' % os.getpid()).encode('ascii'))
            self.fd = fd
            return self

    def release(self):
        if self.fd is None:
            return
        try:
            if os.path.samestat(os.fstat(self.fd), os.stat(self.name, dir_fd=self.sdir.fd, follow_symlinks=False)):
                os.unlink(self.name, dir_fd=self.sdir.fd)
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None
        if self.owns_dir:
            self.sdir.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


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
        ``create``: make missing directories (root-owned, ``mode``) first, each relative to its parent.
        """
        if create:
            _makedirs(path, mode)
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
        """A new scratch file beside ``name`` holding ``data``, created no wider than ``attrs.mode``."""
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
            view = memoryview(data)
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
        """Atomically make ``name`` hold ``data``; durable on return. Returns the backup's path or None.

        expect: stat of the file that was read (``read``'s second value); the name must still be that
        inode right before the rename, else nothing is written (FileProblem). exists=False: ``name``
        must not exist (a new file). attrs: Attributes of the result; default: those of the file being
        replaced (owner, group, mode, xattrs kept), or root:root 0644 for a new file. backup: bytes to
        keep as a backup first (normally the bytes that were read).
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


def _kind(st):
    for test, text in ((stat.S_ISDIR, 'a directory'), (stat.S_ISLNK, 'a symlink'), (stat.S_ISFIFO, 'a FIFO'),
                       (stat.S_ISSOCK, 'a socket'), (stat.S_ISCHR, 'a device'), (stat.S_ISBLK, 'a device')):
        if test(st.st_mode):
            return text
    return 'not a regular file'


def _same(a, b):
    return a is not None and b is not None and (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _open_dir(w, parent_only=False):
    """A readable descriptor of the directory the walk reached, checked to be that directory.

    openat2(RESOLVE_NO_SYMLINKS) on its canonical path where the kernel has it (no symlink can be
    followed, not even one swapped in after the walk), else openat(".") on the walk's own handle.
    """
    target = w.dir if parent_only else w.path
    expect = os.fstat(w.fd) if parent_only else w.final
    flags = os.O_RDONLY | _DIRECTORY | _CLOEXEC
    fd = None
    try:
        fd = _openat2_nosymlinks(target, flags)
    except OSError as exc:
        raise FileProblem('%s changed while it was opened (%s); nothing was done'
                          % (target, describe_os_error(exc)), target)
    if fd is not None:
        _openat2_state['worked'] = True
    elif parent_only:
        fd = os.open('.', flags, dir_fd=w.fd)
    else:
        fd = os.open(w.name, flags | _NOFOLLOW, dir_fd=w.fd)
    if not _same(os.fstat(fd), expect):
        os.close(fd)
        raise FileProblem('%s changed while it was opened (renamed or replaced); nothing was done' % target, target)
    return fd


def _makedirs(path, mode):
    """Create the missing directories of absolute ``path`` (root's, ``mode``), each relative to its parent."""
    parts = _split(os.path.normpath(path))
    fd = os.open('/', (_PATH or os.O_RDONLY) | _DIRECTORY | _CLOEXEC)
    try:
        here = '/'
        for name in parts:
            here = os.path.join(here, name)
            try:
                os.mkdir(name, mode, dir_fd=fd)
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    raise FileProblem('cannot create %s: %s' % (here, describe_os_error(exc)), path)
            try:
                nfd = os.open(name, (_PATH or os.O_RDONLY) | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=fd)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    return  # a symlink: SafeDir.open decides whether it may be followed
                raise FileProblem('cannot open %s: %s' % (here, describe_os_error(exc)), path)
            os.close(fd)
            fd = nfd
    finally:
        os.close(fd)


def _read_fd(fd, st, max_size, path):
    if not stat.S_ISREG(st.st_mode):
        raise FileProblem('is %s, not a regular file' % _kind(st) if not stat.S_ISDIR(st.st_mode)
                          else 'is a directory', path)
    if st.st_size > max_size:
        raise FileProblem('too large: %d bytes, limit (max_profile_size) is %d' % (st.st_size, max_size), path)
    return read_fd(fd, path, max_size)


# --- whole-file operations by path (each one walk, then everything relative to the directory) ---------

def open_for_read(path, allow_user_owned=True):
    """A read-only descriptor of regular file ``path`` (close it), opened as root race-free: the walk
    never follows a user's link into what that user could not read, the file is opened ``O_NOFOLLOW``
    relative to its directory and must be the inode the walk checked."""
    if allow_user_owned:
        fd = _open_without_links(path)
        if fd is not None:
            return fd
    w = walk(path, 'read')
    try:
        if w.final is None:
            raise FileProblem(describe_os_error(OSError(errno.ENOENT, '')), path)
        if not allow_user_owned:
            _check_user(w, False, path, 'read')
        if w.user is not None and w.final.st_nlink > 1 and not _readable_by(w.final, w.user, False):
            raise UserControlled('%s: a hard link in a directory %s to a file that user cannot read; root does '
                                 'not read it for them' % (path, _who(w.user)), path)
        if stat.S_ISDIR(w.final.st_mode):
            raise FileProblem('is a directory', path)
        try:
            fd = os.open(w.name, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC, dir_fd=w.fd)
        except OSError as exc:
            raise FileProblem(describe_os_error(exc), path)
        if not _same(os.fstat(fd), w.final):
            os.close(fd)
            raise FileProblem('changed while it was read; read it again', path)
        return fd
    finally:
        w.close()


def _open_without_links(path):
    """The fast path of open_for_read: with not one symlink on the whole path (openat2 refuses any), no
    user can have steered the lookup; a hard link that may not be the user's own takes the full walk."""
    try:
        fd = _openat2_nosymlinks(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC)
    except OSError:
        return None  # a symlink on the way, or trouble the walk names in its own words
    if fd is None:
        return None
    _openat2_state['worked'] = True
    st = os.fstat(fd)
    if stat.S_ISDIR(st.st_mode) or (st.st_nlink > 1 and not st.st_mode & stat.S_IROTH):
        os.close(fd)
        return None
    return fd


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


# --- policy -----------------------------------------------------------------------------------------

def may_execute(path):
    """(True, None) when root may execute ``path``; else (False, reason).

    Refused: the file, a directory above it or a symlink on the way owned by a non-root user or
    writable by one (the user could put any code there); not a regular file; not executable.
    """
    try:
        w = walk(path, 'read')
    except FileProblem as exc:
        return False, exc.message
    try:
        if w.final is None:
            return False, 'does not exist'
        if w.controller:
            return False, ('%s is %s; root never executes a file a non-root user owns or can change, nor one in '
                           'a directory such a user can change' % w.controller)
        if not stat.S_ISREG(w.final.st_mode):
            return False, 'is %s, not a regular file' % _kind(w.final)
        if not w.final.st_mode & 0o111:
            return False, 'not executable'
        return True, None
    finally:
        w.close()


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
