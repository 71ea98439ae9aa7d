# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""runtime_inventory: one entry per runtime build over the fleet, with hosts, engines and verdicts."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._hazards import CATALOGUE, evaluate
from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _render_html, _render_json, _render_md, _report


def rt(name, version, path=None, used_by=('docker',), commit=None, libseccomp=None, error=None):
    return {'name': name, 'path': path or '/usr/bin/%s' % name, 'version': version, 'commit': commit,
            'dev': bool(version and '+dev' in version), 'libseccomp': libseccomp, 'used_by': list(used_by),
            'error': error}


def summary(host, runtimes, findings=()):
    return _report.host_summary(host, {'runtimes': runtimes, 'profiles': []}, list(findings))


def inventory(summaries):
    return _report.build_fleet(dict((s['host'], s) for s in summaries))['runtime_inventory']


def by_build(entries):
    return dict(((e['name'], e['version'], e['commit']), e) for e in entries)


def test_one_entry_per_build_with_hosts_and_engines():
    entries = inventory([
        summary('n1', [rt('runc', '1.2.0-rc.2', used_by=['docker', 'containerd']), rt('crun', '1.5', used_by=['podman'])]),
        summary('n2', [rt('runc', '1.2.0-rc.2', path='/usr/sbin/runc', used_by=['containerd'])]),
        summary('n3', [rt('runc', '1.2.0-rc.2', commit='v1.2.0-rc.2-0-gf2d2ee5e'), rt('runc', '1.1.13')]),
        _report.host_summary('down', status='unreachable', message='x'),
    ])
    assert [(e['name'], e['version'], e['commit'], e['hosts']) for e in entries] == [
        ('crun', '1.5', None, 1), ('runc', '1.1.13', None, 1), ('runc', '1.2.0-rc.2', None, 2),
        ('runc', '1.2.0-rc.2', 'v1.2.0-rc.2-0-gf2d2ee5e', 1)]
    builds = by_build(entries)
    rc2 = builds[('runc', '1.2.0-rc.2', None)]
    assert rc2['engines'] == ['containerd', 'docker']
    assert set(rc2['verdicts']) == set(CATALOGUE)
    assert rc2['verdicts']['notify-fcntl-hang'] is True and rc2['verdicts']['notify-listener-absent'] is None
    assert builds[('runc', '1.1.13', None)]['verdicts']['notify-fcntl-hang'] is False
    crun = builds[('crun', '1.5', None)]['verdicts']
    assert (crun['crun-notify-sendmsg-hang'], crun['notify-fcntl-hang'], crun['notify-write-rejected']) == (True, False, False)


def test_unknown_versions_and_mixed_verdicts():
    entries = by_build(inventory([
        summary('a', [rt('runc', None, error='timed out after 10 s')]),
        summary('b', [rt('runc', '1.1.13', libseccomp='2.4.4')]),
        summary('c', [rt('runc', '1.1.13', libseccomp='2.5.4')]),
    ]))
    silent = entries[('runc', None, None)]['verdicts']
    assert silent['notify-fcntl-hang'] == 'unknown'
    assert entries[('runc', '1.1.13', None)]['verdicts']['notify-unsupported'] == 'mixed'  # old libseccomp on one host


def test_probe_observations_mark_the_build():
    hang = {'id': 'notify-probe-hang', 'severity': 'critical', 'key': 'k', 'profile': None,
            'runtime': {'name': 'runc', 'path': '/opt/runc', 'version': '1.2.0'}, 'message': 'hung'}
    entries = by_build(inventory([
        summary('a', [rt('runc', '1.2.0', path='/opt/runc')], [hang]),
        summary('b', [rt('runc', '1.2.0', path='/opt/runc')]),
    ]))
    verdicts = entries[('runc', '1.2.0', None)]['verdicts']
    assert verdicts['notify-probe-hang'] is True and verdicts['notify-probe-disagrees'] is None
    assert verdicts['notify-fcntl-hang'] is False  # the version says fine; the probe says otherwise


def test_in_json_and_markdown():
    facts = {'runtimes': [rt('runc', '1.2.0-rc.2')], 'profiles': []}
    fleet = _report.build_fleet({'h1': _report.host_summary('h1', facts, evaluate(facts)),
                                 'h2': _report.host_summary('h2', {'runtimes': [rt('crun', '1.8.1', used_by=['podman'])]})})
    data = json.loads(_render_json.render(fleet))
    assert [(e['name'], e['hosts']) for e in data['runtime_inventory']] == [('crun', 1), ('runc', 1)]
    text = _render_md.render(fleet)
    _render_md.validate(text, fleet)
    section = text[text.index('## Runtime inventory'):text.index('## By hazard')]
    assert '| runc | 1.2.0-rc.2 |  | 1 | docker |' in section
    header = section.splitlines()[2]
    assert 'notify-fcntl-hang' in header and 'notify-listener-absent' not in header
    row = [line for line in section.splitlines() if line.startswith('| runc')][0]
    cells = [c.strip() for c in row.strip('|').split('|')]
    # rc.2 would hang if a profile put fcntl under NOTIFY, but no profile on h1 does: a potential
    assert cells[5 + header.strip('|').split('|')[5:].index(' notify-fcntl-hang ')] == 'would hit'
    # its open runc advisories are a real hit, profile or not
    assert data['runtime_inventory'][1]['hits'] == ['runc-advisory']
    assert data['runtime_inventory'][1]['verdicts']['notify-fcntl-hang']


def test_html_groups_by_hazard_then_host_with_inventory_table_and_charts():
    def finding(host, hazard_id, severity):
        return {'id': hazard_id, 'severity': severity, 'key': '%s|%s' % (hazard_id, host), 'profile': '/p.json',
                'message': 'm', 'runtime': rt('runc', '1.2.0-rc.2') if hazard_id == 'notify-fcntl-hang' else None}
    fleet = _report.build_fleet({
        'node10': summary('node10', [rt('runc', '1.2.0-rc.2')],
                          [finding('node10', 'notify-fcntl-hang', 'critical'),
                           finding('node10', 'notify-runtime-sensitive', 'info')]),
        'node9': summary('node9', [rt('runc', '1.2.0-rc.2')], [finding('node9', 'notify-fcntl-hang', 'critical')]),
        'node2': summary('node2', [rt('crun', '1.8.1', used_by=['podman'])]),
    })
    text = _render_html.render(fleet)
    _render_html.validate(text, fleet)
    groups = re.findall(r'<details class="hazard" data-hazard="([^"]+)" data-rows="(\d+)" open>', text)
    assert groups == [('notify-fcntl-hang', '2'), ('notify-runtime-sensitive', '1')]
    fcntl = text[text.index('data-hazard="notify-fcntl-hang"'):text.index('data-hazard="notify-runtime-sensitive"')]
    assert re.findall(r'<tr class="finding[^"]*"[^>]*><td>([^<]+)</td>', fcntl) == ['node9', 'node10']
    inventory = text[text.index('<table id="runtime-inventory">'):]
    inventory = inventory[:inventory.index('</table>')]
    assert inventory.count('<tr>') == 1 + len(fleet['runtime_inventory']) == 3
    assert '<td class="v-affected">affected</td>' in inventory
    # two inline SVG charts: 5 severity bars, one bar per build (hosts), nothing fetched
    assert text.count('<svg ') == 2 and 'http://' not in text and 'https://' not in text
    assert re.findall(r'<g class="bar" data-value="(\d+)">', text) == ['2', '0', '0', '0', '1', '2', '1']
    assert '#b00020"></rect>' in text  # rc.2 hits a critical hazard: drawn red
    many = _report.build_fleet(dict(('h%d' % n, summary('h%d' % n, [], [finding('h%d' % n, 'notify-fcntl-hang', 'high')]))
                                    for n in range(_render_html.OPEN_GROUPS_UP_TO + 1)))
    assert '<details class="hazard" data-hazard="notify-fcntl-hang" data-rows="201">' in _render_html.render(many)


def _fleet_with_advisories():
    debian = rt('runc', '1.1.5', path='/usr/sbin/runc')
    debian['package'] = {'manager': 'dpkg', 'name': 'runc', 'version': '1.1.5+ds1-1+deb12u1',
                         'advisory_ids': ['CVE-2024-21626'] + ['CVE-2099-%04d' % n for n in range(2000)]}
    hosts = {'a': [rt('runc', '1.1.13'), rt('crun', '1.5')], 'b': [rt('runc', '1.1.13'), debian],
             'c': [rt('runc', '1.3.6')], 'd': [rt('runc', '1.2.0')]}
    summaries = dict((h, _report.host_summary(h, {'runtimes': r, 'profiles': []}, evaluate({'runtimes': r})))
                     for h, r in hosts.items())
    return _report.build_fleet(summaries)


def test_inventory_counts_advisories_per_version():
    fleet = _fleet_with_advisories()
    builds = by_build(fleet['runtime_inventory'])
    five = ['GO-2024-3110', 'GO-2025-4096', 'GO-2025-4097', 'GO-2025-4098', 'GO-2026-5761']
    assert builds[('runc', '1.1.13', None)]['advisories'] == {'open': five, 'unknown': [], 'backported': [], 'count': 5}
    assert builds[('runc', '1.1.13', None)]['hosts'] == 2 and builds[('runc', '1.1.13', None)]['verdicts']['runc-advisory']
    assert builds[('runc', '1.2.0', None)]['advisories']['count'] == 4
    assert builds[('runc', '1.3.6', None)]['advisories']['count'] == 0
    assert builds[('runc', '1.3.6', None)]['verdicts']['runc-advisory'] is False
    # Debian's package names the backport of CVE-2024-21626 (the host's id list is capped, not trusted whole)
    assert builds[('runc', '1.1.5', None)]['advisories'] == {'open': five, 'unknown': [], 'backported': ['GO-2024-2491'],
                                                             'count': 5}
    package = [r for r in fleet['hosts'][1]['runtimes'] if r['path'] == '/usr/sbin/runc'][0]['package']
    assert len(package['advisory_ids']) == _report.ADVISORY_IDS_LIMIT
    assert builds[('crun', '1.5', None)]['advisories'] is None  # not covered: no crun advisory data


def test_reports_show_runtimes_with_open_advisories():
    fleet = _fleet_with_advisories()
    html = _render_html.render(fleet)
    _render_html.validate(html, fleet)
    table = html[html.index('<table id="runtime-advisories">'):]
    table = table[:table.index('</table>')]
    rows = re.findall(r'<tr class="advisory-build" data-open="(\d+)"><td>([^<]*)</td><td>([^<]*)</td>', table)
    assert rows == [('5', 'runc', '1.1.13'), ('5', 'runc', '1.1.5'), ('4', 'runc', '1.2.0')]
    assert 'GO-2024-2491' in table and 'CC-BY-4.0' in html and 'https://' not in html
    inventory_table = html[html.index('<table id="runtime-inventory">'):]
    assert '<td>not covered</td>' in inventory_table[:inventory_table.index('</table>')]  # crun
    md = _render_md.render(fleet)
    assert '| runc | 1.1.13 |  | 2 | docker | 5: GO-2024-3110, GO-2025-4096, GO-2025-4097, GO-2025-4098, GO-2026-5761 |' in md
    data = json.loads(_render_json.render(fleet))
    assert [b['advisories'] and b['advisories']['count'] for b in data['runtime_inventory']] == [None, 5, 5, 4, 0]
    clean = _report.build_fleet({'c': _report.host_summary('c', {'runtimes': [rt('runc', '1.3.6')], 'profiles': []}, [])})
    assert 'No runtime build with open runc security advisories.' in _render_html.render(clean)
