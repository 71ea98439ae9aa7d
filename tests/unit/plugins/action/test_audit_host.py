# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""audit_host action with a mocked ``_execute_module``: what it sends to the host, and what it makes
of each answer (facts, failure, unreachable, a probe), without a host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from unittest import mock

import pytest

from ansible.errors import AnsibleActionFail
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.template import Templar

try:  # ansible-core >= 2.19 templates only strings trusted as templates (as variables from YAML are)
    from ansible.template import trust_as_template
except ImportError:  # 2.16: every string is a template
    def trust_as_template(value):
        return value

from ansible_collections.runcguard.seccomp.plugins.action.audit_host import ARGUMENT_SPEC, SCAN_MARGIN, SCAN_OPTIONS, ActionModule

FACTS = {
    'schema': 1, 'arch': 'x86_64', 'kernel': '6.1.0', 'libseccomp': '2.5.4',
    'runtimes': [{'name': 'runc', 'path': '/usr/sbin/runc', 'paths': ['/usr/sbin/runc'], 'realpath': '/usr/sbin/runc',
                  'version': '1.2.0-rc.2', 'dev': False, 'commit': 'v1.2.0-rc.2-0-gf2d2ee5e4', 'libseccomp': '2.5.4',
                  'package': None, 'used_by': ['docker'], 'error': None}],
    'profiles': [{'path': '/etc/docker/agent.json', 'realpath': '/etc/docker/agent.json', 'format': 'oci',
                  'origin': [{'engine': 'docker', 'setting': 'daemon.json seccomp-profile'}],
                  'default_action': 'SCMP_ACT_ALLOW', 'listener_path': '/run/agent.sock', 'listener_exists': True,
                  'notify_syscalls': ['fcntl'], 'bundle': None, 'error': None}],
    'engines': {}, 'scan': {'errors': []},
}


def action(args, answers, check_mode=False, templar=None):
    """The action with ``_execute_module`` answering from ``answers`` (module name -> result or exception)."""
    task = mock.MagicMock()
    task.args = args
    task.check_mode = check_mode
    task.async_val = 0
    task.diff = False
    connection = mock.MagicMock()
    connection._shell.tmpdir = None
    module = ActionModule(task, connection, PlayContext(), loader=None, templar=templar, shared_loader_obj=None)
    calls = []

    def execute(module_name, module_args=None, task_vars=None, **kwargs):
        calls.append((module_name, dict(module_args or {})))
        answer = answers[module_name]
        if isinstance(answer, Exception):
            raise answer
        return answer
    module._execute_module = execute
    return module, calls


def run(args, answers, task_vars=None):
    module, calls = action(args, answers)
    return module.run(task_vars=dict({'inventory_hostname': 'node1'}, **(task_vars or {}))), calls


def test_gathers_then_evaluates_on_the_controller():
    result, calls = run({}, {'runcguard.seccomp.runtime_facts': {'ansible_facts': {'runcguard': FACTS}}})
    assert [name for name, _args in calls] == ['runcguard.seccomp.runtime_facts']
    scan = calls[0][1]
    # the module stops starting commands SCAN_MARGIN seconds before the task gives up on it
    assert scan['scan_timeout'] == ARGUMENT_SPEC['timeout']['default'] - SCAN_MARGIN
    assert {'profile_paths', 'runtime_paths', 'discover', 'command_timeout', 'max_profile_size'} <= set(scan)
    assert set(scan) <= set(SCAN_OPTIONS) | {'scan_timeout'}  # options left unset are not sent
    assert result['status'] == 'ok' and result['changed'] is False
    assert [f['id'] for f in result['findings']] == ['notify-fcntl-hang', 'runc-advisory']  # rc.2 has open advisories
    assert result['ansible_facts'] == {'runcguard': FACTS}


def test_cached_facts_contact_no_module():
    result, calls = run({'facts_source': 'cached'}, {}, {'ansible_facts': {'runcguard': FACTS}})
    assert calls == [] and result['status'] == 'ok' and 'ansible_facts' not in result


def test_unreachable_and_failed_hosts_are_summaries():
    result, _calls = run({}, {'runcguard.seccomp.runtime_facts': {'unreachable': True, 'msg': 'ssh: timed out'}})
    assert result['unreachable'] is True and result['status'] == 'unreachable' and result['message'] == 'ssh: timed out'
    result, _calls = run({}, {'runcguard.seccomp.runtime_facts': {'failed': True, 'msg': 'boom'}})
    assert result['status'] == 'failed' and result['message'] == 'boom'
    assert result['warnings'] == ['node1: not audited: boom']


def test_wrong_shape_facts_are_not_audited():
    bad = dict(FACTS, runtimes='runc')
    result, _calls = run({}, {'runcguard.seccomp.runtime_facts': {'ansible_facts': {'runcguard': bad}}})
    assert result['status'] == 'failed' and 'facts.runtimes must be a list' in result['message']


def test_probe_observation_becomes_a_finding_and_is_bounded():
    observed = {'results': [{'runtime': '/usr/sbin/runc', 'name': 'runc', 'version': '1.2.0-rc.2', 'syscall': 'fcntl',
                             'syscalls': ['fcntl'], 'no_new_privileges': True, 'outcome': 'hang', 'message': 'hung'}]}
    result, calls = run({'probe': True, 'timeout': 30},
                        {'runcguard.seccomp.runtime_facts': {'ansible_facts': {'runcguard': FACTS}},
                         'runcguard.seccomp.notify_probe': observed})
    probe_args = calls[1][1]
    assert calls[1][0] == 'runcguard.seccomp.notify_probe'
    assert probe_args['runtime'] == ['/usr/sbin/runc'] and probe_args['total_timeout'] < 30
    assert 'notify-probe-hang' in [f['id'] for f in result['findings']]
    assert result['probe'][0]['outcome'] == 'hang'


def test_bad_waivers_fail_before_the_host_is_contacted():
    module, calls = action({'waivers': [{'id': 'no-such-hazard', 'reason': 'x', 'expires': '2099-01-01'}]}, {})
    with pytest.raises(AnsibleActionFail, match='audit_host: .*no-such-hazard'):
        module.run(task_vars={'inventory_hostname': 'node1'})
    assert calls == []


def test_deeply_nested_or_surrogate_facts_are_malformed_not_missing():
    """Red team: facts nested 700 deep made the host 'left the play before the audit ran'; now the
    host is failed with a message saying the facts are malformed, and the facts are not handed on."""
    deep = dict(FACTS, engines={'docker': {'x': [[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]}})
    for bad, said in ((deep, 'facts.engines.docker.x%s is nested more than 16 objects/lists deep' % ('[0]' * 13)),
                      (dict(FACTS, arch='x\ud800'), 'facts.arch holds a lone UTF-16 surrogate')):
        result, _calls = run({}, {'runcguard.seccomp.runtime_facts': {'ansible_facts': {'runcguard': bad}}})
        assert result['status'] == 'failed' and 'ansible_facts' not in result
        assert result['message'].startswith('the facts are malformed and were not evaluated: ' + said), result['message']


def test_role_variables_fill_the_options_the_task_leaves_out():
    """The audit role's host task passes role_variables only: the action reads audit_* itself, templating
    what is a template; what the task sets wins; an empty audit_root / null audit_execute stay unset."""
    role_vars = {'inventory_hostname': 'node1', 'audit_discover': False, 'audit_timeout': trust_as_template('{{ 40 + 2 }}'),
                 'audit_root': '', 'audit_execute': None, 'audit_users': ['alice'], 'audit_max_findings_per_host': 0,
                 'audit_command_timeout': 7, 'audit_probe': False}
    answers = {'runcguard.seccomp.runtime_facts': {'ansible_facts': {'runcguard': FACTS}}}
    module, calls = action({'role_variables': True, 'command_timeout': 3}, answers,
                           templar=Templar(loader=DataLoader(), variables=role_vars))
    result = module.run(task_vars=role_vars)
    scan = calls[0][1]
    assert scan['discover'] is False and scan['users'] == ['alice'] and scan['scan_timeout'] == 42 - SCAN_MARGIN
    assert scan['command_timeout'] == 3  # the task's own argument, not audit_command_timeout
    assert 'root' not in scan and 'execute' not in scan
    assert result['status'] == 'ok' and result['findings'] == [] and result['omitted']  # max_findings 0
    # without role_variables the same variables are ignored
    module, calls = action({}, answers, templar=Templar(loader=DataLoader(), variables=role_vars))
    module.run(task_vars=role_vars)
    assert calls[0][1]['discover'] is True and calls[0][1].get('users') != ['alice']
