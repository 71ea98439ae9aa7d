# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit with `audit_probe: true` against real affected runtimes on this machine (root).

One `ansible-playbook runcguard.seccomp.audit` run over localhost audits three runtimes given by
path (discovery off, so the machine's own runtimes and profiles stay out of it):

* the real runc 1.2.0-rc.2: the version says it hangs with fcntl, and the canary really hangs;
* a lying runc: a wrapper that prints runc 1.2.0's `--version` and runs rc.2 for everything
  else (a vendor build with a wrong version string): only the probe can catch it;
* the real crun 1.5 (through the hybrid-cgroups test runner): hangs with sendmsg.

Skips when `shared/runc-builds` or `shared/crun-builds` is not beside the repository.
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

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='the probe starts containers: root only')

PROFILE = {
    # a bypass4netns-style agent profile: socket syscalls and fcntl/sendmsg to the agent
    'defaultAction': 'SCMP_ACT_ALLOW',
    'listenerPath': '/run/bypass4netns.sock',
    'syscalls': [{'names': ['bind', 'connect', 'fcntl', 'sendmsg'], 'action': 'SCMP_ACT_NOTIFY'}],
}

LIAR = '''#!/bin/sh
# A runc whose version string lies: 1.2.0's --version, rc.2's behaviour.
case "$1" in
  --version|-v) exec {fixed} --version ;;
esac
exec {affected} "$@"
'''


def ansible_playbook():
    found = shutil.which('ansible-playbook') or os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    if not os.path.exists(found):
        pytest.skip('ansible-playbook is not installed next to this Python')
    return found


@pytest.fixture(scope='module')
def audit(tmp_path_factory):
    """{'hosts': ..., 'by_runtime': {label: [findings]}, 'paths': {label: path}} of one audit run."""
    rc2 = realruntimes.runc_build('runc-v1.2.0-rc.2')
    fixed = realruntimes.runc_build('runc-v1.2.0')
    crun15 = realruntimes.crun_build('crun-1.5')
    tmp = tmp_path_factory.mktemp('audit-real')
    liar = tmp / 'runc'
    liar.write_text(LIAR.format(fixed=fixed, affected=rc2))
    liar.chmod(0o755)
    crun = realruntimes.crun_runner(crun15, str(tmp))
    profile = tmp / 'bypass4netns.json'
    profile.write_text(json.dumps(PROFILE))
    paths = {'rc2': rc2, 'liar': str(liar), 'crun15': crun}
    extra = {
        'audit_probe': True, 'audit_discover': False, 'audit_probe_timeout': 3,
        'audit_runtime_paths': [rc2, str(liar), crun], 'audit_profile_paths': [str(profile)],
        'audit_probe_syscalls': ['fcntl', 'sendmsg'],
        'audit_report_dir': str(tmp / 'reports'), 'audit_report_formats': ['json'],
    }
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='0', LANG='C.UTF-8',
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    proc = subprocess.run([ansible_playbook(), '-i', 'localhost,', '-c', 'local', 'runcguard.seccomp.audit',
                           '-e', json.dumps(extra)], capture_output=True, text=True, timeout=600, check=False, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    report = json.loads((tmp / 'reports' / 'runcguard-audit.json').read_text())
    host = report['hosts'][0]
    assert host['host'] == 'localhost' and host['status'] == 'ok', host
    by_runtime = dict((label, [f for f in host['findings'] if (f.get('runtime') or {}).get('path') == path])
                      for label, path in paths.items())
    # nothing of the probes is left running: no process of these runtimes (test_notify_probe.py
    # checks the cleanup in depth)
    ps = subprocess.run(['ps', '-eo', 'args'], capture_output=True, text=True, check=True).stdout
    assert [line for line in ps.splitlines() if any(path in line for path in (rc2, crun15, str(tmp)))] == []
    return {'host': host, 'by_runtime': by_runtime, 'paths': paths}


def _ids(findings):
    return dict((f['id'], f) for f in findings)


def test_rc2_probe_hang_beside_the_version_finding(audit):
    found = _ids(audit['by_runtime']['rc2'])
    assert found['notify-fcntl-hang']['severity'] == 'critical' and found['notify-fcntl-hang']['affected'] is True
    hang = found['notify-probe-hang']
    assert hang['severity'] == 'critical' and hang['syscalls'] == ['fcntl']
    assert hang['runtime']['version'] == '1.2.0-rc.2'
    assert 'noNewPrivileges=true' in hang['message'] and 'noNewPrivileges=false' in hang['message']
    # version and observation agree: no disagreement
    assert 'notify-probe-disagrees' not in found
    outcomes = [(p['syscall'], p['outcome']) for p in audit['host']['probe'] if p['runtime'] == audit['paths']['rc2']]
    assert sorted(outcomes) == [('fcntl', 'hang'), ('fcntl', 'hang'), ('sendmsg', 'ok'), ('sendmsg', 'ok')]


def test_runc_lying_about_its_version_is_caught(audit):
    found = _ids(audit['by_runtime']['liar'])
    # the version string says 1.2.0: no version-based hang finding ...
    assert found.get('notify-fcntl-hang', {}).get('affected') in (None, False)
    # ... but the canary hung, and the disagreement is named
    assert found['notify-probe-hang']['severity'] == 'critical'
    assert found['notify-probe-hang']['runtime']['version'] == '1.2.0'
    disagrees = found['notify-probe-disagrees']
    assert disagrees['severity'] == 'high' and disagrees['affected'] is True
    assert 'notify-fcntl-hang: version data says not affected, probe observed hang' in disagrees['message']


def test_crun_1_5_probe_hang_beside_the_version_finding(audit):
    found = _ids(audit['by_runtime']['crun15'])
    version = found['crun-notify-sendmsg-hang']
    assert version['affected'] is True and version['runtime']['name'] == 'crun'
    hang = found['notify-probe-hang']
    assert hang['severity'] == 'critical' and hang['syscalls'] == ['sendmsg']
    assert hang['runtime']['version'].startswith('1.5')
    assert 'notify-probe-disagrees' not in found
    outcomes = sorted((p['syscall'], p['outcome']) for p in audit['host']['probe'] if p['runtime'] == audit['paths']['crun15'])
    assert outcomes == [('fcntl', 'ok'), ('fcntl', 'ok'), ('sendmsg', 'hang'), ('sendmsg', 'hang')]
