# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Fleet report renderer: self-contained HTML (sortable, filterable, no network, host text escaped).

Usable at 10,000 hosts: findings are grouped by hazard, then host, in collapsible sections (closed
when the fleet has many findings); the filter hides groups without a match and opens the rest when
few rows match. Inline SVG bar charts (findings by severity, hosts per runtime build), no library.
Past PAGE_HOSTS hosts (100,000 and more) the report is split (``files``): a summary page first, linking
host pages of PAGE_HOSTS hosts each.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from html import escape as _html_escape
from urllib.parse import quote

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._hazards import CATALOGUE, severity_rank
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._html_assets import CSS as _CSS, JS as _JS
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._report import UNAUDITED
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._report_text import (
    SEVERITY_ORDER,
    build_text,
    one_line,
    runtime_text,
    plural,
    verdict_line,
    inventory_cell,
    waiver_text,
)
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._report_inventory import inventory_hazards

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._partials import merge_lines

FORMAT = 'html'
EXTENSION = 'html'
DEFAULT = True


def h(value):
    return _html_escape(one_line(value), quote=True)


# Hazard groups start open when the whole report has at most this many findings.
OPEN_GROUPS_UP_TO = 200
# Bars per chart: the rest are summed in one line under it.
CHART_BARS = 20
_BAR_COLOURS = {'critical': '#b00020', 'high': '#e65100', 'medium': '#f9a825', 'low': '#9ccc65', 'info': '#90caf9'}
_POTENTIAL_COLOUR, _CLEAN_COLOUR = '#9e9e9e', '#2e7d32'


# Chart text is monospace so its width is known without a browser: DejaVu Sans Mono (Debian's
# default) advances 0.602 em per character, other monospace fonts at most about 0.61 em.
_CHAR_W = 0.62 * 12
_LABEL_MAX = 64


def _text_width(text):
    return int(len(text) * _CHAR_W) + 1


def svg_bars(chart_id, title, bars, unit):
    """Inline SVG horizontal bar chart: ``bars`` = [(label, value, colour)]; no script, no network.

    The label column is as wide as the widest label (labels past _LABEL_MAX characters end in an
    ellipsis), so no label is cut at the SVG's left edge."""
    shown, hidden = bars[:CHART_BARS], bars[CHART_BARS:]
    top = max([value for _label, value, _colour in shown] + [1])
    labels = [label if len(label) <= _LABEL_MAX else label[:_LABEL_MAX - 1] + '\u2026' for label, _v, _c in shown]
    values = [plural(value, unit[:-1] if unit.endswith('s') else unit, unit) for _label, value, _colour in shown]
    pad, bar_w, row_h = 8, 320, 22
    label_w = max([_text_width(x) for x in labels] + [40]) + 2 * pad
    text_w = max([_text_width(x) for x in values] + [40]) + 2 * pad
    width, height = label_w + bar_w + text_w, row_h * len(shown) + 8
    out = ['<figure id="%s"><svg role="img" aria-label="%s" width="%d" height="%d" viewBox="0 0 %d %d" '
           'font-family="monospace" font-size="12">' % (chart_id, h(title), width, height, width, height)]
    for n, (label, value, colour) in enumerate(shown):
        y = 4 + n * row_h
        bar_len = int(round(bar_w * value / float(top)))
        out.append('<g class="bar" data-value="%d"><text class="label" x="%d" y="%d" text-anchor="end">%s</text>'
                   '<rect x="%d" y="%d" width="%d" height="%d" fill="%s"></rect>'
                   '<text class="value" x="%d" y="%d">%s</text></g>' % (
                       value, label_w - pad, y + 15, h(labels[n]), label_w, y + 3, bar_len, row_h - 6, colour,
                       label_w + bar_len + pad, y + 15, h(values[n])))
    out.append('</svg><figcaption>%s%s</figcaption></figure>' % (
        h(title), h(' (%d more not drawn: %d %s)' % (len(hidden), sum(v for _l, v, _c in hidden), unit))
        if hidden else ''))
    return ''.join(out)


def _build_colour(build):
    """The colour of the most severe hazard the build really hits on some host (a finding);
    neutral grey when it only would if a profile asked (or cannot be decided); else green."""
    if build.get('hits'):
        worst = max((CATALOGUE.get(x, {}).get('severity') for x in build['hits']), key=severity_rank)
        return _BAR_COLOURS.get(worst, _POTENTIAL_COLOUR)
    if any(v in (True, 'unknown', 'mixed') for v in build['verdicts'].values()):
        return _POTENTIAL_COLOUR
    return _CLEAN_COLOUR


def _charts(fleet):
    severity = svg_bars('chart-severity', 'Active findings by severity',
                        [(s, fleet['by_severity'].get(s, 0), _BAR_COLOURS[s]) for s in SEVERITY_ORDER], 'findings')
    builds = sorted(fleet['runtime_inventory'], key=lambda b: -b['hosts'])
    runtimes = svg_bars('chart-runtimes', 'Hosts per runtime build, coloured by the most severe hazard its hosts '
                        'really hit (grey: only if a profile asked, or undecided; green: none)',
                        [(build_text(b), b['hosts'], _build_colour(b)) for b in builds], 'hosts')
    return '<div class="charts">%s%s</div>' % (severity, runtimes)


def _inventory_table(fleet):
    hazards = inventory_hazards(fleet)
    out = ['<table id="runtime-inventory"><thead><tr><th>runtime</th><th>version</th><th>commit</th><th>hosts</th>'
           '<th>engines</th><th>open advisories</th>%s</tr></thead><tbody>'
           % ''.join('<th><code>%s</code></th>' % h(x) for x in hazards)]
    for b in fleet['runtime_inventory']:
        cells = []
        for hazard_id in hazards:
            text = inventory_cell(b, hazard_id)
            cells.append('<td class="v-%s">%s</td>' % (h(text.replace(' ', '-')), h(text)))
        adv = b.get('advisories')
        count = str(adv.get('count', 0)) if isinstance(adv, dict) else 'not covered'
        out.append('<tr><td>%s</td><td>%s</td><td><code>%s</code></td><td>%d</td><td>%s</td><td>%s</td>%s</tr>' % (
            h(b['name']), h(b['version']) or 'unknown', h(b['commit']), b['hosts'], h(', '.join(b['engines'])),
            h(count), ''.join(cells)))
    out.append('</tbody></table>')
    return ''.join(out)


def _advisory_links(ids):
    # plain text: the report links nowhere (it is read offline; each id is on pkg.go.dev/vuln/<id>)
    return h(', '.join(one_line(x) for x in ids))


def _advisory_table(fleet):
    """Runtime builds with open (or undecided) runc security advisories, most advisories first."""
    builds = [b for b in fleet['runtime_inventory']
              if isinstance(b.get('advisories'), dict) and (b['advisories'].get('open') or b['advisories'].get('unknown'))]
    if not builds:
        return '<p id="runtime-advisories">No runtime build with open runc security advisories.</p>'
    builds.sort(key=lambda b: (-len(b['advisories'].get('open') or []), str(b.get('name') or ''),
                               str(b.get('version') or '')))
    out = ['<table id="runtime-advisories"><thead><tr><th>runtime</th><th>version</th><th>hosts</th>'
           '<th>open advisories</th><th>advisory ids</th><th>undecided</th><th>fixed by backport</th></tr></thead><tbody>']
    for b in builds:
        adv = b['advisories']
        out.append('<tr class="advisory-build" data-open="%d"><td>%s</td><td>%s</td><td>%d</td><td>%d</td><td>%s</td>'
                   '<td>%s</td><td>%s</td></tr>' % (
                       len(adv.get('open') or []), h(b['name']), h(b['version']) or 'unknown', b['hosts'],
                       len(adv.get('open') or []), _advisory_links(adv.get('open') or []),
                       _advisory_links(adv.get('unknown') or []), _advisory_links(adv.get('backported') or [])))
    out.append('</tbody></table><p>Advisory data: Go Vulnerability Database (vuln.go.dev), '
               'CC-BY-4.0; each id is described at pkg.go.dev/vuln/ID.</p>')
    return ''.join(out)


def _finding_row(host, f, first):
    sev = one_line(f.get('severity'))
    return ('<tr class="finding%s%s" data-severity="%s" data-key="%s"><td>%s</td><td class="sev-%s" data-key="%d">'
            '%s</td><td><code>%s</code></td><td><code>%s</code></td><td>%s</td><td>%s</td><td>%s</td>'
            '<td>%s</td></tr>' % (
                ' waived' if f.get('waived') else '', ' first-of-host' if first else '', h(sev), h(f.get('key') or ''),
                h(host), h(sev), 9 - severity_rank(sev), h(sev), h(f.get('id')), h(f.get('profile')),
                h(runtime_text(f.get('runtime'))), h(f.get('affected')), h(waiver_text(f)), h(f.get('message'))))


def _findings(fleet):
    """Findings grouped by hazard (most severe first), then host (natural order), one table per hazard."""
    by_hazard = {}
    for host in fleet['hosts']:
        for f in host['findings']:
            by_hazard.setdefault(one_line(f.get('id')), []).append((host['host'], f))
    total = sum(len(v) for v in by_hazard.values())
    order = [hz['id'] for hz in fleet['by_hazard'] if hz['id'] in by_hazard]
    order += sorted(set(by_hazard) - set(order))
    info = dict((hz['id'], hz) for hz in fleet['by_hazard'])
    out = ['<div id="controls"><label>Filter <input id="q" type="search" placeholder="host, hazard, profile, text">'
           '</label> <label>Severity <select id="sev"><option value="">all</option>%s</select></label> '
           '<button id="expand" type="button">expand all</button> <button id="collapse" type="button">collapse all'
           '</button> <span id="shown"></span></div><div id="findings">' % ''.join(
               '<option value="%s">%s</option>' % (s, s) for s in SEVERITY_ORDER)]
    for hazard_id in order:
        items = by_hazard[hazard_id]
        hz = info.get(hazard_id) or {}
        hosts = len(set(host for host, _f in items))
        out.append('<details class="hazard" data-hazard="%s" data-rows="%d"%s><summary><span class="sev-%s">%s</span> '
                   '<code>%s</code> %s: <span class="count">%d</span> %s on %s</summary>' % (
                       h(hazard_id), len(items), ' open' if total <= OPEN_GROUPS_UP_TO else '', h(hz.get('severity')),
                       h(hz.get('severity')), h(hazard_id), h(hz.get('title')), len(items),
                       'finding' if len(items) == 1 else 'findings', plural(hosts, 'host')))
        out.append('<table class="findings"><thead><tr><th data-sort="text">host</th><th data-sort="num">severity</th>'
                   '<th data-sort="text">hazard</th><th data-sort="text">profile</th><th data-sort="text">runtime</th>'
                   '<th data-sort="text">affected</th><th data-sort="text">waiver</th><th>message</th></tr></thead>'
                   '<tbody>')
        previous = None
        for host, f in items:
            out.append(_finding_row(host, f, host != previous))
            previous = host
        out.append('</tbody></table></details>')
    if not order:
        out.append('<p>No findings.</p>')
    out.append('</div>')
    return out


def _host_details(host):
    out = ['<details class="host" data-host="%s" data-status="%s"%s><summary><b>%s</b> '
           '<span class="st-%s">%s</span> %s</summary>' % (
               h(host['host']), h(host['status']), ' open' if host['status'] in UNAUDITED else '',
               h(host['host']), h(host['status']), h(host['status']),
               h(', '.join('%s %d' % (s, host['counts'].get(s, 0)) for s in SEVERITY_ORDER
                           if host['counts'].get(s))) or 'no active findings')]
    if host.get('message'):
        out.append('<p>%s</p>' % h(host['message']))
    if host.get('runtimes'):
        described = [runtime_text(r) + (' error: ' + one_line(r.get('error')) if r.get('error') else '')
                     for r in host['runtimes']]
        out.append('<p>Runtimes: %s</p>' % h('; '.join(described)))
    if host.get('probe'):
        out.append('<p>Probe: %s</p>' % h('; '.join('%s %s nnp=%s: %s' % (
            one_line(p.get('runtime')), one_line(p.get('syscall')), one_line(p.get('no_new_privileges')),
            one_line(p.get('outcome'))) for p in host['probe'])))
    if host.get('errors'):
        out.append('<ul class="errors">%s</ul>' % ''.join(
            '<li>%s <code>%s</code>: %s</li>' % (h(e['source']), h(e['path']), h(e['error'])) for e in host['errors']))
    if host['findings']:
        out.append('<ul>%s</ul>' % ''.join(
            '<li>%s <code>%s</code> %s%s</li>' % (h(f.get('severity')), h(f.get('id')), h(f.get('message')),
                                                  (' [%s]' % h(waiver_text(f))) if f.get('waiver') else '')
            for f in host['findings']))
    out.append('</details>')
    return ''.join(out)


def _hosts(fleet):
    """Hosts in three groups: not audited (open), with findings or errors, clean (names only)."""
    unaudited = [x for x in fleet['hosts'] if x['status'] in UNAUDITED]
    problems = [x for x in fleet['hosts'] if x['status'] not in UNAUDITED and (x['findings'] or x['errors'])]
    clean = [x for x in fleet['hosts'] if x['status'] not in UNAUDITED and not (x['findings'] or x['errors'])]
    out = ['<h2>Hosts</h2>']
    for group_id, label, hosts, is_open in (('hosts-unaudited', 'Not audited', unaudited, True),
                                            ('hosts-problems', 'With findings or errors', problems,
                                             len(problems) <= OPEN_GROUPS_UP_TO)):
        if hosts:
            out.append('<details class="group" id="%s"%s><summary>%s: %s</summary>%s</details>' % (
                group_id, ' open' if is_open else '', label, plural(len(hosts), 'host'),
                ''.join(_host_details(x) for x in hosts)))
    if clean:
        out.append('<details class="group" id="hosts-clean"><summary>No findings, no errors: %s</summary>'
                   '<p>%s</p></details>' % (plural(len(clean), 'host'), h(', '.join(x['host'] for x in clean))))
    return out


def _head(title):
    return ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
            '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
            'style-src \'unsafe-inline\'; script-src \'unsafe-inline\'">',
            '<title>%s</title><style>%s</style></head><body>' % (h(title), _CSS)]


def _summary(fleet):
    """Title, totals, verdict, charts, runtime inventory, advisories, by hazard: what a person reads first."""
    totals = fleet['totals']
    out = ['<h1>%s</h1>' % h(fleet['title'])]
    if fleet.get('generated_at'):
        out.append('<p>Generated: %s</p>' % h(fleet['generated_at']))
    out.append('<p id="totals" data-hosts="%d" data-findings="%d">Hosts: %d (audited %d, failed %d, unreachable %d, '
               'missing %d). Findings: %d active, %d waived. Errors: %d.</p>' % (
                   totals['hosts'], totals['findings'], totals['hosts'], totals['audited'], totals['failed'],
                   totals['unreachable'], totals['missing'], totals['findings'], totals['waived'], totals['errors']))
    out.append('<p id="verdict">%s</p>' % h(verdict_line(fleet)))
    out.append('<h2>By severity</h2><p class="cards" id="by-severity">')
    for sev in SEVERITY_ORDER:
        out.append('<span class="sev-%s" data-severity="%s">%s: %d</span>' % (sev, sev, sev, fleet['by_severity'].get(sev, 0)))
    out.append('</p>')
    out.append(_charts(fleet))
    out.append('<h2>Runtime inventory</h2>')
    out.append(_inventory_table(fleet) if fleet['runtime_inventory'] else '<p>No runtime found.</p>')
    out.append('<h2>Runtimes with open security advisories</h2>')
    out.append(_advisory_table(fleet))
    out.append('<h2>By hazard</h2><table id="by-hazard"><thead><tr><th>hazard</th><th>severity</th><th>hosts</th>'
               '<th>findings</th><th>waived</th><th>title</th></tr></thead><tbody>')
    for hz in fleet['by_hazard']:
        out.append('<tr><td><code>%s</code></td><td class="sev-%s">%s</td><td>%d</td><td>%d</td><td>%d</td><td>%s</td></tr>'
                   % (h(hz['id']), h(hz['severity']), h(hz['severity']), hz['hosts'], hz['findings'], hz['waived'],
                      h(hz['title'])))
    out.append('</tbody></table>')
    return out


def _tail(fleet):
    out = []
    if fleet['expired_waivers']:
        out.append('<h2>Expired waivers (no longer applied)</h2><ul id="expired-waivers">')
        for w in fleet['expired_waivers']:
            out.append('<li><code>%s</code> host %s profile %s expired %s: %s (hosts: %s)</li>' % (
                h(w['id']), h(w['host']), h(w['profile']), h(w['expires']), h(w['reason']), h(w['hosts'])))
        out.append('</ul>')
    merge = merge_lines(fleet)
    if merge:
        items = ''.join('<li>%s</li>' % h(line) for line in merge)
        out.append('<h2>Merge of partial reports</h2><ul id="merge">%s</ul>' % items)
    return out


def _end(out):
    out.append('<script>%s</script></body></html>' % _JS)
    return '\n'.join(out) + '\n'


def render(fleet):
    """The whole report in one page (fleets of up to PAGE_HOSTS hosts)."""
    out = _head(fleet['title']) + _summary(fleet) + ['<h2>Findings</h2>']
    out.extend(_findings(fleet))
    out.extend(_hosts(fleet))
    return _end(out + _tail(fleet))


# Above this many hosts the report is split (``files``): the summary page <basename>.html links host
# pages <basename>.hosts-0001.html, ... of PAGE_HOSTS hosts each, in the report's host order.
PAGE_HOSTS = 10000
# The names of a report set's host pages after its basename (a run with fewer pages removes the rest).
EXTRA_FILES = r'\.hosts-[0-9]{4,}\.html'


def page_name(basename, number):
    return '%s.hosts-%04d.%s' % (basename, number, EXTENSION)


def _link(name, text, rel=None):
    return '<a href="%s"%s>%s</a>' % (h(quote(name)), ' rel="%s"' % rel if rel else '', h(text))


def _page_counts(hosts):
    active = sum(sum(x['counts'].get(s, 0) for s in SEVERITY_ORDER) for x in hosts)
    return active, sum(1 for x in hosts if x['status'] in UNAUDITED), sum(1 for x in hosts if x['errors'])


def render_summary(fleet, names, pages):
    """The summary page of a split report: everything but the findings and hosts, which are on the
    host pages ``names`` (hosts ``pages``), linked from a table of pages."""
    out = _head(fleet['title']) + _summary(fleet)
    out.append('<h2>Hosts</h2><p>%s on %s of up to %d hosts each, in the report\'s host order. Findings (filter, '
               'sort) and per-host details are on the host pages.</p>' % (
                   plural(len(fleet['hosts']), 'host'), plural(len(pages), 'page'), PAGE_HOSTS))
    out.append('<table id="host-pages"><thead><tr><th>page</th><th>first host</th><th>last host</th><th>hosts</th>'
               '<th>active findings</th><th>not audited</th><th>with errors</th></tr></thead><tbody>')
    for number, (name, hosts) in enumerate(zip(names, pages), 1):
        out.append('<tr class="host-page"><td>%s</td><td>%s</td><td>%s</td><td>%d</td><td>%d</td><td>%d</td>'
                   '<td>%d</td></tr>' % ((_link(name, 'page %d' % number), h(hosts[0]['host']), h(hosts[-1]['host']),
                                          len(hosts)) + _page_counts(hosts)))
    out.append('</tbody></table>')
    return _end(out + _tail(fleet))


def render_page(fleet, main, names, index, hosts):
    """Host page ``index`` (0-based) of a split report: its hosts' findings and details."""
    title = '%s: hosts %s to %s (page %d of %d)' % (
        one_line(fleet['title']), one_line(hosts[0]['host']), one_line(hosts[-1]['host']), index + 1, len(names))
    nav = [_link(main, 'summary')]
    if index:
        nav.append(_link(names[index - 1], 'previous page', 'prev'))
    if index + 1 < len(names):
        nav.append(_link(names[index + 1], 'next page', 'next'))
    nav = '<nav class="pages">%s</nav>' % ' '.join(nav)
    out = _head(title) + ['<h1>%s</h1>' % h(title), nav]
    if fleet.get('generated_at'):
        out.append('<p>Generated: %s</p>' % h(fleet['generated_at']))
    out.append('<h2>Findings</h2>')
    page = {'hosts': hosts, 'by_hazard': fleet['by_hazard']}
    out.extend(_findings(page))
    out.extend(_hosts(page))
    return _end(out + [nav])


def files(fleet, basename):
    """[(file name, make)] (``_renderers.render_files``): one page up to PAGE_HOSTS hosts, else the
    summary page and the host pages; each page rendered and validated when its file is written."""
    main = '%s.%s' % (basename, EXTENSION)
    if len(fleet['hosts']) <= PAGE_HOSTS:
        return [(main, lambda: _validated(render(fleet), fleet))]
    pages = [fleet['hosts'][i:i + PAGE_HOSTS] for i in range(0, len(fleet['hosts']), PAGE_HOSTS)]
    names = [page_name(basename, n) for n in range(1, len(pages) + 1)]
    out = [(main, lambda: _validated(render_summary(fleet, names, pages), {'hosts': []}))]
    for index, hosts in enumerate(pages):
        out.append((names[index], lambda i=index, x=hosts: _validated(render_page(fleet, main, names, i, x),
                                                                      {'hosts': x})))
    return out


def _validated(text, fleet):
    validate(text, fleet)
    yield text


def validate(text, fleet):
    """Structural checks (a full HTML parse of a 10 MB report costs seconds): complete document,
    one row per finding, and only the report's own script (host text never became markup)."""
    if not (text.startswith('<!DOCTYPE html>') and text.rstrip().endswith('</html>')):
        raise ValueError('truncated document')
    rows = sum(len(host['findings']) for host in fleet['hosts'])
    if text.count('<tr class="finding') != rows:
        raise ValueError('expected %d finding rows' % rows)
    if text.lower().count('<script') != 1:
        raise ValueError('unexpected <script> element')
