# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cap on profiles read per host (max_profiles) and per user (max_profiles_per_user): past it, one
error entry says so and how many were left, and the rest of the scan goes on (issue 26: 5,000 profiles
made one audit take 49 s)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import shutil
import tempfile

import pytest

from ansible_collections.runcguard.seccomp.plugins.module_utils._files import Fs
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import discovery as _discovery
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.profiles import Profiles

PROFILE = {'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/run/agent.sock',
           'syscalls': [{'names': ['fcntl'], 'action': 'SCMP_ACT_NOTIFY'}]}
RC2 = '#!/bin/sh\necho "runc version 1.2.0-rc.2"\necho "commit: v1.2.0-rc.2-0-gf2d2ee5e4"\n'


def _tree(root, count):
    os.makedirs(os.path.join(root, 'profiles'))
    for index in range(count):
        with open(os.path.join(root, 'profiles', 'p%03d.json' % index), 'w') as handle:
            json.dump(dict(PROFILE, listenerPath='/run/agent-%d.sock' % index), handle)
    os.makedirs(os.path.join(root, 'opt'))
    with open(os.path.join(root, 'opt', 'runc'), 'w') as handle:
        handle.write(RC2)
    os.chmod(os.path.join(root, 'opt', 'runc'), 0o755)


def _gather(root, **options):
    return _discovery.gather(_root=root, discover=False, profile_paths=['/profiles'], runtime_paths=['/opt/runc'],
                             command_timeout=5, **options)


def test_past_the_host_cap_one_error_entry_and_the_scan_goes_on(tmp_path):
    root = str(tmp_path / 'root')
    _tree(root, 30)
    facts = _gather(root, max_profiles=10)
    read = [p for p in facts['profiles'] if p['sha256']]
    assert len(read) == 10 and len(facts['profiles']) == 10
    capped = [e for e in facts['scan']['errors'] if 'profile cap reached' in e['error']]
    assert len(capped) == 1, facts['scan']['errors']
    assert capped[0]['path'] == '/profiles/p010.json'
    assert 'max_profiles' in capped[0]['error'] and '(20 not read' in capped[0]['error']
    assert facts['runtimes'][0]['version'] == '1.2.0-rc.2'  # the rest of the scan went on
    assert len(_gather(root, max_profiles=0)['profiles']) == 30  # 0: no cap
    assert len(_gather(root)['profiles']) == 30  # the default (2000) is far above this


@pytest.fixture
def reachable():
    """A directory every user can search: a user's files are read only where that user could read them
    (pytest's own directory under /tmp is root's 0700)."""
    path = tempfile.mkdtemp(prefix='rcg-profile-cap-')
    os.chmod(path, 0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_past_a_users_cap_only_that_users_profiles_stop(reachable):
    root = reachable
    errors = []
    profiles = Profiles(Fs('/'), 4096, 'x86_64', '6.1.0', errors, False, max_profiles=100, max_per_user=3)
    alice, bob = {'name': 'alice', 'uid': 4001}, {'name': 'bob', 'uid': 4002}
    for user, count in ((alice, 5), (bob, 2)):
        for index in range(count):
            path = os.path.join(root, '%s-%d.json' % (user['name'], index))
            with open(path, 'w') as handle:
                json.dump(PROFILE, handle)
            profiles.add_file(path, 'podman', 'seccomp_profile', user=user)
    profiles.add_file(os.path.join(root, 'alice-0.json'), 'user', 'profile_paths')  # the host's own: not capped
    out = profiles.finish()
    owners = [p['owner']['name'] for p in out if p.get('owner')]
    assert owners.count('alice') == 3 and owners.count('bob') == 2, out
    assert len(errors) == 1 and errors[0]['path'] == os.path.join(root, 'alice-3.json'), errors
    assert 'of user alice' in errors[0]['error'] and 'max_profiles_per_user' in errors[0]['error']
    assert '(2 not read' in errors[0]['error']


def test_users_profiles_count_towards_the_host_cap(reachable):
    root = reachable
    errors = []
    profiles = Profiles(Fs('/'), 4096, 'x86_64', '6.1.0', errors, False, max_profiles=4, max_per_user=3)
    user = {'name': 'carol', 'uid': 4003}
    for index in range(3):
        path = os.path.join(root, 'c-%d.json' % index)
        with open(path, 'w') as handle:
            json.dump(PROFILE, handle)
        profiles.add_file(path, 'podman', 'seccomp_profile', user=user)
    for index in range(3):
        path = os.path.join(root, 'h-%d.json' % index)
        with open(path, 'w') as handle:
            json.dump(PROFILE, handle)
        profiles.add_file(path, 'user', 'profile_paths')
    out = profiles.finish()
    assert len(out) == 4 and len(errors) == 1 and errors[0]['path'] == os.path.join(root, 'h-1.json'), errors
    assert 'on this host' in errors[0]['error'] and '(2 not read' in errors[0]['error']


def test_the_documented_defaults_are_the_scans():
    import yaml
    from ansible_collections.runcguard.seccomp.plugins.doc_fragments._scan import ModuleDocFragment
    options = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)['options']
    assert options['max_profiles']['default'] == _discovery.MAX_PROFILES == 2000
    assert options['max_profiles_per_user']['default'] == _discovery.MAX_PROFILES_PER_USER == 200
    root = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'roles', 'audit', 'defaults', 'main.yml')
    with open(root) as handle:
        defaults = yaml.safe_load(handle)
    assert (defaults['audit_max_profiles'], defaults['audit_max_profiles_per_user']) == (2000, 200)
