# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The README's first command, exactly: ``ansible-playbook runcguard.seccomp.audit`` with no
inventory (the implicit localhost) audits this machine and reports it ``ok``, not ``missing``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys

import pytest

import ansible_collections.runcguard.seccomp as collection

COLLECTIONS_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(collection.__path__[0]))))


def test_bare_playbook_audits_localhost(tmp_path):
    found = shutil.which('ansible-playbook') or os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    if not os.path.exists(found):
        pytest.skip('ansible-playbook is not installed next to this Python')
    if os.path.exists('/etc/ansible/hosts'):
        pytest.skip('/etc/ansible/hosts exists: ansible-playbook would not run without an inventory')
    # No inventory, no ansible.cfg (cwd is empty), no ANSIBLE_* settings but where the collection is.
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith('ANSIBLE_'))
    env.update(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_DIR, ANSIBLE_NOCOLOR='1', LANG='C.UTF-8',
               PATH=os.path.dirname(found) + os.pathsep + env.get('PATH', ''))
    proc = subprocess.run(['ansible-playbook', 'runcguard.seccomp.audit'], cwd=str(tmp_path), env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    with open(str(tmp_path / 'reports' / 'runcguard-audit.json')) as handle:
        report = json.load(handle)
    assert [h['host'] for h in report['hosts']] == ['localhost']
    host = report['hosts'][0]
    assert host['status'] == 'ok', host
    # it really looked at this machine: every runc/crun on the standard paths is in the report
    paths = set(os.path.realpath(r['path']) for r in host['runtimes'])
    for binary in ('/usr/sbin/runc', '/usr/bin/runc', '/usr/bin/crun'):
        if os.access(binary, os.X_OK):
            assert os.path.realpath(binary) in paths, (binary, host['runtimes'])
    assert 'missing' not in proc.stdout
