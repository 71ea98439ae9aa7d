# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters: remediation plan, post-fix verdict (plugin_utils._remediate), a host's remediation status and
result (plugin_utils._remediation_status); thin wrappers."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_string

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._remediate import (
    DEFAULT_POLICY,
    PolicyError,
    plan as make_plan,
    verdict as judge,
)
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._remediation_status import (
    STAGES,
    host_result,
    status as host_status,
)


def _findings(name, label, value):
    if not isinstance(value, (list, tuple)) or not all(isinstance(f, dict) for f in value):
        raise AnsibleFilterError('%s: %s must be a list of findings (dicts), got %s'
                                 % (name, label, type(value).__name__))
    return list(value)


def _severity(name, value):
    if not is_string(value):
        raise AnsibleFilterError('%s: min_severity must be a string, got %s' % (name, type(value).__name__))
    return str(value)


def remediation_plan(findings, policy=None, min_severity='high', facts=None, select=None, pin_version=None,
                     upgrade_version=None):
    name = 'runcguard.seccomp.remediation_plan'
    findings = _findings(name, 'the input', findings)
    if facts is not None and not isinstance(facts, dict):
        raise AnsibleFilterError('%s: facts must be ansible_facts.runcguard (a dict), got %s'
                                 % (name, type(facts).__name__))
    try:
        return make_plan(findings, DEFAULT_POLICY if policy is None else policy,
                         min_severity=_severity(name, min_severity), facts=facts,
                         select=select if select else None, pin_version=str(pin_version) if pin_version else None,
                         upgrade_version=str(upgrade_version) if upgrade_version else None)
    except PolicyError as exc:
        raise AnsibleFilterError('%s: %s' % (name, exc))


def remediation_verdict(after, plan=None, before=None, min_severity='high'):
    name = 'runcguard.seccomp.remediation_verdict'
    after = _findings(name, 'the input', after)
    before = _findings(name, 'before', before or [])
    if plan is None or not isinstance(plan, dict):
        raise AnsibleFilterError('%s: plan must be the output of runcguard.seccomp.remediation_plan' % name)
    try:
        return judge(plan, before, after, min_severity=_severity(name, min_severity))
    except PolicyError as exc:
        raise AnsibleFilterError('%s: %s' % (name, exc))


def _dict(name, label, value, optional=False):
    if value is None and optional:
        return None
    if not isinstance(value, dict):
        raise AnsibleFilterError('%s: %s must be a dict, got %s' % (name, label, type(value).__name__))
    return value


def remediation_status(plan, stage='audited', audit=None, marker=None, retry_failed=False, min_severity='high',
                       check_mode=False, failure=None, message=None, state_dir=None, changes=None, undo_runc=False):
    name = 'runcguard.seccomp.remediation_status'
    plan = _dict(name, 'the input (the remediation plan)', plan)
    if stage not in STAGES:
        raise AnsibleFilterError('%s: stage must be one of %s, got %r' % (name, ', '.join(STAGES), stage))
    if stage == 'audited':
        _dict(name, 'audit (audit_host_summary)', audit)
    return host_status(plan, stage, audit=audit, marker=_dict(name, 'marker', marker, optional=True),
                       retry_failed=bool(retry_failed), min_severity=_severity(name, min_severity),
                       check_mode=bool(check_mode), failure=failure, message=message, state_dir=state_dir,
                       changes=_dict(name, 'changes', changes, optional=True), undo_runc=bool(undo_runc))


def remediation_host_result(host, status=None, message=None, check_mode=False, plan=None, changes=None,
                            verdict=None, before=None, after=None):
    name = 'runcguard.seccomp.remediation_host_result'
    if not is_string(host) or not is_string(status):
        raise AnsibleFilterError('%s: the input (the host name) and status must be strings' % name)
    return host_result(str(host), str(status), message, check_mode, plan, changes, verdict,
                       _dict(name, 'before', before or {}), _dict(name, 'after', after or None, optional=True))


class FilterModule(object):
    def filters(self):
        return {'remediation_plan': remediation_plan, 'remediation_verdict': remediation_verdict,
                'remediation_status': remediation_status, 'remediation_host_result': remediation_host_result}
