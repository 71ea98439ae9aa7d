# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Permission denied, as an unprivileged user whoever runs the suite: unreadable profiles,
configuration files and directories are reported one by one and the rest is still read."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

import pytest

from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import discovery as _discovery
from ansible_collections.runcguard.seccomp.plugins.module_utils._files import (
    FileProblem, list_dir, read_bounded, walk_files,
)

NOTIFY_FCNTL = {'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/run/agent.sock',
                'syscalls': [{'names': ['fcntl'], 'action': 'SCMP_ACT_NOTIFY'}]}


def put(root, path, content, mode=0o644):
    full = os.path.join(root, path.lstrip('/'))
    if not os.path.isdir(os.path.dirname(full)):
        os.makedirs(os.path.dirname(full), mode=0o755)
    with open(full, 'w') as f:
        f.write(content if isinstance(content, str) else json.dumps(content))
    os.chmod(full, mode)
    return full


def test_unreadable_file_and_directory(open_tmp, as_nobody):
    readable = put(open_tmp, '/ok.json', '{}')
    locked = put(open_tmp, '/locked.json', '{}', mode=0)
    put(open_tmp, '/dir/inner.json', '{}')
    os.chmod(os.path.join(open_tmp, 'dir'), 0)
    with as_nobody():
        assert read_bounded(readable, 100) == b'{}'  # the user can reach the directory
        with pytest.raises(FileProblem, match='^permission denied$'):
            read_bounded(locked, 100)
        with pytest.raises(FileProblem, match='^permission denied$'):
            list_dir(os.path.join(open_tmp, 'dir'))
        walked = dict(walk_files(open_tmp))
    assert walked == {os.path.join(open_tmp, 'dir'): 'permission denied', readable: None, locked: None}


def test_discovery_reports_each_unreadable_item_and_reads_the_rest(open_tmp, as_nobody):
    kube = '/var/lib/kubelet/seccomp'
    put(open_tmp, kube + '/profiles/agent.json', NOTIFY_FCNTL)
    put(open_tmp, kube + '/profiles/secret.json', NOTIFY_FCNTL, mode=0)
    put(open_tmp, kube + '/locked/hidden.json', NOTIFY_FCNTL)
    os.chmod(os.path.join(open_tmp, kube.lstrip('/'), 'locked'), 0)
    put(open_tmp, '/etc/docker/daemon.json', {'seccomp-profile': '/etc/docker/p.json'}, mode=0o600)
    opts = {'profile_paths': [], 'runtime_paths': [], 'discover': True, 'command_timeout': 5,
            'max_profile_size': 4096}
    with as_nobody():
        facts = _discovery.gather(_root=open_tmp, **opts)
    profiles = dict((p['path'], p) for p in facts['profiles'])
    assert profiles[kube + '/profiles/agent.json']['notify_syscalls'] == ['fcntl']
    assert profiles[kube + '/profiles/secret.json']['error'] == 'permission denied'
    assert {'path': kube + '/locked', 'error': 'permission denied'} in facts['scan']['errors']
    assert kube + '/locked/hidden.json' not in profiles
    assert facts['engines']['docker']['error'] == '/etc/docker/daemon.json: permission denied'
