# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every report the collection writes lands where the user ran ansible-playbook: a relative report
directory is taken from that directory, also for the playbooks inside the installed collection
(``ansible-playbook runcguard.seccomp.remediate`` once wrote its report into the collection's own
playbooks/reports/ while printing ``reports/...``)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys

import pytest

import ansible_collections.runcguard.seccomp as collection

COLLECTION = os.path.abspath(collection.__path__[0])
COLLECTIONS_DIR = os.path.dirname(os.path.dirname(os.path.dirname(COLLECTION)))


def playbook(cwd, *argv):
    found = shutil.which('ansible-playbook') or os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    if not os.path.exists(found):
        pytest.skip('ansible-playbook is not installed next to this Python')
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith('ANSIBLE_'))
    env.update(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_DIR, ANSIBLE_NOCOLOR='1', LANG='C.UTF-8',
               PATH=os.path.dirname(found) + os.pathsep + env.get('PATH', ''))
    proc = subprocess.run(['ansible-playbook', '-i', 'localhost,', '-c', 'local'] + list(argv), cwd=str(cwd), env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return proc


def test_remediate_check_writes_its_plan_and_the_audit_report_where_it_was_run(tmp_path):
    """--check: nothing changes on the host; the plan goes to <cwd>/reports (the audit report is not
    written under --check), nothing into the collection."""
    before = os.path.exists(os.path.join(COLLECTION, 'playbooks', 'reports'))
    proc = playbook(tmp_path, 'runcguard.seccomp.remediate', '--check', '-e', 'remediate_min_severity=critical')
    plan = tmp_path / 'reports' / 'runcguard-remediate-plan.json'
    assert plan.is_file() and (tmp_path / 'reports' / 'runcguard-remediate-plan.md').is_file()
    report = json.loads(plan.read_text())
    assert report['kind'] == 'runcguard.seccomp remediation plan' and report['check_mode'] is True
    assert [h['host'] for h in report['hosts']] == ['localhost']
    assert 'Report: %s' % plan in proc.stdout
    assert os.path.exists(os.path.join(COLLECTION, 'playbooks', 'reports')) == before


def test_a_playbook_in_another_directory_writes_reports_beside_the_user(tmp_path):
    """Both report actions, called from a playbook in a sub-directory: <cwd>/<dest>, not <playbook dir>/<dest>."""
    (tmp_path / 'pb').mkdir()
    (tmp_path / 'pb' / 'play.yml').write_text('''
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.set_fact:
        remediate_host_result: {host: localhost, status: clean, message: nothing to do}
    - runcguard.seccomp.remediation_report:
        hosts: [localhost, gone]
        dest: out/remediation
    - runcguard.seccomp.fleet_report:
        hosts: [localhost]
        dest: out/audit
        formats: [json]
''')
    playbook(tmp_path, 'pb/play.yml')
    report = json.loads((tmp_path / 'out' / 'remediation' / 'runcguard-remediate.json').read_text())
    assert report['totals'] == {'clean': 1, 'not_run': 1}
    assert (tmp_path / 'out' / 'audit' / 'runcguard-audit.json').is_file()
    assert not (tmp_path / 'pb' / 'out').exists()
