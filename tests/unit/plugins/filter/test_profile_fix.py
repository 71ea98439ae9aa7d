# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""profile_fix_plan / profile_fix_remaining: the profile_fix role's choices, from facts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.runcguard.seccomp.plugins.filter.profile_fix import (
    profile_fix_changes,
    profile_fix_plan,
    profile_fix_remaining,
)

RC2 = {'name': 'runc', 'path': '/usr/bin/runc', 'version': '1.2.0-rc.2', 'used_by': ['docker', 'containerd'],
       'error': None}


def profile(path, notify, fmt='oci', engine='docker', realpath=None):
    return {'path': path, 'realpath': realpath or path, 'format': fmt, 'default_action': 'SCMP_ACT_ALLOW',
            'listener_path': '/run/agent.sock', 'listener_exists': True, 'notify_syscalls': sorted(notify),
            'origin': [{'engine': engine, 'setting': 'seccomp profile'}], 'error': None}


def facts(*profiles):
    return {'arch': 'x86_64', 'kernel': '6.1.0', 'runtimes': [RC2], 'profiles': list(profiles)}


BEFORE = facts(profile('/etc/docker/agent.json', ['fcntl', 'connect']),
               profile('/var/lib/kubelet/seccomp/k.json', ['fcntl'], engine='kubelet'),
               profile('/run/containerd/io.containerd.runtime.v2.task/k8s.io/c1/config.json', ['fcntl'], fmt='bundle',
                       engine='containerd'),
               profile('/etc/docker/other.json', ['connect']))


def test_targets_skip_bundles_and_name_engines_to_restart():
    plan = profile_fix_plan(BEFORE, notify_remove=['fcntl'])
    assert plan['targets'] == ['/etc/docker/agent.json', '/var/lib/kubelet/seccomp/k.json']
    assert plan['skipped_bundles'] == ['/run/containerd/io.containerd.runtime.v2.task/k8s.io/c1/config.json']
    assert plan['restart_engines'] == {'/etc/docker/agent.json': ['docker'], '/var/lib/kubelet/seccomp/k.json': []}
    assert set(f['profile'] for f in plan['findings']) == set(plan['targets'] + plan['skipped_bundles'])
    assert all('fcntl' in f['syscalls'] for f in plan['findings'])


def test_given_paths_are_the_targets():
    plan = profile_fix_plan(BEFORE, notify_remove=['fcntl'], paths=['/var/lib/kubelet/seccomp/k.json'])
    assert plan['targets'] == ['/var/lib/kubelet/seccomp/k.json'] and plan['skipped_bundles'] == []
    assert [f['profile'] for f in plan['findings']] == ['/var/lib/kubelet/seccomp/k.json'] * len(plan['findings'])


def test_remaining_after_a_partial_rewrite():
    plan = profile_fix_plan(BEFORE, notify_remove=['fcntl'])
    after = facts(profile('/etc/docker/agent.json', ['connect']),
                  profile('/var/lib/kubelet/seccomp/k.json', ['fcntl'], engine='kubelet'))
    left = profile_fix_remaining(after, findings=plan['findings'], targets=plan['targets'], notify_remove=['fcntl'])
    assert 'notify-fcntl-hang on /var/lib/kubelet/seccomp/k.json' in left
    assert '/var/lib/kubelet/seccomp/k.json still notifies fcntl' in left
    assert not [line for line in left if 'agent.json' in line]
    # a target whose rewrite failed is reported elsewhere, not as a leftover NOTIFY rule
    left = profile_fix_remaining(after, findings=[], targets=plan['targets'], notify_remove=['fcntl'],
                                 failed=['/var/lib/kubelet/seccomp/k.json'])
    assert left == []


def test_clean_re_audit_and_bad_input():
    plan = profile_fix_plan(BEFORE, notify_remove=['fcntl'])
    after = facts(profile('/etc/docker/agent.json', ['connect']), profile('/var/lib/kubelet/seccomp/k.json', []))
    assert profile_fix_remaining(after, findings=plan['findings'], targets=plan['targets'], notify_remove=['fcntl']) == []
    with pytest.raises(AnsibleFilterError, match='ansible_facts.runcguard'):
        profile_fix_plan(['not', 'facts'], notify_remove=['fcntl'])
    with pytest.raises(AnsibleFilterError, match='notify_remove'):
        profile_fix_plan(BEFORE, notify_remove='fcntl')


def test_changes_record_backups_and_check_mode_targets():
    result = {'changed': ['/etc/docker/agent.json', '/etc/docker/b.json'],
              'backup_files': [{'path': '/etc/docker/agent.json', 'backup': '/etc/docker/agent.json.1.bak'}]}
    assert profile_fix_changes(result, notify_removed=['fcntl']) == [
        {'path': '/etc/docker/agent.json', 'backup': '/etc/docker/agent.json.1.bak', 'notify_removed': ['fcntl']}]
    # check mode: nothing was written, so the files that would change are recorded without a backup
    dry = {'changed': result['changed'], 'backup_files': []}
    assert profile_fix_changes(dry, notify_removed=['fcntl'], check_mode=True) == [
        {'path': '/etc/docker/agent.json', 'backup': None, 'notify_removed': ['fcntl']},
        {'path': '/etc/docker/b.json', 'backup': None, 'notify_removed': ['fcntl']}]
    assert profile_fix_changes({}, notify_removed=['fcntl'], check_mode=True) == []
    with pytest.raises(AnsibleFilterError, match='profile_fix_result'):
        profile_fix_changes(None, notify_removed=['fcntl'])
    with pytest.raises(AnsibleFilterError, match='notify_removed'):
        profile_fix_changes(result, notify_removed='fcntl')
