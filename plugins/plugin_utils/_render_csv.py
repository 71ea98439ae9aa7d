# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Fleet report renderer: CSV, one row per finding, error or unaudited host (injection-safe cells)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import csv
import io

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._report import UNAUDITED
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._report_text import gates, one_line, origin_text, verdict_line

FORMAT = 'csv'
EXTENSION = 'csv'
DEFAULT = True

CSV_COLUMNS = ('host', 'status', 'kind', 'severity', 'id', 'title', 'profile', 'origin', 'runtime_name',
               'runtime_path', 'runtime_version', 'owner', 'owner_uid', 'affected', 'syscalls', 'waived', 'waiver_reason',
               'waiver_expires', 'waiver_expired', 'message', 'reference')


def csv_cell(value):
    """A CSV cell a spreadsheet will not execute: leading = + - @ (and tab/CR) get a quote prefix."""
    text = one_line(value)
    if text and text[0] in '=+-@\t\r':
        return "'" + text
    return text


def _owner(finding):
    """{name, uid} of the user whose rootless setup the finding is about ({} for the system's)."""
    for owner in (finding.get('owner'), (finding.get('runtime') or {}).get('owner')
                  if isinstance(finding.get('runtime'), dict) else None):
        if isinstance(owner, dict) and owner.get('name'):
            return owner
    return {}


def render(fleet):
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator='\r\n')
    writer.writerow(CSV_COLUMNS)
    for host in fleet['hosts']:
        base = {'host': host['host'], 'status': host['status']}
        rows = []
        for f in host['findings']:
            runtime = f.get('runtime') if isinstance(f.get('runtime'), dict) else {}
            waiver = f.get('waiver') if isinstance(f.get('waiver'), dict) else {}
            owner = _owner(f)
            rows.append(dict(base, kind='finding', severity=f.get('severity'), id=f.get('id'), title=f.get('title'),
                             profile=f.get('profile'), origin=origin_text(f.get('origin')),
                             runtime_name=runtime.get('name'), runtime_path=runtime.get('path'),
                             runtime_version=runtime.get('version') or ('unknown' if runtime else ''),
                             owner=owner.get('name'), owner_uid=owner.get('uid'), affected=f.get('affected'),
                             syscalls=' '.join(one_line(s) for s in f.get('syscalls') or []),
                             waived=bool(f.get('waived')), waiver_reason=waiver.get('reason'),
                             waiver_expires=waiver.get('expires'),
                             waiver_expired=waiver.get('expired') if waiver else None,
                             message=f.get('message'), reference=f.get('reference')))
        for err in host['errors']:
            rows.append(dict(base, kind='error', id=err['source'], profile=err['path'], message=err['error']))
        if host['status'] in UNAUDITED:
            rows.append(dict(base, kind='host', message=host['message']))
        elif not rows:
            rows.append(dict(base, kind='host', message='no findings'))
        for row in rows:
            writer.writerow([csv_cell(row.get(col)) for col in CSV_COLUMNS])
    # Last, one row per gate that is set (kind gate, status passed/failed), or one saying none is.
    for gate in gates(fleet) or [{'gate': '', 'setting': '', 'failed': None, 'text': verdict_line(fleet)}]:
        status = 'none' if gate['failed'] is None else 'failed' if gate['failed'] else 'passed'
        row = dict(kind='gate', id=gate['gate'], status=status, title=gate['setting'], message=gate['text'])
        writer.writerow([csv_cell(row.get(col)) for col in CSV_COLUMNS])
    return buf.getvalue()


def validate(text, fleet):
    # csv.reader refuses fields over 128 KiB by default: one host's long message would fail the
    # whole report set. Host text is bounded elsewhere; the check reads what was rendered.
    previous = csv.field_size_limit()
    csv.field_size_limit(max(previous, len(text) + 1))
    try:
        widths = set(len(row) for row in csv.reader(io.StringIO(text)))
    finally:
        csv.field_size_limit(previous)
    if widths != {len(CSV_COLUMNS)}:
        raise ValueError('rows of unequal width %s' % sorted(widths))
