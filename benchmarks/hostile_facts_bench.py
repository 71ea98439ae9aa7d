# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: what one host with crafted facts costs the controller, with and without the findings cap.

A compromised host can send ~500 KB of facts (many NOTIFY profiles x many affected runtimes) that
evaluate to tens of thousands of findings. This measures, side by side in one run, the host summary
plus every report format for that host with ``max_findings=None`` (no cap) and with the default cap
(``audit_max_findings_per_host``, 2,000): findings kept, report bytes, seconds and peak memory
(tracemalloc). Run from the repository with scripts/env.sh sourced:

    python benchmarks/hostile_facts_bench.py --profiles 200 --runtimes 100
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import sys
import time
import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))


def _import():
    try:
        from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _hazards
        from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _renderers, _report
    except ImportError:
        sys.path.insert(0, os.path.join(os.path.dirname(HERE), '.cache', 'collections'))
        from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _hazards
        from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _renderers, _report
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


def measure(modules, facts, max_findings):
    """Seconds in one pass, peak traced memory in a second one (tracemalloc slows what it traces)."""
    started = time.perf_counter()
    findings, summary, texts = _once(modules, facts, max_findings)
    seconds = time.perf_counter() - started
    del summary, texts
    tracemalloc.start()
    findings, summary, texts = _once(modules, facts, max_findings)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {'findings': len(findings), 'kept': len(summary['findings']),
            'report_bytes': sum(len(t.encode('utf-8')) for t in texts.values()),
            'seconds': seconds, 'peak_mb': peak / 1e6}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--profiles', type=int, default=200)
    parser.add_argument('--runtimes', type=int, default=100)
    args = parser.parse_args()
    modules = _import()
    facts = crafted_facts(args.profiles, args.runtimes)
    print('facts: %d KB' % (len(json.dumps(facts)) // 1024))
    rows = [('no cap', measure(modules, facts, None)),
            ('cap %d' % modules[2].MAX_FINDINGS_PER_HOST, measure(modules, facts, modules[2].MAX_FINDINGS_PER_HOST))]
    for name, row in rows:
        print('%-10s findings %6d  kept %6d  reports %8.1f MB  %6.2f s  peak %7.1f MB'
              % (name, row['findings'], row['kept'], row['report_bytes'] / 1e6, row['seconds'], row['peak_mb']))
    base, capped = rows[0][1], rows[1][1]
    print('ratio (no cap / cap): reports %.1fx, time %.1fx, peak memory %.1fx'
          % (base['report_bytes'] / capped['report_bytes'], base['seconds'] / capped['seconds'],
             base['peak_mb'] / capped['peak_mb']))


if __name__ == '__main__':
    main()
