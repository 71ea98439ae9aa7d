# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""runc_pin_apply on real files with the real containerd parser (root).

Debian's containerd 1.6 (``apt-get download containerd``, unpacked, never installed or started) sits
on the module's search path inside a private mount namespace (a temp dir bound over
/usr/local/bin), so the module validates every candidate with ``containerd --config F config
dump``. A corpus of engine configurations, each under its own temp root, is pinned, pinned again
(no change) and unpinned: bytes, owner, group, mode and links come back, and every directory the
pin created goes. A pin or unpin killed with SIGKILL at any point is undone by the next unpin.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='owners, mount namespaces: root only')

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.path.join(REPO, '.cache', 'debs')
SHA = hashlib.sha256(b'#!/bin/sh\necho runc version 1.1.13\n').hexdigest()
NAMESPACE = 'set -eu\nmount --bind "$1" /usr/local/bin\nshift\nexec "$@"\n'

K8S = u'''version = 2
imports = []  # none yet

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.9"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/opt/cni/bin"
    conf_dir = "/etc/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = true
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "/etc/containerd/certs.d"
'''

# name: ({relative path: text | ('link', target) | (text, mode, uid, gid)}, engines)
CORPUS = {
    'kubernetes node, 0640 with a group': ({'etc/containerd/config.toml': (K8S, 0o640, 0, 5678)}, ['containerd']),
    'no final newline': ({'etc/containerd/config.toml': u'version = 2'}, ['containerd']),
    'crlf, bom, comments, non-ascii': ({'etc/containerd/config.toml':
                                        u'\ufeffversion = 2\r\n# Zürich\r\n[plugins."io.containerd.grpc.v1.cri"]\r\n'
                                        u'  sandbox_image = "registry.k8s.io/pause:3.9" # kept\r\n'}, ['containerd']),
    'version 1': ({'etc/containerd/config.toml': u'[plugins.cri]\n  sandbox_image = "registry.k8s.io/pause:3.9"\n'
                                                 u'[plugins.cri.containerd.runtimes.runc.options]\n  SystemdCgroup = true\n'},
                  ['containerd']),
    'existing BinaryName': ({'etc/containerd/config.toml': (
        u'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\n'
        u'  BinaryName = "/usr/sbin/runc" # distro\n')}, ['containerd']),
    'multi-line imports with a trailing comma': ({
        'etc/containerd/config.toml': u'version = 2\nimports = [\n  "{root}/etc/containerd/opt.toml", # opt\n]\n',
        'etc/containerd/opt.toml': u'version = 2\n[plugins."io.containerd.internal.v1.opt"]\n  path = "/opt/containerd"\n'},
        ['containerd']),
    'symlinked config.toml': ({'etc/containerd/config.toml': ('link', '../k8s/containerd.toml'),
                               'etc/k8s/containerd.toml': K8S}, ['containerd']),
    'daemon.json: custom default runtime, link, 0600 with a group': ({
        'etc/docker/daemon.json': ('link', 'daemon.real.json'),
        'etc/docker/daemon.real.json': (u'{\n    "default-runtime": "custom",\n    "runtimes": {\n        "custom": '
                                        u'{"path": "/opt/custom/runc", "runtimeArgs": ["--systemd-cgroup"]}\n    },\n'
                                        u'    "labels": ["ort=Zürich"]\n}', 0o600, 0, 5678)}, ['docker']),
    'nothing there yet (every file and directory created)': ({'etc/.keep': u''}, ['containerd', 'docker', 'cri-o', 'podman']),
}


def _containerd_dir(tmp_path_factory):
    """A directory holding Debian's containerd binary (downloaded once into .cache/debs)."""
    os.makedirs(CACHE, exist_ok=True)
    debs = glob.glob(os.path.join(CACHE, 'containerd_*.deb'))
    if not debs:
        proc = subprocess.run(['apt-get', 'download', 'containerd'], cwd=CACHE, capture_output=True, text=True,
                              timeout=300, check=False)
        debs = glob.glob(os.path.join(CACHE, 'containerd_*.deb'))
        if not debs:
            pytest.skip('cannot download Debian\'s containerd: %s' % proc.stderr[-300:])
    unpacked = str(tmp_path_factory.mktemp('containerd-deb'))
    subprocess.run(['dpkg-deb', '-x', debs[0], unpacked], check=True, timeout=120)
    bindir = str(tmp_path_factory.mktemp('bin'))
    shutil.copy2(os.path.join(unpacked, 'usr', 'bin', 'containerd'), bindir)
    os.chmod(bindir, 0o755)
    return bindir


@pytest.fixture(scope='module')
def containerd_bin(tmp_path_factory):
    for tool in ('unshare', 'mount', 'dpkg-deb'):
        if not shutil.which(tool):
            pytest.skip('%s not found' % tool)
    return _containerd_dir(tmp_path_factory)


def manifest(root):
    out = {}
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(top, name)
            st = os.lstat(path)
            entry = (oct(st.st_mode), st.st_uid, st.st_gid)
            if os.path.islink(path):
                entry += ('->', os.readlink(path))
            elif os.path.isfile(path):
                with open(path, 'rb') as handle:
                    entry += (hashlib.sha256(handle.read()).hexdigest(),)
            out[os.path.relpath(path, root)] = entry
    return out


def build(root, files):
    for rel, spec in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if isinstance(spec, tuple) and spec[0] == 'link':
            os.symlink(spec[1], path)
            continue
        text, mode, uid, gid = spec if isinstance(spec, tuple) else (spec, 0o644, 0, 0)
        with open(path, 'wb') as handle:
            handle.write(text.replace('{root}', root).encode('utf-8'))
        os.chown(path, uid, gid)
        os.chmod(path, mode)


def args(root, state, engines, **extra):
    base = dict(
        binary=os.path.join(root, 'usr/local/sbin/runc-1.1.13'), binary_src=os.path.join(root, 'staged-runc'),
        binary_sha256=SHA, engines=engines, state_dir=os.path.join(state, 'runcguard/runc_pin'),
        docker_daemon_json=os.path.join(root, 'etc/docker/daemon.json'),
        containerd_config=os.path.join(root, 'etc/containerd/config.toml'),
        containerd_dropin=os.path.join(root, 'etc/containerd/conf.d/runcguard-runc.toml'),
        crio_config=os.path.join(root, 'etc/crio/crio.conf'),
        crio_dropin=os.path.join(root, 'etc/crio/crio.conf.d/99-runcguard-runc.conf'),
        podman_dropin=os.path.join(root, 'etc/containers/containers.conf.d/99-runcguard-runc.conf'))
    base.update(extra)
    return base


def stage(root):
    with open(os.path.join(root, 'staged-runc'), 'wb') as handle:
        handle.write(b'#!/bin/sh\necho runc version 1.1.13\n')


def start(bindir, tmp_path, module_args):
    argfile = tmp_path / ('args-%d.json' % time.monotonic_ns())
    argfile.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': module_args}))
    collections = os.environ.get('ANSIBLE_COLLECTIONS_PATH', os.path.join(REPO, '.cache', 'collections')).split(':')[0]
    env = dict(os.environ, PYTHONPATH=collections, LANG='C.UTF-8')
    argv = ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', NAMESPACE, 'sh', bindir,
            sys.executable, '-m', 'ansible_collections.runcguard.seccomp.plugins.modules.runc_pin_apply', str(argfile)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)


def run(bindir, tmp_path, module_args):
    proc = start(bindir, tmp_path, module_args)
    out, err = proc.communicate(timeout=300)
    try:
        return json.loads(out)
    except ValueError:
        raise AssertionError('module output: %s %s' % (out[-3000:], err[-2000:]))


@pytest.mark.parametrize('name', sorted(CORPUS))
def test_corpus_pin_repin_unpin(name, containerd_bin, tmp_path):
    files, engines = CORPUS[name]
    root, state = str(tmp_path / 'root'), str(tmp_path / 'var')
    os.makedirs(root)
    os.makedirs(state)
    build(root, files)
    stage(root)
    before = manifest(root)
    before.pop('staged-runc')

    pinned = run(containerd_bin, tmp_path, args(root, state, engines))
    assert pinned.get('changed') is True, pinned
    if 'containerd' in engines:
        assert pinned['engines']['containerd']['validated_by'] == 'containerd config dump', pinned
    after = manifest(root)
    for rel, entry in before.items():  # owners, modes and links of what was there are kept
        if rel in after:
            assert after[rel][:3] == entry[:3] and (entry[3:4] != ('->',) or after[rel] == entry), rel
    again = run(containerd_bin, tmp_path, args(root, state, engines))
    assert again.get('changed') is False, again
    assert manifest(root) == after

    undone = run(containerd_bin, tmp_path, dict(state='absent', state_dir=os.path.join(state, 'runcguard/runc_pin')))
    assert undone.get('changed') is True, undone
    assert manifest(root) == before
    assert os.listdir(state) == []  # the record and the directory it created are gone


def test_kubernetes_node_keeps_every_cri_setting(containerd_bin, tmp_path):
    root, state = str(tmp_path / 'root'), str(tmp_path / 'var')
    os.makedirs(state)
    build(root, {'etc/containerd/config.toml': K8S})
    stage(root)
    result = run(containerd_bin, tmp_path, args(root, state, ['containerd']))
    assert result.get('changed') is True, result
    dump = subprocess.run([os.path.join(containerd_bin, 'containerd'), '--config',
                           os.path.join(root, 'etc/containerd/config.toml'), 'config', 'dump'],
                          capture_output=True, text=True, timeout=60, check=True).stdout
    import tomllib  # the test runs on the controller's Python (>= 3.12)
    cri = tomllib.loads(dump)['plugins']['io.containerd.grpc.v1.cri']
    assert cri['sandbox_image'] == 'registry.k8s.io/pause:3.9'
    assert (cri['cni']['bin_dir'], cri['cni']['conf_dir']) == ('/opt/cni/bin', '/etc/cni/net.d')
    assert cri['registry']['config_path'] == '/etc/containerd/certs.d'
    assert cri['containerd']['runtimes']['runc']['options'] == {
        'SystemdCgroup': True, 'BinaryName': os.path.join(root, 'usr/local/sbin/runc-1.1.13')} or \
        cri['containerd']['runtimes']['runc']['options']['SystemdCgroup'] is True
    assert cri['containerd']['runtimes']['runc']['options']['BinaryName'] == os.path.join(root, 'usr/local/sbin/runc-1.1.13')


def test_refusal_names_the_parser_and_changes_nothing(containerd_bin, tmp_path):
    # valid TOML that containerd 1.6 refuses: the pin is refused with containerd's own message
    root, state = str(tmp_path / 'root'), str(tmp_path / 'var')
    os.makedirs(state)
    build(root, {'etc/containerd/config.toml': u'version = 2\noom_score = "high"\n'})
    stage(root)
    before = manifest(root)
    result = run(containerd_bin, tmp_path, args(root, state, ['containerd']))
    assert result.get('failed') is True
    assert 'containerd refuses the current' in result['msg'] and 'Nothing was changed' in result['msg'], result
    assert manifest(root) == before and os.listdir(state) == []


@pytest.mark.parametrize('delay', [0.05, 0.15, 0.3, 0.5, 0.8])
def test_sigkill_during_pin_or_unpin_then_unpin_restores(delay, containerd_bin, tmp_path):
    files = dict(CORPUS['kubernetes node, 0640 with a group'][0])
    files.update(CORPUS['daemon.json: custom default runtime, link, 0600 with a group'][0])
    root, state = str(tmp_path / 'root'), str(tmp_path / 'var')
    os.makedirs(state)
    build(root, files)
    before = manifest(root)
    state_dir = os.path.join(state, 'runcguard/runc_pin')
    engines = ['containerd', 'docker', 'cri-o', 'podman']
    for phase in ('pin', 'unpin'):
        stage(root)
        if phase == 'unpin':
            assert run(containerd_bin, tmp_path, args(root, state, engines)).get('changed') is True
            proc = start(containerd_bin, tmp_path, dict(state='absent', state_dir=state_dir))
        else:
            proc = start(containerd_bin, tmp_path, args(root, state, engines))
        time.sleep(delay)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.communicate()
        result = run(containerd_bin, tmp_path, dict(state='absent', state_dir=state_dir))
        assert not result.get('failed'), result
        now = manifest(root)
        now.pop('staged-runc', None)
        assert now == before, (phase, delay)
        # the state directories a killed pin made are journalled before they exist: nothing is left
        left = [os.path.join(d, f) for d, dirs, fs in os.walk(state) for f in dirs + fs]
        assert left == [], (phase, delay, left)
