# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The README's first command, exactly: ``ansible-playbook runcguard.seccomp.audit`` with no
inventory (the implicit localhost) audits this machine and reports it ``ok``, not ``missing``;
and the same command with ``audit_profile_paths`` items that name their reader, against a real
runc 1.2.0-rc.2."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys

import pytest

import ansible_collections.runcguard.seccomp as collection
import realruntimes

COLLECTIONS_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(collection.__path__[0]))))


def audit(cwd, *extra):
    """``ansible-playbook runcguard.seccomp.audit [extra]`` in ``cwd``: (process, JSON report)."""
    found = shutil.which('ansible-playbook') or os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    if not os.path.exists(found):
        pytest.skip('ansible-playbook is not installed next to this Python')
    if os.path.exists('/etc/ansible/hosts'):
        pytest.skip('/etc/ansible/hosts exists: ansible-playbook would not run without an inventory')
    # No inventory, no ansible.cfg (cwd is empty), no ANSIBLE_* settings but where the collection is.
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith('ANSIBLE_'))
    env.update(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_DIR, ANSIBLE_NOCOLOR='1', LANG='C.UTF-8',
               PATH=os.path.dirname(found) + os.pathsep + env.get('PATH', ''))
    proc = subprocess.run(['ansible-playbook', 'runcguard.seccomp.audit'] + list(extra), cwd=str(cwd), env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    with open(str(cwd / 'reports' / 'runcguard-audit.json')) as handle:
        report = json.load(handle)
    assert [h['host'] for h in report['hosts']] == ['localhost']
    return proc, report['hosts'][0]


def test_bare_playbook_audits_localhost(tmp_path):
    proc, host = audit(tmp_path)
    assert host['status'] == 'ok', host
    # it really looked at this machine: every runc/crun on the standard paths is in the report
    paths = set(os.path.realpath(r['path']) for r in host['runtimes'])
    for binary in ('/usr/sbin/runc', '/usr/bin/runc', '/usr/bin/crun'):
        if os.access(binary, os.X_OK):
            assert os.path.realpath(binary) in paths, (binary, host['runtimes'])
    assert 'missing' not in proc.stdout


# fcntl under NOTIFY only through Docker's singular `name` key: dockerd applies it, containerd does not.
DOCKER_KEYS_PROFILE = {'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/run/b4n-agent.sock',
                       'syscalls': [{'name': 'fcntl', 'action': 'SCMP_ACT_NOTIFY'},
                                    {'names': ['connect'], 'action': 'SCMP_ACT_NOTIFY'}]}


def test_profile_paths_name_their_reader(tmp_path):
    rc2 = realruntimes.unpacked(realruntimes.RUNC_BUILDS)['runc-v1.2.0-rc.2']
    paths = {}
    for name in ('unknown', 'docker', 'containerd'):
        paths[name] = tmp_path / ('%s.json' % name)
        paths[name].write_text(json.dumps(DOCKER_KEYS_PROFILE))
    extra = {'audit_discover': False, 'audit_runtime_paths': [rc2], 'audit_profile_paths': [
        str(paths['unknown']), {'path': str(paths['docker']), 'reader': 'docker'},
        {'path': str(paths['containerd']), 'reader': 'containerd'}]}
    _proc, host = audit(tmp_path, '-e', json.dumps(extra))
    hangs = dict((os.path.basename(f['profile']), f) for f in host['findings'] if f['id'] == 'notify-fcntl-hang')
    # reader unknown: every reader's set, so dockerd's reading of `name` counts; containerd ignores it
    assert sorted(hangs) == ['docker.json', 'unknown.json'], host['findings']
    assert all(f['severity'] == 'critical' and f['runtime']['version'] == '1.2.0-rc.2' for f in hangs.values())
    assert {'engine': 'user', 'setting': 'profile_paths', 'reader': 'docker'} in hangs['docker.json']['origin']


def test_readme_audit_command_prints_no_warning():
    """The README's first command, ``bash scripts/audit.sh``, exactly as a newcomer pastes it: it
    ends well and prints no warning (Ansible's ``[WARNING]``, a Python deprecation warning) that a
    user would read as trouble but could not act on."""
    root = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
    env = dict((k, v) for k, v in os.environ.items()
               if not k.startswith(('ANSIBLE_', 'PYTHONWARNINGS', 'RCG_')))
    proc = subprocess.run(['bash', 'scripts/audit.sh'], cwd=root, env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    assert 'PLAY RECAP' in proc.stdout
    noise = [line for line in output.splitlines() if 'WARNING' in line or 'Warning:' in line]
    assert noise == [], noise
