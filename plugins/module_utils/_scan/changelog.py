# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Security advisory ids a runtime's distribution package names in its changelog (backported fixes).

Distributions backport security fixes without changing the upstream version (Debian's runc
1.1.5+ds1-1+deb12u1 carries the fix of CVE-2024-21626, released upstream in 1.1.12). The
controller decides what an id means (plugin_utils._advisories); this reads the ids only:

- dpkg: ``/usr/share/doc/<package>/changelog.Debian.gz`` (root-owned, not group/world writable,
  bounded, gzip-decompressed to at most CHANGELOG_LIMIT bytes);
- rpm: ``rpm -q --changelog <package>`` through the scan's bounded runner.

Sets ``package['advisory_ids']`` (sorted, upper case, at most MAX_IDS) or, when the changelog cannot
be read, ``advisory_ids: None`` and ``changelog_error`` saying why. Never raises.
Pure stdlib, Python 3.9+.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import stat
import zlib

COMPRESSED_LIMIT = 1024 * 1024
CHANGELOG_LIMIT = 8 * 1024 * 1024
MAX_IDS = 1000
DEBIAN_CHANGELOG = '/usr/share/doc/%s/changelog.Debian.gz'
_ADVISORY_ID = re.compile(r'\b(CVE-\d{4}-\d{4,7}|GHSA(?:-[23456789cfghjmpqrvwx]{4}){3}|GO-\d{4}-\d{4,5})\b',
                          re.IGNORECASE)
_PACKAGE_NAME = re.compile(r'^[a-z0-9][a-z0-9+._-]{0,127}$')


def advisory_ids(text):
    """Sorted, upper-case advisory ids (CVE, GHSA, GO) named in ``text``, at most MAX_IDS."""
    if isinstance(text, bytes):
        text = text.decode('utf-8', 'replace')
    found = set()
    for match in _ADVISORY_ID.finditer(text or ''):
        found.add(match.group(1).upper())
        if len(found) >= MAX_IDS:
            break
    return sorted(found)


def _gunzip_bounded(data):
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = inflate.decompress(data, CHANGELOG_LIMIT + 1)
    if len(out) > CHANGELOG_LIMIT or inflate.unconsumed_tail:
        raise ValueError('decompresses to more than %d bytes' % CHANGELOG_LIMIT)
    return out


def read_debian_changelog(real_path):
    """(text bytes, None) or (None, why) for a changelog.Debian.gz at ``real_path`` (a readable path)."""
    flags = os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0) | getattr(os, 'O_CLOEXEC', 0) | getattr(os, 'O_NOFOLLOW', 0)
    try:
        fd = os.open(real_path, flags)
    except OSError as exc:
        return None, 'cannot be opened (%s)' % (exc.strerror or exc)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None, 'is not a regular file'
        if st.st_uid != 0 or st.st_mode & 0o022:
            # anyone else who could write it could forge a "fixed" entry
            return None, 'is not owned by root or is group/world writable, so it is not trusted'
        if st.st_size > COMPRESSED_LIMIT:
            return None, 'is larger than %d bytes' % COMPRESSED_LIMIT
        data = os.read(fd, COMPRESSED_LIMIT + 1)
    except OSError as exc:
        return None, 'cannot be read (%s)' % (exc.strerror or exc)
    finally:
        os.close(fd)
    try:
        return _gunzip_bounded(data), None
    except (ValueError, zlib.error, EOFError) as exc:
        return None, 'is not a readable gzip file (%s)' % exc


def add_advisory_ids(fs, run, runtimes, rpm=None, rpm_root=()):
    """Fill ``advisory_ids`` / ``changelog_error`` of every runtime's ``package`` (dpkg or rpm).

    ``fs`` maps host paths to readable ones (root-confined scans), ``run(argv)`` is the scan's
    bounded runner returning (rc, stdout bytes, stderr bytes, problem); ``rpm`` the rpm binary and
    ``rpm_root`` its ``--root`` arguments. One changelog read per package, however many runtimes.
    """
    done = {}
    for runtime in runtimes:
        package = runtime.get('package')
        if not isinstance(package, dict) or not package.get('name'):
            continue
        key = (package.get('manager'), package['name'])
        if key not in done:
            done[key] = _read(fs, run, package.get('manager'), package['name'], rpm, rpm_root)
        ids, error = done[key]
        package['advisory_ids'] = list(ids) if ids is not None else None
        package['changelog_error'] = error


def _read(fs, run, manager, name, rpm, rpm_root):
    if not _PACKAGE_NAME.match(name):
        return None, 'package name %r is not a valid package name' % name[:80]
    if manager == 'dpkg':
        path = DEBIAN_CHANGELOG % name
        text, why = read_debian_changelog(fs.real(path))
        if text is None:
            return None, '%s %s' % (path, why)
        return advisory_ids(text), None
    if manager == 'rpm':
        if not rpm:
            return None, 'rpm is not installed, so the changelog of %s cannot be read' % name
        rc, out, err, problem = run([rpm] + list(rpm_root) + ['-q', '--changelog', name])
        if problem or rc != 0:
            detail = problem or (err or b'').decode('utf-8', 'replace').strip()[:200] or 'exit status %s' % rc
            return None, 'rpm -q --changelog %s failed: %s' % (name, detail)
        return advisory_ids(out), None
    return None, 'package manager %r has no changelog reader' % manager
