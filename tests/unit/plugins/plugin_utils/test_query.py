# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import OrderedDict

import pytest

from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _query
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._query import (
    QueryError,
    compile_query,
    describe,
    optional_query,
    plain,
    truthy,
)

FINDING = {
    'id': 'notify-fcntl-hang', 'severity': 'critical', 'profile': '/var/lib/kubelet/seccomp/b4ns.json',
    'origin': [{'engine': 'kubelet', 'setting': 'localhost/b4ns.json'}, {'engine': 'docker', 'setting': 'x'}],
    'runtime': {'name': 'runc', 'path': '/usr/sbin/runc', 'version': '1.2.0-rc.2'},
    'syscalls': ['fcntl', 'sendmsg'],
}


@pytest.mark.parametrize('expression, expected', [
    ("runtime.version == '1.2.0-rc.2' && contains(origin[].engine, 'kubelet')", True),
    ("runtime.version == '1.2.0-rc.1' && contains(origin[].engine, 'kubelet')", False),
    ("contains(syscalls, 'fcntl')", True),
    ("severity == 'high'", False),
    ("origin[?engine=='docker'].setting", ['x']),
    ('length(syscalls)', 2),
    ('missing.key', None),
])
def test_search_over_a_finding(expression, expected):
    assert compile_query(expression, 'w').search(FINDING) == expected


@pytest.mark.parametrize('result, expected', [
    (None, False), (False, False), (0, False), (0.0, False), ('', False), ([], False), ({}, False),
    (True, True), (1, True), (-2, True), ('x', True), ([None], True), ({'a': None}, True),
])
def test_truthy_is_jmespath_falsiness_plus_zero(result, expected):
    assert truthy(result) is expected


@pytest.mark.parametrize('expression, text', [
    ('foo[', r'audit_fail_query: invalid JMESPath expression "foo\[": the expression ends too early at position 4'),
    ('a b', r"unexpected 'b' at position 2"),
    ("a.'b", r"Unclosed ' delimiter at position 2"),
    ('', 'the expression is empty'),
    ('   ', 'the expression is empty'),
    ('hosts[?nope(status)]', r'unknown function nope\(\) at position 7 \(known: abs, '),
    ('length(a, b)', r'length\(\) takes 1 argument\(s\), got 2 at position 0'),
    ('not_null()', r'not_null\(\) takes at least 1 argument\(s\), got 0'),
])
def test_invalid_expressions_name_variable_expression_and_position(expression, text):
    with pytest.raises(QueryError, match=text) as info:
        compile_query(expression, 'audit_fail_query')
    message = str(info.value)
    assert message.startswith('audit_fail_query: ')
    if 'position' in message:
        # The caret line points at the reported position under the echoed expression.
        position = int(message.split(' at position ')[1].split()[0])
        lines = message.splitlines()
        assert lines[-2] == '  ' + expression and lines[-1] == '  ' + ' ' * position + '^'


def test_not_a_string():
    with pytest.raises(QueryError, match='remediate_select: a JMESPath expression must be a string, got list'):
        compile_query(['a'], 'remediate_select')


def test_compiled_once_per_variable_and_expression():
    first = compile_query('hosts[].host', 'audit_fail_query')
    assert compile_query('hosts[].host', 'audit_fail_query') is first
    # The same text under another name keeps its own name for error messages.
    other = compile_query('hosts[].host', 'remediate_select')
    assert other is not first and other.variable == 'remediate_select'


def test_runtime_error_names_variable_expression_and_data():
    query = compile_query("contains(origin, 'kubelet')", 'waiver #2 when')
    with pytest.raises(QueryError) as info:
        query.search({'origin': None}, 'finding notify-fcntl-hang|/p.json|/usr/bin/runc')
    message = str(info.value)
    assert message.startswith('waiver #2 when: JMESPath expression "contains(origin, \'kubelet\')" failed on '
                              'finding notify-fcntl-hang|/p.json|/usr/bin/runc: In function contains()')
    assert '\n' not in message


def test_optional_query():
    assert optional_query(None, 'v') is None
    assert optional_query('', 'v') is None
    assert optional_query('  ', 'v') is None
    assert optional_query('a', 'v').matches({'a': 1})


def test_missing_library_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(_query, 'jmespath', None)
    monkeypatch.setattr(_query, '_CACHE', {})
    with pytest.raises(QueryError, match='audit_fail_query: the jmespath Python library is needed on the controller'):
        compile_query('a', 'audit_fail_query')


class TaggedStr(str):
    """Stands in for Ansible's tagged strings (type name is not 'str')."""


class LazyList(list):
    pass


class LazyDict(dict):
    pass


def test_plain_makes_subclasses_json_types():
    data = LazyDict(syscalls=LazyList([TaggedStr('fcntl')]), n=True, when=OrderedDict(a=(1, 2.5)))
    clean = plain(data)
    assert clean == {'syscalls': ['fcntl'], 'n': True, 'when': {'a': [1, 2.5]}}
    kinds = [value.__class__.__name__ for value in (clean, clean['syscalls'], clean['syscalls'][0], clean['when'])]
    assert kinds == ['dict', 'list', 'str', 'dict']


def test_search_works_on_ansible_like_subclasses_that_fail_jmespath_type_checks():
    data = LazyDict(syscalls=LazyList([TaggedStr('fcntl')]), origin=LazyList([LazyDict(engine=TaggedStr('kubelet'))]))
    query = compile_query("contains(syscalls, 'fcntl') && length(origin[?engine=='kubelet']) == `1`", 'v')
    # jmespath alone refuses the subclasses in its function type checks ...
    with pytest.raises(Exception, match='invalid type'):
        query._parsed.search(data)
    # ... the query retries on a plain copy, and the data itself is left as it was.
    assert query.search(data) is True
    assert isinstance(data['syscalls'], LazyList)
    # A genuine error still names the variable and the data.
    with pytest.raises(QueryError, match='v: JMESPath expression .* failed on x: In function contains'):
        compile_query("contains(missing, 'a')", 'v').search(data, 'x')


def test_describe_is_bounded_json():
    assert describe(['node1', 'node2']) == '["node1", "node2"]'
    text = describe(['x' * 50] * 100, limit=120)
    assert text.startswith('["xxxx') and text.endswith('... (5400 characters in all)')
    assert len(text) < 160
