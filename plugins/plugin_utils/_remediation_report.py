# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The remediation report: model and its renderings (json, md), for the remediation_report action.

One entry per host the play covers, in play order: the host's ``remediate_host_result`` or, for a
host the play never reached, status ``not_run``. Host text is untrusted: the Markdown escapes it
with the fleet report's escaping (``_render_md.md``), the JSON escapes non-ASCII. Pure stdlib.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._render_md import md
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._report_text import one_line

SCHEMA = 1
FORMATS = ('json', 'md')
NOT_RUN = 'not reached: later batch, play stopped, or unreachable before the audit'


def build(results, hosts, check_mode=False, min_severity=None, policy=None, select=None, generated_at=None):
    """The report of ``hosts`` from ``results`` (host -> remediate_host_result or None)."""
    entries, totals = [], {}
    for host in hosts:
        result = results.get(host)
        if not isinstance(result, dict) or not result.get('status'):
            result = {'host': host, 'status': 'not_run', 'message': NOT_RUN}
        status = one_line(result['status'])
        totals[status] = totals.get(status, 0) + 1
        entries.append(result)
    return {
        'schema': SCHEMA,
        'kind': 'runcguard.seccomp remediation %s' % ('plan' if check_mode else 'change report'),
        'generated_at': generated_at,
        'check_mode': bool(check_mode),
        'min_severity': min_severity,
        'policy': policy,
        'select': select or None,
        'totals': totals,
        'hosts': entries,
    }


def render_json(report):
    return json.dumps(report, indent=4, separators=(',', ': '), default=str) + '\n'


def _ids(findings):
    ids = []
    for finding in findings or []:
        if isinstance(finding, dict) and not finding.get('waived') and finding.get('id') not in ids:
            ids.append(finding.get('id'))
    return ', '.join(md(i) for i in ids) or 'none'


def _runtime(action):
    runtime = action.get('runtime')
    if not isinstance(runtime, dict):
        return '-'
    return md('%s %s' % (one_line(runtime.get('path')), one_line(runtime.get('version')) or '?'))


def _user(item):
    """' (user X)' for a rootless setup's finding: the plan names the user in people's text too."""
    owner = item.get('owner') if isinstance(item.get('owner'), dict) else {}
    return ' (user %s)' % md(one_line(owner.get('name'))) if owner.get('name') else ''


def _host_lines(host, check_mode):
    lines = ['## %s: %s' % (md(host.get('host')), md(host.get('status'))), '', md(host.get('message')), '']
    plan = host.get('plan') if isinstance(host.get('plan'), dict) else {}
    actions = [a for a in plan.get('actions') or [] if isinstance(a, dict)]
    if actions:
        lines += ['| finding | severity | profile | runtime | strategy |', '|---|---|---|---|---|']
        lines += ['| `%s` | %s | %s | %s | %s |' % (
            md(a.get('id')), md(a.get('severity')), md(a.get('profile')) or '-', _runtime(a) + _user(a),
            md(a.get('strategy'))) for a in actions]
        lines.append('')
    manual = [m for m in plan.get('manual') or [] if isinstance(m, dict)]
    if manual:
        lines.append('Left to a person:')
        lines += ['- `%s` (%s) on %s%s: %s' % (md(m.get('id')), md(m.get('severity')), md(m.get('profile')) or '-',
                                               _user(m), md(m.get('why'))) for m in manual]
        lines.append('')
    changes = host.get('changes') if isinstance(host.get('changes'), dict) else {}
    profiles = [p for p in changes.get('profiles') or [] if isinstance(p, dict)]
    runc = changes.get('runc') if isinstance(changes.get('runc'), dict) else None
    users = changes.get('user_runcs') if isinstance(changes.get('user_runcs'), dict) else None
    if profiles or runc or users:
        lines.append('%s%s:' % ('Would change' if check_mode else 'Changed',
                                ' (then rolled back)' if changes.get('rolled_back') else ''))
        for item in profiles:
            backup = ', backup %s' % md(item['backup']) if item.get('backup') else ''
            lines.append('- profile %s: %s taken out of NOTIFY%s' % (
                md(item.get('path')), ', '.join(md(n) for n in item.get('notify_removed') or []), backup))
        if runc:
            lines.append('- runc: %s to %s (%s method; originals kept in %s)' % (
                md(runc.get('action')), md(runc.get('runc')) or '?', md(runc.get('method')) or '?',
                md(runc.get('state_dir'))))
        for item in (users or {}).get('users') or []:
            if isinstance(item, dict):
                lines.append('- runc of user %s: %s replaced in place by runc %s (owner and mode kept; original kept '
                             'in %s)' % (md(one_line((item.get('owner') or {}).get('name'))), md(item.get('path')),
                                         md(users.get('runc')) or '?', md(users.get('state_dir'))))
        lines.append('')
    if 'before' in host:
        lines.append('Findings before: %s' % _ids(host.get('before')))
        if host.get('after') is not None:
            lines.append('Findings after: %s' % _ids(host.get('after')))
    lines.append('')
    return lines


def render_md(report):
    lines = ['# %s' % md(report['kind']), '',
             'Generated: %s%s' % (report['generated_at'], ' (--check: nothing was changed)' if report['check_mode'] else ''),
             'Threshold: findings at or above **%s** are remediated.' % md(report['min_severity']), '',
             '| status | hosts |', '|---|---|']
    lines += ['| %s | %d |' % (md(status), count) for status, count in sorted(report['totals'].items())]
    lines.append('')
    for host in report['hosts']:
        lines += _host_lines(host, report['check_mode'])
    return '\n'.join(lines).rstrip('\n') + '\n'


RENDERERS = {'json': render_json, 'md': render_md}


def report_lines(report, files):
    """What the play prints: totals, one line per host that is neither clean nor not run, the files."""
    lines = ['Remediation %s so far: %s' % ('plan' if report['check_mode'] else 'result',
                                            ', '.join('%s=%d' % kv for kv in sorted(report['totals'].items())))]
    lines += ['%s: %s - %s' % (one_line(h.get('host')), one_line(h.get('status')), one_line(h.get('message')))
              for h in report['hosts'] if h.get('status') not in ('clean', 'not_run')]
    lines.append('Report: %s' % ', '.join(files))
    return lines
