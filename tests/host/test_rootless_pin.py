# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A user's own runc upgraded in place and put back (runc_pin_apply ``user_binaries``), for real.

A real user (rcg-rootless-pin) runs rootless podman whose containers.conf names ~/.local/bin/runc,
the real 1.2.0-rc.2 (mode 0750), with a container spec carrying bypass4netns' NOTIFY list: the audit
reports the hang for that user. ``runc_pin_apply`` runs through ansible-playbook (the real module):

* check mode says what it would replace and changes nothing;
* the real run puts the shared 1.3.6 build (sha256-verified, from a root-only staging file) into the
  same path: still the user's file with the same mode, the staging file gone, nothing in the home
  owned by root, and a re-audit shows no notify-fcntl-hang for the user; a second run changes nothing;
* refused before anything changes: another user's file, a user's symlink, a source with another sha256;
* ``state=absent`` puts rc.2 back byte for byte, owner and mode included, and the hang is reported again.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

import realruntimes
from rootless_users import User

from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import discovery as _discovery
from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _hazards

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='creates users and writes as root: root only')

B4N = ['bind', 'close', 'connect', 'setsockopt', 'fcntl', '_exit', 'exit_group', 'getpeername']
PLAY = '''
- hosts: localhost
  gather_facts: false
  tasks:
    - name: runc_pin_apply as the role calls it
      runcguard.seccomp.runc_pin_apply: "{{ rcg_args }}"
      register: rcg_result
      check_mode: "{{ rcg_check }}"
      ignore_errors: true

    - name: Keep the result for the test
      ansible.builtin.copy:
        content: "{{ rcg_result | to_json }}"
        dest: "{{ rcg_out }}"
        mode: "0600"
'''


def sha256(path):
    with open(path, 'rb') as handle:
        return hashlib.sha256(handle.read()).hexdigest()


@pytest.fixture(scope='module')
def setup():
    rc2 = realruntimes.runc_build('runc-v1.2.0-rc.2')
    ok = realruntimes.runc_build('runc-v1.3.6')
    work = tempfile.mkdtemp(prefix='rcg-rootless-pin-')  # root 0700: the staging and the record
    users = []
    try:
        user = User('pin')
        users.append(user)
        runc = user.install('.local/bin/runc', rc2)
        os.chmod(runc, 0o750)
        user.write('.config/containers/containers.conf',
                   '[engine]\nruntime = "runc"\n\n[engine.runtimes]\nrunc = ["%s"]\n' % runc)
        user.write('.local/share/containers/storage/overlay-containers/eee555/userdata/config.json',
                   {'ociVersion': '1.0.2', 'process': {'args': ['true']}, 'root': {'path': 'rootfs'},
                    'linux': {'seccomp': {'defaultAction': 'SCMP_ACT_ALLOW',
                                          'listenerPath': os.path.join(user.runtime_dir, 'bypass4netns', 'x.sock'),
                                          'syscalls': [{'names': B4N, 'action': 'SCMP_ACT_NOTIFY'}]}}})
        other = User('pin-other')
        users.append(other)
        others = other.install('.local/bin/runc', rc2)
        user.symlink('bin/runc', runc)  # a user's link to the user's own runc
        with open(os.path.join(work, 'play.yml'), 'w') as handle:
            handle.write(PLAY)
        yield {'user': user, 'other': other, 'runc': runc, 'others': others, 'work': work, 'rc2': rc2, 'ok': ok,
               'state': os.path.join(work, 'state')}
    finally:
        for who in users:
            who.remove()
        shutil.rmtree(work, ignore_errors=True)


def stage(setup, source):
    path = os.path.join(setup['work'], 'staged-runc')
    shutil.copyfile(source, path)
    os.chmod(path, 0o700)
    return path


def apply(setup, check=False, **args):
    playbook = shutil.which('ansible-playbook') or os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    out = os.path.join(setup['work'], 'result.json')
    if os.path.exists(out):
        os.unlink(out)
    args.setdefault('state_dir', setup['state'])
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='0', LANG='C.UTF-8',
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    proc = subprocess.run([playbook, '-i', 'localhost,', '-c', 'local', os.path.join(setup['work'], 'play.yml'),
                           '-e', json.dumps({'rcg_args': args, 'rcg_check': check, 'rcg_out': out})],
                          capture_output=True, text=True, timeout=300, check=False, env=env)
    assert os.path.exists(out), proc.stdout[-3000:] + proc.stderr[-2000:]
    with open(out) as handle:
        return json.load(handle)


def hang_for(user):
    facts = _discovery.gather(users=[user.name])
    hang = [f for f in _hazards.evaluate(facts) if f['id'] == 'notify-fcntl-hang'
            and (f.get('owner') or {}).get('name') == user.name]
    return hang, next(r for r in facts['runtimes'] if r['path'] == user.path('.local/bin/runc'))


def root_owned(home):
    out = []
    for root, dirs, files in os.walk(home):
        for name in dirs + files:
            if os.lstat(os.path.join(root, name)).st_uid == 0:
                out.append(os.path.join(root, name))
    return out


def test_1_before_the_hang_is_reported_for_the_user(setup):
    hang, runtime = hang_for(setup['user'])
    assert [f['severity'] for f in hang] == ['critical'] and runtime['version'] == '1.2.0-rc.2'


def test_2_check_mode_changes_nothing(setup):
    user, runc = setup['user'], setup['runc']
    src = stage(setup, setup['ok'])
    result = apply(setup, check=True, user_binaries=[{'path': runc, 'owner': user.name}], binary_src=src,
                   binary_sha256=sha256(setup['ok']))
    assert not result.get('failed'), result
    assert result['changed'] is True and result['files'] == [runc]
    assert result['users'] == [{'path': runc, 'owner': user.owner, 'sha256_before': sha256(setup['rc2'])}]
    assert sha256(runc) == sha256(setup['rc2']) and os.path.exists(src) and not os.path.exists(setup['state'])


def test_3_refused_before_anything_changes(setup):
    user, other = setup['user'], setup['other']
    good = sha256(setup['ok'])
    src = stage(setup, setup['ok'])
    result = apply(setup, user_binaries=[{'path': setup['others'], 'owner': user.name}], binary_src=src,
                   binary_sha256=good)
    assert result['failed'] and '%s belongs to %s, not to %s' % (setup['others'], other.name, user.name) in result['msg']
    result = apply(setup, user_binaries=[{'path': user.path('bin/runc'), 'owner': user.name}], binary_src=src,
                   binary_sha256=good)
    assert result['failed'] and "is a symlink: root never writes through a user's link" in result['msg']
    result = apply(setup, user_binaries=[{'path': user.path('.local/bin/nothing'), 'owner': user.owner}],
                   binary_src=src, binary_sha256=good)
    assert result['failed'] and 'does not exist' in result['msg']
    wrong = stage(setup, setup['rc2'])  # the bytes of another build under the 1.3.6 checksum
    result = apply(setup, user_binaries=[{'path': setup['runc'], 'owner': user.name}], binary_src=wrong,
                   binary_sha256=good)
    assert result['failed'] and 'does not have sha256 %s' % good in result['msg']
    assert sha256(setup['runc']) == sha256(setup['rc2']) and sha256(setup['others']) == sha256(setup['rc2'])
    assert not os.path.exists(setup['state'])


def test_4_upgrade_in_place_keeps_the_users_file(setup):
    user, runc = setup['user'], setup['runc']
    before = os.stat(runc)
    src = stage(setup, setup['ok'])
    result = apply(setup, user_binaries=[{'path': runc, 'owner': user.owner}], binary_src=src,
                   binary_sha256=sha256(setup['ok']))
    assert not result.get('failed'), result
    assert result['changed'] is True and result['files'] == [runc]
    after = os.stat(runc)
    assert sha256(runc) == sha256(setup['ok'])
    assert (after.st_uid, after.st_gid, after.st_mode & 0o7777) == (before.st_uid, before.st_gid, 0o750)
    assert not os.path.exists(src)  # the staged copy is consumed
    assert root_owned(user.home) == []
    assert [n for n in os.listdir(os.path.dirname(runc)) if n != 'runc'] == []  # no scratch, no lock left
    hang, runtime = hang_for(user)
    assert hang == [] and runtime['version'] == '1.3.6' and runtime['owner'] == user.owner
    # idempotent: nothing to do, no source needed
    again = apply(setup, user_binaries=[{'path': runc, 'owner': user.name}], binary_sha256=sha256(setup['ok']))
    assert not again.get('failed') and again['changed'] is False and again['users'] == []


def test_5_unpin_puts_the_users_rc2_back(setup):
    user, runc = setup['user'], setup['runc']
    snapshot = apply(setup, state='snapshot')
    assert snapshot['files'] == [runc]
    result = apply(setup, state='absent')
    assert not result.get('failed'), result
    assert result['restored']['restored'] == [runc]
    st = os.stat(runc)
    assert sha256(runc) == sha256(setup['rc2'])
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (user.uid, user.gid, 0o750)
    assert root_owned(user.home) == [] and not os.path.exists(setup['state'])
    hang, runtime = hang_for(user)
    assert [f['severity'] for f in hang] == ['critical'] and runtime['version'] == '1.2.0-rc.2'
