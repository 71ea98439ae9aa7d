# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark the fleet report inside Ansible: fleet_report over N inventory hosts holding summaries.

    source scripts/env.sh
    PYTHONPATH=$RCG_CACHE/collections python3 benchmarks/report_ansible_bench.py --hosts 10000 [--rounds 3]

The same synthetic summaries as report_bench.py, stored as each inventory host's
`audit_host_summary` (as the audit role leaves them) in a JSON inventory. Each round runs, side by
side, `ansible-playbook` with a no-op task over that inventory (the cost of the inventory itself)
and `ansible-playbook` with one `runcguard.seccomp.fleet_report` task on localhost over
`groups['all']`, writing the default formats to a fresh directory, and the same build + render of
exactly those formats in plain Python (the same work on both sides: the files written and the
findings are counted and must agree). Medians of --rounds go to
benchmarks/results/report_ansible_bench.json: both wall times, their difference, the action's own
`timings` (collect from hostvars, render, validate + write) and the plain-Python time. Exits 1 when
the action's own time (its `timings`, not the playbook's wall time, whose noise under load is larger
than the report) is more than --max-ratio times plain Python.
"""
from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from ansible.release import __version__ as ansible_core_version
from report_bench import WAIVERS, synthetic_summaries

import _bench

from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _renderers, _report

PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Write the fleet report
      runcguard.seccomp.fleet_report:
        hosts: "{{ groups['all'] }}"
        dest: "{{ dest }}"
        fail_on: high
        waivers: "{{ waivers }}"
        formats: "{{ formats }}"
      register: report
    - name: Keep the action's timings
      ansible.builtin.copy:
        content: "{{ {'timings': report.timings, 'findings': report.totals.findings} | to_json }}"
        dest: "{{ dest }}/result.json"
"""
NOOP = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Nothing (the inventory's own cost)
      ansible.builtin.meta: noop
"""


def playbook(work, book, dest=None):
    argv = ['ansible-playbook', '-i', os.path.join(work, 'inventory.json'), os.path.join(work, book),
            '-e', '@' + os.path.join(work, 'vars.json')]
    if dest:
        argv += ['-e', 'dest=%s' % dest]
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0')
    started = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit('%s failed:\n%s' % (book, (proc.stdout + proc.stderr)[-3000:]))
    return elapsed


def plain_python(summaries, formats):
    """The action's work without Ansible: build the fleet, render the same formats. (seconds, findings)"""
    started = time.perf_counter()
    fleet = _report.build_fleet(summaries, hosts=sorted(summaries), fail_on='high', waivers=WAIVERS)
    for fmt in formats:
        _renderers.RENDERERS[fmt].render(fleet)
    return time.perf_counter() - started, fleet['totals']['findings']


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--hosts', type=int, default=10000)
    parser.add_argument('--max-ratio', type=float, default=8.0,
                        help='goal: the action (its own timings) at most this many times plain Python')
    _bench.add_arguments(parser, 'report_ansible_bench', rounds=3)
    args = parser.parse_args()
    if not shutil.which('ansible-playbook'):
        sys.exit('ansible-playbook not on PATH: source scripts/env.sh first')
    formats = list(_renderers.DEFAULT_FORMATS)
    summaries = synthetic_summaries(args.hosts)
    result = _bench.Result('report_ansible_bench', {'hosts': args.hosts, 'rounds': args.rounds, 'formats': formats,
                                                    'ansible_core': ansible_core_version, 'max_ratio': args.max_ratio})
    work = tempfile.mkdtemp(prefix='rcg-report-bench-')
    try:
        with open(os.path.join(work, 'inventory.json'), 'w') as handle:
            json.dump({'all': {'hosts': dict((host, {'audit_host_summary': summary})
                                             for host, summary in summaries.items())}}, handle)
        with open(os.path.join(work, 'vars.json'), 'w') as handle:
            json.dump({'waivers': WAIVERS, 'formats': formats}, handle)
        for name, text in (('report.yml', PLAY), ('noop.yml', NOOP)):
            with open(os.path.join(work, name), 'w') as handle:
                handle.write(text)
        result.data['params']['inventory_mb'] = round(os.path.getsize(os.path.join(work, 'inventory.json')) / 1e6, 1)
        runs = {'noop': [], 'report': [], 'python': []}
        timings = {}
        for n in range(args.rounds):
            runs['noop'].append(playbook(work, 'noop.yml'))
            dest = os.path.join(work, 'reports-%d' % n)
            runs['report'].append(playbook(work, 'report.yml', dest))
            with open(os.path.join(dest, 'result.json')) as handle:
                action = json.load(handle)
            written = sorted(name for name in os.listdir(dest) if name != 'result.json')
            for key, value in action['timings'].items():
                timings.setdefault(key, []).append(value)
            seconds, findings = plain_python(summaries, formats)
            runs['python'].append(seconds)
            if n == 0:  # the same work on both sides
                result.count('report files the action wrote', len(written), len(formats))
                result.count('findings: action vs plain Python', action['findings'], findings)
    finally:
        shutil.rmtree(work)
    for key, values in list(runs.items()) + list(timings.items()):
        result.measure(key, values)
    med = result.median_of
    inside = med('report') - med('noop')
    result.measure('inside_ansible', [r - n for r, n in zip(runs['report'], runs['noop'])])
    rows = [['ansible-playbook, no-op task over the inventory', round(med('noop'), 1)],
            ['ansible-playbook, fleet_report over the inventory', round(med('report'), 1)],
            ['difference: the report inside Ansible', round(inside, 1)]]
    rows += [['action timing `%s`' % key, round(med(key), 1)] for key in sorted(timings)]
    rows += [['action total (`%s`)' % ' + '.join(sorted(timings)), round(sum(med(k) for k in timings), 1)],
             ['same build + render (%s) in plain Python' % ', '.join(formats), round(med('python'), 1)]]
    result.table('ansible-core %s, %d hosts (%.1f MB inventory), medians of %d round(s)' % (
        ansible_core_version, args.hosts, result.data['params']['inventory_mb'], args.rounds),
        ['measurement', 'seconds'], rows)
    action_total = sum(med(k) for k in timings)
    result.goal('fleet_report action (its own timings) / plain Python <= %.1f' % args.max_ratio, action_total / med('python'),
                '<=', args.max_ratio)
    return result.finish(args.json)


if __name__ == '__main__':
    sys.exit(main())
