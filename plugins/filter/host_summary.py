# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: host_summary, the per-host audit summary (thin wrapper over plugin_utils._report)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._report import (
    HOST_STATES, MAX_FINDINGS_PER_HOST, host_summary as _summary,
)


def host_summary(facts, host=None, findings=None, status='ok', message=None, errors=None, probe=None,
                 max_findings=MAX_FINDINGS_PER_HOST):
    if facts is not None and not isinstance(facts, dict):
        raise AnsibleFilterError('runcguard.seccomp.host_summary: input must be ansible_facts.runcguard (a dict), '
                                 'got %s' % type(facts).__name__)
    if host is None:
        raise AnsibleFilterError('runcguard.seccomp.host_summary: host is required (inventory_hostname)')
    if status not in HOST_STATES:
        raise AnsibleFilterError('runcguard.seccomp.host_summary: status must be one of %s, got %r'
                                 % (', '.join(HOST_STATES), status))
    if findings is not None and not isinstance(findings, list):
        raise AnsibleFilterError('runcguard.seccomp.host_summary: findings must be a list, got %s'
                                 % type(findings).__name__)
    if errors is not None and not isinstance(errors, list):
        raise AnsibleFilterError('runcguard.seccomp.host_summary: errors must be a list, got %s' % type(errors).__name__)
    if isinstance(probe, dict):
        probe = probe.get('results')  # a registered notify_probe result
    if probe is not None and not isinstance(probe, list):
        raise AnsibleFilterError('runcguard.seccomp.host_summary: probe must be notify_probe results, got %s'
                                 % type(probe).__name__)
    if max_findings is not None and (isinstance(max_findings, bool) or not isinstance(max_findings, int)
                                     or max_findings < 0):
        raise AnsibleFilterError('runcguard.seccomp.host_summary: max_findings must be a number of findings '
                                 '(0 or more), got %r' % (max_findings,))
    return _summary(host, facts, findings, status=status, message=message, errors=errors, probe=probe,
                    max_findings=max_findings)


class FilterModule(object):
    def filters(self):
        return {'host_summary': host_summary}
