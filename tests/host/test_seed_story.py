# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The story the collection exists for, end to end on this machine with the real runc 1.2.0-rc.2.

A bypass4netns-style agent profile (socket syscalls and fcntl under SCMP_ACT_NOTIFY) makes a real
container hang under runc 1.2.0-rc.2: `runc run` never returns, `runc:[2:INIT]` sits in fcntl.
`playbooks/remediate.yml` on localhost (discovery off: it sees only this profile and this runc)
rewrites the profile, and the same container then starts under the same rc.2 with the agent still
serving the other syscalls. Skips when `shared/runc-builds` is not beside the repository.
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
from test_notify_probe import assert_nothing_left  # importing it also puts the collection on sys.path

from ansible_collections.runcguard.seccomp.plugins.module_utils._probe import canary as _probe_canary  # noqa: E402
from ansible_collections.runcguard.seccomp.plugins.module_utils._probe.outcome import (  # noqa: E402
    START_ATTEMPTS, transient_start_failure)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='starts real containers: root only')

PROFILE = {
    'defaultAction': 'SCMP_ACT_ALLOW',
    'architectures': ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    'listenerPath': None,  # the agent's socket, set per test
    'syscalls': [
        {'names': ['bind', 'close', 'connect', 'fcntl', 'setsockopt'], 'action': 'SCMP_ACT_NOTIFY'},
        {'names': ['ptrace'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 1},
    ],
}


class ProfileContainer(_probe_canary.Canary):
    """A real container whose seccomp section is a profile file as it is on disk, as an engine
    passes it to runc; the canary's agent serves its listenerPath. Cleanup as for any canary."""

    def __init__(self, runtime, profile_path, timeout, tmp_parent):
        super(ProfileContainer, self).__init__(runtime, 'runc', ['fcntl'], True, timeout, tmp_parent)
        self.profile_path = profile_path

    def _prepare(self):
        super(ProfileContainer, self)._prepare()
        path = os.path.join(self.bundle, 'config.json')
        with open(path) as handle:
            config = json.load(handle)
        with open(self.profile_path) as handle:
            seccomp = json.load(handle)
        assert seccomp['listenerPath'] == self.socket
        config['linux']['seccomp'] = seccomp
        with open(path, 'w') as handle:
            json.dump(config, handle)


def ansible_playbook():
    found = shutil.which('ansible-playbook') or os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    if not os.path.exists(found):
        pytest.skip('ansible-playbook is not installed next to this Python')
    return found


def test_remediate_makes_a_hanging_container_start_under_rc2(tmp_path):
    rc2 = realruntimes.runc_build('runc-v1.2.0-rc.2')
    runs = tmp_path / 'containers'
    runs.mkdir()
    profile_dir = tmp_path / 'etc'
    profile_dir.mkdir()
    profile = profile_dir / 'bypass4netns.json'
    # The agent socket lives in the canary's temp dir, whose name is only known at start: a fixed
    # short path that every start's agent binds (one container at a time).
    socket_path = str(runs / 'agent.sock')
    original = dict(PROFILE, listenerPath=socket_path)
    profile.write_text(json.dumps(original, indent=2))

    class AtFixedSocket(ProfileContainer):
        def __init__(self, *args):
            super(AtFixedSocket, self).__init__(*args)
            self.socket = socket_path

    def start_once(timeout):
        for dummy in range(START_ATTEMPTS):  # another start only after runc's transient init race (runc#4294)
            container = AtFixedSocket(rc2, str(profile), timeout, str(runs))
            try:
                result = container.run()
            finally:
                leftovers = container.cleanup()
            assert leftovers == [] and not os.path.exists(socket_path)
            ids.append(container.id)
            if not transient_start_failure(result):
                break
        return result

    ids = []
    before = start_once(3)
    assert before['outcome'] == 'hang' and before['agent_connected'] is False, before

    extra = {
        'audit_discover': False, 'audit_runtime_paths': [rc2], 'audit_profile_paths': [str(profile)],
        # only the profile may change here, never this machine's runc
        'remediate_policy': {'notify-fcntl-hang': ['rewrite_profile']},
        'remediate_state_dir': str(tmp_path / 'state'),
        'remediate_report_dir': str(tmp_path / 'reports'), 'audit_report_dir': str(tmp_path / 'reports'),
        'audit_report_formats': ['json'],
    }
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='0', LANG='C.UTF-8',
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    proc = subprocess.run([ansible_playbook(), '-i', 'localhost,', '-c', 'local', 'runcguard.seccomp.remediate',
                           '-e', json.dumps(extra)], capture_output=True, text=True, timeout=600, check=False, env=env)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    report = json.loads((tmp_path / 'reports' / 'runcguard-remediate.json').read_text())
    assert [(h['host'], h['status']) for h in report['hosts']] == [('localhost', 'fixed')], report['hosts']

    rewritten = json.loads(profile.read_text())
    notify = [s for s in rewritten['syscalls'] if s['action'] == 'SCMP_ACT_NOTIFY']
    assert sorted(n for s in notify for n in s['names']) == ['bind', 'close', 'connect', 'setsockopt']
    assert rewritten['listenerPath'] == socket_path
    backups = [n for n in os.listdir(str(profile_dir)) if n != 'bypass4netns.json']
    assert len(backups) == 1 and json.loads((profile_dir / backups[0]).read_text()) == original

    after = start_once(10)
    assert after['outcome'] == 'ok' and after['exit_code'] == 0, (after['outcome'], after['message'])
    # the agent still gets the fd and serves the syscalls left under NOTIFY
    assert after['agent_connected'] is True and after['notifications'] >= 1
    assert_nothing_left(str(runs), ids)
