# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark fleet report generation (build + every format) on N synthetic hosts.

    PYTHONPATH=.cache/collections python3 benchmarks/report_bench.py [--hosts 10000] [--repeat 3]

Synthetic but contract-shaped data: per host one or two profiles' worth of findings from the real
hazard catalogue, some waived, some hosts with error entries, some unreachable. Prints a Markdown
table (best of --repeat runs) for docs/benchmarks.md and exits 1 when the total (build and the
default formats; opt-in formats such as sarif are timed but not counted) exceeds --budget.
"""
from __future__ import absolute_import, division, print_function

import argparse
import platform
import random
import sys
import time

from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _renderers, _report
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._hazards import CATALOGUE
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._waivers import apply_waivers

WAIVERS = [{'id': 'notify-runtime-sensitive', 'host': 'node-1*', 'reason': 'agent intercepts close',
            'expires': '2099-12-31'},
           {'id': 'notify-listener-absent', 'host': '*', 'profile': '/etc/docker/*', 'reason': 'old',
            'expires': '2020-01-01'}]


def synthetic_summaries(count, seed=42):
    rng = random.Random(seed)
    ids = sorted(CATALOGUE)
    out = {}
    for n in range(count):
        host = 'node-%05d.example.internal' % n
        roll = rng.random()
        if roll < 0.03:
            out[host] = _report.host_summary(host, status='unreachable', message='ssh: connect to host timed out')
            continue
        findings = []
        for k in range(rng.choice((0, 1, 1, 2, 3))):
            hazard = ids[rng.randrange(len(ids))]
            profile = rng.choice(('/etc/docker/seccomp/bypass4netns.json', '/var/lib/kubelet/seccomp/profiles/a%d.json'
                                  % k, '/etc/containers/seccomp.json'))
            runtime = {'name': 'runc', 'path': '/usr/sbin/runc', 'version': rng.choice(('1.1.13', '1.2.0-rc.2', None))}
            findings.append({'id': hazard, 'key': '%s|%s|/usr/sbin/runc' % (hazard, profile),
                             'severity': CATALOGUE[hazard]['severity'], 'title': CATALOGUE[hazard]['title'],
                             'profile': profile, 'origin': [{'engine': 'docker', 'setting': 'daemon.json seccomp-profile'}],
                             'syscalls': ['fcntl'], 'runtime': runtime, 'affected': True,
                             'reference': CATALOGUE[hazard]['reference'],
                             'message': 'runc %s at /usr/sbin/runc may hang with %s' % (runtime['version'], profile),
                             'remediation': ['upgrade_runc']})
        facts = {'runtimes': [{'name': 'runc', 'path': '/usr/sbin/runc', 'version': '1.1.13', 'error': None}],
                 'profiles': [{'path': '/etc/docker/seccomp/bypass4netns.json', 'notify_syscalls': ['fcntl']}]}
        if roll > 0.95:
            facts['profiles'].append({'path': '/etc/docker/bad.json', 'error': 'malformed JSON: line 1'})
        out[host] = _report.host_summary(host, facts, apply_waivers(findings, WAIVERS, host, today='2026-06-01'))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--hosts', type=int, default=10000)
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--budget', type=float, default=5.0, help='seconds for build + the default formats')
    args = parser.parse_args()
    summaries = synthetic_summaries(args.hosts)
    best = {}
    sizes = {}
    for dummy in range(args.repeat):
        t0 = time.perf_counter()
        fleet = _report.build_fleet(summaries, hosts=sorted(summaries), fail_on='high',
                                    generated_at='2026-06-01T00:00:00Z', waivers=WAIVERS)
        times = {'build': time.perf_counter() - t0}
        for fmt in _renderers.FORMATS:
            t0 = time.perf_counter()
            text = _renderers.RENDERERS[fmt].render(fleet)
            times[fmt] = time.perf_counter() - t0
            sizes[fmt] = len(text.encode('utf-8'))
        times['total'] = times['build'] + sum(times[fmt] for fmt in _renderers.DEFAULT_FORMATS)
        for key, value in times.items():
            best[key] = min(best.get(key, value), value)
    findings = fleet['totals']['findings'] + fleet['totals']['waived']
    print('Python %s on %s, %d hosts, %d findings, best of %d runs' % (
        platform.python_version(), platform.machine(), args.hosts, findings, args.repeat))
    print('')
    print('| step | seconds | output size |')
    print('|---|---|---|')
    for key in ('build',) + _renderers.FORMATS + ('total',):
        size = '%.1f MB' % (sizes[key] / 1e6) if key in sizes else ''
        label = key if key in _renderers.DEFAULT_FORMATS or key in ('build', 'total') else key + ' (opt-in, not in total)'
        print('| %s | %.2f | %s |' % (label, best[key], size))
    if best['total'] > args.budget:
        print('\nover budget: %.2f s > %.2f s' % (best['total'], args.budget))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
