# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: what one host with crafted facts costs the controller, with and without the findings cap.

A compromised host can send ~500 KB of facts (many NOTIFY profiles x many affected runtimes) that
evaluate to tens of thousands of findings. This measures, side by side in one run, the host summary
plus every report format for that host with ``max_findings=None`` (no cap) and with the default cap
(``audit_max_findings_per_host``, 2,000): findings kept, report bytes, seconds and peak memory
(tracemalloc). Run from the repository with scripts/env.sh sourced:

    python benchmarks/hostile_facts_bench.py --profiles 200 --runtimes 100 --rounds 3

Seconds are medians of --rounds. Result in benchmarks/results/hostile_facts_bench.json; exit 1
when the cap does not keep exactly its number of findings or a ratio misses its goal.
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import sys
import time
import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import _bench  # noqa: E402


def _import():
    try:
        import ansible_collections.runcguard.seccomp.plugins  # noqa: F401
    except ImportError:
        sys.path.insert(0, os.path.join(os.path.dirname(HERE), '.cache', 'collections'))
    from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _hazards, _renderers, _report
    return _hazards, _renderers, _report


def crafted_facts(profiles, runtimes):
    return {
        'arch': 'x86_64', 'kernel': '6.1.0', 'libseccomp': '2.5.1',
        'runtimes': [{'name': 'runc', 'path': '/opt/r%04d/runc' % i, 'version': '1.2.0-rc.2', 'used_by': [],
                      'commit': 'v1.2.0-rc.2-0-gf2d2ee5e4', 'error': None} for i in range(runtimes)],
        'profiles': [{'path': '/var/lib/kubelet/seccomp/p%04d.json' % i, 'format': 'oci',
                      'origin': [{'engine': 'user', 'setting': 'profile_paths'}], 'default_action': 'SCMP_ACT_ALLOW',
                      'listener_path': '/run/agent.sock', 'listener_exists': False,
                      'notify_syscalls': ['fcntl', 'write', 'sendmsg', 'close'], 'error': None}
                     for i in range(profiles)],
    }


def _once(modules, facts, max_findings):
    hazards, renderers, report = modules
    findings = hazards.evaluate(facts)
    summary = report.host_summary('evil', facts, findings, max_findings=max_findings)
    fleet = report.build_fleet({'evil': summary}, fail_on='high')
    return findings, summary, renderers.render(fleet, renderers.FORMATS)


def measure(modules, facts, max_findings, rounds):
    """Median seconds of `rounds` passes, peak traced memory in one more (tracemalloc slows what it traces)."""
    times = []
    for dummy in range(rounds):
        started = time.perf_counter()
        findings, summary, texts = _once(modules, facts, max_findings)
        times.append(time.perf_counter() - started)
        del summary, texts
    tracemalloc.start()
    findings, summary, texts = _once(modules, facts, max_findings)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {'findings': len(findings), 'kept': len(summary['findings']),
            'report_bytes': sum(len(t.encode('utf-8')) for t in texts.values()),
            'times': times, 'seconds': _bench.median(times), 'peak_mb': peak / 1e6}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--profiles', type=int, default=200)
    parser.add_argument('--runtimes', type=int, default=100)
    parser.add_argument('--min-size-ratio', type=float, default=10.0)
    parser.add_argument('--min-time-ratio', type=float, default=3.0)
    parser.add_argument('--min-memory-ratio', type=float, default=2.0)
    _bench.add_arguments(parser, 'hostile_facts_bench', rounds=3)
    args = parser.parse_args()
    modules = _import()
    cap = modules[2].MAX_FINDINGS_PER_HOST
    facts = crafted_facts(args.profiles, args.runtimes)
    result = _bench.Result('hostile_facts_bench', {'profiles': args.profiles, 'runtimes': args.runtimes,
                                                   'rounds': args.rounds, 'facts_kb': len(json.dumps(facts)) // 1024,
                                                   'cap': cap})
    base, capped = measure(modules, facts, None, args.rounds), measure(modules, facts, cap, args.rounds)
    result.measure('no_cap', base['times'])
    result.measure('cap', capped['times'])
    result.count('findings kept without the cap', base['kept'], base['findings'])
    result.count('findings kept with the cap', capped['kept'], cap)
    result.table('one host, %d KB of crafted facts (%d profiles x %d runtimes), medians of %d rounds' % (
        result.data['params']['facts_kb'], args.profiles, args.runtimes, args.rounds),
        ['', 'findings', 'kept', 'reports MB', 'seconds', 'peak MB'],
        [[name, row['findings'], row['kept'], round(row['report_bytes'] / 1e6, 1), round(row['seconds'], 2),
          round(row['peak_mb'], 1)] for name, row in (('no cap', base), ('cap %d' % cap, capped))])
    result.goal('reports smaller with the cap (x) >= %.1f' % args.min_size_ratio,
                base['report_bytes'] / float(capped['report_bytes']), '>=', args.min_size_ratio)
    result.goal('faster with the cap (x) >= %.1f' % args.min_time_ratio, base['seconds'] / capped['seconds'], '>=',
                args.min_time_ratio)
    result.goal('lighter in memory with the cap (x) >= %.1f' % args.min_memory_ratio, base['peak_mb'] / capped['peak_mb'],
                '>=', args.min_memory_ratio)
    return result.finish(args.json)


if __name__ == '__main__':
    sys.exit(main())
