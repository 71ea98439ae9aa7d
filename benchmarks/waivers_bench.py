# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: waivers with JMESPath ``when:`` vs the same waivers with globs only, N hosts.

Goal (docs/benchmarks.md): over 10,000 hosts, ``when:`` waivers cost at most 2x glob-only ones.

    source scripts/env.sh
    PYTHONPATH=$RCG_CACHE/collections python benchmarks/waivers_bench.py --hosts 10000 --rounds 5

Findings come from the real hazard evaluation (``_hazards.evaluate``) of a few host shapes (runc
1.2.0-rc.2 / 1.1.13 / unknown, crun 1.5; kubelet, docker and bypass4netns-style profiles). Both
variants call ``apply_waivers`` once per host, as the audit does, with the same six waivers; the
``when:`` variant adds a condition to each. The two run alternately in one process, medians of
--rounds, into benchmarks/results/waivers_bench.json; exits 1 when the ratio exceeds --max-ratio.
"""

from __future__ import absolute_import, division, print_function

import argparse
import os
import sys
import time

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._hazards import evaluate
from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _query
from ansible_collections.runcguard.seccomp.plugins.plugin_utils._waivers import apply_waivers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _bench  # noqa: E402

GLOBS = [
    {'id': 'notify-fcntl-hang', 'host': 'node-0*', 'profile': '/var/lib/kubelet/seccomp/*'},
    {'id': 'notify-runtime-sensitive', 'profile': '*bypass4netns*'},
    {'id': 'notify-listener-absent', 'expires': '2026-01-01'},
    {'id': 'notify-*', 'host': 'build-*'},
    {'id': 'crun-notify-sendmsg-hang'},
    {'id': 'notify-*', 'profile': '/etc/containers/*'},
]
WHEN = [
    "runtime.version == '1.2.0-rc.2' && contains(origin[].engine, 'kubelet')",
    "contains(syscalls, 'close') || contains(syscalls, 'read')",
    "severity == 'medium' && profile != null",
    'affected == `true`',
    "runtime.version != null && starts_with(runtime.version, '1.5')",
    'length(origin) > `0` && !contains(origin[].engine, \'docker\')',
]


def waivers(with_when):
    out = []
    for glob, when in zip(GLOBS, WHEN):
        item = dict({'reason': 'benchmark', 'expires': '2099-12-31'}, **glob)
        if with_when:
            item['when'] = when
        out.append(item)
    return out


def _runtime(name, version, path):
    return {'name': name, 'path': path, 'paths': [path], 'realpath': path, 'version': version, 'dev': False,
            'libseccomp': '2.5.4', 'used_by': ['containerd', 'docker'], 'error': None}


def _profile(path, engine, notify):
    return {'path': path, 'realpath': path, 'format': 'oci', 'origin': [{'engine': engine, 'setting': path}],
            'default_action': 'SCMP_ACT_ALLOW', 'listener_path': '/run/agent.sock' if notify else '',
            'listener_exists': False, 'notify_syscalls': sorted(notify), 'bundle': None, 'error': None,
            'notify': [{'names': sorted(notify), 'action': 'SCMP_ACT_NOTIFY'}] if notify else []}


def host_shapes():
    """Findings lists of a few realistic host shapes (the real hazard evaluation)."""
    runtimes = [[_runtime('runc', '1.2.0-rc.2', '/usr/sbin/runc')], [_runtime('runc', '1.1.13', '/usr/bin/runc')],
                [_runtime('runc', None, '/usr/local/sbin/runc')], [_runtime('crun', '1.5', '/usr/bin/crun')]]
    profiles = [
        [_profile('/var/lib/kubelet/seccomp/profiles/agent.json', 'kubelet', ['fcntl', 'connect'])],
        [_profile('/etc/bypass4netns/seccomp.json', 'docker', ['close', 'connect', 'sendmsg', 'fcntl'])],
        [_profile('/etc/containers/seccomp.json', 'podman', ['read', 'write']),
         _profile('/var/lib/kubelet/seccomp/profiles/b.json', 'kubelet', ['sendmsg'])],
        [],
    ]
    shapes = []
    for runtime in runtimes:
        for profile in profiles:
            shapes.append(evaluate({'schema': 1, 'arch': 'x86_64', 'kernel': '6.1.0', 'libseccomp': '2.5.4',
                                    'runtimes': runtime, 'profiles': profile, 'engines': {}}))
    return shapes


def run(hosts, shapes, the_waivers):
    waived = 0
    started = time.perf_counter()
    for n, host in enumerate(hosts):
        for finding in apply_waivers(shapes[n % len(shapes)], the_waivers, host, today='2026-06-01'):
            waived += finding['waived']
    return time.perf_counter() - started, waived


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--hosts', type=int, default=10000)
    parser.add_argument('--max-ratio', type=float, default=2.0)
    _bench.add_arguments(parser, 'waivers_bench', rounds=5)
    args = parser.parse_args()
    shapes = host_shapes()
    hosts = ['node-%05d.example.internal' % n for n in range(args.hosts)]
    findings = sum(len(shapes[n % len(shapes)]) for n in range(args.hosts))
    variants = {'globs only': waivers(False), 'globs + when': waivers(True)}

    # Count the when: evaluations once (globs let a finding through to its condition).
    calls = [0]
    search = _query.Query.search

    def counting(self, data, what=None):
        calls[0] += 1
        return search(self, data, what)

    _query.Query.search = counting
    dummy, waived_when = run(hosts, shapes, variants['globs + when'])
    _query.Query.search = search
    dummy, waived_globs = run(hosts, shapes, variants['globs only'])

    result = _bench.Result('waivers_bench', {'hosts': args.hosts, 'rounds': args.rounds, 'findings': findings,
                                             'waivers': 6, 'when_evaluations': calls[0], 'max_ratio': args.max_ratio})
    # The when: variant must really evaluate its conditions, and both sides see the same findings.
    result.count('when: conditions evaluated (at least one per host)', calls[0] >= args.hosts, True)
    times = dict((name, []) for name in variants)
    for dummy in range(args.rounds):
        for name, the_waivers in variants.items():  # alternate, so load changes hit both alike
            seconds, dummy = run(hosts, shapes, the_waivers)
            times[name].append(seconds)
    med = dict((name, result.measure(name, values)) for name, values in times.items())
    ratio = med['globs + when'] / med['globs only']
    rows = [[name, round(med[name], 3), int(args.hosts / med[name]), waived]
            for name, waived in (('globs only', waived_globs), ('globs + when', waived_when))]
    rows.append(['**ratio**', '**%.2f**' % ratio, '', ''])
    result.table('%d hosts, %d findings, 6 waivers, %d when: evaluations, medians of %d rounds' % (
        args.hosts, findings, calls[0], args.rounds), ['waivers', 'seconds', 'hosts/s', 'findings waived'], rows)
    result.goal('when: / globs only <= %.1f' % args.max_ratio, ratio, '<=', args.max_ratio)
    return result.finish(args.json)


if __name__ == '__main__':
    sys.exit(main())
