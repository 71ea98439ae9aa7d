# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: controller-side preview of the seccomp_profile rewrite (thin wrapper over module_utils._rewrite)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_string

from ansible_collections.runcguard.seccomp.plugins.module_utils._rewrite import RewriteError, rewrite_text

_NAME = 'runcguard.seccomp.notify_rewrite'


def _str_list(value, label):
    if is_string(value) or not isinstance(value, (list, tuple)) or not all(is_string(v) for v in value):
        raise AnsibleFilterError('%s: %s must be a list of syscall names' % (_NAME, label))
    return [str(v) for v in value]


def notify_rewrite(profile, notify_remove=None, replacement_action='SCMP_ACT_ALLOW', notify_ensure=None,
                   remove_unused_listener=False):
    if isinstance(profile, dict):
        text = json.dumps(profile, indent=2) + '\n'
    elif is_string(profile):
        text = str(profile)
    else:
        raise AnsibleFilterError('%s: profile must be a dict or JSON text, got %s' % (_NAME, type(profile).__name__))
    remove = _str_list(['fcntl'] if notify_remove is None else notify_remove, 'notify_remove')
    ensure = _str_list([] if notify_ensure is None else notify_ensure, 'notify_ensure')
    if not is_string(replacement_action):
        raise AnsibleFilterError('%s: replacement_action must be a string' % _NAME)
    if not isinstance(remove_unused_listener, bool):
        raise AnsibleFilterError('%s: remove_unused_listener must be a boolean' % _NAME)
    try:
        res = rewrite_text(text.encode('utf-8'), remove, str(replacement_action), ensure, remove_unused_listener)
    except RewriteError as exc:
        raise AnsibleFilterError('%s: %s' % (_NAME, exc))
    out = dict(res['report'])
    out.update(changed=res['changed'], format=res['format'], text=res['after'],
               profile=json.loads(res['after'].lstrip('\ufeff')))
    return out


class FilterModule(object):
    def filters(self):
        return {'notify_rewrite': notify_rewrite}
