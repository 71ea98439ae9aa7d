# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: does a runtime build hit each hazard (thin wrapper over plugin_utils._hazards rules)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_string

from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.engines import RUNTIME_NAMES
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._hazards import runtime_verdicts as _verdicts


def runtime_verdicts(runtime, kind='runc'):
    name = 'runcguard.seccomp.runtime_verdicts'
    if kind not in RUNTIME_NAMES:
        raise AnsibleFilterError('%s: kind must be one of %s, got %r' % (name, ', '.join(RUNTIME_NAMES), kind))
    if is_string(runtime):
        if not str(runtime).strip():
            raise AnsibleFilterError('%s: a version must not be empty' % name)
        runtime = {'name': kind, 'version': str(runtime)}
    elif not isinstance(runtime, dict):
        raise AnsibleFilterError('%s: input must be a runtime entry (a dict from ansible_facts.runcguard.runtimes) '
                                 'or a version string, got %s' % (name, type(runtime).__name__))
    return _verdicts(runtime)


class FilterModule(object):
    def filters(self):
        return {'runtime_verdicts': runtime_verdicts}
