# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters: profile_fix_plan, profile_fix_remaining and profile_fix_changes (thin wrappers over plugin_utils._profile_fix)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _profile_fix


def _facts(name, facts):
    if not isinstance(facts, dict):
        raise AnsibleFilterError('%s: input must be ansible_facts.runcguard (a dict), got %s'
                                 % (name, type(facts).__name__))
    return facts


def _names(name, label, value):
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise AnsibleFilterError('%s: %s must be a list of strings, got %r' % (name, label, value))
    return list(value)


def profile_fix_plan(facts, notify_remove=None, paths=None):
    name = 'runcguard.seccomp.profile_fix_plan'
    return _profile_fix.plan(_facts(name, facts), _names(name, 'notify_remove', notify_remove or []),
                             _names(name, 'paths', paths or []))


def profile_fix_remaining(facts, findings=None, targets=None, notify_remove=None, failed=None):
    name = 'runcguard.seccomp.profile_fix_remaining'
    if not isinstance(findings or [], list):
        raise AnsibleFilterError('%s: findings must be the findings of profile_fix_plan' % name)
    return _profile_fix.remaining(_facts(name, facts), findings or [], _names(name, 'targets', targets or []),
                                  _names(name, 'notify_remove', notify_remove or []),
                                  _names(name, 'failed', failed or []))


def profile_fix_changes(result, notify_removed=None, check_mode=False):
    name = 'runcguard.seccomp.profile_fix_changes'
    if not isinstance(result, dict):
        raise AnsibleFilterError('%s: input must be profile_fix_result (a dict), got %s' % (name, type(result).__name__))
    return _profile_fix.changes(result, _names(name, 'notify_removed', notify_removed or []), bool(check_mode))


class FilterModule(object):
    def filters(self):
        return {'profile_fix_plan': profile_fix_plan, 'profile_fix_remaining': profile_fix_remaining,
                'profile_fix_changes': profile_fix_changes}
