# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""seccomp_profile run as Ansible runs it (a Python process reading its arguments file) on real files."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import json
import os
import pathlib
import shutil
import stat
import subprocess
import sys

import pytest

from ansible_collections.runcguard.seccomp.plugins.modules import seccomp_profile

HERE = os.path.dirname(__file__)
FIXTURES = os.path.join(HERE, '..', 'module_utils', 'fixtures', 'rewrite')


def run(tmp_path, **args):
    args_file = tmp_path / ('args-%d.json' % len(list(tmp_path.glob('args-*.json'))))
    args_file.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), LANG='C', LC_ALL='C')
    proc = subprocess.run([sys.executable, seccomp_profile.__file__, str(args_file)], capture_output=True,
                          env=env, timeout=60, check=False)
    out = proc.stdout.decode()
    return json.loads(out[out.index('{'):])


@pytest.fixture
def profile(tmp_path):
    def make(name):
        dest = tmp_path / name
        shutil.copy(os.path.join(FIXTURES, name), str(dest))
        os.chmod(str(dest), 0o640)
        return dest
    return make


def test_rewrite_backup_idempotence_and_mode(tmp_path, profile):
    path = profile('nerdctl-bypass4netns.json')
    original = path.read_bytes()
    res = run(tmp_path, path=str(path), backup=True)
    assert res['changed'] and res['removed'] == ['fcntl'] and res['format'] == 'oci'
    assert res['added_rule'] == {'names': ['fcntl'], 'action': 'SCMP_ACT_ALLOW'}
    assert open(res['backup_file'], 'rb').read() == original
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o640
    doc = json.loads(path.read_text())
    assert {'names': ['fcntl'], 'action': 'SCMP_ACT_ALLOW'} in doc['syscalls']
    assert not glob.glob(str(tmp_path / '.*.tmp'))
    again = run(tmp_path, path=str(path), backup=True)
    assert not again['changed'] and 'backup_file' not in again
    assert len(glob.glob(str(path) + '.*~')) == 1


def test_check_mode_and_diff_change_nothing(tmp_path, profile):
    path = profile('docker-agent.json')
    original = path.read_bytes()
    res = run(tmp_path, path=str(path), _ansible_check_mode=True, _ansible_diff=True, backup=True)
    assert res['changed'] and path.read_bytes() == original
    assert res['diff']['before'] == original.decode()
    assert '"fcntl"' in res['diff']['after'] and res['diff']['after_header'].endswith('(after)')
    assert not glob.glob(str(path) + '.*~')


def test_symlink_is_followed_and_kept(tmp_path, profile):
    target = profile('oci-agent.json')
    link = tmp_path / 'link.json'
    link.symlink_to(target.name)
    res = run(tmp_path, path=str(link))
    assert res['changed'] and res['path'] == str(target)
    notified = [r['names'] for r in json.loads(target.read_text())['syscalls'] if r['action'] == 'SCMP_ACT_NOTIFY']
    assert link.is_symlink() and notified == [['mkdir']]


def test_file_attributes_applied(tmp_path, profile):
    path = profile('containers-common-seccomp.json')
    res = run(tmp_path, path=str(path), mode='0600')
    assert res['changed'] and stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    assert not run(tmp_path, path=str(path), mode='0600')['changed']


@pytest.mark.parametrize('content, message', [
    (b'{"defaultAction": ', 'malformed JSON'),
    (b'\x00\x01\x02binary', 'binary'),
    (json.dumps({'ociVersion': '1.0.2', 'process': {}, 'linux': {'seccomp': {
        'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'names': ['fcntl'], 'action': 'SCMP_ACT_NOTIFY'}]}}}).encode(),
     'OCI bundle'),
])
def test_bad_content_fails_and_changes_nothing(tmp_path, content, message):
    path = tmp_path / 'bad.json'
    path.write_bytes(content)
    res = run(tmp_path, path=str(path), backup=True)
    assert res.get('failed') and message in res['msg'] and 'nothing was changed' in res['msg']
    assert path.read_bytes() == content and len(list(tmp_path.iterdir())) == 2  # file + args


def test_too_large_loop_and_missing(tmp_path, profile):
    path = profile('docker-agent.json')
    res = run(tmp_path, path=str(path), max_profile_size=100)
    assert res['failed'] and 'too large' in res['msg']
    loop = tmp_path / 'loop.json'
    loop.symlink_to('loop.json')
    res = run(tmp_path, path=str(loop))
    assert res['failed'] and 'symlink loop' in res['msg']
    res = run(tmp_path, path=str(tmp_path / 'absent.json'))
    assert res['failed'] and 'does not exist' in res['msg']
    res = run(tmp_path, path=str(tmp_path))
    assert res['failed'] and 'is a directory' in res['msg']


def test_unreadable_as_unprivileged_user(open_tmp, run_unprivileged):
    tmp = pathlib.Path(open_tmp)
    readable, locked = tmp / 'readable.json', tmp / 'locked.json'
    for path, mode in ((readable, 0o644), (locked, 0)):
        shutil.copy(os.path.join(FIXTURES, 'oci-agent.json'), str(path))
        os.chmod(str(path), mode)
    res = run_unprivileged('seccomp_profile', {'path': str(readable), '_ansible_check_mode': True})
    assert res['changed'] and not res.get('failed'), res  # the user reaches the directory and the file
    res = run_unprivileged('seccomp_profile', {'path': str(locked)})
    assert res['failed'] and 'permission denied' in res['msg'], res
    assert not res.get('changed')
    os.chmod(str(locked), 0o644)
    assert locked.read_bytes() == readable.read_bytes()
    assert sorted(p.name for p in tmp.iterdir()) == ['args-0.json', 'args-1.json', 'locked.json', 'payload', 'readable.json']


def test_ensure_without_listener_fails_clearly(tmp_path, profile):
    path = profile('containers-common-seccomp.json')
    original = path.read_bytes()
    res = run(tmp_path, path=str(path), notify_ensure=['connect'])
    assert res['failed'] and 'no listenerPath' in res['msg'] and path.read_bytes() == original


def test_ensure_and_listener_options(tmp_path, profile):
    path = profile('oci-agent.json')
    res = run(tmp_path, path=str(path), notify_remove=['fcntl', 'mkdir'], remove_unused_listener=True)
    doc = json.loads(path.read_text())
    assert res['changed'] and res['listener_removed'] and res['notify_after'] == []
    assert 'listenerPath' not in doc and 'listenerMetadata' not in doc
    path = profile('nerdctl-bypass4netns.json')
    res = run(tmp_path, path=str(path), notify_ensure=['connect', 'sendto'])
    assert res['ensured'] == ['sendto'] and res['removed'] == ['fcntl']
    notified = [r['names'] for r in json.loads(path.read_text())['syscalls'] if r['action'] == 'SCMP_ACT_NOTIFY']
    assert notified == [['bind', 'close', 'connect', 'setsockopt', '_exit', 'exit_group', 'getpeername', 'sendto']]


def test_check_mode_does_not_change_attributes(tmp_path, profile):
    path = profile('containers-common-seccomp.json')
    res = run(tmp_path, path=str(path), mode='0600', _ansible_check_mode=True)
    assert res['changed'] and stat.S_IMODE(os.stat(str(path)).st_mode) == 0o640


def start(tmp_path, **args):
    """The module as a background process (args file written first)."""
    args_file = tmp_path / ('args-%d.json' % len(list(tmp_path.glob('args-*.json'))))
    args_file.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), LANG='C', LC_ALL='C')
    return subprocess.Popen([sys.executable, seccomp_profile.__file__, str(args_file)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)


def result_of(proc):
    out, _err = proc.communicate(timeout=60)
    out = out.decode('utf-8')  # strict: every result is valid UTF-8
    return json.loads(out[out.index('{'):])


NOTIFIED = {'defaultAction': 'SCMP_ACT_ERRNO', 'listenerPath': '/run/agent.sock',
            'syscalls': [{'names': ['read'], 'action': 'SCMP_ACT_ALLOW'},
                         {'names': ['connect', 'fcntl', 'sendmsg'], 'action': 'SCMP_ACT_NOTIFY'}]}


def notified(path):
    return [n for r in json.loads(path.read_text())['syscalls'] if r['action'] == 'SCMP_ACT_NOTIFY' for n in r['names']]


def test_concurrent_runs_lose_no_update(tmp_path):
    """Two runs with different notify_remove on one file: both removals are in the result."""
    from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile import lock_file
    path = tmp_path / 'p.json'
    path.write_text(json.dumps(NOTIFIED, indent=2) + '\n')
    held = lock_file(str(path), 0)  # both runs start while a third writer holds the file
    first = start(tmp_path, path=str(path), notify_remove=['fcntl'])
    second = start(tmp_path, path=str(path), notify_remove=['sendmsg'])
    doc = json.loads(path.read_text())  # the third writer changes the file before letting go
    doc['syscalls'][0]['names'].append('write')
    path.write_text(json.dumps(doc, indent=2) + '\n')
    held.release()
    results = [result_of(first), result_of(second)]
    assert all(r['changed'] and not r.get('failed') for r in results), results
    assert notified(path) == ['connect']
    assert 'write' in json.loads(path.read_text())['syscalls'][0]['names']
    assert sorted(os.listdir(str(tmp_path))) == ['args-0.json', 'args-1.json', 'p.json']


def test_a_held_lock_fails_after_lock_timeout_and_changes_nothing(tmp_path):
    from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile import lock_file
    path = tmp_path / 'p.json'
    path.write_text(json.dumps(NOTIFIED))
    original = path.read_bytes()
    held = lock_file(str(path), 0)
    try:
        res = run(tmp_path, path=str(path), lock_timeout=1)
    finally:
        held.release()
    assert res['failed'] and 'has held the lock' in res['msg'] and 'for more than 1s' in res['msg']
    assert path.read_bytes() == original


def test_leftovers_of_a_killed_run_are_removed_with_a_warning(tmp_path, profile):
    path = profile('oci-agent.json')
    (tmp_path / '.oci-agent.json.runcguard-0123456789ab.tmp').write_text('{"partial": ')
    (tmp_path / '.oci-agent.json.runcguard-lock').write_text('4242\n')
    res = run(tmp_path, path=str(path))
    assert res['changed']
    warnings = json.dumps(res['warnings'])  # a list of texts, or of event dicts (ansible-core 2.19)
    assert 'interrupted run (pid 4242)' in warnings and '.oci-agent.json.runcguard-0123456789ab.tmp' in warnings
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith('.')) == []


def test_duplicate_keys_refused_and_file_untouched(tmp_path):
    path = tmp_path / 'dup.json'
    content = (b'{"defaultAction": "SCMP_ACT_ERRNO", "listenerPath": "/run/a.sock",\n'
               b' "syscalls": [{"names": ["fcntl"], "action": "SCMP_ACT_NOTIFY"}],\n'
               b' "syscalls": [{"names": ["connect", "fcntl"], "action": "SCMP_ACT_NOTIFY"}],\n'
               b' "listenerPath": "/run/b.sock"}\n')
    path.write_bytes(content)
    res = run(tmp_path, path=str(path), backup=True)
    assert res['failed'] and 'duplicate JSON keys ($.syscalls, $.listenerPath)' in res['msg']
    assert 'nothing was changed' in res['msg']
    assert path.read_bytes() == content and sorted(p.name for p in tmp_path.iterdir()) == ['args-0.json', 'dup.json']


def test_lone_surrogate_refused_before_writing_and_result_is_utf8(tmp_path):
    path = tmp_path / 'sur.json'
    content = b'{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["fcntl", "x\\ud800"], "action": "SCMP_ACT_NOTIFY"}]}'
    path.write_bytes(content)
    proc = start(tmp_path, path=str(path), backup=True)
    res = result_of(proc)
    assert res['failed'] and 'unpaired UTF-16 surrogate escape (x\\ud800)' in res['msg']
    assert path.read_bytes() == content and not glob.glob(str(path) + '.*~')
