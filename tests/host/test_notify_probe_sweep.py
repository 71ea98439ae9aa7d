# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""notify_probe `sweep: true` on the real runc and crun builds (root; nothing mocked).

Every syscall of this host's table goes under SCMP_ACT_NOTIFY with the real runtimes of
`shared/runc-builds` and `shared/crun-builds` (skipped with the reason when they are absent):
rc.1 and rc.2 hang on exactly fcntl, crun 1.5 on exactly sendmsg; every runc refuses write; the
fixed builds need a few starts. Hangs are recognised by wchan, never waited out. Nothing is left
behind, also when the sweep is interrupted in the middle of a hang.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

import realruntimes
from test_notify_probe import COLLECTIONS_DIR, _cmdlines, assert_nothing_left  # noqa: F401 (path set-up)

from ansible_collections.runcguard.seccomp.plugins.module_utils._probe import cleanup as _probe_cleanup, sweep as _probe_sweep, syscalls as _probe_syscalls

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason='the sweep starts containers: root only'),
    pytest.mark.skipif(not _probe_syscalls.syscall_names(), reason='no syscall table for %s' % os.uname()[4]),
]

# A timeout no sweep here may wait out: every hang below must be recognised by wchan.
TIMEOUT = 60
# Under NOTIFY a signal return can hang even a healthy Go runtime (a preemption signal in the
# moment before the notify fd is passed on): seen now and then on a loaded machine. The sweep
# tests these apart; such a stall is `inconclusive`, never a hang.
SIGNAL_RETURNS = {'rt_sigreturn', 'restart_syscall'}
# Seconds one sweep (one runtime, one mode) may take on this loaded 2-core machine: a healthy
# runtime about 1 s idle, 4-6 s at load 30; a hang is recognised by wchan, so a hanging build costs a
# few seconds more. Only an inconclusive signal-return stall may be waited out (TIMEOUT each).
HEALTHY_SWEEP_SECONDS = 20
HANGING_SWEEP_SECONDS = 45


def sweep_bound(entry, hang):
    waited = sum(1 for i in entry['inconclusive'] if i['reason'] == 'signal_return')
    return (HANGING_SWEEP_SECONDS if hang else HEALTHY_SWEEP_SECONDS) + TIMEOUT * waited


@pytest.fixture
def tmp_parent():
    path = tempfile.mkdtemp(prefix='rcg-sweep-test-')
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def wrapper_dir():
    path = tempfile.mkdtemp(prefix='rcg-sweep-crun-')
    yield path
    shutil.rmtree(path, ignore_errors=True)


def sweep(runtime, tmp_parent, nnp_values=(True, False)):
    results, sweeps, skipped = _probe_sweep.sweep_all([runtime], _probe_syscalls.syscall_names(), list(nnp_values),
                                                      TIMEOUT, tmp_parent=tmp_parent)
    assert skipped == []
    assert [s['no_new_privileges'] for s in sweeps] == list(nnp_values)
    for entry in sweeps:
        assert entry['message'] == '' and entry['leftovers'] == [] and entry['untested'] == [], entry
        # no combined group: a stall that does not reproduce is inconclusive, never a hazard
        assert entry['combined'] == [] and not set(entry['hang']) & SIGNAL_RETURNS, entry
        assert all(i['reason'] in ('signal_return', 'not_reproduced') for i in entry['inconclusive']), entry
        assert entry['tested'] == len(_probe_syscalls.syscall_names())
    for result in results:
        if result['outcome'] == 'hang':
            assert result['detected_by'] == 'wchan', result  # recognised, not waited out
    assert_nothing_left(tmp_parent, [r['container_id'] for r in results if r['container_id']])
    return results, sweeps


@pytest.mark.parametrize('build, hang', [
    ('runc-v1.2.0-rc.1', ['fcntl']),
    ('runc-v1.2.0-rc.2', ['fcntl']),
    ('runc-v1.2.0', []),
    ('runc-v1.1.13', []),
])
def test_real_runc_sweep(tmp_parent, build, hang):
    results, sweeps = sweep(realruntimes.runc_build(build), tmp_parent)
    for entry in sweeps:
        assert entry['version'] == realruntimes.RUNC[build][0]
        assert entry['hang'] == hang, entry  # a healthy build: no hang at all, signal returns included
        assert entry['seconds'] < sweep_bound(entry, hang), entry
        assert 'write' in entry['error'], entry
        # few starts: the refusal names write, a hang names its syscall, each confirmed by one more
        # start (5 healthy, 8 hung); a failure that did not reproduce cost at most 3 starts
        assert entry['starts'] <= (5 if not hang else 8) + 3 * len(entry['inconclusive']), entry
    by_name = dict(((r['syscall'], r['no_new_privileges']), r) for r in results)
    for nnp in (True, False):
        assert 'SCMP_ACT_NOTIFY cannot be used for the write syscall' in by_name[('write', nnp)]['message']
        if hang:
            assert by_name[('fcntl', nnp)]['outcome'] == 'hang'
            assert by_name[('fcntl', nnp)]['blocked_syscall'] == 'fcntl'
    # results keep the single-probe schema: one entry per syscall that is not ok (an inconclusive group apart)
    assert all((len(r['syscalls']) == 1 or r['outcome'] == 'inconclusive') and r['outcome'] != 'ok' for r in results)


@pytest.mark.parametrize('build, hang', [('crun-1.5', ['sendmsg']), ('crun-1.6', [])])
def test_real_crun_sweep(tmp_parent, wrapper_dir, build, hang):
    crun = realruntimes.crun_runner(realruntimes.crun_build(build), wrapper_dir)
    _results, sweeps = sweep(crun, tmp_parent)
    for entry in sweeps:
        assert entry['name'] == 'crun' and entry['version'].startswith(realruntimes.CRUN[build])
        # crun does not refuse write under NOTIFY
        assert entry['hang'] == hang and entry['error'] == [], entry
        assert entry['seconds'] < sweep_bound(entry, hang), entry
        assert entry['starts'] <= (3 if not hang else 5) + 3 * len(entry['inconclusive']), entry


def test_names_libseccomp_does_not_know_are_unsupported_without_a_start(tmp_parent):
    runc = realruntimes.runc_build('runc-v1.2.0')
    results, sweeps, _skipped = _probe_sweep.sweep_all([runc], ['fcntl', 'no_such_syscall'], [True], TIMEOUT,
                                                       tmp_parent=tmp_parent)
    (entry,) = sweeps
    if entry['libseccomp'] is None:
        pytest.skip('libseccomp cannot be loaded here')
    assert entry['unsupported'] == ['no_such_syscall'] and entry['hang'] == entry['error'] == []
    assert entry['starts'] == 1
    assert [(r['syscall'], r['outcome'], r['container_id']) for r in results] == [('no_such_syscall', 'unsupported', None)]


def test_the_module_sweeps_through_ansible(tmp_parent):
    rc2 = realruntimes.runc_build('runc-v1.2.0-rc.2')
    args = {'ANSIBLE_MODULE_ARGS': {'runtime': [rc2], 'sweep': True, 'no_new_privileges': [True],
                                    'timeout': TIMEOUT}}
    argfile = os.path.join(tmp_parent, 'args.json')
    with open(argfile, 'w') as handle:
        json.dump(args, handle)
    env = dict(os.environ, PYTHONPATH=COLLECTIONS_DIR, TMPDIR=tmp_parent)
    proc = subprocess.run([sys.executable, '-m', 'ansible_collections.runcguard.seccomp.plugins.modules.notify_probe',
                           argfile], capture_output=True, text=True, timeout=300, env=env, check=False)
    os.unlink(argfile)
    out = json.loads(proc.stdout)
    assert proc.returncode == 0 and not out.get('failed'), out
    (entry,) = out['sweeps']
    assert entry['hang'] == ['fcntl'] and 'write' in entry['error']
    assert 'runc 1.2.0-rc.2 nnp=true hang [' in out['msg'] and 'error [write]' in out['msg']
    assert out['outcome_counts']['hang'] == len(entry['hang']) and out['outcome_counts']['ok'] == 0
    assert_nothing_left(tmp_parent, [r['container_id'] for r in out['results'] if r['container_id']])


SWEEP_SCRIPT = textwrap.dedent('''\
    import sys
    sys.path.insert(0, %r)
    from ansible_collections.runcguard.seccomp.plugins.module_utils._probe import cleanup as _probe_cleanup, sweep as _probe_sweep
    from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.syscalls import syscall_names
    try:
        with _probe_cleanup.interrupt_guard():
            _probe_sweep.sweep_all([%r], syscall_names(), [True, False], 60, tmp_parent=%r)
    except _probe_cleanup.ProbeInterrupted:
        sys.exit(3)
    ''')


@pytest.mark.parametrize('signum, when', [(signal.SIGTERM, 'hang'), (signal.SIGINT, 'start')])
def test_interrupted_mid_sweep_leaves_nothing(tmp_parent, signum, when):
    # rc.2 hangs in the middle of its sweep: the signal comes while runc init is stuck in fcntl
    # (its `runc run` ignores SIGTERM), or while a container is being started.
    rc2 = realruntimes.runc_build('runc-v1.2.0-rc.2')
    proc = subprocess.Popen([sys.executable, '-c', SWEEP_SCRIPT % (COLLECTIONS_DIR, rc2, tmp_parent)])
    deadline = time.time() + 60
    ids = []
    try:
        while time.time() < deadline and proc.poll() is None:
            ids = sorted(set(ids) | set(c.split()[-1] for c in _cmdlines().values()
                                        if ' run --bundle ' in c and tmp_parent in c))
            if when == 'start' and ids:
                break
            if when == 'hang' and any(g['waiting'] for g in _probe_cleanup.seccomp_waits(list(_probe_cleanup.descendants([proc.pid])))):
                break
            time.sleep(0.01)
        assert ids and proc.poll() is None, 'the sweep never got to a %s' % when
        proc.send_signal(signum)
        assert proc.wait(60) == 3
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert_nothing_left(tmp_parent, ids)


def test_audit_with_probe_sweep_finds_the_fcntl_hang(tmp_path):
    # One ansible-playbook run of the audit over localhost with rc.2 given by path: the sweep's
    # observation becomes a notify-probe-hang finding naming fcntl, and only fcntl (a signal-return stall is
    # inconclusive, never part of it).
    from test_audit_real_runtimes import ansible_playbook
    rc2 = realruntimes.runc_build('runc-v1.2.0-rc.2')
    extra = {'audit_probe': True, 'audit_probe_sweep': True, 'audit_discover': False, 'audit_runtime_paths': [rc2],
             'audit_probe_timeout': TIMEOUT, 'audit_report_dir': str(tmp_path), 'audit_report_formats': ['json']}
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='0', LANG='C.UTF-8',
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    proc = subprocess.run([ansible_playbook(), '-i', 'localhost,', '-c', 'local', 'runcguard.seccomp.audit',
                           '-e', json.dumps(extra)], capture_output=True, text=True, timeout=600, check=False, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    with open(os.path.join(str(tmp_path), 'runcguard-audit.json')) as handle:
        host = json.load(handle)['hosts'][0]
    assert host['status'] == 'ok', host
    hangs = [f for f in host['findings'] if f['id'] == 'notify-probe-hang']
    assert len(hangs) == 1 and hangs[0]['syscalls'] == ['fcntl'], hangs
    probed = [(p['syscall'], p['outcome']) for p in host['probe'] if p['outcome'] in ('hang', 'error')]
    assert ('fcntl', 'hang') in probed and ('write', 'error') in probed
    ps = subprocess.run(['ps', '-eo', 'args'], capture_output=True, text=True, check=True).stdout
    assert [line for line in ps.splitlines() if rc2 in line] == []
