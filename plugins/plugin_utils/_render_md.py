# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Fleet report renderer: Markdown (host text HTML-escaped, markdown punctuation backslash-escaped)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re
from html import escape as _html_escape

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._report import UNAUDITED
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._report_text import (
    SEVERITY_ORDER,
    one_line,
    runtime_text,
    verdict_line,
    inventory_cell,
    waiver_text,
)
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._report_inventory import inventory_hazards

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._partials import merge_lines

FORMAT = 'md'
EXTENSION = 'md'
DEFAULT = True

_MD_SPECIAL = re.compile(r'([\\`*_\[\]|~])')


def md(value):
    """Markdown-safe single-line text: HTML-escaped, markdown punctuation backslash-escaped."""
    text = _html_escape(one_line(value), quote=False)
    return _MD_SPECIAL.sub(r'\\\1', text)


def _md_table(headers, rows):
    out = ['| ' + ' | '.join(headers) + ' |', '|' + '---|' * len(headers)]
    for row in rows:
        out.append('| ' + ' | '.join(row) + ' |')
    return out


def _advisory_cell(advisories):
    """'5: GO-2024-3110, ...' (open runc advisories of a build), '0', or 'not covered' (crun, no version)."""
    if not isinstance(advisories, dict):
        return 'not covered'
    ids = advisories.get('open') or []
    return md('%d: %s' % (len(ids), ', '.join(ids))) if ids else '0'


def render(fleet):
    totals = fleet['totals']
    lines = ['# %s' % md(fleet['title']), '']
    if fleet.get('generated_at'):
        lines += ['Generated: %s' % md(fleet['generated_at']), '']
    lines += ['Hosts: %d (audited %d, failed %d, unreachable %d, missing %d). Findings: %d active, %d waived. '
              'Errors: %d.' % (totals['hosts'], totals['audited'], totals['failed'], totals['unreachable'],
                               totals['missing'], totals['findings'], totals['waived'], totals['errors']),
              '', md(verdict_line(fleet)), '', '## By severity', '']
    lines += _md_table(['severity', 'findings'], [[s, str(fleet['by_severity'].get(s, 0))] for s in SEVERITY_ORDER])
    lines += ['', '## Runtime inventory', '']
    hazards = inventory_hazards(fleet)
    lines += _md_table(['runtime', 'version', 'commit', 'hosts', 'engines', 'open advisories'] + [md(h) for h in hazards],
                       [[md(b['name']), md(b['version']) or 'unknown', md(b['commit']), str(b['hosts']),
                         md(', '.join(b['engines'])), _advisory_cell(b.get('advisories'))]
                        + [inventory_cell(b, h) for h in hazards]
                        for b in fleet['runtime_inventory']]) if fleet['runtime_inventory'] else ['No runtime found.']
    lines += ['', '## By hazard', '']
    lines += _md_table(['hazard', 'severity', 'hosts', 'findings', 'waived', 'title'],
                       [[md(h['id']), md(h['severity']), str(h['hosts']), str(h['findings']), str(h['waived']),
                         md(h['title'])] for h in fleet['by_hazard']])
    lines += ['', '## Hosts', '']
    lines += _md_table(['host', 'status'] + list(SEVERITY_ORDER) + ['waived', 'errors'],
                       [[md(h['host']), md(h['status'])] + [str(h['counts'].get(s, 0)) for s in SEVERITY_ORDER]
                        + [str(h['waived']), str(len(h['errors']))] for h in fleet['hosts']])
    rows = []
    for host in fleet['hosts']:
        for f in host['findings']:
            rows.append([md(host['host']), md(f.get('severity')), md(f.get('id')), md(f.get('profile')),
                         md(runtime_text(f.get('runtime'))), md(f.get('affected')),
                         md(waiver_text(f)), md(f.get('message'))])
    lines += ['', '## Findings', '']
    lines += _md_table(['host', 'severity', 'hazard', 'profile', 'runtime', 'affected', 'waiver', 'message'], rows) \
        if rows else ['No findings.']
    problems = [h for h in fleet['hosts'] if h['status'] in UNAUDITED or h['errors']]
    lines += ['', '## Errors and hosts not audited', '']
    if not problems:
        lines.append('None.')
    for host in problems:
        if host['status'] in UNAUDITED:
            lines.append('- **%s**: %s: %s' % (md(host['host']), md(host['status']), md(host['message'])))
        for err in host['errors']:
            lines.append('- **%s**: %s %s: %s' % (md(host['host']), md(err['source']), md(err['path']),
                                                  md(err['error'])))
    if fleet['expired_waivers']:
        lines += ['', '## Expired waivers (no longer applied)', '']
        for w in fleet['expired_waivers']:
            lines.append('- %s on %s (profile %s) expired %s: %s; hosts: %s' % (
                md(w['id']), md(w['host']), md(w['profile']), md(w['expires']), md(w['reason']), md(w['hosts'])))
    merge = merge_lines(fleet)
    if merge:
        lines += ['', '## Merge of partial reports', ''] + ['- %s' % md(line) for line in merge]
    return '\n'.join(lines) + '\n'


_UNESCAPED_PIPE = re.compile(r'(?<!\\)\|')


def validate(text, fleet):
    """Every table row has as many cells as its header: host text never added a column."""
    width = None
    for number, line in enumerate(text.split('\n'), 1):
        if not line.startswith('|'):
            width = None
            continue
        cells = len(_UNESCAPED_PIPE.findall(line))
        if width is None:
            width = cells
        elif cells != width:
            raise ValueError('line %d has %d table cells, its header %d' % (number, cells - 1, width - 1))
