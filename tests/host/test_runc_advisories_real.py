# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""runc security advisories in a real audit of real runc builds and of this machine's Debian runc (root).

One `ansible-playbook runcguard.seccomp.audit` run over localhost (discovery off) with the real builds
runc 1.1.13, 1.2.0 and 1.3.6 from shared/runc-builds and, when installed, Debian 12's own runc package
(/usr/sbin/runc, 1.1.5+ds1-1+deb12u1): 1.1.13 carries five advisories, 1.2.0 four, 1.3.6 none, and
Debian's runc is judged as its changelog says (CVE-2024-21626 backported, five open). The JSON, SARIF
and HTML reports say the same. Skips without shared/runc-builds.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

import realruntimes
from test_audit_real_runtimes import ansible_playbook

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='reads root-owned package changelogs: root only')

FIVE = ['GO-2024-3110', 'GO-2025-4096', 'GO-2025-4097', 'GO-2025-4098', 'GO-2026-5761']
DEBIAN_RUNC = '/usr/sbin/runc'


def _debian_runc():
    """The Debian package version of /usr/sbin/runc, or None when it is not Debian's runc package."""
    proc = subprocess.run(['dpkg-query', '-W', '-f=${Version}', 'runc'], capture_output=True, text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 and os.path.isfile(DEBIAN_RUNC) else None


@pytest.fixture(scope='module')
def audit(tmp_path_factory):
    paths = dict((label, realruntimes.runc_build(label)) for label in ('runc-v1.1.13', 'runc-v1.2.0', 'runc-v1.3.6'))
    debian = _debian_runc()
    if debian:
        paths['debian'] = DEBIAN_RUNC
    tmp = tmp_path_factory.mktemp('rcg-noharm-advisories')
    extra = {'audit_discover': False, 'audit_runtime_paths': list(paths.values()), 'audit_profile_paths': [],
             'audit_report_dir': str(tmp / 'reports'), 'audit_report_formats': ['json', 'sarif', 'html']}
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='0', LANG='C.UTF-8',
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    proc = subprocess.run([ansible_playbook(), '-i', 'localhost,', '-c', 'local', 'runcguard.seccomp.audit',
                           '-e', json.dumps(extra)], capture_output=True, text=True, timeout=600, check=False, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    reports = tmp / 'reports'
    report = json.loads((reports / 'runcguard-audit.json').read_text())
    (host,) = report['hosts']
    assert host['status'] == 'ok', host
    found = dict((label, [f for f in host['findings'] if f['id'] == 'runc-advisory'
                          and (f.get('runtime') or {}).get('path') == path]) for label, path in paths.items())
    return {'report': report, 'host': host, 'found': found, 'paths': paths, 'debian': debian,
            'sarif': json.loads((reports / 'runcguard-audit.sarif').read_text()),
            'html': (reports / 'runcguard-audit.html').read_text()}


@pytest.mark.parametrize('label, expected', [
    ('runc-v1.1.13', FIVE),
    ('runc-v1.2.0', FIVE[1:]),
    ('runc-v1.3.6', None),
])
def test_real_builds_flagged_by_version(audit, label, expected):
    findings = audit['found'][label]
    if expected is None:
        assert findings == []
        return
    (finding,) = findings
    assert finding['severity'] == 'high' and finding['affected'] is True
    assert [a['go'] for a in finding['advisories']['open']] == expected
    assert finding['advisories']['safe_release'] == '1.3.6' and finding['advisories']['line_floor'] is None
    for go_id in expected:
        assert go_id in finding['message']
    assert 'CVE-2025-52565' in finding['message'] and 'GHSA-qw9x-cqr3-wc7r' in finding['message']
    assert 'lowest safe release overall: 1.3.6' in finding['message']


def test_debian_runc_as_its_changelog_says(audit):
    if not audit['debian']:
        pytest.skip('Debian runc package is not installed here')
    (finding,) = audit['found']['debian']
    state = finding['advisories']
    assert finding['runtime']['version'] == '1.1.5'
    runtime = [r for r in audit['host']['runtimes'] if r['path'] == DEBIAN_RUNC][0]
    package = runtime['package']
    assert package['name'] == 'runc' and package['version'] == audit['debian']
    if package['advisory_ids'] is None:
        # the changelog could not be read: said so, judged by the version alone (six open)
        assert package['changelog_error'] and package['changelog_error'] in finding['message']
        return
    # bookworm-security 1.1.5+ds1-1+deb12u1: CVE-2024-21626 backported (upstream fix 1.1.12)
    assert 'CVE-2024-21626' in package['advisory_ids']
    assert [a['go'] for a in state['backported']] == ['GO-2024-2491']
    assert [a['go'] for a in state['open']] == FIVE
    assert 'fixed by backport: GO-2024-2491 (CVE-2024-21626' in finding['message']


def test_inventory_counts_advisories_per_version(audit):
    by_version = dict((b['version'], b['advisories']) for b in audit['report']['runtime_inventory'])
    assert by_version['1.1.13']['count'] == 5 and by_version['1.1.13']['open'] == FIVE
    assert by_version['1.2.0']['count'] == 4
    assert by_version['1.3.6'] == {'open': [], 'unknown': [], 'backported': [], 'count': 0}
    if audit['debian'] and by_version['1.1.5']['backported']:
        assert by_version['1.1.5']['count'] == 5 and by_version['1.1.5']['backported'] == ['GO-2024-2491']


def test_sarif_has_a_rule_per_advisory_and_html_shows_the_runtimes(audit):
    run = audit['sarif']['runs'][0]
    rules = set(r['id'] for r in run['tool']['driver']['rules'])
    assert set('runc-advisory/' + i for i in FIVE) <= rules
    per_path = {}
    for result in run['results']:
        if result['ruleId'].startswith('runc-advisory/'):
            per_path.setdefault(result['properties']['runtime']['path'], []).append(result['ruleId'].split('/')[1])
    assert sorted(per_path[audit['paths']['runc-v1.1.13']]) == FIVE
    assert audit['paths']['runc-v1.3.6'] not in per_path
    html = audit['html']
    table = html[html.index('<table id="runtime-advisories">'):]
    table = table[:table.index('</table>')]
    assert table.count('<tr class="advisory-build"') == (3 if audit['debian'] else 2)
    assert '<td>1.1.13</td>' in table and '<td>1.2.0</td>' in table and '<td>1.3.6</td>' not in table
