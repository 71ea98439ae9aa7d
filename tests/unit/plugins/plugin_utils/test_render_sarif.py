# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SARIF 2.1.0 report: valid against the OASIS schema, one rule per hazard, one result per finding."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

import jsonschema
import pytest

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._hazards import CATALOGUE, evaluate
from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _render_sarif, _renderers, _report
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._waivers import apply_waivers

SCHEMA_FILE = os.path.join(os.path.dirname(__file__), 'fixtures', 'sarif-schema-2.1.0.json')
EVIL = '/srv/profiles/team a/<script>x</script>%20.json'


def sarif_validator():
    with open(SCHEMA_FILE) as handle:
        schema = json.load(handle)
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


def assert_valid(text):
    errors = sorted(sarif_validator().iter_errors(json.loads(text)), key=lambda e: list(e.path))
    assert not errors, ['%s: %s' % ('/'.join(str(p) for p in e.path), e.message) for e in errors[:10]]


def _facts(path, notify, runc_version='1.2.0-rc.2'):
    return {'runtimes': [{'name': 'runc', 'path': '/usr/bin/runc', 'version': runc_version, 'used_by': ['docker']}],
            'profiles': [{'path': path, 'format': 'oci', 'origin': [{'engine': 'docker', 'setting': 'seccomp'}],
                          'default_action': 'SCMP_ACT_ALLOW', 'listener_path': '/run/agent.sock',
                          'listener_exists': True, 'notify_syscalls': sorted(notify), 'error': None}]}


def fleet():
    waivers = [{'id': 'notify-runtime-sensitive', 'host': '*', 'reason': 'agent handles close', 'expires': '2099-01-01'}]
    summaries = {}
    for host, facts in (('node1', _facts('/srv/profiles/agent.json', ['fcntl', 'close'])),
                        ('node2', _facts(EVIL, ['write'], '1.1.13')),
                        ('node3', _facts('/etc/docker/seccomp.json', ['fcntl', 'write'], '1.2.0'))):
        findings = apply_waivers(evaluate(facts), waivers, host, today='2026-06-01')
        summaries[host] = _report.host_summary(host, facts, findings)
    summaries['down'] = _report.host_summary('down', status='unreachable', message='ssh: timed out')
    return _report.build_fleet(summaries, fail_on='high', waivers=waivers)


@pytest.fixture(scope='module')
def report():
    data = fleet()
    text = _render_sarif.render(data, base='/srv/profiles/')
    return data, text, json.loads(text)


def test_schema_valid_with_and_without_base(report):
    data, text, _log = report
    assert_valid(text)
    assert_valid(_render_sarif.render(data))
    assert_valid(_render_sarif.render(_report.build_fleet({})))  # no hosts at all
    _render_sarif.validate(text, data)


def test_the_validator_catches_a_broken_log(report):
    log = json.loads(report[1])
    log['runs'][0]['results'][0]['level'] = 'fatal'
    del log['runs'][0]['tool']['driver']['name']
    assert len(list(sarif_validator().iter_errors(log))) == 2


def test_one_rule_per_hazard(report):
    rules = report[2]['runs'][0]['tool']['driver']['rules']
    assert sorted(r['id'] for r in rules if not r['id'].startswith('runc-advisory/')) == sorted(CATALOGUE)
    fcntl = [r for r in rules if r['id'] == 'notify-fcntl-hang'][0]
    assert fcntl['name'] == 'NotifyFcntlHang'
    assert fcntl['shortDescription']['text'] == CATALOGUE['notify-fcntl-hang']['title']
    assert 'runc 1.2.0-rc.1 and 1.2.0-rc.2' in fcntl['fullDescription']['text']
    assert fcntl['helpUri'] == 'https://github.com/opencontainers/runc/issues/4328'
    assert '`pin_runc`' in fcntl['help']['markdown'] and 'Upgrade runc' in fcntl['help']['text']
    assert fcntl['properties']['security-severity'] == '9.5'
    assert [r['properties']['security-severity'] for r in rules if r['id'] == 'notify-runtime-sensitive'] == ['0.0']


def test_one_result_per_finding(report):
    data, _text, log = report
    run = log['runs'][0]
    findings = [(h['host'], f) for h in data['hosts'] for f in h['findings'] if f['id'] != 'runc-advisory']
    results = [r for r in run['results'] if not r['ruleId'].startswith('runc-advisory/')]
    assert len(results) == len(findings) == 4
    by_rule = dict((r['ruleId'], r) for r in run['results'] if r['properties']['host'] == 'node1'
                   and r['ruleId'] == 'notify-fcntl-hang')
    hang = by_rule['notify-fcntl-hang']
    assert hang['level'] == 'error' and 'hangs' in hang['message']['text']
    assert run['tool']['driver']['rules'][hang['ruleIndex']]['id'] == 'notify-fcntl-hang'
    assert hang['properties']['runtime'] == {'name': 'runc', 'path': '/usr/bin/runc', 'version': '1.2.0-rc.2'}
    levels = [(r['properties']['host'], r['ruleId'], r['level']) for r in results]
    assert levels == [('node1', 'notify-fcntl-hang', 'error'), ('node2', 'notify-write-rejected', 'error'),
                      ('node3', 'notify-write-rejected', 'error'), ('node1', 'notify-runtime-sensitive', 'note')]


def test_locations_relative_to_the_base_and_escaped(report):
    results = report[2]['runs'][0]['results']
    locations = dict((r['properties']['host'], r['locations'][0]['physicalLocation']['artifactLocation'])
                     for r in results if r['ruleId'] != 'notify-runtime-sensitive' and r['properties']['profile'])
    assert locations['node1'] == {'uri': 'agent.json', 'uriBaseId': '%SRCROOT%'}
    assert locations['node2'] == {'uri': 'team%20a/%3Cscript%3Ex%3C/script%3E%2520.json', 'uriBaseId': '%SRCROOT%'}
    assert locations['node3'] == {'uri': 'file:///etc/docker/seccomp.json'}  # outside the base: absolute
    assert report[2]['runs'][0]['originalUriBaseIds'] == {'%SRCROOT%': {'uri': 'file:///srv/profiles/'}}
    absolute = json.loads(_render_sarif.render(report[0]))['runs'][0]
    assert 'originalUriBaseIds' not in absolute
    assert all(r['locations'][0]['physicalLocation']['artifactLocation']['uri'].startswith('file:///')
               for r in absolute['results'])


def test_fingerprints_are_stable_and_per_host(report):
    data, _text, log = report
    prints = [r['partialFingerprints']['runcguardFindingKey/v1'] for r in log['runs'][0]['results']]
    assert len(set(prints)) == len(prints)
    again = json.loads(_render_sarif.render(fleet(), base='/srv/profiles'))
    assert [r['partialFingerprints'] for r in again['runs'][0]['results']] == \
        [r['partialFingerprints'] for r in log['runs'][0]['results']]


def test_waived_findings_are_suppressed_and_unaudited_hosts_notified(report):
    run = report[2]['runs'][0]
    waived = [r for r in run['results'] if r.get('suppressions')]
    assert [r['ruleId'] for r in waived] == ['notify-runtime-sensitive']
    assert waived[0]['suppressions'][0]['justification'].startswith('agent handles close')
    invocation = run['invocations'][0]
    assert invocation['executionSuccessful'] is False
    assert ['down' in n['message']['text'] for n in invocation['toolExecutionNotifications']] == [True]


def test_validate_rejects_a_wrong_result_count(report):
    data, text, _log = report
    log = json.loads(text)
    log['runs'][0]['results'].pop()
    with pytest.raises(ValueError):
        _render_sarif.validate(json.dumps(log), data)


def test_sarif_is_opt_in_and_takes_its_base_through_render_options(report):
    assert 'sarif' in _renderers.FORMATS and 'sarif' not in _renderers.DEFAULT_FORMATS
    assert _renderers.EXTENSIONS['sarif'] == 'sarif'
    texts = _renderers.render(report[0], ['sarif', 'json'], {'sarif': {'base': '/srv/profiles'}})
    assert texts['sarif'] == report[1]


def test_a_rule_and_a_result_per_runc_advisory(report):
    data, _text, log = report
    run = log['runs'][0]
    rules = dict((r['id'], r) for r in run['tool']['driver']['rules'])
    # node1 runs 1.2.0-rc.2 and node2 1.1.13 (five each), node3 1.2.0 (four)
    advisory = [r for r in run['results'] if r['ruleId'].startswith('runc-advisory/')]
    assert sorted((r['properties']['host'], r['ruleId'].split('/')[1]) for r in advisory if r['properties']['host'] == 'node3') \
        == [('node3', 'GO-2025-4096'), ('node3', 'GO-2025-4097'), ('node3', 'GO-2025-4098'), ('node3', 'GO-2026-5761')]
    assert len(advisory) == 5 + 5 + 4
    assert sorted(i for i in rules if i.startswith('runc-advisory/')) == [
        'runc-advisory/GO-2024-3110', 'runc-advisory/GO-2025-4096', 'runc-advisory/GO-2025-4097',
        'runc-advisory/GO-2025-4098', 'runc-advisory/GO-2026-5761']
    rule = rules['runc-advisory/GO-2025-4097']
    assert rule['shortDescription']['text'].startswith('GO-2025-4097, CVE-2025-52565, GHSA-qw9x-cqr3-wc7r: Container escape')
    assert rule['helpUri'] == 'https://github.com/opencontainers/runc/security/advisories/GHSA-qw9x-cqr3-wc7r'
    assert 'CVE-2025-52565' in rule['properties']['tags'] and rule['properties']['security-severity'] == '8.0'
    assert 'Fixed in runc 1.2.8, 1.3.3, 1.4.0-rc.3' in rule['help']['text'] and 'CC-BY-4.0' in rule['help']['text']
    one = [r for r in advisory if r['properties']['host'] == 'node2' and r['ruleId'].endswith('GO-2024-3110')][0]
    assert run['tool']['driver']['rules'][one['ruleIndex']]['id'] == one['ruleId'] and one['level'] == 'error'
    assert one['message']['text'].startswith('runc 1.1.13 at /usr/bin/runc: GO-2024-3110 (CVE-2024-45310')
    assert one['locations'][0]['physicalLocation']['artifactLocation'] == {'uri': 'file:///usr/bin/runc'}
    assert one['properties']['advisory'] == 'GO-2024-3110' and one['properties']['advisory_status'] == 'open'


INJECTED = '[click](https://evil.example/x) <img src=x> **owned**'


def test_advisory_text_of_a_merged_partial_never_reaches_the_rules(tmp_path):
    """Red team: a partial's advisories.open[].summary/url/fixed/cve went into help.markdown unescaped
    and its hazard ids became rule ids. Rules now take advisory text from the controller's table
    by GO id (unknown ids dropped), rule ids are hazard-id shaped and every helpUri is https://."""
    from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _advisories, _partials
    hosts = fleet()['hosts']
    node1 = [h for h in hosts if h['host'] == 'node1'][0]
    advisory = [f for f in node1['findings'] if f['id'] == 'runc-advisory'][0]
    real = advisory['advisories']['open'][0]
    advisory['advisories']['open'][0] = dict(real, summary=INJECTED, url='javascript:alert(1)', fixed=[INJECTED],
                                             cve=[INJECTED])
    advisory['advisories']['open'].append(dict(real, go='GO-9999-0001 ' + INJECTED, summary=INJECTED))
    advisory['advisories']['unknown'] = [dict(real, go='GO-9999-0002', url='https://evil.example/')]
    node1['findings'].append(dict(advisory, id='x](https://evil.example) **y**', key='k', advisories=None))
    _partials.write_partial(str(tmp_path), hosts, 'job-1')
    merged, _info = _partials.read_partials(str(tmp_path))
    data = _report.build_fleet(merged)
    text = _render_sarif.render(data)
    assert_valid(text)
    _render_sarif.validate(text, data)
    assert 'evil.example' not in text and 'javascript:' not in text and 'GO-9999' not in text and '**owned' not in text
    rules = json.loads(text)['runs'][0]['tool']['driver']['rules']
    table = _advisories.find_advisory(real['go'])
    rule = [r for r in rules if r['id'] == 'runc-advisory/' + real['go']][0]
    assert rule['helpUri'] == table['url'] and table['summary'].split(' in github.com')[0] in rule['help']['markdown']
    assert all(r['helpUri'].startswith('https://') for r in rules if 'helpUri' in r)
    assert [r['id'] for r in rules if not r['id'].startswith('runc-advisory/') and r['id'] not in CATALOGUE] == [
        'unknown']
    results = json.loads(text)['runs'][0]['results']
    assert len([r for r in results if r['ruleId'] == 'unknown']) == 1


def test_help_markdown_is_escaped_where_it_is_built(monkeypatch):
    """Every piece of text in help.markdown is markdown-escaped, even the controller's own."""
    from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _catalogue
    monkeypatch.setitem(_catalogue.STRATEGIES, 'pin_runc', 'Pin *runc* [x](https://evil.example) <b>')
    rule = _render_sarif._rule('notify-fcntl-hang', None, None)
    assert '- `pin_runc`: Pin \\*runc\\* \\[x\\](https://evil.example) &lt;b&gt;' in rule['help']['markdown']
    item = _render_sarif.advisory_items({'id': 'runc-advisory', 'advisories': {'open': [
        {'go': 'GO-2024-3110', 'summary': INJECTED, 'why': 'x'}]}})[0]
    assert item['summary'] != INJECTED and item['status'] == 'open'
    markdown = _render_sarif._advisory_rule(item)['help']['markdown']
    assert '<https://' in markdown and 'Go Vulnerability Database' in markdown and INJECTED not in markdown
