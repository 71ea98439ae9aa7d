# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.runcguard.seccomp.plugins.filter.apply_waivers import apply_waivers
from ansible_collections.runcguard.seccomp.plugins.filter.host_summary import host_summary


def test_apply_waivers_wraps_errors_with_the_filter_name():
    with pytest.raises(AnsibleFilterError, match='runcguard.seccomp.apply_waivers: waiver #1 needs'):
        apply_waivers([], [{'id': 'x', 'expires': '2030-01-01'}], host='h')
    with pytest.raises(AnsibleFilterError, match='input must be a list'):
        apply_waivers({}, [], host='h')
    with pytest.raises(AnsibleFilterError, match='host is required'):
        apply_waivers([], [])


def test_host_summary_checks_its_arguments():
    with pytest.raises(AnsibleFilterError, match='status must be one of'):
        host_summary({}, host='h', status='gone')
    with pytest.raises(AnsibleFilterError, match='input must be'):
        host_summary('facts', host='h')
    with pytest.raises(AnsibleFilterError, match='probe must be'):
        host_summary({}, host='h', probe='x')
    summary = host_summary(None, host='h', status='unreachable', message='ssh: timed out')
    assert summary['status'] == 'unreachable' and summary['findings'] == [] and summary['max_severity'] is None
    assert host_summary({}, host='h', probe={'results': []})['probe'] == []


def test_check_query_names_the_variable_and_position():
    from ansible_collections.runcguard.seccomp.plugins.filter.check_query import check_query
    assert check_query("hosts[?counts.critical > `0`].host", name='audit_fail_query') == \
        "hosts[?counts.critical > `0`].host"
    assert check_query('', name='audit_fail_query') is None
    assert check_query(None) is None
    with pytest.raises(AnsibleFilterError, match=r'runcguard.seccomp.check_query: audit_fail_query: invalid JMESPath '
                                                 r'expression "hosts\[\?status==": the expression ends too early '
                                                 r"at position 15"):
        check_query('hosts[?status==', name='audit_fail_query')
    with pytest.raises(AnsibleFilterError, match='name must be a string'):
        check_query('a', name=3)


def test_apply_waivers_filter_evaluates_when_on_ansible_typed_data():
    findings = [{'id': 'notify-fcntl-hang', 'profile': '/p.json', 'syscalls': ['fcntl'], 'origin': []}]
    waivers = [{'id': '*', 'when': "contains(syscalls, 'fcntl') && length(origin) == `0`", 'reason': 'r',
                'expires': '2099-01-01'}]
    assert apply_waivers(findings, waivers, host='h')[0]['waived'] is True
    with pytest.raises(AnsibleFilterError, match=r'runcguard.seccomp.apply_waivers: waiver #1 when: invalid JMESPath'):
        apply_waivers([], [dict(waivers[0], when='syscalls[')], host='h')
