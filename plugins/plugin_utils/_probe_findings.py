# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn ``notify_probe`` observations into findings (docs/architecture.md findings contract).

* ``notify-probe-hang`` (critical): a runtime was seen hanging, whatever its version says.
* ``notify-probe-disagrees``: version data said affected true/false, the observation says the
  opposite (vendor build, backport, patched fork, or a wrong version table).

Pure stdlib, no I/O: runs on the controller (audit role) and on targets alike.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._build_verdicts import runtime_kind
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._hazards import RULES, make_finding

# Version-based hazards the probe can confirm or refute: id -> (runtime kind, trigger syscall,
# outcomes that mean "affected"), from each rule. A hang hazard is affected only when the probe
# hangs; a rejection hazard when the runtime fails the start.
HAZARD_OUTCOMES = dict((rule.id, (rule.runtime, rule.trigger, rule.probe_outcomes))
                       for rule in RULES.values() if rule.probe_outcomes)


def _kind(result):
    # probe results name the binary in 'runtime'
    return runtime_kind({'name': result.get('name'), 'path': result.get('runtime')})


def version_prediction(hazard_id, result):
    """True/False/'unknown': what the version alone says about this hazard for this runtime."""
    rule = RULES.get(hazard_id)
    if rule is None or not rule.build_decided:
        return 'unknown'
    # The rule's own verdict for a build of the kind it is about, as the probe reported it.
    affected = rule.verdict({'name': rule.runtime, 'version': result.get('version'), 'dev': result.get('dev'),
                             'commit': result.get('commit'), 'error': None})[0]
    return 'unknown' if affected is None else affected


def observed(hazard_id, outcomes):
    """True/False/None from one runtime x syscall's outcomes (all no_new_privileges values)."""
    affected = HAZARD_OUTCOMES[hazard_id][2]
    if any(o in affected for o in outcomes):
        return True
    if outcomes and all(o == 'ok' for o in outcomes):
        return False
    return None  # an environment error (crun on hybrid cgroups, ...) proves nothing


def _predictions(findings):
    """{(hazard id, runtime path): affected} from the version-based findings."""
    table = {}
    for finding in findings or ():
        if not isinstance(finding, dict) or finding.get('id') not in HAZARD_OUTCOMES:
            continue
        path = (finding.get('runtime') or {}).get('path')
        if path:
            previous = table.get((finding['id'], path))
            # Several profiles give the same runtime verdict; a definite one wins over unknown.
            if previous is None or previous == 'unknown':
                table[(finding['id'], path)] = finding.get('affected')
    return table


def _groups(probe_results):
    """Results grouped by (runtime path, profile, syscall set), in first-seen order."""
    groups, order = {}, []
    for result in probe_results or ():
        if not isinstance(result, dict) or result.get('outcome') not in ('ok', 'hang', 'error', 'unsupported'):
            continue
        syscalls = tuple(result.get('syscalls') or [s for s in str(result.get('syscall') or '').split(',') if s])
        key = (result.get('runtime'), result.get('profile'), syscalls)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(result)
    return [(key, groups[key]) for key in order]


def _finding(hazard_id, runtime_path, profile, first, syscalls, affected, message, remediation, severity=None):
    origin = [{'engine': 'user', 'setting': 'notify_probe profile'}] if profile else []
    runtime_ref = {'path': runtime_path, 'name': _kind(first), 'version': first.get('version')}
    user = first.get('user')
    if user:  # probed rootless, as the user whose setup runs this binary
        message = '%s Probed rootless as user %s.' % (message, user)
    finding = make_finding(hazard_id, profile, origin, runtime_ref, syscalls, affected, message,
                           severity=severity, remediation=remediation)
    if user:
        finding['owner'] = {'name': str(user), 'uid': first.get('uid')}
    return finding


def _label(result):
    return '%s %s at %s' % (_kind(result) or 'runtime', result.get('version') or '(version unknown)',
                            result.get('runtime'))


def _modes(results, outcome):
    return ', '.join('noNewPrivileges=%s' % str(r.get('no_new_privileges')).lower()
                     for r in results if r.get('outcome') == outcome)


def probe_findings(probe_results, findings=None):
    """Findings from notify_probe results, given the version-based `findings` of the same host.

    One ``notify-probe-hang`` and at most one ``notify-probe-disagrees`` per runtime and profile
    (their keys are ``id|profile|runtime path``); the syscalls and modes are named in the message.
    """
    predictions = _predictions(findings)
    hangs, disagreements = {}, {}
    for (path, profile, syscalls), results in _groups(probe_results):
        first = results[0]
        kind = _kind(first)
        if any(r['outcome'] == 'hang' for r in results):
            hangs.setdefault((path, profile), (first, []))[1].append((syscalls, results))
        for hazard_id, (hazard_kind, trigger, _affected) in sorted(HAZARD_OUTCOMES.items()):
            if kind != hazard_kind or trigger not in syscalls:
                continue
            predicted = predictions.get((hazard_id, path))
            if predicted is None:
                predicted = version_prediction(hazard_id, first)
            seen = observed(hazard_id, [r['outcome'] for r in results])
            if predicted in (True, False) and seen is not None and seen != predicted:
                disagreements.setdefault((path, profile), (first, []))[1].append(
                    (hazard_id, syscalls, predicted, seen, results))
    out = []
    for (path, profile), (first, items) in hangs.items():
        names = sorted(set(n for syscalls, _r in items for n in syscalls))
        detail = '; '.join('%s (%s)' % (','.join(s), _modes(r, 'hang')) for s, r in items)
        remediation = (['upgrade_crun', 'rewrite_profile'] if _kind(first) == 'crun'
                       else ['upgrade_runc', 'pin_runc', 'rewrite_profile'])
        out.append(_finding(
            'notify-probe-hang', path, profile, first, names, True,
            '%s was observed hanging on a canary container with %s under SCMP_ACT_NOTIFY: %s; containers with '
            'such a profile will hang whatever the version says. Move to a runtime the probe reports ok, or '
            'take these syscalls out of the NOTIFY rule.' % (_label(first), ', '.join(names), detail),
            remediation))
    for (path, profile), (first, items) in disagreements.items():
        names = sorted(set(n for _h, syscalls, _p, _s, _r in items for n in syscalls))
        hidden = any(seen for _h, _s, _p, seen, _r in items)
        parts = []
        for hazard_id, syscalls, predicted, seen, results in items:
            parts.append('%s: version data says %s, probe observed %s' % (
                hazard_id, 'affected' if predicted else 'not affected',
                '/'.join(sorted(set(r['outcome'] for r in results)))))
        out.append(_finding(
            'notify-probe-disagrees', path, profile, first, names, True if hidden else False,
            '%s does not behave as its version predicts (%s); trust the observation and check the build '
            '(vendor patch, backport, development build, wrong version string).' % (_label(first), '; '.join(parts)),
            [], severity='high' if hidden else 'medium'))
    return out
