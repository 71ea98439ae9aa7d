# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Untouched lines stay byte-identical through a rewrite, for the layouts people write."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import difflib
import json
import os
import re

import pytest

from ansible_collections.runcguard.seccomp.plugins.module_utils._layout import LayoutError, parse_spans, splice
from ansible_collections.runcguard.seccomp.plugins.module_utils._layout import detect_style
from ansible_collections.runcguard.seccomp.plugins.module_utils._rewrite import rewrite_text

REPO = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..')
EXAMPLE = os.path.join(REPO, 'docs', 'examples', 'bypass4netns-profile.json')

PROFILE = {
    'defaultAction': 'SCMP_ACT_ERRNO',
    'architectures': ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
    'listenerPath': '/run/agent.sock',
    'syscalls': [
        {'names': ['read', 'write'], 'action': 'SCMP_ACT_ALLOW'},
        {'names': ['connect', 'fcntl', 'bind'], 'action': 'SCMP_ACT_NOTIFY'},
        {'names': ['clone'], 'action': 'SCMP_ACT_ALLOW',
         'args': [{'index': 0, 'value': 2114060288, 'valueTwo': 0, 'op': 'SCMP_CMP_MASKED_EQ'}]},
    ],
}


_SCALAR = r'(?:"[^"\n]*"|-?\d+)'
_SCALAR_LIST = re.compile(r'\[\s*\n\s*(%s(?:,\s*\n\s*%s)*)\s*\n\s*\]' % (_SCALAR, _SCALAR))
_FLAT_OBJECT = re.compile(r'\{\s*\n\s*("[^"\n]*": %s(?:,\s*\n\s*"[^"\n]*": %s)*)\s*\n\s*\}' % (_SCALAR, _SCALAR))


def _one_line_arrays(indent, newline='\n'):
    """json.dumps(indent=...) with every scalar list and flat object on one line, as people write them."""
    text = json.dumps(PROFILE, indent=indent)
    for pattern, open_, close in ((_SCALAR_LIST, '[', ']'), (_FLAT_OBJECT, '{', '}')):
        text = pattern.sub(lambda m, o=open_, c=close: o + re.sub(r',\s*\n\s*', ', ', m.group(1)) + c, text)
    return text.replace('\n', newline) + newline


LAYOUTS = {
    'two spaces': json.dumps(PROFILE, indent=2) + '\n',
    'four spaces': json.dumps(PROFILE, indent=4) + '\n',
    'tabs': json.dumps(PROFILE, indent='\t') + '\n',
    'compact': json.dumps(PROFILE, separators=(',', ':')),
    'one line spaced': json.dumps(PROFILE),
    'crlf': json.dumps(PROFILE, indent=2).replace('\n', '\r\n') + '\r\n',
    'bom': '\ufeff' + json.dumps(PROFILE, indent=4) + '\n',
    'one-line arrays': _one_line_arrays(2),
    'one-line arrays, tabs, crlf': _one_line_arrays('\t', '\r\n'),
    'irregular': ('{ "defaultAction" : "SCMP_ACT_ERRNO",\n   "architectures":["SCMP_ARCH_X86_64" , "SCMP_ARCH_X86"],\n'
                  '"listenerPath": "/run/agent.sock",\n  "syscalls": [\n'
                  '      { "names": [ "read","write" ], "action": "SCMP_ACT_ALLOW" },\n'
                  '   {"names": ["connect",  "fcntl",   "bind"],\n      "action":"SCMP_ACT_NOTIFY"},\n'
                  '  {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [ {"index": 0, "value": 2114060288,'
                  ' "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"} ] }\n  ]\n}\n'),
}


def changed_lines(before, after):
    """Original lines that are not in the result byte for byte, and the lines that are new."""
    a, b = before.splitlines(True), after.splitlines(True)
    gone, new = [], []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag != 'equal':
            gone.extend(a[i1:i2])
            new.extend(b[j1:j2])
    return gone, new


@pytest.mark.parametrize('name', sorted(LAYOUTS))
def test_untouched_lines_are_byte_identical(name):
    text = LAYOUTS[name]
    assert json.loads(text.lstrip('\ufeff')) == PROFILE
    res = rewrite_text(text.encode('utf-8'), ['fcntl'])
    assert res['changed'] and res['format_preserved']
    after = res['after']
    assert json.loads(after.lstrip('\ufeff'))['syscalls'][1] == {'names': ['fcntl'], 'action': 'SCMP_ACT_ALLOW'}
    gone, _new = changed_lines(text, after)
    if '\n' in text.strip():
        # only lines that held fcntl changed; the args line, the architectures line etc. did not
        assert gone and all('fcntl' in line for line in gone), gone
    # everything before the NOTIFY rule is a byte-identical prefix, everything after it a suffix
    cut = text.index('"connect"')
    head = text[:text.rfind('{', 0, cut)]
    tail = text[text.index('"bind"'):]
    tail = tail[tail.index('}'):]
    assert after.startswith(head) and after.endswith(tail)
    assert after.startswith('\ufeff') == text.startswith('\ufeff')
    assert ('\r\n' in after) == ('\r\n' in text)
    again = rewrite_text(after.encode('utf-8'), ['fcntl'])
    assert not again['changed'] and again['after'] == after


def test_our_own_example_keeps_its_layout():
    with open(EXAMPLE, 'rb') as handle:
        data = handle.read()
    res = rewrite_text(data, ['fcntl'], notify_ensure=['connect'])
    assert res['format_preserved'] is True
    gone, new = changed_lines(data.decode(), res['after'])
    assert len(gone) == 1 and '"fcntl"' in gone[0]
    # the new rule, in the file's own layout (two spaces, names on one line)
    assert ''.join(new) == ('      "names": ["fcntl"],\n      "action": "SCMP_ACT_ALLOW"\n    },\n    {\n'
                            '      "names": ["bind", "close", "connect", "setsockopt", "_exit", "exit_group", '
                            '"getpeername"],\n')


def test_removed_listener_and_dropped_rule_take_their_separators_with_them():
    text = json.dumps(dict(PROFILE, syscalls=[{'names': ['fcntl'], 'action': 'SCMP_ACT_NOTIFY'},
                                              {'names': ['read'], 'action': 'SCMP_ACT_ALLOW'}]), indent=2) + '\n'
    res = rewrite_text(text.encode(), ['fcntl'], remove_unused_listener=True)
    assert res['format_preserved'] and res['report']['listener_removed']
    doc = json.loads(res['after'])
    assert 'listenerPath' not in doc and doc['syscalls'] == [{'names': ['fcntl'], 'action': 'SCMP_ACT_ALLOW'},
                                                             {'names': ['read'], 'action': 'SCMP_ACT_ALLOW'}]
    gone, _new = changed_lines(text, res['after'])
    assert all('listenerPath' in line or 'fcntl' in line or 'NOTIFY' in line for line in gone), gone


def test_splice_of_equal_documents_is_the_text_itself():
    text = LAYOUTS['irregular']
    doc = json.loads(text)
    assert splice(text, doc, json.loads(text), detect_style(text)) == text


@pytest.mark.parametrize('text', ['{"a": 1,}', '{"a" 1}', '[1 2]', '{"a": 1} x'])
def test_text_that_cannot_be_followed_is_refused(text):
    with pytest.raises(LayoutError):
        parse_spans(text)
