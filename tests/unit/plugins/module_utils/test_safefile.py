# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_safefile: the race-free root file helper and the ownership / read / exec policy, on real files.

Tests run as root; "a user" is uid/gid 65534 (nobody) given files with chown. The real attacker
(a real user racing a real run) is in tests/host/test_attacker.py.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import stat
import struct

import pytest

from ansible_collections.runcguard.seccomp.plugins.module_utils import _safefile
from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile import control as safefile_control
from ansible_collections.runcguard.seccomp.plugins.module_utils._files import FileProblem
from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile import (
    Attributes, SafeDir, UserControlled, check_read, copy_file, may_execute, read_file, remove_file, user_control,
    write_file,
)

NOBODY = 65534

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='needs root (chown to another user)')


@pytest.fixture(params=['openat2', 'walk'])
def mode(request, monkeypatch):
    """Every test twice: with openat2 where the kernel has it, and with the per-component walk alone."""
    if request.param == 'walk':
        monkeypatch.setitem(safefile_control._openat2_state, 'missing', True)
    return request.param


def _file(path, data=b'{}', mode=0o644, uid=0):
    path.write_bytes(data)
    os.chmod(str(path), mode)
    os.chown(str(path), uid, uid)
    return str(path)


def _user_dir(path, uid=NOBODY):
    path.mkdir()
    os.chown(str(path), uid, uid)
    return str(path)


def test_root_files_are_rewritten_keeping_owner_mode_and_xattrs(tmp_path, mode):
    path = _file(tmp_path / 'p.json', b'old', 0o640, uid=0)
    os.chown(path, 0, 4)
    os.setxattr(path, 'user.origin', b'kept')
    sdir, name = SafeDir.for_file(path)
    with sdir:
        assert sdir.controller is None and sdir.path == str(tmp_path)
        data, st, attrs = sdir.read_with_attributes(name, 100)
        backup = sdir.write(name, b'new', expect=st, attrs=attrs, backup=data)
    for name in (path, backup):
        st = os.stat(name)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 4, 0o640)
        assert os.getxattr(name, 'user.origin') == b'kept'
    assert open(path, 'rb').read() == b'new' and open(backup, 'rb').read() == b'old'
    assert sorted(os.listdir(str(tmp_path))) == sorted(['p.json', os.path.basename(backup)])


def test_a_root_symlink_in_root_directories_is_followed(tmp_path, mode):
    (tmp_path / 'real').mkdir()
    target = _file(tmp_path / 'real' / 'p.json')
    os.symlink('real/p.json', str(tmp_path / 'link.json'))
    sdir, name = SafeDir.for_file(str(tmp_path / 'link.json'))
    with sdir:
        assert sdir.join(name) == target


@pytest.mark.parametrize('how', ['owner', 'group-write', 'other-write', 'acl'])
def test_user_controlled_directories_are_refused_unless_allowed(tmp_path, mode, how):
    top = tmp_path / 'op'
    top.mkdir()
    if how == 'owner':
        os.chown(str(top), NOBODY, NOBODY)
    elif how == 'group-write':
        os.chown(str(top), 0, NOBODY)
        os.chmod(str(top), 0o775)
    elif how == 'other-write':
        os.chmod(str(top), 0o777)
    else:
        acl = struct.pack('<I', 2) + b''.join(struct.pack('<HHI', *e) for e in [
            (0x01, 7, 0xffffffff), (0x02, 7, NOBODY), (0x04, 5, 0xffffffff), (0x10, 7, 0xffffffff),
            (0x20, 5, 0xffffffff)])
        try:
            os.setxattr(str(top), 'system.posix_acl_access', acl)
        except OSError as exc:
            pytest.skip('no POSIX ACLs here: %s' % exc)
    path = _file(top / 'p.json')  # root's own file, in a directory a user can change
    with pytest.raises(UserControlled) as info:
        SafeDir.for_file(path)
    assert str(top) in info.value.message and 'allow_user_owned' in info.value.message
    sdir, name = SafeDir.for_file(path, allow_user_owned=True)
    with sdir:
        assert sdir.controller[0] == str(top)


def test_sticky_world_writable_directories_are_not_user_controlled(tmp_path, mode):
    top = tmp_path / 'tmp'
    top.mkdir()
    os.chmod(str(top), 0o1777)
    path = _file(top / 'p.json')
    assert user_control(path) is None
    os.chown(path, NOBODY, NOBODY)  # a user's own file there is theirs
    assert 'owned by uid 65534' in user_control(path)[1]


def test_a_users_symlink_is_never_followed_for_a_write(tmp_path, mode):
    udir = _user_dir(tmp_path / 'home')
    victim = _file(tmp_path / 'shadow', b'secret', 0o600)
    os.symlink(victim, os.path.join(udir, 'p.json'))
    os.lchown(os.path.join(udir, 'p.json'), NOBODY, NOBODY)
    for allowed in (False, True):
        with pytest.raises(UserControlled) as info:
            SafeDir.for_file(os.path.join(udir, 'p.json'), allow_user_owned=allowed)
        assert 'symlink' in info.value.message and 'shadow' not in info.value.message
    with pytest.raises(UserControlled):
        write_file(os.path.join(udir, 'p.json'), b'x', allow_user_owned=True)
    assert open(victim, 'rb').read() == b'secret'


def test_the_directory_is_held_by_descriptor_a_later_swap_changes_nothing(tmp_path, mode):
    """After the directory is opened, renaming it away and putting a symlink in its place (the attack)
    changes where nothing goes: the write lands in the directory that was opened."""
    udir = _user_dir(tmp_path / 'ns')
    path = _file(tmp_path / 'ns' / 'p.json', b'old', uid=NOBODY)
    (tmp_path / 'etc').mkdir()
    victim = _file(tmp_path / 'etc' / 'p.json', b'secret', 0o600)
    sdir, name = SafeDir.for_file(path, allow_user_owned=True)
    with sdir:
        data, st, attrs = sdir.read_with_attributes(name, 100)
        os.rename(udir, udir + '.old')
        os.symlink(str(tmp_path / 'etc'), udir)
        sdir.write(name, b'new', expect=st, attrs=attrs, backup=data)
    assert open(victim, 'rb').read() == b'secret' and os.listdir(str(tmp_path / 'etc')) == ['p.json']
    moved = udir + '.old'
    assert open(os.path.join(moved, 'p.json'), 'rb').read() == b'new'
    assert all(os.lstat(os.path.join(moved, n)).st_uid == NOBODY for n in os.listdir(moved))


def test_a_file_replaced_after_the_read_is_not_overwritten(tmp_path, mode):
    path = _file(tmp_path / 'p.json', b'old')
    sdir, name = SafeDir.for_file(path)
    with sdir:
        _data, st, attrs = sdir.read_with_attributes(name, 100)
        os.rename(path, path + '.moved')
        _file(tmp_path / 'p.json', b'other')
        with pytest.raises(FileProblem) as info:
            sdir.write(name, b'new', expect=st, attrs=attrs)
    assert 'replaced while it was being rewritten' in info.value.message
    assert open(path, 'rb').read() == b'other'
    assert sorted(os.listdir(str(tmp_path))) == ['p.json', 'p.json.moved']  # no scratch left


def test_reads_never_follow_a_link_in_the_directory(tmp_path, mode):
    _file(tmp_path / 'secret', b'secret', 0o600)
    os.symlink(str(tmp_path / 'secret'), str(tmp_path / 'p.json'))
    with SafeDir.open(str(tmp_path)) as sdir:
        with pytest.raises(FileProblem) as info:
            sdir.read('p.json', 100)
    assert 'symlink' in info.value.message


@pytest.mark.parametrize('planted', ['user-file', 'hard-link', 'symlink'])
def test_a_planted_lock_file_is_never_used(tmp_path, mode, planted):
    udir = _user_dir(tmp_path / 'op')
    _file(tmp_path / 'op' / 'p.json', b'{}', uid=NOBODY)
    victim = _file(tmp_path / 'victim', b'secret', 0o600)
    lock = os.path.join(udir, '.p.json.runcguard-lock')
    if planted == 'user-file':
        _file(tmp_path / 'op' / '.p.json.runcguard-lock', b'', uid=NOBODY)
    elif planted == 'hard-link':
        os.link(victim, lock)  # protected_hardlinks=0 lets a user do this to root's files
    else:
        os.symlink(victim, lock)
    sdir, name = SafeDir.for_file(os.path.join(udir, 'p.json'), allow_user_owned=True)
    with sdir:
        with pytest.raises(FileProblem) as info:
            sdir.lock(name, 0)
    assert 'lock' in info.value.message
    assert open(victim, 'rb').read() == b'secret' and os.stat(victim).st_mode & 0o777 == 0o600


def test_lock_is_exclusive_and_a_stale_one_is_taken(tmp_path, mode):
    _file(tmp_path / 'p.json')
    with SafeDir.open(str(tmp_path)) as sdir:
        first = sdir.lock('p.json', 0)
        with pytest.raises(FileProblem) as info:
            sdir.lock('p.json', 0)
        assert 'another run (pid %d)' % os.getpid() in info.value.message
        first.release()
        assert sorted(os.listdir(str(tmp_path))) == ['p.json']
        with open(str(tmp_path / '.p.json.runcguard-lock'), 'w') as handle:
            handle.write('4242\n')
        taken = sdir.lock('p.json', 0)
        assert taken.stale_pid == '4242'
        taken.release()
        assert sdir.lock('p.json', 0).stale_pid is None


def test_write_file_copy_file_remove_file(tmp_path, mode):
    path = str(tmp_path / 'd' / 'drop-in.conf')
    os.mkdir(str(tmp_path / 'd'))
    assert write_file(path, b'one') == {'changed': True, 'backup_file': None}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644 and os.stat(path).st_uid == 0
    assert write_file(path, b'one')['changed'] is False
    res = write_file(path, b'two', backup=True)
    assert res['changed'] and open(res['backup_file'], 'rb').read() == b'one'
    saved = _file(tmp_path / 'saved', b'orig', 0o600, uid=NOBODY)
    os.setxattr(saved, 'user.k', b'v')
    with pytest.raises(UserControlled):  # a user's file is restored only when the caller allows it
        copy_file(saved, path)
    assert copy_file(saved, path, allow_user_owned=True)['changed']
    st = os.stat(path)
    assert (st.st_uid, stat.S_IMODE(st.st_mode), open(path, 'rb').read()) == (NOBODY, 0o600, b'orig')
    assert os.getxattr(path, 'user.k') == b'v'
    with pytest.raises(UserControlled):  # now the user's file
        remove_file(path)
    assert remove_file(path, allow_user_owned=True) is True and remove_file(path) is False
    made = write_file(str(tmp_path / 'd' / 'new'), b'x', attrs=Attributes(0, 0, 0o600))
    assert made['changed'] and stat.S_IMODE(os.stat(str(tmp_path / 'd' / 'new')).st_mode) == 0o600


def test_may_execute(tmp_path, mode):
    ok = _file(tmp_path / 'runc', b'#!/bin/sh\n', 0o755)
    assert may_execute(ok) == (True, None)
    theirs = _file(tmp_path / 'runc-user', b'#!/bin/sh\n', 0o755, uid=NOBODY)
    allowed, why = may_execute(theirs)
    assert not allowed and 'owned by uid 65534' in why and 'never executes' in why
    udir = _user_dir(tmp_path / 'bin')
    inside = _file(tmp_path / 'bin' / 'runc', b'#!/bin/sh\n', 0o755)  # root's file, user's directory
    allowed, why = may_execute(inside)
    assert not allowed and udir in why
    writable = _file(tmp_path / 'runc-w', b'#!/bin/sh\n', 0o757)
    assert not may_execute(writable)[0]
    link = os.path.join(udir, 'link')
    os.symlink(ok, link)
    os.lchown(link, NOBODY, NOBODY)
    assert not may_execute(link)[0]  # a user's link to root's binary: still the user's choice of binary
    assert may_execute(str(tmp_path / 'missing')) == (False, 'does not exist')


def test_check_read_and_read_file_never_follow_a_users_link_out_of_their_files(tmp_path, mode):
    udir = _user_dir(tmp_path / 'home')
    secret = _file(tmp_path / 'secret.json', b'{"listenerPath": "/x"}', 0o600)
    public = _file(tmp_path / 'public.json', b'{}', 0o644)
    own = _file(tmp_path / 'home' / 'own.json', b'{}', 0o600, uid=NOBODY)
    for name, target in (('to-secret', secret), ('to-public', public), ('to-own', own)):
        # relative: an absolute link would also cross /tmp/pytest-of-root, which only root may enter
        os.symlink(os.path.relpath(target, udir), os.path.join(udir, name))
        os.lchown(os.path.join(udir, name), NOBODY, NOBODY)
    why = check_read(os.path.join(udir, 'to-secret'))
    assert why and 'secret.json' not in why and 'uid 65534' in why
    with pytest.raises(UserControlled):
        read_file(os.path.join(udir, 'to-secret'), 100)
    assert check_read(os.path.join(udir, 'to-public')) is None
    assert check_read(os.path.join(udir, 'to-own')) is None
    assert read_file(os.path.join(udir, 'to-own'), 100) == b'{}'
    os.link(secret, os.path.join(udir, 'hard'))  # protected_hardlinks=0
    assert 'hard link' in check_read(os.path.join(udir, 'hard'))
    assert check_read(secret) is None  # root's own file, read directly


def test_create_makes_root_owned_directories(tmp_path, mode):
    with SafeDir.open(str(tmp_path / 'a' / 'b'), create=True) as sdir:
        assert sdir.path == str(tmp_path / 'a' / 'b')
    assert os.stat(str(tmp_path / 'a' / 'b')).st_uid == 0


# --- what _files' writers were tested for, on the one writer left ------------------------------------
def _first_write_modes(monkeypatch):
    """Mode of each file descriptor when the first byte is written to it."""
    seen, real_write = {}, os.write

    def spy(fd, data):
        seen.setdefault(fd, stat.S_IMODE(os.fstat(fd).st_mode))
        return real_write(fd, data)
    monkeypatch.setattr(os, 'write', spy)
    return seen


def test_backup_and_replacement_never_wider_than_the_original(tmp_path, monkeypatch):
    path = _file(tmp_path / 'p.json', b'old', 0o600)
    os.setxattr(path, 'user.origin', b'kept')
    old_umask = os.umask(0)  # the widest umask: only the original's mode may limit the copies
    try:
        modes = _first_write_modes(monkeypatch)
        sdir, name = SafeDir.for_file(path)
        with sdir:
            data, st, attrs = sdir.read_with_attributes(name, 100)
            backup = sdir.write(name, b'new', expect=st, attrs=attrs, backup=data)
    finally:
        os.umask(old_umask)
    assert modes and set(modes.values()) == {0o600}
    for name in (backup, path):
        assert stat.S_IMODE(os.stat(name).st_mode) == 0o600
        assert os.getxattr(name, 'user.origin') == b'kept'
    assert open(backup, 'rb').read() == b'old' and open(path, 'rb').read() == b'new'
    assert backup.startswith(path + '.') and backup.endswith('~')


# user::rw- user:nobody:r-- group::--- mask::r-- other::--- (the kernel's xattr form of a POSIX ACL)
ACL = struct.pack('<I', 2) + b''.join(struct.pack('<HHI', *e) for e in [
    (0x01, 6, 0xffffffff), (0x02, 4, 65534), (0x04, 0, 0xffffffff), (0x10, 4, 0xffffffff), (0x20, 0, 0xffffffff)])


def test_backup_and_replacement_keep_a_posix_acl(tmp_path):
    path = _file(tmp_path / 'p.json', b'old')
    try:
        os.setxattr(path, 'system.posix_acl_access', ACL)
    except OSError as exc:
        pytest.skip('no POSIX ACLs on this file system: %s' % exc)
    res = write_file(path, b'new', backup=True)
    for name in (res['backup_file'], path):
        assert os.getxattr(name, 'system.posix_acl_access') == ACL
        assert stat.S_IMODE(os.stat(name).st_mode) == stat.S_IMODE(os.stat(path).st_mode)


def test_lock_deleted_while_waiting_is_not_shared(tmp_path, monkeypatch):
    """A waiter whose lock file was deleted by the holder must lock the new file, not the deleted inode."""
    import fcntl
    path = _file(tmp_path / 'p.json')
    holder = _safefile.lock_file(path, 0)
    real_flock, calls = fcntl.flock, []

    def flock_after_holder_leaves(fd, op):
        calls.append(fd)
        if len(calls) == 1:
            holder.release()  # the holder finishes between the waiter's open and its flock
        return real_flock(fd, op)
    monkeypatch.setattr(fcntl, 'flock', flock_after_holder_leaves)
    lock = _safefile.lock_file(path, 1)
    assert len(calls) == 2  # retried on a fresh file
    assert os.path.samestat(os.fstat(lock.fd), os.stat(lock.path))
    lock.release()
    assert sorted(os.listdir(str(tmp_path))) == ['p.json']


def test_empty_lock_left_by_a_run_killed_before_it_wrote_its_pid_is_stale(tmp_path):
    path = _file(tmp_path / 'p.json')
    open(str(tmp_path / '.p.json.runcguard-lock'), 'w').close()
    lock = _safefile.lock_file(path, 0)
    assert lock.stale_pid == '?'
    lock.release()
    fresh = _safefile.lock_file(path, 0)
    assert fresh.stale_pid is None  # a fresh lock file is not stale
    fresh.release()


def test_stale_temporary_files_are_removed(tmp_path):
    _file(tmp_path / 'p.json')
    for name in ('.p.json.runcguard-00aa11bb22cc.tmp', '.p.json.ab12_xyz.tmp', '.other.json.runcguard-1.tmp',
                 '.p.json.notours.tmp', 'p.json.1.2026-01-01@00:00:00~'):
        (tmp_path / name).write_bytes(b'x')
    with SafeDir.open(str(tmp_path)) as sdir:
        removed = sdir.remove_stale_scratch('p.json')
    assert sorted(removed) == ['.p.json.ab12_xyz.tmp', '.p.json.runcguard-00aa11bb22cc.tmp']
    assert sorted(os.listdir(str(tmp_path))) == ['.other.json.runcguard-1.tmp', '.p.json.notours.tmp', 'p.json',
                                                 'p.json.1.2026-01-01@00:00:00~']


def test_every_read_as_root_follows_the_read_policy(tmp_path, mode):
    """_files.read_bounded / read_text (engine configs, hostconfigs, probe profiles) go through the same
    policy as root: a user's link into a root-only file is refused without a word about its target."""
    from ansible_collections.runcguard.seccomp.plugins.module_utils._files import read_bounded, read_text
    udir = _user_dir(tmp_path / 'home')
    secret = _file(tmp_path / 'daemon.json', b'{"secret": 1}', 0o600)
    link = os.path.join(udir, 'config.json')
    os.symlink(os.path.relpath(secret, udir), link)
    os.lchown(link, NOBODY, NOBODY)
    for reader in (read_bounded, read_text):
        with pytest.raises(UserControlled) as info:
            reader(link, 100)
        assert 'daemon.json' not in info.value.message
    assert read_text(secret, 100) == '{"secret": 1}'


def test_a_new_file_is_published_only_under_a_free_name(tmp_path, mode):
    """exists=False: link()-published, so a name taken meanwhile (another writer) is never replaced."""
    with SafeDir.open(str(tmp_path)) as sdir:
        sdir.write('part.jsonl', b'first', attrs=Attributes(0, 0, 0o640), exists=False)
        with pytest.raises(FileProblem) as info:
            sdir.write('part.jsonl', b'second', exists=False)
    assert info.value.message == 'already exists'
    assert open(str(tmp_path / 'part.jsonl'), 'rb').read() == b'first'
    assert stat.S_IMODE(os.stat(str(tmp_path / 'part.jsonl')).st_mode) == 0o640
    assert os.listdir(str(tmp_path)) == ['part.jsonl']  # no scratch left behind


def test_a_write_from_chunks_is_streamed_and_an_error_midway_leaves_the_old_file(tmp_path):
    """Reports of 200 MB are written from an iterable of chunks; an exception from it (a renderer
    bug) removes the scratch file and the old file stays."""
    (tmp_path / 'r.json').write_bytes(b'old')
    with SafeDir.open(str(tmp_path)) as sdir:
        sdir.write('r.json', (b'%d,' % n for n in range(100000)))

        def broken():
            yield b'half'
            raise ValueError('renderer bug')
        with pytest.raises(ValueError):
            sdir.write('r.json', broken())
        with sdir.open_read('r.json') as handle:
            assert handle.read() == b''.join(b'%d,' % n for n in range(100000))
        os.mkfifo(str(tmp_path / 'fifo'))
        os.symlink('r.json', str(tmp_path / 'link'))
        for name, error in (('fifo', 'is not a regular file'), ('link', 'is a symlink; not followed')):
            with pytest.raises(FileProblem, match=error):
                sdir.open_read(name)
    assert sorted(os.listdir(str(tmp_path))) == ['fifo', 'link', 'r.json']  # no scratch file left
