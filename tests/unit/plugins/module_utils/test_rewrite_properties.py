# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property-based tests of the NOTIFY rewrite over generated profiles.

The oracle below is an independent model of how a runtime sees one syscall: for a given reader
(Docker-style expansion of name/includes/excludes, or literal OCI), arch, capability set and
kernel, the ordered list of (action, errnoRet, args) of the rules that apply, or the default
action when none does. It shares no code with _rewrite.py.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import itertools
import json
import os

import pytest

from hypothesis import given, settings, HealthCheck, strategies as st

from ansible_collections.runcguard.seccomp.plugins.module_utils._profile import decode_profile
from ansible_collections.runcguard.seccomp.plugins.module_utils._rewrite import (
    rewrite_section, rewrite_text,
)

SYSCALLS = ['fcntl', 'fcntl64', 'connect', 'read', 'write', 'close', 'bind', 'mkdir']
ACTIONS = ['SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_NOTIFY', 'SCMP_ACT_LOG', 'SCMP_ACT_KILL_PROCESS']
ARCHES = ['amd64', 'arm64', 'x32']
CAPS = ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN']
KERNELS = ['4.8', '5.9']
NOTIFY = 'SCMP_ACT_NOTIFY'
FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures', 'rewrite')


# ----------------------------------------------------------------- oracle

def _kernel(text):
    return tuple(int(x) for x in text.split('.')[:2])


def _applies(rule, arch, caps, kernel):
    inc, exc = rule.get('includes') or {}, rule.get('excludes') or {}
    if inc.get('arches') and arch not in inc['arches']:
        return False
    if inc.get('caps') and not all(c in caps for c in inc['caps']):
        return False
    if inc.get('minKernel') and kernel < _kernel(inc['minKernel']):
        return False
    if exc.get('arches') and arch in exc['arches']:
        return False
    if exc.get('caps') and any(c in caps for c in exc['caps']):
        return False
    return True


def effective(profile, syscall, reader, arch, caps, kernel, rules=None):
    """``rules``: optional pre-selected rules naming ``syscall`` (same order), to keep big profiles fast."""
    hits = []
    for rule in profile.get('syscalls') or () if rules is None else rules:
        names = list(rule.get('names') or ())
        if reader == 'expanded':
            if rule.get('name'):
                names.append(rule['name'])
            if not _applies(rule, arch, caps, kernel):
                continue
        if syscall in names:
            hits.append((rule['action'].upper(), rule.get('errnoRet'),
                         json.dumps(rule.get('args') or [], sort_keys=True)))
    return tuple(hits) or (('default', profile['defaultAction'], profile.get('defaultErrnoRet')),)


def naming(profile, syscall):
    return [r for r in profile['syscalls'] if syscall in (r.get('names') or ()) or r.get('name') == syscall]


def contexts():
    caps_sets = [frozenset(c) for n in range(len(CAPS) + 1) for c in itertools.combinations(CAPS, n)]
    for reader in ('literal', 'expanded'):
        for arch in ARCHES + ['riscv64']:
            for caps in caps_sets:
                for kernel in [(3, 10), (4, 8), (6, 1)]:
                    yield reader, arch, caps, kernel


# ----------------------------------------------------------------- generators

names_st = st.lists(st.sampled_from(SYSCALLS), min_size=1, max_size=4, unique=True)
args_st = st.lists(st.fixed_dictionaries({'index': st.integers(0, 2), 'value': st.integers(0, 3),
                                          'op': st.sampled_from(['SCMP_CMP_EQ', 'SCMP_CMP_NE'])}), max_size=1)
filter_st = st.fixed_dictionaries({}, optional={
    'arches': st.lists(st.sampled_from(ARCHES), min_size=1, max_size=2, unique=True),
    'caps': st.lists(st.sampled_from(CAPS), min_size=1, max_size=2, unique=True),
})
include_st = st.one_of(filter_st, st.fixed_dictionaries({'minKernel': st.sampled_from(KERNELS)}))


@st.composite
def rule_st(draw, docker):
    rule = {}
    if docker and draw(st.booleans()) and draw(st.booleans()):
        rule['name'] = draw(st.sampled_from(SYSCALLS))
    else:
        rule['names'] = draw(names_st)
    rule['action'] = draw(st.sampled_from(ACTIONS))
    if rule['action'] == 'SCMP_ACT_ERRNO' and draw(st.booleans()):
        rule['errnoRet'] = draw(st.sampled_from([1, 38]))
    if draw(st.booleans()):
        rule['args'] = draw(args_st)
    if docker:
        if draw(st.booleans()):
            rule['comment'] = ''
        if draw(st.booleans()):
            rule['includes'] = draw(include_st)
        if draw(st.booleans()):
            rule['excludes'] = draw(filter_st)
    return rule


@st.composite
def profile_st(draw):
    docker = draw(st.booleans())
    profile = {'defaultAction': draw(st.sampled_from(['SCMP_ACT_ERRNO', 'SCMP_ACT_ALLOW', 'SCMP_ACT_KILL']))}
    if draw(st.booleans()):
        profile['defaultErrnoRet'] = 1
    if docker:
        profile['archMap'] = [{'architecture': 'SCMP_ARCH_X86_64', 'subArchitectures': ['SCMP_ARCH_X86']}]
    else:
        profile['architectures'] = ['SCMP_ARCH_X86_64']
    if draw(st.booleans()):
        profile['listenerPath'] = '/run/agent.sock'
    profile['syscalls'] = draw(st.lists(rule_st(docker), max_size=7))
    return profile, ('docker' if docker else 'oci')


remove_st = st.lists(st.sampled_from(['fcntl', 'fcntl64', 'close', 'write']), min_size=1, max_size=2, unique=True)
layout_st = st.sampled_from([None, 2, 4, '\t'])
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _text(profile, indent):
    if indent is None:
        return json.dumps(profile, separators=(',', ':'))
    return json.dumps(profile, indent=indent) + '\n'


# ----------------------------------------------------------------- properties

@SETTINGS
@given(profile_st(), remove_st, st.sampled_from(['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG']))
def test_other_syscalls_unchanged_and_removed_get_replacement(generated, remove, action):
    profile, fmt = generated
    new, report = rewrite_section(profile, fmt, remove, action)
    was_notified = set()
    for rule in profile['syscalls']:
        if rule['action'] == NOTIFY:
            was_notified.update(rule.get('names') or ())
            if rule.get('name'):
                was_notified.add(rule['name'])
    for ctx in contexts():
        for syscall in SYSCALLS + ['absent']:
            after = effective(new, syscall, *ctx)
            if syscall in remove:
                assert all(hit[0] != NOTIFY for hit in after), (syscall, ctx, after)
                if syscall in was_notified:
                    assert (action, None, '[]') in after, (syscall, ctx, after)
            else:
                assert after == effective(profile, syscall, *ctx), (syscall, ctx)
    # a NOTIFY rule never ends up empty
    for rule in new['syscalls']:
        assert rule.get('names') or rule.get('name')
    assert set(report['removed']) == was_notified & set(remove)


@SETTINGS
@given(profile_st(), remove_st)
def test_rewrite_twice_equals_once(generated, remove):
    profile, fmt = generated
    once = rewrite_section(profile, fmt, remove)[0]
    twice, report = rewrite_section(once, fmt, remove)
    assert twice == once
    assert report['removed'] == [] and report['added_rule'] is None


@SETTINGS
@given(profile_st(), remove_st, layout_st)
def test_text_rewrite_parses_is_idempotent_and_keeps_layout(generated, remove, indent):
    profile = generated[0]
    text = _text(profile, indent)
    result = rewrite_text(text.encode('utf-8'), remove)
    doc = decode_profile(result['after'].encode('utf-8'))[0]
    assert result['format_preserved']
    if not result['changed']:
        assert result['after'] == text
    expected = rewrite_section(profile, result['format'], remove)[0]
    assert doc == expected
    again = rewrite_text(result['after'].encode('utf-8'), remove)
    assert not again['changed'] and again['after'] == result['after']
    # a changed file keeps its layout: same indentation of the untouched first lines, same final newline
    assert result['after'].endswith('\n') == text.endswith('\n')
    assert result['after'].splitlines()[:2] == text.splitlines()[:2] or indent is None


@SETTINGS
@given(profile_st(), remove_st)
def test_notify_ensure_makes_connect_a_trigger_and_keeps_the_rest(generated, remove):
    profile, fmt = generated
    profile = dict(profile, listenerPath='/run/agent.sock')
    remove = [r for r in remove if r != 'connect']
    new = rewrite_section(profile, fmt, remove, notify_ensure=['connect'])[0]
    for ctx in contexts():
        assert (NOTIFY, None, '[]') in effective(new, 'connect', *ctx)
        for syscall in SYSCALLS:
            if syscall not in remove and syscall != 'connect':
                assert effective(new, syscall, *ctx) == effective(profile, syscall, *ctx)


# ----------------------------------------------------------------- the oracle on real-format profiles

def _mentioned(profile, key):
    out = set()
    for rule in profile['syscalls']:
        for flt in (rule.get('includes') or {}, rule.get('excludes') or {}):
            out.update(flt.get(key) or ())
    return sorted(out)


@pytest.mark.parametrize('name, ensure', [
    ('docker-agent.json', []), ('docker-agent.json', ['connect']), ('nerdctl-bypass4netns.json', ['connect']),
    ('oci-agent.json', []), ('containers-common-seccomp.json', []),
])
def test_real_profiles_every_context(name, ensure):
    with open(os.path.join(FIXTURES, name), 'rb') as handle:
        data = handle.read()
    before = json.loads(data)
    after = json.loads(rewrite_text(data, ['fcntl'], notify_ensure=ensure)['after'])
    kernels = [(3, 10), (4, 8), (6, 1)]
    syscalls = set(n for rule in before['syscalls'] for n in rule.get('names') or ())
    for syscall in syscalls:
        rules_before, rules_after = naming(before, syscall), naming(after, syscall)
        # only the arches and caps the rules naming this syscall mention can change its outcome
        relevant = {'syscalls': rules_before + rules_after}
        arches = _mentioned(relevant, 'arches') + ['riscv64']
        caps = _mentioned(relevant, 'caps')
        cap_sets = [frozenset(), frozenset(caps)] + [frozenset([c]) for c in caps]
        for ctx in itertools.product(('literal', 'expanded'), arches, cap_sets, kernels):
            got = effective(after, syscall, *ctx, rules=rules_after)
            if syscall == 'fcntl':
                assert ('SCMP_ACT_ALLOW', None, '[]') in got and all(g[0] != NOTIFY for g in got)
            elif syscall in ensure:
                assert (NOTIFY, None, '[]') in got
            else:
                assert got == effective(before, syscall, *ctx, rules=rules_before), (syscall, ctx)
