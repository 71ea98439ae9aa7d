# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Partial reports of sliced audits: written atomically under a name of their own, never over another
file; merged back into the fleet an unsliced run builds; every bad file or line is one error entry."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import json
import os
import threading

import pytest

from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _partials, _renderers, _report

FINDING = {'id': 'notify-fcntl-hang', 'key': 'notify-fcntl-hang|/p.json|/usr/bin/runc', 'severity': 'critical',
           'title': 't', 'profile': '/p.json', 'origin': [], 'syscalls': ['fcntl'], 'affected': True,
           'runtime': {'path': '/usr/bin/runc', 'name': 'runc', 'version': '1.2.0-rc.2'}, 'reference': 'r',
           'message': 'm', 'remediation': ['pin_runc']}
FACTS = {'runtimes': [{'name': 'runc', 'path': '/usr/bin/runc', 'version': '1.2.0-rc.2'}], 'profiles': [{'path': '/p'}]}


def summaries(names):
    out = {}
    for index, name in enumerate(names):
        findings = [dict(FINDING)] if index % 2 else []
        out[name] = _report.host_summary(name, facts=FACTS, findings=findings,
                                         status='unreachable' if index == 3 else 'ok')
    return out


def moment(second):
    return datetime.datetime(2026, 1, 2, 3, 4, second, 5, tzinfo=datetime.timezone.utc)


def fleet_hosts(names):
    return _report.build_fleet(summaries(names), hosts=names)['hosts']


NAMES = ['n%d' % i for i in range(1, 10)]


def test_slice_id_from_awx_else_unique():
    assert _partials.slice_id({'awx_job_id': 42}) == 'job-42'
    assert _partials.slice_id({'tower_job_id': '7'}) == 'job-7'
    assert _partials.slice_id({'awx_job_id': '', 'tower_job_id': 8}) == 'job-8'
    first, second = _partials.slice_id({}), _partials.slice_id({})
    assert first != second and _partials._SAFE_ID.match(first)
    with pytest.raises(_partials.PartialError, match='awx_job_id'):
        _partials.slice_id({'awx_job_id': '../../etc/x'})


def test_slices_merge_to_the_unsliced_fleet(tmp_path):
    whole = _report.build_fleet(summaries(NAMES), hosts=NAMES, fail_on='high')
    for index in range(3):
        part = [h for h in whole['hosts'] if h['host'] in NAMES[index::3]]
        _partials.write_partial(str(tmp_path), part, 'job-%d' % index, run={'awx_job_id': str(index)},
                                moment=moment(index))
    merged, info = _partials.read_partials(str(tmp_path), expect=NAMES)
    again = _report.build_fleet(merged, hosts=NAMES, fail_on='high')
    assert again == whole
    assert info['errors'] == [] and info['missing'] == [] and info['duplicates'] == []
    assert [p['slice'] for p in info['partials']] == ['job-0', 'job-1', 'job-2']
    assert [p['hosts'] for p in info['partials']] == [3, 3, 3]
    # and so every format renders the same
    assert _renderers.render(again, _renderers.FORMATS) == _renderers.render(whole, _renderers.FORMATS)


def test_never_over_an_existing_partial(tmp_path):
    path = _partials.write_partial(str(tmp_path), fleet_hosts(NAMES[:2]), 'job-1')
    before = open(path, 'rb').read()
    with pytest.raises(_partials.PartialError, match='already exists'):
        _partials.write_partial(str(tmp_path), fleet_hosts(NAMES[2:4]), 'job-1')
    assert open(path, 'rb').read() == before
    assert os.listdir(str(tmp_path)) == ['job-1.rcg-partial.jsonl']  # no scratch file left behind


def test_concurrent_slices_keep_every_partial(tmp_path):
    errors = []

    def write(index):
        try:
            _partials.write_partial(str(tmp_path), fleet_hosts(NAMES[index::4]), _partials.slice_id({}))
        except Exception as exc:  # pragma: no cover - the assertion below shows it
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    merged, info = _partials.read_partials(str(tmp_path), expect=NAMES)
    assert len(info['partials']) == 4 and sorted(merged) == sorted(NAMES) and info['missing'] == []


def test_missing_duplicates_and_bad_files(tmp_path):
    _partials.write_partial(str(tmp_path), fleet_hosts(NAMES[:3]), 'job-1', moment=moment(1))
    newer = fleet_hosts(['n2'])
    newer[0]['message'] = 'newer'
    _partials.write_partial(str(tmp_path), newer, 'job-2', moment=moment(2))
    (tmp_path / 'README').write_text('hello')
    (tmp_path / 'sub').mkdir()
    (tmp_path / 'x.rcg-partial.jsonl').write_text('not json\n')
    (tmp_path / 'y.rcg-partial.jsonl').write_text('')
    header = json.dumps({'format': _partials.FORMAT, 'version': 1, 'slice': 'job-3', 'hosts': 3,
                         'created_at': '2026-01-02T03:04:09.000005Z'})
    good = json.dumps(fleet_hosts(['n7'])[0])
    (tmp_path / 'job-3.rcg-partial.jsonl').write_text('\n'.join([
        header, '{"host": "n8", "status": "ok", "findings": "x"}', '[1]', good]) + '\n')  # no trailer
    (tmp_path / 'job-4.rcg-partial.jsonl').write_text(header.replace('"version": 1', '"version": 9') + '\n')
    (tmp_path / '.job-5.rcg-partial.jsonl.runcguard-x.tmp').write_text('a slice still writing')
    merged, info = _partials.read_partials(str(tmp_path), expect=NAMES[:4] + ['n7', 'n8'])
    assert merged['n2']['message'] == 'newer'
    assert info['duplicates'] == [{'host': 'n2', 'used': 'job-2.rcg-partial.jsonl',
                                   'ignored': ['job-1.rcg-partial.jsonl']}]
    assert info['missing'] == ['n4', 'n8']
    assert merged['n8']['status'] == 'missing' and 'audit_merge_expect' in merged['n8']['message']
    assert merged['n7']['status'] == 'ok'  # a cut-short partial: what was read is merged
    by_file = {}
    for item in info['errors']:
        by_file.setdefault(os.path.basename(item['path']), []).append(item['error'])
    assert sorted(by_file) == ['README', 'job-3.rcg-partial.jsonl', 'job-4.rcg-partial.jsonl', 'sub',
                               'x.rcg-partial.jsonl', 'y.rcg-partial.jsonl']
    assert any('findings is not a list' in e for e in by_file['job-3.rcg-partial.jsonl'])
    assert any('not a host summary' in e for e in by_file['job-3.rcg-partial.jsonl'])
    assert any('cut short' in e for e in by_file['job-3.rcg-partial.jsonl'])
    assert 'version 9 is not supported' in by_file['job-4.rcg-partial.jsonl'][0]
    assert 'a directory' in by_file['sub'][0] and 'empty file' in by_file['y.rcg-partial.jsonl'][0]
    fleet = _report.build_fleet(merged, hosts=NAMES[:4] + ['n7', 'n8'])
    fleet['merge'] = info
    lines = _partials.merge_lines(fleet)
    assert any('n2 is in more than one partial' in line for line in lines)
    assert any('missing' in line and 'n4, n8' in line for line in lines)
    for fmt, text in _renderers.render(fleet, _renderers.FORMATS).items():
        _renderers.validate(fmt, text, fleet)


def test_a_malformed_host_summary_is_one_error_the_rest_is_merged(tmp_path):
    header = json.dumps({'format': _partials.FORMAT, 'version': 1, 'slice': 'job-1', 'hosts': 8,
                         'created_at': '2026-01-02T03:04:09.000005Z'})
    good = fleet_hosts(['n1', 'n2'])
    assert good[1]['findings']
    bad = [{'host': 'b1', 'status': 'ok', 'findings': [{'x': 1}]},
           {'host': 'b2', 'status': 'ok', 'findings': [dict(FINDING, severity='bogus')]},
           {'host': 'b3', 'status': 'ok', 'findings': [dict(FINDING, id=None)]},
           {'host': 'b4', 'status': 'ok', 'omitted': [{'id': 'x', 'severity': 'high', 'findings': 'many'}]},
           {'host': 'b5', 'status': 'ok', 'omitted': [{'id': 'x', 'severity': None, 'findings': 1}]},
           {'host': 'b6', 'status': 'ok', 'omitted': [{'id': 'x', 'severity': 'low', 'waived': -1}]}]
    trailer = json.dumps({'end': True, 'hosts': 8})
    lines = [header, json.dumps(good[0])] + [json.dumps(b) for b in bad] + [json.dumps(good[1]), trailer]
    (tmp_path / 'job-1.rcg-partial.jsonl').write_text('\n'.join(lines) + '\n')
    merged, info = _partials.read_partials(str(tmp_path))
    assert sorted(merged) == ['n1', 'n2']
    errors = [e['error'] for e in info['errors']]
    assert errors == [
        'line 3: findings[0] has no hazard id; that host is not merged',
        'line 4: findings[0] severity "bogus" is not one of critical, high, medium, low, info; '
        'that host is not merged',
        'line 5: findings[0] has no hazard id; that host is not merged',
        'line 6: omitted[0] findings is not a count; that host is not merged',
        'line 7: omitted[0] severity null is not one of critical, high, medium, low, info; '
        'that host is not merged',
        'line 8: omitted[0] waived is not a count; that host is not merged']
    fleet = _report.build_fleet(merged, hosts=sorted(merged))
    assert fleet['totals']['findings'] == 1 and None not in fleet['by_severity']
    for fmt, text in _renderers.render(fleet, _renderers.FORMATS).items():
        _renderers.validate(fmt, text, fleet)


def test_host_text_in_a_partial_is_escaped(tmp_path):
    hosts = fleet_hosts(['n1'])
    hosts[0]['message'] = '<script>alert(1)</script>'
    _partials.write_partial(str(tmp_path), hosts, 'job-1<x>'.replace('<x>', ''))
    (tmp_path / '<img src=x onerror=alert(1)>').write_text('x')
    merged, info = _partials.read_partials(str(tmp_path))
    fleet = _report.build_fleet(merged)
    fleet['merge'] = info
    html = _renderers.render(fleet, ['html'])['html']
    assert '<img src=x' not in html and '&lt;img src=x' in html


def test_one_line_fast_path_changes_nothing():
    """one_line returns printable text as it is; every other character still goes through the escapes."""
    from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _report_text

    def slow(text):
        return ' '.join(_report_text.visible(text).split())

    for code in list(range(0x0, 0x3100)) + [0xfeff, 0xfff9, 0x1d173, 0xe0001]:
        char = chr(code)
        for text in (char, 'a%sb' % char, ' %s' % char, '%s ' % char, 'a  %s' % char):
            assert _report_text.one_line(text) == slow(text), (hex(code), text)


def test_crafted_lines_are_one_error_each_and_every_format_renders(tmp_path):
    """Red team: a line of 100,000 "[", a message nested 700 deep, a lone surrogate, a list where a
    message belongs: each is one error entry for its line, the good hosts are merged and every
    format renders, validates and encodes as UTF-8."""
    header = json.dumps({'format': _partials.FORMAT, 'version': 1, 'slice': 'job-1', 'hosts': 6,
                         'created_at': '2026-01-02T03:04:09.000005Z'})
    good = fleet_hosts(['n1', 'n2'])
    deep = dict(good[1], host='b2')
    deep['findings'] = [dict(good[1]['findings'][0], message=json.loads('[' * 700 + ']' * 700))]
    listed = dict(good[1], host='b4')
    listed['findings'] = [dict(good[1]['findings'][0], message=['not', 'text'])]
    lines = [header, json.dumps(good[0]), '[' * 100000, json.dumps(deep),
             json.dumps(dict(good[0], host='b3', message='x\ud800y')),  # json.dumps writes "\ud800"
             json.dumps(listed), json.dumps(good[1]), json.dumps({'end': True, 'hosts': 6})]
    assert '\\ud800' in lines[4]
    (tmp_path / 'job-1.rcg-partial.jsonl').write_text('\n'.join(lines) + '\n')
    merged, info = _partials.read_partials(str(tmp_path))
    assert sorted(merged) == ['n1', 'n2']
    errors = [e['error'] for e in info['errors']]
    assert errors == [
        'line 3: nested too deep to decode; that host is not merged',
        'line 4: host.findings[0].message' + '[0]' * 13 + ' is nested more than 16 objects/lists deep: malformed; '
        'that host is not merged',
        'line 5: host.message holds a lone UTF-16 surrogate (not Unicode text); that host is not merged',
        'line 6: host.findings[0].message must be a string or null, got a list; that host is not merged']
    fleet = _report.build_fleet(merged, hosts=sorted(merged))
    fleet['merge'] = info
    for fmt, text in _renderers.render(fleet, _renderers.FORMATS).items():
        _renderers.validate(fmt, text, fleet)
        text.encode('utf-8')


def test_a_crafted_header_is_one_error_for_its_file(tmp_path):
    base = {'format': _partials.FORMAT, 'version': 1, 'slice': 'job-1', 'hosts': 0,
            'created_at': '2026-01-02T03:04:09.000005Z'}
    trailer = json.dumps({'end': True, 'hosts': 0})
    (tmp_path / 'a.rcg-partial.jsonl').write_text('{"format": ' + '[' * 100000 + '\n' + trailer + '\n')
    headers = {'b': dict(base, run={'awx_user_name': 'x\udfff'}),
               'c': dict(base, run={'x': json.loads('[' * 50 + ']' * 50)})}
    for name, header in headers.items():
        (tmp_path / ('%s.rcg-partial.jsonl' % name)).write_text(json.dumps(header) + '\n' + trailer + '\n')
    bad_trailer = json.dumps({'end': True, 'hosts': '\ud800'})
    (tmp_path / 'd.rcg-partial.jsonl').write_text(json.dumps(dict(base, slice='job-4')) + '\n' + bad_trailer + '\n')
    merged, info = _partials.read_partials(str(tmp_path))
    errors = dict((os.path.basename(e['path']), e['error']) for e in info['errors'])
    del errors['d.rcg-partial.jsonl']
    assert errors == {
        'a.rcg-partial.jsonl': 'not a runcguard.seccomp partial report (its first line is not JSON); ignored',
        'b.rcg-partial.jsonl': 'the header.run.awx_user_name holds a lone UTF-16 surrogate (not Unicode text); ignored',
        'c.rcg-partial.jsonl': 'the header.run.x' + '[0]' * 14 + ' is nested more than 16 objects/lists deep: '
                               'malformed; ignored',
    }
    assert sorted(merged) == [] and [p['file'] for p in info['partials']] == ['d.rcg-partial.jsonl']
    assert [e['error'] for e in info['errors'] if e['path'].endswith('d.rcg-partial.jsonl')] == [
        'line 2: host.hosts holds a lone UTF-16 surrogate (not Unicode text); that host is not merged',
        'cut short: no end line after 0 host(s) (the 0 read are merged)']


def test_file_names_that_are_not_utf8_are_shown_escaped(tmp_path):
    """A partial (or any file) whose name is not UTF-8 is shown escaped; before, its name's lone
    surrogate made the JSON, HTML and Markdown reports unwritable."""
    _partials.write_partial(str(tmp_path), fleet_hosts(['n1']), 'job-1')
    os.rename(str(tmp_path / 'job-1.rcg-partial.jsonl'), os.path.join(str(tmp_path).encode(), b'\xff.rcg-partial.jsonl'))
    open(os.path.join(str(tmp_path).encode(), b'notes-\xfe'), 'w').close()
    merged, info = _partials.read_partials(str(tmp_path))
    assert sorted(merged) == ['n1'] and [p['file'] for p in info['partials']] == ['\\xff.rcg-partial.jsonl']
    assert [e['path'] for e in info['errors']] == [os.path.join(str(tmp_path), 'notes-\\xfe')]
    fleet = _report.build_fleet(merged)
    fleet['merge'] = info
    for fmt, text in _renderers.render(fleet, _renderers.FORMATS).items():
        _renderers.validate(fmt, text, fleet)
        text.encode('utf-8')
