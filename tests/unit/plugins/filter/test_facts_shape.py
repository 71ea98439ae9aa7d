# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Untrusted facts of the wrong shape fail with the field's name, never with an AttributeError.

In the filter tests because it also drives the notify_findings filter (controller code), which
ansible-test does not let module_utils unit tests import."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.runcguard.seccomp.plugins.filter.notify_findings import notify_findings
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.discovery import gather
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._facts import FactsError, check_facts
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._hazards import evaluate

FACTS = {
    'schema': 1, 'arch': 'x86_64', 'kernel': '6.1.0', 'libseccomp': '2.5.4',
    'runtimes': [{'name': 'runc', 'path': '/usr/bin/runc', 'paths': ['/usr/bin/runc'], 'realpath': '/usr/bin/runc',
                  'version': '1.2.0-rc.2', 'dev': False, 'commit': 'v1.2.0-rc.2-0-gf2d2ee5e4', 'libseccomp': '2.5.4',
                  'package': None, 'used_by': ['docker'], 'error': None}],
    'profiles': [{'path': '/etc/docker/agent.json', 'realpath': '/etc/docker/agent.json', 'format': 'oci',
                  'origin': [{'engine': 'docker', 'setting': 'daemon.json seccomp-profile'}],
                  'default_action': 'SCMP_ACT_ALLOW', 'listener_path': '/run/agent.sock', 'listener_exists': True,
                  'architectures': [], 'notify': [{'names': ['fcntl']}], 'notify_syscalls': ['fcntl'],
                  'notify_sets': {'literal': ['fcntl']}, 'bundle': None, 'duplicate_keys': [], 'warning': None,
                  'error': None}],
    'engines': {}, 'scan': {'errors': []},
}


def test_documented_shape_passes_and_evaluates():
    check_facts(FACTS)
    assert [f['id'] for f in evaluate(FACTS)]


@pytest.mark.parametrize('change, message', [
    (lambda f: f['profiles'][0].update(bundle='x'), 'facts.profiles[0].bundle must be an object, got a string'),
    (lambda f: f['profiles'][0].update(origin='docker'), 'facts.profiles[0].origin must be a list, got a string'),
    (lambda f: f['profiles'][0].update(origin=['docker']), 'facts.profiles[0].origin[0] must be an object'),
    (lambda f: f['profiles'][0].update(notify_syscalls=[1]), 'facts.profiles[0].notify_syscalls[0] must be a string'),
    (lambda f: f['profiles'][0].update(notify_sets=[]), 'facts.profiles[0].notify_sets must be an object'),
    (lambda f: f['profiles'][0].update(listener_exists='yes'), 'listener_exists must be true or false or null'),
    (lambda f: f['runtimes'][0].update(used_by=5), 'facts.runtimes[0].used_by must be a list, got a number'),
    (lambda f: f['runtimes'][0].update(version=['1.2.0']), 'facts.runtimes[0].version must be a string or null'),
    (lambda f: f.update(runtimes='runc'), 'facts.runtimes must be a list or null, got a string'),
    (lambda f: f.update(kernel=True), 'facts.kernel must be a string or null, got a boolean'),
])
def test_wrong_types_name_the_field(change, message):
    facts = copy.deepcopy(FACTS)
    change(facts)
    with pytest.raises(FactsError) as err:
        evaluate(facts)
    assert message in str(err.value)
    with pytest.raises(AnsibleFilterError, match='notify_findings: facts'):
        notify_findings(facts)


def test_nulls_and_missing_fields_are_fine():
    facts = copy.deepcopy(FACTS)
    facts['profiles'][0].update(bundle=None, origin=None, notify_sets=None)
    del facts['runtimes'][0]['used_by']
    check_facts(facts)
    check_facts({})
    with pytest.raises(FactsError, match='facts must be an object'):
        check_facts(None)


class _TaggedStr(str):
    """Like Ansible's tagged strings (ansible-core 2.19+): a str subclass."""


def test_wrong_type_named_for_str_subclasses():
    facts = copy.deepcopy(FACTS)
    facts['profiles'][0]['bundle'] = _TaggedStr('x')
    with pytest.raises(FactsError) as err:
        check_facts(facts)
    assert str(err.value) == 'facts.profiles[0].bundle must be an object, got a string'


def test_a_scan_of_hostile_files_has_the_shape_the_controller_checks(tmp_path):
    """What runtime_facts sends (here: a bad file name, duplicate keys, an unreadable runtime, an
    inline Docker profile with a lone surrogate) passes the controller's shape check as is."""
    root = tmp_path / 'root'
    kube = root / 'var' / 'lib' / 'kubelet' / 'seccomp'
    kube.mkdir(parents=True)
    notify = b'{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["fcntl"], "action": "SCMP_ACT_NOTIFY"}]}'
    with open(os.path.join(str(kube).encode(), b'bad\xffname.json'), 'wb') as handle:
        handle.write(notify)
    (kube / 'dup.json').write_bytes(b'{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [], "syscalls": []}')
    hostconfig = root / 'var' / 'lib' / 'docker' / 'containers' / 'd1' / 'hostconfig.json'
    hostconfig.parent.mkdir(parents=True)
    hostconfig.write_bytes(b'{"SecurityOpt": ["seccomp={\\"defaultAction\\": \\"\\ud800\\"}"]}')
    (root / 'etc' / 'docker').mkdir(parents=True)
    (root / 'etc' / 'docker' / 'daemon.json').write_text('{}')  # Docker present: its containers are read
    facts = gather(profile_paths=['/var/lib/kubelet/seccomp'], runtime_paths=['/usr/bin/nothing-here'],
                   command_timeout=5, _root=str(root))
    assert len(facts['profiles']) == 3 and len(facts['scan']['errors']) == 4
    check_facts(facts)
    evaluate(facts)


def test_depth_and_lone_surrogates_are_bounded_iteratively():
    """check_tree walks without recursion: 100,000 levels are refused with a message, not a RecursionError."""
    from ansible_collections.runcguard.seccomp.plugins.plugin_utils._facts import MAX_DEPTH, check_tree
    deep = []
    for _level in range(100000):
        deep = [deep]
    with pytest.raises(FactsError, match=r'^facts\.scan\.x(\[0\]){%d} is nested more than %d' % (MAX_DEPTH - 2, MAX_DEPTH)):
        check_facts(dict(FACTS, scan={'x': deep}))
    with pytest.raises(FactsError, match=r'^facts\.profiles\[0\]\.origin\[0\]\.engine holds a lone UTF-16 surrogate'):
        check_facts(dict(FACTS, profiles=[dict(FACTS['profiles'][0], origin=[{'engine': 'do\udc80cker'}])]))
    with pytest.raises(FactsError, match=r'^facts\.engines has a key with a lone UTF-16 surrogate'):
        check_facts(dict(FACTS, engines={'\ud800': {}}))
    check_tree({'paired': '\U0001f600 \u00e9', 'x': [[[]]]}, 'ok', max_depth=4)  # real Unicode, depth 4: fine
    with pytest.raises(FactsError, match=r'^ok\.x\[0\]\[0\] is nested more than 3'):
        check_tree({'paired': '\U0001f600', 'x': [[[]]]}, 'ok', max_depth=3)
