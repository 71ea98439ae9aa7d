# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Fleet audit report model: per-host summaries, the fleet data, the verdict and the console table.

Pure stdlib, no I/O (the ``fleet_report`` action plugin writes the files). The file formats are
rendered by the ``_render_<format>.py`` modules beside this one (found by ``_renderers``); they
use the text helpers here. Everything that comes from a host (paths, messages, versions) is
untrusted: every renderer escapes it for its format. Output is deterministic: hosts in natural
order, findings by severity then id/profile/runtime. The JSON layout is documented in
docs/report-schema.md (``schema_version``).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._hazards import (
    CATALOGUE,
    SEVERITIES,
    runtime_kind,
    runtime_verdicts,
    severity_rank,
)
from ansible_collections.runcguard.seccomp.plugins.module_utils._version import version_key

SCHEMA_VERSION = 1
FAIL_ON = ('none',) + SEVERITIES
# Highest first, for every table a person reads.
SEVERITY_ORDER = tuple(reversed(SEVERITIES))
# Host states: ok = audited; failed = the audit task failed; unreachable = no connection;
# missing = the host was in the play but left it before the audit ran (earlier failure/unreachable).
HOST_STATES = ('ok', 'failed', 'unreachable', 'missing')
UNAUDITED = ('failed', 'unreachable', 'missing')
# Findings kept per host (audit_max_findings_per_host): one compromised host can send facts that
# make tens of thousands of findings; the report stays bounded, the totals stay exact.
MAX_FINDINGS_PER_HOST = 2000
# What host_summary returns (counts, waived and max_severity are recomputed by build_fleet).
SUMMARY_KEYS = ('host', 'status', 'message', 'findings', 'errors', 'omitted', 'runtimes', 'profiles',
                'notify_profiles', 'probe')

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
        key = (one_line(path), one_line(error))
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


def _cap(findings, limit):
    """(kept, omitted) with at most ``limit`` kept: active before waived, most severe first."""
    if limit is None or len(findings) <= limit:
        return findings, []
    ranked = sorted(findings, key=lambda f: (bool(f.get('waived')), finding_sort_key(f)))
    return sorted(ranked[:limit], key=finding_sort_key), ranked[limit:]


def _omitted_by_hazard(omitted):
    """[{id, severity, title, findings, waived}] for the findings left out of a host's list."""
    groups = {}
    for finding in omitted:
        key = (str(finding.get('id') or 'unknown'), finding.get('severity'))
        entry = groups.setdefault(key, {'id': key[0], 'severity': key[1], 'title': finding.get('title'),
                                        'findings': 0, 'waived': 0})
        entry['waived' if finding.get('waived') else 'findings'] += 1
    return sorted(groups.values(), key=lambda e: (-severity_rank(e['severity']), e['id']))


def host_summary(host, facts=None, findings=None, status='ok', message=None, errors=None, probe=None,
                 max_findings=MAX_FINDINGS_PER_HOST):
    """The per-host summary the audit role sets (``audit_host_summary``); findings already waived.

    ``errors``: extra error entries ({source, path, error}) found outside the facts (e.g. the probe).
    ``probe``: notify_probe ``results`` (observations), kept in a compact form.
    ``max_findings``: findings kept in the summary (None: all); the rest are counted in ``omitted``
    (per hazard and severity) so every total stays exact, and an error entry says how many.
    """
    if status not in HOST_STATES:
        raise ValueError('status must be one of %s, got %r' % (', '.join(HOST_STATES), status))
    if max_findings is not None and (isinstance(max_findings, bool) or not isinstance(max_findings, int)
                                     or max_findings < 0):
        raise ValueError('max_findings must be a number of findings (0 or more), got %r' % (max_findings,))
    facts = facts if isinstance(facts, dict) else {}
    findings, omitted = _cap([dict(f) for f in findings or [] if isinstance(f, dict)], max_findings)
    if omitted:
        errors = list(errors or []) + [{
            'source': 'audit', 'path': None,
            'error': '%d of %d findings left out of this report (audit_max_findings_per_host=%d): the least '
                     'severe; the counts include them all. So many findings usually means crafted or broken '
                     'facts: look at this host' % (len(omitted), len(omitted) + len(findings), max_findings)}]
    runtimes = []
    for runtime in facts.get('runtimes') or []:
        if isinstance(runtime, dict):
            runtimes.append({'name': runtime.get('name'), 'path': runtime.get('path'),
                             'version': runtime.get('version'), 'error': runtime.get('error'),
                             # what runtime_inventory groups and judges builds by
                             'commit': runtime.get('commit'), 'dev': bool(runtime.get('dev')),
                             'libseccomp': runtime.get('libseccomp'),
                             'used_by': sorted(one_line(e) for e in runtime.get('used_by') or [] if e)})
    runtimes.sort(key=lambda r: (str(r['path'] or ''), str(r['name'] or '')))
    profiles = [p for p in facts.get('profiles') or [] if isinstance(p, dict)]
    summary = {
        'host': str(host),
        'status': status,
        'message': one_line(message) or None,
        'findings': findings,
        # A waiver whose when: failed on a finding left it active; the host's errors say why.
        'errors': _merge_errors(host_errors(facts), list(errors or []) + [
            {'source': 'waiver', 'path': f.get('profile'), 'error': f['waiver_error']}
            for f in findings if f.get('waiver_error')]),
        'omitted': _omitted_by_hazard(omitted),
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
            errors.append({'source': one_line(item.get('source')) or 'audit', 'path': one_line(item.get('path')) or None,
                           'error': one_line(item.get('error'))})
    return sorted(errors, key=lambda e: (e['path'] or '', e['source'], e['error']))


def _omitted(summary):
    return [o for o in summary.get('omitted') or [] if isinstance(o, dict)]


def _counts(summary):
    """Severity counts of a host: its findings and the ones left out of its list (``omitted``)."""
    counts = dict((s, 0) for s in SEVERITY_ORDER)
    waived = 0
    top = None
    groups = [(f.get('severity'), 0 if f.get('waived') else 1, 1 if f.get('waived') else 0)
              for f in summary.get('findings') or []]
    groups += [(o.get('severity'), int(o.get('findings') or 0), int(o.get('waived') or 0)) for o in _omitted(summary)]
    for severity, active, skipped in groups:
        waived += skipped
        if not active:
            continue
        counts[severity] = counts.get(severity, 0) + active
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
        elif summary.get('status') not in HOST_STATES:
            # A registered task result, not a summary: the audit task failed before it made one.
            summary = _placeholder(name, 'failed', summary.get('msg') or 'the audit task failed')
        else:
            # Only the summary's own keys: a registered summary also holds the task's result keys.
            summary = dict((key, summary[key]) for key in SUMMARY_KEYS if key in summary)
            summary['host'] = name
            summary['findings'] = sorted(summary.get('findings') or [], key=finding_sort_key)
            summary.setdefault('errors', [])
            summary.setdefault('omitted', [])
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
        for group in _omitted(host):  # left out of the host's list, never out of the totals
            hazard_id = str(group.get('id') or 'unknown')
            entry = hazards.setdefault(hazard_id, {'id': hazard_id, 'title': group.get('title'),
                                                   'severity': group.get('severity'),
                                                   'findings': 0, 'waived': 0, 'hosts': 0})
            active, skipped = int(group.get('findings') or 0), int(group.get('waived') or 0)
            entry['findings'] += active
            entry['waived'] += skipped
            totals['findings'] += active
            totals['waived'] += skipped
            by_severity[group.get('severity')] = by_severity.get(group.get('severity'), 0) + active
            if active and hazard_id not in seen_ids:
                entry['hosts'] += 1
                seen_ids.add(hazard_id)

    threshold = None if fail_on == 'none' else severity_rank(fail_on)
    blocking, blocking_omitted = [], 0
    if threshold is not None:
        for host in fleet_hosts:
            for finding in host['findings']:
                if not finding.get('waived') and severity_rank(finding.get('severity')) >= threshold:
                    blocking.append({'host': host['host'], 'id': finding.get('id'),
                                     'severity': finding.get('severity'), 'profile': finding.get('profile')})
            blocking_omitted += sum(int(o.get('findings') or 0) for o in _omitted(host)
                                    if severity_rank(o.get('severity')) >= threshold)
    unaudited = [h['host'] for h in fleet_hosts if h['status'] in UNAUDITED]
    failed = bool(blocking) or bool(blocking_omitted) or bool(threshold is not None and fail_on_unaudited and unaudited)
    top = None
    for host in fleet_hosts:
        if host['max_severity'] and (top is None or severity_rank(host['max_severity']) > severity_rank(top)):
            top = host['max_severity']
    return {
        'schema_version': SCHEMA_VERSION,
        'runtime_inventory': runtime_inventory(fleet_hosts),
        'title': one_line(title),
        'generated_at': generated_at,
        'totals': totals,
        'max_severity': top,
        'by_severity': by_severity,
        'by_hazard': sorted(hazards.values(), key=lambda h: (-severity_rank(h['severity']), h['id'])),
        'verdict': {'fail_on': fail_on, 'fail_on_unaudited': bool(fail_on_unaudited), 'failed': failed,
                    'blocking': blocking, 'blocking_omitted': blocking_omitted, 'unaudited': unaudited},
        'waivers': list(waivers or []),
        'expired_waivers': sorted(expired.values(), key=lambda w: (str(w['expires']), str(w['id']))),
        'hosts': fleet_hosts,
    }


# Probe findings: an observation about the build that ran the canary.
_OBSERVED = ('notify-probe-hang', 'notify-probe-disagrees')


def _verdict_inputs(runtime):
    """The fields runtime_verdicts reads, as a hashable key (one evaluation per distinct build)."""
    return (runtime_kind(runtime), runtime.get('version'), runtime.get('commit'), bool(runtime.get('dev')),
            runtime.get('libseccomp'), bool(runtime.get('error')))


_UNSET = object()


def _merge_verdict(old, new):
    return new if old is _UNSET or old == new else 'mixed'


def runtime_inventory(fleet_hosts):
    """One entry per runtime build (name, version, commit) over the fleet: how many hosts run it,
    which engines use it, and its verdict for every catalogued hazard (``runtime_verdicts``; the
    probe hazards are true where a probe observed them on that build). Builds whose hosts differ
    in what decides a verdict (libseccomp, ...) get ``mixed`` for it."""
    judged, builds = {}, {}
    for host in fleet_hosts:
        by_path = {}
        for runtime in host.get('runtimes') or []:
            if not isinstance(runtime, dict):
                continue
            name = runtime.get('name') or runtime_kind(runtime)
            key = (one_line(name), one_line(runtime.get('version')), one_line(runtime.get('commit')))
            build = builds.setdefault(key, {'name': name, 'version': runtime.get('version'),
                                            'commit': runtime.get('commit'), 'hosts': set(), 'engines': set(),
                                            'observed': set(), 'verdicts': dict((h, _UNSET) for h in CATALOGUE)})
            build['hosts'].add(host['host'])
            build['engines'].update(one_line(e) for e in runtime.get('used_by') or [] if e)
            inputs = _verdict_inputs(runtime)
            if inputs not in judged:
                judged[inputs] = runtime_verdicts(runtime)
            for hazard_id, verdict in judged[inputs].items():
                build['verdicts'][hazard_id] = _merge_verdict(build['verdicts'][hazard_id], verdict)
            by_path[runtime.get('path')] = build
        for finding in host.get('findings') or []:
            runtime = finding.get('runtime') if isinstance(finding.get('runtime'), dict) else {}
            build = by_path.get(runtime.get('path'))
            if finding.get('id') in _OBSERVED and build is not None:
                build['observed'].add(finding['id'])
    inventory = []
    for build in builds.values():
        observed = build.pop('observed')
        verdicts = dict((h, True if h in observed else None if v is _UNSET else v) for h, v in build['verdicts'].items())
        inventory.append(dict(build, hosts=len(build['hosts']), engines=sorted(build['engines']), verdicts=verdicts))
    return sorted(inventory, key=lambda b: (str(b['name'] or ''), version_key(b['version']), str(b['commit'] or '')))


# ----------------------------------------------------------------------------------------------
# text for renderers, the gate message and the console table

VERDICT_TEXT = {True: 'affected', False: 'no', 'unknown': 'unknown', 'mixed': 'mixed', None: 'n/a'}


def verdict_text(verdict):
    """runtime_inventory verdict for people: affected, no, unknown, mixed, n/a."""
    return VERDICT_TEXT.get(verdict, one_line(verdict)) if isinstance(verdict, (bool, str, type(None))) else one_line(verdict)


def inventory_hazards(fleet):
    """Hazard ids the runtime inventory has a verdict for (the build-decided ones, then observed)."""
    ids = []
    for hazard in fleet['by_hazard']:
        if any(build['verdicts'].get(hazard['id']) is not None for build in fleet.get('runtime_inventory') or []):
            ids.append(hazard['id'])
    return ids


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


def verdict_line(fleet):
    verdict = fleet['verdict']
    if verdict['fail_on'] == 'none':
        return 'Gate: none (the audit never fails the play).'
    if verdict['failed']:
        return 'Gate: FAILED (fail_on=%s): %d blocking finding(s), %d host(s) not audited.' % (
            verdict['fail_on'], len(verdict['blocking']) + verdict.get('blocking_omitted', 0),
            len(verdict['unaudited']))
    return 'Gate: passed (fail_on=%s).' % verdict['fail_on']


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
    message = ('runcguard audit gate failed (audit_fail_on=%s): %d active finding(s) at or above %s%s, '
               '%d host(s) not audited%s.' % (
                   verdict['fail_on'], len(verdict['blocking']) + verdict.get('blocking_omitted', 0), verdict['fail_on'],
                   ' (%s)' % _some(blocking_hosts, limit) if blocking_hosts else '',
                   len(unaudited), ' (%s)' % _some(unaudited, limit) if unaudited else ''))
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
    lines.append(verdict_line(fleet))
    return lines
