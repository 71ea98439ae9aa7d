# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The remediate role's status decisions and host result (filters remediation_status, remediation_host_result)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.runcguard.seccomp.plugins.filter.remediation_plan import (
    remediation_host_result,
    remediation_status,
)

OK = {'status': 'ok', 'findings': [{'id': 'notify-fcntl-hang'}], 'errors': [{'path': '/x', 'error': 'boom'}]}
ACTION = {'id': 'notify-fcntl-hang', 'strategy': 'rewrite_profile', 'profile': '/etc/p.json'}
PIN = {'id': 'notify-fcntl-hang', 'strategy': 'pin_runc', 'profile': '/etc/q.json'}
MANUAL = [{'id': 'notify-unsupported'}, {'id': 'notify-unsupported'}, {'id': 'crun-notify-sendmsg-hang'}]


def plan(actions=(), manual=(), fingerprint='f1', **extra):
    return dict({'actions': list(actions), 'manual': list(manual), 'fingerprint': fingerprint if actions else None},
                **extra)


def test_a_host_that_could_not_be_audited_keeps_its_audit_status():
    got = remediation_status(plan([ACTION]), audit={'status': 'error', 'message': 'no python'})
    assert got == {'status': 'error', 'message': 'audit error: no python'}
    assert remediation_status(plan(), audit={'status': 'unreachable'})['message'] == 'audit unreachable: '


def test_a_select_that_failed_changes_nothing():
    got = remediation_status(plan([ACTION], error='bad query'), audit=OK)
    assert got == {'status': 'failed', 'message': 'remediate_select could not pick findings here, nothing changed '
                                                  '(bad query)'}


def test_before_the_record_is_read_nothing_more_is_decided():
    assert remediation_status(plan(), audit=OK) == {'status': None, 'message': None}


def test_nothing_to_do_is_clean_or_manual():
    assert remediation_status(plan(), audit=OK, marker={}, min_severity='medium') == {
        'status': 'clean', 'message': 'no finding at or above medium'}
    assert remediation_status(plan(manual=MANUAL), audit=OK, marker={}) == {
        'status': 'manual', 'message': '3 finding(s) need a person: notify-unsupported, crun-notify-sendmsg-hang'}


def test_the_same_failed_plan_is_not_tried_again_unless_asked():
    marker = {'fingerprint': 'f1', 'when': '2026-01-01T00:00:00Z', 'reason': 'still there'}
    got = remediation_status(plan([ACTION]), audit=OK, marker=marker)
    assert got == {'status': 'failed', 'message': 'the same plan failed here on 2026-01-01T00:00:00Z and was rolled '
                                                  'back (still there); fix the cause, then run with '
                                                  'remediate_retry_failed=true'}
    assert remediation_status(plan([ACTION]), audit=OK, marker=marker, retry_failed=True)['status'] is None
    assert remediation_status(plan([ACTION], fingerprint='f2'), audit=OK, marker=marker)['status'] is None
    assert '?' in remediation_status(plan([ACTION]), audit=OK, marker={'fingerprint': 'f1'})['message']


def test_applied_says_what_was_fixed():
    got = remediation_status(plan([ACTION, PIN, ACTION], manual=MANUAL[:1]), stage='applied')
    assert got == {'status': 'fixed', 'message': '3 finding(s) fixed and verified with rewrite_profile, pin_runc; '
                                                 '1 left to a person'}
    got = remediation_status(plan([ACTION]), stage='applied', check_mode=True)
    assert got == {'status': 'planned', 'message': '1 finding(s) would be fixed with rewrite_profile'}


def test_a_failed_apply_is_rolled_back_except_in_check_mode():
    assert remediation_status(plan([ACTION]), stage='failed', failure=' post-fix audit ok \n') == {
        'status': 'rolled_back', 'message': 'post-fix audit ok'}
    assert remediation_status(plan([ACTION]), stage='failed', check_mode=True) == {
        'status': 'failed', 'message': 'failed'}


@pytest.mark.parametrize('args, kwargs, text', [
    (['not a plan'], {'audit': OK}, 'the input'),
    ([{}], {'stage': 'later'}, 'stage must be one of audited, applied, failed'),
    ([{}], {}, 'audit'),
    ([{}], {'audit': OK, 'marker': 'x'}, 'marker must be a dict'),
])
def test_bad_arguments_are_named(args, kwargs, text):
    with pytest.raises(AnsibleFilterError, match=text):
        remediation_status(*args, **kwargs)


def test_the_host_result_has_one_shape():
    after = {'status': 'ok', 'findings': []}
    got = remediation_host_result('node1', status='fixed', message='m', check_mode=False, plan=plan([ACTION]),
                                  changes={'profiles': [], 'runc': None}, verdict={'ok': True}, before=OK, after=after)
    assert got == {'host': 'node1', 'status': 'fixed', 'message': 'm', 'check_mode': False, 'plan': plan([ACTION]),
                   'changes': {'profiles': [], 'runc': None}, 'verdict': {'ok': True}, 'before': OK['findings'],
                   'after': [], 'errors': OK['errors']}
    assert remediation_host_result('node1', status='error', before={'status': 'error'}, after=None)['after'] is None
    with pytest.raises(AnsibleFilterError, match='host name'):
        remediation_host_result(None, status='clean')


def test_rollback_messages_say_what_is_left_to_a_person():
    got = remediation_status(plan([PIN]), stage='runc_left', message='post-fix audit failed',
                             state_dir='/var/lib/runcguard/runc_pin')
    assert got == {'status': 'rolled_back', 'message': "post-fix audit failed; runc left as this run left it: an "
                                                       "earlier runc_pin's records exist in /var/lib/runcguard/runc_pin "
                                                       "and an unpin would undo that pin too, check runc by hand"}
    changes = {'profiles': [{'path': '/a', 'backup': '/a.1~'}, {'path': '/b', 'backup': None}, {'path': '/c'}]}
    got = remediation_status(plan([PIN]), stage='rollback_failed', message='m', failure=' disk full ',
                             changes=changes, undo_runc=True)
    assert got == {'status': 'rollback_failed',
                   'message': 'm; ROLLBACK FAILED: disk full. Restore by hand: /a.1~, runc_pin_action=unpin'}
    got = remediation_status(plan([PIN]), stage='rollback_failed', message='m', changes={'profiles': []})
    assert got['message'] == 'm; ROLLBACK FAILED: ?. Restore by hand: no profile backups'
