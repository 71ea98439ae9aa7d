# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resolving a path one component at a time without following anyone's links (``walk``), root's
policy on users' links along the way (``LinkPolicy``), and opening or creating the directory reached."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import stat

from ansible_collections.runcguard.seccomp.plugins.module_utils._files import FileProblem, describe_os_error
from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile.control import (
    _CLOEXEC, _DIRECTORY, _MAX_LINKS, _NOFOLLOW, _NONBLOCK, _PATH, UserControlled, _acl_writers, _kind,
    _openat2_nosymlinks, _openat2_state, _readable_by, _same, _trusted, _who, control_of,
)


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

    ``as_user=(uid, gids)``: the lookup is made for that user (a path a user's config names, a file in
    a user's home): from ``/`` on, every directory must be searchable and the file readable by that
    user (its owner, group and other bits against ``uid`` and ``gids``), as if a link of theirs had
    been followed at the start; a link of any other non-root user is refused.
    """

    def __init__(self, path, purpose='read', as_user=None):
        self.path, self.purpose = path, purpose
        self.controller = None    # (path, text)
        self.user = None          # uid of that user (None for a group/everyone-writable object)
        self.tainted_by = None    # uid of a user whose link was followed
        self.gids = None          # that user's groups (None: looked up)
        if as_user is not None:
            self.tainted_by, self.gids = as_user

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
        ctl = None if self.controller else control_of(st, acl)
        if ctl:
            self.controller, self.user = (here or self.path, ctl), None if _trusted(st.st_uid) else st.st_uid
        if self.tainted_by is not None and not _readable_by(st, self.tainted_by, stat.S_ISDIR(st.st_mode),
                                                            self.gids):
            how = ('is reached through a symlink owned by %s' if self.gids is None
                   else 'is looked up for %s') % _who(self.tainted_by)
            raise UserControlled('%s %s and leads to what that user cannot read; root does not read it for them'
                                 % (self.path, how), self.path)


def link_policy(path, purpose='read', as_user=None):
    """A fresh ``LinkPolicy`` for one lookup of ``path`` (``as_user``: see LinkPolicy)."""
    return LinkPolicy(path, purpose, as_user)


def _split(path):
    return [p for p in path.split('/') if p not in ('', '.')]


def walk(path, purpose='write', follow_final=True, as_user=None):
    """Resolve absolute ``path`` one component at a time; returns a ``Walk`` (close it).

    ``purpose``: ``'write'`` (a user's symlink is never followed), ``'read'`` (a user's symlink is
    followed only into what that user could read), ``'execute'`` (like read). ``as_user=(uid, gids)``:
    everything on the way must be what that user could reach and read (LinkPolicy). Each directory is
    checked by its lstat, then opened ``O_NOFOLLOW`` and must be that inode (a mode only root or the
    owner can change). Raises FileProblem
    (``UserControlled`` for a refused link) naming the path the caller gave, never a link's target.
    """
    if not os.path.isabs(path):
        raise FileProblem('not an absolute path', path)
    w = Walk()
    stack = [(os.open('/', _PATH or os.O_RDONLY | _DIRECTORY | _CLOEXEC), '/', os.stat('/'))]
    policy = LinkPolicy(path, purpose, as_user)
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
                try:
                    target = os.readlink(name, dir_fd=fd)
                except OSError as exc:  # replaced by something else since the lstat: a user racing root
                    raise FileProblem('%s changed while it was looked up (%s); not followed'
                                      % (here, describe_os_error(exc)), path)
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


def open_regular_at(dir_fd, name, expect, path):
    """A read-only, non-blocking descriptor of regular file ``name`` in directory ``dir_fd`` (close it).

    Nothing but a regular file is ever opened for reading: ``name`` is opened ``O_PATH|O_NOFOLLOW``
    (no open of the file itself: a FIFO's writer is not released, a device's open routine does not
    run), must be the inode ``expect`` (its lstat from the lookup, when given) and a regular file, and
    only then is reopened through ``/proc/self/fd/N``, which reaches exactly that inode. Without
    ``O_PATH`` or ``/proc`` it is opened relative to ``dir_fd`` with ``O_NOFOLLOW|O_NONBLOCK`` after
    the same checks on its lstat. FileProblem naming ``path`` (the caller's path, never a target).
    """
    pfd = None
    try:
        if _PATH:
            pfd = os.open(name, _PATH | _NOFOLLOW | _CLOEXEC, dir_fd=dir_fd)
            return reopen_regular(pfd, expect, path, dir_fd, name)
        return reopen_regular(None, expect, path, dir_fd, name)
    except OSError as exc:
        raise FileProblem(describe_os_error(exc), path)
    finally:
        if pfd is not None:
            os.close(pfd)


def reopen_regular(pfd, expect, path, dir_fd=None, name=None):
    """The read-only descriptor of the file ``O_PATH`` descriptor ``pfd`` holds (see open_regular_at;
    ``pfd`` stays open): refused unless it is a regular file (and the inode ``expect``, when given)."""
    flags = os.O_RDONLY | _NONBLOCK | _CLOEXEC
    fd = None
    try:
        st = os.fstat(pfd) if pfd is not None else os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if expect is not None and not _same(st, expect):
            raise FileProblem('changed while it was opened (renamed or replaced); read it again', path)
        if stat.S_ISDIR(st.st_mode):
            raise FileProblem('is a directory', path)
        if not stat.S_ISREG(st.st_mode):
            raise FileProblem('is %s, not a regular file; not opened' % _kind(st), path)
        if pfd is not None:
            try:
                fd = os.open('/proc/self/fd/%d' % pfd, flags)
            except OSError as exc:
                if exc.errno != errno.ENOENT or name is None:  # ENOENT: no /proc, the relative open below
                    raise
        if fd is None:
            fd = os.open(name, flags | _NOFOLLOW, dir_fd=dir_fd)
        if not _same(os.fstat(fd), st):
            raise FileProblem('changed while it was opened (renamed or replaced); read it again', path)
        opened, fd = fd, None
        return opened
    except OSError as exc:
        raise FileProblem(describe_os_error(exc), path)
    finally:
        if fd is not None:
            os.close(fd)


def _check_user(w, allow_user_owned, path, action):
    if w.controller and not allow_user_owned:
        where, text = w.controller
        raise UserControlled('%s is %s: root does not %s a file a non-root user owns or can change, nor one in '
                             'such a directory (allow_user_owned: true does it race-free, keeping the owner)'
                             % (where, text, action), path)


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


def _makedirs(path, mode, allow_user_owned=False):
    """Create the missing directories of absolute ``path`` (root's, ``mode``), each relative to its parent.

    The deepest directory that exists is walked (never through a user's link) and checked against
    ``allow_user_owned`` first: nothing is created below a directory a user controls unless allowed."""
    path = os.path.normpath(path)
    missing, here = [], path
    while here != '/' and not os.path.lexists(here):  # only where to start: the walk below checks it
        missing.insert(0, os.path.basename(here))
        here = os.path.dirname(here)
    if not missing:
        return
    w = walk(here, 'write')
    try:
        if here != '/' and (w.final is None or not stat.S_ISDIR(w.final.st_mode)):
            return  # gone meanwhile, or not a directory: SafeDir.open's own walk says so
        _check_user(w, allow_user_owned, path, 'write into')
        fd = _open_dir(w) if here != '/' else os.open('/', os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    finally:
        w.close()
    try:
        for name in missing:
            here = os.path.join(here, name)
            try:
                os.mkdir(name, mode, dir_fd=fd)
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    raise FileProblem('cannot create %s: %s' % (here, describe_os_error(exc)), path)
            try:
                nfd = os.open(name, (_PATH or os.O_RDONLY) | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    return  # made a symlink (or a file) meanwhile: SafeDir.open decides about it
                raise FileProblem('cannot open %s: %s' % (here, describe_os_error(exc)), path)
            os.close(fd)
            fd = nfd
    finally:
        os.close(fd)
