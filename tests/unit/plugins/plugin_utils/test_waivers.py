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
