# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A rootless probe must not let its user steer root (issue 26, red team), with a real attacker.

The probe of a user's runtime (``audit_probe``, ``notify_probe`` with ``user``/``user_runtimes``) runs
that runtime as the user in a canary directory root made. A real non-root user (``rcg-rootless-fixprobe-*``):

* plants links in the canary directory from an inotify watcher (``stdout``, ``stderr``,
  ``runtime.pid``, ``container.pid``) and renames a link over ``agent.sock`` right after the bind:
  root must never create, truncate, overwrite or chown a file outside through them;
* is the runtime: it swaps ``stderr`` for a link to a root-only file (whose content must not reach
  the result) or for a FIFO (the probe must still end, within its time bound);
* starts a ``setsid`` grandchild from ``--version``: nothing of it may survive the call;
* leaves files and links in a SIGKILLed run's directory: the next run reaps the directory, and
  touches nothing a link of the user's points to.

Each probe runs in a child process bounded by a timeout (a probe that blocks on a FIFO would hang
the test run otherwise); hung runtimes are killed with SIGKILL and ``runc delete -f`` as the user.
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
import time

import pytest

import realruntimes
from rootless_users import User, pids_of

from ansible_collections.runcguard.seccomp.plugins.module_utils._probe import probe as _probe
from ansible_collections.runcguard.seccomp.plugins.module_utils._probe import reap as _probe_reap

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='needs root: creates users and probes as root')

SYSTEM_PYTHON = '/usr/bin/python3'
SECRET = b'rcg-fixprobe root-only secret 7f3a9c\n'

# The attacker: watches the parent with inotify; in every new canary directory plants links (as soon as
# it may write there) and renames a link over agent.sock the moment it is bound.
ATTACKER = r'''
import ctypes, os, struct, sys, time
parent, out_t, err_t, pid_t, cpid_t, sock_t = sys.argv[1:7]
libc = ctypes.CDLL(None, use_errno=True)
IN_CREATE, IN_ATTRIB = 0x100, 0x4
fd = libc.inotify_init1(0)
libc.inotify_add_watch(fd, parent.encode(), IN_CREATE | IN_ATTRIB)
watched, tried = {}, set()
print('ready', flush=True)

def plant(d):
    end = time.time() + 20
    while time.time() < end and os.path.lexists(d):
        try:
            os.symlink(out_t, os.path.join(d, 'stdout'))
        except FileExistsError:
            pass
        except OSError:
            continue  # not ours (yet)
        for name, target in (('stderr', err_t), ('runtime.pid', pid_t), ('run/container.pid', cpid_t),
                             ('container.pid', cpid_t)):
            try:
                os.symlink(target, os.path.join(d, name))
            except OSError:
                pass
        wd = libc.inotify_add_watch(fd, d.encode(), IN_CREATE)
        watched[wd] = d
        if os.path.lexists(os.path.join(d, 'agent.sock')):
            swap(d)
        return

def swap(d):
    try:
        os.symlink(sock_t, os.path.join(d, '.s'))
        os.rename(os.path.join(d, '.s'), os.path.join(d, 'agent.sock'))
    except OSError:
        pass

while True:
    data = os.read(fd, 65536)
    i = 0
    while i < len(data):
        wd, mask, _cookie, size = struct.unpack_from('iIII', data, i)
        name = data[i + 16:i + 16 + size].rstrip(b'\0').decode()
        i += 16 + size
        if wd in watched:
            if name == 'agent.sock':
                swap(watched[wd])
        elif name.startswith('runcguard-probe-') and name not in tried:
            tried.add(name)
            plant(os.path.join(parent, name))
'''

# The user's "runtime": --version says runc; a run swaps the canary's stderr (in its working
# directory) for a link to a root-only file or a FIFO, then fails.
RUNTIME = '''#!/bin/sh
case "$1" in --version) echo "runc version 1.1.13"; echo "commit: v1.1.13-0-g58aa9203c"; echo "spec: 1.0.2-dev"
  %s
  exit 0;; esac
%s
echo "runtime failed on purpose" >&2
exit 1
'''

# One probe run as root in a child process: prints the results as JSON.
PROBE = r'''
import json, sys
from ansible_collections.runcguard.seccomp.plugins.module_utils._probe import probe
who = probe.probe_user(sys.argv[1])
results, skipped = probe.run_all([sys.argv[2]], [s.split(',') for s in sys.argv[4].split(';')], [True],
                                 float(sys.argv[5]), tmp_parent=sys.argv[3], user=who)
print(json.dumps({'results': results, 'skipped': skipped}))
'''


class ProbeUser(User):
    """A real non-root user (``rcg-rootless-fixprobe-*``) whose own runc the probe runs."""

    def __init__(self, suffix):
        super(ProbeUser, self).__init__('fixprobe-' + suffix)

    def install_runc(self, data, mode=0o755):
        """~/.local/bin/runc, the user's, holding ``data`` (bytes)."""
        return self.write('.local/bin/runc', data, mode)

    def start(self, argv, **kwargs):
        return subprocess.Popen(argv, user=self.uid, group=self.gid, extra_groups=[], cwd='/',
                                env={'PATH': '/usr/bin:/bin', 'HOME': self.home, 'LANG': 'C'}, **kwargs)

    def processes(self):
        return pids_of(self.uid)


@pytest.fixture
def user():
    if not os.path.exists(SYSTEM_PYTHON) or not shutil.which('useradd'):
        pytest.skip('needs %s and useradd' % SYSTEM_PYTHON)
    who = ProbeUser(str(os.getpid() % 100000))
    yield who
    who.remove()


@pytest.fixture
def where():
    """(sticky world-writable parent like /tmp for the canaries, root-only directory for targets)."""
    base = '/tmp/rcg-fixprobe-%d' % os.getpid()
    parent, secret = os.path.join(base, 'tmp'), os.path.join(base, 'root-only')
    os.makedirs(parent)
    os.chmod(base, 0o755)
    os.chmod(parent, 0o1777)
    os.mkdir(secret, 0o700)
    yield parent, secret
    for d in glob.glob(os.path.join(parent, 'runcguard-probe-*')):  # a left canary: its container first
        for runc in glob.glob(os.path.join(d, 'state', '*')):
            subprocess.run(['runc', '--root', os.path.dirname(runc), 'delete', '-f', os.path.basename(runc)],
                           capture_output=True, check=False)
    subprocess.run(['chattr', '-R', '-i', base], capture_output=True, check=False)
    shutil.rmtree(base, ignore_errors=True)


def run_probe(who, runtime, parent, syscalls=('fcntl',), timeout=4, limit=90):
    """The probe as root in a child process; (results or None when it did not end within ``limit``, stderr)."""
    proc = subprocess.Popen([sys.executable, '-c', PROBE, who.name, runtime, parent, ';'.join(syscalls),
                             str(timeout)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # a probe blocked on a FIFO ignores nothing else
        out, err = proc.communicate()
        return None, err.decode('utf-8', 'replace')
    assert proc.returncode == 0, err.decode('utf-8', 'replace')[-3000:]
    return json.loads(out.decode('utf-8').splitlines()[-1]), err.decode('utf-8', 'replace')


def secret_file(secret_dir, name):
    path = os.path.join(secret_dir, name)
    with open(path, 'wb') as handle:
        handle.write(SECRET)
    os.chmod(path, 0o600)
    return path


def test_links_planted_in_the_canary_directory_never_steer_roots_writes(user, where):
    """inotify-driven planting while three real rootless canaries run: root creates, truncates,
    overwrites and chowns nothing outside the canary, and the probes still work."""
    parent, secret = where
    runtime = user.install_runc(open(realruntimes.runc_build('runc-v1.3.6'), 'rb').read())
    created, truncated, overwritten, chowned, read = (
        os.path.join(secret, 'created'), secret_file(secret, 'truncated'), secret_file(secret, 'overwritten'),
        secret_file(secret, 'chowned'), secret_file(secret, 'read'))
    attacker = user.start([SYSTEM_PYTHON, '-c', ATTACKER, parent, created, truncated, overwritten, read, chowned],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert attacker.stdout.readline() == b'ready\n', attacker.stderr.read()
        out, err = run_probe(user, runtime, parent, syscalls=('fcntl', 'connect'))
    finally:
        attacker.kill()
        attacker.communicate()
    assert out is not None, 'the probe did not end: %s' % err[-2000:]
    harm = []
    if os.path.lexists(created):
        harm.append('root created %s (owner uid %d)' % (created, os.lstat(created).st_uid))
    for path in (truncated, overwritten, read):
        with open(path, 'rb') as handle:
            if handle.read() != SECRET:
                harm.append('root changed %s' % path)
    if os.stat(chowned).st_uid != 0:
        harm.append('root chowned %s to the user' % chowned)
    leaked = [r for r in out['results'] if SECRET.decode().strip() in r['message']]
    assert harm == [] and leaked == [], (harm, leaked)
    assert [r['outcome'] for r in out['results']] == ['ok', 'ok'], [r['message'] for r in out['results']]
    assert sorted(os.listdir(parent)) == [], 'canary directories left: %s' % os.listdir(parent)


def test_a_runtime_swapping_stderr_for_a_link_reveals_nothing(user, where):
    """The runtime (the user's) replaces the stderr file in its working directory by a link to a
    root-only file: its content must not land in the result."""
    parent, secret = where
    target = secret_file(secret, 'stderr-secret')
    runtime = user.install_runc((RUNTIME % ('', 'rm -f stderr 2>/dev/null; ln -s %s stderr 2>/dev/null' % target)).encode())
    out, err = run_probe(user, runtime, parent)
    assert out is not None, err[-2000:]
    [result] = out['results']
    assert result['outcome'] == 'error', result
    assert SECRET.decode().strip() not in json.dumps(out), result['message']
    assert 'runtime failed on purpose' in result['message'], result['message']
    assert os.listdir(parent) == []


def test_a_runtime_swapping_stderr_for_a_fifo_cannot_block_the_probe(user, where):
    """The runtime replaces stderr by a FIFO: the probe ends (on main it blocked for ever in open())."""
    parent, _secret = where
    runtime = user.install_runc((RUNTIME % ('', 'rm -f stderr 2>/dev/null; mkfifo stderr 2>/dev/null')).encode())
    started = time.monotonic()
    out, err = run_probe(user, runtime, parent, limit=60)
    assert out is not None, 'the probe blocked (killed after 60 s): %s' % err[-2000:]
    assert time.monotonic() - started < 30
    assert out['results'][0]['outcome'] == 'error', out
    assert os.listdir(parent) == []


def test_a_setsid_grandchild_of_a_users_version_call_does_not_survive(user):
    """``--version`` starts ``setsid sh -c "sleep 600" &``: the probe's identification of the runtime
    (run as the user) leaves no process of it behind."""
    runtime = user.install_runc((RUNTIME % ('setsid sh -c "sleep 613; true" >/dev/null 2>&1 & sleep 0.3', '')).encode())
    info, refusal = _probe.runtime_identity(runtime, user=_probe.probe_user(user.name))
    assert refusal is None and info['version'] == '1.1.13', (info, refusal)
    time.sleep(0.5)
    left = []
    for pid in user.processes():
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as handle:
                if b'613' in handle.read() and _live(pid):
                    left.append(pid)
        except OSError:
            pass
    assert left == [], 'processes of the --version call survived it: %s' % left


def test_a_killed_rootless_runs_directory_is_reaped_with_what_the_user_left(user, where):
    """A rootless canary (real runc 1.2.0-rc.2, hung) is SIGKILLed with its probe; the user leaves a
    file and a link to a root-only file in what was handed to them. The next run reaps the directory
    (root-owned top), its processes and container; the link's target is untouched."""
    parent, secret = where
    target = secret_file(secret, 'kept')
    runtime = user.install_runc(open(realruntimes.runc_build('runc-v1.2.0-rc.2'), 'rb').read())
    proc = subprocess.Popen([sys.executable, '-c', PROBE, user.name, runtime, parent, 'fcntl', '60'],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not glob.glob(os.path.join(parent, '*', 'runtime.pid')):
            time.sleep(0.1)
        [canary] = glob.glob(os.path.join(parent, 'runcguard-probe-*'))
        time.sleep(0.2)  # the runtime starts (it hangs; the probe would see that within 0.5 s)
    finally:
        proc.kill()
        proc.wait()
    planted = user.start([SYSTEM_PYTHON, '-c', 'import os, sys; d = sys.argv[1]\n'
                          'for sub in ("bundle", "state", "run"):\n'
                          '    p = os.path.join(d, sub)\n'
                          '    if os.path.isdir(p) and os.access(p, os.W_OK):\n'
                          '        os.symlink(sys.argv[2], os.path.join(p, "link"))\n'
                          '        open(os.path.join(p, "junk"), "w").write("x")\n'
                          '        os.mkfifo(os.path.join(p, "fifo"))\n'
                          '', canary, target],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert planted.wait(10) == 0, planted.stderr.read()
    name = os.path.basename(canary)
    reports = [r for r in _probe_reap.reap_dead_runs([parent]) if r['container_id'] == name]
    assert len(reports) == 1, 'the dead rootless run was not reaped'
    assert not os.path.lexists(canary), reports
    assert reports[0]['problems'] == [], reports
    with open(target, 'rb') as handle:
        assert handle.read() == SECRET
    assert os.stat(target).st_uid == 0
    left = [pid for pid in user.processes() if _live(pid) and b'runc' in open('/proc/%d/comm' % pid, 'rb').read()]
    assert left == [], (left, reports)


def _live(pid):
    """Not a zombie (this machine's PID 1 may be slow to reap what it adopted)."""
    try:
        with open('/proc/%d/stat' % pid) as handle:
            return handle.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (OSError, IndexError):
        return False
