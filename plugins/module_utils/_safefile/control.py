# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who other than root controls a file (owner, group/other write bits, POSIX ACLs), the open flags
and the ``openat2(RESOLVE_NO_SYMLINKS)`` call every part of ``_safefile`` uses."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import stat
import struct

from ansible_collections.runcguard.seccomp.plugins.module_utils._files import FileProblem

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
    """The account name of ``uid`` or None (cached: a walk names the owner of every step it checks)."""
    key = ('name', uid)
    if key not in _openat2_state:
        try:
            import pwd
            _openat2_state[key] = pwd.getpwuid(uid).pw_name
        except (ImportError, KeyError):
            _openat2_state[key] = None
    return _openat2_state[key]


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


def user_groups(uid, gid=None, name=None):
    """The group ids user ``uid`` has on this host (primary ``gid`` and supplementary), cached per run."""
    key = ('groups', uid, gid)
    if key not in _openat2_state:
        gids = set() if gid is None else set([gid])
        try:
            import pwd
            entry = pwd.getpwnam(name) if name else pwd.getpwuid(uid)
            if entry.pw_uid == uid:
                gids.add(entry.pw_gid)
                gids.update(os.getgrouplist(entry.pw_name, entry.pw_gid))
        except (ImportError, KeyError, OSError, AttributeError):
            pass
        _openat2_state[key] = frozenset(gids)
    return _openat2_state[key]


def as_user(user, host=True):
    """(uid, group ids) of a user dict ({'uid', 'gid', 'name'}) for ``walk(as_user=)``: the groups from
    this host's databases when ``host``, else only the primary group (a mounted root's node)."""
    if host:
        return user['uid'], user_groups(user['uid'], user.get('gid'), user.get('name'))
    return user['uid'], frozenset([] if user.get('gid') is None else [user['gid']])


def _readable_by(st, uid, is_dir, gids=None):
    """Could user ``uid`` (groups ``gids``, else looked up) read this (a file) / pass through this (a
    directory) without root? Permission bits as the kernel checks them: the owner's (a user may always
    change the mode of what it owns), else the group's when the user is in the file's group, else
    everyone's."""
    if st.st_uid == uid:
        return True
    if gids is None:
        gids = user_groups(uid)
    if st.st_gid in gids:
        return bool(st.st_mode & (stat.S_IXGRP if is_dir else stat.S_IRGRP))
    return bool(st.st_mode & (stat.S_IXOTH if is_dir else stat.S_IROTH))


def _kind(st):
    for test, text in ((stat.S_ISDIR, 'a directory'), (stat.S_ISLNK, 'a symlink'), (stat.S_ISFIFO, 'a FIFO'),
                       (stat.S_ISSOCK, 'a socket'), (stat.S_ISCHR, 'a device'), (stat.S_ISBLK, 'a device')):
        if test(st.st_mode):
            return text
    return 'not a regular file'


def _same(a, b):
    return a is not None and b is not None and (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
