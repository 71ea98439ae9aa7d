# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""runc_pin's record and undo on real files: originals come back byte for byte with owner, group, mode
and extended attributes, links stay links, created directories go, records of older releases work."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import stat

import pytest

from ansible_collections.runcguard.seccomp.plugins.module_utils._pin import record

ROOT = os.geteuid() == 0


def _write(path, data, mode=0o644):
    with open(path, 'wb') as handle:
        handle.write(data)
    os.chmod(path, mode)


def test_restore_bytes_owner_mode_xattr_link(tmp_path):
    etc = tmp_path / 'etc'
    etc.mkdir()
    target = etc / 'real.toml'
    _write(str(target), b'version = 2\r\n# mine\r\n', 0o640)
    if ROOT:  # a group of users may read it; a file a user owns is refused (issue 26's policy)
        os.chown(str(target), 0, 4322)
    try:
        os.setxattr(str(target), 'user.rcg', b'kept')
        xattr = True
    except OSError:
        xattr = False
    link = etc / 'config.toml'
    link.symlink_to('real.toml')
    rec = record.Record(str(tmp_path / 'state' / 'runc_pin'))
    assert rec.open() == [str(tmp_path / 'state')]
    real = record.real_target(str(link))
    assert real == str(target)
    assert rec.keep_original(real) is True
    assert rec.keep_original(real) is False  # once
    record._new_file(real, b'changed', 0o644)  # what a pin does (root:root 0644 on purpose)
    new_file = tmp_path / 'etc' / 'crio' / 'crio.conf.d' / 'x.conf'
    rec.keep_original(str(new_file))
    assert rec.make_parents(str(new_file)) == [str(tmp_path / 'etc' / 'crio'), str(tmp_path / 'etc' / 'crio' / 'crio.conf.d')]
    record._new_file(str(new_file), b'new', 0o644)

    done = rec.restore()
    assert done['restored'] == [real]
    assert done['removed'] == [str(new_file)]
    assert done['dirs_removed'] == [str(tmp_path / 'etc' / 'crio' / 'crio.conf.d'), str(tmp_path / 'etc' / 'crio')]
    assert done['state_parents'] == [str(tmp_path / 'state')]
    assert os.path.islink(str(link)) and os.readlink(str(link)) == 'real.toml'
    st = os.stat(real)
    assert open(real, 'rb').read() == b'version = 2\r\n# mine\r\n'
    assert stat.S_IMODE(st.st_mode) == 0o640
    if ROOT:
        assert (st.st_uid, st.st_gid) == (0, 4322)
    if xattr:
        assert os.getxattr(real, 'user.rcg') == b'kept'
    assert not os.path.exists(str(tmp_path / 'etc' / 'crio'))
    rec.forget()
    assert rec.remove_dirs(done['state_parents']) == [str(tmp_path / 'state')]
    assert sorted(os.listdir(str(tmp_path))) == ['etc']


def test_created_directory_with_other_files_is_kept(tmp_path):
    rec = record.Record(str(tmp_path / 'state'))
    rec.open()
    path = str(tmp_path / 'd' / 'f')
    rec.keep_original(path)
    rec.make_parents(path)
    record._new_file(path, b'x')
    _write(str(tmp_path / 'd' / 'someone-elses'), b'y')
    done = rec.restore()
    assert done['dirs_kept'] == [str(tmp_path / 'd')]
    assert os.path.exists(str(tmp_path / 'd' / 'someone-elses'))


def test_restore_twice_is_a_no_op_then(tmp_path):
    # a killed unpin is run again: everything already restored is left alone
    rec = record.Record(str(tmp_path / 'state'))
    rec.open()
    path = str(tmp_path / 'f')
    _write(path, b'orig')
    rec.keep_original(path)
    _write(path, b'pinned')
    assert rec.restore()['restored'] == [path]
    assert rec.restore()['restored'] == []


@pytest.mark.skipif(not ROOT, reason='chown needs root')
def test_older_record_keeps_the_files_owner(tmp_path):
    # records of earlier releases hold root-owned copies and no `format` file
    state = tmp_path / 'state'
    orig = state / 'orig' / str(tmp_path).lstrip('/')
    orig.mkdir(parents=True)
    path = str(tmp_path / 'config.toml')
    _write(str(orig / 'config.toml'), b'original', 0o640)
    _write(path, b'pinned', 0o644)
    os.chown(path, 0, 1501)
    rec = record.Record(str(state))
    assert not rec.owner_kept()
    rec.restore()
    st = os.stat(path)
    assert open(path, 'rb').read() == b'original'
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 1501, 0o640)


def test_not_a_regular_file_is_refused(tmp_path):
    rec = record.Record(str(tmp_path / 'state'))
    rec.open()
    os.mkfifo(str(tmp_path / 'fifo'))
    with pytest.raises(record.RecordError, match='not a regular file'):
        rec.keep_original(str(tmp_path / 'fifo'))


def test_packages_the_pin_installed_are_removed_by_unpin(tmp_path):
    # dnf4: the pin installs python3-dnf-plugin-versionlock; unpin must remove exactly that (issue 22)
    from ansible_collections.runcguard.seccomp.plugins.module_utils import _pins
    rec = record.Record(str(tmp_path / 'state'))
    rec.open()
    rec.keep_packages({'manager': 'rpm', 'packages': {'runc': {'installed': '0:1.2.0-0.rc2.el9', 'selection': None}}})
    assert rec.keep_installed(['python3-dnf-plugin-versionlock']) == ['python3-dnf-plugin-versionlock']
    assert rec.keep_installed(['python3-dnf-plugin-versionlock']) == []  # a later pin does not add it twice
    specs = _pins.restore_specs(rec.packages())
    assert specs['install'] == ['runc-1.2.0-0.rc2.el9']
    assert specs['remove'] == ['python3-dnf-plugin-versionlock']
    fresh = record.Record(str(tmp_path / 'other'))
    fresh.open()
    fresh.keep_packages({'manager': 'rpm', 'packages': {}})
    assert _pins.restore_specs(fresh.packages())['remove'] == []  # the plugin was there before: kept


@pytest.mark.skipif(not ROOT, reason='chown needs root')
def test_a_users_file_is_refused(tmp_path):
    # issue 26: root does not record or rewrite a file a non-root user owns (runc_pin refuses such a pin)
    from ansible_collections.runcguard.seccomp.plugins.module_utils import _safefile
    path = str(tmp_path / 'daemon.json')
    _write(path, b'{}', 0o644)
    os.chown(path, 1500, 1500)
    rec = record.Record(str(tmp_path / 'state'))
    rec.open()
    with pytest.raises(_safefile.UserControlled, match='owned by uid 1500'):
        rec.keep_original(path)


class Killed(BaseException):
    """SIGKILL at a chosen point (nothing of the killed run's own cleanup runs: it is a BaseException
    raised past every ``except Exception``, and the test never calls the record again in that run)."""


def _unpin(tmp_path, state_dir):
    import subprocess
    import sys
    from ansible_collections.runcguard.seccomp.plugins.modules import runc_pin_apply
    args = tmp_path / 'unpin-args.json'
    args.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': {'state': 'absent', 'state_dir': state_dir}}))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), LANG='C', LC_ALL='C')
    out = subprocess.run([sys.executable, runc_pin_apply.__file__, str(args)], capture_output=True, env=env,
                         timeout=60, check=False).stdout.decode()
    return json.loads(out[out.index('{'):])


@pytest.mark.parametrize('point', ['_mkdir', '_new_file'])
def test_a_pin_killed_while_making_its_state_directories_is_undone_by_unpin(tmp_path, monkeypatch, point):
    # before the first directory exists (_mkdir) or after all exist, before any is recorded (_new_file):
    # the journal written beside them first lets unpin remove them; no directory and no file is left
    var = tmp_path / 'var'
    var.mkdir()
    state_dir = str(var / 'runcguard' / 'runc_pin')
    real = getattr(record, point)
    calls = []

    def kill(*args, **kwargs):
        calls.append(args)
        if point == '_mkdir' or len(calls) == 1:
            raise Killed()
        return real(*args, **kwargs)
    monkeypatch.setattr(record, point, kill)
    with pytest.raises(Killed):
        record.Record(state_dir).open()
    monkeypatch.undo()
    left = sorted(os.listdir(str(var)))
    assert len(left) == (1 if point == '_mkdir' else 2) and [n for n in left if 'runcguard-journal' in n], left
    if point == '_new_file':
        assert os.path.isdir(state_dir) and os.listdir(state_dir) == []  # made, nothing recorded yet
    result = _unpin(tmp_path, state_dir)
    assert not result.get('failed') and result['changed'] is True, result
    assert os.listdir(str(var)) == [], os.listdir(str(var))
    assert _unpin(tmp_path, state_dir)['changed'] is False


def test_a_completed_open_leaves_no_journal(tmp_path):
    var = tmp_path / 'var'
    var.mkdir()
    rec = record.Record(str(var / 'runcguard' / 'runc_pin'))
    assert rec.open() == [str(var / 'runcguard')]
    assert os.listdir(str(var)) == ['runcguard'] and rec.journal_parents() == []
    assert sorted(os.listdir(str(var / 'runcguard'))) == ['runc_pin']


@pytest.mark.parametrize('mode', [0o600, 0o644])
def test_a_journal_removes_only_the_state_directorys_own_parents(tmp_path, mode):
    # red team 2 of issue 26: a journal naming another directory (or one root did not write: mode 0644) never
    # makes unpin remove it; a root-written journal's own entries still go
    var = tmp_path / 'var'
    (var / 'other').mkdir(parents=True)
    (var / 'runcguard' / 'runc_pin').mkdir(parents=True)
    rec = record.Record(str(var / 'runcguard' / 'runc_pin'))
    listed = [str(var / 'other'), str(var / 'runcguard'), str(var / 'runcguard' / 'runc_pin'), str(tmp_path)]
    _write(str(var / rec._journal_name()), json.dumps(listed).encode(), mode)
    found, removed = rec.clean_journal()
    assert os.path.isdir(str(var / 'other')) and os.path.isdir(str(tmp_path))
    if mode == 0o600:
        assert found is True and removed == [str(var / 'runcguard' / 'runc_pin'), str(var / 'runcguard')]
        assert sorted(os.listdir(str(var))) == ['other']
    else:
        assert (found, removed) == (False, []) and os.path.isdir(str(var / 'runcguard' / 'runc_pin'))
        assert rec._journal_name() in os.listdir(str(var))
