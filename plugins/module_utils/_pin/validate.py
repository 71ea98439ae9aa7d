# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Ask the engine itself whether it accepts a candidate configuration, before it lands.

Pure stdlib, Python 3.9+. Runs only root-owned engine binaries that no other user can change
(their directory included), through the collection's bounded runner (argv, LANG=C, killed after
the time bound). containerd: ``containerd --config FILE config dump`` of the current and of the
candidate configuration; the two dumps must differ in the runtime path only. Docker:
``dockerd --validate --config-file FILE`` (Docker 23 and later; older dockerd has no validator).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import stat

from ansible_collections.runcguard.seccomp.plugins.module_utils import _command
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import toml as _toml

DUMP_LIMIT = 4 << 20


def trusted_binary(name):
    """Path of ``name`` on the service PATH when root may run it (root-owned, not group/world
    writable, in such a directory), else None."""
    path = _command.find(name)
    if not path:
        return None
    real = os.path.realpath(path)
    for item in (real, os.path.dirname(real)):
        try:
            st = os.stat(item)
        except OSError:
            return None
        if st.st_uid != 0 or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return None
    return real


def _message(out, err, error):
    text = (err or out or b'').decode('utf-8', 'replace').strip()
    lines = [line for line in text.splitlines() if line.strip()]
    return error or (lines[-1] if lines else 'no message')[:500]


def containerd_dump(binary, config, timeout):
    """(dump as a dict, None) or (None, containerd's message)."""
    rc, out, err, error = _command.run([binary, '--config', config, 'config', 'dump'], timeout, limit=DUMP_LIMIT)
    if rc != 0 or error:
        return None, _message(out, err, error)
    try:
        return _toml.loads(out.decode('utf-8', 'replace')), None
    except _toml.TomlError as exc:
        return None, 'unreadable config dump: %s' % exc


def _without(doc, key):
    """A copy of ``doc`` without the key at path ``key`` and without imports/version."""
    import copy
    doc = copy.deepcopy(doc)
    doc.pop('imports', None)
    doc.pop('version', None)
    parent = doc
    for part in key[:-1]:
        parent = parent.get(part) if isinstance(parent, dict) else None
    if isinstance(parent, dict):
        parent.pop(key[-1], None)
    return doc


def containerd_compare(before, after, key, binary):
    """None when ``after`` is ``before`` with the runtime path at ``key`` set to ``binary``; else why not.

    ``key`` is the dump's path (containerd dumps a version 1 config as version 2)."""
    got = after
    for part in key:
        got = got.get(part) if isinstance(got, dict) else None
    if got != binary:
        return 'containerd would run %r, not %s' % (got, binary)
    a, b = _unset(_without(before, key)), _unset(_without(after, key))
    if a == b:
        return None
    changed = sorted(_diff_paths(a, b))[:5]
    return 'containerd settings other than the runtime path would change: %s' % ', '.join(changed)


def _unset(value):
    """``value`` without zero values: containerd dumps its built-in runtime options as a typed struct
    (every field, zero or not) and a configured options table with only the keys given; both mean the same."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            item = _unset(item)
            if item not in ('', 0, False, [], {}, None) or isinstance(item, float) and item:
                out[key] = item
        return out
    return value


def _diff_paths(a, b, prefix=''):
    """Dotted paths where ``a`` and ``b`` differ."""
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return [prefix] if a != b else []
    out = []
    for key in set(a) | set(b):
        out += _diff_paths(a.get(key), b.get(key), prefix + '.' + key if prefix else key)
    return out


def dockerd_validates(binary, timeout):
    rc, out, err, error = _command.run([binary, '--help'], timeout)
    return rc == 0 and b'--validate' in out + err


def dockerd_validate(binary, config, timeout):
    """None when dockerd accepts ``config``, else its message."""
    rc, out, err, error = _command.run([binary, '--validate', '--config-file', config], timeout)
    if rc != 0 or error:
        return _message(out, err, error)
    return None
