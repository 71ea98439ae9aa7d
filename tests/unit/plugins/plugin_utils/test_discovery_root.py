# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""gather(root=...) and gather(execute=False): a node's tree read as the node sees it, with nothing
under it run. The trees hold trap binaries that leave a mark when run, real runc builds from
../shared and the same bad inputs as the executing scan. Controller tests: findings are evaluated
and facts shape-checked too."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import shutil
import sys

import pytest

from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import discovery as _discovery
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._facts import check_facts
from ansible_collections.runcguard.seccomp.plugins.module_utils._files import FileProblem
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._hazards import evaluate

HERE = os.path.dirname(__file__)
MODULE_UTILS_TESTS = os.path.join(HERE, '..', 'module_utils')
sys.path.insert(0, HERE)
sys.path.insert(0, MODULE_UTILS_TESTS)
import test_discovery  # noqa: E402  (the executing scan's test tree and helpers)
from test_scan_buildinfo import builds  # noqa: E402  (../shared builds, unpacked and verified once)

by_path, link, put = test_discovery.by_path, test_discovery.link, test_discovery.put
host = test_discovery.host  # the fixture
PROFILES = os.path.join(MODULE_UTILS_TESTS, 'fixtures', 'profiles')
OPTS = {'profile_paths': [], 'runtime_paths': [], 'discover': True, 'command_timeout': 5, 'max_profile_size': 4096}


def trap(root, path, marker):
    """A 'runtime' that leaves ``marker`` when anything runs it."""
    return put(root, path, '#!/bin/sh\ntouch %s\necho "runc version 1.1.13"\n' % marker, 0o755)


def scan(root, **options):
    opts = dict(OPTS)
    opts.update(options)
    return _discovery.gather(root=str(root), **opts)


def profiles_view(facts):
    return sorted((p['path'], p['realpath'], p['error'], tuple(p['notify_syscalls']),
                   tuple(sorted((o['engine'], o['setting']) for o in p['origin']))) for p in facts['profiles'])


def test_root_audit_runs_nothing_and_reads_what_the_executing_scan_reads(host, tmp_path):
    marker = str(tmp_path / 'TRAP-RAN')
    for path in ('/usr/local/sbin/runc', '/usr/lib/cri-o-runc/sbin/runc', '/bin/crun'):
        trap(host, path, marker)
    executed = _discovery.gather(_root=str(host), **OPTS)  # runs the stubs (the old test-tree mode)
    os.path.exists(marker) and os.unlink(marker)
    static = scan(host)
    assert not os.path.exists(marker)
    check_facts(static)
    assert static['scan']['executed'] is False and static['scan']['root'] == os.path.realpath(str(host))
    assert profiles_view(static) == profiles_view(executed)
    assert static['engines'] == executed['engines']
    assert [r['path'] for r in static['runtimes']] == [r['path'] for r in executed['runtimes']]
    runtimes = by_path(static['runtimes'])
    trapped = runtimes['/usr/local/sbin/runc']
    assert trapped['version'] is None
    assert trapped['error'] == ('version not readable without running the binary: build information: not an ELF '
                                'file; not owned by a package (dpkg / rpm database)')
    assert {'path': '/usr/local/sbin/runc', 'error': trapped['error']} in static['scan']['errors']


def test_static_scan_of_a_tree_equals_the_root_audit(host):
    by_root = scan(host)
    by_execute = _discovery.gather(_root=str(host), execute=False, **OPTS)
    for facts in (by_root, by_execute):
        facts['scan'].pop('duration_ms')
        facts['scan'].pop('root')
    assert by_root == by_execute


def test_done_when_rc2_and_bypass4netns_in_docker_config_is_critical_with_node_paths(tmp_path):
    root = tmp_path / 'node'
    shutil.copy(builds('runc-builds')['runc-v1.2.0-rc.2'], str(put(root, '/usr/sbin/runc', b'')))
    link(root, '/usr/bin/runc', '/usr/sbin/runc')  # absolute: the node's path, resolved inside the root
    with open(os.path.join(PROFILES, 'bypass4netns-oci.json'), 'rb') as handle:
        put(root, '/etc/docker/bypass4netns.json', handle.read())
    put(root, '/etc/docker/daemon.json', {'seccomp-profile': '/etc/docker/bypass4netns.json'})
    facts = scan(root, max_profile_size=1 << 20)
    runc = facts['runtimes'][0]
    assert (runc['path'], runc['realpath'], runc['version'], runc['version_source']) == \
        ('/usr/bin/runc', '/usr/sbin/runc', '1.2.0-rc.2', 'buildinfo')
    assert runc['used_by'] == ['docker']
    critical = [f for f in evaluate(facts) if f['severity'] == 'critical']
    assert [(f['id'], f['profile'], f['runtime']['path']) for f in critical] == \
        [('notify-fcntl-hang', '/etc/docker/bypass4netns.json', '/usr/bin/runc')]
    assert str(tmp_path) not in repr(facts['runtimes']) + repr(facts['profiles'])  # node paths only


def test_debian_runc_is_decided_by_the_dpkg_database(tmp_path):
    if not os.path.isfile('/usr/sbin/runc') or not os.path.isfile('/var/lib/dpkg/info/runc.list'):
        pytest.skip('Debian\'s runc package is not installed here')
    root = tmp_path / 'debian'
    shutil.copy('/usr/sbin/runc', str(put(root, '/usr/sbin/runc', b'')))
    with open('/var/lib/dpkg/info/runc.list', 'rb') as handle:
        put(root, '/var/lib/dpkg/info/runc.list', handle.read())
    put(root, '/var/lib/dpkg/status', 'Package: runc\nStatus: install ok installed\nArchitecture: amd64\n'
                                      'Version: 1.1.5+ds1-1+deb12u1\n')
    runc = scan(root)['runtimes'][0]
    assert (runc['version'], runc['version_source'], runc['dev'], runc['error']) == ('1.1.5', 'package', False, None)
    assert runc['package'] == {'manager': 'dpkg', 'name': 'runc', 'version': '1.1.5+ds1-1+deb12u1',
                               # no changelog in this image: said so (backports cannot be told)
                               'advisory_ids': None,
                               'changelog_error': '/usr/share/doc/runc/changelog.Debian.gz cannot be opened '
                                                  '(No such file or directory)'}
    assert runc['go'] == '1.19.8'  # what the build information did say


def test_links_out_of_the_root_are_error_entries_and_the_rest_is_audited(tmp_path):
    outside = tmp_path / 'outside'
    put(outside, '/seccomp.json', {'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/run/x.sock',
                                   'syscalls': [{'names': ['fcntl'], 'action': 'SCMP_ACT_NOTIFY'}]})
    root = tmp_path / 'node'
    put(root, '/etc/docker/daemon.json', {'seccomp-profile': '/etc/docker/seccomp.json',
                                          'runtimes': {'esc': {'path': '/opt/esc/runc'}}})
    link(root, '/etc/docker/seccomp.json', '../../../outside/seccomp.json')
    link(root, '/opt/esc', '../../../outside')
    put(root, '/etc/containers/seccomp.json', {'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/run/y.sock',
                                               'syscalls': [{'names': ['connect'], 'action': 'SCMP_ACT_NOTIFY'}]})
    link(root, '/usr/share/containers/seccomp.json', str(outside / 'seccomp.json'))  # absolute: re-rooted
    facts = scan(root)
    profiles = by_path(facts['profiles'])
    assert 'outside the audited root' in profiles['/etc/docker/seccomp.json']['error']
    assert profiles['/etc/docker/seccomp.json']['sha256'] is None
    assert profiles['/etc/containers/seccomp.json']['notify_syscalls'] == ['connect']  # the rest is audited
    assert '/usr/share/containers/seccomp.json' not in profiles  # the node's link target is not there
    runtimes = by_path(facts['runtimes'])
    assert 'outside the audited root' in runtimes['/opt/esc/runc']['error']
    assert 'fcntl' not in repr(facts)


def test_bad_roots():
    with pytest.raises(FileProblem) as caught:
        _discovery.gather(root='/etc/hostname' if os.path.isfile('/etc/hostname') else '/etc/passwd', **OPTS)
    assert 'is not a directory' in caught.value.message
    with pytest.raises(ValueError) as caught:
        _discovery.gather(root='/tmp', execute=True, **OPTS)
    assert 'execute must be false' in str(caught.value)


def test_huge_files_under_the_root(tmp_path):
    root = tmp_path / 'node'
    daemon = put(root, '/etc/docker/daemon.json', b'{}')
    with open(daemon, 'r+b') as handle:
        handle.truncate(3 << 30)  # sparse
    binary = put(root, '/usr/sbin/runc', b'\x7fELF\x02\x01\x01' + b'\x00' * 57, 0o755)
    with open(binary, 'r+b') as handle:
        handle.truncate(4 << 30)
    facts = scan(root)
    errors = dict((e['path'], e['error']) for e in facts['scan']['errors'])
    assert errors['/etc/docker/daemon.json'].startswith('too large')
    assert 'version not readable without running the binary' in errors['/usr/sbin/runc']


def test_unreadable_directories_under_the_root(open_tmp, as_nobody):
    root = os.path.join(open_tmp, 'node')
    kube = '/var/lib/kubelet/seccomp'
    notify = {'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/run/a.sock',
              'syscalls': [{'names': ['connect'], 'action': 'SCMP_ACT_NOTIFY'}]}
    put(root, kube + '/locked/hidden.json', notify)
    put(root, kube + '/open/visible.json', notify)
    put(root, '/etc/docker/daemon.json', {'seccomp-profile': '/etc/docker/seccomp.json'})
    for path in ('/', '/var', '/var/lib', '/var/lib/kubelet', kube, kube + '/open', '/etc', '/etc/docker'):
        os.chmod(os.path.join(root, path.lstrip('/')), 0o755)
    os.chmod(os.path.join(root, kube.lstrip('/'), 'locked'), 0o000)
    os.chmod(os.path.join(root, 'etc/docker'), 0o311)  # enter, not list; the config itself readable
    os.chmod(os.path.join(root, 'etc/docker/daemon.json'), 0o600)  # ... but not by this user
    with as_nobody():
        facts = scan(root)
    errors = dict((e['path'], e['error']) for e in facts['scan']['errors'])
    assert errors[kube + '/locked'] == 'permission denied'
    assert errors['/etc/docker/daemon.json'] == 'permission denied'
    assert [p['path'] for p in facts['profiles'] if p['notify_syscalls']] == [kube + '/open/visible.json']


@pytest.mark.skipif(os.geteuid() != 0, reason='chown to a node user needs root')
def test_a_node_users_link_to_a_root_only_profile_is_an_error_entry_revealing_nothing(tmp_path):
    """A node user (owns /var/lib/kubelet/seccomp/operator) links leak.json to a root-only profile
    under the root: never read for them, no realpath, sha256, listener or NOTIFY set of it in the facts."""
    root = tmp_path / 'node'
    secret = {'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/run/rcg-secret.sock',
              'syscalls': [{'names': ['fcntl'], 'action': 'SCMP_ACT_NOTIFY'}]}
    put(root, '/root/s/p.json', secret)
    os.chmod(str(root / 'root/s/p.json'), 0o600)
    os.chmod(str(root / 'root/s'), 0o700)
    os.chmod(str(root / 'root'), 0o700)
    operator = root / 'var/lib/kubelet/seccomp/operator'
    operator.mkdir(parents=True)
    os.chown(str(operator), 65534, 65534)
    link(root, '/var/lib/kubelet/seccomp/operator/leak.json', '/root/s/p.json')
    os.lchown(str(operator / 'leak.json'), 65534, 65534)
    put(root, '/var/lib/kubelet/seccomp/operator/own.json', {'defaultAction': 'SCMP_ACT_ALLOW'})
    os.chown(str(operator / 'own.json'), 65534, 65534)
    facts = scan(root)
    profiles = by_path(facts['profiles'])
    leak = profiles['/var/lib/kubelet/seccomp/operator/leak.json']
    assert 'cannot read' in leak['error'] and leak['sha256'] is None and not leak['notify_syscalls']
    assert profiles['/var/lib/kubelet/seccomp/operator/own.json']['error'] is None  # the user's own file is read
    assert 'p.json' not in repr(facts) and '/root/s' not in repr(facts)
    assert 'fcntl' not in repr(facts) and 'rcg-secret' not in repr(facts)
