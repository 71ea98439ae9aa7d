# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Modules run as an unprivileged user (uid 65534, also when the suite runs as root), as Ansible
runs them without become: unreadable items are reported one by one, the probe refuses clearly."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os


def test_runtime_facts_reports_unreadable_profiles_and_reads_the_rest(open_tmp, run_unprivileged):
    profile = {'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/run/agent.sock',
               'syscalls': [{'names': ['fcntl'], 'action': 'SCMP_ACT_NOTIFY'}]}
    profiles = os.path.join(open_tmp, 'profiles')
    os.mkdir(profiles)
    os.chmod(profiles, 0o755)
    for name, mode in (('ok.json', 0o644), ('secret.json', 0o600)):
        path = os.path.join(profiles, name)
        with open(path, 'w') as handle:
            json.dump(profile, handle)
        os.chmod(path, mode)
    locked = os.path.join(open_tmp, 'locked')
    os.mkdir(locked)
    os.chmod(locked, 0)
    res = run_unprivileged('runtime_facts', {'discover': False, 'profile_paths': [profiles, locked]})
    assert not res.get('failed'), res
    facts = res['ansible_facts']['runcguard']
    by_path = dict((p['path'], p) for p in facts['profiles'])
    assert by_path[os.path.join(profiles, 'ok.json')]['notify_syscalls'] == ['fcntl']
    assert by_path[os.path.join(profiles, 'secret.json')]['error'] == 'permission denied'
    assert {'path': locked, 'error': 'permission denied'} in facts['scan']['errors']


def test_notify_probe_refuses_without_root(run_unprivileged):
    res = run_unprivileged('notify_probe', {'syscalls': ['fcntl'], 'timeout': 5})
    assert res['failed'] and 'must run as root (become: true)' in res['msg'], res
    assert 'results' not in res
