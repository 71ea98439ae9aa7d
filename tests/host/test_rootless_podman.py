# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real rootless podman as a real user (rcg-rootless-podman), the setup of opencontainers/runc#4328:

the user's ``containers.conf`` names ``~/.local/bin/runc`` and sets a ``seccomp_profile`` of the
user's own with bypass4netns' NOTIFY list (fcntl included). ``podman run`` runs as the user (its
own user namespace from /etc/subuid, vfs storage, cgroupfs on this machine's cgroup v1, no network),
with ``--rootfs`` (no image pull: the machine has no registry) of the host's read-only /usr.

* runc 1.2.0-rc.2 there: ``runc init`` really blocks in a seccomp notification (the hang); the
  audit reports a critical notify-fcntl-hang naming the user, for the profile containers.conf names
  and for the hung container (found through the user's runc state directory);
* runc 1.3.6 there, with a seccomp agent listening where the profile says: the container runs and
  exits 0, the agent got the notify fd and answered notifications; the audit reads the exited
  container's spec from the user's vfs storage (``vfs-containers``) and reports no hang.

Cleanup: a hung runc ignores SIGTERM, so its processes are SIGKILLed by PID, then ``runc delete -f``
and ``podman rm -f`` run as the user. Skips without podman, newuidmap or the user's subuid range.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import signal
import subprocess
import time

import pytest

import realruntimes
from rootless_users import User, blocked_in_seccomp, pids_of

from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.agent import Agent
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import discovery as _discovery
from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _hazards

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='creates a user and runs rootless podman as it: root only')

B4N_NOTIFY = ['bind', 'close', 'connect', 'setsockopt', 'fcntl', '_exit', 'exit_group', 'getpeername']
PROFILE = '.config/containers/bypass4netns.json'
NAME = 'rcg-rootless-pod'


def podman_env(user):
    return {'PATH': '/usr/local/bin:/usr/bin:/bin', 'HOME': user.home, 'XDG_RUNTIME_DIR': user.runtime_dir,
            'LANG': 'C'}


def podman_argv(user, name, *command):
    return ['podman', 'run', '--name', name, '--network', 'none', '-v', '/usr:/usr:ro',
            '--rootfs', user.path('rootfs')] + list(command)


@pytest.fixture(scope='module')
def user():
    for tool in ('podman', 'newuidmap', 'newgidmap', 'conmon'):
        if not shutil.which(tool):
            pytest.skip('%s is not installed (scripts/setup.sh installs podman and uidmap)' % tool)
    who = User('podman')
    try:
        with open('/etc/subuid') as handle:
            if not any(line.split(':')[0] == who.name for line in handle):
                subprocess.run(['usermod', '--add-subuids', '2400000-2465535', '--add-subgids', '2400000-2465535',
                                who.name], check=True, capture_output=True)
        # a root file system of the host's /usr (merged-/usr links), mounted read-only by podman
        for d in ('rootfs/usr', 'rootfs/etc', 'rootfs/proc', 'rootfs/dev', 'rootfs/sys', 'rootfs/tmp'):
            who.write(d + '/.keep', '')
        for link in ('bin', 'lib', 'lib64', 'sbin'):
            who.symlink('rootfs/' + link, 'usr/' + link)
        listener = os.path.join(who.runtime_dir, 'bypass4netns', 'rcg.sock')
        who.write(PROFILE, {'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': listener,
                            'syscalls': [{'names': B4N_NOTIFY, 'action': 'SCMP_ACT_NOTIFY'}]})
        who.write('.config/containers/containers.conf',
                  '[engine]\nruntime = "runc"\n\n[engine.runtimes]\nrunc = ["%s"]\n\n[containers]\n'
                  'seccomp_profile = "%s"\n' % (who.path('.local/bin/runc'), who.path(PROFILE)))
        os.makedirs(os.path.dirname(listener), exist_ok=True)
        os.chown(os.path.dirname(listener), who.uid, who.gid)
        who.listener = listener
        yield who
    finally:
        who.remove()


def kill_runtime(user, runc):
    """SIGKILL every process of the user running that runc (a hung runc ignores SIGTERM), by PID."""
    for pid in pids_of(user.uid):
        try:
            if os.readlink('/proc/%d/exe' % pid) == runc:
                os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def cleanup(user, runc, name, proc=None):
    if proc is not None and proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.wait()
    kill_runtime(user, runc)
    state = os.path.join(user.runtime_dir, 'runc')
    for cid in os.listdir(state) if os.path.isdir(state) else ():
        user.run([runc, 'delete', '-f', cid], capture_output=True, timeout=30)
    user.run(['podman', 'rm', '-f', '--time', '0', name], capture_output=True, timeout=120)


def audit(user):
    facts = _discovery.gather(users=[user.name])
    return facts, [f for f in _hazards.evaluate(facts) if f['id'] == 'notify-fcntl-hang'
                   and (f.get('owner') or {}).get('name') == user.name]


def test_rootless_podman_with_rc2_hangs_and_the_audit_names_the_user(user):
    runc = user.install('.local/bin/runc', realruntimes.runc_build('runc-v1.2.0-rc.2'))
    name = NAME + '-rc2'
    proc = subprocess.Popen(podman_argv(user, name, '/usr/bin/echo', 'never printed'), user=user.uid, group=user.gid,
                            extra_groups=[], env=podman_env(user), cwd=user.home, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None and not blocked_in_seccomp(user.uid):
            time.sleep(0.2)
        if not blocked_in_seccomp(user.uid):
            proc.kill()
            pytest.fail('rootless podman with runc rc.2 did not hang: %s' % proc.communicate()[0][-3000:])
        # podman waits for `runc create`, whose init is stuck in its own fcntl under NOTIFY
        assert proc.poll() is None
        hung = [pid for pid in pids_of(user.uid) if os.path.exists('/proc/%d/exe' % pid)
                and os.readlink('/proc/%d/exe' % pid) == runc]
        assert hung, 'the blocked process is not the user\'s runc'
        facts, found = audit(user)
        assert found and set(f['severity'] for f in found) == {'critical'}
        assert set(f['runtime']['path'] for f in found) == {runc}
        profiles = set(f['profile'] for f in found)
        assert user.path(PROFILE) in profiles  # containers.conf seccomp_profile
        # the hung container itself: its bundle (podman's vfs storage), which the user's runc state
        # /run/user/UID/runc/<id>/state.json names too
        state_dir = os.path.join(user.runtime_dir, 'runc')
        cid = os.listdir(state_dir)[0]
        with open(os.path.join(state_dir, cid, 'state.json')) as handle:
            labels = json.load(handle)['config']['labels']
        bundle = next(label.split('=', 1)[1] for label in labels if label.startswith('bundle='))
        assert os.path.join(bundle, 'config.json') in profiles and '/vfs-containers/' in bundle
        entry = next(p for p in facts['profiles'] if p['path'] == os.path.join(bundle, 'config.json'))
        assert entry['bundle']['id'] == cid and entry['owner']['name'] == user.name
        runtime = next(r for r in facts['runtimes'] if r['path'] == runc)
        assert runtime['version'] == '1.2.0-rc.2' and runtime['owner']['name'] == user.name
        assert 'podman' in runtime['used_by']
    finally:
        cleanup(user, runc, name, proc)
    assert not [pid for pid in pids_of(user.uid) if os.path.exists('/proc/%d/exe' % pid)
                and os.readlink('/proc/%d/exe' % pid) == runc]


def test_rootless_podman_with_1_3_6_runs_under_the_agent_and_no_hang_is_reported(user):
    runc = user.install('.local/bin/runc', realruntimes.runc_build('runc-v1.3.6'))
    name = NAME + '-ok'
    agent = Agent(user.listener).start()
    os.chown(user.listener, user.uid, user.gid)  # the user's runc connects to it
    try:
        proc = user.run(podman_argv(user, name, '/usr/bin/sh', '-c', 'echo rcg-ok'), capture_output=True, text=True,
                        timeout=120)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert proc.stdout.strip() == 'rcg-ok'
        assert agent.connected and agent.notifications > 0 and agent.errors == []
        # the exited container's spec stays in the user's vfs storage: read, and no hang for 1.3.6
        facts, found = audit(user)
        assert found == []
        spec = [p for p in facts['profiles'] if '/vfs-containers/' in p['path'] and p.get('owner')]
        assert spec and spec[0]['owner']['name'] == user.name and 'fcntl' in spec[0]['notify_syscalls']
        runtime = next(r for r in facts['runtimes'] if r['path'] == runc)
        assert runtime['version'] == '1.3.6' and 'podman' in runtime['used_by']
    finally:
        agent.stop()
        cleanup(user, runc, name)
