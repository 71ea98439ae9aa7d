# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: findings for one host's runtime_facts (thin wrapper over plugin_utils._hazards)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_string

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._facts import FactsError
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._hazards import evaluate


def notify_findings(facts):
    """Accept ansible_facts.runcguard, or ansible_facts / hostvars holding a ``runcguard`` key."""
    if not isinstance(facts, dict):
        raise AnsibleFilterError('runcguard.seccomp.notify_findings: facts must be a dict '
                                 '(ansible_facts.runcguard), got %s' % type(facts).__name__)
    if 'runcguard' in facts and isinstance(facts['runcguard'], dict):
        facts = facts['runcguard']
    elif 'ansible_facts' in facts and isinstance(facts['ansible_facts'], dict):
        facts = facts['ansible_facts'].get('runcguard') or {}
    for key in ('runtimes', 'profiles'):
        value = facts.get(key)
        if value is not None and (not isinstance(value, list) or is_string(value)):
            raise AnsibleFilterError('runcguard.seccomp.notify_findings: facts.%s must be a list, got %s'
                                     % (key, type(value).__name__))
    try:
        return evaluate(facts)
    except FactsError as exc:
        raise AnsibleFilterError('runcguard.seccomp.notify_findings: %s' % exc)


class FilterModule(object):
    def filters(self):
        return {'notify_findings': notify_findings}
