# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Fleet audit report model: per-host summaries, the fleet data and its verdict.

Pure stdlib, no I/O (the ``fleet_report`` action plugin writes the files). The runtime inventory
is ``_report_inventory``, the text helpers (escaping, verdict words, gate message, console table)
are ``_report_text``; the file formats are rendered by the ``_render_<format>.py`` modules beside
this one (found by ``_renderers``). Everything that comes from a host (paths, messages, versions) is
untrusted: every renderer escapes it for its format. Output is deterministic: hosts in natural
order, findings by severity then id/profile/runtime. The JSON layout is documented in
docs/report-schema.md (``schema_version``).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._hazards import (
    CATALOGUE,
    SEVERITIES,
    severity_rank,
)
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._report_inventory import runtime_inventory
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._report_text import (
    SEVERITY_ORDER,
    gates,
    natural_key,
    one_line,
)

SCHEMA_VERSION = 1
FAIL_ON = ('none',) + SEVERITIES
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


ADVISORY_IDS_LIMIT = 1000


def _package_summary(package):
    """The owning package as runtime_inventory judges backports by it (host data: bounded, one-line)."""
    if not isinstance(package, dict) or not package.get('name'):
        return None
    ids = package.get('advisory_ids')
    return {'manager': one_line(package.get('manager')), 'name': one_line(package.get('name')),
            'version': one_line(package.get('version')),
            'advisory_ids': ([one_line(i) for i in ids if isinstance(i, str)][:ADVISORY_IDS_LIMIT]
                             if isinstance(ids, list) else None),
            'changelog_error': one_line(package.get('changelog_error')) or None}


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
                             'package': _package_summary(runtime.get('package')),
                             'used_by': sorted(one_line(e) for e in runtime.get('used_by') or [] if e),
                             # rootless setups: the user whose own binary it is, the users who run it
                             'owner': _owner(runtime.get('owner')),
                             'users': sorted(one_line(u) for u in runtime.get('users') or [] if isinstance(u, str))})
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
        'probe': [_probe_entry(item) for item in probe or [] if isinstance(item, dict)],
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
                    'blocking': blocking, 'blocking_omitted': blocking_omitted, 'unaudited': unaudited,
                    'query': None, 'gates': gates({'verdict': {'fail_on': fail_on, 'failed': failed,
                                                               'fail_on_unaudited': fail_on_unaudited,
                                                               'blocking': blocking, 'unaudited': unaudited,
                                                               'blocking_omitted': blocking_omitted}})},
        'waivers': list(waivers or []),
        'expired_waivers': sorted(expired.values(), key=lambda w: (str(w['expires']), str(w['id']))),
        'hosts': fleet_hosts,
    }


def set_query_verdict(fleet, expression, failed=None, result=None):
    """Record the ``audit_fail_query`` gate in the fleet's verdict (``failed`` None: not evaluated
    yet), and with it the list of every gate that is set."""
    fleet['verdict']['query'] = {'expression': expression, 'failed': failed, 'result': result}
    fleet['verdict']['gates'] = gates(fleet)
    return fleet


def _owner(owner):
    """{name, uid} of a rootless entry's owner (one line, bounded), or None."""
    if not isinstance(owner, dict) or not owner.get('name'):
        return None
    uid = owner.get('uid')
    return {'name': one_line(owner['name']), 'uid': uid if isinstance(uid, int) and not isinstance(uid, bool) else None}


def _probe_entry(item):
    """One canary run as the report keeps it (``user``: only for a rootless setup's runtime)."""
    out = dict((k, item.get(k)) for k in ('runtime', 'name', 'version', 'syscall', 'no_new_privileges', 'outcome',
                                          'message'))
    if item.get('user'):
        out['user'] = one_line(item['user'])
    return out
