# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""runc_pin's binary method with the real runc 1.1.13 on this machine (root).

The playbook runs in a private mount namespace that turns this machine into a Docker host whose
runc is the real 1.2.0-rc.2: /etc is an overlay (writes land in a tmpfs), /etc/docker/daemon.json
exists, /usr/sbin/runc is rc.2 (bind mount) and /usr/local/sbin is an empty temp dir. Nothing of
that is visible outside, and it is gone when the playbook exits. In it: the audit reports the
hang, runc_pin installs runc 1.1.13 from a local file with its sha256 and points Docker at it, and
the re-audit reads 1.1.13 from the real binary that daemon.json now names.
Skips when `shared/runc-builds` is not beside the repository.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest

import realruntimes

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='mount namespaces and runc: root only')

# $1 scratch dir (tmpfs), $2 runc rc.2, $3 empty dir for /usr/local/sbin; the rest is the command.
NAMESPACE = r'''set -eu
mount -t tmpfs -o mode=0700 rcg-etc "$1"
mkdir "$1/up" "$1/work"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1/up,workdir=$1/work" /etc
mkdir -p /etc/docker
printf '{\n    "log-driver": "json-file",\n    "live-restore": true\n}\n' > /etc/docker/daemon.json
mount --bind "$2" /usr/sbin/runc
mount --bind "$3" /usr/local/sbin
shift 3
exec "$@"
'''

PLAYBOOK = '''
- name: Audit, pin with the binary method, re-audit
  hosts: localhost
  gather_facts: false
  vars:
    rcg_audit: &audit
      audit_report: false
      audit_profile_paths: [{path: "{{ profile }}", reader: docker}]
  tasks:
    - name: Audit before
      ansible.builtin.include_role:
        name: runcguard.seccomp.audit
      vars: *audit

    - name: Keep the summary
      ansible.builtin.set_fact:
        rcg_before: "{{ audit_host_summary }}"
        rcg_before_runtimes: "{{ ansible_facts.runcguard.runtimes }}"

    - name: Pin runc 1.1.13 from a local file
      ansible.builtin.include_role:
        name: runcguard.seccomp.runc_pin
      vars:
        runc_pin_method: binary
        runc_pin_binary_src: "{{ src }}"
        runc_pin_binary_sha256: "{{ sha256 }}"
        runc_pin_state_dir: "{{ state }}"
        # 1.1.13 carries five runc advisories: the pin goes ahead only because each is accepted
        runc_pin_accept_advisories: [CVE-2024-45310, CVE-2025-31133, CVE-2025-52565, CVE-2025-52881, CVE-2026-41579]

    - name: Read daemon.json as runc_pin left it
      ansible.builtin.slurp:
        src: /etc/docker/daemon.json
      register: rcg_daemon

    - name: Re-audit
      ansible.builtin.include_role:
        name: runcguard.seccomp.audit
      vars: *audit

    - name: Hand everything to the test
      ansible.builtin.copy:
        content: >-
          {{ {'before': rcg_before, 'after': audit_host_summary, 'pin': runc_pin_result,
              'before_runtimes': rcg_before_runtimes, 'after_runtimes': ansible_facts.runcguard.runtimes,
              'daemon': rcg_daemon.content | b64decode | from_json} | to_json }}
        dest: "{{ out }}"
        mode: "0600"
'''


def sha256(path):
    with open(path, 'rb') as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def test_binary_method_installs_the_real_1_1_13_and_docker_uses_it(tmp_path):
    for tool in ('unshare', 'mount', 'ansible-playbook'):
        if not shutil.which(tool) and not os.path.exists(os.path.join(os.path.dirname(sys.executable), tool)):
            pytest.skip('%s not found' % tool)
    rc2 = realruntimes.runc_build('runc-v1.2.0-rc.2')
    src = realruntimes.runc_build('runc-v1.1.13')
    for name in ('scratch', 'sbin', 'state'):
        (tmp_path / name).mkdir()
    profile = tmp_path / 'agent.json'
    profile.write_text(json.dumps({'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/run/agent.sock',
                                   'syscalls': [{'names': ['connect', 'fcntl'], 'action': 'SCMP_ACT_NOTIFY'}]}))
    book = tmp_path / 'play.yml'
    book.write_text(PLAYBOOK)
    out = tmp_path / 'out.json'
    playbook = shutil.which('ansible-playbook') or os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    extra = {'profile': str(profile), 'src': src, 'sha256': sha256(src), 'state': str(tmp_path / 'state'),
             'out': str(out)}
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='0', LANG='C.UTF-8',
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    argv = ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', NAMESPACE, 'sh',
            str(tmp_path / 'scratch'), rc2, str(tmp_path / 'sbin'),
            playbook, '-i', 'localhost,', '-c', 'local', str(book), '-e', json.dumps(extra)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False, env=env)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    result = json.loads(out.read_text())

    def hang(summary):
        return [f for f in summary['findings'] if f['id'] == 'notify-fcntl-hang' and f['affected'] is True]

    before = hang(result['before'])
    assert [(r['version'], r['used_by']) for r in result['before_runtimes'] if r['name'] == 'runc' and r.get('used_by')] == [('1.2.0-rc.2', ['docker'])]
    # /usr/bin/runc -> ../sbin/runc in Debian's layout: either name is the bind-mounted rc.2
    assert [(os.path.realpath(f['runtime']['path']), f['runtime']['version']) for f in before] == [
        ('/usr/sbin/runc', '1.2.0-rc.2')]

    pin = result['pin']
    assert (pin['method'], pin['runc'], pin['binary'], pin['engines']) == (
        'binary', '1.1.13', '/usr/local/sbin/runc-1.1.13', ['docker'])
    daemon = result['daemon']
    assert daemon['log-driver'] == 'json-file' and daemon['live-restore'] is True  # kept
    assert daemon['default-runtime'] == 'runcguard-runc'
    assert daemon['runtimes']['runcguard-runc']['path'] == '/usr/local/sbin/runc-1.1.13'
    # the binary landed (in the namespace's /usr/local/sbin) byte for byte
    assert sha256(str(tmp_path / 'sbin' / 'runc-1.1.13')) == sha256(src)

    after = result['after']
    docker_runc = [r for r in result['after_runtimes'] if 'docker' in (r.get('used_by') or [])]
    assert [(r['path'], r['version']) for r in docker_runc] == [('/usr/local/sbin/runc-1.1.13', '1.1.13')]
    # The profile Docker reads no longer meets a hanging runc (the distro rc.2 stays installed, unused)
    assert hang(after) == []
    # read from the real binary: its real commit line, not a stub's
    assert docker_runc[0].get('commit') == 'v1.1.13-0-g58aa9203c'

    # Outside the namespace nothing changed.
    assert not os.path.exists('/etc/docker/daemon.json') or 'runcguard-runc' not in open('/etc/docker/daemon.json').read()
    assert not os.path.exists('/usr/local/sbin/runc-1.1.13')
    with open('/proc/self/mountinfo') as handle:
        assert str(tmp_path) not in handle.read()
