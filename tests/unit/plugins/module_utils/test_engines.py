# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_engines: real configuration files in a temporary root."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import engines as _engines
from ansible_collections.runcguard.seccomp.plugins.module_utils._files import Fs


def put(root, path, content, mode=0o644):
    full = os.path.join(str(root), path.lstrip('/'))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, 'wb') as f:
        f.write(content.encode() if isinstance(content, str) else content)
    os.chmod(full, mode)
    return full


def exe(root, path):
    return put(root, path, '#!/bin/sh\nexit 0\n', 0o755)


def uses(eng):
    return [(setting, paths) for _name, setting, paths, _named in eng.uses]


def test_docker_runtimes_default_and_profile(tmp_path):
    exe(tmp_path, '/usr/sbin/runc')
    exe(tmp_path, '/usr/bin/dockerd')
    put(tmp_path, '/etc/docker/daemon.json', json.dumps({
        'runtimes': {
            'rc2': {'path': '/opt/runc-rc2/runc', 'runtimeArgs': ['--debug']},
            'shimmed': {'runtimeType': 'io.containerd.runc.v2', 'options': {'BinaryName': 'crun'}},
        },
        'seccomp-profile': '/etc/docker/seccomp/notify.json',
        'data-root': '/srv/docker',
    }))
    eng = _engines.read_docker(Fs(str(tmp_path)))
    assert eng.present and eng.errors == []
    assert eng.runtimes == {'rc2': '/opt/runc-rc2/runc', 'shimmed': 'crun'}
    assert eng.default_runtime == 'runc'
    assert ('daemon.json runtimes.rc2', ['/opt/runc-rc2/runc']) in uses(eng)
    assert ('daemon.json runtimes.shimmed', []) in uses(eng)  # crun not on PATH in this root
    assert ('default runtime (runc on PATH)', ['/usr/sbin/runc']) in uses(eng)
    assert eng.profiles == [('/etc/docker/seccomp/notify.json', 'daemon.json seccomp-profile')]
    assert eng.facts()['data_root'] == '/srv/docker'


def test_docker_default_runtime_named_in_table_and_builtin_profile(tmp_path):
    put(tmp_path, '/etc/docker/daemon.json', json.dumps({
        'default-runtime': 'rc2', 'runtimes': {'rc2': {'path': '/opt/rc2/runc'}}, 'seccomp-profile': 'builtin'}))
    eng = _engines.read_docker(Fs(str(tmp_path)))
    assert eng.default_runtime == 'rc2'
    assert uses(eng) == [('daemon.json runtimes.rc2', ['/opt/rc2/runc'])]
    assert eng.profiles == []


def test_docker_bad_inputs_are_errors_not_crashes(tmp_path):
    put(tmp_path, '/etc/docker/daemon.json', '{"runtimes": {"x": {"path": 5}, "y": "nope"}, "default-runtime": []}')
    eng = _engines.read_docker(Fs(str(tmp_path)))
    text = eng.facts()['error']
    assert 'runtimes.x path must be a string' in text
    assert 'runtimes.y must be an object' in text
    assert 'default-runtime must be str' in text
    assert eng.default_runtime == 'runc'
    for content, message in (('{"runtimes": ', 'invalid JSON'), ('[1, 2]', 'not an object'),
                             (b'\xff\xfe{}', 'not valid UTF-8'), ('', 'invalid JSON')):
        put(tmp_path, '/etc/docker/daemon.json', content)
        eng = _engines.read_docker(Fs(str(tmp_path)))
        assert message in eng.facts()['error'], content
        assert eng.facts()['error'].startswith('/etc/docker/daemon.json: ')


def test_containerd_v2_and_v3(tmp_path):
    exe(tmp_path, '/usr/bin/runc')
    exe(tmp_path, '/usr/bin/containerd')
    put(tmp_path, '/etc/containerd/config.toml', '''version = 2
[plugins."io.containerd.grpc.v1.cri".containerd]
  default_runtime_name = "rc"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.rc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.rc.options]
      BinaryName = "/opt/rc/runc"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
''')
    eng = _engines.read_containerd(Fs(str(tmp_path)))
    assert eng.errors == [] and eng.extra['config_version'] == 2
    assert eng.default_runtime == 'rc'
    assert eng.runtimes == {'rc': '/opt/rc/runc', 'runc': 'runc'}
    assert uses(eng) == [('config.toml runtimes.rc', ['/opt/rc/runc']), ('config.toml runtimes.runc', ['/usr/bin/runc'])]

    put(tmp_path, '/etc/containerd/config.toml', '''version = 3
[plugins.'io.containerd.cri.v1.runtime'.containerd]
  default_runtime_name = 'crun'
  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.crun]
    runtime_type = 'io.containerd.runc.v2'
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.crun.options]
      BinaryName = '/usr/local/bin/crun'
''')
    eng = _engines.read_containerd(Fs(str(tmp_path)))
    assert eng.extra['config_version'] == 3 and eng.default_runtime == 'crun'
    assert uses(eng) == [('config.toml runtimes.crun', ['/usr/local/bin/crun'])]


def test_containerd_without_config_uses_runc_on_path_and_bad_version(tmp_path):
    exe(tmp_path, '/usr/bin/containerd')
    exe(tmp_path, '/usr/local/sbin/runc')
    eng = _engines.read_containerd(Fs(str(tmp_path)))
    assert uses(eng) == [('default runtime (runc on PATH)', ['/usr/local/sbin/runc'])]
    put(tmp_path, '/etc/containerd/config.toml', 'version = 9\n')
    assert 'unsupported config version 9' in _engines.read_containerd(Fs(str(tmp_path))).facts()['error']
    put(tmp_path, '/etc/containerd/config.toml', 'version = 2\n[plugins\n')
    assert 'invalid TOML' in _engines.read_containerd(Fs(str(tmp_path))).facts()['error']


def test_crio_dropins_override_in_order(tmp_path):
    exe(tmp_path, '/usr/bin/crun')
    put(tmp_path, '/etc/crio/crio.conf', '''[crio.runtime]
default_runtime = "runc"
seccomp_profile = "/etc/crio/base.json"
[crio.runtime.runtimes.runc]
runtime_path = "/usr/libexec/crio/runc"
''')
    put(tmp_path, '/etc/crio/crio.conf.d/10-crun.conf', '''[crio.runtime]
default_runtime = "crun"
[crio.runtime.runtimes.crun]
runtime_path = ""
''')
    put(tmp_path, '/etc/crio/crio.conf.d/20-seccomp.conf', '[crio.runtime]\nseccomp_profile = "/etc/crio/notify.json"\n')
    eng = _engines.read_crio(Fs(str(tmp_path)))
    assert eng.errors == []
    assert eng.config == ['/etc/crio/crio.conf', '/etc/crio/crio.conf.d/10-crun.conf',
                          '/etc/crio/crio.conf.d/20-seccomp.conf']
    assert eng.default_runtime == 'crun'
    assert eng.runtimes == {'runc': '/usr/libexec/crio/runc', 'crun': None}
    assert ('crio runtimes.crun', ['/usr/bin/crun']) in uses(eng)
    assert ('crio runtimes.runc', ['/usr/libexec/crio/runc']) in uses(eng)
    assert eng.profiles == [('/etc/crio/notify.json', 'crio.conf seccomp_profile')]


def test_crio_without_default_counts_both(tmp_path):
    exe(tmp_path, '/usr/bin/crun')
    exe(tmp_path, '/usr/sbin/runc')
    exe(tmp_path, '/usr/bin/crio')
    eng = _engines.read_crio(Fs(str(tmp_path)))
    assert eng.default_runtime is None
    assert uses(eng) == [('default runtime (crun on PATH)', ['/usr/bin/crun']),
                         ('default runtime (runc on PATH)', ['/usr/sbin/runc'])]


def test_podman_containers_conf_and_dropins(tmp_path):
    exe(tmp_path, '/usr/bin/podman')
    exe(tmp_path, '/usr/sbin/runc')
    exe(tmp_path, '/opt/rc/runc')
    put(tmp_path, '/usr/share/containers/containers.conf', '[engine]\n#runtime = "crun"\n')
    put(tmp_path, '/etc/containers/containers.conf', '[engine]\nruntime = "runc"\n')
    put(tmp_path, '/etc/containers/containers.conf.d/50-rc.conf',
        '[engine.runtimes]\nrunc = ["/opt/missing/runc", "/opt/rc/runc"]\n'
        '[containers]\nseccomp_profile = "/etc/containers/notify.json"\n')
    put(tmp_path, '/etc/containers/containers.conf.d/README', 'ignored: not *.conf')
    eng = _engines.read_podman(Fs(str(tmp_path)))
    assert eng.errors == []
    assert eng.default_runtime == 'runc'
    assert uses(eng) == [('containers.conf engine.runtime (runc)', ['/opt/rc/runc'])]  # first existing
    assert eng.profiles == [('/etc/containers/notify.json', 'containers.conf seccomp_profile')]
    assert len(eng.config) == 3


def test_podman_defaults(tmp_path):
    exe(tmp_path, '/usr/bin/podman')
    exe(tmp_path, '/usr/bin/crun')
    eng = _engines.read_podman(Fs(str(tmp_path)))
    assert eng.default_runtime == 'crun'
    assert uses(eng) == [('containers.conf engine.runtime (crun)', ['/usr/bin/crun'])]
    assert eng.profiles == [('/usr/share/containers/seccomp.json', 'default seccomp_profile')]
    put(tmp_path, '/etc/containers/containers.conf', '[engine.runtimes]\nrunc = "/usr/bin/runc"\n')
    assert 'engine.runtimes.runc must be a list of paths' in _engines.read_podman(Fs(str(tmp_path))).facts()['error']


def test_read_all_k3s_rke2_kubelet(tmp_path):
    exe(tmp_path, '/var/lib/rancher/k3s/data/abc123/bin/runc')
    os.symlink('abc123', os.path.join(str(tmp_path), 'var/lib/rancher/k3s/data/current'))
    exe(tmp_path, '/var/lib/rancher/rke2/bin/runc')
    os.makedirs(os.path.join(str(tmp_path), 'var/lib/kubelet/seccomp'))
    engines = dict((e.name, e) for e in _engines.read_all(Fs(str(tmp_path))))
    assert uses(engines['k3s']) == [('default runtime (runc on PATH)', ['/var/lib/rancher/k3s/data/current/bin/runc'])]
    assert uses(engines['rke2']) == [('default runtime (runc on PATH)', ['/var/lib/rancher/rke2/bin/runc'])]
    assert engines['kubelet'].present
    assert not engines['docker'].present and not engines['podman'].present


def test_containerd_1x_import_replaces_the_cri_section(tmp_path):
    # containerd 1.x (config version 2): an imported plugin section replaces the main file's as a whole
    # (containerd#5837), so the runc runtime's BinaryName set in the main file is gone
    put(tmp_path, '/etc/containerd/config.toml',
        'version = 2\nimports = ["/etc/containerd/conf.d/*.toml"]\n'
        '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\n  BinaryName = "/opt/runc-a"\n')
    put(tmp_path, '/etc/containerd/conf.d/k8s.toml',
        'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "registry.k8s.io/pause:3.9"\n')
    exe(tmp_path, '/opt/runc-a')
    exe(tmp_path, '/usr/bin/runc')
    eng = _engines.read_containerd(Fs(str(tmp_path)))
    assert eng.runtimes == {}
    assert uses(eng) == [('default runtime (runc on PATH)', ['/usr/bin/runc'])]


def test_containerd_2x_import_deep_merges():
    main = {'version': 3, 'plugins': {'cri': {'a': 1, 'b': {'c': 2}}}}
    assert _engines.containerd_import(main, {'plugins': {'cri': {'b': {'d': 3}}}}, 3) == {
        'version': 3, 'plugins': {'cri': {'a': 1, 'b': {'c': 2, 'd': 3}}}}
    main = {'version': 2, 'plugins': {'cri': {'a': 1, 'b': {'c': 2}}}, 'grpc': {'address': 'x', 'uid': 0}}
    assert _engines.containerd_import(main, {'plugins': {'cri': {'b': {'d': 3}}}, 'grpc': {'uid': 5}}, 2) == {
        'version': 2, 'plugins': {'cri': {'b': {'d': 3}}}, 'grpc': {'address': 'x', 'uid': 5}}
