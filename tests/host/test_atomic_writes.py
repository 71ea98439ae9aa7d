# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Atomic writes, proven on the real writers: the fleet report (ansible-playbook + fleet_report)
and seccomp_profile (the module run as Ansible runs it).

The writer runs in its own process group while inotify watches the destination directory. After
every batch of file-system events there the whole group is frozen (SIGSTOP) and every destination
file is read: it must be the old content or the complete new content, never anything between. A
second run is SIGKILLed in the middle of its write (at its first data written into the directory)
and must leave old-or-new files behind. Event driven, no sleeps and no timing assumptions.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ctypes
import hashlib
import json
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import time

import pytest

IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE = 0x2, 0x4, 0x8
IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x40, 0x80, 0x100, 0x200
WATCHED = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
EVENT = struct.Struct('iIII')


class DirWatch(object):
    """inotify on one directory (libc through ctypes: no extra package)."""

    def __init__(self, directory):
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_CLOEXEC)
        if self.fd < 0 or libc.inotify_add_watch(self.fd, directory.encode(), WATCHED) < 0:
            raise OSError(ctypes.get_errno(), 'inotify on %s' % directory)

    def read(self, timeout):
        """[(mask, name)] of the events queued now, waiting up to `timeout` seconds for the first."""
        if not select.select([self.fd], [], [], timeout)[0]:
            return []
        data, events, offset = os.read(self.fd, 1 << 16), [], 0
        while offset < len(data):
            dummy, mask, dummy, size = EVENT.unpack_from(data, offset)
            name = data[offset + EVENT.size:offset + EVENT.size + size].rstrip(b'\0').decode()
            events.append((mask, name))
            offset += EVENT.size + size
        return events

    def close(self):
        os.close(self.fd)


def drive(argv, directory, log, on_pause, env=None, timeout=300):
    """Run `argv` in its own process group, pausing it after each batch of events in `directory`.

    on_pause(events) runs while the whole group is stopped; when it returns True the group is
    SIGKILLed there instead of continued. Returns the exit status (negative: killed).
    """
    watch = DirWatch(directory)
    with open(log, 'wb') as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None:
            assert time.monotonic() < deadline, 'writer still running after %d s' % timeout
            events = watch.read(0.5)
            if not events:
                continue
            try:
                os.killpg(proc.pid, signal.SIGSTOP)
            except ProcessLookupError:
                break
            if on_pause(events):
                os.killpg(proc.pid, signal.SIGKILL)
                break
            os.killpg(proc.pid, signal.SIGCONT)
        return proc.wait(timeout=60)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        watch.close()


def digest(path):
    try:
        with open(path, 'rb') as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except FileNotFoundError:
        return None


def snapshot(paths):
    return dict((path, digest(path)) for path in paths)


def first_data_written(events):
    """Kill point: the first write of bytes (or truncation) to any file in the directory."""
    return any(mask & IN_MODIFY for mask, dummy in events)


# --- the fleet report ----------------------------------------------------------------------------

REPORT_PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: A summary as the audit role would set it
      ansible.builtin.set_fact:
        audit_host_summary: "{{ {'runtimes': [], 'profiles': []} | runcguard.seccomp.host_summary(host='localhost', findings=findings) }}"
    - name: Write the report
      runcguard.seccomp.fleet_report:
        hosts: [localhost]
        dest: "{{ dest }}"
        timestamp: false
"""
REPORT_FILES = ['runcguard-audit.%s' % ext for ext in ('json', 'md', 'html', 'junit.xml', 'csv')]


def report_vars(path, word, count=200):
    """Extra-vars file: `count` findings whose text carries `word` (old and new runs differ)."""
    findings = [{'id': 'notify-fcntl-hang', 'key': 'notify-fcntl-hang|/p%d.json|/usr/bin/runc' % n,
                 'severity': 'critical', 'title': 'runc hangs', 'profile': '/p%d.json' % n, 'origin': [],
                 'syscalls': ['fcntl'], 'affected': True, 'reference': 'https://example.invalid/%d' % n,
                 'runtime': {'path': '/usr/bin/runc', 'name': 'runc', 'version': '1.2.0-rc.2'},
                 'message': '%s run: profile %d has fcntl under NOTIFY' % (word, n), 'remediation': ['pin_runc']}
                for n in range(count)]
    with open(path, 'w') as handle:
        json.dump({'findings': findings}, handle)
    return path


def ansible_playbook():
    found = shutil.which('ansible-playbook') or os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    if not os.path.exists(found):
        pytest.skip('ansible-playbook is not installed next to this Python')
    return found


def report_argv(tmp_path, dest, extra_vars):
    book = tmp_path / 'play.yml'
    book.write_text(REPORT_PLAY)
    return [ansible_playbook(), '-i', 'localhost,', '-c', 'local', str(book),
            '-e', 'dest=%s' % dest, '-e', '@%s' % extra_vars]


def report_env():
    return dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='0', LANG='C.UTF-8',
                ANSIBLE_PYTHON_INTERPRETER=sys.executable)


def test_fleet_report_readers_and_killed_writer_see_old_or_new(tmp_path):
    dest = tmp_path / 'reports'
    paths = [str(dest / name) for name in REPORT_FILES]
    old_vars = report_vars(str(tmp_path / 'old.json'), 'old')
    new_vars = report_vars(str(tmp_path / 'new.json'), 'new')
    proc = subprocess.run(report_argv(tmp_path, dest, old_vars), env=report_env(), capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    old = snapshot(paths)
    saved = tmp_path / 'saved'
    shutil.copytree(str(dest), str(saved))

    seen = []
    rc = drive(report_argv(tmp_path, dest, new_vars), str(dest), str(tmp_path / 'new.log'),
               lambda events: seen.append(snapshot(paths)), env=report_env())
    assert rc == 0, (tmp_path / 'new.log').read_text()[-3000:]
    new = snapshot(paths)
    assert all(new[p] != old[p] for p in paths)  # every format was rewritten
    assert seen, 'no file-system event seen while the report was written'
    for state in seen:
        for path in paths:
            assert state[path] in (old[path], new[path]), 'torn %s seen by a reader' % path

    # The same write again from the old report, killed at its first data: old or new files stay.
    for name in REPORT_FILES:
        shutil.copy2(str(saved / name), str(dest / name))
    rc = drive(report_argv(tmp_path, dest, new_vars), str(dest), str(tmp_path / 'killed.log'),
               first_data_written, env=report_env())
    assert rc == -signal.SIGKILL
    after = snapshot(paths)
    for path in paths:
        assert after[path] in (old[path], new[path]), 'torn %s left by a killed writer' % path
    json.loads((dest / 'runcguard-audit.json').read_text())

    # What a killed writer leaves (its lock, a temporary file; the kill above may land before or after
    # them, so one of each is planted too) is removed by the next run, which says so.
    (dest / '.runcguard-audit.runcguard-lock').write_text('999999\n')
    (dest / '.runcguard-audit.json.runcguard-0a1b2c3d.tmp').write_text('{"torn')
    proc = subprocess.run(report_argv(tmp_path, dest, new_vars), env=report_env(), capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert 'removed what an interrupted report run left' in proc.stdout + proc.stderr, proc.stdout[-2000:]
    assert not [p.name for p in dest.iterdir() if p.name.startswith('.')]


# --- seccomp_profile -----------------------------------------------------------------------------

COLLECTION = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def module_argv(tmp_path, name, args):
    """The module run as Ansible runs it: a Python process reading its arguments file."""
    args_file = tmp_path / ('args-%s-%d.json' % (name, len(list(tmp_path.glob('args-*.json')))))
    args_file.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    return [sys.executable, os.path.join(COLLECTION, 'plugins', 'modules', name + '.py'), str(args_file)]


def module_env():
    return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), LANG='C', LC_ALL='C')


def run_module(tmp_path, name, args):
    proc = subprocess.run(module_argv(tmp_path, name, args), env=module_env(), capture_output=True, timeout=120,
                          check=False)
    out = proc.stdout.decode()
    return json.loads(out[out.index('{'):])


def big_notify_profile(rules=5000):
    """About 400 KB: fcntl under NOTIFY beside many ordinary rules, so a write takes many pages."""
    syscalls = [{'names': ['fcntl', 'connect'], 'action': 'SCMP_ACT_NOTIFY'}]
    syscalls += [{'names': ['getpid'], 'action': 'SCMP_ACT_ALLOW', 'args': [
        {'index': 0, 'value': n, 'valueTwo': 0, 'op': 'SCMP_CMP_EQ'}]} for n in range(rules)]
    return json.dumps({'defaultAction': 'SCMP_ACT_ERRNO', 'listenerPath': '/run/agent.sock',
                       'syscalls': syscalls}, indent=1)


def listed_profiles(tmp_path, directory):
    """What runtime_facts lists in the directory: leftover scratch or lock files must not appear."""
    res = run_module(tmp_path, 'runtime_facts', {'discover': False, 'profile_paths': [directory],
                                                 'max_profile_size': 1 << 24})
    assert not res.get('failed'), res
    return sorted(p['path'] for p in res['ansible_facts']['runcguard']['profiles'])


def test_seccomp_profile_readers_and_killed_writers_see_old_or_new(tmp_path):
    directory = tmp_path / 'profiles'
    directory.mkdir()
    profile = directory / 'agent.json'
    old_text = big_notify_profile()
    profile.write_text(old_text)
    os.chmod(str(profile), 0o640)
    args = {'path': str(profile), 'notify_remove': ['fcntl'], 'max_profile_size': 1 << 24}
    old = digest(str(profile))

    seen = []
    rc = drive(module_argv(tmp_path, 'seccomp_profile', args), str(directory), str(tmp_path / 'write.log'),
               lambda events: seen.append(digest(str(profile))), env=module_env())
    assert rc == 0, (tmp_path / 'write.log').read_text()[-3000:]
    new = digest(str(profile))
    assert new != old and seen
    assert set(seen) <= {old, new}, 'a reader saw a torn profile'
    rewritten = json.loads(profile.read_text())
    assert [r['names'] for r in rewritten['syscalls'] if r['action'] == 'SCMP_ACT_NOTIFY'] == [['connect']]

    # Kill the writer after its 1st, 2nd, ... pause, until it finishes before being killed.
    for kill_at in range(1, 100):
        profile.write_text(old_text)
        pauses = []
        rc = drive(module_argv(tmp_path, 'seccomp_profile', args), str(directory),
                   str(tmp_path / ('kill-%d.log' % kill_at)),
                   lambda events: pauses.append(events) or len(pauses) == kill_at, env=module_env())
        assert digest(str(profile)) in (old, new), 'torn profile after a kill at pause %d' % kill_at
        assert listed_profiles(tmp_path, str(directory)) == [str(profile)], 'a leftover is listed as a profile'
        assert oct(os.stat(str(profile)).st_mode & 0o777) == oct(0o640)
        if rc == 0:
            break
        assert rc == -signal.SIGKILL
    assert kill_at > 1, 'the writer was never killed mid-write'
