# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Root must not be steerable by a user (red team, #26 / #25 item 3): the rootless ``users`` scan reads
a file for a user only when that user could read it themselves, and never opens anything but a
regular file. Real users ``rcg-fixread-*``, root-only files in a 0700 directory of root's, a real
``ansible`` run of runtime_facts as root.

- a 0644 profile in a root-only 0700 directory, linked as ``~/seccomp.json`` or named by the user's
  containers.conf (``seccomp_profile``): an error entry that reveals nothing (no listener path, NOTIFY
  list, sha256, size, realpath); a missing file there reads the same (its existence is not told);
- a root-only FIFO linked the same way is never opened: a root writer blocked on it stays blocked;
- a world-readable /etc file linked by the user is still read (no over-blocking).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import pwd
import shutil
import signal
import subprocess
import time

import pytest

import adhoc

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='needs root: creates users, runs the module as root')

TOKEN = 'SECRET-TOKEN-rcgfixread'
PROFILE = {'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/run/%s.sock' % TOKEN,
           'syscalls': [{'names': ['fcntl', 'openat'], 'action': 'SCMP_ACT_NOTIFY'}]}
PUBLIC = {'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/run/rcg-fixread-public.sock',
          'syscalls': [{'names': ['fcntl'], 'action': 'SCMP_ACT_NOTIFY'}]}


def _user(name):
    subprocess.check_call(['useradd', '--create-home', '--home-dir', '/home/%s' % name, '--shell',
                           '/usr/sbin/nologin', '--user-group', name])
    return pwd.getpwnam(name)


def _as_user(entry, path, data=None, link=None):
    """A file (or a symlink to ``link``) in the user's home, owned by the user."""
    parent = entry.pw_dir
    for part in os.path.dirname(os.path.relpath(path, entry.pw_dir)).split('/'):
        if part:
            parent = os.path.join(parent, part)
            if not os.path.isdir(parent):
                os.mkdir(parent, 0o755)
                os.chown(parent, entry.pw_uid, entry.pw_gid)
    if link is not None:
        os.symlink(link, path)
    else:
        with open(path, 'w') as handle:
            handle.write(data)
    os.lchown(path, entry.pw_uid, entry.pw_gid)


@pytest.fixture(scope='module')
def red():
    """Users linking to / naming root-only files, a FIFO with a blocked root writer, a public /etc file."""
    if not shutil.which('useradd'):
        pytest.skip('needs useradd')
    tag = 'rcg-fixread-%d' % os.getpid()
    secret_dir = '/root/%s' % tag
    public = '/etc/%s.json' % tag
    names = {k: '%s%s' % ('rcg-fixread-%s' % k, os.getpid() % 10000) for k in ('link', 'conf', 'fifo', 'etc')}
    made, writer = [], None
    try:
        os.mkdir(secret_dir, 0o700)
        for name in ('p.json', 'named.json'):
            with open(os.path.join(secret_dir, name), 'w') as handle:
                json.dump(PROFILE, handle)
            os.chmod(os.path.join(secret_dir, name), 0o644)
        fifo = os.path.join(secret_dir, 'fifo')
        os.mkfifo(fifo, 0o644)
        with open(public, 'w') as handle:
            json.dump(PUBLIC, handle)
        os.chmod(public, 0o644)
        users = {}
        for key, name in names.items():
            users[key] = _user(name)
            made.append(name)
        home = {k: u.pw_dir for k, u in users.items()}
        _as_user(users['link'], home['link'] + '/seccomp.json', link=secret_dir + '/p.json')
        _as_user(users['conf'], home['conf'] + '/.config/containers/containers.conf',
                 '[containers]\nseccomp_profile = "%s/named.json"\n\n[engine]\nruntime = "%s/bin/runc"\n'
                 % (secret_dir, secret_dir))
        _as_user(users['conf'], home['conf'] + '/seccomp.json', link=secret_dir + '/missing.json')
        _as_user(users['fifo'], home['fifo'] + '/seccomp.json', link=fifo)
        _as_user(users['etc'], home['etc'] + '/seccomp.json', link=public)
        # a root writer: blocked in open(2) until someone opens the FIFO for reading
        writer = subprocess.Popen(['/bin/sh', '-c', 'echo rcg-fixread-message > %s' % fifo],
                                  start_new_session=True)
        time.sleep(0.3)
        assert writer.poll() is None, 'the writer did not block'
        yield {'names': names, 'home': home, 'secret_dir': secret_dir, 'public': public, 'writer': writer,
               'fifo': fifo}
    finally:
        if writer is not None and writer.poll() is None:
            os.killpg(writer.pid, signal.SIGKILL)
            writer.wait(timeout=10)
        for name in made:
            subprocess.call(['userdel', '--remove', name], stderr=subprocess.DEVNULL)
            shutil.rmtree('/home/%s' % name, ignore_errors=True)
        shutil.rmtree(secret_dir, ignore_errors=True)
        if os.path.exists(public):
            os.unlink(public)


@pytest.fixture(scope='module')
def facts(red):
    args = {'profile_paths': [], 'runtime_paths': [], 'discover': True, 'users': sorted(red['names'].values())}
    text, res = adhoc.result(adhoc.start('runcguard.seccomp.runtime_facts', args))
    assert 'ansible_facts' in res, res
    return {'text': text, 'facts': res['ansible_facts']['runcguard']}


def _profile(facts, path):
    found = [p for p in facts['facts']['profiles'] if p['path'] == path]
    assert found, [p['path'] for p in facts['facts']['profiles']]
    return found[0]


def _reveals_nothing(entry, name):
    assert entry['error'] and entry['error'].startswith('not read: it leads to a file that user %s does not own'
                                                        % name), entry
    for key in ('realpath', 'sha256', 'size', 'format', 'default_action', 'listener_path'):
        assert entry[key] is None, (key, entry)
    assert entry['notify_syscalls'] == [] and entry['notify'] == [], entry


def test_a_link_into_a_root_only_directory_is_refused_and_reveals_nothing(red, facts):
    _reveals_nothing(_profile(facts, red['home']['link'] + '/seccomp.json'), red['names']['link'])
    assert TOKEN not in facts['text'] and 'openat' not in json.dumps(facts['facts']['profiles'])
    # the link's target is never shown (the only mentions: the paths the other user wrote in containers.conf)
    rest = facts['text'].replace(red['secret_dir'] + '/named.json', '').replace(red['secret_dir'] + '/bin/runc', '')
    assert red['secret_dir'] not in rest


def test_a_root_only_file_named_in_containers_conf_is_refused_and_reveals_nothing(red, facts):
    name = red['names']['conf']
    _reveals_nothing(_profile(facts, red['secret_dir'] + '/named.json'), name)
    assert TOKEN not in facts['text']
    # a missing file behind the same wall reads the same: whether it exists is not told
    _reveals_nothing(_profile(facts, red['home']['conf'] + '/seccomp.json'), name)
    runtime = [r for r in facts['facts']['runtimes'] if r['path'] == red['secret_dir'] + '/bin/runc']
    assert runtime and runtime[0]['realpath'] is None and 'does not own' in runtime[0]['error'], runtime


def test_a_root_only_fifo_linked_by_a_user_is_never_opened(red, facts):
    time.sleep(0.5)
    assert red['writer'].poll() is None, 'the scan opened the FIFO: its root writer was released'
    _reveals_nothing(_profile(facts, red['home']['fifo'] + '/seccomp.json'), red['names']['fifo'])
    assert 'rcg-fixread-message' not in facts['text']


def test_a_world_readable_etc_file_linked_by_a_user_is_still_read(red, facts):
    entry = _profile(facts, red['home']['etc'] + '/seccomp.json')
    assert entry['error'] is None, entry
    assert entry['realpath'] == red['public'] and entry['sha256'] and entry['size'] == os.path.getsize(red['public'])
    assert entry['listener_path'] == '/run/rcg-fixread-public.sock' and entry['notify_syscalls'] == ['fcntl']
    assert (entry['owner'] or {}).get('name') == red['names']['etc']
