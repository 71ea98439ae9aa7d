# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.runcguard.seccomp.plugins.module_utils._profile import (
    ProfileError,
    decode_profile,
    describe_profile,
    notify_analysis,
)

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures', 'profiles')


def load(name):
    with open(os.path.join(FIXTURES, name), 'rb') as handle:
        return handle.read()


def test_bypass4netns_profile():
    info = describe_profile(load('bypass4netns-oci.json'), arch='x86_64')
    assert info['format'] == 'oci'
    assert info['notify_syscalls'] == [
        '_exit', 'bind', 'close', 'connect', 'exit_group', 'fcntl', 'getpeername', 'setsockopt']
    assert info['listener_path'] == '/run/user/1000/bypass4netns.sock'
    assert info['default_action'] == 'SCMP_ACT_ERRNO'
    assert info['notify'][0]['index'] == 1
    assert info['notify'][0]['conditional'] is False


def test_docker_format_readers_differ():
    data = load('docker-arch-notify.json')
    doc, fmt = decode_profile(data)
    assert fmt == 'docker'
    # Docker on amd64 drops the arm64-only fcntl rule; a CAP_NET_ADMIN container drops connect
    docker = notify_analysis(doc, fmt, arch='x86_64', caps=['CAP_NET_ADMIN'], kernel='6.1.0', reader='docker')
    assert docker['notify_syscalls'] == ['sendmsg']
    assert set(docker['notify_sets']) == {'expanded'}
    # containerd reads OCI: includes ignored, singular "name" ignored
    containerd = notify_analysis(doc, fmt, arch='x86_64', reader='containerd')
    assert containerd['notify_syscalls'] == ['bpf', 'connect', 'fcntl']
    # unknown reader: union of both readings
    unknown = notify_analysis(doc, fmt, arch='x86_64')
    assert unknown['notify_syscalls'] == ['bpf', 'connect', 'fcntl', 'sendmsg']
    assert unknown['architectures'] == ['SCMP_ARCH_X86_64', 'SCMP_ARCH_AARCH64']


def test_docker_filters_unknown_values_count_and_are_conditional():
    doc, fmt = decode_profile(load('docker-arch-notify.json'))
    info = notify_analysis(doc, fmt, reader='docker')
    assert info['notify_syscalls'] == ['bpf', 'connect', 'fcntl', 'sendmsg']
    by_name = dict((r['names'][0], r) for r in info['notify'])
    assert by_name['fcntl']['conditional'] is True
    assert by_name['sendmsg']['conditional'] is False
    assert by_name['fcntl']['arches'] == ['arm64']


def test_docker_min_kernel_and_caps():
    doc, fmt = decode_profile(load('docker-arch-notify.json'))
    old = notify_analysis(doc, fmt, arch='aarch64', caps=['CAP_SYS_ADMIN'], kernel='5.4.0', reader='docker')
    assert 'bpf' not in old['notify_syscalls'] and 'fcntl' in old['notify_syscalls']
    new = notify_analysis(doc, fmt, arch='aarch64', caps=['CAP_SYS_ADMIN'], kernel='5.10.0-21-arm64',
                          reader='podman')
    assert 'bpf' in new['notify_syscalls']
    nocap = notify_analysis(doc, fmt, arch='aarch64', caps=[], kernel='5.10', reader='cri-o')
    assert 'bpf' not in nocap['notify_syscalls'] and 'connect' in nocap['notify_syscalls']


def test_rule_with_args_counts_and_is_conditional():
    profile = {'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/x',
               'syscalls': [{'names': ['fcntl'], 'action': 'SCMP_ACT_NOTIFY',
                             'args': [{'index': 1, 'value': 1030, 'op': 'SCMP_CMP_EQ'}]}]}
    info = describe_profile(json.dumps(profile).encode())
    assert info['notify_syscalls'] == ['fcntl']
    assert info['notify'][0]['conditional'] is True


def test_bundle():
    info = describe_profile(load('bundle-config.json'))
    assert info['format'] == 'bundle'
    assert info['notify_syscalls'] == ['connect', 'fcntl']
    assert describe_profile(load('bundle-noseccomp.json')) is None


def test_default_notify_and_plain():
    assert describe_profile(load('notify-default.json'))['default_notify'] is True
    plain = describe_profile(load('plain-allow.json'))
    assert plain['notify_syscalls'] == [] and plain['default_notify'] is False


def test_action_case_insensitive():
    profile = b'{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["fcntl"], "action": "scmp_act_notify"}]}'
    assert describe_profile(profile)['notify_syscalls'] == ['fcntl']


@pytest.mark.parametrize('data, fragment', [
    (b'', 'empty file'),
    (b'   \n', 'empty file'),
    (b'{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [', 'malformed JSON'),
    (b'[1, 2]', 'top level is a JSON list'),
    (b'"text"', 'top level is a JSON str'),
    (b'\x00\x01\x02binary', 'binary content'),
    (b'{"defaultAction": "\xff\xfe"}', 'not valid UTF-8'),
    (b'{"syscalls": []}', 'defaultAction is missing'),
    (b'{"defaultAction": 3}', 'defaultAction is missing or not a string'),
    (b'{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": {}}', 'syscalls must be a list'),
    (b'{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [5]}', 'syscalls[0] must be an object'),
    (b'{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": "fcntl", "action": "SCMP_ACT_NOTIFY"}]}',
     'syscalls[0].names must be a list of strings'),
    (b'{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["a"]}]}', 'syscalls[0].action'),
    (b'{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["a"], "action": "X", "args": 1}]}',
     'syscalls[0].args must be a list of objects'),
    (b'{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": 7}', 'listenerPath must be a string'),
    (b'{"defaultAction": "SCMP_ACT_ALLOW", "archMap": "x"}', 'archMap must be a list of objects'),
    (b'{"defaultAction": "A", "syscalls": [{"name": "a", "action": "X", "includes": {"caps": "CAP_X"}}]}',
     'includes.caps must be a list of strings'),
    (b'{"ociVersion": "1.0.0", "linux": {"seccomp": []}}', 'linux.seccomp must be an object'),
    (b'{"ociVersion": "1.0.0", "linux": {"seccomp": {"syscalls": []}}}', 'linux.seccomp.defaultAction'),
    (b'{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["a\\ud800"], "action": "X"}]}',
     '$.syscalls[0].names[0] holds an unpaired UTF-16 surrogate escape (a\\ud800)'),
    (b'{"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "\\udc00"}', 'surrogate escape'),
    (b'{"defaultAction": "SCMP_ACT_ALLOW", "x": ' + b'[' * 100000 + b']' * 100000 + b'}', 'nested too deeply'),
])
def test_bad_input_messages(data, fragment):
    with pytest.raises(ProfileError) as err:
        describe_profile(data)
    assert fragment in str(err.value)


def test_utf8_bom_is_accepted():
    assert describe_profile(b'\xef\xbb\xbf{"defaultAction": "SCMP_ACT_ALLOW"}')['format'] == 'oci'


def test_paired_surrogate_escapes_are_ordinary_text():
    assert describe_profile(b'{"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "\\ud83d\\ude00"}')


def test_duplicate_keys_read_as_go_reads_them():
    """Go's encoding/json: the last value wins, a repeated object merges into the first."""
    data = (b'{"defaultAction": "SCMP_ACT_ERRNO", "listenerPath": "/run/a.sock",'
            b' "syscalls": [{"names": ["fcntl", "connect"], "action": "SCMP_ACT_NOTIFY"}],'
            b' "syscalls": [{"names": ["connect"], "action": "SCMP_ACT_NOTIFY",'
            b' "includes": {"arches": ["amd64"]}, "includes": {"caps": ["CAP_SYS_ADMIN"]}}],'
            b' "listenerPath": "/run/b.sock"}')
    info = describe_profile(data)
    assert info['notify_syscalls'] == ['connect'] and info['listener_path'] == '/run/b.sock'
    assert info['duplicate_keys'] == ['$.syscalls', '$.listenerPath', '$.syscalls[0].includes']
    doc = decode_profile(data)[0]
    assert doc['syscalls'][0]['includes'] == {'arches': ['amd64'], 'caps': ['CAP_SYS_ADMIN']}
    assert describe_profile(b'{"defaultAction": "SCMP_ACT_ALLOW"}')['duplicate_keys'] == []
