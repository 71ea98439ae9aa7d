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

Prints one row per binary, then the counts and the time ratio. Writes nothing outside a temporary
directory, removed at the end.
"""

from __future__ import absolute_import, division, print_function

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'scripts'))
import shared_builds  # noqa: E402

from ansible_collections.runcguard.seccomp.plugins.plugin_utils._hazards import fcntl_hang_verdict  # noqa: E402
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.buildinfo import read_build_info  # noqa: E402
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.pkgdb import PackageDb  # noqa: E402
from ansible_collections.runcguard.seccomp.plugins.module_utils._scan.rootfs import HostFs  # noqa: E402
from ansible_collections.runcguard.seccomp.plugins.module_utils._version import (  # noqa: E402
    normalise_version, parse_runtime_version, version_from_build_info,
)


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
    parser.add_argument('--rounds', type=int, default=5)
    args = parser.parse_args()
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
        times = dict((name, ([], [])) for name in binaries)
        for _round in range(args.rounds):
            for name, path in sorted(binaries.items()):
                start = time.perf_counter()
                executed_record(path)
                middle = time.perf_counter()
                static_record(path, pkgdb)
                times[name][0].append(middle - start)
                times[name][1].append(time.perf_counter() - middle)
        decided = same_verdict = 0
        print('%-20s %-12s %-18s %-10s %s' % ('binary', '--version', 'from files', 'source', 'fcntl verdict'))
        for name, path in sorted(binaries.items()):
            ran, read = executed_record(path), static_record(path, pkgdb)
            ok = read['version'] == ran['version'] and not read['error']
            decided += ok
            runc = ran['name'] == 'runc'
            verdicts = (fcntl_hang_verdict(ran)[0], fcntl_hang_verdict(read)[0]) if runc else ('-', '-')
            same_verdict += verdicts[0] == verdicts[1]
            print('%-20s %-12s %-18s %-10s %s / %s' % (name, ran['version'], read['version'] or '(%s)' % (
                'undecided' if read['error'] else 'no number'), read['version_source'] or '-', verdicts[0],
                verdicts[1]))
        executed = statistics.median(sum(t[0]) for t in times.values()) / args.rounds
        static = statistics.median(sum(t[1]) for t in times.values()) / args.rounds
        print('version decided from files: %d of %d; fcntl verdict equal: %d of %d' % (
            decided, len(binaries), same_verdict, len(binaries)))
        print('median per binary: --version %.1f ms, files %.2f ms, ratio %.0fx' % (
            executed * 1000, static * 1000, executed / static if static else float('inf')))
    finally:
        shutil.rmtree(tmp, True)


if __name__ == '__main__':
    main()
