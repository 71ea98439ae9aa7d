# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the JSON reports of the benchmark fleets, to show a refactoring changed no report.

    python3 benchmarks/fleet_reports.py OUTDIR [--hosts 2000] [--audit-hosts 10]

Reports of: report_bench's synthetic summaries, notify_findings_bench's synthetic facts and
hostile_facts_bench's crafted facts (evaluated, summarised and built into a fleet report), and a
real ``playbooks/audit.yml`` run (fleet_bench's local inventory: runtime_facts really scans this
machine). ``generated_at`` is removed; compare two OUTDIRs (one per commit, each run with that
commit's collection on the path) with ``diff -r``.
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from ansible_collections.runcguard.seccomp.plugins.module_utils import _profile, _version  # noqa: E402
from ansible_collections.runcguard.seccomp.plugins.plugin_utils import _hazards, _renderers, _report  # noqa: E402


def _write(outdir, name, report):
    report = json.loads(report) if isinstance(report, str) else report
    report.pop('generated_at', None)
    with open(os.path.join(outdir, name + '.json'), 'w') as handle:
        json.dump(report, handle, indent=1, sort_keys=True)


def _fleet(facts_by_host):
    summaries = dict((host, _report.host_summary(host, facts, _hazards.evaluate(facts)))
                     for host, facts in facts_by_host.items())
    fleet = _report.build_fleet(summaries, hosts=sorted(summaries), fail_on='high', generated_at='-')
    return _renderers.RENDERERS['json'].render(fleet)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('outdir')
    parser.add_argument('--hosts', type=int, default=2000)
    parser.add_argument('--audit-hosts', type=int, default=10)
    args = parser.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    import fleet_bench
    import hostile_facts_bench
    import notify_findings_bench
    import report_bench

    summaries = report_bench.synthetic_summaries(args.hosts)
    fleet = _report.build_fleet(summaries, hosts=sorted(summaries), fail_on='high', generated_at='-',
                                waivers=report_bench.WAIVERS)
    _write(args.outdir, 'report_bench', _renderers.RENDERERS['json'].render(fleet))
    facts = notify_findings_bench.synthetic_fleet(args.hosts, _profile, _version)
    _write(args.outdir, 'notify_findings_bench', _fleet(dict(('node-%05d' % i, f) for i, f in enumerate(facts))))
    _write(args.outdir, 'hostile_facts_bench', _fleet({'hostile': hostile_facts_bench.crafted_facts(500, 50)}))

    work = tempfile.mkdtemp(prefix='rcg-fleet-reports-')
    inventory = os.path.join(work, 'hosts.ini')
    fleet_bench.write_inventory(inventory, args.audit_hosts, sys.executable)
    reports = os.path.join(work, 'reports')
    # the playbook by its collection name: the collection on ANSIBLE_COLLECTIONS_PATH is the one compared
    subprocess.run(['ansible-playbook', '-i', inventory, 'runcguard.seccomp.audit', '-e', 'audit_report_dir=%s' % reports, '-e', 'audit_discover=true'],
                   check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(reports, 'runcguard-audit.json')) as handle:
        _write(args.outdir, 'fleet_bench_audit', handle.read())
    return 0


if __name__ == '__main__':
    sys.exit(main())
