# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""notify_probe sweeps hold on a busy machine: the same `hang` list every time, no false critical.

Fleet hosts are loaded. While a bounded load generator keeps every core busy, the real runc
builds rc.2 (hangs with fcntl), 1.2.0 and 1.3.6 (healthy) are swept five times each: the `hang`
lists are identical across the runs, healthy builds have `hang == []` and no `combined` group of
ordinary syscalls, and the findings made from those results hold a critical `notify-probe-hang`
for rc.2 (fcntl only) and for no healthy build. What could not be told is `inconclusive`, counted
apart. Root only; skipped without shared/runc-builds.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

import realruntimes
from test_notify_probe import assert_nothing_left  # (its import puts this collection on sys.path)

from ansible_collections.runcguard.seccomp.plugins.module_utils._probe import (
    probe as _probe, sweep as _probe_sweep, syscalls as _probe_syscalls)
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._probe_findings import probe_findings

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason='the sweep starts containers: root only'),
    pytest.mark.skipif(not _probe_syscalls.syscall_names(), reason='no syscall table for %s' % os.uname()[4]),
]

RUNS = 5
TIMEOUT = 60
# The load generator can never outlive the test run by more than this (its own bound).
LOAD_SECONDS = 1800
SIGNAL_RETURNS = set(_probe_sweep.SIGNAL_RETURNS)


@pytest.fixture(scope='module')
def full_load():
    """One CPU-bound process per core, each ending by itself after LOAD_SECONDS; always killed."""
    procs = []
    try:
        for _core in range(os.cpu_count() or 1):
            procs.append(subprocess.Popen(  # argv only; a new session so SIGKILL reaches just them
                [sys.executable, '-c', 'import time\nend = time.time() + %d\nwhile time.time() < end: pass'
                 % LOAD_SECONDS], start_new_session=True))
        time.sleep(0.5)
        assert all(p.poll() is None for p in procs), 'the load generator did not start'
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def tmp_parent():
    path = tempfile.mkdtemp(prefix='rcg-noharm-load-')
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize('build, hang', [
    ('runc-v1.2.0-rc.2', ['fcntl']),
    ('runc-v1.2.0', []),
    ('runc-v1.3.6', []),
])
def test_sweeps_under_full_load_agree(full_load, tmp_parent, build, hang):
    runc = realruntimes.runc_build(build)
    hang_lists, started = [], time.time()
    for run in range(RUNS):
        assert all(p.poll() is None for p in full_load), 'load generator ended early (run %d)' % run
        results, sweeps, skipped = _probe_sweep.sweep_all([runc], _probe_syscalls.syscall_names(), [True],
                                                          TIMEOUT, tmp_parent=tmp_parent)
        (entry,) = sweeps
        assert skipped == [] and entry['message'] == '' and entry['untested'] == [], entry
        assert entry['version'] == realruntimes.RUNC[build][0]
        hang_lists.append(entry['hang'])
        # never a signal return among hangs, never a combined group of ordinary syscalls
        assert not set(entry['hang']) & SIGNAL_RETURNS, entry
        assert entry['combined'] == [], entry
        for item in entry['inconclusive']:
            assert item['reason'] in ('signal_return', 'not_reproduced') and item['message'], item
        counts = _probe.outcome_counts(results)
        assert counts['inconclusive'] == len(entry['inconclusive']) and counts['hang'] == len(entry['hang'])
        findings = probe_findings(results)
        critical = [f for f in findings if f['severity'] == 'critical']
        if hang:
            assert [(f['id'], f['syscalls']) for f in critical] == [('notify-probe-hang', hang)], findings
        else:
            assert critical == [], findings
        assert_nothing_left(tmp_parent, [r['container_id'] for r in results if r['container_id']])
    assert hang_lists == [hang] * RUNS
    print('%s: %d sweeps under load in %.1f s' % (build, RUNS, time.time() - started))
