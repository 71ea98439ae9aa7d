# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Fleet report renderer: SARIF 2.1.0 (GitHub code scanning, GitLab, DefectDojo).

One rule per hazard of the catalogue, one result per finding (waived ones carry a suppression);
a ``runc-advisory`` finding gives one result per advisory it lists instead, each with a rule of its
own (``runc-advisory/GO-...``: its CVE/GHSA ids, summary, fixed versions, advisory URL).
The location is the profile path: relative to ``base`` (``audit_sarif_base``) when it lies below
it, so a repository of profiles gets annotations on its own files, else an absolute file URI.
Hosts that could not be audited and error entries become tool execution notifications.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import json
import posixpath
import re
from urllib.parse import quote

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._catalogue import STRATEGIES
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._hazards import CATALOGUE, severity_rank
from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _render_json
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._advisories import describe as _describe
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._advisories import entry as _advisory_entry
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._advisories import find_advisory
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._render_md import md
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._report import UNAUDITED
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._report_text import gates, one_line, verdict_line

FORMAT = 'sarif'
EXTENSION = 'sarif'
DEFAULT = False

SCHEMA_URI = 'https://json.schemastore.org/sarif-2.1.0.json'
SRCROOT = '%SRCROOT%'
# GitHub reads properties.security-severity (a number as a string): >= 9 critical, 7-8.9 high,
# 4-6.9 medium, 0.1-3.9 low.
SECURITY_SEVERITY = {'critical': '9.5', 'high': '8.0', 'medium': '5.5', 'low': '3.0', 'info': '0.0'}
LEVELS = {'critical': 'error', 'high': 'error', 'medium': 'warning', 'low': 'warning', 'info': 'note'}
# Tool notifications are for people: a fleet with thousands of broken hosts gets a bounded list.
NOTIFICATION_LIMIT = 1000
# Rule ids come from reports (a merged partial is host data): anything else than a hazard id's
# characters becomes the rule UNKNOWN_RULE. help.markdown holds controller text only, escaped.
_RULE_ID = re.compile(r'^[a-z0-9][a-z0-9._-]{0,63}$')
UNKNOWN_RULE = 'unknown'
_HTTPS_URL = re.compile(r"^https://[A-Za-z0-9.-]+(/[A-Za-z0-9._~:/?#@!$&'()*+,;=%-]*)?$")


def rule_id(hazard_id):
    """The SARIF rule id of a finding's hazard id (UNKNOWN_RULE for anything not shaped like one)."""
    return hazard_id if isinstance(hazard_id, str) and _RULE_ID.match(hazard_id) else UNKNOWN_RULE


def _https(url):
    """``url`` when it is a plain https:// URL (helpUri, markdown autolinks), else None."""
    return url if isinstance(url, str) and _HTTPS_URL.match(url) and '>' not in url else None


def _rule_name(hazard_id):
    return ''.join(part.capitalize() for part in hazard_id.replace('_', '-').split('-') if part)


def _rule(hazard_id, title, severity):
    entry = CATALOGUE.get(hazard_id) or {}
    severity = entry.get('severity') or severity or 'medium'
    title = one_line(entry.get('title') or title or hazard_id)
    strategies = entry.get('remediation') or []
    steps = [STRATEGIES.get(s, s) for s in strategies] or ['Investigate the runtime build; no automatic fix.']
    reference = entry.get('reference')
    help_text = 'Remediation: %s%s' % (' '.join(steps), ' Reference: %s' % reference if reference else '')
    link = _https(reference)
    help_md = '**Remediation**\n\n%s%s' % (''.join('- `%s`: %s\n' % (s, md(STRATEGIES[s])) for s in strategies
                                                   if s in STRATEGIES and _RULE_ID.match(s))
                                           or '- Investigate the runtime build; no automatic fix.\n',
                                           '\nReference: <%s>' % link if link else '')
    rule = {
        'id': hazard_id,
        'name': _rule_name(hazard_id),
        'shortDescription': {'text': title},
        'fullDescription': {'text': one_line(entry.get('description') or title)},
        'help': {'text': help_text, 'markdown': help_md},
        'defaultConfiguration': {'level': LEVELS.get(severity, 'warning')},
        'properties': {'security-severity': SECURITY_SEVERITY.get(severity, '5.5'), 'precision': 'high',
                       'tags': ['security', 'seccomp', 'containers'], 'severity': severity,
                       'remediation': list(strategies)},
    }
    if link:
        rule['helpUri'] = link
    return rule


def _uri(path, base):
    """(uri, uriBaseId or None) for a host path; relative to ``base`` when it lies below it."""
    path = one_line(path)
    if base and path.startswith('/'):
        rel = posixpath.relpath(posixpath.normpath(path), base)
        if rel != '.' and not rel.startswith('../') and rel != '..':
            return quote(rel), SRCROOT
    if path.startswith('/'):
        return 'file://' + quote(path), None
    return quote(path), None


ADVISORY_RULE = 'runc-advisory'
ATTRIBUTION = 'Advisory data: Go Vulnerability Database (https://vuln.go.dev), CC-BY-4.0.'


def advisory_items(finding):
    """The advisories a ``runc-advisory`` finding lists (open, then undecided) as the controller's
    own advisory table has them, found by GO id; [] for any other finding. A report's advisory text
    (a merged partial is host data) is never used; GO ids the table does not know are left out."""
    state = finding.get('advisories') if finding.get('id') == ADVISORY_RULE else None
    if not isinstance(state, dict):
        return []
    items = []
    for status in ('open', 'unknown'):
        for item in state.get(status) or []:
            known = find_advisory(item.get('go')) if isinstance(item, dict) and isinstance(item.get('go'), str) else None
            if known is not None and known['go'] == item['go']:
                why = item.get('why')
                items.append(_advisory_entry(known, status, one_line(why) if isinstance(why, str) else None))
    return items


def _advisory_rule(item):
    """The rule of one advisory (``item`` from advisory_items: the controller's table)."""
    ids = [one_line(i) for i in [item['go']] + list(item['cve']) + list(item['ghsa'])]
    summary = one_line(item['summary']).replace(' in github.com/opencontainers/runc', '')
    fixed = ', '.join(one_line(v) for v in item['fixed']) or 'no fixed release'
    url = _https(item['url'])
    help_text = ('%s. Fixed in runc %s. Remediation: %s Advisory: %s. %s'
                 % (summary, fixed, STRATEGIES['upgrade_runc'], url, ATTRIBUTION))
    rule = {
        'id': '%s/%s' % (ADVISORY_RULE, ids[0]),
        'name': 'RuncAdvisory%s' % ''.join(c for c in ids[0] if c.isalnum()),
        'shortDescription': {'text': '%s: %s' % (', '.join(ids), summary)},
        'fullDescription': {'text': '%s (%s); fixed in runc %s.' % (summary, ', '.join(ids), fixed)},
        'help': {'text': help_text,
                 'markdown': '**%s**\n\n%s\n\nFixed in runc %s.\n\n- `upgrade_runc`: %s\n\n%s%s'
                             % (md(', '.join(ids)), md(summary), md(fixed), md(STRATEGIES['upgrade_runc']),
                                'Advisory: <%s>\n\n' % url if url else '', md(ATTRIBUTION))},
        'defaultConfiguration': {'level': LEVELS['high']},
        'properties': {'security-severity': SECURITY_SEVERITY['high'], 'precision': 'high',
                       'tags': ['security', 'runc', 'containers', 'vulnerability'] + ids, 'severity': 'high',
                       'remediation': ['upgrade_runc'], 'fixed': [one_line(v) for v in item.get('fixed') or []]},
    }
    if url:
        rule['helpUri'] = url
    return rule


def _location(finding, base):
    runtime = finding.get('runtime') if isinstance(finding.get('runtime'), dict) else {}
    path = finding.get('profile') or runtime.get('path')
    if not path:
        return None
    uri, base_id = _uri(path, base)
    artifact = {'uri': uri}
    if base_id:
        artifact['uriBaseId'] = base_id
    return {'physicalLocation': {'artifactLocation': artifact}}


def _fingerprint(host, finding):
    key = '%s|%s' % (host, one_line(finding.get('key') or finding.get('id')))
    return hashlib.sha256(key.encode('utf-8')).hexdigest()


def _result(host, finding, rule_index, base, advisory=None):
    severity = one_line(finding.get('severity')) or 'medium'
    runtime = finding.get('runtime') if isinstance(finding.get('runtime'), dict) else None
    message = one_line(finding.get('message')) or one_line(finding.get('title')) or 'finding'
    rule = rule_id(finding.get('id'))
    fingerprint = _fingerprint(host, finding)
    if advisory is not None:
        rule = '%s/%s' % (ADVISORY_RULE, advisory['go'])
        severity = 'high' if advisory.get('status') == 'open' else 'medium'
        message = '%s %s at %s: %s%s' % (
            one_line((runtime or {}).get('name')) or 'runc', one_line((runtime or {}).get('version')) or '(version unknown)',
            one_line((runtime or {}).get('path')), one_line(_describe(advisory)),
            '' if advisory.get('status') == 'open' else ' (may be open: %s)' % one_line(advisory.get('why')))
        fingerprint = hashlib.sha256(('%s|%s' % (fingerprint, rule)).encode('utf-8')).hexdigest()
    result = {
        'ruleId': rule,
        'ruleIndex': rule_index,
        'level': LEVELS.get(severity, 'warning'),
        'message': {'text': message},
        'partialFingerprints': {'runcguardFindingKey/v1': fingerprint},
        'properties': {
            'host': host, 'severity': severity, 'affected': finding.get('affected'),
            'syscalls': [one_line(s) for s in finding.get('syscalls') or []],
            'profile': finding.get('profile'),
            'runtime': dict((k, runtime.get(k)) for k in ('name', 'path', 'version')) if runtime else None,
            'key': finding.get('key'),
        },
    }
    owner = finding.get('owner') if isinstance(finding.get('owner'), dict) else (runtime or {}).get('owner')
    if isinstance(owner, dict) and owner.get('name'):  # a rootless setup: the user whose it is
        result['properties']['owner'] = {'name': one_line(owner['name']), 'uid': owner.get('uid')}
        if advisory is not None:
            note = ' Rootless setup of user %s (uid %s).' % (one_line(owner['name']), owner.get('uid'))
            result['message']['text'] += note
    if advisory is not None:
        result['properties'].update(advisory=one_line(advisory['go']), advisory_status=one_line(advisory.get('status')))
    location = _location(finding, base)
    if location:
        result['locations'] = [location]
    waiver = finding.get('waiver') if isinstance(finding.get('waiver'), dict) else None
    if finding.get('waived') and waiver:
        result['suppressions'] = [{'kind': 'external', 'status': 'accepted',
                                   'justification': one_line('%s (waiver until %s)' % (
                                       waiver.get('reason'), waiver.get('expires')))}]
    return result


def _notifications(fleet):
    out = []
    for host in fleet['hosts']:
        if host['status'] in UNAUDITED:
            out.append({'level': 'error', 'message': {'text': 'host %s not audited (%s): %s' % (
                one_line(host['host']), host['status'], one_line(host.get('message')))}})
        for err in host.get('errors') or []:
            out.append({'level': 'warning', 'message': {'text': 'host %s: %s %s: %s' % (
                one_line(host['host']), one_line(err.get('source')), one_line(err.get('path')),
                one_line(err.get('error')))}})
    if len(out) > NOTIFICATION_LIMIT:
        hidden = len(out) - NOTIFICATION_LIMIT
        out = out[:NOTIFICATION_LIMIT] + [{'level': 'note', 'message': {
            'text': '%d more notification(s): see the JSON report' % hidden}}]
    return out


def render(fleet, base=None):
    """SARIF log text; ``base``: absolute directory profile paths are made relative to."""
    base = posixpath.normpath(base) if base else None
    ids = []
    for hz in fleet['by_hazard']:
        if rule_id(hz['id']) not in ids:
            ids.append(rule_id(hz['id']))
    ids += sorted(set(CATALOGUE) - set(ids))
    seen = dict((hz['id'], hz) for hz in fleet['by_hazard'] if rule_id(hz['id']) == hz['id'])
    rules = [_rule(i, (seen.get(i) or {}).get('title'), (seen.get(i) or {}).get('severity')) for i in ids]
    index = dict((rule['id'], n) for n, rule in enumerate(rules))
    results = []
    for host in fleet['hosts']:
        for finding in host['findings']:
            items = advisory_items(finding)
            for item in items:
                advisory_rule = '%s/%s' % (ADVISORY_RULE, item['go'])
                if advisory_rule not in index:
                    index[advisory_rule] = len(rules)
                    rules.append(_advisory_rule(item))
                results.append(_result(host['host'], finding, index[advisory_rule], base, advisory=item))
            if items:
                continue
            hazard_id = rule_id(finding.get('id'))
            if hazard_id not in index:
                index[hazard_id] = len(rules)
                rules.append(_rule(hazard_id, finding.get('title'), finding.get('severity')))
            results.append(_result(host['host'], finding, index[hazard_id], base))
    results.sort(key=lambda r: (-severity_rank(r['properties']['severity']), r['ruleId'],
                                r['properties']['host'], r['partialFingerprints']['runcguardFindingKey/v1']))
    unaudited = [h['host'] for h in fleet['hosts'] if h['status'] in UNAUDITED]
    run = {
        'tool': {'driver': {'name': 'runcguard.seccomp', 'rules': rules}},
        'automationDetails': {'id': 'runcguard.seccomp/audit/'},
        'columnKind': 'unicodeCodePoints',
        'invocations': [{'executionSuccessful': not unaudited, 'toolExecutionNotifications': _notifications(fleet)}],
        'results': results,
        'properties': {'title': fleet['title'], 'totals': fleet['totals'], 'max_severity': fleet['max_severity'],
                       'gate': verdict_line(fleet), 'gates': gates(fleet)},
    }
    if base:
        run['originalUriBaseIds'] = {SRCROOT: {'uri': 'file://' + quote(base.rstrip('/') + '/')}}
    log = {'$schema': SCHEMA_URI, 'version': '2.1.0', 'runs': [run]}
    # written exactly like the JSON report (sorted keys, control and bidi characters escaped)
    return _render_json.render(log)


def validate(text, fleet):
    """The parts the consumers rely on (the full schema check is in the tests: jsonschema is not a
    controller requirement): version, one rule per hazard seen, one result per finding (per advisory
    for a runc-advisory finding)."""
    log = json.loads(text)
    if log.get('version') != '2.1.0' or len(log.get('runs') or []) != 1:
        raise ValueError('not a SARIF 2.1.0 log with one run')
    run = log['runs'][0]
    rules = [r['id'] for r in run['tool']['driver']['rules']]
    expected = sum(len(advisory_items(f)) or 1 for host in fleet['hosts'] for f in host['findings'])
    if len(run['results']) != expected:
        raise ValueError('expected %d results, got %d' % (expected, len(run['results'])))
    for result in run['results']:
        if rules[result['ruleIndex']] != result['ruleId']:
            raise ValueError('result %s points at rule %s' % (result['ruleId'], rules[result['ruleIndex']]))
