# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""backup_restore (the remediation rollback): the file gets the backup's bytes and the backup's owner,
group and mode (the original's), the backup goes, a second run changes nothing, a bad entry is an error
entry while the others are restored."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import stat
import subprocess
import sys

from ansible_collections.runcguard.seccomp.plugins.modules import backup_restore

ROOT = os.geteuid() == 0


def run(tmp_path, **args):
    args_file = tmp_path / ('args-%d.json' % len(list(tmp_path.glob('args-*.json'))))
    args_file.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), LANG='C', LC_ALL='C')
    proc = subprocess.run([sys.executable, backup_restore.__file__, str(args_file)], capture_output=True,
                          env=env, timeout=60, check=False)
    out = proc.stdout.decode()
    return json.loads(out[out.index('{'):])


def test_restore_keeps_the_backups_owner_group_mode(tmp_path):
    profile = tmp_path / 'agent.json'
    backup = tmp_path / 'agent.json.1.2026-01-01@00:00:00~'
    backup.write_bytes(b'{"original": true}\n')
    os.chmod(str(backup), 0o640)
    if ROOT:
        os.chown(str(backup), 0, 1501)
    profile.write_bytes(b'{"rewritten": true}\n')
    os.chmod(str(profile), 0o644)
    entry = {'path': str(profile), 'backup': str(backup), 'sha256': 'ignored'}
    checked = run(tmp_path, files=[entry], _ansible_check_mode=True)
    assert checked['changed'] is True and profile.read_bytes() == b'{"rewritten": true}\n'
    result = run(tmp_path, files=[entry])
    assert result['changed'] is True and result['restored'] == [str(profile)]
    st = os.stat(str(profile))
    assert profile.read_bytes() == b'{"original": true}\n'
    assert stat.S_IMODE(st.st_mode) == 0o640
    if ROOT:
        assert (st.st_uid, st.st_gid) == (0, 1501)
    assert not backup.exists()
    assert run(tmp_path, files=[entry])['changed'] is False


def test_bad_entries_are_errors_and_the_rest_is_restored(tmp_path):
    good = tmp_path / 'good.json'
    good_backup = tmp_path / 'good.json.bak~'
    good_backup.write_bytes(b'old')
    good.write_bytes(b'new')
    os.mkfifo(str(tmp_path / 'fifo~'))
    result = run(tmp_path, files=[{'path': 'relative', 'backup': '/x'},
                                  {'path': str(tmp_path / 'x.json'), 'backup': str(tmp_path / 'fifo~')},
                                  {'path': str(good), 'backup': str(good_backup)}])
    assert result['failed'] is True
    assert [e['path'] for e in result['errors']] == ['relative', str(tmp_path / 'x.json')]
    assert 'not a regular file' in result['errors'][1]['msg']
    assert good.read_bytes() == b'old' and result['restored'] == [str(good)]


def test_a_users_profile_is_restored_as_the_users_only_when_allowed(tmp_path):
    # issue 26 case 5: the rollback gave a user's profile to root:root 0644
    if not ROOT:
        return
    home = tmp_path / 'home'
    home.mkdir()
    profile, backup = home / 'agent.json', home / 'agent.json.1.2026-01-01@00:00:00~'
    backup.write_bytes(b'{"original": true}\n')
    profile.write_bytes(b'{"rewritten": true}\n')
    for path, mode in ((backup, 0o600), (profile, 0o600)):
        os.chown(str(path), 1500, 1500)
        os.chmod(str(path), mode)
    entry = {'path': str(profile), 'backup': str(backup)}
    refused = run(tmp_path, files=[entry])
    assert refused['failed'] is True and 'owned by uid 1500' in refused['errors'][0]['msg']
    assert profile.read_bytes() == b'{"rewritten": true}\n'
    result = run(tmp_path, files=[entry], allow_user_owned=True)
    st = os.stat(str(profile))
    assert result['restored'] == [str(profile)] and profile.read_bytes() == b'{"original": true}\n'
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1500, 1500, 0o600)
    assert not backup.exists()
