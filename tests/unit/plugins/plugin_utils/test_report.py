# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import csv
import io
import json
import os
from html.parser import HTMLParser
from xml.etree import ElementTree

import pytest
import yaml

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._hazards import CATALOGUE, evaluate
from ansible_collections.runcguard.seccomp.plugins.modules import fleet_report
from ansible_collections.runcguard.seccomp.plugins.plugin_utils import (
    _render_csv,
    _render_html,
    _render_json,
    _render_junit,
    _render_md,
    _renderers,
    _report,
    _report_text,
)
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._waivers import apply_waivers

EVIL = '/etc/<script>alert(1)</script>|=cmd|"x"&.json'


def runc(version, path='/usr/bin/runc', error=None):
    return {'name': 'runc', 'path': path, 'version': version, 'used_by': ['docker'], 'error': error}


def profile(path, notify, listener='/run/agent.sock', error=None):
    return {'path': path, 'format': 'oci', 'origin': [{'engine': 'docker', 'setting': 'daemon.json seccomp-profile'}],
            'default_action': 'SCMP_ACT_ALLOW', 'listener_path': listener, 'listener_exists': True,
            'notify_syscalls': sorted(notify), 'error': error}


FACTS = {
    'web2': {'runtimes': [runc('1.3.6')], 'profiles': [profile('/etc/docker/b4ns.json', ['fcntl', 'connect'])]},
    'web10': {'runtimes': [runc('1.2.0-rc.2')], 'profiles': [profile(EVIL, ['fcntl', 'close'])]},
    'broken': {'runtimes': [runc(None, '/usr/local/bin/runc', error='timed out after 5 s')],
               'profiles': [profile('/etc/docker/bad.json', [], error='malformed JSON: Expecting value at line 1')],
               'engines': {'docker': {'config': ['/etc/docker/daemon.json'], 'error': 'permission denied'}},
               'scan': {'errors': [{'path': '/etc/docker/bad.json', 'error': 'malformed JSON: Expecting value at line 1'},
                                   {'path': '/srv/locked', 'error': 'permission denied'}]}},
}
WAIVERS = [{'id': 'notify-runtime-sensitive', 'host': 'web*', 'reason': 'agent intercepts close', 'expires': '2030-01-01'},
           {'id': 'notify-fcntl-hang', 'host': 'web10', 'reason': 'old ticket', 'expires': '2020-01-01'}]


def summaries():
    out = {}
    for host, facts in FACTS.items():
        findings = apply_waivers(evaluate(facts), WAIVERS, host, today='2026-06-01')
        out[host] = _report.host_summary(host, facts, findings)
    out['gone'] = _report.host_summary('gone', status='unreachable', message='ssh: connect to host gone: timed out')
    return out


@pytest.fixture
def fleet():
    return _report.build_fleet(summaries(), hosts=['web10', 'web2', 'broken', 'gone', 'never-ran'], fail_on='high',
                               generated_at='2026-06-01T00:00:00Z', waivers=WAIVERS)


def test_hosts_sorted_naturally_and_none_dropped(fleet):
    assert [h['host'] for h in fleet['hosts']] == ['broken', 'gone', 'never-ran', 'web2', 'web10']
    assert [h['status'] for h in fleet['hosts']] == ['ok', 'unreachable', 'missing', 'ok', 'ok']
    assert fleet['totals']['hosts'] == 5 and fleet['totals']['audited'] == 3
    assert fleet['totals']['unreachable'] == 1 and fleet['totals']['missing'] == 1


def test_counts_waivers_and_verdict(fleet):
    web10 = fleet['hosts'][4]
    assert web10['counts']['critical'] == 1 and web10['max_severity'] == 'critical'
    assert web10['waived'] == 1  # runtime-sensitive (close) waived
    assert [f['id'] for f in web10['findings'] if not f['waived']] == ['notify-fcntl-hang', 'runc-advisory']
    assert fleet['hosts'][3]['max_severity'] is None  # runc 1.3.6: fcntl under NOTIFY is fine, no advisory
    assert fleet['by_severity']['critical'] == 1
    assert fleet['expired_waivers'][0]['hosts'] == ['web10']
    assert fleet['verdict']['failed'] is True
    assert fleet['verdict']['blocking'] == [{'host': 'web10', 'id': 'notify-fcntl-hang', 'severity': 'critical',
                                             'profile': EVIL},
                                            {'host': 'web10', 'id': 'runc-advisory', 'severity': 'high', 'profile': None}]
    assert fleet['verdict']['unaudited'] == ['gone', 'never-ran']


@pytest.mark.parametrize('fail_on, unaudited, failed', [
    ('none', True, False), ('critical', False, True), ('info', False, True)])
def test_fail_on_thresholds(fail_on, unaudited, failed):
    f = _report.build_fleet(summaries(), fail_on=fail_on, fail_on_unaudited=unaudited)
    assert f['verdict']['failed'] is failed


def test_fail_on_unaudited_alone():
    clean = {'a': _report.host_summary('a', {}, []), 'b': _report.host_summary('b', status='failed', message='x')}
    assert _report.build_fleet(clean, fail_on='critical')['verdict']['failed'] is True
    assert _report.build_fleet(clean, fail_on='critical', fail_on_unaudited=False)['verdict']['failed'] is False


def test_errors_collected_and_deduplicated(fleet):
    errors = fleet['hosts'][0]['errors']
    assert [(e['source'], e['path']) for e in errors] == [
        ('profile', '/etc/docker/bad.json'), ('engine', '/etc/docker/daemon.json'),
        ('scan', '/srv/locked'), ('runtime', '/usr/local/bin/runc')]
    assert fleet['totals']['errors'] == 4


def test_json_is_versioned_and_round_trips(fleet):
    data = json.loads(_render_json.render(fleet))
    assert data['schema_version'] == 1
    assert data['hosts'][4]['findings'][0]['profile'] == EVIL


def test_rendering_is_deterministic():
    a = _renderers.render(_report.build_fleet(summaries(), generated_at='t'))
    b = _renderers.render(_report.build_fleet(dict(reversed(list(summaries().items()))), generated_at='t'))
    assert a == b


def test_html_escapes_untrusted_text(fleet):
    text = _render_html.render(fleet)
    assert '<script>alert(1)' not in text
    assert '&lt;script&gt;alert(1)&lt;/script&gt;' in text
    assert 'src=' not in text and 'http://' not in text.split('<script>', maxsplit=1)[0].replace('https://', '')
    parser = HTMLParser()
    parser.feed(text)
    # every finding row is there with its key
    assert text.count('<tr class="finding') == sum(len(h['findings']) for h in fleet['hosts'])


def test_md_escapes_pipes_and_html(fleet):
    text = _render_md.render(fleet)
    assert '<script>' not in text
    row = [line for line in text.splitlines() if 'notify\\-fcntl' in line or 'notify-fcntl-hang' in line
           and line.startswith('| web10')][0]
    assert row.count(' | ') == 7  # 8 columns: the pipe in the path did not add one
    assert '## Errors and hosts not audited' in text and 'unreachable' in text


def test_junit_cases_failures_and_errors(fleet):
    root = ElementTree.fromstring(_render_junit.render(fleet).encode())
    suites = dict((s.get('name'), s) for s in root.findall('testsuite'))
    gates = suites.pop('runcguard gates')
    assert sorted(suites) == ['broken', 'gone', 'never-ran', 'web10', 'web2']
    n_hazards = len(CATALOGUE)
    assert all(len(s.findall('testcase')) == n_hazards + 1 for s in suites.values())
    failing = [(c.get('classname'), c.get('name')) for c in root.iter('testcase') if c.find('failure') is not None]
    # the fail_on=high gate failed on web10's critical finding: its own case fails too
    assert failing == [('web10', 'notify-fcntl-hang'), ('web10', 'runc-advisory'), ('runcguard gates', 'audit_fail_on')]
    assert [c.get('name') for c in gates.findall('testcase')] == ['audit_fail_on']
    erroring = sorted(c.get('classname') for c in root.iter('testcase') if c.find('error') is not None)
    assert erroring == ['gone', 'never-ran']
    skipped = [c.get('name') for c in suites['web10'].findall('testcase') if c.find('skipped') is not None]
    assert skipped == ['notify-runtime-sensitive']
    assert root.get('failures') == '3' and root.get('errors') == '2'


@pytest.mark.parametrize('hosts,fail_on,query,expected', [
    (None, 'none', None, 'Gate: none (the audit never fails the play).'),
    (None, 'high', None, 'Gate: audit_fail_on=high FAILED: 2 active findings at or above high, 2 hosts not audited.'),
    (['web2'], 'critical', None, 'Gate: audit_fail_on=critical passed: no active finding at or above critical.'),
    (None, 'none', (False, '[]'), 'Gate: audit_fail_query=hosts[].x passed: result [].'),
    (None, 'high', (True, '["web10"]'), 'Gates: audit_fail_on=high FAILED: 2 active findings at or above high, '
                                        '2 hosts not audited; audit_fail_query=hosts[].x FAILED: result ["web10"].'),
])
def test_every_format_names_every_gate(hosts, fail_on, query, expected):
    names = hosts or ['web10', 'web2', 'broken', 'gone', 'never-ran']
    fleet = _report.build_fleet(dict((k, v) for k, v in summaries().items() if k in names), hosts=names,
                                fail_on=fail_on, generated_at='2026-01-01T00:00:00Z')
    if query:
        _report.set_query_verdict(fleet, 'hosts[].x', *query)
    assert _report_text.verdict_line(fleet) == expected
    assert expected in _report_text.summary_table(fleet)
    texts = _renderers.render(fleet, list(_renderers.EXTENSIONS))
    active = fleet['verdict']['gates']
    assert [g['gate'] for g in active] == (['audit_fail_on'] if fail_on != 'none' else []) + (
        ['audit_fail_query'] if query else [])
    assert json.loads(texts['json'])['verdict']['gates'] == active
    assert _render_md.md(expected) in texts['md'] and expected.replace('"', '&quot;') in texts['html']
    gate_rows = [r for r in csv.DictReader(io.StringIO(texts['csv'])) if r['kind'] == 'gate']
    assert [(r['id'], r['status']) for r in gate_rows] == (
        [(g['gate'], 'failed' if g['failed'] else 'passed') for g in active] or [('', 'none')])
    suite = [s for s in ElementTree.fromstring(texts['junit'].encode()).findall('testsuite')
             if s.get('name') == 'runcguard gates'][0]
    assert [c.get('name') for c in suite.findall('testcase')] == [g['gate'] for g in active]
    assert suite.get('failures') == str(sum(1 for g in active if g['failed']))
    assert json.loads(texts['sarif'])['runs'][0]['properties']['gates'] == active


def test_csv_rows_and_injection_safety(fleet):
    rows = list(csv.DictReader(io.StringIO(_render_csv.render(fleet))))
    kinds = [(r['host'], r['kind']) for r in rows]
    assert ('gone', 'host') in kinds and ('never-ran', 'host') in kinds and ('web2', 'host') in kinds
    assert kinds.count(('broken', 'error')) == 4
    assert all(not r[c] or r[c][0] not in '=+-@' for r in rows for c in r)
    assert _render_csv.csv_cell('=1+1') == "'=1+1" and _render_csv.csv_cell('-x') == "'-x" and _render_csv.csv_cell('a=b') == 'a=b'


def test_unknown_runtime_and_odd_values_render():
    summary = _report.host_summary('h', {}, [{'id': 'notify-fcntl-hang', 'severity': 'medium', 'profile': None,
                                              'runtime': {'name': None, 'path': None, 'version': None},
                                              'affected': 'unknown', 'syscalls': None, 'message': None}])
    fleet = _report.build_fleet({'h': summary})
    texts = _renderers.render(fleet)
    assert 'runtime unknown (?)' in texts['md'] and 'unknown' in texts['csv']
    ElementTree.fromstring(texts['junit'].encode())


def test_control_characters_do_not_break_xml():
    summary = _report.host_summary('h', {}, [{'id': 'x', 'severity': 'high', 'profile': '/a\x01b', 'message': 'm\x00'}])
    ElementTree.fromstring(_render_junit.render(_report.build_fleet({'h': summary})).encode())


TERMINAL_ATTACK = '/etc/\x1b]0;owned\x07\x1b[2J\x00x\u202egnp.json\x9b31m\u2066'
SHOWN = '/etc/\\x1b]0;owned\\x07\\x1b[2J\\x00x\\u202egnp.json\\x9b31m\\u2066'
RAW = ('\x1b', '\x07', '\x00', '\u202e', '\x9b', '\u2066')


def test_controls_and_bidi_overrides_are_escaped_in_every_format():
    """ESC, BEL, NUL, CSI, U+202E from facts never reach a report raw: a terminal or an editor showing
    the report can neither be driven nor fooled by right-to-left text."""
    facts = {'runtimes': [runc('1.2.0-rc.2', error=None)],
             'profiles': [profile(TERMINAL_ATTACK, ['fcntl'])],
             'scan': {'errors': [{'path': TERMINAL_ATTACK, 'error': 'bad \x1b[31mred\u202e'}]}}
    summaries = {'h\x1bost': _report.host_summary('h\x1bost', facts, evaluate(facts))}
    fleet = _report.build_fleet(summaries, fail_on='high')
    texts = _renderers.render(fleet, _renderers.FORMATS)
    for fmt, text in texts.items():
        assert not [c for c in RAW if c in text], fmt
    for fmt in ('md', 'html', 'csv', 'junit'):
        assert 'gnp.json' in texts[fmt] and '\\u202e' in texts[fmt] and '\\x1b' in texts[fmt], fmt
    assert SHOWN in texts['csv'] and SHOWN in texts['junit']
    data = json.loads(texts['json'])  # escapes in the file, the exact text once decoded
    assert data['hosts'][0]['findings'][0]['profile'] == TERMINAL_ATTACK
    assert '\\u202e' in texts['json'] and '\\u001b' in texts['json']
    for line in _report_text.summary_table(fleet) + [_report_text.verdict_message(fleet)]:
        assert not [c for c in RAW if c in line]


def test_summary_table(fleet):
    lines = _report_text.summary_table(fleet)
    assert lines[0].split()[:3] == ['host', 'status', 'critical']
    assert any(line.startswith('gone') and 'unreachable' in line for line in lines)
    assert lines[-1].startswith('Gate: audit_fail_on=high FAILED')
    short = _report_text.summary_table(fleet, max_rows=1)
    assert short[2].startswith('... ') and 'more with findings or errors' in short[2]
    clean = [line for line in short if 'with no findings and no errors' in line]
    assert len(clean) == 1 and len(short) == 6


def test_bad_arguments():
    with pytest.raises(ValueError):
        _report.build_fleet({}, fail_on='severe')
    with pytest.raises(ValueError):
        _renderers.render({'hosts': []}, ['pdf'])
    with pytest.raises(ValueError):
        _report.host_summary('h', status='weird')


def test_probe_observations_and_extra_errors_are_kept():
    probe = [{'runtime': '/usr/sbin/runc', 'name': 'runc', 'version': '1.2.0-rc.2', 'syscall': 'fcntl',
              'no_new_privileges': True, 'outcome': 'hang', 'message': 'no answer in 10 s', 'leftovers': []}]
    errors = [{'source': 'probe', 'path': None, 'error': 'not root'}, {'source': 'probe', 'error': ''}]
    summary = _report.host_summary('h', {}, [], errors=errors, probe=probe)
    assert summary['errors'] == [{'source': 'probe', 'path': None, 'error': 'not root'}]
    assert summary['probe'] == [dict((k, v) for k, v in probe[0].items() if k != 'leftovers')]
    html = _render_html.render(_report.build_fleet({'h': summary}))
    assert 'fcntl nnp=true: hang' in html


def test_renderers_are_found_by_file_name():
    assert set(_renderers.FORMATS) >= {'json', 'md', 'html', 'junit', 'csv'}
    assert _renderers.EXTENSIONS['junit'] == 'junit.xml'
    assert set(_renderers.DEFAULT_FORMATS) <= set(_renderers.FORMATS)
    for fmt, module in _renderers.RENDERERS.items():
        assert module.FORMAT == fmt and callable(module.render) and callable(module.validate)


def test_every_rendering_validates(fleet):
    for fmt, text in _renderers.render(fleet, _renderers.FORMATS).items():
        _renderers.validate(fmt, text, fleet)


@pytest.mark.parametrize('fmt, broken', [
    ('json', '{"schema_version": 1'),
    ('junit', '<testsuites><testsuite></testsuites>'),
    ('csv', 'host,status\r\nweb1\r\n'),
    ('md', '| host | status |\n|---|---|\n| web|1 | ok |\n'),
    ('html', '<!DOCTYPE html><html><body><script></script><script></script></body></html>'),
])
def test_validators_reject_broken_documents(fmt, broken):
    with pytest.raises(Exception):
        _renderers.validate(fmt, broken, {'hosts': []})


def test_md_validator_accepts_escaped_pipes(fleet):
    text = _render_md.render(fleet)
    assert '\\|=cmd\\|' in text
    _render_md.validate(text, fleet)


def test_verdict_message_names_hosts_and_report(fleet):
    message = _report_text.verdict_message(fleet, 'reports/runcguard-audit.json')
    assert message == ('runcguard audit gate failed (audit_fail_on=high): 2 active findings at or above high '
                       '(web10), 2 hosts not audited (gone, never-ran). See reports/runcguard-audit.json.')
    passed = _report.build_fleet({'a': _report.host_summary('a', {}, [])}, fail_on='high')
    assert _report_text.verdict_message(passed) == 'runcguard audit gate passed (audit_fail_on=high).'
    assert 'not applied' in _report_text.verdict_message(_report.build_fleet({}, fail_on='none'))


def test_verdict_message_is_bounded():
    many = dict(('h%d' % i, _report.host_summary('h%d' % i, status='unreachable', message='x')) for i in range(50))
    message = _report_text.verdict_message(_report.build_fleet(many, fail_on='high'), limit=3)
    assert '50 hosts not audited (h0, h1, h2, ... (47 more)).' in message


def test_docs_list_every_format():
    """A new ``_render_<format>.py`` must be documented where users choose formats."""
    options = yaml.safe_load(fleet_report.DOCUMENTATION)['options']['formats']
    assert options['choices'] == list(_renderers.FORMATS)
    assert options['default'] == list(_renderers.DEFAULT_FORMATS)
    root = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..')
    with open(os.path.join(root, 'roles', 'audit', 'meta', 'argument_specs.yml')) as handle:
        specs = yaml.safe_load(handle)['argument_specs']
    for entry in specs.values():
        spec = entry['options'].get('audit_report_formats')
        if spec:
            assert sorted(spec['choices']) == list(_renderers.FORMATS)
            assert sorted(spec['default']) == list(_renderers.DEFAULT_FORMATS)


def test_a_waiver_error_on_a_finding_becomes_a_host_error():
    finding = {'id': 'notify-fcntl-hang', 'severity': 'critical', 'profile': '/etc/docker/b.json',
               'waived': False, 'waiver': None, 'waiver_error': 'waiver #1 when: ... failed on finding x: type'}
    summary = _report.host_summary('h', {}, [finding], errors=[{'source': 'probe', 'path': None, 'error': 'boom'}])
    assert {'source': 'waiver', 'path': '/etc/docker/b.json',
            'error': 'waiver #1 when: ... failed on finding x: type'} in summary['errors']
    assert {'source': 'probe', 'path': None, 'error': 'boom'} in summary['errors']
    assert summary['counts']['critical'] == 1


def crafted_facts(profiles, runtimes):
    """Facts a compromised host could send: many NOTIFY profiles times many affected runtimes."""
    return {'runtimes': [runc('1.2.0-rc.2', path='/opt/r%d/runc' % i) for i in range(runtimes)],
            'profiles': [profile('/p/%d.json' % i, ['fcntl', 'write', 'sendmsg']) for i in range(profiles)]}


def test_findings_per_host_are_capped_and_totals_stay_exact():
    facts = crafted_facts(40, 20)
    findings = apply_waivers(evaluate(facts), [{'id': 'notify-write-rejected', 'host': 'evil', 'profile': '/p/1*',
                                                'reason': 'test', 'expires': '2030-01-01'}], 'evil', today='2026-06-01')
    assert len(findings) > 1000
    assert sum(1 for f in findings if f.get('waived')) > 0  # the waived counts below compare something
    full = _report.build_fleet({'evil': _report.host_summary('evil', facts, findings, max_findings=None)},
                               fail_on='critical')
    capped = _report.build_fleet({'evil': _report.host_summary('evil', facts, findings, max_findings=100)},
                                 fail_on='critical')
    host, whole = capped['hosts'][0], full['hosts'][0]
    assert len(host['findings']) == 100 and len(whole['findings']) == len(findings)
    # exact: per host, per severity, per hazard, fleet totals, the gate
    assert host['counts'] == whole['counts'] and host['waived'] == whole['waived']
    assert host['max_severity'] == whole['max_severity']
    for key in ('by_severity', 'by_hazard', 'totals'):
        if key == 'totals':
            assert dict(capped[key], errors=0) == dict(full[key], errors=0)
        else:
            assert capped[key] == full[key], key
    assert capped['verdict']['failed'] and full['verdict']['failed']
    assert (len(capped['verdict']['blocking']) + capped['verdict']['blocking_omitted']
            == len(full['verdict']['blocking']))
    # the kept ones are the most severe active ones; one error entry says how many are missing
    rank = _report.severity_rank
    assert min(rank(f['severity']) for f in host['findings'] if not f.get('waived')) >= \
        max(rank(o['severity']) for o in host['omitted'] if o['findings'])
    left_out = len(findings) - 100
    assert [e['error'].split(' findings')[0] for e in host['errors'] if e['source'] == 'audit'] == \
        ['%d of %d' % (left_out, len(findings))]
    assert sum(o['findings'] + o['waived'] for o in host['omitted']) == left_out
    assert '%d active findings' % len(full['verdict']['blocking']) in _report_text.verdict_message(capped)
    texts = _renderers.render(capped, _renderers.FORMATS)  # every format renders and validates
    for fmt, text in texts.items():
        _renderers.validate(fmt, text, capped)


def test_the_default_cap_bounds_a_crafted_host():
    facts = crafted_facts(60, 40)
    findings = evaluate(facts)
    summary = _report.host_summary('evil', facts, findings)
    assert len(findings) > _report.MAX_FINDINGS_PER_HOST == 2000
    assert len(summary['findings']) == 2000 and summary['omitted']
    with pytest.raises(ValueError, match='max_findings'):
        _report.host_summary('evil', facts, findings, max_findings=-1)
    assert _report.host_summary('ok', facts, findings[:5])['omitted'] == []


def test_origin_text_names_the_reader_of_a_profile_given_by_path():
    origin = [{'engine': 'docker', 'setting': 'daemon.json seccomp-profile'},
              {'engine': 'user', 'setting': 'profile_paths', 'reader': 'containerd'}]
    assert _report_text.origin_text(origin) == 'docker: daemon.json seccomp-profile; user: profile_paths (read by containerd)'
    assert _report_text.origin_text([{'engine': 'user', 'setting': 'profile_paths', 'reader': 'a\nb'}]) == \
        'user: profile_paths (read by a b)'


def test_a_hosts_huge_text_does_not_fail_the_report_set():
    """Red team: one user's profile with a 140 KB syscall name stopped every report (csv.reader's
    128 KiB field limit in the CSV check). It renders and validates; the limit is restored."""
    limit = csv.field_size_limit()
    summary = _report.host_summary('eve-host', {}, [{'id': 'notify-fcntl-hang', 'severity': 'critical',
                                                     'profile': '/home/eve/seccomp.json', 'syscalls': ['A' * 140000],
                                                     'message': 'B' * 200000}])
    fleet = _report.build_fleet({'eve-host': summary})
    text = _render_csv.render(fleet)
    _render_csv.validate(text, fleet)
    assert csv.field_size_limit() == limit
