# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Text of the fleet report: escaping of host text, one-line values, verdict words, the gate's
message and the console summary table. Pure stdlib, no I/O; every renderer uses these."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._hazards import SEVERITIES

# Highest first, for every table a person reads.
SEVERITY_ORDER = tuple(reversed(SEVERITIES))
_NATURAL = re.compile(r'(\d+)')


# C0 and C1 control characters, DEL, and the Unicode controls that reorder text on screen (bidi
# embeddings, overrides, isolates and marks): host text carrying them could rewrite a terminal or
# spoof right-to-left text, so every format shows them as visible escapes. \t \n \r are whitespace.
UNSAFE_CHARS = re.compile(r'[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]')


def _escape_char(match):
    code = ord(match.group())
    return '\\x%02x' % code if code < 0x100 else '\\u%04x' % code


def visible(text):
    """``text`` with every control and bidi character shown as an escape (``\\x1b``, ``\\u202e``)."""
    return UNSAFE_CHARS.sub(_escape_char, text)


def natural_key(value):
    return [(0, int(part), '') if part.isdigit() else (1, 0, part) for part in _NATURAL.split(str(value))]


def one_line(value):
    """One line of printable text for any JSON-ish value (lists joined, None -> '', controls escaped)."""
    if value.__class__ is str and value.isprintable() and value[:1] != ' ' and value[-1:] != ' ' and '  ' not in value:
        # nothing to escape or fold: isprintable() is false for every control, bidi and whitespace
        # character but ' ' (the commonest case by far; reports of 100,000 hosts call this millions of times)
        return value
    if value is None:
        return ''
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (list, tuple)):
        return ', '.join(one_line(v) for v in value)
    if isinstance(value, dict):
        return ', '.join('%s=%s' % (one_line(k), one_line(v))
                         for k, v in sorted(value.items(), key=lambda kv: str(kv[0])))
    return ' '.join(visible(str(value)).split())


def origin_text(origin):
    parts = []
    for item in origin or []:
        if isinstance(item, dict):
            text = ': '.join(x for x in (one_line(item.get('engine')), one_line(item.get('setting'))) if x)
            if item.get('reader'):  # a profile_paths item that names who reads it
                text += ' (read by %s)' % one_line(item['reader'])
            parts.append(text)
        else:
            parts.append(one_line(item))
    return '; '.join(p for p in parts if p)


def runtime_text(runtime):
    if not isinstance(runtime, dict):
        return ''
    return '%s %s (%s)' % (runtime.get('name') or 'runtime', runtime.get('version') or 'unknown',
                           runtime.get('path') or '?')


VERDICT_TEXT = {True: 'affected', False: 'no', 'unknown': 'unknown', 'mixed': 'mixed', None: 'n/a'}


def inventory_cell(build, hazard_id):
    """A runtime inventory cell for people: ``affected`` only where a host's profiles (or the
    probe) really trigger the hazard with this build; ``would hit`` where the build would if a
    profile asked (a potential, shown apart and neutral); else the verdict's word."""
    if hazard_id in (build.get('hits') or ()):
        return 'affected'
    verdict = (build.get('verdicts') or {}).get(hazard_id)
    return 'would hit' if verdict is True else verdict_text(verdict)


def verdict_text(verdict):
    """runtime_inventory verdict for people: affected, no, unknown, mixed, n/a."""
    return VERDICT_TEXT.get(verdict, one_line(verdict)) if isinstance(verdict, (bool, str, type(None))) else one_line(verdict)


def build_text(build):
    return ' '.join(x for x in (one_line(build.get('name')) or 'runtime', one_line(build.get('version')) or
                                '(version unknown)', ('commit %s' % one_line(build['commit'])) if build.get('commit')
                                else '') if x)


def waiver_text(finding):
    waiver = finding.get('waiver')
    if not isinstance(waiver, dict):
        return ''
    if waiver.get('expired'):
        return 'EXPIRED %s (%s)' % (waiver.get('expires'), waiver.get('reason'))
    return 'waived until %s: %s' % (waiver.get('expires'), waiver.get('reason'))


def plural(count, noun, nouns=None):
    """``1 host``, ``2 hosts``: a count with its noun in the right number."""
    return '%d %s' % (count, noun if count == 1 else (nouns or noun + 's'))


def gates(fleet):
    """Every gate that is set, with what it decided: [{gate, setting, failed, text}]. Empty when
    neither ``audit_fail_on`` nor ``audit_fail_query`` is set (the audit never fails the play)."""
    verdict = fleet['verdict']
    out = []
    if verdict['fail_on'] != 'none':
        blocking = len(verdict['blocking']) + verdict.get('blocking_omitted', 0)
        unaudited = len(verdict['unaudited'])
        if verdict['failed']:
            text = 'FAILED: %s at or above %s%s' % (
                plural(blocking, 'active finding'), verdict['fail_on'],
                ', %s not audited' % plural(unaudited, 'host') if verdict.get('fail_on_unaudited') or not blocking
                else '')
        else:
            text = 'passed: no active finding at or above %s' % verdict['fail_on']
        out.append({'gate': 'audit_fail_on', 'setting': verdict['fail_on'], 'failed': bool(verdict['failed']),
                    'text': text})
    query = verdict.get('query')
    if query:
        decided = query.get('failed')
        text = ('not evaluated' if decided is None else
                '%s: result %s' % ('FAILED' if decided else 'passed', one_line(query.get('result'))))
        out.append({'gate': 'audit_fail_query', 'setting': one_line(query.get('expression')),
                    'failed': bool(decided), 'text': text})
    return out


def verdict_line(fleet):
    """One line naming every gate that is set and what it decided."""
    active = gates(fleet)
    if not active:
        return 'Gate: none (the audit never fails the play).'
    return '%s %s.' % ('Gate:' if len(active) == 1 else 'Gates:', '; '.join(
        '%s=%s %s' % (g['gate'], g['setting'], g['text']) for g in active))


def _some(names, limit):
    shown = ', '.join(one_line(name) for name in names[:limit])
    return shown + (', ... (%d more)' % (len(names) - limit) if len(names) > limit else '')


def verdict_message(fleet, report_path=None, limit=20):
    """The gate's one-line message (the role fails the play with it): at most ``limit`` host names."""
    verdict = fleet['verdict']
    if not verdict['failed']:
        return 'runcguard audit gate %s (audit_fail_on=%s).' % (
            'not applied' if verdict['fail_on'] == 'none' else 'passed', verdict['fail_on'])
    blocking_hosts = list(dict.fromkeys(item['host'] for item in verdict['blocking']))
    unaudited = verdict['unaudited']
    message = ('runcguard audit gate failed (audit_fail_on=%s): %s at or above %s%s, %s not audited%s.' % (
        verdict['fail_on'], plural(len(verdict['blocking']) + verdict.get('blocking_omitted', 0), 'active finding'),
        verdict['fail_on'], ' (%s)' % _some(blocking_hosts, limit) if blocking_hosts else '',
        plural(len(unaudited), 'host'), ' (%s)' % _some(unaudited, limit) if unaudited else ''))
    if report_path:
        message += ' See %s.' % report_path
    return message


def summary_table(fleet, max_rows=25):
    """Short fixed-width table for the end of the play: one line per host with problems."""
    cols = ['host', 'status'] + list(SEVERITY_ORDER) + ['errors']
    rows = []
    for host in fleet['hosts']:
        if host['status'] == 'ok' and not host['max_severity'] and not host['errors']:
            continue
        rows.append([one_line(host['host'])[:40], host['status']] + [str(host['counts'].get(s, 0)) for s in SEVERITY_ORDER]
                    + [str(len(host['errors']))])
    total = (['TOTAL (%s)' % plural(fleet['totals']['hosts'], 'host'), '']
             + [str(fleet['by_severity'].get(s, 0)) for s in SEVERITY_ORDER] + [str(fleet['totals']['errors'])])
    hidden = max(0, len(rows) - max_rows)
    rows = rows[:max_rows]
    widths = [max(len(str(r[i])) for r in [cols, total] + rows) for i in range(len(cols))]
    fmt = '  '.join('%%-%ds' % w for w in widths)
    lines = [fmt % tuple(cols)]
    lines += [fmt % tuple(r) for r in rows]
    if hidden:
        lines.append('... %s more with findings or errors: see the report' % plural(hidden, 'host'))
    clean = fleet['totals']['hosts'] - len(rows) - hidden
    if clean:
        lines.append('%s with no findings and no errors' % plural(clean, 'host'))
    lines.append(fmt % tuple(total))
    lines.append(verdict_line(fleet))
    return lines
