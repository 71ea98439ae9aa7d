# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.runcguard.seccomp.plugins.filter.notify_findings import notify_findings
from ansible_collections.runcguard.seccomp.plugins.filter.notify_analysis import notify_analysis, notify_set
from ansible_collections.runcguard.seccomp.plugins.filter.runc_version import runc_version

RC2 = 'runc version 1.2.0-rc.2\ncommit: v1.2.0-rc.2-0-gf2d2ee5e4\nspec: 1.2.0\ngo: go1.21.13\nlibseccomp: 2.5.4\n'
PROFILE = {'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/run/a.sock',
           'syscalls': [{'names': ['fcntl', 'connect'], 'action': 'SCMP_ACT_NOTIFY'}]}


def test_pipeline_from_filters():
    runtime = dict(runc_version(RC2), path='/usr/bin/runc', used_by=['containerd'])
    prof = dict(notify_analysis(PROFILE, arch='x86_64'), path='/p.json', listener_exists=True,
                origin=[{'engine': 'containerd', 'setting': 'x'}])
    facts = {'runtimes': [runtime], 'profiles': [prof], 'arch': 'x86_64'}
    direct = notify_findings(facts)
    assert [f['id'] for f in direct if f['severity'] == 'critical'] == ['notify-fcntl-hang']
    assert notify_findings({'runcguard': facts}) == direct
    assert notify_findings({'ansible_facts': {'runcguard': facts}}) == direct


def test_notify_analysis_accepts_json_text():
    assert notify_analysis('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": '
                           '[{"names": ["bind"], "action": "SCMP_ACT_NOTIFY"}]}')['notify_syscalls'] == ['bind']


def test_notify_set_is_the_deprecated_name_of_notify_analysis():
    assert notify_set(PROFILE, arch='x86_64') == notify_analysis(PROFILE, arch='x86_64')
    with pytest.raises(AnsibleFilterError, match='notify_set: profile must be a dict'):
        notify_set(3)


@pytest.mark.parametrize('call, fragment', [
    (lambda: notify_findings([1]), 'notify_findings: facts must be a dict'),
    (lambda: notify_findings({'profiles': 'x'}), 'facts.profiles must be a list'),
    (lambda: notify_analysis(3), 'notify_analysis: profile must be a dict or JSON text'),
    (lambda: notify_analysis('{"x": 1'), 'notify_analysis: malformed JSON'),
    (lambda: notify_analysis(PROFILE, caps='CAP_SYS_ADMIN'), 'caps must be a list'),
    (lambda: notify_analysis(PROFILE, arch=5), 'arch must be a string'),
    (lambda: notify_analysis({'ociVersion': '1', 'linux': {}}), 'no linux.seccomp section'),
    (lambda: runc_version(None), 'runc_version: input must be the text'),
])
def test_errors_name_the_filter_and_argument(call, fragment):
    with pytest.raises(AnsibleFilterError) as err:
        call()
    assert fragment in str(err.value)


def test_runc_version_garbage_is_data_not_exception():
    assert runc_version('Segmentation fault')['error'].startswith('unparsable')


def test_probe_findings_filter():
    from ansible_collections.runcguard.seccomp.plugins.filter.probe_findings import probe_findings
    results = [{'runtime': '/usr/sbin/runc', 'version': '1.1.5', 'syscall': 'fcntl', 'no_new_privileges': True,
                'outcome': 'hang', 'agent_connected': False, 'seconds': 10.0}]
    found = probe_findings({'results': results}, [])
    assert [f['id'] for f in found] == ['notify-probe-hang', 'notify-probe-disagrees']
    assert found[0]['severity'] == 'critical' and found[1]['severity'] == 'high'
    with pytest.raises(AnsibleFilterError) as err:
        probe_findings('x')
    assert 'probe_findings: input must be the results list' in str(err.value)
    with pytest.raises(AnsibleFilterError):
        probe_findings([], findings='x')


def test_runc_pin_wrong_filter():
    from ansible_collections.runcguard.seccomp.plugins.filter.runc_pin_wrong import runc_pin_wrong
    from ansible.errors import AnsibleFilterError
    assert runc_pin_wrong([{'path': '/usr/sbin/runc', 'version': '1.1.13', 'used_by': ['docker']}], runc='1.1.13') == []
    with pytest.raises(AnsibleFilterError, match='runc must be the wanted runc version'):
        runc_pin_wrong([], runc='')
    with pytest.raises(AnsibleFilterError, match='input must be a list of runtime entries'):
        runc_pin_wrong('x', runc='1.1.13')
