# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Generate each role README's variable table from its meta/argument_specs.yml.

    python scripts/role_readme.py          # rewrite the tables
    python scripts/role_readme.py --check  # exit 1 and name the READMEs that are out of date

The table sits between the BEGIN/END markers below in roles/<role>/README.md; the rest of the
README is written by hand. argument_specs.yml stays the one home of every variable's documentation.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN = '<!-- BEGIN VARIABLES: generated from meta/argument_specs.yml by scripts/role_readme.py -->'
END = '<!-- END VARIABLES -->'

_MARKUP = [
    (re.compile(r'L\(([^,()]+),\s*([^)]+)\)'), r'[\1](\2)'),
    (re.compile(r'R\(([^,()]+),[^)]+\)'), r'\1'),
    (re.compile(r'[OVCMP]\(([^)]+)\)'), r'`\1`'),
    (re.compile(r'I\(([^)]+)\)'), r'*\1*'),
    (re.compile(r'B\(([^)]+)\)'), r'**\1**'),
    (re.compile(r'U\(([^)]+)\)'), r'<\1>'),
]


def plain(text):
    """Ansible doc markup -> Markdown, one line, safe inside a table cell."""
    if isinstance(text, list):
        text = ' '.join(str(t) for t in text)
    text = ' '.join(str(text or '').split())
    for pattern, repl in _MARKUP:
        text = pattern.sub(repl, text)
    return text.replace('`=`', '=').replace('|', '\\|')


def default_cell(option):
    if 'default' not in option:
        return 'required' if option.get('required') else ''
    value = json.dumps(option['default'], sort_keys=True)
    if len(value) > 48:
        return 'see `defaults/main.yml`'
    return '`%s`' % value.replace('|', '\\|')


def type_cell(option):
    kind = option.get('type', 'str')
    if kind == 'list' and option.get('elements'):
        kind = 'list of %s' % option['elements']
    if option.get('choices'):
        kind += ': ' + ', '.join('`%s`' % c for c in option['choices'])
    return kind


def render(specs):
    lines = [BEGIN, '']
    entry_points = specs.get('argument_specs') or {}
    for name in sorted(entry_points, key=lambda n: (n != 'main', n)):
        entry = entry_points[name] or {}
        if len(entry_points) > 1:
            lines += ['Entry point `%s`: %s' % (name, plain(entry.get('short_description'))), '']
        options = entry.get('options') or {}
        if not options:
            lines += ['No variables.', '']
            continue
        lines += ['| variable | type | default | description |', '|---|---|---|---|']
        for option_name in sorted(options):
            option = options[option_name] or {}
            lines.append('| `%s` | %s | %s | %s |' % (option_name, type_cell(option), default_cell(option),
                                                      plain(option.get('description'))))
        lines.append('')
    lines.append(END)
    return '\n'.join(lines)


def update(readme_text, table, path):
    if BEGIN not in readme_text or END not in readme_text:
        raise SystemExit('%s: add the lines %r and %r where the variable table goes' % (path, BEGIN, END))
    head, rest = readme_text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    return head + table + tail


def main(argv):
    check = '--check' in argv
    stale = []
    roles = os.path.join(ROOT, 'roles')
    for role in sorted(os.listdir(roles)):
        spec_path = os.path.join(roles, role, 'meta', 'argument_specs.yml')
        readme_path = os.path.join(roles, role, 'README.md')
        if not os.path.exists(spec_path):
            continue
        with open(spec_path) as handle:
            table = render(yaml.safe_load(handle))
        with open(readme_path) as handle:
            current = handle.read()
        wanted = update(current, table, readme_path)
        if wanted != current:
            stale.append(os.path.relpath(readme_path, ROOT))
            if not check:
                with open(readme_path, 'w') as handle:
                    handle.write(wanted)
    if stale:
        print('%s: %s' % ('out of date' if check else 'updated', ', '.join(stale)))
    return 1 if check and stale else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
