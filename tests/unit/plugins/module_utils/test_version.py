# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.runcguard.seccomp.plugins.module_utils import _version
from ansible_collections.runcguard.seccomp.plugins.module_utils._version import (
    commit_hash,
    compare_versions,
    describe_commit,
    normalise_version,
    parse_features_json,
    parse_runtime_version,
    version_key,
)

FIXTURES = os.path.join(os.path.dirname(__file__), 'fixtures', 'versions')


def fixture(name):
    with open(os.path.join(FIXTURES, name + '.txt')) as handle:
        return handle.read()


@pytest.mark.parametrize('name, expected', [
    ('runc-1.1.13', ('runc', '1.1.13', 'commit', False)),
    ('runc-1.2.0-rc.1', ('runc', '1.2.0-rc.1', 'commit', False)),
    ('runc-1.2.0-rc.2', ('runc', '1.2.0-rc.2', 'commit', False)),
    ('runc-1.2.0-rc.3', ('runc', '1.2.0-rc.3', 'commit', False)),
    ('runc-1.2.0', ('runc', '1.2.0', 'commit', False)),
    ('runc-1.3.6', ('runc', '1.3.6', 'commit', False)),
    # Debian: the commit line is the package version, not git describe; +ds1 is a repack, not dev
    ('debian12-runc-1.1.5', ('runc', '1.1.5', 'first_line', False)),
    # containerd.io 1.7.19 prints containerd's version first; the commit line is right
    ('containerd.io-1.7.19-runc', ('runc', '1.1.13', 'commit', False)),
    # k3s: short hash on the commit line, the first line is used
    ('k3s-runc-1.1.12', ('runc', '1.1.12', 'first_line', False)),
    ('rke2-runc-1.2.6', ('runc', '1.2.6', 'commit', False)),
    ('crun-1.8.1', ('crun', '1.8.1', 'first_line', False)),
    ('crun-1.5', ('crun', '1.5.0', 'first_line', False)),
])
def test_real_outputs(name, expected):
    parsed = parse_runtime_version(fixture(name))
    assert parsed['error'] is None
    assert (parsed['name'], parsed['version'], parsed['version_source'], parsed['dev']) == expected


def test_fields_of_real_output():
    parsed = parse_runtime_version(fixture('rke2-runc-1.2.6'))
    assert parsed['go'] == '1.23.10 X:boringcrypto'
    assert parsed['libseccomp'] == '2.5.4'
    assert parsed['spec'] == '1.2.0'
    assert parsed['commit'] == 'v1.2.6-0-ge89a2992'
    assert parsed['first_line_version'] == '1.2.6'


def test_containerd_io_keeps_first_line_for_reference():
    parsed = parse_runtime_version(fixture('containerd.io-1.7.19-runc'))
    assert parsed['first_line_version'] == '1.7.20'
    assert parsed['version'] == '1.1.13'


@pytest.mark.parametrize('text, version, dev', [
    ('runc version 1.1.0+dev\ncommit: abcdef1\n', '1.1.0', True),
    ('runc version 1.2.0-rc.1+dev\ncommit: 0123abc\n', '1.2.0-rc.1', True),
    ('runc version 1.2.0-rc.2+dev\ncommit: v1.2.0-rc.2-41-g1234abcd\n', '1.2.0-rc.2', True),
    # describe distance > 0 is a dev build even without +dev
    ('runc version 1.2.0-rc.2\ncommit: v1.2.0-rc.2-3-gdeadbee\n', '1.2.0-rc.2', True),
    ('runc version 1.2.0~rc2+ds1\ncommit: 1.2.0~rc2+ds1-1\n', '1.2.0-rc.2', False),
    ('runc version 1.2.0~rc.1\n', '1.2.0-rc.1', False),
    ('runc version 1.1.13\ncommit: v1.1.13-0-g58aa9203c-dirty\n', '1.1.13', False),
])
def test_dev_and_distro_spellings(text, version, dev):
    parsed = parse_runtime_version(text)
    assert (parsed['version'], parsed['dev']) == (version, dev)


@pytest.mark.parametrize('text, fragment', [
    ('', 'first line'),
    ('\x7fELF\x02\x01\x01\x00\x00', 'binary'),
    ('Usage: runc [options]\n', 'first line'),
    ('runc version banana\n', 'not understood'),
    ('segmentation fault\n', 'first line'),
])
def test_garbage_gives_error_not_exception(text, fragment):
    parsed = parse_runtime_version(text)
    assert parsed['version'] is None
    assert fragment in parsed['error']


def test_bytes_and_non_text():
    assert parse_runtime_version(b'runc version 1.1.13\n')['version'] == '1.1.13'
    assert parse_runtime_version(b'\xff\xfe\x00garbage')['error'].startswith('unparsable')
    assert parse_runtime_version(None)['error'] == 'version output is not text'


def test_raw_is_bounded():
    parsed = parse_runtime_version('runc version 1.1.13\n' + 'x' * 10000)
    assert len(parsed['raw']) == 2048


class _Recorder(object):
    """Stands in for a compiled pattern and records how long each text it is asked to match is."""

    def __init__(self, pattern, seen):
        self.pattern, self.seen = pattern, seen

    def match(self, text, *args):
        self.seen.append(len(text))
        return self.pattern.match(text, *args)


def test_parsing_sees_bounded_lines(monkeypatch):
    """A hostile 65 KB line costs no more than a short one: the patterns only see bounded lines."""
    seen = []
    for name in ('_FIRST_LINE', '_FIELD'):
        monkeypatch.setattr(_version, name, _Recorder(getattr(_version, name), seen))
    text = 'runc version 1.2.0-rc.2\ncommit: v1.2.0-rc.2-0-gf2d2ee5e4\na' + ' ' * 65000 + 'x\n' + 'go: 1\n' * 5000
    parsed = parse_runtime_version(text)
    assert parsed['version'] == '1.2.0-rc.2' and parsed['commit'] == 'v1.2.0-rc.2-0-gf2d2ee5e4'
    assert seen and max(seen) <= _version.LINE_LIMIT and len(seen) <= _version.PARSE_LINES


@pytest.mark.parametrize('a, b, result', [
    ('1.2.0-rc.2', '1.2.0', -1),
    ('1.2.0-rc.2', '1.2.0-rc.10', -1),
    ('1.1.13', '1.2.0-rc.1', -1),
    ('1.10.0', '1.9.9', 1),
    ('1.6', '1.6.0', 0),
    (None, '0.0.1', -1),
])
def test_ordering(a, b, result):
    assert compare_versions(a, b) == result


def test_describe_commit():
    assert describe_commit('v1.1.13-0-g58aa9203c') == {'tag': '1.1.13', 'distance': 0, 'hash': '58aa9203c',
                                                       'dirty': False}
    assert describe_commit('v1.1.0-707-g20b95f23c-dirty')['dirty'] is True
    assert describe_commit('7d07dac') is None
    assert describe_commit('1.1.5+ds1-1+deb12u1') is None
    assert describe_commit('v1.2.0-rc.3')['tag'] == '1.2.0-rc.3'


@pytest.mark.parametrize('commit, expected', [
    ('v1.1.0-707-g20b95f23c', ('20b95f23c', False)),
    ('v1.2.0-rc.2-17-ge7848482e-dirty', ('e7848482e', True)),
    ('7d07dac', ('7d07dac', False)),  # k3s: a bare short hash
    ('E7848482E227-dirty', ('e7848482e227', True)),
    ('f8a096be060b22ccd3d5f3ebe44108517fbf6c30', ('f8a096be060b22ccd3d5f3ebe44108517fbf6c30', False)),
    ('v1.2.0-rc.3', (None, False)),  # a tag names no commit here
    ('v1.1.0-3-g20b9', (None, False)),  # too short to name one commit
    ('20b95f', (None, False)),
    ('1.1.5+ds1-1+deb12u1', (None, False)),
    ('garbage-dirty', (None, True)),
    ('', (None, False)),
    (None, (None, False)),
])
def test_commit_hash(commit, expected):
    assert commit_hash(commit) == expected


def test_normalise_rejects_non_versions():
    assert normalise_version('banana') == (None, False)
    assert normalise_version('') == (None, False)


def test_features_json():
    data = {'annotations': {'org.opencontainers.runc.version': '1.2.0',
                            'org.opencontainers.runc.commit': 'v1.2.0-0-g0b9fa21be',
                            'io.github.seccomp.libseccomp.version': '2.5.4'}}
    assert parse_features_json(data) == {'version': '1.2.0', 'commit': 'v1.2.0-0-g0b9fa21be', 'libseccomp': '2.5.4'}
    assert parse_features_json([]) == {}
    assert parse_features_json({'annotations': 'x'}) == {}


# runc's tags in the order it made them (git log), the Go database's pseudo-versions where their
# commits fall (cad42f6e0932 is in rc9, 2fc03cc11c77 in rc10, 9c444070ec7b after 1.0.0 on main),
# and development builds just after their tag.
RUNC_ORDER = [
    '0.0.9', '0.1.0', '0.1.1', '1.0.0-rc1', '1.0.0-rc2', '1.0.0-rc8',
    '1.0.0-rc8.0.20190930145003-cad42f6e0932', '1.0.0-rc9', '1.0.0-rc9.0.20200122160610-2fc03cc11c77',
    '1.0.0-rc10', '1.0.0-rc90', '1.0.0-rc91', '1.0.0-rc95', '1.0.0', '1.0.1-0.20211012131345-9c444070ec7b',
    '1.0.1', '1.0.3', '1.1.0-rc.1', '1.1.0', '1.1.0+dev', '1.1.13', '1.2.0-rc.1', '1.2.0-rc.1+dev', '1.2.0~rc2+ds1',
    '1.2.0-rc.10', '1.2.0', '1.3.6', '1.10.0',
]


def test_runc_release_order():
    shuffled = list(reversed(RUNC_ORDER))
    assert sorted(shuffled, key=version_key) == RUNC_ORDER
    for low, high in zip(RUNC_ORDER, RUNC_ORDER[1:]):
        assert compare_versions(low, high) == -1, (low, high)


def test_final_and_line():
    assert _version.is_final('1.3.6') and _version.is_final('1.1.5+ds1')
    assert not _version.is_final('1.2.0-rc.3') and not _version.is_final('1.0.1-0.20211012131345-9c444070ec7b')
    assert not _version.is_final(None) and not _version.is_final('banana')
    assert _version.release_line('1.2.0-rc.1+dev') == '1.2' and _version.release_line('') is None
