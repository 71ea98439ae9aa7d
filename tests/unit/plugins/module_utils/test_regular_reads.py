# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One policy for every reader (_safefile.open_for_read, HostFs.open_read, RootFs.open_read): nothing
but a regular file is opened for reading (a FIFO's blocked writer stays blocked), and a lookup made
for a user (``as_user``) stops at a directory that user cannot search or a file they cannot read
(owner, group and other bits against their uid and groups). Real FIFOs and a real writer process."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import signal
import subprocess
import time

import pytest

from ansible_collections.runcguard.seccomp.plugins.module_utils import _safefile
from ansible_collections.runcguard.seccomp.plugins.module_utils._files import FileProblem
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.rootfs import HostFs, RootFs

STRANGER = 0x7ffe1234  # a uid and group nobody has


@pytest.fixture
def fifo(tmp_path):
    """A FIFO in a tree and a writer blocked in open(2) on it until someone opens it for reading."""
    path = tmp_path / 'tree' / 'etc' / 'p.json'
    path.parent.mkdir(parents=True)
    os.mkfifo(str(path), 0o644)
    writer = subprocess.Popen(['/bin/sh', '-c', 'echo released > "$0"', str(path)], start_new_session=True)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and writer.poll() is None and 'partner' not in _wchan(writer.pid):
        time.sleep(0.05)
    assert writer.poll() is None
    try:
        yield {'path': str(path), 'tree': str(tmp_path / 'tree'), 'writer': writer}
    finally:
        if writer.poll() is None:
            os.killpg(writer.pid, signal.SIGKILL)
        writer.wait(timeout=10)


def _wchan(pid):
    try:
        with open('/proc/%d/wchan' % pid) as handle:
            return handle.read()
    except OSError:
        return ''


def _still_blocked(writer):
    time.sleep(0.3)
    return writer.poll() is None


@pytest.mark.parametrize('reader', ['open_for_read', 'read_file', 'HostFs', 'RootFs'])
def test_a_fifo_is_refused_without_being_opened(fifo, reader):
    with pytest.raises(FileProblem) as info:
        if reader == 'open_for_read':
            os.close(_safefile.open_for_read(fifo['path']))
        elif reader == 'read_file':
            _safefile.read_file(fifo['path'], 1 << 20)
        elif reader == 'HostFs':
            HostFs().sha256(fifo['path'], 1 << 20)
        else:
            RootFs(fifo['tree']).read('/etc/p.json', 1 << 20)
    assert 'FIFO' in info.value.message
    assert _still_blocked(fifo['writer']), 'the FIFO was opened: its writer was released'


def _tree(tmp_path, dir_mode, file_mode, gid=None):
    tree = tmp_path / 'node'
    secret = tree / 'root' / 'secret'
    secret.mkdir(parents=True)
    (secret / 'p.json').write_text('{"defaultAction": "SCMP_ACT_ALLOW"}')
    os.chmod(str(secret / 'p.json'), file_mode)
    if gid is not None and os.geteuid() == 0:
        os.chown(str(secret), 0, gid)
        os.chown(str(secret / 'p.json'), 0, gid)
    os.chmod(str(secret), dir_mode)
    os.chmod(str(tree / 'root'), 0o755)
    return str(tree)


@pytest.mark.parametrize('dir_mode, file_mode', [(0o700, 0o644), (0o755, 0o600), (0o750, 0o640)])
def test_as_user_refuses_what_that_user_could_not_read(tmp_path, dir_mode, file_mode):
    tree = _tree(tmp_path, dir_mode, file_mode)
    ids = (STRANGER, frozenset([STRANGER]))
    with pytest.raises(_safefile.UserControlled) as info:
        RootFs(tree).open_read('/root/secret/p.json', as_user=ids)
    assert 'p.json' in info.value.message and 'SCMP' not in info.value.message
    with pytest.raises(_safefile.UserControlled):
        os.close(HostFs().open_read(os.path.join(tree, 'root/secret/p.json'), as_user=ids))
    os.close(RootFs(tree).open_read('/root/secret/p.json'))  # for root (no user) it is readable


def test_as_user_reads_what_that_user_could_read(tmp_path):
    tree = _tree(tmp_path, 0o755, 0o644)
    ids = (STRANGER, frozenset([STRANGER]))
    os.chmod(str(tmp_path), 0o755)
    fd = RootFs(tree).open_read('/root/secret/p.json', as_user=ids)
    try:
        assert os.read(fd, 100).startswith(b'{"defaultAction"')
    finally:
        os.close(fd)
    if all(os.stat(p).st_mode & 0o001 for p in _parents(tree)):  # the host walk starts at /
        os.close(HostFs().open_read(os.path.join(tree, 'root/secret/p.json'), as_user=ids))


@pytest.mark.skipif(os.geteuid() != 0, reason='chown to a group needs root')
def test_as_user_group_bits_count_for_members_only(tmp_path):
    tree = _tree(tmp_path, 0o750, 0o640, gid=STRANGER)
    os.close(RootFs(tree).open_read('/root/secret/p.json', as_user=(STRANGER + 1, frozenset([STRANGER]))))
    with pytest.raises(_safefile.UserControlled):
        RootFs(tree).open_read('/root/secret/p.json', as_user=(STRANGER + 1, frozenset([STRANGER + 1])))


def _parents(path):
    out = []
    while path not in ('/', ''):
        out.append(path)
        path = os.path.dirname(path)
    return out
