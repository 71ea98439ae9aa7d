# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark the fleet report inside Ansible: fleet_report over N inventory hosts holding summaries.

    source scripts/env.sh
    PYTHONPATH=$RCG_CACHE/collections python3 benchmarks/report_ansible_bench.py --hosts 10000 [--rounds 1]

The same synthetic summaries as report_bench.py, stored as each inventory host's
`audit_host_summary` (as the audit role leaves them) in a JSON inventory. Each round runs, side by
side, `ansible-playbook` with a no-op task over that inventory (the cost of the inventory itself)
and `ansible-playbook` with one `runcguard.seccomp.fleet_report` task on localhost over
`groups['all']`, writing all five formats to a fresh directory. Prints medians: both wall times,
their difference, the action's own `timings` (collect from hostvars, render, validate + write) and
the same build + render in plain Python measured in this run, for docs/benchmarks.md.
"""
from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from ansible.release import __version__ as ansible_core_version
from report_bench import WAIVERS, synthetic_summaries

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
            '-e', '@' + os.path.join(work, 'waivers.json')]
    if dest:
        argv += ['-e', 'dest=%s' % dest]
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0')
    started = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit('%s failed:\n%s' % (book, (proc.stdout + proc.stderr)[-3000:]))
    return elapsed


def plain_python(summaries):
    started = time.perf_counter()
    fleet = _report.build_fleet(summaries, hosts=sorted(summaries), fail_on='high', waivers=WAIVERS)
    for fmt in _renderers.FORMATS:
        _renderers.RENDERERS[fmt].render(fleet)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--hosts', type=int, default=10000)
    parser.add_argument('--rounds', type=int, default=1)
    args = parser.parse_args()
    if not shutil.which('ansible-playbook'):
        sys.exit('ansible-playbook not on PATH: source scripts/env.sh first')
    summaries = synthetic_summaries(args.hosts)
    work = tempfile.mkdtemp(prefix='rcg-report-bench-')
    try:
        with open(os.path.join(work, 'inventory.json'), 'w') as handle:
            json.dump({'all': {'hosts': dict((host, {'audit_host_summary': summary})
                                             for host, summary in summaries.items())}}, handle)
        with open(os.path.join(work, 'waivers.json'), 'w') as handle:
            json.dump({'waivers': WAIVERS}, handle)
        for name, text in (('report.yml', PLAY), ('noop.yml', NOOP)):
            with open(os.path.join(work, name), 'w') as handle:
                handle.write(text)
        inventory_mb = os.path.getsize(os.path.join(work, 'inventory.json')) / 1e6
        runs = {'noop': [], 'report': [], 'python': []}
        timings = {}
        findings = None
        for n in range(args.rounds):
            runs['noop'].append(playbook(work, 'noop.yml'))
            dest = os.path.join(work, 'reports-%d' % n)
            runs['report'].append(playbook(work, 'report.yml', dest))
            with open(os.path.join(dest, 'result.json')) as handle:
                result = json.load(handle)
            findings = result['findings']
            for key, value in result['timings'].items():
                timings.setdefault(key, []).append(value)
            runs['python'].append(plain_python(summaries))
    finally:
        shutil.rmtree(work)
    med = dict((key, statistics.median(values)) for key, values in list(runs.items()) + list(timings.items()))
    print('ansible-core %s, Python %s on %s, %d hosts (%.1f MB inventory), %d active findings, '
          'medians of %d round(s)' % (ansible_core_version, platform.python_version(), platform.machine(),
                                      args.hosts, inventory_mb, findings, args.rounds))
    print('')
    print('| measurement | seconds |')
    print('|---|---|')
    print('| ansible-playbook, no-op task over the inventory | %.1f |' % med['noop'])
    print('| ansible-playbook, fleet_report over the inventory | %.1f |' % med['report'])
    print('| difference: the report inside Ansible | %.1f |' % (med['report'] - med['noop']))
    for key in sorted(timings):
        print('| action timing `%s` | %.1f |' % (key, med[key]))
    print('| action total (`%s`) | %.1f |' % (' + '.join(sorted(timings)), sum(med[k] for k in timings)))
    print('| same build + render in plain Python | %.1f |' % med['python'])
    return 0


if __name__ == '__main__':
    sys.exit(main())
