# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Staging a sha256-verified file for root (the runc binary the ``runc_pin`` role installs).

A download or a copy from the controller lands in a fresh directory of its own, made by root with
mode 0700 in ``parent`` (default ``/var/tmp``) through ``_safefile`` (the parent opened once, without
following anyone's links; a parent a non-root user controls is refused, the sticky ``/var/tmp`` is
fine: no user can rename, replace or enter root's entry). The bytes are checked against their sha256
*before* anything is written, and the file is written race-free with ``_safefile``; nobody but root
can see, swap or change it until the installer reads it. ``remove`` takes the directory away again;
directories of runs that died (their PID is in the name) are removed by the next ``make_dir``.

Pure stdlib, Python 3.9+.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import binascii
import errno
import hashlib
import os
import re
import stat

try:
    from urllib.parse import urlsplit, urlunsplit
except ImportError:  # pragma: no cover - Python 2 hosts are not supported, the import only must not fail
    from urlparse import urlsplit, urlunsplit

from ansible_collections.runcguard.seccomp.plugins.module_utils._files import FileProblem, describe_os_error
from ansible_collections.runcguard.seccomp.plugins.module_utils import _safefile

PREFIX = 'runcguard-stage.'
DEFAULT_PARENT = '/var/tmp'
MAX_SIZE = 256 << 20
_NAME = re.compile(r'^%s(\d+)\.[0-9a-f]{12}$' % re.escape(PREFIX))


def redact_url(url):
    """``url`` as messages, diffs and return values show it: without ``user:password@``, the query
    string and the fragment (where download links carry their tokens)."""
    try:
        parts = urlsplit(url)
        shown = urlunsplit((parts.scheme, parts.netloc.rsplit('@', 1)[-1], parts.path, '', ''))
    except ValueError:
        return '(a URL that cannot be parsed; not shown)'
    if not parts.netloc and '@' in shown:  # no //: user:password@host/... reads as a path
        shown = shown.rsplit('@', 1)[-1]
    return shown


def scrub_url(text, url):
    """``text`` (an error message) with ``url`` and its secret parts (credentials, query) replaced."""
    text = str(text).replace(url, redact_url(url))
    try:
        parts = urlsplit(url)
    except ValueError:
        return text
    secrets = [parts.netloc.rsplit('@', 1)[0] if '@' in parts.netloc else '', parts.query, parts.fragment,
               parts.password or '', parts.username or '']
    for secret in sorted((s for s in secrets if len(s) >= 3), key=len, reverse=True):
        text = text.replace(secret, '********')
    return text


def _alive(pid):
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


def check_sha256(data, sha256, what):
    """Raise FileProblem unless ``data`` has the (lower-case hex) ``sha256``."""
    got = hashlib.sha256(data).hexdigest()
    if got != sha256.lower():
        raise FileProblem('has sha256 %s, expected %s; nothing was staged' % (got, sha256.lower()), what)


def read_verified(handle, sha256, what, max_size=MAX_SIZE):
    """All bytes of the open stream ``handle`` (at most ``max_size``), checked against ``sha256``."""
    data = bytearray()
    while True:
        chunk = handle.read(1 << 16)
        if not chunk:
            break
        data += chunk
        if len(data) > max_size:
            raise FileProblem('larger than %d bytes; nothing was staged' % max_size, what)
    data = bytes(data)
    check_sha256(data, sha256, what)
    return data


def _is_ours(st):
    return stat.S_ISDIR(st.st_mode) and st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o700


def _empty_and_remove(psdir, name):
    """Remove root's staging directory ``name`` of ``psdir`` with the regular files in it (never a link)."""
    with _safefile.SafeDir.open(psdir.join(name)) as sdir:
        for entry in sdir.names():
            st = sdir.lstat(entry)
            if st is not None and not stat.S_ISREG(st.st_mode):
                raise FileProblem('holds %s, which is not a regular file; left alone' % entry, sdir.path)
            sdir.unlink(entry)
    try:
        os.rmdir(name, dir_fd=psdir.fd)
    except OSError as exc:
        raise FileProblem(describe_os_error(exc), psdir.join(name))


def reap(psdir):
    """Remove the staging directories of dead runs in ``psdir``; returns their paths."""
    removed = []
    for name in psdir.names():
        match = _NAME.match(name)
        if not match or _alive(int(match.group(1))):
            continue
        st = psdir.lstat(name)
        if st is None or not _is_ours(st):
            continue  # not root's (a user may name a directory anything): left alone
        _empty_and_remove(psdir, name)
        removed.append(psdir.join(name))
    return removed


def make_dir(parent=DEFAULT_PARENT):
    """A new root-only (0700) directory in ``parent``: (its path, [stale directories removed])."""
    with _safefile.SafeDir.open(parent) as psdir:
        removed = reap(psdir)
        for _attempt in range(100):
            name = '%s%d.%s' % (PREFIX, os.getpid(), binascii.hexlify(os.urandom(6)).decode('ascii'))
            try:
                os.mkdir(name, 0o700, dir_fd=psdir.fd)
                break
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    raise FileProblem('cannot create a staging directory: %s' % describe_os_error(exc), parent)
        else:
            raise FileProblem('cannot find a free name for a staging directory', parent)
        return psdir.join(name), removed


def _open_stage(path):
    """SafeDir of staging directory ``path``, checked to be root's own: a directory of ours, mode 0700."""
    parent, name = os.path.split(path.rstrip('/'))
    if not _NAME.match(name):
        raise FileProblem('not a staging directory of this collection (%s<pid>.<random>)' % PREFIX, path)
    sdir = _safefile.SafeDir.open(path)
    st = os.fstat(sdir.fd)
    if not _is_ours(st):
        sdir.close()
        raise FileProblem('is not root\'s own 0700 directory; nothing was staged', path)
    return sdir


def put(path, name, data, sha256, mode=0o600):
    """Write ``data`` (checked against ``sha256`` first) as ``name`` in staging directory ``path``."""
    if not name or '/' in name or name in ('.', '..'):
        raise FileProblem('a plain file name is needed', name or '')
    check_sha256(data, sha256, os.path.join(path, name))
    with _open_stage(path) as sdir:
        sdir.write(name, data, attrs=_safefile.Attributes(0, 0, mode), exists=False)
        return sdir.join(name)


def remove(path):
    """Remove staging directory ``path`` and the files in it; False when it is not there."""
    parent, name = os.path.split(path.rstrip('/'))
    if not _NAME.match(name):
        raise FileProblem('not a staging directory of this collection (%s<pid>.<random>)' % PREFIX, path)
    with _safefile.SafeDir.open(parent) as psdir:
        st = psdir.lstat(name)
        if st is None:
            return False
        if not _is_ours(st):
            raise FileProblem('is not root\'s own 0700 directory; left alone', path)
        _empty_and_remove(psdir, name)
    return True
