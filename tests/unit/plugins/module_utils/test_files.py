# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_files: bounded reading on real files, FIFOs, sockets, loops (tests run as root)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import fcntl
import os
import socket
import stat
import struct

import pytest

from ansible_collections.runcguard.seccomp.plugins.module_utils import _files
from ansible_collections.runcguard.seccomp.plugins.module_utils._files import (
    FileLock, FileProblem, backup_copy, is_scratch, is_socket, list_dir, printable, read_bounded, read_text,
    remove_stale_scratch, replace_file, utf8_safe, walk_files,
)


def _problem(path, size=100):
    with pytest.raises(FileProblem) as info:
        read_bounded(str(path), size)
    return info.value.message


def test_reads_regular_file_and_follows_symlink(tmp_path):
    target = tmp_path / 'p.json'
    target.write_bytes(b'{"a": 1}')
    (tmp_path / 'link.json').symlink_to('p.json')
    assert read_bounded(str(tmp_path / 'link.json'), 100) == b'{"a": 1}'
    assert read_bounded(str(target), 8) == b'{"a": 1}'  # exactly the limit is fine


def test_oversized_file_is_refused(tmp_path):
    big = tmp_path / 'big.json'
    big.write_bytes(b' ' * 101)
    assert 'too large: 101 bytes' in _problem(big, 100)


def test_fifo_does_not_block_and_is_refused(tmp_path):
    fifo = tmp_path / 'fifo.json'
    os.mkfifo(str(fifo))
    assert 'FIFO' in _problem(fifo)


def test_directory_missing_loop_and_socket(tmp_path):
    assert 'is a directory' in _problem(tmp_path)
    assert 'does not exist' in _problem(tmp_path / 'nope.json')
    (tmp_path / 'a').symlink_to('b')
    (tmp_path / 'b').symlink_to('a')
    assert 'symlink loop' in _problem(tmp_path / 'a')
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(tmp_path / 's.sock'))
        assert 'socket' in _problem(tmp_path / 's.sock')
        assert is_socket(str(tmp_path / 's.sock')) is True
    finally:
        sock.close()
    assert is_socket(str(tmp_path)) is False
    assert is_socket(str(tmp_path / 'missing')) is False


def test_read_text_rejects_non_utf8(tmp_path):
    bad = tmp_path / 'bad.conf'
    bad.write_bytes(b'runtime = "\xff\xfe"\n')
    with pytest.raises(FileProblem) as info:
        read_text(str(bad), 100)
    assert 'not valid UTF-8' in info.value.message


def test_list_dir_and_walk(tmp_path):
    assert list_dir(str(tmp_path / 'missing')) == []
    (tmp_path / 'd' / 'operator' / 'ns').mkdir(parents=True)
    (tmp_path / 'd' / 'b.json').write_text('{}')
    (tmp_path / 'd' / 'operator' / 'ns' / 'a.json').write_text('{}')
    (tmp_path / 'd' / 'loop').symlink_to('.')  # a directory symlink is not followed
    found = sorted(os.path.relpath(p, str(tmp_path / 'd')) for p, err in walk_files(str(tmp_path / 'd')))
    assert found == ['b.json', 'loop', 'operator/ns/a.json']


# --- writing ------------------------------------------------------------------------------------
def test_scratch_names_are_recognised():
    assert is_scratch('.prof.json.runcguard-lock')
    assert is_scratch('.prof.json.runcguard-0a1b2c3d4e5f.tmp')
    assert is_scratch('.prof.json.k2j_8x0a.tmp')  # tempfile.mkstemp name of older releases
    assert not is_scratch('prof.json') and not is_scratch('.hidden.json') and not is_scratch('prof.json.tmp')


def _first_write_modes(monkeypatch):
    """Mode of each file descriptor when the first byte is written to it."""
    seen, real_write = {}, os.write

    def spy(fd, data):
        seen.setdefault(fd, stat.S_IMODE(os.fstat(fd).st_mode))
        return real_write(fd, data)
    monkeypatch.setattr(_files.os, 'write', spy)
    return seen


def test_backup_and_replacement_never_wider_than_the_original(tmp_path, monkeypatch):
    path = tmp_path / 'p.json'
    path.write_bytes(b'old')
    os.chmod(str(path), 0o600)
    os.setxattr(str(path), 'user.origin', b'kept')
    old_umask = os.umask(0)  # the widest umask: only the original's mode may limit the copies
    try:
        modes = _first_write_modes(monkeypatch)
        backup = backup_copy(str(path), b'old')
        replace_file(str(path), b'new')
    finally:
        os.umask(old_umask)
    assert modes and set(modes.values()) == {0o600}
    for name in (backup, str(path)):
        assert stat.S_IMODE(os.stat(name).st_mode) == 0o600
        assert os.getxattr(name, 'user.origin') == b'kept'
    assert open(backup, 'rb').read() == b'old' and path.read_bytes() == b'new'
    assert backup.startswith(str(path) + '.') and backup.endswith('~')
    assert sorted(os.listdir(str(tmp_path))) == sorted(['p.json', os.path.basename(backup)])


def _acl_entry(tag, perm, ident=0xffffffff):
    return struct.pack('<HHI', tag, perm, ident)


# user::rw- user:nobody:r-- group::--- mask::r-- other::--- (the kernel's xattr form of a POSIX ACL)
ACL = struct.pack('<I', 2) + b''.join([_acl_entry(0x01, 6), _acl_entry(0x02, 4, 65534), _acl_entry(0x04, 0),
                                       _acl_entry(0x10, 4), _acl_entry(0x20, 0)])


def test_backup_keeps_a_posix_acl(tmp_path):
    path = tmp_path / 'p.json'
    path.write_bytes(b'old')
    try:
        os.setxattr(str(path), 'system.posix_acl_access', ACL)
    except OSError as exc:
        pytest.skip('no POSIX ACLs on this file system: %s' % exc)
    backup = backup_copy(str(path), b'old')
    replace_file(str(path), b'new')
    for name in (backup, str(path)):
        assert os.getxattr(name, 'system.posix_acl_access') == ACL
        assert stat.S_IMODE(os.stat(name).st_mode) == stat.S_IMODE(os.stat(str(path)).st_mode)


def test_lock_is_exclusive_bounded_and_removed(tmp_path):
    path = str(tmp_path / 'p.json')
    first = FileLock(path, 0).acquire()
    assert os.path.basename(first.path) == '.p.json.runcguard-lock' and first.stale_pid is None
    with pytest.raises(FileProblem) as err:
        FileLock(path, 0).acquire()
    assert 'another run (pid %d) has held the lock' % os.getpid() in err.value.message
    assert 'nothing was changed' in err.value.message
    first.release()
    assert not os.path.exists(first.path)
    FileLock(path, 0).acquire().release()


def test_lock_left_by_a_killed_run_is_taken_and_reported(tmp_path):
    path = str(tmp_path / 'p.json')
    with open(str(tmp_path / '.p.json.runcguard-lock'), 'w') as handle:
        handle.write('4242\n')  # the holder died: its pid is there, nobody holds the flock
    lock = FileLock(path, 0).acquire()
    assert lock.stale_pid == '4242'
    with open(lock.path) as handle:
        assert handle.read() == '%d\n' % os.getpid()
    lock.release()


def test_empty_lock_left_by_a_run_killed_before_it_wrote_its_pid_is_stale(tmp_path):
    path = str(tmp_path / 'p.json')
    open(str(tmp_path / '.p.json.runcguard-lock'), 'w').close()
    lock = FileLock(path, 0).acquire()
    assert lock.stale_pid == '?'
    lock.release()
    assert FileLock(path, 0).acquire().stale_pid is None  # a fresh lock file is not stale


def test_lock_deleted_while_waiting_is_not_shared(tmp_path, monkeypatch):
    """A waiter whose lock file was deleted by the holder must lock the new file, not the deleted inode."""
    path = str(tmp_path / 'p.json')
    holder = FileLock(path, 0).acquire()
    real_flock, calls = fcntl.flock, []

    def flock_after_holder_leaves(fd, op):
        calls.append(fd)
        if len(calls) == 1:
            holder.release()  # the holder finishes between the waiter's open and its flock
        return real_flock(fd, op)
    monkeypatch.setattr(fcntl, 'flock', flock_after_holder_leaves)
    lock = FileLock(path, 1).acquire()
    assert len(calls) == 2  # retried on a fresh file
    assert os.path.samestat(os.fstat(lock.fd), os.stat(lock.path))
    lock.release()


def test_stale_temporary_files_are_removed(tmp_path):
    path = tmp_path / 'p.json'
    path.write_bytes(b'{}')
    for name in ('.p.json.runcguard-00aa11bb22cc.tmp', '.p.json.ab12_xyz.tmp', '.other.json.runcguard-1.tmp',
                 '.p.json.notours.tmp', 'p.json.1.2026-01-01@00:00:00~'):
        (tmp_path / name).write_bytes(b'x')
    removed = remove_stale_scratch(str(path))
    assert sorted(removed) == ['.p.json.ab12_xyz.tmp', '.p.json.runcguard-00aa11bb22cc.tmp']
    assert sorted(os.listdir(str(tmp_path))) == ['.other.json.runcguard-1.tmp', '.p.json.notours.tmp', 'p.json',
                                                 'p.json.1.2026-01-01@00:00:00~']


def test_printable_names():
    bad = os.fsdecode(b'/k/prof\xff.json')
    assert printable(bad) == '/k/prof\\xff.json'
    assert printable('a\ud800b') == 'a\\ud800b' and printable('caf\u00e9') == 'caf\u00e9'
    assert utf8_safe({bad: [bad, 1, None]}) == {'/k/prof\\xff.json': ['/k/prof\\xff.json', 1, None]}
