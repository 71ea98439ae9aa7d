# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: engine-used runtimes that do not run the wanted runc (thin wrapper over module_utils._pins)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_string

from ansible_collections.runcguard.seccomp.plugins.module_utils._pins import wrong_runtimes


def runc_pin_wrong(runtimes, runc=None):
    name = 'runcguard.seccomp.runc_pin_wrong'
    if not isinstance(runtimes, list) or not all(isinstance(r, dict) for r in runtimes):
        raise AnsibleFilterError('%s: input must be a list of runtime entries (ansible_facts.runcguard.runtimes)' % name)
    if not is_string(runc) or not str(runc).strip():
        raise AnsibleFilterError('%s: runc must be the wanted runc version, got %r' % (name, runc))
    return wrong_runtimes(runtimes, str(runc))


class FilterModule(object):
    def filters(self):
        return {'runc_pin_wrong': runc_pin_wrong}
