# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTML fleet report in a real browser: Debian's chromium, headless, with no network.

Renders a fleet (hostile paths and messages included) with plugin_utils._report, opens the file in
`chromium --headless --no-sandbox --disable-gpu --dump-dom` inside an empty network namespace when
`unshare` is available, and checks the DOM after the page's script ran: every finding is a visible
row, the script's own counter agrees, nothing from a host became markup, and the severity filter
(from the URL fragment) hides exactly the other rows. At 10,000 hosts the page still opens (a
screenshot is taken), its hazard groups start collapsed, and a host filter narrows 20,000 rows to
that host's and opens its groups. At 100,000 hosts (written as fleet_report writes it) the summary
page opens first with every host page linked, and a host page reached from its link shows its hosts.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import struct
import subprocess
import tempfile
from html.parser import HTMLParser

import pytest

from ansible_collections.runcguard.seccomp.plugins.plugin_utils import (
    _render_html, _renderers, _report, _report_files, _report_text,
)

CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
pytestmark = pytest.mark.skipif(CHROMIUM is None and not os.environ.get('CI'),
                                reason='chromium not installed (scripts/setup.sh installs it)')

EVIL = '/etc/x/"><script>document.title="pwned"</script><img src=http://192.0.2.1/x.png>.json'


def _fleet():
    summaries = {}
    for n in range(1, 13):
        host = 'node%02d' % n
        findings = [
            {'id': 'notify-fcntl-hang', 'key': 'k-%s-1' % host, 'severity': 'critical' if n % 3 == 0 else 'medium',
             'profile': '/var/lib/kubelet/seccomp/profiles/agent-%d.json' % n,
             'runtime': {'name': 'runc', 'path': '/usr/sbin/runc', 'version': None if n % 4 == 0 else '1.2.0-rc.2'},
             'affected': 'unknown' if n % 4 == 0 else True, 'message': 'runc may hang on %s' % host},
            {'id': 'notify-runtime-sensitive', 'key': 'k-%s-2' % host, 'severity': 'info', 'profile': EVIL,
             'runtime': None, 'affected': False, 'message': 'close under NOTIFY <b>bold?</b> & more',
             'waived': n % 2 == 0, 'waiver': {'reason': 'accepted', 'expires': '2099-01-01', 'expired': False}
             if n % 2 == 0 else None},
        ]
        summaries[host] = _report.host_summary(host, {}, findings)
    summaries['gone'] = _report.host_summary('gone', status='unreachable', message='ssh: timed out')
    return _report.build_fleet(summaries, fail_on='critical', generated_at='2026-06-01T00:00:00Z')


class _Dom(HTMLParser):
    """Finding rows (hidden flag, severity, cell texts), hazard groups, SVG bars, script count, page
    title, #shown text."""

    def __init__(self):
        HTMLParser.__init__(self)
        self.rows, self.scripts, self.imgs, self.title, self.shown = [], 0, 0, '', ''
        self.groups, self.bars = [], []
        self._row = self._cell = None
        self._in = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == 'tr' and 'finding' in (attrs.get('class') or '').split():
            self._row = {'hidden': 'hidden' in attrs, 'severity': attrs.get('data-severity'), 'cells': []}
        elif tag == 'details' and 'hazard' in (attrs.get('class') or '').split():
            self.groups.append({'hazard': attrs.get('data-hazard'), 'hidden': 'hidden' in attrs,
                                'open': 'open' in attrs})
        elif tag == 'g' and attrs.get('class') == 'bar':
            self.bars.append(int(attrs.get('data-value')))
        elif tag == 'td' and self._row is not None:
            self._cell = []
        elif tag == 'script':
            self.scripts += 1
        elif tag == 'img':
            self.imgs += 1
        elif tag == 'title' or attrs.get('id') == 'shown':
            self._in = tag if tag == 'title' else 'shown'

    def handle_endtag(self, tag):
        if tag == 'td' and self._cell is not None:
            self._row['cells'].append(''.join(self._cell))
            self._cell = None
        elif tag == 'tr' and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        elif tag in ('title', 'span'):
            self._in = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._in == 'title':
            self.title += data
        elif self._in == 'shown':
            self.shown += data


def _browse(path, fragment='', screenshot=None, dom=None):
    """The DOM after the page's script ran, parsed by ``dom`` (default _Dom)."""
    profile = tempfile.mkdtemp(prefix='rcg-chromium-')
    try:
        action = ['--screenshot=%s' % screenshot, '--window-size=1280,1600'] if screenshot else ['--dump-dom']
        argv = [CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
                '--disable-background-networking', '--disable-dev-shm-usage', '--user-data-dir=' + profile,
                '--virtual-time-budget=3000'] + action + ['file://%s%s' % (path, fragment)]
        unshare = shutil.which('unshare')
        if unshare and os.geteuid() == 0:
            argv = [unshare, '--net', '--'] + argv  # an empty network namespace: no network at all
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300, check=False,
                              env=dict(os.environ, LANG='C', LC_ALL='C', HOME=profile))
        assert proc.returncode == 0, proc.stderr.decode('utf-8', 'replace')[-2000:]
        dom = dom or _Dom()
        dom.feed(proc.stdout.decode('utf-8'))
        return dom
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope='module')
def report(tmp_path_factory):
    fleet = _fleet()
    path = tmp_path_factory.mktemp('report') / 'runcguard-audit.html'
    path.write_text(_render_html.render(fleet), encoding='utf-8')
    return fleet, str(path)


def test_every_finding_is_shown(report):
    fleet, path = report
    dom = _browse(path)
    expected = [(h['host'], f['id'], f['profile']) for h in fleet['hosts'] for f in h['findings']]
    shown = [(r['cells'][0], r['cells'][2], r['cells'][3]) for r in dom.rows if not r['hidden']]
    assert len(expected) == 24
    assert sorted(shown) == sorted(expected)
    # the page's script ran and agrees
    assert dom.shown == '24 of 24 findings shown'


def test_host_text_never_becomes_markup(report):
    dom = _browse(report[1])
    assert dom.scripts == 1          # only the report's own script
    assert dom.imgs == 0             # the <img> in a profile path stayed text
    assert dom.title == 'runcguard.seccomp fleet audit'
    assert any(EVIL in r['cells'][3] for r in dom.rows)


def test_severity_filter_from_the_fragment(report):
    fleet, path = report
    dom = _browse(path, '#severity=critical')
    visible = [r for r in dom.rows if not r['hidden']]
    assert visible and all(r['severity'] == 'critical' for r in visible)
    assert len(visible) == fleet['by_severity']['critical'] == 4
    assert dom.shown == '4 of 24 findings shown'


def test_text_filter_from_the_fragment(report):
    dom = _browse(report[1], '#q=node07')
    visible = [r['cells'][0] for r in dom.rows if not r['hidden']]
    assert visible == ['node07', 'node07']


# --- 10,000 hosts ---------------------------------------------------------------------------------

BIG = 10000
BUILDS = [('runc', '1.2.0-rc.2'), ('runc', '1.1.13'), ('runc', '1.2.0'), ('crun', '1.5'), ('runc', None)]


def _big_fleet():
    summaries = {}
    for n in range(1, BIG + 1):
        host = 'node%05d' % n
        name, version = BUILDS[n % len(BUILDS)]
        runtime = {'name': name, 'path': '/usr/bin/' + name, 'version': version, 'used_by': ['containerd']}
        findings = [
            {'id': 'notify-fcntl-hang', 'key': 'k-%s-1' % host, 'severity': 'critical' if n % 7 else 'medium',
             'profile': '/var/lib/kubelet/seccomp/profiles/agent.json', 'runtime': runtime, 'affected': True,
             'message': 'runc may hang on %s' % host},
            {'id': 'notify-runtime-sensitive', 'key': 'k-%s-2' % host, 'severity': 'info', 'profile': EVIL,
             'runtime': None, 'affected': False, 'message': 'close under NOTIFY'},
        ]
        summaries[host] = _report.host_summary(host, {'runtimes': [runtime]}, findings)
    return _report.build_fleet(summaries, generated_at='2026-06-01T00:00:00Z')


@pytest.fixture(scope='module')
def big_report(tmp_path_factory):
    fleet = _big_fleet()
    path = tmp_path_factory.mktemp('big') / 'runcguard-audit.html'
    path.write_text(_render_html.render(fleet), encoding='utf-8')
    return fleet, str(path)


def _png_size(path):
    with open(path, 'rb') as handle:
        head = handle.read(24)
    assert head[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
    return struct.unpack('>II', head[16:24])


def test_10000_hosts_screenshot(big_report, tmp_path):
    shot = str(tmp_path / 'report.png')
    _browse(big_report[1], screenshot=shot)
    assert _png_size(shot) == (1280, 1600)
    assert os.path.getsize(shot) > 20000  # a rendered page, not a blank one


def test_10000_hosts_filter_narrows_the_rows(big_report):
    dom = _browse(big_report[1], '#q=node04321')
    visible = [r for r in dom.rows if not r['hidden']]
    assert sorted((r['cells'][0], r['cells'][2]) for r in visible) == [
        ('node04321', 'notify-fcntl-hang'), ('node04321', 'notify-runtime-sensitive')]
    assert dom.shown == '2 of %d findings shown' % (2 * BIG)
    assert all(g['open'] and not g['hidden'] for g in dom.groups)  # few matches: their groups open


def test_10000_hosts_collapsed_groups_charts_and_severity_filter(big_report):
    fleet, path = big_report
    dom = _browse(path, '#severity=medium')
    visible = [r for r in dom.rows if not r['hidden']]
    assert len(dom.rows) == 2 * BIG
    assert len(visible) == fleet['by_severity']['medium'] == BIG // 7
    assert all(r['severity'] == 'medium' and r['cells'][2] == 'notify-fcntl-hang' for r in visible)
    # too many matches to open their group; the group without a match is hidden
    assert [(g['hazard'], g['open'], g['hidden']) for g in dom.groups] == [
        ('notify-fcntl-hang', False, False), ('notify-runtime-sensitive', False, True)]
    # charts: 5 severity bars, then one bar per runtime build with its host count
    assert dom.bars[:5] == [fleet['by_severity'][s] for s in _report_text.SEVERITY_ORDER]
    assert sorted(dom.bars[5:]) == sorted(b['hosts'] for b in fleet['runtime_inventory']) == [BIG // 5] * 5


def test_10000_hosts_report_size_as_documented(big_report):
    """docs/large-fleets.md: the HTML report is about 11 MB for 10,000 hosts with two findings each."""
    assert 10.0 <= os.path.getsize(big_report[1]) / 1e6 < 12.0


# --- 100,000 hosts: a summary page, host pages linked from it -----------------------------------

HUGE = 100000


class _Links(HTMLParser):
    """Links (href, text), the #totals text, host-page rows and the page's <h1>."""

    def __init__(self):
        HTMLParser.__init__(self)
        self.links, self.totals, self.page_rows, self.h1 = [], '', 0, ''
        self._href = self._in = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == 'a':
            self._href = [attrs.get('href'), '']
        elif attrs.get('id') == 'totals' or tag == 'h1':
            self._in = tag if tag == 'h1' else 'totals'
        elif tag == 'tr' and attrs.get('class') == 'host-page':
            self.page_rows += 1

    def handle_endtag(self, tag):
        if tag == 'a' and self._href:
            self.links.append(tuple(self._href))
            self._href = None
        elif tag in ('p', 'h1'):
            self._in = None

    def handle_data(self, data):
        if self._href:
            self._href[1] += data
        if self._in == 'totals':
            self.totals += data
        elif self._in == 'h1':
            self.h1 += data


@pytest.fixture(scope='module')
def huge_report(tmp_path_factory):
    """100,000 hosts, one finding each, written through _report_files.write_files as fleet_report does."""
    summaries = {}
    for n in range(HUGE):
        host = 'node%06d' % n
        finding = {'id': 'notify-fcntl-hang', 'key': 'k', 'severity': 'critical' if n % 7 else 'medium',
                   'profile': '/var/lib/kubelet/seccomp/profiles/agent.json', 'runtime': None, 'affected': True,
                   'message': 'runc may hang'}
        summaries[host] = _report.host_summary(host, {}, [finding])
    fleet = _report.build_fleet(summaries, generated_at='2026-06-01T00:00:00Z')
    dest = str(tmp_path_factory.mktemp('huge'))
    files = [('html', name, make) for name, make in _renderers.render_files(fleet, 'html', 'runcguard-audit')]
    assert _report_files.write_files(dest, 'runcguard-audit', files, 0o644)[0] == ['html']
    return dest, [name for _fmt, name, _make in files]


def _links(path, fragment=''):
    return _browse(path, fragment, dom=_Links())


def test_100000_hosts_summary_first_with_every_host_page_linked(huge_report, tmp_path):
    dest, names = huge_report
    assert names[0] == 'runcguard-audit.html' and len(names) == 1 + HUGE // _render_html.PAGE_HOSTS
    summary = os.path.join(dest, names[0])
    assert os.path.getsize(summary) < 200000  # the summary page is small; the hosts are on their pages
    page = _links(summary)
    assert page.totals.startswith('Hosts: 100000 (audited 100000') and page.page_rows == len(names) - 1
    linked = [href for href, text in page.links if text.startswith('page ')]
    assert linked == names[1:]
    assert all(os.path.isfile(os.path.join(dest, href)) for href in linked)
    shot = str(tmp_path / 'summary.png')
    _browse(summary, screenshot=shot)
    assert _png_size(shot) == (1280, 1600) and os.path.getsize(shot) > 20000  # a rendered page, not a blank one


def test_100000_hosts_a_host_page_reached_from_the_summary_shows_its_hosts(huge_report):
    dest, names = huge_report
    href = [h for h, text in _links(os.path.join(dest, names[0])).links if text == 'page 6'][0]
    page = os.path.join(dest, href)  # the link, resolved as the browser does: a file beside the summary
    dom = _browse(page, '#q=node054321')
    assert [(r['cells'][0], r['hidden']) for r in dom.rows if not r['hidden']] == [('node054321', False)]
    assert len(dom.rows) == _render_html.PAGE_HOSTS and dom.shown == '1 of 10000 findings shown'
    back = _links(page)
    assert back.h1.endswith('hosts node050000 to node059999 (page 6 of 10)')
    assert ('runcguard-audit.html', 'summary') in back.links
    assert ('runcguard-audit.hosts-0005.html', 'previous page') in back.links
    assert ('runcguard-audit.hosts-0007.html', 'next page') in back.links


# --- charts: every label inside its SVG, colour only for what hosts really hit ---------------------

_MEASURE = ('<script>window.addEventListener("load",function(){var out=[];'
            'document.querySelectorAll("figure svg").forEach(function(svg){'
            'var w=svg.viewBox.baseVal.width,hgt=svg.viewBox.baseVal.height;'
            'svg.querySelectorAll("text").forEach(function(t){var b=t.getBBox();'
            'out.push([svg.parentNode.id,t.textContent,b.x,b.y,b.width,b.height,w,hgt]);});});'
            'var pre=document.createElement("pre");pre.id="boxes";pre.textContent=JSON.stringify(out);'
            'document.body.appendChild(pre);});</script>')
LONG_BUILDS = [('crun', '1.8.1', 'f8a096be060b22ccd3d5f3ebe44108517fbf6c30'),
               ('runc', '1.2.0-rc.2+dev', '0123456789abcdef0123456789abcdef01234567-dirty'),
               ('runc', '1.1.13', None)]


def _label_fleet(hosts):
    summaries = {}
    for n in range(hosts):
        name, version, commit = LONG_BUILDS[n % len(LONG_BUILDS)]
        if hosts == 20:  # twenty distinct builds: the chart's every row
            version = '%s-build%02d-with-a-long-vendor-suffix' % (version, n)
        runtime = {'name': name, 'path': '/usr/bin/' + name, 'version': version, 'commit': commit, 'used_by': []}
        summaries['node%05d' % n] = _report.host_summary('node%05d' % n, {'runtimes': [runtime]}, [])
    return _report.build_fleet(summaries, generated_at='2026-06-01T00:00:00Z')


def _boxes(fleet, tmp_path):
    import json
    path = tmp_path / 'charts.html'
    path.write_text(_render_html.render(fleet).replace('</body>', _MEASURE + '</body>'), encoding='utf-8')
    profile = tempfile.mkdtemp(prefix='rcg-chromium-')
    try:
        argv = [CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
                '--disable-background-networking', '--disable-dev-shm-usage', '--user-data-dir=' + profile,
                '--virtual-time-budget=5000', '--dump-dom', 'file://%s' % path]
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300, check=False,
                              env=dict(os.environ, LANG='C', LC_ALL='C', HOME=profile))
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    dom = proc.stdout.decode('utf-8')
    start = dom.index('<pre id="boxes">') + len('<pre id="boxes">')
    return json.loads(dom[start:dom.index('</pre>', start)].replace('&quot;', '"').replace('&amp;', '&'))


@pytest.mark.parametrize('hosts', [1, 20, BIG])
def test_chart_labels_lie_inside_their_svg(hosts, tmp_path):
    fleet = _label_fleet(hosts)
    boxes = _boxes(fleet, tmp_path)
    runtime_labels = [b for b in boxes if b[0] == 'chart-runtimes']
    assert len(runtime_labels) == 2 * min(20, len(fleet['runtime_inventory']))  # label + value per bar
    assert any('f8a096be' in b[1] for b in runtime_labels)  # the long crun label is drawn whole
    for chart, text, x, y, width, height, svg_w, svg_h in boxes:
        assert x >= 0 and x + width <= svg_w and y >= 0 and y + height <= svg_h, (chart, text, x, width, svg_w)


def test_chart_colour_and_affected_only_for_hazards_hit():
    """A runc that would refuse NOTIFY on write, with no profile putting write under NOTIFY: grey
    ("would hit"), not orange and "affected"; the same build with such a profile: affected."""
    runc = {'name': 'runc', 'path': '/usr/sbin/runc', 'version': '1.1.13', 'commit': None, 'used_by': ['docker']}
    write = {'id': 'notify-write-rejected', 'key': 'k1', 'severity': 'high', 'profile': '/etc/p.json',
             'runtime': runc, 'affected': True, 'message': 'write under NOTIFY'}
    calm = _report.build_fleet({'a': _report.host_summary('a', {'runtimes': [runc]}, [])})
    hit = _report.build_fleet({'a': _report.host_summary('a', {'runtimes': [runc]}, [write])})
    assert calm['runtime_inventory'][0]['verdicts']['notify-write-rejected'] is True  # the potential stays in JSON
    assert calm['runtime_inventory'][0]['hits'] == [] and hit['runtime_inventory'][0]['hits'] == ['notify-write-rejected']
    calm_html, hit_html = _render_html.render(calm), _render_html.render(hit)
    assert 'fill="%s"' % _render_html._POTENTIAL_COLOUR in calm_html.split('chart-runtimes')[1]
    assert '>affected<' not in calm_html and '>would hit<' in calm_html
    assert 'fill="%s"' % _render_html._BAR_COLOURS['high'] in hit_html.split('chart-runtimes')[1]
    assert '>affected<' in hit_html
    assert '1 host</text>' in calm_html and '1 hosts' not in calm_html and '1 findings' not in calm_html
