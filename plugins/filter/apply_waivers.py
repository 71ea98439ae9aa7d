# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: apply_waivers (thin wrapper over plugin_utils._waivers)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._waivers import WaiverError, apply_waivers as _apply


def apply_waivers(findings, waivers=None, host=None, today=None):
    if not isinstance(findings, list):
        raise AnsibleFilterError('runcguard.seccomp.apply_waivers: input must be a list of findings, got %s'
                                 % type(findings).__name__)
    if host is None:
        raise AnsibleFilterError('runcguard.seccomp.apply_waivers: host is required (inventory_hostname)')
    try:
        return _apply(findings, waivers, host, today)
    except WaiverError as exc:
        raise AnsibleFilterError('runcguard.seccomp.apply_waivers: %s' % exc)


class FilterModule(object):
    def filters(self):
        return {'apply_waivers': apply_waivers}
