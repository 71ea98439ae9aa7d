# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters: the SCMP_ACT_NOTIFY analysis of one raw profile (thin wrapper over module_utils._profile);
``notify_set``, its old name, is a deprecated alias (it never returned a set)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_string
from ansible.utils.display import Display

from ansible_collections.runcguard.seccomp.plugins.module_utils._profile import (
    ProfileError,
    describe_profile,
)


def _analysis(name, profile, arch, caps, kernel, reader):
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


def notify_analysis(profile, arch=None, caps=None, kernel=None, reader=None):
    return _analysis('runcguard.seccomp.notify_analysis', profile, arch, caps, kernel, reader)


def notify_set(profile, arch=None, caps=None, kernel=None, reader=None):
    Display().deprecated('runcguard.seccomp.notify_set is now runcguard.seccomp.notify_analysis (it returns the analysis; '
                         'the set is its notify_syscalls)', version='1.0.0', collection_name='runcguard.seccomp')
    return _analysis('runcguard.seccomp.notify_set', profile, arch, caps, kernel, reader)


class FilterModule(object):
    def filters(self):
        return {'notify_analysis': notify_analysis, 'notify_set': notify_set}
