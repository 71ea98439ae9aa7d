# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: merging the partial reports of a sliced audit of N hosts into the report set.

    source scripts/env.sh
    PYTHONPATH=.cache/collections python3 benchmarks/merge_bench.py [--hosts 100000] [--slices 10] [--rounds 3]

Goal (issue 23): 100,000 realistic partial host records merged in at most 60 s and 2 GiB peak
memory on this 2-core machine, measured so that it holds on a shared machine: the merge's CPU time
(user + system, from its own ``getrusage`` at its end) and its peak resident set size (``ru_maxrss``
of that fresh process, whose only work is the merge). Beside it, in each round, a baseline in a fresh
process of its own: the standard library's ``json.loads`` of every line of the same partials, kept
in a list (what any merge must at least do); the ratios merge / baseline of CPU time and of peak
memory are goals too.

Setup (not timed): N contract-shaped host summaries (report_bench.py's generator: 0-3 findings per
host from the real hazard catalogue, waivers active and expired, 5 % of hosts with error entries,
3 % unreachable) written as --slices partial files with ``_partials.write_partial``, as the slices of
a sliced job do. Timed: what ``fleet_report`` does with ``merge_dir``: ``read_partials`` (every host
expected), ``build_fleet``, then every default format rendered, validated and written in chunks through
``_report_files.write_files`` (the JSON streamed, the HTML as a summary page and host pages).
"""
from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import _bench  # noqa: E402

CPU_GOAL, MEMORY_GOAL = 60.0, 2048.0
CPU_RATIO_GOAL, MEMORY_RATIO_GOAL = 12.0, 1.5


def setup(work, hosts, slices):
    from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _partials, _report
    import report_bench

    summaries = report_bench.synthetic_summaries(hosts)
    fleet = _report.build_fleet(summaries, hosts=sorted(summaries))
    partials = os.path.join(work, 'partials')
    names = [h['host'] for h in fleet['hosts']]
    for index in range(slices):
        _partials.write_partial(partials, fleet['hosts'][index::slices], 'job-%d' % (1000 + index))
    size = sum(os.path.getsize(os.path.join(partials, n)) for n in os.listdir(partials))
    findings = fleet['totals']['findings'] + fleet['totals']['waived']
    return partials, size, names, findings


def _usage(extra):
    usage = resource.getrusage(resource.RUSAGE_SELF)
    extra.update({'cpu': usage.ru_utime + usage.ru_stime, 'peak': usage.ru_maxrss / 1024.0})
    print(json.dumps(extra))
    return 0


def baseline(partials):
    """The child for the baseline: json.loads of every line of every partial, all kept."""
    started = time.process_time()
    kept = []
    for name in sorted(os.listdir(partials)):
        with open(os.path.join(partials, name), 'rb') as handle:
            kept.extend(json.loads(line) for line in handle)
    return _usage({'lines': len(kept), 'read': time.process_time() - started})


def merge(partials, dest, expect_file):
    """The child for the merge, as fleet_report runs it with merge_dir."""
    from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _partials, _renderers, _report, _report_files

    with open(expect_file) as handle:
        expect = json.load(handle)
    steps = {}
    started = time.process_time()
    summaries, info = _partials.read_partials(partials, expect=expect)
    steps['read partials'] = time.process_time() - started
    started = time.process_time()
    fleet = _report.build_fleet(summaries, hosts=expect, fail_on='high', generated_at='2026-06-01T00:00:00Z')
    fleet['merge'] = info
    del summaries
    steps['build the fleet'] = time.process_time() - started
    sizes, files = {}, {}
    for fmt in _renderers.DEFAULT_FORMATS:
        started = time.process_time()
        rendered = [(fmt, name, make) for name, make in _renderers.render_files(fleet, fmt, 'runcguard-audit')]
        _report_files.write_files(dest, 'runcguard-audit', rendered, 0o644)
        steps[fmt] = time.process_time() - started
        sizes[fmt] = sum(os.path.getsize(os.path.join(dest, name)) for _fmt, name, _make in rendered)
        files[fmt] = len(rendered)
    return _usage({'steps': steps, 'sizes': sizes, 'files': files, 'hosts': fleet['totals']['hosts'],
                   'findings': fleet['totals']['findings'] + fleet['totals']['waived'],
                   'errors': len(info['errors']), 'missing': len(info['missing'])})


def _child(argv):
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, os.path.abspath(__file__)] + argv, stdout=subprocess.PIPE, text=True,
                          check=False)
    if proc.returncode != 0:
        raise SystemExit('%s failed (exit status %d)' % (argv[0], proc.returncode))
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out['wall'] = time.perf_counter() - started
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--hosts', type=int, default=100000)
    parser.add_argument('--slices', type=int, default=10)
    parser.add_argument('--keep', action='store_true', help='keep the work directory (partials, reports)')
    parser.add_argument('--baseline-child', help=argparse.SUPPRESS)
    parser.add_argument('--merge-child', nargs=3, help=argparse.SUPPRESS)
    _bench.add_arguments(parser, 'merge_bench', rounds=3)
    args = parser.parse_args()
    if args.baseline_child:
        return baseline(args.baseline_child)
    if args.merge_child:
        return merge(*args.merge_child)

    work = tempfile.mkdtemp(prefix='rcg-merge-bench-')
    try:
        partials, size, names, findings = setup(work, args.hosts, args.slices)
        expect_file = os.path.join(work, 'expect.json')
        with open(expect_file, 'w') as handle:
            json.dump(names, handle)
        result = _bench.Result('merge_bench', {'hosts': args.hosts, 'slices': args.slices, 'rounds': args.rounds,
                                               'findings': findings, 'partials_mb': round(size / 1e6)})
        rounds = []
        for number in range(args.rounds):
            dest = os.path.join(work, 'reports-%d' % number)
            # side by side in each round: the baseline, then the merge, each in a fresh process
            rounds.append((_child(['--baseline-child', partials]), _child(['--merge-child', partials, dest, expect_file])))
            shutil.rmtree(dest, ignore_errors=True)
        base, last = [b for b, _m in rounds], rounds[-1][1]
        merged = [m for _b, m in rounds]
        for key in ('cpu', 'peak', 'wall'):
            unit = 'MiB' if key == 'peak' else 's'
            result.measure('merge ' + key, [m[key] for m in merged], unit)
            result.measure('baseline ' + key, [b[key] for b in base], unit)
        for step in last['steps']:
            result.measure('step ' + step, [m['steps'][step] for m in merged])
        result.count('hosts in the merged report', last['hosts'], args.hosts)
        result.count('findings in the merged report', last['findings'], findings)
        result.count('merge errors and missing hosts', last['errors'] + last['missing'], 0)
        result.count('lines the baseline parsed', base[-1]['lines'], args.hosts + 2 * args.slices)
        from ansible_collections.runcguard.seccomp.plugins.plugin_utils._render_html import PAGE_HOSTS
        pages = -(-args.hosts // PAGE_HOSTS)
        result.count('html files (one page, or a summary page + host pages of %d hosts)' % PAGE_HOSTS,
                     last['files']['html'], 1 + pages if pages > 1 else 1)
        rows = [[step, round(result.median_of('step ' + step), 1), '%.0f MB' % (last['sizes'][step] / 1e6)
                 if step in last['sizes'] else ''] for step in last['steps']]
        rows.append(['**whole merge (CPU, user + system)**', round(result.median_of('merge cpu'), 1), ''])
        rows.append(['baseline: json.loads of every partial line', round(result.median_of('baseline cpu'), 1), ''])
        result.table('%d hosts, %d findings, %d partials of %.0f MB, median of %d rounds, CPU seconds (the HTML: '
                     'summary page + %d host pages)' % (args.hosts, findings, args.slices, size / 1e6, args.rounds,
                                                        last['files']['html'] - 1),
                     ['step', 'seconds', 'output size'], rows)
        cpu_ratio = result.median_of('merge cpu') / result.median_of('baseline cpu')
        memory_ratio = result.median_of('merge peak') / result.median_of('baseline peak')
        result.table('The whole merge beside the baseline (medians; peak = the process\'s ru_maxrss)',
                     ['measure', 'merge', 'baseline', 'merge / baseline'],
                     [['CPU seconds', round(result.median_of('merge cpu'), 1),
                       round(result.median_of('baseline cpu'), 1), round(cpu_ratio, 2)],
                      ['peak memory (MiB)', round(result.median_of('merge peak')),
                       round(result.median_of('baseline peak')), round(memory_ratio, 2)],
                      ['wall seconds (the machine is shared: not a goal)', round(result.median_of('merge wall'), 1),
                       round(result.median_of('baseline wall'), 1), '']])
        result.goal('merge CPU seconds <= %.0f' % CPU_GOAL, result.median_of('merge cpu'), '<=', CPU_GOAL)
        result.goal('merge peak memory MiB <= %.0f' % MEMORY_GOAL, result.median_of('merge peak'), '<=', MEMORY_GOAL)
        result.goal('merge CPU / baseline CPU <= %.0f' % CPU_RATIO_GOAL, cpu_ratio, '<=', CPU_RATIO_GOAL)
        result.goal('merge peak / baseline peak <= %.1f' % MEMORY_RATIO_GOAL, memory_ratio, '<=', MEMORY_RATIO_GOAL)
        return result.finish(args.json)
    finally:
        if args.keep:
            print('kept %s' % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
