# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Package owners and versions read from the databases' files (dpkg, rpm sqlite, nerdctl-full):
nothing is run. This machine's own dpkg database is the real-data case."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import shutil
import sqlite3
import struct
import subprocess

import pytest

from ansible_collections.runcguard.seccomp.plugins.module_utils._files import FileProblem
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import pkgdb
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.pkgdb import (
    PackageDb, nerdctl_full_version, parse_rpm_header, parse_stanzas,
)
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.packages import path_candidates
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.rootfs import HostFs, RootFs


def test_this_hosts_dpkg_database_owns_debians_runc():
    fs = HostFs()
    if not os.path.isfile('/var/lib/dpkg/info/runc.list'):
        pytest.skip('Debian\'s runc package is not installed here')
    owner = PackageDb(fs).owner(['/usr/sbin/runc'])
    assert owner['manager'] == 'dpkg' and owner['name'] == 'runc'
    assert owner['version'].startswith('1.1.')
    assert PackageDb(fs).owner(['/usr/local/bin/not-a-packaged-file']) is None


def write(root, path, data):
    full = os.path.join(root, path.lstrip('/'))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, 'wb') as handle:
        handle.write(data if isinstance(data, bytes) else data.encode())
    return full


STATUS = """Package: libc6
Status: install ok installed
Architecture: amd64
Version: 2.36-9+deb12u7
Description: GNU C Library
 continuation line

Package: runc
Status: install ok installed
Architecture: amd64
Version: 1.1.5+ds1-1+deb12u1

Package: crun
Status: deinstall ok config-files
Architecture: amd64
Version: 1.8.1-1
"""


def test_dpkg_status_and_lists_under_a_root(tmp_path):
    root = str(tmp_path)
    write(root, '/var/lib/dpkg/status', STATUS)
    write(root, '/var/lib/dpkg/info/runc.list', '/.\n/usr\n/usr/sbin\n/usr/sbin/runc\n')
    write(root, '/var/lib/dpkg/info/libc6:amd64.list', '/lib/x86_64-linux-gnu/libc.so.6\n')
    write(root, '/var/lib/dpkg/info/crun.list', '/usr/bin/crun\n')
    db = PackageDb(RootFs(root))
    assert db.owner(['/usr/bin/runc', '/usr/sbin/runc']) == {'manager': 'dpkg', 'name': 'runc',
                                                             'version': '1.1.5+ds1-1+deb12u1'}
    assert db.owner(['/usr/lib/x86_64-linux-gnu/libc.so.6'])['name'] == 'libc6'  # usrmerge
    assert db.owner(['/usr/bin/crun']) is None  # removed, only its config files left
    assert db.problems == []


def test_distroless_status_d(tmp_path):
    root = str(tmp_path)
    write(root, '/var/lib/dpkg/status.d/runc', 'Package: runc\nVersion: 1.1.12-1\nArchitecture: amd64\n')
    write(root, '/var/lib/dpkg/status.d/runc.md5sums', 'abc  usr/sbin/runc\n')
    db = PackageDb(RootFs(root))
    assert db._dpkg_installed('runc') == {'version': '1.1.12-1', 'arch': 'amd64'}
    assert db._dpkg_installed('runc.md5sums') is None and db._dpkg_installed('crun') is None


def test_stanzas_are_bounded_and_tolerant():
    stanzas = parse_stanzas('garbage line\n\nPackage: a\nVersion: 1\n' + ' more\n' * 10000 + '\nno colon\n')
    assert [s['package'] for s in stanzas] == ['a']
    assert len(stanzas[0]['version']) < 10000


def rpm_header(entries):
    """An rpm header blob: [(tag, type, payload bytes, count)]."""
    index, store = b'', b''
    for tag, kind, payload, count in entries:
        if kind == 4:
            while len(store) % 4:
                store += b'\x00'
        index += struct.pack('>iIiI', tag, kind, len(store), count)
        store += payload
    return struct.pack('>II', len(entries), len(store)) + index + store


def strings(*values):
    return b''.join(v.encode() + b'\x00' for v in values)


RUNC_HEADER = rpm_header([
    (1000, 6, strings('runc'), 1), (1001, 6, strings('1.1.12'), 1), (1002, 6, strings('4.el9'), 1),
    (1003, 4, struct.pack('>i', 4), 1),
    (1116, 4, struct.pack('>ii', 0, 1), 2), (1117, 8, strings('runc', 'runc.8.gz'), 2),
    (1118, 8, strings('/usr/bin/', '/usr/share/man/man8/'), 2),
])


def rpmdb(root, blobs, path='/var/lib/rpm/rpmdb.sqlite'):
    full = os.path.join(root, path.lstrip('/'))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    conn = sqlite3.connect(full)
    conn.execute('CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)')
    conn.executemany('INSERT INTO Packages (blob) VALUES (?)', [(b,) for b in blobs])
    conn.commit()
    conn.close()
    return full


def test_rpm_sqlite_database(tmp_path):
    root = str(tmp_path)
    path = rpmdb(root, [RUNC_HEADER, b'\x00\x00\x00\x09short'])
    before = sorted(os.listdir(os.path.dirname(path)))
    db = PackageDb(RootFs(root))
    assert db.owner(['/usr/bin/runc']) == {'manager': 'rpm', 'name': 'runc', 'version': '4:1.1.12-4.el9'}
    assert db.owner(['/usr/bin/crun']) is None
    assert len(db.problems) == 1  # the broken header, named; the good one still read
    assert db.problems[0][1].startswith('rpm database: a package header is not valid: index of 9 entries')
    assert sorted(os.listdir(os.path.dirname(path))) == before  # read-only, immutable: no journal left


def test_rpm_header_parser_rejects_garbage():
    assert parse_rpm_header(RUNC_HEADER)['files'] == ['/usr/bin/runc', '/usr/share/man/man8/runc.8.gz']
    for blob in (b'', b'\x00' * 7, struct.pack('>II', 1, 100), rpm_header([(1001, 6, strings('1.0'), 1)])):
        with pytest.raises(ValueError):
            parse_rpm_header(blob)
    unterminated = rpm_header([(1000, 6, b'runc', 1), (1001, 6, b'1', 1)])
    with pytest.raises(ValueError):
        parse_rpm_header(unterminated)


def test_unsupported_and_broken_rpm_databases(tmp_path):
    bdb = str(tmp_path / 'bdb')
    write(bdb, '/var/lib/rpm/Packages', b'\x00\x06\x15\x61' + b'\x00' * 100)
    db = PackageDb(RootFs(bdb))
    assert db.owner(['/usr/bin/runc']) is None
    assert 'Berkeley DB / ndb format: not supported' in db.problems[0][1]
    broken = str(tmp_path / 'broken')
    write(broken, '/var/lib/rpm/rpmdb.sqlite', b'this is not sqlite' * 100)
    db = PackageDb(RootFs(broken))
    assert db.owner(['/usr/bin/runc']) is None
    assert db.problems[0][1].startswith('rpm database not readable:')


NERDCTL_README = """# nerdctl (full distribution)
- nerdctl: v1.7.6
- containerd: v1.7.16
- runc: v1.1.12
- CNI plugins: v1.4.1

## License
- bin/runc: [Apache License 2.0](https://github.com/opencontainers/runc/blob/v1.1.12/LICENSE)
"""


def test_nerdctl_full_component_list_counts_only_for_its_own_binary(tmp_path):
    root = str(tmp_path)
    binary = b'\x7fELF runc as nerdctl-full shipped it'
    write(root, '/usr/local/bin/runc', binary)
    write(root, '/usr/local/share/doc/nerdctl-full/README.md', NERDCTL_README)
    sums = '%s  bin/runc\n%s  bin/containerd\n' % (hashlib.sha256(binary).hexdigest(), '0' * 64)
    write(root, '/usr/local/share/doc/nerdctl-full/SHA256SUMS', sums)
    fs = RootFs(root)
    assert nerdctl_full_version(fs, '/usr/local/bin/runc') == ('v1.1.12', None)
    assert nerdctl_full_version(fs, '/usr/bin/runc') == (None, None)  # no list beside it
    write(root, '/usr/local/bin/runc', binary + b' replaced by hand')
    version, why = nerdctl_full_version(fs, '/usr/local/bin/runc')
    assert version is None and 'replaced since' in why
    os.unlink(os.path.join(root, 'usr/local/share/doc/nerdctl-full/SHA256SUMS'))
    version, why = nerdctl_full_version(fs, '/usr/local/bin/runc')
    assert version is None and 'not trusted without it' in why


def test_limits_are_sane():
    assert pkgdb.LIST_LIMIT < pkgdb.LIST_BUDGET and pkgdb.DOC_LIMIT <= 1 << 20


def test_owners_in_one_pass_likely_owner_first(tmp_path, monkeypatch):
    root = str(tmp_path)
    write(root, '/var/lib/dpkg/status', STATUS.replace('Package: crun\nStatus: deinstall ok config-files',
                                                       'Package: crun\nStatus: install ok installed'))
    write(root, '/var/lib/dpkg/info/runc.list', '/.\n/usr\n/usr/sbin\n/usr/sbin/runc\n/usr/sbin/runc-helper\n')
    write(root, '/var/lib/dpkg/info/libc6:amd64.list', '/lib/x86_64-linux-gnu/libc.so.6\n/usr/bin/crunch\n')
    write(root, '/var/lib/dpkg/info/crun.list', '/usr/bin/crun\n')
    db = PackageDb(RootFs(root))
    read = []
    real_read = db.fs.read_root_owned
    monkeypatch.setattr(db.fs, 'read_root_owned', lambda path, *args: read.append(path) or real_read(path, *args))
    found = db.owners([['/usr/sbin/runc'], ['/usr/bin/crun'], ['/usr/bin/runc-helper'], ['/usr/sbin/run'], []])
    assert [f and f['name'] for f in found] == ['runc', 'crun', None, None, None]  # whole lines only
    assert found[1] == {'manager': 'dpkg', 'name': 'crun', 'version': '1.8.1-1'}
    # every list read once for all the paths, the packages named like the binaries first; the status
    # file once, when a list first names one
    assert read == ['/var/lib/dpkg/info/crun.list', '/var/lib/dpkg/status', '/var/lib/dpkg/info/runc.list',
                    '/var/lib/dpkg/info/libc6:amd64.list']
    assert db.problems == []


def test_owners_bounded_by_the_list_budget(tmp_path, monkeypatch):
    root = str(tmp_path)
    write(root, '/var/lib/dpkg/status', STATUS)
    write(root, '/var/lib/dpkg/info/libc6:amd64.list', '/lib/x86_64-linux-gnu/libc.so.6\n' * 40)
    write(root, '/var/lib/dpkg/info/runc.list', '/usr/bin/zz\n')
    monkeypatch.setattr(pkgdb, 'LIST_BUDGET', 100)
    db = PackageDb(RootFs(root))
    # a list past what is left of the budget is an error of its own; the others are still searched
    assert db.owners([['/opt/bin/tool'], ['/usr/bin/zz']])[1]['name'] == 'runc'
    assert db.problems == [('/var/lib/dpkg/info/libc6:amd64.list', 'too large: 1280 bytes, limit (dpkg list '
                                                                   'limit) is 100')]
    monkeypatch.setattr(pkgdb, 'LIST_BUDGET', 1280)  # libc6's list uses it all up: the search ends there
    db = PackageDb(RootFs(root))
    assert db.owners([['/opt/bin/tool'], ['/usr/bin/zz']]) == [None, None]
    assert db.problems == [('/var/lib/dpkg/info', 'dpkg file lists larger than 1280 bytes in all: the owner of '
                                                  '/opt/bin/tool, /usr/bin/zz was not looked for further')]


def test_this_hosts_owners_are_what_dpkg_query_says():
    """Real ground truth: dpkg's own answer (dpkg-query -S and -W) for the runtimes installed here."""
    if not shutil.which('dpkg-query'):
        pytest.skip('no dpkg here')
    paths = [p for p in ('/usr/sbin/runc', '/usr/bin/crun', '/usr/bin/podman', '/usr/bin/ls') if os.path.exists(p)]
    found = PackageDb(HostFs()).owners([[p] for p in paths] + [['/usr/local/bin/not-a-packaged-file']])
    assert found[-1] is None
    for path, owner in zip(paths, found):
        # dpkg-query -S as the scan asked it before (merged-/usr twins too: dpkg lists /bin/ls)
        out = subprocess.run(['dpkg-query', '-S'] + path_candidates(path), stdout=subprocess.PIPE,
                             universal_newlines=True, check=False).stdout  # rc 1: a twin is not listed
        name = out.split(':')[0].split(',')[0].strip()
        version = subprocess.run(['dpkg-query', '-W', '-f=${Version}', name], stdout=subprocess.PIPE,
                                 universal_newlines=True, check=True).stdout
        assert owner == {'manager': 'dpkg', 'name': name, 'version': version}, path


def test_installed_reads_only_the_packages_own_stanzas(tmp_path):
    root = str(tmp_path)
    write(root, '/var/lib/dpkg/status', 'Package: runc-extra\nStatus: install ok installed\nVersion: 9\n\n'
                                        'Package: runc\nStatus: deinstall ok config-files\nArchitecture: i386\n'
                                        'Version: 1.0\n\nPackage: runc\nStatus: install ok installed\n'
                                        'Architecture: amd64\nVersion: 1.1.12-1')  # no final newline
    db = PackageDb(RootFs(root))
    assert db._dpkg_installed('runc') == {'version': '1.1.12-1', 'arch': 'amd64'}  # the installed one
    assert db._dpkg_installed('runc-extra') == {'version': '9', 'arch': None}      # first stanza of the file
    assert db._dpkg_installed('run') is None and db._dpkg_installed('extra') is None


def test_a_diverted_binary_belongs_to_the_diverting_package(tmp_path):
    # dpkg-divert: the file at /usr/sbin/runc is the wrapper package's (runc's own went to runc.distrib);
    # a local diversion (':') puts the administrator's file there: no package has it
    root = str(tmp_path)
    write(root, '/var/lib/dpkg/status', STATUS + '\nPackage: runc-wrapper\nStatus: install ok installed\n'
                                                 'Version: 2.0\n')
    write(root, '/var/lib/dpkg/info/runc.list', '/usr/sbin/runc\n/usr/bin/crun\n')
    write(root, '/var/lib/dpkg/info/runc-wrapper.list', '/usr/sbin/runc\n')
    write(root, '/var/lib/dpkg/diversions', '/usr/sbin/runc\n/usr/sbin/runc.distrib\nrunc-wrapper\n'
                                            '/bin/crun\n/bin/crun.real\n:\n')
    found = PackageDb(RootFs(root)).owners([['/usr/sbin/runc'], ['/usr/bin/crun'], ['/usr/sbin/runc.distrib']])
    assert found == [{'manager': 'dpkg', 'name': 'runc-wrapper', 'version': '2.0'}, None, None]


@pytest.mark.skipif(os.geteuid() != 0, reason='chown: root only')
def test_on_this_host_dpkg_files_are_trusted_only_when_roots_alone(tmp_path):
    """Red team: a status file or list a user owns (or anyone may write) named the owner of root's runc."""
    fs = HostFs()
    path = write(str(tmp_path), '/status', STATUS)
    os.chmod(path, 0o644)
    assert fs.read_root_owned(path, 1 << 20, 'dpkg status limit') == STATUS.encode()
    for mode, uid in ((0o664, 0), (0o646, 0), (0o644, 1000)):
        os.chmod(path, mode)
        os.chown(path, uid, 0)
        with pytest.raises(FileProblem, match='not owned by root or is group/world writable'):
            fs.read_root_owned(path, 1 << 20, 'dpkg status limit')
    assert RootFs(str(tmp_path)).read_root_owned('/status', 1 << 20, 'dpkg status limit')  # a node's uids: read
