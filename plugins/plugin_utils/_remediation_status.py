# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host's remediation status and its ``remediate_host_result`` (controller, pure stdlib).

The ``remediate`` role only orchestrates: at each step it asks ``status`` what the host's status and
message are now, and ``host_result`` gives the one shape the ``remediation_report`` action reads.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

STAGES = ('audited', 'applied', 'failed', 'runc_left', 'rollback_failed')


def _unique(values):
    out = []
    for value in values:
        if value not in out:
            out.append(value)
    return out


def _audited(plan, audit, marker, retry_failed, min_severity):
    """Before any change: a host that is left alone, or None (go on)."""
    if audit.get('status') != 'ok':
        return audit.get('status'), 'audit %s: %s' % (audit.get('status'), audit.get('message') or '')
    if 'error' in plan:
        return 'failed', 'remediate_select could not pick findings here, nothing changed (%s)' % plan['error']
    if marker is None:
        return None, None  # the record of an earlier failed attempt is read next
    actions, manual = plan.get('actions') or [], plan.get('manual') or []
    if not actions:
        if manual:
            return 'manual', '%d finding(s) need a person: %s' % (
                len(manual), ', '.join('%s' % i for i in _unique(m.get('id') for m in manual)))
        return 'clean', 'no finding at or above %s' % min_severity
    if marker.get('fingerprint') == plan.get('fingerprint') and not retry_failed:
        return 'failed', ('the same plan failed here on %s and was rolled back (%s); fix the cause, then run with '
                          'remediate_retry_failed=true' % (marker.get('when', '?'), marker.get('reason', '?')))
    return None, None


def _applied(plan, check_mode):
    actions, manual = plan.get('actions') or [], plan.get('manual') or []
    message = '%d finding(s) %s with %s' % (
        len(actions), 'would be fixed' if check_mode else 'fixed and verified',
        ', '.join('%s' % s for s in _unique(a.get('strategy') for a in actions)))
    if manual:
        message += '; %d left to a person' % len(manual)
    return 'planned' if check_mode else 'fixed', message


def _rollback_failed(message, failure, changes, undo_runc):
    backups = [p.get('backup') for p in (changes or {}).get('profiles') or [] if p.get('backup')]
    return 'rollback_failed', '%s; ROLLBACK FAILED: %s. Restore by hand: %s%s' % (
        message, '?' if failure is None else ('%s' % failure).strip(), ', '.join(backups) or 'no profile backups',
        ', runc_pin_action=unpin' if undo_runc else '')


def status(plan, stage='audited', audit=None, marker=None, retry_failed=False, min_severity='high',
           check_mode=False, failure=None, message=None, state_dir=None, changes=None, undo_runc=False):
    """{status, message} of a host at ``stage``; status None: nothing decided yet, go on.

    audited  after the audit and the plan: a host that could not be audited or judged, then (once
             ``marker``, the record of an earlier failed attempt, was read: {} when there is none) a
             host with nothing to do or whose same plan failed before (unless ``retry_failed``).
    applied  the plan was applied (or, in check mode, would be) and verified.
    failed   applying failed with ``failure`` (the task's message): rolled back, or in check mode failed.
    runc_left        rolled back, but runc stays as this run left it: an earlier pin's records exist in
                     ``state_dir`` (an unpin would undo that pin too); ``message`` says so.
    rollback_failed  the rollback failed with ``failure``: ``message`` plus what to restore by hand (the
                     profile backups in ``changes``, and an unpin when ``undo_runc``).
    """
    if stage == 'runc_left':
        state, message = 'rolled_back', ('%s; runc left as this run left it: an earlier runc_pin\'s records exist in %s '
                                         'and an unpin would undo that pin too, check runc by hand' % (message, state_dir))
    elif stage == 'rollback_failed':
        state, message = _rollback_failed(message, failure, changes, undo_runc)
    elif stage == 'applied':
        state, message = _applied(plan, check_mode)
    elif stage == 'failed':
        state = 'failed' if check_mode else 'rolled_back'  # in check mode nothing was changed to roll back
        message = 'failed' if failure is None else ('%s' % failure).strip()
    else:
        state, message = _audited(plan, audit or {}, marker, retry_failed, min_severity)
    return {'status': state, 'message': message}


def host_result(host, status, message, check_mode, plan, changes, verdict, before, after):
    """The host's ``remediate_host_result``: ``before``/``after`` are the audit host summaries (``after``
    None when there was no post-fix audit)."""
    before = before or {}
    return {
        'host': host, 'status': status, 'message': message, 'check_mode': bool(check_mode), 'plan': plan,
        'changes': changes, 'verdict': verdict,
        'before': before.get('findings', []),
        'after': after.get('findings') if after else None,
        'errors': before.get('errors', []),
    }
