# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Measure: how often reading files (``audit_execute: false``) decides a runtime's version, and
what it costs next to running ``--version`` (docs/static-audit.md).

For every real runc and crun build in ../shared (unpacked and sha256-verified by
scripts/shared_builds.py) and the machine's own Debian runc and crun when installed: the version
record from ``--version`` (run) and from the files (Go build information, then this machine's dpkg /
rpm database), whether they agree on version and on the fcntl-hang verdict, and the median time of
each, measured side by side in alternating rounds. Run after `source scripts/env.sh`:

    PYTHONPATH=$RCG_CACHE/collections python benchmarks/static_versions_bench.py --rounds 5

Prints one row per binary, then the counts and the time ratio, and writes its JSON result
(benchmarks/results/static_versions_bench.json; goals: every runc decided from files, every fcntl
verdict equal, reading files at most 0.2x the time of --version, measured side by side).
"""

from __future__ import absolute_import, division, print_function

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'scripts'))
import shared_builds  # noqa: E402
sys.path.insert(0, HERE)
import _bench  # noqa: E402

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._build_verdicts import fcntl_hang_verdict  # noqa: E402
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.buildinfo import read_build_info  # noqa: E402
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.pkgdb import PackageDb  # noqa: E402
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.rootfs import HostFs  # noqa: E402
from ansible_collections.runcguard.seccomp.plugins.module_utils._version import (  # noqa: E402
    normalise_version, parse_runtime_version, version_from_build_info,
)


NAME = 'static_versions_bench'


def static_record(path, pkgdb):
    record = version_from_build_info(read_build_info(path))
    if not record['error']:
        return record
    owner = pkgdb.owner([path, os.path.realpath(path)])
    if owner:
        version, dev = normalise_version(owner['version'])
        if version:
            record.update(version=version, dev=dev, version_source='package', error=None)
    return record


def executed_record(path):
    proc = subprocess.run([path, '--version'], capture_output=True, timeout=30, check=False)
    return parse_runtime_version(proc.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _bench.add_arguments(parser, NAME)
    args = parser.parse_args()
    result = _bench.Result(NAME, params={'rounds': args.rounds})
    tmp = tempfile.mkdtemp(prefix='rcg-static-versions-')
    try:
        binaries = {}
        for folder in ('runc-builds', 'crun-builds'):
            if shared_builds.builds_dir(folder):
                dest = os.path.join(tmp, folder)
                os.mkdir(dest)
                binaries.update(shared_builds.unpack(folder, dest))
        for path in ('/usr/sbin/runc', '/usr/bin/crun'):
            if os.path.isfile(path):
                binaries['debian ' + os.path.basename(path)] = path
        pkgdb = PackageDb(HostFs())
        for path in binaries.values():  # the package database is read once per scan: not a per-binary cost
            static_record(path, pkgdb)
        ran_times, read_times = [], []
        for _round in range(args.rounds):  # both ways, binary by binary, in the same round
            ran = read = 0.0
            for _name, path in sorted(binaries.items()):
                start = time.perf_counter()
                executed_record(path)
                middle = time.perf_counter()
                static_record(path, pkgdb)
                ran += middle - start
                read += time.perf_counter() - middle
            ran_times.append(ran / len(binaries))
            read_times.append(read / len(binaries))
        rows, decided, runc_total, runc_decided, same_verdict = [], 0, 0, 0, 0
        for name, path in sorted(binaries.items()):
            ran, read = executed_record(path), static_record(path, pkgdb)
            ok = read['version'] == ran['version'] and not read['error']
            decided += ok
            runc = ran['name'] == 'runc'
            runc_total += runc
            runc_decided += runc and ok
            verdicts = (fcntl_hang_verdict(ran)[0], fcntl_hang_verdict(read)[0]) if runc else ('-', '-')
            same_verdict += verdicts[0] == verdicts[1]
            rows.append([name, ran['version'], read['version'] or ('undecided' if read['error'] else 'no number'),
                         read['version_source'] or '-', '%s / %s' % verdicts])
        executed = result.measure('--version per binary', ran_times)
        static = result.measure('files per binary', read_times)
        result.count('binaries measured', len(binaries), len(binaries))
        columns = ['binary', '--version', 'from files', 'source', 'fcntl verdict (run / files)']
        result.table('Version from --version and from the files', columns, rows)
        counts = (decided, len(binaries), runc_decided, runc_total)
        result.note('version decided from files: %d of %d (runc: %d of %d)' % counts)
        result.goal('every runc decided from files', runc_decided, '==', runc_total)
        result.goal('fcntl verdicts equal', same_verdict, '==', len(binaries))
        result.goal('files / --version time', static / executed if executed else float('inf'), '<=', 0.2)
        print('version decided from files: %d of %d; fcntl verdict equal: %d of %d' % (
            decided, len(binaries), same_verdict, len(binaries)))
        print('median per binary: --version %.1f ms, files %.2f ms, ratio %.0fx' % (
            executed * 1000, static * 1000, executed / static if static else float('inf')))
    finally:
        shutil.rmtree(tmp, True)
    return result.finish(args.json)


if __name__ == '__main__':
    sys.exit(main())
