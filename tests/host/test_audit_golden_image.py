# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Golden images audited on the controller (docs/golden-images.md):
`ansible-playbook runcguard.seccomp.audit -e audit_root=<rootfs>` over the implicit localhost.

The Debian test image's root file system (a podman container of it, mounted with `podman mount`)
gets the real runc 1.2.0-rc.2 and a bypass4netns-style profile as Docker's default: the critical
finding, with the image's paths. A second copy gets runc 1.3.6 instead: no critical finding. The
pristine image (`podman image mount`, read-only) has no runtime and no finding. Trap binaries under
the roots (a crun and a vendor runc named by containerd's config) leave a mark on the controller if
anything runs them: they must never be run.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys

import pytest

import realruntimes

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which('podman'),
                                reason='podman mount needs root')

IMAGE = os.environ.get('RCG_IMAGE', 'localhost/runcguard-debian:12')
PREFIX = 'rcg-mountroot-%d-' % os.getpid()
PROFILE = {
    'defaultAction': 'SCMP_ACT_ERRNO',
    'listenerPath': '/run/user/1000/bypass4netns.sock',
    'syscalls': [
        {'names': ['read', 'write', 'openat', 'close', 'exit_group', 'futex', 'mmap'], 'action': 'SCMP_ACT_ALLOW'},
        {'names': ['bind', 'connect', 'fcntl', 'setsockopt'], 'action': 'SCMP_ACT_NOTIFY'},
    ],
}


def podman(*args, **kwargs):
    proc = subprocess.run(['podman'] + list(args), capture_output=True, text=True, timeout=300, check=False)
    if kwargs.get('check', True):
        assert proc.returncode == 0, (args, proc.stdout[-2000:], proc.stderr[-2000:])
    return proc.stdout.strip()


def put(root, path, data, mode=0o644):
    full = os.path.join(root, path.lstrip('/'))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, 'wb') as handle:
        handle.write(data if isinstance(data, bytes) else data.encode())
    os.chmod(full, mode)
    return full


def audit(root, tmp):
    """The host summary of one `ansible-playbook runcguard.seccomp.audit -e audit_root=ROOT` run."""
    playbook = shutil.which('ansible-playbook') or os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    reports = str(tmp / 'reports')
    extra = {'audit_root': root, 'audit_report_dir': reports, 'audit_report_formats': ['json']}
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='0', LANG='C.UTF-8',
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    proc = subprocess.run([playbook, 'runcguard.seccomp.audit', '-e', json.dumps(extra)], capture_output=True,
                          text=True, timeout=600, check=False, env=env)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    with open(os.path.join(reports, 'runcguard-audit.json')) as handle:
        report = json.load(handle)
    assert len(report['hosts']) == 1
    return report['hosts'][0]


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    rc2 = realruntimes.runc_build('runc-v1.2.0-rc.2')
    fixed = realruntimes.runc_build('runc-v1.3.6')
    tmp = tmp_path_factory.mktemp('golden')
    marker = str(tmp / 'TRAP-RAN')
    trap = '#!/bin/sh\ntouch %s\necho "runc version 1.1.13"\n' % marker
    containers, image_mounted = [], False
    try:
        roots = {}
        for name, runc in (('affected', rc2), ('clean', fixed)):
            container = podman('create', '--name', PREFIX + name, IMAGE, 'true')
            containers.append(container)
            root = podman('mount', container)
            with open(runc, 'rb') as handle:
                put(root, '/usr/sbin/runc', handle.read(), 0o755)
            os.symlink('/usr/sbin/runc', os.path.join(root, 'usr/bin/runc'))  # absolute, as packages do
            put(root, '/etc/docker/daemon.json', json.dumps({'seccomp-profile': '/etc/docker/bypass4netns.json'}))
            put(root, '/etc/docker/bypass4netns.json', json.dumps(PROFILE))
            put(root, '/usr/bin/dockerd', trap, 0o755)
            put(root, '/usr/local/bin/crun', trap, 0o755)
            put(root, '/opt/vendor/runc', trap, 0o755)
            put(root, '/etc/containerd/config.toml', 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.'
                                                     'runtimes.vendor.options]\n  BinaryName = "/opt/vendor/runc"\n')
            roots[name] = root
        roots['pristine'] = podman('image', 'mount', IMAGE)
        image_mounted = True
        summaries = dict((name, audit(root, tmp / name)) for name, root in roots.items())
        yield summaries, marker, roots
    finally:
        if image_mounted:
            podman('image', 'unmount', IMAGE, check=False)
        for container in containers:
            podman('unmount', container, check=False)
            podman('rm', '-f', container, check=False)


def critical(summary):
    return [(f['id'], f['profile'], f['runtime']['path'], f['runtime']['version'])
            for f in summary['findings'] if f['severity'] == 'critical']


def test_affected_image_is_critical_with_the_images_paths(images):
    summaries, _marker, roots = images
    affected = summaries['affected']
    assert affected['status'] == 'ok'
    assert critical(affected) == [('notify-fcntl-hang', '/etc/docker/bypass4netns.json', '/usr/bin/runc',
                                   '1.2.0-rc.2')]
    text = json.dumps(affected)
    assert roots['affected'] not in text  # paths as the image's own hosts will see them


def test_clean_image_has_no_critical_finding(images):
    summaries, _marker, _roots = images
    clean = summaries['clean']
    assert clean['status'] == 'ok' and critical(clean) == []
    versions = dict((r['path'], r['version']) for r in clean['runtimes'])
    assert versions['/usr/bin/runc'] == '1.3.6'
    pristine = summaries['pristine']
    assert pristine['status'] == 'ok' and pristine['runtimes'] == [] and pristine['findings'] == []


def test_trap_binaries_under_the_root_are_never_run(images):
    summaries, marker, _roots = images
    assert not os.path.exists(marker)
    errors = dict((e['path'], e['error']) for e in summaries['affected']['errors'])
    for path in ('/usr/local/bin/crun', '/opt/vendor/runc'):
        assert errors[path].startswith('version not readable without running the binary'), errors


def test_probe_is_refused_with_audit_root(tmp_path):
    """The probe starts containers with the runtimes it found: never together with audit_root."""
    playbook = shutil.which('ansible-playbook') or os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    extra = {'audit_root': str(tmp_path), 'audit_probe': True, 'audit_report_dir': str(tmp_path / 'reports'),
             'audit_report_formats': ['json']}
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='0', LANG='C.UTF-8',
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    proc = subprocess.run([playbook, 'runcguard.seccomp.audit', '-e', json.dumps(extra)], capture_output=True,
                          text=True, timeout=600, check=False, env=env)
    assert proc.returncode != 0
    assert 'probe (audit_probe) starts containers with the runtimes found; it cannot be combined with root' \
        in proc.stdout, proc.stdout[-3000:]
