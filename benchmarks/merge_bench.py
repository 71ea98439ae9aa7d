# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: merging the partial reports of a sliced audit of N hosts (issue 23: 100,000 hosts in at
most 60 s and 2 GiB peak memory on the 2-core test machine).

    source scripts/env.sh
    PYTHONPATH=.cache/collections python3 benchmarks/merge_bench.py [--hosts 100000] [--slices 10]

Setup (not timed): N contract-shaped host summaries (benchmarks/report_bench.py's generator: 0-3
findings per host from the real hazard catalogue, waivers active and expired, 5 % of hosts with
error entries, 3 % unreachable) written as --slices partial files with ``_partials.write_partial``,
as the slices of a sliced job do. Timed, in a fresh child process so its peak RSS is the merge's
own: what ``fleet_report`` does with ``merge_dir`` - read every partial (``read_partials``), build
the fleet, render, validate and write every default format (``render_files``). Prints a Markdown
table for docs/benchmarks.md; exits 1 over --budget seconds or --memory MiB.
"""
from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def setup(work, hosts, slices):
    from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _partials, _report
    import report_bench

    summaries = report_bench.synthetic_summaries(hosts)
    fleet = _report.build_fleet(summaries, hosts=sorted(summaries))
    partials = os.path.join(work, 'partials')
    names = [h['host'] for h in fleet['hosts']]
    by_name = dict((h['host'], h) for h in fleet['hosts'])
    for index in range(slices):
        _partials.write_partial(partials, [by_name[n] for n in names[index::slices]], 'job-%d' % (1000 + index))
    size = sum(os.path.getsize(os.path.join(partials, n)) for n in os.listdir(partials))
    return partials, size, names


def merge(partials, dest, expect_file):
    """The child: the merge as fleet_report runs it; prints one JSON line of timings."""
    from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _partials, _renderers, _report

    with open(expect_file) as handle:
        expect = json.load(handle)
    timings = {}
    started = time.perf_counter()
    summaries, info = _partials.read_partials(partials, expect=expect)
    timings['read partials'] = time.perf_counter() - started
    started = time.perf_counter()
    fleet = _report.build_fleet(summaries, hosts=expect, fail_on='high', generated_at='2026-06-01T00:00:00Z')
    fleet['merge'] = info
    del summaries
    timings['build'] = time.perf_counter() - started
    sizes = {}
    os.makedirs(dest)
    for fmt in _renderers.DEFAULT_FORMATS:
        started = time.perf_counter()
        path = os.path.join(dest, 'runcguard-audit.%s' % _renderers.EXTENSIONS[fmt])
        text = _renderers.render(fleet, [fmt])[fmt]
        _renderers.validate(fmt, text, fleet)
        with open(path, 'w', encoding='utf-8') as handle:
            handle.write(text)
        del text
        sizes[fmt] = os.path.getsize(path)
        timings[fmt] = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak = usage.ru_maxrss * 1024
    print(json.dumps({'timings': timings, 'sizes': sizes, 'peak': peak, 'cpu': usage.ru_utime + usage.ru_stime, 'hosts': fleet['totals']['hosts'],
                      'findings': fleet['totals']['findings'] + fleet['totals']['waived'],
                      'errors': len(info['errors']), 'missing': len(info['missing'])}))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--hosts', type=int, default=100000)
    parser.add_argument('--slices', type=int, default=10)
    parser.add_argument('--budget', type=float, default=60.0, help='seconds for the whole merge')
    parser.add_argument('--memory', type=float, default=2048, help='MiB of peak memory (RSS) for the merge')
    parser.add_argument('--keep', action='store_true', help='keep the work directory (partials, reports)')
    parser.add_argument('--child', nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return merge(*args.child)

    work = tempfile.mkdtemp(prefix='rcg-fleet-merge-bench-')
    try:
        started = time.perf_counter()
        partials, size, names = setup(work, args.hosts, args.slices)
        setup_time = time.perf_counter() - started
        expect_file = os.path.join(work, 'expect.json')
        with open(expect_file, 'w') as handle:
            json.dump(names, handle)
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), '--child', partials,
                               os.path.join(work, 'reports'), expect_file],
                              stdout=subprocess.PIPE, text=True, check=False)
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            raise SystemExit('the merge failed (exit status %d)' % proc.returncode)
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        peak = result['peak'] / 2.0 ** 20
        print('Python %s on %s, %d CPUs, load average %.1f; %d hosts (%d findings) in %d partials of %.0f MB '
              '(written in %.0f s, not timed)' % (
                  platform.python_version(), platform.machine(), os.cpu_count(), os.getloadavg()[0], result['hosts'],
                  result['findings'], args.slices, size / 1e6, setup_time))
        print('')
        print('| step | seconds | output size |')
        print('|---|---|---|')
        for step, seconds in result['timings'].items():
            out = result['sizes'].get(step)
            print('| %s | %.1f | %s |' % (step, seconds, '%.0f MB' % (out / 1e6) if out else ''))
        print('| **whole merge (child process wall time)** | **%.1f** | |' % wall)
        print('| whole merge, CPU time (user + system) | %.1f | |' % result['cpu'])
        print('')
        print('peak memory (RSS) of the merge: %.0f MiB (goal <= %.0f MiB); time %.1f s (goal <= %.0f s)' % (
            peak, args.memory, wall, args.budget))
        if result['errors'] or result['missing'] or result['hosts'] != args.hosts:
            print('the merge lost hosts or reported errors: %s' % result)
            return 1
        return 0 if wall <= args.budget and peak <= args.memory else 1
    finally:
        if args.keep:
            print('kept %s' % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
