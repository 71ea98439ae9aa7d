# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""remediation_report action: the report of every host, written where ansible-playbook runs, with
hostile host text escaped; no module is ever executed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
from unittest import mock

import pytest

from ansible.errors import AnsibleActionFail
from ansible.playbook.play_context import PlayContext

from ansible_collections.runcguard.seccomp.plugins.action.remediation_report import ActionModule
from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _remediation_report, _report_files

RESULT = {
    'host': 'node1', 'status': 'fixed', 'message': 'fcntl taken out of NOTIFY', 'check_mode': False,
    'plan': {'actions': [{'id': 'notify-fcntl-hang', 'severity': 'critical', 'profile': '/etc/docker/a.json',
                          'runtime': {'path': '/usr/sbin/runc', 'version': '1.2.0-rc.2'}, 'strategy': 'rewrite_profile'}],
             'manual': [{'id': 'notify-listener-absent', 'severity': 'medium', 'profile': '/etc/b.json',
                         'why': 'start the agent'}]},
    'changes': {'profiles': [{'path': '/etc/docker/a.json', 'notify_removed': ['fcntl'], 'backup': '/etc/docker/a.json.1~'}],
                'runc': None},
    'before': [{'id': 'notify-fcntl-hang'}, {'id': 'notify-listener-absent'}],
    'after': [{'id': 'notify-listener-absent'}, {'id': 'notify-runtime-sensitive', 'waived': True}],
}


def action(args, check_mode=False):
    task = mock.MagicMock()
    task.args = args
    task.check_mode = check_mode
    task.async_val = 0
    module = ActionModule(task, mock.MagicMock(), PlayContext(), loader=None, templar=None, shared_loader_obj=None)
    module._execute_module = mock.Mock(side_effect=AssertionError('no module runs for a report'))
    return module


def test_report_of_every_host_written_relative_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    evil = dict(RESULT, host='node2', status='failed', message='boom\x1b[2J | `x` <b>')
    hostvars = {'node1': {'remediate_host_result': RESULT}, 'node2': {'remediate_host_result': evil}, 'node3': {}}
    result = action({'hosts': ['node1', 'node2', 'node3'], 'dest': 'reports', 'min_severity': 'high'}).run(
        task_vars={'hostvars': hostvars, 'inventory_hostname': 'node1'})
    assert result['changed'] is False
    assert result['files'] == {'json': str(tmp_path / 'reports' / 'runcguard-remediate.json'),
                               'md': str(tmp_path / 'reports' / 'runcguard-remediate.md')}
    report = json.loads((tmp_path / 'reports' / 'runcguard-remediate.json').read_text())
    assert report['kind'] == 'runcguard.seccomp remediation change report' and report['min_severity'] == 'high'
    assert report['totals'] == {'fixed': 1, 'failed': 1, 'not_run': 1}
    assert [h['status'] for h in report['hosts']] == ['fixed', 'failed', 'not_run']
    text = (tmp_path / 'reports' / 'runcguard-remediate.md').read_text()
    assert '\x1b' not in text and '<b>' not in text and '\\x1b' in text
    assert 'boom\\\\x1b\\[2J \\| \\`x\\` &lt;b&gt;' in text  # shown escaped, never interpreted
    assert ('| `notify-fcntl-hang` | critical | /etc/docker/a.json | /usr/sbin/runc 1.2.0-rc.2 | rewrite\\_profile |'
            in text)
    assert '- profile /etc/docker/a.json: fcntl taken out of NOTIFY, backup /etc/docker/a.json.1\\~' in text
    # waived findings are not counted as left
    assert 'Findings after: notify-listener-absent\n' in text
    assert '## node3: not\\_run\n\nnot reached: later batch' in text
    assert result['lines'][0] == 'Remediation result so far: failed=1, fixed=1, not_run=1'
    assert result['lines'][-1].startswith('Report: %s' % (tmp_path / 'reports'))
    assert oct(os.stat(result['files']['json']).st_mode & 0o777) == '0o644'


def test_check_mode_writes_the_plan_beside_the_change_report(tmp_path):
    (tmp_path / 'runcguard-remediate.json').write_text('{"kept": true}')
    result = action({'hosts': ['node1'], 'dest': str(tmp_path), 'formats': ['json']}, check_mode=True).run(
        task_vars={'hostvars': {'node1': {'remediate_host_result': RESULT}}})
    assert result['files'] == {'json': str(tmp_path / 'runcguard-remediate-plan.json')}
    assert json.loads((tmp_path / 'runcguard-remediate-plan.json').read_text())['kind'].endswith('plan')
    assert (tmp_path / 'runcguard-remediate.json').read_text() == '{"kept": true}'


def test_bad_mode_is_refused(tmp_path):
    with pytest.raises(AnsibleActionFail, match='mode must be octal'):
        action({'hosts': [], 'dest': str(tmp_path), 'mode': 'rw'}).run(task_vars={})


def test_report_dir_is_the_working_directory_for_relative_paths(tmp_path):
    assert _report_files.report_dir('reports', cwd='/home/me') == '/home/me/reports'
    assert _report_files.report_dir('/srv/r', cwd='/home/me') == '/srv/r'
    assert _report_files.report_dir('../r', cwd='/home/me/x') == '/home/me/r'


def test_json_keeps_the_role_report_layout():
    report = _remediation_report.build({}, ['a'], generated_at='2026-01-01T00:00:00Z')
    text = _remediation_report.render_json(report)
    assert list(json.loads(text)) == ['schema', 'kind', 'generated_at', 'check_mode', 'min_severity', 'policy',
                                      'select', 'totals', 'hosts']
    assert text.startswith('{\n    "schema": 1,\n') and text.endswith('}\n')
