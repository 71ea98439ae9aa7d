# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A SIGKILLed notify_probe run is reaped by the next run (real runc 1.2.0-rc.2, real cgroups).

The module runs as Ansible runs it (its own process, arguments in a JSON file). While its canary
hangs on the real rc.2 build (runc init blocked in fcntl under NOTIFY) the module is stopped, then
killed with SIGKILL: its `runc run` dies with it (PR_SET_PDEATHSIG), the blocked runc init, the
`created` container, its cgroups and temp directory stay. The next run kills, deletes and removes
them and lists them in `reaped`; a live run, a directory a user owns and unrelated names are left
alone.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

import realruntimes
from test_notify_probe import COLLECTIONS_DIR, RUNC, _cmdlines

from ansible_collections.runcguard.seccomp.plugins.module_utils._probe import cleanup as _probe_cleanup  # noqa: E402
from ansible_collections.runcguard.seccomp.plugins.module_utils._probe import reap as _probe_reap  # noqa: E402

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason='starts containers: root only'),
    pytest.mark.skipif(not os.path.exists(RUNC), reason='Debian runc not installed at %s' % RUNC),
]
MODULE = 'ansible_collections.runcguard.seccomp.plugins.modules.notify_probe'


@pytest.fixture
def tmp_parent():
    path = tempfile.mkdtemp(prefix='rcg-honest-reap-')
    yield path
    shutil.rmtree(path, ignore_errors=True)


def start_module(args, tmp_parent):
    """The module in its own process, its temp files under tmp_parent (TMPDIR)."""
    args_file = os.path.join(tmp_parent, 'args.json')
    with open(args_file, 'w') as handle:
        json.dump({'ANSIBLE_MODULE_ARGS': args}, handle)
    env = dict(os.environ, PYTHONPATH=COLLECTIONS_DIR, TMPDIR=tmp_parent)
    return subprocess.Popen([sys.executable, '-m', MODULE, args_file], stdout=subprocess.PIPE, env=env, cwd='/')


def finish(proc):
    out = proc.communicate(timeout=120)[0]
    return json.loads(out.decode())


def wait_for(predicate, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError('timed out waiting for %s' % what)


def alive(pid, start):
    return (_probe_cleanup.proc_stat(pid) or (0, 0, None))[2] == start


def test_a_sigkilled_run_is_reaped_by_the_next_run(tmp_parent):
    rc2 = realruntimes.runc_build('runc-v1.2.0-rc.2')
    killed = start_module({'runtime': [rc2], 'syscalls': ['fcntl'], 'no_new_privileges': [False], 'timeout': 60},
                          tmp_parent)
    try:
        # The canary's directory carries the module's PID; runtime.pid appears once runc run started.
        # rc.2's runc init blocks in its own fcntl under NOTIFY and never hands the fd on. The module
        # is stopped only once an init is seen blocked: a start lost to runc's transient init race is
        # retried by the module, in a new directory.
        def blocked_run():
            for pid_file in glob.glob(os.path.join(tmp_parent, 'runcguard-probe-%d-*' % killed.pid, 'runtime.pid')):
                try:
                    with open(pid_file) as handle:
                        runtime_pid, runtime_start = (int(x) for x in handle.read().split())
                except (OSError, ValueError):
                    continue
                waiting = [g for g in _probe_cleanup.seccomp_waits(sorted(_probe_cleanup.descendants([runtime_pid])))
                           if g['waiting']]
                if waiting:
                    return pid_file, runtime_pid, runtime_start, waiting
            return None
        pid_file, runtime_pid, runtime_start, waiting = wait_for(blocked_run, 45, 'runc init to block')
        killed.send_signal(signal.SIGSTOP)  # the module cannot judge or clean up any more
        directory = os.path.dirname(pid_file)
        name = os.path.basename(directory)
        init_pid = waiting[0]['pid']
        init_start = _probe_cleanup.proc_stat(init_pid)[2]
        # A live (if stopped) run is not reaped.
        assert name not in _probe_reap.find_dead_runs([tmp_parent])
        assert os.path.isdir(directory)
    finally:
        killed.kill()
        killed.wait(10)
        killed.stdout.close()

    # PR_SET_PDEATHSIG: runc run died with the module; runc init, cgroups, state and directory stay.
    wait_for(lambda: not alive(runtime_pid, runtime_start), 5, 'runc run to die with the module')
    assert alive(init_pid, init_start)
    cgroups = _probe_cleanup.cgroup_dirs(name)
    assert cgroups, 'the canary had no cgroup'
    states = json.loads(subprocess.run([rc2, '--root', os.path.join(directory, 'state'), 'list', '--format', 'json'],
                                       stdout=subprocess.PIPE, timeout=10, check=True).stdout.decode() or '[]')
    assert [(s['id'], s['status']) for s in states] == [(name, 'created')]

    # The next run reaps it first, then probes as usual.
    out = finish(start_module({'runtime': [RUNC], 'syscalls': ['fcntl'], 'no_new_privileges': [True]}, tmp_parent))
    assert 'failed' not in out, out
    assert [r['outcome'] for r in out['results']] == ['ok']
    mine = [r for r in out['reaped'] if r['container_id'] == name]
    assert mine == [{'container_id': name, 'pid': killed.pid, 'directory': directory, 'cgroups': cgroups,
                     'processes': mine[0]['processes'], 'deleted': True, 'problems': []}], out['reaped']
    assert init_pid in mine[0]['processes']
    assert 'reaped' in out['msg'] and name in out['msg']

    assert not alive(init_pid, init_start)
    assert _probe_cleanup.cgroup_dirs(name) == []
    assert not os.path.exists(directory)
    assert [cmd for cmd in _cmdlines().values() if name in cmd] == []
    assert sorted(os.listdir(tmp_parent)) == ['args.json']
    # And a third run has nothing of it left to reap.
    out = finish(start_module({'runtime': [RUNC], 'syscalls': ['fcntl'], 'no_new_privileges': [True]}, tmp_parent))
    assert [r for r in out['reaped'] if r['container_id'] == name] == []


def _dead_pid():
    """A PID no process has now (a child that has exited and been waited for)."""
    proc = subprocess.Popen(['true'])
    proc.wait()
    return proc.pid


def test_only_root_made_directories_of_dead_runs_are_reaped(tmp_parent):
    dead = _dead_pid()
    # root's, 0700, its run dead, no owner.json (killed before it was written): reaped
    dead_dir = os.path.join(tmp_parent, 'runcguard-probe-%d-deadrun1' % dead)
    os.mkdir(dead_dir, 0o700)
    # a user's directory with the same kind of name: never touched
    user_dir = os.path.join(tmp_parent, 'runcguard-probe-%d-userdir1' % dead)
    os.mkdir(user_dir, 0o700)
    os.chown(user_dir, 65534, 65534)
    # root's but group/world-accessible: not one this module made
    open_dir = os.path.join(tmp_parent, 'runcguard-probe-%d-opendir1' % dead)
    os.mkdir(open_dir)
    os.chmod(open_dir, 0o755)
    # this very process's run (alive; owner.json names it): left alone
    live_dir = tempfile.mkdtemp(prefix='runcguard-probe-%d-' % os.getpid(), dir=tmp_parent)
    _probe_reap.write_owner(live_dir, RUNC)
    # an owner.json whose process is gone but the PID reused by a later process: reaped
    reused_dir = os.path.join(tmp_parent, 'runcguard-probe-%d-reused01' % os.getpid())
    os.mkdir(reused_dir, 0o700)
    with open(os.path.join(reused_dir, 'owner.json'), 'w') as handle:
        json.dump({'pid': os.getpid(), 'start': _probe_cleanup.proc_stat(os.getpid())[2] - 1, 'runtime': RUNC}, handle)
    # not our name at all
    other = os.path.join(tmp_parent, 'runcguard-probe-x-%d' % dead)
    os.mkdir(other, 0o700)

    reports = [r for r in _probe_reap.reap_dead_runs([tmp_parent]) if r['directory'] and r['directory'].startswith(tmp_parent)]
    assert sorted(r['directory'] for r in reports) == sorted([dead_dir, reused_dir])
    assert all(r['problems'] == [] and r['processes'] == [] and r['deleted'] is False for r in reports), reports
    assert sorted(os.listdir(tmp_parent)) == sorted(os.path.basename(p) for p in (user_dir, open_dir, live_dir, other))


def test_may_run_only_binaries_no_other_user_can_change(tmp_parent):
    assert _probe_reap.may_run(RUNC)
    assert not _probe_reap.may_run('runc') and not _probe_reap.may_run(None)
    assert not _probe_reap.may_run(os.path.join(tmp_parent, 'missing'))
    mine = os.path.join(tmp_parent, 'runc')
    shutil.copy(RUNC, mine)
    os.chmod(mine, 0o755)
    os.chmod(tmp_parent, 0o700)
    assert _probe_reap.may_run(mine)           # root's file in root's dir (below sticky /tmp)
    os.chown(mine, 65534, 65534)
    assert not _probe_reap.may_run(mine)       # a user's binary
    os.chown(mine, 0, 65534)
    os.chmod(mine, 0o775)
    assert not _probe_reap.may_run(mine)       # writable by a group other than root's
    os.chown(mine, 0, 0)
    os.chmod(mine, 0o755)
    os.chmod(tmp_parent, 0o777)
    assert not _probe_reap.may_run(mine)       # in a directory anyone can write (no sticky bit)
    os.chmod(tmp_parent, 0o700)


@pytest.fixture
def decoy_user():
    """A real non-root user (removed afterwards)."""
    name = 'rcg-fixreap-%d' % os.getpid()
    subprocess.run(['useradd', '--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name], check=True)
    try:
        yield name
    finally:
        subprocess.run(['userdel', name], check=False)


def test_a_users_process_with_a_probe_like_argument_is_never_reaped(tmp_parent, decoy_user):
    dead = _dead_pid()
    names = ['runcguard-probe-99999-abc',            # its "owner" PID above pid_max: always dead
             'runcguard-probe-%d-decoy1\n' % dead,   # a trailing newline (`$` accepted it)
             'runcguard-probe-%d-decoy2' % dead]
    decoys = [subprocess.Popen(['/usr/bin/python3', '-c', 'import time; time.sleep(900)', name], user=decoy_user,
                               group=decoy_user, extra_groups=[], cwd='/') for name in names]
    try:
        starts = [wait_for(lambda p=proc: _probe_cleanup.proc_stat(p.pid), 5, 'the decoy')[2] for proc in decoys]
        assert all(os.stat('/proc/%d' % proc.pid).st_uid != 0 for proc in decoys)
        ids = names + [name.strip() for name in names]
        assert [name for name in _probe_reap.find_dead_runs([tmp_parent]) if name in ids] == []
        out = finish(start_module({'runtime': ['/nonexistent/x']}, tmp_parent))
        assert all(alive(proc.pid, start) for proc, start in zip(decoys, starts)), out
        assert [r for r in out['reaped'] if r['container_id'] in ids] == []
        assert all(proc.pid not in r['processes'] for r in out['reaped'] for proc in decoys), out['reaped']
    finally:
        for proc in decoys:
            proc.kill()
            proc.wait(10)
