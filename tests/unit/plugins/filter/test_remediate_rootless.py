# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Remediation plans for rootless setups: they name the user, upgrade a user's own runc in place
(user_runcs; never pinned, never through a user's link, never as the system's runc_action), and never
plan a rewrite of nerdctl's generated profile."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._hazards import evaluate
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._remediate import DEFAULT_POLICY, plan
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._waivers import apply_waivers

ALICE = {'name': 'alice', 'uid': 1000}
B4N = ['_exit', 'bind', 'close', 'connect', 'exit_group', 'fcntl', 'getpeername', 'setsockopt']


def user_runc(version='1.2.0-rc.2', path='/home/alice/.local/bin/runc', engines=('podman',)):
    return {'name': 'runc', 'path': path, 'version': version, 'dev': False, 'error': None, 'used_by': list(engines),
            'libseccomp': None, 'owner': ALICE, 'users': ['alice'], 'version_source': 'buildinfo'}


def user_profile(path, engine='podman', setting='containers.conf seccomp_profile', bundle=None):
    return {'path': path, 'format': 'oci', 'origin': [{'engine': engine, 'setting': setting}],
            'default_action': 'SCMP_ACT_ALLOW', 'listener_path': '/run/user/1000/bypass4netns.sock',
            'listener_exists': None, 'notify_syscalls': B4N, 'bundle': bundle, 'error': None, 'owner': ALICE}


def facts(runtimes, profiles):
    return {'schema': 1, 'arch': 'x86_64', 'kernel': '6.1.0', 'libseccomp': '2.5.4', 'runtimes': runtimes,
            'profiles': profiles}


def test_users_profile_is_paired_with_the_users_runc_only():
    system = {'name': 'runc', 'path': '/usr/bin/runc', 'version': '1.2.0-rc.2', 'dev': False, 'error': None,
              'used_by': ['podman'], 'owner': None, 'users': []}
    host = facts([system, user_runc('1.3.6')], [user_profile('/home/alice/.config/containers/seccomp.json')])
    hang = [f for f in evaluate(host) if f['id'] == 'notify-fcntl-hang']
    # alice's podman runs her own 1.3.6, not the system's rc.2: nothing hangs for her
    assert hang == []
    host = facts([system, user_runc('1.2.0-rc.2')], [user_profile('/home/alice/.config/containers/seccomp.json')])
    hang = [f for f in evaluate(host) if f['id'] == 'notify-fcntl-hang']
    assert [(f['runtime']['path'], f['owner']) for f in hang] == [('/home/alice/.local/bin/runc', ALICE)]
    assert hang[0]['message'].endswith('Rootless setup of user alice (uid 1000).')


def test_system_profile_never_paired_with_a_users_runc():
    system = {'name': 'runc', 'path': '/usr/bin/runc', 'version': '1.3.6', 'dev': False, 'error': None,
              'used_by': ['docker'], 'owner': None, 'users': []}
    prof = dict(user_profile('/etc/docker/seccomp.json', engine='docker'), owner=None)
    assert [f for f in evaluate(facts([system, user_runc()], [prof])) if f['id'] == 'notify-fcntl-hang'] == []


def test_plan_names_the_user_and_rewrites_her_profile():
    host = facts([user_runc()], [user_profile('/home/alice/.config/containers/seccomp.json')])
    result = plan(evaluate(host), DEFAULT_POLICY, facts=host)
    actions = [(a['id'], a['strategy'], a['owner']) for a in result['actions']]
    assert ('notify-fcntl-hang', 'rewrite_profile', ALICE) in actions
    assert result['runc_action'] is None


def test_users_own_runc_is_upgraded_in_place_never_pinned():
    host = facts([user_runc()], [user_profile('/home/alice/.config/containers/seccomp.json')])
    result = plan(evaluate(host), {'notify-fcntl-hang': ['upgrade_runc', 'pin_runc']}, facts=host)
    hang = [a for a in result['actions'] if a['id'] == 'notify-fcntl-hang']
    assert [(a['strategy'], a['owner']) for a in hang] == [('upgrade_runc', ALICE)]
    # the system's runc is not touched: no runc_pin action; the user's binary is named with its user
    assert result['runc_action'] is None
    assert result['user_runcs'] == [{'path': '/home/alice/.local/bin/runc', 'owner': ALICE}]


def test_pin_runc_never_applies_to_a_users_runc():
    host = facts([user_runc()], [user_profile('/home/alice/.config/containers/seccomp.json')])
    result = plan(evaluate(host), {'notify-fcntl-hang': ['pin_runc']}, facts=host)
    assert result['actions'] == [] and result['runc_action'] is None and result['user_runcs'] == []
    manual = [m for m in result['manual'] if m['id'] == 'notify-fcntl-hang']
    assert manual[0]['owner'] == ALICE
    assert manual[0]['why'].startswith("/home/alice/.local/bin/runc belongs to alice: pin_runc never changes a user's "
                                       "own runc")


def test_a_users_runc_reached_through_a_link_is_left_to_the_user():
    linked = dict(user_runc(), realpath='/home/alice/opt/runc-rc2')
    host = facts([linked], [user_profile('/home/alice/.config/containers/seccomp.json')])
    result = plan(evaluate(host), {'notify-fcntl-hang': ['upgrade_runc']}, facts=host)
    assert result['actions'] == [] and result['user_runcs'] == []
    manual = [m for m in result['manual'] if m['id'] == 'notify-fcntl-hang']
    assert 'is a link: root never writes through a user\'s link' in manual[0]['why']


def test_system_and_user_runc_in_one_plan():
    system = {'name': 'runc', 'path': '/usr/bin/runc', 'version': '1.2.0-rc.2', 'dev': False, 'error': None,
              'used_by': ['docker'], 'owner': None, 'users': []}
    prof = dict(user_profile('/etc/docker/seccomp.json', engine='docker'), owner=None)
    host = facts([system, user_runc()], [prof, user_profile('/home/alice/.config/containers/seccomp.json')])
    result = plan(evaluate(host), {'notify-fcntl-hang': ['upgrade_runc']}, facts=host)
    assert result['runc_action'] == 'upgrade'
    assert result['user_runcs'] == [{'path': '/home/alice/.local/bin/runc', 'owner': ALICE}]


def test_nerdctl_generated_profile_is_a_manual_plan():
    nerdctl = user_profile('/home/alice/.local/bin/nerdctl', engine='nerdctl',
                           setting='profile nerdctl v2.1.0 generates for nerdctl/bypass4netns=true')
    host = facts([user_runc(engines=('containerd',))], [nerdctl])
    found = [f for f in evaluate(host) if f['id'] == 'notify-fcntl-hang']
    assert found and found[0]['severity'] == 'critical'
    result = plan(evaluate(host), DEFAULT_POLICY, facts=host)
    assert result['rewrite'] == []  # never a rewrite of the nerdctl binary
    # the fix is the runc the user's containerd runs: upgraded in place as the user's file
    assert [(a['strategy'], a['owner']) for a in result['actions'] if a['id'] == 'notify-fcntl-hang'] == \
        [('upgrade_runc', ALICE)]
    assert result['user_runcs'] == [{'path': '/home/alice/.local/bin/runc', 'owner': ALICE}]
    # a policy without a runc strategy: a manual plan that says exactly what to change
    result = plan(evaluate(host), {'notify-fcntl-hang': ['rewrite_profile']}, facts=host)
    assert result['actions'] == [] and result['rewrite'] == []
    manual = [m for m in result['manual'] if m['id'] == 'notify-fcntl-hang']
    assert manual and 'there is no file to rewrite' in manual[0]['why']
    assert "the user alice's containerd runs (/home/alice/.local/bin/runc)" in manual[0]['why']


def test_waiver_owner_glob():
    host = facts([user_runc()], [user_profile('/home/alice/.config/containers/seccomp.json')])
    findings = evaluate(host)
    waiver = {'id': 'notify-fcntl-hang', 'owner': 'al*', 'reason': 'lab box', 'expires': '2099-01-01'}
    other = dict(waiver, owner='bob')
    waived = apply_waivers(findings, [waiver], 'h1', today='2026-01-01')
    assert [f['waived'] for f in waived if f['id'] == 'notify-fcntl-hang'] == [True]
    kept = apply_waivers(findings, [other], 'h1', today='2026-01-01')
    assert [f['waived'] for f in kept if f['id'] == 'notify-fcntl-hang'] == [False]


def test_change_report_names_the_user_in_people_s_text():
    from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _remediation_report
    host = facts([user_runc()], [user_profile('/home/alice/.config/containers/seccomp.json')])
    the_plan = plan(evaluate(host), {'notify-fcntl-hang': ['upgrade_runc'], 'runc-advisory': ['upgrade_runc']},
                    facts=host)
    assert the_plan['user_runcs'] and all(a['owner'] == ALICE for a in the_plan['actions'])
    changes = {'profiles': [], 'runc': None,
               'user_runcs': {'runc': '1.3.6', 'sha256': 'ab' * 32, 'state_dir': '/var/lib/runcguard/runc_pin',
                              'users': [{'path': '/home/alice/.local/bin/runc', 'owner': ALICE,
                                         'sha256_before': 'cd' * 32}]}}
    result = {'host': 'h1', 'status': 'fixed', 'message': 'fixed', 'plan': the_plan, 'changes': changes}
    text = _remediation_report.render_md(_remediation_report.build({'h1': result}, ['h1']))
    assert '/home/alice/.local/bin/runc 1.2.0-rc.2 (user alice) | upgrade\\_runc |' in text  # Markdown-escaped
    assert ('- runc of user alice: /home/alice/.local/bin/runc replaced in place by runc 1.3.6 (owner and mode kept; '
            'original kept in /var/lib/runcguard/runc\\_pin)') in text
