# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The canary's temporary directory: root's own, with only what a rootless runtime needs handed over.

Layout of ``<tmp>/runcguard-probe-<pid>-<random>/`` (the top stays root's: 0700, or 0711 while a
user's runtime runs in it, so no user can add, rename or replace anything in it):

* ``owner.json``, ``runtime.pid``: root's records (0644), written through ``_safefile`` relative to
  the directory's descriptor, never by path in a directory a user can write.
* ``agent.sock``: the seccomp agent's socket, root's; a rootless runtime gets it by ``chown`` without
  following links (nobody else can replace a name in the top directory).
* ``bundle/``, ``state/``, ``run/``: the OCI bundle, the runtime's ``--root`` and its ``--pid-file``
  directory: the only things a rootless canary's user gets (made and filled by root while the top is
  0700, then handed over). Root reads back only ``run/container.pid``, without following links, only
  a regular file of that user, bounded. The runtime's stderr goes to an unnamed file root keeps open
  (``stderr_file``), never a name in the directory.

Before removing the directory, ``reclaim`` takes the user's subdirectories back (fchown to root, mode
0700, through descriptors): the user can no longer reach them, and ``shutil.rmtree`` (which never
follows links) removes whatever the user left there.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import stat
import tempfile

from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile import SafeDir
from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile.dirlock import Attributes

USER_DIRS = ('bundle', 'state', 'run')
STDERR_LIMIT = 64 * 1024
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class WorkDir(object):
    """A fresh root-only directory (mkdtemp) opened once; files written relative to it."""

    def __init__(self, prefix, tmp_parent=None):
        path = tempfile.mkdtemp(prefix=prefix, dir=tmp_parent)
        if len(path) > 90 and tmp_parent is None:  # unix socket paths are limited to 107 bytes
            os.rmdir(path)
            path = tempfile.mkdtemp(prefix=prefix, dir='/tmp')
        self.path = path
        self.safe = SafeDir.open(path)  # refuses a directory a non-root user controls
        info = os.fstat(self.safe.fd)
        if info.st_uid != 0 or stat.S_IMODE(info.st_mode) != 0o700:
            self.close()
            raise OSError('%s is not a fresh root-only directory' % path)

    def join(self, name):
        return os.path.join(self.path, name)

    def write(self, name, data):
        """A new root-owned 0644 file ``name`` (bytes or text), created relative to the directory."""
        if not isinstance(data, bytes):
            data = data.encode('utf-8')
        self.safe.write(name, data, attrs=Attributes(0, 0, 0o644), exists=False)

    def create(self, name, data, mode=0o644):
        """A new file at ``name`` relative to the directory (``bundle/config.json``) while it is still
        root-only (before ``hand_over``): O_EXCL, no link followed at the end."""
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode,
                     dir_fd=self.safe.fd)
        try:
            view = memoryview(data.encode('utf-8') if not isinstance(data, bytes) else data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)

    def write_json(self, name, value):
        self.write(name, json.dumps(value))

    def mkdir(self, name, mode=0o700):
        os.mkdir(name, mode, dir_fd=self.safe.fd)
        return self.join(name)

    def hand_over(self, user):
        """Give ``user`` the runtime's subdirectories (everything in them, links not followed) and let
        the user traverse (not list, not write) the top directory."""
        uid, gid = int(user['uid']), int(user['gid'])
        for name in USER_DIRS:
            fd = os.open(name, _DIR_FLAGS, dir_fd=self.safe.fd)
            try:
                for _top, dirs, files, top_fd in os.fwalk('.', dir_fd=fd, follow_symlinks=False):
                    for entry in dirs + files:
                        os.chown(entry, uid, gid, dir_fd=top_fd, follow_symlinks=False)
                os.fchown(fd, uid, gid)
            finally:
                os.close(fd)
        os.fchmod(self.safe.fd, 0o711)

    def read_pid(self, name, uid=None):
        """The PID in ``name`` (a path relative to the directory, e.g. ``run/container.pid``): a regular
        file of ``uid`` (root's by default) read without following links or blocking on a FIFO; 0 when
        absent or anything else."""
        if self.safe is None:  # cleaned up
            return 0
        try:
            fd = os.open(name, _READ_FLAGS, dir_fd=self.safe.fd)
        except (OSError, ValueError):
            return 0
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_uid not in (0, uid if uid is not None else 0):
                return 0
            text = os.read(fd, 32).strip()
            return int(text) if text.isdigit() and len(text) <= 10 else 0
        except OSError:
            return 0
        finally:
            os.close(fd)

    def close(self):
        if self.safe is not None:
            self.safe.close()
            self.safe = None

    def remove(self):
        """Take the user's subdirectories back, then remove everything; [problem]."""
        self.close()
        return remove_tree(self.path)


def stderr_file():
    """An unnamed root-only file for a runtime's stderr: no name in any directory a user could reach."""
    return tempfile.TemporaryFile()


def read_stderr(handle, limit=STDERR_LIMIT):
    """What a runtime wrote to ``stderr_file`` (at most ``limit`` bytes), through root's own descriptor."""
    try:
        return os.pread(handle.fileno(), limit, 0)
    except OSError:
        return b''


def reclaim(path):
    """fchown to root and chmod 0700, through descriptors, every subdirectory a user was handed in the
    root-owned directory ``path`` (a name that is no directory is left for rmtree)."""
    try:
        top = os.open(path, _DIR_FLAGS)
    except OSError:
        return
    try:
        info = os.fstat(top)
        if info.st_uid != 0:
            return  # not ours: never touched
        for name in USER_DIRS:
            try:
                fd = os.open(name, _DIR_FLAGS, dir_fd=top)
            except OSError:
                continue
            try:
                os.fchown(fd, 0, 0)
                os.fchmod(fd, 0o700)
            except OSError:
                pass
            finally:
                os.close(fd)
        os.fchmod(top, 0o700)
    finally:
        os.close(top)


def remove_tree(path):
    """Remove root's canary directory ``path`` with whatever a user left in it; [problem]."""
    if not os.path.lexists(path):
        return []
    reclaim(path)
    for _try in range(3):
        shutil.rmtree(path, ignore_errors=True)  # fd-based: never follows a link (avoids_symlink_attacks)
        if not os.path.lexists(path):
            return []
    return ['temp dir %s could not be removed' % path]
