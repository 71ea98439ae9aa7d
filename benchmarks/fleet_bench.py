# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: playbooks/audit.yml against a one-task ansible.builtin.ping playbook over N hosts.

Goal (docs/benchmarks.md, issue 11): the fleet audit takes at most 1.5x the wall time of ping over
the same hosts with runtime discovery off (``audit_discover=false``), at most 2x with it on.

N inventory hosts with the local connection (all of them this machine, so every audit really runs
runtime_facts: this machine's runc/crun, its profiles), the same Python interpreter for both
playbooks (no interpreter discovery), the same forks. Rounds alternate ping / audit (discovery
off) / audit (discovery on) so all see the same machine load; medians go to
benchmarks/results/fleet_bench.json (exit 1 on a missed goal, or when the report does not list
every host as audited). Run after `source scripts/env.sh`:

    python3 benchmarks/fleet_bench.py --hosts 200 --rounds 3 --forks 20

``--ssh``: the hosts answer over real SSH instead (tests/host/sshfleet.py: sshd processes of our
own on 127.0.1.1..N, 16 addresses each, key authentication, pipelining, ControlPersist); every
playbook run opens its own connections (the masters of the previous run are closed first), as a
new job would. Goal over SSH (issue 23): audit with discovery on at most 1.4x ping.

    python3 benchmarks/fleet_bench.py --ssh --hosts 100 --rounds 3 --forks 20

``--profile`` runs one audit round and prints its recap: the task executions per host, which is
where a fleet audit's controller time goes (ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks
in the environment adds per-task times when that collection is installed).
Everything it writes is in a temporary directory, removed at the end.
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

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import _bench  # noqa: E402
sys.path.insert(0, os.path.join(ROOT, 'tests', 'host'))
import sshfleet  # noqa: E402  (test tooling: our own sshd processes on loopback)

PING = """- name: Ping every host
  hosts: all
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
"""


def write_inventory(path, hosts, python):
    with open(path, 'w') as handle:
        handle.write('[fleet]\n')
        for index in range(hosts):
            handle.write('bench%04d\n' % index)
        handle.write('\n[fleet:vars]\nansible_connection=local\nansible_python_interpreter=%s\n' % python)


def run(argv, env, log):
    started = time.perf_counter()
    proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    elapsed = time.perf_counter() - started
    with open(log, 'a') as handle:
        handle.write('$ %s\n%s\n' % (' '.join(argv), proc.stdout))
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:])
        raise SystemExit('%s failed with exit status %d (log: %s)' % (argv[1], proc.returncode, log))
    return elapsed, proc.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--hosts', type=int, default=200)
    _bench.add_arguments(parser, 'fleet_bench', rounds=3)
    parser.add_argument('--forks', type=int, default=20)
    parser.add_argument('--ssh', action='store_true', help='hosts over real SSH (own sshd on 127.0.1.x)')
    parser.add_argument('--profile', action='store_true', help='one audit round, its recap, no ratios')
    parser.add_argument('--keep', action='store_true', help='keep the temporary directory (logs, reports)')
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix='rcg-fleet-bench-')
    inventory = os.path.join(work, 'hosts.ini')
    fleet = None
    if args.ssh:
        fleet = sshfleet.SshFleet(args.hosts, work).start()
        fleet.inventory(inventory, sys.executable)
    else:
        write_inventory(inventory, args.hosts, sys.executable)
    ping = os.path.join(work, 'ping.yml')
    with open(ping, 'w') as handle:
        handle.write(PING)
    log = os.path.join(work, 'bench.log')
    env = dict(os.environ, ANSIBLE_FORKS=str(args.forks), ANSIBLE_HOST_KEY_CHECKING='False',
               ANSIBLE_RETRY_FILES_ENABLED='False', ANSIBLE_NOCOLOR='1', ANSIBLE_STDOUT_CALLBACK='default')
    if fleet:
        env = fleet.env(env)
    playbook = os.environ.get('ANSIBLE_PLAYBOOK', 'ansible-playbook')
    audit = [playbook, '-i', inventory, os.path.join(ROOT, 'playbooks', 'audit.yml'),
             '-e', 'audit_report_dir=%s' % os.path.join(work, 'reports')]
    runs = {
        'ping': [playbook, '-i', inventory, ping],
        'audit, discovery off': audit + ['-e', 'audit_discover=false'],
        'audit, discovery on': audit + ['-e', 'audit_discover=true'],
    }
    try:
        if args.profile:
            elapsed, out = run(runs['audit, discovery off'], env, log)
            print(out[out.rfind('PLAY RECAP'):])
            print('audit, discovery off: %.1f s over %d hosts' % (elapsed, args.hosts))
            return 0
        bench_name = 'fleet_bench_ssh' if fleet else 'fleet_bench'
        if fleet and args.json == _bench.default_json('fleet_bench'):
            args.json = _bench.default_json(bench_name)  # the SSH run has a result file of its own
        params = {'hosts': args.hosts, 'rounds': args.rounds, 'forks': args.forks, 'ssh': bool(fleet)}
        result = _bench.Result(bench_name, params)
        times = dict((name, []) for name in runs)
        for round_no in range(args.rounds):
            for name, argv in runs.items():
                if fleet:
                    fleet.close_masters()  # each run connects anew, as a new job does
                elapsed, dummy = run(argv, env, log)
                times[name].append(elapsed)
                print('round %d  %-22s %7.1f s' % (round_no + 1, name, elapsed), flush=True)
                if round_no == 0 and name != 'ping':  # the audit really covered every host
                    with open(os.path.join(work, 'reports', 'runcguard-audit.json')) as handle:
                        statuses = [h['status'] for h in json.load(handle)['hosts']]
                    result.count('%s: hosts audited ok' % name, statuses.count('ok'), args.hosts)
        medians = dict((name, result.measure(name, values)) for name, values in times.items())
        over = ' over SSH (%d sshd, pipelining, ControlPersist)' % len(fleet.daemons) if fleet else ''
        result.table('%d hosts%s, forks %d, medians of %d rounds' % (args.hosts, over, args.forks, args.rounds),
                     ['playbook', 'median s', 'ratio to ping'],
                     [[name, round(value, 1), round(value / medians['ping'], 2)] for name, value in medians.items()])
        if fleet:  # issue 23: over SSH, discovery on
            result.goal('audit / ping over SSH, discovery on <= 1.4', medians['audit, discovery on'] / medians['ping'],
                        '<=', 1.4)
        else:
            result.goal('audit / ping, discovery off <= 1.5', medians['audit, discovery off'] / medians['ping'], '<=', 1.5)
            result.goal('audit / ping, discovery on <= 2.0', medians['audit, discovery on'] / medians['ping'], '<=', 2.0)
        return result.finish(args.json)
    finally:
        if fleet:
            fleet.stop()
        if args.keep:
            print('kept %s' % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
