# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reports at 100,000 hosts: the JSON report streamed in chunks (the same bytes json.dumps gives),
the HTML report split into a summary page and host pages past PAGE_HOSTS hosts, every file written
in chunks through _safefile (compared with the one in place as it goes: unchanged bytes are not
written; a render error leaves the old report), host pages of a bigger earlier report removed, and
the merge sharing the strings its partials repeat."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re

import pytest

from ansible_collections.runcguard.seccomp.plugins.plugin_utils import (
    _partials, _render_html, _render_json, _renderers, _report, _report_files, _report_text,
)

EVIL = 'p\x85\u202e\x01"</script><b>é'


def fleet(count, stamp='2026-06-01T00:00:00Z'):
    summaries = {}
    for n in range(count):
        host = 'node%03d' % n
        findings = [{'id': 'notify-fcntl-hang', 'key': 'k%d' % n, 'severity': 'critical' if n % 2 else 'info',
                     'profile': '/etc/%s.json' % EVIL, 'runtime': None, 'affected': True, 'message': EVIL}] if n % 3 else []
        summaries[host] = _report.host_summary(host, {}, findings, status='unreachable' if n == 4 else 'ok')
    return _report.build_fleet(summaries, generated_at=stamp)


def old_json(data):
    """The JSON renderer as it was before it streamed: one json.dumps string."""
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str) + '\n'
    return _report_text.UNSAFE_CHARS.sub(lambda m: '\\u%04x' % ord(m.group()), text)


def test_json_chunks_are_the_bytes_json_dumps_gives(monkeypatch):
    data = fleet(40)
    data.update({'empty': [], 'nothing': {}, 'z': [[1, {'b\n': 'x\ny'}], '\u2028', None], 'odd': object()})
    monkeypatch.setattr(_render_json, 'CHUNK', 3)
    chunks = list(_render_json.chunks(data))
    assert len(chunks) > 14  # the 40 hosts 3 by 3
    assert ''.join(chunks) == old_json(data) == _render_json.render(data)
    assert '\\u0085\\u202e\\u0001' in ''.join(chunks)  # controls escaped in every chunk
    assert json.loads(''.join(chunks)) == json.loads(old_json(data))
    for other in ({1: 'a', 2: 'b'}, [], {}, 'text', [{'a': [1, 2]}]):  # not a fleet: json.dumps as it is
        assert _render_json.render(other) == old_json(other)
    name, make = _render_json.files(data, 'rep')[0]
    assert name == 'rep.json' and ''.join(make()) == old_json(data)


def test_html_up_to_page_hosts_is_one_file(monkeypatch):
    monkeypatch.setattr(_render_html, 'PAGE_HOSTS', 10)
    data = fleet(10)
    files = _renderers.render_files(data, 'html', 'rep')
    assert [name for name, _make in files] == ['rep.html']
    assert ''.join(files[0][1]()) == _render_html.render(data)


def test_html_past_page_hosts_is_a_summary_and_host_pages(monkeypatch):
    monkeypatch.setattr(_render_html, 'PAGE_HOSTS', 4)
    data = fleet(10)
    files = _renderers.render_files(data, 'html', 'rep')
    assert [name for name, _make in files] == ['rep.html', 'rep.hosts-0001.html', 'rep.hosts-0002.html',
                                               'rep.hosts-0003.html']
    texts = dict((name, ''.join(make())) for name, make in files)
    summary = texts['rep.html']
    assert summary.index('id="totals"') < summary.index('id="by-hazard"') < summary.index('id="host-pages"')
    assert '<tr class="finding' not in summary  # findings are on the host pages
    assert re.findall(r'<a href="([^"]+)">page \d</a>', summary) == ['rep.hosts-0001.html', 'rep.hosts-0002.html',
                                                                     'rep.hosts-0003.html']
    assert '<td>node004</td><td>node007</td><td>4</td>' in summary
    rows = [re.findall(r'<tr class="finding[^>]*><td>(node\d+)</td>', texts[name]) for name, _make in files[1:]]
    expected = [h['host'] for h in data['hosts'] for _f in h['findings']]
    assert sum(rows, []) == expected and all(rows)  # every finding on exactly one page, in host order
    last = texts['rep.hosts-0003.html']
    assert '<a href="rep.html">summary</a>' in last and 'rel="prev"' in last and 'rel="next"' not in last
    assert 'hosts node008 to node009 (page 3 of 3)' in last
    assert EVIL not in ''.join(texts.values())  # host text escaped on every page


def test_a_render_error_raises_before_the_last_chunk(monkeypatch):
    monkeypatch.setattr(_render_html, 'PAGE_HOSTS', 4)

    def bad(text, data):
        raise ValueError('bad')
    monkeypatch.setattr(_render_html, 'validate', bad)
    name, make = _renderers.render_files(fleet(10), 'html', 'rep')[1]
    with pytest.raises(_renderers.RenderError, match='html report rep.hosts-0001.html does not validate: bad'):
        list(make())


def _files(data, monkeypatch, page_hosts):
    monkeypatch.setattr(_render_html, 'PAGE_HOSTS', page_hosts)
    return [(fmt, name, make) for fmt in ('json', 'html') for name, make in _renderers.render_files(data, fmt, 'rep')]


def test_write_files_streams_compares_and_removes_stale_pages(tmp_path, monkeypatch):
    dest = str(tmp_path)
    monkeypatch.setattr(_render_json, 'CHUNK', 256)
    files = _files(fleet(10), monkeypatch, 4)
    assert _report_files.differing(dest, files) == ['json', 'html']
    changed, backups, leftovers, removed = _report_files.write_files(dest, 'rep', files, 0o640)
    assert (changed, backups, leftovers, removed) == (['json', 'html'], {}, [], [])
    assert sorted(os.listdir(dest)) == ['rep.hosts-0001.html', 'rep.hosts-0002.html', 'rep.hosts-0003.html',
                                        'rep.html', 'rep.json']
    with open(os.path.join(dest, 'rep.json')) as handle:
        assert handle.read() == old_json(fleet(10))
    assert oct(os.stat(os.path.join(dest, 'rep.json')).st_mode & 0o777) == '0o640'
    inodes = dict((n, os.stat(os.path.join(dest, n)).st_ino) for n in os.listdir(dest))
    # the same content again: compared as it streams, nothing replaced
    assert _report_files.differing(dest, files) == []
    assert _report_files.write_files(dest, 'rep', files, 0o640)[0] == []
    assert dict((n, os.stat(os.path.join(dest, n)).st_ino) for n in os.listdir(dest)) == inodes
    # a smaller fleet: one HTML file, the host pages of the earlier report are stale and go (backed up)
    small = _files(fleet(6, stamp='2026-06-02T00:00:00Z'), monkeypatch, 8)
    stale = _report_files.stale_in(dest, 'rep', small, _renderers.extra_files('html'))
    assert stale == ['rep.hosts-0001.html', 'rep.hosts-0002.html', 'rep.hosts-0003.html']
    changed, backups, _leftovers, removed = _report_files.write_files(dest, 'rep', small, 0o640, backup=True,
                                                                      stale=stale)
    assert changed == ['json', 'html'] and sorted(backups)[:2] == ['html', 'json']
    assert [os.path.basename(p) for p in removed] == stale
    names = os.listdir(dest)
    assert not [n for n in names if n in stale] and len([n for n in names if n.endswith('~')]) == 5
    assert _report_files.previous_timestamp({'json': os.path.join(dest, 'rep.json')}) == '2026-06-02T00:00:00Z'


def test_a_render_error_mid_stream_leaves_the_old_report(tmp_path, monkeypatch):
    dest = str(tmp_path)
    files = _files(fleet(10), monkeypatch, 100)
    _report_files.write_files(dest, 'rep', files, 0o644)
    before = dict((n, open(os.path.join(dest, n), 'rb').read()) for n in os.listdir(dest))

    def broken():
        yield '{"half": '
        raise _renderers.RenderError('json', 'rep.json', 'boom')
    with pytest.raises(_renderers.RenderError):
        _report_files.write_files(dest, 'rep', [('json', 'rep.json', broken)], 0o644)
    assert dict((n, open(os.path.join(dest, n), 'rb').read()) for n in os.listdir(dest)) == before  # no scratch left


def test_merge_shares_repeated_strings(tmp_path):
    data = fleet(12)
    _partials.write_partial(str(tmp_path), data['hosts'], 'job-1')
    summaries, info = _partials.read_partials(str(tmp_path))
    assert not info['errors'] and len(summaries) == 12
    one, two = summaries['node001'], summaries['node002']
    assert one['findings'][0]['message'] == two['findings'][0]['message'] == EVIL
    assert one['findings'][0]['message'] is two['findings'][0]['message']
    assert [k for k in one if k == 'findings'][0] is [k for k in two if k == 'findings'][0]
    assert _report.build_fleet(summaries, generated_at=data['generated_at'])['hosts'] == data['hosts']
