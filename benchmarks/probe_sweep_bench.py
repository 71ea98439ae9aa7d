# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark and hazard table: notify_probe's sweep on real runtime builds (root, Linux).

Goals (docs/benchmarks.md, issue "Probe sweep"), in container starts, the unit a sweep costs on
any machine (seconds are measured and shown too, but on a shared machine they measure its load):
  * a full sweep of a healthy runtime takes <= 5 container starts per noNewPrivileges mode;
  * a full sweep of a hanging runtime (runc 1.2.0-rc.1/rc.2, crun 1.5) <= 8 starts per mode
    (each failure is started again to see it reproduce before it is reported: do no harm);
  * a single-syscall probe of a hanging runtime with timeout 60 recognises the hang by wchan, never
    by waiting the timeout out (the host tests bound its time: under 1.5 s).

For every runtime it is given, the script sweeps the host's whole syscall table in both modes
(`--rounds` times, medians), and side by side in the same run times one single-syscall canary start
(`kexec_load` under NOTIFY: a syscall nothing calls) so that the sweep's cost reads as a number of
container starts on any machine. For runtimes whose sweep found a hang, it probes the first hanging
syscall alone with timeout 60 and reports how long recognising the hang took.

    source scripts/env.sh
    sudo -E PYTHONPATH=$RCG_CACHE/collections python3 benchmarks/probe_sweep_bench.py --shared --rounds 3
    ... python3 benchmarks/probe_sweep_bench.py /usr/sbin/runc /opt/runc-1.2.0-rc.2 --hazards-table

Medians of --rounds go to benchmarks/results/probe_sweep_bench.json; the exit status is 1 when a
goal is missed, a sweep did not test every name, or a canary left something behind.

`--shared` unpacks the test builds of `shared/runc-builds` and `shared/crun-builds` (sha256-verified
by their unpack.sh) with the host-test helper `tests/host/realruntimes.py`, which also wraps crun for
this machine kind's hybrid cgroups. `--hazards-table` prints the measured-sweeps table of
docs/hazards.md (runtime build x hang set x error set).
"""

from __future__ import absolute_import, division, print_function

import argparse
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TIMEOUT = 60
sys.path.insert(0, HERE)
import _bench  # noqa: E402


def _import():
    try:
        import ansible_collections.runcguard.seccomp.plugins  # noqa: F401
    except ImportError:
        sys.path.insert(0, os.path.join(ROOT, '.cache', 'collections'))
    from ansible_collections.runcguard.seccomp.plugins.module_utils._probe import probe as _probe
    from ansible_collections.runcguard.seccomp.plugins.module_utils._probe import sweep as _probe_sweep
    from ansible_collections.runcguard.seccomp.plugins.module_utils._probe import syscalls as _probe_syscalls
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


median = _bench.median


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


def report(measured, rounds, result, names):
    """Tables, counts and goals of the measured runtimes into result."""
    rows = []
    for item in measured:
        if 'skipped' in item:
            rows.append([item['label'], 'skipped: %s' % item['skipped'], '', '', '', '', '', '', ''])
            continue
        for nnp in (True, False):
            mode = item['modes'][nnp]
            sweep_s, one_s = median(mode['seconds']), median(mode['one_start'])
            entry = mode['entry']
            result.count('%s nnp=%s: names tested' % (item['label'], str(nnp).lower()), entry['tested'], len(names))
            result.count('%s nnp=%s: leftovers' % (item['label'], str(nnp).lower()), entry['leftovers'], [])
            result.measure('%s nnp=%s sweep' % (item['label'], str(nnp).lower()), mode['seconds'])
            rows.append(['%s %s' % (item['name'], item['version']), str(nnp).lower(),
                         '/'.join(str(n) for n in mode['starts']), round(sweep_s, 2), round(one_s, 2),
                         round(sweep_s / one_s, 1) if one_s else '', fmt_list(entry['hang']), fmt_list(entry['error']),
                         'yes' if len(mode['outcomes']) == 1 else 'NO: %s' % '; '.join(sorted(mode['outcomes']))])
    result.table('Sweep per runtime and mode (%d round(s), medians)' % rounds,
                 ['runtime', 'nnp', 'starts', 'sweep s', 'one start s', 'sweep / one start', 'hang', 'error', 'stable'],
                 rows)
    result.table('Single-syscall probe of the hang, timeout %d s' % TIMEOUT,
                 ['runtime', 'syscall', 'nnp', 'seconds', 'detected_by'],
                 [['%s %s' % (item['name'], item['version']), '`%s`' % r['syscall'], str(r['no_new_privileges']).lower(),
                   round(r['seconds'], 2), r['detected_by'] or r['outcome']]
                  for item in measured for r in item.get('hang_probe', ())])
    for item in measured:
        if 'skipped' in item:
            result.count('%s swept' % item['label'], False, True)
            continue
        modes = item['modes']
        total = sum(median(m['seconds']) for m in modes.values())
        # Goals in starts (the unit a sweep costs) and in how a hang is recognised, not in seconds: seconds
        # on a shared machine measure its load; they are in the tables above.
        if not any(m['entry']['hang'] for m in modes.values()):
            result.goal('%s (healthy): most starts per mode <= 5' % item['label'],
                        max(max(m['starts']) for m in modes.values()), '<=', 5)
        else:
            result.goal('%s (hangs): most starts per mode <= 8' % item['label'],
                        max(max(m['starts']) for m in modes.values()), '<=', 8)
            result.count('%s: single-syscall probes detected by wchan' % item['label'],
                         sorted(set(r['detected_by'] for r in item['hang_probe'])), ['wchan'])


def hazards_table(measured, result):
    rows = []
    for item in measured:
        if 'skipped' in item:
            continue
        on, off = item['modes'][True]['entry'], item['modes'][False]['entry']
        errors = sorted(set(on['error']) | set(off['error']))
        rows.append([item['label'], '%s %s' % (item['name'], item['version']), fmt_list(on['hang']), fmt_list(off['hang']),
                     fmt_list(errors), '%d / %d' % (on['starts'], off['starts'])])
    columns = ['runtime build', 'version', 'hang (nnp true)', 'hang (nnp false)', 'error (both modes)',
               'starts (true/false)']
    result.table('Measured sweeps (docs/hazards.md)', columns, rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('runtimes', nargs='*', help='runc/crun binaries to sweep')
    parser.add_argument('--shared', action='store_true', help='also sweep the shared test builds')
    parser.add_argument('--hazards-table', action='store_true', help='the docs/hazards.md table too')
    _bench.add_arguments(parser, 'probe_sweep_bench', rounds=1)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit('the sweep starts containers: run as root')
    names = _probe_syscalls.syscall_names()
    if not names:
        sys.exit('no syscall table for %s' % os.uname()[4])
    workdir = tempfile.mkdtemp(prefix='rcg-sweep-bench-')  # crun wrappers
    try:
        return sweep_and_report(args, names, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def sweep_and_report(args, names, workdir):
    runtimes = [(os.path.basename(p), p) for p in args.runtimes]
    if args.shared:
        runtimes += shared_runtimes(workdir)
    if not runtimes:
        sys.exit('name runtimes to sweep, or --shared')
    tmp_parent = tempfile.mkdtemp(prefix='rcg-sweep-bench-tmp-')
    result = _bench.Result('probe_sweep_bench', {'rounds': args.rounds, 'timeout': TIMEOUT, 'arch': os.uname()[4],
                                                 'names': len(names), 'runtimes': [label for label, _p in runtimes],
                                                 'libseccomp': _probe_syscalls.libseccomp_unknown([])[0]})
    measured = []
    for label, path in runtimes:
        print('sweeping %s ...' % label, file=sys.stderr)
        measured.append(bench_runtime(label, path, names, args.rounds, tmp_parent))
    report(measured, args.rounds, result, names)
    if args.hazards_table:
        hazards_table(measured, result)
    left = os.listdir(tmp_parent)
    result.count('canary files left behind', left, [])
    if not left:
        os.rmdir(tmp_parent)
    return result.finish(args.json)


if __name__ == '__main__':
    sys.exit(main())
