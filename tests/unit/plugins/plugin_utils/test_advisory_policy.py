# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""runc_pin's advisory policy: a pin or upgrade never reopens a container escape unless accepted by name."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.runcguard.seccomp.plugins.filter.runc_pin_advisory import runc_pin_advisory
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._advisories import (
    advisory_policy,
    strategy_advisories,
    upgrade_floor,
)

FIVE_BY_CVE = ['CVE-2024-45310', 'CVE-2025-31133', 'CVE-2025-52565', 'CVE-2025-52881', 'CVE-2026-41579']


def test_pin_1_1_13_is_refused_naming_each_advisory_and_the_safe_releases():
    decision = advisory_policy('pin', '1.1.13')
    assert decision['ok'] is False and decision['version'] == '1.1.13'
    assert [i['cve'][0] for i in decision['unaccepted']] == FIVE_BY_CVE
    for cve in FIVE_BY_CVE:
        assert cve in decision['message']
    assert 'GHSA-9493-h29p-rfm2' in decision['message'] and 'GO-2026-5761' in decision['message']
    assert decision['alternatives'] == ['1.3.6', '1.4.3', '1.5.0'] and '1.3.6, 1.4.3, 1.5.0' in decision['message']
    assert 'nothing was changed' in decision['message']


@pytest.mark.parametrize('accepted', [
    FIVE_BY_CVE,
    ['GO-2024-3110', 'go-2025-4096', 'GHSA-qw9x-cqr3-wc7r', 'CVE-2025-52881', ' GHSA-xjvp-4fhw-gc47 '],
])
def test_pin_goes_ahead_when_every_advisory_is_accepted_by_any_id(accepted):
    decision = advisory_policy('pin', '1.1.13', accepted)
    assert decision['ok'] is True and decision['unaccepted'] == [] and len(decision['open']) == 5


def test_accepting_four_of_five_is_not_enough():
    decision = advisory_policy('pin', '1.1.13', FIVE_BY_CVE[:4])
    assert decision['ok'] is False and [i['go'] for i in decision['unaccepted']] == ['GO-2026-5761']
    assert 'GO-2024-3110' not in decision['message']  # only what is still unaccepted is named


def test_an_unknown_id_accepts_nothing():
    decision = advisory_policy('pin', '1.1.13', FIVE_BY_CVE + ['CVE-2024-4531O'])
    assert decision['ok'] is False and decision['unknown_ids'] == ['CVE-2024-4531O']
    assert 'CVE-2024-4531O' in decision['message']


def test_pin_of_a_safe_release_needs_nothing():
    assert advisory_policy('pin', '1.4.3')['ok'] is True and advisory_policy('pin', '1.4.3')['open'] == []


def test_default_upgrade_is_the_lowest_release_fixing_hang_and_every_advisory():
    assert upgrade_floor() == '1.3.6'
    decision = advisory_policy('upgrade')
    assert decision['ok'] is True and decision['version'] == '1.3.6' and decision['open'] == []


@pytest.mark.parametrize('offered, version, ok', [
    (['1.1.13', '1.2.0', '1.3.6', '1.4.0'], '1.3.6', True),  # 1.4.0 is newer but carries GO-2026-5761
    (['1.3.6', '1.4.3', '1.5.1'], '1.5.1', True),
    (['1.2.0', '1.4.0'], '1.4.0', False),  # newest at/above 1.3.6 has an advisory: acceptance needed
    (['1.2.0', '1.2.9'], None, False),  # nothing offered reaches 1.3.6
    ([], None, False),
])
def test_upgrade_with_offered_packages(offered, version, ok):
    decision = advisory_policy('upgrade', offered=offered)
    assert decision['version'] == version and decision['ok'] is ok
    if version is None:
        assert 'no offered package ships a runc release at or above 1.3.6' in decision['message']


def test_upgrade_to_a_release_with_advisories_needs_the_same_acceptance():
    assert advisory_policy('upgrade', '1.2.0')['ok'] is False
    decision = advisory_policy('upgrade', '1.2.0', ['GO-2025-4096', 'GO-2025-4097', 'GO-2025-4098', 'GO-2026-5761'])
    assert decision['ok'] is True
    assert advisory_policy('upgrade', offered=['1.4.0'], accepted=['CVE-2026-41579'])['ok'] is True


def test_upgrade_target_must_fix_the_hang():
    assert advisory_policy('upgrade', '1.1.15', FIVE_BY_CVE)['ok'] is False
    assert advisory_policy('upgrade', '1.3.0-rc.1')['ok'] is False


def test_what_each_strategy_leaves_open():
    assert strategy_advisories('1.1.13') == {
        'upgrade_runc': {'version': '1.3.6', 'open': []},
        'pin_runc': {'version': '1.1.13', 'open': ['GO-2024-3110', 'GO-2025-4096', 'GO-2025-4097', 'GO-2025-4098',
                                                   'GO-2026-5761']}}


def test_filter_is_thin_and_checks_its_input():
    assert runc_pin_advisory('pin', version='1.1.13', accepted=FIVE_BY_CVE)['ok'] is True
    assert runc_pin_advisory('upgrade', version='', offered=['1.3.6'])['version'] == '1.3.6'
    with pytest.raises(AnsibleFilterError, match='runc_pin_advisory: input must be the runc_pin action'):
        runc_pin_advisory('unpin')
    with pytest.raises(AnsibleFilterError, match='accepted must be a list of strings'):
        runc_pin_advisory('pin', version='1.1.13', accepted='CVE-2024-45310')
