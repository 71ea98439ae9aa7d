# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Report files on the controller, for every report the collection writes (fleet audit report,
remediation report): where a report directory is, per-host results from hostvars, and a set of
files written under one lock, each atomically, through the collection's one safe file helper
(module_utils/_safefile: the directory opened once without following links, then lock, reads,
backups, scratch files and renames relative to it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
from collections.abc import Mapping

from ansible_collections.runcguard.seccomp.plugins.module_utils._files import is_scratch
from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile import Attributes, SafeDir

# Seconds a report run waits for another one writing the same report set.
LOCK_TIMEOUT = 60
_TIMESTAMP = re.compile(r'Generated: (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)')


def report_dir(dest, cwd=None):
    """The report directory as an absolute path: a relative one is taken from the directory
    ansible-playbook runs in (``cwd``, default the controller process's), never from the playbook's
    own directory (which, for a playbook inside an installed collection, is the collection)."""
    dest = os.path.expanduser(str(dest))
    return os.path.normpath(os.path.join(cwd or os.getcwd(), dest))


_JSON_TIMESTAMP = re.compile(r'^  "generated_at": "([^"\\]*)"', re.MULTILINE)
# Bytes of a report file read to find its timestamp (it is at the top of every format that has one).
HEAD = 1 << 20
# Bytes per read when a file on disk is compared with a rendered one.
BLOCK = 1 << 20


def _head(path):
    try:
        with open(path, 'rb') as handle:
            return handle.read(HEAD)
    except (IOError, OSError):
        return None


def previous_timestamp(paths):
    """generated_at of the report already on disk, so identical content keeps identical bytes. Reads
    the head of each file only (a 100,000-host JSON report is 220 MB)."""
    for fmt, path in sorted(paths.items()):
        data = _head(path)
        if data is None:
            continue
        text = data.decode('utf-8', 'replace')
        match = (_JSON_TIMESTAMP if fmt == 'json' else _TIMESTAMP).search(text)
        if match:
            return match.group(1)
    return None


def leftovers_in(dest, basename):
    """Does ``dest`` hold scratch files of this report set (a killed run's)?"""
    try:
        names = os.listdir(dest)
    except OSError:
        return False
    return any(name.startswith('.' + basename) and is_scratch(name) for name in names)


def stale_in(dest, basename, files, extra):
    """Names in ``dest`` of this report set's extra files (``extra``: a regular expression of what
    follows the basename, e.g. html host pages) that ``files`` no longer has."""
    if not extra:
        return []
    pattern = re.compile(re.escape(basename) + '(?:' + extra + r')\Z')
    try:
        names = os.listdir(dest)
    except OSError:
        return []
    return sorted(set(n for n in names if pattern.match(n)) - set(name for _fmt, name, _make in files))


def _encoded(make):
    for chunk in make():
        yield chunk.encode('utf-8')


def _same(handle, chunks):
    """Does the open file hold exactly these bytes? Reads as far as the first difference."""
    for chunk in chunks:
        if handle.read(len(chunk)) != chunk:
            return False
    return handle.read(1) == b''


def differing(dest, files, first=False):
    """Formats of ``files`` ([(format, file name, make)]) whose file in ``dest`` is missing or holds
    other bytes than ``make()`` renders; streamed, stops at the first difference per file (and after
    the first differing format with ``first``)."""
    changed = []
    for fmt, name, make in files:
        if fmt in changed:
            continue
        try:
            with open(os.path.join(dest, name), 'rb') as handle:
                same = _same(handle, _encoded(make))
        except (IOError, OSError):
            same = False
        if not same:
            changed.append(fmt)
            if first:
                break
    return changed


class _Unchanged(Exception):
    """Raised by the chunks being written when they turned out to be the file's bytes: no rename."""


def _compared(chunks, handle):
    """Pass ``chunks`` through, comparing them with ``handle`` (None: no file); _Unchanged at the end
    when every byte was the same."""
    same = handle is not None
    for chunk in chunks:
        if same and handle.read(len(chunk)) != chunk:
            same = False
        yield chunk
    if same and handle.read(1) == b'':
        raise _Unchanged()


def _blocks(handle):
    handle.seek(0)
    while True:
        block = handle.read(BLOCK)
        if not block:
            return
        yield block


def write_files(dest, basename, files, mode, backup=False, stale=()):
    """Write the files of one report set whose content changed, under one lock, so two runs never
    leave a mixed set. ``files``: [(format, file name in ``dest``, make)], ``make()`` yields the text
    in chunks: each file is streamed into a scratch file while compared with the one in place, and
    renamed over it only when different (a render error removes the scratch file, the old report
    stays). ``stale``: names of this set's extra files to remove (a backup kept with ``backup``).

    Returns (formats written, {format, or file name past a format's first file: backup}, leftovers of
    a killed run that were removed, stale files removed). Raises FileProblem or OSError.
    """
    with SafeDir.open(os.path.abspath(dest), allow_user_owned=True, create=True) as sdir:
        lock = sdir.lock(basename, LOCK_TIMEOUT)
        try:
            leftovers = [n for _fmt, name, _make in files for n in sdir.remove_stale_scratch(name)]
            if lock.stale_pid:
                leftovers.append('%s (pid %s)' % (lock.name, lock.stale_pid))
            attrs = Attributes(os.geteuid(), os.getegid(), mode)
            changed, backups, seen = [], {}, set()
            for fmt, name, make in files:
                key = name if fmt in seen else fmt
                seen.add(fmt)
                if _write_one(sdir, name, make, attrs, backup, backups, key) and fmt not in changed:
                    changed.append(fmt)
            removed = []
            for name in stale:
                if sdir.lstat(name) is None:
                    continue
                if backup:
                    with sdir.open_read(name) as handle:
                        backups[name] = sdir.backup(name, _blocks(handle), attrs)
                sdir.unlink(name)
                removed.append(sdir.join(name))
        finally:
            lock.release()
    return changed, backups, leftovers, removed


def _write_one(sdir, name, make, attrs, backup, backups, key):
    """One file of write_files: True when it was replaced (its backup in ``backups[key]``)."""
    st = sdir.lstat(name)
    handle = sdir.open_read(name) if st is not None else None
    try:
        # compared again under the lock: another run may have written since we looked
        kept = sdir.backup(name, _blocks(handle), attrs) if backup and handle is not None else None
        if handle is not None:
            handle.seek(0)
        try:
            sdir.write(name, _compared(_encoded(make), handle), expect=st, attrs=attrs)
        except _Unchanged:
            if kept:
                sdir.unlink(os.path.basename(kept))
            return False
    finally:
        if handle is not None:
            handle.close()
    if kept:
        backups[key] = kept
    return True


def write_set(dest, basename, paths, texts, mode, backup=False):
    """write_files for texts in memory: ``paths``/``texts``: format -> path (in ``dest``) / text.
    Returns (formats written, {format: backup}, leftovers of a killed run that were removed)."""
    files = [(fmt, os.path.basename(paths[fmt]), lambda text=texts[fmt]: iter([text])) for fmt in paths]
    changed, backups, leftovers, _removed = write_files(dest, basename, files, mode, backup)
    return changed, backups, leftovers


def host_values(task_vars, hosts, var):
    """{host: the value of host variable ``var`` or None}, read without templating host-supplied text."""
    hostvars = task_vars.get('hostvars') or {}
    raw_get = getattr(hostvars, 'raw_get', None)
    out = {}
    for host in hosts:
        if host not in hostvars and host == task_vars.get('inventory_hostname'):
            # The host this task runs on: a playbook run without inventory targets the implicit
            # localhost, which is in no inventory and so not in hostvars; its variables are ours.
            out[host] = task_vars.get(var)
            continue
        # A host that is not in the inventory has no variables (raw_get would return an undefined
        # marker that fails outside templating): it is reported as missing.
        if host not in hostvars:
            out[host] = None
            continue
        # raw_get: no templating of host-supplied strings, and no per-host var templating cost.
        values = raw_get(host) if raw_get else hostvars[host]
        out[host] = values.get(var) if isinstance(values, Mapping) else None
    return out


def file_mode(mode):
    """An octal mode from '0644' or 420; ValueError names the bad value."""
    try:
        return int(mode, 8) if isinstance(mode, str) else int(mode)
    except (TypeError, ValueError):
        raise ValueError('mode must be octal like 0644, got %r' % (mode,))
