# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: parse runc/crun --version output (thin wrapper over module_utils._version)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_string

from ansible_collections.runcguard.seccomp.plugins.module_utils._version import parse_runtime_version


def runc_version(text):
    if not is_string(text):
        raise AnsibleFilterError('runcguard.seccomp.runc_version: input must be the text printed by '
                                 '"runc --version" or "crun --version", got %s' % type(text).__name__)
    return parse_runtime_version(str(text))


class FilterModule(object):
    def filters(self):
        return {'runc_version': runc_version}
