# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""runc_pin_state's package queries (module_utils/_scan/packages.py, shared with the runtime_facts scan):
package-owner detection and the dpkg/rpm/dnf queries, driven by recorded
command outputs (the RPM paths cannot run on the Debian test hosts), and the record lookup on
real files."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import packages
from ansible_collections.runcguard.seccomp.plugins.modules import runc_pin_state as mod


class FakeHost(object):
    """Answers run(argv) from a table {tuple(argv): (rc, out, err)}; unknown commands fail like a
    missing package does. Records what was asked."""

    def __init__(self, answers):
        self.answers = answers
        self.asked = []

    def run(self, argv):
        self.asked.append(tuple(argv))
        return self.answers.get(tuple(argv), (1, '', 'not found'))


def test_dpkg_info_held_installed_and_offered():
    host = FakeHost({
        ('dpkg-query', '-W', '-f=${Status}\t${Version}\n', 'containerd.io'): (0, 'hold ok installed\t1.7.21-1\n', ''),
        ('apt-cache', 'madison', 'containerd.io'): (
            0, 'containerd.io |   1.7.24-1 | file:/srv/r ./ Packages\ncontainerd.io |   1.7.21-1 | file:/srv/r ./ Packages\n', ''),
    })
    info = packages.dpkg_info(host.run, 'containerd.io')
    assert info == {'installed': '1.7.21-1', 'selection': 'hold', 'held': True,
                    'available': ['1.7.24-1', '1.7.21-1']}


def test_dpkg_info_removed_package_keeps_no_version():
    host = FakeHost({('dpkg-query', '-W', '-f=${Status}\t${Version}\n', 'runc'): (0, 'deinstall ok config-files\t1.1.5\n', '')})
    info = packages.dpkg_info(host.run, 'runc')
    assert info['installed'] is None and info['selection'] == 'deinstall' and info['available'] == []


RPM_QF = ['rpm', '-qf', '--qf', '%{NAME}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\n']


def test_rpm_owner_and_unowned():
    host = FakeHost({tuple(RPM_QF + ['/usr/bin/runc']): (0, 'containerd.io\t0:1.7.21-3.1.el9\n', '')})
    assert packages.rpm_owner(host.run, '/usr/bin/runc', '/usr/bin/runc') == ('containerd.io', '0:1.7.21-3.1.el9')
    host = FakeHost({tuple(RPM_QF + ['/usr/local/bin/runc']): (1, 'file /usr/local/bin/runc is not owned by any package\n', '')})
    assert packages.rpm_owner(host.run, '/usr/local/bin/runc', '/usr/local/bin/runc') is None


def test_rpm_info_dnf5_with_lock():
    qf = '%{name}|%{epoch}|%{version}|%{release}\\n'
    host = FakeHost({
        ('rpm', '-q', '--qf', '%{EPOCHNUM}:%{VERSION}-%{RELEASE}\n', 'runc'): (0, '2:1.2.0-0.rc2.el9\n', ''),
        ('/usr/bin/dnf5', 'repoquery', '-q', '--qf', qf, 'runc'): (0, 'runc|2|1.1.13|1.el9\nrunc|2|1.2.0|0.rc2.el9\n', ''),
    })
    info = packages.rpm_info(host.run, '/usr/bin/dnf5', {'runc': ['2:1.2.0-0.rc2.el9']}, 'runc')
    assert info == {'installed': '2:1.2.0-0.rc2.el9', 'selection': None, 'held': True,
                    'available': ['2:1.1.13-1.el9', '2:1.2.0-0.rc2.el9']}


def test_rpm_info_not_installed_no_dnf():
    info = packages.rpm_info(FakeHost({}).run, None, {}, 'containerd.io')
    assert info == {'installed': None, 'selection': None, 'held': False, 'available': []}


def test_file_and_dir_records_on_real_files(tmp_path):
    state = tmp_path / 'state'
    existing = tmp_path / 'etc' / 'daemon.json'
    existing.parent.mkdir()
    existing.write_text('{}')
    missing = tmp_path / 'etc' / 'dropin.toml'
    (state / 'orig' / str(existing).lstrip('/')).parent.mkdir(parents=True)
    (state / 'orig' / str(existing).lstrip('/')).write_text('{}')
    (state / 'absent' / str(missing).lstrip('/')).parent.mkdir(parents=True)
    (state / 'absent' / str(missing).lstrip('/')).write_text('')
    other = tmp_path / 'etc' / 'other'
    files = mod.file_states([str(existing), str(missing), str(other)], str(state))
    assert files[str(existing)] == {'exists': True, 'recorded': 'orig'}
    assert files[str(missing)] == {'exists': False, 'recorded': 'absent'}
    assert files[str(other)] == {'exists': False, 'recorded': None}

    created = tmp_path / 'conf.d'
    marker = state / 'dirs' / str(created).lstrip('/') / '.created'
    marker.parent.mkdir(parents=True)
    marker.write_text('')
    dirs = mod.dir_states([str(created), str(tmp_path / 'etc')], str(state))
    assert dirs[str(created)] == {'exists': False, 'recorded': True}
    assert dirs[str(tmp_path / 'etc')] == {'exists': True, 'recorded': False}
    assert os.path.isdir(str(tmp_path / 'etc'))
