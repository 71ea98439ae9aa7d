# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A user's symlink to a root-only program (red team finding): root never runs it, and nothing of the
target (its output, its path) reaches the facts, neither from runtime_paths nor from the rootless
``users`` scan of the user's ~/bin. A real user ``rcg-fixlink-*``, real ``ansible`` runs as root."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pwd
import shutil
import subprocess

import pytest

import adhoc

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='needs root: creates a user, runs the module as root')


@pytest.fixture
def eve():
    """A real user with a home, and a root-only trap program in a 0700 directory of root's."""
    if not shutil.which('useradd'):
        pytest.skip('needs useradd')
    name = 'rcg-fixlink-%d' % os.getpid()
    home = '/home/%s' % name
    secret_dir = '/root/%s' % name
    subprocess.check_call(['useradd', '--create-home', '--home-dir', home, '--shell', '/usr/sbin/nologin',
                           '--user-group', name])
    try:
        os.mkdir(secret_dir, 0o700)
        marker = os.path.join(secret_dir, 'marker')
        trap = os.path.join(secret_dir, 'tool')
        with open(trap, 'w') as handle:
            handle.write('#!/bin/sh\necho "runc version 1.2.0 SECRET=rcgfixlinkx"\necho ran >> %s\n' % marker)
        os.chmod(trap, 0o700)
        user = pwd.getpwnam(name)
        bindir = os.path.join(home, 'bin')
        os.mkdir(bindir, 0o755)
        os.chown(bindir, user.pw_uid, user.pw_gid)
        link = os.path.join(bindir, 'runc')
        os.symlink(trap, link)
        os.lchown(link, user.pw_uid, user.pw_gid)
        yield {'name': name, 'link': link, 'trap': trap, 'marker': marker, 'secret_dir': secret_dir}
    finally:
        shutil.rmtree(secret_dir, ignore_errors=True)
        subprocess.call(['userdel', '--remove', name], stderr=subprocess.DEVNULL)
        shutil.rmtree(home, ignore_errors=True)


@pytest.mark.parametrize('named, users', [(True, 'none'), (True, 'list'), (False, 'list')])
def test_a_users_link_to_a_root_only_program_is_never_run_and_reveals_nothing(eve, named, users):
    """Named in runtime_paths, and/or found by the rootless scan of the user's ~/bin (discovery on)."""
    args = {'runtime_paths': [eve['link']] if named else [], 'profile_paths': [], 'discover': not named,
            'users': [eve['name']] if users == 'list' else 'none'}
    text, res = adhoc.result(adhoc.start('runcguard.seccomp.runtime_facts', args))
    assert not os.path.exists(eve['marker']), 'the trap ran as root'
    for leak in ('rcgfixlinkx', 'SECRET', eve['trap'], eve['secret_dir']):
        assert leak not in text, leak
    entries = [r for r in res['ansible_facts']['runcguard']['runtimes'] if eve['link'] in r['paths']]
    assert entries, res['ansible_facts']['runcguard']['runtimes']
    for entry in entries:
        assert entry['realpath'] is None and entry['version'] is None and entry['raw'] is None, entry
        assert entry['error'] and eve['name'] in entry['error'], entry
