# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rootless setups: which users have one, and what their engines would run (runtime_facts ``users``).

Pure stdlib, Python 3.9+. Bounded by design:

- users come from signals (``/etc/subuid``, linger files, ``/run/user/UID``, processes of non-root
  users and their environment, user units), at most ``MAX_USERS`` of them per host;
- per user only a fixed list of candidate paths is looked at (``~/.local/bin/runc``,
  ``~/.config/containers/containers.conf``, ...), never a walk of a home;
- a home on a network file system or autofs is not touched (an error entry says so), and each
  user's scan runs against a time bound (``USER_TIMEOUT``): a stalled file system costs that user's
  entry, not the host's facts;
- every file a user controls is opened without following a link out of what that user owns: the
  file opened must be owned by that user, or be a root-owned file anyone may read (what the user's
  own engine could read). Anything else is an error entry that names the user's path only, never
  the target;
- a user's binary is never executed by root: its version comes from its Go build info, or from
  ``--version`` run as its owner (dropped privileges, time bound).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import glob
import json
import os
import queue
import re
import stat
import threading
import time

from ansible_collections.runcguard.seccomp.plugins.module_utils import _command
from ansible_collections.runcguard.seccomp.plugins.module_utils._files import (
    FileProblem, describe_os_error, printable, read_fd,
)
from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile import check_read
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import bypass4netns as b4n
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.engines import RUNTIME_DIRS
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.toml import TomlError, loads as toml_loads
from ansible_collections.runcguard.seccomp.plugins.module_utils._version import version_from_build_info

# Documented limits (runtime_facts `users`).
MAX_USERS = 200
USER_TIMEOUT = 5.0
CONFIG_LIMIT = 1 << 20
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
# Binaries looked for in a user's own bin directories.
USER_BIN_DIRS = ('.local/bin', 'bin')
RUNTIME_NAMES = ('runc', 'crun')
AGENT_NAMES = ('bypass4netns', 'bypass4netnsd')
# User units that set the PATH of an engine (and so which runc it runs).
UNITS = ('containerd.service', 'docker.service', 'bypass4netnsd.service', 'buildkit.service', 'podman.service')
# The rootless install script's default PATH for dockerd (${DOCKER_BIN:-~/bin} first).
_SYSTEM_PATH = ('/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin')
_ENV_KEYS = ('HOME', 'XDG_RUNTIME_DIR', 'XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'PATH', 'CONTAINERS_CONF',
             'DOCKER_BIN', 'NERDCTL_TOML')


class OutOfBounds(FileProblem):
    """A user's path leads to a file that user does not own (a link, or a path to another's file)."""


def owner_of(user):
    return {'name': user['name'], 'uid': user['uid']}


# --- reading a user's files ---------------------------------------------------------------------
def _leaves(user):
    return ('not read: it leads to a file that user %s does not own (a link or a path out of what the user owns); '
            'its target is not shown' % user['name'])


def open_owned(fs, path, user):
    """An fd of regular file ``path`` that ``user`` owns (or a root-owned world-readable file).

    The checks are made on the file actually opened (fstat of the fd), so a link swapped in between
    cannot make root read something else. Raises FileProblem (OutOfBounds for a file of someone
    else: the message never shows the target).
    """
    real = fs.real(path)
    try:
        resolved = os.path.realpath(real)
        fd = os.open(resolved, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, 'O_NONBLOCK', 0) | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # swapped for a link after realpath
            raise OutOfBounds(_leaves(user), path)
        raise FileProblem(describe_os_error(exc), path)
    try:
        st = os.fstat(fd)
        if not allowed(st, user):
            raise OutOfBounds(_leaves(user), path)
        if not stat.S_ISREG(st.st_mode):
            raise FileProblem('not a regular file', path)
        return fd
    except BaseException:
        os.close(fd)
        raise


def allowed(st, user):
    """May root read (or a scan report on) this file on behalf of ``user``?"""
    if st.st_uid == user['uid']:
        return True
    # a system file the user's own engine could read as well; never another user's file
    return st.st_uid == 0 and bool(st.st_mode & stat.S_IROTH) and not st.st_mode & stat.S_IWOTH


def read_owned(fs, path, user, max_size):
    """Bytes of a file ``user`` controls, bounded; FileProblem/OutOfBounds as open_owned."""
    fd = open_owned(fs, path, user)
    try:
        size = os.fstat(fd).st_size
        if size > max_size:
            raise FileProblem('too large: %d bytes, limit is %d' % (size, max_size), path)
        return read_fd(fd, path, max_size, limit=None)
    except OSError as exc:
        raise FileProblem(describe_os_error(exc), path)
    finally:
        os.close(fd)


def lexists(fs, path):
    try:
        os.lstat(fs.real(path))
        return True
    except OSError:
        return False


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


# --- per user -----------------------------------------------------------------------------------
def _unit_env(text):
    """Environment= assignments of a systemd unit (PATH, ...), later ones win."""
    env = {}
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith('Environment='):
            continue
        value = line[len('Environment='):]
        for item in re.findall(r'"[^"]*"|\S+', value):
            item = item.strip('"')
            key, sep, val = item.partition('=')
            if sep:
                env[key] = val
    return env


def _expand(value, user):
    """$HOME, %h, $XDG_RUNTIME_DIR, %t, $PATH in a unit value or config path (nothing else)."""
    home = user['home'] or ''
    value = value.replace('%h', home).replace('%t', user['runtime_dir'])
    value = re.sub(r'\$\{?HOME\}?', home, value)
    value = re.sub(r'\$\{?XDG_RUNTIME_DIR\}?', user['runtime_dir'], value)
    value = re.sub(r'\$\{?PATH\}?', ':'.join(_SYSTEM_PATH), value)
    if value.startswith('~/'):
        value = home + value[1:]
    return value


class UserScan(object):
    """What one user's rootless setup would run; filled by scan_user, read by _discovery.gather."""

    def __init__(self, user):
        self.user = user
        self.owner = owner_of(user)
        self.errors = []
        # [(host path, reason, engines set)] binaries a user's engine may run (runc, crun)
        self.runtimes = []
        # [(host path, engine, setting, bundle or None, must_exist)] profiles and bundles
        self.profiles = []
        # [(key, path, data bytes, engine, setting)] profiles generated at run time (nerdctl)
        self.generated = []
        self.engines = {}
        self.agents = []
        self.nerdctl = []
        self.units = {}
        self.fd_reads = 0

    def error(self, path, message):
        self.errors.append({'path': path, 'error': message, 'owner': self.owner})
        return message

    def facts(self):
        u = self.user
        return {'name': u['name'], 'uid': u['uid'], 'home': u['home'], 'runtime_dir': u['runtime_dir'],
                'signals': list(u['signals']), 'processes': list(u.get('processes') or ()),
                'engines': self.engines, 'agents': self.agents, 'nerdctl': self.nerdctl,
                'units': sorted(self.units), 'error': u.get('error')}


def _load_config(fs, scan, path, kind, engine):
    user = scan.user
    try:
        data = read_owned(fs, path, user, CONFIG_LIMIT)
    except FileProblem as exc:
        engine['error'] = _join(engine.get('error'), scan.error(path, exc.message))
        return None
    engine['config'].append(path)
    try:
        text = data.decode('utf-8')
        doc = json.loads(text) if kind == 'json' else toml_loads(text)
    except (ValueError, TomlError, UnicodeDecodeError) as exc:
        engine['error'] = _join(engine.get('error'), scan.error(path, 'invalid %s: %s' % (kind.upper(), exc)))
        return None
    if not isinstance(doc, dict):
        engine['error'] = _join(engine.get('error'), scan.error(path, 'top level is not an object'))
        return None
    return doc


def _join(old, new):
    return new if not old else '%s; %s' % (old, new)


def _new_engine():
    return {'config': [], 'default_runtime': None, 'runtimes': {}, 'seccomp_profile': None, 'error': None}


def _which(fs, name, dirs):
    for d in dirs:
        cand = os.path.join(d, name)
        try:
            st = os.stat(fs.real(cand))
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_mode & 0o111:
            return cand
    return None


def _user_dirs(user):
    home = user['home'] or ''
    return tuple(os.path.join(home, d) for d in USER_BIN_DIRS) if home else ()


def _scan_units(fs, scan):
    user = scan.user
    base = os.path.join(user['home'], '.config/systemd/user')
    for unit in UNITS:
        path = os.path.join(base, unit)
        if not lexists(fs, path):
            continue
        try:
            text = read_owned(fs, path, user, CONFIG_LIMIT).decode('utf-8', 'replace')
        except FileProblem as exc:
            scan.error(path, exc.message)
            continue
        env = _unit_env(text)
        scan.units[unit] = {'path': path, 'env': env}


def _engine_path(scan, engine):
    """The PATH the user's engine runs with: its unit's Environment=PATH, else a running process's,
    else the defaults of the rootless install scripts."""
    user = scan.user
    unit = scan.units.get('%s.service' % engine)
    if unit and unit['env'].get('PATH'):
        return tuple(p for p in _expand(unit['env']['PATH'], user).split(':') if p.startswith('/')), \
            '%s PATH' % unit['path']
    if user.get('env', {}).get('PATH') and engine in user.get('processes', ()):
        return tuple(p for p in user['env']['PATH'].split(':') if p.startswith('/')), 'PATH of the running %s' % engine
    if engine == 'docker':  # dockerd-rootless-setuptool.sh: BIN=${DOCKER_BIN:-$HOME/bin}, first on PATH
        return (os.path.join(user['home'], 'bin'),) + _SYSTEM_PATH, 'rootless install default PATH'
    return _SYSTEM_PATH, 'default PATH'


def _add_runtime(scan, path, reason, engine=None):
    scan.runtimes.append((path, reason, set([engine]) if engine else set()))


def _scan_podman(fs, scan, system_podman):
    user = scan.user
    home = user['home']
    eng = _new_engine()
    conf_dir = os.path.join(home, '.config/containers')
    files = [os.path.join(conf_dir, 'containers.conf')]
    dropin = os.path.join(conf_dir, 'containers.conf.d')
    try:
        names = sorted(n for n in os.listdir(fs.real(dropin)) if n.endswith('.conf'))[:64]
        files += [os.path.join(dropin, n) for n in names]
    except OSError:
        pass
    env_conf = user.get('env', {}).get('CONTAINERS_CONF')
    if env_conf and env_conf.startswith('/'):
        files.append(env_conf)
    runtime = None
    table = {}
    profile = None
    for path in files:
        if not lexists(fs, path):
            continue
        doc = _load_config(fs, scan, path, 'toml', eng)
        if doc is None:
            continue
        engine_t = doc.get('engine') if isinstance(doc.get('engine'), dict) else {}
        if isinstance(engine_t.get('runtime'), str):
            runtime = engine_t['runtime']
        rts = engine_t.get('runtimes') if isinstance(engine_t.get('runtimes'), dict) else {}
        for rname, paths in rts.items():
            if isinstance(paths, list) and all(isinstance(p, str) for p in paths):
                table[rname] = paths
        cont = doc.get('containers') if isinstance(doc.get('containers'), dict) else {}
        if isinstance(cont.get('seccomp_profile'), str):
            profile = cont['seccomp_profile']
    present = bool(eng['config']) or 'podman' in user.get('processes', ()) or 'conmon' in user.get('processes', ())
    storage = _podman_storage(fs, scan)
    if storage['specs']:
        present = True
    if not present:
        return
    eng['default_runtime'] = runtime or (system_podman or {}).get('default_runtime') or 'crun'
    eng['runtimes'] = table
    rt = eng['default_runtime']
    if rt.startswith('/') or rt.startswith('~'):
        cands = [_expand(rt, user)]
    else:
        cands = [_expand(p, user) for p in table.get(rt) or []] or \
            [os.path.join(d, rt) for d in RUNTIME_DIRS]  # podman's built-in table: the same directories
    found = next((c for c in cands if lexists(fs, c)), None)
    if found:
        _add_runtime(scan, found, 'podman containers.conf engine.runtime (%s)' % rt, 'podman')
    elif runtime:
        scan.error(rt, 'named by podman containers.conf engine.runtime, not found')
    eng['seccomp_profile'] = profile
    if profile:
        scan.profiles.append((_expand(profile, user), 'podman', 'containers.conf seccomp_profile', None, True))
    eng['storage'] = storage['graphroot']
    scan.engines['podman'] = eng
    for path in storage['specs']:
        cid = path.split('/')[-3]
        scan.profiles.append((path, 'bundle', 'podman bundle config.json',
                              {'id': cid, 'namespace': None, 'engine': 'podman'}, False))


def _podman_storage(fs, scan):
    user = scan.user
    home = user['home']
    graphroot = os.path.join(home, '.local/share/containers/storage')
    path = os.path.join(home, '.config/containers/storage.conf')
    sys_conf = '/etc/containers/storage.conf'
    transient = False
    for conf, owned in ((sys_conf, False), (path, True)):
        if not lexists(fs, conf):
            continue
        try:
            if owned:
                text = read_owned(fs, conf, user, CONFIG_LIMIT).decode('utf-8', 'replace')
            else:
                with open(fs.real(conf), 'rb') as handle:
                    text = handle.read(CONFIG_LIMIT).decode('utf-8', 'replace')
            doc = toml_loads(text)
        except (FileProblem, TomlError, ValueError, OSError) as exc:
            scan.error(conf, getattr(exc, 'message', None) or str(exc))
            continue
        st = doc.get('storage') if isinstance(doc.get('storage'), dict) else {}
        if owned and isinstance(st.get('graphroot'), str):
            graphroot = _expand(st['graphroot'], user)
        elif not owned and isinstance(st.get('rootless_storage_path'), str):
            graphroot = _expand(st['rootless_storage_path'].replace('$UID', str(user['uid'])).replace(
                '$USER', user['name']), user)
        if isinstance(st.get('transient_store'), bool):
            transient = st['transient_store']
    specs = _glob_owned(fs, scan, os.path.join(graphroot, 'overlay-containers/*/userdata/config.json'))
    transient_specs = os.path.join(user['runtime_dir'], 'containers/overlay-containers/*/userdata/config.json')
    specs += _glob_owned(fs, scan, transient_specs)
    return {'graphroot': graphroot, 'specs': specs, 'transient': transient}


MAX_PER_GLOB = 512


def _glob_owned(fs, scan, pattern):
    """A fixed-depth glob (one '*' level) of a user's directory, bounded in count."""
    hits = sorted(fs.host(p) for p in glob.glob(fs.real(pattern)))
    if len(hits) > MAX_PER_GLOB:
        scan.error(pattern, '%d matches; only the first %d are read' % (len(hits), MAX_PER_GLOB))
        hits = hits[:MAX_PER_GLOB]
    return hits


def _scan_docker(fs, scan):
    user = scan.user
    eng = _new_engine()
    config = os.path.join(user['home'], '.config/docker/daemon.json')
    doc = _load_config(fs, scan, config, 'json', eng) if lexists(fs, config) else None
    bundles = _glob_owned(fs, scan, os.path.join(
        user['runtime_dir'], 'docker/containerd/daemon/io.containerd.runtime.v2.task/*/*/config.json'))
    present = bool(eng['config']) or 'dockerd' in user.get('processes', ()) or 'docker.service' in scan.units \
        or bool(bundles)
    if not present:
        return
    doc = doc or {}
    dirs, why = _engine_path(scan, 'docker')
    table = doc.get('runtimes') if isinstance(doc.get('runtimes'), dict) else {}
    for name, spec in sorted(table.items()):
        binary = spec.get('path') if isinstance(spec, dict) else None
        if isinstance(binary, str) and binary:
            eng['runtimes'][name] = binary
            found = _expand(binary, user) if binary.startswith(('/', '~')) else _which(fs, binary, dirs)
            if found:
                _add_runtime(scan, found, 'docker daemon.json runtimes.%s' % name, 'docker')
            else:
                scan.error(binary, 'named by %s runtimes.%s, not found' % (config, name))
    default = doc.get('default-runtime') if isinstance(doc.get('default-runtime'), str) else 'runc'
    eng['default_runtime'] = default
    if default not in eng['runtimes']:
        found = _which(fs, 'runc', dirs)
        if found:
            _add_runtime(scan, found, 'rootless dockerd default runtime (runc on %s)' % why, 'docker')
    profile = doc.get('seccomp-profile') if isinstance(doc.get('seccomp-profile'), str) else None
    eng['seccomp_profile'] = profile
    if profile and profile not in ('builtin', 'unconfined'):
        scan.profiles.append((_expand(profile, user), 'docker', 'daemon.json seccomp-profile', None, True))
    scan.engines['docker'] = eng
    for path in bundles:
        parts = path.split('/')
        scan.profiles.append((path, 'bundle', 'rootless docker bundle config.json',
                              {'id': parts[-2], 'namespace': parts[-3], 'engine': 'docker'}, False))


def _scan_containerd(fs, scan):
    user = scan.user
    eng = _new_engine()
    config = os.path.join(user['home'], '.config/containerd/config.toml')
    doc = _load_config(fs, scan, config, 'toml', eng) if lexists(fs, config) else None
    bundles = _glob_owned(fs, scan, os.path.join(
        user['runtime_dir'], 'containerd/io.containerd.runtime.v2.task/*/*/config.json'))
    present = bool(eng['config']) or 'containerd' in user.get('processes', ()) or 'containerd.service' in scan.units \
        or bool(bundles)
    if not present:
        return
    dirs, why = _engine_path(scan, 'containerd')
    runtimes = {}
    if doc:
        plugins = doc.get('plugins') if isinstance(doc.get('plugins'), dict) else {}
        for key in ('io.containerd.grpc.v1.cri', 'cri', 'io.containerd.cri.v1.runtime'):
            cri = plugins.get(key)
            cri = cri.get('containerd') if isinstance(cri, dict) else None
            if isinstance(cri, dict) and isinstance(cri.get('runtimes'), dict):
                for rname, spec in cri['runtimes'].items():
                    opts = spec.get('options') if isinstance(spec, dict) else None
                    binary = opts.get('BinaryName') if isinstance(opts, dict) else None
                    if isinstance(binary, str) and binary:
                        runtimes[rname] = binary
                break
    eng['runtimes'] = runtimes
    eng['default_runtime'] = 'runc'
    eng['path'] = list(dirs)
    for rname, binary in sorted(runtimes.items()):
        found = _expand(binary, user) if binary.startswith(('/', '~')) else _which(fs, binary, dirs)
        if found:
            _add_runtime(scan, found, 'containerd config.toml runtimes.%s' % rname, 'containerd')
    found = _which(fs, 'runc', dirs)  # the runc shim runs `runc` from containerd's PATH
    if found:
        _add_runtime(scan, found, 'rootless containerd runc (%s)' % why, 'containerd')
    scan.engines['containerd'] = eng
    for path in bundles:
        parts = path.split('/')
        scan.profiles.append((path, 'bundle', 'rootless containerd bundle config.json',
                              {'id': parts[-2], 'namespace': parts[-3], 'engine': 'containerd'}, False))


def state_bundles(fs, scan, state_root):
    """Running (or hung) runc containers of a state directory: state.json names the bundle."""
    user = scan.user if scan else None
    out = []
    pattern = fs.real(os.path.join(state_root, '*', 'state.json'))
    for path in sorted(fs.host(p) for p in glob.glob(pattern))[:MAX_PER_GLOB]:
        try:
            if user:
                data = read_owned(fs, path, user, 4 << 20)
            else:
                with open(fs.real(path), 'rb') as handle:
                    data = handle.read(4 << 20)
            doc = json.loads(data.decode('utf-8', 'replace'))
        except (FileProblem, ValueError, OSError) as exc:
            if scan:
                scan.error(path, getattr(exc, 'message', None) or 'unreadable state.json: %s' % exc)
            continue
        labels = ((doc.get('config') or {}).get('labels') or []) if isinstance(doc, dict) else []
        bundle = next((lab[len('bundle='):] for lab in labels if isinstance(lab, str) and lab.startswith('bundle=')),
                      None)
        if not bundle or not bundle.startswith('/'):
            continue
        if user and bundle.startswith('/run/containerd/'):  # inside rootlesskit's mount namespace
            bundle = os.path.join(user['runtime_dir'], 'containerd', bundle[len('/run/containerd/'):])
        cid = path.split('/')[-2]
        out.append((os.path.join(bundle, 'config.json'), cid, doc.get('init_process_pid')))
    return out


def _scan_state(fs, scan):
    root = os.path.join(scan.user['runtime_dir'], 'runc')
    for config, cid, pid in state_bundles(fs, scan, root):
        scan.profiles.append((config, 'bundle', 'runc state %s/%s (running or hung container)' % (root, cid),
                              {'id': cid, 'namespace': None, 'engine': 'runc'}, False))


def _scan_bins(fs, scan):
    """runc/crun in the user's bin dirs (inventory, and what runc state dirs were made by)."""
    for d in _user_dirs(scan.user):
        for name in RUNTIME_NAMES:
            path = os.path.join(d, name)
            if lexists(fs, path):
                _add_runtime(scan, path, 'user bin directory', None)


def _scan_agents(fs, scan, buildinfo):
    user = scan.user
    dirs = _user_dirs(user)
    for name in AGENT_NAMES:
        for d in dirs:
            path = os.path.join(d, name)
            if lexists(fs, path):
                scan.agents.append(dict(_binary_info(fs, scan, path, buildinfo, 'github.com/rootless-containers/'
                                                                                'bypass4netns'), name=name))
    unit = scan.units.get('bypass4netnsd.service')
    sockets = []
    for sock in ('bypass4netnsd.sock', 'bypass4netnsd-com.sock', 'bypass4netns.sock'):
        path = os.path.join(user['runtime_dir'], sock)
        try:
            if stat.S_ISSOCK(os.lstat(fs.real(path)).st_mode):
                sockets.append(path)
        except OSError:
            pass
    if unit or sockets or 'bypass4netnsd' in user.get('processes', ()):
        scan.agents.append({'name': 'bypass4netnsd', 'unit': (unit or {}).get('path'), 'sockets': sockets,
                            'running': 'bypass4netnsd' in user.get('processes', ()), 'path': None})
    for d in dirs:
        path = os.path.join(d, 'nerdctl')
        if lexists(fs, path):
            _nerdctl(fs, scan, path, buildinfo)


def _binary_info(fs, scan, path, buildinfo, module):
    """{path, version, module version, error} of a user's Go binary from its build info (never run)."""
    info = {'path': path, 'version': None, 'error': None}
    try:
        fd = open_owned(fs, path, scan.user)
    except FileProblem as exc:
        info['error'] = scan.error(path, exc.message)
        return info
    try:
        found = buildinfo.read_build_info_fd(fd)
    finally:
        os.close(fd)
    if found.get('status') != 'found':
        info['error'] = found.get('reason') or 'no Go build information'
        return info
    main = found.get('main') or {}
    info['version'] = main.get('version')
    info['module'] = found.get('path')
    info['bypass4netns'] = None
    for dep in found.get('deps') or ():
        if dep.get('path') == 'github.com/rootless-containers/bypass4netns':
            # the version nerdctl's go.mod requires; a replace (a patched tree) is said, not guessed
            info['bypass4netns'] = dep.get('version')
            if dep.get('replace'):
                info['bypass4netns_replaced_by'] = '%s %s' % (dep['replace'].get('path'), dep['replace'].get('version'))
    if found.get('path') == 'github.com/rootless-containers/bypass4netns':
        info['bypass4netns'] = main.get('version')
    return info


def _nerdctl(fs, scan, path, buildinfo):
    info = _binary_info(fs, scan, path, buildinfo, 'github.com/containerd/nerdctl')
    version = info.get('bypass4netns')
    row = b4n.notify_row(version) if version else None
    info['notify'] = list(row['names']) if row else None
    info['notify_source'] = row['source'] if row else None
    scan.nerdctl.append(info)
    if not row:
        return
    listener = os.path.join(scan.user['runtime_dir'], 'bypass4netns', '<container id[:15]>.sock')
    doc = b4n.generated_profile(row['names'], listener)
    scan.generated.append((
        '%s#bypass4netns' % path, path, json.dumps(doc, sort_keys=True).encode('utf-8'), 'nerdctl',
        'profile nerdctl %s generates for nerdctl/bypass4netns=true (bypass4netns %s compiled in; %s)'
        % (info.get('version') or '(version unknown)', version, row['source'])))


def scan_user(fs, user, system, buildinfo):
    """UserScan of one user (bounded: fixed paths; caller bounds the time)."""
    scan = UserScan(user)
    if not user['home'] or not user['home'].startswith('/'):
        user['error'] = scan.error('user %s' % user['name'], 'has no home directory')
        return scan
    kind = fs_type(system['mounts'], user['home'])
    if kind in NETWORK_FS:
        user['error'] = scan.error(user['home'], 'home of user %s is on %s: not read (network file systems and '
                                                 'autofs are skipped: root squash, stalls)' % (user['name'], kind))
        user['home'] = None
    # One read of each top directory tells which candidates can exist at all: most users have none.
    home_names = _names(fs, user['home']) if user['home'] else set()
    run_names = _names(fs, user['runtime_dir'])
    if user['home'] and (home_names & HOME_TOPS or run_names & RUN_TOPS or user.get('processes')
                         or system.get('rootless_storage_path')):
        _scan_units(fs, scan)
        _scan_bins(fs, scan)
        _scan_podman(fs, scan, system.get('podman'))
        _scan_docker(fs, scan)
        _scan_containerd(fs, scan)
        _scan_agents(fs, scan, buildinfo)
        hard_way = os.path.join(user['home'], 'seccomp.json')
        if 'seccomp.json' in home_names:
            scan.profiles.append((hard_way, 'user', 'bypass4netns "hard way" profile (~/seccomp.json)', None, False))
    if 'runc' in run_names:
        _scan_state(fs, scan)
    return scan


# Top-level names of a home / of /run/user/UID under which some candidate path lies.
HOME_TOPS = frozenset(('.config', '.local', 'bin', 'seccomp.json'))
RUN_TOPS = frozenset(('containerd', 'docker', 'containers', 'runc', 'bypass4netns', 'bypass4netnsd.sock'))
MAX_NAMES = 4096


def _names(fs, path):
    """Names in one directory (at most MAX_NAMES; an unreadable directory has none)."""
    names = set()
    try:
        with os.scandir(fs.real(path)) as entries:
            for entry in entries:
                names.add(entry.name)
                if len(names) >= MAX_NAMES:
                    break
    except OSError:
        pass
    return names


def _worker(fs, batch, system, buildinfo, events, cancelled):
    """Scan ``batch`` in order, reporting ('start', uid) and ('done', uid, scan or error text) on ``events``."""
    for user in batch:
        if cancelled.is_set():
            return
        events.put(('start', user['uid'], None))
        try:
            result = scan_user(fs, user, system, buildinfo)
        except Exception as exc:  # one user's odd files never cost the host its facts
            result = 'scan failed: %s: %s' % (type(exc).__name__, exc)
        events.put(('done', user['uid'], result))


def scan_users(fs, users, system, buildinfo, errors, timeout=USER_TIMEOUT):
    """[(user, UserScan or None)] for every user, each user's scan bounded by ``timeout`` seconds.

    One worker thread scans the users in turn; when one user's scan passes its bound (a stalled
    network mount), that user gets an error entry, the worker is abandoned (a daemon thread, it
    starts nothing more) and a new worker goes on with the next user.
    """
    results = {}
    pending = list(users)
    while pending:
        events, cancelled = queue.Queue(), threading.Event()
        worker = threading.Thread(target=_worker, args=(fs, list(pending), system, buildinfo, events, cancelled),
                                  name='rcg-users')
        worker.daemon = True
        worker.start()
        since = time.monotonic()
        while pending:
            try:
                kind, uid, result = events.get(timeout=max(0.01, since + timeout - time.monotonic()))
            except queue.Empty:
                cancelled.set()
                stalled = pending.pop(0)
                stalled['error'] = 'scan of user %s did not finish within %ss (a stalled file system?); skipped' % (
                    stalled['name'], timeout)
                errors.append({'path': stalled['home'] or 'user %s' % stalled['name'], 'error': stalled['error'],
                               'owner': owner_of(stalled)})
                results[stalled['uid']] = None
                break
            if kind == 'start':
                since = time.monotonic()
                continue
            user = pending.pop(0)
            if isinstance(result, str):
                user['error'] = result
                errors.append({'path': 'user %s' % user['name'], 'error': result, 'owner': owner_of(user)})
                result = None
            else:
                user['duration_ms'] = int((time.monotonic() - since) * 1000)
            results[uid] = result
    return [(user, results.get(user['uid'])) for user in users]


# --- a user's runtime binary --------------------------------------------------------------------
def describe_runtime(fs, entry, user, buildinfo, run_as_owner):
    """Fill a user runtime entry without root executing it: build info, else --version as the owner."""
    try:
        fd = open_owned(fs, entry['path'], user)
    except FileProblem as exc:
        entry['error'] = exc.message
        return
    try:
        st = os.fstat(fd)
        found = buildinfo.read_build_info_fd(fd)
    finally:
        os.close(fd)
    if found.get('status') == 'found':
        record = version_from_build_info(found)
        if not record.get('error') and (record.get('version') or record.get('commit')):
            for key in ('name', 'version', 'version_source', 'dev', 'commit', 'spec', 'go', 'raw'):
                if record.get(key) is not None or key != 'name':
                    entry[key] = record.get(key)
            return
    if st.st_uid != user['uid']:  # a root-owned system binary a user config names: the system scan runs it
        entry['error'] = 'version not read: no usable Go build information'
        return
    run_as_owner(entry, user)


def run_version_as_owner(command_timeout, parse):
    """A function (entry, user) that runs ``<binary> --version`` as the user (never root)."""
    def run(entry, user):
        env = dict(_command.ENV, HOME=user['home'] or '/', XDG_RUNTIME_DIR=user['runtime_dir'])
        rc, out, err, problem = _command.run([entry['path'], '--version'], timeout=command_timeout,
                                             user=(user['uid'], user['gid']), env=env, cwd='/')
        text = out.decode('utf-8', 'replace')
        if problem:
            entry['error'] = problem
            entry['raw'] = text[:2048] or None
            return
        parsed = parse(text)
        for key in ('version', 'version_source', 'dev', 'commit', 'spec', 'go', 'libseccomp', 'raw', 'error'):
            entry[key] = parsed.get(key)
        if parsed.get('name'):
            entry['name'] = parsed['name']
        entry['run_as'] = user['name']
    return run


def _blank_runtime(path, owner):
    name = os.path.basename(path)
    return {'name': name if name in RUNTIME_NAMES else None, 'path': path, 'paths': [path], 'realpath': None,
            'version': None, 'version_source': None, 'dev': False, 'commit': None, 'spec': None, 'go': None,
            'libseccomp': None, 'raw': None, 'package': None, 'used_by': [], 'error': None, 'owner': owner,
            'users': []}


def merge_runtimes(fs, scans, runtimes, buildinfo, run_as_owner, errors):
    """Add every user's runtimes to ``runtimes`` (the system scan's entries, changed in place).

    A binary the system scan already has (same device and inode) gets the user's name in ``users``
    and the user's engines in ``used_by``; any other is a new entry with ``owner``, described by
    describe_runtime (never executed by root).
    """
    by_key = {}
    for entry in runtimes:
        entry.setdefault('owner', None)
        entry.setdefault('users', [])
        if entry.get('realpath'):
            try:
                st = os.stat(fs.real(entry['realpath']))
                by_key[(st.st_dev, st.st_ino)] = entry
            except OSError:
                pass
    own = []  # entries only users' setups brought in
    for user, scan in scans:
        if scan is None:
            continue
        owner = scan.owner
        for path, reason, engines in scan.runtimes:
            shown = printable(path)
            try:
                real = fs.real(path)
                st = os.stat(real)
            except (OSError, FileProblem) as exc:
                text = exc.message if isinstance(exc, FileProblem) else describe_os_error(exc)
                entry = _blank_runtime(shown, None)
                entry['error'] = scan.error(shown, '%s (named by %s)' % (text, reason))
                entry['users'] = [user['name']]
                entry['used_by'] = sorted(engines)
                runtimes.append(entry)
                continue
            key = (st.st_dev, st.st_ino)
            entry = by_key.get(key)
            if entry is None:
                entry = _blank_runtime(shown, owner if st.st_uid == user['uid'] else None)
                if st.st_uid not in (0, user['uid']) or (fs.root == '/' and check_read(real)):
                    entry['error'] = scan.error(shown, _leaves(user))  # the target (realpath) is never shown
                else:
                    try:
                        entry['realpath'] = fs.host(os.path.realpath(fs.real(path)))
                    except (OSError, ValueError):
                        entry['realpath'] = shown
                    describe_runtime(fs, entry, user, buildinfo, run_as_owner)
                    if entry['error']:
                        scan.error(shown, entry['error'])
                by_key[key] = entry
                runtimes.append(entry)
                own.append(entry)
            elif shown not in entry['paths']:
                entry['paths'] = sorted(set(entry['paths']) | set([shown]))
            if user['name'] not in entry['users']:
                entry['users'] = sorted(entry['users'] + [user['name']])
            if any(entry is e for e in own):
                entry['used_by'] = sorted(set(entry['used_by']) | engines)  # the user's engines, not root's
    for user, scan in scans:
        if scan is not None:
            errors.extend(scan.errors)
    return runtimes
