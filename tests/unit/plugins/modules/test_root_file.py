# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""root_file (the roles' root writes: runc_pin's apt preferences, remediate's failed.json): written through
_safefile with check mode, diff and idempotence; a user's directory or link is refused and nothing changes."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import stat
import subprocess
import sys

import pytest

from ansible_collections.runcguard.seccomp.plugins.modules import root_file

ROOT = os.geteuid() == 0


def run(tmp_path, **args):
    args_file = tmp_path / ('args-%d.json' % len(list(tmp_path.glob('args-*.json'))))
    args_file.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), LANG='C', LC_ALL='C')
    proc = subprocess.run([sys.executable, root_file.__file__, str(args_file)], capture_output=True,
                          env=env, timeout=60, check=False)
    out = proc.stdout.decode()
    return json.loads(out[out.index('{'):])


def test_write_check_diff_idempotent_and_remove(tmp_path):
    path = tmp_path / 'state' / 'remediate' / 'failed.json'
    checked = run(tmp_path, path=str(path), content='{"a": 1}\n', mode='0600', directory_mode='0700',
                  _ansible_check_mode=True, _ansible_diff=True)
    assert checked['changed'] is True and not path.parent.exists()
    assert checked['dirs'] == [str(tmp_path / 'state'), str(path.parent)]
    assert checked['diff']['after'] == '{"a": 1}\n' and checked['diff']['before_header'].endswith('(absent)')
    done = run(tmp_path, path=str(path), content='{"a": 1}\n', mode='0600', directory_mode='0700')
    assert done['changed'] is True and path.read_bytes() == b'{"a": 1}\n'
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(path.parent)).st_mode) == 0o700
    assert run(tmp_path, path=str(path), content='{"a": 1}\n', mode='0600')['changed'] is False
    os.chmod(str(path), 0o644)
    again = run(tmp_path, path=str(path), content='{"a": 1}\n', mode='0600', _ansible_diff=True)
    assert again['changed'] is True and stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    edit = run(tmp_path, path=str(path), content='{"a": 2}\n', mode='0600', _ansible_diff=True,
               _ansible_check_mode=True)
    assert edit['changed'] is True and edit['diff']['before'] == '{"a": 1}\n' and path.read_bytes() == b'{"a": 1}\n'
    gone = run(tmp_path, path=str(path), state='absent', _ansible_check_mode=True)
    assert gone['changed'] is True and path.exists()
    assert run(tmp_path, path=str(path), state='absent')['changed'] is True and not path.exists()
    assert run(tmp_path, path=str(path), state='absent')['changed'] is False
    assert [p.name for p in path.parent.iterdir()] == []  # no scratch or lock file left


def test_missing_directory_without_directory_mode_is_an_error(tmp_path):
    result = run(tmp_path, path=str(tmp_path / 'nope' / 'f'), content='x')
    assert result.get('failed') and 'set directory_mode' in result['msg']


@pytest.mark.skipif(not ROOT, reason='a directory of another user needs root')
def test_a_users_directory_or_link_is_refused(tmp_path):
    theirs = tmp_path / 'theirs'
    theirs.mkdir()
    os.chown(str(theirs), 65534, 65534)
    result = run(tmp_path, path=str(theirs / 'failed.json'), content='x')
    assert result.get('failed') and 'owned by' in result['msg'] and not (theirs / 'failed.json').exists()
    result = run(tmp_path, path=str(theirs / 'sub' / 'failed.json'), content='x', directory_mode='0700')
    assert result.get('failed') and not (theirs / 'sub').exists()
    target = tmp_path / 'root-only'
    target.write_text('secret')
    link = tmp_path / 'link'
    os.symlink(str(target), str(link))
    os.chown(str(link), 65534, 65534, follow_symlinks=False)
    result = run(tmp_path, path=str(link), content='x')
    assert result.get('failed') and target.read_text() == 'secret'
