# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Remediation planning and verdicts, on findings produced by the real hazard evaluation."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import pytest

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._hazards import CATALOGUE, evaluate
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._remediate import (
    AUTOMATED,
    DEFAULT_POLICY,
    PolicyError,
    check_policy,
    plan,
    verdict,
)
from ansible_collections.runcguard.seccomp.plugins.filter.remediation_plan import (
    remediation_plan,
    remediation_verdict,
)
from ansible.errors import AnsibleFilterError


def runc(version, path='/usr/sbin/runc'):
    return {'name': 'runc', 'path': path, 'version': version, 'dev': False, 'error': None,
            'used_by': ['containerd'], 'libseccomp': '2.5.4'}


def profile(path, notify, fmt='oci', bundle=None):
    return {'path': path, 'format': fmt, 'origin': [{'engine': 'containerd', 'setting': 'test'}],
            'default_action': 'SCMP_ACT_ALLOW', 'listener_path': '/run/agent.sock', 'listener_exists': True,
            'notify_syscalls': sorted(notify), 'bundle': bundle, 'error': None}


def facts(runtimes, profiles, arch='x86_64'):
    return {'schema': 1, 'arch': arch, 'kernel': '6.1.0', 'libseccomp': '2.5.4',
            'runtimes': runtimes, 'profiles': profiles}


def test_default_policy_is_valid_and_automatic():
    assert check_policy(DEFAULT_POLICY) == DEFAULT_POLICY
    for strategies in DEFAULT_POLICY.values():
        assert set(strategies) <= set(AUTOMATED)


def test_clean_host_has_empty_plan():
    host = facts([runc('1.3.6')], [profile('/etc/p.json', ['connect'])])
    result = plan(evaluate(host), DEFAULT_POLICY, facts=host)
    assert result == {'actions': [], 'manual': [], 'rewrite': [], 'runc_action': None, 'user_runcs': [],
                      'fingerprint': None,
                      'runc_advisories': {'upgrade_runc': {'version': '1.3.6', 'open': []},
                                          'pin_runc': {'version': None, 'open': []}}}


def test_runc_advisories_are_manual_by_default_and_the_plan_says_what_each_strategy_leaves_open():
    host = facts([runc('1.2.0-rc.2')], [profile('/etc/p.json', ['connect'])])
    result = plan(evaluate(host), DEFAULT_POLICY, facts=host, pin_version='1.1.13')
    assert [(m['id'], m['severity']) for m in result['manual']] == [('runc-advisory', 'high')]
    assert result['runc_advisories']['pin_runc']['open'] == ['GO-2024-3110', 'GO-2025-4096', 'GO-2025-4097',
                                                             'GO-2025-4098', 'GO-2026-5761']
    assert result['runc_advisories']['upgrade_runc'] == {'version': '1.3.6', 'open': []}
    upgrade = plan(evaluate(host), {'runc-advisory': ['upgrade_runc']}, facts=host)
    assert upgrade['runc_action'] == 'upgrade' and upgrade['manual'] == []
    via_filter = remediation_plan(evaluate(host), facts=host, pin_version='1.2.0', upgrade_version='1.4.3')
    assert via_filter['runc_advisories'] == {
        'upgrade_runc': {'version': '1.4.3', 'open': []},
        'pin_runc': {'version': '1.2.0', 'open': ['GO-2025-4096', 'GO-2025-4097', 'GO-2025-4098', 'GO-2026-5761']}}


def test_rewrite_first_by_default():
    host = facts([runc('1.2.0-rc.2')], [profile('/etc/p.json', ['connect', 'fcntl'])])
    result = plan(evaluate(host), DEFAULT_POLICY, facts=host)
    assert [(a['id'], a['strategy']) for a in result['actions']] == [('notify-fcntl-hang', 'rewrite_profile')]
    assert result['rewrite'] == [{'notify_remove': ['fcntl'], 'paths': ['/etc/p.json']}]
    assert result['runc_action'] is None
    assert len(result['fingerprint']) == 16


def test_runtime_policy_pins_and_upgrade_wins():
    host = facts([runc('1.2.0-rc.2')], [profile('/etc/a.json', ['fcntl']), profile('/etc/b.json', ['fcntl'])])
    pinned = plan(evaluate(host), {'notify-fcntl-hang': ['pin_runc']}, facts=host)
    assert set(a['strategy'] for a in pinned['actions']) == {'pin_runc'}
    assert pinned['runc_action'] == 'pin' and pinned['rewrite'] == []
    upgraded = plan(evaluate(host), {'notify-fcntl-hang': ['upgrade_runc', 'pin_runc']}, facts=host)
    assert upgraded['runc_action'] == 'upgrade'
    assert pinned['fingerprint'] != upgraded['fingerprint']


def test_each_profile_loses_only_its_own_syscalls():
    host = facts([runc('1.1.13')], [profile('/etc/w.json', ['write', 'connect']), profile('/etc/x.json', ['write'])])
    result = plan(evaluate(host), DEFAULT_POLICY, facts=host)
    assert result['rewrite'] == [{'notify_remove': ['write'], 'paths': ['/etc/w.json', '/etc/x.json']}]
    host = facts([runc('1.2.0-rc.1')], [profile('/etc/w.json', ['write']), profile('/etc/f.json', ['fcntl'])])
    result = plan(evaluate(host), DEFAULT_POLICY, facts=host)
    assert result['rewrite'] == [{'notify_remove': ['fcntl'], 'paths': ['/etc/f.json']},
                                 {'notify_remove': ['write'], 'paths': ['/etc/w.json']}]


def test_32bit_host_also_removes_fcntl64():
    host = facts([runc('1.2.0-rc.2')], [profile('/etc/p.json', ['fcntl'])], arch='armv7l')
    result = plan(evaluate(host), DEFAULT_POLICY, facts=host)
    assert result['rewrite'] == [{'notify_remove': ['fcntl', 'fcntl64'], 'paths': ['/etc/p.json']}]


def test_running_container_bundle_falls_back_to_runtime_strategy():
    bundle = profile('/run/containerd/x/config.json', ['fcntl'], fmt='bundle', bundle={'id': 'x', 'engine': 'containerd'})
    host = facts([runc('1.2.0-rc.2')], [bundle])
    result = plan(evaluate(host), DEFAULT_POLICY, facts=host)
    assert [a['strategy'] for a in result['actions']] == ['upgrade_runc']
    only_rewrite = plan(evaluate(host), {'notify-fcntl-hang': ['rewrite_profile']}, facts=host)
    assert only_rewrite['actions'] == []
    assert 'no strategy of the policy' in only_rewrite['manual'][0]['why']


def test_manual_waived_and_below_threshold():
    no_listener = profile('/etc/n.json', ['connect'])
    no_listener['listener_path'] = ''
    host = facts([runc('1.3.6')], [no_listener])
    findings = evaluate(host)
    assert [f['id'] for f in findings] == ['notify-no-listener-path']
    result = plan(findings, DEFAULT_POLICY, facts=host)
    assert result['actions'] == [] and result['manual'][0]['id'] == 'notify-no-listener-path'
    assert 'no automatic strategy' in result['manual'][0]['why']
    waived = [dict(f, waived=True) for f in findings]
    assert plan(waived, DEFAULT_POLICY, facts=host)['manual'] == []
    # unknown runc version: medium, below the default threshold, fixed only when asked
    host = facts([runc(None)], [profile('/etc/p.json', ['fcntl'])])
    assert plan(evaluate(host), DEFAULT_POLICY, facts=host)['actions'] == []
    assert plan(evaluate(host), DEFAULT_POLICY, min_severity='medium', facts=host)['actions'][0]['strategy'] == \
        'rewrite_profile'


@pytest.mark.parametrize('policy, message', [
    ({'no-such-hazard': ['rewrite_profile']}, "unknown hazard id 'no-such-hazard'"),
    ({'notify-write-rejected': ['pin_runc']}, "'pin_runc' is not an automatic strategy"),
    ({'notify-no-listener-path': ['fix_listener']}, 'none, it needs a person'),
    ({'notify-fcntl-hang': 'pin_runc'}, 'must be a list of names'),
    (['rewrite_profile'], 'must be a dict'),
])
def test_bad_policies_are_named(policy, message):
    with pytest.raises(PolicyError, match=message):
        check_policy(policy)


def test_every_catalogue_id_can_be_configured():
    for hazard_id, entry in CATALOGUE.items():
        automatic = [s for s in entry['remediation'] if s in AUTOMATED]
        assert check_policy({hazard_id: automatic}) == {hazard_id: automatic}


def test_verdict():
    before_host = facts([runc('1.2.0-rc.2')], [profile('/etc/p.json', ['fcntl', 'connect'])])
    before = evaluate(before_host)
    the_plan = plan(before, DEFAULT_POLICY, facts=before_host)
    fixed = evaluate(facts([runc('1.2.0-rc.2')], [profile('/etc/p.json', ['connect'])]))
    assert verdict(the_plan, before, fixed) == {'ok': True, 'remaining': [], 'new': []}
    # same hazard, now on a side-by-side binary: still remaining
    moved = evaluate(facts([runc('1.2.0-rc.2', path='/usr/local/sbin/runc-x')], [profile('/etc/p.json', ['fcntl'])]))
    result = verdict(the_plan, before, moved)
    assert not result['ok'] and result['remaining'][0]['id'] == 'notify-fcntl-hang'
    # a fix that introduces a new high finding is not ok
    worse = evaluate(facts([runc('1.1.13')], [profile('/etc/p.json', ['connect', 'write'])]))
    result = verdict(the_plan, before, worse)
    assert not result['ok'] and [f['id'] for f in result['new']] == ['notify-write-rejected']


def test_filters_reject_bad_input():
    with pytest.raises(AnsibleFilterError, match='remediation_plan: the input must be a list'):
        remediation_plan('nope')
    with pytest.raises(AnsibleFilterError, match="unknown hazard id"):
        remediation_plan([], policy={'x': []})
    with pytest.raises(AnsibleFilterError, match='min_severity must be one of'):
        remediation_plan([], min_severity='huge')
    with pytest.raises(AnsibleFilterError, match='plan must be the output'):
        remediation_verdict([], plan=None)
    assert remediation_verdict([], plan={'actions': []}) == {'ok': True, 'remaining': [], 'new': []}


def test_role_defaults_match_default_policy():
    import os
    import yaml
    role = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'roles', 'remediate')
    with open(os.path.join(role, 'defaults', 'main.yml')) as handle:
        defaults = yaml.safe_load(handle)
    with open(os.path.join(role, 'meta', 'argument_specs.yml')) as handle:
        spec = yaml.safe_load(handle)['argument_specs']['main']['options']
    assert defaults['remediate_policy'] == DEFAULT_POLICY
    assert spec['remediate_policy']['default'] == DEFAULT_POLICY
    for name, value in defaults.items():
        assert name in spec, '%s is not documented in meta/argument_specs.yml' % name
        if not (isinstance(value, str) and '{{' in value):
            assert spec[name].get('default') == value, name


# --- select: a JMESPath expression picks the findings to act on ----------------------------------

def _two_profiles():
    host = facts([runc('1.2.0-rc.2')], [profile('/etc/a.json', ['fcntl']),
                                        dict(profile('/var/lib/kubelet/seccomp/b.json', ['fcntl']),
                                             origin=[{'engine': 'kubelet', 'setting': 'localhost/b.json'}])])
    return host, evaluate(host)


def test_select_narrows_the_default_to_what_the_expression_picks():
    host, findings = _two_profiles()
    everything = plan(findings, DEFAULT_POLICY, facts=host)
    assert sorted(a['profile'] for a in everything['actions']) == ['/etc/a.json', '/var/lib/kubelet/seccomp/b.json']
    only = plan(findings, DEFAULT_POLICY, facts=host,
                select="[?!waived && contains(origin[].engine, 'kubelet')]")
    assert [(a['profile'], a['strategy']) for a in only['actions']] == [
        ('/var/lib/kubelet/seccomp/b.json', 'rewrite_profile')]
    assert only['rewrite'] == [{'notify_remove': ['fcntl'], 'paths': ['/var/lib/kubelet/seccomp/b.json']}]
    assert only['fingerprint'] != everything['fingerprint'] and 'error' not in only


def test_select_replaces_the_severity_floor_and_sees_waived_findings():
    host = facts([runc(None)], [profile('/etc/p.json', ['fcntl'])])
    findings = [dict(f, waived=True) for f in evaluate(host)]  # medium and waived: never acted on by default
    assert plan(findings, DEFAULT_POLICY, facts=host)['actions'] == []
    chosen = plan(findings, DEFAULT_POLICY, facts=host, select="[?id=='notify-fcntl-hang']")
    assert [a['strategy'] for a in chosen['actions']] == ['rewrite_profile']
    assert plan(findings, DEFAULT_POLICY, facts=host, select='[?!waived]')['actions'] == []


@pytest.mark.parametrize('select, text', [
    ("contains(@[0].origin, 'x')", "In function contains()"),
    ('length(@)', 'must give a list of findings, for example .* got int'),
    ('[].id', 'must give a list of findings, .* got a list of other values'),
])
def test_select_failing_on_a_host_plans_nothing_and_says_why(select, text):
    host, findings = _two_profiles()
    findings[0]['origin'] = None
    result = plan(findings, DEFAULT_POLICY, facts=host, select=select)
    assert result['actions'] == [] and result['manual'] == [] and result['fingerprint'] is None
    assert result['error'].startswith('select: ')
    assert re.search(text, result['error']), result['error']


def test_invalid_select_fails_the_filter_before_any_finding():
    with pytest.raises(AnsibleFilterError, match=r'remediation_plan: select: invalid JMESPath expression '
                                                 r'"\[\?severity==": the expression ends too early at position 12'):
        remediation_plan([], select='[?severity==')
    assert remediation_plan([], select='') == remediation_plan([])


def test_a_users_own_runc_is_never_pinned_by_root():
    # rootless: a runc in a home belongs to its user; runc_pin never pins it (that repoints the system's
    # engines); upgrade_runc replaces it in place as the user's file (user_runcs), never as runc_action
    host = facts([runc('1.2.0-rc.2', path='/home/alice/.local/bin/runc')], [profile('/etc/a.json', ['fcntl'])])
    findings = [f for f in evaluate(host) if f['id'] != 'runc-advisory']  # its advisories: another test
    for finding in findings:
        finding['runtime'] = dict(finding['runtime'], owner={'name': 'alice', 'uid': 1000})
    result = plan(findings, {'notify-fcntl-hang': ['pin_runc']}, facts=host)
    assert result['actions'] == [] and result['runc_action'] is None and result['user_runcs'] == []
    assert [m['why'] for m in result['manual']] == [
        "/home/alice/.local/bin/runc belongs to alice: pin_runc never changes a user's own runc (it points the "
        "system's engines at another runc); upgrade_runc replaces it in place as that user's file"]
    result = plan(findings, {'notify-fcntl-hang': ['pin_runc', 'upgrade_runc']}, facts=host)
    assert [a['strategy'] for a in result['actions']] == ['upgrade_runc'] and result['runc_action'] is None
    assert result['user_runcs'] == [{'path': '/home/alice/.local/bin/runc', 'owner': {'name': 'alice', 'uid': 1000}}]
