# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit over real SSH (sshd instances of our own on 127.0.1.x, tests/host/sshfleet.py): key
authentication, pipelining, ControlPersist. A host whose runtime hangs is ended by audit_timeout, the
same host answers the next task over the same persistent connection, and nothing of ours keeps
running there."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

import sshfleet

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# a runtime that never answers `--version` (a wedged runc); the argument marks it as ours
HANG = '#!/bin/sh\nexec sleep 86399.5\n'


def playbook_bin():
    found = shutil.which('ansible-playbook') or os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    if not os.path.exists(found):
        pytest.skip('ansible-playbook is not installed next to this Python')
    return found


@pytest.fixture(scope='module')
def fleet(tmp_path_factory):
    reason = sshfleet.available()
    if reason:
        pytest.skip(reason)
    work = tmp_path_factory.mktemp('rcg-fleet-ssh')
    hosts = sshfleet.SshFleet(18, work)  # two sshd processes (16 addresses each at most)
    hosts.start()
    try:
        yield hosts, work
    finally:
        hosts.stop()
    assert hosts.listener_pids() == []


def play(fleet, book, *extra, **kwargs):
    hosts, work = fleet
    inventory = hosts.inventory(work / 'hosts.ini', sys.executable, extra_vars=kwargs.get('host_vars'))
    env = hosts.env(dict(os.environ, ANSIBLE_NOCOLOR='1', LANG='C.UTF-8'))
    started = time.monotonic()
    proc = subprocess.run([playbook_bin(), '-i', inventory, book] + list(extra), env=env, capture_output=True,
                          text=True, timeout=900, check=False)
    assert proc.returncode == kwargs.get('rc', 0), proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc, time.monotonic() - started


def test_fleet_has_two_sshd_processes_on_loopback(fleet):
    hosts, _work = fleet
    assert len(hosts.daemons) == 2 and [len(d[1]) for d in hosts.daemons] == [16, 2]
    assert all(address.startswith('127.0.1.') for address in hosts.addresses)
    assert all(port != 22 for port in hosts.port_of.values())


def test_audit_over_ssh(fleet):
    hosts, work = fleet
    reports = work / 'reports'
    proc, _elapsed = play(fleet, os.path.join(ROOT, 'playbooks', 'audit.yml'), '-e', 'audit_report_dir=%s' % reports)
    with open(str(reports / 'runcguard-audit.json')) as handle:
        report = json.load(handle)
    assert [h['host'] for h in report['hosts']] == hosts.hosts
    assert all(h['status'] == 'ok' for h in report['hosts']), [(h['host'], h['message']) for h in report['hosts']]
    # every host is this machine: the same runtimes as the first one, and this machine's runc found
    first = report['hosts'][0]['runtimes']
    assert all(h['runtimes'] == first for h in report['hosts'])
    for binary in ('/usr/sbin/runc', '/usr/bin/runc'):
        if os.access(binary, os.X_OK):
            assert os.path.realpath(binary) in set(os.path.realpath(r['path']) for r in first)
    # over SSH with ControlPersist: one master per host, still there after the play
    assert len(os.listdir(hosts.control_dir)) == len(hosts.hosts)
    assert len(hosts.masters()) == len(hosts.hosts)


HANG_PLAY = """
- name: Hanging runtime
  hosts: ssh001
  gather_facts: false
  tasks:
    - name: Audit this host (its runtime never answers)
      ansible.builtin.import_role:
        name: runcguard.seccomp.audit
        tasks_from: host
        rolespec_validate: false
    - name: Record the audit result
      ansible.builtin.copy:
        content: "{{ audit_host_summary | to_json }}"
        dest: "{{ out }}"
      delegate_to: localhost
    - name: The same host answers the next task
      ansible.builtin.command: cat /proc/self/status
      changed_when: false
      register: next_task
    - name: Record which sshd session answered
      ansible.builtin.copy:
        content: "{{ next_task.stdout }}"
        dest: "{{ out }}.next"
      delegate_to: localhost
"""


def test_hanging_runtime_ends_at_audit_timeout_over_the_same_connection(fleet, tmp_path):
    hosts, work = fleet
    stub_dir = tmp_path / 'bin'
    stub_dir.mkdir(mode=0o700)
    stub = stub_dir / 'runc'
    stub.write_text(HANG)
    stub.chmod(0o700)
    book = tmp_path / 'hang.yml'
    book.write_text(HANG_PLAY)
    out = tmp_path / 'summary.json'
    # a persistent connection to ssh001 first (the master the next play must reuse)
    play(fleet, os.path.join(ROOT, 'playbooks', 'audit.yml'), '--limit', 'ssh001', '-e', 'audit_discover=false',
         '-e', 'audit_report=false')
    masters = set(hosts.masters())
    assert masters
    timeout = 8
    play(fleet, str(book), '-e', 'out=%s' % out, '-e', 'audit_timeout=%d' % timeout,
         '-e', 'audit_command_timeout=600', '-e', 'audit_discover=false',
         '-e', '{"audit_runtime_paths": ["%s"]}' % stub)
    summary = json.loads(out.read_text())
    # ended within audit_timeout, reported, not silently dropped: the runtime's error names the time limit
    # (runtime_facts stops its commands audit_host's SCAN_MARGIN (5 s) before audit_timeout)
    assert summary['status'] == 'ok', summary
    assert summary['errors'] == [{'source': 'runtime', 'path': str(stub), 'error': 'timed out after %ds' % (timeout - 5)}]
    # the next task ran on the same host through the same ControlPersist master
    assert 'Name:\tcat' in (tmp_path / 'summary.json.next').read_text()
    assert set(hosts.masters()) == masters
    # nothing of ours keeps running there: no hung runtime, no module, only sshd session processes
    left = [(pid, line) for pid, line in hosts.sessions() if not line.startswith('sshd')]
    assert left == []
    assert not [pid for pid in os.listdir('/proc') if pid.isdigit() and
                'sleep 86399.5' in sshfleet.command_line(int(pid))]
