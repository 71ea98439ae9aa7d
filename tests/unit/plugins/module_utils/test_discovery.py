# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_discovery.gather on a real file tree: stub runtimes print real `--version` outputs, profiles
and bundles are real files, bad inputs are real FIFOs, loops, garbage and hanging binaries."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import socket
import time

import pytest

from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import discovery as _discovery
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import profiles as _profiles

RC2 = '''runc version 1.2.0-rc.2
commit: v1.2.0-rc.2-0-gf2d2ee5e4
spec: 1.2.0
go: go1.21.13
libseccomp: 2.5.4
'''
RC1 = RC2.replace('rc.2', 'rc.1').replace('f2d2ee5e4', '275e6d85f')
K3S = '''runc version 1.1.12
commit: 7d07dac
spec: 1.0.2-dev
go: go1.20.13
libseccomp: 2.5.4
'''
CONTAINERD_IO = 'runc version 1.7.20\ncommit: v1.1.13-0-g58aa9203\n'
CRUN = '''crun version 1.5
commit: 54ebb8ca8bf7e6ddae2eb919f5b82d1d96863dea
spec: 1.0.0
+SELINUX +APPARMOR +CAP +SECCOMP +EBPF +YAJL
'''


def notify_profile(syscalls, listener='/run/agent.sock'):
    return {'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': listener,
            'architectures': ['SCMP_ARCH_X86_64'],
            'syscalls': [{'names': syscalls, 'action': 'SCMP_ACT_NOTIFY'}]}


def put(root, path, content, mode=0o644):
    full = os.path.join(str(root), path.lstrip('/'))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    if isinstance(content, (dict, list)):
        content = json.dumps(content)
    with open(full, 'wb') as f:
        f.write(content.encode() if isinstance(content, str) else content)
    os.chmod(full, mode)
    return full


def stub(root, path, output):
    return put(root, path, "#!/bin/sh\ncat <<'EOF'\n%sEOF\n" % output, 0o755)


def link(root, path, target):
    full = os.path.join(str(root), path.lstrip('/'))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    os.symlink(target, full)  # relative targets: an absolute one would leave the test root


@pytest.fixture()
def host(tmp_path):
    r = tmp_path / 'root'
    # runtimes: Debian-style symlink, k3s data dir with `current`, engine-named binaries
    stub(r, '/usr/sbin/runc', RC2)
    link(r, '/usr/bin/runc', '../sbin/runc')
    stub(r, '/usr/local/bin/crun', CRUN)
    stub(r, '/var/lib/rancher/k3s/data/abc123/bin/runc', K3S)
    link(r, '/var/lib/rancher/k3s/data/current', 'abc123')
    stub(r, '/opt/rc1/runc', RC1)
    stub(r, '/opt/containerd.io/runc', CONTAINERD_IO)
    put(r, '/usr/bin/dockerd', '#!/bin/sh\n', 0o755)
    put(r, '/etc/docker/daemon.json', {
        'runtimes': {'rc1': {'path': '/opt/rc1/runc'}, 'gone': {'path': '/opt/gone/runc'},
                     'nopath': {'path': 'youki'}},
        'seccomp-profile': '/etc/docker/notify.json'})
    put(r, '/etc/docker/notify.json', notify_profile(['fcntl', 'connect']))
    put(r, '/etc/containerd/config.toml', '''version = 2
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  BinaryName = "/opt/containerd.io/runc"
''')
    put(r, '/etc/crio/crio.conf.d/10-crio.conf', '[crio.runtime]\nseccomp_profile = "/etc/crio/seccomp.json"\n')
    link(r, '/etc/crio/seccomp.json', '../docker/notify.json')  # same real file, two settings
    # kubelet tree including Security Profiles Operator profiles and every kind of bad input
    kube = '/var/lib/kubelet/seccomp'
    put(r, kube + '/profiles/notify-write.json', notify_profile(['write'], listener='/run/missing.sock'))
    put(r, kube + '/operator/default/spo.json', notify_profile(['fcntl']))
    put(r, kube + '/profiles/notify-write.json.1234.2026-11-29@01:02:03~', notify_profile(['fcntl']))
    put(r, kube + '/bad/truncated.json', '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [')
    put(r, kube + '/bad/empty.json', '')
    put(r, kube + '/bad/list.json', '[1, 2]')
    put(r, kube + '/bad/binary.json', b'\x7fELF\x02\x01\x01\x00\x00\x00\xff\xfe')
    put(r, kube + '/bad/latin1.json', b'{"defaultAction": "SCMP_ACT_ALLOW", "x": "\xe9"}')
    put(r, kube + '/bad/types.json', {'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': 'fcntl'})
    put(r, kube + '/bad/big.json', '{"defaultAction": "SCMP_ACT_ALLOW"}' + ' ' * 5000)
    os.mkfifo(os.path.join(str(r), kube.lstrip('/'), 'bad', 'fifo.json'))
    link(r, kube + '/bad/loop-a.json', 'loop-b.json')
    link(r, kube + '/bad/loop-b.json', 'loop-a.json')
    # running bundles: containerd (k8s.io, moby), one without seccomp, podman userdata
    bundle = {'ociVersion': '1.2.0', 'linux': {'seccomp': notify_profile(['fcntl'])}}
    put(r, '/run/containerd/io.containerd.runtime.v2.task/k8s.io/c1/config.json', bundle)
    put(r, '/run/containerd/io.containerd.runtime.v2.task/moby/d1/config.json', bundle)
    put(r, '/run/containerd/io.containerd.runtime.v2.task/k8s.io/plain/config.json',
        {'ociVersion': '1.2.0', 'linux': {}})
    put(r, '/var/lib/containers/storage/overlay-containers/p1/userdata/config.json', bundle)
    put(r, '/var/lib/docker/containers/d1/hostconfig.json',
        {'SecurityOpt': ['label=disable', 'seccomp=' + json.dumps(notify_profile(['sendmsg']))]})
    # a live listener socket
    sock = socket.socket(socket.AF_UNIX)
    os.makedirs(os.path.join(str(r), 'run'), exist_ok=True)
    sock.bind(os.path.join(str(r), 'run', 'agent.sock'))
    yield r
    sock.close()


def gather(root, **options):
    opts = {'profile_paths': [], 'runtime_paths': [], 'discover': True, 'command_timeout': 5,
            'max_profile_size': 4096}
    opts.update(options)
    return _discovery.gather(_root=str(root), **opts)


def by_path(items):
    return dict((i['path'], i) for i in items)


def test_runtimes_folded_versioned_and_attributed(host):
    facts = gather(host)
    rts = by_path(facts['runtimes'])
    runc = rts['/usr/bin/runc']  # first standard dir wins as path; the symlink is folded
    assert runc['realpath'] == '/usr/sbin/runc'
    assert runc['paths'] == ['/usr/bin/runc', '/usr/sbin/runc']
    assert (runc['version'], runc['version_source'], runc['dev']) == ('1.2.0-rc.2', 'commit', False)
    assert runc['go'] == '1.21.13' and runc['libseccomp'] == '2.5.4'
    assert set(runc['used_by']) >= {'docker', 'cri-o'}
    assert runc['error'] is None
    assert rts['/usr/local/bin/crun']['version'] == '1.5.0'
    k3s = [r for r in facts['runtimes'] if r['realpath'] == '/var/lib/rancher/k3s/data/abc123/bin/runc']
    assert len(k3s) == 1 and k3s[0]['version'] == '1.1.12' and 'k3s' in k3s[0]['used_by']
    assert rts['/opt/rc1/runc']['version'] == '1.2.0-rc.1' and rts['/opt/rc1/runc']['used_by'] == ['docker']
    cio = rts['/opt/containerd.io/runc']
    assert cio['version'] == '1.1.13' and cio['used_by'] == ['containerd']
    gone = rts['/opt/gone/runc']
    assert 'does not exist' in gone['error'] and gone['used_by'] == ['docker'] and gone['realpath'] is None
    assert {'path': '/opt/gone/runc', 'error': gone['error']} in facts['scan']['errors']
    youki = rts['youki']
    assert youki['error'] == 'does not exist (named by docker daemon.json runtimes.nopath, not found on PATH)'
    assert all(r['package'] is None for r in facts['runtimes'])  # no dpkg database in this root


def test_hanging_and_garbage_binaries(host):
    put(host, '/opt/bad/hang', '#!/bin/sh\nexec sleep 600\n', 0o755)
    put(host, '/opt/bad/garbage', "#!/bin/sh\nprintf '\\000\\377\\376runc\\001\\002'\n", 0o755)
    put(host, '/opt/bad/notexec', '#!/bin/sh\n', 0o644)
    put(host, '/opt/bad/fails', '#!/bin/sh\necho boom >&2\nexit 3\n', 0o755)
    link(host, '/opt/bad/loop', 'loop')
    started = time.time()
    facts = gather(host, discover=False, command_timeout=1,
                   runtime_paths=['/opt/bad/*'])
    elapsed = time.time() - started
    rts = by_path(facts['runtimes'])
    assert rts['/opt/bad/hang']['error'] == 'timed out after 1s'
    assert elapsed < 8
    assert rts['/opt/bad/garbage']['error'].startswith('unparsable --version output')
    assert rts['/opt/bad/garbage']['version'] is None
    assert rts['/opt/bad/notexec']['error'] == 'not executable'
    assert rts['/opt/bad/fails']['error'] == 'exited with rc=3: boom'
    assert 'symlink loop' in rts['/opt/bad/loop']['error']
    json.dumps(facts)  # garbage output must still serialise
    assert facts['engines'] == {} and facts['profiles'] == []


def test_profiles_origins_bundles_and_errors(host):
    facts = gather(host)
    profs = by_path(facts['profiles'])
    docker = profs['/etc/docker/notify.json']
    assert {'engine': 'docker', 'setting': 'daemon.json seccomp-profile'} in docker['origin']
    assert {'engine': 'cri-o', 'setting': 'crio.conf seccomp_profile'} in docker['origin']
    assert '/etc/crio/seccomp.json' not in profs  # merged by real path
    assert 'fcntl' in docker['notify_syscalls'] and docker['listener_exists'] is True
    assert len(docker['sha256']) == 64 and docker['size'] > 0 and docker['error'] is None

    write = profs['/var/lib/kubelet/seccomp/profiles/notify-write.json']
    assert write['origin'][0]['engine'] == 'kubelet'
    assert write['notify_syscalls'] == ['write'] and write['listener_exists'] is False
    assert not [p for p in profs if p.endswith('~')]  # backups beside profiles are not profiles
    spo = profs['/var/lib/kubelet/seccomp/operator/default/spo.json']
    assert 'security-profiles-operator' in spo['origin'][0]['setting']

    c1 = profs['/run/containerd/io.containerd.runtime.v2.task/k8s.io/c1/config.json']
    assert c1['format'] == 'bundle' and c1['bundle'] == {'id': 'c1', 'namespace': 'k8s.io', 'engine': 'containerd'}
    assert c1['notify_syscalls'] == ['fcntl']
    moby = profs['/run/containerd/io.containerd.runtime.v2.task/moby/d1/config.json']
    assert moby['bundle']['engine'] == 'docker'
    assert '/run/containerd/io.containerd.runtime.v2.task/k8s.io/plain/config.json' not in profs
    pod = profs['/var/lib/containers/storage/overlay-containers/p1/userdata/config.json']
    assert pod['bundle'] == {'id': 'p1', 'namespace': None, 'engine': 'podman'}
    inline = profs['/var/lib/docker/containers/d1/hostconfig.json']
    assert inline['notify_syscalls'] == ['sendmsg'] and inline['bundle']['engine'] == 'docker'

    bad = '/var/lib/kubelet/seccomp/bad/'
    expect = {
        'truncated.json': 'JSON', 'empty.json': 'empty', 'list.json': 'not an object',
        'binary.json': '', 'latin1.json': 'UTF-8', 'types.json': '', 'big.json': 'too large',
        'fifo.json': 'FIFO', 'loop-a.json': 'symlink loop', 'loop-b.json': 'symlink loop',
    }
    for name, words in expect.items():
        entry = profs[bad + name]
        assert entry['error'], name
        assert words in entry['error'], (name, entry['error'])
        assert {'path': bad + name, 'error': entry['error']} in facts['scan']['errors']
    assert facts['scan']['files_seen'] >= 18
    json.dumps(facts)


def test_engines_section_and_host_facts(host):
    put(host, '/usr/lib/x86_64-linux-gnu/libseccomp.so.2.5.4', b'')
    put(host, '/usr/lib/x86_64-linux-gnu/libseccomp.so.2.4.1', b'')
    facts = gather(host)
    eng = facts['engines']
    assert eng['docker']['runtimes'] == {'gone': '/opt/gone/runc', 'nopath': 'youki', 'rc1': '/opt/rc1/runc'}
    assert eng['docker']['config'] == ['/etc/docker/daemon.json']
    assert eng['containerd']['runtimes'] == {'runc': '/opt/containerd.io/runc'}
    assert eng['cri-o']['seccomp_profile'] == '/etc/crio/seccomp.json'
    assert 'k3s' in eng and 'kubelet' in eng
    assert facts['libseccomp'] == '2.5.4'
    assert facts['schema'] == 1 and facts['arch'] == os.uname().machine
    assert isinstance(facts['scan']['duration_ms'], int)


def test_user_paths_and_missing_entries(host, tmp_path):
    extra = tmp_path / 'extra'
    put(extra, '/one.json', notify_profile(['fcntl']))
    put(extra, '/sub/two.json', notify_profile(['connect']))
    facts = gather(host, discover=False,
                   profile_paths=['/extra', '/nothing/*.json', '/missing.json'],
                   runtime_paths=['/opt/rc1/runc'])
    # profile_paths are host paths: inside the test root
    assert facts['profiles'][0]['error'] and 'does not exist' in facts['profiles'][0]['error']
    os.rename(str(extra), os.path.join(str(host), 'extra'))
    facts = gather(host, discover=False, profile_paths=['/extra', '/nothing/*.json', '/missing.json'])
    profs = by_path(facts['profiles'])
    assert profs['/extra/one.json']['origin'][0]['engine'] == 'user'
    assert profs['/extra/sub/two.json']['notify_syscalls'] == ['connect']
    assert 'does not exist' in profs['/missing.json']['error']
    assert {'path': '/nothing/*.json', 'error': 'profile_paths entry matched nothing'} in facts['scan']['errors']


# Docker-format profile that notifies fcntl only through Docker keys: the singular `name` and an
# `includes` filter. dockerd applies both; containerd and OCI readers ignore them.
DOCKER_ONLY_FCNTL = {
    'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/run/agent.sock',
    'archMap': [{'architecture': 'SCMP_ARCH_X86_64', 'subArchitectures': ['SCMP_ARCH_X86']}],
    'syscalls': [{'name': 'fcntl', 'action': 'SCMP_ACT_NOTIFY'},
                 {'names': ['sendmsg'], 'action': 'SCMP_ACT_NOTIFY', 'includes': {'minKernel': '4.0'}},
                 {'names': ['connect'], 'action': 'SCMP_ACT_NOTIFY'}],
}


def test_profile_paths_readers(host):
    put(host, '/srv/b4n.json', DOCKER_ONLY_FCNTL)
    put(host, '/srv/dir/b4n.json', DOCKER_ONLY_FCNTL)
    put(host, '/srv/oci/b4n.json', DOCKER_ONLY_FCNTL)
    facts = gather(host, discover=False, profile_paths=[
        '/srv/b4n.json', {'path': '/srv/dir', 'reader': 'docker'}, {'path': '/srv/oci/*.json', 'reader': 'oci'}])
    profs = by_path(facts['profiles'])
    unknown, docker, oci = profs['/srv/b4n.json'], profs['/srv/dir/b4n.json'], profs['/srv/oci/b4n.json']
    # reader unknown: every reader's set united (the OCI reading still sees sendmsg: it ignores includes)
    assert unknown['origin'] == [{'engine': 'user', 'setting': 'profile_paths'}]
    assert unknown['notify_syscalls'] == ['connect', 'fcntl', 'sendmsg']
    assert docker['origin'] == [{'engine': 'user', 'setting': 'profile_paths (directory /srv/dir)', 'reader': 'docker'}]
    assert docker['notify_sets'] == {'expanded': ['connect', 'fcntl', 'sendmsg']}
    assert oci['origin'][0]['reader'] == 'oci'
    assert oci['notify_sets'] == {'literal': ['connect', 'sendmsg']}


@pytest.mark.parametrize('items, message', [
    ([{'path': '/x', 'reader': 'dockerd'}], 'profile_paths[0]: reader must be one of docker, podman, cri-o'),
    (['/a', {'path': '/x', 'engine': 'docker'}], 'profile_paths[1]: unknown key(s) engine'),
    ([{'reader': 'docker'}], 'profile_paths[0]: path must be a non-empty string'),
    ([42], 'profile_paths[0]: path must be a non-empty string'),
])
def test_profile_paths_bad_items(items, message):
    with pytest.raises(ValueError) as err:
        _profiles.profile_path_items(items)
    assert message in str(err.value)


def test_profile_paths_expand_like_path_options(monkeypatch):
    monkeypatch.setenv('RCG_PROFILES', '/etc/agent')
    monkeypatch.setenv('HOME', '/home/ops')
    assert _profiles.profile_path_items(['$RCG_PROFILES/p.json', {'path': '~/p.json', 'reader': 'podman'}]) == \
        [('/etc/agent/p.json', None), ('/home/ops/p.json', 'podman')]


def test_real_host_runc_package_when_installed(monkeypatch):
    """On a Debian host with the runc package, the real binary gets its dpkg owner and version, read
    from dpkg's files: no dpkg-query is run (it reads every package's file list)."""
    if not os.path.exists('/usr/sbin/runc') or not os.path.exists('/var/lib/dpkg/info/runc.list'):
        pytest.skip('Debian runc package not installed on this host')
    asked = []
    real_runner = _discovery.bounded_runner

    def recording_runner(*args):
        run = real_runner(*args)
        return lambda argv, *more, **kw: asked.append(list(argv)) or run(argv, *more, **kw)
    monkeypatch.setattr(_discovery, 'bounded_runner', recording_runner)
    facts = _discovery.gather(discover=False, runtime_paths=['/usr/sbin/runc'], command_timeout=10)
    rt = facts['runtimes'][0]
    assert rt['package']['manager'] == 'dpkg' and rt['package']['name'] == 'runc'
    assert rt['package']['version'] and rt['version'] and rt['error'] is None
    assert ['/usr/sbin/runc', '--version'] in asked and not [a for a in asked if 'dpkg-query' in a[0]], asked


def test_hostile_names_and_contents_cost_one_entry_each(host):
    """A non-UTF-8 file name, a lone surrogate, duplicate keys and leftovers of a killed rewrite:
    one entry each (or none for our scratch files), the rest analysed, the facts valid UTF-8 JSON."""
    kube = os.path.join(str(host), 'var/lib/kubelet/seccomp/profiles')
    with open(os.path.join(kube.encode(), b'bad\xffname.json'), 'w') as handle:
        json.dump(notify_profile(['fcntl']), handle)
    put(host, '/var/lib/kubelet/seccomp/profiles/surrogate.json',
        b'{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["fcntl\\ud800"], "action": "SCMP_ACT_NOTIFY"}]}')
    put(host, '/var/lib/kubelet/seccomp/profiles/dup.json',
        b'{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock",'
        b' "syscalls": [{"names": ["connect"], "action": "SCMP_ACT_NOTIFY"}],'
        b' "syscalls": [{"names": ["fcntl"], "action": "SCMP_ACT_NOTIFY"}]}')
    put(host, '/var/lib/kubelet/seccomp/profiles/.notify-write.json.runcguard-0a1b2c3d4e5f.tmp', '{"x": ')
    put(host, '/var/lib/kubelet/seccomp/profiles/.notify-write.json.runcguard-lock', '123\n')
    put(host, '/var/lib/kubelet/seccomp/profiles/.notify-write.json.q8z_1x2c.tmp', notify_profile(['fcntl']))
    put(host, '/var/lib/docker/containers/d2/hostconfig.json',
        b'{"SecurityOpt": ["seccomp={\\"defaultAction\\": \\"\\ud800\\"}"]}')
    facts = gather(host)
    encoded = json.dumps(facts, ensure_ascii=False).encode('utf-8')  # strict: raises on a lone surrogate
    assert b'\\ud800' not in encoded.replace(b'\\\\ud800', b'')
    profs = by_path(facts['profiles'])
    base = '/var/lib/kubelet/seccomp/profiles/'
    bad = profs[base + 'bad\\xffname.json']
    assert bad['error'].startswith('file name is not valid UTF-8 (shown escaped)')
    assert bad['sha256'] is None and bad['size'] is None
    sur = profs[base + 'surrogate.json']
    assert 'unpaired UTF-16 surrogate escape (fcntl\\ud800)' in sur['error'] and sur['sha256'] is None
    dup = profs[base + 'dup.json']
    assert dup['error'] is None and dup['notify_syscalls'] == ['fcntl']  # the last "syscalls" wins
    assert dup['duplicate_keys'] == ['$.syscalls'] and 'the last of each wins' in dup['warning']
    assert not [p for p in profs if '.tmp' in p or 'runcguard-lock' in p]
    assert 'not valid UTF-8' in profs['/var/lib/docker/containers/d2/hostconfig.json']['error']
    assert profs[base + 'notify-write.json']['notify_syscalls'] == ['write']  # the rest is analysed


def test_no_digest_of_a_file_that_is_not_a_profile(host, tmp_path):
    secret = tmp_path / 'shadow'
    secret.write_text('root:$6$salt$hash:19000:0:99999:7:::\n')
    link(host, '/var/lib/kubelet/seccomp/profiles/shadow.json', str(secret))
    facts = gather(host)
    entry = by_path(facts['profiles'])['/var/lib/kubelet/seccomp/profiles/shadow.json']
    assert 'malformed JSON' in entry['error']
    assert entry['sha256'] is None and entry['size'] is None
    for name, good in by_path(facts['profiles']).items():
        if good['error'] is None:
            assert len(good['sha256']) == 64, name


def test_binary_is_what_its_version_output_says(tmp_path):
    root = tmp_path / 'root'
    stub(root, '/usr/sbin/runc', CRUN)  # called runc, says it is crun
    runtime = by_path(gather(root)['runtimes'])['/usr/sbin/runc']
    assert (runtime['name'], runtime['version']) == ('crun', '1.5.0')


def alive(pid):
    """True while pid runs (a zombie waiting for its parent to reap it does not count)."""
    try:
        with open('/proc/%d/stat' % pid) as handle:
            return handle.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (IOError, OSError):
        return False


def test_a_runtime_ignoring_sigterm_is_timed_out_with_everything_it_started(host):
    """--version hangs, ignores SIGTERM and leaves a child behind: the entry says "timed out" (not
    rc=-9), `features` is never tried on it, and neither it nor its child outlives the scan."""
    log = os.path.join(str(host), 'calls.log')
    child = os.path.join(str(host), 'child.pid')
    put(host, '/opt/stubborn/runc', "#!/bin/sh\necho \"$*\" >> %s\ntrap '' TERM\nsleep 600 &\necho $! > %s\nwait\n"
        % (log, child), 0o755)
    facts = gather(host, discover=False, command_timeout=1, runtime_paths=['/opt/stubborn/runc'])
    entry = by_path(facts['runtimes'])['/opt/stubborn/runc']
    assert entry['error'] == 'timed out after 1s' and entry['version'] is None
    with open(log) as handle:
        assert handle.read().split('\n') == ['--version', '']  # no `runc features` after a timeout
    with open(child) as handle:
        assert not alive(int(handle.read()))


def test_scan_timeout_bounds_the_whole_scan(host):
    """However many binaries hang, no command starts after scan_timeout: the module ends in time."""
    for name in ('a', 'b', 'c'):
        put(host, '/opt/hang/%s/runc' % name, '#!/bin/sh\nexec sleep 600\n', 0o755)
    facts = gather(host, discover=False, command_timeout=30, scan_timeout=1,
                   runtime_paths=['/opt/hang/a/runc', '/opt/hang/b/runc', '/opt/hang/c/runc'])
    errors = [r['error'] for r in sorted(facts['runtimes'], key=lambda r: r['path'])]
    assert errors[0] == 'timed out after 1s'  # min(command_timeout, what is left of the scan)
    assert errors[1:] == ['not run: the scan reached its time limit (scan_timeout=1s)'] * 2
