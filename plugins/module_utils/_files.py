# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Bounded, safe file reading and careful writing: one place that says why a file could not be read,
and ``Fs``, the host paths a scan reads (``/`` on a real host, a test tree otherwise).

Pure stdlib, Python 3.9+. Reading never blocks on a FIFO, never reads more than asked, never raises
anything but FileProblem for ordinary file-system trouble. Writing is not here: every file the
collection writes goes through ``_safefile`` (race-free, relative to a directory descriptor).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import glob
import os
import re
import stat

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


def read_fd(fd, path, max_size, limit='max_profile_size'):
    """The bytes of the open file ``fd``, at most ``max_size`` (its size already checked): one byte
    more is read, so a file that grew past the limit since is refused too. The one bounded read every
    reader of host files uses; ``limit`` names the setting in the message."""
    chunks, remaining = [], max_size + 1
    try:
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    except OSError as exc:
        raise FileProblem(describe_os_error(exc), path)
    data = b''.join(chunks)
    if len(data) > max_size:
        raise FileProblem('too large: more than %d bytes%s' % (max_size, ' (%s)' % limit if limit else ''), path)
    return data


def read_bounded(path, max_size):
    """Return the bytes of regular file `path`, refusing anything larger than `max_size`.

    Symlinks are followed (a loop is reported). O_NONBLOCK keeps a FIFO from hanging the open.
    As root an absolute path is read through ``_safefile.read_file``: race-free, and never through a
    user's link into a file that user could not read (``_safefile.UserControlled``, a FileProblem).
    """
    if os.path.isabs(path) and os.geteuid() == 0:
        from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile import read_file
        return read_file(path, max_size)
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
        return read_fd(fd, path, max_size)
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
