# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Fleet audit report: one data structure, rendered as json, md, html, junit, csv and a text table.

Pure stdlib, no I/O (the ``fleet_report`` action plugin writes the files). Everything that comes
from a host (paths, messages, versions) is untrusted: every renderer escapes it for its format.
Output is deterministic: hosts in natural order, findings by severity then id/profile/runtime.
The JSON layout is documented in docs/report-schema.md (``schema_version``).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import csv
import io
import json
import re
from xml.sax.saxutils import escape as _xml_escape, quoteattr as _xml_attr

try:
    from html import escape as _html_escape
except ImportError:  # pragma: no cover - Python 2 is not supported on the controller
    from cgi import escape as _html_escape

from ansible_collections.runcguard.seccomp.plugins.module_utils._hazards import (
    CATALOGUE,
    SEVERITIES,
    severity_rank,
)

SCHEMA_VERSION = 1
FORMATS = ('json', 'md', 'html', 'junit', 'csv')
EXTENSIONS = {'json': 'json', 'md': 'md', 'html': 'html', 'junit': 'junit.xml', 'csv': 'csv'}
FAIL_ON = ('none',) + SEVERITIES
# Highest first, for every table a person reads.
SEVERITY_ORDER = tuple(reversed(SEVERITIES))
# Host states: ok = audited; failed = the audit task failed; unreachable = no connection;
# missing = the host was in the play but left it before the audit ran (earlier failure/unreachable).
HOST_STATES = ('ok', 'failed', 'unreachable', 'missing')
UNAUDITED = ('failed', 'unreachable', 'missing')

_NATURAL = re.compile(r'(\d+)')


def natural_key(text):
    return [(0, int(part), '') if part.isdigit() else (1, 0, part) for part in _NATURAL.split(str(text))]


def _text(value):
    """One line of text for any JSON-ish value (lists joined, None -> '')."""
    if value is None:
        return ''
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (list, tuple)):
        return ', '.join(_text(v) for v in value)
    if isinstance(value, dict):
        return ', '.join('%s=%s' % (k, _text(v)) for k, v in sorted(value.items(), key=lambda kv: str(kv[0])))
    return ' '.join(str(value).split())


def origin_text(origin):
    parts = []
    for item in origin or []:
        if isinstance(item, dict):
            parts.append(': '.join(x for x in (_text(item.get('engine')), _text(item.get('setting'))) if x))
        else:
            parts.append(_text(item))
    return '; '.join(p for p in parts if p)


def runtime_text(runtime):
    if not isinstance(runtime, dict):
        return ''
    return '%s %s (%s)' % (runtime.get('name') or 'runtime', runtime.get('version') or 'unknown',
                           runtime.get('path') or '?')


def finding_sort_key(finding):
    runtime = finding.get('runtime') if isinstance(finding.get('runtime'), dict) else {}
    return (-severity_rank(finding.get('severity')), str(finding.get('id') or ''),
            str(finding.get('profile') or ''), str(runtime.get('path') or ''))


# ----------------------------------------------------------------------------------------------
# per host

def host_errors(facts):
    """Error entries of one host's facts: one per bad runtime, profile, engine config or scan error."""
    errors, seen = [], set()

    def add(source, path, error):
        if not error:
            return
        key = (_text(path), _text(error))
        if key in seen:
            return
        seen.add(key)
        errors.append({'source': source, 'path': key[0] or None, 'error': key[1]})

    if not isinstance(facts, dict):
        return errors
    for runtime in facts.get('runtimes') or []:
        if isinstance(runtime, dict):
            add('runtime', runtime.get('path'), runtime.get('error'))
    for profile in facts.get('profiles') or []:
        if isinstance(profile, dict):
            add('profile', profile.get('path'), profile.get('error'))
    engines = facts.get('engines') or {}
    if isinstance(engines, dict):
        for name in sorted(engines):
            engine = engines[name]
            if isinstance(engine, dict) and engine.get('error'):
                config = engine.get('config')
                path = config[0] if isinstance(config, list) and config else config or name
                add('engine', path, engine.get('error'))
    scan = facts.get('scan') or {}
    for item in (scan.get('errors') if isinstance(scan, dict) else None) or []:
        if isinstance(item, dict):
            add('scan', item.get('path'), item.get('error'))
    return sorted(errors, key=lambda e: (e['path'] or '', e['source'], e['error']))


def host_summary(host, facts=None, findings=None, status='ok', message=None, errors=None, probe=None):
    """The per-host summary the audit role sets (``audit_host_summary``); findings already waived.

    ``errors``: extra error entries ({source, path, error}) found outside the facts (e.g. the probe).
    ``probe``: notify_probe ``results`` (observations), kept in a compact form.
    """
    if status not in HOST_STATES:
        raise ValueError('status must be one of %s, got %r' % (', '.join(HOST_STATES), status))
    facts = facts if isinstance(facts, dict) else {}
    findings = sorted((dict(f) for f in findings or [] if isinstance(f, dict)), key=finding_sort_key)
    runtimes = []
    for runtime in facts.get('runtimes') or []:
        if isinstance(runtime, dict):
            runtimes.append({'name': runtime.get('name'), 'path': runtime.get('path'),
                             'version': runtime.get('version'), 'error': runtime.get('error')})
    runtimes.sort(key=lambda r: (str(r['path'] or ''), str(r['name'] or '')))
    profiles = [p for p in facts.get('profiles') or [] if isinstance(p, dict)]
    summary = {
        'host': str(host),
        'status': status,
        'message': _text(message) or None,
        'findings': findings,
        'errors': _merge_errors(host_errors(facts), errors),
        'runtimes': runtimes,
        'profiles': len(profiles),
        'notify_profiles': len([p for p in profiles if p.get('notify_syscalls')]),
        'probe': [dict((k, item.get(k)) for k in ('runtime', 'name', 'version', 'syscall', 'no_new_privileges',
                                                  'outcome', 'message'))
                  for item in probe or [] if isinstance(item, dict)],
    }
    summary.update(_counts(summary))
    return summary


def _merge_errors(errors, extra):
    for item in extra or []:
        if isinstance(item, dict) and item.get('error'):
            errors.append({'source': _text(item.get('source')) or 'audit', 'path': _text(item.get('path')) or None,
                           'error': _text(item.get('error'))})
    return sorted(errors, key=lambda e: (e['path'] or '', e['source'], e['error']))


def _counts(summary):
    counts = dict((s, 0) for s in SEVERITY_ORDER)
    waived = 0
    top = None
    for finding in summary.get('findings') or []:
        if finding.get('waived'):
            waived += 1
            continue
        severity = finding.get('severity')
        counts[severity] = counts.get(severity, 0) + 1
        if top is None or severity_rank(severity) > severity_rank(top):
            top = severity
    return {'counts': counts, 'waived': waived, 'max_severity': top}


# ----------------------------------------------------------------------------------------------
# fleet

def _placeholder(host, status, message):
    summary = host_summary(host, status=status, message=message)
    return summary


def build_fleet(summaries, hosts=None, fail_on='none', fail_on_unaudited=True, generated_at=None,
                title='runcguard.seccomp fleet audit', waivers=None):
    """Fleet data for every renderer.

    ``summaries``: host -> summary (from ``host_summary``) or None. ``hosts``: every host the audit
    covered; a host without a summary is listed with status ``missing`` (never dropped).
    """
    if fail_on not in FAIL_ON:
        raise ValueError('fail_on must be one of %s, got %r' % (', '.join(FAIL_ON), fail_on))
    summaries = dict(summaries or {})
    names = set(str(h) for h in (hosts if hosts is not None else summaries))
    names.update(str(h) for h in summaries)
    fleet_hosts = []
    for name in sorted(names, key=natural_key):
        summary = summaries.get(name)
        if not isinstance(summary, dict):
            summary = _placeholder(name, 'missing', 'the host left the play before the audit ran '
                                   '(unreachable or failed in an earlier task)')
        else:
            summary = dict(summary)
            summary['host'] = name
            summary.setdefault('status', 'ok')
            summary['findings'] = sorted(summary.get('findings') or [], key=finding_sort_key)
            summary.setdefault('errors', [])
            summary.setdefault('runtimes', [])
            summary.update(_counts(summary))
        fleet_hosts.append(summary)

    by_severity = dict((s, 0) for s in SEVERITY_ORDER)
    hazards = {}
    for hazard_id, entry in CATALOGUE.items():
        hazards[hazard_id] = {'id': hazard_id, 'title': entry.get('title'), 'severity': entry.get('severity'),
                              'findings': 0, 'waived': 0, 'hosts': 0}
    expired = {}
    totals = {'hosts': len(fleet_hosts), 'audited': 0, 'with_findings': 0, 'errors': 0, 'findings': 0,
              'waived': 0}
    totals.update(dict((s, 0) for s in UNAUDITED))
    for host in fleet_hosts:
        if host['status'] in UNAUDITED:
            totals[host['status']] += 1
        else:
            totals['audited'] += 1
        totals['errors'] += len(host['errors'])
        if host['max_severity']:
            totals['with_findings'] += 1
        seen_ids = set()
        for finding in host['findings']:
            hazard_id = str(finding.get('id') or 'unknown')
            entry = hazards.setdefault(hazard_id, {'id': hazard_id, 'title': finding.get('title'),
                                                   'severity': finding.get('severity'),
                                                   'findings': 0, 'waived': 0, 'hosts': 0})
            if finding.get('waived'):
                entry['waived'] += 1
                totals['waived'] += 1
                continue
            entry['findings'] += 1
            totals['findings'] += 1
            by_severity[finding.get('severity')] = by_severity.get(finding.get('severity'), 0) + 1
            if hazard_id not in seen_ids:
                entry['hosts'] += 1
                seen_ids.add(hazard_id)
            waiver = finding.get('waiver')
            if isinstance(waiver, dict) and waiver.get('expired'):
                key = (waiver.get('id'), waiver.get('host'), waiver.get('profile'), waiver.get('expires'))
                slot = expired.setdefault(key, dict((k, waiver.get(k)) for k in
                                                    ('id', 'host', 'profile', 'reason', 'expires')))
                slot.setdefault('hosts', [])
                if host['host'] not in slot['hosts']:
                    slot['hosts'].append(host['host'])

    threshold = None if fail_on == 'none' else severity_rank(fail_on)
    blocking = []
    if threshold is not None:
        for host in fleet_hosts:
            for finding in host['findings']:
                if not finding.get('waived') and severity_rank(finding.get('severity')) >= threshold:
                    blocking.append({'host': host['host'], 'id': finding.get('id'),
                                     'severity': finding.get('severity'), 'profile': finding.get('profile')})
    unaudited = [h['host'] for h in fleet_hosts if h['status'] in UNAUDITED]
    failed = bool(blocking) or bool(threshold is not None and fail_on_unaudited and unaudited)
    top = None
    for host in fleet_hosts:
        if host['max_severity'] and (top is None or severity_rank(host['max_severity']) > severity_rank(top)):
            top = host['max_severity']
    return {
        'schema_version': SCHEMA_VERSION,
        'title': _text(title),
        'generated_at': generated_at,
        'totals': totals,
        'max_severity': top,
        'by_severity': by_severity,
        'by_hazard': sorted(hazards.values(), key=lambda h: (-severity_rank(h['severity']), h['id'])),
        'verdict': {'fail_on': fail_on, 'fail_on_unaudited': bool(fail_on_unaudited), 'failed': failed,
                    'blocking': blocking, 'unaudited': unaudited},
        'waivers': list(waivers or []),
        'expired_waivers': sorted(expired.values(), key=lambda w: (str(w['expires']), str(w['id']))),
        'hosts': fleet_hosts,
    }


# ----------------------------------------------------------------------------------------------
# renderers (fleet dict -> str)

def render_json(fleet):
    return json.dumps(fleet, indent=2, sort_keys=True, ensure_ascii=False, default=str) + '\n'


_MD_SPECIAL = re.compile(r'([\\`*_\[\]|~])')


def md(value):
    """Markdown-safe single-line text: HTML-escaped, markdown punctuation backslash-escaped."""
    text = _html_escape(_text(value), quote=False)
    return _MD_SPECIAL.sub(r'\\\1', text)


def _md_table(headers, rows):
    out = ['| ' + ' | '.join(headers) + ' |', '|' + '---|' * len(headers)]
    for row in rows:
        out.append('| ' + ' | '.join(row) + ' |')
    return out


def _verdict_line(fleet):
    verdict = fleet['verdict']
    if verdict['fail_on'] == 'none':
        return 'Gate: none (the audit never fails the play).'
    if verdict['failed']:
        return 'Gate: FAILED (fail_on=%s): %d blocking finding(s), %d host(s) not audited.' % (
            verdict['fail_on'], len(verdict['blocking']), len(verdict['unaudited']))
    return 'Gate: passed (fail_on=%s).' % verdict['fail_on']


def render_md(fleet):
    totals = fleet['totals']
    lines = ['# %s' % md(fleet['title']), '']
    if fleet.get('generated_at'):
        lines += ['Generated: %s' % md(fleet['generated_at']), '']
    lines += ['Hosts: %d (audited %d, failed %d, unreachable %d, missing %d). Findings: %d active, %d waived. '
              'Errors: %d.' % (totals['hosts'], totals['audited'], totals['failed'], totals['unreachable'],
                               totals['missing'], totals['findings'], totals['waived'], totals['errors']),
              '', md(_verdict_line(fleet)), '', '## By severity', '']
    lines += _md_table(['severity', 'findings'], [[s, str(fleet['by_severity'].get(s, 0))] for s in SEVERITY_ORDER])
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
                         md(_waiver_text(f)), md(f.get('message'))])
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
    return '\n'.join(lines) + '\n'


def _waiver_text(finding):
    waiver = finding.get('waiver')
    if not isinstance(waiver, dict):
        return ''
    if waiver.get('expired'):
        return 'EXPIRED %s (%s)' % (waiver.get('expires'), waiver.get('reason'))
    return 'waived until %s: %s' % (waiver.get('expires'), waiver.get('reason'))


def h(value):
    return _html_escape(_text(value), quote=True)


_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th[data-sort]{cursor:pointer;background:#f3f3f3}th[data-sort]:after{content:" \\2195";color:#999}
.sev-critical{background:#b00020;color:#fff}.sev-high{background:#e65100;color:#fff}.sev-medium{background:#f9a825}
.sev-low{background:#c5e1a5}.sev-info{background:#e3f2fd}.cards span{display:inline-block;margin-right:.5em;padding:.4em .8em;border-radius:4px}
.st-unreachable,.st-failed,.st-missing{color:#b00020;font-weight:bold}.waived{opacity:.6}
code{font-size:90%}#controls{margin:.5em 0}
"""

# Sort and filter only: no data is built from strings into HTML (textContent only), no network.
_JS = """
(function(){
var table=document.getElementById('findings'); if(!table){return;}
var body=table.tBodies[0], rows=Array.prototype.slice.call(body.rows);
var q=document.getElementById('q'), sev=document.getElementById('sev'), shown=document.getElementById('shown');
function apply(){
  var needle=q.value.toLowerCase(), want=sev.value, n=0;
  rows.forEach(function(r){
    var ok=(!want||r.getAttribute('data-severity')===want)&&(!needle||r.textContent.toLowerCase().indexOf(needle)>=0);
    if(ok){r.removeAttribute('hidden');n++;}else{r.setAttribute('hidden','');}
  });
  shown.textContent=n+' of '+rows.length+' findings shown';
}
function sortBy(col,numeric,th){
  var dir=th.getAttribute('data-dir')==='asc'?-1:1;
  Array.prototype.forEach.call(table.tHead.rows[0].cells,function(c){c.removeAttribute('data-dir');});
  th.setAttribute('data-dir',dir===1?'asc':'desc');
  rows.sort(function(a,b){
    var x=a.cells[col].getAttribute('data-key')||a.cells[col].textContent, y=b.cells[col].getAttribute('data-key')||b.cells[col].textContent;
    if(numeric){x=parseFloat(x);y=parseFloat(y);}
    return (x<y?-1:x>y?1:0)*dir;
  });
  rows.forEach(function(r){body.appendChild(r);});
}
Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,i){
  if(th.hasAttribute('data-sort')){th.addEventListener('click',function(){sortBy(i,th.getAttribute('data-sort')==='num',th);});}
});
q.addEventListener('input',apply); sev.addEventListener('change',apply);
var m=/[#&]q=([^&]*)/.exec(location.hash); if(m){q.value=decodeURIComponent(m[1]);}
var s=/[#&]severity=([a-z]*)/.exec(location.hash); if(s){sev.value=s[1];}
apply();
})();
"""


def render_html(fleet):
    totals = fleet['totals']
    out = ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
           '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
           'style-src \'unsafe-inline\'; script-src \'unsafe-inline\'">',
           '<title>%s</title><style>%s</style></head><body>' % (h(fleet['title']), _CSS),
           '<h1>%s</h1>' % h(fleet['title'])]
    if fleet.get('generated_at'):
        out.append('<p>Generated: %s</p>' % h(fleet['generated_at']))
    out.append('<p id="totals" data-hosts="%d" data-findings="%d">Hosts: %d (audited %d, failed %d, unreachable %d, '
               'missing %d). Findings: %d active, %d waived. Errors: %d.</p>' % (
                   totals['hosts'], totals['findings'], totals['hosts'], totals['audited'], totals['failed'],
                   totals['unreachable'], totals['missing'], totals['findings'], totals['waived'], totals['errors']))
    out.append('<p id="verdict">%s</p>' % h(_verdict_line(fleet)))
    out.append('<h2>By severity</h2><p class="cards" id="by-severity">')
    for sev in SEVERITY_ORDER:
        out.append('<span class="sev-%s" data-severity="%s">%s: %d</span>' % (sev, sev, sev, fleet['by_severity'].get(sev, 0)))
    out.append('</p><h2>By hazard</h2><table id="by-hazard"><thead><tr><th>hazard</th><th>severity</th><th>hosts</th>'
               '<th>findings</th><th>waived</th><th>title</th></tr></thead><tbody>')
    for hz in fleet['by_hazard']:
        out.append('<tr><td><code>%s</code></td><td class="sev-%s">%s</td><td>%d</td><td>%d</td><td>%d</td><td>%s</td></tr>'
                   % (h(hz['id']), h(hz['severity']), h(hz['severity']), hz['hosts'], hz['findings'], hz['waived'],
                      h(hz['title'])))
    out.append('</tbody></table><h2>Findings</h2><div id="controls"><label>Filter <input id="q" type="search" '
               'placeholder="host, hazard, profile, text"></label> <label>Severity <select id="sev"><option value="">all'
               '</option>%s</select></label> <span id="shown"></span></div>' % ''.join(
                   '<option value="%s">%s</option>' % (s, s) for s in SEVERITY_ORDER))
    out.append('<table id="findings"><thead><tr><th data-sort="text">host</th><th data-sort="num">severity</th>'
               '<th data-sort="text">hazard</th><th data-sort="text">profile</th><th data-sort="text">runtime</th>'
               '<th data-sort="text">affected</th><th data-sort="text">waiver</th><th>message</th></tr></thead><tbody>')
    for host in fleet['hosts']:
        for f in host['findings']:
            sev = _text(f.get('severity'))
            out.append('<tr class="finding%s" data-severity="%s" data-key="%s"><td>%s</td><td class="sev-%s" data-key="%d">'
                       '%s</td><td><code>%s</code></td><td><code>%s</code></td><td>%s</td><td>%s</td><td>%s</td>'
                       '<td>%s</td></tr>' % (
                           ' waived' if f.get('waived') else '', h(sev), h(f.get('key') or ''), h(host['host']),
                           h(sev), 9 - severity_rank(sev), h(sev), h(f.get('id')), h(f.get('profile')),
                           h(runtime_text(f.get('runtime'))), h(f.get('affected')), h(_waiver_text(f)),
                           h(f.get('message'))))
    out.append('</tbody></table><h2>Hosts</h2>')
    for host in fleet['hosts']:
        out.append('<details class="host" data-host="%s" data-status="%s"%s><summary><b>%s</b> '
                   '<span class="st-%s">%s</span> %s</summary>' % (
                       h(host['host']), h(host['status']), ' open' if host['status'] in UNAUDITED else '',
                       h(host['host']), h(host['status']), h(host['status']),
                       h(', '.join('%s %d' % (s, host['counts'].get(s, 0)) for s in SEVERITY_ORDER
                                   if host['counts'].get(s))) or 'no active findings'))
        if host.get('message'):
            out.append('<p>%s</p>' % h(host['message']))
        if host.get('runtimes'):
            described = [runtime_text(r) + (' error: ' + _text(r.get('error')) if r.get('error') else '')
                         for r in host['runtimes']]
            out.append('<p>Runtimes: %s</p>' % h('; '.join(described)))
        if host.get('probe'):
            out.append('<p>Probe: %s</p>' % h('; '.join('%s %s nnp=%s: %s' % (
                _text(p.get('runtime')), _text(p.get('syscall')), _text(p.get('no_new_privileges')),
                _text(p.get('outcome'))) for p in host['probe'])))
        if host.get('errors'):
            out.append('<ul class="errors">%s</ul>' % ''.join(
                '<li>%s <code>%s</code>: %s</li>' % (h(e['source']), h(e['path']), h(e['error'])) for e in host['errors']))
        if host['findings']:
            out.append('<ul>%s</ul>' % ''.join(
                '<li>%s <code>%s</code> %s%s</li>' % (h(f.get('severity')), h(f.get('id')), h(f.get('message')),
                                                      (' [%s]' % h(_waiver_text(f))) if f.get('waiver') else '')
                for f in host['findings']))
        out.append('</details>')
    if fleet['expired_waivers']:
        out.append('<h2>Expired waivers (no longer applied)</h2><ul id="expired-waivers">')
        for w in fleet['expired_waivers']:
            out.append('<li><code>%s</code> host %s profile %s expired %s: %s (hosts: %s)</li>' % (
                h(w['id']), h(w['host']), h(w['profile']), h(w['expires']), h(w['reason']), h(w['hosts'])))
        out.append('</ul>')
    out.append('<script>%s</script></body></html>' % _JS)
    return '\n'.join(out) + '\n'


_XML_BAD = re.compile(u'[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]')


def _x(value):
    # XML 1.0 forbids most control characters even escaped: drop them.
    return _XML_BAD.sub('', _text(value))


def render_junit(fleet, hazard_ids=None):
    """One testsuite per host, one testcase per host x hazard, plus an ``audit`` case per host.

    Active findings (not info) fail their case; info-only findings and waived ones pass/skip with
    the text in system-out; a host not audited errors its ``audit`` case and skips the rest.
    """
    ids = sorted(set(hazard_ids or CATALOGUE) | set(hz['id'] for hz in fleet['by_hazard']))
    id_attrs = [(hazard_id, _xml_attr(_x(hazard_id))) for hazard_id in ids]
    suites, t_tests, t_fail, t_err, t_skip = [], 0, 0, 0, 0
    for host in fleet['hosts']:
        cases, fails, errs, skips = [], 0, 0, 0
        name = _x(host['host'])
        classname = _xml_attr(name)
        unaudited = host['status'] in UNAUDITED
        audit_case = '<testcase classname=%s name="audit">' % classname
        if unaudited:
            audit_case += '<error type=%s message=%s/>' % (_xml_attr(host['status']), _xml_attr(_x(host['message'])))
            errs += 1
        elif host['errors']:
            audit_case += '<system-out>%s</system-out>' % _xml_escape(_x('\n'.join(
                '%s %s: %s' % (e['source'], e['path'], e['error']) for e in host['errors'])))
        cases.append(audit_case + '</testcase>')
        by_id = {}
        for f in host['findings']:
            by_id.setdefault(str(f.get('id')), []).append(f)
        for hazard_id, id_attr in id_attrs:
            head = '<testcase classname=%s name=%s>' % (classname, id_attr)
            found = by_id.get(hazard_id)
            if unaudited:
                cases.append(head + '<skipped message="host not audited"/></testcase>')
                skips += 1
                continue
            if not found:
                cases.append(head + '</testcase>')
                continue
            active = [f for f in found if not f.get('waived')]
            failing = [f for f in active if f.get('severity') != 'info']
            lines = ['%s %s: %s %s' % (f.get('severity'), f.get('profile'), f.get('message'), _waiver_text(f))
                     for f in found]
            text = _xml_escape(_x('\n'.join(lines)))
            if failing:
                worst = max((f.get('severity') for f in failing), key=severity_rank)
                body = '<failure type=%s message=%s>%s</failure>' % (
                    _xml_attr(_x(worst)), _xml_attr(_x('%d %s finding(s)' % (len(failing), worst))), text)
                fails += 1
            elif not active:
                body = '<skipped message=%s/>' % _xml_attr(_x('waived: ' + _waiver_text(found[0])))
                skips += 1
            else:
                body = '<system-out>%s</system-out>' % text
            cases.append(head + body + '</testcase>')
        suites.append('<testsuite name=%s tests="%d" failures="%d" errors="%d" skipped="%d">%s</testsuite>' % (
            classname, len(cases), fails, errs, skips, ''.join(cases)))
        t_tests += len(cases)
        t_fail += fails
        t_err += errs
        t_skip += skips
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name=%s tests="%d" failures="%d" errors="%d" '
            'skipped="%d">\n%s\n</testsuites>\n' % (_xml_attr(_x(fleet['title'])), t_tests, t_fail, t_err, t_skip,
                                                    '\n'.join(suites)))


CSV_COLUMNS = ('host', 'status', 'kind', 'severity', 'id', 'title', 'profile', 'origin', 'runtime_name',
               'runtime_path', 'runtime_version', 'affected', 'syscalls', 'waived', 'waiver_reason',
               'waiver_expires', 'waiver_expired', 'message', 'reference')


def csv_cell(value):
    """A CSV cell a spreadsheet will not execute: leading = + - @ (and tab/CR) get a quote prefix."""
    text = _text(value)
    if text and text[0] in '=+-@\t\r':
        return "'" + text
    return text


def render_csv(fleet):
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator='\r\n')
    writer.writerow(CSV_COLUMNS)
    for host in fleet['hosts']:
        base = {'host': host['host'], 'status': host['status']}
        rows = []
        for f in host['findings']:
            runtime = f.get('runtime') if isinstance(f.get('runtime'), dict) else {}
            waiver = f.get('waiver') if isinstance(f.get('waiver'), dict) else {}
            rows.append(dict(base, kind='finding', severity=f.get('severity'), id=f.get('id'), title=f.get('title'),
                             profile=f.get('profile'), origin=origin_text(f.get('origin')),
                             runtime_name=runtime.get('name'), runtime_path=runtime.get('path'),
                             runtime_version=runtime.get('version') or ('unknown' if runtime else ''),
                             affected=f.get('affected'), syscalls=' '.join(_text(s) for s in f.get('syscalls') or []),
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
    return buf.getvalue()


RENDERERS = {'json': render_json, 'md': render_md, 'html': render_html, 'junit': render_junit, 'csv': render_csv}


def render(fleet, formats=FORMATS):
    """format -> text for each requested format."""
    out = {}
    for fmt in formats:
        if fmt not in RENDERERS:
            raise ValueError('unknown report format %r (known: %s)' % (fmt, ', '.join(FORMATS)))
        out[fmt] = RENDERERS[fmt](fleet)
    return out


def summary_table(fleet, max_rows=25):
    """Short fixed-width table for the end of the play: one line per host with problems."""
    cols = ['host', 'status'] + list(SEVERITY_ORDER) + ['errors']
    rows = []
    for host in fleet['hosts']:
        if host['status'] == 'ok' and not host['max_severity'] and not host['errors']:
            continue
        rows.append([_text(host['host'])[:40], host['status']] + [str(host['counts'].get(s, 0)) for s in SEVERITY_ORDER]
                    + [str(len(host['errors']))])
    total = (['TOTAL (%d hosts)' % fleet['totals']['hosts'], '']
             + [str(fleet['by_severity'].get(s, 0)) for s in SEVERITY_ORDER] + [str(fleet['totals']['errors'])])
    hidden = max(0, len(rows) - max_rows)
    rows = rows[:max_rows]
    widths = [max(len(str(r[i])) for r in [cols, total] + rows) for i in range(len(cols))]
    fmt = '  '.join('%%-%ds' % w for w in widths)
    lines = [fmt % tuple(cols)]
    lines += [fmt % tuple(r) for r in rows]
    if hidden:
        lines.append('... %d more host(s) with findings or errors: see the report' % hidden)
    clean = fleet['totals']['hosts'] - len(rows) - hidden
    if clean:
        lines.append('%d host(s) with no findings and no errors' % clean)
    lines.append(fmt % tuple(total))
    lines.append(_verdict_line(fleet))
    return lines
