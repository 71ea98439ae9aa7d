# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""_pins: containerd.io table, package-owner parsing, apt/dnf version lists, dnf versionlock
files and the choice of package version. Inputs are real-format command outputs."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

import pytest

from ansible_collections.runcguard.seccomp.plugins.module_utils import _pins
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import packages as _packages


# --- table -------------------------------------------------------------------------------------
def test_table_rows_cite_a_source_and_a_runc_version():
    for version, row in _pins.CONTAINERD_IO_RUNC.items():
        assert re.match(r'^\d+\.\d+\.\d+$', version)
        assert re.match(r'^\d+\.\d+\.\d+$', row['runc']), version
        assert row['source'].startswith('https://github.com/'), version


def test_table_knows_the_1_1_13_releases_and_the_wrong_first_line_builds():
    bundling_1113 = sorted(v for v, r in _pins.CONTAINERD_IO_RUNC.items() if r['runc'] == '1.1.13')
    assert bundling_1113 == ['1.7.18', '1.7.19', '1.7.20', '1.7.21']
    wrong = sorted(v for v, r in _pins.CONTAINERD_IO_RUNC.items() if r.get('first_line_wrong'))
    assert wrong == ['1.7.18', '1.7.19']


@pytest.mark.parametrize('name, version, runc', [
    ('containerd.io', '1.7.21-1', '1.1.13'),
    ('containerd.io', '1.7.20-3.1.el9', '1.1.13'),
    ('containerd.io', '1.7.24-1', '1.2.2'),
    ('containerd.io', '0:1.7.25-3.1.fc41', '1.2.4'),
    ('containerd.io', '1.7.23-1', None),  # not in the table: unknown, never guessed
    ('runc', '1.1.13-1', '1.1.13'),
    ('runc', '1.2.0~rc2-1', '1.2.0-rc.2'),
    ('runc', '1.1.5+ds1-1+deb12u1', '1.1.5'),
    ('runc', '4:1.1.12-1.module+el8.10.0+21974+e0ae4e6b', '1.1.12'),
    ('runc', None, None),
])
def test_runc_version_of_package(name, version, runc):
    assert _pins.runc_version_of_package(name, version) == runc


def test_split_package_version():
    assert _pins.split_package_version('1:1.7.21-3.1.el9') == ('1', '1.7.21', '3.1.el9')
    assert _pins.split_package_version('1.1.5+ds1-1+deb12u1') == ('', '1.1.5+ds1', '1+deb12u1')
    assert _pins.split_package_version('1.2.0') == ('', '1.2.0', '')


@pytest.mark.parametrize('version, fixed', [
    ('1.2.0', True), ('1.2.9', True), ('1.3.6', True), ('1.2.0-rc.3', False),
    ('1.2.0-rc.2', False), ('1.1.13', False), (None, False),
])
def test_is_fixed(version, fixed):
    assert _pins.is_fixed(version) is fixed


def test_rpm_owner():
    assert _packages.parse_rpm_owner('containerd.io\t0:1.7.21-3.1.el9\n') == [('containerd.io', '0:1.7.21-3.1.el9')]
    assert _packages.parse_rpm_owner('file /usr/local/bin/runc is not owned by any package\n') == []


def test_path_candidates_merged_usr():
    assert _packages.path_candidates('/usr/bin/runc', '/usr/sbin/runc') == [
        '/usr/bin/runc', '/bin/runc', '/usr/sbin/runc', '/sbin/runc']
    assert _packages.path_candidates('/bin/runc') == ['/bin/runc', '/usr/bin/runc']


# --- available versions ------------------------------------------------------------------------
MADISON = '''\
containerd.io |   1.7.24-1 | file:/srv/runc-pin-repo ./ Packages
containerd.io |   1.7.21-1 | file:/srv/runc-pin-repo ./ Packages
containerd.io |   1.7.21-1 | http://example.invalid/debian bookworm/stable amd64 Packages
'''


def test_apt_madison():
    assert _packages.parse_apt_madison(MADISON, 'containerd.io') == ['1.7.24-1', '1.7.21-1']
    assert _packages.parse_apt_madison(MADISON, 'runc') == []
    assert _packages.parse_apt_madison('N: Unable to locate package x\n', 'x') == []


def test_dnf5_repoquery():
    out = ('containerd.io|0|1.7.21|3.1.el9\n'
           'containerd.io|0|1.7.24|3.1.el9\n'
           'containerd.io|0|1.7.24|3.1.el9\n')
    assert _packages.parse_dnf_repoquery(out, 'containerd.io') == ['0:1.7.21-3.1.el9', '0:1.7.24-3.1.el9']


def test_dnf4_repoquery_literal_newline_and_no_epoch():
    # dnf4 may keep the "\n" of the query format literally and prints "(none)"/"" for no epoch
    out = 'runc|(none)|1.1.12|1.el9\\n\nrunc|2|1.1.13|1.el9\\n\n'
    assert _packages.parse_dnf_repoquery(out, 'runc') == ['0:1.1.12-1.el9', '2:1.1.13-1.el9']


@pytest.mark.parametrize('out, path, major', [
    ('4.14.0\n  Installed: dnf-0:4.14.0-9.el9.noarch', '/usr/bin/dnf-3', 4),
    ('dnf5 version 5.2.8.1\ndnf5 plugin API version 2.0', '/usr/bin/dnf5', 5),
    ('5.2.8.1\n', '/usr/bin/dnf', 5),
    ('', '/usr/bin/dnf5', 5),
    ('', None, 4),
])
def test_dnf_major(out, path, major):
    assert _packages.dnf_major(out, path) == major


# --- dnf versionlock ---------------------------------------------------------------------------
def test_dnf_lock_spec():
    assert _pins.dnf_lock_spec('containerd.io', '0:1.7.21-3.1.el9') == 'containerd.io-0:1.7.21-3.1.el9.*'
    assert _pins.dnf_lock_spec('runc', '1.1.13-1.el9') == 'runc-0:1.1.13-1.el9.*'


def test_dnf4_locklist():
    text = ('# Added lock on Mon Jan  1 2024\n'
            'containerd.io-0:1.7.21-3.1.el9.*\n'
            'docker-ce-3:27.1.1-1.el9.*\n'
            '!runc-0:1.2.0-0.rc2.el9.*\n'
            'python3-dnf-plugin-versionlock-4.3.0-13.el9.noarch\n')
    locks = _packages.parse_dnf4_locklist(text)
    assert locks['containerd.io'] == ['0:1.7.21-3.1.el9']
    assert locks['docker-ce'] == ['3:27.1.1-1.el9']
    assert 'runc' not in locks  # an exclude is not a lock
    assert locks['python3-dnf-plugin-versionlock'] == ['0:4.3.0-13.el9']


def test_dnf5_locklist():
    text = '''version = "1.0"

[[packages]]
name = "containerd.io"
[[packages.conditions]]
key = "evr"
comparator = "="
value = "1.7.21-3.1.el9"

[[packages]]
name = "runc"
comment = "excluded"
[[packages.conditions]]
key = "evr"
comparator = ">="
value = "1.2.0"
'''
    assert _packages.parse_dnf5_locklist(text) == {'containerd.io': ['0:1.7.21-3.1.el9']}


def test_dnf5_locklist_invalid():
    with pytest.raises(ValueError, match='versionlock.toml'):
        _packages.parse_dnf5_locklist('[[packages]\nname=')


# --- choosing a version ------------------------------------------------------------------------
def test_pin_prefers_a_release_with_a_correct_first_line():
    offered = ['1.7.18-1', '1.7.19-1', '1.7.20-1', '1.7.21-1', '1.7.24-1']
    pick = _pins.select_package_version('containerd.io', offered, 'pin', '1.1.13')
    assert pick['package_version'] == '1.7.21-1'
    assert pick['runc'] == '1.1.13'


def test_pin_falls_back_to_a_wrong_first_line_build():
    pick = _pins.select_package_version('containerd.io', ['1.7.19-1', '1.7.24-1'], 'pin', '1.1.13')
    assert pick['package_version'] == '1.7.19-1'


def test_pin_distro_runc_downgrade_target():
    pick = _pins.select_package_version('runc', ['1.2.0~rc2-1', '1.1.13-1'], 'pin', '1.1.13')
    assert pick == {'package_version': '1.1.13-1', 'runc': '1.1.13',
                    'reason': 'newest offered version shipping runc 1.1.13'}


def test_pin_nothing_fits_names_what_was_offered():
    pick = _pins.select_package_version('containerd.io', ['1.7.23-1', '1.7.24-1'], 'pin', '1.1.13')
    assert pick['package_version'] is None
    assert '1.7.24-1' in pick['reason'] and 'unknown for 1.7.23-1' in pick['reason']


def test_upgrade_takes_the_newest_fixed_and_never_an_rc():
    offered = ['1.2.0~rc2-1', '1.2.0~rc3-1', '1.1.13-1', '1.2.0-1', '1.2.9-1', '1.10.0-1']
    pick = _pins.select_package_version('runc', offered, 'upgrade', None)
    assert pick['package_version'] == '1.10.0-1'  # numeric, not string, order
    assert _pins.select_package_version('runc', ['1.2.0~rc3-1', '1.1.13-1'], 'upgrade', None)[
        'package_version'] is None


def test_upgrade_exact_version():
    pick = _pins.select_package_version('containerd.io', ['1.7.24-1', '1.7.25-1'], 'upgrade', '1.2.2')
    assert pick['package_version'] == '1.7.24-1'


def test_rpm_versions_with_epoch():
    pick = _pins.select_package_version('containerd.io', ['0:1.7.21-3.1.el9', '0:1.7.24-3.1.el9'], 'pin', '1.1.13')
    assert pick['package_version'] == '0:1.7.21-3.1.el9'


def test_explicit_package_version():
    pick = _pins.select_package_version('containerd.io', ['0:1.7.21-3.1.el9'], 'pin', '1.1.13',
                                        explicit='1.7.21-3.1.el9')
    assert pick['package_version'] == '0:1.7.21-3.1.el9'
    missing = _pins.select_package_version('containerd.io', ['1.7.24-1'], 'pin', '1.1.13', explicit='1.7.21-1')
    assert missing['package_version'] is None and 'not offered' in missing['reason']


# --- plan --------------------------------------------------------------------------------------
def _pkgs(name, available):
    return {name: {'available': available}}


def test_plan_package_when_the_owner_offers_it():
    plan = _pins.plan([{'path': '/usr/bin/runc', 'package': 'containerd.io'}],
                      _pkgs('containerd.io', ['1.7.24-1', '1.7.21-1']), 'auto', 'pin', '1.1.13')
    assert plan['method'] == 'package'
    assert (plan['package'], plan['package_version'], plan['runc']) == ('containerd.io', '1.7.21-1', '1.1.13')


def test_plan_auto_falls_back_to_binary_and_says_why():
    plan = _pins.plan([{'path': '/usr/sbin/runc', 'package': 'runc'}],
                      _pkgs('runc', ['1.2.0~rc2-1']), 'auto', 'pin', '1.1.13')
    assert plan['method'] == 'binary' and plan['runc'] == '1.1.13'
    assert 'no runc version offered ships runc 1.1.13' in plan['reason']


def test_plan_package_only_fails_with_the_reason():
    plan = _pins.plan([{'path': '/usr/sbin/runc', 'package': 'runc'}],
                      _pkgs('runc', ['1.2.0~rc2-1']), 'package', 'pin', '1.1.13')
    assert plan['method'] is None
    assert plan['problems'] == ['no runc version offered ships runc 1.1.13 (offered: 1.2.0~rc2-1)']


def test_plan_unowned_binary_goes_binary():
    plan = _pins.plan([{'path': '/usr/local/bin/runc', 'package': None}], {}, 'auto', 'pin', '1.1.13')
    assert plan['method'] == 'binary'
    assert '/usr/local/bin/runc is not owned by a package' in plan['problems']


def test_plan_several_owning_packages_is_not_a_package_pin():
    owners = [{'path': '/usr/sbin/runc', 'package': 'runc'},
              {'path': '/usr/bin/runc', 'package': 'containerd.io'}]
    plan = _pins.plan(owners, {}, 'package', 'pin', '1.1.13')
    assert plan['method'] is None and 'several packages' in plan['problems'][0]


def test_plan_nothing_uses_runc():
    plan = _pins.plan([], {}, 'auto', 'pin', '1.1.13')
    assert plan['method'] is None
    assert plan['problems'] == ['no engine uses a runc binary on this host']


def test_install_spec_per_manager():
    assert _pins.install_spec('dpkg', 'containerd.io', '1.7.21-1') == 'containerd.io=1.7.21-1'
    assert _pins.install_spec('rpm', 'runc', '0:1.1.13-1.el9') == 'runc-1.1.13-1.el9'
    assert _pins.install_spec('rpm', 'runc', '2:1.1.13-1.el9') == 'runc-2:1.1.13-1.el9'


def test_restore_specs_from_the_recorded_state():
    before = {'manager': 'dpkg', 'packages': {
        'runc': {'installed': '1.2.0~rc2-1', 'selection': 'install', 'held': False},
        'docker-ce': {'installed': None, 'selection': None},
        'containerd.io': {'installed': '1.7.24-1', 'selection': 'hold'}}}
    assert _pins.restore_specs(before) == {
        'manager': 'dpkg', 'install': ['containerd.io=1.7.24-1', 'runc=1.2.0~rc2-1'],
        'selections': [{'name': 'containerd.io', 'selection': 'hold'}, {'name': 'runc', 'selection': 'install'}],
        'names': ['containerd.io', 'runc'], 'remove': []}


def test_wrong_runtimes_by_version_and_tag():
    good = {'path': '/usr/local/sbin/runc-1.1.13', 'version': '1.1.13', 'commit': 'v1.1.13-0-g58aa9203c',
            'used_by': ['docker'], 'error': None}
    lying = {'path': '/usr/bin/runc', 'version': '1.1.13', 'commit': 'v1.2.0-rc.2-0-gf2d2ee5e4',
             'used_by': ['containerd'], 'error': None}
    untagged = {'path': '/usr/sbin/runc', 'version': '1.1.13', 'commit': '58aa920', 'used_by': ['cri-o']}
    old = {'path': '/usr/sbin/runc', 'version': None, 'commit': None, 'used_by': ['podman'], 'error': 'timed out'}
    assert _pins.wrong_runtimes([good, untagged], '1.1.13') == []
    assert _pins.wrong_runtimes([lying, old], '1.1.13') == [
        'containerd use /usr/bin/runc which reports runc 1.1.13 (commit v1.2.0-rc.2-0-gf2d2ee5e4)',
        'podman use /usr/sbin/runc which reports runc unknown (commit ?): timed out']
