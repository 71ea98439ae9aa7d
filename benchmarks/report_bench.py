# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark fleet report generation (build + every format) on N synthetic hosts.

    PYTHONPATH=.cache/collections python3 benchmarks/report_bench.py [--hosts 10000] [--rounds 5]

Synthetic but contract-shaped data: per host one or two profiles' worth of findings from the real
hazard catalogue, some waived, some hosts with error entries, some unreachable. Medians of --rounds
runs go to benchmarks/results/report_bench.json (docs/benchmarks.md is made from it). The goal is a
ratio measured side by side in each round, so it holds on a busy machine as on a quiet one: the
median total (build and the default formats; opt-in formats such as sarif are timed but not
counted) against ``json.dumps`` of the same fleet by the standard library. Exits 1 above
--max-ratio, or when a host was dropped.
"""
from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _bench  # noqa: E402

from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _renderers, _report
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._hazards import CATALOGUE
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._waivers import apply_waivers

# CPU seconds of build + md, html, json, junit, csv against json.dumps(indent=2, sort_keys) of the
# same fleet, both in this single-threaded process: stable on a busy machine.
RATIO_GOAL = 15.0
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
    parser.add_argument('--max-ratio', type=float, default=RATIO_GOAL,
                        help='goal: build + the default formats at most this many times json.dumps of the fleet')
    _bench.add_arguments(parser, 'report_bench')
    args = parser.parse_args()
    summaries = synthetic_summaries(args.hosts)
    result = _bench.Result('report_bench', {'hosts': args.hosts, 'rounds': args.rounds, 'max_ratio': args.max_ratio})
    times, sizes, fleet = {}, {}, None
    for dummy in range(args.rounds):
        t0 = time.process_time()
        fleet = _report.build_fleet(summaries, hosts=sorted(summaries), fail_on='high',
                                    generated_at='2026-06-01T00:00:00Z', waivers=WAIVERS)
        step = {'build': time.process_time() - t0}
        for fmt in _renderers.FORMATS:
            t0 = time.process_time()
            text = _renderers.RENDERERS[fmt].render(fleet)
            step[fmt] = time.process_time() - t0
            sizes[fmt] = len(text.encode('utf-8'))
        step['total'] = step['build'] + sum(step[fmt] for fmt in _renderers.DEFAULT_FORMATS)
        # Side by side, same round: the standard library serialising the same fleet once.
        t0 = time.process_time()
        json.dumps(fleet, indent=2, sort_keys=True, default=str)
        step['baseline'] = time.process_time() - t0
        for key, value in step.items():
            times.setdefault(key, []).append(value)
    for key, values in times.items():
        result.measure(key, values)
    result.count('hosts in the report', len(fleet['hosts']), args.hosts)
    result.data['params']['findings'] = fleet['totals']['findings'] + fleet['totals']['waived']
    rows = []
    for key in ('build',) + _renderers.FORMATS + ('total', 'baseline'):
        size = '%.1f MB' % (sizes[key] / 1e6) if key in sizes else ''
        label = key if key in _renderers.DEFAULT_FORMATS or key in ('build', 'total') else key + ' (opt-in, not in total)'
        if key == 'baseline':
            label = 'baseline: json.dumps(indent=2) of the same fleet'
        rows.append([label, round(result.median_of(key), 2), size])
    result.table('%d hosts, %d findings, median of %d rounds, CPU seconds' % (args.hosts, result.data['params']['findings'], args.rounds),
                 ['step', 'seconds', 'output size'], rows)
    ratio = result.median_of('total') / result.median_of('baseline')
    rows.append(['ratio total / baseline', round(ratio, 1), ''])
    result.goal('total (build + default formats) / json.dumps of the fleet <= %.0f' % args.max_ratio, ratio, '<=',
                args.max_ratio)
    return result.finish(args.json)


if __name__ == '__main__':
    sys.exit(main())
