# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A node's root mounted elsewhere: paths as the node sees them, symlinks resolved inside the root,
never out of it, for resolution, reads, globs and directory walks."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.runcguard.seccomp.plugins.module_utils._files import FileProblem
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.rootfs import (
    HostFs, RootEscape, RootFs, make_fs,
)

SECRET = b'controller secret, never to be read\n'


@pytest.fixture
def tree(tmp_path):
    """<tmp>/outside/secret beside <tmp>/root, a small node tree with links of every kind."""
    outside = tmp_path / 'outside'
    outside.mkdir()
    (outside / 'secret').write_bytes(SECRET)
    root = tmp_path / 'root'
    for d in ('usr/sbin', 'usr/bin', 'etc/docker', 'etc/alternatives', 'opt/real'):
        (root / d).mkdir(parents=True)
    (root / 'usr/sbin/runc').write_bytes(b'node runc')
    (root / 'etc/shadow').write_bytes(b'node shadow')
    os.symlink('/etc/alternatives/runc', str(root / 'usr/bin/runc'))       # absolute, inside
    os.symlink('/usr/sbin/runc', str(root / 'etc/alternatives/runc'))
    os.symlink('usr/bin', str(root / 'bin'))                               # relative, inside
    os.symlink('/etc/shadow', str(root / 'etc/docker/abs-shadow'))         # absolute: the node's shadow
    os.symlink(str(outside / 'secret'), str(root / 'etc/docker/abs-out'))   # absolute to a controller path
    os.symlink('../../../outside/secret', str(root / 'etc/docker/rel-out'))  # relative, climbs out
    os.symlink('../../../../../../../../outside', str(root / 'opt/escape-dir'))
    os.symlink('/opt/real', str(root / 'opt/current'))
    (root / 'opt/real/seccomp.json').write_bytes(b'{}')
    os.symlink('loop-b', str(root / 'etc/loop-a'))
    os.symlink('loop-a', str(root / 'etc/loop-b'))
    return root


def test_absolute_links_start_again_at_the_root(tree):
    fs = RootFs(str(tree))
    assert fs.resolve('/usr/bin/runc') == '/usr/sbin/runc'
    assert fs.resolve('/bin/runc') == '/usr/sbin/runc'
    assert fs.real('/bin/runc') == str(tree) + '/usr/sbin/runc'
    assert fs.read('/bin/runc', 100) == b'node runc'
    assert fs.host(fs.real('/bin/runc')) == '/usr/sbin/runc'


def test_a_link_to_etc_shadow_reads_the_nodes_file_never_the_controllers(tree):
    fs = RootFs(str(tree))
    assert fs.read('/etc/docker/abs-shadow', 100) == b'node shadow'
    with pytest.raises(FileProblem) as caught:  # the controller's path does not exist in the node
        fs.read('/etc/docker/abs-out', 100)
    assert caught.value.message == 'does not exist'


@pytest.mark.parametrize('path', ['/etc/docker/rel-out', '/opt/escape-dir/secret'])
def test_relative_links_out_of_the_root_are_refused(tree, path):
    fs = RootFs(str(tree))
    for call in (fs.resolve, fs.real, lambda p: fs.read(p, 100), fs.open_read, fs.listdir):
        with pytest.raises(RootEscape) as caught:
            call(path)
        assert 'outside the audited root' in caught.value.message
    assert fs.exists(path)  # it is there: reading it says why it is not followed


def test_dotdot_in_a_named_path_stays_at_the_root(tree):
    fs = RootFs(str(tree))
    assert fs.resolve('/../../../etc/shadow') == '/etc/shadow'
    assert fs.read('/../../etc/shadow', 100) == b'node shadow'


def test_loops_and_missing_parts(tree):
    fs = RootFs(str(tree))
    with pytest.raises(FileProblem) as caught:
        fs.read('/etc/loop-a', 100)
    assert 'loop' in caught.value.message
    assert fs.resolve('/no/such/../file') == '/no/file'
    assert not fs.exists('/no/such/file')
    with pytest.raises(FileProblem) as caught:
        fs.read('/usr/sbin/runc/below', 100)
    assert caught.value.message == 'a parent is not a directory'


def test_glob_and_which_stay_inside(tree):
    fs = RootFs(str(tree))
    assert fs.glob('/opt/*/seccomp.json') == ['/opt/current/seccomp.json', '/opt/real/seccomp.json']
    assert fs.glob('/opt/escape-dir/*') == []
    assert fs.glob('/usr/*/runc') == ['/usr/bin/runc', '/usr/sbin/runc']
    os.chmod(str(tree / 'usr/sbin/runc'), 0o755)
    assert fs.which('runc', ('/bin', '/usr/sbin')) == '/bin/runc'


def test_reads_are_bounded_and_only_regular_files(tree):
    fs = RootFs(str(tree))
    (tree / 'etc/big').write_bytes(b'x' * 5000)
    with pytest.raises(FileProblem) as caught:
        fs.read('/etc/big', 4096)
    assert caught.value.message.startswith('too large: 5000 bytes')
    os.mkfifo(str(tree / 'etc/fifo'))
    with pytest.raises(FileProblem) as caught:
        fs.read('/etc/fifo', 100)  # never blocks
    assert 'FIFO' in caught.value.message
    with pytest.raises(FileProblem):
        fs.read('/etc', 100)


def test_root_that_is_not_a_directory(tree, tmp_path):
    with pytest.raises(FileProblem) as caught:
        RootFs(str(tree / 'etc/shadow'))
    assert 'is not a directory' in caught.value.message
    with pytest.raises(FileProblem) as caught:
        RootFs(str(tmp_path / 'missing'))
    assert 'does not exist' in caught.value.message
    assert isinstance(make_fs('/'), HostFs) and not make_fs(None).confined
    assert make_fs(str(tree)).confined


def test_unreadable_directory_is_a_clear_error(open_tmp, as_nobody):
    root = os.path.join(open_tmp, 'root')
    os.makedirs(os.path.join(root, 'etc', 'locked'))
    with open(os.path.join(root, 'etc', 'locked', 'daemon.json'), 'w') as handle:
        handle.write('{}')
    os.chmod(os.path.join(root, 'etc', 'locked'), 0o000)
    with as_nobody():
        fs = RootFs(root)
        with pytest.raises(FileProblem) as caught:
            fs.read('/etc/locked/daemon.json', 100)
        assert caught.value.message == 'permission denied'
        with pytest.raises(FileProblem) as caught:
            fs.listdir('/etc/locked')
        assert caught.value.message == 'permission denied'


@pytest.mark.skipif(os.geteuid() != 0, reason='chown to a node user needs root')
def test_a_node_users_link_is_followed_only_into_what_that_user_can_read(tmp_path):
    root = tmp_path / 'root'
    secret_dir = root / 'root/s'
    secret_dir.mkdir(parents=True)
    (secret_dir / 'p.json').write_bytes(SECRET)
    os.chmod(str(secret_dir / 'p.json'), 0o600)
    os.chmod(str(secret_dir), 0o700)
    os.chmod(str(root / 'root'), 0o700)
    (root / 'etc').mkdir()
    (root / 'etc/public.json').write_bytes(b'{}')
    os.chmod(str(root / 'etc/public.json'), 0o644)
    user_dir = root / 'home/node'
    user_dir.mkdir(parents=True)
    os.chown(str(user_dir), 65534, 65534)
    for name, target in (('leak.json', '/root/s/p.json'), ('public.json', '/etc/public.json')):
        os.symlink(target, str(user_dir / name))
        os.lchown(str(user_dir / name), 65534, 65534)
    os.symlink('/root/s/p.json', str(root / 'etc/rootlink.json'))  # root's own link: followed as before
    fs = RootFs(str(root))
    for op in (fs.resolve, fs.real, lambda p: fs.read(p, 4096), lambda p: fs.sha256(p, 4096)):
        with pytest.raises(FileProblem) as exc:
            op('/home/node/leak.json')
        assert 'cannot read' in exc.value.message and 'p.json' not in exc.value.message
        assert '/root' not in exc.value.message
    assert fs.read('/home/node/public.json', 4096) == b'{}'  # what the user can read is followed
    assert fs.resolve('/home/node/public.json') == '/etc/public.json'
    assert fs.read('/etc/rootlink.json', 4096) == SECRET
