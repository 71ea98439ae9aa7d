# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: findings from notify_probe observations (thin wrapper over plugin_utils._probe_findings)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._probe_findings import probe_findings as _probe_findings


def probe_findings(results, findings=None):
    name = 'runcguard.seccomp.probe_findings'
    if isinstance(results, dict) and 'results' in results:
        results = results['results']  # a registered notify_probe result
    if not isinstance(results, list):
        raise AnsibleFilterError('%s: input must be the results list of runcguard.seccomp.notify_probe, got %s'
                                 % (name, type(results).__name__))
    if findings is not None and not isinstance(findings, list):
        raise AnsibleFilterError('%s: findings must be a list (from runcguard.seccomp.notify_findings), got %s'
                                 % (name, type(findings).__name__))
    return _probe_findings(results, findings)


class FilterModule(object):
    def filters(self):
        return {'probe_findings': probe_findings}
