# -*- coding: utf-8 -*-
# Copyright (c) runcguard maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The HTML fleet report's style sheet and script (pure text, inlined in every page by _render_html)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th[data-sort]{cursor:pointer;background:#f3f3f3}th[data-sort]:after{content:" \\2195";color:#999}
.sev-critical{background:#b00020;color:#fff}.sev-high{background:#e65100;color:#fff}.sev-medium{background:#f9a825}
.sev-low{background:#c5e1a5}.sev-info{background:#e3f2fd}.cards span{display:inline-block;margin-right:.5em;padding:.4em .8em;border-radius:4px}
.st-unreachable,.st-failed,.st-missing{color:#b00020;font-weight:bold}.waived{opacity:.6}
code{font-size:90%}#controls{margin:.5em 0;position:sticky;top:0;background:#fff;padding:.3em 0;z-index:1}
details.hazard,details.group{margin:.3em 0}details>summary{cursor:pointer;padding:.2em 0}
tr.first-of-host td{border-top:2px solid #888}.charts{display:flex;flex-wrap:wrap;gap:2em}
figure{margin:0}figcaption{font-size:90%;color:#555}.v-affected{background:#ffcdd2}.v-would-hit,.v-unknown,.v-mixed{background:#eeeeee}
"""

# Sort and filter only: no data is built from strings into HTML (textContent only), no network.
# Built for 10,000 hosts: each row's text is lowered once, rows are only touched when their state
# changes, and a hazard group with no matching row is hidden (groups open when few rows match).
JS = """
(function(){
var rows=Array.prototype.slice.call(document.querySelectorAll('tr.finding'));
var groups=Array.prototype.slice.call(document.querySelectorAll('details.hazard'));
var hosts=Array.prototype.slice.call(document.querySelectorAll('details.host'));
var q=document.getElementById('q'), sev=document.getElementById('sev'), shown=document.getElementById('shown');
if(!q){return;}
var texts=null, timer=null, OPEN_BELOW=300;
function lowered(){ if(!texts){texts=rows.map(function(r){return r.textContent.toLowerCase();});} return texts; }
function show(el,ok){ if(ok===!el.hasAttribute('hidden')){return;} if(ok){el.removeAttribute('hidden');}else{el.setAttribute('hidden','');} }
function apply(){
  var needle=q.value.toLowerCase(), want=sev.value, n=0, t=lowered();
  var perGroup=new Map();
  rows.forEach(function(r,i){
    var ok=(!want||r.getAttribute('data-severity')===want)&&(!needle||t[i].indexOf(needle)>=0);
    show(r,ok);
    if(ok){n++; var g=r.closest('details.hazard'); perGroup.set(g,(perGroup.get(g)||0)+1);}
  });
  var filtered=!!(needle||want);
  groups.forEach(function(g){
    var c=perGroup.get(g)||0, total=g.getAttribute('data-rows');
    show(g,c>0||!filtered);
    g.querySelector('.count').textContent=filtered?(c+' of '+total):total;
    if(filtered&&c>0&&n<=OPEN_BELOW){g.open=true;}
  });
  hosts.forEach(function(h){ show(h,!needle||h.getAttribute('data-host').toLowerCase().indexOf(needle)>=0); });
  shown.textContent=n+' of '+rows.length+' findings shown';
}
function later(){ clearTimeout(timer); timer=setTimeout(apply,rows.length>5000?200:0); }
function sortBy(table,col,numeric,th){
  var body=table.tBodies[0], list=Array.prototype.slice.call(body.rows);
  var dir=th.getAttribute('data-dir')==='asc'?-1:1;
  Array.prototype.forEach.call(table.tHead.rows[0].cells,function(c){c.removeAttribute('data-dir');});
  th.setAttribute('data-dir',dir===1?'asc':'desc');
  var keyed=list.map(function(r,i){var c=r.cells[col], k=c.getAttribute('data-key')||c.textContent; return [numeric?parseFloat(k):k,i,r];});
  keyed.sort(function(a,b){return (a[0]<b[0]?-1:a[0]>b[0]?1:a[1]-b[1])*(a[0]===b[0]?1:dir);});
  var frag=document.createDocumentFragment();
  keyed.forEach(function(k){frag.appendChild(k[2]);});
  body.appendChild(frag);
}
Array.prototype.forEach.call(document.querySelectorAll('table.findings'),function(table){
  Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,i){
    if(th.hasAttribute('data-sort')){th.addEventListener('click',function(){sortBy(table,i,th.getAttribute('data-sort')==='num',th);});}
  });
});
function openAll(open){ groups.forEach(function(g){ if(!g.hasAttribute('hidden')){g.open=open;} }); }
document.getElementById('expand').addEventListener('click',function(){openAll(true);});
document.getElementById('collapse').addEventListener('click',function(){openAll(false);});
q.addEventListener('input',later); sev.addEventListener('change',apply);
var m=/[#&]q=([^&]*)/.exec(location.hash); if(m){q.value=decodeURIComponent(m[1]);}
var s=/[#&]severity=([a-z]*)/.exec(location.hash); if(s){sev.value=s[1];}
apply();
})();
"""
