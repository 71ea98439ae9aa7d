# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helpers: real local users with rootless setups (names start with rcg-rootless-).

Each user is created with useradd, gets a /run/user/UID (0700, owned by the user, as logind makes
it) and is removed with its home at the end. Files are written as root and then handed to the user
(owner and mode as the user would have them).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time

PREFIX = 'rcg-rootless-'


class User(object):

    def __init__(self, suffix):
        self.name = PREFIX + suffix
        if len(self.name) > 32:
            raise ValueError('user name too long: %s' % self.name)
        try:
            pwd.getpwnam(self.name)
        except KeyError:
            subprocess.run(['useradd', '-m', '-s', '/bin/sh', self.name], check=True, capture_output=True)
        entry = pwd.getpwnam(self.name)
        self.uid, self.gid, self.home = entry.pw_uid, entry.pw_gid, entry.pw_dir
        self.runtime_dir = '/run/user/%d' % self.uid
        os.makedirs(self.runtime_dir, exist_ok=True)
        os.chown(self.runtime_dir, self.uid, self.gid)
        os.chmod(self.runtime_dir, 0o700)

    @property
    def owner(self):
        return {'name': self.name, 'uid': self.uid}

    def path(self, rel):
        return rel if rel.startswith('/') else os.path.join(self.home, rel)

    def _parents(self, path):
        """Create the missing parent directories of path, owned by the user (inside home/run dir)."""
        parent = os.path.dirname(path)
        missing = []
        while not os.path.isdir(parent):
            missing.append(parent)
            parent = os.path.dirname(parent)
        for d in reversed(missing):
            os.mkdir(d, 0o755)
            os.chown(d, self.uid, self.gid)

    def write(self, rel, data, mode=0o644):
        path = self.path(rel)
        self._parents(path)
        if isinstance(data, (dict, list)):
            data = json.dumps(data, indent=2)
        if isinstance(data, str):
            data = data.encode('utf-8')
        with open(path, 'wb') as handle:
            handle.write(data)
        os.chown(path, self.uid, self.gid)
        os.chmod(path, mode)
        return path

    def install(self, rel, source):
        path = self.path(rel)
        self._parents(path)
        shutil.copyfile(source, path)
        os.chown(path, self.uid, self.gid)
        os.chmod(path, 0o755)
        return path

    def symlink(self, rel, target):
        path = self.path(rel)
        self._parents(path)
        os.symlink(target, path)
        os.lchown(path, self.uid, self.gid)
        return path

    def run(self, argv, **kwargs):
        """argv as this user (dropped privileges), HOME and XDG_RUNTIME_DIR set."""
        env = {'PATH': '/usr/local/bin:/usr/bin:/bin', 'HOME': self.home, 'XDG_RUNTIME_DIR': self.runtime_dir,
               'LANG': 'C'}
        return subprocess.run(argv, user=self.uid, group=self.gid, extra_groups=[], env=env,
                              cwd=kwargs.pop('cwd', self.home), check=kwargs.pop('check', False), **kwargs)

    def remove(self):
        for pid in pids_of(self.uid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        shutil.rmtree(self.runtime_dir, ignore_errors=True)
        subprocess.run(['userdel', '-r', '-f', self.name], capture_output=True, check=False)


def pids_of(uid):
    out = []
    for pid in os.listdir('/proc'):
        if pid.isdigit():
            try:
                if os.stat('/proc/' + pid).st_uid == uid:
                    out.append(int(pid))
            except OSError:
                pass
    return out


def rootless_bundle(user, rel, syscalls, listener=None, args=('true',)):
    """A rootless OCI bundle in the user's home: user namespace (0 -> the user), read-only host /usr."""
    bundle = user.path(rel)
    user._parents(os.path.join(bundle, 'x'))
    rootfs = os.path.join(bundle, 'rootfs')
    if not os.path.isdir(rootfs):
        os.mkdir(rootfs)
        os.chown(rootfs, user.uid, user.gid)
    mounts = [{'destination': '/proc', 'type': 'proc', 'source': 'proc'},
              {'destination': '/dev', 'type': 'tmpfs', 'source': 'tmpfs',
               'options': ['nosuid', 'strictatime', 'mode=755', 'size=65536k']}]
    for name in ('usr', 'bin', 'sbin', 'lib', 'lib64'):
        host = '/' + name
        inside = os.path.join(rootfs, name)
        if os.path.islink(host):
            if not os.path.lexists(inside):
                os.symlink(os.readlink(host), inside)
                os.lchown(inside, user.uid, user.gid)
        elif os.path.isdir(host):
            if not os.path.isdir(inside):
                os.mkdir(inside)
                os.chown(inside, user.uid, user.gid)
            mounts.append({'destination': host, 'type': 'bind', 'source': host,
                           'options': ['rbind', 'ro', 'nosuid', 'nodev']})
    config = {
        'ociVersion': '1.0.2',
        'process': {'terminal': False, 'user': {'uid': 0, 'gid': 0}, 'args': list(args),
                    'env': ['PATH=/usr/bin:/bin'], 'cwd': '/', 'noNewPrivileges': True,
                    'capabilities': {k: [] for k in ('bounding', 'effective', 'permitted', 'inheritable',
                                                     'ambient')}},
        'root': {'path': 'rootfs', 'readonly': True},
        'hostname': 'rcg',
        'mounts': mounts,
        'linux': {
            'uidMappings': [{'containerID': 0, 'hostID': user.uid, 'size': 1}],
            'gidMappings': [{'containerID': 0, 'hostID': user.gid, 'size': 1}],
            'namespaces': [{'type': t} for t in ('pid', 'ipc', 'uts', 'mount', 'user')],
            'seccomp': {'defaultAction': 'SCMP_ACT_ALLOW',
                        'listenerPath': listener or os.path.join(user.runtime_dir, 'rcg-agent.sock'),
                        'syscalls': [{'names': list(syscalls), 'action': 'SCMP_ACT_NOTIFY'}]},
        },
    }
    user.write(os.path.join(bundle, 'config.json'), config)
    return bundle


def start_hung_container(user, runc, bundle, cid, wait=10.0):
    """`runc run` as the user in the background; returns its Popen once state.json exists and the
    init is blocked in a seccomp notification (or raises after ``wait`` seconds)."""
    env = {'PATH': '/usr/bin:/bin', 'HOME': user.home, 'XDG_RUNTIME_DIR': user.runtime_dir}
    log = tempfile.TemporaryFile()
    for _attempt in range(4):  # runc#4294: a start may fail at once with fork/exec ... permission denied
        proc = subprocess.Popen([runc, 'run', cid], cwd=bundle, user=user.uid, group=user.gid, extra_groups=[],
                                env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        state = os.path.join(user.runtime_dir, 'runc', cid, 'state.json')
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            if os.path.exists(state) and blocked_in_seccomp(user.uid):
                return proc
            time.sleep(0.1)
        if proc.poll() is None:
            break
        delete_container(user, runc, cid)
    log.seek(0)
    raise RuntimeError('the container did not hang: %s' % log.read()[-2000:])


def blocked_in_seccomp(uid):
    for pid in pids_of(uid):
        try:
            with open('/proc/%d/wchan' % pid) as handle:
                if 'seccomp' in handle.read():
                    return True
        except OSError:
            pass
    return False


def delete_container(user, runc, cid, proc=None):
    """A hung runc ignores SIGTERM: SIGKILL its process group, then `runc delete -f` as the user."""
    if proc is not None and proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.wait()
    user.run([runc, 'delete', '-f', cid], capture_output=True, timeout=30, check=False)
