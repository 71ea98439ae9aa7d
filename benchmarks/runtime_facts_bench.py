# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: runcguard.seccomp.runtime_facts against ansible.builtin.ping, same host, same run.

Goal (docs/benchmarks.md): runtime_facts wall time <= 2x ping's, both through ansible-playbook,
on a host holding 1,000 kubelet profiles and 50 running containerd bundles.

The host is a real podman container (image $RCG_IMAGE, default localhost/runcguard-debian:12,
built by scripts/build-images.sh) with this machine's runc bind-mounted read-only, so the
module really runs `runc --version` and `dpkg-query`. Run after `source scripts/env.sh`:

    python3 benchmarks/runtime_facts_bench.py --rounds 5

Rounds alternate ping / runtime_facts so both see the same machine load; medians go to
benchmarks/results/runtime_facts_bench.json. The run fails (exit 1) when the module did not
describe every profile and bundle (1,050 by default) without error, or when the ratio misses the
goal. The container (name rcg-bench-runtime-facts-<pid>) is removed at the end.
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
sys.path.insert(0, HERE)
import _bench  # noqa: E402

# A realistic OCI profile body (runtime/default-like allow list) so parsing does real work.
ALLOW = ('accept accept4 access bind brk capget capset chdir chmod chown clock_gettime clone clone3 close '
         'connect dup dup2 dup3 epoll_create1 epoll_ctl epoll_pwait eventfd2 execve exit exit_group faccessat '
         'faccessat2 fchdir fchmod fchown fcntl fstat fstatfs futex getcwd getdents64 getegid geteuid getgid '
         'getpid getppid getrandom getsockname getsockopt gettid getuid ioctl kill listen lseek madvise '
         'mkdirat mmap mprotect munmap nanosleep newfstatat openat pipe2 poll prctl pread64 prlimit64 read '
         'readlinkat recvfrom recvmsg rename rt_sigaction rt_sigprocmask rt_sigreturn sched_getaffinity '
         'sched_yield sendmsg sendto set_robust_list set_tid_address setgid setgroups setsockopt setuid '
         'sigaltstack socket socketpair stat statfs statx sysinfo tgkill umask uname unlinkat wait4 write '
         'writev').split()


def profile(index):
    prof = {'defaultAction': 'SCMP_ACT_ERRNO', 'defaultErrnoRet': 1,
            'architectures': ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
            'syscalls': [{'names': ALLOW, 'action': 'SCMP_ACT_ALLOW'},
                         {'names': ['personality'], 'action': 'SCMP_ACT_ALLOW',
                          'args': [{'index': 0, 'value': index, 'op': 'SCMP_CMP_EQ'}]}]}
    if index % 10 == 0:  # one in ten sends calls to an agent
        prof['listenerPath'] = '/run/agent-%d.sock' % index
        prof['syscalls'].append({'names': ['connect', 'fcntl'], 'action': 'SCMP_ACT_NOTIFY'})
    return prof


def bundle(index):
    return {'ociVersion': '1.1.0',
            'process': {'args': ['/pause'], 'cwd': '/', 'env': ['PATH=/usr/bin:/bin'] * 5,
                        'capabilities': {'bounding': ['CAP_CHOWN', 'CAP_KILL'] * 4}},
            'root': {'path': 'rootfs'}, 'hostname': 'pod-%d' % index,
            'mounts': [{'destination': '/proc', 'type': 'proc', 'source': 'proc'}] * 8,
            'linux': {'namespaces': [{'type': t} for t in ('pid', 'ipc', 'uts', 'mount', 'network')],
                      'seccomp': profile(index + 5000)}}


def build_tree(top, profiles, bundles):
    kube = os.path.join(top, 'var/lib/kubelet/seccomp')
    for i in range(profiles):
        sub = os.path.join(kube, 'operator', 'ns%d' % (i % 20)) if i % 4 == 0 else os.path.join(kube, 'profiles')
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, 'profile-%04d.json' % i), 'w') as f:
            json.dump(profile(i), f, indent=2)
    for i in range(bundles):
        d = os.path.join(top, 'run/containerd/io.containerd.runtime.v2.task/k8s.io', 'c%064d' % i)
        os.makedirs(d)
        with open(os.path.join(d, 'config.json'), 'w') as f:
            json.dump(bundle(i), f)


def run(argv, **kw):
    return subprocess.run(argv, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def timed(argv, env):
    start = time.monotonic()
    proc = subprocess.run(argv, check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit('benchmark run failed (%s):\n%s' % (' '.join(argv), proc.stdout.decode()[-3000:]))
    return elapsed, proc.stdout.decode()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    _bench.add_arguments(parser, 'runtime_facts_bench', rounds=5)
    parser.add_argument('--max-ratio', type=float, default=2.0, help='goal: runtime_facts at most this many times ping')
    parser.add_argument('--profiles', type=int, default=1000)
    parser.add_argument('--bundles', type=int, default=50)
    parser.add_argument('--image', default=os.environ.get('RCG_IMAGE', 'localhost/runcguard-debian:12'))
    parser.add_argument('--runc', default='/usr/sbin/runc', help='host runc to bind-mount into the host')
    args = parser.parse_args()
    for tool in ('podman', 'ansible-playbook'):
        if not shutil.which(tool):
            sys.exit('%s not found on PATH (source scripts/env.sh first)' % tool)

    name = 'rcg-bench-runtime-facts-%d' % os.getpid()
    work = tempfile.mkdtemp(prefix='rcg-bench-')
    volumes = ['-v', '%s:/usr/sbin/runc:ro' % args.runc] if os.path.exists(args.runc) else []
    try:
        run(['podman', 'run', '-d', '--name', name] + volumes + [args.image, 'sleep', 'infinity'])
        tree = os.path.join(work, 'tree')
        build_tree(tree, args.profiles, args.bundles)
        for top in ('var', 'run'):
            run(['podman', 'cp', os.path.join(tree, top) + '/.', '%s:/%s/' % (name, top)])
        with open(os.path.join(work, 'inventory.ini'), 'w') as f:
            f.write('[bench]\n%s ansible_connection=containers.podman.podman '
                    'ansible_python_interpreter=/usr/bin/python3\n' % name)
        for play, task in (('ping', 'ansible.builtin.ping:'),
                           ('facts', 'runcguard.seccomp.runtime_facts:')):
            with open(os.path.join(work, play + '.yml'), 'w') as f:
                f.write('- hosts: bench\n  gather_facts: false\n  tasks:\n    - %s\n' % task)
        with open(os.path.join(work, 'check.yml'), 'w') as f:
            f.write('- hosts: bench\n  gather_facts: false\n  tasks:\n'
                    '    - runcguard.seccomp.runtime_facts:\n'
                    '    - ansible.builtin.copy:\n'
                    '        content: "{{ ansible_facts.runcguard | to_json }}"\n'
                    '        dest: %s\n'
                    '      delegate_to: localhost\n' % os.path.join(work, 'facts.json'))
        env = dict(os.environ, ANSIBLE_INVENTORY=os.path.join(work, 'inventory.ini'), ANSIBLE_NOCOLOR='1')
        timed(['ansible-playbook', os.path.join(work, 'check.yml')], env)  # also warms caches
        with open(os.path.join(work, 'facts.json')) as f:
            facts_seen = json.load(f)
        check = {'profiles': len(facts_seen['profiles']), 'errors': len(facts_seen['scan']['errors']),
                 'runtimes': [r['version'] for r in facts_seen['runtimes']],
                 'scan_ms': facts_seen['scan']['duration_ms']}
        result = _bench.Result('runtime_facts_bench', {'profiles': args.profiles, 'bundles': args.bundles,
                                                       'rounds': args.rounds, 'image': args.image,
                                                       'max_ratio': args.max_ratio})
        # What the ratio means rests on these: every file described, none failed, the runtime run.
        result.count('profiles and bundles described', check['profiles'], args.profiles + args.bundles)
        result.count('scan errors', check['errors'], 0)
        result.count('runtimes found', len(check['runtimes']), 1 if volumes else len(check['runtimes']))
        result.measure('scan_ms', [check['scan_ms']], unit='ms')
        times = {'ping': [], 'facts': []}
        for _round in range(args.rounds):
            for play in ('ping', 'facts'):
                elapsed, _out = timed(['ansible-playbook', os.path.join(work, play + '.yml')], env)
                times[play].append(elapsed)
        ping, facts = result.measure('ping', times['ping']), result.measure('facts', times['facts'])
        result.table('%d kubelet profiles + %d bundles, podman container (%s), medians of %d rounds; '
                     'module scan %d ms' % (args.profiles, args.bundles, args.image, args.rounds, check['scan_ms']),
                     ['playbook', 'median s', 'runs (s)'],
                     [[label, round(result.median_of(play), 2), ', '.join('%.2f' % t for t in times[play])]
                      for play, label in (('ping', 'ansible.builtin.ping'), ('facts', 'runcguard.seccomp.runtime_facts'))])
        result.goal('runtime_facts / ping <= %.1f' % args.max_ratio, facts / ping, '<=', args.max_ratio)
        return result.finish(args.json)
    finally:
        subprocess.run(['podman', 'rm', '-f', '-t', '0', name], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
