# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SSH hosts for the host tests and benchmarks (not part of the collection): this machine answering
SSH on loopback addresses 127.0.1.x, through sshd processes of our own.

``SshFleet(count, workdir)`` starts one ``/usr/sbin/sshd -D`` per 16 addresses (its own config,
host key, authorized key and pid file under ``workdir``; one free port shared by its addresses),
key authentication only, root login with the fleet's key. ``inventory()`` writes an inventory with
the SSH connection, ``env()`` the Ansible settings a fleet uses (pipelining, ControlPersist, a
control path directory of our own). ``stop()`` ends the ControlPersist masters, every sshd started
and what runs under them (SIGKILL after a grace period). The machine's own ssh service is never
started or touched: the addresses are loopback only, the port is not 22.

``pytest`` fixtures in the tests wrap it; ``benchmarks/fleet_bench.py --ssh`` uses it too.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import random
import shutil
import signal
import socket
import subprocess
import time

SSHD = '/usr/sbin/sshd'
PER_SSHD = 16
NET = '127.0.1.'
PREFIX = 'rcg-fleet-'


class SshUnavailable(Exception):
    """sshd or ssh-keygen is not installed (scripts/setup.sh installs openssh-server)."""


def available():
    """None when SSH hosts can be made here, else why not."""
    for tool in (SSHD, shutil.which('ssh-keygen'), shutil.which('ssh')):
        if not tool or not os.access(tool, os.X_OK):
            return 'openssh-server / openssh-client missing (scripts/setup.sh installs them)'
    return None


def _free_port(addresses):
    """A port no one listens on at any of ``addresses`` (never 22)."""
    for _attempt in range(200):
        port = random.randint(20000, 59999)
        socks = []
        try:
            for address in addresses:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(sock)
                sock.bind((address, port))
            return port
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError('no free port on %s..%s' % (addresses[0], addresses[-1]))


def _children():
    """pid -> [child pids] of every process now."""
    tree = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as handle:
                stat = handle.read()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(')') + 2:].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def descendants(pids):
    """Every process below ``pids`` (not the pids themselves)."""
    tree, found, todo = _children(), [], list(pids)
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def command_line(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as handle:
            return handle.read().replace(b'\0', b' ').decode('utf-8', 'replace').strip()
    except OSError:
        return ''


class SshFleet(object):
    def __init__(self, count, workdir, first=1):
        if count < 1 or first + count - 1 > 254:
            raise ValueError('127.0.1.%d..%d is not a usable range' % (first, first + count - 1))
        self.count = count
        self.workdir = str(workdir)
        self.addresses = [NET + str(first + index) for index in range(count)]
        self.hosts = ['ssh%03d' % (first + index) for index in range(count)]
        self.key = os.path.join(self.workdir, 'client_key')
        # short: a control socket path must fit in sockaddr_un (108 bytes)
        self.control_dir = os.path.join(self.workdir, 'cp')
        self.daemons = []  # (Popen, [addresses], port)
        self.port_of = {}

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, timeout=30):
        reason = available()
        if reason:
            raise SshUnavailable(reason)
        os.makedirs(self.control_dir, mode=0o700, exist_ok=True)
        # sshd's privilege separation directory (Debian); creating it starts nothing
        os.makedirs('/run/sshd', mode=0o755, exist_ok=True)
        host_key = os.path.join(self.workdir, 'host_key')
        for path in (host_key, self.key):
            if not os.path.exists(path):
                subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', PREFIX + 'test', '-f', path],
                               check=True, stdout=subprocess.DEVNULL)
        authorized = os.path.join(self.workdir, 'authorized_keys')
        shutil.copyfile(self.key + '.pub', authorized)
        os.chmod(authorized, 0o600)
        try:
            for group in range(0, self.count, PER_SSHD):
                addresses = self.addresses[group:group + PER_SSHD]
                port = _free_port(addresses)
                config = os.path.join(self.workdir, 'sshd-%d.conf' % (group // PER_SSHD))
                with open(config, 'w') as handle:
                    handle.write(self._config(addresses, port, host_key, authorized, group // PER_SSHD))
                proc = subprocess.Popen([SSHD, '-D', '-e', '-f', config], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL,
                                        stderr=open(os.path.join(self.workdir, 'sshd-%d.log' % (group // PER_SSHD)),
                                                    'ab'))
                self.daemons.append((proc, addresses, port))
                for address in addresses:
                    self.port_of[address] = port
            self._wait(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _config(self, addresses, port, host_key, authorized, index):
        lines = ['# %s test sshd (tests/host/sshfleet.py): loopback only, key authentication only' % PREFIX]
        lines += ['ListenAddress %s:%d' % (address, port) for address in addresses]
        lines += [
            'HostKey %s' % host_key,
            'PidFile %s' % os.path.join(self.workdir, 'sshd-%d.pid' % index),
            'AuthorizedKeysFile %s' % authorized,
            'PubkeyAuthentication yes',
            'PasswordAuthentication no',
            'KbdInteractiveAuthentication no',
            'PermitRootLogin prohibit-password',
            'UsePAM no',
            # the work dir is under /tmp (world-writable): StrictModes would refuse the key file
            'StrictModes no',
            'MaxStartups 400:30:800',
            'MaxSessions 100',
            'UseDNS no',
            'LogLevel ERROR',
            'Subsystem sftp internal-sftp',
        ]
        return '\n'.join(lines) + '\n'

    def _wait(self, timeout):
        deadline = time.monotonic() + timeout
        for proc, addresses, port in self.daemons:
            for address in addresses:
                while True:
                    if proc.poll() is not None:
                        raise RuntimeError('sshd for %s exited with %s (log in %s)' % (
                            address, proc.returncode, self.workdir))
                    try:
                        socket.create_connection((address, port), timeout=1).close()
                        break
                    except OSError:
                        if time.monotonic() > deadline:
                            raise RuntimeError('sshd does not answer on %s:%d' % (address, port))
                        time.sleep(0.05)

    def listener_pids(self):
        return [proc.pid for proc, _addresses, _port in self.daemons if proc.poll() is None]

    def sessions(self):
        """Processes below our sshd listeners: per-connection sshd processes and what they run."""
        return [(pid, command_line(pid)) for pid in descendants(self.listener_pids())]

    def masters(self):
        """ControlPersist master ssh processes of this fleet (their command line names our control dir)."""
        found = []
        for entry in os.listdir('/proc'):
            if entry.isdigit() and self.control_dir in command_line(int(entry)) and \
                    command_line(int(entry)).startswith('ssh'):
                found.append(int(entry))
        return found

    def close_masters(self):
        """Ask every ControlPersist master of this fleet to exit (the next run connects anew)."""
        for name in (os.listdir(self.control_dir) if os.path.isdir(self.control_dir) else []):
            subprocess.run(['ssh', '-o', 'ControlPath=%s' % os.path.join(self.control_dir, name), '-O', 'exit', 'x'],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10, check=False)
        deadline = time.monotonic() + 5
        while self.masters() and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self, grace=3):
        """End the ControlPersist masters, our sshd listeners and every process below them."""
        self.close_masters()
        victims = set(self.masters())
        victims.update(descendants(self.listener_pids()))
        listeners = self.listener_pids()
        for pid in list(victims) + listeners:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc, _addresses, _port in self.daemons:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for pid in victims:
            if os.path.exists('/proc/%d' % pid):
                _signal(pid, signal.SIGKILL)
        self.daemons = []

    # -- what Ansible needs -----------------------------------------------------------------
    def host_vars(self, host):
        address = self.addresses[self.hosts.index(host)]
        return {'ansible_host': address, 'ansible_port': self.port_of[address], 'ansible_user': 'root',
                'ansible_connection': 'ssh', 'ansible_ssh_private_key_file': self.key}

    def inventory(self, path, python, group='fleet', extra_vars=None):
        """An INI inventory of every host (``group``), modules run by ``python``."""
        lines = ['[%s]' % group]
        for host in self.hosts:
            values = dict(self.host_vars(host), **(extra_vars or {}).get(host, {}))
            lines.append(host + ''.join(" %s='%s'" % (k, v) for k, v in sorted(values.items())))
        lines += ['', '[%s:vars]' % group, 'ansible_python_interpreter=%s' % python]
        with open(str(path), 'w') as handle:
            handle.write('\n'.join(lines) + '\n')
        return str(path)

    def env(self, base=None, persist='120s'):
        """Ansible settings of an SSH fleet: pipelining, ControlPersist, our control path directory."""
        env = dict(base if base is not None else os.environ)
        env.update(ANSIBLE_PIPELINING='True', ANSIBLE_HOST_KEY_CHECKING='False',
                   ANSIBLE_SSH_ARGS='-o ControlMaster=auto -o ControlPersist=%s -o UserKnownHostsFile=/dev/null '
                                    '-o StrictHostKeyChecking=no -o LogLevel=ERROR' % persist,
                   ANSIBLE_SSH_CONTROL_PATH_DIR=self.control_dir)
        return env

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _signal(pid, signum):
    try:
        os.kill(pid, signum)
    except OSError:
        pass
