# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""notify_probe on the real host: real runc, real namespaces, real cgroups, real seccomp agent.

Plain pytest, run as root: `python -m pytest tests/host/test_notify_probe.py`.
Nothing is mocked. Debian's runc and crun, and the real builds in `shared/runc-builds/` (runc
1.2.0-rc.1 and rc.2 really hang with fcntl under NOTIFY, 1.2.0 and 1.1.13 do not) and
`shared/crun-builds/` (crun 1.5 really hangs with sendmsg, 1.6 does not); the tests that need a
build skip when `shared/` is not beside the repository. crun runs through `realruntimes.crun_runner`
on this machine kind's hybrid cgroups. Further "hang" cases: a wrapper whose `run` never returns
and ignores SIGTERM, and the real runc with an agent that takes the fd but never answers. Every
case checks that nothing is left behind.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import atexit
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

import realruntimes

COLLECTION = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _collection_path():
    """A dir where `ansible_collections.runcguard.seccomp` is this tree (symlink if needed)."""
    parts = COLLECTION.split(os.sep)
    if parts[-3:-2] == ['ansible_collections']:
        return os.sep.join(parts[:-3])
    for entry in sys.path:  # the harness puts a collections dir on PYTHONPATH
        linked = os.path.join(entry or '.', 'ansible_collections', 'runcguard', 'seccomp')
        if os.path.isdir(linked) and os.path.realpath(linked) == os.path.realpath(COLLECTION):
            return entry
    top = tempfile.mkdtemp(prefix='rcg-host-coll-')
    os.makedirs(os.path.join(top, 'ansible_collections', 'runcguard'))
    os.symlink(COLLECTION, os.path.join(top, 'ansible_collections', 'runcguard', 'seccomp'))
    atexit.register(shutil.rmtree, top, True)
    return top


COLLECTIONS_DIR = _collection_path()
sys.path.insert(0, COLLECTIONS_DIR)

from ansible_collections.runcguard.seccomp.plugins.module_utils._probe import (  # noqa: E402
    canary as _probe_canary, cleanup as _probe_cleanup, probe as _probe)

RUNC = '/usr/sbin/runc'
CRUN = '/usr/bin/crun'

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason='notify_probe host tests need root'),
    pytest.mark.skipif(not os.path.exists(RUNC), reason='Debian runc not installed at %s' % RUNC),
]


def _cmdlines():
    found = {}
    for pid in _probe_cleanup.all_pids():
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as handle:
                found[pid] = handle.read().replace(b'\0', b' ').decode('utf-8', 'replace')
        except (IOError, OSError):
            continue
    return found


def assert_nothing_left(tmp_parent, container_ids=(), markers=()):
    """No process, cgroup, mount, state dir, socket or temp dir of the probe remains."""
    needles = list(container_ids) + list(markers) + [tmp_parent]
    # A killed process may take a moment to be reaped by PID 1.
    deadline = time.time() + 5
    while True:
        alive = dict((pid, cmd) for pid, cmd in _cmdlines().items()
                     if any(n in cmd for n in needles) and _probe_cleanup.proc_stat(pid) and pid != os.getpid())
        if not alive or time.time() > deadline:
            break
        time.sleep(0.1)
    assert alive == {}
    assert os.listdir(tmp_parent) == [], 'temp dirs, sockets or state dirs left in %s' % tmp_parent
    with open('/proc/self/mountinfo') as handle:
        assert tmp_parent not in handle.read()
    for cid in container_ids:
        assert _probe_cleanup.cgroup_dirs(cid) == []
        # the engines' default runc root never saw the canary
        assert not os.path.exists(os.path.join('/run/runc', cid))
        # its temp dir (bundle, state root, socket; named like the container) is gone wherever it was made
        for parent in (tmp_parent, tempfile.gettempdir(), '/tmp'):
            assert not os.path.exists(os.path.join(parent, cid))


@pytest.fixture
def tmp_parent():
    path = tempfile.mkdtemp(prefix='rcg-probe-test-')
    yield path
    shutil.rmtree(path, ignore_errors=True)


def run(runtime, syscalls, nnp_values, tmp_parent, timeout=10):
    results, skipped = _probe.run_all([runtime], [syscalls], nnp_values, timeout, tmp_parent=tmp_parent)
    assert skipped == []
    return results


def test_debian_runc_fcntl_ok(tmp_parent):
    results = run(RUNC, ['fcntl'], [True, False], tmp_parent)
    assert [(r['no_new_privileges'], r['outcome']) for r in results] == [(True, 'ok'), (False, 'ok')]
    for r in results:
        assert r['agent_connected'] is True and r['exit_code'] == 0 and r['leftovers'] == []
        assert r['name'] == 'runc' and r['version'] == '1.1.5' and r['runtime'] == RUNC
        assert r['seconds'] < 10
    # Without noNewPrivileges runc:[2:INIT] itself calls fcntl under the filter: the agent
    # answered those with CONTINUE, otherwise the start would have hung.
    assert results[1]['notifications'] >= 1
    assert_nothing_left(tmp_parent, [r['container_id'] for r in results])


def test_debian_runc_write_error_with_runc_message(tmp_parent):
    results = run(RUNC, ['write'], [True, False], tmp_parent)
    for r in results:
        assert r['outcome'] == 'error'
        assert 'SCMP_ACT_NOTIFY cannot be used for the write syscall' in r['message']
        assert r['message'].startswith('runc run failed')
        assert r['agent_connected'] is False
    assert_nothing_left(tmp_parent, [r['container_id'] for r in results])


def test_debian_runc_execve_runs_the_container_process(tmp_parent):
    # execve under NOTIFY: the only execve after the filter is the container's own `true`, so a
    # notification proves the container process really started.
    for r in run(RUNC, ['execve'], [True, False], tmp_parent):
        assert r['outcome'] == 'ok' and r['notifications'] >= 1
    assert_nothing_left(tmp_parent)


HANG_WRAPPER = textwrap.dedent('''\
    #!/bin/sh
    # A runtime that never returns from run: ignores SIGTERM and leaves a setsid() child behind,
    # like runc:[2:INIT]. Everything else (--version, state, delete) is the real runc.
    for arg in "$@"; do
      if [ "$arg" = run ]; then
        trap '' TERM
        setsid sleep {child} &
        sleep {parent}
        exit 0
      fi
    done
    exec {runc} "$@"
    ''')


@pytest.fixture
def hang_runtime():
    directory = tempfile.mkdtemp(prefix='rcg-hang-runtime-')
    child, parent = random.randint(90000, 99999), random.randint(100000, 109999)
    path = os.path.join(directory, 'runc')
    with open(path, 'w') as handle:
        handle.write(HANG_WRAPPER.format(child=child, parent=parent, runc=RUNC))
    os.chmod(path, 0o755)
    yield path, ['sleep %d' % child, 'sleep %d' % parent]
    shutil.rmtree(directory, ignore_errors=True)


def test_runtime_that_never_returns_is_a_hang_and_leaves_nothing(tmp_parent, hang_runtime):
    path, markers = hang_runtime
    started = time.time()
    results = run(path, ['fcntl'], [True], tmp_parent, timeout=2)
    assert time.time() - started < 15
    assert len(results) == 1 and results[0]['outcome'] == 'hang'
    assert results[0]['agent_connected'] is False and results[0]['exit_code'] is None
    assert results[0]['leftovers'] == []
    assert 2 <= results[0]['seconds'] < 4
    assert_nothing_left(tmp_parent, [results[0]['container_id']], markers)


def test_real_runc_init_stuck_in_notification_is_killed_and_deleted(tmp_parent):
    # The agent takes the fd and never answers: runc init blocks in its own fcntl, runc run never
    # returns and the container sits in `created` - the runc 1.2.0-rc.2 picture, with a real runc.
    canary = _probe_canary.Canary(RUNC, 'runc', ['fcntl'], False, 3, tmp_parent=tmp_parent, answer=False)
    try:
        result = canary.run()
        listed = subprocess.run([RUNC, '--root', canary.state_root, 'list', '--format', 'json'],
                                stdout=subprocess.PIPE, timeout=10, check=True).stdout
        states = json.loads(listed.decode() or '[]')
        assert [s['status'] for s in states] == ['created']
        init_pid = states[0]['pid']
        assert _probe_cleanup.proc_stat(init_pid) is not None
        with open('/proc/%d/wchan' % init_pid) as handle:
            wchan = handle.read()
    finally:
        leftovers = canary.cleanup()
    assert result['outcome'] == 'hang' and result['agent_connected'] is True
    if wchan not in ('', '0'):  # kernels without symbol info report 0
        assert 'seccomp' in wchan  # blocked in seccomp_do_user_notification
    assert leftovers == []
    assert _probe_cleanup.proc_stat(init_pid) is None
    assert_nothing_left(tmp_parent, [canary.id])


def test_interrupt_during_a_hang_cleans_up(tmp_parent, hang_runtime):
    path, markers = hang_runtime
    script = textwrap.dedent('''\
        import sys
        sys.path.insert(0, %r)
        from ansible_collections.runcguard.seccomp.plugins.module_utils._probe import probe as _probe, cleanup as _probe_cleanup
        try:
            with _probe_cleanup.interrupt_guard():
                _probe.run_all([%r], [['fcntl']], [True], 60, tmp_parent=%r)
        except _probe_cleanup.ProbeInterrupted:
            sys.exit(3)
        ''') % (COLLECTIONS_DIR, path, tmp_parent)
    proc = subprocess.Popen([sys.executable, '-c', script])
    deadline = time.time() + 10
    while not any(m in c for c in _cmdlines().values() for m in markers) and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 3
    assert_nothing_left(tmp_parent, markers=markers)


# --- the real runc builds (shared/runc-builds) -------------------------------------------------

@pytest.mark.parametrize('build', ['runc-v1.2.0-rc.1', 'runc-v1.2.0-rc.2'])
def test_real_affected_runc_hangs_with_fcntl(tmp_parent, build):
    path = realruntimes.runc_build(build)
    # With a 60 s bound the hang must be recognised, not waited out: runc:[2:INIT] waits in a
    # seccomp notification (wchan) that nothing can answer, seen within STUCK_SECONDS (0.5 s).
    results = run(path, ['fcntl'], [True, False], tmp_parent, timeout=60)
    assert [(r['no_new_privileges'], r['outcome']) for r in results] == [(True, 'hang'), (False, 'hang')]
    for r in results:
        assert r['version'] == realruntimes.RUNC[build][0] and r['name'] == 'runc'
        assert r['detected_by'] == 'wchan' and r['blocked_syscall'] == 'fcntl', r
        assert r['seconds'] < 1.5, r
        # runc:[2:INIT] blocks in its own fcntl before it can hand the fd to the agent
        assert r['agent_connected'] is False and r['exit_code'] is None
        assert r['leftovers'] == []
    assert_nothing_left(tmp_parent, [r['container_id'] for r in results])


@pytest.mark.parametrize('build', ['runc-v1.2.0', 'runc-v1.1.13'])
def test_real_fixed_runc_runs_with_fcntl(tmp_parent, build):
    results = run(realruntimes.runc_build(build), ['fcntl'], [True, False], tmp_parent, timeout=60)
    assert [(r['no_new_privileges'], r['outcome']) for r in results] == [(True, 'ok'), (False, 'ok')]
    for r in results:
        assert r['version'] == realruntimes.RUNC[build][0]
        assert r['agent_connected'] is True and r['exit_code'] == 0 and r['leftovers'] == []
        assert r['detected_by'] is None and r['seconds'] < 5, r  # a healthy start takes ~0.1 s
    assert_nothing_left(tmp_parent, [r['container_id'] for r in results])


@pytest.mark.parametrize('build', sorted(realruntimes.RUNC))
def test_real_runc_refuses_notify_on_write(tmp_parent, build):
    results = run(realruntimes.runc_build(build), ['write'], [True, False], tmp_parent)
    for r in results:
        assert r['outcome'] == 'error' and r['agent_connected'] is False, r
        assert 'SCMP_ACT_NOTIFY cannot be used for the write syscall' in r['message'], r['message']
    assert_nothing_left(tmp_parent, [r['container_id'] for r in results])


def test_real_hung_runc_interrupted_leaves_nothing(tmp_parent):
    # SIGTERM to the module while the real rc.2 hangs: the hung `runc run` ignores SIGTERM and its
    # runc init is stuck; both are killed by PID and the container deleted before the exit.
    # The hang is recognised within a second (wchan), so the run probes fcntl many times over to
    # be still running when the signal comes.
    path = realruntimes.runc_build('runc-v1.2.0-rc.2')
    script = textwrap.dedent('''\
        import sys
        sys.path.insert(0, %r)
        from ansible_collections.runcguard.seccomp.plugins.module_utils._probe import probe as _probe, cleanup as _probe_cleanup
        try:
            with _probe_cleanup.interrupt_guard():
                _probe.run_all([%r], [['fcntl']] * 30, [False], 60, tmp_parent=%r)
        except _probe_cleanup.ProbeInterrupted:
            sys.exit(3)
        ''') % (COLLECTIONS_DIR, path, tmp_parent)
    proc = subprocess.Popen([sys.executable, '-c', script])
    deadline = time.time() + 20
    ids = []
    while not ids and time.time() < deadline:
        ids = [c.split()[-1] for c in _cmdlines().values() if ' run --bundle ' in c and tmp_parent in c]
        time.sleep(0.1)
    assert ids, 'runc run never started'
    while not any(g['waiting'] for g in _probe_cleanup.seccomp_waits(list(_probe_cleanup.descendants([proc.pid])))) and time.time() < deadline:
        time.sleep(0.02)  # until runc init is stuck in fcntl
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 3
    assert_nothing_left(tmp_parent, ids)


# --- crun: Debian's 1.8.1 and the real builds (shared/crun-builds) ----------------------------

@pytest.fixture
def wrapper_dir():
    path = tempfile.mkdtemp(prefix='rcg-crun-runner-')
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_debian_crun_runs_fcntl_sendmsg_and_write(tmp_parent, wrapper_dir):
    if not os.path.exists(CRUN):
        pytest.skip('Debian crun not installed at %s' % CRUN)
    crun = realruntimes.crun_runner(CRUN, wrapper_dir)
    results = run(crun, ['fcntl'], [True, False], tmp_parent) + run(crun, ['sendmsg'], [True, False], tmp_parent) \
        + run(crun, ['write'], [True, False], tmp_parent)
    # crun, unlike runc, does not refuse write under NOTIFY
    assert [(r['syscall'], r['outcome']) for r in results] == [
        ('fcntl', 'ok'), ('fcntl', 'ok'), ('sendmsg', 'ok'), ('sendmsg', 'ok'), ('write', 'ok'), ('write', 'ok')], results
    for r in results:
        assert r['name'] == 'crun' and r['version'] == '1.8.1'
        assert r['agent_connected'] is True and r['exit_code'] == 0 and r['leftovers'] == []
    # noNewPrivileges=false: crun's own write after the filter reached the agent and was CONTINUEd
    assert results[5]['notifications'] >= 1
    assert_nothing_left(tmp_parent, [r['container_id'] for r in results])


def test_real_crun_1_5_hangs_with_sendmsg_only(tmp_parent, wrapper_dir):
    crun = realruntimes.crun_runner(realruntimes.crun_build('crun-1.5'), wrapper_dir)
    hung = run(crun, ['sendmsg'], [True, False], tmp_parent, timeout=60)
    assert [(r['no_new_privileges'], r['outcome']) for r in hung] == [(True, 'hang'), (False, 'hang')], hung
    assert all(r['agent_connected'] is False and r['leftovers'] == [] for r in hung)
    # crun blocks in the very sendmsg that would pass the notify fd: recognised by wchan, not waited out
    for r in hung:
        assert r['detected_by'] == 'wchan' and r['blocked_syscall'] == 'sendmsg' and r['seconds'] < 1.5, r
    fine = run(crun, ['fcntl'], [True, False], tmp_parent, timeout=60) + run(crun, ['write'], [True, False], tmp_parent, timeout=60)
    assert [r['outcome'] for r in fine] == ['ok'] * 4, fine
    assert all(r['seconds'] < 5 for r in fine), fine
    assert all(r['name'] == 'crun' and r['version'].startswith('1.5') for r in hung + fine)
    assert_nothing_left(tmp_parent, [r['container_id'] for r in hung + fine])


def test_real_crun_1_6_runs_sendmsg(tmp_parent, wrapper_dir):
    crun = realruntimes.crun_runner(realruntimes.crun_build('crun-1.6'), wrapper_dir)
    results = run(crun, ['sendmsg', 'fcntl'], [True, False], tmp_parent, timeout=60)
    assert [r['outcome'] for r in results] == ['ok', 'ok'], results
    assert all(r['seconds'] < 5 for r in results), results
    assert all(r['version'].startswith('1.6') and r['agent_connected'] for r in results)
    assert_nothing_left(tmp_parent, [r['container_id'] for r in results])


def test_crun_without_the_runner_reports_the_hybrid_refusal(tmp_parent):
    # What the product sees on this machine kind when it is handed crun as it is.
    if not realruntimes.hybrid_cgroups():
        pytest.skip('cgroups are not hybrid here')
    if not os.path.exists(CRUN):
        pytest.skip('Debian crun not installed at %s' % CRUN)
    results = run(CRUN, ['fcntl'], [True], tmp_parent)
    assert results[0]['outcome'] == 'error' and 'hybrid' in results[0]['message'], results
    assert_nothing_left(tmp_parent, [r['container_id'] for r in results])


def test_other_runtimes_are_refused(tmp_parent):
    results, skipped = _probe.run_all(['/bin/true', RUNC], [['connect']], [True], 10, tmp_parent=tmp_parent)
    assert [s['runtime'] for s in skipped] == ['/bin/true']
    assert 'notify_probe drives only runc and crun' in skipped[0]['message']
    assert [r['outcome'] for r in results] == ['ok']


def _module(args, check_mode=False):
    try:
        import ansible  # noqa: F401
    except ImportError:
        pytest.skip('ansible-core not importable by %s' % sys.executable)
    args = dict(args, _ansible_check_mode=check_mode)
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as handle:
        json.dump({'ANSIBLE_MODULE_ARGS': args}, handle)
    try:
        env = dict(os.environ, PYTHONPATH=COLLECTIONS_DIR)
        proc = subprocess.run([sys.executable, '-m', 'ansible_collections.runcguard.seccomp.plugins.modules.notify_probe',
                               handle.name], stdout=subprocess.PIPE, env=env, timeout=120, cwd='/', check=False)
    finally:
        os.unlink(handle.name)
    return json.loads(proc.stdout.decode())


def test_module_end_to_end_in_check_mode():
    out = _module({'runtime': [RUNC, '/usr/bin/runc'], 'syscalls': ['fcntl', 'write', 'connect'],
                   'no_new_privileges': [True]}, check_mode=True)
    assert out['changed'] is False and 'failed' not in out
    assert [(r['syscall'], r['outcome']) for r in out['results']] == [('fcntl', 'ok'), ('write', 'error'), ('connect', 'ok')]
    assert out['outcome_counts'] == {'ok': 2, 'hang': 0, 'error': 1, 'unsupported': 0, 'inconclusive': 0}
    assert out['summary'] == out['outcome_counts']  # its deprecated name


def test_module_refuses_non_runtime_only_input():
    out = _module({'runtime': ['/bin/true'], 'syscalls': ['fcntl']})
    assert out['failed'] is True
    assert 'no runtime could be probed' in out['msg'] and 'not runc or crun' in out['msg']


def test_module_probes_a_profile_notify_set(tmp_parent):
    profile = os.path.join(tmp_parent, 'bypass4netns-like.json')
    with open(profile, 'w') as handle:
        json.dump({'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/run/bypass4netns.sock', 'syscalls': [
            {'names': ['bind', 'connect', 'fcntl'], 'action': 'SCMP_ACT_NOTIFY'},
            {'names': ['ptrace'], 'action': 'SCMP_ACT_ERRNO'}]}, handle)
    out = _module({'runtime': [RUNC], 'profile': profile})
    assert [(r['syscall'], r['no_new_privileges'], r['outcome'], r['profile']) for r in out['results']] == [
        ('bind,connect,fcntl', True, 'ok', profile), ('bind,connect,fcntl', False, 'ok', profile)]
    assert all(r['leftovers'] == [] for r in out['results'])
    os.unlink(profile)
    assert_nothing_left(tmp_parent, [r['container_id'] for r in out['results']])


def test_module_starts_no_probe_that_could_outlive_total_timeout(tmp_parent, hang_runtime):
    # The first probe hangs for its whole timeout (3 s); a second could then not end within the
    # 5 s the caller gave the module, so it is not started but listed in not_probed.
    path, markers = hang_runtime
    out = _module({'runtime': [path], 'syscalls': ['fcntl', 'connect'], 'no_new_privileges': [True],
                   'timeout': 3, 'total_timeout': 5})
    assert 'failed' not in out, out
    assert [(r['syscall'], r['outcome']) for r in out['results']] == [('fcntl', 'hang')]
    assert [s['message'] for s in out['not_probed']] == [
        '%s (connect, no_new_privileges=true)' % _probe.OUT_OF_TIME]
    assert_nothing_left(tmp_parent, [out['results'][0]['container_id']], markers)
