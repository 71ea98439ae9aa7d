# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Probe sweep logic: group testing over a simulated runtime, syscall tables, culprit hints."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import threading

import pytest

from ansible_collections.runcguard.seccomp.plugins.module_utils._probe import cleanup as _probe_cleanup, sweep as _probe_sweep, syscalls as _probe_syscalls


class FakeRuntime(object):
    """A runtime that hangs when any of `hang` is in the group, errors on `error`, and fails a
    group that holds all of `together`. `hints`: say which syscall it choked on, as runc does."""

    def __init__(self, hang=(), error=(), together=(), hints=True):
        self.hang, self.error, self.together, self.hints = set(hang), set(error), set(together), hints
        self.groups = []

    def __call__(self, group):
        self.groups.append(list(group))
        refused = sorted(self.error.intersection(group))
        if refused:
            text = 'SCMP_ACT_NOTIFY cannot be used for the %s syscall' % refused[0] if self.hints else 'failed'
            return {'outcome': 'error', 'message': text, 'blocked_syscall': None}
        stuck = sorted(self.hang.intersection(group))
        if stuck:
            return {'outcome': 'hang', 'message': '', 'blocked_syscall': stuck[0] if self.hints else None}
        if self.together and self.together.issubset(group):
            return {'outcome': 'error', 'message': 'boom', 'blocked_syscall': None}
        return {'outcome': 'ok', 'message': '', 'blocked_syscall': None}


NAMES = _probe_syscalls.syscall_names('x86_64')


def _found(search):
    return dict((tuple(group), result['outcome']) for group, result in search.failures)


def test_healthy_runtime_needs_four_starts_with_hints():
    runtime = FakeRuntime(error=['write'])
    search = _probe_sweep.GroupTest(runtime).run(NAMES)
    assert _found(search) == {('write',): 'error'}
    assert search.starts == 4  # the write refusal is confirmed by a second start
    assert runtime.groups[1] == runtime.groups[2] == ['write'] and 'write' not in runtime.groups[3]


def test_rc2_like_runtime_finds_fcntl_hang_and_write_error():
    runtime = FakeRuntime(hang=['fcntl'], error=['write'])
    search = _probe_sweep.GroupTest(runtime).run(NAMES)
    assert _found(search) == {('fcntl',): 'hang', ('write',): 'error'}
    assert search.starts == 7 and search.inconclusive == []


@pytest.mark.parametrize('culprits', [['fcntl'], ['accept', 'fcntl', 'sendmsg'], ['zzz_last']])
def test_without_hints_halving_finds_every_culprit(culprits):
    names = sorted(set(NAMES) | set(culprits))
    runtime = FakeRuntime(hang=culprits, hints=False)
    search = _probe_sweep.GroupTest(runtime).run(names)
    assert sorted(g[0] for g in _found(search)) == sorted(culprits)
    # Each culprit costs about two starts per halving level.
    assert search.starts <= 2 * len(culprits) * 10 + 1


def test_group_that_fails_only_as_a_whole_is_reported_once():
    runtime = FakeRuntime(together=['open', 'read'], hints=False)
    search = _probe_sweep.GroupTest(runtime).run(['close', 'open', 'read', 'stat'])
    # ['close', 'open'] and ['read', 'stat'] both start: only the whole set fails, every time it is tried.
    assert _found(search) == {('close', 'open', 'read', 'stat'): 'error'}
    assert runtime.groups.count(['close', 'open', 'read', 'stat']) == 1 + _probe_sweep.RETRIES_GROUP


class Flaky(object):
    """A healthy runtime on a loaded machine: the first `fail` starts of `group` fail, then it starts."""

    def __init__(self, group, fail=1, outcome='hang'):
        self.group, self.fail, self.outcome, self.groups = sorted(group), fail, outcome, []

    def __call__(self, group):
        self.groups.append(list(group))
        if list(group) == self.group and self.fail > 0:
            self.fail -= 1
            return {'outcome': self.outcome, 'message': 'timed out', 'blocked_syscall': None}
        return {'outcome': 'ok', 'message': '', 'blocked_syscall': None}


def test_group_failure_that_does_not_reproduce_is_inconclusive_not_combined():
    names = ['close', 'open', 'read', 'stat']
    for fail in (1, 2):  # failed once, or failed again on the first retry: both started in the end
        search = _probe_sweep.GroupTest(Flaky(names, fail)).run(names)
        assert search.failures == []
        ((group, result, reason),) = search.inconclusive
        assert group == names and reason == 'not_reproduced' and result['outcome'] == 'inconclusive'
        assert 'not reproduced' in result['message'] and result['detected_by'] is None


def test_single_syscall_that_fails_once_is_inconclusive_not_hang():
    search = _probe_sweep.GroupTest(Flaky(['fcntl'], 1)).run(['fcntl'])
    assert search.failures == [] and [g for g, _r, _why in search.inconclusive] == [['fcntl']]
    assert search.starts == 2


def test_a_failure_that_cannot_be_confirmed_in_time_is_inconclusive():
    search = _probe_sweep.GroupTest(FakeRuntime(hang=['fcntl']), max_starts=1).run(['fcntl'])
    assert search.failures == [] and 'could not be started again' in search.inconclusive[0][1]['message']


def test_a_start_the_canary_calls_inconclusive_is_neither_split_nor_retried():
    calls = []

    def signal_stall(group):
        calls.append(group)
        return {'outcome': 'inconclusive', 'message': 'only signal returns', 'blocked_syscall': None}
    search = _probe_sweep.GroupTest(signal_stall).run(['restart_syscall', 'rt_sigreturn'])
    assert calls == [['restart_syscall', 'rt_sigreturn']] and search.failures == []
    assert search.inconclusive[0][2] == 'signal_return'


def test_unsupported_group_is_not_split():
    search = _probe_sweep.GroupTest(lambda group: {'outcome': 'unsupported', 'message': 'no notify'}).run(NAMES)
    assert search.starts == 1 and search.failures[0][0] == sorted(NAMES)


def test_start_limit_leaves_groups_untested():
    runtime = FakeRuntime(hang=NAMES, hints=False)
    search = _probe_sweep.GroupTest(runtime, max_starts=10).run(NAMES)
    assert search.starts == 10 and search.untested
    tested = set(n for g in runtime.groups for n in g)
    assert set(n for g in search.untested for n in g) <= tested  # untested parts of split groups


def test_suspects_use_the_blocked_syscall_then_the_message():
    group = ['fcntl', 'read', 'write']
    assert _probe_sweep.suspects({'blocked_syscall': 'fcntl', 'message': ''}, group) == ['fcntl']
    message = 'runc run failed: SCMP_ACT_NOTIFY cannot be used for the write syscall'
    assert _probe_sweep.suspects({'blocked_syscall': None, 'message': message}, group) == ['write']
    # "read" as an English word is not a syscall mention; a name outside the group is ignored.
    assert _probe_sweep.suspects({'message': 'cannot read config; bad openat syscall'}, group) == []
    assert _probe_sweep.split({'message': ''}, group) == [['fcntl'], ['read', 'write']]


class FakeStarts(object):
    """Stands in for real canary starts in Starter: results by group."""

    def __init__(self, table):
        self.table, self.groups = table, []

    def __call__(self, path, kind, group, nnp, timeout, tmp_parent=None):
        self.groups.append(list(group))
        outcome, message = self.table(group)
        return {'outcome': outcome, 'message': message, 'blocked_syscall': None, 'leftovers': [],
                'syscalls': list(group), 'syscall': ','.join(group)}


INFO = {'name': 'crun', 'version': '1.5', 'dev': False}


def test_environment_failure_ends_the_sweep_after_a_control_start(monkeypatch):
    starts = FakeStarts(lambda group: ('error', 'cgroups in hybrid mode not supported'))
    monkeypatch.setattr(_probe_sweep, 'probe', starts)
    entry, results = _probe_sweep.sweep_runtime('/usr/bin/crun', INFO, NAMES, True, 10, unknown=['mseal'],
                                                libseccomp='2.5.4')
    assert starts.groups[1] == [_probe_sweep.CONTROL_SYSCALL] and entry['starts'] == 2
    assert 'cannot start a canary' in entry['message'] and 'hybrid' in entry['message']
    assert entry['hang'] == entry['error'] == [] and entry['unsupported'] == ['mseal']
    assert [r['syscall'] for r in results] == ['mseal'] and results[0]['outcome'] == 'unsupported'
    assert 'libseccomp 2.5.4 does not know the syscall mseal' in results[0]['message']


def test_sweep_entry_and_results_schema(monkeypatch):
    starts = FakeStarts(lambda group: ('hang', 'stuck') if 'sendmsg' in group else ('ok', ''))
    monkeypatch.setattr(_probe_sweep, 'probe', starts)
    entry, results = _probe_sweep.sweep_runtime('/usr/bin/crun', INFO, ['close', 'read', 'sendmsg'], False, 10)
    assert entry['hang'] == ['sendmsg'] and entry['starts'] == len(starts.groups)
    assert set(entry) >= {'runtime', 'version', 'no_new_privileges', 'tested', 'hang', 'error', 'unsupported',
                          'starts', 'seconds'}
    assert entry['tested'] == 3 and entry['no_new_privileges'] is False
    (result,) = results
    assert result['syscall'] == 'sendmsg' and result['syscalls'] == ['sendmsg'] and result['outcome'] == 'hang'
    assert result['runtime'] == '/usr/bin/crun' and result['version'] == '1.5' and result['profile'] is None


def test_signal_returns_are_swept_apart_from_the_rest(monkeypatch):
    starts = FakeStarts(lambda group: ('error', 'SCMP_ACT_NOTIFY cannot be used for the write syscall')
                        if 'write' in group else ('ok', ''))
    monkeypatch.setattr(_probe_sweep, 'probe', starts)
    entry, _results = _probe_sweep.sweep_runtime('/usr/sbin/runc', INFO, NAMES, True, 10)
    assert starts.groups[0] == ['restart_syscall', 'rt_sigreturn']
    assert starts.groups[1] == sorted(set(NAMES) - {'restart_syscall', 'rt_sigreturn'})
    assert starts.groups[2:] == [['write'], ['write'], sorted(set(NAMES) - {'restart_syscall', 'rt_sigreturn', 'write'})]
    assert entry['error'] == ['write'] and entry['starts'] == 5 and entry['inconclusive'] == []


def test_signal_return_stall_is_listed_inconclusive_never_hang(monkeypatch):
    def table(group):
        if set(group) <= {'restart_syscall', 'rt_sigreturn'}:
            return 'inconclusive', 'only signal returns (restart_syscall, rt_sigreturn) were under SCMP_ACT_NOTIFY'
        return ('error', 'SCMP_ACT_NOTIFY cannot be used for the write syscall') if 'write' in group else ('ok', '')
    starts = FakeStarts(table)
    monkeypatch.setattr(_probe_sweep, 'probe', starts)
    entry, results = _probe_sweep.sweep_runtime('/usr/sbin/runc', INFO, NAMES, True, 10)
    assert entry['hang'] == [] and entry['combined'] == []
    assert [(i['syscalls'], i['reason']) for i in entry['inconclusive']] == [
        (['restart_syscall', 'rt_sigreturn'], 'signal_return')]
    assert sorted(r['outcome'] for r in results) == ['error', 'inconclusive']


def test_a_probe_that_cannot_run_stops_the_sweep_with_a_message(monkeypatch):
    def broken(*_args):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(_probe_sweep, 'probe', broken)
    entry, results = _probe_sweep.sweep_runtime('/usr/sbin/runc', INFO, NAMES, True, 10)
    assert 'could not run' in entry['message'] and 'No space left' in entry['message']
    assert results == [] and entry['starts'] == 1


# --- tables -----------------------------------------------------------------------------------

@pytest.mark.parametrize('arch, numbers', [
    ('x86_64', {0: 'read', 1: 'write', 72: 'fcntl', 46: 'sendmsg', 317: 'seccomp', 435: 'clone3', 462: 'mseal'}),
    ('aarch64', {63: 'read', 64: 'write', 25: 'fcntl', 211: 'sendmsg', 277: 'seccomp', 435: 'clone3'}),
])
def test_tables_hold_the_kernel_numbers(arch, numbers):
    table = _probe_syscalls.syscall_table(arch)
    for number, name in numbers.items():
        assert table[number] == name
    assert len(set(table.values())) == len(table)  # one number per name


def test_table_aliases_and_unknown_arch():
    assert _probe_syscalls.syscall_names('arm64') == _probe_syscalls.syscall_names('aarch64')
    assert 'open' in _probe_syscalls.syscall_names('amd64') and 'open' not in _probe_syscalls.syscall_names('arm64')
    assert _probe_syscalls.syscall_table('pdp11') is None and _probe_syscalls.syscall_names('pdp11') == []


def test_libseccomp_knows_the_classics_not_made_up_names():
    version, unknown = _probe_syscalls.libseccomp_unknown(['fcntl', 'write', 'no_such_syscall_xyz'])
    if version is None:
        pytest.skip('libseccomp is not installed here')
    assert unknown == ['no_such_syscall_xyz']


def test_seccomp_waits_sees_no_wait_in_this_process():
    (group,) = _probe_cleanup.seccomp_waits([os.getpid(), threading.get_native_id(), 2 ** 22 + 1])
    assert group['pid'] == os.getpid() and group['waiting'] == [] and group['runnable']  # this thread runs
    assert group['holds_fd'] is False


def test_sweep_starts_nothing_that_could_end_past_the_deadline(monkeypatch):
    clock = [0.0]
    runtime = FakeRuntime(hang=['fcntl'], error=['write'])

    def slow(group):
        clock[0] += 10  # every start takes the whole probe timeout
        return runtime(group)

    monkeypatch.setattr(_probe_sweep, 'out_of_time', lambda deadline, timeout: clock[0] + timeout > deadline)
    search = _probe_sweep.GroupTest(slow, deadline=35, timeout=10).run(NAMES)
    assert search.starts == 3  # the fourth would end at 40 > 35
    tested = set(n for group in runtime.groups for n in group)
    assert tested and sorted(n for g in search.untested for n in g)  # what was left is listed, not lost
    assert set(NAMES) <= tested | set(n for g in search.untested for n in g)
