# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""probe_findings: observed hangs are critical, disagreements with version data are reported."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._probe_findings import (
    observed,
    probe_findings,
    version_prediction,
)

CONTRACT = {'id', 'key', 'severity', 'title', 'profile', 'origin', 'syscalls', 'runtime', 'affected',
            'reference', 'message', 'remediation'}


def result(outcome, syscall='fcntl', version='1.1.5', runtime='/usr/sbin/runc', name='runc', nnp=True,
           profile=None, dev=False):
    return {'runtime': runtime, 'name': name, 'version': version, 'dev': dev, 'syscall': syscall,
            'syscalls': syscall.split(','), 'profile': profile, 'no_new_privileges': nnp, 'outcome': outcome,
            'message': '', 'agent_connected': outcome == 'ok', 'seconds': 0.1}


def both(outcome_true, outcome_false=None, **kwargs):
    return [result(outcome_true, nnp=True, **kwargs), result(outcome_false or outcome_true, nnp=False, **kwargs)]


def version_finding(hazard_id, affected, runtime='/usr/sbin/runc', version='1.2.0-rc.2', syscalls=('fcntl',)):
    return {'id': hazard_id, 'key': '%s|/p.json|%s' % (hazard_id, runtime), 'severity': 'critical',
            'profile': '/p.json', 'syscalls': list(syscalls), 'affected': affected,
            'runtime': {'path': runtime, 'name': 'runc', 'version': version}}


def by_id(findings):
    return dict((f['id'], f) for f in findings)


def test_all_ok_and_version_agrees_gives_nothing():
    results = both('ok') + both('error', syscall='write') + both('ok', syscall='connect')
    assert probe_findings(results, []) == []


def test_hang_is_critical_even_when_version_says_fixed():
    # runc 1.1.5 is not affected by version; a vendor patch made it hang anyway.
    found = by_id(probe_findings(both('hang', 'ok') + both('ok', syscall='connect'), []))
    hang = found['notify-probe-hang']
    assert set(hang) == CONTRACT
    assert hang['severity'] == 'critical' and hang['affected'] is True
    assert hang['syscalls'] == ['fcntl']
    assert hang['key'] == 'notify-probe-hang||/usr/sbin/runc'
    assert hang['runtime'] == {'path': '/usr/sbin/runc', 'name': 'runc', 'version': '1.1.5'}
    assert 'noNewPrivileges=true' in hang['message'] and 'noNewPrivileges=false' not in hang['message']
    assert 'upgrade_runc' in hang['remediation']
    disagree = found['notify-probe-disagrees']
    assert set(disagree) == CONTRACT
    assert disagree['severity'] == 'high' and disagree['affected'] is True
    assert 'version data says not affected, probe observed hang/ok' in disagree['message']


def test_rc2_hang_agrees_with_version_data():
    results = both('hang', version='1.2.0-rc.2') + both('ok', syscall='connect', version='1.2.0-rc.2')
    found = by_id(probe_findings(results, [version_finding('notify-fcntl-hang', True)]))
    assert list(found) == ['notify-probe-hang']


def test_version_says_hang_but_probe_ok_disagrees():
    found = by_id(probe_findings(both('ok', version='1.2.0-rc.2'), [version_finding('notify-fcntl-hang', True)]))
    assert list(found) == ['notify-probe-disagrees']
    assert found['notify-probe-disagrees']['severity'] == 'medium'
    assert found['notify-probe-disagrees']['affected'] is False
    assert 'notify-fcntl-hang: version data says affected, probe observed ok' in found['notify-probe-disagrees']['message']


def test_prediction_from_version_when_no_finding_names_the_runtime():
    # No profile uses fcntl, so no version finding exists: the version itself still predicts.
    found = by_id(probe_findings(both('ok', version='1.2.0-rc.1'), []))
    assert list(found) == ['notify-probe-disagrees']


def test_unknown_version_never_disagrees():
    assert probe_findings(both('ok', version=None), []) == []
    assert [f['id'] for f in probe_findings(both('hang', version=None), [])] == ['notify-probe-hang']
    unknown = version_finding('notify-fcntl-hang', 'unknown', version='1.2.0-rc.2')
    assert probe_findings(both('ok', version='1.2.0-rc.2'), [unknown]) == []


def test_environment_errors_prove_nothing():
    # crun on hybrid cgroups fails every start: no claim about the sendmsg hang either way.
    results = both('error', syscall='sendmsg', runtime='/usr/bin/crun', name='crun', version='1.5')
    assert probe_findings(results, []) == []


def test_crun_sendmsg():
    kwargs = dict(syscall='sendmsg', runtime='/usr/bin/crun', name='crun')
    assert probe_findings(both('ok', version='1.8.1', **kwargs), []) == []
    found = by_id(probe_findings(both('ok', version='1.5', **kwargs), []))
    assert list(found) == ['notify-probe-disagrees']
    found = by_id(probe_findings(both('hang', version='1.5', **kwargs), []))
    assert list(found) == ['notify-probe-hang']
    assert found['notify-probe-hang']['remediation'] == ['upgrade_crun', 'rewrite_profile']


def test_write_accepted_disagrees():
    found = by_id(probe_findings(both('ok', syscall='write'), []))
    assert 'notify-write-rejected: version data says affected, probe observed ok' in found['notify-probe-disagrees']['message']


def test_profile_probe_carries_profile_and_set():
    results = both('hang', syscall='connect,fcntl', profile='/etc/b4ns.json', version='1.2.0-rc.2')
    found = by_id(probe_findings(results, [version_finding('notify-fcntl-hang', True)]))
    hang = found['notify-probe-hang']
    assert hang['profile'] == '/etc/b4ns.json' and hang['syscalls'] == ['connect', 'fcntl']
    assert hang['key'] == 'notify-probe-hang|/etc/b4ns.json|/usr/sbin/runc'
    assert list(found) == ['notify-probe-hang']


def test_one_finding_per_runtime_with_every_hung_syscall():
    results = both('hang') + both('hang', syscall='close') + both('hang', runtime='/opt/runc')
    hangs = [f for f in probe_findings(results, []) if f['id'] == 'notify-probe-hang']
    assert [(f['runtime']['path'], f['syscalls']) for f in hangs] == [
        ('/usr/sbin/runc', ['close', 'fcntl']), ('/opt/runc', ['fcntl'])]
    assert len(set(f['key'] for f in hangs)) == 2


def test_bad_entries_are_ignored():
    assert probe_findings([None, 'x', {'outcome': 'maybe'}], [None, {'id': 'notify-fcntl-hang'}]) == []
    assert probe_findings([], None) == []


@pytest.mark.parametrize('hazard, version, dev, expected', [
    ('notify-fcntl-hang', '1.2.0-rc.2', False, True),
    ('notify-fcntl-hang', '1.1.13', False, False),
    ('notify-fcntl-hang', '1.2.0-rc.1', True, True),  # every 1.2.0-rc.1+dev commit carries the bug
    ('notify-fcntl-hang', '1.2.0-rc.2', True, 'unknown'),
    ('notify-fcntl-hang', None, False, 'unknown'),
    ('crun-notify-sendmsg-hang', '1.5', False, True),
    ('crun-notify-sendmsg-hang', '1.6', False, False),
    ('notify-write-rejected', '1.1.5', False, True),
    ('notify-write-rejected', None, False, True),  # every runc refuses it
])
def test_version_prediction(hazard, version, dev, expected):
    assert version_prediction(hazard, {'version': version, 'dev': dev}) == expected


def test_version_prediction_of_a_dev_build_follows_its_commit():
    result = {'version': '1.2.0-rc.2', 'dev': True, 'commit': 'v1.2.0-rc.2-17-ge7848482e'}
    assert version_prediction('notify-fcntl-hang', result) is False
    result['commit'] = 'v1.2.0-rc.2-17-g309a6d91a'
    assert version_prediction('notify-fcntl-hang', result) is True


@pytest.mark.parametrize('hazard, outcomes, expected', [
    ('notify-fcntl-hang', ['ok', 'ok'], False),
    ('notify-fcntl-hang', ['ok', 'hang'], True),
    ('notify-fcntl-hang', ['ok', 'error'], None),
    ('notify-write-rejected', ['error', 'error'], True),
    ('notify-write-rejected', ['ok'], False),
    ('notify-fcntl-hang', [], None),
])
def test_observed(hazard, outcomes, expected):
    assert observed(hazard, outcomes) == expected


@pytest.mark.parametrize('version', ['1.2.0-rc.2', '1.3.6'])
def test_inconclusive_is_never_a_finding_nor_a_disagreement(version):
    # A signal-return stall, or a sweep result that did not reproduce: no hang finding, no
    # remediation, and no "disagrees" against the version data either way.
    results = (both('inconclusive', syscall='restart_syscall,rt_sigreturn', version=version)
               + both('inconclusive', syscall='fcntl', version=version))
    assert probe_findings(results, [version_finding('notify-fcntl-hang', version == '1.2.0-rc.2', version=version)]) == []
