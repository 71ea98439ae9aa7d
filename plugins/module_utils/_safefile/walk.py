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
    _CLOEXEC, _DIRECTORY, _MAX_LINKS, _NOFOLLOW, _PATH, UserControlled, _acl_writers, _openat2_nosymlinks,
    _openat2_state, _readable_by, _same, _trusted, _who, control_of,
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
