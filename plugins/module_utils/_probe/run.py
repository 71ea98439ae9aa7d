# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the notify_probe module does with its options: which runtimes and syscall sets to probe (and
as whom), the probe or sweep run under the interrupt guard, and the module's result."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.runcguard.seccomp.plugins.module_utils._probe import probe as _probe
from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.cleanup import ProbeInterrupted, interrupt_guard
from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.reap import reap_dead_runs
from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.sweep import sweep_all
from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.syscalls import syscall_names
from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile import may_execute


class ProbeFailed(Exception):
    """The module fails: ``msg`` and the result keys (``fields``) for fail_json."""

    def __init__(self, msg, **fields):
        super(ProbeFailed, self).__init__(msg)
        self.msg, self.fields = msg, fields


def _nnp_values(params):
    if not params['no_new_privileges']:
        raise ProbeFailed('no_new_privileges must name at least one value')
    values = []
    for value in params['no_new_privileges']:
        if value not in values:
            values.append(value)
    return values


def _syscall_sets(params, not_probed):
    if params['profile']:
        try:
            return [_probe.profile_notify_set(params['profile'])]
        except ValueError as exc:
            raise ProbeFailed(str(exc))
    syscall_sets = []
    names = params['syscalls']
    if not names and params['sweep']:
        names = syscall_names()
        if not names:
            raise ProbeFailed('sweep: no syscall table is kept for architecture %s (x86_64 and aarch64 '
                              'are); name the syscalls to sweep with syscalls' % os.uname()[4])
    for name in names or _probe.default_syscalls():
        if not _probe.SYSCALL_NAME.match(name):
            not_probed.append({'runtime': None, 'message': 'syscall %r is not a syscall name: not probed' % name})
        elif [name] not in syscall_sets:
            syscall_sets.append([name])
    if not syscall_sets:
        raise ProbeFailed('no valid syscall to probe', not_probed=not_probed)
    return syscall_sets


def _user_groups(params, not_probed):
    """[(user, [paths])]: users' runtimes run as their users."""
    groups = []
    for name, paths in sorted((params['user_runtimes'] or {}).items()):
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise ProbeFailed('user_runtimes.%s must be a list of paths' % name)
        try:
            groups.append((_probe.probe_user(name), paths))
        except ValueError as exc:
            not_probed.extend({'runtime': p, 'message': 'not probed: %s' % exc} for p in paths)
    return groups


def _runtimes(params, user, not_probed):
    if params['runtime'] is not None:
        runtimes = params['runtime']
    elif user:
        runtimes = _probe.user_runtimes(user)
        if not runtimes:
            raise ProbeFailed('user %s has no runc or crun in ~/.local/bin or ~/bin; name one with runtime'
                              % user['name'])
    else:
        runtimes = _probe.find_runtimes()
    if not runtimes and params['user_runtimes'] is not None:
        pass  # only users' runtimes
    elif not runtimes:
        raise ProbeFailed('no runc or crun binary found in the standard locations; name one with runtime')
    allowed = []
    for runtime in runtimes:  # a user's binary never starts a container as root (docs/security.md)
        if user:  # probed as that user (dropped privileges), never as root
            allowed.append(runtime)
            continue
        ok, why = may_execute(runtime)
        if ok:
            allowed.append(runtime)
        else:
            not_probed.append({'runtime': runtime, 'message': '%s: not probed: %s' % (runtime, why)})
    return allowed


def _message(results, sweeps, counts, reaped):
    if sweeps:
        msg = '%d sweeps, %d starts: %s' % (len(sweeps), sum(s['starts'] for s in sweeps), '; '.join(
            '%s %s nnp=%s hang [%s] error [%s] inconclusive %d' % (
                s['name'], s['version'], str(s['no_new_privileges']).lower(), ','.join(s['hang']),
                ','.join(s['error']), len(s['inconclusive'])) for s in sweeps))
    else:
        msg = '%d probes: %s' % (len(results), ', '.join('%s %d' % kv for kv in sorted(counts.items())))
    if reaped:
        msg += '; reaped %d canaries of killed runs (%s)' % (len(reaped), ', '.join(r['container_id'] for r in reaped))
    return msg


def run_notify_probe(params):
    """The notify_probe result (results, sweeps, not_probed, outcome_counts, msg, reaped) for the module's
    options; raises ProbeFailed for bad options or when nothing could be probed."""
    if params['timeout'] < 1 or params['timeout'] > 600:
        raise ProbeFailed('timeout must be between 1 and 600 seconds, got %d' % params['timeout'])
    if params['total_timeout'] < 0:
        raise ProbeFailed('total_timeout must be 0 (no limit) or more seconds, got %d' % params['total_timeout'])
    deadline = time.time() + params['total_timeout'] if params['total_timeout'] else None
    nnp_values = _nnp_values(params)
    not_probed = []
    syscall_sets = _syscall_sets(params, not_probed)
    user = None
    if params['user']:
        try:
            user = _probe.probe_user(params['user'])
        except ValueError as exc:
            raise ProbeFailed(str(exc))
    groups = _user_groups(params, not_probed)
    runtimes = _runtimes(params, user, not_probed)

    sweeps, reaped = [], []
    try:
        with interrupt_guard():
            reaped = reap_dead_runs()
            if params['sweep']:
                results, sweeps, refused = sweep_all(runtimes, [s[0] for s in syscall_sets], nnp_values,
                                                     params['timeout'], deadline=deadline)
            else:
                results, refused = _probe.run_all(runtimes, syscall_sets, nnp_values, params['timeout'],
                                                  profile=params['profile'], deadline=deadline, user=user) \
                    if runtimes else ([], [])
            for who, paths in groups:
                if params['sweep']:
                    refused.extend({'runtime': p, 'message': 'not swept: a sweep runs as root only; probe %s\'s '
                                                             'runtimes with syscalls' % who['name']} for p in paths)
                    continue
                found, left = _probe.run_all(paths, syscall_sets, nnp_values, params['timeout'],
                                             profile=params['profile'], deadline=deadline, user=who)
                results.extend(found)
                refused.extend(left)
    except (ProbeInterrupted, KeyboardInterrupt) as exc:
        raise ProbeFailed('notify_probe interrupted (%s); the probe in progress was cleaned up' % exc, reaped=reaped)
    not_probed.extend(refused)
    if not results and not sweeps:
        raise ProbeFailed('no runtime could be probed: %s' % '; '.join(s['message'] for s in not_probed),
                          results=results, sweeps=sweeps, not_probed=not_probed, reaped=reaped)
    counts = _probe.outcome_counts(results)
    # summary: outcome_counts' name before 0.2.0, kept until 1.0.0 ("summary" is the audit's host summary)
    return {'results': results, 'sweeps': sweeps, 'not_probed': not_probed, 'outcome_counts': counts,
            'summary': counts, 'msg': _message(results, sweeps, counts, reaped), 'reaped': reaped}
