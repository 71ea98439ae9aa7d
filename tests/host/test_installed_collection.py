# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection as a user gets it: `ansible-galaxy collection build`, `ansible-galaxy collection
install` into a temporary path, then the audit playbook runs from that installed copy alone.

The tarball must stay small and carry no caches, virtual environments or test output; the run
sees only the installed copy (ANSIBLE_COLLECTIONS_PATH is the install path, no PYTHONPATH, no
sys.path scanning, a private HOME), so a file missing from the artifact fails here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys
import tarfile

import jsonschema
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROFILES = os.path.join(ROOT, 'tests', 'unit', 'plugins', 'module_utils', 'fixtures', 'profiles')
SARIF_SCHEMA = os.path.join(ROOT, 'tests', 'unit', 'plugins', 'plugin_utils', 'fixtures', 'sarif-schema-2.1.0.json')
MAX_TARBALL = 2 * 1024 * 1024
# Path parts that must never ship: caches, virtual environments, test output, build leftovers.
FORBIDDEN_PARTS = ('.venv', '.cache', '.ansible', '__pycache__', '.pytest_cache', '.hypothesis', '.git',
                   '.tox', 'output', 'molecule', 'scripts', 'reports', 'results')


def _tool(name):
    found = os.path.join(os.path.dirname(sys.executable), name)
    if not os.path.exists(found):
        found = shutil.which(name)
    if not found:
        pytest.skip('%s is not installed next to this Python' % name)
    return found


def _run(argv, env, cwd):
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False, env=env, cwd=cwd)
    assert proc.returncode == 0, '%s\n%s\n%s' % (' '.join(argv), proc.stdout[-4000:], proc.stderr[-3000:])
    return proc


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """(tarball path, collections path, env that sees only the installed copy)."""
    base = tmp_path_factory.mktemp('installed')
    home = base / 'home'
    home.mkdir()
    colls = base / 'collections'
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(('ANSIBLE_', 'PYTHON')))
    env.update(HOME=str(home), LANG='C.UTF-8', LC_ALL='C.UTF-8', ANSIBLE_NOCOLOR='1',
               ANSIBLE_COLLECTIONS_PATH=str(colls), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH='false',
               ANSIBLE_LOCALHOST_WARNING='false', ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_LOCAL_TEMP=str(base / 'tmp'), ANSIBLE_REMOTE_TEMP=str(base / 'tmp'))
    galaxy = _tool('ansible-galaxy')
    _run([galaxy, 'collection', 'build', '--output-path', str(base), ROOT], env, str(base))
    tarballs = [p for p in os.listdir(str(base)) if p.endswith('.tar.gz')]
    assert len(tarballs) == 1, tarballs
    tarball = str(base / tarballs[0])
    _run([galaxy, 'collection', 'install', '--offline', '-p', str(colls), tarball], env, str(base))
    return tarball, colls, env


def test_tarball_is_small_and_clean(installed):
    tarball = installed[0]
    size = os.path.getsize(tarball)
    assert size < MAX_TARBALL, 'tarball is %d bytes' % size
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    bad = [n for n in names if set(n.split('/')) & set(FORBIDDEN_PARTS) or n.endswith(('.pyc', '.tar.gz'))]
    assert not bad, bad[:20]
    # what a user needs is there
    for needed in ('MANIFEST.json', 'FILES.json', 'meta/runtime.yml', 'playbooks/audit.yml',
                   'plugins/modules/runtime_facts.py', 'plugins/action/fleet_report.py',
                   'roles/audit/tasks/main.yml', 'README.md', 'LICENSE'):
        assert needed in names, needed


def test_only_the_installed_copy_is_visible(installed):
    _tarball, colls, env = installed
    proc = _run([_tool('ansible-galaxy'), 'collection', 'list', 'runcguard.seccomp', '--format', 'json'],
                env, str(colls))
    listing = json.loads(proc.stdout)
    assert list(listing) == [str(colls / 'ansible_collections')], listing


def test_audit_playbook_runs_from_the_installed_copy(installed, tmp_path):
    _tarball, colls, env = installed
    reports = tmp_path / 'reports'
    # the CI scan of a repository of profiles (docs/audit.md): no discovery, SARIF relative to the checkout
    extra = {'audit_discover': False, 'audit_profile_paths': [PROFILES], 'audit_report_dir': str(reports),
             'audit_report_formats': ['json', 'md', 'sarif'], 'audit_report_timestamp': False,
             'audit_sarif_base': ROOT}
    proc = _run([_tool('ansible-playbook'), '-i', 'localhost,', '-c', 'local', 'runcguard.seccomp.audit',
                 '-e', json.dumps(extra)], env, str(tmp_path))
    assert 'runcguard.seccomp fleet audit' in proc.stdout or 'TOTAL' in proc.stdout, proc.stdout[-3000:]
    data = json.loads((reports / 'runcguard-audit.json').read_text())
    (host,) = data['hosts']
    assert host['host'] == 'localhost' and host['status'] == 'ok', host
    # the fixtures were analysed by the installed module_utils (bundle-noseccomp.json has no seccomp)
    assert (host['profiles'], host['notify_profiles'], host['errors']) == (5, 3, [])
    found = set((f['id'], os.path.basename(f['profile'])) for f in host['findings'])
    assert ('notify-default-action', 'notify-default.json') in found, sorted(found)
    assert ('notify-listener-absent', 'bypass4netns-oci.json') in found, sorted(found)
    assert (reports / 'runcguard-audit.md').is_file()
    with open(SARIF_SCHEMA) as handle:
        validator = jsonschema.Draft4Validator(json.load(handle))
    sarif = json.loads((reports / 'runcguard-audit.sarif').read_text())
    errors = ['%s: %s' % (list(e.path), e.message) for e in validator.iter_errors(sarif)]
    assert not errors, errors[:10]
    results = sarif['runs'][0]['results']
    assert len(results) == len(host['findings'])
    uris = set(r['locations'][0]['physicalLocation']['artifactLocation']['uri'] for r in results)
    assert 'tests/unit/plugins/module_utils/fixtures/profiles/notify-default.json' in uris, uris
