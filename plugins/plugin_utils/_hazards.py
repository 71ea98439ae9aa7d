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

from bisect import bisect_left
from functools import lru_cache

from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _runc_commits
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._facts import check_facts
from ansible_collections.runcguard.seccomp.plugins.module_utils._profile import (
    EXPANDING_CONSUMERS,
    LITERAL_CONSUMERS,
    NOTIFY,
    is_32bit,
)
from ansible_collections.runcguard.seccomp.plugins.module_utils._version import (
    commit_hash,
    compare_versions,
    normalise_version,
)

SEVERITIES = ('info', 'low', 'medium', 'high', 'critical')
_RANK = dict((name, rank) for rank, name in enumerate(SEVERITIES))

# runc releases that hang with fcntl under NOTIFY (opencontainers/runc#4328, fixed by #4337).
FCNTL_HANG_RELEASES = ('1.2.0-rc.1', '1.2.0-rc.2')
# Dev builds whose base version is one of these may or may not carry the bug (main between
# v1.1.0 and the fix in rc.3): their commit decides (_runc_commits), their number cannot.
FCNTL_HANG_DEV_BASES = ('1.1.0', '1.2.0-rc.1', '1.2.0-rc.2')
# Every commit whose VERSION reads 1.2.0-rc.1+dev carries the regression without its revert.
FCNTL_HANG_DEV_ALWAYS = '1.2.0-rc.1'
RUNC_NOTIFY_SINCE = '1.1.0'
CRUN_SENDMSG_FIXED = '1.6.0'
LIBSECCOMP_NOTIFY_SINCE = '2.5.0'
KERNEL_NOTIFY_SINCE = (5, 7)

# Syscalls a runtime or its init may itself make around seccomp setup; NOTIFY on them works on
# current runtimes only because of how they order their work today.
RUNTIME_SENSITIVE = frozenset((
    'read', 'close', 'close_range', 'openat', 'open', 'execve', 'execveat', 'exit', 'exit_group',
    'futex', 'mmap', 'munmap', 'mprotect', 'brk', 'rt_sigprocmask', 'rt_sigreturn', 'dup2', 'dup3',
    'pipe2', 'recvmsg', 'sendto', 'prctl', 'seccomp', 'setns', 'clone', 'clone3', 'wait4', 'waitid',
    'epoll_wait', 'epoll_pwait', 'nanosleep', 'getpid', 'sched_yield',
))

_SPEC_SECCOMP = 'https://github.com/opencontainers/runtime-spec/blob/main/config-linux.md#seccomp'
CATALOGUE = {
    'notify-fcntl-hang': {
        'title': 'runc hangs when fcntl is under SCMP_ACT_NOTIFY',
        'description': ('runc 1.2.0-rc.1 and 1.2.0-rc.2 block forever in runc run / runc exec for a '
                        'container whose seccomp profile puts fcntl under SCMP_ACT_NOTIFY: the runc '
                        'init calls fcntl after loading the filter, before it has handed the '
                        'notify fd to the agent.'),
        'severity': 'critical',
        'reference': 'https://github.com/opencontainers/runc/issues/4328',
        'sources': ['https://github.com/opencontainers/runc/pull/4337',
                    'https://github.com/rootless-containers/bypass4netns/issues/86'],
        'remediation': ['upgrade_runc', 'pin_runc', 'rewrite_profile'],
    },
    'notify-write-rejected': {
        'title': 'runc refuses SCMP_ACT_NOTIFY on write',
        'description': ('runc refuses a profile with write under SCMP_ACT_NOTIFY (it writes to '
                        'its sync pipe after loading the filter), so the container does not '
                        'start.'),
        'severity': 'high',
        'reference': 'https://github.com/opencontainers/runc/pull/2682',
        'sources': [],
        'remediation': ['rewrite_profile'],
    },
    'notify-default-action': {
        'title': 'SCMP_ACT_NOTIFY as defaultAction is rejected',
        'description': ('A profile whose defaultAction is SCMP_ACT_NOTIFY is rejected by runc; '
                        'containers using it do not start.'),
        'severity': 'high',
        'reference': 'https://github.com/opencontainers/runc/pull/2682',
        'sources': [_SPEC_SECCOMP],
        'remediation': ['edit_profile'],
    },
    'crun-notify-sendmsg-hang': {
        'title': 'crun < 1.6 hangs when sendmsg is under SCMP_ACT_NOTIFY',
        'description': ('crun older than 1.6 hangs starting a container whose profile puts '
                        'sendmsg under SCMP_ACT_NOTIFY: it sends the notify fd with sendmsg after '
                        'the filter is loaded.'),
        'severity': 'critical',
        'reference': 'https://github.com/containers/crun/issues/1002',
        'sources': ['https://github.com/containers/crun/pull/1004'],
        'remediation': ['upgrade_crun', 'rewrite_profile'],
    },
    'notify-no-listener-path': {
        'title': 'SCMP_ACT_NOTIFY rule without listenerPath',
        'description': ('A profile with SCMP_ACT_NOTIFY rules but no listenerPath gives the '
                        'runtime nowhere to send the notify fd; containers fail to start.'),
        'severity': 'high',
        'reference': _SPEC_SECCOMP,
        'sources': [],
        'remediation': ['fix_listener'],
    },
    'notify-listener-absent': {
        'title': 'listenerPath socket does not exist on the host',
        'description': ('The socket named by the listenerPath of the profile does not exist on the '
                        'host: the seccomp agent is not running and containers using the profile '
                        'fail to start.'),
        'severity': 'medium',
        'reference': _SPEC_SECCOMP,
        'sources': [],
        'remediation': ['fix_listener'],
    },
    'notify-unsupported': {
        'title': 'SCMP_ACT_NOTIFY not supported by this runtime, libseccomp or kernel',
        'description': ('SCMP_ACT_NOTIFY needs runc >= 1.1.0, libseccomp >= 2.5.0 and Linux >= '
                        '5.7; with less, containers using the profile fail to start.'),
        'severity': 'high',
        'reference': 'https://github.com/opencontainers/runc/releases/tag/v1.1.0',
        'sources': ['https://man7.org/linux/man-pages/man2/seccomp_unotify.2.html'],
        'remediation': ['upgrade_runc'],
    },
    'notify-runtime-sensitive': {
        'title': 'SCMP_ACT_NOTIFY on a syscall the runtime itself uses',
        'description': ('The profile puts a syscall the runtime itself makes around seccomp setup '
                        'under SCMP_ACT_NOTIFY: safe with current runtimes, but fragile if a '
                        'runtime calls it before handing over the notify fd.'),
        'severity': 'info',
        'reference': 'https://github.com/opencontainers/runc/issues/4328',
        'sources': [],
        'remediation': ['rewrite_profile'],
    },
    # Observed by the notify_probe module (see _probe_findings).
    'notify-probe-hang': {
        'title': 'Runtime observed hanging with a syscall under SCMP_ACT_NOTIFY',
        'description': ('A canary container run by runcguard.seccomp.notify_probe hung with the '
                        'syscall under SCMP_ACT_NOTIFY: the runtime build really has the hang, '
                        'whatever its version says.'),
        'severity': 'critical',
        'reference': 'https://github.com/opencontainers/runc/issues/4328',
        'sources': ['https://man7.org/linux/man-pages/man2/seccomp_unotify.2.html'],
        'remediation': ['upgrade_runc', 'pin_runc', 'rewrite_profile'],
    },
    'notify-probe-disagrees': {
        'title': 'Observed runtime behaviour disagrees with its version data',
        'description': ('What the canary probe observed differs from what the version data of the '
                        'runtime predicts (a patched, mislabelled or wrapped binary).'),
        'severity': 'medium',
        'reference': 'https://github.com/opencontainers/runc/issues/4328',
        'sources': [],
        'remediation': [],
    },
}

# What each remediation strategy means (docs/remediation.md has the details); SARIF help text.
STRATEGIES = {
    'upgrade_runc': 'Upgrade runc to a release without the problem (playbooks/remediate.yml, runc_pin_action=upgrade).',
    'pin_runc': 'Pin runc to a known-good release such as 1.1.13 (runcguard.seccomp.runc_pin).',
    'rewrite_profile': 'Take the syscall out of the SCMP_ACT_NOTIFY rule and keep it allowed '
                       '(runcguard.seccomp.profile_fix / seccomp_profile).',
    'edit_profile': 'Edit the profile by hand: an allow/errno defaultAction and explicit NOTIFY rules.',
    'fix_listener': 'Set listenerPath to the seccomp agent socket and start the agent before containers.',
    'upgrade_crun': 'Upgrade crun to 1.6 or later.',
}

# Engines a profile origin names -> engines whose runtimes run it.
_ORIGIN_TO_ENGINES = {
    'kubelet': ('containerd', 'cri-o', 'k3s', 'rke2', 'microk8s', 'k0s'),
    'containers-common': ('podman', 'cri-o'),
    'oci': (),  # a plain OCI reader (profile_paths reader: oci) names no engine
}
# Readers that decode a Docker-format profile as plain OCI; kubelet reads it as its CRI runtime does.
_LITERAL_READERS = LITERAL_CONSUMERS - {'kubelet'}


def severity_rank(severity):
    """0 (info) .. 4 (critical); unknown names rank below info."""
    return _RANK.get(severity, -1)


@lru_cache(maxsize=1)
def _commit_table():
    """(sorted 12-hex commits, their verdicts) from the generated table."""
    width, rows = _runc_commits.PREFIX, []
    for text, affected in ((_runc_commits.AFFECTED, True), (_runc_commits.NOT_AFFECTED, False)):
        rows.extend((text[i:i + width], affected) for i in range(0, len(text), width))
    rows.sort()
    return [r[0] for r in rows], [r[1] for r in rows]


def runc_commit_matches(prefix):
    """[(12-hex commit, affected)] of the table's runc commits that start with ``prefix`` (hex)."""
    commits, verdicts = _commit_table()
    prefix = prefix[:_runc_commits.PREFIX]
    out, index = [], bisect_left(commits, prefix)
    while index < len(commits) and commits[index].startswith(prefix):
        out.append((commits[index], verdicts[index]))
        index += 1
    return out


_BUG = (_runc_commits.REGRESSION, _runc_commits.REVERT)
_HAS_BUG = 'has runc commit %s (the fcntl hang) and not its revert %s' % _BUG
_NO_BUG = 'lacks runc commit %s (the fcntl hang) or has its revert %s' % _BUG


def fcntl_hang_verdict(runtime):
    """(True, False or 'unknown', why) for one runc runtime entry; ``why`` is a clause for messages.

    Releases are decided by their number. A development build is decided by its commit when that
    commit (7+ hex digits, one match) is in the table of runc's history; a ``-dirty`` build of a
    safe commit stays unknown (its local changes are not known). Without a readable commit a
    1.2.0-rc.1+dev build is affected (every such commit is), other dev builds of the affected era
    are unknown. A build without a version number (Go build info ``(devel)``: version None, dev,
    commit from ``vcs.revision``) is decided by its commit alone.
    """
    version = runtime.get('version')
    if runtime.get('error'):
        return 'unknown', 'has no readable version'
    # A Go "(devel)" build read from its build information has no number, only vcs.revision.
    unnumbered = not version and bool(runtime.get('dev')) and bool(runtime.get('commit'))
    dev = True
    if not unnumbered:
        version, dev = normalise_version(version) if version else (None, False)
        dev = dev or bool(runtime.get('dev'))
        if not version:
            return 'unknown', 'has no readable version'
    if not dev:
        if version in FCNTL_HANG_RELEASES:
            return True, 'is release %s, which %s' % (version, _HAS_BUG)
        return False, 'is release %s' % version
    commit, dirty = commit_hash(runtime.get('commit'))
    built = ' (built -dirty, with local changes)' if dirty else ''
    matches = runc_commit_matches(commit) if commit else []
    if len(matches) == 1:
        if matches[0][1]:
            return True, 'is a development build of commit %s%s, which %s' % (commit, built, _HAS_BUG)
        if dirty:
            return 'unknown', ('is a development build of commit %s, which %s, but it was built -dirty (with local '
                               'changes)' % (commit, _NO_BUG))
        return False, 'is a development build of commit %s, which %s' % (commit, _NO_BUG)
    if unnumbered:
        if len(matches) > 1:
            return 'unknown', ('is a development build of commit %s, which is too short to name one runc commit '
                               '(%d match)' % (commit, len(matches)))
        return 'unknown', ('is a development build (no version number) of commit %s, which is not in runc\'s '
                           'history of the fcntl-hang era as this collection knows it' % commit)
    if version not in FCNTL_HANG_DEV_BASES:
        return False, ('is a development build of %s, outside the 1.1.0+dev .. 1.2.0-rc.2+dev line that carried '
                       'the regression' % version)
    if len(matches) > 1:
        return 'unknown', ('is a development build of commit %s, which is too short to name one runc commit (%d '
                           'match)' % (commit, len(matches)))
    if commit:
        return 'unknown', ('is a development build of commit %s, which is not in runc\'s history as this collection '
                           'knows it (a fork or vendor build)' % commit)
    if version == FCNTL_HANG_DEV_ALWAYS:
        return True, ('is a %s development build with no readable commit, and every such runc commit %s'
                      % (version, _HAS_BUG))
    return 'unknown', 'is a development build with no readable commit'


def fcntl_hang_affected(runtime):
    """True, False or 'unknown' for one runc runtime entry (fcntl_hang_verdict without the why)."""
    return fcntl_hang_verdict(runtime)[0]


def version_at_least(runtime, floor):
    """True, False or 'unknown' for the runtime entry's version >= floor."""
    version = runtime.get('version')
    if not version or runtime.get('error'):
        return 'unknown'
    return compare_versions(version, floor) >= 0


@lru_cache(maxsize=256)
def _kernel_at_least(kernel, floor):
    if not kernel:
        return 'unknown'
    digits = []
    for part in str(kernel).replace('-', '.').split('.')[:2]:
        if not part.isdigit():
            return 'unknown'
        digits.append(int(part))
    return tuple(digits) >= floor if len(digits) == 2 else 'unknown'


def _consumers(profile):
    """Who reads the profile: each origin's ``reader`` (a profile_paths item's) or else its engine."""
    return set(o.get('reader') or o.get('engine') for o in profile.get('origin') or ()
               if isinstance(o, dict) and (o.get('reader') or o.get('engine')))


def effective_notify(profile, arch=None):
    """The profile's NOTIFY set as its readers read it; the union of every reading when they are
    mixed or unknown (``user`` without a reader, kubelet, an engine of its own)."""
    sets = profile.get('notify_sets') or {}
    engines = _consumers(profile)
    names = profile.get('notify_syscalls') or []
    if engines and engines <= EXPANDING_CONSUMERS and 'expanded' in sets:
        names = sets['expanded']
    elif engines and engines <= _LITERAL_READERS and 'literal' in sets:
        names = sets['literal']
    names = set(n for n in names if isinstance(n, str))
    if 'fcntl64' in names and is_32bit(arch):
        names.add('fcntl')
    return names


def _runtimes_for(profile, runtimes):
    """Runtimes that would run this profile; every runtime when the origin does not say."""
    engines = set()
    for engine in _consumers(profile):
        engines.update(_ORIGIN_TO_ENGINES.get(engine, (engine,)))
    bundle = profile.get('bundle') or {}
    if bundle.get('engine'):
        engines.add(bundle['engine'])
    used = [r for r in runtimes if engines & set(r.get('used_by') or ())]
    return used or list(runtimes)


def runtime_kind(runtime):
    """runc or crun: what the binary said, else its file name (a hung binary says nothing)."""
    if runtime.get('name') in ('runc', 'crun'):
        return runtime['name']
    base = str(runtime.get('path') or '').rsplit('/', 1)[-1]
    return 'crun' if 'crun' in base else 'runc' if 'runc' in base else None


def _runtime_ref(runtime):
    if runtime is None:
        return None
    return {'path': runtime.get('path'), 'name': runtime.get('name'), 'version': runtime.get('version')}


def make_finding(hazard_id, profile_path, origin, runtime_ref, syscalls, affected, message,
                 severity=None, remediation=None):
    """One finding in the design.md contract; the only place that shape is built."""
    entry = CATALOGUE[hazard_id]
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
    return make_finding(hazard_id, profile.get('path'), profile.get('origin'), _runtime_ref(runtime), syscalls,
                        affected, message, severity=severity)


def _exec_note(profile):
    if profile.get('format') == 'bundle' or profile.get('bundle'):
        return ' This is a running container: runc exec into it (docker exec, health checks) is affected too.'
    return ''


def _runtime_label(runtime):
    return '%s %s at %s' % (runtime.get('name') or 'runtime', runtime.get('version') or '(version unknown)',
                            runtime.get('path'))


def _runc_findings(profile, runtime, names):
    out = []
    label, path = _runtime_label(runtime), profile.get('path')
    if 'fcntl' in names:
        affected, why = fcntl_hang_verdict(runtime)
        if affected is True:
            out.append(_finding('notify-fcntl-hang', profile, runtime, ['fcntl'], True,
                                '%s hangs starting containers with %s (fcntl under NOTIFY): it %s. Upgrade runc to '
                                '>= 1.2.0 or pin 1.1.13, or take fcntl out of the NOTIFY rule.%s'
                                % (label, path, why, _exec_note(profile))))
        elif affected == 'unknown':
            out.append(_finding('notify-fcntl-hang', profile, runtime, ['fcntl'], 'unknown',
                                '%s %s, so it may hang with %s (fcntl under NOTIFY); verify with '
                                'runcguard.seccomp.notify_probe or move to a release runc.%s'
                                % (label, why, path, _exec_note(profile)), severity='medium'))
    supported = version_at_least(runtime, RUNC_NOTIFY_SINCE)
    if supported is False:
        out.append(_finding('notify-unsupported', profile, runtime, sorted(names), True,
                            '%s predates SCMP_ACT_NOTIFY support (runc 1.1.0); containers using %s fail to '
                            'start: upgrade runc.' % (label, path)))
    elif 'write' in names:
        # Every runc refuses it, whatever its version (it writes to its sync pipe after loading the filter).
        out.append(_finding('notify-write-rejected', profile, runtime, ['write'], True,
                            '%s refuses SCMP_ACT_NOTIFY on write, as every runc does (runc itself writes after '
                            'loading the filter), so containers using %s fail to start; take write out of the '
                            'NOTIFY rule.' % (label, path)))
    return out


def _crun_findings(profile, runtime, names):
    if 'sendmsg' not in names:
        return []
    fixed = version_at_least(runtime, CRUN_SENDMSG_FIXED)
    label, path = _runtime_label(runtime), profile.get('path')
    if fixed is True:
        return []
    if fixed is False:
        return [_finding('crun-notify-sendmsg-hang', profile, runtime, ['sendmsg'], True,
                         '%s hangs starting containers with %s (sendmsg under NOTIFY); upgrade crun to >= 1.6 '
                         'or take sendmsg out of the NOTIFY rule.' % (label, path))]
    return [_finding('crun-notify-sendmsg-hang', profile, runtime, ['sendmsg'], 'unknown',
                     '%s may hang with %s (sendmsg under NOTIFY): its version is unknown.' % (label, path),
                     severity='medium')]


def _libseccomp_findings(profile, runtime, host_libseccomp, names):
    version = runtime.get('libseccomp') or host_libseccomp
    if not version:
        return []
    if compare_versions(version, LIBSECCOMP_NOTIFY_SINCE) >= 0:
        return []
    return [_finding('notify-unsupported', profile, runtime, sorted(names), True,
                     '%s is linked with libseccomp %s; SCMP_ACT_NOTIFY needs >= 2.5.0, so containers using %s '
                     'fail to start.' % (_runtime_label(runtime), version, profile.get('path')))]


def _profile_findings(profile, names, kernel):
    out, path = [], profile.get('path')
    listener = profile.get('listener_path') or ''
    if str(profile.get('default_action') or '').upper() == NOTIFY:
        out.append(_finding('notify-default-action', profile, None, [], True,
                            '%s sets defaultAction SCMP_ACT_NOTIFY, which runc rejects; use an explicit rule '
                            'per syscall.' % path))
    if not listener:
        out.append(_finding('notify-no-listener-path', profile, None, names, True,
                            '%s sends syscalls to SCMP_ACT_NOTIFY but sets no listenerPath, so containers fail '
                            'to start; set listenerPath to the agent socket.' % path))
    elif profile.get('listener_exists') is False:
        out.append(_finding('notify-listener-absent', profile, None, names, True,
                            '%s names listenerPath %s, which does not exist on this host; start the seccomp '
                            'agent before containers.' % (path, listener)))
    if _kernel_at_least(kernel, KERNEL_NOTIFY_SINCE) is False:
        out.append(_finding('notify-unsupported', profile, None, names, True,
                            'kernel %s is older than 5.7; containers using %s with SCMP_ACT_NOTIFY fail to '
                            'start: upgrade the kernel.' % (kernel, path)))
    sensitive = names & RUNTIME_SENSITIVE
    if sensitive:
        out.append(_finding('notify-runtime-sensitive', profile, None, sensitive, False,
                            '%s puts %s under NOTIFY: safe with current runtimes, but fragile if a runtime '
                            'makes these calls before handing over the notify fd.'
                            % (path, ', '.join(sorted(sensitive)))))
    return out


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
    kernel = str(kernel) if kernel else None
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
        findings.extend(_profile_findings(profile, names, kernel))
        for runtime in _runtimes_for(profile, runtimes):
            kind = runtime_kind(runtime)
            if kind == 'runc':
                findings.extend(_runc_findings(profile, runtime, names))
            elif kind == 'crun':
                findings.extend(_crun_findings(profile, runtime, names))
            findings.extend(_libseccomp_findings(profile, runtime, facts.get('libseccomp'), names))
    unique = dict((f['key'], f) for f in findings)
    return sorted(unique.values(), key=_sort_key)


# Hazards decided by the runtime build alone (the fleet report's runtime_inventory). The others
# depend on a profile (listener, default action, syscall choice) or are observed by the probe.
BUILD_HAZARDS = ('notify-fcntl-hang', 'notify-write-rejected', 'crun-notify-sendmsg-hang', 'notify-unsupported')


def _negate(verdict):
    return (not verdict) if isinstance(verdict, bool) else verdict


def runtime_verdicts(runtime):
    """hazard id -> True, False, 'unknown' or None for one runtime entry, over the whole catalogue.

    True/False/'unknown': would this build hit the hazard when a profile triggers it, by the same
    rules ``evaluate`` applies. None: the hazard does not depend on the build (a profile or the
    probe decides). ``runtime`` is a facts entry (name, path, version, commit, dev, libseccomp, error).
    """
    kind = runtime_kind(runtime)
    verdicts = dict((hazard_id, None) for hazard_id in CATALOGUE)
    if kind is None:  # neither runc nor crun by its output or name: nothing can be said
        verdicts.update((hazard_id, 'unknown') for hazard_id in BUILD_HAZARDS)
        return verdicts
    runc = kind == 'runc'
    libseccomp = runtime.get('libseccomp')
    old_lib = bool(libseccomp) and compare_versions(libseccomp, LIBSECCOMP_NOTIFY_SINCE) < 0
    has_notify = version_at_least(runtime, RUNC_NOTIFY_SINCE) if runc else True
    verdicts.update({
        'notify-fcntl-hang': fcntl_hang_affected(runtime) if runc else False,
        # runc refuses NOTIFY on write in every release (those without NOTIFY refuse it anyway).
        'notify-write-rejected': runc,
        'crun-notify-sendmsg-hang': False if runc else _negate(version_at_least(runtime, CRUN_SENDMSG_FIXED)),
        'notify-unsupported': True if old_lib else _negate(has_notify),
    })
    return verdicts
