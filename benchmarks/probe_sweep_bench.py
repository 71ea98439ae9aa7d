# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark and hazard table: notify_probe's sweep on real runtime builds (root, Linux).

Goals (docs/benchmarks.md, issue "Probe sweep"):
  * a full sweep of a healthy runtime takes <= 2 s and <= 4 container starts per noNewPrivileges mode;
  * a full sweep of runc 1.2.0-rc.2 takes <= 30 s for both modes together;
  * a single-syscall probe of a hanging runtime reports the hang within 2 s even with timeout 60.

For every runtime it is given, the script sweeps the host's whole syscall table in both modes
(`--rounds` times, medians), and side by side in the same run times one single-syscall canary start
(`kexec_load` under NOTIFY: a syscall nothing calls) so that the sweep's cost reads as a number of
container starts on any machine. For runtimes whose sweep found a hang, it probes the first hanging
syscall alone with timeout 60 and reports how long recognising the hang took.

    source scripts/env.sh
    sudo -E PYTHONPATH=$RCG_CACHE/collections python3 benchmarks/probe_sweep_bench.py --shared --rounds 3
    ... python3 benchmarks/probe_sweep_bench.py /usr/sbin/runc /opt/runc-1.2.0-rc.2 --hazards-table

`--shared` unpacks the test builds of `shared/runc-builds` and `shared/crun-builds` (sha256-verified
by their unpack.sh) with the host-test helper `tests/host/realruntimes.py`, which also wraps crun for
this machine kind's hybrid cgroups. `--hazards-table` prints the measured-sweeps table of
docs/hazards.md (runtime build x hang set x error set).
"""

from __future__ import absolute_import, division, print_function

import argparse
import os
import shutil
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TIMEOUT = 60


def _import():
    try:
        from ansible_collections.runcguard.seccomp.plugins.module_utils._probe import probe as _probe, sweep as _probe_sweep, syscalls as _probe_syscalls
    except ImportError:
        sys.path.insert(0, os.path.join(ROOT, '.cache', 'collections'))
        from ansible_collections.runcguard.seccomp.plugins.module_utils._probe import probe as _probe, sweep as _probe_sweep, syscalls as _probe_syscalls
    return _probe, _probe_sweep, _probe_syscalls


_probe, _probe_sweep, _probe_syscalls = _import()


def shared_runtimes(workdir):
    """[(label, path)] of the shared test builds, crun wrapped for hybrid cgroups when needed."""
    sys.path.insert(0, os.path.join(ROOT, 'tests', 'host'))
    import realruntimes  # the host tests' helper: one home for unpacking and the crun runner
    found = []
    for folder in (realruntimes.RUNC_BUILDS, realruntimes.CRUN_BUILDS):
        if not os.path.isfile(os.path.join(folder, 'unpack.sh')):
            sys.exit('no test builds at %s (shared/ beside the repository)' % folder)
        for name, path in sorted(realruntimes.unpacked(folder).items()):
            if name.startswith('crun'):
                path = realruntimes.crun_runner(path, workdir)
            found.append((name, path))
    return found


def median(values):
    return statistics.median(values) if values else float('nan')


def bench_runtime(label, path, names, rounds, tmp_parent):
    """Measurements of one runtime: per mode sweep medians, one-start baseline, hang detection."""
    modes = {}
    for _round in range(rounds):
        for nnp in (True, False):
            _results, sweeps, skipped = _probe_sweep.sweep_all([path], names, [nnp], TIMEOUT, tmp_parent=tmp_parent)
            if skipped:
                return {'label': label, 'skipped': skipped[0]['message']}
            (entry,) = sweeps
            one, _skipped = _probe.run_all([path], [[_probe_sweep.CONTROL_SYSCALL]], [nnp], TIMEOUT, tmp_parent=tmp_parent)
            mode = modes.setdefault(nnp, {'seconds': [], 'starts': [], 'one_start': [], 'outcomes': set(),
                                          'entry': entry})
            mode['seconds'].append(entry['seconds'])
            mode['starts'].append(entry['starts'])
            mode['one_start'].append(one[0]['seconds'] if one[0]['outcome'] == 'ok' else float('nan'))
            mode['outcomes'].add('hang [%s] error [%s] together [%s]%s' % (
                ','.join(entry['hang']), ','.join(entry['error']),
                ' '.join('+'.join(c['syscalls']) if len(c['syscalls']) < 5 else '%d syscalls' % len(c['syscalls'])
                         for c in entry['combined']),
                ' (%s)' % entry['message'] if entry['message'] else ''))
    hang_probe = []
    first = modes[True]['entry']
    culprit = (first['hang'] or modes[False]['entry']['hang'] or [None])[0]
    if culprit:
        for _round in range(rounds):
            results, _skipped = _probe.run_all([path], [[culprit]], [True, False], TIMEOUT, tmp_parent=tmp_parent)
            hang_probe.extend(results)
    return {'label': label, 'path': path, 'version': first['version'], 'name': first['name'],
            'modes': modes, 'culprit': culprit, 'hang_probe': hang_probe}


def fmt_list(names):
    return ', '.join('`%s`' % n for n in names) if names else '—'


def report(measured, rounds):
    print('\n## Sweep per runtime and mode (%d round(s), medians)\n' % rounds)
    print('| runtime | nnp | starts | sweep s | one start s | sweep / one start | hang | error | stable |')
    print('|---|---|---|---|---|---|---|---|---|')
    for item in measured:
        if 'skipped' in item:
            print('| %s | skipped: %s |' % (item['label'], item['skipped']))
            continue
        for nnp in (True, False):
            mode = item['modes'][nnp]
            sweep_s, one_s = median(mode['seconds']), median(mode['one_start'])
            entry = mode['entry']
            print('| %s %s | %s | %s | %.2f | %.2f | %.1f | %s | %s | %s |' % (
                item['name'], item['version'], str(nnp).lower(), '/'.join(str(s) for s in mode['starts']),
                sweep_s, one_s, sweep_s / one_s if one_s else float('nan'), fmt_list(entry['hang']),
                fmt_list(entry['error']), 'yes' if len(mode['outcomes']) == 1 else 'NO: %s' % '; '.join(sorted(mode['outcomes']))))
    print('\n## Single-syscall probe of the hang, timeout %d s\n' % TIMEOUT)
    print('| runtime | syscall | nnp | seconds | detected_by |')
    print('|---|---|---|---|---|')
    for item in measured:
        for result in item.get('hang_probe', ()):
            print('| %s %s | `%s` | %s | %.2f | %s |' % (
                item['name'], item['version'], result['syscall'], str(result['no_new_privileges']).lower(),
                result['seconds'], result['detected_by'] or result['outcome']))
    print('\n## Goals\n')
    for item in measured:
        if 'skipped' in item:
            continue
        modes = item['modes']
        total = sum(median(m['seconds']) for m in modes.values())
        if not any(m['entry']['hang'] for m in modes.values()):
            worst_s = max(median(m['seconds']) for m in modes.values())
            worst_starts = max(max(m['starts']) for m in modes.values())
            print('- %s %s (healthy): slowest mode %.2f s (goal <= 2 s), most starts %d (goal <= 4): %s' % (
                item['name'], item['version'], worst_s, worst_starts,
                'met' if worst_s <= 2 and worst_starts <= 4 else 'NOT met'))
        else:
            print('- %s %s (hangs): both modes %.2f s (goal for runc 1.2.0-rc.2: <= 30 s): %s' % (
                item['name'], item['version'], total, 'met' if total <= 30 else 'NOT met'))
            slowest = max(r['seconds'] for r in item['hang_probe'])
            print('- %s %s single-syscall probe of `%s` with timeout %d: hang reported within %.2f s '
                  '(goal <= 2 s): %s' % (item['name'], item['version'], item['culprit'], TIMEOUT, slowest,
                                         'met' if slowest <= 2 else 'NOT met'))


def hazards_table(measured):
    print('\n| runtime build | version | hang (nnp true) | hang (nnp false) | error (both modes) | starts (true/false) |')
    print('|---|---|---|---|---|---|')
    for item in measured:
        if 'skipped' in item:
            continue
        on, off = item['modes'][True]['entry'], item['modes'][False]['entry']
        errors = sorted(set(on['error']) | set(off['error']))
        print('| %s | %s %s | %s | %s | %s | %d / %d |' % (
            item['label'], item['name'], item['version'], fmt_list(on['hang']), fmt_list(off['hang']),
            fmt_list(errors), on['starts'], off['starts']))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('runtimes', nargs='*', help='runc/crun binaries to sweep')
    parser.add_argument('--shared', action='store_true', help='also sweep the shared test builds')
    parser.add_argument('--rounds', type=int, default=1)
    parser.add_argument('--hazards-table', action='store_true', help='print the docs/hazards.md table too')
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit('the sweep starts containers: run as root')
    names = _probe_syscalls.syscall_names()
    if not names:
        sys.exit('no syscall table for %s' % os.uname()[4])
    workdir = tempfile.mkdtemp(prefix='rcg-sweep-bench-')  # crun wrappers
    try:
        sweep_and_report(args, names, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def sweep_and_report(args, names, workdir):
    runtimes = [(os.path.basename(p), p) for p in args.runtimes]
    if args.shared:
        runtimes += shared_runtimes(workdir)
    if not runtimes:
        sys.exit('name runtimes to sweep, or --shared')
    tmp_parent = tempfile.mkdtemp(prefix='rcg-sweep-bench-tmp-')
    print('%s: %d syscall names (%s), %d runtime(s), timeout %d s per start' % (
        os.uname()[4], len(names), 'libseccomp %s' % (_probe_syscalls.libseccomp_unknown([])[0]),
        len(runtimes), TIMEOUT))
    measured = []
    for label, path in runtimes:
        print('sweeping %s ...' % label, file=sys.stderr)
        measured.append(bench_runtime(label, path, names, args.rounds, tmp_parent))
    report(measured, args.rounds)
    if args.hazards_table:
        hazards_table(measured)
    left = os.listdir(tmp_parent)
    os.rmdir(tmp_parent) if not left else print('LEFT BEHIND in %s: %s' % (tmp_parent, left))


if __name__ == '__main__':
    main()
