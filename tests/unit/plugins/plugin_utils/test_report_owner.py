# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A rootless setup's findings through the whole controller path: every report format shows the
user (owner), waivers match the owner with a glob or a JMESPath ``when:``, and ``audit_fail_query``
can gate on it (through fleet_report's own query over the report's data)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import io
import json

from ansible_collections.runcguard.seccomp.plugins.action.fleet_report import ActionModule
from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _renderers, _report
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._hazards import evaluate
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._query import compile_query
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._waivers import apply_waivers

ALICE = {'name': 'rcg-alice', 'uid': 1234}
B4N = ['_exit', 'bind', 'close', 'connect', 'exit_group', 'fcntl', 'getpeername', 'setsockopt']
USER_RUNC = '/home/rcg-alice/.local/bin/runc'
SYSTEM_PROFILE = '/etc/containers/b4n.json'


def facts():
    user_runc = {'name': 'runc', 'path': USER_RUNC, 'version': '1.2.0-rc.2', 'dev': False, 'error': None,
                 'used_by': ['podman'], 'libseccomp': None, 'owner': ALICE, 'users': [ALICE['name']]}
    system_runc = {'name': 'runc', 'path': '/usr/bin/runc', 'version': '1.2.0-rc.1', 'dev': False, 'error': None,
                   'used_by': ['docker'], 'libseccomp': None, 'owner': None, 'users': []}
    user_profile = {'path': '/home/rcg-alice/.config/containers/seccomp.json', 'format': 'oci',
                    'origin': [{'engine': 'podman', 'setting': 'containers.conf seccomp_profile'}],
                    'default_action': 'SCMP_ACT_ALLOW', 'listener_path': '/run/user/1234/b4n.sock',
                    'listener_exists': None, 'notify_syscalls': B4N, 'error': None, 'owner': ALICE}
    system_profile = dict(user_profile, path=SYSTEM_PROFILE, owner=None,
                          origin=[{'engine': 'docker', 'setting': 'daemon.json seccomp-profile'}])
    return {'schema': 1, 'arch': 'x86_64', 'kernel': '6.1.0', 'libseccomp': '2.5.4',
            'runtimes': [user_runc, system_runc], 'profiles': [user_profile, system_profile]}


def fleet(waivers=()):
    host_facts = facts()
    findings = apply_waivers(evaluate(host_facts), list(waivers), 'node1', today='2026-06-01')
    return _report.build_fleet({'node1': _report.host_summary('node1', host_facts, findings)}, ['node1'])


def mine(findings):
    return [f for f in findings if (f.get('owner') or {}).get('name') == ALICE['name']]


def test_findings_of_a_users_runc_carry_the_owner_even_the_advisory_one():
    findings = evaluate(facts())
    ids = sorted(f['id'] for f in mine(findings))
    assert 'notify-fcntl-hang' in ids and 'runc-advisory' in ids
    for finding in mine(findings):
        assert finding['owner'] == ALICE
        assert finding['message'].endswith('Rootless setup of user rcg-alice (uid 1234).'), finding['id']
    # the system's runc and profile are no user's
    system = [f for f in findings if f['runtime'] and f['runtime']['path'] == '/usr/bin/runc']
    assert system and not any('owner' in f or 'rcg-alice' in f['message'] for f in system)


def test_every_report_format_shows_the_owner():
    report = fleet()
    texts = _renderers.render(report, list(_renderers.FORMATS))
    assert set(texts) == set(_renderers.FORMATS) >= {'json', 'md', 'html', 'junit', 'csv', 'sarif'}
    for fmt, text in texts.items():
        _renderers.validate(fmt, text, report)
        assert 'rcg-alice' in text, fmt
    rows = [r for r in csv.DictReader(io.StringIO(texts['csv'])) if r['kind'] == 'finding']
    by_owner = dict(((r['id'], r['runtime_path']), (r['owner'], r['owner_uid'])) for r in rows)
    assert by_owner[('notify-fcntl-hang', USER_RUNC)] == ('rcg-alice', '1234')
    assert by_owner[('runc-advisory', USER_RUNC)] == ('rcg-alice', '1234')
    assert by_owner[('runc-advisory', '/usr/bin/runc')] == ('', '')
    sarif = json.loads(texts['sarif'])
    results = sarif['runs'][0]['results']
    users = [r for r in results if r['properties'].get('owner')]
    assert users and all(r['properties']['owner'] == ALICE for r in users)
    # advisory results are one per advisory with their own message: it names the user too
    advisory = [r for r in users if r['ruleId'].startswith('runc-advisory/')]
    assert advisory and all(r['message']['text'].endswith('Rootless setup of user rcg-alice (uid 1234).')
                            for r in advisory)
    assert not [r for r in results if r['properties'].get('owner') is None and 'rcg-alice' in r['message']['text']]
    host = json.loads(texts['json'])['hosts'][0]
    assert {f['id'] for f in mine(host['findings'])} >= {'notify-fcntl-hang', 'runc-advisory'}


def test_waiver_when_on_owner_name_and_uid():
    waiver = {'id': 'notify-fcntl-hang', 'when': "owner.name == 'rcg-alice'", 'reason': 'lab', 'expires': '2099-01-01'}
    hang = [f for f in fleet([waiver])['hosts'][0]['findings'] if f['id'] == 'notify-fcntl-hang']
    # alice's finding is waived; the system profile's (no owner: owner.name is null) is not
    assert sorted((f['profile'], f['waived']) for f in hang) == [
        (SYSTEM_PROFILE, False), ('/home/rcg-alice/.config/containers/seccomp.json', True)]
    by_uid = dict(waiver, when='owner.uid == `1234`')
    assert [f['waived'] for f in fleet([by_uid])['hosts'][0]['findings']
            if f['id'] == 'notify-fcntl-hang' and f.get('owner')] == [True]
    other = dict(waiver, when='owner.uid == `1235`')
    assert not any(f['waived'] for f in fleet([other])['hosts'][0]['findings'])
    # a glob and a when together: both must match
    both = dict(waiver, owner='rcg-*', when="!contains(origin[].engine, 'podman')")
    assert not any(f['waived'] for f in fleet([both])['hosts'][0]['findings'])


def test_waiver_owner_glob_leaves_system_findings_alone():
    waiver = {'id': 'runc-advisory', 'owner': 'rcg-*', 'reason': 'users upgrade themselves', 'expires': '2099-01-01'}
    advisory = [f for f in fleet([waiver])['hosts'][0]['findings'] if f['id'] == 'runc-advisory']
    found = sorted((f['runtime']['path'], f['waived']) for f in advisory)
    assert found == [(USER_RUNC, True), ('/usr/bin/runc', False)]


def gate(expression, report):
    query = compile_query(expression, 'fail_query')
    return ActionModule._query(query, report, '/reports/runcguard-audit.json')


def test_audit_fail_query_on_owner():
    users = "hosts[].findings[?owner.name == 'rcg-alice' && severity == 'critical' && !waived][]"
    result = gate(users, fleet())
    assert result['failed'] is True and 'notify-fcntl-hang' in result['result']
    assert result['message'].startswith('runcguard audit gate failed (audit_fail_query=%s)' % users)
    # waived by a when: on the owner, the same gate passes
    waiver = {'id': 'notify-fcntl-hang', 'when': "owner.name == 'rcg-alice'", 'reason': 'lab', 'expires': '2099-01-01'}
    assert gate(users, fleet([waiver]))['failed'] is False
    # the owners of critical findings, deduplicated by the query itself
    owners = gate("hosts[].findings[?severity == 'critical'].owner.name[] | sort(@)", fleet())
    assert owners['failed'] is True and 'rcg-alice' in owners['result']
    assert gate("hosts[].findings[?owner.uid == `9999`][]", fleet())['failed'] is False
