# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Kubernetes way, with podman instead of a cluster (docs/kubernetes.md).

A "node" container holds Debian's runc package (installed with dpkg from the machine's apt cache),
the real runc 1.2.0-rc.2 named by Docker's daemon.json, a bypass4netns-style profile as Docker's
default and a running container's bundle under /run. A "pod" container gets the node's root file
system read-only at /host, with the least privilege the audit needs (every capability dropped but
DAC_READ_SEARCH, read-only root, no network). One `ansible-playbook runcguard.seccomp.audit` run
audits both through the containers.podman.podman connection: the node directly (its binaries run),
the pod with audit_root=/host (nothing under /host run). Both must report the same runtimes,
profiles and findings, with the node's paths.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os
import shutil
import subprocess
import sys

import pytest

import realruntimes

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which('podman'),
                                reason='podman containers as root')

IMAGE = os.environ.get('RCG_IMAGE', 'localhost/runcguard-debian:12')
PREFIX = 'rcg-mountroot-%d-' % os.getpid()
PROFILE = {
    'defaultAction': 'SCMP_ACT_ALLOW',
    'listenerPath': '/run/bypass4netns.sock',
    'syscalls': [{'names': ['bind', 'connect', 'fcntl', 'close'], 'action': 'SCMP_ACT_NOTIFY'}],
}
BUNDLE = {'ociVersion': '1.2.0', 'linux': {'seccomp': {
    'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/run/agent.sock',
    'syscalls': [{'names': ['fcntl'], 'action': 'SCMP_ACT_NOTIFY'}]}}}


def podman(*args, **kwargs):
    proc = subprocess.run(['podman'] + list(args), capture_output=True, text=True, timeout=300, check=False)
    if kwargs.get('check', True):
        assert proc.returncode == 0, (args, proc.stdout[-2000:], proc.stderr[-2000:])
    return proc.stdout.strip()


def ansible_playbook():
    found = shutil.which('ansible-playbook') or os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    if not os.path.exists(found):
        pytest.skip('ansible-playbook is not installed next to this Python')
    return found


def debian_runc_deb():
    found = sorted(glob.glob('/var/cache/apt/archives/runc_*.deb'))
    if not found:
        pytest.skip('no runc .deb in the apt cache to install into the node')
    return found[-1]


@pytest.fixture(scope='module')
def audit(tmp_path_factory):
    rc2 = realruntimes.runc_build('runc-v1.2.0-rc.2')
    deb = debian_runc_deb()
    tmp = tmp_path_factory.mktemp('audit-root')
    node, pod = PREFIX + 'node', PREFIX + 'pod'
    names = []
    try:
        podman('run', '-d', '--name', node, '--network', 'none', IMAGE, 'sleep', 'infinity')
        names.append(node)
        podman('cp', deb, node + ':/tmp/runc.deb')
        podman('exec', node, 'dpkg', '-i', '/tmp/runc.deb')
        podman('cp', rc2, node + ':/usr/local/sbin/runc-rc2')
        files = {
            '/etc/docker/daemon.json': {'seccomp-profile': '/etc/docker/bypass4netns.json',
                                        'runtimes': {'rc2': {'path': '/usr/local/sbin/runc-rc2'}}},
            '/etc/docker/bypass4netns.json': PROFILE,
            '/run/containerd/io.containerd.runtime.v2.task/k8s.io/c1/config.json': BUNDLE,
        }
        for path, doc in files.items():
            local = tmp / os.path.basename(path)
            local.write_text(json.dumps(doc))
            podman('exec', node, 'mkdir', '-p', os.path.dirname(path))
            podman('cp', str(local), node + ':' + path)
        # the kubelet's view: an absolute symlink on the node, resolved inside /host by the pod's audit
        podman('exec', node, 'ln', '-s', '/usr/local/sbin/runc-rc2', '/usr/local/bin/runc')
        mount = podman('mount', node)
        pod_args = ['run', '-d', '--name', pod, '--network', 'none', '--read-only', '--tmpfs', '/tmp',
                    '--cap-drop', 'all', '--cap-add', 'DAC_READ_SEARCH', '--security-opt', 'no-new-privileges',
                    '-v', '%s:/host:ro' % mount, IMAGE, 'sleep', 'infinity']
        podman(*pod_args)
        names.append(pod)
        inventory = tmp / 'inventory.yml'
        inventory.write_text(json.dumps({'all': {
            'vars': {'ansible_connection': 'containers.podman.podman', 'ansible_python_interpreter': '/usr/bin/python3'},
            'hosts': {'node': {'ansible_host': node},
                      'node-from-pod': {'ansible_host': pod, 'audit_root': '/host'}}}}))
        extra = {'audit_report_dir': str(tmp / 'reports'), 'audit_report_formats': ['json']}
        env = dict(os.environ, ANSIBLE_NOCOLOR='1', LANG='C.UTF-8')
        proc = subprocess.run([ansible_playbook(), '-i', str(inventory), 'runcguard.seccomp.audit',
                               '-e', json.dumps(extra)], capture_output=True, text=True, timeout=600, check=False,
                              env=env)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        report = json.loads((tmp / 'reports' / 'runcguard-audit.json').read_text())
        yield dict((h['host'], h) for h in report['hosts'])
    finally:
        if node in names:
            podman('unmount', node, check=False)
        for name in reversed(names):
            podman('rm', '-f', '-t', '0', name, check=False)


def runtimes(host):
    return sorted((r['name'], r['path'], r['version'], r['dev'], tuple(r['used_by']), r['error'])
                  for r in host['runtimes'])


def findings(host):
    return sorted((f['id'], f['severity'], f['profile'], (f['runtime'] or {}).get('path'),
                   (f['runtime'] or {}).get('version'), str(f['affected'])) for f in host['findings'])


def test_pod_audit_of_the_mounted_node_equals_the_direct_audit(audit):
    hosts = audit
    node, pod = hosts['node'], hosts['node-from-pod']
    assert node['status'] == pod['status'] == 'ok', (node['message'], pod['message'])
    assert runtimes(pod) == runtimes(node)
    assert (pod['profiles'], pod['notify_profiles']) == (node['profiles'], node['notify_profiles'])
    assert findings(pod) == findings(node)
    assert pod['counts'] == node['counts']


def test_the_critical_finding_names_the_nodes_paths(audit):
    hosts = audit
    pod = hosts['node-from-pod']
    critical = [(f['id'], f['profile'], f['runtime']['path'], f['runtime']['version'])
                for f in pod['findings'] if f['severity'] == 'critical']
    # /usr/local/bin/runc is the node's absolute symlink to /usr/local/sbin/runc-rc2, resolved inside /host
    assert critical == [('notify-fcntl-hang', '/etc/docker/bypass4netns.json', '/usr/local/bin/runc', '1.2.0-rc.2'),
                        ('notify-fcntl-hang', '/run/containerd/io.containerd.runtime.v2.task/k8s.io/c1/config.json',
                         '/usr/local/bin/runc', '1.2.0-rc.2')]
    versions = dict((r['path'], r['version']) for r in pod['runtimes'])
    # Debian's runc (/usr/sbin/runc, /usr/bin/runc a symlink): decided by the node's dpkg database
    assert versions == {'/usr/bin/runc': '1.1.5', '/usr/local/bin/runc': '1.2.0-rc.2'}, pod['runtimes']
    assert all(not r['path'].startswith('/host') for r in pod['runtimes'])
    assert all(not (f['profile'] or '').startswith('/host') for f in pod['findings'])
