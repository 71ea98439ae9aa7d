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

import json
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


def read(path):
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def previous_timestamp(paths):
    """generated_at of the report already on disk, so identical content keeps identical bytes."""
    for fmt, path in sorted(paths.items()):
        data = read(path)
        if data is None:
            continue
        text = data[:1 << 20].decode('utf-8', 'replace')
        if fmt == 'json':
            try:
                value = json.loads(data.decode('utf-8')).get('generated_at')
            except (ValueError, AttributeError):
                continue
            if isinstance(value, str):
                return value
        match = _TIMESTAMP.search(text)
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


def write_set(dest, basename, paths, texts, mode, backup=False):
    """Write the files of one report set whose content changed, under one lock, so two runs never
    leave a mixed set. ``paths``/``texts``: format -> path (in ``dest``) / text.

    Returns (formats written, {format: backup}, leftovers of a killed run that were removed).
    Raises FileProblem or OSError.
    """
    with SafeDir.open(os.path.abspath(dest), allow_user_owned=True, create=True) as sdir:
        lock = sdir.lock(basename, LOCK_TIMEOUT)
        try:
            leftovers = [name for fmt in paths for name in sdir.remove_stale_scratch(os.path.basename(paths[fmt]))]
            if lock.stale_pid:
                leftovers.append('%s (pid %s)' % (lock.name, lock.stale_pid))
            # compared again under the lock: another run may have written since we looked
            changed, backups = [], {}
            attrs = Attributes(os.geteuid(), os.getegid(), mode)
            for fmt in paths:
                name, data = os.path.basename(paths[fmt]), texts[fmt].encode('utf-8')
                old = st = None
                if sdir.lstat(name) is not None:
                    old, st = sdir.read(name, max(len(data), 1 << 20) * 4)
                if old == data:
                    continue
                backup_file = sdir.write(name, data, expect=st, attrs=attrs,
                                         backup=old if backup and old is not None else None)
                changed.append(fmt)
                if backup_file:
                    backups[fmt] = backup_file
        finally:
            lock.release()
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
