# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Probe sweep: every syscall of the host's table under NOTIFY, found by adaptive group testing.

One canary start tests a whole group of syscalls. A group that starts is cleared at once; a group
that hangs or errors is split and each part tested again, down to single syscalls. A failed start
usually names its culprit (the syscall a task is blocked in, or the syscall the runtime's error
message names): that syscall is then tested alone and the rest together, so a healthy runtime
needs about four starts (one for the signal returns, tested apart) and runc 1.2.0-rc.2 about six.
Without such a hint a group is halved.

A group whose parts all start fails only as a whole (an interaction of several syscalls) when it
fails again, every time it is started again; it is reported as one multi-syscall result. A failure
that does not reproduce (a loaded machine's stall) and a start with only signal returns under
NOTIFY are ``inconclusive``: listed apart, never a hang.

Pure stdlib, Linux only, root only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.probe import base_result, identify, out_of_time
from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.abi import host_support
from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.canary import probe
from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.outcome import SIGNAL_RETURNS
from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.syscalls import libseccomp_unknown

# A syscall neither runtime nor `true` ever makes: a start with only this under NOTIFY tells an
# environment that cannot run any canary (crun on hybrid cgroups, ...) from a syscall problem.
CONTROL_SYSCALL = 'kexec_load'
# Starts per runtime x mode before the sweep gives up on the groups not yet tested.
MAX_STARTS = 256
# More starts a failure needs before it counts (each must fail too): a single syscall, a group
# whose parts all start (a combination, or a stall of a loaded machine).
RETRIES_SINGLE = 1
RETRIES_GROUP = 2

_MENTION = re.compile(r'\b([a-z_][a-z0-9_]*) syscall\b|\bsyscall[:\s]+[`\'"]?([a-z_][a-z0-9_]*)')


def suspects(result, group):
    """Names of `group` a failed start points at: the blocked syscall, or those its message names."""
    blocked = result.get('blocked_syscall')
    if blocked in group:
        return [blocked]
    named = set()
    for match in _MENTION.finditer(result.get('message') or ''):
        named.update(name for name in match.groups() if name)
    named = sorted(named.intersection(group))
    return named if len(named) < len(group) else []


def split(result, group):
    """The parts a failed group is tested in next: its suspects and the rest, else two halves."""
    named = suspects(result, group)
    if named:
        return [named, [name for name in group if name not in named]]
    half = len(group) // 2
    return [group[:half], group[half:]]


class GroupTest(object):
    """Adaptive group testing with `start(group) -> result` (a dict with `outcome`).

    A failure counts only when it reproduces: a single syscall that failed is started once more
    (RETRIES_SINGLE), a group whose parts all start is started again as a whole (RETRIES_GROUP
    times, every one must fail). A result that does not reproduce, and a start the canary judged
    ``inconclusive`` (signal returns only), go to ``inconclusive``: never a hang, never split.
    """

    def __init__(self, start, max_starts=MAX_STARTS, deadline=None, timeout=0):
        self.start = start
        self.max_starts = max_starts
        self.deadline, self.timeout = deadline, timeout  # no start that could end past the deadline
        self.starts = 0
        self.failures = []   # (group, result): one syscall, or several that fail only together
        self.inconclusive = []  # (group, result): signal returns only, or a failure that did not reproduce
        self.untested = []   # groups left when max_starts ran out

    def run(self, names):
        if names:
            self._search(sorted(set(names)))
        return self

    def _can_start(self):
        return self.starts < self.max_starts and not out_of_time(self.deadline, self.timeout)

    def _reproduces(self, group, result, times):
        """True when `group` fails again on each of `times` more starts; else it goes to inconclusive."""
        for attempt in range(times):
            if not self._can_start():
                why = 'could not be started again to confirm it (start or time limit)'
            else:
                self.starts += 1
                again = self.start(group)
                if again['outcome'] not in ('ok', 'inconclusive'):
                    continue
                how = 'normally' if again['outcome'] == 'ok' else 'inconclusively'
                why = 'started %s on retry %d' % (how, attempt + 1)
            noted = dict(result, outcome='inconclusive',
                         message='%s once (%s), but %s: not reproduced, so not counted (%s)'
                                 % (result['outcome'], ','.join(group), why, result.get('message') or ''))
            noted['detected_by'] = None
            self.inconclusive.append((group, noted, 'not_reproduced'))
            return False
        return True

    def _search(self, group):
        """True when `group` failed (and its culprits are recorded)."""
        if not self._can_start():
            self.untested.append(group)
            return False
        self.starts += 1
        result = self.start(group)
        if result['outcome'] == 'ok':
            return False
        if result['outcome'] == 'inconclusive':
            self.inconclusive.append((group, result, 'signal_return'))
            return False
        if result['outcome'] == 'unsupported':  # no NOTIFY at all: no split helps
            self.failures.append((group, result))
            return True
        if len(group) == 1:
            if not self._reproduces(group, result, RETRIES_SINGLE):
                return False
            self.failures.append((group, result))
            return True
        found = [self._search(part) for part in split(result, group)]
        if any(found) or self.untested:
            return True
        # No part fails alone: a real interaction fails every time, a loaded machine's stall does not.
        if not self._reproduces(group, result, RETRIES_GROUP):
            return False
        self.failures.append((group, result))
        return True


class CannotStart(Exception):
    """The runtime cannot start even the control canary: no syscall is to blame."""


class Starter(object):
    """Canary starts of one runtime x mode, counted, with their leftovers collected.

    The first failure that names no culprit is checked against a control start with only
    CONTROL_SYSCALL under NOTIFY, so that an environment problem ends the sweep at once
    instead of being split down to every syscall.
    """

    def __init__(self, path, info, nnp, timeout, tmp_parent=None, deadline=None):
        self.path, self.info, self.nnp = path, info, nnp
        self.timeout, self.tmp_parent, self.deadline = timeout, tmp_parent, deadline
        self.starts = 0
        self.leftovers = []
        self.checked = False

    def _one(self, group):
        self.starts += 1
        result = base_result(self.path, self.info, group, self.nnp)
        result.update(probe(self.path, self.info['name'], group, self.nnp, self.timeout, self.tmp_parent,
                            **({'deadline': self.deadline} if self.deadline is not None else {})))
        self.leftovers.extend(result['leftovers'])
        return result

    def __call__(self, group):
        result = self._one(group)
        if (result['outcome'] in ('hang', 'error') and len(group) > 1 and not self.checked
                and not suspects(result, group)):
            self.checked = True
            control = self._one([CONTROL_SYSCALL])
            if control['outcome'] != 'ok':
                raise CannotStart('%s cannot start a canary even with only %s under SCMP_ACT_NOTIFY (%s): %s'
                                  % (self.path, CONTROL_SYSCALL, control['outcome'], control['message']))
        return result


def sweep_entry(path, info, nnp, names, unknown=(), libseccomp=None):
    """A `sweeps` entry before the sweep ran."""
    return {
        'runtime': path, 'name': info['name'], 'version': info['version'], 'no_new_privileges': bool(nnp),
        'tested': len(set(names)), 'hang': [], 'error': [], 'unsupported': sorted(set(names) & set(unknown)),
        'combined': [], 'inconclusive': [], 'untested': [], 'starts': 0, 'seconds': 0.0, 'message': '', 'libseccomp': libseccomp,
        'leftovers': [],
    }


def sweep_runtime(path, info, names, nnp, timeout, tmp_parent=None, unknown=(), libseccomp=None, deadline=None):
    """(sweep entry, results that are not ok) for one runtime and one no_new_privileges value."""
    started = time.time()
    entry = sweep_entry(path, info, nnp, names, unknown, libseccomp)
    results = []
    for name in entry['unsupported']:
        result = base_result(path, info, [name], nnp)
        result.update(outcome='unsupported', message='libseccomp %s does not know the syscall %s, so %s leaves it '
                                                     'out of the filter: not tested' % (libseccomp, name, info['name']))
        results.append(result)
    starter = Starter(path, info, nnp, timeout, tmp_parent, deadline)
    search = GroupTest(starter, deadline=deadline, timeout=timeout)
    testable = set(names) - set(unknown)
    try:
        # Signal returns go in a group of their own: under NOTIFY a signal handler (Go's preemption)
        # blocks on its way out, which hides the syscall a thread really waits in and stalls
        # healthy runtimes for seconds.
        search.run(sorted(testable & set(SIGNAL_RETURNS)))
        search.run(sorted(testable - set(SIGNAL_RETURNS)))
    except CannotStart as exc:
        search.failures, entry['message'] = [], str(exc)
    except (OSError, ValueError, RuntimeError) as exc:
        entry['message'] = 'sweep of %s stopped: a probe could not run: %s' % (path, exc)
    for group, result in search.failures:
        if len(group) > 1 and result['outcome'] != 'unsupported':
            entry['combined'].append({'syscalls': group, 'outcome': result['outcome']})
        else:
            entry[result['outcome']].extend(group)
        results.append(result)
    for group, result, reason in search.inconclusive:
        entry['inconclusive'].append({'syscalls': group, 'reason': reason, 'message': result.get('message') or ''})
        results.append(result)
    for key in ('hang', 'error', 'unsupported'):
        entry[key] = sorted(set(entry[key]))
    entry.update(untested=sorted(n for g in search.untested for n in g), starts=starter.starts,
                 leftovers=starter.leftovers, seconds=round(time.time() - started, 3))
    if search.untested and not entry['message']:
        why = 'reached the time limit (total_timeout)' if out_of_time(deadline, timeout) else 'gave up'
        entry['message'] = '%s after %d starts: %d syscalls not tested' % (why, starter.starts, len(entry['untested']))
    return entry, results


def sweep_all(runtimes, names, nnp_values, timeout, tmp_parent=None, deadline=None):
    """Sweep every runtime x no_new_privileges value over `names`. (results, sweeps, skipped)."""
    results, sweeps = [], []
    targets, skipped = identify(runtimes)
    unsupported = host_support()
    libseccomp, unknown = libseccomp_unknown(names)
    for path, info in targets:
        for nnp in nnp_values:
            if unsupported:
                result = base_result(path, info, sorted(set(names)), nnp)
                result.update(outcome='unsupported', message=unsupported)
                entry = sweep_entry(path, info, nnp, names, names, libseccomp)
                entry['message'] = unsupported
                sweeps.append(entry)
                results.append(result)
                continue
            entry, found = sweep_runtime(path, info, names, nnp, timeout, tmp_parent, unknown, libseccomp, deadline)
            sweeps.append(entry)
            results.extend(found)
    return results, sweeps, skipped
