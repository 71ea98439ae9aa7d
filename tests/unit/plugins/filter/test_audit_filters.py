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
