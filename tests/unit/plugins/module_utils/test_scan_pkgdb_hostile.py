# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""dpkg's files as a hostile or odd node root has them: the owner lookup stays linear in the files'
size, and agrees with dpkg-query -S on package states and diversions."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

import pytest

from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import pkgdb
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.pkgdb import PackageDb
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.rootfs import RootFs

sys.path.insert(0, os.path.dirname(__file__))
from test_scan_pkgdb import write  # noqa: E402  (a file under a test root)

real_parse = pkgdb.parse_stanzas
RUNC = {'manager': 'dpkg', 'name': 'runc', 'version': '1.1.5+ds1-1+deb12u1'}


def stanza(name, status='install ok installed', version='1.1.5+ds1-1+deb12u1'):
    return 'Package: %s\nStatus: %s\nArchitecture: amd64\nVersion: %s\n\n' % (name, status, version)


def test_a_status_file_without_blank_lines_is_read_in_linear_time(tmp_path, monkeypatch):
    # every "Package: runc" record was parsed up to the end of the file: 192 KB took 5 s, 384 KB 20 s, 64 MiB days
    root = str(tmp_path)
    write(root, '/var/lib/dpkg/status', b'Package: runc\nStatus: deinstall ok config-files\n' * 4000)
    write(root, '/var/lib/dpkg/info/runc.list', '/.\n/usr/sbin/runc\n')
    parsed = []
    monkeypatch.setattr(pkgdb, 'parse_stanzas', lambda text: parsed.append(len(text)) or real_parse(text))
    assert PackageDb(RootFs(root)).owner(['/usr/sbin/runc']) is None
    assert len(parsed) == 4000 and sum(parsed) <= 2 * 4000 * 48  # each record once, not up to the end


def test_many_stale_lists_naming_the_binary_search_the_status_file_once(tmp_path, monkeypatch):
    # each list naming the path whose package is not installed searched all of the status file again
    root = str(tmp_path)
    filler = stanza('filler') + 'Description: x\n' + ' padding\n' * 100 + '\n'
    write(root, '/var/lib/dpkg/status', stanza('zz-runc') + filler * ((16 << 20) // len(filler)))
    for i in range(600):  # stale lists of packages the status file does not have
        write(root, '/var/lib/dpkg/info/a%04d.list' % i, '/usr/sbin/runc\n')
    write(root, '/var/lib/dpkg/info/zz-runc.list', '/.\n/usr/sbin/runc\n')
    db = PackageDb(RootFs(root))
    scans = []  # per name looked up: was the status text searched (not answered from its index)?
    real_starts = db._dpkg_stanza_starts
    monkeypatch.setattr(db, '_dpkg_stanza_starts',
                        lambda data, name: scans.append(id(data) not in db._index) or real_starts(data, name))
    assert db.owner(['/usr/sbin/runc'])['name'] == 'zz-runc'
    assert len(scans) == 601 and sum(scans) <= pkgdb.INDEX_AFTER + 1  # then one pass indexed every name


@pytest.mark.parametrize('status, owned', [
    ('install ok installed', True),
    ('install ok triggers-pending', True),   # installed, a trigger not yet run (dpkg-query -S: runc)
    ('install ok triggers-awaited', True),
    ('install ok half-configured', True),    # unpacked, postinst failed: the files are there
    ('install ok unpacked', True),
    ('hold ok installed', True),
    ('deinstall ok config-files', False),    # only conffiles left
    ('purge ok not-installed', False),
])
def test_every_state_with_files_on_disk_owns_them_as_dpkg_query_says(tmp_path, status, owned):
    root = str(tmp_path)
    write(root, '/var/lib/dpkg/status', stanza('runc', status))
    write(root, '/var/lib/dpkg/info/runc.list', '/.\n/usr/sbin/runc\n')
    assert PackageDb(RootFs(root)).owner(['/usr/sbin/runc']) == (RUNC if owned else None)


def test_a_diversion_belongs_to_the_diverting_package_only_when_it_ships_the_path(tmp_path):
    root = str(tmp_path)
    write(root, '/var/lib/dpkg/status', stanza('runc') + stanza('foo', version='9.9') + stanza('bar', version='2.0'))
    write(root, '/var/lib/dpkg/info/runc.list', '/.\n/usr/sbin/runc\n/usr/bin/crun\n')
    write(root, '/var/lib/dpkg/info/foo.list', '/.\n/usr/share/doc/foo\n')         # diverts, ships nothing there
    write(root, '/var/lib/dpkg/info/bar.list', '/.\n/usr/bin/crun\n')               # diverts and ships its own
    write(root, '/var/lib/dpkg/diversions', '/usr/sbin/runc\n/usr/sbin/runc.disabled\nfoo\n'
                                            '/usr/bin/crun\n/usr/bin/crun.distrib\nbar\n')
    db = PackageDb(RootFs(root))
    # dpkg-query -S: the diversion lines, then "runc: /usr/sbin/runc"; the file there is not foo's 9.9
    assert db.owner(['/usr/sbin/runc']) is None
    assert db.owner(['/usr/bin/crun']) == {'manager': 'dpkg', 'name': 'bar', 'version': '2.0'}


def test_a_truncated_diversion_record_is_no_local_diversion(tmp_path):
    root = str(tmp_path)
    write(root, '/var/lib/dpkg/status', stanza('runc'))
    write(root, '/var/lib/dpkg/info/runc.list', '/.\n/usr/sbin/runc\n')
    write(root, '/var/lib/dpkg/diversions', '/usr/sbin/runc\n/usr/sbin/runc.real\n')
    assert PackageDb(RootFs(root)).owner(['/usr/sbin/runc']) == RUNC


def test_a_huge_diversions_file_is_a_problem_not_a_memory_blow_up(tmp_path):
    root = str(tmp_path)
    write(root, '/var/lib/dpkg/status', stanza('runc'))
    write(root, '/var/lib/dpkg/info/runc.list', '/.\n/usr/sbin/runc\n')
    write(root, '/var/lib/dpkg/diversions', b'a\n' * ((pkgdb.DIVERSIONS_LIMIT // 2) + 1))
    db = PackageDb(RootFs(root))
    assert db.owner(['/usr/sbin/runc']) == RUNC
    assert [p for p, _m in db.problems] == ['/var/lib/dpkg/diversions']


def test_a_path_with_a_newline_is_no_run_of_list_lines(tmp_path):
    # b'\n' + path + b'\n' with a newline in the path matched two consecutive lines of a file list
    root = str(tmp_path)
    write(root, '/var/lib/dpkg/status', stanza('runc'))
    write(root, '/var/lib/dpkg/info/runc.list', '/.\n/usr\n/usr/sbin\n/usr/sbin/runc\n')
    db = PackageDb(RootFs(root))
    assert db.owner(['/usr/sbin\n/usr/sbin/runc']) is None  # dpkg lists no name with a newline
    assert db.owner(['/usr/sbin\n/usr/sbin/runc', '/usr/sbin/runc']) == RUNC


def test_a_diverted_alias_does_not_outrank_the_binarys_own_owner(tmp_path):
    # /usr/bin/runc moved aside by a local diversion, now a link to the packaged /usr/sbin/runc: the group
    # [realpath, path] was settled by the alias' diversion (nobody's); dpkg-query -S /usr/sbin/runc: runc
    root = str(tmp_path)
    write(root, '/var/lib/dpkg/status', stanza('runc'))
    write(root, '/var/lib/dpkg/info/runc.list', '/.\n/usr\n/usr/sbin\n/usr/sbin/runc\n')
    write(root, '/var/lib/dpkg/diversions', '/usr/bin/runc\n/usr/bin/runc.old\n:\n')
    db = PackageDb(RootFs(root))
    assert db.owner(['/usr/sbin/runc', '/usr/bin/runc']) == RUNC
    assert db.owner(['/usr/bin/runc', '/usr/sbin/runc']) is None  # the first path (the file itself) decides
