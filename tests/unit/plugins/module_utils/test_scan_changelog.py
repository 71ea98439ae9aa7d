# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Advisory ids from a runtime package's changelog (backported fixes): bounded, trusted files only."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gzip
import os

import pytest

from ansible_collections.runcguard.seccomp.plugins.module_utils._files import Fs
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import changelog

# The shape of Debian's runc changelog (bookworm-security upload of 1.1.5+ds1-1+deb12u1).
DEBIAN = b'''runc (1.1.5+ds1-1+deb12u1) bookworm-security; urgency=high

  * Team upload.
  * CVE-2024-21626: several container breakouts due to internally leaked fds

 -- Maintainer <m@example.org>  Fri, 02 Feb 2024 21:53:05 +0800

runc (1.1.5+ds1-1) unstable; urgency=medium

  * New upstream version 1.1.5+ds1
    + CVE-2023-25809: rootless: `/sys/fs/cgroup` is writable when cgroupns
    + cve-2023-27561: Incorrect Authorization vulnerability (GHSA-vpvm-3wq2-2wvm)

 -- Maintainer <m@example.org>  Wed, 29 Mar 2023 17:24:36 +0800
'''


def test_ids_are_found_upper_cased_and_unique():
    assert changelog.advisory_ids(DEBIAN + b' CVE-2024-21626 again, GO-2025-4096, xCVE-1-1') == [
        'CVE-2023-25809', 'CVE-2023-27561', 'CVE-2024-21626', 'GHSA-VPVM-3WQ2-2WVM', 'GO-2025-4096']


def test_ids_are_bounded():
    text = ' '.join('CVE-2020-%05d' % n for n in range(changelog.MAX_IDS + 50))
    assert len(changelog.advisory_ids(text)) == changelog.MAX_IDS


def _root_with(tmp_path, data, mode=0o644, name='runc'):
    doc = tmp_path / 'usr' / 'share' / 'doc' / name
    doc.mkdir(parents=True)
    path = doc / 'changelog.Debian.gz'
    path.write_bytes(data)
    os.chmod(str(path), mode)
    return Fs(str(tmp_path)), str(path)


def _runtime(name='runc', manager='dpkg'):
    return {'path': '/usr/sbin/runc', 'package': {'manager': manager, 'name': name, 'version': '1.1.5+ds1-1+deb12u1'}}


@pytest.mark.skipif(os.geteuid() != 0, reason='the trusted-file check needs root-owned fixtures')
def test_debian_changelog_gives_the_ids(tmp_path):
    fs, _path = _root_with(tmp_path, gzip.compress(DEBIAN))
    runtimes = [_runtime(), _runtime()]
    changelog.add_advisory_ids(fs, None, runtimes)
    for runtime in runtimes:
        assert 'CVE-2024-21626' in runtime['package']['advisory_ids']
        assert runtime['package']['changelog_error'] is None


@pytest.mark.skipif(os.geteuid() != 0, reason='the trusted-file check needs root-owned fixtures')
@pytest.mark.parametrize('data, mode, why', [
    (gzip.compress(DEBIAN), 0o666, 'not trusted'),
    (b'not gzip', 0o644, 'not a readable gzip file'),
    (gzip.compress(b'x' * (changelog.CHANGELOG_LIMIT + 10)), 0o644, 'more than'),
])
def test_a_changelog_that_cannot_be_trusted_or_read_says_why(tmp_path, data, mode, why):
    fs, path = _root_with(tmp_path, data, mode)
    runtime = _runtime()
    changelog.add_advisory_ids(fs, None, [runtime])
    assert runtime['package']['advisory_ids'] is None
    assert why in runtime['package']['changelog_error'] and '/usr/share/doc/runc/changelog.Debian.gz' in \
        runtime['package']['changelog_error']


def test_missing_changelog_and_bad_names(tmp_path):
    fs = Fs(str(tmp_path))
    runtime, bad = _runtime(), _runtime(name='../../etc/shadow')
    changelog.add_advisory_ids(fs, None, [runtime, bad, {'path': '/x', 'package': None}])
    assert runtime['package']['advisory_ids'] is None and 'cannot be opened' in runtime['package']['changelog_error']
    assert 'not a valid package name' in bad['package']['changelog_error']


def test_rpm_changelog_through_the_runner():
    calls = []

    def run(argv):
        calls.append(argv)
        return 0, b'* Tue Feb 06 2024 Someone - 1.1.12-1\n- Fix CVE-2024-21626\n', b'', None
    runtime = _runtime(manager='rpm')
    changelog.add_advisory_ids(None, run, [runtime], rpm='/usr/bin/rpm', rpm_root=['--root', '/mnt'])
    assert calls == [['/usr/bin/rpm', '--root', '/mnt', '-q', '--changelog', 'runc']]
    assert runtime['package']['advisory_ids'] == ['CVE-2024-21626']

    def failing(argv):
        return 1, b'', b'package runc is not installed', None
    runtime = _runtime(manager='rpm')
    changelog.add_advisory_ids(None, failing, [runtime], rpm='/usr/bin/rpm')
    assert runtime['package']['advisory_ids'] is None and 'not installed' in runtime['package']['changelog_error']
