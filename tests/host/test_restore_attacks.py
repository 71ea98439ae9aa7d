# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Red team 2 of issue 26, proven with real non-root users (``rcg-fixrestore-*``):

- the remediate rollback (``backup_restore``) and runc_pin's unpin (``Record.restore``) never write
  through a symlink a user put where a restored file was: the root file it points to is untouched and
  nothing is created where a dangling one points;
- a journal a user planted in a sticky shared directory (``/tmp``) never makes root remove a directory;
- ``SafeDir.open(create=True)`` under a directory a user controls creates nothing.

The user's own actions run as that user (``setpriv``); the collection runs as root through real
``ansible`` runs. Machine-wide names carry the ``rcg-fixrestore-`` prefix.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import pwd
import shutil
import stat
import subprocess
import tempfile

import pytest

import adhoc

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='needs root: creates users and runs the modules as root')


@pytest.fixture(scope='module')
def user():
    """A real unprivileged user with a home, removed (with the home) afterwards."""
    if not shutil.which('setpriv') or not shutil.which('useradd'):
        pytest.skip('needs setpriv and useradd')
    name = 'rcg-fixrestore-%d' % os.getpid()
    subprocess.check_call(['useradd', '-m', '-s', '/bin/sh', '--user-group', name])
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.call(['userdel', '-r', name], stderr=subprocess.DEVNULL)


def as_user(user, *argv):
    """Run ``argv`` as ``user`` (its uid and gid, no supplementary groups, no capabilities)."""
    subprocess.run(['setpriv', '--reuid=%d' % user.pw_uid, '--regid=%d' % user.pw_gid, '--clear-groups',
                    '--inh-caps=-all', '--'] + list(argv), check=True, cwd='/')


@pytest.fixture
def victim():
    """A root-only file in a root directory (what the user wants root to overwrite), and a name in it
    that does not exist (what the user wants root to create)."""
    top = tempfile.mkdtemp(prefix='rcg-fixrestore-etc-', dir='/var/tmp')
    os.chmod(top, 0o755)
    path = os.path.join(top, 'target')
    with open(path, 'wb') as handle:
        handle.write(b'orig\n')
    os.chmod(path, 0o600)
    try:
        yield path, os.path.join(top, 'created')
    finally:
        shutil.rmtree(top, ignore_errors=True)


def _state(path):
    st = os.lstat(path)
    with open(path, 'rb') as handle:
        return handle.read(), st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), st.st_ino


def _plant(user, link_to):
    """As the user: ~/prof/p.json a symlink to ``link_to``, beside it a 0666 "backup" of the user's."""
    prof = os.path.join(user.pw_dir, 'prof-%d' % len(os.listdir(user.pw_dir)))
    path, backup = os.path.join(prof, 'p.json'), os.path.join(prof, 'p.json.123.bak~')
    as_user(user, 'mkdir', prof)
    as_user(user, 'sh', '-c', 'echo pwned > "$1" && chmod 666 "$1"', 'sh', backup)
    as_user(user, 'ln', '-s', link_to, path)
    return path, backup


@pytest.mark.parametrize('check', [False, True])
def test_rollback_never_writes_through_a_users_link(user, victim, check):
    target, dummy = victim
    before = _state(target)
    path, backup = _plant(user, target)
    args = {'files': [{'path': path, 'backup': backup}], 'allow_user_owned': True}
    if check:
        args['_ansible_check_mode'] = True
    result = adhoc.run('runcguard.seccomp.backup_restore', args)
    assert result['failed'] is True and result['restored'] == [], result
    assert result['errors'][0]['path'] == path and 'symlink' in result['errors'][0]['msg'], result
    assert _state(target) == before  # bytes, owner, group, mode and inode: untouched
    assert os.path.islink(path) and os.path.exists(backup)


def test_rollback_never_creates_where_a_users_dangling_link_points(user, victim):
    dummy, missing = victim
    path, backup = _plant(user, missing)
    result = adhoc.run('runcguard.seccomp.backup_restore',
                       {'files': [{'path': path, 'backup': backup}], 'allow_user_owned': True})
    assert result['failed'] is True and 'symlink' in result['errors'][0]['msg'], result
    assert not os.path.lexists(missing)


def test_rollback_refuses_a_backup_that_is_not_beside_the_file(user, victim):
    # a user's "backup" elsewhere is never copied over a file in a root directory
    target, dummy = victim
    before = _state(target)
    dummy_path, backup = _plant(user, '/nonexistent')
    result = adhoc.run('runcguard.seccomp.backup_restore',
                       {'files': [{'path': target, 'backup': backup}], 'allow_user_owned': True})
    assert result['failed'] is True and 'not beside' in result['errors'][0]['msg'], result
    assert _state(target) == before and os.path.exists(backup)


def _hand_made_record(state_dir, path, data):
    """A runc_pin record holding an original of ``path`` (root's 0600 copy), as a pin would have made it."""
    orig = os.path.join(state_dir, 'orig', path.lstrip('/'))
    os.makedirs(os.path.dirname(orig), 0o700)
    with open(orig, 'wb') as handle:
        handle.write(data)
    os.chmod(orig, 0o600)
    with open(os.path.join(state_dir, 'format'), 'wb') as handle:
        handle.write(b'2\n')


def test_unpin_never_writes_through_a_users_link(user, victim, tmp_path):
    # a recorded original in a user's directory (a user's runc upgraded in place, issue 25 item 6):
    # the user swaps the file for a link to a root file before the unpin
    target, missing = victim
    before = _state(target)
    for link_to in (target, missing):
        bindir = os.path.join(user.pw_dir, 'bin-%d' % len(os.listdir(user.pw_dir)))
        as_user(user, 'mkdir', bindir)
        runc = os.path.join(bindir, 'runc')
        state_dir = str(tmp_path / ('state-%d' % len(os.listdir(str(tmp_path)))))
        os.mkdir(state_dir, 0o700)
        _hand_made_record(state_dir, runc, b'the original runc\n')
        as_user(user, 'ln', '-s', link_to, runc)
        result = adhoc.run('runcguard.seccomp.runc_pin_apply', {'state': 'absent', 'state_dir': state_dir})
        assert result['failed'] is True and 'symlink' in result['msg'], result
        assert _state(target) == before and not os.path.lexists(missing)
        assert os.path.isdir(state_dir)  # the record is kept for a run once the link is gone


def test_a_planted_journal_removes_no_directory(user):
    top = tempfile.mkdtemp(prefix='rcg-fixrestore-', dir='/tmp')
    victim_dir = tempfile.mkdtemp(prefix='rcg-fixrestore-emptydir-', dir='/var/tmp')
    state_dir = os.path.join(top, 'a', 'state')
    name = '.runc_pin-parents.%s.runcguard-journal' % hashlib.sha256(state_dir.encode()).hexdigest()[:16]
    planted = [os.path.join('/tmp', name), os.path.join(top, name)]
    try:
        os.chmod(top, 0o1777)  # a second sticky shared directory on the way
        for journal in planted:
            as_user(user, 'sh', '-c', 'umask 077; printf "%s" "$1" > "$2"', 'sh', json.dumps([victim_dir]), journal)
        for check in (True, False):
            result = adhoc.run('runcguard.seccomp.runc_pin_apply',
                               {'state': 'absent', 'state_dir': state_dir, '_ansible_check_mode': check})
            assert not result['failed'], result
            assert result['dirs'] == [] and result['restored']['dirs_removed'] == [], result
            assert os.path.isdir(victim_dir)
        assert all(os.path.exists(p) for p in planted)  # the user's files are the user's business
    finally:
        for journal in planted:
            if os.path.lexists(journal):
                os.unlink(journal)
        shutil.rmtree(top, ignore_errors=True)
        shutil.rmtree(victim_dir, ignore_errors=True)


def test_safedir_create_under_a_users_directory_creates_nothing(user):
    from ansible_collections.runcguard.seccomp.plugins.module_utils import _safefile
    top = tempfile.mkdtemp(prefix='rcg-fixrestore-', dir='/tmp')
    try:
        os.chown(top, user.pw_uid, user.pw_gid)
        with pytest.raises(_safefile.UserControlled):
            _safefile.SafeDir.open(os.path.join(top, 'sub', 'deeper'), create=True)
        assert os.listdir(top) == []
        # a user's link on the way is neither followed nor created through
        os.chown(top, 0, 0)
        elsewhere = tempfile.mkdtemp(prefix='rcg-fixrestore-', dir='/var/tmp')
        try:
            os.symlink(elsewhere, os.path.join(top, 'link'))
            os.lchown(os.path.join(top, 'link'), user.pw_uid, user.pw_gid)
            with pytest.raises(_safefile.UserControlled):
                _safefile.SafeDir.open(os.path.join(top, 'link', 'sub'), create=True)
            assert os.listdir(elsewhere) == []
        finally:
            shutil.rmtree(elsewhere, ignore_errors=True)
        # root's own directory: created, root's, the mode asked for
        with _safefile.SafeDir.open(os.path.join(top, 'mine', 'sub'), create=True, mode=0o700) as sdir:
            st = os.fstat(sdir.fd)
        assert (st.st_uid, stat.S_IMODE(st.st_mode) & 0o700) == (0, 0o700)
    finally:
        shutil.rmtree(top, ignore_errors=True)
