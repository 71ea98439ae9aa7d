# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""JMESPath policies through a real ansible-playbook run of the audit role on this machine:
waiver ``when:`` over a real runc 1.2.0-rc.2 finding, ``audit_fail_query`` over the written report
beside ``audit_fail_on``, and invalid expressions stopping the play before any host is touched."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys

import pytest

import realruntimes

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  roles:
    - role: runcguard.seccomp.audit
      vars:
        audit_discover: false
        audit_profile_paths: ["{{ workdir }}/profiles"]
        audit_runtime_paths: ["{{ runc }}"]
        audit_report_dir: "{{ workdir }}/reports"
        audit_report_formats: [json, md]
"""
# NOTIFY on fcntl: with runc 1.2.0-rc.2 the critical notify-fcntl-hang finding.
PROFILE = {'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/run/agent.sock',
           'syscalls': [{'names': ['fcntl', 'connect'], 'action': 'SCMP_ACT_NOTIFY'}]}
RC2_KUBELESS = "runtime.version == '1.2.0-rc.2' && contains(syscalls, 'fcntl') && !contains(origin[].engine, 'kubelet')"
# The one per-host task checks its expressions before it contacts the host.
AUDIT_TASK = 'Audit this host (one runtime_facts round trip'


@pytest.fixture(scope='module')
def workdir(tmp_path_factory):
    work = tmp_path_factory.mktemp('jmespath')
    (work / 'profiles').mkdir()
    (work / 'profiles' / 'agent.json').write_text(json.dumps(PROFILE))
    (work / 'play.yml').write_text(PLAYBOOK)
    return work


def play(work, extra_vars):
    found = shutil.which('ansible-playbook') or os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    if not os.path.exists(found):
        pytest.skip('ansible-playbook is not installed next to this Python')
    shutil.rmtree(str(work / 'reports'), ignore_errors=True)
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='0', LANG='C.UTF-8',
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    extra = dict(extra_vars, workdir=str(work), runc=realruntimes.runc_build('runc-v1.2.0-rc.2'))
    proc = subprocess.run([found, '-i', 'localhost,', '-c', 'local', str(work / 'play.yml'),
                           '-e', json.dumps(extra)], capture_output=True, text=True, timeout=300, check=False, env=env)
    report = work / 'reports' / 'runcguard-audit.json'
    return proc, (json.loads(report.read_text()) if report.exists() else None)


def waiver(when, **kw):
    return dict({'id': 'notify-fcntl-hang', 'when': when, 'reason': 'kubelet-free hosts restart', 'expires': '2099-12-31'},
                **kw)


def findings_by_id(report):
    return dict((f['id'], f) for f in report['hosts'][0]['findings'])


def test_when_waives_the_matching_finding_and_the_query_gate_fails_after_the_report(workdir):
    proc, report = play(workdir, {'audit_waivers': [waiver(RC2_KUBELESS)],
                                  'audit_fail_query': 'hosts[?waived > `0`].host'})
    assert proc.returncode == 2, proc.stdout[-3000:]
    fcntl = findings_by_id(report)['notify-fcntl-hang']
    assert fcntl['waived'] is True and fcntl['waiver']['when'] == RC2_KUBELESS
    assert fcntl['runtime']['version'] == '1.2.0-rc.2'  # the real build answered
    assert report['hosts'][0]['counts']['critical'] == 0
    # The gate ran on the written report and its message shows the result.
    assert 'runcguard audit gate failed (audit_fail_query=hosts[?waived > `0`].host): result [\\"localhost\\"]' \
        in proc.stdout, proc.stdout[-3000:]


def test_fail_query_beside_fail_on_and_a_when_that_does_not_match(workdir):
    proc, report = play(workdir, {'audit_waivers': [waiver("runtime.version == '1.2.0-rc.1'")],
                                  'audit_fail_on': 'critical',
                                  'audit_fail_query': 'hosts[?counts.critical > `0`].host'})
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert findings_by_id(report)['notify-fcntl-hang']['waived'] is False
    assert 'runcguard audit gate failed (audit_fail_on=critical): 1 active finding at' in proc.stdout
    # One failure, both gates in its message.
    assert 'runcguard audit gate failed (audit_fail_query=hosts[?counts.critical > `0`].host): ' \
        'result [\\"localhost\\"]. See ' in proc.stdout, proc.stdout[-3000:]


def test_a_query_with_an_empty_result_passes(workdir):
    proc, report = play(workdir, {'audit_fail_query': "hosts[?status=='unreachable'].host"})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert report['hosts'][0]['counts']['critical'] == 1


@pytest.mark.parametrize('extra, text', [
    ({'audit_waivers': [waiver("runtime.version == '1.2.0-rc.2' &&")]},
     'waivers (audit_waivers): waiver #1 when: invalid JMESPath expression \\"runtime.version == \'1.2.0-rc.2\' &&\\": '
     'the expression ends too early at position 34'),
    ({'audit_fail_query': 'length(hosts[?status==`unreachable`] > `5`'},
     'fail_query (audit_fail_query): invalid JMESPath expression \\"length(hosts[?status==`unreachable`] > `5`\\": '),
    ({'audit_fail_query': "lenght(hosts[?status=='unreachable']) > `5`"},
     'fail_query (audit_fail_query): invalid JMESPath expression \\"lenght(hosts[?status==\'unreachable\']) > `5`\\": '
     'unknown function lenght() at position 0'),
])
def test_invalid_expressions_stop_the_play_before_any_host_is_touched(workdir, extra, text):
    proc, report = play(workdir, extra)
    assert proc.returncode == 2
    assert text in proc.stdout, proc.stdout[-3000:]
    assert AUDIT_TASK in proc.stdout
    assert 'runcguard.seccomp.audit_host: ' in proc.stdout  # the configuration check, not a host error
    assert report is None


REMEDIATE = """
- hosts: localhost
  gather_facts: false
  roles:
    - role: runcguard.seccomp.remediate
      vars:
        audit_discover: false
        audit_profile_paths: ["{{ workdir }}/profiles"]
        audit_runtime_paths: ["{{ runc }}"]
        remediate_state_dir: "{{ workdir }}/state"
        remediate_report_dir: "{{ workdir }}/remediate"
        remediate_report_formats: [json]
"""


def remediate(work, select):
    """The remediate role on this machine; every path below plans nothing or stops, so nothing changes."""
    (work / 'remediate.yml').write_text(REMEDIATE)
    shutil.rmtree(str(work / 'remediate'), ignore_errors=True)
    before = (work / 'profiles' / 'agent.json').read_bytes()
    found = shutil.which('ansible-playbook') or os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='0', LANG='C.UTF-8',
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    extra = {'workdir': str(work), 'runc': realruntimes.runc_build('runc-v1.2.0-rc.2'), 'remediate_select': select}
    proc = subprocess.run([found, '-i', 'localhost,', '-c', 'local', str(work / 'remediate.yml'), '-e', json.dumps(extra)],
                          capture_output=True, text=True, timeout=300, check=False, env=env)
    assert (work / 'profiles' / 'agent.json').read_bytes() == before  # the profile was not rewritten
    report = work / 'remediate' / 'runcguard-remediate.json'
    return proc, (json.loads(report.read_text()) if report.exists() else None)


def test_remediate_select_picks_nothing_so_the_critical_finding_is_left_alone(workdir):
    proc, report = remediate(workdir, "[?id=='notify-write-rejected']")
    assert proc.returncode == 0, proc.stdout[-3000:]
    host = report['hosts'][0]
    # By default the critical rc.2 finding would be planned (rewrite_profile); the selection excludes it.
    assert 'notify-fcntl-hang' in [f['id'] for f in host['before']]
    assert host['status'] == 'clean' and host['plan']['actions'] == []
    assert report['select'] == "[?id=='notify-write-rejected']"


def test_remediate_select_failing_on_a_host_leaves_it_untouched_and_failed(workdir):
    proc, report = remediate(workdir, 'length(@)')
    assert proc.returncode == 2
    host = report['hosts'][0]
    assert host['status'] == 'failed' and host['plan']['actions'] == []
    assert host['message'].startswith('remediate_select could not pick findings here, nothing changed (select: '
                                      'length(@) must give a list of findings')


def test_invalid_remediate_select_stops_before_any_host_is_touched(workdir):
    proc, report = remediate(workdir, '[?severity==')
    assert proc.returncode == 2 and report is None
    assert 'remediate_select: invalid JMESPath expression \\"[?severity==\\": the expression ends too early' \
        in proc.stdout, proc.stdout[-3000:]
    assert 'Audit the host' not in proc.stdout
