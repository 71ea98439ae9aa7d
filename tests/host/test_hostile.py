# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile files and unlucky operators, through real `ansible` / `ansible-playbook` runs on localhost.

Everything here is what a user can do to the collection: concurrent rewrites of one profile,
non-UTF-8 file names, lone surrogate escapes, duplicate keys, leftovers of a killed run, a profile
the rewrite must keep byte for byte. The results travel through Ansible's own serialisation, which
is where a non-UTF-8 string used to cost the whole host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import stat
import subprocess

import adhoc

from ansible_collections.runcguard.seccomp.plugins.module_utils._safefile import lock_file

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
EXAMPLE = os.path.join(REPO, 'docs', 'examples', 'bypass4netns-profile.json')
NOTIFIED = {'defaultAction': 'SCMP_ACT_ERRNO', 'listenerPath': '/run/agent.sock',
            'syscalls': [{'names': ['read'], 'action': 'SCMP_ACT_ALLOW'},
                         {'names': ['connect', 'fcntl', 'sendmsg'], 'action': 'SCMP_ACT_NOTIFY'}]}


def notified(path):
    with open(path) as handle:
        rules = json.load(handle)['syscalls']
    return [n for r in rules if r['action'] == 'SCMP_ACT_NOTIFY' for n in r['names']]


def test_concurrent_rewrites_lose_nothing_and_a_late_one_gives_up(tmp_path):
    path = str(tmp_path / 'p.json')
    with open(path, 'w') as handle:
        json.dump(NOTIFIED, handle, indent=2)
    held = lock_file(path, 0)  # a third writer holds the profile while the runs start
    try:
        first = adhoc.start('runcguard.seccomp.seccomp_profile', {'path': path, 'notify_remove': ['fcntl']})
        second = adhoc.start('runcguard.seccomp.seccomp_profile', {'path': path, 'notify_remove': ['sendmsg']})
        late = adhoc.start('runcguard.seccomp.seccomp_profile', {'path': path, 'notify_remove': ['connect'],
                                                                 'lock_timeout': 1})
        gave_up = adhoc.result(late)[1]
        with open(path) as handle:
            doc = json.load(handle)
        doc['syscalls'][0]['names'].append('write')  # the holder's own change, made under its lock
        with open(path, 'w') as handle:
            json.dump(doc, handle, indent=2)
    finally:
        held.release()
    results = [adhoc.result(first)[1], adhoc.result(second)[1]]
    assert gave_up['failed'] and 'has held the lock' in gave_up['msg'] and 'nothing was changed' in gave_up['msg']
    assert all(r['changed'] and not r.get('failed') for r in results), results
    assert notified(path) == ['connect']  # both removals, and not the late one
    with open(path) as handle:
        assert 'write' in json.load(handle)['syscalls'][0]['names']  # nor the holder's change lost
    assert sorted(os.listdir(str(tmp_path))) == ['p.json']  # no lock or temporary file left


def test_a_hung_runtime_leaves_nothing_running_after_the_task(tmp_path):
    """runtime_facts through ansible: a runtime whose --version hangs, ignores SIGTERM and starts a child
    is reported "timed out", `features` is never run on it, and nothing of it runs after the task."""
    log, child = tmp_path / 'calls.log', tmp_path / 'child.pid'
    stub = tmp_path / 'runc'
    stub.write_text("#!/bin/sh\necho \"$*\" >> %s\ntrap '' TERM\nsleep 600 &\necho $! > %s\nwait\n" % (log, child))
    stub.chmod(0o755)
    res = adhoc.run('runcguard.seccomp.runtime_facts', {'discover': False, 'runtime_paths': [str(stub)],
                                                        'command_timeout': 1})
    entry = res['ansible_facts']['runcguard']['runtimes'][0]
    assert entry['error'] == 'timed out after 1s'
    assert log.read_text() == '--version\n'
    pid = int(child.read_text())
    try:
        with open('/proc/%d/stat' % pid) as handle:
            state = handle.read().rsplit(')', 1)[1].split()[0]
    except (IOError, OSError):
        state = 'gone'
    assert state in ('gone', 'Z'), 'the runtime\'s child %d still runs' % pid


PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Scan a directory of hostile files
      runcguard.seccomp.runtime_facts:
        discover: false
        profile_paths: ["{{ dir }}/profiles"]
      register: scan
    - name: Duplicate keys are refused
      runcguard.seccomp.seccomp_profile:
        path: "{{ dir }}/profiles/dup.json"
        backup: true
      register: dup
      ignore_errors: true
    - name: A lone surrogate is refused before anything is written
      runcguard.seccomp.seccomp_profile:
        path: "{{ dir }}/profiles/surrogate.json"
        backup: true
      register: surrogate
      ignore_errors: true
    - name: Our own example keeps its layout; the backup is no wider than the profile
      runcguard.seccomp.seccomp_profile:
        path: "{{ dir }}/example/bypass4netns-profile.json"
        notify_ensure: [connect]
        backup: true
      register: example
    - name: Leftovers of a killed run are removed, with a warning
      runcguard.seccomp.seccomp_profile:
        path: "{{ dir }}/profiles/notify.json"
      register: leftovers
    - name: Keep the results
      ansible.builtin.copy:
        content: "{{ {'scan': scan, 'dup': dup, 'surrogate': surrogate, 'example': example,
                      'leftovers': leftovers} | to_json }}"
        dest: "{{ dir }}/results.json"
"""


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as handle:
        handle.write(data if isinstance(data, bytes) else json.dumps(data, indent=2).encode())


def test_hostile_files_cost_one_entry_each_and_are_never_rewritten(tmp_path):
    base = str(tmp_path)
    profiles = os.path.join(base, 'profiles')
    write(os.path.join(profiles, 'notify.json'), NOTIFIED)
    write(os.path.join(profiles.encode(), b'bad\xffname.json'), NOTIFIED)  # a name that is not UTF-8
    surrogate = b'{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["fcntl\\ud800"], "action": "SCMP_ACT_NOTIFY"}]}'
    write(os.path.join(profiles, 'surrogate.json'), surrogate)
    dup = (b'{"defaultAction": "SCMP_ACT_ERRNO", "listenerPath": "/run/a.sock",\n'
           b' "syscalls": [{"names": ["connect"], "action": "SCMP_ACT_NOTIFY"}],\n'
           b' "syscalls": [{"names": ["connect", "fcntl"], "action": "SCMP_ACT_NOTIFY"}],\n'
           b' "listenerPath": "/run/b.sock"}\n')
    write(os.path.join(profiles, 'dup.json'), dup)
    write(os.path.join(profiles, '.notify.json.runcguard-0a1b2c3d4e5f.tmp'), b'{"partial": ')
    write(os.path.join(profiles, '.notify.json.runcguard-lock'), b'4242\n')
    os.symlink('/etc/shadow', os.path.join(profiles, 'shadow.json'))
    example = os.path.join(base, 'example', 'bypass4netns-profile.json')
    os.makedirs(os.path.dirname(example))
    shutil.copy(EXAMPLE, example)
    os.chmod(example, 0o600)

    book = tmp_path / 'play.yml'
    book.write_text(PLAYBOOK)
    proc = subprocess.run([adhoc.tool('ansible-playbook'), '-i', 'localhost,', '-c', 'local', str(book),
                           '-e', 'dir=%s' % base], capture_output=True, timeout=300, check=False,
                          env=dict(adhoc.env(), ANSIBLE_STDOUT_CALLBACK='default'))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    with open(os.path.join(base, 'results.json'), 'rb') as handle:
        res = json.loads(handle.read().decode('utf-8'))

    facts = res['scan']['ansible_facts']['runcguard']
    by_path = dict((p['path'], p) for p in facts['profiles'])
    bad = by_path[profiles + '/bad\\xffname.json']
    assert bad['error'].startswith('file name is not valid UTF-8 (shown escaped)')
    assert 'unpaired UTF-16 surrogate escape' in by_path[profiles + '/surrogate.json']['error']
    dup_entry = by_path[profiles + '/dup.json']
    assert dup_entry['duplicate_keys'] == ['$.syscalls', '$.listenerPath']
    assert dup_entry['notify_syscalls'] == ['connect', 'fcntl'] and dup_entry['listener_path'] == '/run/b.sock'
    assert 'the last of each wins' in dup_entry['warning']
    shadow = by_path[profiles + '/shadow.json']
    assert shadow['error'] and shadow['sha256'] is None and shadow['size'] is None
    assert by_path[profiles + '/notify.json']['notify_syscalls'] == ['connect', 'fcntl', 'sendmsg']
    assert not [p for p in by_path if 'runcguard-' in p]  # temporary and lock files are not profiles

    assert res['dup']['failed'] and 'duplicate JSON keys ($.syscalls, $.listenerPath)' in res['dup']['msg']
    with open(os.path.join(profiles, 'dup.json'), 'rb') as handle:
        assert handle.read() == dup
    assert res['surrogate']['failed'] and 'surrogate' in res['surrogate']['msg']
    with open(os.path.join(profiles, 'surrogate.json'), 'rb') as handle:
        assert handle.read() == surrogate
    assert not [n for n in os.listdir(profiles) if n.endswith('~')]  # no backup of a refused file

    ex = res['example']
    assert ex['changed'] and ex['format_preserved'] is True
    assert stat.S_IMODE(os.stat(ex['backup_file']).st_mode) == 0o600
    with open(EXAMPLE) as before, open(example) as after:
        old, new = before.read().splitlines(), after.read().splitlines()
    assert [line for line in old if line not in new] == [old[11]] and '"fcntl"' in old[11]
    assert old[-6:] == new[-6:]  # the clone rule's one-line args stays as it was

    warnings = json.dumps(res['leftovers'].get('warnings'))
    assert res['leftovers']['changed'] and 'interrupted run (pid 4242)' in warnings
    assert sorted(n for n in os.listdir(profiles) if n.startswith('.')) == []


def crafted_facts(profiles, runtimes, name='/p/%d.json'):
    """Facts a compromised host can send: many NOTIFY profiles times many affected runtimes."""
    return {'schema': 1, 'arch': 'x86_64', 'kernel': '6.1.0', 'libseccomp': '2.5.4',
            'runtimes': [{'name': 'runc', 'path': '/opt/r%d/runc' % i, 'version': '1.2.0-rc.2', 'used_by': [],
                          'error': None} for i in range(runtimes)],
            'profiles': [{'path': name % i, 'format': 'oci', 'origin': [{'engine': 'user', 'setting': 'x'}],
                          'default_action': 'SCMP_ACT_ALLOW', 'listener_path': '/run/agent.sock',
                          'listener_exists': True, 'notify_syscalls': ['fcntl', 'write'], 'error': None}
                         for i in range(profiles)],
            'engines': {}, 'scan': {'errors': []}}


TERMINAL = '/etc/\x1b]0;owned\x07\x1b[2J\x00x\u202egnp.json\x9b31m'


def test_crafted_facts_are_bounded_escaped_and_a_wrong_shape_fails_the_host(tmp_path):
    """Through the audit playbook with a fact cache: a host with 40x30 crafted profiles x runtimes,
    one whose profile names carry terminal escapes, one with a wrong nested type."""
    hosts = {
        'flood': crafted_facts(40, 30),
        'escapes': crafted_facts(2, 1, name=TERMINAL + '%d'),
        'wrong': dict(crafted_facts(1, 1), profiles=[dict(crafted_facts(1, 1)['profiles'][0], bundle='x')]),
    }
    (tmp_path / 'facts.json').write_text(json.dumps({'crafted': hosts}))
    inventory = tmp_path / 'hosts.ini'
    inventory.write_text('\n'.join('%s ansible_connection=local' % h for h in hosts) + '\n')
    seed = tmp_path / 'seed.yml'  # the fact cache a compromised host (or a hand edit) leaves behind
    seed.write_text('- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.set_fact:\n'
                    '        runcguard: "{{ crafted[inventory_hostname] }}"\n        cacheable: true\n')
    cached = dict(adhoc.env(), ANSIBLE_CACHE_PLUGIN='jsonfile', ANSIBLE_CACHE_PLUGIN_CONNECTION=str(tmp_path / 'cache'),
                  ANSIBLE_CACHE_PLUGIN_TIMEOUT='0')
    proc = subprocess.run([adhoc.tool('ansible-playbook'), '-i', str(inventory), str(seed), '-e',
                           '@%s' % (tmp_path / 'facts.json')], capture_output=True, timeout=300, check=False, env=cached)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    reports = tmp_path / 'reports'
    proc = subprocess.run(
        [adhoc.tool('ansible-playbook'), '-i', str(inventory), 'runcguard.seccomp.audit',
         '-e', json.dumps({'audit_facts_source': 'cached', 'audit_report_dir': str(reports),
                           'audit_report_timestamp': False, 'audit_max_findings_per_host': 500})],
        capture_output=True, timeout=600, check=False, env=cached)
    output = proc.stdout.decode('utf-8', 'replace') + proc.stderr.decode('utf-8', 'replace')
    assert not [c for c in ('\x1b', '\x07', '\u202e', '\x9b') if c in output]  # nor on the console
    data = json.loads((reports / 'runcguard-audit.json').read_text())
    by_host = dict((h['host'], h) for h in data['hosts'])
    flood = by_host['flood']
    assert len(flood['findings']) == 500 and flood['omitted']
    total = flood['counts']['critical'] + flood['counts']['high'] + flood['counts']['medium'] \
        + flood['counts']['low'] + flood['counts']['info']
    assert total > 500 and data['totals']['findings'] >= total  # exact, not the capped 500
    assert [e for e in flood['errors'] if e['source'] == 'audit' and 'left out' in e['error']]
    wrong = by_host['wrong']
    assert wrong['status'] == 'failed', wrong
    assert 'facts.profiles[0].bundle must be an object, got a string' in wrong['message']
    for name in ('runcguard-audit.md', 'runcguard-audit.csv', 'runcguard-audit.html', 'runcguard-audit.junit.xml',
                 'runcguard-audit.json'):
        text = (reports / name).read_text(encoding='utf-8')
        assert not [c for c in ('\x1b', '\x07', '\x00', '\u202e', '\x9b') if c in text], name
    assert '\\u202egnp.json' in (reports / 'runcguard-audit.md').read_text()
