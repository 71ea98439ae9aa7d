# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Bounded, safe file reading and careful writing: one place that says why a file could not be read,
and ``Fs``, the host paths a scan reads (``/`` on a real host, a test tree otherwise).

Pure stdlib, Python 3.9+. Reading never blocks on a FIFO, never reads more than asked, never raises
anything but FileProblem for ordinary file-system trouble. Writing (seccomp_profile) goes through
scratch files beside the target that are never wider than it, under a lock, and is atomic.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import binascii
import errno
import glob
import os
import re
import stat
import time

from ansible_collections.runcguard.seccomp.plugins.module_utils._command import SEARCH_PATH

_ERRNO_TEXT = {
    errno.ENOENT: 'does not exist',
    errno.ENOTDIR: 'a parent is not a directory',
    errno.EACCES: 'permission denied',
    errno.EPERM: 'operation not permitted',
    errno.ELOOP: 'symlink loop (too many levels of symbolic links)',
    errno.EISDIR: 'is a directory',
    errno.ENAMETOOLONG: 'path name too long',
    errno.ENXIO: 'no such device or address (socket or device node)',
    errno.EIO: 'I/O error',
}

_KIND = (
    (stat.S_ISDIR, 'is a directory'),
    (stat.S_ISFIFO, 'is a FIFO, not a regular file'),
    (stat.S_ISSOCK, 'is a socket, not a regular file'),
    (stat.S_ISCHR, 'is a character device, not a regular file'),
    (stat.S_ISBLK, 'is a block device, not a regular file'),
)


class FileProblem(Exception):
    """A file could not be read; `message` says why in words a person can act on."""

    def __init__(self, message, path=None):
        super(FileProblem, self).__init__(message)
        self.message = message
        self.path = path


def describe_os_error(exc):
    """Short text for an OSError, without the path (callers name the path themselves)."""
    text = _ERRNO_TEXT.get(getattr(exc, 'errno', None))
    if text:
        return text
    return exc.strerror or str(exc)


def read_bounded(path, max_size):
    """Return the bytes of regular file `path`, refusing anything larger than `max_size`.

    Symlinks are followed (a loop is reported). O_NONBLOCK keeps a FIFO from hanging the open.
    """
    flags = os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0) | getattr(os, 'O_CLOEXEC', 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise FileProblem(describe_os_error(exc), path)
    try:
        st = os.fstat(fd)
        for test, text in _KIND:
            if test(st.st_mode):
                raise FileProblem(text, path)
        if st.st_size > max_size:
            raise FileProblem('too large: %d bytes, limit (max_profile_size) is %d' % (st.st_size, max_size), path)
        chunks = []
        remaining = max_size + 1  # one byte more tells a file that grew past the limit
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b''.join(chunks)
        if len(data) > max_size:
            raise FileProblem('too large: more than %d bytes (max_profile_size)' % max_size, path)
        return data
    except OSError as exc:
        raise FileProblem(describe_os_error(exc), path)
    finally:
        os.close(fd)


def read_text(path, max_size):
    """read_bounded + strict UTF-8 decoding (config files are text)."""
    data = read_bounded(path, max_size)
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError as exc:
        raise FileProblem('not valid UTF-8 text (byte offset %d)' % exc.start, path)


def list_dir(path):
    """Sorted DirEntry list of `path`, [] when it does not exist; FileProblem on other trouble."""
    try:
        with os.scandir(path) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return []
        raise FileProblem(describe_os_error(exc), path)


def walk_files(top, max_depth=8):
    """Yield (path, error) for every file below `top`; directories symlinks are not followed.

    error is None for a file to read, or a message for a directory that could not be listed.
    """
    stack = [(top, 0)]
    while stack:
        current, depth = stack.pop()
        try:
            entries = list_dir(current)
        except FileProblem as exc:
            yield current, exc.message
            continue
        subdirs = []
        for entry in entries:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if is_dir:
                if depth < max_depth:
                    subdirs.append((entry.path, depth + 1))
            else:
                yield entry.path, None
        stack.extend(reversed(subdirs))


def printable(text):
    """A file name (or any text) as valid UTF-8: undecodable bytes and lone surrogates shown as \\xNN / \\udNNN."""
    try:
        text.encode('utf-8')
        return text
    except UnicodeEncodeError:
        pass
    try:
        return text.encode('utf-8', 'surrogateescape').decode('utf-8', 'backslashreplace')
    except UnicodeEncodeError:
        return text.encode('utf-8', 'backslashreplace').decode('utf-8')


def utf8_safe(value):
    """``value`` with every string (keys too) made printable(): a module result must be valid UTF-8 JSON."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return dict((utf8_safe(k), utf8_safe(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [utf8_safe(v) for v in value]
    return value


def is_socket(path):
    """True / False for an existing path, None when it cannot be checked."""
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return False
        return None


# --- writing beside a file ----------------------------------------------------------------------
# Scratch files (temporary copies, the lock) live beside the file they serve, under names that start
# with "." and carry SCRATCH_MARK, so runtime_facts never takes them for profiles. Older releases
# used tempfile.mkstemp names (".<name>.<8 random>.tmp"); those count as scratch too.
SCRATCH_MARK = '.runcguard-'
_LEGACY_TEMP = re.compile(r'^\..+\.[a-z0-9_]{8}\.tmp$')


def is_scratch(name):
    """True for a temporary or lock file name of ours (a base name, not a path)."""
    return name.startswith('.') and (SCRATCH_MARK in name or bool(_LEGACY_TEMP.match(name)))


def _scratch_prefix(path):
    return '.%s%s' % (os.path.basename(path), SCRATCH_MARK)


def remove_stale_scratch(path):
    """Delete leftover temporary files of ``path`` (an interrupted run's); returns their names.

    Call with the lock held: no live run of ours is writing them then.
    """
    base = os.path.basename(path)
    ours = _scratch_prefix(path)
    removed = []
    for entry in list_dir(os.path.dirname(path) or '.'):
        name = entry.name
        ours_now = name.startswith(ours) and name.endswith('.tmp')
        legacy = name.startswith('.%s.' % base) and len(name) == len(base) + 14 and _LEGACY_TEMP.match(name)
        if ours_now or legacy:
            try:
                os.unlink(entry.path)
                removed.append(name)
            except OSError as exc:
                if exc.errno != errno.ENOENT:
                    raise FileProblem('cannot remove the leftover %s: %s' % (name, describe_os_error(exc)), path)
    return removed


class FileLock(object):
    """Exclusive lock of one file, held across read -> modify -> validate -> rename.

    flock() on ``.<name>.runcguard-lock`` beside it; the holder writes its pid there and deletes the
    file before it lets go, so a lock file that can be locked and still names a pid was left by a
    killed run (``stale_pid``). Waits at most ``timeout`` seconds for another holder.
    """

    def __init__(self, path, timeout):
        self.path = os.path.join(os.path.dirname(path), _scratch_prefix(path) + 'lock')
        self.timeout = timeout
        self.fd = None
        self.stale_pid = None

    def acquire(self):
        import fcntl  # POSIX only; imported here so the readers above stay importable anywhere
        deadline = time.time() + self.timeout
        while True:
            try:  # a file that is there before we open it and is still the one we lock was never released
                before = os.lstat(self.path)
            except OSError:
                before = None
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, 'O_CLOEXEC', 0), 0o600)
            except OSError as exc:
                raise FileProblem('cannot create the lock file %s: %s' % (self.path, describe_os_error(exc)),
                                  self.path)
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
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except OSError:
                same = False
            if not same:
                os.close(fd)
                continue
            left = os.read(fd, 32).decode('ascii', 'replace').strip()
            # killed before it wrote its pid: stale all the same, holder unknown
            self.stale_pid = left or ('?' if before is not None and os.path.samestat(before, os.fstat(fd)) else None)
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, ('%d\n' % os.getpid()).encode('ascii'))
            self.fd = fd
            return self

    def release(self):
        if self.fd is None:
            return
        try:
            os.unlink(self.path)
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None


def _copy_attributes(fd, st, source):
    """Owner, then mode again (chown may clear bits), then xattrs (POSIX ACLs, SELinux label) of ``source``."""
    try:
        os.fchown(fd, st.st_uid, st.st_gid)
    except OSError as exc:
        if exc.errno != errno.EPERM:  # not root: the copy stays ours, never someone else's
            raise
    os.fchmod(fd, stat.S_IMODE(st.st_mode))
    if not hasattr(os, 'listxattr'):
        return
    try:
        keys = os.listxattr(source)
    except OSError:
        return
    for key in keys:
        try:
            os.setxattr(fd, key, os.getxattr(source, key))
        except OSError:
            pass  # e.g. security.* on a file system without SELinux, trusted.* without CAP_SYS_ADMIN


def write_scratch_copy(path, data):
    """Write ``data`` to a new scratch file beside ``path`` with path's mode, owner, ACLs and xattrs.

    The file is created with path's permission bits (the umask can only narrow them), so it is never
    readable by more users than ``path`` is, not even while it is written. Returns its path.
    """
    st = os.stat(path)
    prefix = os.path.join(os.path.dirname(path), _scratch_prefix(path))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, 'O_CLOEXEC', 0)
    for _attempt in range(100):
        tmp = '%s%s.tmp' % (prefix, binascii.hexlify(os.urandom(6)).decode('ascii'))
        try:
            fd = os.open(tmp, flags, stat.S_IMODE(st.st_mode) & 0o777)
            break
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise
    else:
        raise FileProblem('cannot find a free temporary name beside it', path)
    try:
        _copy_attributes(fd, st, path)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    return tmp


def fsync_dir(path):
    fd = os.open(os.path.dirname(path) or '.', os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backup_copy(path, data):
    """Keep ``data`` (what ``path`` held) as ``<path>.<pid>.<time>~``, created like write_scratch_copy."""
    dest = '%s.%d.%s' % (path, os.getpid(), time.strftime('%Y-%m-%d@%H:%M:%S~'))
    tmp = write_scratch_copy(path, data)
    os.rename(tmp, dest)
    return dest


def replace_file(path, data):
    """Atomically replace ``path`` with ``data`` (same mode, owner, ACLs, xattrs); durable on return."""
    tmp = write_scratch_copy(path, data)
    try:
        os.rename(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    fsync_dir(path)


class Fs(object):
    """Maps host paths to readable paths under `root` ('/' on a real host)."""

    def __init__(self, root='/'):
        self.root = os.path.abspath(root or '/')

    def real(self, path):
        if self.root == '/':
            return path
        return os.path.join(self.root, path.lstrip('/'))

    def host(self, real_path):
        if self.root == '/':
            return real_path
        rel = os.path.relpath(real_path, self.root)
        return '/' if rel == '.' else '/' + rel

    def exists(self, path):
        return os.path.lexists(self.real(path))

    def glob(self, pattern):
        return sorted(self.host(p) for p in glob.glob(self.real(pattern)))

    def which(self, name, dirs=SEARCH_PATH):
        """First executable `name` in dirs (host path), or None."""
        for d in dirs:
            cand = os.path.join(d, name)
            real = self.real(cand)
            if os.path.isfile(real) and os.access(real, os.X_OK):
                return cand
        return None
