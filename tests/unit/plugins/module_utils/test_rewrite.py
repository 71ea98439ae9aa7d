# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Example-based tests of module_utils._rewrite on real-format profiles (fixtures/rewrite/)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

import pytest

from ansible_collections.runcguard.seccomp.plugins.module_utils._profile import decode_profile, notify_analysis
from ansible_collections.runcguard.seccomp.plugins.module_utils._rewrite import (
    RewriteError, detect_style, dump, rewrite_section, rewrite_text, rule_map, validate_result,
)

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures', 'rewrite')
BYPASS = ['bind', 'close', 'connect', 'setsockopt', 'fcntl', '_exit', 'exit_group', 'getpeername']


def fixture(name):
    with open(os.path.join(FIXTURES, name), 'rb') as handle:
        return handle.read()


def rules_of(doc, syscall):
    return [r for r in doc['syscalls'] if syscall in (r.get('names') or []) or r.get('name') == syscall]


@pytest.mark.parametrize('name', ['nerdctl-bypass4netns.json', 'docker-agent.json', 'oci-agent.json'])
def test_fcntl_leaves_notify_and_is_allowed(name):
    data = fixture(name)
    before, fmt = decode_profile(data)
    res = rewrite_text(data, ['fcntl'])
    after, fmt_after = decode_profile(res['after'].encode())
    assert res['changed'] and fmt_after == fmt
    assert res['report']['removed'] == ['fcntl']
    fcntl_rules = rules_of(after, 'fcntl')
    assert [r['action'] for r in fcntl_rules] == ['SCMP_ACT_ALLOW']
    assert not any(k in fcntl_rules[0] for k in ('args', 'includes', 'excludes'))
    analysis = notify_analysis(after, fmt)
    assert 'fcntl' not in analysis['notify_syscalls']
    assert set(analysis['notify_syscalls']) == set(notify_analysis(before, fmt)['notify_syscalls']) - {'fcntl'}
    # every other syscall keeps the same rules, in the same order
    b, a = rule_map(before), rule_map(after)
    assert {k: v for k, v in b.items() if k[1] != 'fcntl'} == {k: v for k, v in a.items() if k[1] != 'fcntl'}
    # nothing outside the syscalls list moved
    assert list(after) == list(before)
    assert {k: v for k, v in after.items() if k != 'syscalls'} == {k: v for k, v in before.items() if k != 'syscalls'}


def test_nerdctl_profile_keeps_compact_layout_and_minimal_change():
    data = fixture('nerdctl-bypass4netns.json')
    res = rewrite_text(data, ['fcntl'])
    assert res['format_preserved']
    assert '\n' not in res['after']
    expected = data.decode().replace(
        '{"names":["bind","close","connect","setsockopt","fcntl",',
        '{"names":["fcntl"],"action":"SCMP_ACT_ALLOW"},{"names":["bind","close","connect","setsockopt",')
    assert res['after'] == expected


def test_docker_tab_layout_kept_and_diff_is_local():
    data = fixture('docker-agent.json').decode()
    res = rewrite_text(data.encode(), ['fcntl'])
    assert res['format_preserved']
    before, after = data.splitlines(), res['after'].splitlines()
    assert after[:len(before) - 15] == before[:len(before) - 15]
    assert res['after'].endswith('}\n') and '\t\t\t"comment": "runcguard: moved out' in res['after']
    # connect stays notified
    doc = decode_profile(res['after'].encode())[0]
    assert [r['action'] for r in rules_of(doc, 'connect')] == ['SCMP_ACT_NOTIFY']


def test_unchanged_file_is_returned_byte_for_byte():
    data = fixture('containers-common-seccomp.json')
    res = rewrite_text(data, ['fcntl'])
    assert not res['changed'] and res['after'] == data.decode()


def test_second_run_changes_nothing():
    first = rewrite_text(fixture('nerdctl-bypass4netns.json'), ['fcntl'], notify_ensure=['connect'])
    second = rewrite_text(first['after'].encode(), ['fcntl'], notify_ensure=['connect'])
    assert first['changed'] and not second['changed']


def test_rule_left_empty_is_dropped_and_existing_allow_reused():
    section = {'defaultAction': 'SCMP_ACT_ERRNO', 'listenerPath': '/run/a.sock', 'syscalls': [
        {'names': ['fcntl', 'read'], 'action': 'SCMP_ACT_ALLOW'},
        {'names': ['fcntl'], 'action': 'SCMP_ACT_NOTIFY'},
    ]}
    new, report = rewrite_section(section, 'oci', ['fcntl'])
    assert new['syscalls'] == [{'names': ['fcntl', 'read'], 'action': 'SCMP_ACT_ALLOW'}]
    assert report['dropped_rules'] == 1 and report['added_rule'] is None
    assert new['listenerPath'] == '/run/a.sock'
    assert section['syscalls'][1]['names'] == ['fcntl']  # input untouched


def test_docker_singular_name_and_conditional_allow_not_reused():
    section = {'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [
        {'names': ['fcntl'], 'action': 'SCMP_ACT_ALLOW', 'includes': {'arches': ['amd64']}},
        {'name': 'fcntl', 'action': 'SCMP_ACT_NOTIFY', 'comment': 'agent'},
    ]}
    new, report = rewrite_section(section, 'docker', ['fcntl'])
    assert report['added_rule']['names'] == ['fcntl']
    assert new['syscalls'][0]['includes'] == {'arches': ['amd64']}
    assert new['syscalls'][1]['action'] == 'SCMP_ACT_ALLOW' and 'includes' not in new['syscalls'][1]
    assert len(new['syscalls']) == 2


def test_listener_removed_only_when_asked_and_unused():
    section = json.loads(fixture('oci-agent.json'))
    kept = rewrite_section(section, 'oci', ['fcntl', 'mkdir'])[0]
    assert 'listenerPath' in kept
    dropped, report = rewrite_section(section, 'oci', ['fcntl', 'mkdir'], remove_unused_listener=True)
    assert 'listenerPath' not in dropped and 'listenerMetadata' not in dropped and report['listener_removed']
    still, report = rewrite_section(section, 'oci', ['fcntl'], remove_unused_listener=True)
    assert still['listenerPath'] and not report['listener_removed']


def test_notify_ensure_moves_connect_out_of_allow_rule():
    section = json.loads(fixture('containers-common-seccomp.json'))
    section['listenerPath'] = '/run/a.sock'
    new, report = rewrite_section(section, 'docker', ['fcntl'], notify_ensure=['connect'])
    assert report['ensured'] == ['connect'] and report['stripped_for_ensure'] == ['connect']
    assert [r['action'] for r in rules_of(new, 'connect')] == ['SCMP_ACT_NOTIFY']


@pytest.mark.parametrize('kwargs, message', [
    ({'notify_ensure': ['connect']}, 'no listenerPath'),
    ({'replacement_action': 'SCMP_ACT_NOTIFY'}, 'replacement_action must be one of'),
    ({'notify_ensure': ['fcntl']}, 'both in notify_remove and notify_ensure'),
])
def test_refusals(kwargs, message):
    section = {'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'names': ['fcntl'], 'action': 'SCMP_ACT_ALLOW'}]}
    with pytest.raises(RewriteError, match=message):
        rewrite_section(section, 'oci', ['fcntl'], **kwargs)


def test_bundle_config_json_is_refused():
    bundle = {'ociVersion': '1.0.2', 'process': {}, 'linux': {'seccomp': {
        'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'names': ['fcntl'], 'action': 'SCMP_ACT_NOTIFY'}]}}}
    with pytest.raises(RewriteError, match='OCI bundle .*no future container'):
        rewrite_text(json.dumps(bundle).encode(), ['fcntl'], path='/run/containerd/x/config.json')


@pytest.mark.parametrize('data, message', [
    (b'{"defaultAction": "SCMP_ACT_ERRNO", ', 'malformed JSON'),
    (b'\x7fELF\x00\x00\x01', 'binary'),
    (b'[1, 2]', 'not an object'),
    (b'{"syscalls": []}', 'defaultAction'),
    (b'{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["fcntl\\ud800"], "action": "SCMP_ACT_NOTIFY"}]}',
     'unpaired UTF-16 surrogate'),
])
def test_bad_input(data, message):
    with pytest.raises(RewriteError, match=message):
        rewrite_text(data, ['fcntl'])


def test_validation_catches_a_broken_result():
    before = {'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [
        {'names': ['fcntl', 'read'], 'action': 'SCMP_ACT_NOTIFY'}]}
    # a naive removal: fcntl would fall through to the deny default
    naive = {'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'names': ['read'], 'action': 'SCMP_ACT_NOTIFY'}]}
    with pytest.raises(RewriteError, match='no unconditional SCMP_ACT_ALLOW rule for fcntl'):
        validate_result(before, naive, 'oci', ['fcntl'], 'SCMP_ACT_ALLOW')
    # dropping the whole rule changes read
    dropped = {'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'names': ['fcntl', 'read'], 'action': 'SCMP_ACT_ALLOW'}]}
    with pytest.raises(RewriteError, match='changes the rules of read'):
        validate_result(before, dropped, 'oci', ['fcntl'], 'SCMP_ACT_ALLOW')
    with pytest.raises(RewriteError, match='still has fcntl'):
        validate_result(before, before, 'oci', ['fcntl'], 'SCMP_ACT_ALLOW')
    with_errno = {'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [
        {'names': ['fcntl'], 'action': 'SCMP_ACT_ERRNO', 'args': [{'index': 1, 'value': 4, 'op': 'SCMP_CMP_EQ'}]},
        {'names': ['fcntl', 'read'], 'action': 'SCMP_ACT_NOTIFY'}]}
    lost_errno = {'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [
        {'names': ['fcntl'], 'action': 'SCMP_ACT_ALLOW'}, {'names': ['read'], 'action': 'SCMP_ACT_NOTIFY'}]}
    with pytest.raises(RewriteError, match='changes the non-NOTIFY rules of fcntl'):
        validate_result(with_errno, lost_errno, 'oci', ['fcntl'], 'SCMP_ACT_ALLOW')
    validate_result(with_errno, rewrite_section(with_errno, 'oci', ['fcntl'])[0], 'oci', ['fcntl'], 'SCMP_ACT_ALLOW')
    changed_default = dict(before, defaultAction='SCMP_ACT_ALLOW',
                           syscalls=[{'names': ['fcntl'], 'action': 'SCMP_ACT_ALLOW'},
                                     {'names': ['read'], 'action': 'SCMP_ACT_NOTIFY'}])
    with pytest.raises(RewriteError, match='top-level'):
        validate_result(before, changed_default, 'oci', ['fcntl'], 'SCMP_ACT_ALLOW')


HAND_WRITTEN = '''{
  "defaultAction": "SCMP_ACT_ERRNO",
  "listenerPath": "/run/agent.sock",
  "syscalls": [
    { "names": [ "read", "write" ], "action": "SCMP_ACT_ALLOW" },
    {
      "names": [ "fcntl", "openat" ],
      "action": "SCMP_ACT_NOTIFY",
      "args": [ { "index": 1, "value": 2, "op": "SCMP_CMP_EQ" } ]
    }
  ]
}
'''


def test_hand_written_layout_detection():
    style = detect_style(HAND_WRITTEN)
    assert style['indent'] == '  ' and style['inline_lists'] and style['pad'] == ' '
    doc = json.loads(HAND_WRITTEN)
    res = rewrite_text(HAND_WRITTEN.encode(), ['fcntl'])
    assert '"names": [ "openat" ]' in res['after']
    assert '"names": [ "read", "write" ]' in res['after']
    assert dump(doc, style).count('\n') >= 5


@pytest.mark.parametrize('text', [
    '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["a"],"action":"SCMP_ACT_ALLOW"}]}',
    '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a", "b"], "action": "SCMP_ACT_ALLOW"}]}\n',
    '{\n\t"defaultAction": "SCMP_ACT_ERRNO",\n\t"syscalls": []\n}',
    '{\r\n  "defaultAction": "SCMP_ACT_ERRNO",\r\n  "syscalls": [\r\n    {\r\n      "names": [\r\n        "a"\r\n'
    '      ],\r\n      "action": "SCMP_ACT_ALLOW"\r\n    }\r\n  ]\r\n}\r\n',
    '{\n    "comment": "caf\u00e9",\n    "defaultAction": "SCMP_ACT_ERRNO"\n}\n',
    '{\n    "comment": "caf\\u00e9",\n    "defaultAction": "SCMP_ACT_ERRNO"\n}\n',
])
def test_layout_round_trip(text):
    assert dump(json.loads(text), detect_style(text)) == text


def test_duplicate_keys_are_refused_with_their_paths():
    data = (b'{"defaultAction": "SCMP_ACT_ERRNO", "listenerPath": "/run/a.sock",\n'
            b' "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}],\n'
            b' "syscalls": [{"names": ["fcntl"], "action": "SCMP_ACT_NOTIFY"}],\n'
            b' "listenerPath": "/run/b.sock"}\n')
    with pytest.raises(RewriteError) as err:
        rewrite_text(data, ['fcntl'])
    assert 'duplicate JSON keys ($.syscalls, $.listenerPath)' in str(err.value)
    assert 'by hand' in str(err.value)
