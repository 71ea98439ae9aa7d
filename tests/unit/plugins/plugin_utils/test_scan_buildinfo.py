# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Go build information read from ELF files without running them: real runc and crun builds from
../shared, Debian's runc when installed, and made-up files (garbage, truncated, huge, old format)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import struct
import sys
import tempfile

import pytest

from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import buildinfo
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.buildinfo import read_build_info
from ansible_collections.runcguard.seccomp.plugins.module_utils._version import (
    parse_runtime_version,
    version_from_build_info,
)
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._build_verdicts import fcntl_hang_verdict

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
FIXTURES = os.path.join(os.path.dirname(__file__), '..', 'module_utils', 'fixtures', 'versions')
sys.path.insert(0, os.path.join(REPO, 'scripts'))
import shared_builds  # noqa: E402  (scripts/: finds and sha256-verifies ../shared builds)

# build file -> (mod line version, vcs.revision, --version fixture)
RUNC = {
    'runc-v1.1.13': ('v1.1.13', '58aa9203c123022138b22cf96540c284876a7910', 'runc-1.1.13'),
    'runc-v1.2.0-rc.1': ('(devel)', '275e6d85f78a9d0a90d9a714ba5f667561a4b0b9', 'runc-1.2.0-rc.1'),
    'runc-v1.2.0-rc.2': ('v1.2.0-rc.2', 'f2d2ee5e45af3c9b38dfd639ac92f43c3055ce4e', 'runc-1.2.0-rc.2'),
    'runc-v1.2.0': ('v1.2.0', '0b9fa21be2bcba45f6d9d748b4bcf70cfbffbc19', 'runc-1.2.0'),
    'runc-v1.3.6': ('v1.3.6', '491b69bab9fa206b984fb26ba07d3110d62e671f', 'runc-1.3.6'),
}
_UNPACKED = {}


def builds(folder):
    if folder not in _UNPACKED:
        if shared_builds.builds_dir(folder) is None:
            pytest.skip(shared_builds.absent_reason(folder))
        dest = tempfile.mkdtemp(prefix='rcg-buildinfo-%s-' % folder)
        try:
            _UNPACKED[folder] = shared_builds.unpack(folder, dest)
        except Exception:
            shutil.rmtree(dest, True)
            raise
    return _UNPACKED[folder]


@pytest.fixture(scope='module', autouse=True)
def _cleanup():
    yield
    for paths in _UNPACKED.values():
        for path in paths.values():
            shutil.rmtree(os.path.dirname(path), True)
            break
    _UNPACKED.clear()


def version_text(name):
    with open(os.path.join(FIXTURES, name + '.txt')) as handle:
        return handle.read()


# --- real builds ---------------------------------------------------------------------------------
@pytest.mark.parametrize('name', sorted(RUNC))
def test_real_runc_build_info(name):
    mod_version, revision, _fixture = RUNC[name]
    info = read_build_info(builds('runc-builds')[name])
    assert info['status'] == 'found', info['reason']
    assert info['go'].startswith('go1.')
    assert info['path'] == 'github.com/opencontainers/runc'
    assert info['main']['path'] == 'github.com/opencontainers/runc'
    assert info['main']['version'] == mod_version
    assert info['settings']['vcs.revision'] == revision
    assert info['settings']['vcs.modified'] == 'false'
    assert 'seccomp' in info['settings']['-tags'].split(',')
    assert buildinfo.dependency(info, 'github.com/seccomp/libseccomp-golang').startswith('v0.')
    assert buildinfo.vcs(info) == (revision, False)


@pytest.mark.parametrize('name', sorted(RUNC))
def test_build_info_gives_the_version_record_of_dash_dash_version(name):
    """Same name, version, dev flag and fcntl-hang verdict as parsing the build's --version text."""
    _mod, revision, fixture = RUNC[name]
    static = version_from_build_info(read_build_info(builds('runc-builds')[name]))
    executed = parse_runtime_version(version_text(fixture))
    assert static['error'] is None
    assert static['version_source'] == 'buildinfo'
    assert static['name'] == executed['name'] == 'runc'
    assert static['commit'] == revision
    assert fcntl_hang_verdict(static)[0] == fcntl_hang_verdict(executed)[0]
    # rc.1 was built by Go 1.21: "(devel)" with vcs.revision, the commit of tag v1.2.0-rc.1
    assert (static['version'], static['dev']) == (executed['version'], executed['dev'])


@pytest.mark.parametrize('name', ['crun-1.5', 'crun-1.6'])
def test_crun_is_a_c_binary_without_build_info(name):
    info = read_build_info(builds('crun-builds')[name])
    assert info['status'] == 'absent'
    assert 'no Go build information' in info['reason']
    record = version_from_build_info(info)
    assert record['version'] is None and 'no Go build information' in record['error']


def test_debian_runc_has_build_info_but_no_version():
    path = '/usr/sbin/runc'
    info = read_build_info(path) if os.path.isfile(path) else None
    if not info or info['status'] != 'found':
        pytest.skip('Debian\'s runc package is not installed here')
    assert info['path'] == 'github.com/opencontainers/runc'
    assert info['main'] is None and 'vcs.revision' not in info['settings']
    record = version_from_build_info(info)
    assert record['name'] == 'runc' and record['version'] is None
    assert 'no module version' in record['error']


def test_truncated_real_build_never_raises(tmp_path):
    source = builds('runc-builds')['runc-v1.2.0-rc.2']
    with open(source, 'rb') as handle:
        data = handle.read()
    blob = data.find(buildinfo.MAGIC)
    for size in (0, 3, 20, 63, 64, 4096, blob, blob + 20, blob + 40, blob + 300):
        path = tmp_path / ('cut-%d' % size)
        path.write_bytes(data[:size])
        info = read_build_info(str(path))
        assert info['status'] in ('error', 'absent'), size
        assert info['reason'], size
    assert 'truncated' in read_build_info(str(tmp_path / 'cut-64'))['reason']
    assert read_build_info(str(tmp_path / 'cut-0'))['reason'] == 'not an ELF file'


def test_not_elf_directory_fifo_missing(tmp_path):
    text = tmp_path / 'script'
    text.write_bytes(b'#!/bin/sh\necho runc version 1.2.0\n')
    assert read_build_info(str(text)) == buildinfo.empty_result('error', 'not an ELF file')
    assert read_build_info(str(tmp_path))['reason'] == 'not a regular file'
    fifo = tmp_path / 'fifo'
    os.mkfifo(str(fifo))
    assert read_build_info(str(fifo))['reason'] == 'not a regular file'  # O_NONBLOCK: never blocks
    assert read_build_info(str(tmp_path / 'missing'))['reason'] == 'does not exist'


# --- made-up ELF files ---------------------------------------------------------------------------
MODINFO = (b'path\tgithub.com/opencontainers/runc\n'
           b'mod\tgithub.com/opencontainers/runc\tv1.2.0-rc.1.0.20240501000000-0123456789ab\t\n'
           b'dep\tgithub.com/opencontainers/runtime-spec\tv1.2.0\th1:abc=\n'
           b'=>\t../spec\t(devel)\t\n'
           b'dep\tgolang.org/x/sys\tv0.19.0\t\n'
           b'build\t-tags=seccomp\n'
           b'build\t"key with space"="value \\"quoted\\""\n'
           b'build\tvcs.revision=0123456789abcdef0123456789abcdef01234567\n'
           b'build\tvcs.modified=true\n'
           b'build\tCGO_CFLAGS=\x1b[31mred\n')
SENTINEL_START = b'0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6'
SENTINEL_END = b'\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2'


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7f
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def elf64(data, data_offset=0x1000, with_sections=True, pad_to=None):
    """Little-endian ELF64: one writable PT_LOAD over ``data`` at ``data_offset`` (vaddr 0x400000 +
    offset), and a .go.buildinfo section over all of it when ``with_sections``."""
    body = bytearray(data_offset) + bytearray(data)
    shoff = shnum = shstrndx = 0
    if with_sections:
        names = b'\x00.go.buildinfo\x00.shstrtab\x00'
        names_off = len(body)
        body += names
        while len(body) % 8:
            body.append(0)
        shoff = len(body)
        null = bytes(64)
        bi = struct.pack('<IIQQQQIIQQ', 1, 1, 3, 0x400000 + data_offset, data_offset, len(data), 0, 0, 16, 0)
        st = struct.pack('<IIQQQQIIQQ', 15, 3, 0, 0, names_off, len(names), 0, 0, 1, 0)
        body += null + bi + st
        shnum, shstrndx = 3, 2
    if pad_to:
        body += bytearray(max(pad_to - len(body), 0))
    ident = b'\x7fELF' + bytes([2, 1, 1]) + bytes(9)
    header = ident + struct.pack('<HHIQQQIHHHHHH', 2, 62, 1, 0x400000, 64, shoff, 0, 64, 56, 1, 64, shnum, shstrndx)
    phdr = struct.pack('<IIQQQQQQ', 1, 6, data_offset, 0x400000 + data_offset, 0x400000 + data_offset,
                       len(data), len(data), 0x1000)
    body[:64 + 56] = header + phdr
    return bytes(body)


def inline_blob(go=b'go1.24.1', modinfo=MODINFO):
    header = buildinfo.MAGIC + bytes([8, 2]) + bytes(16)
    wrapped = SENTINEL_START + modinfo + SENTINEL_END
    return header + varint(len(go)) + go + varint(len(wrapped)) + wrapped


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize('with_sections', [True, False])
def test_inline_format_all_lines(tmp_path, with_sections):
    path = write(tmp_path, 'bin', elf64(bytes(48) + inline_blob(), with_sections=with_sections))
    info = read_build_info(path)
    assert info['status'] == 'found', info['reason']
    assert info['go'] == 'go1.24.1'
    assert info['main']['version'] == 'v1.2.0-rc.1.0.20240501000000-0123456789ab'
    spec = info['deps'][0]
    assert spec['sum'] == 'h1:abc=' and spec['replace'] == {'path': '../spec', 'version': '(devel)', 'sum': None}
    assert buildinfo.dependency(info, 'github.com/opencontainers/runtime-spec') == '(devel)'
    assert info['settings']['key with space'] == 'value "quoted"'
    assert info['settings']['CGO_CFLAGS'] == '\\x1b[31mred'  # control characters shown, never passed on
    assert buildinfo.vcs(info) == ('0123456789abcdef0123456789abcdef01234567', True)


def test_magic_off_alignment_is_not_taken(tmp_path):
    path = write(tmp_path, 'bin', elf64(bytes(8) + inline_blob(), with_sections=False))
    assert read_build_info(path)['status'] == 'absent'


def test_search_is_bounded(tmp_path):
    path = write(tmp_path, 'bin', elf64(bytes(4096) + inline_blob(), with_sections=False))
    assert read_build_info(path)['status'] == 'found'
    assert read_build_info(path, max_search=4096)['status'] == 'absent'


def test_huge_sparse_file_costs_one_bounded_search(tmp_path):
    path = write(tmp_path, 'huge', elf64(b'\x00' * 64, with_sections=False))
    with open(path, 'r+b') as handle:
        handle.truncate(8 << 30)  # sparse: 8 GiB on paper
    with open(path, 'r+b') as handle:  # the writable segment claims nearly all of it
        handle.seek(64 + 32)
        handle.write(struct.pack('<QQ', (8 << 30) - 0x2000, (8 << 30) - 0x2000))
    info = read_build_info(path, max_search=1 << 20)
    assert info['status'] == 'absent'


@pytest.mark.parametrize('blob, reason', [
    (buildinfo.MAGIC + bytes([8, 2]) + bytes(16) + b'\xff' * 12, 'not a valid varint'),
    (buildinfo.MAGIC + bytes([8, 2]) + bytes(16) + varint(buildinfo.MAX_STRING + 1), 'more than'),
    (buildinfo.MAGIC + bytes([8, 2]) + bytes(16) + varint(1 << 30) + b'go', 'more than'),
    (buildinfo.MAGIC + bytes([8, 2]) + bytes(16) + varint(4000) + b'go1', 'past its end'),
    (buildinfo.MAGIC + bytes([3, 0]) + bytes(16), 'pointer size 3'),
    (buildinfo.MAGIC + bytes([8, 0]) + struct.pack('<QQ', 0xdead0000, 0xbeef0000), 'outside the file'),
])
def test_broken_blobs_are_clear_errors(tmp_path, blob, reason):
    info = read_build_info(write(tmp_path, 'bin', elf64(blob, with_sections=False)))
    assert info['status'] == 'error'
    assert reason in info['reason']


def test_garbage_with_elf_magic(tmp_path):
    noise = bytes(bytearray((i * 7919 + 13) % 251 for i in range(200000)))
    for name, data in (('noise', b'\x7fELF' + noise),
                       ('class', b'\x7fELF\x09\x01' + noise),
                       ('headers', b'\x7fELF\x02\x01\x01' + bytes(9) + b'\xff' * 48 + noise),
                       ('magic-only', buildinfo.MAGIC * 1000)):
        info = read_build_info(write(tmp_path, name, data))
        assert info['status'] == 'error', name
        assert info['reason']


def test_pre_1_18_pointer_format_big_endian_32_bit(tmp_path):
    """Go < 1.18: two pointers to Go string headers, mapped through the program headers."""
    base, start = 0x10000, 0x100
    go, mod = b'go1.17.13', SENTINEL_START + MODINFO + SENTINEL_END
    blob = bytearray(0x400)
    go_hdr, mod_hdr, go_at, mod_at = 0x40, 0x48, 0x60, 0x80
    blob[0:32] = buildinfo.MAGIC + bytes([4, 1]) + struct.pack('>II', base + go_hdr, base + mod_hdr) + bytes(8)
    blob[go_hdr:go_hdr + 8] = struct.pack('>II', base + go_at, len(go))
    blob[mod_hdr:mod_hdr + 8] = struct.pack('>II', base + mod_at, len(mod))
    blob[go_at:go_at + len(go)] = go
    blob[mod_at:mod_at + len(mod)] = mod
    ident = b'\x7fELF' + bytes([1, 2, 1]) + bytes(9)
    header = ident + struct.pack('>HHIIIIIHHHHHH', 2, 8, 1, base, 52, 0, 0, 52, 32, 1, 40, 0, 0)
    phdr = struct.pack('>IIIIIIII', 1, start, base, base, len(blob), len(blob), 6, 0x1000)
    data = header + phdr + bytes(start - 52 - 32) + bytes(blob)
    info = read_build_info(write(tmp_path, 'old', data))
    assert info['status'] == 'found', info['reason']
    assert info['go'] == 'go1.17.13'
    assert info['settings']['vcs.revision'].startswith('0123456789ab')


def test_line_and_field_bounds(tmp_path):
    many = b''.join(b'dep\tm%d\tv1.0.%d\t\n' % (i, i) for i in range(buildinfo.MAX_LINES + 50))
    long_value = b'build\tX=' + b'a' * 5000 + b'\n'
    path = write(tmp_path, 'bin', elf64(inline_blob(modinfo=b'path\tp\n' + long_value + many)))
    info = read_build_info(path)
    assert info['status'] == 'found'
    assert len(info['deps']) < buildinfo.MAX_LINES
    assert 'cut at' in info['reason']
    assert len(info['settings']['X']) < buildinfo.MAX_FIELD


# --- the version record --------------------------------------------------------------------------
def found(version, revision=None, modified=None, path='github.com/opencontainers/runc'):
    info = buildinfo.empty_result('found')
    info.update(go='go1.24.1', path=path, main={'path': path, 'version': version, 'sum': None, 'replace': None})
    if revision:
        info['settings']['vcs.revision'] = revision
    if modified is not None:
        info['settings']['vcs.modified'] = 'true' if modified else 'false'
    return info


# 12-hex commits of ../shared/runc-dev-commits.tsv: 275e6d85f78a is affected (tag v1.2.0-rc.1),
# 009e627cb02b is a 1.1.0+dev commit that is not.
@pytest.mark.parametrize('version, revision, modified, expected, affected', [
    ('v1.2.0-rc.2', None, False, ('1.2.0-rc.2', False, None), True),
    ('v1.1.13+dirty', '58aa9203c123022138b22cf96540c284876a7910', True,
     ('1.1.13', False, '58aa9203c123022138b22cf96540c284876a7910-dirty'), False),
    ('v1.2.0-rc.1.0.20240403104324-275e6d85f78a', None, None, ('1.2.0-rc.1', True, '275e6d85f78a'), True),
    ('v1.1.1-0.20220101000000-009e627cb02b', None, None, ('1.1.0', True, '009e627cb02b'), False),
    ('v0.0.0-20220101000000-009e627cb02b', None, None, (None, True, '009e627cb02b'), False),
    ('(devel)', '275e6d85f78a9d0a90d9a714ba5f667561a4b0b9', False,  # a known release tag's commit
     ('1.2.0-rc.1', False, '275e6d85f78a9d0a90d9a714ba5f667561a4b0b9'), True),
    ('(devel)', '275e6d85f78a9d0a90d9a714ba5f667561a4b0b9', True,  # ... built with local changes
     (None, True, '275e6d85f78a9d0a90d9a714ba5f667561a4b0b9-dirty'), True),
    ('(devel)', '00e3b69e52030000000000000000000000000000', False,  # an affected dev commit, no number
     (None, True, '00e3b69e52030000000000000000000000000000'), True),
    ('(devel)', '009e627cb02b0000000000000000000000000000', True,
     (None, True, '009e627cb02b0000000000000000000000000000-dirty'), 'unknown'),
    ('(devel)', 'ffffffffffff', False, (None, True, 'ffffffffffff'), 'unknown'),
    ('v1.5.1', None, None, ('1.5.1', False, None), False),
])
def test_version_record(version, revision, modified, expected, affected):
    record = version_from_build_info(found(version, revision, modified))
    assert record['error'] is None
    assert (record['version'], record['dev'], record['commit']) == expected
    assert fcntl_hang_verdict(record)[0] == affected


def test_version_record_errors():
    assert 'not runc' in version_from_build_info(found('v4.3.1', path='github.com/containers/podman/v4'))['error']
    assert version_from_build_info(found('(devel)'))['error'].startswith('Go build information has no module')
    assert version_from_build_info(buildinfo.empty_result('error', 'not an ELF file'))['error'] == \
        'build information: not an ELF file'
    assert version_from_build_info(None)['error'] == 'no build information'
    record = version_from_build_info(found('v1.2.0-rc.2', 'f2d2ee5e45af3c9b38dfd639ac92f43c3055ce4e', False))
    assert 'mod github.com/opencontainers/runc v1.2.0-rc.2' in record['raw']
    assert fcntl_hang_verdict(record)[0] is True
