# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/architecture.md names only what exists: every file of its tables is there, every public name
it lists for a file is defined in it, every repository path it cites exists, and every module of
module_utils and plugin_utils is in a table."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import os
import re

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
DOC = os.path.join(REPO, 'docs', 'architecture.md')
# table heading -> the directory its `file` column is relative to
SECTIONS = (('## Host code', 'plugins/module_utils'), ('## Controller code', 'plugins/plugin_utils'))


def _doc():
    with open(DOC) as handle:
        return handle.read()


def _rows():
    """(directory, file, public names cell) of every row of the host and controller tables."""
    rows, directory = [], None
    for line in _doc().splitlines():
        if line.startswith('## '):
            directory = next((d for head, d in SECTIONS if line.startswith(head)), None)
            continue
        match = re.match(r'^\| `([\w/<>]+\.py)` \|.*\| (.*) \|$', line)
        if directory and match:
            rows.append((directory, match.group(1), match.group(2)))
    return rows


def _listed(cell):
    """The code spans of a table cell outside parentheses: the public names (what is inside
    parentheses describes them: attributes, fields, return values)."""
    spans, depth, code, current = [], 0, False, []
    for char in cell:
        if char == '`':
            if code and depth == 0:
                spans.append(''.join(current))
            code, current = not code, []
        elif code:
            current.append(char)
        elif char == '(':
            depth += 1
        elif char == ')':
            depth = max(0, depth - 1)
    return spans


def _defined(path):
    """Top-level names a Python file defines (functions, classes, assignments, imports)."""
    with open(path) as handle:
        tree = ast.parse(handle.read())
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split('.')[0] for a in node.names)
    return names


def test_the_tables_cover_the_layers():
    rows = _rows()
    assert len(rows) > 30
    assert set(d for d, _f, _n in rows) == set(d for _h, d in SECTIONS)


@pytest.mark.parametrize('directory, name, cell', _rows(), ids=lambda v: v if isinstance(v, str) and v.endswith('.py') else '')
def test_every_file_and_public_name_exists(directory, name, cell):
    if '<' in name:  # a pattern such as _render_<format>.py
        pattern = re.compile('^' + re.escape(name).replace(re.escape('<format>'), r'\w+') + '$')
        assert [f for f in os.listdir(os.path.join(REPO, directory)) if pattern.match(f)], name
        return
    path = os.path.join(REPO, directory, name)
    assert os.path.isfile(path), '%s/%s is in docs/architecture.md but does not exist' % (directory, name)
    defined = _defined(path)
    for code in _listed(cell):
        head = re.match(r'^([A-Za-z_][\w]*)', code)
        if not head or head.group(1) in ('True', 'False', 'None', 'dict', 'list', 'str', 'bytes'):
            continue
        if code.startswith(head.group(1) + '.') or '/' in code or code.startswith(('_x', 'read_docker/')):
            continue  # an attribute (Query.search) or a family written with a slash
        assert head.group(1) in defined, '%s: `%s` is not defined in %s/%s' % (DOC, code, directory, name)


def test_every_module_is_in_a_table():
    documented = set(os.path.join(d, f) for d, f, _n in _rows())
    for _head, directory in SECTIONS:
        for parent, _dirs, files in os.walk(os.path.join(REPO, directory)):
            for name in files:
                rel = os.path.relpath(os.path.join(parent, name), REPO)
                if name.endswith('.py') and name != '__init__.py' and not re.match(r'.*/_render_(?!ers)\w+\.py$', rel):
                    assert rel in documented, '%s is not in docs/architecture.md' % rel


def test_every_cited_repository_path_exists():
    cited = set(re.findall(r'`((?:plugins|roles|docs|tests|scripts|playbooks|benchmarks|molecule|changelogs|meta)/[\w./<>-]+)`', _doc()))
    assert cited
    for path in sorted(cited):
        if '<' in path:
            continue
        assert os.path.exists(os.path.join(REPO, path.split('::')[0])), '%s is cited but does not exist' % path


def test_action_plugins_and_their_option_files_exist():
    section = _doc().split('## Action plugins', 1)[1].split('\n## ', 1)[0]
    actions = re.findall(r'^\| `(\w+)` \|', section, re.M)
    assert actions
    for action in actions:
        assert os.path.isfile(os.path.join(REPO, 'plugins', 'action', action + '.py')), action
        assert os.path.isfile(os.path.join(REPO, 'plugins', 'modules', action + '.py')), action
