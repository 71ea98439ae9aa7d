# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_toml fallback reader (used on Python < 3.11) against real engine config shapes."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math

import pytest

from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.toml import TomlError, loads, loads_fallback

try:
    import tomllib
except ImportError:
    tomllib = None

CONTAINERD_V2 = '''
version = 2
root = "/var/lib/containerd"
[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "registry.k8s.io/pause:3.8"
    [plugins."io.containerd.grpc.v1.cri".containerd]
      default_runtime_name = "runc"   # comment after a value
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          BinaryName = "/usr/local/sbin/runc"
          SystemdCgroup = true
'''

CONTAINERD_V3 = '''
version = 3
[plugins.'io.containerd.cri.v1.runtime'.containerd]
  default_runtime_name = 'crun'
  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.crun]
    runtime_type = 'io.containerd.runc.v2'
    options = { BinaryName = '/usr/bin/crun', SystemdCgroup = false }
'''

CRIO = r'''
[crio.runtime]
default_runtime = "runc"
seccomp_profile = "/etc/crio/seccomp.json"
default_ulimits = [
  "nofile=1024:2048",   # comment inside an array
  'nproc=64:64',
]
[crio.runtime.runtimes.runc]
runtime_path = ""
runtime_root = "/run/runc"
allowed_annotations = []
[crio.runtime.runtimes."high-performance"]
runtime_path = "/usr/libexec/crio/runc"
'''

PODMAN = '''
[containers]
seccomp_profile = "/usr/share/containers/seccomp.json"
[engine]
runtime = "runc"
stop_timeout = 2
num = [0x1F, 0o17, 0b101, 1_000, -2.5e-3, inf, +nan]
[engine.runtimes]
runc = ["/usr/bin/runc", "/usr/sbin/runc"]
s = """
line one \\
   joined "quoted" \u00e9"""
lit = \'\'\'C:\\path\'\'\'
[[engine.array]]
a = 1
[[engine.array]]
a = 2
'''


def _same(a, b):
    """Equality that treats nan == nan."""
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b and type(a) is type(b)


@pytest.mark.parametrize('text', [CONTAINERD_V2, CONTAINERD_V3, CRIO, PODMAN])
def test_fallback_matches_tomllib(text):
    got = loads_fallback(text)
    if tomllib is not None:
        assert _same(got, tomllib.loads(text))


def test_fallback_values():
    doc = loads_fallback(CONTAINERD_V2)
    runc = doc['plugins']['io.containerd.grpc.v1.cri']['containerd']['runtimes']['runc']
    assert runc['options'] == {'BinaryName': '/usr/local/sbin/runc', 'SystemdCgroup': True}
    doc = loads_fallback(PODMAN)
    assert doc['engine']['num'][:5] == [31, 15, 5, 1000, -0.0025]
    assert doc['engine']['runtimes']['s'] == 'line one joined "quoted" \u00e9'
    assert doc['engine']['runtimes']['lit'] == 'C:\\path'
    assert doc['engine']['array'] == [{'a': 1}, {'a': 2}]
    assert loads_fallback(CONTAINERD_V3)['plugins']['io.containerd.cri.v1.runtime']['containerd'][
        'runtimes']['crun']['options']['BinaryName'] == '/usr/bin/crun'


@pytest.mark.parametrize('text, message', [
    ('a = 1\na = 2\n', 'defined twice'),
    ('[t]\n[t]\n', 'defined twice'),
    ('a = \n', 'invalid value'),
    ('a = "open\n', 'newline in single-line string'),
    ('a = [1 2]\n', 'expected'),
    ('a = 1 b = 2\n', 'expected end of line'),
    ('d = 1979-05-27T07:32:00Z\n', 'dates and times are not supported'),
    ('a = {b = 1}\n[a]\n', 'already defined'),
    ('a = "\\q"\n', 'invalid escape'),
    ('[unclosed\n', 'close table header'),
])
def test_fallback_errors_never_guess(text, message):
    with pytest.raises(TomlError) as info:
        loads_fallback(text)
    assert message in str(info.value)
    assert '(line ' in str(info.value)


def test_loads_wraps_errors_in_tomlerror():
    with pytest.raises(TomlError):
        loads('a = [\n')
    assert loads('x = 1') == {'x': 1}
