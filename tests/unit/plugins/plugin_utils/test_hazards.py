# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._catalogue import STRATEGIES
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._hazards import (
    BUILD_HAZARDS,
    CATALOGUE,
    SEVERITIES,
    evaluate,
    runtime_verdicts,
    severity_rank,
)
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._build_verdicts import fcntl_hang_affected, fcntl_hang_verdict
from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.probe import PROBE_SYSCALLS
from ansible_collections.runcguard.seccomp.plugins.module_utils._profile import describe_profile
from ansible_collections.runcguard.seccomp.plugins.module_utils._version import parse_runtime_version

FIXTURES = os.path.join(os.path.dirname(__file__), '..', 'module_utils', 'fixtures')  # shared with the host-code tests


def version_output(name):
    with open(os.path.join(FIXTURES, 'versions', name + '.txt')) as handle:
        return handle.read()


def runtime(fixture, path='/usr/bin/runc', used_by=('docker', 'containerd')):
    entry = parse_runtime_version(version_output(fixture))
    entry.update({'path': path, 'realpath': path, 'used_by': list(used_by), 'package': None})
    return entry


def profile(name_or_doc, path='/etc/docker/seccomp.json', origin=(('docker', 'daemon.json seccomp-profile'),),
            listener_exists=True, **extra):
    if isinstance(name_or_doc, dict):
        data = json.dumps(name_or_doc).encode()
    else:
        with open(os.path.join(FIXTURES, 'profiles', name_or_doc), 'rb') as handle:
            data = handle.read()
    entry = describe_profile(data, arch='x86_64')
    entry.update({'path': path, 'origin': [{'engine': e, 'setting': s} for e, s in origin],
                  'listener_exists': listener_exists, 'error': None})
    entry.update(extra)
    return entry


def facts(runtimes, profiles, **extra):
    base = {'schema': 1, 'arch': 'x86_64', 'kernel': '6.1.0-18-amd64', 'libseccomp': '2.5.4',
            'runtimes': runtimes, 'profiles': profiles}
    base.update(extra)
    return base


def ids(findings, severity=None):
    return sorted(f['id'] for f in findings if severity is None or f['severity'] == severity)


@pytest.mark.parametrize('fixture', ['runc-1.2.0-rc.1', 'runc-1.2.0-rc.2'])
def test_done_when_bypass4netns_on_hanging_runc_is_one_critical(fixture):
    found = evaluate(facts([runtime(fixture)], [profile('bypass4netns-oci.json')]))
    critical = [f for f in found if f['severity'] == 'critical']
    assert len(critical) == 1
    hang = critical[0]
    assert hang['id'] == 'notify-fcntl-hang'
    assert hang['affected'] is True
    assert hang['syscalls'] == ['fcntl']
    assert hang['runtime'] == {'path': '/usr/bin/runc', 'name': 'runc', 'version': fixture[5:]}
    assert hang['reference'] == 'https://github.com/opencontainers/runc/issues/4328'
    assert hang['remediation'] == ['upgrade_runc', 'pin_runc', 'rewrite_profile']
    assert hang['key'] == 'notify-fcntl-hang|/etc/docker/seccomp.json|/usr/bin/runc'
    assert found[0] is hang  # most severe first


@pytest.mark.parametrize('fixture', ['runc-1.1.13', 'runc-1.2.0', 'runc-1.2.0-rc.3', 'runc-1.3.6',
                                     'debian12-runc-1.1.5', 'containerd.io-1.7.19-runc', 'rke2-runc-1.2.6'])
def test_fixed_or_older_runc_gives_no_hang(fixture):
    found = evaluate(facts([runtime(fixture)], [profile('bypass4netns-oci.json')]))
    assert 'notify-fcntl-hang' not in ids(found)
    assert ids(found, 'critical') == []
    # the runtime-independent note is still there: close/exit_group are runtime-sensitive
    assert 'notify-runtime-sensitive' in ids(found)


def test_dev_build_of_the_window_is_unknown_never_safe():
    dev = parse_runtime_version('runc version 1.2.0-rc.2+dev\ncommit: 1234abc\n')
    dev.update({'path': '/usr/local/sbin/runc', 'used_by': ['docker']})
    found = evaluate(facts([dev], [profile('bypass4netns-oci.json')]))
    hang = [f for f in found if f['id'] == 'notify-fcntl-hang']
    assert len(hang) == 1
    assert hang[0]['affected'] == 'unknown' and hang[0]['severity'] == 'medium'
    assert 'development build' in hang[0]['message']


def dev_runtime(version, commit=None):
    text = 'runc version %s\n' % version + ('commit: %s\n' % commit if commit is not None else '')
    entry = parse_runtime_version(text + 'spec: 1.2.0\ngo: go1.21.13\nlibseccomp: 2.5.4\n')
    entry.update({'path': '/usr/local/sbin/runc', 'realpath': '/usr/local/sbin/runc', 'used_by': ['docker']})
    return entry


def fcntl_hang(entry):
    found = [f for f in evaluate(facts([entry], [profile('bypass4netns-oci.json')])) if f['id'] == 'notify-fcntl-hang']
    assert len(found) <= 1
    return found[0] if found else None


# Drawn from ../shared/runc-dev-commits.tsv (runc's whole history); test_runc_commits checks every row.
@pytest.mark.parametrize('version, commit, expected, says', [
    # the regressing commit itself, as its own build prints it
    ('1.1.0+dev', 'v1.1.0-707-g20b95f23c', True, 'commit 20b95f23c, which has runc commit 20b95f23 (the fcntl hang) and not its revert e7848482'),
    # the revert, and a commit with the same describe count on another branch that still hangs
    ('1.2.0-rc.2+dev', 'v1.2.0-rc.2-17-ge7848482e', False, None),
    ('1.2.0-rc.2+dev', 'v1.2.0-rc.2-17-g309a6d91a', True, 'commit 309a6d91a, which has runc commit 20b95f23'),
    # every 1.2.0-rc.1+dev commit carries the regression
    ('1.2.0-rc.1+dev', 'v1.2.0-rc.1-42-g00238f5d2', True, 'commit 00238f5d2, which has runc commit 20b95f23'),
    ('1.2.0-rc.1+dev', None, True, 'no readable commit, and every such runc commit has runc commit 20b95f23'),
    ('1.2.0-rc.1+dev', '1.2.0-rc.1+dev-1', True, 'no readable commit'),
    # a bare hash, any 7+ hex prefix
    ('1.1.0+dev', '20b95f2', True, 'commit 20b95f2, which has runc commit 20b95f23'),
    ('1.1.0+dev', '009e627cb02b', False, None),
    # -dirty: affected stays affected, a safe commit with local changes is not known safe
    ('1.1.0+dev', 'v1.1.0-707-g20b95f23c-dirty', True, '20b95f23c (built -dirty, with local changes), which has'),
    ('1.2.0-rc.2+dev', 'v1.2.0-rc.2-17-ge7848482e-dirty', 'unknown',
     'e7848482e, which lacks runc commit 20b95f23 (the fcntl hang) or has its revert e7848482, but it was built -dirty'),
    # a hash that is not in runc's history (crun 1.5's commit): undecided
    ('1.2.0-rc.2+dev', '54ebb8ca8bf7e6ddae2eb919f5b82d1d96863dea', 'unknown',
     "commit 54ebb8ca8bf7e6ddae2eb919f5b82d1d96863dea, which is not in runc's history"),
    ('1.2.0-rc.1+dev', 'v1.2.0-rc.1-42-g54ebb8ca8', 'unknown', "not in runc's history"),
    # other dev builds of the affected line without a commit stay unknown
    ('1.1.0+dev', None, 'unknown', 'development build with no readable commit'),
    ('1.2.0-rc.2+dev', 'v1.2.0-rc.2-3-g1f2', 'unknown', 'development build with no readable commit'),
    # outside that line: decided by the number
    ('1.2.0-rc.3+dev', None, False, None),
])
def test_dev_build_verdict_follows_its_commit(version, commit, expected, says):
    entry = dev_runtime(version, commit)
    assert entry['dev'] is True
    assert fcntl_hang_affected(entry) == expected
    finding = fcntl_hang(entry)
    if expected is False:
        assert finding is None
        return
    assert finding['affected'] == expected
    assert finding['severity'] == ('critical' if expected is True else 'medium')
    assert says in finding['message']
    assert '/usr/local/sbin/runc' in finding['message']


def test_not_affected_dev_build_says_why():
    affected, why = fcntl_hang_verdict(dev_runtime('1.2.0-rc.2+dev', 'v1.2.0-rc.2-17-ge7848482e'))
    assert affected is False
    assert why == ('is a development build of commit e7848482e, which lacks runc commit 20b95f23 (the fcntl hang) '
                   'or has its revert e7848482')


def test_dev_version_from_runc_features_is_still_a_dev_build():
    # runc features gives the raw "1.1.0+dev" when --version gave no version
    entry = {'name': 'runc', 'version': '1.1.0+dev', 'dev': False, 'commit': 'v1.1.0-707-g20b95f23c', 'error': None}
    assert fcntl_hang_affected(entry) is True
    entry['commit'] = None
    assert fcntl_hang_affected(entry) == 'unknown'


def test_ambiguous_prefix_decides_nothing(monkeypatch):
    from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _build_verdicts, _runc_commits
    monkeypatch.setattr(_runc_commits, 'AFFECTED', '1234567aaaaa')
    monkeypatch.setattr(_runc_commits, 'NOT_AFFECTED', '1234567bbbbb')
    _build_verdicts._commit_table.cache_clear()
    try:
        affected, why = fcntl_hang_verdict(dev_runtime('1.2.0-rc.2+dev', '1234567'))
        assert affected == 'unknown' and 'too short to name one runc commit (2 match)' in why
        assert fcntl_hang_affected(dev_runtime('1.2.0-rc.2+dev', '1234567b')) is False
    finally:
        monkeypatch.undo()
        _build_verdicts._commit_table.cache_clear()


@pytest.mark.parametrize('entry, expected', [
    ({'version': '1.2.0-rc.1'}, True),
    ({'version': '1.2.0-rc.2'}, True),
    ({'version': '1.2.0-rc.3'}, False),
    ({'version': '1.1.0', 'dev': True}, 'unknown'),
    ({'version': '1.1.13', 'dev': True}, False),
    ({'version': '1.2.0-rc.3', 'dev': True}, False),
    ({'version': None, 'error': 'timed out after 10s'}, 'unknown'),
    ({'version': '1.2.0-rc.2', 'error': 'x'}, 'unknown'),
])
def test_fcntl_hang_table(entry, expected):
    assert fcntl_hang_affected(entry) == expected


def test_hung_runtime_binary_is_unknown_by_file_name():
    hung = {'name': None, 'version': None, 'path': '/usr/local/bin/runc', 'error': 'timed out after 10s',
            'used_by': []}
    found = evaluate(facts([hung], [profile('bypass4netns-oci.json')]))
    hang = [f for f in found if f['id'] == 'notify-fcntl-hang']
    assert hang and hang[0]['affected'] == 'unknown'
    assert 'no readable version' in hang[0]['message']


def test_write_rejected_and_runc_too_old():
    doc = {'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/run/a.sock',
           'syscalls': [{'names': ['write'], 'action': 'SCMP_ACT_NOTIFY'}]}
    for fixture in ('runc-1.1.13', 'runc-1.2.0-rc.2', 'runc-1.3.6', 'debian12-runc-1.1.5'):
        found = [f for f in evaluate(facts([runtime(fixture)], [profile(doc)])) if f['id'] == 'notify-write-rejected']
        assert [(f['severity'], f['affected']) for f in found] == [('high', True)], fixture
        assert 'refuses SCMP_ACT_NOTIFY on write, as every runc does' in found[0]['message']
        assert '1.1.0' not in found[0]['message']
    hung = {'name': None, 'version': None, 'path': '/usr/local/bin/runc', 'error': 'timed out after 10s', 'used_by': []}
    found = [f for f in evaluate(facts([hung], [profile(doc)])) if f['id'] == 'notify-write-rejected']
    assert [(f['severity'], f['affected']) for f in found] == [('high', True)]  # any runc: no version needed
    old = parse_runtime_version('runc version 1.0.3\ncommit: v1.0.3-0-gf46b6ba2\n')
    old.update({'path': '/usr/bin/runc', 'used_by': ['docker']})
    found = evaluate(facts([old], [profile(doc)]))
    assert ids(found, 'high') == ['notify-unsupported', 'runc-advisory']  # 1.0.3: every advisory of its time


def test_default_action_notify():
    found = evaluate(facts([runtime('runc-1.2.0')], [profile('notify-default.json')]))
    assert 'notify-default-action' in ids(found, 'high')


def test_crun_sendmsg():
    doc = {'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/run/a.sock',
           'syscalls': [{'names': ['sendmsg'], 'action': 'SCMP_ACT_NOTIFY'}]}
    old = runtime('crun-1.5', path='/usr/bin/crun', used_by=['podman'])
    new = runtime('crun-1.8.1', path='/usr/local/bin/crun', used_by=['podman'])
    found = evaluate(facts([old, new], [profile(doc, origin=[('podman', 'containers.conf seccomp_profile')])]))
    hang = [f for f in found if f['id'] == 'crun-notify-sendmsg-hang']
    assert [f['runtime']['version'] for f in hang] == ['1.5.0']
    assert hang[0]['severity'] == 'critical'
    # runc-only hazards never fire for crun
    assert 'notify-fcntl-hang' not in ids(found)


def test_listener_checks():
    doc = {'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['connect'], 'action': 'SCMP_ACT_NOTIFY'}]}
    found = evaluate(facts([runtime('runc-1.3.6')], [profile(doc)]))
    assert ids(found) == ['notify-no-listener-path']
    doc['listenerPath'] = '/run/none.sock'
    found = evaluate(facts([runtime('runc-1.3.6')], [profile(doc, listener_exists=False)]))
    assert ids(found) == ['notify-listener-absent']
    assert found[0]['severity'] == 'medium'
    assert evaluate(facts([runtime('runc-1.3.6')], [profile(doc, listener_exists=None)])) == []


def test_old_kernel_and_libseccomp():
    doc = {'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/a',
           'syscalls': [{'names': ['connect'], 'action': 'SCMP_ACT_NOTIFY'}]}
    rt = runtime('runc-1.2.0')
    rt['libseccomp'] = '2.4.4'
    found = evaluate(facts([rt], [profile(doc)], kernel='5.4.0-150-generic'))
    unsupported = [f for f in found if f['id'] == 'notify-unsupported']
    assert len(unsupported) == 2
    assert any('libseccomp 2.4.4' in f['message'] for f in unsupported)
    assert any('kernel 5.4.0-150-generic' in f['message'] for f in unsupported)


def test_profile_matched_to_engine_runtimes():
    podman_rt = runtime('runc-1.2.0-rc.2', path='/usr/local/bin/runc-rc2', used_by=['podman'])
    docker_rt = runtime('runc-1.1.13', path='/usr/bin/runc', used_by=['docker'])
    found = evaluate(facts([podman_rt, docker_rt], [profile('bypass4netns-oci.json')]))
    assert ids(found, 'critical') == []
    # kubelet profiles run under the CRI runtime (containerd here)
    kube_rt = runtime('runc-1.2.0-rc.2', path='/usr/local/sbin/runc', used_by=['containerd'])
    prof = profile('bypass4netns-oci.json', path='/var/lib/kubelet/seccomp/b4n.json',
                   origin=[('kubelet', 'Localhost profile')])
    found = evaluate(facts([docker_rt, kube_rt], [prof]))
    assert [f['runtime']['path'] for f in found if f['severity'] == 'critical'] == ['/usr/local/sbin/runc']


def test_unknown_origin_checks_every_runtime():
    rts = [runtime('runc-1.2.0-rc.1', path='/a/runc', used_by=[]),
           runtime('runc-1.2.0-rc.2', path='/b/runc', used_by=['docker'])]
    prof = profile('bypass4netns-oci.json', path='/srv/p.json', origin=[('user', 'profile_paths')])
    assert len([f for f in evaluate(facts(rts, [prof])) if f['severity'] == 'critical']) == 2


# fcntl under NOTIFY only through Docker's singular `name` key: dockerd, podman and CRI-O apply it.
DOCKER_ONLY_FCNTL = {'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/run/agent.sock',
                     'syscalls': [{'name': 'fcntl', 'action': 'SCMP_ACT_NOTIFY'},
                                  {'names': ['connect'], 'action': 'SCMP_ACT_NOTIFY'}]}
# fcntl under NOTIFY for arm64 only: Docker drops the rule on x86_64, an OCI reader ignores `includes`.
ARM64_ONLY_FCNTL = {'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/run/agent.sock',
                    'syscalls': [{'names': ['fcntl'], 'action': 'SCMP_ACT_NOTIFY', 'includes': {'arches': ['arm64']}},
                                 {'name': 'connect', 'action': 'SCMP_ACT_NOTIFY'}]}


def user_profile(reader, doc):
    origin = {'engine': 'user', 'setting': 'profile_paths'}
    if reader:
        origin['reader'] = reader
    reader = reader if reader in ('docker', 'podman', 'cri-o', 'containerd', 'oci') else None  # as discovery does
    entry = describe_profile(json.dumps(doc).encode(), arch='x86_64', reader=reader)
    entry.update({'path': '/srv/b4n.json', 'origin': [origin], 'listener_exists': True, 'error': None})
    return entry


@pytest.mark.parametrize('doc, reader, hangs', [
    # nobody says who reads it: the union of every reader's set
    (DOCKER_ONLY_FCNTL, None, True), (ARM64_ONLY_FCNTL, None, True),
    (DOCKER_ONLY_FCNTL, 'docker', True), (DOCKER_ONLY_FCNTL, 'podman', True), (DOCKER_ONLY_FCNTL, 'cri-o', True),
    (DOCKER_ONLY_FCNTL, 'kubelet', True),  # kubelet reads it as its CRI runtime does: either
    (DOCKER_ONLY_FCNTL, 'containerd', False), (DOCKER_ONLY_FCNTL, 'oci', False),
    (ARM64_ONLY_FCNTL, 'docker', False), (ARM64_ONLY_FCNTL, 'containerd', True), (ARM64_ONLY_FCNTL, 'oci', True),
])
def test_docker_keys_in_profile_paths_count_for_the_readers_that_apply_them(doc, reader, hangs):
    found = evaluate(facts([runtime('runc-1.2.0-rc.2', used_by=['docker', 'containerd'])], [user_profile(reader, doc)]))
    assert ('notify-fcntl-hang' in ids(found, 'critical')) is hangs


def test_profile_paths_reader_picks_its_engines_runtimes():
    rts = [runtime('runc-1.2.0-rc.1', path='/docker/runc', used_by=['docker']),
           runtime('runc-1.2.0-rc.2', path='/containerd/runc', used_by=['containerd'])]
    hung = [f['runtime']['path'] for f in evaluate(facts(rts, [user_profile('docker', DOCKER_ONLY_FCNTL)]))
            if f['severity'] == 'critical']
    assert hung == ['/docker/runc']
    oci = profile('bypass4netns-oci.json', path='/srv/b4n.json', origin=[('user', 'profile_paths')])
    oci['origin'][0]['reader'] = 'oci'
    assert sorted(f['runtime']['path'] for f in evaluate(facts(rts, [oci])) if f['severity'] == 'critical') == \
        ['/containerd/runc', '/docker/runc']  # oci names no engine: every runtime


def test_no_runtime_still_reports_profile_hazards():
    found = evaluate(facts([], [profile('notify-default.json')]))
    assert 'notify-default-action' in ids(found)


def test_running_bundle_mentions_exec():
    prof = profile('bundle-config.json', path='/run/containerd/io.containerd.runtime.v2.task/k8s.io/abc/config.json',
                   origin=[('bundle', 'running container')], bundle={'id': 'abc', 'engine': 'containerd'})
    found = evaluate(facts([runtime('runc-1.2.0-rc.2', used_by=['containerd'])], [prof]))
    hang = [f for f in found if f['id'] == 'notify-fcntl-hang'][0]
    assert 'runc exec' in hang['message']


def test_docker_profile_read_by_docker_vs_containerd():
    # fcntl NOTIFY only for arm64 in Docker format: Docker on amd64 ignores it, containerd does not
    rc2 = runtime('runc-1.2.0-rc.2', used_by=['docker', 'containerd'])
    by_docker = profile('docker-arch-notify.json', origin=[('docker', 'daemon.json seccomp-profile')])
    by_docker.update(describe_profile(open(os.path.join(FIXTURES, 'profiles', 'docker-arch-notify.json'),
                                           'rb').read(), arch='x86_64'))
    assert 'notify-fcntl-hang' not in ids(evaluate(facts([rc2], [by_docker])))
    by_ctrd = dict(by_docker, origin=[{'engine': 'containerd', 'setting': 'x'}])
    assert 'notify-fcntl-hang' in ids(evaluate(facts([rc2], [by_ctrd])))


def test_fcntl64_counts_on_32bit_only():
    doc = {'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/a',
           'syscalls': [{'names': ['fcntl64'], 'action': 'SCMP_ACT_NOTIFY'}]}
    rc2 = runtime('runc-1.2.0-rc.2')
    assert 'notify-fcntl-hang' not in ids(evaluate(facts([rc2], [profile(doc)], arch='x86_64')))
    assert 'notify-fcntl-hang' in ids(evaluate(facts([rc2], [profile(doc)], arch='armv7l')))


def test_error_profiles_and_garbage_entries_are_skipped():
    bad = {'path': '/etc/x.json', 'error': 'malformed JSON: ...'}
    # only the runtime's own finding (its advisories) is left: no profile finding from garbage
    assert ids(evaluate(facts(['not a dict', runtime('runc-1.2.0-rc.2')], [bad, 'junk']))) == ['runc-advisory']


def test_catalogue_is_complete():
    for hazard_id, entry in CATALOGUE.items():
        assert entry['severity'] in SEVERITIES, hazard_id
        assert entry['reference'].startswith('https://'), hazard_id
        assert entry['title'] and isinstance(entry['remediation'], list)
    assert severity_rank('critical') > severity_rank('high') > severity_rank('info') > severity_rank('nope')
    assert 'fcntl' in PROBE_SYSCALLS and 'connect' in PROBE_SYSCALLS


# --- runtime_verdicts (the fleet report's runtime_inventory) agrees with evaluate ---------------

VERSIONS = sorted(name[:-4] for name in os.listdir(os.path.join(FIXTURES, 'versions')))
# Every build hazard's trigger under NOTIFY, with a listener that exists.
TRIGGERS = {'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/run/agent.sock',
            'syscalls': [{'names': ['fcntl', 'write', 'sendmsg'], 'action': 'SCMP_ACT_NOTIFY'}]}


def _finding_verdicts(entry, libseccomp='2.5.4'):
    """What evaluate says about the build when a profile triggers every build hazard."""
    found = evaluate(facts([entry], [profile(TRIGGERS)], libseccomp=libseccomp))
    out = dict((hazard_id, False) for hazard_id in BUILD_HAZARDS)
    for finding in found:
        if finding['id'] in BUILD_HAZARDS and out[finding['id']] is not True:
            out[finding['id']] = finding['affected']
    return out


@pytest.mark.parametrize('fixture', VERSIONS)
def test_verdicts_match_the_findings(fixture):
    path = '/usr/bin/crun' if fixture.startswith('crun') else '/usr/bin/runc'
    entry = runtime(fixture, path=path)
    verdicts = runtime_verdicts(entry)
    assert set(verdicts) == set(CATALOGUE)
    expected = _finding_verdicts(entry)
    if entry.get('name') == 'runc' and expected['notify-unsupported'] is True:
        expected['notify-write-rejected'] = True  # evaluate reports unsupported instead; both fail
    assert dict((h, verdicts[h]) for h in BUILD_HAZARDS) == expected
    assert all(verdicts[h] is None for h in set(CATALOGUE) - set(BUILD_HAZARDS))


def test_known_builds():
    rc2 = runtime_verdicts(runtime('runc-1.2.0-rc.2'))
    assert rc2['notify-fcntl-hang'] is True and rc2['crun-notify-sendmsg-hang'] is False
    assert runtime_verdicts(runtime('runc-1.2.0'))['notify-fcntl-hang'] is False
    crun15 = runtime_verdicts(runtime('crun-1.5', path='/usr/bin/crun'))
    assert (crun15['crun-notify-sendmsg-hang'], crun15['notify-fcntl-hang']) == (True, False)
    assert runtime_verdicts(runtime('crun-1.8.1', path='/usr/bin/crun'))['crun-notify-sendmsg-hang'] is False


def test_unreadable_or_unknown_builds_are_unknown():
    silent = runtime_verdicts({'name': None, 'path': '/usr/bin/runc', 'version': None, 'error': 'timed out'})
    assert silent['notify-fcntl-hang'] == 'unknown' and silent['notify-unsupported'] == 'unknown'
    other = runtime_verdicts({'name': None, 'path': '/opt/bin/youki', 'version': '0.3'})
    assert all(other[h] == 'unknown' for h in BUILD_HAZARDS)


def test_old_libseccomp_makes_notify_unsupported():
    entry = dict(runtime('runc-1.1.13'), libseccomp='2.4.4')
    assert runtime_verdicts(entry)['notify-unsupported'] is True
    assert _finding_verdicts(entry)['notify-unsupported'] is True


def test_every_hazard_is_described_with_known_strategies():
    for hazard_id, entry in CATALOGUE.items():
        assert len(entry['description']) > 40, hazard_id
        assert set(entry['remediation']) <= set(STRATEGIES), hazard_id


# --- runc-advisory: one finding per runc binary, on any host ------------------------------------

FIVE = ['GO-2024-3110', 'GO-2025-4096', 'GO-2025-4097', 'GO-2025-4098', 'GO-2026-5761']


def advisory(found):
    return [f for f in found if f['id'] == 'runc-advisory']


@pytest.mark.parametrize('fixture, expected', [
    ('runc-1.1.13', FIVE),
    ('runc-1.2.0', FIVE[1:]),
    ('runc-1.2.0-rc.2', FIVE),
    ('runc-1.3.6', []),
    ('containerd.io-1.7.19-runc', FIVE),  # first line says 1.7.19; the commit line's 1.1.13 decides
    ('debian12-runc-1.1.5', ['GO-2024-2491'] + FIVE),  # no changelog read: the version alone
])
def test_runc_advisory_per_binary_without_any_profile(fixture, expected):
    found = advisory(evaluate(facts([runtime(fixture)], [])))
    if not expected:
        assert found == []
        return
    (finding,) = found
    assert (finding['severity'], finding['affected'], finding['profile']) == ('high', True, None)
    assert finding['key'] == 'runc-advisory||/usr/bin/runc' and finding['remediation'] == ['upgrade_runc']
    assert [a['go'] for a in finding['advisories']['open']] == expected
    assert finding['advisories']['safe_release'] == '1.3.6'
    for go_id in expected:
        assert go_id in finding['message']
    assert 'lowest safe release overall: 1.3.6' in finding['message']


def test_backports_named_by_the_package_changelog_are_not_open():
    entry = runtime('debian12-runc-1.1.5')
    entry['package'] = {'manager': 'dpkg', 'name': 'runc', 'version': '1.1.5+ds1-1+deb12u1',
                        'advisory_ids': ['CVE-2023-25809', 'CVE-2024-21626'], 'changelog_error': None}
    (finding,) = advisory(evaluate(facts([entry], [])))
    state = finding['advisories']
    assert [a['go'] for a in state['open']] == FIVE
    assert [(a['go'], a['status']) for a in state['backported']] == [('GO-2024-2491', 'backported')]
    assert 'fixed by backport: GO-2024-2491 (CVE-2024-21626' in finding['message']
    assert 'changelog of dpkg package runc 1.1.5+ds1-1+deb12u1 names CVE-2024-21626' in finding['message']
    entry['package'] = dict(entry['package'], advisory_ids=None, changelog_error='/usr/share/doc/runc/x cannot be opened')
    (finding,) = advisory(evaluate(facts([entry], [])))
    assert len(finding['advisories']['open']) == 6 and 'cannot be opened' in finding['message']
    assert 'backported cannot be told' in finding['message']
    # Docker's containerd.io ships an upstream build: its changelog is not runc's
    entry['package'] = {'manager': 'dpkg', 'name': 'containerd.io', 'version': '1.7.21-1',
                        'advisory_ids': ['CVE-2024-21626'], 'changelog_error': None}
    (finding,) = advisory(evaluate(facts([entry], [])))
    assert 'GO-2024-2491' in [a['go'] for a in finding['advisories']['open']]


def test_runc_advisory_for_dev_builds_and_unreadable_versions():
    dev = parse_runtime_version('runc version 1.2.0-rc.2+dev\ncommit: v1.2.0-rc.2-15-gabcdef012\n')
    dev.update({'path': '/usr/bin/runc', 'used_by': ['docker']})
    (finding,) = advisory(evaluate(facts([dev], [])))
    assert finding['severity'] == 'high' and [a['go'] for a in finding['advisories']['open']] == FIVE[1:]
    assert [a['go'] for a in finding['advisories']['unknown']] == ['GO-2024-3110']  # fixed in rc.3: may be in it
    nameless = {'name': 'runc', 'path': '/usr/bin/runc', 'version': None, 'error': None, 'used_by': []}
    (finding,) = advisory(evaluate(facts([nameless], [])))
    assert (finding['severity'], finding['affected']) == ('medium', 'unknown')
    assert 'cannot be told' in finding['message']
    hung = dict(nameless, error='timed out after 10s')
    assert advisory(evaluate(facts([hung], []))) == []  # its error entry says it already
    crun = {'name': 'crun', 'path': '/usr/bin/crun', 'version': '1.5', 'error': None, 'used_by': []}
    assert advisory(evaluate(facts([crun], []))) == []
    assert runtime_verdicts(crun)['runc-advisory'] is False
