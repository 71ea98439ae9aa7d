# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Fleet report renderer: self-contained HTML (sortable, filterable, no network, host text escaped)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from html import escape as _html_escape

from ansible_collections.runcguard.seccomp.plugins.module_utils._hazards import severity_rank
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._report import (
    SEVERITY_ORDER,
    UNAUDITED,
    one_line,
    runtime_text,
    verdict_line,
    waiver_text,
)

FORMAT = 'html'
EXTENSION = 'html'
DEFAULT = True


def h(value):
    return _html_escape(one_line(value), quote=True)


_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th[data-sort]{cursor:pointer;background:#f3f3f3}th[data-sort]:after{content:" \\2195";color:#999}
.sev-critical{background:#b00020;color:#fff}.sev-high{background:#e65100;color:#fff}.sev-medium{background:#f9a825}
.sev-low{background:#c5e1a5}.sev-info{background:#e3f2fd}.cards span{display:inline-block;margin-right:.5em;padding:.4em .8em;border-radius:4px}
.st-unreachable,.st-failed,.st-missing{color:#b00020;font-weight:bold}.waived{opacity:.6}
code{font-size:90%}#controls{margin:.5em 0}
"""

# Sort and filter only: no data is built from strings into HTML (textContent only), no network.
_JS = """
(function(){
var table=document.getElementById('findings'); if(!table){return;}
var body=table.tBodies[0], rows=Array.prototype.slice.call(body.rows);
var q=document.getElementById('q'), sev=document.getElementById('sev'), shown=document.getElementById('shown');
function apply(){
  var needle=q.value.toLowerCase(), want=sev.value, n=0;
  rows.forEach(function(r){
    var ok=(!want||r.getAttribute('data-severity')===want)&&(!needle||r.textContent.toLowerCase().indexOf(needle)>=0);
    if(ok){r.removeAttribute('hidden');n++;}else{r.setAttribute('hidden','');}
  });
  shown.textContent=n+' of '+rows.length+' findings shown';
}
function sortBy(col,numeric,th){
  var dir=th.getAttribute('data-dir')==='asc'?-1:1;
  Array.prototype.forEach.call(table.tHead.rows[0].cells,function(c){c.removeAttribute('data-dir');});
  th.setAttribute('data-dir',dir===1?'asc':'desc');
  rows.sort(function(a,b){
    var x=a.cells[col].getAttribute('data-key')||a.cells[col].textContent, y=b.cells[col].getAttribute('data-key')||b.cells[col].textContent;
    if(numeric){x=parseFloat(x);y=parseFloat(y);}
    return (x<y?-1:x>y?1:0)*dir;
  });
  rows.forEach(function(r){body.appendChild(r);});
}
Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,i){
  if(th.hasAttribute('data-sort')){th.addEventListener('click',function(){sortBy(i,th.getAttribute('data-sort')==='num',th);});}
});
q.addEventListener('input',apply); sev.addEventListener('change',apply);
var m=/[#&]q=([^&]*)/.exec(location.hash); if(m){q.value=decodeURIComponent(m[1]);}
var s=/[#&]severity=([a-z]*)/.exec(location.hash); if(s){sev.value=s[1];}
apply();
})();
"""


def render(fleet):
    totals = fleet['totals']
    out = ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
           '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
           'style-src \'unsafe-inline\'; script-src \'unsafe-inline\'">',
           '<title>%s</title><style>%s</style></head><body>' % (h(fleet['title']), _CSS),
           '<h1>%s</h1>' % h(fleet['title'])]
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
    out.append('</p><h2>By hazard</h2><table id="by-hazard"><thead><tr><th>hazard</th><th>severity</th><th>hosts</th>'
               '<th>findings</th><th>waived</th><th>title</th></tr></thead><tbody>')
    for hz in fleet['by_hazard']:
        out.append('<tr><td><code>%s</code></td><td class="sev-%s">%s</td><td>%d</td><td>%d</td><td>%d</td><td>%s</td></tr>'
                   % (h(hz['id']), h(hz['severity']), h(hz['severity']), hz['hosts'], hz['findings'], hz['waived'],
                      h(hz['title'])))
    out.append('</tbody></table><h2>Findings</h2><div id="controls"><label>Filter <input id="q" type="search" '
               'placeholder="host, hazard, profile, text"></label> <label>Severity <select id="sev"><option value="">all'
               '</option>%s</select></label> <span id="shown"></span></div>' % ''.join(
                   '<option value="%s">%s</option>' % (s, s) for s in SEVERITY_ORDER))
    out.append('<table id="findings"><thead><tr><th data-sort="text">host</th><th data-sort="num">severity</th>'
               '<th data-sort="text">hazard</th><th data-sort="text">profile</th><th data-sort="text">runtime</th>'
               '<th data-sort="text">affected</th><th data-sort="text">waiver</th><th>message</th></tr></thead><tbody>')
    for host in fleet['hosts']:
        for f in host['findings']:
            sev = one_line(f.get('severity'))
            out.append('<tr class="finding%s" data-severity="%s" data-key="%s"><td>%s</td><td class="sev-%s" data-key="%d">'
                       '%s</td><td><code>%s</code></td><td><code>%s</code></td><td>%s</td><td>%s</td><td>%s</td>'
                       '<td>%s</td></tr>' % (
                           ' waived' if f.get('waived') else '', h(sev), h(f.get('key') or ''), h(host['host']),
                           h(sev), 9 - severity_rank(sev), h(sev), h(f.get('id')), h(f.get('profile')),
                           h(runtime_text(f.get('runtime'))), h(f.get('affected')), h(waiver_text(f)),
                           h(f.get('message'))))
    out.append('</tbody></table><h2>Hosts</h2>')
    for host in fleet['hosts']:
        out.append('<details class="host" data-host="%s" data-status="%s"%s><summary><b>%s</b> '
                   '<span class="st-%s">%s</span> %s</summary>' % (
                       h(host['host']), h(host['status']), ' open' if host['status'] in UNAUDITED else '',
                       h(host['host']), h(host['status']), h(host['status']),
                       h(', '.join('%s %d' % (s, host['counts'].get(s, 0)) for s in SEVERITY_ORDER
                                   if host['counts'].get(s))) or 'no active findings'))
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
    if fleet['expired_waivers']:
        out.append('<h2>Expired waivers (no longer applied)</h2><ul id="expired-waivers">')
        for w in fleet['expired_waivers']:
            out.append('<li><code>%s</code> host %s profile %s expired %s: %s (hosts: %s)</li>' % (
                h(w['id']), h(w['host']), h(w['profile']), h(w['expires']), h(w['reason']), h(w['hosts'])))
        out.append('</ul>')
    out.append('<script>%s</script></body></html>' % _JS)
    return '\n'.join(out) + '\n'


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
