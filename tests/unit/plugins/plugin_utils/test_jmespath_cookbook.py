# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every expression of docs/jmespath.md compiles and runs on data of the documented shape.

The report and findings come from the real pipeline (hazard evaluation -> waivers -> host summary
-> fleet), so a schema change that breaks a cookbook query fails here."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re

import pytest

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._hazards import evaluate
from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _renderers, _report
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._query import compile_query
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._remediate import DEFAULT_POLICY, plan
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._waivers import apply_waivers

DOC = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'docs', 'jmespath.md')


def _doc():
    with open(DOC) as handle:
        return handle.read()


def _jp():
    # jp -f reports/runcguard-audit.json "EXPR"  (bash double quotes: \` is a backtick)
    return [m.replace('\\`', '`') for m in re.findall(r'^jp -f \S+ "(.*)"$', _doc(), re.M)]


def _settings(name):
    return re.findall(r'^\s*(?:- )?%s: "(.*)"$' % name, _doc(), re.M)


def _json_query():
    return [m.replace('\\"', '"') for m in re.findall(r'json_query\(\\?"(.*?)\\?"\)', _doc())]


def _runtime(name, version):
    return {'name': name, 'path': '/usr/bin/' + name, 'version': version, 'error': None, 'used_by': ['docker']}


def _profile(path, engine, notify, listener='/run/agent.sock'):
    return {'path': path, 'format': 'oci', 'origin': [{'engine': engine, 'setting': path}], 'error': None,
            'default_action': 'SCMP_ACT_ALLOW', 'listener_path': listener, 'listener_exists': True,
            'notify_syscalls': notify}


FACTS = {
    'node1': {'runtimes': [_runtime('runc', '1.2.0-rc.2')],
              'profiles': [_profile('/var/lib/kubelet/seccomp/a.json', 'kubelet', ['fcntl', 'connect'], '')]},
    'node2': {'runtimes': [_runtime('runc', '1.1.13')],
              'profiles': [_profile('/etc/bypass4netns/seccomp.json', 'docker', ['close'])]},
    'node10': {'runtimes': [_runtime('runc', None), _runtime('crun', '1.5')],
               'profiles': [_profile('/etc/containers/seccomp.json', 'podman', ['sendmsg'])]},
}


@pytest.fixture(scope='module')
def pipeline():
    waivers = [{'id': 'notify-fcntl-hang', 'when': _settings('when')[0], 'reason': 'r', 'expires': '2099-01-01'}]
    summaries, findings = {}, {}
    for host, facts in FACTS.items():
        findings[host] = apply_waivers(evaluate(dict(facts, arch='x86_64')), waivers, host, today='2026-06-01')
        summaries[host] = _report.host_summary(host, facts, findings[host])
    summaries['node3'] = _report.host_summary('node3', status='unreachable', message='ssh: timed out')
    fleet = _report.build_fleet(summaries, hosts=sorted(summaries), fail_on='high', waivers=waivers)
    return {'report': json.loads(_renderers.render(fleet, ['json'])['json']), 'findings': findings}


def test_the_cookbook_has_what_the_issue_asks_for():
    assert len(_jp()) >= 6 and len(_settings('when')) >= 3 and len(_json_query()) >= 4
    assert len(_settings('audit_fail_query')) >= 3 and len(_settings('remediate_select')) >= 2


def test_jp_queries_run_on_a_real_report(pipeline):
    results = dict((expression, compile_query(expression, 'jp').search(pipeline['report'])) for expression in _jp())
    assert results["hosts[].{host: host, runc: runtimes[?name=='runc'].version}"] == [
        {'host': 'node1', 'runc': ['1.2.0-rc.2']}, {'host': 'node2', 'runc': ['1.1.13']},
        {'host': 'node3', 'runc': []}, {'host': 'node10', 'runc': []}]  # projections drop nulls
    assert results["length(hosts[?status=='unreachable']) > `5`"] is False
    waived = results['hosts[].findings[?waived][].{id: id, profile: profile, reason: waiver.reason}']
    assert waived == [{'id': 'notify-fcntl-hang', 'profile': '/var/lib/kubelet/seccomp/a.json', 'reason': 'r'}]


def test_fail_queries_run_on_a_real_report(pipeline):
    for expression in _settings('audit_fail_query'):
        compile_query(expression, 'audit_fail_query').search(pipeline['report'])


def test_waiver_conditions_and_selections_run_on_real_findings(pipeline):
    everything = [f for host in sorted(pipeline['findings']) for f in pipeline['findings'][host]]
    assert everything
    for expression in _settings('when'):
        query = compile_query(expression, 'when')
        for finding in everything:
            query.search(finding)
    for expression in _settings('remediate_select'):
        for host, findings in pipeline['findings'].items():
            assert 'error' not in plan(findings, DEFAULT_POLICY, select=expression), (host, expression)


def test_json_query_examples_run_on_facts():
    hostvars = [dict(inventory_hostname=host, ansible_facts={'runcguard': facts}) for host, facts in FACTS.items()]
    results = {}
    for expression in _json_query():
        # Over the hostvars list ([...]) or over one host's ansible_facts.runcguard.
        data = hostvars if expression.startswith('[') else FACTS['node1']
        results[expression] = compile_query(expression, 'json_query').search(data)
    assert results["profiles[?contains(notify_syscalls, 'fcntl')].path"] == ['/var/lib/kubelet/seccomp/a.json']
    rc_hosts = "[?ansible_facts.runcguard.runtimes[?name=='runc' && starts_with(version || '', '1.2.0-rc')]]" \
        ".inventory_hostname"
    assert results[rc_hosts] == ['node1']
    no_listener = "profiles[?contains(origin[].engine, 'kubelet') && notify_syscalls && !listener_path].path"
    assert results[no_listener] == ['/var/lib/kubelet/seccomp/a.json']
