# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: may runc_pin pin or upgrade to this runc? (thin wrapper over plugin_utils._advisories)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_sequence, is_string

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._advisories import ACTIONS, advisory_policy

_NAME = 'runcguard.seccomp.runc_pin_advisory'


def _strings(value, what):
    if value is None:
        return None
    if is_string(value) or not is_sequence(value) or not all(is_string(v) for v in value):
        raise AnsibleFilterError('%s: %s must be a list of strings, got %s' % (_NAME, what, type(value).__name__))
    return [str(v) for v in value]


def runc_pin_advisory(action, version=None, accepted=None, offered=None):
    if not is_string(action) or action not in ACTIONS:
        raise AnsibleFilterError('%s: input must be the runc_pin action, one of %s, got %r'
                                 % (_NAME, ', '.join(ACTIONS), action))
    if version is not None and not is_string(version):
        raise AnsibleFilterError('%s: version must be a string, got %s' % (_NAME, type(version).__name__))
    return advisory_policy(str(action), str(version or '') or None, _strings(accepted, 'accepted') or [],
                           _strings(offered, 'offered'))


class FilterModule(object):
    def filters(self):
        return {'runc_pin_advisory': runc_pin_advisory}
