# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet_report action plugin through a real ansible-playbook run on the controller:
unchanged content reports no change, --check writes nothing, a host without a summary is listed,
not dropped. That files are written atomically is proven in test_atomic_writes.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys
from xml.etree import ElementTree

import pytest

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Summaries as the audit role would set them
      ansible.builtin.set_fact:
        audit_host_summary: "{{ facts | runcguard.seccomp.host_summary(host='localhost', findings=findings) }}"
      vars:
        facts: {runtimes: [], profiles: []}
        findings:
          - {id: notify-fcntl-hang, key: 'notify-fcntl-hang|/p.json|/usr/bin/runc', severity: critical,
             title: t, profile: '/p.json', origin: [], syscalls: [fcntl], affected: true,
             runtime: {path: /usr/bin/runc, name: runc, version: 1.2.0-rc.2}, reference: 'https://x',
             message: '=cmd|evil <script>alert(1)</script>', remediation: [pin_runc]}
    - name: Write the report
      runcguard.seccomp.fleet_report:
        hosts: [localhost, ghost]
        dest: "{{ dest }}"
        fail_on: high
      register: report
    - name: Show the result
      ansible.builtin.copy:
        content: "{{ report | to_json }}"
        dest: "{{ out }}"
      check_mode: false
"""


def ansible_playbook():
    found = shutil.which('ansible-playbook') or os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    if not os.path.exists(found):
        pytest.skip('ansible-playbook is not installed next to this Python')
    return found


def run(tmp_path, *extra):
    book = tmp_path / 'play.yml'
    book.write_text(PLAYBOOK)
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='0', LANG='C.UTF-8',
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    proc = subprocess.run([ansible_playbook(), '-i', 'localhost,', '-c', 'local', str(book),
                           '-e', 'dest=%s' % (tmp_path / 'reports'),
                           '-e', 'out=%s' % (tmp_path / 'result.json')] + list(extra),
                          capture_output=True, text=True, timeout=300, check=False, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    with open(str(tmp_path / 'result.json')) as handle:
        return json.load(handle)


def test_writes_all_formats_then_reports_no_change(tmp_path):
    first = run(tmp_path)
    reports = tmp_path / 'reports'
    names = sorted(os.listdir(str(reports)))
    assert names == sorted('runcguard-audit.%s' % ext for ext in ('json', 'md', 'html', 'junit.xml', 'csv'))
    assert first['changed'] is True
    assert first['verdict']['failed'] is True  # a critical finding with fail_on=high
    data = json.loads((reports / 'runcguard-audit.json').read_text())
    by_host = dict((h['host'], h) for h in data['hosts'])
    assert by_host['ghost']['status'] == 'missing'  # listed, not dropped
    ElementTree.fromstring((reports / 'runcguard-audit.junit.xml').read_bytes())
    assert '<script>alert(1)' not in (reports / 'runcguard-audit.html').read_text()  # host text is escaped
    assert "'=cmd" in (reports / 'runcguard-audit.csv').read_text()  # no formula injection
    before = dict((n, (reports / n).read_bytes()) for n in names)

    second = run(tmp_path)
    assert second['changed'] is False
    assert dict((n, (reports / n).read_bytes()) for n in names) == before


def test_check_mode_writes_nothing(tmp_path):
    result = run(tmp_path, '--check')
    assert result['changed'] is True  # would write
    assert not os.path.exists(str(tmp_path / 'reports' / 'runcguard-audit.json'))
