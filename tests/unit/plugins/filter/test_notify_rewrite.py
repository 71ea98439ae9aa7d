# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.runcguard.seccomp.plugins.filter.notify_rewrite import FilterModule, notify_rewrite

FIXTURES = os.path.join(os.path.dirname(__file__), '..', 'module_utils', 'fixtures', 'rewrite')


def read(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def test_registered():
    assert FilterModule().filters()['notify_rewrite'] is notify_rewrite


def test_text_input_keeps_layout_and_matches_module_code():
    text = read('nerdctl-bypass4netns.json')
    out = notify_rewrite(text)
    assert out['changed'] and out['removed'] == ['fcntl'] and out['format'] == 'oci'
    assert '\n' not in out['text'] and json.loads(out['text']) == out['profile']
    assert {'names': ['fcntl'], 'action': 'SCMP_ACT_ALLOW'} in out['profile']['syscalls']
    assert not notify_rewrite(out['text'])['changed']


def test_dict_input_and_options():
    profile = json.loads(read('oci-agent.json'))
    out = notify_rewrite(profile, notify_remove=['fcntl', 'mkdir'], replacement_action='SCMP_ACT_LOG',
                         remove_unused_listener=True)
    assert out['notify_after'] == [] and out['listener_removed'] and 'listenerPath' not in out['profile']
    assert out['added_rule'] == {'names': ['fcntl', 'mkdir'], 'action': 'SCMP_ACT_LOG'}
    assert 'fcntl' in profile['syscalls'][1]['names']  # input not modified


@pytest.mark.parametrize('args, kwargs, message', [
    ([42], {}, 'profile must be a dict or JSON text'),
    (['{"defaultAction": '], {}, 'malformed JSON'),
    (['{"defaultAction": "SCMP_ACT_ERRNO"}'], {'notify_remove': 'fcntl'}, 'notify_remove must be a list'),
    (['{"defaultAction": "SCMP_ACT_ERRNO"}'], {'notify_ensure': [1]}, 'notify_ensure must be a list'),
    (['{"defaultAction": "SCMP_ACT_ERRNO"}'], {'replacement_action': 'SCMP_ACT_NOTIFY'}, 'replacement_action'),
    (['{"defaultAction": "SCMP_ACT_ERRNO"}'], {'remove_unused_listener': 'yes'}, 'must be a boolean'),
    (['{"ociVersion": "1.0.2", "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ERRNO"}}}'], {}, 'OCI bundle'),
])
def test_errors_name_the_filter_and_argument(args, kwargs, message):
    with pytest.raises(AnsibleFilterError, match='runcguard.seccomp.notify_rewrite: .*' + message):
        notify_rewrite(*args, **kwargs)
