# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Root must not be steerable by a user (issue 26), proven with a real attacker.

Every test here creates a real non-root user (``rcg-security-*``) who owns what an unprivileged
user really owns on a host: a directory on a profile's path (the Security Profiles Operator's
``/var/lib/kubelet/seccomp/operator`` belongs to uid 65535; bypass4netns profiles live in homes), a
runtime binary an engine config names, a symlink. The attacker's own code runs as that user (an
inotify-driven process started with ``setpriv``), and the collection runs as root through real
``ansible`` runs, as an operator would run it. Each test fails on a collection that lets root be
steered and passes when root refuses or stays inside the user's own files.

Machine-wide names carry the ``rcg-security-`` prefix: users, and directories under /tmp (pytest's
own tmp_path lives in root's 0700 directory, which the attacker could not even reach).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import textwrap
import time

import pytest

import adhoc

import realruntimes

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='needs root: creates users and runs the modules as root')

NOTIFIED = {'defaultAction': 'SCMP_ACT_ERRNO', 'listenerPath': '/run/agent.sock',
            'syscalls': [{'names': ['read'], 'action': 'SCMP_ACT_ALLOW'},
                         {'names': ['connect', 'fcntl'], 'action': 'SCMP_ACT_NOTIFY'}]}
# what the attacker wants root to write over a root-owned file: valid JSON whose first line is a command
HOSTILE = ('{"defaultAction": "SCMP_ACT_ERRNO", "listenerPath": "/run/agent.sock", "syscalls": [\n'
           '{"names": ["connect", "fcntl"], "action": "SCMP_ACT_NOTIFY"}], "x": "$(touch /tmp/rcg-security-pwned)"}\n')
VICTIM = b'root-only secret: root:$6$notreally\n'
SYSTEM_PYTHON = '/usr/bin/python3'


@pytest.fixture(scope='module')
def attacker():
    """A real unprivileged user, removed afterwards."""
    if not os.path.exists(SYSTEM_PYTHON) or not shutil.which('setpriv') or not shutil.which('useradd'):
        pytest.skip('needs %s, setpriv and useradd' % SYSTEM_PYTHON)
    name = 'rcg-security-%d' % os.getpid()
    subprocess.check_call(['useradd', '--system', '--no-create-home', '--shell', '/usr/sbin/nologin',
                           '--user-group', name])
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.call(['userdel', name])


@pytest.fixture
def base():
    """A root-owned 0755 directory in /tmp the attacker can reach (pytest's tmp_path is 0700 root's)."""
    path = tempfile.mkdtemp(prefix='rcg-security-', dir='/tmp')
    os.chmod(path, 0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def as_user(user, argv, **kwargs):
    """Start ``argv`` as ``user`` (uid, gid, no supplementary groups, no capabilities)."""
    return subprocess.Popen(['setpriv', '--reuid=%d' % user.pw_uid, '--regid=%d' % user.pw_gid, '--clear-groups',
                             '--inh-caps=-all', '--'] + argv, **kwargs)


def user_dirs(user, *paths, mode=0o755):
    for path in paths:
        os.mkdir(path, mode)
        os.chown(path, user.pw_uid, user.pw_gid)


def user_file(user, path, data, mode=0o644):
    with open(path, 'wb') as handle:
        handle.write(data if isinstance(data, bytes) else data.encode())
    os.chmod(path, mode)
    os.chown(path, user.pw_uid, user.pw_gid)


def snapshot(top):
    """{relative path: (sha256 or link target, uid, gid, mode)} of everything below ``top``."""
    seen = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if os.path.islink(path):
                what = 'link:' + os.readlink(path)
            elif os.path.isdir(path):
                what = 'dir'
            else:
                with open(path, 'rb') as handle:
                    what = hashlib.sha256(handle.read()).hexdigest()
            seen[os.path.relpath(path, top)] = (what, st.st_uid, st.st_gid, oct(st.st_mode))
    return seen


# The attacker: waits (inotify) until root opens the profile, then swaps the directory that holds it
# for a symlink to a root-only directory. It prints "ready" once the watch is in place, "swapped" after.
SWAPPER = textwrap.dedent('''
    import ctypes, os, select, struct, sys
    sub, target, name, nth = sys.argv[1:5]
    nth = int(nth)  # swap at root's nth open of the file (profile_fix reads it for facts first)
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(os.O_CLOEXEC)
    IN_OPEN = 0x20
    if fd < 0 or libc.inotify_add_watch(fd, sub.encode(), IN_OPEN) < 0:
        sys.exit('inotify: %d' % ctypes.get_errno())
    print('ready', flush=True)
    while True:
        if not select.select([fd], [], [], 120)[0]:
            sys.exit('root never opened %s' % name)
        data, offset = os.read(fd, 65536), 0
        while offset < len(data):
            _wd, mask, _cookie, size = struct.unpack_from('iIII', data, offset)
            got = data[offset + 16:offset + 16 + size].rstrip(b'\\0').decode()
            offset += 16 + size
            nth -= got == name
        if nth <= 0:
            os.rename(sub, sub + '.old')
            os.symlink(target, sub)
            print('swapped', flush=True)
            break
''')


def _swap_race(user, base, args, runner=None, nth=1):
    """Set up the profile in a user's directory, let the user swap it during root's rewrite.

    ``runner(profile path)`` runs root's side (default: seccomp_profile with ``args``).
    Returns (its result, attacker output, victim dir, snapshot of the victim dir before).
    """
    victim_dir = os.path.join(base, 'etc')          # root's, 0700: the user can name it, not enter it
    os.mkdir(victim_dir, 0o700)
    with open(os.path.join(victim_dir, 'p.json'), 'wb') as handle:
        handle.write(VICTIM)
    os.chmod(os.path.join(victim_dir, 'p.json'), 0o600)
    operator = os.path.join(base, 'operator')         # the user's, like SPO's uid-65535 directory
    sub = os.path.join(operator, 'ns')
    user_dirs(user, operator, sub)
    user_file(user, os.path.join(sub, 'p.json'), HOSTILE)
    before = snapshot(victim_dir)
    swapper = as_user(user, [SYSTEM_PYTHON, '-c', SWAPPER, sub, victim_dir, 'p.json', str(nth)],
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert swapper.stdout.readline() == b'ready\n', swapper.stderr.read()
        if runner:
            result = runner(os.path.join(sub, 'p.json'))
        else:
            result = adhoc.run('runcguard.seccomp.seccomp_profile', dict(args, path=os.path.join(sub, 'p.json')))
    finally:
        time.sleep(0.2)
        swapper.kill()
        out, err = swapper.communicate()
    return result, out.decode() + err.decode(), victim_dir, before


@pytest.mark.parametrize('backup', [False, True])
def test_directory_swap_during_the_rewrite_touches_nothing_outside(attacker, base, backup):
    """Case 1 (critical), with default options: root refuses a profile in a user's directory, and the
    swap race the user runs meanwhile leaves every root file untouched (no overwrite, no backup)."""
    result, said, victim_dir, before = _swap_race(attacker, base, {'notify_remove': ['fcntl'], 'backup': backup})
    assert snapshot(victim_dir) == before, (result, said)
    assert not os.path.exists('/tmp/rcg-security-pwned')
    assert result['failed'], result
    assert 'allow_user_owned' in result['msg'] and attacker.pw_name in result['msg'], result['msg']


def test_directory_swap_with_allow_user_owned_stays_in_the_users_files(attacker, base):
    """Case 1 with allow_user_owned: the rewrite goes through the race-free helper; whatever the user
    swaps, root's write lands in the user's own directory (the one it opened), the owner is kept, and
    nothing outside changes."""
    result, said, victim_dir, before = _swap_race(attacker, base, {'notify_remove': ['fcntl'], 'backup': True,
                                                                   'allow_user_owned': True})
    assert snapshot(victim_dir) == before, (result, said)
    assert 'swapped' in said, said  # the race really ran
    moved = os.path.join(base, 'operator', 'ns.old')
    assert not result['failed'], result
    with open(os.path.join(moved, 'p.json')) as handle:
        rules = json.load(handle)['syscalls']
    assert [n for r in rules if r['action'] == 'SCMP_ACT_NOTIFY' for n in r['names']] == ['connect']
    for name in os.listdir(moved):  # the profile and its backup: still the user's, nothing of root's
        st = os.lstat(os.path.join(moved, name))
        assert (st.st_uid, st.st_gid) == (attacker.pw_uid, attacker.pw_gid), name
    assert len(os.listdir(moved)) == 2, os.listdir(moved)  # profile + backup, no lock or scratch left


def facts_in_private_etc(base, daemon_json, args=None):
    """runtime_facts (real ansible, as root) with /etc/docker/daemon.json as given, seen only by this run:
    an overlay on /etc in a private mount namespace, so the machine's /etc is never touched."""
    upper, work = os.path.join(base, 'etc-upper'), os.path.join(base, 'etc-work')
    os.mkdir(upper)
    os.mkdir(work)
    os.mkdir(os.path.join(upper, 'docker'))
    with open(os.path.join(upper, 'docker', 'daemon.json'), 'w') as handle:
        json.dump(daemon_json, handle)
    argv = [adhoc.tool('ansible'), 'localhost', '-i', 'localhost,', '-c', 'local', '-o', '-m',
            'runcguard.seccomp.runtime_facts'] + (['-a', json.dumps(args)] if args else [])
    script = 'mount -t overlay overlay -o lowerdir=/etc,upperdir="$1",workdir="$2" /etc && shift 2 && exec "$@"'
    proc = subprocess.run(['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', upper, work]
                          + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=adhoc.env(), timeout=600, check=False)
    text = proc.stdout.decode('utf-8')
    for line in text.splitlines():
        if line.startswith('localhost | ') and ' => ' in line:
            return line.split(' => ', 1)[1], json.loads(line.split(' => ', 1)[1])
    raise AssertionError('no result from ansible: %s %s' % (text[-2000:], proc.stderr[-2000:]))


def test_a_users_runtime_named_in_daemon_json_is_never_run_as_root(attacker, base):
    """Case 4: a runtime in a user's directory that /etc/docker/daemon.json names: runtime_facts (read-only,
    as root) never runs it; its entry says why and that the version is unknown or read statically."""
    home = os.path.join(base, 'home')
    user_dirs(attacker, home, os.path.join(home, 'bin'))
    ran = os.path.join(base, 'ran-as')  # root's directory: only a process running as root can write here
    stub = os.path.join(home, 'bin', 'runc')
    user_file(attacker, stub, '#!/bin/sh\nid -u >> %s\necho "runc version 1.2.0-rc.2"\n' % ran, mode=0o755)
    _text, res = facts_in_private_etc(base, {'runtimes': {'userrt': {'path': stub}}, 'default-runtime': 'userrt'})
    assert not os.path.exists(ran), 'root ran the user\'s runtime: uids %s' % open(ran).read().split()
    entry = [r for r in res['ansible_facts']['runcguard']['runtimes'] if r['path'] == stub]
    assert entry, res['ansible_facts']['runcguard']['runtimes']
    assert entry[0]['error'] and attacker.pw_name in entry[0]['error'], entry[0]


def test_a_users_real_runc_is_read_statically_not_run(attacker, base):
    """Case 4 with a real runc 1.2.0-rc.2 build a user owns: its version comes from its Go build
    information (version_source buildinfo), so the hang hazard is still seen without running it."""
    build = realruntimes.runc_build('runc-v1.2.0-rc.2')
    home = os.path.join(base, 'home')
    user_dirs(attacker, home, os.path.join(home, 'bin'))
    binary = os.path.join(home, 'bin', 'runc')
    with open(build, 'rb') as handle:
        user_file(attacker, binary, handle.read(), mode=0o755)
    _text, res = facts_in_private_etc(base, {'runtimes': {'userrt': {'path': binary}}})
    entry = [r for r in res['ansible_facts']['runcguard']['runtimes'] if r['path'] == binary]
    assert entry and entry[0]['version'] == '1.2.0-rc.2' and entry[0]['version_source'] == 'buildinfo', entry
    assert entry[0]['error'] is None, entry


def test_a_users_link_to_a_root_only_profile_reveals_nothing(attacker, base):
    """Case 6: a user's symlink to a root-only 0600 profile (named in daemon.json, as a user could ask an
    admin to do): its NOTIFY set, listenerPath and sha256 never reach facts; the entry is an error that
    names the link, not where it leads."""
    secret_dir = os.path.join(base, 'secret')
    os.mkdir(secret_dir, 0o700)
    secret = os.path.join(secret_dir, 'agent.json')
    doc = {'defaultAction': 'SCMP_ACT_ERRNO', 'listenerPath': '/run/rcg-security-hidden.sock',
           'syscalls': [{'names': ['read'], 'action': 'SCMP_ACT_ALLOW'},
                        {'names': ['getpid'], 'action': 'SCMP_ACT_NOTIFY'}]}
    with open(secret, 'w') as handle:
        json.dump(doc, handle)
    os.chmod(secret, 0o600)
    with open(secret, 'rb') as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    home = os.path.join(base, 'home')
    user_dirs(attacker, home)
    link = os.path.join(home, 'profile.json')
    os.symlink(secret, link)
    os.lchown(link, attacker.pw_uid, attacker.pw_gid)
    text, res = facts_in_private_etc(base, {'seccomp-profile': link}, {'profile_paths': [link]})
    for leak in ('rcg-security-hidden', digest, 'getpid', secret):
        assert leak not in text, leak
    entries = [p for p in res['ansible_facts']['runcguard']['profiles'] if p['path'] == link]
    assert entries and entries[0]['error'] and attacker.pw_name in entries[0]['error'], entries


def test_the_probe_never_starts_a_users_runtime(attacker, base):
    """Case 4, the probe: notify_probe (what audit_probe runs) is handed a user's runtime, as the audit
    hands it every runtime the facts found; it never runs it as root and says why in not_probed."""
    home = os.path.join(base, 'home')
    user_dirs(attacker, home)
    ran = os.path.join(base, 'ran-as')
    stub = os.path.join(home, 'runc')
    user_file(attacker, stub, '#!/bin/sh\nid -u >> %s\necho "runc version 1.2.0-rc.2"\n' % ran, mode=0o755)
    res = adhoc.run('runcguard.seccomp.notify_probe', {'runtime': [stub], 'syscalls': ['fcntl'], 'timeout': 5})
    assert not os.path.exists(ran), 'root ran the user\'s runtime: uids %s' % open(ran).read().split()
    assert res['failed'] and 'no runtime could be probed' in res['msg'], res
    assert [s for s in res['not_probed'] if s['runtime'] == stub and attacker.pw_name in s['message']], res


def profile_fix(base, path, allow):
    """The profile_fix role (real ansible-playbook, as root) on ``path``; returns (rc, output)."""
    playbook = os.path.join(base, 'fix.yml')
    with open(playbook, 'w') as handle:
        handle.write('- hosts: localhost\n  gather_facts: false\n  roles:\n    - runcguard.seccomp.profile_fix\n')
    extra = {'profile_fix_paths': [path], 'profile_fix_allow_user_owned': allow, 'profile_fix_verify': True}
    proc = subprocess.run([adhoc.tool('ansible-playbook'), '-i', 'localhost,', '-c', 'local', playbook, '-e',
                           json.dumps(extra)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=adhoc.env(),
                          timeout=600, check=False)
    return proc.returncode, proc.stdout.decode('utf-8', 'replace')


def test_profile_fix_refuses_a_users_profile_and_the_race_changes_nothing(attacker, base):
    """Case 1 through the role, with its defaults: the user's profile is reported, not rewritten, and the
    swap the user runs meanwhile leaves every root file untouched."""
    (rc, out), said, victim_dir, before = _swap_race(attacker, base, None,
                                                     runner=lambda path: profile_fix(base, path, False), nth=2)
    assert snapshot(victim_dir) == before, (out[-3000:], said)
    assert rc != 0 and 'allow_user_owned' in out and attacker.pw_name in out, out[-3000:]


def test_profile_fix_allow_user_owned_rewrites_keeping_the_owner(attacker, base):
    """profile_fix_allow_user_owned: true rewrites the user's profile, raced during the rewrite, in the user's own
    directory, keeps its owner, and nothing outside changes."""
    (rc, out), said, victim_dir, before = _swap_race(attacker, base, None,
                                                     runner=lambda path: profile_fix(base, path, True), nth=2)
    assert snapshot(victim_dir) == before, (out[-3000:], said)
    assert 'swapped' in said, (said, out[-3000:])  # the race really ran, during the rewrite
    moved = os.path.join(base, 'operator', 'ns.old')
    with open(os.path.join(moved, 'p.json')) as handle:
        rules = json.load(handle)['syscalls']
    assert [n for r in rules if r['action'] == 'SCMP_ACT_NOTIFY' for n in r['names']] == ['connect'], out[-3000:]
    assert os.stat(os.path.join(moved, 'p.json')).st_uid == attacker.pw_uid
