# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._waivers import (
    WaiverError,
    apply_waivers,
    normalize_waivers,
)

FINDINGS = [
    {'id': 'notify-fcntl-hang', 'severity': 'critical', 'profile': '/etc/docker/b4ns.json'},
    {'id': 'notify-runtime-sensitive', 'severity': 'info', 'profile': '/etc/docker/b4ns.json'},
    {'id': 'notify-runtime-sensitive', 'severity': 'info', 'profile': '/var/lib/kubelet/seccomp/x.json'},
    {'id': 'notify-no-listener-path', 'severity': 'high', 'profile': None},
]


def waiver(**kw):
    base = {'id': 'notify-runtime-sensitive', 'reason': 'agent needs close', 'expires': '2030-01-01'}
    base.update(kw)
    return base


def test_defaults_and_normalisation():
    out = normalize_waivers([waiver(expires='2030-1-2')])
    assert out == [{'id': 'notify-runtime-sensitive', 'host': '*', 'profile': '*', 'reason': 'agent needs close',
                    'expires': '2030-01-02'}]
    assert normalize_waivers(None) == []


@pytest.mark.parametrize('bad, text', [
    ('x', 'must be a list'),
    (['x'], 'waiver #1 must be a dict'),
    ([waiver(reason='')], "waiver #1 needs a non-empty 'reason'"),
    ([waiver(), waiver(expires='next week')], 'waiver #2 expires must be a date'),
    ([waiver(hosts='a')], 'unknown key'),
    ([{'reason': 'r', 'expires': '2030-01-01'}], "needs a non-empty 'id'"),
])
def test_bad_waivers_name_the_waiver(bad, text):
    with pytest.raises(WaiverError, match=text):
        normalize_waivers(bad)


def test_matching_by_id_host_and_profile_glob():
    out = apply_waivers(FINDINGS, [waiver(host='web*', profile='/etc/docker/*')], 'web1', today='2026-06-01')
    assert [f['waived'] for f in out] == [False, True, False, False]
    assert out[1]['waiver']['expired'] is False
    assert out[0]['waiver'] is None
    # other host: nothing waived
    out = apply_waivers(FINDINGS, [waiver(host='web*', profile='/etc/docker/*')], 'db1', today='2026-06-01')
    assert not any(f['waived'] for f in out)
    # inputs are not modified
    assert 'waived' not in FINDINGS[0]


def test_profile_none_matches_only_star():
    out = apply_waivers(FINDINGS, [waiver(id='notify-no-listener-path')], 'h', today='2026-06-01')
    assert out[3]['waived'] is True
    out = apply_waivers(FINDINGS, [waiver(id='notify-no-listener-path', profile='/etc/*')], 'h', today='2026-06-01')
    assert out[3]['waived'] is False


def test_expiry_day_inclusive_then_expired_is_reported():
    ws = [waiver(id='notify-fcntl-hang', expires='2026-06-01')]
    assert apply_waivers(FINDINGS, ws, 'h', today='2026-06-01')[0]['waived'] is True
    out = apply_waivers(FINDINGS, ws, 'h', today='2026-06-02')
    assert out[0]['waived'] is False
    assert out[0]['waiver']['expired'] is True
    assert out[0]['waiver']['reason'] == 'agent needs close'


def test_active_waiver_wins_over_an_expired_one():
    ws = [waiver(id='notify-*', expires='2020-01-01'), waiver(id='notify-fcntl-hang', reason='pinned soon')]
    out = apply_waivers(FINDINGS, ws, 'h', today='2026-06-01')
    assert out[0]['waived'] is True
    assert out[0]['waiver']['reason'] == 'pinned soon'
    assert out[3]['waived'] is False and out[3]['waiver']['expired'] is True


# --- when: a JMESPath condition over the finding ------------------------------------------------

KUBELET_RC2 = {'id': 'notify-fcntl-hang', 'key': 'notify-fcntl-hang|/var/lib/kubelet/seccomp/a.json|/usr/sbin/runc',
               'severity': 'critical', 'profile': '/var/lib/kubelet/seccomp/a.json',
               'origin': [{'engine': 'kubelet', 'setting': 'localhost/a.json'}],
               'runtime': {'name': 'runc', 'path': '/usr/sbin/runc', 'version': '1.2.0-rc.2'}, 'syscalls': ['fcntl']}
DOCKER_RC2 = dict(KUBELET_RC2, key='notify-fcntl-hang|/etc/docker/b.json|/usr/sbin/runc', profile='/etc/docker/b.json',
                  origin=[{'engine': 'docker', 'setting': 'daemon.json seccomp-profile'}])
KUBELET_RC1 = dict(KUBELET_RC2, key='k-rc1', runtime={'name': 'runc', 'path': '/usr/sbin/runc', 'version': '1.2.0-rc.1'})
ISSUE_EXAMPLE = "runtime.version == '1.2.0-rc.2' && contains(origin[].engine, 'kubelet')"


def test_when_narrows_a_glob_match_to_findings_where_the_expression_is_truthy():
    ws = [waiver(id='notify-fcntl-hang', when=ISSUE_EXAMPLE, reason='kubelet pods restart on rc.2')]
    out = apply_waivers([KUBELET_RC2, DOCKER_RC2, KUBELET_RC1], ws, 'h', today='2026-06-01')
    assert [f['waived'] for f in out] == [True, False, False]
    assert out[0]['waiver'] == {'id': 'notify-fcntl-hang', 'host': '*', 'profile': '*', 'when': ISSUE_EXAMPLE,
                                'reason': 'kubelet pods restart on rc.2', 'expires': '2030-01-01', 'expired': False}
    assert out[1]['waiver'] is None and 'waiver_error' not in out[1]


def test_when_is_only_asked_once_the_globs_match():
    # This expression fails on every finding (contains() of null); the id glob keeps it from running.
    ws = [waiver(id='notify-write-rejected', when="contains(nothing, 'x')")]
    out = apply_waivers([KUBELET_RC2], ws, 'h', today='2026-06-01')
    assert out[0]['waived'] is False and 'waiver_error' not in out[0]


def test_an_id_matching_no_hazard_is_refused():
    # a typo would otherwise waive nothing, silently
    with pytest.raises(WaiverError, match="id 'notify-fcntl-hangs' matches no hazard id"):
        apply_waivers([KUBELET_RC2], [waiver(id='notify-fcntl-hangs')], 'h', today='2026-06-01')
    assert apply_waivers([KUBELET_RC2], [waiver(id='notify-*')], 'h', today='2026-06-01')[0]['waived'] is True


@pytest.mark.parametrize('result_expression, waived', [
    ('syscalls', True), ('origin[?engine==\'docker\']', False), ('length(syscalls)', True),
    ('length(origin[?engine==\'docker\'])', False), ('runtime.missing', False), ("''", False),
])
def test_when_truthiness(result_expression, waived):
    ws = [waiver(id='*', when=result_expression)]
    assert apply_waivers([KUBELET_RC2], ws, 'h', today='2026-06-01')[0]['waived'] is waived


def test_expired_when_waiver_is_reported_only_when_it_matches():
    ws = [waiver(id='*', when=ISSUE_EXAMPLE, expires='2026-01-01')]
    out = apply_waivers([KUBELET_RC2, DOCKER_RC2], ws, 'h', today='2026-06-01')
    assert out[0]['waived'] is False and out[0]['waiver']['expired'] is True
    assert out[0]['waiver']['when'] == ISSUE_EXAMPLE
    assert out[1]['waiver'] is None


def test_when_failing_on_a_finding_keeps_it_active_and_says_why():
    broken = dict(DOCKER_RC2, origin=None)
    ws = [waiver(id='*', when="contains(origin[].engine, 'docker')"), waiver(id='*', host='other')]
    out = apply_waivers([broken, DOCKER_RC2], ws, 'h', today='2026-06-01')
    assert out[0]['waived'] is False
    assert out[0]['waiver_error'].startswith(
        'waiver #1 when: JMESPath expression "contains(origin[].engine, \'docker\')" failed on finding '
        'notify-fcntl-hang|/etc/docker/b.json|/usr/sbin/runc: In function contains(), invalid type')
    assert out[1]['waived'] is True and 'waiver_error' not in out[1]


@pytest.mark.parametrize('when, text', [
    ('runtime.version ==', r'audit_waivers: waiver #2 when: invalid JMESPath expression "runtime.version ==": '
                           r'the expression ends too early at position 18'),
    ('contain(syscalls, \'fcntl\')', r'audit_waivers: waiver #2 when: .*unknown function contain\(\) at position 0'),
    (['a'], 'audit_waivers: waiver #2 when: a JMESPath expression must be a string, got list'),
])
def test_invalid_when_fails_validation_naming_the_waiver(when, text):
    with pytest.raises(WaiverError, match=text):
        normalize_waivers([waiver(), waiver(when=when)], variable='audit_waivers')
    # Validation happens with no finding at all (the role checks waivers before touching a host).
    with pytest.raises(WaiverError, match='waiver #2 when'):
        apply_waivers([], [waiver(), waiver(when=when)], 'h')


def test_when_sees_ansible_like_subclassed_data_as_plain_json():
    class Tagged(str):
        pass

    class Lazy(list):
        pass

    finding = dict(KUBELET_RC2, syscalls=Lazy([Tagged('fcntl')]))
    ws = [waiver(id='*', when="contains(syscalls, 'fcntl')")]
    out = apply_waivers([finding], ws, 'h', today='2026-06-01')
    assert out[0]['waived'] is True
    assert out[0]['syscalls'] is finding['syscalls']  # the finding itself is not converted


def test_waivers_without_when_are_unchanged():
    assert 'when' not in normalize_waivers([waiver()])[0]
    assert 'when' not in normalize_waivers([waiver(when='')])[0]
