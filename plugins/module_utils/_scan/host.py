# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Host-wide pieces of the runtime_facts scan: error entries, the scan's bounded command runner,
the host's libseccomp. Pure stdlib, Python 3.9+."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math
import os
import re
import time

from ansible_collections.runcguard.seccomp.plugins.module_utils import _command

LIB_DIRS = ('/lib', '/lib64', '/usr/lib', '/usr/lib64', '/usr/local/lib', '/lib/*-linux-gnu*',
            '/usr/lib/*-linux-gnu*')
_LIBSECCOMP = re.compile(r'libseccomp\.so\.(\d+\.\d+\.\d+)$')


def add_error(errors, path, message):
    """Append the scan's error entry {path, error} to `errors`; returns `message`."""
    errors.append({'path': path, 'error': message})
    return message


def host_libseccomp(fs):
    """Newest libseccomp.so.X.Y.Z file name under the usual library directories, or None."""
    best = None
    for d in LIB_DIRS:
        for real in fs.glob(os.path.join(d, 'libseccomp.so.*')):
            m = _LIBSECCOMP.search(real)
            if m:
                ver = tuple(int(x) for x in m.group(1).split('.'))
                best = max(best or ver, ver)
    return '.'.join(str(x) for x in best) if best else None


def bounded_runner(command_timeout, scan_timeout):
    """_command.run bounded per command and, with ``scan_timeout``, by the whole scan: past it no command
    starts (the caller, e.g. audit_host, has given up by then; nothing may keep running on the host).
    A caller's own ``timeout=`` can only shorten a command's bound."""
    per_command = max(1, int(command_timeout))
    deadline = time.monotonic() + int(scan_timeout) if scan_timeout else None

    def run(argv, timeout=None, **kwargs):
        limit = per_command if timeout is None else max(1, min(per_command, int(math.ceil(timeout))))
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                return None, b'', b'', 'not run: the scan reached its time limit (scan_timeout=%ds)' % int(scan_timeout)
            limit = min(limit, max(1, int(math.ceil(left))))
        return _command.run(argv, timeout=limit, **kwargs)
    return run
