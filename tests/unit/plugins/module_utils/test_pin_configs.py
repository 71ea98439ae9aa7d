# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""runc_pin's engine configuration edits: the runtime path changes, every other byte stays, the result
parses, pinning twice changes nothing, and configurations that cannot take the pin are refused."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest

from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import toml as _toml
from ansible_collections.runcguard.seccomp.plugins.module_utils._pin import configs
from ansible_collections.runcguard.seccomp.plugins.module_utils._pin.tomledit import Document, EditError

BIN = '/usr/local/sbin/runc-1.1.13'
CFG = '/etc/containerd/config.toml'
DROPIN = '/etc/containerd/conf.d/runcguard-runc.toml'
V2KEY = ('plugins', 'io.containerd.grpc.v1.cri', 'containerd', 'runtimes', 'runc', 'options', 'BinaryName')

K8S = u'''version = 2
# kubeadm node
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

CORPUS = {
    'k8s': K8S,
    'no final newline': u'version = 2',
    'crlf comments tabs': u'version = 2\r\n# a comment\r\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\r\n'
                          u'\truntime_type = "io.containerd.runc.v2" # the shim\r\n\toptions.SystemdCgroup = true\r\n',
    'bom non-ascii': u'\ufeffversion = 2\n# Kofferraum: ü\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\n'
                     u'    "Schlüssel" = "wert"\n',
    'existing BinaryName': u'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\n'
                           u'  BinaryName = "/usr/bin/runc"  # the distro one\n  SystemdCgroup = true\n',
    'one-line imports': u'version = 2\nimports = ["/etc/containerd/other.toml"] # ours\n',
    'multi-line imports, trailing comma': u'version = 2\nimports = [\n  "/etc/containerd/a.toml", # a\n  "/etc/containerd/b.toml",\n]\n',
    'version 1': u'[plugins.cri.containerd.runtimes.runc]\n  runtime_type = "io.containerd.runc.v2"\n',
    'custom default runtime name': u'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd]\n  default_runtime_name = "k8s"\n'
                                   u'[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.k8s]\n  runtime_type = "io.containerd.runc.v2"\n',
}


def _key_for(text):
    data = _toml.loads(text.lstrip(u'\ufeff')) if text.strip() else {'version': 2}
    version = configs.containerd_version(data, CFG)
    return configs.containerd_runtime(data, version, CFG)[1]


@pytest.mark.parametrize('name', sorted(CORPUS))
def test_containerd_v1_v2_in_place_keeps_everything_else(name):
    text = CORPUS[name]
    out, runtime, note = configs.pin_containerd(CFG, text.encode('utf-8'), DROPIN, None, BIN, {})
    assert list(out) == [CFG]  # no drop-in: containerd 1.x would replace the whole CRI section with it
    new = out[CFG].decode('utf-8')
    key = _key_for(text)
    expected = _toml.loads(text.lstrip(u'\ufeff'))
    runtime = expected
    for part in key[:-2]:
        runtime = runtime.get(part) if isinstance(runtime, dict) else None
    section = expected
    for part in key[:-1]:
        section = section.setdefault(part, {})
    section[key[-1]] = BIN
    if runtime is None:
        # containerd 1.x decodes a runtime table onto an empty runtime: a new one gets its runtime_type too
        section = expected
        for part in key[:-2]:
            section = section[part]
        section['runtime_type'] = 'io.containerd.runc.v2'
    assert _toml.loads(new.lstrip(u'\ufeff')) == expected
    # the original's lines are all there, in order, with their line endings; a BOM stays first
    assert new.startswith(u'\ufeff') == text.startswith(u'\ufeff')
    assert ('\r\n' in new) == ('\r\n' in text)
    assert new.endswith('\n') == text.endswith('\n') or not text.strip()
    kept = [line for line in text.splitlines(True) if 'BinaryName' not in line]
    assert len(new.splitlines()) - len(text.splitlines()) <= 6  # the key and runtime_type, with their tables
    it = iter(new.splitlines(True))
    assert all(any(line == got or (not line.endswith('\n') and got.startswith(line)) for got in it) for line in kept)
    # pinning again changes nothing
    again, dummy, dummy2 = configs.pin_containerd(CFG, out[CFG], DROPIN, None, BIN, {})
    assert again == {}


def test_containerd_custom_default_runtime_is_the_one_pinned():
    out, runtime, dummy = configs.pin_containerd(CFG, CORPUS['custom default runtime name'].encode(), DROPIN, None, BIN)
    assert runtime == 'k8s'
    assert 'runtimes.k8s]\n  runtime_type = "io.containerd.runc.v2"\n  BinaryName' not in out[CFG].decode()
    data = _toml.loads(out[CFG].decode())
    assert data['plugins']['io.containerd.grpc.v1.cri']['containerd']['runtimes']['k8s']['options']['BinaryName'] == BIN


def test_containerd_missing_config_is_created_in_place_form():
    out, dummy, dummy2 = configs.pin_containerd(CFG, None, DROPIN, None, BIN)
    assert out[CFG].decode() == ('version = 2\n\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n'
                                 '  runtime_type = "io.containerd.runc.v2"\n\n'
                                 '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\n'
                                 '  BinaryName = "%s"\n' % BIN)


def test_containerd_v3_gets_a_drop_in_and_one_import():
    text = u'version = 3\nimports = [] # none yet\n\n[plugins."io.containerd.cri.v1.runtime".containerd]\n  default_runtime_name = "runc"\n'
    out, dummy, dummy2 = configs.pin_containerd(CFG, text.encode(), DROPIN, None, BIN)
    assert out[CFG].decode() == text.replace('imports = []', 'imports = ["%s"]' % DROPIN)
    dropin = _toml.loads(out[DROPIN].decode())
    assert dropin['version'] == 3
    assert dropin['plugins']['io.containerd.cri.v1.runtime']['containerd']['runtimes']['runc']['options'] == {'BinaryName': BIN}
    again, dummy, dummy2 = configs.pin_containerd(CFG, out[CFG], DROPIN, out[DROPIN], BIN)
    assert again == {}


def test_containerd_earlier_drop_in_import_is_undone():
    # what earlier releases wrote: containerd 1.x then lost every CRI setting of the main file
    text = K8S.replace('version = 2\n', 'version = 2\nimports = ["%s"]\n' % DROPIN)
    out, dummy, note = configs.pin_containerd(CFG, text.encode(), DROPIN, b'old drop-in', BIN)
    assert out[DROPIN] is None
    assert 'imports = []' in out[CFG].decode()
    assert 'removed the import' in note


def test_containerd_cri_section_from_an_import_is_refused():
    imports = {'/etc/containerd/k8s.toml': b'[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "x"\n'}
    text = u'version = 2\nimports = ["/etc/containerd/k8s.toml"]\n'
    with pytest.raises(configs.PinError, match='holds the whole io.containerd.grpc.v1.cri section'):
        configs.pin_containerd(CFG, text.encode(), DROPIN, None, BIN, imports)


@pytest.mark.parametrize('text, message', [
    (u'version = 2imports = []', 'not valid TOML'),
    (u'version = 4\n', 'config version 4'),
    (u'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd]\n  default_runtime_name = "gvisor"\n'
     u'[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.gvisor]\n  runtime_type = "io.containerd.runsc.v1"\n', 'not runc'),
    (u'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n  options = { SystemdCgroup = true }\n',
     'inline table'),
])
def test_containerd_refusals(text, message):
    with pytest.raises(configs.PinError, match=message):
        configs.pin_containerd(CFG, text.encode(), DROPIN, None, BIN)


def test_effective_models_each_version():
    main = {'plugins': {'cri': {'a': 1, 'b': {'c': 2}}}, 'version': 2}
    imp = {'plugins': {'cri': {'b': {'d': 3}}}}
    assert configs.containerd_effective(main, [imp], 2)['plugins']['cri'] == {'b': {'d': 3}}  # 1.x: replaced
    assert configs.containerd_effective(main, [imp], 3)['plugins']['cri'] == {'a': 1, 'b': {'c': 2, 'd': 3}}


# ------------------------------------------------------------------ docker
DAEMON_CUSTOM = u'''{
    "log-driver": "journald",
    "default-runtime": "custom",
    "runtimes": {
        "custom": {"path": "/opt/custom/runc", "runtimeArgs": ["--systemd-cgroup"]}
    },
    "labels": ["ort=Zürich"]
}'''


def test_docker_inherits_runtime_args_and_keeps_bytes():
    new, inherited = configs.pin_docker('/etc/docker/daemon.json', DAEMON_CUSTOM.encode(), BIN, 'runcguard-runc')
    text = new.decode('utf-8')
    doc = json.loads(text)
    assert inherited == 'custom'
    assert doc['default-runtime'] == 'runcguard-runc'
    assert doc['runtimes']['runcguard-runc'] == {'path': BIN, 'runtimeArgs': ['--systemd-cgroup']}
    assert doc['runtimes']['custom'] == {'path': '/opt/custom/runc', 'runtimeArgs': ['--systemd-cgroup']}
    assert '"labels": ["ort=Zürich"]' in text and not text.endswith('\n')
    assert list(doc) == ['log-driver', 'default-runtime', 'runtimes', 'labels']
    assert '    "log-driver": "journald",\n' in text
    again, dummy = configs.pin_docker('/etc/docker/daemon.json', new, BIN, 'runcguard-runc')
    assert again is None


def test_docker_bom_crlf():
    text = u'\ufeff{\r\n  "debug": true\r\n}\r\n'
    new, dummy = configs.pin_docker('/etc/docker/daemon.json', text.encode('utf-8'), BIN, 'runcguard-runc')
    out = new.decode('utf-8')
    assert out.startswith(u'\ufeff{\r\n  "debug": true,\r\n') and out.endswith('}\r\n') and '\n' not in out.replace('\r\n', '')
    assert json.loads(out[1:])['runtimes']['runcguard-runc'] == {'path': BIN}


@pytest.mark.parametrize('text, message', [
    (b'{"a": 1,}', 'not valid JSON'), (b'[]', 'not hold a JSON object'), (b'{"runtimes": []}', 'not an object'),
])
def test_docker_refusals(text, message):
    with pytest.raises(configs.PinError, match=message):
        configs.pin_docker('/etc/docker/daemon.json', text, BIN, 'runcguard-runc')


def test_crio_dropin_repeats_the_handler():
    crio = b'[crio.runtime]\ndefault_runtime = "runc"\n[crio.runtime.runtimes.runc]\nruntime_root = "/run/runc"\nmonitor_env = ["A=1"]\n'
    text, name = configs.crio_dropin([('/etc/crio/crio.conf', crio)], BIN)
    assert name == 'runc'
    assert _toml.loads(text.decode())['crio']['runtime']['runtimes']['runc'] == {
        'runtime_root': '/run/runc', 'monitor_env': ['A=1'], 'runtime_path': BIN}


def test_podman_dropin_refuses_crun():
    with pytest.raises(configs.PinError, match='crun'):
        configs.podman_dropin([('/etc/containers/containers.conf', b'[engine]\nruntime = "crun"\n')], BIN)
    text, name = configs.podman_dropin([], BIN)
    assert _toml.loads(text.decode()) == {'engine': {'runtimes': {'runc': [BIN]}}}


def test_document_array_edits_keep_layout():
    doc = Document(u'version = 3\nimports = [\n  "/a", # c\n  "/b",\n]\n')
    doc.add_to_array('imports', '/x')
    assert doc.render() == u'version = 3\nimports = [\n  "/a", # c\n  "/b",\n  "/x",\n]\n'
    doc.remove_from_array('imports', '/x')
    assert doc.render() == u'version = 3\nimports = [\n  "/a", # c\n  "/b",\n]\n'
    with pytest.raises(EditError):
        Document(u'a = 1\na = 2\n')
