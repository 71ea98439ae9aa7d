# -*- coding: utf-8 -*-
# Copyright (c) runcguard.seccomp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The canary's seccomp agent: takes the notify fd from the runtime, CONTINUEs every notification."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import array
import errno
import fcntl
import json
import os
import select
import socket
import threading

from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.abi import (
    SECCOMP_NOTIF_RESP_SIZE, SECCOMP_NOTIF_SIZE, notif_ioctls, notif_sizes, pack_continue, unpack_notif)


class Agent(object):
    """Listens on a unix socket, takes the seccomp fd from the runtime, CONTINUEs everything."""

    def __init__(self, path, arch=None, sizes=None, answer=True):
        self.path = path
        self.answer = answer  # False only in tests: a mute agent reproduces a stuck runtime init
        self.arch = arch or os.uname()[4]
        self.sizes = sizes or notif_sizes(self.arch)
        self.ioctls = notif_ioctls(self.arch)
        self.connected = False    # the seccomp fd arrived
        self._conn = None         # the connection being read
        self._taken = threading.Event()  # set when a connection has been read
        self.state = None
        self.notifications = 0
        self.errors = []
        self._fds = []
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(path)
        os.chmod(path, 0o600)
        self._sock.listen(4)
        self._wake = os.pipe()  # stop() writes here so that the thread quits at once
        self._thread = threading.Thread(target=self._serve, name='runcguard-seccomp-agent')
        self._thread.daemon = True

    def start(self):
        self._thread.start()
        return self

    def _serve(self):
        try:
            poller = select.poll()
            poller.register(self._sock.fileno(), select.POLLIN)
            poller.register(self._wake[0], select.POLLIN)
            while not self._stop.is_set():
                for fd, events in poller.poll(1000):
                    if fd == self._wake[0]:
                        return
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

    def fd_on_its_way(self):
        """Whether the notify fd arrived or can arrive without the runtime doing anything more.

        True when it was received, a connection waits in the listen backlog, or the connection
        being read has unread data. False when a runtime connected but sent nothing yet: crun < 1.6
        blocks right there, in its own sendmsg under NOTIFY.
        """
        if self.connected:
            return True
        conn = self._conn
        try:
            return bool(select.select([self._sock] + ([conn] if conn is not None else []), [], [], 0)[0])
        except (OSError, ValueError):  # closed meanwhile: it was being read
            return True

    def settle(self, limit=1.0):
        """Wait until a connection the runtime made is read: the runtime may exit before that."""
        if not self.connected and (self._conn is not None or self.fd_on_its_way()):
            self._taken.wait(limit)

    def _accept(self):
        try:
            return self._take()
        finally:
            self._taken.set()

    def _take(self):
        conn, _addr = self._sock.accept()
        self._conn = conn
        try:
            conn.settimeout(5)
            space = socket.CMSG_SPACE(16 * array.array('i').itemsize)
            data, ancdata, _flags, _addr = conn.recvmsg(1 << 20, space)
        finally:
            self._conn = None
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
        if self._thread.is_alive() and self._wake:
            os.write(self._wake[1], b'x')
            self._thread.join(3)
        for fd in self._fds + list(self._wake):
            try:
                os.close(fd)
            except OSError:
                pass
        self._fds, self._wake = [], ()
        self._sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass
