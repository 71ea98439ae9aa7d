# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which users of a host have a rootless setup (runtime_facts ``users``), at most ``MAX_USERS``.

Users come from signals: ``/etc/subuid``, linger files, ``/run/user/UID``, processes of non-root
users and their environment, or the names the caller gives. The mount table tells which homes are on
a network file system (never touched).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

from ansible_collections.runcguard.seccomp.plugins.module_utils._files import describe_os_error, printable

# Documented limits (runtime_facts `users`).
MAX_USERS = 200
# File systems a scan never touches in a home: root squash answers EACCES, a dead server or an
# automount trigger stalls every stat.
NETWORK_FS = frozenset((
    'nfs', 'nfs4', 'cifs', 'smb3', 'smbfs', 'autofs', 'fuse.sshfs', 'sshfs', '9p', 'ceph', 'fuse.ceph',
    'glusterfs', 'fuse.glusterfs', 'lustre', 'gpfs', 'afs', 'davfs', 'fuse.davfs', 'fuse.s3fs', 'ncpfs',
    'beegfs', 'fuse.rclone', 'fuse.gcsfuse', 'virtiofs',
))
# Processes of non-root users that mean a rootless engine (their environ gives HOME, XDG_*, PATH).
ENGINE_PROCESSES = ('rootlesskit', 'containerd', 'dockerd', 'conmon', 'containerd-shim-runc-v2',
                    'containerd-shim', 'bypass4netnsd', 'bypass4netns', 'podman', 'runc', 'crun', 'buildkitd')
# What a process's environment may tell about its user's setup.
_ENV_KEYS = ('HOME', 'XDG_RUNTIME_DIR', 'XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'PATH', 'CONTAINERS_CONF',
             'DOCKER_BIN', 'NERDCTL_TOML')


# --- mounts -------------------------------------------------------------------------------------
def mount_table(fs):
    """[(mount point, fs type)] from /proc/self/mountinfo, longest mount point first."""
    try:
        with open(fs.real('/proc/self/mountinfo'), 'rb') as handle:
            text = handle.read(4 << 20).decode('utf-8', 'replace')
    except OSError:
        return []
    out = []
    for line in text.splitlines():
        left, sep, right = line.partition(' - ')
        fields = left.split()
        if not sep or len(fields) < 5:
            continue
        point = fields[4].replace('\\040', ' ').replace('\\011', '\t').replace('\\012', '\n').replace('\\134', '\\')
        out.append((point, right.split(' ', 1)[0]))
    out.sort(key=lambda item: -len(item[0]))
    return out


def fs_type(mounts, path):
    """File system type of the mount that holds ``path`` (lexically; nothing is stat'ed)."""
    for point, kind in mounts:
        if path == point or path.startswith(point.rstrip('/') + '/') or point == '/':
            return kind
    return None


# --- finding the users --------------------------------------------------------------------------
def _passwd(fs):
    """{uid: (name, home, gid)} and {name: uid} of local accounts."""
    by_uid, by_name = {}, {}
    try:
        import pwd
        entries = pwd.getpwall() if fs.root == '/' else []
    except (ImportError, KeyError):
        entries = []
    rows = [(e.pw_name, e.pw_uid, e.pw_gid, e.pw_dir) for e in entries]
    if fs.root != '/':
        try:
            with open(fs.real('/etc/passwd'), 'r') as handle:
                for line in handle.read(4 << 20).splitlines():
                    parts = line.split(':')
                    if len(parts) >= 7 and parts[2].isdigit() and parts[3].isdigit():
                        rows.append((parts[0], int(parts[2]), int(parts[3]), parts[5]))
        except OSError:
            pass
    for name, uid, gid, home in rows:
        by_uid.setdefault(uid, (name, home, gid))
        by_name.setdefault(name, uid)
    return by_uid, by_name


def _lookup(fs, by_uid, by_name, key):
    """uid for a name or number, also through NSS when the local table lacks it."""
    if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
        uid = int(key)
        if uid not in by_uid and fs.root == '/':
            try:
                import pwd
                e = pwd.getpwuid(uid)
                by_uid[uid] = (e.pw_name, e.pw_dir, e.pw_gid)
                by_name.setdefault(e.pw_name, uid)
            except (KeyError, ImportError):
                return None
        return uid if uid in by_uid else None
    if key not in by_name and fs.root == '/':
        try:
            import pwd
            e = pwd.getpwnam(key)
            by_uid.setdefault(e.pw_uid, (e.pw_name, e.pw_dir, e.pw_gid))
            by_name[key] = e.pw_uid
        except (KeyError, ImportError):
            return None
    return by_name.get(key)


def _proc_signals(fs):
    """{uid: [(process name, pid, environ dict)]} of non-root engine processes."""
    out = {}
    try:
        pids = [p for p in os.listdir(fs.real('/proc')) if p.isdigit()]
    except OSError:
        return out
    for pid in pids:
        base = fs.real('/proc/' + pid)
        try:
            with open(base + '/comm', 'rb') as handle:
                comm = handle.read(64).decode('utf-8', 'replace').strip()
            if comm not in ENGINE_PROCESSES and not comm.startswith('containerd-shim'):
                continue
            uid = os.stat(base).st_uid
        except OSError:
            continue
        if uid == 0:
            continue
        env = {}
        try:
            with open(base + '/environ', 'rb') as handle:
                raw = handle.read(256 * 1024)
            for item in raw.split(b'\0'):
                key, sep, value = item.partition(b'=')
                key = key.decode('utf-8', 'replace')
                if sep and key in _ENV_KEYS:
                    env[key] = value.decode('utf-8', 'surrogateescape')
        except OSError:
            pass
        out.setdefault(uid, []).append((comm, int(pid), env))
    return out


def _subuid_owners(fs, errors):
    names = []
    for path in ('/etc/subuid',):
        try:
            with open(fs.real(path), 'rb') as handle:
                text = handle.read(4 << 20).decode('utf-8', 'replace')
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                errors.append({'path': path, 'error': describe_os_error(exc)})
            continue
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith('#') and ':' in line:
                names.append(line.split(':', 1)[0])
    return names


def find_users(fs, users, errors):
    """[user dict] to scan: ``users`` is 'auto', 'none' or a list of names (or uids).

    A user dict: name, uid, gid, home, runtime_dir, signals, env (from a process), error.
    """
    if users in (None, 'none') or users == []:
        return []
    by_uid, by_name = _passwd(fs)
    signals = {}

    def signal(uid, text):
        if uid is not None and uid != 0:
            lst = signals.setdefault(uid, [])
            if text not in lst:
                lst.append(text)

    procs = _proc_signals(fs)
    wanted = None
    if users == 'auto':
        for name in _subuid_owners(fs, errors):
            signal(_lookup(fs, by_uid, by_name, name), '/etc/subuid')
        try:
            for name in sorted(os.listdir(fs.real('/var/lib/systemd/linger'))):
                signal(_lookup(fs, by_uid, by_name, name), 'linger')
        except OSError:
            pass
        try:
            for name in sorted(os.listdir(fs.real('/run/user'))):
                if name.isdigit():
                    signal(_lookup(fs, by_uid, by_name, name), '/run/user/%s' % name)
        except OSError:
            pass
        for uid, items in procs.items():
            for comm, _pid, _env in items:
                signal(_lookup(fs, by_uid, by_name, uid), 'process %s' % comm)
        order = sorted(signals)
    else:
        order, wanted = [], []
        for key in users:
            uid = _lookup(fs, by_uid, by_name, str(key))
            if uid is None:
                errors.append({'path': 'user %s' % printable(str(key)), 'error': 'no such user'})
                continue
            if uid == 0:
                errors.append({'path': 'user %s' % printable(str(key)),
                               'error': 'root is audited by the system-wide scan, not as a rootless user'})
                continue
            if uid not in order:
                order.append(uid)
                signal(uid, 'named in users')
    if len(order) > MAX_USERS:
        errors.append({'path': 'users', 'error': '%d users have rootless signals; only the first %d (by uid) are '
                                                 'scanned (the documented cap per host)' % (len(order), MAX_USERS)})
        order = order[:MAX_USERS]
    out = []
    for uid in order:
        name, home, gid = by_uid.get(uid, (str(uid), None, None))
        env = {}
        for comm, _pid, penv in procs.get(uid, ()):
            if penv.get('HOME') and not env:
                env = penv
        out.append({'name': name, 'uid': uid, 'gid': gid, 'home': home,
                    'runtime_dir': '/run/user/%d' % uid, 'signals': signals.get(uid, []),
                    'env': env, 'processes': sorted(set(c for c, _p, _e in procs.get(uid, ())))})
    return out
