# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A file's attributes (owner, group, mode, xattrs) and the lock file a writer holds from read to rename."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import stat
import time

from ansible_collections.runcguard.seccomp.plugins.module_utils._files import SCRATCH_MARK, FileProblem, describe_os_error
from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile.control import _CLOEXEC, _NOFOLLOW, _NONBLOCK, _who


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
