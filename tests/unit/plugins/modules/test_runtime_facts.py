# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""runtime_facts end to end: the module file runs as Ansible runs it (args file, JSON out),
on this host, against real stub binaries and profile files."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

import ansible
from ansible_collections.runcguard.seccomp.plugins.modules import runtime_facts

MODULE = runtime_facts.__file__
COLLECTIONS_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(MODULE))))))  # .../ansible_collections/runcguard/seccomp/plugins/modules
RC2 = 'runc version 1.2.0-rc.2\ncommit: v1.2.0-rc.2-0-gf2d2ee5e4\nspec: 1.2.0\ngo: go1.21.13\nlibseccomp: 2.5.4\n'


def run_module(tmp_path, args):
    args_file = tmp_path / 'args.json'
    args_file.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.dirname(COLLECTIONS_DIR), os.path.dirname(os.path.dirname(ansible.__file__))]))
    proc = subprocess.run([sys.executable, MODULE, str(args_file)], check=False, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env, timeout=120)
    assert 'Traceback' not in proc.stdout.decode() + proc.stderr.decode()
    return json.loads(proc.stdout.decode())


def test_module_reports_stub_runtime_and_bad_profiles(tmp_path):
    runc = tmp_path / 'runc'
    runc.write_text("#!/bin/sh\ncat <<'EOF'\n%sEOF\n" % RC2)
    runc.chmod(0o755)
    hang = tmp_path / 'hang'
    hang.write_text('#!/bin/sh\nexec sleep 600\n')
    hang.chmod(0o755)
    good = tmp_path / 'profiles' / 'notify.json'
    good.parent.mkdir()
    good.write_text(json.dumps({'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/nonexistent/agent.sock',
                                'syscalls': [{'names': ['fcntl'], 'action': 'SCMP_ACT_NOTIFY'}]}))
    (tmp_path / 'profiles' / 'broken.json').write_text('{"syscalls": [')
    result = run_module(tmp_path, {
        'discover': False, 'command_timeout': 1, '_ansible_check_mode': True,
        'runtime_paths': [str(runc), str(hang)], 'profile_paths': [str(tmp_path / 'profiles')]})
    assert result.get('failed') is not True, result
    assert result['changed'] is False
    facts = result['ansible_facts']['runcguard']
    rts = dict((r['path'], r) for r in facts['runtimes'])
    assert rts[str(runc)]['version'] == '1.2.0-rc.2'
    assert rts[str(hang)]['error'] == 'timed out after 1s'
    profs = dict((p['path'], p) for p in facts['profiles'])
    assert profs[str(good)]['notify_syscalls'] == ['fcntl']
    assert profs[str(good)]['listener_exists'] is False
    assert 'JSON' in profs[str(tmp_path / 'profiles' / 'broken.json')]['error']
    assert len(facts['scan']['errors']) == 2


def test_module_rejects_bad_options(tmp_path):
    result = run_module(tmp_path, {'command_timeout': 0})
    assert result['failed'] and 'command_timeout' in result['msg']
    result = run_module(tmp_path, {'discover': False, 'profile_paths': [{'path': '/x', 'reader': 'dockerd'}]})
    assert result['failed'] and result['msg'].startswith('profile_paths[0]: reader must be one of docker')


def test_module_profile_paths_with_reader(tmp_path):
    docker_keys = {'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/run/agent.sock',
                   'syscalls': [{'name': 'fcntl', 'action': 'SCMP_ACT_NOTIFY'}]}
    for name in ('plain.json', 'docker.json', 'containerd.json'):
        (tmp_path / name).write_text(json.dumps(docker_keys))
    result = run_module(tmp_path, {'discover': False, 'profile_paths': [
        str(tmp_path / 'plain.json'), {'path': str(tmp_path / 'docker.json'), 'reader': 'docker'},
        {'path': str(tmp_path / 'containerd.json'), 'reader': 'containerd'}]})
    assert result.get('failed') is not True, result
    profs = dict((os.path.basename(p['path']), p) for p in result['ansible_facts']['runcguard']['profiles'])
    assert profs['plain.json']['notify_syscalls'] == ['fcntl']
    assert profs['docker.json']['origin'] == [{'engine': 'user', 'setting': 'profile_paths', 'reader': 'docker'}]
    assert profs['docker.json']['notify_syscalls'] == ['fcntl']
    assert profs['containerd.json']['notify_syscalls'] == []


def test_module_discovers_this_host(tmp_path):
    """Discovery on the real machine: whatever it finds, the module returns facts, never fails."""
    result = run_module(tmp_path, {})
    assert result.get('failed') is not True, result
    facts = result['ansible_facts']['runcguard']
    assert facts['kernel'] == os.uname().release
    if os.path.exists('/usr/sbin/runc'):
        runc = [r for r in facts['runtimes'] if r['realpath'] == os.path.realpath('/usr/sbin/runc')]
        assert len(runc) == 1 and runc[0]['version']
    if not facts['runtimes']:
        pytest.skip('no runtime installed on this host')


def test_module_root_option(tmp_path):
    """root=: the node's tree read, its trap runc never run, node paths reported; bad roots fail clearly."""
    root = tmp_path / 'node'
    marker = tmp_path / 'TRAP-RAN'
    (root / 'usr' / 'bin').mkdir(parents=True)
    trap = root / 'usr' / 'bin' / 'runc'
    trap.write_text('#!/bin/sh\ntouch %s\n' % marker)
    trap.chmod(0o755)
    result = run_module(tmp_path, {'root': str(root)})
    assert result.get('failed') is not True, result
    facts = result['ansible_facts']['runcguard']
    assert [r['path'] for r in facts['runtimes']] == ['/usr/bin/runc']
    assert 'version not readable without running the binary' in facts['runtimes'][0]['error']
    assert facts['scan']['executed'] is False and not marker.exists()
    result = run_module(tmp_path, {'root': str(trap)})
    assert result['failed'] and result['msg'] == 'runtime_facts: root %s is not a directory' % trap
    result = run_module(tmp_path, {'root': str(root), 'execute': True})
    assert result['failed'] and 'execute must be false' in result['msg']
    result = run_module(tmp_path, {'discover': False, 'execute': False, 'runtime_paths': [str(trap)]})
    assert result['ansible_facts']['runcguard']['scan']['executed'] is False and not marker.exists()
