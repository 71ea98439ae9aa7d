# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit_host action through one real ansible-playbook run over five local hosts: audited,
cached facts, a failing fact scan, a scan past its time bound, and an unreachable host. Each ends
with a summary the report lists; invalid waivers fail the task before any host is contacted."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import socket
import subprocess
import sys

import pytest

RC2 = """#!/bin/sh
[ "$1" = --version ] || exit 1
printf 'runc version 1.2.0-rc.2\\ncommit: v1.2.0-rc.2-0-gf2d2ee5e4\\nspec: 1.2.0\\ngo: go1.21.13\\nlibseccomp: 2.5.4\\n'
"""
SLOW = """#!/bin/sh
sleep 4
echo 'runc version 1.1.12'
"""
PROFILE = {'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/run/agent.sock',
           'syscalls': [{'names': ['fcntl', 'close'], 'action': 'SCMP_ACT_NOTIFY'}]}

PLAYBOOK = """
- hosts: all
  gather_facts: false
  tasks:
    - name: Facts gathered earlier (the cache the cached host reads)
      runcguard.seccomp.runtime_facts:
        discover: false
        runtime_paths: ["{{ work }}/bin/runc"]
        profile_paths: ["{{ work }}/agent.json"]
      when: inventory_hostname == 'cached'
    - name: Audit each host in one task
      runcguard.seccomp.audit_host:
        facts_source: "{{ source | default('gather') }}"
        discover: false
        runtime_paths: "{{ runtimes | default([work ~ '/bin/runc']) }}"
        profile_paths: "{{ profiles | default([work ~ '/agent.json']) }}"
        command_timeout: "{{ command_timeout | default(10) }}"
        timeout: "{{ bound | default(60) }}"
        today: "2026-06-01"
        waivers:
          - {id: notify-runtime-sensitive, host: "*", reason: agent owns close, expires: "2030-01-01"}
      ignore_unreachable: true
      register: audit_host_summary
    - name: Keep what each host registered
      ansible.builtin.copy:
        content: "{{ ansible_play_hosts_all | map('extract', hostvars, 'audit_host_summary') | list | to_json }}"
        dest: "{{ work }}/summaries.json"
      delegate_to: localhost
      run_once: true
    - name: Write the report from the registered summaries
      runcguard.seccomp.fleet_report:
        hosts: "{{ ansible_play_hosts_all }}"
        dest: "{{ work }}/reports"
        formats: [json]
        fail_on: critical
      run_once: true
      register: report
    - name: Keep the gate message
      ansible.builtin.copy:
        content: "{{ report.verdict | to_json }}"
        dest: "{{ work }}/verdict.json"
      delegate_to: localhost
      run_once: true
"""


def ansible_playbook():
    found = shutil.which('ansible-playbook') or os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    if not os.path.exists(found):
        pytest.skip('ansible-playbook is not installed next to this Python')
    return found


def closed_port():
    """A loopback port nothing listens on (bound, then released): connecting is refused at once."""
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def write(path, text, mode=0o644):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def run(work, playbook, inventory):
    write(work / 'play.yml', playbook)
    write(work / 'hosts.ini', inventory)
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='0', LANG='C.UTF-8',
               ANSIBLE_HOST_KEY_CHECKING='False')
    return subprocess.run([ansible_playbook(), '-i', str(work / 'hosts.ini'), str(work / 'play.yml'),
                           '-e', 'work=%s' % work], capture_output=True, text=True, timeout=300, check=False,
                          env=env)


@pytest.fixture
def work(tmp_path):
    write(tmp_path / 'bin' / 'runc', RC2, 0o755)
    write(tmp_path / 'slow' / 'runc', SLOW, 0o755)
    write(tmp_path / 'agent.json', json.dumps(PROFILE))
    return tmp_path


def test_one_task_per_host_and_every_host_summarised(work):
    inventory = '\n'.join([
        '[local]',
        'audited',
        'cached source=cached profiles="[]" runtimes="[]"',
        'broken command_timeout=0',
        'slow runtimes="[\'%s/slow/runc\']" bound=1' % work,
        '[local:vars]',
        'ansible_connection=local',
        'ansible_python_interpreter=%s' % sys.executable,
        '[gone]',
        'gone ansible_connection=ssh ansible_host=127.0.0.1 ansible_port=%d' % closed_port(),
    ]) + '\n'
    proc = run(work, PLAYBOOK, inventory)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    by_host = dict((s['host'], s) for s in json.loads((work / 'summaries.json').read_text()))
    assert sorted(by_host) == ['audited', 'broken', 'cached', 'gone', 'slow']

    audited = by_host['audited']
    assert audited['status'] == 'ok'
    assert [r['version'] for r in audited['runtimes']] == ['1.2.0-rc.2']
    ids = dict((f['id'], f) for f in audited['findings'])
    assert ids['notify-fcntl-hang']['severity'] == 'critical' and not ids['notify-fcntl-hang']['waived']
    assert ids['notify-runtime-sensitive']['waived'] is True
    assert audited['counts']['critical'] == 1 and audited['waived'] == 1
    assert audited['ansible_facts']['runcguard']['runtimes'][0]['path'] == str(work / 'bin' / 'runc')

    # Cached: no scan (its own paths are empty), the findings come from the facts gathered before.
    cached = by_host['cached']
    assert cached['status'] == 'ok' and 'ansible_facts' not in cached
    assert sorted(f['id'] for f in cached['findings']) == sorted(ids)

    assert by_host['broken']['status'] == 'failed'
    assert 'command_timeout must be at least 1 second' in by_host['broken']['message']
    assert by_host['slow']['status'] == 'failed'
    assert 'did not finish within 1 s' in by_host['slow']['message']
    assert by_host['gone']['status'] == 'unreachable' and by_host['gone']['message']

    # One task per host in the recap (the cached host also ran the earlier runtime_facts task).
    recap = dict((line.split(':')[0].strip(), line.split(':', 1)[1].split()) for line in proc.stdout.splitlines()
                 if ' : ok=' in line)
    assert recap['broken'][0] == recap['slow'][0] == 'ok=1' and recap['cached'][0] == 'ok=2'
    verdict = json.loads((work / 'verdict.json').read_text())
    assert verdict['failed'] is True
    assert verdict['message'].startswith('runcguard audit gate failed (audit_fail_on=critical): 2 active findings')
    assert '3 hosts not audited (broken, gone, slow)' in verdict['message']
    report = json.loads((work / 'reports' / 'runcguard-audit.json').read_text())
    assert [h['status'] for h in report['hosts']] == ['ok', 'failed', 'ok', 'unreachable', 'failed']
    assert all('ansible_facts' not in h and 'changed' not in h for h in report['hosts'])


AUDIT_PLAYBOOK = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                              'playbooks', 'audit.yml')


def test_the_real_audit_playbook_runs_one_task_per_host(work):
    """playbooks/audit.yml as users run it: its audit play has one task, run once on each host;
    the report play runs on one host only."""
    hosts = ['h%d' % n for n in range(1, 7)]
    write(work / 'hosts.ini', '\n'.join(['[local]'] + hosts + [
        '[local:vars]', 'ansible_connection=local', 'ansible_python_interpreter=%s' % sys.executable]) + '\n')
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='0', LANG='C.UTF-8')
    extra = {'audit_discover': False, 'audit_runtime_paths': [str(work / 'bin' / 'runc')],
             'audit_profile_paths': [str(work / 'agent.json')], 'audit_report_dir': str(work / 'reports'),
             'audit_report_formats': ['json']}
    proc = subprocess.run([ansible_playbook(), '-i', str(work / 'hosts.ini'), AUDIT_PLAYBOOK, '-e', json.dumps(extra)],
                          capture_output=True, text=True, timeout=300, check=False, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    audit_play = proc.stdout.split('PLAY [Audit hosts for seccomp NOTIFY hazards]', 1)[1].split('PLAY [', 1)[0]
    tasks = [line for line in audit_play.splitlines() if line.startswith('TASK [')]
    assert len(tasks) == 1, tasks
    assert sorted(line.split('[', 1)[1].split(']', 1)[0] for line in audit_play.splitlines()
                  if line.startswith('ok: [')) == hosts
    recap = dict((line.split(':')[0].strip(), line.split(':', 1)[1].split()) for line in proc.stdout.splitlines()
                 if ' : ok=' in line)
    assert sorted(recap) == hosts
    # every host but the one the report's run_once tasks ran on: exactly the one audit task
    assert sorted(h for h in hosts if recap[h][0] != 'ok=1') == ['h1'], recap
    report = json.loads((work / 'reports' / 'runcguard-audit.json').read_text())
    assert [h['host'] for h in report['hosts']] == hosts and all(h['status'] == 'ok' for h in report['hosts'])


def test_invalid_waivers_fail_before_the_host_is_contacted(work):
    playbook = """
- hosts: all
  gather_facts: false
  tasks:
    - runcguard.seccomp.audit_host:
        waivers: [{id: notify-fcntl-hang, reason: no expiry}]
"""
    # Unreachable: had the action connected first, the task would be unreachable, not failed.
    inventory = 'gone ansible_connection=ssh ansible_host=127.0.0.1 ansible_port=%d\n' % closed_port()
    proc = run(work, playbook, inventory)
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert 'runcguard.seccomp.audit_host' in proc.stdout and 'expires' in proc.stdout
    assert 'unreachable=0' in proc.stdout and 'failed=1' in proc.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason='notify_probe needs root')
@pytest.mark.skipif(not os.path.exists('/usr/sbin/runc'), reason='Debian runc not installed at /usr/sbin/runc')
def test_probe_observations_join_the_summary(work):
    playbook = """
- hosts: all
  gather_facts: false
  tasks:
    - runcguard.seccomp.audit_host:
        discover: false
        runtime_paths: [/usr/sbin/runc]
        probe: true
        probe_syscalls: [fcntl, not-a-syscall!]
        probe_timeout: 5
      register: audit_host_summary
    - ansible.builtin.copy:
        content: "{{ audit_host_summary | to_json }}"
        dest: "{{ work }}/summary.json"
"""
    inventory = 'probed ansible_connection=local ansible_python_interpreter=%s\n' % sys.executable
    proc = run(work, playbook, inventory)
    assert proc.returncode == 0, proc.stdout[-3000:]
    summary = json.loads((work / 'summary.json').read_text())
    assert summary['status'] == 'ok'
    # Debian's runc 1.1.x serves fcntl under NOTIFY: observed, no hang, nothing disagrees.
    assert summary['probe'] and set(p['syscall'] for p in summary['probe']) == {'fcntl'}
    assert all(p['runtime'] == '/usr/sbin/runc' and p['outcome'] for p in summary['probe'])
    assert not [f for f in summary['findings'] if f['id'].startswith('notify-probe-')]
