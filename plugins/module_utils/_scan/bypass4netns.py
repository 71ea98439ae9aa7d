# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one table of what bypass4netns puts under SCMP_ACT_NOTIFY, per version, with its sources.

nerdctl compiles ``github.com/rootless-containers/bypass4netns/pkg/oci`` in and, for a container
run with ``nerdctl/bypass4netns=true``, generates the seccomp profile at run time from that
package (``GetDefaultSeccompProfile`` with ``seccomp=unconfined``, else ``TranslateSeccompProfile``
puts the NOTIFY rule first into the normal profile). The profile is never a file the user keeps:
the nerdctl binary's build info (``dep github.com/rootless-containers/bypass4netns vX``) is what
tells it. Pure stdlib.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

_REPO = 'https://github.com/rootless-containers/bypass4netns'
# (lowest module version, NOTIFY names, source). Read from the tags' pkg/oci/oci.go.
NOTIFY_TABLE = (
    ('0.4.0', ('bind', 'close', 'connect', 'setsockopt', 'fcntl', '_exit', 'exit_group', 'getpeername'),
     _REPO + '/blob/v0.4.0/pkg/oci/oci.go (SyscallsToBeNotified; fcntl since commit 45de507, PR #39; '
     'same list in v0.4.1, v0.4.2 and main as of 2025-10)'),
    ('0.2.0', ('bind', 'close', 'connect', 'sendmsg', 'sendto', 'setsockopt'),
     _REPO + '/blob/v0.3.0/pkg/oci/oci.go (v0.2.0 .. v0.3.0; no fcntl)'),
)
# First commit with fcntl in the list (2023-10-26): pseudo-versions of later commits have it.
FCNTL_SINCE_DATE = '20231026'
_VERSION = re.compile(r'^v?(\d+)\.(\d+)\.(\d+)(?:-(?:0\.|[0-9A-Za-z.]*\.0\.)?(\d{14})-[0-9a-f]{12})?')


def notify_row(version):
    """{'names', 'source', 'version'} for a module version (``v0.4.2``, a pseudo-version), or None."""
    m = _VERSION.match(version or '')
    if not m:
        return None
    key = tuple(int(x) for x in m.group(1, 2, 3))
    stamp = m.group(4)
    if stamp and stamp[:8] >= FCNTL_SINCE_DATE and key < (0, 4, 0):
        key = (0, 4, 0)  # a development build of a commit that has the fcntl list
    for floor, names, source in NOTIFY_TABLE:
        if key >= tuple(int(x) for x in floor.split('.')):
            return {'names': names, 'source': source, 'version': version}
    return None


def generated_profile(names, listener_path):
    """The profile GetDefaultSeccompProfile gives (default allow, one NOTIFY rule)."""
    return {
        'defaultAction': 'SCMP_ACT_ALLOW',
        'listenerPath': listener_path,
        'syscalls': [{'names': list(names), 'action': 'SCMP_ACT_NOTIFY'}],
    }
