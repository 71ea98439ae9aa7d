# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Empirical NOTIFY canary for ``notify_probe``.

One probe = one throw-away container started by the host's own runc/crun with a seccomp profile
whose only rule sends the probed syscall(s) to ``SCMP_ACT_NOTIFY``, served by a seccomp agent that
lives in this process and answers every notification with ``SECCOMP_USER_NOTIF_FLAG_CONTINUE``.

The canary never touches the engines' containers: it has its own ``--root`` state directory, a
unique id, a unique cgroup, new namespaces (no host network) and a rootfs made of read-only bind
mounts of the host's ``/usr`` and lib directories (the bind mounts exist only in the container's
mount namespace). Every process is killed by PID, the container deleted, the cgroup, socket and
temp files removed, whatever happens.

Pure stdlib (ctypes, fcntl, socket, subprocess), Linux only, root only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import array
import ctypes
import ctypes.util
import errno
import fcntl
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

OUTCOMES = ('ok', 'hang', 'error', 'unsupported')
RUNTIME_KINDS = ('runc', 'crun')

# Used when the hazard catalogue offers no probe list: every syscall a known runtime bug or
# runtime-sensitive hazard names (notify-fcntl-hang, crun-notify-sendmsg-hang,
# notify-write-rejected, notify-runtime-sensitive).
DEFAULT_SYSCALLS = ('fcntl', 'sendmsg', 'close', 'read', 'openat', 'execve', 'connect', 'write')

# Where runtime binaries live when the caller names none (facts normally pass theirs).
SEARCH_DIRS = ('/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin')

# Host directories the canary rootfs is made of (read-only bind mounts, or the same symlinks).
ROOTFS_DIRS = ('usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32')

ENV = {'LANG': 'C', 'LC_ALL': 'C', 'PATH': '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'}
MESSAGE_LIMIT = 2000

# --- seccomp user notification ABI (include/uapi/linux/seccomp.h) ---------------------------

SECCOMP_GET_NOTIF_SIZES = 3
SECCOMP_USER_NOTIF_FLAG_CONTINUE = 1
# sizeof() in the UAPI header: these are baked into the ioctl numbers, whatever the kernel's
# current struct sizes (SECCOMP_GET_NOTIF_SIZES) are.
SECCOMP_DATA_SIZE = 64            # int nr; u32 arch; u64 ip; u64 args[6]
SECCOMP_NOTIF_SIZE = 80           # u64 id; u32 pid; u32 flags; struct seccomp_data
SECCOMP_NOTIF_RESP_SIZE = 24      # u64 id; s64 val; s32 error; u32 flags
NOTIF_HEAD = struct.Struct('=QII')
NOTIF_RESP = struct.Struct('=QqiI')

# seccomp(2) syscall numbers by `uname -m`.
SECCOMP_SYSCALL_NR = {
    'x86_64': 317, 'i386': 354, 'i686': 354, 'aarch64': 277, 'arm64': 277, 'armv7l': 383,
    'armv6l': 383, 'ppc64le': 358, 'ppc64': 358, 's390x': 348, 'riscv64': 277, 'loongarch64': 277,
}
# Arches whose _IOC uses 13 size bits and 3 direction bits (NONE=1, READ=2, WRITE=4).
_IOC_ALT_ARCHES = ('ppc', 'ppc64', 'ppc64le', 'mips', 'mips64', 'sparc', 'sparc64')


def ioc(direction, kind, nr, size, arch):
    """Linux _IOC(); direction is 'r', 'w' or 'rw' (read = kernel writes to user)."""
    if arch in _IOC_ALT_ARCHES:
        bits = {'r': 2, 'w': 4, 'rw': 6}[direction]
        return (bits << 29) | (size << 16) | (ord(kind) << 8) | nr
    bits = {'w': 1, 'r': 2, 'rw': 3}[direction]
    return (bits << 30) | (size << 16) | (ord(kind) << 8) | nr


def notif_ioctls(arch):
    """SECCOMP_IOCTL_NOTIF_{RECV,SEND,ID_VALID} for one arch."""
    return {
        'recv': ioc('rw', '!', 0, SECCOMP_NOTIF_SIZE, arch),
        'send': ioc('rw', '!', 1, SECCOMP_NOTIF_RESP_SIZE, arch),
        'id_valid': ioc('w', '!', 2, 8, arch),
    }


def pack_continue(notif_id, resp_size=SECCOMP_NOTIF_RESP_SIZE):
    """A seccomp_notif_resp that lets the syscall run as if no filter were there."""
    data = NOTIF_RESP.pack(notif_id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE)
    return data + b'\0' * max(0, resp_size - len(data))


def unpack_notif(buf):
    """(id, pid, syscall nr) from a seccomp_notif buffer."""
    notif_id, pid, _flags = NOTIF_HEAD.unpack_from(buf, 0)
    nr = struct.unpack_from('=i', buf, NOTIF_HEAD.size)[0]
    return notif_id, pid, nr


def _libc():
    return ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6', use_errno=True)


def notif_sizes(arch=None):
    """Kernel struct sizes via seccomp(SECCOMP_GET_NOTIF_SIZES): dict, or raise OSError."""
    arch = arch or os.uname()[4]
    nr = SECCOMP_SYSCALL_NR.get(arch)
    if nr is None:
        raise OSError(errno.ENOSYS, 'no seccomp(2) syscall number known for arch %s' % arch)
    sizes = (ctypes.c_uint16 * 3)()
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    if libc.syscall(ctypes.c_long(nr), ctypes.c_uint(SECCOMP_GET_NOTIF_SIZES), ctypes.c_uint(0), ctypes.byref(sizes)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return {'seccomp_notif': sizes[0], 'seccomp_notif_resp': sizes[1], 'seccomp_data': sizes[2]}


def kernel_key(release):
    match = re.match(r'(\d+)\.(\d+)', release or '')
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def host_support(arch=None, release=None):
    """None when this kernel can serve NOTIFY with CONTINUE, else the reason it cannot."""
    release = release or os.uname()[2]
    try:
        notif_sizes(arch)
    except OSError as exc:
        return 'kernel %s cannot report seccomp notification sizes (%s): no SCMP_ACT_NOTIFY support' % (release, exc.strerror)
    if kernel_key(release) < (5, 5):
        return 'kernel %s lacks SECCOMP_USER_NOTIF_FLAG_CONTINUE (needs 5.5)' % release
    return None


# --- seccomp agent --------------------------------------------------------------------------

class Agent(object):
    """Listens on a unix socket, takes the seccomp fd from the runtime, CONTINUEs everything."""

    def __init__(self, path, arch=None, sizes=None, answer=True):
        self.path = path
        self.answer = answer  # False only in tests: a mute agent reproduces a stuck runtime init
        self.arch = arch or os.uname()[4]
        self.sizes = sizes or notif_sizes(self.arch)
        self.ioctls = notif_ioctls(self.arch)
        self.connected = False
        self.state = None
        self.notifications = 0
        self.errors = []
        self._fds = []
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(path)
        os.chmod(path, 0o600)
        self._sock.listen(4)
        self._thread = threading.Thread(target=self._serve, name='runcguard-seccomp-agent')
        self._thread.daemon = True

    def start(self):
        self._thread.start()
        return self

    def _serve(self):
        try:
            poller = select.poll()
            poller.register(self._sock.fileno(), select.POLLIN)
            while not self._stop.is_set():
                for fd, events in poller.poll(100):
                    if fd == self._sock.fileno():
                        for new_fd in self._accept():
                            if self.answer:
                                poller.register(new_fd, select.POLLIN)
                    elif events & select.POLLIN:
                        self._answer(fd)
                    elif events & (select.POLLHUP | select.POLLERR | select.POLLNVAL):
                        # No task uses the filter any more (kernel >= 5.8): stop watching it.
                        poller.unregister(fd)
        except Exception as exc:  # the thread must never die silently
            self.errors.append('seccomp agent failed: %s' % exc)

    def _accept(self):
        conn, _addr = self._sock.accept()
        try:
            conn.settimeout(5)
            space = socket.CMSG_SPACE(16 * array.array('i').itemsize)
            data, ancdata, _flags, _addr = conn.recvmsg(1 << 20, space)
        finally:
            conn.close()
        fds = array.array('i')
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
        fds = list(fds)
        self._fds.extend(fds)
        try:
            self.state = json.loads(data.decode('utf-8'))
        except ValueError:
            self.state = None
        names = (self.state or {}).get('fds') or []
        if 'seccompFd' in names and names.index('seccompFd') < len(fds):
            fds = [fds[names.index('seccompFd')]]
        if fds:
            self.connected = True
        else:
            self.errors.append('runtime connected to the agent without passing a seccomp fd')
        return fds[:1]

    def _answer(self, fd):
        buf = bytearray(max(self.sizes['seccomp_notif'], SECCOMP_NOTIF_SIZE))  # zeroed: kernel checks
        try:
            fcntl.ioctl(fd, self.ioctls['recv'], buf, True)
        except (IOError, OSError) as exc:
            if exc.errno in (errno.EINTR, errno.ENOENT, errno.EAGAIN):
                return  # the notifying task died or the wait was interrupted
            raise
        notif_id = unpack_notif(buf)[0]
        resp = bytearray(pack_continue(notif_id, max(self.sizes['seccomp_notif_resp'], SECCOMP_NOTIF_RESP_SIZE)))
        try:
            fcntl.ioctl(fd, self.ioctls['send'], resp, True)
            self.notifications += 1
        except (IOError, OSError) as exc:
            if exc.errno != errno.ENOENT:  # ENOENT: the task went away meanwhile
                raise

    def stop(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(3)
        for fd in self._fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self._fds = []
        self._sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


# --- canary bundle --------------------------------------------------------------------------

def notify_profile(syscalls, listener_path):
    """OCI seccomp section: allow everything, send exactly `syscalls` to the agent."""
    return {
        'defaultAction': 'SCMP_ACT_ALLOW',
        'listenerPath': listener_path,
        'syscalls': [{'names': sorted(set(syscalls)), 'action': 'SCMP_ACT_NOTIFY'}],
    }


def rootfs_layout(root='/'):
    """(symlinks {name: target}, bind dirs [name]) mirroring the host's /usr and lib dirs."""
    links, binds = {}, []
    for name in ROOTFS_DIRS:
        path = os.path.join(root, name)
        if os.path.islink(path):
            links[name] = os.readlink(path)
        elif os.path.isdir(path):
            binds.append(name)
    return links, binds


def canary_config(container_id, syscalls, listener_path, no_new_privileges, binds, rootfs='rootfs'):
    """The canary's config.json: `true` in new namespaces, read-only host /usr and libs."""
    mounts = [
        {'destination': '/proc', 'type': 'proc', 'source': 'proc', 'options': ['nosuid', 'noexec', 'nodev']},
        {'destination': '/dev', 'type': 'tmpfs', 'source': 'tmpfs',
         'options': ['nosuid', 'strictatime', 'mode=755', 'size=65536k']},
    ]
    for name in binds:
        mounts.append({'destination': '/' + name, 'type': 'bind', 'source': '/' + name,
                       'options': ['bind', 'ro', 'nosuid', 'nodev']})
    return {
        'ociVersion': '1.0.2',
        'process': {
            'terminal': False,
            'user': {'uid': 0, 'gid': 0},
            'args': ['true'],
            'env': ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'],
            'cwd': '/',
            'capabilities': {'bounding': [], 'effective': [], 'permitted': [], 'inheritable': [], 'ambient': []},
            'noNewPrivileges': bool(no_new_privileges),
        },
        'root': {'path': rootfs, 'readonly': True},
        'hostname': container_id[:63],
        'mounts': mounts,
        'linux': {
            # cgroupfs path of its own (never a systemd unit): found and removed by id.
            'cgroupsPath': '/' + container_id,
            'resources': {'devices': [{'allow': False, 'access': 'rwm'}]},
            'namespaces': [{'type': t} for t in ('pid', 'network', 'ipc', 'uts', 'mount')],
            'seccomp': notify_profile(syscalls, listener_path),
        },
    }


# --- outcome classification -----------------------------------------------------------------

_UNSUPPORTED = re.compile(
    r'(notify|SCMP_ACT_NOTIFY)[^\n]*(not supported|unsupported|requires|API level|unknown action|invalid action)'
    r'|(unknown|invalid|unrecognized) (seccomp )?action[^\n]*NOTIFY'
    r'|seccomp notify unsupported', re.IGNORECASE)
_LOGRUS_MSG = re.compile(r'msg="((?:[^"\\]|\\.)*)"')
_JSON_LOG = re.compile(r'^\s*\{.*"msg"\s*:')


def runtime_message(stderr):
    """The runtime's own words from its stderr (logrus text/JSON lines unwrapped), bounded."""
    if isinstance(stderr, bytes):
        stderr = stderr.decode('utf-8', 'replace')
    lines = []
    for line in (stderr or '').splitlines():
        line = line.strip()
        if not line:
            continue
        if _JSON_LOG.match(line):
            try:
                line = json.loads(line).get('msg') or line
            except ValueError:
                pass
        else:
            match = _LOGRUS_MSG.search(line)
            if match:
                line = match.group(1).replace('\\"', '"').replace('\\\\', '\\')
        lines.append(line)
    return '\n'.join(lines)[:MESSAGE_LIMIT]


def classify(timed_out, returncode, stderr, agent_connected, status=None):
    """(outcome, message) of one probe.

    `status` is the container state the runtime reports after `run` returned (None when it kept
    no state): a container that is not `stopped` did not really run, whatever the exit code says.
    """
    if timed_out:
        return 'hang', 'the runtime did not return within the timeout (agent %s)' % (
            'connected' if agent_connected else 'never connected')
    message = runtime_message(stderr)
    if returncode != 0:
        if _UNSUPPORTED.search(message):
            return 'unsupported', message
        return 'error', message or 'the runtime exited with status %s and printed nothing' % returncode
    if status is not None and status != 'stopped':
        return 'hang', 'the runtime exited 0 but the container is still %r, not stopped' % status
    if not agent_connected:
        return 'error', 'the runtime exited 0 but never connected to the seccomp agent (listenerPath ignored?)'
    return 'ok', message


# --- processes, cgroups, mounts -------------------------------------------------------------

def proc_stat(pid):
    """(ppid, session id, start time) of a live, non-zombie process, or None."""
    try:
        with open('/proc/%d/stat' % pid, 'rb') as handle:
            data = handle.read().decode('ascii', 'replace')
    except (IOError, OSError):
        return None
    fields = data[data.rfind(')') + 2:].split()
    if not fields or fields[0] in ('Z', 'X'):
        return None
    return int(fields[1]), int(fields[3]), int(fields[19])


def all_pids():
    return [int(name) for name in os.listdir('/proc') if name.isdigit()]


def descendants(root_pids, session=None):
    """{pid: starttime} of every live descendant of root_pids, and of every member of `session`."""
    table = {}
    for pid in all_pids():
        stat = proc_stat(pid)
        if stat:
            table[pid] = stat
    found, todo = {}, list(root_pids)
    while todo:
        parent = todo.pop()
        for pid, (ppid, _sid, start) in table.items():
            if ppid == parent and pid not in found:
                found[pid] = start
                todo.append(pid)
    if session:
        for pid, (_ppid, sid, start) in table.items():
            if sid == session and pid != os.getpid():
                found.setdefault(pid, start)
    return found


def kill_exact(pid, start):
    """SIGKILL pid only if it is still the process we saw (same start time)."""
    stat = proc_stat(pid)
    if stat is None or (start is not None and stat[2] != start):
        return False
    try:
        os.kill(pid, signal.SIGKILL)
        return True
    except OSError:
        return False


def cgroup_dirs(container_id, base='/sys/fs/cgroup'):
    """Existing cgroup directories named after the canary (v1 controllers, hybrid, v2)."""
    found = []
    candidates = [os.path.join(base, container_id)]
    try:
        for name in sorted(os.listdir(base)):
            candidates.append(os.path.join(base, name, container_id))
    except OSError:
        pass
    for path in candidates:
        if os.path.isdir(path):
            found.append(path)
    return found


def cgroup_pids(dirs):
    pids = set()
    for path in dirs:
        for leaf in ('cgroup.procs', 'tasks'):
            try:
                with open(os.path.join(path, leaf)) as handle:
                    pids.update(int(x) for x in handle.read().split())
            except (IOError, OSError, ValueError):
                continue
    return pids


def _unescape_mount(path):
    return re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), path)


def mounts_under(directory, mountinfo='/proc/self/mountinfo'):
    """Mount points at or below `directory`, deepest first."""
    prefix = directory.rstrip('/') + '/'
    found = []
    try:
        with open(mountinfo) as handle:
            for line in handle:
                point = _unescape_mount(line.split()[4])
                if point == directory.rstrip('/') or point.startswith(prefix):
                    found.append(point)
    except (IOError, OSError):
        pass
    return sorted(found, key=len, reverse=True)


def detach_mount(path):
    libc = _libc()
    return libc.umount2(path.encode(), 2) == 0  # MNT_DETACH


# --- commands -------------------------------------------------------------------------------

def run_bounded(argv, timeout, cwd=None):
    """Run argv (no shell) with LANG=C; SIGKILL it by PID after `timeout`. (rc, out, err, timed_out)."""
    # Not AnsibleModule.run_command: a runtime that ignores SIGTERM must be killed by PID, with
    # everything it spawned, and module_utils here also serve code that has no AnsibleModule.
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,  # pylint: disable=ansible-bad-function
                            stderr=subprocess.PIPE, env=ENV, cwd=cwd, close_fds=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err, False
    except subprocess.TimeoutExpired:
        for pid, start in descendants([proc.pid], session=proc.pid).items():
            kill_exact(pid, start)
        proc.kill()
        out, err = proc.communicate()
        return None, out, err, True
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def runtime_identity(path, timeout=10):
    """(parsed version dict, refusal message or None) for a runtime binary."""
    from ansible_collections.runcguard.seccomp.plugins.module_utils._version import parse_runtime_version
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        return None, '%s is not an executable file' % path
    try:
        rc, out, err, timed_out = run_bounded([path, '--version'], timeout)
    except OSError as exc:
        return None, 'cannot run %s --version: %s' % (path, exc.strerror)
    if timed_out:
        return None, '%s --version did not return within %ss' % (path, timeout)
    info = parse_runtime_version(out)
    if info.get('name') not in RUNTIME_KINDS:
        first = (out or err or b'').decode('utf-8', 'replace').strip().splitlines()
        return info, ('%s is not runc or crun (--version says %r, rc=%s): notify_probe drives only runc and crun'
                      % (path, first[0][:80] if first else '', rc))
    return info, None


def search_locations():
    """Where runtime_facts looks for runtimes (directories and k3s/RKE2/... globs), as paths."""
    import glob
    try:
        from ansible_collections.runcguard.seccomp.plugins.module_utils import _discovery
        dirs, globs = _discovery.RUNTIME_DIRS, _discovery.RUNTIME_GLOBS
    except ImportError:
        dirs, globs = SEARCH_DIRS, ()
    paths = [os.path.join(d, n) for d in dirs for n in RUNTIME_KINDS]
    for pattern, _engine in globs:
        for name in RUNTIME_KINDS:
            paths.extend(sorted(glob.glob(pattern % name)))
    return paths


def find_runtimes(paths=None):
    """Every runc/crun binary where runtime_facts looks, one path per real file."""
    seen, found = set(), []
    for path in search_locations() if paths is None else paths:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            real = os.path.realpath(path)
            if real not in seen:
                seen.add(real)
                found.append(path)
    return found


# --- one probe ------------------------------------------------------------------------------

class ProbeInterrupted(Exception):
    """Raised from a signal handler so that cleanup still runs."""


class Canary(object):
    """One container start; use as a context manager so cleanup always runs."""

    def __init__(self, runtime, kind, syscalls, no_new_privileges, timeout, tmp_parent=None, answer=True):
        self.runtime = runtime
        self.answer = answer
        self.kind = kind
        self.syscalls = sorted(set(syscalls))
        self.nnp = bool(no_new_privileges)
        self.timeout = float(timeout)
        self.tmp = tempfile.mkdtemp(prefix='runcguard-probe-', dir=tmp_parent)
        if len(self.tmp) > 90 and tmp_parent is None:  # unix socket paths are limited to 107 bytes
            os.rmdir(self.tmp)
            self.tmp = tempfile.mkdtemp(prefix='runcguard-probe-', dir='/tmp')
        self.id = 'runcguard-probe-%d-%s' % (os.getpid(), os.path.basename(self.tmp).rsplit('-', 1)[-1])
        self.bundle = os.path.join(self.tmp, 'bundle')
        self.state_root = os.path.join(self.tmp, 'state')
        self.socket = os.path.join(self.tmp, 'agent.sock')
        self.pid_file = os.path.join(self.tmp, 'container.pid')
        self.agent = None
        self.proc = None
        self.seen = {}            # pid -> starttime of everything the runtime spawned
        self.leftovers = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False

    def _prepare(self):
        rootfs = os.path.join(self.bundle, 'rootfs')
        os.makedirs(rootfs)
        os.mkdir(self.state_root, 0o700)
        links, binds = rootfs_layout('/')
        for name, target in links.items():
            os.symlink(target, os.path.join(rootfs, name))
        for name in binds + ['proc', 'dev']:
            os.mkdir(os.path.join(rootfs, name))
        config = canary_config(self.id, self.syscalls, self.socket, self.nnp, binds)
        with open(os.path.join(self.bundle, 'config.json'), 'w') as handle:
            json.dump(config, handle, indent=2)

    def _runtime(self, *args):
        return [self.runtime, '--root', self.state_root] + list(args)

    def _snapshot(self):
        # Walk from the runtime's PID only while it is unreaped: afterwards the PID may be reused.
        live = self.proc is not None and self.proc.returncode is None
        found = descendants([self.proc.pid] if live else [], session=self.proc.pid if live else None)
        for pid in cgroup_pids(cgroup_dirs(self.id)):
            stat = proc_stat(pid)
            if stat:
                found.setdefault(pid, stat[2])
        pid = self._container_pid()
        if pid:
            stat = proc_stat(pid)
            if stat:
                found.setdefault(pid, stat[2])
        self.seen.update(found)
        return found

    def _container_pid(self):
        try:
            with open(self.pid_file) as handle:
                return int(handle.read().strip() or 0)
        except (IOError, OSError, ValueError):
            return 0

    def run(self):
        """Start the canary and judge it. Returns a result dict (without runtime/version)."""
        started = time.time()
        self._prepare()
        self.agent = Agent(self.socket, answer=self.answer).start()
        out = open(os.path.join(self.tmp, 'stdout'), 'wb')
        err = open(os.path.join(self.tmp, 'stderr'), 'wb')
        argv = self._runtime('run', '--bundle', self.bundle, '--pid-file', self.pid_file)
        if self.kind == 'runc':
            argv.append('--keep')  # keep state so that "stopped" can be checked, then delete
        argv.append(self.id)
        try:
            # Popen, not run_command: a hung runtime must be found and killed by PID.
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,  # pylint: disable=ansible-bad-function
                                         stderr=err, env=ENV, cwd=self.tmp, close_fds=True, start_new_session=True)
        finally:
            out.close()
            err.close()
        timed_out, rc = False, None
        deadline = started + self.timeout
        while True:
            rc = self.proc.poll()
            if rc is not None:
                break
            if time.time() >= deadline:
                timed_out = True
                break
            self._snapshot()
            time.sleep(0.05)
        status = None
        if not timed_out and rc == 0 and self.kind == 'runc':
            status = self._status(max(1.0, deadline - time.time()))
        with open(os.path.join(self.tmp, 'stderr'), 'rb') as handle:
            stderr = handle.read(64 * 1024)
        outcome, message = classify(timed_out, rc, stderr, self.agent.connected, status)
        if self.agent.errors and outcome == 'ok':
            outcome, message = 'error', '; '.join(self.agent.errors)
        return {
            'syscalls': self.syscalls,
            'syscall': ','.join(self.syscalls),
            'no_new_privileges': self.nnp,
            'outcome': outcome,
            'message': message,
            'exit_code': rc,
            'agent_connected': self.agent.connected,
            'notifications': self.agent.notifications,
            'container_id': self.id,
            'seconds': round(time.time() - started, 3),
        }

    def _status(self, limit):
        """Container status after `run` returned; polls until stopped or `limit` seconds pass."""
        deadline = time.time() + limit
        status = 'unknown'
        while True:
            rc, out, _err, _t = run_bounded(self._runtime('state', self.id), max(1, int(deadline - time.time()) + 1))
            if rc == 0:
                try:
                    status = json.loads(out.decode('utf-8')).get('status') or 'unknown'
                except ValueError:
                    status = 'unknown'
            if status == 'stopped' or time.time() >= deadline:
                return status
            time.sleep(0.1)

    def cleanup(self):
        """Kill by PID, delete the container, remove cgroups, socket, mounts and temp files.

        A signal that arrives meanwhile is held back until the cleanup is complete.
        """
        with deferred_interrupts():
            return self._cleanup()

    def _cleanup(self):
        problems = []
        if self.proc is not None:
            if self.proc.poll() is None:
                self._snapshot()
                kill_exact(self.proc.pid, None)  # a hung runc ignores SIGTERM
            for pid, start in list(self.seen.items()):
                kill_exact(pid, start)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                problems.append('runtime process %d survived SIGKILL' % self.proc.pid)
            # Stragglers that were reparented or setsid()ed: the cgroup and session still name them.
            for _round in range(5):
                found = self._snapshot()
                if not found:
                    break
                for pid, start in found.items():
                    kill_exact(pid, start)
                time.sleep(0.1)
            if os.path.isdir(self.state_root):
                try:
                    rc, _out, err, timed_out = run_bounded(self._runtime('delete', '--force', self.id), 10)
                    if timed_out:
                        problems.append('%s delete did not return' % self.runtime)
                except OSError as exc:
                    problems.append('%s delete: %s' % (self.runtime, exc))
        if self.agent is not None:
            self.agent.stop()
        # Killed processes are reaped by their new parent: give them a moment to vanish.
        deadline = time.time() + 5
        while time.time() < deadline:
            alive = [pid for pid, start in self.seen.items() if (proc_stat(pid) or (0, 0, None))[2] == start]
            if not alive:
                break
            for pid in alive:
                kill_exact(pid, self.seen[pid])
            time.sleep(0.1)
        else:
            problems.append('processes still alive: %s' % ' '.join(str(p) for p in sorted(alive)))
        for path in cgroup_dirs(self.id):
            for _try in range(20):
                try:
                    os.rmdir(path)
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                problems.append('cgroup %s could not be removed' % path)
        for point in mounts_under(self.tmp):
            if not detach_mount(point):
                problems.append('mount %s could not be detached' % point)
        if mounts_under(self.tmp):
            problems.append('mounts remain under %s: temp dir kept' % self.tmp)
        elif os.path.isdir(self.tmp):
            shutil.rmtree(self.tmp, ignore_errors=True)
            if os.path.exists(self.tmp):
                problems.append('temp dir %s could not be removed' % self.tmp)
        self.leftovers = problems
        return problems


def probe(runtime, kind, syscalls, no_new_privileges, timeout, tmp_parent=None, answer=True):
    """Run one canary; always cleans up. Returns the result dict with `leftovers`."""
    canary = Canary(runtime, kind, syscalls, no_new_privileges, timeout, tmp_parent, answer)
    result = None
    try:
        result = canary.run()
    finally:
        leftovers = canary.cleanup()
    result['leftovers'] = leftovers
    return result


_DEFER = {'depth': 0, 'pending': None}  # pending: a signal number


def _raise_interrupted(signum, _frame):
    if _DEFER['depth']:
        _DEFER['pending'] = signum  # cleanup in progress: raise when it is done
        return
    raise ProbeInterrupted('interrupted by signal %d' % signum)


class deferred_interrupts(object):
    """Hold back ProbeInterrupted while cleanup runs; raise it afterwards."""

    def __enter__(self):
        _DEFER['depth'] += 1
        return self

    def __exit__(self, exc_type, *exc):
        _DEFER['depth'] -= 1
        if _DEFER['depth'] == 0 and _DEFER['pending'] is not None:
            signum = _DEFER['pending']
            _DEFER['pending'] = None
            if exc_type is None:
                raise ProbeInterrupted('interrupted by signal %s' % signum)
        return False


class interrupt_guard(object):
    """Turn SIGTERM/SIGHUP/SIGINT into an exception for the duration, so `finally` cleans up."""

    SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)

    def __enter__(self):
        self._old = {}
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._old[sig] = signal.signal(sig, _raise_interrupted)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._old.items():
            signal.signal(sig, handler)
        return False


# --- a whole run ----------------------------------------------------------------------------

SYSCALL_NAME = re.compile(r'^[a-z_][a-z0-9_]{0,63}$')


def default_syscalls():
    """The hazard catalogue's probe list when it has one, else this module's default."""
    try:
        from ansible_collections.runcguard.seccomp.plugins.module_utils._hazards import PROBE_SYSCALLS
        return tuple(PROBE_SYSCALLS)
    except ImportError:
        return DEFAULT_SYSCALLS


def profile_notify_set(path, max_size=4 * 1024 * 1024):
    """Effective NOTIFY syscalls of a profile file. Raises ValueError with a clear message."""
    from ansible_collections.runcguard.seccomp.plugins.module_utils._files import FileProblem, read_bounded
    from ansible_collections.runcguard.seccomp.plugins.module_utils._profile import (
        ProfileError, decode_profile, notify_analysis, seccomp_section)
    try:
        doc, fmt = decode_profile(read_bounded(path, max_size))
        section = seccomp_section(doc, fmt)
    except FileProblem as exc:
        raise ValueError('profile %s: %s' % (path, exc.message))
    except ProfileError as exc:
        raise ValueError('profile %s: %s' % (path, exc))
    if not section:
        raise ValueError('profile %s has no seccomp section' % path)
    info = notify_analysis(section, fmt)
    if info['default_notify']:
        raise ValueError('profile %s sends every syscall to SCMP_ACT_NOTIFY (defaultAction): '
                         'no runtime can start it, nothing to probe' % path)
    if not info['notify_syscalls']:
        raise ValueError('profile %s has no SCMP_ACT_NOTIFY rule: nothing to probe' % path)
    return info['notify_syscalls']


def run_all(runtimes, syscall_sets, nnp_values, timeout, profile=None, tmp_parent=None):
    """Probe every runtime x syscall set x no_new_privileges value, one at a time.

    Returns (results, skipped): skipped holds {runtime, message} for binaries that are not
    runc/crun or cannot be run. A probe that raises becomes an `error` result; an interrupt
    (ProbeInterrupted, KeyboardInterrupt) propagates after that probe's cleanup.
    """
    results, skipped, seen = [], [], set()
    unsupported = host_support()
    for path in runtimes:
        if os.path.realpath(path) in seen:
            continue  # /usr/bin/runc -> /usr/sbin/runc: one binary, probed once
        seen.add(os.path.realpath(path))
        info, refusal = runtime_identity(path)
        if refusal:
            skipped.append({'runtime': path, 'message': refusal})
            continue
        for syscalls in syscall_sets:
            for nnp in nnp_values:
                result = {
                    'runtime': path, 'name': info['name'], 'version': info['version'],
                    'dev': bool(info.get('dev')), 'profile': profile, 'syscalls': sorted(set(syscalls)), 'syscall': ','.join(sorted(set(syscalls))),
                    'no_new_privileges': bool(nnp), 'exit_code': None, 'agent_connected': False,
                    'notifications': 0, 'container_id': None, 'seconds': 0.0, 'leftovers': [],
                }
                if unsupported:
                    result.update(outcome='unsupported', message=unsupported)
                else:
                    started = time.time()
                    try:
                        result.update(probe(path, info['name'], syscalls, nnp, timeout, tmp_parent))
                    except (OSError, ValueError, RuntimeError) as exc:
                        result.update(outcome='error', seconds=round(time.time() - started, 3),
                                      message='probe of %s could not run: %s' % (path, exc))
                results.append(result)
    return results, skipped


def summary(results):
    counts = dict((outcome, 0) for outcome in OUTCOMES)
    for result in results:
        counts[result['outcome']] = counts.get(result['outcome'], 0) + 1
    return counts
