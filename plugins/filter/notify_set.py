# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: effective SCMP_ACT_NOTIFY analysis of one raw profile (thin wrapper over module_utils._profile)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_string

from ansible_collections.runcguard.seccomp.plugins.module_utils._profile import (
    ProfileError,
    describe_profile,
)


def notify_set(profile, arch=None, caps=None, kernel=None, reader=None):
    name = 'runcguard.seccomp.notify_set'
    if isinstance(profile, dict):
        data = json.dumps(profile)
    elif is_string(profile):
        data = str(profile)
    else:
        raise AnsibleFilterError('%s: profile must be a dict or JSON text, got %s' % (name, type(profile).__name__))
    for label, value in (('arch', arch), ('kernel', kernel), ('reader', reader)):
        if value is not None and not is_string(value):
            raise AnsibleFilterError('%s: %s must be a string, got %s' % (name, label, type(value).__name__))
    if caps is not None and (is_string(caps) or not isinstance(caps, (list, tuple))
                             or not all(is_string(c) for c in caps)):
        raise AnsibleFilterError('%s: caps must be a list of capability names' % name)
    try:
        info = describe_profile(data, arch=arch, kernel=kernel, reader=reader, caps=caps)
    except ProfileError as exc:
        raise AnsibleFilterError('%s: %s' % (name, exc))
    if info is None:
        raise AnsibleFilterError('%s: the bundle config.json has no linux.seccomp section' % name)
    return info


class FilterModule(object):
    def filters(self):
        return {'notify_set': notify_set}
