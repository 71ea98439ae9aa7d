# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hazard catalogue and its evaluation over ``ansible_facts.runcguard``.

Every entry cites where its behaviour is proven. Version ranges come from real runs recorded in
the project's shared notes (runc-version-outputs.md): only 1.2.0-rc.1 and 1.2.0-rc.2 hung with
``fcntl`` under NOTIFY; 1.1.5, 1.1.13, 1.1.15, 1.2.0-rc.3, 1.2.0, 1.2.9, 1.3.6, 1.4.3, 1.5.1 did not.
Pure stdlib, no I/O: it runs on the controller for thousands of hosts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.runcguard.seccomp.plugins.module_utils._hazard_versions import KERNEL_NOTIFY_SINCE, RUNC_NOTIFY_SINCE
from ansible_collections.runcguard.seccomp.plugins.module_utils._profile import NOTIFY
from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _advisories, _build_verdicts as _builds
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._build_verdicts import (
    kernel_at_least,
    libseccomp_too_old,
    runtime_kind,
    version_at_least,
)
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._catalogue import ENTRIES as _ENTRIES
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._facts import check_facts
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._profile_readers import effective_notify, runtimes_for

SEVERITIES = ('info', 'low', 'medium', 'high', 'critical')
_RANK = dict((name, rank) for rank, name in enumerate(SEVERITIES))

# Syscalls a runtime or its init may itself make around seccomp setup; NOTIFY on them works on
# current runtimes only because of how they order their work today.
RUNTIME_SENSITIVE = frozenset((
    'read', 'close', 'close_range', 'openat', 'open', 'execve', 'execveat', 'exit', 'exit_group',
    'futex', 'mmap', 'munmap', 'mprotect', 'brk', 'rt_sigprocmask', 'rt_sigreturn', 'dup2', 'dup3',
    'pipe2', 'recvmsg', 'sendto', 'prctl', 'seccomp', 'setns', 'clone', 'clone3', 'wait4', 'waitid',
    'epoll_wait', 'epoll_pwait', 'nanosleep', 'getpid', 'sched_yield',
))


def severity_rank(severity):
    """0 (info) .. 4 (critical); unknown names rank below info."""
    return _RANK.get(severity, -1)


def _runtime_ref(runtime):
    if runtime is None:
        return None
    ref = {'path': runtime.get('path'), 'name': runtime.get('name'), 'version': runtime.get('version')}
    if runtime.get('owner'):
        ref['owner'] = runtime['owner']
    return ref


def make_finding(hazard_id, profile_path, origin, runtime_ref, syscalls, affected, message,
                 severity=None, remediation=None):
    """One finding in the design.md contract; the only place that shape is built."""
    entry = _ENTRIES[hazard_id]
    return {
        'id': hazard_id,
        'key': '%s|%s|%s' % (hazard_id, profile_path or '', (runtime_ref or {}).get('path') or ''),
        'severity': severity or entry['severity'],
        'title': entry['title'],
        'profile': profile_path,
        'origin': list(origin or []),
        'syscalls': sorted(set(syscalls)),
        'runtime': runtime_ref,
        'affected': affected,
        'reference': entry['reference'],
        'message': message,
        'remediation': list(entry['remediation'] if remediation is None else remediation),
    }


def _finding(hazard_id, profile, runtime, syscalls, affected, message, severity=None):
    return _with_owner(make_finding(hazard_id, profile.get('path'), profile.get('origin'), _runtime_ref(runtime),
                                    syscalls, affected, message, severity=severity), profile, runtime)


def _with_owner(finding, profile, runtime):
    """A user's profile or binary is involved: the finding carries ``owner`` and its message ends
    with ' Rootless setup of user X (uid N).' (so every report format shows the user)."""
    owner = profile.get('owner') or (runtime or {}).get('owner')
    if isinstance(owner, dict):
        finding['owner'] = {'name': owner.get('name'), 'uid': owner.get('uid')}
        finding['message'] += ' Rootless setup of user %s (uid %s).' % (owner.get('name'), owner.get('uid'))
    return finding


def _exec_note(profile):
    if profile.get('format') == 'bundle' or profile.get('bundle'):
        return ' This is a running container: runc exec into it (docker exec, health checks) is affected too.'
    return ''


def _runtime_label(runtime):
    return '%s %s at %s' % (runtime.get('name') or 'runtime', runtime.get('version') or '(version unknown)',
                            runtime.get('path'))


# --- what each rule finds in one profile (runtime None) or for one runtime running it ----------
def _fcntl_hang_findings(rule, profile, runtime, names, host):
    if 'fcntl' not in names:
        return []
    affected, why = rule.verdict(runtime)
    label, path = _runtime_label(runtime), profile.get('path')
    if affected is True:
        return [_finding(rule.id, profile, runtime, ['fcntl'], True,
                         '%s hangs starting containers with %s (fcntl under NOTIFY): it %s. Upgrade runc to '
                         '>= 1.2.0 or pin 1.1.13, or take fcntl out of the NOTIFY rule.%s'
                         % (label, path, why, _exec_note(profile)))]
    if affected == 'unknown':
        return [_finding(rule.id, profile, runtime, ['fcntl'], 'unknown',
                         '%s %s, so it may hang with %s (fcntl under NOTIFY); verify with '
                         'runcguard.seccomp.notify_probe or move to a release runc.%s'
                         % (label, why, path, _exec_note(profile)), severity='medium')]
    return []


def _write_rejected_findings(rule, profile, runtime, names, host):
    # A runc without NOTIFY support at all is reported as notify-unsupported instead.
    if 'write' not in names or rule.verdict(runtime)[0] is not True \
            or version_at_least(runtime, RUNC_NOTIFY_SINCE) is False:
        return []
    return [_finding(rule.id, profile, runtime, ['write'], True,
                     '%s refuses SCMP_ACT_NOTIFY on write, as every runc does (runc itself writes after '
                     'loading the filter), so containers using %s fail to start; take write out of the '
                     'NOTIFY rule.' % (_runtime_label(runtime), profile.get('path')))]


def _crun_sendmsg_findings(rule, profile, runtime, names, host):
    if 'sendmsg' not in names:
        return []
    affected = rule.verdict(runtime)[0]
    label, path = _runtime_label(runtime), profile.get('path')
    if affected is True:
        return [_finding(rule.id, profile, runtime, ['sendmsg'], True,
                         '%s hangs starting containers with %s (sendmsg under NOTIFY); upgrade crun to >= 1.6 '
                         'or take sendmsg out of the NOTIFY rule.' % (label, path))]
    if affected == 'unknown':
        return [_finding(rule.id, profile, runtime, ['sendmsg'], 'unknown',
                         '%s may hang with %s (sendmsg under NOTIFY): its version is unknown.' % (label, path),
                         severity='medium')]
    return []


def _unsupported_findings(rule, profile, runtime, names, host):
    path = profile.get('path')
    if runtime is None:  # the host's kernel
        if kernel_at_least(host.get('kernel'), KERNEL_NOTIFY_SINCE) is False:
            return [_finding(rule.id, profile, None, names, True,
                             'kernel %s is older than 5.7; containers using %s with SCMP_ACT_NOTIFY fail to '
                             'start: upgrade the kernel.' % (host.get('kernel'), path))]
        return []
    if libseccomp_too_old(runtime, host.get('libseccomp')):
        return [_finding(rule.id, profile, runtime, sorted(names), True,
                         '%s is linked with libseccomp %s; SCMP_ACT_NOTIFY needs >= 2.5.0, so containers using %s '
                         'fail to start.' % (_runtime_label(runtime), runtime.get('libseccomp') or host.get('libseccomp'),
                                             path))]
    if rule.verdict(runtime)[0] is True:
        return [_finding(rule.id, profile, runtime, sorted(names), True,
                         '%s predates SCMP_ACT_NOTIFY support (runc 1.1.0); containers using %s fail to '
                         'start: upgrade runc.' % (_runtime_label(runtime), path))]
    return []


def _default_action_findings(rule, profile, runtime, names, host):
    if str(profile.get('default_action') or '').upper() != NOTIFY:
        return []
    return [_finding(rule.id, profile, None, [], True,
                     '%s sets defaultAction SCMP_ACT_NOTIFY, which runc rejects; use an explicit rule '
                     'per syscall.' % profile.get('path'))]


def _no_listener_findings(rule, profile, runtime, names, host):
    if profile.get('listener_path'):
        return []
    return [_finding(rule.id, profile, None, names, True,
                     '%s sends syscalls to SCMP_ACT_NOTIFY but sets no listenerPath, so containers fail '
                     'to start; set listenerPath to the agent socket.' % profile.get('path'))]


def _listener_absent_findings(rule, profile, runtime, names, host):
    listener = profile.get('listener_path')
    if not listener or profile.get('listener_exists') is not False:
        return []
    return [_finding(rule.id, profile, None, names, True,
                     '%s names listenerPath %s, which does not exist on this host; start the seccomp '
                     'agent before containers.' % (profile.get('path'), listener))]


def _runtime_sensitive_findings(rule, profile, runtime, names, host):
    sensitive = names & RUNTIME_SENSITIVE
    if not sensitive:
        return []
    return [_finding(rule.id, profile, None, sensitive, False,
                     '%s puts %s under NOTIFY: safe with current runtimes, but fragile if a runtime '
                     'makes these calls before handing over the notify fd.'
                     % (profile.get('path'), ', '.join(sorted(sensitive))))]


def _advisory_ids_text(item):
    return '%s%s' % (item['go'], ' (%s)' % ', '.join(item['cve'] + item['ghsa']) if item['cve'] or item['ghsa'] else '')


def _runc_advisory_findings(rule, runtime, host):
    """The ``runc-advisory`` finding of one runtime entry ([] or [finding]): one per runc binary.

    Severity high with every open advisory listed (ids, summary, fixed versions), the lowest safe
    release of its line and overall; medium (``affected: unknown``) when only a development build's
    advisories are undecided or its version cannot be read. Backports its package changelog names
    are reported as fixed. crun has no entries in the advisory database (see _advisories).
    """
    if runtime_kind(runtime) != 'runc':
        return []
    state = _advisories.runtime_advisories(runtime, 'runc')
    label = _runtime_label(runtime)
    if not state['covered']:
        if runtime.get('error'):
            return []  # the runtime's error entry already says it could not be read
        finding = make_finding(rule.id, None, [], _runtime_ref(runtime), [], 'unknown',
                               '%s: %s; check its runc security advisories by hand (%s).'
                               % (label, state['note'], rule.entry['reference']), severity='medium')
        finding['advisories'] = state
        return [_with_owner(finding, {}, runtime)]
    if not state['open'] and not state['unknown']:
        return []
    parts = []
    if state['open']:
        parts.append('%s carries %d open security advisor%s: %s' % (
            label, len(state['open']), 'y' if len(state['open']) == 1 else 'ies',
            '; '.join(_advisories.describe(i) for i in state['open'])))
    if state['unknown']:
        parts.append('%s%d more may be open (%s): %s' % (
            '' if state['open'] else label + ': ', len(state['unknown']), state['unknown'][0]['why'],
            '; '.join(_advisory_ids_text(i) for i in state['unknown'])))
    if state['backported']:
        parts.append('fixed by backport: %s' % '; '.join('%s, %s' % (_advisory_ids_text(i), i['why'])
                                                         for i in state['backported']))
    line = '.'.join(state['version'].split('.')[:2]) + '.x'
    parts.append('lowest safe release of %s: %s; lowest safe release overall: %s' % (
        line, state['line_floor'] or 'none (no %s release is free of them)' % line,
        state['safe_release'] or 'none known'))
    if state['note']:
        parts.append(state['note'])
    message = '. '.join(parts) + '. Upgrade runc (runcguard.seccomp.runc_pin, runc_pin_action: upgrade).'
    finding = make_finding(rule.id, None, [], _runtime_ref(runtime), [], True if state['open'] else 'unknown',
                           message, severity=None if state['open'] else 'medium')
    finding['advisories'] = state
    return [_with_owner(finding, {}, runtime)]


class Rule(object):
    """One hazard: its catalogue entry and every decision about it, for every part of the collection.

    ``verdict(runtime, host_libseccomp=None) -> (True | False | 'unknown' | None, why)``: would this
    runtime build hit the hazard when a profile triggers it (None: the build does not decide; a
    profile or the probe does). The evaluation (``evaluate``), the fleet report's runtime inventory
    (``runtime_verdicts``), the probe's version prediction (``_probe_findings``), pin planning (the
    ``runtime_verdicts`` filter) all ask it. ``findings(profile, runtime, names, host)``: its findings
    for one NOTIFY profile (``runtime`` None: the profile and host alone) or one runtime running it.
    ``runtime``: the runtime kind it is about (runc, crun) or None. ``trigger`` and
    ``probe_outcomes``: the syscall a notify_probe start needs and the outcomes that mean affected.
    """

    def __init__(self, hazard_id, verdict=None, profile_check=None, build_check=None, runtime=None, trigger=None,
                 probe_outcomes=(), runtime_check=None):
        self.id = hazard_id
        self.entry = _ENTRIES[hazard_id]
        self.severity = self.entry['severity']
        self.runtime = runtime
        self.trigger = trigger
        self.probe_outcomes = tuple(probe_outcomes)
        self._verdict = verdict
        self._profile_check = profile_check
        self._build_check = build_check
        # runtime_check(rule, runtime, host): findings about a runtime binary whatever the profiles
        self._runtime_check = runtime_check
        self.build_decided = verdict is not None

    def verdict(self, runtime, host_libseccomp=None):
        if self._verdict is None:
            return None, 'is not decided by the runtime build'
        return self._verdict(runtime, host_libseccomp)

    def findings(self, profile, runtime, names, host):
        check = self._profile_check if runtime is None else self._build_check
        return check(self, profile, runtime, names, host) if check else []

    def runtime_findings(self, runtime, host):
        """Findings about one runtime binary on the host, whatever its profiles."""
        return self._runtime_check(self, runtime, host) if self._runtime_check else []


RULES = dict((rule.id, rule) for rule in (
    Rule('notify-fcntl-hang', _builds.fcntl_hang, build_check=_fcntl_hang_findings, runtime='runc',
         trigger='fcntl', probe_outcomes=('hang',)),
    Rule('notify-write-rejected', _builds.write_rejected, build_check=_write_rejected_findings, runtime='runc',
         trigger='write', probe_outcomes=('error', 'unsupported')),
    Rule('notify-default-action', profile_check=_default_action_findings),
    Rule('crun-notify-sendmsg-hang', _builds.crun_sendmsg_hang, build_check=_crun_sendmsg_findings, runtime='crun',
         trigger='sendmsg', probe_outcomes=('hang',)),
    Rule('notify-no-listener-path', profile_check=_no_listener_findings),
    Rule('notify-listener-absent', profile_check=_listener_absent_findings),
    Rule('notify-unsupported', _builds.notify_unsupported, profile_check=_unsupported_findings,
         build_check=_unsupported_findings),
    Rule('notify-runtime-sensitive', profile_check=_runtime_sensitive_findings),
    # Observed by the notify_probe module (see _probe_findings).
    Rule('notify-probe-hang'),
    Rule('notify-probe-disagrees'),
    Rule('runc-advisory', _builds.runc_advisory, runtime='runc', runtime_check=_runc_advisory_findings),
))
CATALOGUE = dict((hazard_id, rule.entry) for hazard_id, rule in RULES.items())
# Hazards decided by the runtime build alone (the fleet report's runtime_inventory). The others
# depend on a profile (listener, default action, syscall choice) or are observed by the probe.
BUILD_HAZARDS = tuple(hazard_id for hazard_id, rule in RULES.items() if rule.build_decided)
_PROFILE_RULES = [rule for rule in RULES.values() if rule._profile_check]
_BUILD_RULES = [rule for rule in RULES.values() if rule._build_check]
_RUNTIME_RULES = [rule for rule in RULES.values() if rule._runtime_check]


def _sort_key(finding):
    return (-severity_rank(finding['severity']), finding['id'], finding['profile'] or '',
            (finding['runtime'] or {}).get('path') or '')


def evaluate(facts):
    """Findings for one host's ``ansible_facts.runcguard`` (design.md findings contract).

    Raises FactsError (a ValueError naming the field) for facts of the wrong shape.
    """
    check_facts(facts)
    runtimes = [r for r in facts.get('runtimes') or () if isinstance(r, dict)]
    arch, kernel = facts.get('arch'), facts.get('kernel')
    host = {'kernel': str(kernel) if kernel else None, 'libseccomp': facts.get('libseccomp')}
    findings = []
    for profile in facts.get('profiles') or ():
        if not isinstance(profile, dict) or profile.get('error'):
            continue
        default_notify = str(profile.get('default_action') or '').upper() == NOTIFY
        if not profile.get('notify_syscalls') and not default_notify:
            continue  # the common case on a fleet: nothing under NOTIFY
        names = effective_notify(profile, arch)
        if not names and not default_notify:
            continue
        for rule in _PROFILE_RULES:
            findings.extend(rule.findings(profile, None, names, host))
        for runtime in runtimes_for(profile, runtimes):
            for rule in _BUILD_RULES:
                findings.extend(rule.findings(profile, runtime, names, host))
    for runtime in runtimes:
        for rule in _RUNTIME_RULES:
            findings.extend(rule.runtime_findings(runtime, host))
    unique = dict((f['key'], f) for f in findings)
    return sorted(unique.values(), key=_sort_key)


def runtime_verdicts(runtime):
    """hazard id -> True, False, 'unknown' or None for one runtime entry, over the whole catalogue.

    True/False/'unknown': would this build hit the hazard when a profile triggers it, by the same
    rules ``evaluate`` applies (``Rule.verdict``). None: the hazard does not depend on the build (a
    profile or the probe decides). ``runtime`` is a facts entry (name, path, version, commit, dev,
    libseccomp, error).
    """
    if runtime_kind(runtime) is None:  # neither runc nor crun by its output or name: nothing can be said
        return dict((hazard_id, 'unknown' if rule.build_decided else None) for hazard_id, rule in RULES.items())
    return dict((hazard_id, rule.verdict(runtime)[0]) for hazard_id, rule in RULES.items())
