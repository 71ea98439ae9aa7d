# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: notify_findings over N synthetic hosts' facts on one core.

Goal (docs/benchmarks.md): at most 2x a JSON round trip of the same facts, measured side by
side in the same run (hosts/s are reported too; on a shared machine they measure its load). Run from a directory where the collection is
importable as ansible_collections.runcguard.seccomp (scripts/env.sh sets that up), e.g.

    python benchmarks/notify_findings_bench.py --hosts 10000 --rounds 5

Medians of --rounds: hosts/s for the filter and, side by side in the same run, for a baseline that
only walks the same facts (json round trip of each host's facts), so the ratio is stable across
machines. Result in benchmarks/results/notify_findings_bench.json; exit 1 above the goal.
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import _bench  # noqa: E402


def _import():
    try:
        import ansible_collections.runcguard.seccomp.plugins  # noqa: F401
    except ImportError:
        sys.path.insert(0, os.path.join(os.path.dirname(HERE), '.cache', 'collections'))
    from ansible_collections.runcguard.seccomp.plugins.module_utils import _profile, _version
    from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _hazards
    return _hazards, _profile, _version


VERSIONS = [
    'runc version 1.2.0-rc.2\ncommit: v1.2.0-rc.2-0-gf2d2ee5e4\nspec: 1.2.0\ngo: go1.21.13\nlibseccomp: 2.5.4\n',
    'runc version 1.1.13\ncommit: v1.1.13-0-g58aa9203c\nspec: 1.0.2-dev\ngo: go1.21.13\nlibseccomp: 2.5.4\n',
    'runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\ngo: go1.19.8\nlibseccomp: 2.5.4\n',
    'crun version 1.5\ncommit: 54ebb8ca8bf7e6ddae2eb919f5b82d1d96863dea\nspec: 1.0.0\n',
]
B4N = {'defaultAction': 'SCMP_ACT_ERRNO', 'listenerPath': '/run/user/1000/bypass4netns.sock',
       'syscalls': [{'names': ['read', 'write', 'openat'], 'action': 'SCMP_ACT_ALLOW'},
                    {'names': ['bind', 'close', 'connect', 'setsockopt', 'fcntl', '_exit', 'exit_group',
                               'getpeername'], 'action': 'SCMP_ACT_NOTIFY'}]}
PLAIN = {'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'names': ['read', 'write'], 'action': 'SCMP_ACT_ALLOW'}]}


def synthetic_fleet(count, _profile, _version):
    """Hosts with 2 runtimes and 6 profiles each (2 with NOTIFY rules)."""
    notify = _profile.describe_profile(json.dumps(B4N).encode(), arch='x86_64')
    plain = _profile.describe_profile(json.dumps(PLAIN).encode(), arch='x86_64')
    fleet = []
    for index in range(count):
        runtimes = []
        for slot, text in enumerate((VERSIONS[index % 4], VERSIONS[(index + 1) % 4])):
            entry = _version.parse_runtime_version(text)
            entry.update({'path': '/usr/bin/rt%d' % slot, 'used_by': ['docker', 'containerd'], 'package': None})
            runtimes.append(entry)
        profiles = []
        for number in range(6):
            entry = dict(notify if number < 2 else plain)
            entry.update({'path': '/var/lib/kubelet/seccomp/p%d.json' % number, 'error': None,
                          'listener_exists': number == 0,
                          'origin': [{'engine': 'kubelet', 'setting': 'Localhost profile'}]})
            profiles.append(entry)
        fleet.append({'schema': 1, 'arch': 'x86_64', 'kernel': '6.1.0', 'libseccomp': '2.5.4',
                      'runtimes': runtimes, 'profiles': profiles})
    return fleet


def timed(func, fleet):
    """CPU seconds of this process for one pass over the whole fleet: single-threaded pure Python,
    so CPU time is what the work costs, whatever else the machine is running."""
    start = time.process_time()
    for facts in fleet:
        func(facts)
    return time.process_time() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--hosts', type=int, default=10000)
    parser.add_argument('--max-ratio', type=float, default=2.0,
                        help='goal: notify_findings at most this many times the json round trip')
    _bench.add_arguments(parser, 'notify_findings_bench', rounds=5)
    args = parser.parse_args()
    _hazards, _profile, _version = _import()
    fleet = synthetic_fleet(args.hosts, _profile, _version)
    result = _bench.Result('notify_findings_bench', {'hosts': args.hosts, 'rounds': args.rounds,
                                                     'max_ratio': args.max_ratio})
    findings = sum(len(_hazards.evaluate(f)) for f in fleet)
    # Every host's facts give the same findings per runtime mix (4 mixes): the work per host is real.
    result.count('hosts evaluated', len(fleet), args.hosts)
    result.data['params']['findings'] = findings
    # Each round times both sides back to back; the goal is the median of the rounds' ratios.
    rounds = [(timed(_hazards.evaluate, fleet), timed(lambda f: json.loads(json.dumps(f)), fleet))
              for dummy in range(args.rounds)]
    evaluate_s = result.measure('evaluate', [e for e, _b in rounds])
    baseline_s = result.measure('baseline', [b for _e, b in rounds])
    ratio = result.measure('ratio', [e / b for e, b in rounds], unit='x')
    rate = args.hosts / evaluate_s
    result.table('%d hosts, %d findings, medians of %d rounds, CPU seconds of one core' % (args.hosts, findings, args.rounds),
                 ['measurement', 'seconds', 'hosts/s'],
                 [['notify_findings (evaluate)', round(evaluate_s, 3), int(rate)],
                  ['baseline: json round trip of the same facts', round(baseline_s, 3), int(args.hosts / baseline_s)],
                  ['ratio notify_findings / baseline (median of the rounds)', round(ratio, 2), '']])
    result.goal('notify_findings / json round trip of the same facts <= %.1f' % args.max_ratio,
                ratio, '<=', args.max_ratio)
    return result.finish(args.json)


if __name__ == '__main__':
    sys.exit(main())
